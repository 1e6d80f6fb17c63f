"""Callbacks (virtual hold), patience rules and head starts: exact timelines and bookkeeping.

Each test fails without its mechanism: a callback that did not keep the caller's place would be
served at another time; a patience drawn afresh at each front-stage step lets a customer wait longer
than their patience in all; strict priority or FIFO orders the head-start timeline differently; a
fresh patience on a retrial breaks the equality of the two attempts' waits.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import servsim
from conftest import scenario

HORIZON = '{start: "00:00", end: "02:00", interval: 60min}'


def one_agent(tmp_path, times, channel_extra="", handle="60s", patience=None):
    """Calls replayed at ``times`` to one agent with a fixed handle time."""
    (tmp_path / "arrivals.csv").write_text("time\n" + "\n".join(times) + "\n")
    pat = f"patience: {patience}" if patience else ""
    return scenario(f"""
        name: one agent
        horizon: {HORIZON}
        channels:
          calls:
            arrivals: {{trace: {{file: arrivals.csv}}}}
            entry: answer
            {pat}
            {channel_extra}
        pools:
          agents: {{agents: 1, skills: {{answer: 1.0}}}}
        steps:
          answer: {{handle_time: {{dist: deterministic, value: {handle}}}}}
        """, base_dir=tmp_path)


def served_starts(r) -> list[float]:
    """Each contact's service start (its served visit), in contact order."""
    v = r.visits
    v = v[v["outcome"].astype(str) == "served"]
    return v.sort_values("contact")["start_s"].tolist()


# ----------------------------------------------------------------- callbacks
def test_a_callback_keeps_the_callers_place(tmp_path):
    times = ["00:00:00", "00:00:10", "00:00:20", "00:00:30"]
    plain = servsim.simulate(one_agent(tmp_path, times), seed=1)
    assert served_starts(plain) == [0.0, 60.0, 120.0, 180.0]
    cb = "callback: {offer_when: {wait_over: 30s}, accept: 1.0, mode: keep_place}"
    r = servsim.simulate(one_agent(tmp_path, times, cb), seed=1)
    # every callback is made exactly when the caller would have been reached
    assert served_starts(r) == served_starts(plain)
    v = r.visits.sort_values(["contact", "queued_s"])
    assert v["step"].astype(str).tolist() == ["answer"] + ["answer", "answer@callback"] * 3
    assert v["outcome"].astype(str).tolist() == ["served"] + ["callback", "served"] * 3
    # the callers hang up after 30 s on hold; the callback waits from then to the call back
    hold = v[v["outcome"].astype(str) == "callback"]
    assert hold["end_s"].tolist() == [40.0, 50.0, 60.0]
    back = v[v["step"].astype(str) == "answer@callback"]
    assert back["queued_s"].tolist() == [40.0, 50.0, 60.0]
    assert back["wait_s"].tolist() == [20.0, 70.0, 120.0]
    c = r.contacts
    assert c["callback_accepted"].tolist() == [False, True, True, True]
    assert c["outcome"].astype(str).tolist() == ["handled"] * 4
    # answered at acceptance: the wait is the time on hold
    assert c["wait_s"].tolist() == [0.0, 30.0, 30.0, 30.0]
    row = r.summary.iloc[0]
    assert (row["callbacks_offered"], row["callbacks_accepted"]) == (3, 3)
    assert row["callback_wait_s"] == pytest.approx(70.0)
    # a callback has no patience left: with a patience of 45 s the plain callers 3 and 4 abandon
    pat = "{dist: deterministic, value: 45s}"
    assert served_starts(servsim.simulate(one_agent(tmp_path, times, patience=pat), seed=1)) == [0.0, 60.0]
    with_cb = servsim.simulate(one_agent(tmp_path, times, cb, patience=pat), seed=1)
    assert served_starts(with_cb) == served_starts(plain)


