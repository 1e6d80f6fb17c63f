"""From raw run records to tables, and every KPI's definition — written once, here.

Tables (pandas DataFrames; times in seconds, absolute = seconds after midnight of day 1):

* ``contacts`` — one row per contact: ``contact, channel, segment, day, interval, arrival_s, exit_s,
  outcome`` (handled | abandoned | in_system | balked | contained), ``answered`` (service at its
  first *people* step started: a step worked by agents or a vendor, not bots), ``wait_s`` (wait at
  that step, or at the first step if bots did everything; see below), ``total_wait_s``,
  ``handle_s``, ``visits``, ``pool`` (who served that step), ``lead_time_s`` (exit − arrival),
  ``warmup`` (arrived during the warm-up: left out of KPIs), ``attempt`` (1 = first attempt; 2, 3…
  retrials and repeat contacts), ``resolved`` (handled and resolved; false for unresolved),
  ``outsourced`` (a vendor served one of its steps), ``bot_s`` (time with bots at front-stage
  steps before reaching a person, queue + service);
  *contained* = left the process having been served by bots only;
* ``visits`` — one row per step visit: ``contact, step, pool, queued_s, start_s, end_s, outcome``
  (served | abandoned | waiting | in_service), ``wait_s``, ``handle_s``;
* ``pools`` — one row per pool per reporting interval: ``staffed_s`` (agent-seconds on shift),
  ``busy_s`` (agent-seconds serving), ``paid_s`` (agent-seconds paid: on shift, or finishing the
  contact in hand after the shift ended), ``occupancy`` = busy_s / paid_s.

KPIs (function :func:`kpis`), over contacts that arrived after the warm-up:

* ``offered`` — arrivals (retrials and repeat contacts included; ``retrials`` counts contacts with
  attempt > 1); ``answered`` — first people step's service started; ``handled`` — left the process
  after being served by people (``unresolved`` of them not resolved; ``outsourced`` served by a
  vendor); ``contained`` — by bots only; ``abandoned``; ``balked``; ``in_system_end`` — still
  present at the end of the horizon. offered = handled + contained + abandoned + balked +
  in_system_end;
* ``abandon_rate`` = abandoned / offered;
* ``wait_s`` of a contact = time from arrival to the start of service at its first step (answered),
  to abandoning (abandoned), or to the end of the horizon (still waiting: censored, left out of
  wait statistics); ``asa_s`` = mean wait of answered contacts; ``mean_wait_s``, ``p90_wait_s``,
  ``p95_wait_s`` over answered and abandoned contacts;
* ``service_level`` = answered within T / (offered − abandoned within T − balked − contained −
  still waiting at the end having waited less than T), with T the channel's
  ``service_level.threshold`` (else ``targets.service_level.threshold``; rows over several
  channels use the latter). This is the "abandoned-within-T excluded" variant; for a queue without
  abandonment it estimates P(W ≤ T);
* ``p_wait`` = share of answered-or-abandoned contacts that waited more than 0 s;
* ``mean_handle_s`` = mean handle time of completed visits; ``mean_lead_time_s`` = mean exit − arrival of
  handled contacts;
* ``occupancy`` (per pool, ``pool_summary``) = busy agent-time / paid agent-time over exactly
  [warm-up end, end of run], the window of the contact KPIs (a warm-up ending mid-interval keeps
  the rest of that interval);
* Little's law: with window [warm-up end, horizon end] of length τ, ``littles_L`` = time-average
  number in system, integrated from the visit records; ``littles_lambda_w`` = λ·W with
  λ = arrivals in the window / τ and W = mean time in system of the contacts that arrived in the
  window and left before its end, from the contact records. ``littles_gap`` = |L − λW| / L; it
  should be small on every long run (window edges only); see :func:`littles_law`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from servsim.engine.core import Records, as_numpy
from servsim.engine.plan import EPS, Plan
from servsim.outcomes import TABLE_OUTCOMES, Outcome, VisitOutcome
from servsim.units import DAY

CONTACT_OUTCOMES = [o.name.lower() for o in TABLE_OUTCOMES]
_IN_SYSTEM, _HANDLED, _ABANDONED, _BALKED, _CONTAINED = (int(o) for o in TABLE_OUTCOMES)
VISIT_OUTCOMES = [o.name.lower() for o in VisitOutcome]

KPI_COLUMNS = [
    "offered", "answered", "handled", "abandoned", "in_system_end", "abandon_rate", "asa_s",
    "mean_wait_s", "p90_wait_s", "p95_wait_s", "p_wait", "service_level", "mean_handle_s",
    "mean_lead_time_s", "balked", "contained", "outsourced", "unresolved", "retrials",
]


def _cat(codes: np.ndarray, names: list[str] | tuple[str, ...]) -> pd.Categorical:
    return pd.Categorical.from_codes(codes.astype(np.int64), categories=list(names))


def visit_table(plan: Plan, rec: Records) -> pd.DataFrame:
    """One row per step visit; see the module docstring for the columns."""
    a = as_numpy(rec)
    end = np.where(np.isnan(a["v_end"]), rec.end_time, a["v_end"])
    started = ~np.isnan(a["v_start"])
    wait = np.where(started, a["v_start"], end) - a["v_queued"]
    handle = np.where(started, end - np.where(started, a["v_start"], 0.0), np.nan)
    pool_names = [p.name for p in plan.pools]
    pools = a["v_pool"].astype(np.int64)
    return pd.DataFrame({
        "contact": a["v_contact"].astype(np.int64),
        "step": _cat(a["v_step"], [s.name for s in plan.steps]),
        "pool": pd.Categorical.from_codes(np.where(pools < 0, -1, pools), categories=pool_names),
        "queued_s": a["v_queued"],
        "start_s": a["v_start"],
        "end_s": a["v_end"],
        "outcome": _cat(a["v_outcome"], VISIT_OUTCOMES),
        "wait_s": wait,
        "handle_s": handle,
    })


def contact_table(plan: Plan, rec: Records, visits: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per contact; see the module docstring for the columns."""
    a = as_numpy(rec)
    v = visit_table(plan, rec) if visits is None else visits
    n = len(a["arrival"])
    vc = v["contact"].to_numpy()
    v_step = v["step"].cat.codes.to_numpy()
    by_bots = np.array([st.kind == "bots" for st in plan.steps] + [False], dtype=bool)[v_step] if len(vc) \
        else np.zeros(0, bool)
    # a contact's "first" visit is its first visit to a people step, or its first visit if bots did all;
    # visits are appended in time order, so the first row of a contact is its earliest
    first = np.full(n, -1, dtype=np.int64)
    rows = np.arange(len(vc))
    ids, first_row = np.unique(vc, return_index=True)
    first[ids] = first_row
    people_ids, people_row = np.unique(vc[~by_bots], return_index=True)
    first[people_ids] = rows[~by_bots][people_row]
    has = first >= 0
    fi = np.where(has, first, 0)
    v_start = v["start_s"].to_numpy()
    v_wait = v["wait_s"].to_numpy()
    answered = has & ~np.isnan(v_start[fi]) if len(vc) else np.zeros(n, bool)
    wait = np.where(has, v_wait[fi], np.nan) if len(vc) else np.full(n, np.nan)
    pool_codes = v["pool"].cat.codes.to_numpy()[fi] if len(vc) else np.full(n, -1)
    pool_codes = np.where(has, pool_codes, -1)
    handle = _sums(vc, np.nan_to_num(v["handle_s"].to_numpy()), n)
    total_wait = _sums(vc, v_wait, n)
    n_visits = np.bincount(vc, minlength=n)[:n]
    served = (v["outcome"] == "served").to_numpy()
    people_served = np.bincount(vc[served & ~by_bots], minlength=n)[:n]
    # time with bots the customer spent *before* reaching a person (front stage only)
    front = np.array([st.front for st in plan.steps] + [False], dtype=bool)[v_step] if len(vc) else by_bots
    first_person = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    first_person[people_ids] = rows[~by_bots][people_row]
    before = by_bots & front & (rows < first_person[vc]) if len(vc) else by_bots
    bot_time = _sums(vc[before], (np.nan_to_num(v["handle_s"].to_numpy()) + v_wait)[before], n)
    vendor_pools = np.array([p.kind == "vendor" for p in plan.pools] + [False], dtype=bool)
    outsourced = np.bincount(vc[served & vendor_pools[v["pool"].cat.codes.to_numpy()]], minlength=n)[:n] > 0
    arrival = a["arrival"]
    day = (arrival // DAY).astype(np.int64)
    interval = _interval_of(plan, arrival)
    code = a["outcome"].astype(np.int64)
    unresolved = code == Outcome.UNRESOLVED
    done = (code == Outcome.HANDLED) | unresolved
    contained = done & (people_served == 0)
    outcome = np.where(unresolved, _HANDLED, code)
    outcome = np.where(contained, _CONTAINED, outcome)
    return pd.DataFrame({
        "contact": np.arange(n, dtype=np.int64),
        "channel": _cat(a["channel"], [c.name for c in plan.channels]),
        "segment": _cat(a["segment"], list(plan.segment_names)),
        "day": day + 1,
        "interval": interval,
        "arrival_s": arrival,
        "exit_s": a["exit"],
        "outcome": _cat(outcome, CONTACT_OUTCOMES),
        "answered": answered & ~contained,
        "wait_s": wait,
        "total_wait_s": total_wait,
        "handle_s": handle,
        "visits": n_visits,
        "pool": pd.Categorical.from_codes(pool_codes, categories=[p.name for p in plan.pools]),
        "lead_time_s": a["exit"] - arrival,
        "warmup": arrival < plan.warmup_end,
        "attempt": a["attempt"].astype(np.int64),
        "resolved": done & ~unresolved,
        "outsourced": outsourced,
        "bot_s": bot_time,
    })


def _sums(ids: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """Per-contact sums of ``weights`` (float even with no rows, unlike a bare ``np.bincount``)."""
    return np.bincount(ids, weights=weights, minlength=n)[:n].astype(np.float64, copy=False)


def _interval_of(plan: Plan, t: np.ndarray) -> np.ndarray:
    """Reporting interval index (0-based, counted over all days) of absolute times t."""
    day, tod = np.divmod(t, DAY)
    k = np.clip(np.floor((tod - plan.start) / plan.interval + EPS), 0, plan.intervals_per_day - 1)
    return (day * plan.intervals_per_day + k).astype(np.int64)


def pool_table(plan: Plan, rec: Records) -> pd.DataFrame:
    """The ``pools`` table of a run: :func:`pool_tables` without the post-warm-up totals."""
    return pool_tables(plan, rec)[0]


def pool_tables(plan: Plan, rec: Records) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Staffed, busy and paid agent-seconds per pool per reporting interval (the ``pools`` table), and
    the same over exactly [warm-up end, end of run] (the ``pool_summary`` table, with ``served``:
    see :func:`pool_summary_frame`).

    busy(t) = number of the pool's visits in service at t, divided by its concurrency k (an agent
    holding j of k chats is j/k busy); staffed(t) = on-duty headcount (after breaks and shrinkage);
    paid(t) = max(scheduled headcount(t), busy(t)) — agents on break or absent are paid, and an
    agent finishing after their shift is still paid. An ``unlimited`` vendor or bots pool is staffed
    and paid exactly while busy. Integrals are exact (piecewise-constant functions integrated
    between their change points; the warm-up end is one of them). Columns also give ``served``
    (visits the pool finished in the interval, or after the warm-up end, by end time).
    """
    a = as_numpy(rec)
    bounds = np.asarray(plan.boundaries)
    n_int = len(bounds) - 1
    rows = []
    totals = np.zeros((len(plan.pools), 4))
    started = ~np.isnan(a["v_start"])
    ends = np.where(np.isnan(a["v_end"]), rec.end_time, a["v_end"])
    for p, pool in enumerate(plan.pools):
        mask = started & (a["v_pool"] == p)
        # change points of busy(t) and staffed(t)
        times = np.concatenate([a["v_start"][mask], ends[mask]])
        deltas = np.concatenate([np.ones(mask.sum()), -np.ones(mask.sum())])
        st_t = np.array([t for t, q, _ in plan.staffing if q == p], dtype=float)
        st_n = np.array([n for t, q, n in plan.staffing if q == p], dtype=float)
        pd_t = np.array([t for t, q, _ in plan.paid if q == p], dtype=float)
        pd_n = np.array([n for t, q, n in plan.paid if q == p], dtype=float)
        grid = np.unique(np.concatenate([times, st_t, pd_t, bounds, [plan.start, rec.end_time, plan.warmup_end]]))
        grid = grid[(grid >= plan.start) & (grid <= plan.end)]
        order = np.argsort(times, kind="stable")
        busy_at = np.cumsum(deltas[order])
        # value just after each grid point
        busy = busy_at[np.searchsorted(times[order], grid, side="right") - 1] if len(times) else np.zeros(len(grid))
        busy = np.where(np.searchsorted(times[order], grid, side="right") > 0, busy, 0.0)
        busy = busy / pool.concurrency
        sidx = np.searchsorted(st_t, grid, side="right") - 1
        staffed = np.where(sidx >= 0, st_n[np.maximum(sidx, 0)], 0.0)
        pidx = np.searchsorted(pd_t, grid, side="right") - 1
        scheduled = np.where(pidx >= 0, pd_n[np.maximum(pidx, 0)], 0.0)
        if pool.unlimited:
            staffed = scheduled = busy
        dt = np.diff(grid)
        seg_t = grid[:-1]
        busy, staffed, scheduled = busy[:-1], staffed[:-1], scheduled[:-1]
        live = seg_t < rec.end_time
        which = np.clip(np.searchsorted(bounds, seg_t, side="right") - 1, 0, n_int - 1)
        # time between days (outside the window) still counts towards the interval it follows;
        # there is no staff then, so only overtime can fall there.
        busy_dt, staffed_dt = busy * dt * live, staffed * dt * live
        paid_dt = np.maximum(busy, scheduled) * dt * live
        busy_s = np.bincount(which, weights=busy_dt, minlength=n_int)
        staffed_s = np.bincount(which, weights=staffed_dt, minlength=n_int)
        paid_s = np.bincount(which, weights=paid_dt, minlength=n_int)
        done = a["v_end"][mask & (a["v_outcome"] == VisitOutcome.SERVED)]
        served = np.bincount(np.clip(np.searchsorted(bounds, done, side="right") - 1, 0, n_int - 1),
                             minlength=n_int)[:n_int]
        rows.append((staffed_s, busy_s, paid_s, served))
        after = seg_t >= plan.warmup_end
        totals[p] = (staffed_dt[after].sum(), busy_dt[after].sum(), paid_dt[after].sum(),
                     (done >= plan.warmup_end).sum())
    return pool_frame(plan, rows), pool_summary_frame(plan, totals)


def pool_frame(plan: Plan, per_pool: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]) -> pd.DataFrame:
    """The ``pools`` table from each pool's (staffed_s, busy_s, paid_s, served) per reporting interval;
    occupancy = busy_s / paid_s (NaN when nothing is paid, or for an unlimited pool)."""
    bounds = np.asarray(plan.boundaries)
    n_int = len(bounds) - 1
    out = pd.concat([pd.DataFrame({
        "pool": pool.name, "interval": np.arange(n_int), "start_s": bounds[:-1],
        "staffed_s": staffed_s, "busy_s": busy_s, "paid_s": paid_s, "served": served,
    }) for pool, (staffed_s, busy_s, paid_s, served) in zip(plan.pools, per_pool)], ignore_index=True)
    out["pool"] = pd.Categorical(out["pool"], categories=[p.name for p in plan.pools])
    out["day"] = (out["start_s"] // DAY).astype(np.int64) + 1
    unlimited = out["pool"].isin([p.name for p in plan.pools if p.unlimited]).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        out["occupancy"] = np.where((out["paid_s"] > 0) & ~unlimited, out["busy_s"] / out["paid_s"], np.nan)
    return out


_KPI_INPUTS = ("answered", "wait_s", "lead_time_s", "outsourced", "resolved", "attempt")


def _kpi_columns(contacts: pd.DataFrame) -> dict[str, np.ndarray]:
    """The contact columns KPIs need, as numpy arrays; ``outcome`` as codes of CONTACT_OUTCOMES."""
    col = contacts["outcome"]
    if isinstance(col.dtype, pd.CategoricalDtype):
        names = [str(c) for c in col.cat.categories]
        remap = np.array([CONTACT_OUTCOMES.index(n) if n in CONTACT_OUTCOMES else -1 for n in names] + [-1])
        codes = remap[col.cat.codes.to_numpy()]
    else:
        lookup = {n: i for i, n in enumerate(CONTACT_OUTCOMES)}
        codes = np.array([lookup.get(str(x), -1) for x in col.to_numpy()], dtype=np.int64)
    out = {"outcome": codes}
    for name in _KPI_INPUTS:
        if name in contacts.columns:
            out[name] = contacts[name].to_numpy()
    return out


def kpis(contacts: pd.DataFrame, handles: np.ndarray, threshold_s: float) -> dict[str, float]:
    """KPIs of a set of contacts (already filtered: no warm-up rows) and the handle times of their
    served visits. Definitions: module docstring."""
    return _kpi_values(_kpi_columns(contacts), handles, threshold_s)


def _kpi_values(c: dict[str, np.ndarray], handles: np.ndarray, threshold_s: float) -> dict[str, float]:
    """:func:`kpis` on columns already extracted by :func:`_kpi_columns` (cheap to slice per group)."""
    outcome = c["outcome"]
    offered = len(outcome)
    answered = c["answered"]
    abandoned = outcome == _ABANDONED
    handled = outcome == _HANDLED
    in_system = outcome == _IN_SYSTEM
    balked = outcome == _BALKED
    contained = outcome == _CONTAINED
    wait = c["wait_s"]
    # first-step wait is known once the contact was answered or abandoned at its first step
    known = answered | abandoned
    waiting_end = in_system & ~answered
    w = wait[known]
    aw = wait[answered]
    within = (answered & (wait <= threshold_s)).sum()
    ab_within = (abandoned & ~answered & (wait <= threshold_s)).sum()
    young_waiting = (waiting_end & (wait < threshold_s)).sum()
    sl_den = offered - ab_within - young_waiting - balked.sum() - contained.sum()
    lead = c["lead_time_s"][handled]
    p90, p95 = np.percentile(w, [90, 95]) if len(w) else (np.nan, np.nan)
    zeros = np.zeros(offered, dtype=bool)
    return {
        "offered": float(offered),
        "answered": float(answered.sum()),
        "handled": float(handled.sum()),
        "abandoned": float(abandoned.sum()),
        "in_system_end": float(in_system.sum()),
        "abandon_rate": abandoned.sum() / offered if offered else np.nan,
        "asa_s": float(aw.mean()) if len(aw) else np.nan,
        "mean_wait_s": float(w.mean()) if len(w) else np.nan,
        "p90_wait_s": float(p90),
        "p95_wait_s": float(p95),
        "p_wait": float((w > 0).mean()) if len(w) else np.nan,
        "service_level": within / sl_den if sl_den > 0 else np.nan,
        "mean_handle_s": float(handles.mean()) if len(handles) else np.nan,
        "mean_lead_time_s": float(lead.mean()) if len(lead) else np.nan,
        "balked": float(balked.sum()),
        "contained": float(contained.sum()),
        "outsourced": float((handled & c.get("outsourced", zeros)).sum()),
        "unresolved": float((handled & ~c.get("resolved", ~zeros)).sum()),
        "retrials": float((c["attempt"] > 1).sum()) if "attempt" in c else 0.0,
    }


def _served_handles(contacts: pd.DataFrame, visits: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(contact id, handle time) of every served visit."""
    served = (visits["outcome"] == "served").to_numpy()
    return visits["contact"].to_numpy()[served], visits["handle_s"].to_numpy()[served]


def littles_law(contacts: pd.DataFrame, visits: pd.DataFrame, t0: float, t1: float) -> dict[str, float]:
    """Little's law over the window [t0, t1], from two independent record sets.

    L = time-average number in system, integrated from the *visit* records (each visit is present
    from queue entry to service end or abandonment; a contact's visits follow each other without
    gaps); λ = arrivals in the window / τ and W = mean time in system of the *contacts* that arrived
    in the window and left by t1 (uncensored). L = λW in steady state; on a finite run the gap
    |L − λW| / L comes from the window's edges only (contacts present at t0, still present at t1),
    so a large gap means the records disagree or the run is far from steady state.
    """
    tau = t1 - t0
    if tau <= 0:
        return {"littles_L": np.nan, "littles_lambda_w": np.nan, "littles_gap": np.nan}
    q = visits["queued_s"].to_numpy()
    e = np.minimum(np.nan_to_num(visits["end_s"].to_numpy(), nan=t1), t1)
    L = np.clip(e - np.maximum(q, t0), 0, None).sum() / tau
    arr = contacts["arrival_s"].to_numpy()
    ex = contacts["exit_s"].to_numpy()
    inside = (arr >= t0) & (arr < t1)
    lam = inside.sum() / tau
    left = inside & (ex <= t1)
    W = (ex[left] - arr[left]).mean() if left.any() else 0.0
    lw = lam * W
    gap = abs(L - lw) / L if L > 0 else (0.0 if lw == 0 else np.inf)
    return {"littles_L": float(L), "littles_lambda_w": float(lw), "littles_gap": float(gap)}


def summary_rows(plan: Plan, contacts: pd.DataFrame, visits: pd.DataFrame, end_s: float) -> pd.DataFrame:
    """KPIs overall, per channel and per segment, over contacts arriving after the warm-up (rows keyed
    by ``channel`` and ``segment``; 'all' marks an aggregate). Little's law columns on the overall row."""
    thr = plan.scenario.targets.service_level.threshold
    keep = ~contacts["warmup"].to_numpy()
    c = contacts[keep]
    hc, hs = _served_handles(contacts, visits)
    hs = hs[keep[hc]]
    hc = hc[keep[hc]]
    channel = contacts["channel"].cat.codes.to_numpy()
    segment = contacts["segment"].cat.codes.to_numpy()
    groups: list[tuple[str, str, np.ndarray | None]] = [("all", "all", None)]
    if len(plan.channels) > 1:
        groups += [(ch.name, "all", channel == i) for i, ch in enumerate(plan.channels)]
    if len(plan.segment_names) > 1:
        groups += [("all", g, segment == i) for i, g in enumerate(plan.segment_names)]
    rows = []
    channel_thr = {ch.name: ch.sl_threshold for ch in plan.channels}
    if len(plan.channels) == 1:
        thr = plan.channels[0].sl_threshold
    for ch_name, seg_name, mask in groups:
        t = channel_thr.get(ch_name, thr)
        if mask is None:
            rows.append({"channel": ch_name, "segment": seg_name, **kpis(c, hs, t)})
        else:
            rows.append({"channel": ch_name, "segment": seg_name,
                         **kpis(contacts[mask & keep], hs[mask[hc]], t)})
    out = pd.DataFrame(rows)
    ll = littles_law(contacts, visits, plan.warmup_end, end_s)
    overall = ((out["channel"] == "all") & (out["segment"] == "all")).to_numpy()
    for k, val in ll.items():
        out[k] = np.where(overall, val, np.nan)
    return out


def _groups(key: np.ndarray):
    """(key value, row indices) of each distinct value of ``key``, in increasing key order."""
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]]) if len(key) else np.array([], int)
    for a, b in zip(starts, np.r_[starts[1:], len(key)]):
        yield sorted_key[a], order[a:b]


