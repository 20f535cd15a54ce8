"""What the report's tables and sentences say about one result (proofs_check.render), on
hand-made results: the summary row shows the acceptance *window* (not the slope's confidence
interval, which is narrower when an allowance widens it), numbers to four significant digits,
the pass sentence counts the rivals rejected, and an unrejected rival with no stated remedy
still says what it would need."""

from __future__ import annotations

import dataclasses

from derivations.inputs.files import load_layers
from proofs_check.budget import TINY
from proofs_check.render import summary_rows, verdict_explanation
from proofs_check.report import Report
from proofs_check.result import CheckResult, Rival

RESULT = CheckResult(
    name="rate_check", claim="decays like N^-1/2", equation="kernel",
    quantity="rate exponent", prediction=-0.5, measured=-0.523456, ci=(-0.61, -0.43),
    tolerance=0.2, tolerance_source="interval widened by 0.05", accepted=True,
    rivals=(Rival("rate 1/4 slower", -0.25, -0.523456, True, "outside the window"),
            Rival("no convergence", 0.0, -0.523456, True, "outside the window")),
    window=(-0.7234567, -0.3234567))


def test_the_summary_row_shows_the_acceptance_window_to_four_digits():
    report = Report(config=load_layers(None, []).config, budget=TINY, results=(RESULT,),
                    seconds=1.0, cache_hits=0, cache_misses=0)
    (row,) = summary_rows(report)
    assert row == ["rate_check", "rate exponent", "-0.5", "-0.5235", "[-0.61, -0.43]",
                   "[-0.7235, -0.3235]", "2 of 2", "PASS"]


def test_the_pass_sentence_counts_the_rivals_it_rejected():
    assert verdict_explanation(RESULT) == (
        "the prediction is accepted and all 2 rivals are rejected.")


def test_an_unrejected_rival_without_a_remedy_still_says_what_it_needs():
    standing = Rival("rate 1/4 faster", -0.75, -0.523456, False, "inside the window")
    told = Rival("no convergence", 0.0, -0.523456, False, "inside the window",
                 needs="about 4x the replicas per N")
    result = dataclasses.replace(RESULT, rivals=(standing, told))
    assert verdict_explanation(result) == (
        "the prediction is accepted, but this budget could not reject: rate 1/4 faster (would "
        "need a larger budget); no convergence (would need about 4x the replicas per N).")
