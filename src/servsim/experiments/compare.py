"""Compare an experiment's options: means with CIs, paired differences, the choice, the Pareto front.

All of it is a function of the results table (one row per option × replication), so a researcher
can redo any step on the DataFrame.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from servsim.experiments.spec import Experiment
from servsim.stats import Constraint, Selection, compare_to_baseline, pareto_front, select_best, summarise

#: Metrics that are better when higher (everything else is better lower) — for the Pareto front.
HIGHER_IS_BETTER = {"service_level", "answered", "handled"}


@dataclass(frozen=True)
class Comparison:
    results: pd.DataFrame
    summary: pd.DataFrame
    differences: pd.DataFrame
    selection: Selection | None
    pareto: pd.DataFrame
    pareto_axes: tuple[str, str]


def pareto_axes(exp: Experiment) -> tuple[str, str]:
    """(cost-like x, wait-like y): cost when any pool has a price, else paid agent-hours; ASA."""
    priced = any(p.cost_per_hour > 0 for s in exp.scenarios.values() for p in s.pools.values())
    return ("cost" if priced else "paid_hours", "asa_s")


def compare(exp: Experiment, results: pd.DataFrame, level: float = 0.95) -> Comparison:
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
    return Comparison(results, summary, differences, selection, means, (x, y))
