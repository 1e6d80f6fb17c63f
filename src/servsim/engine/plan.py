"""Compile a validated scenario into the flat, integer-indexed plan the engine runs.

The engine's hot path must not look anything up by string or touch pydantic. This module does every
such look-up once: names become indices, clock times become absolute seconds, staffing becomes a
timeline of headcount changes, arrival profiles become piecewise-constant rate pieces.

Absolute time: seconds after midnight of day 1 (so day d's 08:00 is ``d*86400 + 28800``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from servsim.scenario.distributions import _Dist
from servsim.scenario.schema import EXIT, Balking, Channel, Horizon, Pool, Repeats, Retrial, Scenario, Step
from servsim.units import DAY

#: Tolerance when locating a time in its interval: 1.1h is 3960.0000000000005 s as a float.
EPS = 1e-9


#: Capacity of an ``unlimited`` vendor or bots pool (a count no run can exhaust).
UNLIMITED = 10**9

#: ``StepPlan.choose``: how a contact entering a step picks among its pools with an idle agent
FIRST_IDLE, RANDOM_IDLE, LONGEST_IDLE = 0, 1, 2
_CHOOSE = {"priority": FIRST_IDLE, "random": RANDOM_IDLE, "longest_idle": LONGEST_IDLE}


@dataclass(frozen=True)
class Overflow:
    """When work entering a step goes to its vendor instead of waiting (see schema ``Outsource``)."""

    queue_over: int | None
    wait_over: float | None
    expected_wait_over: float | None
    #: segment indices the rule applies to (None: all)
    segments: frozenset[int] | None
    #: (start, end) seconds after midnight (None: all day)
    between: tuple[float, float] | None
    #: mean handle time of the step's people (s), for the predicted wait
    mean_handle: float


@dataclass(frozen=True)
class CallbackPlan:
    """A channel's callback rule at its entry step (see schema ``Callback``)."""

    #: offer on joining the queue when the predicted wait is over this (s), or None
    predicted_wait_over: float | None
    #: offer once the caller has waited this long (s), or None
    wait_over: float | None
    accept: float
    #: the callback keeps the caller's place (else it waits in a lane served when nothing else waits)
    keep_place: bool
    #: the callback variant step the accepted callbacks wait at
    step: int
    #: mean handle time of the entry step's people (s), for the predicted wait
    mean_handle: float


@dataclass(frozen=True)
class StepPlan:
    name: str
    front: bool
    handle: _Dist | None
    #: (pool index, proficiency) in routing order: highest pool priority first, then file order.
    pools: tuple[tuple[int, float], ...]
    #: cumulative routing probabilities and their targets (step index, -1 = exit).
    route_cum: tuple[float, ...]
    route_to: tuple[int, ...]
    #: who works the step: "agents" (people), or a "bots" / "vendor" variant of a blueprint step
    kind: str = "agents"
    #: the blueprint step this one belongs to (itself for people steps)
    origin: int = -1
    #: entry rules (None: plain step): bots variant and share, vendor variant, its share and overflow
    bot_step: int = -1
    bot_level: float = 0.0
    vendor_step: int = -1
    vendor_share: float = 0.0
    overflow: Overflow | None = None
    #: waiting contacts of this step must abandon on time (queue-length rules look at the queue)
    timed: bool = False
    #: whether entry rules apply (bots or vendor variants exist)
    rules: bool = False
    #: bots variants: route branches from this index on are finished bot work going on (possibly
    #: back to the same blueprint step as new work); a lower index is the exception route to people
    rework_from: int = 1 << 30
    #: handle-time factor per reporting interval of the day (None: none), by the interval service starts in
    handle_factors: tuple[float, ...] | None = None
    #: which pool with an idle agent takes an arriving contact, when several pools serve the step:
    #: :data:`FIRST_IDLE` (routing order), :data:`RANDOM_IDLE` or :data:`LONGEST_IDLE`
    choose: int = 0
    #: people's wrap-up (after-contact work) after serving here: the agent stays busy, the contact
    #: moves on (None: none)
    wrap: _Dist | None = None
    #: front stage, and a pool serving it has interruptible back-stage skills: an arrival finding
    #: no idle agent may preempt one
    preempts: bool = False
    #: finite waiting room: work that would queue when this many wait is blocked (-1: unlimited)
    capacity: int = -1
    #: callback rule per channel index at this (entry) step, None for a channel without one; None
    #: when no channel has one here
    callback: tuple[CallbackPlan | None, ...] | None = None


#: ``PoolPlan.interruptible`` modes
RESUME, RESTART = 1, 2


