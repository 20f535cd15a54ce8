"""The trained-network Monte Carlo shared by the parameter-drift and main-theorem checks.

For each N of the budget ladder: R(N) = budget.replicas_at(N) replicas trained by
numerics.simulate.simulate for floor(N T) steps under a root seed drawn per level (levels
independent), cached on disk with everything the checks need: outputs f (R, steps), chain
states and targets y (R, steps), and the parameters theta_0 and theta_{floor(N T)}
(R, N[, d]); R varies along the ladder (Budget.replicas_at).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from proofs_check.cache import Job
from proofs_check.checks import CheckContext
from proofs_check.checks._common import level_seed
from proofs_check.checks.streams import stream_key

SPAWN_KEY = stream_key("trained_simulations")


def trained_level(context: CheckContext, n_units: int, lr_shift: float = 0.0
                  ) -> dict[str, np.ndarray]:
    """Simulation arrays for one ladder level (cached): f, y, states, c0, w0, b0, cT, wT, bT."""
    return context.cache.get(trained_level_job(context, n_units, lr_shift))


def trained_level_job(context: CheckContext, n_units: int, lr_shift: float = 0.0) -> Job:
    """The job of one ladder level (:func:`trained_level`); cost R N^2 T unit-steps.

    ``lr_shift`` != 0 runs the *wrong* learning rate eta_N = alpha N^{2 beta - 2 + lr_shift}
    (negative control), i.e. alpha replaced by alpha N^{lr_shift}, on the same seeds.
    """
    from numerics.simulate import simulate

    config = context.config
    if lr_shift:
        training = dataclasses.replace(
            config.training, alpha=float(config.training.alpha) * float(n_units) ** lr_shift)
        config = config.replace(training=training)
    replicas = context.budget.replicas_at(n_units)
    seed = level_seed(context.seed, SPAWN_KEY, n_units)
    horizon = float(config.training.horizon)

    def compute() -> dict[str, np.ndarray]:
        # A wrong learning rate (negative control) may make the network diverge: overflow is
        # part of that outcome, not an error, so its warnings are silenced.
        with np.errstate(over="ignore", invalid="ignore"):
            result = simulate(config, N=n_units, replicas=replicas, seed=seed,
                              snapshot_times=(0.0, horizon), progress=False)
        first, last = result.snapshots[0], result.snapshots[-1]
        return {"f": result.f, "y": result.y, "states": result.states,
                "steps": np.array(result.steps),
                "c0": first.c, "w0": first.w, "b0": first.b,
                "cT": last.c, "wT": last.w, "bT": last.b}

    params = {"config": config, "N": n_units, "replicas": replicas, "seed": seed,
              "snapshots": [0.0, horizon]}
    return Job("simulation", params, compute, cost=replicas * float(n_units) ** 2 * horizon)


def ladder_jobs(context: CheckContext) -> list[Job]:
    """The jobs of every ladder level (a report submits them early, proofs_check.report)."""
    return [trained_level_job(context, n_units) for n_units in context.budget.n_ladder]


def trained_ladder(context: CheckContext, start: float = 0.0, share: float = 1.0,
                   lr_shift: float = 0.0) -> list[dict[str, np.ndarray]]:
    """All ladder levels; progress reported over [start, start + share] of the check."""
    ladder = context.budget.n_ladder
    weights = np.cumsum(np.asarray(ladder, dtype=float))
    jobs = [trained_level_job(context, n_units, lr_shift) for n_units in ladder]
    for job in jobs:
        context.cache.submit(job)  # a parallel executor runs the levels concurrently
    levels = []
    for i, job in enumerate(jobs):
        levels.append(context.cache.get(job))
        context.progress(start + share * weights[i] / weights[-1])
    return levels


def divergence(levels: list[dict[str, np.ndarray]], ladder: tuple[int, ...]) -> dict[str, str]:
    """{"divergence": one sentence} when some replica's outputs f (R, steps) are not finite
    on some rung of the ladder (the trained network overflowed), else {}: the report's
    "divergence" line, which says why the rate fits below have no finite slope."""
    from numerics.simulate import DIVERGENCE_ADVICE

    parts = []
    for n_units, level in zip(ladder, levels, strict=True):
        diverged = int(np.count_nonzero(~np.all(np.isfinite(level["f"]), axis=1)))
        if diverged:
            parts.append(f"{diverged} of {level['f'].shape[0]} replicas at N = {n_units}")
    if not parts:
        return {}
    return {"divergence": "the finite network diverged (non-finite outputs): "
                          + "; ".join(parts) + f"; {DIVERGENCE_ADVICE}"}
