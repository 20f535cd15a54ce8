"""A chain with five or more states used to be refused by ``rnnkl report`` at the built-in
default limit.word_length (6): the report's limit on 5^6 words does not fit half of a 24 GiB
machine. limit.word_length is the cap under which the report chooses L by accuracy, so when the
user did not set it, the report and the sweep now lower it to the longest length that fits and
say so (stderr, report header, results.json); a value the user set is still refused in one line.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from derivations.inputs.files import load_layers
from numerics.costs import MemoryCap, ResourceError
from proofs_check.budget import get_budget
from proofs_check.cli import main
from proofs_check.commands._sizes import check_report, fit_default_word_length

GIB = 2**30
# Four kernels (K and its c, w, b terms) on 5^6 = 15625 words take 4 * 15625^2 * 8 B = 7.3 GiB
# before any workspace, so L = 6 cannot fit 4 GiB whatever the model adds; L = 5 must then be
# the longest that fits exactly when check_report accepts it (asserted below, not assumed).
CAP = MemoryCap(4 * GIB, "test")
FIVE_STATES = """
[chain]
states = [[-1.0], [-0.5], [0.0], [0.5], [1.0]]
transition = [
  ["1/5", "1/5", "1/5", "1/5", "1/5"],
  ["1/2", "1/4", "1/4", "0", "0"],
  ["0", "1/3", "1/3", "1/3", "0"],
  ["0", "0", "1/4", "1/4", "1/2"],
  ["1/5", "1/5", "1/5", "1/5", "1/5"],
]
[target]
expression = "x0**2 - x1"
"""


@pytest.fixture
def five_states(tmp_path: Path) -> Path:
    path = tmp_path / "five.toml"
    path.write_text(FIVE_STATES)
    return path


def test_the_default_is_lowered_to_the_longest_length_that_fits(five_states):
    loaded = load_layers(five_states)
    assert "limit.word_length" in loaded.from_default
    assert loaded.config.limit.word_length == 6
    budget = get_budget("quick")
    with pytest.raises(ResourceError) as refusal:
        check_report(loaded.config, budget, CAP)
    lowered, note = fit_default_word_length(loaded.config, CAP, defaulted=True)
    assert lowered.limit.word_length == 5
    check_report(lowered, budget, CAP)  # fits: no error
    assert lowered.replace(limit=loaded.config.limit) == loaded.config  # nothing else changed
    assert note.startswith("limit.word_length lowered from the built-in default 6 to 5")
    # with the refusal it replaces (check_report's own words)
    assert note.endswith(f"since {refusal.value}") and "4 GiB (test)" in note
    assert "\n" not in note


def test_a_value_the_user_set_or_one_that_fits_is_returned_unchanged(five_states):
    config = load_layers(five_states).config
    assert fit_default_word_length(config, CAP, defaulted=False) == (config, "")
    default = load_layers(None).config  # 3^6 words fit a 4 GiB cap
    check_report(default, get_budget("quick"), CAP)
    assert fit_default_word_length(default, CAP, defaulted=True) == (default, "")
    tiny = MemoryCap(1000, "test")  # nothing fits: unchanged, and check_report says why
    assert fit_default_word_length(config, tiny, defaulted=True) == (config, "")


def _stop(captured: dict):
    def stop(*args, **kwargs):
        captured["args"], captured["kwargs"] = args, kwargs
        raise KeyboardInterrupt  # the checks would start here: stop the command
    return stop


def test_report_runs_on_the_lowered_config_and_says_so(five_states, monkeypatch, capsys,
                                                       tmp_path):
    captured: dict = {}
    monkeypatch.setattr("proofs_check.commands.report.run_checks", _stop(captured))
    code = main(["report", "--config", str(five_states), "--memory-cap", "4GiB",
                 "--out", str(tmp_path / "out"), "--no-progress"])
    assert code == 130
    assert captured["args"][0].limit.word_length == 5
    assert "lowered from the built-in default 6 to 5" in captured["kwargs"]["source"]
    notes = [line for line in capsys.readouterr().err.splitlines() if "lowered" in line]
    assert len(notes) == 1 and notes[0].startswith("rnnkl report: note: limit.word_length")


@pytest.mark.parametrize("chosen", [["--set", "limit.word_length=6"], ["--file-sets-it"]])
def test_report_refuses_a_value_the_user_set(chosen, five_states, monkeypatch, capsys,
                                             tmp_path):
    monkeypatch.setattr("proofs_check.commands.report.run_checks", _stop({}))
    if chosen == ["--file-sets-it"]:
        five_states.write_text(FIVE_STATES + "[limit]\nword_length = 6\n")
        chosen = []
    code = main(["report", "--config", str(five_states), *chosen, "--memory-cap", "4GiB",
                 "--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "the largest limit.word_length that fits is 5" in err
    assert "lowered" not in err


def test_sweep_lowers_every_point_unless_the_word_length_is_chosen(five_states, monkeypatch,
                                                                   capsys, tmp_path):
    captured: dict = {}
    monkeypatch.setattr("proofs_check.commands.sweep.run_sweep", _stop(captured))
    code = main(["sweep", "--config", str(five_states), "--vary", "training.alpha=1,2",
                 "--memory-cap", "4GiB", "--out", str(tmp_path / "out"), "--no-progress"])
    assert code == 130
    points = captured["args"][0]
    assert len(points) == 2 and all(config.limit.word_length == 5 for _, config in points)
    assert "lowered from the built-in default 6 to 5" in captured["kwargs"]["source"]
    assert capsys.readouterr().err.count("rnnkl sweep: note: limit.word_length lowered") == 1
    code = main(["sweep", "--config", str(five_states), "--vary", "limit.word_length=4,6",
                 "--memory-cap", "4GiB", "--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "limit.word_length=6" in err and "lowered" not in err
    code = main(["sweep", "--config", str(five_states), "--set", "limit.word_length=6",
                 "--vary", "training.alpha=1,2", "--memory-cap", "4GiB",
                 "--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "lowered" not in err
    assert "the largest limit.word_length that fits is 5" in err
    five_states.write_text(FIVE_STATES + "[limit]\nword_length = 6\n")  # the file sets it
    code = main(["sweep", "--config", str(five_states), "--vary", "training.alpha=1,2",
                 "--memory-cap", "4GiB", "--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "lowered" not in err
    assert "the largest limit.word_length that fits is 5" in err
