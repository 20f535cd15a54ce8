"""Benchmark: limit kernel + ODE on m^L words for m^L in {243, 729, 2187} (d = 1, m = 3).

Issue 4 bar: kernel + ODE for 2187 words under one minute on 2 cores. Prints wall times of
(1) the kernel with its quadrature estimates (default rules, numerics.quadrature),
(2) the spectral ODE solution at t = 0.5, 1, 2, (3) the propagation of the quadrature estimate
to g (two more eigendecompositions), and (4) the whole solve_limit with the truncation
estimate. Run: python benchmarks/bench_kernel.py [--skip-full]
"""

from __future__ import annotations

import argparse
import os
import time

from derivations.inputs.config import load_config
from numerics.kernel import kernel_on_words
from numerics.limit import g_at, limit_solver, solve_limit, word_problem


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-full", action="store_true",
                        help="skip solve_limit (with error propagation and truncation)")
    args = parser.parse_args()
    config = load_config(None)  # default: m = 3, d = 1, tanh
    times = (0.5, 1.0, 2.0)
    print(f"cores available: {os.cpu_count()}; load average: {os.getloadavg()}")
    print(f"{'words':>6} {'kernel s':>9} {'ODE s':>7} {'K+ODE s':>8} {'full s':>7} "
          f"{'K quad est':>10} {'trunc est':>10}")
    for L in (5, 6, 7):
        problem = word_problem(config, L)
        start = time.perf_counter()
        kernel = kernel_on_words(problem.spec, L)
        t_kernel = time.perf_counter() - start
        start = time.perf_counter()
        g_at(limit_solver(kernel.K, problem.pi_L, problem.ybar, problem.alpha), times)
        t_ode = time.perf_counter() - start
        full, trunc = float("nan"), float("nan")
        if not args.skip_full:
            start = time.perf_counter()
            result = solve_limit(config, L, times, truncation="previous")
            full = time.perf_counter() - start
            trunc = result.error_estimates["truncation"]
        print(f"{3**L:>6} {t_kernel:>9.2f} {t_ode:>7.2f} {t_kernel + t_ode:>8.2f} {full:>7.2f} "
              f"{kernel.error:>10.2e} {trunc:>10.2e}", flush=True)


if __name__ == "__main__":
    main()
