"""report.md and report.html from a :class:`proofs_check.report.Report`.

Both carry the same facts: the overall result, the configuration line and where the
configuration came from, the summary table (one row per check: prediction, measurement, 95%
CI, tolerance, verdict, negative control), one section per check (its claim, its equations,
its numbers, its figures) and the independent cross-checks.

Equations: report.md keeps LaTeX in ``$$ ... $$`` (rendered by GitHub and most Markdown
viewers); report.html shows them as MathML (latex2mathml; no network, no JavaScript: browsers
render MathML natively), each long equation split at its top-level ``=``, ``+`` and ``-`` signs
into pieces that wrap on narrow screens (:func:`split_latex`).
"""

from __future__ import annotations

import base64
import html
import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from proofs_check.crosschecks import (
    SECTION_HEADER,
    SECTION_INTRO,
    outcome_word,
    section_rows,
    section_status_line,
)
from proofs_check.mathml import mathml
from proofs_check.result import VERDICTS, CheckResult
from proofs_check.stats import CI_LABEL

if TYPE_CHECKING:
    from proofs_check.report import Report

SUMMARY_HEADER = ["check", "quantity", "prediction", "measured", CI_LABEL, "acceptance window",
                  "rivals rejected", "verdict"]
RIVAL_HEADER = ["rival", "its prediction", "measured", "verdict", "why"]
LADDER_HEADER = ["N", "replicas", "value", CI_LABEL]
INTRODUCTION = (
    "Kernel limit of RNNs trained online on ergodic data (Lam, Sirignano, Spiliopoulos, "
    "arXiv:2308.14555). Each check below tests one quantitative step of the argument against "
    "its prediction and against named rivals: competing theories (another exponent, another "
    "limit, no convergence) put through a test on the same data. A check passes only when its "
    "prediction is accepted and every rival is rejected; it fails when its prediction is "
    "rejected; otherwise it is inconclusive: this budget cannot tell the theory from some "
    "rival. The rates are this suite's own derived predictions (upper bounds, stated as a "
    "bound and its sharpness), not statements quoted from the paper.")


# ----------------------------------------------------------------------------- shared facts


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _fmt_ci(ci: tuple[float, float] | None) -> str:
    return "n/a" if ci is None else f"[{ci[0]:.4g}, {ci[1]:.4g}]"


def verdict_word(result: CheckResult) -> str:
    return result.verdict.upper()


def rejected_of(result: CheckResult) -> str:
    """"3 of 5": how many of the result's rivals are rejected (the summary table's column)."""
    return f"{sum(rival.rejected for rival in result.rivals)} of {len(result.rivals)}"


def rival_tally(result: CheckResult) -> str:
    """"3 of 5 rivals rejected (not rejected: A; B)": the rivals' verdicts in one phrase (the
    report's per-check line on stderr)."""
    standing = [rival.name for rival in result.rivals if not rival.rejected]
    return (f"{rejected_of(result)} rivals rejected"
            + (f" (not rejected: {'; '.join(standing)})" if standing else ""))


def _fmt_window(window: tuple[float, float] | None) -> str:
    return "n/a" if window is None else f"[{window[0]:.4g}, {window[1]:.4g}]"


def summary_rows(report: Report) -> list[list[str]]:
    """The rows of the summary table (shared by report.md, report.html and the tests)."""
    rows = []
    for r in report.results:
        rows.append([
            r.name, r.quantity, _fmt(r.prediction), _fmt(r.measured), _fmt_ci(r.ci),
            _fmt_window(r.window), rejected_of(r), verdict_word(r),
        ])
    return rows


def counts(report: Report) -> dict[str, int]:
    """How many checks pass, fail and are inconclusive."""
    return {v: sum(r.verdict == v for r in report.results) for v in VERDICTS}


def overall_sentence(report: Report) -> str:
    """"12 pass, 0 fail, 2 inconclusive of 14 checks; independent cross-checks: ..."."""
    c = counts(report)
    return (f"{c['pass']} pass, {c['fail']} fail, {c['inconclusive']} inconclusive of "
            f"{len(report.results)} checks; independent cross-checks: "
            f"{outcome_word(report.crosschecks)}.")


