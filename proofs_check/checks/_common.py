"""Shared pieces of the checks: float views of the config, predicted exponents, seeds and
allowances. The acceptance test of every rate and its rivals live in
:mod:`proofs_check.rivals`.
"""

from __future__ import annotations

import numpy as np

from derivations.inputs.config import Config


def draw_units(rng: np.random.Generator, config: Config, n: int) -> tuple[np.ndarray, ...]:
    """n i.i.d. units theta = (c, w, b) ~ mu_0 (theory.md §2): shapes (n,), (n, d), (n,)."""
    d = config.chain.d
    c = rng.normal(0.0, config.init.c_std, size=n)
    w = rng.normal(0.0, config.init.w_std, size=(n, d))
    b = rng.uniform(-config.init.b_max, config.init.b_max, size=n)
    return c, w, b


def spread_indices(total: int, count: int) -> np.ndarray:
    """``count`` indices spread evenly over range(total) (all of them if count >= total)."""
    if count >= total:
        return np.arange(total)
    return np.unique(np.linspace(0, total - 1, count).round().astype(np.int64))


def _beta_exact(config: Config):
    """The config's beta exactly: the binary value of the float (every tie of the rates of
    theory.md §6 lies at a dyadic beta: 1/2, 3/4, 1). Not nsimplify's nearest simple number,
    which made 0.750000001 the tie 3/4."""
    import sympy as sp

    return sp.Rational(config.network.beta)


def predicted_exponent(term: str, config: Config) -> float:
    """The exponent a (error ~ N^a) of ``term`` from derivations.scaling (theory.md §6).

    term: "output_at_init" | "parameter_drift" | "kernel_at_init" | "lazy_training" |
    "overall" (a = -r).
    The predictions are derived by the derivations package, never typed in here.
    """
    from derivations import scaling

    zero_output = output_vanishes(config)
    if term == "overall":
        return -float(scaling.overall_rate(_beta_exact(config), zero_output))
    exponent = scaling.error_exponents(zero_output)[term]
    return float(exponent.subs(scaling.BETA, _beta_exact(config)))


def output_vanishes(config: Config, pairs: bool = True) -> bool:
    """f^N_0 = 0 for every draw on this configuration (antisymmetric initialisation, c drawn at
    0, or S = 0 on every word: derivations.kernel_dependence.initial_output_vanishes); then
    the output-at-initialisation term is absent from the rates (derivations.scaling).
    ``pairs=False``: by the draw alone (c or S at 0), mirrored pairs aside."""
    from derivations.kernel_dependence import initial_output_vanishes

    return initial_output_vanishes(pairs and bool(config.network.antisymmetric),
                                   config.network.activation, _zero_groups(config))


def limit_vanishes(config: Config) -> str:
    """Why the limit g_t is identically 0 on this configuration (odd activation, a chain
    symmetric under x -> -x, an even target: derivations.sign_symmetry), or "". Then so is every
    rival limit built from the same network and chain, and the mean SGD increment of every
    unit: the N^{beta - 1} term of the parameter drift has coefficient 0."""
    from derivations.inputs.schema import target_expression
    from derivations.sign_symmetry import limit_vanishes_reason

    return limit_vanishes_reason(config.network.activation, config.chain.states,
                                 config.chain.transition, target_expression(config))


def drift_term_vanishes(config: Config, term: str) -> str:
    """Why the leading coefficient of ``term``'s predicted rate is 0 here, or "":
    "parameter_drift" when the limit vanishes (:func:`limit_vanishes`); "overall" whenever the
    drift term's 1 - beta is strictly the smallest rate of r (derivations.scaling
    .predicted_rates), so that the terms left decay faster than r: on every configuration
    (:func:`kernel_motion_cancels`), and first for the reason the limit vanishes, if it does."""
    import sympy as sp

    from derivations import scaling

    if term == "parameter_drift":
        return limit_vanishes(config)
    if term != "overall":
        return ""
    rates = scaling.predicted_rates(output_vanishes(config))
    beta = _beta_exact(config)
    drift = rates["parameter_drift"].subs(scaling.BETA, beta)
    others = [rate.subs(scaling.BETA, beta) for name, rate in rates.items()
              if name not in ("parameter_drift", "overall")]
    if not all(sp.simplify(other - drift) > 0 for other in others):
        return ""
    return limit_vanishes(config) or kernel_motion_cancels(config)


def surviving_orders(config: Config) -> tuple[float, float]:
    """(fastest, slowest) exponents of the surviving terms of the kernel's motion at the
    config's beta, for its initialisation (derivations.scaling.lazy_training_orders)."""
    from derivations import scaling

    orders = scaling.lazy_training_orders(bool(config.network.antisymmetric))
    beta = _beta_exact(config)
    return (float(orders["fastest"].subs(scaling.BETA, beta)),
            float(orders["sharp"].subs(scaling.BETA, beta)))


