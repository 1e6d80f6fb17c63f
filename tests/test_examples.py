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
    assert overall["offered"] == (overall["handled"] + overall["contained"] + overall["abandoned"]
                                  + overall["balked"] + overall["blocked"] + overall["in_system_end"])
    assert overall["littles_gap"] < 0.01


def test_the_service_delivery_examples_use_what_they_claim():
    """Each realism example exercises its mechanisms (a typo would silently switch one off)."""
    multi = servsim.simulate(servsim.load_scenario(ROOT / "scenarios" / "multichannel_contact_centre.yaml"), seed=1)
    by = multi.summary.set_index("channel")
    assert by.loc["web", "contained"] > 0 and by.loc["phone", "retrials"] > 0
    assert by.loc["phone", "unresolved"] > 0 and by.loc["all", "bot_cost"] > 0
    email = multi.visits[multi.visits["step"] == "reply"]
    assert (email["pool"] == "phone_agents").any() and (email["pool"] == "email_team").any()   # blended
    claims = servsim.simulate(servsim.load_scenario(ROOT / "scenarios" / "claims_rpa.yaml"), seed=1)
    steps = set(claims.visits["step"].astype(str))
    assert {"register@rpa", "approve@rpa", "register", "request_info"} <= steps
    vendor = servsim.simulate(servsim.load_scenario(ROOT / "scenarios" / "vendor_overflow.yaml"), seed=1)
    s = vendor.summary.iloc[0]
    v = vendor.visits
    served_by_vendor = int((v["step"].eq("call@partner") & v["outcome"].eq("served")).sum())
    assert s["outsourced"] > 0 and s["vendor_cost"] == 6.5 * served_by_vendor


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
