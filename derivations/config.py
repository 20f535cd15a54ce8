"""Configuration: the TOML schema of the suite, whitelisted parsing, validation (theory.md §1-§2).

States, rows and entries are numbered from 0 in every message, as in every output (JSON state
indices, words): "state 0" is the first row of ``chain.states``, ``chain.transition[0][2]`` the
probability of moving from state 0 to state 2.

Every value a user gives passes through :func:`load_config` / :func:`parse_config`, which raise
:class:`ConfigError` with a one-line message ``"<table>.<field>: <reason>"``. Nothing here calls
``eval``, ``sympify`` or ``parse_expr`` on user text: numbers are parsed by :mod:`fractions`,
target expressions by the whitelisting parser in :mod:`derivations.expression`.

Numbers in ``chain.states`` and ``chain.transition`` are kept *exact* (``fractions.Fraction``)
when given as integers or as strings ("3/10", "0.25"); TOML floats stay floats. A chain is
``exact`` when all its transition entries are exact, and then every check on it is exact.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from importlib import resources
from typing import Any

import numpy as np
import sympy

from derivations.activations import ACTIVATION_NAMES, activation_constants
from derivations.chain_structure import period, unreachable_pair
from derivations.errors import InputError, short_number
from derivations.expression import Expression, ExpressionError, evaluate, parse_expression

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

Number = Fraction | float

TRAINABLE_GROUPS: tuple[str, ...] = ("c", "w", "b")


class ConfigError(InputError):
    """Bad configuration. ``str(err)`` is one line naming the field and the reason."""


@dataclass(frozen=True)
class ChainConfig:
    """theory.md §1: states xi_1..xi_m in R^d and the transition matrix P (m x m).

    ``initial`` is None for the stationary start (default) or a probability vector of length m.
    """

    states: tuple[tuple[Number, ...], ...]
    transition: tuple[tuple[Number, ...], ...]
    initial: tuple[Number, ...] | None = None

    @property
    def m(self) -> int:
        return len(self.states)

    @property
    def d(self) -> int:
        return len(self.states[0])

    @property
    def exact(self) -> bool:
        """True when every transition entry is an exact rational."""
        return all(isinstance(p, Fraction) for row in self.transition for p in row)


@dataclass(frozen=True)
class TargetConfig:
    """theory.md §1: Y_k = y(X_{k-q}, ..., X_k) + eps_k, eps_k ~ N(0, noise_std^2).

    ``expression`` is the user's text; ``lag`` is q, the largest lag it uses.
    """

    expression: str
    noise_std: float = 0.0
    lag: int = 0


@dataclass(frozen=True)
class NetworkConfig:
    """theory.md §2: activation sigma, output scaling exponent beta, init and trainable groups."""

    activation: str = "tanh"
    beta: float = 0.75
    antisymmetric: bool = False
    trainable: tuple[str, ...] = TRAINABLE_GROUPS


@dataclass(frozen=True)
class InitConfig:
    """theory.md §2: c ~ N(0, c_std^2), w ~ N(0, w_std^2 I_d), b ~ Uniform[-b_max, b_max]."""

    c_std: float = 1.0
    w_std: float = 1.0
    b_max: float = 0.5


@dataclass(frozen=True)
class TrainingConfig:
    """theory.md §2: eta_N = alpha N^(2 beta - 2); horizon T, steps = floor(N T)."""

    alpha: float = 1.0
    horizon: float = 2.0


@dataclass(frozen=True)
class RunConfig:
    """Monte Carlo size: N hidden units, R replicas, the root seed, the simulator backend."""

    N: int = 4000
    replicas: int = 4
    seed: int = 0
    backend: str = "fast"


@dataclass(frozen=True)
class LimitConfig:
    """theory.md §4: words of length L for the finite-state reduction."""

    word_length: int = 6


@dataclass(frozen=True)
class Config:
    """A whole validated configuration. Build with :func:`parse_config` / :func:`load_config`."""

    chain: ChainConfig
    target: TargetConfig
    network: NetworkConfig
    init: InitConfig
    training: TrainingConfig
    run: RunConfig
    limit: LimitConfig

    def replace(self, **sections: Any) -> Config:
        """Return a copy with whole sections replaced (not re-validated; see with_overrides)."""
        return dataclasses.replace(self, **sections)


# ============================================================================ constants

BACKENDS: tuple[str, ...] = ("numpy", "fast")
TABLES: tuple[str, ...] = ("chain", "target", "network", "init", "training", "run", "limit")
_MAX_NUMBER_TEXT = 200  # characters of an exact number string such as "3/10"
_MAX_DECIMAL_EXPONENT = 400  # |e| in "1e<e>": larger would build a huge integer
_MAX_TARGET_WINDOWS = 200_000  # y is checked (finite) on all m^(q+1) windows; more: refused


def _read_default_toml() -> str:
    """The packaged default.toml (the single copy of the default configuration)."""
    return resources.files("derivations").joinpath("default.toml").read_text(encoding="utf-8")


DEFAULT_CONFIG_TOML: str = _read_default_toml()


# ============================================================================ small helpers


def _fail(field: str, reason: str) -> ConfigError:
    """A ConfigError "<table>.<field>: <reason>" guaranteed to be one line."""
    return ConfigError(" ".join(f"{field}: {reason}".split()))


def _show(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _fmt(x: Number) -> str:
    """A number as the user would write it: "p/q" for exact values, repr for floats; a
    fraction too long for one line as a 6-digit decimal (derivations.errors.short_number)."""
    return short_number(x) if isinstance(x, Fraction) else repr(x)


def _is_index(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _exact_from_string(text: str) -> Fraction | None:
    """Parse "p/q", "-3", "0.25", "1e-3" into a Fraction without building huge integers.

    Returns None for anything else (no underscores, no whitespace inside, no inf/nan).
    """
    text = text.strip()
    if not text or len(text) > _MAX_NUMBER_TEXT:
        return None
    unsigned = text[1:] if text[0] in "+-" else text
    if "/" in unsigned:
        numerator, _, denominator = unsigned.partition("/")
        if not (_is_index(numerator) and _is_index(denominator)) or int(denominator) == 0:
            return None
        return Fraction(text)
    mantissa, _, exponent = unsigned.lower().partition("e")
    if "e" in unsigned.lower():
        digits = exponent[1:] if exponent[:1] in ("+", "-") else exponent
        if not _is_index(digits) or int(digits) > _MAX_DECIMAL_EXPONENT:
            return None
    whole, dot, fraction = mantissa.partition(".")
    if not (whole or fraction) or (whole and not _is_index(whole)):
        return None
    if fraction and not _is_index(fraction):
        return None
    if not dot and not whole:
        return None
    return Fraction(text)


def _number(value: Any, field: str) -> Number:
    """A TOML number or exact string -> Fraction (ints, strings) or float (TOML floats)."""
    if isinstance(value, bool):
        raise _fail(field, f"expected a number, got boolean {_show(value)}")
    if isinstance(value, int):
        result: Number = Fraction(value)
    elif isinstance(value, float):
        result = value
    elif isinstance(value, str):
        exact = _exact_from_string(value)
        if exact is None:
            raise _fail(
                field, f"{_show(value)} is not a number (use e.g. 0.3, \"3/10\" or \"0.3\")"
            )
        result = exact
    else:
        raise _fail(field, f"expected a number, got {type(value).__name__}")
    try:
        as_float = float(result)
    except OverflowError:
        as_float = math.inf
    if not math.isfinite(as_float):
        raise _fail(field, f"{_show(value)} is not a finite number")
    return result


def _real(value: Any, field: str) -> float:
    """A finite TOML int or float, as float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(field, f"expected a number, got {_type_name(value)}")
    try:
        result = float(value)
    except OverflowError:
        result = math.inf
    if not math.isfinite(result):
        raise _fail(field, f"{_show(value)} is not a finite number")
    return result


