"""Experiment files: a base scenario, named options as changes to it, and what "better" means.

```yaml
name: Bank options
base: ../scenarios/bank_contact_centre.yaml      # relative to this file
replications: 20
seed: 1
baseline: today                                   # default: the first option
metrics: [service_level, abandon_rate, asa_s, cost]
objective:
  minimize: cost
  constraints: ["service_level >= 0.8", "abandon_rate <= 0.05"]
indifferent: {cost: 50, service_level: 1pp, asa_s: 2s}   # optional; defaults per kind of metric
options:
  today: []
  plus_10_percent: [{scale: {path: pools.tellers.schedule, factor: 1.1}}]
  midday_boost:    [{add_agents: {pool: tellers, count: 3, start: "10:00", end: "14:00"}}]
  faster_serve:    [{set: {path: steps.serve.handle_time.mean, value: 2min}}]
  from_patch:      [{patch: {pools: {specialists: {priority: 2}}}}]
```

Each option's changes apply, in order, to the base scenario *as data*; the result goes through the
same validation as a hand-written scenario. Every option shares the replication seeds (common random
numbers). Problems are reported as ``file:line:col: field: message (hint)``.

``replications`` and ``seed`` are whole numbers written as such (``true`` or ``"2"`` is refused).

**Indifference zones.** ``indifferent:`` maps a compared metric (one of ``metrics`` or the
objective's) to the smallest difference that matters, in the metric's unit — a number for counts,
money and ratios, ``0.01`` or ``"1pp"`` for shares, a duration (``"30s"``, ``"0.5h"``) for waits
and hours, or a percentage of the baseline's mean (``"2%"``, not for shares). A metric left out
gets the default of its kind (:mod:`servsim.metrics.indifference`); ``0`` turns the zone off.
A difference is then *practically* significant only when its whole interval lies beyond the zone
(:func:`servsim.stats.practical_verdict`).

**Size.** An experiment runs options × replications tasks; more than ``limits.max_tasks``
(default :data:`MAX_TASKS`, 100,000) is refused when the file is read, before any option's scenario
is built. Raise it in the file (``limits: {max_tasks: 200000}``) when a study really needs more.

**Files.** The base scenario and ``patch:`` files are read under the file policy of
:mod:`servsim.scenario.files` (by default: inside the working directory, the experiment file's
folder or a folder in ``SERVSIM_ALLOW_DIRS``; regular files only); so are the files the base
scenario names.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, Field, ValidationError, model_validator
from pydantic import Strict as StrictMode

from servsim.experiments.paths import PathError, add_agents, merge_patch, scale_path, set_path
from servsim.metrics.indifference import Zone, default_zone, parse_zone
from servsim.metrics.registry import DEFAULT_EXPERIMENT_METRICS, experiment_metrics, resolve
from servsim.scenario import Scenario, ScenarioError, scenario_from_dict
from servsim.scenario.base import Name, Strict
from servsim.scenario.errors import Problem, closest, located_validation_error, quoted
from servsim.scenario.files import FilePolicy, FileRefused, policy_for
from servsim.scenario.loader import Roots
from servsim.scenario.yamlio import LocatedDoc, load_yaml

#: Top-level fields of a scenario: a base or patch file with none of them is not one.
SCENARIO_FIELDS = tuple(Scenario.model_fields)

M = TypeVar("M", bound=BaseModel)
_CONSTRAINT = re.compile(
    r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=)\s*([-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)\s*$", re.ASCII)
#: Whole numbers are strict: ``true`` or ``"2"`` is not a count of replications.
Count = Annotated[int, StrictMode()]
#: Numbers are strict too: ``true`` or ``"1.1"`` is not a factor (a whole number is).
Number = Annotated[float, StrictMode()]
#: Most tasks (option or sweep cell × replication) a file may ask for unless ``limits.max_tasks`` says more.
MAX_TASKS = 100_000
#: Most sweep cells unless ``limits.max_cells`` says more (each is a scenario validated at load).
MAX_CELLS = 10_000


class SetChange(Strict):
    path: str
    value: Any


class ScaleChange(Strict):
    path: str
    factor: Number = Field(ge=0)


class AddAgentsChange(Strict):
    pool: Name
    count: Count
    start: str | None = None
    end: str | None = None


class AddVendorChange(Strict):
    """Add a vendor pool ``name`` (``pool``: its scenario fields, ``kind: vendor`` implied) and send
    work entering ``step`` to it by the outsourcing ``rule`` (a step's ``outsource`` fields,
    ``to`` implied), e.g. ``rule: {expected_wait_over: 45s}`` or ``rule: {share: 0.2}``."""

    name: Name
    step: Name
    pool: dict[str, Any] = Field(default_factory=lambda: {"agents": "unlimited"})
    rule: dict[str, Any]


class AutomateChange(Strict):
    """Let bots take a share ``level`` of ``step``. ``bots`` names the bots pool; ``pool`` (its
    scenario fields, ``kind: bots`` implied) creates or changes it; the other keys are the step's
    ``automation`` fields (``handle_time``, ``exception_rate`` or ``containment``,
    ``exceptions_to``), needed unless the step already has an automation to change."""

    step: Name
    level: Number = Field(ge=0, le=1)
    bots: Name | None = None
    pool: dict[str, Any] | None = None
    handle_time: Any = None
    exception_rate: Number | None = None
    containment: Number | None = None
    exceptions_to: Name | None = None


CHANGE_KINDS = ("set", "scale", "add_agents", "add_vendor", "automate", "patch")


class Change(Strict):
    """Exactly one of ``set``, ``scale``, ``add_agents``, ``add_vendor``, ``automate``, ``patch``
    (a mapping or a YAML file path)."""

    set: SetChange | None = None
    scale: ScaleChange | None = None
    add_agents: AddAgentsChange | None = None
    add_vendor: AddVendorChange | None = None
    automate: AutomateChange | None = None
    patch: dict[str, Any] | str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Change:
        given = [k for k in CHANGE_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("each change is exactly one of: " + ", ".join(CHANGE_KINDS))
        return self


def _constraint(text: str) -> str:
    """A constraint is "metric <= number" or "metric >= number", with a finite number."""
    m = _CONSTRAINT.match(text)
    if not m:
        raise ValueError(f"constraint {quoted(text)} is not 'metric <= number' or 'metric >= number'")
    if not math.isfinite(float(m.group(3))):
        raise ValueError(f"constraint {quoted(text)}: the bound must be a finite number")
    return text


class Objective(Strict):
    """Lowest (``minimize``) or highest (``maximize``) mean of a metric among options meeting every
    constraint ("metric <= bound" or "metric >= bound", on the mean)."""

    minimize: str | None = None
    maximize: str | None = None
    constraints: list[Annotated[str, AfterValidator(_constraint)]] = []

    @model_validator(mode="after")
    def _one_goal(self) -> Objective:
        if (self.minimize is None) == (self.maximize is None):
            raise ValueError("give exactly one of 'minimize' or 'maximize'")
        return self

    @property
    def metric(self) -> str:
        return self.minimize or self.maximize or ""

    def parsed_constraints(self) -> list[tuple[str, str, float]]:
        out = []
        for c in self.constraints:
            m = _CONSTRAINT.match(c)
            assert m is not None
            out.append((m.group(1), m.group(2), float(m.group(3))))
        return out


class StudyLimits(Strict):
    """Bounds on the size of a study, checked when the file is read (raise them here if needed)."""

    max_tasks: Count = Field(default=MAX_TASKS, ge=1, le=10**9)
    max_cells: Count = Field(default=MAX_CELLS, ge=1, le=10**7)


class StudyFile(Strict):
    """Fields every experiment or sweep file has: a base scenario, replications, seed, metrics."""

    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    base: str
    replications: Count = Field(default=10, ge=1, le=100_000)
    seed: Count = Field(default=0, ge=0, lt=2**128)
    metrics: list[str] = Field(default_factory=lambda: list(DEFAULT_EXPERIMENT_METRICS), min_length=1)
    limits: StudyLimits = StudyLimits()


class ExperimentFile(StudyFile):
    baseline: Name | None = None
    objective: Objective | None = None
    #: metric -> indifference zone as written (checked against the metric's kind in load_experiment)
    indifferent: dict[str, Any] = Field(default_factory=dict)
    options: dict[Name, list[Change]] = Field(min_length=1, max_length=1000)

    @property
    def compared(self) -> list[str]:
        """The metrics the options are compared on: ``metrics``, then the objective's if not among them."""
        extra = [self.objective.metric] if self.objective is not None else []
        return list(dict.fromkeys([*self.metrics, *extra]))


