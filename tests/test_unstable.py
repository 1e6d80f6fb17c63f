"""Arrivals beyond capacity: reported as unstable unless abandonment holds the queue, and a run cannot
grow without bound."""

from __future__ import annotations

import json
import textwrap
import tracemalloc

import pytest

from typer.testing import CliRunner

import servsim
from servsim.capacity import offered_load
from servsim.engine import compile_plan
from servsim.cli import EXIT_STOPPED, EXIT_UNSTABLE, app
from conftest import scenario

OVERLOADED = """
    name: overloaded
    horizon: {days: 30, interval: 60min}
    channels:
      calls: {arrivals: {rate: 12/min}, entry: answer}
    pools:
      agents: {agents: 10, skills: {answer: 1.0}}
    steps:
      answer: {handle_time: {dist: exponential, mean: 1min}}
    limits: {max_in_system: 2000}
"""


def test_overloaded_scenario_is_flagged_by_the_load_check():
    r = servsim.simulate(scenario(OVERLOADED), seed=1)
    assert r.load.unstable
    assert abs(r.load.ratio - 1.2) < 1e-9
    assert "UNSTABLE" in r.status


def test_run_stops_at_the_limit_on_contacts_in_system():
    tracemalloc.start()
    r = servsim.simulate(scenario(OVERLOADED), seed=1)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert r.stopped and "max_in_system" in r.stopped
    assert bool(r.summary["stopped"].iloc[0])
    # 30 days at 12/min would be 518,400 contacts; the queue grows by ~2/min, so the limit of 2000
    # is reached within the first day and the run ends there
    assert len(r.contacts) < 20_000
    assert peak < 50e6


def test_abandonment_keeps_an_overloaded_system_bounded():
    text = OVERLOADED.replace("entry: answer}", "entry: answer, patience: {dist: exponential, mean: 2min}}")
    text = text.replace("days: 30", "days: 1")
    r = servsim.simulate(scenario(text), seed=1)
    assert not r.stopped
    # arrivals exceed capacity, but every caller can abandon: stable, with its load ratio and a warning
    assert not r.unstable and not r.load.unstable
    assert abs(r.load.ratio - 1.2) < 1e-9
    assert "abandonment" in r.status and "UNSTABLE" not in r.status
    assert r.load.held_by_abandonment == ("answer",)
    assert r.summary["abandon_rate"].iloc[0] > 0.1


#: M/M/100+M at λ = 1.02 cμ (μ = θ = 1/min), a case of Whitt's (2005) Erlang A tables.
ERLANG_A = """
    name: erlang a above capacity
    horizon: {start: "08:00", end: "12:00", interval: 60min}
    channels:
      calls: {arrivals: {rate: 102/min}, entry: answer, patience: {dist: exponential, mean: 1min}}
    pools:
      agents: {agents: 100, skills: {answer: 1.0}}
    steps:
      answer: {handle_time: {dist: exponential, mean: 1min}}
"""


