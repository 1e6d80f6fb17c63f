"""The file policy: which files a scenario, experiment or sweep may make servsim read.

Files named by files (trace and empirical CSVs, an experiment's ``base`` and ``patch`` files) must
resolve — links and ``..`` followed — inside a root (the working directory, the top-level file's
folder, ``SERVSIM_ALLOW_DIRS``, or the explicit ``roots=`` of a library call), never under ``/proc``,
``/sys`` or ``/dev``, and be regular files; the top-level file must be a regular file. Every refusal
is located at the field that names the file and says what would be valid.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import servsim
from servsim.experiments.spec import load_experiment
from servsim.experiments.sweep import load_sweep
from servsim.scenario import ScenarioError

SCENARIO = """\
name: policy
horizon: {start: "08:00", end: "09:00", interval: 30min}
channels:
  calls:
    arrivals: {rate: 1/min}
    entry: answer
pools:
  agents: {agents: 2, skills: {answer: 1.0}}
steps:
  answer:
    handle_time: {dist: exponential, mean: 1min}
"""
TRACE = SCENARIO.replace("{rate: 1/min}", "{trace: {file: 'FILE'}}")
EMPIRICAL = SCENARIO.replace("{dist: exponential, mean: 1min}", "{dist: empirical, file: 'FILE'}")
EXPERIMENT = """\
name: e
base: 'BASE'
replications: 2
options:
  today: []
  patched: [{patch: 'PATCH'}]
"""
SWEEP = """\
name: s
base: 'BASE'
replications: 2
sweep:
  parameters:
    pools.agents.agents: [2, 3]
"""
SECRET = "root:x:0:0:root:/root:/bin/bash\nsecret-token-1234567890\n"


@pytest.fixture
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """``root/`` (the working directory) holding a scenario folder, and ``outside/`` beside it
    holding a secret file and a valid CSV; ``SERVSIM_ALLOW_DIRS`` unset."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "scen").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.csv").write_text(SECRET)
    (outside / "good.csv").write_text("time,h\n08:10,30\n08:20,60\n")
    (outside / "base.yaml").write_text(SCENARIO)
    (outside / "patch.yaml").write_text("name: patched\n")
    (root / "scen" / "good.csv").write_text("time,h\n08:10,30\n08:20,60\n")
    (root / "scen" / "base.yaml").write_text(SCENARIO)
    (root / "scen" / "patch.yaml").write_text("name: patched\n")
    monkeypatch.chdir(root)
    monkeypatch.delenv("SERVSIM_ALLOW_DIRS", raising=False)
    return {"root": root, "scen": root / "scen", "outside": outside}


def _scenario(folder: Path, template: str, file: str) -> Path:
    path = folder / "s.yaml"
    path.write_text(template.replace("FILE", file))
    return path


def _refusal(call, *args, **kwargs) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        call(*args, **kwargs)
    return info.value


def _no_content(exc: ScenarioError) -> None:
    text = str(exc)
    assert "root:x:0:0" not in text and "secret-token" not in text, text


# --------------------------------------------------------------------------- outside the roots


def _hostile_names(layout: dict[str, Path]) -> dict[str, str]:
    scen, outside = layout["scen"], layout["outside"]
    (scen / "link.csv").symlink_to(outside / "secret.csv")
    (scen / "dirlink").symlink_to(outside, target_is_directory=True)
    return {
        "dotdot": "../../outside/secret.csv",
        "absolute": str(outside / "secret.csv"),
        "link-out": "link.csv",
        "dir-link-out": "dirlink/secret.csv",
        "dotdot-in-then-out": "../scen/../../outside/good.csv",
    }


@pytest.mark.parametrize("template,field", [(TRACE, "channels.calls.arrivals.trace"),
                                            (EMPIRICAL, "steps.answer.handle_time")], ids=["trace", "empirical"])
def test_scenario_files_outside_the_roots_are_refused_at_the_field(layout, template, field) -> None:
    for kind, name in _hostile_names(layout).items():
        path = _scenario(layout["scen"], template, name)
        exc = _refusal(servsim.load_scenario, path)
        (problem,) = exc.problems
        assert problem.field == field and problem.line is not None, (kind, str(exc))
        assert "outside the folders servsim may read" in problem.message, (kind, str(exc))
        assert "SERVSIM_ALLOW_DIRS" in problem.message and str(layout["root"]) in problem.message
        _no_content(exc)


def test_an_outside_file_is_refused_without_saying_whether_it_exists(layout) -> None:
    path = _scenario(layout["scen"], TRACE, "../../outside/no-such-file.csv")
    exists = _scenario(layout["scen"], TRACE, "../../outside/good.csv").read_text()
    missing_msg = str(_refusal(servsim.load_scenario, path))
    path.write_text(exists)
    present_msg = str(_refusal(servsim.load_scenario, path))
    assert missing_msg.replace("no-such-file", "good") == present_msg


