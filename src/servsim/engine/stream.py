"""Run the engine without a per-contact log: a row lives only while its contact is in the system.

A hotel keeps a register of the guests in the house, not of every guest it ever had: at check-out
the guest's card goes to the accountant, who adds it to the month's figures and shreds it.

:class:`StreamRecords` is that register. The engine (:class:`~servsim.engine.core.Engine`, unchanged)
writes to it exactly as it writes to :class:`~servsim.engine.core.Records` — same column names, same
operations (``append``, ``len``, ``col[i]``, ``col[i] = x``) — but each column is a ``dict`` keyed by
contact or visit id that holds only live rows, so memory follows the number of contacts in the
system, not the number that came through. Ids are the same global counts as with the log on
(``len(rec.arrival)``, ``len(rec.v_step)``), so ``limits.max_contacts`` and every id comparison in
the engine behave as they do with the log on.

When a contact's ``outcome`` is written it has left (it is the last write of a contact). Its id is
queued; at the first new contact after :data:`BATCH` of them have queued up, their rows and their
visits' rows are moved out of the dicts into a compact :class:`~servsim.engine.core.Records` (arrays,
contacts renumbered from 0), which goes to the *sink* when it holds :data:`CHUNK` contacts
(:mod:`servsim.streaming` folds it into per-interval sums and drops it). Rows are moved lazily, never
at the outcome write itself, because the engine still reads the contact's ``channel``, ``segment``
and ``attempt`` right after it (to schedule a retrial or repeat); nothing allocates a new contact
in between. Visit ids are never reused, and a visit read after its contact was moved out (a stale
patience timer) reads as not waiting, as with the log on.

Pools' busy time needs the number of busy slots at every instant (paid time is max(scheduled,
busy)). Each service start (``v_start[v] = now``, just after ``v_pool[v] = p``) and end
(``v_end[v] = now`` of a started visit) is buffered as a (time, pool) event; the engine writes them
at the current simulated time, so they come in time order, and the sink integrates them exactly.

What the engine must keep doing for this to hold is listed in :class:`~servsim.engine.core.Records`.
"""

from __future__ import annotations

from array import array
from itertools import repeat
from typing import Protocol

import numpy as np

from servsim.engine.core import IN_SYSTEM, NAN, WAITING, Engine, Records
from servsim.engine.plan import Plan
from servsim.random import Seed

#: Contacts that left, moved out of the live rows at a time (into compact arrays).
BATCH = 64
#: Contacts folded at a time: big enough to amortise building a chunk's tables, small enough that
#: they stay around a megabyte.
CHUNK = 4096
#: Busy/free events handed to the sink at a time.
EVENTS = 16384
#: ``v_outcome`` of a visit whose contact was already folded and dropped.
DROPPED = -1


class Sink(Protocol):
    """Where finished contacts and pool events go (see :class:`servsim.streaming.Accumulator`)."""

    def contacts(self, rec: Records) -> None:
        """Fold a chunk of contacts, with all their visits (``v_contact`` = row in the chunk)."""

    def busy(self, times: np.ndarray, codes: np.ndarray, until: float) -> None:
        """Fold service starts (code = pool) and ends (code = ~pool), in time order, then integrate the
        pools' levels up to ``until`` (no event will come before it)."""


class _Counted(dict):
    """A column appended to once per row: the next row's key is the number of rows so far."""

    __slots__ = ("n",)

    def __init__(self) -> None:
        super().__init__()
        self.n = 0

    def append(self, x: object) -> None:
        n = self.n
        self[n] = x
        self.n = n + 1

    def __len__(self) -> int:
        return self.n


class _Channel(_Counted):
    """The first column a new contact is appended to: the safe moment to move out the ones that left."""

    __slots__ = ("owner",)

    def append(self, x: object) -> None:
        owner = self.owner
        if len(owner.left) >= BATCH:
            owner.move()
        n = self.n
        self[n] = x
        self.n = n + 1


class _VisitContact(_Counted):
    """``v_contact``: also keeps each live contact's visit ids, in order."""

    __slots__ = ("of",)

    def append(self, cid: int) -> None:
        n = self.n
        self[n] = cid
        self.n = n + 1
        visits = self.of.get(cid)
        if visits is None:
            self.of[cid] = [n]
        else:
            visits.append(n)


class _Indexed(dict):
    """A column written by index only. Every row starts at the same default (NaN, -1, IN_SYSTEM or
    WAITING), which the appends carry, so appends are ignored and readers supply the default."""

    __slots__ = ()
    #: a C builtin taking one argument and doing nothing with it: cheaper than a Python method
    append = id


class _Outcome(_Indexed):
    """A contact's ``outcome`` is written by index only when the contact leaves."""

    __slots__ = ("left",)

    def __setitem__(self, cid: int, code: int) -> None:
        dict.__setitem__(self, cid, code)
        if code != IN_SYSTEM:
            self.left.append(cid)


class _VisitOutcome(_Indexed):
    __slots__ = ("live",)

    def __missing__(self, v: int) -> int:
        return WAITING if v in self.live else DROPPED


class _Start(_Indexed):
    __slots__ = ("pool", "t", "code")

    def __setitem__(self, v: int, now: float) -> None:
        dict.__setitem__(self, v, now)
        self.t.append(now)
        self.code.append(self.pool[v])


