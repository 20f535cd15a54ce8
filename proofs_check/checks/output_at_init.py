"""Check: the network output at initialisation is O(N^{1/2 - beta}) (theory.md §6), and exactly
0 with antisymmetric initialisation.

The frozen network (numerics.frozen.frozen_outputs) with N i.i.d. units from mu_0 reads every
word of length L from S_{-1} = 0; per replica e = mean over words of f_0(u)^2. The units are
i.i.d. with E[c] = 0, so E[e] = N^{1 - 2 beta} E[c^2 S^2] exactly: the RMS sqrt(mean_r e) has
log-log slope exactly 1/2 - beta, with zero finite-N bias allowance.
A bound and a sharpness result (proofs_check.rivals): rivals the rates 1/4 slower and faster
and no convergence.
Antisymmetric initialisation: the claim is f_0 = 0, tested as max |f_0| <= 1e-12 (rounding);
its rival is the unpaired network (same units without the mirrored copies), which the same
test must reject. The same claim holds, and is tested the same way, when c is drawn at 0 or S
stays 0 (w drawn at 0 with tanh, erf or linear; checks._common.output_vanishes); the rival is
then the network whose zero group is drawn at unit scale instead (c ~ N(0, 1), or w ~ N(0, I)).
"""

from __future__ import annotations

import numpy as np

from derivations.inputs.config import states_array
from numerics.frozen import frozen_outputs
from numerics.words import enumerate_words
from proofs_check.cache import Job
from proofs_check.checks import CheckContext
from proofs_check.checks._common import (
    INIT_SCALE,
    draw_units,
    output_vanishes,
    predicted_exponent,
    spread_indices,
)
from proofs_check.checks.streams import stream_key
from proofs_check.result import CheckResult, Rival
from proofs_check.rivals import ACCEPTANCE_NOTE, rate_base, rate_claims, rate_figure, rate_test
from proofs_check.stats import fit_rate

NAME = "output_at_init"
TITLE = "output at init"
COST = 1.0
EQUATION = "predicted_rate"
CLAIM = (
    "At initialisation the network output f^N_0 is O(N^{1/2 - beta}) "
    "(identically 0 with antisymmetric initialisation, or with c or S drawn at 0)."
)
SHARP_CLAIM = "At initialisation the RMS of f^N_0 decays exactly like N^{1/2 - beta}."
SPAWN_KEY = stream_key("output_at_init")
BIAS_ALLOWANCE = 0.0  # E[e] = N^{1-2beta} E[c^2 S^2] exactly; see module docstring.
ZERO_TOLERANCE = 1e-12  # pair sums c S + (-c) S are exactly 0 in floating point; margin only.


def _unit_scale_group(config) -> str:
    """The group the zero-output rival draws at unit scale: c when c_std = 0, else w (S = 0
    because w is drawn at 0)."""
    return "c" if config.init.c_std == 0 else "w"


