"""ybar on words: ybar(u) = E[Y_0 | past word u] (theory.md §3, finite-state reduction §4).

Y_0 = y(X_{-q}, ..., X_0) + eps_0 with mean-zero noise, so ybar(u) = E[y(X_{-q..0}) | u].
For a word u = (u_1, ..., u_L) (oldest symbol first) X_{-j} = xi_{u_{L-j}}:

- q <= L - 1: the window lies inside the word and ybar(u) = y(xi_{u_L}, ..., xi_{u_{L-q}}).
- q >= L: the r = q - L + 1 symbols older than u_1 are unseen. Under the stationary chain
  (theory.md §1, started from pi) they are distributed as r steps of the **time-reversed chain**
  from u_1, Phat(a, s) = pi(s) P(s, a) / pi(a), independently of u_2..u_L (Markov property), so

      ybar(u) = sum_{s_1..s_r} pi(s_1) P(s_1, s_2) ... P(s_r, u_1) / pi(u_1) * y(s_1..s_r u).

  Words with pi(u_1) = 0 cannot occur; their ybar is defined with the uniform weight (any
  value is irrelevant: they have pi_L(u) = 0).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from numerics.words import enumerate_words

FloatArray = NDArray[np.float64]
TargetFunction = Callable[[FloatArray], FloatArray]


def windows_of_words(words: NDArray[np.int64], states: FloatArray, lag: int) -> FloatArray:
    """Input windows of the most recent lag+1 symbols: (n, lag+1, d), [:, j] = X_{-j}.

    words (n, L) oldest first with L >= lag + 1; states (m, d).
    """
    L = words.shape[1]
    if lag + 1 > L:
        raise ValueError(f"need words of length >= {lag + 1}, got {L}")
    recent_first = words[:, ::-1][:, : lag + 1]  # [:, j] = u_{L-j}
    return states[recent_first]


def ybar_on_words(
    y: TargetFunction, lag: int, states: FloatArray, P: FloatArray, pi: FloatArray,
    word_length: int
) -> FloatArray:
    """ybar(u) for all m^L words in lexicographic order, shape (m^L,) (see module docstring).

    y maps windows (..., lag+1, d) with [..., j, :] = X_{-j} to (...); P (m, m); pi (m,).
    """
    states = np.asarray(states, dtype=float)
    m = states.shape[0]
    if lag <= word_length - 1:
        words = enumerate_words(m, word_length)
        return np.asarray(y(windows_of_words(words, states, lag)), dtype=float)
    r = lag - word_length + 1
    extended = enumerate_words(m, lag + 1)  # (m^(q+1), q+1): r unseen symbols, then u
    values = np.asarray(y(windows_of_words(extended, states, lag)), dtype=float)
    # weight of the unseen prefix given u_1: pi(s_1) prod P(s_i, s_{i+1}) P(s_r, u_1) / pi(u_1)
    weight = pi[extended[:, 0]].copy()
    for i in range(r):
        weight *= P[extended[:, i], extended[:, i + 1]]
    first = extended[:, r]
    norm = pi[first]
    weight = np.where(norm > 0, weight / np.where(norm > 0, norm, 1.0), float(m) ** -r)
    # index of an extended word = prefix * m^L + word index, so axis 0 below is the prefix
    return (weight * values).reshape(m**r, m**word_length).sum(axis=0)


def ybar_from_config(config: object, word_length: int) -> FloatArray:
    """ybar on the m^L words of a Config (derivations.inputs.config: target, chain, pi)."""
    from derivations.inputs.config import states_array, target_expression, transition_matrix
    from derivations.inputs.expression_eval import evaluate
    from numerics.chain import stationary_law

    expression = target_expression(config)
    P = transition_matrix(config.chain)
    return ybar_on_words(
        lambda window: evaluate(expression, window),
        expression.max_lag,
        states_array(config.chain),
        P,
        stationary_law(P),
        word_length,
    )
