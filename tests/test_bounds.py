"""Valid files whose product of fields is unbounded: refused at load (naming the limit and how to
raise it) or stopped cleanly at run time, within bounded time and memory."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import servsim
from servsim.engine import LiveRows, compile_plan, run
from servsim.engine.core import PACE_BLOCK
from servsim.engine.plan import EPS, _break_slots, _staffing
from servsim.scenario import ScenarioError
from servsim.metrics.cells import CellSums as Accumulator
from servsim.units import DAY
from conftest import scenario

ZERO_LOOP = """
    name: zero-time rework loop
    channels:
      calls: {arrivals: {rate: 1/min}, entry: answer}
    pools:
      agents: {agents: 10, skills: {answer: 1.0}}
    steps:
      answer:
        handle_time: {dist: deterministic, value: 0s}
        next: {answer: 0.999999999999, exit: 1e-12}
"""

RETRIAL_STORM = """
    name: retrial storm
    channels:
      calls:
        arrivals: {rate: 100/min}
        entry: answer
        patience: {dist: deterministic, value: 0s}
        retrial: {probability: 1.0, delay: {dist: deterministic, value: 0s}, max_attempts: 100}
    pools:
      agents: {agents: 0, skills: {answer: 1.0}}
    steps:
      answer: {handle_time: {dist: exponential, mean: 1min}}
"""

REPEAT_STORM = """
    name: repeat storm
    channels:
      calls:
        arrivals: {rate: 100/min}
        entry: answer
        repeats: {probability: 1.0, delay: {dist: deterministic, value: 0s}, max_attempts: 100}
    pools:
      agents: {agents: 1000, skills: {answer: 1.0}, resolution: 0.0}
    steps:
      answer: {handle_time: {dist: deterministic, value: 0s}}
"""

UNLIMITED_VENDOR = """
    name: unlimited vendor holding work
    channels:
      calls: {arrivals: {rate: 100/min}, entry: answer}
    pools:
      agents: {agents: 1, skills: {answer: 1.0}}
      bpo: {kind: vendor, agents: unlimited}
    steps:
      answer:
        handle_time: {dist: deterministic, value: 1000h}
        outsource: {to: bpo, share: 1.0}
"""

TWO_CHANNELS = """
    name: two channels at the limit
    channels:
      a: {arrivals: {rate: 1/s}, entry: answer}
      b: {arrivals: {rate: 1/s}, entry: answer}
    pools:
      agents: {agents: 1000, skills: {answer: 1.0}}
    steps:
      answer: {handle_time: {dist: exponential, mean: 1s}}
    limits: {max_contacts: 86400}
"""

#: contacts within every limit, but 200 visits each: 28,800 x 200 = 5.8 million step visits
MANY_VISITS = """
    name: heavy rework
    channels:
      calls: {arrivals: {rate: 20/min}, entry: answer}
    pools:
      agents: {agents: 10, skills: {answer: 1.0}}
    steps:
      answer:
        handle_time: {dist: exponential, mean: 1s}
        next: {answer: 0.995, exit: 0.005}
"""

#: allowed at load (limits raised), but each contact loops 10^6 times at one instant
RUNAWAY_LOOP = """
    name: runaway loop
    channels:
      calls: {arrivals: {rate: 1/h}, entry: answer}
    pools:
      agents: {agents: 10, skills: {answer: 1.0}}
    steps:
      answer:
        handle_time: {dist: deterministic, value: 0s}
        next: {answer: 0.999999, exit: 0.000001}
    limits: {max_visits_per_contact: 1000000, max_visits: 1000000000}
