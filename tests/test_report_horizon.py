"""A training horizon too short for the words the main theorem reads along the path: the
report stopped its main theorem with "ValueError: path shorter than the word length" (a FAIL
marked as an error in the suite) after every other check had run. The report and the sweep now
refuse it in one line before any work (proofs_check.commands._sizes.check_report_horizon)."""

from __future__ import annotations

import pytest

from derivations.errors import InputError
from derivations.inputs.files import load_layers
from proofs_check.budget import TINY, get_budget
from proofs_check.cache import Cache
from proofs_check.checks import CheckContext, main_theorem
from proofs_check.cli import main
from proofs_check.commands._sizes import check_report_horizon


@pytest.mark.parametrize("command", [["report"], ["sweep", "--vary", "training.alpha=1,2"]])
def test_a_horizon_too_short_for_the_words_is_refused_in_one_line(command, tmp_path, capsys):
    code = main([*command, "--set", "training.horizon=0.01", "--out", str(tmp_path / "out"),
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    # quick budget: N_min = 128, limit.word_length = 6 -> floor(1.28) = 1 step of 6 needed
    assert "floor(N T) = 1 step," in err and "at least 0.046875 (6/128)" in err
    assert not (tmp_path / "out").exists()  # refused before any work


@pytest.mark.parametrize("budget", ["quick", "standard", "full"])
def test_the_shortest_horizon_is_one_word_of_steps_at_the_smallest_n(budget):
    ladder = get_budget(budget)
    n_min, length = min(ladder.n_ladder), 4
    for steps in (length, length + 1):
        ok = load_layers(None, [f"limit.word_length={length}",
                                f"training.horizon={steps / n_min!r}"]).config
        check_report_horizon(ok, ladder)
    short = load_layers(None, [f"limit.word_length={length}",
                               f"training.horizon={(length - 1) / n_min!r}"]).config
    with pytest.raises(InputError, match=f"at least {length / n_min:.6g}"):
        check_report_horizon(short, ladder)


def test_the_main_theorem_runs_at_the_shortest_accepted_horizon():
    """At floor(N_min T) = limit.word_length steps the main theorem measures whatever word
    length its accuracy picks (at most the cap). The refusal is the cap's condition, so it is
    conservative when the accuracy would have picked a shorter L (with 3 steps and the cap 4
    the tiny budget picks L = 3 and runs; with 2 steps it stopped on the ValueError)."""
    length = 4
    horizon = length / min(TINY.n_ladder)
    config = load_layers(None, [f"limit.word_length={length}",
                                f"training.horizon={horizon!r}"]).config
    check_report_horizon(config, TINY)
    results = {r.name: r for r in main_theorem.run(
        CheckContext(config, TINY, Cache(None, salt="short-horizon"), seed=0))}
    assert {"main_theorem", "frozen_network"} <= set(results)
    assert all(r.measured is not None for r in results.values())
