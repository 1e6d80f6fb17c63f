"""The replay: one replication's own visit log, cut to a window, as the animation's event list.

Nothing here simulates again or smooths: every dot in the animation is a visit the engine recorded
(``RunResult.visits``), joining the queue at its ``queued_s``, taking a seat at its ``start_s`` and
leaving at its ``end_s``, or abandoning at its recorded ``end_s`` without a start. A *seat* is one
service slot of a pool (an agent, or one of a chat agent's k slots); the engine does not say which
agent served a visit, so visits are seated here in start order on the lowest free seat of their
pool, which keeps each seat's visits from overlapping.

The list is compact, since a page embeds one per cell: visits in order of arrival, times relative
to the window start in whole milliseconds (the engine's float times rounded once, so that a start
equals an arrival when the wait was zero), arrivals delta-coded::

    {"t0": 7200.0, "length": 1800.0, "pools": [{"name": "agents", "seats": 10, "duty": [[0, 10]]}],
     "segments": ["all"], "a": [..], "w": [..], "h": [..], "o": [..], "p": [..], "s": [..], "g": [..]}

``a``: arrival minus the previous arrival (the first: minus the window start; it may be negative
for a visit already waiting or in service when the window opens); ``w``: its wait (until service
or abandonment), −1 when it was still waiting when the run ended; ``h``: time in service, −1
when never started or still in service at the end; ``o``: 0 served or in service, 1 abandoned,
2 still waiting at the end; ``p``, ``s``: pool and seat (−1 when never seated); ``g``: segment.
``duty`` lists (time, agents on duty) from the run's pools table (staffed agent-time over each
interval's length), so seats off duty can be drawn as such.

At a time t (ms from the window start) the queue holds the visits with a ≤ t < a + w (or w = −1),
and the seats are busy with those with a + w ≤ t < a + w + h (or h = −1): :func:`levels` is that
rule, the one ``replay.js`` applies.
"""

from __future__ import annotations

import heapq
import math
from typing import Any

import numpy as np
import pandas as pd

from servsim.scenario import Scenario

SERVED, ABANDONED, WAITING = 0, 1, 2


def _ms(seconds: np.ndarray, t0: float) -> np.ndarray:
    return np.round((np.asarray(seconds, dtype=float) - t0) * 1000.0)


def step_visits(visits: pd.DataFrame, step: str) -> pd.DataFrame:
    """The visits of ``step``: its own, and those a vendor took over (``step@vendor``)."""
    name = visits["step"].astype(str)
    return visits[(name == step) | name.str.startswith(step + "@")]


def replay_events(run: Any, scenario: Scenario, step: str, start: float, length: float) -> dict[str, Any]:
    """The event list of ``step``'s visits during [start, start + length] of one replication
    (``run``: a :class:`servsim.results.RunResult` with its per-contact log); see the module docstring."""
    t0, t1 = float(start), float(start) + float(length)
    visits, pools = run.visits, run.pools
    v = step_visits(visits, step)
    end = v["end_s"].to_numpy(dtype=float)
    queued = v["queued_s"].to_numpy(dtype=float)
    keep = (queued <= t1) & (np.isnan(end) | (end >= t0))
    v = v[keep].sort_values(["queued_s", "contact"], kind="stable")
    segments = list(scenario.segments)
    pool_names = [p for p in scenario.pools if p in set(v["pool"].dropna().astype(str))]
    pool_names.sort(key=lambda p: scenario.pools[p].kind != "agents")
    a = _ms(v["queued_s"], t0)
    started = v["start_s"].notna().to_numpy()
    ended = v["end_s"].notna().to_numpy()
    s_ms = _ms(v["start_s"].fillna(0.0), t0)
    e_ms = _ms(v["end_s"].fillna(0.0), t0)
    outcome = np.where(started, SERVED, np.where(ended, ABANDONED, WAITING))
    wait = np.where(started, s_ms - a, np.where(ended, e_ms - a, -1))
    hold = np.where(started & ended, e_ms - s_ms, -1)
    pool_idx = np.array([pool_names.index(str(p)) if isinstance(p, str) and p in pool_names else -1
                         for p in v["pool"].astype(object)], dtype=int)
    seats, seat = _seat(pool_idx, np.where(started, s_ms, np.nan), np.where(started & ended, e_ms, np.inf),
                        len(pool_names))
    contacts = run.contacts
    segment_of = dict(zip(contacts["contact"].to_numpy(), contacts["segment"].astype(str)))
    group = [segments.index(segment_of.get(c, segments[0])) for c in v["contact"].to_numpy()]
    a_int = a.astype(np.int64)
    deltas = np.diff(a_int, prepend=0)
    out_pools = []
    for i, name in enumerate(pool_names):
        duty = _duty(pools, name, scenario, t0, t1)
        most = max([n for _, n in duty], default=0)
        capacity = scenario.pools[name].agents if scenario.pools[name].kind != "agents" else None
        if isinstance(capacity, int):
            most = max(most, capacity * scenario.pools[name].concurrency)
        out_pools.append({"name": name, "kind": scenario.pools[name].kind,
                          "seats": int(max(seats[i], most)), "duty": duty})
    return {
        "t0": t0, "length": float(length), "step": step, "pools": out_pools, "segments": segments,
        "priority": [int(scenario.segments[g].priority) for g in segments],
        "a": deltas.tolist(), "w": wait.astype(np.int64).tolist(), "h": hold.astype(np.int64).tolist(),
        "o": outcome.astype(int).tolist(), "p": pool_idx.tolist(), "s": seat.tolist(), "g": group,
    }


