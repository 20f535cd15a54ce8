"""The one registry of the checks' random streams.

Every check draws its randomness from ``numpy.random.SeedSequence(seed, spawn_key=(KEY, ...))``
with its own KEY from :data:`STREAM_KEYS`, so no two checks share a stream (their verdicts are
independent evidence) and a check's numbers do not depend on which other checks ran.
tests/test_streams.py holds the keys distinct and finds no spawn key typed anywhere else.
"""

from __future__ import annotations

import numpy as np

STREAM_KEYS: dict[str, int] = {
    "memory_contraction": 101,
    "kernel_at_init": 102,
    "output_at_init": 103,
    "trained_simulations": 200,  # the N-ladder shared by parameter_drift and main_theorem
    "parameter_drift": 201,
    "main_theorem": 301,
    "main_theorem_frozen_words": 302,
    "poisson": 401,
    "sobolev_bounds": 501,
    "lazy_training": 502,  # was 501 until 2026-12-02: it shared sobolev_bounds' stream
}


def stream_key(name: str) -> int:
    """The spawn key of the stream called ``name`` (KeyError for an unregistered one)."""
    return STREAM_KEYS[name]


def stream(seed: int, name: str) -> np.random.Generator:
    """A generator on the stream ``name`` of the root seed."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream_key(name),)))
