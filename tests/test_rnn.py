"""The finite RNN of theory.md §2 (numerics.simulate) and the frozen network of §3
(numerics.frozen): tangents vs finite differences, SGD step vs an independent gradient,
freezing, antisymmetric initialisation, reproducibility, memory.

Finite-difference tolerances (documented once, used throughout). For a smooth scalar
function F of one parameter, evaluated in floating point with absolute error <= delta_F, the
central difference D(h) = (F(+h) - F(-h)) / (2h) satisfies

    |D(h) - F'| <= h^2 |F'''| / 6  (truncation)  +  delta_F / h  (rounding).

|F'''| is estimated from the same function at a coarse step H = 1e-2 by step doubling,
D(2H) - D(H) = H^2 F''' / 2 + O(H^4), i.e. F''' ~ 2 (D(2H) - D(H)) / H^2; we take the largest
estimate over all entries and double it. delta_F comes from a forward-error bound of the
recursion (see _memory_rounding). With h = 1e-6 the rounding term dominates (~1e-9).
"""

from __future__ import annotations

import tracemalloc
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy.special import erf

from derivations.errors import InputError
from derivations.inputs.config import load_config, parse_config
from numerics.rnn import frozen_memory, frozen_outputs, simulate

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

EPS = np.finfo(float).eps
H_FD = 1e-6  # central-difference step
H_COARSE = 1e-2  # step for the third-derivative (truncation) estimate

# Independent reference activations (not numerics.activations, which is under test through
# the simulator): tanh, logistic sigmoid, erf, identity, arctan.
REFERENCE_SIGMA = {
    "arctan": np.arctan,
    "tanh": np.tanh,
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "erf": erf,
    "linear": lambda z: z,
}
LIPSCHITZ = {"tanh": 1.0, "sigmoid": 0.25, "erf": 2.0 / np.sqrt(np.pi), "linear": 1.0,
             "arctan": 1.0}  # arctan' = 1 / (1 + z^2) <= 1
SUP_SIGMA = {"tanh": 1.0, "sigmoid": 1.0, "erf": 1.0, "arctan": np.pi / 2}


# ----------------------------------------------------------------- independent reference


def reference_memory(sigma, w, b, inputs):
    """Forward recursion S_k = sigma(w . X_k + b S_{k-1}), S_{-1} = 0 (theory.md §2), written
    independently of numerics. w (..., N, d), b (..., N), inputs (K, d) -> S (..., K, N).
    Parameters may carry a step axis: w (K, ..., N, d), b (K, ..., N) if ``per_step``."""
    K = inputs.shape[0]
    S = np.zeros(b.shape)
    out = []
    for k in range(K):
        S = sigma(np.einsum("...nd,d->...n", w, inputs[k]) + b * S)
        out.append(S)
    return np.stack(out, axis=-2)


def trajectory_memory(sigma, ws, bs, inputs):
    """S_k along a parameter trajectory: S_j = sigma(w_j . X_j + b_j S_{j-1}) for j <= k,
    ws (k+1, ..., N, d), bs (k+1, ..., N), inputs (k+1, d) -> S_k (..., N)."""
    S = np.zeros(bs.shape[1:])
    for j in range(inputs.shape[0]):
        S = sigma(np.einsum("...nd,d->...n", ws[j], inputs[j]) + bs[j] * S)
    return S


def _memory_rounding(w, b, inputs, activation):
    """Forward-error bound for the computed S: each step adds at most 4 eps (|z| + 1) (d + 2
    roundings in z, <= 2 ulp in sigma), earlier errors are damped by |b sigma'| <= rho < 1, so
    |delta S| <= 4 eps (max|z| + 1) / (1 - rho); |z| <= |w|_1 max|x| + |b| max|S|."""
    rho = np.abs(b).max() * LIPSCHITZ[activation]
    wx_max = np.abs(w).sum(axis=-1).max() * np.abs(inputs).max()
    smax = SUP_SIGMA[activation] if activation != "linear" else wx_max / (1 - rho)
    zmax = wx_max + np.abs(b).max() * smax
    return 4 * EPS * (zmax + 1) / (1 - rho)


def _central(F, h):
    return (F(h) - F(-h)) / (2 * h)


