"""Lesson files: a scenario, the parameters a room may turn, and what the page says about them.

A lesson is to a trainer what an experiment file is to a planner: it names a scenario (a path
relative to the lesson file), the parameters to vary over a small grid, the KPIs to show, and the
words around them — the question to predict before the reveal, the formulas, and where the
textbook's assumptions end::

    title: The utilisation hockey stick
    scenario: scenarios/hockey.yaml
    question: At 9 calls a minute and 10 agents, how long does the average caller wait?
    kpis: [asa_s, service_level, p_wait, occupancy]
    replications: 20
    seed: 1
    parameters:
      - name: rate
        label: arrival rate
        path: channels.calls.arrivals.rate
        values: [5/min, 7/min, 8/min, 9/min, 9.5/min]
        start: 8/min
      - name: agents
        label: agents
        path: pools.agents.agents
        values: [10, 11]
    presets:
      - {label: "ρ = 0.9", values: {rate: 9/min, agents: 10}}
    replay: {start: "02:00", length: 30min}

A parameter changes the scenario *as data*, before validation, through the experiments' paths
(:mod:`servsim.experiments.paths`): ``path`` + ``values`` sets one field; ``set`` sets several
fields together (``{pools.agents.agents: [1, 2, 4], channels.calls.arrivals.rate: [1/min, 2/min,
4/min]}``: the i-th value of each, for pooling); ``scale`` multiplies fields by factors. Parameters
apply in order, after the lesson's own ``changes`` (the change kinds of experiment files). The
parameter ``path: replications`` is special: the cell shows the first N of the precomputed
replications (why one run lies).

Every complaint is located like a scenario's — ``lesson.yaml:12:9: parameters[1].path: ...
(did you mean ...?)`` — and raised as :class:`servsim.scenario.ScenarioError`; nothing in a bad
lesson file ends in a traceback.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from servsim.experiments.paths import PathError, canonical_path, scale_path, set_path
from servsim.experiments.spec import SCENARIO_FIELDS, Change, Located, apply_changes, validate_doc
from servsim.metrics.registry import REGISTRY, resolve
from servsim.report import format as fmt
from servsim.scenario import Scenario, ScenarioError, scenario_from_dict
from servsim.scenario.base import Clock, Duration, Strict
from servsim.scenario.errors import closest, quoted
from servsim.scenario.files import FilePolicy, FileRefused, policy_for
from servsim.scenario.loader import Roots
from servsim.scenario.yamlio import LocatedDoc, load_yaml

__all__ = ["Lesson", "LessonFile", "Parameter", "Kpi", "load_lesson", "lesson_from_dict", "REPLICATIONS"]

#: The parameter path that picks how many of the precomputed replications a cell shows.
REPLICATIONS = "replications"
#: Largest grid a page embeds, and most simulated replications in all (a page must stay small and
#: its generation take minutes, not hours).
MAX_CELLS = 200
MAX_RUNS = 10_000
_SLUG = re.compile(r"[^a-z0-9]+")


class Kpi(Strict):
    """A KPI card: a registry metric (``asa_s``) on the overall row, one channel's or one segment's;
    ``occupancy`` is per pool (default: the replayed step's first pool)."""

    metric: str
    channel: str = "all"
    segment: str = "all"
    pool: str | None = None
    label: str | None = None

    @property
    def key(self) -> str:
        """The card's key in the page's data: ``asa_s``, ``asa_s.segment.vip``, ``occupancy.pool.agents``."""
        if self.metric == "occupancy":
            return f"occupancy.pool.{self.pool}"
        if self.segment != "all":
            return f"{self.metric}.segment.{self.segment}"
        if self.channel != "all":
            return f"{self.metric}.channel.{self.channel}"
        return self.metric


class Parameter(Strict):
    """One slider: values to set (``path`` + ``values``, or ``set``), or factors to ``scale`` by."""

    name: str | None = Field(default=None, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1, max_length=80)
    path: str | None = None
    values: list[Any] | None = Field(default=None, min_length=1, max_length=40)
    set: dict[str, list[Any]] | None = Field(default=None, min_length=1)
    scale: dict[str, list[float]] | None = Field(default=None, min_length=1)
    labels: list[str] | None = None
    start: Any = None
    help: str = ""

    @model_validator(mode="after")
    def _one_form(self) -> Parameter:
        forms = [f for f in ("values", "set", "scale") if getattr(self, f) is not None]
        if len(forms) != 1:
            raise ValueError("give exactly one of 'path' with 'values', 'set' or 'scale'")
        if (self.path is None) != (self.values is None):
            raise ValueError("'path' and 'values' go together")
        n = self.size
        for what in ("set", "scale"):
            for p, vals in (getattr(self, what) or {}).items():
                if len(vals) != n:
                    raise ValueError(f"every list under '{what}' needs the same number of values ({p} has "
                                     f"{len(vals)}, the first has {n})")
        if self.labels is not None and len(self.labels) != n:
            raise ValueError(f"'labels' needs one label per value ({n}), not {len(self.labels)}")
        if n > 40:
            raise ValueError("at most 40 values per parameter")
        return self

    @property
    def size(self) -> int:
        if self.values is not None:
            return len(self.values)
        lists = list((self.set or self.scale or {}).values())
        return len(lists[0]) if lists else 0

    @property
    def key(self) -> str:
        """The name in the URL fragment: ``name``, else the label as a slug."""
        return self.name or _SLUG.sub("_", self.label.lower()).strip("_") or "p"

    def shown(self, i: int) -> str:
        """How value ``i`` reads on the slider: its label, else the value as written."""
        if self.labels is not None:
            return self.labels[i]
        if self.values is not None:
            return _written(self.values[i])
        lists = self.set or self.scale or {}
        return " · ".join(_written(v[i]) for v in lists.values())

    def changes(self, i: int) -> list[tuple[str, str, Any]]:
        """(kind, path, value) of value ``i``: ``set`` or ``scale``."""
        if self.path is not None and self.values is not None:
            return [] if self.path == REPLICATIONS else [("set", self.path, self.values[i])]
        if self.set is not None:
            return [("set", p, v[i]) for p, v in self.set.items()]
        return [("scale", p, v[i]) for p, v in (self.scale or {}).items()]


def _written(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_written(v) for v in value) + "]"
    return fmt.parameter(value)


class Preset(Strict):
    """A named setting of some sliders: ``{label: "ρ = 0.9", values: {rate: 9/min}}`` (values as
    written in the parameter, or its labels)."""

    label: str = Field(min_length=1, max_length=60)
    values: dict[str, Any] = Field(min_length=1)


class Replay(Strict):
    """The window of replication 0 that the animation replays: ``start`` (a clock time; default the
    end of the warm-up) for ``length``, at ``step`` (default the first channel's entry step)."""

    step: str | None = None
    start: Clock | None = None
    length: Duration = Field(default=1800.0, gt=0, le=8 * 3600)


class Plot(Strict):
    """The figure: ``y`` (a KPI card's metric, default the first) against parameter ``x`` (default
    the first), one point per value with its CI, theory as a line."""

    x: str | None = None
    y: str | None = None
    runs: bool = False


class LessonFile(Strict):
    title: str = Field(min_length=1, max_length=120)
    scenario: str = Field(min_length=1)
    intro: str = ""
    question: str = Field(min_length=1, max_length=400)
    answer: str = ""
    kpis: list[str | Kpi] = Field(min_length=1, max_length=8)
    parameters: list[Parameter] = Field(min_length=1, max_length=4)
    replications: int = Field(default=20, ge=1, le=200)
    seed: int = Field(default=0, ge=0, lt=2**63)
    changes: list[Change] = Field(default_factory=list)
    presets: list[Preset] = Field(default_factory=list, max_length=8)
    replay: Replay = Replay()
    plot: Plot = Plot()
    theory: Literal["auto", "none"] = "auto"
    formulas: str = ""
    assumptions: str = Field(min_length=1)
    takeaway: str = ""


@dataclass(frozen=True)
class Cell:
    """One point of the grid: the index of each parameter's value, the scenario it gives, and how
    many replications it shows."""

    index: tuple[int, ...]
    scenario: Scenario
    replications: int
    sim: int  # which distinct simulated scenario (cells differing only by 'replications' share one)


@dataclass(frozen=True)
class Lesson:
    """A validated lesson: its file, the base scenario, every cell of the grid, the KPI cards."""

    spec: LessonFile
    file: str
    folder: Path
    base: Scenario
    kpis: list[Kpi]
    cells: list[Cell]
    scenarios: list[Scenario]  # distinct simulated scenarios, by Cell.sim
    start: tuple[int, ...]
    text: str = field(default="", repr=False)  # the lesson file's text, hashed into the page

    @property
    def parameters(self) -> list[Parameter]:
        return self.spec.parameters

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(p.size for p in self.spec.parameters)

    def cell(self, index: tuple[int, ...]) -> Cell:
        flat = 0
        for i, n in zip(index, self.shape):
            flat = flat * n + i
        return self.cells[flat]


def load_lesson(path: str | Path, *, roots: Roots = None) -> Lesson:
    """Read, validate and expand a lesson file; :class:`ScenarioError` with located problems."""
    path = Path(path)
    policy = policy_for(roots, top_file=path)
    doc = load_yaml(path, expected_keys=list(LessonFile.model_fields), policy=None if roots is None else policy)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):  # pragma: no cover - load_yaml read it already
        text = ""
    return _expand(doc, path.parent, policy, str(path), text)


