"""``servsim teach``: lesson files, the precomputed grid, the replay, and the shipped pages in Chromium.

The browser tests open every shipped lesson page from ``file://`` in the system Chromium (as
``tests/browser.py`` starts it) and check what a trainer relies on: nothing is fetched but the page
itself, a slider moved with the keyboard shows exactly what ``servsim.replicate`` gives for that
cell, the update takes under 200 ms by the page's own clock, the replay's queue and busy seats
equal the engine's visit log, pause, step and speed work, the URL fragment restores the settings,
and axe-core finds no WCAG 2 A/AA violation.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import servsim
from browser import CHROMIUM_ARGS, chromium_path
from conftest import ROOT
from servsim import __version__
from servsim.cli import app
from servsim.random import replication_seeds
from servsim.report import format as fmt
from servsim.scenario import ScenarioError
from servsim.teach.grid import LEVEL, kpi_values
from servsim.teach.lesson import load_lesson, replay_step
from servsim.teach.page import lesson_hash, teach
from servsim.teach.replay import levels, replay_events, step_visits

LESSONS = ROOT / "lessons"
SHIPPED = sorted(LESSONS.glob("*.yaml"))
MAX_BYTES = 5_000_000


def _data(html: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="lesson-data">(.*?)</script>', html, re.S)
                      .group(1))


# --------------------------------------------------------------------------- lesson files


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


SMALL_SCENARIO = """
name: tiny M/M/3
horizon: {start: "08:00", end: "09:30", interval: 30min, warmup: 30min}
channels:
  calls: {arrivals: {rate: 2.4/min}, entry: answer, patience: {dist: exponential, mean: 2min}}
pools:
  agents: {agents: 3, skills: {answer: 1.0}}
steps:
  answer: {handle_time: {dist: exponential, mean: 1min}}
"""

SMALL_LESSON = """
title: A tiny lesson
scenario: tiny.yaml
question: What happens?
kpis: [asa_s, service_level, abandon_rate, occupancy]
replications: 3
seed: 11
parameters:
  - {name: agents, label: agents, path: pools.agents.agents, values: [2, 3], start: 3}
  - {name: n, label: replications, path: replications, values: [1, 3]}
replay: {start: "08:30", length: 20min}
assumptions: Erlang A's.
"""


def test_a_small_lesson_page_shows_what_replicate_gives(tmp_path):
    _write(tmp_path, "tiny.yaml", SMALL_SCENARIO)
    lesson = load_lesson(_write(tmp_path, "tiny_lesson.yaml", SMALL_LESSON))
    assert lesson.shape == (2, 2) and len(lesson.scenarios) == 2 and lesson.start == (1, 0)
    result = teach(lesson, tmp_path / "out" / "tiny.html")
    html = (tmp_path / "out" / "tiny.html").read_text(encoding="utf-8")
    assert html == result.html and result.size < MAX_BYTES
    data = _data(html)
    assert [p["values"] for p in data["parameters"]] == [["2", "3"], ["1", "3"]]
    assert [k["label"] for k in data["kpis"]] == [fmt.label("asa_s"), fmt.label("service_level"),
                                                   fmt.label("abandon_rate"), fmt.label("occupancy") + ", agents"]
    for cell, shown in zip(lesson.cells, data["cells"]):
        table = servsim.replicate(cell.scenario, replications=cell.replications, seed=11).kpi_table()
        for k in lesson.kpis:
            want = [None if x != x else x for x in kpi_values(table, k)]  # JSON has no NaN: null
            assert shown["k"][k.key] == want
        assert [m["model"] for m in shown["t"]] == ["M/M/c+M (Erlang A)", "Erlang C, ignoring abandonment"]
    # self-contained: no src or href anywhere
    assert not re.findall(r'(?:src|href)="', html)
    assert f'content="{lesson_hash(lesson)}"' in html and f"servsim {__version__}" in html


def test_the_replay_list_gives_the_visit_logs_levels(tmp_path):
    _write(tmp_path, "tiny.yaml", SMALL_SCENARIO)
    lesson = load_lesson(_write(tmp_path, "tiny_lesson.yaml", SMALL_LESSON))
    scenario = lesson.scenarios[0]  # two agents: a queue and abandonment
    run = servsim.simulate(scenario, replication_seeds(11, 1)[0])
    start = 8.5 * 3600
    events = replay_events(run, scenario, "answer", start, 1200)
    assert 1 in events["o"], "the window has abandonments"
    rng = np.random.default_rng(0)
    for t in rng.uniform(0, 1200, 200):
        assert levels(events, t * 1000) == _levels_from_log(run.visits, "answer", start + t)


def _levels_from_log(visits, step: str, t: float) -> tuple[int, int]:
    """(waiting, in service) at absolute time t, straight from the engine's visit records."""
    v = step_visits(visits, step)
    left_queue = v["start_s"].fillna(v["end_s"]).fillna(np.inf)
    waiting = int(((v["queued_s"] <= t) & (t < left_queue)).sum())
    serving = int(((v["start_s"] <= t) & (t < v["end_s"].fillna(np.inf))).sum())
    return waiting, serving


