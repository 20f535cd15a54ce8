"""Starting the executor a command asks for: ``--workers K``, ``--scheduler ADDRESS`` or the
config file's ``[cluster]`` section (Slurm or PBS through ``dask-jobqueue``), else serial.

Precedence: ``--scheduler``, then ``--workers``, then ``[cluster]``; the flags win over the file,
so a config written for the cluster runs on a laptop with ``--workers 2``. Everything is
validated before anything starts, and every failure is one :class:`ExecutorError` line (exit 2):
a missing extra, a bad address, a scheduler that does not answer within ``--connect-timeout``
seconds, a bad ``[cluster]`` key.

``[cluster]`` keys (README "Running on a cluster"): ``system`` ("slurm" or "pbs", required),
``jobs`` (batch jobs to submit, default 1), ``cores`` (per job, default 1), ``processes``
(Dask workers per job, default 1, at most ``cores``), ``memory`` (per job, e.g. "8GiB",
default "4GiB"), ``walltime`` ("HH:MM:SS", default "01:00:00"), ``queue``, ``account``
(optional) and ``directives`` (extra ``#SBATCH`` / ``#PBS`` lines, e.g. ["--qos=short"]).
Strings are whitelisted (no newlines, quotes or shell characters reach the job script).
"""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from derivations.inputs.fields import (
    ConfigError,
    read_integer,
    read_string,
    read_strings,
    type_name,
)
from numerics.task_pool import THREADS_VARIABLE, available_cores
from proofs_check.executor import (
    WORKERLESS_GRACE,
    DaskExecutor,
    Executor,
    ExecutorError,
    SerialExecutor,
    require_distributed,
    worker_count,
)

SUBMIT_COMMANDS = {"slurm": "sbatch", "pbs": "qsub"}  # what dask-jobqueue runs to submit a job
# seconds for the batch system to accept or refuse the jobs: 120, plus 1 per job (dask-jobqueue
# runs the submit commands at once, and a busy controller answers a few per second)
SUBMIT_TIMEOUT = 120.0
SUBMIT_TIMEOUT_PER_JOB = 1.0
CONNECT_TIMEOUT = 10.0  # seconds to reach a --scheduler unless --connect-timeout says otherwise
MAX_WORKERS = 64  # local workers: one process each; more than 64 on one machine is a typo
MAX_JOBS = 1000
MAX_CORES = 1024
# The batch job script's lines for the compute threads of each task (numba's and the kernel's
# task pool, numerics.task_pool): one each. A job's `processes` workers each run
# cores // processes tasks at once (dask-jobqueue's --nthreads), which already fill its cores;
# without these lines every task also took all the cores the job may use (sched_getaffinity),
# up to `cores` times oversubscribed. Results do not depend on thread counts (numerics.seeding,
# numerics.task_pool), only the wall time does.
BATCH_THREAD_EXPORTS = tuple(f"export {name}=1" for name in ("NUMBA_NUM_THREADS", THREADS_VARIABLE))
_ADDRESS = re.compile(r"^(?:(?:tcp|tls)://)?[A-Za-z0-9._\-]{1,253}:[0-9]{1,5}$")
_MEMORY = re.compile(r"^[0-9]{1,6}(?:\.[0-9]{1,3})?\s?(?:[kKMGT]i?B|B)$")
_WALLTIME = re.compile(r"^[0-9]{1,3}:[0-5][0-9]:[0-5][0-9]$")
_NAME = re.compile(r"^[A-Za-z0-9_.@+\-]{1,64}$")
_DIRECTIVE = re.compile(r"^[A-Za-z0-9_.:=,@/+\- ]{1,200}$")
_KEYS = ("system", "jobs", "cores", "processes", "memory", "walltime", "queue", "account",
         "directives")


@dataclass(frozen=True)
class ClusterSpec:
    """A validated ``[cluster]`` section (module docstring)."""

    system: str
    jobs: int = 1
    cores: int = 1
    processes: int = 1
    memory: str = "4GiB"
    walltime: str = "01:00:00"
    queue: str | None = None
    account: str | None = None
    directives: tuple[str, ...] = ()


