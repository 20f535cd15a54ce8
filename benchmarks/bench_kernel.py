"""Benchmark: the limit on words at growing word length, wall time, peak memory and the
achieved error delta (issue 17, item 4).

Each case is `solve_limit(config, L, times=(1,), kernel_groups=False,
kernel_accuracy=1e-6)` with its default truncation estimate (the work of `rnnkl limit --times 1`
with the quadrature rule the full budget's report would choose), run in a fresh Python process so
that its peak resident memory (ru_maxrss) is its own. Cases: d = 1 (the default config) at
L = 6..9 and d = 2 (examples/antisymmetric_beta_half.toml) at L = 4..7. Before a case runs,
the suite's memory model (numerics.costs) is asked whether it fits the cap; a case that does
not is printed as refused, as `rnnkl limit` would refuse it. A case over --max-seconds is
stopped and printed as such. delta = quadrature bound + spectral bound + truncation estimate
+ rounding (numerics.limit), the truncation the larger of its senses (numerics.truncation);
d_path, d_words: delta with the truncation along paths (L2) and at the words (sup).
"blocks": the kernel's row blocks (numerics.kernel, under
numerics.costs.KERNEL_BLOCK_BYTES); "solve": whether the low-rank solve keeps its full fallback
(only when that fits the cap, proofs_check.commands._sizes.plan_limit).
The cases run with the kernel's task pool at RNNKL_THREADS (default: the cores; BLAS on one
thread). Then two cases (d = 1 at L = 7, d = 2 at L = 6) run again with RNNKL_THREADS=1: the
wall-time ratio of the two runs, measured here, and whether g is the same bits (numerics.
task_pool: it must be).

    python3 benchmarks/bench_kernel.py [--max-seconds 600] [--memory-cap 12GiB] [--only d1|d2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from derivations.inputs.files import load_layers  # noqa: E402
from numerics.costs import ResourceError, format_bytes, memory_cap  # noqa: E402
from numerics.task_pool import THREADS_VARIABLE, thread_count  # noqa: E402
from proofs_check.commands._sizes import plan_limit  # noqa: E402

# the kernel's error target of the full budget's limit (limit_accuracy 1e-4 x KERNEL_SHARE 0.01,
# proofs_check.checks._limit): the quadrature rule is the cheapest meeting it
KERNEL_ACCURACY = 1e-6
CASES = {"d1": (None, (6, 7, 8, 9)),
         "d2": (str(ROOT / "examples" / "antisymmetric_beta_half.toml"), (4, 5, 6, 7))}

CHILD = """
import hashlib, json, resource, sys, time
sys.path.insert(0, {root!r})
from derivations.inputs.files import load_layers
from numerics.limit import solve_limit, total_error
from proofs_check.checks._limit import CHECK_SENSES
config = load_layers({path!r}).config
start = time.perf_counter()
result = solve_limit(config, {L}, times=(1.0,), kernel_groups=False, kernel_accuracy={acc!r},
                     full_fallback={fallback!r})
seconds = time.perf_counter() - start
e = result.error_estimates
delta = total_error(e)
senses = {{s: total_error(e, truncation=e.get("truncation_" + s) or 0.0)
          for s in CHECK_SENSES}}
print(json.dumps({{"seconds": seconds, "peak": resource.getrusage(resource.RUSAGE_SELF)
                  .ru_maxrss * 1024, "delta": delta, "words": int(result.g.shape[-1]),
                  "delta_path": senses["path"], "delta_words": senses["words"],
                  "method": e.get("truncation_method", "none"),
                  "blocks": result.kernel.rule_sizes.get("row_blocks", 1),
                  "g_sha256": hashlib.sha256(result.g.tobytes()).hexdigest()}}))
"""


THREAD_CASES = (("d1", 7), ("d2", 6))  # rerun with one thread of the task pool


def run_case(path: str | None, L: int, max_seconds: float, fallback: bool,
             threads: str | None = None) -> dict:
    code = CHILD.format(root=str(ROOT), path=path, L=L, acc=KERNEL_ACCURACY, fallback=fallback)
    env = dict(os.environ, OPENBLAS_NUM_THREADS=os.environ.get("OPENBLAS_NUM_THREADS", "1"))
    if threads is not None:
        env[THREADS_VARIABLE] = threads
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=max_seconds, env=env, check=False)
    except subprocess.TimeoutExpired:
        return {"stopped": f"over {max_seconds:g} s"}
    if done.returncode != 0:
        return {"stopped": (done.stderr.strip().splitlines() or ["failed"])[-1][:100]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-seconds", type=float, default=600.0)
    parser.add_argument("--memory-cap", default=None)
    parser.add_argument("--only", choices=sorted(CASES), default=None)
    args = parser.parse_args()
    cap = memory_cap(args.memory_cap)
    print(f"{os.cpu_count()} cores; memory cap {format_bytes(cap.bytes)} ({cap.source}); "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '1')}; "
          f"task pool {thread_count()} threads ({THREADS_VARIABLE})")
    print(f"{'case':<5} {'L':>2} {'words':>6} {'planned':>10} {'peak':>10} {'wall s':>8} "
          f"{'delta':>9} {'d_path':>9} {'d_words':>9} {'blocks':>6}  solve  truncation")
    timed, status = {}, 0
    for name, (path, lengths) in CASES.items():
        if args.only and name != args.only:
            continue
        config = load_layers(path).config
        m = config.chain.m
        for L in lengths:
            try:
                planned, fallback = plan_limit(config, L, cap, field="--word-length",
                                               groups=False)
            except ResourceError as err:
                print(f"{name:<5} {L:>2} {m**L:>6} refused: {err}", flush=True)
                continue
            row = run_case(path, L, args.max_seconds, fallback)
            if "stopped" in row:
                print(f"{name:<5} {L:>2} {m**L:>6} {format_bytes(planned):>10} stopped: "
                      f"{row['stopped']}", flush=True)
                continue
            print(f"{name:<5} {L:>2} {row['words']:>6} {format_bytes(planned):>10} "
                  f"{format_bytes(row['peak']):>10} {row['seconds']:>8.1f} {row['delta']:>9.2e}"
                  f" {row['delta_path']:>9.2e} {row['delta_words']:>9.2e}"
                  f" {row['blocks']:>6}  {'full fallback' if fallback else 'low rank only'}"
                  f"  {row['method']}", flush=True)
            timed[name, L] = (path, fallback, row)
    print(f"\nthe same cases with {THREADS_VARIABLE}=1 (the ratio: measured in this run)")
    for name, L in THREAD_CASES:
        if (name, L) not in timed:
            continue
        path, fallback, many = timed[name, L]
        one = run_case(path, L, args.max_seconds, fallback, threads="1")
        if "stopped" in one:
            print(f"{name:<5} {L:>2} stopped: {one['stopped']}", flush=True)
            continue
        same = "same bits" if one["g_sha256"] == many["g_sha256"] else "DIFFERENT bits"
        status = status or int(same != "same bits")
        print(f"{name:<5} {L:>2} 1 thread {one['seconds']:.1f} s, {thread_count()} threads "
              f"{many['seconds']:.1f} s: ratio {one['seconds'] / many['seconds']:.2f}; g: {same}",
              flush=True)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
