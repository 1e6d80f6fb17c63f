"""Outputs of ``servsim sweep``: the per-cell summary with CIs, the files in the output folder and
the terminal table. Numbers and labels come from :mod:`servsim.report.format`; the figures are
drawn by :mod:`servsim.report.sweep_figures` (imported only when figures are asked for: matplotlib
is the slowest import a sweep would pay)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.markup import escape

from servsim.atomic import ensure_dir, refuse_link, remove_file, write_bytes, write_text
from servsim.experiments.sweep import Sweep
from servsim.report import format as fmt
from servsim.report.sweep_labels import currency
from servsim.report.tables import Column, legend, print_columns
from servsim.stats import t_interval

#: Figure files a sweep writes (globs under ``figures/``): removed when a run writes none.
FIGURE_FILES = ("line_*.png", "heatmap_*.png", "scatter_*.png")


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


def write_outputs(folder: Path, sw: Sweep, results: pd.DataFrame, level: float = 0.95,
                  figures: bool = True) -> pd.DataFrame:
    """results.parquet (cell × replication), cells.csv (per-cell means and CIs) and, unless
    ``figures`` is false, figures/*.png (:func:`servsim.report.sweep_figures.write_figures`; without
    them, figures an earlier run left are removed, so none is stale), each written all or nothing
    (:mod:`servsim.atomic`; :class:`servsim.status.OutputError` when it cannot be written)."""
    ensure_dir(folder, inside=folder)
    write_bytes(folder / "results.parquet", results.to_parquet(index=False))
    summary = cell_summary(sw, results, level)
    write_text(folder / "cells.csv", summary.to_csv(index=False))
    if figures:
        from servsim.report.sweep_figures import write_figures

        write_figures(folder, sw, summary)
    else:
        refuse_link(folder / "figures")  # never remove anything through a link
        for pattern in FIGURE_FILES:
            for path in sorted((folder / "figures").glob(pattern)):
                remove_file(path)
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
