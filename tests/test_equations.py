"""rnnkl equations: every required equation present, each format parses (theory.md §2-§5)."""

from __future__ import annotations

import json

import pytest
import sympy as sp

from derivations import equations as eqs
from derivations.scaling import BETA, GAMMA
from proofs_check.cli import main


def test_required_names_present_and_unique() -> None:
    names = [e.name for e in eqs.all_equations()]
    assert len(names) == len(set(names))
    assert set(eqs.REQUIRED_NAMES) <= set(names)
    for e in eqs.all_equations():
        assert e.latex and e.description and e.sympy


def test_json_format(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["equations", "--format", "json"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert {i["name"] for i in items} >= set(eqs.REQUIRED_NAMES)
    for item in items:
        assert set(item) == {"name", "description", "latex", "sympy"}
        assert all(isinstance(v, str) and v for v in item.values())


def test_markdown_and_latex_formats(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["equations", "--format", "markdown"]) == 0
    markdown = capsys.readouterr().out
    assert markdown.count("$$") == 2 * len(eqs.all_equations())
    for name in eqs.REQUIRED_NAMES:
        assert f"## `{name}`" in markdown
    assert main(["equations", "--format", "latex"]) == 0
    latex = capsys.readouterr().out
    assert latex.count(r"\begin{equation}") == latex.count(r"\end{equation}")
    for name in eqs.REQUIRED_NAMES:
        assert rf"\label{{eq:{name}}}" in latex
    assert main(["equations"]) == 0  # default format: markdown
    assert capsys.readouterr().out == markdown


def test_equation_contents_are_the_derived_objects() -> None:
    rate = eqs.equation("learning_rate_exponent").equation[0]
    assert rate.lhs == GAMMA and sp.simplify(rate.rhs - (2 * BETA - 2)) == 0
    update = eqs.equation("sgd_update").equation
    assert update.lhs.shape == (3, 1)
    assert (
        "arcsin" in eqs.render("json") or "asin" in eqs.equation("kernel_erf_no_recurrence").latex
    )
    with pytest.raises(KeyError):
        eqs.equation("no_such_equation")
    with pytest.raises(ValueError):
        eqs.render("html")