@dataclass(frozen=True)
class PoolPlan:
    name: str
    #: step indices this pool serves, grouped by skill priority (highest first).
    queue_groups: tuple[tuple[int, ...], ...]
    cost_per_hour: float
    kind: str = "agents"
    #: contacts an agent holds at once, and the handle-time slowdown per extra contact held
    concurrency: int = 1
    slowdown: float = 0.0
    #: first-contact resolution share
    resolution: float = 1.0
    unlimited: bool = False
    #: agents are individuals (own proficiencies, or ``longest_idle`` routing between pools): the engine
    #: tracks who is idle since when; ``n_agents`` is the largest on-duty headcount of the run
    individual: bool = False
    n_agents: int = 0
    #: per-agent handle-time factors: drawn ("lognormal" or "gamma", mean 1, ``factor_cv``), or the
    #: ``factor_list`` given (agent k gets entry k mod its length); neither: all 1
    factor_dist: str = ""
    factor_cv: float = 0.0
    factor_list: tuple[float, ...] = ()
    #: (step index, :data:`RESUME` or :data:`RESTART`) of the interruptible skills
    interruptible: tuple[tuple[int, int], ...] = ()

    @property
    def mean_factor(self) -> float:
        """Mean per-agent handle-time factor over its ``n_agents`` agents: 1 unless listed."""
        given, n = self.factor_list, self.n_agents
        return sum(given[k % len(given)] for k in range(n)) / n if given and n else 1.0


@dataclass(frozen=True)
class ChannelPlan:
    name: str
    kind: str
    entry: int
    #: piecewise-constant arrival rate: (start, end, rate per second), absolute times, sorted.
    rate_pieces: tuple[tuple[float, float, float], ...]
    #: recorded arrival times (absolute seconds) when the channel replays a trace, else None.
    trace: tuple[float, ...] | None
    #: cumulative segment shares and segment indices.
    segment_cum: tuple[float, ...]
    segment_idx: tuple[int, ...]
    #: patience distribution per segment index (None: never abandons).
    patience: tuple[_Dist | None, ...]
    #: service-level threshold (s) and goal of this channel
    sl_threshold: float = 20.0
    sl_goal: float = 0.8
    #: retrial after abandoning or balking: (probability, delay, max attempts) or None
    retrial: tuple[float, _Dist, int] | None = None
    #: balking: (queue length, probability) or None
    balking: tuple[int, float] | None = None
    #: repeat contacts when unresolved: (probability, delay, max attempts) or None
    repeats: tuple[float, _Dist, int] | None = None
    #: patience factor per reporting interval of the day (None: none), by the interval a wait starts in
    patience_factors: tuple[float, ...] | None = None
    #: forecast uncertainty (cv > 0 only): (cv, "day" | "interval"), and for each rate piece the index
    #: of its multiplier (the day, or the interval over all days); pieces are then one interval each
    busyness: tuple[float, str] | None = None
    piece_keys: tuple[int, ...] = ()
    #: index in ``Plan.trunk_lines`` of the trunk whose lines its contacts hold (-1: no lines)
    trunk: int = -1
    #: share of patience draws that are zero (an atom at zero), per segment index
    patience_zero: tuple[float, ...] = ()
    #: one patience per contact across front-stage steps (else one per visit)
    per_contact: bool = False
    #: a retrial keeps the patience of the attempt it follows
    keep_patience: bool = False
    #: callback rule (its entry step has it too), or None
    callback: CallbackPlan | None = None
    #: arrivals take the engine's general path (balking, retrials or a per-contact patience), not
    #: its inlined common case
    general: bool = False


