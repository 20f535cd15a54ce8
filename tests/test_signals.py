"""SIGTERM (``kill``, ``timeout``, a batch system's time limit) ends a command as Ctrl-C does:
cleanup runs (a cluster's batch jobs are cancelled, tests/distributed), one line on stderr,
exit 143; the handler is the command's alone and is restored after it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from proofs_check.cli import EXIT_TERMINATED, Terminated, sigterm_raises

ROOT = Path(__file__).resolve().parents[1]


def test_sigterm_raises_inside_the_block_and_the_old_handler_returns():
    before = signal.getsignal(signal.SIGTERM)
    cleaned = []
    with pytest.raises(Terminated), sigterm_raises():
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler raises before this returns
        finally:
            cleaned.append(True)
    assert cleaned == [True]
    assert signal.getsignal(signal.SIGTERM) is before
    assert issubclass(Terminated, KeyboardInterrupt)  # code that cleans up on Ctrl-C does here


def test_a_terminated_report_is_one_line_and_exit_143(tmp_path):
    out = tmp_path / "report"
    process = subprocess.Popen(
        [sys.executable, "-m", "proofs_check", "report", "--out", str(out), "--no-progress"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    # wait until the report is under way (its first cache entry), not still importing
    while not list((out / "cache").glob("*.npz")) and time.monotonic() < deadline:
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    try:
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()  # no-op once it ended; a hung process must not outlive the test
    assert process.returncode == EXIT_TERMINATED, stderr
    assert stderr == "rnnkl: terminated\n"
    assert not (out / "results.json").exists()
