"""Reading the CSV files a scenario names (empirical handle times, arrival traces).

One reader, so that every file gets the same care: a byte-order mark (as spreadsheets write it) is
not part of the first column's name, blank lines are skipped, the number of rows is bounded, and any
problem — missing file or column, non-UTF-8 bytes, a field too long for CSV, a bad value — becomes a
``ValueError`` naming the file and line, which the loader locates in the scenario file.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

#: Rows read from one file at most: enough for years of recorded arrivals, bounded in memory.
MAX_ROWS = 5_000_000


def read_rows(path: Path, columns: Sequence[str | None], parse: Callable[[list[str | None]], T],
              limit: int = MAX_ROWS) -> list[T]:
    """``parse`` applied to the cells of ``columns`` (None: the first column) of each non-blank row.

    A cell missing from a short row is None. ``parse`` raises ``ValueError`` with what is wrong with
    the value; the message gains the file name and line number.
    """
    if not path.is_file():
        raise ValueError(f"file {str(path)!r} does not exist (paths are relative to the scenario file)")
    out: list[T] = []
    lineno = 0  # the last line read in full
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                raise ValueError(f"file {str(path)!r} is empty")
            lineno = 1
            header = [h.strip() for h in header]
            missing = [c for c in columns if c is not None and c not in header]
            if missing:
                raise ValueError(f"column {missing[0]!r} not in {path.name}; columns are "
                                 f"{', '.join(header)[:200]}")
            idx = [0 if c is None else header.index(c) for c in columns]
            for lineno, row in enumerate(reader, start=2):
                if not row or not "".join(row).strip():
                    continue
                try:
                    out.append(parse([row[i] if i < len(row) else None for i in idx]))
                except (ValueError, OverflowError) as exc:
                    raise ValueError(f"{path.name} line {lineno}: {exc}") from None
                if len(out) > limit:
                    raise ValueError(f"{path.name} has more than {limit:,} rows")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path.name} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x}); "
                         "save it as UTF-8 CSV") from None
    except csv.Error as exc:
        raise ValueError(f"{path.name} line {lineno + 1}: not readable as CSV ({exc})") from None
    except OSError as exc:
        raise ValueError(f"cannot read {path.name}: {exc.strerror or exc}") from None
    if not out:
        raise ValueError(f"file {str(path)!r} has no values")
    return out


def shown(cell: str | None) -> str:
    """A cell as quoted in a message: at most 40 characters, or 'no value'."""
    return "no value" if cell is None or not cell.strip() else repr(cell.strip())[:40]
