"""Execution faults: a worker process that dies costs only its task, which is retried; a task that
keeps killing its worker stops the run naming it; a scheduler that is malformed, unreachable or
combined with --workers is refused with a message and exit status 2.

Workers are killed for real, by the runner's fault-injection hook: with SERVSIM_TEST_KILL_WORKER
naming a file, every task attempt in a worker appends its id there, and the first task to start
sends SIGKILL to its own worker process (on its first SERVSIM_TEST_KILL_TIMES attempts).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from servsim.cli import EXIT_BAD_INPUT, EXIT_TASK_FAILED, app
from servsim.experiments.runner import (
    CONNECT_TIMEOUT_ENV, KILL_TIMES_ENV, KILL_WORKER_ENV, ExecutorError, check_executor,
    experiment_hash, run_experiment, run_tasks, tasks_for,
)
from servsim.experiments.spec import load_experiment
from servsim.workers import WORKER_RETRIES
from servsim.experiments.store import ResultStore
from conftest import ROOT, TINY_CENTRE

SCENARIO = TINY_CENTRE

EXPERIMENT = """\
name: tiny options
base: centre.yaml
replications: 4
seed: 5
metrics: [asa_s, abandon_rate]
options:
  base: []
  more_staff: [{set: {path: pools.agents.agents, value: 5}}]
"""

SWEEP = """\
name: tiny sweep
base: centre.yaml
replications: 2
seed: 5
metrics: [asa_s]
sweep:
  parameters:
    pools.agents.agents: [4, 5]
