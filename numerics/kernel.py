"""The limit kernel A(u, v) on words (theory.md §3-§4), by quadrature over theta, per group.

For a word u = (u_1, ..., u_L) (oldest symbol first, :mod:`numerics.words` order) the memory
and tangent fixed points of theory.md §3 are approximated by running the recursion from
S = G^w = G^b = 0 before the oldest symbol (truncation O(rho^L), theory.md §4):

    z = w . x + b S_prev,  S = sigma(z),
    G^w = sigma'(z) (x + b G^w_prev),  G^b = sigma'(z) (S_prev + b G^b_prev).

Kernel groups (only trainable ones enter; theory.md §3):
    c: E[S S'],   w: E[c^2] E[G^w . G^w'],   b: E[c^2] E[G^b G^b'],   E[c^2] = c_std^2 exact.

Efficiency: the features of all m^L words are computed on the prefix tree
(numerics.word_features), node chunk by node chunk, and each group's kernel is accumulated
as K += Phi diag(weights) Phi^T (a symmetric rank-k update). For an odd activation
(derivations.activations.is_odd) the tensor rules are folded onto the half-space w_1 > 0
(numerics.quadrature.fold_plan): the integrands are even in w, so half the nodes give the
same sums.
Quadrature rules and their error estimates: :mod:`numerics.quadrature`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from derivations.activations import activation_constants
from derivations.errors import InputError
from numerics.blockwise import max_abs_difference, mirror_upper, row_blocks, total_of
from numerics.costs import KERNEL_BLOCK_BYTES
from numerics.kernel_errors import step_halving_error, tail_constant
from numerics.kernel_sums import accumulate
from numerics.quadrature import (
    QuadratureSettings,
    default_settings,
    fold_plan,
    randomisation_error,
    settings_ladder,
    sobol_rules,
    tensor_plan,
    trimmed_settings,
)

FloatArray = NDArray[np.float64]
GROUPS: tuple[str, ...] = ("c", "w", "b")
# The share of a kernel's accuracy target that a trimmed tensor rule's tail bound may take
# (kernels_to_accuracy); the rest is left to the step-halving and Legendre estimates, which are
# known only once the kernel is assembled (5e-6 of the quick budget's 2e-5 on the d = 2
# example at L = 6).
TAIL_SHARE = 0.1


class KernelToleranceError(InputError):
    """A kernel (or limit) error estimate exceeds the requested tolerance."""


@dataclass(frozen=True)
class KernelSpec:
    """What the kernel depends on: activation name, init scales, trainable groups, states.

    states: (m, d) the chain's states xi_1..xi_m.
    """

    activation: str
    states: FloatArray
    c_std: float
    w_std: float
    b_max: float
    groups: tuple[str, ...]


@dataclass(frozen=True)
class KernelResult:
    """K (n, n) on words (in the order of the ``words`` argument) with error estimates.

    by_group: the K of each trainable group (sum = K); empty when not asked for
    (:func:`kernel_on_words` ``by_group=False``). error: max-abs elementwise estimate of
    the quadrature error of K (sum of the parts). error_parts: "w_step" (halving h, 2h, 4h:
    numerics.kernel_errors.step_halving_error), "b_nodes" (|Q_n - Q_2n|), "tail" (bound on
    the neglected Gaussian tail) or "sobol" (Student-t 99.9% half-width over scramblings);
    mode says which ("differences" or "replicates"). numerics.limit propagates ``error`` by a
    rigorous bound. cross: per shorter length s asked for (:func:`kernels_on_words` ``pairs``),
    the kernel between the words of length s and these, (m^s, n), by the value rule of K.
    """

    K: FloatArray
    by_group: dict[str, FloatArray]
    error: float
    error_parts: dict[str, float]
    mode: str
    rule_sizes: dict[str, int]
    rule: str = ""  # the quadrature rule in words (what the report tells the user)
    settings: QuadratureSettings | None = None  # the rule's parameters
    cross: dict[int, FloatArray] = field(default_factory=dict, repr=False)


def spec_from_config(config: object) -> KernelSpec:
    """KernelSpec of a derivations.inputs.config.Config (states as floats, trainable groups)."""
    from derivations.inputs.config import states_array  # config engineer's loader

    return KernelSpec(
        activation=config.network.activation,
        states=np.asarray(states_array(config.chain), dtype=float),
        c_std=float(config.init.c_std),
        w_std=float(config.init.w_std),
        b_max=float(config.init.b_max),
        groups=tuple(g for g in GROUPS if g in config.network.trainable),
    )


def kernel_on_words(
    spec: KernelSpec,
    word_length: int,
    settings: QuadratureSettings | None = None,
    select: NDArray[np.int64] | None = None,
    tolerance: float | None = None,
    by_group: bool = True,
) -> KernelResult:
    """theory.md §3-§4 kernel K_uv = A(u, v) on the m^L words (or the ``select``-ed ones):
    :func:`kernels_on_words` for one length. Raises KernelToleranceError if ``tolerance`` is
    given and the total error estimate exceeds it."""
    result = kernels_on_words(spec, (word_length,), settings, select, by_group)[word_length]
    if tolerance is not None and result.error > tolerance:
        parts = ", ".join(f"{k}={v:.2g}" for k, v in result.error_parts.items())
        raise KernelToleranceError(
            f"kernel quadrature error estimate {result.error:.3g} exceeds the tolerance "
            f"{tolerance:.3g} ({parts})")
    return result


def kernels_on_words(
    spec: KernelSpec,
    lengths: tuple[int, ...],
    settings: QuadratureSettings | None = None,
    select: NDArray[np.int64] | None = None,
    by_group: bool = True,
    block_bytes: float | None = None,
    pairs: tuple[tuple[int, int], ...] = (),
) -> dict[int, KernelResult]:
    """theory.md §3-§4 kernel K_uv = A(u, v) on the m^l words of each length l in ``lengths``,
    in one pass over the quadrature nodes (the shorter lengths' features are levels of the
    longest one's prefix tree: the truncation estimate of numerics.limit reuses the longer
    length's work); ``select``: the rows/cols of the longest length to keep.
    ``pairs``: (short, long) of lengths in ``lengths``, short < long: the cross kernel between
    their words, assembled in the same pass by the value rule below (no error estimate of its
    own: it serves numerics.limit's truncation estimate, a difference of two solutions, in which
    the quadrature error enters at second order), in ``results[long].cross[short]``
    (m^short, m^long); needs ``select`` None.

    Tensor rules (d <= 2), folded to the half-space for an odd activation
    (numerics.quadrature.fold_plan): value Q(h, 2n); error parts "w_step" =
    numerics.kernel_errors.step_halving_error of Q(h, 2n), Q(2h, 2n), Q(4h, 2n) (the step-2h
    and 4h rules are subsets of the nodes), "b_nodes" = max|Q(2h, n) - Q(2h, 2n)|,
    "tail" = B * d^2 * tail_mass(a) (quadrature.tail_mass).
    Sobol (d > 2): mean over scramblings, "sobol" = max Student-t half-width.
    ``by_group`` False (tensor rules): K and its error only, ``by_group`` empty; two (n, n)
    arrays fewer at the peak, for callers that need no group's kernel (``rnnkl limit``).
    Memory (tensor rules): the outputs (n, n) plus, while they are assembled, the working
    arrays of one block of rows, at most ``block_bytes`` (default numerics.costs.
    KERNEL_BLOCK_BYTES); the matrix is assembled block row by block row (upper part, then
    mirrored) when the whole working set (4 to 6 arrays of n^2) would not fit in it, at the
    price of computing the features once per block.
    """
    m, d = spec.states.shape
    if not spec.groups:
        raise InputError("no trainable group: the kernel is zero")
    lengths = tuple(sorted(set(int(length) for length in lengths)))
    pairs = tuple((int(short), int(long)) for short, long in pairs)
    if any(short not in lengths or long not in lengths or short >= long for short, long in pairs):
        raise ValueError(f"kernels_on_words: pairs {pairs} are not (short, long) of {lengths}")
    settings = settings or default_settings(d)
    if d > 2:
        rules = sobol_rules(d, spec.w_std, spec.b_max, settings)
        reps = [accumulate(spec, lengths, r, select, pairs=pairs) for r in rules]
        results = {}
        for length in lengths:
            groups = [rep[length].by_group for rep in reps]
            K, half = randomisation_error(np.stack([total_of(g) for g in groups]))
            results[length] = KernelResult(
                K=K, by_group={g: np.mean([rep[g] for rep in groups], axis=0)
                               for g in spec.groups},
                error=float(np.max(half)), error_parts={"sobol": float(np.max(half))},
                mode="replicates",
                rule_sizes={"sobol": rules[0].size, "scramblings": len(rules)},
                rule=(f"scrambled Sobol, {rules[0].size} points x {len(rules)} scramblings "
                      "(randomisation error estimate)"), settings=settings,
                cross={short: np.mean([rep[length].cross[short] for rep in reps], axis=0)
                       for short, long in pairs if long == length})
        return results
    return _tensor_kernels(spec, lengths, settings, select, by_group,
                           KERNEL_BLOCK_BYTES if block_bytes is None else float(block_bytes),
                           pairs)


def _tensor_kernels(spec: KernelSpec, lengths: tuple[int, ...], settings: QuadratureSettings,
                    select: NDArray[np.int64] | None, by_group: bool, block_bytes: float,
                    pairs: tuple[tuple[int, int], ...] = ()) -> dict[int, KernelResult]:
    """The tensor-rule branch of :func:`kernels_on_words`, block row by block row of the
    longest length (blockwise.row_blocks: the block's arrays within ``block_bytes``; one block,
    the whole matrix, when they fit); a cross kernel to the longest length block of columns by
    block of columns."""
    m, d = spec.states.shape
    plan = tensor_plan(d, spec.w_std, spec.b_max, settings)
    folded = activation_constants(spec.activation).odd
    if folded:
        plan = fold_plan(plan)  # even integrands: half the nodes, the same sums
    # one pass over the fine nodes: each group's Q(h, 2n), and the totals over the nodes
    # of the step-2h and step-4h grids; a second pass: the total Q(2h, n)
    subsets = {"coarse": plan.on_coarse, "coarser": plan.on_coarser}
    if not by_group:
        subsets["fine"] = np.ones(plan.fine.size, dtype=bool)
    everything = {"all": np.ones(plan.coarse_b.size, dtype=bool)}
    # coarse-grid weight (2h)^d phi = 2^d x fine weight, (4h)^d phi = 4^d x fine weight
    # (one node, weight 1, if w_std = 0)
    scale = 2.0**d if spec.w_std != 0.0 else 1.0
    longest = max(lengths)
    n = m**longest if select is None else len(select)
    # a block row's arrays: the fine values (groups, or their total), Q(2h), Q(4h), the product
    blocks = row_blocks(n, (len(spec.groups) if by_group else 1) + 3, block_bytes)
    errors = {length: {"w_step": 0.0, "b_nodes": 0.0} for length in lengths}
    values: dict[int, dict[str, FloatArray]] = {}
    cross: dict[tuple[int, int], FloatArray] = {}
    for i, (r0, r1) in enumerate(blocks):
        these = lengths if i == 0 else (longest,)  # shorter lengths: whole, with block 0
        rows = None if len(blocks) == 1 else (r0, r1)
        now = tuple(pair for pair in pairs if i == 0 or pair[1] == longest)
        sums = accumulate(spec, these, plan.fine, select, subsets, by_group, rows, now)
        Kw = {}
        for length in these:
            out = sums.pop(length)
            for short, part in out.cross.items():
                if rows is None or length != longest:
                    cross[short, length] = part
                else:  # the block's columns of the cross kernel
                    cross.setdefault((short, length), np.empty((m**short, n)))[:, r0:r1] = part
            out.cross.clear()
            fine = out.by_group if by_group else {"K": out.subset_totals.pop("fine")}
            Kw[length] = out.subset_totals.pop("coarse")
            Kw[length] *= scale
            K4 = out.subset_totals.pop("coarser")
            K4 *= scale**2
            # Q(h) vs Q(2h) vs Q(4h): step halving (Q(h) summed row block by row block from its
            # groups); Q(2h, n) vs Q(2h, 2n): Legendre n vs 2n. The order keeps at most 6
            # arrays of the block's shape per length alive: the groups, Kw, K4 (or Kb), the
            # product buffer. Each estimate is a max over entries: over blocks, the max again.
            w_step = step_halving_error(tuple(fine.values()), Kw[length], K4)
            errors[length]["w_step"] = max(errors[length]["w_step"], w_step)
            del K4, out
            if rows is None or length != longest:
                values[length] = fine
            else:  # the block row into the whole matrix (its lower part: mirrored at the end)
                whole = values.setdefault(length, {key: np.empty((n, n)) for key in fine})
                for key in list(fine):
                    whole[key][r0:r1, r0:] = fine.pop(key)
        coarse_b = accumulate(spec, these, plan.coarse_b, select, everything, False, rows)
        for length in these:
            Kb = coarse_b.pop(length).subset_totals["all"]
            b_nodes = max_abs_difference(Kb, Kw.pop(length))
            errors[length]["b_nodes"] = max(errors[length]["b_nodes"], b_nodes)
            del Kb
    if len(blocks) > 1:
        for array in values[longest].values():
            mirror_upper(array, blocks)
    results = {}
    for length in lengths:
        fine = values.pop(length)
        parts = dict(errors[length], tail=tail_bound(spec) * plan.tail)
        results[length] = KernelResult(
            K=total_of(fine) if by_group else fine["K"], by_group=fine if by_group else {},
            error=sum(parts.values()), error_parts=parts, mode="differences",
            rule_sizes={"fine": plan.fine.size, "coarse_b": plan.coarse_b.size,
                        "row_blocks": len(blocks)},
            rule=_describe(settings, d, plan.fine.size, folded, spec.w_std),
            settings=settings,
            cross={short: cross.pop((short, long)) for short, long in pairs if long == length})
    return results


def cross_kernel(spec: KernelSpec, short: int, long: int,
                 settings: QuadratureSettings | None = None) -> FloatArray:
    """theory.md §3-§4 kernel between the m^short words of length ``short`` and the m^long
    of length ``long`` (each read from S = G = 0 before its oldest symbol), (m^short, m^long),
    by the value rule of :func:`kernels_on_words` for the same ``settings``: the fine tensor
    rule (folded for an odd activation), or the mean over the Sobol scramblings (d > 2); the
    same node sums (numerics.kernel_sums.accumulate) as ``kernels_on_words(pairs=...)``, alone
    (no kernel of either length is computed). ``short`` <= ``long``."""
    m, d = spec.states.shape
    settings = settings or default_settings(d)
    if d > 2:
        rules = sobol_rules(d, spec.w_std, spec.b_max, settings)
    else:
        plan = tensor_plan(d, spec.w_std, spec.b_max, settings)
        if activation_constants(spec.activation).odd:
            plan = fold_plan(plan)
        rules = [plan.fine]
    short, long = int(short), int(long)
    return np.mean([accumulate(spec, (long,), rule, None, per_group=False,
                               pairs=((short, long),))[long].cross[short] for rule in rules],
                   axis=0)


def tail_bound(spec: KernelSpec) -> float:
    """The tail error of a tensor rule per unit of its neglected Gaussian mass
    (numerics.quadrature.neglected_tail): the integrand bound summed over groups
    (numerics.kernel_errors.tail_constant) times d^2, the "tail" part of
    :func:`kernels_on_words`'s estimate (1 for d = 1; for d = 2 a conservative factor kept as
    it was). One home: the estimate and the trimming (:func:`kernels_to_accuracy`) use it."""
    d = int(spec.states.shape[1])
    return tail_constant(spec) * d * d


def _describe(settings: QuadratureSettings, d: int, nodes: int, folded: bool,
              w_std: float) -> str:
    """A tensor rule in words, e.g. "trapezoid in z = w / w_std, step 0.1 on the disc
    |z| <= 8 x 16 Legendre nodes in b, folded onto w_1 > 0 (odd activation): 160656 nodes";
    w_std = 0: the single node w = 0 (quadrature.tensor_rule), "w = 0 (w_std = 0) x 16
    Legendre nodes in b: 16 nodes"."""
    if w_std == 0.0:
        return (f"w = 0 (w_std = 0) x {settings.b_nodes} Legendre nodes in b: {nodes} nodes")
    domain = (f"the disc |z| <= {settings.half_width:g}" if settings.disc and d == 2 else
              f"[-{settings.half_width:g}, {settings.half_width:g}]"
              + (f"^{d}" if d > 1 else ""))
    fold = ", folded onto w_1 > 0 (odd activation)" if folded else ""
    return (f"trapezoid in z = w / w_std, step {settings.w_step:g} on {domain} x "
            f"{settings.b_nodes} Legendre nodes in b{fold}: {nodes} nodes")


