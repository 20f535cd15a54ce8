"""Report budgets: how much Monte Carlo each check may spend (issue 5).

``quick`` must finish the whole report in under 3 minutes on 2 cores, ``standard`` in under
20 minutes; ``full`` may be long: its trained-network Monte Carlo alone is
256 replicas x sum_N N^2 T ~ 7.5e11 unit-steps (N up to 32768; one ladder, shared by the
drift, lazy-training and main-theorem checks and their rivals), about 2 hours with the fast
backend at ~1e8 unit-steps/s (README, Performance), so run it with ``run.backend = "fast"``.
``standard``'s ladder reaches N = 32768 with per-rung replicas (Budget.replicas_at: 128 up
to N = 4096, then 128 (4096/N)^2 with a floor of 16, i.e. 32, 16, 16): its trained-network
Monte Carlo is sum_N R(N) N^2 T ~ 5.3e10 unit-steps, about 9 minutes at ~1e8 unit-steps/s.
The floor of 16 at the top rungs is set by the limit rivals of the main theorem, tested on
the largest N alone (proofs_check.rivals.limit_rival): with 16 replicas its t quantile has
15 degrees of freedom.
Rates are fitted over a ladder of N with many replicas (theory.md
§8: 4 replicas were too noisy to fit a rate), so every budget keeps many replicas on most of
its ladder; only ``standard`` lowers them on its top rungs (N > 4096, at least 8 each), where
the fit weights those rungs by their own, larger variances. Ladders are powers of 2 (antisymmetric
initialisation needs even N).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from derivations.errors import InputError


class BudgetError(InputError):
    """Unknown budget name."""


@dataclass(frozen=True)
class Budget:
    """Sizes of every Monte Carlo of the report.

    n_ladder: hidden-unit counts N for the rate fits; replicas: independent replicas per N for
    the trained-network checks (drift, main theorem); init_replicas: replicas per N for the cheap
    initialisation checks (output and kernel at init); init_word_length: the length of the
    words those checks and lazy training compare on (not the limit's word length, which
    checks._limit.select_limit chooses up to the config's limit.word_length);
    init_words: words (spread evenly over all m^L) compared by the initialisation checks;
    memory_steps: steps of the memory contraction run; memory_units: units in it;
    poisson_steps: path length of the Poisson checks; poisson_ladder: path lengths n for the
    drift-fluctuation rate; poisson_replicas: paths per length; limit_accuracy: the error delta
    of the limit g_t on words that the main-theorem and Poisson checks need
    (checks._limit.select_limit takes the smallest word length whose estimated delta meets
    it, at most the config's word length).

    Choice of limit_accuracy: the main theorem's finite-N allowance for the limit's error is
    sum_j |a_j| (-log(1 - delta / E(N_j))) (checks.main_theorem.floor_allowance, a_j the slope
    fit's coefficients), dominated by the top rung, where it is about
    |a_top| delta / E(N_max); the RMS errors at the quick budget's N_max = 1024 are >= 1e-2
    (theory.md §8: 0.0087 already at N = 2000 for r = 1/2, larger for r = 1/4), so delta <= 2e-3
    keeps delta / E(N_max) <= 1/5; the larger budgets (larger N_max, smaller errors, narrower
    intervals) ask 4x and 20x less. The assumption is checked once the ladder has run
    (checks._limit.refined_limit: the limit is lengthened when the measured errors ask more).
    """

    name: str
    n_ladder: tuple[int, ...]
    replicas: int
    init_ladder: tuple[int, ...]
    init_replicas: int
    init_word_length: int
    init_words: int
    memory_steps: int
    memory_units: int
    poisson_steps: int
    poisson_ladder: tuple[int, ...]
    poisson_replicas: int
    limit_accuracy: float
    full_replicas_up_to: int | None = None
    min_replicas: int = 8

    def replicas_at(self, n_units: int) -> int:
        """Trained-network replicas at ladder rung N (drift and main-theorem checks).

        ``replicas`` for N <= full_replicas_up_to (= N_ref; None: every N), beyond it
        max(min_replicas, round(replicas (N_ref / N)^2)). One replica costs ~ N^2 T unit-steps,
        so the cost of a rung stays bounded by the cost at N_ref (up to the floor) and a ladder
        can reach large N within the budget. This trades precision, not correctness: every
        rung's level value and the delta-method variance of its log come from that rung's own
        replicas (stats.fit_rate accepts unequal counts), so fewer replicas at large N give
        those rungs larger variances, less weight and a wider slope interval (the t quantile
        uses the smallest count), never a biased one. The floor (>= 8) keeps every rung's
        sample variance usable (t with >= 7 degrees of freedom).
        """
        if self.full_replicas_up_to is None or n_units <= self.full_replicas_up_to:
            return self.replicas
        scaled = round(self.replicas * (self.full_replicas_up_to / n_units) ** 2)
        return max(self.min_replicas, min(self.replicas, scaled))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["replicas_per_n"] = {int(n): self.replicas_at(n) for n in self.n_ladder}
        return out


BUDGETS: dict[str, Budget] = {
    "quick": Budget(
        name="quick",
        n_ladder=(128, 256, 512, 1024),
        replicas=96,
        init_ladder=(256, 512, 1024, 2048, 4096),
        init_replicas=256,
        init_word_length=4,
        init_words=12,
        memory_steps=60,
        memory_units=2000,
        poisson_steps=20_000,
        poisson_ladder=(500, 1000, 2000, 4000, 8000),
        poisson_replicas=200,
        limit_accuracy=2e-3,
    ),
    "standard": Budget(
        name="standard",
        n_ladder=(256, 512, 1024, 2048, 4096, 8192, 16384, 32768),
        replicas=128,
        init_ladder=(256, 512, 1024, 2048, 4096, 8192),
        init_replicas=512,
        init_word_length=6,
        init_words=24,
        memory_steps=80,
        memory_units=8000,
        poisson_steps=200_000,
        poisson_ladder=(1000, 2000, 4000, 8000, 16000, 32000),
        poisson_replicas=800,
        limit_accuracy=5e-4,
        full_replicas_up_to=4096,
        min_replicas=16,
    ),
    "full": Budget(
        name="full",
        n_ladder=(512, 1024, 2048, 4096, 8192, 16384, 32768),
        replicas=256,
        init_ladder=(512, 1024, 2048, 4096, 8192, 16384, 32768),
        init_replicas=1024,
        init_word_length=8,
        init_words=48,
        memory_steps=100,
        memory_units=20000,
        poisson_steps=1_000_000,
        poisson_ladder=(1000, 4000, 16000, 64000, 256000),
        poisson_replicas=800,
        limit_accuracy=1e-4,
    ),
}


# A smoke-test budget (seconds): exercises every code path, too small for the rate tests to
# have power, so its verdicts are not meaningful. Used by the test suite, not offered by the CLI.
TINY = Budget(
    name="tiny", n_ladder=(64, 128, 256), replicas=8, init_ladder=(64, 128, 256),
    init_replicas=16, init_word_length=3, init_words=6, memory_steps=30, memory_units=200,
    poisson_steps=2000, poisson_ladder=(100, 200, 400), poisson_replicas=20,
    limit_accuracy=1e-2,
)


# Config fields no check reads: each rate check runs its budget's own N-ladder and replicas
# per N (`rnnkl simulate` reads these). `rnnkl sweep --vary` refuses them, `rnnkl report` says
# it ignores them when set on the command line (tests/test_sweep.py checks that no check reads
# them).
UNREAD_FIELDS = {"run.N": "its budget's N-ladder", "run.replicas": "its budget's replicas per N"}


def get_budget(name: str) -> Budget:
    """The budget called ``name`` (quick | standard | full)."""
    try:
        return BUDGETS[name]
    except KeyError:
        raise BudgetError(
            f"unknown budget {name!r} (expected one of {', '.join(BUDGETS)})"
        ) from None
