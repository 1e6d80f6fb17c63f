"""Parameter sweeps: a grid or a Latin hypercube over any scenario paths.

```yaml
name: Utilisation sweep
base: ../scenarios/mmc.yaml
replications: 10
seed: 1
metrics: [asa_s, service_level]
sweep:
  design: grid                       # or lhs, with `samples`
  parameters:
    channels.calls.arrivals.rate: [5/min, 6/min, 7/min, 8/min, 9/min, 9.5/min]
    pools.agents.agents: [10, 11]
  stop: {metric: asa_s, rel_precision: 0.05, max_replications: 80}    # optional
```

Grid: every combination of the listed values (cells in row-major order, first parameter slowest).
Latin hypercube (``design: lhs``): each parameter is ``{low, high}`` (numbers, or durations/rates in
one unit); ``samples`` cells stratify every range (McKay, Beckman & Conover 1979), drawn with
:class:`scipy.stats.qmc.LatinHypercube` from the experiment's seed, so the design is reproducible.

Each cell × replication is one task with the replication's common seed; results have one row per
cell × replication with the parameter values as columns. Two parameters that name the same field
(``pools.a.schedule[3]`` and ``pools.a.schedule.3``, ``pools["a"].agents`` and ``pools.a.agents``)
are refused: the results would credit one value to the other. With ``stop``, replications are
added in batches until the chosen metric's CI half-width is within ``rel_precision`` of its mean in
every cell (Law's sequential procedure), or ``max_replications`` is reached.

**Size**, checked before any cell's scenario is built: at most ``limits.max_cells`` cells (default
10,000) and ``limits.max_tasks`` tasks (default 100,000), counting cells × ``replications`` — or
cells × ``stop.max_replications`` with a stopping rule, the most it may run. Raise them in the file
(``limits: {max_cells: 20000, max_tasks: 400000}``) when a study really needs more.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal

import pandas as pd
from pydantic import Field, model_validator

from servsim.experiments.paths import PathError, canonical_path, set_path
from servsim.experiments.runner import Task, run_tasks
from servsim.experiments.spec import (
    Count, Located, Number, StudyFile, _suggest, check_size, data_doc, read_base, read_file, validate_doc,
    valid_metrics,
)
from servsim.experiments.store import ResultStore, TaskKey, config_hash
from servsim.random import replication_seeds
from servsim import __version__
from servsim.scenario import Scenario, ScenarioError, scenario_from_dict, scenario_hash
from servsim.scenario.base import Strict
from servsim.scenario.errors import quoted
from servsim.scenario.files import FilePolicy, policy_for
from servsim.scenario.loader import Roots
from servsim.stats import precision_reached

_UNIT = re.compile(r"^\s*([-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)\s*(.*?)\s*$", re.ASCII)


class Range(Strict):
    low: int | float | str
    high: int | float | str


class StopRule(Strict):
    metric: str
    rel_precision: Number = Field(gt=0, lt=1)
    max_replications: Count = Field(default=100, ge=2, le=100_000)
    level: Number = Field(default=0.95, gt=0.5, lt=1)


class SweepSpec(Strict):
    design: Literal["grid", "lhs"] = "grid"
    samples: Count | None = Field(default=None, ge=1, le=100_000)
    parameters: dict[str, list[Any] | Range] = Field(min_length=1, max_length=20)
    stop: StopRule | None = None

    @model_validator(mode="after")
    def _consistent(self) -> SweepSpec:
        for path, p in self.parameters.items():
            if self.design == "grid" and not isinstance(p, list):
                raise ValueError(f"{path}: a grid needs a list of values")
            if self.design == "lhs" and not isinstance(p, Range):
                raise ValueError(f"{path}: a Latin hypercube needs {{low, high}}")
            if isinstance(p, list) and not p:
                raise ValueError(f"{path}: give at least one value")
        if self.design == "lhs" and self.samples is None:
            raise ValueError("a Latin hypercube needs 'samples'")
        return self


class SweepFile(StudyFile):
    sweep: SweepSpec


@dataclass(frozen=True)
class Sweep:
    spec: SweepFile
    file: str
    cells: pd.DataFrame            # one row per cell: cell index and parameter values as written
    scenarios: list[Scenario]
    cell_data: list[dict[str, Any]]

    @property
    def parameters(self) -> list[str]:
        return list(self.spec.sweep.parameters)


def _split_unit(value: Any) -> tuple[float, str]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value), ""
    m = _UNIT.match(str(value))
    if not m:
        raise ValueError(f"{quoted(value)} is neither a number nor a number with a unit")
    return float(m.group(1)), m.group(2)


def design_cells(spec: SweepSpec, seed: int) -> list[dict[str, Any]]:
    """Parameter values of every cell, as they will be written into the scenario."""
    params = spec.parameters
    if spec.design == "grid":
        lists = [params[p] for p in params]
        return [dict(zip(params, combo)) for combo in itertools.product(*lists)]  # type: ignore[arg-type]
    assert spec.samples is not None
    from scipy.stats import qmc  # only Latin hypercube designs need it

    sampler = qmc.LatinHypercube(d=len(params), seed=seed)
    unit_points = sampler.random(spec.samples)
    cells = []
    for point in unit_points:
        cell = {}
        for u, (path, rng) in zip(point, params.items()):
            assert isinstance(rng, Range)
            lo, unit_lo = _split_unit(rng.low)
            hi, unit_hi = _split_unit(rng.high)
            if unit_lo != unit_hi:
                raise ValueError(f"{path}: low and high must have the same unit")
            x = float(lo + u * (hi - lo))
            if isinstance(rng.low, int) and isinstance(rng.high, int):
                cell[path] = int(round(x))
            else:
                cell[path] = f"{x:.6g}{unit_lo}" if unit_lo else x
        cells.append(cell)
    return cells


def cell_count(spec: SweepSpec) -> int:
    """How many cells the design has, without listing them."""
    if spec.design == "lhs":
        return spec.samples or 0
    return math.prod(len(p) for p in spec.parameters.values() if isinstance(p, list))


def _check_cells(located: Located, spec: SweepFile) -> None:
    """Refuse a design with more cells or tasks than the file's limits (see the module docstring)."""
    cells = cell_count(spec.sweep)
    if cells > spec.limits.max_cells:
        located.add(("sweep", "parameters"), f"the design has {cells:,} cells, more than limits.max_cells "
                    f"({spec.limits.max_cells:,})", f"use fewer values, or raise it in this file: "
                    f"'limits: {{max_cells: {cells}}}'")
        located.raise_if_any()
    stop = spec.sweep.stop
    most = max(spec.replications, stop.max_replications) if stop is not None else spec.replications
    check_size(located, cells * most, f"{cells:,} cells × {most} replications"
               + (" (stop.max_replications)" if stop is not None and most > spec.replications else ""), spec)


