"""Bad scenario files: a located, helpful message and exit status 2 — never a traceback."""

from __future__ import annotations

import re
import textwrap

import pytest
from typer.testing import CliRunner

import servsim
from servsim.cli import EXIT_BAD_INPUT, app

GOOD = """\
name: ok
horizon: {start: "08:00", end: "12:00", interval: 30min}
channels:
  calls:
    arrivals: {rate: 2/min}
    entry: answer
    patience: {dist: exponential, mean: 3min}
pools:
  agents: {agents: 3, skills: {answer: 1.0}}
steps:
  answer:
    handle_time: {dist: lognormal, mean: 1min, cv: 1.2}
    next: exit
"""

# (id, text, expected line, expected field path, words the message or hint must contain)
CASES = [
    ("yaml-syntax", GOOD.replace("entry: answer", "entry: [answer"), None, "(syntax)", ["indentation"]),
    ("unknown-field", GOOD.replace("{rate: 2/min}", "{rat: 2/min}"), 5, "channels.calls.arrivals.rat",
     ["did you mean 'rate'"]),
    ("negative-rate", GOOD.replace("2/min", "-2/min"), 5, "channels.calls.arrivals.rate", ["non-negative"]),
    ("nan-rate", GOOD.replace("{rate: 2/min}", "{rate: .nan}"), 5, "channels.calls.arrivals.rate", ["unit"]),
    ("negative-cv", GOOD.replace("cv: 1.2", "cv: -0.5"), 12, "steps.answer.handle_time.cv", ["greater than or equal to 0"]),
    ("bad-time", GOOD.replace('start: "08:00"', 'start: "8h30"'), 2, "horizon.start", ["HH:MM"]),
    ("step-without-pool", GOOD.replace("skills: {answer: 1.0}", "skills: {answer: 1.0, wrap: 1.0}")
     .replace("    next: exit\n", "    next: wrap\n  wrap: {handle_time: {dist: deterministic, value: 30s}}\n")
     .replace("agents: {agents: 3, skills: {answer: 1.0, wrap: 1.0}}", "agents: {agents: 3, skills: {answer: 1.0}}"),
     14, "steps.wrap", ["no pool serves", "skills"]),
    ("routing-sum", GOOD.replace("next: exit", "next: {exit: 0.5, answer: 0.2}"), 13, "steps.answer.next",
     ["sum to 0.7", "add up to 1"]),
    ("unknown-distribution", GOOD.replace("dist: lognormal", "dist: lognormel"), 12, "steps.answer.handle_time",
     ["lognormal"]),
    ("interval-not-dividing", GOOD.replace("interval: 30min", "interval: 7min"), 2, "horizon.interval",
     ["does not divide", "15min"]),
    ("empty-file", "# nothing here\n", None, "", ["empty"]),
    ("list-for-mapping", GOOD.replace("pools:\n  agents: {agents: 3, skills: {answer: 1.0}}",
                                      "pools:\n  - agents\n  - more"), 9, "pools", ["dictionary", "mapping"]),
    ("missing-trace-file", GOOD.replace("{rate: 2/min}", "{trace: {file: nowhere.csv}}"), 5,
     "channels.calls.arrivals.trace", ["does not exist", "relative to the scenario file"]),
    ("unknown-entry-step", GOOD.replace("entry: answer", "entry: answr"), 6, "channels.calls.entry",
     ["did you mean 'answer'"]),
    ("rate-without-unit", GOOD.replace("{rate: 2/min}", "{rate: 2}"), 5, "channels.calls.arrivals.rate",
     ["9.5/min"]),
    ("infinite-number", GOOD.replace("cv: 1.2", "cv: 1e999"), 12, "steps.answer.handle_time.cv", ["finite"]),
    ("schedule-length", GOOD.replace("{agents: 3, skills", "{schedule: [3, 3], skills"), 9,
     "pools.agents.schedule", ["8 intervals"]),
]

PATIENCE = "    patience: {dist: exponential, mean: 3min}\n"


def _channel_line(text: str) -> str:
    """GOOD with ``text`` as a line of the calls channel, after its patience (line 8)."""
    return GOOD.replace(PATIENCE, PATIENCE + f"    {text}\n")


