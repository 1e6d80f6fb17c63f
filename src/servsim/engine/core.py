"""The event engine: contacts walk the process steps; agent pools serve them. Runs on SimPy.

Think of a bank hall. Customers come through the door (an *arrival* event), take a ticket for the
counter they need (a *step queue*, one lane per priority level) and wait. A clerk who finishes
(a *completion* event) calls the most important, longest-waiting ticket among the counters they
are trained for. Customers who lose patience leave.

Only what must happen is scheduled: one event per arrival and one per service completion, plus
one per staffing change. Abandonment needs no timer of its own: a waiting contact carries its
*deadline* (queue entry + patience); a contact whose deadline has passed when it reaches the head
of its lane is recorded as abandoned **at its deadline** and skipped. Because an abandoning
contact never changes what happens to anyone else, this is exact, and it saves the two events
(timer and condition) per contact of the idiomatic SimPy model.

Where a rule looks at the length of a queue (balking, overflow to a vendor on queue length or
predicted wait) or an abandonment has consequences (a retrial), the waiting contacts concerned get
a live patience timer instead, so that queue lengths and retrial times are exact.

Finite capacity costs nothing where it is not used. Trunk lines (``ChannelPlan.trunk``): a contact
of a channel with lines takes a line of its trunk on arrival and gives it back when it leaves the
front stage; with none free it is *blocked*. A finite waiting room (``StepPlan.capacity`` r): work
that would queue when r already wait is blocked. Both need the true number present, while lazily
abandoning contacts still sit in their lanes past their deadline; so when the count says "full",
the contacts concerned whose deadline has passed are recorded as abandoned (at their deadlines)
first, and the count is read again. That is exact, adds no event per contact, and costs a scan of
the queues only when the capacity binds.

Bots and vendors are pools too; a step with ``automation`` or ``outsource`` has *variant* steps
(``claims@rpa``, ``answer@vendor``) served only by them, and its entry rules decide who gets the
work. Chat concurrency k multiplies a pool's slots by k.

A pool is a headcount (its agents interchangeable: ``busy`` and ``staffed`` counts) unless its agents
are individuals (per-agent proficiencies, or ``longest_idle`` routing): then an
:class:`~servsim.engine.agents.Agents` roster says who is idle since when, the longest-idle agent
takes a contact, and ``busy`` counts the busy agents on duty only, so busy < staffed still means
"an agent on duty is idle". When several pools of a step have an idle agent, ``StepPlan.choose``
says which takes an arriving contact (:meth:`Engine._choose`); the default takes the first.

Wrap-up (after-contact work): at a step with ``wrap_up`` the contact moves on when its service
ends, and the agent's slot stays busy until a wrap-up event (one more event per served visit there
only) releases it. Interruptible back-stage work: its services complete through a :class:`_Due`
event whose value names the visit, so that a preempted service's completion finds the contact in a
newer visit and does nothing; a front-stage arrival finding no idle agent preempts the agent who
last started such an item (see :meth:`Engine._preempt`).

Everything the engine records goes through a :class:`~servsim.engine.record.Recorder`, one row
per contact and one per step visit, which it never reads back; the engine's own state lives in its
:class:`Contact` objects and counters. By default the recorder is the per-contact log
(:class:`~servsim.engine.record.Records`, typed columnar arrays); tables are built once, after the
run (see :mod:`servsim.metrics`).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache
from heapq import heappush
from typing import TypeVar, overload

import simpy
from simpy.events import NORMAL

from servsim.engine.agents import Agents, agent_factors
from servsim.engine.plan import LONGEST_IDLE, RESTART, RESUME, CallbackPlan, ChannelPlan, Overflow, Plan, StepPlan
from servsim.engine.record import Recorder, Records, as_numpy  # noqa: F401 - Records, as_numpy: re-exported
from servsim.outcomes import Outcome, VisitOutcome
from servsim.random import Seed, Streams
from servsim.scenario.distributions import _Dist
from servsim.units import DAY

INF = math.inf
NAN = math.nan

# outcome codes (servsim.outcomes), bound to plain ints: the hot path compares and stores ints
IN_SYSTEM = int(Outcome.IN_SYSTEM)
HANDLED = int(Outcome.HANDLED)
ABANDONED = int(Outcome.ABANDONED)
BALKED = int(Outcome.BALKED)
UNRESOLVED = int(Outcome.UNRESOLVED)
BLOCKED = int(Outcome.BLOCKED)
WAITING = int(VisitOutcome.WAITING)
SERVED = int(VisitOutcome.SERVED)
IN_SERVICE = int(VisitOutcome.IN_SERVICE)
V_ABANDONED = int(VisitOutcome.ABANDONED)
PREEMPTED = int(VisitOutcome.PREEMPTED)
V_CALLBACK = int(VisitOutcome.CALLBACK)
#: a contact's callback offer, as the recorder's sparse ``offer`` column holds it
OFFER_DECLINED = 1
OFFER_ACCEPTED = 2
#: deadline of a contact whose patience timer already recorded its abandonment
GONE = -1.0
#: retrials and repeats are counted in a signed byte
MAX_ATTEMPT = 127
#: the visit limits are checked once per this many moves from a step to the next: only routing can
#: make unbounded work at one instant (first visits are arrivals, bounded by ``max_contacts``)
PACE_BLOCK = 1 << 16


class _Due:
    """An event the engine schedules itself: what :meth:`simpy.Environment.step` reads of an event
    (``callbacks``, ``_ok``) and the value the callback reads (``_value``), without the checks and the
    two calls of a :class:`simpy.Timeout`. It goes on the environment's queue as a timeout would
    (priority NORMAL, next event id), so events are processed in exactly the same order."""

    __slots__ = ("callbacks", "_value")
    _ok = True


class Contact:
    """A customer (front stage) or work item (back stage) in the system: everything the engine needs
    to know about it (it never reads its recorder).

    ``level``: its queue level (0 = first). Set when it enters a step: ``visit`` (its current visit
    id), ``step`` (-1 before its first step and for new work after a bots step), ``deadline`` (when
    its patience runs out in that visit; INF: never; GONE: it has abandoned) and ``enq`` (when it
    joined the step's queue, or was served at once). Set when it is served: ``pool``, the pool serving it or that
    last served it (-1 while it waits with a patience timer armed). ``line``: for a contact of a channel
    with trunk lines only, the trunk whose line it holds (-1 once given back)."""

    __slots__ = ("id", "channel", "segment", "attempt", "level", "deadline", "enq", "visit", "step", "pool",
                 "patience", "timed", "callbacks", "line")
    #: a contact in service is its own completion event (:class:`_Due`): ``callbacks`` is set when
    #: it is scheduled
    _ok = True

    def __init__(self, cid: int, channel: int, segment: int, attempt: int, level: int,
                 patience: Callable[[], float] | None, timed: bool) -> None:
        self.id = cid
        self.channel = channel
        self.segment = segment
        self.attempt = attempt
        self.level = level
        self.patience = patience
        self.timed = timed
        self.step = -1


class _Overflow(Exception):
    """Raised inside the event loop when the system holds more contacts than allowed."""


class Engine:
    """One replication of a :class:`Plan` under one seed, written to ``rec`` (default: a new
    :class:`Records`). Use :func:`run` rather than this class."""

    # slotted: the event handlers read these on every event, and a slot is the cheapest attribute
    __slots__ = ("plan", "env", "steps", "channels", "segment_level", "handle", "route", "rules_u", "arrival_gap",
                 "segment_u", "balk_u", "patience", "retrial", "repeat", "resolve", "staffed", "heads", "busy",
                 "concurrency", "queue_groups", "slowdown", "proficiency", "waiting", "queues", "in_system", "limit",
                 "max_contacts", "hops", "paced", "n_contacts", "n_visits", "rec", "events", "event_ids",
                 "done", "new_row", "new_visit", "agents", "idle_u", "wrap", "modes", "working",
                 "remaining", "closed", "draining", "lines", "gated", "callback_u")

    def __new__(cls, plan: Plan, seed: Seed, rec: Recorder | None = None) -> Engine:
        """An engine of the class the plan needs: :class:`Engine` itself, or one with the
        mechanisms that replace a method of the hot path (:func:`_engine_class`)."""
        return object.__new__(_engine_class(plan) if cls is Engine else cls)

    def __init__(self, plan: Plan, seed: Seed, rec: Recorder | None = None) -> None:
        self.plan = plan
        self.env = simpy.Environment(initial_time=plan.start)
        # the environment's event queue and id counter, which _at and _start push to directly
        self.events = self.env._queue
        self.event_ids = self.env._eid
        # the completion handler every contact in service shares: a list, so that closing time can
        # swap the handler of the contacts already in service too (horizon.closing)
        self.done = [self._on_done]
        #: between a day's close and the next opening (drain, drop); contacts in service since the close
        self.closed = False
        self.draining = False
        # the plan's parts read on every event, one attribute away
        self.steps = plan.steps
        self.segment_level = plan.segment_level
        # one named random stream per source, None where the source does not apply
        streams = Streams(seed)
        self.channels = plan.channels if not any(ch.busyness for ch in plan.channels) else _busy_days(plan, streams)
        self.handle = _handle_times(plan, streams)
        for s, st in enumerate(plan.steps):
            if st.handle_factors is not None and self.handle[s] is not None:
                self.handle[s] = self._by_interval(self.handle[s], st.handle_factors)
        self.route = _per_step(plan, streams, "routing", lambda st: len(st.route_to) > 1)
        self.rules_u = _per_step(plan, streams, "entry", lambda st: st.rules)
        self.arrival_gap = [streams.exponential(f"arrivals/{ch.name}") for ch in plan.channels]
        self.segment_u = _per_channel(plan, streams, "segment", lambda ch: len(ch.segment_idx) > 1)
        self.balk_u = _per_channel(plan, streams, "balking", lambda ch: ch.balking is not None)
        self.patience = _patience(plan, streams)
        for c, ch in enumerate(plan.channels):
            if ch.patience_factors is not None:
                self.patience[c] = [self._by_interval(d, ch.patience_factors) if d is not None else None
                                    for d in self.patience[c]]
        self.callback_u = _per_channel(plan, streams, "callback", lambda ch: ch.callback is not None)
        self.retrial = _returns(plan, streams, "retrial", [ch.retrial for ch in plan.channels])
        self.repeat = _returns(plan, streams, "repeat", [ch.repeats for ch in plan.channels])
        self.resolve = _resolution(plan, streams)
        self.wrap = _wrap_times(plan, streams)
        # preemption: per pool, its interruptible steps' modes, the interruptible services in
        # progress in start order (contact -> (completion time, handle-time factor)); per preempted
        # contact to resume, its handle time left (before the factor)
        self.modes = [dict(pl.interruptible) for pl in plan.pools]
        self.working: list[dict[Contact, tuple[float, float]]] = [{} for _ in plan.pools]
        self.remaining: dict[int, float] = {}
        # pools: slots on duty (headcount × concurrency), agents on duty, slots in use
        n_pools = len(plan.pools)
        self.staffed = [0] * n_pools
        self.heads = [0] * n_pools
        self.busy = [0] * n_pools
        self.concurrency = [pl.concurrency for pl in plan.pools]
        self.queue_groups = [pl.queue_groups for pl in plan.pools]
        self.slowdown = [pl.slowdown for pl in plan.pools]
        self.proficiency = _proficiency(plan)
        # pools of individual agents: their rosters (None: a headcount pool)
        self.agents = [Agents(f) if f is not None else None for f in agent_factors(plan, streams)]
        self.idle_u = _per_step(plan, streams, "idle_pools", lambda st: st.choose > 0)
        # steps: waiting contacts, one lane per queue level
        self.waiting = [0] * len(plan.steps)
        self.queues = [[deque() for _ in range(plan.n_levels)] for _ in plan.steps]
        #: free lines of each trunk (None: no channel has lines)
        self.lines = list(plan.trunk_lines) if plan.trunk_lines else None
        #: steps where _enter has capacity work to do: a waiting room, or (with trunk lines) back stage
        self.gated = [st.capacity >= 0 or (self.lines is not None and not st.front) for st in plan.steps]
        self.in_system = 0
        self.limit = plan.max_in_system
        self.max_contacts = plan.max_contacts
        #: moves to a next step left before the visit limits are checked, and the time of the last check
        self.hops = PACE_BLOCK
        self.paced = plan.start
        #: contacts and visits so far: the next one's id
        self.n_contacts = 0
        self.n_visits = 0
        self.rec: Recorder = rec if rec is not None else Records()
        # the appends of a new contact's and a new visit's row, bound once (columns are never rebound)
        r = self.rec
        self.new_row = (r.channel.append, r.segment.append, r.arrival.append, r.exit.append, r.outcome.append,
                        r.attempt.append)
        self.new_visit = (r.v_contact.append, r.v_step.append, r.v_pool.append, r.v_queued.append,
                          r.v_start.append, r.v_end.append, r.v_outcome.append)

    # ----------------------------------------------------------------- scheduling
    def _at(self, delay: float, callback: Callable[[_Due], None], value: object) -> None:
        """Call ``callback`` with an event holding ``value`` after ``delay`` (≥ 0) seconds."""
        ev = _Due()
        ev.callbacks = (callback,)
        ev._value = value
        heappush(self.events, (self.env._now + delay, NORMAL, next(self.event_ids), ev))

    def _by_interval(self, draw: Callable[[], float], factors: tuple[float, ...]) -> Callable[[], float]:
        """``draw`` times the factor of the reporting interval of the day holding the current time
        (before the first interval: the first; after the last: the last)."""
        env, plan = self.env, self.plan
        start, width, last, shift = plan.start, plan.interval, len(factors) - 1, plan.day_shift

        def scaled() -> float:
            t = env._now
            tod = t - math.floor((t - shift) / DAY) * DAY
            k = math.floor((tod - start) / width + 1e-9)
            return draw() * factors[0 if k < 0 else k if k < last else last]
        return scaled

    def run(self) -> Recorder:
        plan = self.plan
        closing = plan.closing
        if closing != "carry_over":
            # openings before staffing (a drain still going ends before the day's headcount comes on)
            for t in plan.opens:
                if t < plan.end:
                    self._at(t - plan.start, self._on_open, None)
        # with drain, the agents on duty at close stay: their headcount does not drop to 0 then
        skip = frozenset(plan.closes) if closing == "drain" else frozenset()
        # staffing first: at equal times, agents come on duty before contacts arrive
        for t, p, n in plan.staffing:
            if not (n == 0 and t in skip):
                self._at(t - plan.start, self._on_staffing, (p, n))
        for t in plan.closes:
            if t < plan.end:
                self._at(t - plan.start, self._on_close, None)
        for c, ch in enumerate(plan.channels):
            self._schedule_arrival(c, plan.start, 0)
        stopped = ""
        try:
            self.env.run(until=plan.end)
            if closing != "carry_over":
                # the last day's close, and its drain (no timeline beyond the end of the horizon)
                self._close(self.env._now)
                while self.draining and self.events:
                    self.env.step()
        except _Overflow as reason:
            stopped = f"stopped at t={self.env.now:.0f}s: {reason}"
        self._finish()
        self.rec.close(self.env.now, stopped)
        return self.rec

    # ----------------------------------------------------------------- arrivals
    def _schedule_arrival(self, c: int, now: float, cursor: int) -> None:
        """Schedule channel c's next arrival after ``now`` (``cursor``: position in its rate pieces or trace)."""
        ch = self.channels[c]
        if ch.trace is not None:
            if cursor < len(ch.trace):
                self._at(ch.trace[cursor] - now, self._on_arrival, (c, cursor + 1))
            return
        pieces = ch.rate_pieces
        need = self.arrival_gap[c]()
        t = now
        while cursor < len(pieces):
            t0, t1, rate = pieces[cursor]
            if t < t0:
                t = t0
            gap = need / rate
            if t + gap < t1:
                self._at(t + gap - now, self._on_arrival, (c, cursor))
                return
            need -= (t1 - t) * rate
            cursor += 1
            t = t1

    def _on_arrival(self, ev: _Due) -> None:
        c, cursor = ev._value
        now = self.env._now
        self._schedule_arrival(c, now, cursor)
        ch = self.channels[c]
        u = self.segment_u[c]
        g = ch.segment_idx[bisect_right(ch.segment_cum, u()) if u is not None else 0]
        if ch.general or self.in_system >= self.limit:
            self._new_contact(c, g, 1, now)
            return
        # the common case, inlined: no balking, no retrials, one patience per visit, within limits
        cid = self.n_contacts
        if cid >= self.max_contacts:
            raise _Overflow(f"more than {self.max_contacts:,} contacts arrived (limits.max_contacts); raise it "
                            "for a longer run")
        self.n_contacts = cid + 1
        channel, segment, arrival, exit_, outcome, attempt_ = self.new_row
        channel(c)
        segment(g)
        arrival(now)
        exit_(NAN)
        outcome(IN_SYSTEM)
        attempt_(1)
        self.in_system += 1
        self._enter(Contact(cid, c, g, 1, self.segment_level[g], self.patience[c][g], False), ch.entry, now)

    def _on_return(self, ev: _Due) -> None:
        """A retrial or repeat contact: same channel and segment, one more attempt (lost if it comes
        while the centre is closed under ``drain`` or ``drop``)."""
        if self.closed:
            return
        c, g, attempt = ev._value
        self._new_contact(c, g, attempt, self.env._now)

    def _on_kept_return(self, ev: _Due) -> None:
        """A retrial keeping its patience (``retrial.keep_patience``): the patience it comes back with."""
        c, g, attempt, kept = ev._value
        self._new_contact(c, g, attempt, self.env._now, kept)

    def _new_contact(self, c: int, g: int, attempt: int, now: float, kept: float = NAN) -> None:
        """A new contact of channel c and segment g (``kept``: the patience a retrial keeps, NaN: none)."""
        if self.in_system >= self.limit:
            self._check_limit(now)
        ch = self.channels[c]
        cid = self.n_contacts
        if cid >= self.max_contacts:
            raise _Overflow(f"more than {self.max_contacts:,} contacts arrived (limits.max_contacts); raise it "
                            "for a longer run")
        self.n_contacts = cid + 1
        channel, segment, arrival, exit_, outcome, attempt_ = self.new_row
        channel(c)
        segment(g)
        arrival(now)
        exit_(NAN)
        outcome(IN_SYSTEM)
        attempt_(attempt)
        patience = self.patience[c][g]
        if patience is not None and (ch.per_contact or kept == kept):
            patience = _Budget(patience, kept) if ch.per_contact else _Kept(patience, kept)
        contact = Contact(cid, c, g, attempt, self.segment_level[g], patience, ch.retrial is not None)
        self.in_system += 1
        t = ch.trunk
        if t >= 0:
            if not self.lines[t] and not self._line_frees(t, now):
                if self.steps[ch.entry].front and contact.patience is not None:
                    contact.patience()   # as if it had entered: the patience stream stays aligned (CRN)
                contact.line = -1
                self._blocked(contact, now)
                self._retry(contact, now)
                return
            self.lines[t] -= 1
            contact.line = t
        if ch.balking is not None and self._balks(c, ch, ch.entry, now):
            rec = self.rec
            rec.exit[cid] = now
            rec.outcome[cid] = BALKED
            rec.left(cid)
            self.in_system -= 1
            if t >= 0:
                self._hang_up(contact)
            self._retry(contact, now)
            return
        self._enter(contact, ch.entry, now)

    def _line_frees(self, t: int, now: float) -> bool:
        """Every line of trunk t is held by the count: whether one is free at ``now`` once contacts
        whose patience ran out before ``now`` are recorded as abandoned (they gave their line back)."""
        self._purge(now)
        return self.lines[t] > 0

    def _hang_up(self, contact: Contact) -> None:
        """The contact leaves the front stage: it gives back its trunk line, if it holds one."""
        if self.channels[contact.channel].trunk >= 0 and contact.line >= 0:
            self.lines[contact.line] += 1
            contact.line = -1

    def _blocked(self, contact: Contact, now: float) -> None:
        """The contact is turned away at ``now`` (no line, or a full waiting room): it leaves."""
        cid = contact.id
        rec = self.rec
        rec.exit[cid] = now
        rec.outcome[cid] = BLOCKED
        rec.left(cid)
        self.in_system -= 1

    def _balks(self, c: int, ch: ChannelPlan, s: int, now: float) -> bool:
        """Whether an arriving customer of channel c balks at the queue of its entry step s."""
        queue, probability = ch.balking
        if self.waiting[s] < queue or self._idle_pool(s) >= 0:
            return False
        return self.balk_u[c]() < probability

    def _idle_pool(self, s: int) -> int:
        busy, staffed = self.busy, self.staffed
        for p, _ in self.steps[s].pools:
            if busy[p] < staffed[p]:
                return p
        return -1

    # ----------------------------------------------------------------- steps
    def _enter(self, contact: Contact, s: int, now: float) -> None:
        st = self.steps[s]
        if st.rules:
            s = self._entry_rules(contact, s, st, now)
            st = self.steps[s]
        if self.gated[s]:
            if st.capacity >= 0 and self.waiting[s] >= st.capacity and self._full(s, st, now):
                self._turned_away(contact, st, now)
                return
            if self.lines is not None and not st.front:
                self._hang_up(contact)
        v = self.n_visits
        self.n_visits = v + 1
        contact.visit = v
        contact.step = s
        vc, vs, vp, vq, vst, ve, vo = self.new_visit
        vc(contact.id)
        vs(s)
        vp(-1)
        vq(now)
        vst(NAN)
        ve(NAN)
        vo(WAITING)
        # Patience is drawn on every front-stage entry, served at once or not, so that the stream
        # stays aligned between variants of a scenario (common random numbers).
        patience = contact.patience
        contact.deadline = now + patience() if (st.front and patience is not None) else INF
        # enq also for a contact served at once: an interruptible item set aside keeps it
        contact.enq = now
        busy, staffed = self.busy, self.staffed
        for p, prof in st.pools:
            if busy[p] < staffed[p]:
                if st.choose:
                    p, prof = self._choose(s, st, p, prof)
                busy[p] += 1
                self._start(contact, s, p, prof, now)
                return
        if st.preempts and self._preempt(contact, s, st, now):
            return
        self.queues[s][contact.level].append(contact)
        self.waiting[s] += 1
        if contact.timed or st.timed:
            cb = st.callback
            if cb is not None and (rule := cb[contact.channel]) is not None and self._offer(contact, s, rule, v, now):
                return
            if contact.deadline < INF:
                contact.pool = -1    # until served: how the timer tells that it still waits
                self._at(contact.deadline - now, self._on_patience, (contact, v))

    def _full(self, s: int, st: StepPlan, now: float) -> bool:
        """Whether work entering step s at ``now`` is blocked by its waiting room: no pool of the step
        has an idle agent (nor one it could take by preempting interruptible work) and
        ``st.capacity`` contacts truly wait there (those whose patience ran out before ``now`` are
        recorded as abandoned first, so they are not counted). Work set aside by a preemption goes
        back to its queue without this check: admitted work is never dropped."""
        if self._idle_pool(s) >= 0 or (st.preempts and self._can_preempt(st)):
            return False
        self._purge_step(s, now)
        return self.waiting[s] >= st.capacity

    def _can_preempt(self, st: StepPlan) -> bool:
        """Whether :meth:`_preempt` would find an agent for work entering step ``st`` (no side effects)."""
        for p, _ in st.pools:
            working = self.working[p]
            if not working:
                continue
            ag = self.agents[p]
            if ag is None:
                if self.busy[p] <= self.staffed[p]:
                    return True
            elif any(ag.serving[c.visit] < self.heads[p] for c in working):
                return True
        return False

    def _turned_away(self, contact: Contact, st: StepPlan, now: float) -> None:
        """Blocked by a full waiting room: a customer (front stage) leaves and may retry, as after a
        busy signal; a work item (back stage) is dropped. No visit is recorded at the step."""
        if self.lines is not None:
            self._hang_up(contact)
        self._blocked(contact, now)
        if st.front:
            if contact.patience is not None:
                contact.patience()   # drawn on every front-stage entry, as in _enter (CRN)
            self._retry(contact, now)

    def _choose(self, s: int, st: StepPlan, first: int, prof: float) -> tuple[int, float]:
        """The pool (and its proficiency) taking a contact entering step s, given that ``first`` is the
        first of its pools in routing order with an idle agent. ``random``: pool q with probability
        idle(q) / Σ idle, idle(q) = slots on duty − slots busy (one draw of ``idle_pools/<step>``
        when two or more pools have one); ``longest_idle``: the pool whose longest-idle agent became
        idle first (ties: routing order)."""
        busy, staffed = self.busy, self.staffed
        if st.choose == LONGEST_IDLE:
            agents = self.agents
            best, best_prof, best_t = first, prof, agents[first].idle_since()
            for p, pr in st.pools:
                if busy[p] < staffed[p]:
                    t = agents[p].idle_since()
                    if t < best_t:
                        best, best_prof, best_t = p, pr, t
            return best, best_prof
        idle = [(p, pr, staffed[p] - busy[p]) for p, pr in st.pools if busy[p] < staffed[p]]
        if len(idle) == 1:
            return first, prof
        x = self.idle_u[s]() * sum(n for _, _, n in idle)
        for p, pr, n in idle:
            x -= n
            if x < 0:
                return p, pr
        return idle[-1][0], idle[-1][1]

    def _visit_row(self, cid: int, s: int, now: float) -> int:
        """Append a waiting visit of contact ``cid`` at step s queued at ``now``; return its id. (The
        hot path, :meth:`_enter`, writes the same row inline.)"""
        v = self.n_visits
        self.n_visits = v + 1
        vc, vs, vp, vq, vst, ve, vo = self.new_visit
        vc(cid)
        vs(s)
        vp(-1)
        vq(now)
        vst(NAN)
        ve(NAN)
        vo(WAITING)
        return v

    def _entry_rules(self, contact: Contact, s: int, st: StepPlan, now: float) -> int:
        """Who gets work entering blueprint step s: its bots (a share ``bot_level``; not for the bots'
        own exceptions coming back), its vendor (a fixed share, or overflow), or its people."""
        u = self.rules_u[s]
        if st.bot_step >= 0:
            x = u()
            if contact.step != st.bot_step and x < st.bot_level:
                return st.bot_step
        if st.vendor_step >= 0:
            x = u()
            if x < st.vendor_share:
                return st.vendor_step
            o = st.overflow
            if o is not None and self._idle_pool(s) < 0 and self._overflows(contact, s, o, now):
                return st.vendor_step
        return s

    def _overflows(self, contact: Contact, s: int, o: Overflow, now: float) -> bool:
        """Whether work entering step s, whose people are all busy, overflows to the vendor: the rule
        applies to the contact's segment and the time of day, and one of its thresholds is passed
        (tried in this order: queue length, predicted wait, longest wait)."""
        if o.segments is not None and contact.segment not in o.segments:
            return False
        if o.between is not None and not o.between[0] <= now % DAY < o.between[1]:
            return False
        if o.queue_over is not None and self.waiting[s] >= o.queue_over:
            return True
        if o.expected_wait_over is not None and self._predicted_wait_over(s, o.mean_handle, o.expected_wait_over):
            return True
        return o.wait_over is not None and self._longest_wait_over(s, o.wait_over, now)

    def _predicted_wait_over(self, s: int, mean_handle: float, limit: float) -> bool:
        """(waiting + 1) × mean handle time / slots on duty at step s is over ``limit`` (or no slot is)."""
        slots = sum(self.staffed[p] for p, _ in self.steps[s].pools)
        return slots == 0 or (self.waiting[s] + 1) * mean_handle / slots > limit

    def _longest_wait_over(self, s: int, limit: float, now: float) -> bool:
        """The longest wait of a contact still waiting at step s is over ``limit`` (heads of lanes past
        their deadline abandon on the way)."""
        heads = [h for lane in self.queues[s] if (h := self._head(lane, now, s)) is not None]
        return bool(heads) and now - min(h.enq for h in heads) > limit

    def _start(self, contact: Contact, s: int, p: int, prof: float, now: float) -> None:
        """Begin service; the caller has already counted the agent as busy."""
        v = contact.visit
        rec = self.rec
        rec.v_pool[v] = p
        rec.v_start[v] = now
        rec.v_outcome[v] = IN_SERVICE
        contact.pool = p
        if self.slowdown[p]:
            # chats spread evenly: the agent taking this one holds (busy − 1) // heads others
            prof *= 1.0 + self.slowdown[p] * ((self.busy[p] - 1) // max(self.heads[p], 1))
        contact.callbacks = self.done
        heappush(self.events, (now + self.handle[s]() * prof, NORMAL, next(self.event_ids), contact))

    def _on_done(self, contact: Contact) -> None:
        now = self.env._now
        rec = self.rec
        v = contact.visit
        rec.v_end[v] = now
        rec.v_outcome[v] = SERVED
        s = contact.step
        self._release(contact.pool, now, contact)
        st = self.steps[s]
        u = self.route[s]
        i = bisect_right(st.route_cum, u()) if u is not None else 0
        nxt = st.route_to[i]
        if nxt < 0:
            cid = contact.id
            rec.exit[cid] = now
            self.in_system -= 1
            if self.lines is not None:
                self._hang_up(contact)
            r = self.resolve[contact.pool]
            if r is None or r[0]() < r[1]:
                rec.outcome[cid] = HANDLED
                rec.left(cid)
            else:
                rec.outcome[cid] = UNRESOLVED
                rec.left(cid)
                self._repeat(contact)
        else:
            if i >= st.rework_from:
                contact.step = -1    # new work for the next step's entry rules, not a bot exception
            self.hops -= 1
            if not self.hops:
                self._pace(now)
            self._enter(contact, nxt, now)

    # ----------------------------------------------------------------- callbacks
    def _offer(self, contact: Contact, s: int, rule: CallbackPlan, v: int, now: float) -> bool:
        """Contact, just queued at entry step s of a channel with a callback ``rule``: offer it now
        if its predicted wait is over the threshold (True: accepted, it has become a callback), or
        arm the offer for when it has waited ``wait_over``."""
        contact.pool = -1
        w = rule.wait_over
        if w is not None:
            if contact.deadline > now + w:    # else it abandons first
                self._at(w, self._on_offer, (contact, v))
            return False
        slots = sum(self.staffed[p] for p, _ in self.steps[s].pools)
        n = self.waiting[s] + (self.waiting[rule.step] if rule.keep_place else 0)
        if slots and n * rule.mean_handle / slots <= rule.predicted_wait_over:
            return False
        return self._offered(contact, s, rule, now)

    def _on_offer(self, ev: _Due) -> None:
        """A caller has waited ``wait_over``: offer the callback if it still waits in that visit."""
        c, v = ev._value
        if c.visit == v and c.pool < 0 and c.deadline != GONE:
            s = c.step
            self._offered(c, s, self.steps[s].callback[c.channel], self.env._now)

    def _offered(self, contact: Contact, s: int, rule: CallbackPlan, now: float) -> bool:
        """A callback is offered to waiting ``contact``: record the offer; if accepted, end its wait
        at step s (the caller hangs up) and queue its callback. True if accepted."""
        if self.callback_u[contact.channel]() >= rule.accept:
            self.rec.offer[contact.id] = OFFER_DECLINED
            return False
        rec = self.rec
        rec.offer[contact.id] = OFFER_ACCEPTED
        rec.v_end[contact.visit] = now
        rec.v_outcome[contact.visit] = V_CALLBACK
        if contact.patience.__class__ is _Budget:
            contact.patience.left = contact.deadline - now
        # its place in the inbound lane is skipped when reached (as an abandoned contact's)
        contact.deadline = GONE
        self.waiting[s] -= 1
        t = rule.step
        cb = Contact(contact.id, contact.channel, contact.segment, contact.attempt, contact.level, contact.patience,
                     contact.timed)
        cb.step = t
        cb.deadline = INF
        cb.pool = -1
        cb.enq = contact.enq if rule.keep_place else now
        cb.visit = self._visit_row(contact.id, t, now)
        self.queues[t][cb.level].append(cb)
        self.waiting[t] += 1
        return True

    def _wrap_up(self, p: int, s: int, v: int, draw: Callable[[], float], now: float) -> None:
        """Service of visit v at step s ended: pool p's agent wraps up for a draw × the skill's
        proficiency (× the agent's own factor in a pool of individuals; not × the chat slowdown:
        wrap-up is per contact), then is released."""
        d = draw() * self.proficiency[p][s]
        ag = self.agents[p]
        if ag is not None:
            d *= ag.factor[ag.serving[v]]
        self.rec.v_free[v] = now + d
        self._at(d, self._on_wrapped, (p, v))

    def _on_wrapped(self, ev: _Due) -> None:
        """The agent of pool p who served visit v has wrapped up: released as at a service's end."""
        p, v = ev._value
        ag = self.agents[p]
        if ag is not None:
            self._release_agent(p, ag, ag.serving.pop(v), self.env._now)
        else:
            Engine._release(self, p, self.env._now)
        if self.draining and not self._serving():   # after close, the last wrap-up ends the drain
            self._off_duty()

    # ----------------------------------------------------------------- preemption
    def _start_interruptible(self, contact: Contact, s: int, p: int, prof: float, now: float) -> None:
        """Schedule the completion of a service begun now, in a scenario with interruptible work: a
        resumed item takes its handle time left (under ``restart`` a fresh draw), and a service that
        may be preempted completes through a :class:`_Due` naming its visit (a stale one is ignored)."""
        mode = self.modes[p].get(s)
        work = self.remaining.pop(contact.id, None) if self.remaining else None
        if work is None or mode == RESTART:
            work = self.handle[s]()
        end = now + work * prof
        if mode:
            ev = _Due()
            ev.callbacks = (self._on_service_due,)
            ev._value = (contact, contact.visit)
            heappush(self.events, (end, NORMAL, next(self.event_ids), ev))
            self.working[p][contact] = (end, prof)
        else:
            contact.callbacks = self.done
            heappush(self.events, (end, NORMAL, next(self.event_ids), contact))

    def _on_service_due(self, ev: _Due) -> None:
        """An interruptible service's completion: done unless it was preempted (a newer visit)."""
        contact, v = ev._value
        if contact.visit == v:
            del self.working[contact.pool][contact]
            self.done[0](contact)   # the completion handler of the moment (closing time swaps it)

    def _preempt(self, contact: Contact, s: int, st: StepPlan, now: float) -> bool:
        """Front-stage ``contact`` entering step s finds no idle agent: in routing order, the first
        pool with an agent on duty (not going off shift) working interruptible back-stage work gives
        the agent who started such an item last to ``contact``; the item set aside waits again
        (:meth:`_set_aside`). Whether it did."""
        busy, staffed = self.busy, self.staffed
        for p, prof in st.pools:
            working = self.working[p]
            if not working:
                continue
            ag = self.agents[p]
            if ag is None:
                if busy[p] > staffed[p]:  # someone is going off shift: nobody takes new work
                    continue
                victim = next(reversed(working))
            else:
                heads = self.heads[p]
                victim = next((c for c in reversed(working) if ag.serving[c.visit] < heads), None)
                if victim is None:
                    continue
                ag.idle.appendleft(ag.serving.pop(victim.visit))  # the one _start takes
            end, vprof = working.pop(victim)
            self._start(contact, s, p, prof, now)
            self._set_aside(victim, p, end, vprof, now)
            return True
        return False

    def _set_aside(self, c: Contact, p: int, end: float, prof: float, now: float) -> None:
        """Preempt c's service by pool p (due at ``end``, handle-time factor ``prof``): its visit
        ends ``preempted`` now; under ``resume`` it keeps its handle time left; a new visit of the
        same step begins now, served at once by an idle agent if one can, else first in its lane
        (keeping its queue-entry time, so it stays ahead of those waiting)."""
        rec = self.rec
        v = c.visit
        rec.v_end[v] = now
        rec.v_outcome[v] = PREEMPTED
        s = c.step
        if self.modes[p][s] == RESUME:
            self.remaining[c.id] = (end - now) / prof
        c.visit = self._visit_row(c.id, s, now)
        busy, staffed = self.busy, self.staffed
        for q, qprof in self.steps[s].pools:
            if busy[q] < staffed[q]:
                busy[q] += 1
                self._start(c, s, q, qprof, now)
                return
        self.queues[s][c.level].appendleft(c)
        self.waiting[s] += 1

    # ----------------------------------------------------------------- returns
    def _retry(self, contact: Contact, now: float) -> None:
        """After abandoning or balking at ``now``: maybe try again later."""
        c = contact.channel
        r = self.retrial[c]
        if r is None:
            return
        ch = self.channels[c]
        prob, _, most = ch.retrial
        attempt = contact.attempt
        if r[0]() < prob and attempt < min(most, MAX_ATTEMPT):
            delay = now + r[1]() - self.env._now
            if ch.keep_patience:
                self._at(delay, self._on_kept_return, (c, contact.segment, attempt + 1, _kept(contact, now)))
            else:
                self._at(delay, self._on_return, (c, contact.segment, attempt + 1))

    def _repeat(self, contact: Contact) -> None:
        """An unresolved contact, leaving now: maybe contact again later."""
        c = contact.channel
        r = self.repeat[c]
        if r is None:
            return
        prob, _, most = self.channels[c].repeats
        attempt = contact.attempt
        if r[0]() < prob and attempt < min(most, MAX_ATTEMPT):
            self._at(r[1](), self._on_return, (c, contact.segment, attempt + 1))

    # ----------------------------------------------------------------- agents
    def _release(self, p: int, now: float, contact: Contact | None = None) -> None:
        """An agent of pool p finished serving ``contact`` (its service just ended): leave if off
        shift, else take the next contact, else go idle. (Pools of individuals and wrap-up replace
        this: :class:`_Individuals`, :class:`_WrapUp`.)"""
        if self.busy[p] > self.staffed[p]:
            self.busy[p] -= 1
            return
        picked = self._pick(p, now)
        if picked is None:
            self.busy[p] -= 1
        else:
            contact, s = picked
            self._start(contact, s, p, self.proficiency[p][s], now)

    def _release_agent(self, p: int, ag: Agents, k: int, now: float) -> None:
        """Agent k of pool p (of individuals) finished: off duty, they leave; else they take the next
        contact, or join the back of the idle line. ``busy[p]`` counts the busy agents on duty only,
        so that busy < staffed still means that an agent on duty is idle."""
        ag.working[k] = False
        if k >= self.heads[p]:
            return
        picked = self._pick(p, now)
        if picked is None:
            self.busy[p] -= 1
            ag.idle.append(k)
            ag.since[k] = now
        else:
            # work waits only while no agent of the pool is idle: k, put first, is the one _start takes
            ag.idle.appendleft(k)
            contact, s = picked
            self._start(contact, s, p, self.proficiency[p][s], now)

    def _pick(self, p: int, now: float) -> tuple[Contact, int] | None:
        """Remove and return the contact pool p serves next: highest skill priority group, then
        highest segment priority, then longest waiting."""
        queues = self.queues
        for group in self.queue_groups[p]:
            best: Contact | None = None
            best_lane: deque | None = None
            best_step = -1
            for s in group:
                for lane in queues[s]:
                    head = self._head(lane, now, s)
                    if head is not None:
                        if best is None or (head.level, head.enq) < (best.level, best.enq):
                            best, best_lane, best_step = head, lane, s
                        break
            if best is not None:
                best_lane.popleft()
                self.waiting[best_step] -= 1
                return best, best_step
        return None

    def _head(self, lane: deque, now: float, s: int) -> Contact | None:
        """First contact of a lane still waiting at ``now``; contacts past their deadline abandon."""
        while lane:
            c = lane[0]
            if c.deadline >= now:
                return c
            lane.popleft()
            if c.deadline != GONE:
                self._abandon(c, s)
        return None

    def _abandon(self, c: Contact, s: int) -> None:
        """Waiting contact c leaves step s's queue at its deadline (which then reads GONE)."""
        rec = self.rec
        t = c.deadline
        rec.v_end[c.visit] = t
        rec.v_outcome[c.visit] = V_ABANDONED
        rec.exit[c.id] = t
        rec.outcome[c.id] = ABANDONED
        rec.left(c.id)
        c.deadline = GONE
        self.in_system -= 1
        self.waiting[s] -= 1
        if self.lines is not None:
            self._hang_up(c)
        if c.timed:
            self._retry(c, t)

    def _on_patience(self, ev: _Due) -> None:
        """A timed contact's patience ran out: abandon now if it is still waiting in that visit (not
        served: no pool; not abandoned already: deadline not GONE)."""
        c, v = ev._value
        if c.visit == v and c.pool < 0 and c.deadline != GONE:
            self._abandon(c, c.step)

    def _on_staffing(self, ev: _Due) -> None:
        p, n = ev._value
        now = self.env._now
        ag = self.agents[p]
        if ag is not None:
            self._roster(p, ag, n, now)
        self.heads[p] = n
        n *= self.concurrency[p]
        self.staffed[p] = n
        while self.busy[p] < n:
            picked = self._pick(p, now)
            if picked is None:
                break
            contact, s = picked
            self.busy[p] += 1
            self._start(contact, s, p, self.proficiency[p][s], now)

    def _roster(self, p: int, ag: Agents, n: int, now: float) -> None:
        """Pool p of individuals goes from ``heads[p]`` to n agents on duty: agents n.. go off (an idle
        one leaves the idle line, a busy one finishes first and is no longer counted in ``busy[p]``);
        agents ..n−1 come on (idle from now, or counted busy again if still finishing)."""
        old = self.heads[p]
        working = ag.working
        for k in range(n, old):
            if working[k]:
                self.busy[p] -= 1
            else:
                ag.idle.remove(k)
        for k in range(old, n):
            if working[k]:
                self.busy[p] += 1
            else:
                ag.idle.append(k)
                ag.since[k] = now

    # ----------------------------------------------------------------- closing time
    def _on_close(self, ev: _Due) -> None:
        self._close(self.env._now)

    def _close(self, now: float) -> None:
        """A day's close under ``drain`` or ``drop`` (schema ``Horizon``): drain holds the agents on
        duty until no contact is in service; drop sends the waiting contacts away (abandoned now),
        and those in service leave when they would wait again."""
        self.closed = True
        drain = self.plan.closing == "drain"
        if not drain:
            self._off_duty()
            self._drop_waiting(now)
        if self._serving():
            self.draining = True
            self.done[0] = self._on_done_draining if drain else self._on_done_dropping
        elif drain:
            self._off_duty()

    def _serving(self) -> bool:
        """Whether some agent, bot or vendor slot is busy (serving or wrapping up); agents of a roster
        who went off duty while finishing are not in ``busy`` but still count."""
        return any(self.busy) or any(ag is not None and any(ag.working) for ag in self.agents)

    def _on_open(self, ev: _Due) -> None:
        """The next day's opening: a drain still going ends (the day's headcount follows)."""
        self.closed = False
        if self.draining:
            self._off_duty()

    def _off_duty(self) -> None:
        """The end of a drain: the agents pools go off duty (vendors and bots work on)."""
        self.draining = False
        self.done[0] = self._on_done
        for p, pl in enumerate(self.plan.pools):
            if pl.kind == "agents":
                ag = self.agents[p]
                if ag is not None:
                    self._roster(p, ag, 0, self.env._now)
                self.staffed[p] = self.heads[p] = 0

    def _on_done_draining(self, contact: Contact) -> None:
        """A service ending after close under ``drain``: the drain ends when no contact is in service."""
        self._on_done(contact)
        if not any(self.busy):
            self._off_duty()

    def _on_done_dropping(self, contact: Contact) -> None:
        """A service ending after close under ``drop``: a contact that now waits leaves."""
        self._on_done(contact)
        if any(self.waiting):
            self._drop_waiting(self.env._now)
        if not self._serving():
            self.draining = False
            self.done[0] = self._on_done

    def _drop_waiting(self, now: float) -> None:
        """Every waiting contact leaves at ``now``, recorded abandoned (those past their deadline at it)."""
        for s, lanes in enumerate(self.queues):
            for lane in lanes:
                while lane:
                    c = lane.popleft()
                    if c.deadline != GONE:
                        if c.deadline > now:
                            c.deadline = now
                        self._abandon(c, s)

    # ----------------------------------------------------------------- limits and end of run
    def _purge(self, now: float) -> None:
        """Record every contact whose deadline has passed as abandoned, wherever it is in its lane."""
        for s in range(len(self.queues)):
            self._purge_step(s, now)

    def _purge_step(self, s: int, now: float) -> None:
        """Record every contact waiting at step s whose deadline has passed as abandoned."""
        lanes = self.queues[s]
        for i, lane in enumerate(lanes):
            if any(c.deadline < now for c in lane):
                keep = deque()
                for c in lane:
                    if c.deadline >= now:
                        keep.append(c)
                    elif c.deadline != GONE:
                        self._abandon(c, s)
                lanes[i] = keep

    def _check_limit(self, now: float) -> None:
        """Before admitting an arrival to a full system: stop the run unless abandonments due by now
        make room (the arrival is then not recorded, so at most ``limit`` contacts remain)."""
        self._purge(now)
        if self.in_system >= self.limit:
            raise _Overflow(f"more than {self.limit} contacts would be in the system (limits.max_in_system); "
                            "arrivals exceed capacity")

    def _pace(self, now: float) -> None:
        """Every :data:`PACE_BLOCK` moves to a next step: stop a run past ``limits.max_visits``, or
        one whose last block of moves took less simulated time than ``limits.max_visits_per_second``
        allows (a loop of zero-time steps makes work without letting the clock move)."""
        plan = self.plan
        self.hops = PACE_BLOCK
        if self.n_visits >= plan.max_visits:
            raise _Overflow(f"more than {plan.max_visits:,} step visits (limits.max_visits); raise it "
                            "for a longer run")
        if (now - self.paced) * plan.max_visits_per_second < PACE_BLOCK:
            raise _Overflow(f"{PACE_BLOCK:,} moves between steps within {now - self.paced:.3g} s of simulated "
                            f"time, more than limits.max_visits_per_second = {plan.max_visits_per_second:,} (a "
                            "loop of zero-time steps?); raise it if this is intended")
        self.paced = now

    def _finish(self) -> None:
        """At the end of the horizon (of the last drain), contacts whose patience ran out before it have
        abandoned."""
        self._purge(self.env.now if self.plan.closing != "carry_over" else min(self.env.now, self.plan.end))


# ----------------------------------------------------------------- random streams of an engine
def _handle_times(plan: Plan, streams: Streams) -> list[Callable[[], float] | None]:
    """Handle-time sampler of each step (None: a step without people's handle time is never served).
    A callback variant shares its entry step's sampler: the call back is the same work, and the
    n-th service at the step takes the n-th draw whether it is a callback or not."""
    out = [streams.sampler(f"handle/{st.name}", st.handle.draw) if st.handle is not None and st.kind != "callback"
           else None for st in plan.steps]
    for s, st in enumerate(plan.steps):
        if st.kind == "callback":
            out[s] = out[st.origin]
    return out


def _wrap_times(plan: Plan, streams: Streams) -> list[Callable[[], float] | None]:
    """Wrap-up sampler of each step with wrap-up (None: none). A callback variant shares its entry
    step's sampler, as for handle times."""
    out = [streams.sampler(f"wrap/{st.name}", st.wrap.draw) if st.wrap is not None and st.kind != "callback"
           else None for st in plan.steps]
    for s, st in enumerate(plan.steps):
        if st.kind == "callback":
            out[s] = out[st.origin]
    return out


def _busy_days(plan: Plan, streams: Streams) -> tuple[ChannelPlan, ...]:
    """The channels with their rates multiplied by busyness (schema ``Busyness``): per channel, one
    gamma(1/cv², cv²) draw for each day (or interval over all days) from stream ``busyness/<channel>``,
    taken in one block so that the k-th day's multiplier is the same whatever the rates."""
    out = []
    for ch in plan.channels:
        if ch.busyness is None:
            out.append(ch)
            continue
        cv, per = ch.busyness
        n = (len(plan.boundaries) - 1) // plan.intervals_per_day if per == "day" else len(plan.boundaries) - 1
        b = streams.generator(f"busyness/{ch.name}").gamma(1.0 / cv**2, cv**2, size=n).tolist()
        pieces = tuple((t0, t1, r * b[key]) for (t0, t1, r), key in zip(ch.rate_pieces, ch.piece_keys))
        out.append(replace(ch, rate_pieces=tuple(p for p in pieces if p[2] > 0)))
    return tuple(out)


def _per_step(plan: Plan, streams: Streams, source: str,
              needed: Callable[[StepPlan], bool]) -> list[Callable[[], float] | None]:
    """A uniform stream ``source/<step>`` for each step that needs one."""
    return [streams.uniform(f"{source}/{st.name}") if needed(st) else None for st in plan.steps]


def _per_channel(plan: Plan, streams: Streams, source: str,
                 needed: Callable[[ChannelPlan], bool]) -> list[Callable[[], float] | None]:
    """A uniform stream ``source/<channel>`` for each channel that needs one."""
    return [streams.uniform(f"{source}/{ch.name}") if needed(ch) else None for ch in plan.channels]


def _patience(plan: Plan, streams: Streams) -> list[list[Callable[[], float] | None]]:
    """Patience sampler per channel and segment (None: never abandons). A patience with an atom at
    zero takes a uniform of its own stream ``patience-zero/<channel>/<segment>`` at every draw and is
    0 when it falls below the atom's share; the continuous part is drawn every time, so its stream
    stays aligned with the scenario without the atom."""
    out: list[list[Callable[[], float] | None]] = []
    for ch in plan.channels:
        row: list[Callable[[], float] | None] = []
        for g, d in enumerate(ch.patience):
            if d is None:
                row.append(None)
                continue
            seg = plan.segment_names[g]
            draw = streams.sampler(f"patience/{ch.name}/{seg}", d.draw)
            zero = ch.patience_zero[g] if ch.patience_zero else 0.0
            if zero > 0:
                draw = _with_zero(draw, streams.uniform(f"patience-zero/{ch.name}/{seg}"), zero)
            row.append(draw)
        out.append(row)
    return out


def _with_zero(draw: Callable[[], float], u: Callable[[], float], zero: float) -> Callable[[], float]:
    """``draw`` with an atom at zero of mass ``zero``: P(X = 0) = zero + (1 − zero)·P(draw = 0)."""
    def patience() -> float:
        x = draw()
        return 0.0 if u() < zero else x
    return patience


# ----------------------------------------------------------------- patience rules of a contact
class _Kept:
    """The patience of a retrial that keeps it (``retrial.keep_patience``): ``value`` at every
    front-stage step. The stream is still drawn, so it stays aligned with a scenario without the rule."""

    __slots__ = ("draw", "value")

    def __init__(self, draw: Callable[[], float], value: float) -> None:
        self.draw = draw
        self.value = value

    def __call__(self) -> float:
        self.draw()
        return self.value


class _Budget:
    """One patience per contact (``patience_per: contact``): ``total`` is drawn at its first
    front-stage step (or kept from the attempt before); ``left`` is what remains, deadline − start of
    service, written when a front-stage service starts (:class:`_RemainingPatience`) or a callback is
    accepted. Each front-stage step waits at most ``left``: patience − front-stage waits so far. The
    stream is drawn at every front-stage step, as with one patience per visit (common random numbers)."""

    __slots__ = ("draw", "total", "left")

    def __init__(self, draw: Callable[[], float], total: float = NAN) -> None:
        self.draw = draw
        self.total = total
        self.left = total

    def __call__(self) -> float:
        x = self.draw()
        if self.total != self.total:    # NaN: the first front-stage step
            self.total = self.left = x
        return self.left


def _kept(contact: Contact, now: float) -> float:
    """The patience a retrial of ``contact`` (abandoning or balking at ``now``) keeps: the contact's
    own patience (its one draw, or the value it kept), or that of the visit it abandoned (deadline −
    queue entry); NaN if it balked without one."""
    p = contact.patience
    if p.__class__ is _Budget:
        return p.total
    if p.__class__ is _Kept:
        return p.value
    return now - contact.enq if contact.step >= 0 else NAN


class _RemainingPatience(Engine):
    """An engine for plans with ``patience_per: contact``: when a front-stage service starts, what is
    left of the contact's patience is its deadline − now."""

    __slots__ = ()

    def _start(self, contact: Contact, s: int, p: int, prof: float, now: float) -> None:
        b = contact.patience
        if b.__class__ is _Budget and contact.deadline < INF:
            b.left = contact.deadline - now
        super()._start(contact, s, p, prof, now)


class _HeadStart(Engine):
    """An engine for plans with segment head starts: a pool takes, in each queue group, the waiting
    contact of least rank = queue entry − its level's head start (ties: higher priority, then step
    order), looking at the head of every lane rather than at the first non-empty one."""

    __slots__ = ()

    def _pick(self, p: int, now: float) -> tuple[Contact, int] | None:
        queues = self.queues
        head_start = self.plan.head_start
        for group in self.queue_groups[p]:
            best: Contact | None = None
            best_lane: deque | None = None
            best_step = -1
            best_rank = INF
            for s in group:
                for level, lane in enumerate(queues[s]):
                    head = self._head(lane, now, s)
                    if head is not None:
                        rank = head.enq - head_start[level]
                        if best is None or rank < best_rank or (rank == best_rank and head.level < best.level):
                            best, best_lane, best_step, best_rank = head, lane, s, rank
            if best is not None:
                best_lane.popleft()
                self.waiting[best_step] -= 1
                return best, best_step
        return None


class _WrapUp(Engine):
    """An engine for plans with wrap-up at some step: where the step has it, the agent whose service
    ends wraps up (:meth:`Engine._wrap_up`) before being released."""

    __slots__ = ()

    def _release(self, p: int, now: float, contact: Contact | None = None) -> None:
        w = self.wrap[contact.step]
        if w is None:
            super()._release(p, now, contact)
        else:
            self._wrap_up(p, contact.step, contact.visit, w, now)


class _Individuals(Engine):
    """An engine for plans with pools of individual agents: in such a pool the longest-idle agent on
    duty takes a contact (its own handle-time factor applies) and a finishing agent is released by
    their roster (:meth:`Engine._release_agent`)."""

    __slots__ = ()

    def _start(self, contact: Contact, s: int, p: int, prof: float, now: float) -> None:
        ag = self.agents[p]
        if ag is not None:
            # the longest-idle agent on duty (a finishing agent taking more work was put first)
            k = ag.idle.popleft()
            v = contact.visit
            ag.working[k] = True
            ag.serving[v] = k
            self.rec.v_agent[v] = k
            prof *= ag.factor[k]
        super()._start(contact, s, p, prof, now)

    def _release(self, p: int, now: float, contact: Contact | None = None) -> None:
        ag = self.agents[p]
        if ag is None:
            super()._release(p, now, contact)
        else:
            self._release_agent(p, ag, ag.serving.pop(contact.visit), now)


class _Preempting(Engine):
    """An engine for plans with interruptible back-stage work: services are scheduled by
    :meth:`Engine._start_interruptible` (a resumed item takes its handle time left)."""

    __slots__ = ()

    def _start(self, contact: Contact, s: int, p: int, prof: float, now: float) -> None:
        v = contact.visit
        rec = self.rec
        rec.v_pool[v] = p
        rec.v_start[v] = now
        rec.v_outcome[v] = IN_SERVICE
        contact.pool = p
        if self.slowdown[p]:
            prof *= 1.0 + self.slowdown[p] * ((self.busy[p] - 1) // max(self.heads[p], 1))
        self._start_interruptible(contact, s, p, prof, now)


#: the engine variants in method resolution order: a variant's ``_start`` or ``_release`` does its
#: part and calls the next one's (:class:`_Preempting`'s ``_start`` schedules, so it comes last)
_VARIANTS = (_RemainingPatience, _HeadStart, _WrapUp, _Individuals, _Preempting)


@lru_cache(maxsize=None)
def _compose(used: tuple[bool, ...]) -> type[Engine]:
    parts = tuple(cls for cls, u in zip(_VARIANTS, used) if u)
    if not parts:
        return Engine
    if len(parts) == 1:
        return parts[0]
    return type("_Engine", parts, {"__slots__": ()})


def _engine_class(plan: Plan) -> type[Engine]:
    """:class:`Engine`, or its subclass with the methods the plan's mechanisms replace (so that a
    plan without them runs exactly the code it ran before they existed)."""
    return _compose((plan.budget, plan.head_start is not None, any(st.wrap is not None for st in plan.steps),
                     any(pl.individual for pl in plan.pools), plan.preemption))


def _returns(plan: Plan, streams: Streams, source: str, rules: list[tuple[float, _Dist, int] | None]
             ) -> list[tuple[Callable[[], float], Callable[[], float]] | None]:
    """Per channel with a retrial or repeat rule: whether a contact comes back, and after what delay."""
    return [(streams.uniform(f"{source}/{ch.name}"), streams.sampler(f"{source}/{ch.name}/delay", r[1].draw))
            if r is not None else None for ch, r in zip(plan.channels, rules)]


def _resolution(plan: Plan, streams: Streams) -> list[tuple[Callable[[], float], float] | None]:
    """Per pool resolving less than every contact: its draw and its first-contact resolution share."""
    return [(streams.uniform(f"resolution/{pl.name}"), pl.resolution) if pl.resolution < 1 else None
            for pl in plan.pools]


def _proficiency(plan: Plan) -> list[dict[int, float]]:
    """Per pool: handle-time factor at each step it serves."""
    out: list[dict[int, float]] = [{} for _ in plan.pools]
    for s, st in enumerate(plan.steps):
        for p, prof in st.pools:
            out[p][s] = prof
    return out


R = TypeVar("R", bound=Recorder)


@overload
def run(plan: Plan, seed: Seed, rec: None = None) -> Records: ...


@overload
def run(plan: Plan, seed: Seed, rec: R) -> R: ...


def run(plan: Plan, seed: Seed, rec: Recorder | None = None) -> Recorder:
    """Simulate one replication of ``plan`` with ``seed``, a pure function of its inputs; returns the
    recorder it wrote to: ``rec``, or a new per-contact log (:class:`Records`)."""
    out = Records() if rec is None else rec
    Engine(plan, seed, out).run()
    return out

