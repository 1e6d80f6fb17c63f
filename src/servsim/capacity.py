"""Offered load against staffed capacity: is the scenario stable at all?

For each step s, the expected number of visits per arriving contact of channel c solves the traffic
equations  v = e_c + v·P  (P: routing probabilities between steps; e_c: 1 at the channel's entry),
i.e. v = e_c (I − P)⁻¹. The offered work of step s over the horizon is

    W_s = Σ_c Λ_c · v_{c,s} · E[handle_s] · f_s        (agent-seconds)

with Λ_c the expected arrivals of channel c over the horizon and f_s the proficiency factor of the
fastest pool serving s. Capacity is staffed agent-seconds. The ratio of all offered work to all
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


def expected_visits(plan: Plan) -> np.ndarray:
    """Matrix V[c, s]: expected visits to step s per contact arriving on channel c."""
    n = len(plan.steps)
    P = np.zeros((n, n))
    for s, st in enumerate(plan.steps):
        prev = 0.0
        for cum, to in zip(st.route_cum, st.route_to):
            if to >= 0:
                P[s, to] += cum - prev
            prev = cum
    E = np.zeros((len(plan.channels), n))
    for c, ch in enumerate(plan.channels):
        E[c, ch.entry] = 1.0
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


def offered_load(plan: Plan) -> Load:
    """Load ratio of the plan; see the module docstring."""
    visits = expected_arrivals(plan) @ expected_visits(plan)
    cap = staffed_seconds(plan)
    step_ratio: dict[str, float] = {}
    total = 0.0
    for s, st in enumerate(plan.steps):
        fastest = min(prof for _, prof in st.pools)
        work = visits[s] * st.handle.mean_s * fastest
        total += work
        c = sum(cap[p] for p, _ in st.pools)
        step_ratio[st.name] = work / c if c > 0 else (np.inf if work > 0 else 0.0)
    cap_total = float(cap.sum())
    ratio = total / cap_total if cap_total > 0 else (np.inf if total > 0 else 0.0)
    return Load(float(ratio), float(total), cap_total, step_ratio)
