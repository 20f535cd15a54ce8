"""What a figure draws is the quantity its check measured (proofs_check.figures).

The report's other tests hold the *data* of each figure to its claim (tests/test_report.py,
tests/test_rivals.py) and check that a PNG is written. Here the drawn artists are read back
from matplotlib and compared with that data: the points and their 95% bars, the fitted line,
the predicted slope, every rival's line, the acceptance wedge, the bands of the curve panels,
the heatmap's matrix, the memory errors and the Poisson band. Every expected value is
recomputed here from the figure's data (the wedge's pivot, for one, is the geometric centre of
the points, as the module docstring says), never read from the plotting code.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from proofs_check.figures import _drawn  # noqa: E402
from proofs_check.result import CheckResult, FigureData, Rival  # noqa: E402
from proofs_check.rivals import (  # noqa: E402
    claim_figures,
    limit_rivals_figure,
    rate_claims,
    rate_figure,
    rate_test,
)
from proofs_check.stats import fit_rate  # noqa: E402

NS = np.array([128, 512, 2048, 8192])
RTOL = 1e-12  # the artists hold the data in double precision: only rounding separates them


def _log_slope(x: np.ndarray, y: np.ndarray) -> float:
    """The slope of a straight line on log-log axes through its first and last points."""
    return float(np.log(y[-1] / y[0]) / np.log(x[-1] / x[0]))


def _line(ax, label_start: str):
    lines = [line for line in ax.get_lines() if line.get_label().startswith(label_start)]
    assert len(lines) == 1, [line.get_label() for line in ax.get_lines()]
    return lines[0]


def _centre(fit) -> tuple[float, float]:
    """The points' geometric centre (N, value): the pivot of every line through the data."""
    return float(np.exp(np.mean(np.log(fit.ns)))), float(np.exp(np.mean(np.log(fit.values))))


def _polygon_at(collection, x: float) -> np.ndarray:
    """The y values of a fill_between polygon's vertices at abscissa x (both boundaries)."""
    vertices = collection.get_paths()[0].vertices
    return np.unique(vertices[np.isclose(vertices[:, 0], x, rtol=RTOL), 1])


@pytest.fixture(params=["bound", "sharpness"])
def rate_claim(request):
    """A real fit (Gaussian ladder with E e^2 = N^-1), its test against -1/2 and the figure of
    the bound or of its sharpness with that claim's rivals, as the checks build them (the
    bound's rivals are slower, -1/4 and 0; sharpness adds the faster -3/4)."""
    rng = np.random.default_rng(3)
    samples = [(rng.normal(size=32) * float(n) ** -0.5) ** 2 for n in NS]
    fit = fit_rate(NS, samples, power=2)
    test = rate_test(fit, -0.5, 0.0, [32] * NS.size)
    base = CheckResult(name="x", claim="", equation="", quantity="", prediction=-0.5,
                       measured=None, ci=None, tolerance=None, tolerance_source="",
                       accepted=False)
    claims = dict(zip(("bound", "sharpness"), rate_claims(test, base=base, sharp_claim=""),
                      strict=True))
    claim = claims[request.param]
    (figure,) = claim_figures([rate_figure(test, "a rate", "error")], claim.rivals)
    drawn = _drawn(figure)
    yield fit, test, claim, drawn.axes[0]
    plt.close(drawn)


def test_the_rate_figure_draws_the_measured_points_and_their_intervals(rate_claim):
    fit, _, _, ax = rate_claim
    (container,) = ax.containers
    x, y = container.lines[0].get_data()
    np.testing.assert_allclose(x, fit.ns, rtol=RTOL)
    np.testing.assert_allclose(y, fit.values, rtol=RTOL)
    (bars,) = container.lines[2]
    ends = np.array([[segment[0, 1], segment[1, 1]] for segment in bars.get_segments()])
    np.testing.assert_allclose(np.sort(ends, axis=1), fit.value_ci, rtol=RTOL)


def test_the_rate_figure_draws_the_fitted_and_the_predicted_slopes(rate_claim):
    fit, test, _, ax = rate_claim
    fitted = _line(ax, "fitted slope")
    x, y = (np.asarray(a, dtype=float) for a in fitted.get_data())
    np.testing.assert_allclose(y, np.exp(fit.intercept) * x**fit.slope, rtol=RTOL)
    assert f"{fit.slope:.3f}" in fitted.get_label()
    predicted = _line(ax, "predicted slope")
    x, y = (np.asarray(a, dtype=float) for a in predicted.get_data())
    assert _log_slope(x, y) == pytest.approx(test.predicted, rel=1e-9)
    # through the points' geometric centre, like the wedge and the rivals
    centre_n, centre_y = _centre(fit)
    assert np.interp(np.log(centre_n), np.log(x), np.log(y)) == pytest.approx(np.log(centre_y))


