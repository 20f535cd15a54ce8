"""Fuzzing the command line: configuration fields, expressions, every flag and oversized
requests. Whatever the input, ``rnnkl`` ends with exit 0 (valid and cheap) or 2 (bad input, a
request over the memory cap), one line on stderr, never a traceback, within seconds and
without allocating what it refuses.

The commands run in-process (proofs_check.cli.main) so hypothesis can try many inputs;
tests/test_hostile_inputs.py runs the inputs of the hostile-input list in subprocesses under
a hard memory limit.
"""

from __future__ import annotations

import json
import time
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proofs_check.cli import main

# Import every command module (NumPy, SciPy, SymPy, numba) once, before anything is timed: the
# bound is on the work a request starts, not on the interpreter's first imports (which, under
# tracemalloc on a loaded 2-core machine, alone took 13 s once).
for _name in ("config", "simulate", "limit", "poisson", "report", "equations"):
    __import__(f"proofs_check.commands.{_name}")

FIELDS = {
    "chain": ["states", "transition", "initial"],
    "target": ["expression", "noise_std"],
    "network": ["activation", "beta", "antisymmetric", "trainable"],
    "init": ["c_std", "w_std", "b_max"],
    "training": ["alpha", "horizon"],
    "run": ["N", "replicas", "seed", "backend"],
    "limit": ["word_length"],
}
NUMBERS = st.one_of(
    st.integers(-10**30, 10**30), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["1e308", "1e-400", "-0", "0x10", "1_000", "nan", "inf", "1/0", "3/10",
                     "99999999999999999999999", "9" * 5000, "0." + "4" * 3000]),
)
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
GRAMMAR = st.text(alphabet="x0123456789_+-*/().e, abcdefghijklmnopqrstuvwxyz", max_size=60)
VALUES = st.recursive(
    st.one_of(NUMBERS.map(str), TEXT.map(json.dumps), st.sampled_from(["true", "false"])),
    lambda inner: st.lists(inner, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]"),
    max_leaves=12,
)
SETTINGS = settings(suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow], deadline=None)
SECONDS = 10.0  # the bound for any refused input
REFUSED_PEAK_BYTES = 64 * 2**20  # Python allocations while refusing (tracemalloc)


def _run(capsys, argv: list[str], allowed=(0, 2)) -> tuple[int, str]:
    capsys.readouterr()
    tracemalloc.start()
    start = time.monotonic()
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse (--help, --version, usage errors)
        code = int(exc.code or 0)
    seconds = time.monotonic() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    err = capsys.readouterr().err
    assert code in allowed, (argv, code, err)
    assert "Traceback" not in err, (argv, err)
    assert seconds < SECONDS, (argv, seconds)
    if code == 2:
        assert len(err.strip().splitlines()) == 1, (argv, err)
        assert len(err) < 1000, (argv, len(err))
        assert peak < REFUSED_PEAK_BYTES, (argv, peak)
    return code, err


@SETTINGS
@given(table=st.sampled_from(sorted(FIELDS)), data=st.data(), value=VALUES)
def test_any_config_field_any_value(capsys, table, data, value):
    key = data.draw(st.sampled_from(FIELDS[table] + ["bogus"]))
    _run(capsys, ["config", "--set", f"{table}.{key}={value}"])


@SETTINGS
@given(text=st.one_of(GRAMMAR, TEXT))
def test_any_target_expression(capsys, text):
    _run(capsys, ["config", "--set", f"target.expression={json.dumps(text)}"])


@SETTINGS
@given(text=st.one_of(GRAMMAR, TEXT), exact=st.booleans())
def test_any_poisson_function(capsys, text, exact):
    argv = ["poisson", "--function", text, "--time-limit", "5"] + (["--exact"] if exact else [])
    _run(capsys, argv)


@SETTINGS
@given(text=st.text(max_size=200))
def test_any_config_file(capsys, tmp_path_factory, text):
    path = tmp_path_factory.mktemp("cfg") / "config.toml"
    path.write_text(text, encoding="utf-8")
    _run(capsys, ["config", "--config", str(path)])


