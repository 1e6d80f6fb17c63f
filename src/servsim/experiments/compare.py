"""Compare an experiment's options: means with CIs, paired differences, the choice, the Pareto front.

All of it is a function of the results table (one row per option × replication), so a researcher
can redo any step on the DataFrame.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from servsim.experiments.spec import Experiment
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


def pareto_axes(exp: Experiment) -> tuple[str, str]:
    """(cost-like x, wait-like y): cost when any pool has a price, else paid agent-hours; ASA."""
    priced = any(p.cost_per_hour > 0 for s in exp.scenarios.values() for p in s.pools.values())
    return ("cost" if priced else "paid_hours", "asa_s")


def compare(exp: Experiment, results: pd.DataFrame, level: float = 0.95,
            intervals: pd.DataFrame | None = None) -> Comparison:
    """Summaries, Bonferroni-corrected paired differences from the baseline, selection and Pareto front."""
    metrics = list(dict.fromkeys(exp.spec.metrics))
    summary = summarise(results, ["option"], metrics, level)
    diffs = [compare_to_baseline(results, "option", exp.baseline, m, level=level) for m in metrics]
    differences = pd.concat(diffs, ignore_index=True) if len(exp.options) > 1 else pd.DataFrame()
    selection = None
    if exp.spec.objective is not None:
        obj = exp.spec.objective
        constraints = [Constraint(m, op, bound) for m, op, bound in obj.parsed_constraints()]  # type: ignore[arg-type]
        selection = select_best(results, "option", obj.metric, minimize=obj.minimize is not None,
                                constraints=constraints, level=level)
    x, y = pareto_axes(exp)
    means = results.groupby("option", sort=False)[[x, y]].mean().reset_index()
    means["pareto"] = pareto_front(means, minimize=[x, y]).to_numpy()
    warmup = warmup_check(exp, intervals) if intervals is not None else ""
    return Comparison(results, summary, differences, selection, means, (x, y), warmup)