@dataclass(frozen=True)
class Plan:
    scenario: Scenario
    start: float
    end: float
    warmup_end: float
    interval: float
    intervals_per_day: int
    steps: tuple[StepPlan, ...]
    pools: tuple[PoolPlan, ...]
    channels: tuple[ChannelPlan, ...]
    segment_names: tuple[str, ...]
    #: queue level of each segment: 0 = highest priority.
    segment_level: tuple[int, ...]
    n_levels: int
    #: staffing timeline: sorted (time, pool index, on-duty headcount).
    staffing: tuple[tuple[float, int, int], ...]
    #: paid headcount timeline (before breaks and shrinkage): sorted (time, pool index, headcount).
    paid: tuple[tuple[float, int, int], ...]
    #: reporting interval boundaries (absolute), each interval's start; last entry is the horizon end.
    boundaries: tuple[float, ...] = field(repr=False)
    max_in_system: int = 100_000
    max_contacts: int = 1_000_000
    max_visits: int = 2_000_000
    max_visits_per_second: int = 1_000_000
    #: some pool has an interruptible skill (the engine's preemption path is on)
    preemption: bool = False
    #: ``horizon.closing``; for ``drain`` and ``drop``, each day's closing time (absolute; not a day
    #: that ends when the next begins) and the next opening after it (inf after the last day)
    closing: str = "carry_over"
    closes: tuple[float, ...] = ()
    opens: tuple[float, ...] = ()
    #: how far the daily window runs past midnight (s; 0 for a day that ends by 24:00): the hours after
    #: midnight up to then belong to the day before
    day_shift: float = 0.0

    def day_of(self, t: float) -> tuple[int, float]:
        """(day index from 0, seconds after that day's midnight) of absolute time t: the day before
        for the first ``day_shift`` seconds after a midnight (a day open past midnight)."""
        day = math.floor((t - self.day_shift) / DAY)
        return day, t - day * DAY
    #: lines of each trunk: the named ``trunks`` in file order, then one per channel with a number
    #: of ``lines`` of its own, in channel order (empty: no channel has lines)
    trunk_lines: tuple[int, ...] = ()
    #: head start (s) of each queue level, or None: strict priority (see schema ``Segment``)
    head_start: tuple[float, ...] | None = None

    @property
    def budget(self) -> bool:
        """Whether some channel keeps one patience per contact (the engine then tracks what is left)."""
        return any(ch.per_contact for ch in self.channels)

    def interval_index(self, t: float) -> int:
        """Index of the reporting interval holding absolute time t (intervals counted over all days)."""
        day, tod = self.day_of(t)
        k = math.floor((tod - self.start) / self.interval + EPS)
        k = min(max(k, 0), self.intervals_per_day - 1)
        return int(day) * self.intervals_per_day + k


def compile_plan(s: Scenario) -> Plan:
    """Flatten ``s`` (already validated and checked) into a :class:`Plan`."""
    h = s.horizon
    names = _names(s)
    steps = _steps(s, names)
    trunk_lines, trunk_of = _trunks(s)
    channels = tuple(_channel(s, name, ch, names, steps, trunk_of[name]) for name, ch in s.channels.items())
    steps = _with_callbacks(s, steps, channels)
    staffing = _staffing(s)
    most = [0] * len(s.pools)
    for _, p, n in staffing:
        most[p] = max(most[p], n)
    # after the callback variants: a pool's queue groups hold them
    pools = tuple(_pool(s, name, pool, steps, names, most[p]) for p, (name, pool) in enumerate(s.pools.items()))
    return Plan(
        scenario=s, start=h.start, end=_horizon_end(h), warmup_end=h.start + h.warmup,
        interval=h.interval, intervals_per_day=h.intervals_per_day, steps=steps,
        pools=pools, preemption=any(pl.interruptible for pl in pools),
        channels=channels,
        segment_names=tuple(s.segments), segment_level=names.segment_level, n_levels=names.n_levels,
        staffing=staffing, paid=_staffing(s, paid=True), boundaries=_boundaries(h),
        max_in_system=s.limits.max_in_system, max_contacts=s.limits.max_contacts,
        max_visits=s.limits.max_visits, max_visits_per_second=s.limits.max_visits_per_second,
        closing=h.closing, **_closes(h), day_shift=max(0.0, h.end - DAY), trunk_lines=trunk_lines, head_start=names.head_start,
    )


def _closes(h: Horizon) -> dict[str, tuple[float, ...]]:
    """Closing times of the days (absolute) and the opening after each (inf after the last day), for a
    ``closing`` that acts at close; a day whose end is the next day's start does not close."""
    if h.closing == "carry_over":
        return {"closes": (), "opens": ()}
    closes, opens = [], []
    for d in range(h.days):
        close = d * DAY + h.end
        nxt = (d + 1) * DAY + h.start if d + 1 < h.days else math.inf
        if nxt > close:
            closes.append(close)
            opens.append(nxt)
    return {"closes": tuple(closes), "opens": tuple(opens)}


def _trunks(s: Scenario) -> tuple[tuple[int, ...], dict[str, int]]:
    """Lines per trunk (named trunks first, then each channel's own) and each channel's trunk index."""
    index = {name: i for i, name in enumerate(s.trunks)}
    lines = [t.lines for t in s.trunks.values()]
    trunk_of: dict[str, int] = {}
    for name, ch in s.channels.items():
        if ch.lines is None:
            trunk_of[name] = -1
        elif isinstance(ch.lines, str):
            trunk_of[name] = index[ch.lines]
        else:
            trunk_of[name] = len(lines)
            lines.append(ch.lines)
    return tuple(lines), trunk_of