def lesson_from_dict(data: dict[str, Any], base_dir: str | Path = ".", *, roots: Roots = None,
                     file: str = "<dict>") -> Lesson:
    """A lesson given as plain data; ``scenario`` is relative to ``base_dir``."""
    policy = policy_for(roots, extra=[base_dir])
    doc = LocatedDoc(data=copy.deepcopy(dict(data)), file=file, locations={})
    return _expand(doc, Path(base_dir), policy, file, repr(sorted(data.items(), key=str)))


def _expand(doc: LocatedDoc, folder: Path, policy: FilePolicy, file: str, text: str) -> Lesson:
    spec, located = validate_doc(doc, LessonFile)
    base_path, base_data, base = _read_scenario(spec.scenario, folder, located, policy)
    if spec.changes:
        try:
            base_data = apply_changes(base_data, [c.model_dump(exclude_none=True) for c in spec.changes],
                                      base_path.parent, policy, file=f"{file} [changes]")
            base = scenario_from_dict(base_data, base_dir=base_path.parent, file=f"{spec.scenario} [changed]",
                                      roots=policy)
        except ScenarioError as exc:
            located.add(("changes",), "the changes do not apply: " + "; ".join(str(p) for p in exc.problems[:3]))
            located.raise_if_any()
    kpis = _check_kpis(spec, base, located)
    _check_parameters(spec, base_data, located)
    _check_replay(spec, base, located)
    start = _start(spec, located)
    _check_presets(spec, located)
    _check_plot(spec, kpis, located)
    located.raise_if_any()
    cells, scenarios = _cells(spec, base_data, base_path.parent, policy, located)
    return Lesson(spec=spec, file=file, folder=folder, base=base, kpis=kpis, cells=cells, scenarios=scenarios,
                  start=start, text=text)


