"""One task runner for ``run``, ``compare`` and ``sweep``: the same tasks in this process, in a local
process pool, or on a Dask cluster, with the same numbers on each.

A task is plain data (it pickles) and the task function is a pure function of it, so a task run
again — after a dead worker, or on another machine — gives the same result. :func:`execute` yields
``(index, result)`` as tasks finish; callers that need an order sort by index.

Executors (:class:`Executor`): one worker runs the tasks here, in order; ``workers=N`` a local pool
(:func:`servsim.workers.resilient_map`) that survives a dead worker; ``scheduler="tcp://host:port"``
a Dask distributed cluster, using all of its workers (so ``workers`` must stay 1).

A worker that dies costs only its task. Locally the pool is rebuilt and the task run again alone,
``servsim.workers.WORKER_RETRIES`` more times; on Dask the scheduler reschedules a dead worker's
tasks itself, up to its ``distributed.scheduler.allowed-failures``. Either way, a task that keeps
killing its worker raises :class:`WorkerLostError`, one exception with one message. Closed or
interrupted (an exception in the caller, Ctrl-C), :func:`execute` stops the local workers at once
and releases the cluster's futures.

Dask is imported only when a scheduler is used.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import TypeVar

from servsim.workers import WorkerDied, resilient_map

A = TypeVar("A")
R = TypeVar("R")

#: Seconds to wait for a Dask scheduler to answer; the environment variable overrides it.
CONNECT_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_ENV = "SERVSIM_CONNECT_TIMEOUT"
#: Retries of a task that raised on a Dask worker (a dead worker's tasks are rescheduled anyway).
DASK_RETRIES = 2
#: What a task that runs out of memory can do, unless the caller knows better (``run``: --no-log).
MEMORY_HINT = "use fewer workers, or give the workers more memory"

_PROTOCOLS = ("tcp", "tls", "ucx", "ws", "wss")
_ADDRESS = re.compile(r"(?:(?P<protocol>[a-z]+)://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_][A-Za-z0-9_.-]*)"
                      r":(?P<port>[0-9]{1,5})")
_START_A_SCHEDULER = ("start one with `dask scheduler` (it prints its address, e.g. tcp://10.0.0.5:8786) and "
                      "workers with `dask worker tcp://10.0.0.5:8786`, then pass that address to --scheduler")


class ExecutorError(ValueError):
    """The tasks cannot be run as asked: a bad scheduler address, an unreachable scheduler, local
    workers asked for on a cluster, Dask not installed. The message says what would work."""


class WorkerLostError(RuntimeError):
    """Task ``index`` (``task``, named ``label``) killed the worker process running it ``attempts``
    times; ``cause`` says how the process ended (`` (killed by SIGKILL ...)``, `` on different Dask
    workers``). Tasks that finished before it were yielded to the caller."""

    def __init__(self, index: int, task: object, label: str, attempts: int, cause: str) -> None:
        super().__init__(index, task, label, attempts, cause)
        self.index, self.task, self.label, self.attempts, self.cause = index, task, label, attempts, cause

    def explain(self, label: str | None = None, hint: str = MEMORY_HINT) -> str:
        """``{label} killed its worker process {attempts} times{cause}, so the run stopped (if it runs
        out of memory: {hint})``; ``label`` defaults to the one the runner gave the task."""
        return (f"{label or self.label} killed its worker process {self.attempts} times{self.cause}, so the run "
                f"stopped (if it runs out of memory: {hint})")

    def __str__(self) -> str:
        return self.explain()


@dataclass(frozen=True)
class Executor:
    """Where tasks run: ``workers`` local processes (1: this process), or the Dask cluster whose
    scheduler is at ``scheduler`` (then ``workers`` must be 1)."""

    workers: int = 1
    scheduler: str | None = None

    def check(self) -> None:
        """Refuse what cannot work before any task runs: raise :class:`ExecutorError` for a malformed
        scheduler address, ``workers > 1`` with a scheduler (the cluster uses all its workers), or a
        ``SERVSIM_CONNECT_TIMEOUT`` that is not a number of seconds. Whether the scheduler answers
        is known only when :func:`execute` connects (it raises :class:`ExecutorError` then)."""
        if self.scheduler is None:
            return
        m = _ADDRESS.fullmatch(self.scheduler.strip())
        if (m is None or (m["protocol"] is not None and m["protocol"] not in _PROTOCOLS)
                or not 0 < int(m["port"]) < 65536):
            raise ExecutorError(f"--scheduler {self.scheduler!r} is not a Dask scheduler address: expected "
                                f"PROTOCOL://HOST:PORT, e.g. tcp://10.0.0.5:8786 or tcp://scheduler:8786 "
                                f"(protocols: {', '.join(_PROTOCOLS)})")
        if self.workers > 1:
            raise ExecutorError(f"--workers {self.workers} cannot be combined with --scheduler: --workers sets "
                                "local processes, while a cluster runs the tasks on all of its workers (start "
                                "more `dask worker` processes to use more); drop --workers")
        connect_timeout()


def connect_timeout() -> float:
    """Seconds to wait for the scheduler: ``SERVSIM_CONNECT_TIMEOUT``, else :data:`CONNECT_TIMEOUT_S`."""
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


def execute(fn: Callable[[A], R], tasks: Sequence[A], executor: Executor, describe: Callable[[A], str],
            in_process: Callable[[A], R] | None = None) -> Iterator[tuple[int, R]]:
    """``(i, fn(tasks[i]))`` for every task, as they finish, on ``executor`` (module docstring).

    ``describe(task)`` names a task in warnings and in :class:`WorkerLostError`; ``in_process``, if
    given, replaces ``fn`` when the tasks run in this process (``fn`` may then be a worker-only
    wrapper, such as a fault-injection hook). Raises :class:`ExecutorError` when the executor cannot
    be used, :class:`WorkerLostError` when a task keeps killing its worker.
    """
    executor.check()
    if not tasks:
        return
    if executor.scheduler is not None:
        yield from _on_dask(fn, tasks, executor.scheduler.strip(), describe)
    elif executor.workers <= 1:
        run_here = in_process or fn
        for i, task in enumerate(tasks):
            yield i, run_here(task)
    else:
        yield from _on_local_pool(fn, tasks, min(executor.workers, len(tasks), os.cpu_count() or 1), describe)


def _on_local_pool(fn: Callable[[A], R], tasks: Sequence[A], workers: int,
                   describe: Callable[[A], str]) -> Iterator[tuple[int, R]]:
    # closed explicitly, so that closing this generator stops the pool's workers at once
    with closing(resilient_map(fn, tasks, workers, lambda i: describe(tasks[i]))) as results:
        try:
            yield from results
        except WorkerDied as exc:
            task = tasks[exc.index]
            raise WorkerLostError(exc.index, task, describe(task), exc.attempts, exc.cause) from None


def _on_dask(fn: Callable[[A], R], tasks: Sequence[A], scheduler: str,
             describe: Callable[[A], str]) -> Iterator[tuple[int, R]]:
    try:
        from distributed import Client, KilledWorker, as_completed
    except ImportError:  # pragma: no cover - depends on the environment
        raise ExecutorError("running on a cluster needs Dask: pip install 'servsim[cluster]'") from None
    timeout = connect_timeout()
    try:
        client = Client(scheduler, timeout=timeout)
    except OSError as exc:  # includes TimeoutError and Dask's CommClosedError
        raise ExecutorError(f"could not reach a Dask scheduler at {scheduler} within {timeout:g} s: is it "
                            f"running, and is the address right? To run on a cluster, {_START_A_SCHEDULER}. "
                            f"Set {CONNECT_TIMEOUT_ENV}=SECONDS to wait longer.") from exc
    with client:
        # pure=False: each task runs once per submission, never merged with an equal-looking one
        futures = client.map(fn, list(tasks), pure=False, retries=DASK_RETRIES)
        index_of = {fut.key: i for i, fut in enumerate(futures)}
        for fut in as_completed(futures):
            i = index_of[fut.key]
            try:
                result = fut.result()
            except KilledWorker as exc:  # the scheduler gave up: this task's workers kept dying
                tries = getattr(exc, "allowed_failures", 3) + 1
                raise WorkerLostError(i, tasks[i], describe(tasks[i]), tries, " on different Dask workers") from None
            yield i, result