@dataclass(frozen=True)
class _Names:
    """A scenario's names as indices (file order), and the orders the plan derives from priorities."""

    steps: dict[str, int]
    pools: dict[str, int]
    segments: dict[str, int]
    #: pool indices by pool priority, highest first (file order among equals): the routing order
    pool_order: tuple[int, ...]
    #: queue level of each segment (0 = highest priority), and the number of levels
    segment_level: tuple[int, ...]
    n_levels: int
    #: head start of each level (None: strict priority)
    head_start: tuple[float, ...] | None = None


def _names(s: Scenario) -> _Names:
    pools = list(s.pools.values())
    segs = list(s.segments.values())
    if any(seg.head_start is not None for seg in segs):
        # head starts: one lane per (priority, head start), so that each lane stays in rank order
        keys = [(seg.priority, seg.head_start or 0.0) for seg in segs]
        levels = sorted(set(keys), reverse=True)
        level = tuple(levels.index(k) for k in keys)
        head_start: tuple[float, ...] | None = tuple(h for _, h in levels)
    else:
        prios = sorted({seg.priority for seg in segs}, reverse=True)
        level = tuple(prios.index(seg.priority) for seg in segs)
        levels, head_start = prios, None
    return _Names(
        steps={n: i for i, n in enumerate(s.steps)},
        pools={n: i for i, n in enumerate(s.pools)},
        segments={n: i for i, n in enumerate(s.segments)},
        pool_order=tuple(sorted(range(len(pools)), key=lambda i: -pools[i].priority)),
        segment_level=level,
        n_levels=len(levels),
        head_start=head_start,
    )


#: a route: cumulative probabilities and their targets (step index, -1 = exit)
_Route = tuple[tuple[float, ...], tuple[int, ...]]


def _route(routing: dict[str, float], names: _Names) -> _Route:
    cum = tuple(_cumulative(list(routing.values())))
    return cum, tuple(-1 if t == EXIT else names.steps[t] for t in routing)


def _routing(next_: str | dict[str, float]) -> dict[str, float]:
    """A ``next`` field (a step name, or step names to probabilities) as a mapping."""
    return {next_: 1.0} if isinstance(next_, str) else dict(next_)


def _people(s: Scenario, step: str, names: _Names) -> tuple[tuple[int, float], ...]:
    """(pool index, proficiency) of the pools skilled for ``step``, in routing order."""
    pools = list(s.pools.values())
    return tuple((i, pools[i].skill(step).proficiency) for i in names.pool_order if step in pools[i].skills)


def _steps(s: Scenario, names: _Names) -> tuple[StepPlan, ...]:
    """The blueprint's steps in file order, then the bots and vendor variants in order of creation."""
    n_steps = len(names.steps)
    entry_balks = {ch.entry for ch in s.channels.values() if ch.balking is not None}
    steps: list[StepPlan] = []
    variants: list[StepPlan] = []
    for name, st in s.steps.items():
        me = names.steps[name]
        routing = st.routing()
        route = _route(routing, names)
        bot_step = vendor_step = -1
        if st.automation is not None:
            bot_step = n_steps + len(variants)
            variants.append(_bots_variant(name, st, me, routing, route, names))
        if st.outsource is not None:
            vendor_step = n_steps + len(variants)
            variants.append(_vendor_variant(s, name, st, me, route, names))
        steps.append(_people_step(s, name, st, me, route, bot_step, vendor_step, name in entry_balks, names))
    return tuple(steps + variants)


def _preempts(s: Scenario, step: str) -> bool:
    """Whether arrivals at front-stage ``step`` may preempt: a pool serving it has an interruptible skill."""
    return s.steps[step].stage == "front" and any(
        step in p.skills and any(p.skill(k).interruptible is not None for k in p.skills)
        for p in s.pools.values() if p.kind == "agents")


def _people_step(s: Scenario, name: str, st: Step, me: int, route: _Route, bot_step: int, vendor_step: int,
                 balks: bool, names: _Names) -> StepPlan:
    """Blueprint step ``me`` as people work it, with its entry rules (bots and vendor variants)."""
    people = _people(s, name, names)
    overflow = _overflow(st, people, names)
    choose = _CHOOSE[s.routing.idle_pools] if st.people and len(people) > 1 else FIRST_IDLE
    timed = balks or (overflow is not None and (overflow.queue_over is not None
                                                or overflow.expected_wait_over is not None))
    return StepPlan(
        name=name, front=st.stage == "front", handle=st.handle_time, pools=people if st.people else (),
        route_cum=route[0], route_to=route[1], origin=me,
        bot_step=bot_step, bot_level=st.automation.level if st.automation is not None else 0.0,
        vendor_step=vendor_step, vendor_share=st.outsource.share if st.outsource is not None else 0.0,
        overflow=overflow, timed=timed, rules=bot_step >= 0 or vendor_step >= 0, choose=choose,
        wrap=st.wrap_up if st.people else None, preempts=_preempts(s, name),
        handle_factors=tuple(st.handle_time_factors) if st.handle_time_factors is not None else None,
        capacity=st.queue_capacity if st.queue_capacity is not None and st.people else -1,
    )


