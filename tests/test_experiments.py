"""Experiments: options as changes, common random numbers, identical numbers on any executor,
resumable runs, and clear errors for bad experiment files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from servsim.cli import EXIT_BAD_INPUT, app
from servsim.experiments.compare import compare
from servsim.experiments.runner import run_experiment
from servsim.experiments.spec import load_experiment
from servsim.experiments.store import stored_tasks
from servsim.metrics.indifference import Zone
from servsim.scenario import ScenarioError
from servsim.stats import paired_difference, select_best, unpaired_difference
from conftest import ROOT

SCENARIO = """\
name: small centre
horizon: {start: "08:00", end: "12:00", interval: 30min}
channels:
  calls:
    arrivals: {rate: 4/min}
    entry: answer
    patience: {dist: exponential, mean: 2min}
pools:
  agents: {agents: 5, skills: {answer: 1.0}, cost_per_hour: 30}
steps:
  answer: {handle_time: {dist: exponential, mean: 1min}}
"""

EXPERIMENT = """\
name: small options
base: centre.yaml
replications: 6
seed: 3
metrics: [service_level, abandon_rate, asa_s, cost]
objective:
  minimize: cost
  constraints: ["service_level >= 0.5"]
options:
  base: []
  one_more: [{set: {path: pools.agents.agents, value: 6}}]
  midday: [{add_agents: {pool: agents, count: 1, start: "09:00", end: "11:00"}}]
"""


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "centre.yaml").write_text(SCENARIO)
    (tmp_path / "exp.yaml").write_text(EXPERIMENT)
    return tmp_path


def test_same_numbers_twice_and_on_one_or_two_workers(files):
    exp = load_experiment(files / "exp.yaml")
    a = run_experiment(exp, files / "a", workers=1)
    b = run_experiment(exp, files / "b", workers=2)
    c = run_experiment(exp, files / "c", workers=1)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c)
    assert list(a["option"].unique()) == ["base", "one_more", "midday"]
    assert len(a) == 18


def test_same_numbers_on_a_dask_local_cluster(files):
    distributed = pytest.importorskip("distributed")
    exp = load_experiment(files / "exp.yaml")
    local = run_experiment(exp, files / "local", workers=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1")
        remote = run_experiment(exp, files / "dask", scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(local, remote)


def test_common_random_numbers_narrow_the_difference(files):
    exp = load_experiment(files / "exp.yaml")
    res = run_experiment(exp, files / "out", workers=1)
    a = res[res.option == "base"].sort_values("replication")["asa_s"].to_numpy()
    b = res[res.option == "one_more"].sort_values("replication")["asa_s"].to_numpy()
    paired = paired_difference(b, a)
    unpaired = unpaired_difference(b, a)
    assert paired.half_width < unpaired.half_width
    # arrivals are shared: the same offered contacts in every option, replication by replication
    offered = res.pivot(index="replication", columns="option", values="offered")
    assert (offered["base"] == offered["one_more"]).all() and (offered["base"] == offered["midday"]).all()


def test_compare_selection_and_costs(files):
    exp = load_experiment(files / "exp.yaml")
    res = run_experiment(exp, files / "out", workers=1)
    c = compare(exp, res)
    cost = c.summary.set_index(["option", "metric"])["mean"]
    # 5 agents x 4 h x 30/h = 600 (plus any overtime finishing calls after 12:00)
    assert 600 <= cost[("base", "cost")] < 620
    assert cost[("one_more", "cost")] > cost[("midday", "cost")] > cost[("base", "cost")]
    assert c.selection is not None and c.selection.best in exp.options
    assert set(c.differences["option"]) == {"one_more", "midday"}
    assert c.pareto["pareto"].any()


def test_cli_compare_writes_report_and_tables(files):
    res = CliRunner().invoke(app, ["compare", str(files / "exp.yaml"), "--out", str(files / "res")])
    assert res.exit_code == 0, res.output
    for name in ("results.parquet", "summary.csv", "differences.csv", "report.html", "figures/comparison.png",
                 "figures/pareto.png"):
        assert (files / "res" / name).is_file(), name
    page = (files / "res" / "report.html").read_text()
    assert "http://" not in page and "https://" not in page and "<script" not in page.lower()
    assert "data:image/png;base64," in page
    assert "Choice" in res.output


BAD = [
    ("unknown-path", EXPERIMENT.replace("pools.agents.agents", "pools.agent.agents"),
     "options.one_more.0", "did you mean"),
    ("wrong-type", EXPERIMENT.replace("value: 6}", "value: many}"), "options.one_more.0", "number"),
    ("changes-nothing", EXPERIMENT.replace("value: 6}", "value: 5}"), "options.one_more", "changes nothing"),
    ("unknown-metric-constraint", EXPERIMENT.replace("service_level >= 0.5", "servce_level >= 0.5"),
     "objective.constraints.0", "did you mean 'service_level'"),
    ("unknown-metric", EXPERIMENT.replace("metrics: [service_level,", "metrics: [sla,"), "metrics.0", "valid"),
    ("unknown-field", EXPERIMENT.replace("replications: 6", "replicatons: 6"), "replicatons",
     "did you mean 'replications'"),
    ("missing-base", EXPERIMENT.replace("base: centre.yaml", "base: nowhere.yaml"), "base", "not valid"),
]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_experiment_files(files, case):
    _, text, field, words = case
    (files / "exp.yaml").write_text(text)
    res = CliRunner().invoke(app, ["compare", str(files / "exp.yaml"), "--out", str(files / "res")])
    assert res.exit_code == EXIT_BAD_INPUT, res.output
    assert "Traceback" not in res.output
    assert "exp.yaml:" in res.output and f" {field}: " in res.output, res.output
    assert words in res.output, res.output


def test_interrupted_compare_resumes_and_matches_an_uninterrupted_run(files):
    slow = EXPERIMENT.replace("replications: 6", "replications: 40")
    (files / "exp.yaml").write_text(slow)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    cmd = [sys.executable, "-m", "servsim.cli", "compare", str(files / "exp.yaml"), "--out", str(files / "run"),
           "--quiet"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store = files / "run" / "store"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(stored_tasks(store)) < 10:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    finished = len(stored_tasks(store))
    assert 10 <= finished < 120, "the run should have been stopped part-way"
    before = {p: p.stat().st_mtime_ns for p in (store / "batches").glob("*.json")}
    # rerun: completes only the rest, leaving finished tasks untouched
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    after = {p: p.stat().st_mtime_ns for p in (store / "batches").glob("*.json")}
    assert len(stored_tasks(store)) == 120
    assert all(after.get(p) == t for p, t in before.items())
    resumed = pd.read_parquet(files / "run" / "results.parquet")
    straight = subprocess.run([*cmd[:-3], "--out", str(files / "straight"), "--quiet"], env=env,
                              capture_output=True, text=True, timeout=120)
    assert straight.returncode == 0, straight.stderr
    pd.testing.assert_frame_equal(resumed, pd.read_parquet(files / "straight" / "results.parquet"))


def test_warmup_check_runs_mser_on_steady_state_experiments(tmp_path):
    from servsim.experiments.compare import compare as compare_options
    from servsim.experiments.runner import stored_table

    (tmp_path / "exp.yaml").write_text(f"""\
