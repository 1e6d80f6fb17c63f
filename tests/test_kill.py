"""Workers die with their driver, however it dies (acceptance 3 of the reliability issue).

The full loop — each of ``run --workers 2``, ``compare`` and ``sweep`` SIGKILLed 10 times at random
points — is ``python tests/kill_drivers.py --times 10``; here each command is killed once (more with
``SERVSIM_KILL_TIMES=n``) while its workers run, and
``run --workers 2`` is stopped with SIGTERM as ``timeout`` does. A sweep's driver is also killed at
each point of writing a batch of the result store: with finished tasks only in memory, after a
batch's first table file, with its marker written but not yet renamed, and before the batch folder's
fsync.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

import pandas as pd

from kill_drivers import SURVIVAL_S, SWEEP, argv, environment, kill_loop, processes_with, write_files
from servsim import status
from servsim.cli import app
from servsim.experiments.store import stored_tasks

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


# --------------------------------------------------------------------------- killed while batching

#: Batches of 4 tasks, by count only; SIGKILL at POINT (the rest of the store works as it does).
KILL_MID_BATCH = """\
import os, signal
import servsim.experiments.store as _store
_store.BATCH_TASKS, _store.BATCH_SECONDS = 4, 3600.0
POINT = {point!r}

def _die():
    os.kill(os.getpid(), signal.SIGKILL)

_real_add, _added = _store._OpenBatch.add, [0]
def _add(self, *args, **kwargs):
    _real_add(self, *args, **kwargs)
    _added[0] += 1
    if POINT == "in_memory" and _added[0] == 6:  # batch 1 written at the 4th task; the 5th and 6th in memory
        _die()
_store._OpenBatch.add = _add

_real_write_bytes = _store.write_bytes
def _write_bytes(path, data, **kwargs):
    second = path.name.startswith("batch-000002.")
    if second and POINT == "marker" and path.name.endswith(".json"):
        def _write(fh):
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
            _die()  # the marker complete in its temporary file, not yet renamed
        _store.atomic_write(path, _write, sync_dir=False)
    _real_write_bytes(path, data, **kwargs)
    if second and POINT == "tables":
        _die()  # after the second batch's first table file
_store.write_bytes = _write_bytes

_real_fsync_dir = _store.fsync_dir
def _fsync_dir(directory):
    if POINT == "folder_sync" and (directory / "batch-000002.json").exists():
        _die()  # the second batch complete, its folder not yet synced
    _real_fsync_dir(directory)
