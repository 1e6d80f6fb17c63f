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
  needs the number of busy slots at every instant: every service start and end up to that moment
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
#: Every column of a recorder, contacts first.
COLUMNS = CONTACT_COLUMNS + VISIT_COLUMNS
#: Per-contact columns written by index only, for the few contacts a mechanism concerns (no row
#: is appended; a contact never written reads 0): ``offer`` — a callback offer, 1 declined, 2
#: accepted (:mod:`servsim.engine.core`).
SPARSE_COLUMNS = ("offer",)


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
    * a sparse column (:data:`SPARSE_COLUMNS`, a mapping) gets no appends; it is written by index
      (``offer[cid] = code``) for a contact that has not left;
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
    # sparse: contact id -> code, for the contacts concerned only (SPARSE_COLUMNS)
    offer: dict[int, int] = field(default_factory=dict)
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
    ``v_end``, ``v_outcome``) are dicts of the rows written and not yet folded. When ``chunk``
    contacts have left, :meth:`fold` takes their rows with numpy (a contact's visits are found by one
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
        self.offer: dict[int, int] = {}
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
        ids = np.unique(np.array(self.gone, dtype=np.int64))
        self.gone.clear()
        since = self.events_until
        chunk = self._chunk(ids, end_time if final else NAN)  # takes its visits out of the dicts
        if len(ids):
            self.sink.contacts(chunk)
        times, codes = _chunk_events(chunk, since)
        if final:
            until = end_time
        else:
            live_t, live_c = self._dict_events(since)
            until = max(since, float(times.max()) if len(times) else -math.inf,
                        float(live_t.max()) if len(live_t) else -math.inf)
            later = live_t >= until  # the latest moment may have more events to come: next time
            times, codes = np.concatenate([times, live_t[~later]]), np.concatenate([codes, live_c[~later]])
        if until > -math.inf:
            order = np.argsort(times, kind="stable")
            self.sink.busy(times[order], codes[order], until)
            self.events_until = until
        if not final:
            self._compact()

    def _dict_events(self, since: float) -> tuple[np.ndarray, np.ndarray]:
        """Service starts (code = pool) and ends (~pool) at or after ``since`` of visits not folded."""
        pool = self.v_pool
        times, codes = [np.zeros(0)], [np.zeros(0, dtype=np.int64)]
        for col, start in ((self.v_start, True), (self.v_end, False)):
            if not col:
                continue
            vids = np.fromiter(col.keys(), dtype=np.int64, count=len(col))
            t = np.fromiter(col.values(), dtype=np.float64, count=len(col))
            keep = t >= since
            vids, t = vids[keep], t[keep]
            p = np.fromiter(map(pool.get, vids.tolist(), repeat(-1)), dtype=np.int64, count=len(vids))
            started = p >= 0  # an abandoned visit's end is no pool event
            times.append(t[started])
            codes.append(p[started] if start else ~p[started])
        return np.concatenate(times), np.concatenate(codes)

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
        vids = v_id.tolist()
        cid_list = ids.tolist()
        return Records(
            channel=_column("h", cols["channel"]), segment=_column("h", cols["segment"]),
            arrival=_column("d", cols["arrival"]),
            exit=array("d", map(self.exit.pop, cid_list, repeat(NAN))),
            outcome=array("b", map(self.outcome.pop, cid_list, repeat(_IN_SYSTEM))),
            attempt=_column("b", cols["attempt"]),
            v_contact=_column("i", np.searchsorted(ids, v_cid)), v_step=_column("h", v_step),
            v_pool=array("h", map(self.v_pool.pop, vids, repeat(-1))), v_queued=_column("d", v_queued),
            v_start=array("d", map(self.v_start.pop, vids, repeat(NAN))),
            v_end=array("d", map(self.v_end.pop, vids, repeat(NAN))),
            v_outcome=array("b", map(self.v_outcome.pop, vids, repeat(_WAITING))),
            offer=self._sparse(self.offer, cid_list),
            end_time=end_time,
        )

    @staticmethod
    def _sparse(col: dict[int, int], cid_list: list[int]) -> dict[int, int]:
        """The rows of contacts ``cid_list`` in sparse column ``col``, renumbered as in the chunk, taken out."""
        if not col:
            return {}
        return {i: col.pop(cid) for i, cid in enumerate(cid_list) if cid in col}

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



def _chunk_events(chunk: Records, since: float) -> tuple[np.ndarray, np.ndarray]:
    """Service starts (code = pool) and ends (~pool) at or after ``since`` of a chunk's visits (the
    earlier ones were handed over while those visits were live)."""
    start, end = _view(chunk.v_start), _view(chunk.v_end)
    pool = _view(chunk.v_pool).astype(np.int64)
    s = (pool >= 0) & (start >= since)
    e = (pool >= 0) & (end >= since)  # NaN (not ended) compares false
    return np.concatenate([start[s], end[e]]), np.concatenate([pool[s], ~pool[e]])
