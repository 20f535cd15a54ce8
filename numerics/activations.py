"""Activation functions sigma, sigma', sigma'' as vectorised NumPy callables (MODEL.md §2).

``activation_functions(name)`` is the single entry point used by the simulator and the kernel
code. Lipschitz constants Lip(sigma) = sup |sigma'| enter the contraction rho = b_max Lip(sigma).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import erf as _erf
from scipy.special import expit as _expit

ArrayFunction = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Activation:
    """sigma and its first two derivatives, elementwise on float arrays of any shape."""

    name: str
    sigma: ArrayFunction
    d1: ArrayFunction
    d2: ArrayFunction


def _tanh_d1(z: np.ndarray) -> np.ndarray:
    t = np.tanh(z)
    return 1.0 - t * t


def _tanh_d2(z: np.ndarray) -> np.ndarray:
    t = np.tanh(z)
    return -2.0 * t * (1.0 - t * t)


def _sigmoid_d1(z: np.ndarray) -> np.ndarray:
    s = _expit(z)
    return s * (1.0 - s)


def _sigmoid_d2(z: np.ndarray) -> np.ndarray:
    s = _expit(z)
    return s * (1.0 - s) * (1.0 - 2.0 * s)


_TWO_OVER_SQRT_PI = 2.0 / np.sqrt(np.pi)


def _erf_d1(z: np.ndarray) -> np.ndarray:
    return _TWO_OVER_SQRT_PI * np.exp(-z * z)


def _erf_d2(z: np.ndarray) -> np.ndarray:
    return -2.0 * z * _TWO_OVER_SQRT_PI * np.exp(-z * z)


def _identity(z: np.ndarray) -> np.ndarray:
    return np.asarray(z, dtype=float)


def _ones(z: np.ndarray) -> np.ndarray:
    return np.ones_like(z, dtype=float)


def _zeros(z: np.ndarray) -> np.ndarray:
    return np.zeros_like(z, dtype=float)


_ACTIVATIONS: dict[str, Activation] = {
    "tanh": Activation("tanh", np.tanh, _tanh_d1, _tanh_d2),
    "sigmoid": Activation("sigmoid", _expit, _sigmoid_d1, _sigmoid_d2),
    "erf": Activation("erf", _erf, _erf_d1, _erf_d2),
    "linear": Activation("linear", _identity, _ones, _zeros),
}


def activation_functions(name: str) -> Activation:
    """The activation called ``name`` (tanh | sigmoid | erf | linear)."""
    try:
        return _ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}") from None
