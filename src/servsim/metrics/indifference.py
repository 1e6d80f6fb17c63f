"""Indifference zones: the smallest difference in a KPI that matters in practice.

Two options whose mean service level differs by 0.05 percentage points, or whose paid hours differ
by 2.7 minutes a day, are the same option to a planner, however many replications prove the
difference is not zero. An indifference zone δ ≥ 0 (in the KPI's unit) says where "the same" ends:
``servsim compare`` calls a difference *practically significant* only when its whole confidence
interval lies beyond ±δ, and *practically equivalent* when its whole interval lies inside ±δ
(:func:`servsim.stats.practical_verdict`; Kim & Nelson 2006 for the indifference zone of ranking
and selection, Schuirmann 1987 for the two one-sided tests of equivalence).

A zone has an absolute part and a part relative to the baseline option's mean, and its width is
the larger of the two: ``Zone(1.0, 0.05).width(30.0) == 1.5``. The relative part is resolved once
per experiment, from the baseline's mean, so that every comparison of a metric uses the same δ.

Defaults, per kind of the registry (:mod:`servsim.metrics.registry`) — each is the smallest
difference a planner could act on or would report:

* ``share`` — 0.01 (1 percentage point). Service-level and abandonment targets are stated and
  reported in whole percent (80% in 20 s, at most 5% abandoned), so a difference below one point
  does not change whether a target is met in anyone's report. Tighten it for small shares
  (``abandon_rate: 0.5pp``).
* ``duration`` — 1 s or 5% of the baseline mean, whichever is larger. Waits and handle times are
  reported in whole seconds (1 s is the floor of what can be seen), and 5% keeps the zone in
  proportion for long durations: 1 s of a 20 s ASA, 1 h of a 21 h back-office lead time.
* ``hours`` — 0.5 h. Schedules change by one agent for one half-hour interval (the usual planning
  interval); a difference of less paid time cannot be staffed differently.
* ``money`` — 1% of the baseline mean. Costs have no natural unit across currencies, and the
  inputs of a cost model (wages, shrinkage, prices) are rarely known to better than a few percent.
* ``count`` — 1 or 1% of the baseline mean, whichever is larger: one contact (or interval) is the
  smallest whole unit, 1% keeps large counts in proportion as for money.
* ``ratio`` — 0.01 (a load ratio of 1% of capacity).

In an experiment file (``indifferent:``, read by :func:`parse_zone`) a zone is written in the
metric's unit: a number for counts, money and ratios; a fraction (``0.01``) or percentage points
(``"1pp"``) for shares — ``"1%"`` is refused there, as it could mean one point or one percent of
the value; a duration (``"30s"``, ``"0.5h"``) for durations and hours, never a bare number (as in
scenario files); and for every kind but shares, a percentage of the baseline mean (``"2%"``).
``0`` turns the zone off: every difference that is statistically significant then counts.

References
----------
* S.-H. Kim & B. L. Nelson (2006). Selecting the best system. In S. G. Henderson & B. L. Nelson
  (eds.), *Handbooks in OR & MS* vol. 13, *Simulation*, ch. 17, 501–534. Elsevier.
* D. J. Schuirmann (1987). A comparison of the two one-sided tests procedure and the power
  approach for assessing the equivalence of average bioavailability. *Journal of
  Pharmacokinetics and Biopharmaceutics* 15(6), 657–680.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from servsim.metrics.registry import Kind, resolve
from servsim.scenario.errors import quoted
from servsim.units import HOUR, parse_duration

__all__ = ["Zone", "DEFAULTS", "default_zone", "parse_zone"]


@dataclass(frozen=True)
class Zone:
    """An indifference zone: ``absolute`` in the metric's unit, ``relative`` a fraction of the
    reference (baseline) mean; its width is the larger of the two."""

    absolute: float = 0.0
    relative: float = 0.0

    def width(self, reference: float) -> float:
        """δ for a baseline mean ``reference`` (a NaN reference leaves the absolute part alone)."""
        rel = self.relative * abs(reference) if self.relative and math.isfinite(reference) else 0.0
        return max(self.absolute, rel)

    def describe(self, kind: Kind) -> str:
        """The rule in words: ``"0.5 h"``, ``"1 pp"``, ``"1s or 5% of the baseline mean, whichever is larger"``."""
        parts = []
        if self.absolute or not self.relative:
            parts.append(_amount(self.absolute, kind))
        if self.relative:
            parts.append(f"{self.relative * 100:g}% of the baseline mean")
        return " or ".join(parts) + (", whichever is larger" if len(parts) == 2 else "")


def _amount(value: float, kind: Kind) -> str:
    if kind == "share":
        return f"{value * 100:g} pp"
    if kind == "duration":
        return f"{value:g}s"
    if kind == "hours":
        return f"{value:g} h"
    return f"{value:g}"


#: The zone of each kind of KPI when an experiment file does not give one (see the module docstring).
DEFAULTS: dict[Kind, Zone] = {
    "share": Zone(0.01),
    "duration": Zone(1.0, 0.05),
    "hours": Zone(0.5),
    "money": Zone(0.0, 0.01),
    "count": Zone(1.0, 0.01),
    "ratio": Zone(0.01),
}


def default_zone(metric: str) -> Zone:
    """The default zone of a KPI by its registry kind; a name the registry does not know gets no
    zone (``Zone()``, δ = 0: only statistical significance counts)."""
    entry = resolve(metric)
    return DEFAULTS[entry.kind] if entry is not None else Zone()


_AMOUNT = re.compile(r"^\s*([-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)\s*(%|pp)\s*$", re.ASCII)

_HINTS: dict[Kind, str] = {
    "share": "a fraction such as 0.01, or percentage points such as '1pp'",
    "duration": "a duration such as '5s' or '1min', or a percentage of the baseline mean such as '5%'",
    "hours": "a duration such as '0.5h' or '30min', or a percentage of the baseline mean such as '1%'",
    "money": "an amount such as 50, or a percentage of the baseline mean such as '1%'",
    "count": "a number such as 2, or a percentage of the baseline mean such as '1%'",
    "ratio": "a number such as 0.01, or a percentage of the baseline mean such as '1%'",
}


def _checked(value: float, text: object, hint: str) -> float:
    if not math.isfinite(value):
        raise ValueError(f"{quoted(text)} is not a finite number; expected {hint}")
    if value < 0:
        raise ValueError(f"{quoted(text)} is negative: an indifference zone is a width, 0 or more")
    return value


def parse_zone(value: object, kind: Kind) -> Zone:
    """The zone written as ``value`` for a KPI of ``kind`` (rules in the module docstring).

    Raises ValueError with a message that says what would be valid."""
    hint = _HINTS[kind]
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{quoted(value)} is not an indifference zone; expected {hint}")
    if isinstance(value, str):
        return _parse_text(value, kind, hint)
    if kind in ("duration", "hours"):
        raise ValueError(f"{quoted(value)} has no unit (seconds, minutes or hours?); expected {hint}")
    number = _checked(float(value), value, hint)
    if kind == "share" and number >= 1:
        raise ValueError(f"{quoted(value)} is a share of 100% or more; expected {hint} "
                         f"(did you mean '{value:g}pp', that is {number / 100:g}?)")
    return Zone(number)


def _parse_text(text: str, kind: Kind, hint: str) -> Zone:
    m = _AMOUNT.match(text)
    if m:
        number = _checked(float(m.group(1)), text, hint)
        if m.group(2) == "pp":
            if kind != "share":
                raise ValueError(f"{quoted(text)}: percentage points are for shares; expected {hint}")
            return Zone(number / 100)
        if kind == "share":
            raise ValueError(f"{quoted(text)} is ambiguous for a share (one point, or one percent of the value?); "
                             f"expected {hint}")
        return Zone(0.0, number / 100)
    if kind in ("duration", "hours"):
        if text.strip().startswith("-"):
            raise ValueError(f"{quoted(text)} is negative: an indifference zone is a width, 0 or more")
        try:
            seconds = parse_duration(text)
        except ValueError as exc:
            raise ValueError(f"{exc}; or a percentage of the baseline mean such as '5%'") from None
        return Zone(seconds if kind == "duration" else seconds / HOUR)
    raise ValueError(f"{quoted(text)} is not an indifference zone; expected {hint}")
