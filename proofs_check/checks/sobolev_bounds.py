"""Check: derivative (Sobolev-type) bounds of theta -> S(theta; x), uniform in k (theory.md §3),
against the symbolic bounds derived in derivations.limit.derivative_bounds:

    sup_k |dS/dw| = sup_k |G^w_k| <= L X / (1 - rho),   sup_k |dS/db| = |G^b_k| <= L M / (1 - rho)

(L = Lip sigma, X = max |xi_s|, M = sup |S|: sup |sigma| for bounded sigma, per unit
|w| X / (1 - b_max) for linear sigma, also derived there). The bounds are evaluated from the
SymPy expressions (lambdified), never typed in here. Measured: the largest ratio |G| / bound
over M units theta ~ mu_0, all steps k of the run, and input paths chosen to push the tangents
up: every constant path xi_s, xi_s, ... (memory accumulates in one direction), alternating paths
and stationary chain paths. Deterministic inequality: tolerance = rounding (1e-12 relative).
Negative control: the same bounds with Lip(sigma) replaced by Lip/2 (hence rho by rho/2), a
wrong constant the test must reject.
"""

from __future__ import annotations

import math

import numpy as np
import sympy as sp

from derivations.activations import activation_constants
from derivations.inputs.config import states_array, transition_matrix
from numerics.chain import sample_paths
from numerics.frozen import frozen_memory
from proofs_check.checks import CheckContext
from proofs_check.checks._common import draw_units
from proofs_check.checks.streams import stream_key
from proofs_check.result import CheckResult, FigureData, Rival

NAME = "sobolev_bounds"
TITLE = "Sobolev bounds"
COST = 1.0
EQUATION = "derivative_bounds"
CLAIM = (
    "The derivatives of theta -> S(theta; x) (the tangents G^w, G^b) are bounded uniformly in "
    "k by the derived constants L X / (1 - rho) and L M / (1 - rho)."
)
SPAWN_KEY = stream_key("sobolev_bounds")
RANDOM_PATHS = 6
TOLERANCE = 1e-12


def _bound_functions():
    """Lambdified derived bounds: (dS_dw, dS_db)(L, X, M, rho) and S_linear(|w|, X, bbar)."""
    from derivations import limit

    bounds = limit.derivative_bounds()
    args = (limit.LIP, limit.X_MAX, limit.S_MAX, limit.RHO)
    w_norm = sp.Symbol("|w|", positive=True)
    return (sp.lambdify(args, bounds["dS_dw"], "numpy"),
            sp.lambdify(args, bounds["dS_db"], "numpy"),
            sp.lambdify((w_norm, limit.X_MAX, limit.B_MAX), bounds["S_linear"], "numpy"))


def _paths(context: CheckContext, steps: int) -> np.ndarray:
    """Input paths (P, steps, d): constant, alternating and stationary chain paths."""
    config = context.config
    states = states_array(config)
    m = states.shape[0]
    paths = [np.repeat(states[s][None, :], steps, axis=0) for s in range(m)]
    for s in range(m):
        for t in range(s + 1, m):
            paths.append(states[[s if k % 2 == 0 else t for k in range(steps)]])
    rngs = [np.random.default_rng(np.random.SeedSequence(context.seed,
                                                         spawn_key=(SPAWN_KEY, r)))
            for r in range(RANDOM_PATHS)]
    chain = sample_paths(transition_matrix(config), steps, rngs)
    paths.extend(states[chain])
    return np.stack(paths)


def _ratios(lip_factor: float, config, w, G_w, G_b, X: float, lip: float, sup_sigma: float,
            fns) -> tuple[np.ndarray, np.ndarray]:
    """Per step k, the largest |G^w_k| / bound_w and |G^b_k| / bound_b over paths and units,
    with Lip multiplied by lip_factor: two arrays (K,)."""
    dw, db, s_linear = fns
    L = lip * lip_factor
    rho = config.init.b_max * L
    if math.isfinite(sup_sigma):
        M = sup_sigma
    else:  # linear: per-unit sup |S| = |w| X / (1 - b_max), derived (S_linear)
        M = s_linear(np.linalg.norm(w, axis=1), X, config.init.b_max)[None, None, :]
    bound_w = dw(L, X, M, rho)
    bound_b = db(L, X, M, rho)
    norm_w = np.linalg.norm(G_w, axis=-1)
    return ((norm_w / bound_w).max(axis=(0, 2)),
            np.broadcast_to(np.abs(G_b) / bound_b, G_b.shape).max(axis=(0, 2)))


