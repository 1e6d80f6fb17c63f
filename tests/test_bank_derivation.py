"""The bank scenario's numbers come from real data, and the scenario file still matches them.

Data: Ilan Guedj and Avi Mandelbaum, "'Anonymous Bank' Call-Center Data", Technion Service
Enterprise Engineering Center, 2000 (January 1999 records; free for use with acknowledgement of the
source). Analysed in Brown et al. (2005), JASA 100:36–50. The tests skip when the file is absent.
"""

from __future__ import annotations

import csv
import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest

import servsim

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "derive_bank_scenario.py"
SCENARIO = ROOT / "scenarios" / "bank_contact_centre.yaml"


def _load_script():
    """Import scripts/derive_bank_scenario.py (not a package) without leaving a __pycache__ there."""
    spec = importlib.util.spec_from_file_location("derive_bank_scenario", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    before, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        spec.loader.exec_module(mod)
    finally:
        sys.dont_write_bytecode = before
    return mod


derive = _load_script()
DATA = derive.DEFAULT_PATH


@pytest.fixture(scope="module")
def raw():
    if not DATA.is_file():
        pytest.skip(f"Anonymous Bank data not found at {DATA}")
    return derive.read_raw(DATA)


@pytest.fixture(scope="module")
def calls(raw):
    return derive.prepare(raw)


@pytest.fixture(scope="module")
def derived(raw, calls):
    return {
        "data": derive.data_summary(raw, calls),
        "arrivals": derive.arrival_profile(calls),
        "service": derive.service_times(calls),
        "patience": derive.patience(calls),
        "mix": derive.customer_mix(calls),
        "agents": derive.agents_per_interval(calls),
        "path": str(DATA),
        "source": derive.SOURCE,
    }


@pytest.fixture(scope="module")
def scenario():
    return servsim.load_scenario(SCENARIO)


# ------------------------------------------------------------------------------ records
def test_phantom_rows_are_excluded(raw, calls, derived):
    n_phantom = int((raw["outcome"].str.strip() == "PHANTOM").sum())
    assert n_phantom > 0                       # the file does have them...
    assert not (calls["outcome"] == "PHANTOM").any()   # ...and none survive
    assert len(calls) == len(raw) - n_phantom
    assert derived["data"]["n_phantom"] == n_phantom


def test_profile_counts_match_an_independent_recount():
    """Recount weekday calls asking for an agent in 07:00-24:00 straight from the text, without pandas."""
    if not DATA.is_file():
        pytest.skip(f"Anonymous Bank data not found at {DATA}")
    import datetime as dt

    n_real = n_with_phantom = 0
    days = set()
    with DATA.open(newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            day = dt.datetime.strptime(row["date"].strip(), "%y%m%d").date()
            if day.isoweekday() in (5, 6):     # Friday, Saturday
                continue
            queued = row["q_start"].strip() not in ("0:00:00", "00:00:00")
            phantom = row["outcome"].strip() == "PHANTOM"
            if not (queued or row["outcome"].strip() == "AGENT" or phantom):
                continue
            h, m, s = map(int, row["vru_exit"].split(":"))
            if not 7 * 3600 <= h * 3600 + m * 60 + s < 24 * 3600:
                continue
            n_with_phantom += 1
            if not phantom:
                n_real += 1
                days.add(day)
    a = derive.arrival_profile(derive.load_calls(DATA))
    assert sum(a["counts"]) == n_real < n_with_phantom
    assert a["n_weekdays"] == len(days)
    assert a["daily_volume"] == round(n_real / len(days))


# ------------------------------------------------------------------------------ arrivals
def test_shares_sum_to_one_and_cover_the_window(derived):
    a = derived["arrivals"]
    shares = a["shares"]
    assert len(shares) == a["n_intervals"] == 34
    assert math.fsum(shares) == pytest.approx(1.0, abs=1e-12)
    assert all(s >= 0 for s in shares)
    assert all(round(s, 4) == s for s in shares)
    assert np.allclose(shares, a["raw_shares"], atol=1e-4)
    assert a["window_share"] >= 0.99


def test_round_shares_is_exact_and_nonnegative():
    counts = np.array([1.0, 2.0, 3.0, 0.0, 7.0, 11.0, 13.0])
    shares = derive._round_shares(counts)
    assert math.fsum(shares) == pytest.approx(1.0, abs=1e-12)
    assert min(shares) >= 0


def test_scenario_matches_the_derived_arrivals(derived, scenario):
    a = derived["arrivals"]
    arr = scenario.channels["phone"].arrivals
    assert arr.daily_volume == pytest.approx(a["daily_volume"], abs=1)
    assert len(arr.shares) == len(a["shares"])
    assert np.allclose(arr.shares, a["shares"], atol=5e-5)
    h = scenario.horizon
    assert (h.start, h.end, h.interval) == (7 * 3600, 24 * 3600, 1800)


def test_scenario_matches_the_derived_mix_patience_and_handle_time(derived, scenario):
    y = derive.yaml_values(derived)
    seg = scenario.segments
    assert seg["priority"].share == pytest.approx(y["priority_share"], abs=0.005)
    assert seg["regular"].share == pytest.approx(y["regular_share"], abs=0.005)
    assert seg["priority"].priority > seg["regular"].priority
    assert seg["regular"].patience.mean_s == pytest.approx(y["patience_regular_mean_s"], abs=1)
    assert seg["priority"].patience.mean_s == pytest.approx(y["patience_priority_mean_s"], abs=1)
    assert scenario.channels["phone"].patience.mean_s == pytest.approx(y["patience_mean_s"], abs=1)
    # identify + serve reproduce the fitted handle time's mean and spread
    steps = scenario.steps
    total_mean = steps["identify"].handle_time.mean_s + steps["serve"].handle_time.mean_s
    total_var = steps["identify"].handle_time.variance_s2 + steps["serve"].handle_time.variance_s2
    ln = derived["service"]["lognormal"]
    assert total_mean == pytest.approx(ln["mean"], rel=0.01)
    assert math.sqrt(total_var) / total_mean == pytest.approx(ln["cv"], rel=0.02)


# ------------------------------------------------------------------------------ service, patience
def test_service_time_is_plausible(derived):
    sv = derived["service"]
    assert sv["n"] > 10_000
    assert 120 < sv["mean"] < 300            # Brown et al. report about 185 s
    assert 0.5 < sv["cv"] < 2.5
    ln = sv["lognormal"]
    assert ln["mean"] == pytest.approx(sv["mean"], rel=1e-9)
    assert 0 < ln["ks"] < 0.1
    assert sv["lognormal_mle_10s"]["ks"] < ln["ks"]   # the lognormal fits well apart from the short calls


def test_abandonment_and_patience_are_plausible(derived):
    pt = derived["patience"]
    assert 0 < pt["abandon_share"] < 0.5
    assert pt["n_abandoned"] <= pt["n_queued"] <= pt["n_asks"]
    assert pt["mean_patience_s"] == pytest.approx(pt["total_wait_s"] / pt["n_abandoned"])
    assert 60 < pt["mean_patience_s"] < 3600
    for seg in ("regular", "priority"):
        assert 0 < pt[seg]["abandon_share"] < 0.5
    assert pt["regular"]["n_asks"] + pt["priority"]["n_asks"] == pt["n_asks"]


def test_customer_mix(derived):
    mix = derived["mix"]
    assert math.fsum(mix["type_shares"].values()) == pytest.approx(1.0)
    assert max(mix["type_shares"], key=mix["type_shares"].get) == "PS"
    assert 0 < mix["priority2_share_all"] < mix["priority2_share_queued"] < 1


def test_agents_per_interval(derived):
    ag = derived["agents"]
    assert len(ag["mean_active"]) == len(ag["mean_busy"]) == 34
    assert all(b <= a + 1e-9 for a, b in zip(ag["mean_active"], ag["mean_busy"]))
    assert 0 < ag["peak_busy"] <= ag["peak_active"] <= ag["n_servers_month"]


def test_report_prints_and_acknowledges_the_source(derived):
    text = derive.report(derived)
    assert "Guedj" in text and "Mandelbaum" in text
    assert f"daily_volume: {derived['arrivals']['daily_volume']}" in text
    assert "Guedj" in SCENARIO.read_text(encoding="utf-8")
