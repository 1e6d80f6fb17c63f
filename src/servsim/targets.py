"""Targets: whether a run meets the scenario's service-level goals and abandonment ceiling.

Two targets are judged, on every channel row of the summary (segment 'all') and on the overall row:

* ``service_level`` — the row's service level must be at least its goal: a channel's own
  ``service_level.goal`` when it sets one, else ``targets.service_level.goal``. The overall row of
  a scenario with several channels uses ``targets.service_level.goal``; with one channel the
  overall row *is* that channel (it is measured at the channel's threshold), so it uses the
  channel's goal.
* ``abandonment`` — the row's abandonment rate must be at most ``targets.abandonment_max``.

A row whose value is NaN (nothing measurable, e.g. no contact offered) is not judged.

Per replication (:func:`run_targets`), each check is met (1) or not (0); the run-level flags of
:func:`target_flags` — ``sl_met``, ``abandon_met``, ``targets_met`` (both) — are 1 when every
judged row meets its target, so a compare constraint can read "targets_met >= 0.9" as "in at least
90% of replications, every target was met". ``intervals_missed`` counts the per-channel reporting
intervals after the warm-up that offered work and missed the channel's own goal
(:func:`servsim.economics.intervals_missed`); the penalty ``per_interval_missing_target`` is charged
on that count.

Across replications (:func:`verdicts`), each target gets the mean and Student-t CI of its value and
a verdict: ``met`` when the whole CI is on the right side of the goal, ``missed`` when it is wholly
on the wrong side, ``uncertain`` when it straddles the goal (more replications would tell).
With one replication there is no CI, and the verdict is that of the one value. ``no data`` when no
replication measured the value.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from servsim.economics import intervals_missed, service_level_goals, warmup_end_s
from servsim.metrics.records import labels
from servsim.stats import t_interval

#: The targets judged, with the summary column each reads and the direction of the check.
TARGETS = {"service_level": ("service_level", ">="), "abandonment": ("abandon_rate", "<=")}
#: Columns of :func:`run_targets` and of :func:`verdicts`.
RUN_COLUMNS = ["channel", "target", "op", "goal", "value", "met", "intervals_missed"]
VERDICT_COLUMNS = ["channel", "target", "op", "goal", "mean", "half_width", "n", "share_met", "intervals_missed",
                   "verdict"]


def _meets(value: float, op: str, goal: float) -> float:
    """1.0 if ``value op goal`` holds, 0.0 if not, NaN for a NaN value."""
    if np.isnan(value):
        return float("nan")
    return float(value >= goal if op == ">=" else value <= goal)


def run_targets(scenario: Any, summary: pd.DataFrame, intervals: pd.DataFrame) -> pd.DataFrame:
    """One replication's targets: a row per (channel row of ``summary``, target), columns
    :data:`RUN_COLUMNS`. ``value`` is the row's KPI, ``met`` 1/0 (NaN when the value is NaN) and
    ``intervals_missed`` the reporting intervals missing the goal (service-level rows; the overall
    row sums the channels; NaN on abandonment rows)."""
    goals = service_level_goals(scenario)
    missed = intervals_missed(intervals, goals, warmup_end_s(scenario))
    rows = np.flatnonzero(labels(summary["segment"]) == "all")
    channels = labels(summary["channel"])[rows]
    values = {column: summary[column].to_numpy(dtype=float)[rows] for column, _ in TARGETS.values()}
    lone = next(iter(goals)) if len(goals) == 1 else None
    out = []
    for i, channel in enumerate(channels):
        if channel in goals:
            sl_goal, n_missed = goals[channel], missed.get(channel, 0)
        else:  # the overall row
            sl_goal = goals[lone] if lone is not None else float(scenario.targets.service_level.goal)
            n_missed = sum(missed.values())
        for target, (column, op) in TARGETS.items():
            goal = sl_goal if target == "service_level" else float(scenario.targets.abandonment_max)
            value = float(values[column][i])
            out.append({"channel": str(channel), "target": target, "op": op, "goal": goal, "value": value,
                        "met": _meets(value, op, goal),
                        "intervals_missed": float(n_missed) if target == "service_level" else float("nan")})
    return pd.DataFrame(out, columns=RUN_COLUMNS)


def _all_met(met: np.ndarray) -> float:
    """1.0 if every judged check is met, 0.0 if one is not, NaN if none was judged."""
    judged = met[~np.isnan(met)]
    return float(judged.all()) if len(judged) else float("nan")


def target_flags(targets: pd.DataFrame) -> dict[str, float]:
    """Run-level experiment metrics from one replication's :func:`run_targets`: ``sl_met``,
    ``abandon_met``, ``targets_met`` (1 when every judged row meets it, 0 if one misses, NaN if
    nothing was judged) and ``intervals_missed`` (all channels)."""
    target = targets["target"].to_numpy()
    met = targets["met"].to_numpy(dtype=float)
    sl = target == "service_level"
    overall = sl & (targets["channel"].to_numpy() == "all")  # it sums the channels
    missed = targets["intervals_missed"].to_numpy(dtype=float)
    n_missed = missed[overall][0] if overall.any() else missed[sl].sum()
    return {"sl_met": _all_met(met[sl]), "abandon_met": _all_met(met[target == "abandonment"]),
            "targets_met": _all_met(met), "intervals_missed": float(n_missed)}


def verdict(mean: float, half_width: float, op: str, goal: float) -> str:
    """``met``, ``missed`` or ``uncertain`` (the CI straddles the goal); with no CI (one
    replication) the verdict of the mean; ``no data`` for a NaN mean. A value equal to the goal meets it."""
    if np.isnan(mean):
        return "no data"
    hw = 0.0 if np.isnan(half_width) else half_width
    low, high = mean - hw, mean + hw
    ok_low, ok_high = (low >= goal, high >= goal) if op == ">=" else (high <= goal, low <= goal)
    if ok_low:
        return "met"
    return "uncertain" if ok_high else "missed"


def verdicts(per_run: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Targets across replications, from the stacked :func:`run_targets` tables (with a
    ``replication`` column): columns :data:`VERDICT_COLUMNS`, one row per (channel, target) in
    first-seen order. ``mean``/``half_width``: mean and t-CI of the value; ``share_met``: share of
    the judged replications meeting it; ``intervals_missed``: mean per replication."""
    out = []
    for (channel, target), g in per_run.groupby(["channel", "target"], sort=False):
        ci = t_interval(g["value"].to_numpy(dtype=float), level)
        op, goal = str(g["op"].iloc[0]), float(g["goal"].iloc[0])
        met = g["met"].dropna()
        out.append({"channel": channel, "target": target, "op": op, "goal": goal, "mean": ci.mean,
                    "half_width": ci.half_width, "n": ci.n,
                    "share_met": float(met.mean()) if len(met) else float("nan"),
                    "intervals_missed": float(g["intervals_missed"].mean()),
                    "verdict": verdict(ci.mean, ci.half_width, op, goal)})
    return pd.DataFrame(out, columns=VERDICT_COLUMNS)
