"""``rnnkl sweep [--config FILE] [--set T.K=V ...] --vary T.K=a:b:n [--vary ...] [--budget B]
[--out DIR] [--backend numpy|fast] [--workers K | --scheduler ADDRESS] [--no-progress]``.

Runs the rate checks at every point of a grid of one or two numeric config fields
(proofs_check.sweep) and writes sweep.json, sweep.md, sweep.html and figures/phase_diagram.png
under DIR (default ``rnnkl-sweep``), with a resumable cache under DIR/cache. Every point is
validated and its memory checked before any work starts. Exit 1 when a result fails, 0
otherwise, 2 for bad input (one line).
"""

from __future__ import annotations

import argparse
import sys

from derivations.errors import InputError
from numerics.costs import memory_cap
from proofs_check.budget import get_budget
from proofs_check.commands._output import (
    check_executor_flags,
    command_executor,
    config_assignments,
    prepare_out_dir,
)
from proofs_check.commands._sizes import (
    check_report,
    fit_default_word_length,
    note_beyond_physical,
)
from proofs_check.sweep import load_points, parse_vary, point_error, run_sweep
from proofs_check.sweep_output import verdict_counts, write_sweep


def run(args: argparse.Namespace) -> int:
    varied = tuple(parse_vary(text) for text in (args.vary or []))
    points = load_points(getattr(args, "config", None), config_assignments(args), varied)
    budget = get_budget(getattr(args, "budget", "quick"))
    cap = memory_cap(getattr(args, "memory_cap", None))
    # every point assigns the same fields and reads the same file: the first point's
    # provenance (which fields are the built-in default's; the [cluster] table) is every point's
    first = points[0][1]
    defaulted = "limit.word_length" in first.from_default
    peak, fitted, notes = 0.0, [], []
    for values, loaded in points:
        config, lowered = fit_default_word_length(loaded.config, cap, defaulted=defaulted)
        try:
            peak = max(peak, check_report(config, budget, cap))
        except InputError as err:
            raise point_error(values, err) from None
        fitted.append((values, config))
        notes += [lowered] if lowered and lowered not in notes else []
    note_beyond_physical(peak, cap, "sweep")
    out_dir = getattr(args, "out", None) or "rnnkl-sweep"
    check_executor_flags(args, first.cluster)  # the file's [cluster] table
    prepare_out_dir(out_dir)
    for note in notes:
        sys.stderr.write(f"rnnkl sweep: note: {note}\n")
    source = "; ".join([getattr(args, "config", None) or "built-in default", *notes])
    with command_executor(args, first.cluster) as executor:
        sweep = run_sweep(fitted, varied, budget, out_dir,
                          progress=not getattr(args, "no_progress", False), source=source,
                          executor=executor)
    paths = write_sweep(sweep, out_dir)
    counts = verdict_counts(tuple(r for point in sweep.points for r in point.report.results))
    sys.stderr.write(
        f"rnnkl sweep: {len(sweep.points)} point{'s' if len(sweep.points) != 1 else ''} "
        f"({executor.description}), "
        f"{counts['passed']} pass, "
        f"{counts['failed']} fail, {counts['inconclusive']} inconclusive of "
        f"{counts['checks']} results; wrote {paths['markdown']}, {paths['html']}, {paths['json']}, "
        f"{paths['figure']}\n")
    return 1 if counts["failed"] else 0
