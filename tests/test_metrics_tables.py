"""The per-interval table is computed group by group on numpy slices; it must equal KPIs computed
directly on each group's contacts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import servsim
from servsim.metrics import KPI_COLUMNS, kpis
from conftest import ROOT


def test_interval_rows_equal_kpis_of_their_contacts():
    s = servsim.load_scenario(ROOT / "scenarios" / "multichannel_contact_centre.yaml")
    r = servsim.simulate(s, seed=3)
    c, v = r.contacts, r.visits
    served = v[v["outcome"] == "served"]
    thresholds = {n: (ch.service_level or s.targets.service_level).threshold for n, ch in s.channels.items()}
    checked = 0
    for _, row in r.intervals.iterrows():
        mask = c["interval"] == row["interval"]
        thr = s.targets.service_level.threshold
        if row["channel"] != "all":
            mask &= c["channel"] == row["channel"]
            thr = thresholds[row["channel"]]
        sub = c[mask]
        handles = served[served["contact"].isin(sub["contact"])]["handle_s"].to_numpy()
        expected = kpis(sub, handles, thr, s.economics.satisfaction)
        got = row[KPI_COLUMNS].to_numpy(dtype=float)
        want = np.array([expected[k] for k in KPI_COLUMNS], dtype=float)
        assert np.allclose(got, want, equal_nan=True, rtol=1e-12), (row["channel"], row["interval"])
        checked += 1
    assert checked == len(r.intervals) > 50
    assert set(r.intervals["channel"]) == {"phone", "web", "email", "all"}
    assert isinstance(r.intervals, pd.DataFrame)


def test_mean_queue_is_the_time_average_of_the_waiting_visits():
    """Per interval: Σ over visits of their waiting time inside [start, start + interval] / interval,
    computed here visit by visit; summary: the same over [warm-up end, end of run]."""
    s = servsim.load_scenario(ROOT / "scenarios" / "multichannel_contact_centre.yaml")
    r = servsim.simulate(s, seed=4)
    v = r.visits.merge(r.contacts[["contact", "channel"]], on="contact")
    a = v["queued_s"].to_numpy()
    b = a + v["wait_s"].to_numpy()
    length = s.horizon.interval
    for _, row in r.intervals.iterrows():
        mine = (v["channel"] == row["channel"]).to_numpy() if row["channel"] != "all" else np.ones(len(v), bool)
        lo, hi = row["start_s"], row["start_s"] + length
        inside = np.clip(np.minimum(b[mine], hi) - np.maximum(a[mine], lo), 0, None).sum()
        assert row["mean_queue"] == pytest.approx(inside / length, rel=1e-9, abs=1e-12), (row["channel"], row["interval"])
    warm = s.horizon.start + s.horizon.warmup
    overall = r.summary.iloc[0]
    total = np.clip(b - np.maximum(a, warm), 0, None).sum()
    # τ = end of run − warm-up end; the run ends at the horizon end here (nothing stopped it)
    plan_end = (s.horizon.days - 1) * 86400 + s.horizon.end
    assert overall["mean_queue"] == pytest.approx(total / (plan_end - warm), rel=1e-9)