def _read_scenario(name: str, folder: Path, located: Located,
                   policy: FilePolicy) -> tuple[Path, dict[str, Any], Scenario]:
    try:
        path = policy.check(folder / name, "scenario", written=name)
    except FileRefused as exc:
        located.add(("scenario",), str(exc))
        raise ScenarioError(located.problems) from None
    try:
        doc = load_yaml(path, policy=policy, expected_keys=SCENARIO_FIELDS)
        scenario = scenario_from_dict(doc.data, base_dir=path.parent, file=str(path), roots=policy)
    except ScenarioError as exc:
        located.add(("scenario",), f"the scenario {quoted(name)} is not valid",
                    "; ".join(str(p) for p in exc.problems[:3]))
        raise ScenarioError(located.problems) from None
    return path, doc.data, scenario


def _suggest(name: str, valid: list[str]) -> str:
    guess = closest(name, valid)
    return (f"did you mean {guess!r}? " if guess else "") + "valid: " + ", ".join(valid)


def replay_step(spec: LessonFile, base: Scenario) -> str:
    """The step the animation shows: the lesson's, else the first channel's entry step."""
    if spec.replay.step is not None:
        return spec.replay.step
    return next(iter(base.channels.values())).entry


def _check_kpis(spec: LessonFile, base: Scenario, located: Located) -> list[Kpi]:
    names = [m for m, e in REGISTRY.items() if "summary" in e.tables] + ["occupancy"]
    channels, segments, pools = list(base.channels), list(base.segments), list(base.pools)
    step = replay_step(spec, base)
    default_pool = next((n for n, p in base.pools.items() if step in p.skills), pools[0])
    out = []
    for i, k in enumerate(spec.kpis):
        kpi = Kpi(metric=k) if isinstance(k, str) else k
        where: tuple[str | int, ...] = ("kpis", i) if isinstance(k, str) else ("kpis", i, "metric")
        if resolve(kpi.metric) is None or kpi.metric not in names:
            located.add(where, f"unknown KPI {quoted(kpi.metric)}", _suggest(kpi.metric, names))
            continue
        if kpi.channel != "all" and kpi.channel not in channels:
            located.add(("kpis", i, "channel"), f"no channel {quoted(kpi.channel)}", _suggest(kpi.channel, channels))
        if kpi.segment != "all" and kpi.segment not in segments:
            located.add(("kpis", i, "segment"), f"no segment {quoted(kpi.segment)}", _suggest(kpi.segment, segments))
        if kpi.metric == "occupancy":
            pool = kpi.pool or default_pool
            if pool not in pools:
                located.add(("kpis", i, "pool"), f"no pool {quoted(pool)}", _suggest(str(pool), pools))
                continue
            kpi = kpi.model_copy(update={"pool": pool})
        elif kpi.pool is not None:
            located.add(("kpis", i, "pool"), "only 'occupancy' is per pool", "leave 'pool' out")
        out.append(kpi)
    keys = [k.key for k in out]
    for i, key in enumerate(keys):
        if keys.index(key) != i:
            located.add(("kpis", i), f"KPI {quoted(key)} is listed twice", "list each card once")
    return out


