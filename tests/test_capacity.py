"""Finite capacity: trunk lines (``channels.<c>.lines``, shared ``trunks``), a step's finite waiting
room (``steps.<s>.queue_capacity``) and ``unlimited`` agents pools (M/M/∞).

Statistical tests follow :mod:`test_statistical` (fixed seeds, long round-the-clock days after a
warm-up, tolerance = the run's own 99% t-interval over replications, Little's law checked on every
replication); the others are exact timelines and event counts.
"""

from __future__ import annotations

import simpy

import servsim
from conftest import scenario
from servsim import theory
from servsim.engine import core
from test_engine_timeline import trace_scenario
from test_statistical import MIN, check_all, horizon, rows, run


def queue(lam_per_min: float, agents: int | str, days: int, warmup: str, lines: str = "", capacity: str = "",
          patience: str = "", handle_min: float = 1.0) -> servsim.Scenario:
    return scenario(f"""
        name: finite capacity
        horizon: {horizon(days, warmup)}
        channels:
          calls:
            arrivals: {{rate: {lam_per_min}/min}}
            entry: answer
            {f"lines: {lines}" if lines else ""}
            {f"patience: {{dist: exponential, mean: {patience}}}" if patience else ""}
        pools:
          agents: {{agents: {agents}, skills: {{answer: 1.0}}}}
        steps:
          answer:
            handle_time: {{dist: exponential, mean: {handle_min}min}}
            {f"queue_capacity: {capacity}" if capacity else ""}
    """)


# ------------------------------------------------------------------------------ Erlang B
# M/M/10/10 at a = 8 Erlangs: B = 0.1217. A loss system relaxes at the service rate (1/min): a 1 h
# warm-up is 60 relaxation times.
def test_lines_equal_to_agents_give_erlang_b_blocking():
    r = rows(run(queue(8.0, 10, 2, "1h", lines="10"), seed=701))
    assert (r["mean_wait_s"] == 0).all() and (r["p_wait"] == 0).all()
    check_all([("blocking rate, lines = c = 10", r["blocking_rate"], theory.erlang_b(10, 8.0))])


def test_no_waiting_room_gives_erlang_b_blocking():
    r = rows(run(queue(8.0, 10, 2, "1h", capacity="0"), seed=702))
    assert (r["p_wait"] == 0).all()
    check_all([("blocking rate, queue_capacity 0", r["blocking_rate"], theory.erlang_b(10, 8.0))])


# ------------------------------------------------------------------------------ M/M/c/K
# M/M/10/14 (lines 14: 10 in service, 4 waiting) at rho 0.9 and M/M/10/(10+4)+M with exponential
# patience (mean 2 min) at rho 1.1: the finite queue relaxes faster than the M/M/10 bound of 38 min
# (test_statistical), so a 4 h warm-up is > 6 of those.
def test_lines_above_agents_match_mmck():
    lam, mu, c, k = 9.0 / MIN, 1.0 / MIN, 10, 14
    r = rows(run(queue(9.0, c, 3, "4h", lines=str(k)), seed=703))
    x = theory.mmck(lam, mu, c, k)
    check_all([
        ("blocking", r["blocking_rate"], x.blocking),
        ("P(wait | admitted)", r["p_wait"], x.p_wait),
        ("mean wait of admitted [s]", r["mean_wait_s"], x.mean_wait),
        ("mean number waiting", r["mean_queue"], x.mean_queue),
    ])


def test_queue_capacity_with_abandonment_matches_mmck_exactly_counted():
    """Abandoning contacts leave lazily (no timer); the waiting room still counts only those truly
    waiting. Counting the expired ones too would block more and abandon less."""
    lam, mu, theta, c, r_room = 11.0 / MIN, 1.0 / MIN, 0.5 / MIN, 10, 4
    res = run(queue(11.0, c, 3, "4h", capacity=str(r_room), patience="2min"), seed=704)
    r = rows(res)
    x = theory.mmck(lam, mu, c, c + r_room, abandon_rate=theta)
    check_all([
        ("blocking", r["blocking_rate"], x.blocking),
        ("P(abandon)", r["abandon_rate"], x.p_abandon),
        ("mean wait of admitted [s]", r["mean_wait_s"], x.mean_wait),
        ("mean number waiting", r["mean_queue"], x.mean_queue),
    ])