def _integer(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(field, f"expected an integer, got {_type_name(value)} {_show(value)}")
    return value


def _string(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise _fail(field, f"expected a string, got {_type_name(value)}")
    return value


def _boolean(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(field, f"expected true or false, got {_type_name(value)}")
    return value


def _type_name(value: Any) -> str:
    names = {bool: "boolean", int: "integer", float: "float", str: "string", list: "array",
             dict: "table"}
    return names.get(type(value), type(value).__name__)


def _list(value: Any, field: str) -> list[Any]:
    if not isinstance(value, list):
        raise _fail(field, f"expected an array, got {_type_name(value)}")
    return value


# ============================================================================ TOML -> Config

SCHEMA_KEYS: dict[str, tuple[str, ...]] = {
    "chain": ("states", "transition", "initial"),
    "target": ("expression", "noise_std"),
    "network": ("activation", "beta", "antisymmetric", "trainable"),
    "init": ("c_std", "w_std", "b_max"),
    "training": ("alpha", "horizon"),
    "run": ("N", "replicas", "seed", "backend"),
    "limit": ("word_length",),
}
_REQUIRED: dict[str, tuple[str, ...]] = {
    "chain": ("states", "transition"),
    "target": ("expression",),
}


def _check_keys(data: dict[str, Any]) -> None:
    """Unknown tables and keys are errors (typo protection); required ones must be present."""
    for name, value in data.items():
        if name not in SCHEMA_KEYS:
            raise _fail(name, f"unknown table or key (known tables: {', '.join(TABLES)})")
        if not isinstance(value, dict):
            raise _fail(name, f"must be a table [{name}], got {_type_name(value)}")
        for key in value:
            if key not in SCHEMA_KEYS[name]:
                raise _fail(
                    f"{name}.{key}", f"unknown key (known keys: {', '.join(SCHEMA_KEYS[name])})"
                )
    for name, keys in _REQUIRED.items():
        if name not in data:
            raise _fail(name, "missing table")
        for key in keys:
            if key not in data[name]:
                raise _fail(f"{name}.{key}", "missing (required)")


def _matrix(value: Any, field: str) -> tuple[tuple[Number, ...], ...]:
    rows = _list(value, field)
    if not rows:
        raise _fail(field, "must not be empty")
    result = []
    for i, row in enumerate(rows):
        entries = _list(row, f"{field}[{i}]")
        if not entries:
            raise _fail(field, f"row {i} is empty")
        result.append(tuple(_number(x, f"{field}[{i}][{j}]") for j, x in enumerate(entries)))
    return tuple(result)


def _chain(table: dict[str, Any]) -> ChainConfig:
    states = _matrix(table["states"], "chain.states")
    transition = _matrix(table["transition"], "chain.transition")
    initial = None
    if "initial" in table:
        entries = _list(table["initial"], "chain.initial")
        initial = tuple(_number(x, f"chain.initial[{i}]") for i, x in enumerate(entries))
    return ChainConfig(states=states, transition=transition, initial=initial)


def _trainable(value: Any) -> tuple[str, ...]:
    groups = _list(value, "network.trainable")
    return tuple(_string(g, "network.trainable") for g in groups)


def config_from_dict(data: dict[str, Any]) -> Config:
    """Build and validate a Config from a TOML-shaped dict (as ``tomllib.loads`` returns, or
    as :func:`config_to_dict` produces). Raises ConfigError."""
    if not isinstance(data, dict):
        raise _fail("config", f"expected a table, got {_type_name(data)}")
    _check_keys(data)
    tables = {name: data.get(name, {}) for name in TABLES}
    target, network = tables["target"], tables["network"]
    init, training, run, limit = tables["init"], tables["training"], tables["run"], tables["limit"]
    config = Config(
        chain=_chain(tables["chain"]),
        target=TargetConfig(
            expression=_string(target["expression"], "target.expression"),
            noise_std=_real(target.get("noise_std", 0.0), "target.noise_std"),
        ),
        network=NetworkConfig(
            activation=_string(network.get("activation", "tanh"), "network.activation"),
            beta=_real(network.get("beta", 0.75), "network.beta"),
            antisymmetric=_boolean(network.get("antisymmetric", False), "network.antisymmetric"),
            trainable=_trainable(network.get("trainable", list(TRAINABLE_GROUPS))),
        ),
        init=InitConfig(
            c_std=_real(init.get("c_std", 1.0), "init.c_std"),
            w_std=_real(init.get("w_std", 1.0), "init.w_std"),
            b_max=_real(init.get("b_max", 0.5), "init.b_max"),
        ),
        training=TrainingConfig(
            alpha=_real(training.get("alpha", 1.0), "training.alpha"),
            horizon=_real(training.get("horizon", 2.0), "training.horizon"),
        ),
        run=RunConfig(
            N=_integer(run.get("N", 4000), "run.N"),
            replicas=_integer(run.get("replicas", 4), "run.replicas"),
            seed=_integer(run.get("seed", 0), "run.seed"),
            backend=_string(run.get("backend", "fast"), "run.backend"),
        ),
        limit=LimitConfig(
            word_length=_integer(limit.get("word_length", 6), "limit.word_length"),
        ),
    )
    return validate_config(config)


def parse_config(text: str, source: str = "<string>") -> Config:
    """Parse and validate TOML text (schema: default.toml). Raises ConfigError (one line)."""
    if not isinstance(text, str):
        raise _fail(source, f"config text must be a string, got {type(text).__name__}")
    return config_from_dict(read_toml(text, source))


def read_toml(text: str, source: str) -> dict[str, Any]:
    """tomllib.loads with every failure as one ConfigError line: syntax errors, nesting too deep
    (RecursionError), integers beyond Python's 4300-digit conversion limit (ValueError)."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise _fail(source, f"TOML syntax error: {err}") from None
    except RecursionError:
        raise _fail(source, "TOML syntax error: nesting too deep") from None
    except ValueError:
        raise _fail(source, "a number with more than 4300 digits") from None


def load_config(
    path: str | os.PathLike[str] | None = None, assignments: Sequence[str] = ()
) -> Config:
    """The configuration: the built-in default, overlaid by the (possibly partial) TOML file
    ``path`` and the ``table.key=value`` ``assignments`` (derivations.config_files, which also
    records where each value came from). Raises ConfigError (one line)."""
    from derivations.config_files import load_layers  # the file layer builds on this module

    return load_layers(path, assignments).config


# ============================================================================ validation


def _validate_chain(chain: ChainConfig) -> None:
    """theory.md §1: states in R^d, P square, >= 0, stochastic, irreducible and aperiodic."""
    if not chain.states:
        raise _fail("chain.states", "must not be empty")
    d = len(chain.states[0])
    for i, row in enumerate(chain.states):
        if len(row) != d:
            raise _fail(
                "chain.states",
                f"state {i} has {len(row)} components but state 0 has {d} "
                "(all states need the same dimension d)",
            )
    m = len(chain.states)
    if m == 1 or all(row == chain.states[0] for row in chain.states):
        raise _fail(
            "chain.states",
            f"{'one state' if m == 1 else f'all {m} states are the same point'}: the inputs are "
            "constant, a degenerate chain for which no check can tell the theory from its "
            "rivals (give at least two distinct states)",
        )
    if len(chain.transition) != m:
        raise _fail(
            "chain.transition",
            f"has {len(chain.transition)} rows but there are {m} states (P must be m x m)",
        )
    for i, row in enumerate(chain.transition):
        if len(row) != m:
            raise _fail(
                "chain.transition",
                f"row {i} has {len(row)} entries, expected {m} (P must be square, m x m)",
            )
    for i, row in enumerate(chain.transition):
        for j, p in enumerate(row):
            if p < 0:
                raise _fail("chain.transition", f"entry [{i}][{j}] = {_fmt(p)} is negative")
        _check_probability_vector(row, "chain.transition", f"row {i}")
    pattern = [[p > 0 for p in row] for row in chain.transition]
    unreachable = unreachable_pair(pattern)
    if unreachable is not None:
        a, b = unreachable
        raise _fail(
            "chain.transition",
            f"chain is reducible: state {b} cannot be reached from state {a} "
            "(need irreducible)",
        )
    chain_period = period(pattern)
    if chain_period != 1:
        raise _fail(
            "chain.transition",
            f"chain is periodic with period {chain_period} (need aperiodic)",
        )
    if chain.initial is not None:
        if len(chain.initial) != m:
            raise _fail(
                "chain.initial", f"has {len(chain.initial)} entries, expected m = {m}"
            )
        for i, p in enumerate(chain.initial):
            if p < 0:
                raise _fail("chain.initial", f"entry [{i}] = {_fmt(p)} is negative")
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
                     if abs(excess) < Fraction(1, 1000) else _fmt(total))
            raise _fail(field, f"{what} sums to {shown}, not 1 (exact check)")
        return
    total_float = math.fsum(float(p) for p in row)
    if abs(total_float - 1.0) > 1e-12 * len(row):
        raise _fail(
            field, f"{what} sums to {total_float!r}, not 1 (|sum - 1| > 1e-12 * {len(row)})"
        )


def _validate_target(config: Config) -> Expression:
    target = config.target
    try:
        expression = parse_expression(target.expression, config.chain.d)
    except ExpressionError as err:
        raise _fail("target.expression", str(err)) from None
    _check_target_finite(config, expression)
    if target.noise_std < 0 or not math.isfinite(target.noise_std):
        raise _fail("target.noise_std", f"{target.noise_std!r} must be finite and >= 0")
    return expression


def _check_target_finite(config: Config, expression: Expression) -> None:
    """y must be finite on every window of states (x0, ..., xq) in {xi}^(q+1)."""
    m, q = config.chain.m, expression.max_lag
    if (q + 1) * math.log(m) > math.log(_MAX_TARGET_WINDOWS):
        raise _fail(
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
        raise _fail(
            "target.expression", f"value is {values[bad[0]]} (not finite) at {window}"
        )


def _validate_network(config: Config) -> None:
    network = config.network
    if network.activation not in ACTIVATION_NAMES:
        raise _fail(
            "network.activation",
            f"unknown activation {_show(network.activation)} "
            f"(choose {', '.join(ACTIVATION_NAMES)})",
        )
    beta = network.beta
    if not (math.isfinite(beta) and 0.5 <= beta < 1.0):
        raise _fail("network.beta", f"{beta!r} is outside [1/2, 1)")
    if beta == 0.5 and not network.antisymmetric:
        raise _fail(
            "network.beta", "beta = 1/2 requires network.antisymmetric = true (theory.md §2)"
        )
    if not network.trainable:
        raise _fail("network.trainable", "must name at least one of c, w, b")
    seen: set[str] = set()
    for group in network.trainable:
        if group not in TRAINABLE_GROUPS:
            raise _fail(
                "network.trainable",
                f"unknown group {_show(group)} (choose from {', '.join(TRAINABLE_GROUPS)})",
            )
        if group in seen:
            raise _fail("network.trainable", f"group {group!r} is listed twice")
        seen.add(group)


def _validate_init(config: Config) -> None:
    init = config.init
    for name in ("c_std", "w_std", "b_max"):
        value = getattr(init, name)
        if not math.isfinite(value):
            raise _fail(f"init.{name}", f"{value!r} is not a finite number")
        if value < 0:
            raise _fail(f"init.{name}", f"{value!r} is negative (must be >= 0)")
    rho = contraction_rate(config)
    if rho >= 1.0:
        lip = activation_constants(config.network.activation).lipschitz
        raise _fail(
            "init.b_max",
            f"rho = b_max * Lip({config.network.activation}) = {init.b_max!r} * {lip:.6g} = "
            f"{rho:.6g} >= 1 (the memory contraction needs rho < 1)",
        )


def _validate_training(config: Config) -> None:
    for name in ("alpha", "horizon"):
        value = getattr(config.training, name)
        if not (math.isfinite(value) and value > 0):
            raise _fail(f"training.{name}", f"{value!r} must be a finite number > 0")


MAX_INTEGER = 10**18  # integer fields: any larger value is absurd and would overflow a float


def _validate_run(config: Config) -> None:
    run = config.run
    for name, low in (("N", 1), ("replicas", 1), ("seed", 0)):
        value = getattr(run, name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(f"run.{name}", f"expected an integer, got {_show(value)}")
        if value < low:
            raise _fail(f"run.{name}", f"{short_number(value)} must be >= {low}")
        if value > MAX_INTEGER:
            raise _fail(f"run.{name}", f"{short_number(value)} is beyond {MAX_INTEGER:.0e} "
                        "(no run of that size is possible)")
    if config.network.antisymmetric and run.N % 2 != 0:
        raise _fail(
            "run.N", f"{run.N} is odd; antisymmetric initialisation needs an even N"
        )
    if run.backend not in BACKENDS:
        raise _fail(
            "run.backend", f"unknown backend {_show(run.backend)} (choose {', '.join(BACKENDS)})"
        )


def _validate_limit(config: Config) -> None:
    length = config.limit.word_length
    if isinstance(length, bool) or not isinstance(length, int):
        raise _fail("limit.word_length", f"expected an integer, got {_show(length)}")
    if length < 1:
        raise _fail("limit.word_length", f"{short_number(length)} must be >= 1")
    if length > MAX_INTEGER:
        raise _fail("limit.word_length", f"{short_number(length)} is beyond {MAX_INTEGER:.0e}")


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


def with_overrides(
    config: Config,
    *,
    N: int | None = None,
    replicas: int | None = None,
    seed: int | None = None,
    backend: str | None = None,
    word_length: int | None = None,
) -> Config:
    """A copy with the given run/limit values replaced, validated again (raises ConfigError)."""
    run_changes: dict[str, Any] = {}
    if N is not None:
        run_changes["N"] = _integer(N, "run.N")
    if replicas is not None:
        run_changes["replicas"] = _integer(replicas, "run.replicas")
    if seed is not None:
        run_changes["seed"] = _integer(seed, "run.seed")
    if backend is not None:
        run_changes["backend"] = _string(backend, "run.backend")
    limit = config.limit
    if word_length is not None:
        limit = LimitConfig(word_length=_integer(word_length, "limit.word_length"))
    return validate_config(
        config.replace(run=dataclasses.replace(config.run, **run_changes), limit=limit)
    )


# ============================================================================ helpers


def contraction_rate(config: Config) -> float:
    """rho = b_max * Lip(sigma) (theory.md §2, memory contraction; validated rho < 1), with
    Lip(sigma) derived from the activation's definition (derivations.activations)."""
    return config.init.b_max * activation_constants(config.network.activation).lipschitz


def target_expression(config: Config) -> Expression:
    """The parsed target y (theory.md §1) over inputs in R^d, d = config.chain.d."""
    try:
        return parse_expression(config.target.expression, config.chain.d)
    except ExpressionError as err:
        raise _fail("target.expression", str(err)) from None


def _chain_of(chain: ChainConfig | Config) -> ChainConfig:
    """The chain section (the helpers below accept a whole Config as well)."""
    return chain.chain if isinstance(chain, Config) else chain


def transition_matrix(chain: ChainConfig | Config) -> np.ndarray:
    """P as a float array of shape (m, m) (theory.md §1)."""
    chain = _chain_of(chain)
    return np.array([[float(p) for p in row] for row in chain.transition], dtype=float)


def states_array(chain: ChainConfig | Config) -> np.ndarray:
    """The states xi_1..xi_m as a float array of shape (m, d) (theory.md §1)."""
    chain = _chain_of(chain)
    return np.array([[float(x) for x in row] for row in chain.states], dtype=float)


def transition_matrix_exact(chain: ChainConfig | Config) -> sympy.Matrix:
    """P as a SymPy Matrix (m x m): exact Rationals when ``chain.exact``, else Floats."""
    chain = _chain_of(chain)
    if chain.exact:
        return sympy.Matrix(
            [[sympy.Rational(p.numerator, p.denominator) for p in row] for row in chain.transition]
        )
    return sympy.Matrix([[sympy.Float(float(p)) for p in row] for row in chain.transition])


def initial_law(chain: ChainConfig | Config) -> np.ndarray | None:
    """The law of Z_0 as a float array (m,), or None for the stationary start (theory.md §1)."""
    chain = _chain_of(chain)
    if chain.initial is None:
        return None
    return np.array([float(p) for p in chain.initial], dtype=float)


def config_to_dict(config: Config) -> dict[str, Any]:
    """A JSON-serialisable, TOML-shaped dict (Fractions as "p/q" strings); omits the derived
    ``target.lag`` and an absent ``chain.initial``, so config_from_dict(config_to_dict(c)) == c."""

    def number(x: Number) -> str | float:
        return str(x) if isinstance(x, Fraction) else float(x)

    chain: dict[str, Any] = {
        "states": [[number(x) for x in row] for row in config.chain.states],
        "transition": [[number(p) for p in row] for row in config.chain.transition],
    }
    if config.chain.initial is not None:
        chain["initial"] = [number(p) for p in config.chain.initial]
    return {
        "chain": chain,
        "target": {"expression": config.target.expression, "noise_std": config.target.noise_std},
        "network": {
            "activation": config.network.activation,
            "beta": config.network.beta,
            "antisymmetric": config.network.antisymmetric,
            "trainable": list(config.network.trainable),
        },
        "init": dataclasses.asdict(config.init),
        "training": dataclasses.asdict(config.training),
        "run": dataclasses.asdict(config.run),
        "limit": dataclasses.asdict(config.limit),
    }
