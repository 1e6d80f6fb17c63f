"""What the what-if app lets a user change in a scenario, and the scenario each setting gives.

A *lever* is one number a slider moves: a pool's headcount, a channel's arrival rate, a step's
mean handle time, a channel's or segment's mean patience. Each maps to one change of an experiment
file (``set`` a value by its path, or ``scale`` it), so a setting of the app is the same thing as
an option of ``servsim compare`` and is applied by the same code (:func:`servsim.with_changes`).

What a scenario gets depends on how it was written: a constant ``agents`` or ``rate`` is set to
the slider's value; a staffing ``schedule`` or an arrival profile (``rates``, ``daily_volume``) is
scaled by a percentage of itself; a distribution given by its ``mean`` has that mean set. Pools
staffed by ``shifts``, arrival traces and distributions without a ``mean`` get no lever.

Plain data only (no Shiny here), so the levers and the runs can be tested without a browser.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from servsim.report.format import duration_unit
from servsim.scenario import Scenario
from servsim.scenario.yamlio import load_yaml

#: How a lever's slider value becomes a change: a whole number, a rate, a duration, a percentage.
LeverKind = Literal["count", "rate", "duration", "percent"]

#: Seconds per duration unit of a slider (the formatter's units).
_PER_UNIT = {"s": 1.0, "min": 60.0, "h": 3600.0}


@dataclass(frozen=True)
class Lever:
    """One slider: ``path`` in the scenario, the ``change`` applied there, its range in ``unit``.

    ``default`` is the scenario's own value (100 for a percentage), so the app opens on the
    scenario as written."""

    id: str
    label: str
    kind: LeverKind
    path: str
    unit: str
    default: float
    min: float
    max: float
    step: float

    def change(self, value: float) -> dict[str, Any]:
        """The experiment change (as in an experiment file) that sets this lever to ``value``."""
        if self.kind == "percent":
            return {"scale": {"path": self.path, "factor": value / 100}}
        if self.kind == "count":
            return {"set": {"path": self.path, "value": int(round(value))}}
        return {"set": {"path": self.path, "value": f"{_plain(value)}{self.unit}"}}  # "9.5/min", "75s"


@dataclass(frozen=True)
class Settings:
    """One what-if: a value per lever (by id, in lever order), replications and the root seed.
    Hashable, so it keys the run cache."""

    values: tuple[tuple[str, float], ...]
    replications: int = 10
    seed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {**dict(self.values), "replications": self.replications, "seed": self.seed}


def _plain(x: float) -> str:
    """A slider value as a person writes it in YAML: 12, 9.5, 0.25 (no float noise)."""
    return f"{round(float(x), 6):g}"


def _nice_step(x: float) -> float:
    """A slider step about a twentieth to a hundredth of ``x``: 1, 2 or 5 times a power of ten."""
    if not x > 0:
        return 1.0
    raw = x / 50
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * power:
            return m * power
    return 10 * power  # pragma: no cover - the loop always returns


def _on_grid(x: float, step: float) -> bool:
    n = x / step
    return abs(n - round(n)) < 1e-9 * max(1.0, abs(n))


def _grid_step(x: float) -> float | None:
    """A step for a slider starting at ``x`` that has ``x`` on its grid (a slider snaps its value to
    the grid, and a snapped default would be a change the user never made); None if no fine step does."""
    step = _nice_step(x)
    for candidate in (step, step / 2, step / 5, step / 10):
        if _on_grid(x, candidate):
            return round(candidate, 12)
    return None


def _span(default: float, step: float, low: float = 0.25, high: float = 3.0) -> tuple[float, float]:
    """A slider range around ``default``: ``low`` to ``high`` times it, on the step grid."""
    lo = max(step, math.floor(default * low / step) * step)
    hi = math.ceil(default * high / step) * step
    return round(lo, 10), round(hi, 10)


def _duration_lever(id_: str, label: str, path: str, mean_s: float) -> Lever | None:
    """A mean duration's slider in the unit the formatter would show it in, or a smaller one when
    that puts the value on the slider's grid (140 s, not 2.33 min); None when no unit does."""
    units = list(_PER_UNIT)
    for unit in reversed(units[:units.index(duration_unit(mean_s)) + 1]):
        shown = round(mean_s / _PER_UNIT[unit], 9)
        step = _grid_step(shown)
        if step is not None:
            lo, hi = _span(shown, step)
            return Lever(id_, f"{label} ({unit})", "duration", path, unit, shown, lo, hi, step)
    return None


