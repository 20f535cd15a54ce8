"""Independent cross-checks (issue 6): collection and skip policy of tests/crosscheck
(tests/optional_extra.py).

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

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from optional_extra import need as _need
from optional_extra import policy

pytest_ignore_collect, pytest_runtest_makereport, pytest_sessionfinish = policy(
    "crosscheck", Path(__file__).parent)


def need(loader: Callable[[], Any]) -> Any:
    """Call a numerics.peer_libraries library loader; missing library: skip (fail under CI)."""
    from numerics.peer_libraries import CrossCheckUnavailable

    return _need(loader, CrossCheckUnavailable)


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
