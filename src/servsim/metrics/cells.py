"""Per-cell sums: the one computation of every contact KPI, with a per-contact log or without.

A *cell* is a group of contacts whose KPIs can be added: (channel, reporting interval of arrival)
for the ``intervals`` table, (channel, customer segment) over contacts arriving after the warm-up
for the ``summary`` rows (overall, per channel, per segment: sums of cells). Each contact
contributes one row of :data:`SUMS` — 0/1 counts and sums of waits, handle times, lead times and
satisfaction scores — and :func:`np.bincount` adds them into their cells, one column at a time (no
Python loop over contacts, rows or intervals). Every KPI that is a count, a share or a mean is
then its registry entry's ``compute`` on the summed rows (:mod:`servsim.metrics.registry`).

Both kinds of run go through :class:`CellSums`: without a per-contact log the engine hands over
contacts in chunks as they leave and pool events in time order (:func:`CellSums.contacts`,
:func:`CellSums.busy`), so memory follows the number of cells, not of contacts; with a log, the
whole log is folded once (:func:`CellSums.fold_log`). The two give equal tables up to the order of
floating-point additions (relative differences around 1e-15), except wait percentiles:

* with a log they are exact: :func:`grouped_percentile`, numpy's linear interpolation between order
  statistics, per row;
* without one, ``summary`` percentiles come from a histogram of waits per cell: one bin for waits
  of exactly 0 s, one for (0, 0.01 s), then geometric bins 0.5 % wide up to 10⁷ s (about 116 days;
  longer waits share the last bin), waits spread evenly inside a bin — within 0.5 % (or 0.01 s) of
  the exact value; in the ``intervals`` table they are NaN.

Pools: each pool's busy-slot count is integrated exactly between its change points (service starts
and busy ends — the end of the wrap-up where a step has one, else the service end —, staffing
changes, interval boundaries, the warm-up end): ``staffed_s`` = ∫ on-duty
headcount, ``busy_s`` = ∫ busy, ``paid_s`` = ∫ max(scheduled headcount, busy), per interval and over
exactly [warm-up end, end of run] (``pool_summary``). Pools of individual agents also get per-agent
sums over that window (the ``agents`` table): busy_s = Σ over the agent's visits of their service
time inside the window, staffed_s = ∫ 1[on-duty headcount > k] dt for agent k, served = visits
finished in it; their sums over a pool's agents are the pool's busy_s, staffed_s and served.

Little's law: L = Σ over visits of their time in the window [warm-up end, end] / τ; λ and W from
the contacts that arrived in the window (arrivals at exactly the end are outside it).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from servsim.engine.core import Records, as_numpy
from servsim.engine.plan import Plan
from servsim.metrics import records
from servsim.metrics.registry import REGISTRY, columns
from servsim.metrics.satisfaction import scores as satisfaction_scores
from servsim.outcomes import TABLE_CODE, Outcome, VisitOutcome
from servsim.scenario.economics import Satisfaction
from servsim.units import DAY

#: The per-contact quantities summed into cells (not KPIs: their inputs). ``sl_*_own`` use the
#: contact's channel threshold, ``sl_*_target`` the targets' threshold.
SUMS = ("offered", "answered", "handled", "abandoned", "in_system", "balked", "contained", "outsourced",
        "unresolved", "retrials", "answered_wait_sum", "known", "known_wait_sum", "known_waited",
        "abandoned_waited", "handled_lead_sum", "handles", "handle_sum", "scored", "score_sum", "satisfied",
        "sl_within_own", "sl_ab_within_own", "sl_young_own", "sl_within_target", "sl_ab_within_target",
        "sl_young_target", "wrap_sum", "preempted", "blocked",
        "cb_offered", "cb_accepted", "cb_called", "cb_wait_sum")
_J = {name: j for j, name in enumerate(SUMS)}
_SL = ("sl_within", "sl_ab_within", "sl_young")

#: KPIs evaluated from the sums, and the wait percentiles (column, percentile).
CELL_KPIS = [(m.name, m.compute) for m in REGISTRY.values() if m.compute is not None]
PERCENTILES = (("p90_wait_s", 90.0), ("p95_wait_s", 95.0))
_LITTLE = columns("summary", "littles")

# --------------------------------------------------------------------------- wait histogram
H_MIN = 0.01
H_MAX = 1e7
H_RATIO = 1.005
_H_GEOM = math.ceil(math.log(H_MAX / H_MIN) / math.log(H_RATIO))
_H_LO = np.r_[0.0, 0.0, H_MIN * H_RATIO ** np.arange(_H_GEOM)]
_H_HI = np.r_[0.0, H_MIN, H_MIN * H_RATIO ** np.arange(1, _H_GEOM + 1)]
N_BINS = len(_H_LO)


def wait_bins(w: np.ndarray) -> np.ndarray:
    """Histogram bin of each wait (seconds, >= 0)."""
    b = np.zeros(len(w), dtype=np.int64)
    pos = w > 0
    small = pos & (w < H_MIN)
    b[small] = 1
    big = pos & ~small
    j = np.floor(np.log(w[big] / H_MIN) / math.log(H_RATIO)).astype(np.int64)
    b[big] = 2 + np.clip(j, 0, _H_GEOM - 1)
    return b


def hist_percentiles(counts: np.ndarray, qs: Iterable[float]) -> list[float]:
    """Percentiles (0-100) of the values counted in ``counts`` (bins of :func:`wait_bins`), by numpy's
    linear interpolation between order statistics, each order statistic placed evenly in its bin."""
    qs = list(qs)
    n = int(counts.sum())
    if n == 0:
        return [np.nan] * len(qs)
    cum = np.cumsum(counts)

    def value(r: int) -> float:  # r-th smallest (0-based)
        b = int(np.searchsorted(cum, r, side="right"))
        first = cum[b] - counts[b]
        return float(_H_LO[b] + (_H_HI[b] - _H_LO[b]) * (r - first + 0.5) / counts[b])

    out = []
    for q in qs:
        h = (n - 1) * q / 100.0
        lo = math.floor(h)
        v = value(lo)
        if lo + 1 < n and h > lo:
            v += (h - lo) * (value(lo + 1) - v)
        out.append(v)
    return out


def grouped_percentiles(values: np.ndarray, groups: np.ndarray, n_groups: int,
                        qs: Iterable[float]) -> np.ndarray:
    """``float64[len(qs), n_groups]``: the percentiles ``qs`` (0-100) of ``values`` within each group
    0..n_groups-1 (NaN for an empty group), by numpy's default linear interpolation between order
    statistics. ``values`` must be sorted already: one stable sort of the integer group codes then
    keeps each group's values in order, so all groups and percentiles cost one pass."""
    qs = list(qs)
    if n_groups == 1 and not groups.any():  # one group: already in order
        v, n = values, np.array([len(values)])
    else:
        v = values[np.argsort(groups, kind="stable")]
        n = np.bincount(groups, minlength=n_groups)[:n_groups]
    start = np.cumsum(n) - n
    has = n > 0
    out = np.full((len(qs), n_groups), np.nan)
    for i, q in enumerate(qs):
        h = (np.maximum(n, 1) - 1) * (q / 100.0)
        lo = np.floor(h).astype(np.int64)
        hi = np.minimum(lo + 1, np.maximum(n - 1, 0))
        a, b = v[(start + lo)[has]], v[(start + hi)[has]]
        t = (h - lo)[has]
        # numpy's _lerp: exact at both ends
        out[i, has] = np.where(t >= 0.5, b - (b - a) * (1 - t), a + (b - a) * t)
    return out


