"""Run-level experiment metrics: the numbers of one replication that are not a summary column.

Each is one value per replication, so compare and sweep give it a mean and a CI like any KPI, and
a constraint can use it:

* ``paid_hours`` — people's paid hours: Σ over **agents** pools of paid_s / 3600 after the warm-up
  (time on shift, plus time finishing a contact after it). Bots and vendors are not people and
  are not in it;
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

import pandas as pd

from servsim.targets import run_targets, target_flags

HOUR_S = 3600.0


def _hours(pool_summary: pd.DataFrame, kinds: dict[str, str], kind: str, column: str) -> float:
    mine = pool_summary["pool"].astype(str).map(kinds) == kind
    return float(pool_summary.loc[mine, column].sum() / HOUR_S)


def run_metrics(scenario: Any, summary: pd.DataFrame, pool_summary: pd.DataFrame,
                intervals: pd.DataFrame) -> dict[str, float]:
    """The metrics of the module docstring for one replication's tables (declared in
    :mod:`servsim.metrics.registry`), ``occupancy_<pool>`` last, in pool order."""
    kinds = {str(name): getattr(pool, "kind", "agents") for name, pool in scenario.pools.items()}
    overall = summary[(summary["channel"] == "all") & (summary["segment"] == "all")].iloc[0]
    out: dict[str, float] = {
        "cost": float(overall["total_cost"]),
        "paid_hours": _hours(pool_summary, kinds, "agents", "paid_s"),
        "bot_hours": _hours(pool_summary, kinds, "bots", "paid_s"),
        "vendor_hours": _hours(pool_summary, kinds, "vendor", "busy_s"),
        **target_flags(run_targets(scenario, summary, intervals)),
    }
    for pool, occ in pool_summary.set_index("pool")["occupancy"].items():
        out[f"occupancy_{pool}"] = float(occ)
    return out