def _check_parameters(spec: LessonFile, data: dict[str, Any], located: Located) -> None:
    seen: dict[str, str] = {}    # field -> the parameter setting it
    scaled: dict[str, str] = {}  # field -> the parameter scaling it
    keys: list[str] = []
    for i, p in enumerate(spec.parameters):
        if p.key in keys:
            located.add(("parameters", i, "name"), f"two parameters are called {quoted(p.key)}",
                        "give each a different 'name'")
        keys.append(p.key)
        if p.path == REPLICATIONS:
            bad = [v for v in p.values or [] if not isinstance(v, int) or isinstance(v, bool)
                   or not 1 <= v <= spec.replications]
            if bad:
                located.add(("parameters", i, "values"), f"{quoted(bad[0])} is not a number of replications "
                            f"from 1 to the lesson's replications ({spec.replications})")
            continue
        where = ("parameters", i, "path") if p.path is not None else ("parameters", i, "set" if p.set else "scale")
        for path in ([p.path] if p.path is not None else list(p.set or p.scale or {})):
            try:
                canonical = canonical_path(data, path)
            except PathError as exc:
                located.add(where, str(exc))
                continue
            kind = "scale" if p.scale is not None else "set"
            if canonical in scaled or (kind == "set" and canonical in seen):
                other = scaled.get(canonical) or seen[canonical]
                located.add(where, f"{quoted(path)} is set by two parameters ({other} too)",
                            "let one parameter set each field (a later 'scale' may scale it)")
            if kind == "set":
                seen[canonical] = p.key
            else:
                scaled[canonical] = p.key
        for path, factors in (p.scale or {}).items():
            if any(not isinstance(f, (int, float)) or f <= 0 for f in factors):
                located.add(("parameters", i, "scale", path), "factors must be numbers above 0")


def _check_replay(spec: LessonFile, base: Scenario, located: Located) -> None:
    step = replay_step(spec, base)
    if step not in base.steps:
        located.add(("replay", "step"), f"no step {quoted(step)}", _suggest(step, list(base.steps)))
    h = base.horizon
    start = spec.replay.start if spec.replay.start is not None else h.start + h.warmup
    if not h.start <= start < h.end:
        located.add(("replay", "start"), "the replay starts outside the scenario's horizon",
                    "give a clock time between the horizon's start and end")


def _match(p: Parameter, value: Any) -> int | None:
    """The index of ``value`` among ``p``'s values or labels (as written), or None."""
    shown = [p.shown(i) for i in range(p.size)]
    written = [_written(v) for v in p.values] if p.values is not None else []
    for options in (written, shown, [str(i) for i in range(p.size)] if p.values is None else []):
        if _written(value) in options:
            return options.index(_written(value))
    return None