@dataclass(frozen=True)
class Experiment:
    """A validated experiment: its file, each option's validated scenario (in file order), and the
    indifference zone of every compared metric (from ``indifferent:`` or the default of its kind)."""

    spec: ExperimentFile
    file: str
    scenarios: dict[str, Scenario]
    option_data: dict[str, dict[str, Any]]
    zones: dict[str, Zone] = field(default_factory=dict)

    @property
    def baseline(self) -> str:
        return self.spec.baseline or next(iter(self.spec.options))

    @property
    def options(self) -> list[str]:
        return list(self.spec.options)


#: Top-level fields only a scenario has (``name``, ``description`` and ``limits`` are shared).
_SCENARIO_ONLY = frozenset(SCENARIO_FIELDS) - {"name", "description", "limits"}
#: What each kind of file is run with, for messages that point from one kind to the other.
COMMANDS = {"scenario": "run", "experiment": "compare", "sweep": "sweep"}


def file_kind(path: str | Path) -> Literal["scenario", "experiment", "sweep"] | None:
    """Which kind of servsim file ``path`` is, from its top-level keys alone: a ``sweep:`` section
    makes a sweep file, ``options:`` an experiment file (neither with a scenario's sections), and
    scenario sections (``channels``, ``pools``, ``steps``...) without ``base``, ``options`` or
    ``sweep`` a scenario. None when the file cannot be read as YAML or mixes kinds: then only its
    own validation can say what is wrong. Reads the file as :func:`load_yaml` does (safely, capped)."""
    try:
        data = load_yaml(path).data
    except (ScenarioError, OSError):
        return None
    keys = {k for k in data if isinstance(k, str)}
    scenario = bool(keys & _SCENARIO_ONLY)
    if "sweep" in keys and "options" not in keys and not scenario:
        return "sweep"
    if "options" in keys and "sweep" not in keys and not scenario:
        return "experiment"
    if scenario and not keys & {"base", "options", "sweep"}:
        return "scenario"
    return None


