"""README.md is executable documentation: its two fresh-machine commands are the ones CI runs,
and every Python block of it runs (in order, in one namespace) so the examples cannot rot."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
MAIN_COMMAND = "python3 -m pip install -e . && rnnkl report"
TEST_COMMAND = """python3 -m pip install -e '.[test]' && python3 -m pytest -q -m "not slow\""""


def _blocks(language: str, text: str = README) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def test_two_commands_and_ci_runs_the_test_command_verbatim():
    section = README.partition("## Fresh machine: two commands")[2].partition("\n## ")[0]
    assert [b.strip() for b in _blocks("bash", section)] == [MAIN_COMMAND, TEST_COMMAND]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert TEST_COMMAND in ci.splitlines()
    # ... inside a virtual environment that .ci/run creates and activates before it
    before = ci.partition(TEST_COMMAND)[0]
    assert "python3 -m venv" in before and "/bin/activate" in before
    commands = [line for line in before.splitlines() if not line.lstrip().startswith("#")]
    assert not any("crosscheck" in line for line in commands)  # the extra comes only after


def test_python_blocks_run(tmp_path, monkeypatch, capsys):
    blocks = _blocks("python")
    assert blocks, "README has no Python example"
    monkeypatch.chdir(tmp_path)  # the example writes its report under the working directory
    namespace: dict = {"__name__": "readme"}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)  # our own README, not user input
    printed = capsys.readouterr().out
    # what the example's comments and prints promise
    assert namespace["sim"].f.shape == (2, 2000) and "(2, 2000)" in printed
    assert "RMS of f^N - g_t along the path:" in printed
    assert namespace["bound"].name == "output_at_init" and namespace["bound"].rivals
    assert namespace["sharpness"].name == "output_at_init_sharpness"
    assert "rate 1/4 slower" in printed
    assert namespace["report"].all_passed and Path(namespace["paths"]["html"]).is_file()