def _units(context: CheckContext, n_units: int, replica: int, antisymmetric: bool,
           unit_scale: bool = False):
    """The units of one replica; ``unit_scale``: the zero-output rival's units (module
    docstring), the group of :func:`_unit_scale_group` redrawn at unit scale."""
    config = context.config
    rng = np.random.default_rng(
        np.random.SeedSequence(context.seed, spawn_key=(SPAWN_KEY, n_units, replica)))
    c, w, b = draw_units(rng, config, n_units // 2 if antisymmetric else n_units)
    if unit_scale and _unit_scale_group(config) == "c":
        c = rng.normal(0.0, 1.0, size=c.shape)
    elif unit_scale:
        w = rng.normal(0.0, 1.0, size=w.shape)
    if not antisymmetric:
        return c, w, b
    return np.concatenate([c, -c]), np.concatenate([w, w]), np.concatenate([b, b])


def _outputs(context: CheckContext, antisymmetric: bool, paired: bool,
             zero: bool = False, unit_scale: bool = False) -> np.ndarray:
    """Per (N, replica): mean over words of f_0^2 (or max |f_0| when antisymmetric or
    ``zero``, f_0 = 0 exactly); ``unit_scale``: the zero-output rival's units."""
    config = context.config
    budget = context.budget
    select = spread_indices(config.chain.m**budget.init_word_length, budget.init_words)
    inputs = states_array(config)[enumerate_words(config.chain.m, budget.init_word_length)[select]]
    beta = config.network.beta
    out = np.empty((len(budget.init_ladder), budget.init_replicas))
    for i, n_units in enumerate(budget.init_ladder):
        for r in range(budget.init_replicas):
            c, w, b = _units(context, n_units, r, antisymmetric, unit_scale)
            if antisymmetric and not paired:
                half = n_units // 2  # control: the first half only, no mirrored copies
                c, w, b = c[:half], w[:half], b[:half]
            f = frozen_outputs(c, w, b, config.network.activation, beta, inputs,
                               paired=paired)[:, -1]
            out[i, r] = (float(np.max(np.abs(f))) if antisymmetric or zero
                         else float(np.mean(f * f)))
        context.progress((i + 1) / len(budget.init_ladder))
    return out


def _outputs_job(context: CheckContext) -> Job:
    """The Monte Carlo of this check (:func:`_outputs`) as one job."""
    budget = context.budget
    params = {"config": context.config, "ladder": budget.init_ladder,
              "replicas": budget.init_replicas, "L": budget.init_word_length, "seed": context.seed}
    drawn_zero = output_vanishes(context.config, pairs=False)  # c or S at 0 by the draw
    if context.config.network.antisymmetric:
        return Job("output_init_antisym", {**params, "drawn_zero": drawn_zero},
                   lambda: {"paired": _outputs(context, True, True),
                            "unpaired": _outputs(context, True, False,
                                                 unit_scale=drawn_zero)})
    if drawn_zero:
        return Job("output_init_zero", params,
                   lambda: {"paired": _outputs(context, False, True, zero=True),
                            "unpaired": _outputs(context, False, True, zero=True,
                                                 unit_scale=True)})
    return Job("output_init", params, lambda: {"f2": _outputs(context, False, True)})


def jobs(context: CheckContext) -> list[Job]:
    """The jobs this check asks for that need no other result (submitted early)."""
    return [_outputs_job(context)]


def _run_zero_output(context: CheckContext) -> CheckResult:
    """f_0 = 0 exactly (antisymmetric, or c or S at 0) and its rival (module docstring)."""
    budget = context.budget
    config = context.config
    data = context.cache.get(_outputs_job(context))
    # the rival removes every cause of f_0 = 0 the configuration has (module docstring)
    causes, changes = [], []
    if config.network.antisymmetric:
        causes.append("mirrored pairs cancel exactly")
        changes.append("without the mirrored copies")
    if output_vanishes(config, pairs=False):
        group = _unit_scale_group(config)
        zero = f"init.{INIT_SCALE[group]} = 0"
        causes.append(f"{zero} makes every {'c^i' if group == 'c' else 'S^i'} 0 "
                      "(derivations.kernel_dependence.initial_output_vanishes)")
        changes.append(f"with {group} drawn at unit scale instead ({zero} replaced by 1)")
    rival = ("the unpaired network (no mirrored copies) also gives f_0 = 0" if changes == [
        "without the mirrored copies"] else f"the network {' and '.join(changes)} also gives "
        "f_0 = 0")
    source = (f"f_0 = N^-beta sum_i c^i S^i is 0 for every draw: {'; '.join(causes)}; 1e-12 is "
              "a rounding margin")
    measured = float(data["paired"].max())
    measured_control = float(data["unpaired"].max())
    control_accepted = measured_control <= ZERO_TOLERANCE
    return CheckResult(
        name=NAME,
        claim=CLAIM,
        equation="predicted_rate_antisymmetric",  # r with f_0 = 0
        quantity="max |f^N_0| over words, N and replicas",
        prediction=0.0,
        measured=measured,
        ci=None,
        tolerance=ZERO_TOLERANCE,
        tolerance_source=source,
        accepted=measured <= ZERO_TOLERANCE,
        rivals=(Rival(
            name=rival,
            prediction=0.0,
            measured=measured_control,
            rejected=not control_accepted,
            reason=f"max |f_0| = {measured_control:.3g} vs tolerance {ZERO_TOLERANCE:g}",
        ),),
        details={"ladder": list(budget.init_ladder), "replicas": budget.init_replicas},
    )


def run(context: CheckContext) -> CheckResult | tuple[CheckResult, CheckResult]:
    config = context.config
    if output_vanishes(config):
        return _run_zero_output(context)
    budget = context.budget
    predicted = predicted_exponent("output_at_init", config)  # 1/2 - beta
    data = context.cache.get(_outputs_job(context))
    rng = np.random.default_rng(np.random.SeedSequence(context.seed, spawn_key=(SPAWN_KEY, 0)))
    fit = fit_rate(np.array(budget.init_ladder), data["f2"], power=2, rng=rng)
    test = rate_test(fit, predicted, BIAS_ALLOWANCE, [budget.init_replicas] * fit.ns.size)
    base = rate_base(
        name=NAME, claim=CLAIM, equation=EQUATION, quantity="rate exponent of RMS f^N_0 in N",
        tolerance_source=f"{ACCEPTANCE_NOTE} interval of the weighted log-log slope "
        f"({budget.init_replicas} replicas per N); allowance 0 since "
        "E[f_0^2] = N^{1-2beta} E[c^2 S^2] exactly",
        figures=(rate_figure(test, "Output at initialisation", r"RMS of $f^N_0$ over words"),),
        formula=r"f^N_0 = N^{-\beta} \sum_i c^i S^i = O(N^{1/2 - \beta})",
        details={"ladder": list(budget.init_ladder), "replicas": budget.init_replicas,
                 "rms": fit.values})
    return rate_claims(test, base=base, sharp_claim=SHARP_CLAIM)
