"""Local process pools that survive a dead worker: `servsim.workers.resilient_map`."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from servsim.workers import WORKER_RETRIES, WorkerDied, resilient_map


def square_or_die(arg: tuple[int, str, int]) -> int:
    """i², unless i is the victim: then kill this worker, ``times`` times in all (counted in a file)."""
    i, marks, times = arg
    if i == 3:
        log = Path(marks)
        done = len(log.read_text().split()) if log.exists() else 0
        if done < times:
            with log.open("a") as f:
                f.write("x\n")
            os.kill(os.getpid(), signal.SIGKILL)
    return i * i


def test_a_worker_killed_once_costs_only_a_rerun_of_its_task(tmp_path, caplog):
    args = [(i, str(tmp_path / "marks"), 1) for i in range(8)]
    with caplog.at_level("WARNING", logger="servsim.workers"):
        got = dict(resilient_map(square_or_die, args, 2, lambda i: f"task {i}"))
    assert got == {i: i * i for i in range(8)}
    assert (tmp_path / "marks").read_text().split() == ["x"]
    assert "killed by SIGKILL" in caplog.text and "task 3" in caplog.text


def test_a_task_that_always_kills_its_worker_is_named_after_its_retries(tmp_path):
    args = [(i, str(tmp_path / "marks"), 100) for i in range(6)]
    finished = []
    with pytest.raises(WorkerDied) as info:
        for i, value in resilient_map(square_or_die, args, 2):
            finished.append(i)
    assert info.value.index == 3 and info.value.attempts == 1 + WORKER_RETRIES
    assert "SIGKILL" in info.value.cause
    assert 3 not in finished and {0, 1, 2} <= set(finished)   # the tasks before it finished


def test_the_cause_of_death_ignores_workers_that_ended_with_the_pool():
    from types import SimpleNamespace as P

    from servsim.workers import _exit_cause

    assert _exit_cause([P(exitcode=0), P(exitcode=-signal.SIGKILL)]).startswith(" (killed by SIGKILL")
    assert _exit_cause([P(exitcode=-signal.SIGTERM), P(exitcode=None), P(exitcode=3)]) == " (exit status 3)"
    assert _exit_cause([P(exitcode=0), P(exitcode=-signal.SIGTERM)]) == ""
