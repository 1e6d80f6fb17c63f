"""Closing time (``horizon.closing``), days past midnight, forecast uncertainty (``busyness``) and
per-interval handle-time and patience factors: each test fails without its mechanism. Exact
timelines and bookkeeping where the outcome is determined; otherwise the replications' own
confidence intervals (99%) around the exact formula (:mod:`servsim.theory`), with fixed seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as st

import servsim
from servsim import theory
from servsim.engine import compile_plan, run
from servsim.random import replication_seeds
from servsim.stats import t_interval
from servsim.units import DAY, HOUR
from conftest import scenario

LEVEL = 0.99


def _overall(r: servsim.RunResult | servsim.Replications, column: str) -> np.ndarray:
    s = r.summary
    return s[(s["channel"] == "all") & (s["segment"] == "all")][column].to_numpy(dtype=float)


# --------------------------------------------------------------------------- closing: drain
MMC = """
name: mmc12
horizon: {{start: "08:00", end: "16:00", interval: 30min, closing: {closing}}}
channels:
  calls: {{arrivals: {{rate: 4.2/min}}, entry: answer}}
pools:
  agents: {{agents: 12, skills: {{answer: 1.0}}, cost_per_hour: 30}}
steps:
  answer: {{handle_time: {{dist: exponential, mean: 2min}}}}
