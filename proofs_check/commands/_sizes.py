"""Sizes checked before work: each command's request against the memory cap (numerics.costs).

Each function raises numerics.costs.ResourceError (exit 2, one line naming the field, the
estimate, the cap and the largest value that fits) or returns the estimated peak in bytes.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

from derivations.errors import InputError
from numerics.costs import (
    Field,
    MemoryCap,
    ResourceError,
    format_bytes,
    limit_request_bytes,
    physical_memory,
    poisson_bytes,
    require_fits,
    simulation_bytes,
)
from numerics.simulate import time_to_step
from numerics.truncation import first_valid_level


def check_simulation(config: Any, cap: MemoryCap, *, json_output: bool = False,
                     rung: tuple[int, int, str] | None = None, snapshots: int = 0) -> float:
    """``rnnkl simulate``: run.N, run.replicas, training.horizon against the cap. ``rung`` =
    (N, replicas, budget name): one rung of the report's ladder, where only training.horizon
    is the user's to change."""
    d, lag = config.chain.d, int(config.target.lag)
    n_units = int(config.run.N if rung is None else rung[0])
    replicas = int(config.run.replicas if rung is None else rung[1])
    horizon = Field("training.horizon", float(config.training.horizon), integer=False,
                    smallest=1.0 / n_units)
    fields = (horizon,) if rung else (Field("run.N", n_units), Field("run.replicas", replicas),
                                      horizon)

    def cost(v: Any) -> float:
        return simulation_bytes(v.get("run.N", n_units), v.get("run.replicas", replicas),
                                v["training.horizon"], d, lag, snapshots, json_output)

    what = ("the simulation" if rung is None else
            f"the simulation at N = {n_units} with {replicas} replicas ({rung[2]} budget)")
    try:
        return require_fits(what, fields, cost, cap)
    except ResourceError as err:
        if rung is None:
            raise
        # the budget sets N and the replicas of a rung: name the two choices that change them
        raise ResourceError(f"{err}; or choose a smaller --budget or a larger --memory-cap"
                            ) from None


def check_limit(config: Any, word_length: int, cap: MemoryCap, *, field: str,
                truncation: str = "auto", groups: bool = True,
                neighbour: bool = True, full_fallback: bool = True) -> float:
    """``rnnkl limit`` / the report's limit: m^L words (and m^(L+1) when solve_limit's
    truncation estimate for the request ``truncation`` solves the next length,
    numerics.limit.truncation_mode) against the cap; ``field`` names L for the user;
    ``groups``: whether the kernel's groups are kept (the report: yes; rnnkl limit: no);
    ``neighbour``: whether the truncation estimate's two shorter lengths share the kernel's pass
    (with their cross kernel; rnnkl limit and the report's select_limit: yes);
    ``full_fallback``: whether the low-rank solve may fall back to the full one."""
    def cost(v: Any) -> float:
        return limit_request_bytes(config, v[field], truncation, groups, neighbour,
                                   full_fallback)

    m, lag = config.chain.m, int(config.target.lag)
    try:
        return require_fits(f"the limit on {m}^L words", (Field(field, word_length),), cost,
                            cap)
    except ResourceError as err:
        from numerics.limit import truncation_mode  # not at import: it loads the kernel

        if truncation_mode(truncation, m, config.chain.d, word_length, lag) != "next":
            raise
        # say why the cost is that of m^(L+1) words (numerics.limit.truncation_mode)
        raise ResourceError(
            f"{err} (L = {word_length} solves L + 1 = {word_length + 1} too: two valid "
            f"truncation levels need words >= {first_valid_level(lag)} long)") from None


def plan_limit(config: Any, word_length: int, cap: MemoryCap, *, field: str,
               groups: bool = True, one_length: bool = False) -> tuple[float, bool]:
    """(planned peak, full_fallback) for solve_limit: with the full eigen-solve as the low-rank
    solve's fallback when that fits the cap, else without it (the low-rank solve then stops with
    a one-line error if the spectrum needs a rank past n / 4); ResourceError when neither fits
    (naming the largest word length that fits without the fallback). ``one_length``: the
    lengths are solved one at a time up to ``word_length`` (proofs_check.checks._limit.
    select_limit, ``rnnkl limit --accuracy``): each length with the two previous ones in the
    same pass (truncation "previous"; m^(L+1) words only where that is too short to give two
    valid levels, numerics.limit.truncation_mode, and never more than at the longest L)."""
    extent = {"truncation": "previous", "neighbour": True} if one_length else {}
    try:
        return check_limit(config, word_length, cap, field=field, groups=groups,
                           **extent), True
    except ResourceError:
        return check_limit(config, word_length, cap, field=field, groups=groups,
                           full_fallback=False, **extent), False


def check_poisson(config: Any, word_length: int, cap: MemoryCap) -> float:
    """``rnnkl poisson --word-length L`` in double precision against the cap."""
    m = config.chain.m

    def cost(v: Any) -> float:
        return poisson_bytes(m, v["--word-length"])

    return require_fits(f"the Poisson solve on {m}^L words",
                        (Field("--word-length", word_length),), cost, cap)


