"""A file of one kind given to the command for another says which command runs it, in two lines;
``servsim validate`` checks scenario, experiment and sweep files alike."""

from __future__ import annotations

import shlex

import pytest
from typer.testing import CliRunner

from servsim.cli import EXIT_BAD_INPUT, app
from servsim.experiments.spec import file_kind
from conftest import ROOT

SCENARIO = ROOT / "scenarios" / "mmc.yaml"
EXPERIMENT = ROOT / "experiments" / "bank_options.yaml"
SWEEP = ROOT / "experiments" / "utilisation_sweep.yaml"
FILES = {"scenario": SCENARIO, "experiment": EXPERIMENT, "sweep": SWEEP}
COMMAND = {"scenario": "run", "experiment": "compare", "sweep": "sweep"}


def _cli(*args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


@pytest.mark.parametrize(("given", "kind"), [(c, k) for c in COMMAND.values() for k in FILES if COMMAND[k] != c])
def test_a_file_of_another_kind_names_the_command_that_runs_it(given, kind, tmp_path):
    res = _cli(given, str(FILES[kind]), "--out", str(tmp_path / "out"))
    assert res.exit_code == EXIT_BAD_INPUT == 2
    lines = res.output.strip().splitlines()
    assert len(lines) == 2, res.output  # not a screenful of fields that belong to the other kind
    assert "unknown field" not in res.output and "required field" not in res.output
    assert f"is {'an' if kind == 'experiment' else 'a'} {kind}" in lines[0]
    assert f"run it with: servsim {COMMAND[kind]} {shlex.quote(str(FILES[kind]))}" in lines[1]
    assert not (tmp_path / "out").exists()  # refused before anything is written


def test_a_broken_file_of_the_right_kind_still_gets_its_own_problems(write):
    bad = write("bad.yaml", """\
        name: broken
        base: ../nowhere.yaml
        options:
          today: []
    """)
    res = _cli("compare", str(bad))
    assert res.exit_code == 2
    assert "is not a valid experiment" in res.output and "run it with" not in res.output
    # and run given it points to compare, where those problems are told
    res = _cli("run", str(bad))
    assert res.exit_code == 2 and "run it with: servsim compare" in res.output


@pytest.mark.parametrize(("text", "kind"), [
    ("name: x\nchannels: {}\npools: {}\nsteps: {}\n", "scenario"),
    ("name: x\nbase: s.yaml\noptions: {a: []}\n", "experiment"),
    ("name: x\nbase: s.yaml\nsweep: {parameters: {a: [1]}}\n", "sweep"),
    ("name: x\nbase: s.yaml\nchannels: {}\noptions: {a: []}\n", None),   # mixes kinds: its own validation tells
    ("name: x\noptions: {}\nsweep: {}\n", None),
    ("- a list\n", None),
    ("key: [unclosed\n", None),
])
def test_file_kind_reads_the_top_level_keys(write, text, kind):
    assert file_kind(write("f.yaml", text)) == kind


def test_file_kind_of_a_missing_file_is_unknown(tmp_path):
    assert file_kind(tmp_path / "missing.yaml") is None


def test_validate_checks_an_experiment_file_and_says_what_it_is():
    res = _cli("validate", str(EXPERIMENT))
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "is a valid experiment file; run it with: servsim compare" in text
    for words in ("base scenario: ../scenarios/bank_contact_centre.yaml", "4 option(s) × 20 replication(s)",
                  "midday_boost: add_agents", "baseline 'today'", "objective: minimize paid_hours"):
        assert words in text, words


def test_validate_checks_a_sweep_file_and_says_what_it_is():
    res = _cli("validate", str(SWEEP))
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "is a valid sweep file; run it with: servsim sweep" in text
    assert "design: grid, 18 cell(s) × 10 replication(s) = 180 tasks" in text
    assert "pools.agents.agents: 10, 11" in text


def test_validate_a_scenario_says_it_is_one():
    res = _cli("validate", str(SCENARIO))
    assert res.exit_code == 0
    assert "is a valid scenario; run it with: servsim run" in " ".join(res.output.split())


def test_validate_finds_problems_in_an_experiments_base_and_options(write, tmp_path):
    (tmp_path / "s.yaml").write_text(SCENARIO.read_text().replace("agents: 10", "agents: ten"))
    broken_base = write("exp.yaml", "name: x\nbase: s.yaml\noptions:\n  a: []\n")
    res = _cli("validate", str(broken_base))
    assert res.exit_code == 2
    assert "is not a valid experiment" in res.output and "the base scenario 's.yaml' is not valid" in res.output
    (tmp_path / "s.yaml").write_text(SCENARIO.read_text())
    broken_option = write("exp2.yaml", "name: x\nbase: s.yaml\noptions:\n  a: []\n"
                                       "  b: [{set: {path: pools.agents.agents, value: -3}}]\n")
    res = _cli("validate", str(broken_option))
    assert res.exit_code == 2
    assert "options.b" in res.output and "the changed scenario is not valid" in res.output


def test_validate_a_sweep_checks_every_cell(write, tmp_path):
    (tmp_path / "s.yaml").write_text(SCENARIO.read_text())
    sweep = write("sw.yaml", "name: x\nbase: s.yaml\nsweep:\n  parameters:\n    pools.agents.agents: [10, -1]\n")
    res = _cli("validate", str(sweep))
    assert res.exit_code == 2
    assert "is not a valid sweep" in res.output and "cell 1" in res.output
