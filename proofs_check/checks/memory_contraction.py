"""Check: memory contraction (theory.md §6): |S_k - S(theta; X_{<=k})| <= C rho^k, and the
tangents G^w, G^b likewise with a factor k.

For M units theta ~ mu_0 and one chain path, the *reference* S*, G* (the fixed points of
theory.md §3 along the path) are computed by running the recursion from a burn-in of B steps
with rho^B < 1e-17, i.e. below double precision; the *network* state starts at S_{-1} = G_{-1}
= 0 at step 0. Derived bounds (per unit, r = |b| Lip(sigma) <= rho, L2 = sup|sigma''|,
X = max_s |xi_s|, C0 = |S*_{-1}|, E_{-1} = |G*_{-1}|):

  |S_k - S*_k|     <= rho^{k+1} C0                                  (contraction of z -> sigma)
  |G^w_k - G^w*_k| <= rho^{k+1} E^w_{-1} + (k+1) rho^k L2 |b| C0 X / (1 - rho)
  |G^b_k - G^b*_k| <= rho^{k+1} E^b_{-1} + (k+1) rho^k C0 (Lip + L2 |b| sup|sigma| / (1 - rho))

(one step: e_k <= rho e_{k-1} + a rho^k with a from |sigma'(z) - sigma'(z*)| <= L2 |b| |S - S*|
and |x + b G^w*| <= X / (1 - rho), |S* + b G^b*| <= sup|sigma| / (1 - rho); unrolled).
The statistic is the largest ratio error / bound over all units, steps and the three families;
the claim predicts <= 1. The errors are also compared with the bounds derived symbolically by
``derivations.limit.numeric_memory_error_bounds`` (uniform over units: M rho^{k+1} and
rho^{k+1} B + (k+1) C rho^k for the tangents, bounded activations only): the largest
ratio of the step-k error (max over units) to that bound must be <= 1 as well (a second,
independent derivation of the same claim; reported in the details and part of the verdict).
Negative control: the same bounds with rho replaced by rho / 2 and the
constants halved (C/2: without it a network without recurrence, rho = 0, would have no wrong
theory to reject, as 0^k = (0/2)^k).
"""

from __future__ import annotations

import math

import numpy as np

from derivations.activations import activation_constants
from derivations.inputs.config import contraction_rate, states_array, transition_matrix
from numerics.activations import activation_functions
from numerics.chain import sample_paths
from numerics.frozen import memory_step
from proofs_check.checks import CheckContext
from proofs_check.checks._common import draw_units
from proofs_check.checks.streams import stream_key
from proofs_check.result import CheckResult, FigureData, Rival

NAME = "memory_contraction"
TITLE = "memory contraction"
COST = 1.0
EQUATION = "memory_error_bound"
CLAIM = (
    "The network memory started from S_{-1} = G_{-1} = 0 forgets its start geometrically: "
    "|S_k - S(theta; X_{<=k})| <= C rho^k and the tangents G^w, G^b within C k rho^k."
)
SPAWN_KEY = stream_key("memory_contraction")
# Errors below this are dominated by rounding (values O(1), <= 100 contracting steps:
# absolute rounding <= ~1e-14), so their ratio to a bound carries no information.
ERROR_FLOOR = 1e-10
# Relative rounding of a ratio error/bound with error >= ERROR_FLOOR: <= 1e-14 / 1e-10.
RATIO_TOLERANCE = 1e-4
FAMILIES = ("S", "G^w", "G^b")  # the memory and its two tangents, in every output's order


