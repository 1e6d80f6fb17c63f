"""Every KPI, declared once: its name, label, unit, kind, better direction, tables and formula.

The CLI tables, JSON, CSV and parquet files, HTML reports, figures, experiment and sweep metrics
and constraints all read names, labels and units from here; nothing else in ``servsim`` lists KPI
names. A KPI computed from per-cell sums (:mod:`servsim.metrics.cells`) also carries its
computation: a function of the sums, vectorised over rows, so adding one is one entry here.

Notation of the formulas: Σx is the sum of x over the row's contacts (those that arrived after the
warm-up for ``summary`` rows; every contact arriving in the interval for ``intervals`` rows);
r(a, b) = a / b, or NaN when b = 0. *Known* contacts are those whose first-step wait ended (answered
or abandoned); T is the service-level threshold: the channel's own on channel rows (and on every
row of a one-channel scenario), ``targets.service_level.threshold`` on rows over several channels.

Kinds say how a value is shown: ``count`` (a number of things), ``share`` (a fraction, shown in %),
``duration`` (seconds), ``hours``, ``money`` (in ``economics.currency``) and ``ratio`` (a plain
factor). Over replications every KPI is the mean of its per-replication values with a Student-t
confidence interval (:func:`servsim.stats.summarise`); a 1/0 flag's mean is the share of
replications where it held.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

Kind = Literal["count", "share", "duration", "hours", "money", "ratio"]
Better = Literal["higher", "lower"] | None
#: ``summary``: KPIs overall / per channel / per segment after the warm-up; ``intervals``: per
#: channel and reporting interval; ``pools``: per pool and interval; ``pool_summary``: per pool
#: after the warm-up; ``results``: one value per replication in experiment and sweep results;
#: ``agents``: per agent of a pool of individual agents, after the warm-up.
Table = Literal["summary", "intervals", "pools", "pool_summary", "results", "agents"]
#: ``headline``: in every run's KPI table; ``when_used``: shown when a replication has a non-zero
#: value; ``never``: on request.
Show = Literal["headline", "when_used", "never"]
#: Where the value comes from: ``cells`` — per-cell sums, with ``compute``; ``waits`` — wait
#: percentiles (exact from a log, else a histogram); ``littles`` — Little's law sums; ``run`` —
#: the run's status; ``queue`` — time waiting in queue, per interval of time; ``costs`` — the cost model (:mod:`servsim.economics`); ``pools`` — pool time
#: integrals; ``targets`` — :mod:`servsim.targets`; ``run_level`` — :mod:`servsim.runlevel`.
Source = Literal["cells", "waits", "queue", "littles", "run", "costs", "pools", "targets", "run_level"]

Sums = Mapping[str, np.ndarray]


def ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """r(a, b) = a / b elementwise, NaN where b is not positive."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    safe = np.where(b > 0, b, 1.0)
    return np.where(b > 0, a / safe, np.nan)


@dataclass(frozen=True)
class Metric:
    """One KPI. ``formula`` is its definition; ``compute`` (for ``source == "cells"``) evaluates it
    from per-cell sums (:data:`servsim.metrics.cells.SUMS`), one value per row; ``short`` is the
    label of narrow tables (80-column terminals), when it differs from ``label``."""

    name: str
    label: str
    unit: str
    kind: Kind
    better: Better
    formula: str
    tables: frozenset[Table]
    show: Show = "never"
    source: Source = "cells"
    compute: Callable[[Sums], np.ndarray] | None = None
    short: str = ""

    @property
    def short_label(self) -> str:
        """The label of narrow tables: ``short``, or ``label`` when it is short already."""
        return self.short or self.label


@dataclass(frozen=True)
class Pattern:
    """A family of KPIs named after a part of the scenario, e.g. ``occupancy_{pool}``."""

    template: str
    label: str
    part: Literal["pool", "channel"]
    unit: str
    kind: Kind
    better: Better
    formula: str
    tables: frozenset[Table]
    short: str = ""

    @property
    def regex(self) -> re.Pattern[str]:
        head, tail = self.template.split("{" + self.part + "}")
        return re.compile(f"^{re.escape(head)}(?P<part>.+){re.escape(tail)}$")

    def metric(self, part: str) -> Metric:
        """The entry of one member: ``occupancy_clerks`` labelled "occupancy clerks"."""
        fill = {self.part: part}
        return Metric(self.template.format(**fill), self.label.format(**fill), self.unit, self.kind, self.better,
                      self.formula, self.tables, source="run_level", short=self.short.format(**fill))


def _t(*names: Table) -> frozenset[Table]:
    return frozenset(names)