"""
CLOSE = 16 * HOUR


@pytest.mark.parametrize("seed", range(6))
def test_drain_serves_every_arrival_of_an_8_hour_mmc_day_and_pays_the_overtime(seed):
    r = servsim.simulate(scenario(MMC.format(closing="drain")), seed=seed)
    c, pool = r.contacts, r.pool_summary.iloc[0]
    last = float(c["exit_s"].max())
    assert _overall(r, "in_system_end")[0] == 0
    assert (c["outcome"].astype(str) == "handled").all() and len(c) == _overall(r, "offered")[0]
    assert c["arrival_s"].max() < CLOSE < last
    # the 12 agents on duty at close stay until the last leaves: overtime = 12 × (last departure − close)
    assert pool["overtime_s"] == pytest.approx(12 * (last - CLOSE), rel=1e-9)
    assert pool["overtime_s"] > 0
    assert pool["paid_s"] == pytest.approx(12 * 8 * HOUR + pool["overtime_s"], rel=1e-12)
    assert pool["staffed_s"] == pytest.approx(pool["paid_s"], rel=1e-12)
    assert _overall(r, "staff_cost")[0] == pytest.approx(pool["paid_s"] / HOUR * 30, rel=1e-12)
    # the same arrivals as today's behaviour (common random numbers), where some are left at the end
    today = servsim.simulate(scenario(MMC.format(closing="carry_over")), seed=seed)
    assert np.array_equal(today.contacts["arrival_s"].to_numpy(), c["arrival_s"].to_numpy())
    assert today.pool_summary.iloc[0]["overtime_s"] == 0


def test_carry_over_is_todays_behaviour_and_leaves_contacts_at_the_end():
    left = [_overall(servsim.simulate(scenario(MMC.format(closing="carry_over")), seed=s), "in_system_end")[0]
            for s in range(6)]
    assert sum(left) > 0    # what drain empties
    default = scenario(MMC.format(closing="carry_over").replace(", closing: carry_over", ""))
    assert default.horizon.closing == "carry_over"


def _trace(tmp_path, times, closing, days=1, patience=None, handle="90s"):
    (tmp_path / "arrivals.csv").write_text("time,day\n" + "\n".join(times) + "\n")
    pat = f"\n            patience: {{dist: deterministic, value: {patience}}}" if patience else ""
    return scenario(f"""
        name: closing
        horizon: {{start: "00:00", end: "00:02", interval: 1min, days: {days}, closing: {closing}}}
        channels:
          calls:
            arrivals: {{trace: {{file: arrivals.csv, day_column: day}}}}
            entry: answer{pat}
        pools:
          agents: {{agents: 1, skills: {{answer: 1.0}}}}
        steps:
          answer: {{handle_time: {{dist: deterministic, value: {handle}}}}}
        """, base_dir=tmp_path)


ARRIVALS = ["00:01:00,1", "00:01:10,1", "00:01:20,1"]


def test_drain_timeline_the_agent_stays_until_the_last_leaves(tmp_path):
    r = servsim.simulate(_trace(tmp_path, ARRIVALS, "drain"), seed=1)
    v = r.visits
    assert v["start_s"].tolist() == [60.0, 150.0, 240.0]
    assert v["end_s"].tolist() == [150.0, 240.0, 330.0]
    pool = r.pool_summary.iloc[0]
    assert (pool["overtime_s"], pool["paid_s"], pool["busy_s"]) == (210.0, 330.0, 270.0)
    for log in (True, False):
        assert servsim.simulate(_trace(tmp_path, ARRIVALS, "drain"), seed=1, log=log).pool_summary.iloc[0][
            "overtime_s"] == 210.0


def test_drain_patience_still_applies(tmp_path):
    # third caller's deadline 80 + 100 = 180 s passes while the agent serves the second (150–240)
    r = servsim.simulate(_trace(tmp_path, ARRIVALS, "drain", patience="100s"), seed=1)
    c = r.contacts
    assert c["outcome"].astype(str).tolist() == ["handled", "handled", "abandoned"]
    assert c["exit_s"].tolist() == [150.0, 240.0, 180.0]
    assert r.pool_summary.iloc[0]["overtime_s"] == 120.0    # the drain ends at 240 s, the last service's end


def test_drop_sends_the_waiting_away_at_close_and_lets_the_one_in_service_finish(tmp_path):
    r = servsim.simulate(_trace(tmp_path, ARRIVALS, "drop"), seed=1)
    c = r.contacts
    assert c["outcome"].astype(str).tolist() == ["handled", "abandoned", "abandoned"]
    assert c["exit_s"].tolist() == [150.0, 120.0, 120.0]
    assert c["wait_s"].tolist() == [0.0, 50.0, 40.0]
    s = r.summary.iloc[0]
    assert (s["offered"], s["handled"], s["abandoned"], s["in_system_end"]) == (3, 1, 2, 0)
    assert s["abandon_rate"] == pytest.approx(2 / 3)
    # the agent finishing the call after close is paid for it: overtime 30 s
    assert r.pool_summary.iloc[0]["overtime_s"] == 30.0


def test_multi_day_closing_modes_bookkeeping(tmp_path):
    times = ARRIVALS + ["00:01:00,2", "00:01:10,2"]
    # carry_over: day 1's two waiting callers are served at day 2's opening, before day 2's own
    r = servsim.simulate(_trace(tmp_path, times, "carry_over", days=2), seed=1)
    start = r.visits["start_s"].tolist()
    assert start[:3] == [60.0, DAY, DAY + 90.0] and np.isnan(start[3:]).all()
    assert _overall(r, "in_system_end")[0] == 3     # one in service and day 2's own two: the run ends at 00:02
    # drain: each night is drained; nobody is carried to day 2
    r = servsim.simulate(_trace(tmp_path, times, "drain", days=2), seed=1)
    assert r.visits["end_s"].tolist() == [150.0, 240.0, 330.0, DAY + 150.0, DAY + 240.0]
    assert r.pool_summary.iloc[0]["overtime_s"] == 210.0 + 120.0
    pools = r.pools
    assert pools.groupby("day")["overtime_s"].sum().tolist() == [210.0, 120.0]
    # drop: each close sends the waiting away
    r = servsim.simulate(_trace(tmp_path, times, "drop", days=2), seed=1)
    c = r.contacts
    assert c["outcome"].astype(str).tolist() == ["handled", "abandoned", "abandoned", "handled", "abandoned"]
    assert c["exit_s"].tolist() == [150.0, 120.0, 120.0, DAY + 150.0, DAY + 120.0]


def test_returns_due_while_closed_are_lost_under_drain(tmp_path):
    (tmp_path / "arrivals.csv").write_text("time\n00:01:00\n00:01:10\n")
    s = scenario("""
        name: retrial at night
        horizon: {start: "00:00", end: "00:02", interval: 1min, days: 2, closing: drain}
        channels:
          calls:
            arrivals: {trace: {file: arrivals.csv}}
            entry: answer
            patience: {dist: deterministic, value: 5s}
            retrial: {probability: 1.0, delay: {dist: deterministic, value: 10min}, max_attempts: 2}
        pools:
          agents: {agents: 1, skills: {answer: 1.0}}
        steps:
          answer: {handle_time: {dist: deterministic, value: 90s}}
        """, base_dir=tmp_path)
    c = servsim.simulate(s, seed=1).contacts
    # the second caller abandons at 75 s; its retrial (at 675 s, the centre closed) never comes
    assert c["outcome"].astype(str).tolist() == ["handled", "abandoned"]


def test_a_drain_over_several_days_gives_the_same_tables_without_the_log(monkeypatch):
    import servsim.engine.record as record

    monkeypatch.setattr(record, "CHUNK", 64)
    monkeypatch.setattr(record, "BATCH", 32)
    s = scenario(MMC.format(closing="drain").replace('interval: 30min', 'interval: 30min, days: 3')
                 .replace("entry: answer}", "entry: answer, patience: {dist: exponential, mean: 4min}}")
                 .replace("agents: 12", "agents: 9"))
    a, b = servsim.simulate(s, seed=5), servsim.simulate(s, seed=5, log=False)
    assert a.pool_summary.iloc[0]["overtime_s"] > 0
    for name in ("pools", "pool_summary"):
        x, y = getattr(a, name), getattr(b, name)
        for col in ("staffed_s", "busy_s", "paid_s", "overtime_s"):
            assert np.allclose(x[col].to_numpy(dtype=float), y[col].to_numpy(dtype=float), rtol=1e-12, atol=1e-6)
    last = a.contacts.groupby("day")["exit_s"].max().to_numpy() - (np.arange(3) * DAY + CLOSE)
    assert a.pools.groupby("day")["overtime_s"].sum().to_numpy() == pytest.approx(9 * last, rel=1e-9)


# --------------------------------------------------------------------------- a day past midnight
LATE = """
name: late
horizon: {start: "18:00", end: "26:00", interval: 60min, days: 2, closing: drain}
channels:
  calls:
    arrivals: {rate: 1/min}
    entry: answer
    patience: {dist: exponential, mean: 5min}
