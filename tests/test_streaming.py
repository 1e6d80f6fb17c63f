"""Runs without a per-contact log (``log=False``): the same summary, interval and pool tables and
costs as with the log on, from per-interval sums, in memory that does not grow with the contacts.

Exact bookkeeping, not statistics: both runs share scenario and seed, so the engine makes the same
moves; counts must be equal and sums and means equal up to the order of floating-point additions.
"""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np
import pandas as pd
import pytest

import servsim
from servsim.engine import LiveRows, compile_plan, record, run
from servsim.metrics.cells import N_BINS, hist_percentiles, wait_bins
from servsim.metrics.cells import CellSums as Accumulator
from conftest import ROOT, scenario

PERCENTILES = ["p90_wait_s", "p95_wait_s"]

MMC_WARMUP = """
name: short M/M/c with warm-up
horizon: {start: "08:00", end: "14:00", interval: 30min, warmup: 75min}
channels:
  calls:
    arrivals: {rate: 9/min}
    entry: answer
    patience: {dist: exponential, mean: 3min}
segments:
  vip: {share: 0.2, priority: 2}
  regular: {share: 0.8}
pools:
  agents: {agents: 10, skills: {answer: 1.0}}
steps:
  answer: {handle_time: {dist: exponential, mean: 1min}}
targets:
  service_level: {threshold: 15s, goal: 0.8}
"""

#: balking with retrials: contacts leave at arrival, come back, and their patience is timed
REDIAL = """
name: redial
horizon: {start: "08:00", end: "12:00", interval: 60min}
channels:
  phone:
    arrivals: {rate: 10/min}
    entry: call
    patience: {dist: exponential, mean: 1min}
    balking: {queue: 5, probability: 0.5}
    retrial: {probability: 0.6, delay: {dist: exponential, mean: 3min}}
pools:
  team: {agents: 9, cost_per_hour: 20, skills: {call: 1.0}}
steps:
  call: {handle_time: {dist: exponential, mean: 1min}}
economics:
  penalties: {per_abandoned: 2.0, per_interval_missing_target: 50}
"""

#: stops at max_in_system: contacts still present at the end, in service and waiting
STOPPED = """
name: overloaded
horizon: {days: 2, interval: 60min}
channels:
  calls: {arrivals: {rate: 12/min}, entry: answer}
pools:
  agents: {agents: 10, skills: {answer: 1.0}}
steps:
  answer: {handle_time: {dist: exponential, mean: 1min}}
limits: {max_in_system: 300}
"""

#: wrap-up after calls (proficiency 0.9), after back-office notes and after chats (concurrency 2),
#: with shifts ending while agents wrap up and wrap-ups running past the end
WRAPUP = """
name: wrap-up
horizon: {start: "08:00", end: "11:00", interval: 30min, warmup: 30min}
channels:
  calls:
    arrivals: {rate: 6/min}
    entry: answer
    patience: {dist: exponential, mean: 2min}
  chats: {kind: chat, arrivals: {rate: 1.5/min}, entry: chat}
pools:
  agents:
    shifts: [{start: "08:00", end: "09:40", agents: 7}, {start: "09:00", end: "11:00", agents: 6}]
    skills: {answer: 0.9, notes: 1.0}
  chatters: {agents: 3, concurrency: 2, skills: {chat: 1.0}}
steps:
  answer:
    handle_time: {dist: exponential, mean: 1min}
    wrap_up: {dist: exponential, mean: 20s}
    next: {exit: 0.8, notes: 0.2}
  notes: {stage: back, handle_time: {dist: deterministic, value: 90s}, wrap_up: {dist: deterministic, value: 15s}}
  chat: {handle_time: {dist: exponential, mean: 3min}, wrap_up: {dist: exponential, mean: 30s}}
"""