def check_report(config: Any, budget: Any, cap: MemoryCap) -> float:
    """``rnnkl report``: its largest simulation (every rung of the ladder, with its replicas
    and the two snapshots) and its limit (:func:`check_report_limit`) against the cap; first,
    that the shortest training run of
    the ladder is long enough for the words it is read on (:func:`check_report_horizon`)."""
    check_report_horizon(config, budget)
    peak = 0.0
    for n_units in budget.n_ladder:
        rung = (int(n_units), budget.replicas_at(int(n_units)), budget.name)
        peak = max(peak, check_simulation(config, cap, rung=rung, snapshots=2))
    return max(peak, check_report_limit(config, int(config.limit.word_length), cap))


def fit_default_word_length(config: Any, cap: MemoryCap, *, defaulted: bool
                            ) -> tuple[Any, str]:
    """(config, note) for ``rnnkl report`` / ``sweep``: limit.word_length is the cap under
    which the report chooses L by accuracy (checks._limit.select_limit). When the user did not
    set it (``defaulted``: the built-in default's value) and the report's limit at that length
    does not fit the memory cap (:func:`check_report_limit`), the cap is lowered to the
    longest length that fits and ``note`` says so in one sentence, with the refusal it
    replaces; a config whose own chain makes the default too large (m >= 5 states at L = 6,
    say) is then verified, not refused. Where the accuracy asks for a longer word than fits,
    the checks that need it say so (inconclusive, with the hint to raise limit.word_length).
    A value the user set is theirs: returned unchanged (note ""), and :func:`check_report`
    refuses it in one line naming the longest that fits. Nothing fits: unchanged too (the
    refusal says why)."""
    length = int(config.limit.word_length)
    if not defaulted:
        return config, ""
    try:
        check_report_limit(config, length, cap)
        return config, ""
    except ResourceError as refusal:
        reason = str(refusal)

    def fits(word_length: int) -> bool:
        try:
            check_report_limit(config, word_length, cap)
        except ResourceError:
            return False
        return True

    shorter = next((L for L in range(length - 1, 0, -1) if fits(L)), None)
    if shorter is None:
        return config, ""
    lowered = config.replace(limit=dataclasses.replace(config.limit, word_length=shorter))
    return lowered, (f"limit.word_length lowered from the built-in default {length} to "
                     f"{shorter} (set it, or --memory-cap, to choose), since {reason}")


def check_report_limit(config: Any, word_length: int, cap: MemoryCap) -> float:
    """The report's limit at most ``word_length`` long (truncation by the two previous lengths
    in the same pass, L + 1 only where that gives no two valid levels,
    numerics.limit.truncation_mode) against the cap: :func:`check_limit`."""
    return check_limit(config, word_length, cap, field="limit.word_length",
                       truncation="previous")


def check_report_horizon(config: Any, budget: Any) -> None:
    """The main theorem compares f^N_k with g on the word of the last L inputs read at step k
    (checks.main_theorem.window_errors; L at most limit.word_length, chosen later by
    accuracy), so the shortest run of the budget's ladder, floor(N_min T) steps (theory.md §2),
    must hold a whole word: InputError (exit 2, one line) naming the shortest horizon that
    does, before any work. The condition is the cap's, so it is conservative when the
    accuracy would pick a shorter L; the message offers a smaller limit.word_length."""
    n_min = int(min(budget.n_ladder))
    horizon = float(config.training.horizon)
    length = int(config.limit.word_length)
    steps = time_to_step(n_min, horizon)
    if steps >= length:
        return
    shortest = length / n_min
    raise InputError(
        f"training.horizon = {horizon:g}: the {budget.name} budget's smallest N ({n_min}) "
        f"trains for floor(N T) = {steps} step{'s' if steps != 1 else ''}, but the main "
        f"theorem reads the network along its path on words of up to limit.word_length = "
        f"{length} inputs, so it needs at least {length} steps: a horizon of at least "
        f"{shortest:.6g} ({length}/{n_min}), or a smaller limit.word_length")


def note_beyond_physical(peak: float, cap: MemoryCap, command: str) -> None:
    """One stderr line when a request fits the cap but not this machine's physical memory
    (possible only with a cap set above it: --memory-cap or RNNKL_MEMORY_CAP). Not a refusal:
    swap, or workers with more memory than this machine, may carry it; but the OS may end
    the process without a message, so the user hears it first."""
    total = physical_memory()
    if total <= 0 or peak <= total:
        return
    sys.stderr.write(f"rnnkl {command}: note: the estimated peak memory {format_bytes(peak)} "
                     f"is above this machine's physical memory {format_bytes(total)}; the cap "
                     f"{format_bytes(cap.bytes)} ({cap.source}) allows it: expect swapping, or "
                     "the OS ending the process\n")