"""


def refusal(text: str) -> str:
    with pytest.raises(ScenarioError) as exc:
        scenario(text)
    return str(exc.value)


# --------------------------------------------------------------------------- refused at load


def test_zero_time_rework_loop_is_refused_at_the_loop():
    msg = refusal(ZERO_LOOP)
    assert "steps.answer.next" in msg and "limits.max_visits_per_contact" in msg
    assert "1e+12" in msg


@pytest.mark.parametrize("tiny", ["1e-17", "1e-300", "5e-324"])
def test_routing_too_close_to_one_for_the_matrix_is_a_located_error(tiny):
    text = ZERO_LOOP.replace("value: 0s", "value: 1s").replace(
        "{answer: 0.999999999999, exit: 1e-12}", f"{{answer: 0.99999999999999999, exit: {tiny}}}")
    msg = refusal(text)
    assert "steps.answer.next" in msg and "never leave" in msg and "limits.max_visits_per_contact" in msg


def test_a_two_step_loop_that_never_leaves_is_refused_and_other_channels_still_solved():
    text = """
        name: ping-pong
        channels:
          calls: {arrivals: {rate: 1/min}, entry: front}
          mail: {arrivals: {rate: 1/min}, entry: desk}
        pools:
          agents: {agents: 10, skills: {front: 1.0, back: 1.0, desk: 1.0}}
        steps:
          front: {handle_time: {dist: exponential, mean: 1min}, next: {back: 0.99999999999999999, exit: 1e-20}}
          back: {handle_time: {dist: exponential, mean: 1min}, next: front}
          desk: {handle_time: {dist: exponential, mean: 1min}, next: {desk: 0.5, exit: 0.5}}
    """
    msg = refusal(text)
    assert "channel 'calls'" in msg and "never leave" in msg and "'mail'" not in msg


def test_retrial_storm_is_refused_naming_max_contacts():
    msg = refusal(RETRIAL_STORM)
    assert "channels.calls.retrial" in msg and "limits.max_contacts" in msg and "14,400,000" in msg


def test_repeat_storm_is_refused_naming_max_contacts():
    msg = refusal(REPEAT_STORM)
    assert "channels.calls.repeats" in msg and "limits.max_contacts" in msg


def test_unlimited_vendor_holding_work_is_refused_naming_max_in_system():
    msg = refusal(UNLIMITED_VENDOR)
    assert "pools.bpo.agents" in msg and "limits.max_in_system" in msg


def test_max_contacts_bounds_the_total_over_channels():
    msg = refusal(TWO_CHANNELS)
    assert "172,800" in msg and "all channels" in msg and "limits.max_contacts" in msg
    scenario(TWO_CHANNELS.replace("      b: {arrivals: {rate: 1/s}, entry: answer}\n", ""))   # one alone fits


def test_step_visits_over_the_horizon_are_refused_naming_max_visits():
    msg = refusal(MANY_VISITS)
    assert "limits.max_visits =" in msg and "5,760,000" in msg
    scenario(MANY_VISITS + "    limits: {max_visits: 6000000}\n")


def test_raising_the_limit_named_in_the_refusal_accepts_the_file():
    scenario(RETRIAL_STORM + "    limits: {max_contacts: 15000000, max_visits: 15000000}\n")
    scenario(UNLIMITED_VENDOR + "    limits: {max_in_system: 200000}\n")


def test_the_load_ratio_counts_repeat_contacts():
    base = """
        name: repeats add work
        channels:
          calls:
            arrivals: {rate: 5/min}
            entry: answer
            repeats: {probability: 1.0, delay: {dist: exponential, mean: 1h}, max_attempts: 2}
        pools:
          agents: {agents: 10, skills: {answer: 1.0}, resolution: 0.5}
        steps:
          answer: {handle_time: {dist: exponential, mean: 1min}}
    """
    r = servsim.simulate(scenario(base), seed=1)
    # 5/min x 1 min on 10 agents is 0.5; half are unresolved and come back once: 0.75
    assert abs(r.load.ratio - 0.75) < 1e-9


# --------------------------------------------------------------------------- stopped at run time


def test_a_loop_allowed_at_load_is_stopped_when_the_clock_stops_moving():
    s = scenario(RUNAWAY_LOOP)
    for rec in (run(compile_plan(s), 1), run(compile_plan(s), 1, LiveRows(Accumulator(compile_plan(s))))):
        assert "limits.max_visits_per_second" in rec.stopped
    r = servsim.simulate(s, seed=1)
    assert r.stopped and r.unstable and "max_visits_per_second" in r.stopped


def test_a_run_past_max_visits_is_stopped():
    s = scenario(MANY_VISITS + "    limits: {max_visits: 6000000}\n")
    plan = dataclasses.replace(compile_plan(s), max_visits=100_000)
    rec = run(plan, 1)
    assert "limits.max_visits" in rec.stopped
    # checked every PACE_BLOCK moves between steps; a few arrivals' first visits come in between
    assert 100_000 <= len(rec.v_step) < 100_000 + 2 * PACE_BLOCK
    assert "limits.max_visits" in run(plan, 1, LiveRows(Accumulator(plan))).stopped


# --------------------------------------------------------------------------- the CLI, in bounded memory

#: runs the CLI in a child and prints its status, its peak memory and the end of its output
_MEASURE = """
import json, resource, subprocess, sys
p = subprocess.run([sys.executable, "-m", "servsim.cli", *sys.argv[1:]], capture_output=True, text=True, timeout=120)
print(json.dumps({"rc": p.returncode, "rss": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024,
                  "out": p.stdout[-3000:] + p.stderr[-3000:]}))
