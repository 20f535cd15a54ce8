"""rnnkl sweep (issue 16, item 4, serial part): the --vary grammar, the grid, a small sweep's
files and numbers, resuming from the cache, and bad input."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from proofs_check.budget import TINY
from proofs_check.cli import main
from proofs_check.sweep import (
    MAX_POINTS,
    SWEEP_CHECKS,
    SweepError,
    VariedField,
    grid,
    parse_vary,
    point_configs,
    run_sweep,
)
from proofs_check.sweep_output import sweep_json, sweep_markdown, write_sweep

TINY_SETS = ["limit.word_length=3", "training.horizon=1.0"]


def test_ranges_lists_and_integer_fields():
    assert parse_vary("network.beta=0.55:0.95:5").values == pytest.approx(
        (0.55, 0.65, 0.75, 0.85, 0.95), abs=1e-15)
    assert parse_vary("network.beta=3/5,0.8").values == (0.6, 0.8)
    assert parse_vary("init.b_max=0.3:0.3:1").values == (0.3,)
    assert parse_vary("limit.word_length=3:6:4").values == (3, 4, 5, 6)
    assert all(isinstance(v, int) for v in parse_vary("run.seed=1,2").values)


@pytest.mark.parametrize("text, message", [
    ("network.beta=0.5:0.9:0", "n must be an integer"),
    ("network.beta=0.5:0.9:2.5", "n must be an integer"),
    ("network.beta=0.5:0.9", "a range is a:b:n"),
    ("network.beta=0.5:0.9:3:4", "a range is a:b:n"),  # not n = 3 with the 4 ignored
    ("network.beta=0.5:0.9:65", r"n must be an integer in \[1, 64\]"),  # before the grid
    ("network.activation=1,2", "not a numeric field"),
    ("network.trainable=1", "not a numeric field"),
    ("network.bta=0.6", "unknown field"),
    ("beta=0.6", "expected table.key"),
    ("network.beta=", "expected table.key"),
    ("network.beta=__import__('os')", "is not a number"),
    ("network.beta=0.6,0.6", "repeated values"),
    ("limit.word_length=3.5,4", "integer field takes integer values"),
    ("run.N=100,200", "the rate checks do not read it .each point runs its budget's N-ladder"),
    ("run.replicas=2:8:4", "the rate checks do not read it"),
    ("network.beta=" + ",".join(str(0.5 + i / 1000) for i in range(65)), "at most 64 values"),
    # beyond double precision: was an internal error (OverflowError) and a misleading "0.0"
    ("training.alpha=1e400,1", r"1\.00000e\+400 is beyond the range of double precision"),
    ("training.horizon=1e-400,1", r"1\.00000e-400 is beyond the range of double precision"),
    ("training.alpha=1:1e400:3", "beyond the range of double precision"),
])
def test_bad_vary_is_one_line(text, message):
    with pytest.raises(SweepError, match=message):
        parse_vary(text)


def test_unread_fields_are_not_read_by_any_check():
    """The reason --vary refuses run.N and run.replicas (proofs_check.budget.UNREAD_FIELDS):
    no check module nor the report's plumbing reads them; they are `rnnkl simulate`'s."""
    import re
    from pathlib import Path

    from proofs_check.budget import UNREAD_FIELDS

    root = Path(__file__).resolve().parent.parent / "proofs_check"
    sources = [*sorted((root / "checks").glob("*.py")), root / "report.py", root / "budget.py",
               root / "sweep.py"]
    for field in UNREAD_FIELDS:
        pattern = re.compile(r"\." + re.escape(field) + r"\b")
        readers = [path.name for path in sources if pattern.search(path.read_text())]
        assert readers == [], (field, readers)
    # the checks pass N and replicas to the simulator themselves (checks._simulations), and the
    # pattern does find the reader where there is one: the simulator's defaults
    simulator = (root.parent / "numerics" / "simulate.py").read_text()
    assert re.search(r"\.run\.N\b", simulator) and re.search(r"\.run\.replicas\b", simulator)
    assert "simulate(config, N=n_units, replicas=replicas" in (
        root / "checks" / "_simulations.py").read_text()


@given(st.text(max_size=60))
def test_any_text_parses_or_is_refused_in_one_line(text):
    try:
        field = parse_vary(text)
    except SweepError as error:
        assert "\n" not in str(error) and len(str(error)) < 200
    else:
        assert 1 <= len(field.values) <= 64


def test_grid_order_and_limits():
    beta = VariedField("network.beta", (0.6, 0.8))
    b_max = VariedField("init.b_max", (0.3, 0.4, 0.5))
    points = grid((beta, b_max))
    assert points[:2] == [{"network.beta": 0.6, "init.b_max": 0.3},
                          {"network.beta": 0.6, "init.b_max": 0.4}]
    assert len(points) == 6
    with pytest.raises(SweepError, match="at most"):
        grid((VariedField("network.beta", tuple(range(9))),
              VariedField("init.b_max", tuple(range(MAX_POINTS // 8 + 1)))))
    with pytest.raises(SweepError, match="twice"):
        grid((beta, beta))
    with pytest.raises(SweepError, match="one or two"):
        grid((beta, b_max, VariedField("init.c_std", (1.0,))))


def test_every_point_is_validated_before_work():
    from derivations.inputs.config import ConfigError

    with pytest.raises(ConfigError, match="network.beta"):  # beta = 1/2 needs antisymmetric
        point_configs(None, [], (parse_vary("network.beta=0.5,0.6"),))


SOURCE = "built-in default; limit.word_length <lowered> (a note the command adds)"


@pytest.fixture(scope="module")
def small_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    varied = (parse_vary("network.beta=0.6,0.8"),)
    points = point_configs(None, TINY_SETS, varied)
    sweep = run_sweep(points, varied, TINY, str(out), source=SOURCE)
    write_sweep(sweep, str(out))
    return out, sweep, points, varied


def test_small_sweep_writes_its_files_and_numbers(small_sweep):
    out, sweep, _, _ = small_sweep
    document = json.loads((out / "sweep.json").read_text())
    assert document["varied"] == [{"field": "network.beta", "values": [0.6, 0.8]}]
    assert [p["values"] for p in document["points"]] == [{"network.beta": 0.6},
                                                        {"network.beta": 0.8}]
    for point, values in zip(document["points"], (0.6, 0.8), strict=True):
        assert point["config"]["network"]["beta"] == values
        names = {r["name"] for r in point["results"]}
        assert {"output_at_init", "parameter_drift", "main_theorem", "frozen_network"} <= names
        for result in point["results"]:  # prediction = the derived rate at this beta
            if result["name"] in ("main_theorem", "frozen_network"):
                assert result["prediction"] == pytest.approx(-min(values - 0.5, 1 - values))
            assert result["verdict"] in ("pass", "fail", "inconclusive")
            assert result["rivals"], result["name"]  # every rate result names its rivals
    totals = document["summary"]
    assert totals["passed"] + totals["failed"] + totals["inconclusive"] == totals["checks"]
    assert (out / "figures" / "phase_diagram.png").read_bytes()[:4] == b"\x89PNG"
    assert "phase diagram" in (out / "sweep.html").read_text()
    markdown = (out / "sweep.md").read_text()
    assert f"{totals['passed']} pass, {totals['failed']} fail" in markdown
    assert "not the paper's" in markdown
    # where the configuration came from, with the command's notes (a lowered word length)
    assert f"Configuration: {SOURCE}." in markdown and document["config_source"] == SOURCE
    assert "Configuration: built-in default; limit.word_length &lt;lowered&gt;" in (
        out / "sweep.html").read_text()
    # the interval beside "measured" is result.ci: named as the report names it (was "99.5% CI"
    # over the 95% interval; 99.5% is the acceptance window's level)
    from proofs_check.render import SUMMARY_HEADER
    from proofs_check.stats import CONFIDENCE

    assert SUMMARY_HEADER[4] == f"{CONFIDENCE:.0%} CI"
    assert f"| measured [{SUMMARY_HEADER[4]}] | acceptance window |" in markdown
    assert markdown.count("| network.beta = 0.6 |") == len(document["points"][0]["results"])
    # a rival's name keeps its meaning: E[Y_0 | X_0] is escaped, never rewritten as a ratio
    rivals = {rv["name"] for p in document["points"] for r in p["results"] for rv in r["rivals"]}
    conditional = [name for name in rivals if "|" in name]
    assert conditional, "the default target has lags: its wrong-target rival is E[Y_0 | X_0]"
    for name in conditional:
        assert name.replace("|", "\\|") in markdown and name.replace("|", "/") not in markdown


def test_rerun_resumes_from_the_cache_with_identical_numbers(small_sweep):
    out, sweep, points, varied = small_sweep
    again = run_sweep(points, varied, TINY, str(out), source=SOURCE)
    assert all(p.report.cache_misses == 0 and p.report.cache_hits > 0 for p in again.points)
    first, second = sweep_json(sweep), sweep_json(again)
    for a, b in zip(first["points"], second["points"], strict=True):
        for ra, rb in zip(a["results"], b["results"], strict=True):
            assert (ra["measured"], ra["ci"], ra["window"], ra["verdict"]) == (
                rb["measured"], rb["ci"], rb["window"], rb["verdict"])
    assert sweep_markdown(sweep) == sweep_markdown(again)


def test_every_progress_line_names_its_point(small_sweep, capsys):
    """A sweep's progress lines say which grid point they belong to (they were the report's
    "rnnkl report: check ..." lines, the same for every point) and carry each result's rival
    tally; rerun on the fixture's cache, so no work is repeated."""
    out, _, points, varied = small_sweep
    again = run_sweep(points, varied, TINY, str(out), progress=True)
    lines = capsys.readouterr().err.splitlines()
    for index, point in enumerate(again.points):
        prefix = f"rnnkl sweep: point {index + 1}/2 (network.beta={point.values['network.beta']}):"
        ends = [line for line in lines if line.startswith(f"{prefix} check ")]
        assert len(ends) == len(point.report.results)
        for line, result in zip(ends, point.report.results, strict=True):
            assert line.startswith(f"{prefix} check {result.name}: {result.verdict.upper()} in ")
            rejected = sum(rival.rejected for rival in result.rivals)
            assert f"); {rejected} of {len(result.rivals)} rivals rejected" in line
    assert all(line.startswith("rnnkl sweep: point ") for line in lines), lines


