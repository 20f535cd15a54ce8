"""Limit equations, limit ODE, sup |sigma^(n)| and derivative/memory bounds (theory.md §3, §6)."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from scipy.special import erf

from derivations.activations import ACTIVATION_NAMES, activation_constants, sup_abs_derivative
from derivations.limit import (
    A_FN,
    ALPHA,
    B_MAX,
    LIP,
    PATH,
    RHO,
    S_FN,
    S_MAX,
    TAIL,
    X_MAX,
    derivative_bounds,
    fixed_point_equations,
    kernel_equation,
    limit_ode,
    limit_ode_derivation,
    memory_error_bounds,
    numeric_derivative_bounds,
    numeric_memory_error_bounds,
)
from derivations.model import substitute_activation
from derivations.scaling import BETA, ETA, N, Y

_NUMERIC = {
    "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2, lambda z: -2 * np.tanh(z) / np.cosh(z) ** 2),
    "sigmoid": (
        lambda z: 1 / (1 + np.exp(-z)),
        lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2,
        lambda z: np.exp(-z) * (np.exp(-z) - 1) / (1 + np.exp(-z)) ** 3,
    ),
    "erf": (
        erf,
        lambda z: 2 / np.sqrt(np.pi) * np.exp(-(z**2)),
        lambda z: -4 * z / np.sqrt(np.pi) * np.exp(-(z**2)),
    ),
}


@pytest.mark.parametrize("name", sorted(_NUMERIC))
def test_sup_abs_derivative_against_grid_maximum(name: str) -> None:
    # grid spacing 1e-4 on [-30, 30]: the maximum of a smooth function with |f''| <= 10 is
    # found to within 10 * (1e-4)^2 / 8 < 1e-7; tolerance 1e-6.
    z = np.linspace(-30, 30, 600_001)
    for order in range(3):
        exact = float(sup_abs_derivative(name, order))
        grid = float(np.max(np.abs(_NUMERIC[name][order](z))))
        assert exact == pytest.approx(grid, abs=1e-6), (name, order)
    assert activation_constants(name).lipschitz == float(sup_abs_derivative(name, 1))


@pytest.mark.parametrize("name", [n for n in ACTIVATION_NAMES if n != "linear"])
def test_sup_abs_derivative_against_generated_code(name: str) -> None:
    # Every activation, the ones added later included: the derived sup against a grid of the
    # generated double-precision code (checked against the definition in test_codegen). The
    # interior maxima are found on the grid within 1e-6 (as above); a sup approached at
    # infinity (sigma itself, e.g. tanh -> 1, arctan -> pi/2) is bounded by and approached at
    # |z| = 1e8 within 1e-6 (arctan: pi/2 - arctan(1e8) = 1e-8).
    from numerics.activations import activation_functions

    act = activation_functions(name)
    z = np.concatenate([np.linspace(-30, 30, 600_001), [-1e8, 1e8]])
    for order, fn in enumerate((act.sigma, act.d1, act.d2)):
        exact = float(sup_abs_derivative(name, order))
        grid = float(np.max(np.abs(fn(z))))
        assert grid <= exact + 1e-12, (name, order)
        assert grid >= exact - 1e-6, (name, order)


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_parity_of_each_activation(name: str) -> None:
    """is_odd (SymPy) against the textbook parities (tanh, erf, arctan and the identity are odd;
    the logistic sigmoid satisfies sigma(-z) = 1 - sigma(z)) and against the generated code on
    a grid: an odd activation's sigma(-z) + sigma(z) is 0 to rounding, sigmoid's is 1."""
    from numerics.activations import activation_functions

    textbook_odd = {"arctan": True, "erf": True, "linear": True, "sigmoid": False,
                    "tanh": True}
    assert activation_constants(name).odd is textbook_odd[name]
    z = np.linspace(-12.0, 12.0, 2401)
    sigma = activation_functions(name).sigma
    gap = float(np.max(np.abs(sigma(-z) + sigma(z))))
    assert (gap <= 1e-15 * 12.0) if textbook_odd[name] else (gap == pytest.approx(1.0))


def test_linear_sup_values() -> None:
    assert sup_abs_derivative("linear", 0) == sp.oo
    assert sup_abs_derivative("linear", 1) == 1
    assert sup_abs_derivative("linear", 2) == 0


def test_fixed_point_equations_linear_constant_path() -> None:
    """Linear sigma on the constant path (xi, xi, ...): S(x) = S(x_{-1:}) = s solves
    s = w . xi + b s, i.e. s = w . xi / (1 - b) (the summed geometric series)."""
    eqs = fixed_point_equations(2)
    memory = substitute_activation(eqs["memory"].rhs, "linear")
    s = sp.Symbol("s")
    (solution,) = sp.solve(sp.Eq(s, memory.subs(S_FN(TAIL), s)), s)
    w1, w2, b = sp.symbols("w_1 w_2 b", real=True)
    x1, x2 = sp.symbols("x_0_1 x_0_2", real=True)
    assert sp.simplify(solution - (w1 * x1 + w2 * x2) / (1 - b)) == 0
    assert eqs["memory"].lhs == S_FN(PATH)
    assert set(eqs) == {"memory", "tangent_w_1", "tangent_w_2", "tangent_b"}


def test_kernel_equation_groups() -> None:
    full = kernel_equation(1).rhs.args[0]
    c_only = kernel_equation(1, ("c",)).rhs.args[0]
    assert not c_only.has(sp.Symbol("c", real=True))
    assert sp.expand(full - c_only) != 0
    assert kernel_equation(1).lhs.func == A_FN


def test_limit_ode_is_n_free_only_for_the_solved_rate() -> None:
    derivation = limit_ode_derivation()
    assert derivation.n_free
    ode = limit_ode()
    assert ode.rhs.has(ALPHA) and ode.rhs.has(A_FN)
    # negative control: another learning-rate exponent leaves N in the rate per unit time
    f, kbar = sp.symbols("f Kbar", real=True)
    increment = ETA * N ** (-2 * BETA) * (Y - f) * N * kbar
    wrong = sp.simplify((increment * N).subs(ETA, ALPHA * N ** (2 * BETA - 1)))
    assert wrong.has(N)


def test_derivative_bounds_symbolic_form() -> None:
    bounds = derivative_bounds()
    assert sp.simplify(bounds["dS_dw"] - LIP * X_MAX / (1 - RHO)) == 0
    assert sp.simplify(bounds["dS_db"] - LIP * S_MAX / (1 - RHO)) == 0
    k_step = bounds["dS_dw_step_k"].subs(sp.Symbol("k", integer=True), 3)
    assert sp.simplify(k_step - LIP * X_MAX * (1 + RHO + RHO**2 + RHO**3)) == 0
    assert bounds["S_linear"].has(B_MAX)


def _run_tangents(act: str, w: np.ndarray, b: np.ndarray, xs: np.ndarray):
    """Numeric recursion (independent of the generated code): returns max_k |G^w_k|, |G^b_k|."""
    sig, d1, _ = _NUMERIC[act]
    n = w.shape[0]
    s = np.zeros(n)
    gw = np.zeros_like(w)
    gb = np.zeros(n)
    max_gw = np.zeros(n)
    max_gb = np.zeros(n)
    for x in xs:
        z = w @ x + b * s
        ds = d1(z)
        gw = ds[:, None] * (x[None, :] + b[:, None] * gw)
        gb = ds * (s + b * gb)
        s = sig(z)
        max_gw = np.maximum(max_gw, np.linalg.norm(gw, axis=1))
        max_gb = np.maximum(max_gb, np.abs(gb))
    return max_gw, max_gb


@pytest.mark.parametrize("act", ["tanh", "erf", "sigmoid"])
def test_derivative_bounds_hold_numerically(act: str) -> None:
    rng = np.random.default_rng(20260)
    lip = float(sup_abs_derivative(act, 1))
    b_max = 0.8 / lip
    n, d, steps = 2000, 2, 80
    w = rng.normal(scale=0.3, size=(n, d))
    b = rng.uniform(-b_max, b_max, size=n)
    b[:200] = b_max  # units with the strongest memory
    w[:200] *= 0.01  # near z = 0, where sigma' = Lip for tanh / erf / sigmoid
    direction = np.array([0.6, 0.8])
    xs = np.concatenate([np.tile(direction, (steps // 2, 1)), rng.normal(size=(steps // 2, d))])
    xs /= np.maximum(1.0, np.linalg.norm(xs, axis=1))[:, None]  # |x_k| <= 1 = X
    bounds = numeric_derivative_bounds(act, b_max, 1.0)
    max_gw, max_gb = _run_tangents(act, w, b, xs)
    assert np.all(max_gw <= bounds["dS_dw"] * (1 + 1e-12))
    assert np.all(max_gb <= bounds["dS_db"] * (1 + 1e-12))
    if act in ("tanh", "erf"):
        # negative control: without the geometric factor 1/(1 - rho) the bound is violated
        assert np.max(max_gw) > bounds["lip"] * 1.0


def test_memory_error_bound_is_tight_for_linear() -> None:
    """Linear sigma, b = rho, constant input: S_k - S = -rho^{k+1} S exactly, so the derived
    bound M rho^{k+1} (M = |S|) is attained; the sharper M rho^{k+2} would be violated."""
    bound = memory_error_bounds()["memory"]
    k = sp.Symbol("k", integer=True)
    rho, wx = sp.Rational(3, 5), sp.Rational(2, 7)
    fixed = wx / (1 - rho)
    s = sp.Integer(0)
    for step in range(6):
        s = wx + rho * s
        error = abs(s - fixed)
        value = bound.subs({k: step, RHO: rho, S_MAX: abs(fixed)})
        assert error <= value
        assert error == value  # attained: the bound cannot be improved in general
        assert error > value * rho  # the negative control M rho^{k+2}
    tangent = memory_error_bounds()["tangent"]
    assert tangent.has(k)


@pytest.mark.parametrize("act", ["tanh", "erf", "sigmoid", "arctan"])
@pytest.mark.parametrize(("rho", "x_max"), [(0.3, 1.0), (0.7, 2.5), (0.95, 0.4)])
def test_tangent_error_bounds_are_their_one_step_inequalities_iterated(act, rho, x_max) -> None:
    """The closed forms rho^{k+1} B + (k + 1) C rho^k are the one-step inequalities, iterated
    from e'_{-1} = B with the memory error e_{k-1} <= M rho^k. For G^w_k - G^w = sigma'(z_k)
    (x + b G^w_{k-1}) - sigma'(z) (x + b G^w_tail):
        e'_k <= L2 bbar e_{k-1} (X + bbar B_w) + L bbar e'_{k-1};
    G^b carries S_{k-1} - S_tail as well:
        e'_k <= L2 bbar e_{k-1} (M + bbar B_b) + L e_{k-1} + L bbar e'_{k-1},
    with B_w = L X / (1 - rho), B_b = L M / (1 - rho). Holding the value, not only the
    inequality, is what finds a looser constant (a valid bound, with less power)."""
    constants = activation_constants(act)
    lip, lip2, m = constants.lipschitz, constants.sup_second, constants.sup_sigma
    b_max = rho / lip
    b_w, b_b = lip * x_max / (1 - rho), lip * m / (1 - rho)
    e_w, e_b = b_w, b_b  # e'_{-1}: the recursion starts from G_{-1} = 0
    for k in range(40):
        memory_prev = m * rho**k  # e_{k-1} <= M rho^k
        e_w = lip2 * b_max * memory_prev * (x_max + b_max * b_w) + lip * b_max * e_w
        e_b = (lip2 * b_max * memory_prev * (m + b_max * b_b) + lip * memory_prev
               + lip * b_max * e_b)
        bounds = numeric_memory_error_bounds(act, b_max, x_max, k)
        assert bounds["memory"] == pytest.approx(m * rho ** (k + 1), rel=1e-12)
        assert bounds["tangent_w"] == pytest.approx(e_w, rel=1e-12), k  # floats: rel 1e-12
        assert bounds["tangent_b"] == pytest.approx(e_b, rel=1e-12), k


@pytest.mark.parametrize("act", ["tanh", "erf"])
def test_memory_and_tangent_error_bounds_hold_numerically(act: str) -> None:
    """Run the recursion from S_{-1} = G_{-1} = 0 at step 0 and from a 200-step burn-in (whose
    states equal the fixed point up to rho^200 < 1e-40); the differences obey the bounds."""
    sig, d1, _ = _NUMERIC[act]
    rng = np.random.default_rng(99)
    lip = float(sup_abs_derivative(act, 1))
    b_max, n, burn, steps = 0.7 / lip, 500, 200, 25
    w = rng.normal(size=(n, 2))
    b = rng.uniform(-b_max, b_max, size=n)
    xs = rng.normal(size=(burn + steps, 2))
    xs /= np.maximum(1.0, np.linalg.norm(xs, axis=1))[:, None]

    def run(inputs):
        s, gw, gb = np.zeros(n), np.zeros((n, 2)), np.zeros(n)
        out = []
        for x in inputs:
            z = w @ x + b * s
            ds = d1(z)
            gw = ds[:, None] * (x[None, :] + b[:, None] * gw)
            gb = ds * (s + b * gb)
            s = sig(z)
            out.append((s, gw, gb))
        return out

    short, long = run(xs[burn:]), run(xs)[burn:]
    for k in range(steps):
        bounds = numeric_memory_error_bounds(act, b_max, 1.0, k)
        assert np.max(np.abs(short[k][0] - long[k][0])) <= bounds["memory"]
        assert np.max(np.linalg.norm(short[k][1] - long[k][1], axis=1)) <= bounds["tangent_w"]
        assert np.max(np.abs(short[k][2] - long[k][2])) <= bounds["tangent_b"]
    # the bounds decay: at k = 24 the memory bound is below 0.7^25 ~ 1.3e-4
    assert numeric_memory_error_bounds(act, b_max, 1.0, 24)["memory"] < 2e-4
