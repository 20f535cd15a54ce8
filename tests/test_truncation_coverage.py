"""Issue 17's "on any other configuration": solve_limit's truncation estimates (numerics.
truncation, two valid levels, numerics.limit.truncation_mode) cover the errors they estimate on
random two-state chains, measured against words six symbols longer.

The estimate extrapolates two measured levels with the profile (j - 1) rho^j, rho = b_max
Lip(sigma) the worst-case memory contraction (theory.md §4, §6); it is not a proven bound, and
this property test is what stands behind it beyond the shipped configurations (at 200 examples
it found the plain geometric profile falling short). The measured error is g^(L+6) against g^L
(a stand-in for whole paths: the part beyond L + 6 is about rho^6 of the error), "path" in L2
over the stationary law of the long words, "words" at the L-words read from S = 0 (g^(L+6)
extended to them by the limit ODE, numerics.limit_solver.g_extended_at).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_limit import FAST  # same tests/ directory (pytest prepend)
from test_truncation import measured_truncation_errors

from derivations.inputs.config import parse_config
from numerics.limit import solve_limit

LONGER = 6  # the long words: L + 6 symbols
# Lip(sigma) of the activations drawn (b_max = rho / Lip)
LIPSCHITZ = {"tanh": 1.0, "erf": 2.0 / np.sqrt(np.pi)}
TARGETS = {"x0": 0, "tanh(x0 + 0.5*x1)": 1, "x0*x1": 1, "sin(2*x0) - x1": 1}


@st.composite
def two_state_problems(draw: st.DrawFn) -> tuple[str, int, str]:
    """(config text, word length L, truncation mode): a two-state chain on distinct inputs in
    [-1.5, 1.5], transition probabilities k/10, a target of lag 0 or 1, tanh or erf with
    rho in [0.3, 0.75], L from q + 2 to 5."""
    states = draw(st.lists(st.sampled_from([-1.5, -1.0, -0.5, 0.25, 0.5, 1.0, 1.5]),
                           min_size=2, max_size=2, unique=True))
    stay = draw(st.tuples(st.integers(1, 9), st.integers(1, 9)))
    expression = draw(st.sampled_from(sorted(TARGETS)))
    activation = draw(st.sampled_from(sorted(LIPSCHITZ)))
    rho = draw(st.sampled_from([0.3, 0.45, 0.6, 0.75]))
    w_std = draw(st.sampled_from([0.6, 1.0, 1.4]))
    alpha = draw(st.sampled_from([0.5, 1.0, 2.0]))
    L = draw(st.integers(TARGETS[expression] + 2, 5))
    mode = draw(st.sampled_from(["previous", "next"]))
    b_max = round(rho / LIPSCHITZ[activation], 4)
    text = f"""
[chain]
states = [[{states[0]}], [{states[1]}]]
transition = [["{stay[0]}/10", "{10 - stay[0]}/10"], ["{10 - stay[1]}/10", "{stay[1]}/10"]]
[target]
expression = "{expression}"
[network]
activation = "{activation}"
trainable = ["c", "w", "b"]
[init]
c_std = 1.0
w_std = {w_std}
b_max = {b_max}
[training]
alpha = {alpha}
[limit]
word_length = {L}
"""
    return text, L, mode


@pytest.mark.slow
@settings(max_examples=15)
@given(two_state_problems())
def test_truncation_estimates_cover_on_random_chains(problem: tuple[str, int, str]) -> None:
    """Each sense's truncation estimate is at least the error measured against words six
    symbols longer, up to the quadrature bound of the two solutions."""
    text, L, mode = problem
    config = parse_config(text)
    times = (0.5, 1.0, 2.0)
    result = solve_limit(config, L, times, settings=FAST, truncation=mode)
    est = result.error_estimates
    measured = measured_truncation_errors(config, result, L + LONGER, times)
    # g^L and g^(L+6) each carry at most the quadrature bound of solve_limit (numerics.limit.
    # quadrature_bound; the longer words' kernel has the same rule), plus rounding 1e-12
    slack = 2 * est["quadrature"] + 1e-12
    for sense, error in measured.items():
        assert error <= est[f"truncation_{sense}"] + slack, (sense, error, est)
