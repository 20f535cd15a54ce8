"""Serial vs a local Dask cluster on the same N-ladder (issue 16, item 5).

Runs the trained-network ladder of a budget (every rung's simulation: the report's dominant
cost, shared by the drift, lazy-training and main-theorem checks) twice from an empty cache:
serially in this process, then on a local Dask cluster of K workers (extra ``distributed``),
jobs submitted largest first as a report does. Prints the wall time of each, their ratio
(measured in this one run), the cluster's start-up time, the round-trip overhead per task
(no-op tasks), and whether the two runs wrote byte-identical cache entries (they must).

    python3 benchmarks/bench_cluster.py [--budget standard] [--workers 2] [--config FILE]

On a machine with C cores the serial run already uses them all (the fast backend's numba
threads run the replicas in parallel), so K workers on the same C cores cannot be faster; the
ratio measures the price of the seam there, and the gain comes from workers on more machines.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as every rnnkl command (proofs_check.threads)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from derivations.inputs.files import load_layers  # noqa: E402
from proofs_check.budget import get_budget  # noqa: E402
from proofs_check.cache import Cache  # noqa: E402
from proofs_check.checks import CheckContext  # noqa: E402
from proofs_check.checks._simulations import ladder_jobs  # noqa: E402
from proofs_check.cluster import open_executor  # noqa: E402


def _noop(x: int) -> int:
    return x


def run_ladder(config, budget, directory: Path, executor=None) -> float:
    """Wall seconds to compute every rung of the ladder into an empty cache at directory."""
    cache = Cache(directory, executor=executor)
    context = CheckContext(config, budget, cache, int(config.run.seed))
    jobs = ladder_jobs(context)
    start = time.perf_counter()
    for job in sorted(jobs, key=lambda job: -job.cost):
        cache.submit(job)
    for job in jobs:
        cache.get(job)
    return time.perf_counter() - start


def entries(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.glob("*.npz"))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", default="standard", choices=["quick", "standard", "full"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--config", default=None)
    args = parser.parse_args()
    config = load_layers(args.config).config
    budget = get_budget(args.budget)
    ladder = ", ".join(f"{n} x {budget.replicas_at(n)}" for n in budget.n_ladder)
    print(f"ladder of the {budget.name} budget (N x replicas): {ladder}; "
          f"{os.cpu_count()} cores; backend {config.run.backend}")
    with tempfile.TemporaryDirectory() as root:
        serial = run_ladder(config, budget, Path(root) / "serial")
        print(f"serial:                  {serial:8.1f} s")
        started = time.perf_counter()
        executor = open_executor(workers=args.workers)
        startup = time.perf_counter() - started
        try:
            client = executor.client
            client.gather(client.map(_noop, range(10)))  # warm the workers
            tick = time.perf_counter()
            client.gather(client.map(_noop, range(500)))
            overhead = (time.perf_counter() - tick) / 500
            cluster = run_ladder(config, budget, Path(root) / "cluster", executor)
        finally:
            executor.close()
        same = entries(Path(root) / "serial") == entries(Path(root) / "cluster")
    print(f"local cluster, {args.workers} workers: {cluster:8.1f} s "
          f"(+ {startup:.1f} s to start the cluster)")
    print(f"ratio serial / {args.workers} workers: {serial / cluster:.2f} "
          f"(> 1: the cluster is faster)")
    print(f"overhead per task (500 no-op tasks, round trip): {overhead * 1e3:.2f} ms")
    print(f"cache entries byte-identical: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
