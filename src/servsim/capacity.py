"""Offered load against staffed capacity: is the scenario stable at all?

For each step s, the expected number of visits per arriving contact of channel c solves the traffic
equations  v = e_c + v·P  (P: routing probabilities between steps; e_c: 1 at the channel's entry),
i.e. v = e_c (I − P)⁻¹. The offered work of step s over the horizon is

    W_s = Σ_c Λ_c · v_{c,s} · (E[handle_s] + E[wrap_up_s]) · f_s        (agent-seconds)

with Λ_c the expected arrivals of channel c over the horizon (times 1 + r + … + r^(m−1) for repeat
contacts of unresolved ones: :func:`attempts_per_arrival`) and f_s the proficiency factor of the
fastest pool serving s (times the mean of its agents' listed ``agent_proficiencies``; drawn ones
have mean 1). Work entering a step with bots or a vendor is split first: a share
``level`` to the bots' variant step, a fixed ``share`` of the rest to the vendor's (the bots' own
exceptions coming back skip the bots). Capacity is staffed agent-seconds × concurrency k /
(1 + slowdown·(k − 1)) (a chat agent's rate when holding k chats); an ``unlimited`` pool has
infinite capacity and its work is left out of the ratio. A vendor taking a step's overflow adds its
capacity to that step's. The ratio of all offered work to all
staffed time is the **load ratio** ρ; ρ ≥ 1 means arrivals exceed capacity (without abandonment the
queue grows without bound). A step whose work exceeds the staffed time of every pool able to serve
it is reported too. Abandonment is ignored in the ratios: it sheds load, so ρ is an upper bound.

Stability. The *overloaded* steps are those with a step ratio ≥ 1, or, when only ρ is ≥ 1, every
step whose work is counted in ρ. An overloaded step is *held by abandonment* when every contact
that can reach it can abandon there: the step is front stage (patience runs only while a customer
waits at a front-stage step) and every channel reaching it has a patience for every segment of its
mix. Such a queue is stable for any arrival rate (Erlang A with λ > cμ: waiting customers leave, so
the queue stays bounded), at the price of high abandonment. The load is *unstable* when some
overloaded step is not held: a back-stage step, a channel without patience (email), or unbounded
work (a step ratio of ∞: no capacity, or a loop that never ends).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from servsim.engine.core import MAX_ATTEMPT
from servsim.engine.plan import Plan


@dataclass(frozen=True)
class Load:
    """Offered load against capacity (module docstring): ``ratio`` ρ = ``work_s`` / ``capacity_s``,
    ``step_ratio`` per step, the ``overloaded`` steps and those of them ``held_by_abandonment``."""

    ratio: float
    work_s: float
    capacity_s: float
    step_ratio: dict[str, float]
    overloaded: tuple[str, ...] = ()
    held_by_abandonment: tuple[str, ...] = ()

    @property
    def over_capacity(self) -> bool:
        """Offered work reaches capacity, overall or at some step."""
        return self.ratio >= 1.0 or any(r >= 1.0 for r in self.step_ratio.values())

    @property
    def held(self) -> bool:
        """Over capacity, and every overloaded step is held by abandonment."""
        held = set(self.held_by_abandonment)
        return self.over_capacity and bool(self.overloaded) and all(s in held for s in self.overloaded)

    @property
    def unstable(self) -> bool:
        return self.over_capacity and not self.held

    def _worst(self, steps: tuple[str, ...] | list[str]) -> str:
        """`` (step 'x': r×)`` for the step of ``steps`` with the highest ratio, or nothing."""
        if not steps:
            return ""
        worst = max(steps, key=self.step_ratio.__getitem__)
        return f" (step {worst!r}: {self.step_ratio[worst]:.2f}×)"

    def describe(self) -> str:
        if not self.over_capacity:
            return f"stable: offered load is {self.ratio:.0%} of staffed capacity"
        if self.held:
            return (f"stable, held by abandonment: offered load is {self.ratio:.2f}× staffed capacity"
                    f"{self._worst(self.overloaded)}; waiting customers leave, so queues stay bounded — "
                    "expect high abandonment")
        held = set(self.held_by_abandonment)
        unheld = [s for s in self.overloaded if s not in held] or list(self.step_ratio)
        return (f"UNSTABLE: offered load is {self.ratio:.2f}× staffed capacity{self._worst(unheld)}; "
                "without abandonment queues grow without bound")


def _split(plan: Plan, t: int, came_from: int = -1) -> dict[int, float]:
    """Where work routed to step t goes, after t's entry rules (bots, vendor share)."""
    st = plan.steps[t]
    out: dict[int, float] = {}
    rest = 1.0
    if st.bot_step >= 0 and came_from != st.bot_step:
        out[st.bot_step] = st.bot_level
        rest -= st.bot_level
    if st.vendor_step >= 0:
        out[st.vendor_step] = rest * st.vendor_share
        rest -= rest * st.vendor_share
    out[t] = out.get(t, 0.0) + rest
    return out


