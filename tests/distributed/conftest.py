"""Dask executor tests (issue 16): collection and skip policy of tests/distributed
(tests/optional_extra.py). They need the optional extra ``distributed`` and are collected only
with ``-m distributed`` (``python3 -m pytest -q -m distributed tests/distributed``); under
CI=true a missing library or a skip is a failure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from optional_extra import need, policy

pytest_ignore_collect, pytest_runtest_makereport, pytest_sessionfinish = policy(
    "distributed", Path(__file__).parent)


@pytest.fixture(scope="session")
def distributed_lib() -> Any:
    """The ``distributed`` module, or skip (fail under CI)."""
    import importlib

    return need(lambda: importlib.import_module("distributed"))
