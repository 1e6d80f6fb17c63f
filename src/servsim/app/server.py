"""The what-if page on Shiny for Python: sliders for a scenario's levers, KPI cards with theory.

Moving a slider asks for the setting it makes; a run of that setting (``servsim.replicate`` in a
worker thread, through a Shiny extended task, so the page stays live) starts when no other run of
this page is going, and the latest setting wins: settings passed over while a run went are never
simulated. A progress bar counts replications; a setting already simulated comes from the cache
(:class:`servsim.app.runs.Runs`, shared by every page the app serves).

The page exposes what tests read: ``#run-state`` carries ``data-state`` (``running``, ``done``,
``error``), ``data-settings`` (the shown result's setting as JSON), ``data-cached`` and
``data-elapsed-s``; each KPI card is a value box ``#kpi_<metric>`` with ``data-metric``.

This module imports Shiny; nothing else in servsim does (the app is the optional ``servsim[app]``).
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

from shiny import App, Inputs, Outputs, Session, reactive, render, ui

from servsim.app.levers import Lever, Settings, Source
from servsim.app.runs import Card, Outcome, Runs, cards, theory_of
from servsim.scenario import Scenario

STATIC = Path(__file__).parent / "static"

#: Replications a user can ask for, and the default (as ``servsim run``).
MAX_REPLICATIONS = 50
REPLICATIONS = 10


class _Count:
    """Replications finished in the run going on (written by the worker thread, read by the page)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0

    def advance(self, n: int) -> None:
        self.done += n


def _slider(lever: Lever) -> ui.Tag:
    return ui.input_slider(lever.id, lever.label, min=lever.min, max=lever.max, value=lever.default,
                           step=lever.step, ticks=False)


def _snap(lever: Lever, value: float) -> float:
    """A slider's value on its grid, without the float noise a browser may add (9.400000001)."""
    k = round((float(value) - lever.min) / lever.step)
    return round(lever.min + k * lever.step, 9)


def _estimate(text: str) -> ui.Tag:
    """A formatter's "mean ± half-width" as two unbreakable parts (the line breaks between them,
    never inside a number), its text unchanged."""
    mean, sep, spread = text.partition(" ± ")
    if not sep:
        return ui.span(text, class_="kpi-mean")
    return ui.span(ui.span(mean, class_="kpi-mean"), " ", ui.span(f"± {spread}", class_="kpi-spread"))


def _card(card: Card) -> ui.Tag:
    body = [ui.p(card.note, class_="kpi-note")] if card.note else []
    if card.theory:
        body.append(ui.p(card.theory, class_="kpi-theory"))
    return ui.value_box(card.label, _estimate(card.value), *body, id=f"kpi_{card.metric}", data_metric=card.metric,
                        class_="kpi")


#: The replay's window: from the end of the warm-up, at most this long (as a lesson's default).
REPLAY_LENGTH_S = 1800.0


def replay_panel(outcome: Outcome) -> ui.TagChild:
    """The replay of the shown setting's first replication at its first channel's entry step, drawn
    by the lesson pages' animation: ``servsim.teach.replay`` turns the run's own visit log into the
    event list, ``replay.js`` plays it. Nothing when ``servsim.teach`` is not installed beside the app.

    This is the one place the app meets the replay; the element ``#replay`` carries the animation's
    state (``data-time``, ``data-queue``, ``data-busy``, ...) as the lesson pages' does."""
    try:
        from servsim.teach.replay import replay_events
    except ImportError:
        return None
    scenario = outcome.scenario
    h = scenario.horizon
    start = h.start + h.warmup
    length = min(REPLAY_LENGTH_S, h.end - start)
    if length <= 0 or not outcome.first.log:
        return None
    step = next(iter(scenario.channels.values())).entry
    events = replay_events(outcome.first, scenario, step, start, length)
    data = json.dumps(events, separators=(",", ":")).replace("</", "<\\/")
    return ui.TagList(
        _replay_dependency(),
        ui.h2(f"Replay of the first replication: step '{step}', the first {length / 60:g} min after the warm-up",
              class_="h6 replay-title"),
        ui.div(ui.div(id="replay", class_="replay"), class_="replay-panel"),
        ui.tags.script(ui.HTML(f"window.servsimReplay.mount(document.getElementById('replay'), {data}, "
                               "{speed: 30});")),
    )


def _replay_dependency() -> ui.TagChild:
    """``replay.js`` from ``servsim.teach``'s static files, served as they are, and the replay's
    rules of ``lesson.css`` (:func:`replay_css`)."""
    from htmltools import HTMLDependency

    from servsim import __version__

    import servsim.teach

    folder = Path(servsim.teach.__file__).parent / "static"
    return ui.TagList(
        HTMLDependency("servsim-replay", __version__, source={"subdir": str(folder)}, script={"src": "replay.js"}),
        ui.tags.style(replay_css((folder / "lesson.css").read_text(encoding="utf-8"))),
    )


def replay_css(lesson_css: str, scope: str = ".replay-panel") -> str:
    """A lesson page's stylesheet confined to ``scope``: every top-level rule's selectors prefixed
    with it and its ``:root`` custom properties set on it, so the replay looks as on a lesson page
    (its controls, seats, legend) while the lesson's rules for ``body``, ``h2``, ``.card`` ... leave
    the app's own elements alone. ``@media`` blocks (the lesson page's layout) are left out."""
    out, depth, start = [], 0, 0
    text = re.sub(r"/\*.*?\*/", "", lesson_css, flags=re.S)
    for i, ch in enumerate(text):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                rule = text[start:i + 1].strip()
                start = i + 1
                head, body = rule[:rule.index("{")].strip(), rule[rule.index("{"):]
                if head.startswith("@"):
                    continue
                selectors = [x.strip() for x in head.split(",")]
                kept = [scope if x == ":root" else f"{scope} {x}" for x in selectors
                        if x.split()[0] not in ("html", "body")]
                if kept:
                    out.append(", ".join(kept) + " " + body)
    return "\n".join(out)