def _fail(key: str, reason: str) -> ExecutorError:
    return ExecutorError(f"cluster.{key}: {reason}")


def _bounded(table: dict[str, Any], key: str, default: int, high: int) -> int:
    value = read_integer(table.get(key, default), f"cluster.{key}")
    if not 1 <= value <= high:
        raise _fail(key, f"must be between 1 and {high}, got {value}")
    return value


def _matching(table: dict[str, Any], key: str, pattern: re.Pattern[str], what: str
              ) -> str | None:
    if key not in table:
        return None
    value = read_string(table[key], f"cluster.{key}")
    if not pattern.match(value):
        raise _fail(key, f"expected {what}, got {value[:40]!r}")
    return value


def read_cluster_table(table: Any) -> ClusterSpec:
    """The ``[cluster]`` table of a config file as a ClusterSpec (one-line errors)."""
    try:
        return _read_cluster_table(table)
    except ConfigError as err:  # a field reader's message, as this module's error
        raise ExecutorError(str(err)) from None


def _read_cluster_table(table: Any) -> ClusterSpec:
    if not isinstance(table, dict):
        raise ExecutorError(f"cluster: must be a table [cluster], got {type_name(table)}")
    unknown = sorted(set(table) - set(_KEYS))
    if unknown:
        raise _fail(unknown[0], f"unknown key (known keys: {', '.join(_KEYS)})")
    if "system" not in table:
        raise _fail("system", "missing (required): \"slurm\" or \"pbs\"")
    system = read_string(table["system"], "cluster.system")
    if system not in SUBMIT_COMMANDS:
        raise _fail("system", f"expected \"slurm\" or \"pbs\", got {system[:40]!r}")
    cores = _bounded(table, "cores", 1, MAX_CORES)
    directives = read_strings(table.get("directives", []), "cluster.directives")
    for line in directives:
        if not _DIRECTIVE.match(line):
            raise _fail("directives", f"a directive may hold letters, digits, spaces and "
                        f"_ . : = , @ / + - only, got {line[:40]!r}")
    return ClusterSpec(
        system=system, jobs=_bounded(table, "jobs", 1, MAX_JOBS), cores=cores,
        processes=_bounded(table, "processes", 1, cores),
        memory=_matching(table, "memory", _MEMORY, "a size such as \"8GiB\"") or "4GiB",
        walltime=_matching(table, "walltime", _WALLTIME, "HH:MM:SS") or "01:00:00",
        queue=_matching(table, "queue", _NAME, "a queue name"),
        account=_matching(table, "account", _NAME, "an account name"),
        directives=directives)


def cluster_to_toml(spec: ClusterSpec) -> str:
    """The ``[cluster]`` section of ``spec`` as TOML that :func:`read_cluster_table` reads back
    to the same spec (every key, defaults included; ``queue`` and ``account`` when set). The
    strings are whitelisted (module docstring), so JSON's quoting is TOML's."""
    import json

    values = {key: getattr(spec, key) for key in _KEYS}
    lines = ["[cluster]"] + [f"{key} = {json.dumps(list(v) if key == 'directives' else v)}"
                             for key, v in values.items() if v is not None]
    return "\n".join(lines) + "\n"


def require_jobqueue() -> Any:
    """The dask_jobqueue module, else one ExecutorError line naming the extra."""
    require_distributed()
    try:
        import dask_jobqueue
    except ImportError:
        raise ExecutorError("[cluster] needs dask-jobqueue (in the optional extra "
                            "'distributed'): pip install 'rnn-kernel-limit[distributed]'"
                            ) from None
    return dask_jobqueue


