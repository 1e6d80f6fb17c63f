"""The engine keeps the rules of :class:`servsim.engine.record.Recorder`, on every example.

A checking recorder asserts each rule of the protocol's docstring as the engine writes, and keeps
what it is given; its columns raise if the engine reads them. Its log must then equal the plain
per-contact log of the same run, so checking changed nothing.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import servsim
from servsim.engine import Records, compile_plan, run
from servsim.engine.core import Engine
from servsim.engine.record import (COLUMNS, CONTACT_COLUMNS, SPARSE_CONTACT_COLUMNS, SPARSE_VISIT_COLUMNS,
                                   VISIT_COLUMNS, as_numpy)
from servsim.outcomes import Outcome, VisitOutcome
from conftest import ROOT
from test_streaming import CASES

#: starting value each append must carry (NaN: any NaN)
STARTS = {"exit": math.nan, "outcome": int(Outcome.IN_SYSTEM), "v_pool": -1, "v_start": math.nan,
          "v_end": math.nan, "v_outcome": int(VisitOutcome.WAITING), "v_free": math.nan}
FINISHED = {int(VisitOutcome.SERVED), int(VisitOutcome.ABANDONED), int(VisitOutcome.PREEMPTED),
            int(VisitOutcome.CALLBACK)}
#: the columns written by index only, never appended
SPARSE = SPARSE_CONTACT_COLUMNS + SPARSE_VISIT_COLUMNS


class RuleBroken(AssertionError):
    pass


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise RuleBroken(message)


def _same(a: float, b: float) -> bool:
    return a == b or (a != a and b != b)


class _Column:
    """Forwards appends and writes to the checker; any read breaks a rule."""

    def __init__(self, owner: CheckingRecorder, name: str) -> None:
        self.owner, self.name = owner, name

    def append(self, x: Any) -> None:
        self.owner.appended(self.name, x)

    def __setitem__(self, i: int, x: Any) -> None:
        self.owner.written(self.name, i, x)

    def __len__(self) -> int:
        raise RuleBroken(f"the engine took len({self.name})")

    def __getitem__(self, i: int) -> object:
        raise RuleBroken(f"the engine read {self.name}[{i}]")

    def __iter__(self) -> None:
        raise RuleBroken(f"the engine iterated over {self.name}")


class CheckingRecorder:
    """A recorder that checks the :class:`~servsim.engine.record.Recorder` rules against its engine."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.log = Records()
        self.channel, self.segment, self.arrival, self.exit, self.outcome, self.attempt = (
            _Column(self, name) for name in CONTACT_COLUMNS)
        self.v_contact, self.v_step, self.v_pool, self.v_queued, self.v_start, self.v_end, self.v_outcome = (
            _Column(self, name) for name in VISIT_COLUMNS)
        (self.offer,) = (_Column(self, name) for name in SPARSE_CONTACT_COLUMNS)
        self.v_agent, self.v_free = (_Column(self, name) for name in SPARSE_VISIT_COLUMNS)
        self.next_contact_col = 0      # position in CONTACT_COLUMNS of the next contact append
        self.next_visit_col = 0
        self.visits_of: dict[int, list[int]] = {}
        self.gone: set[int] = set()
        self.started: set[int] = set()
        self.last_write: tuple[str, int] | None = None
        self.last_event = -math.inf
        self.closed = False
        self.seen: set[str] = set()

    # ----------------------------------------------------------------- appends
    def appended(self, name: str, x: Any) -> None:
        _check(not self.closed, f"{name} appended after close")
        e = self.engine
        assert e is not None
        _check(name not in SPARSE, f"{name} (written by index only) appended")
        if name in CONTACT_COLUMNS:
            _check(CONTACT_COLUMNS.index(name) == self.next_contact_col and self.next_visit_col == 0,
                   f"{name} appended out of order")
            if name == "channel":
                _check(e.n_contacts == len(self.log.channel) + 1, "contact id is not the engine's counter")
            self.next_contact_col = (self.next_contact_col + 1) % len(CONTACT_COLUMNS)
        else:
            _check(VISIT_COLUMNS.index(name) == self.next_visit_col and self.next_contact_col == 0,
                   f"{name} appended out of order")
            if name == "v_contact":
                v = len(self.log.v_contact)
                _check(e.n_visits == v + 1, "visit id is not the engine's counter")
                cid = int(x)
                _check(0 <= cid < len(self.log.channel) and cid not in self.gone,
                       f"visit {v} of contact {cid}, which is not in the system")
                self.visits_of.setdefault(cid, []).append(v)
            self.next_visit_col = (self.next_visit_col + 1) % len(VISIT_COLUMNS)
        if name in STARTS:
            _check(_same(float(x), STARTS[name]), f"{name} appended {x}, not its starting value")
        getattr(self.log, name).append(x)
        self.last_write = None

    # ----------------------------------------------------------------- writes by index
    def written(self, name: str, i: int, x: Any) -> None:
        _check(not self.closed, f"{name}[{i}] written after close")
        _check(self.next_contact_col == 0 and self.next_visit_col == 0, f"{name}[{i}] written inside an append")
        e = self.engine
        assert e is not None
        now = e.env.now
        if name in CONTACT_COLUMNS or name in SPARSE_CONTACT_COLUMNS:
            _check(0 <= i < len(self.log.channel), f"{name}[{i}]: no such contact")
            cid = i
        else:
            _check(0 <= i < len(self.log.v_contact), f"{name}[{i}]: no such visit")
            cid = self.log.v_contact[i]
        _check(cid not in self.gone, f"{name}[{i}] written after contact {cid} left")
        if name == "outcome":
            _check(x != Outcome.IN_SYSTEM and self.log.outcome[i] == Outcome.IN_SYSTEM,
                   f"outcome of contact {i} written twice, or as in_system")
        if name == "v_start":
            _check(self.last_write == ("v_pool", i), f"v_start[{i}] does not follow v_pool[{i}]")
            _check(x == now, f"v_start[{i}] = {x} at t = {now}")
            self.started.add(i)
            self._event(float(x))
        if self.last_write is not None and self.last_write[0] == "v_agent":
            _check((name, i) == ("v_pool", self.last_write[1]), f"v_agent[{self.last_write[1]}] not written "
                   "at its service start (right before its v_pool)")
        if name == "v_agent":
            _check(i not in self.started and x >= 0, f"v_agent[{i}] = {x} not written at its service start")
        if name == "v_end":
            if i in self.started:
                _check(x == now, f"v_end[{i}] of a started visit = {x} at t = {now}")
                self._event(float(x))
            else:
                self.seen.add("abandoned in queue")
        if name == "v_outcome" and x == VisitOutcome.PREEMPTED:
            _check(self.last_write == ("v_end", i) and i in self.started, f"visit {i} preempted out of service")
            self.seen.add("preempted")
        if name == "offer":
            _check(x in (1, 2), f"offer[{i}] = {x}")
            w = self.waiting_visit(i)
            _check(w is not None and self.log.v_step[w] == e.channels[self.log.channel[i]].entry,
                   f"offer[{i}] written while contact {i} does not wait at its channel's entry step")
            self.seen.add("callback accepted" if x == 2 else "callback declined")
        if name == "v_outcome" and x == VisitOutcome.CALLBACK:
            _check(self.last_write == ("v_end", i) and i not in self.started and self.log.v_end[i] == now
                   and self.log.offer.get(cid) == 2, f"visit {i} ends in a callback without one accepted")
        if name == "v_free":
            _check(self.last_write == ("v_outcome", i) and self.log.v_outcome[i] == VisitOutcome.SERVED,
                   f"v_free[{i}] does not follow the end of its service")
            _check(x >= self.log.v_end[i] == now, f"v_free[{i}] = {x} before its service end")
            self.seen.add("wrapped up")
        getattr(self.log, name)[i] = x
        self.last_write = (name, i)

    def waiting_visit(self, cid: int) -> int | None:
        """The visit contact ``cid`` waits in now (its last one, not started or ended), or None."""
        visits = self.visits_of.get(cid)
        if not visits:
            return None
        v = visits[-1]
        return v if v not in self.started and math.isnan(self.log.v_end[v]) else None

    def _event(self, t: float) -> None:
        _check(t >= self.last_event, "service starts and ends out of time order")
        self.last_event = t

    # ----------------------------------------------------------------- the two calls
    def left(self, cid: int) -> None:
        _check(not self.closed, "left after close")
        _check(0 <= cid < len(self.log.channel) and cid not in self.gone, f"contact {cid} left twice, or never came")
        log = self.log
        _check(log.outcome[cid] != Outcome.IN_SYSTEM and not math.isnan(log.exit[cid]),
               f"contact {cid} left before its outcome and exit were written")
        for v in self.visits_of.get(cid, ()):
            _check(log.v_outcome[v] in FINISHED and not math.isnan(log.v_end[v]),
                   f"contact {cid} left with visit {v} unfinished")
        self.gone.add(cid)
        self.seen.add(Outcome(log.outcome[cid]).name)
        self.last_write = None

    def close(self, end_time: float, stopped: str) -> None:
        _check(not self.closed, "closed twice")
        e = self.engine
        assert e is not None
        _check(end_time == e.env.now, "end time is not the clock's")
        _check(self.next_contact_col == 0 and self.next_visit_col == 0, "run closed inside an append")
        outcome = np.frombuffer(self.log.outcome, dtype=np.int8) if len(self.log.outcome) else np.zeros(0, np.int8)
        still = set(np.flatnonzero(outcome == Outcome.IN_SYSTEM).tolist())
        _check(self.gone == set(range(len(outcome))) - still,
               "contacts that left and contacts still present do not match their outcomes")
        self.closed = True
        self.log.close(end_time, stopped)


