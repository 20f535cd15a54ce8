"""The report's "Independent cross-checks" section.

:func:`run_crosschecks` calls ``numerics.peer_comparisons.run_all_crosschecks(config)`` (comparisons
with neural-tangents, sympy.stats and QuantEcon.py, written by nobody here) and records, per
comparison, the library and its version, the size of what was compared and the largest
deviation against its tolerance. The result is cached like the other expensive results (key:
the config, the word length and the installed versions of the peer libraries).

Outcomes (:attr:`CrossCheckSection.status`):
* ``"ran"``: every comparison ran; the report fails (exit 1) if any deviates beyond tolerance.
* ``"not run"``: the optional extra is not installed (found before anything is computed or
  looked up in the cache, so a rerun records no cache miss for it; numerics.peer_libraries may also
  raise CrossCheckUnavailable). A section that did not run is neither passed nor failed
  (:attr:`CrossCheckSection.passed` is None, ``"passed": null`` in results.json): it does not
  fail the report, and no output counts it as passing. The cross-checks are enforced by the
  crosscheck test suite in CI (.ci/run installs the extra).
* ``"error"``: a comparison crashed for another reason; this fails the report (a check that
  cannot run is a failed check, never a silent skip).
"""

from __future__ import annotations

import importlib.metadata
import json
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from proofs_check.cache import Cache
from proofs_check.result import _jsonable

INSTALL_COMMAND = "pip install -e '.[crosscheck]'"
NOT_RUN_MESSAGE = f"not run: install with {INSTALL_COMMAND}"
# Peer distributions whose versions key the cache (a library installed or upgraded later must
# not be served the previous outcome).
PEER_DISTRIBUTIONS = ("neural-tangents", "jax", "jaxlib", "quantecon", "sympy")
FIELDS = ("name", "library", "version", "size", "max_deviation", "tolerance", "passed")


@dataclass(frozen=True)
class CrossCheckSection:
    """status: "ran" | "not run" | "error"; entries: one dict per comparison with the keys
    FIELDS (plus "tolerance_source"); message: why it did not run / what crashed."""

    status: str
    entries: tuple[dict[str, Any], ...] = ()
    message: str = ""
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool | None:
        """None when not run (extra missing: neither passed nor failed); error: False; ran:
        every comparison within its tolerance (and at least one comparison)."""
        if self.status == "not run":
            return None
        if self.status == "error":
            return False
        return bool(self.entries) and all(bool(e["passed"]) for e in self.entries)


def outcome_word(section: CrossCheckSection | None) -> str:
    """"pass", "FAIL" or "not run" (a section that did not run is never counted as passing)."""
    if section is None or section.passed is None:
        return "not run"
    return "pass" if section.passed else "FAIL"


def peer_versions() -> dict[str, str | None]:
    """Installed version of each peer distribution (None when absent)."""
    versions: dict[str, str | None] = {}
    for name in PEER_DISTRIBUTIONS:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def entry_from_result(result: Any) -> dict[str, Any]:
    """The results.json record of one numerics.peer_libraries.CrossCheckResult."""
    entry = {name: getattr(result, name) for name in FIELDS}
    entry["tolerance_source"] = getattr(result, "tolerance_source", "")
    entry["passed"] = bool(entry["passed"])
    return _jsonable(entry)


def run_crosschecks(config: Any, cache: Cache) -> CrossCheckSection:
    """Run (or load from the cache) every cross-check of numerics.peer_comparisons on ``config``."""
    import time

    start = time.monotonic()
    try:
        from numerics.peer_comparisons import run_all_crosschecks
        from numerics.peer_libraries import CrossCheckUnavailable, missing_libraries
    except ImportError as err:
        return CrossCheckSection("not run", message=f"{NOT_RUN_MESSAGE} ({err})")
    missing = missing_libraries()
    if missing:  # decided before the cache is consulted: no miss is recorded for it
        return CrossCheckSection(
            "not run", message=f"{NOT_RUN_MESSAGE} (missing: {', '.join(missing)})")

    def compute() -> dict[str, np.ndarray]:
        results = run_all_crosschecks(config)
        text = json.dumps([entry_from_result(r) for r in results], allow_nan=False)
        return {"entries": np.array(text)}

    params = {"config": config, "versions": peer_versions()}
    try:
        arrays = cache.get_or_compute("crosscheck", params, compute)
    except CrossCheckUnavailable as err:
        return CrossCheckSection("not run", message=f"{NOT_RUN_MESSAGE} ({err})",
                                 seconds=time.monotonic() - start)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as err:  # a crashed comparison fails the report, never skips silently
        last = traceback.extract_tb(err.__traceback__)[-1]
        return CrossCheckSection(
            "error", message=f"{type(err).__name__}: {err} (at {Path(last.filename).name}:"
            f"{last.lineno})", seconds=time.monotonic() - start)
    entries = tuple(json.loads(str(arrays["entries"])))
    return CrossCheckSection("ran", entries=entries, seconds=time.monotonic() - start)


def section_to_json(section: CrossCheckSection) -> list[dict[str, Any]]:
    """results.json ``"crosschecks"``: [{"name","library","version","size","max_deviation",
    "tolerance","passed", "tolerance_source"}] (empty when not run)."""
    return [dict(e) for e in section.entries]


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def section_rows(section: CrossCheckSection) -> list[list[str]]:
    """Table rows (shared by report.md, report.html and the tests)."""
    return [[str(e["name"]), f"{e['library']} {e['version']}", str(e["size"]),
             _fmt(e["max_deviation"]), _fmt(e["tolerance"]), "PASS" if e["passed"] else "FAIL"]
            for e in section.entries]


SECTION_HEADER = ["comparison", "library (version)", "size", "max deviation", "tolerance",
                  "result"]
SECTION_INTRO = (
    "Our numbers compared with libraries nobody here wrote (neural-tangents, sympy.stats, "
    "QuantEcon.py), wherever the theory overlaps. A comparison beyond its tolerance "
    "fails the report; when the optional extra is not installed the section is not run and the "
    "report does not fail on it (the crosscheck test suite enforces these comparisons in CI)."
)


def section_status_line(section: CrossCheckSection) -> str:
    if section.status == "not run":
        return section.message
    if section.status == "error":
        return f"FAIL: a cross-check crashed: {section.message}"
    n_pass = sum(bool(e["passed"]) for e in section.entries)
    verdict = "PASS" if section.passed else "FAIL"
    return (f"{verdict}: {n_pass} of {len(section.entries)} comparisons within tolerance "
            f"({section.seconds:.1f} s).")