class _End(_Indexed):
    __slots__ = ("pool", "t", "code", "owner")

    def __setitem__(self, v: int, t: float) -> None:
        dict.__setitem__(self, v, t)
        p = self.pool.get(v, -1)
        if p >= 0:
            self.t.append(t)
            self.code.append(~p)
            if len(self.t) >= EVENTS:
                self.owner.flush_busy()


class StreamRecords:
    """Live rows only, in the shape of :class:`~servsim.engine.core.Records` (module docstring)."""

    def __init__(self, sink: Sink, chunk: int) -> None:
        self.sink = sink
        self.chunk = chunk
        #: ids of contacts that left, not yet folded
        self.left: list[int] = []
        self.channel = _Channel()
        self.channel.owner = self
        self.segment = _Counted()
        self.arrival = _Counted()
        self.exit = _Indexed()
        self.outcome = _Outcome()
        self.outcome.left = self.left
        self.attempt = _Counted()
        self.v_contact = _VisitContact()
        self.v_contact.of = {}
        self.v_step = _Counted()
        self.v_pool = _Indexed()
        self.v_queued = _Counted()
        self.v_start = _Start()
        self.v_end = _End()
        self.v_outcome = _VisitOutcome()
        self.v_outcome.live = self.v_step
        self.events_t = array("d")
        self.events_code = array("h")
        for col in (self.v_start, self.v_end):
            col.pool, col.t, col.code = self.v_pool, self.events_t, self.events_code
        self.v_end.owner = self
        #: contacts moved out, not yet handed to the sink (``v_contact``: row in this chunk)
        self.out = Records(end_time=NAN)
        self.end_time = 0.0
        self.stopped = ""

    @property
    def contacts(self) -> int:
        """Contacts that arrived so far (with the log on: ``len(rec.arrival)``)."""
        return len(self.arrival)

    @property
    def in_memory(self) -> int:
        """Contact rows held as dicts now: in the system, or left in the last batch."""
        return dict.__len__(self.arrival)

    def move(self, ids: list[int] | None = None) -> None:
        """Move the contacts that left (or ``ids``), with their visits, from the live rows to the chunk
        for the sink; hand the chunk over when it is full."""
        if ids is None:
            ids = sorted(set(self.left))
            self.left.clear()
        for k in range(0, len(ids), self.chunk):
            self._move(ids[k:k + self.chunk])
            if len(self.out.arrival) >= self.chunk:
                self.emit()

    def _move(self, ids: list[int]) -> None:
        o = self.out
        first = len(o.arrival)
        o.channel.extend(map(self.channel.pop, ids))
        o.segment.extend(map(self.segment.pop, ids))
        o.arrival.extend(map(self.arrival.pop, ids))
        o.exit.extend(map(self.exit.pop, ids, repeat(NAN)))
        o.outcome.extend(map(self.outcome.pop, ids, repeat(IN_SYSTEM)))
        o.attempt.extend(map(self.attempt.pop, ids))
        pop = self.v_contact.of.pop
        visits = [pop(cid, ()) for cid in ids]
        o.v_contact.extend([first + i for i, vs in enumerate(visits) for _ in vs])
        vids = [v for vs in visits for v in vs]
        if not vids:
            return
        vc = self.v_contact
        for v in vids:
            del vc[v]
        o.v_step.extend(map(self.v_step.pop, vids))
        o.v_pool.extend(map(self.v_pool.pop, vids, repeat(-1)))
        o.v_queued.extend(map(self.v_queued.pop, vids))
        o.v_start.extend(map(self.v_start.pop, vids, repeat(NAN)))
        o.v_end.extend(map(self.v_end.pop, vids, repeat(NAN)))
        o.v_outcome.extend(map(self.v_outcome.pop, vids, repeat(WAITING)))

    def emit(self) -> None:
        """Hand the chunk to the sink and start a new one."""
        out, self.out = self.out, Records(end_time=self.out.end_time)
        if len(out.arrival):
            self.sink.contacts(out)

    def flush_busy(self, until: float | None = None) -> None:
        """Hand the buffered busy/free events to the sink."""
        t, code = self.events_t, self.events_code
        times = np.array(t, dtype=float)
        codes = np.array(code, dtype=np.int64)
        del t[:]
        del code[:]
        if until is None:
            until = float(times[-1]) if len(times) else NAN
        if len(times) or until == until:
            self.sink.busy(times, codes, until)

    def close(self) -> None:
        """At the end of the run (``end_time`` set): fold everything, contacts still present included
        (their unfinished visits end at ``end_time``)."""
        self.flush_busy(self.end_time)
        self.left.clear()
        self.out.end_time = self.end_time
        self.move(sorted(dict.keys(self.arrival)))
        self.emit()


def run(plan: Plan, seed: Seed, sink: Sink, chunk: int | None = None) -> StreamRecords:
    """Simulate one replication of ``plan`` with ``seed`` keeping no per-contact log: contacts and pool
    events go to ``sink`` as they finish (``chunk`` contacts at a time, default :data:`CHUNK`).
    Returns the (emptied) records, for ``end_time`` and ``stopped``."""
    engine = Engine(plan, seed)
    rec = StreamRecords(sink, chunk or CHUNK)
    engine.rec = rec  # type: ignore[assignment]
    engine.run()
    rec.close()
    return rec
