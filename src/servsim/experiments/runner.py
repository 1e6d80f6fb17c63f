"""Run an experiment's tasks — option × replication — locally or on a Dask cluster, resumably.

A task is plain data: a validated scenario (it pickles), a replication seed and labels. The task
function returns small tables; only the driver (this process) writes them to the result store, as
each task completes, so an interrupted run keeps every finished task and a rerun does only the
rest. Every option uses the same replication seeds: common random numbers.

Executors: ``workers=1`` runs in this process; ``workers=N`` a local process pool;
``scheduler="tcp://host:port"`` the same task function on a Dask distributed cluster (using all of
the cluster's workers, so ``workers`` must stay 1). The numbers are identical whichever runs them.

A worker that dies costs only its task. Locally, when a worker process dies (the out-of-memory
killer, SIGKILL, a crash in native code), the pool is rebuilt; the tasks that were in flight are run
again one at a time, so the one that kills its worker is known, and it is given
``servsim.workers.WORKER_RETRIES`` more attempts before the run stops with :class:`WorkerLostError`
naming it (:mod:`servsim.workers`). On Dask the scheduler
reschedules a dead worker's tasks itself, up to its ``distributed.scheduler.allowed-failures``.
Tasks are pure functions of their data and seed, so a retried task gives the same numbers. Local
workers end with the driver, however it ends (SIGKILL included), and a failure while storing a
result (a full disk: :class:`servsim.status.OutputError`) stops them at once.
"""

from __future__ import annotations

import logging
import os
import re
import signal
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from servsim.api import simulate
from servsim.experiments.spec import Experiment
from servsim.experiments.store import ResultStore, TaskKey, config_hash
from servsim.random import replication_seeds
from servsim.runlevel import run_metrics
from servsim import __version__
from servsim.scenario import Scenario, scenario_hash
from servsim.workers import WorkerDied, resilient_map

log = logging.getLogger(__name__)

#: Seconds to wait for a Dask scheduler to answer; the environment variable overrides it.
CONNECT_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_ENV = "SERVSIM_CONNECT_TIMEOUT"
#: Fault injection, for tests only (see :func:`_inject_fault`).
KILL_WORKER_ENV = "SERVSIM_TEST_KILL_WORKER"
KILL_TIMES_ENV = "SERVSIM_TEST_KILL_TIMES"

_PROTOCOLS = ("tcp", "tls", "ucx", "ws", "wss")
_ADDRESS = re.compile(r"(?:(?P<protocol>[a-z]+)://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_][A-Za-z0-9_.-]*)"
                      r":(?P<port>[0-9]{1,5})")
_START_A_SCHEDULER = ("start one with `dask scheduler` (it prints its address, e.g. tcp://10.0.0.5:8786) and "
                      "workers with `dask worker tcp://10.0.0.5:8786`, then pass that address to --scheduler")


class ExecutorError(ValueError):
    """The tasks cannot be run as asked: a bad scheduler address, an unreachable scheduler, local
    workers asked for on a cluster, Dask not installed. The message says what would work."""


class WorkerLostError(RuntimeError):
    """A task kept killing the worker process running it; finished tasks are stored."""

    def __init__(self, key: TaskKey, attempts: int, cause: str) -> None:
        super().__init__(key, attempts, cause)
        self.key, self.attempts, self.cause = key, attempts, cause

    def explain(self, task: str) -> str:
        """The message, with the task described as ``task`` (e.g. a sweep cell's parameter values)."""
        return (f"task {task} killed its worker process {self.attempts} times{self.cause}, so the run "
                "stopped (if it runs out of memory: use fewer workers, or give the workers more memory)")

    def __str__(self) -> str:
        return self.explain(describe_task(self.key))


def describe_task(key: TaskKey) -> str:
    """``option 'x', replication 3`` (with ``cell n`` when the task is a sweep cell)."""
    cell = f", cell {key.cell}" if key.cell or key.option == "sweep" else ""
    return f"option {key.option!r}{cell}, replication {key.replication}"