def test_when_idle_callbacks_wait_until_no_caller_waits(tmp_path):
    # predicted wait = waiting (this caller included) × 60 s / 1 agent; over 90 s: callback offered
    times = ["00:00:00", "00:00:10", "00:00:20", "00:00:30", "00:01:40"]
    idle = "callback: {offer_when: {predicted_wait_over: 90s}, mode: when_idle}"
    r = servsim.simulate(one_agent(tmp_path, times, idle), seed=1)
    # caller 2 (60 s predicted) waits; 3 and 4 (120 s) take callbacks; caller 5, arriving at 100 s
    # with nobody on hold before it, is served before the callbacks
    assert served_starts(r) == [0.0, 60.0, 180.0, 240.0, 120.0]
    assert r.contacts["callback_accepted"].tolist() == [False, False, True, True, False]
    # keeping their place, callbacks ahead count in the predicted wait: caller 5 now sees 180 s
    keep = idle.replace("when_idle", "keep_place")
    r = servsim.simulate(one_agent(tmp_path, times, keep), seed=1)
    assert served_starts(r) == [0.0, 60.0, 120.0, 180.0, 240.0]
    assert r.contacts["callback_accepted"].tolist() == [False, False, True, True, True]


def test_declined_offers_are_counted_and_keep_waiting(tmp_path):
    times = ["00:00:00", "00:00:10", "00:00:20", "00:00:30"]
    r = servsim.simulate(one_agent(tmp_path, times, "callback: {offer_when: {wait_over: 30s}, accept: 0.0}"),
                         seed=1)
    assert served_starts(r) == [0.0, 60.0, 120.0, 180.0]
    c = r.contacts
    assert c["callback_offered"].tolist() == [False, True, True, True]
    assert not c["callback_accepted"].any()
    row = r.summary.iloc[0]
    assert (row["callbacks_offered"], row["callbacks_accepted"]) == (3, 0)
    assert np.isnan(row["callback_wait_s"])


def mmc(extra: str = "", patience: str = "", days: int = 1, lam: str = "9/min", agents: int = 10) -> servsim.Scenario:
    pat = f"patience: {patience}" if patience else ""
    return scenario(f"""
        name: mmc
        horizon: {{start: "00:00", end: "24:00", days: {days}, interval: 60min, warmup: 2h}}
        channels:
          calls:
            arrivals: {{rate: {lam}}}
            entry: answer
            {pat}
            {extra}
        pools:
          agents: {{agents: {agents}, skills: {{answer: 1.0}}}}
        steps:
          answer: {{handle_time: {{dist: exponential, mean: 1min}}}}
        """)


def test_callbacks_keeping_their_place_leave_every_service_start_of_a_random_run_unchanged():
    # without patience, callbacks that keep their place change nobody's turn; the call back takes the
    # step's next handle time, so the whole timeline is that of the plain M/M/10
    plain = servsim.simulate(mmc(), seed=5)
    r = servsim.simulate(mmc("callback: {offer_when: {wait_over: 20s}, accept: 0.5}"), seed=5)
    assert r.summary.iloc[0]["callbacks_accepted"] > 500
    assert served_starts(r) == served_starts(plain)
    np.testing.assert_array_equal(r.contacts["exit_s"], plain.contacts["exit_s"])  # NaN: still there at the end


# ----------------------------------------------------------------- one patience per contact
def two_front_steps(tmp_path, times, patience, per):
    (tmp_path / "arrivals.csv").write_text("time\n" + "\n".join(times) + "\n")
    return scenario(f"""
        name: transfer
        horizon: {HORIZON}
        channels:
          calls:
            arrivals: {{trace: {{file: arrivals.csv}}}}
            entry: answer
            patience: {patience}
            patience_per: {per}
        pools:
          front: {{agents: 1, skills: {{answer: 1.0}}}}
          experts: {{agents: 1, skills: {{expert: 1.0}}}}
        steps:
          answer: {{handle_time: {{dist: deterministic, value: 10s}}, next: expert}}
          expert: {{handle_time: {{dist: deterministic, value: 100s}}}}
        """, base_dir=tmp_path)


def test_one_patience_per_contact_deducts_the_waits_already_spent(tmp_path):
    # caller 2 waits 5 s at answer (5..10), is answered 10..20, then waits at expert from 20 until the
    # expert is free at 110 (90 s). A fresh 92 s patience at expert lasts; what is left of one 92 s
    # patience, 87 s, runs out at 20 + 87 = 107 s.
    times = ["00:00:00", "00:00:05"]
    pat = "{dist: deterministic, value: 92s}"
    visit = servsim.simulate(two_front_steps(tmp_path, times, pat, "visit"), seed=1).contacts
    assert visit["outcome"].astype(str).tolist() == ["handled", "handled"]
    contact = servsim.simulate(two_front_steps(tmp_path, times, pat, "contact"), seed=1).contacts
    assert contact["outcome"].astype(str).tolist() == ["handled", "abandoned"]
    assert contact["exit_s"].tolist() == [110.0, 107.0]
    assert contact["total_wait_s"].tolist() == [0.0, 92.0]


