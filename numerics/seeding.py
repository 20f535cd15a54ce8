"""Reproducible randomness: one independent stream family per replica (team brief, "Reproducible").

Replica ``r`` under root seed ``s`` draws from three generators built from
``SeedSequence(s, spawn_key=(r, j))`` with ``j = 0`` (initial parameters mu_0), ``j = 1``
(chain path) and ``j = 2`` (target noise eps_k). They depend on (s, r) only, so a replica's
results are bit-identical whichever other replicas are simulated with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STREAM_INIT = 0
STREAM_CHAIN = 1
STREAM_NOISE = 2


@dataclass(frozen=True)
class ReplicaStreams:
    """The three random streams of one replica (theory.md §1-§2): theta_0, (Z_k), (eps_k)."""

    init: np.random.Generator
    chain: np.random.Generator
    noise: np.random.Generator


def _generator(seed: int, replica: int, stream: int) -> np.random.Generator:
    sequence = np.random.SeedSequence(seed, spawn_key=(replica, stream))
    return np.random.Generator(np.random.PCG64(sequence))


def replica_streams(seed: int, replica: int) -> ReplicaStreams:
    """Streams of replica ``replica`` under root ``seed`` (both >= 0), fixed by (seed, replica)."""
    if int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    if int(replica) != replica or replica < 0:
        raise ValueError(f"replica index must be an integer >= 0, got {replica!r}")
    seed, replica = int(seed), int(replica)
    return ReplicaStreams(
        init=_generator(seed, replica, STREAM_INIT),
        chain=_generator(seed, replica, STREAM_CHAIN),
        noise=_generator(seed, replica, STREAM_NOISE),
    )
