"""Hand-written references shared by the tests of the checks' own arithmetic
(tests/test_*_check.py). Independent of proofs_check: each restates what the checks document,
so a test that uses it does not compare the code with itself."""

from __future__ import annotations

import numpy as np

from derivations.inputs.config import states_array
from numerics.words import enumerate_words


def spread_word_indices(total: int, count: int) -> list[int]:
    """``count`` word indices spread evenly over range(total): the rounded linspace from the
    first to the last, ties to even (all of them if count >= total)."""
    count = min(count, total)
    if count == 1:  # a linspace of one point is its start
        return [0]
    return sorted({round(i * (total - 1) / (count - 1)) for i in range(count)})


def spread_word_inputs(config, word_length: int, count: int) -> np.ndarray:
    """The words of :func:`spread_word_indices` among all m^L of length ``word_length``, as
    input arrays (words, L, d), oldest symbol first."""
    m = config.chain.m
    select = spread_word_indices(m**word_length, count)
    return states_array(config)[enumerate_words(m, word_length)[select]]


def assert_units_of_their_own(first_params: list[np.ndarray], ladder, replicas: int) -> None:
    """``first_params``: one drawn parameter array per (N, replica), in ladder order. Every
    draw is distinct, and no larger N starts with a smaller N's units of the same replica (a
    shared stream would correlate the ladder's levels and void a fit that treats them as
    independent)."""
    assert [p.shape[0] for p in first_params] == [n for n in ladder for _ in range(replicas)]
    assert len({float(p.ravel()[0]) for p in first_params}) == len(first_params)
    for i, n in enumerate(ladder[:-1]):
        for r in range(replicas):
            small = first_params[i * replicas + r]
            for j in range(i + 1, len(ladder)):
                assert not np.allclose(first_params[j * replicas + r][:n], small)
