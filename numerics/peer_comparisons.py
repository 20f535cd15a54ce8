"""Every independent cross-check on one configuration (issue 6): the entry point of the
report's "Independent cross-checks" section (proofs_check.crosschecks).

Comparisons (details in each module): neural-tangents' erf kernel and gradient-descent
predictor (:mod:`numerics.peer_neural_tangents`), sympy.stats' and QuantEcon.py's Markov chains
(:mod:`numerics.peer_markov_chains`); peer libraries and the result type in
:mod:`numerics.peer_libraries`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from numerics.peer_libraries import CrossCheckResult
from numerics.peer_markov_chains import compare_quantecon, compare_sympy_chain
from numerics.peer_neural_tangents import (
    compare_erf_kernel,
    erf_kernel_results,
    gradient_descent_result,
    nt_gradient_descent,
    ode_rounding,
    ours_uniform_limit,
    training_weights,
    training_words,
)

_TIMES_FRACTIONS = (0.25, 0.5, 1.0)
_SYMPY_MAX_STATES = 16  # exact determinant + inverse in SymPy grow fast with the word count


def run_all_crosschecks(config: Any, *, word_length: int = 2) -> list[CrossCheckResult]:
    """Every cross-check on a derivations.inputs.config.Config (fast, < 60 s incl. imports).

    * erf kernel, b = 0: the config's states, c_std, w_std (w_std = 0 replaced by 1, since
      the NT mapping needs w_std > 0), words of length ``word_length``.
    * NT gradient descent: the config's own kernel (numerics.kernel) on words of length
      ``word_length``, ybar of the config, alpha, training set =
      numerics.peer_neural_tangents.training_words (an independent set, the rest NT test
      points), times horizon x (1/4, 1/2, 1).
    * NT end to end (erf, b = 0): NT kernel + NT predictor vs our quadrature kernel + our
      solver, tolerance = numerics.limit.quadrature_bound of the kernel tolerance + rounding.
    * SymPy (exact chains only): base chain, and word chain of length ``word_length`` when
      P > 0 (else transient words) and it has <= 16 words.
    * QuantEcon: base chain and, when P > 0, word chain of length config.limit.word_length
      (shortened to <= 729 words).
    """
    from derivations.inputs.config import states_array, transition_matrix, transition_matrix_exact
    from numerics.kernel import kernel_on_words, spec_from_config
    from numerics.limit import quadrature_bound
    from numerics.targets import ybar_from_config
    from numerics.words import word_transition_matrix

    results: list[CrossCheckResult] = []
    states = states_array(config.chain)
    w_std = float(config.init.w_std) or 1.0
    c_std = float(config.init.c_std)
    L = int(word_length)
    erf = compare_erf_kernel(states, w_std, c_std, L)
    results += erf_kernel_results(erf, f"config states, w_std = {w_std:g}, c_std = {c_std:g}")

    alpha = float(config.training.alpha)
    times = tuple(float(config.training.horizon) * f for f in _TIMES_FRACTIONS)
    ybar = ybar_from_config(config, L)
    n_words = ybar.shape[0]
    K = kernel_on_words(spec_from_config(config), L).K
    train = training_words(K)
    ours = ours_uniform_limit(K, ybar, alpha, train, times)
    theirs = nt_gradient_descent(K, ybar, alpha, train, times)
    tol = 2.0 * ode_rounding(K, ybar, alpha, train, times)
    results.append(gradient_descent_result(
        "limit ODE, uniform weights on training words (config kernel): numerics.limit vs "
        "NT gradient_descent_mse", ours, theirs, tol,
        "rounding of the two spectral solutions (numerics.limit estimate, twice)", len(train)))

    train = training_words(erf.nt)
    ours_e = ours_uniform_limit(erf.ours, ybar, alpha, train, times)
    theirs_e = nt_gradient_descent(erf.nt, ybar, alpha, train, times)
    pi = training_weights(n_words, train)
    bound = quadrature_bound(erf.quadrature_tolerance, erf.ours, pi, np.where(pi > 0, ybar, 0.0),
                             alpha, max(times))[0]
    tol_e = bound + ode_rounding(erf.ours, ybar, alpha, train, times) + ode_rounding(
        erf.nt, ybar, alpha, train, times)
    results.append(gradient_descent_result(
        "limit ODE end to end (erf, b = 0): our kernel + solver vs NT kernel + "
        "gradient_descent_mse", ours_e, theirs_e, tol_e,
        "numerics.limit.quadrature_bound of the kernel tolerance + rounding of both solutions",
        len(train)))

    P = transition_matrix(config.chain)
    m = P.shape[0]
    positive = bool(np.all(P > 0))  # else the word chain has transient words (not ergodic)
    if config.chain.exact:
        from derivations.word_chain import word_transition_matrix as exact_word_matrix

        P_exact = transition_matrix_exact(config.chain)
        results += compare_sympy_chain(P_exact, label=" (config chain)")
        if positive and m**L <= _SYMPY_MAX_STATES:
            results += compare_sympy_chain(exact_word_matrix(P_exact, L),
                                           label=f" (word chain, L = {L})")
    results.append(compare_quantecon(P, label=" (config chain)"))
    if not positive:
        return results
    L_q = max(1, int(config.limit.word_length))
    while m**L_q > 729 and L_q > 1:
        L_q -= 1
    results.append(compare_quantecon(word_transition_matrix(P, L_q),
                                     label=f" (word chain, L = {L_q})"))
    return results