# --------------------------------------------------------------------------- per-contact sums
def contact_inputs(contacts: pd.DataFrame) -> dict[str, np.ndarray]:
    """A ``contacts`` table's columns that KPIs need, as :func:`servsim.metrics.records.contact_columns`
    gives them: ``outcome`` and ``channel`` as codes (outcomes of
    :data:`servsim.outcomes.TABLE_OUTCOMES`, -1 for an unknown one; channels in first-seen order,
    named by ``channel_names``), missing optional columns with their neutral value."""
    col = contacts["outcome"]
    names = records.CONTACT_OUTCOMES
    if isinstance(col.dtype, pd.CategoricalDtype):
        cats = [str(c) for c in col.cat.categories]
        remap = np.array([names.index(c) if c in names else -1 for c in cats] + [-1])
        codes = remap[col.cat.codes.to_numpy()]
    else:
        lookup = {n: i for i, n in enumerate(names)}
        codes = np.array([lookup.get(str(x), -1) for x in col.to_numpy()], dtype=np.int64)
    n = len(contacts)
    out: dict[str, np.ndarray] = {"outcome": codes}
    defaults = {"outsourced": np.zeros(n, bool), "attempt": np.ones(n, np.int64)}
    for name in ("answered", "wait_s", "lead_time_s", "outsourced", "attempt", "bot_s", "callback_offered",
                 "callback_accepted", "callbacks", "callback_wait_s"):
        if name in contacts.columns:
            out[name] = contacts[name].to_numpy()
        elif name in defaults:
            out[name] = defaults[name]
    resolved = contacts["resolved"].to_numpy() if "resolved" in contacts.columns else np.ones(n, bool)
    out["resolved"] = ~(resolved == False)  # noqa: E712 - NaN or None count as resolved
    channel = records.labels(contacts["channel"]) if "channel" in contacts.columns else np.full(n, "")
    channel_names = list(dict.fromkeys(channel))
    index = {name: i for i, name in enumerate(channel_names)}
    out["channel"] = np.array([index[c] for c in channel], dtype=np.int64)
    out["channel_names"] = np.array(channel_names, dtype=object)
    return out


