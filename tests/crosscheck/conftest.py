"""Independent cross-checks (issue 6): collection and skip policy of tests/crosscheck.

* The tests here need the optional extra ``crosscheck`` (neural-tangents, jax, QuantEcon.py).
  They are collected ONLY when the marker expression mentions ``crosscheck``
  (``python3 -m pytest -q -m crosscheck tests/crosscheck``); every other run (the default
  ``pytest -q -m "not slow"``, ``-m slow``, plain ``pytest``) ignores this directory, so it
  never needs the extra and never pays the ~15 s TensorFlow/jax import.
* Outside CI a missing peer library skips its tests (``need`` below) with the install hint.
  Under ``CI=true`` it is a hard failure: ``need`` fails instead of skipping, any skip of a
  test here is turned into a failure (``pytest_runtest_makereport``), and a selected run that
  collects nothing fails (``pytest_sessionfinish``), so the cross-checks never silently skip.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

_HERE = Path(__file__).resolve().parent


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _selected(config: pytest.Config) -> bool:
    return "crosscheck" in (config.getoption("markexpr", default="") or "")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Ignore the test modules of this directory unless ``-m`` mentions crosscheck."""
    path = Path(collection_path).resolve()
    if path.parent == _HERE and path.name.startswith("test_") and not _selected(config):
        return True
    return None


def need(loader: Callable[[], Any]) -> Any:
    """Call a numerics.peer_libraries library loader; missing library: skip (fail under CI)."""
    from numerics.peer_libraries import CrossCheckUnavailable

    try:
        return loader()
    except CrossCheckUnavailable as exc:
        if in_ci():
            pytest.fail(f"CI=true and a cross-check library is missing: {exc}", pytrace=False)
        pytest.skip(str(exc))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    outcome = yield
    report = outcome.get_result()
    if in_ci() and report.skipped and Path(str(item.path)).resolve().parent == _HERE:
        report.outcome = "failed"
        report.longrepr = f"CI=true: cross-check {item.nodeid} was skipped ({report.longrepr})"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if in_ci() and _selected(session.config) and session.testscollected == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def nt_lib() -> Any:
    """(neural_tangents, jax.numpy, version) in float64, or skip (fail under CI)."""
    from numerics.peer_libraries import neural_tangents

    return need(neural_tangents)


@pytest.fixture(scope="session")
def qe_lib() -> Any:
    """(quantecon, version), or skip (fail under CI)."""
    from numerics.peer_libraries import quantecon

    return need(quantecon)