_CONTACTS = _t("summary", "intervals", "results")
_RUN = _t("summary", "results")


def _sum(name: str) -> Callable[[Sums], np.ndarray]:
    return lambda s: np.asarray(s[name], dtype=float)


def _count(name: str, label: str, better: Better, show: Show, formula: str, total: str = "", short: str = "") -> Metric:
    return Metric(name, label, "contacts", "count", better, formula, _CONTACTS, show, compute=_sum(total or name),
                  short=short)


def _service_level(s: Sums) -> np.ndarray:
    return ratio(s["sl_within"], s["offered"] - s["sl_ab_within"] - s["sl_young"] - s["balked"] - s["contained"])


_ENTRIES: tuple[Metric, ...] = (
    _count("offered", "offered", None, "headline",
           "Σ arrivals, retrials and repeat contacts included; offered = handled + contained + abandoned + "
           "balked + blocked + in_system_end"),
    _count("answered", "answered", "higher", "headline",
           "Σ contacts whose first people step's service started, or who accepted a callback there"),
    _count("handled", "handled", "higher", "never", "Σ contacts that left after being served by people"),
    _count("abandoned", "abandoned", "lower", "headline", "Σ contacts that left while waiting"),
    _count("in_system_end", "in system at end", "lower", "headline",
           "Σ contacts still present at the end of the horizon", total="in_system", short="in system"),
    Metric("abandon_rate", "abandonment rate", "1", "share", "lower", "r(Σ abandoned, Σ offered)", _CONTACTS,
           "headline", compute=lambda s: ratio(s["abandoned"], s["offered"]), short="abandon rate"),
    Metric("asa_s", "ASA (mean wait, answered)", "s", "duration", "lower",
           "r(Σ wait of answered contacts, Σ answered); the wait is from arrival to the start of service at "
           "the first people step", _CONTACTS, "headline",
           compute=lambda s: ratio(s["answered_wait_sum"], s["answered"]), short="ASA"),
    Metric("mean_wait_s", "mean wait", "s", "duration", "lower",
           "r(Σ wait of known contacts, Σ known): answered and abandoned contacts (waits still running at the "
           "end are censored and left out)", _CONTACTS, "headline",
           compute=lambda s: ratio(s["known_wait_sum"], s["known"])),
    Metric("p90_wait_s", "90th percentile wait", "s", "duration", "lower",
           "90th percentile (linear interpolation) of known contacts' waits: exact from a per-contact log; "
           "without one, from a histogram of 0.5% bins in summary rows and NaN in interval rows",
           _CONTACTS, "headline", source="waits", short="p90 wait"),
    Metric("p95_wait_s", "95th percentile wait", "s", "duration", "lower",
           "95th percentile of known contacts' waits, as p90_wait_s", _CONTACTS, "headline", source="waits",
           short="p95 wait"),
    Metric("p_wait", "P(wait > 0)", "1", "share", "lower", "r(Σ known contacts that waited > 0 s, Σ known)",
           _CONTACTS, "headline", compute=lambda s: ratio(s["known_waited"], s["known"])),
    Metric("service_level", "service level", "1", "share", "higher",
           "r(Σ answered within T, Σ offered − abandoned within T − balked − contained − still waiting at the "
           "end having waited < T): the abandoned-within-T-excluded variant; without abandonment it "
           "estimates P(W ≤ T)", _CONTACTS, "headline", compute=_service_level),
    Metric("mean_handle_s", "mean handle time (completed services)", "s", "duration", None,
           "r(Σ handle time of completed service visits, Σ completed visits), wrap-up not included; time "
           "worked on an interruptible item before it was preempted counts in its handle time (restart: "
           "the work lost too); services still running at the "
           "end are not counted, so a short run reads slightly low (length bias: about busy slots at the end "
           "/ completions × the mean)", _CONTACTS, "headline",
           compute=lambda s: ratio(s["handle_sum"], s["handles"]), short="handle time"),
    Metric("mean_wrap_s", "mean wrap-up time (completed services)", "s", "duration", None,
           "r(Σ wrap-up time after completed service visits, Σ completed visits): after-contact work, the "
           "agent busy and the contact gone (steps.<s>.wrap_up); mean_handle_s + mean_wrap_s is the "
           "planner's AHT", _CONTACTS, "when_used", compute=lambda s: ratio(s["wrap_sum"], s["handles"]),
           short="wrap-up"),
    Metric("mean_lead_time_s", "mean end-to-end time", "s", "duration", "lower",
           "r(Σ (exit − arrival) of handled contacts, Σ handled)", _CONTACTS, "headline",
           compute=lambda s: ratio(s["handled_lead_sum"], s["handled"]), short="end-to-end time"),
    _count("balked", "balked", "lower", "when_used", "Σ contacts that refused to join the queue"),
    _count("contained", "contained by bots", None, "when_used",
           "Σ contacts that left having been served by bots only", short="contained"),
    _count("outsourced", "handled by a vendor", None, "when_used", "Σ handled contacts a vendor served a step of",
           short="by vendor"),
    _count("unresolved", "handled, unresolved", "lower", "when_used", "Σ handled contacts not resolved",
           short="unresolved"),
    _count("retrials", "retrials and repeats", None, "when_used", "Σ contacts with attempt > 1", short="retrials"),
    Metric("preempted", "preemptions", "visits", "count", None,
           "Σ service visits of interruptible back-stage work set aside for front-stage work (each resumes or "
           "restarts in a new visit)", _CONTACTS, "when_used", compute=lambda s: np.asarray(s["preempted"], float)),
    _count("blocked", "blocked", "lower", "when_used",
           "Σ contacts turned away on arrival at a step: no trunk line free (channels.<c>.lines), or the step's "
           "waiting room full (steps.<s>.queue_capacity)"),
    Metric("blocking_rate", "blocking rate", "1", "share", "lower", "r(Σ blocked, Σ offered)", _CONTACTS,
           "when_used", compute=lambda s: ratio(s["blocked"], s["offered"]), short="blocked"),
    _count("callbacks_offered", "callbacks offered", None, "when_used",
           "Σ contacts offered a callback at their channel's entry step", total="cb_offered", short="cb offered"),
    _count("callbacks_accepted", "callbacks accepted", None, "when_used",
           "Σ contacts that accepted a callback (hung up, to be called back)", total="cb_accepted",
           short="cb accepted"),
    Metric("callback_wait_s", "callback wait (request to call back)", "s", "duration", "lower",
           "r(Σ waits of callbacks whose outbound call started, from the request to the start of the call, Σ "
           "those callbacks)", _CONTACTS, "when_used",
           compute=lambda s: ratio(s["cb_wait_sum"], s["cb_called"]), short="callback wait"),
    Metric("littles_L", "Little's L (mean number in system)", "contacts", "count", None,
           "∫ number in system dt / τ over the window [warm-up end, end] of length τ, from the visit records; "
           "overall row only", _RUN, source="littles", short="Little's L"),
    Metric("littles_lambda_w", "Little's λW", "contacts", "count", None,
           "(arrivals in the window / τ) × mean time in system of the window's arrivals that left before its "
           "end, from the contact records; overall row only", _RUN, source="littles"),
    Metric("littles_gap", "Little's law gap |L−λW|/L", "1", "share", "lower",
           "|L − λW| / L (0 when both are 0): window edges only on a long run; a large gap means the records "
           "disagree or the run is far from steady state", _RUN, "headline", source="littles", short="Little's gap"),
    Metric("load_ratio", "offered load / capacity", "×", "ratio", "lower",
           "offered work per unit time / staffed capacity (servsim.capacity); ≥ 1 is over capacity", _RUN,
           source="run", short="load ratio"),
    Metric("stopped", "stopped by a limit", "1", "share", "lower", "1 when the run hit a limit of the scenario",
           _RUN, source="run", short="stopped"),
    Metric("staff_cost", "staff cost", "currency", "money", "lower",
           "Σ over agents pools of paid hours after the warm-up × cost_per_hour", _RUN, "when_used",
           source="costs"),
    Metric("penalty_cost", "penalty cost", "currency", "money", "lower",
           "abandoned × per_abandoned + intervals missing the channel's goal × per_interval_missing_target",
           _RUN, source="costs"),
    Metric("total_cost", "total cost", "currency", "money", "lower",
           "staff + vendor + bot + penalty cost", _RUN, "headline", source="costs"),
    Metric("cost_per_handled", "cost per handled contact", "currency", "money", "lower",
           "r(total_cost, handled + contained)", _RUN, "headline", source="costs", short="cost/handled"),
    Metric("vendor_cost", "vendor cost", "currency", "money", "lower",
           "Σ over vendor pools of contacts served × price_per_contact + hours handling × price_per_hour",
           _RUN, "when_used", source="costs"),
    Metric("bot_cost", "bot cost", "currency", "money", "lower",
           "Σ over bots pools of bots × licence_cost × days after the warm-up / licence_period + items served × "
           "cost_per_transaction", _RUN, "when_used", source="costs"),
    Metric("satisfaction_mean", "satisfaction proxy (mean score, 0–100%)", "1", "share", "higher",
           "r(Σ satisfaction proxy score, Σ scored contacts): handled, abandoned and contained contacts "
           "(servsim.economics.satisfaction_scores)", _CONTACTS, "headline",
           compute=lambda s: ratio(s["score_sum"], s["scored"]), short="satisfaction"),
    Metric("share_satisfied", "satisfied (proxy)", "1", "share", "higher",
           "r(Σ scored contacts with score ≥ satisfied_at, Σ scored contacts)", _CONTACTS, "headline",
           compute=lambda s: ratio(s["satisfied"], s["scored"]), short="satisfied"),
    Metric("abandon_rate_waited", "abandonment among those who waited", "1", "share", "lower",
           "r(Σ abandoned after waiting > 0 s, Σ known contacts that waited > 0 s): P(abandon | wait > 0), "
           "the conditional Erlang A gives and patience fits read", _CONTACTS,
           compute=lambda s: ratio(s["abandoned_waited"], s["known_waited"]), short="abandon if waited"),
    Metric("mean_queue", "mean number waiting", "contacts", "count", "lower",
           "time-average number of the row's contacts waiting in a queue (any step): Σ over their visits of "
           "the time waiting inside the window / its length; the window is the reporting interval (time-based, "
           "whoever arrived when: the queue a person would have seen then) or, in the summary, [warm-up end, "
           "end]", _CONTACTS, source="queue", short="queue"),
    # run-level metrics of experiments and sweeps (servsim.runlevel)
    Metric("cost", "cost", "currency", "money", "lower", "the overall row's total_cost (for experiment files)",
           _t("results"), source="run_level"),
    Metric("paid_hours", "paid agent-hours (people)", "h", "hours", "lower",
           "Σ over agents pools of paid agent-seconds after the warm-up / 3600 (bots and vendors are not in it)",
           _t("results"), source="run_level", short="paid hours"),
    Metric("overtime_hours", "overtime agent-hours (people)", "h", "hours", "lower",
           "Σ over agents pools of overtime_s after the warm-up / 3600 (in paid_hours too)", _t("results"),
           source="run_level", short="overtime"),
    Metric("bot_hours", "bot-hours available", "h", "hours", None,
           "Σ over bots pools of paid (licensed, on shift) bot-seconds after the warm-up / 3600", _t("results"),
           source="run_level", short="bot hours"),
    Metric("vendor_hours", "vendor hours worked", "h", "hours", None,
           "Σ over vendor pools of busy seconds after the warm-up / 3600", _t("results"), source="run_level",
           short="vendor hours"),
    Metric("sl_met", "service-level goals met", "1", "share", "higher",
           "1 when every channel row and the overall row meet their service-level goal (servsim.targets)",
           _t("results"), source="targets", short="SL goals met"),
    Metric("abandon_met", "abandonment ceiling met", "1", "share", "higher",
           "1 when every channel row and the overall row have abandon_rate ≤ targets.abandonment_max",
           _t("results"), source="targets", short="abandon cap met"),
    Metric("targets_met", "every target met", "1", "share", "higher", "sl_met × abandon_met", _t("results"),
           source="targets"),
    Metric("intervals_missed", "intervals missing the goal", "intervals", "count", "lower",
           "Σ over channels of reporting intervals after the warm-up that offered work and missed the channel's "
           "own service-level goal", _t("results"), source="targets", short="intervals missed"),
    # pools (servsim.metrics.cells.CellSums.busy) and their individual agents (CellSums.agents)
    Metric("proficiency", "agent proficiency", "1", "ratio", "lower",
           "the agent's own handle-time factor f_k (drawn once per replication, mean 1, or listed); its "
           "handle time = the step's × the skill's proficiency × f_k", _t("agents"), source="pools",
           short="proficiency"),
    Metric("staffed_s", "staffed agent-time", "agent-s", "duration", None,
           "∫ on-duty headcount dt (after breaks and shrinkage); agent k: ∫ 1[on-duty headcount > k] dt",
           _t("pools", "pool_summary", "agents"), source="pools", short="staffed"),
    Metric("busy_s", "busy agent-time", "agent-s", "duration", None,
           "∫ busy(t) dt, busy(t) = slots serving or wrapping up / concurrency k (a slot is busy until its "
           "wrap-up ends); agent k: Σ of its visits' service and wrap-up time in the window", _t("pools", "pool_summary", "agents"), source="pools", short="busy"),
    Metric("paid_s", "paid agent-time", "agent-s", "duration", "lower",
           "∫ max(scheduled headcount(t), busy(t)) dt: on shift, or finishing a contact after it",
           _t("pools", "pool_summary"), source="pools", short="paid"),
    Metric("served", "visits served", "visits", "count", None, "visits the pool (agent) finished (by the time the agent was free: after wrap-up, if "
           "any); preempted services are not counted",
           _t("pools", "agents"), source="pools", short="served"),
    Metric("occupancy", "occupancy", "1", "share", None,
           "r(busy_s, paid_s), wrap-up included (busy_s); NaN for an unlimited pool (no capacity to occupy)",
           _t("pools", "pool_summary"), source="pools"),
    Metric("agent_occupancy", "agent occupancy", "1", "share", None,
           "r(busy_s, staffed_s) of one agent: busy over on duty (above 1 when finishing a contact after "
           "going off)", _t("agents"), source="pools", short="agent occ."),
    Metric("wrap_s", "wrap-up agent-time", "agent-s", "duration", None,
           "Σ wrap-up time begun (at the end of a service by the pool) in the row; wrap_s / served ≈ the "
           "pool's mean wrap-up time", _t("pools", "pool_summary"), source="pools", short="wrap time"),
    Metric("overtime_s", "overtime agent-time", "agent-s", "duration", "lower",
           "∫ (paid level(t) − scheduled headcount(t)) dt: paid time beyond the schedule — agents finishing a "
           "contact after their shift, and with horizon.closing: drain the agents on duty at close, held "
           "until no contact is in service (paid level = their on-duty headcount at close then); in paid_s",
           _t("pools", "pool_summary"), source="pools", short="overtime"),
)