def contact_sums(c: Mapping[str, np.ndarray], handles: np.ndarray, handle_sum: np.ndarray, own_t: np.ndarray,
                 target_t: float, satisfaction: Satisfaction | None,
                 channel_names: Sequence[str], wrap_sum: np.ndarray | None = None,
                 preempted: np.ndarray | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """(column of :data:`SUMS`, its value per contact), one column at a time, so that folding adds
    each into its cells before the next is made (a whole ``float64[n, len(SUMS)]`` block would
    be the largest thing a run allocates). ``c``: the contacts' columns as
    :func:`servsim.metrics.records.contact_columns` gives them (codes for labels); ``handles``/
    ``handle_sum``: number and total handle time of each contact's completed service visits;
    ``own_t``: each contact's service-level threshold; ``satisfaction``: the proxy's settings
    (None: no scores); ``channel_names``: what ``c["channel"]`` indexes; ``wrap_sum``: total
    wrap-up time after each contact's completed service visits; ``preempted``: its preempted visits
    (None: none)."""
    outcome, answered, wait = c["outcome"], c["answered"].astype(bool), c["wait_s"]
    n = len(outcome)
    handled = outcome == Outcome.HANDLED
    abandoned = outcome == Outcome.ABANDONED
    in_system = outcome == Outcome.IN_SYSTEM
    known = answered | abandoned
    waiting_end = in_system & ~answered
    waited = known & (wait > 0)
    j = _J
    yield j["offered"], np.ones(n)
    yield j["answered"], answered
    yield j["handled"], handled
    yield j["abandoned"], abandoned
    yield j["in_system"], in_system
    yield j["balked"], outcome == Outcome.BALKED
    yield j["contained"], outcome == Outcome.CONTAINED
    yield j["blocked"], outcome == TABLE_CODE[Outcome.BLOCKED]
    yield j["outsourced"], handled & c["outsourced"]
    yield j["unresolved"], handled & ~c["resolved"].astype(bool)
    yield j["retrials"], c["attempt"] > 1
    yield j["answered_wait_sum"], np.where(answered, wait, 0.0)
    yield j["known"], known
    yield j["known_wait_sum"], np.where(known, wait, 0.0)
    yield j["known_waited"], waited
    yield j["abandoned_waited"], waited & abandoned
    yield j["handled_lead_sum"], np.where(handled, c["lead_time_s"], 0.0)
    yield j["handles"], handles
    yield j["handle_sum"], handle_sum
    if wrap_sum is not None:
        yield j["wrap_sum"], wrap_sum
    if preempted is not None:
        yield j["preempted"], preempted
    if satisfaction is not None:
        scores = satisfaction_scores(outcome, wait, c["channel"], channel_names, satisfaction,
                                     c["resolved"].astype(bool), c.get("bot_s"))
        scored = ~np.isnan(scores)
        yield j["scored"], scored
        yield j["score_sum"], np.where(scored, scores, 0.0)
        yield j["satisfied"], scored & (scores >= satisfaction.satisfied_at)
    if "callback_offered" in c:
        called = c["callbacks"]
        yield j["cb_offered"], c["callback_offered"]
        yield j["cb_accepted"], c["callback_accepted"]
        yield j["cb_called"], called
        yield j["cb_wait_sum"], np.where(called > 0, c["callback_wait_s"], 0.0)
    for kind, t in (("own", own_t), ("target", target_t)):
        yield j[f"sl_within_{kind}"], answered & (wait <= t)
        yield j[f"sl_ab_within_{kind}"], abandoned & ~answered & (wait <= t)
        yield j[f"sl_young_{kind}"], waiting_end & (wait < t)


def kpi_frame(sums: np.ndarray, use_target: np.ndarray | bool) -> dict[str, np.ndarray]:
    """Every ``cells`` KPI of the registry for each row of ``sums`` (``float64[rows, len(SUMS)]``);
    rows with ``use_target`` measure the service level at the targets' threshold, the others at
    their channel's. One vectorised evaluation per KPI, whatever the number of rows."""
    s = {name: sums[:, j] for name, j in _J.items()}
    for name in _SL:
        s[name] = np.where(use_target, s[f"{name}_target"], s[f"{name}_own"])
    return {name: compute(s) for name, compute in CELL_KPIS}


def _add(table: np.ndarray, cell: np.ndarray, columns: Iterable[tuple[int, np.ndarray]]) -> None:
    """table[cell[i], j] += x_j[i] for every contact i and column (j, x_j): one :func:`np.bincount`
    per column."""
    size = table.shape[0]
    for j, x in columns:
        if len(cell):
            table[:, j] += np.bincount(cell, weights=x, minlength=size)[:size]


def _timeline(changes: tuple[tuple[float, int, int], ...], pool: int) -> tuple[np.ndarray, np.ndarray]:
    """(times, headcounts) of one pool's changes in a plan's (time, pool, headcount) timeline."""
    mine = [(t, n) for t, q, n in changes if q == pool]
    return np.array([t for t, _ in mine], dtype=float), np.array([n for _, n in mine], dtype=float)


def busy_events(rec: Records) -> tuple[np.ndarray, np.ndarray]:
    """Service starts (code = pool) and busy ends (code = ~pool) of a log's started visits, in time
    order. A slot is busy until its wrap-up ends (``v_free``) where there is one, else until the
    service ends; a wrap-up still running at the end of the run has no busy end."""
    a = as_numpy(rec)
    started = ~np.isnan(a["v_start"])
    end = a["v_end"]
    free = a["v_free"]
    wrapped = ~np.isnan(free)
    if wrapped.any():
        end = np.where(wrapped, np.where(free <= rec.end_time, free, np.nan), end)
    ended = started & ~np.isnan(end)
    t = np.concatenate([a["v_start"][started], end[ended]])
    pool = a["v_pool"].astype(np.int64)
    code = np.concatenate([pool[started], ~pool[ended]])
    order = np.argsort(t, kind="stable")
    return t[order], code[order]


class CellSums:
    """The per-cell sums of one run (module docstring), and its tables built from them."""

    def __init__(self, plan: Plan, factors: Sequence[Sequence[float] | None] | None = None) -> None:
        self.plan = plan
        #: pools of individual agents: their agents' handle-time factors (:func:`agent_factors`) and
        #: per-agent busy seconds and visits finished after the warm-up end
        self.agent_pools = [p for p, pl in enumerate(plan.pools) if pl.individual]
        self.factors = factors if factors is not None else [None] * len(plan.pools)
        self.agent_busy = {p: np.zeros(plan.pools[p].n_agents) for p in self.agent_pools}
        self.agent_served = {p: np.zeros(plan.pools[p].n_agents, dtype=np.int64) for p in self.agent_pools}
        self.n_ch = len(plan.channels)
        self.n_seg = len(plan.segment_names)
        self.bounds = np.asarray(plan.boundaries, dtype=float)
        self.n_int = len(self.bounds) - 1
        self.own_t = np.array([ch.sl_threshold for ch in plan.channels], dtype=float)
        self.target_t = float(plan.scenario.targets.service_level.threshold)
        self.satisfaction = plan.scenario.economics.satisfaction
        self.channel_names = [ch.name for ch in plan.channels]
        # cells (channel, segment, slot): slot k < n_int is the interval of arrival; slot n_int holds the
        # warm-up contacts of the interval the warm-up ends in (``warm_slot``), so that the slots from
        # ``warm_slot`` to n_int - 1 hold exactly the contacts arriving after the warm-up
        self.warm_slot = min(int(records.interval_of(plan, np.array([plan.warmup_end]))[0]), self.n_int)
        self.cube = np.zeros((self.n_ch * self.n_seg * (self.n_int + 1), len(SUMS)))
        self.hist = np.zeros((self.n_ch * self.n_seg, N_BINS), dtype=np.int64)
        #: contact-seconds spent waiting, per (channel, segment) and reporting interval (time-based: the
        #: waiting inside the interval, whoever arrived when), and per (channel, segment) after the warm-up
        self.waiting_s = np.zeros((self.n_ch * self.n_seg, self.n_int))
        self.waiting_post_s = np.zeros(self.n_ch * self.n_seg)
        length = np.minimum(np.diff(self.bounds), plan.interval)
        self.interval_s = np.where(length > 0, length, np.nan)
        #: exact percentiles from a log: {column: (summary row values, interval row values)}
        self.exact: dict[str, tuple[np.ndarray, np.ndarray]] | None = None
        # Little's law: Σ visit time in the window, arrivals in it, Σ and count of their times in system
        self.l_sum = 0.0
        self.arrived = 0
        self.w_sum = 0.0
        self.w_n = 0
        # contacts that arrived at the latest arrival time seen (the window excludes arrivals at its end)
        self.tail_t = -math.inf
        self.tail_n = 0
        self.tail_left = 0
        n_pools = len(plan.pools)
        self.staffed_s = np.zeros((n_pools, self.n_int))
        self.busy_s = np.zeros((n_pools, self.n_int))
        self.paid_s = np.zeros((n_pools, self.n_int))
        self.served = np.zeros((n_pools, self.n_int), dtype=np.int64)
        #: wrap-up seconds per pool per interval of the service end, and after the warm-up end
        self.wrap_s = np.zeros((n_pools, self.n_int))
        self.wrap_post = np.zeros(n_pools)
        #: per pool: staffed, busy, paid agent-seconds and visits served after the warm-up end
        self.post = np.zeros((n_pools, 4))
        self.carry = np.zeros(n_pools)
        self.t_from = plan.start
        self.levels = [(*_timeline(plan.staffing, p), *_timeline(plan.paid, p)) for p in range(n_pools)]
        #: paid agent-seconds beyond the scheduled headcount (finishing contacts after a shift, drains),
        #: per pool and interval, and per pool after the warm-up
        self.overtime_s = np.zeros((n_pools, self.n_int))
        self.overtime_post = np.zeros(n_pools)
        # closing: drain: the agents on duty at each close (on-duty level just before it; NaN for vendors
        # and bots) stay until no contact is in service: found from the busy slots of all pools together
        self.drain = plan.closing == "drain" and bool(plan.closes)
        if self.drain:
            self.closes = np.asarray(plan.closes, dtype=float)
            self.opens = np.asarray(plan.opens, dtype=float)
            self.held = np.full((n_pools, len(self.closes)), np.nan)
            for p, pl in enumerate(plan.pools):
                if pl.kind == "agents":
                    st_t, st_n = self.levels[p][:2]
                    i = np.searchsorted(st_t, self.closes, side="left") - 1
                    self.held[p] = np.where(i >= 0, st_n[np.maximum(i, 0)], 0.0)
            self.alive = np.zeros(len(self.closes), dtype=bool)
            self.total_busy = 0.0

    # ------------------------------------------------------------------ folding
    def contacts(self, rec: Records) -> None:
        """Fold a chunk of contacts with all their visits (the engine's sink without a log)."""
        v = records.visit_columns(self.plan, rec)
        self.fold(records.contact_columns(self.plan, rec, v), v, rec.end_time)

    def fold_log(self, rec: Records) -> None:
        """Fold a whole per-contact log: its contacts, its pools' busy time to its end, and the exact
        wait percentiles of every summary and interval row."""
        v = records.visit_columns(self.plan, rec)
        c = records.contact_columns(self.plan, rec, v)
        self.fold(c, v, rec.end_time, histogram=False)
        self.busy(*busy_events(rec), rec.end_time)
        self.exact = self._exact_percentiles(c)

    def fold(self, c: Mapping[str, np.ndarray], v: Mapping[str, np.ndarray], end_time: float,
             histogram: bool = True) -> None:
        """Add contacts ``c`` with their visits ``v`` (columns as :func:`records.contact_columns` and
        :func:`records.visit_columns` give them) to the cells, Little's sums and (unless the exact
        waits are at hand) the wait histogram."""
        n = len(c["outcome"])
        outcome = v["outcome"]
        served = outcome == VisitOutcome.SERVED
        vc = v["contact"][served]
        handles = np.bincount(vc, minlength=n)[:n]
        preempted = outcome == VisitOutcome.PREEMPTED
        pre = preempted.any()
        # a preempted service's time counts in the handle time of the item, not as a visit served
        worked = served | preempted if pre else served
        handle_sum = np.bincount(v["contact"][worked], weights=v["handle_s"][worked], minlength=n)[:n]
        wrapped = served & ~np.isnan(v["wrap_s"])
        wrap = wrapped.any()
        channel, segment = c["channel"], c["segment"]
        columns = contact_sums(c, handles, handle_sum, self.own_t[channel], self.target_t, self.satisfaction,
                               self.channel_names,
                               _sums(v["contact"][wrapped], v["wrap_s"][wrapped], n) if wrap else None,
                               _sums(v["contact"][preempted], np.ones(int(preempted.sum())), n) if pre else None)
        if wrap or pre:
            self._fold_pools(v, wrapped, preempted)
        warm = c["warmup"]
        interval = c["interval"]
        slot = np.where(warm & (interval >= self.warm_slot), self.n_int, interval)
        group = channel * self.n_seg + segment
        _add(self.cube, group * (self.n_int + 1) + slot, columns)
        if histogram:
            known = c["answered"] | (c["outcome"] == Outcome.ABANDONED)
            timed = ~warm & known
            cell = group[timed] * N_BINS + wait_bins(c["wait_s"][timed])
            self.hist += np.bincount(cell, minlength=self.hist.size).reshape(self.hist.shape)
        self._fold_littles(c, v, end_time)
        self._fold_waiting(group, v)
        if self.agent_pools:
            self._fold_agents(v)

    def _fold_agents(self, visits: Mapping[str, np.ndarray]) -> None:
        """Add each visit served by an individual agent to that agent's busy seconds after the warm-up
        end (its service time in [warm-up end, end]) and, finished after it, to its visits served."""
        agent = visits["agent"]
        mine = agent >= 0
        if not mine.any():
            return
        warm = self.plan.warmup_end
        k, pool = agent[mine], visits["pool"][mine]
        start = visits["start_s"][mine]
        end = start + visits["handle_s"][mine]  # a visit in service at the end of the run: to the end
        done = visits["outcome"][mine] == VisitOutcome.SERVED
        free = visits["free_s"][mine]
        if not np.isnan(free).all():  # busy until the wrap-up ends (or the horizon does)
            wrapped = ~np.isnan(free)
            done &= ~wrapped | (free <= self.plan.end)
            end = np.where(wrapped, np.minimum(free, self.plan.end), end)
        busy = np.clip(end - np.maximum(start, warm), 0.0, None)
        done &= end >= warm
        for p in self.agent_pools:
            at = pool == p
            n = len(self.agent_busy[p])
            self.agent_busy[p] += np.bincount(k[at], weights=busy[at], minlength=n)[:n]
            self.agent_served[p] += np.bincount(k[at & done], minlength=n)[:n]

    def _fold_pools(self, v: Mapping[str, np.ndarray], wrapped: np.ndarray, preempted: np.ndarray) -> None:
        """Per pool and reporting interval of the service end: wrap-up seconds begun (``wrap_s``), and
        preempted services taken out of ``served`` (their end is a busy end, not a visit finished)."""
        bounds, n_int, warm = self.bounds, self.n_int, self.plan.warmup_end
        for mask, sign in ((wrapped, 0), (preempted, -1)):
            if not mask.any():
                continue
            p, end = v["pool"][mask], v["end_s"][mask]
            k = np.clip(np.searchsorted(bounds, end, side="right") - 1, 0, n_int - 1)
            after = end >= warm
            if sign:
                np.add.at(self.served, (p, k), -1)
                np.add.at(self.post[:, 3], p[after], -1)
            else:
                w = v["wrap_s"][mask]
                np.add.at(self.wrap_s, (p, k), w)
                np.add.at(self.wrap_post, p[after], w[after])

    def _fold_waiting(self, group: np.ndarray, visits: Mapping[str, np.ndarray]) -> None:
        """Add each visit's time waiting in queue — from queue entry to service start, abandonment or
        the end — to its contact's cell, per reporting interval (the part inside [interval start,
        interval start + interval length]) and after the warm-up end."""
        a = visits["queued_s"]
        b = a + visits["wait_s"]
        ok = ~np.isnan(b)
        a, b, g = a[ok], b[ok], group[visits["contact"][ok]]
        self.waiting_post_s += np.bincount(g, weights=np.clip(b - np.maximum(a, self.plan.warmup_end), 0, None),
                                           minlength=len(self.waiting_post_s))
        lo = self.bounds[:-1]
        hi = lo + np.nan_to_num(self.interval_s)
        # the intervals each period overlaps, from the one it starts in; most periods lie in one or two
        k = np.clip(np.searchsorted(lo, a, side="right") - 1, 0, self.n_int - 1)
        last = np.clip(np.searchsorted(lo, b, side="right") - 1, 0, self.n_int - 1)
        flat = self.waiting_s.reshape(-1)
        while len(k):
            inside = np.clip(np.minimum(b, hi[k]) - np.maximum(a, lo[k]), 0, None)
            flat += np.bincount(g * self.n_int + k, weights=inside, minlength=len(flat))
            more = k < last
            a, b, g, k, last = a[more], b[more], g[more], k[more] + 1, last[more]

    def _fold_littles(self, c: Mapping[str, np.ndarray], visits: Mapping[str, np.ndarray], end_time: float) -> None:
        # a chunk handed over during the run does not know the end yet (NaN): no upper bound then;
        # arrivals at exactly the end are taken out afterwards (the tail)
        t0 = self.plan.warmup_end
        t1 = end_time if end_time == end_time else math.inf
        arr, ex = c["arrival_s"], c["exit_s"]
        inside, left, visit_time = _window(visits, arr, ex, t0, t1)
        self.l_sum += visit_time
        self.arrived += int(inside.sum())
        self.w_n += int(left.sum())
        self.w_sum += float((ex[left] - arr[left]).sum())
        if inside.any():
            m = float(arr[inside].max())
            at = inside & (arr == m)
            if m > self.tail_t:
                self.tail_t, self.tail_n, self.tail_left = m, 0, 0
            if m == self.tail_t:
                self.tail_n += int(at.sum())
                self.tail_left += int((at & left).sum())

    def busy(self, times: np.ndarray, codes: np.ndarray, until: float) -> None:
        """Fold service starts (code = pool) and ends (code = ~pool), in time order, and integrate each
        pool's staffed, busy and paid time up to ``until`` (no event will come before it)."""
        t_from = self.t_from
        if len(times) and times[0] < t_from:
            raise RuntimeError("servsim.metrics.cells: pool events out of time order")
        spans = self._drain_spans(times, codes, t_from, until) if self.drain else ()
        for p in range(len(self.plan.pools)):
            start = codes == p
            sel = start | (codes == ~p)
            tp = times[sel]
            dp = np.where(start[sel], 1.0, -1.0)
            if len(tp) > 1 and (np.diff(tp) < 0).any():
                raise RuntimeError("servsim.metrics.cells: pool events out of time order")
            self._integrate(p, tp, dp, t_from, until, spans)
        self.t_from = until

    def _drain_spans(self, times: np.ndarray, codes: np.ndarray, t_from: float,
                     until: float) -> list[tuple[float, float, int]]:
        """The parts (a, b, close index) of [t_from, until) inside a drain: from a close at which some
        contact is in service to the first moment after it with none (the level after every event at
        that moment is 0), or to the next opening — the engine's rule (``Engine._close``). Events at
        ``until`` may be incomplete: a drain is only ended before it; the next call goes on."""
        cum = np.r_[0.0, np.cumsum(np.where(codes >= 0, 1.0, -1.0))]
        level = self.total_busy + cum[1:]
        last = np.r_[times[1:] != times[:-1], True] if len(times) else np.zeros(0, bool)
        spans = []
        first = int(np.searchsorted(self.opens, t_from, side="right"))
        for i in range(first, len(self.closes)):
            c, o = float(self.closes[i]), float(self.opens[i])
            if c >= until:
                break
            if c >= t_from:
                self.alive[i] = self.total_busy + cum[np.searchsorted(times, c, side="right")] > 0
            if not self.alive[i]:
                continue
            a, stop = max(c, t_from), min(o, until)
            zero = np.flatnonzero(last & (level == 0) & (times >= a) & (times < stop))
            if len(zero):
                b, self.alive[i] = float(times[zero[0]]), False
            else:
                b, self.alive[i] = stop, stop < o
            if b > a:
                spans.append((a, b, i))
        self.total_busy += cum[-1]
        return spans

    def _integrate(self, p: int, tp: np.ndarray, dp: np.ndarray, t_from: float, until: float,
                   spans: Sequence[tuple[float, float, int]] = ()) -> None:
        """One pool's piecewise-constant levels integrated over [t_from, until] between change points
        (in a drain span, an agents pool's on-duty and paid levels are its on-duty level at close)."""
        pool = self.plan.pools[p]
        bounds, n_int, warm = self.bounds, self.n_int, self.plan.warmup_end
        st_t, st_n, pd_t, pd_n = self.levels[p]
        parts = [tp, np.array([t_from, until])]
        if t_from < warm < until:  # the post-warm-up totals start exactly there
            parts.append(np.array([warm]))
        for a in (st_t, pd_t, bounds):
            parts.append(a[np.searchsorted(a, t_from, "left"):np.searchsorted(a, until, "right")])
        parts += [np.array([a, b]) for a, b, _ in spans]
        grid = np.unique(np.concatenate(parts))
        cum = np.r_[0.0, np.cumsum(dp)]
        busy = (self.carry[p] + cum[np.searchsorted(tp, grid, side="right")]) / pool.concurrency
        staffed, scheduled = _level(st_t, st_n, grid), _level(pd_t, pd_n, grid)
        if pool.unlimited:
            staffed = scheduled = busy
        dt = np.diff(grid)
        which = np.clip(np.searchsorted(bounds, grid[:-1], side="right") - 1, 0, n_int - 1)
        busy, staffed, scheduled = busy[:-1], staffed[:-1], scheduled[:-1]
        base = scheduled
        for a, b, i in spans:
            if self.held[p, i] == self.held[p, i]:
                inside = (grid[:-1] >= a) & (grid[:-1] < b)
                if base is scheduled:
                    staffed, scheduled = staffed.copy(), scheduled.copy()
                staffed[inside] = scheduled[inside] = self.held[p, i]
        busy_dt, staffed_dt, paid_dt = busy * dt, staffed * dt, np.maximum(busy, scheduled) * dt
        over_dt = paid_dt - base * dt
        self.overtime_s[p] += np.bincount(which, weights=over_dt, minlength=n_int)
        self.busy_s[p] += np.bincount(which, weights=busy_dt, minlength=n_int)
        self.staffed_s[p] += np.bincount(which, weights=staffed_dt, minlength=n_int)
        self.paid_s[p] += np.bincount(which, weights=paid_dt, minlength=n_int)
        ends = tp[dp < 0]
        if len(ends):
            self.served[p] += np.bincount(np.clip(np.searchsorted(bounds, ends, side="right") - 1, 0, n_int - 1),
                                          minlength=n_int)
        after = grid[:-1] >= warm
        self.post[p] += (staffed_dt[after].sum(), busy_dt[after].sum(), paid_dt[after].sum(), (ends >= warm).sum())
        self.overtime_post[p] += over_dt[after].sum()
        self.carry[p] += dp.sum()

    # ------------------------------------------------------------------ rows
    @property
    def by_group(self) -> np.ndarray:
        """Sums per (channel, segment) over the contacts arriving after the warm-up."""
        cube = self.cube.reshape(self.n_ch * self.n_seg, self.n_int + 1, len(SUMS))
        return cube[:, self.warm_slot:self.n_int].sum(axis=1)

    @property
    def by_interval(self) -> np.ndarray:
        """Sums per (channel, interval of arrival), every contact: ``float64[n_ch, n_int, len(SUMS)]``."""
        cube = self.cube.reshape(self.n_ch, self.n_seg, self.n_int + 1, len(SUMS)).sum(axis=1)
        out = cube[:, :self.n_int].copy()
        if self.warm_slot < self.n_int:
            out[:, self.warm_slot] += cube[:, self.n_int]
        return out

    def _summary_cells(self) -> list[tuple[str, str, np.ndarray]]:
        """(channel, segment, cells of :attr:`by_group`) of each summary row: overall, per channel (if
        several), per segment (if several)."""
        cells = np.arange(self.n_ch * self.n_seg)
        rows = [("all", "all", cells)]
        if self.n_ch > 1:
            rows += [(ch.name, "all", cells[cells // self.n_seg == i]) for i, ch in enumerate(self.plan.channels)]
        if self.n_seg > 1:
            rows += [("all", g, cells[cells % self.n_seg == i]) for i, g in enumerate(self.plan.segment_names)]
        return rows

    def _interval_cells(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(channel index or -1 for 'all', interval, sums, use_target) of each intervals-table row:
        channel rows with work offered, then, with several channels, 'all' rows per interval."""
        cube = self.by_interval
        ch, k = np.nonzero(cube[:, :, _J["offered"]] > 0)
        sums, use_target = [cube[ch, k]], [np.zeros(len(ch), bool)]
        chans, ints = [ch], [k]
        if self.n_ch > 1:
            total = cube.sum(axis=0)
            (kk,) = np.nonzero(total[:, _J["offered"]] > 0)
            sums.append(total[kk])
            use_target.append(np.ones(len(kk), bool))
            chans.append(np.full(len(kk), -1))
            ints.append(kk)
        return np.concatenate(chans), np.concatenate(ints), np.concatenate(sums), np.concatenate(use_target)

    def _exact_percentiles(self, c: Mapping[str, np.ndarray]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Exact wait percentiles of every summary and interval row, from a log's contact columns: the
        known waits sorted once, then grouped by each kind of row."""
        known = c["answered"] | (c["outcome"] == Outcome.ABANDONED)
        order = np.argsort(c["wait_s"][known], kind="stable")
        wait = c["wait_s"][known][order]

        def col(name: str) -> np.ndarray:
            return c[name][known][order]

        channel, segment = col("channel"), col("segment")
        post = ~col("warmup")
        interval = col("interval")
        qs = [q for _, q in PERCENTILES]
        # summary rows: overall, per channel, per segment (a contact is in one row of each kind)
        kinds = [(np.zeros(len(wait), np.int64), 1)]
        if self.n_ch > 1:
            kinds.append((channel, self.n_ch))
        if self.n_seg > 1:
            kinds.append((segment, self.n_seg))
        summary = np.concatenate([grouped_percentiles(wait[post], key[post], n, qs) for key, n in kinds], axis=1)
        by_channel = grouped_percentiles(wait, channel * self.n_int + interval, self.n_ch * self.n_int, qs)
        by_interval = grouped_percentiles(wait, interval, self.n_int, qs)
        ch_rows, k_rows, _, _ = self._interval_cells()
        rows = np.where(ch_rows >= 0, by_channel[:, np.maximum(ch_rows, 0) * self.n_int + k_rows],
                        by_interval[:, k_rows])
        return {name: (summary[i], rows[i]) for i, (name, _) in enumerate(PERCENTILES)}

    # ------------------------------------------------------------------ tables
    def summary(self, end_s: float, **more: object) -> pd.DataFrame:
        """KPIs overall, per channel and per segment after the warm-up, with Little's law on the
        overall row: the ``summary`` table, in the registry's column order. Columns the sums do not
        give (run status, costs: :func:`servsim.results.build`) come in ``more``, by name."""
        return summary_frame(self.summary_columns(end_s) | more)

    def summary_columns(self, end_s: float) -> dict[str, np.ndarray]:
        """The columns of :meth:`summary` the sums give, by name (``channel`` and ``segment`` first)."""
        groups = self._summary_cells()
        by_group = self.by_group
        sums = np.stack([by_group[cells].sum(axis=0) for _, _, cells in groups])
        use_target = np.array([self.n_ch > 1 and ch == "all" for ch, _, _ in groups])
        values = kpi_frame(sums, use_target)
        if self.exact is not None:
            values |= {name: self.exact[name][0] for name, _ in PERCENTILES}
        else:
            pct = np.array([hist_percentiles(self.hist[cells].sum(axis=0), [q for _, q in PERCENTILES])
                            for _, _, cells in groups]).reshape(len(groups), len(PERCENTILES))
            values |= {name: pct[:, i] for i, (name, _) in enumerate(PERCENTILES)}
        out: dict[str, np.ndarray] = {"channel": np.array([g[0] for g in groups], dtype=object),
                                      "segment": np.array([g[1] for g in groups], dtype=object)}
        out |= {name: values[name] for name in columns("summary") if name in values}
        tau = end_s - self.plan.warmup_end
        waiting = np.array([self.waiting_post_s[cells].sum() for _, _, cells in groups])
        out["mean_queue"] = waiting / tau if tau > 0 else np.full(len(groups), np.nan)
        overall = np.arange(len(groups)) == 0
        out |= {name: np.where(overall, value, np.nan) for name, value in self.littles_law(end_s).items()}
        return out

    def littles_law(self, end_s: float) -> dict[str, float]:
        """L, λW and their gap over [warm-up end, ``end_s``] (:func:`servsim.metrics.littles_law`)."""
        t0, t1 = self.plan.warmup_end, end_s
        tau = t1 - t0
        if tau <= 0:
            return dict.fromkeys(_LITTLE, np.nan)
        arrived, w_n = self.arrived, self.w_n
        if self.tail_t >= t1:  # arrived at t1 exactly: outside [t0, t1)
            arrived -= self.tail_n
            w_n -= self.tail_left
        L = self.l_sum / tau
        W = self.w_sum / w_n if w_n else 0.0
        return littles_values(L, arrived / tau * W)

    def intervals(self, replication: int | None = None) -> pd.DataFrame:
        """KPIs per channel per reporting interval of arrival (warm-up included); with several
        channels, rows 'all' per interval: the ``intervals`` table (with a ``replication`` column
        first when one is given)."""
        ch, k, sums, use_target = self._interval_cells()
        values = kpi_frame(sums, use_target)
        if self.exact is not None:
            values |= {name: self.exact[name][1] for name, _ in PERCENTILES}
        by_channel = self.waiting_s.reshape(self.n_ch, self.n_seg, self.n_int).sum(axis=1)
        waiting = np.where(ch >= 0, by_channel[np.maximum(ch, 0), k], by_channel.sum(axis=0)[k])
        values["mean_queue"] = waiting / self.interval_s[k]
        names = np.array([c.name for c in self.plan.channels] + ["all"], dtype=object)
        start = self.bounds[k]
        return pd.DataFrame({**_lead(replication, len(k)), "channel": names[ch], "interval": k.astype(np.int64),
                             "start_s": start,
                             **{name: values.get(name, np.full(len(k), np.nan)) for name in columns("intervals")},
                             "day": records.day_of(self.plan, start) + 1})

    def pools(self, replication: int | None = None) -> pd.DataFrame:
        """Staffed, busy and paid agent-seconds and visits served per pool per reporting interval (with
        a ``replication`` column first when one is given)."""
        plan, n_int = self.plan, self.n_int
        n_pools = len(plan.pools)
        start = np.tile(self.bounds[:-1], n_pools)
        unlimited = np.repeat([p.unlimited for p in plan.pools], n_int)
        return pd.DataFrame({
            **_lead(replication, n_pools * n_int),
            "pool": pd.Categorical.from_codes(np.repeat(np.arange(n_pools), n_int),
                                              categories=[p.name for p in plan.pools]),
            "interval": np.tile(np.arange(n_int), n_pools), "start_s": start,
            "staffed_s": self.staffed_s.ravel(), "busy_s": self.busy_s.ravel(), "paid_s": self.paid_s.ravel(),
            "served": self.served.ravel(), "day": records.day_of(plan, start) + 1,
            "occupancy": _occupancy(self.busy_s.ravel(), self.paid_s.ravel(), unlimited),
            "wrap_s": self.wrap_s.ravel(),
            "overtime_s": self.overtime_s.ravel(),
        })

    def pool_totals(self, replication: int | None = None, served: bool = True) -> pd.DataFrame:
        """Per pool over exactly [warm-up end, end of run]: staffed_s, busy_s, paid_s, served (visits
        finished at or after the warm-up end; left out with ``served=False``: the ``pool_summary``
        table) and occupancy, with a ``replication`` column first when one is given."""
        cols = self.pool_total_columns(replication)
        if not served:
            del cols["served"]
        return pd.DataFrame(cols)

    def pool_post(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each pool's paid seconds, busy seconds and visits finished over exactly [warm-up end, end
        of run], in plan order (what costs are charged on)."""
        return self.post[:, 2], self.post[:, 1], self.post[:, 3]

    def agents(self, replication: int | None = None) -> pd.DataFrame:
        """One row per agent of each pool of individual agents, over exactly [warm-up end, end of run]:
        ``pool``, ``agent`` (0-based, in order of coming on duty), ``proficiency`` (its own handle-time factor),
        ``staffed_s`` (on duty: ∫ 1[headcount > agent] dt), ``busy_s``, ``served`` and
        ``agent_occupancy`` = busy_s / staffed_s (NaN if never on duty; above 1 when an agent going
        off finishes a contact past the end of their duty). Empty without such pools."""
        plan = self.plan
        parts = []
        for p in self.agent_pools:
            n = plan.pools[p].n_agents
            factors = self.factors[p]
            busy, staffed = self.agent_busy[p], self._agent_staffed(p, n)
            parts.append({
                "pool": np.full(n, p, dtype=np.int64), "agent": np.arange(n, dtype=np.int64),
                "proficiency": np.asarray(factors if factors is not None else np.full(n, np.nan), dtype=float),
                "staffed_s": staffed, "busy_s": busy, "served": self.agent_served[p],
                "agent_occupancy": _agent_occupancy(busy, staffed),
            })
        keys = ["pool", "agent", *columns("agents")]
        cols = {k: np.concatenate([part[k] for part in parts]) if parts
                else np.zeros(0, dtype=np.int64 if k in ("pool", "agent", "served") else float) for k in keys}
        cols["pool"] = pd.Categorical.from_codes(cols["pool"], categories=[p.name for p in plan.pools])
        return pd.DataFrame({**_lead(replication, len(cols["agent"])), **cols})

    def _agent_staffed(self, p: int, n: int) -> np.ndarray:
        """Seconds each of pool p's first n agents was on duty in [warm-up end, end of run]: agent k
        is on duty while the on-duty headcount is above k."""
        t, heads = self.levels[p][0], self.levels[p][1].astype(np.int64)
        lo, hi = self.plan.warmup_end, self.t_from
        length = np.clip(np.minimum(np.r_[t[1:], hi], hi) - np.maximum(t, lo), 0.0, None)
        # w[m]: time at headcount m; agent k is on duty at every headcount above k
        w = np.bincount(np.clip(heads, 0, n), weights=length, minlength=n + 1)
        return np.cumsum(w[::-1])[::-1][1:n + 1] if n else np.zeros(0)

    def pool_total_columns(self, replication: int | None = None) -> dict[str, object]:
        """The columns of :meth:`pool_totals`, by name."""
        plan = self.plan
        return {
            **_lead(replication, len(plan.pools)),
            "pool": pd.Categorical.from_codes(np.arange(len(plan.pools)), categories=[p.name for p in plan.pools]),
            "staffed_s": self.post[:, 0], "busy_s": self.post[:, 1], "paid_s": self.post[:, 2],
            "served": self.post[:, 3].astype(np.int64),
            "occupancy": _occupancy(self.post[:, 1], self.post[:, 2], np.array([p.unlimited for p in plan.pools])),
            "wrap_s": self.wrap_post,
            "overtime_s": self.overtime_post,
        }


def summary_frame(cols: dict[str, object]) -> pd.DataFrame:
    """The ``summary`` table from its columns by name: ``replication`` (if given), ``channel``,
    ``segment``, then the registry's summary columns present, in declaration order."""
    return pd.DataFrame({name: cols[name] for name in ("replication", "channel", "segment", *columns("summary"))
                         if name in cols})


def _sums(ids: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """Per-contact sums of ``weights`` over rows of contacts ``ids`` (0..n-1)."""
    return np.bincount(ids, weights=weights, minlength=n)[:n]


def _lead(replication: int | None, n: int) -> dict[str, np.ndarray]:
    """The ``replication`` column that leads a run's tables, if one is given."""
    return {} if replication is None else {"replication": np.full(n, replication, dtype=np.int64)}


def _level(t: np.ndarray, n: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """A step function with values ``n`` from times ``t`` on (0 before the first), read at ``grid``."""
    if not len(t):
        return np.zeros(len(grid))
    idx = np.searchsorted(t, grid, side="right") - 1
    return np.where(idx >= 0, n[np.maximum(idx, 0)], 0.0)


def _agent_occupancy(busy: np.ndarray, staffed: np.ndarray) -> np.ndarray:
    """busy / staffed; NaN where the agent was never on duty."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(staffed > 0, busy / np.where(staffed > 0, staffed, 1.0), np.nan)


def _occupancy(busy: np.ndarray, paid: np.ndarray, unlimited: np.ndarray) -> np.ndarray:
    """busy / paid; NaN where nothing is paid or the pool is unlimited."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((paid > 0) & ~unlimited, busy / np.where(paid > 0, paid, 1.0), np.nan)


def _window(visits: Mapping[str, np.ndarray] | pd.DataFrame, arrival: np.ndarray, exit_s: np.ndarray, t0: float,
            t1: float) -> tuple[np.ndarray, np.ndarray, float]:
    """(arrived at or after t0, of them left by t1, Σ over visits of their time inside [t0, t1]):
    each visit is present from queue entry to service end or abandonment (still open: to t1)."""
    q = np.asarray(visits["queued_s"])
    e = np.asarray(visits["end_s"])
    if np.isnan(e).any():
        e = np.nan_to_num(e, nan=t1)
    e = np.minimum(e, t1)
    inside = arrival >= t0
    return inside, inside & (exit_s <= t1), float(np.clip(e - np.maximum(q, t0), 0, None).sum())


def littles_law(contacts: pd.DataFrame, visits: pd.DataFrame, t0: float, t1: float) -> dict[str, float]:
    """Little's law over the window [t0, t1] from a log's two independent record sets: L = time-average
    number in system from the *visit* records; λ = arrivals in [t0, t1) / τ and W = mean time in
    system of those that left by t1, from the *contact* records. L = λW in steady state; on a finite
    run the gap comes from the window's edges only."""
    tau = t1 - t0
    if tau <= 0:
        return dict.fromkeys(_LITTLE, np.nan)
    arr = contacts["arrival_s"].to_numpy()
    ex = contacts["exit_s"].to_numpy()
    inside, left, visit_time = _window(visits, arr, ex, t0, t1)
    inside &= arr < t1
    left &= arr < t1
    W = float((ex[left] - arr[left]).mean()) if left.any() else 0.0
    return littles_values(visit_time / tau, inside.sum() / tau * W)


def littles_values(L: float, lw: float) -> dict[str, float]:
    """The Little's law columns from L and λW: gap = |L − λW| / L (0 if both are 0, inf if only L is)."""
    gap = abs(L - lw) / L if L > 0 else (0.0 if lw == 0 else np.inf)
    return dict(zip(_LITTLE, (float(L), float(lw), float(gap))))


def kpis(contacts: pd.DataFrame, handles: np.ndarray, threshold_s: float,
         satisfaction: Satisfaction | None = None) -> dict[str, float]:
    """KPIs of a set of contacts (already filtered: no warm-up rows) and the handle times of their
    completed service visits, at service-level threshold ``threshold_s``: one cell through the same
    computation as every table, with exact percentiles. Definitions: :mod:`servsim.metrics.registry`."""
    n = len(contacts)
    c = contact_inputs(contacts)
    sums = np.zeros((1, len(SUMS)))
    for j, x in contact_sums(c, np.zeros(n), np.zeros(n), np.full(n, float(threshold_s)), float(threshold_s),
                             satisfaction, list(c["channel_names"])):
        sums[0, j] = float(np.sum(x))
    sums[0, _J["handles"]] = len(handles)
    sums[0, _J["handle_sum"]] = float(np.sum(handles))
    values = {name: float(v[0]) for name, v in kpi_frame(sums, False).items()}
    known = c["answered"].astype(bool) | (c["outcome"] == Outcome.ABANDONED)
    w = c["wait_s"][known]
    for name, q in PERCENTILES:
        values[name] = float(np.percentile(w, q)) if len(w) else np.nan
    return {name: values[name] for name in columns("intervals") if name in values}
