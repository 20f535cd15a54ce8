"""The fast (numba) backend against the NumPy reference trainer (issue 7, theory.md §2).

Both backends get the same inputs (numerics.simulate draws theta_0, the chain path, targets
and noise once), so they differ by rounding only: the output sums are added in different
orders, the activations are different implementations (NumPy/SciPy vs the compiled kernels),
and these differences are carried by the memory recursion and by training. The tolerance of
every comparison is a first-order forward-error bound built from those sources (see
:func:`error_bounds`), from magnitudes read off the reference run; each test also checks that
the bound is <= 1e-12 (the issue's agreement requirement), and a mutant trainer (negative
control) must break it.
"""

from __future__ import annotations

import functools
import math
import sys
from dataclasses import dataclass, replace

import mpmath
import numpy as np
import pytest
import sympy as sp

from derivations.activations import ACTIVATION_NAMES, Z, activation_constants, activation_derivative
from derivations.errors import InputError
from derivations.inputs.config import parse_config
from numerics.activations import activation_functions
from numerics.rnn import simulate

pytest.importorskip("numba")

import numerics.fast_activations as fast_activations  # noqa: E402
import numerics.fast_kernels as kernels  # noqa: E402
import numerics.fast_trainer as fast  # noqa: E402
import numerics.simulate as simulate_module  # noqa: E402

U = 2.0**-53  # unit roundoff of IEEE double
# Activation accuracy budget: each backend evaluates sigma and sigma' (all bounded by 2 in
# absolute value, so 1 ulp <= 2 U) within ACT_ULPS ulps. Checked against mpmath below for
# both backends (test_activation_kernels_against_mpmath); the compiled tanh is Cephes'
# scheme (documented peak error ~1 ulp), the compiled erf the piecewise Chebyshev table of
# numerics.erf_table (~1 ulp, tests/test_erf_table.py), NumPy/SciPy within ~1-2 ulps.
ACT_ULPS = 4
ACT_ABS = ACT_ULPS * 2 * U
# Depth of NumPy's pairwise summation of one 512-term block (numerics.frozen.SUM_BLOCK):
# 8 accumulators of <= 16 terms each (depth 16), combined in a tree of depth 3, inside a
# recursive halving of depth log2(512 / 128) = 2.
NUMPY_BLOCK_DEPTH = 16 + 3 + 2

STATES = {1: "[[-1.0], [0.3], [1.0]]", 2: "[[1.0, -0.5], [0.2, 0.8], [-0.7, 0.1]]"}
TARGETS = {1: "tanh(2*x0*x1 + x0)", 2: "tanh(x0_1 - x1_2) + 0.5*x0_2"}
TOML = """
[chain]
states = {states}
transition = [["1/2", "1/4", "1/4"], ["1/3", "1/3", "1/3"], ["1/5", "3/5", "1/5"]]
[target]
expression = "{target}"
noise_std = 0.1
[network]
activation = "{activation}"
beta = {beta}
antisymmetric = {antisymmetric}
trainable = {trainable}
[init]
w_std = 1.2
b_max = 0.6
[training]
alpha = 1.0
horizon = {horizon}
[run]
N = {N}
replicas = {R}
seed = 11
backend = "numpy"
"""


def make_config(*, d=2, activation="tanh", beta=0.75, antisymmetric=False,
                trainable=("c", "w", "b"), N=64, R=2, steps=20):
    return parse_config(TOML.format(
        states=STATES[d], target=TARGETS[d], activation=activation, beta=beta,
        antisymmetric=str(antisymmetric).lower(),
        trainable="[" + ", ".join(f'"{g}"' for g in trainable) + "]",
        horizon=repr(steps / N), N=N, R=R), "<test_fast_backend>")


# ------------------------------------------------------------------ the error bound


@dataclass(frozen=True)
class Bounds:
    """f (R, steps): bound on |f_fast - f_ref| per output; theta (steps + 1,): bound on the
    difference of every parameter coordinate of the snapshot theta_k."""

    f: np.ndarray
    theta: np.ndarray


def _gamma(n: float) -> float:
    """gamma_n = n U / (1 - n U): relative error of a sum of depth n (Higham, Thm 3.1)."""
    return n * U / (1 - n * U)


