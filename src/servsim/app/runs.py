"""The app's runs: one what-if setting simulated with :func:`servsim.replicate`, kept in a cache,
and the KPI cards it shows — every label from the metric registry, every number from the one
formatter (:mod:`servsim.report.format`), theory beside it where a formula applies.

The engine is a pure function of scenario and seed, so a setting (levers, replications, root seed)
gives the same numbers every time it runs: a result is cached by its setting, and moving a slider
back to a setting already seen shows it at once. A result keeps the KPI table and the first
replication (its per-contact log feeds the replay), not every replication's log.

No Shiny here.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from servsim.api import replicate
from servsim.app.levers import Settings, Source
from servsim.metrics.registry import APP_CARDS
from servsim.report import format as fmt
from servsim.report.theory_view import predictions
from servsim.results import RunResult
from servsim.scenario import Scenario



@dataclass(frozen=True)
class Outcome:
    """One setting's result: its overall KPIs (``Replications.kpi_table``), the first replication,
    the run status, the changed scenario, and how long it took (seconds of wall time)."""

    settings: Settings
    scenario: Scenario
    kpis: pd.DataFrame
    first: RunResult
    status: str
    unstable: bool
    held: bool
    elapsed_s: float


def simulate_setting(source: Source, settings: Settings, progress: Callable[[int], None] | None = None) -> Outcome:
    """Run ``settings`` on ``source``'s scenario: ``settings.replications`` replications from
    root seed ``settings.seed``, in this thread (one process: the app's machine is shared)."""
    start = time.perf_counter()
    scenario = source.scenario_for(settings)
    result = replicate(scenario, settings.replications, seed=settings.seed, progress=progress)
    load = result.load
    return Outcome(settings, scenario, result.kpi_table(), result.runs[0], load.describe(), result.unstable,
                   load.held, time.perf_counter() - start)


class Runs:
    """Results by setting, the ``size`` most recently used kept; safe to use from worker threads.

    Two requests for one setting at once may both simulate it; they give the same numbers."""

    def __init__(self, source: Source, size: int = 64) -> None:
        self.source = source
        self.size = size
        self._kept: OrderedDict[Settings, Outcome] = OrderedDict()
        self._lock = threading.Lock()

    def cached(self, settings: Settings) -> Outcome | None:
        with self._lock:
            hit = self._kept.get(settings)
            if hit is not None:
                self._kept.move_to_end(settings)
            return hit

    def get(self, settings: Settings, progress: Callable[[int], None] | None = None) -> tuple[Outcome, bool]:
        """(outcome, whether it came from the cache)."""
        hit = self.cached(settings)
        if hit is not None:
            return hit, True
        outcome = simulate_setting(self.source, settings, progress)
        with self._lock:
            self._kept[settings] = outcome
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return outcome, False


@dataclass(frozen=True)
class Card:
    """One KPI card: ``metric`` (a registry name), its label, the simulated value (mean ± CI
    half-width), theory's value ('' when no formula gives it) and a note under the label."""

    metric: str
    label: str
    value: str
    theory: str
    note: str = ""


def threshold(scenario: Scenario) -> float:
    """The service-level threshold of the overall row: the channel's own in a one-channel
    scenario, else the scenario's target (see :mod:`servsim.metrics.registry`)."""
    if len(scenario.channels) == 1:
        (ch,) = scenario.channels.values()
        if ch.service_level is not None:
            return ch.service_level.threshold
    return scenario.targets.service_level.threshold


def theory_of(scenario: Scenario) -> tuple[str, dict[str, float]] | None:
    """(model, {KPI: steady-state value}) from :func:`servsim.report.theory_view.predictions`, with
    the one pool's occupancy added: offered load over agents, a/c, for Erlang C; the load that is
    served, λ(1 − P(abandon))/(cμ), for Erlang A."""
    found = predictions(scenario)
    if found is None:
        return None
    model, values = found
    (ch,) = scenario.channels.values()
    (step,) = scenario.steps.values()
    ((name, pool),) = scenario.pools.items()
    mean = step.handle_time.mean_s * pool.skill(next(iter(pool.skills))).proficiency  # as predictions() reads it
    served = 1 - values.get("abandon_rate", 0.0)
    occupancy = ch.arrivals.rate * mean * served / pool.agents
    return model, {**values, "occupancy": occupancy, f"occupancy_{name}": occupancy}


def cards(outcome: Outcome) -> list[Card]:
    """The KPI cards of ``outcome``: the overall row's ASA, service level, P(wait), abandonment
    rate, then occupancy per pool of people (pools with an occupancy)."""
    scenario = outcome.scenario
    currency = scenario.economics.currency
    table = outcome.kpis
    theory = theory_of(scenario)
    predicted = theory[1] if theory else {}
    model = theory[0].split("(")[-1].rstrip(")") if theory else ""
    overall = table[(table["channel"] == "all") & (table["segment"] == "all")].set_index("metric")
    out = []
    for metric in APP_CARDS:
        if metric not in overall.index:
            continue
        row = overall.loc[metric]
        kind = fmt.kind_of(metric)
        note = f"within {fmt.value(threshold(scenario), 'duration')}" if metric == "service_level" else ""
        shown = fmt.value(predicted[metric], kind, currency) if metric in predicted else ""
        out.append(Card(metric, fmt.label(metric), fmt.estimate(row["mean"], row["half_width"], kind, currency),
                        f"{model}: {shown}" if shown else "", note))
    pools = table[table["channel"].astype(str).str.startswith("pool:")]
    several = len(pools) > 1
    for _, row in pools.iterrows():
        if not math.isfinite(row["mean"]):
            continue  # an unlimited pool has no occupancy
        pool = str(row["channel"])[5:]
        metric = f"occupancy_{pool}" if several else "occupancy"
        shown = fmt.value(predicted[metric], "share") if metric in predicted else ""
        out.append(Card(f"occupancy_{pool}", fmt.label(metric), fmt.estimate(row["mean"], row["half_width"], "share"),
                        f"{model}: {shown}" if shown else ""))
    return out
