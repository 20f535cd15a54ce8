"""The word length a limit-accuracy target asks (issue 17, item 3: the report says what it
chose and why, and what a missed target would need): the measured differences between
consecutive lengths kept with the cached limit, the length the (j - 1) rho^j truncation tail
projects for a target (numerics.truncation.length_for_tail, less delta's other parts), and the
advice the report's note and ``rnnkl limit --accuracy`` give with it: the length, its word
count and planned peak memory against the memory cap and this machine's memory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from numerics.costs import (
    MemoryCap,
    format_bytes,
    limit_request_bytes,
    memory_cap,
    physical_memory,
    power,
)
from numerics.truncation import first_valid_level, length_for_tail

# the senses of numerics.truncation the report's statistics use: "path" (the main theorem's
# path statistic), "words" (the frozen network on words)
CHECK_SENSES = ("path", "words")


def difference_arrays(differences: Mapping[str, Mapping[int, float]]) -> dict[str, np.ndarray]:
    """The measured differences between consecutive lengths of the CHECK_SENSES as arrays for the
    cache: "difference_levels" (the lengths j) and "difference_<sense>" (diff_j, NaN where not
    measured); read back by :func:`measured_differences`."""
    levels = sorted({int(j) for sense in CHECK_SENSES for j in differences.get(sense, {})})
    return {"difference_levels": np.array(levels, dtype=np.int64),
            **{f"difference_{sense}": np.array([differences.get(sense, {}).get(j, np.nan)
                                                for j in levels], dtype=float)
               for sense in CHECK_SENSES}}


def measured_differences(limit: Mapping[str, np.ndarray]) -> dict[str, dict[int, float]]:
    """{sense: {j: diff_j}} of :func:`difference_arrays`' output."""
    levels = [int(j) for j in limit["difference_levels"]]
    return {sense: {j: float(v) for j, v in zip(levels, limit[f"difference_{sense}"],
                                                 strict=True) if np.isfinite(v)}
            for sense in CHECK_SENSES}


def needed_length(differences: Mapping[str, Mapping[int, float]], rho: float, lag: int, L: int,
                  deltas: Mapping[str, float], truncations: Mapping[str, float],
                  targets: Mapping[str, float]) -> int | None:
    """The word length at which delta_sense <= targets[sense] in every sense of ``targets``, as
    projected by the (L - 1) rho^L tail (numerics.truncation.length_for_tail, from the levels
    measured at L): the tail must fall to the target less delta's other parts (quadrature,
    spectral, rounding), held at their values at L. A projection for the user's next run, not a
    measurement. None when no length does (the other parts alone exceed a target, or no tail
    was measured)."""
    lengths = [L]
    for sense, target in targets.items():
        if deltas[sense] <= target:
            continue
        other_parts = deltas[sense] - truncations[sense]  # NaN when no tail was measured
        needed = length_for_tail(differences[sense], L, rho, target - other_parts,
                                 first_valid_level(lag))
        if needed is None:
            return None
        lengths.append(needed)
    return max(lengths)


def length_hint(config: Any, needed: int | None, field: str = "[limit] word_length",
                groups: bool = True, cap: MemoryCap | None = None) -> str:
    """What the user can do about a limit error above its target: the projected word length of
    :func:`needed_length`, its word count and planned peak memory (numerics.costs.
    limit_request_bytes of :func:`select_limit`'s request; ``groups``: with the kernel's
    groups, as the report keeps them) against the memory ``cap`` (default: numerics.costs.
    memory_cap without a flag, the environment's or half this machine's; the checks are not
    told a report's --memory-cap) and this machine's memory, or why no longer word length
    helps here."""
    if needed is None:
        return ("no word length meets it by the (L - 1) rho^L tail: delta's other parts "
                "(kernel quadrature, spectral and rounding bounds) alone exceed it, or no two "
                "lengths were measured")
    m = int(config.chain.m)
    peak = limit_request_bytes(config, needed, truncation="previous", groups=groups)
    text = (f"the (L - 1) rho^L tail extrapolated from the measured lengths meets it at "
            f"L = {needed} ({m}^{needed} = {power(m, needed):.3g} words, planned peak about "
            f"{format_bytes(peak)})")
    total = physical_memory()
    if total > 0 and peak > total:
        return (f"{text}: more than this machine's memory ({format_bytes(total)}), so the "
                "limit on words cannot reach it here")
    cap = memory_cap() if cap is None else cap
    if peak > cap.bytes:
        return (f"{text}: raise {field} to {needed} and the memory cap (now "
                f"{format_bytes(cap.bytes)}, {cap.source}) to at least {format_bytes(peak)}")
    return f"{text}: raise {field} to {needed}"
