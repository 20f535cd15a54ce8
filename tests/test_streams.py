"""The checks' random streams come from one registry (proofs_check/checks/streams.py): distinct
keys, and no spawn key typed anywhere else."""

from __future__ import annotations

import re
from pathlib import Path

from proofs_check.checks.streams import STREAM_KEYS

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