def error_bounds(config, reference) -> Bounds:
    """First-order bound on the fast-vs-reference differences (theory.md §2 recursions).

    ``reference``: the NumPy run with snapshots at every step 0..steps (magnitudes only).
    Per unit i (maxima over the run): C = |c|, W = |w|_2, B = |b|, rho = B Lip(sigma) < 1,
    x = max |X_k|_2; |S| <= Smax (1 for tanh, sigmoid, erf; W x / (1 - B) for linear, from
    |S_k| <= W x + B |S_{k-1}|); |G^w| <= Lip x / (1 - rho), |G^b| <= Lip Smax / (1 - rho)
    (theory.md §6 memory bounds, geometric series).

    Sources of difference at step k (first order in U):
    1. output sum: both backends sum c_i S_i with relative error gamma_depth (Higham): fast
       depth SUM_BLOCK/8 + 3 (8-lane block sum) + n_blocks (sequential) + 1 (pair sum), reference
       NUMPY_BLOCK_DEPTH + n_blocks + 1; + 2 for the products c S and the scale N^-beta.
    2. activations: each backend within ACT_ABS of sigma, sigma' (|delta sigma| <= 2 ACT_ABS
       between them), carried by S_k = sigma(w.x + b S_{k-1}):
       dS <= 2 ACT_ABS / (1 - rho); tangents G = sigma'(z)(a + b G_prev):
       dG <= ((2 ACT_ABS + sup|sigma''| B dS)(a + B G) + Lip dS [G^b only]) / (1 - rho).
       Linear: sigma exact, dS = dG = 0.
    3. parameters: D_k bounds every coordinate difference of theta_k. The update of step k
       (theta += coef (S, c G^w, c G^b), coef = eta N^-beta (Y - f)) differs by
       eta N^-beta |df_k| V + |coef_k| (dV + D_k Gmax) + 2 U |theta| (the two rounded sums
       may round apart), V = the unit's update direction bound, dV its difference;
       D_{k+1} = D_k + that, per unit. A parameter difference D_i moves f_k by at most
       N^-beta sum_i P_i D_i, P_i = Smax + C (G^w + G^b).
    So df_k = N^-beta [gamma A + sum_i (C_i dS_i + P_i D_i)], A = sum_i C_i Smax_i.
    Frozen groups contribute no update. Second-order terms (products of differences) are
    O(U^2) relative and dropped.
    """
    net, act = config.network, config.network.activation
    trainable = set(net.trainable)
    paired = bool(net.antisymmetric)
    N, beta, eta = reference.N, reference.beta, reference.eta
    scale = float(N) ** -beta
    rate = eta * scale
    snaps = reference.snapshots  # theta_0 .. theta_steps
    C = np.max([np.abs(s.c) for s in snaps], axis=0)  # (R, N)
    W = np.max([np.linalg.norm(s.w, axis=-1) for s in snaps], axis=0)
    B = np.max([np.abs(s.b) for s in snaps], axis=0)
    xi = np.asarray(config.chain.states, dtype=float)
    x = float(np.max(np.linalg.norm(xi, axis=-1)))
    # Lip(sigma), sup |sigma''|, sup |sigma|: derived from the definition; each checked against
    # a dense grid of the generated functions in tests/test_derivations_limit.py.
    constants = activation_constants(act)
    lip, second = constants.lipschitz, constants.sup_second
    rho = B * lip
    assert np.all(rho < 1)
    smax = W * x / (1 - B) if act == "linear" else np.full_like(C, constants.sup_sigma)
    gw = lip * x / (1 - rho)
    gb = lip * smax / (1 - rho)
    act_abs = 0.0 if act == "linear" else ACT_ABS
    dS = 2 * act_abs / (1 - rho)
    dsl = 2 * act_abs + second * B * dS  # |delta sigma'(z)|
    dGw = dsl * (x + B * gw) / (1 - rho)
    dGb = (dsl * (smax + B * gb) + lip * dS) / (1 - rho)
    tc, tw, tb = ("c" in trainable), ("w" in trainable), ("b" in trainable)
    V = tc * smax + C * (tw * gw + tb * gb)  # (R, N): update direction per unit
    dV = tc * dS + C * (tw * dGw + tb * dGb)
    gmax = tw * gw + tb * gb
    theta_abs = np.maximum(C, np.maximum(W, B))
    sensitivity = smax + C * (gw + gb)  # (R, N)
    n_terms = N // 2 if paired else N
    depth_fast = kernels.SUM_BLOCK // 8 + 3 + math.ceil(n_terms / kernels.SUM_BLOCK) + 1
    depth_ref = NUMPY_BLOCK_DEPTH + math.ceil(n_terms / 512) + 1
    gamma = _gamma(depth_fast + 2) + _gamma(depth_ref + 2)
    A = np.sum(C * smax, axis=1)
    R, steps = reference.f.shape
    df = np.empty((R, steps))
    D = np.zeros((R, N))  # per unit
    D_max = [0.0]
    for k in range(steps):
        df[:, k] = scale * (gamma * A + np.sum(C * dS + sensitivity * D, axis=1))
        coef = rate * np.abs(reference.y[:, k] - reference.f[:, k])[:, None]
        # |fl(a + x) - fl(a + x')| <= |x - x'| + U (|a + x| + |a + x'|): 2 U |theta| per step
        D = D + rate * df[:, k, None] * V + coef * (dV + D * gmax) + 2 * U * theta_abs
        D_max.append(float(np.max(D)))
    return Bounds(df, np.array(D_max))


