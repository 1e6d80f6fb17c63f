"""Arrivals beyond capacity: reported as unstable, and a run cannot grow without bound."""

from __future__ import annotations

import tracemalloc

from typer.testing import CliRunner

import servsim
from servsim.cli import EXIT_UNSTABLE, app
from conftest import scenario

OVERLOADED = """
    name: overloaded
    horizon: {days: 30, interval: 60min}
    channels:
      calls: {arrivals: {rate: 12/min}, entry: answer}
    pools:
      agents: {agents: 10, skills: {answer: 1.0}}
    steps:
      answer: {handle_time: {dist: exponential, mean: 1min}}
    limits: {max_in_system: 2000}
"""


def test_overloaded_scenario_is_flagged_by_the_load_check():
    r = servsim.simulate(scenario(OVERLOADED), seed=1)
    assert r.load.unstable
    assert abs(r.load.ratio - 1.2) < 1e-9
    assert "UNSTABLE" in r.status


def test_run_stops_at_the_limit_on_contacts_in_system():
    tracemalloc.start()
    r = servsim.simulate(scenario(OVERLOADED), seed=1)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert r.stopped and "max_in_system" in r.stopped
    assert bool(r.summary["stopped"].iloc[0])
    # 30 days at 12/min would be 518,400 contacts; the queue grows by ~2/min, so the limit of 2000
    # is reached within the first day and the run ends there
    assert len(r.contacts) < 20_000
    assert peak < 50e6


def test_abandonment_keeps_an_overloaded_system_bounded():
    text = OVERLOADED.replace("entry: answer}", "entry: answer, patience: {dist: exponential, mean: 2min}}")
    text = text.replace("days: 30", "days: 1")
    r = servsim.simulate(scenario(text), seed=1)
    assert not r.stopped
    assert r.load.unstable  # arrivals still exceed capacity: reported, though abandonment bounds the queue
    assert r.summary["abandon_rate"].iloc[0] > 0.1


def test_cli_exit_status_and_message_for_an_unstable_run(tmp_path):
    f = tmp_path / "over.yaml"
    import textwrap

    f.write_text(textwrap.dedent(OVERLOADED))
    res = CliRunner().invoke(app, ["run", str(f), "-n", "1"])
    assert res.exit_code == EXIT_UNSTABLE
    assert "max_in_system" in res.output and "UNSTABLE" in res.output
    assert "Traceback" not in res.output