def check_executor(workers: int, scheduler: str | None) -> None:
    """Refuse what cannot work before any task runs: raise :class:`ExecutorError` for a malformed
    scheduler address, or ``workers > 1`` with a scheduler (the cluster uses all its workers)."""
    if scheduler is None:
        return
    m = _ADDRESS.fullmatch(scheduler.strip())
    if m is None or (m["protocol"] is not None and m["protocol"] not in _PROTOCOLS) or not 0 < int(m["port"]) < 65536:
        raise ExecutorError(f"--scheduler {scheduler!r} is not a Dask scheduler address: expected "
                            f"PROTOCOL://HOST:PORT, e.g. tcp://10.0.0.5:8786 or tcp://scheduler:8786 "
                            f"(protocols: {', '.join(_PROTOCOLS)})")
    if workers > 1:
        raise ExecutorError(f"--workers {workers} cannot be combined with --scheduler: --workers sets local "
                            "processes, while a cluster runs the tasks on all of its workers (start more "
                            "`dask worker` processes to use more); drop --workers")


def _connect_timeout() -> float:
    text = os.environ.get(CONNECT_TIMEOUT_ENV)
    if not text:
        return CONNECT_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < 1e6:
        raise ExecutorError(f"{CONNECT_TIMEOUT_ENV}={text!r} is not a number of seconds > 0")
    return value


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
    overall = r.summary[(r.summary["channel"] == "all") & (r.summary["segment"] == "all")].iloc[0]
    row: dict[str, object] = {"option": task.key.option, "cell": task.key.cell, "replication": task.key.replication}
    for col in r.summary.columns:
        if col not in ("replication", "channel", "segment"):
            row[col] = overall[col]
    row.update(run_metrics(task.scenario, r.summary, r.pool_summary, r.intervals))
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
    check_executor(workers, scheduler)
    done = store.done()
    todo = [t for t in tasks if t.key not in done]
    if progress and len(tasks) > len(todo):
        progress(len(tasks) - len(todo))
    # closed explicitly, so that a failure while storing (a full disk) stops the workers at once
    with closing(_execute(todo, workers, scheduler)) as results:
        for key, tables in results:
            store.put(key, tables)
            if progress:
                progress(1)


def _execute(tasks: list[Task], workers: int, scheduler: str | None) -> Iterator[tuple[TaskKey, dict[str, pd.DataFrame]]]:
    if not tasks:
        return
    if scheduler:
        yield from _on_dask(tasks, scheduler.strip())
    elif workers <= 1:
        for t in tasks:
            yield run_task(t)
    else:
        yield from _on_local_pool(tasks, min(workers, len(tasks), os.cpu_count() or 1))


def _on_local_pool(tasks: list[Task], workers: int) -> Iterator[tuple[TaskKey, dict[str, pd.DataFrame]]]:
    """Run ``tasks`` in a process pool of ``workers`` that survives dead workers
    (:func:`servsim.workers.resilient_map`); a task that keeps killing its worker raises
    :class:`WorkerLostError`."""
    try:
        for _, result in resilient_map(_run_in_worker, tasks, workers, lambda i: describe_task(tasks[i].key)):
            yield result
    except WorkerDied as exc:
        raise WorkerLostError(tasks[exc.index].key, exc.attempts, exc.cause) from None


def _on_dask(tasks: list[Task], scheduler: str) -> Iterable[tuple[TaskKey, dict[str, pd.DataFrame]]]:
    try:
        from distributed import Client, KilledWorker, as_completed as dask_completed
    except ImportError:  # pragma: no cover - depends on the environment
        raise ExecutorError("running on a cluster needs Dask: pip install 'servsim[cluster]'") from None
    timeout = _connect_timeout()
    try:
        client = Client(scheduler, timeout=timeout)
    except OSError as exc:  # includes TimeoutError and Dask's CommClosedError
        raise ExecutorError(f"could not reach a Dask scheduler at {scheduler} within {timeout:g} s: is it "
                            f"running, and is the address right? To run on a cluster, {_START_A_SCHEDULER}. "
                            f"Set {CONNECT_TIMEOUT_ENV}=SECONDS to wait longer.") from exc
    with client:
        # pure=False: each task runs once per submission. A dead worker's tasks are rescheduled by the
        # scheduler (up to its allowed-failures); retries=2 also retries a task that raised on a worker
        futures = client.map(_run_in_worker, tasks, pure=False, retries=2)
        task_of = dict(zip(futures, tasks))
        for fut in dask_completed(futures):
            try:
                result = fut.result()
            except KilledWorker as exc:  # the scheduler gave up: this task's workers kept dying
                tries = getattr(exc, "allowed_failures", 3) + 1
                raise WorkerLostError(task_of[fut].key, tries, " on different Dask workers") from None
            yield result


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
