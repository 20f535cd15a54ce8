"""Every ``rnnkl`` command runs BLAS and LAPACK on one thread (proofs_check.threads), so its
numbers do not depend on the thread count the user's environment or a caller sets.

Before proofs_check.threads, the two commands below gave different last bits with
OPENBLAS_NUM_THREADS=1 and 2 on these very requests (the limit's g_t on 81 words, the Poisson
solution on 243 words), and `rnnkl report --budget quick` 88 different numbers in results.json.
The environments below ask the same count of the limit's kernel threads (RNNKL_THREADS,
numerics.task_pool), whose partition is fixed: 1 and 2 give the same bytes too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from report_documents import numbers

from proofs_check.threads import BLAS_THREAD_VARIABLES, blas_environment_pinned

ROOT = Path(__file__).resolve().parents[1]
REQUESTS = {
    "limit": ["limit", "--times", "0.5,1", "--word-length", "4", "--no-progress"],
    "poisson": ["poisson", "--function", "x0**2", "--word-length", "5"],
}


def _asking(threads: int) -> dict[str, str]:
    """This process's environment, asking ``threads`` BLAS threads of every library and
    ``threads`` kernel threads (RNNKL_THREADS)."""
    return dict(os.environ, RNNKL_THREADS=str(threads),
                **{name: str(threads) for name in BLAS_THREAD_VARIABLES})


def _run(request: list[str], out: Path, threads: int) -> bytes:
    """The JSON a command writes in a fresh process whose environment asks ``threads`` BLAS
    threads of every library."""
    done = subprocess.run([sys.executable, "-m", "proofs_check", *request, "--out", str(out)],
                          env=_asking(threads), cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return out.read_bytes()


@pytest.mark.parametrize("command", sorted(REQUESTS))
def test_a_command_writes_the_same_bytes_with_one_and_two_blas_threads(command, tmp_path):
    one = _run(REQUESTS[command], tmp_path / "one.json", 1)
    two = _run(REQUESTS[command], tmp_path / "two.json", 2)
    assert json.loads(one), "a non-empty result"
    assert one == two


def test_a_caller_running_blas_on_two_threads_gets_the_one_threadnumbers(tmp_path):
    """In process (NumPy's BLAS loaded before the command, so the environment no longer
    counts): the command limits the loaded BLAS itself (threadpoolctl), and restores the
    caller's count after."""
    import numpy  # noqa: F401  (their BLAS loaded before the command, as by a caller)
    import scipy.linalg  # noqa: F401
    from threadpoolctl import threadpool_info, threadpool_limits

    from proofs_check.cli import main

    reference = _run(REQUESTS["limit"], tmp_path / "reference.json", 1)
    with threadpool_limits(limits=2, user_api="blas"):
        before = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
        assert main([*REQUESTS["limit"], "--out", str(tmp_path / "here.json")]) == 0
        after = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    assert before and set(before) == {2}
    assert after == before
    assert (tmp_path / "here.json").read_bytes() == reference


def test_the_environment_is_pinned_inside_and_restored_after(monkeypatch):
    monkeypatch.setenv(BLAS_THREAD_VARIABLES[0], "4")
    monkeypatch.delenv(BLAS_THREAD_VARIABLES[1], raising=False)
    with blas_environment_pinned():
        assert [os.environ[name] for name in BLAS_THREAD_VARIABLES] == ["1"] * 3
    assert os.environ[BLAS_THREAD_VARIABLES[0]] == "4"
    assert BLAS_THREAD_VARIABLES[1] not in os.environ


PROBE = """
from proofs_check.threads import blas_environment_pinned
with blas_environment_pinned():
    import numpy, scipy.linalg  # each BLAS loaded here reads its thread count now
from threadpoolctl import threadpool_info
print(sorted({lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}))
"""


def test_a_blas_loaded_inside_the_pinned_environment_runs_one_thread():
    """The environment layer alone: a BLAS loaded after it (as the commands load NumPy and
    SciPy) starts with one thread although the caller's environment asks two."""
    done = subprocess.run([sys.executable, "-c", PROBE], env=_asking(2), cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[1]"


@pytest.mark.slow
def test_a_quick_report_has_the_same_numbers_with_one_and_two_blas_threads(tmp_path):
    """The whole report, driver included (before proofs_check.threads only its cached jobs
    were pinned, and 88 numbers of results.json differed between the two), the kernel's
    threads asked the same count (:func:`_asking`)."""
    documents = []
    for threads in (1, 2):
        out = tmp_path / f"threads{threads}"
        done = subprocess.run([sys.executable, "-m", "proofs_check", "report", "--budget",
                               "quick", "--out", str(out), "--no-progress"],
                              env=_asking(threads), cwd=ROOT, capture_output=True, text=True,
                              timeout=900)
        assert done.returncode in (0, 1), done.stderr
        documents.append(json.loads((out / "results.json").read_text()))
    assert len(documents[0]["checks"]) > 10
    assert numbers(documents[0]) == numbers(documents[1])


def test_a_check_run_from_python_has_the_same_numbers_for_any_caller_thread_count():
    """proofs_check.report runs each check module with BLAS on one thread (not only its cached
    jobs): poisson_pathwise measured 8.2e-13 with one OpenBLAS thread and 9.1e-13 with two
    before, in process."""
    import numpy  # noqa: F401  (NumPy's BLAS loaded, so the caller's limit applies to it)
    from threadpoolctl import threadpool_limits

    from derivations.inputs.config import load_config
    from proofs_check.report import run_check

    config = load_config(None)
    numbers = []
    for threads in (1, 2):
        with threadpool_limits(limits=threads, user_api="blas"):
            results = run_check("poisson_fluctuations", config)
        numbers.append([(r.name, r.measured, r.ci, r.window,
                         [(v.name, v.measured) for v in r.rivals]) for r in results])
    assert len(numbers[0]) >= 3
    assert numbers[0] == numbers[1]


def test_the_cli_module_loads_no_blas_before_it_pins_the_environment():
    """The environment layer counts only if NumPy (and SciPy) load after it: importing the
    command line itself must not load them (the commands are imported lazily)."""
    done = subprocess.run([sys.executable, "-c", "import sys, proofs_check.cli; "
                           "print(sorted({'numpy', 'scipy'} & set(sys.modules)))"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"
