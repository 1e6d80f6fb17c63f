"""The scenario schema: typed, immutable models of a service system (pydantic v2).

A scenario names its parts and refers to them by name:

* ``horizon`` — the clock: daily window (``start``..``end``), number of ``days``, reporting
  ``interval`` and ``warmup``;
* ``channels`` — how contacts arrive (``arrivals``), which step they enter first (``entry``) and how
  long they are willing to wait (``patience``);
* ``segments`` — classes of customer with a share of arrivals, a queue ``priority`` and own patience;
* ``pools`` — who works: headcount (``agents``, a per-interval ``schedule`` and/or ``shifts``) and
  ``skills`` (which steps, at what speed), with a routing ``priority`` between pools;
* ``steps`` — the service blueprint: each step's ``handle_time``, ``stage`` (front: the customer
  waits and may abandon; back: a work item waits) and ``next`` (routing, rework, exit);
* ``targets`` and ``limits``.

Service-delivery mechanisms (all optional): chat ``concurrency`` on pools; ``vendor`` and ``bots``
pools (outsourcing, RPA, chatbots) reached through a step's ``outsource`` and ``automation``;
``retrial``, ``balking`` and ``repeats`` on channels; ``resolution`` (first-contact resolution),
``shrinkage`` and shift ``breaks`` on pools; per-channel ``service_level`` targets (e.g. email
answered within 24 h).

Field-level rules live here; rules that relate parts to each other (a step no pool serves, routing
that does not sum to 1, a schedule of the wrong length) live in :mod:`servsim.scenario.checks`, so
that each message can point at the exact line. Internally every time is in seconds.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, PrivateAttr, ValidationInfo, field_validator, model_validator
from pydantic import Strict as StrictMode

from servsim.scenario.base import Clock, Duration, Factor, LateClock, Name, Rate, Share, Strict
from servsim.scenario.csvfiles import read_rows, shown
from servsim.scenario.distributions import Distribution, PatienceDistribution
from servsim.scenario.economics import Economics
from servsim.scenario.files import referenced_file
from servsim.units import DAY, parse_late_clock

#: Longest horizon, in days (ten years).
MAX_DAYS = 3660

EXIT = "exit"
MAX_AGENTS = 100_000
#: At most this many channels, segments, pools or steps in one scenario.
MAX_PARTS = 1000
#: Whole numbers are strict: `true` or "2" is not a headcount.
Count = Annotated[int, StrictMode()]


class Horizon(Strict):
    """Simulated time: ``days`` days, each open from ``start`` to ``end`` (clock times).

    Arrivals and staffing happen only inside the daily window; time between windows passes with no
    arrivals and no staff. ``interval`` is the reporting interval (and the unit of per-interval
    schedules); it must divide the daily window. Contacts arriving during the first ``warmup`` are
    simulated but left out of every KPI. A day that runs past midnight ends after 24:00 (``start:
    "18:00"``, ``end: "26:00"``: open 18:00–02:00; at most 24 hours a day).

    ``closing`` — what happens to the contacts present at each day's ``end``:

    * ``carry_over`` (default, the behaviour before the field existed): the doors close and the
      staff go home (an agent finishes the contact in hand); those waiting stay in their queues,
      patience running, until the next day's opening; at the horizon's end those present are
      ``in_system_end``;
    * ``drain``: no arrivals after ``end`` (returns due while closed are lost); the agents on duty
      at close stay until every contact in service or waiting has been served or has abandoned
      (patience still applies): the drain ends when no contact is in service any more (or at the
      next opening). The run ends when the last day's drain does. The time after close is
      overtime (pool tables ``overtime_s``), paid at the pool's ``cost_per_hour``;
    * ``drop``: the contacts waiting at close leave at once, counted ``abandoned`` at the closing
      time (abandonment rate and service level include them); contacts in service finish, and
      leave when they would wait again; returns due while closed are lost.
    """

    start: Clock = 0.0
    end: LateClock = DAY
    days: Count = Field(default=1, ge=1, le=MAX_DAYS)
    interval: Duration = Field(default=1800.0, ge=60.0)
    warmup: Duration = 0.0
    closing: Literal["carry_over", "drain", "drop"] = "carry_over"

    @property
    def window_s(self) -> float:
        return self.end - self.start

    @property
    def intervals_per_day(self) -> int:
        return round(self.window_s / self.interval)

    @property
    def length_s(self) -> float:
        """Seconds from the first opening to the last closing."""
        return (self.days - 1) * DAY + self.end - self.start


class Trace(Strict):
    """Replay of recorded arrival times from a CSV file (path relative to the scenario file).

    ``column`` holds clock times ("08:01:13") of day 1, or of the day in the optional ``day_column``
    (1-based); a time past midnight of a late day may be written either way ("25:30" of day 1 is
    "01:30" of day 2). Rows outside the horizon are ignored.
    """

    file: str
    column: str = "time"
    day_column: str | None = None
    _times: tuple[float, ...] = PrivateAttr(default=())

    @model_validator(mode="after")
    def _load(self, info: ValidationInfo) -> Trace:
        path = referenced_file(info.context, self.file, "trace file")
        columns = [self.column] if self.day_column is None else [self.column, self.day_column]
        self._times = tuple(sorted(read_rows(path, columns, _arrival_time)))
        return self

    @property
    def times(self) -> tuple[float, ...]:
        """Arrival times in seconds after midnight of day 1, sorted."""
        return self._times


def _arrival_time(cells: list[str | None]) -> float:
    """Seconds after midnight of day 1 of a trace row (time, and day if the trace has a day column):
    (day − 1) × 86400 + clock time."""
    clock = cells[0]
    if clock is None or not clock.strip():
        raise ValueError("no time")
    t = parse_late_clock(clock.strip())
    if len(cells) == 1:
        return t
    day = cells[1]
    text = (day or "").strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 6 and 1 <= int(text) <= MAX_DAYS):
        raise ValueError(f"day {shown(day)} is not a whole number from 1 to {MAX_DAYS}")
    return (int(text) - 1) * DAY + t


class Busyness(Strict):
    """Forecast uncertainty: the rates (after ``day_factors``) are multiplied by B, a gamma variable
    with mean 1 and coefficient of variation ``cv`` (shape 1/cv², scale cv²), drawn once per day
    (``per: day``) or once per reporting interval (``per: interval``) from the channel's own random
    stream ``busyness/<channel>`` (channels' multipliers are independent). Given B the arrivals are
    Poisson, so a day's count N with mean m has Var N = m + cv²·m² (per day; per interval,
    m + cv²·Σ mᵢ² over the intervals' means mᵢ). ``cv: 0`` is the plain Poisson forecast."""

    cv: float = Field(ge=0.0, le=10.0)
    per: Literal["day", "interval"] = "day"


class Arrivals(Strict):
    """How many contacts arrive, and when. Give exactly one of:

    * ``rate`` — constant rate while open ("9.5/min");
    * ``rates`` — one rate per reporting interval of the day;
    * ``daily_volume`` with ``shares`` — contacts per day and the share of each interval (sum 1);
    * ``trace`` — recorded arrival times.

    Arrivals are Poisson (exponential gaps; exact for piecewise-constant rates). ``day_factors``
    scale the rate of each day (one factor per day). ``busyness`` makes the forecast uncertain: a
    random multiplier of the rates (see :class:`Busyness`; not for a ``trace``).
    """

    rate: Rate | None = None
    rates: list[Rate] | None = Field(default=None, min_length=1)
    daily_volume: float | None = Field(default=None, ge=0)
    shares: list[Share] | None = Field(default=None, min_length=1)
    trace: Trace | None = None
    day_factors: list[Annotated[float, Field(ge=0)]] | None = None
    busyness: Busyness | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Arrivals:
        kinds = [k for k in ("rate", "rates", "daily_volume", "trace") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(
                "give exactly one of 'rate', 'rates', 'daily_volume' (with 'shares') or 'trace'"
                + (f"; found {', '.join(kinds)}" if kinds else "")
            )
        if (self.daily_volume is None) != (self.shares is None):
            raise ValueError("'daily_volume' and 'shares' go together")
        return self


class Retrial(Strict):
    """Customers who abandon (or balk) try again: each with ``probability``, after ``delay``; at most
    ``max_attempts`` attempts in all (the first included). A retrial is a new contact of the same
    channel and segment with ``attempt`` + 1; it is not a fresh arrival of the arrival process.

    ``keep_patience``: the retrial waits with the patience the customer had when abandoning (the
    same draw, at each front-stage step of the retrial), not a fresh one; a customer who balked
    never drew one, so their retrial draws afresh (and keeps that draw from then on)."""

    probability: Share
    delay: Distribution
    max_attempts: Count = Field(default=3, ge=2, le=100)
    keep_patience: Annotated[bool, StrictMode()] = False


class Balking(Strict):
    """Arriving customers who find ``queue`` or more contacts waiting at the entry step (and no idle
    agent) leave at once with ``probability`` (outcome ``balked``)."""

    queue: Count = Field(ge=0, le=50_000_000)
    probability: Share = 1.0


class Repeats(Strict):
    """A handled contact left unresolved (see ``pools.<name>.resolution``) contacts again with
    ``probability``, after ``delay``, as a new contact of the same channel and segment (``attempt``
    + 1, at most ``max_attempts`` in all)."""

    probability: Share = 1.0
    delay: Distribution
    max_attempts: Count = Field(default=3, ge=2, le=100)


class CallbackOffer(Strict):
    """When a waiting caller is offered a callback (give exactly one):

    * ``predicted_wait_over`` — on joining the queue (no agent of the step idle), when the predicted
      wait (n × mean handle time / slots on duty) exceeds this; n counts the contacts waiting at the
      step, this one included, and, with ``mode: keep_place``, the callbacks still ahead of it;
    * ``wait_over`` — once the caller has waited this long in the queue (and is still waiting)."""

    predicted_wait_over: Duration | None = None
    wait_over: Duration | None = None

    @model_validator(mode="after")
    def _one(self) -> CallbackOffer:
        if (self.predicted_wait_over is None) == (self.wait_over is None):
            raise ValueError("give exactly one of 'predicted_wait_over' or 'wait_over'")
        return self


class Callback(Strict):
    """Virtual hold at the channel's entry step: a waiting caller is offered a callback (see
    :class:`CallbackOffer`) and accepts with probability ``accept``; who accepts hangs up (no more
    patience) and is called back by an agent of the pools serving the entry step, with the step's
    handle time and routing. The outbound call always reaches the customer.

    * ``keep_place`` — the callback keeps the caller's place in the queue: it is served exactly when
      the caller would have been reached;
    * ``when_idle`` — the callback waits in a lane of its own that an agent serves only when nothing
      else they serve is waiting."""

    offer_when: CallbackOffer
    accept: Share = 1.0
    mode: Literal["keep_place", "when_idle"] = "keep_place"


class ServiceLevelTarget(Strict):
    """Service level: share of contacts answered within ``threshold``; ``goal`` is the target share."""

    threshold: Duration = 20.0
    goal: Share = 0.8


#: Most trunk lines of a channel or a trunk.
MAX_LINES = 50_000_000


class Channel(Strict):
    """A way contacts arrive. ``entry`` is the first step; ``patience`` the time a customer waits in
    a front-stage queue before abandoning (none: never abandons; an ``email`` channel never
    abandons). ``segments`` overrides the segment mix of this channel (shares summing to 1).
    ``service_level`` overrides ``targets.service_level`` for this channel (e.g. email: 90% within
    24h). ``retrial``, ``balking``, ``repeats`` and ``callback``: see their classes.
    ``patience_factors`` (one per reporting interval of the day) multiply every patience drawn (the
    segment's too) by the factor of the interval in which that wait starts.

    ``patience_per``: ``visit`` (default) — a fresh patience at each front-stage step a contact
    enters; ``contact`` — one patience per contact, drawn at its first front-stage step, and at each
    later front-stage step the customer waits only what is left of it (the waits already spent at
    front-stage steps are deducted).

    ``lines``: trunk lines (none: unlimited). A number N gives the channel N lines of its own; the
    name of a ``trunks`` entry makes it share that trunk's lines with the other channels naming it.
    A contact holds a line from its arrival until it leaves the front stage (served to the end,
    abandoned, blocked, or moved on to a back-stage step); a contact arriving when every line is
    held is *blocked* (busy signal: outcome ``blocked``) and may retry (``retrial``)."""

    kind: Literal["voice", "chat", "email", "walk_in", "self_service"] = "voice"
    arrivals: Arrivals
    entry: Name
    patience: PatienceDistribution | None = None
    segments: dict[Name, Share] | None = None
    service_level: ServiceLevelTarget | None = None
    retrial: Retrial | None = None
    balking: Balking | None = None
    repeats: Repeats | None = None
    patience_factors: list[Factor] | None = Field(default=None, min_length=1)
    lines: Annotated[Count, Field(ge=1, le=MAX_LINES)] | Name | None = None
    callback: Callback | None = None
    patience_per: Literal["visit", "contact"] = "visit"

    @field_validator("lines", mode="before")
    @classmethod
    def _lines(cls, v: object) -> object:
        """One clear message for a bad number (the union would add "should be a valid string")."""
        if v is None or isinstance(v, str):
            return v
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= MAX_LINES:
            raise ValueError(f"give a whole number of lines from 1 to {MAX_LINES:,}, or the name of a "
                             f"'trunks' entry; got {v!r}")
        return v


class Trunk(Strict):
    """Trunk lines shared by the channels whose ``lines`` name this trunk: at most ``lines`` of
    their contacts are present in the front stage at once, all those channels together."""

    lines: Count = Field(ge=1, le=MAX_LINES)


class Segment(Strict):
    """A class of customer: ``share`` of every channel's arrivals, queue ``priority`` (higher is
    served first; ties FIFO) and an own ``patience`` replacing the channel's.

    ``head_start`` (aging): when any segment gives one, priority is no longer strict: a waiting
    contact is ranked by its queue entry time minus its segment's head start (0 for segments
    without one), earliest first — as if it had arrived earlier by the head start; ``priority``
    breaks ties of equal rank. A head start longer than any wait gives strict priority back."""

    share: Share = 1.0
    priority: Count = Field(default=0, ge=-1000, le=1000)
    patience: PatienceDistribution | None = None
    head_start: Duration | None = None


class Break(Strict):
    """Every agent of the shift takes one break of ``length`` starting between ``start`` and ``end``
    (clock times). Breaks are staggered: the window is cut into slots of ``length`` and the agents
    are spread evenly over the slots, so ceil(agents / slots) at most are away at once. Break time
    is paid; it is not on-duty time."""

    start: LateClock
    end: LateClock
    length: Duration = Field(gt=0)

    @model_validator(mode="after")
    def _fits(self) -> Break:
        if self.end - self.start < self.length - 1e-9:
            raise ValueError("the break window must be at least as long as the break")
        return self


class Shift(Strict):
    """``agents`` people working from ``start`` to ``end`` (clock times) every day, with optional
    ``breaks``."""

    start: LateClock
    end: LateClock
    agents: Count = Field(ge=0, le=MAX_AGENTS)
    breaks: list[Break] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _ordered(self) -> Shift:
        if self.end <= self.start:
            raise ValueError("a shift must end after it starts (same day)")
        for b in self.breaks:
            if b.start < self.start or b.end > self.end:
                raise ValueError("a break window must lie inside its shift")
        return self


class Skill(Strict):
    """A pool's skill at a step: ``proficiency`` multiplies the handle time (0.8 = 20% faster) and
    the wrap-up time; ``priority`` orders the queues an agent serves (higher first; ties go to the
    longest-waiting).

    ``interruptible`` (back-stage steps only; default none): front-stage work arriving when no agent
    of the pool is idle takes an agent of this pool working an item of this step (the one who
    started last); the item goes back to the head of its queue with its remaining work
    (``resume``) or to be worked again from a fresh handle time (``restart``)."""

    proficiency: Factor = 1.0
    priority: Count = Field(default=0, ge=-1000, le=1000)
    interruptible: Literal["resume", "restart"] | None = None


#: Largest coefficient of variation of a pool's per-agent proficiencies.
MAX_PROFICIENCY_CV = 3.0


class AgentProficiency(Strict):
    """How much the agents of a pool differ: each agent's handle-time factor (its proficiency: 0.8 =
    20% faster than the pool's skill says) is drawn once per agent and replication from a
    distribution of mean 1 and coefficient of variation ``cv``, ``dist`` ``lognormal`` (default:
    ln f ~ N(−σ²/2, σ²), σ² = ln(1 + cv²)) or ``gamma`` (shape 1/cv², scale cv²). ``cv: 0`` gives
    every agent factor 1 (agents that are individuals, all equally fast)."""

    dist: Literal["lognormal", "gamma"] = "lognormal"
    cv: Annotated[float, Field(ge=0.0, le=MAX_PROFICIENCY_CV)]


#: Fields that only a pool of the given kind may set (checked in :mod:`servsim.scenario.checks`).
KIND_FIELDS = {
    "agents": ("schedule", "shifts", "skills", "shrinkage", "concurrency", "concurrency_slowdown", "agent_proficiency",
               "agent_proficiencies"),
    "vendor": ("price_per_contact", "price_per_hour", "handle_time_factor"),
    "bots": ("licence_cost", "licence_period", "cost_per_transaction"),
}


class Pool(Strict):
    """Who does the work: people (``kind: agents``, default), an outsourcing ``vendor``, or ``bots``.

    **agents** — headcount at time t = ``agents`` + ``schedule[interval of t]`` + agents of
    ``shifts`` covering t (give at least one), less shift ``breaks``, times (1 − ``shrinkage``)
    rounded to the nearest whole agent (absence: paid, not on duty). When headcount drops, an agent
    going off finishes the contact in hand. ``skills`` maps each step the pool serves to a
    proficiency factor (or a :class:`Skill`). Contacts go to the idle pool with the highest
    ``priority`` first. ``concurrency`` k: an agent holds up to k contacts at once (chat); a contact
    started while its agent holds j others takes handle time × (1 + ``concurrency_slowdown`` × j)
    (contacts are spread evenly over the agents). ``cost_per_hour`` per paid agent-hour.

    ``agent_proficiency`` or ``agent_proficiencies`` makes the pool's agents individuals, each with an
    own handle-time factor that multiplies the skill's proficiency: an :class:`AgentProficiency`
    (factors drawn per replication, mean 1), or a list of factors (agent k gets factor k of the list,
    cycling when there are more agents than factors). Agents are numbered in the order they come on
    duty: agent k is on duty while the headcount is above k, so when headcount drops the last to
    come on goes first (finishing the contact in hand), and when it rises agents come back in
    order. Of the idle agents, the one idle longest takes the next contact. Without either field,
    agents are interchangeable: a headcount.

    ``agents: unlimited`` — infinite servers (M/M/∞): every contact of the pool's steps starts
    service on arrival, day and night; no ``schedule``, ``shifts``, ``shrinkage`` or per-agent
    proficiency. Paid hours = busy hours (an agent is paid only while serving), so its cost is
    busy agent-hours × ``cost_per_hour``; it has no occupancy.

    **vendor** — serves only the work a step's ``outsource`` rule sends it; ``agents`` is its
    capacity (a number, or ``unlimited``), available 24/7; ``handle_time_factor`` multiplies the
    step's handle time; charged ``price_per_contact`` per contact it handles plus ``price_per_hour``
    per hour of handling.

    **bots** — serves only the work a step's ``automation`` sends it; ``agents`` is the number of
    bots (or ``unlimited``), available 24/7; ``licence_cost`` per bot (a flat fee if unlimited) per
    ``licence_period``, pro-rated to the simulated days, plus ``cost_per_transaction``.

    ``resolution`` (any kind): share of contacts this pool finishes that are resolved (first-contact
    resolution); the rest are *unresolved* and may contact again (``channels.<name>.repeats``).
    """

    kind: Literal["agents", "vendor", "bots"] = "agents"
    agents: Annotated[Count, Field(ge=0, le=MAX_AGENTS)] | Literal["unlimited"] | None = None
    schedule: list[Annotated[Count, Field(ge=0, le=MAX_AGENTS)]] | None = Field(default=None, min_length=1)
    shifts: list[Shift] | None = Field(default=None, min_length=1)
    skills: dict[Name, Factor | Skill] = Field(default_factory=dict)
    priority: Count = Field(default=0, ge=-1000, le=1000)
    cost_per_hour: float = Field(default=0.0, ge=0)
    shrinkage: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    concurrency: Count = Field(default=1, ge=1, le=50)
    concurrency_slowdown: float = Field(default=0.0, ge=0.0, le=10.0)
    agent_proficiency: AgentProficiency | None = None
    agent_proficiencies: list[Factor] | None = Field(default=None, min_length=1, max_length=MAX_AGENTS)
    resolution: Share = 1.0
    handle_time_factor: Factor = 1.0
    price_per_contact: float = Field(default=0.0, ge=0)
    price_per_hour: float = Field(default=0.0, ge=0)
    licence_cost: float = Field(default=0.0, ge=0)
    licence_period: Duration = Field(default=30 * DAY, gt=0)
    cost_per_transaction: float = Field(default=0.0, ge=0)

    @model_validator(mode="after")
    def _some_headcount(self) -> Pool:
        if self.kind == "agents":
            if self.agents is None and self.schedule is None and self.shifts is None:
                raise ValueError("give the headcount: 'agents', a per-interval 'schedule' and/or 'shifts'")
            if not self.skills and "skills" not in self.model_fields_set:
                raise ValueError("give the pool's 'skills': the steps it serves")
        elif self.agents is None:
            raise ValueError(f"give the {self.kind} pool's capacity: 'agents' (a number or 'unlimited')")
        return self

    @property
    def unlimited(self) -> bool:
        return self.agents == "unlimited"

    @property
    def individual(self) -> bool:
        """Whether the pool's agents have their own proficiencies."""
        return self.agent_proficiency is not None or self.agent_proficiencies is not None

    def skill(self, step: str) -> Skill:
        s = self.skills[step]
        return s if isinstance(s, Skill) else Skill(proficiency=s)


class Automation(Strict):
    """Bots (RPA, chatbot, self-service) take a share ``level`` of the work entering the step.

    A bot of pool ``bots`` works an item for ``handle_time``; a share ``exception_rate`` of its
    items (or 1 − ``containment``: give one of the two) it cannot finish and passes to step
    ``exceptions_to`` (default: this step, worked by people); the rest follow the step's ``next``.
    A contact that leaves the process having been served by bots only is *contained*.
    """

    bots: Name
    level: Share = 1.0
    handle_time: Distribution
    exception_rate: Share | None = None
    containment: Share | None = None
    exceptions_to: Name | None = None

    @model_validator(mode="after")
    def _one_rate(self) -> Automation:
        if self.exception_rate is not None and self.containment is not None:
            raise ValueError("give 'exception_rate' or 'containment' (= 1 - exception_rate), not both")
        return self

    @property
    def exceptions(self) -> float:
        """Share of bot items passed to people."""
        if self.containment is not None:
            return 1.0 - self.containment
        return self.exception_rate or 0.0


class Outsource(Strict):
    """Send work entering this step to the vendor pool ``to``.

    * ``share`` — this share of all work entering the step, always;
    * overflow, when no agent of the step is idle and any condition given holds at entry:
      ``queue_over`` — at least this many contacts wait at the step already (so the queue is never
      longer than queue_over); ``wait_over`` — the
      longest-waiting contact there has waited longer than this; ``expected_wait_over`` — the
      predicted wait (waiting + 1) × mean handle time / staffed agents exceeds this;
    * ``segments`` and ``between`` (two clock times) restrict the rule to some segments and to a
      time of day;
    * ``handle_time`` and ``next`` — the vendor's own handle time and routing for this work when
      it differs from the step's (e.g. the vendor takes the whole call at the first step:
      ``next: exit``); default the step's handle time × the vendor's ``handle_time_factor``, and
      the step's ``next``.
    """

    to: Name
    share: Share = 0.0
    queue_over: Count | None = Field(default=None, ge=0, le=50_000_000)
    wait_over: Duration | None = None
    expected_wait_over: Duration | None = None
    segments: list[Name] | None = Field(default=None, min_length=1)
    between: tuple[Clock, Clock] | None = None
    handle_time: Distribution | None = None
    next: Name | dict[Name, Share] | None = None

    @model_validator(mode="after")
    def _something(self) -> Outsource:
        if self.share == 0 and self.queue_over is None and self.wait_over is None and self.expected_wait_over is None:
            raise ValueError("give a 'share' or an overflow condition: 'queue_over', 'wait_over' or "
                             "'expected_wait_over'")
        if self.between is not None and self.between[1] <= self.between[0]:
            raise ValueError("'between' must be [start, end] with end after start")
        return self

    @property
    def overflow(self) -> bool:
        return self.queue_over is not None or self.wait_over is not None or self.expected_wait_over is not None


class Step(Strict):
    """One step of the service blueprint.

    ``stage: front`` — the customer is present and waits (may abandon); ``back`` — the customer is
    gone and a work item waits. ``next`` is the routing: a step name, ``exit``, or a mapping of
    step names (or ``exit``) to probabilities summing to 1 (loops allowed: rework).
    ``automation`` sends a share of the step's work to bots, ``outsource`` to a vendor. The
    ``handle_time`` is the people's (needed unless bots take all of the work). ``wrap_up``
    (after-contact work; default none): when people finish serving a contact here, the contact
    moves on at once while the agent stays busy for this time (× the skill's proficiency).
    ``handle_time_factors`` (one per reporting interval of the day) multiply the people's handle time
    by the factor of the interval in which the service starts (bots and vendor variants keep theirs).

    ``queue_capacity`` r (none: unlimited): a finite waiting room. Work that would have to queue
    for the step's people (no idle agent) when r contacts already wait there is *blocked*: it
    leaves at once with outcome ``blocked`` (at a front-stage step the customer may retry, as
    after a busy signal; at a back-stage step the work item is dropped, no retrial). r = 0: no
    waiting at all (a loss system). Abandonment counts exactly: a contact whose patience has run
    out is not counted among those waiting.
    """

    stage: Literal["front", "back"] = "front"
    handle_time: Distribution | None = None
    wrap_up: Distribution | None = None
    handle_time_factors: list[Factor] | None = Field(default=None, min_length=1)
    next: Name | dict[Name, Share] = EXIT
    automation: Automation | None = None
    outsource: Outsource | None = None
    queue_capacity: Count | None = Field(default=None, ge=0, le=50_000_000)

    @model_validator(mode="after")
    def _handled(self) -> Step:
        if self.handle_time is None and self.people:
            raise ValueError("give the 'handle_time' of people at this step")
        return self

    @property
    def people(self) -> bool:
        """Whether people work (part of) this step: not all of it goes to bots, or bot exceptions
        come back to it."""
        a = self.automation
        return a is None or a.level < 1 or (a.exceptions > 0 and a.exceptions_to is None)

    def routing(self) -> dict[str, float]:
        return {self.next: 1.0} if isinstance(self.next, str) else dict(self.next)


class Targets(Strict):
    service_level: ServiceLevelTarget = ServiceLevelTarget()
    abandonment_max: Share = 0.05


class Routing(Strict):
    """Which pool gets a contact when several pools skilled for its step have an idle agent:

    * ``priority`` (default) — the first in routing order: highest pool ``priority``, then file order;
    * ``random`` — a pool drawn with probability proportional to its idle agents (idle slots), i.e. a
      free agent chosen uniformly at random among all free skilled agents;
    * ``longest_idle`` — the pool whose idle agent has been idle longest (ties: routing order). Its
      pools' agents are individuals (see ``pools.<name>.agent_proficiency``); they must hold one contact at
      a time (``concurrency: 1``).

    When no pool has an idle agent the contact queues; a pool that finishes takes work by skill
    priority as always."""

    idle_pools: Literal["priority", "random", "longest_idle"] = "priority"


class Limits(Strict):
    """Bounds that hold for a whole replication, not only for each field, so that no valid file can
    make a run hang or eat memory. A bound that can be predicted from the file is checked when the
    scenario is loaded (a scenario expecting more is refused, naming the limit); what cannot be
    predicted stops the replication when reached (``stopped``, exit status 3, marked unstable).

    * ``max_in_system`` — contacts present at once (waiting or in service). Run: reaching it stops
      the replication. Load: refused when an ``unlimited`` vendor or bots pool would hold more
      (arrival rate × handle time).
    * ``max_contacts`` — contacts per replication, all channels together, retrials and repeats
      included (with the per-contact log, about 600 bytes a contact at the peak, tables included).
      Load: refused when expected arrivals × the most attempts each could make exceed it. Run: the
      contact after it stops the replication.
    * ``max_visits`` — step visits per replication (each a row of the visits table, about 250
      bytes). Load: refused when expected visits exceed it. Run: checked every 65,536 moves from
      a step to the next (first visits are arrivals, bounded by ``max_contacts``).
    * ``max_visits_per_contact`` — expected visits per contact, from the routing (rework loops,
      bot exceptions). Load only: a loop left with a tiny probability is refused.
    * ``max_visits_per_second`` — moves from a step to the next per second of simulated time,
      checked over each block of 65,536: a loop of zero-time steps makes work without letting the
      clock move; such a run is stopped.
    """

    max_in_system: Count = Field(default=100_000, ge=1, le=50_000_000)
    max_contacts: Count = Field(default=1_000_000, ge=1, le=200_000_000)
    max_visits: Count = Field(default=2_000_000, ge=1, le=1_000_000_000)
    max_visits_per_contact: Count = Field(default=1000, ge=1, le=1_000_000)
    max_visits_per_second: Count = Field(default=1_000_000, ge=1, le=1_000_000_000)


class Scenario(Strict):
    """A complete service system. See the README's scenario reference for every field."""

    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    horizon: Horizon = Horizon()
    channels: dict[Name, Channel] = Field(min_length=1, max_length=MAX_PARTS)
    segments: dict[Name, Segment] = Field(default_factory=lambda: {"all": Segment()}, min_length=1,
                                          max_length=MAX_PARTS)
    pools: dict[Name, Pool] = Field(min_length=1, max_length=MAX_PARTS)
    steps: dict[Name, Step] = Field(min_length=1, max_length=MAX_PARTS)
    targets: Targets = Targets()
    routing: Routing = Routing()
    economics: Economics = Economics()
    limits: Limits = Limits()
    trunks: dict[Name, Trunk] = Field(default_factory=dict, max_length=MAX_PARTS)
