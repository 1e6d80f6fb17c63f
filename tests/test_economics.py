"""Economics: staff cost from paid hours, penalties, the satisfaction proxy; schema of the section.

Hand-made tables with exact expected numbers, and one deterministic end-to-end run.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

import servsim
from conftest import scenario
from servsim.economics import (
    SUMMARY_KEYS,
    economics_summary,
    penalty_costs,
    pool_costs,
    satisfaction_scores,
    wait_score,
)
from servsim.scenario.economics import Economics, Penalties, Satisfaction


def pools_table(rows: list[tuple[str, int, float, float, float, float]]) -> pd.DataFrame:
    """(pool, interval, start_s, staffed_s, busy_s, paid_s) rows."""
    df = pd.DataFrame(rows, columns=["pool", "interval", "start_s", "staffed_s", "busy_s", "paid_s"])
    df["pool"] = pd.Categorical(df["pool"], categories=["front", "back"])
    return df


def contacts_table(rows: list[tuple[str, str, float, bool]]) -> pd.DataFrame:
    """(channel, outcome, wait_s, warmup) rows."""
    df = pd.DataFrame(rows, columns=["channel", "outcome", "wait_s", "warmup"])
    df["channel"] = pd.Categorical(df["channel"])
    df["outcome"] = pd.Categorical(df["outcome"], categories=["in_system", "handled", "abandoned"])
    return df


def intervals_table(rows: list[tuple[str, int, float, float, float]]) -> pd.DataFrame:
    """(channel, interval, start_s, offered, service_level) rows."""
    return pd.DataFrame(rows, columns=["channel", "interval", "start_s", "offered", "service_level"])


# --- cost ------------------------------------------------------------------------------------------

POOLS = pools_table([
    # front: 2 agents for 2 h, busy 1.5 h in total, one finishes 0.25 h after the shift (paid)
    ("front", 0, 0.0, 7200.0, 3600.0, 7200.0),
    ("front", 1, 3600.0, 7200.0, 1800.0, 8100.0),
    # back: 1 agent on shift for 2 h, never busy: an idle staffed agent
    ("back", 0, 0.0, 3600.0, 0.0, 3600.0),
    ("back", 1, 3600.0, 3600.0, 0.0, 3600.0),
])


def test_pool_costs_are_paid_hours_times_rate():
    c = pool_costs(POOLS, {"front": 30.0, "back": 20.0}).set_index("pool")
    assert list(c.index) == ["front", "back"]
    assert c.loc["front", "paid_hours"] == 4.25
    assert c.loc["front", "busy_hours"] == 1.5
    assert c.loc["front", "staffed_hours"] == 4.0
    assert c.loc["front", "cost"] == 4.25 * 30.0
    assert c.loc["front", "cost_per_hour"] == 30.0


def test_a_staffed_idle_agent_costs_money():
    c = pool_costs(POOLS, {"front": 30.0, "back": 20.0}).set_index("pool")
    assert c.loc["back", "busy_hours"] == 0.0
    assert c.loc["back", "paid_hours"] == 2.0
    assert c.loc["back", "cost"] == 40.0


def test_pool_costs_leave_out_the_warmup_and_need_every_rate():
    c = pool_costs(POOLS, {"front": 30.0, "back": 20.0, "unused": 99.0}, warmup_end_s=3600.0).set_index("pool")
    assert c.loc["front", "paid_hours"] == 2.25
    assert c.loc["back", "cost"] == 20.0
    with pytest.raises(KeyError, match="back"):
        pool_costs(POOLS, {"front": 30.0})


# --- penalties -------------------------------------------------------------------------------------

CONTACTS = contacts_table([
    ("calls", "handled", 0.0, True),      # warm-up: left out
    ("calls", "abandoned", 50.0, True),   # warm-up: left out
    ("calls", "handled", 10.0, False),
    ("calls", "handled", 20.0, False),
    ("calls", "handled", 160.0, False),
    ("calls", "handled", 400.0, False),
    ("chat", "handled", 20.0, False),
    ("chat", "abandoned", 90.0, False),
    ("calls", "abandoned", 30.0, False),
    ("calls", "in_system", 5.0, False),
])

INTERVALS = intervals_table([
    ("calls", 0, 0.0, 10.0, 0.5),     # before the warm-up end in the warm-up test
    ("calls", 1, 1800.0, 10.0, 0.79),  # misses 0.8
    ("calls", 2, 3600.0, 10.0, 0.8),   # meets it exactly
    ("calls", 3, 5400.0, 0.0, np.nan),  # nothing offered
    ("calls", 4, 7200.0, 3.0, np.nan),  # nothing measurable: not counted
    ("chat", 1, 1800.0, 4.0, 0.25),    # misses
    ("all", 1, 1800.0, 14.0, 0.1),     # aggregate row: skipped
])


def test_penalties_count_abandoned_and_missed_intervals():
    econ = Economics(penalties=Penalties(per_abandoned=2.5, per_interval_missing_target=100.0))
    p = penalty_costs(CONTACTS, INTERVALS, econ, goal=0.8)
    assert p["abandoned"] == 2.0
    assert p["abandoned_cost"] == 5.0
    assert p["intervals_missed"] == 3.0
    assert p["intervals_missed_cost"] == 300.0
    assert p["penalty_cost"] == 305.0


def test_penalties_leave_out_warmup_intervals_and_default_to_zero():
    econ = Economics(penalties=Penalties(per_interval_missing_target=1.0))
    assert penalty_costs(CONTACTS, INTERVALS, econ, goal=0.8, warmup_end_s=1800.0)["intervals_missed"] == 2.0
    p = penalty_costs(CONTACTS, INTERVALS, None, goal=0.8)
    assert p["penalty_cost"] == 0.0 and p["intervals_missed"] == 3.0


def test_a_lone_channel_named_all_is_counted():
    i = intervals_table([("all", 0, 0.0, 5.0, 0.5), ("all", 1, 1800.0, 5.0, 0.9)])
    assert penalty_costs(CONTACTS.iloc[:0], i, None, goal=0.8)["intervals_missed"] == 1.0


# --- satisfaction proxy ----------------------------------------------------------------------------

def test_linear_wait_score():
    s = Satisfaction(full_until="20s", zero_at="320s")
    got = wait_score(np.array([0.0, 20.0, 95.0, 170.0, 320.0, 1000.0, np.nan]), s)
    np.testing.assert_allclose(got[:-1], [1.0, 1.0, 0.75, 0.5, 0.0, 0.0])
    assert math.isnan(got[-1])


def test_logistic_wait_score():
    s = Satisfaction(shape="logistic", midpoint="2min", steepness_per_min=1.5)
    got = wait_score(np.array([120.0, 0.0, 240.0, 1e7]), s)
    np.testing.assert_allclose(got, [0.5, 1 / (1 + math.exp(-3.0)), 1 / (1 + math.exp(3.0)), 0.0], rtol=1e-12, atol=0)


def test_scores_by_outcome_with_nan_for_in_system():
    s = Satisfaction(full_until="20s", zero_at="5min", resolved=0.9, abandoned=0.1)
    got = satisfaction_scores(CONTACTS, s)
    expected = [0.9, 0.1, 0.9, 0.9, 0.9 * 0.5, 0.0, 0.9, 0.1, 0.1, np.nan]
    np.testing.assert_allclose(got, expected)


def test_channel_weight_multiplies_and_caps_at_one():
    s = Satisfaction(full_until="20s", zero_at="5min", abandoned=0.4, channel_weight={"chat": 2.0, "calls": 0.5})
    got = satisfaction_scores(CONTACTS, s)
    # calls handled at 160 s: 0.5 * 0.5; chat handled: 2 * 1 capped at 1; chat abandoned: 2 * 0.4
    assert got[4] == 0.25
    assert got[6] == 1.0
    assert got[7] == 0.8
    assert got[8] == 0.2


def test_unresolved_factor_applies_when_resolution_is_recorded():
    c = CONTACTS.assign(resolved=[True] * 3 + [False] + [True] * 6)
    got = satisfaction_scores(c, Satisfaction(unresolved=0.3))
    assert got[2] == 1.0 and got[3] == 0.3


# --- summary ---------------------------------------------------------------------------------------

def fake_scenario(economics=None, warmup=0.0):
    return SimpleNamespace(
        pools={"front": SimpleNamespace(cost_per_hour=30.0), "back": SimpleNamespace(cost_per_hour=20.0)},
        targets=SimpleNamespace(service_level=SimpleNamespace(goal=0.8)),
        horizon=SimpleNamespace(start=0.0, warmup=warmup),
        economics=economics,
    )


def test_economics_summary_of_hand_made_tables():
    econ = Economics(
        penalties=Penalties(per_abandoned=2.5, per_interval_missing_target=100.0),
        satisfaction=Satisfaction(full_until="20s", zero_at="5min", satisfied_at=0.5),
    )
    got = economics_summary(CONTACTS, POOLS, INTERVALS, fake_scenario(econ))
    assert list(got) == SUMMARY_KEYS
    assert got["staff_cost"] == 4.25 * 30 + 2 * 20
    assert got["penalty_cost"] == 305.0
    assert got["total_cost"] == 4.25 * 30 + 40 + 305
    assert got["cost_per_handled"] == got["total_cost"] / 5  # 5 handled after the warm-up
    # scores after the warm-up (in_system left out): 1, 1, 0.5, 0, 1, 0, 0
    assert got["satisfaction_mean"] == pytest.approx(3.5 / 7)
    assert got["share_satisfied"] == pytest.approx(4 / 7)


def test_economics_summary_without_an_economics_field():
    s = fake_scenario()
    del s.economics
    got = economics_summary(CONTACTS, POOLS, INTERVALS, s)
    assert got["penalty_cost"] == 0.0
    assert got["total_cost"] == got["staff_cost"] == 167.5
    # defaults: linear 20 s .. 5 min; 160 s scores 140/280 = 0.5 < 0.7
    assert got["share_satisfied"] == pytest.approx(3 / 7)


def test_economics_summary_with_no_contacts():
    got = economics_summary(CONTACTS.iloc[:0], POOLS, INTERVALS.iloc[:0], fake_scenario(warmup=1800.0))
    assert got["staff_cost"] == 2.25 * 30 + 20
    assert math.isnan(got["cost_per_handled"])
    assert math.isnan(got["satisfaction_mean"]) and math.isnan(got["share_satisfied"])


def test_end_to_end_staff_cost_is_headcount_times_hours_times_rate(tmp_path):
    # three calls of 5 min each, all finished long before the end: no overtime, no waiting
    (tmp_path / "arrivals.csv").write_text("time\n00:00:00\n00:10:00\n00:20:00\n")
    s = scenario("""
        name: economics
        horizon: {start: "00:00", end: "02:00", interval: 60min}
        channels:
          calls: {arrivals: {trace: {file: arrivals.csv}}, entry: answer}
        pools:
          front: {agents: 2, skills: {answer: 1.0}, priority: 1, cost_per_hour: 30}
          reserve: {schedule: [1, 0], skills: {answer: 1.0}, cost_per_hour: 20}
        steps:
          answer: {handle_time: {dist: deterministic, value: 5min}}
        """, base_dir=tmp_path)
    r = servsim.simulate(s, seed=1)
    got = economics_summary(r.contacts, r.pools, r.intervals, s)
    # front: 2 agents x 2 h x 30; reserve: 1 agent x 1 h x 20, never busy
    assert got["staff_cost"] == 2 * 2 * 30 + 1 * 1 * 20
    assert got["penalty_cost"] == 0.0
    assert got["cost_per_handled"] == 140 / 3
    assert got["satisfaction_mean"] == 1.0 and got["share_satisfied"] == 1.0
    costs = pool_costs(r.pools, {"front": 30, "reserve": 20}).set_index("pool")
    assert costs.loc["reserve", "busy_hours"] == 0.0
    assert costs.loc["front", "busy_hours"] == 0.25


# --- schema ----------------------------------------------------------------------------------------

def test_defaults():
    e = Economics()
    assert e.currency == "EUR"
    assert e.penalties == Penalties(per_abandoned=0.0, per_interval_missing_target=0.0)
    sat = e.satisfaction
    assert (sat.shape, sat.full_until, sat.zero_at, sat.midpoint, sat.steepness_per_min) == ("linear", 20.0, 300.0,
                                                                                             120.0, 1.5)
    assert (sat.abandoned, sat.unresolved, sat.contained, sat.resolved, sat.satisfied_at) == (0.0, 0.3, 0.8, 1.0, 0.7)


def test_economics_from_a_dict_with_units():
    e = Economics.model_validate({
        "currency": "USD",
        "penalties": {"per_abandoned": 2, "per_interval_missing_target": 50.5},
        "satisfaction": {"full_until": "30s", "zero_at": "10min", "channel_weight": {"chat": 0.9}},
    })
    assert e.satisfaction.zero_at == 600.0 and e.penalties.per_abandoned == 2.0


@pytest.mark.parametrize("bad, match", [
    ({"satisfaction": {"full_until": "5min", "zero_at": "5min"}}, "zero_at"),
    ({"satisfaction": {"full_until": "6min"}}, "zero_at"),
    ({"penalties": {"per_abandoned": -1}}, "per_abandoned"),
    ({"penalties": {"per_interval_missing_target": -0.01}}, "per_interval_missing_target"),
    ({"penalties": {"per_abandon": 1}}, "per_abandon"),
    ({"satisfaction": {"colour": "blue"}}, "colour"),
    ({"cost": 1}, "cost"),
    ({"currency": "euro"}, "currency"),
    ({"satisfaction": {"resolved": 1.2}}, "resolved"),
    ({"satisfaction": {"satisfied_at": -0.1}}, "satisfied_at"),
    ({"satisfaction": {"channel_weight": {"chat": 0}}}, "channel_weight"),
    ({"satisfaction": {"shape": "logistic", "steepness_per_min": 0}}, "steepness_per_min"),
    ({"satisfaction": {"shape": "cubic"}}, "shape"),
    ({"satisfaction": {"zero_at": 300}}, "zero_at"),  # no unit
    ({"satisfaction": {"shape": "logistic", "zero_at": "3min"}}, "not apply"),
    ({"satisfaction": {"midpoint": "3min"}}, "not apply"),
    ({"penalties": {"per_abandoned": float("nan")}}, "per_abandoned"),
])
def test_bad_economics_are_refused(bad, match):
    with pytest.raises(ValidationError, match=match):
        Economics.model_validate(bad)


def test_models_are_frozen():
    e = Economics()
    with pytest.raises(ValidationError):
        e.currency = "USD"  # type: ignore[misc]


def test_a_channel_can_have_its_own_wait_curve():
    import servsim
    from conftest import scenario

    text = """
    name: mail
    horizon: {start: "08:00", end: "18:00", interval: 60min}
    channels:
      mail: {kind: email, arrivals: {rate: 20/h}, entry: reply}
    pools:
      team: {agents: 1, skills: {reply: 1.0}}
    steps:
      reply: {stage: back, handle_time: {dist: exponential, mean: 4min}}
    economics:
      satisfaction: {curves: {mail: {full_until: 1h, zero_at: 10h}}}
    """
    s = scenario(text)
    r = servsim.simulate(s, seed=1)
    scores = satisfaction_scores(r.contacts, s.economics.satisfaction)
    handled = (r.contacts["outcome"] == "handled").to_numpy()
    w = r.contacts["wait_s"].to_numpy()[handled]
    expected = np.clip((36000 - w) / (36000 - 3600), 0, 1)
    assert np.allclose(scores[handled], expected)
    assert (w > 300).any()            # the default 5-minute curve would have scored these 0
