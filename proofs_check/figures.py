"""Figures of the verification report (matplotlib, Agg backend, PNG).

Each :class:`~proofs_check.result.FigureData` names its ``kind``:

* ``rate``: log-log error vs N with 95% error bars, the fitted slope and the predicted slope
  (anchored at the geometric mean of the data), optionally a negative-control series;
* ``trajectories``: f^N_k against the limit along the same path, one panel per N;
* ``heatmap``: a matrix (the kernel A on words);
* ``memory``: semilog errors |S_k - S*_k| etc. against the bounds C rho^k (and rho/2);
* ``poisson``: a fluctuation (drift or martingale) path with its predicted band;
* ``scatter``: predicted vs measured values (tier comparisons), log-log.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from proofs_check.result import FigureData  # noqa: E402


def _rate(ax, fig: FigureData) -> None:
    s, meta = fig.series, fig.meta
    n = np.asarray(s["N"], dtype=float)
    y = np.asarray(s["error"], dtype=float)
    if "error_lo" in s:
        yerr = np.vstack([y - s["error_lo"], s["error_hi"] - y])
        ax.errorbar(n, y, yerr=yerr, fmt="o", color="C0", capsize=3, label="measured (95% CI)")
    else:
        ax.plot(n, y, "o", color="C0", label="measured")
    grid = np.geomspace(n.min(), n.max(), 50)
    if "slope" in meta:
        fitted = np.exp(meta["intercept"]) * grid ** meta["slope"]
        ax.plot(grid, fitted, "-", color="C0", label=f"fitted slope {meta['slope']:.3f}")
    if "predicted" in meta:
        anchor_n = np.exp(np.mean(np.log(n)))
        anchor_y = np.exp(np.mean(np.log(y)))
        predicted = anchor_y * (grid / anchor_n) ** meta["predicted"]
        ax.plot(grid, predicted, "--", color="k", label=f"predicted slope {meta['predicted']:.3f}")
    if "control" in s:
        ax.plot(n, s["control"], "s:", color="C3", label=meta.get("control_label", "control"))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(meta.get("xlabel", "N"))
    ax.set_ylabel(meta.get("ylabel", "error"))
    ax.legend(fontsize=8)


def _trajectories(fig: FigureData):
    """One panel per N: f^N_k (dots) and the limit along the same path (line) vs step k."""
    ladder = fig.meta["ladder"]
    figure, axes = plt.subplots(len(ladder), 1, figsize=(6.0, 1.6 * len(ladder) + 0.8),
                                dpi=100, sharey=True, squeeze=False)
    for ax, n_units in zip(axes[:, 0], ladder, strict=True):
        k = np.asarray(fig.series[f"k N={n_units}"], dtype=float)
        ax.plot(k, fig.series[f"g N={n_units}"], "-", color="k", lw=1, label="limit g")
        ax.plot(k, fig.series[f"f N={n_units}"], "o", ms=3, color="C1", label=f"f^N, N={n_units}")
        ax.set_ylabel(fig.meta.get("ylabel", "output"), fontsize=8)
        ax.legend(fontsize=7, loc="upper right")
    axes[-1, 0].set_xlabel("step k")
    axes[0, 0].set_title(fig.title, fontsize=10)
    return figure


def _heatmap(ax, fig: FigureData) -> None:
    K = np.asarray(fig.series["K"], dtype=float)
    image = ax.imshow(K, cmap="viridis", interpolation="nearest")
    ax.figure.colorbar(image, ax=ax, label=fig.meta.get("label", ""))
    ax.set_xlabel("word v")
    ax.set_ylabel("word u")


def _memory(ax, fig: FigureData) -> None:
    s = fig.series
    k = np.asarray(s["k"], dtype=float)
    for label, values in s.items():
        if label == "k":
            continue
        style = "--" if "bound" in label else "-o"
        ax.plot(k, np.maximum(values, 1e-300), style, ms=3, label=label)
    if "floor" in fig.meta:
        ax.axhline(fig.meta["floor"], color="grey", lw=0.5)
    ax.set_yscale("log")
    ax.set_ylim(bottom=1e-17)
    ax.set_xlabel("step k")
    ax.set_ylabel("max over units of the error")
    ax.legend(fontsize=8)


def _poisson(ax, fig: FigureData) -> None:
    s = fig.series
    x = np.asarray(s["x"], dtype=float)
    for label, values in s.items():
        if label in ("x", "band_lo", "band_hi"):
            continue
        ax.plot(x, values, lw=1, label=label)
    if "band_lo" in s:
        ax.fill_between(x, s["band_lo"], s["band_hi"], color="grey", alpha=0.3,
                        label=fig.meta.get("band_label", "predicted band"))
    ax.set_xlabel(fig.meta.get("xlabel", "n"))
    ax.set_ylabel(fig.meta.get("ylabel", ""))
    ax.legend(fontsize=8)


def _scatter(ax, fig: FigureData) -> None:
    s = fig.series
    ax.plot(np.abs(s["reference"]), np.abs(s["value"]), "o", ms=3)
    lims = [min(np.abs(s["reference"]).min(), np.abs(s["value"]).min()),
            max(np.abs(s["reference"]).max(), np.abs(s["value"]).max())]
    ax.plot(lims, lims, "k--", lw=1)
    ax.set_xlabel(fig.meta.get("xlabel", "reference"))
    ax.set_ylabel(fig.meta.get("ylabel", "value"))


_PLOTTERS = {
    "rate": _rate,
    "heatmap": _heatmap,
    "memory": _memory,
    "poisson": _poisson,
    "scatter": _scatter,
}


def render_png(fig: FigureData) -> bytes:
    """The PNG bytes of one figure."""
    if fig.kind == "trajectories":
        figure = _trajectories(fig)
    else:
        figure, ax = plt.subplots(figsize=(6.0, 4.2), dpi=100)
    try:
        if fig.kind != "trajectories":
            _PLOTTERS[fig.kind](ax, fig)
            ax.set_title(fig.title, fontsize=10)
        figure.tight_layout()
        buffer = io.BytesIO()
        # Fixed metadata so identical data give byte-identical PNGs.
        figure.savefig(buffer, format="png", metadata={"Software": None})
        return buffer.getvalue()
    finally:
        plt.close(figure)