def kernel_to_accuracy(
    spec: KernelSpec,
    word_length: int,
    accuracy: float,
    select: NDArray[np.int64] | None = None,
    by_group: bool = True,
) -> KernelResult:
    """:func:`kernel_on_words` with the cheapest rule of
    :func:`numerics.quadrature.settings_ladder` whose own error estimate is <= ``accuracy``
    (the last rung's result when none is, trimmed as in :func:`kernels_to_accuracy`: its
    estimate then says how far it is)."""
    return kernels_to_accuracy(spec, (word_length,), accuracy, select, by_group)[word_length]


def kernels_to_accuracy(
    spec: KernelSpec,
    lengths: tuple[int, ...],
    accuracy: float,
    select: NDArray[np.int64] | None = None,
    by_group: bool = True,
    pairs: tuple[tuple[int, int], ...] = (),
) -> dict[int, KernelResult]:
    """:func:`kernels_on_words` (several word lengths in one pass, with the cross kernels of
    ``pairs``) with the cheapest rule of the ladder whose largest estimate over the lengths is
    <= ``accuracy`` (as :func:`kernel_to_accuracy`). A tensor rule (d <= 2) is first tried
    trimmed (numerics.quadrature.trimmed_settings) to the half-width whose tail bound takes at
    most TAIL_SHARE of ``accuracy``, a third fewer nodes on the d = 2 example at the quick
    budget's target; the rung at its full width follows only when the trimmed rule failed by
    its tail alone (its other estimates meet ``accuracy``)."""
    d = spec.states.shape[1]
    bound = tail_bound(spec) if d <= 2 and spec.w_std != 0.0 else math.inf
    results = None
    for rung in settings_ladder(d):
        trimmed = trimmed_settings(rung, d, bound, TAIL_SHARE * accuracy)
        for settings in ((trimmed, rung) if trimmed != rung else (rung,)):
            results = None  # the failed rule's kernel is freed before the next one is assembled
            results = kernels_on_words(spec, lengths, settings, select, by_group, pairs=pairs)
            # numbers only: a reference to a result would keep its n^2 arrays alive through
            # the next rule's assembly (measured: 8.8 GiB instead of 5.0 GiB at L = 9)
            error = max(result.error for result in results.values())
            tail = max(result.error_parts.get("tail", 0.0) for result in results.values())
            if error <= accuracy:
                return results
            if error - tail > accuracy:
                break  # the full width has the same other estimates: the next rung
    assert results is not None
    return results
