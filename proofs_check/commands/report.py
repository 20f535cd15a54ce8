"""``rnnkl report [--config FILE] [--budget quick|standard|full] [--out DIR] [--no-progress]``.

Runs every check of :mod:`proofs_check.checks`, writes report.md, report.html, figures/*.png and
results.json under DIR (default ``rnnkl-report``), reusing the cache under DIR/cache.
Exit 0 iff every check passes, every negative control is rejected and no independent
cross-check that ran deviates beyond tolerance (not installed: reported, not a failure), 1
otherwise, 2 for bad
input (an InputError: bad config, unknown budget; the CLI prints it on one line).
"""

from __future__ import annotations

import argparse
import sys

from derivations.config import load_config
from proofs_check.budget import get_budget
from proofs_check.report import run_checks, write_report


def run(args: argparse.Namespace) -> int:
    config = load_config(getattr(args, "config", None))
    budget = get_budget(getattr(args, "budget", "quick"))
    out_dir = getattr(args, "out", None) or "rnnkl-report"
    report = run_checks(config, budget, out_dir, progress=not getattr(args, "no_progress", False))
    paths = write_report(report, out_dir)
    passed = sum(r.passed for r in report.results)
    cross = report.crosschecks
    cross_text = "" if cross is None else (
        f"cross-checks {cross.status}" + ("" if cross.status == "not run"
                                          else f" ({'pass' if cross.passed else 'FAIL'})")
        + "; ")
    sys.stderr.write(
        f"rnnkl report: {passed}/{len(report.results)} checks pass; {cross_text}"
        f"({'all pass' if report.all_passed else 'FAILURES'}) in {report.seconds:.1f} s; "
        f"wrote {paths['markdown']}, {paths['html']}, {paths['results']}\n"
    )
    return 0 if report.all_passed else 1