def _bots_variant(name: str, st: Step, me: int, routing: dict[str, float], route: _Route,
                  names: _Names) -> StepPlan:
    """The bots' share of step ``me``: exceptions (first branch, if any) go to people, then the
    people's routing, scaled by 1 − exceptions; zero-probability branches dropped."""
    a = st.automation
    assert a is not None
    exc = a.exceptions
    exc_to = names.steps[a.exceptions_to] if a.exceptions_to is not None else me
    branches = list(zip([(1 - exc) * p for p in routing.values()], route[1]))
    if exc > 0:
        branches.insert(0, (exc, exc_to))
    keep = [(p, t) for p, t in branches if p > 0] or [(1.0, exc_to)]
    return StepPlan(
        name=f"{name}@{a.bots}", front=st.stage == "front", handle=a.handle_time,
        pools=((names.pools[a.bots], 1.0),), route_cum=tuple(_cumulative([p for p, _ in keep])),
        route_to=tuple(t for _, t in keep), kind="bots", origin=me, rework_from=1 if exc > 0 else 0,
    )


def _vendor_variant(s: Scenario, name: str, st: Step, me: int, route: _Route, names: _Names) -> StepPlan:
    """The vendor's share of step ``me``: its own handle time and routing if given, else the people's."""
    o = st.outsource
    assert o is not None
    if o.next is not None:
        route = _route(_routing(o.next), names)
    return StepPlan(
        name=f"{name}@{o.to}", front=st.stage == "front", handle=o.handle_time or st.handle_time,
        pools=((names.pools[o.to], s.pools[o.to].handle_time_factor),), route_cum=route[0],
        route_to=route[1], kind="vendor", origin=me,
    )


def _overflow(st: Step, people: tuple[tuple[int, float], ...], names: _Names) -> Overflow | None:
    """The step's overflow-to-vendor rule, if it has one; the predicted wait uses the people's
    mean handle time at the lowest proficiency factor among them."""
    o = st.outsource
    if o is None or not o.overflow:
        return None
    mean_prof = min((prof for _, prof in people), default=1.0)
    return Overflow(
        queue_over=o.queue_over, wait_over=o.wait_over, expected_wait_over=o.expected_wait_over,
        segments=frozenset(names.segments[g] for g in o.segments) if o.segments else None,
        between=o.between,
        mean_handle=st.handle_time.mean_s * mean_prof if st.handle_time is not None else 0.0,
    )


def _pool(s: Scenario, name: str, pool: Pool, steps: tuple[StepPlan, ...], names: _Names,
          most: int) -> PoolPlan:
    """A pool's plan; ``most``: its largest on-duty headcount over the run."""
    me = names.pools[name]
    # longest_idle compares idle agents' idle-since times, so the pools it chooses between are individuals
    chosen = any(st.choose == LONGEST_IDLE and any(p == me for p, _ in st.pools) for st in steps)
    drawn, given = pool.agent_proficiency, pool.agent_proficiencies
    # a roster needs a finite headcount (an ``unlimited`` pool stays a count)
    individual = pool.kind == "agents" and not pool.unlimited and (pool.individual or chosen)
    return PoolPlan(
        name=name, queue_groups=_queue_groups(s, name, pool, steps, names), cost_per_hour=pool.cost_per_hour,
        kind=pool.kind, concurrency=pool.concurrency, slowdown=pool.concurrency_slowdown,
        resolution=pool.resolution, unlimited=pool.unlimited,
        individual=individual, n_agents=most if individual else 0,
        factor_dist=drawn.dist if drawn is not None else "", factor_cv=drawn.cv if drawn is not None else 0.0,
        factor_list=tuple(given) if given is not None else (),
        interruptible=tuple((names.steps[k], RESUME if pool.skill(k).interruptible == "resume" else RESTART)
                            for k in pool.skills if pool.kind == "agents" and pool.skill(k).interruptible),
    )