#: Every KPI by name, in declaration order (= column order of the tables).
REGISTRY: dict[str, Metric] = {m.name: m for m in _ENTRIES}
#: KPIs named after a part of the scenario.
PATTERNS: tuple[Pattern, ...] = (
    Pattern("occupancy_{pool}", "occupancy {pool}", "pool", "1", "share", None,
            "that pool's occupancy in pool_summary: busy_s / paid_s after the warm-up", _t("results"),
            short="occ. {pool}"),
)


#: The KPIs of the day view (per reporting interval) of run and compare reports, top to bottom.
DAY_VIEW = ("offered", "service_level", "asa_s", "abandon_rate", "mean_queue")
#: What an experiment file without ``metrics:`` compares.
DEFAULT_EXPERIMENT_METRICS = ("service_level", "abandon_rate", "asa_s", "mean_wait_s", "cost")
#: The KPI cards of the what-if app (``servsim app``), in order; occupancy per pool follows them.
APP_CARDS = ("asa_s", "service_level", "p_wait", "abandon_rate")


def columns(table: Table, source: Source | None = None) -> list[str]:
    """KPI columns of ``table`` (optionally only those from ``source``), in declaration order."""
    return [m.name for m in _ENTRIES if table in m.tables and (source is None or m.source == source)]


