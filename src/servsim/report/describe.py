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


def _work(st: object) -> str:
    """Who does a step and how long it takes: people's handle time, bots' share and time, a vendor's share."""
    parts = []
    handle = getattr(st, "handle_time", None)
    if handle is not None:
        parts.append(f"handle time {_dist(handle)}")
    auto = getattr(st, "automation", None)
    if auto is not None:
        text = f"bots '{auto.bots}' take {fmt.value(auto.level, 'share')} ({_dist(auto.handle_time)})"
        if auto.exceptions_to:
            text += f", exceptions {fmt.value(auto.exceptions, 'share')} to '{auto.exceptions_to}'"
        parts.append(text)
    out = getattr(st, "outsource", None)
    if out is not None:
        parts.append(f"vendor '{out.to}'" + (f" takes {fmt.value(out.share, 'share')}" if out.share else " on overflow"))
    return escape("; ".join(parts) or "no handle time")


def _bot_and_vendor_steps(s: Scenario) -> dict[str, list[str]]:
    """Pool name → the steps its bots automate or its vendor takes (such pools have no skills)."""
    out: dict[str, list[str]] = {}
    for name, st in s.steps.items():
        for part, key in (("automation", "bots"), ("outsource", "to")):
            owner = getattr(getattr(st, part, None), key, None)
            if owner is not None:
                out.setdefault(str(owner), []).append(name)
    return out


def describe_scenario(s: Scenario) -> str:
    h = s.horizon
    lines = [f"[bold]{escape(s.name)}[/]"]
    if s.description:
        lines.append(escape(_clipped(s.description)))
    lines.append(
        f"horizon: {h.days} day(s), {format_clock(h.start)}–{format_clock(h.end)}, "
        f"{h.intervals_per_day} intervals of {format_duration(h.interval)}, warm-up {format_duration(h.warmup)}"
        + (f", closing: {h.closing}" if h.closing != "carry_over" else "")
    )
    plan = compile_plan(s)
    volumes = expected_arrivals(plan)
    lines.append("channels:")
    for (name, ch), vol in zip(s.channels.items(), volumes):
        lines.append(f"  {escape(name)} ({ch.kind}): ~{fmt.value(round(vol), 'count')} contacts over the horizon, "
                     f"enters at '{escape(ch.entry)}', patience: {_dist(ch.patience)}"
                     + (f", busyness cv {ch.arrivals.busyness.cv:g} per {ch.arrivals.busyness.per}"
                        if ch.arrivals.busyness is not None and ch.arrivals.busyness.cv > 0 else ""))
    if len(s.segments) > 1:
        lines.append("segments: " + ", ".join(
            f"{escape(n)} ({fmt.value(seg.share, 'share')}, priority {seg.priority})" for n, seg in s.segments.items()))
    lines.append("pools:")
    served_by = _bot_and_vendor_steps(s)
    for name, pool in s.pools.items():
        parts = []
        if pool.agents is not None:
            parts.append(f"{pool.agents} agents")
        if pool.schedule is not None:
            parts.append(f"schedule {min(pool.schedule)}–{max(pool.schedule)} agents")
        if pool.shifts is not None:
            parts.append(f"{len(pool.shifts)} shift(s)")
        serves = list(pool.skills) or served_by.get(name, [])
        lines.append(f"  {escape(name)}: {', '.join(parts)}; serves {escape(', '.join(serves)) or 'nothing'}; "
                     f"priority {pool.priority}")
    lines.append("steps:")
    for name, st in s.steps.items():
        nxt = ", ".join(f"{escape(t)} {fmt.value(p, 'share')}" for t, p in st.routing().items())
        lines.append(f"  {escape(name)} ({st.stage} stage): {_work(st)}; then {nxt}")
    load = offered_load(plan)
    colour = "red" if load.unstable else "yellow" if load.held else ""
    lines.append(f"[{colour}]{escape(load.describe())}[/]" if colour else escape(load.describe()))
    return "\n".join(lines)


def _load_line(s: Scenario) -> str:
    """The scenario's load check, coloured as ``describe_scenario`` colours it."""
    load = offered_load(compile_plan(s))
    colour = "red" if load.unstable else "yellow" if load.held else ""
    return f"[{colour}]{escape(load.describe())}[/]" if colour else escape(load.describe())


def _change_kinds(changes: list[object]) -> str:
    kinds = [next(k for k in ("set", "scale", "add_agents", "add_vendor", "automate", "patch")
                  if getattr(c, k) is not None) for c in changes]
    return ", ".join(kinds) if kinds else "no change (the base scenario)"


def _study_lines(spec: object, base_name: str) -> list[str]:
    """What an experiment and a sweep file both say: name, description, base, metrics."""
    lines = [f"[bold]{escape(getattr(spec, 'name'))}[/]"]
    if getattr(spec, "description"):
        lines.append(escape(_clipped(getattr(spec, "description"))))
    lines.append(f"base scenario: {escape(getattr(spec, 'base'))} ({escape(base_name)})")
    lines.append("metrics: " + escape(", ".join(getattr(spec, "metrics"))))
    return lines


def describe_experiment(exp: object) -> str:
    """An experiment file in plain words (``servsim validate``): its base, each option's changes and
    load, replications, metrics and objective. ``exp``: a :class:`servsim.experiments.spec.Experiment`."""
    spec, scenarios = getattr(exp, "spec"), getattr(exp, "scenarios")
    base = scenarios[getattr(exp, "baseline")]
    lines = _study_lines(spec, base.name)
    n = len(scenarios)
    lines.append(f"{n} option(s) × {spec.replications} replication(s) = {n * spec.replications:,} tasks, seed "
                 f"{spec.seed}; the options share each replication's random numbers")
    lines.append(f"options (baseline '{escape(getattr(exp, 'baseline'))}'):")
    for name, changes in spec.options.items():
        lines.append(f"  {escape(name)}: {escape(_change_kinds(changes))}; {_load_line(scenarios[name])}")
    if spec.objective is not None:
        goal = f"{'minimize' if spec.objective.minimize else 'maximize'} {spec.objective.metric}"
        subject = ", ".join(spec.objective.constraints)
        lines.append("objective: " + escape(goal + (f" subject to {subject}" if subject else "")))
    return "\n".join(lines)


def describe_sweep(sw: object) -> str:
    """A sweep file in plain words (``servsim validate``): its base, design, parameters and size.
    ``sw``: a :class:`servsim.experiments.sweep.Sweep`."""
    spec, scenarios = getattr(sw, "spec"), getattr(sw, "scenarios")
    lines = _study_lines(spec, scenarios[0].name if scenarios else "")
    design = spec.sweep
    cells = len(scenarios)
    lines.append(f"design: {'Latin hypercube' if design.design == 'lhs' else 'grid'}, {cells:,} cell(s) × "
                 f"{spec.replications} replication(s) = {cells * spec.replications:,} tasks, seed {spec.seed}")
    lines.append("parameters:")
    for path, values in design.parameters.items():
        if isinstance(values, list):
            shown = ", ".join(str(v) for v in values[:8]) + (f", … ({len(values)} values)" if len(values) > 8 else "")
        else:
            shown = f"{values.low} to {values.high}"
        lines.append(f"  {escape(path)}: {escape(_clipped(shown, 200))}")
    if design.stop is not None:
        stop = design.stop
        lines.append(escape(f"stop: more replications where the {stop.level:.0%} CI of {stop.metric} is wider "
                            f"than {stop.rel_precision:.0%} of its mean, up to {stop.max_replications}"))
    return "\n".join(lines)