def jobqueue_cluster(spec: ClusterSpec, **extra: Any) -> Any:
    """A dask-jobqueue SLURMCluster or PBSCluster for ``spec``, not yet scaled (no job is
    submitted until :func:`open_executor` scales it to ``spec.jobs``)."""
    dask_jobqueue = require_jobqueue()
    kind = {"slurm": dask_jobqueue.SLURMCluster, "pbs": dask_jobqueue.PBSCluster}[spec.system]
    return kind(cores=spec.cores, processes=spec.processes, memory=spec.memory,
                walltime=spec.walltime, queue=spec.queue, account=spec.account,
                job_extra_directives=list(spec.directives), silence_logs="error",
                job_script_prologue=list(BATCH_THREAD_EXPORTS),
                # no dashboard, and the scheduler's HTTP routes on a free port: the default 8787
                # is often taken on a shared login node, and the scheduler then warned on stderr
                scheduler_options={"dashboard": False, "dashboard_address": ":0"}, **extra)


def require_submit_command(spec: ClusterSpec) -> None:
    """The batch system's submit command (:data:`SUBMIT_COMMANDS`) must be on this machine's
    PATH: without it dask-jobqueue fails in a background task, logs tracebacks and the command
    waits for workers that never come (seen: ``system = "slurm"`` on a laptop hung)."""
    command = SUBMIT_COMMANDS[spec.system]
    if shutil.which(command) is None:
        raise ExecutorError(
            f'[cluster] system = "{spec.system}": its submit command {command} is not on this '
            "machine's PATH; run rnnkl on the cluster's login node, or here with --workers K "
            "(which overrides [cluster])")


def submit_jobs(cluster: Any, spec: ClusterSpec, timeout: float | None = None) -> None:
    """Submit ``spec.jobs`` batch jobs to ``cluster`` (:func:`jobqueue_cluster`) and wait until
    the batch system has accepted or refused every one: not until they start (a queued job may
    wait for hours), only for its submit command to answer. A refusal (a wrong account, queue or
    directive) or a submit command silent for ``timeout`` seconds (default
    SUBMIT_TIMEOUT + SUBMIT_TIMEOUT_PER_JOB per job) is one ExecutorError line with
    the batch system's own message, and the jobs already accepted are cancelled.

    ``cluster.scale`` submits in a background task: a refused job logged tracebacks there and the
    command waited for workers that never came (seen: an sbatch that exits 1). So the job specs
    are added as ``scale`` adds them and the cluster's own state correction, the step that runs
    the submit commands, is awaited here (``distributed.deploy.SpecCluster``; tests/distributed
    check it with fake sbatch and qsub commands)."""
    while len(cluster.worker_spec) < spec.jobs:  # one entry per batch job (dask-jobqueue)
        cluster.worker_spec.update(cluster.new_worker_spec())
    command = SUBMIT_COMMANDS[spec.system]
    if timeout is None:
        timeout = SUBMIT_TIMEOUT + SUBMIT_TIMEOUT_PER_JOB * spec.jobs
    try:
        cluster.sync(cluster._correct_state, callback_timeout=timeout)
    except Exception as err:  # the submit command's RuntimeError, a timeout, ...
        status = require_distributed().core.Status
        for job in list(cluster._created):  # every job object, submitted or not
            # close() cancels the accepted jobs, then asserts that every job still alive is
            # closing or failed (the error's traceback holds them): Job.close does not say so
            job.status = status.failed if getattr(job, "job_id", None) is None else status.closing
        cluster.close()
        raise ExecutorError(f'[cluster] system = "{spec.system}": {command} '
                            f"{_submit_failure(err, timeout)}") from None


def _submit_failure(err: Exception, timeout: float) -> str:
    """What went wrong with a submission, in a phrase: the submit command's first line on
    stderr (dask-jobqueue quotes it after "stderr:"), else the error's first line."""
    text = str(err)
    if isinstance(err, TimeoutError) or not text.strip():
        return (f"did not answer within {timeout:g} s ({type(err).__name__}); a job it "
                "accepts later is not cancelled by rnnkl")
    lines = text.split("stderr:", 1)[-1].splitlines() if "stderr:" in text else text.splitlines()
    reason = next((line.strip() for line in lines if line.strip()), type(err).__name__)
    return f"refused the job: {reason[:200]}"