def _fd_tolerance(F, rounding):
    """|D(h) - F'| bound: 2 x estimated truncation + rounding (module docstring)."""
    third = 2 * np.abs(_central(F, 2 * H_COARSE) - _central(F, H_COARSE)) / H_COARSE**2
    return 2 * H_FD**2 * third.max() / 6 + rounding / H_FD


# ------------------------------------------------------------------ tangents vs FD


def _setup_frozen(activation, seed=0):
    rng = np.random.default_rng(seed)
    N, d, P, K = 7, 2, 3, 15
    b_max = {"tanh": 0.6, "sigmoid": 0.9, "erf": 0.6, "linear": 0.6, "arctan": 0.6}[activation]
    w = 1.2 * rng.standard_normal((N, d))
    b = rng.uniform(-b_max, b_max, N)
    states = np.array([[1.0, -0.5], [0.2, 0.8], [-0.7, 0.1]])
    inputs = states[rng.integers(0, 3, (P, K))]
    return w, b, inputs


def _tangent_fd_errors(activation, w, b, inputs, Gw, Gb):
    """max |G - FD| for G^w (each component) and G^b, and the FD tolerance.

    Units do not interact in the memory recursion, so perturbing component j of w (or b) of
    all units at once gives each unit's own partial derivative. Gw (P, K, N, d), Gb (P, K, N).
    """
    sigma = REFERENCE_SIGMA[activation]
    P, K, d = inputs.shape
    rounding = _memory_rounding(w, b, inputs, activation)
    errors, tolerances = [], []
    for j in range(d):
        shift = np.zeros_like(w)
        shift[:, j] = 1.0

        def F(h, shift=shift):
            return np.stack([reference_memory(sigma, w + h * shift, b, x) for x in inputs])

        errors.append(np.abs(Gw[..., j] - _central(F, H_FD)).max())
        tolerances.append(_fd_tolerance(F, rounding))

    def Fb(h):
        return np.stack([reference_memory(sigma, w, b + h, x) for x in inputs])

    errors.append(np.abs(Gb - _central(Fb, H_FD)).max())
    tolerances.append(_fd_tolerance(Fb, rounding))
    return np.array(errors), np.array(tolerances)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "erf", "linear", "arctan"])
def test_tangents_equal_finite_differences(activation):
    w, b, inputs = _setup_frozen(activation)
    memory = frozen_memory(w, b, activation, inputs)
    P, K, d = inputs.shape
    assert memory.S.shape == (P, K, 7) and memory.Gw.shape == (P, K, 7, d)
    # the memory itself: independent forward recursion, to the rounding bound
    reference = np.stack([reference_memory(REFERENCE_SIGMA[activation], w, b, x) for x in inputs])
    assert np.abs(memory.S - reference).max() <= 2 * _memory_rounding(w, b, inputs, activation)
    errors, tolerances = _tangent_fd_errors(activation, w, b, inputs, memory.Gw, memory.Gb)
    assert np.all(errors <= tolerances), (errors, tolerances)
    last = frozen_memory(w, b, activation, inputs, last_only=True)
    for name in ("S", "Gw", "Gb"):
        np.testing.assert_array_equal(getattr(last, name), getattr(memory, name)[:, -1:])
    assert np.all(tolerances < 1e-7)  # the check is sharp: O(0.1) tangent errors would fail


def _mutant_tangents(activation, w, b, inputs, drop):
    """Deliberately wrong tangents (negative controls): ``drop="S_prev"`` omits S_{k-1} from
    G^b; ``drop="carry"`` omits the carried b G_{k-1} terms (one-step derivative only)."""
    assert activation == "tanh"
    sigma = np.tanh
    P, K, d = inputs.shape
    N = b.shape[0]
    Gw = np.zeros((P, K, N, d))
    Gb = np.zeros((P, K, N))
    for p in range(P):
        S, gw, gb = np.zeros(N), np.zeros((N, d)), np.zeros(N)
        for k in range(K):
            x = inputs[p, k]
            z = w @ x + b * S
            slope = 1.0 - np.tanh(z) ** 2
            carry = 0.0 if drop == "carry" else 1.0
            gw = slope[:, None] * (x[None, :] + carry * b[:, None] * gw)
            gb = slope * ((0.0 if drop == "S_prev" else S) + carry * b * gb)
            S = sigma(z)
            Gw[p, k], Gb[p, k] = gw, gb
    return Gw, Gb


