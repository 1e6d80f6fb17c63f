"""The result store of an experiment run: every finished task on disk, so a run survives interruption.

An experiment is many independent tasks (option x sweep cell x replication), each producing a few
small result tables. The driver hands each task's tables to the store as it finishes; the store
keeps them in memory and writes them a *batch* at a time — when the open batch holds
``batch_tasks`` tasks (64), a second (``batch_seconds``) after the last write (at a ``put``, or by a
timer while no task finishes), when it is read, and when it is closed (also when an exception such
as ``KeyboardInterrupt`` unwinds through a ``with`` block, and when an unclosed store is garbage).
Running the same experiment again skips the tasks that are done, so a killed run loses at most the
open batch — the tasks finished in about the last second, which the rerun computes again from their
seeds — and the tasks in flight.

Layout::

    ROOT/
      .lock                                  held (flock) by the driver using the store; its pid
      manifest.json                          {"format": 3, "config_hash": "<sha256 hex>", "checksum": ...}
      batches/
        batch-000001.results.arrow           one Arrow IPC file per table: the batch's tasks' rows,
        batch-000001.summary.arrow           task after task (a table whose columns or dtypes differ
        batch-000001.intervals.arrow         between tasks takes one file per kind: ...results.1.arrow)
        batch-000001.json                    the marker, written last: each task's key and row count
                                             per table, the SHA-256 of each file
        batch-000002.results.arrow ...

Atomicity: every file is written all or nothing (:mod:`servsim.atomic`: a temporary file, fsync,
:func:`os.replace`), the tables first, then the marker, then one fsync of ``batches/`` — one fsync
per file and one per batch for the folder, however many tasks the batch holds. A batch is *done*
exactly when its marker is there and every file's checksum matches, so a crash (SIGKILL included)
leaves at worst temporary files and table files without a marker; both are removed the next time
the store is opened, and their tasks are simply not done. A task stored again later (``put`` of a
done key) is taken from the newest batch that holds it.

Corruption: the manifest and every marker carry a checksum of their own content, and opening the
store checks every file against its marker. A batch whose files were truncated or changed is
logged as corrupt (a warning naming its tasks) and removed, so the run computes its tasks again. A
corrupt manifest is rewritten when every stored marker names this experiment; otherwise the store
refuses.

Changed experiments: ``manifest.json`` records the hash of the experiment's canonical JSON
(:func:`config_hash`). Opening a store written for a different experiment raises
:class:`StoreMismatchError`, so a resumed run never mixes results of an old and a new experiment;
``overwrite=True`` deletes the old results and starts fresh — a few files, whatever the number of
tasks. A store written by an earlier servsim (format 2: a folder per task) that holds results is
refused with a :class:`StoreError` saying to rerun with ``--overwrite``.

**One driver at a time.** Only the driver process writes: workers return their tables to the driver,
which calls :meth:`ResultStore.put`. Opening a store takes an exclusive ``flock`` on ``ROOT/.lock``,
held while a :class:`ResultStore` of it is open in this process (until :meth:`ResultStore.close` or
it is garbage); a second live process opening the same store gets :class:`servsim.status.BusyError`
naming the first one's pid, before it deletes anything. The stores of one root open in one process
share their open batch, so what one of them was given the others read.
The lock dies with its process, however it dies, so a killed driver never blocks the next run.

**No links.** A symbolic link anywhere in the store (the root, ``batches/``, a table file, a marker,
the manifest, the lock) is refused with :class:`servsim.status.OutputError` before anything is
read, written or deleted: the store never reads, writes or deletes through a link.
Disk full, read-only and a file where a folder should be are ``OutputError`` too; batches written
before stay stored.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import stat
import threading
import time
import weakref
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from servsim.atomic import (
    LINK_REASON, TEMP_GLOB, atomic_write, ensure_dir, fsync_dir, output_error, read_bytes, write_bytes,
)
from servsim.scenario.errors import closest
from servsim.status import BusyError, OutputError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["BATCH_SECONDS", "BATCH_TASKS", "ResultStore", "StoreError", "StoreMismatchError", "TaskKey",
           "atomic_write", "canonical_json", "config_hash", "locked", "option_slug", "stored_hash", "stored_tasks"]

log = logging.getLogger(__name__)

FORMAT = 3
MANIFEST = "manifest.json"
LOCK = ".lock"
BATCHES = "batches"
#: Where a store of format 2 kept its tasks, a folder each (refused, or deleted by overwrite).
LEGACY_TASKS = "tasks"
TABLE_SUFFIX = ".arrow"
MARKER_SUFFIX = ".json"
#: A batch is written when it holds this many tasks...
BATCH_TASKS = 64
#: ...or at a ``put`` this many seconds or more after the last write (or the opening).
BATCH_SECONDS = 1.0
#: Columns :meth:`ResultStore.load` puts in front of each table, from the task's key.
KEY_COLUMNS = ("option", "cell", "replication")

_CLEAN_OPTION = re.compile(r"[a-z0-9_][a-z0-9_-]{0,63}")
_TABLE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}")
#: ``batch-000007.json`` (a marker) or ``batch-000007.<table>[.<kind>].arrow`` (a table file).
_BATCH_FILE = re.compile(r"batch-(\d{6,})\.(?:json|([A-Za-z0-9_][A-Za-z0-9_-]{0,63})(?:\.([1-9]\d*))?\.arrow)")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_TEMP_GLOB = TEMP_GLOB


class StoreError(Exception):
    """The result store cannot be used as asked (unreadable manifest, bad table name...)."""


class StoreMismatchError(StoreError):
    """The store holds results of a different experiment than the one being run."""


# --------------------------------------------------------------------------- keys and hashes


def option_slug(option: str) -> str:
    """A directory-safe, case-safe name for an option, distinct for distinct options.

    Lower-case names of letters, digits, ``_`` and ``-`` are kept as they are; anything else becomes
    a readable part plus ``~`` and 10 hex digits of the name's SHA-256 (``'+10% Staff'`` ->
    ``'10_staff~<hash>'``).
    """
    if _CLEAN_OPTION.fullmatch(option):
        return option
    readable = re.sub(r"[^a-z0-9_-]+", "_", option.lower()).strip("_-")[:40] or "option"
    return f"{readable}~{hashlib.sha256(option.encode('utf-8')).hexdigest()[:10]}"


@dataclass(frozen=True, order=True)
class TaskKey:
    """One task of an experiment: an option, a sweep cell (0 when there is no sweep), a replication.

    Keys sort by option name, then cell, then replication.
    """

    option: str
    cell: int
    replication: int

    def __post_init__(self) -> None:
        if not isinstance(self.option, str) or not self.option:
            raise ValueError(f"a task's option must be a non-empty string, got {self.option!r}")
        for name in ("cell", "replication"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"a task's {name} must be a whole number >= 0, got {value!r}")

    @property
    def id(self) -> str:
        """Stable text id, as messages name the task: ``opt=<slug>/cell=0003/rep=0007``."""
        return f"opt={option_slug(self.option)}/cell={self.cell:04d}/rep={self.replication:04d}"

    def to_dict(self) -> dict[str, Any]:
        return {"option": self.option, "cell": self.cell, "replication": self.replication}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TaskKey:
        return cls(option=data["option"], cell=data["cell"], replication=data["replication"])


def canonical_json(config: Any) -> str:
    """Canonical JSON text of ``config``: sorted keys, no spaces, UTF-8, NaN refused; paths as text."""
    return json.dumps(
        config, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_json_default
    )


def _json_default(value: object) -> object:
    if isinstance(value, PurePath):
        return value.as_posix()
    raise TypeError(f"cannot hash a {type(value).__name__} in an experiment config: {value!r}")


def config_hash(config: Any) -> str:
    """SHA-256 (hex) of :func:`canonical_json` of ``config`` — same content, same hash."""
    return hashlib.sha256(canonical_json(config).encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- sealed records


def _sealed_text(data: Mapping[str, Any], *, indent: int | None = 2) -> str:
    """``data`` as JSON with a ``checksum`` (SHA-256 of its canonical JSON), so a changed byte shows."""
    body = {k: v for k, v in data.items() if k != "checksum"}
    sealed = {**body, "checksum": hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()}
    separators = None if indent else (",", ":")
    return json.dumps(sealed, indent=indent, sort_keys=True, ensure_ascii=False, separators=separators) + "\n"


def _unseal(raw: bytes) -> dict[str, Any] | None:
    """The record in ``raw`` if it is a JSON object whose checksum matches, else None (whatever its
    ``format``: the caller checks that)."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("checksum"), str):
        return None
    body = {k: v for k, v in data.items() if k != "checksum"}
    try:
        expected = hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()
    except (TypeError, ValueError):
        return None
    return body if data["checksum"] == expected else None