def _queue_groups(s: Scenario, name: str, pool: Pool, steps: tuple[StepPlan, ...],
                  names: _Names) -> tuple[tuple[int, ...], ...]:
    """Steps a pool serves, grouped by skill priority (highest first). People serve the steps they
    are skilled for (not a fully automated one: it never queues for people); bots and vendors
    serve the variants made for them, as one group."""
    if pool.kind != "agents":
        me = names.pools[name]
        return (tuple(i for i, v in enumerate(steps) if v.kind in ("bots", "vendor") and v.pools[0][0] == me),)
    by_prio: dict[int, list[int]] = {}
    for step in pool.skills:
        if s.steps[step].people:
            by_prio.setdefault(pool.skill(step).priority, []).append(names.steps[step])
    groups = [by_prio[p] for p in sorted(by_prio, reverse=True)]
    # callbacks: keeping their place, beside their entry step (the pool compares their place in
    # line with the callers'); else in a last group, served when nothing else waits
    idle: list[int] = []
    for t, st in enumerate(steps):
        if st.kind == "callback" and any(st.origin in g for g in groups):
            cb = next(c for c in steps[st.origin].callback or () if c is not None and c.step == t)
            if cb.keep_place:
                next(g for g in groups if st.origin in g).append(t)
            else:
                idle.append(t)
    if idle:
        groups.append(idle)
    return tuple(tuple(g) for g in groups)


def _channel(s: Scenario, name: str, ch: Channel, names: _Names, steps: tuple[StepPlan, ...],
             trunk: int = -1) -> ChannelPlan:
    mix = ch.segments if ch.segments is not None else {n: seg.share for n, seg in s.segments.items()}
    mix = {n: p for n, p in mix.items() if p > 0}
    sl = ch.service_level or s.targets.service_level
    b = ch.arrivals.busyness
    busy = (b.cv, b.per) if b is not None and b.cv > 0 and ch.arrivals.trace is None else None
    pieces = _rate_pieces(s, name, keyed=busy is not None)
    patience = _patience(s, ch)
    per_contact = ch.patience_per == "contact" and any(d is not None for d in patience)
    return ChannelPlan(
        name=name, kind=ch.kind, entry=names.steps[ch.entry], rate_pieces=tuple(p[:3] for p in pieces),
        trace=_trace(s.horizon, ch), segment_cum=tuple(_cumulative(list(mix.values()))),
        segment_idx=tuple(names.segments[n] for n in mix), patience=patience,
        sl_threshold=sl.threshold, sl_goal=sl.goal, retrial=_again(ch.retrial), balking=_balking(ch.balking),
        repeats=_again(ch.repeats), trunk=trunk,
        patience_factors=tuple(ch.patience_factors) if ch.patience_factors is not None else None,
        busyness=busy, piece_keys=tuple(p[3] for p in pieces) if busy is not None else (),
        patience_zero=tuple(getattr(d, "zero", 0.0) if d is not None else 0.0 for d in patience),
        per_contact=per_contact, keep_patience=ch.retrial is not None and ch.retrial.keep_patience,
        callback=_callback(s, name, ch, names, steps),
        # trunk lines take the general path too: a line must be checked before the contact enters
        general=ch.balking is not None or ch.retrial is not None or per_contact or trunk >= 0,
    )


def _callback(s: Scenario, name: str, ch: Channel, names: _Names, steps: tuple[StepPlan, ...]) -> CallbackPlan | None:
    """A channel's callback rule; its variant step is numbered after the steps made so far and the
    callback variants of the channels before it (:func:`_with_callbacks` makes them in that order)."""
    cb = ch.callback
    if cb is None:
        return None
    order = list(s.channels)
    before = sum(1 for other in order[:order.index(name)] if s.channels[other].callback is not None)
    entry = s.steps[ch.entry]
    people = steps[names.steps[ch.entry]].pools
    mean_prof = min((prof for _, prof in people), default=1.0)
    return CallbackPlan(
        predicted_wait_over=cb.offer_when.predicted_wait_over, wait_over=cb.offer_when.wait_over,
        accept=cb.accept, keep_place=cb.mode == "keep_place", step=len(steps) + before,
        mean_handle=entry.handle_time.mean_s * mean_prof if entry.handle_time is not None else 0.0,
    )


