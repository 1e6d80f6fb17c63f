"""Which files a scenario or experiment may make servsim read, and reading them without surprises.

A scenario names other files (arrival traces, empirical handle times); an experiment or sweep names
its base scenario and patch files. Those paths are written by whoever wrote the file, which need
not be the person running servsim, so they follow one policy:

* **Inside a root.** The real target — every ``..`` and symbolic link resolved — must lie inside
  one of the policy's roots. By default (:func:`default_policy`) these are the current working
  directory, the folder of the top-level file named on the command line, and each folder listed in
  the environment variable ``SERVSIM_ALLOW_DIRS`` (separated by ``os.pathsep``). A caller that
  passes ``roots=`` explicitly (a web app with one upload folder) gets exactly those roots and
  nothing else.
* **Never a pseudo-file system.** Anything under ``/proc``, ``/sys`` or ``/dev`` is refused, even
  inside a root.
* **Only regular files.** A directory, named pipe (FIFO), device or socket is refused by what it
  is, from ``os.stat`` before it is opened (so a FIFO never blocks), and again from the open file.
* **Bounded.** At most ``max_bytes`` are read from a YAML file (10 MB); CSV files are bounded by
  their row and line limits (:mod:`servsim.scenario.csvfiles`).

The top-level file the user names is theirs to choose (any path they can read) unless the caller
gave explicit roots; it must still be a regular file outside the pseudo-file systems.

Every refusal is a :class:`FileRefused` (a ``ValueError``) whose message says what the path is and
what would be valid; loaders turn it into a located problem at the field that names the file.
Refusals for a path outside the roots say nothing about whether the file exists.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from servsim.scenario.errors import plain

#: Environment variable: more folders (``os.pathsep``-separated) that files may be read from.
ALLOW_ENV = "SERVSIM_ALLOW_DIRS"
#: Pseudo-file systems: never a scenario's data, and reading them can block or leak.
PSEUDO = (Path("/proc"), Path("/sys"), Path("/dev"))
#: Largest YAML file read (bytes).
MAX_YAML_BYTES = 10_000_000

_KINDS = (
    (stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
)


class FileRefused(ValueError):
    """A path servsim will not read: ``str()`` says what it is and what would be valid."""


@dataclass(frozen=True)
class FilePolicy:
    """The folders (``roots``, real paths) that named files may be read from; see the module docstring."""

    roots: tuple[Path, ...]

    @classmethod
    def of(cls, roots: Iterable[str | Path]) -> FilePolicy:
        """A policy of exactly ``roots`` (each resolved to its real path)."""
        return cls(tuple(dict.fromkeys(_real(Path(r)) for r in roots)))

    def describe(self) -> str:
        """``/a/b, /c`` — the roots as a message lists them (a root inside another is not listed)."""
        outer = [r for r in self.roots if not any(o != r and r.is_relative_to(o) for o in self.roots)]
        return ", ".join(plain(r) for r in outer) or "(none)"

    def inside(self, real: Path) -> bool:
        return any(real == root or real.is_relative_to(root) for root in self.roots)

    def check(self, path: Path, what: str = "file", written: str | None = None) -> Path:
        """The real path of ``path`` if the policy lets servsim read it; :class:`FileRefused` if not.
        ``written``: the path as the referring file wrote it (for the message)."""
        real = _real(path)
        shown = plain(written if written is not None else path)
        if not self.inside(real):
            really = f" (really {plain(real)})" if str(real) != shown else ""
            raise FileRefused(
                f"the {what} {shown}{really} is outside the folders servsim may read; set {ALLOW_ENV} "
                f"to allow another folder (paths must stay inside {self.describe()})")
        refuse_pseudo(path, real, what, shown)
        return real


def default_policy(top_file: str | Path | None = None, extra: Iterable[str | Path] = ()) -> FilePolicy:
    """The command line's policy: the working directory, the folder of ``top_file``, the folders in
    ``SERVSIM_ALLOW_DIRS``, and ``extra``."""
    roots: list[Path] = [Path.cwd()]
    if top_file is not None:  # the folder as named, and the real one if the file is a link
        roots.extend((Path(top_file).parent, Path(top_file).resolve().parent))
    roots.extend(Path(r) for r in extra)
    roots.extend(Path(r) for r in os.environ.get(ALLOW_ENV, "").split(os.pathsep) if r.strip())
    return FilePolicy.of(roots)


def policy_for(roots: Iterable[str | Path] | FilePolicy | None, top_file: str | Path | None = None,
               extra: Iterable[str | Path] = ()) -> FilePolicy:
    """``roots`` as a policy: explicit roots as given, or :func:`default_policy` when None."""
    if isinstance(roots, FilePolicy):
        return roots
    return default_policy(top_file, extra) if roots is None else FilePolicy.of(roots)


#: Key of the policy in a pydantic validation context (beside ``base_dir``).
CONTEXT_KEY = "file_policy"


def referenced_file(context: Mapping[str, Any] | None, name: str, what: str = "file") -> Path:
    """The real path of a file named in a scenario (``name``, relative to the context's
    ``base_dir``), checked against the context's policy (the default policy if it has none)."""
    context = context or {}
    base = Path(context.get("base_dir", "."))
    policy = context.get(CONTEXT_KEY)
    if not isinstance(policy, FilePolicy):
        policy = default_policy(extra=[base])
    return policy.check(base / name, what, written=name)