# callbacks, patience rules, head starts: each nonsense value located at its line and field
CASES += [
    ("callback-two-offers", _channel_line("callback: {offer_when: {wait_over: 1min, predicted_wait_over: 2min}}"),
     8, "channels.calls.callback.offer_when", ["exactly one of 'predicted_wait_over' or 'wait_over'"]),
    ("callback-no-offer", _channel_line("callback: {offer_when: {}, accept: 0.5}"), 8,
     "channels.calls.callback.offer_when", ["exactly one of"]),
    ("callback-no-offer-when", _channel_line("callback: {accept: 0.5}"), 8, "channels.calls.callback.offer_when",
     ["missing", "required"]),
    ("callback-accept-above-one", _channel_line("callback: {offer_when: {wait_over: 1min}, accept: 1.5}"), 8,
     "channels.calls.callback.accept", ["less than or equal to 1"]),
    ("callback-unknown-mode", _channel_line("callback: {offer_when: {wait_over: 1min}, mode: keep}"), 8,
     "channels.calls.callback.mode", ["keep_place"]),
    ("callback-threshold-without-unit", _channel_line("callback: {offer_when: {predicted_wait_over: 120}}"), 8,
     "channels.calls.callback.offer_when.predicted_wait_over", ["unit"]),
    ("callback-negative-threshold", _channel_line("callback: {offer_when: {wait_over: -1min}}"), 8,
     "channels.calls.callback.offer_when.wait_over", ["non-negative"]),
    ("callback-unknown-field", _channel_line("callback: {offer_when: {wait_over: 1min}, acept: 0.5}"), 8,
     "channels.calls.callback.acept", ["did you mean 'accept'"]),
    ("callback-back-stage-entry", _channel_line("callback: {offer_when: {wait_over: 1min}}").replace(
        "    next: exit", "    stage: back\n    next: exit"), 8, "channels.calls.callback", ["back stage"]),
    ("callback-on-email", GOOD.replace(PATIENCE, "    kind: email\n    callback: {offer_when: {wait_over: 1min}}\n"),
     8, "channels.calls.callback", ["asynchronous"]),
    ("patience-per-unknown", _channel_line("patience_per: customer"), 8, "channels.calls.patience_per",
     ["'visit' or 'contact'"]),
    ("patience-per-on-email", GOOD.replace(PATIENCE, "    kind: email\n    patience_per: contact\n"), 8,
     "channels.calls.patience_per", ["asynchronous"]),
    ("keep-patience-not-boolean", _channel_line(
        'retrial: {probability: 0.5, delay: {dist: exponential, mean: 5min}, keep_patience: "yes"}'), 8,
     "channels.calls.retrial.keep_patience", ["boolean"]),
    ("patience-zero-above-one", GOOD.replace("mean: 3min}", "mean: 3min, zero: 1.5}"), 7,
     "channels.calls.patience.zero", ["less than or equal to 1"]),
    ("patience-zero-on-handle-time", GOOD.replace("cv: 1.2}", "cv: 1.2, zero: 0.1}"), 12,
     "steps.answer.handle_time.zero", ["not allowed", "unknown"]),
    ("head-start-negative", GOOD + "segments: {all: {head_start: -90s}}\n", 14, "segments.all.head_start",
     ["non-negative"]),
    ("head-start-without-unit", GOOD + "segments: {all: {head_start: 90}}\n", 14, "segments.all.head_start",
     ["unit"]),
]


def _run(tmp_path, text):
    f = tmp_path / "scenario.yaml"
    f.write_text(text, encoding="utf-8")
    res = CliRunner().invoke(app, ["validate", str(f)])
    return f, res


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_scenario_gives_located_message(tmp_path, case):
    _, text, line, field, words = case
    f, res = _run(tmp_path, text)
    out = res.output
    assert res.exit_code == EXIT_BAD_INPUT, out
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in out
    assert str(f) in out
    if line is not None:
        assert re.search(rf"{re.escape(str(f))}:{line}(:\d+)?: ", out), out
    if field:
        assert f" {field}: " in out or f" {field} " in out, out
    lowered = out.lower()
    assert any(w.lower() in lowered for w in words), out


def test_good_scenario_is_valid(tmp_path):
    _, res = _run(tmp_path, GOOD)
    assert res.exit_code == 0, res.output
    assert "valid" in res.output


def test_run_refuses_a_bad_file_the_same_way(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text(GOOD.replace("{rate: 2/min}", "{rat: 2/min}"))
    res = CliRunner().invoke(app, ["run", str(f), "-n", "1"])
    assert res.exit_code == EXIT_BAD_INPUT
    assert "did you mean 'rate'" in res.output


def test_missing_scenario_file(tmp_path):
    res = CliRunner().invoke(app, ["validate", str(tmp_path / "nope.yaml")])
    assert res.exit_code == EXIT_BAD_INPUT
    assert "not found" in res.output.lower() or "does not exist" in res.output.lower()


def test_python_tags_are_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "pwned"
    text = f'name: !!python/object/apply:os.system ["touch {marker}"]\n' + GOOD.split("\n", 1)[1]
    _, res = _run(tmp_path, text)
    assert res.exit_code == EXIT_BAD_INPUT
    assert not marker.exists()
    assert "tag" in res.output.lower()


def test_alias_bomb_is_refused(tmp_path):
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 9):
        prev = f"*a{i-1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 9)}]")
    _, res = _run(tmp_path, "\n".join(lines) + "\n")
    assert res.exit_code == EXIT_BAD_INPUT
    assert "alias" in res.output.lower()


