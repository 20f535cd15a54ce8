"""Domain checks of a configuration (theory.md §1-§2): the chain is stochastic, irreducible and
aperiodic (and not degenerate), the target is finite on every window, beta in [1/2, 1) (1/2 only
with antisymmetric initialisation), rho = b_max Lip(sigma) < 1, an initialisation whose kernel
is not identically 0 (derivations.kernel_dependence.kernel_vanishes), numbers within
MAX_MAGNITUDE and sizes within bounds. Every
failure is one :class:`ConfigError` line "<table>.<field>: <reason>".
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from derivations.activations import ACTIVATION_NAMES, activation_constants
from derivations.chain_structure import period, unreachable_pair
from derivations.errors import short_number
from derivations.inputs.expression import Expression
from derivations.inputs.expression_eval import evaluate
from derivations.inputs.fields import Number, field_error, format_number, show_value
from derivations.inputs.schema import (
    BACKENDS,
    TRAINABLE_GROUPS,
    ChainConfig,
    Config,
    contraction_rate,
    states_array,
    target_expression,
)
from derivations.kernel_dependence import kernel_vanishes

_MAX_TARGET_WINDOWS = 200_000  # y is checked (finite) on all m^(q+1) windows; more: refused
# The largest magnitude of a state component, a target value, c_std, w_std, noise_std and
# alpha. The suite's largest numbers are fourth powers (variances of squared errors) of
# products of a few of these (the kernel ~ c_std^2 |x|^2, the ODE's alpha t K, the target):
# at most about ten factors, so 1e30 keeps them below 1e300 < 1.8e308, the double range.
# Measured: states at 1e100 overflowed the limit's JSON and the report (exit 3).
MAX_MAGNITUDE = 1e30


def _check_magnitude(field: str, value: float, what: str = "{}") -> None:
    """One line when |value| exceeds MAX_MAGNITUDE (module constant); ``what`` names the value
    ("{}" standing for it)."""
    try:
        size = abs(float(value))
    except OverflowError:
        size = math.inf
    if size > MAX_MAGNITUDE:
        raise field_error(field, f"{what.format(short_number(value))} is beyond "
                          f"{MAX_MAGNITUDE:.0e} in magnitude: the suite's statistics would "
                          "overflow double precision")


def _validate_chain(chain: ChainConfig) -> None:
    """theory.md §1: states in R^d, P square, >= 0, stochastic, irreducible and aperiodic."""
    if not chain.states:
        raise field_error("chain.states", "must not be empty")
    d = len(chain.states[0])
    for i, row in enumerate(chain.states):
        if len(row) != d:
            raise field_error(
                "chain.states",
                f"state {i} has {len(row)} components but state 0 has {d} "
                "(all states need the same dimension d)",
            )
    for i, row in enumerate(chain.states):
        for a, x in enumerate(row):
            _check_magnitude("chain.states", x, f"state {i} component {a + 1} = {{}}")
    m = len(chain.states)
    if m == 1 or all(row == chain.states[0] for row in chain.states):
        raise field_error(
            "chain.states",
            f"{'one state' if m == 1 else f'all {m} states are the same point'}: the inputs are "
            "constant, a degenerate chain for which no check can tell the theory from its "
            "rivals (give at least two distinct states)",
        )
    if len(chain.transition) != m:
        raise field_error(
            "chain.transition",
            f"has {len(chain.transition)} rows but there are {m} states (P must be m x m)",
        )
    for i, row in enumerate(chain.transition):
        if len(row) != m:
            raise field_error(
                "chain.transition",
                f"row {i} has {len(row)} entries, expected {m} (P must be square, m x m)",
            )
    for i, row in enumerate(chain.transition):
        for j, p in enumerate(row):
            if p < 0:
                raise field_error(
                    "chain.transition", f"entry [{i}][{j}] = {format_number(p)} is negative"
                )
        _check_probability_vector(row, "chain.transition", f"row {i}")
    pattern = [[p > 0 for p in row] for row in chain.transition]
    unreachable = unreachable_pair(pattern)
    if unreachable is not None:
        a, b = unreachable
        raise field_error(
            "chain.transition",
            f"chain is reducible: state {b} cannot be reached from state {a} "
            "(need irreducible)",
        )
    chain_period = period(pattern)
    if chain_period != 1:
        raise field_error(
            "chain.transition",
            f"chain is periodic with period {chain_period} (need aperiodic)",
        )
    if chain.initial is not None:
        if len(chain.initial) != m:
            raise field_error(
                "chain.initial", f"has {len(chain.initial)} entries, expected m = {m}"
            )
        for i, p in enumerate(chain.initial):
            if p < 0:
                raise field_error("chain.initial", f"entry [{i}] = {format_number(p)} is negative")
        _check_probability_vector(chain.initial, "chain.initial", "the vector")


def _check_probability_vector(row: Sequence[Number], field: str, what: str) -> None:
    """Entries sum to 1: exactly when all are Fractions, else |sum - 1| <= 1e-12 * m.

    Tolerance: a decimal typed as a TOML float is rounded to double with relative error
    <= 2^-53 ~ 1.1e-16 per entry, and math.fsum adds them exactly, so a row of m correctly
    typed entries is off by at most ~1.1e-16 * m; 1e-12 * m also admits rows typed with
    12 significant digits, and rejects anything visibly non-stochastic.
    """
    if all(isinstance(p, Fraction) for p in row):
        total = sum(row, Fraction(0))
        if total != 1:
            excess = total - 1
            shown = (f"1 {'+' if excess > 0 else '-'} {short_number(abs(excess))}"
                     if abs(excess) < Fraction(1, 1000) else format_number(total))
            raise field_error(field, f"{what} sums to {shown}, not 1 (exact check)")
        return
    total_float = math.fsum(float(p) for p in row)
    if abs(total_float - 1.0) > 1e-12 * len(row):
        raise field_error(
            field, f"{what} sums to {total_float!r}, not 1 (|sum - 1| > 1e-12 * {len(row)})"
        )


def _validate_target(config: Config) -> Expression:
    target = config.target
    expression = target_expression(config)
    _check_target_finite(config, expression)
    if target.noise_std < 0 or not math.isfinite(target.noise_std):
        raise field_error("target.noise_std", f"{target.noise_std!r} must be finite and >= 0")
    _check_magnitude("target.noise_std", target.noise_std)
    return expression


def _check_target_finite(config: Config, expression: Expression) -> None:
    """y must be finite on every window of states (x0, ..., xq) in {xi}^(q+1)."""
    m, q = config.chain.m, expression.max_lag
    if (q + 1) * math.log(m) > math.log(_MAX_TARGET_WINDOWS):
        raise field_error(
            "target.expression",
            f"uses lag {q}: m^(q+1) = {m}^{q + 1} input windows, at most "
            f"{_MAX_TARGET_WINDOWS} are supported",
        )
    states = states_array(config.chain)
    indices = np.array(list(itertools.product(range(m), repeat=q + 1)), dtype=np.int64)
    values = evaluate(expression, states[indices])  # windows (m^(q+1), q+1, d)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        window = ", ".join(f"x{j} = state {s}" for j, s in enumerate(indices[bad[0]]))
        raise field_error(
            "target.expression", f"value is {values[bad[0]]} (not finite) at {window}"
        )
    big = int(np.argmax(np.abs(values)))
    window = ", ".join(f"x{j} = state {s}" for j, s in enumerate(indices[big]))
    _check_magnitude("target.expression", float(values[big]), f"the value {{}} at {window}")


def _validate_network(config: Config) -> None:
    network = config.network
    if network.activation not in ACTIVATION_NAMES:
        raise field_error(
            "network.activation",
            f"unknown activation {show_value(network.activation)} "
            f"(choose {', '.join(ACTIVATION_NAMES)})",
        )
    beta = network.beta
    if not (math.isfinite(beta) and 0.5 <= beta < 1.0):
        raise field_error("network.beta", f"{beta!r} is outside [1/2, 1)")
    if beta == 0.5 and not network.antisymmetric:
        raise field_error(
            "network.beta", "beta = 1/2 requires network.antisymmetric = true (theory.md §2)"
        )
    if not network.trainable:
        raise field_error("network.trainable", "must name at least one of c, w, b")
    seen: set[str] = set()
    for group in network.trainable:
        if group not in TRAINABLE_GROUPS:
            raise field_error(
                "network.trainable",
                f"unknown group {show_value(group)} (choose from {', '.join(TRAINABLE_GROUPS)})",
            )
        if group in seen:
            raise field_error("network.trainable", f"group {group!r} is listed twice")
        seen.add(group)


def _validate_init(config: Config) -> None:
    init = config.init
    for name in ("c_std", "w_std", "b_max"):
        value = getattr(init, name)
        if not math.isfinite(value):
            raise field_error(f"init.{name}", f"{value!r} is not a finite number")
        if value < 0:
            raise field_error(f"init.{name}", f"{value!r} is negative (must be >= 0)")
        _check_magnitude(f"init.{name}", value)
    rho = contraction_rate(config)
    if rho >= 1.0:
        lip = activation_constants(config.network.activation).lipschitz
        raise field_error(
            "init.b_max",
            f"rho = b_max * Lip({config.network.activation}) = {init.b_max!r} * {lip:.6g} = "
            f"{rho:.6g} >= 1 (the memory contraction needs rho < 1)",
        )
    zero = {g: name for g, name in (("c", "c_std"), ("w", "w_std"), ("b", "b_max"))
            if getattr(init, name) == 0}
    trainable = tuple(config.network.trainable)
    if zero and kernel_vanishes(trainable, config.network.activation, tuple(zero)):
        names = " and ".join(f"init.{name} = 0" for name in zero.values())
        raise field_error(
            f"init.{next(iter(zero.values()))}",
            f"{names} with trainable {', '.join(trainable)} and {config.network.activation} "
            "make the kernel A identically 0 (theory.md §3; derivations.kernel_dependence): "
            "nothing learns and there is nothing to verify",
        )


def _validate_training(config: Config) -> None:
    for name in ("alpha", "horizon"):
        value = getattr(config.training, name)
        if not (math.isfinite(value) and value > 0):
            raise field_error(f"training.{name}", f"{value!r} must be a finite number > 0")
    _check_magnitude("training.alpha", config.training.alpha)


MAX_INTEGER = 10**18  # integer fields: any larger value is absurd and would overflow a float


def _validate_run(config: Config) -> None:
    run = config.run
    for name, low in (("N", 1), ("replicas", 1), ("seed", 0)):
        value = getattr(run, name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise field_error(f"run.{name}", f"expected an integer, got {show_value(value)}")
        if value < low:
            raise field_error(f"run.{name}", f"{short_number(value)} must be >= {low}")
        if value > MAX_INTEGER:
            why = ("a seed is an integer in [0, 1e18], as --seed takes" if name == "seed"
                   else "no run of that size is possible")
            raise field_error(f"run.{name}",
                              f"{short_number(value)} is beyond {MAX_INTEGER:.0e} ({why})")
    if config.network.antisymmetric and run.N % 2 != 0:
        raise field_error(
            "run.N", f"{run.N} is odd; antisymmetric initialisation needs an even N"
        )
    if run.backend not in BACKENDS:
        raise field_error(
            "run.backend",
            f"unknown backend {show_value(run.backend)} (choose {', '.join(BACKENDS)})",
        )


def _validate_limit(config: Config) -> None:
    length = config.limit.word_length
    if isinstance(length, bool) or not isinstance(length, int):
        raise field_error("limit.word_length", f"expected an integer, got {show_value(length)}")
    if length < 1:
        raise field_error("limit.word_length", f"{short_number(length)} must be >= 1")
    if length > MAX_INTEGER:
        raise field_error(
            "limit.word_length", f"{short_number(length)} is beyond {MAX_INTEGER:.0e}"
        )


def validate_config(config: Config) -> Config:
    """Check a Config against theory.md §1-§2 and return it with ``target.lag`` filled in and
    ``network.trainable`` in canonical order (c, w, b). Raises ConfigError (one line)."""
    _validate_chain(config.chain)
    _validate_network(config)  # before the target: errors about the network come first
    expression = _validate_target(config)
    trainable = tuple(g for g in TRAINABLE_GROUPS if g in config.network.trainable)
    config = config.replace(
        target=dataclasses.replace(config.target, lag=expression.max_lag),
        network=dataclasses.replace(config.network, trainable=trainable),
    )
    _validate_init(config)
    _validate_training(config)
    _validate_run(config)
    _validate_limit(config)
    return config