def valid_metrics(scenario: Scenario) -> list[str]:
    """Metrics (and constraint names) an experiment or sweep on ``scenario`` can use: the registry's
    ``results`` entries (the overall KPI columns, then the run-level metrics of
    :mod:`servsim.runlevel`) and ``occupancy_<pool>`` for each pool."""
    return experiment_metrics(scenario)


@dataclass
class Located:
    """Problems found in one file, each pointing at a path in it."""

    doc: LocatedDoc
    problems: list[Problem]

    def add(self, where: tuple[str | int, ...], message: str, hint: str = "") -> None:
        line, col = self.doc.where(where)
        self.problems.append(Problem(self.doc.file, line, col, ".".join(map(str, where)), message, hint))

    def raise_if_any(self) -> None:
        if self.problems:
            raise ScenarioError(self.problems)


def read_file(path: Path, model: type[M], policy: FilePolicy | None = None,
              overrides: Mapping[str, Any] | None = None) -> tuple[M, Located]:
    """Load ``path`` safely and validate it as ``model``; located errors on failure. With a
    ``policy`` (explicit roots), the file itself must be inside them. ``overrides``: top-level
    fields set over the file's before validation (the Python API's ``replications=`` and ``seed=``)."""
    doc = load_yaml(path, expected_keys=list(model.model_fields), policy=policy)
    if overrides:
        doc.data.update(overrides)
    return validate_doc(doc, model)