pools:
  agents:
    shifts:
      - {start: "18:00", end: "22:00", agents: 3}
      - {start: "22:00", end: "26:00", agents: 2}
    skills: {answer: 1.0}
steps:
  answer: {handle_time: {dist: exponential, mean: 90s}}
"""


def test_a_day_open_18_to_02_has_its_intervals_shifts_and_tables():
    r = servsim.simulate(scenario(LATE), seed=2)
    iv = r.intervals
    starts = np.r_[18 * HOUR + HOUR * np.arange(8), DAY + 18 * HOUR + HOUR * np.arange(8)]
    assert iv["start_s"].tolist() == starts.tolist()
    assert iv["interval"].tolist() == list(range(16))
    assert iv["day"].tolist() == [1] * 8 + [2] * 8
    c = r.contacts
    day0 = (c["day"].to_numpy() - 1) * DAY + 18 * HOUR
    a = c["arrival_s"].to_numpy()
    assert ((a >= day0) & (a < day0 + 8 * HOUR)).all()
    assert (a > DAY).any() and ((a % DAY) < 2 * HOUR).any()     # some arrive after midnight
    assert c["interval"].tolist() == ((a - day0) // HOUR + 8 * (c["day"] - 1)).astype(int).tolist()
    # shifts: 3 agents 18–22, 2 agents 22–02 (on duty every interval of both days)
    p = r.pools.sort_values("interval")
    on = p[p["day"] == 1]["staffed_s"].to_numpy()[:7]    # the last interval also holds the drain
    assert on.tolist() == [3 * HOUR] * 4 + [2 * HOUR] * 3
    assert p[p["day"] == 2]["staffed_s"].to_numpy()[:7].tolist() == on.tolist()
    # the drain after 02:00 ends on its night, not at the next evening's opening
    assert r.pool_summary.iloc[0]["overtime_s"] < 2 * HOUR


def test_a_late_day_takes_a_late_trace_and_a_per_interval_schedule(tmp_path):
    (tmp_path / "a.csv").write_text("time\n17:59:00\n18:30:00\n23:59:00\n25:30:00\n26:00:00\n")
    (tmp_path / "b.csv").write_text("time,day\n17:59:00,1\n18:30:00,1\n23:59:00,1\n01:30:00,2\n02:00:00,2\n")
    s = scenario("""
        name: late trace
        horizon: {start: "18:00", end: "26:00", interval: 120min}
        channels:
          calls: {arrivals: {trace: {file: a.csv}}, entry: answer}
        pools:
          agents: {schedule: [1, 1, 2, 1], skills: {answer: 1.0}}
        steps:
          answer: {handle_time: {dist: deterministic, value: 60s}}
        """, base_dir=tmp_path)
    r = servsim.simulate(s, seed=1)
    # 17:59 is before opening; 26:00 is the close itself
    assert r.contacts["arrival_s"].tolist() == [18.5 * HOUR, 23 * HOUR + 59 * 60, 25.5 * HOUR]
    assert r.contacts["interval"].tolist() == [0, 2, 3]
    assert r.pools["staffed_s"].tolist() == [2 * HOUR, 2 * HOUR, 4 * HOUR, 2 * HOUR]
    other = scenario("""
        name: late trace
        horizon: {start: "18:00", end: "26:00", interval: 120min}
        channels:
          calls: {arrivals: {trace: {file: b.csv, day_column: day}}, entry: answer}
        pools:
          agents: {schedule: [1, 1, 2, 1], skills: {answer: 1.0}}
        steps:
          answer: {handle_time: {dist: deterministic, value: 60s}}
        """, base_dir=tmp_path)
    assert servsim.simulate(other, seed=1).contacts["arrival_s"].tolist() == r.contacts["arrival_s"].tolist()


# --------------------------------------------------------------------------- busyness
BUSY = """
name: busy
horizon: {{start: "08:00", end: "16:00", interval: 30min}}
channels:
  calls: {{arrivals: {{rate: 1/min{busy}}}, entry: answer}}
