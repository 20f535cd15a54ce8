"""``rnnkl limit``: the infinite-width limit g_t on words (theory.md §3-§4).

Writes JSON ``{"word_length", "words": [[state indices, oldest first], ...], "pi_L": [...],
"ybar": [...], "times": [...], "g": [[g_t on each word] for each time], "error_estimates":
{...}}`` to --out, or to stdout when it is not a terminal (a terminal gets a short summary;
proofs_check.commands._output). Extra keys: "loss" (L2(pi_L) training loss at each time),
"alpha", "activation", "trainable". error_estimates: see numerics.limit.solve_limit
("quadrature", "truncation", "rounding", ...). Floats use Python's repr (full precision).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from numerics.costs import format_bytes, memory_cap
from numerics.limit import LimitResult, parse_times, solve_limit
from numerics.progress import write_line
from proofs_check.commands._output import emit, loaded_config
from proofs_check.commands._sizes import plan_limit


def result_to_json(result: LimitResult, config: Any) -> dict[str, Any]:
    """The JSON document of a limit solution (plain lists, Python floats and ints)."""
    problem = result.problem
    return {
        "word_length": problem.word_length,
        "words": problem.words.tolist(),
        "pi_L": problem.pi_L.tolist(),
        "ybar": problem.ybar.tolist(),
        "times": list(result.times),
        "g": result.g.tolist(),
        "loss": result.loss.tolist(),
        "alpha": problem.alpha,
        "activation": config.network.activation,
        "trainable": list(problem.spec.groups),
        "error_estimates": result.error_estimates,
    }


def summary(result: LimitResult, seconds: float) -> str:
    """A few lines for a person: the size, the L2(pi_L) training loss at each time, the error
    estimates of g_t."""
    problem, estimates = result.problem, result.error_estimates
    lines = [
        f"rnnkl limit: g_t on {problem.words.shape[0]} words of length {problem.word_length}, "
        f"alpha = {problem.alpha}, {seconds:.1f} s",
        f"{'t':>8}  {'loss 1/2 |ybar - g_t|^2 in L2(pi_L)':>36}",
    ]
    lines += [f"{t:>8.4g}  {loss:>36.4g}" for t, loss in zip(result.times, result.loss,
                                                            strict=True)]
    parts = []
    for key in ("quadrature", "truncation", "rounding"):
        value = estimates.get(key)
        parts.append(f"{key} {value:.2g}" if isinstance(value, float) else f"{key} not estimated")
    lines.append("error estimates of g_t (max over words and times): " + ", ".join(parts))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    times = parse_times(args.times)
    config = loaded_config(args).config
    L = config.limit.word_length
    field = "--word-length" if args.word_length is not None else "limit.word_length"
    peak, full_fallback = plan_limit(config, L, memory_cap(args.memory_cap), field=field,
                                     groups=False)
    if not args.no_progress:
        m = config.chain.m
        fallback = ("" if full_fallback else "; low-rank solve only: its full fallback would "
                    "not fit the memory cap")
        write_line(f"rnnkl limit: kernel and ODE on {m}^{L} = {m ** L} words of length {L}, "
                   "plus a neighbouring length for the truncation estimate (planned peak "
                   f"memory {format_bytes(peak)}{fallback}) ...")
    start = time.monotonic()
    result = solve_limit(config, L, times, kernel_groups=False,  # no group is output
                         full_fallback=full_fallback)
    seconds = time.monotonic() - start
    emit(lambda: json.dumps(result_to_json(result, config), allow_nan=False),
         lambda: summary(result, seconds), args.out)
    return 0
