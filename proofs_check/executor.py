"""Where the expensive jobs of a report or a sweep run: the one executor seam (issue 16).

A job is one cache entry (:class:`proofs_check.cache.Job`: a ladder level's simulation, a
kernel, a limit, a frozen-network run, ...). Every job reaches an executor through
:class:`proofs_check.cache.Cache`, which never computes a job itself:

* :class:`SerialExecutor` (the default): in this process, when its result is first needed;
  exactly the order and the numbers of a run without Dask.
* :class:`DaskExecutor`: a ``dask.distributed`` client (the optional extra ``distributed``):
  a local cluster (``--workers K``), an existing scheduler (``--scheduler ADDRESS``), or a
  Slurm or PBS cluster that ``dask-jobqueue`` starts from the ``[cluster]`` config section
  (:mod:`proofs_check.cluster`).

Same numbers everywhere: a job's arrays are a function of its parameters alone (every seed is
one of them, numerics.seeding), so where it runs cannot change a number; a worker stores the
entry in the shared cache directory under the same claim lock as a local run
(:mod:`proofs_check.cache`), and the driver stores it too when the worker's filesystem is not
its own. A worker killed mid-job is replaced by the scheduler and the job reruns elsewhere
(Dask's own fault tolerance; an unfinished entry is never written, atomic writes). Workers must
run the same code as the driver: each job compares the worker's code version
(:func:`proofs_check.cache.code_salt`) with the driver's and refuses to run on another.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from typing import Any, Protocol

from derivations.errors import InputError

EXTRA_HINT = "pip install 'rnn-kernel-limit[distributed]'"
POLL_SECONDS = 5.0  # a result is awaited in slices this long, the workers counted in between
WORKERLESS_GRACE = 120.0  # seconds without a worker (after some were seen) before giving up


class ExecutorError(InputError):
    """An executor that cannot be started or reached (one line, exit 2)."""


class Executor(Protocol):
    """What :class:`proofs_check.cache.Cache` needs from an executor."""

    parallel: bool  # True: jobs submitted early run concurrently elsewhere
    description: str  # one phrase for the report's closing line

    def submit(self, name: str, function: Callable[..., Any], *args: Any) -> Any:
        """Start ``function(*args)`` (``name``: a unique task name); a handle for result."""
        ...

    def result(self, handle: Any) -> Any:
        """The value of a submitted call (its exception re-raised)."""
        ...

    def close(self) -> None:
        ...


class SerialExecutor:
    """Runs each call in this process when its result is asked for."""

    parallel = False
    description = "serial"

    def submit(self, name: str, function: Callable[..., Any], *args: Any) -> Any:
        return functools.partial(function, *args)

    def result(self, handle: Any) -> Any:
        return handle()

    def close(self) -> None:
        return None


def worker_count(client: Any) -> int:
    """How many workers the scheduler of a ``dask.distributed`` client has now."""
    return len(client.scheduler_info().get("workers", {}))


class DaskExecutor:
    """Submits calls to a ``dask.distributed`` client (which it closes, with the cluster it
    owns, if any). Task names are the cache keys, so two submissions of one job share a task.

    A result is awaited in slices of :data:`POLL_SECONDS`; between them the executor counts the
    scheduler's workers. Once workers have been seen, ``grace`` seconds with none (every
    ``dask worker`` stopped, every batch job at its walltime) end the wait in one
    ExecutorError line instead of a wait for ever. Workers are seen at the start, at a count,
    or through a result; before any is seen (batch jobs still queued) it waits as long as it
    takes."""

    parallel = True

    def __init__(self, client: Any, cluster: Any = None, description: str = "Dask",
                 grace: float = WORKERLESS_GRACE):
        self.client = client
        self.cluster = cluster
        self.description = description
        self.grace = grace
        # workers at the start (--workers, --scheduler) count as seen; batch jobs may be queued
        self._seen_workers = worker_count(client) > 0
        self._empty_since: float | None = None

    def submit(self, name: str, function: Callable[..., Any], *args: Any) -> Any:
        return self.client.submit(function, *args, key=name, pure=False)

    def result(self, handle: Any) -> Any:
        while True:
            try:
                value = handle.result(timeout=POLL_SECONDS)
            except (TimeoutError, asyncio.TimeoutError):  # the same class from Python 3.11 on
                if handle.done():  # finished as the wait ran out, or the job's own TimeoutError:
                    value = handle.result()  # its outcome, at once (a loaded machine once made
                    break  # the wait's TimeoutError a failed check: tests/test_executor_poll.py)
                self._check_workers()
                continue
            break
        self._seen_workers = True  # a worker computed it (a quick job is never polled)
        return value

    def _check_workers(self) -> None:
        """Raise when the workers seen before have all been gone for ``grace`` seconds."""
        workers = worker_count(self.client)
        now = time.monotonic()
        if workers:
            self._seen_workers, self._empty_since = True, None
        elif self._seen_workers:
            self._empty_since = now if self._empty_since is None else self._empty_since
            if now - self._empty_since > self.grace:
                raise ExecutorError(
                    f"every worker of {self.description} has left, and none came back within "
                    f"{self.grace:g} s (stopped workers, or batch jobs at their walltime); the "
                    "finished jobs are in the cache: the same command resumes from them")

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def require_distributed() -> Any:
    """The ``distributed`` module, or an ExecutorError naming the extra to install."""
    try:
        import distributed
    except ImportError:
        raise ExecutorError("--workers, --scheduler and [cluster] need Dask (the optional "
                            f"extra 'distributed'): {EXTRA_HINT}") from None
    return distributed
