"""Tiers of evidence (theory.md §7): each tier checked against the one before it.

* ``tiers_poisson``: exact (SymPy rationals, derivations.poisson_exact.solve_poisson) vs double
  (numerics.poisson_float.poisson_solve) for the Poisson solution u of the base chain with F(xi_s) =
  the first coordinate of xi_s (taken as the exact decimal). Tolerance: the forward-error bound
  ||Z||_inf * residual_bound (Z the exact fundamental matrix, residual_bound the backward-error
  bound of the LU solve, numerics.poisson_float) + 4 eps max|u| (the final centring).
* ``tiers_kernel``: arbitrary precision (numerics.reference.kernel_entry_mp, mpmath, 30 digits)
  vs double quadrature (numerics.kernel.kernel_on_words) for one kernel entry on words of
  length 2. For d = 1 two distinct words, (second, first) and (first, second) of the two
  states of largest |x| (no 0 among the inputs, where a term of A can vanish); for d > 1
  (where the mpmath triple integral takes minutes) the word (xi_s, xi_s) with itself: all
  inputs on one line through 0, so A reduces exactly to the d = 1 kernel of the states' norms
  (w . xi_s ~ N(0, w_std^2 |xi_s|^2) and every tangent is parallel to xi_s). Tolerance: the
  double's own error estimate (KernelResult.error) + the mpmath error estimate + 1e-14 |A|.
* ``tiers_limit``: mpmath (numerics.reference.limit_mp, 30 digits, expm) vs double spectral
  solution (numerics.limit) of g_t on the words of length 2 with the same K, pi_L, ybar (with
  ybar + 1_{u*}, u* the most probable word, where the sign symmetry makes g = 0 and the
  rival's g = 0 too, checks._common.limit_vanishes, or where ybar itself is 0 on these words,
  e.g. a target of lag 2 on an i.i.d. chain or the target 0). Tolerance: numerics.limit's rounding
  estimate n eps (1 + alpha t |M|) max|ybar| (a heuristic, stated there) times 10.
* ``tiers_generated``: generated code (numerics.generated, printed by ``rnnkl derive``) for
  sigma, sigma', sigma'' vs the SymPy derivatives of the definition at 30 digits, relative
  error <= 1e-13 (the generated-code contract).
Negative controls (same tests): single-precision evaluation of the generated code; the double
Poisson solution with another law instead of pi (uniform weights unless pi is uniform up to
rounding, as for a doubly stochastic chain, or the uniform mean of F is pi's, as for the odd F
of a sign-symmetric chain, where u would change by nothing: checks._common.wrong_law); the
double kernel without its b term (w term when b is frozen); the double limit without the pi_L
weights (g = (I - exp(-alpha t K)) y).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from derivations.inputs.config import states_array, transition_matrix
from proofs_check.cache import Job
from proofs_check.checks import CheckContext
from proofs_check.checks._common import DETERMINISTIC_LAW_DISTANCE, limit_vanishes, wrong_law
from proofs_check.result import CheckResult, FigureData, Rival
from proofs_check.rivals import DETERMINISTIC_NEEDS

NAME = "tiers"
TITLE = "tiers of evidence"
COST = 2.0
EQUATION = "poisson_solution"
WORD_LENGTH = 2
DPS = 30
EPS = float(np.finfo(float).eps)


def _result(name, claim, equation, quantity, measured, tolerance, source, control_name,
            control_measured, details, figures=()) -> CheckResult:
    accepted = control_measured <= tolerance
    return CheckResult(
        name=name, claim=claim, equation=equation, quantity=quantity, prediction=0.0,
        measured=measured, ci=None, tolerance=tolerance, tolerance_source=source,
        accepted=measured <= tolerance,
        rivals=(Rival(
            control_name, 0.0, control_measured, not accepted,
            f"deviation {control_measured:.3g} {'<=' if accepted else '>'} tolerance "
            f"{tolerance:.3g}", "" if not accepted else DETERMINISTIC_NEEDS),),
        figures=figures, details=details)


def _difference_figure(title: str, claim: np.ndarray, rival: np.ndarray, tolerance: float,
                       rival_name: str) -> FigureData:
    """|double - reference| per entry (sorted), the rival's, and the tolerance line. On the
    log axis an exact 0 is drawn at a floor 100 times below the smallest nonzero value shown
    (the tolerance included), and the legend says how many: the smallest double, the floor
    used before, stretched the axis over 300 decades and hid the comparison."""
    x = np.arange(claim.size, dtype=float)
    shown = np.concatenate([claim[claim > 0], rival[rival > 0], [tolerance]])
    floor = float(np.min(shown[shown > 0], initial=1.0)) / 100
    zeros = int(np.count_nonzero(claim == 0))
    label = "double code" + (f" ({zeros} exactly 0, drawn at {floor:.0e})" if zeros else "")
    return FigureData(
        "curves", title,
        {f"p0|{label}|x": x, f"p0|{label}|y": np.maximum(np.sort(claim), floor),
         f"p0|rival: {rival_name}|x": x,
         f"p0|rival: {rival_name}|y": np.maximum(np.sort(rival), floor),
         "p0|tolerance|x": x[[0, -1]], "p0|tolerance|y": np.full(2, tolerance)},
        {"panels": [{"title": "", "xlabel": "entry (sorted by deviation)",
                     "ylabel": "|value - 30-digit reference|", "logy": True}]})


def _exact_transition(config) -> list[list[Fraction]]:
    rows = []
    for row in config.chain.transition:
        exact = [p if isinstance(p, Fraction) else Fraction(p) for p in row]
        total = sum(exact)
        rows.append([p / total for p in exact])
    return rows


def _poisson(context: CheckContext) -> CheckResult:
    import sympy as sp

    from derivations.poisson_exact import fundamental_matrix, solve_poisson
    from numerics.poisson_float import poisson_solve, residual_bound

    config = context.config
    P_exact = _exact_transition(config)
    F_exact = [Fraction(str(float(s[0]))) for s in config.chain.states]
    exact = solve_poisson(P_exact, F_exact)
    u_exact = np.array([float(v) for v in exact.u])
    Z = fundamental_matrix(P_exact)
    z_norm = float(max(sum(abs(v) for v in Z.row(i)) for i in range(Z.rows)))
    P = transition_matrix(config)
    F = np.array([float(f) for f in F_exact])
    double = poisson_solve(P, F)
    # With nu for pi, (I - P + 1 nu^T) u = F - nu(F) 1 and u -= nu(u) give u* - nu(u*) 1 (the
    # centring of F cancels): the rival differs from u* by |nu(u*)| exactly, so the law is chosen
    # by its gap in the exact u*, not in F (a law with nu(F) != pi(F) but nu(u*) = 0, uniform
    # weights on a doubly stochastic three-state cycle, left the rival within rounding of u*)
    law_name, law = wrong_law(np.array([float(v) for v in exact.pi]), DETERMINISTIC_LAW_DISTANCE,
                              values=u_exact, values_name="u")
    wrong = poisson_solve(P, F, pi=law)
    # u_exact rounded to double adds eps/2 relative per entry.
    tolerance = z_norm * residual_bound(double) + 4 * EPS * float(np.max(np.abs(u_exact))) \
        + EPS * float(np.max(np.abs(u_exact)))
    return _result(
        "tiers_poisson",
        "The double-precision Poisson solution agrees with the exact rational one within its "
        "forward-error bound.",
        "poisson_solution", "max |u_double - u_exact|",
        float(np.max(np.abs(double.u - u_exact))), tolerance,
        "||Z||_inf x LU residual bound (numerics.poisson_float.residual_bound) + centring rounding",
        f"double Poisson solution with {law_name} instead of pi",
        float(np.max(np.abs(wrong.u - u_exact))),
        {"u_exact": [str(sp.nsimplify(v)) for v in exact.u],
         "pi_exact": [str(v) for v in exact.pi],  # rationals, as u_exact
         "Z_norm_inf": z_norm})


def _kernel_pair(config) -> tuple[list, list, np.ndarray, np.ndarray, dict]:
    """Words (as input lists) for the mp reference and the double computation (see doc)."""
    states = states_array(config)
    m, d = states.shape
    if d == 1:
        # the two states of largest |x| (ties: the lower index), u = (second, first) and
        # v = (first, second) (oldest first): a state 0 can make the dropped term vanish (b = 0
        # and an odd sigma: at a newest 0, S = sigma(0) = 0 and G^w = sigma'(0) 0; the states
        # (-1, 0, 2) did so to the w term) and the rival would equal the claim; (first, first)
        # twice if only the first is not 0
        first, second = (int(i) for i in np.argsort(-np.abs(states[:, 0]), kind="stable")[:2])
        u_idx, v_idx = (([second, first], [first, second]) if states[second, 0] != 0.0
                        else ([first, first], [first, first]))
        u = [list(states[i]) for i in u_idx]
        v = [list(states[i]) for i in v_idx]
        return u, v, states, np.array(u_idx), {"v_idx": v_idx}
    s = int(np.argmax(np.linalg.norm(states, axis=1)))
    norm = float(np.linalg.norm(states[s]))
    u = [[norm], [norm]]
    return u, u, states, np.array([s, s]), {"v_idx": [s, s]}


def _kernel_mp_job(config) -> Job:
    """The 30-digit mpmath kernel entry of ``tiers_kernel`` (module docstring), as a job."""
    from numerics.kernel import spec_from_config
    from numerics.reference import kernel_entry_mp

    spec = spec_from_config(config)
    u, v, _, _, _ = _kernel_pair(config)

    def compute() -> dict[str, np.ndarray]:
        entry = kernel_entry_mp(u, v, config.network.activation, float(config.init.c_std),
                                float(config.init.w_std), float(config.init.b_max),
                                spec.groups, dps=DPS)
        out = {"total": np.array(float(entry.total)),
               "error": np.array(float(sum(abs(e) for e in entry.errors.values())))}
        for g, value in entry.by_group.items():
            out[f"K_{g}"] = np.array(float(value))
        return out

    params = {"u": u, "v": v, "activation": config.network.activation,
              "init": config.init, "groups": spec.groups, "dps": DPS}
    return Job("kernel_mp", params, compute)


def jobs(context: CheckContext) -> list[Job]:
    """The jobs this check asks for that need no other result (submitted early)."""
    return [_kernel_mp_job(context.config)]


def _kernel(context: CheckContext) -> CheckResult:
    from numerics.kernel import kernel_on_words, spec_from_config
    from numerics.words import word_index
    from proofs_check.checks._common import control_group

    config = context.config
    spec = spec_from_config(config)
    u, v, states, u_idx, extra = _kernel_pair(config)
    m = states.shape[0]
    iu = int(word_index(u_idx, m))
    iv = int(word_index(np.array(extra["v_idx"]), m))
    mp = context.cache.get(_kernel_mp_job(config))
    double = kernel_on_words(spec, WORD_LENGTH)
    value = float(double.K[iu, iv])
    dropped = control_group(config)
    control_value = value - float(double.by_group[dropped][iu, iv])
    reference = float(mp["total"])
    tolerance = double.error + float(mp["error"]) + 1e-14 * abs(reference)
    return _result(
        "tiers_kernel",
        "The double-precision kernel quadrature agrees with the 30-digit mpmath kernel within "
        "the quadrature's own error estimate.",
        "kernel", "|A_double(u, v) - A_mpmath(u, v)|", abs(value - reference), tolerance,
        "double quadrature error estimate (step halving, Legendre n vs 2n, tail) + mpmath "
        "error estimate + 1e-14 relative",
        f"double kernel without its {dropped} term", abs(control_value - reference),
        {"A_mpmath": reference, "A_double": value, "double_error_estimate": double.error,
         "mpmath_error_estimate": float(mp["error"]), "words": [u, v]})


def _limit(context: CheckContext) -> CheckResult:
    import mpmath

    from numerics.limit import g_at, limit_solver, word_problem
    from numerics.reference import limit_mp

    config = context.config
    problem = word_problem(config, WORD_LENGTH)
    from numerics.kernel import kernel_on_words

    K = kernel_on_words(problem.spec, WORD_LENGTH).K
    horizon = float(config.training.horizon)
    times = (horizon / 2, horizon)
    target, details = problem.ybar, {}
    # g = 0 and so is its rival's, by the sign symmetry or because ybar itself is 0 on these
    # short words (a lag they cannot hold averages out): compare the solvers on y + 1_{u*}
    zero_reason = (ZERO_LIMIT_TIER_NOTE if limit_vanishes(config) else
                   ZERO_TARGET_TIER_NOTE if not np.any(problem.ybar) else "")
    if zero_reason:
        target = problem.ybar + (np.arange(problem.ybar.size) == np.argmax(problem.pi_L))
        details["note"] = zero_reason
    solver = limit_solver(K, problem.pi_L, target, problem.alpha)
    g = g_at(solver, times)
    reference = np.array([[float(x) for x in row]
                          for row in limit_mp(K.tolist(), problem.pi_L.tolist(),
                                              target.tolist(), problem.alpha, times,
                                              dps=DPS)])
    uniform = np.ones_like(problem.pi_L)
    wrong = g_at(limit_solver(K, uniform, target, problem.alpha), times)
    n = K.shape[0]
    rounding = n * EPS * (1 + problem.alpha * horizon * solver.norm_M) * float(
        np.max(np.abs(target)))
    tolerance = 10 * rounding
    del mpmath
    return _result(
        "tiers_limit",
        "The double-precision spectral solution of the limit ODE agrees with the 30-digit "
        "mpmath matrix exponential.",
        "limit_ode", "max |g_double - g_mpmath| over words and t in {T/2, T}",
        float(np.max(np.abs(g - reference))), tolerance,
        "10 x the rounding estimate n eps (1 + alpha t |M|) max|y| of numerics.limit, y the "
        "target compared (ybar, or ybar + 1_{u*})",
        "limit ODE without the pi_L weights (K instead of K D)",
        float(np.max(np.abs(wrong - reference))),
        {"words": n, "times": list(times), **details},
        (_difference_figure("g_t: double vs 30-digit mpmath (words of length 2)",
                            np.abs(g - reference).ravel(), np.abs(wrong - reference).ravel(),
                            tolerance, "ODE without the pi_L weights"),))


# what tiers_limit compares where g_t = 0 and the rival's g too (the two notes below)
SHIFTED_TARGET = ("the solvers are compared on the same ODE with the target ybar + 1_{u*}, "
                  "u* the most probable word")
ZERO_LIMIT_TIER_NOTE = (
    "g_t is identically 0 on this configuration (sign symmetry: derivations.sign_symmetry), and "
    f"so is the rival's, so {SHIFTED_TARGET} (not even), where both move")


ZERO_TARGET_TIER_NOTE = (
    f"ybar is identically 0 on the words of length {WORD_LENGTH} (the target's inputs that "
    f"these words do not hold average out), so g_t = 0 and so is the rival's; {SHIFTED_TARGET}, "
    "where both move")


GENERATED_REL_TOL = 1e-13  # the generated-code contract (tests/test_codegen.py uses 1e-13)


def _max_relative_error(value: np.ndarray, ref: np.ndarray) -> float:
    """max |value - ref| / |ref|, with the absolute |value| where ref = 0."""
    nonzero = np.abs(ref) > 0
    scale = np.maximum(np.abs(ref), 1e-300)
    return float(np.max(np.where(nonzero, np.abs(value - ref) / scale, np.abs(value))))


def _generated(context: CheckContext) -> CheckResult:
    """Generated double code (numerics.generated: sigma, sigma', sigma'') vs the SymPy
    derivation (derivations.activations, sympy.diff of the definition) evaluated at 30 digits."""
    import mpmath
    import sympy as sp

    from derivations.activations import Z, activation_derivative
    from numerics import generated

    name = context.config.network.activation
    z = np.linspace(-8.0, 8.0, 321)
    worst, worst_single = 0.0, 0.0
    for order, prefix in ((0, "sigma"), (1, "sigma_d1"), (2, "sigma_d2")):
        fn = getattr(generated, f"{prefix}_{name}")
        expr = activation_derivative(name, order)
        exact = sp.lambdify(Z, expr, "mpmath")
        with mpmath.workdps(DPS):
            ref = np.array([float(exact(mpmath.mpf(float(x)))) for x in z])
        value = np.asarray(fn(z), dtype=float) * np.ones_like(z)
        single = np.asarray(fn(z.astype(np.float32)), dtype=np.float32).astype(float) \
            * np.ones_like(z)
        worst = max(worst, _max_relative_error(value, ref))
        worst_single = max(worst_single, _max_relative_error(single, ref))
    return _result(
        "tiers_generated",
        "The generated double-precision activation code agrees with the SymPy derivation "
        "evaluated at 30 digits.",
        "memory_fixed_point", "max relative error of sigma, sigma', sigma'' on [-8, 8]",
        worst, GENERATED_REL_TOL,
        "1e-13 relative: the generated-code contract of numerics.generated (rnnkl derive)",
        "single-precision evaluation of the generated code", worst_single,
        {"activation": name, "grid": [-8.0, 8.0, 321]})


def run(context: CheckContext) -> tuple[CheckResult, ...]:
    results = [_generated(context), _poisson(context)]
    context.progress(0.1)
    results.append(_kernel(context))
    context.progress(0.8)
    results.append(_limit(context))
    return tuple(results)
