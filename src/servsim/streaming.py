"""The result tables of a run kept without a per-contact log (``simulate(..., log=False)``).

With the log off, the engine hands over contacts in chunks as they leave the system, and agents'
service starts and ends in time order (:mod:`servsim.engine.stream`); :class:`Accumulator` folds
them into sums per *cell* and drops them, so memory follows the number of intervals, not the
number of contacts. The tables are then built from the sums:

* a contact's KPI inputs are computed by the same code as with the log on
  (:func:`servsim.metrics.contact_table` on the chunk), so every definition in :mod:`servsim.metrics`
  holds unchanged: the first-*people*-step rule for the wait and ``answered``, *contained*, the
  per-channel service-level thresholds, balked and contained contacts out of the service-level
  denominator, warm-up by arrival time;
* cells are (channel, reporting interval of arrival) for the ``intervals`` table, and (channel,
  segment) over contacts arriving after the warm-up for the ``summary`` rows (overall, per channel,
  per segment: sums of cells). Each cell holds counts and sums — offered, answered, … the sum of
  the waits of answered contacts, the number answered within each distinct service-level
  threshold T, the sum of served visits' handle times, the satisfaction proxy's sum, count and
  count satisfied — so every KPI that is a count, a share or a mean equals its log-on value (up to
  the order of floating-point additions: relative differences around 1e-15);
* ``pools``: the busy-slot count of each pool is integrated exactly between its change points
  (service starts and ends, staffing changes, interval boundaries, the warm-up end), as
  :func:`~servsim.metrics.pool_tables` does; ``busy_s``, ``staffed_s``, ``paid_s`` = ∫ max(scheduled, busy)
  and ``served`` equal their log-on values, per interval and over exactly [warm-up end, end of run]
  (``pool_summary``);
* Little's law columns: L is a sum over visits and λ, W sums over contacts, so they are exact too.

Percentiles cannot be summed. ``p90_wait_s`` and ``p95_wait_s`` of the ``summary`` rows come from a
histogram of waits per cell: one bin for waits of exactly 0 s, one for (0, 0.01 s), then
geometric bins 0.5 % wide up to 10⁷ s (about 116 days; longer waits share the last bin), with waits
spread evenly inside a bin, and numpy's default (linear) interpolation between order statistics:
within 0.5 % (or 0.01 s) of the log-on value. In the ``intervals`` table they are NaN.

The ``contacts`` and ``visits`` tables are empty (right columns, no rows).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from servsim import metrics
from servsim.economics import satisfaction_scores
from servsim.engine.core import Records
from servsim.engine.plan import Plan
from servsim.metrics import KPI_COLUMNS
from servsim.outcomes import TABLE_OUTCOMES
from servsim.units import DAY

# contact outcome codes of metrics.CONTACT_OUTCOMES
_IN_SYSTEM, _HANDLED, _ABANDONED, _BALKED, _CONTAINED = (int(o) for o in TABLE_OUTCOMES)

#: Per-cell sums, one column each; then, per distinct service-level threshold T, three more:
#: answered within T, abandoned (unanswered) within T, still waiting at the end having waited < T.
FIELDS = ["offered", "answered", "handled", "abandoned", "in_system", "balked", "contained", "outsourced",
          "unresolved", "retrials", "answered_wait_sum", "known", "known_wait_sum", "known_waited",
          "handled_lead_sum", "handles", "handle_sum", "scored", "score_sum", "satisfied"]
_F = {name: i for i, name in enumerate(FIELDS)}

#: Wait histogram (summary percentiles): bin 0 holds 0 s, bin 1 (0, H_MIN), then geometric bins.
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


def hist_percentiles(counts: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    """Percentiles (0-100) of the values counted in ``counts`` (bins of :func:`wait_bins`), by numpy's
    linear interpolation between order statistics, each order statistic placed evenly in its bin."""
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


class Accumulator:
    """Per-cell sums of one run without a per-contact log (module docstring); the sink of
    :func:`servsim.engine.stream.run`."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.n_ch = len(plan.channels)
        self.n_seg = len(plan.segment_names)
        self.bounds = np.asarray(plan.boundaries, dtype=float)
        self.n_int = len(self.bounds) - 1
        target = plan.scenario.targets.service_level.threshold
        self.thresholds = sorted({ch.sl_threshold for ch in plan.channels} | {target})
        self.width = len(FIELDS) + 3 * len(self.thresholds)
        self.by_interval = np.zeros((self.n_ch * self.n_int, self.width))
        self.by_group = np.zeros((self.n_ch * self.n_seg, self.width))
        self.hist = np.zeros((self.n_ch * self.n_seg, N_BINS), dtype=np.int64)
        self.satisfaction = plan.scenario.economics.satisfaction
        # Little's law: Σ visit time in the window, arrivals in it, Σ and count of their times in system
        self.l_sum = 0.0
        self.arrived = 0
        self.w_sum = 0.0
        self.w_n = 0
        # contacts that arrived at the latest arrival time seen (t1 excludes arrivals at exactly t1)
        self.tail_t = -math.inf
        self.tail_n = 0
        self.tail_left = 0
        # pools
        n_pools = len(plan.pools)
        self.staffed_s = np.zeros((n_pools, self.n_int))
        self.busy_s = np.zeros((n_pools, self.n_int))
        self.paid_s = np.zeros((n_pools, self.n_int))
        self.served = np.zeros((n_pools, self.n_int), dtype=np.int64)
        #: per pool: staffed, busy, paid agent-seconds and visits served after the warm-up end
        self.post = np.zeros((n_pools, 4))
        self.carry = np.zeros(n_pools)
        self.t_from = plan.start
        #: per pool: on-duty and paid headcount timelines, (change times, headcounts) each
        self.levels = [(*_timeline(plan.staffing, p), *_timeline(plan.paid, p)) for p in range(n_pools)]

    # ------------------------------------------------------------------ folding contacts
    def contacts(self, rec: Records) -> None:
        plan = self.plan
        visits = metrics.visit_table(plan, rec)
        c = metrics.contact_table(plan, rec, visits)
        n = len(c)
        cols = metrics._kpi_columns(c)
        outcome = cols["outcome"]
        answered = cols["answered"]
        wait = cols["wait_s"]
        handled = outcome == _HANDLED
        abandoned = outcome == _ABANDONED
        in_system = outcome == _IN_SYSTEM
        known = answered | abandoned
        waiting_end = in_system & ~answered
        served = (visits["outcome"] == "served").to_numpy()
        vc = visits["contact"].to_numpy()[served]
        scores = satisfaction_scores(c, self.satisfaction)
        scored = ~np.isnan(scores)
        x = np.empty((n, self.width))
        f = _F
        x[:, f["offered"]] = 1.0
        x[:, f["answered"]] = answered
        x[:, f["handled"]] = handled
        x[:, f["abandoned"]] = abandoned
        x[:, f["in_system"]] = in_system
        x[:, f["balked"]] = outcome == _BALKED
        x[:, f["contained"]] = outcome == _CONTAINED
        x[:, f["outsourced"]] = handled & cols["outsourced"]
        x[:, f["unresolved"]] = handled & ~cols["resolved"]
        x[:, f["retrials"]] = cols["attempt"] > 1
        x[:, f["answered_wait_sum"]] = np.where(answered, wait, 0.0)
        x[:, f["known"]] = known
        x[:, f["known_wait_sum"]] = np.where(known, wait, 0.0)
        x[:, f["known_waited"]] = known & (wait > 0)
        x[:, f["handled_lead_sum"]] = np.where(handled, cols["lead_time_s"], 0.0)
        x[:, f["handles"]] = np.bincount(vc, minlength=n)[:n]
        x[:, f["handle_sum"]] = np.bincount(vc, weights=visits["handle_s"].to_numpy()[served], minlength=n)[:n]
        x[:, f["scored"]] = scored
        x[:, f["score_sum"]] = np.where(scored, scores, 0.0)
        x[:, f["satisfied"]] = scored & (scores >= self.satisfaction.satisfied_at)
        k = len(FIELDS)
        for j, t in enumerate(self.thresholds):
            x[:, k + 3 * j] = answered & (wait <= t)
            x[:, k + 3 * j + 1] = abandoned & ~answered & (wait <= t)
            x[:, k + 3 * j + 2] = waiting_end & (wait < t)

        channel = c["channel"].cat.codes.to_numpy().astype(np.int64)
        segment = c["segment"].cat.codes.to_numpy().astype(np.int64)
        keep = ~c["warmup"].to_numpy()
        _add(self.by_interval, channel * self.n_int + c["interval"].to_numpy(), x)
        group = (channel * self.n_seg + segment)[keep]
        _add(self.by_group, group, x[keep])
        timed = known[keep]
        cell = group[timed] * N_BINS + wait_bins(wait[keep][timed])
        self.hist += np.bincount(cell, minlength=self.hist.size).reshape(self.hist.shape)

        # Little's law over [warm-up end, end of run]
        t0 = plan.warmup_end
        t1 = rec.end_time if rec.end_time == rec.end_time else math.inf
        q = visits["queued_s"].to_numpy()
        e = visits["end_s"].to_numpy()
        if np.isnan(e).any():
            e = np.nan_to_num(e, nan=t1)
        e = np.minimum(e, t1)
        self.l_sum += float(np.clip(e - np.maximum(q, t0), 0, None).sum())
        arr = c["arrival_s"].to_numpy()
        ex = c["exit_s"].to_numpy()
        inside = arr >= t0
        left = inside & (ex <= t1)
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

    # ------------------------------------------------------------------ pools
    def busy(self, times: np.ndarray, codes: np.ndarray, until: float) -> None:
        t_from = self.t_from
        if len(times) and times[0] < t_from:
            raise RuntimeError("servsim.streaming: pool events out of time order")
        bounds, n_int = self.bounds, self.n_int
        warm = self.plan.warmup_end
        for p, pool in enumerate(self.plan.pools):
            start = codes == p
            sel = start | (codes == ~p)
            tp = times[sel]
            dp = np.where(start[sel], 1.0, -1.0)
            if len(tp) > 1 and (np.diff(tp) < 0).any():
                raise RuntimeError("servsim.streaming: pool events out of time order")
            st_t, st_n, pd_t, pd_n = self.levels[p]
            parts = [tp, np.array([t_from, until])]
            if t_from < warm < until:  # the post-warm-up totals start exactly there
                parts.append(np.array([warm]))
            for a in (st_t, pd_t, bounds):
                parts.append(a[np.searchsorted(a, t_from, "left"):np.searchsorted(a, until, "right")])
            grid = np.unique(np.concatenate(parts))
            cum = np.r_[0.0, np.cumsum(dp)]
            busy = (self.carry[p] + cum[np.searchsorted(tp, grid, side="right")]) / pool.concurrency
            sidx = np.searchsorted(st_t, grid, side="right") - 1
            staffed = np.where(sidx >= 0, st_n[np.maximum(sidx, 0)], 0.0) if len(st_t) else np.zeros(len(grid))
            pidx = np.searchsorted(pd_t, grid, side="right") - 1
            scheduled = np.where(pidx >= 0, pd_n[np.maximum(pidx, 0)], 0.0) if len(pd_t) else np.zeros(len(grid))
            if pool.unlimited:
                staffed = scheduled = busy
            dt = np.diff(grid)
            which = np.clip(np.searchsorted(bounds, grid[:-1], side="right") - 1, 0, n_int - 1)
            busy, staffed, scheduled = busy[:-1], staffed[:-1], scheduled[:-1]
            busy_dt, staffed_dt, paid_dt = busy * dt, staffed * dt, np.maximum(busy, scheduled) * dt
            self.busy_s[p] += np.bincount(which, weights=busy_dt, minlength=n_int)
            self.staffed_s[p] += np.bincount(which, weights=staffed_dt, minlength=n_int)
            self.paid_s[p] += np.bincount(which, weights=paid_dt, minlength=n_int)
            ends = tp[dp < 0]
            if len(ends):
                self.served[p] += np.bincount(np.clip(np.searchsorted(bounds, ends, side="right") - 1, 0, n_int - 1),
                                              minlength=n_int)
            after = grid[:-1] >= warm
            self.post[p] += (staffed_dt[after].sum(), busy_dt[after].sum(), paid_dt[after].sum(),
                             (ends >= warm).sum())
            self.carry[p] += dp.sum()
        self.t_from = until

    # ------------------------------------------------------------------ tables
    def _kpis(self, s: np.ndarray, threshold: float, percentiles: tuple[float, float]) -> dict[str, float]:
        """:func:`servsim.metrics.kpis` from a row of sums."""
        f = _F
        k = len(FIELDS) + 3 * self.thresholds.index(threshold)
        offered, answered, handled = s[f["offered"]], s[f["answered"]], s[f["handled"]]
        abandoned, known, handles = s[f["abandoned"]], s[f["known"]], s[f["handles"]]
        balked, contained = s[f["balked"]], s[f["contained"]]
        sl_den = offered - s[k + 1] - s[k + 2] - balked - contained
        return {
            "offered": float(offered),
            "answered": float(answered),
            "handled": float(handled),
            "abandoned": float(abandoned),
            "in_system_end": float(s[f["in_system"]]),
            "abandon_rate": abandoned / offered if offered else np.nan,
            "asa_s": s[f["answered_wait_sum"]] / answered if answered else np.nan,
            "mean_wait_s": s[f["known_wait_sum"]] / known if known else np.nan,
            "p90_wait_s": percentiles[0],
            "p95_wait_s": percentiles[1],
            "p_wait": s[f["known_waited"]] / known if known else np.nan,
            "service_level": s[k] / sl_den if sl_den > 0 else np.nan,
            "mean_handle_s": s[f["handle_sum"]] / handles if handles else np.nan,
            "mean_lead_time_s": s[f["handled_lead_sum"]] / handled if handled else np.nan,
            "balked": float(balked),
            "contained": float(contained),
            "outsourced": float(s[f["outsourced"]]),
            "unresolved": float(s[f["unresolved"]]),
            "retrials": float(s[f["retrials"]]),
        }

    def _summary_groups(self) -> list[tuple[str, str, np.ndarray]]:
        """(channel, segment, cell indices) of the summary rows, as :func:`servsim.metrics.summary_rows`."""
        plan = self.plan
        cells = np.arange(self.n_ch * self.n_seg)
        groups = [("all", "all", cells)]
        if self.n_ch > 1:
            groups += [(ch.name, "all", cells[cells // self.n_seg == i]) for i, ch in enumerate(plan.channels)]
        if self.n_seg > 1:
            groups += [("all", g, cells[cells % self.n_seg == i]) for i, g in enumerate(plan.segment_names)]
        return groups

    def summary(self, end_s: float) -> pd.DataFrame:
        """KPIs overall, per channel and per segment after the warm-up, with Little's law columns on the
        overall row: the ``summary`` table of :func:`servsim.metrics.summary_rows`."""
        plan = self.plan
        thr = plan.scenario.targets.service_level.threshold
        channel_thr = {ch.name: ch.sl_threshold for ch in plan.channels}
        if self.n_ch == 1:
            thr = plan.channels[0].sl_threshold
        rows = []
        for ch_name, seg_name, cells in self._summary_groups():
            s = self.by_group[cells].sum(axis=0)
            pct = hist_percentiles(self.hist[cells].sum(axis=0), (90, 95))
            rows.append({"channel": ch_name, "segment": seg_name,
                         **self._kpis(s, channel_thr.get(ch_name, thr), (pct[0], pct[1]))})
        out = pd.DataFrame(rows)
        ll = self.littles_law(end_s)
        overall = ((out["channel"] == "all") & (out["segment"] == "all")).to_numpy()
        for key, val in ll.items():
            out[key] = np.where(overall, val, np.nan)
        return out

    def littles_law(self, end_s: float) -> dict[str, float]:
        """:func:`servsim.metrics.littles_law` over [warm-up end, ``end_s``] from the sums."""
        t0, t1 = self.plan.warmup_end, end_s
        tau = t1 - t0
        if tau <= 0:
            return {"littles_L": np.nan, "littles_lambda_w": np.nan, "littles_gap": np.nan}
        arrived, w_n = self.arrived, self.w_n
        if self.tail_t >= t1:  # arrived at t1 exactly: outside [t0, t1)
            arrived -= self.tail_n
            w_n -= self.tail_left
        L = self.l_sum / tau
        W = self.w_sum / w_n if w_n else 0.0
        lw = arrived / tau * W
        gap = abs(L - lw) / L if L > 0 else (0.0 if lw == 0 else np.inf)
        return {"littles_L": float(L), "littles_lambda_w": float(lw), "littles_gap": float(gap)}

    def satisfaction_rows(self, summary: pd.DataFrame) -> tuple[list[float], list[float]]:
        """Satisfaction proxy mean and share satisfied of each summary row (its own contacts)."""
        plan = self.plan
        channels = [ch.name for ch in plan.channels]
        segments = list(plan.segment_names)
        cells = np.arange(self.n_ch * self.n_seg)
        means, shares = [], []
        for ch, seg in zip(summary["channel"], summary["segment"]):
            mask = np.ones(len(cells), dtype=bool)
            if ch != "all":
                mask &= (cells // self.n_seg) == (channels.index(ch) if ch in channels else -1)
            if seg != "all":
                mask &= (cells % self.n_seg) == (segments.index(seg) if seg in segments else -1)
            s = self.by_group[cells[mask]].sum(axis=0)
            n = s[_F["scored"]]
            means.append(float(s[_F["score_sum"]] / n) if n else np.nan)
            shares.append(float(s[_F["satisfied"]] / n) if n else np.nan)
        return means, shares

    def intervals(self) -> pd.DataFrame:
        """KPIs per channel per reporting interval of arrival (warm-up included); with several channels,
        rows 'all' per interval: the ``intervals`` table of :func:`servsim.metrics.interval_table`,
        with NaN percentiles."""
        plan = self.plan
        bounds = plan.boundaries
        target = plan.scenario.targets.service_level.threshold
        nan2 = (np.nan, np.nan)
        rows = []
        offered = self.by_interval[:, _F["offered"]]
        for cell in np.flatnonzero(offered > 0):
            ch, interval = divmod(int(cell), self.n_int)
            c = plan.channels[ch]
            rows.append({"channel": c.name, "interval": interval, "start_s": bounds[interval],
                         **self._kpis(self.by_interval[cell], c.sl_threshold, nan2)})
        if self.n_ch > 1:
            per_interval = self.by_interval.reshape(self.n_ch, self.n_int, self.width).sum(axis=0)
            for interval in np.flatnonzero(per_interval[:, _F["offered"]] > 0):
                rows.append({"channel": "all", "interval": int(interval), "start_s": bounds[int(interval)],
                             **self._kpis(per_interval[interval], target, nan2)})
        out = pd.DataFrame(rows, columns=["channel", "interval", "start_s", *KPI_COLUMNS])
        out["day"] = (out["start_s"] // DAY).astype(np.int64) + 1
        return out

    def pools(self) -> pd.DataFrame:
        """Staffed, busy and paid agent-seconds and visits served per pool per reporting interval: the
        ``pools`` table of :func:`servsim.metrics.pool_table`."""
        return metrics.pool_frame(self.plan, [(self.staffed_s[p], self.busy_s[p], self.paid_s[p], self.served[p])
                                              for p in range(len(self.plan.pools))])

    def pool_totals(self) -> pd.DataFrame:
        """The same per pool over exactly [warm-up end, end of run]: the totals of
        :func:`servsim.metrics.pool_tables`."""
        return metrics.pool_summary_frame(self.plan, self.post)


def _timeline(changes: tuple[tuple[float, int, int], ...], pool: int) -> tuple[np.ndarray, np.ndarray]:
    """(times, headcounts) of one pool's changes in a plan's (time, pool, headcount) timeline."""
    mine = [(t, n) for t, q, n in changes if q == pool]
    return np.array([t for t, _ in mine], dtype=float), np.array([n for _, n in mine], dtype=float)


def _add(table: np.ndarray, key: np.ndarray, x: np.ndarray) -> None:
    """table[key[i]] += x[i] for every row i (keys may repeat)."""
    if not len(key):
        return
    order = np.argsort(key, kind="stable")
    key, x = key[order], x[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    table[key[starts]] += np.add.reduceat(x, starts, axis=0)
