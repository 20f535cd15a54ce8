"""The cross-checks' numbers do not depend on the peer libraries' thread counts: results.json
is bit-identical however threaded (README "Same numbers everywhere"), its cross-check section
included. XLA (jax) runs its CPU work on a thread pool of its own, outside threadpoolctl; this
runs every comparison in two fresh processes, one with XLA's default threads and one with XLA
on a single thread, and asserts the same bits of every deviation. (Measured on 2026-12-05 with
jax 0.5.3 on 2 cores: also the same bits on one core, taskset -c 0.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import need

pytestmark = pytest.mark.crosscheck

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = """
import json
from derivations.inputs.files import load_layers
from numerics.peer_comparisons import run_all_crosschecks
from proofs_check.threads import blas_on_one_thread
with blas_on_one_thread():
    results = run_all_crosschecks(load_layers(None).config)
print(json.dumps([[r.name, float(r.max_deviation).hex()] for r in results]))
"""
SINGLE_THREADED_XLA = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def _deviations(xla_flags: str | None) -> list[list[str]]:
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    if xla_flags is not None:
        env["XLA_FLAGS"] = xla_flags
    done = subprocess.run([sys.executable, "-c", PROGRAM], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_cross_checks_are_the_same_bits_with_xla_on_one_thread_and_on_all() -> None:
    from numerics.peer_libraries import neural_tangents, quantecon

    need(neural_tangents)
    need(quantecon)
    default = _deviations(None)
    single = _deviations(SINGLE_THREADED_XLA)
    assert len(default) >= 5, default  # every comparison ran, with a name and a deviation
    assert default == single