def validate_doc(doc: LocatedDoc, model: type[M]) -> tuple[M, Located]:
    """Validate loaded YAML (or plain data wrapped as a :class:`LocatedDoc`) as ``model``."""
    try:
        spec = model.model_validate(doc.data)
    except ValidationError as exc:
        raise located_validation_error(exc, doc, model) from None
    return spec, Located(doc, [])


def data_doc(data: Mapping[str, Any], file: str) -> LocatedDoc:
    """Plain data (a dict as read from YAML) as a document without line numbers."""
    if not isinstance(data, Mapping):
        raise TypeError(f"expected a mapping of the file's fields, got {type(data).__name__}")
    return LocatedDoc(data=copy.deepcopy(dict(data)), file=file, locations={})


def read_base(base: str, folder: Path, located: Located,
              policy: FilePolicy) -> tuple[Path, LocatedDoc, Scenario]:
    """The base scenario named by an experiment or sweep file (path relative to that file), read
    under ``policy``."""
    try:
        base_path = policy.check(folder / base, "base scenario", written=base)
    except FileRefused as exc:
        located.add(("base",), str(exc))
        raise ScenarioError(located.problems) from None
    try:
        base_doc = load_yaml(base_path, policy=policy, expected_keys=SCENARIO_FIELDS)
        scenario = scenario_from_dict(base_doc.data, base_dir=base_path.parent, file=str(base_path), roots=policy)
        return base_path, base_doc, scenario
    except ScenarioError as exc:
        located.add(("base",), f"the base scenario {quoted(base)} is not valid",
                    "; ".join(str(p) for p in exc.problems[:3]))
        raise ScenarioError(located.problems) from None


def check_size(located: Located, tasks: int, what: str, spec: StudyFile) -> None:
    """Refuse a study of more than ``limits.max_tasks`` tasks, naming the limit and how to raise it."""
    limit = spec.limits.max_tasks
    if tasks > limit:
        located.add(("replications",), f"{what} make {tasks:,} tasks, more than limits.max_tasks ({limit:,})",
                    f"use fewer, or raise it in this file: 'limits: {{max_tasks: {tasks}}}'")
        located.raise_if_any()


def load_experiment(path: str | Path, *, roots: Roots = None,
                    overrides: Mapping[str, Any] | None = None) -> Experiment:
    """Read, validate and expand an experiment file; raise :class:`ScenarioError` with located problems.

    ``roots``: the folders the files it names may be read from (see :mod:`servsim.scenario.files`;
    None: the working directory, this file's folder and ``SERVSIM_ALLOW_DIRS``). ``overrides``:
    top-level fields set over the file's (see :func:`read_file`)."""
    path = Path(path)
    policy = policy_for(roots, top_file=path)
    spec, located = read_file(path, ExperimentFile, None if roots is None else policy, overrides)
    return _expand_experiment(spec, located, path.parent, policy, str(path))


def experiment_from_dict(data: Mapping[str, Any], base_dir: str | Path = ".", *, roots: Roots = None,
                         file: str = "<dict>") -> Experiment:
    """An experiment given as plain data (the fields of an experiment file, as read from YAML);
    ``base`` and ``patch:`` files are relative to ``base_dir``, and may be read from there and the
    working directory unless ``roots`` says otherwise. Validated exactly as a file is."""
    policy = policy_for(roots, extra=[base_dir])
    spec, located = validate_doc(data_doc(data, file), ExperimentFile)
    return _expand_experiment(spec, located, Path(base_dir), policy, file)