FLAG_VALUES = st.one_of(NUMBERS.map(str), TEXT, st.sampled_from(["", "-1", "0", "1e9"]))
COMMAND_FLAGS = {
    "simulate": ["--N", "--replicas", "--seed", "--backend", "--set", "--config"],
    "limit": ["--word-length", "--times", "--set", "--config"],
    "poisson": ["--word-length", "--function", "--set", "--time-limit"],
    "report": ["--budget", "--backend", "--set", "--config"],
}


@SETTINGS
@given(command=st.sampled_from(sorted(COMMAND_FLAGS)), data=st.data())
def test_any_flag_any_value_starts_no_work(capsys, command, data):
    """With a 1 MiB memory cap no request fits, so every command must refuse before it works:
    exit 2 and one line whatever the flags (poisson on the states needs no estimate: it may
    run, it is cheap)."""
    flags = data.draw(st.lists(st.sampled_from(COMMAND_FLAGS[command]), max_size=3))
    argv = [command, "--memory-cap", "1MiB", "--no-progress"] if command != "poisson" else [
        command, "--memory-cap", "1MiB", "--function", "x0"]
    for flag in flags:
        argv += [flag, data.draw(FLAG_VALUES)]
    code, _ = _run(capsys, argv)
    if command != "poisson":
        assert code == 2


@SETTINGS
@given(N=st.integers(10**8, 10**15), replicas=st.integers(1, 10**9),
       horizon=st.floats(1.0, 1e300))
def test_oversized_simulations_are_refused_naming_a_field(capsys, N, replicas, horizon):
    """N >= 1e8 units need >= 9 GiB of parameters and tangents alone (numerics.costs)."""
    argv = ["simulate", "--N", str(N), "--replicas", str(replicas), "--set",
            f"training.horizon={horizon!r}", "--memory-cap", "8GiB", "--no-progress"]
    code, err = _run(capsys, argv)
    assert code == 2
    assert any(f in err for f in ("run.N =", "run.replicas =", "training.horizon ="))
    assert "the largest" in err or "no single field" in err


@SETTINGS
@given(L=st.integers(9, 10**15))
def test_oversized_limits_and_word_chains_are_refused(capsys, L):
    code, err = _run(capsys, ["limit", "--word-length", str(L), "--memory-cap", "8GiB",
                              "--no-progress"])
    assert code == 2 and "--word-length =" in err
    code, err = _run(capsys, ["poisson", "--word-length", str(L), "--function", "x0"])
    assert code == 2 and "--word-length" in err


@pytest.mark.parametrize("argv", [
    ["simulate", "--N"], ["bogus"], [], ["limit", "--times"], ["report", "--budget", "huge"],
    ["simulate", "--memory-cap", "lots"], ["simulate", "--memory-cap", "1e400GiB"],
    ["poisson", "--function", "x0", "--time-limit", "nan"],
])
def test_usage_errors_are_one_line(capsys, argv):
    code, err = _run(capsys, argv)
    assert code == 2


def test_an_internal_error_is_one_line_and_exit_3(capsys, monkeypatch):
    """The guard of last resort: an unexpected exception inside a command is one line naming
    it, exit 3; with --debug the traceback comes through."""
    from proofs_check.commands import equations

    def broken(args):
        raise RuntimeError("a bug\nover two lines")

    monkeypatch.setattr(equations, "run", broken)
    code, err = _run(capsys, ["equations"], allowed=(3,))
    assert err.count("\n") == 1
    assert "internal error: RuntimeError: a bug over two lines" in err
    assert "--debug" in err
    with pytest.raises(RuntimeError, match="a bug"):
        main(["equations", "--debug"])
    monkeypatch.setenv("RNNKL_DEBUG", "1")
    with pytest.raises(RuntimeError):
        main(["equations"])


def test_a_nul_byte_in_any_argument_is_bad_input(capsys) -> None:
    """A NUL byte (no OS argv holds one, but main() may be called with any strings; hypothesis
    found `--config '\\x00'` ending as an internal error): one line, exit 2, for a file name, a
    directory and a value; the library's reader says the same of the file name."""
    from derivations.errors import InputError
    from derivations.inputs.files import read_config_file

    for argv in (["limit", "--config", "\x00"], ["report", "--out", "a\x00b"],
                 ["config", "--set", "network.beta=0.6\x00"]):
        capsys.readouterr()
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "NUL byte" in err and "\x00" not in err
    with pytest.raises(InputError, match="NUL byte"):
        read_config_file("a\x00b")
