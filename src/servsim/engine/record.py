"""What the engine writes, and where it goes: the recorder seam.

The engine (:class:`~servsim.engine.core.Engine`) writes every fact of a run through one
interface, :class:`Recorder`: one row per contact and one per step visit, in columns, and a call
when a contact has left. It never reads back what it wrote, so a recorder is free to store rows
wherever it likes. There are two:

* :class:`Records`, the per-contact log: typed columnar arrays (``array.array``) that pickle
  across processes and become the ``contacts`` and ``visits`` tables (:mod:`servsim.metrics`);
* :class:`LiveRows`, for runs without a log. A hotel keeps a register of the guests in the house,
  not of every guest it ever had: at check-out the guest's card goes to the accountant, who adds it
  to the month's figures and shreds it. ``LiveRows`` is that register: it holds the rows of the
  contacts still in the system and of the last few thousand that came, so memory follows the
  number of contacts present, not the number that came through. Appends go to the same typed
  arrays as the log's (a window that starts at the oldest row still needed); the columns written by
  index are dicts of the rows not yet folded. When :data:`CHUNK` contacts have left, their rows and
  their visits' rows go, with numpy, into a compact :class:`Records` (contacts renumbered from 0)
  for the *sink* (:class:`Sink`), which folds it into per-cell sums and drops it. Pools' busy time
  needs the number of busy slots at every instant: every service start and busy end (the end of a
  wrap-up, which may lie ahead: those of folded visits wait in ``pending``) up to that moment
  is handed over too, in time order — those of the folded visits from their rows, those of visits
  still live from the dicts — so nothing on the engine's path does more than with the log.

``CHUNK`` and ``BATCH`` are read when they are used, so a test may change them.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, Protocol

import numpy as np

from servsim.outcomes import Outcome, VisitOutcome

#: Contacts kept in place when the window is compacted: the newest ones, likely to leave soon
#: (older contacts still present move to small dicts).
BATCH = 4096
#: Contacts folded at a time: big enough to amortise building a chunk's tables, small enough that
#: they stay around a megabyte.
CHUNK = 4096

NAN = float("nan")
_IN_SYSTEM = int(Outcome.IN_SYSTEM)
_WAITING = int(VisitOutcome.WAITING)

#: The per-contact columns, in the order the engine appends a new contact's row.
CONTACT_COLUMNS = ("channel", "segment", "arrival", "exit", "outcome", "attempt")
#: The per-visit columns, in the order the engine appends a new visit's row.
VISIT_COLUMNS = ("v_contact", "v_step", "v_pool", "v_queued", "v_start", "v_end", "v_outcome")
#: Per-contact columns written by index only, for the few contacts a mechanism concerns, never
#: appended: a row never written reads its :data:`SPARSE_FILL` value. ``offer``: a callback offer
#: at the channel's entry step, 1 declined, 2 accepted (0: none; :mod:`servsim.engine.core`).
SPARSE_CONTACT_COLUMNS = ("offer",)
#: Per-visit columns written by index only, for some visits, never appended: a row never written
#: reads its :data:`SPARSE_FILL` value. ``v_agent``: the agent (0-based in its pool) of a visit
#: served by a pool of individual agents, so that headcount pools pay nothing per visit for it;
#: ``v_free``: when the agent who served the visit is free again after its wrap-up, written only at
#: steps with wrap-up.
SPARSE_VISIT_COLUMNS = ("v_agent", "v_free")
#: value and dtype of a sparse column's rows never written
SPARSE_FILL: dict[str, tuple[float, type]] = {"offer": (0, np.int8), "v_agent": (-1, np.int32),
                                              "v_free": (math.nan, np.float64)}
#: Every column of a recorder, contacts first.
COLUMNS = CONTACT_COLUMNS + SPARSE_CONTACT_COLUMNS + VISIT_COLUMNS + SPARSE_VISIT_COLUMNS


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
      ``v_outcome`` WAITING. :data:`SPARSE_CONTACT_COLUMNS` and :data:`SPARSE_VISIT_COLUMNS` are
      never appended to (a row never written reads its :data:`SPARSE_FILL` value: 0, -1, NaN);
    * **writes** (``col[i] = x``) go only to rows already appended, of a contact that has not left
      (a visit's contact is its ``v_contact``);
    * ``v_agent[v]`` (the agent, 0-based within its pool, of a pool of individual agents; never
      written for a headcount pool) is written only when service starts, right before ``v_pool[v]``;
    * ``v_start[v] = now`` comes right after ``v_pool[v] = p``; ``v_end[v]`` of a started visit is
      written when its service ends. Both are written at the current simulated time, so service
      starts and ends come in time order. (An abandoned visit's ``v_end`` is its deadline.)
    * ``v_free[v]``, the time the agent who served visit v is free again (the end of its wrap-up),
      is written only for a served visit of a step with wrap-up, right after its service end
      (``v_end[v]``, ``v_outcome[v]``) and at the same moment (before its contact can leave); it
      is ≥ ``v_end[v]``, possibly after the current time. A pool's slot is busy from ``v_start`` to
      ``v_free`` where written, else to ``v_end``: busy ends are in time order only without
      wrap-up. A visit ends ``preempted`` (interruptible back-stage work set aside for front-stage
      work) like a service end: its ``v_end`` is written at the current time;
    * :meth:`left` is called once per contact that leaves, after its ``exit``, its ``outcome`` (not
      IN_SYSTEM) and its visits' last writes; contacts still present at the end never leave;
    * ``offer[c]`` (a callback offer: 1 declined, 2 accepted) is written only while contact c waits
      at its channel's entry step; an accepted offer is followed by the end of that visit
      (``v_end`` = now, ``v_outcome`` CALLBACK) and the append of its callback visit;
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
    @property
    def offer(self) -> Column: ...
    @property
    def v_agent(self) -> Column: ...
    @property
    def v_free(self) -> Column: ...

    def left(self, cid: int) -> None:
        """Contact ``cid`` has left: none of its rows, nor its visits' rows, will be written again."""

    def close(self, end_time: float, stopped: str) -> None:
        """The run ended at ``end_time``; ``stopped`` says why it stopped early ('' if it did not)."""


