"""The empirical tangent kernel A^N (numerics.tangent_kernel): the same bits however many BLAS
threads run (the report must be bit-identical serially and on Dask workers, which run one),
and the same values as the BLAS products within rounding."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHILD = """
import hashlib, sys
import numpy as np
sys.path.insert(0, {root!r})
from derivations.inputs.config import load_config, states_array
from proofs_check.checks._common import draw_units
from numerics.tangent_kernel import empirical_kernel
from numerics.words import enumerate_words
config = load_config(None)
words = enumerate_words(config.chain.m, 4)[::7]  # 12 words, as the quick budget compares
inputs = states_array(config)[words]
c, w, b = draw_units(np.random.default_rng(3), config, 4096)
print(hashlib.sha256(empirical_kernel(config, c, w, b, inputs).tobytes()).hexdigest())
"""


def _digest(threads: int) -> str:
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    done = subprocess.run([sys.executable, "-c", CHILD.format(root=str(ROOT))], env=env,
                          capture_output=True, text=True, check=True, timeout=120)
    return done.stdout.strip().splitlines()[-1]


def test_empirical_kernel_is_bit_identical_for_one_and_two_blas_threads() -> None:
    """12 words x 4096 units: the shape at which BLAS products gave different last bits with
    one and two OpenBLAS threads (the Dask --scheduler test's report)."""
    assert _digest(1) == _digest(2)


@pytest.mark.parametrize("source", [None, ROOT / "examples" / "antisymmetric_beta_half.toml"])
def test_empirical_kernel_equals_the_blas_products_within_rounding(source) -> None:
    """The default chain (d = 1) and the antisymmetric example (d = 2: every component of
    G^w . G^w' counts; a kernel summing only the first passed every other fast test)."""
    from derivations.inputs.config import load_config, states_array
    from numerics.frozen import frozen_memory
    from numerics.tangent_kernel import empirical_kernel
    from numerics.words import enumerate_words
    from proofs_check.checks._common import draw_units

    config = load_config(source)
    inputs = states_array(config)[enumerate_words(config.chain.m, 3)]
    c, w, b = draw_units(np.random.default_rng(5), config, 2000)
    memory = frozen_memory(w, b, config, inputs)
    S, Gw, Gb = memory.S[:, -1], memory.Gw[:, -1], memory.Gb[:, -1]
    assert Gw.shape[2] == config.chain.d
    c2 = c * c
    blas = (S @ S.T + sum((Gw[:, :, j] * c2) @ Gw[:, :, j].T for j in range(Gw.shape[2]))
            + (Gb * c2) @ Gb.T) / S.shape[1]
    ours = empirical_kernel(config, c, w, b, inputs)
    assert np.max(np.abs(ours - blas)) <= 1e-13 * float(np.max(np.abs(blas)))
    assert hashlib.sha256(ours.tobytes()).hexdigest() != ""  # computed, not skipped
