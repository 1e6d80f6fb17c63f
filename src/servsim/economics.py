"""Cost model and satisfaction proxy: pure functions of one run's result tables.

Nothing here runs the engine; every function takes the DataFrames of :mod:`servsim.metrics` (one
replication's tables) and the scenario's prices (:mod:`servsim.scenario.economics`). Money is in
the scenario's ``economics.currency``; times in the tables are seconds, hours are 3600 s.

Cost
    *Staff cost* of a pool = paid agent-hours × ``cost_per_hour``. Paid time is time on shift
    (staffed), plus time finishing a contact after the shift ended — not only busy time: a staffed
    agent sitting idle costs the same as a busy one.

    *Penalty cost* = abandoned contacts × ``penalties.per_abandoned`` + channel-intervals missing
    the channel's service-level goal (its own ``service_level.goal``, else
    ``targets.service_level.goal``) × ``penalties.per_interval_missing_target``.

    *Vendor cost* of a vendor pool = contacts it served × ``price_per_contact`` + hours it spent
    handling × ``price_per_hour``.

    *Bot cost* of a bots pool = bots × ``licence_cost`` × (simulated days − warm-up) /
    ``licence_period`` (one flat licence if unlimited) + items served × ``cost_per_transaction``.

    *Total cost* = staff + vendor + bot + penalty cost; *cost per handled* = total cost / contacts
    handled or contained. :func:`cost_by_channel` splits pool costs over channels by handle time.

Satisfaction proxy
    A per-contact score in [0, 1] from the contact's wait, outcome and channel
    (:func:`satisfaction_scores`; shapes and factors documented on
    :class:`~servsim.scenario.economics.Satisfaction`), reported as a mean and as the share of
    contacts scoring at least ``satisfied_at``. It is a *proxy* — a configurable modelling device
    for comparing options — not a measurement of real customers' satisfaction.

Warm-up
    Like every KPI, economics leave out the warm-up: contacts with ``warmup`` true; pool time before
    the warm-up end (``warmup_end_s``, seconds after midnight of day 1 = horizon start + warm-up):
    a run's costs read its exact pool totals over [warm-up end, end of run], while a per-interval
    ``pools`` table passed here loses the intervals starting before the warm-up end; and interval
    rows (arrival cohorts) starting before it. With no warm-up, the whole horizon counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from servsim.metrics.cells import contact_inputs
from servsim.metrics.records import labels
from servsim.metrics.registry import columns
from servsim.metrics.satisfaction import scores as _scores, wait_score  # noqa: F401 - re-exported
from servsim.scenario.economics import Economics, Satisfaction

HOUR_S = 3600.0
#: Slack when comparing interval start times with the warm-up end (seconds).
_EPS = 1e-9

#: Keys of :func:`economics_summary`: the registry's cost KPIs, then the satisfaction proxy's.
SUMMARY_KEYS = [*columns("summary", "costs"), "satisfaction_mean", "share_satisfied"]


def _after_warmup(df: pd.DataFrame, warmup_end_s: float) -> pd.DataFrame:
    """Rows of a per-interval table (``start_s``) that start at or after the warm-up end: whole
    intervals, so the rest of an interval the warm-up ends in is dropped. A table without
    ``start_s`` holds totals already over exactly [warm-up end, end of run] (a run's exact pool
    totals, :meth:`servsim.metrics.CellSums.pool_totals`) and is kept whole."""
    if warmup_end_s <= 0 or "start_s" not in df.columns:
        return df
    return df[_counted(df, warmup_end_s)]


def _counted(df: pd.DataFrame, warmup_end_s: float) -> np.ndarray:
    """Boolean mask of the rows :func:`_after_warmup` keeps (no copy of the table)."""
    if warmup_end_s <= 0 or "start_s" not in df.columns:
        return np.ones(len(df), dtype=bool)
    return df["start_s"].to_numpy(dtype=float) >= warmup_end_s - _EPS


def _post_warmup_contacts(contacts: pd.DataFrame) -> np.ndarray:
    """Boolean mask of contacts that arrived after the warm-up (all, without a ``warmup`` column)."""
    if "warmup" not in contacts.columns:
        return np.ones(len(contacts), dtype=bool)
    return ~contacts["warmup"].to_numpy(dtype=bool)


def pool_costs(pools: pd.DataFrame, cost_per_hour: Mapping[str, float], warmup_end_s: float = 0.0) -> pd.DataFrame:
    """Staff cost per pool.

    ``pools`` is either a run's exact post-warm-up totals per pool (no ``start_s`` column: every row
    counts; :meth:`servsim.metrics.CellSums.pool_totals`, as the run summary's costs use) or the
    per-interval ``pools`` table (one row per pool per interval), of which the rows starting at or
    after ``warmup_end_s`` count — whole intervals only. For each pool p, over the rows that count:

    * ``staffed_hours`` = Σ staffed_s / 3600 (agent-hours on shift);
    * ``busy_hours`` = Σ busy_s / 3600 (agent-hours serving);
    * ``paid_hours`` = Σ paid_s / 3600 (agent-hours paid: on shift, or finishing a contact after it);
    * ``cost_per_hour`` = the pool's rate (currency per paid agent-hour);
    * ``cost`` = paid_hours × cost_per_hour (currency).

    Idle staffed time is paid, so it is in the cost. Returns one row per pool, in the order of the
    table's pool categories (or of first appearance). A pool in the table without a rate in
    ``cost_per_hour`` is an error (``KeyError``); rates for pools not in the table are ignored.
    """
    p = _after_warmup(pools, warmup_end_s)
    if isinstance(pools["pool"].dtype, pd.CategoricalDtype):
        names = [str(c) for c in pools["pool"].cat.categories]
    else:
        names = [str(x) for x in pd.unique(pools["pool"])]
    missing = [n for n in names if n not in cost_per_hour]
    if missing:
        raise KeyError(f"no cost_per_hour for pool(s) {', '.join(missing)}")
    key = p["pool"].astype(str)
    sums = p[["staffed_s", "busy_s", "paid_s"]].groupby(key.to_numpy(), sort=False).sum()
    sums = sums.reindex(names, fill_value=0.0)
    rate = np.array([float(cost_per_hour[n]) for n in names])
    paid_h = sums["paid_s"].to_numpy(dtype=float) / HOUR_S
    return pd.DataFrame({
        "pool": names,
        "staffed_hours": sums["staffed_s"].to_numpy(dtype=float) / HOUR_S,
        "busy_hours": sums["busy_s"].to_numpy(dtype=float) / HOUR_S,
        "paid_hours": paid_h,
        "cost_per_hour": rate,
        "cost": paid_h * rate,
    })


def _channel_rows(intervals: pd.DataFrame) -> np.ndarray:
    """Boolean mask of the per-channel rows of the intervals table: rows with channel 'all' are
    aggregates over channels when other channels are present (a lone channel named 'all' is kept)."""
    ch = labels(intervals["channel"])
    mine = ch != "all"
    return mine if mine.any() else np.ones(len(ch), dtype=bool)


def penalty_costs(
    contacts: pd.DataFrame,
    intervals: pd.DataFrame,
    economics: Economics | None,
    goal: float | Mapping[str, float],
    warmup_end_s: float = 0.0,
) -> dict[str, float]:
    """Penalties (currency) of one run.

    * ``abandoned`` = number of contacts that arrived after the warm-up and abandoned;
      ``abandoned_cost`` = abandoned × ``penalties.per_abandoned``;
    * ``intervals_missed`` = Σ over channels of :func:`intervals_missed` — the channel's rows of the
      ``intervals`` table starting at or after ``warmup_end_s`` with offered > 0 and a service level
      below *that channel's* goal (``goal``: channel → goal, see :func:`service_level_goals`; one
      number judges every channel by it); ``intervals_missed_cost`` = intervals_missed ×
      ``penalties.per_interval_missing_target``;
    * ``penalty_cost`` = abandoned_cost + intervals_missed_cost.

    ``economics`` None means the defaults (no penalties).
    """
    pen = (economics or Economics()).penalties
    keep = _post_warmup_contacts(contacts)
    abandoned = float(((labels(contacts["outcome"]) == "abandoned") & keep).sum())
    missed = float(_intervals_missed(intervals, goal, warmup_end_s))
    a_cost = abandoned * pen.per_abandoned
    i_cost = missed * pen.per_interval_missing_target
    return {
        "abandoned": abandoned,
        "abandoned_cost": a_cost,
        "intervals_missed": missed,
        "intervals_missed_cost": i_cost,
        "penalty_cost": a_cost + i_cost,
    }


def service_level_goals(scenario: Any) -> dict[str, float]:
    """The service-level goal each channel is judged by: its own ``service_level.goal``, else
    ``targets.service_level.goal`` (channel name → goal, in file order)."""
    default = scenario.targets.service_level
    return {str(name): float((ch.service_level or default).goal) for name, ch in scenario.channels.items()}


def intervals_missed(intervals: pd.DataFrame, goals: float | Mapping[str, float],
                     warmup_end_s: float) -> dict[str, int]:
    """Reporting intervals missing the service-level goal, per channel: the channel's rows of the
    ``intervals`` table (rows with channel 'all' aggregate channels and are skipped) starting at or
    after ``warmup_end_s``, with offered > 0 and service level < the channel's goal (``goals``:
    channel → goal, or one goal for all). A NaN service level (nothing measurable) does not count;
    a channel without a goal in ``goals`` is not judged.

    Intervals are arrival cohorts (a contact belongs to the interval it arrived in), so only whole
    intervals after the warm-up count.
    """
    rows = _channel_rows(intervals) & _counted(intervals, warmup_end_s)
    channel = labels(intervals["channel"])[rows]
    offered = intervals["offered"].to_numpy(dtype=float)[rows]
    sl = intervals["service_level"].to_numpy(dtype=float)[rows]
    names = list(dict.fromkeys(channel)) if not isinstance(goals, Mapping) else list(goals)
    out = {}
    for name in names:
        goal = float(goals[name]) if isinstance(goals, Mapping) else float(goals)
        mine = channel == name
        with np.errstate(invalid="ignore"):
            out[name] = int((mine & (offered > 0) & (sl < goal)).sum())
    return out


def _intervals_missed(intervals: pd.DataFrame, goal: float | Mapping[str, float], warmup_end_s: float) -> int:
    """Σ over channels of :func:`intervals_missed` (see :func:`penalty_costs`)."""
    return sum(intervals_missed(intervals, goal, warmup_end_s).values())


def satisfaction_scores(
    contacts: pd.DataFrame, satisfaction: Satisfaction | None = None, wait_column: str = "wait_s"
) -> np.ndarray:
    """Satisfaction proxy score per contact (array aligned with ``contacts``' rows), in [0, 1] or NaN:
    :func:`servsim.metrics.satisfaction.scores` of the table's columns, with w the contact's
    ``wait_column`` (default ``wait_s``, the wait at its first step, seconds). Optional columns: a
    boolean ``resolved`` (handled contacts with resolved false use the ``unresolved`` factor; NaN or
    None count as resolved) and ``bot_s`` (time with bots before reaching a person, counted as
    waiting). Warm-up contacts are scored too; callers filter them (see :func:`economics_summary`).
    """
    c = contact_inputs(contacts)
    return _scores(c["outcome"], contacts[wait_column].to_numpy(dtype=float), c["channel"], list(c["channel_names"]),
                   satisfaction, c["resolved"], c.get("bot_s"))


def pool_charges(pools: pd.DataFrame, scenario: Any, warmup_end_s: float = 0.0) -> pd.DataFrame:
    """Cost per pool of every kind (currency), over the rows of ``pools`` that count (as in
    :func:`pool_costs`: every row of the exact post-warm-up totals, which the run summary's costs use;
    of a per-interval table, the rows starting at or after ``warmup_end_s``).

    Columns: ``pool``, ``kind``, ``paid_hours``, ``busy_hours``, ``served`` (visits finished),
    ``staff_cost`` (agents: paid_hours × cost_per_hour), ``vendor_cost`` (vendor: served ×
    price_per_contact + busy_hours × price_per_hour), ``bot_cost`` (bots: licences pro-rated to the
    simulated days after the warm-up, count × licence_cost × days_s / licence_period, or one flat
    licence if unlimited; plus served × cost_per_transaction) and ``cost`` (their sum).
    """
    return pd.DataFrame(_charges(pools, scenario, warmup_end_s))


def _charges(pools: pd.DataFrame, scenario: Any, warmup_end_s: float) -> list[dict[str, Any]]:
    """The rows of :func:`pool_charges`, one per pool of the scenario, in file order."""
    keep = _counted(pools, warmup_end_s)
    key = labels(pools["pool"])[keep]
    index = {str(name): i for i, name in enumerate(scenario.pools)}
    code = np.array([index.get(k, -1) for k in key], dtype=np.int64) if len(key) else np.zeros(0, np.int64)
    ok = code >= 0
    n = len(index)

    def total(column: str) -> np.ndarray:
        if column not in pools.columns:
            return np.zeros(n)
        return np.bincount(code[ok], weights=pools[column].to_numpy(dtype=float)[keep][ok], minlength=n)

    return priced(scenario, total("paid_s"), total("busy_s"), total("served"))


def priced(scenario: Any, paid_s: np.ndarray, busy_s: np.ndarray, served: np.ndarray) -> list[dict[str, Any]]:
    """The rows of :func:`pool_charges` from each pool's paid and busy seconds and visits served
    (arrays in the scenario's pool order)."""
    paid, busy = np.asarray(paid_s, dtype=float) / HOUR_S, np.asarray(busy_s, dtype=float) / HOUR_S
    horizon = getattr(scenario, "horizon", None)
    days_s = getattr(horizon, "days", 0) * 86400.0 - getattr(horizon, "warmup", 0.0)
    rows = []
    for i, (name, pool) in enumerate(scenario.pools.items()):
        paid_h, busy_h, n_served = float(paid[i]), float(busy[i]), float(served[i])
        kind = getattr(pool, "kind", "agents")
        staff = vendor = bot = 0.0
        if kind == "agents":
            staff = paid_h * float(getattr(pool, "cost_per_hour", 0.0))
        elif kind == "vendor":
            vendor = n_served * pool.price_per_contact + busy_h * pool.price_per_hour
        else:
            licences = 1.0 if pool.unlimited else float(pool.agents)
            bot = licences * pool.licence_cost * days_s / pool.licence_period + n_served * pool.cost_per_transaction
        rows.append({"pool": str(name), "kind": kind, "paid_hours": paid_h, "busy_hours": busy_h, "served": n_served,
                     "staff_cost": staff, "vendor_cost": vendor, "bot_cost": bot, "cost": staff + vendor + bot})
    return rows


def cost_by_channel(charges: pd.DataFrame, visits: pd.DataFrame, contacts: pd.DataFrame) -> pd.Series:
    """Pool costs split over channels: each pool's ``cost`` (from :func:`pool_charges`) in proportion
    to the handle time its served visits spent on each channel's contacts (idle time is shared the
    same way). Pools that served nothing are left out. Returns cost per channel (currency)."""
    served = visits[visits["outcome"].astype(str) == "served"]
    channel = contacts["channel"].to_numpy()[served["contact"].to_numpy()]
    work = pd.DataFrame({"pool": served["pool"].astype(str).to_numpy(), "channel": np.asarray(channel, dtype=object),
                         "handle": served["handle_s"].to_numpy()})
    share = work.groupby(["pool", "channel"])["handle"].sum()
    share = share / share.groupby(level="pool").transform("sum")
    cost = charges.set_index("pool")["cost"]
    out = (share * cost.reindex(share.index.get_level_values("pool")).to_numpy()).groupby(level="channel").sum()
    return out.rename("cost")


def economics_summary(
    contacts: pd.DataFrame, pools: pd.DataFrame, intervals: pd.DataFrame, scenario: Any
) -> dict[str, float]:
    """Cost and satisfaction-proxy headline numbers of one run.

    ``scenario`` is a :class:`~servsim.Scenario` or anything with ``.pools`` (name → object with
    ``cost_per_hour``, and for vendors and bots their prices), ``.targets.service_level.goal``,
    optionally ``.channels`` (name → object with ``service_level``: None or with a ``goal``; absent:
    every channel is judged by the target goal), optionally ``.horizon`` (``start``, ``days`` and ``warmup``, seconds: warm-up end = start +
    warmup; none: no warm-up) and optionally ``.economics`` (an
    :class:`~servsim.scenario.economics.Economics`; None or absent: defaults).

    * ``staff_cost``, ``vendor_cost``, ``bot_cost`` — :func:`pool_charges`, summed over pools;
    * ``penalty_cost`` — :func:`penalty_costs`;
    * ``total_cost`` = staff + vendor + bot + penalty cost;
    * ``cost_per_handled`` = total_cost / contacts handled or contained after the warm-up (NaN if none);
    * ``satisfaction_mean`` = mean satisfaction proxy over scored contacts after the warm-up (NaN if
      none);
    * ``share_satisfied`` = share of those contacts with proxy score >= ``satisfied_at`` (NaN if none).

    Money in ``economics.currency``.
    """
    econ = getattr(scenario, "economics", None) or Economics()
    keep = _post_warmup_contacts(contacts)
    outcome = labels(contacts["outcome"])
    handled = int((((outcome == "handled") | (outcome == "contained")) & keep).sum())
    abandoned = int(((outcome == "abandoned") & keep).sum())
    scores = satisfaction_scores(contacts, econ.satisfaction)[keep]
    scores = scores[~np.isnan(scores)]
    out = cost_summary(pools, intervals, scenario, abandoned, handled) | {
        "satisfaction_mean": float(scores.mean()) if len(scores) else float("nan"),
        "share_satisfied": float((scores >= econ.satisfaction.satisfied_at).mean()) if len(scores) else float("nan"),
    }
    return {key: out[key] for key in SUMMARY_KEYS}


def warmup_end_s(scenario: Any) -> float:
    """The warm-up end in seconds after midnight of day 1 (horizon start + warm-up); 0 without a
    warm-up or a horizon."""
    horizon = getattr(scenario, "horizon", None)
    return float(horizon.start + horizon.warmup) if horizon is not None and horizon.warmup > 0 else 0.0


def cost_summary(pools: pd.DataFrame | None, intervals: pd.DataFrame, scenario: Any, abandoned: int,
                 handled: int, charges: list[dict[str, Any]] | None = None) -> dict[str, float]:
    """The cost keys of :func:`economics_summary` from the pools and intervals tables and two counts
    of contacts that arrived after the warm-up: ``abandoned``, and ``handled`` (handled or contained).
    A run kept without a per-contact log has the counts but not the contacts. ``charges``: the
    pools' rows of :func:`pool_charges` if the caller has them already (``pools`` is then not read).

    penalty_cost = abandoned × per_abandoned + intervals missed × per_interval_missing_target
    (:func:`penalty_costs`; each channel judged by its own goal, :func:`service_level_goals`);
    total_cost = staff + vendor + bot + penalty cost; cost_per_handled =
    total_cost / handled (NaN if none).
    """
    econ = getattr(scenario, "economics", None) or Economics()
    warmup_end = warmup_end_s(scenario)
    if charges is None:
        charges = _charges(pools, scenario, warmup_end)
    staff, vendor, bot = (float(sum(row[c] for row in charges)) for c in ("staff_cost", "vendor_cost", "bot_cost"))
    # a stand-in without channels judges every channel by the target goal
    goals = (service_level_goals(scenario) if hasattr(scenario, "channels")
             else float(scenario.targets.service_level.goal))
    missed = _intervals_missed(intervals, goals, warmup_end)
    penalty = abandoned * econ.penalties.per_abandoned + missed * econ.penalties.per_interval_missing_target
    total = staff + vendor + bot + penalty
    return {
        "staff_cost": staff,
        "penalty_cost": float(penalty),
        "total_cost": total,
        "cost_per_handled": total / handled if handled else float("nan"),
        "vendor_cost": vendor,
        "bot_cost": bot,
    }
