"""Outputs of ``servsim compare``: files in the output folder and tables in the terminal."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.markup import escape

from servsim import __version__
from servsim.atomic import ensure_dir, refuse_link, remove_file, write_bytes, write_text
from servsim.experiments.compare import Comparison
from servsim.experiments.spec import Experiment
from servsim.economics import service_level_goals
from servsim.metrics.indifference import default_zone
from servsim.report import html
from servsim.report import format as fmt
from servsim.report.tables import Column, legend, print_columns, split
from servsim.stats import Constraint, Selection


def meta(exp: Experiment, warmup: str = "") -> dict[str, str]:
    extra = {"warm-up check": warmup} if warmup else {}
    return {"experiment": exp.spec.name, "file": exp.file, "base scenario": exp.spec.base,
            "options": ", ".join(exp.options), "baseline": exp.baseline,
            "replications": str(exp.spec.replications), "seed": str(exp.spec.seed),
            "servsim": __version__, **extra}


def currency(exp: Experiment) -> str:
    """The currency money is shown in: the baseline scenario's ``economics.currency``."""
    return exp.scenarios[exp.baseline].economics.currency


def report_figures(exp: Experiment, c: Comparison, level: float = 0.95) -> dict[str, bytes]:
    """The report's figures as PNG bytes, by name (``comparison``, ``pareto``, ``differences``,
    ``day``)."""
    from servsim.report import day_figures, figures  # matplotlib: imported only when drawing

    best = c.selection.best if c.selection is not None else None
    constraints = [Constraint(m, op, b) for m, op, b in exp.spec.objective.parsed_constraints()] \
        if exp.spec.objective is not None else []
    money = currency(exp)
    figs = {
        "comparison": figures.comparison_figure(c.summary, list(dict.fromkeys(exp.spec.metrics)), highlight=best,
                                                constraints=constraints, currency=money),
        "pareto": figures.pareto_figure(c.pareto, *c.pareto_axes, highlight=best, currency=money),
    }
    if len(c.differences):
        figs["differences"] = figures.differences_figure(c.differences, currency=money)
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
                                  currency=currency(exp), zones=zone_rules(exp))


#: Files of the report (under the output folder): removed when a run writes none, so none is stale.
REPORT_FILES = ("report.html", "figures/comparison.png", "figures/pareto.png", "figures/differences.png",
                "figures/day.png")


def write_outputs(folder: Path, exp: Experiment, c: Comparison, level: float = 0.95, figures: bool = True) -> None:
    """results.parquet (one row per option × replication), summary.csv, differences.csv,
    pareto.csv, experiment.json and, unless ``figures`` is false, figures/*.png and report.html
    (self-contained; without them, the ones an earlier run left are removed), each written all or
    nothing (:mod:`servsim.atomic`; :class:`servsim.status.OutputError` when it cannot be written)."""
    ensure_dir(folder, inside=folder)
    write_bytes(folder / "results.parquet", c.results.to_parquet(index=False))
    write_text(folder / "summary.csv", c.summary.to_csv(index=False))
    write_text(folder / "differences.csv", c.differences.to_csv(index=False))
    write_text(folder / "pareto.csv", c.pareto.to_csv(index=False))
    if figures:
        pngs = report_figures(exp, c, level)
        ensure_dir(folder / "figures", inside=folder)
        for name, data in pngs.items():
            write_bytes(folder / "figures" / f"{name}.png", data)
        html.write_report(folder / "report.html", report_page(exp, c, level, pngs))
    else:
        refuse_link(folder / "figures")  # never remove anything through a link
        for name in REPORT_FILES:
            remove_file(folder / name)
    write_text(folder / "experiment.json", json.dumps(meta(exp), indent=2) + "\n")


def zone_rules(exp: Experiment) -> dict[str, str]:
    """Each compared metric's indifference zone in words, and whether the file set it or it is the
    default of the metric's kind: ``{"asa_s": "20s (set in the file)"}``."""
    out = {}
    for m in exp.spec.compared:
        zone = exp.zones.get(m, default_zone(m))
        origin = "set in the file" if m in exp.spec.indifferent else "default"
        out[m] = f"{zone.describe(fmt.kind_of(m))} ({origin})"  # type: ignore[arg-type]
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


def _zone_cell(delta: float, kind: str, money: str | None = None) -> str:
    return "none" if not delta else "±" + fmt.difference(float(delta), kind, money).lstrip("+")


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


def _difference_cell(row: pd.Series | None, better: str | None, money: str) -> str:
    """A difference with its half-width and its verdict against the indifference zone
    (:data:`VERDICT_MARKS`): green when better beyond the zone, red when worse beyond it."""
    if row is None:
        return ""
    text = fmt.difference(row["diff"], fmt.kind_of(str(row["metric"])), money, half_width=row["half_width"])
    practical = str(row.get("practical", "inconclusive"))
    if practical in ("higher", "lower") and better is not None:
        practical = "better" if practical == better else "worse"
    mark = VERDICT_MARKS.get(practical, "?")
    style = {"better": "green", "worse": "red"}.get(practical)
    return f"[{style}]{text} {mark}[/]" if style else f"{text} {mark}"


