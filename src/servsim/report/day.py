"""The day interval by interval: per-interval KPIs with confidence intervals, and the intervals that
miss their goal.

A daily service level of 81% can hide ten half-hours below 80%: what a planner staffs is the
intervals. Every replication gives one value per (channel, reporting interval) row of the
``intervals`` table; across replications each gets its mean and Student-t confidence interval
(x̄ ± t_{1−α/2, n−1} s/√n, NaNs dropped, no interval with fewer than two values; Law 2015, §9.4.1),
computed for all rows at once. A replication in which nobody arrived in an interval has no row
there, so ``n`` can be smaller than the number of replications.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from servsim.economics import service_level_goals, warmup_end_s
from servsim.metrics.registry import DAY_VIEW
from servsim.targets import verdict
from servsim.units import DAY

#: The KPIs of the day view, in the order the figures show them.
DAY_METRICS = list(DAY_VIEW)
#: The columns that name an ``intervals`` row.
KEYS = ["channel", "interval", "start_s"]


def interval_estimates(intervals: pd.DataFrame, metrics: Sequence[str], level: float = 0.95) -> pd.DataFrame:
    """Per (channel, interval): for each metric its ``<metric>`` mean, ``<metric>_half_width`` and
    ``<metric>_n`` across the replications of a stacked ``intervals`` table (wide, one row per
    channel and interval, in the table's order)."""
    from scipy.special import stdtrit  # imported on first use: ``import servsim`` does without scipy

    groups = intervals.groupby(KEYS, observed=True, sort=False)
    out = groups.size().rename("rows").reset_index()[KEYS]
    for m in metrics:
        agg = groups[m].agg(["mean", "std", "count"]).reset_index(drop=True)
        n = agg["count"].to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            t = stdtrit(np.where(n > 1, n - 1, 1), 0.5 + level / 2)  # Student-t quantile
            hw = np.where(n > 1, t * agg["std"].to_numpy(dtype=float) / np.sqrt(np.maximum(n, 1)), np.nan)
        out[m] = agg["mean"].to_numpy(dtype=float)
        out[f"{m}_half_width"] = hw
        out[f"{m}_n"] = n.astype(np.int64)
    return out


def clock(start_s: float, length_s: float) -> str:
    """An interval as people name it: "10:30–11:00" (with "day 2 " in front after the first day)."""
    day, tod = divmod(float(start_s), DAY)
    end = tod + length_s

    def hm(t: float) -> str:
        m = int(round(t / 60.0))
        return f"{m // 60:02d}:{m % 60:02d}"

    return ("" if day == 0 else f"day {int(day) + 1} ") + f"{hm(tod)}–{hm(end)}"


def missed_intervals(scenario: Any, intervals: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """The reporting intervals after the warm-up whose mean service level across replications is
    below their channel's goal (its own ``service_level.goal``, else the target's), in time order
    per channel: ``channel, interval, start_s, time, offered, service_level, half_width, goal,
    verdict`` (``missed`` when the whole CI is below the goal, else ``uncertain``). Rows over
    several channels ('all') are not judged, as in :func:`servsim.economics.intervals_missed`."""
    goals = service_level_goals(scenario)
    est = interval_estimates(intervals, ["offered", "service_level"], level)
    est = est[est["channel"].astype(str).isin(goals)]
    est = est[est["start_s"].to_numpy(dtype=float) >= warmup_end_s(scenario) - 1e-9]
    goal = est["channel"].astype(str).map(goals).to_numpy(dtype=float)
    sl = est["service_level"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        below = sl < goal
    est, goal = est[below], goal[below]
    length = float(scenario.horizon.interval)
    out = pd.DataFrame({
        "channel": est["channel"].astype(str).to_numpy(), "interval": est["interval"].to_numpy(),
        "start_s": est["start_s"].to_numpy(), "time": [clock(t, length) for t in est["start_s"]],
        "offered": est["offered"].to_numpy(), "service_level": est["service_level"].to_numpy(),
        "half_width": est["service_level_half_width"].to_numpy(), "goal": goal,
        "verdict": [verdict(m, h, ">=", g) for m, h, g in
                    zip(est["service_level"], est["service_level_half_width"], goal)],
    })
    order = {name: i for i, name in enumerate(goals)}
    return out.assign(_o=out["channel"].map(order)).sort_values(["_o", "start_s"], kind="stable") \
        .drop(columns="_o").reset_index(drop=True)
