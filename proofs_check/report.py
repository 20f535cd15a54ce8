"""Run every check and write the verification report (issue 5).

Outputs under the output directory:
* ``results.json``: ``{"config", "budget", "checks": [...], "summary"}``, every number of the
  report (``checks`` entries from :func:`proofs_check.result.result_to_dict`);
* ``report.md``: renders on GitHub, equations in ``$$...$$``, one table with each check's verdict
  and its negative control's verdict side by side, then one section per check with figures;
* ``report.html``: self-contained (figures base64-embedded, no external resources);
* ``figures/*.png``;
* ``cache/``: the resumable cache of expensive results (:mod:`proofs_check.cache`).
Writes are atomic (temporary file + rename).
"""

from __future__ import annotations

import base64
import dataclasses
import html
import importlib
import json
import os
import tempfile
import time
import traceback
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from derivations.config import Config
from numerics.progress import ProgressBar
from proofs_check.budget import Budget
from proofs_check.cache import Cache
from proofs_check.checks import CHECK_MODULES, CheckContext
from proofs_check.crosschecks import (
    SECTION_HEADER,
    SECTION_INTRO,
    CrossCheckSection,
    run_crosschecks,
    section_rows,
    section_status_line,
    section_to_json,
)
from proofs_check.figures import render_png
from proofs_check.result import CheckResult, failed_result, result_to_dict

_PROGRESS_TICKS = 1000
CROSSCHECK_COST = 1.0  # relative cost of the cross-check section (progress bar only)


@dataclass(frozen=True)
class Report:
    """All results of one report run."""

    config: Config
    budget: Budget
    results: tuple[CheckResult, ...]
    seconds: float
    cache_hits: int
    cache_misses: int
    crosschecks: CrossCheckSection | None = None

    @property
    def all_passed(self) -> bool:
        """Every check passed (verdict pass, control rejected) and no cross-check that ran
        deviated beyond tolerance (a cross-check section that was not run does not fail)."""
        cross_ok = self.crosschecks is None or self.crosschecks.passed
        return bool(self.results) and all(r.passed for r in self.results) and cross_ok


def _load_check(name: str):
    return importlib.import_module(f"proofs_check.checks.{name}")


def _run_one(name: str, context: CheckContext) -> tuple[CheckResult, ...]:
    """Run one check module; a missing module or an exception becomes a failed result."""
    start = time.monotonic()
    try:
        module = _load_check(name)
    except ImportError as err:
        return (failed_result(name, f"(check {name} could not be loaded)", "",
                              f"missing module: {err}"),)
    try:
        output = module.run(context)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as err:  # a check that crashes is a failed check, reported as such
        last = traceback.extract_tb(err.__traceback__)[-1]
        where = f"{Path(last.filename).name}:{last.lineno}"
        return (failed_result(name, getattr(module, "CLAIM", ""), getattr(module, "EQUATION", ""),
                              f"{type(err).__name__}: {err} (at {where})"),)
    results = output if isinstance(output, tuple) else (output,)
    seconds = (time.monotonic() - start) / len(results)
    return tuple(dataclasses.replace(r, seconds=seconds) for r in results)


