"""Figures of ``servsim compare``: options side by side, differences from the baseline, Pareto front.

Built with matplotlib's object API (:class:`matplotlib.figure.Figure`), never pyplot, so nothing
depends on a GUI backend or on global figure state; PNGs are rendered by Agg. Every figure is drawn
under one fixed style (:data:`STYLE`, DejaVu Sans, which ships with matplotlib), so a user's
matplotlibrc does not change the look, and :func:`png_bytes` writes no timestamp or version into the
file: the same figure gives the same bytes.

Labels, units, "better" directions and every number (annotations, tick labels) come from
:mod:`servsim.report.format`, the formatter of the terminal tables and the HTML report: shares in %,
differences of shares in pp, durations on an axis in the unit that fits its range (s, min or h, the
data staying in their stored unit), money in the scenario's currency.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from servsim.atomic import ensure_dir, write_bytes
from servsim.report import format as fmt
from servsim.stats import Constraint

__all__ = ["STYLE", "comparison_figure", "differences_figure", "pareto_figure", "png_bytes", "save"]

#: rcParams every figure is created and saved under.
STYLE: dict[str, object] = {
    "font.family": "DejaVu Sans",
    "font.size": 9.0,
    "axes.titlesize": 10.0,
    "axes.titleweight": "bold",
    "axes.labelsize": 9.0,
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 9.0,
    "legend.fontsize": 8.5,
    "figure.titlesize": 11.5,
    "figure.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#555555",
    "axes.unicode_minus": True,
    "axes.formatter.useoffset": False,
    "text.usetex": False,
    "svg.hashsalt": "servsim",
    "svg.fonttype": "path",
    "pdf.fonttype": 42,
}

BLUE = "#1f6fb4"      # best / significantly better
RED = "#c0392b"       # significantly worse / constraint
PURPLE = "#6a3d9a"    # significant, direction unknown
DARK = "#3a3a3a"      # ordinary
GREY = "#9a9a9a"      # not significant / dominated
CHOSEN_BAND = "#e3f1e3"


def _axis(axis: object, kind: str, signed: bool = False, scale: str | None = None) -> None:
    """At most about five ticks, at round values of the shown unit (``scale`` for durations),
    labelled by :func:`servsim.report.format.axis_formatter`."""
    axis.set_major_locator(fmt.axis_locator(kind, scale=scale))  # type: ignore[attr-defined]
    axis.set_major_formatter(fmt.axis_formatter(kind, signed, scale=scale))  # type: ignore[attr-defined]


def _grid(n: int, max_cols: int) -> tuple[int, int]:
    ncols = max(1, min(n, max_cols))
    return math.ceil(n / ncols), ncols


def _ordered(values: pd.Series) -> list[str]:
    return list(dict.fromkeys(values.astype(str).tolist()))


def _freeze(fig: Figure) -> Figure:
    """Run the constrained layout once and keep it: a layout engine left on re-runs at every save
    from the previous positions, so saving the same figure twice would give different pixels."""
    fig.draw_without_rendering()
    fig.set_layout_engine("none")
    return fig


def _empty(message: str) -> Figure:
    with mpl.rc_context(STYLE):
        fig = Figure(figsize=(5.0, 1.6), layout="constrained")
        ax = fig.add_subplot()
        ax.set_axis_off()
        ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color=DARK)
        return _freeze(fig)


def _better_note(better: str | None, forest: bool = False) -> str:
    if better is None:
        return ""
    if forest:
        return "← better" if better == "lower" else "better →"
    return f"{better} is better"


def comparison_figure(summary: pd.DataFrame, metrics: Sequence[str], *, highlight: str | None = None,
                      constraints: Sequence[Constraint] = (), max_cols: int = 3,
                      currency: str | None = None) -> Figure:
    """One panel per metric: each option's mean (point, value written above) with its 95% CI.

    ``summary`` is long (``option, metric, mean, half_width, n``). Options run top to bottom in their
    order of appearance; where a metric has a clear better direction the panel says so and the best
    option's point is blue. ``highlight`` (e.g. the chosen option) gets a green band across every
    panel and a bold label; ``constraints`` on a shown metric are drawn as dashed red lines at the
    bound. Money is labelled in ``currency``. Raises ValueError for a metric not in ``summary``.
    """
    metrics = [str(m) for m in metrics]
    if not metrics:
        raise ValueError("comparison_figure needs at least one metric")
    s = summary.assign(option=summary["option"].astype(str), metric=summary["metric"].astype(str))
    unknown = [m for m in metrics if m not in set(s["metric"])]
    if unknown:
        raise ValueError(f"metric(s) {unknown} not in the summary; it has {_ordered(s['metric'])}")
    options = _ordered(s["option"])
    k = len(options)
    nrows, ncols = _grid(len(metrics), max_cols)
    longest = max((len(o) for o in options), default=4)
    shown = highlight if highlight is not None and highlight in options else None
    with mpl.rc_context(STYLE):
        fig = Figure(figsize=(3.4 * ncols + 0.065 * longest + 0.4, (0.42 * k + 1.35) * nrows + 0.45),
                     layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True)
        for i, metric in enumerate(metrics):
            _comparison_panel(axes[i // ncols][i % ncols], s[s["metric"] == metric], metric, options, shown,
                              constraints, currency)
        _hide_unused(axes, len(metrics))
        if shown is not None:
            _bold_highlight(axes, shown)
        fig.suptitle("Options compared: mean with confidence interval")
        return _freeze(fig)


def _comparison_panel(ax: Axes, rows: pd.DataFrame, metric: str, options: list[str], highlight: str | None,
                      constraints: Sequence[Constraint], currency: str | None) -> None:
    """One metric's panel of :func:`comparison_figure`; ``rows`` are the summary rows of ``metric``."""
    info = fmt.info(metric)
    sub = rows.drop_duplicates("option").set_index("option").reindex(options)
    means = sub["mean"].to_numpy(dtype=float)
    hws = np.nan_to_num(sub["half_width"].to_numpy(dtype=float), nan=0.0)
    best = None
    if info.better is not None and np.isfinite(means).any():
        best = int(np.nanargmin(means) if info.better == "lower" else np.nanargmax(means))
    if highlight is not None:
        j = options.index(highlight)
        ax.axhspan(j - 0.45, j + 0.45, color=CHOSEN_BAND, zorder=0, lw=0)
    y = np.arange(len(options))
    for j in range(len(options)):
        if not np.isfinite(means[j]):
            continue
        c = BLUE if j == best else DARK
        ax.errorbar(means[j], y[j], xerr=hws[j], fmt="o", color=c, ecolor=c, elinewidth=2.2,
                    capsize=4, capthick=1.6, markersize=7, zorder=3)
        ax.annotate(fmt.value(means[j], info.kind, currency), (means[j], y[j]), xytext=(0, 6),
                    textcoords="offset points", ha="center", va="bottom", fontsize=8, color=c,
                    fontweight="bold" if j == best else "normal", zorder=4)
    notes = [_better_note(info.better), *_targets(ax, metric, info.kind, constraints, currency)]
    note = " · ".join(n for n in notes if n)
    scale = fmt.axis_unit(info.kind, np.concatenate([means + hws, means - hws]))
    ax.set_title(fmt.label(metric, unit=True, currency=currency, scale=scale) + (f"\n{note}" if note else ""),
                 loc="left")
    _option_axes(ax, info.kind, options, margin=0.18, scale=scale)


