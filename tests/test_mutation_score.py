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
    monkeypatch.setattr(module, "_run_tests", lambda copy, tests: (1, 0.0))
    first = module.MUTATIONS[0].name
    assert module.main(["--only", first, "--jobs", "2"]) == 1
    assert "fail on the unmutated copy" in capsys.readouterr().out
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
