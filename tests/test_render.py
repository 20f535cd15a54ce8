"""Equations of report.html: split at top-level signs only (so each piece is valid LaTeX and
the pieces wrap), converted to MathML, unreadable LaTeX shown as code rather than dropped."""

from __future__ import annotations

import pytest

from derivations.equations import all_equations
from proofs_check.mathml import mathml, split_latex

EQUATIONS = {eq.name: eq.latex for eq in all_equations()}


def _balanced(piece: str) -> bool:
    """Braces, \\left/\\right and \\begin/\\end balance within the piece."""
    return (piece.count("{") - piece.count("\\{") == piece.count("}") - piece.count("\\}")
            and piece.count("\\left") == piece.count("\\right")
            and piece.count("\\begin") == piece.count("\\end"))


@pytest.mark.parametrize("name", sorted(EQUATIONS))
def test_pieces_are_the_equation_cut_at_top_level(name):
    latex = EQUATIONS[name]
    pieces = split_latex(latex)
    assert "".join(pieces).replace(" ", "") == latex.replace(" ", "")
    assert all(_balanced(p) for p in pieces), pieces
    assert all(p[0] in "=+-" for p in pieces[1:])  # each cut is at a sign
    html = mathml(latex)
    assert html.count("<math") == len(pieces) and "<code>" not in html


def test_long_equations_are_split_short_ones_are_not():
    assert split_latex("a = b + c") == ["a = b + c"]
    long = " + ".join(f"x_{{{i}}}" for i in range(60))
    pieces = split_latex(long, width=40)
    assert len(pieces) > 1 and all(len(p) < 40 + 10 for p in pieces)
    assert split_latex(r"f\left(a + b\right) + g", width=1) == [r"f\left(a + b\right)", "+ g"]
    assert split_latex(r"e^{a + b} = c", width=1) == [r"e^{a + b}", "= c"]


def test_unreadable_latex_is_shown_as_code():
    html = mathml(r"\notacommand{x} = 1 <b>")  # latex2mathml would pass \notacommand through
    assert "<math" not in html and "<code>\\notacommand{x} = 1 &lt;b&gt;</code>" in html
    assert "<b>" not in html  # escaped, never raw HTML
    assert "<code>" in mathml(r"\frac{1}{")  # malformed


@pytest.mark.parametrize(("text", "shown"), [
    ("tanh(2*x0*x1 + x0)", "`tanh(2*x0*x1 + x0)`"),
    ("a`b", "``a`b``"),  # a fence longer than any backtick run inside
    ("`x", "`` `x ``"),
])
def test_markdown_code_spans_show_the_text_as_typed(text, shown):
    from proofs_check.render import markdown_code

    assert markdown_code(text) == shown


@pytest.mark.parametrize(("text", "shown"), [
    ("runs/<b>*x*.toml", r"runs/\<b\>\*x\*.toml"),
    ("from the built-in default: init.c_std", "from the built-in default: init.c_std"),
    ("_a_ [b] a&amp;", r"\_a\_ \[b\] a\&amp;"),
])
def test_markdown_text_escapes_what_markdown_would_read_as_markup(text, shown):
    """Intraword underscores (c_std) are no emphasis in CommonMark and stay readable."""
    from proofs_check.render import markdown_text

    assert markdown_text(text) == shown


@pytest.mark.parametrize(("reason", "needs", "shown"), [
    ("exponent -0.25 is inside the window [-0.5, -0.2]", "about 2x the replicas",
     "exponent -0.25 is inside the window [-0.5, -0.2]. Would be rejected with about 2x the "
     "replicas."),
    ("deviation 3e-15 <= tolerance 5e-13.", "another configuration: deterministic.",
     "deviation 3e-15 <= tolerance 5e-13. Would be rejected with another configuration: "
     "deterministic."),
    ("exponent 0 is outside the window", None, "exponent 0 is outside the window"),
])
def test_a_rivals_why_cell_is_whole_sentences(reason, needs, shown):
    """The reason and what would reject the rival are two sentences, never run together."""
    from proofs_check.render import rival_why

    assert rival_why(reason, needs) == shown


def _verdict_report(*verdicts: str):
    """A report whose checks have the given verdicts (pass: accepted, every rival rejected;
    inconclusive: accepted, one rival standing; fail: not accepted)."""
    from derivations.inputs.config import load_config
    from proofs_check.budget import get_budget
    from proofs_check.report import Report
    from proofs_check.result import CheckResult, Rival

    results = []
    for i, verdict in enumerate(verdicts):
        rival = Rival(f"rival {i}", -0.25, -0.3, verdict != "inconclusive", "reason.",
                      needs="" if verdict != "inconclusive" else f"N up to {2 ** (12 + i)}")
        results.append(CheckResult(
            name=f"check_{i}", claim="a claim", equation="", quantity="slope",
            prediction=-0.5, measured=-0.5, ci=None, tolerance=None, tolerance_source="test",
            accepted=verdict != "fail", rivals=(rival,)))
        assert results[-1].verdict == verdict
    return Report(load_config(None), get_budget("quick"), tuple(results), 1.0, 0, 0)


@pytest.mark.parametrize(("verdicts", "overall"), [
    (("pass", "pass"), "PASS"),
    (("pass", "inconclusive", "pass"), "INCONCLUSIVE"),
    (("inconclusive", "fail", "pass"), "FAIL"),
    ((), "FAIL"),  # a report with no check verified nothing
])
def test_the_overall_verdict_says_inconclusive_and_fail_plainly(verdicts, overall):
    """One inconclusive check makes the whole report INCONCLUSIVE, one failure makes it FAIL,
    in the markdown and the HTML alike: a PASS only when every check passed."""
    from proofs_check.render import html_report, markdown, overall_word

    report = _verdict_report(*verdicts)
    assert overall_word(report) == overall
    assert f"**Overall: {overall}**" in markdown(report)
    assert f"<span class='{overall}'>{overall}</span>" in html_report(report, {})


def test_an_inconclusive_check_names_each_standing_rival_and_what_would_reject_it():
    from proofs_check.render import verdict_explanation

    report = _verdict_report("inconclusive")
    (result,) = report.results
    assert verdict_explanation(result) == ("the prediction is accepted, but this budget could "
                                           "not reject: rival 0 (would need N up to 4096).")