def kernel_motion_cancels(config: Config) -> str:
    """Why the N^{beta - 1} term of f^N - g_t has coefficient 0 on every configuration: the
    drift reaches f^N only through the tangent kernel's motion (the lazy-training step of
    theory.md §6), whose first-order term is odd under c -> -c while mu_0 (or each mirrored
    pair) is symmetric in c, so its mean is 0 (derivations.scaling.lazy_training_orders); the
    kernel then moves like N^{2 beta - 2} and faster terms. Returns that reason as one
    sentence, with the sharp order at the config's beta. Where the kernel of the trainable
    groups is a function of frozen parameters only (derivations.kernel_dependence.kernel_moves:
    c alone, or w alone with a linear sigma), it does not move at all, and the reason says so
    (it said "moves like N^(2 beta - 2)" while lazy_training measured the motion exactly 0)."""
    from derivations.kernel_dependence import kernel_moves

    trainable = tuple(config.network.trainable)
    if not kernel_moves(trainable, config.chain.d, config.network.activation):
        return ("the N^(beta - 1) term of f^N - g_t is the tangent kernel's motion, and the "
                f"kernel of the trainable {', '.join(trainable)} is a function of frozen "
                "parameters only, so it does not move at all and the term is identically 0 "
                "(derivations.kernel_dependence.kernel_moves; lazy_training measures the motion "
                "exactly 0)")
    sharp = surviving_orders(config)[1]
    return ("the N^(beta - 1) term of f^N - g_t is the tangent kernel's first-order motion, "
            "odd under c -> -c while mu_0 is symmetric in c, so its mean is 0 and the kernel "
            f"moves like N^(2 beta - 2) = N^{sharp:.4g} and faster terms "
            "(derivations.scaling.lazy_training_orders)")


def vanishing_details(reason: str) -> dict[str, str]:
    """The details entry of a rate check whose leading coefficient is derived to vanish
    (:func:`drift_term_vanishes`): read by proofs_check.rivals.rate_claims for its note."""
    return {"leading_term_vanishes": reason} if reason else {}


def level_seed(seed: int, spawn_key: int, n_units: int) -> int:
    """A root seed for the simulations of one ladder level, independent across levels."""
    sequence = np.random.SeedSequence(seed, spawn_key=(spawn_key, n_units))
    return int(sequence.generate_state(1, dtype=np.uint32)[0])


def subleading_allowance(gap: float, n_min: int) -> float:
    """Finite-N bias allowance of a log-log slope when E(N) = a N^p (1 + b N^{-gap}), |b| <= 1:
    |d log(1 + b N^-gap) / d log N| <= gap N^-gap / (1 - N^-gap), largest at the smallest N."""
    if gap <= 0:
        return 0.0
    x = float(n_min) ** (-gap)
    return gap * x / (1.0 - x)


def replica_text(budget) -> str:
    """The trained-network replica counts of a budget's ladder for check texts: "128" when every
    rung has the same count, else "128 (N <= 4096), 32 (N = 8192), 8 (N = 16384), ..."
    (Budget.replicas_at)."""
    counts = [budget.replicas_at(n) for n in budget.n_ladder]
    if len(set(counts)) == 1:
        return str(counts[0])
    parts, i = [], 0
    while i < len(counts):
        j = i
        while j + 1 < len(counts) and counts[j + 1] == counts[i]:
            j += 1
        lo, hi = budget.n_ladder[i], budget.n_ladder[j]
        parts.append(f"{counts[i]} (N = {lo})" if i == j else f"{counts[i]} (N = {lo}..{hi})")
        i = j + 1
    return ", ".join(parts)


INIT_SCALE = {"c": "c_std", "w": "w_std", "b": "b_max"}  # group -> its [init] scale field


def _zero_groups(config) -> tuple[str, ...]:
    """The groups drawn at 0 at initialisation (their INIT_SCALE field is 0)."""
    return tuple(g for g, name in INIT_SCALE.items() if getattr(config.init, name) == 0)


def vanishing_terms(config) -> tuple[str, ...]:
    """theory.md §3: the trainable groups whose term of A vanishes identically at
    initialisation on this configuration (with c_std = 0 the w and b terms carry c^2 = 0; with
    w_std = 0 and tanh, S and G^b stay 0), by derivations.kernel_dependence.kernel_vanishes. A
    rival "A without that term" is A itself there: no measurement can reject it, so no check
    names it (it says so: :func:`omitted_rivals_note`)."""
    from derivations.kernel_dependence import kernel_vanishes

    zero = _zero_groups(config)
    if not zero:
        return ()
    return tuple(g for g in ("c", "w", "b") if g in config.network.trainable
                 and kernel_vanishes((g,), config.network.activation, zero))


def kernel_reads_past(config) -> bool:
    """Whether the kernel reads inputs before the current one on this configuration: not when
    b is drawn at 0 and frozen (no recurrence: derivations.kernel_dependence.kernel_reads_past).
    Then the limit of a target with lags is that of E[Y_0 | X_0], and a rival "the target
    without its lagged inputs" would be the prediction itself."""
    from derivations.kernel_dependence import kernel_reads_past as reads_past

    return reads_past(tuple(config.network.trainable), _zero_groups(config))


