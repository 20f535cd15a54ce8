"""The collection and skip policy of a test directory that needs an optional extra
(tests/crosscheck: ``crosscheck``; tests/distributed: ``distributed``).

* Its tests are collected ONLY when the ``-m`` marker expression names the extra
  (``python3 -m pytest -q -m distributed tests/distributed``); every other run ignores the
  directory, so the default suite never needs the extra.
* Outside CI a missing library skips (``need``) with the install hint. Under ``CI=true`` it is
  a hard failure: ``need`` fails instead of skipping, any skip of a test there becomes a
  failure, and a selected run that collects nothing fails, so the extra's tests never
  silently skip in CI.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def need(loader: Callable[[], Any], missing: type[BaseException] = ImportError) -> Any:
    """``loader()``; when it raises ``missing``: skip, or fail under CI."""
    try:
        return loader()
    except missing as exc:
        if in_ci():
            pytest.fail(f"CI=true and an optional library is missing: {exc}", pytrace=False)
        pytest.skip(str(exc))


def policy(marker: str, directory: Path) -> tuple[Callable[..., Any], ...]:
    """(pytest_ignore_collect, pytest_runtest_makereport, pytest_sessionfinish) for the
    conftest.py of ``directory``, whose tests carry ``marker``."""
    here = directory.resolve()

    def selected(config: pytest.Config) -> bool:
        return marker in (config.getoption("markexpr", default="") or "")

    def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
        path = Path(collection_path).resolve()
        if path.parent == here and path.name.startswith("test_") and not selected(config):
            return True
        return None

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
        outcome = yield
        report = outcome.get_result()
        if in_ci() and report.skipped and Path(str(item.path)).resolve().parent == here:
            report.outcome = "failed"
            report.longrepr = f"CI=true: {item.nodeid} was skipped ({report.longrepr})"

    def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
        if in_ci() and selected(session.config) and session.testscollected == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    return pytest_ignore_collect, pytest_runtest_makereport, pytest_sessionfinish
