"""``rnnkl simulate`` (proofs_check.commands.simulate): JSON shape and content, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from derivations.inputs.config import DEFAULT_CONFIG_TOML, load_config, with_overrides
from numerics.rnn import simulate
from proofs_check.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_simulate_default_config_writes_json(tmp_path, capsys):
    out = tmp_path / "sim.json"
    code = main(["simulate", "--N", "20", "--replicas", "2", "--seed", "3", "--out", str(out),
                 "--no-progress"])
    assert code == 0
    assert capsys.readouterr().out == ""
    data = json.loads(out.read_text())
    assert {"N", "beta", "steps", "replicas"} <= data.keys()
    config = with_overrides(load_config(None), N=20, replicas=2, seed=3)
    assert data["N"] == 20 and data["beta"] == config.network.beta
    assert data["steps"] == int(np.floor(20 * config.training.horizon))
    assert len(data["replicas"]) == 2
    m = config.chain.m
    expected = simulate(config, progress=False)
    for row, replica in enumerate(data["replicas"]):
        assert {"states", "f", "y"} <= replica.keys()
        assert len(replica["states"]) == len(replica["f"]) == len(replica["y"]) == data["steps"]
        assert all(isinstance(s, int) and 0 <= s < m for s in replica["states"])
        # full precision: the JSON floats are the simulator's doubles, bit for bit
        assert replica["f"] == expected.f[row].tolist()
        assert replica["y"] == expected.y[row].tolist()
        assert replica["states"] == expected.states[row].tolist()


def test_simulate_to_stdout_and_examples(capsys):
    for example in sorted(EXAMPLES.glob("*.toml")):
        code = main(["simulate", "--config", str(example), "--N", "10", "--replicas", "1",
                     "--no-progress"])
        assert code == 0, example
        data = json.loads(capsys.readouterr().out)
        assert data["N"] == 10 and len(data["replicas"]) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--N", "11", "--config", str(EXAMPLES / "antisymmetric_beta_half.toml")], "run.N"),
        (["--config", "/nonexistent/config.toml"], "not found"),
    ],
)
def test_simulate_bad_input_exits_2(args, message, capsys):
    assert main(["simulate", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_simulate_fast_backend_gives_the_same_json(tmp_path):
    outs = []
    for backend in ("numpy", "fast"):
        out = tmp_path / f"{backend}.json"
        args = ["simulate", "--N", "30", "--replicas", "2", "--backend", backend, "--out", str(out)]
        assert main([*args, "--no-progress"]) == 0
        outs.append(json.loads(out.read_text()))
    # same inputs; outputs agree to rounding (bound derived in tests/test_fast_backend.py)
    for a, b in zip(outs[0]["replicas"], outs[1]["replicas"], strict=True):
        assert a["states"] == b["states"] and a["y"] == b["y"]
        assert np.max(np.abs(np.subtract(a["f"], b["f"]))) <= 1e-12
    assert {k: v for k, v in outs[0].items() if k != "replicas"} == {
        k: v for k, v in outs[1].items() if k != "replicas"}


def test_simulate_unparsable_config_and_bad_values_exit_2(tmp_path, capsys):
    broken = tmp_path / "broken.toml"
    broken.write_text("[chain\nstates = ")
    assert main(["simulate", "--config", str(broken)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rnnkl: error:") and "Traceback" not in err
    with pytest.raises(SystemExit) as exit_info:
        main(["simulate", "--N", "0"])
    assert exit_info.value.code == 2


def test_simulate_bad_config_file_exits_2(tmp_path, capsys):
    text = DEFAULT_CONFIG_TOML.replace('["3/10", "3/10", "2/5"]', '["3/10", "3/10", "1/5"]')
    assert text != DEFAULT_CONFIG_TOML  # a row no longer sums to 1
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    assert main(["simulate", "--config", str(bad), "--N", "10"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rnnkl: error: chain.transition") and err.count("\n") == 1


def test_simulate_subprocess_keeps_stdout_clean():
    proc = subprocess.run(
        [sys.executable, "-m", "proofs_check", "simulate", "--N", "8", "--replicas", "1"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)  # no progress bar mixed into the JSON
    assert data["steps"] == len(data["replicas"][0]["f"])


def test_terminal_gets_a_summary_and_json_only_with_out(tmp_path, capsys, monkeypatch):
    """Output rule: stdout a terminal -> a short summary, no JSON (the document is megabytes);
    with --out the JSON goes to the file and the terminal still gets the summary."""
    from proofs_check.commands import _output

    monkeypatch.setattr(_output, "is_terminal", lambda stream: True)
    args = ["simulate", "--N", "20", "--replicas", "2", "--no-progress"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert text.startswith("rnnkl simulate: N = 20 hidden units, 2 replicas, 40 SGD steps")
    assert "MSE last 10%" in text and "--out FILE" in text and "{" not in text
    out = tmp_path / "sim.json"
    assert main([*args, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "rnnkl simulate: N = 20" in text and f"wrote the JSON document to {out}" in text
    assert len(json.loads(out.read_text())["replicas"]) == 2
    # the summary's numbers are the simulation's: MSE over the last tenth of the steps
    config = with_overrides(load_config(None), N=20, replicas=2)
    result = simulate(config, progress=False)
    last = np.mean((result.y[0, -4:] - result.f[0, -4:]) ** 2)
    row = next(line for line in text.splitlines() if line.split()[:1] == ["0"])
    assert float(row.split()[2]) == pytest.approx(last, rel=1e-3)
