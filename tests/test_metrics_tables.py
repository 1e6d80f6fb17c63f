"""The per-interval table is computed group by group on numpy slices; it must equal KPIs computed
directly on each group's contacts."""

from __future__ import annotations

import numpy as np
import pandas as pd

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
