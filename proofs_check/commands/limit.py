"""``rnnkl limit``: the infinite-width limit g_t on words (theory.md §3-§4).

Writes JSON ``{"word_length", "words": [[state indices, oldest first], ...], "pi_L": [...],
"ybar": [...], "times": [...], "g": [[g_t on each word] for each time], "error_estimates":
{...}}`` to --out, or to stdout when it is not a terminal (a terminal gets a short summary;
proofs_check.commands._output). Extra keys: "loss" (L2(pi_L) training loss at each time),
"alpha", "activation", "trainable", "zero_by_symmetry" (why g_t = 0 identically, derived by
derivations.sign_symmetry, else null). error_estimates: see numerics.limit.solve_limit
("quadrature", "truncation" and its senses "truncation_path", "truncation_words", "rounding",
...). Floats use Python's repr (full precision).
``--accuracy DELTA``: the word length is chosen as the report chooses it (the shortest up to
the word length given whose delta meets DELTA), and "word_length_choice" says what was chosen
and why (the target, delta = max(delta_path, delta_words), "met", delta of every length
tried, the differences between lengths per sense of numerics.truncation, rho, the kernel's
rule, and "needed_word_length": the length the truncation tail projects for DELTA, that of the
choice when met, null when no length does; proofs_check.checks._word_length.needed_length).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import time
from typing import Any

from numerics.costs import MemoryCap, format_bytes, memory_cap
from numerics.limit import LimitResult, parse_times, solve_limit
from numerics.progress import write_line
from proofs_check.checks._common import limit_vanishes
from proofs_check.commands._output import check_out_file, emit, loaded_config
from proofs_check.commands._sizes import note_beyond_physical, plan_limit


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
    for key, label in (("quadrature", "quadrature"),
                       ("truncation_path", "truncation along paths (L2 over paths)"),
                       ("truncation_words", "truncation at the words (sup)"),
                       ("rounding", "rounding")):
        value = estimates.get(key)
        parts.append(f"{label} {value:.2g}" if isinstance(value, float)
                     else f"{label} not estimated")
    lines.append("error estimates of g_t (max over times; numerics.truncation for the senses "
                 "of truncation): " + ", ".join(parts))
    return "\n".join(lines)


def _chosen(config: Any, accuracy: float, times: tuple[float, ...], full_fallback: bool
            ) -> tuple[LimitResult, dict[str, Any]]:
    """``--accuracy``: the word length chosen as the report chooses it
    (proofs_check.checks._limit.select_limit, at most the word length given), its result with
    the truncation estimate of that choice in error_estimates, and the JSON "word_length_choice":
    the target, delta, whether it is met, delta of every length tried, the differences between
    consecutive lengths, rho and the kernel's rule."""
    from proofs_check.checks._limit import CHECK_SENSES, KERNEL_SHARE, select_limit
    from proofs_check.checks._word_length import needed_length

    result, delta, info = select_limit(config, accuracy, times, kernel_groups=False,
                                       full_fallback=full_fallback)

    def finite(value: float) -> float | None:  # no estimate (JSON null): one length only
        return float(value) if math.isfinite(value) else None

    estimates = dict(result.error_estimates, truncation=finite(info["truncation"]),
                     **{f"truncation_{sense}": finite(info[f"truncation_{sense}"])
                        for sense in CHECK_SENSES},
                     truncation_method="tail of the differences between consecutive lengths, "
                     f"profile (j - 1) rho^j (rho = {info['rho']:.6g}; "
                     "numerics.truncation.truncation_tail)")
    choice = {"accuracy": accuracy, "delta": finite(delta), "met": bool(delta <= accuracy),
              **{f"delta_{sense}": finite(info[f"delta_{sense}"]) for sense in CHECK_SENSES},
              "kernel_accuracy": KERNEL_SHARE * accuracy,
              # what the rule achieved: above kernel_accuracy when no rule of the ladder meets
              # it (numerics.quadrature.settings_ladder: d = 2 has one rung, d > 2 three
              # Sobol sizes); delta counts it
              "kernel_error": finite(result.kernel.error),
              "tried": {str(k): finite(v) for k, v in sorted(info["tried"].items())},
              "differences": {sense: {str(k): v for k, v in sorted(by_level.items())}
                              for sense, by_level in info["differences"].items()},
              "rho": info["rho"], "kernel_rule": result.kernel.rule,
              # the length the (L - 1) rho^L tail projects for --accuracy (L when met)
              "needed_word_length": needed_length(
                  info["differences"], info["rho"], int(config.target.lag),
                  int(result.problem.word_length),
                  {s: info[f"delta_{s}"] for s in CHECK_SENSES},
                  {s: info[f"truncation_{s}"] for s in CHECK_SENSES},
                  dict.fromkeys(CHECK_SENSES, accuracy))}
    return dataclasses.replace(result, error_estimates=estimates), choice