def random_transfers(per: str) -> servsim.Scenario:
    return scenario(f"""
        name: transfers
        horizon: {{start: "00:00", end: "12:00", interval: 60min}}
        channels:
          calls:
            arrivals: {{rate: 5/min}}
            entry: answer
            patience: {{dist: deterministic, value: 90s}}
            patience_per: {per}
        pools:
          front: {{agents: 4, skills: {{answer: 1.0}}}}
          experts: {{agents: 3, skills: {{expert: 1.0}}}}
        steps:
          answer: {{handle_time: {{dist: exponential, mean: 45s}}, next: {{expert: 0.5, exit: 0.5}}}}
          expert: {{handle_time: {{dist: exponential, mean: 70s}}}}
        """)


def test_with_one_patience_per_contact_no_customer_waits_longer_than_it_in_all():
    # bookkeeping over a random run: with a 90 s patience, the front-stage waits of a contact add up
    # to at most 90 s, and exactly 90 s for those who abandon; a patience per visit exceeds it
    c = servsim.simulate(random_transfers("contact"), seed=3).contacts
    done = c[c["outcome"].astype(str) != "in_system"]
    assert (done["total_wait_s"] <= 90.0 + 1e-9).all()
    ab = done[done["outcome"].astype(str) == "abandoned"]
    assert len(ab) > 50
    assert np.allclose(ab["total_wait_s"], 90.0, rtol=0, atol=1e-9)
    v = servsim.simulate(random_transfers("visit"), seed=3).contacts
    assert (v["total_wait_s"] > 90.0 + 1e-6).sum() > 10


def test_one_patience_per_contact_at_a_single_front_step_changes_nothing():
    pat = "{dist: exponential, mean: 2min}"
    a = servsim.simulate(mmc(patience=pat, lam="10/min"), seed=2)
    b = servsim.simulate(mmc("patience_per: contact", patience=pat, lam="10/min"), seed=2)
    pd.testing.assert_frame_equal(a.contacts, b.contacts)


# ----------------------------------------------------------------- head starts
def two_segments(tmp_path, normal, vip, vip_segment):
    (tmp_path / "normal.csv").write_text("time\n" + "\n".join(normal) + "\n")
    (tmp_path / "vip.csv").write_text("time\n" + "\n".join(vip) + "\n")
    return scenario(f"""
        name: head start
        horizon: {HORIZON}
        channels:
          calls: {{arrivals: {{trace: {{file: normal.csv}}}}, entry: answer, segments: {{normal: 1}}}}
          vip_calls: {{arrivals: {{trace: {{file: vip.csv}}}}, entry: answer, segments: {{vip: 1}}}}
        segments:
          normal: {{share: 0.5}}
          vip: {vip_segment}
        pools:
          agents: {{agents: 1, skills: {{answer: 1.0}}}}
        steps:
          answer: {{handle_time: {{dist: deterministic, value: 200s}}}}
        """, base_dir=tmp_path)


@pytest.mark.parametrize(("vip", "order"), [
    # vip ranked at entry − 90 s: the vip of 80 s (rank −10) goes first, the one of 150 s (rank 60) last
    ("{share: 0.5, priority: 1, head_start: 90s}", [0.0, 400.0, 600.0, 200.0, 800.0]),
    ("{share: 0.5, priority: 1}", [0.0, 600.0, 800.0, 200.0, 400.0]),    # strict priority
    ("{share: 0.5}", [0.0, 200.0, 400.0, 600.0, 800.0]),                 # FIFO
])
def test_head_start_orders_the_queue_by_entry_time_minus_the_head_start(tmp_path, vip, order):
    s = two_segments(tmp_path, ["00:00:00", "00:00:10", "00:00:20"], ["00:01:20", "00:02:30"], vip)
    c = servsim.simulate(s, seed=1).contacts.sort_values(["channel", "arrival_s"])
    starts = (c["arrival_s"] + c["wait_s"]).tolist()
    assert starts == order


