"""``rnnkl simulate``: Monte Carlo of the finite RNN trained by online SGD (theory.md §2).

Writes JSON ``{"N", "beta", "steps", "replicas": [{"states", "f", "y", ...}]}`` to --out, or
to stdout when it is not a terminal (a terminal gets a short summary instead; see
proofs_check.commands._output). Per replica, states[k] is the index (from 0) of the row of
chain.states read at step k, f[k] the network output and y[k] the target at step k. Extra
keys: alpha, eta, seed, activation and, per replica, its index and the q prehistory states
Z_{-q}..Z_{-1} (oldest first).
Floats are written with Python's repr (shortest round-trip form: full double precision).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import numpy as np

from derivations.errors import InputError
from numerics.costs import memory_cap
from numerics.progress import is_terminal
from numerics.rnn import SimulationResult, simulate
from numerics.simulate import DIVERGENCE_ADVICE
from proofs_check.commands._output import check_out_file, emit, loaded_config
from proofs_check.commands._sizes import check_simulation, note_beyond_physical


def result_to_json(result: SimulationResult, activation: str) -> dict[str, Any]:
    """The JSON document of a simulation (plain lists, Python floats and ints)."""
    return {
        "N": result.N,
        "beta": result.beta,
        "steps": result.steps,
        "alpha": result.alpha,
        "eta": result.eta,
        "seed": result.seed,
        "activation": activation,
        "replicas": [
            {
                "replica": index,
                "prehistory": result.prehistory[row].tolist(),
                "states": result.states[row].tolist(),
                "f": result.f[row].tolist(),
                "y": result.y[row].tolist(),
            }
            for row, index in enumerate(result.replica_indices)
        ],
    }


def summary(result: SimulationResult, config: Any, seconds: float) -> str:
    """A few lines for a person: the run's size and, per replica, the mean squared training
    error (Y_k - f_k)^2 over the first and the last tenth of the steps."""
    tenth = max(result.steps // 10, 1)
    lines = [
        f"rnnkl simulate: N = {result.N} hidden units, {len(result.replica_indices)} replicas, "
        f"{result.steps} SGD steps (T = {config.training.horizon}, eta_N = {result.eta:.4g}), "
        f"activation {config.network.activation}, backend {config.run.backend}, "
        f"{seconds:.1f} s",
        f"{'replica':>7}  {'MSE first 10%':>13}  {'MSE last 10%':>12}  {'f at last step':>14}",
    ]
    for row, index in enumerate(result.replica_indices):
        error = result.y[row] - result.f[row]
        first = float(np.mean(error[:tenth] ** 2)) if result.steps else float("nan")
        last = float(np.mean(error[-tenth:] ** 2)) if result.steps else float("nan")
        final = float(result.f[row, -1]) if result.steps else float("nan")
        lines.append(f"{index:>7}  {first:>13.4g}  {last:>12.4g}  {final:>14.4g}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    config = loaded_config(args).config
    cap = memory_cap(args.memory_cap)
    peak = check_simulation(config, cap,
                            json_output=bool(args.out) or not is_terminal(sys.stdout))
    note_beyond_physical(peak, cap, "simulate")
    check_out_file(args.out)
    start = time.monotonic()
    result = simulate(config, progress=False if args.no_progress else None)
    seconds = time.monotonic() - start

    def document() -> str:
        try:
            return json.dumps(result_to_json(result, config.network.activation),
                              allow_nan=False)
        except ValueError:
            raise InputError(
                f"simulation diverged (non-finite outputs); {DIVERGENCE_ADVICE}"
            ) from None

    if not np.all(np.isfinite(result.f)):
        document()  # raises the one-line divergence error whatever the output
    emit(document, lambda: summary(result, config, seconds), args.out)
    return 0