@dataclass
class Records:
    """The per-contact log of one run: raw columns as plain arrays (they pickle across processes).

    A :class:`Recorder` that keeps every row; ``v_contact`` is a row of the contact columns; the
    sparse ``offer``, ``v_agent`` and ``v_free`` are dicts of the rows written."""

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
    #: sparse: contact id -> callback offer code, for contacts offered a callback
    offer: dict[int, int] = field(default_factory=dict)
    #: sparse: visit id -> agent, for visits served by individual agents
    v_agent: dict[int, int] = field(default_factory=dict)
    #: sparse: visit id -> when its agent was free again, for visits at steps with wrap-up
    v_free: dict[int, float] = field(default_factory=dict)
    # run status
    end_time: float = 0.0
    stopped: str = ""

    def left(self, cid: int) -> None:
        """Nothing to do: the log keeps every row."""

    def close(self, end_time: float, stopped: str) -> None:
        self.end_time = end_time
        self.stopped = stopped


def as_numpy(rec: Records) -> dict[str, np.ndarray]:
    """Zero-copy numpy views of the record columns (the sparse ones filled out: -1 or NaN where not
    written)."""
    out = {}
    for name in CONTACT_COLUMNS + VISIT_COLUMNS:
        col = getattr(rec, name)
        out[name] = np.frombuffer(col, dtype=col.typecode) if len(col) else np.array([], dtype=col.typecode)
    for names, n in ((SPARSE_CONTACT_COLUMNS, len(rec.arrival)), (SPARSE_VISIT_COLUMNS, len(rec.v_contact))):
        for name in names:
            out[name] = _sparse(getattr(rec, name), n, *SPARSE_FILL[name])
    return out


def _sparse(col: dict, n: int, fill: float = -1, dtype: type = np.int32) -> np.ndarray:
    """A sparse column (row -> value) as an array of ``n`` rows, ``fill`` where not written (a
    read-only view of one value, taking no memory, when no row was written)."""
    if not col:
        return np.broadcast_to(dtype(fill), (n,))
    out = np.full(n, fill, dtype=dtype)
    out[np.fromiter(col.keys(), dtype=np.int64, count=len(col))] = np.fromiter(col.values(), dtype=dtype,
                                                                             count=len(col))
    return out


