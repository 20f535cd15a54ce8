"""Quadrature rules over theta = (w, b) under mu_0 (theory.md §2), with error estimates.

The kernel of theory.md §3 is an expectation over theta = (c, w, b) ~ mu_0 with
c ~ N(0, c_std^2), w ~ N(0, w_std^2 I_d), b ~ Uniform[-b_max, b_max] independent. E[c^2] = c_std^2
is used exactly, so only (w, b) need a rule. A rule here is a list of nodes (w, b) with positive
weights summing to (about) 1, so that E[F(w, b)] ~ sum_j weight_j F(node_j).

Choice of rules (theory.md §8, measured): Gauss-Hermite in w converges slowly on the nested-tanh
integrands of the memory recursion, so w uses the **trapezoid rule on the Gaussian-weighted
integrand** in standard units z = w / w_std, truncated to [-a, a]. For integrands analytic in a
strip the trapezoid rule converges exponentially in 1/h; the error of a step-h rule is estimated
by the step-halving difference |Q_h - Q_{h/2}| (the h/2 grid contains the h grid, so Q_h is free).
The truncation to [-a, a] neglects a Gaussian tail: every integrand here is bounded by
C (1 + |z|^2) (bounded sigma: S, G bounded; linear sigma: quadratic in w), and
E[(1 + Z^2) 1{|Z| > a}] = 4 Q(a) + 2 a phi(a) (Q the normal upper tail), see :func:`tail_mass`.
b uses Gauss-Legendre (16 nodes reach rounding error, theory.md §8); its error is estimated by
n vs 2n nodes. For d > 2 tensor rules are too large: scrambled Sobol points
(scipy.stats.qmc) with independent scramblings give a randomisation error estimate.
For an odd activation every kernel integrand is even in w, so the (mirror-symmetric) tensor
rules are folded onto a half-space with doubled weights (:func:`fold_plan`): half the nodes,
the same sums and estimates up to rounding. A rule asked for an accuracy is trimmed to the
smallest half-width whose tail bound takes a stated share of it (:func:`trimmed_settings`,
numerics.kernel.kernels_to_accuracy): a = 8 leaves a tail far below any target.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Rule:
    """Nodes and weights for E over (w, b) ~ N(0, w_std^2 I_d) x U[-b_max, b_max].

    w: (n, d) nodes in physical units; b: (n,); weights: (n,) positive.
    """

    w: FloatArray
    b: FloatArray
    weights: FloatArray

    @property
    def size(self) -> int:
        return int(self.weights.shape[0])


@dataclass(frozen=True)
class QuadratureSettings:
    """Tensor-rule parameters (d <= 2) and Sobol parameters (d > 2).

    w_step: the *fine* trapezoid step in standard units (the coarse step is 2 w_step);
    half_width: the trapezoid range [-a, a] in standard units; b_nodes: the *fine* Legendre
    count (the coarse count is b_nodes // 2); sobol_log2: 2^sobol_log2 points per scrambling;
    sobol_scramblings: independent scramblings; seed: for the scramblings (SeedSequence);
    disc: trim the tensor grid to the ball |z| <= half_width (d = 2: pi/4 of the square's
    nodes; the neglected mass is then :func:`tail_mass_ball`).
    """

    w_step: float = 0.05
    half_width: float = 8.0
    b_nodes: int = 20
    sobol_log2: int = 14
    sobol_scramblings: int = 8
    seed: int = 0
    disc: bool = False  # tensor rules: keep the w nodes with |z| <= half_width only


SOBOL_LADDER_LOG2 = (14, 16, 18)  # points per scrambling of the d > 2 rungs (settings_ladder)


def default_settings(d: int) -> QuadratureSettings:
    """Settings used when none are given. d = 1: step 0.05 on [-8, 8] (theory.md §8 measured
    step 0.05 within 1e-14 of adaptive quadrature; tail_mass(8) = 2e-14), 20 Legendre nodes
    (16 reach rounding, theory.md §8). d = 2: the tensor grid is squared, so step 0.1 on [-8, 8]
    (tail_mass(8) = 2e-14) and 16 Legendre nodes."""
    if d <= 1:
        return QuadratureSettings()
    return QuadratureSettings(w_step=0.1, half_width=8.0, b_nodes=16)


def settings_ladder(d: int) -> tuple[QuadratureSettings, ...]:
    """Rules from cheapest to finest, for a kernel wanted to a given accuracy
    (numerics.kernel.kernel_to_accuracy takes the first whose own error estimate meets it).
    The last is as accurate as :func:`default_settings` (d = 2: the same grid trimmed to the
    disc |z| <= 8, 22% fewer nodes, measured within 1.3e-14 of the square grid). Measured on
    the shipped configurations (estimate / actual error against the default rule): d = 1,
    step 0.1 with 12 Legendre nodes 3e-7 / 9e-13 at L = 5, a third of the default's nodes.
    d = 2 has no cheaper rung: the step-halving estimate of step 0.1 grows with the word length
    (2e-7 at L = 4, 2e-6 at L = 5, 5e-6 at L = 6 on the antisymmetric example), so coarser steps
    (step 0.2 on the disc |z| <= 7: 2e-4 estimated at L = 3) never meet the report's targets
    and would only add their cost. Each rung is used trimmed to the accuracy asked
    (:func:`trimmed_settings`): its half-width is the largest it may take.
    d > 2: scrambled Sobol with 2^14 (the default), 2^16 and 2^18 points per scrambling, 8
    scramblings each. Measured on a two-state d = 3 chain at L = 5 (t = 2): kernel estimate
    1.0e-3, 4.1e-4, 1.1e-4 (about n^-0.9, the quasi-Monte Carlo rate), its bound on g 3.7e-3,
    1.5e-3, 4.2e-4, in 1.2 s, 4.9 s, 15.7 s: a fourfold rung cuts the error about 3.5 times.
    The finest is 16 times the default's cost, so a kernel that the finest cannot bring to
    the accuracy asked costs 21/16 of the finest alone (numerics.kernel.kernels_to_accuracy
    stops at the first rung that meets it)."""
    if d <= 1:
        return (QuadratureSettings(w_step=0.1, half_width=8.0, b_nodes=12),
                QuadratureSettings(w_step=0.1, half_width=8.0, b_nodes=16),
                default_settings(d))
    if d == 2:
        return (QuadratureSettings(w_step=0.1, half_width=8.0, b_nodes=16, disc=True),)
    return tuple(QuadratureSettings(sobol_log2=log2) for log2 in SOBOL_LADDER_LOG2)


def tail_mass(a: float) -> float:
    """E[(1 + Z^2) 1{|Z| > a}] for Z ~ N(0, 1): bound factor for the neglected trapezoid tail.

    = 2 P(Z > a) + 2 (a phi(a) + P(Z > a)) (integration by parts of z^2 phi(z)).
    """
    upper = 0.5 * math.erfc(a / math.sqrt(2.0))
    phi = math.exp(-0.5 * a * a) / math.sqrt(2.0 * math.pi)
    return 4.0 * upper + 2.0 * a * phi


def trapezoid_gaussian(step: float, half_width: float) -> tuple[FloatArray, FloatArray]:
    """Trapezoid nodes z_j = j h on [-a, a] (a rounded to a multiple of h) with weights h phi(z_j).

    Returns (z (n,), weights (n,)). The end-point halving is irrelevant at |z| = a (phi(a) tiny).
    """
    n_half = int(round(half_width / step))
    z = step * np.arange(-n_half, n_half + 1, dtype=float)
    weights = step * np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return z, weights


def legendre_uniform(b_max: float, n: int) -> tuple[FloatArray, FloatArray]:
    """Gauss-Legendre for E over b ~ U[-b_max, b_max]: (nodes (n,), weights (n,) summing to 1).

    b_max == 0 gives the single node b = 0 (b identically zero).
    """
    if b_max == 0.0:
        return np.zeros(1), np.ones(1)
    x, wts = np.polynomial.legendre.leggauss(n)
    return b_max * x, 0.5 * wts


def _tensor(w_z: FloatArray, w_wts: FloatArray, d: int, w_std: float,
            b_nodes: FloatArray, b_wts: FloatArray) -> Rule:
    """Tensor product of a 1-D standard-normal rule in each of d coordinates and a b rule."""
    grids = np.meshgrid(*([w_z] * d), b_nodes, indexing="ij")
    wgrids = np.meshgrid(*([w_wts] * d), b_wts, indexing="ij")
    w = np.stack([g.ravel() for g in grids[:d]], axis=1) * w_std
    b = grids[d].ravel()
    weights = np.prod(np.stack([g.ravel() for g in wgrids]), axis=0)
    return Rule(w=np.ascontiguousarray(w), b=np.ascontiguousarray(b), weights=weights)


def tensor_rule(d: int, w_std: float, b_max: float, w_step: float, half_width: float,
                b_nodes: int, disc: bool = False) -> Rule:
    """Tensor rule: trapezoid (step w_step on [-half_width, half_width]) per w coordinate
    times Gauss-Legendre with b_nodes nodes in b; ``disc``: only the nodes with
    |z| <= half_width (z = w / w_std). w_std == 0 gives the single node w = 0."""
    if w_std == 0.0:
        z, zw = np.zeros(1), np.ones(1)
    else:
        z, zw = trapezoid_gaussian(w_step, half_width)
    bn, bw = legendre_uniform(b_max, b_nodes)
    rule = _tensor(z, zw, d, w_std, bn, bw)
    if not disc or w_std == 0.0:
        return rule
    inside = np.sum((rule.w / w_std) ** 2, axis=1) <= half_width**2 * (1 + 1e-12)
    return Rule(w=np.ascontiguousarray(rule.w[inside]), b=rule.b[inside],
                weights=rule.weights[inside])


def tail_mass_ball(a: float, d: int) -> float:
    """E[(1 + |Z|^2) 1{|Z| > a}] for Z ~ N(0, I_d): P(chi2_d > a^2) + d P(chi2_{d+2} > a^2)
    (E[|Z|^2 1{|Z|^2 > s}] = d P(chi2_{d+2} > s)); the neglected mass of a ball rule."""
    return float(stats.chi2.sf(a * a, d) + d * stats.chi2.sf(a * a, d + 2))


def neglected_tail(settings: QuadratureSettings, d: int) -> float:
    """The neglected Gaussian tail factor of a tensor rule in d <= 2 dimensions: the mass
    E[(1 + |Z|^2) 1{outside}] outside the disc |z| <= a (:func:`tail_mass_ball`) or, for the
    square [-a, a]^d, at most d times the one-coordinate mass (:func:`tail_mass`; a union
    bound). A kernel's tail error is this times its integrand bound
    (numerics.kernel_errors.tail_constant, times d^2)."""
    if settings.disc:
        return tail_mass_ball(settings.half_width, d)
    return d * tail_mass(settings.half_width)


TRIM_STEP = 0.25  # a trimmed rule's half-width moves in steps of at least this (standard units)
TRIM_FLOOR = 4.0  # and never below this (P(|Z| > 4) = 6e-5: a floor well inside any target)


def trimmed_settings(settings: QuadratureSettings, d: int, bound: float,
                     budget: float) -> QuadratureSettings:
    """``settings`` with the smallest half-width a whose tail error bound ``bound`` x
    :func:`neglected_tail` is <= ``budget``: the rule trimmed to the Gaussian's effective disc
    (or interval) for the accuracy asked (issue 17, item 2). The candidates are a = k h (h the
    rule's step, so that the trapezoid grid ends exactly at a) from settings.half_width down
    in steps of the least multiple of h >= TRIM_STEP, not below TRIM_FLOOR. Every node dropped
    lies outside a, so the step-halving and Legendre estimates, made on the same nodes, change
    only by that tail. ``bound``: the kernel's integrand bound (tail_constant x d^2). Returns
    ``settings`` itself when no smaller half-width meets the budget."""
    if not (math.isfinite(bound) and bound >= 0.0 and budget > 0.0):
        return settings
    h = settings.w_step
    top = round(settings.half_width / h)
    stride = math.ceil(TRIM_STEP / h - 1e-9)
    best = settings
    for k in range(top - stride, math.ceil(TRIM_FLOOR / h - 1e-9) - 1, -stride):
        candidate = dataclasses.replace(settings, half_width=round(k * h, 12))
        if bound * neglected_tail(candidate, d) > budget:
            break  # the tail grows as a shrinks: no smaller a meets the budget either
        best = candidate
    return best


@dataclass(frozen=True)
class TensorPlan:
    """The three rules whose results give a value and its two error estimates (d <= 2).

    fine: step h, 2n Legendre nodes -> the reported value Q(h, 2n).
    on_coarse: (n,) bool, nodes of ``fine`` on the coarse w grid (step 2h). Splitting the fine
        sum into these nodes (E) and the others (O) gives Q(h, 2n) = E + O and
        Q(2h, 2n) = 2^d E at no extra cost; |Q(2h, 2n) - Q(h, 2n)| estimates the w error.
    on_coarser: (n,) bool, nodes on the step-4h grid (a subset of on_coarse): their sum F gives
        Q(4h, 2n) = 4^d F, so the convergence factor of the step halving is measured too.
    coarse_b: step 2h, n Legendre nodes -> Q(2h, n); |Q(2h, n) - Q(2h, 2n)| estimates the b
        error (Q vs 2Q). tail: tail_mass(half_width) * d, the neglected Gaussian tail factor.
    """

    fine: Rule
    on_coarse: NDArray[np.bool_]
    on_coarser: NDArray[np.bool_]
    coarse_b: Rule
    tail: float


def tensor_plan(d: int, w_std: float, b_max: float, settings: QuadratureSettings) -> TensorPlan:
    """Build the rules of :class:`TensorPlan` for d <= 2 (theory.md §8 choice of rules)."""
    h = settings.w_step
    fine = tensor_rule(d, w_std, b_max, h, settings.half_width, settings.b_nodes, settings.disc)
    if w_std == 0.0:
        on_coarse = np.ones(fine.size, dtype=bool)
        on_coarser = on_coarse
    else:
        # Nodes j h with all j even lie on the coarse grid; coarse weight (2h)^d phi = 2^d fine;
        # all j divisible by 4: the step-4h grid, weight 4^d fine.
        index = np.abs(np.round(fine.w / w_std / h))
        on_coarse = np.all(index % 2 == 0, axis=1)
        on_coarser = np.all(index % 4 == 0, axis=1)
    coarse_b = tensor_rule(d, w_std, b_max, 2 * h, settings.half_width,
                           max(settings.b_nodes // 2, 1), settings.disc)
    tail = 0.0 if w_std == 0.0 else neglected_tail(settings, d)
    return TensorPlan(fine=fine, on_coarse=on_coarse, on_coarser=on_coarser, coarse_b=coarse_b,
                      tail=tail)


def _half_space(w: FloatArray) -> tuple[NDArray[np.bool_], FloatArray]:
    """(keep, factor) for folding a rule symmetric under w -> -w: keep the nodes whose first
    nonzero coordinate is positive (factor 2, they stand for their mirror image too) and
    those with w = 0 (factor 1)."""
    first = np.zeros(w.shape[0])
    for column in w.T[::-1]:  # the first nonzero coordinate wins
        first = np.where(column != 0.0, column, first)
    keep = first >= 0.0
    return keep, np.where(first > 0.0, 2.0, 1.0)[keep]


def fold_rule(rule: Rule) -> Rule:
    """The rule on the half-space of :func:`_half_space` with doubled weights: the same sum for
    every integrand even in w, F(-w, b) = F(w, b), at half the nodes. Raises ValueError unless
    the nodes are symmetric (each (w, b) has its mirror (-w, b) with the same weight)."""
    order = np.lexsort((rule.weights, rule.b, *rule.w.T[::-1]))
    mirror = np.lexsort((rule.weights, rule.b, *(-rule.w).T[::-1]))
    if not (np.array_equal(rule.w[order], -rule.w[mirror])
            and np.array_equal(rule.b[order], rule.b[mirror])
            and np.array_equal(rule.weights[order], rule.weights[mirror])):
        raise ValueError("fold_rule: the rule is not symmetric under w -> -w")
    keep, factor = _half_space(rule.w)
    return Rule(w=np.ascontiguousarray(rule.w[keep]), b=rule.b[keep],
                weights=rule.weights[keep] * factor)


def fold_plan(plan: TensorPlan) -> TensorPlan:
    """theory.md §3 kernel for an odd activation (derivations.activations.is_odd): sigma odd
    makes the memory recursion of theory.md §2 odd in w, S(-w) = -S(w), G^b(-w) = -G^b(w), and
    G^w(-w) = G^w(w) (sigma' even), by induction over the word; so every kernel integrand
    (S S', G^w . G^w', G^b G^b') is even in w and each rule of the plan can be folded
    (:func:`fold_rule`: half the nodes, the same values up to rounding, the same error
    estimates, as the step-2h and step-4h grids are symmetric too)."""
    keep, _ = _half_space(plan.fine.w)
    return TensorPlan(fine=fold_rule(plan.fine), on_coarse=plan.on_coarse[keep],
                      on_coarser=plan.on_coarser[keep], coarse_b=fold_rule(plan.coarse_b),
                      tail=plan.tail)


def sobol_rules(d: int, w_std: float, b_max: float, settings: QuadratureSettings) -> list[Rule]:
    """Independent scrambled Sobol rules (equal weights) in (w, b); one per scrambling.

    Uniform points u in [0,1)^{d+1} map to w = w_std Phi^{-1}(u_1..d), b = b_max (2 u_{d+1} - 1).
    Scramblings are seeded by SeedSequence(settings.seed).spawn(R) (reproducible).
    """
    children = np.random.SeedSequence(settings.seed).spawn(settings.sobol_scramblings)
    rules = []
    for child in children:
        engine = stats.qmc.Sobol(d + 1, scramble=True, seed=np.random.default_rng(child))
        u = engine.random_base2(settings.sobol_log2)
        u = np.clip(u, 1e-300, 1.0 - 1e-16)
        w = w_std * stats.norm.ppf(u[:, :d])
        b = b_max * (2.0 * u[:, d] - 1.0)
        weights = np.full(u.shape[0], 1.0 / u.shape[0])
        rules.append(Rule(w=np.ascontiguousarray(w), b=b, weights=weights))
    return rules


def randomisation_error(values: FloatArray, level: float = 0.999) -> tuple[FloatArray, FloatArray]:
    """Mean over independent scramblings (axis 0) and a Student-t half-width of level `level`.

    values: (R, ...) results of R independently scrambled rules. Returns (mean, half_width).
    """
    values = np.asarray(values, dtype=float)
    r = values.shape[0]
    mean = values.mean(axis=0)
    se = values.std(axis=0, ddof=1) / math.sqrt(r)
    return mean, float(stats.t.ppf(0.5 + level / 2.0, r - 1)) * se
