"""A bad --out is refused in one line before any work starts (it used to surface as
"Not a directory: ..." after the computation, losing a limit or a simulation that may have
run for minutes; a report or sweep named no flag)."""

from __future__ import annotations

import pytest

from proofs_check.cli import main


def _never(*args, **kwargs):
    raise AssertionError("the computation started before --out was checked")


@pytest.fixture
def no_work(monkeypatch):
    from proofs_check.commands import limit, poisson, report, simulate, sweep

    monkeypatch.setattr(simulate, "simulate", _never)
    monkeypatch.setattr(limit, "solve_limit", _never)
    monkeypatch.setattr(poisson, "poisson_document", _never)
    monkeypatch.setattr(report, "run_checks", _never)
    monkeypatch.setattr(sweep, "run_sweep", _never)


@pytest.mark.parametrize(("argv", "out", "message"), [
    (["simulate", "--no-progress"], "{file}/x.json", "its directory {file} is not a directory"),
    (["simulate", "--no-progress"], "{tmp}/missing/x.json", "its directory {tmp}/missing does "
                                                           "not exist"),
    (["limit", "--no-progress"], "{tmp}", "is a directory (give a file name)"),
    (["poisson", "--function", "x0"], "{file}/u.json", "its directory {file} is not a directory"),
    (["report", "--no-progress"], "{file}", "is not a directory"),
    (["report", "--no-progress"], "{file}/sub", "cannot create it (Not a directory)"),
    (["sweep", "--vary", "network.beta=0.6", "--no-progress"], "{file}", "is not a directory"),
])
def test_a_bad_out_is_one_line_before_any_work(no_work, tmp_path, capsys, argv, out, message):
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    fill = {"file": str(a_file), "tmp": str(tmp_path)}
    out = out.format(**fill)
    code = main([*argv, "--out", out])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert err == f"rnnkl: error: --out {out}: {message.format(**fill)}"


def test_a_new_report_directory_is_created_with_its_parents(tmp_path):
    from proofs_check.commands._output import prepare_out_dir

    target = tmp_path / "a" / "b" / "report"
    prepare_out_dir(str(target))
    assert target.is_dir()
    prepare_out_dir(str(target))  # an existing directory is fine (the cache resumes there)
