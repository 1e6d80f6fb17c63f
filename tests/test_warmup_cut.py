"""Pool time after the warm-up: occupancy, paid time and staff cost cover exactly [warm-up end, end],
the window of the contact KPIs, also when the warm-up ends inside a reporting interval.

The expected numbers are computed here independently of the library's integration: busy time from
each visit's overlap with the window, paid time from the scenario's headcount by hand, or, where
agents finish contacts after their shift, as ∫ max(headcount, busy) evaluated at the midpoint of
every piece between change points.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import servsim
from conftest import scenario

HOUR = 3600.0

#: 4 hours of 60-minute intervals with a 90-minute warm-up: it ends in the middle of the second interval.
MID_INTERVAL = """
    name: warm-up ends mid-interval
    horizon: {start: "08:00", end: "12:00", interval: 60min, warmup: 90min}
    channels:
      calls: {arrivals: {rate: 9/min}, entry: answer, patience: {dist: exponential, mean: 3min}}
    pools:
      agents: {agents: 10, skills: {answer: 1.0}, cost_per_hour: 10}
    steps:
      answer: {handle_time: {dist: exponential, mean: 1min}}
"""

START, END, WARM_END = 8 * HOUR, 12 * HOUR, 9.5 * HOUR


def busy_after(visits, t0: float, t1: float) -> float:
    """Σ over visits in service of their overlap with [t0, t1] (agent-seconds)."""
    start = visits["start_s"].to_numpy()
    end = np.nan_to_num(visits["end_s"].to_numpy(), nan=t1)
    served = ~np.isnan(start)
    return float(np.clip(np.minimum(end, t1) - np.maximum(start, t0), 0, None)[served].sum())


def paid_after(visits, headcount, t0: float, t1: float) -> float:
    """∫ max(headcount(t), busy(t)) dt over [t0, t1]; ``headcount`` is [(from time, agents), ...]."""
    start = visits["start_s"].to_numpy()
    start = start[~np.isnan(start)]
    end = np.nan_to_num(visits["end_s"].to_numpy(), nan=t1)[~np.isnan(visits["start_s"].to_numpy())]
    cuts = np.unique(np.r_[start, end, [t for t, _ in headcount], t0, t1])
    cuts = cuts[(cuts >= t0) & (cuts <= t1)]
    mid = (cuts[:-1] + cuts[1:]) / 2
    busy = np.searchsorted(np.sort(start), mid) - np.searchsorted(np.sort(end), mid)
    times = np.array([t for t, _ in headcount])
    agents = np.array([n for _, n in headcount])[np.searchsorted(times, mid, side="right") - 1]
    return float((np.maximum(agents, busy) * np.diff(cuts)).sum())


@pytest.fixture(scope="module")
def logged():
    return servsim.simulate(scenario(MID_INTERVAL), seed=5)


@pytest.mark.parametrize("log", [True, False], ids=["log", "no-log"])
def test_occupancy_warmup_mid_interval(logged, log):
    r = logged if log else servsim.simulate(scenario(MID_INTERVAL), seed=5, log=False)
    row = r.pool_summary.set_index("pool").loc["agents"]
    assert row["paid_s"] == pytest.approx(10 * 2.5 * HOUR, rel=1e-12)  # not 2 of the 2.5 hours
    assert row["staffed_s"] == pytest.approx(10 * 2.5 * HOUR, rel=1e-12)
    busy = busy_after(logged.visits, WARM_END, END)
    assert row["busy_s"] == pytest.approx(busy, rel=1e-12)
    assert row["occupancy"] == pytest.approx(busy / (10 * 2.5 * HOUR), rel=1e-12)
    assert r.summary["staff_cost"].iloc[0] == pytest.approx(250.0, rel=1e-12)


def test_paid_time_after_a_mid_interval_warmup_counts_overtime():
    # headcount falls from 12 to 2 at 11:00, while agents still finish the calls in hand
    text = MID_INTERVAL.replace("agents: 10,", "schedule: [8, 10, 12, 2],").replace("9/min", "11/min")
    on = servsim.simulate(scenario(text), seed=2)
    off = servsim.simulate(scenario(text), seed=2, log=False)
    paid = paid_after(on.visits, [(START, 8), (9 * HOUR, 10), (10 * HOUR, 12), (11 * HOUR, 2)], WARM_END, END)
    assert paid > 10 * 0.5 * HOUR + 12 * HOUR + 2 * HOUR  # some overtime after the drop
    busy = busy_after(on.visits, WARM_END, END)
    for r in (on, off):
        row = r.pool_summary.set_index("pool").loc["agents"]
        assert row["paid_s"] == pytest.approx(paid, rel=1e-12)
        assert row["staffed_s"] == pytest.approx(10 * 0.5 * HOUR + 12 * HOUR + 2 * HOUR, rel=1e-12)
        assert row["busy_s"] == pytest.approx(busy, rel=1e-12)
        assert r.summary["staff_cost"].iloc[0] == pytest.approx(paid / HOUR * 10, rel=1e-12)


@pytest.mark.parametrize("log", [True, False], ids=["log", "no-log"])
def test_one_interval_horizon_with_a_warmup_has_an_occupancy(log):
    text = MID_INTERVAL.replace('end: "12:00", interval: 60min, warmup: 90min',
                                'end: "09:00", interval: 60min, warmup: 10min')
    on = servsim.simulate(scenario(text), seed=1)
    r = on if log else servsim.simulate(scenario(text), seed=1, log=False)
    row = r.pool_summary.set_index("pool").loc["agents"]
    paid = 10 * 50 * 60.0
    assert row["paid_s"] == pytest.approx(paid, rel=1e-12)
    assert np.isfinite(row["occupancy"])
    assert row["occupancy"] == pytest.approx(busy_after(on.visits, START + 600, 9 * HOUR) / paid, rel=1e-12)
    assert r.summary["staff_cost"].iloc[0] == pytest.approx(paid / HOUR * 10, rel=1e-12)


def test_a_warmup_on_an_interval_boundary_keeps_the_per_interval_sums():
    text = MID_INTERVAL.replace("warmup: 90min", "warmup: 120min")
    r = servsim.simulate(scenario(text), seed=4)
    pools = r.pools[r.pools["start_s"] >= 10 * HOUR]
    got = r.pool_summary.set_index("pool").loc["agents"]
    for col in ("staffed_s", "busy_s", "paid_s"):
        assert got[col] == pytest.approx(pools[col].sum(), rel=1e-12)


@pytest.mark.parametrize("log", [True, False], ids=["log", "no-log"])
def test_vendor_cost_counts_what_it_served_and_handled_after_a_mid_interval_warmup(log):
    vendor = "      partner: {kind: vendor, agents: unlimited, price_per_contact: 4.0, price_per_hour: 60}\n"
    text = MID_INTERVAL.replace("mean: 1min}}\n", "mean: 1min}, outsource: {to: partner, share: 0.3}}\n").replace(
        "    steps:", vendor + "    steps:")
    on = servsim.simulate(scenario(text), seed=6)
    r = on if log else servsim.simulate(scenario(text), seed=6, log=False)
    v = on.visits[(on.visits["pool"] == "partner")]
    served = int(((v["outcome"] == "served") & (v["end_s"] >= WARM_END)).sum())
    assert 0 < served < int((v["outcome"] == "served").sum())
    busy_h = busy_after(v, WARM_END, END) / HOUR
    assert r.summary["vendor_cost"].iloc[0] == pytest.approx(4.0 * served + 60 * busy_h, rel=1e-12)
    assert r.summary["staff_cost"].iloc[0] == pytest.approx(250.0, rel=1e-12)


@settings(max_examples=25, deadline=None, derandomize=True, database=None)
@given(warmup_s=st.integers(0, 2 * 3600 - 1), interval=st.sampled_from([15, 20, 30, 60, 120]),
       seed=st.integers(0, 2**16))
def test_pool_time_covers_exactly_the_post_warmup_window(warmup_s, interval, seed):
    text = f"""
        name: any warm-up
        horizon: {{start: "08:00", end: "10:00", interval: {interval}min, warmup: {warmup_s}s}}
        channels:
          calls: {{arrivals: {{rate: 4/min}}, entry: answer, patience: {{dist: exponential, mean: 2min}}}}
        pools:
          agents: {{agents: 5, skills: {{answer: 1.0}}, cost_per_hour: 36}}
        steps:
          answer: {{handle_time: {{dist: exponential, mean: 1min}}}}
    """
    on = servsim.simulate(scenario(text), seed=seed)
    off = servsim.simulate(scenario(text), seed=seed, log=False)
    t0 = START + warmup_s
    window = 10 * HOUR - t0
    busy = busy_after(on.visits, t0, 10 * HOUR)
    for r in (on, off):
        row = r.pool_summary.set_index("pool").loc["agents"]
        assert row["paid_s"] == pytest.approx(5 * window, rel=1e-12)
        assert row["staffed_s"] == pytest.approx(5 * window, rel=1e-12)
        assert row["busy_s"] == pytest.approx(busy, rel=1e-9, abs=1e-6)
        assert r.summary["staff_cost"].iloc[0] == pytest.approx(5 * window / HOUR * 36, rel=1e-12)
