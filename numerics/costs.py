"""What a request will cost, decided before any work starts: memory models and the memory cap.

Every command (simulate, limit, poisson, report) computes the peak memory of its request from
the sizes that drive it (m, L, d, N, replicas, horizon, quadrature nodes) and refuses, with one
line and exit 2, a request above the memory cap, naming the field that is furthest over, the
estimate and the largest value of that field that fits. Sizes that grow exponentially (m^L
words) are handled by their logarithms, never evaluated.

The memory cap: ``--memory-cap SIZE`` on the command line, else the environment variable
RNNKL_MEMORY_CAP, else half of this machine's physical memory (os.sysconf). SIZE is a number of
bytes with an optional unit: "512MiB", "12GiB", "2e9", "1.5TB".

The models are upper bounds counted from the arrays the code allocates; the constants below
say where each comes from, and README "Sizes" records the measured peaks they were checked
against.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from derivations.errors import InputError, short_number
from numerics.limit_solver import EXACT_WORDS

CAP_FRACTION = 0.5  # default cap: half of the physical memory (the rest: OS, other jobs)
BASELINE_BYTES = 256 * 2**20  # interpreter + NumPy + SciPy + numba, measured ~200 MiB RSS

# numerics.kernel / numerics.limit: per word-count n of the largest length solved, the arrays
# of n x n doubles alive at the peak, in two phases.
# Kernel: its outputs (the 3 groups, or K alone without them: `rnnkl limit`,
# solve_limit(kernel_groups=False)) and, while they are assembled, the working arrays of the
# step-2h and step-4h totals and one product buffer: 6 (3 without groups) when the whole
# matrix is one block; beyond KERNEL_BLOCK_BYTES the working set is one block row, so the
# phase holds the outputs plus KERNEL_BLOCK_BYTES (numerics.kernel, row blocks). With the
# groups, K = their sum is added at the end (4).
# Solve: the kept outputs (K and the groups: 4; K: 1) plus the full eigen-solve's work buffer,
# eigenvectors and basis (SOLVE_FULL = 3) up to numerics.limit_solver.EXACT_WORDS words, or the
# low-rank solve's O(n r) arrays (about 5 of n x r at r <= n / 4: SOLVE_LOW_RANK = 1.5) beyond
# it, with its full fallback (3) unless that is disabled (``full_fallback``).
# Plus 0.5 for what tracemalloc does not see (LAPACK's work arrays, the allocator). Counted
# with tracemalloc (tests/test_kernel.py holds the kernel's counts); measured resident peaks of
# `benchmarks/bench_kernel.py`, default config: L = 8 (n = 6561, 3 row blocks) 1.06 GiB against
# 2.19 GiB planned (the plan counts the full fallback), L = 9 (low rank only) 4.77 GiB against
# 10.2 GiB; README "The limit at scale".
# (The assembly before issue 17 needed 26; the one-block full-solve peaks are 7.5 and 4.5.)
SOLVE_FULL = 3.0
SOLVE_LOW_RANK = 1.5
UNSEEN_MATRICES = 0.5
# numerics.kernel: the working arrays of one block of rows while the (n, n) outputs are
# assembled (the fine values, Q(2h), Q(4h) and the product buffer of the block row); the matrix is
# assembled in block rows when the whole working set would not fit in it.
KERNEL_BLOCK_BYTES = 512 * 2**20
# numerics.kernel_sums._CHUNK_BYTES (3e8: the two node chunks in flight) x 1.2 per input dimension
KERNEL_CHUNK_BYTES = 3.6e8

# numerics.simulate + trainers: per replica and unit, sets of (d + 2) doubles: theta_0, the
# working parameters, the memory state and tangents, their successors in the memory step, and the
# step's and the update's temporaries; plus one parameter copy per snapshot. Traced peaks
# (tracemalloc; tests/test_costs.py holds the model above them): 6.34 sets with the NumPy
# reference (d = 1, c, w, b trained; 6.25 at d = 2), 4.0 with the fast backend. (It was 3 until
# 2026-12-07: the three sets named in the comment, half the measured peak.)
UNIT_ARRAYS = 7
# per replica and step: the path (int64), uniforms for it, f and y (doubles)
STEP_ARRAYS = 4
# `rnnkl simulate` JSON, per value of f and y: the Python float and its list slot (32 B), the
# characters of it and of the state index in the text (about 25), their copies while the text is
# built and written; measured 72 B (tracemalloc, 0.4 and 1.6 million values; it was 48 until
# 2026-12-07, under the measured peak).
JSON_BYTES_PER_VALUE = 80


class ResourceError(InputError):
    """A request whose estimated peak memory exceeds the memory cap (exit 2, one line)."""


_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9,
          "gb": 10**9, "t": 10**12, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30,
          "tib": 2**40}
_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]{1,3})?)\s*([A-Za-z]{0,3})\s*$")


def parse_size(text: str, field: str = "--memory-cap") -> int:
    """Bytes from "12GiB", "500MB", "2e9" (units: B, kB/MB/GB/TB = 10^3k, KiB/MiB/GiB/TiB =
    2^10k; case-insensitive). Raises InputError (one line) for anything else."""
    match = _SIZE.match(text) if len(text) <= 40 else None
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _UNITS:
        raise InputError(f"{field}: expected a size such as 8GiB, 500MB or 2e9, got "
                         f"{text[:40]!r}")
    value = float(match.group(1)) * _UNITS[unit]
    if not (math.isfinite(value) and value >= 2**20):
        raise InputError(f"{field}: {text!r} is below 1 MiB or not finite")
    return int(value)


def physical_memory() -> int:
    """This machine's physical memory in bytes (0 when the OS does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 0


