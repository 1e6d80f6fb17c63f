"""The report of ``servsim run --out DIR``: one self-contained HTML page and its PNG figures.

The page is rendered from a Jinja2 template (``templates/run.html.j2``, autoescaped) with inline
CSS and the figures embedded as ``data:`` URIs: no script, font or link leaves the file, so it opens
from a USB stick. The same run gives the same bytes (no clock, no random ids).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape

from servsim import __version__
from servsim.atomic import ensure_dir, write_bytes, write_text
from servsim.economics import service_level_goals, warmup_end_s
from servsim.report import day_figures
from servsim.report.day import missed_intervals
from servsim.report.figures import png_bytes
from servsim.report import format as fmt
from servsim.report.html import _CSS
from servsim.report.tables import kpi_rows
from servsim.report.theory_view import predictions
from servsim.results import Replications
from servsim.targets import TARGETS

_ENV = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                   autoescape=select_autoescape(default=True), keep_trailing_newline=True)
_EXTRA_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "DejaVu Sans", sans-serif; }
.status { padding: .4rem .7rem; border-radius: .3rem; background: #eef1f4; max-width: 60rem; }
.status.unstable { background: #fbe9e7; color: #a40e26; font-weight: 600; }
.status.held { background: #fff4d6; color: #7a5200; }
.lead { font-size: 1.05rem; max-width: 60rem; }
td.missed { color: #a40e26; font-weight: 600; }
td.uncertain { color: #9a6700; font-weight: 600; }
td.met { color: #1a7f37; font-weight: 600; }
"""


@dataclass(frozen=True)
class RunReport:
    """A rendered report: the HTML text and the figures (name → PNG bytes)."""

    html: str
    figures: dict[str, bytes]
    missed: pd.DataFrame


def _goals(scenario: Any) -> dict[str, float]:
    return service_level_goals(scenario) | {"all": float(scenario.targets.service_level.goal)}


def _missed_rows(missed: pd.DataFrame) -> list[dict[str, object]]:
    return [{"channel": r.channel, "interval": int(r.interval), "start_s": f"{r.start_s:g}", "time": r.time,
             "offered": fmt.value(r.offered, "count"),
             "service_level": fmt.estimate(r.service_level, r.half_width, "share"),
             "goal": fmt.value(r.goal, "share"), "verdict": r.verdict, "verdict_class": r.verdict}
            for r in missed.itertuples(index=False)]


def _missed_summary(scenario: Any, result: Replications, missed: pd.DataFrame) -> str:
    """One sentence: how many intervals miss the goal, against the daily figure."""
    iv = result.intervals
    goals = service_level_goals(scenario)
    judged = iv[iv["channel"].astype(str).isin(goals) & (iv["start_s"] >= warmup_end_s(scenario) - 1e-9)]
    n = judged.groupby(["channel", "interval"], observed=True).ngroups
    overall = result.summary
    overall = overall[(overall["channel"] == "all") & (overall["segment"] == "all")]["service_level"].mean()
    unit = _interval_name(scenario)
    if not len(missed):
        return (f"Every one of the {n} {unit}s after the warm-up meets its service-level goal on average "
                f"(overall service level {fmt.value(overall, 'share')}).")
    sure = int((missed["verdict"] == "missed").sum())
    return (f"{len(missed)} of {n} {unit}s after the warm-up are below their service-level goal on average "
            f"({sure} of them with the whole confidence interval below), while the overall service level "
            f"reads {fmt.value(overall, 'share')}.")


def _interval_name(scenario: Any) -> str:
    minutes = scenario.horizon.interval / 60.0
    return {30.0: "half-hour", 60.0: "hour", 15.0: "quarter-hour"}.get(minutes, f"{minutes:g}-minute interval")


def _target_rows(targets: pd.DataFrame) -> list[dict[str, object]]:
    rows = []
    for r in targets.itertuples(index=False):
        judged = int(r.n)
        label = fmt.label(TARGETS[r.target][0]) if r.target in TARGETS else str(r.target)
        rows.append({
            "channel": "overall" if r.channel == "all" else r.channel,
            "target": f"{label} {'≥' if r.op == '>=' else '≤'} {fmt.value(r.goal, 'share')}",
            "estimate": fmt.estimate(r.mean, r.half_width, "share"),
            "met_in": f"{round(r.share_met * judged)}/{judged}" if judged and not math.isnan(r.share_met) else "–",
            "missed": "" if math.isnan(r.intervals_missed) else f"{r.intervals_missed:,.1f}",
            "verdict": r.verdict, "verdict_class": r.verdict})
    return rows


def _status(result: Replications) -> tuple[str, str]:
    text = "; ".join([*result.stopped, result.load.describe()])
    cls = "unstable" if result.unstable else "held" if result.load.held else ""
    return text, cls


def run_report(scenario: Any, result: Replications, *, level: float = 0.95,
               meta: Mapping[str, object] | None = None) -> RunReport:
    """The report of one scenario's replications (module docstring)."""
    length = float(scenario.horizon.interval)
    figs = {
        "day": day_figures.day_figure(result.intervals, _goals(scenario), float(scenario.targets.abandonment_max),
                                      length, level),
        "pools": day_figures.pools_figure(result.pools, length, level,
                                          unlimited=[n for n, p in scenario.pools.items() if p.unlimited]),
    }
    pngs = {name: png_bytes(fig) for name, fig in figs.items()}
    missed = missed_intervals(scenario, result.intervals, level)
    theory = predictions(scenario)
    columns, rows = kpi_rows(result.kpi_table(level), theory[1] if theory else None,
                             currency=scenario.economics.currency)
    rows = [(fmt.label(name), cells) for name, cells in rows]
    if theory:
        columns = [*columns, f"theory: {theory[0]}"]
    status, status_class = _status(result)
    html = _ENV.get_template("run.html.j2").render(
        title=scenario.name, version=__version__, css=_CSS + _EXTRA_CSS,
        meta=list((meta or {}).items()), status=status, status_class=status_class,
        figures={k: base64.b64encode(v).decode("ascii") for k, v in pngs.items()},
        missed=_missed_rows(missed), missed_summary=_missed_summary(scenario, result, missed),
        kpi_columns=columns, kpi_rows=rows, targets=_target_rows(result.targets(level)),
        theory=(f"Theory: {theory[0]}, steady state." if theory else ""),
        level_text=f"{level:.0%}", replications=len(result.runs))
    return RunReport(html, pngs, missed)


def write_run_report(folder: Path, report: RunReport) -> None:
    """``report.html`` and ``figures/<name>.png`` in ``folder``, each written all or nothing."""
    ensure_dir(folder / "figures", inside=folder)
    for name, png in report.figures.items():
        write_bytes(folder / "figures" / f"{name}.png", png)
    write_text(folder / "report.html", report.html)