def _targets(ax: Axes, metric: str, kind: str, constraints: Sequence[Constraint],
             currency: str | None = None) -> list[str]:
    """Dashed red lines at the bounds of the constraints on ``metric``; their notes for the title."""
    notes = []
    for con in constraints:
        if con.metric == metric:
            ax.axvline(con.bound, color=RED, ls="--", lw=1.2, zorder=2)
            notes.append(f"target {'≤' if con.op == '<=' else '≥'} {fmt.value(con.bound, kind, currency)}")
    return notes


def _option_axes(ax: Axes, kind: str, labels: list[str], margin: float, signed: bool = False,
                 scale: str | None = None) -> None:
    """A panel's x axis in the metric's unit, with a light grid, and the options down the y axis."""
    _axis(ax.xaxis, kind, signed, scale)
    ax.xaxis.grid(True, color="#e5e5e5", lw=0.8, zorder=0)
    ax.set_axisbelow(True)
    ax.margins(x=margin)
    ax.tick_params(axis="y", length=0)
    ax.set_yticks(np.arange(len(labels)), labels=labels)
    ax.set_ylim(len(labels) - 0.5, -0.85)


def _hide_unused(axes: np.ndarray, used: int) -> None:
    """Hide the panels of the grid after the first ``used`` (row by row)."""
    ncols = axes.shape[1]
    for i in range(used, axes.size):
        axes[i // ncols][i % ncols].set_visible(False)


def _bold_highlight(axes: np.ndarray, highlight: str) -> None:
    """The highlighted option's label in bold, on the first panel of every row."""
    for r in range(axes.shape[0]):
        for lab in axes[r][0].get_yticklabels():
            if lab.get_text() == highlight:
                lab.set_fontweight("bold")


def differences_figure(differences: pd.DataFrame, *, max_cols: int = 2, currency: str | None = None) -> Figure:
    """Forest plot: per metric, each option's paired difference from the baseline with its
    (Bonferroni-corrected) confidence interval, and a vertical line at zero.

    ``differences`` is :func:`servsim.stats.compare_to_baseline` output concatenated over metrics.
    Significant differences are filled: blue when better, red when worse (where the metric has a
    clear direction), purple otherwise; the rest are hollow grey. Differences of shares are in
    percentage points; money in ``currency``.
    """
    if differences is None or differences.empty:
        return _empty("No option other than the baseline: nothing to compare.")
    d = differences.assign(option=differences["option"].astype(str), metric=differences["metric"].astype(str))
    metrics = _ordered(d["metric"])
    baseline = str(d["baseline"].iloc[0])
    nrows, ncols = _grid(len(metrics), max_cols)
    per_panel = max(len(d[d["metric"] == m]) for m in metrics)
    longest = max(len(o) for o in d["option"])
    with mpl.rc_context(STYLE):
        fig = Figure(figsize=(4.3 * ncols + 0.065 * longest + 0.4, (0.45 * per_panel + 1.55) * nrows + 0.9),
                     layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False)
        kinds_used: set[str] = set()
        for i, metric in enumerate(metrics):
            kinds_used |= _difference_panel(axes[i // ncols][i % ncols], d[d["metric"] == metric], metric, baseline,
                                            currency)
        _hide_unused(axes, len(metrics))
        levels = sorted({round(float(v), 6) for v in d["level"] if math.isfinite(float(v))})
        lvl = f" at {fmt.confidence(levels[0])} each" if len(levels) == 1 else ""
        fig.suptitle(f"Difference from the baseline ({baseline}), paired over common random numbers\n"
                     f"Bonferroni-corrected confidence intervals{lvl}")
        _legend(fig, kinds_used)
        return _freeze(fig)


def _difference_panel(ax: Axes, sub: pd.DataFrame, metric: str, baseline: str, currency: str | None) -> set[str]:
    """One metric's panel of :func:`differences_figure`; returns the point styles it used."""
    info = fmt.info(metric)
    opts = sub["option"].tolist()
    yy = np.arange(len(opts))
    ax.axvline(0.0, color="#222222", lw=1.1, zorder=2)
    kinds: set[str] = set()
    for j, r in enumerate(sub.itertuples()):
        diff = float(r.diff)
        if not math.isfinite(diff):
            continue
        sig = bool(r.significant)
        kind, c = _point_style(sig, diff, info.better)
        kinds.add(kind)
        ax.errorbar(diff, yy[j], xerr=_xerr(diff, float(r.low), float(r.high)), fmt="o", color=c, ecolor=c,
                    elinewidth=2.2, capsize=4, capthick=1.6, markersize=7, markerfacecolor=c if sig else "white",
                    markeredgewidth=1.6, zorder=3)
        ax.annotate(fmt.difference(diff, info.kind, currency), (diff, yy[j]), xytext=(0, 6),
                    textcoords="offset points", ha="center", va="bottom", fontsize=8, color=c,
                    fontweight="bold" if sig else "normal", zorder=4)
    note = _better_note(info.better, forest=True)
    scale = fmt.axis_unit(info.kind, np.concatenate([sub[c].to_numpy(dtype=float) for c in ("low", "high", "diff")]))
    title = fmt.label(metric, unit=True, signed=True, currency=currency, scale=scale)
    ax.set_title(title + (f"\n{note}" if note else ""), loc="left")
    _option_axes(ax, info.kind, opts, margin=0.2, signed=True, scale=scale)
    ax.set_xlabel(f"difference from {baseline}")
    return kinds


def _point_style(significant: bool, diff: float, better: str | None) -> tuple[str, str]:
    """(style key, colour) of a difference: significantly better or worse where the metric has a
    direction, significant otherwise, or not significant."""
    if significant and better is not None and diff != 0:
        kind = "better" if (diff < 0) == (better == "lower") else "worse"
        return kind, BLUE if kind == "better" else RED
    if significant:
        return "significant", PURPLE
    return "ns", GREY


def _xerr(diff: float, low: float, high: float) -> list[list[float]] | None:
    """Asymmetric error bar from the interval's ends (None when an end is not finite)."""
    if math.isfinite(low) and math.isfinite(high):
        return [[max(diff - low, 0.0)], [max(high - diff, 0.0)]]
    return None


#: Legend entries of :func:`differences_figure`: (style key, colour, filled, label).
_DIFFERENCE_STYLES = [("better", BLUE, True, "significant, better"), ("worse", RED, True, "significant, worse"),
                      ("significant", PURPLE, True, "significant"), ("ns", GREY, False, "not significant")]


def _legend(fig: Figure, kinds_used: set[str]) -> None:
    """A legend below the panels with the point styles that were used, in a fixed order."""
    handles = [Line2D([], [], color=c, marker="o", lw=2.2, markersize=7, markerfacecolor=c if filled else "white",
                      markeredgewidth=1.6, label=label)
               for key, c, filled, label in _DIFFERENCE_STYLES if key in kinds_used]
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False)


def pareto_figure(pareto: pd.DataFrame, x: str, y: str, *, highlight: str | None = None,
                  currency: str | None = None) -> Figure:
    """Scatter of options by two metrics (means), the Pareto front connected and highlighted.

    ``pareto`` has ``option``, the columns ``x`` and ``y`` and a boolean ``pareto``. Front points are
    blue and joined in order of ``x``; dominated points are hollow grey; every point is labelled
    with its option name. ``highlight`` (e.g. the chosen option) gets a green ring. Money axes are
    labelled in ``currency``.
    """
    missing = [c for c in ("option", x, y, "pareto") if c not in pareto.columns]
    if missing:
        raise ValueError(f"pareto table lacks column(s) {missing}; it has {list(pareto.columns)}")
    p = pareto.assign(option=pareto["option"].astype(str))
    p = p[np.isfinite(p[x].to_numpy(dtype=float)) & np.isfinite(p[y].to_numpy(dtype=float))]
    if p.empty:
        return _empty(f"No option has values of both {fmt.label(x)} and {fmt.label(y)}.")
    xi, yi = fmt.info(x), fmt.info(y)
    xs, ys = fmt.axis_unit(xi.kind, p[x].to_numpy(dtype=float)), fmt.axis_unit(yi.kind, p[y].to_numpy(dtype=float))
    on = p["pareto"].astype(bool).to_numpy()
    with mpl.rc_context(STYLE):
        fig = Figure(figsize=(6.4, 4.6), layout="constrained")
        ax = fig.add_subplot()
        front = p[on].sort_values([x, y], kind="mergesort")
        rest = p[~on]
        if len(front):
            ax.plot(front[x].to_numpy(dtype=float), front[y].to_numpy(dtype=float), "-", color=BLUE, lw=1.8,
                    alpha=0.7, zorder=2)
            ax.scatter(front[x], front[y], s=60, color=BLUE, zorder=3, label="Pareto front")
        if len(rest):
            ax.scatter(rest[x], rest[y], s=50, facecolors="white", edgecolors=GREY, linewidths=1.6, zorder=3,
                       label="dominated")
        if highlight is not None and highlight in set(p["option"]):
            h = p[p["option"] == highlight].iloc[0]
            ax.scatter([h[x]], [h[y]], s=260, facecolors="none", edgecolors="#1a7f37", linewidths=2.2, zorder=4,
                       label=f"chosen: {highlight}")
        for r in p.to_dict("records"):
            front_pt = bool(r["pareto"])
            ax.annotate(r["option"], (float(r[x]), float(r[y])), xytext=(7, 5), textcoords="offset points",
                        ha="left", va="bottom", fontsize=8.5, color=DARK if front_pt else "#6e6e6e",
                        fontweight="bold" if front_pt else "normal", zorder=5)
        bx, by = _better_note(xi.better), _better_note(yi.better)
        ax.set_xlabel(fmt.label(x, unit=True, currency=currency, scale=xs) + (f" — {bx}" if bx else ""))
        ax.set_ylabel(fmt.label(y, unit=True, currency=currency, scale=ys) + (f" — {by}" if by else ""))
        _axis(ax.xaxis, xi.kind, scale=xs)
        _axis(ax.yaxis, yi.kind, scale=ys)
        ax.grid(True, color="#e5e5e5", lw=0.8, zorder=0)
        ax.set_axisbelow(True)
        ax.margins(x=0.15, y=0.15)
        ax.legend(loc="best", frameon=False)
        fig.suptitle(f"Trade-off: {fmt.label(x)} against {fmt.label(y)}")
        return _freeze(fig)


def png_bytes(fig: Figure, dpi: int = 110) -> bytes:
    """The figure as PNG bytes, deterministic: no software/version or time metadata in the file."""
    buf = io.BytesIO()
    with mpl.rc_context(STYLE):
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None}, facecolor="white")
    return buf.getvalue()


def save(fig: Figure, path: str | os.PathLike[str], dpi: int = 110) -> Path:
    """Write the figure; the format follows the suffix (``.png`` by default, also ``.svg``, ``.pdf``),
    without timestamps, so the file is reproducible. Returns the path."""
    p = Path(path)
    ensure_dir(p.parent)
    suffix = p.suffix.lower().lstrip(".") or "png"
    if suffix == "png":
        data = png_bytes(fig, dpi=dpi)
    else:
        buf = io.BytesIO()
        meta = {"svg": {"Date": None}, "pdf": {"CreationDate": None, "ModDate": None}}.get(suffix)
        with mpl.rc_context(STYLE):
            fig.savefig(buf, format=suffix, dpi=dpi, metadata=meta, facecolor="white")
        data = buf.getvalue()
    write_bytes(p, data)  # all or nothing: never a zero-byte or half figure
    return p
