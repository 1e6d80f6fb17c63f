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
from servsim.economics import service_level_goals
from servsim.metrics.indifference import default_zone
from servsim.report import day_figures, figures, html
from servsim.report.tables import fmt, metric_kind, metric_label
from servsim.stats import Constraint, Selection


def meta(exp: Experiment, warmup: str = "") -> dict[str, str]:
    extra = {"warm-up check": warmup} if warmup else {}
    return {"experiment": exp.spec.name, "file": exp.file, "base scenario": exp.spec.base,
            "options": ", ".join(exp.options), "baseline": exp.baseline,
            "replications": str(exp.spec.replications), "seed": str(exp.spec.seed),
            "servsim": __version__, **extra}


def report_figures(exp: Experiment, c: Comparison, level: float = 0.95) -> dict[str, bytes]:
    """The report's figures as PNG bytes, by name (``comparison``, ``pareto``, ``differences``,
    ``day``)."""
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
    if c.intervals is not None and len(c.intervals) and "channel" in c.intervals:
        base = exp.scenarios[exp.baseline]
        goals = service_level_goals(base) | {"all": float(base.targets.service_level.goal)}
        figs["day"] = day_figures.options_day_figure(c.intervals, exp.baseline, goals,
                                                     float(base.targets.abandonment_max), level)
    return {name: figures.png_bytes(fig) for name, fig in figs.items()}


def report_page(exp: Experiment, c: Comparison, level: float = 0.95,
                pngs: dict[str, bytes] | None = None) -> str:
    """The self-contained report.html page (``pngs``: :func:`report_figures`, made if not given)."""
    return html.experiment_report(title=exp.spec.name, meta=meta(exp, c.warmup), summary=c.summary,
                                  differences=c.differences, selection=c.selection, pareto=c.pareto,
                                  figures=report_figures(exp, c, level) if pngs is None else pngs, level=level,
                                  zones=zone_rules(exp))


def write_outputs(folder: Path, exp: Experiment, c: Comparison, level: float = 0.95) -> None:
    """results.parquet (one row per option × replication), summary.csv, differences.csv,
    figures/*.png and report.html (self-contained), each written all or nothing
    (:mod:`servsim.atomic`; :class:`servsim.status.OutputError` when it cannot be written)."""
    ensure_dir(folder, inside=folder)
    write_bytes(folder / "results.parquet", c.results.to_parquet(index=False))
    write_text(folder / "summary.csv", c.summary.to_csv(index=False))
    write_text(folder / "differences.csv", c.differences.to_csv(index=False))
    write_text(folder / "pareto.csv", c.pareto.to_csv(index=False))
    pngs = report_figures(exp, c, level)
    ensure_dir(folder / "figures", inside=folder)
    for name, data in pngs.items():
        write_bytes(folder / "figures" / f"{name}.png", data)
    html.write_report(folder / "report.html", report_page(exp, c, level, pngs))
    write_text(folder / "experiment.json", json.dumps(meta(exp), indent=2) + "\n")


def zone_rules(exp: Experiment) -> dict[str, str]:
    """Each compared metric's indifference zone in words, and whether the file set it or it is the
    default of the metric's kind: ``{"asa_s": "20s (set in the file)"}``."""
    out = {}
    for m in exp.spec.compared:
        zone = exp.zones.get(m, default_zone(m))
        origin = "set in the file" if m in exp.spec.indifferent else "default"
        out[m] = f"{zone.describe(metric_kind(m))} ({origin})"  # type: ignore[arg-type]
    return out


#: Terminal marks of :func:`servsim.stats.practical_verdict`.
VERDICT_MARKS = {"better": "✓", "worse": "✗", "higher": "↑", "lower": "↓", "equivalent": "≈", "inconclusive": "?"}


def _legend(used: set[str]) -> str:
    """The marks of the differences table that occur in it, in words."""
    beyond = [f"{VERDICT_MARKS[v]} {v}" for v in ("better", "worse", "higher", "lower") if v in used]
    parts = [", ".join(beyond) + " by more than the zone"] if beyond else []
    if "equivalent" in used:
        parts.append("≈ practically equivalent (inside ±zone)")
    if "inconclusive" in used:
        parts.append("? inconclusive")
    return ("zone: the indifference zone, the smallest difference that matters; " + "; ".join(parts)
            + " — each verdict reads the whole interval (Kim & Nelson 2006; equivalence: Schuirmann 1987).")


def _zone_cell(delta: float, kind: str) -> str:
    return "none" if not delta else "±" + html.format_value(delta, kind)


def _choice_words(s: Selection, zone: str) -> str:
    """How sure the choice is, for the terminal: confidently best, within the zone, or neither."""
    if len(s.feasible) == 1:
        return "[green]the only feasible option[/]"
    if not s.indifference:
        return "[green]confidently[/]" if s.confident else "[yellow]not confidently[/]"
    if s.confident:
        return f"[green]confidently best[/], by more than its indifference zone {zone}"
    if s.within_zone:
        return f"[cyan]not confidently best, but within the indifference zone of the best[/], {zone}"
    return f"[yellow]not confidently best[/]: another option may be better by more than {zone}"


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
                        "Bonferroni-corrected) against each metric's indifference zone", title_justify="left")
        d.add_column("option")
        for m in metrics:
            d.add_column(metric_label(m), justify="right")
        used: set[str] = set()
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
                used.add(r["practical"])
                cells.append(("+" if r["diff"] > 0 else "") + fmt(r["diff"], r["half_width"], metric_kind(m))
                             + " " + VERDICT_MARKS[r["practical"]])
            d.add_row(escape(option), *cells)
        d.add_section()
        d.add_row("zone", *[_zone_cell(c.indifference.get(m, 0.0), metric_kind(m)) for m in metrics])
        console.print(d)
        console.print(escape(_legend(used)), highlight=False)
    if c.selection is not None:
        s = c.selection
        if s.best is None:
            console.print("[red]No option meets every constraint.[/]")
        else:
            zone = _zone_cell(s.indifference, metric_kind(exp.spec.objective.metric)) if exp.spec.objective else ""
            console.print(f"Choice: [bold]{escape(s.best)}[/] ({_choice_words(s, zone)}). {escape(s.method)}")
        for option, why in s.infeasible.items():
            console.print(f"  {escape(option)}: infeasible — {escape('; '.join(why))}")
    if c.warmup:
        console.print(f"Warm-up check: {escape(c.warmup)}")
    front = ", ".join(escape(o) for o in c.pareto.loc[c.pareto["pareto"], "option"])
    console.print(f"Pareto front ({metric_label(c.pareto_axes[0])} vs {metric_label(c.pareto_axes[1])}): {front}")
