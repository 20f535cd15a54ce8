"""Monte Carlo of the finite RNN trained by online SGD, exactly theory.md §2, vectorised over
R replicas x N units.

Replica r is a function of (config, N, seed, r) only (numerics.seeding): bit-identical whatever
other replicas are simulated in the same call. Memory is O(R N d) for the network plus
O(R steps) for the recorded states/outputs/targets (never O(steps N)), plus one O(R N d)
parameter copy per snapshot.

Targets: Y_k = y(X_{k-q}, ..., X_k) + eps_k needs the q inputs before step 0 (the
"prehistory" Z_{-q}..Z_{-1}). Stationary start (default): the chain is started q steps early,
Z_{-q} ~ pi, and runs forward through Z_0, Z_1, ... (a stationary path). Given initial law mu
(chain.initial, the law of Z_0): Z_0 ~ mu and Z_1, Z_2, ... forward with P; the prehistory is
drawn backward from Z_0 with the stationary time reversal Prev[j, i] = pi_i P_ij / pi_j, i.e.
the stationary past given Z_0 (for mu = pi both constructions give the same law).
The network reads X_0, X_1, ... only (S_{-1} = G_{-1} = 0).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from derivations.errors import InputError
from derivations.inputs.config import (
    initial_law,
    states_array,
    target_expression,
    transition_matrix,
)
from derivations.inputs.expression_eval import evaluate
from numerics.chain import extend_paths, reversed_kernel, sample_paths
from numerics.fast_trainer import train_fast
from numerics.frozen import resolve_activation
from numerics.progress import progress_bar
from numerics.seeding import ReplicaStreams, replica_streams
from numerics.trainer import Parameters, TrainingInputs, train_reference

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

# "numpy": the reference loop (numerics.trainer); "fast": the fused numba loop
# (numerics.fast_trainer; needs numba), same inputs and results equal to rounding
# (tests/test_fast_backend.py), several times faster.
BACKENDS = {"numpy": train_reference, "fast": train_fast}
# What to do about a diverged network (non-finite outputs): `rnnkl simulate`'s error and the
# report's "divergence" line.
DIVERGENCE_ADVICE = "lower training.alpha or the init scales"


class SimulationError(InputError):
    """A simulation request that cannot be honoured (odd N with antisymmetric init, ...)."""


@dataclass(frozen=True)
class SimulationResult:
    """Per replica (rows, in the order of ``replica_indices``), step k = 0..steps-1:

    states (R, steps) 0-based chain states Z_k (X_k = chain.states[Z_k]); prehistory (R, q)
    the states Z_{-q}..Z_{-1}; f (R, steps) the outputs f^N_k computed with theta_k;
    y (R, steps) the targets Y_k (noise included). snapshots[i] are the parameters
    theta_{snapshot_steps[i]} (before update number snapshot_steps[i]; = steps: the final ones),
    with snapshot_steps[i] = floor(N snapshot_times[i]) for the requested times.
    """

    N: int
    beta: float
    alpha: float
    eta: float
    steps: int
    seed: int
    replica_indices: tuple[int, ...]
    states: IntArray
    prehistory: IntArray
    f: FloatArray
    y: FloatArray
    snapshot_times: tuple[float, ...]
    snapshot_steps: tuple[int, ...]
    snapshots: tuple[Parameters, ...]

    def parameters_at_time(self, t: float) -> Parameters:
        """The snapshot theta_{floor(N t)} (t must have been requested)."""
        return self.parameters_at_step(time_to_step(self.N, t))

    def parameters_at_step(self, k: int) -> Parameters:
        """The snapshot theta_k (k must have been requested)."""
        try:
            return self.snapshots[self.snapshot_steps.index(int(k))]
        except ValueError:
            raise KeyError(f"no snapshot at step {k}; have {self.snapshot_steps}") from None


@dataclass(frozen=True)
class _Problem:
    """Everything the simulator needs from a Config, as arrays and a target function."""

    P: FloatArray  # (m, m)
    xi: FloatArray  # (m, d)
    initial: FloatArray | None  # (m,) or None = stationary
    lag: int  # q
    target: Callable[[FloatArray], FloatArray]  # window (K, q+1, d) -> (K,)


def _problem(config: Any) -> _Problem:
    expression = target_expression(config)
    lag = max(int(config.target.lag), int(expression.max_lag))
    initial = initial_law(config.chain)
    return _Problem(
        P=np.asarray(transition_matrix(config.chain), dtype=float),
        xi=np.asarray(states_array(config.chain), dtype=float),
        initial=None if initial is None else np.asarray(initial, dtype=float),
        lag=lag,
        target=lambda window: np.asarray(evaluate(expression, window), dtype=float),
    )


def _paths_with_prehistory(
    problem: _Problem, steps: int, rngs: Sequence[np.random.Generator]
) -> IntArray:
    """Z_{-q}, ..., Z_{steps-1} per replica, shape (R, q + steps) (see the module docstring)."""
    q = problem.lag
    if problem.initial is None:
        return sample_paths(problem.P, q + steps, rngs)
    forward = sample_paths(problem.P, max(steps, 1), rngs, problem.initial)
    backward = extend_paths(reversed_kernel(problem.P), forward[:, 0], q, rngs)  # Z_-1..Z_-q
    return np.concatenate([backward[:, ::-1], forward[:, :steps]], axis=1)


def time_to_step(N: int, t: float) -> int:
    """k = floor(N t) (theory.md §2). N t within 1e-12 (relative) below an integer j counts as j,
    so t = j / N given as a rounded float maps to step j."""
    x = N * float(t)
    k = math.floor(x)
    if math.isclose(x, k + 1, rel_tol=1e-12, abs_tol=0.0):
        k += 1
    return k


def _replica_indices(replicas: int | Sequence[int] | None, default: int) -> tuple[int, ...]:
    if replicas is None:
        replicas = default
    if isinstance(replicas, (int, np.integer)):
        if replicas <= 0:
            raise SimulationError(f"run.replicas: expected a positive integer, got {replicas}")
        return tuple(range(int(replicas)))
    indices = tuple(int(r) for r in replicas)
    if not indices or any(r < 0 for r in indices) or len(set(indices)) != len(indices):
        raise SimulationError(f"replica indices must be distinct integers >= 0, got {indices}")
    return indices


def _initial_parameters(
    streams: ReplicaStreams, N: int, d: int, init: Any, antisymmetric: bool
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """theta_0 ~ mu_0 (theory.md §2): c ~ N(0, c_std^2), w ~ N(0, w_std^2 I_d),
    b ~ U[-b_max, b_max]; draw order c, w, b. Antisymmetric: N/2 units, then their copies
    with c -> -c (units i and i + N/2 mirror each other). Shapes (N,), (N, d), (N,)."""
    n = N // 2 if antisymmetric else N
    rng = streams.init
    c = float(init.c_std) * rng.standard_normal(n)
    w = float(init.w_std) * rng.standard_normal((n, d))
    b = rng.uniform(-float(init.b_max), float(init.b_max), n)
    if antisymmetric:
        return np.concatenate([c, -c]), np.concatenate([w, w]), np.concatenate([b, b])
    return c, w, b


def _targets(problem: _Problem, path: IntArray, noise: np.random.Generator, noise_std: float):
    """Y_k = y(X_{k-q}, ..., X_k) + eps_k for k = 0..steps-1 from the path Z_{-q}..Z_{steps-1}.

    window[k, j] = X_{k-j} (the layout of derivations.inputs.expression.evaluate). Returns (steps,).
    """
    q = problem.lag
    inputs = problem.xi[path]  # (q + steps, d)
    steps = inputs.shape[0] - q
    view = sliding_window_view(inputs, q + 1, axis=0)  # (steps, d, q+1): [k, :, i] = X_{k-q+i}
    window = np.ascontiguousarray(view[:, :, ::-1].transpose(0, 2, 1))  # [k, j] = X_{k-j}
    y = np.broadcast_to(problem.target(window), (steps,)).astype(float)
    if not np.all(np.isfinite(y)):
        k = int(np.flatnonzero(~np.isfinite(y))[0])
        raise SimulationError(
            f"target.expression: not finite on the input window at step {k} "
            f"(states {path[k:k + q + 1].tolist()}, oldest first)"
        )
    if noise_std > 0:
        y = y + noise_std * noise.standard_normal(steps)
    return y


def simulate(
    config: Any,
    *,
    N: int | None = None,
    replicas: int | Sequence[int] | None = None,
    snapshot_times: Sequence[float] = (),
    snapshot_steps: Sequence[int] = (),
    progress: bool | None = None,
    seed: int | None = None,
    backend: str | None = None,
) -> SimulationResult:
    """Train the finite RNN of theory.md §2 by online SGD for steps = floor(N T) steps.

    At step k, with theta_k = (c, w, b) (theory.md §2 equations):
        S_k, G^w_k, G^b_k from the memory recursion (numerics.frozen.memory_step),
        f_k = N^-beta sum_i c_i S_i,  e_k = Y_k - f_k,
        c += eta N^-beta e_k S_k,  w += eta N^-beta e_k c G^w_k,  b += eta N^-beta e_k c G^b_k,
    all trainable groups from theta_k simultaneously, eta = alpha N^(2 beta - 2).

    N (default run.N), replicas (count or indices; default run.replicas), seed (default
    run.seed). Snapshots at steps floor(N t) for ``snapshot_times`` (0 <= t <= T) and at the
    given ``snapshot_steps`` (0..steps), sorted and de-duplicated. ``progress``: draw a bar on
    stderr (None: only if stderr is a terminal). ``backend`` (default run.backend): "numpy"
    (numerics.trainer, the reference) or "fast" (numerics.fast_trainer, numba); the inputs
    (theta_0, path, targets, noise) are drawn here for both, the outputs agree to rounding.
    Shapes: see :class:`SimulationResult`.
    """
    N = int(config.run.N if N is None else N)
    seed = int(config.run.seed if seed is None else seed)
    backend = str(config.run.backend if backend is None else backend)
    indices = _replica_indices(replicas, config.run.replicas)
    network, init, training = config.network, config.init, config.training
    if N <= 0:
        raise SimulationError(f"run.N: expected a positive integer, got {N}")
    if network.antisymmetric and N % 2:
        raise SimulationError(f"run.N: antisymmetric initialisation needs an even N, got {N}")
    if backend not in BACKENDS:
        raise SimulationError(
            f"run.backend: unknown backend {backend!r} (choose {', '.join(BACKENDS)})"
        )
    activation = resolve_activation(config)
    problem = _problem(config)
    beta, alpha = float(network.beta), float(training.alpha)
    total_steps = N * float(training.horizon)
    if not (math.isfinite(total_steps) and total_steps < 2.0**53):
        raise SimulationError(
            f"training.horizon = {float(training.horizon):.6g}: N T = {total_steps:.3g} steps at "
            f"N = {N} is beyond any feasible run")
    steps = time_to_step(N, training.horizon)
    if steps < 1:
        raise SimulationError(
            f"training.horizon = {float(training.horizon):.6g}: floor(N T) = 0 training steps at "
            f"N = {N}; need N T >= 1")
    eta = alpha * float(N) ** (2.0 * beta - 2.0)
    d = problem.xi.shape[1]
    q = problem.lag

    times = tuple(float(t) for t in snapshot_times)
    wanted = {time_to_step(N, t) for t in times} | {int(k) for k in snapshot_steps}
    if any(k < 0 or k > steps for k in wanted):
        raise SimulationError(
            f"snapshot times must lie in [0, T = {training.horizon}] (steps 0..{steps})"
        )
    snap_steps = tuple(sorted(wanted))

    streams = [replica_streams(seed, r) for r in indices]
    R = len(indices)
    paths = _paths_with_prehistory(problem, steps, [s.chain for s in streams])
    y = np.stack(
        [_targets(problem, paths[i], s.noise, float(config.target.noise_std))
         for i, s in enumerate(streams)]
    ) if steps > 0 else np.zeros((R, 0))

    drawn = [_initial_parameters(s, N, d, init, network.antisymmetric) for s in streams]
    theta0 = Parameters(
        c=np.stack([p[0] for p in drawn]),  # (R, N)
        w=np.stack([p[1] for p in drawn]),  # (R, N, d)
        b=np.stack([p[2] for p in drawn]),  # (R, N)
    )
    trainable = set(network.trainable)
    inputs = TrainingInputs(
        activation=activation,
        X=problem.xi[paths[:, q:]],  # (R, steps, d)
        y=y,
        theta0=theta0,
        beta=beta,
        eta=eta,
        train=("c" in trainable, "w" in trainable, "b" in trainable),
        paired=bool(network.antisymmetric),
        snapshot_steps=snap_steps,
    )
    train = BACKENDS[backend]
    with progress_bar(steps, f"simulate N={N} R={R}", enabled=progress) as bar:
        f, snapshots = train(inputs, bar)

    return SimulationResult(
        N=N,
        beta=beta,
        alpha=alpha,
        eta=eta,
        steps=steps,
        seed=seed,
        replica_indices=indices,
        states=paths[:, q:],
        prehistory=paths[:, :q],
        f=f,
        y=y,
        snapshot_times=times,
        snapshot_steps=snap_steps,
        snapshots=snapshots,
    )