def test_the_rate_figure_draws_every_rival_at_its_slope_with_its_verdict(rate_claim):
    fit, _, claim, ax = rate_claim
    centre_n, centre_y = _centre(fit)
    drawn = [r for r in claim.rivals if r.prediction is not None]
    assert {r.prediction for r in drawn} >= {-0.25, 0.0}  # at least two slopes, one nonzero
    for rival in drawn:
        line = _line(ax, f"rival: {rival.name}: {rival.verdict}")
        x, y = (np.asarray(a, dtype=float) for a in line.get_data())
        assert _log_slope(x, y) == pytest.approx(rival.prediction, rel=1e-9, abs=1e-12)
        assert np.interp(np.log(centre_n), np.log(x), np.log(y)) == pytest.approx(np.log(centre_y))


def test_the_rate_figure_draws_the_acceptance_window_as_a_wedge(rate_claim):
    fit, test, _, ax = rate_claim
    lo, hi = test.window
    (wedge,) = [c for c in ax.collections if c.get_label().startswith("acceptance window")]
    centre_n, centre_y = _centre(fit)
    for n in (fit.ns.min(), fit.ns.max()):
        expected = np.sort(centre_y * (n / centre_n) ** np.array([lo, hi]))
        np.testing.assert_allclose(_polygon_at(wedge, n), expected, rtol=1e-9)
    assert f"[{lo:.2f}, {hi:.2f}]" in wedge.get_label()


def test_a_predicted_interval_is_drawn_as_its_wedge(rate_claim):
    """lazy_training's sharpness draws a range of predicted slopes in place of one slope."""
    fit, test, claim, _ = rate_claim
    (figure,) = claim_figures([rate_figure(test, "a rate", "error")], claim.rivals,
                              interval=(-0.5, -0.125))
    drawn = _drawn(figure)
    try:
        ax = drawn.axes[0]
        assert not [line for line in ax.get_lines() if line.get_label().startswith("predicted")]
        (wedge,) = [c for c in ax.collections if c.get_label().startswith("predicted slopes")]
        centre_n, centre_y = _centre(fit)
        n = fit.ns.max()
        expected = np.sort(centre_y * (n / centre_n) ** np.array([-0.5, -0.125]))
        np.testing.assert_allclose(_polygon_at(wedge, n), expected, rtol=1e-9)
    finally:
        plt.close(drawn)


def test_the_curve_panels_draw_each_series_its_band_and_its_style():
    x = np.linspace(0.25, 2.0, 5)
    series = {"p0|finite N|x": x, "p0|finite N|y": np.sin(x), "p0|finite N|lo": np.sin(x) - 0.1,
              "p0|finite N|hi": np.sin(x) + 0.2, "p0|limit g_t|x": x, "p0|limit g_t|y": np.cos(x),
              "p1|rival: h|x": x, "p1|rival: h|y": x**2, "p1|the bound C|x": x,
              "p1|the bound C|y": 3 * x}
    figure = FigureData("curves", "panels", series,
                        {"panels": [{"title": "a", "ylabel": "f"}, {"title": "b", "logy": True}]})
    drawn = _drawn(figure)
    try:
        left, right = drawn.axes[:2]
        np.testing.assert_allclose(_line(left, "finite N").get_ydata(), np.sin(x), rtol=RTOL)
        np.testing.assert_allclose(_line(left, "limit g_t").get_ydata(), np.cos(x), rtol=RTOL)
        (band,) = left.collections
        for xi, lo, hi in zip(x, np.sin(x) - 0.1, np.sin(x) + 0.2, strict=True):
            np.testing.assert_allclose(_polygon_at(band, xi), [lo, hi], rtol=RTOL)
        rival, bound = _line(right, "rival: h"), _line(right, "the bound C")
        np.testing.assert_allclose(rival.get_ydata(), x**2, rtol=RTOL)
        np.testing.assert_allclose(bound.get_ydata(), 3 * x, rtol=RTOL)
        assert rival.get_linestyle() == ":" and bound.get_color() == "k"
        assert right.get_yscale() == "log" and left.get_yscale() == "linear"
        assert (left.get_title(), right.get_title()) == ("a", "b")
    finally:
        plt.close(drawn)


