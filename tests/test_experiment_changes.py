"""Experiment changes that add service-delivery mechanisms: a vendor, an automation level."""

from __future__ import annotations

import textwrap

import pytest

import servsim
from servsim.experiments.spec import load_experiment
from servsim.scenario import ScenarioError
from conftest import ROOT

BASE = ROOT / "scenarios" / "bank_contact_centre.yaml"


def _experiment(tmp_path, options: str):
    f = tmp_path / "exp.yaml"
    f.write_text(textwrap.dedent(f"""\
        name: changes
        base: {BASE}
        replications: 2
        options:
          today: []
        """) + textwrap.indent(textwrap.dedent(options), "  "), encoding="utf-8")
    return f


def test_add_vendor_creates_the_pool_and_the_rule(tmp_path):
    exp = load_experiment(_experiment(tmp_path, """\
        outsourced:
          - add_vendor:
              name: partner
              step: serve
              pool: {agents: 4, price_per_contact: 5}
              rule: {share: 0.2}
        """))
    s = exp.scenarios["outsourced"]
    assert s.pools["partner"].kind == "vendor" and s.pools["partner"].agents == 4
    assert s.steps["serve"].outsource.to == "partner" and s.steps["serve"].outsource.share == 0.2
    r = servsim.simulate(s, seed=1)
    assert r.summary["outsourced"].iloc[0] > 0 and r.summary["vendor_cost"].iloc[0] > 0


def test_automate_adds_bots_and_then_changes_only_the_level(tmp_path):
    exp = load_experiment(_experiment(tmp_path, """\
        rpa:
          - automate:
              step: follow_up
              level: 0.5
              bots: rpa
              pool: {agents: 2, licence_cost: 100}
              handle_time: {dist: deterministic, value: 2min}
              exception_rate: 0.2
        more_rpa:
          - automate: {step: follow_up, level: 0.5, bots: rpa, pool: {agents: 2},
                       handle_time: {dist: deterministic, value: 2min}, exception_rate: 0.2}
          - automate: {step: follow_up, level: 0.9}
        """))
    a = exp.scenarios["rpa"].steps["follow_up"].automation
    assert (a.bots, a.level, a.exception_rate) == ("rpa", 0.5, 0.2)
    b = exp.scenarios["more_rpa"].steps["follow_up"].automation
    assert (b.level, b.exception_rate, b.handle_time.mean_s) == (0.9, 0.2, 120.0)
    assert exp.scenarios["rpa"].pools["rpa"].kind == "bots"


@pytest.mark.parametrize("options, words", [
    ("bad:\n  - automate: {step: follow_up, level: 0.5}\n", ["has no automation yet"]),
    ("bad:\n  - automate: {step: folow_up, level: 0.5, bots: x}\n", ["does not exist", "follow_up"]),
    ("bad:\n  - add_vendor: {name: v, step: serve, rule: {share: 1.5}}\n", ["outsource.share", "less than or equal to 1"]),
    ("bad:\n  - add_vendor: {name: v, step: serve, rule: {}}\n", ["give a 'share' or an overflow condition"]),
    ("bad:\n  - automate: {step: follow_up, level: 2}\n", ["less than or equal to 1"]),
])
def test_bad_service_changes_are_located(tmp_path, options, words):
    f = _experiment(tmp_path, options)
    with pytest.raises(ScenarioError) as err:
        load_experiment(f)
    text = str(err.value)
    assert str(f) in text and "options" in text
    assert all(w in text for w in words), text


def test_the_example_service_options_experiment_loads():
    exp = load_experiment(ROOT / "experiments" / "bank_service_options.yaml")
    assert exp.options == ["today", "plus_10_percent", "vendor_overflow", "rpa_follow_up", "voicebot"]
    assert exp.scenarios["voicebot"].steps["identify"].automation.containment == 0.15
