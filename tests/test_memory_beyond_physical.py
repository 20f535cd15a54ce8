"""A --memory-cap (or RNNKL_MEMORY_CAP) above this machine's physical memory let a request
between the two start and end at the OS's hand, without a word. Such a request now gets one
stderr note before work; it is not refused (swap, or workers larger than this machine, may
carry it)."""

from __future__ import annotations

import pytest

import proofs_check.commands._sizes as sizes
from numerics.costs import MemoryCap
from proofs_check.cli import main

GIB = 2**30


@pytest.mark.parametrize("peak, noted", [(2 * GIB, True), (GIB // 2, False), (GIB, False)])
def test_the_note_is_given_exactly_when_the_peak_exceeds_physical_memory(
        peak, noted, monkeypatch, capsys):
    monkeypatch.setattr(sizes, "physical_memory", lambda: GIB)
    sizes.note_beyond_physical(peak, MemoryCap(4 * GIB, "--memory-cap"), "limit")
    err = capsys.readouterr().err
    assert bool(err) is noted
    if noted:
        assert err.count("\n") == 1 and err.startswith("rnnkl limit: note: ")
        assert "2 GiB" in err and "1 GiB" in err and "4 GiB (--memory-cap)" in err


def test_an_unknown_physical_memory_gives_no_note(monkeypatch, capsys):
    monkeypatch.setattr(sizes, "physical_memory", lambda: 0)
    sizes.note_beyond_physical(1e15, MemoryCap(2**60, "--memory-cap"), "limit")
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("command", [
    ["simulate", "--N", "20", "--replicas", "1"],
    ["limit", "--word-length", "2", "--times", "1"],
    ["poisson", "--function", "x0", "--word-length", "2"],
])
def test_each_command_notes_a_request_beyond_physical_memory(command, tmp_path, monkeypatch,
                                                              capsys):
    monkeypatch.setattr(sizes, "physical_memory", lambda: 1000)  # a 1000-byte machine
    out = tmp_path / "out.json"
    assert main([*command, "--memory-cap", "1GiB", "--out", str(out), "--no-progress"]
                if command[0] != "poisson" else
                [*command, "--memory-cap", "1GiB", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"rnnkl {command[0]}: note: the estimated peak memory" in err
    assert "above this machine's physical memory 1000 B" in err
    monkeypatch.undo()  # this machine: the default cap is half of it, so never a note
    assert main([*command, "--out", str(out)] + (["--no-progress"] if command[0] != "poisson"
                                                 else [])) == 0
    assert "note: the estimated peak" not in capsys.readouterr().err


@pytest.mark.parametrize("command, runner", [
    (["report"], "proofs_check.commands.report.run_checks"),
    (["sweep", "--vary", "training.alpha=1,2"], "proofs_check.commands.sweep.run_sweep"),
])
def test_report_and_sweep_note_it_before_any_check_runs(command, runner, tmp_path, monkeypatch,
                                                         capsys):
    def stop(*args, **kwargs):
        raise KeyboardInterrupt  # the checks would start here: stop the command

    monkeypatch.setattr(sizes, "physical_memory", lambda: 1000)
    monkeypatch.setattr(runner, stop)
    code = main([*command, "--memory-cap", "8GiB", "--out", str(tmp_path / "out"),
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code == 130
    assert f"rnnkl {command[0]}: note: the estimated peak memory" in err
