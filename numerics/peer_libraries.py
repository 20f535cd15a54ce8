"""The peer libraries of the independent cross-checks (issue 6) and their result type.

neural-tangents + jax and QuantEcon.py are optional (the ``crosscheck`` extra): they are imported
lazily inside the functions, so ``numerics`` stays importable without them; a missing one raises
:class:`CrossCheckUnavailable` (one line, install hint). ``sympy.stats`` ships with SymPy (a
core dependency). The comparisons: :mod:`numerics.peer_neural_tangents`,
:mod:`numerics.peer_markov_chains`; all of them on a configuration:
:func:`numerics.peer_comparisons.run_all_crosschecks`.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from dataclasses import dataclass
from typing import Any

from derivations.errors import InputError

INSTALL_HINT = "install the optional extra: python3 -m pip install -e '.[crosscheck]'"


class CrossCheckUnavailable(InputError):
    """A peer library needed by a cross-check is not installed."""


@dataclass(frozen=True)
class CrossCheckResult:
    """One comparison with a peer library.

    size: what was compared (human-readable, with the count of compared numbers);
    max_deviation: max-abs difference (0.0 for exact comparisons that agree);
    tolerance: the acceptance bound, and tolerance_source where it comes from;
    passed: max_deviation <= tolerance (exact comparisons: all differences exactly zero).
    """

    name: str
    library: str
    version: str
    size: str
    max_deviation: float
    tolerance: float
    tolerance_source: str
    passed: bool


def import_peer(module: str, distribution: str) -> tuple[Any, str]:
    """Import a peer library lazily; (module, installed version). Raises CrossCheckUnavailable."""
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise CrossCheckUnavailable(
            f"cross-check needs {distribution} ({exc.__class__.__name__}: {exc}); {INSTALL_HINT}"
        ) from None
    try:
        version = importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        version = str(getattr(mod, "__version__", "unknown"))
    return mod, version


def missing_libraries() -> list[str]:
    """Distributions of the ``crosscheck`` extra that cannot be found (cheap: no import), for a
    caller that wants to know before running anything (the report instead runs the checks and
    catches CrossCheckUnavailable, which names the missing library)."""
    import importlib.util

    modules = {"jax": "jax", "jaxlib": "jaxlib", "neural_tangents": "neural-tangents",
               "quantecon": "quantecon"}
    return [dist for mod, dist in modules.items() if importlib.util.find_spec(mod) is None]


def neural_tangents() -> tuple[Any, Any, str]:
    """(neural_tangents, jax.numpy, version) with jax in float64 (jax_enable_x64)."""
    jax, _ = import_peer("jax", "jax")
    jax.config.update("jax_enable_x64", True)
    nt, version = import_peer("neural_tangents", "neural-tangents")
    return nt, jax.numpy, version


def quantecon() -> tuple[Any, str]:
    """(quantecon, version)."""
    return import_peer("quantecon", "quantecon")


def sympy_stats() -> tuple[Any, str]:
    stats, _ = import_peer("sympy.stats", "sympy")
    return stats, importlib.metadata.version("sympy")
