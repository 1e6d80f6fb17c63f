"""Every command's terminal output fits 80 columns and never cuts a number.

Each example scenario is run, each example experiment compared and each example sweep swept, with
few replications (and sweeps on fewer values) so the test stays quick; the layouts depend on how
many channels, options, metrics and parameters there are, which the copies keep. The output is read
as a person would: no line longer than 80, no "…", no "±" left at the start or end of a line, and
every number cell of the written tables (summary.csv, cells.csv, the run's KPI table) printed whole
on one line, as :mod:`servsim.report.format` writes it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import servsim
from servsim import cli
from servsim.report import format as fmt
from conftest import ROOT

WIDTH = 80
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
EXPERIMENTS = ["bank_options", "bank_service_options", "vendor_overflow"]
SWEEPS = ["claims_automation_sweep", "utilisation_sweep"]
#: A number as the formatter writes it, with its unit or glued sign.
NUMBER = r"[−+]?[0-9][0-9,]*(?:\.[0-9]+)?(?:%|×)?"
ESTIMATE = re.compile(rf"{NUMBER} ± {NUMBER}")


@pytest.fixture
def narrow(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner whose console is 80 columns wide, whatever terminal the tests run in."""
    monkeypatch.setattr(cli, "out", cli._Console(emoji=False, width=WIDTH, color_system=None))
    return CliRunner(env={"COLUMNS": str(WIDTH)})


def invoke(runner: CliRunner, *args: str) -> str:
    res = runner.invoke(cli.app, list(args))
    assert res.exit_code in (0, cli.EXIT_UNSTABLE), res.output
    return res.stdout


def assert_fits(text: str) -> None:
    lines = text.splitlines()
    assert lines, "no output"
    too_long = [line for line in lines if len(line) > WIDTH]
    assert not too_long, "\n".join(too_long)
    assert "…" not in text, text
    for before, line in zip(["", *lines], lines):
        split = re.search(rf"{NUMBER} ±$", line.rstrip()) or (
            re.search(rf"{NUMBER}$", before.rstrip()) and line.lstrip().startswith("±"))
        assert not split, f"an estimate split over two lines:\n{before}\n{line}"
        for hit in re.finditer(rf"{NUMBER} ±", line):
            assert re.match(rf" {NUMBER}", line[hit.end():]), f"a cut half-width in {line!r}"


def assert_printed_whole(text: str, cells: list[str]) -> None:
    """Every cell (a formatted number) appears on one line of ``text``."""
    lines = text.splitlines()
    missing = [c for c in cells if c and c != fmt.NAN and not any(c in line for line in lines)]
    assert not missing, f"not printed whole: {missing[:5]}\n{text}"


def experiment_copy(name: str, folder: Path, replications: int = 2) -> Path:
    """An example experiment or sweep with fewer replications (and at most two values per swept
    parameter), its base scenario named by absolute path."""
    data = yaml.safe_load((ROOT / "experiments" / f"{name}.yaml").read_text(encoding="utf-8"))
    data["base"] = str((ROOT / "experiments" / data["base"]).resolve())
    data["replications"] = replications
    if "sweep" in data:
        params = data["sweep"]["parameters"]
        data["sweep"]["parameters"] = {p: values[-2:] for p, values in params.items()}
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_run_and_validate_fit_80_columns(narrow: CliRunner, path: Path):
    text = invoke(narrow, "run", str(path), "-n", "2", "--seed", "5")
    assert_fits(text)
    table = servsim.replicate(servsim.load_scenario(path), replications=2, seed=5).kpi_table()
    currency = servsim.load_scenario(path).economics.currency
    cells = [fmt.estimate(r.mean, r.half_width, "share" if str(r.channel).startswith("pool:") else
                          fmt.kind_of(r.metric), currency) for r in table.itertuples()]
    assert ESTIMATE.search(text)
    assert_printed_whole(text, cells)
    lines = text.splitlines()   # and every KPI's label on one line, in full or short
    for metric in dict.fromkeys(table["metric"].where(~table["channel"].astype(str).str.startswith("pool:"),
                                                      "occupancy_" + table["channel"].astype(str).str[5:])):
        names = (fmt.label(metric), fmt.label(metric, short=True))
        assert any(line.startswith(names) for line in lines), f"{names} not on one line:\n{text}"
    assert_fits(invoke(narrow, "validate", str(path)))


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_compare_fits_80_columns(narrow: CliRunner, tmp_path: Path, name: str):
    exp = experiment_copy(name, tmp_path)
    out = tmp_path / "out"
    text = invoke(narrow, "compare", str(exp), "--out", str(out), "--allow-dir", str(ROOT / "scenarios"))
    assert_fits(text)
    summary = pd.read_csv(out / "summary.csv")
    differences = pd.read_csv(out / "differences.csv")
    currency = servsim.load_scenario(yaml.safe_load(exp.read_text())["base"]).economics.currency
    assert_printed_whole(text, [fmt.estimate(r.mean, r.half_width, fmt.kind_of(r.metric), currency)
                                for r in summary.itertuples()])
    assert_printed_whole(text, [fmt.difference(r.diff, fmt.kind_of(r.metric), currency, half_width=r.half_width)
                                for r in differences.itertuples()])
    assert "pp" in text
    assert not re.search(r"[0-9]\.[0-9]{4,}", text), "a raw float (e.g. in an infeasibility line)"


@pytest.mark.parametrize("name", SWEEPS)
def test_sweep_fits_80_columns(narrow: CliRunner, tmp_path: Path, name: str):
    sweep = experiment_copy(name, tmp_path)
    out = tmp_path / "out"
    text = invoke(narrow, "sweep", str(sweep), "--out", str(out), "--allow-dir", str(ROOT / "scenarios"))
    assert_fits(text)
    cells = pd.read_csv(out / "cells.csv")
    metrics = yaml.safe_load(sweep.read_text())["metrics"]
    currency = servsim.load_scenario(yaml.safe_load(sweep.read_text())["base"]).economics.currency
    assert_printed_whole(text, [fmt.estimate(row[m], row[f"{m}_half_width"], fmt.kind_of(m), currency)
                                for _, row in cells.iterrows() for m in metrics])


def test_compare_at_a_wide_console_puts_options_in_rows(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setattr(cli, "out", cli._Console(emoji=False, width=200, color_system=None))
    exp = experiment_copy("vendor_overflow", tmp_path)
    text = invoke(CliRunner(), "compare", str(exp), "--out", str(tmp_path / "out"),
                  "--allow-dir", str(ROOT / "scenarios"))
    header = next(line for line in text.splitlines() if line.startswith("option"))
    assert "service level" in header and "total cost" in header   # metrics across, options down
    assert "Difference from with_vendor" in text
