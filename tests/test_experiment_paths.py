"""Tests for changing a scenario as data by dotted path (servsim.experiments.paths)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

import servsim
from servsim.experiments.paths import (
    PathError,
    add_agents,
    all_paths,
    get_path,
    has_path,
    join_path,
    merge_patch,
    parse_path,
    scale_path,
    set_path,
)
from servsim.scenario.yamlio import load_yaml
from servsim.units import parse_duration, parse_rate

ROOT = Path(__file__).resolve().parent.parent
BANK = ROOT / "scenarios" / "bank_contact_centre.yaml"


def small() -> dict[str, Any]:
    """A scenario as data: 08:00-10:00 in 30-min intervals (4 intervals)."""
    return {
        "name": "small",
        "horizon": {"start": "08:00", "end": "10:00", "interval": "30min"},
        "channels": {
            "phone": {
                "arrivals": {"rate": "9.5/min", "day_factors": [1.0, 0.5]},
                "entry": "serve",
                "patience": {"dist": "exponential", "mean": "3min"},
            }
        },
        "pools": {
            "tellers": {"agents": 5, "skills": {"serve": 1.0}},
            "specialists": {"schedule": [1, 2, 3, 4], "skills": {"serve": 1.2}},
        },
        "steps": {"serve": {"handle_time": {"dist": "exponential", "mean": "45s"}, "next": "exit"}},
    }


# --------------------------------------------------------------------------- syntax


def test_parse_and_join_path() -> None:
    assert parse_path("pools.tellers.agents") == ("pools", "tellers", "agents")
    assert parse_path("pools.tellers.schedule[3]") == ("pools", "tellers", "schedule", 3)
    assert parse_path("pools.tellers.schedule.3") == ("pools", "tellers", "schedule", "3")
    assert parse_path('pools["night.shift"].agents') == ("pools", "night.shift", "agents")
    assert join_path(("pools", "night.shift", "schedule", 3)) == 'pools["night.shift"].schedule[3]'
    for bad in ("", "a..b", "a.", "a[x]", ".a"):
        with pytest.raises(PathError):
            parse_path(bad)


# --------------------------------------------------------------------------- get / set


def test_get_path_keys_and_indices() -> None:
    data = small()
    assert get_path(data, "pools.tellers.agents") == 5
    assert get_path(data, "pools.specialists.schedule[2]") == 3
    assert get_path(data, "pools.specialists.schedule.2") == 3
    assert get_path(data, "pools.specialists.schedule") == [1, 2, 3, 4]
    assert get_path(data, "channels.phone.arrivals.rate") == "9.5/min"
    assert has_path(data, "pools.tellers.agents") and not has_path(data, "pools.tellers.schedule")


def test_get_path_returns_a_copy() -> None:
    data = small()
    get_path(data, "pools.specialists.schedule").append(99)
    assert data == small()


def test_set_path_exact_result_and_input_untouched() -> None:
    data = small()
    out = set_path(data, "pools.tellers.agents", 7)
    expected = small()
    expected["pools"]["tellers"]["agents"] = 7
    assert out == expected
    assert data == small()
    out = set_path(data, "pools.specialists.schedule[1]", 9)
    assert out["pools"]["specialists"]["schedule"] == [1, 9, 3, 4]
    out = set_path(data, "pools.specialists.schedule", [0, 0, 0, 0])
    assert out["pools"]["specialists"]["schedule"] == [0, 0, 0, 0]
    assert data == small()


def test_set_path_int_float_and_unit_strings_interchange() -> None:
    data = small()
    assert set_path(data, "pools.tellers.agents", 5.0)["pools"]["tellers"]["agents"] == 5.0
    assert set_path(data, "channels.phone.arrivals.rate", "600/h")["channels"]["phone"]["arrivals"]["rate"] == "600/h"
    out = set_path(data, "steps.serve.handle_time.mean", "1.5min")
    assert out["steps"]["serve"]["handle_time"]["mean"] == "1.5min"
    assert set_path(data, "channels.phone.patience", None)["channels"]["phone"]["patience"] is None


def test_set_path_create_only_when_asked() -> None:
    data = small()
    with pytest.raises(PathError) as info:
        set_path(data, "pools.tellers.cost_per_hour", 30.0)
    assert "'cost_per_hour' not found under 'pools.tellers'" in str(info.value)
    assert "create=True" in str(info.value)
    out = set_path(data, "pools.tellers.cost_per_hour", 30.0, create=True)
    assert out["pools"]["tellers"] == {"agents": 5, "skills": {"serve": 1.0}, "cost_per_hour": 30.0}
    with pytest.raises(PathError, match="'pool' not found at the top level"):
        set_path(data, "pool.tellers.cost_per_hour", 30.0, create=True)  # parents must exist
    with pytest.raises(PathError, match="index 4 is out of range"):
        set_path(data, "pools.specialists.schedule[4]", 1, create=True)
    assert data == small()


def test_unknown_path_names_segment_and_suggests() -> None:
    with pytest.raises(PathError) as info:
        get_path(small(), "pools.teller.agents")
    assert str(info.value) == (
        "pools.teller.agents: 'teller' not found under 'pools'; did you mean 'pools.tellers.agents'? "
        "valid: tellers, specialists"
    )
    assert info.value.suggestion == "pools.tellers.agents"
    assert isinstance(info.value, ValueError)


def test_unknown_path_suggestions_at_other_levels() -> None:
    with pytest.raises(PathError, match=r"'arival' not found under 'channels.phone'; did you mean "
                       r"'channels.phone.arrivals.rate'\?"):
        get_path(small(), "channels.phone.arival.rate")
    with pytest.raises(PathError, match=r"'pool' not found at the top level; did you mean 'pools'"):
        set_path(small(), "pool", {})
    with pytest.raises(PathError, match=r"'xyz' not found under 'pools'; valid: tellers, specialists"):
        get_path(small(), "pools.xyz")
    with pytest.raises(PathError, match=r"'pools.tellers.agents' is a number \(5\), not a mapping or list"):
        get_path(small(), "pools.tellers.agents.x")
    with pytest.raises(PathError, match=r"index 9 is out of range under 'pools.specialists.schedule', "
                       r"a list of 4 items; valid: 0..3"):
        get_path(small(), "pools.specialists.schedule[9]")


def test_type_mismatch_names_both_types() -> None:
    with pytest.raises(PathError) as info:
        set_path(small(), "pools.tellers.agents", "many")
    assert str(info.value) == (
        "pools.tellers.agents: type mismatch: the value there is a number (5), the new value is text ('many')"
    )
    with pytest.raises(PathError, match=r"a duration \('45s'\), the new value is a number \(45\)"):
        set_path(small(), "steps.serve.handle_time.mean", 45)
    with pytest.raises(PathError, match=r"a rate \('9.5/min'\), the new value is a duration \('3min'\)"):
        set_path(small(), "channels.phone.arrivals.rate", "3min")
    with pytest.raises(PathError, match=r"type mismatch at item 1"):
        set_path(small(), "pools.specialists.schedule", [1, "two", 3, 4])
    with pytest.raises(PathError, match="the value there is a mapping, the new value is text"):
        set_path(small(), "pools.tellers.skills", "serve")
    out = set_path(small(), "steps.serve.next", {"exit": 1.0}, check_type=False)
    assert out["steps"]["serve"]["next"] == {"exit": 1.0}


# --------------------------------------------------------------------------- scale


def test_scale_numbers_lists_and_units() -> None:
    data = small()
    assert scale_path(data, "pools.tellers.agents", 1.1)["pools"]["tellers"]["agents"] == 6  # 5.5 -> 6
    assert scale_path(data, "pools.tellers.agents", 1.05)["pools"]["tellers"]["agents"] == 5  # 5.25 -> 5
    assert scale_path(data, "pools.specialists.schedule", 1.5)["pools"]["specialists"]["schedule"] == [2, 3, 5, 6]
    assert scale_path(data, "pools.specialists.skills.serve", 2)["pools"]["specialists"]["skills"]["serve"] == 2.4
    assert scale_path(data, "channels.phone.arrivals.day_factors", 2)["channels"]["phone"]["arrivals"][
        "day_factors"
    ] == [2.0, 1.0]
    assert scale_path(data, "steps.serve.handle_time.mean", 2)["steps"]["serve"]["handle_time"]["mean"] == "90s"
    assert scale_path(data, "channels.phone.patience.mean", 1.5)["channels"]["phone"]["patience"]["mean"] == "4.5min"
    assert data == small()


def test_scale_rate_keeps_unit_and_reads_back() -> None:
    out = scale_path(small(), "channels.phone.arrivals.rate", 1.1)
    text = out["channels"]["phone"]["arrivals"]["rate"]
    assert text == "10.45/min"
    assert parse_rate(text) == pytest.approx(parse_rate("10.45/min")) == pytest.approx(10.45 / 60)
    assert parse_duration(scale_path(small(), "steps.serve.handle_time.mean", 1 / 3)["steps"]["serve"]["handle_time"][
        "mean"
    ]) == pytest.approx(15.0)


def test_scale_refuses_what_it_cannot_scale() -> None:
    with pytest.raises(PathError, match=r"cannot scale a clock time \('08:00'\)"):
        scale_path(small(), "horizon.start", 2)
    with pytest.raises(PathError, match=r"cannot scale text \('small'\)"):
        scale_path(small(), "name", 2)
    with pytest.raises(PathError, match=r"cannot scale a mapping; scale a value inside it: "
                       r"pools.tellers.agents, pools.tellers.skills.serve"):
        scale_path(small(), "pools.tellers", 2)
    with pytest.raises(PathError, match="factor must be finite and >= 0"):
        scale_path(small(), "pools.tellers.agents", -1)
    with pytest.raises(PathError, match="'agent' not found"):
        scale_path(small(), "pools.tellers.agent", 2)


# --------------------------------------------------------------------------- add agents


def test_add_agents_to_schedule_exact() -> None:
    data = small()
    out = add_agents(data, "specialists", 2, "08:30", "09:30")
    expected = small()
    expected["pools"]["specialists"]["schedule"] = [1, 4, 5, 4]
    assert out == expected
    assert data == small()
    # partial intervals count: 08:45-09:10 overlaps 08:30-09:00 and 09:00-09:30
    assert add_agents(data, "specialists", 1, "08:45", "09:10")["pools"]["specialists"]["schedule"] == [1, 3, 4, 4]
    # whole day by default
    assert add_agents(data, "specialists", 1)["pools"]["specialists"]["schedule"] == [2, 3, 4, 5]


def test_add_agents_converts_agents_to_schedule() -> None:
    out = add_agents(small(), "tellers", 1, "09:00", None)
    assert out["pools"]["tellers"] == {"schedule": [5, 5, 6, 6], "skills": {"serve": 1.0}}


def test_add_agents_uses_horizon_defaults() -> None:
    data = small()
    del data["horizon"]  # 00:00-24:00 by 30 min: 48 intervals
    out = add_agents(data, "tellers", 3, "12:00", "13:00")
    assert out["pools"]["tellers"]["schedule"] == [5] * 24 + [8, 8] + [5] * 22


def test_add_agents_errors() -> None:
    with pytest.raises(PathError, match=r"'teller' not found under 'pools'; did you mean 'pools.tellers'"):
        add_agents(small(), "teller", 1)
    with pytest.raises(PathError, match=r"inside the daily window 08:00-10:00"):
        add_agents(small(), "tellers", 1, "07:00", "09:00")
    with pytest.raises(PathError, match=r"non-empty span"):
        add_agents(small(), "tellers", 1, "09:00", "09:00")
    with pytest.raises(PathError, match=r"leaves -1 in interval 0"):
        add_agents(small(), "specialists", -2, "08:00", "08:30")
    bad = small()
    bad["pools"]["specialists"]["schedule"] = [1, 2]
    with pytest.raises(PathError, match=r"has 2 entries but the horizon has 4 intervals"):
        add_agents(bad, "specialists", 1)


def test_add_agents_on_bank_tellers_validates() -> None:
    data = load_yaml(BANK).data
    before = copy.deepcopy(data)
    out = add_agents(data, "tellers", 1, "10:00", "14:00")
    assert data == before
    old, new = data["pools"]["tellers"]["schedule"], out["pools"]["tellers"]["schedule"]
    changed = [i for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]
    assert changed == list(range(6, 14))  # 10:00, 10:30, ..., 13:30 from 07:00
    assert all(new[i] == old[i] + 1 for i in changed)
    scenario = servsim.scenario_from_dict(out, base_dir=BANK.parent)
    assert list(scenario.pools["tellers"].schedule or []) == new


# --------------------------------------------------------------------------- merge patch


def test_merge_patch_deep_null_deletes_lists_replace() -> None:
    data = small()
    patch = {
        "pools": {
            "tellers": {"agents": None, "schedule": [4, 4, 6, 6]},
            "vendor": {"agents": 10, "skills": {"serve": 1.3}, "note": None},
        },
        "channels": {"phone": {"arrivals": {"day_factors": [1.0]}, "patience": None}},
    }
    out = merge_patch(data, patch)
    expected = small()
    expected["pools"]["tellers"] = {"skills": {"serve": 1.0}, "schedule": [4, 4, 6, 6]}
    expected["pools"]["vendor"] = {"agents": 10, "skills": {"serve": 1.3}}
    expected["channels"]["phone"]["arrivals"]["day_factors"] = [1.0]
    del expected["channels"]["phone"]["patience"]
    assert out == expected
    assert data == small()
    out["pools"]["vendor"]["skills"]["serve"] = 9.0
    assert patch["pools"]["vendor"]["skills"] == {"serve": 1.3}  # result shares nothing with the patch
    with pytest.raises(PathError, match="a patch must be a mapping"):
        merge_patch(data, [1, 2])  # type: ignore[arg-type]


# --------------------------------------------------------------------------- all_paths


def test_all_paths_lists_leaves() -> None:
    data = {"a": {"b": 1, "c": [1, 2], "d": [{"e": 1}, {"f": "x"}], "g": {}}, "h.i": True}
    assert all_paths(data) == ["a.b", "a.c", "a.d[0].e", "a.d[1].f", "a.g", '["h.i"]']
    for path in all_paths(data):
        get_path(data, path)
    assert "pools.tellers.schedule" in all_paths(load_yaml(BANK).data)


def test_scaling_rounds_headcounts_but_not_volumes():
    from servsim.experiments.paths import scale_path

    data = {"channels": {"phone": {"arrivals": {"daily_volume": 1424}}},
            "pools": {"tellers": {"agents": 5, "schedule": [3, 4]}}}
    assert scale_path(data, "channels.phone.arrivals.daily_volume", 1.1)["channels"]["phone"]["arrivals"][
        "daily_volume"] == pytest.approx(1566.4)
    assert scale_path(data, "pools.tellers.agents", 1.1)["pools"]["tellers"]["agents"] == 6
    assert scale_path(data, "pools.tellers.schedule", 1.5)["pools"]["tellers"]["schedule"] == [5, 6]
