"""Terminal tables for people: KPI cells from :mod:`servsim.report.format`, laid out to fit the console.

Every table of ``run``, ``compare`` and ``sweep`` is built from :class:`Column` objects and printed
by :func:`print_columns`, which keeps a table inside the console's width without ever cutting a
number: number columns never wrap (their headers are wrapped by word beforehand), label columns
(KPI names, options, parameter values) may wrap or fold, and when the number columns are too many
for one table they are split over several tables that repeat the label columns. Narrow tables use
the registry's short labels, with a legend below for the ones that differ from the full label.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd
from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from servsim.report import format as fmt

#: Characters between two columns of a table (padding, separator, padding).
GAP = 3


@dataclass
class Column:
    """One column of a terminal table: a header, its cells (rich markup) and whether it holds
    numbers (``wrap=False``: printed whole, never wrapped or cut) or text that may wrap (labels,
    names; at most ``cap`` characters wide when space is short)."""

    header: str
    cells: list[str]
    justify: Literal["left", "right"] = "right"
    wrap: bool = False
    style: str | None = None
    cap: int = 28
    plain: list[str] = field(init=False, repr=False)
    #: Whether the header is wrapped to :attr:`width` (else it keeps its line: :attr:`natural`).
    narrow: bool = field(default=True, init=False, repr=False)

    def __post_init__(self) -> None:
        self.plain = [Text.from_markup(c).plain for c in self.cells]

    @property
    def content(self) -> int:
        """Width of the widest cell."""
        return max((cell_len(c) for c in self.plain), default=0)

    @property
    def width(self) -> int:
        """The least width this column takes: its widest cell, or its header's longest word if
        wider (the header then wraps by word); a text column at most ``cap`` (it wraps beyond)."""
        words = max((cell_len(w) for w in self.header.split()), default=0)
        need = max(self.content, words)
        return min(need, max(self.cap, words)) if self.wrap else need

    @property
    def natural(self) -> int:
        """Its width with the header on one line."""
        return max(self.width, cell_len(self.header))

    @property
    def used(self) -> int:
        return self.width if self.narrow else self.natural

    def header_text(self) -> str:
        """The header as printed: on one line, or wrapped by word to :attr:`width`."""
        if not self.narrow:
            return self.header
        return "\n".join(textwrap.wrap(self.header, max(self.width, 1), break_long_words=False)) or self.header


def table_width(columns: Sequence[Column], natural: bool = False) -> int:
    """Width of a table of ``columns`` as :func:`new_table` prints it, with every header wrapped
    (or, ``natural``, on one line)."""
    return sum(c.natural if natural else c.width for c in columns) + GAP * max(len(columns) - 1, 0)


def split(fixed: Sequence[Column], movable: Sequence[Column], width: int) -> list[list[Column]]:
    """``movable`` columns in as few groups as fit ``width`` beside the ``fixed`` ones, in order and
    as even in number as possible (a column too wide even alone gets a group of its own)."""
    greedy: list[list[Column]] = []
    for col in movable:
        if greedy and table_width([*fixed, *greedy[-1], col]) <= width:
            greedy[-1].append(col)
        else:
            greedy.append([col])
    if len(greedy) <= 1:
        return greedy or [[]]
    size = math.ceil(len(movable) / len(greedy))
    even = [list(movable[i:i + size]) for i in range(0, len(movable), size)]
    if len(even) == len(greedy) and all(table_width([*fixed, *g]) <= width for g in even):
        return even
    return greedy


def _unwrap_headers(columns: Sequence[Column], width: int) -> None:
    """Keep headers on one line where the table has room, wrapping first the headers that save
    the most width."""
    for c in columns:
        c.narrow = False
    total = sum(c.used for c in columns) + GAP * max(len(columns) - 1, 0)
    for c in sorted(columns, key=lambda c: c.width - c.natural):
        if total <= width:
            break
        total -= c.natural - c.width
        c.narrow = True


def new_table(columns: Sequence[Column]) -> Table:
    """A borderless table (a rule under the header) with ``columns``; its rows still to be added."""
    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=False)
    for col in columns:
        if col.wrap:
            t.add_column(col.header_text(), justify=col.justify, style=col.style, overflow="fold",
                         max_width=col.used if col.content > col.used else None)
        else:
            t.add_column(col.header_text(), justify=col.justify, style=col.style, no_wrap=True, overflow="fold",
                         min_width=col.used)
    return t


def print_columns(console: Console, title: str, fixed: Sequence[Column], movable: Sequence[Column], *,
                  sections: Sequence[int] = (), drop_empty: bool = False, notes: Sequence[str] = ()) -> None:
    """Print ``fixed`` + ``movable`` columns as one table, or as several (each with the ``fixed``
    columns) when they do not fit the console. ``title`` is printed above (wrapped to the console,
    not to the table); ``sections``: row indexes after which a rule is drawn; ``drop_empty``: in
    the second and later tables, rows whose cells there are all blank or "–" are left out;
    ``notes``: dim lines printed below; then an empty line."""
    groups = split(fixed, movable, console.width)
    rows = len(fixed[0].cells) if fixed else len(movable[0].cells) if movable else 0
    for g, group in enumerate(groups):
        part = f" ({g + 1} of {len(groups)})" if len(groups) > 1 else ""
        if g:
            console.print()
        console.print(Text(title + part, style="bold"), highlight=False)
        columns = [*fixed, *group]
        _unwrap_headers(columns, console.width)
        t = new_table(columns)
        for i in range(rows):
            if drop_empty and g > 0 and all(c.plain[i] in ("", fmt.NAN) for c in group):
                continue
            t.add_row(*(c.cells[i] for c in columns), end_section=i in sections)
        console.print(t)
    for note in notes:
        console.print(Text(note, style="dim"), highlight=False)
    console.print()


def legend(pairs: Sequence[tuple[str, str]]) -> list[str]:
    """The note below a table that shortened labels: "short = full" for each (once, in order)."""
    seen = dict.fromkeys((s, f) for s, f in pairs if s != f)
    if not seen:
        return []
    return ["; ".join(f"{s} = {f}" for s, f in seen)]


# ---------------------------------------------------------------------------------------------
# servsim run
# ---------------------------------------------------------------------------------------------


def _group_label(channel: str, segment: str) -> str:
    if channel == "all" and segment == "all":
        return "overall"
    return channel if segment == "all" else f"segment {segment}"


def kpi_rows(table: pd.DataFrame, theory: dict[str, float] | None = None, currency: str | None = None
             ) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """(column labels, [(metric name, cells)]) for a long KPI table from ``Replications.kpi_table``:
    one column per channel/segment group, one row per KPI (then occupancy per pool, named
    ``occupancy_<pool>``), each cell ``mean ± half-width`` (:func:`servsim.report.format.estimate`).
    With ``theory`` ({metric: value}), each row gets one more cell with the theoretical value."""
    kpi = table[~table["channel"].astype(str).str.startswith("pool:")]
    pools = table[table["channel"].astype(str).str.startswith("pool:")]
    groups = list(dict.fromkeys(zip(kpi["channel"], kpi["segment"])))
    columns = [_group_label(c, s) for c, s in groups]
    rows: list[tuple[str, list[str]]] = []
    cells_of = {(c, s, m): (mean, hw) for c, s, m, mean, hw in
                zip(kpi["channel"], kpi["segment"], kpi["metric"], kpi["mean"], kpi["half_width"])}
    for metric in dict.fromkeys(kpi["metric"]):
        kind = fmt.kind_of(metric)
        cells = []
        for c, s in groups:
            hit = cells_of.get((c, s, metric))
            cells.append(fmt.estimate(*hit, kind, currency) if hit is not None else "")
        if theory is not None:
            cells.append(fmt.value(theory[metric], kind, currency) if metric in theory else "")
        rows.append((str(metric), cells))
    for _, r in pools.iterrows():
        cells = [fmt.estimate(r["mean"], r["half_width"], "share")] + [""] * (len(columns) - 1 + (theory is not None))
        rows.append((f"occupancy_{str(r['channel'])[5:]}", cells))
    return columns, rows


def _label_column(names: Sequence[str], header: str, width: int) -> tuple[Column, list[tuple[str, str]]]:
    """The first column of a table of metrics by row, ``width`` characters wide at most: each
    metric's full label where it fits, else its short one; and the (short, full) pairs used."""
    cells, shortened = [], []
    for n in names:
        full, short = fmt.label(n), fmt.label(n, short=True)
        if cell_len(full) <= width or short == full:
            cells.append(escape(full))
        else:
            cells.append(escape(short))
            shortened.append((short, full))
    return Column(header, cells, justify="left", wrap=True, cap=max(width, 8)), shortened


