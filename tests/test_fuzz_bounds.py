"""Property tests of the run bounds: routing, retrial and repeat probabilities near 0 and 1.

Whatever the probabilities, loading a scenario raises nothing but a located ScenarioError, and a
scenario that loads runs (one hour) to its end or to a clean ``stopped`` reason naming a limit.
A run that would hang is cut by an alarm and fails the test.
"""

from __future__ import annotations

import signal
import textwrap

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import servsim
from servsim.scenario import ScenarioError

FUZZ = settings(derandomize=True, deadline=None, database=None, max_examples=150, print_blob=True,
                phases=(Phase.explicit, Phase.generate), suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

#: Longest a generated run may take before it counts as a hang.
ALARM_S = 60

#: Tiny probabilities: representable, subnormal, lost beside 1 in rounding, or merely small.
TINY = st.one_of(
    st.sampled_from([5e-324, 1e-300, 1e-17, 1e-16, 2.2e-16, 1e-12, 1e-9, 1e-6, 1e-3]),
    st.floats(min_value=5e-324, max_value=0.05, allow_nan=False, allow_infinity=False),
)


@st.composite
def near_one_or_zero(draw: st.DrawFn) -> tuple[str, str]:
    """(loop, leave) probabilities written as text, summing to 1: the loop near 1 or near 0."""
    eps = draw(TINY)
    # 1.0 and a 17-digit 0.99…9 stand beside eps only where the sum stays within 1e-6 of 1
    near_one = draw(st.sampled_from(["0.99999999999999999", repr(1.0 - eps), "1.0"])) if eps < 1e-7 \
        else repr(1.0 - eps)
    if draw(st.booleans()):
        return near_one, repr(eps)           # a loop that is hardly ever left
    return repr(eps), near_one               # a loop that is hardly ever taken


@st.composite
def loop_scenarios(draw: st.DrawFn) -> str:
    n = draw(st.integers(1, 3))
    steps = {}
    for i in range(n):
        loop, leave = draw(near_one_or_zero())
        handle = draw(st.sampled_from(["{dist: deterministic, value: 0s}", "{dist: exponential, mean: 1s}",
                                       "{dist: exponential, mean: 1min}"]))
        nxt = f"s{(i + 1) % n}"
        steps[f"s{i}"] = f"s{i}: {{handle_time: {handle}, next: {{{nxt}: {loop}, exit: {leave}}}}}"
    channel = "calls: {arrivals: {rate: %d/min}, entry: s0" % draw(st.integers(1, 60))
    if draw(st.booleans()):
        p, _ = draw(near_one_or_zero())
        channel += (", patience: {dist: exponential, mean: 10s}, retrial: {probability: %s, delay: "
                    "{dist: deterministic, value: 0s}, max_attempts: %d}" % (p, draw(st.integers(2, 100))))
    if draw(st.booleans()):
        p, _ = draw(near_one_or_zero())
        channel += (", repeats: {probability: %s, delay: {dist: exponential, mean: 1s}, max_attempts: %d}"
                    % (p, draw(st.integers(2, 100))))
    channel += "}"
    resolution, _ = draw(near_one_or_zero())
    bots = ""
    if draw(st.booleans()):
        exc, _ = draw(near_one_or_zero())
        capacity = draw(st.sampled_from(["unlimited", "5"]))
        steps["s0"] = steps["s0"][:-1] + (", automation: {bots: rpa, level: 1.0, handle_time: {dist: "
                                          f"deterministic, value: 0s}}, exception_rate: {exc}}}}}")
        bots = f"\n  rpa: {{kind: bots, agents: {capacity}}}"
    text = f"""\
name: near the edges
horizon: {{start: "08:00", end: "09:00", interval: 30min}}
channels:
  {channel}
pools:
  agents: {{agents: {draw(st.integers(0, 20))}, skills: {{{", ".join(f"s{i}: 1.0" for i in range(n))}}}, resolution: {resolution}}}{bots}
steps:
""" + "".join(f"  {line}\n" for line in steps.values())
    yaml.safe_load(text)     # the generator writes YAML, not a test of the YAML reader
    return text


class _Hang(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise _Hang(f"a run took more than {ALARM_S} s")


@pytest.fixture
def alarm():
    old = signal.signal(signal.SIGALRM, _alarm)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


@FUZZ
@given(text=loop_scenarios())
def test_probabilities_near_0_and_1_load_or_refuse_then_run_or_stop_cleanly(alarm, text):
    try:
        s = servsim.scenario_from_text(text, file="edge.yaml")
    except ScenarioError as exc:
        assert "edge.yaml:" in str(exc), str(exc)
        return
    signal.alarm(ALARM_S)
    try:
        r = servsim.simulate(s, seed=1, log=False)
    finally:
        signal.alarm(0)
    if r.stopped:
        assert "limits." in r.stopped, r.stopped
    assert r.load.ratio == r.load.ratio       # never NaN


def test_the_generator_reaches_both_outcomes():
    """The property above is not vacuous: the generator makes files that are refused for their
    routing and files that load and run."""
    refused = loaded = 0

    @settings(FUZZ, max_examples=60)
    @given(text=loop_scenarios())
    def count(text: str) -> None:
        nonlocal refused, loaded
        try:
            servsim.scenario_from_text(textwrap.dedent(text))
            loaded += 1
        except ScenarioError as exc:
            refused += "max_visits_per_contact" in str(exc)

    count()
    assert refused > 0 and loaded > 0
