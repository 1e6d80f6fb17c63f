"""The one task runner, `servsim.execution`: every task once, with the same results on every
executor; one dead-worker exception with one message; workers stopped when the caller stops."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

import servsim
from servsim.execution import Executor, ExecutorError, WorkerLostError, execute
from servsim.workers import WORKER_RETRIES
from conftest import TINY_CENTRE


def cube(x: int) -> int:
    return x ** 3


def pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def dies_on_three(x: int) -> int:
    if x == 3:
        os.kill(os.getpid(), signal.SIGKILL)
    return x


@pytest.mark.parametrize("workers", [1, 2, 3])
@pytest.mark.parametrize("count", [0, 1, 5])
def test_every_task_is_yielded_once_with_its_result_on_every_executor(workers, count):
    tasks = [10 + i for i in range(count)]
    got = list(execute(cube, tasks, Executor(workers), str))
    assert sorted(i for i, _ in got) == list(range(count))
    assert dict(got) == {i: t ** 3 for i, t in enumerate(tasks)}


def test_in_process_replaces_the_worker_function_only_in_this_process():
    def worker_only(x: int) -> int:  # not picklable: it must never reach a pool
        raise AssertionError("ran the worker function in the driver")

    assert list(execute(worker_only, [1, 2], Executor(1), str, in_process=cube)) == [(0, 1), (1, 8)]
    assert dict(execute(cube, [1, 2], Executor(2), str, in_process=worker_only)) == {0: 1, 1: 8}


def test_a_task_that_keeps_killing_its_worker_is_one_exception_with_one_message():
    with pytest.raises(WorkerLostError) as info:
        list(execute(dies_on_three, [0, 1, 2, 3, 4], Executor(2), lambda x: f"item {x}"))
    exc = info.value
    assert (exc.index, exc.task, exc.label, exc.attempts) == (3, 3, "item 3", 1 + WORKER_RETRIES)
    assert str(exc).startswith(f"item 3 killed its worker process {1 + WORKER_RETRIES} times (killed by SIGKILL")
    assert str(exc).endswith("so the run stopped (if it runs out of memory: use fewer workers, or give the "
                             "workers more memory)")
    assert exc.explain("replication 3", hint="use --no-log").endswith("(if it runs out of memory: use --no-log)")
    assert exc.explain("replication 3").startswith("replication 3 killed its worker process")


def _gone(pid: int) -> bool:
    """The process has ended (a zombie not yet reaped by its parent counts as ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except FileNotFoundError:
        return True


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc")
def test_closing_the_results_stops_the_local_workers_at_once():
    results = execute(pid_after, [0.0, 30.0, 30.0, 30.0], Executor(2), str)
    _, worker = next(results)
    results.close()  # as a caller that fails while storing a result does
    deadline = time.monotonic() + 10  # far less than the 30 s the other tasks would take
    while not _gone(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(worker)


def test_the_library_refuses_local_workers_on_a_cluster_before_running_anything(monkeypatch):
    s = servsim.scenario_from_text(TINY_CENTRE)
    with pytest.raises(ExecutorError, match="cannot be combined with --scheduler"):
        servsim.replicate(s, replications=2, workers=2, scheduler="tcp://127.0.0.1:8786")
    monkeypatch.setenv("SERVSIM_CONNECT_TIMEOUT", "-1")
    with pytest.raises(ExecutorError, match="is not a number of seconds"):
        Executor(1, "tcp://127.0.0.1:8786").check()