def checked_run(s: servsim.Scenario, seed: int) -> CheckingRecorder:
    rec = CheckingRecorder()
    engine = Engine(compile_plan(s), seed, rec)
    rec.engine = engine
    engine.run()
    assert rec.closed
    return rec


def _assert_same_log(got: Records, want: Records) -> None:
    a, b = as_numpy(got), as_numpy(want)
    for name in COLUMNS:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    assert (got.end_time, got.stopped) == (want.end_time, want.stopped)


EXAMPLES = {p.stem: (lambda p=p: servsim.load_scenario(p)) for p in sorted((ROOT / "scenarios").glob("*.yaml"))}
SCENARIOS = {**EXAMPLES, **{name: make for name, make in CASES.items()
                             if name in ("mmc_warmup", "redial", "stopped", "agents", "wrapup", "preempt",
                                         "agents_blended", "virtual_hold", "virtual_hold_agents")}}
#: the example files and test_streaming's cases are the same set, plus the inline ones
assert {"mmc", "bank", "multichannel", "claims_rpa", "vendor_overflow"} <= set(CASES)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_engine_keeps_the_recorder_rules(name: str):
    s = SCENARIOS[name]()
    rec = checked_run(s, seed=11)
    assert len(rec.log.arrival) > 0
    _assert_same_log(rec.log, run(compile_plan(s), 11))