def assert_agree(config, fast_result, reference, bounds: Bounds) -> None:
    assert float(bounds.f.max()) <= 1e-12  # the requirement, met by the bound itself
    assert fast_result.steps == reference.steps and fast_result.f.shape == reference.f.shape
    np.testing.assert_array_equal(fast_result.states, reference.states)
    np.testing.assert_array_equal(fast_result.y, reference.y)
    assert np.all(np.abs(fast_result.f - reference.f) <= bounds.f)
    for k, (a, b) in enumerate(zip(fast_result.snapshots, reference.snapshots, strict=True)):
        for group in "cwb":
            diff = np.abs(getattr(a, group) - getattr(b, group))
            assert float(diff.max()) <= bounds.theta[k], (k, group)


def run_both(config, kernel=None, monkeypatch=None):
    steps = int(round(config.training.horizon * config.run.N))
    every = tuple(range(steps + 1))
    reference = simulate(config, backend="numpy", snapshot_steps=every, progress=False)
    if kernel is not None:
        monkeypatch.setattr(fast, "choose_kernel", lambda R, N, threads: kernel)
    result = simulate(config, backend="fast", snapshot_steps=every, progress=False)
    return reference, result


# ------------------------------------------------------------------ activations


def _mp_values(name: str, z: float) -> tuple[float, float]:
    """(sigma, sigma') at z from the SymPy definition evaluated by mpmath (at the caller's
    working precision): independent of both backends' double-precision code."""
    x = mpmath.mpf(z)
    return tuple(float(_mp_function(name, order)(x)) for order in (0, 1))


@functools.cache
def _mp_function(name: str, order: int):
    return sp.lambdify(Z, activation_derivative(name, order), "mpmath")


def _compiled_activation(name: str):
    """The fast backend's (sigma, sigma') on an array: the hand-written twin where there is
    one, else the generated functions compiled by numba (fast_activations)."""
    if name in fast_activations.TWIN_CODES:
        return lambda z: fast_activations.activate_array(fast_activations.TWIN_CODES[name], z)
    activate = fast_activations.generated_activate_block(name)

    def run(z):
        s, slope = np.empty_like(z), np.empty_like(z)
        activate(-1, z, s, slope, z.shape[0])
        return s, slope

    return run


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_activation_kernels_against_mpmath(name):
    """Both backends' sigma, sigma' within ACT_ABS of 40-digit mpmath (the budget of the
    bound), hence the compiled twin within 2 ACT_ABS of the generated function it stands for
    (asserted directly too); negative control: a 1e-12 perturbation of the argument is
    detected."""
    rng = np.random.default_rng(5)
    z = np.concatenate([rng.standard_normal(300) * s for s in (0.05, 0.5, 2.0, 8.0)]
                       + [np.array([0.0, 0.625, -0.625, 0.62, 19.5, -25.0, 40.0, 1e-9])])
    with mpmath.workdps(40):
        exact = np.array([_mp_values(name, float(v)) for v in z])
    compiled = _compiled_activation(name)
    fast_s, fast_d = compiled(z)
    ref = activation_functions(name)
    for values, column in ((fast_s, 0), (fast_d, 1), (ref.sigma(z), 0), (ref.d1(z), 1)):
        assert np.max(np.abs(values - exact[:, column])) <= ACT_ABS
    assert np.max(np.abs(fast_s - ref.sigma(z))) <= 2 * ACT_ABS
    assert np.max(np.abs(fast_d - ref.d1(z))) <= 2 * ACT_ABS
    if name != "linear":
        shifted, _ = compiled(z + 1e-12)
        assert np.max(np.abs(shifted - exact[:, 0])) > ACT_ABS


