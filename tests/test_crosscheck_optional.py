"""The cross-check machinery is optional (issue 6): the numerics.peer_* modules import without
the peer libraries and then fails with a one-line CrossCheckUnavailable naming the extra, and
the default test run never collects tests/crosscheck (only ``-m crosscheck`` does)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_BLOCKED = """
import sys
for name in ("jax", "jaxlib", "neural_tangents", "quantecon"):
    sys.modules[name] = None  # import of a None entry raises ImportError
import numerics.peer_comparisons
import numerics.peer_markov_chains
import numerics.peer_neural_tangents
import numerics.peer_libraries as xc
from derivations.errors import InputError
for loader in (xc.neural_tangents, xc.quantecon):
    try:
        loader()
    except xc.CrossCheckUnavailable as exc:
        assert isinstance(exc, InputError) and "\\n" not in str(exc), exc
        assert ".[crosscheck]" in str(exc), exc
    else:
        raise SystemExit("no error without the library")
assert xc.missing_libraries() == ["jax", "jaxlib", "neural-tangents", "quantecon"]
print("ok")
"""


def test_peer_modules_importable_without_peer_libraries():
    out = subprocess.run([sys.executable, "-c", _BLOCKED], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def _collected(*marker: str) -> str:
    out = subprocess.run([sys.executable, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider",
                          *marker, "tests/crosscheck"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    return out.stdout


def test_crosscheck_tests_only_collected_with_their_marker():
    assert "test_neural_tangents.py::" not in _collected("-m", "not slow")
    assert "test_quantecon.py::" not in _collected()
    selected = _collected("-m", "crosscheck")
    for name in ("test_neural_tangents.py::", "test_sympy_stats.py::", "test_quantecon.py::"):
        assert name in selected