class Sink(Protocol):
    """Where finished contacts and pool events go (see :class:`servsim.streaming.Accumulator`)."""

    def contacts(self, rec: Records) -> None:
        """Fold a chunk of contacts, with all their visits (``v_contact`` = row in the chunk)."""

    def busy(self, times: np.ndarray, codes: np.ndarray, until: float) -> None:
        """Fold service starts (code = pool) and ends (code = ~pool), in time order, then integrate the
        pools' levels up to ``until`` (no event will come before it)."""


class _Indexed(dict):
    """A column written by index only. Every row starts at its column's starting value (NaN, -1,
    IN_SYSTEM or WAITING), which the appends carry: appends are ignored, and moving a row out
    supplies the starting value of a row never written."""

    __slots__ = ()
    #: a C builtin taking one argument and doing nothing with it: cheaper than a Python method
    append = id


#: numpy dtypes of the ``array.array`` typecodes the columns use.
_DTYPES = {"h": np.int16, "b": np.int8, "i": np.int32, "d": np.float64}


def _column(typecode: str, values: np.ndarray) -> array:
    """``values`` as an ``array.array`` of ``typecode`` (the columns of :class:`Records`)."""
    out = array(typecode)
    out.frombytes(np.ascontiguousarray(values, dtype=_DTYPES[typecode]).tobytes())
    return out


def _view(col: array) -> np.ndarray:
    """A zero-copy numpy view of an ``array.array`` column (drop it before the column grows)."""
    return np.frombuffer(col, dtype=_DTYPES[col.typecode]) if len(col) else np.zeros(0, dtype=_DTYPES[col.typecode])


