"""The rnnkl command line's own rules (proofs_check.cli): the ranges of typed values, quoting
of a bad value, the one-line error of a long message, the out-of-memory exit, the version of
an uninstalled tree, and every flag's help stating the default it has."""

from __future__ import annotations

import argparse
import importlib
import re

import pytest

from derivations.errors import InputError
from proofs_check import cli


def _refusal(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The one stderr line of an argument the parser refuses (exit 2)."""
    with pytest.raises(SystemExit) as info:
        cli.build_parser().parse_args(argv)
    assert info.value.code == cli.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


@pytest.mark.parametrize(("flag", "value", "reason"), [
    ("--N", "1000000000000000001", "expected a positive integer up to 1e18"),
    ("--N", "0", "expected a positive integer up to 1e18"),
    ("--replicas", "-1", "expected a positive integer up to 1e18"),
    ("--seed", "-1", "expected an integer in [0, 1e18]"),
    ("--seed", "1000000000000000001", "expected an integer in [0, 1e18]"),
    ("--seed", "x", "expected an integer >= 0"),
])
def test_integer_flags_keep_their_ranges(flag, value, reason, capsys):
    assert reason in _refusal(["simulate", flag, value], capsys)


def test_the_range_ends_are_accepted():
    args = cli.build_parser().parse_args(
        ["simulate", "--N", str(10**18), "--seed", "0", "--replicas", "1"])
    assert (args.N, args.seed, args.replicas) == (10**18, 0, 1)
    assert cli.build_parser().parse_args(["simulate", "--seed", str(10**18)]).seed == 10**18


def test_accuracy_is_in_the_half_open_unit_interval(capsys):
    """--accuracy DELTA in (0, 1]: 1 itself is a (loose) accuracy; 0 and above 1 are not."""
    assert cli.build_parser().parse_args(["limit", "--accuracy", "1"]).accuracy == 1.0
    for value in ("0", "1.5", "nan"):
        assert "expected a number in (0, 1]" in _refusal(["limit", "--accuracy", value], capsys)


def test_a_time_limit_is_finite(capsys):
    """0 means no limit; an infinite limit is refused (it would say more than 0 does)."""
    assert cli.build_parser().parse_args(["poisson", "--function", "x0",
                                          "--time-limit", "0"]).time_limit == 0.0
    for value in ("inf", "-1"):
        err = _refusal(["poisson", "--function", "x0", "--time-limit", value], capsys)
        assert "expected seconds >= 0" in err


def test_a_long_bad_value_is_quoted_only_in_part(capsys):
    """A value is quoted to 24 characters: the rest of a pasted blob stays off the line."""
    err = _refusal(["simulate", "--N", "7" * 30 + "x" * 500], capsys)
    assert repr("7" * 24) + "..." in err and "x" not in err.split("got", 1)[1]


def _command_raising(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    module = importlib.import_module("proofs_check.commands.config")

    def run(args: argparse.Namespace) -> int:
        raise error

    monkeypatch.setattr(module, "run", run)


def test_a_long_error_is_one_line_of_at_most_300_characters(monkeypatch, capsys):
    _command_raising(monkeypatch, InputError("first\nsecond " + "y" * 1000))
    assert cli.main(["config"]) == cli.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.startswith("rnnkl: error: first second yyy") and err.count("\n") == 1
    message = err[len("rnnkl: error: "):-1]
    assert len(message) == 300 and message.endswith("...")


def test_running_out_of_memory_is_an_internal_error_of_one_line(monkeypatch, capsys):
    """A MemoryError after the request fitted the cap: exit 3 (not bad input: the request was
    accepted), one line naming the remedies; --debug re-raises it."""
    _command_raising(monkeypatch, MemoryError())
    assert cli.main(["config"]) == cli.EXIT_INTERNAL
    err = capsys.readouterr().err
    assert err.startswith("rnnkl: error: out of memory although the request fitted the memory "
                          "cap") and err.count("\n") == 1
    with pytest.raises(MemoryError):
        cli.main(["config", "--debug"])


def test_an_uninstalled_tree_says_so_as_its_version(monkeypatch):
    import importlib.metadata as metadata

    def missing(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", missing)
    assert cli.package_version() == "unknown (not installed)"


def _default_text(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def test_every_flag_with_a_default_states_that_default_in_its_help():
    """The help is the CLI's reference: a flag's "(default: X)" must be the default it has."""
    checked = 0
    for name, parser in cli.command_parsers(cli.build_parser()).items():
        for action in parser._actions:
            if action.default in (None, False, [], argparse.SUPPRESS):
                continue
            stated = re.findall(r"\(default: ([^)]*)\)", action.help or "")
            assert stated == [_default_text(action.default)], (name, action.option_strings)
            checked += 1
    assert checked >= 7
