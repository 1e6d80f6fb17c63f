"""Indifference zones: the defaults per kind, and how a zone is written in an experiment file."""

from __future__ import annotations

import math

import pytest

from servsim.metrics.indifference import DEFAULTS, Zone, default_zone, parse_zone
from servsim.metrics.registry import REGISTRY


def test_every_kind_of_the_registry_has_a_default():
    assert {m.kind for m in REGISTRY.values()} <= set(DEFAULTS)
    assert default_zone("service_level") == Zone(0.01)  # 1 percentage point
    assert default_zone("paid_hours") == Zone(0.5)  # half an agent-hour
    assert default_zone("occupancy_tellers") == Zone(0.01)  # a pattern member is a share too
    assert default_zone("no_such_kpi") == Zone()  # unknown: no zone, statistics alone


def test_width_is_the_larger_of_the_absolute_and_the_relative_part():
    asa = default_zone("asa_s")
    assert asa.width(10.5) == 1.0  # 5% of 10.5 s is 0.525 s: the 1 s floor holds
    assert asa.width(75_600.0) == pytest.approx(3780.0)  # 5% of a 21 h lead time
    assert default_zone("cost").width(-2500.0) == pytest.approx(25.0)  # relative to |mean|
    assert default_zone("cost").width(math.nan) == 0.0
    assert Zone(2.0, 0.1).width(math.nan) == 2.0


@pytest.mark.parametrize(("value", "kind", "zone"), [
    ("0.5h", "hours", Zone(0.5)),
    ("30min", "hours", Zone(0.5)),
    ("45s", "duration", Zone(45.0)),
    ("1min", "duration", Zone(60.0)),
    ("5%", "duration", Zone(0.0, 0.05)),
    ("1pp", "share", Zone(0.01)),
    ("0.5 pp", "share", Zone(0.005)),
    (0.02, "share", Zone(0.02)),
    (50, "money", Zone(50.0)),
    ("2%", "money", Zone(0.0, 0.02)),
    (3, "count", Zone(3.0)),
    (0.05, "ratio", Zone(0.05)),
    (0, "money", Zone()),
])
def test_zones_as_written(value, kind, zone):
    assert parse_zone(value, kind) == zone


@pytest.mark.parametrize(("value", "kind", "words"), [
    (-50, "money", "negative"),
    ("-1pp", "share", "negative"),
    ("-5s", "duration", "negative"),
    ("-2%", "money", "negative"),
    (0.5, "hours", "no unit"),
    (5, "duration", "no unit"),
    ("1%", "share", "ambiguous"),
    (1, "share", "did you mean '1pp'"),
    ("1pp", "money", "percentage points are for shares"),
    (float("nan"), "money", "finite"),
    (float("inf"), "count", "finite"),
    (True, "count", "not an indifference zone"),
    ("fifty", "money", "not an indifference zone"),
    ("soon", "duration", "not a duration"),
    ([1], "count", "not an indifference zone"),
])
def test_bad_zones_say_what_would_be_valid(value, kind, words):
    with pytest.raises(ValueError, match="expected|negative") as err:
        parse_zone(value, kind)
    assert words in str(err.value)


def test_describe_states_the_rule():
    assert DEFAULTS["duration"].describe("duration") == "1s or 5% of the baseline mean, whichever is larger"
    assert DEFAULTS["share"].describe("share") == "1 pp"
    assert DEFAULTS["hours"].describe("hours") == "0.5 h"
    assert DEFAULTS["money"].describe("money") == "1% of the baseline mean"
    assert Zone().describe("count") == "0"