pools:
  agents: {{agents: 40, skills: {{answer: 1.0}}}}
steps:
  answer: {{handle_time: {{dist: exponential, mean: 1min}}}}
"""


@pytest.mark.parametrize("busy", [", busyness: {cv: 0}", ", busyness: {cv: 0.0, per: interval}"])
def test_busyness_with_cv_0_gives_exactly_todays_numbers(busy):
    plain = servsim.replicate(scenario(BUSY.format(busy="")), replications=3, seed=9)
    zero = servsim.replicate(scenario(BUSY.format(busy=busy)), replications=3, seed=9)
    assert plain.summary.equals(zero.summary)
    assert plain.pool_summary.equals(zero.pool_summary)


def _offered(text: str, n: int) -> np.ndarray:
    plan = compile_plan(scenario(text))
    return np.array([len(run(plan, ss).arrival) for ss in replication_seeds(11, n)], dtype=float)


def _variance_interval(x: np.ndarray, level: float = LEVEL) -> tuple[float, float, float]:
    """Sample variance s² and its asymptotic interval s² ± z·se, se² = (m₄ − s⁴ (n−3)/(n−1)) / n with
    the sample's own fourth central moment m₄ (valid for a non-normal count, unlike the χ² interval)."""
    n = len(x)
    s2 = float(x.var(ddof=1))
    m4 = float(((x - x.mean()) ** 4).mean())
    se = math.sqrt(max(m4 - s2 * s2 * (n - 3) / (n - 1), 0.0) / n)
    z = st.norm.ppf(0.5 + level / 2)
    return s2, s2 - z * se, s2 + z * se


@pytest.mark.parametrize("cv,per", [(0.2, "day"), (0.4, "interval")])
def test_busyness_widens_the_spread_of_offered_by_the_gamma_variance(cv, per):
    x = _offered(BUSY.format(busy=f", busyness: {{cv: {cv}, per: {per}}}"), 600)
    means = [30.0] * 16     # 1/min over sixteen half-hours: m = 480 a day
    want = theory.poisson_gamma_variance(means, cv, shared=per == "day")
    s2, lo, hi = _variance_interval(x)
    assert lo <= want <= hi, (s2, lo, hi, want)
    assert not lo <= 480.0 <= hi    # plain Poisson is outside: the test needs the mechanism
    ci = t_interval(x, LEVEL)
    assert abs(ci.mean - 480.0) <= ci.half_width    # mean 1: the forecast is right on average


def test_busyness_multiplies_the_day_factors_by_draws_of_its_own_stream():
    from servsim.engine.core import Engine
    from servsim.random import Streams

    text = BUSY.format(busy=", busyness: {cv: 0.3}, day_factors: [1.0, 2.0]").replace(
        "interval: 30min}", "interval: 30min, days: 2}")
    plan = compile_plan(scenario(text))
    b = Streams(4).generator("busyness/calls").gamma(1 / 0.09, 0.09, size=2)
    pieces = Engine(plan, 4).channels[0].rate_pieces
    assert len(pieces) == 32
    assert {r for _, _, r in pieces[:16]} == {1 / 60 * b[0]}
    assert {r for _, _, r in pieces[16:]} == {2 / 60 * b[1]}
    # per interval: one draw per interval of every day, in time order
    plan = compile_plan(scenario(text.replace("cv: 0.3}", "cv: 0.3, per: interval}")))
    b = Streams(4).generator("busyness/calls").gamma(1 / 0.09, 0.09, size=32)
    rates = np.array([r for _, _, r in Engine(plan, 4).channels[0].rate_pieces])
    assert np.array_equal(rates, np.r_[np.full(16, 1 / 60), np.full(16, 2 / 60)] * b)