def _expand_experiment(spec: ExperimentFile, located: Located, folder: Path, policy: FilePolicy,
                       file: str) -> Experiment:
    """Check a validated experiment against its base scenario and build each option's scenario."""
    check_size(located, len(spec.options) * spec.replications,
               f"{len(spec.options)} options × {spec.replications} replications", spec)
    base_path, base_doc, base_scenario = read_base(spec.base, folder, located, policy)
    _check_names(spec, valid_metrics(base_scenario), located)
    zones = _zones(spec, valid_metrics(base_scenario), list(base_scenario.pools), located)

    scenarios: dict[str, Scenario] = {}
    option_data: dict[str, dict[str, Any]] = {}
    for name, changes in spec.options.items():
        data = _changed_data(name, changes, base_doc.data, folder, policy, located)
        if data is None:
            continue
        try:
            scenarios[name] = scenario_from_dict(data, base_dir=base_path.parent, file=f"{spec.base} [{name}]",
                                                 roots=policy)
        except ScenarioError as exc:
            located.add(("options", name), "the changed scenario is not valid: "
                        + "; ".join(f"{p.field}: {p.message}" for p in exc.problems[:3]))
            continue
        option_data[name] = data
    located.raise_if_any()
    return Experiment(spec=spec, file=file, scenarios=scenarios, option_data=option_data, zones=zones)


def _check_names(spec: ExperimentFile, metrics: list[str], located: Located) -> None:
    """Located problems for unknown metrics (listed, in the objective or its constraints) and an
    unknown baseline option."""
    problem = located.add
    for i, m in enumerate(spec.metrics):
        if m not in metrics:
            problem(("metrics", i), f"unknown metric {quoted(m)}", _suggest(m, metrics))
    if spec.objective is not None:
        if spec.objective.metric not in metrics:
            key = "minimize" if spec.objective.minimize else "maximize"
            problem(("objective", key), f"unknown metric {quoted(spec.objective.metric)}",
                    _suggest(spec.objective.metric, metrics))
        for i, (m, _, _) in enumerate(spec.objective.parsed_constraints()):
            if m not in metrics:
                problem(("objective", "constraints", i), f"constraint on unknown metric {quoted(m)}",
                        _suggest(m, metrics))
    if spec.baseline is not None and spec.baseline not in spec.options:
        problem(("baseline",), f"option {spec.baseline!r} does not exist", _suggest(spec.baseline, spec.options))


def _zones(spec: ExperimentFile, metrics: list[str], pools: list[str], located: Located) -> dict[str, Zone]:
    """The indifference zone of every compared metric: as written under ``indifferent:`` (located
    problems for an unknown or uncompared metric, or a zone its kind does not accept), else the
    default of its kind."""
    compared = spec.compared
    zones = {m: default_zone(m) for m in compared}
    for name, value in spec.indifferent.items():
        where = ("indifferent", name)
        if name not in metrics:
            located.add(where, f"unknown metric {quoted(name)}", _suggest(name, compared))
            continue
        if name not in compared:
            located.add(where, f"{quoted(name)} is not compared in this experiment",
                        "add it to 'metrics', or remove it here; compared: " + ", ".join(compared))
            continue
        entry = resolve(name, pools)
        assert entry is not None  # every valid metric is a registry entry or pattern member
        try:
            zones[name] = parse_zone(value, entry.kind)
        except ValueError as exc:
            located.add(where, str(exc))
    return zones


def _changed_data(name: str, changes: list[Change], base: dict[str, Any], folder: Path, policy: FilePolicy,
                  located: Located) -> dict[str, Any] | None:
    """The base scenario's data with option ``name``'s changes applied; None (with a located
    problem) if a change fails or the changes change nothing."""
    data = copy.deepcopy(base)
    for i, change in enumerate(changes):
        try:
            data = _apply(change, data, folder, policy)
        except (PathError, ScenarioError, FileRefused) as exc:
            located.add(("options", name, i), str(exc) if not isinstance(exc, ScenarioError)
                        else "; ".join(str(p) for p in exc.problems[:3]))
            return None
    # an explicit empty option is a deliberate reference point; changes that change nothing are a mistake
    if changes and data == base:
        located.add(("options", name), f"option {name!r} changes nothing in the base scenario",
                    "give it at least one change, or remove it")
        return None
    return data


