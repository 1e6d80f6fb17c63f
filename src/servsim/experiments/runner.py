"""Run an experiment's tasks — option × replication — locally or on a Dask cluster, resumably.

A task is plain data: a validated scenario (it pickles), a replication seed and labels. The task
function returns small tables; only the driver (this process) writes them to the result store, as
each task completes, so an interrupted run keeps every finished task and a rerun does only the
rest. Every option uses the same replication seeds: common random numbers.

Executors: ``workers=1`` runs in this process; ``workers=N`` a local process pool;
``scheduler="tcp://host:port"`` the same task function on a Dask distributed cluster. The numbers
are identical whichever runs them.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from servsim.api import simulate
from servsim.experiments.spec import Experiment
from servsim.experiments.store import ResultStore, TaskKey, config_hash
from servsim.random import replication_seeds
from servsim import __version__
from servsim.scenario import Scenario, scenario_hash


@dataclass(frozen=True)
class Task:
    key: TaskKey
    scenario: Scenario
    seed: np.random.SeedSequence


def run_task(task: Task) -> tuple[TaskKey, dict[str, pd.DataFrame]]:
    """Simulate one option × replication; return its one-row ``results`` table and its summaries.

    ``results`` columns: option, cell, replication, every overall KPI (with costs and the satisfaction
    proxy), ``paid_hours`` (agent-hours paid after the warm-up), ``cost`` (= total_cost: staff cost
    plus penalties) and ``occupancy_<pool>``.
    """
    r = simulate(task.scenario, task.seed, replication=task.key.replication)
    overall = r.summary[(r.summary["channel"] == "all") & (r.summary["segment"] == "all")].iloc[0]
    row: dict[str, object] = {"option": task.key.option, "cell": task.key.cell, "replication": task.key.replication}
    for col in r.summary.columns:
        if col not in ("replication", "channel", "segment"):
            row[col] = overall[col]
    row["paid_hours"] = float(r.pool_summary["paid_s"].sum() / 3600.0)
    row["cost"] = overall["total_cost"]
    for pool, occ in r.pool_summary.set_index("pool")["occupancy"].items():
        row[f"occupancy_{pool}"] = float(occ)
    summary = r.summary.copy()
    summary.insert(0, "option", task.key.option)
    # the all-channels wait per reporting interval: input to the warm-up check (MSER)
    iv = r.intervals
    if len(task.scenario.channels) > 1:
        iv = iv[iv["channel"] == "all"]
    intervals = iv[["interval", "start_s", "offered", "mean_wait_s"]].copy()
    intervals.insert(0, "replication", task.key.replication)
    intervals.insert(0, "option", task.key.option)
    return task.key, {"results": pd.DataFrame([row]), "summary": summary, "intervals": intervals}


def tasks_for(exp: Experiment, replications: int | None = None) -> list[Task]:
    """Every option × replication, options in file order, sharing replication seeds (CRN)."""
    n = replications or exp.spec.replications
    seeds = replication_seeds(exp.spec.seed, n)
    return [Task(TaskKey(option, 0, r), scenario, seeds[r])
            for option, scenario in exp.scenarios.items() for r in range(n)]


def experiment_hash(exp: Experiment) -> str:
    """Identity of an experiment's work: each option's validated scenario (including data read from
    trace and CSV files), seed, name and servsim version — not replications, so a rerun with more
    replications extends the store."""
    return config_hash({"name": exp.spec.name, "seed": exp.spec.seed, "servsim": __version__,
                        "options": {name: scenario_hash(s) for name, s in exp.scenarios.items()}})


def run_tasks(
    tasks: list[Task],
    store: ResultStore,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Run the tasks not yet in ``store``; store each result as it arrives."""
    done = store.done()
    todo = [t for t in tasks if t.key not in done]
    if progress and len(tasks) > len(todo):
        progress(len(tasks) - len(todo))
    for key, tables in _execute(todo, workers, scheduler):
        store.put(key, tables)
        if progress:
            progress(1)


def _execute(tasks: list[Task], workers: int, scheduler: str | None) -> Iterator[tuple[TaskKey, dict[str, pd.DataFrame]]]:
    if not tasks:
        return
    if scheduler:
        yield from _on_dask(tasks, scheduler)
    elif workers <= 1:
        for t in tasks:
            yield run_task(t)
    else:
        n = min(workers, len(tasks), os.cpu_count() or 1)
        pool = ProcessPoolExecutor(max_workers=n, initializer=_ignore_interrupts)
        try:
            futures = [pool.submit(run_task, t) for t in tasks]
            for fut in as_completed(futures):
                yield fut.result()
        except BaseException:
            # interrupted (Ctrl-C, SIGTERM) or failed: drop queued tasks and stop the workers now;
            # everything finished so far is already in the store
            pool.shutdown(wait=False, cancel_futures=True)
            for proc in list(getattr(pool, "_processes", {}).values()):
                proc.terminate()
            raise
        pool.shutdown(wait=True)


def _ignore_interrupts() -> None:
    """Workers leave Ctrl-C to the driver, which stops them (they would otherwise fail their task)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _on_dask(tasks: list[Task], scheduler: str) -> Iterable[tuple[TaskKey, dict[str, pd.DataFrame]]]:
    try:
        from distributed import Client, as_completed as dask_completed
    except ImportError:  # pragma: no cover - depends on the environment
        raise RuntimeError("running on a cluster needs Dask: pip install 'servsim[cluster]'") from None
    with Client(scheduler) as client:
        # pure=False: each task runs once per submission; retries=2: a dead worker costs only its task
        futures = client.map(run_task, tasks, pure=False, retries=2)
        for fut in dask_completed(futures):
            yield fut.result()


def stored_table(exp: Experiment, out: Path, name: str) -> pd.DataFrame:
    """Table ``name`` of every finished task of ``exp`` in ``out`` (e.g. 'intervals', 'summary')."""
    return ResultStore(Path(out) / "store", experiment_hash(exp)).load(name, key_columns=False)


def run_experiment(
    exp: Experiment,
    out: Path,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Callable[[int], None] | None = None,
    overwrite: bool = False,
) -> pd.DataFrame:
    """Run (or resume) every task of ``exp`` into ``out/store`` and return the results table, one row
    per option × replication, sorted by option (file order) then replication."""
    store = ResultStore(Path(out) / "store", experiment_hash(exp), overwrite=overwrite)
    tasks = tasks_for(exp)
    run_tasks(tasks, store, workers=workers, scheduler=scheduler, progress=progress)
    results = store.load("results", key_columns=False)
    wanted = {(t.key.option, t.key.replication) for t in tasks}
    results = results[[(o, r) in wanted for o, r in zip(results["option"], results["replication"])]]
    order = {name: i for i, name in enumerate(exp.options)}
    results = results.sort_values(["option", "replication"], key=lambda s: s.map(order) if s.name == "option" else s)
    return results.reset_index(drop=True)
