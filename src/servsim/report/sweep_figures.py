"""Figures of ``servsim sweep``: for a grid, line figures (with the goal and, where the swept system
is a queue theory covers, its curve) and heatmaps; for a sampled design, scatter panels per
parameter. Numbers and labels come from :mod:`servsim.report.format`."""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from servsim.atomic import ensure_dir, write_bytes
from servsim.experiments.sweep import Sweep
from servsim.report import format as fmt
from servsim.report.figures import DARK, RED, STYLE, png_bytes
from servsim.report.sweep_labels import currency, numeric, parameter_label
from servsim.report.theory_view import predictions
from servsim.targets import TARGETS

#: Line colours, one per combination of the other parameters.
SERIES = ["#1f6fb4", "#e08214", "#1a9850", "#8e44ad", "#c0392b", "#17becf"]


def _targets(sw: Sweep, metric: str) -> tuple[float, str] | None:
    """(value, label) of the base scenario's goal for ``metric``: the service-level goal or the
    abandonment ceiling."""
    base = sw.scenarios[0] if sw.scenarios else None
    if base is None:
        return None
    if metric == TARGETS["service_level"][0]:
        return float(base.targets.service_level.goal), "goal"
    if metric == TARGETS["abandonment"][0]:
        return float(base.targets.abandonment_max), "ceiling"
    return None


def _theory(sw: Sweep, summary: pd.DataFrame, metric: str) -> tuple[str, np.ndarray] | None:
    """(model, value per summary row) when every cell is a queue theory covers (M/M/c, Erlang A,
    M/G/1; :func:`servsim.report.theory_view.predictions`) and it predicts ``metric``."""
    values, model = [], None
    for cell in summary["cell"]:
        got = predictions(sw.scenarios[int(cell)])
        if got is None or metric not in got[1]:
            return None
        model = got[0]
        values.append(got[1][metric])
    return (model or "", np.array(values, dtype=float)) if values else None


def _y_axis(ax: Axes, sw: Sweep, summary: pd.DataFrame, metric: str, label: bool = True) -> None:
    """The metric's unit on the y axis (durations in the unit that fits the range), its goal line."""
    target = _targets(sw, metric)
    if target is not None:
        ax.axhline(target[0], color=RED, linestyle="--", linewidth=1.0, label=target[1])
    kind = fmt.kind_of(metric)
    spread = np.nan_to_num(summary[f"{metric}_half_width"].to_numpy(dtype=float))
    scale = fmt.axis_unit(kind, summary[metric].to_numpy(dtype=float) + spread)
    if label:
        ax.set_ylabel(fmt.label(metric, unit=True, currency=currency(sw), scale=scale))
    ax.yaxis.set_major_locator(fmt.axis_locator(kind, scale=scale))
    ax.yaxis.set_major_formatter(fmt.axis_formatter(kind, scale=scale))
    ax.grid(alpha=0.3)


def line_figure(sw: Sweep, summary: pd.DataFrame, metric: str) -> Figure:
    """Metric against the first parameter, one line per combination of the others, with CI bands,
    the goal where the metric has one and the theory curve where the swept system has one."""
    x_param, others = sw.parameters[0], sw.parameters[1:]
    theory = _theory(sw, summary, metric)
    with mpl.rc_context(STYLE):
        fig = Figure(figsize=(7, 4.2), layout="constrained")
        ax = fig.add_subplot()
        groups = summary.groupby(others, sort=False) if others else [((), summary)]
        for k, (key, sub) in enumerate(groups):
            x, _ = numeric(sub[x_param])
            order = np.argsort(x)
            y = sub[metric].to_numpy(dtype=float)[order]
            hw = np.nan_to_num(sub[f"{metric}_half_width"].to_numpy(dtype=float)[order])
            key = key if isinstance(key, tuple) else (key,)
            label = ", ".join(f"{parameter_label(p)} = {fmt.parameter(v)}" for p, v in zip(others, key)) \
                or "simulated"
            colour = SERIES[k % len(SERIES)]
            ax.plot(x[order], y, marker="o", color=colour, label=label)
            ax.fill_between(x[order], y - hw, y + hw, color=colour, alpha=0.2, linewidth=0)
            if theory is not None:
                t = theory[1][summary.index.get_indexer(sub.index)][order]
                ax.plot(x[order], t, linestyle=":", color=colour, linewidth=1.4,
                        label=f"{theory[0]}" + (f", {label}" if others else ""))
        _, unit = numeric(summary[x_param])
        ax.set_xlabel(parameter_label(x_param, unit))
        _y_axis(ax, sw, summary, metric)
        ax.set_title(f"{fmt.label(metric)} by {parameter_label(x_param)}")
        ax.legend(frameon=False, fontsize=8)
        return fig


