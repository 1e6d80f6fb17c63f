"""The result store and the output folder under attack and accident: a second driver, planted links,
corrupt stored files, a full or read-only disk, a file where the store folder should be.

Disk full and read-only are simulated by patching ``os`` functions (in a subprocess for the command
line), since the tests run as a user that no permission bit stops.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from typer.testing import CliRunner, Result

from conftest import ROOT, TINY_CENTRE
from servsim import status
from servsim.cli import app
from servsim.experiments.store import (
    BATCHES, LOCK, MANIFEST, ResultStore, StoreError, TaskKey, canonical_json, config_hash,
)
from servsim.status import BusyError, OutputError

HASH = config_hash({"experiment": "hardening"})
KEYS = [TaskKey("a", 0, 0), TaskKey("a", 0, 1), TaskKey("b", 2, 0)]

SCENARIO = TINY_CENTRE

EXPERIMENT = """\
name: tiny options
base: centre.yaml
replications: 3
seed: 5
metrics: [asa_s, abandon_rate]
options:
  base: []
  more_staff: [{set: {path: pools.agents.agents, value: 5}}]
"""


def tables(key: TaskKey) -> dict[str, pd.DataFrame]:
    """A task's tables: a pure function of its key, as real tasks are of their seed."""
    base = 10.0 * key.cell + key.replication
    return {"results": pd.DataFrame({"asa_s": [base + 0.25], "option": [key.option]}),
            "intervals": pd.DataFrame({"interval": [0, 1, 2], "wait": [base, base + 1.5, base * 2]})}


def run_all(root: Path) -> dict[str, pd.DataFrame]:
    """Open the store, compute what is not done, and load every table (what a driver does)."""
    with ResultStore(root, HASH) as store:
        for key in store.pending(KEYS):
            store.put(key, tables(key))
        return {name: store.load(name) for name in ("results", "intervals")}


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "centre.yaml").write_text(SCENARIO)
    (tmp_path / "exp.yaml").write_text(EXPERIMENT)
    return tmp_path


