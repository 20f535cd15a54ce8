"""The quadrature error estimates of the kernel on words (numerics.kernel): the step-halving
estimate of the trapezoid rule in w and the bound on the neglected Gaussian tail."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from derivations.activations import activation_constants
from numerics.blockwise import row_block

if TYPE_CHECKING:
    from numerics.kernel import KernelSpec

FloatArray = NDArray[np.float64]


def tail_constant(spec: KernelSpec) -> float:
    """Bound B with |integrand| <= B (1 + |z|^2) (z = w / w_std), summed over groups.

    With l = Lip(sigma), M = sup |sigma|, rho = b_max l, X = max |xi| (derivations.activations,
    derivations.limit.derivative_bounds): |S| <= M, |G^w| <= l X / (1 - rho),
    |G^b| <= l M / (1 - rho) (geometric sums of the recursion). Unbounded sigma (linear, with
    sigma(0) = 0): |S| <= l |w| X / (1 - rho), |G^w| <= l X / (1 - rho),
    |G^b| <= l^2 |w| X / (1 - rho)^2, with |w| = w_std |z|.
    """
    x = float(np.max(np.linalg.norm(spec.states, axis=1)))
    constants = activation_constants(spec.activation)
    lip = constants.lipschitz
    one_minus = max(1.0 - spec.b_max * lip, 1e-12)
    c2 = spec.c_std**2
    if constants.bounded:
        sup = constants.sup_sigma
        bounds = {"c": sup**2, "w": c2 * (lip * x / one_minus) ** 2,
                  "b": c2 * (lip * sup / one_minus) ** 2}
    else:
        bounds = {"c": (lip * spec.w_std * x / one_minus) ** 2,
                  "w": c2 * (lip * x / one_minus) ** 2,
                  "b": c2 * (lip**2 * spec.w_std * x / one_minus**2) ** 2}
    return float(sum(bounds[g] for g in spec.groups))


STEP_RATIO_MAX = 0.25  # largest measured halving factor taken as evidence of convergence


def step_halving_error(K_h: FloatArray | tuple[FloatArray, ...], K_2h: FloatArray,
                       K_4h: FloatArray) -> float:
    """Error estimate of the step-h trapezoid values K_h from the step-2h and step-4h values
    on the same nodes (max over entries). K_h may be given as a tuple of parts (summed row
    block by row block, in order, as :func:`_total` sums them).

    Per entry, D1 = |K_2h - K_h| (about the error of K_2h) and D2 = |K_4h - K_2h| (about that of
    K_4h) measure the convergence factor q = D1 / D2 of one halving. For integrands analytic in
    a strip the trapezoid error behaves like C exp(-a / h), so the factor of the next halving is
    q^2 < q: the remaining error of K_h is then at most D1 (q + q^2 + ...) = D1 q / (1 - q).
    That is used only where the measurement shows convergence, q <= STEP_RATIO_MAX; elsewhere
    (coarse steps before the asymptotic regime, or D2 ~ 0 by cancellation) the estimate is the
    plain difference D1, the error of the coarser rule itself.
    """
    def rows_of(a: FloatArray) -> FloatArray:  # any shape as (rows, columns), a view
        a = np.asarray(a)
        return a.reshape(a.shape[0], -1) if a.ndim >= 1 else a.reshape(1, 1)

    parts = tuple(rows_of(a) for a in (K_h if isinstance(K_h, tuple) else (K_h,)))
    K_2h, K_4h = rows_of(K_2h), rows_of(K_4h)
    worst = 0.0
    block = row_block(K_2h.shape[1], 8)
    for i in range(0, K_2h.shape[0], block):  # row blocks: bounded temporaries
        rows = slice(i, i + block)
        k_h = parts[0][rows].copy()
        for part in parts[1:]:
            k_h += part[rows]
        d1 = np.abs(K_2h[rows] - k_h)
        d2 = np.abs(K_4h[rows] - K_2h[rows])
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.where(d2 > 0.0, d1 / d2, np.inf)
        q_converged = np.where(q <= STEP_RATIO_MAX, q, 0.0)  # 0 marks "not converged"
        estimate = np.where(q_converged > 0.0, d1 * q_converged / (1.0 - q_converged), d1)
        worst = max(worst, float(np.max(estimate)) if estimate.size else 0.0)
    return worst