class LiveRows:
    """A :class:`Recorder` that keeps the rows of contacts still present only and hands finished
    contacts to a :class:`Sink` in chunks of ``chunk`` (default :data:`CHUNK`) contacts.

    The columns the engine only appends to (``channel``, ``segment``, ``arrival``, ``attempt``,
    ``v_contact``, ``v_step``, ``v_queued``) are the same ``array.array`` columns as the log's, holding
    the rows from ``cbase`` (contacts) and ``vbase`` (visits) on, so appending costs what it costs
    with the log. The columns written by index (``exit``, ``outcome``, ``v_pool``, ``v_start``,
    ``v_end``, ``v_outcome`` and the sparse ``offer``, ``v_agent``, ``v_free``) are dicts of the rows
    written and not yet folded. When ``chunk`` contacts have left, :meth:`fold` takes their rows with numpy (a contact's visits are found by one
    :func:`numpy.isin` over the visits window), hands them over as a compact :class:`Records`
    (contacts renumbered from 0), then drops the rows no contact present needs: rows before the
    newest :data:`BATCH` contacts of contacts still present (a long wait, a backlog) move to small
    dicts (``held``), so the arrays stay about ``chunk + BATCH`` contacts long whatever the horizon.
    """

    def __init__(self, sink: Sink, chunk: int | None = None) -> None:
        self.sink = sink
        self.chunk = chunk or CHUNK
        #: ids of contacts that left, not yet folded
        self.gone: list[int] = []
        self.channel, self.segment, self.arrival, self.attempt = array("h"), array("h"), array("d"), array("b")
        self.v_contact, self.v_step, self.v_queued = array("i"), array("h"), array("d")
        self.cbase = 0
        self.vbase = 0
        #: per contact row of the window: folded already (sized lazily)
        self.folded = np.zeros(0, dtype=bool)
        self.exit = _Indexed()
        self.outcome = _Indexed()
        self.v_pool = _Indexed()
        self.v_start = _Indexed()
        self.v_end = _Indexed()
        self.v_outcome = _Indexed()
        self.offer = _Indexed()
        self.v_agent = _Indexed()
        self.v_free = _Indexed()
        #: busy ends (``v_free``) after the pool events handed over, of visits already folded
        self.pending = (np.zeros(0), np.zeros(0, dtype=np.int64))
        #: pool events (service starts and ends) before this time have been handed to the sink
        self.events_until = -math.inf
        #: appended rows of contacts still present from before ``cbase``: cid -> (channel, segment,
        #: arrival, attempt), and their visits from before ``vbase``: cid -> [(vid, step, queued)]
        self.held: dict[int, tuple[int, int, float, int]] = {}
        self.held_visits: dict[int, list[tuple[int, int, float]]] = {}
        self.end_time = 0.0
        self.stopped = ""

    @property
    def contacts(self) -> int:
        """Contacts that arrived so far (with the log on: ``len(rec.arrival)``)."""
        return self.cbase + len(self.arrival)

    @property
    def in_memory(self) -> int:
        """Contact rows held now: the window's and the held ones."""
        return len(self.arrival) + len(self.held)

    def left(self, cid: int) -> None:
        gone = self.gone
        gone.append(cid)
        if len(gone) >= self.chunk:
            self.fold()

    def close(self, end_time: float, stopped: str) -> None:
        """Fold everything, contacts still present included (their unfinished visits end at
        ``end_time``)."""
        self.end_time = end_time
        self.stopped = stopped
        folded = self._folded()
        gone = set(self.gone)
        present = [cid for cid in (self.cbase + np.flatnonzero(~folded)).tolist() if cid not in gone]
        self.gone.extend(present)
        self.gone.extend(self.held)
        self.fold(end_time, final=True)

    def _folded(self) -> np.ndarray:
        """:attr:`folded`, grown to the window's length."""
        n = len(self.arrival)
        if len(self.folded) < n:
            self.folded = np.concatenate([self.folded, np.zeros(n - len(self.folded), dtype=bool)])
        return self.folded

    def fold(self, end_time: float = NAN, final: bool = False) -> None:
        """Hand the contacts that left (at the end, ``final``, all present ones too, and the run's
        ``end_time``), with their visits, to the sink as one chunk, and the pool events so far; then
        drop the rows no contact present needs.

        Pool events (service starts and ends) are written at the moment they happen, so they come in
        time order: everything up to the latest one seen is complete (an abandonment may be written
        after its deadline, but it is no pool event). The events handed over are those of the folded
        visits and of live visits from ``events_until`` on, up to that latest time."""
        # sorted; at the end a held contact that left is in ``gone`` twice
        ids = np.sort(np.fromiter(self.gone, dtype=np.int64, count=len(self.gone)))
        if final and len(ids):
            ids = ids[np.r_[True, ids[1:] != ids[:-1]]]
        self.gone.clear()
        since = self.events_until
        chunk = self._chunk(ids, end_time if final else NAN)  # takes its visits out of the dicts
        if len(ids):
            self.sink.contacts(chunk)
        times, codes, latest = _chunk_events(chunk, since)
        if final:
            until = end_time
        else:
            live_t, live_c, live_latest = self._dict_events(since)
            until = max(since, latest, live_latest)
            later = live_t >= until  # the latest moment may have more events to come: next time
            times, codes = np.concatenate([times, live_t[~later]]), np.concatenate([codes, live_c[~later]])
        if len(self.pending[0]) or (len(times) and times.max() > until):
            # wrap-ups ending after the latest moment seen: folded visits' ones wait here (at the
            # end of the run, those still running are not busy ends)
            times, codes = np.concatenate([self.pending[0], times]), np.concatenate([self.pending[1], codes])
            ahead = times > until
            self.pending = (times[ahead], codes[ahead]) if not final else (times[:0], codes[:0])
            times, codes = times[~ahead], codes[~ahead]
        if until > -math.inf:
            order = np.argsort(times, kind="stable")
            self.sink.busy(times[order], codes[order], until)
            self.events_until = until
        if not final:
            self._compact()

    def _dict_events(self, since: float) -> tuple[np.ndarray, np.ndarray, float]:
        """Service starts (code = pool) and busy ends (~pool: ``v_free`` where written, else
        ``v_end``) at or after ``since`` of visits not folded, and the latest start or end time
        written (-inf if none): the current moment."""
        pool, free = self.v_pool, self.v_free
        times, codes = [np.zeros(0)], [np.zeros(0, dtype=np.int64)]
        latest = -math.inf
        for col, start in ((self.v_start, True), (self.v_end, False), (free, False)):
            if not col:
                continue
            vids = np.fromiter(col.keys(), dtype=np.int64, count=len(col))
            t = np.fromiter(col.values(), dtype=np.float64, count=len(col))
            keep = t >= since
            vids, t = vids[keep], t[keep]
            if col is not free and len(t):
                latest = max(latest, float(t.max()))
            if col is self.v_end and free:  # the slot is busy until the wrap-up ends
                mine = np.fromiter(map(free.__contains__, vids.tolist()), dtype=bool, count=len(vids))
                vids, t = vids[~mine], t[~mine]
            p = np.fromiter(map(pool.get, vids.tolist(), repeat(-1)), dtype=np.int64, count=len(vids))
            started = p >= 0  # an abandoned visit's end is no pool event
            times.append(t[started])
            codes.append(p[started] if start else ~p[started])
        return np.concatenate(times), np.concatenate(codes), latest

    def _chunk(self, ids: np.ndarray, end_time: float) -> Records:
        """The rows of contacts ``ids`` (sorted) and of their visits, as a compact :class:`Records`."""
        held_ids = ids[ids < self.cbase].tolist()
        win = ids[ids >= self.cbase] - self.cbase
        folded = self._folded()
        folded[win] = True
        rows = [self.held.pop(cid) for cid in held_ids]
        cols = {}
        for j, name in enumerate(("channel", "segment", "arrival", "attempt")):
            window = _view(getattr(self, name))
            cols[name] = np.concatenate([np.array([r[j] for r in rows], dtype=window.dtype), window[win]])
            del window  # the array may not grow while numpy looks at its buffer
        # visits: those in the window of these contacts, and the held ones of held contacts
        vc = _view(self.v_contact)
        mine = np.flatnonzero(np.isin(vc, ids))
        v_id = self.vbase + mine
        v_cid = vc[mine].astype(np.int64)
        del vc
        v_step = _view(self.v_step)[mine]
        v_queued = _view(self.v_queued)[mine]
        extra = [(vid, cid, step, queued) for cid in held_ids for vid, step, queued in self.held_visits.pop(cid, ())]
        if extra:
            v_id = np.concatenate([np.array([e[0] for e in extra], dtype=np.int64), v_id])
            v_cid = np.concatenate([np.array([e[1] for e in extra], dtype=np.int64), v_cid])
            v_step = np.concatenate([np.array([e[2] for e in extra], dtype=np.int16), v_step])
            v_queued = np.concatenate([np.array([e[3] for e in extra], dtype=np.float64), v_queued])
            order = np.argsort(v_id, kind="stable")  # a contact's visits in the order they began
            v_id, v_cid, v_step, v_queued = v_id[order], v_cid[order], v_step[order], v_queued[order]
        return Records(
            channel=_column("h", cols["channel"]), segment=_column("h", cols["segment"]),
            arrival=_column("d", cols["arrival"]),
            exit=_column("d", _take(self.exit, ids, NAN, np.float64)),
            outcome=_column("b", _take(self.outcome, ids, _IN_SYSTEM, np.int8)),
            attempt=_column("b", cols["attempt"]),
            v_contact=_column("i", np.searchsorted(ids, v_cid)), v_step=_column("h", v_step),
            v_pool=_column("h", _take(self.v_pool, v_id, -1, np.int16)), v_queued=_column("d", v_queued),
            v_start=_column("d", _take(self.v_start, v_id, NAN, np.float64)),
            v_end=_column("d", _take(self.v_end, v_id, NAN, np.float64)),
            v_outcome=_column("b", _take(self.v_outcome, v_id, _WAITING, np.int8)),
            v_agent=_rows_written(_take(self.v_agent, v_id, -1, np.int32)),
            v_free=_rows_written(_take(self.v_free, v_id, NAN, np.float64)),
            offer=_rows_written(_take(self.offer, ids, 0, np.int8), 0) if self.offer else {},
            end_time=end_time,
        )

    def _compact(self) -> None:
        """Drop the window's rows before the newest :data:`BATCH` contacts: folded ones go, those of
        contacts still present move to :attr:`held` (their visits to :attr:`held_visits`)."""
        n = len(self.arrival)
        cut = n - BATCH
        if cut <= 0:
            return
        folded = self._folded()
        vc = _view(self.v_contact).astype(np.int64)
        rel = vc - self.cbase
        in_window = rel >= 0
        # a visit is still needed if its contact has not been folded (held contacts count as present)
        done = np.zeros(len(vc), dtype=bool)
        done[in_window] = folded[rel[in_window]]
        if (~in_window).any():
            done[~in_window] = [cid not in self.held for cid in vc[~in_window].tolist()]
        needed = ~done
        recent = needed & (rel >= cut)
        vcut = int(np.flatnonzero(recent)[0]) if recent.any() else len(vc)
        for i in np.flatnonzero(needed[:vcut]).tolist():  # visits of contacts present, before the cut
            self.held_visits.setdefault(int(vc[i]), []).append((self.vbase + i, self.v_step[i], self.v_queued[i]))
        for k in np.flatnonzero(~folded[:cut]).tolist():  # contacts present, before the cut
            self.held[self.cbase + k] = (self.channel[k], self.segment[k], self.arrival[k], self.attempt[k])
        del vc, rel
        for col in (self.channel, self.segment, self.arrival, self.attempt):
            del col[:cut]
        for col in (self.v_contact, self.v_step, self.v_queued):
            del col[:vcut]
        self.folded = folded[cut:]
        self.cbase += cut
        self.vbase += vcut