#: blended agents answer calls and work emails set aside when calls come (resume), a second pool
#: restarts the emails it is taken from; filing after a reply is not interruptible
PREEMPT = """
name: blended
horizon: {start: "08:00", end: "12:00", interval: 30min, warmup: 30min}
channels:
  calls:
    arrivals: {rate: 2.5/min}
    entry: answer
    patience: {dist: exponential, mean: 3min}
  emails: {kind: email, arrivals: {rate: 0.9/min}, entry: reply}
pools:
  blended: {agents: 7, skills: {answer: {priority: 1}, reply: {interruptible: resume}, file: 1.0}}
  flex: {agents: 3, skills: {answer: {priority: 1}, reply: {interruptible: restart}}}
steps:
  answer: {handle_time: {dist: exponential, mean: 2min}, wrap_up: {dist: exponential, mean: 15s}}
  reply: {stage: back, handle_time: {dist: exponential, mean: 4min}, next: {exit: 0.7, file: 0.3}}
  file: {stage: back, handle_time: {dist: exponential, mean: 1min}}
"""


#: individual agents with drawn proficiencies, shifts with breaks and a warm-up, longest-idle
#: routing between two pools at both steps (a front and a back one)
AGENTS = """
name: individual agents
horizon: {start: "08:00", end: "16:00", interval: 30min, warmup: 45min}
channels:
  calls: {arrivals: {rate: 5/min}, entry: answer, patience: {dist: exponential, mean: 3min}}
pools:
  early:
    shifts: [{start: "08:00", end: "12:00", agents: 4, breaks: [{start: "10:00", end: "11:00", length: 15min}]},
             {start: "09:00", end: "16:00", agents: 3}]
    agent_proficiency: {cv: 0.4}
    skills: {answer: 1.0, follow_up: 1.0}
  late: {agents: 3, skills: {answer: 1.2}}
  desk: {agents: 2, skills: {follow_up: 1.0}}
steps:
  answer: {handle_time: {dist: exponential, mean: 2min}, next: {exit: 0.7, follow_up: 0.3}}
  follow_up: {stage: back, handle_time: {dist: exponential, mean: 3min}}
routing: {idle_pools: longest_idle}
"""

#: individual agents who wrap up after calls and set follow-ups aside for calls
AGENTS_BLENDED = (AGENTS.replace("skills: {answer: 1.0, follow_up: 1.0}",
                                 "skills: {answer: {priority: 1}, follow_up: {interruptible: resume}}")
                  .replace("answer: {handle_time: {dist: exponential, mean: 2min},",
                           "answer: {handle_time: {dist: exponential, mean: 2min}, wrap_up: {dist: exponential, mean: 20s},"))
assert AGENTS_BLENDED.count("interruptible") == 1 and AGENTS_BLENDED.count("wrap_up") == 1


#: finite capacity: a trunk shared by two channels (one redialling), a front-stage waiting room with
#: lazily abandoning contacts, a back-stage one dropping work, an unlimited agents pool
CAPACITY = """
name: finite capacity
horizon: {start: "08:00", end: "14:00", interval: 30min, warmup: 30min}
trunks: {main: {lines: 14}}
channels:
  calls:
    arrivals: {rate: 9/min}
    entry: answer
    lines: main
    patience: {dist: exponential, mean: 2min}
    retrial: {probability: 0.5, delay: {dist: exponential, mean: 5min}}
  priority:
    arrivals: {rate: 2/min}
    entry: answer
    lines: main
    patience: {dist: exponential, mean: 2min}
  web: {arrivals: {rate: 3/min}, entry: answer, lines: 4}
pools:
  agents: {agents: 10, skills: {answer: 1.0}}
  clerks: {agents: 2, skills: {file: 1.0}}
  checkers: {agents: unlimited, cost_per_hour: 20, skills: {check: 1.0}}
steps:
  answer: {handle_time: {dist: exponential, mean: 1min}, queue_capacity: 3, next: {exit: 0.7, file: 0.3}}
  file: {stage: back, handle_time: {dist: exponential, mean: 6min}, queue_capacity: 5, next: check}
  check: {stage: back, handle_time: {dist: exponential, mean: 20min}}
"""