def servsim(*args: str, patch: str = "", timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The command line in a fresh process; ``patch`` is Python run first (to simulate disk faults)."""
    code = f"import sys\n{patch}\nfrom servsim.cli import app\nsys.argv[0] = 'servsim'\napp()"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def compare(files: Path, out: str, *args: str, patch: str = "") -> subprocess.CompletedProcess[str]:
    return servsim("compare", str(files / "exp.yaml"), "--quiet", "--out", str(files / out), *args, patch=patch)


def compare_here(files: Path, out: str, *args: str) -> Result:
    """The same command in this process (no start-up cost): for reference runs and refusals."""
    return CliRunner().invoke(app, ["compare", str(files / "exp.yaml"), "--quiet", "--out", str(files / out), *args])


def stored_results(files: Path, out: str) -> pd.DataFrame:
    return pd.read_parquet(files / out / "results.parquet")


# --------------------------------------------------------------------------- two drivers


HOLDER = """\
import sys, time
from pathlib import Path
from servsim.experiments.store import ResultStore
store = ResultStore(Path(sys.argv[1]), sys.argv[2])
(Path(sys.argv[1]) / "batches").mkdir()
(Path(sys.argv[1]) / "batches" / "batch-000005.results.arrow").write_bytes(b"ARROW1")  # being written
print("ready", flush=True)
time.sleep(60)
"""


def test_a_second_driver_is_refused_naming_the_first_and_deletes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "store"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(root), HASH], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(BusyError) as info:
            ResultStore(root, HASH)
        assert info.value.pid == holder.pid and str(holder.pid) in str(info.value)
        assert (root / BATCHES / "batch-000005.results.arrow").is_file()  # the other's unfinished batch
        assert (root / LOCK).read_text().strip() == str(holder.pid)
    finally:
        holder.kill()
        holder.wait()
    # a dead holder's lock is gone with it: the store opens and cleans the leftover
    with ResultStore(root, HASH) as store:
        assert store.done() == set()
    assert not (root / BATCHES / "batch-000005.results.arrow").exists()


def test_the_same_process_may_open_its_store_again(tmp_path: Path) -> None:
    first = ResultStore(tmp_path, HASH)
    first.put(KEYS[0], tables(KEYS[0]))
    assert ResultStore(tmp_path, HASH).done() == {KEYS[0]}  # the open batch is shared, and written
    first.put(KEYS[1], tables(KEYS[1]))
    first.close()
    assert ResultStore(tmp_path, HASH).done() == {KEYS[0], KEYS[1]}


def test_two_compares_into_one_folder_one_refuses_the_other_finishes(files: Path) -> None:
    # long enough that the first one is still running when it is paused
    (files / "long.yaml").write_text(SCENARIO.replace('end: "09:30"', 'end: "16:00"'))
    (files / "exp.yaml").write_text(EXPERIMENT.replace("centre.yaml", "long.yaml").replace("replications: 3",
                                                                                            "replications: 6"))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "MPLBACKEND": "Agg"}
    first = subprocess.Popen([sys.executable, "-m", "servsim.cli", "compare", str(files / "exp.yaml"), "--quiet",
                              "--out", str(files / "shared")], env=env, stderr=subprocess.PIPE, text=True)
    lock = files / "shared" / "store" / LOCK
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and first.poll() is None and not (lock.exists() and lock.read_text().strip()):
        time.sleep(0.01)
    os.kill(first.pid, signal.SIGSTOP)  # hold the first one mid-run, whatever the machine's speed
    try:
        second = compare(files, "shared")
    finally:
        os.kill(first.pid, signal.SIGCONT)
    _, first_err = first.communicate(timeout=120)
    assert second.returncode == status.BUSY, second.stderr
    assert f"process {first.pid}" in second.stderr and "Traceback" not in second.stderr
    assert first.returncode == 0, first_err
    assert compare_here(files, "alone").exit_code == 0
    pd.testing.assert_frame_equal(stored_results(files, "shared"), stored_results(files, "alone"))


# --------------------------------------------------------------------------- links


def _victim(tmp_path: Path) -> Path:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("precious")
    return victim


def _untouched(victim: Path) -> bool:
    return sorted(p.name for p in victim.iterdir()) == ["keep.txt"] and (victim / "keep.txt").read_text() == "precious"


LINK_PLACES = ["root", "batches", "table", "marker", "manifest", "lock"]


@pytest.mark.parametrize("place", LINK_PLACES)
def test_a_link_planted_anywhere_in_the_store_is_refused_and_never_followed(tmp_path: Path, place: str) -> None:
    root = tmp_path / "out" / "store"
    run_all(root)
    victim = _victim(tmp_path)
    batches = root / BATCHES
    target = {"root": root, "batches": batches, "table": batches / "batch-000001.results.arrow",
              "marker": batches / "batch-000001.json", "manifest": root / MANIFEST, "lock": root / LOCK}[place]
    if target.is_dir():
        os.rename(target, victim / "moved")  # the link's target holds what was there: servsim must not touch it
        (victim / "keep.txt").write_text("precious")
        os.symlink(victim / "moved", target)
        snapshot = sorted(str(p.relative_to(victim)) for p in victim.rglob("*"))
    else:
        target.unlink()
        os.symlink(victim / "keep.txt", target)
        snapshot = sorted(str(p.relative_to(victim)) for p in victim.rglob("*"))
    with pytest.raises(OutputError) as info:
        run_all(root)
    assert info.value.path == target and "symbolic link" in info.value.reason
    assert sorted(str(p.relative_to(victim)) for p in victim.rglob("*")) == snapshot
    assert (victim / "keep.txt").read_text() == "precious"


def test_a_batch_is_never_written_through_a_link_planted_after_opening(tmp_path: Path) -> None:
    victim = _victim(tmp_path)
    with pytest.raises(OutputError, match="symbolic link"):
        with ResultStore(tmp_path / "store", HASH) as store:
            store.put(TaskKey("z", 9, 0), tables(TaskKey("z", 9, 0)))
            store.flush()
            os.rename(store.batches_dir, tmp_path / "aside")
            os.symlink(victim, store.batches_dir)
            store.put(KEYS[0], tables(KEYS[0]))  # written when the store is closed
    assert _untouched(victim)


def test_a_link_at_the_name_of_the_next_batch_file_is_replaced_not_followed(tmp_path: Path) -> None:
    victim = _victim(tmp_path)
    with ResultStore(tmp_path / "store", HASH) as store:
        store.put(KEYS[0], tables(KEYS[0]))
        store.flush()
        for name in ("batch-000002.results.arrow", "batch-000002.json"):
            os.symlink(victim / "keep.txt", store.batches_dir / name)
        store.put(KEYS[1], tables(KEYS[1]))
        assert store.done() == {KEYS[0], KEYS[1]}
    assert _untouched(victim)


def test_run_out_writes_never_follow_planted_links(files: Path, tmp_path: Path) -> None:
    victim = _victim(tmp_path)
    out = files / "out"
    out.mkdir()
    for name in ("kpis.csv", "summary.parquet", "run.json"):
        os.symlink(victim / "keep.txt", out / name)
    res = servsim("run", str(files / "centre.yaml"), "-n", "2", "--json", "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert _untouched(victim)
    for name in ("kpis.csv", "summary.parquet", "run.json"):
        assert not (out / name).is_symlink() and (out / name).stat().st_size > 0  # the link itself was replaced


def test_an_out_folder_that_is_a_link_is_refused(files: Path, tmp_path: Path) -> None:
    victim = _victim(tmp_path)
    os.symlink(victim, files / "linked")
    for args in (["run", str(files / "centre.yaml"), "-n", "1", "--out", str(files / "linked")],
                 ["compare", str(files / "exp.yaml"), "--quiet", "--out", str(files / "linked")]):
        res = CliRunner().invoke(app, args)
        assert res.exit_code == status.OUTPUT_FAILED, res.output
        assert "symbolic link" in res.output
    assert _untouched(victim)


def test_report_outputs_never_follow_planted_links(files: Path, tmp_path: Path) -> None:
    victim = _victim(tmp_path)
    out = files / "out"
    out.mkdir()
    os.symlink(victim / "keep.txt", out / "summary.csv")  # a file link is replaced by the file itself
    os.symlink(victim, out / "figures")  # a folder link is refused
    res = CliRunner().invoke(app, ["compare", str(files / "exp.yaml"), "--quiet", "--out", str(out)])
    assert res.exit_code == status.OUTPUT_FAILED or isinstance(res.exception, OutputError), res.output
    if isinstance(res.exception, OutputError):
        assert res.exception.path == out / "figures" and "symbolic link" in res.exception.reason
    assert _untouched(victim)
    assert not (out / "summary.csv").is_symlink() and "option" in (out / "summary.csv").read_text()


# --------------------------------------------------------------------------- corrupt stored files


#: The uninterrupted tables of :func:`run_all`, made once.
_REFERENCE: dict[str, pd.DataFrame] = {}


def _stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name != LOCK)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pick=st.integers(min_value=0), offset=st.integers(min_value=0), mask=st.integers(1, 255),
       truncate=st.booleans())
def test_a_truncated_or_flipped_stored_file_of_any_kind_is_recomputed(pick: int, offset: int, mask: int,
                                                                      truncate: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        reference = _REFERENCE or _REFERENCE.update(run_all(Path(tmp) / "reference")) or _REFERENCE
        root = Path(tmp) / "store"
        run_all(root)
        stored = _stored_files(root)
        victim = stored[pick % len(stored)]
        data = victim.read_bytes()
        at = offset % len(data)
        victim.write_bytes(data[:at] if truncate else data[:at] + bytes([data[at] ^ mask]) + data[at + 1:])
        again = run_all(root)
        for name, frame in reference.items():
            pd.testing.assert_frame_equal(again[name], frame)
        assert {p.relative_to(root) for p in _stored_files(root)} == {p.relative_to(root) for p in stored}


def test_a_corrupt_table_is_named_in_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with ResultStore(tmp_path, HASH, batch_tasks=2) as store:  # KEYS[0:2] in batch 1, KEYS[2] in batch 2
        for key in KEYS:
            store.put(key, tables(key))
    table = tmp_path / BATCHES / "batch-000001.intervals.arrow"
    data = bytearray(table.read_bytes())
    data[len(data) // 2] ^= 0x01  # a flip that may still parse
    table.write_bytes(bytes(data))
    with caplog.at_level("WARNING", logger="servsim.experiments.store"):
        with ResultStore(tmp_path, HASH) as store:
            assert store.done() == {KEYS[2]}  # the batch's tasks are computed again
    assert "batch-000001.intervals.arrow does not match its checksum" in caplog.text
    assert KEYS[0].id in caplog.text and KEYS[1].id in caplog.text and KEYS[2].id not in caplog.text


def test_a_damaged_marker_is_a_warning_and_its_batch_is_removed(tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    run_all(tmp_path)
    (tmp_path / BATCHES / "batch-000001.json").write_text("{}")
    with caplog.at_level("WARNING", logger="servsim.experiments.store"):
        with ResultStore(tmp_path, HASH) as store:
            assert store.done() == set()
    assert "batch-000001.json is corrupt (its marker is damaged)" in caplog.text
    assert list((tmp_path / BATCHES).iterdir()) == []


def test_a_truncated_stored_result_is_recomputed_by_compare(files: Path) -> None:
    assert compare_here(files, "straight").exit_code == 0
    assert compare_here(files, "damaged").exit_code == 0
    results = files / "damaged" / "store" / BATCHES / "batch-000001.results.arrow"
    results.write_bytes(results.read_bytes()[:37])
    res = compare(files, "damaged")
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    message = " ".join(res.stderr.split())
    assert "batch-000001.json is corrupt" in message and "opt=more_staff/cell=0000/rep=0001" in message
    assert "its 6 tasks (" in message and "are computed again" in message
    pd.testing.assert_frame_equal(stored_results(files, "damaged"), stored_results(files, "straight"))


# --------------------------------------------------------------------------- full, read-only, in the way

#: fsync of a file fails with ENOSPC after {after} calls: writes fail as they would on a full disk.
DISK_FULL = """\
import errno, os, stat
_real_fsync, _calls = os.fsync, [0]
def _fsync(fd):
    _calls[0] += stat.S_ISREG(os.fstat(fd).st_mode)
    if _calls[0] > {after}:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    return _real_fsync(fd)
os.fsync = _fsync
"""

#: Batches of 2 tasks, by count only, so that the fsyncs of a run are known in advance.
BATCHES_OF_2 = """
import servsim.experiments.store as _store
_store.BATCH_TASKS, _store.BATCH_SECONDS = 2, 3600.0
"""

#: Every call that would change the file system fails with EROFS, as on a read-only mount.
READ_ONLY = """\
import errno, os, shutil
def _refuse(*args, **kwargs):
    raise OSError(errno.EROFS, os.strerror(errno.EROFS))
_real_open = os.open
def _open(path, flags, *args, **kwargs):
    if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
        _refuse()
    return _real_open(path, flags, *args, **kwargs)
os.open = _open
for _name in ("mkdir", "rmdir", "unlink", "remove", "replace", "rename"):
    setattr(os, _name, _refuse)
shutil.rmtree = _refuse
"""


def _no_half_files(folder: Path) -> None:
    for path in folder.rglob("*"):
        assert not path.name.endswith(".tmp"), path
        if path.is_file() and path.suffix in (".parquet", ".csv", ".png", ".html", ".json", ".arrow"):
            assert path.stat().st_size > 0, f"{path} is empty"


def test_a_full_disk_while_storing_stops_with_its_own_status_and_loses_no_finished_task(files: Path) -> None:
    # the --out probe and the manifest cost a file fsync each, and each batch of 2 tasks 4 (3 tables,
    # marker): the second batch fails half-way
    res = compare(files, "full", patch=DISK_FULL.format(after=2 + 4 + 2) + BATCHES_OF_2)
    assert res.returncode == status.OUTPUT_FAILED, res.stderr
    message = " ".join(res.stderr.split())
    assert "no space left on device" in message and "disk is full" in message and "Traceback" not in message
    assert "finished tasks stay stored" in message
    with ResultStore(files / "full" / "store", _experiment_hash(files)) as store:
        assert len(store.done()) == 2  # the two tasks stored before the disk filled up
    _no_half_files(files / "full")
    assert compare_here(files, "full").exit_code == 0  # space again: the run resumes
    assert compare_here(files, "straight").exit_code == 0
    pd.testing.assert_frame_equal(stored_results(files, "full"), stored_results(files, "straight"))


def _experiment_hash(files: Path) -> str:
    from servsim.experiments.runner import experiment_hash
    from servsim.experiments.spec import load_experiment

    return experiment_hash(load_experiment(files / "exp.yaml"))


def test_a_full_disk_while_writing_run_tables_leaves_no_half_file(files: Path) -> None:
    res = servsim("run", str(files / "centre.yaml"), "-n", "2", "--json", "--out", str(files / "out"),
                  patch=DISK_FULL.format(after=5))
    assert res.returncode == status.OUTPUT_FAILED, res.stderr
    assert "no space left on device" in res.stderr and "Traceback" not in res.stderr
    _no_half_files(files / "out")
    # the probe, the folder's store manifest (which run wrote it), then three tables before the disk filled
    assert len(list((files / "out").glob("*.parquet"))) == 3


def test_report_files_are_all_or_nothing_on_a_full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from servsim.report import figures, html

    (tmp_path / "report.html").write_text("the old report")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OutputError, match="no space left on device"):
        html.write_report(tmp_path / "report.html", "<html>new</html>")
    fig = figures.Figure()
    fig.add_subplot().plot([0, 1], [1, 0])
    with pytest.raises(OutputError, match="no space left on device"):
        figures.save(fig, tmp_path / "figures" / "line.png")
    assert (tmp_path / "report.html").read_text() == "the old report"  # the old file stands
    assert not (tmp_path / "figures" / "line.png").exists()
    _no_half_files(tmp_path)


def test_a_read_only_store_with_leftovers_says_so_and_keeps_finished_tasks(files: Path) -> None:
    assert compare_here(files, "ro").exit_code == 0
    store = files / "ro" / "store"
    (store / BATCHES / "batch-000009.results.arrow").write_bytes(b"ARROW1 half")  # a crash's leftover
    before = sorted(p.relative_to(store) for p in store.rglob("*"))
    res = compare(files, "ro", patch=READ_ONLY)
    assert res.returncode == status.OUTPUT_FAILED, res.stderr
    assert "read-only file system" in res.stderr and "Traceback" not in res.stderr
    assert sorted(p.relative_to(store) for p in store.rglob("*")) == before


def test_a_store_folder_replaced_by_a_file_is_refused(files: Path) -> None:
    (files / "out").mkdir()
    (files / "out" / "store").write_text("not a folder")
    res = compare_here(files, "out")
    assert res.exit_code == status.OUTPUT_FAILED, res.output
    assert "store" in res.output and "is a file, not a folder" in " ".join(res.output.split())
    assert (files / "out" / "store").read_text() == "not a folder"


def test_a_store_folder_replaced_by_a_file_is_an_output_error_in_the_library(tmp_path: Path) -> None:
    (tmp_path / "store").write_text("x")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        ResultStore(tmp_path / "store", HASH)
    with pytest.raises(StoreError):  # the library's own errors are unchanged
        ResultStore(tmp_path / "other", HASH).put(KEYS[0], {"no/slash": pd.DataFrame()})


def test_a_store_of_an_earlier_servsim_is_refused_by_compare_saying_to_overwrite(files: Path) -> None:
    assert compare_here(files, "old").exit_code == 0
    store = files / "old" / "store"
    shutil.rmtree(store / BATCHES)  # as servsim wrote it before batches: format 2, a folder per task
    body = {"format": 2, "config_hash": _experiment_hash(files)}
    (store / MANIFEST).write_text(json.dumps({**body, "checksum": hashlib.sha256(canonical_json(body).encode())
                                                                      .hexdigest()}))
    task = store / "tasks" / "opt=base" / "cell=0000" / "rep=0000"
    task.mkdir(parents=True)
    (task / "_done.json").write_text("{}")
    res = compare_here(files, "old")
    assert res.exit_code == status.BAD_INPUT, res.output
    message = " ".join(res.output.split())
    assert "earlier servsim (store format 2" in message and "--overwrite" in message
    assert "Traceback" not in message and task.is_dir()
    assert compare_here(files, "old", "--overwrite").exit_code == 0
    assert not (store / "tasks").exists()
    assert compare_here(files, "straight").exit_code == 0
    pd.testing.assert_frame_equal(stored_results(files, "old"), stored_results(files, "straight"))
