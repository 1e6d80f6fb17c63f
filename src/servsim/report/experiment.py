"""Outputs of ``servsim compare``: files in the output folder and tables in the terminal."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from servsim import __version__
from servsim.atomic import ensure_dir, write_bytes, write_text
from servsim.experiments.compare import Comparison
from servsim.experiments.spec import Experiment
from servsim.report import figures, html
from servsim.report.tables import fmt, metric_kind, metric_label
from servsim.stats import Constraint


def meta(exp: Experiment, warmup: str = "") -> dict[str, str]:
    extra = {"warm-up check": warmup} if warmup else {}
    return {"experiment": exp.spec.name, "file": exp.file, "base scenario": exp.spec.base,
            "options": ", ".join(exp.options), "baseline": exp.baseline,
            "replications": str(exp.spec.replications), "seed": str(exp.spec.seed),
            "servsim": __version__, **extra}


def write_outputs(folder: Path, exp: Experiment, c: Comparison, level: float = 0.95) -> None:
    """results.parquet (one row per option × replication), summary.csv, differences.csv,
    figures/*.png and report.html (self-contained), each written all or nothing
    (:mod:`servsim.atomic`; :class:`servsim.status.OutputError` when it cannot be written)."""
    ensure_dir(folder, inside=folder)
    write_bytes(folder / "results.parquet", c.results.to_parquet(index=False))
    write_text(folder / "summary.csv", c.summary.to_csv(index=False))
    write_text(folder / "differences.csv", c.differences.to_csv(index=False))
    write_text(folder / "pareto.csv", c.pareto.to_csv(index=False))
    best = c.selection.best if c.selection is not None else None
    constraints = [Constraint(m, op, b) for m, op, b in exp.spec.objective.parsed_constraints()] \
        if exp.spec.objective is not None else []
    figs = {
        "comparison": figures.comparison_figure(c.summary, list(dict.fromkeys(exp.spec.metrics)), highlight=best,
                                                constraints=constraints),
        "pareto": figures.pareto_figure(c.pareto, *c.pareto_axes, highlight=best),
    }
    if len(c.differences):
        figs["differences"] = figures.differences_figure(c.differences)
    pngs = {name: figures.png_bytes(fig) for name, fig in figs.items()}
    ensure_dir(folder / "figures", inside=folder)
    for name, data in pngs.items():
        write_bytes(folder / "figures" / f"{name}.png", data)
    page = html.experiment_report(title=exp.spec.name, meta=meta(exp, c.warmup), summary=c.summary,
                                  differences=c.differences, selection=c.selection, pareto=c.pareto,
                                  figures=pngs, level=level)
    html.write_report(folder / "report.html", page)
    write_text(folder / "experiment.json", json.dumps(meta(exp), indent=2) + "\n")


def render_comparison(console: Console, exp: Experiment, c: Comparison, level: float) -> None:
    metrics = list(dict.fromkeys(exp.spec.metrics))
    t = Table(title=f"{escape(exp.spec.name)} — {exp.spec.replications} replications per option, "
                    f"mean ± {level:.0%} CI half-width", title_justify="left")
    t.add_column("option")
    for m in metrics:
        t.add_column(metric_label(m), justify="right")
    for option in exp.options:
        cells = []
        for m in metrics:
            row = c.summary[(c.summary["option"] == option) & (c.summary["metric"] == m)]
            cells.append(fmt(row["mean"].iloc[0], row["half_width"].iloc[0], metric_kind(m)) if len(row) else "")
        t.add_row(escape(option) + (" (baseline)" if option == exp.baseline else ""), *cells)
    console.print(t)
    if len(c.differences):
        d = Table(title=f"Difference from {escape(exp.baseline)} (paired, common random numbers; "
                        "Bonferroni-corrected; * = significant)", title_justify="left")
        d.add_column("option")
        for m in metrics:
            d.add_column(metric_label(m), justify="right")
        for option in exp.options:
            if option == exp.baseline:
                continue
            cells = []
            for m in metrics:
                row = c.differences[(c.differences["option"] == option) & (c.differences["metric"] == m)]
                if not len(row):
                    cells.append("")
                    continue
                r = row.iloc[0]
                cells.append(("+" if r["diff"] > 0 else "") + fmt(r["diff"], r["half_width"], metric_kind(m))
                             + (" *" if r["significant"] else ""))
            d.add_row(escape(option), *cells)
        console.print(d)
    if c.selection is not None:
        s = c.selection
        if s.best is None:
            console.print("[red]No option meets every constraint.[/]")
        else:
            sure = "[green]confidently[/]" if s.confident else "[yellow]not confidently[/]"
            console.print(f"Choice: [bold]{escape(s.best)}[/] ({sure}). {escape(s.method)}")
        for option, why in s.infeasible.items():
            console.print(f"  {escape(option)}: infeasible — {escape('; '.join(why))}")
    if c.warmup:
        console.print(f"Warm-up check: {escape(c.warmup)}")
    front = ", ".join(escape(o) for o in c.pareto.loc[c.pareto["pareto"], "option"])
    console.print(f"Pareto front ({metric_label(c.pareto_axes[0])} vs {metric_label(c.pareto_axes[1])}): {front}")
