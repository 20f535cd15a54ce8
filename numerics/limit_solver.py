"""Solving the limit ODE on words from its kernel (theory.md §4): the spectral solution.

On the n words with D = diag(pi_L), M = D^{1/2} K D^{1/2} (symmetric PSD) and the residual
r_t = D^{1/2} (ybar - g_t), the ODE reads dr/dt = -alpha M r, and g_t = alpha K D^{1/2}
int_0^t r_s ds. With M ~ V diag(lambda) V^T on a subspace P = V V^T:

    g_t = K D^{1/2} V diag(phi_t(lambda)) V^T D^{1/2} ybar + alpha t K D^{1/2} (I - P) D^{1/2} ybar,
    phi_t(lambda) = (1 - exp(-alpha t lambda)) / lambda  (= alpha t at lambda = 0),

exactly the solution for the kernel M' = V diag(lambda) V^T (whose other eigenvalues are 0).

* n <= EXACT_WORDS: the full eigendecomposition (LAPACK syevr; V complete, P = I).
* larger n: the spectrum of these kernels decays fast (default config, L = 7: lambda_100 ~
  4e-17 against lambda_1 = 0.6), so a randomized range finder (Halko, Martinsson, Tropp 2011,
  Alg. 4.4 with two power iterations, a fixed seed) finds V of rank r in O(n^2 r) work and
  O(n r) memory, never forming M: M x = D^{1/2} K (D^{1/2} x). The rank doubles until the
  Frobenius norm eps of M - M' (computed exactly, row block by row block) is at most
  max(SPECTRAL_RELATIVE, NOISE_FACTOR n eps) x lambda_max, or falls back to the full solve
  past n / 4. The error this
  leaves in g is bounded rigorously by :func:`spectral_bound` (Duhamel), and numerics.limit
  adds it to the limit's error estimate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from derivations.errors import InputError
from numerics.blockwise import symmetrise_in_place

FloatArray = NDArray[np.float64]
_EPS = np.finfo(float).eps
EXACT_WORDS = 2187  # up to 3^7 words: the full eigendecomposition (about 5 s at 2187)
FIRST_RANK = 128
# target |M - M'|_F / lambda_max: below the kernel's own accuracy, but not below the rounding
# noise of M's n^2 entries (about n eps lambda_max in Frobenius norm), which no rank removes
SPECTRAL_RELATIVE = 1e-13
NOISE_FACTOR = 10.0
POWER_ITERATIONS = 2
OVERSAMPLING = 16  # extra random directions of the range finder (Halko et al.: 5-20)
_ROWS = 256  # rows per block of the residual's norm


@dataclass(frozen=True)
class LimitSolver:
    """Spectral data of theory.md §4 for fast g_t at any t.

    pi (n,), ybar (n,), eigenvalues (r,) of M on the subspace (clipped at 0), basis =
    K D^{1/2} V (n, r), coefficients = V^T D^{1/2} ybar (r,), norm_M = largest eigenvalue;
    null_term = K D^{1/2} (I - V V^T) D^{1/2} ybar (n,) (zero for the full solve: r = n);
    spectral_error = |M - V diag(lambda) V^T|_F (0 for the full solve).
    extension_basis = K_x D^{1/2} V (n', r) and extension_null = K_x D^{1/2} (I - V V^T)
    D^{1/2} ybar (n',) for a cross kernel K_x (n', n) to other inputs (None without one):
    :func:`g_extended_at`.
    """

    alpha: float
    pi: FloatArray
    ybar: FloatArray
    eigenvalues: FloatArray
    basis: FloatArray = field(repr=False)
    coefficients: FloatArray = field(repr=False)
    norm_M: float
    null_term: FloatArray | None = field(default=None, repr=False)
    spectral_error: float = 0.0
    extension_basis: FloatArray | None = field(default=None, repr=False)
    extension_null: FloatArray | None = field(default=None, repr=False)


class SpectrumRankError(InputError):
    """The low-rank solve needs a rank past n / 4 and the full solve is not allowed."""


def limit_solver(K: FloatArray, pi: FloatArray, ybar: FloatArray, alpha: float,
                 perturbed: bool = False, full_fallback: bool = True,
                 cross: FloatArray | None = None) -> LimitSolver:
    """The spectral solver of M = D^{1/2} K D^{1/2} (module docstring), K (n, n), pi (n,),
    ybar (n,): full eigendecomposition up to EXACT_WORDS words, low rank beyond.

    Negative eigenvalues of M are rounding (K is PSD by construction): they are clipped to 0
    after checking they are above -100 n eps max|lambda| (else ValueError). ``perturbed``:
    K is a kernel plus an error-model perturbation (not PSD by construction); clip without
    the check. ``full_fallback`` False: beyond EXACT_WORDS words a low-rank solve that needs
    a rank past n / 4 raises SpectrumRankError instead of the full eigendecomposition (whose
    3 n^2 doubles the caller found would not fit, numerics.costs.limit_bytes).
    ``cross``: the kernel K_x (n', n) between n' other inputs and the words, for
    :func:`g_extended_at`.
    """
    root = np.sqrt(np.asarray(pi, dtype=float))
    n = root.shape[0]
    if n > EXACT_WORDS:
        solver = _low_rank(K, root, np.asarray(ybar, float), float(alpha), perturbed, cross)
        if solver is not None:
            return solver
        if not full_fallback:
            raise SpectrumRankError(
                f"the limit's spectrum on {n} words needs a rank above n/4 = {n // 4}: the "
                "low-rank solve gives up and the full eigendecomposition does not fit the "
                "memory cap; lower the word length or raise --memory-cap")
    return _full(K, root, np.asarray(ybar, float), float(alpha), perturbed, cross)


def _checked(lam: FloatArray, perturbed: bool) -> tuple[FloatArray, float]:
    top = float(max(np.max(np.abs(lam)), 0.0)) if lam.size else 0.0
    floor = -100.0 * lam.shape[0] * _EPS * max(top, 1e-300)
    if lam.size and lam.min() < floor and not perturbed:
        raise ValueError(f"K D is not PSD: eigenvalue {lam.min():.3g} < {floor:.3g}")
    return np.clip(lam, 0.0, None), top


def _full(K, root, ybar, alpha, perturbed, cross=None) -> LimitSolver:
    from scipy.linalg import eigh

    buffer = np.multiply(K, root[None, :])  # the one (n, n) work array besides V and basis
    buffer *= root[:, None]
    symmetrise_in_place(buffer)  # M = D^{1/2} K D^{1/2}, exactly symmetric
    # MRRR (LAPACK syevr): O(n) workspace besides the eigenvectors, M overwritten in place
    # (buffer.T: the same symmetric matrix in Fortran order, so LAPACK works on it in place)
    lam, V = eigh(buffer.T, overwrite_a=True, check_finite=False, driver="evr")
    lam, top = _checked(lam, perturbed)
    np.multiply(K, root[None, :], out=buffer)
    basis = buffer @ V
    del buffer
    extension = None if cross is None else (cross * root[None, :]) @ V
    return LimitSolver(alpha=alpha, pi=root**2, ybar=ybar, eigenvalues=lam, basis=basis,
                       coefficients=V.T @ (root * ybar), norm_M=top,
                       extension_basis=extension,
                       extension_null=None if cross is None else np.zeros(cross.shape[0]))


def _apply_M(K: FloatArray, root: FloatArray, X: FloatArray) -> FloatArray:
    """M X = D^{1/2} K (D^{1/2} X) for X (n, k), without forming M."""
    return root[:, None] * (K @ (root[:, None] * X))


def _low_rank(K, root, ybar, alpha, perturbed, cross=None) -> LimitSolver | None:
    """Randomized eigen-solve (module docstring); None when the rank would pass n / 4."""
    from scipy.linalg import eigh, qr

    n = root.shape[0]
    rng = np.random.default_rng(np.random.SeedSequence(20231128))  # fixed: reproducible
    rank = FIRST_RANK
    while rank <= n // 4:
        Q, _ = qr(_apply_M(K, root, rng.standard_normal((n, rank + OVERSAMPLING))), mode="economic")
        for _ in range(POWER_ITERATIONS):
            Q, _ = qr(_apply_M(K, root, Q), mode="economic")
        MQ = _apply_M(K, root, Q)
        small = Q.T @ MQ
        lam, U = eigh(0.5 * (small + small.T))
        lam, top = _checked(lam, perturbed)
        V = Q @ U
        error = _residual_norm(K, root, V, lam)
        if error <= max(SPECTRAL_RELATIVE, NOISE_FACTOR * n * _EPS) * max(top, 1e-300):
            r0 = root * ybar
            basis = K @ (root[:, None] * V)
            rest = r0 - V @ (V.T @ r0)
            has = cross is not None
            return LimitSolver(alpha=alpha, pi=root**2, ybar=ybar, eigenvalues=lam,
                               basis=basis, coefficients=V.T @ r0, norm_M=top,
                               null_term=K @ (root * rest), spectral_error=error,
                               extension_basis=cross @ (root[:, None] * V) if has else None,
                               extension_null=cross @ (root * rest) if has else None)
        rank *= 2
    return None


def _residual_norm(K: FloatArray, root: FloatArray, V: FloatArray, lam: FloatArray) -> float:
    """|D^{1/2} K D^{1/2} - V diag(lam) V^T|_F, row block by row block (O(n^2 r) work)."""
    total = 0.0
    scaled = V * lam
    for i in range(0, K.shape[0], _ROWS):
        rows = slice(i, i + _ROWS)
        block = root[rows, None] * K[rows] * root[None, :] - scaled[rows] @ V.T
        total += float(np.sum(block * block))
    return float(np.sqrt(total))


def _phi(lam: FloatArray, s: FloatArray | float) -> FloatArray:
    """phi(lambda) = (1 - exp(-s lambda)) / lambda, s = alpha t; = s at lambda = 0 (stable).
    ``s`` a scalar or a column (T, 1) of values: then (T, n)."""
    small = lam * s < 1e-12
    safe = np.where(small, 1.0, lam)
    return np.where(small, s * (1.0 - 0.5 * s * lam), -np.expm1(-s * safe) / safe)


def g_at(solver: LimitSolver, times: Sequence[float]) -> FloatArray:
    """g_t on the words for each t in times (module docstring), shape (T, n): one matrix
    product for all times (plus alpha t times the null term of a low-rank solver)."""
    s = solver.alpha * np.asarray(times, dtype=float).reshape(-1, 1)
    weights = _phi(solver.eigenvalues, s) * solver.coefficients  # (T, r)
    g = weights @ solver.basis.T
    if solver.null_term is not None:
        g += s * solver.null_term[None, :]
    return g


def g_extended_at(solver: LimitSolver, times: Sequence[float]) -> FloatArray:
    """The solution's extension to the inputs of the solver's cross kernel K_x (n', n), shape
    (T, n'): g_t(x) = alpha int_0^t sum_v pi(v) (ybar - g_s)(v) A(x, v) ds, the limit ODE of
    theory.md §3 read at inputs x outside the words (the module docstring's formula with K_x
    in place of K; at the words themselves it is g_at). Raises ValueError without one."""
    if solver.extension_basis is None or solver.extension_null is None:
        raise ValueError("g_extended_at: the solver was built without a cross kernel")
    s = solver.alpha * np.asarray(times, dtype=float).reshape(-1, 1)
    weights = _phi(solver.eigenvalues, s) * solver.coefficients
    return weights @ solver.extension_basis.T + s * solver.extension_null[None, :]


def spectral_bound(solver: LimitSolver, K_max_diagonal: float, t: float) -> float:
    """Sup-norm bound on |g_t - g'_t| from solving with M' = V diag(lambda) V^T in place of M,
    |M - M'|_2 <= eps = solver.spectral_error (Frobenius). Duhamel for r = D^{1/2}(ybar - g):
    |r_s - r'_s|_2 <= alpha eps s |r_0|_2 (both flows contract); g_t - g'_t = alpha K D^{1/2}
    int_0^t (r_s - r'_s) ds and |K D^{1/2} x|_inf <= sqrt(max K_uu |M|_2) |x|_2
    (Cauchy-Schwarz in the RKHS of K), so the bound is
    alpha^2 sqrt(max K_uu |M|_2) eps |D^{1/2} ybar|_2 t^2 / 2 (0 for the full solve)."""
    if solver.spectral_error == 0.0:
        return 0.0
    y = float(np.sqrt(np.sum(solver.pi * solver.ybar**2)))
    norm = solver.norm_M + solver.spectral_error  # |M|_2 <= |M'|_2 + eps
    return float(solver.alpha**2 * np.sqrt(max(K_max_diagonal, 0.0) * norm)
                 * solver.spectral_error * y * t * t / 2.0)
