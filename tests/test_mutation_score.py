"""benchmarks/mutation_score.py removes its working copies on every exit: a run whose baseline
fails returned early and left a copy of the repository per job in the temp directory (with
.ci/run's venvs, repeated runs once filled the disk)."""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _module(monkeypatch):
    spec = importlib.util.spec_from_file_location("mutation_score",
                                                  ROOT / "benchmarks" / "mutation_score.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "mutation_score", module)  # its dataclasses look it up
    spec.loader.exec_module(module)
    return module


def test_a_failing_baseline_leaves_no_copy_behind(monkeypatch, tmp_path, capsys):
    module = _module(monkeypatch)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    copied: list[Path] = []

    def copy(target: Path) -> None:  # a stand-in copy: one file, no repository
        target.mkdir(parents=True)
        (target / "marker").write_text("x")
        copied.append(target)

    monkeypatch.setattr(module, "_copy_repository", copy)
    monkeypatch.setattr(module, "_run_tests",
                        lambda copy, tests, marker=None, timeout=None: (
                            1, 0.0, "FAILED tests/test_x.py::test_y - assert 1 == 2\n"))
    first = module.MUTATIONS[0].name
    assert module.main(["--only", first, "--jobs", "2"]) == 1
    out = capsys.readouterr().out
    assert "fail on the unmutated copy" in out
    # which test failed: CI once printed only the line above, and the run could not be read
    assert "FAILED tests/test_x.py::test_y - assert 1 == 2" in out
    assert len(copied) == 2 and not any(p.exists() for p in copied)
    assert not list(tmp_path.glob("rnnkl-mutants-*"))


def test_every_mutation_still_matches_the_code_exactly_once(monkeypatch):
    """An edit that changes a mutated line makes the list stale, and .ci/run then stops at its
    last step (it did: the lazy-training line changed under "static_kernel_ignored"). The fast
    suite says so first."""
    module = _module(monkeypatch)
    assert module._stale(module.MUTATIONS) == []
    names = [m.name for m in module.MUTATIONS]
    assert len(names) == len(set(names))


def test_the_baseline_runs_each_marker_on_its_own_tests(monkeypatch, tmp_path, capsys):
    """A mutation of an optional extra's tests (-m distributed) once put its marker into the one
    baseline run, which then deselected every other listed test: the baseline ran per marker."""
    module = _module(monkeypatch)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    calls: list[tuple[tuple[str, ...], str | None]] = []
    plain = next(m for m in module.MUTATIONS if m.marker is None)
    extra = next(m for m in module.MUTATIONS if m.marker == "distributed")

    def copy(target: Path) -> None:  # a stand-in copy: the two mutated files only
        for mutation in (plain, extra):
            (target / mutation.path).parent.mkdir(parents=True, exist_ok=True)
            (target / mutation.path).write_text(mutation.original)

    monkeypatch.setattr(module, "_copy_repository", copy)

    def record(copy, tests, marker=None, timeout=None):
        calls.append((tuple(tests), marker))
        return 1, 0.0, ""  # a failing baseline stops the run before any mutant

    monkeypatch.setattr(module, "_run_tests", record)
    module.main(["--only", plain.name, extra.name, "--jobs", "1"])
    assert calls[0] == (tuple(sorted(plain.tests)), None)  # stops at the first failing group
    calls.clear()
    monkeypatch.setattr(module, "_run_tests",
                        lambda copy, tests, marker=None, timeout=None: (
                            calls.append((tuple(tests), marker)) or (0, 0.0, "")))
    module.main(["--only", plain.name, extra.name, "--jobs", "1"])
    baselines = calls[:2]
    assert (tuple(sorted(plain.tests)), None) in baselines
    assert (tuple(sorted(extra.tests)), "distributed") in baselines
    assert all(not any(t.startswith("-") for t in tests) for tests, _ in calls)


def test_the_baseline_has_its_own_timeout_and_says_when_it_ran_out(monkeypatch, tmp_path,
                                                                   capsys):
    """The baseline (every listed file in one run, ~380 s quiet) once hit the mutants' 600 s
    timeout on a loaded machine and the score failed with "fail on the unmutated copy (exit
    -1)". It now has BASELINE_TIMEOUT_SECONDS, the mutants keep TIMEOUT_SECONDS, and a baseline
    that runs out says so."""
    module = _module(monkeypatch)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(module, "_copy_repository", lambda target: target.mkdir(parents=True))
    plain = next(m for m in module.MUTATIONS if m.marker is None)
    timeouts: list[float] = []

    def record(copy, tests, marker=None, timeout=module.TIMEOUT_SECONDS):
        timeouts.append(timeout)
        return module.TIMED_OUT, float(timeout), "tests/test_slow.py ....."

    monkeypatch.setattr(module, "_run_tests", record)
    assert module.main(["--only", plain.name, "--jobs", "1"]) == 1
    assert timeouts == [module.BASELINE_TIMEOUT_SECONDS]
    assert module.BASELINE_TIMEOUT_SECONDS >= 3 * module.TIMEOUT_SECONDS
    out = capsys.readouterr().out
    assert f"did not finish within {module.BASELINE_TIMEOUT_SECONDS} s" in out
    assert "tests/test_slow.py ....." in out  # how far it got


def test_readme_states_the_size_of_the_mutation_list(monkeypatch):
    """README's "Mutation testing" gives the list's size; it drifted once (a commit grew the
    list to 455 while README still said 454)."""
    import re

    module = _module(monkeypatch)
    stated = re.search(r"applies a fixed list of (\d+) mutations",
                       (ROOT / "README.md").read_text())
    assert stated is not None
    assert int(stated.group(1)) == len(module.MUTATIONS)
