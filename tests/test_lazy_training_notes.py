"""lazy_training_sharpness claims a slope between the surviving orders (checks.lazy_training).
When it failed without a derived reason it said nothing, unlike every other sharpness result
(proofs_check.rivals.rate_claims): at alpha = 50 the kernel's motion fell like N^-1.02, faster
than every order, with the bound holding; with states at +-30 it fell like N^-0.13, slower
than every order. Each failure now says on which side it fails and where the bound stands."""

from __future__ import annotations

import numpy as np
import pytest

from derivations.inputs.files import load_layers
from proofs_check.checks._common import surviving_orders
from proofs_check.checks.lazy_training import sharpness
from proofs_check.rivals import rate_base, rate_claims, rate_test
from proofs_check.stats import fit_rate

NS = np.array([128, 256, 512, 1024])


def _results(exponent: float):
    """Bound and sharpness of lazy training on the default configuration (beta = 3/4: bound
    -1/4, surviving orders [-3/4, -1/2]) for motions C N^exponent with 1% noise."""
    config = load_layers(None, []).config
    noise = 1 + 0.01 * np.random.default_rng(0).standard_normal((NS.size, 32))
    motions = (NS[:, None] ** exponent) * noise
    test = rate_test(fit_rate(NS, motions**2, power=2, rng=np.random.default_rng(1)), -0.25,
                     0.05, [32] * NS.size)
    base = rate_base(name="lazy_training", claim="c", equation="e", quantity="q",
                     tolerance_source="s")
    bound, _ = rate_claims(test, base=base, sharp_claim="sharp")
    return config, bound, sharpness(test, bound, config)


def test_the_default_surviving_orders_are_the_ones_these_tests_assume():
    assert surviving_orders(load_layers(None, []).config) == pytest.approx((-0.75, -0.5))


def test_faster_than_every_order_says_so_and_that_the_bound_holds():
    _, bound, sharp = _results(-1.0)
    assert bound.verdict == "pass" and sharp.verdict == "fail"
    note = sharp.details["note"]
    assert "faster to 0 than every surviving order" in note and "while the bound holds" in note
    assert "may vanish" in note and "leading_term_vanishes" not in sharp.details


def test_slower_than_every_order_says_so_and_where_the_bound_stands():
    _, bound, sharp = _results(-0.13)
    assert sharp.verdict == "fail" and bound.verdict != "pass"
    note = sharp.details["note"]
    assert "slower than every surviving order" in note
    assert "the bound itself is rejected" in note
    assert "leading_term_vanishes" not in sharp.details


def test_a_slope_between_the_orders_has_no_failure_note():
    _, _, sharp = _results(-0.6)
    assert sharp.accepted and "note" not in sharp.details


def test_between_the_first_order_and_the_surviving_ones_says_the_cancellation_shows():
    """A linear antisymmetric d = 2 configuration (quick budget) moved like N^-0.86 against the
    surviving orders [-1.5, -1] with the first-order rival -0.5 rejected; the note said "the
    cancellation of the first-order term does not show", which its own rival contradicted."""
    _, bound, sharp = _results(-0.38)  # window below -1/4 (rejects it), above -1/2 (slowest)
    assert sharp.verdict == "fail" and bound.verdict == "pass"
    assert sharp.rivals[0].rejected  # the first-order rate -1/4 of this test
    note = sharp.details["note"]
    assert "slower than every surviving order" in note and "the cancellation of the " \
        "first-order term shows" in note and "does not show" not in note
    assert "the bound itself is accepted" in note


def test_a_window_holding_the_first_order_still_says_the_cancellation_does_not_show():
    _, _, sharp = _results(-0.27)
    assert sharp.verdict == "fail" and not sharp.rivals[0].rejected
    assert "does not show at this budget" in sharp.details["note"]