def overall_word(report: Report) -> str:
    """FAIL if anything failed, INCONCLUSIVE if some check could not decide, else PASS."""
    if report.failed:
        return "FAIL"
    return "PASS" if report.all_passed else "INCONCLUSIVE"


def verdict_explanation(result: CheckResult) -> str:
    """One sentence on why the verdict is what it is."""
    if result.verdict == "fail" and result.details.get("error"):  # result.failed_result
        return ("the check stopped before it measured anything (an error in the suite, not a "
                "rejected prediction; the error line below says where).")
    if result.verdict == "fail":
        return "the prediction is rejected by its own test."
    if result.verdict == "pass":
        return f"the prediction is accepted and all {len(result.rivals)} rivals are rejected."
    if not result.rivals:
        return "the prediction is accepted, but the check has no rival to tell it from."
    names = "; ".join(f"{r.name} (would need {r.needs or 'a larger budget'})"
                      for r in result.unrejected)
    return f"the prediction is accepted, but this budget could not reject: {names}."


def crosscheck_status(report: Report) -> str:
    if report.crosschecks is None:
        return "Not run: cross-checks were disabled for this run."
    return section_status_line(report.crosschecks)


def markdown_code(text: str) -> str:
    """``text`` as a Markdown code span, shown as typed: ``2*x0*x1`` in plain Markdown would
    italicise x0, and a path's ``<b>`` would be markup. The fence is one backtick longer than
    the longest run inside (CommonMark code spans)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


# Markdown's inline specials, "_" only where it could open or close emphasis (not intraword)
_MARKDOWN_SPECIAL = re.compile(r"[\\`*<>\[\]|&]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def markdown_text(text: str) -> str:
    """``text`` with Markdown's inline specials backslash-escaped, so a config path such as
    ``runs/<b>*x*.toml`` is shown as typed."""
    return _MARKDOWN_SPECIAL.sub(lambda match: "\\" + match.group(0), text)


def config_line(report: Report, code: Callable[[str], str] = str,
                text_of: Callable[[str], str] = str) -> str:
    """The configuration in one sentence (both reports), with where it came from. ``code``
    wraps the target expression and ``text_of`` the source sentence, both the user's text:
    Markdown passes :func:`markdown_code` and :func:`markdown_text`; HTML escapes the line."""
    cfg = report.config
    text = (f"Budget {report.budget.name}; activation {cfg.network.activation}, "
            f"beta = {cfg.network.beta}, antisymmetric = {cfg.network.antisymmetric}, "
            f"trainable = {', '.join(cfg.network.trainable)}, c_std = {cfg.init.c_std}, "
            f"w_std = {cfg.init.w_std}, b_max = {cfg.init.b_max}, alpha = "
            f"{cfg.training.alpha}, T = {cfg.training.horizon}, m = {cfg.chain.m} states in "
            f"d = {cfg.chain.d}, target y = {code(cfg.target.expression)}, "
            f"seed = {cfg.run.seed}. "
            f"Run time {report.seconds:.1f} s (cache: {report.cache_hits} hits, "
            f"{report.cache_misses} computed).")
    if report.source:
        text += f" Configuration: {text_of(report.source)}."
    return text


_LATEX_CACHE: dict[str, str] = {}


def registry_latex() -> dict[str, str]:
    """name -> LaTeX of every derived equation (``rnnkl equations``), computed once."""
    if not _LATEX_CACHE:
        from derivations.equations import all_equations

        _LATEX_CACHE.update({eq.name: eq.latex for eq in all_equations()})
    return _LATEX_CACHE


def equation_latex(result: CheckResult) -> list[str]:
    """LaTeX blocks of the claim: the registry entry of its equation name (derived), then the
    check's own statement of the claim when it has one."""
    registry = registry_latex() if result.equation else {}
    blocks = [registry[result.equation]] if result.equation in registry else []
    if result.formula:
        blocks.append(result.formula)
    return blocks


