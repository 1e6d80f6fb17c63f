"""Units in scenario files: durations, clock times, rates."""

from __future__ import annotations

import pytest

from servsim.units import format_clock, format_duration, parse_clock, parse_duration, parse_rate


@pytest.mark.parametrize("text,seconds", [
    ("45s", 45), ("6min", 360), ("2h", 7200), ("1.5d", 129600), ("90 sec", 90), ("0.5 hours", 1800), ("1e2s", 100),
])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text,per_second", [
    ("9.5/min", 9.5 / 60), ("120/h", 120 / 3600), ("2000/d", 2000 / 86400), ("2 per hour", 2 / 3600), ("3/s", 3),
])
def test_rates(text, per_second):
    assert parse_rate(text) == pytest.approx(per_second)


@pytest.mark.parametrize("text,seconds", [("08:30", 30600), ("8:30", 30600), ("23:59:30", 86370), ("24:00", 86400),
                                          ("00:00", 0)])
def test_clock_times(text, seconds):
    assert parse_clock(text) == seconds


@pytest.mark.parametrize("bad", [3, 3.0, "3", "3 parsecs", "-1min", "", True, float("nan")])
def test_bad_durations(bad):
    with pytest.raises(ValueError):
        parse_duration(bad)


@pytest.mark.parametrize("bad", [510, "25:00", "8:61", "8h30", "24:01", "noon"])
def test_bad_clock_times(bad):
    with pytest.raises(ValueError):
        parse_clock(bad)


@pytest.mark.parametrize("bad", [9.5, "9.5", "9.5/fortnight", "-1/min", "1e999/min"])
def test_bad_rates(bad):
    with pytest.raises(ValueError):
        parse_rate(bad)


def test_formatting_round_trips_for_people():
    assert format_duration(90) == "1.5min"
    assert format_duration(7200) == "2h"
    assert format_duration(45) == "45s"
    assert format_clock(30600) == "08:30"
    assert format_clock(86370) == "23:59:30"
