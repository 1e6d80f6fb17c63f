"""Documentation that runs: every example scenario, and the README's Python code."""

from __future__ import annotations

import os
import re

import pytest

import servsim
from conftest import ROOT

SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_example_scenario_runs_and_is_stable(path):
    s = servsim.load_scenario(path)
    r = servsim.simulate(s, seed=1)
    assert not r.stopped and not r.load.unstable
    overall = r.summary.iloc[0]
    assert overall["offered"] > 0
    assert overall["offered"] == overall["handled"] + overall["abandoned"] + overall["in_system_end"]
    assert overall["littles_gap"] < 0.01


def test_readme_python_blocks_run(monkeypatch):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "the README should show the Python API"
    monkeypatch.chdir(ROOT)
    for code in blocks:
        exec(compile(code, "README.md", "exec"), {"__name__": "readme"})


def test_readme_names_the_ci_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "python -m pytest -q" in readme and "python -m pytest -q" in ci
    assert os.access(ROOT / ".ci" / "run", os.X_OK)
