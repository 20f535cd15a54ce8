"""Cross-checks against neural-tangents (NT) (issue 6; theory.md §3-§4).

1. neural-tangents (NT), kernel. With b frozen at 0 (b_max = 0, trainable c, w) only x_0 of a
   word matters and theory.md §3 gives A(x, x') = E[S S'] + E[c^2] x.x' E[erf'(w.x) erf'(w.x')],
   S = erf(w.x), w ~ N(0, w_std^2 I_d). NT network (NTK parameterisation, the default):
   ``serial(Dense(n, W_std=W1, b_std=None), Erf(), Dense(1, W_std=W2, b_std=None))`` computes
   h = (W1 / sqrt(d)) omega1 x, f = (W2 / sqrt(n)) omega2 . erf(h), omega ~ N(0, 1) trained.
   * Input kernel x.x'/d, so the pre-activation covariance is W1^2 x.x'/d; it equals ours,
     w_std^2 x.x', iff W1 = w_std sqrt(d)  (:func:`nt_first_layer_std`).
   * NT nngp = W2^2 E[S S'].
   * NT ntk = sum over the two layers of <df/domega, df/domega'>:
       readout layer: (W2^2 / n) sum_i erf(h_i) erf(h_i') -> W2^2 E[S S'] (= nngp);
       first layer:   (W2^2 / n) sum_i omega2_i^2 erf'(h_i) erf'(h_i') (W1^2 / d) x.x'
                      -> W2^2 w_std^2 x.x' E[erf' erf'].
     Our w-group term trains w itself (not omega1 = w / w_std), so it carries E[c^2] = c_std^2
     instead of W2^2 w_std^2. With W2 = 1:
         A = nngp + (c_std / w_std)^2 (ntk - nngp)        (:func:`kernel_from_nt`)
     (A = ntk exactly when c_std = w_std). Needs w_std > 0.
2. NT, training dynamics. Our limit ODE with weights D = diag(pi) uniform (1/n) on n training
   words: d/dt g = alpha K D (ybar - g) = (alpha / n) K (ybar - g). NT's gradient_descent_mse
   solves df/dt = -(learning_rate / y_train.size) K (f - y) (it divides time by y_train.size),
   so with learning_rate = alpha and y_train.size = n, NT's time equals our t. Words outside the
   training set (pi = 0) are NT's test points (k_test_train = K[test, train]).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from derivations.errors import InputError
from numerics.peer_libraries import CrossCheckResult, neural_tangents

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
_EPS = float(np.finfo(float).eps)
# Rounding of a closed-form kernel entry (NT's or generated.py's): about ten flops with relative
# error eps each, amplified by arcsin's condition number a / sqrt(1 - a^2) (see
# _reference_rounding); 64 is a safety factor on "about ten" flops, fixed before measuring.
_CLOSED_FORM_FLOPS = 64.0


def nt_first_layer_std(w_std: float, d: int) -> float:
    """NT first-layer W_std for our w ~ N(0, w_std^2 I_d): NT's input kernel is x.x'/d, so
    W1^2 x.x'/d = w_std^2 x.x' gives W1 = w_std sqrt(d) (module docstring, item 1)."""
    return float(w_std) * float(np.sqrt(d))


def nt_erf_kernels(points: FloatArray, w_std: float, *, first_layer_std: float | None = None,
                   readout_std: float = 1.0) -> tuple[FloatArray, FloatArray]:
    """NT's infinite-width (nngp, ntk) of Dense(W1) -> Erf -> Dense(W2), no biases.

    points (n, d). W1 = nt_first_layer_std(w_std, d) unless ``first_layer_std`` is given
    (negative controls). Returns two (n, n) float64 arrays.
    """
    nt, _, _ = neural_tangents()
    stax = nt.stax
    points = np.asarray(points, dtype=np.float64)
    d = points.shape[1]
    w1 = nt_first_layer_std(w_std, d) if first_layer_std is None else float(first_layer_std)
    _, _, kernel_fn = stax.serial(
        stax.Dense(512, W_std=w1, b_std=None), stax.Erf(),
        stax.Dense(1, W_std=float(readout_std), b_std=None))
    k = kernel_fn(points, None, ("nngp", "ntk"))
    return np.asarray(k.nngp, dtype=np.float64), np.asarray(k.ntk, dtype=np.float64)


def kernel_from_nt(nngp: FloatArray, ntk: FloatArray, w_std: float, c_std: float) -> FloatArray:
    """theory.md §4 erf kernel without recurrence from NT's (nngp, ntk) with W2 = 1:
    A = nngp + (c_std / w_std)^2 (ntk - nngp) (module docstring, item 1). Shapes (n, n)."""
    if w_std <= 0:
        raise InputError("the neural-tangents kernel mapping needs w_std > 0")
    return nngp + (c_std / w_std) ** 2 * (ntk - nngp)


def closed_form_erf_kernel(points: FloatArray, w_std: float, c_std: float) -> FloatArray:
    """theory.md §4 erf closed form (numerics.generated, printed from the derivations) on
    points (n, d): erf_kernel_nngp + erf_kernel_ntk_w, shape (n, n)."""
    from numerics.generated import erf_kernel_nngp, erf_kernel_ntk_w

    x = np.asarray(points, dtype=float)
    sq = np.sum(x * x, axis=1)
    xx, pp, xp = sq[:, None], sq[None, :], x @ x.T
    s_w2, s_c2 = float(w_std) ** 2, float(c_std) ** 2
    return erf_kernel_nngp(xx, pp, xp, s_w2) + erf_kernel_ntk_w(xx, pp, xp, s_w2, s_c2)


def _reference_rounding(points: FloatArray, w_std: float, kernel: FloatArray) -> float:
    """Forward rounding bound of one closed-form kernel entry, max over entries:
    _CLOSED_FORM_FLOPS eps (1 + max a / sqrt(1 - a^2)) max|K|, a the arcsin argument."""
    x = np.asarray(points, dtype=float)
    sq = np.sum(x * x, axis=1)
    s = 2.0 * float(w_std) ** 2
    a = np.abs(s * (x @ x.T)) / np.sqrt((1.0 + s * sq[:, None]) * (1.0 + s * sq[None, :]))
    cond = float(np.max(a / np.sqrt(np.maximum(1.0 - a * a, 1e-300))))
    return _CLOSED_FORM_FLOPS * _EPS * (1.0 + cond) * max(float(np.max(np.abs(kernel))), 1.0)


@dataclass(frozen=True)
class ErfKernelComparison:
    """Our quadrature kernel, the generated closed form and NT's on the same words.

    words (n, L); points (n, d) = x_0 of each word; ours (n, n) by numerics.kernel with its
    c-group part ours_c (= E[S S'], to compare with NT's nngp, nt_nngp) and its
    error estimate ``quadrature_error`` and summation bound ``summation_rounding``; closed,
    nt (n, n); reference_rounding: rounding bound of one closed-form entry.
    """

    words: IntArray
    points: FloatArray
    ours: FloatArray
    closed: FloatArray
    nt: FloatArray
    ours_c: FloatArray
    nt_nngp: FloatArray
    quadrature_error: float
    summation_rounding: float
    reference_rounding: float

    @property
    def quadrature_tolerance(self) -> float:
        return self.quadrature_error + self.summation_rounding + self.reference_rounding


def compare_erf_kernel(states: FloatArray, w_std: float, c_std: float, word_length: int = 2,
                       *, first_layer_std: float | None = None,
                       combine: Callable[..., FloatArray] | None = None,
                       settings: Any = None) -> ErfKernelComparison:
    """theory.md §4 erf kernel with b frozen at 0 on all m^L words: numerics.kernel quadrature,
    numerics.generated closed form and NT (``first_layer_std`` / ``combine`` replace the W1
    mapping / the nngp-ntk combination, for negative controls). states (m, d)."""
    from numerics.kernel import KernelSpec, kernel_on_words
    from numerics.words import enumerate_words

    states = np.asarray(states, dtype=float)
    m = states.shape[0]
    spec = KernelSpec(activation="erf", states=states, c_std=float(c_std), w_std=float(w_std),
                      b_max=0.0, groups=("c", "w"))
    result = kernel_on_words(spec, word_length, settings)
    words = enumerate_words(m, word_length)
    points = states[words[:, -1]]  # x_0 = the most recent symbol (oldest first)
    nngp, ntk = nt_erf_kernels(points, w_std, first_layer_std=first_layer_std)
    nt_kernel = (combine or kernel_from_nt)(nngp, ntk, w_std, c_std)
    closed = closed_form_erf_kernel(points, w_std, c_std)
    # positive terms summed over the rule's nodes: worst-case relative error (nodes) eps
    nodes = int(result.rule_sizes.get("fine", result.rule_sizes.get("sobol", 1)))
    summation = nodes * _EPS * float(np.max(np.abs(result.K)))
    return ErfKernelComparison(
        words=words, points=points, ours=result.K, closed=closed, nt=nt_kernel,
        ours_c=result.by_group["c"], nt_nngp=nngp,
        quadrature_error=float(result.error), summation_rounding=summation,
        reference_rounding=_reference_rounding(points, w_std, closed))


def erf_kernel_results(comparison: ErfKernelComparison, label: str) -> list[CrossCheckResult]:
    """Two results: quadrature kernel vs NT, generated closed form vs NT."""
    _, _, version = neural_tangents()
    n = comparison.ours.shape[0]
    d = comparison.points.shape[1]
    dev_q = float(np.max(np.abs(comparison.ours - comparison.nt)))
    dev_c = float(np.max(np.abs(comparison.closed - comparison.nt)))
    tol_q = comparison.quadrature_tolerance
    tol_c = 2.0 * comparison.reference_rounding
    size = f"{n}x{n} kernel entries on words (d = {d})"
    return [
        CrossCheckResult(
            name=f"erf kernel, b = 0 ({label}): quadrature vs NT nngp/ntk",
            library="neural-tangents",
            version=version, size=size, max_deviation=dev_q, tolerance=tol_q,
            tolerance_source="numerics.kernel quadrature error estimate + summation rounding "
                             "(nodes x eps) + closed-form rounding",
            passed=bool(dev_q <= tol_q)),
        CrossCheckResult(
            name=f"erf kernel, b = 0 ({label}): generated closed form vs NT",
            library="neural-tangents",
            version=version, size=size, max_deviation=dev_c, tolerance=tol_c,
            tolerance_source="rounding of two closed forms (64 eps x (1 + arcsin condition))",
            passed=bool(dev_c <= tol_c)),
    ]


# ----------------------------------------------------------------------------- 2. NT dynamics


def independent_words(K: FloatArray, relative: float = 1e-6) -> list[int]:
    """Training words for the NT comparison: a greedy (pivoted Cholesky) selection of words
    whose kernel rows are numerically independent (each new pivot's residual variance
    > relative x max diag K), in increasing order. NT's prediction at test words divides by
    the eigenvalues of K_train (0 / 0 = nan for an eigenvalue rounded to <= 0), so the
    training kernel must be non-singular; the other words are test points. K (n, n) PSD."""
    K = np.asarray(K, dtype=float)
    residual = np.diag(K).copy()
    threshold = relative * max(float(np.max(residual)), 1e-300)
    columns: list[FloatArray] = []
    chosen: list[int] = []
    for _ in range(K.shape[0]):
        j = int(np.argmax(residual))
        if residual[j] <= threshold:
            break
        col = K[:, j] - sum((c * c[j] for c in columns), np.zeros(K.shape[0]))
        col = col / np.sqrt(residual[j])
        columns.append(col)
        residual = residual - col * col
        residual[j] = 0.0
        chosen.append(j)
    return sorted(chosen)


def training_words(K: FloatArray) -> list[int]:
    """NT's training words on kernel K (n, n): every other word of :func:`independent_words`
    (still independent, and the rest are test points), or the whole independent set when
    halving it would leave one training word while the set already leaves test words. One
    training word cannot tell NT's time scaling (it divides time by y_train.size = 1) from no
    scaling: with an odd activation at b = 0 and states -1, 1 (the default's erf comparison)
    the 9 words have 2 independent rows, and halving them left one."""
    words = independent_words(K)
    half = words[::2]
    return words if len(half) < 2 and len(words) < K.shape[0] else half


def training_weights(n_words: int, train: Sequence[int]) -> FloatArray:
    """pi uniform (1/n_train) on the training words, 0 elsewhere, shape (n_words,)."""
    pi = np.zeros(n_words)
    pi[np.asarray(train, dtype=np.int64)] = 1.0 / len(train)
    return pi


def ours_uniform_limit(K: FloatArray, ybar: FloatArray, alpha: float, train: Sequence[int],
                       times: Sequence[float]) -> FloatArray:
    """theory.md §4 g_t = (I - exp(-alpha t K D)) ybar with D uniform on ``train`` (numerics.limit
    spectral solver); returns (T, n_words) (words outside train: the pi = 0 extension)."""
    from numerics.limit import g_at, limit_solver

    pi = training_weights(K.shape[0], train)
    solver = limit_solver(K, pi, np.where(pi > 0, ybar, 0.0), alpha)
    return g_at(solver, times)


def nt_gradient_descent(K: FloatArray, ybar: FloatArray, alpha: float, train: Sequence[int],
                        times: Sequence[float], *, time_map: Callable[[float, int], float]
                        | None = None) -> FloatArray:
    """NT's gradient_descent_mse on the training words with f_0 = 0, learning_rate = alpha,
    at NT time time_map(t, y_train.size) (default t: NT divides time by y_train.size, module
    docstring item 2). Test words = the others. Returns (T, n_words)."""
    nt, jnp, _ = neural_tangents()
    train = np.asarray(train, dtype=np.int64)
    test = np.setdiff1d(np.arange(K.shape[0]), train)
    y = np.asarray(ybar, dtype=np.float64)[train][:, None]
    predict = nt.predict.gradient_descent_mse(jnp.asarray(K[np.ix_(train, train)]),
                                              jnp.asarray(y), learning_rate=float(alpha))
    mapping = time_map or (lambda t, size: t)
    out = np.zeros((len(times), K.shape[0]))
    for i, t in enumerate(times):
        t_nt = float(mapping(float(t), y.size))
        if test.size:
            f_train, f_test = predict(t_nt, jnp.zeros_like(y), jnp.zeros((test.size, 1)),
                                      jnp.asarray(K[np.ix_(test, train)]))
            out[i, test] = np.asarray(f_test)[:, 0]
        else:
            f_train = predict(t_nt, jnp.zeros_like(y))
        out[i, train] = np.asarray(f_train)[:, 0]
    return out


def ode_rounding(K: FloatArray, ybar: FloatArray, alpha: float, train: Sequence[int],
                 times: Sequence[float]) -> float:
    """Rounding of one spectral solution (the estimate of numerics.limit.solve_limit):
    n eps (1 + alpha t_max |M|) max|ybar|, M = D^{1/2} K D^{1/2}; n = number of words."""
    pi = training_weights(K.shape[0], train)
    root = np.sqrt(pi)
    norm_m = float(np.max(np.abs(np.linalg.eigvalsh(root[:, None] * K * root[None, :]))))
    t_max = max(times, default=0.0)
    return float(K.shape[0] * _EPS * (1.0 + alpha * t_max * norm_m)
                 * max(float(np.max(np.abs(ybar))), 1e-300))


def gradient_descent_result(name: str, ours: FloatArray, theirs: FloatArray, tolerance: float,
                            tolerance_source: str, n_train: int) -> CrossCheckResult:
    _, _, version = neural_tangents()
    dev = float(np.max(np.abs(ours - theirs)))
    return CrossCheckResult(
        name=name, library="neural-tangents", version=version,
        size=f"{ours.shape[0]} times x {ours.shape[1]} words ({n_train} training)",
        max_deviation=dev, tolerance=tolerance, tolerance_source=tolerance_source,
        passed=bool(dev <= tolerance))
