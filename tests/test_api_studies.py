"""The Python API of compare and sweep: the CLI's own tables and report, from a file or a dict;
``with_changes`` through the experiments' change kinds; short reprs and notebook tables."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import servsim
from servsim import studies
from servsim.cli import app
from servsim.experiments.spec import load_experiment
from servsim.scenario import scenario_hash
from conftest import ROOT, TINY_CENTRE

#: experiments/bank_options.yaml with 2 replications, beside its base: the bank day, four options, seconds.
BANK_OPTIONS = (ROOT / "experiments" / "bank_options.yaml").read_text().replace(
    "replications: 20", "replications: 2").replace("../scenarios/bank_contact_centre.yaml", "bank_contact_centre.yaml")

SWEEP = """\
name: tiny sweep
base: centre.yaml
replications: 2
seed: 3
metrics: [asa_s, service_level]
sweep:
  parameters:
    pools.agents.agents: [3, 4]
    channels.calls.arrivals.rate: [2/min, 3/min]
"""


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the bank scenario and the two-replication bank options, and the CLI's output."""
    folder = tmp_path_factory.mktemp("bank")
    (folder / "experiments").mkdir()
    shutil.copy(ROOT / "scenarios" / "bank_contact_centre.yaml", folder / "experiments")
    (folder / "experiments" / "bank_options.yaml").write_text(BANK_OPTIONS)
    res = CliRunner().invoke(app, ["compare", str(folder / "experiments" / "bank_options.yaml"), "--quiet",
                                   "--out", str(folder / "cli")])
    assert res.exit_code == 0, res.output
    return folder


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path)


