"""Start-up: what ``import servsim``, ``servsim --help`` and a first simulation load.

Heavy libraries are imported where they are used (scipy for confidence intervals and theory,
matplotlib for figures, Dask for clusters), so a command that needs none of them starts without
them. Each check runs in a fresh interpreter and reads ``sys.modules``: no timing is asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ROOT

HEAVY = ("scipy", "matplotlib", "distributed", "dask", "jinja2")


def loaded_after(code: str) -> set[str]:
    """Top-level packages in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                          cwd=ROOT, env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"})
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_import_servsim_loads_none_of_the_heavy_libraries_and_not_pandas():
    loaded = loaded_after("import servsim")
    assert not loaded & {*HEAVY, "pandas", "pydantic", "simpy"}, loaded


def test_help_loads_the_command_line_only():
    code = ("import sys\nsys.argv = ['servsim', '--help']\nfrom servsim.cli import app\n"
            "try:\n    app()\nexcept SystemExit:\n    pass")
    loaded = loaded_after(code)
    assert "typer" in loaded
    assert not loaded & {*HEAVY, "pandas", "pydantic", "numpy"}, loaded


@pytest.mark.parametrize("name", ["simulate", "load_scenario", "Scenario"])
def test_the_public_names_load_on_first_use_without_scipy(name):
    loaded = loaded_after(f"import servsim\nservsim.{name}")
    assert not loaded & set(HEAVY), loaded


def test_a_simulation_needs_no_scipy_until_a_confidence_interval():
    code = ("import servsim\ns = servsim.load_scenario('scenarios/mmc.yaml')\n"
            "r = servsim.replicate(s, replications=2, seed=1)\nr.summary")
    assert "scipy" not in loaded_after(code)
    assert "scipy" in loaded_after(code + "\nr.kpi_table()")  # the Student-t quantile


def test_lazy_names_are_the_documented_ones_and_submodules_still_resolve():
    import servsim

    assert set(servsim.__all__) >= {"simulate", "replicate", "load_scenario", "compare", "sweep", "__version__"}
    assert callable(servsim.simulate) and servsim.simulate is servsim.api.simulate
    assert 0 < servsim.theory.erlang_c(10, 9.0) < 1  # a submodule after a bare import
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        servsim.nope  # noqa: B018