def render_run(console: Console, title: str, table: pd.DataFrame, *, currency: str | None = None,
               theory: tuple[str, dict[str, float]] | None = None) -> None:
    """The KPI table of ``servsim run``: a row per KPI, a column per channel/segment group (split
    over several tables when they do not fit the console), theory beside where it applies
    (``theory``: model name and {metric: value}). KPI labels longer than the room left are
    shortened (the registry's ``short``), with a legend."""
    columns, rows = kpi_rows(table, theory[1] if theory else None, currency)
    movable = [Column(escape(col), [cells[i] for _, cells in rows]) for i, col in enumerate(columns)]
    notes = []
    if theory:
        movable.append(Column("theory", [cells[-1] for _, cells in rows], style="cyan"))
        notes.append(f"theory = {theory[0]}, in steady state; a finite run that starts empty agrees only when the "
                     "horizon is long against the queue's relaxation time")
    names = [n for n, _ in rows]
    probe = Column("KPI", [escape(fmt.label(n, short=True)) for n in names], justify="left", wrap=True, cap=24)
    widest = max(table_width(g) for g in split([probe], movable, console.width))
    labels, shortened = _label_column(names, "KPI", max(console.width - widest - GAP, probe.width))
    print_columns(console, title, [labels], movable, drop_empty=True, notes=[*legend(shortened), *notes])


