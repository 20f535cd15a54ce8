"""One pass over a quadrature rule's nodes: the sums sum_nodes weight x feature feature^T that
make the kernel of theory.md §3 on words (numerics.kernel), per group and per subset of the
nodes, for one or several word lengths, node chunk by node chunk (the chunk's features within
_CHUNK_BYTES) and, for the longest length, optionally one block of rows at a time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from numerics import generated
from numerics.activations import activation_functions
from numerics.blockwise import symmetrise_in_place
from numerics.quadrature import Rule
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
    equal within the summation-order bound). Memory: the outputs (groups + subsets + cross per
    length) plus one product buffer of the largest output shape and one node chunk of features
    (_CHUNK_BYTES): nodes are visited part by part (the parts cut by the subsets), so every
    chunk lies in one part and its product is added once to its group and once to each subset
    holding it. ``per_group`` False: the subset totals only (by_group is empty, not allocated).
    """
    act = activation_functions(spec.activation)
    m, d = spec.states.shape
    longest = max(lengths)
    chunk = max(32, int(_CHUNK_BYTES / (8.0 * m**longest * (d + 3) * 1.6)))
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
    # parts: nodes with the same subset membership, in order of first appearance
    signature = np.packbits(masks, axis=0).T if subsets else np.zeros((rule.size, 1), np.uint8)
    _, first, part_of = np.unique(signature, axis=0, return_index=True, return_inverse=True)
    for part in np.argsort(first):
        nodes = np.flatnonzero(part_of.ravel() == part)
        member = [name for i, name in enumerate(subsets) if masks[i, nodes[0]]]
        for start in range(0, nodes.size, chunk):
            idx = nodes[start:start + chunk]
            features = word_features_by_level(longest, spec.states, rule.w[idx], rule.b[idx],
                                              act, levels)
            r = root[idx]
            for g in spec.groups:
                phis = {}
                for length, (S, Gw, Gb) in features.items():
                    keep = chosen.get(length)
                    if keep is not None and keep.size != S.shape[0]:
                        S, Gw, Gb = S[keep], Gw[:, keep], Gb[keep]
                    phi = _group_features(g, S, Gw, Gb)
                    phi *= np.tile(r, phi.shape[1] // r.shape[0]) if g == "w" else r
                    phis[length] = phi
                for length in chosen if per_group or member else ():
                    phi = phis[length]
                    product = buffer[:shape[length][0] * shape[length][1]].reshape(shape[length])
                    if blocked and length == longest:  # the upper block row (GEMM)
                        np.matmul(phi[r0:r1], phi[r0:].T, out=product)
                    else:  # the whole symmetric product (SYRK)
                        np.matmul(phi, phi.T, out=product)
                    product *= scales[g]
                    if per_group:
                        sums[length].by_group[g] += product
                    for name in member:
                        sums[length].subset_totals[name] += product
                for short, long in pairs:
                    columns = phis[long][r0:r1] if blocked and long == longest else phis[long]
                    size = cross_shape[short, long]
                    product = buffer[:size[0] * size[1]].reshape(size)
                    np.matmul(phis[short], columns.T, out=product)
                    product *= scales[g]
                    sums[long].cross[short] += product
    for length, out in sums.items():
        for array in (*out.by_group.values(), *out.subset_totals.values()):
            # a block row holds its diagonal block in its first r1 - r0 columns
            symmetrise_in_place(array[:, :array.shape[0]] if length == longest else array)
    return sums
