"""Sweeps: grid and Latin hypercube designs, the stopping rule, interruption and resume."""

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
from servsim.experiments.store import stored_tasks
from servsim.experiments.sweep import load_sweep, run_sweep
from conftest import ROOT

SCENARIO = """\
name: small centre
horizon: {start: "08:00", end: "12:00", interval: 30min}
channels:
  calls: {arrivals: {rate: 4/min}, entry: answer}
pools:
  agents: {agents: 6, skills: {answer: 1.0}}
steps:
  answer: {handle_time: {dist: exponential, mean: 1min}}
"""

GRID = """\
name: grid
base: centre.yaml
replications: 4
seed: 2
metrics: [asa_s, service_level]
sweep:
  parameters:
    channels.calls.arrivals.rate: [3/min, 4/min, 5/min]
    pools.agents.agents: [6, 7]
"""


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "centre.yaml").write_text(SCENARIO)
    (tmp_path / "grid.yaml").write_text(GRID)
    return tmp_path


def test_grid_gives_one_row_per_cell_and_replication(files):
    sw = load_sweep(files / "grid.yaml")
    res = run_sweep(sw, files / "out")
    assert len(sw.cells) == 6 and len(res) == 24
    assert list(res.columns[:4]) == ["cell", "channels.calls.arrivals.rate", "pools.agents.agents", "replication"]
    # waits grow with the arrival rate and shrink with staff
    means = res.groupby(["channels.calls.arrivals.rate", "pools.agents.agents"])["asa_s"].mean()
    assert means[("5/min", 6)] > means[("3/min", 6)]
    assert means[("5/min", 6)] > means[("5/min", 7)]
    # common random numbers: one replication's arrivals are shared by every cell with the same rate
    offered = res.pivot_table(index="replication", columns=["channels.calls.arrivals.rate", "pools.agents.agents"],
                              values="offered")
    assert (offered[("4/min", 6)] == offered[("4/min", 7)]).all()


def test_latin_hypercube_is_reproducible_and_stratified(files):
    (files / "lhs.yaml").write_text(GRID.replace("""  parameters:
    channels.calls.arrivals.rate: [3/min, 4/min, 5/min]
    pools.agents.agents: [6, 7]""", """  design: lhs
  samples: 8
  parameters:
    channels.calls.arrivals.rate: {low: 2/min, high: 5/min}
    pools.agents.agents: {low: 6, high: 9}"""))
    a, b = load_sweep(files / "lhs.yaml"), load_sweep(files / "lhs.yaml")
    pd.testing.assert_frame_equal(a.cells, b.cells)
    rates = sorted(float(r.split("/")[0]) for r in a.cells["channels.calls.arrivals.rate"])
    # one sample in each eighth of [2, 5]
    assert [int((r - 2) / (3 / 8)) for r in rates] == list(range(8))
    assert set(a.cells["pools.agents.agents"]) <= set(range(6, 10))


def test_stopping_rule_adds_replications_until_precise(files):
    (files / "stop.yaml").write_text(GRID + "  stop: {metric: service_level, rel_precision: 0.02, max_replications: 32}\n")
    res = run_sweep(load_sweep(files / "stop.yaml"), files / "out")
    n = res.groupby("cell")["replication"].count()
    assert n.min() >= 4 and n.max() > 4 and n.max() <= 32


def test_bad_sweep_path_is_located_with_a_suggestion(files):
    (files / "grid.yaml").write_text(GRID.replace("pools.agents.agents", "pools.agent.agents"))
    res = CliRunner().invoke(app, ["sweep", str(files / "grid.yaml"), "--out", str(files / "o")])
    assert res.exit_code == EXIT_BAD_INPUT
    assert "grid.yaml:" in res.output and "did you mean" in res.output and "Traceback" not in res.output


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if text in (proc / "cmdline").read_bytes().decode(errors="replace"):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def _ctrl_c_as_in_a_terminal() -> None:
    """Ctrl-C reaches a command run in a terminal; but a test suite started in the background by a
    non-interactive shell ignores SIGINT, its children inherit that, and Python then leaves it ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("sig,workers", [(signal.SIGINT, 1), (signal.SIGINT, 2), (signal.SIGTERM, 2)])
def test_killed_sweep_keeps_finished_tasks_and_resumes_to_the_same_table(files, sig, workers):
    (files / "grid.yaml").write_text(GRID.replace("replications: 4", "replications: 30"))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    cmd = [sys.executable, "-m", "servsim.cli", "sweep", str(files / "grid.yaml"), "--quiet", "-w", str(workers)]
    proc = subprocess.Popen([*cmd, "--out", str(files / "run")], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, preexec_fn=_ctrl_c_as_in_a_terminal)
    store = files / "run" / "store"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(stored_tasks(store)) < 10:
        time.sleep(0.05)
    proc.send_signal(sig)
    assert proc.wait(timeout=20) == 130  # stopped promptly, saying it was interrupted
    time.sleep(0.5)
    assert _processes_mentioning(str(files / "run")) == [], "no worker may outlive the interrupted run"
    before = {p: p.stat().st_mtime_ns for p in (store / "batches").glob("*.json")}
    assert 10 <= len(stored_tasks(store)) < 180, "the sweep should have been stopped part-way"
    again = subprocess.run([*cmd, "--out", str(files / "run")], env=env, capture_output=True, text=True, timeout=180)
    assert again.returncode == 0, again.stderr
    after = {p: p.stat().st_mtime_ns for p in (store / "batches").glob("*.json")}
    assert len(stored_tasks(store)) == 180 and all(after.get(p) == t for p, t in before.items())
    straight = subprocess.run([*cmd, "--out", str(files / "straight")], env=env, capture_output=True, text=True,
                              timeout=180)
    assert straight.returncode == 0, straight.stderr
    pd.testing.assert_frame_equal(pd.read_parquet(files / "run" / "results.parquet"),
                                  pd.read_parquet(files / "straight" / "results.parquet"))


def test_cli_sweep_writes_figures(files):
    res = CliRunner().invoke(app, ["sweep", str(files / "grid.yaml"), "--out", str(files / "o")])
    assert res.exit_code == 0, res.output
    for name in ("results.parquet", "cells.csv", "figures/line_asa_s.png", "figures/heatmap_asa_s.png"):
        assert (files / "o" / name).is_file()