def expected_visits(plan: Plan) -> np.ndarray:
    """Matrix V[c, s]: expected visits to step s per contact arriving on channel c.

    Solves V (I − P) = E. When (I − P) is singular (a loop whose exit probability is lost in
    rounding: ``exit: 1e-17`` beside ``0.99999999999999999`` is a loop of probability 1.0), the
    visits of every step a channel reaching such a loop can reach are ``inf``. A loop left with a
    tiny but representable probability gives huge, finite visits (``exit: 1e-12``: about 10¹²)."""
    n = len(plan.steps)
    P = np.zeros((n, n))
    for s, st in enumerate(plan.steps):
        prev = 0.0
        for cum, to in zip(st.route_cum, st.route_to):
            if to >= 0:
                for u, share in _split(plan, to, s).items():
                    P[s, u] += (cum - prev) * share
            prev = cum
    E = np.zeros((len(plan.channels), n))
    for c, ch in enumerate(plan.channels):
        for u, share in _split(plan, ch.entry).items():
            E[c, u] += share
    V = _solve(np.eye(n) - P, E)
    if V is not None:
        return V
    # Some loop cannot be solved reliably: solve each channel on the steps it reaches; a channel
    # whose part of the system is still singular has unbounded visits to every step it reaches.
    V = np.zeros_like(E)
    for c in range(len(E)):
        reached = _reached(P, np.flatnonzero(E[c] > 0))
        sub = _solve(np.eye(len(reached)) - P[np.ix_(reached, reached)], E[c:c + 1, reached])
        V[c, reached] = np.inf if sub is None else sub[0]
    return V


def _solve(A: np.ndarray, E: np.ndarray) -> np.ndarray | None:
    """V with V·A = E, or None when A is singular or rounding made the answer meaningless
    (not finite, or negative visits)."""
    if A.size == 0:
        return np.zeros_like(E)
    try:
        with np.errstate(all="ignore"):
            V = np.linalg.solve(A.T, E.T).T
    except np.linalg.LinAlgError:
        return None
    if not (np.all(np.isfinite(V)) and np.all(V >= -1e-9)):
        return None
    return np.maximum(V, 0.0)


