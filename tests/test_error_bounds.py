"""Error bounds are tight as well as valid: each is compared with a case built to attain it.

A bound that only covers observed errors far below it cannot tell a correct bound from a
weakened one; here each bound (or estimate) meets a case where its value is known exactly.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from scipy.integrate import quad

from numerics.kernel_errors import STEP_RATIO_MAX, step_halving_error
from numerics.limit import g_at, limit_solver, quadrature_bound

# ------------------------------------------------------- numerics.limit.quadrature_bound


@given(alpha=st.floats(0.05, 20.0), t=st.floats(0.01, 50.0), kmax=st.floats(0.0, 30.0),
       eps=st.floats(1e-8, 1e-2), seed=st.integers(0, 2**16))
def test_sup_bound_is_the_integral_of_its_duhamel_integrand(alpha, t, kmax, eps, seed):
    """The closed form equals int_0^t alpha eps Y (1 + sqrt(max K_uu alpha (t - s))) ds, the
    Duhamel integrand of its docstring (tau = alpha (t - s)), integrated numerically."""
    rng = np.random.default_rng(seed)
    n = 5
    pi = rng.dirichlet(np.ones(n))
    ybar = rng.normal(size=n)
    K = np.diag(np.full(n, kmax))
    Y = float(np.sqrt(np.sum(pi * ybar**2)))
    integral, error = quad(lambda s: alpha * eps * Y * (1.0 + np.sqrt(kmax * alpha * (t - s))),
                           0.0, t, epsabs=0.0, epsrel=1e-12, limit=200)
    sup_bound, l2_bound = quadrature_bound(eps, K, pi, ybar, alpha, t)
    assert abs(sup_bound - integral) <= 1e-9 * integral + error
    assert abs(l2_bound - alpha * eps * Y * t) <= 1e-12 * l2_bound


@given(alpha=st.floats(0.1, 10.0), y0=st.floats(-3.0, 3.0).filter(lambda y: abs(y) > 1e-3),
       seed=st.integers(0, 2**16))
def test_linear_term_is_attained(alpha, y0, seed):
    """K = 0 against K' = eps J (all entries eps, so |K' - K| = eps entrywise, PSD), constant
    targets y0: g = 0 and g'_t = y0 (1 - exp(-alpha eps t)) on every word, so the error is
    alpha eps |y0| t (1 - O(alpha eps t)): the bound (max K_uu = 0: the linear term only) must
    be within 0.1% of it at alpha eps t = 1e-3, and never below it."""
    rng = np.random.default_rng(seed)
    n = 6
    pi = rng.dirichlet(np.ones(n))
    ybar = np.full(n, y0)
    eps = 1e-3
    for t in (0.5 / alpha, 1.0 / alpha):
        x = alpha * eps * t
        perturbed = g_at(limit_solver(np.full((n, n), eps), pi, ybar, alpha), (t,))[0]
        exact = y0 * -np.expm1(-x)
        assert np.allclose(perturbed, exact, rtol=1e-9, atol=0.0)
        error = float(np.max(np.abs(perturbed)))  # g_t = 0 for K = 0
        sup_bound, _ = quadrature_bound(eps, np.zeros((n, n)), pi, ybar, alpha, t)
        assert error <= sup_bound
        assert sup_bound <= error * (1.0 + x)  # tight: (1 - e^-x) / x >= 1 / (1 + x)


@given(alpha=st.floats(0.2, 10.0), seed=st.integers(0, 2**16))
def test_bound_covers_random_psd_perturbations(alpha, seed):
    """Coverage where the RKHS (t^{3/2}) term matters: K PSD with large diagonal, K' = K + E
    with |E| <= eps entrywise and K' PSD; sup over words of |g'_t - g_t| stays within the
    bound at every t up to 20 / alpha."""
    rng = np.random.default_rng(seed)
    n = 8
    A = rng.normal(size=(n, n))
    eps = 1e-3 * float(np.max(np.abs(A @ A.T)))
    K = A @ A.T + n * eps * np.eye(n)  # smallest eigenvalue >= n eps >= |E|_2: K + E is PSD
    pi = rng.dirichlet(np.full(n, 0.5))
    ybar = rng.normal(size=n)
    E = rng.uniform(-eps, eps, size=(n, n))
    K2 = K + 0.5 * (E + E.T)
    times = tuple(np.linspace(0.0, 20.0 / alpha, 41))
    g = g_at(limit_solver(K, pi, ybar, alpha), times)
    g2 = g_at(limit_solver(K2, pi, ybar, alpha), times)
    for i, t in enumerate(times):
        sup_bound, l2_bound = quadrature_bound(eps, K, pi, ybar, alpha, t)
        diff = g2[i] - g[i]
        assert float(np.max(np.abs(diff))) <= sup_bound * (1 + 1e-9) + 1e-12
        assert float(np.sqrt(np.sum(pi * diff**2))) <= l2_bound * (1 + 1e-9) + 1e-12


# ------------------------------------------------------- numerics.kernel_errors.step_halving_error


@given(p=st.floats(2.05, 8.0), C=st.floats(-5.0, 5.0).filter(lambda c: abs(c) > 1e-3),
       h=st.floats(0.05, 0.5), truth=st.floats(-2.0, 2.0))
def test_step_halving_is_exact_for_algebraic_convergence(p, C, h, truth):
    """Q(h) = I + C h^p (p > 2, so q = 2^-p < STEP_RATIO_MAX; p = 2 sits on the threshold,
    where rounding decides): one halving's factor is the same at every step, the tail
    D1 q / (1 - q) equals the true error |C| h^p exactly. A weaker estimate (D1 q^2, or D1 q)
    falls short by a factor of at least 4/3. Tolerance: the values carry rounding errors of
    ~2 ulp(|I|) <= 1e-15, which the estimate passes on amplified by 1 / (1 - q) <= 4/3."""
    values = [np.array([truth + C * (k * h) ** p]) for k in (1, 2, 4)]
    estimate = step_halving_error(*values)
    true_error = abs(C) * h**p
    assert 2.0**-p <= STEP_RATIO_MAX
    assert abs(estimate - true_error) <= 1e-9 * true_error + 1e-14


@given(p=st.floats(1.0, 1.95), C=st.floats(0.01, 5.0), h=st.floats(0.05, 0.5))
def test_step_halving_falls_back_to_the_coarse_difference(p, C, h):
    """Slow convergence (q = 2^-p > STEP_RATIO_MAX): the estimate is D1 = |Q(2h) - Q(h)| =
    C h^p (2^p - 1) >= the true error C h^p, with equality at p = 1."""
    values = [np.array([C * (k * h) ** p]) for k in (1, 2, 4)]
    estimate = step_halving_error(*values)
    assert abs(estimate - C * h**p * (2.0**p - 1.0)) <= 1e-9 * estimate
    assert estimate >= C * h**p * (1 - 1e-12)


@given(a=st.floats(2.0, 12.0), C=st.floats(0.01, 5.0))
def test_step_halving_covers_exponential_convergence(a, C):
    """The trapezoid rule on an analytic integrand: error C exp(-a / h). Where the measured
    factor shows convergence the estimate covers the true error."""
    h = 0.25
    values = [np.array([C * np.exp(-a / (k * h))]) for k in (1, 2, 4)]
    assert step_halving_error(*values) >= C * np.exp(-a / h) * (1 - 1e-12)