def apply_changes(data: Mapping[str, Any], changes: Any, folder: Path, policy: FilePolicy,
                  file: str = "<changes>") -> dict[str, Any]:
    """Scenario ``data`` (as read from YAML) with ``changes`` applied in order: a list of changes as
    an experiment file's option lists them (``{"set": {"path": ..., "value": ...}}``, ``scale``,
    ``add_agents``, ``add_vendor``, ``automate``, ``patch``), or one such change. ``patch:`` files
    are relative to ``folder``. A change that is malformed or does not apply raises
    :class:`ScenarioError` naming it (``changes.1``) and why."""
    items = [changes] if isinstance(changes, Mapping) else list(changes)
    located = Located(data_doc({"changes": items}, file), [])
    out = copy.deepcopy(dict(data))
    for i, item in enumerate(items):
        try:
            change = Change.model_validate(item)
        except ValidationError as exc:
            located.add(("changes", i), "; ".join(f"{'.'.join(map(str, e['loc'])) or 'change'}: {e['msg']}"
                                                  for e in exc.errors()[:3]))
            break
        try:
            out = _apply(change, out, folder, policy)
        except (PathError, ScenarioError, FileRefused) as exc:
            located.add(("changes", i), str(exc) if not isinstance(exc, ScenarioError)
                        else "; ".join(str(p) for p in exc.problems[:3]))
            break
    located.raise_if_any()
    return out


def _existing_step(data: dict[str, Any], step: str) -> dict[str, Any]:
    steps = data.get("steps") if isinstance(data.get("steps"), dict) else {}
    if step not in steps:
        raise PathError(f"steps.{step}", f"step {step!r} does not exist; {_suggest(step, list(steps))}")
    return steps[step] if isinstance(steps[step], dict) else {}


def _automation_patch(a: AutomateChange, data: dict[str, Any]) -> dict[str, Any]:
    """The merge patch of an ``automate`` change (see :class:`AutomateChange`)."""
    current = _existing_step(data, a.step).get("automation") or {}
    fields = {k: getattr(a, k) for k in ("bots", "handle_time", "exception_rate", "containment", "exceptions_to")
              if getattr(a, k) is not None}
    bots = a.bots or current.get("bots")
    if bots is None:
        raise PathError(f"steps.{a.step}.automation", f"step {a.step!r} has no automation yet: name the bots "
                        "pool ('bots', with 'pool' to create it) and give 'handle_time' and 'exception_rate'")
    if "exception_rate" in fields:
        fields["containment"] = None      # the two are alternatives: the new one replaces the old
    if "containment" in fields and fields["containment"] is not None:
        fields["exception_rate"] = None
    patch: dict[str, Any] = {"steps": {a.step: {"automation": {**fields, "bots": bots, "level": a.level}}}}
    if a.pool is not None:
        patch["pools"] = {bots: {**a.pool, "kind": "bots"}}
    return patch


def _suggest(name: str, valid: list[str]) -> str:
    guess = closest(name, valid)
    return (f"did you mean {guess!r}? " if guess else "") + "valid: " + ", ".join(valid)


def _apply(change: Change, data: dict[str, Any], folder: Path, policy: FilePolicy) -> dict[str, Any]:
    if change.set is not None:
        return set_path(data, change.set.path, change.set.value)
    if change.scale is not None:
        return scale_path(data, change.scale.path, change.scale.factor)
    if change.add_agents is not None:
        a = change.add_agents
        return add_agents(data, a.pool, a.count, a.start, a.end)
    if change.add_vendor is not None:
        v = change.add_vendor
        _existing_step(data, v.step)
        return merge_patch(data, {"pools": {v.name: {**v.pool, "kind": "vendor"}},
                                  "steps": {v.step: {"outsource": {**v.rule, "to": v.name}}}})
    if change.automate is not None:
        return merge_patch(data, _automation_patch(change.automate, data))
    patch = change.patch
    if isinstance(patch, str):
        patch_doc: LocatedDoc = load_yaml(policy.check(folder / patch, "patch file", written=patch), policy=policy,
                                          name=str(folder / patch), expected_keys=SCENARIO_FIELDS)
        patch = patch_doc.data
    assert isinstance(patch, dict)
    return merge_patch(data, patch)