def _seat(pool: np.ndarray, start: np.ndarray, end: np.ndarray, n_pools: int) -> tuple[list[int], np.ndarray]:
    """Seat each started visit on the lowest free seat of its pool, in start order; (seats needed
    per pool, seat of each visit, −1 when never seated)."""
    seat = np.full(len(pool), -1, dtype=int)
    busy: list[list[tuple[float, int]]] = [[] for _ in range(n_pools)]  # (end, seat) heaps
    free: list[list[int]] = [[] for _ in range(n_pools)]
    count = [0] * n_pools
    order = np.argsort(np.where(np.isnan(start), np.inf, start), kind="stable")
    for i in order:
        if math.isnan(start[i]) or pool[i] < 0:
            continue
        p = pool[i]
        while busy[p] and busy[p][0][0] <= start[i]:
            heapq.heappush(free[p], heapq.heappop(busy[p])[1])
        if free[p]:
            s = heapq.heappop(free[p])
        else:
            s = count[p]
            count[p] += 1
        seat[i] = s
        heapq.heappush(busy[p], (end[i], s))
    return count, seat


def _duty(pools: pd.DataFrame, name: str, scenario: Scenario, t0: float, t1: float) -> list[list[int]]:
    """[[ms from the window start, agents on duty], ...] for the intervals overlapping the window
    (empty for vendors and bots, whose capacity does not change)."""
    if scenario.pools[name].kind != "agents":
        return []
    length = float(scenario.horizon.interval)
    rows = pools[(pools["pool"].astype(str) == name) & (pools["start_s"] < t1) & (pools["start_s"] + length > t0)]
    out = []
    for r in rows.sort_values("start_s").itertuples(index=False):
        at = max(0.0, (float(r.start_s) - t0) * 1000.0)
        out.append([int(round(at)), int(round(float(r.staffed_s) / length))])
    return out


def expand(events: dict[str, Any]) -> pd.DataFrame:
    """The compact list back as one row per visit: ``arrive, leave_queue, leave_seat`` (ms from the
    window start; inf when it never happens), ``outcome``, ``pool``, ``seat``, ``segment``."""
    a = np.cumsum(np.asarray(events["a"], dtype=np.int64)).astype(float)
    w = np.asarray(events["w"], dtype=float)
    h = np.asarray(events["h"], dtype=float)
    leave_q = np.where(w < 0, np.inf, a + w)
    seated = np.asarray(events["o"]) == SERVED
    leave_s = np.where(~seated, np.nan, np.where(h < 0, np.inf, leave_q + h))
    return pd.DataFrame({"arrive": a, "leave_queue": leave_q, "leave_seat": leave_s, "outcome": events["o"],
                         "pool": events["p"], "seat": events["s"], "segment": events["g"]})


def levels(events: dict[str, Any], t_ms: float) -> tuple[int, int]:
    """(queue length, busy seats) at ``t_ms`` from the window start, by the module's rule."""
    x = expand(events)
    queue = int(((x["arrive"] <= t_ms) & (t_ms < x["leave_queue"])).sum())
    started = x["leave_seat"].notna()
    busy = int((started & (x["leave_queue"] <= t_ms) & (t_ms < x["leave_seat"])).sum())
    return queue, busy