def run(context: CheckContext) -> CheckResult:
    config = context.config
    budget = context.budget
    activation = config.network.activation
    constants = activation_constants(activation)
    lip, sup_sigma = constants.lipschitz, constants.sup_sigma
    X = float(np.max(np.linalg.norm(states_array(config), axis=1)))
    rho = config.init.b_max * lip
    steps = max(budget.memory_steps, int(math.ceil(math.log(1e-16) / math.log(rho))) + 1
                if 0 < rho < 1 else budget.memory_steps)
    rng = np.random.default_rng(np.random.SeedSequence(context.seed, spawn_key=(SPAWN_KEY,)))
    units = min(budget.memory_units, 4000)
    _, w, b = draw_units(rng, config, units)
    inputs = _paths(context, steps)
    context.progress(0.2)
    memory = frozen_memory(w, b, activation, inputs)  # Gw (P, K, N, d), Gb (P, K, N)
    context.progress(0.8)
    fns = _bound_functions()
    by_step = _ratios(1.0, config, w, memory.Gw, memory.Gb, X, lip, sup_sigma, fns)
    by_step_c = _ratios(0.5, config, w, memory.Gw, memory.Gb, X, lip, sup_sigma, fns)
    ratio_w, ratio_b = (float(r.max()) for r in by_step)
    ctrl_w, ctrl_b = (float(r.max()) for r in by_step_c)
    measured, measured_c = max(ratio_w, ratio_b), max(ctrl_w, ctrl_b)
    threshold = 1.0 + TOLERANCE
    accepted = measured_c <= threshold
    k = np.arange(steps, dtype=float)
    figure = FigureData(
        kind="curves",
        title="Tangents against their derived uniform bounds (ratio <= 1 is the claim)",
        series={"p0|$|G^w_k|$ / bound|x": k, "p0|$|G^w_k|$ / bound|y": by_step[0],
                "p0|$|G^b_k|$ / bound|x": k, "p0|$|G^b_k|$ / bound|y": by_step[1],
                "p0|rival: bounds with Lip/2, $G^w$|x": k,
                "p0|rival: bounds with Lip/2, $G^w$|y": by_step_c[0],
                "p0|rival: bounds with Lip/2, $G^b$|x": k,
                "p0|rival: bounds with Lip/2, $G^b$|y": by_step_c[1],
                "p0|the bound (ratio 1)|x": k[[0, -1]],
                "p0|the bound (ratio 1)|y": np.ones(2)},
        meta={"panels": [{"title": "", "xlabel": "step k",
                          "ylabel": "largest ratio over units and paths"}]})
    return CheckResult(
        name=NAME, claim=CLAIM, equation=EQUATION,
        quantity="largest ratio |tangent| / derived uniform bound",
        prediction=1.0, measured=measured, ci=None, tolerance=TOLERANCE,
        tolerance_source="deterministic inequality for every sampled unit, path and step; "
        "tolerance = relative rounding",
        accepted=measured <= threshold,
        rivals=(Rival(
            "derivative bounds with Lip(sigma) replaced by Lip/2", 1.0, measured_c,
            not accepted,
            f"largest ratio {measured_c:.4g} {'<=' if accepted else '>'} {threshold:.12g}"),),
        figures=(figure,),
        details={"ratio_w": ratio_w, "ratio_b": ratio_b, "control_ratio_w": ctrl_w,
                 "control_ratio_b": ctrl_b, "units": units, "paths": int(inputs.shape[0]),
                 "steps": steps, "bounds_source": "derivations.limit.derivative_bounds"})