def _check_parameters(located: Located, spec: SweepFile, base_data: dict[str, Any]) -> None:
    """Each parameter names an existing field, and no two name the same one."""
    seen: dict[str, str] = {}
    for p in spec.sweep.parameters:
        try:
            canonical = canonical_path(base_data, p)
        except PathError as exc:
            located.add(("sweep", "parameters", p), str(exc))
            continue
        if canonical in seen:
            located.add(("sweep", "parameters", p), f"{quoted(p)} names the same field as {quoted(seen[canonical])} "
                        f"({canonical})", "give each field once, with all its values")
        else:
            seen[canonical] = p


def load_sweep(path: str | Path, *, roots: Roots = None, overrides: Mapping[str, Any] | None = None) -> Sweep:
    """Read, validate and expand a sweep file; problems are located like scenario problems.

    ``roots``: the folders the files it names may be read from (see :mod:`servsim.scenario.files`).
    ``overrides``: top-level fields set over the file's (see :func:`servsim.experiments.spec.read_file`)."""
    path = Path(path)
    policy = policy_for(roots, top_file=path)
    spec, located = read_file(path, SweepFile, None if roots is None else policy, overrides)
    return _expand_sweep(spec, located, path.parent, policy, str(path))


def sweep_from_dict(data: Mapping[str, Any], base_dir: str | Path = ".", *, roots: Roots = None,
                    file: str = "<dict>") -> Sweep:
    """A sweep given as plain data (the fields of a sweep file); ``base`` is relative to ``base_dir``
    (see :func:`servsim.experiments.spec.experiment_from_dict`). Validated exactly as a file is."""
    policy = policy_for(roots, extra=[base_dir])
    spec, located = validate_doc(data_doc(data, file), SweepFile)
    return _expand_sweep(spec, located, Path(base_dir), policy, file)