def names(show: Show | None = None, source: Source | None = None) -> list[str]:
    """KPI names with the given ``show`` and ``source`` (None: any), in declaration order."""
    return [m.name for m in _ENTRIES if (show is None or m.show == show) and (source is None or m.source == source)]


def resolve(name: str, parts: Iterable[str] | None = None) -> Metric | None:
    """The entry of ``name``: an exact name, else a pattern's member (``occupancy_clerks``). With
    ``parts`` (e.g. the scenario's pool names), a member must name one of them. None if unknown."""
    if name in REGISTRY:
        return REGISTRY[name]
    for pattern in PATTERNS:
        hit = pattern.regex.match(name)
        if hit and (parts is None or hit["part"] in set(parts)):
            return pattern.metric(hit["part"])
    return None


def experiment_metrics(scenario: object) -> list[str]:
    """Metrics (and constraint names) an experiment or sweep on ``scenario`` can use: every entry of
    the ``results`` table, then ``occupancy_<pool>`` for each of its pools."""
    pools = list(getattr(scenario, "pools", {}))
    return [*columns("results"), *(p.metric(pool).name for p in PATTERNS if p.part == "pool" for pool in pools)]


def units(metrics: Iterable[str], currency: str | None = None) -> dict[str, dict[str, str]]:
    """{name: {label, unit, kind}} of the known ``metrics``, for JSON outputs (unknown names left out);
    with ``currency``, money's unit is that code rather than "currency"."""
    out = {}
    for name in dict.fromkeys(metrics):
        m = resolve(name)
        if m is not None:
            unit = currency if currency and m.unit == "currency" else m.unit
            out[name] = {"label": m.label, "unit": unit, "kind": m.kind}
    return out
