"""The tiers' layering (derivations -> numerics -> proofs_check) is a contract checked by
import-linter (pyproject.toml, [tool.importlinter]), not a sentence in docstrings: it holds on
the code, and a deliberate violation in a copy of the code breaks it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("derivations", "numerics", "proofs_check")


def _lint_imports() -> str:
    beside = Path(sys.executable).with_name("lint-imports")
    found = str(beside) if beside.exists() else shutil.which("lint-imports")
    if found is None:
        pytest.fail("lint-imports (import-linter, in the test extra) is not installed")
    return found


def _contract_section() -> str:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    start = text.index("[tool.importlinter]")
    return text[start:]


def _run(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run([_lint_imports()], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def _copy(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
    (tmp_path / "pyproject.toml").write_text(_contract_section(), encoding="utf-8")
    return tmp_path


def test_the_code_keeps_the_layering_contract(tmp_path):
    result = _run(_copy(tmp_path))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "1 kept, 0 broken" in result.stdout


@pytest.mark.parametrize("lower, higher", [("derivations", "numerics.chain"),
                                           ("numerics", "proofs_check.stats"),
                                           ("derivations", "proofs_check.cache")])
def test_a_deliberate_violation_breaks_the_contract(tmp_path, lower, higher):
    """A lower tier importing a higher one, even inside a function (a lazy import), fails."""
    copy = _copy(tmp_path)
    (copy / lower / "_layering_violation.py").write_text(
        f"def lazy():\n    import {higher}  # deliberate violation of the tiers\n"
        f"    return {higher}\n", encoding="utf-8")
    result = _run(copy)
    assert result.returncode == 1, result.stdout[-2000:]
    assert "BROKEN" in result.stdout
    assert f"{lower}._layering_violation -> {higher}" in result.stdout