# ------------------------------------------------------------------ agreement

# 20 steps (10 for beta = 1/2, where the worst-case growth of the parameter channel, a
# factor ~ exp(alpha P V k / N) per the bound, is largest), so every bound stays <= 1e-12.
CASES = [
    # d, activation, beta, antisymmetric, trainable, N, R, steps
    (2, "tanh", 0.75, False, ("c", "w", "b"), 1300, 2, 20),  # 6 blocks, the last partial
    (1, "tanh", 0.75, False, ("c", "w", "b"), 700, 3, 20),
    (2, "erf", 0.5, True, ("c", "w", "b"), 300, 2, 10),  # paired terms
    (1, "sigmoid", 0.6, False, ("c", "w", "b"), 37, 3, 20),
    (1, "linear", 0.75, False, ("c", "w", "b"), 900, 2, 20),
    (2, "tanh", 0.75, False, ("c",), 500, 2, 20),  # frozen w, b: no tangents
    (1, "erf", 0.75, True, ("w", "b"), 520, 2, 20),  # frozen c; paired terms over 2 blocks
    (2, "sigmoid", 0.75, False, ("b",), 300, 1, 20),
    (2, "arctan", 0.75, False, ("c", "w", "b"), 600, 2, 20),  # generated functions, no twin
]


@pytest.mark.parametrize(
    ("d", "activation", "beta", "antisymmetric", "trainable", "N", "R", "steps"), CASES)
def test_fast_agrees_with_reference(d, activation, beta, antisymmetric, trainable, N, R, steps):
    config = make_config(d=d, activation=activation, beta=beta, antisymmetric=antisymmetric,
                         trainable=trainable, N=N, R=R, steps=steps)
    reference, result = run_both(config)
    bounds = error_bounds(config, reference)
    assert_agree(config, result, reference, bounds)
    assert not np.array_equal(reference.snapshots[0].c, reference.snapshots[-1].c) or (
        "c" not in trainable)
    if antisymmetric:  # paired output terms: exactly 0 at initialisation, in both backends
        assert np.all(result.f[:, 0] == 0.0) and np.all(reference.f[:, 0] == 0.0)


def _mutant_trainer(inputs, bar):
    """Negative control: the reference loop with the w and b updates taken from c_{k+1}
    (the c update applied first): a plausible fusion-order bug."""
    from numerics.frozen import memory_step, network_output

    R, steps, d = inputs.X.shape
    N = inputs.theta0.c.shape[1]
    scale = float(N) ** (-inputs.beta)
    c = inputs.theta0.c.copy()
    w_t = np.ascontiguousarray(np.moveaxis(inputs.theta0.w, -1, 0))
    b = inputs.theta0.b.copy()
    S, Gw, Gb = np.zeros((R, N)), np.zeros((d, R, N)), np.zeros((R, N))
    f = np.empty((R, steps))
    for k in range(steps):
        S_prev = S
        S, Gw, Gb = memory_step(inputs.activation, w_t, b, inputs.X[:, k], S_prev, Gw, Gb)
        f[:, k] = network_output(c, S, inputs.beta, inputs.paired)
        coef = (inputs.eta * scale) * (inputs.y[:, k] - f[:, k])[:, None]
        c = c + coef * S
        w_t = w_t + (coef * c)[None] * Gw
        b = b + coef * c * Gb
    snapshots = tuple(
        simulate_module.Parameters(c, np.moveaxis(w_t, 0, -1), b) for _ in inputs.snapshot_steps
    )
    return f, snapshots


