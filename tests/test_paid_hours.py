"""Experiment metric ``paid_hours`` is people's paid hours: bots and vendors are reported apart."""

from __future__ import annotations

import numpy as np
import pytest

from servsim.experiments.runner import Task, run_task
from servsim.experiments.store import TaskKey
from servsim.scenario import load_scenario
from conftest import ROOT


def _row_and_pools(name: str):
    s = load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    _, tables = run_task(Task(TaskKey("base", 0, 0), s, np.random.SeedSequence(7)))
    from servsim.api import simulate

    pools = simulate(s, np.random.SeedSequence(7), replication=0).pool_summary.set_index("pool")
    return s, tables["results"].iloc[0], pools


def test_paid_hours_are_people_hours():
    # claims_rpa: 12 clerks and 3 bots working day and night; the bots' 318 h are not agent-hours
    s, row, pools = _row_and_pools("claims_rpa")
    clerks = pools.loc["clerks", "paid_s"] / 3600
    assert row["paid_hours"] == pytest.approx(clerks, rel=1e-12)
    assert row["bot_hours"] == pytest.approx(pools.loc["rpa", "paid_s"] / 3600, rel=1e-12)
    assert row["bot_hours"] == pytest.approx(318.0, abs=0.5)   # 3 bots × Mon 08:00 .. Fri 18:00
    assert row["vendor_hours"] == 0.0
    assert row["paid_hours"] < 700 < row["paid_hours"] + row["bot_hours"]


def test_vendor_hours_are_the_vendors_handling_hours():
    s, row, pools = _row_and_pools("vendor_overflow")
    assert row["paid_hours"] == pytest.approx(pools.loc["in_house", "paid_s"] / 3600, rel=1e-12)
    assert row["vendor_hours"] == pytest.approx(pools.loc["partner", "busy_s"] / 3600, rel=1e-12)
    assert row["bot_hours"] == 0.0
    assert row["occupancy_partner"] == pytest.approx(pools.loc["partner", "occupancy"])
