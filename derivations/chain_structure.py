"""Irreducibility and period of a finite Markov chain from its positivity pattern (theory.md §1).

Pure Python and exact: only *which* transitions P_ij are positive matters, so the verdicts are
graph facts about the directed graph with an edge i -> j whenever ``pattern[i][j]`` is true.

* irreducible  <=> the graph is strongly connected;
* period       =  gcd over edges (i -> j) of (level(i) + 1 - level(j)), level = BFS distance
  from state 0 (valid for a strongly connected graph);
* aperiodic    <=> irreducible with period 1 (the chain is then ergodic: P^k > 0 for some k).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from math import gcd

Pattern = Sequence[Sequence[bool]]


def _adjacency(pattern: Pattern) -> list[list[int]]:
    """Successor lists of the positivity pattern (m x m); checks that it is square."""
    m = len(pattern)
    if m == 0:
        raise ValueError("empty pattern: a chain needs at least one state")
    successors: list[list[int]] = []
    for i, row in enumerate(pattern):
        if len(row) != m:
            raise ValueError(f"pattern row {i} has {len(row)} entries, expected {m}")
        successors.append([j for j, positive in enumerate(row) if positive])
        if not successors[-1]:
            raise ValueError(f"pattern row {i} has no positive entry (P rows sum to 1)")
    return successors


def _bfs_levels(successors: list[list[int]], start: int = 0) -> list[int | None]:
    """Breadth-first distance from ``start`` (None for unreachable states)."""
    levels: list[int | None] = [None] * len(successors)
    levels[start] = 0
    queue = deque([start])
    while queue:
        i = queue.popleft()
        for j in successors[i]:
            if levels[j] is None:
                levels[j] = levels[i] + 1  # type: ignore[operator]
                queue.append(j)
    return levels


def _reverse(successors: list[list[int]]) -> list[list[int]]:
    predecessors: list[list[int]] = [[] for _ in successors]
    for i, row in enumerate(successors):
        for j in row:
            predecessors[j].append(i)
    return predecessors


def unreachable_pair(pattern: Pattern) -> tuple[int, int] | None:
    """A pair (i, j) of 0-based states with j not reachable from i, or None if irreducible."""
    successors = _adjacency(pattern)
    forward = _bfs_levels(successors)
    for j, level in enumerate(forward):
        if level is None:
            return (0, j)
    backward = _bfs_levels(_reverse(successors))
    for i, level in enumerate(backward):
        if level is None:
            return (i, 0)
    return None


def is_irreducible(pattern: Pattern) -> bool:
    """True when every state reaches every other (strongly connected graph). theory.md §1."""
    return unreachable_pair(pattern) is None


def period(pattern: Pattern) -> int:
    """The period of an irreducible chain: gcd of its cycle lengths. theory.md §1.

    Computed as gcd over edges (i -> j) of level(i) + 1 - level(j) with BFS levels from state 0.
    Raises ValueError for a reducible pattern (the period is a class property there).
    """
    successors = _adjacency(pattern)
    if not is_irreducible(pattern):
        raise ValueError("period is defined here for irreducible chains only")
    levels = _bfs_levels(successors)
    result = 0
    for i, row in enumerate(successors):
        for j in row:
            result = gcd(result, levels[i] + 1 - levels[j])  # type: ignore[operator]
    return result


def is_aperiodic(pattern: Pattern) -> bool:
    """True when the chain is irreducible with period 1 (primitive; ergodic). theory.md §1.

    A reducible pattern gives False: the suite only accepts irreducible aperiodic chains.
    """
    return is_irreducible(pattern) and period(pattern) == 1
