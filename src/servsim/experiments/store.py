"""The result store of an experiment run: every finished task on disk, so a run survives interruption.

An experiment is many independent tasks (option x sweep cell x replication), each producing a few
result tables. The driver stores each task's tables as it finishes; running the same experiment
again skips the tasks that are done, so an interrupted run loses at most the tasks in flight.

Layout::

    ROOT/
      .lock                                  held (flock) by the driver using the store; its pid
      manifest.json                          {"format": 2, "config_hash": "<sha256 hex>", "checksum": ...}
      tasks/
        opt=baseline/cell=0003/rep=0007/
          contacts.parquet                   one parquet file per result table
          intervals.parquet
          _done.json                         the marker, written last: key, sha256 of each table

Atomicity: every file is written all or nothing (:mod:`servsim.atomic`: a temporary file, fsync,
:func:`os.replace`). The ``_done.json`` marker — naming the task's key, the experiment's hash and
the SHA-256 of each table file — is written only after every table is complete, so a task is
*done* exactly when its marker is there and every checksum matches. A crash leaves at worst
temporary files and task directories without a marker; both are removed the next time the store is
opened.

Corruption: the manifest and every marker carry a checksum of their own content, and opening the
store checks every table file against its marker. A task whose files were truncated or changed is
logged as corrupt (a warning naming it) and removed, so the run computes it again. A corrupt
manifest is rewritten when every stored marker names this experiment; otherwise the store refuses.

Changed experiments: ``manifest.json`` records the hash of the experiment's canonical JSON
(:func:`config_hash`). Opening a store written for a different experiment raises
:class:`StoreMismatchError`, so a resumed run never mixes results of an old and a new experiment;
``overwrite=True`` deletes the old results and starts fresh.

**One driver at a time.** Only the driver process writes: workers return their tables to the driver,
which calls :meth:`ResultStore.put`. Opening a store takes an exclusive ``flock`` on ``ROOT/.lock``,
held while a :class:`ResultStore` of it is open in this process (until :meth:`ResultStore.close` or
it is garbage); a second live process opening the same store gets :class:`servsim.status.BusyError`
naming the first one's pid, before it deletes anything.
The lock dies with its process, however it dies, so a killed driver never blocks the next run.

**No links.** A symbolic link anywhere in the store (the root, ``tasks/``, a task folder, a table,
a marker, the manifest, the lock) is refused with :class:`servsim.status.OutputError` before
anything is read, written or deleted: the store never reads, writes or deletes through a link.
Disk full, read-only and a file where a folder should be are ``OutputError`` too; finished tasks
stay stored.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import logging
import os
import re
import shutil
import stat
import weakref
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

import pandas as pd

from servsim.atomic import (
    LINK_REASON, TEMP_GLOB, atomic_write, ensure_dir, fsync_dir, output_error, read_bytes, write_bytes,
)
from servsim.scenario.errors import closest
from servsim.status import BusyError, OutputError

__all__ = ["ResultStore", "StoreError", "StoreMismatchError", "TaskKey", "atomic_write", "canonical_json",
           "config_hash", "locked", "option_slug", "stored_hash"]

log = logging.getLogger(__name__)

FORMAT = 2
MANIFEST = "manifest.json"
MARKER = "_done.json"
LOCK = ".lock"
TASKS = "tasks"
TABLE_SUFFIX = ".parquet"
#: Columns :meth:`ResultStore.load` puts in front of each table, from the task's key.
KEY_COLUMNS = ("option", "cell", "replication")

_CLEAN_OPTION = re.compile(r"[a-z0-9_][a-z0-9_-]{0,63}")
_TABLE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}")
_LEVELS = ("opt=", "cell=", "rep=")
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
        """Stable text id, also the task's directory: ``opt=<slug>/cell=0003/rep=0007``."""
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