@pytest.mark.parametrize("target", ["/proc/self/environ", "/proc/self/status", "/dev/zero", "/dev/urandom",
                                    "/sys/kernel/mm/transparent_hugepage/enabled"])
def test_pseudo_files_are_refused_even_inside_a_root(layout, monkeypatch, target) -> None:
    monkeypatch.setenv("SERVSIM_ALLOW_DIRS", "/")
    path = _scenario(layout["scen"], EMPIRICAL, target)
    exc = _refusal(servsim.load_scenario, path)
    (problem,) = exc.problems
    assert problem.field == "steps.answer.handle_time"
    assert "servsim never reads" in problem.message, str(exc)
    # and linked to from inside the scenario's folder
    (layout["scen"] / "innocent.csv").symlink_to(target)
    exc = _refusal(servsim.load_scenario, _scenario(layout["scen"], EMPIRICAL, "innocent.csv"))
    assert "servsim never reads" in str(exc), str(exc)


def test_inside_the_roots_links_and_dotdot_are_followed(layout) -> None:
    scen = layout["scen"]
    (scen / "alias.csv").symlink_to(scen / "good.csv")
    for name in ("good.csv", "alias.csv", "../scen/good.csv", str(scen / "good.csv")):
        s = servsim.load_scenario(_scenario(scen, TRACE, name))
        assert len(s.channels["calls"].arrivals.trace.times) == 2


def test_the_scenario_folder_is_a_root_from_any_working_directory(layout, monkeypatch) -> None:
    path = _scenario(layout["outside"], TRACE, "good.csv")
    assert len(servsim.load_scenario(path).channels["calls"].arrivals.trace.times) == 2   # cwd is root/


def test_allow_dirs_admits_more_folders(layout, monkeypatch) -> None:
    path = _scenario(layout["scen"], TRACE, "../../outside/good.csv")
    _refusal(servsim.load_scenario, path)
    monkeypatch.setenv("SERVSIM_ALLOW_DIRS", os.pathsep.join(["/nonexistent", str(layout["outside"])]))
    assert len(servsim.load_scenario(path).channels["calls"].arrivals.trace.times) == 2


def test_explicit_roots_are_the_only_roots(layout, monkeypatch) -> None:
    """A later app passes its one upload folder: neither the working directory nor the environment
    widens it, and the top-level file must be inside it too."""
    scen, root = layout["scen"], layout["root"]
    (root / "beside.csv").write_text("time\n08:10\n")
    monkeypatch.setenv("SERVSIM_ALLOW_DIRS", str(root))
    path = _scenario(scen, TRACE, "../beside.csv")      # inside the working directory and the env
    exc = _refusal(servsim.load_scenario, path, roots=[scen])
    assert "outside the folders" in str(exc) and str(root) + "," not in str(exc)
    assert len(servsim.load_scenario(_scenario(scen, TRACE, "good.csv"), roots=[scen])
               .channels["calls"].arrivals.trace.times) == 2
    exc = _refusal(servsim.load_scenario, _scenario(layout["outside"], SCENARIO, ""), roots=[scen])
    assert exc.problems[0].field == "(file)" and "outside the folders" in str(exc)


# --------------------------------------------------------------------------- experiments and sweeps


def _experiment(folder: Path, base: str, patch: str = "patch.yaml") -> Path:
    path = folder / "e.yaml"
    path.write_text(EXPERIMENT.replace("BASE", base).replace("PATCH", patch))
    return path


def test_experiment_base_and_patch_files_follow_the_policy(layout) -> None:
    scen, outside = layout["scen"], layout["outside"]
    assert load_experiment(_experiment(scen, "base.yaml")).options == ["today", "patched"]
    for base in ("../../outside/base.yaml", str(outside / "base.yaml"), "/proc/self/environ"):
        exc = _refusal(load_experiment, _experiment(scen, base))
        assert exc.problems[0].field == "base" and exc.problems[0].line == 2, str(exc)
        assert "outside the folders" in str(exc) or "never reads" in str(exc), str(exc)
    (scen / "patch-link.yaml").symlink_to(outside / "secret.csv")
    for patch in ("../../outside/patch.yaml", "patch-link.yaml", "/dev/zero"):
        exc = _refusal(load_experiment, _experiment(scen, "base.yaml", patch))
        assert exc.problems[0].field == "options.patched.0" and exc.problems[0].line == 6, str(exc)
        _no_content(exc)
    sweep = scen / "sw.yaml"
    sweep.write_text(SWEEP.replace("BASE", "../../outside/base.yaml"))
    exc = _refusal(load_sweep, sweep)
    assert exc.problems[0].field == "base" and "outside the folders" in str(exc)