@pytest.mark.parametrize("text, where", [
    ("kpis: [asa_s, servce_level]", "kpis.1: unknown KPI 'servce_level' (did you mean 'service_level'?"),
    ("parameters:\n  - {label: a, path: pools.agent.agents, values: [1]}",
     "parameters.0.path: pools.agent.agents: 'agent' not found under 'pools'; did you mean 'pools.agents.agents'?"),
    ("parameters:\n  - {label: a, path: pools.agents.agents, values: [2, fast]}",
     "parameters.0.values.1: value 'fast' does not fit"),
    ("presets: [{label: x, values: {agent: 3}}]",
     "presets.0.values.agent: no parameter 'agent' (did you mean 'agents'?"),
    ("replay: {step: anser}", "replay.step: no step 'anser' (did you mean 'answer'?"),
    ("colour: red", "colour: unknown field 'colour'"),
])
def test_bad_lesson_files_are_located_and_never_a_traceback(tmp_path, text, where):
    _write(tmp_path, "tiny.yaml", SMALL_SCENARIO)
    base = SMALL_LESSON
    key = text.split(":")[0]
    if key in ("kpis", "parameters", "replay"):
        base = re.sub(rf"^{key}:.*?(?=^\w)", "", base, flags=re.M | re.S)
    path = _write(tmp_path, "bad.yaml", base + text + "\n")
    with pytest.raises(ScenarioError) as info:
        load_lesson(path)
    assert where in str(info.value), str(info.value)
    line = re.match(r".*bad\.yaml:(\d+):\d+: ", str(info.value).splitlines()[0])
    assert line, str(info.value)
    res = CliRunner().invoke(app, ["teach", str(path), "--out", str(tmp_path / "x.html")])
    assert res.exit_code == 2 and "Traceback" not in res.output and "is not a valid lesson file" in res.output
    assert not (tmp_path / "x.html").exists()


def test_teach_help_fits_80_columns():
    res = CliRunner().invoke(app, ["teach", "--help"], env={"COLUMNS": "80"})
    assert res.exit_code == 0 and "LESSON" in res.output and "--out" in res.output
    assert max(len(line) for line in res.output.splitlines()) <= 80 and "…" not in res.output


def test_teach_names_the_command_for_a_scenario(tmp_path):
    res = CliRunner().invoke(app, ["teach", str(ROOT / "scenarios" / "mmc.yaml")])
    assert res.exit_code == 2 and "is a scenario, not a lesson file" in res.output and "servsim run" in res.output


# --------------------------------------------------------------------------- shipped pages


@pytest.mark.parametrize("yaml_file", SHIPPED, ids=lambda p: p.stem)
def test_each_shipped_page_is_made_from_its_lesson_by_this_servsim(yaml_file):
    page = yaml_file.with_suffix(".html")
    assert page.exists(), f"generate it: servsim teach {yaml_file.relative_to(ROOT)}"
    html = page.read_text(encoding="utf-8")
    assert len(html.encode("utf-8")) <= MAX_BYTES
    lesson = load_lesson(yaml_file)
    assert f'<meta name="servsim-lesson-sha256" content="{lesson_hash(lesson)}">' in html, \
        f"{page.name} is older than {yaml_file.name}: run servsim teach {yaml_file.relative_to(ROOT)}"
    assert f'<meta name="generator" content="servsim {__version__}">' in html
    assert len(_data(html)["cells"]) == len(lesson.cells)


def test_the_eight_lessons_are_shipped():
    assert {p.stem for p in SHIPPED} == {"hockey_stick", "pooling", "variability", "abandonment", "time_varying",
                                         "priorities", "replications", "bots_and_vendors"}


