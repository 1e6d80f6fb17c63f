"""Smaller input defects: strict counts, one spelling per sweep field, ASCII digits, size bounds
checked at load, finite constraint bounds, and what messages may repeat of a file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import servsim
from servsim.experiments import sweep as sweep_module
from servsim.experiments.spec import load_experiment
from servsim.experiments.sweep import load_sweep
from servsim.scenario import ScenarioError
from servsim.scenario.errors import MAX_PROBLEMS, Problem, quoted
from servsim.units import parse_clock, parse_duration, parse_rate

SCENARIO = """\
name: hardening
horizon: {start: "08:00", end: "09:00", interval: 30min}
channels:
  calls:
    arrivals: {rate: 1/min}
    entry: answer
pools:
  agents: {agents: 2, schedule: [2, 2], skills: {answer: 1.0}}
steps:
  answer:
    handle_time: {dist: exponential, mean: 1min}
"""
EXPERIMENT = """\
name: e
base: base.yaml
replications: 2
seed: 1
options:
  today: []
  more: [{set: {path: pools.agents.agents, value: 3}}]
"""
SWEEP = """\
name: s
base: base.yaml
replications: 2
seed: 1
sweep:
  parameters:
    pools.agents.agents: [2, 3]
"""


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "base.yaml").write_text(SCENARIO)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _refused(load, path: Path) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load(path)
    return info.value


def _file(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- strict whole numbers


@pytest.mark.parametrize("field,value", [("replications", "true"), ("replications", '"2"'), ("seed", "true"),
                                         ("seed", '"1"'), ("replications", "2.0")])
@pytest.mark.parametrize("kind", ["experiment", "sweep"])
def test_replications_and_seed_are_whole_numbers_written_as_such(folder, kind, field, value) -> None:
    text, load = (EXPERIMENT, load_experiment) if kind == "experiment" else (SWEEP, load_sweep)
    text = re.sub(rf"^{field}: .*$", f"{field}: {value}", text, flags=re.M)
    exc = _refused(load, _file(folder, f"{kind}.yaml", text))
    assert [p.field for p in exc.problems] == [field], str(exc)
    assert exc.problems[0].line == (3 if field == "replications" else 4)


@pytest.mark.parametrize("change", ["{scale: {path: pools.agents.agents, factor: true}}",
                                    "{scale: {path: pools.agents.agents, factor: '2'}}",
                                    "{add_agents: {pool: agents, count: true}}",
                                    "{add_agents: {pool: agents, count: '1'}}"])
def test_change_numbers_are_not_booleans_or_text(folder, change) -> None:
    text = EXPERIMENT.replace("[{set: {path: pools.agents.agents, value: 3}}]", f"[{change}]")
    exc = _refused(load_experiment, _file(folder, "e.yaml", text))
    assert all(p.field.startswith("options.more") for p in exc.problems), str(exc)


def test_sweep_counts_are_strict(folder) -> None:
    for extra in ("  design: lhs\n  samples: '3'\n",
                  "  stop: {metric: asa_s, rel_precision: 0.1, max_replications: true}\n"):
        text = SWEEP.replace("sweep:\n", "sweep:\n" + extra)
        if "lhs" in extra:
            text = text.replace("[2, 3]", "{low: 2, high: 3}")
        exc = _refused(load_sweep, _file(folder, "s.yaml", text))
        assert all(p.field.startswith("sweep.") for p in exc.problems), str(exc)


# --------------------------------------------------------------------------- one spelling per field


@pytest.mark.parametrize("first,second", [
    ("pools.agents.agents", 'pools["agents"].agents'),
    ("pools.agents.agents", "pools['agents']['agents']"),
    ("pools.agents.schedule[1]", "pools.agents.schedule.1"),
    ("pools.agents.agents", "' pools.agents.agents'"),
])
def test_the_same_sweep_field_written_two_ways_is_refused(folder, first, second) -> None:
    text = SWEEP.replace("    pools.agents.agents: [2, 3]\n", f"    {first}: [2, 3]\n    {second}: [4, 5]\n")
    exc = _refused(load_sweep, _file(folder, "s.yaml", text))
    (problem,) = exc.problems
    assert problem.line == 8 and "names the same field as" in problem.message, str(exc)


# --------------------------------------------------------------------------- ASCII digits only


NON_ASCII = ["٣min", "３s", "١٠/min", "२h", "5٫5min"]


@pytest.mark.parametrize("text", NON_ASCII)
def test_durations_and_rates_with_non_ascii_digits_are_refused(text) -> None:
    parse = parse_rate if "/" in text else parse_duration
    with pytest.raises(ValueError, match="0-9|not a"):
        parse(text)


@pytest.mark.parametrize("text", ["٠٨:٣٠", "０８:30", "08:３0", "8:30:٣٠"])
def test_clock_times_with_non_ascii_digits_are_refused(text) -> None:
    with pytest.raises(ValueError, match="digits as 0-9"):
        parse_clock(text)


def test_a_scenario_with_non_ascii_digits_is_refused_at_the_field(folder) -> None:
    exc = _refused(servsim.load_scenario, _file(folder, "s.yaml", SCENARIO.replace("mean: 1min", "mean: ١min")))
    (problem,) = exc.problems
    assert problem.field == "steps.answer.handle_time.mean" and problem.line == 11
    assert "0-9" in problem.message, str(exc)


@pytest.mark.parametrize("cell", ["٣٠", "３０", "1_000", "３e1"])
def test_csv_numbers_with_non_ascii_digits_are_refused_with_the_line(folder, cell) -> None:
    _file(folder, "h.csv", f"h\n30\n{cell}\n")
    text = SCENARIO.replace("{dist: exponential, mean: 1min}", "{dist: empirical, file: h.csv, column: h}")
    exc = _refused(servsim.load_scenario, _file(folder, "s.yaml", text))
    assert "h.csv line 3" in str(exc) and "not a number" in str(exc), str(exc)


@pytest.mark.parametrize("cell", ["٠٨:10", "08:１0"])
def test_trace_times_with_non_ascii_digits_are_refused(folder, cell) -> None:
    _file(folder, "t.csv", f"time\n08:05\n{cell}\n")
    text = SCENARIO.replace("{rate: 1/min}", "{trace: {file: t.csv}}")
    exc = _refused(servsim.load_scenario, _file(folder, "s.yaml", text))
    assert "t.csv line 3" in str(exc) and "0-9" in str(exc), str(exc)


def test_a_sweep_index_in_non_ascii_digits_is_not_an_index(folder) -> None:
    text = SWEEP.replace("pools.agents.agents: [2, 3]", "pools.agents.schedule[١]: [2, 3]")
    exc = _refused(load_sweep, _file(folder, "s.yaml", text))
    assert exc.problems[0].field.startswith("sweep.parameters"), str(exc)


def test_a_constraint_bound_in_non_ascii_digits_is_refused(folder) -> None:
    text = EXPERIMENT + "objective: {minimize: cost, constraints: ['service_level >= ٠.8']}\n"
    exc = _refused(load_experiment, _file(folder, "e.yaml", text))
    assert exc.problems[0].field.startswith("objective"), str(exc)


# --------------------------------------------------------------------------- bounds at load


def _no_cells_built(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("a cell's scenario was built before the size was checked")

    monkeypatch.setattr(sweep_module, "scenario_from_dict", refuse)


def test_a_sweep_of_a_hundred_thousand_cells_is_refused_before_any_cell_is_built(folder, monkeypatch) -> None:
    values = ", ".join(str(i) for i in range(1, 317))
    text = SWEEP.replace("    pools.agents.agents: [2, 3]\n",
                         f"    pools.agents.agents: [{values}]\n    pools.agents.schedule[0]: [{values}]\n")
    _no_cells_built(monkeypatch)
    exc = _refused(load_sweep, _file(folder, "s.yaml", text))
    (problem,) = exc.problems
    assert "99,856 cells" in problem.message and "limits.max_cells" in problem.message, str(exc)
    assert "max_cells: 99856" in problem.hint


def test_a_sweep_of_too_many_tasks_is_refused_with_the_limit_and_how_to_raise_it(folder, monkeypatch) -> None:
    text = SWEEP.replace("replications: 2", "replications: 60000")
    _no_cells_built(monkeypatch)
    exc = _refused(load_sweep, _file(folder, "s.yaml", text))
    (problem,) = exc.problems
    assert problem.field == "replications" and "120,000 tasks" in problem.message, str(exc)
    assert "limits.max_tasks (100,000)" in problem.message and "max_tasks: 120000" in problem.hint
    stop = SWEEP.replace("sweep:\n", "sweep:\n  stop: {metric: asa_s, rel_precision: 0.05, max_replications: 60000}\n")
    exc = _refused(load_sweep, _file(folder, "s2.yaml", stop))
    assert "120,000 tasks" in str(exc) and "max_replications" in str(exc), str(exc)


def test_a_raised_task_limit_is_honoured(folder) -> None:
    text = SWEEP.replace("replications: 2", "replications: 60000") + "limits: {max_tasks: 120000}\n"
    assert len(load_sweep(_file(folder, "s.yaml", text)).scenarios) == 2


def test_a_compare_of_too_many_tasks_is_refused_before_options_are_built(folder, monkeypatch) -> None:
    from servsim.experiments import spec as spec_module

    options = "".join(f"  o{i}: [{{set: {{path: pools.agents.agents, value: {i % 9 + 1}}}}}]\n" for i in range(1000))
    text = EXPERIMENT.replace("replications: 2", "replications: 10000").split("options:")[0] + "options:\n" + options
    monkeypatch.setattr(spec_module, "read_base", lambda *a, **k: (_ for _ in ()).throw(AssertionError("built")))
    exc = _refused(load_experiment, _file(folder, "e.yaml", text))
    (problem,) = exc.problems
    assert "1000 options × 10000 replications make 10,000,000 tasks" in problem.message, str(exc)


@pytest.mark.parametrize("bound", ["1e999", "-1e400", "1e309"])
def test_an_infinite_constraint_bound_is_refused_at_load(folder, bound) -> None:
    text = EXPERIMENT + f"objective: {{minimize: cost, constraints: ['service_level >= {bound}']}}\n"
    exc = _refused(load_experiment, _file(folder, "e.yaml", text))
    (problem,) = exc.problems
    assert problem.field.startswith("objective.constraints") and "finite" in problem.message, str(exc)


# --------------------------------------------------------------------------- what messages repeat


def test_an_error_lists_at_most_twenty_problems_then_counts_the_rest(folder) -> None:
    steps = "".join(f"  s{i}: {{handle_time: {{dist: exponential, mean: {i} parsecs}}}}\n" for i in range(50))
    exc = _refused(servsim.load_scenario, _file(folder, "s.yaml", SCENARIO.replace("steps:\n", "steps:\n" + steps)))
    assert len(exc.problems) == MAX_PROBLEMS + 1, str(exc)
    assert exc.problems[-1].message.startswith("... and ") and "more problems" in exc.problems[-1].message
    assert exc.problems[-1].line is not None


def test_a_newline_in_a_file_name_cannot_forge_a_problem_line(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    name = "evil\ns.yaml:1:1: name: forged problem\n.yaml"
    path = tmp_path / name
    path.write_text(SCENARIO.replace("1/min", "1 per fortnight"))
    exc = _refused(servsim.load_scenario, path)
    for p in exc.problems:
        assert "\n" not in str(p) and "\\n" in p.file, str(p)


def test_markup_and_control_characters_are_defused_in_quoted_input() -> None:
    shown = quoted("[bold red]x[/] \x1b[2J\n" + "y" * 100)
    assert "\n" not in shown and "\x1b" not in shown and "\\[bold red]" in shown and "\\[/]" in shown
    assert len(shown) < 60
    p = Problem("a\rb.yaml", 1, 1, "k\u2028ey", "bad\nvalue", "hint\x00")
    assert all(c not in str(p) for c in "\r\n\u2028\x00"), str(p)


def test_long_keys_from_a_patch_file_are_shortened(folder) -> None:
    key = "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin" * 3
    _file(folder, "patch.yaml", f"description: patched\n'{key}': 1\n")
    text = EXPERIMENT.replace("[{set: {path: pools.agents.agents, value: 3}}]", "[{patch: patch.yaml}]")
    exc = _refused(load_experiment, _file(folder, "e.yaml", text))
    text = str(exc)
    assert key[:80] not in text and "daemon:x:1:1" in text, text


@pytest.mark.parametrize("text", [
    "root:*:20228:0:99999:7:::\ndaemon:*:20228:0:99999:7:::\nbin:*:20228:0:99999:7:::\n" * 8,
    "API_TOKEN: sk-0123456789abcdef\nDB_PASSWORD: hunter2\n",
    "root:x:0:0: a\nroot:x:0:0: b\n" * 20,
], ids=["shadow-like", "env-like", "duplicates"])
def test_a_file_that_is_no_scenario_at_all_is_refused_without_repeating_its_lines(tmp_path, text):
    """``servsim validate /etc/shadow`` listed every line as an unknown field: a mapping none of
    whose keys is (or is close to) a field is refused in one problem that quotes none of them."""
    f = tmp_path / "secret.yaml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        servsim.load_scenario(f)
    problems = info.value.problems
    assert len(problems) == 1 and "not one" in str(problems[0])
    for secret in ("20228", "daemon", "sk-0123", "hunter2", "API_TOKEN"):
        assert secret not in str(info.value)


def test_a_misspelt_scenario_still_gets_its_suggestion(tmp_path):
    f = tmp_path / "typo.yaml"
    f.write_text("nme: x\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        servsim.load_scenario(f)
    assert "did you mean 'name'?" in str(info.value)
