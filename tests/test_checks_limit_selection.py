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


def test_truncation_tail_is_the_tail_of_its_profile():
    """numerics.truncation.truncation_tail: for differences that follow the profile
    C (j - 1) rho^j exactly, the tail from either level is the sum of the profile beyond L,
    summed term by term here (not the closed form of the code); the plain geometric tail
    C' rho^j would be smaller."""
    rho, C = 0.5, 1.3

    def diff(j: int) -> float:
        return C * (j - 1) * rho**j

    exact = math.fsum(diff(j) for j in range(5, 400))  # sum_{j > 4}
    diffs = {3: diff(3), 4: diff(4)}
    assert truncation_tail(diffs, 4, rho, first_valid=3) == pytest.approx(exact, rel=1e-12)
    assert truncation_tail({5: diff(5)}, 4, rho) == pytest.approx(exact, rel=1e-12)
    assert diff(4) * rho / (1 - rho) < exact  # the geometric profile from level 4 falls short
    # one accidentally small difference does not pass for convergence: the earlier level wins
    assert truncation_tail({3: diff(3), 4: 1e-9}, 4, rho, 3) == pytest.approx(exact, rel=1e-12)
    # a level below first_valid is not used while a valid one exists
    assert truncation_tail({3: 1.0, 4: diff(4)}, 4, rho, 4) == pytest.approx(exact, rel=1e-12)
    assert truncation_tail({}, 1, rho, 2) == math.inf


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
    assert "truncation ((L - 1) rho^L tail) 9e-05" in note and "trapezoid step 0.1" in note
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
        # levels q + 2 (the first whose words are both long enough for the target) up to L,
        # and q + 3 when L = q + 2 (two valid levels; numerics.limit.truncation_mode)
        levels = set(range(first_valid, max(L, first_valid + 1) + 1))
        assert set(info["differences"][sense]) == levels
        tail = truncation_tail(info["differences"][sense], L, info["rho"], first_valid)
        assert info[f"truncation_{sense}"] == tail
        assert info[f"delta_{sense}"] == pytest.approx(
            total_error(result.error_estimates, truncation=tail), rel=1e-12)
    assert info["truncation_words"] < info["truncation_path"]


def _two_state_context(cap: int):
    """The two-state test chain with the config's word length cap ``cap``, the quick budget."""
    from test_limit import TWO_STATE_TANH  # same tests/ directory (pytest prepend)

    from derivations.inputs.config import parse_config
    from proofs_check.budget import get_budget
    from proofs_check.cache import Cache
    from proofs_check.checks import CheckContext

    text = TWO_STATE_TANH.replace("word_length = 4", f"word_length = {cap}")
    return CheckContext(parse_config(text), get_budget("quick"), Cache(None, salt="t"), seed=0)


def test_the_ladder_refines_the_limit_when_its_errors_ask_for_it():
    """Issue 17, item 3 (checks._limit.refined_limit): once the ladder has run, each statistic
    asks delta <= LIMIT_SHARE x its error at the largest N. Errors so small that the budget's
    length falls short: the shortest longer length meeting both targets (here the cap, which
    does not), as its own cached job; errors large enough, or the budget's length already at the
    cap: the budget's limit itself, unchanged."""
    from proofs_check.checks._limit import LIMIT_SHARE, limit_on_words, refined_limit

    context = _two_state_context(cap=8)
    budget_limit = limit_on_words(context)
    L0 = int(budget_limit["L"])
    assert L0 < 8 and float(budget_limit["delta"]) <= context.budget.limit_accuracy
    tiny = {"path": 1e-6, "words": 1e-6}  # targets 2e-7: beyond any length up to the cap
    refined, choice = refined_limit(context, budget_limit, tiny)
    assert choice["refined"] and choice["first"] == (L0, float(budget_limit["delta"]))
    assert choice["targets"] == {"path": LIMIT_SHARE * 1e-6, "words": LIMIT_SHARE * 1e-6}
    assert int(refined["L"]) == 8  # none meets 2e-7: the cap
    assert min(int(k) for k in refined["tried_L"]) == L0 + 1  # the shorter ones already missed
    assert float(refined["delta_path"]) < float(budget_limit["delta_path"])
    # a target the next length meets: the shortest such, not the cap
    between = 0.5 * (float(budget_limit["delta_path"]) + float(refined["delta_path"]))
    middle, _ = refined_limit(context, budget_limit,
                              {"path": between / LIMIT_SHARE, "words": between / LIMIT_SHARE})
    assert L0 < int(middle["L"]) <= 8
    assert float(middle["delta_path"]) <= between and float(middle["delta_words"]) <= between
    # large errors: the budget's limit is enough
    same, choice = refined_limit(context, budget_limit, {"path": 1.0, "words": 1.0})
    assert same is budget_limit and not choice["refined"]
    # the budget's length at the cap: nothing longer to try
    capped = _two_state_context(cap=L0)
    at_cap = limit_on_words(capped)
    same, choice = refined_limit(capped, at_cap, tiny)
    assert same is at_cap and not choice["refined"]