def _with_callbacks(s: Scenario, steps: tuple[StepPlan, ...], channels: tuple[ChannelPlan, ...]
                    ) -> tuple[StepPlan, ...]:
    """The steps with a callback variant per channel with a callback rule (``<entry>@callback``, or
    ``<entry>@callback/<channel>`` when several channels with one enter the same step): served by
    the entry step's people at the same proficiency, with its handle time, wrap-up and routing
    (never preempting: a callback waits for an agent to be free). The entry step gets the rules by
    channel and is ``timed`` (offers read its queue length, which must be exact, and wait for
    ``wait_over``)."""
    rules = [(c, ch.callback) for c, ch in enumerate(channels) if ch.callback is not None]
    if not rules:
        return steps
    out = list(steps)
    shared: dict[int, int] = {}
    for c, _ in rules:
        shared[channels[c].entry] = shared.get(channels[c].entry, 0) + 1
    for c, cb in rules:
        e = channels[c].entry
        st = steps[e]
        name = f"{st.name}@callback" if shared[e] == 1 else f"{st.name}@callback/{channels[c].name}"
        assert cb.step == len(out)
        out.append(StepPlan(name=name, front=st.front, handle=st.handle, pools=st.pools, route_cum=st.route_cum,
                            route_to=st.route_to, kind="callback", origin=e, wrap=st.wrap))
        by_channel = list(out[e].callback or (None,) * len(channels))
        by_channel[c] = cb
        out[e] = replace(out[e], callback=tuple(by_channel), timed=True)
    return tuple(out)


def _patience(s: Scenario, ch: Channel) -> tuple[_Dist | None, ...]:
    """Patience per segment index: the segment's own, else the channel's; email never abandons."""
    if ch.kind == "email":
        return (None,) * len(s.segments)
    return tuple(seg.patience if seg.patience is not None else ch.patience for seg in s.segments.values())


def _trace(h: Horizon, ch: Channel) -> tuple[float, ...] | None:
    """A replayed trace's arrival times within the horizon's days and opening hours."""
    if ch.arrivals.trace is None:
        return None
    lo, hi = h.start, _horizon_end(h)
    shift = max(0.0, h.end - DAY)
    return tuple(t for t in ch.arrivals.trace.times
                 if lo <= t < hi and h.start <= t - math.floor((t - shift) / DAY) * DAY < h.end)


def _again(r: Retrial | Repeats | None) -> tuple[float, _Dist, int] | None:
    """A retrial or repeat rule as (probability, delay, max attempts)."""
    return (r.probability, r.delay, r.max_attempts) if r is not None else None


def _balking(b: Balking | None) -> tuple[int, float] | None:
    return (b.queue, b.probability) if b is not None else None


def _horizon_end(h: Horizon) -> float:
    """Absolute end of the horizon: the last day's closing time."""
    return (h.days - 1) * DAY + h.end


def _boundaries(h: Horizon) -> tuple[float, ...]:
    """Each reporting interval's start, over all days, then the horizon's end."""
    k = h.intervals_per_day
    return tuple(d * DAY + h.start + i * h.interval for d in range(h.days) for i in range(k)) + (_horizon_end(h),)


def _cumulative(probabilities: list[float]) -> list[float]:
    """Cumulative probabilities normalised by their sum (validated to be 1 within 1e-6), ending at 1.0."""
    total = math.fsum(probabilities)
    out, acc = [], 0.0
    for p in probabilities:
        acc += p
        out.append(acc / total)
    out[-1] = 1.0
    return out


def _rate_pieces(s: Scenario, channel: str, keyed: bool = False) -> tuple[tuple[float, ...], ...]:
    """Piecewise-constant arrival rate of a channel over the whole horizon (zero-rate pieces dropped).

    ``keyed`` (busyness): one piece per interval, never merged, each (start, end, rate, key) with the
    key of its busyness multiplier: its day, or its interval counted over all days."""
    h = s.horizon
    a = s.channels[channel].arrivals
    k = h.intervals_per_day
    if a.rate is not None:
        per_interval = [a.rate] * k
    elif a.rates is not None:
        per_interval = list(a.rates)
    elif a.daily_volume is not None and a.shares is not None:
        per_interval = [a.daily_volume * share / h.interval for share in a.shares]
    else:
        return ()
    factors = a.day_factors or [1.0] * h.days
    out: list[tuple[float, ...]] = []
    per_day = a.busyness is not None and a.busyness.per == "day"
    for d in range(h.days):
        for i, r in enumerate(per_interval):
            rate = r * factors[d]
            if rate <= 0:
                continue
            t0 = d * DAY + h.start + i * h.interval
            t1 = t0 + h.interval
            if keyed:
                out.append((t0, t1, rate, d if per_day else d * k + i))
            elif out and out[-1][1] == t0 and out[-1][2] == rate:
                out[-1] = (out[-1][0], t1, rate)
            else:
                out.append((t0, t1, rate))
    return tuple(out)


