"""output_at_init's own arithmetic, recomputed from the outputs it computed.

The check draws N units per replica, runs the frozen network on spread words of length L and
fits the RMS of f^N_0 over words and replicas against N (or, when f_0 = 0 exactly, takes the
max |f_0| of the network and of its rival). Its end-to-end tests (tests/test_checks_mutants.py,
tests/test_vanishing_terms.py) change the network and watch the verdict; these tests record
every output the check computed and recompute, without the check's code:
- that each (N, replica) has units of its own (no N reuses a smaller N's draws);
- the outputs, by hand (theory.md §2: the words read oldest symbol first from S = 0, the output
  after the last symbol, N^-beta sum_i c^i S^i);
- the per-N RMS, sqrt(mean_r mean_words f_0^2), in the figure and the details, and its
  weighted log-log slope; the replica counts; the allowance 0 (E[f_0^2] ~ N^{1-2beta} exactly);
- with antisymmetric initialisation, the claim's and the rival's max |f_0| over every N and
  replica.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from check_references import assert_units_of_their_own, spread_word_inputs

from derivations.inputs.files import load_layers
from proofs_check.budget import TINY
from proofs_check.cache import Cache
from proofs_check.checks import CheckContext, output_at_init
from proofs_check.stats import fit_rate

LADDER = (16, 32, 64)
REPLICAS = 8
WORD_LENGTH = 3
WORDS = 7  # spread over 27 words: 4 = (0, 1, 1) and others not palindromes


def _context(assignments: list[str], salt: str) -> CheckContext:
    budget = dataclasses.replace(TINY, init_ladder=LADDER, init_replicas=REPLICAS,
                                 init_word_length=WORD_LENGTH, init_words=WORDS)
    config = load_layers(None, assignments).config
    return CheckContext(config, budget, Cache(None, salt=salt), seed=5)


def _record(assignments: list[str], salt: str, offset: dict[int, float] | None = None):
    """Run the check, recording every call of the frozen network (units, words, paired, f);
    ``offset``: N -> a constant added to the paired network's outputs at that N (a stand-in for
    a broken network)."""
    calls: list[tuple] = []
    real = output_at_init.frozen_outputs

    def recording(c, w, b, activation, beta, inputs, *, paired):
        f = real(c, w, b, activation, beta, inputs, paired=paired)
        if paired:
            f = f + (offset or {}).get(c.size, 0.0)
        calls.append((c.copy(), w.copy(), b.copy(), inputs.copy(), paired, f.copy()))
        return f

    context = _context(assignments, salt)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(output_at_init, "frozen_outputs", recording)
        result = output_at_init.run(context)
    return context, calls, result


def _by_hand_output(c, w, b, beta, inputs) -> np.ndarray:
    """f after the last symbol of each word (tanh, d = 1), read oldest first from S = 0."""
    S = np.zeros((inputs.shape[0], c.size))
    for k in range(inputs.shape[1]):
        S = np.tanh(inputs[:, k, None, 0] * w[None, :, 0] + b[None, :] * S)
    return (S @ c) * c.size ** (-beta)


@pytest.fixture(scope="module")
def default_run():
    return _record([], "output-at-init-default")


def test_every_replica_at_every_n_draws_units_of_its_own(default_run):
    _, calls, _ = default_run
    assert_units_of_their_own([c for c, *_ in calls], LADDER, REPLICAS)


def test_the_outputs_are_the_network_after_the_whole_word(default_run):
    context, calls, _ = default_run
    words = spread_word_inputs(context.config, WORD_LENGTH, WORDS)
    assert any((word != word[::-1]).any() for word in words)  # the order matters
    for c, w, b, inputs, _, f in calls[::REPLICAS]:
        np.testing.assert_array_equal(inputs, words)
        np.testing.assert_allclose(
            f[:, -1], _by_hand_output(c, w, b, context.config.network.beta, inputs),
            rtol=1e-12, atol=1e-15)


def test_the_rate_fit_is_the_rms_over_words_and_replicas(default_run):
    _, calls, (bound, sharp) = default_run
    e = np.array([np.mean(f[:, -1] ** 2) for *_, f in calls]).reshape(len(LADDER), REPLICAS)
    rms = np.sqrt(e.mean(axis=1))
    np.testing.assert_allclose(bound.details["rms"], rms, rtol=1e-12)
    rate = next(f for f in bound.figures if f.kind == "rate")
    np.testing.assert_allclose(rate.series["error"], rms, rtol=1e-12)
    # the rate fit (checked against numpy's weighted polyfit in tests/test_report_stats.py)
    slope = fit_rate(np.array(LADDER), e, power=2).slope
    assert bound.measured == sharp.measured == pytest.approx(slope, rel=1e-9)
    assert [row.replicas for row in bound.ladder] == [REPLICAS] * len(LADDER)
    assert bound.details["allowance"] == sharp.details["allowance"] == 0.0


def test_antisymmetric_claim_and_rival_take_the_max_over_every_n_and_replica():
    """f_0 = 0 exactly with mirrored pairs; the rival (the first N/2 units, unpaired) is
    nonzero. Both are the max |f_0| over all words, N and replicas: a stand-in fault at the
    smallest N only (an output 1e-6) must show in the claim's measurement and fail it."""
    context, calls, result = _record(["network.antisymmetric=true"], "output-at-init-anti")
    claim = [f for *_, paired, f in calls if paired]
    control = [f for *_, paired, f in calls if not paired]
    assert len(claim) == len(control) == len(LADDER) * REPLICAS
    assert result.accepted and result.measured == max(np.abs(f[:, -1]).max() for f in claim)
    (rival,) = result.rivals
    assert rival.rejected
    assert rival.measured == max(np.abs(f[:, -1]).max() for f in control)
    assert rival.measured > min(np.abs(f[:, -1]).max() for f in control)  # max, not a min

    _, _, faulty = _record(["network.antisymmetric=true"], "output-at-init-faulty",
                           offset={LADDER[0]: 1e-6})
    assert faulty.verdict == "fail" and faulty.measured == pytest.approx(1e-6, rel=1e-9, abs=0)