def _sealed_text(data: Mapping[str, Any]) -> str:
    """``data`` as JSON with a ``checksum`` (SHA-256 of its canonical JSON), so a changed byte shows."""
    body = {k: v for k, v in data.items() if k != "checksum"}
    sealed = {**body, "checksum": hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()}
    return json.dumps(sealed, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _unseal(raw: bytes) -> dict[str, Any] | None:
    """The record in ``raw`` if it is a JSON object whose checksum matches, else None."""
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
    return body if data["checksum"] == expected and body.get("format") == FORMAT else None


def _write_sealed(path: Path, data: Mapping[str, Any]) -> None:
    write_bytes(path, _sealed_text(data).encode("utf-8"))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- the lock

#: Store roots locked by this process: (device, inode) -> [the lock file's descriptor, open stores].
_HELD: dict[tuple[int, int], list[int]] = {}
def _lock(root: Path) -> tuple[int, int]:
    """Take the store's lock for this process (re-entrant); :class:`BusyError` if another has it."""
    try:
        info = os.stat(root)
    except OSError as exc:
        raise output_error(root, exc) from None
    ident = (info.st_dev, info.st_ino)
    if ident in _HELD:
        _HELD[ident][1] += 1
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
    _HELD[ident] = [fd, 1]
    return ident


def _lock_owner(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _unlock(ident: tuple[int, int]) -> None:
    """One store of ``ident`` closed: release the lock when it was the last."""
    held = _HELD.get(ident)
    if held is None:
        return
    held[1] -= 1
    if held[1] <= 0:
        del _HELD[ident]
        os.close(held[0])  # closing the descriptor releases the flock


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


# --------------------------------------------------------------------------- markers


@dataclass(frozen=True)
class _Marker:
    """A done task: its key, its directory and the SHA-256 of each of its tables."""

    key: TaskKey
    directory: Path
    checksums: Mapping[str, str]

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(self.checksums)

    def file(self, name: str) -> Path:
        return self.directory / f"{name}{TABLE_SUFFIX}"


class _Corrupt(Exception):
    """A task's stored files do not match its marker (the message says how)."""


def _read_marker(directory: Path, tasks_root: Path, config_hash: str) -> _Marker | None:
    """The marker of the task in ``directory`` if it is there, else None; :class:`_Corrupt` if it
    is there but unreadable, changed, for another experiment or for another task."""
    try:
        raw = read_bytes(directory / MARKER)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _Corrupt(f"its marker cannot be read ({exc.strerror or exc})") from None
    data = _unseal(raw)
    if data is None:
        raise _Corrupt("its marker is damaged")
    try:
        key = TaskKey.from_dict(data["key"])
        checksums = dict(data["tables"])
        recorded = data["config_hash"]
    except (ValueError, KeyError, TypeError):
        raise _Corrupt("its marker is damaged") from None
    if recorded != config_hash:
        raise _Corrupt("its marker names another experiment")
    if not all(isinstance(n, str) and _TABLE_NAME.fullmatch(n) and isinstance(h, str) for n, h in checksums.items()):
        raise _Corrupt("its marker is damaged")
    if directory.relative_to(tasks_root).as_posix() != key.id:
        raise _Corrupt("its marker names another task")
    return _Marker(key, directory, checksums)


def _verified(marker: _Marker, name: str) -> bytes:
    """The bytes of table ``name`` of a done task; :class:`_Corrupt` unless they match the marker."""
    path = marker.file(name)
    try:
        data = read_bytes(path)
    except OSError as exc:
        raise _Corrupt(f"{path.name} cannot be read ({exc.strerror or exc})") from None
    if _sha256(data) != marker.checksums[name]:
        raise _Corrupt(f"{path.name} does not match its checksum")
    return data


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
        seen[name.lower()] = name


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf)
    return buf.getvalue()


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


# --------------------------------------------------------------------------- the store


class ResultStore:
    """Tables of finished tasks under ``root``, for the experiment whose hash is ``config_hash``.

    Opening locks the store for this process (:class:`servsim.status.BusyError` if another live
    process has it), refuses links inside it, checks ``manifest.json`` (creating it for a new store;
    :class:`StoreMismatchError` if it names another experiment, unless ``overwrite=True``, which
    deletes all results first), and removes leftovers of an interrupted run and corrupt tasks. See
    the module docstring for the layout and guarantees.
    """

    def __init__(self, root: str | Path, config_hash: str, *, overwrite: bool = False) -> None:
        if not isinstance(config_hash, str) or not config_hash:
            raise ValueError("config_hash must be a non-empty string (see config_hash())")
        self.root = Path(root)
        self.config_hash = config_hash
        ensure_dir(self.root, inside=self.root)
        self._release = weakref.finalize(self, _unlock, _lock(self.root))
        try:
            _refuse_links_below(self.root)
            if overwrite:
                self._reset()
            else:
                self._open()
            self._clean()
        except BaseException:
            self._release()  # a store that could not be opened holds no lock
            raise

    def close(self) -> None:
        """Done with the store: its lock is released once every ResultStore of this root in this
        process is closed or garbage."""
        self._release()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def tasks_dir(self) -> Path:
        return self.root / TASKS

    # ----------------------------------------------------------------- manifest

    def _open(self) -> None:
        manifest = self.root / MANIFEST
        try:
            raw = read_bytes(manifest)
        except FileNotFoundError:
            if _entries(self.tasks_dir):
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
        if not isinstance(recorded, str):
            self._recover_manifest(manifest)
            return
        if recorded != self.config_hash:
            raise StoreMismatchError(
                f"{self.root} holds results of a different experiment (config hash {recorded[:12]}..., "
                f"this experiment {self.config_hash[:12]}...): the experiment changed since those results "
                "were written; use overwrite=True (--overwrite) to discard them, or another output folder"
            )

    def _recover_manifest(self, manifest: Path) -> None:
        """A damaged manifest: rewrite it if every marker that can be read names this experiment."""
        for directory in self._task_dirs():
            try:
                raw = read_bytes(directory / MARKER)
            except OSError:
                continue
            data = _unseal(raw)
            if data is not None and data.get("config_hash") != self.config_hash:
                raise StoreError(
                    f"{manifest} is unreadable and {directory} holds results of another experiment; use "
                    "overwrite=True (--overwrite) to start fresh, or another output folder")
        log.warning("%s was damaged; rewritten (tasks stored for this experiment are kept)", manifest)
        self._write_manifest()

    def _write_manifest(self) -> None:
        _write_sealed(self.root / MANIFEST, {"format": FORMAT, "config_hash": self.config_hash})

    def _reset(self) -> None:
        """Delete the manifest first, then the results: a crash in between leaves no valid manifest."""
        _remove(self.root / MANIFEST)
        _remove(self.tasks_dir)
        self._write_manifest()

    # ----------------------------------------------------------------- leftovers

    def _clean(self) -> None:
        """Remove temp files, task directories without a marker (leftovers of a crash) and corrupt
        tasks (a warning names each), so that a rerun computes them again."""
        for tmp in self.root.glob(_TEMP_GLOB):
            _remove(tmp)
        for directory in self._task_dirs():
            for tmp in directory.glob(_TEMP_GLOB):
                _remove(tmp)
            try:
                marker = _read_marker(directory, self.tasks_dir, self.config_hash)
                if marker is not None:
                    for name in marker.tables:
                        _verified(marker, name)
            except _Corrupt as exc:
                log.warning("stored task %s is corrupt (%s); computing it again",
                            directory.relative_to(self.tasks_dir).as_posix(), exc)
                marker = None
            if marker is None:
                _remove(directory)
        for depth in (2, 1):
            for directory in self._dirs(depth):
                if not _entries(directory):
                    try:
                        os.rmdir(directory)
                    except OSError as exc:
                        raise output_error(directory, exc) from None

    def _dirs(self, depth: int) -> list[Path]:
        """Real (not linked) directories ``depth`` levels below ``tasks/`` named as the layout says."""
        level = [self.tasks_dir] if os.path.isdir(self.tasks_dir) and not os.path.islink(self.tasks_dir) else []
        for prefix in _LEVELS[:depth]:
            level = [Path(e.path) for d in level for e in _entries(d)
                     if e.name.startswith(prefix) and e.is_dir(follow_symlinks=False)]
        return level

    def _task_dirs(self) -> list[Path]:
        return self._dirs(3)

    def _markers(self) -> Iterator[_Marker]:
        for directory in self._task_dirs():
            marker = self._done_marker(directory)
            if marker is not None:
                yield marker

    def _done_marker(self, directory: Path) -> _Marker | None:
        try:
            marker = _read_marker(directory, self.tasks_dir, self.config_hash)
        except _Corrupt:
            return None
        if marker is None or not all(os.path.isfile(marker.file(n)) for n in marker.tables):
            return None
        return marker

    def _marker(self, key: TaskKey) -> _Marker | None:
        directory = self.tasks_dir / key.id
        marker = self._done_marker(directory) if directory.is_dir() else None
        return marker if marker is not None and marker.key == key else None

    # ----------------------------------------------------------------- reading

    def done(self) -> set[TaskKey]:
        """Keys of the tasks whose tables are all on disk (scanned from disk on every call)."""
        return {marker.key for marker in self._markers()}

    def is_done(self, key: TaskKey) -> bool:
        return self._marker(key) is not None

    def pending(self, keys: Iterable[TaskKey]) -> list[TaskKey]:
        """The keys of ``keys`` that are not done, in the given order."""
        finished = self.done()
        return [key for key in keys if key not in finished]

    def get(self, key: TaskKey) -> dict[str, pd.DataFrame]:
        """The tables of a done task; KeyError if it is not done."""
        marker = self._marker(key)
        if marker is None:
            raise KeyError(f"task {key.id} is not done in {self.root}")
        return {name: self._read(marker, name) for name in marker.tables}

    def _read(self, marker: _Marker, name: str) -> pd.DataFrame:
        try:
            return pd.read_parquet(io.BytesIO(_verified(marker, name)))
        except _Corrupt as exc:
            raise StoreError(f"stored task {marker.key.id} changed after it was checked: {exc}; run the same "
                             "command again to compute it again") from None

    def load(self, name: str, *, key_columns: bool = True) -> pd.DataFrame:
        """Table ``name`` of every done task, concatenated in key order (option, cell, replication).

        With ``key_columns``, each task's ``option``, ``cell`` and ``replication`` go in front as
        columns (a table that already has a column of that name keeps its own). Tasks without the
        table are skipped; with no done tasks the result is empty. KeyError if done tasks exist but
        none has a table of that name.
        """
        markers = sorted(self._markers(), key=lambda m: m.key)
        frames = [self._with_key(m, name, key_columns) for m in markers if name in m.tables]
        if not frames:
            known = sorted({table for m in markers for table in m.tables})
            if known:
                guess = closest(name, known)
                hint = f"did you mean {guess!r}? " if guess else ""
                raise KeyError(f"no table {name!r} in {self.root}; {hint}tables: {', '.join(known)}")
            return pd.DataFrame(columns=list(KEY_COLUMNS) if key_columns else [])
        nonempty = [frame for frame in frames if len(frame)] or frames[:1]
        return pd.concat(nonempty, ignore_index=True)

    def _with_key(self, marker: _Marker, name: str, key_columns: bool) -> pd.DataFrame:
        frame = self._read(marker, name)
        if key_columns:
            values = marker.key.to_dict()
            for position, column in enumerate(KEY_COLUMNS):
                if column not in frame.columns:
                    frame.insert(position, column, values[column])
        return frame

    # ----------------------------------------------------------------- writing

    def put(self, key: TaskKey, tables: Mapping[str, pd.DataFrame]) -> None:
        """Store the tables of a finished task: each table atomically, then the ``done`` marker
        with each table's SHA-256.

        Putting a done task again replaces it (it is not done while being rewritten). Driver only:
        see the module docstring. :class:`servsim.status.OutputError` if the disk is full,
        read-only or a link is in the way; tasks stored before stay stored.
        """
        _check_tables(tables)
        directory = ensure_dir(self.tasks_dir / key.id, inside=self.root)
        marker = directory / MARKER
        if os.path.lexists(marker):
            _remove(marker)
            fsync_dir(directory)
        checksums: dict[str, str] = {}
        for name, frame in tables.items():
            data = _parquet_bytes(frame)
            write_bytes(directory / f"{name}{TABLE_SUFFIX}", data)
            checksums[name] = _sha256(data)
        keep = {f"{name}{TABLE_SUFFIX}" for name in tables}
        for stale in _entries(directory):
            if stale.name.endswith(TABLE_SUFFIX) and stale.name not in keep:
                _remove(Path(stale.path))
        _write_sealed(marker, {"format": FORMAT, "key": key.to_dict(), "config_hash": self.config_hash,
                               "tables": checksums})