def _detail_lines(result: CheckResult) -> list[tuple[str, str]]:
    """(label, plain text) pairs of a check's section, shared by both formats."""
    lines = [
        ("quantity", result.quantity),
        ("prediction", _fmt(result.prediction)),
        ("measured", f"{_fmt(result.measured)}, {CI_LABEL} {_fmt_ci(result.ci)}"),
    ]
    if result.window is not None:
        lines.append(("acceptance window", f"{_fmt_window(result.window)} "
                      f"({result.tolerance_source or 'n/a'})"))
    else:
        lines.append(("tolerance", f"{_fmt(result.tolerance)} "
                      f"({result.tolerance_source or 'n/a'})"))
    all_zero = bool(result.ladder) and all(row.value == 0.0 for row in result.ladder)
    if result.resolution == 0.0 and all_zero:  # rivals.RateTest.resolution: identically zero
        lines.append(("resolution", "every exponent: the error is exactly 0 at every N, which "
                      "no power law C N^a with C > 0 gives"))
    elif result.resolution is not None and math.isfinite(result.resolution):
        lines.append(("resolution", f"this budget rejects any exponent farther than "
                      f"{result.resolution:.3g} from the prediction"))
    elif result.resolution is not None:  # inf: an unbounded window; nan: no slope was fitted
        lines.append(("resolution", "none: " + ("the acceptance window is unbounded"
                                                if math.isinf(result.resolution)
                                                else "the fit has no finite slope")))
    lines.append(("verdict", f"{verdict_word(result)}: {verdict_explanation(result)}"))
    for key, label in (("error", "error"), ("divergence", "divergence"), ("note", "note"),
                       ("omitted_rivals", "rivals omitted"),
                       ("numerical_warnings", "numerical warnings")):
        if result.details.get(key):
            lines.append((label, str(result.details[key])))
    lines.append(("time", f"{result.seconds:.1f} s"))
    return lines


def rival_why(reason: str, needs: str | None) -> str:
    """The "why" cell of a rival: its reason, then (if not rejected) what would reject it.

    The reason is a clause without a final stop; when a second sentence follows, the reason
    is closed with one, so the two do not run together.
    """
    if not needs:
        return reason
    closed = reason if reason.rstrip().endswith((".", "!", "?")) else reason.rstrip() + "."
    return f"{closed} Would be rejected with {needs.rstrip().rstrip('.')}."


def rival_rows(result: CheckResult) -> list[list[str]]:
    return [[r.name, _fmt(r.prediction), _fmt(r.measured), r.verdict,
             rival_why(r.reason, r.needs)] for r in result.rivals]


def ladder_rows(result: CheckResult) -> list[list[str]]:
    return [[str(row.N), str(row.replicas), f"{row.value:.4g}",
             f"[{row.lo:.4g}, {row.hi:.4g}]"] for row in result.ladder]


def figure_names(report: Report) -> list[list[str]]:
    return [[f"{r.name}-{i + 1}.png" for i in range(len(r.figures))] for r in report.results]


# ----------------------------------------------------------------------------- Markdown


