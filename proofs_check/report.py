"""Run every check and write the verification report.

Outputs under the output directory:
* ``results.json``: ``{"config", "config_source", "budget", "checks": [...],
  "crosschecks", "crosschecks_status", "summary"}``, every number of the report (``checks``
  entries from :func:`proofs_check.result.result_to_dict`);
* ``report.md`` and ``report.html`` (:mod:`proofs_check.render`);
* ``figures/*.png``;
* ``cache/``: the resumable cache of expensive results (:mod:`proofs_check.cache`).
Writes are atomic (temporary file + rename).

Python use: :func:`run_checks` (all checks, or a chosen few) and :func:`run_check` (one check
module by name) return results; :func:`write_report` writes the files.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import sys
import time
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from derivations.inputs.config import Config, config_to_dict
from proofs_check.announce import PREFIX, Announcer, choose_mode
from proofs_check.budget import Budget, get_budget
from proofs_check.cache import Cache, atomic_write
from proofs_check.checks import CHECK_MODULES, CheckContext
from proofs_check.crosschecks import (
    CrossCheckSection,
    outcome_word,
    run_crosschecks,
    section_to_json,
)
from proofs_check.executor import Executor, ExecutorError
from proofs_check.figures import render_png
from proofs_check.render import figure_names, html_report, markdown
from proofs_check.result import CheckResult, failed_result, result_to_dict
from proofs_check.termination import stop_if_terminated
from proofs_check.threads import blas_on_one_thread

CROSSCHECK_COST = 1.0  # relative cost of the cross-check section (progress bar only)


@dataclass(frozen=True)
class Report:
    """All results of one report run."""

    config: Config
    budget: Budget
    results: tuple[CheckResult, ...]
    seconds: float
    cache_hits: int
    cache_misses: int
    crosschecks: CrossCheckSection | None = None
    source: str = ""  # where the configuration came from (derivations.inputs.files)

    @property
    def failed(self) -> bool:
        """Some check failed (its prediction rejected), or a cross-check that ran deviated
        beyond tolerance (cross-checks that did not run neither pass nor fail)."""
        cross_failed = self.crosschecks is not None and self.crosschecks.passed is False
        return not self.results or any(r.verdict == "fail" for r in self.results) or cross_failed

    @property
    def all_passed(self) -> bool:
        """Nothing failed and every check passed (prediction accepted, every rival rejected)."""
        return not self.failed and all(r.passed for r in self.results)


def _load_check(name: str):
    return importlib.import_module(f"proofs_check.checks.{name}")


def _run_one(name: str, context: CheckContext) -> tuple[CheckResult, ...]:
    """Run one check module; a missing module or an exception becomes a failed result, but an
    ExecutorError (every worker gone, proofs_check.executor) ends the run: it says nothing
    about the check."""
    start = time.monotonic()
    try:
        module = _load_check(name)
    except ImportError as err:
        return (failed_result(name, f"(check {name} could not be loaded)", "",
                              f"missing module: {err}"),)
    caught: list[warnings.WarningMessage] = []
    try:
        # BLAS on one thread for the check's own products too, not only inside its cached jobs
        # (proofs_check.threads): a caller's thread count must not change a number (measured:
        # poisson_pathwise's 8.2e-13 read 9.1e-13 in process with two OpenBLAS threads).
        with warnings.catch_warnings(record=True) as caught, blas_on_one_thread():
            warnings.simplefilter("always")
            output = module.run(context)
    except (KeyboardInterrupt, SystemExit, ExecutorError):  # the run's end, not the check's
        raise
    except Exception as err:  # a check that crashes is a failed check, reported as such
        last = traceback.extract_tb(err.__traceback__)[-1]
        where = f"{Path(last.filename).name}:{last.lineno}"
        output = failed_result(name, getattr(module, "CLAIM", ""),
                               getattr(module, "EQUATION", ""),
                               f"{type(err).__name__}: {err} (at {where})")
    results = output if isinstance(output, tuple) else (output,)
    seconds = (time.monotonic() - start) / len(results)
    numerical = numerical_warnings(caught)
    return tuple(dataclasses.replace(
        r, seconds=seconds,
        details=dict(r.details, numerical_warnings=numerical) if numerical else r.details)
        for r in results)


WARNINGS_SHOWN = 5  # distinct numerical warnings listed per check (then "and K more")


def numerical_warnings(caught: list[warnings.WarningMessage]) -> str:
    """The RuntimeWarnings (NumPy's overflow, invalid value, ...) a check raised, as one line
    for its section: each distinct message and place with its count. They belong to the check's
    evidence (a diverging network overflows; its results then fail as not finite), not to the
    terminal. Other warnings are shown as usual."""
    counts: dict[str, int] = {}
    for item in caught:
        if not issubclass(item.category, RuntimeWarning):
            warnings.showwarning(item.message, item.category, item.filename, item.lineno)
            continue
        key = f"{item.message} ({Path(item.filename).name}:{item.lineno})"
        counts[key] = counts.get(key, 0) + 1
    shown = [f"{key} x{n}" if n > 1 else key for key, n in list(counts.items())[:WARNINGS_SHOWN]]
    more = len(counts) - len(shown)
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")


def submit_jobs(config: Config, budget: Budget, cache: Cache,
                checks: tuple[str, ...] = CHECK_MODULES) -> int:
    """Submit, largest estimated cost first, every job that the ``checks`` will ask for and
    that needs no other result (each check module's optional ``jobs(context)``), so that a
    parallel executor works on all of them while the checks run in order; a no-op for the
    serial executor. A check whose jobs cannot be listed is left to fail when it runs.
    Returns the number of jobs listed."""
    if not cache.executor.parallel:
        return 0
    context = CheckContext(config=config, budget=budget, cache=cache, seed=int(config.run.seed))
    listed = []
    for name in checks:
        try:
            lister = getattr(_load_check(name), "jobs", None)
            listed += list(lister(context)) if lister is not None else []
        except Exception:  # noqa: BLE001 - the check reports its own error when it runs
            continue
    for job in sorted(listed, key=lambda job: -job.cost):  # stable: ties keep check order
        cache.submit(job)
    return len(listed)


def run_checks(
    config: Config,
    budget: Budget | str = "quick",
    out_dir: str | os.PathLike[str] | None = None,
    *,
    progress: bool = True,
    checks: tuple[str, ...] = CHECK_MODULES,
    cache: Cache | None = None,
    crosschecks: bool = True,
    source: str = "",
    executor: Executor | None = None,
    progress_prefix: str = PREFIX,
) -> Report:
    """Run the check modules ``checks`` in order, then the independent cross-checks (unless
    ``crosschecks`` is False). ``budget``: a Budget or its name. ``out_dir``: where the disk
    cache lives (None: in memory only). ``progress``: a bar on a terminal, plain per-check
    lines otherwise (:mod:`proofs_check.announce`); False: silent. ``source``: where the
    configuration came from, for the report. ``executor``: where a new cache computes its
    jobs (default serial; a given ``cache`` brings its own); with a parallel one, every job
    is submitted first (:func:`submit_jobs`). ``progress_prefix`` starts every progress line
    (a sweep names its point there). Nothing is written to stdout."""
    start = time.monotonic()
    budget = get_budget(budget) if isinstance(budget, str) else budget
    if cache is None:
        cache = Cache(Path(out_dir) / "cache" if out_dir is not None else None,
                      executor=executor)
    submit_jobs(config, budget, cache, checks)
    costs = []
    for name in checks:
        try:
            costs.append(float(getattr(_load_check(name), "COST", 1.0)))
        except ImportError:
            costs.append(0.1)
    names = list(checks) + (["crosschecks"] if crosschecks else [])
    costs += [CROSSCHECK_COST] if crosschecks else []
    announcer = Announcer(names, costs, mode=choose_mode(progress, sys.stderr),
                          prefix=progress_prefix)
    results: list[CheckResult] = []
    section = None
    try:
        for index, name in enumerate(checks):
            stop_if_terminated()  # a SIGTERM a finalizer swallowed ends the run here
            announcer.start(index)
            context = CheckContext(config=config, budget=budget, cache=cache,
                                   seed=int(config.run.seed), progress=announcer.tick)
            finished = _run_one(name, context)
            results.extend(finished)
            announcer.finish(finished)
        stop_if_terminated()
        if crosschecks:
            announcer.start(len(checks))
            with blas_on_one_thread():
                section = run_crosschecks(config, cache)
            announcer.finish(())
            announcer.section("independent cross-checks", outcome_word(section),
                              section.seconds if section.status != "not run" else None)
    finally:
        announcer.close()
    return Report(config=config, budget=budget, results=tuple(results),
                  seconds=time.monotonic() - start, cache_hits=cache.hits,
                  cache_misses=cache.misses, crosschecks=section, source=source)


def run_check(name: str, config: Config, budget: Budget | str = "quick",
              out_dir: str | os.PathLike[str] | None = None) -> tuple[CheckResult, ...]:
    """The results of one check module (a name of :data:`CHECK_MODULES`), silently; with
    ``out_dir`` its expensive parts are cached there like a report's."""
    if name not in CHECK_MODULES:
        from derivations.errors import InputError

        raise InputError(f"unknown check {name!r} (choose {', '.join(CHECK_MODULES)})")
    report = run_checks(config, budget, out_dir, progress=False, checks=(name,),
                        crosschecks=False)
    return report.results


# ----------------------------------------------------------------------------- serialisation


def results_json(report: Report) -> dict[str, Any]:
    """The machine-readable report: every number of report.md. Cross-checks that did not run
    have ``"passed": null`` (neither passed nor failed)."""
    checks = [result_to_dict(r) for r in report.results]
    section = report.crosschecks
    return {
        "config": config_to_dict(report.config),
        "config_source": report.source,
        "budget": report.budget.to_dict(),
        "checks": checks,
        "crosschecks": section_to_json(section) if section is not None else [],
        "crosschecks_status": {
            "status": section.status if section is not None else "not run",
            "message": (section.message if section is not None
                        else "cross-checks disabled for this run"),
            "passed": section.passed if section is not None else None,
        },
        "summary": {
            "checks": len(checks),
            "passed": sum(1 for r in report.results if r.verdict == "pass"),
            "failed": sum(1 for r in report.results if r.verdict == "fail"),
            "inconclusive": sum(1 for r in report.results if r.verdict == "inconclusive"),
            "failed_any": report.failed,
            "crosschecks": outcome_word(section),
            "crosschecks_passed": section.passed if section is not None else None,
            "all_passed": report.all_passed,
        },
    }


def write_report(report: Report, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write results.json, report.md, report.html and figures/*.png; return their paths."""
    out = Path(out_dir)
    pngs: dict[str, bytes] = {}
    for result, names in zip(report.results, figure_names(report), strict=True):
        for fig, name in zip(result.figures, names, strict=True):
            pngs[name] = render_png(fig)
            atomic_write(out / "figures" / name, pngs[name])
    paths = {
        "results": out / "results.json",
        "markdown": out / "report.md",
        "html": out / "report.html",
    }
    text = json.dumps(results_json(report), indent=2, sort_keys=False, allow_nan=False)
    atomic_write(paths["results"], (text + "\n").encode())
    atomic_write(paths["markdown"], markdown(report).encode())
    atomic_write(paths["html"], html_report(report, pngs).encode())
    return paths