def _positions(ids: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Position of each of ``keys`` in ``ids`` (sorted, unique), -1 where absent: by direct address
    when the ids are dense (as a chunk's are), else by binary search."""
    if not len(ids):
        return np.full(len(keys), -1, dtype=np.int64)
    lo, span = int(ids[0]), int(ids[-1] - ids[0]) + 1
    if span <= 4 * len(ids) + 4096:
        slot = np.full(span + 1, -1, dtype=np.int64)  # the last entry: keys outside the ids' range
        slot[ids - lo] = np.arange(len(ids))
        rel = keys - lo
        return slot[np.where((rel >= 0) & (rel < span), rel, span)]
    pos = np.minimum(np.searchsorted(ids, keys), len(ids) - 1)
    return np.where(ids[pos] == keys, pos, -1)


def _rows_written(values: np.ndarray, fill: float = -1) -> dict:
    """A sparse column of a chunk from its values by row (``fill``, -1 or NaN: not written; the
    values written are above the fill)."""
    rows = np.flatnonzero(values > fill) if fill == fill else np.flatnonzero(values >= 0)  # NaN compares false
    return dict(zip(rows.tolist(), values[rows].tolist()))


def _take(col: _Indexed, ids: np.ndarray, fill: float, dtype: type) -> np.ndarray:
    """The values of an indexed column at rows ``ids`` (sorted, unique; ``fill`` where a row was
    never written), taken out of the column. The column is read whole, in one pass from C, and
    refilled with the rows it keeps (those of contacts still present: few)."""
    n = len(col)
    out = np.full(len(ids), fill, dtype=dtype)
    if not n:
        return out
    keys = np.fromiter(col.keys(), dtype=np.int64, count=n)
    values = np.fromiter(col.values(), dtype=dtype, count=n)
    pos = _positions(ids, keys)
    mine = pos >= 0
    out[pos[mine]] = values[mine]
    col.clear()
    if not mine.all():
        col.update(zip(keys[~mine].tolist(), values[~mine].tolist()))
    return out


def _chunk_events(chunk: Records, since: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Service starts (code = pool) and busy ends (~pool: ``v_free`` where written, else ``v_end``)
    at or after ``since`` of a chunk's visits (the earlier ones were handed over while those visits
    were live), and the latest start or end at or after ``since`` (-inf if none)."""
    start, end = _view(chunk.v_start), _view(chunk.v_end)
    pool = _view(chunk.v_pool).astype(np.int64)
    s = (pool >= 0) & (start >= since)
    e = (pool >= 0) & (end >= since)  # NaN (not ended) compares false
    latest = max(float(start[s].max()) if s.any() else -math.inf, float(end[e].max()) if e.any() else -math.inf)
    if chunk.v_free:
        free = _sparse(chunk.v_free, len(end), math.nan, np.float64)
        end = np.where(np.isnan(free), end, free)
        e = (pool >= 0) & (end >= since)
    return np.concatenate([start[s], end[e]]), np.concatenate([pool[s], ~pool[e]]), latest