def markdown_cell(text: str) -> str:
    """A Markdown table cell: "|" escaped (it stays "|" when rendered: E[Y_0 | X_0] keeps its
    meaning), newlines as spaces."""
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """The lines of a Markdown table (cells by :func:`markdown_cell`) and a blank line."""
    return (["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            + ["| " + " | ".join(markdown_cell(c) for c in row) + " |" for row in rows] + [""])


def markdown(report: Report) -> str:
    """report.md text (figures referenced as figures/<name>.png)."""
    lines = ["# rnnkl verification report", "", INTRODUCTION, "",
             f"**Overall: {overall_word(report)}**: {overall_sentence(report)}", "",
             config_line(report, markdown_code, markdown_text), "", "## Summary", ""]
    lines += markdown_table(SUMMARY_HEADER, summary_rows(report))
    for result, figures in zip(report.results, figure_names(report), strict=True):
        lines += [f"## {result.name}", "", result.claim, ""]
        for latex in equation_latex(result):
            lines += ["$$", latex, "$$", ""]
        for label, text in _detail_lines(result):
            lines.append(f"- {label}: **{text}**" if label == "verdict" else f"- {label}: {text}")
        lines += ["", "Rivals:", ""] + markdown_table(RIVAL_HEADER, rival_rows(result))
        if result.ladder:
            lines += ["Per-N values behind the fit:", ""]
            lines += markdown_table(LADDER_HEADER, ladder_rows(result))
        for fig, name in zip(result.figures, figures, strict=True):
            lines += [f"![{fig.title}](figures/{name})", ""]
    lines += ["## Independent cross-checks", "", SECTION_INTRO, "", crosscheck_status(report),
              ""]
    rows = section_rows(report.crosschecks) if report.crosschecks is not None else []
    if rows:
        lines += markdown_table(SECTION_HEADER, rows)
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- HTML


_CSS = """
body { font-family: sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.4; }
table { border-collapse: collapse; font-size: 0.85em; display: block; overflow-x: auto; }
th, td { border: 1px solid #bbb; padding: 3px 6px; }
.pass, .rejected, .PASS { background: #d9f2d9; } .fail, .not, .FAIL { background: #f7d4d4; }
.INCONCLUSIVE { background: #fbeecb; }
.eq { display: flex; flex-wrap: wrap; gap: 0.2em 0.6em; align-items: baseline;
      margin: 0.8em 0 0.8em 1.5em; font-size: 1.1em; overflow-x: auto; overflow-y: hidden; }
img { max-width: 100%; }
"""


def _html_table(header: list[str], rows: list[list[str]], marked: tuple[int, ...] = ()) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td class='{esc(c.split()[0] if c else c)}'>{esc(c)}</td>"
                         if i in marked else f"<td>{esc(c)}</td>" for i, c in enumerate(row))
        + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def html_report(report: Report, pngs: dict[str, bytes]) -> str:
    """report.html text: self-contained (figures as base64 data URIs, equations as MathML)."""
    esc = html.escape
    overall = overall_word(report)
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>rnnkl verification report</title><style>{_CSS}</style></head><body>",
        "<h1>rnnkl verification report</h1>", f"<p>{esc(INTRODUCTION)}</p>",
        f"<p><b>Overall: <span class='{overall}'>{overall}</span></b>: "
        f"{esc(overall_sentence(report))}</p>",
        f"<p>{esc(config_line(report))}</p>",
        "<h2>Summary</h2>", _html_table(SUMMARY_HEADER, summary_rows(report), (7,)),
    ]
    for result, names in zip(report.results, figure_names(report), strict=True):
        parts.append(f"<h2 id='{esc(result.name)}'>{esc(result.name)}</h2>"
                     f"<p>{esc(result.claim)}</p>")
        parts += [mathml(latex) for latex in equation_latex(result)]
        items = []
        for label, text in _detail_lines(result):
            if label == "verdict":
                word, _, why = text.partition(": ")
                items.append(f"verdict: <b class='{esc(word)}'>{esc(word)}</b>: {esc(why)}")
            else:
                items.append(f"{esc(label)}: {esc(text)}")
        parts.append("<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>")
        parts.append("<p>Rivals:</p>" + _html_table(RIVAL_HEADER, rival_rows(result), (3,)))
        if result.ladder:
            parts.append("<p>Per-N values behind the fit:</p>"
                         + _html_table(LADDER_HEADER, ladder_rows(result)))
        for fig, name in zip(result.figures, names, strict=True):
            data = base64.b64encode(pngs[name]).decode("ascii")
            parts.append(f"<figure><img alt='{esc(fig.title)}' src='data:image/png;base64,{data}'>"
                         f"<figcaption>{esc(fig.title)}</figcaption></figure>")
    parts += ["<h2>Independent cross-checks</h2>", f"<p>{esc(SECTION_INTRO)}</p>",
              f"<p>{esc(crosscheck_status(report))}</p>"]
    rows = section_rows(report.crosschecks) if report.crosschecks is not None else []
    if rows:
        parts.append(_html_table(SECTION_HEADER, rows, (len(SECTION_HEADER) - 1,)))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
