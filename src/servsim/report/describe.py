"""A plain-language description of a scenario (``servsim validate``): durations as a scenario file
writes them (``format_duration``), volumes and shares through :mod:`servsim.report.format`."""

from __future__ import annotations

from rich.markup import escape

from servsim.capacity import expected_arrivals, offered_load
from servsim.engine import compile_plan
from servsim.report import format as fmt
from servsim.scenario import Scenario
from servsim.units import format_clock, format_duration


#: Characters of a scenario's description that ``validate`` shows: rich wraps a long unbroken word in
#: time that grows with the square of its length, and a screenful is all a reader wants anyway.
DESCRIPTION_SHOWN = 400


def _clipped(text: str, limit: int = DESCRIPTION_SHOWN) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + f"… ({len(text) - limit:,} more characters)"


def _dist(d: object) -> str:
    if d is None:
        return "never abandons"
    mean = getattr(d, "mean_s")
    cv = d.scv ** 0.5  # type: ignore[attr-defined]
    return f"{getattr(d, 'dist')} (mean {format_duration(round(mean, 1))}, cv {cv:.2f})"


def describe_scenario(s: Scenario) -> str:
    h = s.horizon
    lines = [f"[bold]{escape(s.name)}[/]"]
    if s.description:
        lines.append(escape(_clipped(s.description)))
    lines.append(
        f"horizon: {h.days} day(s), {format_clock(h.start)}–{format_clock(h.end)}, "
        f"{h.intervals_per_day} intervals of {format_duration(h.interval)}, warm-up {format_duration(h.warmup)}"
    )
    plan = compile_plan(s)
    volumes = expected_arrivals(plan)
    lines.append("channels:")
    for (name, ch), vol in zip(s.channels.items(), volumes):
        lines.append(f"  {escape(name)} ({ch.kind}): ~{fmt.value(round(vol), 'count')} contacts over the horizon, "
                     f"enters at '{escape(ch.entry)}', patience: {_dist(ch.patience)}")
    if len(s.segments) > 1:
        lines.append("segments: " + ", ".join(
            f"{escape(n)} ({fmt.value(seg.share, 'share')}, priority {seg.priority})" for n, seg in s.segments.items()))
    lines.append("pools:")
    for name, pool in s.pools.items():
        parts = []
        if pool.agents is not None:
            parts.append(f"{pool.agents} agents")
        if pool.schedule is not None:
            parts.append(f"schedule {min(pool.schedule)}–{max(pool.schedule)} agents")
        if pool.shifts is not None:
            parts.append(f"{len(pool.shifts)} shift(s)")
        lines.append(f"  {escape(name)}: {', '.join(parts)}; serves {escape(', '.join(pool.skills))}; priority {pool.priority}")
    lines.append("steps:")
    for name, st in s.steps.items():
        nxt = ", ".join(f"{escape(t)} {fmt.value(p, 'share')}" for t, p in st.routing().items())
        lines.append(f"  {escape(name)} ({st.stage} stage): handle time {_dist(st.handle_time)}; then {nxt}")
    load = offered_load(plan)
    colour = "red" if load.unstable else "yellow" if load.held else ""
    lines.append(f"[{colour}]{escape(load.describe())}[/]" if colour else escape(load.describe()))
    return "\n".join(lines)