def test_negative_control_mutant_breaks_the_bound(monkeypatch):
    config = make_config(d=2, N=1300, R=2)
    reference, _ = run_both(config)
    bounds = error_bounds(config, reference)
    monkeypatch.setitem(simulate_module.BACKENDS, "fast", _mutant_trainer)
    mutant = simulate(config, backend="fast", snapshot_steps=(), progress=False)
    assert np.any(np.abs(mutant.f - reference.f) > bounds.f)
    assert np.array_equal(mutant.f[:, 0], reference.f[:, 0])  # same inputs, same first step


# ------------------------------------------------------------------ determinism


def test_kernels_batching_and_segments_give_identical_bits(monkeypatch):
    """'replica' and 'block' kernels, any replica subset, and segment boundaries (progress
    chunks, snapshots) change no bit: the summation order depends on N only."""
    config = make_config(d=2, activation="tanh", antisymmetric=True, N=1100, R=3, steps=30)
    kwargs = dict(snapshot_steps=(0, 13, 30), progress=False)
    base = simulate(config, backend="fast", **kwargs)
    monkeypatch.setattr(fast, "choose_kernel", lambda R, N, threads: "block")
    blocked = simulate(config, backend="fast", **kwargs)
    monkeypatch.setattr(fast, "SEGMENT_UNIT_STEPS", 1100 * 3 * 4)  # segments of 4 steps
    single = simulate(config, backend="fast", replicas=[2], snapshot_steps=(5, 30),
                      progress=False)
    for other in (blocked,):
        np.testing.assert_array_equal(other.f, base.f)
        for a, b in zip(other.snapshots, base.snapshots, strict=True):
            for g in "cwb":
                np.testing.assert_array_equal(getattr(a, g), getattr(b, g))
    np.testing.assert_array_equal(single.f[0], base.f[2])
    np.testing.assert_array_equal(single.snapshots[1].w[0], base.snapshots[2].w[2])
    assert not np.array_equal(base.f[0], base.f[1])


def test_inputs_are_not_modified():
    config = make_config(d=1, N=50, R=2)
    from numerics.trainer import Parameters, TrainingInputs

    rng = np.random.default_rng(0)
    theta0 = Parameters(rng.standard_normal((2, 50)), rng.standard_normal((2, 50, 1)),
                        rng.uniform(-0.5, 0.5, (2, 50)))
    copies = [a.copy() for a in (theta0.c, theta0.w, theta0.b)]
    inputs = TrainingInputs(activation_functions("tanh"), rng.standard_normal((2, 10, 1)),
                            rng.standard_normal((2, 10)), theta0, 0.75, 0.1,
                            (True, True, True), False, (0, 10))

    from numerics.progress import progress_bar

    f, snaps = fast.train_fast(inputs, progress_bar(10, enabled=False))
    for before, after in zip(copies, (theta0.c, theta0.w, theta0.b), strict=True):
        np.testing.assert_array_equal(before, after)
    np.testing.assert_array_equal(snaps[0].w, theta0.w)
    assert f.shape == (2, 10) and not np.array_equal(snaps[1].c, theta0.c)
    assert config.run.N == 50


# ------------------------------------------------------------------ numba missing


def test_missing_numba_is_a_one_line_input_error(monkeypatch, capsys):
    from proofs_check.cli import main

    monkeypatch.delitem(sys.modules, "numerics.fast_kernels")
    monkeypatch.setitem(sys.modules, "numba", None)  # makes `import numba` fail
    config = make_config(d=1, N=20, R=1)
    with pytest.raises(InputError, match="needs numba.*--backend numpy"):
        simulate(replace(config, run=replace(config.run, backend="fast")), progress=False)
    assert main(["simulate", "--N", "20", "--replicas", "1", "--backend", "fast",
                 "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "needs numba" in err and err.count("\n") == 1 and "Traceback" not in err
