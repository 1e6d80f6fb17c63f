"""``--help`` of every command: readable at 80 columns, and no type after a flag."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from servsim.cli import app
from conftest import ROOT

COMMANDS = [[], ["validate"], ["run"], ["compare"], ["sweep"]]


def _help(command: list[str], columns: int = 80) -> str:
    res = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": str(columns)})
    assert res.exit_code == 0, res.output
    return res.output


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "servsim")
def test_help_shows_no_type_after_a_flag_and_fits_80_columns(command):
    text = _help(command)
    # a flag takes no value: '--json <bool>' read as if it wanted one
    assert "<bool>" not in text and "bool" not in text.lower().replace("boolean", "")
    assert "--help" in text
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    # nothing cut: rich ends a cell that does not fit with an ellipsis
    assert not any("…" in line for line in lines), text


def test_options_that_take_a_value_name_it():
    text = _help(["run"])
    for shown in ("--replications  -n      N", "--out           -o      DIR", "--scheduler             ADDRESS",
                  "--allow-dir             DIR", "--level                 P"):
        assert shown in text, text
    flags = [line for line in text.splitlines() if "--json" in line or "--no-log" in line]
    # a flag's line goes straight from its name to its help
    assert all(line.split("--")[1].split(maxsplit=1)[1].startswith(("Print", "Keep")) for line in flags), flags


def test_python_dash_m_servsim_is_the_servsim_command():
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "COLUMNS": "80"}
    res = subprocess.run([sys.executable, "-m", "servsim", "--help"], env=env, capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stderr
    assert "Usage: servsim [OPTIONS] COMMAND" in res.stdout
