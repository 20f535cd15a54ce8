"""``rnnkl report [--config FILE] [--set T.K=V ...] [--budget quick|standard|full] [--out DIR]
[--backend numpy|fast] [--workers K | --scheduler ADDRESS] [--strict] [--no-progress]``.

Runs every check of :mod:`proofs_check.checks`, writes report.md, report.html, figures/*.png and
results.json under DIR (default ``rnnkl-report``), reusing the cache under DIR/cache. While it
works, stderr shows a bar (terminal) or one plain line per check (file, pipe); the closing line
counts the checks that pass, fail and are inconclusive, and says whether the independent
cross-checks passed, failed or did not run. Exit 1 when a check fails (or a cross-check that
ran deviates beyond tolerance), with ``--strict`` also when one is inconclusive; 0 otherwise;
2 for bad input (an InputError: bad config, unknown budget, an executor that cannot start or
a scheduler that does not answer; one line). A limit.word_length the user did not set that
does not fit the memory cap is lowered to the longest that fits, with a note
(commands._sizes.fit_default_word_length). ``--workers`` / ``--scheduler`` / the config's
``[cluster]`` section choose where the expensive jobs run (proofs_check.cluster); the numbers
are the same wherever they run.
"""

from __future__ import annotations

import argparse
import sys

from derivations.inputs.files import provenance_note
from numerics.costs import memory_cap
from proofs_check.budget import UNREAD_FIELDS, get_budget
from proofs_check.commands._output import (
    check_executor_flags,
    command_executor,
    loaded_config,
    prepare_out_dir,
)
from proofs_check.commands._sizes import (
    check_report,
    fit_default_word_length,
    note_beyond_physical,
)
from proofs_check.render import overall_sentence
from proofs_check.report import run_checks, write_report


def run(args: argparse.Namespace) -> int:
    loaded = loaded_config(args)
    budget = get_budget(getattr(args, "budget", "quick"))
    out_dir = getattr(args, "out", None) or "rnnkl-report"
    cap = memory_cap(getattr(args, "memory_cap", None))
    config, lowered = fit_default_word_length(
        loaded.config, cap, defaulted="limit.word_length" in loaded.from_default)
    note_beyond_physical(check_report(config, budget, cap), cap, "report")
    check_executor_flags(args, loaded.cluster)
    prepare_out_dir(out_dir)
    for field in (f for f in loaded.assigned if f in UNREAD_FIELDS):
        sys.stderr.write(f"rnnkl report: note: --set {field} is not read by the report (each "
                         f"check runs {UNREAD_FIELDS[field]}; choose that with --budget)\n")
    if lowered:
        sys.stderr.write(f"rnnkl report: note: {lowered}\n")
    source = provenance_note(loaded) + (f"; {lowered}" if lowered else "")
    with command_executor(args, loaded.cluster) as executor:
        report = run_checks(config, budget, out_dir,
                            progress=not getattr(args, "no_progress", False),
                            source=source, executor=executor)
    paths = write_report(report, out_dir)
    sys.stderr.write(
        f"rnnkl report: {overall_sentence(report)[:-1]}; {report.seconds:.1f} s "
        f"({executor.description}); wrote "
        f"{paths['markdown']}, {paths['html']}, {paths['results']}\n")
    if report.failed:
        return 1
    return 1 if getattr(args, "strict", False) and not report.all_passed else 0