"""


def _cli_bounded(tmp_path: Path, *args: str) -> dict:
    p = subprocess.run([sys.executable, "-c", _MEASURE, *args], capture_output=True, text=True, timeout=180,
                       cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    return json.loads(p.stdout)


STORMS = {"zero-loop": (ZERO_LOOP, "limits.max_visits_per_contact"),
          "singular": (ZERO_LOOP.replace("0.999999999999, exit: 1e-12", "0.99999999999999999, exit: 1e-17"),
                       "limits.max_visits_per_contact"),
          "retrials": (RETRIAL_STORM, "limits.max_contacts"),
          "repeats": (REPEAT_STORM, "limits.max_contacts"),
          "vendor": (UNLIMITED_VENDOR, "limits.max_in_system"),
          "two-channels": (TWO_CHANNELS, "limits.max_contacts"),
          "visits": (MANY_VISITS, "limits.max_visits")}


@pytest.mark.parametrize("name", list(STORMS))
def test_each_storm_is_refused_by_the_cli_with_the_limit_and_no_traceback(tmp_path, name):
    text, limit = STORMS[name]
    f = tmp_path / f"{name}.yaml"
    f.write_text(textwrap.dedent(text))
    res = _cli_bounded(tmp_path, "run", str(f), "-n", "1")
    assert res["rc"] == 2, res
    assert limit in res["out"] and "Traceback" not in res["out"]
    assert res["rss"] < 1e9


def test_a_runaway_loop_is_stopped_by_the_cli_with_status_3_in_bounded_memory(tmp_path):
    f = tmp_path / "runaway.yaml"
    f.write_text(textwrap.dedent(RUNAWAY_LOOP))
    res = _cli_bounded(tmp_path, "run", str(f), "-n", "1")
    assert res["rc"] == 3, res
    assert "limits.max_visits_per_second" in res["out"] and "Traceback" not in res["out"]
    assert res["rss"] < 1e9


# --------------------------------------------------------------------------- long horizons


def _long_breaks(teams: int, micro: int = 0) -> str:
    """Ten years, ``teams`` pools of 1000+ agents, each with two windows of 240 one-minute break slots
    (and ``micro`` more one-minute breaks anywhere in the 12-hour shift: 720 slots each)."""
    extra = "".join("""
          - {start: "08:00", end: "20:00", length: 1min}""" for _ in range(micro))
    pools = "".join(f"""
  team{i}:
    skills: {{answer: 1.0}}
    shifts:
      - start: "08:00"
        end: "20:00"
        agents: {1000 + 7 * i}
        breaks:
          - {{start: "10:00", end: "14:00", length: 1min}}
          - {{start: "15:00", end: "19:00", length: 1min}}{extra}""" for i in range(teams))
    return f"""
name: ten years of staggered breaks
horizon: {{start: "08:00", end: "20:00", days: 3660, interval: 60min}}
channels:
  calls: {{arrivals: {{rate: 1/h}}, entry: answer}}
pools:{pools}
steps:
  answer: {{handle_time: {{dist: exponential, mean: 1min}}}}
