"""Shared pytest configuration: hypothesis profiles ``ci`` (default under CI=true) and ``dev``.

Select one with ``HYPOTHESIS_PROFILE=dev pytest`` or ``pytest --hypothesis-profile=dev``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=25, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
