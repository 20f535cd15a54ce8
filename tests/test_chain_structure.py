"""Chain-structure verdicts (derivations/chain_structure.py) on hand-made chains and on
hypothesis-generated positivity patterns, against an independent check by integer matrix
powers: irreducible <=> (I + A)^(m-1) > 0; primitive (irreducible + aperiodic) <=>
A^((m-1)^2 + 1) > 0 (Wielandt's bound); period = gcd of the return times k <= m^2 of state 0."""

from __future__ import annotations

from math import gcd

import pytest
from hypothesis import given
from hypothesis import strategies as st

from derivations.chain_structure import is_aperiodic, is_irreducible, period, unreachable_pair


def _pattern(rows: list[str]) -> list[list[bool]]:
    return [[ch == "1" for ch in row] for row in rows]


def _bool_product(a: list[list[int]], b: list[list[int]]) -> list[list[int]]:
    """0/1 matrix product (integer arithmetic, clipped to 0/1 so entries stay small)."""
    n = len(a)
    return [[int(any(a[i][k] and b[k][j] for k in range(n))) for j in range(n)] for i in range(n)]


def _power(a: list[list[int]], k: int) -> list[list[int]]:
    n = len(a)
    result = [[int(i == j) for j in range(n)] for i in range(n)]
    for _ in range(k):
        result = _bool_product(result, a)
    return result


def _independent_verdicts(pattern: list[list[bool]]) -> tuple[bool, bool, int | None]:
    """(irreducible, primitive, period or None) from integer matrix powers only."""
    m = len(pattern)
    a = [[int(x) for x in row] for row in pattern]
    i_plus_a = [[int(a[i][j] or i == j) for j in range(m)] for i in range(m)]
    irreducible = all(all(row) for row in _power(i_plus_a, m - 1))
    primitive = all(all(row) for row in _power(a, (m - 1) ** 2 + 1))
    if not irreducible:
        return irreducible, primitive, None
    returns, current, g = [], [[int(i == j) for j in range(m)] for i in range(m)], 0
    for k in range(1, m * m + 1):
        current = _bool_product(current, a)
        if current[0][0]:
            returns.append(k)
            g = gcd(g, k)
    return irreducible, primitive, g


HAND_MADE = [
    # (name, pattern, irreducible, period)
    ("self-loop single state", ["1"], True, 1),
    ("two-state flip", ["01", "10"], True, 2),
    ("three-cycle", ["010", "001", "100"], True, 3),
    ("three-cycle with a self-loop", ["110", "001", "100"], True, 1),
    ("cycles of lengths 2 and 3", ["010", "101", "100"], True, 1),
    ("bipartite four-cycle with an even chord", ["0101", "1010", "0101", "1010"], True, 2),
    ("all positive", ["111", "111", "111"], True, 1),
    ("absorbing state", ["100", "110", "011"], False, None),
    ("two closed classes", ["1100", "1100", "0011", "0011"], False, None),
    ("transient state feeding a cycle", ["011", "001", "010"], False, None),
]


@pytest.mark.parametrize(("name", "rows", "irreducible", "expected_period"), HAND_MADE)
def test_hand_made_chains(name, rows, irreducible, expected_period):
    pattern = _pattern(rows)
    assert is_irreducible(pattern) is irreducible, name
    assert (unreachable_pair(pattern) is None) is irreducible, name
    if irreducible:
        assert period(pattern) == expected_period, name
        assert is_aperiodic(pattern) is (expected_period == 1), name
    else:
        assert is_aperiodic(pattern) is False
        with pytest.raises(ValueError):
            period(pattern)
    # the independent check agrees on the hand-made cases too (it can fail: see below)
    ind_irreducible, ind_primitive, ind_period = _independent_verdicts(pattern)
    assert ind_irreducible is irreducible
    assert ind_period == expected_period
    assert ind_primitive is (irreducible and expected_period == 1)


def test_unreachable_pair_names_a_real_gap():
    pattern = _pattern(["100", "110", "011"])
    i, j = unreachable_pair(pattern)
    reach = _power([[int(x or r == c) for c, x in enumerate(row)] for r, row in
                    enumerate(pattern)], 2)
    assert reach[i][j] == 0


def test_bad_patterns_are_rejected():
    with pytest.raises(ValueError, match="empty"):
        is_irreducible([])
    with pytest.raises(ValueError, match="entries"):
        is_irreducible([[True, True], [True]])
    with pytest.raises(ValueError, match="no positive entry"):
        is_irreducible([[True, False], [False, False]])


def test_independent_check_can_fail():
    """Negative control: the matrix-power oracle distinguishes periodic from primitive."""
    assert _independent_verdicts(_pattern(["010", "001", "100"])) == (True, False, 3)
    assert _independent_verdicts(_pattern(["110", "001", "100"])) == (True, True, 1)


@st.composite
def patterns(draw):
    m = draw(st.integers(1, 6))
    density = draw(st.sampled_from([0.2, 0.35, 0.5, 0.8]))
    rows = []
    for _ in range(m):
        row = [draw(st.floats(0, 1)) < density for _ in range(m)]
        if not any(row):  # a stochastic matrix has a positive entry in every row
            row[draw(st.integers(0, m - 1))] = True
        rows.append(row)
    return rows


@given(patterns())
def test_verdicts_match_matrix_powers(pattern):
    irreducible, primitive, expected_period = _independent_verdicts(pattern)
    assert is_irreducible(pattern) is irreducible
    assert is_aperiodic(pattern) is primitive
    if irreducible:
        assert period(pattern) == expected_period


@given(st.integers(2, 7), st.integers(1, 3))
def test_cycle_periods(m, step):
    """A cycle i -> i + 1 (mod m) has period m; adding i -> i + 1 + step chords gives
    period gcd(m, step): a closed walk with b chords has length = -b * step (mod m)."""
    cycle = [[j == (i + 1) % m for j in range(m)] for i in range(m)]
    assert period(cycle) == m
    assert is_aperiodic(cycle) is (m == 1)
    chords = [[cycle[i][j] or j == (i + 1 + step) % m for j in range(m)] for i in range(m)]
    _, primitive, independent_period = _independent_verdicts(chords)
    assert period(chords) == independent_period == gcd(m, step)
    assert is_aperiodic(chords) is primitive