# --------------------------------------------------------------------------- in Chromium


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def _open(browser, file: Path, width: int = 1280, height: int = 900, fragment: str = ""):
    page = browser.new_page(viewport={"width": width, "height": height})
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(file.resolve().as_uri() + fragment, wait_until="load")
    page.wait_for_function("document.documentElement.dataset.readyMs !== undefined")
    return page, requests, errors


AXE = None


def _axe_violations(page) -> list[dict]:
    global AXE
    if AXE is None:
        import axe_playwright_python

        AXE = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")
    page.evaluate(AXE)
    result = page.evaluate("axe.run(document, {runOnly: {type: 'tag', values: "
                           "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})")
    return [{"id": v["id"], "nodes": [n["target"] for n in v["nodes"]][:3]} for v in result["violations"]]


@pytest.mark.parametrize("yaml_file", SHIPPED, ids=lambda p: p.stem)
def test_each_page_works_offline_and_a_keyboard_slider_shows_replicates_numbers(browser, yaml_file):
    page_file = yaml_file.with_suffix(".html")
    page, requests, errors = _open(browser, page_file)
    try:
        # offline: the page itself, nothing else (the data and assets are inline; no data: or blob: either)
        assert requests == [page_file.resolve().as_uri()], requests
        timing = page.evaluate("JSON.stringify(performance.getEntriesByType('navigation')[0])")
        nav = json.loads(timing)
        assert nav["domInteractive"] < 2000 and float(page.evaluate("document.documentElement.dataset.readyMs")) < 2000
        page.click("#reveal")
        assert _axe_violations(page) == []
        lesson = load_lesson(yaml_file)
        # move the last slider one step with the keyboard (right, or left at its end)
        p = len(lesson.parameters) - 1
        param = lesson.parameters[p]
        slider = page.locator(f"#param-{param.key}")
        slider.focus()
        key = "ArrowLeft" if lesson.start[p] == param.size - 1 else "ArrowRight"
        slider.press(key)
        index = list(lesson.start)
        index[p] += -1 if key == "ArrowLeft" else 1
        cell = lesson.cell(tuple(index))
        assert page.locator("#lesson").get_attribute("data-cell") == str(lesson.cells.index(cell))
        update = float(page.locator("#lesson").get_attribute("data-update-ms") or "nan")
        assert update < 200, update
        table = servsim.replicate(cell.scenario, replications=cell.replications, seed=lesson.spec.seed).kpi_table(LEVEL)
        currency = lesson.base.economics.currency
        for k in lesson.kpis:
            mean, hw = kpi_values(table, k)
            shown = page.locator(f'.card[data-kpi="{k.key}"] .value').inner_text()
            assert shown == fmt.estimate(mean, hw, fmt.kind_of(k.metric), currency), (k.key, shown)
        assert errors == []
    finally:
        page.close()


def test_format_js_writes_what_the_python_formatter_writes(browser):
    page, _, _ = _open(browser, LESSONS / "hockey_stick.html")
    cases = [(0.8125, 0.0625, "share"), (0.84125, 0.024, "share"), (40.05, 3.25, "duration"), (0.25, None, "duration"),
             (119.95, 1.0, "duration"), (7200.0, 30.0, "duration"), (1234.5, 94.5, "count"), (2.5, 0.25, "count"),
             (4526.0, 3.0, "money"), (3.405, 0.125, "money"), (0.825, 0.03, "ratio"), (-0.0004, 0.00004, "share"),
             (float("nan"), 1.0, "share"), (0.0, 0.0, "duration"), (0.001, 0.0004, "duration"), (170.1, 0.04, "hours")]
    try:
        got = page.evaluate("cs => cs.map(c => [servsimFormat.estimate(c[0], c[1], c[2]), "
                            "servsimFormat.value(c[0], c[2])])", [[None if m != m else m, h, k] for m, h, k in cases])
        want = [[fmt.estimate(m, h, k), fmt.value(m, k)] for m, h, k in cases]
        assert got == want
    finally:
        page.close()