def _reached(P: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Indices of the steps reachable from ``start`` through routing of positive probability."""
    seen = np.zeros(len(P), dtype=bool)
    seen[start] = True
    todo = list(start)
    while todo:
        s = todo.pop()
        for u in np.flatnonzero((P[s] > 0) & ~seen):
            seen[u] = True
            todo.append(u)
    return np.flatnonzero(seen)


def attempts_per_arrival(plan: Plan, worst: bool = False) -> np.ndarray:
    """Contacts per arrival of each channel, counting its retrials and repeats.

    Each attempt leads to another with probability r, at most m attempts in all: 1 + r + … + r^(m−1).
    A repeat follows an unresolved contact: r = repeats probability × (1 − resolution) (the lowest
    resolution of any pool, an upper bound). A retrial follows an abandonment, which this module
    otherwise ignores; ``worst`` assumes every attempt of a channel that can abandon or balk does
    (r = retrial probability), the bound used to refuse runs that would not fit the limits."""
    unresolved = max((1.0 - pool.resolution for pool in plan.pools), default=0.0)
    out = []
    for ch in plan.channels:
        r, m = 0.0, 1
        if ch.repeats is not None:
            r, m = ch.repeats[0] * unresolved, ch.repeats[2]
        can_leave = ch.balking is not None or any(p is not None for p in ch.patience)
        if worst and ch.retrial is not None and can_leave:
            r, m = max(r, ch.retrial[0]), max(m, ch.retrial[2])
        m = min(m, MAX_ATTEMPT)
        out.append(float(m) if r >= 1.0 else (1.0 - r ** m) / (1.0 - r))
    return np.asarray(out)


def expected_arrivals(plan: Plan) -> np.ndarray:
    """Expected arrivals per channel over the whole horizon."""
    out = []
    for ch in plan.channels:
        if ch.trace is not None:
            out.append(float(len(ch.trace)))
        else:
            out.append(sum((t1 - t0) * r for t0, t1, r in ch.rate_pieces))
    return np.asarray(out)


def staffed_seconds(plan: Plan) -> np.ndarray:
    """Staffed agent-seconds per pool over the horizon (integral of the headcount timeline)."""
    out = np.zeros(len(plan.pools))
    last: dict[int, tuple[float, int]] = {}
    for t, p, n in plan.staffing:
        if p in last:
            t0, n0 = last[p]
            out[p] += n0 * (t - t0)
        last[p] = (t, n)
    for p, (t0, n0) in last.items():
        out[p] += n0 * max(plan.end - t0, 0.0)
    return out


def pool_capacity(plan: Plan) -> np.ndarray:
    """Capacity per pool over the horizon (agent-seconds of work; inf for unlimited pools)."""
    cap = staffed_seconds(plan)
    for p, pool in enumerate(plan.pools):
        if pool.unlimited:
            cap[p] = np.inf
        elif pool.concurrency > 1:
            cap[p] *= pool.concurrency / (1.0 + pool.slowdown * (pool.concurrency - 1))
    return cap


def _all_can_abandon(plan: Plan, per_arrival: np.ndarray, s: int) -> bool:
    """Whether every contact that can reach step s can abandon there (module docstring)."""
    if not plan.steps[s].front:
        return False
    return all(all(ch.patience[g] is not None for g in ch.segment_idx)
               for c, ch in enumerate(plan.channels) if per_arrival[c, s] > 0)


def _stability(plan: Plan, per_arrival: np.ndarray, step_ratio: dict[int, float], counted: list[int],
               ratio: float) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(overloaded steps, those held by abandonment), by name; ``step_ratio`` and ``counted`` (steps
    whose work is in the total ratio) by step index. Rules: module docstring."""
    overloaded = [s for s, r in step_ratio.items() if r >= 1.0]
    if not overloaded and ratio >= 1.0:
        overloaded = counted
    held = [s for s in overloaded if np.isfinite(step_ratio[s]) and _all_can_abandon(plan, per_arrival, s)]
    name = [st.name for st in plan.steps]
    return tuple(name[s] for s in overloaded), tuple(name[s] for s in held)


def offered_load(plan: Plan) -> Load:
    """Load ratio of the plan and its stability; see the module docstring."""
    per_arrival = expected_visits(plan)
    visits = (expected_arrivals(plan) * attempts_per_arrival(plan)) @ per_arrival
    cap = pool_capacity(plan)
    step_ratio: dict[int, float] = {}
    counted: list[int] = []  # steps whose work is in the total
    total = cap_total = 0.0
    finite_pools: set[int] = set()
    for s, st in enumerate(plan.steps):
        if not st.pools or st.handle is None or visits[s] <= 0:
            continue
        fastest = min(prof * plan.pools[p].mean_factor for p, prof in st.pools)
        # zero work stays zero even at unbounded visits (a zero-time loop is refused elsewhere)
        mean = st.handle.mean_s + (st.wrap.mean_s if st.wrap is not None else 0.0)  # wrap-up keeps agents busy
        work = visits[s] * mean * fastest if mean > 0 else 0.0
        pools = [p for p, _ in st.pools]
        if st.overflow is not None and st.vendor_step >= 0:
            pools += [p for p, _ in plan.steps[st.vendor_step].pools]
        c = sum(cap[p] for p in pools)
        step_ratio[s] = work / c if c > 0 else (np.inf if work > 0 else 0.0)
        if np.isfinite(c):
            total += work
            finite_pools.update(pools)
            if work > 0:
                counted.append(s)
    cap_total = float(sum(cap[p] for p in finite_pools))
    ratio = total / cap_total if cap_total > 0 else (np.inf if total > 0 else 0.0)
    overloaded, held = _stability(plan, per_arrival, step_ratio, counted, float(ratio))
    by_name = {plan.steps[s].name: r for s, r in step_ratio.items()}
    return Load(float(ratio), float(total), cap_total, by_name, overloaded, held)
