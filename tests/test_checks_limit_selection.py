"""Word length of the report's limit, chosen from the accuracy the budget needs
(checks._limit.select_limit): smallest sufficient L, never above the config's, and the
rho^L extrapolation of the truncation error."""

from __future__ import annotations

import math

import numpy as np
import pytest

from derivations.inputs.config import load_config
from numerics.limit import truncation_tail
from proofs_check.checks._limit import (
    accuracy_note,
    select_limit,
    time_grid,
)


def _times(config):
    horizon = float(config.training.horizon)
    return tuple(np.append(time_grid(horizon), horizon))


def test_truncation_tail_is_the_geometric_tail():
    rho = 0.5
    diffs = {3: 0.08, 4: 0.04}  # exactly C rho^j with C = 0.64
    # tail sum_{j > 4} C rho^j = C rho^5 / (1 - rho) = 0.04
    assert truncation_tail(diffs, 4, rho, first_valid=3) == pytest.approx(0.04)
    # one accidentally small difference does not pass for convergence: the earlier level wins
    assert truncation_tail({3: 0.08, 4: 1e-9}, 4, rho, 3) == pytest.approx(0.04)
    assert truncation_tail({}, 1, rho, 2) == math.inf
    # the difference to the next length (diff_{L+1} = C rho^5 = 0.02): tail 0.02 / (1 - rho)
    assert truncation_tail({5: 0.02}, 4, rho) == pytest.approx(0.04)


def test_smallest_sufficient_word_length_and_cap():
    config = load_config(None)  # d = 1, rho = 1/2, lag 1, config L = 6
    loose, delta_loose, info = select_limit(config, 1e-2, _times(config))
    tight, delta_tight, _ = select_limit(config, 1e-12, _times(config))
    assert loose.problem.word_length < tight.problem.word_length == 6  # capped at the config's
    assert delta_loose <= 1e-2 and delta_tight > 1e-12  # tight: not met, config L used
    L = loose.problem.word_length
    assert L >= int(config.target.lag) + 2
    assert all(info["tried"][j] > 1e-2 for j in info["tried"] if j < L)  # smallest such L


def test_no_recurrence_needs_no_longer_words():
    config = load_config("examples/erf_no_recurrence.toml")  # rho = 0, lag 0
    result, delta, _ = select_limit(config, 1e-10, _times(config))
    assert result.problem.word_length == 2 and delta < 1e-10


def test_accuracy_note_says_whether_the_target_is_met():
    met = accuracy_note(1e-4, 5e-4, 5, 6, "standard")
    assert "meets" in met and "L = 5" in met
    missed = accuracy_note(1.4e-3, 5e-4, 6, 6, "standard")
    assert "exceeds" in missed and "word_length" in missed and "0.0014" in missed


def test_accuracy_note_tells_what_was_chosen_and_why():
    """Issue 17, item 3: the note names the shorter lengths that missed the target (with their
    delta), the truncation share of delta, the kernel's rule, and delta as a share of the
    measured error at the largest N (1e-4 / 2e-3 = 5%)."""
    note = accuracy_note(1e-4, 5e-4, 5, 6, "standard", {3: 2e-3, 4: 7e-4, 5: 1e-4}, 9e-5,
                         "trapezoid step 0.1", 2e-3)
    assert "L = 5 is the shortest" in note and "L = 3: 0.002" in note and "L = 4: 0.0007" in note
    assert "L = 5: 0.0001" not in note  # the chosen length is not listed as a miss
    assert "truncation (rho^L tail) 9e-05" in note and "trapezoid step 0.1" in note
    assert "5.0% of the measured error at the largest N (0.002)" in note
    plain = accuracy_note(1e-4, 5e-4, 5, 6, "standard")
    assert "shortest" not in plain and "%" not in plain
    unknown = accuracy_note(float("inf"), 5e-4, 1, 1, "standard", {1: float("inf")},
                            float("inf"), "", 2e-3)  # one length: no truncation estimate
    assert "exceeds" in unknown and "%" not in unknown and "truncation" not in unknown


def test_each_check_gets_the_delta_of_its_own_sense():
    """select_limit (numerics.truncation's senses): delta, the word-length criterion, is the
    larger of delta_path (the main theorem's path statistic) and delta_words (the frozen
    network on words); each is the error terms plus the geometric tail of its own sense's
    differences; on the default config the two senses differ (words below path), so neither
    could stand in for the other."""
    from numerics.limit import total_error

    config = load_config(None)
    result, delta, info = select_limit(config, 1e-3, _times(config))
    L = result.problem.word_length
    assert delta == max(info["delta_path"], info["delta_words"]) == info["tried"][L]
    first_valid = int(config.target.lag) + 2
    for sense in ("path", "words"):
        assert set(info["differences"][sense]) == set(range(2, L + 1))
        tail = truncation_tail(info["differences"][sense], L, info["rho"], first_valid)
        assert info[f"truncation_{sense}"] == tail
        assert info[f"delta_{sense}"] == pytest.approx(
            total_error(result.error_estimates, truncation=tail), rel=1e-12)
    assert info["truncation_words"] < info["truncation_path"]