_VERDICT_STYLE = {"met": "green", "missed": "bold red", "uncertain": "yellow"}


def render_targets(console: Console, targets: pd.DataFrame, level: float) -> None:
    """The Targets table: per channel and overall, each target with its mean ± CI, in how many
    replications it was met, the reporting intervals missing the goal, and the verdict."""
    from servsim.targets import TARGETS

    rows = list(targets.itertuples(index=False))
    channel, target, estimate, met_in, missed, verdict = [], [], [], [], [], []
    for r in rows:
        judged = int(r.n)
        name = TARGETS[r.target][0] if r.target in TARGETS else str(r.target)
        channel.append("overall" if r.channel == "all" else escape(str(r.channel)))
        target.append(f"{escape(fmt.label(name, short=True))} {'≥' if r.op == '>=' else '≤'} "
                      f"{fmt.value(r.goal, fmt.kind_of(name))}")
        estimate.append(fmt.estimate(r.mean, r.half_width, fmt.kind_of(name)))
        met_in.append(f"{round(r.share_met * judged)}/{judged}" if judged and not math.isnan(r.share_met) else fmt.NAN)
        missed.append("" if math.isnan(r.intervals_missed) else fmt.value(r.intervals_missed, "count"))
        verdict.append(f"[{_VERDICT_STYLE.get(r.verdict, 'dim')}]{escape(str(r.verdict))}[/]")
    cols = [Column("channel", channel, justify="left", wrap=True, cap=16), Column("target", target, justify="left"),
            Column("mean ± CI", estimate), Column("met in", met_in), Column("missed", missed),
            Column("verdict", verdict, justify="left")]
    print_columns(console, f"Targets — met when the whole {fmt.confidence(level)} CI is on the right side of the goal",
                  cols, [], notes=["missed: reporting intervals below the goal (mean per replication)"])
