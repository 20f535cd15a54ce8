"""The kernel's products run as tasks on a pool of threads (numerics.task_pool): the same bits
with 1, 2 or 3 threads, because the partition of the work is set by the problem alone.

Seen failing: with the node chunk's size divided by the thread count (the mutant
"kernel_chunk_by_threads" of benchmarks/mutation_score.py) the sums with 1 and 2 threads differ
in their last bits, and these tests say so."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import numerics.task_pool as task_pool
from derivations.errors import InputError
from numerics.kernel import KernelSpec, kernels_on_words
from numerics.quadrature import QuadratureSettings

ROOT = Path(__file__).resolve().parents[1]
_REAL_POOL = task_pool._pool
SETTINGS = QuadratureSettings(w_step=0.25, half_width=7.0, b_nodes=8)
CASES = {
    "d=1": KernelSpec("tanh", np.array([[-1.0], [0.3], [1.0]]), 1.0, 1.0, 0.5, ("c", "w", "b")),
    "d=2": KernelSpec("tanh", np.array([[1.0, -0.5], [-0.75, 0.25]]), 0.8, 1.2, 0.6,
                      ("c", "w", "b")),
}


def _digest(results: dict) -> str:
    """Every number of kernels_on_words' results (K, the groups, the cross kernels, the error
    estimates) as one hash of their bytes."""
    h = hashlib.sha256()
    for length in sorted(results):
        r = results[length]
        for array in (r.K, *(r.by_group[g] for g in sorted(r.by_group)),
                      *(r.cross[s] for s in sorted(r.cross))):
            h.update(np.ascontiguousarray(array).tobytes())
        h.update(repr(sorted(r.error_parts.items())).encode())
    return h.hexdigest()


def _count_submissions(monkeypatch) -> list[int]:
    """A list that grows by one for each task handed to the pool (numerics.task_pool._pool;
    each call wraps the module's own pool, never an earlier wrapper)."""
    submitted: list[int] = []

    def counting_pool(n: int):
        pool = _REAL_POOL(n)

        class Counting:
            def submit(self, fn, *args):
                submitted.append(n)
                return pool.submit(fn, *args)

        return Counting()

    monkeypatch.setattr(task_pool, "_pool", counting_pool)
    return submitted


def _longest(spec: KernelSpec) -> int:
    """The longest word length of the tests' kernels: 81 words (m = 3) or 64 (m = 2), more
    than one row block of numerics.kernel_sums."""
    return 4 if spec.states.shape[0] == 3 else 6


def _kernels(monkeypatch, threads: int, spec: KernelSpec, **kwargs) -> tuple[str, int, int]:
    """The digest of the kernels at RNNKL_THREADS=threads, how many tasks went to the pool
    (0 with one thread: they ran in the caller's thread) and the longest length's row blocks."""
    import numerics.kernel_sums as kernel_sums

    monkeypatch.setenv(task_pool.THREADS_VARIABLE, str(threads))
    # node chunks of about a hundred nodes: many chunks, so the next chunk's features are
    # computed while this one's products run
    monkeypatch.setattr(kernel_sums, "_CHUNK_BYTES", 1e6)
    submitted = _count_submissions(monkeypatch)
    L = _longest(spec)
    with threadpool_limits(1):
        results = kernels_on_words(spec, (L - 1, L), SETTINGS, pairs=((L - 1, L),), **kwargs)
    return _digest(results), len(submitted), results[L].rule_sizes["row_blocks"]


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("blocked", [False, True])
def test_the_kernel_is_the_same_bits_with_one_two_and_three_threads(monkeypatch, case,
                                                                     blocked) -> None:
    """kernels_on_words (two lengths and their cross kernel; ``blocked``: the longest in block
    rows of 40 rows, numerics.kernel's memory budget) with 1, 2 and 3 threads: one digest of
    every number, and the pool really used with more than one thread."""
    spec = CASES[case]
    n = spec.states.shape[0] ** _longest(spec)
    kwargs = {"block_bytes": 8.0 * 6 * n * 40} if blocked else {}  # 6 arrays of 40 rows
    one, pooled_one, blocks = _kernels(monkeypatch, 1, spec, **kwargs)
    two, pooled_two, _ = _kernels(monkeypatch, 2, spec, **kwargs)
    three, pooled_three, _ = _kernels(monkeypatch, 3, spec, **kwargs)
    assert blocks == (-(-n // 40) if blocked else 1)
    assert pooled_one == 0
    assert pooled_two > 0 and pooled_three > 0
    assert one == two == three


@pytest.mark.parametrize("case", ["sigmoid, b frozen, selected words, no groups",
                                  "d=3, Sobol"])
def test_other_paths_are_the_same_bits_with_one_and_two_threads(monkeypatch, case) -> None:
    """The unfolded rule (sigmoid is not odd), a frozen group, a selection of the words and the
    totals without groups; and the Sobol rules of d = 3 (a mean over scramblings): the same
    digest with 1 and 2 threads, the pool used."""
    if case.startswith("sigmoid"):
        spec = KernelSpec("sigmoid", np.array([[-1.0], [0.3], [1.0]]), 1.0, 1.0, 0.5,
                          ("c", "w"))
        kwargs = {"select": np.arange(0, 243, 3), "by_group": False}  # 81 of the 243 words
        lengths, settings = (5,), SETTINGS
    else:
        spec = KernelSpec("tanh", np.array([[1.0, 0.0, -0.5], [-0.5, 1.0, 0.5]]), 1.0, 1.0,
                          0.5, ("c", "w", "b"))
        kwargs = {}
        lengths, settings = (6,), QuadratureSettings(sobol_log2=10, sobol_scramblings=2)
    digests, pooled = [], []
    for threads in (1, 2):
        monkeypatch.setenv(task_pool.THREADS_VARIABLE, str(threads))
        submitted = _count_submissions(monkeypatch)
        with threadpool_limits(1):
            digests.append(_digest(kernels_on_words(spec, lengths, settings, **kwargs)))
        pooled.append(len(submitted))
    assert pooled[0] == 0 and pooled[1] > 0
    assert digests[0] == digests[1]


def test_row_and_column_blocks_are_set_by_the_matrix_alone() -> None:
    """The partition of the products (numerics.kernel_sums) covers every row once, in blocks of
    at least 32 rows, at most 8 of them, with no thread count in sight."""
    from numerics.kernel_sums import _row_tasks

    for n in (1, 31, 32, 81, 729, 6561):
        blocks = _row_tasks(n)
        assert blocks[0][0] == 0 and blocks[-1][1] == n
        assert all(a[1] == b[0] for a, b in zip(blocks, blocks[1:], strict=False))
        assert len(blocks) <= 8
        assert all(b1 - b0 >= min(32, n) for b0, b1 in blocks[:-1])


@pytest.mark.parametrize("text, expected", [("1", 1), ("2", 2), (" 3 ", 3), ("64", 64)])
def test_the_thread_count_reads_the_variable(monkeypatch, text, expected) -> None:
    monkeypatch.setenv(task_pool.THREADS_VARIABLE, text)
    assert task_pool.thread_count() == expected


def test_the_thread_count_defaults_to_the_cores(monkeypatch) -> None:
    monkeypatch.delenv(task_pool.THREADS_VARIABLE, raising=False)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert task_pool.available_cores() == cores
    assert task_pool.thread_count() == min(task_pool.MAX_THREADS, cores or 1)


@pytest.mark.parametrize("text", ["0", "65", "-1", "2.0", "two", "\u00b2", "9" * 5000, "1e1"])
def test_a_bad_thread_count_is_bad_input(monkeypatch, text) -> None:
    monkeypatch.setenv(task_pool.THREADS_VARIABLE, text)
    with pytest.raises(InputError, match="RNNKL_THREADS must be a whole number"):
        task_pool.thread_count()


def test_a_failing_task_raises_in_the_caller(monkeypatch) -> None:
    monkeypatch.setenv(task_pool.THREADS_VARIABLE, "2")
    done = []

    def fails() -> None:
        raise ZeroDivisionError("in a task")

    with pytest.raises(ZeroDivisionError, match="in a task"):
        task_pool.run_all([lambda: done.append(1), fails, lambda: done.append(3)])


def test_a_failed_wait_cancels_the_tasks_not_yet_started(monkeypatch) -> None:
    """A thread pool runs its whole queue before the interpreter exits: a SIGTERM'd command
    (proofs_check.termination.Terminated raised in the wait) would otherwise finish the batch first.
    The first task fails at once; of the twenty that sleep 0.05 s each, only those the two
    threads had started may run (at most about two). Two tasks meeting at a barrier, queued
    after them, show the queue is empty and both threads idle before counting."""
    monkeypatch.setenv(task_pool.THREADS_VARIABLE, "2")
    ran: list[int] = []

    def fails() -> None:
        raise ZeroDivisionError("in a task")

    def slow(i: int) -> None:
        time.sleep(0.05)
        ran.append(i)

    with pytest.raises(ZeroDivisionError):
        task_pool.run_all([fails, *[lambda i=i: slow(i) for i in range(20)]])
    barrier = threading.Barrier(2, timeout=30)
    pool = task_pool._pool(2)
    for future in [pool.submit(barrier.wait) for _ in range(2)]:
        future.result(timeout=60)
    assert len(ran) <= 4, ran  # twenty without the cancel


def test_the_command_refuses_a_bad_thread_count_in_one_line(tmp_path) -> None:
    done = subprocess.run([sys.executable, "-m", "proofs_check", "limit", "--word-length", "2",
                           "--out", str(tmp_path / "g.json")],
                          env=dict(os.environ, RNNKL_THREADS="0"), cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "rnnkl: error: RNNKL_THREADS must be a whole number from 1 to 64, got '0'"]
    assert not (tmp_path / "g.json").exists()


# Run in a fresh interpreter: forking the test process itself is unsafe once other libraries
# have started threads there. With the crosscheck extra installed the report tests import JAX
# (test_report.py runs the peer comparisons), and a fork beside JAX's threads may deadlock in
# the child whatever task_pool does; Python warns "JAX is multithreaded, so this will likely
# lead to a deadlock". Here only the interpreter, NumPy and the pool have threads.
_FORKED_CHILD_SCRIPT = """
import multiprocessing, os, sys, warnings
os.environ[sys.argv[1]] = "2"
import numerics.task_pool as task_pool

def child(queue):  # in the forked child: the pool and the background thread run work
    done = []
    task_pool.run_all([lambda: done.append(1), lambda: done.append(2)])
    queue.put((sorted(done), task_pool.submit_background(sum, [3, 4]).result(timeout=30)))

task_pool.run_all([lambda: None, lambda: None])  # the parent's pool threads started
task_pool.submit_background(int).result()
context = multiprocessing.get_context("fork")
queue = context.Queue()
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
    process = context.Process(target=child, args=(queue,))
    process.start()
process.join(timeout=60)
if process.is_alive():
    process.kill()
    sys.exit("the forked child hung on the parent's pool")
print(process.exitcode, queue.get(timeout=5))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_gets_pools_of_its_own() -> None:
    """A process forked after the pool's threads started (the parent's threads do not exist in
    the child) still runs its tasks: the pools are forgotten at the fork, not waited on for
    ever. Seen failing (timeout) with numerics.task_pool's register_at_fork removed."""
    done = subprocess.run([sys.executable, "-c", _FORKED_CHILD_SCRIPT,
                           task_pool.THREADS_VARIABLE], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0 ([1, 2], 7)"
