"""Exact linear algebra of finite chains (theory.md §1, §5), in SymPy: exact matrices from user
entries, exact solves and stochasticity checks, used by the exact Poisson solver
(:mod:`derivations.poisson_exact`) and the word chain (:mod:`derivations.word_chain`).

Solves are *generic*: exact Gauss-Jordan over QQ (sparse DomainMatrix) for rational systems, with
a right-hand side of exact non-rational numbers (tanh(1), ...) split into rational parts per
atom; Matrix.LUsolve after a determinant check for symbolic ones (e.g. the two-state chain in
p, q). Symbolic results are simplified entry by entry (:func:`simplify_entry`).
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from derivations.errors import InputError


class ChainError(InputError):
    """The transition matrix is not a valid (square, stochastic, ergodic) chain."""


def simplify_entry(expr: sp.Expr) -> sp.Expr:
    """Rationals are already canonical; symbolic entries are put in factored rational form;
    exact non-rational numbers (no free symbols, e.g. 2/3 - tanh(1)/3) are expanded into a
    rational combination of their transcendental atoms."""
    if expr.is_Rational:
        return expr
    if not expr.free_symbols:
        return sp.expand(expr)
    return sp.factor(sp.cancel(sp.together(expr)))


def simplify_matrix(matrix: sp.MatrixBase) -> sp.ImmutableMatrix:
    return sp.ImmutableMatrix(matrix.applyfunc(simplify_entry))


def as_exact_matrix(entries: Any) -> sp.ImmutableMatrix:
    """A SymPy matrix from nested sequences / a Matrix; Python ints, Fractions and SymPy
    numbers stay exact (fractions.Fraction p/q becomes Rational(p, q)). Floats are rejected
    (this module is exact); raise :class:`ChainError` on ragged input."""
    from fractions import Fraction

    def convert(value: Any) -> sp.Expr:
        if isinstance(value, Fraction):
            return sp.Rational(value.numerator, value.denominator)
        if isinstance(value, float):
            raise ChainError(f"inexact float entry {value!r}: give exact rationals")
        if isinstance(value, sp.Basic):
            if isinstance(value, sp.Float):
                raise ChainError(f"inexact float entry {value!r}: give exact rationals")
            return value
        if isinstance(value, int):
            return sp.Integer(value)
        raise ChainError(f"unsupported entry {value!r}")

    if isinstance(entries, sp.MatrixBase):
        return sp.ImmutableMatrix(entries.applyfunc(convert))
    rows = [list(row) for row in entries]
    if not rows or any(len(row) != len(rows[0]) for row in rows):
        raise ChainError("matrix rows must be non-empty and of equal length")
    return sp.ImmutableMatrix([[convert(v) for v in row] for row in rows])


def _is_rational(matrix: sp.MatrixBase) -> bool:
    return all(value.is_Rational for value in matrix)


def _linear_parts(rhs: sp.MatrixBase) -> tuple[list[sp.Expr], list[sp.Matrix]] | None:
    """Write rhs = sum_a a * B_a with rational matrices B_a over atoms a (1 for the rational
    part; tanh(1), exp(1/2)*tanh(1), ... for exact non-rational numbers). None if an entry has
    free symbols (then the system is solved symbolically)."""
    atoms: list[sp.Expr] = []
    coefficients: dict[sp.Expr, dict[tuple[int, int], sp.Rational]] = {}
    for i in range(rhs.rows):
        for j in range(rhs.cols):
            value = rhs[i, j]
            if value.free_symbols:
                return None
            for atom, coefficient in sp.expand(value).as_coefficients_dict().items():
                if not coefficient.is_Rational:
                    return None
                if atom not in coefficients:
                    atoms.append(atom)
                    coefficients[atom] = {}
                coefficients[atom][(i, j)] = coefficient
    blocks = []
    for atom in atoms:
        block = sp.zeros(rhs.rows, rhs.cols)
        for (i, j), coefficient in coefficients[atom].items():
            block[i, j] = coefficient
        blocks.append(block)
    return atoms, blocks


def _rational_solve(system: sp.MatrixBase, rhs: sp.MatrixBase) -> sp.Matrix:
    """system @ x = rhs over QQ: Gauss-Jordan on the sparse augmented DomainMatrix [A | b]
    (keeps the sparsity of word-chain matrices; much faster than dense fraction-free LU)."""
    from sympy.polys.matrices import DomainMatrix

    n = system.rows
    augmented = DomainMatrix.from_Matrix(sp.Matrix(system).row_join(sp.Matrix(rhs)))
    reduced, pivots = augmented.convert_to(sp.QQ).rref(method="GJ")
    if tuple(pivots) != tuple(range(n)):
        raise ChainError("singular linear system: the chain has no unique stationary law")
    return reduced.to_Matrix()[:, n:]


def solve_exact(system: sp.MatrixBase, rhs: sp.MatrixBase) -> sp.Matrix:
    """Exact solution of system @ x = rhs; raises ChainError if the system is singular.

    Rational system: exact Gauss-Jordan over QQ (:func:`_rational_solve`), with a right-hand
    side of exact numbers split into rational parts per atom (the solution is linear in it).
    Symbolic system (e.g. the two-state chain in p, q): Matrix.LUsolve after a determinant
    check.
    """
    if _is_rational(system):
        parts = _linear_parts(rhs)
        if parts is not None:
            atoms, blocks = parts
            if not atoms:
                return sp.zeros(system.rows, rhs.cols)
            solved = _rational_solve(system, sp.Matrix.hstack(*blocks))
            k = rhs.cols
            return sum(
                (atom * solved[:, a * k : (a + 1) * k] for a, atom in enumerate(atoms)),
                sp.zeros(system.rows, k),
            )
    if sp.cancel(sp.Matrix(system).det(method="berkowitz")) == 0:
        raise ChainError("singular linear system: the chain has no unique stationary law")
    return sp.Matrix(system).LUsolve(rhs)


def check_square(P: sp.MatrixBase) -> int:
    m, n = P.shape
    if m != n or m == 0:
        raise ChainError(f"transition matrix must be square and non-empty, got {m}x{n}")
    return m


def check_stochastic(P: sp.MatrixBase) -> None:
    """Rows sum to 1 (checked symbolically); numeric entries must be >= 0."""
    for i in range(P.rows):
        total = sum(P.row(i), sp.Integer(0))
        if (total if total.is_Rational else sp.simplify(total)) != 1:
            raise ChainError(f"row {i} of the transition matrix does not sum to 1")
        for value in P.row(i):
            if value.is_number and value.is_negative:
                raise ChainError(f"negative transition probability {value} in row {i}")