def _replay_check(page, lesson, index, instants: int = 50) -> None:
    """At ``instants`` times of the window, the page's queue and busy seats equal the visit log's."""
    cell = lesson.cell(index)
    run = servsim.simulate(cell.scenario, replication_seeds(lesson.spec.seed, 1)[0])
    h = cell.scenario.horizon
    start = lesson.spec.replay.start if lesson.spec.replay.start is not None else h.start + h.warmup
    step = replay_step(lesson.spec, lesson.base)
    v = step_visits(run.visits, step)
    times = np.concatenate([v[c].dropna().to_numpy() for c in ("queued_s", "start_s", "end_s")])
    rng = np.random.default_rng(1)
    checked, queued = 0, 0
    while checked < instants:
        t = float(rng.uniform(0, lesson.spec.replay.length))
        if np.min(np.abs(times - (start + t))) < 0.005:  # the page keeps times to the millisecond
            continue
        page.evaluate("ms => document.getElementById('replay').servsimReplay.seek(ms)", t * 1000)
        shown = (int(page.locator("#replay").get_attribute("data-queue")),
                 int(page.locator("#replay").get_attribute("data-busy")))
        assert shown == _levels_from_log(run.visits, step, start + t), t
        checked += 1
        queued += shown[0] > 0
    assert queued > 5, "the window should show a queue"


def test_the_replay_is_the_engines_visit_log_and_its_controls_work(browser):
    lesson = load_lesson(LESSONS / "abandonment.yaml")
    index = (1, 2)  # 7 agents, patience 10 min: a queue, abandonment
    p = lesson.parameters
    fragment = f"#{p[0].key}={p[0].shown(index[0])}&{p[1].key}={p[1].shown(index[1]).replace(' ', '%20')}"
    page, _, _ = _open(browser, LESSONS / "abandonment.html", fragment=fragment)
    try:
        assert page.locator("#lesson").get_attribute("data-cell") == str(lesson.cells.index(lesson.cell(index)))
        _replay_check(page, lesson, index)
        replay = page.locator("#replay")
        # pause: the clock stands still
        page.evaluate("document.getElementById('replay').servsimReplay.seek(60000)")
        t0 = replay.get_attribute("data-time")
        page.wait_for_timeout(300)
        assert replay.get_attribute("data-time") == t0 and replay.get_attribute("data-playing") == "false"
        # step: to the next recorded event, and the levels there are the log's
        page.locator(".replay-step").click()
        t1 = float(replay.get_attribute("data-time"))
        assert t1 > float(t0)
        # speed: simulated seconds per real second, measured on the page's own clock
        ratios = {}
        for speed in ("60", "300"):
            page.locator(".replay-speed").select_option(speed)
            page.evaluate("document.getElementById('replay').servsimReplay.seek(0)")
            page.locator(".replay-play").click()
            begin = page.evaluate("[performance.now(), +document.getElementById('replay').dataset.time]")
            page.wait_for_timeout(700)
            end = page.evaluate("[performance.now(), +document.getElementById('replay').dataset.time]")
            page.locator(".replay-play").click()
            assert replay.get_attribute("data-playing") == "false"
            ratios[speed] = (end[1] - begin[1]) / ((end[0] - begin[0]) / 1000)
        assert 40 < ratios["60"] <= 62 and 200 < ratios["300"] <= 310, ratios
    finally:
        page.close()


def test_the_replay_of_a_vendor_line_counts_every_pools_seats(browser):
    lesson = load_lesson(LESSONS / "bots_and_vendors.yaml")
    page, _, _ = _open(browser, LESSONS / "bots_and_vendors.html", fragment="#threshold=2%20min&bot=0%25")
    try:
        index = (2, 0)
        assert page.locator("#lesson").get_attribute("data-cell") == str(lesson.cells.index(lesson.cell(index)))
        _replay_check(page, lesson, index, instants=50)
    finally:
        page.close()


def test_the_url_fragment_restores_three_controls(browser):
    page, _, _ = _open(browser, LESSONS / "hockey_stick.html")
    try:
        page.locator("#param-rate").focus()
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        page.locator("#param-agents").focus()
        page.keyboard.press("End")
        page.locator(".replay-speed").select_option("120")
        state = "[location.hash, document.getElementById('param-rate').value, " \
                "document.getElementById('param-agents').value, document.querySelector('.replay-speed').value, " \
                "document.getElementById('lesson').dataset.cell]"
        before = page.evaluate(state)
        assert before[1:4] == ["4", "2", "120"] and "rate=8.5%2Fmin" in before[0] and "speed=120" in before[0]
        page.reload(wait_until="load")
        page.wait_for_function("document.documentElement.dataset.readyMs !== undefined")
        assert page.evaluate(state) == before
    finally:
        page.close()
