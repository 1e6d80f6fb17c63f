"""Outputs of ``servsim sweep``: per-cell summary with CIs, line and heatmap figures, and the
terminal table. Numbers and labels come from :mod:`servsim.report.format`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from rich.console import Console
from rich.markup import escape

from servsim.atomic import ensure_dir, write_bytes, write_text
from servsim.experiments.sweep import Sweep, _split_unit
from servsim.report import format as fmt
from servsim.report.figures import png_bytes
from servsim.report.tables import Column, legend, print_columns
from servsim.stats import t_interval


def numeric(values: pd.Series) -> tuple[np.ndarray, str]:
    """Parameter values as numbers, and their unit ('' for plain numbers): '9.5/min' -> 9.5, '/min'."""
    pairs = [_split_unit(v) for v in values]
    units = {u for _, u in pairs}
    return np.array([x for x, _ in pairs]), (units.pop() if len(units) == 1 else "")


def cell_summary(sw: Sweep, results: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """One row per cell: parameter values, replications, and mean and CI half-width of each metric."""
    rows = []
    for cell, sub in results.groupby("cell", sort=True):
        row: dict[str, object] = {"cell": int(cell)}
        for p in sw.parameters:
            row[p] = sub[p].iloc[0]
        row["replications"] = len(sub)
        for m in sw.spec.metrics:
            ci = t_interval(sub[m].to_numpy(dtype=float), level)
            row[m] = ci.mean
            row[f"{m}_half_width"] = ci.half_width
        rows.append(row)
    return pd.DataFrame(rows)


def currency(sw: Sweep) -> str:
    """The currency money is shown in: the base scenario's ``economics.currency``."""
    return sw.scenarios[0].economics.currency if sw.scenarios else "EUR"


def line_figure(sw: Sweep, summary: pd.DataFrame, metric: str) -> Figure:
    """Metric against the first parameter, one line per combination of the others, with CI bands;
    the y axis in the metric's unit (durations in the unit that fits their range)."""
    x_param, others = sw.parameters[0], sw.parameters[1:]
    fig = Figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.add_subplot()
    groups = summary.groupby(others, sort=False) if others else [((), summary)]
    for key, sub in groups:
        x, unit = numeric(sub[x_param])
        order = np.argsort(x)
        y = sub[metric].to_numpy(dtype=float)[order]
        hw = np.nan_to_num(sub[f"{metric}_half_width"].to_numpy(dtype=float)[order])
        key = key if isinstance(key, tuple) else (key,)
        label = ", ".join(f"{p.split('.')[-1]} = {v}" for p, v in zip(others, key)) or None
        ax.plot(x[order], y, marker="o", label=label)
        ax.fill_between(x[order], y - hw, y + hw, alpha=0.2)
    _, unit = numeric(summary[x_param])
    kind = fmt.kind_of(metric)
    spread = np.nan_to_num(summary[f"{metric}_half_width"].to_numpy(dtype=float))
    scale = fmt.axis_unit(kind, summary[metric].to_numpy(dtype=float) + spread)
    ax.set_xlabel(f"{x_param}" + (f" ({unit.lstrip('/') and 'per ' + unit.lstrip('/')})" if unit else ""))
    ax.set_ylabel(fmt.label(metric, unit=True, currency=currency(sw), scale=scale))
    ax.yaxis.set_major_locator(fmt.axis_locator(kind, scale=scale))
    ax.yaxis.set_major_formatter(fmt.axis_formatter(kind, scale=scale))
    ax.set_title(f"{fmt.label(metric)} across {x_param.split('.')[-2] if '.' in x_param else x_param}")
    ax.grid(alpha=0.3)
    if others:
        ax.legend(frameon=False)
    return fig