def interval_table(plan: Plan, contacts: pd.DataFrame, visits: pd.DataFrame) -> pd.DataFrame:
    """KPIs per channel per reporting interval of arrival, all contacts including the warm-up; with several
    channels, rows with channel 'all' aggregate them."""
    thr = plan.scenario.targets.service_level.threshold
    channel_thr = {ch.name: ch.sl_threshold for ch in plan.channels}
    hc, hs = _served_handles(contacts, visits)
    hs_all = hs  # aligned with hc; hs is re-sorted by group key below
    key = contacts["channel"].cat.codes.to_numpy().astype(np.int64) * (len(plan.boundaries) + 1) + contacts["interval"].to_numpy()
    hkey = key[hc]
    order = np.argsort(hkey, kind="stable")
    hkey, hs = hkey[order], hs[order]
    rows = []
    bounds = plan.boundaries
    cols = _kpi_columns(contacts)
    names = [ch.name for ch in plan.channels]
    for k, idx in _groups(key):
        channel, interval = names[k // (len(bounds) + 1)], int(k % (len(bounds) + 1))
        lo, hi = np.searchsorted(hkey, k, "left"), np.searchsorted(hkey, k, "right")
        rows.append({"channel": channel, "interval": interval, "start_s": bounds[interval],
                     **_kpi_values({n: v[idx] for n, v in cols.items()}, hs[lo:hi], channel_thr[channel])})
    if len(plan.channels) > 1:
        # all channels together, per interval
        all_int = contacts["interval"].to_numpy()
        h_order = np.argsort(all_int[hc], kind="stable")
        h_int, hs_by_int = all_int[hc][h_order], hs_all[h_order]
        for interval, idx in _groups(all_int):
            lo, hi = np.searchsorted(h_int, interval, "left"), np.searchsorted(h_int, interval, "right")
            rows.append({"channel": "all", "interval": int(interval), "start_s": bounds[int(interval)],
                         **_kpi_values({n: v[idx] for n, v in cols.items()}, hs_by_int[lo:hi], thr)})
    out = pd.DataFrame(rows, columns=["channel", "interval", "start_s", *KPI_COLUMNS])
    out["day"] = (out["start_s"] // DAY).astype(np.int64) + 1
    return out


def pool_summary_frame(plan: Plan, totals: np.ndarray) -> pd.DataFrame:
    """Per pool, over exactly [warm-up end, end of run] (the whole run without a warm-up), from each
    pool's (staffed_s, busy_s, paid_s, served) there (rows of ``totals``): those columns and
    occupancy = busy_s / paid_s, NaN when nothing is paid or for an unlimited pool (no capacity to
    occupy). ``served`` counts visits finished at or after the warm-up end; the ``pool_summary``
    table leaves it out (:func:`servsim.results.pool_summary`), the costs read it."""
    out = pd.DataFrame({
        "pool": pd.Categorical([p.name for p in plan.pools], categories=[p.name for p in plan.pools]),
        "staffed_s": totals[:, 0], "busy_s": totals[:, 1], "paid_s": totals[:, 2],
        "served": totals[:, 3].astype(np.int64),
    })
    unlimited = np.array([p.unlimited for p in plan.pools], dtype=bool)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["occupancy"] = np.where((out["paid_s"] > 0) & ~unlimited, out["busy_s"] / out["paid_s"], np.nan)
    return out
