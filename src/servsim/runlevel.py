"""Run-level experiment metrics: the numbers of one replication that are not a summary column.

Each is one value per replication, so compare and sweep give it a mean and a CI like any KPI, and
a constraint can use it:

* ``paid_hours`` — people's paid hours: Σ over **agents** pools of paid_s / 3600 after the warm-up
  (time on shift, plus time finishing a contact after it). Bots and vendors are not people and
  are not in it;
* ``overtime_hours`` — the part of ``paid_hours`` beyond the scheduled headcount (``overtime_s``):
  agents finishing contacts after their shift, and drains at closing time (``horizon.closing``);
* ``bot_hours`` — Σ over bots pools of paid_s / 3600: bot-hours available (licensed capacity on
  shift), busy or not;
* ``vendor_hours`` — Σ over vendor pools of busy_s / 3600: hours the vendor spent handling work
  (what is bought; a vendor's idle capacity is not paid by the hour);
* ``cost`` — the overall row's ``total_cost`` (staff + vendor + bot + penalty cost);
* ``occupancy_<pool>`` — that pool's occupancy (busy / paid, NaN for an unlimited pool);
* ``sl_met``, ``abandon_met``, ``targets_met`` (1/0) and ``intervals_missed`` — see
  :mod:`servsim.targets`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from servsim.metrics.records import labels
from servsim.targets import run_targets, target_flags

HOUR_S = 3600.0


def run_metrics(scenario: Any, summary: pd.DataFrame, pool_summary: pd.DataFrame,
                intervals: pd.DataFrame) -> dict[str, float]:
    """The metrics of the module docstring for one replication's tables (declared in
    :mod:`servsim.metrics.registry`), ``occupancy_<pool>`` last, in pool order."""
    kinds = {str(name): getattr(pool, "kind", "agents") for name, pool in scenario.pools.items()}
    overall = np.flatnonzero((labels(summary["channel"]) == "all") & (labels(summary["segment"]) == "all"))[0]
    pool = labels(pool_summary["pool"])
    kind = np.array([kinds.get(name, "agents") for name in pool], dtype=object)

    def hours(which: str, column: str) -> float:
        return float(pool_summary[column].to_numpy(dtype=float)[kind == which].sum() / HOUR_S)

    out: dict[str, float] = {
        "cost": float(summary["total_cost"].to_numpy(dtype=float)[overall]),
        "paid_hours": hours("agents", "paid_s"),
        "overtime_hours": hours("agents", "overtime_s") if "overtime_s" in pool_summary else 0.0,
        "bot_hours": hours("bots", "paid_s"),
        "vendor_hours": hours("vendor", "busy_s"),
        **target_flags(run_targets(scenario, summary, intervals)),
    }
    for name, occ in zip(pool, pool_summary["occupancy"].to_numpy(dtype=float)):
        out[f"occupancy_{name}"] = float(occ)
    return out
