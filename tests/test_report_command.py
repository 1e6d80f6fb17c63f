"""``--no-figures`` and ``servsim report DIR``: a sweep or comparison writes its tables only, and the
figures (and a comparison's report.html) are drawn afterwards from the stored results — the same
bytes a run with figures writes, with no task simulated again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from servsim.cli import EXIT_BAD_INPUT, app
import test_experiments
import test_sweep


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "centre.yaml").write_text(test_sweep.SCENARIO)
    (tmp_path / "grid.yaml").write_text(test_sweep.GRID)
    (tmp_path / "options_centre.yaml").write_text(test_experiments.SCENARIO)
    (tmp_path / "exp.yaml").write_text(test_experiments.EXPERIMENT.replace("base: centre.yaml",
                                                                          "base: options_centre.yaml"))
    return tmp_path


def invoke(*args: str) -> str:
    res = CliRunner().invoke(app, list(args))
    assert res.exit_code == 0, res.output
    return " ".join(res.output.split())


def pngs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((folder / "figures").glob("*.png"))}


def test_a_sweep_without_figures_then_report_draws_what_a_run_with_figures_draws(files, monkeypatch):
    invoke("sweep", str(files / "grid.yaml"), "--out", str(files / "with"))
    said = invoke("sweep", str(files / "grid.yaml"), "--out", str(files / "later"), "--no-figures")
    later = files / "later"
    assert not pngs(later) and (later / "cells.csv").is_file() and (later / "results.parquet").is_file()
    assert f"servsim report {later}" in said
    assert json.loads((later / "study.json").read_text())["kind"] == "sweep"

    import servsim.experiments.runner as runner

    def no_simulation(*args, **kwargs):
        raise AssertionError("report simulated a task that was stored")

    monkeypatch.setattr(runner, "simulate", no_simulation)
    invoke("report", str(later))
    assert pngs(later) == pngs(files / "with") and len(pngs(later)) == 4
    assert (later / "cells.csv").read_bytes() == (files / "with" / "cells.csv").read_bytes()


def test_a_comparison_without_figures_has_no_stale_report_and_report_redraws_it(files):
    exp, out = str(files / "exp.yaml"), files / "res"
    invoke("compare", exp, "--out", str(out))
    first = (out / "report.html").read_bytes()
    assert pngs(out)
    invoke("compare", exp, "--out", str(out), "--no-figures")
    # a report or figure left by the earlier run would describe it, not this one
    assert not (out / "report.html").exists() and not pngs(out)
    assert (out / "summary.csv").is_file() and (out / "differences.csv").is_file()
    invoke("report", str(out))
    assert (out / "report.html").read_bytes() == first and "day.png" in pngs(out)


def test_report_of_a_changed_study_or_a_foreign_folder_says_so_and_draws_nothing(files):
    invoke("sweep", str(files / "grid.yaml"), "--out", str(files / "o"), "--no-figures")
    (files / "grid.yaml").write_text(test_sweep.GRID.replace("seed: 2", "seed: 5"))
    res = CliRunner().invoke(app, ["report", str(files / "o")])
    text = " ".join(res.output.split())
    assert res.exit_code == EXIT_BAD_INPUT, res.output
    assert "changed since the run" in text and "--overwrite" in text and "Traceback" not in text
    assert not pngs(files / "o")

    (files / "empty").mkdir()
    res = CliRunner().invoke(app, ["report", str(files / "empty")])
    assert res.exit_code == EXIT_BAD_INPUT
    assert "not the output folder of `servsim compare` or `servsim sweep`" in " ".join(res.output.split())
