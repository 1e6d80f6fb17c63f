"""The what-if app without a browser: its levers, the scenario a setting gives, the cache, and the
cards' labels and numbers."""

from __future__ import annotations

import pytest

import servsim
from servsim import theory
from servsim.app.levers import Settings, Source, changes, defaults, levers
from servsim.app.runs import Runs, cards, theory_of
from servsim.report import format as fmt
from conftest import ROOT

MMC = ROOT / "scenarios" / "mmc.yaml"


def _source(name: str) -> Source:
    path = ROOT / "scenarios" / name
    return Source(path, servsim.load_scenario(path))


def test_mmc_gets_agents_rate_and_handle_time_levers_at_its_own_values():
    by_id = {lv.id: lv for lv in levers(servsim.load_scenario(MMC))}
    assert list(by_id) == ["agents_agents", "rate_calls", "handle_answer"]
    assert (by_id["agents_agents"].default, by_id["rate_calls"].default, by_id["handle_answer"].default) == (10, 9, 60)
    assert by_id["rate_calls"].unit == "/min" and by_id["handle_answer"].unit == "s"


@pytest.mark.parametrize("name", ["mmc.yaml", "bank_contact_centre.yaml", "multichannel_contact_centre.yaml",
                                  "claims_rpa.yaml", "vendor_overflow.yaml", "back_office_rework.yaml"])
def test_every_lever_starts_on_its_slider_grid(name):
    # a slider snaps its value to min + k * step: a default off the grid would be a change nobody made
    for lv in levers(servsim.load_scenario(ROOT / "scenarios" / name)):
        k = (lv.default - lv.min) / lv.step
        assert abs(k - round(k)) < 1e-9, lv
        assert lv.min <= lv.default <= lv.max, lv


def test_a_setting_changes_the_scenario_as_an_experiment_option_would():
    src = _source("mmc.yaml")
    base = defaults(src.levers)
    assert changes(src.levers, base) == [] and src.scenario_for(base) is src.scenario
    moved = Settings((("agents_agents", 11), ("rate_calls", 9.6), ("handle_answer", 66.0)))
    s = src.scenario_for(moved)
    assert s.pools["agents"].agents == 11
    assert s.channels["calls"].arrivals.rate == pytest.approx(9.6 / 60)
    assert s.steps["answer"].handle_time.mean == pytest.approx(66.0)
    same = servsim.with_changes(MMC, [{"set": {"path": "pools.agents.agents", "value": 11}},
                                      {"set": {"path": "channels.calls.arrivals.rate", "value": "9.6/min"}},
                                      {"set": {"path": "steps.answer.handle_time.mean", "value": "66s"}}])
    assert s == same


def test_a_schedule_and_a_profile_are_scaled_by_a_percentage():
    src = _source("bank_contact_centre.yaml")
    by_id = {lv.id: lv for lv in src.levers}
    assert by_id["staffing_tellers"].kind == "percent" and by_id["volume_phone"].kind == "percent"
    values = dict(defaults(src.levers).values) | {"staffing_tellers": 200.0}
    s = src.scenario_for(Settings(tuple(values.items())))
    assert s.pools["tellers"].schedule == [2 * n for n in src.scenario.pools["tellers"].schedule]


def test_a_setting_seen_before_comes_from_the_cache_with_the_same_numbers():
    src = _source("mmc.yaml")
    runs = Runs(src)
    setting = Settings(tuple(dict(defaults(src.levers).values).items()), replications=2, seed=4)
    done: list[int] = []
    first, cached = runs.get(setting, done.append)
    assert not cached and sum(done) == 2
    again, cached = runs.get(setting, done.append)
    assert cached and again is first and sum(done) == 2
    expected = servsim.replicate(src.scenario, 2, seed=4).kpi_table()
    assert first.kpis.equals(expected)


def test_cards_read_labels_from_the_registry_and_numbers_from_the_formatter():
    src = _source("mmc.yaml")
    outcome, _ = Runs(src).get(Settings(defaults(src.levers).values, replications=3, seed=1))
    table = servsim.replicate(src.scenario, 3, seed=1).kpi_table()
    row = table[(table["channel"] == "all") & (table["metric"] == "service_level")].iloc[0]
    by_metric = {c.metric: c for c in cards(outcome)}
    assert list(by_metric) == ["asa_s", "service_level", "p_wait", "abandon_rate", "occupancy_agents"]
    sl = by_metric["service_level"]
    assert sl.label == fmt.label("service_level")
    assert sl.value == fmt.estimate(row["mean"], row["half_width"], "share")
    assert sl.theory == f"Erlang C: {fmt.value(theory.erlang_c_service_level(9 / 60, 1 / 60, 10, 20), 'share')}"
    assert by_metric["occupancy_agents"].label == fmt.label("occupancy")
    assert by_metric["occupancy_agents"].theory == "Erlang C: 90.0%"


def test_theory_is_erlang_a_with_patience_and_absent_off_the_textbook():
    patience = {"channels": {"calls": {"patience": {"dist": "exponential", "mean": "2min"}}}}
    s = servsim.with_changes(MMC, [{"patch": patience}])
    model, values = theory_of(s)
    a = theory.erlang_a(9 / 60, 1 / 60, 10, 1 / 120)
    assert model.endswith("(Erlang A)")
    assert values["occupancy"] == pytest.approx(9 / 10 * (1 - a.p_abandon))
    assert theory_of(servsim.load_scenario(ROOT / "scenarios" / "bank_contact_centre.yaml")) is None
