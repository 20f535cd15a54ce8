"""The documentation stays inside the repository and in step with the code: no reference
leaves the repository, every cited section of theory.md exists, the theory page shows
every derived equation (printed from the registry of `rnnkl equations` when the site is built),
and every page in the site's navigation exists. The site itself is built by .ci/run
(`mkdocs build --strict`, which also runs the tutorial)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from derivations.equations import all_equations

ROOT = Path(__file__).resolve().parent.parent
THEORY = (ROOT / "docs" / "theory.md").read_text(encoding="utf-8")


def _tracked_text_files() -> list[Path]:
    names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    return [ROOT / n for n in names
            if n.endswith((".py", ".md", ".toml", ".yml")) or n == ".ci/run"]


OUTSIDE = ("MODEL" + ".md", "../" + "shared")  # split so this file does not match itself


def test_no_reference_leaves_the_repository():
    for path in _tracked_text_files():
        text = path.read_text(encoding="utf-8")
        assert not any(word in text for word in OUTSIDE), path


def test_every_cited_section_exists():
    headings = set(re.findall(r"^## (\d+)\. ", THEORY, flags=re.MULTILINE))
    cited = set()
    for path in _tracked_text_files():
        for ref in re.findall(r"theory\.md §(\d+)(?:-§(\d+))?", path.read_text("utf-8")):
            cited.update(n for n in ref if n)
    assert cited and cited <= headings, cited - headings
    assert headings == {str(n) for n in range(1, 10)}


def test_theory_page_shows_every_derived_equation():
    for equation in all_equations():
        assert f'"{equation.name}"' in THEORY, equation.name
    assert "from derivations.equations import all_equations" in THEORY  # printed at build time


def test_navigation_pages_exist():
    nav = re.findall(r"^\s+- [^:]+: (\S+\.md)$", (ROOT / "mkdocs.yml").read_text(),
                     flags=re.MULTILINE)
    assert {"index.md", "installation.md", "tutorial.md", "theory.md", "cli.md", "api.md",
            "cluster.md"} <= set(nav)
    for page in nav:
        assert (ROOT / "docs" / page).is_file(), page
