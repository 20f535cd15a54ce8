"""``rnnkl simulate``: Monte Carlo of the finite RNN trained by online SGD (MODEL.md §2).

Writes JSON ``{"N", "beta", "steps", "replicas": [{"states", "f", "y", ...}]}`` to --out or
stdout: per replica, states[k] is the 0-based row of chain.states read at step k, f[k] the
network output and y[k] the target at step k. Extra keys: alpha, eta, seed, activation and,
per replica, its index and the q prehistory states Z_{-q}..Z_{-1} (oldest first).
Floats are written with Python's repr (shortest round-trip form: full double precision).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from derivations.config import load_config, with_overrides
from derivations.errors import InputError
from numerics.rnn import SimulationResult, simulate
from proofs_check.commands._output import write_output


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


def run(args: argparse.Namespace) -> int:
    config = with_overrides(
        load_config(args.config),
        N=args.N,
        replicas=args.replicas,
        seed=args.seed,
        backend=args.backend,
    )
    result = simulate(config, progress=False if args.no_progress else None)
    try:
        text = json.dumps(result_to_json(result, config.network.activation), allow_nan=False)
    except ValueError:
        raise InputError(
            "simulation diverged (non-finite outputs); lower training.alpha or init scales"
        ) from None
    write_output(text, args.out)
    return 0