def render_comparison(console: Console, exp: Experiment, c: Comparison, level: float) -> None:
    """The terminal view of ``servsim compare``: each option's mean ± CI and its paired difference
    from the baseline per metric, then the choice, infeasible options, warm-up and Pareto front.

    Options by row and metrics by column when that fits the console; otherwise (most 80-column
    terminals) one block of rows per metric, option by option, with the difference beside the mean."""
    metrics = list(dict.fromkeys(exp.spec.metrics))
    money = currency(exp)
    means = {(str(r.option), str(r.metric)): fmt.estimate(r.mean, r.half_width, fmt.kind_of(str(r.metric)), money)
             for r in c.summary.itertuples()}
    diffs = {(str(r["option"]), str(r["metric"])): r for _, r in c.differences.iterrows()}
    lvl = fmt.confidence(level)
    title = f"{exp.spec.name} — {exp.spec.replications} replications per option, mean ± {lvl} CI half-width"
    used = {str(v) for v in c.differences.get("practical", pd.Series(dtype=str))}
    zones = ", ".join(f"{fmt.label(m, short=True)} {_zone_cell(c.indifference.get(m, 0.0), fmt.kind_of(m), money)}"
                      for m in metrics)
    note = (f"difference: option − {exp.baseline}, paired over common random numbers, Bonferroni-corrected {lvl} "
            f"interval, read against each metric's zone ({zones}). " + _legend(used))
    if not _render_wide(console, exp, metrics, means, diffs, money, title, note):
        _render_blocks(console, exp, metrics, means, diffs, money, title, note)
    _render_choice(console, exp, c, money)
    if c.warmup:
        console.print(f"Warm-up check: {escape(c.warmup)}")
    front = ", ".join(escape(o) for o in c.pareto.loc[c.pareto["pareto"], "option"])
    x, y = c.pareto_axes
    console.print(f"Pareto front ({escape(fmt.label(x))} against {escape(fmt.label(y))}): {front}", highlight=False)


def _render_wide(console: Console, exp: Experiment, metrics: list[str], means: dict[tuple[str, str], str],
                 diffs: dict[tuple[str, str], pd.Series], money: str, title: str, note: str) -> bool:
    """Options by row, metrics by column (two tables: means, differences) if both fit the console
    unsplit; False (nothing printed) otherwise."""
    others = [o for o in exp.options if o != exp.baseline]
    names = [escape(o) + (" [dim](baseline)[/]" if o == exp.baseline else "") for o in exp.options]
    option = Column("option", names, justify="left", wrap=True, cap=20)
    summary = [Column(escape(fmt.label(m, short=True)), [means.get((o, m), "") for o in exp.options])
               for m in metrics]
    option_d = Column("option", [escape(o) for o in others], justify="left", wrap=True, cap=20)
    better = {m: fmt.info(m).better for m in metrics}
    differences = [Column(escape(fmt.label(m, short=True)), [_difference_cell(diffs.get((o, m)), better[m], money)
                                                             for o in others]) for m in metrics]
    width = console.width
    if len(split([option], summary, width)) > 1 or (others and len(split([option_d], differences, width)) > 1):
        return False
    shortened = [(fmt.label(m, short=True), fmt.label(m)) for m in metrics]
    print_columns(console, title, [option], summary)
    if others:
        print_columns(console, f"Difference from {exp.baseline}", [option_d], differences,
                      notes=[note, *legend(shortened)])
    return True


def _render_blocks(console: Console, exp: Experiment, metrics: list[str], means: dict[tuple[str, str], str],
                   diffs: dict[tuple[str, str], pd.Series], money: str, title: str, note: str) -> None:
    """One block of rows per metric: each option's mean ± CI and its difference from the baseline."""
    metric_cells, option_cells, mean_cells, diff_cells, sections = [], [], [], [], []
    shortened = []
    for m in metrics:
        info = fmt.info(m)
        for i, o in enumerate(exp.options):
            if i == 0:
                metric_cells.append(escape(info.short))
            elif i == 1 and info.better:
                metric_cells.append(f"[dim]{info.better} is better[/]")
            else:
                metric_cells.append("")
            option_cells.append(escape(o))
            mean_cells.append(means.get((o, m), ""))
            diff_cells.append("[dim]baseline[/]" if o == exp.baseline else _difference_cell(diffs.get((o, m)),
                                                                                             info.better, money))
        sections.append(len(metric_cells) - 1)
        shortened.append((info.short, info.label))
    cols = [Column("metric", metric_cells, justify="left", wrap=True, cap=18),
            Column("option", option_cells, justify="left", wrap=True, cap=22),
            Column("mean ± CI", mean_cells), Column(f"difference from {escape(exp.baseline)}", diff_cells)]
    print_columns(console, title, cols, [], sections=sections[:-1], notes=[note, *legend(shortened)])


def _render_choice(console: Console, exp: Experiment, c: Comparison, money: str) -> None:
    """The chosen option (or that none is feasible) and why each infeasible option is."""
    if c.selection is None:
        return
    s = c.selection
    if s.best is None:
        console.print("[red]No option meets every constraint.[/]")
    else:
        kind = fmt.kind_of(exp.spec.objective.metric) if exp.spec.objective is not None else "count"
        zone = _zone_cell(s.indifference, kind, money)
        console.print(f"Choice: [bold]{escape(s.best)}[/] ({_choice_words(s, zone)}). {escape(s.method)}")
    for option, why in html.infeasible_reasons(s, money).items():
        console.print(f"  {escape(option)}: infeasible — {escape('; '.join(why))}", highlight=False)
