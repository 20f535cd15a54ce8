"""Benchmark: how often a check's verdict is wrong when the theory is right, measured.

Each check module of proofs_check.checks runs on one configuration for many root seeds (seed
0, 1, ..., each with an empty in-memory cache, so nothing is shared between seeds) and the
verdicts of its results are counted. Where the prediction is exact for the configuration (the
kernel at initialisation: E|A^N - A|^2 = V/N for i.i.d. units; the output at initialisation:
E[f_0^2] = N^(1 - 2 beta) E[c^2 S^2]), a FAIL is a false alarm and its rate should be the
acceptance window's nominal 0.5% (99.5% interval); elsewhere a FAIL on a configuration the
theory covers is a finding. INCONCLUSIVE counts how often the budget could not tell the
prediction from a rival. A failed result's measured value and window are printed as it occurs.

    python3 benchmarks/verdict_calibration.py [--checks kernel_at_init output_at_init]
        [--seeds 200] [--budget quick] [--config FILE]

README.md ("Calibration of the verdicts") records the last run.
"""

from __future__ import annotations

import argparse
import importlib
import time
from collections import Counter

from derivations.inputs.config import load_config
from proofs_check.budget import get_budget
from proofs_check.cache import Cache
from proofs_check.checks import CHECK_MODULES, CheckContext
from proofs_check.threads import blas_on_one_thread

DEFAULT_CHECKS = ("kernel_at_init", "output_at_init", "poisson_fluctuations", "parameter_drift",
                  "lazy_training", "main_theorem")


def calibrate(check: str, seeds: int, budget: str, config_path: str | None) -> Counter[tuple]:
    """Verdict counts {(result name, verdict): count} of ``check`` over seeds 0..seeds-1."""
    module = importlib.import_module(f"proofs_check.checks.{check}")
    config = load_config(config_path)
    counts: Counter[tuple] = Counter()
    for seed in range(seeds):
        context = CheckContext(config, get_budget(budget), Cache(None, salt=f"calibration-{seed}"),
                               seed=seed)
        with blas_on_one_thread():  # as in a report (proofs_check.report._run_one)
            results = module.run(context)
        for result in results if isinstance(results, tuple) else (results,):
            verdict = result.verdict  # "pass", "fail" or "inconclusive"
            counts[(result.name, verdict)] += 1
            if verdict == "fail":
                print(f"  seed {seed}: {result.name} FAIL, measured {result.measured:.4g}, "
                      f"window {result.window}", flush=True)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checks", nargs="+", default=list(DEFAULT_CHECKS),
                        choices=[c for c in CHECK_MODULES if c != "tiers"])
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--budget", default="quick", choices=("quick", "standard", "full"))
    parser.add_argument("--config", default=None, help="TOML file (default: built-in)")
    args = parser.parse_args(argv)
    for check in args.checks:
        start = time.monotonic()
        counts = calibrate(check, args.seeds, args.budget, args.config)
        names = sorted({name for name, _ in counts})
        print(f"{check}: {args.seeds} seeds, {time.monotonic() - start:.0f} s")
        for name in names:
            row = {v: counts[(name, v)] for v in ("pass", "inconclusive", "fail")}
            print(f"  {name:<32} pass {row['pass']:>4}  inconclusive {row['inconclusive']:>4}"
                  f"  fail {row['fail']:>4}  (fail rate {row['fail'] / args.seeds:.1%})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