def _same(api: pd.DataFrame, cli: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(api.reset_index(drop=True), cli.reset_index(drop=True), check_dtype=False)


def test_compare_gives_the_tables_and_report_of_the_cli(bank, tmp_path):
    c = servsim.compare(bank / "experiments" / "bank_options.yaml")
    cli = bank / "cli"
    _same(c.summary, _csv(cli / "summary.csv"))
    _same(c.differences, _csv(cli / "differences.csv"))
    _same(c.pareto, _csv(cli / "pareto.csv"))
    _same(c.results, pd.read_parquet(cli / "results.parquet"))
    assert c.choice == c.selection.best and c.out is None
    # the same HTML report, byte for byte
    page = c.report(tmp_path / "bank.html")
    assert page.read_bytes() == (cli / "report.html").read_bytes()


def test_compare_of_a_dict_equals_compare_of_its_file(bank):
    import yaml

    data = yaml.safe_load(BANK_OPTIONS)
    from_dict = servsim.compare(data, base_dir=bank / "experiments")
    _same(from_dict.summary, _csv(bank / "cli" / "summary.csv"))
    _same(from_dict.differences, _csv(bank / "cli" / "differences.csv"))


def test_compare_with_out_writes_the_cli_files_and_resumes(bank, tmp_path):
    out = tmp_path / "out"
    c = servsim.compare(bank / "experiments" / "bank_options.yaml", out=out)
    for name in ("summary.csv", "differences.csv", "pareto.csv", "results.parquet", "report.html",
                 "experiment.json", "figures/comparison.png"):
        assert (out / name).is_file(), name
    assert (out / "summary.csv").read_bytes() == (bank / "cli" / "summary.csv").read_bytes()
    # called again, every task comes from the store
    seen: list[int] = []
    again = servsim.compare(bank / "experiments" / "bank_options.yaml", out=out, progress=seen.append)
    assert sum(seen) == len(c.results)
    _same(again.summary, c.summary)


def test_replications_and_seed_replace_the_files(bank):
    c = servsim.compare(bank / "experiments" / "bank_options.yaml", replications=3, seed=5)
    assert sorted(c.results["replication"].unique()) == [0, 1, 2]
    assert c.experiment.spec.seed == 5 and c.experiment.spec.replications == 3
    with pytest.raises(servsim.ScenarioError, match="replications"):
        servsim.compare(bank / "experiments" / "bank_options.yaml", replications=0)


def test_the_cli_compare_goes_through_the_api(bank, tmp_path, monkeypatch):
    calls = []
    real = studies.compare

    def spy(*args: object, **kwargs: object) -> studies.ComparisonResult:
        calls.append(kwargs)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(studies, "compare", spy)
    res = CliRunner().invoke(app, ["compare", str(bank / "experiments" / "bank_options.yaml"), "--quiet",
                                   "--out", str(tmp_path / "out"), "--level", "0.9"])
    assert res.exit_code == 0, res.output
    assert len(calls) == 1 and calls[0]["level"] == 0.9 and calls[0]["out"] == tmp_path / "out"


@pytest.fixture
def sweep_file(tmp_path: Path) -> Path:
    (tmp_path / "centre.yaml").write_text(TINY_CENTRE)
    (tmp_path / "sweep.yaml").write_text(SWEEP)
    return tmp_path / "sweep.yaml"


def test_sweep_gives_the_tables_of_the_cli(sweep_file, tmp_path):
    res = CliRunner().invoke(app, ["sweep", str(sweep_file), "--quiet", "--out", str(tmp_path / "cli")])
    assert res.exit_code == 0, res.output
    s = servsim.sweep(sweep_file)
    _same(s.cells, _csv(tmp_path / "cli" / "cells.csv"))
    _same(s.results, pd.read_parquet(tmp_path / "cli" / "results.parquet"))
    # the long summary holds the same numbers, one row per cell and metric
    long = s.summary
    assert len(long) == len(s.cells) * 2 and list(long.columns[-4:]) == ["metric", "mean", "half_width",
                                                                          "replications"]
    asa = long[long["metric"] == "asa_s"].reset_index(drop=True)
    assert asa["mean"].tolist() == s.cells["asa_s"].tolist()
    assert asa["half_width"].tolist() == s.cells["asa_s_half_width"].tolist()
    # the report is the folder the CLI writes
    folder = s.report(tmp_path / "api")
    assert (folder / "cells.csv").read_bytes() == (tmp_path / "cli" / "cells.csv").read_bytes()
    assert {p.name for p in (folder / "figures").iterdir()} == {p.name for p in (tmp_path / "cli" / "figures").iterdir()}


def test_sweep_of_a_dict(sweep_file):
    import yaml

    from_dict = servsim.sweep(yaml.safe_load(SWEEP), base_dir=sweep_file.parent, replications=1)
    assert len(from_dict.results) == 4 and set(from_dict.results["replication"]) == {0}


def test_with_changes_is_the_experiments_option(bank):
    exp = load_experiment(bank / "experiments" / "bank_options.yaml")
    base = bank / "experiments" / "bank_contact_centre.yaml"
    option = exp.spec.options["midday_boost"]
    changed = servsim.with_changes(base, [c.model_dump(exclude_none=True) for c in option])
    assert scenario_hash(changed) == scenario_hash(exp.scenarios["midday_boost"])
    # one change alone, in the file's own form
    faster = servsim.with_changes(base, {"set": {"path": "steps.follow_up.handle_time.mean", "value": "6min"}})
    assert scenario_hash(faster) == scenario_hash(exp.scenarios["faster_follow_up"])
    # a dict of scenario fields works as the file does
    import yaml

    data = yaml.safe_load(base.read_text())
    assert scenario_hash(servsim.with_changes(data, {"scale": {"path": "pools.tellers.schedule", "factor": 1.1}},
                                              base_dir=base.parent)) == scenario_hash(exp.scenarios["plus_10_percent"])


def test_with_changes_names_the_change_that_does_not_apply(bank):
    base = bank / "experiments" / "bank_contact_centre.yaml"
    with pytest.raises(servsim.ScenarioError) as err:
        servsim.with_changes(base, [{"scale": {"path": "pools.tellers.schedule", "factor": 1.1}},
                                    {"set": {"path": "pools.teller.agents", "value": 3}}])
    text = str(err.value)
    assert "changes.1" in text and "teller" in text and "tellers" in text  # names it and suggests the right one
    with pytest.raises(servsim.ScenarioError, match="changes.0"):
        servsim.with_changes(base, [{"sett": {"path": "x", "value": 1}}])
    with pytest.raises(servsim.ScenarioError, match="changed.*schedule"):  # the changed scenario is validated
        servsim.with_changes(base, [{"set": {"path": "pools.tellers.schedule[0]", "value": -1}}])
    with pytest.raises(TypeError, match="file or its fields"):
        servsim.with_changes(servsim.load_scenario(base), [])


def test_every_result_object_has_a_short_repr(bank, sweep_file):
    c = servsim.compare(bank / "experiments" / "bank_options.yaml")
    s = servsim.sweep(sweep_file)
    r = servsim.replicate(servsim.load_scenario(bank / "experiments" / "bank_contact_centre.yaml"), replications=3)
    for obj in (c, s, r, r.runs[0]):
        text = repr(obj)
        assert len(text) < 1000, (type(obj).__name__, len(text))
        assert "\n" not in text and text.startswith(f"<{type(obj).__name__} ")
    assert "4 options" in repr(c) and "baseline 'today'" in repr(c) and ".report(path)" in repr(c)
    assert "4 cells" in repr(s) and "2 replications" in repr(s)
    assert "3 replications" in repr(r) and "stable" in repr(r)


def test_a_repr_stays_short_with_many_options(tmp_path):
    (tmp_path / "centre.yaml").write_text(TINY_CENTRE)
    options = "".join(f"  option_with_a_long_name_{i:03d}: [{{set: {{path: pools.agents.agents, value: {5 + i % 3}}}}}]\n"
                      for i in range(40))
    (tmp_path / "exp.yaml").write_text(f"name: many\nbase: centre.yaml\nreplications: 2\noptions:\n  base: []\n{options}")
    c = servsim.compare(tmp_path / "exp.yaml", replications=2)
    assert len(repr(c)) < 1000 and "and 33 more" in repr(c)
    page = c._repr_html_()
    assert page.count("</th><td>") == 20 and "21 more options in .summary" in page


def test_notebooks_get_a_compact_html_table(bank, sweep_file):
    c = servsim.compare(bank / "experiments" / "bank_options.yaml")
    page = c._repr_html_()
    assert page.startswith("<table><caption>") and page.endswith("</table>")
    for option in ("today (baseline)", "midday_boost", "plus_10_percent", "faster_follow_up"):
        assert f"<th>{option}</th>" in page
    assert "service level" in page and "±" in page and len(page) < 5000
    s = servsim.sweep(sweep_file)
    page = s._repr_html_()
    assert page.count("<tr><td>") == 4 and "pools.agents.agents" in page


def test_html_escapes_names(tmp_path):
    (tmp_path / "centre.yaml").write_text(TINY_CENTRE)
    (tmp_path / "exp.yaml").write_text('name: "<b>bold</b> & co"\nbase: centre.yaml\nreplications: 2\n'
                                       "options:\n  a: []\n  b: [{set: {path: pools.agents.agents, value: 5}}]\n")
    page = servsim.compare(tmp_path / "exp.yaml")._repr_html_()
    assert "<b>" not in page and "&lt;b&gt;bold&lt;/b&gt; &amp; co" in page