def refuse_pseudo(path: Path, real: Path, what: str = "file", shown: str | None = None) -> None:
    """:class:`FileRefused` if ``path`` (as named, or its real target) is under /proc, /sys or /dev."""
    for root in PSEUDO:
        for candidate in (real, Path(os.path.abspath(path))):
            if candidate == root or candidate.is_relative_to(root):
                raise FileRefused(f"the {what} {shown or plain(path)} is in {root}, which servsim never reads; "
                                  "give a regular file")


def regular_file(path: Path, what: str = "file") -> os.stat_result:
    """``os.stat`` of ``path`` if it is a regular file; :class:`FileRefused` saying what it is if not."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise FileRefused(f"the {what} {plain(path)} does not exist") from None
    except NotADirectoryError:
        raise FileRefused(f"the {what} {plain(path)} does not exist (a part of the path is a file)") from None
    except OSError as exc:
        raise FileRefused(f"cannot read the {what} {plain(path)}: {plain(exc.strerror or exc)}") from None
    refuse_special(path, info.st_mode, what)
    return info


def refuse_special(path: Path, mode: int, what: str = "file") -> None:
    for test, kind in _KINDS:
        if test(mode):
            raise FileRefused(f"the {what} {plain(path)} is {kind}, not a regular file")
    if not stat.S_ISREG(mode):
        raise FileRefused(f"the {what} {plain(path)} is not a regular file")


def open_regular(path: Path, what: str = "file") -> int:
    """An open, read-only descriptor of the regular file ``path``: checked with ``stat`` before
    opening, opened without blocking (a FIFO swapped in meanwhile cannot hang) and checked again."""
    regular_file(path, what)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise FileRefused(f"cannot read the {what} {plain(path)}: {plain(exc.strerror or exc)}") from None
    try:
        refuse_special(path, os.fstat(fd).st_mode, what)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_bytes(path: Path, max_bytes: int = MAX_YAML_BYTES, what: str = "file") -> bytes:
    """The content of the regular file ``path``; :class:`FileRefused` if it is larger than ``max_bytes``."""
    fd = open_regular(path, what)
    with os.fdopen(fd, "rb") as fh:
        if os.fstat(fh.fileno()).st_size > max_bytes:
            raise FileRefused(too_large(path, os.fstat(fh.fileno()).st_size, max_bytes, what))
        try:
            raw = fh.read(max_bytes + 1)
        except OSError as exc:
            raise FileRefused(f"cannot read the {what} {plain(path)}: {plain(exc.strerror or exc)}") from None
    if len(raw) > max_bytes:
        raise FileRefused(too_large(path, None, max_bytes, what))
    return raw


def too_large(path: Path, size: int | None, limit: int, what: str = "file") -> str:
    actual = f"{size / 1e6:.1f} MB; " if size is not None else ""
    return f"the {what} {plain(path)} is too large ({actual}limit {limit / 1e6:g} MB)"


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))
