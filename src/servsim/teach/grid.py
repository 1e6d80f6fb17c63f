"""Precompute a lesson's grid: every cell's KPIs over its replications, its theory and its replay.

Each distinct cell scenario runs ``replications`` replications with the lesson's seed, through the
one task runner (:mod:`servsim.execution`; ``workers`` processes), exactly as
``servsim.replicate(scenario, replications, seed)`` runs them: replication r of every cell uses
child r of ``SeedSequence(seed)``, so neighbouring cells share their random numbers (common random
numbers: a slider moves the numbers by the change, not by new noise). A cell's KPI is the mean
across its replications with the half-width of the 95% t-interval, from
:meth:`servsim.results.Replications.kpi_table` — the same table ``servsim run`` prints, so the page
shows what ``replicate`` gives for that cell, to the digit. Cells that differ only by the special
``replications`` parameter share one simulation and show its first N replications.

The replay of a cell is replication 0's visit log in the lesson's window (:mod:`.replay`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from servsim.api import simulate
from servsim.execution import Executor, execute
from servsim.random import replication_seeds
from servsim.results import Replications, RunResult
from servsim.scenario import Scenario
from servsim.teach.lesson import Kpi, Lesson, replay_step
from servsim.teach.overlay import models
from servsim.teach.replay import replay_events

LEVEL = 0.95


@dataclass(frozen=True)
class _Run:
    sim: int
    replication: int
    scenario: Scenario
    seed: np.random.SeedSequence


def _one(task: _Run) -> RunResult:
    return simulate(task.scenario, task.seed, replication=task.replication)


def _describe(task: _Run) -> str:
    return f"cell scenario {task.sim}, replication {task.replication}"


@dataclass(frozen=True)
class Grid:
    """The precomputed study: per cell the KPI estimates and theory, per simulated scenario the replay."""

    lesson: Lesson
    cells: list[dict[str, Any]]
    replays: list[dict[str, Any]]
    runs: list[Replications]


def kpi_values(table: Any, kpi: Kpi) -> tuple[float, float]:
    """(mean, CI half-width) of one card from a KPI table (:meth:`Replications.kpi_table`)."""
    if kpi.metric == "occupancy":
        rows = table[(table["channel"] == f"pool:{kpi.pool}") & (table["metric"] == "occupancy")]
    else:
        rows = table[(table["channel"] == kpi.channel) & (table["segment"] == kpi.segment)
                     & (table["metric"] == kpi.metric)]
    if not len(rows):
        return math.nan, math.nan
    r = rows.iloc[0]
    return float(r["mean"]), float(r["half_width"])


def _number(x: float) -> float | None:
    """JSON's number: NaN is null; infinities stay (as null too, with the theory's flag)."""
    return None if x is None or not math.isfinite(x) else float(x)


def run_grid(lesson: Lesson, *, workers: int = 1, progress: Callable[[int], None] | None = None) -> Grid:
    """Run every cell of ``lesson`` (module docstring)."""
    spec = lesson.spec
    most = {c.sim: 0 for c in lesson.cells}
    for c in lesson.cells:
        most[c.sim] = max(most[c.sim], c.replications)
    seeds = replication_seeds(spec.seed, max(most.values()))
    tasks = [_Run(sim, r, lesson.scenarios[sim], seeds[r]) for sim in sorted(most) for r in range(most[sim])]
    results: dict[tuple[int, int], RunResult] = {}
    for i, result in execute(_one, tasks, Executor(workers), _describe):
        results[(tasks[i].sim, tasks[i].replication)] = result
        if progress:
            progress(1)
    runs = [Replications(s.name, tuple(results[(sim, r)] for r in range(most[sim])))
            for sim, s in enumerate(lesson.scenarios)]
    metrics = sorted({k.metric for k in lesson.kpis if k.metric != "occupancy"})
    y = spec.plot.y or lesson.kpis[0].key
    y_kpi = next(k for k in lesson.kpis if k.key == y)
    cells = []
    for cell in lesson.cells:
        reps = Replications(runs[cell.sim].scenario, runs[cell.sim].runs[:cell.replications])
        table = reps.kpi_table(LEVEL, metrics)
        kpis = {k.key: [_number(v) for v in kpi_values(table, k)] for k in lesson.kpis}
        theory = [] if spec.theory == "none" else [
            {"model": name, "values": {k: (None if v is None else ("inf" if math.isinf(v) else float(v)))
                                       for k, v in values.items() if k in kpis}}
            for name, values in models(cell.scenario)]
        entry: dict[str, Any] = {"i": list(cell.index), "k": kpis, "t": theory, "r": cell.sim,
                                 "n": cell.replications}
        if spec.plot.runs:
            entry["runs"] = [_number(kpi_values(Replications(reps.scenario, (run,)).kpi_table(LEVEL, metrics),
                                                y_kpi)[0]) for run in reps.runs]
        cells.append(entry)
    step = replay_step(spec, lesson.base)
    replays = []
    for sim, s in enumerate(lesson.scenarios):
        h = s.horizon
        start = spec.replay.start if spec.replay.start is not None else h.start + h.warmup
        length = min(spec.replay.length, h.end - start)
        replays.append(replay_events(runs[sim].runs[0], s, step, start, length))
    return Grid(lesson, cells, replays, runs)