#: callbacks (kept in place and when idle), one patience per contact over two front-stage steps,
#: head starts, a patience atom at zero and retrials keeping their patience
VIRTUAL_HOLD = """
name: virtual hold
horizon: {start: "08:00", end: "12:00", interval: 30min}
channels:
  calls:
    arrivals: {rate: 9/min}
    entry: answer
    patience: {dist: exponential, mean: 2min, zero: 0.1}
    patience_per: contact
    callback: {offer_when: {wait_over: 40s}, accept: 0.6}
    retrial: {probability: 0.5, delay: {dist: exponential, mean: 2min}, keep_patience: true}
  web:
    arrivals: {rate: 2/min}
    entry: answer
    patience: {dist: lognormal, mean: 3min, cv: 1}
    callback: {offer_when: {predicted_wait_over: 1min}, accept: 0.5, mode: when_idle}
segments:
  vip: {share: 0.2, priority: 1, head_start: 45s}
  regular: {share: 0.8}
pools:
  agents: {agents: 10, skills: {answer: 1.0, expert: 1.0}}
steps:
  answer: {handle_time: {dist: exponential, mean: 1min}, next: {expert: 0.2, exit: 0.8}}
  expert: {handle_time: {dist: exponential, mean: 2min}}
"""

#: the same with individual agents of drawn proficiencies who wrap up after answering: callbacks
#: are taken by the longest-idle agent and wrapped up after, as the calls they replace
VIRTUAL_HOLD_AGENTS = (VIRTUAL_HOLD.replace("agents: {agents: 10, skills: {answer: 1.0, expert: 1.0}}",
                                            "agents: {agents: 10, agent_proficiency: {cv: 0.3}, "
                                            "skills: {answer: 1.0, expert: 1.0}}")
                       .replace("answer: {handle_time: {dist: exponential, mean: 1min},",
                                "answer: {handle_time: {dist: exponential, mean: 1min}, "
                                "wrap_up: {dist: exponential, mean: 15s},"))
assert VIRTUAL_HOLD_AGENTS.count("agent_proficiency") == 1 and VIRTUAL_HOLD_AGENTS.count("wrap_up") == 1


def _file(name: str) -> servsim.Scenario:
    return servsim.load_scenario(ROOT / "scenarios" / name)


CASES = {
    "mmc": lambda: _file("mmc.yaml"),
    "bank": lambda: _file("bank_contact_centre.yaml"),
    "multichannel": lambda: _file("multichannel_contact_centre.yaml"),
    "claims_rpa": lambda: _file("claims_rpa.yaml"),
    "vendor_overflow": lambda: _file("vendor_overflow.yaml"),
    "back_office_rework": lambda: _file("back_office_rework.yaml"),
    "mmc_warmup": lambda: scenario(MMC_WARMUP),
    "redial": lambda: scenario(REDIAL),
    "stopped": lambda: scenario(STOPPED),
    "agents": lambda: scenario(AGENTS),
    "agents_blended": lambda: scenario(AGENTS_BLENDED),
    "wrapup": lambda: scenario(WRAPUP),
    "preempt": lambda: scenario(PREEMPT),
    "capacity": lambda: scenario(CAPACITY),
    "virtual_hold": lambda: scenario(VIRTUAL_HOLD),
    "virtual_hold_agents": lambda: scenario(VIRTUAL_HOLD_AGENTS),
}


