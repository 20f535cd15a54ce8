"""The checks' random streams come from one registry (proofs_check/checks/streams.py): distinct
keys, and no spawn key typed anywhere else."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from proofs_check.checks.streams import STREAM_KEYS, stream

CHECKS = Path(__file__).resolve().parents[1] / "proofs_check" / "checks"


def test_stream_keys_are_distinct():
    keys = list(STREAM_KEYS.values())
    assert len(set(keys)) == len(keys), STREAM_KEYS


def test_no_check_types_its_own_spawn_key():
    literal = re.compile(r"spawn_key=\(\s*\d|SPAWN_KEY\s*=\s*\d")
    offenders = [f"{path.name}:{n}" for path in sorted(CHECKS.glob("*.py"))
                 if path.name != "streams.py"
                 for n, line in enumerate(path.read_text().splitlines(), 1)
                 if literal.search(line)]
    assert not offenders, offenders


def test_a_stream_is_the_documented_spawn_of_its_seed():
    """stream(seed, name) is SeedSequence(seed, spawn_key=(KEY,)): it changes with the seed
    (a stream that ignored the seed would give every seed the same draws) and with the name."""
    draws = {(seed, name): stream(seed, name).random(4)
             for seed in (0, 1, 2**40) for name in STREAM_KEYS}
    for (seed, name), values in draws.items():
        expected = np.random.default_rng(
            np.random.SeedSequence(seed, spawn_key=(STREAM_KEYS[name],))).random(4)
        np.testing.assert_array_equal(values, expected)
    assert len({tuple(v) for v in draws.values()}) == len(draws)