def test_erlang_a_above_capacity_is_stable(tmp_path):
    r = servsim.simulate(scenario(ERLANG_A), seed=3, log=False)
    assert not r.stopped and not r.unstable
    assert abs(r.load.ratio - 1.02) < 1e-9
    assert r.status.startswith("stable, held by abandonment: offered load is 1.02×")
    assert "expect high abandonment" in r.status
    # Whitt's tables give P(abandon) ≈ 5 % here: clearly above zero, far from the 2 % excess alone
    assert 0.03 < r.summary["abandon_rate"].iloc[0] < 0.08
    f = tmp_path / "erlang_a.yaml"
    f.write_text(textwrap.dedent(ERLANG_A))
    res = CliRunner().invoke(app, ["run", str(f), "-n", "1", "--no-log", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["unstable"] is False and "held by abandonment" in out["status"]


PATIENT = "patience: {dist: exponential, mean: 1min}"
#: ERLANG_A where some contacts reaching the overloaded step cannot abandon there
NOT_ALL_CAN_ABANDON = {
    "no patience (email)": ERLANG_A.replace(", " + PATIENT, ""),
    "a segment without patience": ERLANG_A.replace(", " + PATIENT, "").replace("    channels:", f"""\
    segments:
      plain: {{share: 0.5, {PATIENT}}}
      vip: {{share: 0.5, priority: 1}}
    channels:"""),
    "overloaded back-stage step": ERLANG_A.replace("entry: answer", "entry: triage").replace(
        "skills: {answer: 1.0}", "skills: {answer: 1.0, triage: 1.0}").replace(
        "answer: {handle_time: {dist: exponential, mean: 1min}}", """\
triage: {handle_time: {dist: exponential, mean: 1s}, next: {answer: 1.0}}
      answer: {handle_time: {dist: exponential, mean: 1min}, stage: back}"""),
}


@pytest.mark.parametrize("case", list(NOT_ALL_CAN_ABANDON))
def test_overload_is_unstable_unless_every_contact_reaching_the_step_can_abandon(case):
    load = offered_load(compile_plan(scenario(NOT_ALL_CAN_ABANDON[case])))
    assert load.unstable and load.held_by_abandonment == ()
    assert load.step_ratio["answer"] >= 1.02 - 1e-9
    assert load.describe().startswith("UNSTABLE") and "'answer'" in load.describe()


def test_cli_exit_status_and_message_for_an_unstable_run(tmp_path):
    f = tmp_path / "over.yaml"
    import textwrap

    f.write_text(textwrap.dedent(OVERLOADED))
    res = CliRunner().invoke(app, ["run", str(f), "-n", "1"])
    # stopped by a limit: status 3 wins over the unstable status 6
    assert res.exit_code == EXIT_STOPPED == 3
    assert "max_in_system" in res.output and "UNSTABLE" in res.output
    assert "Traceback" not in res.output
    assert res.output.strip().splitlines()[-1].startswith("exit status 3: a replication was stopped by a run limit")


#: OVERLOADED over one short morning: over capacity, but too short to reach any limit.
OVERLOADED_MORNING = OVERLOADED.replace("horizon: {days: 30, interval: 60min}",
                                        'horizon: {start: "08:00", end: "10:00", interval: 60min}')


def test_an_unstable_run_that_finishes_exits_6_and_its_last_line_says_why(tmp_path):
    f = tmp_path / "over.yaml"
    f.write_text(textwrap.dedent(OVERLOADED_MORNING))
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["run", str(f), "-n", "2", "--out", str(out)])
    assert res.exit_code == EXIT_UNSTABLE == 6, res.output
    last = res.output.strip().splitlines()[-1]
    assert last.startswith("exit status 6: finished, but the system is unstable"), res.output
    assert "1.20× capacity" in last and "abandonment does not hold the queue" in last
    # every output is written all the same, and says so
    meta = json.loads((out / "run.json").read_text())
    assert meta["unstable"] is True and meta["stopped"] == []
    assert (out / "kpis.csv").is_file()
    # --json too: the same status, the summary on stdout, the reason on stderr
    res = CliRunner().invoke(app, ["run", str(f), "-n", "2", "--json"])
    assert res.exit_code == EXIT_UNSTABLE
    assert json.loads(res.stdout)["unstable"] is True
    assert res.stderr.startswith("exit status 6:")


def test_a_run_held_by_abandonment_exits_0(tmp_path):
    text = OVERLOADED_MORNING.replace("entry: answer}", "entry: answer, patience: {dist: exponential, mean: 2min}}")
    f = tmp_path / "held.yaml"
    f.write_text(textwrap.dedent(text))
    res = CliRunner().invoke(app, ["run", str(f), "-n", "1"])
    assert res.exit_code == 0, res.output
    assert "exit status" not in res.output and "held by abandonment" in res.output


def test_wrap_up_counts_in_the_offered_load():
    """9/min × (50 s talk + 20 s wrap-up) × proficiency 0.9 = 9.45 agents' work on 10: ρ = 0.945,
    where talk alone would read 0.675."""
    text = textwrap.dedent("""
        name: wrap-up load
        channels:
          calls: {arrivals: {rate: 9/min}, entry: answer}
        pools:
          agents: {agents: 10, skills: {answer: 0.9}}
        steps:
          answer:
            handle_time: {dist: exponential, mean: 50s}
            wrap_up: {dist: deterministic, value: 20s}
        """)
    load = offered_load(compile_plan(servsim.scenario_from_text(text)))
    assert load.ratio == pytest.approx(9 / 60 * 70 * 0.9 / 10)
    assert load.step_ratio["answer"] == pytest.approx(0.945)


def test_no_textbook_prediction_beside_a_queue_with_wrap_up():
    """Erlang C equates the customer's service with the agent's busy time; with wrap-up they differ."""
    from servsim.report.theory_view import predictions

    text = textwrap.dedent("""
        name: M/M/c
        channels:
          calls: {arrivals: {rate: 9/min}, entry: answer}
        pools:
          agents: {agents: 12, skills: {answer: 1.0}}
        steps:
          answer: {handle_time: {dist: exponential, mean: 50s}}
        """)
    assert predictions(servsim.scenario_from_text(text))[0] == "M/M/c (Erlang C)"
    wrapped = text.replace("mean: 50s}}", "mean: 50s}, wrap_up: {dist: deterministic, value: 10s}}")
    assert predictions(servsim.scenario_from_text(wrapped)) is None
