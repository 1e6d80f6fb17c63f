"""Rules that relate the parts of a scenario to each other.

Each rule returns :class:`Issue` records that carry the exact path of the offending value, so the
loader can point at its line. Field-level rules (types, ranges, units) are in the schema.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from servsim.scenario.errors import closest
from servsim.scenario.schema import EXIT, KIND_FIELDS, Scenario
from servsim.units import DAY, format_clock as _clock, format_duration

SUM_TOLERANCE = 1e-6
#: Most reporting intervals over the whole horizon (each has rows in the interval tables).
MAX_INTERVALS = 200_000
#: Most headcount changes over the whole horizon, all pools together (each is an event of the run,
#: scheduled in advance: about 250 bytes): staggered breaks make one per break slot per day.
MAX_STAFFING_CHANGES = 2_000_000

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Issue:
    """A broken rule: where (path into the file), what, and what would be valid."""

    path: Path
    message: str
    hint: str = ""


def _did_you_mean(name: str, valid: Iterable[str]) -> str:
    valid = list(valid)
    guess = closest(name, valid)
    listing = ", ".join(valid)
    return (f"did you mean {guess!r}? " if guess else "") + f"valid names: {listing}"


def _sums_to_one(values: Iterable[float]) -> bool:
    return abs(math.fsum(values) - 1.0) <= SUM_TOLERANCE


def check_scenario(s: Scenario) -> list[Issue]:
    """All cross-reference problems of a validated scenario (empty list when it is consistent);
    then, for a consistent one, what a run would exceed of its ``limits`` (:mod:`servsim.bounds`)."""
    issues = [*_horizon(s), *_channels(s), *_volume(s), *_segments(s), *_pools(s), *_steps(s), *_distributions(s),
              *_routing(s), *_economics(s)]
    if not issues:
        issues = list(_staffing_changes(s))
    if issues:
        return issues
    # imported here: the engine's plan imports this package
    from servsim.bounds import bound_issues
    from servsim.engine.plan import compile_plan

    return bound_issues(compile_plan(s))


def _routing(s: Scenario) -> Iterator[Issue]:
    """``longest_idle`` compares the idle times of individual agents: the pools it chooses among
    (those sharing a step with another pool) must hold one contact per agent."""
    if s.routing.idle_pools != "longest_idle":
        return
    for name in sorted(shared_pools(s)):
        pool = s.pools[name]
        if pool.concurrency > 1:
            yield Issue(("routing", "idle_pools"), f"longest_idle needs agents holding one contact at a time; pool "
                        f"{name!r} shares a step with another pool and has concurrency {pool.concurrency}",
                        "use idle_pools: priority or random, or set that pool's concurrency: 1")
            return


def shared_pools(s: Scenario) -> set[str]:
    """Agents pools skilled for a step that another pool is skilled for too (those a routing policy
    among idle pools chooses between)."""
    by_step: dict[str, list[str]] = {}
    for name, pool in s.pools.items():
        if pool.kind == "agents":
            for step in pool.skills:
                by_step.setdefault(step, []).append(name)
    return {name for names in by_step.values() if len(names) > 1 for name in names}


def _economics(s: Scenario) -> Iterator[Issue]:
    for field in ("channel_weight", "curves"):
        for ch in getattr(s.economics.satisfaction, field):
            if ch not in s.channels:
                yield Issue(("economics", "satisfaction", field, ch), f"channel {ch!r} does not exist",
                            _did_you_mean(ch, s.channels))


def _distributions(s: Scenario) -> Iterator[Issue]:
    """Distributions whose moments overflow (e.g. lognormal sigma 1000) cannot be simulated."""
    found: list[tuple[Path, object]] = [(("channels", n, "patience"), ch.patience) for n, ch in s.channels.items()]
    found += [(("segments", n, "patience"), seg.patience) for n, seg in s.segments.items()]
    found += [(("steps", n, "handle_time"), st.handle_time) for n, st in s.steps.items()]
    found += [(("steps", n, "wrap_up"), st.wrap_up) for n, st in s.steps.items() if st.wrap_up is not None]
    found += [(("steps", n, "automation", "handle_time"), st.automation.handle_time)
              for n, st in s.steps.items() if st.automation is not None]
    found += [(("steps", n, "outsource", "handle_time"), st.outsource.handle_time)
              for n, st in s.steps.items() if st.outsource is not None]
    for n, ch in s.channels.items():
        for part in ("retrial", "repeats"):
            if getattr(ch, part) is not None:
                found.append((("channels", n, part, "delay"), getattr(ch, part).delay))
    for path, dist in found:
        problem = dist.moments_problem() if dist is not None else ""  # type: ignore[attr-defined]
        if problem:
            yield Issue(path, problem, "use a smaller mean, cv or sigma")


def _horizon(s: Scenario) -> Iterator[Issue]:
    h = s.horizon
    if h.end <= h.start:
        yield Issue(("horizon", "end"), "the daily window must end after it starts",
                    "e.g. start: '08:00', end: '20:00' (use '24:00' for midnight, '26:00' for a day open "
                    "until 02:00 the next morning)")
        return
    if h.window_s > DAY:
        yield Issue(("horizon", "end"), f"the daily window {_clock(h.start)}–{_clock(h.end)} is longer than 24 hours",
                    "a day past midnight ends at most 24 hours after it starts, e.g. start: '18:00', end: '26:00'")
        return
    n = h.window_s / h.interval
    if abs(n - round(n)) > 1e-9 or round(n) < 1:
        divisors = [m for m in (5, 10, 15, 20, 30, 60, 120) if (h.window_s / 60) % m == 0]
        yield Issue(("horizon", "interval"),
                    f"interval {format_duration(h.interval)} does not divide the daily window of "
                    f"{format_duration(h.window_s)}",
                    "use one of " + ", ".join(f"{m}min" for m in divisors) if divisors else "")
    elif h.days * round(n) > MAX_INTERVALS:
        yield Issue(("horizon", "interval"),
                    f"{h.days} days of {round(n)} intervals is more than {MAX_INTERVALS:,} reporting intervals",
                    "use a longer interval or fewer days")
    if h.warmup >= h.length_s:
        yield Issue(("horizon", "warmup"), "the warm-up is as long as the whole horizon",
                    f"use less than {format_duration(h.length_s)}")


def _intervals(s: Scenario) -> int:
    return max(1, s.horizon.intervals_per_day)


def _channels(s: Scenario) -> Iterator[Issue]:
    k = _intervals(s)
    for name, ch in s.channels.items():
        base: Path = ("channels", name)
        if ch.kind == "email":
            for f in ("patience", "retrial", "balking", "callback"):
                if getattr(ch, f) is not None:
                    yield Issue((*base, f), f"an email channel is asynchronous: it has no {f!r}",
                                "remove it, or use kind: chat or voice")
            if ch.patience_per != "visit":
                yield Issue((*base, "patience_per"), "an email channel is asynchronous: it has no patience",
                            "remove it, or use kind: chat or voice")
        if ch.entry not in s.steps:
            yield Issue((*base, "entry"), f"step {ch.entry!r} does not exist", _did_you_mean(ch.entry, s.steps))
        elif ch.callback is not None and ch.kind != "email":
            yield from _callback(s, name, ch.entry)
        a = ch.arrivals
        for field, values in (("rates", a.rates), ("shares", a.shares)):
            if values is not None and len(values) != k:
                yield Issue((*base, "arrivals", field), f"{len(values)} values for {k} intervals a day",
                            f"give one value per {format_duration(s.horizon.interval)} interval "
                            f"from {_clock(s.horizon.start)} to {_clock(s.horizon.end)}")
        if a.shares is not None and not _sums_to_one(a.shares):
            yield Issue((*base, "arrivals", "shares"), f"shares sum to {math.fsum(a.shares):.6g}, not 1",
                        "intraday shares are fractions of the daily volume")
        if a.busyness is not None and a.trace is not None:
            yield Issue((*base, "arrivals", "busyness"), "a replayed trace has no rate to make uncertain",
                        "remove 'busyness', or give a 'rate', 'rates' or 'daily_volume'")
        if ch.patience_factors is not None:
            if len(ch.patience_factors) != k:
                yield Issue((*base, "patience_factors"), f"{len(ch.patience_factors)} factors for {k} intervals a day",
                            f"give one factor per {format_duration(s.horizon.interval)} interval "
                            f"from {_clock(s.horizon.start)} to {_clock(s.horizon.end)}")
            if ch.kind == "email":
                yield Issue((*base, "patience_factors"), "an email channel never abandons: it has no patience to scale",
                            "remove it, or use kind: chat or voice")
        if a.day_factors is not None and len(a.day_factors) != s.horizon.days:
            yield Issue((*base, "arrivals", "day_factors"),
                        f"{len(a.day_factors)} factors for {s.horizon.days} days", "give one factor per day")
        if ch.segments is not None:
            for seg in ch.segments:
                if seg not in s.segments:
                    yield Issue((*base, "segments", seg), f"segment {seg!r} does not exist",
                                _did_you_mean(seg, s.segments))
            if not _sums_to_one(ch.segments.values()):
                yield Issue((*base, "segments"), f"segment shares sum to {math.fsum(ch.segments.values()):.6g}, not 1")
        if isinstance(ch.lines, str) and ch.lines not in s.trunks:
            yield Issue((*base, "lines"), f"trunk {ch.lines!r} does not exist",
                        "give a number of lines (≥ 1) or the name of a 'trunks' entry"
                        + (f"; {_did_you_mean(ch.lines, s.trunks)}" if s.trunks else ": there are no 'trunks'"))


def _callback(s: Scenario, channel: str, entry: str) -> Iterator[Issue]:
    """A callback is made by the entry step's people to a caller waiting there (front stage)."""
    st = s.steps[entry]
    path: Path = ("channels", channel, "callback")
    if st.stage != "front":
        yield Issue(path, f"entry step {entry!r} is back stage: no caller waits there to be called back",
                    "offer callbacks at a front-stage entry step, or remove 'callback'")
    elif not st.people:
        yield Issue(path, f"bots take all of entry step {entry!r}: no agent makes the call back",
                    "lower its automation level below 1, or remove 'callback'")


