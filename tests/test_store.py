"""Tests for the interruption-safe result store (servsim.experiments.store)."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from servsim.experiments import store as store_module
from servsim.experiments.store import (
    BATCHES,
    MANIFEST,
    ResultStore,
    StoreError,
    StoreMismatchError,
    TaskKey,
    config_hash,
    option_slug,
)

HASH = config_hash({"experiment": "test", "replications": 3})


def tables(option: str, cell: int, rep: int) -> dict[str, pd.DataFrame]:
    summary = pd.DataFrame({"metric": ["asa", "sl"], "value": [10.0 * cell + rep, 0.8]})
    contacts = pd.DataFrame({"wait": [1.5, 2.5, float(rep)], "label": [option, "b", "c"]})
    return {"summary": summary, "contacts": contacts}


# --------------------------------------------------------------------------- keys and hashes


def test_task_key_id_and_order() -> None:
    key = TaskKey("baseline", 3, 7)
    assert key.id == "opt=baseline/cell=0003/rep=0007"
    assert TaskKey("a", 0, 12345).id == "opt=a/cell=0000/rep=12345"
    assert sorted([TaskKey("b", 0, 0), TaskKey("a", 1, 0), TaskKey("a", 0, 2)]) == [
        TaskKey("a", 0, 2), TaskKey("a", 1, 0), TaskKey("b", 0, 0)
    ]
    with pytest.raises(ValueError):
        TaskKey("", 0, 0)
    with pytest.raises(ValueError):
        TaskKey("a", -1, 0)


def test_option_slug_is_safe_and_distinct() -> None:
    assert option_slug("plus_10-staff") == "plus_10-staff"
    slugs = {option_slug(name) for name in ("+10% Staff", "+10% staff", "10_staff", "a/b", "a\\b")}
    assert len(slugs) == 5
    for slug in slugs:
        assert all(ch.isalnum() or ch in "_-~" for ch in slug)


def test_config_hash_is_canonical() -> None:
    assert config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": [1, 2], "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})
    assert len(config_hash({})) == 64


# --------------------------------------------------------------------------- put / get


def test_put_get_round_trip(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "run", HASH)
    key = TaskKey("rpa", 2, 5)
    written = tables("rpa", 2, 5)
    store.put(key, written)
    assert store.done() == {key}
    assert store.is_done(key)
    back = store.get(key)
    assert set(back) == {"summary", "contacts"}
    for name, frame in written.items():
        pd.testing.assert_frame_equal(back[name], frame)
    assert (tmp_path / "run" / BATCHES / "batch-000001.json").is_file()
    with pytest.raises(KeyError, match="not done"):
        store.get(TaskKey("rpa", 2, 6))


def _batch_files(root: Path) -> list[str]:
    return sorted(p.name for p in (root / BATCHES).iterdir())


def test_a_batch_is_written_when_full_as_one_file_per_table_and_a_marker(tmp_path: Path) -> None:
    store = ResultStore(tmp_path, HASH, batch_tasks=3, batch_seconds=3600)
    keys = [TaskKey("a", 0, rep) for rep in range(7)]
    for key in keys[:2]:
        store.put(key, tables("a", 0, key.replication))
    assert not (tmp_path / BATCHES).exists()  # held in memory
    store.put(keys[2], tables("a", 0, 2))
    assert _batch_files(tmp_path) == ["batch-000001.contacts.arrow", "batch-000001.json",
                                      "batch-000001.summary.arrow"]
    for key in keys[3:]:
        store.put(key, tables("a", 0, key.replication))
    assert len(_batch_files(tmp_path)) == 6  # the second batch; the seventh task is still open
    store.close()
    assert len(_batch_files(tmp_path)) == 9
    with ResultStore(tmp_path, HASH) as again:
        assert again.done() == set(keys)
        for key in keys:
            for name, frame in tables("a", 0, key.replication).items():
                pd.testing.assert_frame_equal(again.get(key)[name], frame)


def test_a_batch_is_written_a_second_after_the_last_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(store_module.time, "monotonic", lambda: now[0])
    timers: list[float] = []

    class Timer:  # the timer is tested on its own below; here only the writes at a put count
        daemon = False

        def __init__(self, interval: float, function: Any) -> None:
            timers.append(interval)

        def start(self) -> None:
            pass

        def cancel(self) -> None:
            pass

    monkeypatch.setattr(store_module.threading, "Timer", Timer)
    store = ResultStore(tmp_path, HASH, batch_seconds=1.0)
    store.put(TaskKey("a", 0, 0), tables("a", 0, 0))
    now[0] += 0.5
    store.put(TaskKey("a", 0, 1), tables("a", 0, 1))
    assert not (tmp_path / BATCHES).exists()
    now[0] += 0.5
    store.put(TaskKey("a", 0, 2), tables("a", 0, 2))  # a second after the opening: all three written
    assert timers == [1.0]  # set at the first put, for a second after the opening
    assert store_module.stored_tasks(tmp_path) == {TaskKey("a", 0, r) for r in range(3)}
    now[0] += 30  # a slow task: written as soon as it is given
    store.put(TaskKey("a", 0, 3), tables("a", 0, 3))
    assert len(store_module.stored_tasks(tmp_path)) == 4
    store.close()


def test_a_timer_writes_the_open_batch_while_no_task_finishes(tmp_path: Path) -> None:
    with ResultStore(tmp_path, HASH, batch_seconds=0.2) as store:
        store.flush()  # the clock starts at the last write
        store.put(TaskKey("a", 0, 0), tables("a", 0, 0))
        store.put(TaskKey("a", 0, 1), tables("a", 0, 1))
        deadline = time.monotonic() + 10
        while not store_module.stored_tasks(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert store_module.stored_tasks(tmp_path) == {TaskKey("a", 0, 0), TaskKey("a", 0, 1)}
        assert len(_batch_files(tmp_path)) == 3  # both in one batch


def test_a_failed_write_of_the_timer_is_raised_by_the_next_put(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    store = ResultStore(tmp_path, HASH, batch_seconds=0.05)
    store.flush()
    monkeypatch.setattr(store_module, "write_bytes", _disk_full)
    store.put(TaskKey("a", 0, 0), tables("a", 0, 0))
    time.sleep(0.5)
    with pytest.raises(store_module.OutputError, match="no space left"):
        store.put(TaskKey("a", 0, 1), tables("a", 0, 1))  # this put failed: its task was not taken
    monkeypatch.undo()
    store.close()  # space again: the task kept in memory is written
    assert store_module.stored_tasks(tmp_path) == {TaskKey("a", 0, 0)}


def _disk_full(path: Path, *args: Any, **kwargs: Any) -> None:
    raise store_module.OutputError(path, "no space left on device (the disk is full)")


def test_one_fsync_per_file_and_one_for_the_folder_per_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ResultStore(tmp_path, HASH, batch_tasks=50)
    synced: list[str] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        synced.append("dir" if os.path.isdir(f"/proc/self/fd/{fd}") else "file")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    for rep in range(50):
        store.put(TaskKey("a", 0, rep), tables("a", 0, rep))
    # two tables and the marker; the folder once, and the root once as batches/ was created
    assert sorted(synced) == ["dir", "dir", "file", "file", "file"]
    synced.clear()
    for rep in range(50, 100):
        store.put(TaskKey("a", 0, rep), tables("a", 0, rep))
    assert sorted(synced) == ["dir", "file", "file", "file"]
    store.close()


def test_marker_is_written_last(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ResultStore(tmp_path, HASH)
    replaced: list[str] = []
    real_replace = os.replace

    def spy(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        replaced.append(Path(dst).name)
        real_replace(src, dst)

    monkeypatch.setattr(store_module.os, "replace", spy)
    store.put(TaskKey("a", 0, 0), tables("a", 0, 0))
    store.put(TaskKey("a", 0, 1), tables("a", 0, 1))
    store.close()
    assert replaced == ["batch-000001.summary.arrow", "batch-000001.contacts.arrow", "batch-000001.json"]


def test_close_and_unwinding_write_the_open_batch(tmp_path: Path) -> None:
    keys = [TaskKey("a", 0, rep) for rep in range(3)]
    with pytest.raises(KeyboardInterrupt):
        with ResultStore(tmp_path / "interrupted", HASH, batch_seconds=3600) as store:
            for key in keys:
                store.put(key, tables("a", 0, key.replication))
            assert not (tmp_path / "interrupted" / BATCHES).exists()
            raise KeyboardInterrupt
    with ResultStore(tmp_path / "interrupted", HASH) as store:
        assert store.done() == set(keys)
    # a store that is never closed writes its open batch when it becomes garbage
    forgotten = ResultStore(tmp_path / "forgotten", HASH, batch_seconds=3600)
    forgotten.put(keys[0], tables("a", 0, 0))
    del forgotten
    assert store_module.stored_tasks(tmp_path / "forgotten") == {keys[0]}
    with ResultStore(tmp_path / "forgotten", HASH) as store:
        store.close()
        with pytest.raises(StoreError, match="closed"):
            store.put(keys[1], tables("a", 0, 1))


def test_reads_write_the_open_batch_first(tmp_path: Path) -> None:
    store = ResultStore(tmp_path, HASH, batch_seconds=3600)
    key = TaskKey("a", 0, 0)
    store.put(key, tables("a", 0, 0))
    assert store.pending([key, TaskKey("a", 0, 1)]) == [TaskKey("a", 0, 1)]
    assert store_module.stored_tasks(tmp_path) == {key}
    # another store of the same root in this process sees what this one was given
    store.put(TaskKey("a", 0, 1), tables("a", 0, 1))
    assert ResultStore(tmp_path, HASH).done() == {key, TaskKey("a", 0, 1)}
    store.close()


def test_a_frame_changed_after_put_is_stored_as_it_was(tmp_path: Path) -> None:
    with ResultStore(tmp_path, HASH, batch_seconds=3600) as store:
        frames = tables("a", 0, 0)
        store.put(TaskKey("a", 0, 0), frames)
        frames["summary"].loc[0, "value"] = -1.0
        frames["summary"]["new"] = 1
        pd.testing.assert_frame_equal(store.get(TaskKey("a", 0, 0))["summary"], tables("a", 0, 0)["summary"])


def test_tables_of_different_columns_or_dtypes_keep_their_own(tmp_path: Path) -> None:
    other = {"summary": pd.DataFrame({"metric": ["asa"], "value": [3], "extra": [True]}),
             "contacts": pd.DataFrame({"wait": [1, 2]})}  # ints where the others have floats
    with ResultStore(tmp_path, HASH) as store:
        store.put(TaskKey("a", 0, 0), tables("a", 0, 0))
        store.put(TaskKey("b", 0, 0), other)
        store.put(TaskKey("c", 0, 0), tables("c", 0, 0))
        for name, frame in other.items():
            pd.testing.assert_frame_equal(store.get(TaskKey("b", 0, 0))[name], frame)
        pd.testing.assert_frame_equal(store.get(TaskKey("c", 0, 0))["contacts"], tables("c", 0, 0)["contacts"])
        loaded = store.load("summary", key_columns=False)
        expected = pd.concat([tables("a", 0, 0)["summary"], other["summary"], tables("c", 0, 0)["summary"]],
                             ignore_index=True)
        pd.testing.assert_frame_equal(loaded, expected)
    assert "batch-000001.summary.1.arrow" in _batch_files(tmp_path)


class Unstorable:
    """A value Arrow cannot hold."""


def test_bad_tables_are_refused(tmp_path: Path) -> None:
    store = ResultStore(tmp_path, HASH)
    key = TaskKey("a", 0, 0)
    with pytest.raises(StoreError, match="table name"):
        store.put(key, {"no/slash": pd.DataFrame()})
    with pytest.raises(StoreError, match="distinct strings"):
        store.put(key, {"t": pd.DataFrame([[1, 2]], columns=["x", "x"])})
    with pytest.raises(StoreError, match="reset_index"):
        store.put(key, {"t": pd.DataFrame({"x": [1]}).set_index("x")})
    # a table Arrow cannot hold: its task is named and not stored, the others are
    store.put(TaskKey("a", 0, 1), tables("a", 0, 1))
    store.put(key, {"t": pd.DataFrame({"x": [Unstorable()]})})
    with pytest.raises(StoreError, match="opt=a/cell=0000/rep=0000 cannot be stored"):
        store.flush()
    assert store.done() == {TaskKey("a", 0, 1)}
    assert not [p for p in (tmp_path / BATCHES).iterdir() if p.name.endswith(".tmp")]


def test_a_failed_write_leaves_no_batch_file_and_keeps_the_tasks(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    store = ResultStore(tmp_path, HASH, batch_seconds=3600)
    store.put(TaskKey("a", 0, 0), tables("a", 0, 0))
    real_fsync, calls = os.fsync, [0]

    def full(fd: int) -> None:
        calls[0] += 1
        if calls[0] == 2:  # the second table file
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(store_module.OutputError, match="no space left"):
        store.flush()
    assert list((tmp_path / BATCHES).iterdir()) == []  # no half batch, no temporary file
    store.flush()  # space again: the same tasks are written
    assert store.done() == {TaskKey("a", 0, 0)}


def test_put_again_replaces(tmp_path: Path) -> None:
    store = ResultStore(tmp_path, HASH)
    key = TaskKey("a", 0, 0)
    store.put(key, tables("a", 0, 0))
    store.put(key, tables("a", 0, 0))  # again in the same batch: stored once
    store.flush()
    only = pd.DataFrame({"x": [1]})
    store.put(key, {"other": only})  # again in a later batch: the later one counts
    assert list(store.get(key)) == ["other"]
    with pytest.raises(KeyError, match="no table 'summary'"):
        store.load("summary")
    pd.testing.assert_frame_equal(store.load("other", key_columns=False), only)
    store.close()
    with ResultStore(tmp_path, HASH) as again:
        assert list(again.get(key)) == ["other"]


# --------------------------------------------------------------------------- crashes


def simulate_crash(root: Path) -> list[Path]:
    """What a crash while writing batch 2 leaves: a table file without its marker, a temporary marker,
    and a stray temp file at the root."""
    leftovers = [root / BATCHES / "batch-000002.summary.arrow", root / BATCHES / ".batch-000002.json.0123abcd.tmp",
                 root / f".{MANIFEST}.feedbeef.tmp"]
    for path in leftovers:
        path.write_bytes(b"partial")
    return leftovers


def test_crash_leftovers_ignored_then_cleaned_on_open(tmp_path: Path) -> None:
    store = ResultStore(tmp_path, HASH)
    done_key = TaskKey("a", 0, 0)
    store.put(done_key, tables("a", 0, 0))
    store.flush()
    leftovers = simulate_crash(tmp_path)
    assert store.done() == {done_key}  # ignored before any cleaning
    assert store.pending([TaskKey("a", 0, 9), done_key]) == [TaskKey("a", 0, 9)]

    reopened = ResultStore(tmp_path, HASH)
    assert reopened.done() == {done_key}
    assert not any(path.exists() for path in leftovers)
    pd.testing.assert_frame_equal(reopened.get(done_key)["contacts"], tables("a", 0, 0)["contacts"])


def test_a_batch_missing_a_file_is_not_done(tmp_path: Path) -> None:
    store = ResultStore(tmp_path, HASH)
    key = TaskKey("a", 0, 0)
    store.put(key, tables("a", 0, 0))
    store.flush()
    (tmp_path / BATCHES / "batch-000001.contacts.arrow").unlink()  # marker names a missing table
    assert store.done() == set()
    ResultStore(tmp_path, HASH)
    assert _batch_files(tmp_path) == []


# --------------------------------------------------------------------------- load


def test_load_concatenates_in_key_order_regardless_of_put_order(tmp_path: Path) -> None:
    keys = [TaskKey(opt, cell, rep) for opt in ("b", "a") for cell in (1, 0) for rep in (1, 0)]
    loaded = []
    for name, order, batch in (("one", keys, 64), ("two", list(reversed(keys)), 64), ("three", keys, 3)):
        store = ResultStore(tmp_path / name, HASH, batch_tasks=batch)  # in one batch, or three
        for key in order:
            store.put(key, tables(key.option, key.cell, key.replication))
        loaded.append(store.load("summary"))
    pd.testing.assert_frame_equal(loaded[0], loaded[2])
    pd.testing.assert_frame_equal(loaded[0], loaded[1])
    frame = loaded[0]
    assert list(frame.columns) == ["option", "cell", "replication", "metric", "value"]
    firsts = frame.drop_duplicates(["option", "cell", "replication"])
    assert list(zip(firsts.option, firsts.cell, firsts.replication)) == sorted(
        (k.option, k.cell, k.replication) for k in keys
    )
    assert list(frame.index) == list(range(16))
    assert list(store.load("summary", key_columns=False).columns) == ["metric", "value"]


def test_load_unknown_table_and_empty_store(tmp_path: Path) -> None:
    store = ResultStore(tmp_path, HASH)
    assert store.load("summary").empty
    store.put(TaskKey("a", 0, 0), tables("a", 0, 0))
    with pytest.raises(KeyError, match="did you mean 'summary'"):
        store.load("sumary")


# --------------------------------------------------------------------------- manifest


def test_manifest_records_hash(tmp_path: Path) -> None:
    ResultStore(tmp_path, HASH)
    assert json.loads((tmp_path / MANIFEST).read_text())["config_hash"] == HASH


def test_manifest_mismatch_raises_and_keeps_results(tmp_path: Path) -> None:
    store = ResultStore(tmp_path, HASH)
    store.put(TaskKey("a", 0, 0), tables("a", 0, 0))
    other = config_hash({"experiment": "changed"})
    with pytest.raises(StoreMismatchError) as info:
        ResultStore(tmp_path, other)
    message = str(info.value)
    assert HASH[:12] in message and other[:12] in message and "overwrite=True" in message
    assert ResultStore(tmp_path, HASH).done() == {TaskKey("a", 0, 0)}


def test_overwrite_starts_fresh(tmp_path: Path) -> None:
    store = ResultStore(tmp_path, HASH)
    store.put(TaskKey("a", 0, 0), tables("a", 0, 0))
    (tmp_path / "notes.txt").write_text("mine")
    other = config_hash({"experiment": "changed"})
    fresh = ResultStore(tmp_path, other, overwrite=True)
    assert fresh.done() == set()
    assert json.loads((tmp_path / MANIFEST).read_text())["config_hash"] == other
    assert (tmp_path / "notes.txt").read_text() == "mine"  # only the store's own files are removed
    with pytest.raises(StoreMismatchError):
        ResultStore(tmp_path, HASH)


def test_results_without_manifest_refused(tmp_path: Path) -> None:
    ResultStore(tmp_path, HASH).put(TaskKey("a", 0, 0), tables("a", 0, 0))
    (tmp_path / MANIFEST).unlink()
    with pytest.raises(StoreMismatchError, match="no manifest.json"):
        ResultStore(tmp_path, HASH)
    # a damaged manifest is rewritten when every task's own sealed marker names this experiment...
    (tmp_path / MANIFEST).write_text("not json")
    assert ResultStore(tmp_path, HASH).done() == {TaskKey("a", 0, 0)}
    # ...and refused when a marker names another one
    (tmp_path / MANIFEST).write_text("not json")
    with pytest.raises(StoreError, match="unreadable"):
        ResultStore(tmp_path, config_hash({"experiment": "changed"}))
    assert ResultStore(tmp_path, HASH, overwrite=True).done() == set()


# --------------------------------------------------------------------------- other formats


def _format_2_store(root: Path, with_task: bool) -> None:
    """A store as servsim wrote it before batches: a manifest of format 2 and a folder per task."""
    body = {"format": 2, "config_hash": HASH}
    checksum = hashlib.sha256(store_module.canonical_json(body).encode()).hexdigest()
    root.mkdir(parents=True, exist_ok=True)
    (root / MANIFEST).write_text(json.dumps({**body, "checksum": checksum}))
    if with_task:
        task = root / "tasks" / "opt=a" / "cell=0000" / "rep=0000"
        task.mkdir(parents=True)
        tables("a", 0, 0)["summary"].to_parquet(task / "summary.parquet")
        (task / "_done.json").write_text("{}")


def test_a_store_of_the_earlier_format_is_refused_saying_to_overwrite(tmp_path: Path) -> None:
    _format_2_store(tmp_path / "old", with_task=True)
    before = sorted(p.relative_to(tmp_path) for p in (tmp_path / "old").rglob("*") if p.name != ".lock")
    with pytest.raises(StoreError) as info:
        ResultStore(tmp_path / "old", HASH)
    assert not isinstance(info.value, StoreMismatchError)
    message = str(info.value)
    assert "earlier servsim (store format 2" in message and "--overwrite" in message
    assert sorted(p.relative_to(tmp_path) for p in (tmp_path / "old").rglob("*") if p.name != ".lock") == before
    # a damaged manifest beside task folders says the same
    (tmp_path / "old" / MANIFEST).write_text("not json")
    with pytest.raises(StoreError, match="store format 2"):
        ResultStore(tmp_path / "old", HASH)
    with ResultStore(tmp_path / "old", HASH, overwrite=True) as store:
        assert store.done() == set()
    assert not (tmp_path / "old" / "tasks").exists()
    assert json.loads((tmp_path / "old" / MANIFEST).read_text())["format"] == store_module.FORMAT


def test_a_store_of_the_earlier_format_holding_no_task_is_taken_over(tmp_path: Path) -> None:
    _format_2_store(tmp_path, with_task=False)  # e.g. the store of a `servsim run` folder
    with ResultStore(tmp_path, HASH) as store:
        store.put(TaskKey("a", 0, 0), tables("a", 0, 0))
    assert json.loads((tmp_path / MANIFEST).read_text())["format"] == store_module.FORMAT
    assert store_module.stored_hash(tmp_path) == HASH


def test_overwrite_removes_a_few_files_whatever_the_number_of_tasks(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    with ResultStore(tmp_path, HASH) as store:
        for rep in range(300):
            store.put(TaskKey("a", 0, rep), tables("a", 0, rep))
    removed: list[str] = []
    real_unlink = os.unlink

    def spy(path: Any, *args: Any, **kwargs: Any) -> None:
        removed.append(str(path))
        real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", spy)
    with ResultStore(tmp_path, config_hash({"experiment": "changed"}), overwrite=True) as store:
        assert store.done() == set()
    assert len(removed) <= 20  # the manifest and 5 batches of 64 tasks, 3 files each
