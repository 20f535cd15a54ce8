"""The configuration schema (theory.md §1-§2) as frozen pydantic dataclasses, and the
accessors every tier uses (float and exact views of the chain, the contraction rate, the
parsed target).

States, rows and entries are numbered from 0 in every message, as in every output (JSON state
indices, words): "state 0" is the first row of ``chain.states``, ``chain.transition[0][2]`` the
probability of moving from state 0 to state 2. A chain is ``exact`` when all its transition
entries are exact rationals (:class:`fractions.Fraction`), and then every check on it is exact.
Build a Config with :func:`derivations.inputs.config.load_config` (validated).
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from fractions import Fraction
from typing import Annotated, Any

import numpy as np
import sympy
from pydantic import ConfigDict, PlainValidator
from pydantic.dataclasses import dataclass

from derivations.activations import activation_constants
from derivations.inputs.expression import Expression, ExpressionError
from derivations.inputs.expression_parser import parse_expression
from derivations.inputs.fields import (
    Number,
    field_error,
    read_boolean,
    read_integer,
    read_matrix,
    read_real,
    read_string,
    read_strings,
    read_vector,
)

TRAINABLE_GROUPS: tuple[str, ...] = ("c", "w", "b")
BACKENDS: tuple[str, ...] = ("numpy", "fast")


def _reads(reader: Callable[[Any, str], Any], field: str) -> PlainValidator:
    """The field's validator: one of derivations.inputs.fields' readers (exact numbers, one-line
    ConfigError messages), in place of pydantic's own type coercion."""
    return PlainValidator(lambda value: reader(value, field))


# Each section is a frozen pydantic dataclass: pydantic validates the schema (unknown tables and
# keys, missing ones, sections that are not tables, defaults; config.config_from_dict turns its
# errors into one line), the field readers validate each value, validation.py the domain.
_SCHEMA = ConfigDict(extra="forbid")


@dataclass(frozen=True, config=_SCHEMA)
class ChainConfig:
    """theory.md §1: states xi_1..xi_m in R^d and the transition matrix P (m x m).

    ``initial`` is None for the stationary start (default) or a probability vector of length m.
    """

    states: Annotated[tuple[tuple[Number, ...], ...], _reads(read_matrix, "chain.states")]
    transition: Annotated[tuple[tuple[Number, ...], ...],
                          _reads(read_matrix, "chain.transition")]
    initial: Annotated[tuple[Number, ...] | None, _reads(read_vector, "chain.initial")] = None

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


@dataclass(frozen=True, config=_SCHEMA)
class TargetConfig:
    """theory.md §1: Y_k = y(X_{k-q}, ..., X_k) + eps_k, eps_k ~ N(0, noise_std^2).

    ``expression`` is the user's text; ``lag`` is q, the largest lag it uses (derived by
    validation, not a key of the file: :data:`DERIVED_KEYS`).
    """

    expression: Annotated[str, _reads(read_string, "target.expression")]
    noise_std: Annotated[float, _reads(read_real, "target.noise_std")] = 0.0
    lag: Annotated[int, _reads(read_integer, "target.lag")] = 0


@dataclass(frozen=True, config=_SCHEMA)
class NetworkConfig:
    """theory.md §2: activation sigma, output scaling exponent beta, init and trainable groups."""

    activation: Annotated[str, _reads(read_string, "network.activation")] = "tanh"
    beta: Annotated[float, _reads(read_real, "network.beta")] = 0.75
    antisymmetric: Annotated[bool, _reads(read_boolean, "network.antisymmetric")] = False
    trainable: Annotated[tuple[str, ...], _reads(read_strings, "network.trainable")] = (
        TRAINABLE_GROUPS)


@dataclass(frozen=True, config=_SCHEMA)
class InitConfig:
    """theory.md §2: c ~ N(0, c_std^2), w ~ N(0, w_std^2 I_d), b ~ Uniform[-b_max, b_max]."""

    c_std: Annotated[float, _reads(read_real, "init.c_std")] = 1.0
    w_std: Annotated[float, _reads(read_real, "init.w_std")] = 1.0
    b_max: Annotated[float, _reads(read_real, "init.b_max")] = 0.5


