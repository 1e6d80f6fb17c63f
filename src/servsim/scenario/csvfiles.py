"""Reading the CSV files a scenario names (empirical handle times, arrival traces).

One reader, so that every file gets the same care: only a regular file is opened (see
:mod:`servsim.scenario.files`; a FIFO never blocks), a byte-order mark (as spreadsheets write it) is
not part of the first column's name, blank lines are skipped, the number of rows and the length of
a line are bounded, and any problem — missing file or column, non-UTF-8 bytes, a field too long for
CSV, a bad value — becomes a ``ValueError`` naming the file and line, which the loader locates in
the scenario file. Messages quote at most a short, sanitised piece of the file
(:func:`~servsim.scenario.errors.quoted`): the file may be anything a path points at.

Numbers in cells are ASCII only (:func:`number`): Python's ``float()`` also reads Arabic-Indic or
fullwidth digits and ``1_000``, which no spreadsheet writes and a reader could not check.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

from servsim.scenario.errors import excerpt, plain, quoted
from servsim.scenario.files import FileRefused, open_regular

T = TypeVar("T")

#: Rows read from one file at most: enough for years of recorded arrivals, bounded in memory.
MAX_ROWS = 5_000_000
#: Longest line read (characters): bounds the memory of one row, however many fields it has.
MAX_LINE = 1_000_000

_NUMBER = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[-+]?(?:inf|infinity|nan)",
                     re.ASCII | re.IGNORECASE)


def read_rows(path: Path, columns: Sequence[str | None], parse: Callable[[list[str | None]], T],
              limit: int = MAX_ROWS) -> list[T]:
    """``parse`` applied to the cells of ``columns`` (None: the first column) of each non-blank row.

    A cell missing from a short row is None. ``parse`` raises ``ValueError`` with what is wrong with
    the value; the message gains the file name and line number. ``path`` should already have passed
    the file policy (:func:`servsim.scenario.files.referenced_file`).
    """
    name = plain(path.name)
    fd = _open_csv(path)
    try:
        with io.open(fd, newline="", encoding="utf-8-sig") as fh:
            out = _parse_rows(csv.reader(_bounded_lines(fh, name)), path, name, columns, parse, limit)
    except UnicodeDecodeError as exc:
        raise ValueError(f"{name} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x}); "
                         "save it as UTF-8 CSV") from None
    except OSError as exc:
        raise ValueError(f"cannot read {name}: {plain(exc.strerror or exc)}") from None
    if not out:
        raise ValueError(f"file {quoted(str(path), 200)} has no values")
    return out


def _open_csv(path: Path) -> int:
    """A descriptor of the regular file ``path``; ``ValueError`` saying why it is refused."""
    try:
        return open_regular(path, "CSV file")
    except FileRefused as exc:
        hint = " (paths are relative to the scenario file)" if "does not exist" in str(exc) else ""
        raise ValueError(f"{exc}{hint}") from None


def _parse_rows(reader: Iterator[list[str]], path: Path, name: str, columns: Sequence[str | None],
                parse: Callable[[list[str | None]], T], limit: int) -> list[T]:
    """The rows of :func:`read_rows` after the header, each parsed; ``ValueError`` naming the line
    that cannot be read or parsed."""
    out: list[T] = []
    lineno = 0  # the last line read in full
    try:
        header = next(reader, None)
        if header is None:
            raise ValueError(f"file {quoted(str(path), 200)} is empty")
        lineno = 1
        idx = _column_index([h.strip() for h in header], columns, name)
        for lineno, row in enumerate(reader, start=2):
            if not row or not "".join(row).strip():
                continue
            try:
                out.append(parse([row[i] if i < len(row) else None for i in idx]))
            except (ValueError, OverflowError) as exc:
                raise ValueError(f"{name} line {lineno}: {exc}") from None
            if len(out) > limit:
                raise ValueError(f"{name} has more than {limit:,} rows")
    except csv.Error as exc:
        reason = "a field is too long" if "field larger" in str(exc) else quoted(str(exc), 60)
        raise ValueError(f"{name} line {lineno + 1}: not readable as CSV ({reason})") from None
    return out


def _column_index(header: list[str], columns: Sequence[str | None], name: str) -> list[int]:
    """Positions of ``columns`` in the header (None: the first column); ``ValueError`` for a missing one."""
    missing = [c for c in columns if c is not None and c not in header]
    if missing:
        raise ValueError(f"column {quoted(missing[0])} not in {name}; columns are {_columns(header)}")
    return [0 if c is None else header.index(c) for c in columns]


def _bounded_lines(fh: io.TextIOBase, name: str) -> Iterator[str]:
    """The lines of ``fh``; ``ValueError`` at the first longer than ``MAX_LINE`` characters (one
    huge line would otherwise be read whole, however many fields it splits into)."""
    for lineno, line in enumerate(iter(lambda: fh.readline(MAX_LINE + 1), ""), start=1):
        if len(line) > MAX_LINE:
            raise ValueError(f"{name} line {lineno} is longer than {MAX_LINE:,} characters")
        yield line


def _columns(header: list[str]) -> str:
    """The header's column names, as a message lists them: at most 60 characters of them."""
    return excerpt(", ".join(header), 60)


def number(cell: str | None) -> float:
    """The number in a cell, written with ASCII digits (``30``, ``2.5``, ``1e3``); ``ValueError``
    saying what is wrong otherwise."""
    text = (cell or "").strip()
    if not _NUMBER.fullmatch(text):
        if any(ch.isdigit() and not ch.isascii() for ch in text):
            raise ValueError(f"{shown(cell)} is not a number: write digits 0-9")
        raise ValueError(f"{shown(cell)} is not a number")
    return float(text)


def shown(cell: str | None) -> str:
    """A cell as quoted in a message: at most 40 characters, sanitised, or 'no value'."""
    return "no value" if cell is None or not cell.strip() else quoted(cell.strip())