def _volume(s: Scenario) -> Iterator[Issue]:
    """Expected arrivals of all channels together (before retrials and repeats, which
    :mod:`servsim.bounds` adds) within ``limits.max_contacts``."""
    volumes = {name: _expected_volume(s, ch.arrivals) for name, ch in s.channels.items()}
    total = math.fsum(volumes.values())
    if total > s.limits.max_contacts:
        largest = max(volumes, key=volumes.__getitem__)
        several = f" ({count_text(volumes[largest])} on channel {largest!r})" if len(volumes) > 1 else ""
        yield Issue(("channels", largest, "arrivals"),
                    f"about {count_text(total)} arrivals expected over the horizon, all channels together{several}, "
                    f"more than limits.max_contacts = {s.limits.max_contacts:,}",
                    "shorten the horizon, lower the volume, or raise limits.max_contacts if memory allows: "
                    "about 600 bytes a contact with the per-contact log")


def _expected_volume(s: Scenario, a) -> float:  # noqa: ANN001 - an Arrivals model
    """Expected arrivals of one channel over the horizon (before day factors of zero are dropped)."""
    h = s.horizon
    days = math.fsum(a.day_factors) if a.day_factors is not None else h.days
    if a.rate is not None:
        return a.rate * h.window_s * days
    if a.rates is not None:
        return math.fsum(a.rates) * h.interval * days
    if a.daily_volume is not None:
        return a.daily_volume * days
    return float(len(a.trace.times)) if a.trace is not None else 0.0


