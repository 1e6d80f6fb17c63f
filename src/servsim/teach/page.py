"""One self-contained lesson page: the grid as JSON, the assets inlined, nothing fetched.

The page is rendered from ``templates/lesson.html.j2`` (Jinja2, autoescaped, as the run report)
with ``static/lesson.css``, ``static/format.js``, ``static/replay.js`` and ``static/lesson.js``
inlined: no script, style, font or image leaves the file, so it opens from a USB stick. The same
lesson file and servsim version give the same bytes (no clock, no random ids); the page records
both (``<meta name="servsim-lesson-sha256">`` and ``generator``), so a shipped page can be checked
against its YAML without regenerating it.

Labels, units and formulas of the KPI cards come from the metric registry through
:mod:`servsim.report.format` (``label``, with the unit for each axis scale); numbers are formatted
in the browser by ``format.js``, the port of the same formatter.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from servsim import __version__
from servsim.atomic import ensure_dir, write_text
from servsim.metrics.registry import resolve
from servsim.report import format as fmt
from servsim.teach.grid import LEVEL, Grid, run_grid
from servsim.teach.lesson import Kpi, Lesson, load_lesson, preset_indices

_HERE = Path(__file__).parent
_ENV = Environment(loader=FileSystemLoader(_HERE / "templates"), autoescape=select_autoescape(default=True),
                   keep_trailing_newline=True)
#: The assets every page inlines, in load order (format.js and replay.js are standalone components).
SCRIPTS = ("format.js", "replay.js", "lesson.js")

#: What each theory model says, for the "formulas" section (plain text, Unicode maths).
FORMULAS: dict[str, tuple[list[str], str]] = {
    "M/M/c (Erlang C)": ([
        "a = λ / μ (offered load, Erlangs),  ρ = a / c (utilisation)",
        "P(wait) = C(c, a) = [aᶜ/c! · c/(c − a)] / [Σₖ₌₀..c₋₁ aᵏ/k! + aᶜ/c! · c/(c − a)]",
        "ASA = C(c, a) / (cμ − λ)",
        "service level = P(W ≤ T) = 1 − C(c, a) · e^(−(cμ − λ)T)",
    ], "Poisson arrivals at rate λ, exponential handle times of mean 1/μ, c identical agents, nobody "
       "abandons, first come first served, steady state (Gross & Harris, section 2.3)."),
    "M/M/c+M (Erlang A)": ([
        "patience exponential with mean 1/θ; stable for any λ, since waiting callers leave",
        "P(wait) = A·B / (1 + (A − 1)·B),  B = Erlang B(c, a),",
        "A = 1 + Σⱼ≥₁ Πᵢ₌₁..ⱼ λ / (cμ + iθ)",
        "P(abandon | wait) = 1 + 1/(ρA) − 1/ρ,   P(abandon) = P(abandon | wait) · P(wait)",
        "occupancy = λ (1 − P(abandon)) / (cμ)",
    ], "Palm's queue (Garnett, Mandelbaum & Reiman 2002; Mandelbaum & Zeltyn 2007), computed exactly by "
       "servsim.theory.erlang_a."),
    "Erlang C, ignoring abandonment": ([
        "the Erlang C formulas with the same λ, μ and c, as if nobody hung up: infinite waits when λ ≥ cμ",
    ], "What a plan that leaves patience out would predict."),
    "M/G/c (Allen–Cunneen approximation)": ([
        "W ≈ W(M/M/c) · (cₐ² + cₛ²) / 2,   cₐ² = 1 for Poisson arrivals, cₛ = handle-time cv",
    ], "An approximation (Allen 1990, Whitt 1993): exact for M/M/c, less so far from cₛ = 1."),
    "Erlang C, exponential handle time": ([
        "the Erlang C mean wait with the same mean handle time, as if cₛ = 1",
    ], ""),
    "M/M/c with priorities (Cobham)": ([
        "σₖ = Σᵢ≤ₖ λᵢ / (cμ) (load of class k and the classes above it)",
        "Wₖ = W₀ / ((1 − σₖ₋₁)(1 − σₖ)),   W₀ = C(c, a) / (cμ)",
    ], "Non-preemptive priorities, equal handle times (Cobham 1954); the arrival-weighted mean of the Wₖ "
       "equals the first-come-first-served Erlang C wait."),
    "SIPP (Erlang C per interval)": ([
        "each interval i after the warm-up as its own steady state: Erlang C with λᵢ and cᵢ",
        "service level ≈ Σᵢ λᵢ · SLᵢ / Σᵢ λᵢ",
    ], "Stationary independent period by period (Green, Kolesar & Soares 2001): it ignores that calls "
       "arriving in one interval are still being served in the next."),
    "M/G/1 (Pollaczek–Khinchine)": ([
        "W = λ E[S²] / (2 (1 − ρ)),  E[S²] = E[S]² (1 + cₛ²)",
    ], ""),
}


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]


def _kpi_meta(k: Kpi, currency: str | None) -> dict[str, Any]:
    entry = resolve(k.metric)
    assert entry is not None
    qualifier = ("" if k.metric == "occupancy" and k.pool is None else
                 f", {k.pool}" if k.metric == "occupancy" else
                 f", {k.segment}" if k.segment != "all" else f", {k.channel}" if k.channel != "all" else "")
    label = k.label or fmt.label(k.metric) + qualifier
    short = k.label or fmt.label(k.metric, short=True) + qualifier
    scales = ("s", "min", "h") if entry.kind in ("duration", "hours") else ("",)

    def with_unit(scale: str) -> str:
        unit = fmt.unit_text(entry.kind, scale=scale or None, currency=currency)
        return f"{short} ({unit})" if unit else short

    unit_labels = {s: with_unit(s) for s in scales}
    return {"key": k.key, "metric": k.metric, "label": label, "short": short, "kind": entry.kind,
            "better": entry.better, "formula": entry.formula, "unitLabel": with_unit(""),
            "unitLabels": {s: v for s, v in unit_labels.items() if s}}


def _json(value: Any) -> Markup:
    """JSON safe inside a <script> element: no '</script>' or '<!--' can close it early."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def lesson_hash(lesson: Lesson) -> str:
    """SHA-256 of what the page is made from: the lesson file's text and each cell scenario."""
    from servsim.scenario import scenario_hash

    h = hashlib.sha256(lesson.text.encode("utf-8"))
    for s in lesson.scenarios:
        h.update(scenario_hash(s).encode())
    return h.hexdigest()


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600 % 24:02d}:{s // 60 % 60:02d}"


def _span(seconds: float) -> str:
    """A whole duration as people say it: "1 h", "30 min", "1 h 30 min"."""
    h, m = divmod(int(round(seconds / 60)), 60)
    return " ".join(p for p in (f"{h} h" if h else "", f"{m} min" if m else "") if p) or "0 min"


def page_data(grid: Grid) -> dict[str, Any]:
    """The JSON a page embeds (read by lesson.js)."""
    lesson = grid.lesson
    spec = lesson.spec
    currency = lesson.base.economics.currency
    keys = [p.key for p in lesson.parameters]
    return {
        "title": spec.title, "version": __version__, "currency": currency, "level": LEVEL,
        "replications": spec.replications, "seed": spec.seed, "shape": list(lesson.shape),
        "parameters": [{"key": p.key, "label": p.label, "values": [p.shown(i) for i in range(p.size)],
                        "start": lesson.start[j], "help": p.help} for j, p in enumerate(lesson.parameters)],
        "kpis": [_kpi_meta(k, currency) for k in lesson.kpis],
        "cells": grid.cells, "replays": grid.replays,
        "plot": {"x": keys.index(spec.plot.x) if spec.plot.x else 0, "y": spec.plot.y or lesson.kpis[0].key},
        "presets": [{"label": p.label, "values": v} for p, v in zip(spec.presets, preset_indices(lesson))],
    }


def render(grid: Grid) -> str:
    """The page of a computed grid (module docstring)."""
    lesson = grid.lesson
    spec = lesson.spec
    models = list(dict.fromkeys(m["model"] for c in grid.cells for m in c["t"]))
    formulas = [{"name": m, "lines": FORMULAS.get(m, ([], ""))[0], "note": FORMULAS.get(m, ([], ""))[1]}
                for m in models]
    js = "\n".join((_HERE / "static" / name).read_text(encoding="utf-8") for name in SCRIPTS)
    css = (_HERE / "static" / "lesson.css").read_text(encoding="utf-8")
    h = lesson.base.horizon
    replay = grid.replays[0]
    horizon = (f"{_clock(h.start)}–{_clock(h.end)}" + (f" × {h.days} days" if h.days > 1 else "")
               + (f", the first {_span(h.warmup)} left out as warm-up" if h.warmup else ""))
    kpis = [_kpi_meta(k, lesson.base.economics.currency) for k in lesson.kpis]
    return _ENV.get_template("lesson.html.j2").render(
        title=spec.title, version=__version__, lesson_hash=lesson_hash(lesson),
        css=Markup(css), js=Markup(js.replace("</script", "<\\/script")), data_json=_json(page_data(grid)),
        intro=_paragraphs(spec.intro), question=spec.question, answer=_paragraphs(spec.answer),
        takeaway=spec.takeaway, formulas=formulas, extra_formulas=_paragraphs(spec.formulas),
        assumptions=_paragraphs(spec.assumptions), kpis=kpis, cells=len(lesson.cells),
        replications=spec.replications, seed=spec.seed, scenario_name=lesson.base.name, horizon=horizon,
        level=fmt.confidence(LEVEL), lesson_file=Path(lesson.file).name,
        replay_window=f"{_clock(replay['t0'])}–{_clock(replay['t0'] + replay['length'])}")


@dataclass(frozen=True)
class TeachResult:
    """A generated lesson page: its HTML, where it was written (if it was), and the grid behind it."""

    html: str
    grid: Grid
    path: Path | None

    @property
    def size(self) -> int:
        return len(self.html.encode("utf-8"))

    def __repr__(self) -> str:
        where = f" -> {self.path}" if self.path else ""
        return (f"<TeachResult {self.grid.lesson.spec.title[:80]!r}: {len(self.grid.cells)} cells, "
                f"{self.size / 1e6:.2f} MB{where}; .html, .grid>")


def teach(lesson: str | Path | Lesson, out: str | Path | None = None, *, workers: int = 1,
          progress: Callable[[int], None] | None = None) -> TeachResult:
    """``servsim teach``: run a lesson's grid and render its page; with ``out``, write it there
    (atomically). ``lesson`` is a lesson file or one loaded with :func:`load_lesson`."""
    loaded = lesson if isinstance(lesson, Lesson) else load_lesson(lesson)
    grid = run_grid(loaded, workers=workers, progress=progress)
    html = render(grid)
    path = None
    if out is not None:
        path = Path(out)
        ensure_dir(path.parent)
        write_text(path, html)
    return TeachResult(html, grid, path)
