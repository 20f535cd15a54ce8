"""The hostile inputs that once hung or ended in a traceback, each run as a real ``rnnkl``
process under a hard address-space limit (3 GiB, RLIMIT_AS): exit 2, one line on stderr, no
traceback, within 10 seconds (the issue's bound), without allocating what is refused."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

resource = pytest.importorskip("resource")  # POSIX only

ADDRESS_SPACE = 3 * 2**30
SECONDS = 10.0
ONE_STATE = '[chain]\nstates = [[0.5]]\ntransition = [[1]]\n'
ONE_STATE_LAG = ONE_STATE + '[target]\nexpression = "x99999999"\n'
DUPLICATE_STATES = '[chain]\nstates = [[0.5], [0.5]]\ntransition = [["1/2", "1/2"], [1, 0]]\n'

HOSTILE: list[tuple[list[str], str]] = [
    (["poisson", "--exact", "--function", "x0**1e300"], "too large to evaluate exactly"),
    (["poisson", "--exact", "--function", "x0**99999999"], "too large to evaluate exactly"),
    (["poisson", "--exact", "--function", "abs(x0)**1e300"], "too large to evaluate exactly"),
    (["poisson", "--exact", "--function", "exp(-sqrt(3)**99999999999)"], "too large"),
    (["poisson", "--exact", "--function", "sqrt(2)**999999999"], "too large"),
    (["poisson", "--exact", "--function", "exp(1e300)"], "beyond double precision"),
    (["poisson", "--word-length", "1000000000000", "--function", "x0"], "too many"),
    (["poisson", "--word-length", "10000", "--function", "x0"], "too many"),
    (["simulate", "--N", "1000000000000"], "run.N = 1000000000000"),
    (["simulate", "--set", "run.N=1e12"], "run.N"),
    (["simulate", "--set", "run.replicas=100000000"], "run.replicas = 100000000"),
    (["simulate", "--set", "training.horizon=1e308"], "training.horizon"),
    (["simulate", "--set", "training.horizon=1e-300"], "0 training steps"),
    (["limit", "--set", "limit.word_length=40"], "limit.word_length = 40"),
    (["limit", "--word-length", "9", "--memory-cap", "8GiB"], "--word-length = 9"),
    (["limit", "--word-length", "10"], "--word-length = 10"),
    (["limit", "--word-length", "14"], "--word-length = 14"),
    (["limit", "--times", "1e308"], "--times"),
    (["limit", "--times", "1e200"], "--times"),
    (["simulate", "--config", "/dev/zero"], "larger than"),
    (["simulate", "--set", 'chain.transition=[["1e-400","1","0"],["0.5","0.5","0"],'
      '["0.2","0.2","0.6"]]'], "1 + 1.00000e-400"),
    # the NumPy backend: the case is the write error, not the first (slow) numba compilation
    (["simulate", "--N", "10", "--replicas", "1", "--backend", "numpy", "--out", "/dev/full"],
     "/dev/full"),
    (["simulate", "--bogus"], "unrecognized arguments"),
    (["simulate", "--set", "run.N=" + "9" * 5000], "run.N"),  # beyond int-to-str's limit
    (["report", "--budget", "huge"], "invalid choice"),
    (["poisson", "--function", "x0", "--exact", "--time-limit", "-1"], "--time-limit"),
    # an alarm that fired before the limit's guard was in place leaked _TimeLimitExceeded
    (["poisson", "--function", "x0", "--exact", "--time-limit", "1e-9"], "ran past its time"),
    # nonzero numbers that double precision reads as 0: no limit, t = 0
    (["poisson", "--function", "x0", "--exact", "--time-limit", "1e-400"],
     "'1e-400' is beyond double precision"),
    (["limit", "--times", "1,1e-400"], "'1e-400' is beyond double precision"),
]
ONE_STATE_CASES: list[tuple[str, list[str]]] = [
    (ONE_STATE_LAG, ["limit"]),
    (ONE_STATE, ["limit", "--word-length", "100"]),
    (ONE_STATE, ["report", "--budget", "quick"]),
    (DUPLICATE_STATES, ["simulate"]),
]


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "proofs_check", *argv], capture_output=True,
                          text=True, timeout=SECONDS, preexec_fn=_limit_memory, cwd=cwd,
                          env={**os.environ, "RNNKL_MEMORY_CAP": "12GiB"})


def _check(result: subprocess.CompletedProcess[str], needle: str) -> None:
    where = f"{result.args[3:]}: {result.stderr[-400:]}"
    assert result.returncode == 2, where
    assert "Traceback" not in result.stderr, where
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "error: " in lines[0], where
    assert needle in lines[0], where
    assert len(lines[0]) < 600, where


def test_hostile_inputs_end_in_one_line_within_seconds(tmp_path):
    """Each listed input (the issue's list) in its own process, two at a time."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda case: _run(case[0], tmp_path), HOSTILE))
    for result, (_, needle) in zip(results, HOSTILE, strict=True):
        _check(result, needle)


def test_degenerate_chains_are_refused_not_failed(tmp_path):
    """A one-state chain (or all states at one point) has constant inputs: no check could have
    power, so it is refused before any work, never reported as failed checks."""
    def run(case: tuple[str, list[str]]) -> subprocess.CompletedProcess[str]:
        text, argv = case
        path = tmp_path / f"chain{abs(hash(text))}.toml"
        path.write_text(text)
        return _run([*argv, "--config", str(path), *(["--out", str(tmp_path / "r")]
                                                    if argv[0] == "report" else [])], tmp_path)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(run, ONE_STATE_CASES))
    for result in results:
        _check(result, "degenerate chain")
