"""``rnnkl limit`` (proofs_check.commands.limit): JSON schema, consistency, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from proofs_check.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _run(tmp_path: Path, *args: str) -> dict:
    out = tmp_path / "limit.json"
    assert main(["limit", *args, "--out", str(out)]) == 0
    return json.loads(out.read_text())


def test_limit_json_schema_and_consistency(tmp_path: Path) -> None:
    doc = _run(tmp_path, "--config", str(EXAMPLES / "linear_two_state.toml"),
               "--word-length", "3", "--times", "0,0.5,2")
    for key in ("word_length", "words", "pi_L", "ybar", "times", "g", "error_estimates"):
        assert key in doc
    assert doc["word_length"] == 3
    words = np.array(doc["words"])
    assert words.shape == (8, 3) and words[1].tolist() == [0, 0, 1]  # oldest symbol first
    pi_L = np.array(doc["pi_L"])
    assert abs(pi_L.sum() - 1.0) < 1e-15
    # pi_L(u) = pi(u1) P(u1,u2) P(u2,u3) with P = [[3/4,1/4],[1/2,1/2]], pi = (2/3, 1/3)
    P = np.array([[0.75, 0.25], [0.5, 0.5]])
    pi = np.array([2 / 3, 1 / 3])
    expected = pi[words[:, 0]] * P[words[:, 0], words[:, 1]] * P[words[:, 1], words[:, 2]]
    assert np.allclose(pi_L, expected, rtol=1e-14, atol=0)
    # ybar = x0 + 0.5 x1 read on the last two symbols (states -1, 1)
    x = np.array([-1.0, 1.0])
    assert np.array_equal(np.array(doc["ybar"]), x[words[:, 2]] + 0.5 * x[words[:, 1]])
    g = np.array(doc["g"])
    assert doc["times"] == [0.0, 0.5, 2.0] and g.shape == (3, 8)
    assert np.array_equal(g[0], np.zeros(8))
    loss = 0.5 * (pi_L * (np.array(doc["ybar"]) - g) ** 2).sum(axis=1)
    assert np.all(np.diff(loss) < 0)
    est = doc["error_estimates"]
    for key in ("quadrature", "truncation", "rounding"):
        assert isinstance(est[key], float) and est[key] >= 0


def test_limit_is_reproducible(tmp_path: Path) -> None:
    a = _run(tmp_path, "--word-length", "2", "--times", "1")
    b = _run(tmp_path, "--word-length", "2", "--times", "1")
    assert a == b


@pytest.mark.parametrize("times", ["", "1,,2", "abc", "-0.5", "nan", "1e400"])
def test_bad_times_exit_2(times: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["limit", "--word-length", "2", f"--times={times}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--times" in err


def test_bad_word_length_and_config_exit_2(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["limit", "--word-length", "0"])
    assert exc.value.code == 2
    bad = tmp_path / "bad.toml"
    bad.write_text("[init]\nb_max = 2.0\n")
    assert main(["limit", "--config", str(bad), "--times", "1"]) == 2


def test_terminal_gets_a_summary_and_a_start_line(tmp_path: Path, capsys, monkeypatch) -> None:
    """Output rule: on a terminal a summary (sizes, loss per time, error estimates) and no
    JSON; stderr says what is being computed before the work starts."""
    from proofs_check.commands import _output

    monkeypatch.setattr(_output, "is_terminal", lambda stream: True)
    config = str(EXAMPLES / "linear_two_state.toml")
    assert main(["limit", "--config", config, "--word-length", "3", "--times", "0,2"]) == 0
    captured = capsys.readouterr()
    assert captured.err.startswith("rnnkl limit: kernel and ODE on 2^3 = 8 words of length 3")
    assert captured.out.startswith("rnnkl limit: g_t on 8 words of length 3")
    assert "{" not in captured.out and "error estimates of g_t" in captured.out
    doc = _run(tmp_path, "--config", config, "--word-length", "3", "--times", "0,2")
    loss_lines = [line.split() for line in captured.out.splitlines()[2:4]]
    assert [float(t) for t, _ in loss_lines] == doc["times"]
    assert [float(v) for _, v in loss_lines] == pytest.approx(doc["loss"], rel=1e-3)


def test_accuracy_chooses_the_shortest_sufficient_word_length(tmp_path: Path, capsys,
                                                              monkeypatch) -> None:
    """``--accuracy DELTA`` (issue 17, item 3): the chosen L is the first tried whose delta meets
    DELTA, every shorter one tried missed it, delta is the sum of the error terms written in
    error_estimates (with the choice's truncation estimate), and the terminal summary says
    which length was chosen and why."""
    from numerics.limit import total_error
    from proofs_check.commands import _output

    doc = _run(tmp_path, "--accuracy", "2e-3", "--times", "1", "--word-length", "6")
    choice = doc["word_length_choice"]
    L = doc["word_length"]
    tried = {int(k): v for k, v in choice["tried"].items()}
    assert choice["met"] and max(tried) == L <= 6 and tried[L] == choice["delta"] <= 2e-3
    assert all(v > 2e-3 for k, v in tried.items() if k < L)
    assert total_error(doc["error_estimates"]) == pytest.approx(choice["delta"], rel=1e-12)
    assert choice["delta"] == max(choice["delta_path"], choice["delta_words"])
    assert set(choice["differences"]) == {"path", "words", "average"}
    first_valid = 3  # lag 1: levels from q + 2, and q + 3 even at L = q + 2 (two valid levels)
    levels = range(first_valid, max(L, first_valid + 1) + 1)
    assert set(choice["differences"]["path"]) == {str(j) for j in levels}
    assert len(doc["words"]) == 3**L and choice["kernel_rule"].startswith("trapezoid")
    # the kernel's achieved error is the estimate delta counts; d = 1 has a rule meeting its share
    assert choice["kernel_error"] == doc["error_estimates"]["quadrature_kernel"]
    assert choice["kernel_error"] <= choice["kernel_accuracy"]
    monkeypatch.setattr(_output, "is_terminal", lambda stream: True)
    assert main(["limit", "--accuracy", "2e-3", "--times", "1", "--no-progress"]) == 0
    assert f"word length L = {L}: the shortest (up to 6)" in capsys.readouterr().out


@pytest.mark.parametrize("quiet", [[], ["--no-progress"]])
def test_accuracy_out_of_reach_says_so(tmp_path: Path, capsys, quiet) -> None:
    """A target no length up to the cap meets: the cap's solution, "met" false, one stderr line
    telling the user to raise --word-length (exit 0: nothing failed, the estimate is stated).
    The line is a result, not progress: --no-progress used to drop it, leaving only "met"."""
    doc = _run(tmp_path, "--accuracy", "1e-9", "--times", "1", "--word-length", "3", *quiet)
    assert doc["word_length"] == 3 and doc["word_length_choice"]["met"] is False
    assert doc["word_length_choice"]["delta"] > 1e-9
    err = capsys.readouterr().err
    assert "no length up to 3 meets --accuracy 1e-09" in err
    if quiet:
        assert len(err.strip().splitlines()) == 1  # that line alone


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "2", "abc", "1e-400"])
def test_bad_accuracy_exit_2(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["limit", f"--accuracy={value}"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--accuracy" in err


def test_accuracy_with_a_single_length_has_no_estimate(tmp_path: Path, capsys) -> None:
    """--word-length 1: no second length, so no truncation estimate: delta is null in the JSON
    (not an infinity that JSON cannot hold), "met" false, and stderr says why."""
    doc = _run(tmp_path, "--accuracy", "1e-3", "--times", "1", "--word-length", "1")
    choice = doc["word_length_choice"]
    assert choice["delta"] is None and choice["met"] is False and choice["tried"] == {"1": None}
    assert doc["error_estimates"]["truncation"] is None
    assert "the truncation estimate needs two word lengths" in capsys.readouterr().err


def test_accuracy_plans_memory_for_one_length_at_a_time(tmp_path: Path, capsys) -> None:
    """``--accuracy`` solves the lengths one at a time (select_limit, truncation "none"), never
    m^(L+1) words: its memory plan is that of L alone (plus the previous length's result), so a
    cap between that plan and the plan with the next length runs it, while the same request
    without --accuracy (which solves L + 1 for its truncation estimate) is refused in one line."""
    from derivations.inputs.config import load_config
    from numerics.costs import MemoryCap
    from proofs_check.commands._sizes import plan_limit

    config = load_config(None)  # m = 3, d = 1: L = 6 solves 3^7 words for the estimate
    one, _ = plan_limit(config, 6, MemoryCap(2**50, "test"), field="L", groups=False,
                        one_length=True)
    both, _ = plan_limit(config, 6, MemoryCap(2**50, "test"), field="L", groups=False)
    assert 2**20 < one < both
    cap = f"{int((one + both) / 2)}B"
    doc = _run(tmp_path, "--accuracy", "2e-3", "--times", "1", "--word-length", "6",
               "--memory-cap", cap)
    assert doc["word_length_choice"]["met"]
    capsys.readouterr()
    assert main(["limit", "--times", "1", "--word-length", "6", "--memory-cap", cap]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "memory" in err
