"""The report framework: a tiny-budget report writes results.json / report.md / report.html /
figures consistently, resumes from its cache with identical numbers, and the command's exit
codes follow the verdicts. (The quick-budget verdict tests are in test_report_quick.py, slow.)"""

from __future__ import annotations

import dataclasses
import html
import json
import re

import numpy as np
import pytest

from derivations.inputs.config import load_config, with_overrides
from proofs_check.budget import TINY, get_budget
from proofs_check.cache import Cache, code_salt
from proofs_check.cli import main
from proofs_check.report import run_checks, write_report

TOP_KEYS = {"config", "budget", "checks"}
LIMIT_RIVAL = "f^N converges to the limit of "
CHECK_KEYS = {"name", "claim", "prediction", "measured", "ci", "tolerance", "verdict",
              "rivals", "window", "accepted", "ladder"}


@pytest.fixture(scope="module")
def tiny_config():
    config = with_overrides(load_config(None), word_length=3)
    return config.replace(training=dataclasses.replace(config.training, horizon=1.0))


@pytest.fixture(scope="module")
def first_run(tiny_config, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    # One salt for the whole module: teammates editing sources meanwhile must not change keys.
    salt = code_salt()
    report = run_checks(tiny_config, TINY, out, progress=False, cache=Cache(out / "cache", salt))
    write_report(report, out)
    return out, report, salt


def _strip_timing(doc):
    for check in doc["checks"]:
        check.pop("seconds", None)
    return doc


def test_files_and_schema(first_run):
    out, report, _ = first_run
    for name in ("report.md", "report.html", "results.json"):
        assert (out / name).is_file()
    doc = json.loads((out / "results.json").read_text())
    assert TOP_KEYS <= set(doc)
    assert doc["budget"]["name"] == "tiny"
    assert len(doc["checks"]) == len(report.results) >= 8
    for check in doc["checks"]:
        assert CHECK_KEYS <= set(check)
        assert check["verdict"] in ("pass", "fail", "inconclusive")
        assert check["rivals"], check["name"]  # every check names its rivals
        for rival in check["rivals"]:
            assert {"name", "verdict", "prediction", "measured", "reason"} <= set(rival)
            assert rival["verdict"] in ("rejected", "not rejected")
            assert rival["needs"] or rival["verdict"] == "rejected"
        expected = ("fail" if not check["accepted"] else
                    "pass" if all(r["verdict"] == "rejected" for r in check["rivals"])
                    else "inconclusive")
        assert check["verdict"] == expected
    figures = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert figures, "no figures written"
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "src='figures" not in html
    assert "http://" not in html and "https://" not in html


def test_markdown_table_matches_results_json(first_run):
    out, _, _ = first_run
    doc = json.loads((out / "results.json").read_text())
    md = (out / "report.md").read_text()
    cells = _summary_cells(md)
    assert [c[0] for c in cells] == [c["name"] for c in doc["checks"]]
    for row, check in zip(cells, doc["checks"], strict=True):
        assert row[7] == check["verdict"].upper()
        rejected = sum(r["verdict"] == "rejected" for r in check["rivals"])
        assert row[6] == f"{rejected} of {len(check['rivals'])}"
        if check["window"] is not None:
            lo, hi = (float(x) for x in row[5].strip("[]").split(","))
            assert lo == pytest.approx(check["window"][0], rel=6e-4)
            assert hi == pytest.approx(check["window"][1], rel=6e-4)
    assert "$$" in md
    for figure in re.findall(r"\]\((figures/[^)]+)\)", md):
        assert (out / figure).is_file()


def _summary_cells(md: str) -> list[list[str]]:
    """The body cells of report.md's summary table (between "## Summary" and the next "## ")."""
    summary = md.partition("## Summary")[2].partition("\n## ")[0]
    rows = [line for line in summary.splitlines() if line.startswith("| ") and "---" not in line]
    return [[c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows[1:]]


def test_per_check_tables_match_results_json(first_run):
    """Each check's section lists its rivals and the per-N table behind its fit."""
    out, _, _ = first_run
    doc = json.loads((out / "results.json").read_text())
    md = (out / "report.md").read_text()
    for check in doc["checks"]:
        section = md.partition(f"\n## {check['name']}\n")[2].partition("\n## ")[0]
        for rival in check["rivals"]:
            assert f"| {rival['name']} |" in section.replace("\\|", "|")
        for row in check["ladder"]:
            assert f"| {row['N']} | {row['replicas']} | {row['value']:.4g} |" in section


def _number(text: str):
    return None if text == "n/a" else float(text)


def _close(cell: str, value) -> bool:
    """A report.md number (4 significant digits, proofs_check.report._fmt) equals the
    results.json value rounded the same way."""
    if value is None:
        return cell == "n/a"
    return _number(cell) == pytest.approx(float(value), rel=6e-4, abs=1e-300)


def test_markdown_numbers_match_results_json(first_run):
    """Every number of the summary table (prediction, measured, 95% CI, tolerance) and of the
    cross-check table (max deviation, tolerance) equals its results.json value."""
    out, _, _ = first_run
    doc = json.loads((out / "results.json").read_text())
    md = (out / "report.md").read_text()
    cross = md.partition("## Independent cross-checks")[2]
    cells = _summary_cells(md)
    assert len(cells) == len(doc["checks"])
    for row, check in zip(cells, doc["checks"], strict=True):
        assert _close(row[2], check["prediction"]), (check["name"], row[2])
        assert _close(row[3], check["measured"]), (check["name"], row[3])
        assert check["window"] is not None or row[5] == "n/a"
        if check["ci"] is None:
            assert row[4] == "n/a"
        else:
            lo, hi = (float(x) for x in row[4].strip("[]").split(","))
            assert lo == pytest.approx(check["ci"][0], rel=6e-4)
            assert hi == pytest.approx(check["ci"][1], rel=6e-4)
    cross_rows = [line for line in cross.splitlines()
                  if line.startswith("| ") and "---" not in line][1:]
    assert len(cross_rows) == len(doc["crosschecks"])
    for line, entry in zip(cross_rows, doc["crosschecks"], strict=True):
        row = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        assert row[1] == f"{entry['library']} {entry['version']}"
        assert row[2] == entry["size"]
        assert float(row[3]) == pytest.approx(float(entry["max_deviation"]), rel=6e-4)
        assert float(row[4]) == pytest.approx(float(entry["tolerance"]), rel=6e-4)
        assert row[5] == ("PASS" if entry["passed"] else "FAIL")


def test_every_rate_figure_draws_its_own_claims_rivals_and_verdicts(first_run):
    """A rate figure shows the rivals of the claim it stands under, with their verdicts, and no
    other claim's: the bound's figure once drew the sharpness rival "1/4 faster" (not a rival
    of the bound) and no verdict at all. Each sharpness claim has its rate figure too."""
    _, report, _ = first_run
    rate_claims = 0
    for result in report.results:
        figures = [fig for fig in result.figures if fig.kind == "rate"]
        if not figures:
            continue
        rate_claims += 1
        labels = set()
        for fig in figures:
            labels |= set(fig.meta["rivals"]) | {k for k in fig.series if k.startswith("rival")}
            assert np.allclose(fig.meta["window"], result.window), result.name
            if "predicted" in fig.meta:
                assert fig.meta["predicted"] == result.prediction, result.name
        drawn = {label.removeprefix("rival: ") for label in labels}
        limits = [r for r in result.rivals if r.name.startswith(LIMIT_RIVAL)]
        assert drawn == {f"{r.name}: {r.verdict}" for r in result.rivals if r not in limits}
        if limits:  # rival limits: drawn in the figure of their own test, verdicts included
            shown = next(fig for fig in result.figures if fig.kind == "rivals").meta["labels"]
            assert shown == [f"{r.name.removeprefix(LIMIT_RIVAL)} ({r.verdict})" for r in limits]
    names = {r.name for r in report.results if any(f.kind == "rate" for f in r.figures)}
    assert rate_claims >= 10 and "main_theorem_sharpness" in names, names


def test_the_main_theorems_figures_draw_its_statistic(first_run):
    """The figure "error over training" draws, per N, the RMS over replicas of f^N - g_t at
    each time of the grid; the main theorem fits the sup over the grid of that RMS, so each
    curve's largest value is the ladder's value at that N (the claim, the measurement and the
    figure are one quantity). The limit's training loss 1/2 sum_u pi_L(u) (ybar - g_t)^2 is
    non-increasing: the limit ODE is a gradient flow of it with a positive semi-definite kernel
    (theory.md §4)."""
    _, report, _ = first_run
    result = next(r for r in report.results if r.name == "main_theorem")
    curves = next(f for f in result.figures if f.title.startswith("Error of the network"))
    assert [row.N for row in result.ladder] == list(TINY.n_ladder)
    for row in result.ladder:
        assert float(np.max(curves.series[f"p0|N={row.N}|y"])) == pytest.approx(row.value,
                                                                                rel=1e-12)
    training = next(f for f in result.figures if f.title.startswith("Training"))
    loss = training.series["p0|limit|y"]
    assert loss[0] > 0 and np.all(np.diff(loss) <= 1e-12 * loss[0])


def test_checks_that_ran_have_controls_and_intervals(first_run):
    _, report, _ = first_run
    ran = [r for r in report.results if "error" not in r.details]
    names = {r.name for r in ran}
    assert {"memory_contraction", "kernel_at_init", "output_at_init"} <= names
    for result in ran:
        assert result.rivals
        assert result.tolerance is not None and result.tolerance_source
        assert result.passed == (result.accepted and all(r.rejected for r in result.rivals))
        if result.ladder:  # a rate: its window, resolution and per-N table are reported
            assert result.window is not None and result.resolution is not None
            assert [row.N for row in result.ladder] == list(result.details["ladder"])


def test_resume_gives_identical_numbers_without_recomputing(first_run, tiny_config):
    out, _, salt = first_run
    before = _strip_timing(json.loads((out / "results.json").read_text()))
    for name in ("report.md", "report.html", "results.json"):
        (out / name).unlink()
    for png in (out / "figures").glob("*.png"):
        png.unlink()
    cache = Cache(out / "cache", salt)
    report = run_checks(tiny_config, TINY, out, progress=False, cache=cache)
    write_report(report, out)
    after = _strip_timing(json.loads((out / "results.json").read_text()))
    assert cache.misses == 0 and cache.hits > 0
    assert after == before


def test_interrupted_run_recomputes_only_the_missing_entry(first_run, tiny_config):
    out, _, salt = first_run
    entries = sorted((out / "cache").glob("simulation-*.npz"))
    assert len(entries) == len(TINY.n_ladder)  # one trained ladder, shared by the checks
    entries[0].unlink()
    cache = Cache(out / "cache", salt)
    run_checks(tiny_config, TINY, out, progress=False, cache=cache, checks=("main_theorem",))
    assert cache.misses == 1
    assert len(list((out / "cache").glob("simulation-*.npz"))) == len(entries)


def test_cli_bad_input_exit_2(tmp_path, capsys):
    assert main(["report", "--config", str(tmp_path / "missing.toml"), "--out",
                 str(tmp_path / "o")]) == 2
    bad = tmp_path / "bad.toml"
    bad.write_text("[network]\nbeta = 2.0\n")
    assert main(["report", "--config", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    with pytest.raises(SystemExit) as info:
        main(["report", "--budget", "huge"])
    assert info.value.code == 2


def test_budgets_are_ordered():
    quick, standard, full = (get_budget(n) for n in ("quick", "standard", "full"))
    assert quick.replicas <= standard.replicas <= full.replicas
    assert max(quick.n_ladder) < max(standard.n_ladder) <= max(full.n_ladder)
    assert max(standard.n_ladder) >= 32000  # issue 7: standard's ladder reaches N >= 32000
    assert max(full.n_ladder) >= 32000
    assert quick.limit_accuracy > standard.limit_accuracy > full.limit_accuracy


def test_replicas_per_rung():
    """Budget.replicas_at: the full count up to N_ref, then ~ (N_ref/N)^2 with a floor, so the
    cost R(N) N^2 of a rung stays bounded; budgets without N_ref keep one count."""
    standard = get_budget("standard")
    counts = [standard.replicas_at(n) for n in standard.n_ladder]
    assert counts == sorted(counts, reverse=True)
    assert min(counts) >= standard.min_replicas >= 8
    assert max(counts) == standard.replicas
    ref = standard.full_replicas_up_to
    for n, r in zip(standard.n_ladder, counts, strict=True):
        if n > ref and r > standard.min_replicas:
            assert r * n * n <= standard.replicas * ref * ref * 1.01
    for name in ("quick", "full"):
        b = get_budget(name)
        assert {b.replicas_at(n) for n in b.n_ladder} == {b.replicas}
    assert TINY.replicas_at(max(TINY.n_ladder)) == TINY.replicas


def test_fit_rate_unequal_replica_counts():
    """stats.fit_rate with a different replica count per level: each level's variance from its
    own replicas; equal counts give the same slope as the (levels, R) array form."""
    from proofs_check.stats import fit_rate

    rng = np.random.default_rng(0)
    ns = np.array([256, 512, 1024, 2048])
    ragged = [n**-0.5 * (1 + 0.1 * rng.standard_normal(r)) for n, r in
              zip(ns, (64, 32, 16, 8), strict=True)]
    fit = fit_rate(ns, ragged, rng=np.random.default_rng(1))
    assert abs(fit.slope + 0.5) < 0.1
    assert fit.dof == 7
    square = rng.random((4, 16))
    assert fit_rate(ns, square).slope == fit_rate(ns, list(square)).slope


def test_reports_are_readable_mathematics(first_run):
    """report.html: equations as MathML (no raw LaTeX), the configuration line as in
    report.md, and neither report speaks of issues or docstrings."""
    from proofs_check.render import config_line, equation_latex

    out, report, _ = first_run
    page = (out / "report.html").read_text()
    md = (out / "report.md").read_text()
    n_equations = sum(len(equation_latex(r)) for r in report.results)
    assert n_equations >= len(report.results) // 2
    assert page.count("<div class='eq'>") == n_equations
    assert "<code>" not in "".join(re.findall(r"<div class='eq'>.*?</div>", page, re.DOTALL))
    assert page.count("<math") >= n_equations
    assert "$$" not in page and "\\left" not in page and "\\frac" not in page
    line = config_line(report).partition(" Run time")[0]  # timing differs after a resume
    assert "activation tanh, beta = 0.75" in line and "target y = tanh(2*x0*x1 + x0)" in line
    assert html.escape(line) in page
    # report.md shows the expression as a code span: plain, 2*x0*x1 italicises x0
    assert line.replace("tanh(2*x0*x1 + x0)", "`tanh(2*x0*x1 + x0)`") in md
    for text in (md, page):
        assert not re.search(r"\bissues?\b|docstring", text, flags=re.IGNORECASE)


@pytest.mark.parametrize(("verdicts", "strict", "code"), [
    (("pass", "pass"), False, 0), (("pass", "inconclusive"), False, 0),
    (("pass", "inconclusive"), True, 1), (("pass", "fail"), False, 1),
    (("pass", "pass"), True, 0)])
def test_exit_code_follows_the_three_valued_verdicts(verdicts, strict, code, tmp_path,
                                                     monkeypatch, capsys):
    """Exit 0 when nothing fails, 1 when something fails; --strict also 1 on inconclusive.
    The closing line counts pass / fail / inconclusive."""
    from proofs_check.commands import report as command
    from proofs_check.report import Report
    from proofs_check.result import CheckResult, Rival

    def result(verdict: str) -> CheckResult:
        return CheckResult(
            name=f"c_{verdict}", claim="c", equation="", quantity="q", prediction=0.0,
            measured=0.0, ci=None, tolerance=1.0, tolerance_source="t",
            accepted=verdict != "fail",
            rivals=(Rival("r", 1.0, 0.0, verdict == "pass", "why", "" if verdict == "pass"
                          else "more replicas"),))

    report = Report(config=load_config(None), budget=TINY,
                    results=tuple(result(v) for v in verdicts), seconds=0.0, cache_hits=0,
                    cache_misses=0, crosschecks=None)
    assert all(r.verdict == v for r, v in zip(report.results, verdicts, strict=True))
    monkeypatch.setattr(command, "run_checks", lambda *a, **k: report)
    args = type("A", (), {"config": None, "budget": "quick", "out": str(tmp_path),
                          "no_progress": True, "strict": strict, "set": []})()
    assert command.run(args) == code
    closing = capsys.readouterr().err.strip().splitlines()[-1]
    counts = {v: verdicts.count(v) for v in ("pass", "fail", "inconclusive")}
    assert closing.startswith(f"rnnkl report: {counts['pass']} pass, {counts['fail']} fail, "
                              f"{counts['inconclusive']} inconclusive of {len(verdicts)} checks")


@pytest.mark.parametrize(("sets", "noted"), [
    (["run.N=100", "run.replicas=9"], ["run.N", "run.replicas"]),
    (["run.seed=3", "network.beta=0.6"], []),
])
def test_the_report_says_it_ignores_run_n_and_replicas_set_on_the_command_line(
        monkeypatch, capsys, tmp_path, sets, noted):
    """`rnnkl report --set run.N=...` ran its budget's ladder without a word (the per-N tables
    showed it); now one stderr note per ignored field. Fields the report reads get none."""
    from proofs_check.commands import report as command
    from proofs_check.report import Report

    report = Report(config=load_config(None), budget=TINY, results=(), seconds=0.0,
                    cache_hits=0, cache_misses=0, crosschecks=None)
    monkeypatch.setattr(command, "run_checks", lambda *a, **k: report)
    args = type("A", (), {"config": None, "budget": "quick", "out": str(tmp_path),
                          "no_progress": True, "strict": False, "set": sets})()
    command.run(args)
    notes = [line for line in capsys.readouterr().err.splitlines() if "note:" in line]
    assert [line.split("--set ")[1].split(" ")[0] for line in notes] == noted
    assert all("is not read by the report" in line and "--budget" in line for line in notes)


def _resign(entry, payload: bytes) -> None:
    """Write ``payload`` as the entry and record its true sha256 beside it, as a writer with a
    bug would: only the zip CRC or the recorded array layout can then tell."""
    import hashlib

    meta_path = entry.with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    meta["sha256"] = hashlib.sha256(payload).hexdigest()
    entry.write_bytes(payload)
    meta_path.write_text(json.dumps(meta))


def test_corrupt_cache_entries_are_recomputed_to_the_same_numbers(first_run, tiny_config,
                                                                  capsys):
    """Six kinds of damage: a truncated, an empty and a bit-flipped entry (the checksum beside
    each entry catches what the zip format does not), an entry with another key's files, a
    bad CRC under a matching checksum, and arrays of the wrong shape under a matching
    checksum. Each is reported once and recomputed; results.json is unchanged."""
    import io

    import numpy as np

    out, _, salt = first_run
    before = _strip_timing(json.loads((out / "results.json").read_text()))
    entries = sorted((out / "cache").glob("*.npz"))
    assert len(entries) >= 6
    truncated, empty, flipped, other_key, bad_crc, wrong_shape = (
        entries[0], entries[1], entries[-1], entries[2], entries[3], entries[4])
    truncated.write_bytes(truncated.read_bytes()[: truncated.stat().st_size // 2])
    empty.write_bytes(b"")
    data = bytearray(flipped.read_bytes())
    data[len(data) // 2] ^= 0x01
    flipped.write_bytes(bytes(data))
    donor = entries[5]
    other_key.write_bytes(donor.read_bytes())
    other_key.with_suffix(".json").write_bytes(donor.with_suffix(".json").read_bytes())
    with np.load(bad_crc) as arrays:  # flip one byte inside the largest array's data
        name = max(arrays.files, key=lambda n: arrays[n].nbytes)
        raw = arrays[name].tobytes()
    payload = bytearray(bad_crc.read_bytes())
    at = bytes(payload).find(raw[:64]) + 32
    assert at > 32
    payload[at] ^= 0x01
    _resign(bad_crc, bytes(payload))
    def reshaped(a: np.ndarray) -> np.ndarray:  # same data, another shape, whatever the rank
        if a.ndim == 0:  # a scalar entry (the limit's delta, say): two copies
            return np.repeat(a, 2)
        if a.ndim > 1:
            return a.reshape(-1)
        return a[:-1] if a.size else np.zeros(1)

    with np.load(wrong_shape) as arrays:
        # which entry sorts here depends on the cache keys, so any rank can land here (a 0-d
        # array once did, in CI's environment, and a[:-1] raised IndexError)
        changed = {n: reshaped(arrays[n]) for n in arrays.files}
    buffer = io.BytesIO()
    np.savez(buffer, **changed)
    _resign(wrong_shape, buffer.getvalue())
    capsys.readouterr()
    cache = Cache(out / "cache", salt)
    report = run_checks(tiny_config, TINY, out, progress=False, cache=cache)
    write_report(report, out)
    err = capsys.readouterr().err
    damaged = (truncated, empty, flipped, other_key, bad_crc, wrong_shape)
    assert cache.misses == len(damaged)
    for entry in damaged:
        assert err.count(f"cache entry {entry.name} is unreadable") == 1, entry.name
    assert _strip_timing(json.loads((out / "results.json").read_text())) == before
    again = Cache(out / "cache", salt)  # the recomputed entries are whole again
    run_checks(tiny_config, TINY, out, progress=False, cache=again)
    assert again.misses == 0
