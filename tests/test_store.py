"""Tests for the interruption-safe result store (servsim.experiments.store)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from servsim.experiments import store as store_module
from servsim.experiments.store import (
    MANIFEST,
    MARKER,
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
    assert (tmp_path / "run" / "tasks" / key.id / MARKER).is_file()
    with pytest.raises(KeyError, match="not done"):
        store.get(TaskKey("rpa", 2, 6))


def test_marker_is_written_last(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ResultStore(tmp_path, HASH)
    replaced: list[str] = []
    real_replace = os.replace

    def spy(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        replaced.append(Path(dst).name)
        real_replace(src, dst)

    monkeypatch.setattr(store_module.os, "replace", spy)
    store.put(TaskKey("a", 0, 0), tables("a", 0, 0))
    assert replaced == ["summary.parquet", "contacts.parquet", MARKER]


class CrashingFrame(pd.DataFrame):
    """A table whose writing dies half-way (a full disk, a kill)."""

    def to_parquet(self, path: Any, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        path.write(b"PAR1 half a file")
        raise OSError("disk full")


def test_failed_put_leaves_task_not_done_and_no_temp(tmp_path: Path) -> None:
    store = ResultStore(tmp_path, HASH)
    key = TaskKey("a", 0, 0)
    bad = CrashingFrame({"x": [1, 2]})
    with pytest.raises(OSError, match="disk full"):
        store.put(key, {"summary": tables("a", 0, 0)["summary"], "bad": bad})
    assert store.done() == set()
    assert not list((tmp_path / "tasks").rglob("*.tmp"))
    assert not (tmp_path / "tasks" / key.id / "bad.parquet").exists()
    with pytest.raises(StoreError, match="table name"):
        store.put(key, {"no/slash": pd.DataFrame()})


def test_put_again_replaces(tmp_path: Path) -> None:
    store = ResultStore(tmp_path, HASH)
    key = TaskKey("a", 0, 0)
    store.put(key, tables("a", 0, 0))
    only = pd.DataFrame({"x": [1]})
    store.put(key, {"other": only})
    assert list(store.get(key)) == ["other"]
    assert not (tmp_path / "tasks" / key.id / "summary.parquet").exists()


# --------------------------------------------------------------------------- crashes


def simulate_crash(root: Path, done_key: TaskKey) -> tuple[Path, Path, Path]:
    """A task with tables but no marker, and stray temp files in a done task and at the root."""
    half = root / "tasks" / TaskKey("a", 0, 9).id
    half.mkdir(parents=True)
    tables("a", 0, 9)["summary"].to_parquet(half / "summary.parquet")
    stray = root / "tasks" / done_key.id / ".contacts.parquet.0123abcd.tmp"
    stray.write_bytes(b"partial")
    root_stray = root / f".{MANIFEST}.feedbeef.tmp"
    root_stray.write_bytes(b"{")
    return half, stray, root_stray


def test_crash_leftovers_ignored_then_cleaned_on_open(tmp_path: Path) -> None:
    store = ResultStore(tmp_path, HASH)
    done_key = TaskKey("a", 0, 0)
    store.put(done_key, tables("a", 0, 0))
    half, stray, root_stray = simulate_crash(tmp_path, done_key)
    assert store.done() == {done_key}  # ignored before any cleaning
    assert store.pending([TaskKey("a", 0, 9), done_key]) == [TaskKey("a", 0, 9)]

    reopened = ResultStore(tmp_path, HASH)
    assert reopened.done() == {done_key}
    assert not half.exists() and not stray.exists() and not root_stray.exists()
    pd.testing.assert_frame_equal(reopened.get(done_key)["contacts"], tables("a", 0, 0)["contacts"])


def test_corrupt_marker_is_not_done(tmp_path: Path) -> None:
    store = ResultStore(tmp_path, HASH)
    key = TaskKey("a", 0, 0)
    store.put(key, tables("a", 0, 0))
    (tmp_path / "tasks" / key.id / "contacts.parquet").unlink()  # marker names a missing table
    assert store.done() == set()
    ResultStore(tmp_path, HASH)
    assert not (tmp_path / "tasks" / key.id).exists()


# --------------------------------------------------------------------------- load


def test_load_concatenates_in_key_order_regardless_of_put_order(tmp_path: Path) -> None:
    keys = [TaskKey(opt, cell, rep) for opt in ("b", "a") for cell in (1, 0) for rep in (1, 0)]
    loaded = []
    for name, order in (("one", keys), ("two", list(reversed(keys)))):
        store = ResultStore(tmp_path / name, HASH)
        for key in order:
            store.put(key, tables(key.option, key.cell, key.replication))
        loaded.append(store.load("summary"))
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
