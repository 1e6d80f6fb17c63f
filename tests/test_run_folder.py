"""``servsim run --out``: a folder holding a different run's output is refused and left as it was;
``--overwrite`` replaces it without leaving a file of the old run; the same run again rewrites its
own files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import servsim.cli
from servsim import runfolder, status
from servsim.cli import app
from servsim.experiments.store import stored_hash
from conftest import TINY_CENTRE

RUN_FILES = {"summary.parquet", "intervals.parquet", "pools.parquet", "pool_summary.parquet", "contacts.parquet",
             "visits.parquet", "kpis.csv", "run.json"}
NO_LOG_FILES = RUN_FILES - {"contacts.parquet", "visits.parquet"}


@pytest.fixture
def centre(tmp_path: Path) -> Path:
    f = tmp_path / "centre.yaml"
    f.write_text(TINY_CENTRE)
    return f


def _run(*args: str, report: bool = False):
    """``servsim run``; without the report unless asked (the tables are what these tests are about)."""
    return CliRunner().invoke(app, ["run", *args, *([] if report else ["--no-report"])], env={"COLUMNS": "200"})


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` (the store's manifest and lock included) with its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _top_files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if p.is_file()}


#: Each way a second run differs from ``-n 2 --seed 0`` with the log, and what the refusal says.
DIFFERENT = {
    "seed": (["-n", "2", "--seed", "1"], "seed 0 (this run: 1)"),
    "replications": (["-n", "3"], "replications 2 (this run: 3)"),
    "no log": (["-n", "2", "--no-log"], "per-contact log kept (this run: --no-log)"),
    "level": (["-n", "2", "--level", "0.9"], "level 0.95 (this run: 0.9)"),
}


@pytest.mark.parametrize("case", list(DIFFERENT))
def test_a_different_run_is_refused_with_status_2_and_changes_nothing(centre, tmp_path, case):
    out = tmp_path / "out"
    assert _run(str(centre), "-n", "2", "--out", str(out)).exit_code == 0
    before = _snapshot(out)
    args, said = DIFFERENT[case]
    res = _run(str(centre), *args, "--out", str(out))
    assert res.exit_code == status.BAD_INPUT == 2, res.output
    message = " ".join(res.output.split())
    assert "holds the output of a different run" in message and said in message, message
    assert "--overwrite" in message and "Traceback" not in res.output
    # every file byte for byte as it was, the store's manifest and lock included; nothing added
    assert _snapshot(out) == before


def test_a_changed_scenario_is_a_different_run(centre, tmp_path):
    out = tmp_path / "out"
    assert _run(str(centre), "-n", "1", "--out", str(out)).exit_code == 0
    before = _snapshot(out)
    centre.write_text(TINY_CENTRE.replace("agents: 4", "agents: 5"))
    res = _run(str(centre), "-n", "1", "--out", str(out))
    assert res.exit_code == 2
    assert "scenario 'tiny centre' with other content" in " ".join(res.output.split())
    assert _snapshot(out) == before


def test_the_refusal_comes_before_any_simulation(centre, tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert _run(str(centre), "-n", "1", "--out", str(out)).exit_code == 0

    def no_simulation(*args: object, **kwargs: object) -> None:
        raise AssertionError("a refused run must not simulate")

    monkeypatch.setattr(servsim.api, "replicate", no_simulation)  # the run command imports it when it runs
    res = _run(str(centre), "-n", "1", "--seed", "5", "--out", str(out))
    assert res.exit_code == 2 and "different run" in res.output


def test_overwrite_leaves_no_file_of_the_earlier_run(centre, tmp_path):
    out = tmp_path / "out"
    assert _run(str(centre), "-n", "2", "--out", str(out), report=True).exit_code == 0
    assert _top_files(out) == RUN_FILES | {"report.html"} and any((out / "figures").glob("*.png"))
    res = _run(str(centre), "-n", "3", "--seed", "4", "--no-log", "--out", str(out), "--overwrite")
    assert res.exit_code == 0, res.output
    # the earlier run's contacts, visits and report are gone: the folder holds exactly the new run's files
    assert _top_files(out) == NO_LOG_FILES and not (out / "figures").exists()
    meta = json.loads((out / "run.json").read_text())
    assert meta["seed"] == 4 and meta["replications"] == 3 and meta["per_contact_log"] is False
    assert sorted(pd.read_parquet(out / "summary.parquet")["replication"].unique()) == [0, 1, 2]
    # and the folder now belongs to the new run: running it again is allowed, the old one refused
    assert _run(str(centre), "-n", "3", "--seed", "4", "--no-log", "--out", str(out)).exit_code == 0
    assert _run(str(centre), "-n", "2", "--out", str(out)).exit_code == 2


def test_the_same_run_again_rewrites_its_own_files(centre, tmp_path):
    out = tmp_path / "out"
    assert _run(str(centre), "-n", "2", "--seed", "7", "--out", str(out)).exit_code == 0
    first = _snapshot(out)
    res = _run(str(centre), "-n", "2", "--seed", "7", "--out", str(out), "--workers", "2")
    assert res.exit_code == 0, res.output
    again = _snapshot(out)
    # same files; the same numbers (workers do not change them), so the same tables
    assert set(again) == set(first)
    for name in ("summary.parquet", "intervals.parquet", "kpis.csv", "run.json"):
        assert again[name] == first[name], name


def test_output_of_an_earlier_servsim_without_a_manifest_needs_overwrite(centre, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "run.json").write_text('{"seed": 0}\n')
    (out / "contacts.parquet").write_bytes(b"an old table")
    before = _snapshot(out)
    res = _run(str(centre), "-n", "1", "--no-log", "--out", str(out))
    assert res.exit_code == 2
    assert "it has no store/manifest.json" in " ".join(res.output.split())
    assert _snapshot(out) == before
    assert _run(str(centre), "-n", "1", "--no-log", "--out", str(out), "--overwrite").exit_code == 0
    assert not (out / "contacts.parquet").exists()
    assert _top_files(out) == NO_LOG_FILES


def test_files_that_are_not_servsims_are_left_alone(centre, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert _run(str(centre), "-n", "1", "--out", str(out)).exit_code == 0  # not servsim output: no conflict
    assert _run(str(centre), "-n", "1", "--seed", "2", "--out", str(out), "--overwrite").exit_code == 0
    assert (out / "notes.txt").read_text() == "mine"
    assert _top_files(out) == RUN_FILES | {"notes.txt"}


def test_a_compare_folder_is_refused_and_overwrite_removes_all_of_it(centre, tmp_path):
    exp = tmp_path / "exp.yaml"
    exp.write_text("name: two\nbase: centre.yaml\nreplications: 2\noptions:\n  base: []\n"
                   "  more: [{set: {path: pools.agents.agents, value: 5}}]\n")
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["compare", str(exp), "--quiet", "--out", str(out)])
    assert res.exit_code == 0, res.output
    before = _snapshot(out)
    assert any(name.startswith("store/batches/") for name in before) and (out / "figures").is_dir()
    res = _run(str(centre), "-n", "1", "--out", str(out))
    assert res.exit_code == 2
    assert "holds the results of an experiment (servsim compare)" in " ".join(res.output.split())
    assert _snapshot(out) == before
    assert _run(str(centre), "-n", "1", "--out", str(out), "--overwrite", report=True).exit_code == 0
    assert _top_files(out) == RUN_FILES | {"report.html"}
    assert not (out / "store" / "batches").exists() and not (out / "experiment.json").exists()
    # the report is the run's own: none of the experiment's figures is left beside it
    assert not (out / "figures" / "comparison.png").exists() and any((out / "figures").glob("*.png"))
    assert "tiny centre" in (out / "report.html").read_text()


def test_claim_checks_again_under_the_lock(centre, tmp_path):
    """Another run's output arriving between the check and the writing is refused, not mixed."""
    scenario = servsim.load_scenario(centre)
    mine = runfolder.run_fields(scenario, 0, 1, True, 0.95)
    other = runfolder.run_fields(scenario, 1, 1, True, 0.95)
    out = tmp_path / "out"
    runfolder.check(out, mine)  # nothing there yet
    with runfolder.claim(out, other):
        (out / "run.json").write_text(json.dumps(other))
    with pytest.raises(runfolder.RunFolderError, match="seed 1 .this run: 0."):
        with runfolder.claim(out, mine):
            raise AssertionError("must not be reached")
    assert json.loads((out / "run.json").read_text())["seed"] == 1
    assert stored_hash(out / "store") is not None