def run_checks(
    config: Config,
    budget: Budget,
    out_dir: str | os.PathLike[str] | None,
    *,
    progress: bool = True,
    checks: tuple[str, ...] = CHECK_MODULES,
    cache: Cache | None = None,
    crosschecks: bool = True,
) -> Report:
    """Run ``checks`` in order, then the independent cross-checks (unless ``crosschecks`` is
    False), with a progress bar on stderr (tty only, unless disabled); stdout is not used."""
    start = time.monotonic()
    if cache is None:
        cache = Cache(Path(out_dir) / "cache" if out_dir is not None else None)
    costs = []
    for name in checks:
        try:
            costs.append(float(getattr(_load_check(name), "COST", 1.0)))
        except ImportError:
            costs.append(0.1)
    total = sum(costs) + (CROSSCHECK_COST if crosschecks else 0.0)
    bar = ProgressBar(_PROGRESS_TICKS, "rnnkl report", enabled=None if progress else False)
    results: list[CheckResult] = []
    done = 0.0
    try:
        for name, cost in zip(checks, costs, strict=True):
            bar.label = f"rnnkl report: {name:<20s}"

            def tick(fraction: float, _done: float = done, _cost: float = cost) -> None:
                fraction = min(max(float(fraction), 0.0), 1.0)
                bar.update(int(_PROGRESS_TICKS * (_done + _cost * fraction) / total))

            tick(0.0)
            context = CheckContext(config=config, budget=budget, cache=cache,
                                   seed=int(config.run.seed), progress=tick)
            results.extend(_run_one(name, context))
            done += cost
            bar.update(int(_PROGRESS_TICKS * done / total))
        section = None
        if crosschecks:
            bar.label = f"rnnkl report: {'crosschecks':<20s}"
            bar.update(int(_PROGRESS_TICKS * done / total))
            section = run_crosschecks(config, cache)
            bar.update(_PROGRESS_TICKS)
    finally:
        bar.close()
    return Report(config=config, budget=budget, results=tuple(results),
                  seconds=time.monotonic() - start, cache_hits=cache.hits,
                  cache_misses=cache.misses, crosschecks=section)


# ----------------------------------------------------------------------------- serialisation


def config_dict(config: Config) -> dict[str, Any]:
    """JSON form of the config (the config engineer's config_to_dict when available)."""
    try:
        from derivations.config import config_to_dict
    except ImportError:
        config_to_dict = None
    if config_to_dict is not None:
        return config_to_dict(config)

    def convert(value: Any) -> Any:
        if isinstance(value, Fraction):
            return f"{value.numerator}/{value.denominator}"
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [convert(v) for v in value]
        return value

    return convert(dataclasses.asdict(config))


def results_json(report: Report) -> dict[str, Any]:
    """The machine-readable report: every number of report.md."""
    checks = [result_to_dict(r) for r in report.results]
    section = report.crosschecks
    return {
        "config": config_dict(report.config),
        "budget": report.budget.to_dict(),
        "checks": checks,
        "crosschecks": section_to_json(section) if section is not None else [],
        "crosschecks_status": {
            "status": section.status if section is not None else "not run",
            "message": (section.message if section is not None
                        else "cross-checks disabled for this run"),
            "passed": section.passed if section is not None else True,
        },
        "summary": {
            "checks": len(checks),
            "passed": sum(1 for r in report.results if r.passed),
            "crosschecks_passed": section.passed if section is not None else True,
            "all_passed": report.all_passed,
        },
    }


def _figure_names(report: Report) -> list[list[str]]:
    names = []
    for result in report.results:
        names.append([f"{result.name}-{i + 1}.png" for i in range(len(result.figures))])
    return names


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _fmt_ci(ci: tuple[float, float] | None) -> str:
    return "n/a" if ci is None else f"[{ci[0]:.4g}, {ci[1]:.4g}]"


