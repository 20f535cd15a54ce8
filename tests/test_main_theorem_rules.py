"""Two rules of the main-theorem check (proofs_check.checks.main_theorem) held to its module
docstring with numbers worked out here: which samples stand for the sup over the time grid,
and the subleading allowance's gap between r and the next rate."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from proofs_check.checks.main_theorem import _allowance, _sup_samples
from proofs_check.stats import fit_rate


def test_the_sup_samples_are_the_grid_time_with_the_largest_mean_error():
    """e_{r j*} with j* maximising mean_r e_rj: not the last time, and not the time of the
    largest single entry."""
    errors = np.array([[1.0, 5.0, 4.0, 0.5],
                       [1.0, 0.0, 0.5, 0.5]])  # means 1, 2.5, 2.25, 0.5; largest entry 5
    np.testing.assert_array_equal(_sup_samples(errors), [5.0, 0.0])
    errors[1, 2] = 1.0  # means now 1, 2.5, 2.5: the first maximiser
    np.testing.assert_array_equal(_sup_samples(errors), [5.0, 0.0])
    errors[1, 2] = 2.0  # column 2 now the largest mean (3.0)
    np.testing.assert_array_equal(_sup_samples(errors), [4.0, 2.0])


@pytest.mark.parametrize(("rate", "gap"), [(0.25, 0.25), (0.1, 0.4), (0.4, 0.1), (0.5, 0.5)])
def test_the_subleading_allowance_uses_the_gap_to_the_next_rate(rate, gap):
    """gap = 1/2 - r when r < 1/2, else 1/2; the allowance gap N^-gap / (1 - N^-gap) at the
    smallest N (64 here), plus nothing for a limit without error (delta = 0)."""
    ns = np.array([64, 256, 1024])
    rng = np.random.default_rng(0)
    samples = [ns[j] ** -0.5 * (1.0 + 0.1 * rng.random(8)) for j in range(3)]
    fit = fit_rate(ns, samples, power=2, rng=rng)
    context = SimpleNamespace(budget=SimpleNamespace(n_ladder=(64, 256, 1024)))
    shrink = 64.0 ** -gap
    assert _allowance(context, rate, 0.0, fit) == pytest.approx(gap * shrink / (1 - shrink),
                                                                rel=1e-12)