def _described(text: str) -> ui.Tag:
    """A scenario's description, its `backticked` names as code (the text itself is never HTML)."""
    parts = text.split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: show the text as written
        parts = [text]
    return ui.p(*[ui.code(p) if i % 2 else p for i, p in enumerate(parts)], class_="scenario-description")


def page(source: Source) -> ui.Tag:
    scenario = source.scenario
    sidebar = ui.sidebar(
        ui.h2("What if…", class_="h6"),
        *[_slider(lv) for lv in source.levers],
        ui.input_slider("replications", "replications", min=1, max=MAX_REPLICATIONS, value=REPLICATIONS, step=1,
                        ticks=False),
        ui.input_numeric("seed", "root seed", value=0, min=0, step=1),
        ui.input_action_button("reset", "Back to the scenario", class_="btn-outline-secondary btn-sm"),
        open={"desktop": "open", "mobile": "always-above"}, width=320,
    )
    return ui.page_sidebar(
        sidebar,
        ui.include_css(STATIC / "app.css"),
        _described(scenario.description) if scenario.description else None,
        ui.output_ui("run_state"),
        ui.output_ui("kpis"),
        ui.output_ui("theory"),
        ui.output_ui("replay_view"),
        title=f"servsim · {scenario.name}",
        window_title=f"{scenario.name} — servsim what-if",
        fillable=False,
        lang="en",
    )


def build(path: Path, scenario: Scenario) -> App:
    """The app over the scenario file ``path`` (``scenario``: that file, validated)."""
    source = Source(path, scenario)
    runs = Runs(source)

    def server(input: Inputs, output: Outputs, session: Session) -> None:  # noqa: A002 - Shiny's name
        progress = _Count(REPLICATIONS)
        started: list[Settings | None] = [None]

        @reactive.extended_task
        async def simulate(settings: Settings) -> tuple[Outcome, bool]:
            nonlocal progress
            progress = _Count(settings.replications)
            return await asyncio.to_thread(runs.get, settings, progress.advance)

        @reactive.calc
        def wanted() -> Settings:
            values = tuple((lv.id, _snap(lv, input[lv.id]())) for lv in source.levers)
            seed = input.seed()
            seed = int(seed) if isinstance(seed, (int, float)) and seed >= 0 else 0
            return Settings(values, int(input.replications()), seed)

        @reactive.effect
        def _run() -> None:
            settings, state = wanted(), simulate.status()
            if state != "running" and settings != started[0]:
                started[0] = settings
                simulate.invoke(settings)

        @reactive.effect
        @reactive.event(input.reset)
        def _reset() -> None:
            for lv in source.levers:
                ui.update_slider(lv.id, value=lv.default)
            ui.update_slider("replications", value=REPLICATIONS)
            ui.update_numeric("seed", value=0)

        @render.ui
        def run_state() -> ui.Tag:
            state = simulate.status()
            if state == "running":
                reactive.invalidate_later(0.2)
                return ui.div(
                    ui.tags.progress(value=progress.done, max=progress.total,
                                     aria_label="replications simulated"),
                    ui.span(f"simulating: {progress.done} of {progress.total} replications"),
                    id="run-state", class_="run-state running", data_state="running", role="status",
                )
            if state == "error":
                return ui.div(f"this setting cannot be simulated: {simulate.error.get()}", id="run-state",
                              class_="run-state error", data_state="error", role="alert")
            if state != "success":
                return ui.div("starting…", id="run-state", class_="run-state", data_state="starting")
            outcome, cached = simulate.result()
            n = outcome.settings.replications
            how = "from the cache" if cached else f"simulated in {outcome.elapsed_s:.2f} s"
            load_class = "unstable" if outcome.unstable else "held" if outcome.held else "stable"
            return ui.div(
                ui.span(f"{n} replication{'s' if n != 1 else ''}, root seed {outcome.settings.seed}, {how}; "
                        "mean ± 95% CI half-width"),
                ui.span(outcome.status, class_=f"load {load_class}"),
                id="run-state", class_="run-state", data_state="done", role="status",
                data_settings=json.dumps(outcome.settings.as_dict(), sort_keys=True),
                data_cached="true" if cached else "false", data_elapsed_s=f"{outcome.elapsed_s:.3f}",
            )

        @render.ui
        def kpis() -> ui.Tag:
            outcome, _ = simulate.result()
            return ui.div(*[_card(c) for c in cards(outcome)], class_="kpi-grid")

        @render.ui
        def theory() -> ui.Tag:
            outcome, _ = simulate.result()
            found = theory_of(outcome.scenario)
            if found is None and outcome.unstable:
                return ui.p("No steady state to compare with: arrivals exceed what the agents can serve and no "
                            "abandonment holds the queue, so it grows all day and these numbers depend on the "
                            "day's length.", class_="theory-note")
            if found is None:
                return ui.p("No textbook formula fits this setting (it takes one channel with a constant rate, "
                            "one step and one pool with a fixed headcount): simulated values only.",
                            class_="theory-note")
            return ui.p(f"Theory: {found[0]}, in steady state. A simulated day starts empty, so the two agree only "
                        "when the day is long against the time the queue takes to settle; near or above full "
                        "load they part.", class_="theory-note")

        @render.ui
        def replay_view() -> ui.TagChild:
            outcome, _ = simulate.result()
            return replay_panel(outcome)

    return App(page(source), server)


__all__ = ["build", "page", "replay_panel"]
