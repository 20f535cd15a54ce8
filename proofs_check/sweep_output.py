"""The files of a sweep (proofs_check.sweep): sweep.json (every number), sweep.md, sweep.html and
figures/phase_diagram.png, the measured rate exponents against the derived predictions.

The phase diagram draws, for each bound result of the rate checks (output at initialisation,
parameter drift, main theorem, frozen network), the measured slope of log(error) against log N
at every grid point with its acceptance window (the slope's 99.5% interval widened by the
check's allowances, rivals.RateTest) against the first varied field, and the result's
own prediction as a black tick at the same x (derivations.scaling via
checks._common.predicted_exponent; for the main theorem -r(beta), r = min(beta - 1/2,
1 - beta, 1/2), or min(1 - beta, 1/2) where f_0 = 0 exactly: checks._common.output_vanishes),
joined by the derived curve when network.beta is the first field. Two panels show the same
measurements: the left marked with the verdict of the bound (the error decays at least this
fast), the right with that of its sharpness (the exponent equals the prediction). Marker:
filled = pass, open = inconclusive (the window also holds a rival), cross = fail; the results
of one point are drawn side by side around its value (offsets of 1% of the range). With a
second varied field, each of its values has its own row of the two panels, so no two points
share a position.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from derivations.inputs.config import config_to_dict
from proofs_check.cache import atomic_write
from proofs_check.checks._common import output_vanishes
from proofs_check.render import markdown_table
from proofs_check.result import CheckResult, result_to_dict
from proofs_check.stats import CI_LABEL
from proofs_check.sweep import Sweep, SweepPoint

# Bound results drawn in the phase diagram, with the term of their derived prediction.
PHASE_RESULTS: dict[str, str] = {"main_theorem": "overall", "frozen_network": "overall",
                                 "parameter_drift": "parameter_drift",
                                 "output_at_init": "output_at_init"}
PREDICTION_NOTE = ("predictions are the suite's derived rates (docs/theory.md §6), not the "
                   "paper's")


def verdict_counts(results: tuple[CheckResult, ...]) -> dict[str, int]:
    """How many results there are and how many pass, fail, are inconclusive."""
    verdicts = [r.verdict for r in results]
    return {"checks": len(verdicts), "passed": verdicts.count("pass"),
            "failed": verdicts.count("fail"), "inconclusive": verdicts.count("inconclusive")}


def sweep_json(sweep: Sweep) -> dict[str, Any]:
    """The machine-readable sweep: per point the field values, the config and every result
    (as in results.json), and the totals."""
    points = [{"values": point.values, "config": config_to_dict(point.report.config),
               "results": [result_to_dict(r) for r in point.report.results],
               "summary": verdict_counts(point.report.results)} for point in sweep.points]
    every = tuple(r for point in sweep.points for r in point.report.results)
    return {"varied": [{"field": v.field, "values": list(v.values)} for v in sweep.varied],
            "budget": sweep.budget.to_dict(), "config_source": sweep.source,
            "prediction_note": PREDICTION_NOTE, "points": points,
            "summary": dict(verdict_counts(every), points=len(points))}


def _label(values: dict[str, Any]) -> str:
    return ", ".join(f"{field} = {value:g}" for field, value in values.items())


def _rows(sweep: Sweep) -> list[list[str]]:
    rows = []
    for point in sweep.points:
        for r in point.report.results:
            ci = f"[{r.ci[0]:.3f}, {r.ci[1]:.3f}]" if r.ci else ""
            window = f"[{r.window[0]:.3f}, {r.window[1]:.3f}]" if r.window else ""
            rivals = "; ".join(f"{rv.name}: {rv.verdict}" for rv in r.rivals)
            rows.append([_label(point.values), r.name, f"{r.prediction:.3f}",
                         f"{r.measured:.3f} {ci}" if r.measured is not None else "",
                         window, r.verdict.upper(), rivals])
    return rows


def _notes(sweep: Sweep) -> list[str]:
    """What the table leaves out: the note of every failed result (why it failed: a vanishing
    coefficient, derived or not, a limit that was not accurate enough) and every omitted rival
    (a rival that would be the prediction itself; once per point, though a bound and its
    sharpness both carry it), one line each, as in the report."""
    notes = []
    for point in sweep.points:
        omitted = set()  # a bound and its sharpness omit the same rivals: listed once
        for r in point.report.results:
            parts = [f"note: {r.details['note']}" if r.verdict == "fail"
                     and r.details.get("note") else "",
                     f"rivals omitted: {r.details['omitted_rivals']}"
                     if r.details.get("omitted_rivals") not in (None, "", *omitted) else ""]
            omitted.add(r.details.get("omitted_rivals"))
            notes += [f"{_label(point.values)}, {r.name} ({r.verdict.upper()}), {part}"
                      for part in parts if part]
    return notes


HEADER = ["point", "result", "prediction", f"measured [{CI_LABEL}]", "acceptance window", "verdict",
          "rivals"]


def sweep_markdown(sweep: Sweep) -> str:
    totals = dict(verdict_counts(tuple(r for p in sweep.points for r in p.report.results)),
                  points=len(sweep.points))
    lines = [f"# Sweep over {', '.join(v.field for v in sweep.varied)}", "",
             f"{totals['points']} points, budget {sweep.budget.name}: {totals['passed']} pass, "
             f"{totals['failed']} fail, {totals['inconclusive']} inconclusive of "
             f"{totals['checks']} results; {PREDICTION_NOTE}. An inconclusive result is not a "
             "pass: its window also holds a rival.", "",
             *([f"Configuration: {sweep.source}.", ""] if sweep.source else []),
             "![phase diagram](figures/phase_diagram.png)", ""]
    lines += markdown_table(HEADER, _rows(sweep))
    notes = _notes(sweep)
    if notes:
        lines += ["", "## Notes", "", *[f"- {note}" for note in notes]]
    return "\n".join(lines)


def sweep_html(sweep: Sweep, png: bytes) -> str:
    table = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                    for row in _rows(sweep))
    head = "".join(f"<th>{html.escape(h)}</th>" for h in HEADER)
    image = base64.b64encode(png).decode()
    notes = "".join(f"<li>{html.escape(note)}</li>" for note in _notes(sweep))
    notes = f"<h2>Notes</h2><ul>{notes}</ul>" if notes else ""
    title = html.escape(", ".join(v.field for v in sweep.varied))
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Sweep over {title}</title>"
            f"</head><body><h1>Sweep over {title}</h1><p>{html.escape(PREDICTION_NOTE)}</p>"
            f"{f'<p>Configuration: {html.escape(sweep.source)}.</p>' if sweep.source else ''}"
            f"<img alt='phase diagram' src='data:image/png;base64,{image}'>"
            f"<table border='1'><tr>{head}</tr>{table}</table>{notes}</body></html>\n")


def _prediction_curve(sweep: Sweep, zero_output: bool, term: str, xs: np.ndarray
                      ) -> np.ndarray | None:
    """The derived prediction along the first varied field when it is network.beta: the
    exponent of derivations.scaling (-r(beta) for "overall"; ``zero_output``: f_0 = 0 exactly
    on the row's configurations, checks._common.output_vanishes), as an expression in beta
    printed once for NumPy (the value checks._common.predicted_exponent gives at each point; a
    test holds them equal). None when the term has no exponent (output at initialisation when
    f_0 = 0 exactly)."""
    import sympy as sp

    from derivations import scaling

    if sweep.varied[0].field != "network.beta":
        return None
    if term == "overall":
        expression = -scaling.predicted_rates(zero_output)["overall"]
    else:
        exponents = scaling.error_exponents(zero_output)
        if term not in exponents:
            return None
        expression = exponents[term]
    values = sp.lambdify(scaling.BETA, expression, "numpy")(xs)
    return np.broadcast_to(np.asarray(values, dtype=float), xs.shape)


def _is_rate(result: CheckResult) -> bool:
    """A result whose measurement is a rate exponent (the antisymmetric output check is not)."""
    return result.quantity.startswith("rate exponent") and result.measured is not None


PANELS = (("bound: the error decays at least this fast", ""),
          ("sharpness: the exponent equals the prediction", "_sharpness"))


def phase_rows(sweep: Sweep) -> list[tuple[float | int | None, tuple[SweepPoint, ...]]]:
    """The rows of the phase diagram: (value of the second varied field, its points in grid
    order); one row (None, every point) when one field varies. Every point is in one row, so
    two points never share an x position (the first field's value)."""
    if len(sweep.varied) == 1:
        return [(None, sweep.points)]
    second = sweep.varied[1].field
    return [(value, tuple(p for p in sweep.points if p.values[second] == value))
            for value in sweep.varied[1].values]


def phase_figure(sweep: Sweep) -> Any:
    """The matplotlib figure of figures/phase_diagram.png (module docstring): per row of
    :func:`phase_rows` two panels over the same measurements, the left marked with each bound
    result's verdict, the right with its sharpness result's verdict (theory.md §6: two claims,
    each with its own verdict); each result's own prediction is a black tick at its x, and the
    derived curve is drawn when network.beta is the first field."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    first = sweep.varied[0]
    span = (max(first.values) - min(first.values)) or 1.0
    rows = phase_rows(sweep)
    fig, axes = plt.subplots(len(rows), 2, figsize=(12, 4.8 if len(rows) == 1 else 3.6 * len(rows)),
                             dpi=110, sharey=True, sharex=True, squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    xs = np.linspace(min(first.values), max(first.values), 200)
    # the derived curves along the first field: the same in every row whose configurations
    # agree on whether f_0 = 0 exactly (a second field such as init.c_std can change it),
    # so computed once per value of that flag
    flags = {level: bool(points) and output_vanishes(points[0].report.config)
             for level, points in rows}
    curves = {flag: ({term: _prediction_curve(sweep, flag, term, xs)
                      for term in set(PHASE_RESULTS.values())} if len(first.values) > 1 else {})
              for flag in set(flags.values())}
    for row_axes, (level, points) in zip(axes, rows, strict=True):
        for ax, (title, suffix) in zip(row_axes, PANELS, strict=True):
            drawn: dict[str, str] = {}  # prediction term -> colour of its first result
            for index, (name, term) in enumerate(PHASE_RESULTS.items()):
                colour = colours[index % len(colours)]
                if _draw_result(ax, points, first.field, name + suffix, index, colour, span):
                    drawn.setdefault(term, colour)
                    # the legend names the colour only: the marker of a point is its verdict
                    ax.plot([], [], color=colour, marker="s", ls="none", label=name)
            for term, colour in drawn.items():
                curve = curves[flags[level]].get(term)
                if curve is None:
                    continue
                # the main theorem's -r(beta) follows the other two curves piecewise: drawn
                # dashed in black on top, so it stays visible where they coincide
                style = (dict(color="black", ls="--", lw=1.4, label="-r: main theorem, frozen")
                         if term == "overall" else dict(color=colour, lw=1, alpha=0.7))
                ax.plot(xs, curve, zorder=3 if term == "overall" else 1, **style)
            ax.set_xlabel(first.field)
            ax.set_title(title if level is None
                         else f"{title}\n{sweep.varied[1].field} = {level:g}", fontsize=10)
            ax.legend(fontsize=8)
        row_axes[0].set_ylabel("rate exponent (slope of log error vs log N)")
    fig.suptitle("Measured exponents with acceptance windows over the derived predictions "
                 "(black ticks; filled: pass, open: inconclusive, x: fail)", fontsize=10)
    fig.tight_layout()
    return fig


def phase_diagram(sweep: Sweep) -> bytes:
    """figures/phase_diagram.png: :func:`phase_figure` as PNG bytes."""
    import matplotlib.pyplot as plt

    fig = phase_figure(sweep)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def _draw_result(ax: Any, points: tuple[SweepPoint, ...], field: str, name: str, index: int,
                 colour: str, span: float) -> bool:
    """Draw the result ``name`` of each of ``points`` at its value of ``field`` (side by side:
    offsets of 1% of the range), its marker its verdict, its acceptance window as error bar and
    its prediction as a black tick (gid "prediction"); False when no point has it as a rate
    result."""
    shown = False
    for point in points:
        result = next((r for r in point.report.results if r.name == name), None)
        if result is None or not _is_rate(result):
            continue
        x = float(point.values[field]) + (index - 1.5) * 0.01 * span
        low, high = result.window if result.window else (result.measured, result.measured)
        style = {"pass": dict(marker="o", mfc=colour), "inconclusive": dict(
            marker="o", mfc="white"), "fail": dict(marker="x", mfc=colour)}[result.verdict]
        ax.errorbar([x], [result.measured], yerr=[[result.measured - low],
                    [high - result.measured]], color=colour, capsize=3, ms=7,
                    mec=colour, ls="none", **style)
        if result.prediction is not None:
            ax.plot([x], [result.prediction], marker="_", ms=12, mew=2, color="black",
                    ls="none", zorder=4, gid="prediction")
        shown = True
    return shown


def write_sweep(sweep: Sweep, out_dir: str) -> dict[str, Path]:
    """Write sweep.json, sweep.md, sweep.html and figures/phase_diagram.png; their paths."""
    out = Path(out_dir)
    png = phase_diagram(sweep)
    paths = {"json": out / "sweep.json", "markdown": out / "sweep.md",
             "html": out / "sweep.html", "figure": out / "figures" / "phase_diagram.png"}
    atomic_write(paths["figure"], png)
    text = json.dumps(sweep_json(sweep), indent=2, allow_nan=False)
    atomic_write(paths["json"], (text + "\n").encode())
    atomic_write(paths["markdown"], sweep_markdown(sweep).encode())
    atomic_write(paths["html"], sweep_html(sweep, png).encode())
    return paths
