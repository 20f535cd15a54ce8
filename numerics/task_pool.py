"""Work cut into a fixed set of tasks, run on a pool of threads: the results do not depend on how
many threads run them (README "Same numbers everywhere").

The rule that makes this so: the partition of the work (which nodes, rows and columns a task
owns) is set by the problem alone, never by the thread count, and every task writes a region
of the outputs no other task of the same batch touches, in its own fixed order. The threads only
decide *when* a task runs. NumPy releases the GIL in BLAS products and in elementwise loops, so
two threads use two cores; BLAS itself stays on one thread (proofs_check.threads), whose
products are the same bits whichever thread calls them.

The thread count: RNNKL_THREADS (a whole number >= 1), else the cores this process may use.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache
from typing import TypeVar

from derivations.errors import InputError

T = TypeVar("T")
THREADS_VARIABLE = "RNNKL_THREADS"
MAX_THREADS = 64


def available_cores() -> int:
    """The cores this process may run on: os.sched_getaffinity where it exists (a batch job's
    or a container's share), else os.cpu_count()."""
    cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    return max(1, len(cores) if cores else (os.cpu_count() or 1))


def thread_count() -> int:
    """The number of threads of the pool: RNNKL_THREADS, else :func:`available_cores` (at most
    MAX_THREADS). A value that is not a whole number in 1..MAX_THREADS is bad input
    (InputError: one line, exit 2)."""
    text = os.environ.get(THREADS_VARIABLE, "").strip()
    if not text:
        return min(MAX_THREADS, available_cores())
    if not (len(text) <= 3 and text.isascii() and text.isdigit()) or not (
            1 <= int(text) <= MAX_THREADS):
        raise InputError(f"{THREADS_VARIABLE} must be a whole number from 1 to {MAX_THREADS}, "
                         f"got {text[:24]!r}")
    return int(text)


@cache
def _pool(threads: int) -> ThreadPoolExecutor:
    """One pool per thread count, kept for the life of the process (threads start on demand)."""
    return ThreadPoolExecutor(max_workers=threads, thread_name_prefix="rnnkl-task")


@cache
def _background() -> ThreadPoolExecutor:
    """The one thread of :func:`submit_background`."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="rnnkl-background")


def _forget_pools() -> None:
    """In a forked child the pools' threads do not exist: new pools, started on demand."""
    _pool.cache_clear()
    _background.cache_clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pools)


def submit_background(fn: Callable[..., T], *args: object) -> Future[T]:
    """Run ``fn(*args)`` on one background thread (beside the pool: work that overlaps the
    tasks, such as the next chunk's features in numerics.kernel_sums); its Future."""
    return _background().submit(fn, *args)


def run_all(tasks: Sequence[Callable[[], None]]) -> None:
    """Run ``tasks`` (which write disjoint regions of their outputs) and wait for them all;
    the first error is raised here. With one thread the tasks run here, in order: the same
    arithmetic either way. When the wait ends early (a task's error, Ctrl-C, SIGTERM raised as
    proofs_check.termination.Terminated) the tasks not yet started are cancelled: a thread pool runs
    its whole queue before the interpreter may exit, so without this a terminated command
    would finish the batch first."""
    threads = thread_count()
    if threads == 1 or len(tasks) <= 1:
        for task in tasks:
            task()
        return
    futures = [_pool(threads).submit(task) for task in tasks]
    try:
        for future in futures:
            future.result()
    except BaseException:
        for future in futures:
            future.cancel()  # no-op for a task already running or done
        raise


def fixed_blocks(n: int, size: int) -> list[tuple[int, int]]:
    """(start, stop) blocks of at most ``size`` covering 0..n: a partition set by n and size
    alone (never by the thread count)."""
    size = max(1, int(size))
    return [(start, min(n, start + size)) for start in range(0, n, size)]
