"""The frozen network's words (proofs_check.checks.main_theorem.frozen_words): the claim is for
any fixed input word, so the words are drawn uniformly from all m^L words, not from pi_L, which
would all but skip the rare words and never pick one the chain cannot produce (pi_L(u) = 0)."""

from __future__ import annotations

import math

import numpy as np

from derivations.inputs.config import parse_config
from numerics.limit import word_problem
from proofs_check.budget import TINY, Budget, get_budget
from proofs_check.cache import Cache
from proofs_check.checks import CheckContext, main_theorem

# A three-state chain with forbidden transitions (P[0][2] = P[1][0] = P[2][1] = 0, a self-loop
# on each state for aperiodicity): of the 3^4 = 81 words of length 4, 3 x 2^3 = 24 can occur.
FORBIDDEN = """
[chain]
states = [[-1.0], [0.3], [1.0]]
transition = [["1/2", "1/2", "0"], ["0", "1/3", "2/3"], ["3/5", "0", "2/5"]]
[target]
expression = "tanh(x0 + 0.5*x1)"
[network]
activation = "tanh"
trainable = ["c", "w", "b"]
[training]
horizon = 1.0
[limit]
word_length = 4
"""


def _context(text: str, seed: int, budget: Budget | None = None) -> CheckContext:
    return CheckContext(parse_config(text), budget or get_budget("quick"),
                        Cache(None, salt=f"frozen-{seed}"), seed=seed)


def test_the_words_are_distinct_sorted_and_all_of_them_when_few():
    context = _context(FORBIDDEN, 0)
    many = main_theorem.frozen_words(context, 729)
    assert many.size == main_theorem.FROZEN_WORDS == 64
    assert np.all(np.diff(many) > 0) and 0 <= many[0] and many[-1] < 729
    assert main_theorem.frozen_words(context, 27).tolist() == list(range(27))
    assert np.array_equal(main_theorem.frozen_words(context, 729), many)  # fixed by the seed


def test_the_draw_is_uniform_over_words_whatever_their_probability():
    """Over 40 seeds the number of drawn words the chain cannot produce is hypergeometric
    (64 of 243 words of length 5, of which 243 - 3 x 2^4 = 195 have pi_L = 0): mean 51.4,
    standard deviation 2.7 per seed, so the 40-seed mean lies within 5 of its standard errors
    (0.43) of 51.4. A draw from pi_L would give 0 every time."""
    config = parse_config(FORBIDDEN)
    zero = word_problem(config, 5).pi_L == 0
    assert zero.sum() == 243 - 3 * 2**4
    counts = [int(zero[main_theorem.frozen_words(_context(FORBIDDEN, seed), 243)].sum())
              for seed in range(40)]
    n, K, N = 64, int(zero.sum()), 243
    mean = n * K / N
    sd = math.sqrt(n * (K / N) * (1 - K / N) * (N - n) / (N - 1))
    assert abs(np.mean(counts) - mean) <= 5 * sd / math.sqrt(len(counts))


def test_the_frozen_network_is_checked_on_words_the_chain_cannot_produce():
    """End to end (tiny budget): the frozen network's details say how many of its words have
    pi_L = 0, and here most do; the result still has its rivals and a verdict."""
    context = _context(FORBIDDEN, 0, TINY)
    frozen = next(r for r in main_theorem.run(context) if r.name == "frozen_network")
    words = frozen.details["frozen_words"]
    L = frozen.details["word_length"]
    assert words["of"] == 3**L and words["drawn"] == min(64, 3**L)
    assert words["with_pi_L_zero"] > words["drawn"] // 2
    assert words["smallest_pi_L"] == 0.0
    assert "uniformly" in frozen.quantity
    assert frozen.rivals and frozen.verdict in ("pass", "fail", "inconclusive")