def _expand_sweep(spec: SweepFile, located: Located, folder: Path, policy: FilePolicy, file: str) -> Sweep:
    """Check a validated sweep against its base scenario and build every cell's scenario."""
    problem, problems = located.add, located.problems
    _check_cells(located, spec)
    base_path, base_doc, base = read_base(spec.base, folder, located, policy)
    base_data = base_doc.data
    metrics = valid_metrics(base)
    for i, m in enumerate(spec.metrics):
        if m not in metrics:
            problem(("metrics", i), f"unknown metric {quoted(m)}", _suggest(m, metrics))
    if spec.sweep.stop is not None and spec.sweep.stop.metric not in metrics:
        problem(("sweep", "stop", "metric"), f"unknown metric {quoted(spec.sweep.stop.metric)}",
                _suggest(spec.sweep.stop.metric, metrics))
    _check_parameters(located, spec, base_data)
    if problems:
        raise ScenarioError(problems)
    try:
        values = design_cells(spec.sweep, spec.seed)
    except ValueError as exc:
        problem(("sweep", "parameters"), str(exc))
        raise ScenarioError(problems) from None
    scenarios, cell_data = [], []
    for i, cell in enumerate(values):
        data = base_data
        try:
            for p, v in cell.items():
                data = set_path(data, p, v)
            scenarios.append(scenario_from_dict(data, base_dir=base_path.parent, file=f"{spec.base} [cell {i}]",
                                                roots=policy))
        except (PathError, ScenarioError) as exc:
            msg = str(exc) if isinstance(exc, PathError) else "; ".join(f"{q.field}: {q.message}" for q in exc.problems[:3])
            problem(("sweep", "parameters"), f"cell {i} ({cell}) is not a valid scenario: {msg}")
            break
        cell_data.append(data)
    if problems:
        raise ScenarioError(problems)
    cells = pd.DataFrame(values)
    cells.insert(0, "cell", range(len(values)))
    return Sweep(spec=spec, file=file, cells=cells, scenarios=scenarios, cell_data=cell_data)


def _tasks(sw: Sweep, first: int, count: int, cells: list[int]) -> list[Task]:
    seeds = replication_seeds(sw.spec.seed, count, first=first)
    return [Task(TaskKey("sweep", c, first + i), sw.scenarios[c], ss) for c in cells for i, ss in enumerate(seeds)]


def run_sweep(
    sw: Sweep,
    out: Path,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Callable[[int], None] | None = None,
    overwrite: bool = False,
) -> pd.DataFrame:
    """Run (or resume) the sweep into ``out/store``; return one row per cell × replication, with the
    cell's parameter values as columns."""
    ident = config_hash({"name": sw.spec.name, "seed": sw.spec.seed, "servsim": __version__,
                         "cells": [scenario_hash(s) for s in sw.scenarios]})
    # closed however the run ends, so that the tasks finished but not yet written are stored
    with ResultStore(Path(out) / "store", ident, overwrite=overwrite) as store:
        n = sw.spec.replications
        cells = list(range(len(sw.scenarios)))
        wanted = _tasks(sw, 0, n, cells)
        run_tasks(wanted, store, workers=workers, scheduler=scheduler, progress=progress)
        stop = sw.spec.sweep.stop
        short = cells
        while stop is not None and n < stop.max_replications:
            # judge precision on replications 0..n-1 only, so a resumed run replays the same batches
            results = _results(sw, store, {t.key for t in wanted})
            results = results[results["replication"] < n]
            short = [c for c in short if not precision_reached(results.loc[results["cell"] == c, stop.metric],
                                                               stop.rel_precision, stop.level)]
            if not short:
                break
            batch = min(n, stop.max_replications - n)  # double the replications of cells not yet precise
            more = _tasks(sw, n, batch, short)
            wanted += more
            run_tasks(more, store, workers=workers, scheduler=scheduler, progress=progress)
            n += batch
        return _results(sw, store, {t.key for t in wanted})


def _results(sw: Sweep, store: ResultStore, keys: set[TaskKey]) -> pd.DataFrame:
    """The stored results of exactly the tasks in ``keys`` (a store may hold more, e.g. after the
    file's replications were lowered)."""
    res = store.load("results", key_columns=False)
    res = res[[TaskKey(o, c, r) in keys for o, c, r in zip(res["option"], res["cell"], res["replication"])]]
    res = res.drop(columns=["option"])
    res = res.merge(sw.cells, on="cell", how="left")
    front = ["cell", *sw.parameters, "replication"]
    res = res[front + [c for c in res.columns if c not in front]]
    return res.sort_values(["cell", "replication"]).reset_index(drop=True)