def test_several_problems_are_reported_together(tmp_path):
    text = GOOD.replace("entry: answer", "entry: answr").replace("interval: 30min", "interval: 7min")
    _, res = _run(tmp_path, text)
    assert res.exit_code == EXIT_BAD_INPUT
    assert "channels.calls.entry" in res.output and "horizon.interval" in res.output


YAML11_TRAPS = textwrap.dedent("""\
    name: no
    horizon: {start: 8:30, end: "17:30", interval: 60min}
    segments:
      no: {share: 0.5}
      yes: {share: 0.5, priority: 1}
    channels:
      on: {arrivals: {rate: 1/min}, entry: off}
    pools:
      y: {agents: 2, skills: {off: 1.0}}
    steps:
      off: {handle_time: {dist: exponential, mean: 1min}}
    """)


def test_yaml_11_traps_do_not_bite(tmp_path):
    import servsim

    f = tmp_path / "traps.yaml"
    f.write_text(YAML11_TRAPS)
    s = servsim.load_scenario(f)
    assert s.name == "no"
    assert s.horizon.start == 8.5 * 3600          # 8:30 is a clock time, not 510
    assert set(s.segments) == {"no", "yes"}        # names, not booleans
    assert list(s.channels) == ["on"] and s.channels["on"].entry == "off"
    r = servsim.simulate(s, seed=1)
    assert r.summary["offered"].iloc[0] > 0


@pytest.mark.parametrize("number", [".inf", "-.inf", ".nan", "1e999", ".NaN"])
def test_non_finite_numbers_are_rejected(tmp_path, number):
    text = GOOD.replace("{agents: 3, skills: {answer: 1.0}}", f"{{agents: 3, skills: {{answer: 1.0}}, cost_per_hour: {number}}}")
    _, res = _run(tmp_path, text)
    assert res.exit_code == EXIT_BAD_INPUT, res.output
    assert "pools.agents.cost_per_hour" in res.output
    assert "finite" in res.output.lower()


# Inputs found by review: each must be refused with a located message, never a traceback or a hang.
HOSTILE = [
    ("tiny-interval", GOOD.replace("interval: 30min", "interval: 0.0001s"), "horizon.interval"),
    ("too-many-intervals", GOOD.replace('{start: "08:00", end: "12:00", interval: 30min}',
                                        '{start: "00:00", end: "24:00", interval: 1min, days: 3000}'),
     "horizon.interval"),
    ("volume-beyond-max-contacts", GOOD.replace("{rate: 2/min}", "{rate: 900/s}").replace(
        "interval: 30min}", "interval: 30min, days: 5}"), "channels.calls.arrivals"),
    ("lognormal-sigma-overflow", GOOD.replace("mean: 1min, cv: 1.2", "median: 1min, sigma: 1000"),
     "steps.answer.handle_time"),
    ("gamma-cv-underflow", GOOD.replace("dist: lognormal, mean: 1min, cv: 1.2", "dist: gamma, mean: 1min, cv: 1e-200"),
     "steps.answer.handle_time"),
    ("huge-duration", GOOD.replace("mean: 3min", "mean: 1e300s"), "channels.calls.patience.mean"),
    ("boolean-headcount", GOOD.replace("{agents: 3,", "{agents: true,"), "pools.agents.agents"),
    ("string-days", GOOD.replace("interval: 30min}", 'interval: 30min, days: "2"}'), "horizon.days"),
    ("negative-penalty", GOOD + "economics: {penalties: {per_abandoned: -1}}\n", "economics.penalties.per_abandoned"),
    ("satisfaction-zero-before-full", GOOD + "economics: {satisfaction: {full_until: 5min, zero_at: 1min}}\n",
     "economics.satisfaction"),
    ("weight-for-unknown-channel", GOOD + "economics: {satisfaction: {channel_weight: {chats: 0.9}}}\n",
     "economics.satisfaction.channel_weight.chats"),
    ("curve-for-unknown-channel", GOOD + "economics: {satisfaction: {curves: {mail: {zero_at: 1h}}}}\n",
     "economics.satisfaction.curves.mail"),
    ("curve-inverted", GOOD + "economics: {satisfaction: {curves: {calls: {full_until: 2h, zero_at: 1h}}}}\n",
     "economics.satisfaction.curves.calls"),
]


@pytest.mark.parametrize("case", HOSTILE, ids=[c[0] for c in HOSTILE])
def test_hostile_values_are_refused_with_a_location(tmp_path, case):
    _, text, field = case
    f, res = _run(tmp_path, text)
    assert res.exit_code == EXIT_BAD_INPUT, res.output
    assert "Traceback" not in res.output
    assert f" {field}: " in res.output, res.output


def test_markup_in_names_is_shown_literally(tmp_path):
    text = GOOD.replace("name: ok", 'name: "bad [/] name [link=file:///etc/passwd]x[/link]"')
    _, res = _run(tmp_path, text)
    assert res.exit_code == 0, res.output
    assert "bad [/] name" in res.output