@pytest.mark.parametrize("drop", ["S_prev", "carry"])
def test_tangent_check_rejects_wrong_tangents(drop):
    activation = "tanh"
    w, b, inputs = _setup_frozen(activation, seed=1)
    Gw, Gb = _mutant_tangents(activation, w, b, inputs, drop)
    errors, tolerances = _tangent_fd_errors(activation, w, b, inputs, Gw, Gb)
    assert errors[-1] > 1e3 * tolerances[-1]  # G^b is wrong in both mutants
    if drop == "carry":
        assert np.all(errors[:-1] > 1e3 * tolerances[:-1])  # and G^w too


def test_frozen_outputs_match_reference_and_memory():
    activation = "erf"
    w, b, inputs = _setup_frozen(activation, seed=2)
    c = np.random.default_rng(5).standard_normal(b.shape)
    beta = 0.75
    out = frozen_outputs(c, w, b, activation, beta, inputs)
    S = np.stack([reference_memory(REFERENCE_SIGMA[activation], w, b, x) for x in inputs])
    expected = S @ c * len(c) ** -beta
    # f error <= N^-beta sum|c| (delta_S + 2 eps) + summation rounding N eps max|c S|
    bound = len(c) ** -beta * np.abs(c).sum() * (2 * _memory_rounding(w, b, inputs, activation))
    assert np.abs(out - expected).max() <= bound + len(c) * EPS * np.abs(c).max()
    memory = frozen_memory(w, b, activation, inputs)
    np.testing.assert_array_equal(out, (memory.S * c).sum(axis=-1) * len(c) ** -beta)


def test_frozen_memory_reads_every_input_component_when_d_is_3():
    """d = 3 (the shipped examples stop at d = 2): S after every step against the independent
    recursion, within its rounding bound; ``last_only`` keeps exactly the last step."""
    rng = np.random.default_rng(11)
    N, d, P, K = 5, 3, 2, 6
    w = 1.2 * rng.standard_normal((N, d))
    b = rng.uniform(-0.6, 0.6, N)
    inputs = rng.standard_normal((P, K, d))
    memory = frozen_memory(w, b, "tanh", inputs)
    expected = np.stack([reference_memory(np.tanh, w, b, x) for x in inputs])
    assert np.abs(memory.S - expected).max() <= _memory_rounding(w, b, inputs, "tanh")
    last = frozen_memory(w, b, "tanh", inputs, last_only=True)
    assert last.S.shape == (P, 1, N) and last.Gw.shape == (P, 1, N, d)
    np.testing.assert_array_equal(last.S[:, 0], memory.S[:, -1])
    np.testing.assert_array_equal(last.Gw[:, 0], memory.Gw[:, -1])


def test_frozen_network_refuses_inconsistent_shapes_and_unknown_activations():
    w, b, inputs = _setup_frozen("tanh")
    c = np.ones(b.shape)
    with pytest.raises(ValueError, match=r"need w \(N, d\) and b \(N,\)"):
        frozen_memory(w, b[:-1], "tanh", inputs)
    with pytest.raises(ValueError, match=r"need inputs \(P, K, d=2\)"):
        frozen_memory(w, b, "tanh", inputs[..., :1])
    with pytest.raises(ValueError, match=r"need c \(N,\)"):
        frozen_outputs(c[:-1], w, b, "tanh", 0.5, inputs)
    with pytest.raises(TypeError, match="cannot get an activation from float"):
        frozen_outputs(c, w, b, 0.5, 0.5, inputs)


def test_frozen_outputs_paired_mirror_units_give_exact_zero():
    w, b, inputs = _setup_frozen("tanh", seed=3)
    c = np.random.default_rng(1).standard_normal(b.shape)
    out = frozen_outputs(
        np.concatenate([c, -c]), np.concatenate([w, w]), np.concatenate([b, b]), "tanh", 0.5,
        inputs, paired=True,
    )
    assert np.all(out == 0.0)