class _Counting(simpy.Environment):
    """An environment counting the events it processes."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.n_events = 0

    def step(self) -> None:
        self.n_events += 1
        super().step()


def _events(s: servsim.Scenario, seed: int, monkeypatch) -> tuple[int, servsim.RunResult]:
    made: list[_Counting] = []

    def environment(*args, **kwargs):
        made.append(_Counting(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(core.simpy, "Environment", environment)
    result = servsim.simulate(s, seed=seed)
    return made[0].n_events, result


def test_queue_capacity_adds_no_event_per_contact(monkeypatch):
    """Events processed = arrivals + service completions + staffing changes, with and without a binding waiting room (no patience timers, no other events)."""
    for capacity in ("", "3"):
        s = queue(11.0, 10, 1, "1h", capacity=capacity, patience="2min")
        n, r = _events(s, 705, monkeypatch)
        c, v = r.contacts, r.visits
        staffing = len(servsim.engine.plan.compile_plan(s).staffing)
        completions = int((v["outcome"].astype(str) == "served").sum())
        assert n == len(c) + completions + staffing, capacity
        if capacity:
            assert (c["outcome"].astype(str) == "blocked").sum() > 100 and (c["outcome"] == "abandoned").sum() > 100


# ------------------------------------------------------------------------------ shared trunks
# Two channels (6/min and 2/min) share a trunk of 10 lines; unlimited agents, so the contacts present
# are an M/M/10/10 with the total load: every channel is blocked with B(10, 8) (PASTA).
def test_shared_trunk_counts_across_channels():
    s = scenario(f"""
        name: shared trunk
        horizon: {horizon(2, "1h")}
        trunks: {{main: {{lines: 10}}}}
        channels:
          sales: {{arrivals: {{rate: 6/min}}, entry: answer, lines: main}}
          service: {{arrivals: {{rate: 2/min}}, entry: answer, lines: main}}
        pools:
          agents: {{agents: unlimited, skills: {{answer: 1.0}}}}
        steps:
          answer: {{handle_time: {{dist: exponential, mean: 1min}}}}
    """)
    res = run(s, seed=706)
    sm = res.summary
    b = theory.erlang_b(10, 8.0)
    per = {ch: sm[(sm["channel"] == ch) & (sm["segment"] == "all")]["blocking_rate"] for ch in ("sales", "service")}
    check_all([("blocking, sales", per["sales"], b), ("blocking, service", per["service"], b),
               ("blocking, all", rows(res)["blocking_rate"], b)])


# ------------------------------------------------------------------------------ M/M/inf
def test_unlimited_agents_are_an_infinite_server_queue():
    """M/M/∞ with a = 24 Erlangs: nobody waits, the mean number in system is λ/μ, and the pool is
    paid for its busy hours only."""
    res = run(queue(8.0, "unlimited", 2, "1h", handle_min=3.0), seed=707)
    r = rows(res)
    assert (r["p_wait"] == 0).all() and (r["blocked"] == 0).all()
    check_all([("mean number in system", r["littles_L"], 8.0 * 3.0)])
    ps = res.pool_summary
    assert (ps["paid_s"] == ps["busy_s"]).all() and ps["occupancy"].isna().all()


# ------------------------------------------------------------------------------ exact timelines
def test_a_caller_finding_every_line_held_is_blocked(tmp_path):
    # one agent, two lines: 0 s served to 60 s, 10 s waits, 20 s blocked (two held), 30 s blocked,
    # 65 s: the first has hung up, a line is free
    s = trace_scenario(tmp_path, ["00:00:00", "00:00:10", "00:00:20", "00:00:30", "00:01:05"])
    s = s.model_copy(update={"channels": {"calls": s.channels["calls"].model_copy(update={"lines": 2})}})
    c = servsim.simulate(s, seed=1).contacts
    assert c["outcome"].astype(str).tolist() == ["handled", "handled", "blocked", "blocked", "handled"]
    assert c["exit_s"].tolist() == [60.0, 120.0, 20.0, 30.0, 180.0]
    assert c["visits"].tolist() == [1, 1, 0, 0, 1]
    s1 = servsim.simulate(s, seed=1).summary.iloc[0]
    assert (s1["blocked"], s1["blocking_rate"]) == (2, 2 / 5)


def test_an_abandoned_caller_gives_back_the_line_at_its_deadline(tmp_path):
    # one agent busy 0-60 s, two lines; the caller of 10 s abandons at 25 s (patience 15 s, no timer):
    # the caller of 30 s finds a line free although nothing has recorded the abandonment yet
    s = trace_scenario(tmp_path, ["00:00:00", "00:00:10", "00:00:30", "00:00:35"], patience="15s",
                       handle="60s")
    s = s.model_copy(update={"channels": {"calls": s.channels["calls"].model_copy(update={"lines": 2})}})
    c = servsim.simulate(s, seed=1).contacts
    assert c["outcome"].astype(str).tolist() == ["handled", "abandoned", "abandoned", "blocked"]
    assert c["exit_s"].tolist() == [60.0, 25.0, 45.0, 35.0]


def test_waiting_room_counts_only_those_still_waiting(tmp_path):
    # one agent busy 0-60 s, room for 1: 10 s waits (patience 15 s: gone at 25 s), 20 s is blocked,
    # 30 s finds the room empty again and waits (till its deadline 45 s)
    s = trace_scenario(tmp_path, ["00:00:00", "00:00:10", "00:00:20", "00:00:30"], patience="15s")
    steps = {"answer": s.steps["answer"].model_copy(update={"queue_capacity": 1})}
    c = servsim.simulate(s.model_copy(update={"steps": steps}), seed=1).contacts
    assert c["outcome"].astype(str).tolist() == ["handled", "abandoned", "blocked", "abandoned"]
    assert c["exit_s"].tolist() == [60.0, 25.0, 20.0, 45.0]


def _back_room(tmp_path, times: list[str]) -> servsim.Scenario:
    (tmp_path / "a.csv").write_text("time\n" + "\n".join(times) + "\n")
    return scenario("""
        name: back room
        horizon: {start: "00:00", end: "02:00", interval: 60min}
        channels:
          calls:
            arrivals: {trace: {file: a.csv}}
            entry: answer
            lines: 1
            retrial: {probability: 1.0, delay: {dist: deterministic, value: 3h}}
        pools:
          front: {agents: unlimited, skills: {answer: 1.0}}
          back: {agents: 1, skills: {file: 1.0}}
        steps:
          answer: {handle_time: {dist: deterministic, value: 10s}, next: file}
          file: {stage: back, handle_time: {dist: deterministic, value: 10min}, queue_capacity: 1}
        """, base_dir=tmp_path)


def test_back_stage_waiting_room_drops_the_work_item(tmp_path):
    """A back-stage step with room for one: the item finding its worker busy and one item waiting
    is dropped (outcome blocked, no retrial); the customer's line was given back when the front
    stage ended."""
    # one line: callers of 1, 2 and 3 s find the caller of 0 s on it (served 0-10 s): blocked
    c = servsim.simulate(_back_room(tmp_path, ["00:00:00", "00:00:01", "00:00:02", "00:00:03"]), seed=1).contacts
    assert c["outcome"].astype(str).tolist() == ["handled", "blocked", "blocked", "blocked"]
    # filed at 10 s (served 10 s-10:10), 30 s (waits), 50 s (room full: dropped at 50 s); the line
    # was free for each caller; no retrial of the dropped item
    c = servsim.simulate(_back_room(tmp_path, ["00:00:00", "00:00:20", "00:00:40"]), seed=1).contacts
    assert c["outcome"].astype(str).tolist() == ["handled", "handled", "blocked"]
    assert c["exit_s"].tolist() == [610.0, 1210.0, 50.0]
    assert c["visits"].tolist() == [2, 2, 1]
    assert len(c) == 3


def test_a_full_waiting_room_still_lets_a_call_take_an_agent_from_interruptible_work(tmp_path):
    """Room for none at the call step: the call of 60 s takes the agent from the email (set aside,
    resumed later, never dropped); the call of 90 s finds the agent on a call and is blocked."""
    (tmp_path / "calls.csv").write_text("time\n00:01:00\n00:01:30\n")
    (tmp_path / "mail.csv").write_text("time\n00:00:00\n")
    s = scenario("""
        name: blended room
        horizon: {start: "00:00", end: "02:00", interval: 60min}
        channels:
          calls: {arrivals: {trace: {file: calls.csv}}, entry: answer}
          mail: {kind: email, arrivals: {trace: {file: mail.csv}}, entry: reply}
        pools:
          agents: {agents: 1, skills: {answer: {priority: 1}, reply: {interruptible: resume}}}
        steps:
          answer: {handle_time: {dist: deterministic, value: 2min}, queue_capacity: 0}
          reply: {stage: back, handle_time: {dist: deterministic, value: 10min}}
        """, base_dir=tmp_path)
    c = servsim.simulate(s, seed=1).contacts.sort_values("arrival_s")
    assert c["outcome"].astype(str).tolist() == ["handled", "handled", "blocked"]
    # the email: 1 min done, set aside 60-180 s, 9 min left from 180 s
    assert c["exit_s"].tolist() == [720.0, 180.0, 90.0]


# ------------------------------------------------------------------------------ stability
def test_finite_capacity_holds_an_overloaded_system():
    """λ = 2 cμ: with trunk lines, or a waiting room, blocking keeps the number present bounded (no
    abandonment needed); without either the run is unstable; a back-stage step without a waiting
    room is not held by the channel's lines."""
    for lines, capacity in (("10", ""), ("", "5")):
        r = servsim.simulate(queue(20.0, 10, 1, "0h", lines=lines, capacity=capacity), seed=1)
        assert not r.unstable and not r.load.unstable and r.load.held
        assert r.load.held_by_capacity == ("answer",) and r.load.held_by_abandonment == ()
        assert "finite capacity" in r.status and "UNSTABLE" not in r.status
        assert r.summary["blocking_rate"].iloc[0] > 0.4
    assert servsim.simulate(queue(20.0, 10, 1, "0h"), seed=1).load.unstable
    s = scenario("""
        name: back stage behind lines
        horizon: {start: "08:00", end: "10:00", interval: 60min}
        channels:
          calls: {arrivals: {rate: 20/min}, entry: answer, lines: 30}
        pools:
          front: {agents: 30, skills: {answer: 1.0}}
          back: {agents: 2, skills: {file: 1.0}}
        steps:
          answer: {handle_time: {dist: exponential, mean: 1min}, next: file}
          file: {stage: back, handle_time: {dist: exponential, mean: 1min}}
    """)
    load = servsim.simulate(s, seed=1).load
    assert load.unstable and load.held_by_capacity == ()


def test_a_blocked_caller_retries(tmp_path):
    # one line: the caller of 10 s is blocked and (probability 1) tries again 60 s later, at 70 s,
    # when the line is free again (the first call ended at 60 s)
    s = trace_scenario(tmp_path, ["00:00:00", "00:00:10"])
    ch = s.channels["calls"].model_copy(update={"lines": 1, "retrial": servsim.scenario.schema.Retrial(
        probability=1.0, delay={"dist": "deterministic", "value": "60s"})})
    c = servsim.simulate(s.model_copy(update={"channels": {"calls": ch}}), seed=1).contacts
    assert c["outcome"].astype(str).tolist() == ["handled", "blocked", "handled"]
    assert c["arrival_s"].tolist() == [0.0, 10.0, 70.0]
    assert c["attempt"].tolist() == [1, 1, 2]
