"""Run an experiment's tasks — option × replication — locally or on a Dask cluster, resumably.

A task is plain data: a validated scenario (it pickles), a replication seed and labels. The task
function returns small tables; only the driver (this process) hands them to the result store as
each task completes. The store writes them in batches (:mod:`servsim.experiments.store`): an
interrupted run (Ctrl-C, SIGTERM) keeps every finished task, a killed one (SIGKILL) loses at most
the open batch, and a rerun does only the rest. Every option uses the same replication seeds: common random numbers.

The tasks run on :mod:`servsim.execution`, the one task runner ``servsim run`` uses too:
``workers=1`` in this process; ``workers=N`` a local process pool; ``scheduler="tcp://host:port"``
a Dask distributed cluster (all of its workers, so ``workers`` must stay 1). The numbers are
identical whichever runs them. A worker that dies costs only its task; a task that keeps killing
its worker stops the run with :class:`servsim.execution.WorkerLostError` naming it. Local workers
end with the driver, however it ends (SIGKILL included), and a failure while storing a result (a
full disk: :class:`servsim.status.OutputError`) stops them at once.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from servsim.api import simulate
from servsim.experiments.spec import Experiment
from servsim.experiments.store import ResultStore, TaskKey, config_hash
from servsim.random import replication_seeds
from servsim.report.day import DAY_METRICS
from servsim.runlevel import run_metrics
from servsim import __version__
from servsim.scenario import Scenario, scenario_hash
from servsim.execution import (  # noqa: F401 - re-exported: the runner's executor names
    CONNECT_TIMEOUT_ENV, CONNECT_TIMEOUT_S, Executor, ExecutorError, WorkerLostError, execute,
)

log = logging.getLogger(__name__)

#: Fault injection, for tests only (see :func:`_inject_fault`).
KILL_WORKER_ENV = "SERVSIM_TEST_KILL_WORKER"
KILL_TIMES_ENV = "SERVSIM_TEST_KILL_TIMES"


def describe_task(key: TaskKey) -> str:
    """``option 'x', replication 3`` (with ``cell n`` when the task is a sweep cell)."""
    cell = f", cell {key.cell}" if key.cell or key.option == "sweep" else ""
    return f"option {key.option!r}{cell}, replication {key.replication}"


def check_executor(workers: int, scheduler: str | None) -> None:
    """Refuse what cannot work before any task runs (:meth:`servsim.execution.Executor.check`)."""
    Executor(workers, scheduler).check()


@dataclass(frozen=True)
class Task:
    key: TaskKey
    scenario: Scenario
    seed: np.random.SeedSequence


def run_task(task: Task) -> tuple[TaskKey, dict[str, pd.DataFrame]]:
    """Simulate one option × replication; return its one-row ``results`` table and its summaries.

    ``results`` columns: option, cell, replication, every overall KPI (with costs and the satisfaction
    proxy), then the run-level metrics of :mod:`servsim.runlevel`: ``cost`` (= total_cost: staff +
    vendor + bot + penalty cost), ``paid_hours`` (people's paid hours), ``bot_hours``,
    ``vendor_hours``, the targets flags ``sl_met``, ``abandon_met``, ``targets_met`` and
    ``intervals_missed``, and ``occupancy_<pool>``.
    """
    r = simulate(task.scenario, task.seed, replication=task.key.replication)
    key = {"option": task.key.option, "cell": task.key.cell, "replication": task.key.replication}
    overall = r.summary.iloc[0].to_dict()  # the first summary row is overall (channel and segment 'all')
    row = key | {col: value for col, value in overall.items() if col not in ("replication", "channel", "segment")}
    row.update(run_metrics(task.scenario, r.summary, r.pool_summary, r.intervals))
    summary = r.summary.copy(deep=False)  # the run's own table stays as it is
    summary.insert(0, "option", task.key.option)
    # the KPIs per channel and reporting interval: the report's day view and the warm-up check (MSER)
    wanted = ["channel", "interval", "start_s", *dict.fromkeys(["mean_wait_s", *DAY_METRICS])]
    intervals = pd.DataFrame({"option": task.key.option, "replication": task.key.replication,
                              **{col: r.intervals[col] for col in wanted}})
    results = pd.DataFrame({col: [value] for col, value in row.items()})
    return task.key, {"results": results, "summary": summary, "intervals": intervals}


def _run_in_worker(task: Task) -> tuple[TaskKey, dict[str, pd.DataFrame]]:
    """:func:`run_task` as run in a worker process (local pool or Dask), never in the driver."""
    log_file = os.environ.get(KILL_WORKER_ENV)
    if log_file:
        _inject_fault(task, log_file)
    return run_task(task)


def _inject_fault(task: Task, log_file: str) -> None:
    """Fault injection for tests, off unless ``SERVSIM_TEST_KILL_WORKER`` names a file.

    Every attempt of every task appends its id to that file, one line each; the task whose id is on
    the first line (the first to start) kills its own worker process with SIGKILL — as the
    out-of-memory killer would — on its first ``SERVSIM_TEST_KILL_TIMES`` attempts (default 1).
    """
    with open(log_file, "a", encoding="utf-8") as f:
        f.write(task.key.id + "\n")
    attempts = Path(log_file).read_text(encoding="utf-8").split()
    if task.key.id == attempts[0] and attempts.count(task.key.id) <= int(os.environ.get(KILL_TIMES_ENV, "1")):
        os.kill(os.getpid(), signal.SIGKILL)


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
    """Run the tasks not yet in ``store``; store each result as it arrives.

    Raises :class:`ExecutorError` when the executor cannot be used as asked and
    :class:`WorkerLostError` when a task keeps killing its worker (finished tasks stay stored).
    """
    executor = Executor(workers, scheduler)
    executor.check()
    done = store.done()
    todo = [t for t in tasks if t.key not in done]
    if progress and len(tasks) > len(todo):
        progress(len(tasks) - len(todo))
    # closed explicitly, so that a failure while storing (a full disk) stops the workers at once
    with closing(execute(_run_in_worker, todo, executor, _label, in_process=run_task)) as results:
        for _, (key, tables) in results:
            store.put(key, tables)
            if progress:
                progress(1)


def _label(task: Task) -> str:
    """A task as warnings and :class:`WorkerLostError` name it: ``task option 'x', replication 3``."""
    return f"task {describe_task(task.key)}"


def stored_table(exp: Experiment, out: Path, name: str) -> pd.DataFrame:
    """Table ``name`` of every finished task of ``exp`` in ``out`` (e.g. 'intervals', 'summary')."""
    with ResultStore(Path(out) / "store", experiment_hash(exp)) as store:
        return store.load(name, key_columns=False)


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
    with ResultStore(Path(out) / "store", experiment_hash(exp), overwrite=overwrite) as store:
        tasks = tasks_for(exp)
        run_tasks(tasks, store, workers=workers, scheduler=scheduler, progress=progress)
        results = store.load("results", key_columns=False)
    wanted = {(t.key.option, t.key.replication) for t in tasks}
    results = results[[(o, r) in wanted for o, r in zip(results["option"], results["replication"])]]
    order = {name: i for i, name in enumerate(exp.options)}
    results = results.sort_values(["option", "replication"], key=lambda s: s.map(order) if s.name == "option" else s)
    return results.reset_index(drop=True)