def test_frozen_outputs_pair_the_units_of_an_antisymmetric_config_by_default():
    """Given a Config, the pairing follows network.antisymmetric (theory.md §2: f_0 = 0
    exactly): mirror units give exactly 0 without ``paired``; unpaired sums leave rounding."""
    w, b, inputs = _setup_frozen("tanh", seed=3)
    c = np.random.default_rng(1).standard_normal(b.shape)
    units = (np.concatenate([c, -c]), np.concatenate([w, w]), np.concatenate([b, b]))
    config = load_config(EXAMPLES / "antisymmetric_beta_half.toml")  # tanh, d = 2
    assert config.network.antisymmetric and config.chain.d == inputs.shape[2]
    out = frozen_outputs(*units, config, 0.5, inputs)
    assert np.all(out == 0.0)
    unpaired = frozen_outputs(*units, "tanh", 0.5, inputs)
    assert np.any(unpaired != 0.0)  # the test can tell: without the pairing, rounding shows


# ---------------------------------------------------------------- the SGD trainer

BASE_TOML = """
[chain]
states = [[1.0, -0.5], [0.2, 0.8], [-0.7, 0.1]]
transition = [["1/2", "1/4", "1/4"], ["1/3", "1/3", "1/3"], ["1/5", "3/5", "1/5"]]
[target]
expression = "tanh(x0_1 - x1_2) + 0.5*x0_2"
noise_std = {noise}
[network]
activation = "{activation}"
beta = {beta}
antisymmetric = {antisymmetric}
trainable = {trainable}
[init]
c_std = {c_std}
w_std = {w_std}
b_max = {b_max}
[training]
alpha = {alpha}
horizon = {horizon}
[run]
N = {N}
replicas = {replicas}
seed = 7
backend = "{backend}"
"""

_BACKEND = {"name": "numpy"}


@pytest.fixture(autouse=True, params=["numpy", "fast"])
def backend(request):
    """Every SGD test runs on both backends: the NumPy reference and the compiled one (a
    mutation of either must fail here, not only in the cross-backend comparison)."""
    _BACKEND["name"] = request.param
    yield request.param
    _BACKEND["name"] = "numpy"


def make_config(**overrides):
    values = dict(
        noise=0.1, activation="tanh", beta=0.75, antisymmetric="false",
        trainable='["c", "w", "b"]', alpha=1.0, horizon=1.0, N=6, replicas=2,
        backend=_BACKEND["name"], c_std=1.0, w_std=1.2, b_max=0.6,
    )
    values.update(overrides)
    return parse_config(BASE_TOML.format(**values), "<test>")


def clean_target(states_with_prehistory):
    """y(X_{k-1}, X_k) = tanh(X_k,1 - X_{k-1},2) + 0.5 X_k,2 from the state path, by hand."""
    xi = np.array([[1.0, -0.5], [0.2, 0.8], [-0.7, 0.1]])
    X = xi[states_with_prehistory]
    return np.tanh(X[..., 1:, 0] - X[..., :-1, 1]) + 0.5 * X[..., 1:, 1]


def _loss_with_carried_memory(
    sigma, params, k, X_path, y_k, N, beta, group, unit, comp, delta, carried=True
):
    """L_k(delta) = 1/2 (Y_k - f_k(delta))^2 for one parameter coordinate.

    Why this is the gradient SGD must follow (theory.md §2): the tangent G_k is *defined* by the
    recursion G_k = sigma'(z_k)(dz/dtheta + b_k G_{k-1}) along the actual trajectory theta_0..k,
    which is exactly d/d delta of S_k(theta_0 + delta, ..., theta_k + delta) at delta = 0 (same
    shift of every past parameter; induction on k). It is not full BPTT through a fixed theta,
    nor a gradient with S_{k-1} frozen. So: shift the coordinate by the same delta in every
    recorded theta_j, j <= k, re-run the forward recursion (no G, no trainer code) and
    difference the loss. ``carried=False`` (negative control) shifts theta_k only, i.e. treats
    S_{k-1} as a constant.
    """
    cs, ws, bs = (np.array(a[: k + 1]) for a in params)  # (k+1, N), (k+1, N, d), (k+1, N)
    first = 0 if carried else k
    if group == "c":
        cs[k, unit] += delta
    elif group == "w":
        ws[first:, unit, comp] += delta
    else:
        bs[first:, unit] += delta
    S_k = trajectory_memory(sigma, ws, bs, X_path[: k + 1])
    f_k = (cs[k] * S_k).sum() * N**-beta
    return 0.5 * (y_k - f_k) ** 2, f_k


