"""What the engine writes, and where it goes: the recorder seam.

The engine (:class:`~servsim.engine.core.Engine`) writes every fact of a run through one
interface, :class:`Recorder`: one row per contact and one per step visit, in columns, and a call
when a contact has left. It never reads back what it wrote, so a recorder is free to store rows
wherever it likes. There are two:

* :class:`Records`, the per-contact log: typed columnar arrays (``array.array``) that pickle
  across processes and become the ``contacts`` and ``visits`` tables (:mod:`servsim.metrics`);
* :class:`LiveRows`, for runs without a log. A hotel keeps a register of the guests in the house,
  not of every guest it ever had: at check-out the guest's card goes to the accountant, who adds it
  to the month's figures and shreds it. ``LiveRows`` is that register: each column is a ``dict``
  keyed by row id that holds only the rows of contacts still in the system (and of those that left
  in the last batch), so memory follows the number of contacts present, not the number that came
  through. When :data:`BATCH` contacts have left, their rows and their visits' rows move to a
  compact :class:`Records` (contacts renumbered from 0), which goes to the *sink*
  (:class:`Sink`) when it holds :data:`CHUNK` contacts; the sink folds it into per-cell sums and
  drops it. Pools' busy time needs the number of busy slots at every instant, so each service
  start and end is also buffered as a (time, pool) event and handed to the sink :data:`EVENTS` at
  a time, in time order.

``CHUNK``, ``BATCH`` and ``EVENTS`` are read when they are used, so a test may change them.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, Protocol

import numpy as np

from servsim.outcomes import Outcome, VisitOutcome

#: Contacts that left, moved out of the live rows at a time (into compact arrays).
BATCH = 64
#: Contacts folded at a time: big enough to amortise building a chunk's tables, small enough that
#: they stay around a megabyte.
CHUNK = 4096
#: Busy/free events handed to the sink at a time.
EVENTS = 16384

NAN = float("nan")
_IN_SYSTEM = int(Outcome.IN_SYSTEM)
_WAITING = int(VisitOutcome.WAITING)

#: The per-contact columns, in the order the engine appends a new contact's row.
CONTACT_COLUMNS = ("channel", "segment", "arrival", "exit", "outcome", "attempt")
#: The per-visit columns, in the order the engine appends a new visit's row.
VISIT_COLUMNS = ("v_contact", "v_step", "v_pool", "v_queued", "v_start", "v_end", "v_outcome")
#: Every column of a recorder, contacts first.
COLUMNS = CONTACT_COLUMNS + VISIT_COLUMNS


class Column(Protocol):
    """One column of a recorder: the engine only appends rows and overwrites rows by index."""

    def append(self, x: Any, /) -> None: ...

    def __setitem__(self, i: int, x: Any, /) -> None: ...

    def __len__(self) -> int: ...


class Recorder(Protocol):
    """Where the engine writes a run. The rules below are everything a recorder may rely on
    (``tests/test_recorder_rules.py`` checks them on every example scenario):

    * **ids**: a contact's id is the number of contacts appended before it, a visit's the number of
      visits appended before it (the engine's counters ``n_contacts`` and ``n_visits``); ids are
      never reused;
    * **appends**: a new contact appends one value to each of :data:`CONTACT_COLUMNS`, in that order
      (``channel`` first); a new visit one value to each of :data:`VISIT_COLUMNS` (``v_contact``
      first). They carry the row's starting values, so a recorder may ignore them and supply them
      itself: ``exit`` NaN, ``outcome`` IN_SYSTEM, ``v_pool`` -1, ``v_start`` and ``v_end`` NaN,
      ``v_outcome`` WAITING;
    * **writes** (``col[i] = x``) go only to rows already appended, of a contact that has not left
      (a visit's contact is its ``v_contact``);
    * ``v_start[v] = now`` comes right after ``v_pool[v] = p``; ``v_end[v]`` of a started visit is
      written when its service ends. Both are written at the current simulated time, so service
      starts and ends come in time order. (An abandoned visit's ``v_end`` is its deadline.)
    * :meth:`left` is called once per contact that leaves, after its ``exit``, its ``outcome`` (not
      IN_SYSTEM) and its visits' last writes; contacts still present at the end never leave;
    * the engine never reads a column (no ``col[i]``, no ``len(col)``) and never rebinds one;
    * :meth:`close` is called once, at the end of the run, after every other call.
    """

    @property
    def channel(self) -> Column: ...
    @property
    def segment(self) -> Column: ...
    @property
    def arrival(self) -> Column: ...
    @property
    def exit(self) -> Column: ...
    @property
    def outcome(self) -> Column: ...
    @property
    def attempt(self) -> Column: ...
    @property
    def v_contact(self) -> Column: ...
    @property
    def v_step(self) -> Column: ...
    @property
    def v_pool(self) -> Column: ...
    @property
    def v_queued(self) -> Column: ...
    @property
    def v_start(self) -> Column: ...
    @property
    def v_end(self) -> Column: ...
    @property
    def v_outcome(self) -> Column: ...

    def left(self, cid: int) -> None:
        """Contact ``cid`` has left: none of its rows, nor its visits' rows, will be written again."""

    def close(self, end_time: float, stopped: str) -> None:
        """The run ended at ``end_time``; ``stopped`` says why it stopped early ('' if it did not)."""


@dataclass
class Records:
    """The per-contact log of one run: raw columns as plain arrays (they pickle across processes).

    A :class:`Recorder` that keeps every row; ``v_contact`` is a row of the contact columns."""

    # per contact
    channel: array = field(default_factory=lambda: array("h"))
    segment: array = field(default_factory=lambda: array("h"))
    arrival: array = field(default_factory=lambda: array("d"))
    exit: array = field(default_factory=lambda: array("d"))
    outcome: array = field(default_factory=lambda: array("b"))
    attempt: array = field(default_factory=lambda: array("b"))
    # per step visit
    v_contact: array = field(default_factory=lambda: array("i"))
    v_step: array = field(default_factory=lambda: array("h"))
    v_pool: array = field(default_factory=lambda: array("h"))
    v_queued: array = field(default_factory=lambda: array("d"))
    v_start: array = field(default_factory=lambda: array("d"))
    v_end: array = field(default_factory=lambda: array("d"))
    v_outcome: array = field(default_factory=lambda: array("b"))
    # run status
    end_time: float = 0.0
    stopped: str = ""

    def left(self, cid: int) -> None:
        """Nothing to do: the log keeps every row."""

    def close(self, end_time: float, stopped: str) -> None:
        self.end_time = end_time
        self.stopped = stopped


def as_numpy(rec: Records) -> dict[str, np.ndarray]:
    """Zero-copy numpy views of the record columns."""
    out = {}
    for name in COLUMNS:
        col = getattr(rec, name)
        out[name] = np.frombuffer(col, dtype=col.typecode) if len(col) else np.array([], dtype=col.typecode)
    return out


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


class _VisitContact(_Counted):
    """``v_contact``: also keeps each live contact's visit ids, in order."""

    __slots__ = ("of",)

    def __init__(self) -> None:
        super().__init__()
        self.of: dict[int, list[int]] = {}

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
    """A column written by index only. Every row starts at its column's starting value (NaN, -1,
    IN_SYSTEM or WAITING), which the appends carry: appends are ignored, and moving a row out
    supplies the starting value of a row never written."""

    __slots__ = ()
    #: a C builtin taking one argument and doing nothing with it: cheaper than a Python method
    append = id


class _Start(_Indexed):
    """``v_start``: each service start is also a busy event (time, pool)."""

    __slots__ = ("pool", "t", "code")

    def __setitem__(self, v: int, now: float) -> None:
        dict.__setitem__(self, v, now)
        self.t.append(now)
        self.code.append(self.pool[v])


class _End(_Indexed):
    """``v_end``: the end of a started visit is also a free event (time, ~pool)."""

    __slots__ = ("pool", "t", "code", "owner")

    def __setitem__(self, v: int, t: float) -> None:
        dict.__setitem__(self, v, t)
        p = self.pool.get(v, -1)
        if p >= 0:
            self.t.append(t)
            self.code.append(~p)
            if len(self.t) >= EVENTS:
                self.owner.flush_busy()


class LiveRows:
    """A :class:`Recorder` that keeps live rows only and hands finished contacts to a :class:`Sink`
    (module docstring). ``chunk``: contacts per chunk (default :data:`CHUNK`)."""

    def __init__(self, sink: Sink, chunk: int | None = None) -> None:
        self.sink = sink
        self.chunk = chunk or CHUNK
        #: ids of contacts that left, not yet moved out
        self.gone: list[int] = []
        self.channel = _Counted()
        self.segment = _Counted()
        self.arrival = _Counted()
        self.exit = _Indexed()
        self.outcome = _Indexed()
        self.attempt = _Counted()
        self.v_contact = _VisitContact()
        self.v_step = _Counted()
        self.v_pool = _Indexed()
        self.v_queued = _Counted()
        self.v_start = _Start()
        self.v_end = _End()
        self.v_outcome = _Indexed()
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

    def left(self, cid: int) -> None:
        gone = self.gone
        gone.append(cid)
        if len(gone) >= BATCH:
            self.move(sorted(gone))
            gone.clear()

    def close(self, end_time: float, stopped: str) -> None:
        """Fold everything, contacts still present included (their unfinished visits end at
        ``end_time``)."""
        self.end_time = end_time
        self.stopped = stopped
        self.flush_busy(end_time)
        self.gone.clear()
        self.out.end_time = end_time
        self.move(sorted(dict.keys(self.arrival)))
        self.emit()

    def move(self, ids: list[int]) -> None:
        """Move contacts ``ids``, with their visits, from the live rows to the chunk for the sink;
        hand the chunk over when it is full."""
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
        o.outcome.extend(map(self.outcome.pop, ids, repeat(_IN_SYSTEM)))
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
        o.v_outcome.extend(map(self.v_outcome.pop, vids, repeat(_WAITING)))

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
