"""kernel_at_init's own arithmetic, recomputed from what it was handed.

The check draws N units per replica, builds the empirical kernel A^N on spread words, and fits
the RMS over word pairs of A^N - A (and of A^N minus each rival kernel "A without one term")
against N. Its end-to-end tests (tests/test_checks_mutants.py) change the kernel and watch the
verdict; these tests record every empirical kernel the check computed and recompute, without
the check's code:
- that each (N, replica) has units of its own (no N reuses a smaller N's draws, which would
  correlate the ladder's levels and void the fit's independent-level interval);
- the claim's per-N RMS, sqrt(mean_r mean_{u,v} (A^N - A)^2), in the figure and the details;
- each rival's per-N RMS, with the rival kernel A - A_g for every trainable group g;
- the allowance: 0 when A's quadrature error is 0 (E[e] = V/N exactly for i.i.d. units);
- the replica count stated on every ladder row, and the quadrature error reported.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from check_references import (
    assert_units_of_their_own,
    spread_word_indices,
    spread_word_inputs,
)

from derivations.inputs.config import load_config
from numerics.kernel import kernel_on_words, spec_from_config
from proofs_check.budget import TINY
from proofs_check.cache import Cache
from proofs_check.checks import CheckContext, kernel_at_init
from proofs_check.stats import fit_rate

LADDER = (16, 32, 64)
REPLICAS = 8
WORD_LENGTH = 3
WORDS = 7  # spread over 27 words: 4 = (0, 1, 1) and others not palindromes


def _context(salt: str) -> CheckContext:
    budget = dataclasses.replace(TINY, init_ladder=LADDER, init_replicas=REPLICAS,
                                 init_word_length=WORD_LENGTH, init_words=WORDS)
    return CheckContext(load_config(None), budget, Cache(None, salt=salt), seed=3)


def _by_hand_kernel(config, c, w, b, inputs) -> np.ndarray:
    """theory.md §2-3 by hand (tanh, d = 1, every group trained): run each word from
    S = G = 0, oldest symbol first, and average S S' + c^2 (G^w G^w' + G^b G^b') over units."""
    x = inputs[:, :, 0]  # (words, L), oldest symbol first (numerics.words)
    S = np.zeros((x.shape[0], c.size))
    Gw = np.zeros_like(S)
    Gb = np.zeros_like(S)
    for k in range(x.shape[1]):
        z = x[:, k, None] * w[None, :, 0] + b[None, :] * S
        slope = 1.0 - np.tanh(z) ** 2
        Gw, Gb = slope * (x[:, k, None] + b * Gw), slope * (S + b * Gb)
        S = np.tanh(z)
    return (S @ S.T + (Gw * c**2) @ Gw.T + (Gb * c**2) @ Gb.T) / c.size


@pytest.fixture(scope="module")
def recorded():
    """Run the check once, recording every (units, words, A^N) it computed."""
    calls: list[tuple] = []
    real = kernel_at_init.empirical_kernel

    def recording(config, c, w, b, inputs, *args, **kwargs):
        K = real(config, c, w, b, inputs, *args, **kwargs)
        calls.append((c.copy(), w.copy(), b.copy(), inputs.copy(), K.copy()))
        return K

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kernel_at_init, "empirical_kernel", recording)
        context = _context("kernel-at-init-recorded")
        bound, sharp = kernel_at_init.run(context)
    return context, calls, bound, sharp


def _references(context):
    select = np.array(spread_word_indices(context.config.chain.m**WORD_LENGTH, WORDS))
    result = kernel_on_words(spec_from_config(context.config), WORD_LENGTH, select=select)
    return result, spread_word_inputs(context.config, WORD_LENGTH, WORDS)


def test_every_replica_at_every_n_draws_units_of_its_own(recorded):
    _, calls, _, _ = recorded
    assert_units_of_their_own([c for c, *_ in calls], LADDER, REPLICAS)


def test_the_empirical_kernels_are_the_recursion_on_the_chosen_words(recorded):
    context, calls, _, _ = recorded
    _, inputs = _references(context)
    assert any((words != words[::-1]).any() for words in inputs)  # the order matters
    for c, w, b, words, K in calls[::REPLICAS]:  # one replica per N is enough
        np.testing.assert_array_equal(words, inputs)
        np.testing.assert_allclose(K, _by_hand_kernel(context.config, c, w, b, words),
                                   rtol=1e-12, atol=1e-14)


def _squared(calls, reference: np.ndarray) -> np.ndarray:
    """Per (N, replica): mean over word pairs of (A^N - reference)^2, shape (levels, R)."""
    return np.array([np.mean((K - reference) ** 2) for *_, K in calls]).reshape(
        len(LADDER), REPLICAS)


def _rms(calls, reference: np.ndarray) -> np.ndarray:
    return np.sqrt(_squared(calls, reference).mean(axis=1))


def _slope(calls, reference: np.ndarray) -> float:
    """The rate fit's slope of the RMS (proofs_check.stats.fit_rate, itself checked against
    numpy's weighted polyfit in tests/test_report_stats.py) on the recomputed errors."""
    return fit_rate(np.array(LADDER), _squared(calls, reference), power=2).slope


def test_the_claim_and_every_rival_fit_the_rms_distance_to_their_own_kernel(recorded):
    context, calls, bound, sharp = recorded
    result, _ = _references(context)
    A = result.K
    claim_rms = _rms(calls, A)
    np.testing.assert_allclose(bound.details["rms_error"], claim_rms, rtol=1e-12)
    rate = next(f for f in bound.figures if f.kind == "rate")
    np.testing.assert_allclose(rate.series["error"], claim_rms, rtol=1e-12)
    assert bound.measured == sharp.measured == pytest.approx(_slope(calls, A), rel=1e-9)
    # One rival per trainable group (none vanishes on the default), each on A - A_g.
    names = {f"A^N converges to A without its {g} term" for g in ("c", "w", "b")}
    assert names <= {r.name for r in bound.rivals}
    for g in ("c", "w", "b"):
        name = f"A^N converges to A without its {g} term"
        rival_rms = _rms(calls, A - result.by_group[g])
        rival = next(r for r in bound.rivals if r.name == name)
        np.testing.assert_allclose(rate.series[f"rival: {name}: {rival.verdict}"], rival_rms,
                                   rtol=1e-12)
        assert rival.measured == pytest.approx(_slope(calls, A - result.by_group[g]),
                                               rel=1e-9)
    assert [row.replicas for row in bound.ladder] == [REPLICAS] * len(LADDER)
    assert [row.replicas for row in sharp.ladder] == [REPLICAS] * len(LADDER)
    assert result.error > 0 and bound.details["quadrature_error"] == result.error


def test_no_allowance_when_the_limit_kernel_is_exact(monkeypatch):
    """A with error estimate 0: E[e] = V/N exactly, so nothing widens the slope's interval:
    the window is the interval itself and the allowance 0."""
    real = kernel_at_init.kernel_on_words

    def exact(*args, **kwargs):
        return dataclasses.replace(real(*args, **kwargs), error=0.0)

    monkeypatch.setattr(kernel_at_init, "kernel_on_words", exact)
    bound, sharp = kernel_at_init.run(_context("kernel-at-init-exact"))
    for result in (bound, sharp):
        assert result.details["quadrature_allowance"] == 0.0
        assert result.details["allowance"] == 0.0
        assert result.details["quadrature_error"] == 0.0
