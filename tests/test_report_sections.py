"""A check's section in report.md, report.html and results.json: every number of the result is
shown where it belongs, in its own order, in all three documents, and every figure gets its own
file. The expectations are written from the result the test builds (its numbers are chosen so
that a swapped or dropped field shows), never read back from the renderer."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest

from derivations.inputs.config import load_config
from proofs_check.budget import get_budget
from proofs_check.report import Report, write_report
from proofs_check.result import CheckResult, FigureData, LadderRow, Rival

STANDING = Rival("rate 1/4 slower", -0.25, -0.41, False, "exponent -0.25 is inside the window",
                 needs="N up to 8192")
REJECTED = Rival("no convergence", 0.0, -0.41, True, "exponent 0 is outside the window")
LADDER = (LadderRow(N=128, replicas=96, value=0.0625, lo=0.0511, hi=0.0739),
          LadderRow(N=256, replicas=48, value=0.0432, lo=0.0377, hi=0.0487))
# Two figures of one check whose pixels differ (a transposed, non-symmetric matrix).
MATRIX = np.array([[1.0, 2.0, 3.0], [0.0, 1.0, 5.0], [0.0, 0.0, 1.0]])
FIGURES = (FigureData("heatmap", "first figure", {"K": MATRIX}),
           FigureData("heatmap", "second figure", {"K": MATRIX.T}))


def _report() -> Report:
    result = CheckResult(
        name="rate_check", claim="the error decays like N^-1/2", equation="",
        quantity="rate exponent", prediction=-0.5, measured=-0.41, ci=(-0.52, -0.3),
        tolerance=None, tolerance_source="the slope's 99.5% interval widened by 0.02",
        accepted=True, rivals=(REJECTED, STANDING), window=(-0.71, -0.19), resolution=0.218,
        ladder=LADDER, figures=FIGURES)
    assert result.verdict == "inconclusive"
    return Report(load_config(None), get_budget("quick"), (result,), 1.0, 0, 0)


@pytest.fixture(scope="module")
def documents(tmp_path_factory) -> dict[str, object]:
    out = tmp_path_factory.mktemp("report")
    paths = write_report(_report(), out)
    return {"md": paths["markdown"].read_text(), "html": paths["html"].read_text(),
            "json": json.loads(paths["results"].read_text()), "out": out}


def test_the_acceptance_window_is_shown_with_where_its_width_comes_from(documents):
    line = ("acceptance window: [-0.71, -0.19] "
            "(the slope's 99.5% interval widened by 0.02)")
    assert f"- {line}" in documents["md"]
    assert f"<li>{line.replace(chr(39), '&#x27;')}</li>" in documents["html"]
    assert documents["json"]["checks"][0]["window"] == [-0.71, -0.19]
    assert documents["json"]["checks"][0]["tolerance_source"] == (
        "the slope's 99.5% interval widened by 0.02")


def test_the_resolution_line_gives_the_results_resolution(documents):
    line = "resolution: this budget rejects any exponent farther than 0.218 from the prediction"
    assert f"- {line}" in documents["md"] and f"<li>{line}</li>" in documents["html"]


def test_each_rival_row_carries_its_own_verdict(documents):
    """A rejected and a standing rival: each row says its own verdict, in both documents,
    and the HTML marks each verdict cell with it (green for rejected, red for not)."""
    md, html = documents["md"], documents["html"]
    assert "| no convergence | 0 | -0.41 | rejected | exponent 0 is outside the window |" in md
    assert ("| rate 1/4 slower | -0.25 | -0.41 | not rejected | exponent -0.25 is inside the "
            "window. Would be rejected with N up to 8192. |") in md
    assert ("<td>no convergence</td><td>0</td><td>-0.41</td>"
            "<td class='rejected'>rejected</td>") in html
    assert ("<td>rate 1/4 slower</td><td>-0.25</td><td>-0.41</td>"
            "<td class='not'>not rejected</td>") in html
    rivals = documents["json"]["checks"][0]["rivals"]
    assert [(r["name"], r["verdict"], r["rejected"]) for r in rivals] == [
        ("no convergence", "rejected", True), ("rate 1/4 slower", "not rejected", False)]


def test_the_summary_marks_the_verdict_cell(documents):
    assert "<td class='INCONCLUSIVE'>INCONCLUSIVE</td></tr></table>" in documents["html"]


def test_the_ladder_is_shown_low_end_first_in_every_document(documents):
    md, html = documents["md"], documents["html"]
    for row in LADDER:
        cells = [str(row.N), str(row.replicas), f"{row.value:.4g}", f"[{row.lo:.4g}, {row.hi:.4g}]"]
        assert "| " + " | ".join(cells) + " |" in md
        assert "".join(f"<td>{c}</td>" for c in cells) in html
    assert "Per-N values behind the fit:" in html and "Per-N values behind the fit:" in md
    ladder = documents["json"]["checks"][0]["ladder"]
    assert ladder == [{"N": r.N, "replicas": r.replicas, "value": r.value, "ci": [r.lo, r.hi]}
                      for r in LADDER]


def test_every_figure_gets_its_own_file_and_its_own_image(documents):
    """Two figures of one check: two files (numbered from 1), each referenced once in report.md,
    and report.html embeds each file's own bytes (not one image twice)."""
    figures = documents["out"] / "figures"
    assert sorted(p.name for p in figures.iterdir()) == ["rate_check-1.png", "rate_check-2.png"]
    first, second = ((figures / f"rate_check-{i}.png").read_bytes() for i in (1, 2))
    assert first != second
    md = documents["md"]
    assert "![first figure](figures/rate_check-1.png)" in md
    assert "![second figure](figures/rate_check-2.png)" in md
    embedded = re.findall(r"<img alt='([^']*)' src='data:image/png;base64,([^']*)'>",
                          documents["html"])
    assert [(alt, base64.b64decode(data)) for alt, data in embedded] == [
        ("first figure", first), ("second figure", second)]
