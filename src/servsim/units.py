"""Durations, clock times and rates as written in scenario files.

servsim's one internal time unit is the **second** (float). Every duration, clock time and rate in a
scenario file carries its unit explicitly and is converted here, once, at load time:

* durations: ``"45s"``, ``"6min"``, ``"2h"``, ``"1.5d"``, ``"90 sec"``; a bare number is refused
  because nobody can tell whether ``3`` meant seconds or minutes;
* clock times: ``"08:30"``, ``"8:30"``, ``"23:59:30"``, ``"24:00"`` -> seconds after midnight;
* rates: ``"9.5/min"``, ``"120/h"``, ``"1200/d"``, ``"2 per hour"`` -> events per second.

Numbers are written with ASCII digits only: Python's ``\\d``, ``int()`` and ``float()`` also accept
Arabic-Indic, Devanagari or fullwidth digits, which look alike on screen and differ in meaning, so
the patterns here are ASCII and such a value is refused with a message that says so.

The parsers raise :class:`ValueError` with a message that says what would be valid; the scenario
schema turns that into a located error.
"""

from __future__ import annotations

import math
import re

SECOND = 1.0
MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0

#: Accepted unit spellings -> seconds.
TIME_UNITS: dict[str, float] = {
    "s": SECOND, "sec": SECOND, "secs": SECOND, "second": SECOND, "seconds": SECOND,
    "min": MINUTE, "mins": MINUTE, "minute": MINUTE, "minutes": MINUTE, "m": MINUTE,
    "h": HOUR, "hr": HOUR, "hrs": HOUR, "hour": HOUR, "hours": HOUR,
    "d": DAY, "day": DAY, "days": DAY,
}

_NUMBER = r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
_DURATION_RE = re.compile(rf"^\s*({_NUMBER})\s*([a-zA-Z]+)\s*$", re.ASCII)
_RATE_RE = re.compile(rf"^\s*({_NUMBER})\s*(?:/|per\s+)\s*(?:1\s*)?([a-zA-Z]+)\s*$", re.ASCII)
_CLOCK_RE = re.compile(r"^\s*([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}(?:\.[0-9]+)?))?\s*$", re.ASCII)

#: Largest duration (seconds) and rate (per second) accepted in files.
MAX_DURATION = 10_000 * DAY
MAX_RATE = 1000.0

DURATION_HINT = "a number with a unit, e.g. '45s', '6min', '2h' or '1d'"
RATE_HINT = "a number per time unit, e.g. '9.5/min', '120/h' or '2000/d'"
CLOCK_HINT = "a clock time 'HH:MM' or 'HH:MM:SS' between 00:00 and 24:00, e.g. '08:30'"
LATE_CLOCK_HINT = ("a clock time 'HH:MM' between 00:00 and 48:00, e.g. '08:30', or '26:00' for 02:00 after "
                   "midnight")


#: Longest input quoted back in a message; longer inputs are shortened with "...".
_SHOWN = 40


def _show(text: object) -> str:
    """The input as a message quotes it: shortened and sanitised (a 5000-digit number or a line of
    someone's file is not worth repeating)."""
    from servsim.scenario.errors import quoted  # here, not at the top: servsim.scenario imports this module

    return quoted(text, _SHOWN - 3)


def _not_a(text: str, what: str, hint: str) -> ValueError:
    """``'x' is not a <what>``, saying so when the only trouble is digits other than 0-9."""
    if any(ch.isdigit() and not ch.isascii() for ch in text):
        return ValueError(f"{_show(text)} is not a {what}: write the digits as 0-9; expected {hint}")
    return ValueError(f"{_show(text)} is not a {what}; expected {hint}")


def _no_unit(text: object, what: str, hint: str) -> ValueError:
    if isinstance(text, float) and not math.isfinite(text):
        return ValueError(f"{text!r} is not a finite number; expected {hint}")
    return ValueError(f"{_show(text)} has no {what}; expected {hint}")


def _unit(name: str, hint: str) -> float:
    try:
        return TIME_UNITS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown time unit {_show(name)}; expected {hint}") from None


def parse_duration(text: str | int | float) -> float:
    """Parse a duration such as ``"6min"`` and return seconds (>= 0, finite)."""
    if isinstance(text, bool) or not isinstance(text, str):
        raise _no_unit(text, "unit", DURATION_HINT)
    m = _DURATION_RE.match(text)
    if not m:
        raise _not_a(text, "duration", DURATION_HINT)
    value = float(m.group(1)) * _unit(m.group(2), DURATION_HINT)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{_show(text)} must be a finite, non-negative duration")
    if value > MAX_DURATION:
        raise ValueError(f"{_show(text)} is longer than the largest duration servsim accepts (10000d)")
    return value


def parse_rate(text: str | int | float) -> float:
    """Parse a rate such as ``"9.5/min"`` and return events per second (>= 0, finite)."""
    if isinstance(text, bool) or not isinstance(text, str):
        raise _no_unit(text, "time unit", RATE_HINT)
    m = _RATE_RE.match(text)
    if not m:
        raise _not_a(text, "rate", RATE_HINT)
    value = float(m.group(1)) / _unit(m.group(2), RATE_HINT)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{_show(text)} must be a finite, non-negative rate")
    if value > MAX_RATE:
        raise ValueError(f"{_show(text)} is above the largest rate servsim accepts (1000/s)")
    return value


def parse_clock(text: str | int | float, latest: float = DAY) -> float:
    """Parse a clock time such as ``"08:30"`` and return seconds after midnight (0..``latest``)."""
    if isinstance(text, bool) or not isinstance(text, str):
        raise ValueError(f"{_show(text)} is not a clock time; expected {CLOCK_HINT} (quote it in YAML)")
    m = _CLOCK_RE.match(text)
    if not m:
        raise _not_a(text, "clock time", CLOCK_HINT)
    hours, minutes = int(m.group(1)), int(m.group(2))
    seconds = float(m.group(3) or 0.0)
    if minutes >= 60 or seconds >= 60:
        raise ValueError(f"{_show(text)} is not a clock time; expected {CLOCK_HINT}")
    value = hours * HOUR + minutes * MINUTE + seconds
    if value > latest:
        if latest > DAY:
            raise ValueError(f"{_show(text)} is after 48:00; expected {LATE_CLOCK_HINT}")
        raise ValueError(f"{_show(text)} is after 24:00; expected {CLOCK_HINT}")
    return value


def parse_late_clock(text: str | int | float) -> float:
    """A clock time of a day that may run past midnight: ``"26:00"`` is 02:00 the next morning
    (93600 s after the day's midnight); up to ``"48:00"``."""
    return parse_clock(text, 2 * DAY)


def format_duration(seconds: float) -> str:
    """Render seconds compactly for people: ``90 -> '1.5min'``, ``7200 -> '2h'``."""
    for unit, size in (("d", DAY), ("h", HOUR), ("min", MINUTE)):
        if seconds >= size and (seconds / size) == round(seconds / size, 2):
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def format_clock(seconds: float) -> str:
    """Render seconds after midnight as ``HH:MM`` (or ``HH:MM:SS`` when needed)."""
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h:02d}:{m:02d}" + (f":{sec:02d}" if sec else "")