"""


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "centre.yaml").write_text(SCENARIO)
    (tmp_path / "exp.yaml").write_text(EXPERIMENT)
    (tmp_path / "sweep.yaml").write_text(SWEEP)
    return tmp_path


def _compare_cli(files: Path, out: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`servsim compare` in a fresh process (its workers see the hook's environment variables)."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **env}
    cmd = [sys.executable, "-m", "servsim.cli", "compare", str(files / "exp.yaml"), "--quiet",
           "--out", str(files / out), *args]
    return subprocess.run(cmd, env=full_env, capture_output=True, text=True, timeout=120)


def _attempts(log: Path) -> tuple[str, Counter[str]]:
    """The task that killed its worker (the first to start) and the attempts of every task."""
    lines = log.read_text().split()
    return lines[0], Counter(lines)


def _all_ids(files: Path) -> set[str]:
    return {t.key.id for t in tasks_for(load_experiment(files / "exp.yaml"))}


def test_a_killed_local_worker_costs_only_its_task_and_the_numbers_do_not_change(files):
    log = files / "attempts.log"
    res = _compare_cli(files, "faulted", "--workers", "2", **{KILL_WORKER_ENV: str(log)})
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    assert "a worker process died (killed by SIGKILL" in res.stderr, res.stderr
    victim, attempts = _attempts(log)
    assert attempts[victim] == 2, attempts  # killed once, then retried and finished
    assert set(attempts) == _all_ids(files)
    # only the tasks in flight when the worker died (one per worker) ran again; finished ones did not
    rerun = [t for t, n in attempts.items() if n > 1]
    assert victim in rerun and len(rerun) <= 2 and max(attempts.values()) == 2, attempts
    exp = load_experiment(files / "exp.yaml")
    undisturbed = run_experiment(exp, files / "straight", workers=1)
    stored = run_experiment(exp, files / "faulted", workers=1)  # everything is stored: nothing runs
    assert len(stored) == 8
    pd.testing.assert_frame_equal(stored, undisturbed)


def test_a_task_that_keeps_killing_its_worker_stops_the_run_naming_it(files):
    log = files / "attempts.log"
    res = _compare_cli(files, "faulted", "--workers", "2", **{KILL_WORKER_ENV: str(log), KILL_TIMES_ENV: "99"})
    assert res.returncode == EXIT_TASK_FAILED, res.stderr
    assert "Traceback" not in res.stderr
    victim, attempts = _attempts(log)
    assert attempts[victim] == 1 + WORKER_RETRIES
    option, replication = victim.split("/")[0].removeprefix("opt="), int(victim.split("rep=")[1])
    message = " ".join(res.stderr.split())
    assert f"task option '{option}', replication {replication} killed its worker process 3 times" in message
    assert "SIGKILL" in message and "running the same command again resumes" in message, message
    # the other task in flight was run again alone and stored; the culprit is not stored
    exp = load_experiment(files / "exp.yaml")
    done = {k.id for k in ResultStore(files / "faulted" / "store", experiment_hash(exp)).done()}
    assert victim not in done and len(done) >= 1
    # without the fault, the same command resumes and completes with the undisturbed numbers
    again = _compare_cli(files, "faulted")
    assert again.returncode == 0, again.stderr
    pd.testing.assert_frame_equal(run_experiment(exp, files / "faulted"), run_experiment(exp, files / "straight"))


def test_a_sweep_names_the_failing_task_by_its_parameter_values(files):
    log = files / "attempts.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), KILL_WORKER_ENV: str(log), KILL_TIMES_ENV: "99"}
    res = subprocess.run([sys.executable, "-m", "servsim.cli", "sweep", str(files / "sweep.yaml"), "--quiet",
                          "--workers", "2", "--out", str(files / "res")], env=env, capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == EXIT_TASK_FAILED, res.stderr
    victim, attempts = _attempts(log)
    cell, replication = int(victim.split("cell=")[1].split("/")[0]), int(victim.split("rep=")[1])
    agents = [4, 5][cell]
    message = " ".join(res.stderr.split())
    assert (f"task cell {cell} (pools.agents.agents={agents}), replication {replication} killed its worker "
            "process 3 times") in message, message


def test_a_killed_dask_worker_costs_only_its_task(files, monkeypatch):
    distributed = pytest.importorskip("distributed")
    exp = load_experiment(files / "exp.yaml")
    local = run_experiment(exp, files / "local", workers=1)
    log = files / "attempts.log"
    monkeypatch.setenv(KILL_WORKER_ENV, str(log))  # before the cluster starts its worker processes
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        remote = run_experiment(exp, files / "dask", scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(local, remote)
    victim, attempts = _attempts(log)
    assert attempts[victim] == 2 and set(attempts) == _all_ids(files), attempts


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: The input file of each command that runs tasks.
INPUT = {"run": "centre.yaml", "compare": "exp.yaml", "sweep": "sweep.yaml"}


@pytest.mark.parametrize("command", ["run", "compare", "sweep"])
def test_an_unreachable_scheduler_is_a_clear_error(files, monkeypatch, command):
    pytest.importorskip("distributed")
    monkeypatch.setenv(CONNECT_TIMEOUT_ENV, "0.5")
    address = f"tcp://127.0.0.1:{_unused_port()}"
    file = files / INPUT[command]
    res = CliRunner().invoke(app, [command, str(file), "--out", str(files / "res"), "--scheduler", address])
    assert res.exit_code == EXIT_BAD_INPUT, res.output
    assert isinstance(res.exception, SystemExit) and "Traceback" not in res.output
    message = " ".join(res.output.split())
    assert f"could not reach a Dask scheduler at {address} within 0.5 s" in message, message
    assert "dask scheduler" in message and "SERVSIM_CONNECT_TIMEOUT" in message


def test_a_bad_connect_timeout_is_refused(files, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setenv(CONNECT_TIMEOUT_ENV, "soon")
    res = CliRunner().invoke(app, ["compare", str(files / "exp.yaml"), "--out", str(files / "res"),
                                   "--scheduler", f"tcp://127.0.0.1:{_unused_port()}"])
    assert res.exit_code == EXIT_BAD_INPUT, res.output
    assert "SERVSIM_CONNECT_TIMEOUT='soon' is not a number of seconds" in " ".join(res.output.split())


@pytest.mark.parametrize("command", ["run", "sweep"])
@pytest.mark.parametrize("address", ["scheduler", "tcp://scheduler", "http://scheduler:8786",
                                     "tcp://scheduler:99999", "tcp://sched uler:8786", "tcp://:8786"])
def test_a_malformed_scheduler_address_is_refused_before_anything_runs(files, command, address):
    res = CliRunner().invoke(app, [command, str(files / INPUT[command]), "--out", str(files / "res"),
                                   "--scheduler", address])
    assert res.exit_code == EXIT_BAD_INPUT, res.output
    message = " ".join(res.output.split())
    assert "is not a Dask scheduler address: expected PROTOCOL://HOST:PORT, e.g. tcp://" in message, message
    assert not (files / "res").exists()


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:8786", "tls://sched.example.org:8786", "scheduler:8786",
                                     "tcp://[::1]:8786", "ws://dask-scheduler_1:8786"])
def test_well_formed_scheduler_addresses_pass_the_check(address):
    check_executor(1, address)


@pytest.mark.parametrize("command", ["run", "compare", "sweep"])
def test_workers_with_a_scheduler_are_refused(files, command):
    file = files / INPUT[command]
    res = CliRunner().invoke(app, [command, str(file), "--out", str(files / "res"), "--workers", "2",
                                   "--scheduler", "tcp://127.0.0.1:8786"])
    assert res.exit_code == EXIT_BAD_INPUT, res.output
    message = " ".join(res.output.split())
    assert "--workers 2 cannot be combined with --scheduler" in message and "drop --workers" in message, message
    assert not (files / "res").exists()  # refused before the output folder or a connection


def test_the_library_refuses_workers_with_a_scheduler_too(files):
    exp = load_experiment(files / "exp.yaml")
    with pytest.raises(ExecutorError, match="cannot be combined"):
        run_tasks(tasks_for(exp), ResultStore(files / "store", "x"), workers=2, scheduler="tcp://127.0.0.1:8786")

