"""Targets do something: each channel is judged by its own service-level goal and every run by the
abandonment ceiling, per channel and overall, with the CI; intervals missing a channel's goal are
counted against that goal and charged; compare constraints can ask for the targets to be met."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, strategies as st
from typer.testing import CliRunner

import servsim
from conftest import scenario
from servsim.api import replicate, simulate
from servsim.cli import app
from servsim.economics import intervals_missed, penalty_costs
from servsim.experiments.compare import compare
from servsim.experiments.runner import run_experiment
from servsim.experiments.spec import load_experiment
from servsim.scenario.economics import Economics, Penalties
from servsim.targets import verdict

#: Phone (goal 0.5) is staffed to about 78% within 20 s; chat (goal 0.99) to about 90% within 60 s.
TWO_CHANNELS = """
    name: two channels
    horizon: {start: "08:00", end: "12:00", interval: 30min}
    channels:
      phone:
        arrivals: {rate: 4/min}
        entry: talk
        patience: {dist: exponential, mean: 3min}
        service_level: {threshold: 20s, goal: 0.5}
      chat:
        kind: chat
        arrivals: {rate: 2/min}
        entry: type
        patience: {dist: exponential, mean: 5min}
        service_level: {threshold: 60s, goal: 0.99}
    pools:
      talkers: {agents: 5, skills: {talk: 1.0}}
      typists: {agents: 3, skills: {type: 1.0}}
    steps:
      talk: {handle_time: {dist: exponential, mean: 1min}}
      type: {handle_time: {dist: exponential, mean: 1min}}
    targets:
      service_level: {threshold: 20s, goal: 0.8}
      abandonment_max: 0.5
    economics:
      penalties: {per_interval_missing_target: 10}
"""

#: An M/M/c+M with a two-hour warm-up, abandoning about 10% of its calls.
MMC_WARMUP = """
    name: mmc with warm-up
    horizon: {start: "06:00", end: "12:00", interval: 30min, warmup: 2h}
    channels:
      calls:
        arrivals: {rate: 6/min}
        entry: answer
        patience: {dist: exponential, mean: 1min}
    pools:
      agents: {agents: 5, skills: {answer: 1.0}}
    steps:
      answer: {handle_time: {dist: exponential, mean: 1min}}
    targets:
      service_level: {threshold: 20s, goal: 0.5}
      abandonment_max: 0.01
"""


def _row(table: pd.DataFrame, channel: str, target: str) -> pd.Series:
    hit = table[(table["channel"] == channel) & (table["target"] == target)]
    assert len(hit) == 1, table
    return hit.iloc[0]


@pytest.fixture(scope="module")
def two() -> servsim.Replications:
    return replicate(scenario(TWO_CHANNELS), replications=5, seed=1)


def test_a_missed_channel_goal_is_reported_missed_and_a_met_one_met(two):
    t = two.targets(0.95)
    chat, phone = _row(t, "chat", "service_level"), _row(t, "phone", "service_level")
    assert chat["goal"] == 0.99 and phone["goal"] == 0.5    # each channel's own goal, not the 0.8 target
    assert chat["verdict"] == "missed" and chat["share_met"] == 0.0
    assert chat["mean"] + chat["half_width"] < 0.99
    assert phone["verdict"] == "met" and phone["mean"] - phone["half_width"] >= 0.5
    overall = _row(t, "all", "service_level")
    assert overall["goal"] == 0.8                             # several channels: the target goal
    per_run = pd.concat([r.targets for r in two.runs])
    chat_runs = per_run[(per_run["channel"] == "chat") & (per_run["target"] == "service_level")]
    assert (chat_runs["met"] == 0).all()


def test_intervals_missed_count_each_channel_against_its_own_goal(two):
    iv = two.runs[0].intervals
    rows = iv[iv["channel"] != "all"]
    own = {"phone": 0.5, "chat": 0.99}
    want = {ch: int(((g["offered"] > 0) & (g["service_level"] < own[ch])).sum())
            for ch, g in rows.groupby("channel", observed=True)}
    global_goal = int(((rows["offered"] > 0) & (rows["service_level"] < 0.8)).sum())
    assert sum(want.values()) != global_goal, "the case must tell the two rules apart"
    assert intervals_missed(iv, own, 0.0) == want
    t = two.runs[0].targets
    assert _row(t, "chat", "service_level")["intervals_missed"] == want["chat"]
    assert _row(t, "phone", "service_level")["intervals_missed"] == want["phone"]
    assert _row(t, "all", "service_level")["intervals_missed"] == sum(want.values())
    # the penalty is charged on that count (10 per interval)
    summary = two.runs[0].summary
    penalty = summary.loc[(summary["channel"] == "all") & (summary["segment"] == "all"), "penalty_cost"].iloc[0]
    assert penalty == 10.0 * sum(want.values())


def test_penalty_costs_apply_per_channel_goals():
    iv = pd.DataFrame({"channel": ["calls", "calls", "chat", "chat", "all"], "interval": [0, 1, 0, 1, 0],
                       "start_s": [0.0, 1800.0, 0.0, 1800.0, 0.0], "offered": [10.0, 10.0, 4.0, 4.0, 14.0],
                       "service_level": [0.6, 0.95, 0.9, 0.97, 0.1]})
    contacts = pd.DataFrame({"outcome": pd.Categorical([], categories=["handled", "abandoned"])})
    econ = Economics(penalties=Penalties(per_interval_missing_target=100.0))
    p = penalty_costs(contacts, iv, econ, goal={"calls": 0.5, "chat": 0.95})
    assert p["intervals_missed"] == 1.0 and p["intervals_missed_cost"] == 100.0   # chat interval 0 only
    assert penalty_costs(contacts, iv, econ, goal=0.8)["intervals_missed"] == 1.0   # calls interval 0 only
    assert penalty_costs(contacts, iv, econ, goal={"calls": 0.99, "chat": 0.99})["intervals_missed"] == 4.0


def test_a_missed_abandonment_ceiling_is_reported_missed():
    r = replicate(scenario(MMC_WARMUP), replications=4, seed=2)
    ab = _row(r.targets(), "all", "abandonment")
    assert ab["goal"] == 0.01 and ab["op"] == "<="
    assert ab["mean"] - ab["half_width"] > 0.01 and ab["verdict"] == "missed" and ab["share_met"] == 0.0
    assert _row(r.targets(), "all", "service_level")["goal"] == 0.5   # one channel: its goal = the target


def test_a_met_abandonment_ceiling_is_reported_met():
    s = scenario(MMC_WARMUP.replace("abandonment_max: 0.01", "abandonment_max: 0.5"))
    ab = _row(replicate(s, replications=4, seed=2).targets(), "all", "abandonment")
    assert ab["verdict"] == "met" and ab["share_met"] == 1.0


def test_targets_are_the_same_without_a_per_contact_log():
    s = scenario(TWO_CHANNELS)
    seed = np.random.SeedSequence(4)
    logged, unlogged = simulate(s, seed).targets, simulate(s, seed, log=False).targets
    pd.testing.assert_frame_equal(logged, unlogged, rtol=1e-9)


@given(mean=st.floats(0, 1), hw=st.floats(0, 0.5), goal=st.floats(0, 1), op=st.sampled_from([">=", "<="]))
def test_the_verdict_follows_the_confidence_interval(mean, hw, goal, op):
    v = verdict(mean, hw, op, goal)
    low, high = mean - hw, mean + hw
    good = (lambda x: x >= goal) if op == ">=" else (lambda x: x <= goal)
    assert v == ("met" if good(low) and good(high) else "missed" if not good(low) and not good(high)
                 else "uncertain")
    assert verdict(mean, math.nan, op, goal) == ("met" if good(mean) else "missed")   # one replication
    assert verdict(math.nan, hw, op, goal) == "no data"


EXPERIMENT = """\
name: staffing against targets
base: centre.yaml
replications: 4
seed: 5
metrics: [service_level, abandon_rate, cost, targets_met, sl_met, abandon_met, intervals_missed]
objective:
  minimize: cost
  constraints: ["targets_met >= 0.9"]