def _local(workers: int) -> tuple[Any, Any, str]:
    distributed = require_distributed()
    # numba's and the kernel's threads per worker: the machine's cores shared out, so K workers
    # do not oversubscribe them (results do not depend on thread counts: numerics.seeding,
    # numerics.task_pool)
    threads = str(max(1, available_cores() // workers))
    cluster = distributed.LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
        silence_logs=logging.ERROR,
        env={"NUMBA_NUM_THREADS": threads, THREADS_VARIABLE: threads})
    return distributed.Client(cluster), cluster, f"a local Dask cluster of {workers} workers"


def _remote(address: str, timeout: float) -> tuple[Any, Any, str]:
    distributed = require_distributed()
    try:
        client = distributed.Client(address, timeout=timeout)
    except Exception as err:  # OSError, TimeoutError, CommClosedError, ...
        reason = " ".join(str(err).split())[:120] or type(err).__name__
        raise ExecutorError(f"cannot reach the Dask scheduler at {address} within "
                            f"{timeout:g} s ({reason})") from None
    try:  # a scheduler without workers would run nothing: the command would wait for ever
        client.wait_for_workers(1, timeout=timeout)
    except Exception:  # TimeoutError, or the scheduler went away meanwhile
        client.close()
        raise ExecutorError(f"the Dask scheduler at {address} has no workers (none joined "
                            f"within {timeout:g} s); start some with `dask worker {address}`"
                            ) from None
    return client, None, (f"the Dask scheduler at {address} ({worker_count(client)} workers at "
                          "the start)")


def check_request(workers: int | None = None, scheduler: str | None = None,
                  cluster: Any = None, timeout: float = CONNECT_TIMEOUT) -> ClusterSpec | None:
    """Everything about an executor request that can be checked without starting anything
    (ranges, the address's form, the [cluster] table, the 'distributed' extra, the batch
    system's submit command), so a command refuses it before it writes a file. Returns the
    validated [cluster] section, or None."""
    if workers is not None and not 1 <= workers <= MAX_WORKERS:
        raise ExecutorError(f"--workers: must be between 1 and {MAX_WORKERS}, got {workers}")
    if scheduler is not None and not _ADDRESS.match(scheduler):
        raise ExecutorError(f"--scheduler: expected HOST:PORT or tcp://HOST:PORT, got "
                            f"{scheduler[:60]!r}")
    if not (0 < timeout <= 3600):
        raise ExecutorError(f"--connect-timeout: must be in (0, 3600] seconds, got {timeout:g}")
    spec = read_cluster_table(cluster) if cluster is not None else None
    if scheduler is not None or workers is not None:
        require_distributed()
    elif spec is not None:  # the batch system's own command first: a laptop has neither
        require_submit_command(spec)
        require_jobqueue()
    return spec


def open_executor(workers: int | None = None, scheduler: str | None = None,
                  cluster: Any = None, timeout: float = CONNECT_TIMEOUT) -> Executor:
    """The executor a command asks for (module docstring; ``cluster``: the raw [cluster]
    table of the config file, or None), after :func:`check_request`. Serial when nothing is
    asked."""
    spec = check_request(workers, scheduler, cluster, timeout)
    grace = WORKERLESS_GRACE  # seconds without a worker, once some were seen (DaskExecutor)
    if scheduler is not None:
        client, owned, description = _remote(scheduler, timeout)
        grace = timeout  # --connect-timeout: the user's patience with a worker-less scheduler
    elif workers is not None:
        client, owned, description = _local(workers)
    elif spec is not None:
        owned = jobqueue_cluster(spec)
        submit_jobs(owned, spec)
        client = require_distributed().Client(owned)
        ids = ", ".join(sorted(str(job.job_id) for job in owned.workers.values()))
        description = f"a {spec.system} cluster of {spec.jobs} jobs (dask-jobqueue; job ids {ids})"
    else:
        return SerialExecutor()
    return DaskExecutor(client, owned, description, grace)


@contextmanager
def executor_scope(workers: int | None = None, scheduler: str | None = None,
                   cluster: Any = None, timeout: float = CONNECT_TIMEOUT) -> Iterator[Executor]:
    """:func:`open_executor` for the duration of a ``with`` block (closed on every exit)."""
    executor = open_executor(workers, scheduler, cluster, timeout)
    try:
        yield executor
    finally:
        executor.close()