def test_unwritable_out_folder_is_refused_before_running(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text(GOOD)
    blocker = tmp_path / "file"
    blocker.write_text("")
    res = CliRunner().invoke(app, ["run", str(f), "-n", "1", "--out", str(blocker / "sub")])
    assert res.exit_code == 4  # servsim.status.OUTPUT_FAILED: a file where the folder should be
    assert "cannot write to --out" in res.output


# The service-delivery fields: bad values name file, line and field. (id, replace old, new, field,
# text on the expected line, words the message must contain)
RICH = """\
name: rich
horizon: {start: "08:00", end: "18:00", interval: 30min}
channels:
  calls:
    arrivals: {rate: 2/min}
    entry: answer
    patience: {dist: exponential, mean: 3min}
    retrial: {probability: 0.5, delay: {dist: exponential, mean: 10min}}
    balking: {queue: 10, probability: 0.5}
  mail:
    kind: email
    arrivals: {rate: 1/min}
    entry: claims
pools:
  agents:
    agents: 6
    concurrency: 2
    shrinkage: 0.2
    resolution: 0.9
    skills: {answer: 1.0, claims: 1.0}
  partner: {kind: vendor, agents: unlimited, price_per_contact: 3.5}
  robots: {kind: bots, agents: 2, licence_cost: 900, cost_per_transaction: 0.1}
steps:
  answer:
    handle_time: {dist: lognormal, mean: 1min, cv: 1.2}
    outsource: {to: partner, queue_over: 5}
  claims:
    stage: back
    handle_time: {dist: exponential, mean: 10min}
    automation: {bots: robots, level: 0.6, handle_time: {dist: exponential, mean: 2min}, exception_rate: 0.2}
"""

REALISM_CASES = [
    ("automation-level-above-1", "level: 0.6", "level: 1.5", "steps.claims.automation.level", "level: 1.5",
     ["less than or equal to 1"]),
    ("exception-rate-negative", "exception_rate: 0.2", "exception_rate: -0.2",
     "steps.claims.automation.exception_rate", "exception_rate", ["greater than or equal to 0"]),
    ("containment-and-exception-rate", "exception_rate: 0.2", "exception_rate: 0.2, containment: 0.7",
     "steps.claims.automation", "containment", ["not both"]),
    ("outsource-share-above-1", "queue_over: 5", "share: 1.2", "steps.answer.outsource.share", "share: 1.2",
     ["less than or equal to 1"]),
    ("retrial-probability-above-1", "probability: 0.5, delay", "probability: 2, delay",
     "channels.calls.retrial.probability", "retrial:", ["less than or equal to 1"]),
    ("balking-share-negative", "queue: 10, probability: 0.5", "queue: 10, probability: -0.5",
     "channels.calls.balking.probability", "balking:", ["greater than or equal to 0"]),
    ("shrinkage-of-1", "shrinkage: 0.2", "shrinkage: 1.0", "pools.agents.shrinkage", "shrinkage", ["less than 1"]),
    ("resolution-above-1", "resolution: 0.9", "resolution: 1.1", "pools.agents.resolution", "resolution",
     ["less than or equal to 1"]),
    ("concurrency-0", "concurrency: 2", "concurrency: 0", "pools.agents.concurrency", "concurrency",
     ["greater than or equal to 1"]),
    ("overflow-to-missing-pool", "to: partner", "to: partnr", "steps.answer.outsource.to", "to: partnr",
     ["does not exist", "did you mean 'partner'"]),
    ("overflow-to-agents-pool", "to: partner", "to: agents", "steps.answer.outsource.to", "to: agents",
     ["kind 'agents'", "vendor"]),
    ("bots-missing", "bots: robots", "bots: robot", "steps.claims.automation.bots", "bots: robot",
     ["does not exist", "did you mean 'robots'"]),
    ("exceptions-to-missing-step", "exception_rate: 0.2}", "exception_rate: 0.2, exceptions_to: review}",
     "steps.claims.automation.exceptions_to", "exceptions_to", ["step 'review' does not exist"]),
    ("negative-vendor-price", "price_per_contact: 3.5", "price_per_contact: -3.5", "pools.partner.price_per_contact",
     "price_per_contact", ["greater than or equal to 0"]),
    ("negative-licence", "licence_cost: 900", "licence_cost: -900", "pools.robots.licence_cost", "licence_cost",
     ["greater than or equal to 0"]),
    ("price-on-agents-pool", "resolution: 0.9", "resolution: 0.9\n    price_per_contact: 2",
     "pools.agents.price_per_contact", "price_per_contact: 2", ["only applies to pools of kind 'vendor'"]),
    ("unlimited-agents-with-shrinkage", "agents: 6", "agents: unlimited", "pools.agents.shrinkage",
     "shrinkage: 0.2", ["'unlimited' agents pool is on duty all the time", "remove 'shrinkage'"]),
    ("email-with-patience", "entry: claims", "entry: claims\n    patience: {dist: exponential, mean: 1h}",
     "channels.mail.patience", "mean: 1h", ["asynchronous"]),
    ("overflow-without-condition", "queue_over: 5", "segments: [all]", "steps.answer.outsource", "outsource:",
     ["give a 'share' or an overflow condition"]),
    ("break-longer-than-window", "agents: 6", 'shifts: [{start: "08:00", end: "18:00", agents: 6, '
     'breaks: [{start: "12:00", end: "12:15", length: 30min}]}]', "pools.agents.shifts[0].breaks[0]", "breaks",
     ["at least as long as the break"]),
]


#: individual agents (pools.<name>.agent_proficiency / agent_proficiencies) and routing among idle pools
ONE = "concurrency: 2"
REALISM_CASES += [
    ("agent-proficiency-cv-negative", ONE, "concurrency: 1\n    agent_proficiency: {cv: -0.5}",
     "pools.agents.agent_proficiency.cv", "agent_proficiency", ["greater than or equal to 0"]),
    ("agent-proficiency-cv-huge", ONE, "concurrency: 1\n    agent_proficiency: {cv: 5}",
     "pools.agents.agent_proficiency.cv", "agent_proficiency", ["less than or equal to 3"]),
    ("agent-proficiency-unknown-dist", ONE, "concurrency: 1\n    agent_proficiency: {dist: weibull, cv: 0.3}",
     "pools.agents.agent_proficiency.dist", "agent_proficiency", ["lognormal", "gamma"]),
    ("agent-proficiency-mean-given", ONE, "concurrency: 1\n    agent_proficiency: {mean: 1.2, cv: 0.3}",
     "pools.agents.agent_proficiency.mean", "agent_proficiency", ["unknown field", "cv"]),
    ("agent-proficiency-a-number", ONE, "concurrency: 1\n    agent_proficiency: 0.3",
     "pools.agents.agent_proficiency", "agent_proficiency", ["dictionary"]),
    ("agent-proficiencies-empty", ONE, "concurrency: 1\n    agent_proficiencies: []",
     "pools.agents.agent_proficiencies", "agent_proficiencies", ["at least 1"]),
    ("agent-proficiencies-negative", ONE, "concurrency: 1\n    agent_proficiencies: [1.0, -2]",
     "pools.agents.agent_proficiencies[1]", "agent_proficiencies", ["greater than 0"]),
    ("agent-proficiency-both", ONE, "concurrency: 1\n    agent_proficiency: {cv: 0.2}\n    agent_proficiencies: [1.0]",
     "pools.agents.agent_proficiencies", "agent_proficiencies", ["not both"]),
    ("agent-proficiency-with-concurrency", ONE, "concurrency: 2\n    agent_proficiency: {cv: 0.2}",
     "pools.agents.agent_proficiency", "agent_proficiency", ["one contact at a time", "concurrency: 1"]),
    ("agent-proficiency-on-vendor", "price_per_contact: 3.5}", "price_per_contact: 3.5, agent_proficiency: {cv: 0.2}}",
     "pools.partner.agent_proficiency", "agent_proficiency", ["only applies to pools of kind 'agents'"]),
    ("idle-pools-unknown", "steps:\n", "routing: {idle_pools: fastest}\nsteps:\n", "routing.idle_pools",
     "idle_pools", ["priority", "random", "longest_idle"]),
    ("routing-unknown-key", "steps:\n", "routing: {idle_pool: random}\nsteps:\n", "routing.idle_pool",
     "idle_pool", ["did you mean 'idle_pools'"]),
]


#: finite capacity: trunk lines (channels.<c>.lines, trunks), queue_capacity, unlimited agents pools
LINES = "entry: answer\n    patience"
TRUNK = "trunks: {main: {lines: 5}}\nsteps:\n"
REALISM_CASES += [
    ("lines-0", LINES, "entry: answer\n    lines: 0\n    patience", "channels.calls.lines", "lines: 0",
     ["whole number of lines from 1", "'trunks' entry", "got 0"]),
    ("lines-negative", LINES, "entry: answer\n    lines: -3\n    patience", "channels.calls.lines", "lines: -3",
     ["whole number of lines from 1"]),
    ("lines-fraction", LINES, "entry: answer\n    lines: 2.5\n    patience", "channels.calls.lines", "lines: 2.5",
     ["whole number of lines"]),
    ("lines-unknown-trunk-none-given", LINES, "entry: answer\n    lines: main\n    patience", "channels.calls.lines",
     "lines: main", ["trunk 'main' does not exist", "there are no 'trunks'"]),
    ("lines-unknown-trunk", "channels:\n  calls:\n    arrivals: {rate: 2/min}\n    entry: answer\n",
     TRUNK.replace("steps:", "channels:") + "  calls:\n    arrivals: {rate: 2/min}\n    entry: answer\n    lines: mian\n",
     "channels.calls.lines", "lines: mian", ["trunk 'mian' does not exist", "did you mean 'main'"]),
    ("trunk-lines-0", "steps:\n", "trunks: {main: {lines: 0}}\nsteps:\n", "trunks.main.lines", "trunks:",
     ["greater than or equal to 1"]),
    ("trunk-unknown-key", "steps:\n", "trunks: {main: {line: 4}}\nsteps:\n", "trunks.main.line", "trunks:",
     ["did you mean 'lines'"]),
    ("queue-capacity-negative", "queue_over: 5}", "queue_over: 5}\n    queue_capacity: -1",
     "steps.answer.queue_capacity", "queue_capacity", ["greater than or equal to 0"]),
    ("queue-capacity-fraction", "queue_over: 5}", "queue_over: 5}\n    queue_capacity: 2.5",
     "steps.answer.queue_capacity", "queue_capacity", ["valid integer"]),
    ("unlimited-agents-with-schedule", "agents: 6\n    concurrency: 2\n    shrinkage: 0.2",
     "agents: unlimited\n    schedule: [1]", "pools.agents.schedule", "schedule", ["on duty all the time"]),
    ("unlimited-agents-with-shifts", "agents: 6\n    concurrency: 2\n    shrinkage: 0.2",
     'agents: unlimited\n    shifts: [{start: "08:00", end: "12:00", agents: 2}]', "pools.agents.shifts", "shifts",
     ["on duty all the time", "give 'agents' a number"]),
    ("unlimited-agents-with-proficiencies", "agents: 6\n    concurrency: 2\n    shrinkage: 0.2",
     "agents: unlimited\n    agent_proficiencies: [1.0, 1.2]", "pools.agents.agent_proficiencies",
     "agent_proficiencies", ["on duty all the time"]),
]


@pytest.mark.parametrize("case", REALISM_CASES, ids=[c[0] for c in REALISM_CASES])
def test_bad_service_delivery_values_are_located(tmp_path, case):
    _, old, new, field, on_line, words = case
    assert old in RICH
    text = RICH.replace(old, new, 1)
    line = next(i for i, row in enumerate(text.splitlines(keepends=True), start=1) if on_line in row)
    f, res = _run(tmp_path, text)
    out = res.output
    assert res.exit_code == EXIT_BAD_INPUT, out
    assert "Traceback" not in out
    assert re.search(rf"{re.escape(str(f))}:{line}(:\d+)?: ", out), (line, out)
    assert f" {field}: " in out or f" {field} " in out, out
    assert all(w.lower() in out.lower() for w in words), out


def test_longest_idle_routing_refuses_pools_holding_several_contacts(tmp_path):
    text = RICH.replace("steps:\n", "routing: {idle_pools: longest_idle}\nsteps:\n", 1).replace(
        "  partner:", "  second: {agents: 2, skills: {answer: 1.0}}\n  partner:", 1)
    line = next(i for i, row in enumerate(text.splitlines(), start=1) if "idle_pools" in row)
    f, res = _run(tmp_path, text)
    out = res.output
    assert res.exit_code == EXIT_BAD_INPUT, out
    assert re.search(rf"{re.escape(str(f))}:{line}(:\d+)?: routing.idle_pools: ", out), out
    assert "pool 'agents' shares a step with another pool and has concurrency 2" in out, out
    # random routing needs no individuals: the same file runs with it
    f, res = _run(tmp_path, text.replace("longest_idle", "random"))
    assert res.exit_code == 0, res.output


def test_rich_scenario_is_valid_and_runs(tmp_path):
    import servsim

    f, res = _run(tmp_path, RICH)
    assert res.exit_code == 0, res.output
    r = servsim.simulate(servsim.load_scenario(f), seed=1)
    assert r.summary["offered"].iloc[0] > 0


# Arrival traces: each bad file is refused naming the scenario field, the CSV file and its line.
# (id, CSV bytes, day column or None, words the message must contain)
TRACE_FILES = [
    ("bad-clock", b"time\n08:00:00\n8h01\n", None, ["calls.csv line 3", "not a clock time"]),
    ("blank-time", b"time,day\n08:00:00,1\n,2\n", "day", ["calls.csv line 3", "no time"]),
    ("missing-day", b"time,day\n08:00:00,1\n08:01:00\n", "day", ["calls.csv line 3", "day no value"]),
    ("day-zero", b"time,day\n08:00:00,0\n", "day", ["line 2", "day '0'", "from 1 to 3660"]),
    ("day-with-many-digits", b"time,day\n08:00:00," + b"9" * 5000 + b"\n", "day", ["line 2", "from 1 to 3660"]),
    ("day-not-whole", b"time,day\n08:00:00,1.5\n", "day", ["line 2", "day '1.5'"]),
    ("no-day-column", b"time\n08:00:00\n", "day", ["column 'day' not in calls.csv", "columns are time"]),
    ("no-time-column", b"when\n08:00:00\n", None, ["column 'time' not in calls.csv", "columns are when"]),
    ("empty", b"", None, ["is empty"]),
    ("header-only", b"time\n\n", None, ["has no values"]),
    ("not-utf8", b"time\n08:00:00\n\xff\xfe\n", None, ["not UTF-8", "0xff"]),
    ("field-too-long", b"time\n\"" + b"x" * 200_000 + b"\"\n", None, ["calls.csv line 2", "not readable as CSV"]),
]


@pytest.mark.parametrize("case", TRACE_FILES, ids=[c[0] for c in TRACE_FILES])
def test_bad_trace_files_are_refused_naming_file_and_line(tmp_path, case):
    _, data, day, words = case
    (tmp_path / "calls.csv").write_bytes(data)
    trace = "{file: calls.csv" + (f", day_column: {day}" if day else "") + "}"
    f, res = _run(tmp_path, GOOD.replace("{rate: 2/min}", "{trace: " + trace + "}"))
    out = " ".join(res.output.split())
    assert res.exit_code == EXIT_BAD_INPUT, res.output
    assert "Traceback" not in out
    assert "channels.calls.arrivals.trace" in out and ":5" in out, out
    for w in words:
        assert w in out, (w, out)


def test_a_trace_with_a_byte_order_mark_and_a_day_column_replays_every_day(tmp_path):
    import servsim

    (tmp_path / "calls.csv").write_bytes("\ufefftime,day\n08:00:00,1\n09:30:00,2\n10:00:00,3\n".encode())
    f = tmp_path / "s.yaml"
    f.write_text(GOOD.replace("{rate: 2/min}", "{trace: {file: calls.csv, day_column: day}}")
                 .replace("interval: 30min}", "interval: 30min, days: 2}"))
    arrivals = servsim.simulate(servsim.load_scenario(f), seed=1).contacts["arrival_s"].tolist()
    assert arrivals == [8 * 3600, 86400 + 9.5 * 3600]  # day 3 is beyond the horizon


def test_a_long_path_stays_on_one_line_so_it_can_be_copied(tmp_path):
    folder = tmp_path / ("a-rather-long-folder-name-" * 4) / "scenarios"
    folder.mkdir(parents=True)
    f, res = _run(folder, GOOD.replace("2/min", "-2/min"))
    assert res.exit_code == EXIT_BAD_INPUT
    lines = res.output.splitlines()
    assert any(str(f) in line and "is not a valid scenario" in line for line in lines), res.output
    assert any(line.strip().startswith(f"{f}:5:") for line in lines), res.output


@pytest.mark.parametrize("written", ["DIST", "Dist", "dsit"])
def test_a_misspelt_dist_key_is_named_with_the_fix(tmp_path, written):
    path = tmp_path / "s.yaml"
    path.write_text(f"""name: x
channels:
  calls: {{arrivals: {{rate: 4/min}}, entry: answer}}
pools:
  agents: {{agents: 6, skills: {{answer: 1.0}}}}
steps:
  answer: {{handle_time: {{{written}: exponential, mean: 1min}}}}
""")
    with pytest.raises(servsim.ScenarioError) as info:
        servsim.load_scenario(path)
    text = str(info.value)
    assert "s.yaml:7:" in text and f"unknown field '{written}' (did you mean 'dist'?)" in text
    assert "Unable to extract tag" not in text


# Wrap-up and interruptible work: (id, replace old, new, field, text on the expected line, words)
BLENDED = """\
name: blended
horizon: {start: "08:00", end: "18:00", interval: 30min}
channels:
  calls: {arrivals: {rate: 2/min}, entry: answer}
  mail: {kind: email, arrivals: {rate: 1/min}, entry: reply}
pools:
  agents:
    agents: 6
    skills:
      answer: 1.0
      reply: {interruptible: resume}
  robots: {kind: bots, agents: 2}
steps:
  answer:
    handle_time: {dist: exponential, mean: 3min}
    wrap_up: {dist: deterministic, value: 30s}
  reply:
    stage: back
    handle_time: {dist: exponential, mean: 10min}
    next: scan
  scan:
    stage: back
    automation: {bots: robots, handle_time: {dist: exponential, mean: 1min}}
"""

WRAP_CASES = [
    ("negative-wrap-up", "value: 30s", "value: -30s", "steps.answer.wrap_up", "value: -30s", ["non-negative"]),
    ("wrap-up-without-unit", "value: 30s", "value: 30", "steps.answer.wrap_up", "value: 30", ["45s"]),
    ("wrap-up-unknown-distribution", "dist: deterministic", "dist: fixed", "steps.answer.wrap_up", "dist: fixed",
     ["deterministic"]),
    ("wrap-up-on-a-bots-step", "mean: 1min}}", "mean: 1min}}\n    wrap_up: {dist: exponential, mean: 10s}",
     "steps.scan.wrap_up", "mean: 10s", ["bots do all the work", "remove wrap_up"]),
    ("interruptible-front-stage", "answer: 1.0", "answer: {interruptible: resume}",
     "pools.agents.skills.answer.interruptible", "answer: {interruptible", ["front stage", "stage: back"]),
    ("interruptible-unknown-mode", "interruptible: resume", "interruptible: pause",
     "pools.agents.skills.reply.interruptible", "interruptible: pause", ["resume", "restart"]),
    ("interruptible-with-concurrency", "agents: 6\n", "agents: 6\n    concurrency: 2\n",
     "pools.agents.skills.reply.interruptible", "interruptible: resume", ["concurrency", "whole agent"]),
]


@pytest.mark.parametrize("case", WRAP_CASES, ids=[c[0] for c in WRAP_CASES])
def test_bad_wrap_up_and_interruptible_values_are_located(tmp_path, case):
    _, old, new, field, on_line, words = case
    assert old in BLENDED
    text = BLENDED.replace(old, new, 1)
    line = next(i for i, row in enumerate(text.splitlines(keepends=True), start=1) if on_line in row)
    f, res = _run(tmp_path, text)
    out = res.output
    assert res.exit_code == EXIT_BAD_INPUT, out
    assert "Traceback" not in out
    assert re.search(rf"{re.escape(str(f))}:{line}(:\d+)?: ", out), (line, out)
    assert f" {field}" in out, out
    assert all(w.lower() in out.lower() for w in words), out


def test_blended_scenario_is_valid_and_runs(tmp_path):
    f, res = _run(tmp_path, BLENDED)
    assert res.exit_code == 0, res.output
    r = servsim.simulate(servsim.load_scenario(f), seed=3)
    assert r.summary.iloc[0]["mean_wrap_s"] > 0


# --------------------------------------------------------------------------- closing time, late days,
# busyness and per-interval factors: (id, text, line, field, words that must all be in the message)
TIMING_CASES = [
    ("unknown-closing", GOOD.replace("interval: 30min}", "interval: 30min, closing: drian}"), 2,
     "horizon.closing", ["'carry_over'", "'drain'", "'drop'"]),
    ("end-past-48h", GOOD.replace('end: "12:00"', 'end: "50:00"'), 2, "horizon.end", ["48:00", "26:00"]),
    ("window-over-a-day", GOOD.replace('start: "08:00", end: "12:00"', 'start: "08:00", end: "33:00"'), 2,
     "horizon.end", ["longer than 24 hours", "26:00"]),
    ("start-after-end", GOOD.replace('start: "08:00", end: "12:00"', 'start: "18:00", end: "02:00"'), 2,
     "horizon.end", ["end after it starts", "26:00"]),
    ("negative-busyness-cv", GOOD.replace("{rate: 2/min}", "{rate: 2/min, busyness: {cv: -0.2}}"), 5,
     "channels.calls.arrivals.busyness.cv", ["greater than or equal to 0"]),
    ("unknown-busyness-per", GOOD.replace("{rate: 2/min}", "{rate: 2/min, busyness: {cv: 0.2, per: week}}"), 5,
     "channels.calls.arrivals.busyness.per", ["'day'", "'interval'"]),
    ("handle-factors-count", GOOD.replace("    next: exit\n", "    next: exit\n    handle_time_factors: [1, 1.2]\n"),
     14, "steps.answer.handle_time_factors", ["2 factors for 8 intervals", "30min"]),
    ("handle-factor-zero", GOOD.replace("    next: exit\n", "    next: exit\n    handle_time_factors: [1, 0, 1, 1, 1, 1, 1, 1]\n"),
     14, "steps.answer.handle_time_factors[1]", ["greater than 0"]),
    ("patience-factors-count", GOOD.replace("    entry: answer\n", "    entry: answer\n    patience_factors: [1, 2, 3]\n"),
     7, "channels.calls.patience_factors", ["3 factors for 8 intervals"]),
    ("patience-factor-negative", GOOD.replace("    entry: answer\n", "    entry: answer\n    patience_factors: [1, 1, 1, -1, 1, 1, 1, 1]\n"),
     7, "channels.calls.patience_factors[3]", ["greater than 0"]),
]


@pytest.mark.parametrize("case", TIMING_CASES, ids=[c[0] for c in TIMING_CASES])
def test_bad_timing_values_are_located(tmp_path, case):
    _, text, line, field, words = case
    f, res = _run(tmp_path, text)
    out = res.output
    assert res.exit_code == EXIT_BAD_INPUT, out
    assert "Traceback" not in out
    assert re.search(rf"{re.escape(str(f))}:{line}(:\d+)?: ", out), (line, out)
    assert f" {field}: " in out or f" {field} " in out, out
    assert all(w.lower() in out.lower() for w in words), out