def _break_slots(shift) -> list[tuple[float, float, int]]:  # noqa: ANN001 - a schema Shift
    """Agents of ``shift`` away on break: (start, end, count) pieces, seconds after midnight.

    Each break window is cut into m = floor(window / length) slots; the shift's n agents are spread
    evenly, the first n mod m slots taking one more (ceil(n/m) at most away at once)."""
    out = []
    for b in shift.breaks:
        m = max(1, math.floor((b.end - b.start) / b.length + EPS))
        q, extra = divmod(shift.agents, m)
        # with fewer agents than slots only the first ``extra`` slots have anyone away: a
        # one-second break in a long window must not cost a loop over every empty slot
        for j in range(m if q else extra):
            away = q + (1 if j < extra else 0)
            out.append((b.start + j * b.length, b.start + (j + 1) * b.length, away))
    return out


def break_pieces(shift) -> int:  # noqa: ANN001 - a schema Shift
    """How many (start, end, count) pieces :func:`_break_slots` makes for ``shift``, without making them."""
    n = 0
    for b in shift.breaks:
        m = max(1, math.floor((b.end - b.start) / b.length + EPS))
        n += min(m, shift.agents)
    return n


def _day_headcount(h, pool, breaks: list[tuple[float, float, int]], present: float) -> list[tuple[float, int]]:  # noqa: ANN001 - schema Horizon, Pool
    """One day's headcount of an agents pool at each of its change points (seconds after midnight,
    sorted), from a running sum of shift starts and ends and break slots: proportional to the number
    of change points, however many break slots there are."""
    k = h.intervals_per_day
    delta: dict[float, int] = {}
    for sh in pool.shifts or ():
        delta[sh.start] = delta.get(sh.start, 0) + sh.agents
        delta[sh.end] = delta.get(sh.end, 0) - sh.agents
    for b0, b1, away in breaks:
        delta[b0] = delta.get(b0, 0) - away
        delta[b1] = delta.get(b1, 0) + away
    points = {h.start, h.end} | {h.start + i * h.interval for i in range(k)} | set(delta)
    out = []
    running = 0
    for tod in sorted(points):
        running += delta.get(tod, 0)
        if not h.start <= tod <= h.end:
            continue
        if tod >= h.end:
            out.append((tod, 0))
            continue
        n = (pool.agents or 0) + running
        if pool.schedule is not None:
            n += pool.schedule[min(math.floor((tod - h.start) / h.interval + EPS), k - 1)]
        out.append((tod, math.floor(n * present + 0.5) if present < 1.0 else n))
    return out


def day_changes(h, pool) -> int:  # noqa: ANN001 - schema Horizon, agents Pool
    """Headcount changes of an agents pool in one day (on duty: breaks and shrinkage included)."""
    breaks = [piece for sh in pool.shifts or () for piece in _break_slots(sh)]
    day = _day_headcount(h, pool, breaks, 1.0 - pool.shrinkage)
    return sum(1 for (_, a), (_, b) in zip(day, day[1:]) if a != b) + 1


def _staffing(s: Scenario, paid: bool = False) -> tuple[tuple[float, int, int], ...]:
    """Headcount changes of every pool: (absolute time, pool index, new headcount), sorted by time.

    On duty (``paid`` false): scheduled headcount less agents on break, times (1 − shrinkage),
    rounded half up. Paid: scheduled headcount. Vendor and bots pools, and ``unlimited`` agents
    pools, are available from the start of the horizon to its end, day and night, at their capacity
    (``UNLIMITED`` if unlimited)."""
    h = s.horizon
    events: list[tuple[float, int, int]] = []
    for p, pool in enumerate(s.pools.values()):
        if pool.kind != "agents" or pool.unlimited:
            events.append((h.start, p, UNLIMITED if pool.unlimited else int(pool.agents or 0)))
            continue
        breaks = [] if paid else [piece for sh in pool.shifts or () for piece in _break_slots(sh)]
        day = _day_headcount(h, pool, breaks, 1.0 if paid else 1.0 - pool.shrinkage)
        # every day has the same staffing: repeat the day's changes (not recompute them) per day
        last = -1
        for d in range(h.days):
            for tod, n in day:
                if n != last:
                    events.append((d * DAY + tod, p, n))
                    last = n
    events.sort(key=lambda e: (e[0], e[1]))
    # A day that ends at 24:00 and the next that starts at 00:00 meet: keep the later headcount.
    merged: dict[tuple[float, int], int] = {}
    for t, p, n in events:
        merged[(t, p)] = n
    return tuple((t, p, n) for (t, p), n in merged.items())
