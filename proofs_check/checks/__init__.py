"""One module per quantitative claim of theory.md (§3, §5, §6, §7), each exposing
``run(context) -> CheckResult | tuple[CheckResult, ...]`` and the constants ``TITLE`` (a short
name for the progress bar) and ``COST`` (relative cost, for the progress bar only).

:data:`CHECK_MODULES` fixes the order of the report. A check module that cannot run (a module it
needs is missing, or it raised) is reported as a failed check, never skipped silently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from derivations.inputs.config import Config
from proofs_check.budget import Budget
from proofs_check.cache import Cache

CHECK_MODULES: tuple[str, ...] = (
    "tiers",
    "memory_contraction",
    "sobolev_bounds",
    "kernel_at_init",
    "output_at_init",
    "parameter_drift",
    "lazy_training",
    "poisson_fluctuations",
    "main_theorem",
)


def _no_progress(fraction: float) -> None:
    return None


@dataclass(frozen=True)
class CheckContext:
    """What a check may use: the validated config, the budget, the disk cache, the root seed
    (results are fixed by (config, budget, seed)) and a progress callback taking the fraction
    of this check done, in [0, 1]."""

    config: Config
    budget: Budget
    cache: Cache
    seed: int
    progress: Callable[[float], None] = _no_progress

    def __reduce__(self) -> tuple[object, ...]:
        """Pickled (a job computed on a Dask worker captured it) without the progress callback,
        which belongs to the driver's terminal; the cache pickles empty (proofs_check.cache)."""
        return (CheckContext, (self.config, self.budget, self.cache, self.seed))
