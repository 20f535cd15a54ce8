"""Two processes sharing one cache directory compute each key once and never tear an entry
(proofs_check.cache: a claim per key, atomic writes).

Both ask for the same keys in the same order, so they meet on every key: with opposite orders
they rarely did, and the claim without its lock, or without the re-read after waiting for it,
passed (the mutants "cache_claim_not_locked" and "cache_claim_not_rechecked")."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import numpy as np

from proofs_check.cache import Cache

SALT = "concurrency-test"


def _worker(directory: str, log: str, keys: list[int], barrier, results) -> None:
    cache = Cache(directory, SALT)
    barrier.wait()  # both processes ask for the same keys at the same moment

    def compute(k: int):
        def run():
            with open(log, "a", encoding="utf-8") as handle:
                handle.write(f"{k}\n")
            time.sleep(0.3)  # long enough for the other process to ask meanwhile
            return {"value": np.arange(1000.0) * k, "k": np.array(k)}
        return run

    out = {}
    for k in keys:
        arrays = cache.get_or_compute("job", {"k": k}, compute(k))
        out[k] = (arrays["value"].tobytes(), int(arrays["k"]))
    results.put((cache.misses, out))


def test_two_processes_compute_each_key_once(tmp_path: Path):
    # spawn, not fork: a fork of the test process is unsafe once other libraries run threads in
    # it (JAX, when the report tests have run the peer comparisons before this file)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    results = context.Queue()
    log = tmp_path / "computed.txt"
    keys = [1, 2, 3, 4]
    processes = [context.Process(target=_worker,
                                 args=(str(tmp_path / "cache"), str(log), order, barrier, results))
                 for order in (keys, keys)]  # same order: both ask for each key at once
    for p in processes:
        p.start()
    outcomes = [results.get(timeout=60) for _ in processes]
    for p in processes:
        p.join(timeout=60)
        assert p.exitcode == 0
    computed = log.read_text().split()
    assert sorted(computed) == [str(k) for k in keys]  # each job exactly once, in total
    assert sum(misses for misses, _ in outcomes) == len(keys)
    first, second = (out for _, out in outcomes)
    assert first == second  # both read the same numbers
    for k in keys:
        assert np.frombuffer(first[k][0]).tolist() == (np.arange(1000.0) * k).tolist()
    assert not list((tmp_path / "cache").glob(".tmp-*"))  # no torn temporaries left behind


def test_every_job_runs_blas_on_one_thread(tmp_path) -> None:
    """proofs_check.cache.one_blas_thread: a job sees BLAS limited to one thread whatever the
    process runs outside it (the driver's count is restored after), so its rounding is that of
    a Dask worker (one thread each) and the cache entry's bytes do not depend on where it ran."""
    from threadpoolctl import threadpool_info, threadpool_limits

    from proofs_check.cache import Cache, Job

    def blas_threads() -> list[int]:
        return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]

    assert blas_threads(), "NumPy's BLAS is visible to threadpoolctl"
    with threadpool_limits(limits=2, user_api="blas"):
        outside = blas_threads()
        seen = Cache(tmp_path).get(Job("probe", {"n": 1}, lambda: {
            "threads": np.array(blas_threads())}))["threads"]
        assert blas_threads() == outside  # restored
    assert set(seen.tolist()) == {1}
