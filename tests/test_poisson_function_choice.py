"""The Poisson checks' function F(u) = (ybar(u) - g_t(u)) A(x*, u) (checks.poisson_fluctuations).
x* was the most probable word, whatever its kernel row: on an erf network without recurrence
(b = 0, c and w trained) over a chain whose most probable state is 0, A(x*, .) = 0 (S = erf(0)
= 0, G^w = erf'(0) 0), F = 0 on every word, the drift fluctuation was 0 at every N and
poisson_drift_sharpness FAILED for a reason the configuration, not the theory, supplied. x* is
now the most probable word whose F is not constant; and where no F is (a zero target), the
drift uses the pathwise identity's next candidate function, as that check already did."""

from __future__ import annotations

import numpy as np

from derivations.inputs.files import load_layers
from proofs_check.budget import TINY
from proofs_check.cache import Cache
from proofs_check.checks import CheckContext, poisson_fluctuations
from proofs_check.checks._poisson_functions import constant_on_words, proof_function

ZERO_STATE_MOST_PROBABLE = [
    'chain.states=[[-1.0], [0.0], [2.0]]',
    'chain.transition=[["1/2","1/2","0"],["1/4","1/2","1/4"],["0","1/2","1/2"]]',
    'target.expression=x0**2', 'network.activation=erf', 'network.beta=0.55',
    'network.trainable=["c", "w"]', 'init.b_max=0.0']


def _context(assignments: list[str]) -> CheckContext:
    return CheckContext(load_layers(None, assignments).config, TINY,
                        Cache(None, salt="poisson-function"), seed=0)


def test_the_most_probable_word_with_a_non_constant_f_is_chosen():
    pi_L = np.array([0.1, 0.4, 0.4, 0.1])  # a tie: the lower index (1) comes first
    residual = np.array([1.0, -2.0, 0.5, 3.0])
    K = np.array([[1.0, 0.2, 0.3, 0.1],
                  [0.0, 0.0, 0.0, 0.0],  # word 1: A(x, .) = 0, F = 0
                  [0.3, 0.1, 2.0, 0.4],
                  [0.1, 0.0, 0.4, 1.0]])
    assert np.array_equal(proof_function(pi_L, residual, K), residual * K[2])
    K[1] = [0.5, 0.6, 0.1, 0.2]  # now word 1 has a non-constant F and wins the tie
    assert np.array_equal(proof_function(pi_L, residual, K), residual * K[1])


def test_a_zero_residual_keeps_the_most_probable_word():
    pi_L = np.array([0.2, 0.5, 0.3])
    F = proof_function(pi_L, np.zeros(3), np.eye(3) + 0.1)
    assert np.array_equal(F, np.zeros(3))


def test_the_drift_is_not_zero_where_the_most_probable_words_kernel_row_is():
    from proofs_check.checks._limit import limit_on_words

    context = _context(ZERO_STATE_MOST_PROBABLE)
    limit = limit_on_words(context)
    star = int(np.argmax(limit["pi_L"]))
    assert np.all(limit["K"][star] == 0.0)  # the configuration's premise: the old x* had A = 0
    _, _, _, F, _ = poisson_fluctuations._problem(context)
    assert not constant_on_words(F)
    results = {r.name: r for r in poisson_fluctuations.run(context)}
    drift, sharp = results["poisson_drift"], results["poisson_drift_sharpness"]
    assert np.isfinite(drift.measured) and drift.measured < 0.0  # it decays, not exactly 0
    assert "exactly 0" not in sharp.details.get("note", "")
    assert drift.details["function"].startswith("the proof's F")


def test_a_zero_target_drift_uses_the_pathwise_candidate_and_says_so():
    context = _context(['target.expression=0'])
    results = {r.name: r for r in poisson_fluctuations.run(context)}
    for name in ("poisson_pathwise", "poisson_drift", "poisson_drift_sharpness"):
        details = results[name].details
        assert not details["function"].startswith("the proof's F"), name
        assert "the proof's F is constant on the words" in details["note"], name
    drift = results["poisson_drift"]
    assert np.isfinite(drift.measured) and drift.verdict != "fail"
