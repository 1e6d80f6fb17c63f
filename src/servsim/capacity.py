"""Offered load against staffed capacity: is the scenario stable at all?

For each step s, the expected number of visits per arriving contact of channel c solves the traffic
equations  v = e_c + v·P  (P: routing probabilities between steps; e_c: 1 at the channel's entry),
i.e. v = e_c (I − P)⁻¹. The offered work of step s over the horizon is

    W_s = Σ_c Λ_c · v_{c,s} · E[handle_s] · f_s        (agent-seconds)

with Λ_c the expected arrivals of channel c over the horizon and f_s the proficiency factor of the
fastest pool serving s. Work entering a step with bots or a vendor is split first: a share
``level`` to the bots' variant step, a fixed ``share`` of the rest to the vendor's (the bots' own
exceptions coming back skip the bots). Capacity is staffed agent-seconds × concurrency k /
(1 + slowdown·(k − 1)) (a chat agent's rate when holding k chats); an ``unlimited`` pool has
infinite capacity and its work is left out of the ratio. A vendor taking a step's overflow adds its
capacity to that step's. The ratio of all offered work to all
staffed time is the **load ratio** ρ; ρ ≥ 1 means arrivals exceed capacity (without abandonment the
queue grows without bound). A step whose work exceeds the staffed time of every pool able to serve
it is reported too. Abandonment is ignored here: it sheds load, so ρ is an upper bound.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from servsim.engine.plan import Plan


@dataclass(frozen=True)
class Load:
    ratio: float
    work_s: float
    capacity_s: float
    step_ratio: dict[str, float]

    @property
    def unstable(self) -> bool:
        return self.ratio >= 1.0 or any(r >= 1.0 for r in self.step_ratio.values())

    def describe(self) -> str:
        if not self.unstable:
            return f"stable: offered load is {self.ratio:.0%} of staffed capacity"
        worst = max(self.step_ratio, key=self.step_ratio.__getitem__) if self.step_ratio else ""
        extra = f" (step {worst!r}: {self.step_ratio[worst]:.2f}×)" if worst else ""
        return (f"UNSTABLE: offered load is {self.ratio:.2f}× staffed capacity{extra}; "
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
    """Matrix V[c, s]: expected visits to step s per contact arriving on channel c."""
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
    return E @ np.linalg.inv(np.eye(n) - P)
def expected_arrivals(plan: Plan) -> np.ndarray:
    """Expected arrivals per channel over the whole horizon."""
    out = []
    for ch in plan.channels:
        if ch.trace is not None:
            out.append(float(len(ch.trace)))
        else:
            out.append(sum((t1 - t0) * r for t0, t1, r in ch.segments))
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


def offered_load(plan: Plan) -> Load:
    """Load ratio of the plan; see the module docstring."""
    visits = expected_arrivals(plan) @ expected_visits(plan)
    cap = pool_capacity(plan)
    step_ratio: dict[str, float] = {}
    total = cap_total = 0.0
    finite_pools: set[int] = set()
    for s, st in enumerate(plan.steps):
        if not st.pools or st.handle is None or visits[s] <= 0:
            continue
        fastest = min(prof for _, prof in st.pools)
        work = visits[s] * st.handle.mean_s * fastest
        pools = [p for p, _ in st.pools]
        if st.overflow is not None and st.vendor_step >= 0:
            pools += [p for p, _ in plan.steps[st.vendor_step].pools]
        c = sum(cap[p] for p in pools)
        step_ratio[st.name] = work / c if c > 0 else (np.inf if work > 0 else 0.0)
        if np.isfinite(c):
            total += work
            finite_pools.update(pools)
    cap_total = float(sum(cap[p] for p in finite_pools))
    ratio = total / cap_total if cap_total > 0 else (np.inf if total > 0 else 0.0)
    return Load(float(ratio), float(total), cap_total, step_ratio)
