"""One pass over a quadrature rule's nodes: the sums sum_nodes weight x feature feature^T that
make the kernel of theory.md §3 on words (numerics.kernel), per group and per subset of the
nodes, for one or several word lengths, node chunk by node chunk (the features of the two
chunks in flight within _CHUNK_BYTES) and, for the longest length, optionally one block of rows
at a time. The products run as tasks on numerics.task_pool's threads, cut by a fixed partition
of rows and columns: the sums are the same bits whatever the thread count."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from numerics import generated
from numerics.activations import activation_functions
from numerics.blockwise import mirror_upper, symmetrise_in_place
from numerics.quadrature import Rule
from numerics.task_pool import fixed_blocks, run_all, submit_background, thread_count
from numerics.word_features import word_features_by_level

if TYPE_CHECKING:
    from numerics.kernel import KernelSpec

FloatArray = NDArray[np.float64]
_CHUNK_BYTES = 3e8  # features of one node chunk (all words): the assembly's working set


def _group_features(group: str, S: FloatArray, Gw: FloatArray, Gb: FloatArray) -> FloatArray:
    """Feature matrix of a group: (n_words, n_nodes * k) with K_group ~ Phi W Phi^T.

    Gw is component-first (d, n_words, n_nodes); its components are concatenated node-blocks.
    """
    if group == "c":
        return S
    if group == "w":
        return Gw[0] if Gw.shape[0] == 1 else np.concatenate(list(Gw), axis=1)
    return Gb


def _group_scale(group: str, spec: KernelSpec) -> float:
    """The factor of the group's kernel integrand (theory.md §3) that does not depend on the
    features: the generated numerics.generated.kernel_integrand_<group> at c = c_std and unit
    features, i.e. E[c^2] = c_std^2 for w and b (the integrand is c^2 times a c-free product and
    c is independent of (w, b) under mu_0), 1 for c. The feature product itself is summed over
    the quadrature nodes as Phi Phi^T in :func:`accumulate`, the BLAS twin of summing the
    generated integrand node by node (tests/test_kernel.py holds the two equal)."""
    if group == "c":
        return float(generated.kernel_integrand_c(1.0, 1.0))
    if group == "w":
        return float(generated.kernel_integrand_w(spec.c_std, 1.0))
    return float(generated.kernel_integrand_b(spec.c_std, 1.0, 1.0))


@dataclass(frozen=True)
class _Sums:
    """What one pass over a rule's nodes accumulates: per group the sum over all nodes
    (by_group, scaled by the group factor) and, for each named subset of the nodes, the sum
    over that subset of all groups together (subset_totals). Arrays (n_sel, n_sel). ``cross``:
    per shorter length s, the sum over all nodes and groups of the products of the length-s
    features with this length's, (m^s, n_sel) (the cross kernel, :func:`accumulate`)."""

    by_group: dict[str, FloatArray]
    subset_totals: dict[str, FloatArray]
    cross: dict[int, FloatArray] = field(default_factory=dict)


