"""Compare an experiment's options: means with CIs, paired differences, the choice, the Pareto front.

All of it is a function of the results table (one row per option × replication), so a researcher
can redo any step on the DataFrame.

Every comparison of a metric is read against that metric's indifference zone δ (the experiment's
``indifferent:`` or the default of its kind, :mod:`servsim.metrics.indifference`), resolved once
from the baseline's mean (:func:`indifference`): a difference is practically significant only
when its Bonferroni-corrected interval lies wholly beyond ±δ, and the choice is "confidently best"
only when it beats every other feasible option by more than δ (:func:`servsim.stats.select_best`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from servsim.experiments.spec import Experiment
from servsim.metrics.indifference import default_zone
from servsim.metrics.registry import resolve
from servsim.stats import Constraint, Selection, compare_to_baseline, mser, pareto_front, select_best, summarise
from servsim.units import format_duration

def warmup_check(exp: Experiment, intervals: pd.DataFrame) -> str:
    """A sentence on the warm-up: MSER (White 1997) on the baseline's mean wait per reporting interval,
    averaged over replications (each interval is already a batch mean, so batch size 1).

    Only meaningful for steady-state scenarios (constant arrival rate and staffing); for a day with
    an intraday profile the whole day is the object of study and nothing should be deleted.
    """
    s = exp.scenarios[exp.baseline]
    h = s.horizon
    steady = all(ch.arrivals.rate is not None for ch in s.channels.values()) and all(
        p.schedule is None and p.shifts is None for p in s.pools.values())
    if not steady:
        return ("not applied: the baseline has time-varying arrivals or staffing, so every interval is of "
                "interest and no warm-up is deleted")
    base = intervals[intervals["option"] == exp.baseline]
    if "channel" in base:  # all channels together: the one row per interval that covers them all
        base = base[base["channel"].astype(str) == ("all" if len(s.channels) > 1 else next(iter(s.channels)))]
    series = base.groupby("interval", sort=True)["mean_wait_s"].mean().fillna(0.0).to_numpy()
    if len(series) < 10:
        return f"not applied: {len(series)} reporting intervals are too few for MSER"
    m = mser(series, batch_size=1)
    suggested = m.truncation * h.interval
    verdict = ("the run may be too short to settle" if m.at_limit else
               "the configured warm-up covers it" if h.warmup >= suggested else
               "consider a longer warm-up")
    return (f"MSER on the baseline's mean wait per interval suggests deleting the first {m.truncation} "
            f"interval(s) ({format_duration(suggested)}); the scenario's warm-up is "
            f"{format_duration(h.warmup)}: {verdict}")


@dataclass(frozen=True)
class Comparison:
    results: pd.DataFrame
    summary: pd.DataFrame
    differences: pd.DataFrame
    selection: Selection | None
    pareto: pd.DataFrame
    pareto_axes: tuple[str, str]
    warmup: str = ""
    #: δ of each compared metric, in its unit (:func:`indifference`)
    indifference: dict[str, float] = field(default_factory=dict)
    #: the KPIs per option, replication, channel and reporting interval (None when not stored)
    intervals: pd.DataFrame | None = None


def pareto_axes(exp: Experiment) -> tuple[str, str]:
    """(cost-like x, wait-like y): cost when any pool has a price, else paid agent-hours; ASA."""
    priced = any(p.cost_per_hour > 0 for s in exp.scenarios.values() for p in s.pools.values())
    return ("cost" if priced else "paid_hours", "asa_s")


def indifference(exp: Experiment, results: pd.DataFrame) -> dict[str, float]:
    """δ of every compared metric, in its unit: the width of its zone given the baseline's mean
    across replications (so a relative zone such as "1% of the baseline mean" is one number for
    every comparison of that metric, in the differences and in the choice alike)."""
    base = results[results["option"] == exp.baseline]
    out = {}
    for m in exp.spec.compared:
        zone = exp.zones.get(m, default_zone(m))
        mean = float(base[m].mean()) if m in base and base[m].notna().any() else math.nan
        out[m] = zone.width(mean)
    return out


def compare(exp: Experiment, results: pd.DataFrame, level: float = 0.95,
            intervals: pd.DataFrame | None = None) -> Comparison:
    """Summaries, Bonferroni-corrected paired differences from the baseline, selection and Pareto
    front, each difference read against its metric's indifference zone."""
    metrics = list(dict.fromkeys(exp.spec.metrics))
    deltas = indifference(exp, results)
    summary = summarise(results, ["option"], metrics, level)
    diffs = [compare_to_baseline(results, "option", exp.baseline, m, level=level, indifference=deltas[m],
                                 better=_better(m)) for m in metrics]
    differences = pd.concat(diffs, ignore_index=True) if len(exp.options) > 1 else pd.DataFrame()
    selection = None
    if exp.spec.objective is not None:
        obj = exp.spec.objective
        constraints = [Constraint(m, op, bound) for m, op, bound in obj.parsed_constraints()]  # type: ignore[arg-type]
        selection = select_best(results, "option", obj.metric, minimize=obj.minimize is not None,
                                constraints=constraints, level=level, indifference=deltas[obj.metric])
    x, y = pareto_axes(exp)
    means = results.groupby("option", sort=False)[[x, y]].mean().reset_index()
    means["pareto"] = pareto_front(means, minimize=[x, y]).to_numpy()
    warmup = warmup_check(exp, intervals) if intervals is not None else ""
    return Comparison(results, summary, differences, selection, means, (x, y), warmup, deltas, intervals)


def _better(metric: str) -> str | None:
    entry = resolve(metric)
    return entry.better if entry is not None else None
