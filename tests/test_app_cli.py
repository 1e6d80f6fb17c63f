"""``servsim app`` as a command: Shiny stays optional, bad input ends in a message, not a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from typer.testing import CliRunner

from servsim.cli import app
from conftest import ROOT

MMC = ROOT / "scenarios" / "mmc.yaml"


def test_importing_servsim_and_its_cli_never_imports_shiny():
    code = ("import sys, servsim, servsim.cli, servsim.app, servsim.app.runs; "
            "assert 'shiny' not in sys.modules, 'shiny imported'")
    subprocess.run([sys.executable, "-c", code], check=True, env=_env())


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}


def test_app_without_shiny_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "shiny", None)  # import shiny raises ImportError
    res = CliRunner().invoke(app, ["app", str(MMC)])
    assert res.exit_code == 2
    assert "pip install 'servsim[app]'" in res.output
    assert "Traceback" not in res.output


def test_app_refuses_a_bad_scenario_and_a_busy_port(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nchannels: {}\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["app", str(bad)])
    assert res.exit_code == 2 and "is not a valid scenario" in res.output
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        res = CliRunner().invoke(app, ["app", str(MMC), "--port", str(port)])
    assert res.exit_code == 2 and f"cannot serve on 127.0.0.1:{port}" in res.output
