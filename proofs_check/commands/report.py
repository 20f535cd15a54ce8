"""``rnnkl report [--config FILE] [--set T.K=V ...] [--budget quick|standard|full] [--out DIR]
[--backend numpy|fast] [--no-progress]``.

Runs every check of :mod:`proofs_check.checks`, writes report.md, report.html, figures/*.png and
results.json under DIR (default ``rnnkl-report``), reusing the cache under DIR/cache. While it
works, stderr shows a bar (terminal) or one plain line per check (file, pipe); the closing line
counts the checks and says whether the independent cross-checks passed, failed or did not run.
Exit 0 iff every check passes and no cross-check that ran deviates beyond tolerance, 1
otherwise, 2 for bad input (an InputError: bad config, unknown budget; one line).
"""

from __future__ import annotations

import argparse
import sys

from derivations.config_files import provenance_note
from proofs_check.budget import get_budget
from proofs_check.commands._output import loaded_config
from proofs_check.crosschecks import outcome_word
from proofs_check.report import run_checks, write_report


def run(args: argparse.Namespace) -> int:
    loaded = loaded_config(args)
    budget = get_budget(getattr(args, "budget", "quick"))
    out_dir = getattr(args, "out", None) or "rnnkl-report"
    report = run_checks(loaded.config, budget, out_dir,
                        progress=not getattr(args, "no_progress", False),
                        source=provenance_note(loaded))
    paths = write_report(report, out_dir)
    passed = sum(r.passed for r in report.results)
    failed = len(report.results) - passed
    sys.stderr.write(
        f"rnnkl report: {passed} of {len(report.results)} checks pass, {failed} fail; "
        f"independent cross-checks: {outcome_word(report.crosschecks)}; "
        f"{report.seconds:.1f} s; wrote {paths['markdown']}, {paths['html']}, "
        f"{paths['results']}\n"
    )
    return 0 if report.all_passed else 1
