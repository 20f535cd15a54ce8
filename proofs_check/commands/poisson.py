"""``rnnkl poisson``: the Poisson equation of the data chain (theory.md §5).

    rnnkl poisson [--config FILE] --function EXPR [--exact] [--word-length L] [--out FILE]

EXPR is a function F of the current state, in the variables of the target grammar
(derivations.inputs.expression): ``x0`` (d = 1) or ``x0_1 .. x0_d``. With ``--word-length L`` F is a
function on words of length L (the word chain of theory.md §4) and may use the lags
``x0 .. x{L-1}``, where x0 is the MOST RECENT symbol of the word (the last one, words being
listed oldest symbol first).

Writes JSON ``{"pi": [...], "u": [...], "asymptotic_variance": ..., "F": [...], "mean": ...,
"exact": bool}`` (+ ``"words"``: state indices of each word, oldest first, in the order of the
other vectors, when --word-length is given).

* default: double precision (numerics.poisson_float: GTH stationary law + one LU solve);
* ``--exact``: exact SymPy arithmetic (derivations.poisson_exact); needs an exact chain (rational
  transition entries). Values are strings: "3/11" for rationals; when F is not rational at the
  states (tanh, exp, ...) the exact values are kept as SymPy strings such as
  "2/3 - tanh(1)/3". Floats of every value are added under ``"float"`` (null for a value beyond
  double precision). The double-precision path refuses, in one line, a function whose u or
  asymptotic variance (quadratic in F) overflows; ``--exact`` computes them. A state given as a
  TOML float (e.g. 0.3) is read as the decimal it prints as (Fraction(repr(x)) = 3/10): the
  number the user typed, not its binary approximation.
"""

from __future__ import annotations

import argparse
import json
import math
from fractions import Fraction
from typing import Any

import numpy as np

from derivations.errors import InputError, call_with_time_limit, short_number
from derivations.inputs.config import (
    Config,
    states_array,
    transition_matrix,
)
from derivations.inputs.exact_evaluation import ExactSizeError, exact_value
from derivations.inputs.expression import Expression, ExpressionError, LagError
from derivations.inputs.expression_eval import evaluate
from derivations.inputs.expression_parser import parse_expression
from numerics.costs import memory_cap
from proofs_check.commands._output import check_out_file, loaded_config, write_output
from proofs_check.commands._sizes import check_poisson, note_beyond_physical

MAX_WORDS_FLOAT = 4096  # dense LU on m^L words: 4096^3/3 flops ~ 2e10, seconds
MAX_WORDS_EXACT = 729  # exact sparse Gauss-Jordan on m^L words: ~15 s CPU at 3^6 = 729


class PoissonInputError(InputError):
    """Bad input for ``rnnkl poisson`` (function, word length, inexact chain with --exact)."""


def _parse_function(text: str, config: Config, word_length: int | None) -> Expression:
    max_lag = 0 if word_length is None else word_length - 1
    try:
        return parse_expression(text, config.chain.d, max_lag)
    except ExpressionError as err:
        lag_without_words = isinstance(err, LagError) and word_length is None
        hint = " (lags x1, x2, ... need --word-length L)" if lag_without_words else ""
        raise PoissonInputError(f"--function: {err}{hint}") from None


def _check_word_count(m: int, L: int) -> None:
    """Refuse more than MAX_WORDS_FLOAT words (compared by logarithms: m**L may be huge)."""
    if L * math.log(m) > math.log(MAX_WORDS_FLOAT):
        raise PoissonInputError(
            f"--word-length {L}: {m}^{L} words is too many (at most {MAX_WORDS_FLOAT}, i.e. "
            f"L <= {int(math.log(MAX_WORDS_FLOAT) / math.log(m)) if m > 1 else 'any'})")


def _windows(config: Config, word_length: int | None) -> tuple[list[tuple[int, ...]], list[Any]]:
    """The words (state indices, oldest first; length-1 words = states when no L) and, for
    each, its window of state indices most recent first (window[j] = index of X_{k-j})."""
    m = config.chain.m
    L = 1 if word_length is None else word_length
    _check_word_count(m, L)
    from numerics.words import enumerate_words

    words = [tuple(int(s) for s in w) for w in enumerate_words(m, L)]
    return words, [w[::-1] for w in words]


def _float_values(expr: Expression, config: Config, windows: list[Any]) -> np.ndarray:
    states = states_array(config.chain)
    window = states[np.array(windows, dtype=np.int64)]  # (n_words, L, d)
    values = evaluate(expr, window)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise PoissonInputError(
            f"--function is not finite at {_describe(windows[bad[0]], config)} "
            f"(value {float(values[bad[0]])!r})"
        )
    return values


def _describe(window: Any, config: Config) -> str:
    parts = [
        f"x{j} = state {s} {list(map(str, config.chain.states[s]))}"
        for j, s in enumerate(window)
    ]
    return ", ".join(parts)


def _exact_number(x: Any) -> Any:
    import sympy as sp

    value = x if isinstance(x, Fraction) else Fraction(repr(float(x)))
    return sp.Rational(value.numerator, value.denominator)