def accumulate(
    spec: KernelSpec, lengths: tuple[int, ...], rule: Rule, select: NDArray[np.int64] | None,
    subsets: dict[str, NDArray[np.bool_]] | None = None, per_group: bool = True,
    rows: tuple[int, int] | None = None, pairs: tuple[tuple[int, int], ...] = (),
) -> dict[int, _Sums]:
    """Per word length l in ``lengths``: sum_nodes weight * feature feature^T per group (scaled
    by E[c^2]) and the group totals over each subset of the nodes (``subsets``: name -> mask
    (rule.size,)), in one pass over the nodes (the shorter lengths' features are levels of the
    longest one's prefix tree, numerics.word_features.word_features_by_level).

    select: indices of the words of the longest length (lexicographic order) to return
    rows/cols for (None: all). ``rows`` = (r0, r1): for the longest length only the block of
    rows r0:r1 and columns r0: of the (symmetric) sums, arrays (r1 - r0, n_sel - r0): the
    upper block row, from which numerics.kernel assembles the matrix block by block.
    ``pairs``: (short, long) with long in ``lengths`` (short need not be): the cross kernel of
    theory.md §3 between the words of the two lengths, the sum over all nodes and groups of
    E[c^2]-scaled feature products, in ``[long].cross[short]``, (m^short, n_long) (for the
    longest length with ``rows``, its columns r0:r1), from the same features (numerics.limit's
    extension of g^long to the shorter words). A product with no destination (no group kept, no
    subset holding the node) is not computed.
    Features are scaled in place by sqrt(weight) (weights > 0), so each chunk is one
    symmetric product Phi Phi^T: the BLAS twin of summing the generated
    numerics.generated.kernel_integrand_<group> over the nodes (tests/test_kernel.py holds them
    equal within the summation-order bound). It is computed as its upper part, row block by row
    block (:func:`_upper_tasks`), the lower part mirrored once at the end. Memory: the outputs
    (groups + subsets + cross per length) plus one product buffer of the largest output shape
    (shared out among a chunk's tasks) and two node chunks of features (_CHUNK_BYTES / 2 each:
    with more than one thread the next chunk's features are computed while this one's products
    run): nodes are visited part by part (the parts cut by the subsets), so every chunk lies in
    one part and its product is added once to its group and once to each subset holding it.
    ``per_group`` False: the subset totals only (by_group is empty, not allocated).
    Reproducible: the chunks, the row and column blocks and the order of the additions into
    each entry are set by the rule and the words alone, never by the thread count
    (numerics.task_pool; tests/test_task_pool.py)."""
    act = activation_functions(spec.activation)
    m, d = spec.states.shape
    longest = max(lengths)
    # two chunks in flight (the one multiplied, the next one's features): each half the budget
    chunk = max(32, int(_CHUNK_BYTES / 2.0 / (8.0 * m**longest * (d + 3) * 1.6)))
    chosen = {l: np.arange(m**l) for l in lengths}
    if select is not None:
        if pairs:
            raise ValueError("accumulate: the cross kernel needs all words (select=None)")
        chosen[longest] = np.asarray(select, dtype=np.int64)
    n_sel = chosen[longest].size
    r0, r1 = rows if rows is not None else (0, n_sel)
    blocked = (r0, r1) != (0, n_sel)
    shape = {l: (k.size, k.size) for l, k in chosen.items()}
    shape[longest] = (r1 - r0, n_sel - r0)
    origin = {l: r0 if blocked and l == longest else 0 for l in chosen}  # first row kept
    cross_shape = {(s, l): (m**s, shape[l][0]) for s, l in pairs}
    subsets = subsets or {}
    masks = np.stack([subsets[name] for name in subsets]) if subsets else np.zeros((0, rule.size),
                                                                                   dtype=bool)
    sums = {l: _Sums({g: np.zeros(shape[l]) for g in spec.groups} if per_group else {},
                     {name: np.zeros(shape[l]) for name in subsets},
                     {s: np.zeros(cross_shape[s, long]) for s, long in pairs if long == l})
            for l in chosen}
    scales = {g: _group_scale(g, spec) for g in spec.groups}
    buffer = np.empty(max(a * b for a, b in (*shape.values(), *cross_shape.values())))
    root = np.sqrt(rule.weights)
    levels = tuple(sorted(set(lengths) | {s for s, _ in pairs}))

    def features_of(idx: NDArray[np.int64]) -> dict[tuple[str, int], FloatArray]:
        """The chunk's scaled features per (group, length), sqrt(weight) times theory.md §3's."""
        features = word_features_by_level(longest, spec.states, rule.w[idx], rule.b[idx], act,
                                          levels)
        r = root[idx]
        phis = {}
        for length, (S, Gw, Gb) in features.items():
            keep = chosen.get(length)
            if keep is not None and keep.size != S.shape[0]:
                S, Gw, Gb = S[keep], Gw[:, keep], Gb[keep]
            for g in spec.groups:
                phi = _group_features(g, S, Gw, Gb)
                phi *= np.tile(r, phi.shape[1] // r.shape[0]) if g == "w" else r
                phis[g, length] = phi
        return phis

    # parts: nodes with the same subset membership, in order of first appearance; chunks of
    # ``chunk`` nodes within a part (a partition set by the rule and the words alone)
    signature = np.packbits(masks, axis=0).T if subsets else np.zeros((rule.size, 1), np.uint8)
    _, first, part_of = np.unique(signature, axis=0, return_index=True, return_inverse=True)
    work = []
    for part in np.argsort(first):
        nodes = np.flatnonzero(part_of.ravel() == part)
        member = tuple(name for i, name in enumerate(subsets) if masks[i, nodes[0]])
        work += [(nodes[start:start + chunk], member) for start in range(0, nodes.size, chunk)]
    ahead = thread_count() > 1  # the next chunk's features while this one is multiplied
    pending = submit_background(features_of, work[0][0]) if ahead and work else None
    for i, (idx, member) in enumerate(work):
        phis = pending.result() if pending is not None else features_of(idx)
        if ahead and i + 1 < len(work):
            pending = submit_background(features_of, work[i + 1][0])
        for length in chosen if per_group or member else ():
            out = sums[length]
            targets = {g: ([out.by_group[g]] if per_group else [])
                       + [out.subset_totals[name] for name in member] for g in spec.groups}
            run_all(_upper_tasks({g: phis[g, length][origin[length]:] for g in spec.groups},
                                 scales, targets, shape[length], buffer))
        for short, long in pairs:
            columns = {g: phis[g, long][r0:r1] if blocked and long == longest else phis[g, long]
                       for g in spec.groups}
            run_all(_cross_tasks({g: phis[g, short] for g in spec.groups}, columns, scales,
                                 sums[long].cross[short], buffer))
    for out in sums.values():
        for array in (*out.by_group.values(), *out.subset_totals.values()):
            # a block row holds its diagonal block in its first r1 - r0 columns
            square = array[:, :array.shape[0]]
            blocks = _row_tasks(square.shape[0])
            for b0, b1 in blocks:
                symmetrise_in_place(square[b0:b1, b0:b1])
            mirror_upper(square, blocks)
    return sums


# The products of one chunk are cut into tasks by rows (the upper part of a symmetric sum: a
# block of rows from its diagonal on) or by columns (a cross kernel), a partition set by the
# matrix's shape alone (numerics.task_pool); each task writes its own rows or columns of every
# output, group after group, from its own part of the product buffer.
_TASK_ROWS = 8  # row blocks of a symmetric sum (the GEMMs of the upper part: 1 + 1/8 x SYRK's)
_TASK_COLUMNS = 4  # column blocks of a cross kernel
_MIN_TASK = 32  # rows or columns of the smallest task


def _row_tasks(n: int) -> list[tuple[int, int]]:
    """The row blocks of the upper part of an (n, .) symmetric sum."""
    return fixed_blocks(n, max(_MIN_TASK, -(-n // _TASK_ROWS)))


def _upper_tasks(phis: dict[str, FloatArray], scales: dict[str, float],
                 targets: dict[str, list[FloatArray]], shape: tuple[int, int],
                 buffer: FloatArray) -> list[Callable[[], None]]:
    """One task per row block (b0, b1) of a block row (phis[g]: features (h', k) from the block
    row's first row on; targets of ``shape`` (h, h'), h <= h'): for each group g in order,
    target[b0:b1, b0:] += scale_g phi[b0:b1] phi[b0:]^T for each of its targets; the lower
    part is filled at the end (:func:`accumulate`, mirror_upper). Each task has a part of
    ``buffer`` of its own."""
    h, width = shape
    tasks, offset = [], 0
    for b0, b1 in _row_tasks(h):
        size = (b1 - b0) * (width - b0)
        product = buffer[offset:offset + size].reshape(b1 - b0, width - b0)
        offset += size
        tasks.append(partial(_upper_task, phis, scales, targets, product, b0, b1))
    return tasks


def _upper_task(phis: dict[str, FloatArray], scales: dict[str, float],
                targets: dict[str, list[FloatArray]], product: FloatArray, b0: int,
                b1: int) -> None:
    """One task of :func:`_upper_tasks`: rows b0:b1 of the upper part, ``product`` of shape
    (b1 - b0, h' - b0) its own part of the buffer."""
    for g, phi in phis.items():
        if not targets[g]:
            continue
        np.matmul(phi[b0:b1], phi[b0:].T, out=product)
        product *= scales[g]
        for target in targets[g]:
            target[b0:b1, b0:] += product


def _cross_tasks(short: dict[str, FloatArray], columns: dict[str, FloatArray],
                 scales: dict[str, float], target: FloatArray,
                 buffer: FloatArray) -> list[Callable[[], None]]:
    """For each column block (c0, c1) of ``target`` (n_short, n): target[:, c0:c1] +=
    scale_g short[g] columns[g][c0:c1]^T for each group g in order."""
    rows, n = target.shape
    tasks, offset = [], 0
    for c0, c1 in fixed_blocks(n, max(_MIN_TASK, -(-n // _TASK_COLUMNS))):
        product = buffer[offset:offset + rows * (c1 - c0)].reshape(rows, c1 - c0)
        offset += rows * (c1 - c0)
        tasks.append(partial(_cross_task, short, columns, scales, target, product, c0, c1))
    return tasks


def _cross_task(short: dict[str, FloatArray], columns: dict[str, FloatArray],
                scales: dict[str, float], target: FloatArray, product: FloatArray, c0: int,
                c1: int) -> None:
    """One task of :func:`_cross_tasks`: columns c0:c1, ``product`` of shape
    (n_short, c1 - c0) its own part of the buffer."""
    for g, phi in short.items():
        np.matmul(phi, columns[g][c0:c1].T, out=product)
        product *= scales[g]
        target[:, c0:c1] += product

