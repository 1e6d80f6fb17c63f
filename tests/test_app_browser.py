"""``servsim app`` in a real browser, through Shiny's Playwright controllers: a slider moved on the
page shows the KPIs servsim computes for that setting, formatted by the one formatter.

The app is started as a user starts it (``python -m servsim app SCENARIO --port N``) and driven in
the system Chromium (``tests/browser.py``: Playwright's own browser download is not reachable).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

import servsim
from servsim import theory
from browser import CHROMIUM_ARGS, chromium_path
from conftest import ROOT
from servsim.metrics.registry import APP_CARDS
from servsim.report import format as fmt
from shiny.playwright import controller  # the dev extra installs shiny: missing, this fails, never skips
from shiny.run import ShinyAppProc

MMC = ROOT / "scenarios" / "mmc.yaml"
#: How long a setting of one day of M/M/10 with 10 replications may take to show (issue #16).
SHOWN_WITHIN_MS = 3000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served() -> Iterator[ShinyAppProc]:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-m", "servsim", "app", str(MMC), "--port", str(port)], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    app = ShinyAppProc(proc, port, app_file=MMC)
    try:
        app.wait_until_ready(60)
        yield app
    finally:
        app.close()
        proc.wait(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(served, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.goto(served.url)
    page.locator("#run-state[data-state=done]").wait_for(timeout=30_000)
    yield page
    page.close()


def _expected(changes: list[dict], replications: int = 10, seed: int = 0) -> dict[str, str]:
    """Each card's value as servsim computes it for a setting, through the one formatter."""
    scenario = servsim.with_changes(MMC, changes) if changes else servsim.load_scenario(MMC)
    table = servsim.replicate(scenario, replications, seed=seed).kpi_table()
    overall = table[(table["channel"] == "all") & (table["segment"] == "all")].set_index("metric")
    shown = {m: fmt.estimate(overall.loc[m, "mean"], overall.loc[m, "half_width"], fmt.kind_of(m)) for m in APP_CARDS}
    occ = table[table["channel"] == "pool:agents"].iloc[0]
    shown["occupancy_agents"] = fmt.estimate(occ["mean"], occ["half_width"], "share")
    return shown


def _state(page) -> dict[str, object]:
    run = page.locator("#run-state")
    return {"settings": json.loads(run.get_attribute("data-settings")), "cached": run.get_attribute("data-cached"),
            "elapsed_s": float(run.get_attribute("data-elapsed-s"))}


def test_a_moved_slider_shows_servsims_numbers_for_that_setting_within_3_s(page):
    controller.ValueBox(page, "kpi_asa_s").expect_title(fmt.label("asa_s"))
    expected = _expected([{"set": {"path": "pools.agents.agents", "value": 11}}])  # before the slider moves
    controller.InputSlider(page, "agents_agents").set("11")
    for metric, text in expected.items():
        controller.ValueBox(page, f"kpi_{metric}").expect_value(text, timeout=SHOWN_WITHIN_MS)
    state = _state(page)
    assert state["settings"] == {"agents_agents": 11, "rate_calls": 9, "handle_answer": 60, "replications": 10,
                                 "seed": 0}
    assert state["cached"] == "false" and state["elapsed_s"] < SHOWN_WITHIN_MS / 1000
    # theory moves with the setting: Erlang C for 11 agents
    sl = theory.erlang_c_service_level(9 / 60, 1 / 60, 11, 20)
    controller.ValueBox(page, "kpi_service_level").expect_body(["within 20.0 s", f"Erlang C: {fmt.value(sl, 'share')}"])


def test_a_setting_seen_before_comes_back_from_the_cache(page):
    expected = _expected([])
    for metric, text in expected.items():  # the page opens on the scenario as written
        controller.ValueBox(page, f"kpi_{metric}").expect_value(text)
    slider = controller.InputSlider(page, "rate_calls")
    slider.set("9.4")
    page.locator("#run-state[data-state=done]").wait_for()
    controller.ValueBox(page, "kpi_asa_s").expect_value(
        _expected([{"set": {"path": "channels.calls.arrivals.rate", "value": "9.4/min"}}])["asa_s"],
        timeout=SHOWN_WITHIN_MS)
    slider.set("9")
    controller.ValueBox(page, "kpi_asa_s").expect_value(expected["asa_s"], timeout=SHOWN_WITHIN_MS)
    assert _state(page)["cached"] == "true"


def test_a_long_run_shows_its_progress(page):
    controller.InputSlider(page, "replications").set("16")
    running = page.locator("#run-state[data-state=running] progress")
    running.wait_for(timeout=SHOWN_WITHIN_MS)
    assert running.get_attribute("max") == "16"
    page.locator("#run-state[data-state=done]").wait_for(timeout=20_000)
    assert _state(page)["settings"]["replications"] == 16


def test_the_replay_shows_the_first_replications_own_queue_and_busy_agents(page):
    pytest.importorskip("servsim.teach.replay", reason="the replay component comes with servsim.teach")
    import numpy as np

    replay = page.locator("#replay")
    replay.locator(".replay-step").wait_for(timeout=SHOWN_WITHIN_MS)
    scenario = servsim.load_scenario(MMC)
    visits = servsim.replicate(scenario, 10, seed=0).runs[0].visits
    visits = visits[visits["step"] == "answer"]
    start = scenario.horizon.start + scenario.horizon.warmup
    # the replay keeps times to the millisecond from the window start (servsim.teach.replay)
    queued, began, ended = (np.round((visits[c].to_numpy(dtype=float) - start) * 1000) for c in
                            ("queued_s", "start_s", "end_s"))
    left_queue = np.where(np.isnan(began), np.where(np.isnan(ended), np.inf, ended), began)
    left_seat = np.where(np.isnan(ended), np.inf, ended)
    for _ in range(4):
        t = round(float(replay.get_attribute("data-time")) * 1000)
        waiting = int(((queued <= t) & (t < left_queue)).sum())
        busy = int(((began <= t) & (t < left_seat)).sum())
        shown = (int(replay.get_attribute("data-queue")), int(replay.get_attribute("data-busy")))
        assert shown == (waiting, busy), replay.get_attribute("data-clock")
        before = replay.get_attribute("data-time")
        replay.locator(".replay-step").click()
        page.wait_for_function("b => document.getElementById('replay').dataset.time !== b", arg=before)