options:
  lean: []
  staffed: [{set: {path: pools.agents.agents, value: 9}}]
"""


def test_a_constraint_on_targets_met_chooses_the_option_meeting_them(tmp_path: Path, write):
    base = MMC_WARMUP.replace("abandonment_max: 0.01", "abandonment_max: 0.05")
    write("centre.yaml", base.replace("agents: {agents: 5,", "agents: {agents: 5, cost_per_hour: 30,"))
    write("exp.yaml", EXPERIMENT)
    exp = load_experiment(tmp_path / "exp.yaml")
    results = run_experiment(exp, tmp_path / "out")
    met = results.groupby("option")["targets_met"].mean()
    assert met["lean"] == 0.0 and met["staffed"] == 1.0
    assert set(results["sl_met"].unique()) <= {0.0, 1.0} and results["intervals_missed"].notna().all()
    c = compare(exp, results)
    assert c.selection is not None and c.selection.best == "staffed"   # lean is cheaper but misses targets
    assert "lean" in c.selection.infeasible


def test_servsim_run_shows_and_writes_targets(tmp_path: Path, write):
    path = write("two.yaml", TWO_CHANNELS)
    runner = CliRunner()
    got = runner.invoke(app, ["run", str(path), "-n", "5", "--seed", "1", "--json"])
    assert got.exit_code == 0, got.output
    targets = json.loads(got.stdout)["targets"]
    chat = next(t for t in targets if t["channel"] == "chat" and t["target"] == "service_level")
    assert chat["verdict"] == "missed" and chat["goal"] == 0.99
    got = runner.invoke(app, ["run", str(path), "-n", "5", "--seed", "1", "--out", str(tmp_path / "o")], env={"COLUMNS": "80"})
    assert got.exit_code == 0, got.output
    lines = got.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Targets"))
    table = lines[start:start + 10]
    assert any("chat" in line and "service level ≥ 99.0%" in line and "missed" in line for line in table)
    assert max(len(line.rstrip()) for line in table) <= 80
    run = json.loads((tmp_path / "o" / "run.json").read_text())
    assert [(t["channel"], t["target"]) for t in run["targets"]] == [(t["channel"], t["target"]) for t in targets]


@given(rows=st.lists(st.tuples(st.sampled_from(["a", "b", "all"]), st.integers(0, 7), st.floats(0, 20),
                               st.one_of(st.just(math.nan), st.floats(0, 1))), max_size=30),
       goal_a=st.floats(0, 1), goal_b=st.floats(0, 1), warmup_slot=st.integers(0, 8))
def test_intervals_missed_is_a_per_channel_count_against_each_goal(rows, goal_a, goal_b, warmup_slot):
    iv = pd.DataFrame(rows, columns=["channel", "interval", "offered", "service_level"])
    iv["start_s"] = iv["interval"] * 1800.0
    goals = {"a": goal_a, "b": goal_b}
    got = intervals_missed(iv, goals, warmup_slot * 1800.0)
    for ch, goal in goals.items():
        mine = iv[(iv["channel"] == ch) & (iv["interval"] >= warmup_slot)]
        assert got[ch] == ((mine["offered"] > 0) & (mine["service_level"] < goal)).sum()