def test_accuracy_note_says_what_the_ladder_asked():
    """The note states the target the measured error asks for and whether it is met; after a
    refinement it names the budget's first choice."""
    met = accuracy_note(1e-4, 5e-4, 5, 8, "standard", ladder=(4e-4, 2e-3, None))
    assert "asks delta <= 0.0004 (20% of it): met" in met and "meets the standard" in met
    capped = accuracy_note(7e-4, 5e-4, 6, 6, "standard", ladder=(4e-4, 2e-3, None))
    assert "not met at the config's word length cap" in capped
    refined = accuracy_note(2e-4, 5e-4, 7, 8, "standard", {7: 2e-4}, ladder=(4e-4, 2e-3,
                                                                            (6, 4.5e-4)))
    assert "refined for the measured errors" in refined and "gave L = 6 (delta 0.00045)" in refined
    assert "L = 7: 0.0002" in refined and refined.endswith("met")
    # a diverged ladder (non-finite error at the largest N) asks nothing, and says why: no
    # "asks delta <= nan", no hint that no word length meets a target that does not exist
    diverged = accuracy_note(7e-4, 5e-4, 6, 6, "standard",
                             ladder=(float("nan"), float("nan"), None), hint="HINT")
    assert diverged.endswith("the error measured at the largest N is not finite (the network "
                             "diverged: see divergence), so it asks no accuracy of the limit")
    assert "nan" not in diverged and "HINT" not in diverged and "asks delta" not in diverged


def test_main_theorem_runs_on_the_refined_limit(monkeypatch):
    """End to end (tiny budget): with LIMIT_SHARE lowered so that the measured errors ask more
    than the budget's length gives, the main theorem and the frozen network run on the refined
    limit at the config's cap, and their details and notes say so."""
    import proofs_check.checks._limit as limit_module
    from derivations.inputs.config import with_overrides
    from proofs_check.budget import TINY
    from proofs_check.cache import Cache
    from proofs_check.checks import CheckContext, main_theorem

    cap = 6  # the tiny budget's accuracy 1e-2 is met by a shorter length
    config = with_overrides(load_config(None), word_length=cap)
    context = CheckContext(config, TINY, Cache(None, salt="refine"), seed=0)
    monkeypatch.setattr(limit_module, "LIMIT_SHARE", 1e-6)
    results = main_theorem.run(context)
    names = {r.name for r in results}
    assert {"main_theorem", "frozen_network"} <= names
    for result in results:
        details = result.details
        assert details["limit_refined"] and details["word_length"] == cap
        assert details["limit_budget_choice"]["L"] < cap
        assert "refined for the measured errors" in details["note"]
        assert "not met at the config's word length cap" in details["note"]


def test_d3_climbs_the_sobol_ladder_only_where_it_can_decide(monkeypatch):
    """d > 2 (select_limit's screen): each L is solved with the first Sobol rung, and the
    ladder (16 times its cost at the finest rung) is climbed only at the cap or where delta
    without its quadrature part meets the target. Here (lag 0, cap L = 3, a target out of
    reach) L = 2 gets the first rung alone, L = 3 the first rung and then the ladder, whose
    finest rule is returned: the same limit as a direct solve with the ladder at L = 3.
    A target that the first rung meets at L = 2 is taken there, with no climb at all."""
    from numerics.quadrature import settings_ladder
    from proofs_check.checks import _limit

    config = load_config("examples/three_dimensional_inputs.toml",
                         ["target.expression=x0_1 + x0_2", "limit.word_length=3"])
    times = (1.0,)
    calls = []
    real = _limit.solve_limit

    def spy(config, L, **kwargs):
        calls.append((L, "settings" in kwargs, "kernel_accuracy" in kwargs))
        return real(config, L, **kwargs)

    monkeypatch.setattr(_limit, "solve_limit", spy)
    result, delta, info = select_limit(config, 1e-9, times)
    assert calls == [(2, True, False), (3, True, False), (3, False, True)]
    assert result.problem.word_length == 3 and delta > 1e-9
    assert result.kernel.rule_sizes["sobol"] == 2**settings_ladder(3)[-1].sobol_log2 == 2**18
    direct = real(config, 3, times=times, truncation="previous",
                  kernel_accuracy=_limit.KERNEL_SHARE * 1e-9)
    assert np.array_equal(result.g, direct.g) and np.array_equal(result.kernel.K, direct.kernel.K)
    first = info["tried"][2]
    calls.clear()
    result, delta, _ = select_limit(config, first, times)  # met at L = 2 by the first rung
    assert calls == [(2, True, False)] and result.problem.word_length == 2 and delta == first
    assert result.kernel.rule_sizes["sobol"] == 2**14