"""


def _validate(tmp_path: Path, text: str) -> subprocess.CompletedProcess:
    f = tmp_path / "breaks.yaml"
    f.write_text(text)
    # the timeout only tells a result from a hang (or from the old cost: minutes to hours)
    return subprocess.run([sys.executable, "-m", "servsim.cli", "validate", str(f)], capture_output=True, text=True,
                          timeout=120)


def test_ten_years_of_staggered_breaks_validate_in_reasonable_time(tmp_path):
    p = _validate(tmp_path, _long_breaks(3, micro=4))
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]


def test_a_staffing_timeline_too_long_to_schedule_is_refused_before_it_is_built(tmp_path):
    # 20 one-agent shifts with 17 one-minute breaks each, every other minute: 680 headcount changes a
    # day, 2.5 million over ten years
    shifts = []
    for i in range(20):
        breaks = []
        for j in range(17):
            m = 8 * 60 + 2 * (i * 17 + j) + 10
            breaks.append(f'{{start: "{m // 60:02d}:{m % 60:02d}", end: "{(m + 1) // 60:02d}:{(m + 1) % 60:02d}", '
                          'length: 1min}')
        shifts.append(f'      - {{start: "08:00", end: "20:00", agents: 1, breaks: [{", ".join(breaks)}]}}')
    text = _long_breaks(1).replace("""      - start: "08:00"
        end: "20:00"
        agents: 1000
        breaks:
          - {start: "10:00", end: "14:00", length: 1min}
          - {start: "15:00", end: "19:00", length: 1min}""", "\n".join(shifts))
    p = _validate(tmp_path, text)
    assert p.returncode == 2, p.stdout[-2000:] + p.stderr[-2000:]
    out = " ".join((p.stdout + p.stderr).split())
    assert "pools.team0.shifts" in out and "headcount changes" in out and "2,000,000" in out


def _naive_staffing(s) -> tuple:  # noqa: ANN001 - a Scenario
    """The headcount rule evaluated directly at every change point of every day (the definition)."""
    import math

    h = s.horizon
    k = h.intervals_per_day
    events = []
    for p, pool in enumerate(s.pools.values()):
        breaks = [piece for sh in pool.shifts or () for piece in _break_slots(sh)]
        points = {h.start, h.end} | {h.start + i * h.interval for i in range(k)}
        for sh in pool.shifts or ():
            points |= {sh.start, sh.end}
        for b0, b1, _ in breaks:
            points |= {b0, b1}
        points = {t for t in points if h.start <= t <= h.end}

        def headcount(tod: float) -> int:
            if not h.start <= tod < h.end:
                return 0
            n = pool.agents or 0
            if pool.schedule is not None:
                n += pool.schedule[min(math.floor((tod - h.start) / h.interval + EPS), k - 1)]
            n += sum(sh.agents for sh in pool.shifts or () if sh.start <= tod < sh.end)
            n -= sum(away for b0, b1, away in breaks if b0 <= tod < b1)
            return math.floor(n * (1 - pool.shrinkage) + 0.5) if pool.shrinkage else n

        last = -1
        for d in range(h.days):
            for tod in sorted(points):
                n = headcount(tod)
                if n != last:
                    events.append((d * DAY + tod, p, n))
                    last = n
    events.sort(key=lambda e: (e[0], e[1]))
    merged = {}
    for t, p, n in events:
        merged[(t, p)] = n
    return tuple((t, p, n) for (t, p), n in merged.items())


@pytest.mark.parametrize("window", [("00:00", "24:00"), ("07:00", "24:00"), ("06:30", "22:00")])
def test_staffing_timeline_equals_the_headcount_rule(window):
    start, end = window
    text = f"""
        name: staffing
        horizon: {{start: "{start}", end: "{end}", days: 3, interval: 30min}}
        channels: {{c: {{arrivals: {{rate: 1/min}}, entry: a}}}}
        pools:
          p:
            agents: 2
            shrinkage: 0.27
            skills: {{a: 1}}
            shifts:
              - {{start: "{start}", end: "15:30", agents: 7, breaks: [{{start: "09:00", end: "10:10", length: 15min}},
                  {{start: "12:00", end: "13:00", length: 7min}}]}}
              - {{start: "12:00", end: "{end}", agents: 13, breaks: [{{start: "18:00", end: "21:00", length: 30min}}]}}
          q:
            agents: 1
            skills: {{a: 1}}
        steps: {{a: {{handle_time: {{dist: exponential, mean: 1min}}}}}}
    """
    s = scenario(text)
    assert _staffing(s) == _naive_staffing(s)