def _exact_values(expr: Expression, config: Config, windows: list[Any]) -> list[Any]:
    """F at every window, exactly and with bounded work (derivations.inputs.exact_evaluation)."""
    d = config.chain.d
    values = []
    for window in windows:
        numbers = {(j, c + 1): _exact_number(config.chain.states[s][c])
                   for j, s in enumerate(window) for c in range(d)}
        try:
            value = exact_value(expr, numbers)
        except ExactSizeError as err:
            raise PoissonInputError(f"--function at {_describe(window, config)}: {err}") from None
        if not (value.is_real and value.is_finite):
            raise PoissonInputError(
                f"--function is not a finite real number at {_describe(window, config)} "
                f"(value {short_number(value)})"
            )
        values.append(value)
    return values


def _exact_string(value: Any) -> str:
    return str(value)


def _solve_float(config: Config, values: np.ndarray, word_length: int | None) -> dict[str, Any]:
    from numerics import poisson_float as npo

    P = transition_matrix(config.chain)
    with np.errstate(over="ignore", invalid="ignore"):  # said in one line below instead
        if word_length is None:
            solution = npo.poisson_solve(P, values)
        else:
            solution = npo.word_poisson_solve(P, word_length, values)
    results = np.concatenate([solution.u, [solution.mean, solution.asymptotic_variance]])
    if not np.all(np.isfinite(results)):
        raise PoissonInputError(
            f"--function: values up to {short_number(float(np.max(np.abs(values))))} overflow "
            "double precision in u or in the asymptotic variance (quadratic in F); rescale F "
            "or use --exact")
    return {
        "exact": False,
        "pi": solution.pi.tolist(),
        "F": solution.values.tolist(),
        "mean": solution.mean,
        "u": solution.u.tolist(),
        "asymptotic_variance": solution.asymptotic_variance,
        "method": "double precision: GTH stationary law, one LU solve of (I - P + 1 pi) u = F~",
    }


def _solve_exact(config: Config, values: list[Any], word_length: int | None) -> dict[str, Any]:
    import sympy as sp

    from derivations import poisson_exact as dp
    from derivations import word_chain as wc

    chain = config.chain
    if not chain.exact:
        raise PoissonInputError(
            "--exact needs an exact chain: give every chain.transition entry as an integer or "
            'a rational string such as "1/4" (TOML floats are inexact)'
        )
    P = [[sp.Rational(p.numerator, p.denominator) for p in row] for row in chain.transition]
    if len(values) > MAX_WORDS_EXACT:
        raise PoissonInputError(
            f"--exact on {len(values)} words is too slow (at most {MAX_WORDS_EXACT}); "
            "lower --word-length or drop --exact"
        )
    if word_length is None:
        solution = dp.solve_poisson(P, values)
    else:
        solution = wc.solve_word_poisson(P, word_length, values)

    def strings(matrix: Any) -> list[str]:
        return [_exact_string(v) for v in matrix]

    def finite(value: Any) -> float | None:  # beyond double precision: null
        number = float(sp.N(value, 30))
        return number if math.isfinite(number) else None

    def floats(matrix: Any) -> list[float | None]:
        return [finite(v) for v in matrix]

    variance = solution.asymptotic_variance
    mean = solution.mean
    return {
        "exact": True,
        "pi": strings(solution.pi),
        "F": strings(solution.values),
        "mean": _exact_string(mean),
        "u": strings(solution.u),
        "asymptotic_variance": _exact_string(variance),
        "float": {
            "pi": floats(solution.pi),
            "F": floats(solution.values),
            "mean": finite(mean),
            "u": floats(solution.u),
            "asymptotic_variance": finite(variance),
        },
        "method": "exact SymPy: u = (I - P + 1 pi)^-1 (F - pi F) over the rationals",
    }


def poisson_document(
    config: Config, function: str, *, exact: bool = False, word_length: int | None = None,
    time_limit_seconds: float = 60.0,
) -> dict[str, Any]:
    """The JSON document of ``rnnkl poisson`` (module docstring); the exact path runs under a
    wall-clock limit of ``time_limit_seconds`` (0: none)."""
    expr = _parse_function(function, config, word_length)
    words, windows = _windows(config, word_length)
    if exact:
        message = (f"--exact: the symbolic computation ran past its time limit of "
                   f"{time_limit_seconds:g} s; drop --exact for the double-precision path, or "
                   "raise --time-limit")
        document = call_with_time_limit(time_limit_seconds, message, lambda: _solve_exact(
            config, _exact_values(expr, config, windows), word_length))
    else:
        document = _solve_float(config, _float_values(expr, config, windows), word_length)
    document["function"] = function
    document["states"] = config.chain.m
    if word_length is not None:
        document["word_length"] = word_length
        document["words"] = [list(w) for w in words]
    return document


def run(args: argparse.Namespace) -> int:
    config = loaded_config(args).config
    if args.word_length is not None and not args.exact:
        _check_word_count(config.chain.m, args.word_length)
        cap = memory_cap(args.memory_cap)
        note_beyond_physical(check_poisson(config, args.word_length, cap), cap, "poisson")
    check_out_file(args.out)
    document = poisson_document(
        config, args.function, exact=bool(args.exact), word_length=args.word_length,
        time_limit_seconds=float(args.time_limit),
    )
    text = json.dumps(document, allow_nan=False, indent=1)
    write_output(text, args.out)
    return 0
