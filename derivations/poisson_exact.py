"""Exact Poisson equation of a finite ergodic chain (theory.md §5), in SymPy.

For a transition matrix P (m x m) with stationary law pi (row vector, pi P = pi, pi 1 = 1) and a
function F on the states (column vector, shape (m, 1)):

* centred function      F~ = F - 1 (pi F)
* fundamental matrix    Z = (I - P + 1 pi)^{-1}     (``1 pi`` = the m x m matrix whose rows are pi)
* Poisson solution      u = Z F~, which solves (I - P) u = F~ with pi u = 0
* martingale increment  D(i, j) = u(j) - (P u)(i)   (the step Z_{k-1} = i -> Z_k = j)
* asymptotic variance   sigma^2(F) = 2 pi(F~ u) - pi(F~^2)

Everything is computed by the *generic* exact linear algebra of
:mod:`derivations.exact_chain_algebra`: exact Gauss-Jordan over QQ
(sparse DomainMatrix) for rational chains, Matrix.LUsolve for symbolic ones. A rational P and F
give exact Rationals; exact non-rational values of F (tanh(1), ...) give exact rational
combinations of them; a symbolic P gives rational functions, simplified entry by entry. u is
solved from the chain killed at a recurrent state (:func:`poisson_u`), which equals Z F~ without
forming the dense Z (tested). Nothing is typed in as a final answer; the two-state closed forms
of :func:`two_state_closed_forms` come out of the same code.

Shapes: P (m, m); pi (1, m); F, F~, u (m, 1); Z (m, m); increments (m, m).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sympy as sp

from derivations.exact_chain_algebra import (
    ChainError,
    as_exact_matrix,
    check_square,
    check_stochastic,
    simplify_entry,
    simplify_matrix,
    solve_exact,
)

# ----------------------------------------------------------------------------- the chain


def stationary_law(P: Any) -> sp.ImmutableMatrix:
    """theory.md §1, stationary law: the row vector pi with pi (I - P) = 0 and pi 1 = 1.

    Solved exactly as the linear system (I - P)^T pi^T = 0 with the last equation replaced by
    sum(pi) = 1 (for an irreducible chain I - P has rank m - 1, so this system is regular).
    P: (m, m) exact or symbolic. Returns (1, m). Raises ChainError if the system is singular
    (the chain is then not irreducible: no unique stationary law).
    """
    P = as_exact_matrix(P)
    m = check_square(P)
    check_stochastic(P)
    system = (sp.eye(m) - P).T.as_mutable()
    system[m - 1, :] = sp.ones(1, m)
    rhs = sp.zeros(m, 1)
    rhs[m - 1, 0] = 1
    solution = solve_exact(system, rhs)
    pi = simplify_matrix(solution.T)
    for value in pi:
        if value.is_number and value.is_negative:
            raise ChainError("the transition matrix has a negative stationary weight")
    return pi


def fundamental_matrix(P: Any, pi: Any | None = None) -> sp.ImmutableMatrix:
    """theory.md §5, fundamental matrix Z = (I - P + 1 pi)^{-1}, shape (m, m).

    Z is invertible for every irreducible chain; pi Z = pi and Z 1 = 1.
    """
    P = as_exact_matrix(P)
    m = check_square(P)
    pi = stationary_law(P) if pi is None else as_exact_matrix(pi)
    matrix = sp.eye(m) - P + sp.ones(m, 1) * pi
    return simplify_matrix(solve_exact(matrix, sp.eye(m)))


def centred(F: Any, pi: Any) -> sp.ImmutableMatrix:
    """F~ = F - 1 (pi F), shape (m, 1) (theory.md §5)."""
    F = _as_column(F)
    pi = as_exact_matrix(pi)
    mean = (pi * F)[0, 0]
    return simplify_matrix(F - sp.ones(F.rows, 1) * mean)


def _as_column(F: Any) -> sp.ImmutableMatrix:
    if isinstance(F, sp.MatrixBase):
        column = as_exact_matrix(F)
    else:
        column = as_exact_matrix([[value] for value in F])
    if column.cols != 1:
        column = column.T if column.rows == 1 else column
    if column.cols != 1:
        raise ChainError("F must be a vector of values on the states")
    return column


@dataclass(frozen=True)
class PoissonSolution:
    """Exact Poisson data of (P, F), theory.md §5. All entries exact (Rationals for rational input).

    transition (m, m); pi (1, m); values (m, 1) = F; centred (m, 1) = F~; u (m, 1);
    Pu (m, 1) = P u; asymptotic_variance: scalar sigma^2(F). Computed on demand (they cost
    O(m^3) / O(m^2) exact operations): fundamental (m, m) = Z; increments (m, m) with
    increments[i, j] = u(j) - (P u)(i); mean = pi(F).
    """

    transition: sp.ImmutableMatrix
    pi: sp.ImmutableMatrix
    values: sp.ImmutableMatrix
    centred: sp.ImmutableMatrix
    u: sp.ImmutableMatrix
    Pu: sp.ImmutableMatrix
    asymptotic_variance: sp.Expr

    @property
    def mean(self) -> sp.Expr:
        """pi(F)."""
        return simplify_entry((self.pi * self.values)[0, 0])

    @property
    def fundamental(self) -> sp.ImmutableMatrix:
        """Z = (I - P + 1 pi)^{-1} (theory.md §5); u = Z F~."""
        return fundamental_matrix(self.transition, self.pi)

    @property
    def increments(self) -> sp.ImmutableMatrix:
        """D[i, j] = u(j) - (P u)(i) (theory.md §5 martingale increments)."""
        return martingale_increments(self.transition, self.u)


def martingale_increments(P: Any, u: Any) -> sp.ImmutableMatrix:
    """theory.md §5, martingale increment of the step i -> j: D(i, j) = u(j) - (P u)(i).

    P (m, m), u (m, 1) -> (m, m). sum_j P(i, j) D(i, j) = 0 for every i (martingale property).
    """
    P = as_exact_matrix(P)
    u = _as_column(u)
    Pu = P * u
    m = P.rows
    return simplify_matrix(sp.Matrix(m, m, lambda i, j: u[j, 0] - Pu[i, 0]))


def asymptotic_variance_from(pi: Any, centred_values: Any, u: Any) -> sp.Expr:
    """theory.md §5, sigma^2(F) = 2 pi(F~ u) - pi(F~^2). pi (1, m); F~, u (m, 1) -> scalar."""
    pi = as_exact_matrix(pi)
    Ft = _as_column(centred_values)
    u = _as_column(u)
    value = sum(
        (pi[0, i] * (2 * Ft[i, 0] * u[i, 0] - Ft[i, 0] ** 2) for i in range(pi.cols)),
        sp.Integer(0),
    )
    return simplify_entry(value)


def poisson_u(P: Any, pi: Any, centred_values: Any) -> sp.ImmutableMatrix:
    """theory.md §5: the u with (I - P) u = F~ and pi u = 0, i.e. u = Z F~, exactly. (m, 1).

    Solved without forming Z (which is dense even when P is sparse, as on the word chain):
    pick a state r with pi(r) > 0 (the last one; the word chain has transient words with
    pi_L = 0, e.g. words containing a forbidden transition); v with (I - P) v = F~ and
    v(r) = 0 from the equations i != r: I - P_sub, P_sub the chain killed at r, is invertible
    because every state reaches the recurrent state r; the dropped r-th equation follows from
    the others since pi (I - P) = 0, pi F~ = 0 and pi(r) > 0. Then u = v - (pi v) 1. Equal to
    Z F~ because both solve the same regular system (checked in the tests).
    """
    P = as_exact_matrix(P)
    m = check_square(P)
    pi = as_exact_matrix(pi)
    Ft = _as_column(centred_values)
    if m == 1:
        return sp.ImmutableMatrix([[0]])
    r = max(i for i in range(m) if pi[0, i].is_zero is not True)
    keep = [i for i in range(m) if i != r]
    system = (sp.eye(m) - P).extract(keep, keep)
    solved = solve_exact(system, Ft.extract(keep, [0]))
    v = sp.zeros(m, 1)
    for row, i in enumerate(keep):
        v[i, 0] = solved[row, 0]
    shift = (pi * v)[0, 0]
    return simplify_matrix(v - sp.ones(m, 1) * shift)


def solve_poisson(P: Any, F: Any) -> PoissonSolution:
    """theory.md §5: solve (I - P) u = F - pi(F), pi u = 0 (u = Z (F - 1 pi F)), exactly.

    P (m, m) rational or symbolic stochastic matrix of an ergodic chain; F length-m values
    (sequence or (m, 1) matrix; rationals, exact numbers such as tanh(1), or symbols) of the
    function on the states. Returns :class:`PoissonSolution`.
    """
    P = as_exact_matrix(P)
    m = check_square(P)
    F = _as_column(F)
    if F.rows != m:
        raise ChainError(f"F has {F.rows} values but the chain has {m} states")
    pi = stationary_law(P)
    Ft = centred(F, pi)
    u = poisson_u(P, pi, Ft)
    Pu = simplify_matrix(P * u)
    variance = asymptotic_variance_from(pi, Ft, u)
    return PoissonSolution(P, pi, F, Ft, u, Pu, variance)


# ----------------------------------------------------------------------------- two states

TWO_STATE_P, TWO_STATE_Q = sp.symbols("p q", positive=True)
TWO_STATE_F1, TWO_STATE_F2 = sp.symbols("f1 f2", real=True)


def two_state_symbols() -> dict[str, sp.Symbol]:
    """The symbols used by :func:`two_state_closed_forms` (p, q positive; f1, f2 real)."""
    return {"p": TWO_STATE_P, "q": TWO_STATE_Q, "f1": TWO_STATE_F1, "f2": TWO_STATE_F2}


def two_state_transition() -> sp.ImmutableMatrix:
    """P = [[1 - p, p], [q, 1 - q]] (ergodic for 0 < p, q and p + q < 2)."""
    p, q = TWO_STATE_P, TWO_STATE_Q
    return sp.ImmutableMatrix([[1 - p, p], [q, 1 - q]])


def two_state_closed_forms() -> dict[str, sp.Expr]:
    """theory.md §5 on the two-state chain P = [[1-p, p], [q, 1-q]], F = (f1, f2).

    Derived by :func:`solve_poisson` (the generic code) and simplified. Keys "pi_1", "pi_2",
    "u_1", "u_2", "asymptotic_variance"; symbols from :func:`two_state_symbols`.
    (Derived once per process, then a fresh dict of the immutable expressions is returned.)
    """
    return dict(_two_state_closed_forms())


@functools.lru_cache(maxsize=1)
def _two_state_closed_forms() -> tuple[tuple[str, sp.Expr], ...]:
    solution = solve_poisson(two_state_transition(), [TWO_STATE_F1, TWO_STATE_F2])
    return (
        ("pi_1", sp.factor(solution.pi[0, 0])),
        ("pi_2", sp.factor(solution.pi[0, 1])),
        ("u_1", sp.factor(solution.u[0, 0])),
        ("u_2", sp.factor(solution.u[1, 0])),
        ("asymptotic_variance", sp.factor(solution.asymptotic_variance)),
    )


# ----------------------------------------------------------------------------- equations

_m = sp.Symbol("m", integer=True, positive=True)


def _equation_symbols() -> dict[str, Any]:
    m = _m
    return {
        "m": m,
        "P": sp.MatrixSymbol("P", m, m),
        "pi": sp.MatrixSymbol("pi", 1, m),
        "F": sp.MatrixSymbol("F", m, 1),
        "u": sp.MatrixSymbol("u", m, 1),
        "Z": sp.MatrixSymbol("Z", m, m),
        "one": sp.OneMatrix(m, 1),
        "I": sp.Identity(m),
    }


def poisson_equation() -> sp.Eq:
    """theory.md §5, Poisson equation: (I - P) u = F - 1 pi F (with pi u = 0), MatrixSymbols."""
    s = _equation_symbols()
    return sp.Eq(
        sp.MatMul(s["I"] - s["P"], s["u"]),
        s["F"] - sp.MatMul(s["one"], s["pi"], s["F"]),
        evaluate=False,
    )


def poisson_solution() -> sp.Eq:
    """theory.md §5, solution: u = (I - P + 1 pi)^{-1} (F - 1 pi F), MatrixSymbols."""
    s = _equation_symbols()
    fundamental = sp.Inverse(s["I"] - s["P"] + sp.MatMul(s["one"], s["pi"]))
    return sp.Eq(
        s["u"],
        sp.MatMul(fundamental, s["F"] - sp.MatMul(s["one"], s["pi"], s["F"])),
        evaluate=False,
    )


def asymptotic_variance() -> sp.Eq:
    """theory.md §5, sigma^2(F) = 2 pi (F~ o u) - pi (F~ o F~), F~ = F - 1 pi F (o: entrywise)."""
    s = _equation_symbols()
    Ft = s["F"] - sp.MatMul(s["one"], s["pi"], s["F"])
    sigma2 = sp.Symbol("sigma^2", nonnegative=True)
    rhs = 2 * sp.MatMul(s["pi"], sp.HadamardProduct(Ft, s["u"])) - sp.MatMul(
        s["pi"], sp.HadamardProduct(Ft, Ft)
    )
    return sp.Eq(sigma2, rhs, evaluate=False)


def substitute_equation(
    equation: sp.Eq, P: Any, F: Any, pi: Any, u: Any
) -> tuple[sp.Matrix, sp.Matrix]:
    """Instantiate an equation object with concrete matrices: returns (lhs, rhs) as explicit
    matrices (used by tests to check the symbolic equations against the exact solver)."""
    P = as_exact_matrix(P)
    m = P.rows
    concrete = {
        "P": P,
        "pi": as_exact_matrix(pi),
        "F": _as_column(F),
        "u": _as_column(u),
    }

    def explicit(expr: Any) -> sp.Matrix:
        expr = expr.subs(_m, m)
        replacements = {
            symbol: concrete[symbol.name]
            for symbol in expr.atoms(sp.MatrixSymbol)
            if symbol.name in concrete
        }
        replacements.update({sp.OneMatrix(m, 1): sp.ones(m, 1), sp.Identity(m): sp.eye(m)})
        value = expr.xreplace(replacements).doit()
        # HadamardPower of an explicit matrix is left unevaluated by doit(): expand it here.
        value = value.replace(
            lambda e: isinstance(e, sp.HadamardPower),
            lambda e: sp.Matrix(e.base.as_explicit()).applyfunc(lambda x: x**e.exp),
        ).doit()
        if isinstance(value, sp.MatrixBase):
            return sp.Matrix(value.as_explicit()).applyfunc(sp.simplify)
        return sp.Matrix([[sp.simplify(value)]])

    return explicit(equation.lhs), explicit(equation.rhs)


EQUATIONS: dict[str, Callable[[], sp.Eq]] = {
    "poisson_equation": poisson_equation,
    "poisson_solution": poisson_solution,
    "asymptotic_variance": asymptotic_variance,
}
