"""Activation functions sigma, sigma', sigma'' as vectorised NumPy callables (theory.md §2).

``activation_functions(name)`` is the single entry point used by the simulator and the kernel
code. The callables are the GENERATED functions of :mod:`numerics.generated` (printed by SymPy
from the derivations; ``rnnkl derive``): sigma_<name>, sigma_d1_<name>, sigma_d2_<name>, and the
fused memory/tangent step memory_tangent_step_<name>(wx, b, s_prev, gb_prev) -> (s, dsigma, gb).
The generated forms are stable in double precision (e.g. sigma' of tanh without the
cancellation of 1 - tanh^2, sigmoid through scipy.special.expit).

The set of activations and their constants (Lip(sigma), sup |sigma|, sup |sigma''|) come from
their one definition in :mod:`derivations.activations`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from derivations.activations import ACTIVATION_NAMES
from numerics import generated

ArrayFunction = Callable[[np.ndarray], np.ndarray]
StepFunction = Callable[
    [np.ndarray, np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]
]


@dataclass(frozen=True)
class Activation:
    """sigma and its first two derivatives, elementwise on float arrays of any shape; ``step``
    is the generated fused memory/tangent step (s, dsigma, gb) of theory.md §2 (or None)."""

    name: str
    sigma: ArrayFunction
    d1: ArrayFunction
    d2: ArrayFunction
    step: StepFunction | None = None


def _generated_activation(name: str) -> Activation:
    return Activation(
        name,
        getattr(generated, f"sigma_{name}"),
        getattr(generated, f"sigma_d1_{name}"),
        getattr(generated, f"sigma_d2_{name}"),
        getattr(generated, f"memory_tangent_step_{name}"),
    )


_ACTIVATIONS: dict[str, Activation] = {
    name: _generated_activation(name) for name in ACTIVATION_NAMES
}


def activation_functions(name: str) -> Activation:
    """The activation called ``name`` (one of derivations.activations.ACTIVATION_NAMES)."""
    try:
        return _ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}") from None
