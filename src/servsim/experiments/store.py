"""The result store of an experiment run: every finished task on disk, so a run survives interruption.

An experiment is many independent tasks (option x sweep cell x replication), each producing a few
result tables. The driver stores each task's tables as it finishes; running the same experiment
again skips the tasks that are done, so an interrupted run loses at most the tasks in flight.

Layout::

    ROOT/
      manifest.json                          {"format": 1, "config_hash": "<sha256 hex>"}
      tasks/
        opt=baseline/cell=0003/rep=0007/
          contacts.parquet                   one parquet file per result table
          intervals.parquet
          _done.json                         the marker, written last

Atomicity: every file is written to a temporary file in its final directory, flushed and fsync'ed,
then renamed over its final name with :func:`os.replace` (atomic on POSIX and Windows), and the
directory is fsync'ed. The ``_done.json`` marker — naming the task's key and its tables — is
written only after every table is complete, so a task is *done* exactly when its marker is there.
A crash leaves at worst temporary files and task directories without a marker; both are ignored by
:meth:`ResultStore.done` and removed the next time the store is opened.

Changed experiments: ``manifest.json`` records the hash of the experiment's canonical JSON
(:func:`config_hash`). Opening a store written for a different experiment raises
:class:`StoreMismatchError`, so a resumed run never mixes results of an old and a new experiment;
``overwrite=True`` deletes the old results and starts fresh.

**Single writer.** Only the driver process writes: workers return their tables to the driver, which
calls :meth:`ResultStore.put`. The store takes no locks; two drivers writing to one root at the same
time — or opening a store (which cleans leftovers) while another driver writes to it — is not
supported.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import IO, Any

import pandas as pd

from servsim.scenario.errors import closest

FORMAT = 1
MANIFEST = "manifest.json"
MARKER = "_done.json"
TASKS = "tasks"
TABLE_SUFFIX = ".parquet"
#: Columns :meth:`ResultStore.load` puts in front of each table, from the task's key.
KEY_COLUMNS = ("option", "cell", "replication")

_CLEAN_OPTION = re.compile(r"[a-z0-9_][a-z0-9_-]{0,63}")
_TABLE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}")
_TASK_GLOB = "opt=*/cell=*/rep=*"
_TEMP_GLOB = ".*.tmp"


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


# --------------------------------------------------------------------------- atomic files


def _fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Write ``path`` all or nothing: temp file in the same directory, fsync, :func:`os.replace`."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))


# --------------------------------------------------------------------------- markers


@dataclass(frozen=True)
class _Marker:
    """A done task: its key, its directory and the names of its tables."""

    key: TaskKey
    directory: Path
    tables: tuple[str, ...]

    def file(self, name: str) -> Path:
        return self.directory / f"{name}{TABLE_SUFFIX}"


def _read_marker(directory: Path, tasks_root: Path) -> _Marker | None:
    """The marker of the task in ``directory`` if it is complete and consistent, else None."""
    try:
        data = json.loads((directory / MARKER).read_text(encoding="utf-8"))
        key = TaskKey.from_dict(data["key"])
        tables = tuple(data["tables"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not all(isinstance(name, str) and _TABLE_NAME.fullmatch(name) for name in tables):
        return None
    marker = _Marker(key, directory, tables)
    if directory.relative_to(tasks_root).as_posix() != key.id:
        return None
    return marker if all(marker.file(name).is_file() for name in tables) else None


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


# --------------------------------------------------------------------------- the store


class ResultStore:
    """Tables of finished tasks under ``root``, for the experiment whose hash is ``config_hash``.

    Opening checks ``manifest.json`` (creating it for a new store; :class:`StoreMismatchError` if it
    names another experiment, unless ``overwrite=True``, which deletes all results first) and
    removes leftovers of an interrupted run. See the module docstring for the layout and guarantees.
    """

    def __init__(self, root: str | Path, config_hash: str, *, overwrite: bool = False) -> None:
        if not isinstance(config_hash, str) or not config_hash:
            raise ValueError("config_hash must be a non-empty string (see config_hash())")
        self.root = Path(root)
        self.config_hash = config_hash
        self.root.mkdir(parents=True, exist_ok=True)
        if overwrite:
            self._reset()
        else:
            self._open()
        self._clean()

    @property
    def tasks_dir(self) -> Path:
        return self.root / TASKS

    # ----------------------------------------------------------------- manifest

    def _open(self) -> None:
        manifest = self.root / MANIFEST
        if not manifest.exists():
            if self.tasks_dir.exists() and any(self.tasks_dir.iterdir()):
                raise StoreMismatchError(
                    f"{self.root} holds task results but no {MANIFEST}, so it cannot tell which experiment "
                    "wrote them; use overwrite=True (--overwrite) to start fresh, or another output folder"
                )
            self._write_manifest()
            return
        recorded = self._recorded_hash(manifest)
        if recorded != self.config_hash:
            raise StoreMismatchError(
                f"{self.root} holds results of a different experiment (config hash {recorded[:12]}..., "
                f"this experiment {self.config_hash[:12]}...): the experiment changed since those results "
                "were written; use overwrite=True (--overwrite) to discard them, or another output folder"
            )

    def _recorded_hash(self, manifest: Path) -> str:
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
            recorded = data["config_hash"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StoreError(
                f"{manifest} is unreadable ({exc}); use overwrite=True (--overwrite) to start fresh"
            ) from None
        if not isinstance(recorded, str):
            raise StoreError(f"{manifest}: 'config_hash' is not text; use overwrite=True to start fresh")
        return recorded

    def _write_manifest(self) -> None:
        _write_json(self.root / MANIFEST, {"format": FORMAT, "config_hash": self.config_hash})

    def _reset(self) -> None:
        """Delete the manifest first, then the results: a crash in between leaves no valid manifest."""
        (self.root / MANIFEST).unlink(missing_ok=True)
        if self.tasks_dir.exists():
            shutil.rmtree(self.tasks_dir)
        self._write_manifest()

    # ----------------------------------------------------------------- leftovers

    def _clean(self) -> None:
        """Remove temp files and task directories without a valid marker (leftovers of a crash)."""
        for tmp in self.root.glob(_TEMP_GLOB):
            tmp.unlink(missing_ok=True)
        if not self.tasks_dir.is_dir():
            return
        for directory in self._task_dirs():
            for tmp in directory.glob(_TEMP_GLOB):
                tmp.unlink(missing_ok=True)
            if _read_marker(directory, self.tasks_dir) is None:
                shutil.rmtree(directory)
        for level in ("opt=*/cell=*", "opt=*"):
            for directory in self.tasks_dir.glob(level):
                if directory.is_dir() and not any(directory.iterdir()):
                    directory.rmdir()

    def _task_dirs(self) -> list[Path]:
        if not self.tasks_dir.is_dir():
            return []
        return [d for d in self.tasks_dir.glob(_TASK_GLOB) if d.is_dir()]

    def _markers(self) -> Iterator[_Marker]:
        for directory in self._task_dirs():
            marker = _read_marker(directory, self.tasks_dir)
            if marker is not None:
                yield marker

    def _marker(self, key: TaskKey) -> _Marker | None:
        directory = self.tasks_dir / key.id
        marker = _read_marker(directory, self.tasks_dir) if directory.is_dir() else None
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
        return {name: pd.read_parquet(marker.file(name)) for name in marker.tables}

    def load(self, name: str, *, key_columns: bool = True) -> pd.DataFrame:
        """Table ``name`` of every done task, concatenated in key order (option, cell, replication).

        With ``key_columns``, each task's ``option``, ``cell`` and ``replication`` go in front as
        columns (a table that already has a column of that name keeps its own). Tasks without the
        table are skipped; with no done tasks the result is empty. KeyError if done tasks exist but
        none has a table of that name.
        """
        markers = sorted(self._markers(), key=lambda m: m.key)
        frames = [_read_table(m, name, key_columns) for m in markers if name in m.tables]
        if not frames:
            known = sorted({table for m in markers for table in m.tables})
            if known:
                guess = closest(name, known)
                hint = f"did you mean {guess!r}? " if guess else ""
                raise KeyError(f"no table {name!r} in {self.root}; {hint}tables: {', '.join(known)}")
            return pd.DataFrame(columns=list(KEY_COLUMNS) if key_columns else [])
        nonempty = [frame for frame in frames if len(frame)] or frames[:1]
        return pd.concat(nonempty, ignore_index=True)

    # ----------------------------------------------------------------- writing

    def put(self, key: TaskKey, tables: Mapping[str, pd.DataFrame]) -> None:
        """Store the tables of a finished task: each table atomically, then the ``done`` marker.

        Putting a done task again replaces it (it is not done while being rewritten). Driver only:
        see the module docstring.
        """
        _check_tables(tables)
        directory = self.tasks_dir / key.id
        directory.mkdir(parents=True, exist_ok=True)
        marker = directory / MARKER
        if marker.exists():
            marker.unlink()
            _fsync_dir(directory)
        for name, frame in tables.items():
            atomic_write(directory / f"{name}{TABLE_SUFFIX}", frame.to_parquet)
        keep = {f"{name}{TABLE_SUFFIX}" for name in tables}
        for stale in directory.glob(f"*{TABLE_SUFFIX}"):
            if stale.name not in keep:
                stale.unlink()
        _write_json(marker, {"format": FORMAT, "key": key.to_dict(), "tables": list(tables)})


def _read_table(marker: _Marker, name: str, key_columns: bool) -> pd.DataFrame:
    frame = pd.read_parquet(marker.file(name))
    if key_columns:
        values = marker.key.to_dict()
        for position, column in enumerate(KEY_COLUMNS):
            if column not in frame.columns:
                frame.insert(position, column, values[column])
    return frame