def _mark(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def summary_rows(report: Report) -> list[list[str]]:
    """The rows of the summary table (shared by report.md, report.html and the tests)."""
    rows = []
    for r in report.results:
        control = r.negative_control
        rows.append([
            r.name,
            r.quantity,
            _fmt(r.prediction),
            _fmt(r.measured),
            _fmt_ci(r.ci),
            _fmt(r.tolerance),
            r.verdict,
            control.name if control is not None else "(none)",
            control.verdict if control is not None else "n/a",
            _mark(r.passed),
        ])
    return rows


SUMMARY_HEADER = ["check", "quantity", "prediction", "measured", "95% CI", "tolerance",
                  "verdict", "negative control", "control verdict", "overall"]


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


_LATEX_CACHE: dict[str, str] = {}


def _registry_latex() -> dict[str, str]:
    """name -> LaTeX of every derived equation (``rnnkl equations``), computed once."""
    if not _LATEX_CACHE:
        try:
            from derivations.equations import all_equations
        except ImportError:
            return {}
        _LATEX_CACHE.update({eq.name: eq.latex for eq in all_equations()})
    return _LATEX_CACHE


def _equation_latex(result: CheckResult) -> list[str]:
    """LaTeX blocks of the claim: the registry entry of its equation name (derived), then the
    check's own statement of the claim when it has one."""
    registry = _registry_latex() if result.equation else {}
    blocks = [registry[result.equation]] if result.equation in registry else []
    if result.formula:
        blocks.append(result.formula)
    return blocks


def markdown(report: Report) -> str:
    """report.md text (figures referenced as figures/<name>.png)."""
    cfg = report.config
    lines = [
        "# rnnkl verification report",
        "",
        "Kernel limit of RNNs trained online on ergodic data (Lam, Sirignano, Spiliopoulos, "
        "arXiv:2308.14555); the claims are those of MODEL.md.",
        "",
        f"**Overall: {_mark(report.all_passed)}** — "
        f"{sum(r.passed for r in report.results)} of {len(report.results)} checks pass "
        "(a check passes when its verdict is pass *and* its negative control is rejected).",
        "",
        f"Budget `{report.budget.name}`; activation `{cfg.network.activation}`, "
        f"beta = {cfg.network.beta}, antisymmetric = {cfg.network.antisymmetric}, "
        f"trainable = {', '.join(cfg.network.trainable)}, b_max = {cfg.init.b_max}, "
        f"m = {cfg.chain.m} states in d = {cfg.chain.d}, seed = {cfg.run.seed}. "
        f"Run time {report.seconds:.1f} s (cache: {report.cache_hits} hits, "
        f"{report.cache_misses} computed).",
        "",
        "## Summary",
        "",
        "| " + " | ".join(SUMMARY_HEADER) + " |",
        "|" + "---|" * len(SUMMARY_HEADER),
    ]
    for row in summary_rows(report):
        lines.append("| " + " | ".join(_md_cell(c) for c in row) + " |")
    lines.append("")
    for result, figures in zip(report.results, _figure_names(report), strict=True):
        lines += [f"## {result.name}", "", result.claim, ""]
        for latex in _equation_latex(result):
            lines += ["$$", latex, "$$", ""]
        if result.equation:
            where = ("derived, `rnnkl equations`" if result.equation in _registry_latex()
                     else "check's own statement")
            lines += [f"Equation: `{result.equation}` ({where}).", ""]
        lines += [
            f"- quantity: {result.quantity}",
            f"- prediction: {_fmt(result.prediction)}",
            f"- measured: {_fmt(result.measured)}, 95% CI {_fmt_ci(result.ci)}",
            f"- tolerance: {_fmt(result.tolerance)} ({result.tolerance_source or 'n/a'})",
            f"- verdict: **{result.verdict}**",
        ]
        control = result.negative_control
        if control is not None:
            lines.append(f"- negative control: {control.name}: **{control.verdict}** "
                         f"({control.reason})")
        else:
            lines.append("- negative control: none was run (counts as failed)")
        if "error" in result.details:
            lines.append(f"- error: `{result.details['error']}`")
        if "note" in result.details:
            lines.append(f"- note: {result.details['note']}")
        lines.append(f"- time: {result.seconds:.1f} s")
        lines.append("")
        for fig, name in zip(result.figures, figures, strict=True):
            lines += [f"![{fig.title}](figures/{name})", ""]
    lines += ["## Independent cross-checks", "", SECTION_INTRO, "",
              _crosscheck_status(report), ""]
    rows = section_rows(report.crosschecks) if report.crosschecks is not None else []
    if rows:
        lines += ["| " + " | ".join(SECTION_HEADER) + " |", "|" + "---|" * len(SECTION_HEADER)]
        lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
        lines.append("")
    return "\n".join(lines) + "\n"


def _crosscheck_status(report: Report) -> str:
    if report.crosschecks is None:
        return "not run: cross-checks disabled for this run."
    return section_status_line(report.crosschecks)


_CSS = """
body { font-family: sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }
table { border-collapse: collapse; font-size: 0.85em; }
th, td { border: 1px solid #bbb; padding: 3px 6px; }
.pass, .rejected, .PASS { background: #d9f2d9; } .fail, .accepted, .FAIL { background: #f7d4d4; }
pre.eq { background: #f5f5f5; padding: 0.5em; overflow-x: auto; }
img { max-width: 100%; }
"""


def html_report(report: Report, pngs: dict[str, bytes]) -> str:
    """report.html text: self-contained, figures embedded as base64 data URIs."""
    esc = html.escape
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>rnnkl verification report"
        f"</title><style>{_CSS}</style></head><body>",
        "<h1>rnnkl verification report</h1>",
        f"<p><b>Overall: <span class='{_mark(report.all_passed)}'>{_mark(report.all_passed)}"
        f"</span></b>: {sum(r.passed for r in report.results)} of {len(report.results)} checks "
        "pass (verdict pass and negative control rejected).</p>",
        f"<p>Budget <code>{esc(report.budget.name)}</code>, run time {report.seconds:.1f} s.</p>",
        "<h2>Summary</h2><table><tr>"
        + "".join(f"<th>{esc(h)}</th>" for h in SUMMARY_HEADER) + "</tr>",
    ]
    for row in summary_rows(report):
        cells = []
        for i, cell in enumerate(row):
            cls = f" class='{esc(cell)}'" if i in (6, 8, 9) else ""
            cells.append(f"<td{cls}>{esc(cell)}</td>")
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</table>")
    for result, names in zip(report.results, _figure_names(report), strict=True):
        parts.append(f"<h2>{esc(result.name)}</h2><p>{esc(result.claim)}</p>")
        for latex in _equation_latex(result):
            parts.append(f"<pre class='eq'>$$ {esc(latex)} $$</pre>")
        control = result.negative_control
        items = [
            f"quantity: {esc(result.quantity)}",
            f"prediction: {esc(_fmt(result.prediction))}",
            f"measured: {esc(_fmt(result.measured))}, 95% CI {esc(_fmt_ci(result.ci))}",
            f"tolerance: {esc(_fmt(result.tolerance))} ({esc(result.tolerance_source)})",
            f"verdict: <b class='{result.verdict}'>{result.verdict}</b>",
            (f"negative control: {esc(control.name)}: <b class='{control.verdict}'>"
             f"{control.verdict}</b> ({esc(control.reason)})") if control is not None
            else "negative control: none (counts as failed)",
        ]
        if "error" in result.details:
            items.append(f"error: <code>{esc(str(result.details['error']))}</code>")
        if "note" in result.details:
            items.append(f"note: {esc(str(result.details['note']))}")
        parts.append("<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>")
        for fig, name in zip(result.figures, names, strict=True):
            data = base64.b64encode(pngs[name]).decode("ascii")
            parts.append(f"<figure><img alt='{esc(fig.title)}' src='data:image/png;base64,{data}'>"
                         f"<figcaption>{esc(fig.title)}</figcaption></figure>")
    parts += ["<h2>Independent cross-checks</h2>", f"<p>{esc(SECTION_INTRO)}</p>",
              f"<p>{esc(_crosscheck_status(report))}</p>"]
    rows = section_rows(report.crosschecks) if report.crosschecks is not None else []
    if rows:
        parts.append("<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in SECTION_HEADER)
                     + "</tr>")
        for row in rows:
            cells = [f"<td class='{esc(c)}'>{esc(c)}</td>" if i == len(row) - 1
                     else f"<td>{esc(c)}</td>" for i, c in enumerate(row)]
            parts.append("<tr>" + "".join(cells) + "</tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_report(report: Report, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write results.json, report.md, report.html and figures/*.png; return their paths."""
    out = Path(out_dir)
    pngs: dict[str, bytes] = {}
    for result, names in zip(report.results, _figure_names(report), strict=True):
        for fig, name in zip(result.figures, names, strict=True):
            pngs[name] = render_png(fig)
            _atomic_write(out / "figures" / name, pngs[name])
    paths = {
        "results": out / "results.json",
        "markdown": out / "report.md",
        "html": out / "report.html",
    }
    text = json.dumps(results_json(report), indent=2, sort_keys=False, allow_nan=False)
    _atomic_write(paths["results"], (text + "\n").encode())
    _atomic_write(paths["markdown"], markdown(report).encode())
    _atomic_write(paths["html"], html_report(report, pngs).encode())
    return paths