def _segments(s: Scenario) -> Iterator[Issue]:
    shares = [seg.share for seg in s.segments.values()]
    if not _sums_to_one(shares):
        yield Issue(("segments",), f"segment shares sum to {math.fsum(shares):.6g}, not 1",
                    "each segment's share is its fraction of arrivals")


def _pools(s: Scenario) -> Iterator[Issue]:
    k = _intervals(s)
    for name, pool in s.pools.items():
        base: Path = ("pools", name)
        for kind, fields in KIND_FIELDS.items():
            for f in fields:
                if kind != pool.kind and f in pool.model_fields_set:
                    yield Issue((*base, f), f"{f!r} only applies to pools of kind {kind!r}; this pool is {pool.kind!r}",
                                f"remove it, or set kind: {kind}")
        if pool.agent_proficiency is not None and pool.agent_proficiencies is not None:
            yield Issue((*base, "agent_proficiencies"), "'agent_proficiency' and 'agent_proficiencies' given",
                        "give one: 'agent_proficiency' (drawn per agent) or 'agent_proficiencies' (a list), not both")
        elif pool.individual and pool.concurrency > 1:
            f = "agent_proficiency" if pool.agent_proficiency is not None else "agent_proficiencies"
            yield Issue((*base, f), "individual agents hold one contact at a time; this pool has "
                        f"concurrency {pool.concurrency}", f"remove '{f}', or set concurrency: 1")
        if pool.kind == "agents" and pool.unlimited:
            for f in ("schedule", "shifts", "shrinkage", "agent_proficiency", "agent_proficiencies"):
                if f in pool.model_fields_set:
                    yield Issue((*base, f), f"an 'unlimited' agents pool is on duty all the time: it has no {f!r}",
                                f"remove {f!r}, or give 'agents' a number")
        for step in pool.skills:
            if step not in s.steps:
                yield Issue((*base, "skills", step), f"step {step!r} does not exist", _did_you_mean(step, s.steps))
            else:
                yield from _interruptible(s, name, step)
        if pool.schedule is not None and len(pool.schedule) != k:
            yield Issue((*base, "schedule"), f"{len(pool.schedule)} headcounts for {k} intervals a day",
                        f"give one headcount per {format_duration(s.horizon.interval)} interval")
        for i, shift in enumerate(pool.shifts or ()):
            if shift.start < s.horizon.start or shift.end > s.horizon.end:
                yield Issue((*base, "shifts", i), "the shift lies outside the daily window",
                            f"shifts must fit in {_clock(s.horizon.start)}–{_clock(s.horizon.end)}")