def heatmap_figure(sw: Sweep, summary: pd.DataFrame, metric: str) -> Figure:
    """Metric over the first two parameters (means over any further ones), each cell written in the
    metric's unit."""
    p1, p2 = sw.parameters[0], sw.parameters[1]
    x, _ = numeric(summary[p1])
    y, _ = numeric(summary[p2])
    table = pd.DataFrame({"x": x, "y": y, "v": summary[metric].to_numpy(dtype=float)})
    grid = table.pivot_table(index="y", columns="x", values="v", aggfunc="mean")
    fig = Figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.add_subplot()
    im = ax.imshow(grid.to_numpy(), aspect="auto", origin="lower", cmap="viridis")
    ax.set_xticks(range(len(grid.columns)), [fmt.parameter(v) for v in grid.columns])
    ax.set_yticks(range(len(grid.index)), [fmt.parameter(v) for v in grid.index])
    ax.set_xlabel(p1)
    ax.set_ylabel(p2)
    kind, money = fmt.kind_of(metric), currency(sw)
    scale = fmt.axis_unit(kind, grid.to_numpy().ravel())
    for (i, j), v in np.ndenumerate(grid.to_numpy()):  # every cell in the colour bar's unit
        ax.text(j, i, fmt.value(v, kind, scale=scale), ha="center", va="center", fontsize=8, color="white")
    bar = fig.colorbar(im, ax=ax, label=fmt.label(metric, unit=True, currency=money, scale=scale))
    bar.ax.yaxis.set_major_locator(fmt.axis_locator(kind, scale=scale))
    bar.ax.yaxis.set_major_formatter(fmt.axis_formatter(kind, scale=scale))
    ax.set_title(fmt.label(metric))
    return fig


def write_outputs(folder: Path, sw: Sweep, results: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """results.parquet (cell × replication), cells.csv (per-cell means and CIs), figures/*.png,
    each written all or nothing (:mod:`servsim.atomic`; :class:`servsim.status.OutputError` when
    it cannot be written)."""
    ensure_dir(folder, inside=folder)
    write_bytes(folder / "results.parquet", results.to_parquet(index=False))
    summary = cell_summary(sw, results, level)
    write_text(folder / "cells.csv", summary.to_csv(index=False))
    figs = ensure_dir(folder / "figures", inside=folder)
    try:
        numeric(summary[sw.parameters[0]])
        if len(sw.parameters) >= 2:
            numeric(summary[sw.parameters[1]])
    except ValueError:
        return summary  # a parameter with non-numeric values: tables only, no axes to plot on
    for m in sw.spec.metrics:
        write_bytes(figs / f"line_{m}.png", png_bytes(line_figure(sw, summary, m)))
        if len(sw.parameters) >= 2:
            write_bytes(figs / f"heatmap_{m}.png", png_bytes(heatmap_figure(sw, summary, m)))
    return summary


def _parameter_header(path: str, taken: set[str]) -> str:
    """A parameter's column header: the last two parts of its path ("clerks agents" for
    ``pools.clerks.agents``, "agents" for ``pools.agents.agents``), more when that is ambiguous."""
    parts = path.split(".")
    heads = [parts[-1]] if len(parts) >= 2 and parts[-1] == parts[-2] else []
    heads += [" ".join(parts[-n:]) for n in range(min(2, len(parts)), len(parts) + 1)]
    return next((h for h in heads if h not in taken), path)


def render_sweep(console: Console, sw: Sweep, summary: pd.DataFrame, level: float = 0.95) -> None:
    """The terminal table of ``servsim sweep``: a row per cell, its parameter values, replications
    and each metric's mean ± CI half-width; metrics that do not fit the console go to further
    tables that repeat the parameters. Parameters are named by the end of their path and metrics
    by their short label, with a legend below."""
    money = currency(sw)
    taken: set[str] = set()
    params: list[Column] = []
    pairs: list[tuple[str, str]] = []
    for p in sw.parameters:
        head = _parameter_header(p, taken)
        taken.add(head)
        pairs.append((head, p))
        params.append(Column(escape(head), [escape(fmt.parameter(v)) for v in summary[p]], justify="left",
                             wrap=True, cap=14))
    n = Column("n", [fmt.value(v, "count") for v in summary["replications"]])
    metrics = []
    for m in sw.spec.metrics:
        kind = fmt.kind_of(m)
        cells = [fmt.estimate(v, hw, kind, money) for v, hw in zip(summary[m], summary[f"{m}_half_width"])]
        metrics.append(Column(escape(fmt.label(m, short=True)), cells))
        pairs.append((fmt.label(m, short=True), fmt.label(m)))
    title = f"{sw.spec.name} — mean ± {fmt.confidence(level)} CI half-width per cell"
    print_columns(console, title, [*params, n], metrics, notes=legend(pairs))
