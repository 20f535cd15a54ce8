"""The three-valued verdict of a check (proofs_check.result): PASS only when the claim's own test
accepts it *and* it names rivals and rejects every one of them; a claim with no rival, or with a
rival it cannot reject, is inconclusive however well it fits; a rejected claim fails."""

from __future__ import annotations

import dataclasses
import json

from hypothesis import given
from hypothesis import strategies as st

from proofs_check.result import CheckResult, Rival, failed_result, result_to_dict


def _check(accepted: bool, rejected: tuple[bool, ...]) -> CheckResult:
    rivals = tuple(Rival(f"rival {i}", -0.25 * i, -0.5, outcome, "synthetic")
                   for i, outcome in enumerate(rejected))
    return CheckResult(name="synthetic", claim="error = O(N^-1/2)", equation="", quantity="slope",
                       prediction=-0.5, measured=-0.5, ci=(-0.6, -0.4), tolerance=0.1,
                       tolerance_source="test", accepted=accepted, rivals=rivals)


@given(st.booleans(), st.lists(st.booleans(), max_size=5).map(tuple))
def test_the_verdict_is_pass_only_when_accepted_with_every_named_rival_rejected(accepted,
                                                                               rejected):
    check = _check(accepted, rejected)
    if not accepted:
        expected = "fail"
    elif rejected and all(rejected):
        expected = "pass"
    else:  # no rival at all, or one the data cannot reject
        expected = "inconclusive"
    assert check.verdict == expected
    assert check.passed == (expected == "pass")
    assert check.unrejected == tuple(r for r, out in zip(check.rivals, rejected, strict=True)
                                     if not out)
    record = result_to_dict(check)
    assert record["verdict"] == expected and record["passed"] == (expected == "pass")
    assert [r["verdict"] for r in record["rivals"]] == [
        "rejected" if out else "not rejected" for out in rejected]


def test_an_accepted_claim_without_rivals_is_inconclusive_not_pass():
    assert _check(True, ()).verdict == "inconclusive"


def test_a_check_that_could_not_run_fails():
    result = failed_result("memory_contraction", "claim", "eq", "ImportError: numba")
    assert result.verdict == "fail" and result_to_dict(result)["details"] == {
        "error": "ImportError: numba"}


def test_non_finite_numbers_are_written_as_strict_json():
    """results.json stays strict JSON (no bare NaN / Infinity tokens, which json.loads of other
    languages refuse): non-finite floats become the strings "nan", "inf", "-inf"."""
    check = dataclasses.replace(_check(True, (True,)), measured=float("nan"),
                                ci=(float("-inf"), float("inf")))
    text = json.dumps(result_to_dict(check), allow_nan=False)  # raises on a bare NaN
    record = json.loads(text)
    assert record["measured"] == "nan" and record["ci"] == ["-inf", "inf"]