def memory_trajectory(
    activation: str, w: np.ndarray, b: np.ndarray, inputs: np.ndarray,
    start: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """theory.md §2 memory and tangent recursion for frozen units along one input path
    (numerics.frozen.memory_step, the simulator's step, one path at a time).

    w (M, d), b (M,), inputs (K, d); start = (S_{-1} (M,), G^w_{-1} (M, d), G^b_{-1} (M,)),
    default zeros. Returns S (K, M), G^w (K, M, d), G^b (K, M).
    """
    act = activation_functions(activation)
    n_units, d = w.shape
    w_t = w.T[:, None, :]  # (d, 1, M): the layout of numerics.frozen.memory_step
    b_row = b[None, :]
    s = np.zeros((1, n_units)) if start is None else start[0][None, :].copy()
    gw = np.zeros((d, 1, n_units)) if start is None else start[1].T[:, None, :].copy()
    gb = np.zeros((1, n_units)) if start is None else start[2][None, :].copy()
    steps = inputs.shape[0]
    out_s = np.empty((steps, n_units))
    out_gw = np.empty((steps, n_units, d))
    out_gb = np.empty((steps, n_units))
    for k in range(steps):
        s, gw, gb = memory_step(act, w_t, b_row, inputs[k][None, :], s, gw, gb)
        out_s[k], out_gw[k], out_gb[k] = s[0], gw[:, 0, :].T, gb[0]
    return out_s, out_gw, out_gb


def _bounds(rate: float, activation: str, X: float, b: np.ndarray, c0: np.ndarray,
            ew: np.ndarray, eb: np.ndarray, steps: int) -> tuple[np.ndarray, ...]:
    """The three bounds of the module docstring with contraction rate ``rate``; each (K, M)."""
    constants = activation_constants(activation)
    lip, d2, sup = constants.lipschitz, constants.sup_second, constants.sup_sigma
    k = np.arange(steps, dtype=float)[:, None]
    geo = rate ** k
    abs_b = np.abs(b)[None, :]
    bound_s = rate * geo * c0[None, :]
    bound_w = rate * geo * ew[None, :] + (k + 1) * geo * d2 * abs_b * c0[None, :] * X / (1 - rate)
    sup_term = 0.0 if d2 == 0.0 else d2 * abs_b * sup / (1 - rate)
    bound_b = rate * geo * eb[None, :] + (k + 1) * geo * c0[None, :] * (lip + sup_term)
    return bound_s, bound_w, bound_b


def ratio_by_step(error: np.ndarray, bound: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The check's statistic step by step: for each step k with an error above ERROR_FLOOR,
    the largest error / bound over the units whose error is above it. error, bound (K, M) ->
    (steps k (n,), ratios (n,)), n <= K (steps with every error below the floor are left out:
    their ratios carry only rounding)."""
    keep = error > ERROR_FLOOR
    ratios = np.where(keep, error / np.where(keep, bound, 1.0), -np.inf).max(axis=1)
    steps = np.flatnonzero(keep.any(axis=1))
    return steps, ratios[steps]


def _max_ratio(errors: tuple[np.ndarray, ...], bounds: tuple[np.ndarray, ...]) -> float:
    """The largest ratio_by_step over the steps of every (error, bound) pair; 0 if none."""
    return max((float(r.max()) for e, bound in zip(errors, bounds, strict=True)
                for r in [ratio_by_step(e, bound)[1]] if r.size), default=0.0)


def derived_bounds(activation: str, b_max: float, X: float, steps: int
                   ) -> tuple[np.ndarray, ...] | None:
    """derivations.limit.numeric_memory_error_bounds at k = 0..steps-1 for (S, G^w, G^b), each
    (steps, 1); None for an unbounded activation (linear: no uniform bound is derived)."""
    from derivations.errors import InputError
    from derivations.limit import numeric_memory_error_bounds

    try:
        rows = [numeric_memory_error_bounds(activation, b_max, X, k) for k in range(steps)]
    except InputError:
        return None
    return tuple(np.array([row[key] for row in rows])[:, None]
                 for key in ("memory", "tangent_w", "tangent_b"))


def _figures(errors: tuple[np.ndarray, ...], claim_bounds: tuple[np.ndarray, ...],
             control_bounds: tuple[np.ndarray, ...], symbolic: tuple[np.ndarray, ...] | None,
             rho: float, units: int) -> tuple[FigureData, ...]:
    """The statistic itself (per step, the largest error / bound over the units, each family
    and the rival's, against the prediction <= 1) and, beside it, each family's error and its
    bounds, max over the units (one colour per family)."""
    k = np.arange(errors[0].shape[0])
    series: dict[str, np.ndarray] = {"k": k}
    colours: dict[str, int] = {}
    for j, (fam, e, bound) in enumerate(zip(FAMILIES, errors, claim_bounds, strict=True)):
        series[fam] = e.max(axis=1)
        series[f"bound {fam} (rho)"] = bound.max(axis=1)
        if symbolic is not None:
            series[f"bound {fam} (derivations)"] = symbolic[j][:, 0]
        colours.update({fam: j, f"bound {fam} (rho)": j, f"bound {fam} (derivations)": j})
    series["rival bound S (rho/2, C/2)"] = control_bounds[0].max(axis=1)
    colours["rival bound S (rho/2, C/2)"] = 3
    memory = FigureData(
        kind="memory", title=f"Memory contraction ({units} units, rho = {rho:.3g})",
        series=series, meta={"rho": rho, "floor": ERROR_FLOOR, "colours": colours})
    if rho == 0.0:  # no recurrence: every error is below the floor, no ratio to draw
        return (memory,)
    ratio: dict[str, np.ndarray] = {}
    for fam, e, bound, control in zip(FAMILIES, errors, claim_bounds, control_bounds,
                                      strict=True):
        for label, bd in ((fam, bound), (f"rival (rho/2, C/2): {fam}", control)):
            x, y = ratio_by_step(e, bd)
            ratio[f"p0|{label}|x"], ratio[f"p0|{label}|y"] = x, y
    ratio["p0|the bound: ratio 1 (claim: at most 1)|x"] = k[[0, -1]]
    ratio["p0|the bound: ratio 1 (claim: at most 1)|y"] = np.ones(2)
    statistic = FigureData(
        kind="curves", title="Memory contraction: the statistic, step by step",
        series=ratio, meta={"panels": [{"xlabel": "step $k$", "logy": True,
                                        "ylabel": "max over units of error / bound",
                                        "title": f"units with error > {ERROR_FLOOR:g}"}],
                            "colours": {label: j for j, fam in enumerate(FAMILIES)
                                        for label in (fam, f"rival (rho/2, C/2): {fam}")}})
    return (statistic, memory)


def run(context: CheckContext) -> CheckResult:
    config = context.config
    activation = config.network.activation
    rho = contraction_rate(config)
    P = transition_matrix(config)
    states = states_array(config)
    X = float(np.max(np.linalg.norm(states, axis=1)))
    budget = context.budget
    # Steps where rho^k is still above the rounding floor carry information.
    informative = int(math.ceil(math.log(ERROR_FLOOR) / math.log(rho))) + 5 if rho > 0 else 5
    steps = min(budget.memory_steps, informative)
    burn = int(math.ceil(math.log(1e-17) / math.log(rho))) + 1 if rho > 0 else 1
    rng = np.random.default_rng(np.random.SeedSequence(context.seed, spawn_key=(SPAWN_KEY,)))
    _, w, b = draw_units(rng, config, budget.memory_units)
    path = sample_paths(P, burn + steps, [rng])[0]
    inputs = states[path]
    context.progress(0.2)
    ref_s, ref_w, ref_b = memory_trajectory(activation, w, b, inputs)
    context.progress(0.6)
    net_s, net_w, net_b = memory_trajectory(activation, w, b, inputs[burn:])
    context.progress(0.9)
    errors = (
        np.abs(net_s - ref_s[burn:]),
        np.linalg.norm(net_w - ref_w[burn:], axis=2),
        np.abs(net_b - ref_b[burn:]),
    )
    c0 = np.abs(ref_s[burn - 1])
    ew = np.linalg.norm(ref_w[burn - 1], axis=1)
    eb = np.abs(ref_b[burn - 1])
    claim_bounds = _bounds(rho, activation, X, b, c0, ew, eb, steps)
    control_bounds = tuple(
        0.5 * bound for bound in _bounds(rho / 2, activation, X, b, c0, ew, eb, steps))
    measured = _max_ratio(errors, claim_bounds)
    measured_control = _max_ratio(errors, control_bounds)
    threshold = 1.0 + RATIO_TOLERANCE
    symbolic = derived_bounds(activation, float(config.init.b_max), X, steps)
    symbolic_ratio = None if symbolic is None else _max_ratio(
        errors, tuple(np.broadcast_to(bd, e.shape) for e, bd in zip(errors, symbolic,
                                                                      strict=True)))
    symbolic_ok = symbolic_ratio is None or symbolic_ratio <= threshold
    accepted = bool(measured <= threshold and symbolic_ok)
    control_accepted = measured_control <= threshold
    control = Rival(
        name="memory forgets twice as fast: rho replaced by rho/2 (and C by C/2)",
        prediction=1.0,
        measured=measured_control,
        rejected=not control_accepted,
        reason=f"largest error/bound ratio {measured_control:.3g} "
        f"{'<=' if control_accepted else '>'} {threshold:.6g}",
    )
    per_family = {
        fam: {
            "max_ratio": _max_ratio((e,), (bd,)),
            "max_ratio_control": _max_ratio((e,), (cb,)),
        }
        for fam, e, bd, cb in zip(FAMILIES, errors, claim_bounds, control_bounds, strict=True)
    }
    figures = _figures(errors, claim_bounds, control_bounds, symbolic, rho,
                       budget.memory_units)
    return CheckResult(
        name=NAME,
        claim=CLAIM,
        equation=EQUATION,
        quantity="largest ratio error / derived bound over units, steps, (S, G^w, G^b)",
        prediction=1.0,
        measured=measured,
        ci=None,
        tolerance=RATIO_TOLERANCE,
        tolerance_source="deterministic inequality for every sampled unit and step; tolerance "
        "= relative rounding of error/bound for errors above the floor 1e-10 (module constants)",
        accepted=accepted,
        rivals=(control,),
        figures=figures,
        details={"rho": rho, "input_bound": X, "steps": steps, "burn_in": burn,
                 "units": budget.memory_units,
                 "families": per_family,
                 "derived_symbolic_bound": {
                     "source": "derivations.limit.numeric_memory_error_bounds",
                     "max_ratio": symbolic_ratio,
                     "within": symbolic_ok if symbolic is not None else None,
                     "note": "not derived for an unbounded activation" if symbolic is None
                     else "largest (max over units of the step-k error) / bound(k)"}},
    )
