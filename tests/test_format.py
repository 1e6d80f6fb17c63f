"""The one formatter (servsim.report.format): units, pp, currency, NaN, and the labels it reads from the registry."""

from __future__ import annotations

import math

import pytest

from servsim.metrics.registry import REGISTRY, resolve
from servsim.report import format as fmt

NAN = float("nan")


@pytest.mark.parametrize(("x", "kind", "currency", "signed", "text"), [
    (0.8123, "share", None, False, "81.2%"),
    (0.0123, "share", None, True, "+1.2 pp"),         # a difference of shares is in percentage points
    (-0.0123, "share", None, True, "−1.2 pp"),        # U+2212, as wide as "+"
    (0.0, "share", None, True, "0.0 pp"),             # zero has no sign
    (-1e-9, "share", None, True, "0.0 pp"),           # nor does a negative that rounds to zero
    (13.46, "duration", None, False, "13.5 s"),
    (119.9, "duration", None, False, "119.9 s"),      # seconds below 2 minutes
    (120.0, "duration", None, False, "2.0 min"),      # minutes below 2 hours
    (74_150.1, "duration", None, False, "20.6 h"),    # the back office's lead time, in hours
    (-12.34, "seconds", None, True, "−12.3 s"),       # the old kind name still works
    (170.043, "hours", None, False, "170.0 h"),
    (-0.045, "hours", None, True, "−2.7 min"),        # 2.7 minutes of overtime, not "−0.0 h"
    (12_345.6, "money", None, False, "12,346"),       # no currency known: a bare number
    (12_345.6, "money", "EUR", False, "12,346 EUR"),
    (3.4, "money", "USD", False, "3.40 USD"),         # cents below 10
    (274.0, "money", "EUR", True, "+274 EUR"),
    (1421.3, "count", None, False, "1,421"),
    (8.7, "count", None, False, "8.7"),
    (12.0, "count", None, False, "12"),
    (0.82, "ratio", None, False, "0.82×"),
    (NAN, "share", None, False, "–"),
    (None, "duration", None, False, "–"),
])
def test_value(x, kind, currency, signed, text):
    assert fmt.value(x, kind, currency, signed=signed) == text


@pytest.mark.parametrize(("mean", "hw", "kind", "currency", "text"), [
    (0.841, 0.166, "share", None, "84.1% ± 16.6 pp"),   # the half-width of a share is in pp
    (13.5, 9.6, "duration", None, "13.5 ± 9.6 s"),      # the unit once, after both numbers
    (74_150.1, 4_000.0, "duration", None, "20.6 ± 1.1 h"),
    (5_700.0, 21_363.0, "duration", None, "1.6 ± 5.9 h"),   # the unit fits the larger number
    (170.1, 0.04, "hours", None, "170.1 ± 0.04 h"),     # a small half-width is not shown as 0
    (0.9, 0.00003, "share", None, "90.0% ± 0.0 pp"),    # ... unless it is that small
    (4526.0, 3.0, "money", "EUR", "4,526 ± 3 EUR"),
    (3.36, 0.1, "money", "EUR", "3.36 ± 0.10 EUR"),
    (1421.3, 93.9, "count", None, "1,421 ± 94"),
    (8.0, 2.5, "count", None, "8.0 ± 2.5"),
    (0.0, 0.0, "count", None, "0 ± 0"),
    (0.84, NAN, "share", None, "84.0%"),                 # no half-width: the mean alone
    (NAN, 0.1, "share", None, "–"),
])
def test_estimate(mean, hw, kind, currency, text):
    assert fmt.estimate(mean, hw, kind, currency) == text


def test_difference_and_interval():
    assert fmt.difference(0.031, "share", half_width=0.049) == "+3.1 ± 4.9 pp"
    assert fmt.difference(-0.045, "hours", half_width=0.03) == "−2.7 ± 1.8 min"
    assert fmt.difference(-99.0, "duration", half_width=294.9) == "−1.6 ± 4.9 min"
    assert fmt.difference(-1157.0, "money", "EUR", half_width=477.8) == "−1,157 ± 478 EUR"
    assert fmt.interval(0.801, 0.853, "share") == "80.1% to 85.3%"
    assert fmt.interval(-0.012, 0.034, "share", signed=True) == "−1.2 to +3.4 pp"
    assert fmt.interval(12.0, 150.5, "duration") == "0.2 to 2.5 min"   # one unit, from the larger end
    assert fmt.interval(-12.0, 40.0, "money", "EUR", signed=True) == "−12 to +40 EUR"
    assert fmt.interval(NAN, 1.0, "count") == "–"