# --------------------------------------------------------------------------- per-interval factors
FACTORS = """
name: factors
horizon: {{start: "08:00", end: "11:00", interval: 60min, closing: drain}}
channels:
  calls:
    arrivals: {{rates: [2/min, 2/min, 0/min]}}
    entry: answer
    {patience}
pools:
  agents: {{agents: {agents}, skills: {{answer: 1.0}}}}
steps:
  answer:
    handle_time: {{dist: exponential, mean: 2min}}
    {handle}
"""


def _per_interval(r: servsim.Replications, column: str) -> dict[int, np.ndarray]:
    iv = r.intervals
    iv = iv[iv["channel"] == "calls"]
    return {k: g.sort_values("replication")[column].to_numpy(dtype=float) for k, g in iv.groupby("interval")}


def test_handle_time_factors_scale_the_mean_handle_time_of_their_interval():
    # 60 agents for at most ~12 erlangs: nobody waits, so service starts in the interval of arrival;
    # the drain completes every service, so no long one is cut off at the end
    text = FACTORS.format(patience="", agents=60, handle="handle_time_factors: [1.0, 2.5, 1.0]")
    per = _per_interval(servsim.replicate(scenario(text), replications=12, seed=3), "mean_handle_s")
    for k, want in ((0, 120.0), (1, 300.0)):
        ci = t_interval(per[k], LEVEL)
        assert abs(ci.mean - want) <= ci.half_width, (k, ci)
    assert abs(t_interval(per[1], LEVEL).mean - 120.0) > 5 * t_interval(per[1], LEVEL).half_width


def test_patience_factors_scale_the_patience_of_waits_starting_in_their_interval():
    # nobody on duty: every caller abandons after its patience × the factor of its arrival interval
    text = FACTORS.format(patience="patience: {dist: exponential, mean: 1min}\n    patience_factors: [1.0, 3.0, 1.0]",
                          agents=0, handle="")
    per = _per_interval(servsim.replicate(scenario(text), replications=12, seed=3), "mean_wait_s")
    for k, want in ((0, 60.0), (1, 180.0)):
        ci = t_interval(per[k], LEVEL)
        assert abs(ci.mean - want) <= ci.half_width, (k, ci)
    assert abs(t_interval(per[1], LEVEL).mean - 60.0) > 5 * t_interval(per[1], LEVEL).half_width


def test_a_drain_lasts_to_the_end_of_the_last_wrap_up(tmp_path):
    (tmp_path / "arrivals.csv").write_text("time\n00:01:00\n00:01:10\n00:01:20\n")
    s = scenario("""
        name: drain with wrap-up
        horizon: {start: "00:00", end: "00:02", interval: 1min, closing: drain}
        channels:
          calls: {arrivals: {trace: {file: arrivals.csv}}, entry: answer}
        pools:
          agents: {agents: 1, skills: {answer: 1.0}}
        steps:
          answer:
            handle_time: {dist: deterministic, value: 90s}
            wrap_up: {dist: deterministic, value: 30s}
        """, base_dir=tmp_path)
    for log in (True, False):
        r = servsim.simulate(s, seed=1, log=log)
        if log:
            assert r.visits["start_s"].tolist() == [60.0, 180.0, 300.0]
        pool = r.pool_summary.iloc[0]
        # the agent wraps up the third call until 420 s: 300 s after close
        assert (pool["overtime_s"], pool["paid_s"]) == (300.0, 420.0)


@pytest.mark.parametrize("closing", ["drain", "drop"])
def test_closing_with_individual_agents_and_wrap_up_leaves_nobody_and_agrees_without_the_log(closing):
    s = scenario(f"""
        name: roster
        horizon: {{start: "08:00", end: "12:00", interval: 30min, days: 2, closing: {closing}}}
        channels:
          calls: {{arrivals: {{rate: 5/min}}, entry: answer, patience: {{dist: exponential, mean: 5min}}}}
        pools:
          agents: {{agents: 10, skills: {{answer: 1.0}}, agent_proficiencies: [0.8, 0.9, 1.0, 1.1, 1.2]}}
        steps:
          answer: {{handle_time: {{dist: exponential, mean: 2min}}, wrap_up: {{dist: exponential, mean: 20s}}}}
        """)
    a, b = servsim.simulate(s, seed=3), servsim.simulate(s, seed=3, log=False)
    # the agents off duty at close still finish the calls in hand (drop), or all stay (drain)
    assert _overall(a, "in_system_end")[0] == 0
    assert a.pool_summary.iloc[0]["overtime_s"] > 0
    assert a.pool_summary.iloc[0]["overtime_s"] == pytest.approx(b.pool_summary.iloc[0]["overtime_s"], rel=1e-12)