def test_the_heatmap_draws_the_kernel_unchanged():
    K = np.arange(12.0).reshape(3, 4)[:, :3] ** 1.5  # not symmetric: a transpose would show
    figure = FigureData("heatmap", "K", {"K": K}, {"ticks": ["a", "b", "c"], "label": "A(u, v)"})
    drawn = _drawn(figure)
    try:
        (image,) = drawn.axes[0].get_images()
        np.testing.assert_array_equal(image.get_array(), K)
        assert [t.get_text() for t in drawn.axes[0].get_xticklabels()] == ["a", "b", "c"]
    finally:
        plt.close(drawn)


def test_the_memory_figure_draws_each_error_and_its_bound():
    k = np.arange(6.0)
    errors, bound = 0.3 * 0.5**k, 0.5 * 0.6**k
    figure = FigureData("memory", "memory", {"k": k, "|S_k - S*_k|": errors,
                                             "bound C rho^k": bound},
                        {"rho": 0.6, "colours": {"|S_k - S*_k|": 2, "bound C rho^k": 2}})
    drawn = _drawn(figure)
    try:
        ax = drawn.axes[0]
        measured, drawn_bound = _line(ax, "|S_k - S*_k|"), _line(ax, "bound C rho^k")
        np.testing.assert_allclose(measured.get_xdata(), k, rtol=RTOL)
        np.testing.assert_allclose(measured.get_ydata(), errors, rtol=RTOL)
        np.testing.assert_allclose(drawn_bound.get_ydata(), bound, rtol=RTOL)
        assert drawn_bound.get_linestyle() == "--" and measured.get_linestyle() == "-"
        assert measured.get_color() == drawn_bound.get_color() == "C2"  # an error, its bound
    finally:
        plt.close(drawn)


def test_the_poisson_figure_draws_the_paths_and_the_predicted_band():
    n = np.arange(1.0, 6.0)
    path, lo, hi = np.array([0.1, -0.2, 0.3, 0.0, 0.2]), -0.4 * np.sqrt(n), 0.5 * np.sqrt(n)
    figure = FigureData("poisson", "fluctuations",
                        {"x": n, "path 1": path, "band_lo": lo, "band_hi": hi},
                        {"band_label": "95% band"})
    drawn = _drawn(figure)
    try:
        ax = drawn.axes[0]
        np.testing.assert_allclose(_line(ax, "path 1").get_ydata(), path, rtol=RTOL)
        (band,) = [c for c in ax.collections if c.get_label() == "95% band"]
        for xi, low, high in zip(n, lo, hi, strict=True):
            np.testing.assert_allclose(_polygon_at(band, xi), [low, high], rtol=RTOL)
    finally:
        plt.close(drawn)


def test_the_limit_rivals_figure_draws_measured_and_allowed_per_rival():
    rivals = [Rival("f^N converges to the limit of h_1", 0.02, 0.05, True, ""),
              Rival("f^N converges to the limit of h_2", 0.03, -0.01, False, "")]
    drawn = _drawn(limit_rivals_figure("rivals", rivals))
    try:
        ax = drawn.axes[0]
        np.testing.assert_allclose(_line(ax, "measured").get_xdata(), [0.05, -0.01], rtol=RTOL)
        np.testing.assert_allclose(_line(ax, "the most that").get_xdata(), [0.02, 0.03],
                                   rtol=RTOL)
        labels = [t.get_text() for t in ax.get_yticklabels()]
        assert labels == ["h_1 (rejected)", "h_2 (not rejected)"]
    finally:
        plt.close(drawn)


def test_a_tier_figure_draws_exact_zeros_near_the_data_and_says_so():
    """The limit tier's figure (log axis): the largest deviation drawn is the one measured,
    an exact 0 sits two decades below the smallest value shown (not at 1e-308, which hid the
    comparison over 300 decades) and the legend counts them."""
    from proofs_check.checks.tiers import _difference_figure

    claim = np.array([0.0, 3e-17, 0.0, 1.2e-16])
    rival = np.array([2e-3, 5e-2, 1e-3, 4e-3])
    figure = _difference_figure("tier", claim, rival, 1e-14, "ODE without weights")
    (label,) = [k.split("|")[1] for k in figure.series if k.startswith("p0|double code")
                and k.endswith("|y")]
    drawn = figure.series[f"p0|{label}|y"]
    assert drawn.max() == claim.max()
    # 3e-17, the smallest nonzero value shown, over 100 (abs=0: approx allows 1e-12 by default)
    assert drawn.min() == pytest.approx(3e-19, rel=1e-12, abs=0.0)
    assert "2 exactly 0" in label
    np.testing.assert_array_equal(figure.series["p0|rival: ODE without weights|y"],
                                  np.sort(rival))