def assert_same_table(on: pd.DataFrame, off: pd.DataFrame, nan_percentiles: bool = False) -> None:
    """Column by column: same names, order, dtypes and rows; floats within 1e-9 relative; percentile
    columns within the histogram's resolution (0.5 % or 0.01 s), or NaN where documented."""
    assert list(off.columns) == list(on.columns)
    assert len(off) == len(on)
    for col in on.columns:
        a, b = on[col], off[col]
        assert a.dtype == b.dtype, col
        if col in PERCENTILES:
            if nan_percentiles:
                assert b.isna().all(), col
            else:
                np.testing.assert_allclose(b.to_numpy(float), a.to_numpy(float), rtol=5e-3, atol=0.01, err_msg=col)
        elif a.dtype.kind in "fc":
            np.testing.assert_allclose(b.to_numpy(float), a.to_numpy(float), rtol=1e-9, atol=1e-9, err_msg=col)
        else:
            assert (a.astype(str).to_numpy() == b.astype(str).to_numpy()).all(), col


def _compare(s: servsim.Scenario, seed: int) -> tuple[servsim.RunResult, servsim.RunResult]:
    on = servsim.simulate(s, seed=seed)
    off = servsim.simulate(s, seed=seed, log=False)
    assert_same_table(on.summary, off.summary)
    assert_same_table(on.intervals, off.intervals, nan_percentiles=True)
    assert_same_table(on.pools, off.pools)
    assert_same_table(on.pool_summary, off.pool_summary)
    assert_same_table(on.agents, off.agents)
    assert off.stopped == on.stopped
    return on, off


@pytest.mark.parametrize("case", list(CASES))
def test_log_off_tables_equal_log_on(case: str):
    on, off = _compare(CASES[case](), seed=11)
    assert on.log and not off.log
    assert on.summary["offered"].iloc[0] > 0


@pytest.mark.parametrize("case", ["multichannel", "claims_rpa", "redial", "stopped", "agents", "wrapup", "preempt",
                                  "agents_blended", "capacity",
                                  "virtual_hold", "virtual_hold_agents"])
def test_tiny_chunks_change_nothing(case: str, monkeypatch: pytest.MonkeyPatch):
    """Contacts folded 10 at a time, the window compacted to the newest 3: chunk edges cut through
    busy periods, visits and intervals, contacts and visits move to the held rows, and the tables
    are still the same."""
    monkeypatch.setattr(record, "CHUNK", 10)
    monkeypatch.setattr(record, "BATCH", 3)
    _compare(CASES[case](), seed=5)


def test_mechanisms_are_exercised():
    """The cases above cover what the recorder must get right: retrials and balking, abandonment,
    contacts still present at the end, warm-up, several channels and segments, bots and vendors."""
    s = servsim.simulate(CASES["redial"](), seed=11, log=False).summary.iloc[0]
    assert s["balked"] > 0 and s["retrials"] > 0 and s["abandoned"] > 0 and s["penalty_cost"] > 0
    stopped = servsim.simulate(CASES["stopped"](), seed=11, log=False)
    assert stopped.stopped and stopped.summary["in_system_end"].iloc[0] > 0
    multi = servsim.simulate(CASES["multichannel"](), seed=11, log=False).summary.iloc[0]
    assert multi["contained"] > 0 and multi["unresolved"] > 0
    assert servsim.simulate(CASES["vendor_overflow"](), seed=11, log=False).summary["outsourced"].iloc[0] > 0
    cap = servsim.simulate(CASES["capacity"](), seed=11, log=False)
    c = servsim.simulate(CASES["capacity"](), seed=11).contacts
    assert cap.summary["blocked"].iloc[0] > 0 and cap.summary["abandoned"].iloc[0] > 0
    # blocked by the shared trunk, by the front-stage room and by the back-stage room (2 visits)
    blocked = c[c["outcome"] == "blocked"]
    assert (blocked["visits"] == 0).any() and (blocked["visits"] == 1).any()


def test_contacts_and_visits_are_empty_with_the_columns_of_the_log():
    s = CASES["mmc_warmup"]()
    on, off = servsim.simulate(s, seed=1), servsim.simulate(s, seed=1, log=False)
    for name in ("contacts", "visits"):
        assert list(getattr(off, name).columns) == list(getattr(on, name).columns)
        assert len(getattr(off, name)) == 0 < len(getattr(on, name))