def test_the_examples_base_paths_work_from_the_repository_root(monkeypatch) -> None:
    root = Path(__file__).resolve().parent.parent
    monkeypatch.chdir(root)
    monkeypatch.delenv("SERVSIM_ALLOW_DIRS", raising=False)
    assert load_experiment(Path("experiments/bank_options.yaml")).options


def test_a_trace_named_by_the_base_scenario_follows_the_experiments_policy(layout) -> None:
    scen = layout["scen"]
    (scen / "base.yaml").write_text(TRACE.replace("FILE", "../../outside/good.csv"))
    exc = _refusal(load_experiment, _experiment(scen, "base.yaml"))
    assert exc.problems[0].field == "base" and "outside the folders" in str(exc), str(exc)


# --------------------------------------------------------------------------- only regular files


def test_a_directory_is_named_as_such_not_missing(layout) -> None:
    (layout["scen"] / "folder.csv").mkdir()
    exc = _refusal(servsim.load_scenario, _scenario(layout["scen"], TRACE, "folder.csv"))
    assert "is a directory" in str(exc) and "does not exist" not in str(exc), str(exc)
    exc = _refusal(servsim.load_scenario, layout["scen"])
    assert exc.problems[0].field == "(file)" and "is a directory" in str(exc), str(exc)


def _servsim(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The CLI in a fresh interpreter: a read that blocks fails the timeout instead of the suite."""
    return subprocess.run([sys.executable, "-m", "servsim.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "COLUMNS": "300"})


def test_fifos_are_refused_without_blocking(layout) -> None:
    scen = layout["scen"]
    os.mkfifo(scen / "pipe.yaml")
    os.mkfifo(scen / "pipe.csv")
    res = _servsim(["validate", "scen/pipe.yaml"], layout["root"])
    assert res.returncode == 2 and "named pipe (FIFO)" in res.stderr, res.stderr
    _scenario(scen, TRACE, "pipe.csv")
    res = _servsim(["validate", "scen/s.yaml"], layout["root"])
    assert res.returncode == 2 and "channels.calls.arrivals.trace" in res.stderr and "FIFO" in res.stderr, res.stderr
    _experiment(scen, "base.yaml", "pipe.yaml")
    res = _servsim(["compare", "scen/e.yaml", "-o", "out", "-q"], layout["root"])
    assert res.returncode == 2 and "options.patched.0" in res.stderr and "FIFO" in res.stderr, res.stderr
    _experiment(scen, "pipe.yaml")
    res = _servsim(["compare", "scen/e.yaml", "-o", "out", "-q"], layout["root"])
    assert res.returncode == 2 and "base" in res.stderr and "FIFO" in res.stderr, res.stderr


def test_devices_are_refused_by_what_they_are(layout) -> None:
    exc = _refusal(servsim.load_scenario, Path("/dev/null"))
    assert exc.problems[0].field == "(file)" and "never reads" in str(exc), str(exc)


def test_the_top_level_file_may_be_anywhere_the_user_can_read(layout) -> None:
    outside = layout["outside"]
    assert servsim.load_scenario(outside / "base.yaml").name == "policy"   # cwd is root/, the file is not



def test_the_command_line_allows_another_folder_with_allow_dir(tmp_path, monkeypatch) -> None:
    """An experiment whose base is ``../scenarios/...`` run from another working directory is refused
    (its base is outside the working directory and the experiment's folder) and runs with
    ``--allow-dir`` naming the scenarios' folder."""
    from typer.testing import CliRunner

    from servsim.cli import app

    (tmp_path / "scenarios").mkdir()
    (tmp_path / "experiments").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "scenarios" / "tiny.yaml").write_text(SCENARIO, encoding="utf-8")
    experiment = tmp_path / "experiments" / "x.yaml"
    experiment.write_text(EXPERIMENT.replace("BASE", "../scenarios/tiny.yaml")
                          .replace("[{patch: 'PATCH'}]", "[{set: {path: pools.agents.agents, value: 3}}]"), encoding="utf-8")
    monkeypatch.chdir(tmp_path / "elsewhere")
    out = tmp_path / "elsewhere" / "out"
    refused = CliRunner().invoke(app, ["compare", str(experiment), "--out", str(out), "-q"])
    assert refused.exit_code == 2, refused.output
    assert "outside the folders servsim may read" in " ".join(refused.output.split())
    assert not (out / "store").exists()
    allowed = CliRunner().invoke(app, ["compare", str(experiment), "--out", str(out), "-q",
                                       "--allow-dir", str(tmp_path / "scenarios")])
    assert allowed.exit_code == 0, allowed.output