def _sha256(data: bytes | memoryview) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- the lock


@dataclass
class _Held:
    """A store root locked by this process: the lock file's descriptor, how many are open, and the
    open batch they share (None until a :class:`ResultStore` opens it; :func:`locked` needs none)."""

    fd: int
    count: int = 1
    batch: _OpenBatch | None = None


#: Store roots locked by this process, by (device, inode).
_HELD: dict[tuple[int, int], _Held] = {}


def _lock(root: Path) -> tuple[int, int]:
    """Take the store's lock for this process (re-entrant); :class:`BusyError` if another has it."""
    try:
        info = os.stat(root)
    except OSError as exc:
        raise output_error(root, exc) from None
    ident = (info.st_dev, info.st_ino)
    if ident in _HELD:
        _HELD[ident].count += 1
        return ident
    path = root / LOCK
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        raise output_error(path, exc) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OutputError(path, "is not a regular file")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BusyError(root, _lock_owner(fd)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except OSError as exc:
        os.close(fd)
        raise output_error(path, exc) from None
    except BaseException:
        os.close(fd)
        raise
    _HELD[ident] = _Held(fd)
    return ident


def _lock_owner(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _unlock(ident: tuple[int, int]) -> None:
    """One store of ``ident`` closed: release the lock when it was the last. A store that was not
    closed (it became garbage) may leave tasks in the open batch: they are written first, while the
    lock is still held, and a failure to write them is a warning (they are computed again next run)."""
    held = _HELD.get(ident)
    if held is None:
        return
    held.count -= 1
    if held.count > 0:
        return
    try:
        if held.batch is not None:
            with held.batch.mutex:
                try:
                    held.batch.write()
                except (OutputError, StoreError) as exc:
                    log.warning("%d finished tasks could not be stored (%s); the next run computes them again",
                                len(held.batch.tasks), exc)
                finally:
                    held.batch.close()
    finally:
        del _HELD[ident]
        os.close(held.fd)  # closing the descriptor releases the flock


def _before_fork() -> None:
    """No batch is being written (by a timer's thread) while the process forks: a child that
    inherited pyarrow's or the allocator's locks held mid-write could hang."""
    for held in list(_HELD.values()):
        if held.batch is not None:
            held.batch.mutex.acquire()


def _after_fork() -> None:
    for held in list(_HELD.values()):
        if held.batch is not None:
            try:
                held.batch.mutex.release()
            except RuntimeError:
                pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork, after_in_child=_after_fork)


@contextmanager
def locked(root: str | Path) -> Iterator[None]:
    """Hold the lock of the store at ``root`` (an existing folder) and read or change nothing else:
    re-entrant in this process, :class:`servsim.status.BusyError` if another live process holds it.
    For a caller that must decide under the lock, before opening the store, what to do with it."""
    ident = _lock(Path(root))
    try:
        yield
    finally:
        _unlock(ident)


def stored_hash(root: str | Path) -> str | None:
    """The config hash the manifest of the store at ``root`` records, read without the lock and
    without changing anything; None when there is no store there, or its manifest is missing,
    damaged or reached through a symbolic link (opening the store says which)."""
    root = Path(root)
    try:
        if os.path.islink(root) or not os.path.isdir(root):
            return None
        data = _unseal(read_bytes(root / MANIFEST))
    except OSError:
        return None
    recorded = data.get("config_hash") if data is not None else None
    return recorded if isinstance(recorded, str) else None


def stored_tasks(root: str | Path) -> set[TaskKey]:
    """Keys of the tasks the sealed batch markers of the store at ``root`` name, read without the lock
    and without changing anything (to watch a running store; the table files are not checked here —
    opening the store does); empty when there is no store there."""
    recorded = stored_hash(root)
    if recorded is None:
        return set()
    found: set[TaskKey] = set()
    for batch in _scan(Path(root) / BATCHES, recorded, {}):
        found.update(task.key for task in batch.tasks)
    return found


# --------------------------------------------------------------------------- batches on disk


def _batch_stem(number: int) -> str:
    return f"batch-{number:06d}"


def _table_file(number: int, table: str, kind: int) -> str:
    return f"{_batch_stem(number)}.{table}{f'.{kind}' if kind else ''}{TABLE_SUFFIX}"


def _marker_file(number: int) -> str:
    return f"{_batch_stem(number)}{MARKER_SUFFIX}"


def _batch_number(name: str) -> int | None:
    """The batch a file of ``batches/`` belongs to, by its name; None for any other name."""
    match = _BATCH_FILE.fullmatch(name)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class _Task:
    """A task in a batch: its key, and for each of its tables (kind of file, number of rows)."""

    key: TaskKey
    tables: Mapping[str, tuple[int, int]]


@dataclass(frozen=True)
class _Batch:
    """A written batch, as its marker describes it."""

    number: int
    directory: Path
    checksums: Mapping[str, tuple[str, ...]]  # table -> SHA-256 of each of its files, by kind
    tasks: tuple[_Task, ...]
    #: (table, kind) -> (task, first row, rows) of each task in that file, in file order
    rows: Mapping[tuple[str, int], tuple[tuple[_Task, int, int], ...]] = field(repr=False)

    @property
    def marker(self) -> Path:
        return self.directory / _marker_file(self.number)

    def file(self, table: str, kind: int) -> Path:
        return self.directory / _table_file(self.number, table, kind)

    def files(self) -> list[tuple[str, int]]:
        return [(table, kind) for table, sums in self.checksums.items() for kind in range(len(sums))]

    def describe(self) -> str:
        ids = [task.key.id for task in self.tasks]
        shown = ", ".join(ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
        return f"{len(ids)} task{'s' if len(ids) != 1 else ''} ({shown})"


class _Corrupt(Exception):
    """A batch's stored files do not match its marker (the message says how)."""


def _read_marker(path: Path, number: int, config_hash: str) -> _Batch:
    """The batch whose marker is ``path``; :class:`_Corrupt` if the marker is unreadable, changed,
    of another format, for another experiment or for another batch."""
    try:
        raw = read_bytes(path)
    except OSError as exc:
        raise _Corrupt(f"its marker cannot be read ({exc.strerror or exc})") from None
    data = _unseal(raw)
    if data is None or data.get("format") != FORMAT:
        raise _Corrupt("its marker is damaged")
    if data.get("config_hash") != config_hash:
        raise _Corrupt("its marker names another experiment")
    try:
        if data["batch"] != number:
            raise _Corrupt("its marker names another batch")
        checksums = {name: tuple(sums) for name, sums in data["tables"].items()}
        tasks = []
        for entry in data["tasks"]:
            tables = {name: (kind, rows) for name, (kind, rows) in entry["tables"].items()}
            tasks.append(_Task(TaskKey.from_dict(entry["key"]), tables))
    except (ValueError, KeyError, TypeError, AttributeError):
        raise _Corrupt("its marker is damaged") from None
    rows: dict[tuple[str, int], list[tuple[_Task, int, int]]] = {}
    for name, sums in checksums.items():
        if not (isinstance(name, str) and _TABLE_NAME.fullmatch(name) and sums
                and all(isinstance(h, str) and _SHA256.fullmatch(h) for h in sums)):
            raise _Corrupt("its marker is damaged")
        for kind in range(len(sums)):
            rows[(name, kind)] = []
    for task in tasks:
        for name, (kind, count) in task.tables.items():
            place = rows.get((name, kind)) if isinstance(kind, int) and not isinstance(kind, bool) else None
            if place is None or isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise _Corrupt("its marker is damaged")
            start = place[-1][1] + place[-1][2] if place else 0
            place.append((task, start, count))
    if len({task.key for task in tasks}) != len(tasks):
        raise _Corrupt("its marker is damaged")
    return _Batch(number, path.parent, checksums, tuple(tasks), {k: tuple(v) for k, v in rows.items()})


def _scan(directory: Path, config_hash: str, cache: dict[str, tuple[tuple[int, ...], _Batch]]) -> list[_Batch]:
    """The batches in ``directory`` whose marker is sound and whose files are all there, in the order
    they were written (checksums are checked when the store is opened and when a file is read).
    ``cache`` keeps markers already read, by name and file status."""
    entries = _entries(directory)
    names = {entry.name for entry in entries}
    found = []
    for entry in entries:
        number = _batch_number(entry.name)
        if number is None or not entry.name.endswith(MARKER_SUFFIX):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        signature = (info.st_ino, info.st_size, info.st_mtime_ns)
        cached = cache.get(entry.name)
        if cached is not None and cached[0] == signature:
            batch = cached[1]
        else:
            try:
                batch = _read_marker(Path(entry.path), number, config_hash)
            except _Corrupt:
                continue
            cache[entry.name] = (signature, batch)
        if all(batch.file(table, kind).name in names for table, kind in batch.files()):
            found.append(batch)
    return sorted(found, key=lambda b: b.number)


def _verified(batch: _Batch, table: str, kind: int) -> bytes:
    """The bytes of one file of a batch; :class:`_Corrupt` unless they match the marker."""
    path = batch.file(table, kind)
    try:
        data = read_bytes(path)
    except OSError as exc:
        raise _Corrupt(f"{path.name} cannot be read ({exc.strerror or exc})") from None
    if _sha256(data) != batch.checksums[table][kind]:
        raise _Corrupt(f"{path.name} does not match its checksum")
    return data


def _arrow(batch: _Batch, table: str, kind: int) -> pa.Table:
    """One file of a batch as an Arrow table; :class:`_Corrupt` unless it matches the marker."""
    import pyarrow as pa
    import pyarrow.ipc

    data = _verified(batch, table, kind)
    try:
        result = pa.ipc.open_file(pa.BufferReader(data)).read_all()
    except (pa.ArrowException, OSError, ValueError):
        raise _Corrupt(f"{batch.file(table, kind).name} is not an Arrow file") from None
    place = batch.rows[(table, kind)]
    if result.num_rows != (place[-1][1] + place[-1][2] if place else 0):
        raise _Corrupt(f"{batch.file(table, kind).name} does not have the rows its marker names")
    return result


def _entries(directory: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(directory) as it:
            return list(it)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise output_error(directory, exc) from None


def _refuse_links_below(directory: Path) -> None:
    """Raise :class:`OutputError` naming the first symbolic link found anywhere below ``directory``."""
    for entry in _entries(directory):
        if entry.is_symlink():
            raise OutputError(entry.path, LINK_REASON)
        if entry.is_dir(follow_symlinks=False):
            _refuse_links_below(Path(entry.path))


def _remove(path: Path) -> None:
    """Delete a leftover file or folder (never through a link: links are refused before this)."""
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise output_error(path, exc) from None


# --------------------------------------------------------------------------- the open batch


def _check_tables(tables: Mapping[str, pd.DataFrame]) -> None:
    if not isinstance(tables, Mapping):
        raise TypeError(f"tables must be a mapping of name -> DataFrame, got {type(tables).__name__}")
    seen: dict[str, str] = {}
    for name, frame in tables.items():
        if not isinstance(name, str) or not _TABLE_NAME.fullmatch(name):
            raise StoreError(f"table name {name!r}: use letters, digits, '_' and '-' (at most 64)")
        if name.lower() in seen:
            raise StoreError(f"table names {seen[name.lower()]!r} and {name!r} differ only in case")
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"table {name!r} must be a pandas DataFrame, got {type(frame).__name__}")
        columns = frame.columns.tolist()
        if not all(isinstance(c, str) for c in columns) or len(set(columns)) < len(columns):
            raise StoreError(f"table {name!r}: its column names must be distinct strings")
        if any(level is not None for level in frame.index.names):
            raise StoreError(f"table {name!r}: a stored table keeps its columns, not its index "
                             f"({list(frame.index.names)}); reset_index() it first")
        seen[name.lower()] = name


def _plain_index(frame: pd.DataFrame) -> bool:
    """Whether ``frame``'s index is the one a fresh frame gets (0, 1, 2...), so there is nothing to drop."""
    index = frame.index
    return isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1 and index.name is None


def _ipc_bytes(frames: list[pd.DataFrame]) -> memoryview:
    """``frames`` (same columns and dtypes), one after the other, as an Arrow IPC file."""
    import pyarrow as pa
    import pyarrow.ipc

    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    table = pa.Table.from_pandas(frame, preserve_index=False).combine_chunks()
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return memoryview(sink.getvalue())


class _OpenBatch:
    """Finished tasks not yet written, and the writing of them as one batch (module docstring).

    A batch that is not full is written by a timer ``batch_seconds`` after the last write, so a task
    that finished just before a long wait for the next one is not kept in memory all that time. The
    timer's thread and the driver's take turns through ``mutex``; a failure of the timer's write is
    raised by the driver's next ``add`` or ``write``."""

    def __init__(self, root: Path, config_hash: str) -> None:
        self.root = root
        self.config_hash = config_hash
        self.tasks: dict[TaskKey, dict[str, pd.DataFrame]] = {}
        self.names: dict[str, str] = {}  # lower-case table name -> its name, of the tasks here
        self.written = time.monotonic()
        self.mutex = threading.RLock()
        self.closed = False  # the lock is released: nothing may be written any more
        self._timer: threading.Timer | None = None
        self._failure: BaseException | None = None

    @property
    def directory(self) -> Path:
        return self.root / BATCHES

    def add(self, key: TaskKey, tables: dict[str, pd.DataFrame], batch_tasks: int, batch_seconds: float) -> None:
        with self.mutex:
            self._raise_failure()
            # file names differing only in case are one file on some disks: such a table starts a batch
            if any(self.names.get(name.lower(), name) != name for name in tables):
                self._write()
            self.tasks.pop(key, None)  # given again: the latest tables count
            self.tasks[key] = tables
            self.names.update((name.lower(), name) for name in tables)
            wait = self.written + batch_seconds - time.monotonic()
            if len(self.tasks) >= batch_tasks or wait <= 0:
                self._write()
            elif self._timer is None:
                self._timer = threading.Timer(wait, self._on_timer)
                self._timer.daemon = True
                self._timer.start()

    def _on_timer(self) -> None:
        with self.mutex:
            self._timer = None
            if self.closed:
                return
            try:
                self._write()
            except BaseException as exc:  # the driver's thread raises it
                self._failure = exc

    def _raise_failure(self) -> None:
        failure, self._failure = self._failure, None
        if failure is not None:
            raise failure

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def drop(self) -> None:
        with self.mutex:
            self._cancel_timer()
            self._failure = None
            self.tasks.clear()
            self.names.clear()

    def close(self) -> None:
        """The lock is about to be released: no timer may write after it."""
        with self.mutex:
            self._cancel_timer()
            self.closed = True

    def write(self) -> None:
        """Write the open batch (nothing when it is empty): each table file, then the marker, then
        one fsync of the folder. On failure the files written so far are removed and the tasks stay
        in the open batch."""
        with self.mutex:
            self._raise_failure()
            self._write()

    def _write(self) -> None:
        self._cancel_timer()
        if not self.tasks:
            return
        tasks = list(self.tasks.items())
        files = self._files(tasks)
        directory = self.directory
        created = not os.path.lexists(directory)
        ensure_dir(directory, inside=self.root)
        if created:
            fsync_dir(self.root)
        number = 1 + max((n for e in _entries(directory) if (n := _batch_number(e.name)) is not None), default=0)
        checksums: dict[str, list[str]] = {}
        marker = directory / _marker_file(number)
        written: list[Path] = []
        try:
            for (name, kind), (data, _) in files.items():
                path = directory / _table_file(number, name, kind)
                write_bytes(path, data, sync_dir=False)
                written.append(path)
                checksums.setdefault(name, []).append(_sha256(data))
            per_task: dict[TaskKey, dict[str, list[int]]] = {key: {} for key, _ in tasks}
            for (name, kind), (_, members) in files.items():
                for key, rows in members:
                    per_task[key][name] = [kind, rows]
            entries = [{"key": key.to_dict(), "tables": names} for key, names in per_task.items()]
            text = _sealed_text({"format": FORMAT, "config_hash": self.config_hash, "batch": number,
                                 "tables": checksums, "tasks": entries}, indent=None)
            write_bytes(marker, text.encode("utf-8"), sync_dir=False)
        except BaseException:
            for path in [marker, *written]:  # the marker first: the batch is not done, then not there
                try:
                    os.unlink(path)
                except OSError:
                    pass
            raise
        fsync_dir(directory)
        self.drop()
        self.written = time.monotonic()

    def _files(self, tasks: list[tuple[TaskKey, dict[str, pd.DataFrame]]]
               ) -> dict[tuple[str, int], tuple[memoryview, list[tuple[TaskKey, int]]]]:
        """The batch's files: (table, kind) -> (Arrow IPC bytes, [(task, rows)] in file order). The
        tasks whose table has the same columns and dtypes share a file (kind 0 for the first seen)."""
        import pyarrow as pa

        kinds: dict[str, dict[tuple[Any, ...], list[tuple[TaskKey, pd.DataFrame]]]] = {}
        for key, tables in tasks:
            for name, frame in tables.items():
                signature = (tuple(frame.columns.tolist()), tuple(frame.dtypes.tolist()))
                kinds.setdefault(name, {}).setdefault(signature, []).append((key, frame))
        files = {}
        for name, groups in kinds.items():
            for kind, members in enumerate(groups.values()):
                try:
                    data = _ipc_bytes([frame for _, frame in members])
                except (pa.ArrowException, TypeError, ValueError):
                    self._refuse_unstorable(name, members)
                    raise
                files[(name, kind)] = (data, [(key, len(frame)) for key, frame in members])
        return files

    def _refuse_unstorable(self, name: str, members: list[tuple[TaskKey, pd.DataFrame]]) -> None:
        """A table that Arrow cannot hold: take its task out of the open batch (the others are
        written by the next write) and say which it is."""
        import pyarrow as pa

        for key, frame in members:
            try:
                pa.Table.from_pandas(frame, preserve_index=False)
            except (pa.ArrowException, TypeError, ValueError) as exc:
                del self.tasks[key]
                raise StoreError(f"table {name!r} of task {key.id} cannot be stored ({exc}); the task is "
                                 "not stored") from None


# --------------------------------------------------------------------------- the store


class ResultStore:
    """Tables of finished tasks under ``root``, for the experiment whose hash is ``config_hash``.

    Opening locks the store for this process (:class:`servsim.status.BusyError` if another live
    process has it), refuses links inside it, checks ``manifest.json`` (creating it for a new store;
    :class:`StoreMismatchError` if it names another experiment, unless ``overwrite=True``, which
    deletes all results first), and removes leftovers of an interrupted run and corrupt batches.
    ``put`` collects finished tasks into a batch written when it holds ``batch_tasks`` tasks,
    ``batch_seconds`` after the last write, on any read and on :meth:`close` (and ``__exit__``).
    See the module docstring for the layout and guarantees.
    """

    def __init__(self, root: str | Path, config_hash: str, *, overwrite: bool = False,
                 batch_tasks: int | None = None, batch_seconds: float | None = None) -> None:
        if not isinstance(config_hash, str) or not config_hash:
            raise ValueError("config_hash must be a non-empty string (see config_hash())")
        self.root = Path(root)
        self.config_hash = config_hash
        self.batch_tasks = BATCH_TASKS if batch_tasks is None else batch_tasks
        self.batch_seconds = BATCH_SECONDS if batch_seconds is None else batch_seconds
        if self.batch_tasks < 1 or not self.batch_seconds >= 0:
            raise ValueError("batch_tasks must be at least 1 and batch_seconds at least 0")
        self._markers: dict[str, tuple[tuple[int, ...], _Batch]] = {}
        ensure_dir(self.root, inside=self.root)
        ident = _lock(self.root)
        self._release = weakref.finalize(self, _unlock, ident)
        try:
            held = _HELD[ident]
            if held.batch is None:
                held.batch = _OpenBatch(self.root, config_hash)
            self._batch = held.batch
            # a store of this root open in this process may be writing the batch from its timer
            with self._batch.mutex:
                _refuse_links_below(self.root)
                if overwrite:
                    self._reset()
                else:
                    self._open()
                self._clean()
                if overwrite or self._batch.config_hash != config_hash:
                    self._batch.drop()  # tasks of results just deleted, or of another experiment
                    self._batch.config_hash = config_hash
        except BaseException:
            self._release()  # a store that could not be opened holds no lock
            raise

    def close(self) -> None:
        """Write the open batch, then be done with the store: its lock is released once every
        ResultStore of this root in this process is closed or garbage. If the batch cannot be
        written (:class:`servsim.status.OutputError`), its tasks are not stored and the lock is
        released all the same."""
        if not self._release.alive:
            return
        try:
            self._batch.write()
        except BaseException:
            self._batch.drop()
            raise
        finally:
            self._release()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def batches_dir(self) -> Path:
        return self.root / BATCHES

    # ----------------------------------------------------------------- manifest

    def _open(self) -> None:
        manifest = self.root / MANIFEST
        try:
            raw = read_bytes(manifest)
        except FileNotFoundError:
            if self._holds_results():
                raise StoreMismatchError(
                    f"{self.root} holds task results but no {MANIFEST}, so it cannot tell which experiment "
                    "wrote them; use overwrite=True (--overwrite) to start fresh, or another output folder"
                ) from None
            self._write_manifest()
            return
        except OSError as exc:
            raise StoreError(f"{manifest} is unreadable ({exc.strerror or exc}); use overwrite=True "
                             "(--overwrite) to start fresh") from None
        data = _unseal(raw)
        recorded = data.get("config_hash") if data is not None else None
        if data is None or not isinstance(recorded, str):
            self._recover_manifest(manifest)
            return
        if recorded != self.config_hash:
            raise StoreMismatchError(
                f"{self.root} holds results of a different experiment (config hash {recorded[:12]}..., "
                f"this experiment {self.config_hash[:12]}...): the experiment changed since those results "
                "were written; use overwrite=True (--overwrite) to discard them, or another output folder"
            )
        if data.get("format") != FORMAT:
            if self._holds_results():
                raise StoreError(self._format_problem(data.get("format")))
            self._write_manifest()  # a store of another format holding no task: nothing to convert

    def _format_problem(self, found: object) -> str:
        if isinstance(found, int) and found > FORMAT:
            what = f"a newer servsim (store format {found}), which this servsim (format {FORMAT}) cannot read"
        else:
            what = (f"an earlier servsim (store format {found}, a folder per task), which this servsim cannot "
                    f"resume: it stores tasks in batches (format {FORMAT})")
        return (f"{self.root} holds results stored by {what}; run the same command again with --overwrite "
                "(overwrite=True) to compute them afresh, or choose another output folder")

    def _holds_results(self) -> bool:
        return bool(_entries(self.batches_dir) or _entries(self.root / LEGACY_TASKS))

    def _recover_manifest(self, manifest: Path) -> None:
        """A damaged manifest: rewrite it if every marker that can be read names this experiment."""
        if _entries(self.root / LEGACY_TASKS):
            raise StoreError(f"{manifest} is unreadable, and " + self._format_problem(2))
        for entry in _entries(self.batches_dir):
            if _batch_number(entry.name) is None or not entry.name.endswith(MARKER_SUFFIX):
                continue
            try:
                data = _unseal(read_bytes(Path(entry.path)))
            except OSError:
                continue
            if data is not None and data.get("config_hash") != self.config_hash:
                raise StoreError(
                    f"{manifest} is unreadable and {entry.path} holds results of another experiment; use "
                    "overwrite=True (--overwrite) to start fresh, or another output folder")
        log.warning("%s was damaged; rewritten (tasks stored for this experiment are kept)", manifest)
        self._write_manifest()

    def _write_manifest(self) -> None:
        write_bytes(self.root / MANIFEST, _sealed_text({"format": FORMAT, "config_hash": self.config_hash})
                    .encode("utf-8"))

    def _reset(self) -> None:
        """Delete the manifest first, then the results (a few batch files; a store of format 2 loses
        its task folders): a crash in between leaves no valid manifest."""
        _remove(self.root / MANIFEST)
        _remove(self.batches_dir)
        _remove(self.root / LEGACY_TASKS)
        self._markers.clear()
        self._write_manifest()

    # ----------------------------------------------------------------- leftovers

    def _clean(self) -> None:
        """Remove temp files, batch files without a sound marker (leftovers of a crash) and corrupt
        batches (a warning names their tasks), so that a rerun computes their tasks again."""
        for tmp in self.root.glob(_TEMP_GLOB):
            _remove(tmp)
        directory = self.batches_dir
        entries = _entries(directory)
        keep: set[str] = set()
        for entry in sorted(entries, key=lambda e: e.name):
            number = _batch_number(entry.name)
            if number is None or not entry.name.endswith(MARKER_SUFFIX):
                continue
            batch = None
            try:
                batch = _read_marker(Path(entry.path), number, self.config_hash)
                for table, kind in batch.files():
                    _arrow(batch, table, kind)
            except _Corrupt as exc:
                verb = "is" if batch is not None and len(batch.tasks) == 1 else "are"
                tasks = f"its {batch.describe()} {verb} computed again" if batch else "its tasks are computed again"
                log.warning("stored batch %s is corrupt (%s); %s", entry.name, exc, tasks)
                continue
            keep.add(entry.name)
            keep.update(batch.file(table, kind).name for table, kind in batch.files())
        # markers first, so that a crash while removing leaves no marker naming missing files
        for entry in sorted(entries, key=lambda e: not e.name.endswith(MARKER_SUFFIX)):
            leftover = _batch_number(entry.name) is not None and entry.name not in keep
            if leftover or (entry.name.startswith(".") and entry.name.endswith(".tmp")):
                _remove(Path(entry.path))

    # ----------------------------------------------------------------- reading

    def flush(self) -> None:
        """Write the open batch now (nothing if it is empty). Every read does this first."""
        self._batch.write()

    def _index(self) -> dict[TaskKey, tuple[_Batch, _Task]]:
        """Every done task, from the newest batch that holds it."""
        self.flush()
        index = {}
        for batch in _scan(self.batches_dir, self.config_hash, self._markers):
            for task in batch.tasks:
                index[task.key] = (batch, task)
        return index

    def done(self) -> set[TaskKey]:
        """Keys of the tasks whose tables are all on disk (the open batch is written first; then
        scanned from disk on every call)."""
        return set(self._index())

    def is_done(self, key: TaskKey) -> bool:
        return key in self._index()

    def pending(self, keys: Iterable[TaskKey]) -> list[TaskKey]:
        """The keys of ``keys`` that are not done, in the given order."""
        finished = self.done()
        return [key for key in keys if key not in finished]

    def get(self, key: TaskKey) -> dict[str, pd.DataFrame]:
        """The tables of a done task (by name); KeyError if it is not done."""
        found = self._index().get(key)
        if found is None:
            raise KeyError(f"task {key.id} is not done in {self.root}")
        batch, task = found
        tables = {}
        for name, (kind, rows) in sorted(task.tables.items()):
            start = next(first for member, first, _ in batch.rows[(name, kind)] if member is task)
            tables[name] = self._arrow(batch, name, kind).slice(start, rows).to_pandas()
        return tables

    def _arrow(self, batch: _Batch, name: str, kind: int) -> pa.Table:
        try:
            return _arrow(batch, name, kind)
        except _Corrupt as exc:
            raise StoreError(f"stored batch {batch.marker.name} changed after it was checked: {exc}; run the "
                             f"same command again to compute its {batch.describe()} again") from None

    def load(self, name: str, *, key_columns: bool = True) -> pd.DataFrame:
        """Table ``name`` of every done task, concatenated in key order (option, cell, replication).

        With ``key_columns``, each task's ``option``, ``cell`` and ``replication`` go in front as
        columns (a table that already has a column of that name keeps its own). Tasks without the
        table are skipped; with no done tasks the result is empty. KeyError if done tasks exist but
        none has a table of that name. One read per batch file, however many tasks it holds.
        """
        index = self._index()
        rank = {key: i for i, key in enumerate(sorted(index))}
        frames: list[pd.DataFrame] = []
        ranks: list[np.ndarray] = []
        for batch in sorted({id(b): b for b, _ in index.values()}.values(), key=lambda b: b.number):
            for (table, kind), members in batch.rows.items():
                live = [(task, first, rows) for task, first, rows in members if index[task.key][0] is batch]
                if table != name or not live:
                    continue
                frame = self._arrow(batch, table, kind).to_pandas()
                if len(live) < len(members):  # tasks stored again in a later batch
                    frame = frame.iloc[np.concatenate([np.arange(first, first + rows) for _, first, rows in live])]
                    frame = frame.reset_index(drop=True)
                counts = [rows for _, _, rows in live]
                if key_columns:
                    for position, column in enumerate(KEY_COLUMNS):
                        if column not in frame.columns:
                            values = [getattr(task.key, column) for task, _, _ in live]
                            frame.insert(position, column, np.repeat(np.array(values, dtype=object), counts)
                                         .astype(str if column == "option" else np.int64))
                frames.append(frame)
                ranks.append(np.repeat([rank[task.key] for task, _, _ in live], counts))
        if not frames:
            known = sorted({table for _, task in index.values() for table in task.tables})
            if known:
                guess = closest(name, known)
                hint = f"did you mean {guess!r}? " if guess else ""
                raise KeyError(f"no table {name!r} in {self.root}; {hint}tables: {', '.join(known)}")
            return pd.DataFrame(columns=list(KEY_COLUMNS) if key_columns else [])
        keep = [i for i, frame in enumerate(frames) if len(frame)] or [0]
        frame = frames[keep[0]] if len(keep) == 1 else pd.concat([frames[i] for i in keep], ignore_index=True)
        order = np.concatenate([ranks[i] for i in keep])
        if len(order) > 1 and (np.diff(order) < 0).any():
            frame = frame.iloc[np.argsort(order, kind="stable")].reset_index(drop=True)
        return frame

    # ----------------------------------------------------------------- writing

    def put(self, key: TaskKey, tables: Mapping[str, pd.DataFrame]) -> None:
        """Store the tables of a finished task: into the open batch, written with it (class
        docstring); a task's frames are kept as they are now (later changes to them are not stored),
        with their columns — not their index: they are read back with a fresh ``RangeIndex``.

        Putting a done task again replaces it. Driver only: see the module docstring.
        :class:`servsim.status.OutputError` if the disk is full, read-only or a link is in the way
        when the batch is written; batches written before stay stored.
        """
        if not isinstance(key, TaskKey):
            raise TypeError(f"key must be a TaskKey, got {type(key).__name__}")
        if not self._release.alive:
            raise StoreError(f"the store in {self.root} is closed; open it again to store more tasks")
        _check_tables(tables)
        # a shallow copy is a snapshot (copy-on-write): what the caller changes later is not stored
        snapshot = {name: frame.copy(deep=False) if _plain_index(frame) else frame.reset_index(drop=True)
                    for name, frame in tables.items()}
        self._batch.add(key, snapshot, self.batch_tasks, self.batch_seconds)
