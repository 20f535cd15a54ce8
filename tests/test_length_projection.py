"""The word length a limit-accuracy target asks (issue 17, item 3: the report tells the user
what it chose and why): numerics.truncation.length_for_tail projects the (j - 1) rho^j tail
profile; proofs_check.checks._word_length.needed_length and length_hint turn it into the
report's and ``rnnkl limit --accuracy``'s advice."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from derivations.inputs.config import load_config, with_overrides
from numerics.costs import MemoryCap, format_bytes, limit_request_bytes, physical_memory
from numerics.truncation import length_for_tail, truncation_tail
from proofs_check.checks._limit import accuracy_note, select_limit, time_grid
from proofs_check.checks._word_length import (
    difference_arrays,
    length_hint,
    measured_differences,
    needed_length,
)


def _profile_tail(C: float, rho: float, L: int) -> float:
    """sum_{j > L} C (j - 1) rho^j, summed term by term (not the code's closed form)."""
    return math.fsum(C * (j - 1) * rho**j for j in range(L + 1, L + 20_000))


@given(rho=st.floats(0.05, 0.95), C=st.floats(1e-3, 10.0), L=st.integers(3, 10),
       target=st.floats(1e-10, 1.0))
def test_projection_is_where_the_profile_tail_meets_the_target(rho, C, L, target) -> None:
    """Differences on the profile C (j - 1) rho^j: the projected length is the shortest L' >= L
    whose term-by-term tail is <= target (relative slack 1e-9 for the two summations)."""
    diffs = {j: C * (j - 1) * rho**j for j in (L - 1, L)}
    needed = length_for_tail(diffs, L, rho, target, first_valid=2)
    assert needed is not None and needed >= L
    assert _profile_tail(C, rho, needed) <= target * (1 + 1e-9)
    assert needed == L or _profile_tail(C, rho, needed - 1) > target * (1 - 1e-9)


def test_projection_at_the_measured_length_is_the_estimate() -> None:
    """At L the projection is truncation_tail's own estimate (its measured levels): a target
    equal to it is met at L, a slightly smaller one asks for a longer length; no projection
    without a level or a positive finite target."""
    rho, diffs = 0.6, {4: 3e-3, 5: 1e-3}
    estimate = truncation_tail(diffs, 5, rho)
    assert length_for_tail(diffs, 5, rho, estimate) == 5
    assert length_for_tail(diffs, 5, rho, 0.99 * estimate) == 6
    for target in (0.0, -1.0, float("nan"), float("inf")):
        assert length_for_tail(diffs, 5, rho, target) is None
    assert length_for_tail({}, 5, rho, 1e-3) is None


def test_a_large_measured_level_is_kept_while_the_estimate_uses_it() -> None:
    """The d = 2 example's path sense at L = 6 (numbers measured there): level 5's difference
    dominates the estimate at L = 6, which misses the target; the profile anchored at level 6
    alone would meet it at 6. The projection keeps level 5 while the estimate at L' would use it
    (L' = 6) and asks L = 7, where the next estimate uses levels 6 and 7 only."""
    rho, diffs, target = 0.6, {5: 7.63e-4, 6: 1.76e-4}, 5.6e-4 - 7.3e-6
    assert truncation_tail(diffs, 6, rho) > target  # the estimate at L = 6 misses
    assert truncation_tail({6: diffs[6]}, 6, rho) <= target  # level 6 alone would not
    assert length_for_tail(diffs, 6, rho, target) == 7
    profile_7 = diffs[6] * 6 / 5 * rho  # level 7 on the profile from level 6
    assert truncation_tail({6: diffs[6], 7: profile_7}, 7, rho) <= target


def test_needed_length_subtracts_the_other_parts_and_takes_the_longest_sense() -> None:
    """delta = other parts + tail: the tail must meet target - other parts; a target below the
    other parts cannot be met by any length; a met target asks for L itself."""
    rho, L = 0.5, 5
    diffs = {"path": {4: 2e-3, 5: 1e-3}, "words": {4: 2e-4, 5: 1e-4}}
    tails = {s: truncation_tail(d, L, rho) for s, d in diffs.items()}
    other = 9e-5  # leaves the tail 1e-5 of the target 1e-4
    deltas = {s: other + t for s, t in tails.items()}
    targets = {"path": 1e-4, "words": 1e-4}
    expected = max(length_for_tail(diffs["path"], L, rho, 1e-4 - other),
                   length_for_tail(diffs["words"], L, rho, 1e-4 - other))
    assert needed_length(diffs, rho, 0, L, deltas, tails, targets) == expected > L
    # ignoring the other parts would ask less of the tail: a strictly different answer here
    assert length_for_tail(diffs["path"], L, rho, 1e-4) < expected
    assert needed_length(diffs, rho, 0, L, deltas, tails, {"path": 1.0, "words": 1.0}) == L
    assert needed_length(diffs, rho, 0, L, deltas, tails, {"path": 0.5 * other,
                                                           "words": 1.0}) is None
    no_tail = dict.fromkeys(diffs, float("inf"))
    assert needed_length(diffs, rho, 0, L, no_tail, no_tail, targets) is None


def test_differences_round_trip_through_the_cache_arrays() -> None:
    diffs = {"path": {3: 1e-2, 4: 5e-3}, "words": {4: 2e-4}, "average": {3: 9.0}}
    arrays = difference_arrays(diffs)
    assert list(arrays["difference_levels"]) == [3, 4]
    assert measured_differences(arrays) == {"path": {3: 1e-2, 4: 5e-3}, "words": {4: 2e-4}}


def test_length_hint_names_the_length_its_size_and_whether_it_fits() -> None:
    config = load_config(None)  # m = 3
    roomy = MemoryCap(2**50, "test")
    near = length_hint(config, 7, cap=roomy)
    peak = limit_request_bytes(config, 7, truncation="previous")
    assert "at L = 7 (3^7 = 2.19e+03 words" in near and near.endswith(
        "raise [limit] word_length to 7")
    assert 2**20 < peak < physical_memory() or physical_memory() == 0
    if 0 < physical_memory():  # over the cap but within the machine: raise the cap too
        tight = length_hint(config, 7, cap=MemoryCap(2**20, "test"))
        assert tight.endswith(f"raise [limit] word_length to 7 and the memory cap (now 1 MiB, "
                              f"test) to at least {format_bytes(peak)}")
    far = length_hint(config, 60, "--word-length", groups=False)
    assert "3^60" in far and "more than this machine's memory" in far or physical_memory() == 0
    assert "--word-length to" not in far
    assert "no word length meets it" in length_hint(config, None)
    capped = accuracy_note(7e-4, 5e-4, 6, 6, "standard", ladder=(4e-4, 2e-3, None), hint=near)
    assert capped.endswith("not met at the config's word length cap; " + near)


def test_projection_on_the_default_config_lands_near_the_measured_length() -> None:
    """Measured, not promised: on the default config (rho = 1/2) the projection from the
    levels up to L0 = 5 of the target the estimate itself met at L0 + 1 and L0 + 2 lands
    0-3 lengths past that length (the profile is an upper envelope of the measured differences;
    numerics.truncation.length_for_tail). A projection anchored at the wrong level, with the
    wrong power of rho or without the (j - 1) factor misses this window."""
    config = with_overrides(load_config(None), word_length=7)
    horizon = float(config.training.horizon)
    _, _, info = select_limit(config, 1e-12, tuple(np.append(time_grid(horizon), horizon)))
    rho, first_valid = info["rho"], int(config.target.lag) + 2
    for sense in ("path", "words"):
        measured = info["differences"][sense]
        known = {j: v for j, v in measured.items() if j <= 5}
        for reached in (6, 7):
            target = truncation_tail({j: v for j, v in measured.items() if j <= reached},
                                     reached, rho, first_valid)
            needed = length_for_tail(known, 5, rho, target, first_valid)
            assert needed is not None and reached <= needed <= reached + 3, (sense, reached)


def test_rnnkl_limit_accuracy_out_of_reach_names_the_length(tmp_path, capsys) -> None:
    """``rnnkl limit --accuracy`` beyond the word length given: the JSON's
    "needed_word_length" is the projection of needed_length and the line says it."""
    import json

    from proofs_check.cli import main

    out = tmp_path / "limit.json"
    assert main(["limit", "--accuracy", "1e-6", "--word-length", "5", "--times", "1",
                 "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    choice, senses = doc["word_length_choice"], ("path", "words")
    assert choice["met"] is False
    expected = needed_length(
        {s: {int(j): v for j, v in choice["differences"][s].items()} for s in senses},
        choice["rho"], 1, 5, {s: choice[f"delta_{s}"] for s in senses},
        {s: doc["error_estimates"][f"truncation_{s}"] for s in senses},
        dict.fromkeys(senses, 1e-6))
    assert choice["needed_word_length"] == expected and expected > 5
    err = capsys.readouterr().err
    assert f"meets it at L = {expected} (3^{expected}" in err