def heatmap_figure(sw: Sweep, summary: pd.DataFrame, metric: str) -> Figure:
    """Metric over the first two parameters of a grid (means over any further ones), each cell
    written in the colour bar's unit."""
    p1, p2 = sw.parameters[0], sw.parameters[1]
    x, u1 = numeric(summary[p1])
    y, u2 = numeric(summary[p2])
    table = pd.DataFrame({"x": x, "y": y, "v": summary[metric].to_numpy(dtype=float)})
    grid = table.pivot_table(index="y", columns="x", values="v", aggfunc="mean")
    with mpl.rc_context(STYLE):
        fig = Figure(figsize=(7, 4.2), layout="constrained")
        ax = fig.add_subplot()
        im = ax.imshow(grid.to_numpy(), aspect="auto", origin="lower", cmap="viridis")
        ax.set_xticks(range(len(grid.columns)), [fmt.parameter(v) for v in grid.columns])
        ax.set_yticks(range(len(grid.index)), [fmt.parameter(v) for v in grid.index])
        ax.set_xlabel(parameter_label(p1, u1))
        ax.set_ylabel(parameter_label(p2, u2))
        kind, money = fmt.kind_of(metric), currency(sw)
        scale = fmt.axis_unit(kind, grid.to_numpy().ravel())
        for (i, j), v in np.ndenumerate(grid.to_numpy()):  # dark text on the light part of the colour map
            light = np.isfinite(v) and im.norm(v) > 0.55
            ax.text(j, i, fmt.value(v, kind, scale=scale), ha="center", va="center", fontsize=8,
                    color="black" if light else "white")
        bar = fig.colorbar(im, ax=ax, label=fmt.label(metric, unit=True, currency=money, scale=scale))
        bar.ax.yaxis.set_major_locator(fmt.axis_locator(kind, scale=scale))
        bar.ax.yaxis.set_major_formatter(fmt.axis_formatter(kind, scale=scale))
        ax.set_title(fmt.label(metric))
        return fig


def scatter_figure(sw: Sweep, summary: pd.DataFrame, metric: str) -> Figure:
    """For a sampled design (Latin hypercube): the metric against each parameter, one panel each,
    every cell a point with its CI — a first look at how much each parameter matters (each panel
    mixes the variation of the others, so read it as a partial dependence, not a curve)."""
    params = sw.parameters
    with mpl.rc_context(STYLE):
        fig = Figure(figsize=(3.4 * len(params) + 0.6, 3.6), layout="constrained")
        axes = fig.subplots(1, len(params), sharey=True, squeeze=False)[0]
        y = summary[metric].to_numpy(dtype=float)
        hw = summary[f"{metric}_half_width"].to_numpy(dtype=float)
        for i, (ax, p) in enumerate(zip(axes, params)):
            x, unit = numeric(summary[p])
            ax.errorbar(x, y, yerr=np.nan_to_num(hw), fmt="o", color=SERIES[0], markersize=4, elinewidth=0.8,
                        alpha=0.8)
            if len(x) > 2 and np.ptp(x) > 0 and np.isfinite(y).all():  # least squares: the effect's direction
                slope, intercept = np.polyfit(x, y, 1)
                xs = np.array([x.min(), x.max()])
                ax.plot(xs, intercept + slope * xs, color=DARK, linewidth=1.0)
            ax.set_xlabel(parameter_label(p, unit))
            _y_axis(ax, sw, summary, metric, label=i == 0)
        fig.suptitle(f"{fmt.label(metric)} across the sampled design ({len(summary)} cells)")
        return fig


def write_figures(folder: Path, sw: Sweep, summary: pd.DataFrame) -> None:
    """figures/line_<metric>.png and heatmap_<metric>.png for a grid (heatmaps from two parameters),
    scatter_<metric>.png for a sampled design; none when a plotted parameter is not numeric."""
    figs = ensure_dir(folder / "figures", inside=folder)
    try:
        numeric(summary[sw.parameters[0]])
        if len(sw.parameters) >= 2:
            numeric(summary[sw.parameters[1]])
    except ValueError:
        return  # a parameter with non-numeric values: tables only, no axes to plot on
    for m in sw.spec.metrics:
        if sw.spec.sweep.design == "lhs":
            write_bytes(figs / f"scatter_{m}.png", png_bytes(scatter_figure(sw, summary, m)))
            continue
        write_bytes(figs / f"line_{m}.png", png_bytes(line_figure(sw, summary, m)))
        if len(sw.parameters) >= 2:
            write_bytes(figs / f"heatmap_{m}.png", png_bytes(heatmap_figure(sw, summary, m)))