def _interruptible(s: Scenario, pool: str, step: str) -> Iterator[Issue]:
    """An interruptible skill is back-stage work of a one-contact-at-a-time agents pool."""
    p = s.pools[pool]
    if p.skill(step).interruptible is None:
        return
    path: Path = ("pools", pool, "skills", step, "interruptible")
    if s.steps[step].stage != "back":
        yield Issue(path, f"step {step!r} is front stage: a customer waiting in person cannot be set aside",
                    "interruptible is for back-stage work (stage: back), which front-stage arrivals preempt")
    elif p.concurrency > 1:
        yield Issue(path, f"pool {pool!r} holds {p.concurrency} contacts at once (concurrency): preemption "
                          "takes a whole agent", "remove interruptible, or use concurrency: 1")


def _staffing_changes(s: Scenario) -> Iterator[Issue]:
    """The staffing timeline stays within :data:`MAX_STAFFING_CHANGES`: one day's changes of each
    pool, times the days, counted before the timeline of the horizon is built."""
    from servsim.engine.plan import break_pieces, day_changes   # the plan module imports this package

    h = s.horizon
    per_day: dict[str, int] = {}
    for name, pool in s.pools.items():
        if pool.kind != "agents" or pool.unlimited:
            continue
        # change points of a day: interval starts and the day's end, shift starts and ends, and the
        # slot boundaries of each break (its slots are contiguous: one more boundary than slots)
        points = h.intervals_per_day + 1 + sum(2 + break_pieces(sh) + len(sh.breaks) for sh in pool.shifts or ())
        per_day[name] = points if points > MAX_STAFFING_CHANGES else day_changes(h, pool)
    total = h.days * sum(per_day.values())
    if total > MAX_STAFFING_CHANGES:
        name = max(per_day, key=per_day.__getitem__)
        yield Issue(("pools", name, "shifts"),
                    f"about {count_text(total)} headcount changes over {h.days} days (break slots, shifts and "
                    f"intervals of all pools), more than {MAX_STAFFING_CHANGES:,}",
                    "use longer breaks or shorter break windows (fewer slots), or fewer days")


def _pool_of_kind(s: Scenario, path: Path, name: str, kind: str) -> Iterator[Issue]:
    """The pool ``name`` (referred to at ``path``) must exist and be of ``kind``."""
    of_kind = [n for n, p in s.pools.items() if p.kind == kind]
    if name not in s.pools:
        yield Issue(path, f"pool {name!r} does not exist",
                    _did_you_mean(name, of_kind) if of_kind else f"add a pool with kind: {kind}")
    elif s.pools[name].kind != kind:
        yield Issue(path, f"pool {name!r} is of kind {s.pools[name].kind!r}, not {kind!r}",
                    f"{kind} pools: {', '.join(of_kind)}" if of_kind else f"add a pool with kind: {kind}")