def omitted_rivals_note(config, vanishing: tuple[str, ...], rival: str) -> str:
    """The sentence a check shows when it omits the rivals ``rival`` (a phrase with "{}" for
    the group) of the kernel terms in ``vanishing`` (:func:`vanishing_terms`); "" when none."""
    if not vanishing:
        return ""
    zero = " and ".join(f"init.{INIT_SCALE[g]} = 0" for g in _zero_groups(config))
    names = "; ".join(rival.format(g) for g in vanishing)
    these = "these terms of A are" if len(vanishing) > 1 else "this term of A is"
    return (f"{names}: with {zero}, {these} identically 0 at initialisation "
            "(derivations.kernel_dependence.kernel_vanishes), so the rival is the prediction "
            "itself and no measurement could reject it")


def control_group(config) -> str:
    """The kernel term a tier rival drops: the first trainable group of b, w, c whose term does
    not vanish identically on this configuration (:func:`vanishing_terms`: dropping one that
    does would leave the kernel unchanged); b, else w, else c when every term vanishes (the
    config validation refuses that kernel)."""
    groups, vanishing = config.network.trainable, vanishing_terms(config)
    for group in ("b", "w", "c"):
        if group in groups and group not in vanishing:
            return group
    return "b" if "b" in groups else ("w" if "w" in groups else "c")


# Total variation from pi that the law of a "wrong law" rival must have (wrong_law): for a
# deterministic comparison (tolerance ~1e-14 relative) any law beyond pi's rounding will do;
# a Monte Carlo test resolves only a law that differs from pi visibly.
DETERMINISTIC_LAW_DISTANCE = 1e-9
STATISTICAL_LAW_DISTANCE = 0.1


MEAN_GAP_SHARE = 10  # wrong_law: the gap |nu(F) - pi(F)| asked, as 1/10 of the distance bound


def wrong_law(pi: np.ndarray, distance: float, values: np.ndarray | None = None,
              values_name: str = "F") -> tuple[str, np.ndarray]:
    """The law that stands in for pi in the rival "pi replaced by another law" (the Poisson
    checks, theory.md §5): (its name, its weights, shape (m,)). Chosen from pi (and F) alone,
    before any measurement: the uniform law, unless it is too close to pi, then weights
    increasing, then decreasing, with the state index; with ``values`` = F also pi tilted
    towards larger F; failing all, the farthest.

    "Too close": total variation below ``distance`` (a doubly stochastic chain has pi uniform,
    and the rival would be pi itself). With ``values`` (sums of F along paths: the pathwise
    identity, the drift, the variance) also a gap |nu(F) - pi(F)| below ``distance`` / 10 of
    F's range: there the rival changes only the centring nu(F) (a law with nu(F) = pi(F) gives
    a u that differs by a constant, which every such test cancels). The gap is at most the
    total variation times the range; a tenth of that bound keeps the uniform law of the shipped
    configurations (gap 3% and 6% of the range at total variation 0.27 and 0.25; the quick
    budget's drift test rejects it with a margin of 0.45 in slope) and excludes a law whose
    gap is 0, as every law symmetric under x -> -x has for an odd F on a chain with that
    symmetry (uniform weights on the two-state chain +-1 with target x0*x1: gap 1e-17).
    ``values_name``: what ``values`` are, in the tilted law's name (tiers_poisson passes the
    exact solution u)."""
    m = pi.size
    index = np.arange(1.0, m + 1.0)
    candidates = [("uniform weights", np.full(m, 1.0 / m)),
                  ("weights increasing with the state index (nu_s ~ s)", index / index.sum()),
                  ("weights decreasing with the state index (nu_s ~ m + 1 - s)",
                   index[::-1] / index.sum())]
    spread = 0.0
    if values is not None:
        values = np.asarray(values, dtype=float)
        spread = float(np.max(values) - np.min(values))
        centred = values - float(pi @ values)
        scale = float(np.max(np.abs(centred)))
        if scale > 0.0:
            tilted = pi * (1.0 + centred / (2.0 * scale))
            f = values_name
            candidates.append((f"pi tilted towards larger {f} (nu_s ~ pi_s (1 + {f}~_s / "
                               f"(2 max|{f}~|)))", tilted / tilted.sum()))

    def separation(law: np.ndarray) -> float:
        """The distance from pi in units of the one asked (>= 1: far enough)."""
        tv = 0.5 * float(np.abs(law - pi).sum()) / distance
        if values is None:
            return tv
        gap = abs(float(law @ values) - float(pi @ values)) / spread if spread > 0 else 0.0
        return min(tv, gap * MEAN_GAP_SHARE / distance)

    for name, law in candidates:
        if separation(law) >= 1.0:
            return name, law
    return max(candidates, key=lambda candidate: separation(candidate[1]))