@dataclass(frozen=True)
class MemoryCap:
    """The cap in bytes and where it came from (for messages)."""

    bytes: int
    source: str


def memory_cap(flag: str | None = None) -> MemoryCap:
    """The memory cap (module docstring): the flag, else RNNKL_MEMORY_CAP, else
    CAP_FRACTION of the physical memory (16 GiB if the OS does not report it)."""
    if flag is not None:
        return MemoryCap(parse_size(flag), "--memory-cap")
    env = os.environ.get("RNNKL_MEMORY_CAP")
    if env:
        return MemoryCap(parse_size(env, "RNNKL_MEMORY_CAP"), "RNNKL_MEMORY_CAP")
    total = physical_memory()
    if total <= 0:
        return MemoryCap(16 * 2**30, "default 16 GiB; set --memory-cap")
    return MemoryCap(int(CAP_FRACTION * total),
                     f"half of this machine's {format_bytes(total)}; set --memory-cap")


def format_bytes(n: float) -> str:
    """'12 GiB', '3.1 TiB', '1e+30 B' (short for any size, inf included)."""
    if not math.isfinite(n):
        return "inf B"
    for unit, size in (("EiB", 2**60), ("PiB", 2**50), ("TiB", 2**40), ("GiB", 2**30),
                       ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            value = n / size
            return f"{value:.3g} {unit}" if value < 1e4 else f"{n:.3g} B"
    return f"{int(n)} B"


def power(base: float, exponent: float) -> float:
    """base ** exponent as a float, inf instead of OverflowError (m^L for any L)."""
    if base <= 1.0:
        return float(base) ** float(exponent)
    log_value = float(exponent) * math.log(base)
    return math.inf if log_value > 700.0 else math.exp(log_value)


# ----------------------------------------------------------------------------- the models


def simulation_bytes(N: float, replicas: float, horizon: float, d: int, lag: int,
                     snapshots: int = 0, json_output: bool = False) -> float:
    """Peak bytes of numerics.simulate.simulate (module constants): replicas x N units of
    (d + 2) doubles in UNIT_ARRAYS + snapshots copies, replicas x steps x STEP_ARRAYS values,
    one replica's target windows (steps x (lag + 1) x d, three copies), steps = N horizon;
    ``json_output``: the JSON text of f and y (rnnkl simulate)."""
    steps = N * horizon
    units = 8.0 * replicas * N * (d + 2) * (UNIT_ARRAYS + snapshots)
    path = 8.0 * replicas * steps * STEP_ARRAYS + 8.0 * 3 * steps * (lag + 1) * d
    text = JSON_BYTES_PER_VALUE * 2 * replicas * steps if json_output else 0.0
    return BASELINE_BYTES + units + path + text


def limit_bytes(m: int, word_length: float, d: int, next_length: bool,
                groups: bool = True, neighbour: bool = True, full_fallback: bool = True,
                block_bytes: float = KERNEL_BLOCK_BYTES) -> float:
    """Peak bytes of numerics.limit.solve_limit on m^L words (module constants): the larger of
    the kernel phase and the solve phase, in doubles of n x n for the largest word count n solved
    (m^(L+1) when the truncation estimate solves the next length), times 1 + 1/m^2 + 1/m^4 for
    the two shorter lengths assembled in the same pass and the cross kernels between
    consecutive lengths (``neighbour``; False: one length), plus the quadrature chunks and the
    interpreter.
    ``full_fallback`` False: the low-rank solve may not fall back to the full one (beyond
    EXACT_WORDS words; numerics.limit_solver raises instead)."""
    n = power(m, word_length + (1 if next_length else 0))
    matrix = 8.0 * n * n
    outputs = 3.0 if groups else 1.0  # the groups, or K
    kept = 4.0 if groups else 1.0  # after the kernel: K (+ the groups)
    working = outputs + 3.0  # + Q(2h), Q(4h), the product buffer
    # with the shorter lengths: the cross kernel to the next shorter one (n / m x n), assembled in
    # the kernel's pass (numerics.kernel.kernels_on_words ``pairs``) and held until the longer
    # length is solved
    cross = 1.0 / m if neighbour else 0.0
    kernel = max(min(working * matrix, outputs * matrix + block_bytes), kept * matrix)
    kernel += cross * matrix
    full = n <= EXACT_WORDS or full_fallback
    solve = (kept + cross + (SOLVE_FULL if full else SOLVE_LOW_RANK)) * matrix
    # the two shorter lengths of the truncation estimate (numerics.limit.solve_limit)
    lengths = 1.0 + (1.0 / (m * m) + 1.0 / m**4 if neighbour else 0.0)
    peak = (max(kernel, solve) + UNSEEN_MATRICES * matrix) * lengths
    return BASELINE_BYTES + KERNEL_CHUNK_BYTES * d + peak


def limit_request_bytes(config: Any, word_length: float, truncation: str = "auto",
                        groups: bool = True, neighbour: bool = True,
                        full_fallback: bool = True) -> float:
    """:func:`limit_bytes` of numerics.limit.solve_limit's request on a config at word length
    L: m^(L+1) words when its ``truncation`` estimate solves the next length
    (numerics.limit.truncation_mode). The one cost model of a limit request (the memory plan of
    the commands, the report's projected word length)."""
    from numerics.limit import truncation_mode  # numerics.limit imports this module

    m, d, lag = int(config.chain.m), int(config.chain.d), int(config.target.lag)
    nxt = truncation_mode(truncation, m, d, int(word_length), lag) == "next"
    return limit_bytes(m, word_length, d, nxt, groups, neighbour, full_fallback)


def poisson_bytes(m: int, word_length: float) -> float:
    """Peak bytes of the double-precision Poisson solve on m^L words: the dense word transition
    matrix, I - P + 1 pi^T and its LU factors (4 n^2 doubles)."""
    n = power(m, word_length)
    return BASELINE_BYTES + 8.0 * 4 * n * n


# ----------------------------------------------------------------------------- the check


@dataclass(frozen=True)
class Field:
    """One field of a request: its name as the user writes it, its value, whether it is an
    integer, and its smallest meaningful value."""

    name: str
    value: float
    integer: bool = True
    smallest: float = 1.0


def _as_float(value: float) -> float:
    """float(value), inf for an integer beyond the float range (a 4000-digit N)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf


def _largest_fitting(cost: Callable[[Mapping[str, float]], float], values: dict[str, float],
                     field: Field, cap: float) -> float | None:
    """The largest value of ``field`` (others fixed) with cost <= cap, by bisection (cost is
    non-decreasing in every field); None if even the smallest value does not fit."""
    def fits(x: float) -> bool:
        return cost({**values, field.name: x}) <= cap

    low, high = field.smallest, min(_as_float(field.value), 1e300)
    if not fits(low):
        return None
    for _ in range(200):
        if field.integer and high - low <= 1:
            break
        if not field.integer and high <= low * (1 + 1e-3):
            break
        middle = (low + high) / 2 if field.integer or low <= 0 else math.sqrt(low * high)
        middle = math.floor(middle) if field.integer else middle
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low


def require_fits(what: str, fields: tuple[Field, ...],
                 cost: Callable[[Mapping[str, float]], float], cap: MemoryCap) -> float:
    """Return the estimated bytes of a request, or raise ResourceError (one line) naming the
    field furthest over the cap, the estimate, the cap and the largest value that fits."""
    values = {f.name: _as_float(f.value) for f in fields}
    total = cost(values)
    if total <= cap.bytes:
        return total
    best: tuple[float, Field, float] | None = None
    for field in fields:
        largest = _largest_fitting(cost, values, field, cap.bytes)
        if largest is None or field.value <= 0:
            continue
        ratio = largest / _as_float(field.value)
        if best is None or ratio < best[0]:
            best = (ratio, field, largest)
    amount = f"about {format_bytes(total)}" if math.isfinite(total) else "more than 1e308 B"
    head = (f"{what} needs {amount} of memory, over the cap "
            f"{format_bytes(cap.bytes)} ({cap.source})")
    if best is None:
        if len(fields) == 1:
            raise ResourceError(f"{head}; no value of {fields[0].name} brings it under the cap "
                                f"({fields[0].name} = {short_number(fields[0].value)})")
        names = ", ".join(f"{f.name} = {short_number(f.value)}" for f in fields)
        raise ResourceError(f"{head}; no single field brings it under the cap ({names})")
    _, field, largest = best
    shown = str(int(largest)) if field.integer else short_number(largest, 4)
    raise ResourceError(f"{field.name} = {short_number(field.value)}: {head}; the largest "
                        f"{field.name} that fits is {shown}")