@pytest.mark.parametrize(("activation", "alpha", "c_std"),
                         [("tanh", 1.0, 1.0), ("erf", 1.0, 1.0), ("tanh", 0.5, 1.5)])
def test_sgd_step_equals_independent_gradient(activation, alpha, c_std):
    """Every coordinate's SGD step against a finite-difference gradient of the loss; also at
    alpha and c_std away from 1 (every shipped configuration has both 1)."""
    config = make_config(activation=activation, alpha=alpha, c_std=c_std)
    N, beta = 6, 0.75
    result = simulate(config, snapshot_steps=range(0, 7))
    assert result.steps == 6 and result.snapshot_steps == tuple(range(7))
    eta = alpha * N ** (2 * beta - 2)
    assert result.eta == pytest.approx(eta, rel=4 * EPS)
    sigma = REFERENCE_SIGMA[activation]
    xi = np.array([[1.0, -0.5], [0.2, 0.8], [-0.7, 0.1]])
    checked = 0
    worst_control = 0.0
    for r in range(2):
        params = [np.stack([getattr(s, g)[r] for s in result.snapshots]) for g in "cwb"]
        X_path = xi[result.states[r]]
        for k in range(result.steps):
            y_k = result.y[r, k]
            _, f_k = _loss_with_carried_memory(
                sigma, params, k, X_path, y_k, N, beta, "c", 0, 0, 0.0
            )
            rounding_S = _memory_rounding(params[1][k], params[2][k], X_path, activation)
            delta_f = N**-beta * np.abs(params[0][k]).sum() * (rounding_S + 2 * EPS)
            assert abs(result.f[r, k] - f_k) <= 2 * delta_f + N * EPS * abs(f_k)
            delta_L = (abs(y_k - f_k) + delta_f) * delta_f + 2 * EPS
            for g_index, group in enumerate("cwb"):
                shape = params[g_index].shape[1:]
                for index in np.ndindex(*shape):
                    unit, comp = index[0], (index[1] if len(index) > 1 else 0)

                    def L(
                        delta, carried=True, group=group, unit=unit, comp=comp, k=k, y_k=y_k,
                        params=params, X_path=X_path,
                    ):
                        return _loss_with_carried_memory(
                            sigma, params, k, X_path, y_k, N, beta, group, unit, comp, delta,
                            carried,
                        )[0]

                    before = params[g_index][k][index]
                    after = params[g_index][k + 1][index]
                    grad_code = -(after - before) / eta
                    # rounding of theta_{k+1} = theta_k + step: eps |theta_{k+1}| (+ a few eps of
                    # the step itself), divided by eta
                    code_error = (EPS * abs(after) + 8 * EPS * abs(after - before)) / eta
                    grad_fd = _central(L, H_FD)
                    tolerance = _fd_tolerance(L, delta_L) + code_error
                    assert abs(grad_code - grad_fd) <= tolerance, (group, index, k)
                    checked += 1
                    if group != "c" and k >= 1:  # negative control: memory not carried

                        def L0(delta, L=L):
                            return L(delta, carried=False)

                        control = abs(grad_code - _central(L0, H_FD)) / tolerance
                        worst_control = max(worst_control, control)
    assert checked == 2 * 6 * 6 * 4
    assert worst_control > 1e3  # the check distinguishes carried memory from frozen S_{k-1}


def test_initial_parameters_scale_with_their_init_scales():
    """theory.md §2: theta_0 = (c_std Z_c, w_std Z_w, b_max (2U - 1)) with the same draws for
    the same seed (draw order c, w, b), so doubling a scale doubles its group and leaves the
    others as they were."""
    def theta0(c_std: float, w_std: float, b_max: float):
        config = make_config(noise=0.0, c_std=c_std, w_std=w_std, b_max=b_max)
        first = simulate(config, snapshot_steps=[0]).snapshots[0]
        return first.c, first.w, first.b

    c, w, b = theta0(1.0, 1.2, 0.3)
    c2, w2, b2 = theta0(2.0, 2.4, 0.6)
    np.testing.assert_allclose(c2, 2.0 * c, rtol=4 * EPS, atol=0)
    np.testing.assert_allclose(w2, 2.0 * w, rtol=4 * EPS, atol=0)
    np.testing.assert_allclose(b2, 2.0 * b, rtol=8 * EPS, atol=8 * EPS)
    assert np.all(np.abs(b) <= 0.3) and np.std(c) > 0