def _start(spec: LessonFile, located: Located) -> tuple[int, ...]:
    out = []
    for i, p in enumerate(spec.parameters):
        if p.start is None:
            out.append(0)
            continue
        j = _match(p, p.start)
        if j is None:
            located.add(("parameters", i, "start"), f"{quoted(p.start)} is not one of the values",
                        "valid: " + ", ".join(p.shown(k) for k in range(p.size)))
            out.append(0)
        else:
            out.append(j)
    return tuple(out)


def _check_presets(spec: LessonFile, located: Located) -> None:
    by_key = {p.key: p for p in spec.parameters}
    for i, preset in enumerate(spec.presets):
        for key, value in preset.values.items():
            if key not in by_key:
                located.add(("presets", i, "values", key), f"no parameter {quoted(key)}", _suggest(key, list(by_key)))
            elif _match(by_key[key], value) is None:
                p = by_key[key]
                located.add(("presets", i, "values", key), f"{quoted(value)} is not a value of {quoted(key)}",
                            "valid: " + ", ".join(p.shown(k) for k in range(p.size)))


def _check_plot(spec: LessonFile, kpis: list[Kpi], located: Located) -> None:
    keys = [p.key for p in spec.parameters]
    if spec.plot.x is not None and spec.plot.x not in keys:
        located.add(("plot", "x"), f"no parameter {quoted(spec.plot.x)}", _suggest(spec.plot.x, keys))
    cards = [k.key for k in kpis]
    if spec.plot.y is not None and spec.plot.y not in cards:
        located.add(("plot", "y"), f"no KPI card {quoted(spec.plot.y)}", _suggest(spec.plot.y, cards))


def preset_indices(lesson: Lesson) -> list[dict[str, int]]:
    """Each preset as {parameter key: value index}."""
    by_key = {p.key: p for p in lesson.parameters}
    return [{k: _match(by_key[k], v) or 0 for k, v in preset.values.items()} for preset in lesson.spec.presets]


def _cells(spec: LessonFile, base: dict[str, Any], folder: Path, policy: FilePolicy,
           located: Located) -> tuple[list[Cell], list[Scenario]]:
    import itertools

    shape = [p.size for p in spec.parameters]
    total = 1
    for n in shape:
        total *= n
    if total > MAX_CELLS:
        located.add(("parameters",), f"the grid has {total:,} cells, more than {MAX_CELLS}",
                    "use fewer values: a page embeds every cell")
        located.raise_if_any()
    reps_param = next((i for i, p in enumerate(spec.parameters) if p.path == REPLICATIONS), None)
    distinct = total // (shape[reps_param] if reps_param is not None else 1)
    if distinct * spec.replications > MAX_RUNS:
        located.add(("replications",), f"{distinct:,} scenarios × {spec.replications} replications are "
                    f"{distinct * spec.replications:,} runs, more than {MAX_RUNS:,}",
                    "use fewer values or replications")
        located.raise_if_any()
    cells: list[Cell] = []
    scenarios: list[Scenario] = []
    sims: dict[tuple[int, ...], int] = {}
    for index in itertools.product(*(range(n) for n in shape)):
        sim_key = tuple(j for i, j in enumerate(index) if i != reps_param)
        reps = spec.replications if reps_param is None else int(spec.parameters[reps_param].values[index[reps_param]])
        if sim_key not in sims:
            data = base
            i = 0
            try:
                for i, (p, j) in enumerate(zip(spec.parameters, index)):
                    for kind, path, value in p.changes(j):
                        data = set_path(data, path, value) if kind == "set" else scale_path(data, path, value)
                scenario = scenario_from_dict(data, base_dir=folder, file=f"{spec.scenario} [cell]", roots=policy)
            except PathError as exc:
                p = spec.parameters[i]
                where = ("parameters", i, "values", index[i]) if p.values is not None else ("parameters", i)
                located.add(where, f"value {p.shown(index[i])!r} does not fit: {exc}")
                located.raise_if_any()
            except ScenarioError as exc:
                where = ", ".join(f"{p.key}={p.shown(j)}" for p, j in zip(spec.parameters, index))
                located.add(("parameters",), f"the cell ({where}) is not a valid scenario: "
                            + "; ".join(f"{q.field}: {q.message}" for q in exc.problems[:3]))
                located.raise_if_any()
            sims[sim_key] = len(scenarios)
            scenarios.append(scenario)
        cells.append(Cell(tuple(index), scenarios[sims[sim_key]], reps, sims[sim_key]))
    return cells, scenarios