def test_the_checked_runs_see_every_way_of_leaving():
    seen: set[str] = set()
    for make in SCENARIOS.values():
        seen |= checked_run(make(), seed=11).seen
    assert {"HANDLED", "UNRESOLVED", "ABANDONED", "BALKED", "abandoned in queue", "wrapped up", "preempted",
            "callback accepted", "callback declined"} <= seen, seen


def test_the_checker_catches_broken_rules():
    """The checker is not vacuous: each kind of misuse is refused."""
    s = CASES["mmc_warmup"]()

    def fresh() -> CheckingRecorder:
        rec = CheckingRecorder()
        rec.engine = Engine(compile_plan(s), 1, rec)
        return rec

    rec = fresh()
    with pytest.raises(RuleBroken, match="read"):
        rec.channel[0]
    with pytest.raises(RuleBroken, match="len"):
        len(rec.v_step)
    with pytest.raises(RuleBroken, match="out of order"):
        rec.segment.append(0)
    with pytest.raises(RuleBroken, match="counter"):
        rec.channel.append(0)  # the engine's counter is still 0
    rec = fresh()
    assert rec.engine is not None
    rec.engine.n_contacts = 1
    for name, x in zip(CONTACT_COLUMNS, (0, 0, 8.0, math.nan, 0, 1)):
        getattr(rec, name).append(x)
    with pytest.raises(RuleBroken, match="left before"):
        rec.left(0)
    rec.exit[0] = 9.0
    rec.outcome[0] = int(Outcome.BALKED)
    rec.left(0)
    with pytest.raises(RuleBroken, match="after contact 0 left"):
        rec.exit[0] = 10.0
    with pytest.raises(RuleBroken, match="twice"):
        rec.left(0)
