"""``rnnkl limit``: the infinite-width limit g_t on words (MODEL.md §3-§4).

Writes JSON ``{"word_length", "words": [[state indices, oldest first], ...], "pi_L": [...],
"ybar": [...], "times": [...], "g": [[g_t on each word] for each time], "error_estimates":
{...}}`` to --out or stdout. Extra keys: "loss" (L2(pi_L) training loss at each time),
"alpha", "activation", "trainable". error_estimates: see numerics.limit.solve_limit
("quadrature", "truncation", "rounding", ...). Floats use Python's repr (full precision).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from derivations.config import load_config, with_overrides
from numerics.limit import LimitResult, parse_times, solve_limit
from proofs_check.commands._output import write_output


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


def run(args: argparse.Namespace) -> int:
    times = parse_times(args.times)
    config = with_overrides(load_config(args.config), word_length=args.word_length)
    result = solve_limit(config, config.limit.word_length, times)
    text = json.dumps(result_to_json(result, config), allow_nan=False)
    write_output(text, args.out)
    return 0
