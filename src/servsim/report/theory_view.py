"""Queueing theory beside simulated results, where theory has an answer.

A scenario gets a steady-state prediction when it is one of the textbook queues: one channel with
a constant Poisson rate, one step, one pool with a constant headcount, one priority level, and

* exponential handle time, no patience            -> M/M/c, Erlang C;
* exponential handle time, exponential patience   -> M/M/c+M, Erlang A;
* any handle time, one agent, no patience          -> M/G/1, Pollaczek–Khinchine (mean wait only).

Simulated runs start empty and end at the horizon, so agreement is expected only when the horizon
is long against the queue's relaxation time and the warm-up removes the empty start.
"""

from __future__ import annotations

from servsim import theory
from servsim.scenario import Scenario
from servsim.scenario.distributions import Exponential


def predictions(s: Scenario) -> tuple[str, dict[str, float]] | None:
    """(model name, {KPI column: steady-state value}) or None when no formula applies."""
    if len(s.channels) != 1 or len(s.steps) != 1 or len(s.pools) != 1:
        return None
    (ch,) = s.channels.values()
    (step,) = s.steps.values()
    (pool,) = s.pools.values()
    if ch.arrivals.rate is None or ch.arrivals.day_factors or pool.agents is None or pool.schedule or pool.shifts:
        return None
    if pool.unlimited or ch.lines is not None or step.queue_capacity is not None:
        return None  # finite capacity and infinite servers are not the Erlang C / A model shown here
    if len({seg.priority for seg in s.segments.values()}) != 1 or any(seg.patience for seg in s.segments.values()):
        return None
    if step.routing() != {"exit": 1.0} or step.wrap_up is not None:
        # wrap-up: the customer's service is shorter than the agent's, which these models equate
        return None
    # callbacks, head starts and a patience atom at zero are outside these formulas
    if ch.callback is not None or any(seg.head_start is not None for seg in s.segments.values()):
        return None
    if getattr(ch.patience, "zero", 0.0) > 0:
        return None
    lam, c = ch.arrivals.rate, pool.agents
    mean = step.handle_time.mean_s * pool.skill(next(iter(pool.skills))).proficiency
    if c < 1 or mean <= 0 or lam <= 0:
        return None
    mu = 1 / mean
    thr = s.targets.service_level.threshold
    patience = ch.patience
    if isinstance(step.handle_time, Exponential) and patience is None:
        if lam >= c * mu:
            return None
        return "M/M/c (Erlang C)", {
            "p_wait": theory.erlang_c(c, lam / mu),
            "asa_s": theory.erlang_c_asa(lam, mu, c),
            "mean_wait_s": theory.erlang_c_asa(lam, mu, c),
            "service_level": theory.erlang_c_service_level(lam, mu, c, thr),
            "abandon_rate": 0.0,
        }
    if isinstance(step.handle_time, Exponential) and isinstance(patience, Exponential):
        a = theory.erlang_a(lam, mu, c, 1 / patience.mean)
        return "M/M/c+M (Erlang A)", {"p_wait": a.p_wait, "abandon_rate": a.p_abandon, "asa_s": a.asa,
                                       "mean_wait_s": a.mean_wait}
    if c == 1 and patience is None and lam * mean < 1:
        scv = step.handle_time.scv
        w = theory.mg1_mean_wait(lam, mean, scv)
        return "M/G/1 (Pollaczek–Khinchine)", {"asa_s": w, "mean_wait_s": w, "abandon_rate": 0.0}
    return None

