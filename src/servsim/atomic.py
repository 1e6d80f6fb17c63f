"""Result files written all or nothing, and never through a symbolic link.

A results folder may be shared, so someone else may have planted links in it, and a disk may fill up
or turn read-only half way through a write. The rules here hold for every file servsim writes:

* **All or nothing.** A file is written to a temporary file in its final folder (created with
  ``O_EXCL | O_NOFOLLOW``, so a planted name is never opened), flushed and fsync'ed, then renamed
  over its final name with :func:`os.replace`, which replaces a link *itself*, never its target.
  A failure removes the temporary file: no zero-byte or half-written file is ever left.
* **No links followed.** Folders servsim creates inside an output folder are checked level by level
  with :func:`os.lstat`; a link where a folder should be is refused, and files are read with
  ``O_NOFOLLOW``.
* **Plain failures.** An :class:`OSError` while writing becomes :class:`servsim.status.OutputError`
  naming the path and the reason in words ("no space left on device (the disk is full)",
  "read-only file system"), which the command line turns into its own exit status.
"""

from __future__ import annotations

import errno
import os
import stat
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO

from servsim.status import OutputError

#: Temporary files are ``.<final name>.<32 hex digits>.tmp`` in the final file's folder.
TEMP_GLOB = ".*.tmp"

LINK_REASON = ("is a symbolic link: servsim never writes, reads or deletes through links inside its "
               "output folder; remove the link or choose another --out folder")

_REASONS = {
    errno.ENOSPC: "no space left on device (the disk is full)",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ELOOP: LINK_REASON,
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "is a folder, not a file",
    errno.EEXIST: "already exists and is not a folder",
}

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


def output_error(path: str | os.PathLike[str], exc: OSError) -> OutputError:
    """``exc`` as an :class:`OutputError` on ``path``, its reason said in words."""
    reason = _REASONS.get(exc.errno or 0) or (exc.strerror or str(exc)).lower()
    return OutputError(path, reason)


def refuse_link(path: Path) -> None:
    """Raise :class:`OutputError` if ``path`` is a symbolic link (a missing path is fine)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise output_error(path, exc) from None
    if stat.S_ISLNK(info.st_mode):
        raise OutputError(path, LINK_REASON)


def ensure_dir(path: Path, inside: Path | None = None) -> Path:
    """Create folder ``path`` (and its parents) unless it exists; return it.

    Below ``inside`` (an output folder that holds ``path``) every level is created or checked one at
    a time and a link or a file where a folder should be raises :class:`OutputError`; above it,
    existing links are the user's own choice and are followed.
    """
    path = Path(path)
    levels = [path]
    if inside is not None:
        base = Path(inside)
        relative = path.relative_to(base)
        levels = [base] + [base.joinpath(*relative.parts[:i]) for i in range(1, len(relative.parts) + 1)]
        try:
            base.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise output_error(base.parent, exc) from None
    else:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise output_error(path.parent, exc) from None
    for level in levels:
        try:
            os.mkdir(level)
        except FileExistsError:
            pass
        except OSError as exc:
            raise output_error(level, exc) from None
        try:
            info = os.lstat(level)
        except OSError as exc:
            raise output_error(level, exc) from None
        if stat.S_ISLNK(info.st_mode):
            raise OutputError(level, LINK_REASON)
        if not stat.S_ISDIR(info.st_mode):
            raise OutputError(level, "is a file, not a folder")
    return path


def fsync_dir(directory: Path) -> None:
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


def atomic_write(path: Path, write: Callable[[IO[bytes]], object], *, sync_dir: bool = True) -> None:
    """Write ``path`` all or nothing (module docstring); ``write(fh)`` writes the content to ``fh``.

    Raises :class:`OutputError` when the file cannot be written (disk full, read-only, a folder in
    the way); the previous file, if any, is then left as it was. ``sync_dir=False`` leaves out the
    fsync of the folder that makes the rename durable, for a writer of several files that syncs
    their folder once after the last (:func:`fsync_dir`).
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError as exc:
        raise output_error(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise output_error(path, exc) from None
        raise
    if sync_dir:
        fsync_dir(path.parent)


def write_bytes(path: Path, data: bytes | memoryview, *, sync_dir: bool = True) -> None:
    """:func:`atomic_write` of ``data``."""
    atomic_write(path, lambda fh: fh.write(data), sync_dir=sync_dir)


def write_text(path: Path, text: str) -> None:
    """:func:`atomic_write` of ``text`` as UTF-8 with ``\\n`` line ends."""
    write_bytes(path, text.encode("utf-8"))


def read_bytes(path: Path) -> bytes:
    """The content of regular file ``path``, never through a link and never blocking on a FIFO.

    Raises :class:`OSError` (``ELOOP`` for a link, ``EINVAL`` for anything but a regular file)."""
    fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def remove_file(path: Path) -> None:
    """Remove a file servsim wrote earlier (a link is removed itself, never what it points to); a
    missing file is fine. Raises :class:`servsim.status.OutputError` when it cannot be removed."""
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise output_error(path, exc) from None