def _choice_line(choice: dict[str, Any], L: int, cap: int, config: Any,
                 memory: MemoryCap | None = None) -> str:
    """One line for a person on the word length --accuracy chose, and why (when none up to the
    cap meets it, the length the truncation tail projects: _word_length.length_hint)."""
    from proofs_check.checks._word_length import length_hint

    def shown(value: float | None) -> str:
        return "no estimate" if value is None else f"{value:.2g}"

    tried = ", ".join(f"L = {k}: {shown(v)}" for k, v in choice["tried"].items())
    if choice["met"]:
        return (f"word length L = {L}: the shortest (up to {cap}) whose estimated error "
                f"{shown(choice['delta'])} meets --accuracy {choice['accuracy']:.2g} ({tried})")
    if choice["delta"] is None:
        return (f"word length L = {L}: no error estimate (the truncation estimate needs two "
                f"word lengths, so --accuracy {choice['accuracy']:.2g} cannot be checked); "
                "raise --word-length")
    return (f"word length L = {L}: no length up to {cap} meets --accuracy "
            f"{choice['accuracy']:.2g}; the error estimate at L = {L} is "
            f"{shown(choice['delta'])} ({tried}); "
            + length_hint(config, choice["needed_word_length"], "--word-length", groups=False,
                          cap=memory))


def run(args: argparse.Namespace) -> int:
    times = parse_times(args.times)
    config = loaded_config(args).config
    L = config.limit.word_length
    field = "--word-length" if args.word_length is not None else "limit.word_length"
    cap = memory_cap(args.memory_cap)
    peak, full_fallback = plan_limit(config, L, cap, field=field, groups=False,
                                     one_length=args.accuracy is not None)
    note_beyond_physical(peak, cap, "limit")
    check_out_file(args.out)
    if not args.no_progress:
        m = config.chain.m
        fallback = ("" if full_fallback else "; low-rank solve only: its full fallback would "
                    "not fit the memory cap")
        first = int(config.target.lag) + 2  # checks._limit.select_limit's first length
        work = ("plus two neighbouring lengths for the truncation estimate"
                if args.accuracy is None
                else f"or the shortest length that meets --accuracy {args.accuracy:.2g}, "
                f"trying L = {min(first, L)}, {min(first, L) + 1}, ... in turn")
        write_line(f"rnnkl limit: kernel and ODE on {m}^{L} = {m ** L} words of length {L}, "
                   f"{work} (planned peak memory {format_bytes(peak)}{fallback}) ...")
    start = time.monotonic()
    choice = None
    if args.accuracy is None:
        result = solve_limit(config, L, times, kernel_groups=False,  # no group is output
                             full_fallback=full_fallback)
    else:
        result, choice = _chosen(config, args.accuracy, times, full_fallback)
    seconds = time.monotonic() - start
    document = result_to_json(result, config)
    text = summary(result, seconds)
    reason = limit_vanishes(config)
    document["zero_by_symmetry"] = reason or None
    if reason:
        text += f"\ng_t = 0 identically on this configuration (derived): {reason}"
    if choice is not None:
        document["word_length_choice"] = choice
        line = _choice_line(choice, result.problem.word_length, L, config,
                            memory_cap(args.memory_cap))
        text += "\n" + line
        if not choice["met"]:  # a result, not progress: said with --no-progress too
            write_line(f"rnnkl limit: {line}")
    emit(lambda: json.dumps(document, allow_nan=False), lambda: text, args.out)
    return 0
