"""Disk cache of expensive results (simulations, kernels) for resumable report runs.

A result is a dict of NumPy arrays, stored as ``OUT/cache/<kind>-<key>.npz`` where ``key`` is the
sha256 of a canonical JSON of everything that determines it (the caller's parameters: config,
N, replicas, seed, word length, ...) plus a code-version salt (a hash of the source files of the
packages that compute it), so a code change never serves a stale number. Writes are atomic
(temporary file + ``os.replace``), so an interrupted run leaves either a whole entry or none, and
a re-run recomputes exactly what is missing. Each entry's sha256 is recorded beside it
(``<entry>.json``); an entry that is unreadable, truncated, empty, has a bad CRC or does not
match its checksum is reported on stderr once and recomputed. Loading never unpickles
(``allow_pickle=False``).

Concurrent runs sharing one directory (two reports on one --out, workers of a cluster) do each
job once: a process claims a key with an exclusive lock (``fcntl.flock`` on
``cache/locks/<entry>.lock``) before it computes, and one that finds the key claimed waits for
the entry and then reads it. Where flock is unavailable (not POSIX) entries are still never torn
(atomic writes), but a job may be computed twice.

Every computation goes through the cache's executor (:mod:`proofs_check.executor`): the serial
one computes in this process when the entry is first asked for; a parallel one (Dask) runs
:func:`compute_entry` on a worker, which stores the entry through a Cache of its own on the
same directory (same claims, same atomic writes), so an interrupted cluster run resumes from
every entry that finished. :meth:`Cache.submit` starts a job early (a report submits the jobs
of every check before running the first, proofs_check.report); :meth:`Cache.get_or_compute`
then collects it. A Cache pickles as an empty one on the same directory and salt (what a job
that captured it needs on a worker), never with its arrays or its executor.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from proofs_check.executor import Executor, ExecutorError, SerialExecutor
from proofs_check.threads import blas_on_one_thread

CACHE_FORMAT = "1"
_SALT_PACKAGES = ("derivations", "numerics", "proofs_check")


def _canonical(value: Any) -> Any:
    """A JSON-able canonical form: tuples -> lists, Fractions -> "p/q", floats via repr."""
    if isinstance(value, Mapping):
        return {str(k): _canonical(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}"
    if isinstance(value, np.ndarray):
        return {"ndarray": _canonical(value.tolist()), "dtype": str(value.dtype)}
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if hasattr(value, "__dataclass_fields__"):
        return {
            "dataclass": type(value).__name__,
            "fields": {f: _canonical(getattr(value, f)) for f in value.__dataclass_fields__},
        }
    raise TypeError(f"cannot canonicalise {type(value).__name__} for a cache key")


def canonical_json(value: Any) -> str:
    """Canonical JSON text (sorted keys, no spaces) of a parameter structure."""
    return json.dumps(_canonical(value), sort_keys=True, separators=(",", ":"))


def code_salt(packages: tuple[str, ...] = _SALT_PACKAGES, root: Path | None = None) -> str:
    """sha256 over the (path, bytes) of every .py file of the given top-level packages (under
    ``root``, by default the directory holding this installation's packages)."""
    root = root if root is not None else Path(__file__).resolve().parent.parent
    digest = hashlib.sha256(CACHE_FORMAT.encode())
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def current_code() -> str:
    """:func:`code_salt` of the code this process imported, computed once per process: the
    version a driver and its workers must share (:func:`compute_entry`)."""
    return code_salt()


class Job(NamedTuple):
    """One expensive job: a cache entry's kind, the parameters that determine it, and the
    function computing its arrays (called with no argument, anywhere: it must pickle)."""

    kind: str
    params: Mapping[str, Any]
    compute: Callable[[], Mapping[str, Any]]
    cost: float = 0.0  # estimated work (e.g. unit-steps); orders early submissions only


def one_blas_thread(compute: Callable[[], Mapping[str, Any]]) -> Mapping[str, Any]:
    """``compute()`` with BLAS and LAPACK on one thread (proofs_check.threads). A multithreaded
    matrix product or eigen-solve rounds differently with another thread count, and Dask workers
    run one thread each (distributed's nanny sets OMP/OPENBLAS/MKL_NUM_THREADS=1) while a driver
    may run several: measured, the word-length differences of the limit on the default config
    at L = 3 differed in the last bit between a 2-thread driver and a worker. Every job runs
    pinned, so its arrays are the same bits wherever it runs (README "Reproducible"). Every
    ``rnnkl`` command already runs on one BLAS thread (proofs_check.threads): no cost there."""
    with blas_on_one_thread():
        return compute()


def compute_entry(directory: str | None, salt: str, kind: str, params: Mapping[str, Any],
                  compute: Callable[[], Mapping[str, Any]], code: str) -> dict[str, np.ndarray]:
    """A job as run by a worker of a parallel executor: the entry's arrays, read from or
    stored in ``directory`` through a serial Cache (claim lock, atomic writes). ``code``: the
    driver's :func:`current_code`; a worker running other code refuses the job with an
    ExecutorError, which ends the driver's run in one line (exit 2): it is the executor's
    fault, not the check's (proofs_check.report._run_one)."""
    if code != current_code():
        raise ExecutorError("a Dask worker runs another version of rnn-kernel-limit than the "
                            "driver (install the same code on the workers)")
    return Cache(directory, salt).get_or_compute(kind, params, compute)


class Cache:
    """Keyed store of dicts of arrays under ``directory`` (None: in-memory only, no disk);
    ``executor`` computes the missing ones (default: serial, in this process)."""

    def __init__(self, directory: str | os.PathLike[str] | None, salt: str | None = None,
                 executor: Executor | None = None):
        self.directory = Path(directory) if directory is not None else None
        self.salt = salt if salt is not None else code_salt()
        self.executor: Executor = executor if executor is not None else SerialExecutor()
        self.hits = 0
        self.misses = 0
        self._memory: dict[str, dict[str, np.ndarray]] = {}
        self._pending: dict[str, Any] = {}  # key -> executor handle of a submitted job

    def __reduce__(self) -> tuple[Any, ...]:
        return (Cache, (self.directory, self.salt))

    def key(self, kind: str, params: Mapping[str, Any]) -> str:
        text = canonical_json({"kind": kind, "params": params, "salt": self.salt})
        return hashlib.sha256(text.encode()).hexdigest()

    def _path(self, kind: str, key: str) -> Path:
        assert self.directory is not None
        return self.directory / f"{kind}-{key[:32]}.npz"

    def get_or_compute(
        self,
        kind: str,
        params: Mapping[str, Any],
        compute: Callable[[], Mapping[str, Any]],
    ) -> dict[str, np.ndarray]:
        """The cached arrays for (kind, params), computing and storing them when missing."""
        key = self.key(kind, params)
        if key in self._memory:
            self.hits += 1
            return self._memory[key]
        if key in self._pending:
            return self._collect(kind, key, params)
        loaded = None
        if self.directory is not None:
            path = self._path(kind, key)
            seen = _identity(path)
            loaded = self._load(path, key) if seen else None
        if loaded is None and self.executor.parallel:  # the worker claims the key, not us
            self._start(kind, key, params, compute)
            return self._collect(kind, key, params)
        if self.directory is None:
            return self._compute(kind, key, params, compute)
        if loaded is None:
            with _claim(self.directory / "locks" / f"{path.stem}.lock"):
                # another process may have (re)written the entry while this one waited; an
                # entry already found unreadable is not read (nor reported) a second time
                now = _identity(path)
                loaded = self._load(path, key) if now and now != seen else None
                if loaded is None:
                    return self._compute(kind, key, params, compute)
        self.hits += 1
        self._memory[key] = loaded
        return loaded

    def get(self, job: Job) -> dict[str, np.ndarray]:
        """:meth:`get_or_compute` of a Job."""
        return self.get_or_compute(job.kind, job.params, job.compute)

    def submit(self, job: Job) -> None:
        """Start ``job`` on a parallel executor now, unless its entry is known, on disk or
        already submitted; :meth:`get` collects it later. No-op for the serial executor."""
        if not self.executor.parallel:
            return
        key = self.key(job.kind, job.params)
        if key in self._memory or key in self._pending:
            return
        if self.directory is not None and _identity(self._path(job.kind, key)) is not None:
            return  # read (or, if unreadable, recomputed) when asked for
        self._start(job.kind, key, job.params, job.compute)

    def get_many(self, jobs: list[Job]) -> list[dict[str, np.ndarray]]:
        """The arrays of every job, in order; a parallel executor runs them concurrently."""
        for job in jobs:
            self.submit(job)
        return [self.get(job) for job in jobs]

    def _start(self, kind: str, key: str, params: Mapping[str, Any],
               compute: Callable[[], Mapping[str, Any]]) -> None:
        directory = str(self.directory) if self.directory is not None else None
        self._pending[key] = self.executor.submit(
            f"{kind}-{key[:32]}", compute_entry, directory, self.salt, kind, params, compute,
            current_code())

    def _collect(self, kind: str, key: str, params: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """The arrays of a submitted job; stored here too when the worker's filesystem is
        not this one (no shared cache directory)."""
        handle = self._pending.pop(key)
        self.misses += 1
        arrays = {name: np.asarray(value) for name, value in self.executor.result(handle).items()}
        if self.directory is not None and _identity(self._path(kind, key)) is None:
            with _claim(self.directory / "locks" / f"{self._path(kind, key).stem}.lock"):
                if _identity(self._path(kind, key)) is None:
                    self._store(kind, key, params, arrays)
        self._memory[key] = arrays
        return arrays

    def _compute(self, kind: str, key: str, params: Mapping[str, Any],
                 compute: Callable[[], Mapping[str, Any]]) -> dict[str, np.ndarray]:
        self.misses += 1
        handle = self.executor.submit(f"{kind}-{key[:32]}", one_blas_thread, compute)
        arrays = {name: np.asarray(value) for name, value in self.executor.result(handle).items()}
        if self.directory is not None:
            self._store(kind, key, params, arrays)
        self._memory[key] = arrays
        return arrays

    def _load(self, path: Path, key: str) -> dict[str, np.ndarray] | None:
        """The entry's arrays, or None (after one line on stderr) when it cannot be trusted:
        unreadable, truncated, empty, a bad CRC, a payload whose checksum differs from the
        one recorded beside it (``<entry>.json``, "sha256"), metadata of another key, or
        arrays whose names, shapes or dtypes differ from the recorded ones ("arrays"). The
        caller then recomputes and overwrites it."""
        try:
            payload = path.read_bytes()
            meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
            if meta.get("key") != key or meta.get("sha256") != hashlib.sha256(payload).hexdigest():
                raise ValueError("checksum or key does not match")
            with np.load(io.BytesIO(payload), allow_pickle=False) as data:
                arrays = {name: data[name] for name in data.files}
            if _layout(arrays) != meta.get("arrays"):
                raise ValueError("array names, shapes or dtypes differ from the recorded ones")
            return arrays
        except Exception as err:  # zipfile.BadZipFile, EOFError, zlib.error, OSError, ...
            sys.stderr.write(f"rnnkl: cache entry {path.name} is unreadable "
                             f"({type(err).__name__}); recomputing it\n")
            return None

    def _store(
        self, kind: str, key: str, params: Mapping[str, Any], arrays: dict[str, np.ndarray]
    ) -> None:
        assert self.directory is not None
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self._path(kind, key)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        payload = buffer.getvalue()
        # the checksum first, then the payload: a reader never sees a payload whose recorded
        # checksum belongs to another one (a crash in between leaves a mismatch: recomputed)
        meta = {"kind": kind, "key": key, "params": params, "arrays": _layout(arrays),
                "sha256": hashlib.sha256(payload).hexdigest()}
        atomic_write(path.with_suffix(".json"), canonical_json(meta).encode())
        atomic_write(path, payload)


def _layout(arrays: Mapping[str, np.ndarray]) -> dict[str, list[Any]]:
    """name -> [shape, dtype] of an entry's arrays, as recorded in (and read back from) its
    JSON metadata."""
    return {name: [list(arrays[name].shape), str(arrays[name].dtype)] for name in sorted(arrays)}


def _identity(path: Path) -> tuple[int, int, int] | None:
    """(inode, mtime in ns, size) of an existing file, else None: tells a rewritten entry."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


@contextmanager
def _claim(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path`` (created if missing) for the body: the claim of
    one cache key (module docstring). No-op where fcntl is unavailable."""
    try:
        import fcntl
    except ImportError:  # not POSIX
        yield
        return
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename (never torn); the
    parent folder is created. Used for cache entries and for the report's files."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException as err:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(err, OSError) and not err.filename:  # name the file in the message
            raise OSError(err.errno, err.strerror or str(err), str(path)) from err
        raise