def test_constraint_lines_use_the_units():
    assert fmt.constraint("service_level", ">=", 0.8) == "service level ≥ 80.0%"
    assert fmt.violation("service_level", 0.626506, ">=", 0.8) == "service level 62.7%, needs ≥ 80.0%"
    assert fmt.violation("total_cost", 12_000.4, "<=", 11_000, "EUR") == "total cost 12,000 EUR, needs ≤ 11,000 EUR"
    assert "has no value" in fmt.violation("asa_s", NAN, "<=", 20.0)


def test_p_value_and_parameters():
    assert [fmt.p_value(p) for p in (0.0001, 0.0421, 1.0, NAN)] == ["< 0.001", "0.042", "1.000", "–"]
    assert [fmt.parameter(v) for v in (12.0, 0.25, "9.5/min")] == ["12", "0.25", "9.5/min"]


def test_labels_come_from_the_registry():
    assert fmt.label("asa_s") == REGISTRY["asa_s"].label
    assert fmt.label("asa_s", short=True) == "ASA"
    assert fmt.label("asa_s", unit=True) == "ASA (mean wait, answered; s)"   # one pair of brackets
    assert fmt.label("asa_s", unit=True, scale="min") == "ASA (mean wait, answered; min)"
    assert fmt.label("service_level", unit=True) == "service level (%)"
    assert fmt.label("service_level", unit=True, signed=True) == "service level (pp)"
    assert fmt.label("total_cost", unit=True, currency="EUR") == "total cost (EUR)"
    assert fmt.label("satisfaction_mean", unit=True) == "satisfaction proxy (mean score, 0–100%)"
    assert fmt.label("occupancy_tellers", short=True) == "occ. tellers"
    assert fmt.label("paid_hours", better=True) == "paid agent-hours (people) — lower is better"
    assert fmt.label("my_custom_metric") == "my custom metric"


def test_every_registry_entry_has_a_short_label_for_80_columns():
    for m in REGISTRY.values():
        assert 0 < len(m.short_label) <= 18, m.name
    assert resolve("occupancy_phone_agents").short_label == "occ. phone_agents"


@pytest.mark.parametrize(("metric", "kind"), [
    ("service_level_phone", "share"), ("phone.asa_s", "duration"), ("pool:clerks occupancy", "share"),
    ("my_cost", "money"), ("queue_s", "duration"), ("overtime_hours", "hours"), ("hit_rate", "share"),
    ("widgets", "count"),
])
def test_kinds_of_qualified_and_unknown_names(metric, kind):
    assert fmt.kind_of(metric) == kind


def test_axis_ticks_in_the_shown_unit():
    share = fmt.axis_formatter("share")
    assert [share(v) for v in (0.0, 0.25, -0.1)] == ["0%", "25%", "−10%"]
    assert fmt.axis_formatter("share", signed=True)(0.02) == "+2"      # pp, named by the axis label
    assert fmt.axis_unit("duration", [30.0, 200.0]) == "min"
    assert fmt.axis_unit("hours", [170.0, 181.0]) == "h"
    assert fmt.axis_unit("money", [1.0]) is None
    minutes = fmt.axis_formatter("duration", scale="min")
    assert [minutes(v) for v in (0.0, 600.0, -1800.0)] == ["0", "10", "−30"]
    ticks = fmt.axis_locator("duration", scale="min").tick_values(0.0, 3000.0)
    assert all(math.isclose(t / 60, round(t / 60)) for t in ticks)     # whole minutes, not 500 s steps
    assert fmt.axis_formatter("money")(12_500.0) == "12,500"


def test_a_fixed_scale_puts_durations_in_one_unit():
    assert fmt.value(5700.0, "duration", scale="h") == "1.6 h"
    assert fmt.estimate(90.0, 30.0, "duration", scale="min") == "1.5 ± 0.5 min"
    assert fmt.interval(60.0, 7200.0, "duration", scale="min") == "1.0 to 120.0 min"


def test_confidence_levels_are_not_rounded_to_another_level():
    assert [fmt.confidence(x) for x in (0.95, 0.975, 1 - 0.05 / 3, NAN)] == ["95%", "97.5%", "98.33%", "–"]