@dataclass(frozen=True, config=_SCHEMA)
class TrainingConfig:
    """theory.md §2: eta_N = alpha N^(2 beta - 2); horizon T, steps = floor(N T)."""

    alpha: Annotated[float, _reads(read_real, "training.alpha")] = 1.0
    horizon: Annotated[float, _reads(read_real, "training.horizon")] = 2.0


@dataclass(frozen=True, config=_SCHEMA)
class RunConfig:
    """Monte Carlo size: N hidden units, R replicas, the root seed, the simulator backend."""

    N: Annotated[int, _reads(read_integer, "run.N")] = 4000
    replicas: Annotated[int, _reads(read_integer, "run.replicas")] = 4
    seed: Annotated[int, _reads(read_integer, "run.seed")] = 0
    backend: Annotated[str, _reads(read_string, "run.backend")] = "fast"


@dataclass(frozen=True, config=_SCHEMA)
class LimitConfig:
    """theory.md §4: words of length L for the finite-state reduction."""

    word_length: Annotated[int, _reads(read_integer, "limit.word_length")] = 6


@dataclass(frozen=True, config=_SCHEMA)
class Config:
    """A whole validated configuration. Build with :func:`parse_config` / :func:`load_config`."""

    chain: ChainConfig
    target: TargetConfig
    network: NetworkConfig = dataclasses.field(default_factory=NetworkConfig)
    init: InitConfig = dataclasses.field(default_factory=InitConfig)
    training: TrainingConfig = dataclasses.field(default_factory=TrainingConfig)
    run: RunConfig = dataclasses.field(default_factory=RunConfig)
    limit: LimitConfig = dataclasses.field(default_factory=LimitConfig)

    def replace(self, **sections: Any) -> Config:
        """A copy with whole sections replaced (field types are read again, the domain is not:
        see with_overrides)."""
        return dataclasses.replace(self, **sections)


SECTIONS: dict[str, type] = {"chain": ChainConfig, "target": TargetConfig,
                             "network": NetworkConfig, "init": InitConfig,
                             "training": TrainingConfig, "run": RunConfig, "limit": LimitConfig}
TABLES: tuple[str, ...] = tuple(SECTIONS)
# Keys a file may not set: derived by validation.
DERIVED_KEYS: dict[str, tuple[str, ...]] = {"target": ("lag",)}
# The keys of each table, read off the dataclasses (the schema has one home).
SCHEMA_KEYS: dict[str, tuple[str, ...]] = {
    name: tuple(f.name for f in dataclasses.fields(section)
                if f.name not in DERIVED_KEYS.get(name, ()))
    for name, section in SECTIONS.items()
}


def _is_string_field(hint: Any) -> bool:
    base = typing.get_args(hint)[0] if typing.get_origin(hint) is Annotated else hint
    return base is str


# The keys whose value is one string (an expression, a name), read off the dataclasses' types:
# ``--set`` takes their text as typed (derivations.inputs.files.parse_assignment).
STRING_KEYS: frozenset[str] = frozenset(
    f"{name}.{key}" for name, section in SECTIONS.items()
    for key, hint in typing.get_type_hints(section, include_extras=True).items()
    if key in SCHEMA_KEYS[name] and _is_string_field(hint)
)


def contraction_rate(config: Config) -> float:
    """rho = b_max * Lip(sigma) (theory.md §2, memory contraction; validated rho < 1), with
    Lip(sigma) derived from the activation's definition (derivations.activations)."""
    return config.init.b_max * activation_constants(config.network.activation).lipschitz


def target_expression(config: Config) -> Expression:
    """The parsed target y (theory.md §1) over inputs in R^d, d = config.chain.d."""
    try:
        return parse_expression(config.target.expression, config.chain.d)
    except ExpressionError as err:
        raise field_error("target.expression", str(err)) from None


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
