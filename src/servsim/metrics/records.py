"""From a run's raw records to its per-contact tables (pandas DataFrames; times in seconds,
absolute = seconds after midnight of day 1).

* ``contacts`` — one row per contact: ``contact, channel, segment, day, interval, arrival_s, exit_s,
  outcome`` (handled | abandoned | in_system | balked | contained | blocked), ``answered`` (service at its
  first *people* step started: a step worked by agents or a vendor, not bots), ``wait_s`` (wait at
  that step, or at the first step if bots did everything: from arrival to the start of service,
  to abandoning, or to the end of the horizon for a contact still waiting), ``total_wait_s``,
  ``handle_s``, ``visits``, ``pool`` (who served that step), ``lead_time_s`` (exit − arrival),
  ``warmup`` (arrived during the warm-up: left out of the summary), ``attempt`` (1 = first
  attempt; 2, 3… retrials and repeat contacts), ``resolved`` (handled and resolved; false for
  unresolved), ``outsourced`` (a vendor served one of its steps), ``bot_s`` (time with bots at
  front-stage steps before reaching a person, queue + service), ``callback_offered`` and
  ``callback_accepted`` (a callback was offered at the channel's entry step; accepted),
  ``callbacks`` (callback visits whose outbound call started) and ``callback_wait_s`` (their wait,
  from the request to the call back; NaN when none); *contained* = left the process having been
  served by bots only. A caller who accepted a callback counts as ``answered`` at the acceptance:
  ``wait_s`` is their time on hold;
* ``visits`` — one row per step visit: ``contact, step, pool, queued_s, start_s, end_s, outcome``
  (served | abandoned | waiting | in_service | preempted | callback: the caller accepted a callback
  and hung up), ``wait_s``, ``handle_s``, ``agent`` (for a pool of individual agents, the agent who
  served the visit, 0-based in order of coming on duty; -1 otherwise), ``free_s`` (when the agent
  was free again after a wrap-up; NaN without one) and ``wrap_s`` (free_s − end_s). A preempted
  visit (interruptible back-stage work set aside for front-stage work) ends at the preemption, its
  ``handle_s`` the time worked on it; the item waits again in a new visit of the same step, queued
  at that moment.

The engine's outcome codes and the tables' are :mod:`servsim.outcomes`. Every KPI is defined in
:mod:`servsim.metrics.registry` and computed from per-cell sums in :mod:`servsim.metrics.cells`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from servsim.engine.core import Records, as_numpy
from servsim.engine.plan import EPS, Plan
from servsim.outcomes import TABLE_CODE, TABLE_OUTCOMES, Outcome, VisitOutcome
from servsim.units import DAY

#: Category names of the tables' ``outcome`` columns, in code order.
CONTACT_OUTCOMES = [o.name.lower() for o in TABLE_OUTCOMES]
VISIT_OUTCOMES = [o.name.lower() for o in VisitOutcome]


def labels(column: pd.Series) -> np.ndarray:
    """The values of a column as a numpy array of Python strings; fast for categoricals (the
    result tables' label columns), where ``astype(str)`` would build a new string array."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        names = np.asarray([str(c) for c in column.cat.categories] + [""], dtype=object)
        return names[column.cat.codes.to_numpy()]
    values = column.to_numpy()
    if values.dtype == object and all(type(x) is str for x in values):
        return values
    return np.asarray(column.astype(str).to_numpy(), dtype=object)


def _cat(codes: np.ndarray, names: list[str] | tuple[str, ...]) -> pd.Categorical:
    return pd.Categorical.from_codes(codes.astype(np.int64), categories=list(names))


def visit_columns(plan: Plan, rec: Records) -> dict[str, np.ndarray]:
    """The ``visits`` table's columns as numpy arrays, label columns as integer codes (``step``: index
    in ``plan.steps``; ``pool``: index in ``plan.pools``, -1 for none; ``outcome``: a
    :class:`servsim.outcomes.VisitOutcome`). What the per-cell sums fold; no DataFrame is built."""
    a = as_numpy(rec)
    end = np.where(np.isnan(a["v_end"]), rec.end_time, a["v_end"])
    started = ~np.isnan(a["v_start"])
    wait = np.where(started, a["v_start"], end) - a["v_queued"]
    handle = np.where(started, end - np.where(started, a["v_start"], 0.0), np.nan)
    pools = a["v_pool"].astype(np.int64)
    return {
        "contact": a["v_contact"].astype(np.int64),
        "step": a["v_step"].astype(np.int64),
        "pool": np.where(pools < 0, -1, pools),
        "queued_s": a["v_queued"],
        "start_s": a["v_start"],
        "end_s": a["v_end"],
        "outcome": a["v_outcome"].astype(np.int64),
        "wait_s": wait,
        "handle_s": handle,
        "agent": a["v_agent"],  # int32; a view taking no memory when no pool has individual agents
        "free_s": a["v_free"],
        "wrap_s": a["v_free"] - a["v_end"],
    }


def visit_table(plan: Plan, rec: Records, columns: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """One row per step visit; see the module docstring for the columns."""
    v = dict(visit_columns(plan, rec) if columns is None else columns)
    v["step"] = _cat(v["step"], [s.name for s in plan.steps])
    v["pool"] = _cat(v["pool"], [p.name for p in plan.pools])
    v["outcome"] = _cat(v["outcome"], VISIT_OUTCOMES)
    return pd.DataFrame(v)


def contact_columns(plan: Plan, rec: Records, v: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """The ``contacts`` table's columns as numpy arrays (``v``: the run's :func:`visit_columns`), label
    columns as integer codes: ``channel`` and ``segment`` index the plan's channels and segments,
    ``outcome`` is the table outcome's position in :data:`CONTACT_OUTCOMES` (its
    :class:`servsim.outcomes.Outcome`), ``pool`` indexes ``plan.pools`` (-1: none)."""
    a = as_numpy(rec)
    v = visit_columns(plan, rec) if v is None else v
    n = len(a["arrival"])
    vc = v["contact"]
    v_step = v["step"]
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
    v_start = v["start_s"]
    v_wait = v["wait_s"]
    v_handle = np.nan_to_num(v["handle_s"])
    answered = has & (~np.isnan(v_start[fi]) | (v["outcome"][fi] == VisitOutcome.CALLBACK)) if len(vc) \
        else np.zeros(n, bool)
    wait = np.where(has, v_wait[fi], np.nan) if len(vc) else np.full(n, np.nan)
    pool_codes = np.where(has, v["pool"][fi], -1) if len(vc) else np.full(n, -1, dtype=np.int64)
    handle = _sums(vc, v_handle, n)
    total_wait = _sums(vc, v_wait, n)
    n_visits = np.bincount(vc, minlength=n)[:n]
    served = v["outcome"] == VisitOutcome.SERVED
    people_served = np.bincount(vc[served & ~by_bots], minlength=n)[:n]
    # time with bots the customer spent *before* reaching a person (front stage only)
    front = np.array([st.front for st in plan.steps] + [False], dtype=bool)[v_step] if len(vc) else by_bots
    first_person = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    first_person[people_ids] = rows[~by_bots][people_row]
    before = by_bots & front & (rows < first_person[vc]) if len(vc) else by_bots
    bot_time = _sums(vc[before], (v_handle + v_wait)[before], n)
    vendor_pools = np.array([p.kind == "vendor" for p in plan.pools] + [False], dtype=bool)
    outsourced = np.bincount(vc[served & vendor_pools[v["pool"]]], minlength=n)[:n] > 0
    offer = a["offer"]  # int8; a view taking no memory when no channel offers callbacks
    by_callback = np.array([st.kind == "callback" for st in plan.steps] + [False], dtype=bool)[v_step] if len(vc) \
        else np.zeros(0, bool)
    called = by_callback & ~np.isnan(v_start) if len(vc) else by_callback
    callbacks = np.bincount(vc[called], minlength=n)[:n]
    callback_wait = np.where(callbacks > 0, _sums(vc[called], v_wait[called], n), np.nan)
    arrival = a["arrival"]
    day = day_of(plan, arrival)
    code = a["outcome"].astype(np.int64)
    # the engine's UNRESOLVED is a handled contact with resolved false; CONTAINED a handled one no
    # person served
    unresolved = code == Outcome.UNRESOLVED
    done = (code == Outcome.HANDLED) | unresolved
    contained = done & (people_served == 0)
    outcome = np.where(unresolved, Outcome.HANDLED, code)
    outcome = np.where(contained, Outcome.CONTAINED, outcome)
    outcome = np.where(code == Outcome.BLOCKED, TABLE_CODE[Outcome.BLOCKED], outcome)
    return {
        "contact": np.arange(n, dtype=np.int64),
        "channel": a["channel"].astype(np.int64),
        "segment": a["segment"].astype(np.int64),
        "day": day + 1,
        "interval": interval_of(plan, arrival),
        "arrival_s": arrival,
        "exit_s": a["exit"],
        "outcome": outcome,
        "answered": answered & ~contained,
        "wait_s": wait,
        "total_wait_s": total_wait,
        "handle_s": handle,
        "visits": n_visits,
        "pool": pool_codes,
        "lead_time_s": a["exit"] - arrival,
        "warmup": arrival < plan.warmup_end,
        "attempt": a["attempt"].astype(np.int64),
        "resolved": done & ~unresolved,
        "outsourced": outsourced,
        "bot_s": bot_time,
        "callback_offered": offer > 0,
        "callback_accepted": offer == 2,
        "callbacks": callbacks,
        "callback_wait_s": callback_wait,
    }


def contact_table(plan: Plan, rec: Records, columns: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """One row per contact; see the module docstring for the columns (``columns``: the run's
    :func:`contact_columns`, when already at hand)."""
    c = dict(contact_columns(plan, rec) if columns is None else columns)
    c["channel"] = _cat(c["channel"], [ch.name for ch in plan.channels])
    c["segment"] = _cat(c["segment"], list(plan.segment_names))
    c["outcome"] = _cat(c["outcome"], CONTACT_OUTCOMES)
    c["pool"] = _cat(c["pool"], [p.name for p in plan.pools])
    return pd.DataFrame(c)


def _sums(ids: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """Per-contact sums of ``weights`` (float even with no rows, unlike a bare ``np.bincount``)."""
    return np.bincount(ids, weights=weights, minlength=n)[:n].astype(np.float64, copy=False)


def day_of(plan: Plan, t: np.ndarray) -> np.ndarray:
    """Day index (from 0) of absolute times t: a day open past midnight keeps its hours after
    midnight (``plan.day_shift``), as :meth:`servsim.engine.plan.Plan.day_of`."""
    return np.floor_divide(np.asarray(t, dtype=float) - plan.day_shift, DAY).astype(np.int64)


def interval_of(plan: Plan, t: np.ndarray) -> np.ndarray:
    """Reporting interval index (0-based, counted over all days) of absolute times t."""
    day = day_of(plan, t)
    tod = t - day * DAY
    k = np.clip(np.floor((tod - plan.start) / plan.interval + EPS), 0, plan.intervals_per_day - 1)
    return (day * plan.intervals_per_day + k).astype(np.int64)