def segments_mmc(normal: str, vip: str) -> servsim.Scenario:
    return scenario(f"""
        name: segments
        horizon: {{start: "00:00", end: "24:00", interval: 60min, warmup: 2h}}
        channels:
          calls: {{arrivals: {{rate: 10/min}}, entry: answer, patience: {{dist: exponential, mean: 2min}}}}
        segments:
          normal: {normal}
          vip: {vip}
        pools:
          agents: {{agents: 10, skills: {{answer: 1.0}}}}
        steps:
          answer: {{handle_time: {{dist: exponential, mean: 1min}}}}
        """)


def test_zero_head_start_is_fifo_and_a_huge_one_is_strict_priority_exactly():
    fifo = servsim.simulate(segments_mmc("{share: 0.7}", "{share: 0.3}"), seed=4)
    zero = servsim.simulate(segments_mmc("{share: 0.7}", "{share: 0.3, priority: 1, head_start: 0s}"), seed=4)
    pd.testing.assert_frame_equal(zero.contacts, fifo.contacts)
    strict = servsim.simulate(segments_mmc("{share: 0.7}", "{share: 0.3, priority: 1}"), seed=4)
    huge = servsim.simulate(segments_mmc("{share: 0.7}", "{share: 0.3, priority: 1, head_start: 1000d}"), seed=4)
    pd.testing.assert_frame_equal(huge.contacts, strict.contacts)
    # and the head start lies in between: vip waits longer than under strict priority, shorter than FIFO
    mid = servsim.simulate(segments_mmc("{share: 0.7}", "{share: 0.3, priority: 1, head_start: 30s}"), seed=4)

    def vip_wait(r):
        c = r.contacts
        return c[c["segment"].astype(str) == "vip"]["wait_s"].mean()

    assert vip_wait(strict) < vip_wait(mid) < vip_wait(fifo)


# ----------------------------------------------------------------- retrials keeping their patience
def test_a_retrial_keeping_its_patience_waits_exactly_as_long_as_the_first_attempt(tmp_path):
    # one agent busy for the whole horizon (first call): every later attempt waits until it abandons
    times = ["00:00:00"] + [f"00:{m:02d}:00" for m in range(1, 40)]
    retrial = "retrial: {{probability: 1.0, delay: {{dist: deterministic, value: 10s}}, max_attempts: 2{}}}"
    pat = "{dist: exponential, mean: 2min}"

    def attempts(keep):
        s = one_agent(tmp_path, times, retrial.format(keep), handle="3h", patience=pat)
        c = servsim.simulate(s, seed=8).contacts
        first = c[(c["attempt"] == 1) & (c["outcome"].astype(str) == "abandoned")]
        second = c[c["attempt"] == 2].set_index("arrival_s")
        again = second.loc[first["exit_s"] + 10.0]
        assert (again["outcome"].astype(str) == "abandoned").all()
        return first["wait_s"].to_numpy(), again["wait_s"].to_numpy()

    w1, w2 = attempts(", keep_patience: true")
    assert len(w1) == 39
    np.testing.assert_allclose(w2, w1, rtol=1e-12, atol=1e-9)
    w1, w2 = attempts("")
    assert not np.allclose(w2, w1)


# ----------------------------------------------------------------- patience atom at zero
def test_an_atom_at_zero_leaves_those_served_at_once_alone_and_numbers_elsewhere_unchanged():
    pat = "{dist: exponential, mean: 2min}"
    a = servsim.simulate(mmc(patience=pat, lam="10/min"), seed=6).contacts
    b = servsim.simulate(mmc(patience=pat.replace("}", ", zero: 0.25}"), lam="10/min"), seed=6).contacts
    # until the first caller who hangs up at once, the two runs are the same; nobody served at once
    # hangs up, and the only new abandonments are at a wait of exactly 0
    first = b[(b["outcome"].astype(str) == "abandoned") & (b["wait_s"] == 0)]["arrival_s"].min()
    before = a["arrival_s"] < first
    pd.testing.assert_frame_equal(a[before], b[before])
    zero_ab = (b["outcome"].astype(str) == "abandoned") & (b["wait_s"] == 0)
    assert zero_ab.sum() > 100
    assert not ((a["outcome"].astype(str) == "abandoned") & (a["wait_s"] == 0)).any()