def test_sweep_checks_are_the_rate_checks():
    assert SWEEP_CHECKS == ("output_at_init", "parameter_drift", "main_theorem")


@pytest.mark.parametrize("argv", [
    ["sweep", "--vary", "network.beta=0.6", "--vary", "init.b_max=0.3", "--vary",
     "init.c_std=1"],
    ["sweep", "--vary", "network.beta=0.5,0.6"],
    ["sweep", "--vary", "network.beta=oops"],
    ["sweep", "--vary", "network.beta=0.6", "--budget", "huge"],
])
def test_cli_bad_input_exit_2_one_line(argv, capsys, tmp_path):
    try:  # argparse's own refusals exit through SystemExit
        code = main([*argv, "--out", str(tmp_path / "o"), "--no-progress"])
    except SystemExit as exit_:
        code = exit_.code
    assert code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()  # refused before any work


@pytest.mark.parametrize(("argv", "start"), [
    # the point's own error names the point
    (["--vary", "network.beta=0.5,0.6"], "--vary point network.beta=0.5: network.beta: "),
    (["--vary", "limit.word_length=2,14"],
     "--vary point limit.word_length=14: limit.word_length = 14: "),  # the memory refusal
    (["--vary", "network.beta=0.6", "--vary", "init.b_max=0.3,1.5"],
     "--vary point network.beta=0.6, init.b_max=1.5: init.b_max: "),
    # a huge integer is named short; its 401 digits cut the reason off the line
    (["--vary", "limit.word_length=1e400,2"],
     "--vary point limit.word_length=1.00000e+400: limit.word_length: 1.00000e+400 is beyond"),
    # an error of the base layers alone stays the base's
    (["--vary", "network.beta=0.6,0.7", "--set", "run.seed=-1"], "run.seed: "),
])
def test_a_refused_point_is_named(argv, start, capsys, tmp_path):
    """Was "network.beta: beta = 1/2 requires ..." with no word of which grid point."""
    code = main(["sweep", *argv, "--out", str(tmp_path / "o"), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert err.startswith(f"rnnkl: error: {start}"), err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("variant", ["plain", "antisymmetric", "c_std = 0", "w_std = 0"])
def test_prediction_curve_is_the_derived_exponent(small_sweep, variant):
    """The phase diagram's curve (derivations.scaling printed for NumPy) equals the prediction
    each check uses (checks._common.predicted_exponent) along beta, kinks included; with
    f_0 = 0 exactly (antisymmetric, or c or S drawn at 0) both drop the output term."""
    import numpy as np

    from proofs_check.checks._common import output_vanishes, predicted_exponent
    from proofs_check.sweep_output import PHASE_RESULTS, _prediction_curve

    _, sweep, _, _ = small_sweep
    point = sweep.points[0]
    config = point.report.config
    if variant == "antisymmetric":
        config = config.replace(network=dataclasses.replace(config.network, antisymmetric=True))
    elif variant != "plain":
        field = variant.split(" ")[0]
        config = config.replace(init=dataclasses.replace(config.init, **{field: 0.0}))
    zero_output = output_vanishes(config)
    assert zero_output is (variant != "plain")
    report = dataclasses.replace(point.report, config=config)
    variant_sweep = dataclasses.replace(sweep, points=(dataclasses.replace(point, report=report),))
    xs = np.array([0.5, 0.55, 0.6875, 0.75, 0.8, 0.95])
    for term in set(PHASE_RESULTS.values()):
        curve = _prediction_curve(variant_sweep, zero_output, term, xs)
        if zero_output and term == "output_at_init":
            assert curve is None  # f_0 = 0 exactly: no exponent to draw
            continue
        expected = [predicted_exponent(term, config.replace(network=dataclasses.replace(
            config.network, beta=float(x)))) for x in xs]
        np.testing.assert_allclose(curve, expected, rtol=0, atol=1e-15)
    if zero_output:  # r = min(1 - beta, 1/2): at beta = 0.55 the output term would give 0.05
        overall = _prediction_curve(variant_sweep, True, "overall", xs)
        np.testing.assert_allclose(overall[1], -0.45, atol=1e-15)


def test_only_rate_exponents_are_drawn():
    from proofs_check.result import CheckResult
    from proofs_check.sweep_output import _is_rate

    zero = CheckResult(name="output_at_init", claim="", equation="", prediction=0.0,
                       quantity="max |f^N_0| over words, N and replicas", measured=0.0, ci=None,
                       tolerance=1e-12, tolerance_source="", accepted=True)
    assert not _is_rate(zero)
    assert _is_rate(dataclasses.replace(zero, quantity="rate exponent of RMS f^N_0 in N"))


def test_a_second_field_has_its_own_row_and_every_prediction_is_drawn(small_sweep):
    """Was: a two-field sweep drew the points of every second-field value at the same x, one
    over the other (README's own example, beta x b_max, showed a pass under a fail). And the
    predictions were drawn only as a curve along beta, so a sweep over b_max showed none."""
    from proofs_check.sweep import SweepPoint, VariedField
    from proofs_check.sweep_output import PHASE_RESULTS, _is_rate, phase_figure, phase_rows

    _, sweep, _, _ = small_sweep
    points = []  # the two measured points at two values of a second field, rows told apart
    for level, shift in ((0.3, 0.0), (0.5, -0.05)):  # by shifted measurements
        for point in sweep.points:
            results = tuple(r if r.measured is None else
                            dataclasses.replace(r, measured=r.measured + shift)
                            for r in point.report.results)
            points.append(SweepPoint({**point.values, "init.b_max": level},
                                     dataclasses.replace(point.report, results=results)))
    two = dataclasses.replace(sweep, points=tuple(points),
                              varied=(*sweep.varied, VariedField("init.b_max", (0.3, 0.5))))
    rows = phase_rows(two)
    assert [level for level, _ in rows] == [0.3, 0.5]
    assert sorted(id(p) for _, row in rows for p in row) == sorted(id(p) for p in points)
    figure = phase_figure(two)
    try:
        assert len(figure.axes) == 4  # (row, panel), row-major
        for r, (level, row) in enumerate(rows):
            assert all(p.values["init.b_max"] == level for p in row)
            for panel, suffix in enumerate(("", "_sharpness")):
                ax = figure.axes[2 * r + panel]
                assert f"init.b_max = {level:g}" in ax.get_title()
                drawn = [r for p in row for name in PHASE_RESULTS for r in p.report.results
                         if r.name == name + suffix and _is_rate(r)]
                marks = [(float(c.lines[0].get_xdata()[0]), float(c.lines[0].get_ydata()[0]))
                         for c in ax.containers]
                ticks = [(float(line.get_xdata()[0]), float(line.get_ydata()[0]))
                         for line in ax.get_lines() if line.get_gid() == "prediction"]
                assert sorted(y for _, y in marks) == pytest.approx(
                    sorted(r.measured for r in drawn))
                assert sorted(y for _, y in ticks) == pytest.approx(
                    sorted(r.prediction for r in drawn))
                assert sorted(x for x, _ in ticks) == sorted(x for x, _ in marks)
    finally:
        import matplotlib.pyplot as plt

        plt.close(figure)


def test_the_notes_the_table_leaves_out_are_listed(small_sweep):
    """A failed result's note (why it failed) and an omitted rival are not in the table's
    columns: the sweep lists them under "Notes", in markdown and HTML; a passing result's
    note is not listed."""
    import dataclasses

    from proofs_check.sweep_output import sweep_html

    _, sweep, _, _ = small_sweep
    point = sweep.points[0]
    first, second, *rest = point.report.results
    failed = dataclasses.replace(first, accepted=False,
                                 details=dict(first.details, note="a <derived> reason"))
    omitted = dataclasses.replace(second, details=dict(second.details, note="not listed",
                                                       omitted_rivals="a rival that is g"))
    report = dataclasses.replace(point.report, results=(failed, omitted, *rest))
    changed = dataclasses.replace(sweep, points=(dataclasses.replace(point, report=report),
                                                 *sweep.points[1:]))
    markdown = sweep_markdown(changed)
    assert "## Notes" in markdown
    assert f"- network.beta = 0.6, {first.name} (FAIL), note: a <derived> reason" in markdown
    assert (f"- network.beta = 0.6, {second.name} ({omitted.verdict.upper()}), rivals omitted: "
            "a rival that is g") in markdown
    assert "not listed" not in markdown
    html_text = sweep_html(changed, b"\x89PNG")
    assert "a &lt;derived&gt; reason" in html_text and "<h2>Notes</h2>" in html_text


def test_an_omitted_rival_is_listed_once_per_point(small_sweep):
    """A bound and its sharpness carry the same "rivals omitted" text: one line, not two."""
    import dataclasses

    _, sweep, _, _ = small_sweep
    point = sweep.points[0]
    results = tuple(dataclasses.replace(r, details=dict(r.details, omitted_rivals="the same"))
                    for r in point.report.results)
    report = dataclasses.replace(point.report, results=results)
    changed = dataclasses.replace(sweep, points=(dataclasses.replace(point, report=report),
                                                 *sweep.points[1:]))
    assert sweep_markdown(changed).count("rivals omitted: the same") == 1


def _with_verdicts(sweep, verdicts: dict[str, str]):
    """``sweep`` with the first point's results named in ``verdicts`` set to those verdicts
    (pass: accepted, every rival rejected; inconclusive: accepted, the first rival standing;
    fail: not accepted) and an acceptance window from 0.05 below to 0.2 above the measurement."""
    point = sweep.points[0]
    results = []
    for r in point.report.results:
        verdict = verdicts.get(r.name)
        if verdict is not None:
            rivals = tuple(dataclasses.replace(rv, rejected=not (verdict == "inconclusive"
                                                                 and i == 0))
                           for i, rv in enumerate(r.rivals))
            # an asymmetric window, so that its two ends cannot be drawn the wrong way round
            window = (None if r.measured is None
                      else (r.measured - 0.05, r.measured + 0.2))
            r = dataclasses.replace(r, accepted=verdict != "fail", rivals=rivals, window=window)
            assert r.verdict == verdict
        results.append(r)
    report = dataclasses.replace(point.report, results=tuple(results))
    return dataclasses.replace(sweep, points=(dataclasses.replace(point, report=report),
                                              *sweep.points[1:]))


VERDICT_MIX = {"main_theorem": "pass", "frozen_network": "inconclusive",
               "parameter_drift": "fail", "main_theorem_sharpness": "fail",
               "frozen_network_sharpness": "pass", "parameter_drift_sharpness": "inconclusive"}


def test_each_point_of_the_phase_diagram_is_marked_with_its_verdict_and_window(small_sweep):
    """The phase diagram's caption promises "filled: pass, open: inconclusive, x: fail" and the
    acceptance window as error bar: each drawn result's marker is its own verdict's and its bar
    runs from the window's low end to its high end (read back from matplotlib)."""
    import matplotlib.colors as mcolors
    import matplotlib.pyplot as plt

    from proofs_check.sweep_output import PANELS, PHASE_RESULTS, _is_rate, phase_figure

    _, sweep, _, _ = small_sweep
    mixed = _with_verdicts(sweep, VERDICT_MIX)
    figure = phase_figure(mixed)
    try:
        seen = set()
        for ax, (_, suffix) in zip(figure.axes, PANELS, strict=True):
            drawn = [r for name in PHASE_RESULTS for p in mixed.points for r in p.report.results
                     if r.name == name + suffix and _is_rate(r)]  # the drawing order
            assert len(ax.containers) == len(drawn)
            for container, result in zip(ax.containers, drawn, strict=True):
                line = container.lines[0]
                face = mcolors.to_hex(line.get_markerfacecolor())
                edge = mcolors.to_hex(line.get_markeredgecolor())
                marker = {"pass": ("o", edge), "inconclusive": ("o", "#ffffff"),
                          "fail": ("x", edge)}[result.verdict]
                assert (line.get_marker(), face) == marker, (result.name, result.verdict)
                assert float(line.get_ydata()[0]) == result.measured
                (segment,) = container.lines[2][0].get_segments()
                assert [float(y) for _, y in segment] == pytest.approx(
                    list(result.window), rel=1e-12, abs=0.0)
                seen.add(result.verdict)
        assert seen == {"pass", "inconclusive", "fail"}
    finally:
        plt.close(figure)


def test_each_table_row_gives_its_results_verdict_window_and_rivals(small_sweep):
    """sweep.md's rows: per result its prediction, measurement with the 95% interval, the
    acceptance window, its verdict and each rival's own verdict."""
    _, sweep, _, _ = small_sweep
    mixed = _with_verdicts(sweep, VERDICT_MIX)
    markdown = sweep_markdown(mixed)
    point = mixed.points[0]
    for r in point.report.results:
        if r.measured is None or r.ci is None or r.window is None:
            continue
        rivals = "; ".join(f"{rv.name}: {'rejected' if rv.rejected else 'not rejected'}"
                           for rv in r.rivals)
        cells = ["network.beta = 0.6", r.name, f"{r.prediction:.3f}",
                 f"{r.measured:.3f} [{r.ci[0]:.3f}, {r.ci[1]:.3f}]",
                 f"[{r.window[0]:.3f}, {r.window[1]:.3f}]", r.verdict.upper(), rivals]
        assert "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |" in markdown, r.name
    totals = json.loads(json.dumps(sweep_json(mixed)))["summary"]
    assert totals["points"] == len(mixed.points) == 2
    assert (f"{totals['passed']} pass, {totals['failed']} fail, {totals['inconclusive']} "
            f"inconclusive of {totals['checks']} results") in markdown
