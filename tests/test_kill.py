"""Workers die with their driver, however it dies (acceptance 3 of the reliability issue).

The full loop — each of ``run --workers 2``, ``compare`` and ``sweep`` SIGKILLed 10 times at random
points — is ``python tests/kill_drivers.py --times 10``; here each command is killed once (more with
``SERVSIM_KILL_TIMES=n``) while its workers run, and
``run --workers 2`` is stopped with SIGTERM as ``timeout`` does.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kill_drivers import SURVIVAL_S, argv, environment, kill_loop, processes_with, write_files
from servsim import status
from servsim.cli import app

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds processes through /proc")

#: Kills per command here (the acceptance loop runs 10: see the module docstring).
TIMES = int(os.environ.get("SERVSIM_KILL_TIMES", "1"))


def _in_this_process(command: str, folder: Path, out: Path) -> float:
    """The uninterrupted reference run, without a new interpreter's start-up; the duration returned
    adds an estimate of that start-up, as the kill points are drawn from it."""
    start = time.monotonic()
    res = CliRunner().invoke(app, argv(command, folder, out)[3:])
    assert res.exit_code == 0, res.output
    return time.monotonic() - start + 1.5


def test_killed_drivers_leave_no_workers_and_a_rerun_gives_the_uninterrupted_tables(tmp_path: Path) -> None:
    outcomes = kill_loop(tmp_path, TIMES, seed=int.from_bytes(os.urandom(2), "little"), uninterrupted=_in_this_process)
    failures = [f for o in outcomes for f in o.failures]
    assert not failures, "\n".join(failures)
    assert [o.kills for o in outcomes] == [TIMES] * 3  # drivers that finished first are tried again


def _assert_none_survive(token: str) -> None:
    """No process carrying ``token`` is alive ``SURVIVAL_S`` after its driver ended (any survivor is
    killed, so a failing test leaves nothing behind)."""
    deadline = time.monotonic() + SURVIVAL_S
    while processes_with(token) and time.monotonic() < deadline:
        time.sleep(0.05)
    survivors = processes_with(token)
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)
    assert survivors == []


def _wait_for_workers(token: str, proc: subprocess.Popen[bytes], count: int = 3) -> None:
    deadline = time.monotonic() + 60
    while len(processes_with(token)) < count:
        assert proc.poll() is None and time.monotonic() < deadline, "the workers never started"
        time.sleep(0.02)


def test_sigterm_to_run_with_workers_stops_them_and_exits_130(tmp_path: Path) -> None:
    write_files(tmp_path)
    token = uuid.uuid4().hex
    cmd = argv("run", tmp_path, tmp_path / "out")
    cmd[cmd.index("16")] = "400"  # many replications: still running when the signal comes
    proc = subprocess.Popen(cmd, env=environment(token), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _wait_for_workers(token, proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    if proc.returncode != status.INTERRUPTED:
        _assert_none_survive(token)
    assert proc.returncode == status.INTERRUPTED, err
    _assert_none_survive(token)
    assert b"interrupted" in err and b"Traceback" not in err


def test_a_worker_whose_driver_was_killed_ends_even_without_pdeathsig(tmp_path: Path) -> None:
    """The portable fallback alone: a pool started from a thread other than the main one gets no
    PDEATHSIG, so only the worker's watch on its parent ends it."""
    code = (
        "import threading, time\n"
        "from servsim.workers import resilient_map\n"
        "def run():\n"
        "    for _ in resilient_map(time.sleep, [30.0, 30.0], 2):\n"
        "        pass\n"
        "t = threading.Thread(target=run)\n"
        "t.start()\n"
        "t.join()\n"
    )
    token = uuid.uuid4().hex
    proc = subprocess.Popen([sys.executable, "-c", code], env=environment(token))
    _wait_for_workers(token, proc)
    proc.kill()
    proc.wait()
    _assert_none_survive(token)