def test_replicate_without_log():
    s = CASES["mmc_warmup"]()
    on = servsim.replicate(s, replications=2, seed=4)
    off = servsim.replicate(s, replications=2, seed=4, log=False)
    assert_same_table(on.summary, off.summary)
    kpi_on, kpi_off = on.kpi_table(), off.kpi_table()
    exact = ~kpi_on["metric"].isin(PERCENTILES).to_numpy()
    assert_same_table(kpi_on[exact], kpi_off[exact])
    np.testing.assert_allclose(kpi_off["mean"][~exact], kpi_on["mean"][~exact], rtol=5e-3)


def test_histogram_percentiles_within_half_a_percent():
    rng = np.random.default_rng(3)
    for w in (np.r_[np.zeros(500), rng.exponential(40.0, 2000)],          # waits of a call centre
              rng.lognormal(np.log(3 * 3600), 1.5, 5000),                  # back-office waits, hours
              np.r_[np.zeros(10), rng.uniform(0, 0.02, 7)],                # tiny waits: 0.01 s absolute
              np.array([12.0])):
        counts = np.bincount(wait_bins(w), minlength=N_BINS)
        assert len(counts) == N_BINS
        got = hist_percentiles(counts, (50, 90, 95))
        want = np.percentile(w, [50, 90, 95])
        np.testing.assert_allclose(got, want, rtol=5e-3, atol=0.01)
    assert all(np.isnan(hist_percentiles(np.zeros(10, dtype=np.int64), (90,))))


MM10 = """
name: M/M/10 long
horizon: {{start: "00:00", end: "24:00", days: {days}, interval: 60min}}
channels:
  calls: {{arrivals: {{rate: 9.5/min}}, entry: answer}}
pools:
  agents: {{agents: 10, skills: {{answer: 1.0}}}}
steps:
  answer: {{handle_time: {{dist: exponential, mean: 1min}}}}
"""


def _peak_growth(days: int) -> tuple[int, int]:
    """(contacts, peak traced memory above the start) of an engine run without a log."""
    plan = compile_plan(scenario(MM10.format(days=days)))
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        acc = Accumulator(plan)
        rec = run(plan, 1, LiveRows(acc))
        acc.summary(rec.end_time), acc.intervals(), acc.pools()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return rec.contacts, peak - base


def test_memory_does_not_grow_with_the_contacts():
    """10× the contacts, and the peak does not move: rows of the contacts in the system plus one
    chunk are all that is held (with the log, ~55 bytes per contact: ~9 MB for 160k)."""
    plan = compile_plan(scenario(MM10.format(days=1)))
    run(plan, 0, LiveRows(Accumulator(plan)))  # imports and caches first used by a run
    n_small, small = _peak_growth(1)
    n_big, big = _peak_growth(12)
    assert n_big > 10 * n_small > 100_000
    assert big - small < 2e6, (small, big)
    assert big < 55 * n_big / 2, big


def test_run_stopped_by_simultaneous_arrivals(write):
    """A burst at 08:10 overflows the system: the run ends at 08:10, and the contacts that arrived at
    that very instant are outside Little's law's window [warm-up end, 08:10)."""
    write("calls.csv", "time\n" + "08:00:00\n" * 5 + "08:10:00\n" * 40)
    path = write("burst.yaml", """
        name: burst
        horizon: {start: "08:00", end: "09:00", interval: 15min}
        channels:
          calls: {arrivals: {trace: {file: calls.csv}}, entry: answer}
        pools:
          agents: {agents: 2, skills: {answer: 1.0}}
        steps:
          answer: {handle_time: {dist: exponential, mean: 2min}}
        limits: {max_in_system: 20}
    """)
    on, off = _compare(servsim.load_scenario(path), seed=2)
    assert on.stopped and (on.contacts["arrival_s"] == 8 * 3600 + 600).sum() > 1
    assert off.summary["littles_L"].iloc[0] > 0