GIVEN_START_TOML = """
[chain]
states = [[0.0], [1.0], [2.0]]
transition = [["1/2", "1/2", "0"], ["0", "1/2", "1/2"], ["1/2", "1/2", "0"]]
initial = ["0", "0", "1"]
[target]
expression = "x0 + 10*x1 + 100*x2"
[run]
N = 2
replicas = 400
backend = "{backend}"
"""


def test_a_given_initial_law_starts_the_chain_and_its_stationary_past_is_behind_it():
    """chain.initial = delta_2 (no shipped configuration gives one): Z_0 = 2 in every replica,
    Z_1 in {0, 1} (row 2 of P); the prehistory Z_{-2}, Z_{-1} is the stationary past given
    Z_0, drawn with the time reversal Prev[j, i] = pi_i P_ij / pi_j, oldest first: only
    state 1 leads to 2, so Z_{-1} = 1, and Z_{-2} has the law Prev[1, .] = (1/4, 1/2, 1/4)
    here (pi = (1/4, 1/2, 1/4)), checked within 5 binomial standard deviations. The target
    Y_0 = X_0 + 10 X_{-1} + 100 X_{-2} reads that past in that order."""
    config = parse_config(GIVEN_START_TOML.format(backend=_BACKEND["name"]), "<test>")
    result = simulate(config)
    R = 400
    assert result.states.shape[0] == R and result.prehistory.shape == (R, 2)
    assert np.all(result.states[:, 0] == 2)
    assert set(result.states[:, 1].tolist()) <= {0, 1}
    assert np.all(result.prehistory[:, 1] == 1)
    for state, probability in enumerate((0.25, 0.5, 0.25)):
        count = int(np.sum(result.prehistory[:, 0] == state))
        assert abs(count - R * probability) <= 5 * np.sqrt(R * probability * (1 - probability))
    by_hand = 2.0 + 10.0 * 1.0 + 100.0 * result.prehistory[:, 0]
    np.testing.assert_array_equal(result.y[:, 0], by_hand)


def test_targets_follow_the_expression_and_noise():
    config = make_config(noise=0.0, N=50, replicas=3, horizon=2.0)
    result = simulate(config)
    full = np.concatenate([result.prehistory, result.states], axis=1)
    assert result.prehistory.shape == (3, 1) and result.y.shape == (3, 100)
    np.testing.assert_allclose(result.y, clean_target(full), rtol=0, atol=4 * EPS)
    noisy = simulate(make_config(noise=0.1, N=500, replicas=3, horizon=2.0))
    full = np.concatenate([noisy.prehistory, noisy.states], axis=1)
    eps_k = (noisy.y - clean_target(full)).ravel()
    n = eps_k.size  # 3000 i.i.d. N(0, 0.01): 5-sigma bounds for mean and variance
    assert abs(eps_k.mean()) <= 5 * 0.1 / np.sqrt(n)
    assert abs(eps_k.var() / 0.01 - 1) <= 5 * np.sqrt(2 / n)


@pytest.mark.parametrize(
    "trainable", [("c",), ("w",), ("b",), ("c", "w"), ("w", "b"), ("c", "b")]
)
def test_frozen_groups_do_not_move(trainable):
    config = make_config(trainable="[" + ", ".join(f'"{g}"' for g in trainable) + "]", N=20)
    result = simulate(config, snapshot_times=(0.0, 1.0))
    first, last = result.parameters_at_time(0.0), result.parameters_at_time(1.0)
    for group in "cwb":
        moved = not np.array_equal(getattr(first, group), getattr(last, group))
        assert moved == (group in trainable), group


def test_antisymmetric_initialisation_gives_exact_zero_output():
    config = make_config(antisymmetric="true", beta=0.5, N=40, replicas=3)
    result = simulate(config, snapshot_times=(0.0,))
    assert np.all(result.f[:, 0] == 0.0)
    theta = result.parameters_at_time(0.0)
    np.testing.assert_array_equal(theta.c[:, 20:], -theta.c[:, :20])
    np.testing.assert_array_equal(theta.w[:, 20:], theta.w[:, :20])
    np.testing.assert_array_equal(theta.b[:, 20:], theta.b[:, :20])
    assert np.all(result.f[:, 1:] != 0.0)  # training moves the output off zero
    plain = simulate(make_config(N=40, replicas=3))
    assert np.all(plain.f[:, 0] != 0.0)  # control: without the mirror copies f_0 != 0
    with pytest.raises(InputError, match="even"):
        simulate(config, N=41)