_store.fsync_dir = _fsync_dir
"""

#: Tasks stored when the driver is killed at each point (12 tasks in batches of 4).
STORED_AT_KILL = {"in_memory": 4, "tables": 4, "marker": 4, "folder_sync": 8}
TASKS = 12


def _sweep(folder: Path, out: Path, workers: int, patch: str = "", token: str | None = None
           ) -> subprocess.CompletedProcess[str]:
    code = f"import sys\n{patch}\nfrom servsim.cli import app\nsys.argv[0] = 'servsim'\napp()"
    return subprocess.run([sys.executable, "-c", code, "sweep", str(folder / "sweep12.yaml"), "-w", str(workers),
                           "--quiet", "--out", str(out)], env=environment(token or uuid.uuid4().hex),
                          capture_output=True, text=True, timeout=300)


def _markers(store: Path) -> dict[str, tuple[int, int]]:
    """Each batch marker of ``store``: (its mtime, the number of tasks it names)."""
    return {p.name: (p.stat().st_mtime_ns, len(json.loads(p.read_text())["tasks"]))
            for p in sorted((store / "batches").glob("batch-*.json"))}


@pytest.fixture(scope="module")
def sweep12(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """A folder with a sweep of 3 cells x 4 replications, and its uninterrupted results table."""
    folder = tmp_path_factory.mktemp("mid-batch")
    write_files(folder)
    (folder / "sweep12.yaml").write_text(SWEEP.replace("replications: 2", "replications: 4"))
    res = CliRunner().invoke(app, ["sweep", str(folder / "sweep12.yaml"), "--quiet", "--out",
                                   str(folder / "uninterrupted")])
    assert res.exit_code == 0, res.output
    return folder, pd.read_parquet(folder / "uninterrupted" / "results.parquet")


@pytest.mark.parametrize("point,workers", [("in_memory", 1), ("in_memory", 2), ("tables", 1), ("marker", 1),
                                           ("folder_sync", 1)])
def test_a_driver_killed_mid_batch_loses_only_the_open_batch(sweep12: tuple[Path, pd.DataFrame], point: str,
                                                             workers: int) -> None:
    folder, uninterrupted = sweep12
    out = folder / f"killed-{point}-{workers}"
    store = out / "store"
    token = uuid.uuid4().hex
    killed = _sweep(folder, out, workers, KILL_MID_BATCH.format(point=point), token)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    _assert_none_survive(token)
    assert len(stored_tasks(store)) == STORED_AT_KILL[point]
    flushed = _markers(store)
    leftovers = [p.name for p in (store / "batches").iterdir() if not p.name.startswith("batch-000001.")]
    if point in ("tables", "marker"):
        assert leftovers and not any(name.endswith(".json") for name in leftovers)  # half a batch, no marker

    rerun = _sweep(folder, out, workers)
    assert rerun.returncode == 0, rerun.stderr
    assert "corrupt" not in rerun.stderr  # a kill leaves leftovers, never a damaged batch
    after = _markers(store)
    assert all(after[name] == stamp for name, stamp in flushed.items())  # flushed batches untouched
    # the rerun computed exactly the tasks that were not stored, and cleaned the killed run's leftovers
    assert sum(tasks for name, (_, tasks) in after.items() if name not in flushed) == TASKS - STORED_AT_KILL[point]
    assert len(stored_tasks(store)) == TASKS
    assert not [p for p in (store / "batches").iterdir() if p.name.endswith(".tmp")]
    pd.testing.assert_frame_equal(pd.read_parquet(out / "results.parquet"), uninterrupted)


#: One batch for the whole run; lines in LOG before and after each task is given to the store.
ONE_BATCH_LOGGED = """\
import servsim.experiments.store as _store
_store.BATCH_TASKS, _store.BATCH_SECONDS = 10**6, 3600.0
_real_add = _store._OpenBatch.add
def _add(self, key, *args, **kwargs):
    with open({log!r}, "a") as f:
        f.write("given " + key.id + "\\n")
    _real_add(self, key, *args, **kwargs)
    with open({log!r}, "a") as f:
        f.write("taken " + key.id + "\\n")
_store._OpenBatch.add = _add
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_sweep_writes_its_open_batch_before_it_exits(sweep12: tuple[Path, pd.DataFrame],
                                                                    sig: signal.Signals) -> None:
    folder, _ = sweep12
    (folder / "sweep120.yaml").write_text(SWEEP.replace("replications: 2", "replications: 40"))
    log, out = folder / f"given-{sig.name}.log", folder / f"interrupted-{sig.name}"
    code = f"import sys\n{ONE_BATCH_LOGGED.format(log=str(log))}\nfrom servsim.cli import app\napp()"
    proc = subprocess.Popen([sys.executable, "-c", code, "sweep", str(folder / "sweep120.yaml"), "--quiet",
                             "--out", str(out)], env=environment(uuid.uuid4().hex), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None and (
            not log.exists() or log.read_text().count("taken") < 5):
        time.sleep(0.02)
    assert not stored_tasks(out / "store")  # everything is still in memory
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == status.INTERRUPTED, err
    lines = [line.split() for line in log.read_text().splitlines()]
    given, taken = ({task for what, task in lines if what == word} for word in ("given", "taken"))
    assert 5 <= len(taken) < 120
    stored = {key.id for key in stored_tasks(out / "store")}
    assert taken <= stored <= given  # every task the store had taken is stored (the signal may come mid-put)