name: warm-up
base: {ROOT / 'scenarios' / 'mmc.yaml'}
replications: 3
options:
  ten: []
  eleven: [{{set: {{path: pools.agents.agents, value: 11}}}}]
""")
    exp = load_experiment(tmp_path / "exp.yaml")
    res = run_experiment(exp, tmp_path / "out")
    intervals = stored_table(exp, tmp_path / "out", "intervals")
    assert len(intervals) == 2 * 3 * 24
    c = compare_options(exp, res, intervals=intervals)
    assert c.warmup.startswith("MSER on the baseline's mean wait per interval suggests deleting the first")
    assert "the scenario's warm-up is 2h" in c.warmup


def test_compare_without_objective_and_at_another_level(files):
    text = EXPERIMENT.split("objective:")[0] + "options:" + EXPERIMENT.split("options:")[1]
    (files / "exp.yaml").write_text(text)
    res = CliRunner().invoke(app, ["compare", str(files / "exp.yaml"), "--out", str(files / "res"), "--level", "0.8"])
    assert res.exit_code == 0, res.output
    page = (files / "res" / "report.html").read_text()
    assert "No objective was given" in page
    assert "80% confidence interval" in page and "95% confidence interval" not in page


def test_unchanged_first_option_is_fine_when_another_is_the_baseline(files):
    (files / "exp.yaml").write_text(EXPERIMENT.replace("seed: 3\n", "seed: 3\nbaseline: one_more\n"))
    exp = load_experiment(files / "exp.yaml")
    assert exp.baseline == "one_more" and "base" in exp.scenarios


# ---------------------------------------------------------------------------------------------
# indifference zones
# ---------------------------------------------------------------------------------------------


def test_bank_options_minutes_of_overtime_are_no_confident_choice(tmp_path):
    """Issue 12, acceptance 4: faster_follow_up pays about 2.7 minutes less than today in a
    170-hour day; that difference is statistically clear and practically nothing."""
    exp = load_experiment(ROOT / "experiments" / "bank_options.yaml")  # its own 20 replications, ~5 s
    res = run_experiment(exp, tmp_path, workers=1)
    c = compare(exp, res)
    assert c.indifference["paid_hours"] == 0.5  # the default of hours: half an agent-hour
    s = c.selection
    assert s is not None and s.best == "faster_follow_up"
    comp = s.comparisons.set_index("option")
    assert abs(comp.loc["today", "diff"]) < 0.1 and comp.loc["today", "p_value"] < 0.05  # minutes, yet significant
    assert comp.loc["today", "practical"] == "equivalent"
    assert not s.confident and s.within_zone
    assert "within the indifference zone of the best" in s.method
    # without a zone the same numbers make the confident claim this test guards against
    assert select_best(res, "option", "paid_hours", minimize=True).confident
    d = c.differences.set_index(["option", "metric"])
    assert d.loc[("faster_follow_up", "paid_hours"), "practical"] == "equivalent"
    assert d.loc[("midday_boost", "paid_hours"), "practical"] == "worse"  # 8 more paid hours: beyond the zone
    assert d.loc[("faster_follow_up", "service_level"), "practical"] == "better"  # +4 pp, beyond 1 pp


def test_zones_from_the_file_and_defaults_reach_the_differences(files):
    (files / "exp.yaml").write_text(EXPERIMENT.replace("options:\n", "indifferent: {cost: 2%, asa_s: 20s}\noptions:\n"))
    exp = load_experiment(files / "exp.yaml")
    assert exp.zones == {"service_level": Zone(0.01), "abandon_rate": Zone(0.01), "asa_s": Zone(20.0),
                         "cost": Zone(0.0, 0.02)}
    res = CliRunner().invoke(app, ["compare", str(files / "exp.yaml"), "--out", str(files / "res")])
    assert res.exit_code == 0, res.output
    diffs = pd.read_csv(files / "res" / "differences.csv").set_index(["option", "metric"])
    assert {"indifference", "practical"} <= set(diffs.columns)
    base_cost = pd.read_csv(files / "res" / "summary.csv").set_index(["option", "metric"]).loc[("base", "cost"), "mean"]
    assert diffs.loc[("one_more", "cost"), "indifference"] == pytest.approx(0.02 * base_cost)
    assert (diffs.xs("asa_s", level="metric")["indifference"] == 20.0).all()
    assert set(diffs["practical"]) <= {"better", "worse", "equivalent", "inconclusive"}
    page = (files / "res" / "report.html").read_text()
    assert "Indifference zones" in page and "Schuirmann" in page and "20s (set in the file)" in page
    assert "indifference zone" in res.output


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


BAD_ZONES = [
    ("unknown", "  servce_level: 0.02", "indifferent.servce_level", "did you mean 'service_level'"),
    ("not-compared", "  paid_hours: 0.5h", "indifferent.paid_hours", "not compared"),
    ("negative", "  cost: -5", "indifferent.cost", "negative"),
    ("bare-duration", "  asa_s: 5", "indifferent.asa_s", "no unit"),
    ("share-percent", "  service_level: 1%", "indifferent.service_level", "ambiguous"),
    ("share-too-big", "  abandon_rate: 2", "indifferent.abandon_rate", "did you mean '2pp'"),
    ("not-a-number", "  cost: lots", "indifferent.cost", "not an indifference zone"),
]


@pytest.mark.parametrize("case", BAD_ZONES, ids=[c[0] for c in BAD_ZONES])
def test_bad_indifference_zones_are_located(files, case):
    _, entry, field, words = case
    good = "  cost: 10" if "service_level" in entry else "  service_level: 1pp"  # a valid entry before it
    text = EXPERIMENT.replace("options:\n", f"indifferent:\n{good}\n{entry}\noptions:\n")
    (files / "exp.yaml").write_text(text)
    with pytest.raises(ScenarioError) as err:
        load_experiment(files / "exp.yaml")
    message = str(err.value)
    assert f"exp.yaml:{_line_of(text, entry.strip())}:" in message and f" {field}: " in message, message
    assert words in message, message