def _percent_lever(id_: str, label: str, path: str) -> Lever:
    return Lever(id_, f"{label} (% of the scenario's)", "percent", path, "%", 100.0, 25.0, 300.0, 5.0)


def _mean_of(dist: object) -> float | None:
    """The ``mean`` a distribution was given by (seconds), or None when it was given otherwise."""
    mean = getattr(dist, "mean", None)
    return float(mean) if isinstance(mean, (int, float)) and mean > 0 else None


def levers(scenario: Scenario) -> list[Lever]:
    """The levers of ``scenario``, pools first, then channels, steps and patience (module docstring).

    Names of pools, channels and steps qualify the labels only when there are several of a kind."""
    out: list[Lever | None] = []
    people = {n: p for n, p in scenario.pools.items() if p.kind == "agents"}
    for name, pool in people.items():
        who = f"{name}: " if len(scenario.pools) > 1 else ""
        if isinstance(pool.agents, int) and not pool.schedule and not pool.shifts:
            c = pool.agents
            out.append(Lever(f"agents_{name}", f"{who}agents", "count", f"pools.{name}.agents", "agents",
                             c, 1, max(2 * c, c + 10), 1))
        elif pool.schedule:
            out.append(_percent_lever(f"staffing_{name}", f"{who}staffing", f"pools.{name}.schedule"))
    for name, ch in scenario.channels.items():
        who = f"{name}: " if len(scenario.channels) > 1 else ""
        arr = ch.arrivals
        if arr.rate is not None and arr.rate > 0:
            per_min = arr.rate * 60
            unit, shown = ("/min", round(per_min, 9)) if per_min >= 1 else ("/h", round(arr.rate * 3600, 9))
            step = _grid_step(shown)
            if step is None:
                continue
            lo, hi = _span(shown, step, high=2.0)
            out.append(Lever(f"rate_{name}", f"{who}arrival rate (per {unit[1:]})", "rate",
                             f"channels.{name}.arrivals.rate", unit, round(shown, 10), lo, hi, step))
        elif arr.rates is not None:
            out.append(_percent_lever(f"volume_{name}", f"{who}arrival volume", f"channels.{name}.arrivals.rates"))
        elif arr.daily_volume is not None:
            out.append(_percent_lever(f"volume_{name}", f"{who}arrival volume",
                                      f"channels.{name}.arrivals.daily_volume"))
    for name, step_ in scenario.steps.items():
        mean = _mean_of(step_.handle_time)
        if mean is not None:
            who = f"{name}: " if len(scenario.steps) > 1 else ""
            out.append(_duration_lever(f"handle_{name}", f"{who}mean handle time", f"steps.{name}.handle_time.mean",
                                       mean))
    segment_patience = any(_mean_of(seg.patience) is not None for seg in scenario.segments.values())
    for name, ch in scenario.channels.items():
        mean = _mean_of(ch.patience)
        if mean is not None:
            # named beside segments' patience levers, so that "mean patience" is not read as everyone's
            who = f"{name}: " if len(scenario.channels) > 1 or segment_patience else ""
            out.append(_duration_lever(f"patience_{name}", f"{who}mean patience", f"channels.{name}.patience.mean",
                                       mean))
    for name, seg in scenario.segments.items():
        mean = _mean_of(seg.patience)
        if mean is not None:
            out.append(_duration_lever(f"patience_seg_{name}", f"{name}: mean patience",
                                       f"segments.{name}.patience.mean", mean))
    return [lv for lv in out if lv is not None]


def defaults(levers_: list[Lever], replications: int = 10, seed: int = 0) -> Settings:
    """The settings that reproduce the scenario as written."""
    return Settings(tuple((lv.id, lv.default) for lv in levers_), replications, seed)


def changes(levers_: list[Lever], settings: Settings) -> list[dict[str, Any]]:
    """The experiment changes of ``settings``: one per lever moved away from the scenario's value."""
    values = dict(settings.values)
    return [lv.change(values[lv.id]) for lv in levers_ if lv.id in values and values[lv.id] != lv.default]


class Source:
    """A scenario file, read once, and the scenario of any setting of its levers."""

    def __init__(self, path: Path, scenario: Scenario) -> None:
        self.path = Path(path)
        self.scenario = scenario
        self.levers = levers(scenario)
        self._data: Mapping[str, Any] = load_yaml(self.path).data

    def scenario_for(self, settings: Settings) -> Scenario:
        """The scenario with ``settings`` applied (the scenario itself when no lever moved)."""
        from servsim.studies import with_changes

        moved = changes(self.levers, settings)
        if not moved:
            return self.scenario
        return with_changes(dict(self._data), moved, base_dir=self.path.resolve().parent)
