"""The command line: tables, JSON, written outputs, and the table schemas they carry."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

import servsim
from servsim.cli import app
from conftest import ROOT

MMC = str(ROOT / "scenarios" / "mmc.yaml")


def test_run_prints_a_kpi_table():
    res = CliRunner().invoke(app, ["run", MMC, "-n", "2", "--seed", "3"])
    assert res.exit_code == 0, res.output
    for words in ("ASA", "service level", "occupancy agents", "stable"):
        assert words in res.output
    # a textbook queue gets its Erlang C prediction beside the simulated values
    assert "Erlang C" in res.output and "66.9%" in res.output


def test_theory_predictions_only_where_a_formula_applies():
    from servsim.report.theory_view import predictions

    mmc = servsim.load_scenario(MMC)
    name, values = predictions(mmc)
    assert name.startswith("M/M/c") and abs(values["p_wait"] - 0.6687) < 1e-3
    assert predictions(servsim.load_scenario(ROOT / "scenarios" / "back_office_rework.yaml")) is None


def test_run_json_is_parseable_and_complete():
    res = CliRunner().invoke(app, ["run", MMC, "-n", "3", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["replications"] == 3 and data["seed"] == 0
    metrics = {(k["channel"], k["metric"]) for k in data["kpis"]}
    assert ("all", "asa_s") in metrics and ("pool:agents", "occupancy") in metrics
    asa = next(k for k in data["kpis"] if k["metric"] == "asa_s")
    assert asa["n"] == 3 and asa["half_width"] > 0


def test_out_writes_parquet_tables_and_run_json(tmp_path):
    out = tmp_path / "res"
    res = CliRunner().invoke(app, ["run", MMC, "-n", "2", "--seed", "11", "--out", str(out)])
    assert res.exit_code == 0, res.output
    meta = json.loads((out / "run.json").read_text())
    assert meta["seed"] == 11 and meta["replications"] == 2
    assert meta["servsim_version"] == servsim.__version__
    assert len(meta["scenario_sha256"]) == 64
    contacts = pd.read_parquet(out / "contacts.parquet")
    assert sorted(contacts["replication"].unique()) == [0, 1]
    summary = pd.read_parquet(out / "summary.parquet")
    # the written tables are the API's tables
    api = servsim.replicate(servsim.load_scenario(MMC), replications=2, seed=11)
    pd.testing.assert_frame_equal(summary, api.summary, check_categorical=False, check_dtype=False)


def test_no_log_writes_the_same_summary_without_per_contact_tables(tmp_path):
    out = tmp_path / "res"
    res = CliRunner().invoke(app, ["run", MMC, "-n", "2", "--seed", "11", "--no-log", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert json.loads((out / "run.json").read_text())["per_contact_log"] is False
    assert not (out / "contacts.parquet").exists() and not (out / "visits.parquet").exists()
    summary = pd.read_parquet(out / "summary.parquet")
    api = servsim.replicate(servsim.load_scenario(MMC), replications=2, seed=11)
    same = [c for c in api.summary.columns if not c.startswith(("p90", "p95"))]
    pd.testing.assert_frame_equal(summary[same], api.summary[same], check_categorical=False, check_dtype=False)
    assert "ASA" in res.output


def test_validate_describes_the_scenario():
    res = CliRunner().invoke(app, ["validate", str(ROOT / "scenarios" / "back_office_rework.yaml")])
    assert res.exit_code == 0, res.output
    for words in ("assessors", "assess", "back stage", "valid"):
        assert words in res.output


def test_version():
    res = CliRunner().invoke(app, ["--version"])
    assert res.exit_code == 0 and servsim.__version__ in res.output


# Output schemas are a contract: researchers write code against these columns.
CONTACT_COLUMNS = ["replication", "contact", "channel", "segment", "day", "interval", "arrival_s", "exit_s",
                   "outcome", "answered", "wait_s", "total_wait_s", "handle_s", "visits", "pool", "lead_time_s",
                   "warmup", "attempt", "resolved", "outsourced", "bot_s", "callback_offered", "callback_accepted",
                   "callbacks", "callback_wait_s"]
VISIT_COLUMNS = ["replication", "contact", "step", "pool", "queued_s", "start_s", "end_s", "outcome", "wait_s",
                 "handle_s", "agent", "free_s", "wrap_s"]
POOL_COLUMNS = ["replication", "pool", "interval", "start_s", "staffed_s", "busy_s", "paid_s", "served", "day",
                "occupancy", "wrap_s", "overtime_s"]
SUMMARY_COLUMNS = ["replication", "channel", "segment", "offered", "answered", "handled", "abandoned",
                   "in_system_end", "abandon_rate", "asa_s", "mean_wait_s", "p90_wait_s", "p95_wait_s", "p_wait",
                   "service_level", "mean_handle_s", "mean_wrap_s", "mean_lead_time_s", "balked", "contained",
                   "outsourced", "unresolved", "retrials", "preempted", "blocked", "blocking_rate",
                   "callbacks_offered", "callbacks_accepted", "callback_wait_s", "littles_L", "littles_lambda_w",
                   "littles_gap", "load_ratio", "stopped", "staff_cost", "penalty_cost", "total_cost",
                   "cost_per_handled", "vendor_cost", "bot_cost", "satisfaction_mean", "share_satisfied",
                   "abandon_rate_waited", "mean_queue"]
INTERVAL_COLUMNS = ["replication", "channel", "interval", "start_s", "offered", "answered", "handled", "abandoned",
                    "in_system_end", "abandon_rate", "asa_s", "mean_wait_s", "p90_wait_s", "p95_wait_s", "p_wait",
                    "service_level", "mean_handle_s", "mean_wrap_s", "mean_lead_time_s", "balked", "contained",
                    "outsourced", "unresolved", "retrials", "preempted", "blocked", "blocking_rate",
                    "callbacks_offered", "callbacks_accepted", "callback_wait_s", "satisfaction_mean",
                    "share_satisfied", "abandon_rate_waited", "mean_queue", "day"]


def test_table_schemas():
    r = servsim.replicate(servsim.load_scenario(ROOT / "scenarios" / "back_office_rework.yaml"),
                          replications=2, seed=1)
    assert list(r.contacts.columns) == CONTACT_COLUMNS
    assert list(r.visits.columns) == VISIT_COLUMNS
    assert list(r.pools.columns) == POOL_COLUMNS
    assert list(r.summary.columns) == SUMMARY_COLUMNS
    assert list(r.intervals.columns) == INTERVAL_COLUMNS
    assert str(r.contacts["arrival_s"].dtype) == "float64"
    assert str(r.contacts["contact"].dtype) == "int64"
    assert isinstance(r.contacts["channel"].dtype, pd.CategoricalDtype)


def test_conservation_on_every_replication():
    r = servsim.replicate(servsim.load_scenario(ROOT / "scenarios" / "back_office_rework.yaml"),
                          replications=3, seed=2)
    s = r.summary[(r.summary.channel == "all") & (r.summary.segment == "all")]
    assert (s["offered"] == s["handled"] + s["abandoned"] + s["in_system_end"]).all()
    assert (r.visits["wait_s"].dropna() >= 0).all()
    occ = r.pools["occupancy"].dropna()
    assert ((occ >= 0) & (occ <= 1 + 1e-12)).all()


def test_littles_law_check_detects_records_that_disagree():
    from servsim.metrics import littles_law

    s = servsim.load_scenario(MMC)
    r = servsim.simulate(s, seed=4)
    t0, t1 = 2 * 3600.0, 24 * 3600.0
    assert littles_law(r.contacts, r.visits, t0, t1)["littles_gap"] < 0.01
    broken = r.visits.copy()
    broken["end_s"] = broken["end_s"] + 30.0  # visits that last 30 s longer than the contacts say
    assert littles_law(r.contacts, broken, t0, t1)["littles_gap"] > 0.1


def test_a_replication_that_keeps_killing_its_worker_ends_with_a_message(monkeypatch):
    from servsim import cli
    from servsim.execution import WorkerLostError

    def dies(*args, **kwargs):
        raise WorkerLostError(4, None, "replication 4", 3, " (killed by SIGKILL, as the out-of-memory killer does)")

    monkeypatch.setattr("servsim.api.replicate", dies)  # the run command imports it when it runs
    res = CliRunner().invoke(app, ["run", MMC, "-n", "8", "-w", "2"])
    out = " ".join(res.output.split())
    assert res.exit_code == cli.EXIT_TASK_FAILED, res.output
    assert "replication 4 killed its worker process 3 times (killed by SIGKILL" in out and "--no-log" in out
    assert "Traceback" not in out


def test_run_on_a_dask_local_cluster_gives_the_numbers_of_one_worker():
    """One code path from laptop to cluster: `run --scheduler` on a local Dask cluster (its worker
    processes simulate, pickling the replications back) gives exactly the KPIs of `--workers 1`."""
    distributed = pytest.importorskip("distributed")
    here = CliRunner().invoke(app, ["run", MMC, "-n", "3", "--json", "--workers", "1"])
    assert here.exit_code == 0, here.output
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        there = CliRunner().invoke(app, ["run", MMC, "-n", "3", "--json", "--scheduler", cluster.scheduler_address])
    assert there.exit_code == 0, there.output
    local, remote = json.loads(here.output), json.loads(there.output)
    assert remote["replications"] == 3
    assert remote["kpis"] == local["kpis"]