def _rules(s: Scenario, name: str, step) -> Iterator[Issue]:  # noqa: ANN001 - a schema Step
    """A step's automation and outsourcing refer to bots, vendors, steps and segments that exist."""
    base: Path = ("steps", name)
    a = step.automation
    if a is not None:
        yield from _pool_of_kind(s, (*base, "automation", "bots"), a.bots, "bots")
        if a.exceptions_to is not None and a.exceptions_to not in s.steps:
            yield Issue((*base, "automation", "exceptions_to"), f"step {a.exceptions_to!r} does not exist",
                        _did_you_mean(a.exceptions_to, s.steps))
    o = step.outsource
    if o is not None:
        yield from _pool_of_kind(s, (*base, "outsource", "to"), o.to, "vendor")
        if step.handle_time is None and o.handle_time is None:
            yield Issue((*base, "outsource"), "a vendor works with the step's 'handle_time', which is not given",
                        "give the step a handle_time (the vendor's handle_time_factor scales it), or the "
                        "rule its own handle_time")
        if o.next is not None:
            targets = {o.next: 1.0} if isinstance(o.next, str) else o.next
            for t in targets:
                if t not in s.steps and t != EXIT:
                    yield Issue((*base, "outsource", "next"), f"{t!r} is neither a step nor 'exit'",
                                _did_you_mean(t, [*s.steps, EXIT]))
            if not _sums_to_one(targets.values()):
                yield Issue((*base, "outsource", "next"),
                            f"routing probabilities sum to {math.fsum(targets.values()):.6g}, not 1")
        for i, g in enumerate(o.segments or ()):
            if g not in s.segments:
                yield Issue((*base, "outsource", "segments", i), f"segment {g!r} does not exist",
                            _did_you_mean(g, s.segments))


def _steps(s: Scenario) -> Iterator[Issue]:
    served = {step for pool in s.pools.values() for step in pool.skills}
    valid_next = [*s.steps, EXIT]
    for name, step in s.steps.items():
        base: Path = ("steps", name)
        if name == EXIT:
            yield Issue(base, f"{EXIT!r} is reserved for leaving the process", "rename the step")
        yield from _rules(s, name, step)
        if step.wrap_up is not None and not step.people:
            yield Issue((*base, "wrap_up"), f"bots do all the work of step {name!r}: no agent wraps up after it",
                        "remove wrap_up, or let people work part of the step")
        k = _intervals(s)
        if step.handle_time_factors is not None and len(step.handle_time_factors) != k:
            yield Issue((*base, "handle_time_factors"), f"{len(step.handle_time_factors)} factors for {k} intervals a day",
                        f"give one factor per {format_duration(s.horizon.interval)} interval "
                        f"from {_clock(s.horizon.start)} to {_clock(s.horizon.end)}")
        if step.people and name not in served:
            yield Issue(base, f"no pool serves step {name!r}",
                        f"add '{name}' to the skills of a pool ({', '.join(s.pools)})")
        routing = step.routing()
        for target in routing:
            if target not in valid_next:
                path = (*base, "next") if isinstance(step.next, str) else (*base, "next", target)
                yield Issue(path, f"{target!r} is neither a step nor 'exit'", _did_you_mean(target, valid_next))
        if not _sums_to_one(routing.values()):
            yield Issue((*base, "next"), f"routing probabilities sum to {math.fsum(routing.values()):.6g}, not 1",
                        "the probabilities of the next steps (and 'exit') must add up to 1")
    yield from _exit_reachable(s)


def _exit_reachable(s: Scenario) -> Iterator[Issue]:
    """Every step must be able to reach 'exit', or contacts would loop forever."""
    can_exit = {EXIT}
    changed = True
    while changed:
        changed = False
        for name, step in s.steps.items():
            if name not in can_exit and any(p > 0 and t in can_exit for t, p in step.routing().items()):
                can_exit.add(name)
                changed = True
    for name in s.steps:
        if name not in can_exit and all(t in s.steps or t == EXIT for t in s.steps[name].routing()):
            yield Issue(("steps", name, "next"), f"contacts at step {name!r} can never leave the process",
                        "give some path from this step a probability to 'exit'")



def count_text(x: float) -> str:
    """A large count for people: 12,345,678 up to a billion, 1.2e+15 beyond."""
    if x != x or x == math.inf:
        return "infinitely many"
    return f"{x:,.0f}" if x < 1e9 else f"{x:.3g}"