def _same(a, b):
    np.testing.assert_array_equal(a.states, b.states)
    np.testing.assert_array_equal(a.prehistory, b.prehistory)
    np.testing.assert_array_equal(a.f, b.f)
    np.testing.assert_array_equal(a.y, b.y)
    for sa, sb in zip(a.snapshots, b.snapshots, strict=True):
        for g in "cwb":
            np.testing.assert_array_equal(getattr(sa, g), getattr(sb, g))


def _rows(result, rows):
    from numerics.simulate import Parameters

    return replace(
        result,
        replica_indices=tuple(result.replica_indices[i] for i in rows),
        states=result.states[rows], prehistory=result.prehistory[rows], f=result.f[rows],
        y=result.y[rows],
        snapshots=tuple(Parameters(s.c[rows], s.w[rows], s.b[rows]) for s in result.snapshots),
    )


@pytest.mark.parametrize(
    ("activation", "N", "antisymmetric", "beta"),
    [("tanh", 37, "false", 0.75), ("erf", 64, "true", 0.5), ("sigmoid", 101, "false", 0.6)],
)
def test_reproducible_and_batching_invariant(activation, N, antisymmetric, beta):
    config = make_config(activation=activation, N=N, antisymmetric=antisymmetric, beta=beta,
                         horizon=0.5)
    kwargs = dict(snapshot_times=(0.25, 0.5))
    full = simulate(config, replicas=[0, 1, 2, 3], **kwargs)
    _same(full, simulate(config, replicas=4, **kwargs))
    first = simulate(config, replicas=[0, 1], **kwargs)
    second = simulate(config, replicas=[2, 3], **kwargs)
    _same(_rows(full, [0, 1]), first)
    _same(_rows(full, [2, 3]), second)
    _same(_rows(full, [3, 1]), simulate(config, replicas=[3, 1], **kwargs))
    _same(_rows(full, [2]), simulate(config, replicas=[2], **kwargs))
    other_seed = simulate(config, replicas=[0], seed=8, **kwargs)
    assert not np.array_equal(other_seed.f[0], full.f[0])
    assert not np.array_equal(full.f[0], full.f[1])


def test_snapshot_times_and_bad_requests():
    config = make_config(N=100, horizon=1.0)
    assert 100 * 0.57 < 57 and 100 * (0.1 * 3) > 30  # rounded floats on both sides of j / N
    result = simulate(config, snapshot_times=(0.57, 1.0, 0.1 * 3, 0.305))
    # floor(N t) with t = j / N as a rounded float mapped to j; t = T gives the final parameters
    assert result.snapshot_steps == (30, 57, 100)
    assert result.parameters_at_time(1.0).c.shape == (2, 100)
    with pytest.raises(KeyError):
        result.parameters_at_step(4)
    with pytest.raises(InputError):
        simulate(config, snapshot_times=(1.5,))
    with pytest.raises(InputError):
        simulate(config, replicas=[0, 0])
    with pytest.raises(InputError, match="backend"):
        simulate(replace(config, run=replace(config.run, backend="gpu")))


def test_memory_does_not_grow_with_steps():
    """N = 64000, R = 8: only O(R N d) network arrays plus O(R steps) records. Peak traced
    memory for 8 vs 24 steps differs by the records only (< 1 MB), and stays < 400 MB, so the
    full run (128000 steps: records ~ 8 x 128000 x 8 B x 5 arrays ~ 41 MB) is far under 2 GiB."""
    config = make_config(N=64000, replicas=8)
    peaks = []
    for horizon in (8 / 64000, 24 / 64000):
        cfg = replace(config, training=replace(config.training, horizon=horizon))
        tracemalloc.start()
        simulate(cfg, progress=False)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] - peaks[0] < 1e6
    assert max(peaks) < 400e6


# The fast backend (numba) agrees with the reference to rounding: tests/test_fast_backend.py.
