"""Configuration: the TOML schema of the suite, whitelisted parsing, validation (MODEL.md §1-§2).

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
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from derivations.errors import InputError

Number = Fraction | float

ACTIVATIONS: tuple[str, ...] = ("tanh", "sigmoid", "erf", "linear")
TRAINABLE_GROUPS: tuple[str, ...] = ("c", "w", "b")


class ConfigError(InputError):
    """Bad configuration. ``str(err)`` is one line naming the field and the reason."""


@dataclass(frozen=True)
class ChainConfig:
    """MODEL.md §1: states xi_1..xi_m in R^d and the transition matrix P (m x m).

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
    """MODEL.md §1: Y_k = y(X_{k-q}, ..., X_k) + eps_k, eps_k ~ N(0, noise_std^2).

    ``expression`` is the user's text; ``lag`` is q, the largest lag it uses.
    """

    expression: str
    noise_std: float = 0.0
    lag: int = 0


@dataclass(frozen=True)
class NetworkConfig:
    """MODEL.md §2: activation sigma, output scaling exponent beta, init and trainable groups."""

    activation: str = "tanh"
    beta: float = 0.75
    antisymmetric: bool = False
    trainable: tuple[str, ...] = TRAINABLE_GROUPS


@dataclass(frozen=True)
class InitConfig:
    """MODEL.md §2: c ~ N(0, c_std^2), w ~ N(0, w_std^2 I_d), b ~ Uniform[-b_max, b_max]."""

    c_std: float = 1.0
    w_std: float = 1.0
    b_max: float = 0.5


@dataclass(frozen=True)
class TrainingConfig:
    """MODEL.md §2: eta_N = alpha N^(2 beta - 2); horizon T, steps = floor(N T)."""

    alpha: float = 1.0
    horizon: float = 2.0


@dataclass(frozen=True)
class RunConfig:
    """Monte Carlo size: N hidden units, R replicas, the root seed, the simulator backend."""

    N: int = 4000
    replicas: int = 4
    seed: int = 0
    backend: str = "numpy"


@dataclass(frozen=True)
class LimitConfig:
    """MODEL.md §4: words of length L for the finite-state reduction."""

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
