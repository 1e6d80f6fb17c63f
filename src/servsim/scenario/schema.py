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

Field-level rules live here; rules that relate parts to each other (a step no pool serves, routing
that does not sum to 1, a schedule of the wrong length) live in :mod:`servsim.scenario.checks`, so
that each message can point at the exact line. Internally every time is in seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, PrivateAttr, ValidationInfo, model_validator
from pydantic import Strict as StrictMode

from servsim.scenario.base import Clock, Duration, Factor, Name, Rate, Share, Strict
from servsim.scenario.distributions import Distribution
from servsim.scenario.economics import Economics
from servsim.units import DAY, parse_clock

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
    simulated but left out of every KPI.
    """

    start: Clock = 0.0
    end: Clock = DAY
    days: Count = Field(default=1, ge=1, le=3660)
    interval: Duration = Field(default=1800.0, ge=60.0)
    warmup: Duration = 0.0

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
    (1-based). Rows outside the horizon are ignored.
    """

    file: str
    column: str = "time"
    day_column: str | None = None
    _times: tuple[float, ...] = PrivateAttr(default=())

    @model_validator(mode="after")
    def _load(self, info: ValidationInfo) -> Trace:
        import csv

        path = Path((info.context or {}).get("base_dir", ".")) / self.file
        if not path.is_file():
            raise ValueError(f"trace file {str(path)!r} does not exist (paths are relative to the scenario file)")
        times: list[float] = []
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            fields = reader.fieldnames or []
            for col in (self.column, self.day_column):
                if col is not None and col not in fields:
                    raise ValueError(f"column {col!r} not in {path.name}; columns are {', '.join(fields)}")
            for lineno, row in enumerate(reader, start=2):
                try:
                    day = int(row[self.day_column]) - 1 if self.day_column else 0
                    times.append(day * DAY + parse_clock(row[self.column]))
                except (ValueError, TypeError) as exc:
                    raise ValueError(f"{path.name} line {lineno}: {exc}") from None
        self._times = tuple(sorted(times))
        return self

    @property
    def times(self) -> tuple[float, ...]:
        """Arrival times in seconds after midnight of day 1, sorted."""
        return self._times


class Arrivals(Strict):
    """How many contacts arrive, and when. Give exactly one of:

    * ``rate`` — constant rate while open ("9.5/min");
    * ``rates`` — one rate per reporting interval of the day;
    * ``daily_volume`` with ``shares`` — contacts per day and the share of each interval (sum 1);
    * ``trace`` — recorded arrival times.

    Arrivals are Poisson (exponential gaps; exact for piecewise-constant rates). ``day_factors``
    scale the rate of each day (one factor per day).
    """

    rate: Rate | None = None
    rates: list[Rate] | None = Field(default=None, min_length=1)
    daily_volume: float | None = Field(default=None, ge=0)
    shares: list[Share] | None = Field(default=None, min_length=1)
    trace: Trace | None = None
    day_factors: list[Annotated[float, Field(ge=0)]] | None = None

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


class Channel(Strict):
    """A way contacts arrive. ``entry`` is the first step; ``patience`` the time a customer waits in
    a front-stage queue before abandoning (none: never abandons). ``segments`` overrides the
    segment mix of this channel (shares summing to 1)."""

    kind: Literal["voice", "chat", "email", "walk_in", "self_service"] = "voice"
    arrivals: Arrivals
    entry: Name
    patience: Distribution | None = None
    segments: dict[Name, Share] | None = None


class Segment(Strict):
    """A class of customer: ``share`` of every channel's arrivals, queue ``priority`` (higher is
    served first; ties FIFO) and an own ``patience`` replacing the channel's."""

    share: Share = 1.0
    priority: Count = Field(default=0, ge=-1000, le=1000)
    patience: Distribution | None = None


class Shift(Strict):
    """``agents`` people working from ``start`` to ``end`` (clock times) every day."""

    start: Clock
    end: Clock
    agents: Count = Field(ge=0, le=MAX_AGENTS)

    @model_validator(mode="after")
    def _ordered(self) -> Shift:
        if self.end <= self.start:
            raise ValueError("a shift must end after it starts (same day)")
        return self


class Skill(Strict):
    """A pool's skill at a step: ``proficiency`` multiplies the handle time (0.8 = 20% faster);
    ``priority`` orders the queues an agent serves (higher first; ties go to the longest-waiting)."""

    proficiency: Factor = 1.0
    priority: Count = Field(default=0, ge=-1000, le=1000)


class Pool(Strict):
    """A group of interchangeable agents.

    Headcount at time t = ``agents`` + ``schedule[interval of t]`` + agents of ``shifts`` covering t
    (give at least one). When headcount drops, an agent going off finishes the contact in hand.
    ``skills`` maps each step the pool serves to a proficiency factor (or a :class:`Skill`).
    Contacts go to the idle pool with the highest ``priority`` first.
    """

    agents: Count | None = Field(default=None, ge=0, le=MAX_AGENTS)
    schedule: list[Annotated[Count, Field(ge=0, le=MAX_AGENTS)]] | None = Field(default=None, min_length=1)
    shifts: list[Shift] | None = Field(default=None, min_length=1)
    skills: dict[Name, Factor | Skill] = Field(min_length=1)
    priority: Count = Field(default=0, ge=-1000, le=1000)
    cost_per_hour: float = Field(default=0.0, ge=0)

    @model_validator(mode="after")
    def _some_headcount(self) -> Pool:
        if self.agents is None and self.schedule is None and self.shifts is None:
            raise ValueError("give the headcount: 'agents', a per-interval 'schedule' and/or 'shifts'")
        return self

    def skill(self, step: str) -> Skill:
        s = self.skills[step]
        return s if isinstance(s, Skill) else Skill(proficiency=s)


class Step(Strict):
    """One step of the service blueprint.

    ``stage: front`` — the customer is present and waits (may abandon); ``back`` — the customer is
    gone and a work item waits. ``next`` is the routing: a step name, ``exit``, or a mapping of
    step names (or ``exit``) to probabilities summing to 1 (loops allowed: rework).
    """

    stage: Literal["front", "back"] = "front"
    handle_time: Distribution
    next: Name | dict[Name, Share] = EXIT

    def routing(self) -> dict[str, float]:
        return {self.next: 1.0} if isinstance(self.next, str) else dict(self.next)


class ServiceLevelTarget(Strict):
    """Service level: share of contacts answered within ``threshold``; ``goal`` is the target share."""

    threshold: Duration = 20.0
    goal: Share = 0.8


class Targets(Strict):
    service_level: ServiceLevelTarget = ServiceLevelTarget()
    abandonment_max: Share = 0.05


class Limits(Strict):
    """Guards against runs that would not end: at most ``max_in_system`` contacts present at once
    (waiting or in service); reaching it stops the replication and marks it unstable. At most
    ``max_contacts`` arrivals per replication (records cost memory: about 100 bytes a contact);
    a scenario expecting more is refused, a run exceeding it is stopped."""

    max_in_system: Count = Field(default=100_000, ge=1, le=50_000_000)
    max_contacts: Count = Field(default=20_000_000, ge=1, le=200_000_000)


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
    economics: Economics = Economics()
    limits: Limits = Limits()
