"""Individual agents: who of a pool is idle, since when, and how fast each one works.

A pool without ``agent_proficiency`` or ``agent_proficiencies`` (and not chosen among by
``longest_idle`` routing) is a headcount: its agents are interchangeable and the engine only counts
the busy ones. A pool of individuals is
a duty roster. Agent k (0-based) is on duty while the pool's on-duty headcount is above k: agents
come on in order and the last to come on is the first to go off (finishing the contact in hand).
The idle agents on duty wait in a line ordered by the time they became idle; the one at its front,
idle longest, takes the next contact.

Each agent has a handle-time factor f_k, drawn once per replication from the pool's own stream
``agents/<pool>`` (mean 1; lognormal: ln f ~ N(−σ²/2, σ²), σ² = ln(1 + cv²); gamma: shape 1/cv²,
scale cv²) or given as a list. A contact of step s served by agent k takes handle time × skill
proficiency × f_k. All factors of a pool are drawn in one call, ``n_agents`` of them, so the same
factors can be drawn again from the seed alone (:func:`agent_factors`) for the ``agents`` table.
"""

from __future__ import annotations

import math
from collections import deque

from servsim.engine.plan import Plan, PoolPlan
from servsim.random import Seed, Streams


def proficiency_factors(pool: PoolPlan, streams: Streams) -> list[float]:
    """The handle-time factors of a pool of individuals, agent 0 first (``pool.n_agents`` of them)."""
    n = pool.n_agents
    if pool.factor_list:
        given = pool.factor_list
        return [given[k % len(given)] for k in range(n)]
    cv = pool.factor_cv
    if not pool.factor_dist or cv == 0 or n == 0:
        return [1.0] * n
    gen = streams.generator(f"agents/{pool.name}")
    if pool.factor_dist == "gamma":
        return gen.gamma(1.0 / (cv * cv), cv * cv, n).tolist()
    s2 = math.log1p(cv * cv)
    return gen.lognormal(-s2 / 2.0, math.sqrt(s2), n).tolist()


def agent_factors(plan: Plan, seed: Seed | Streams) -> list[list[float] | None]:
    """Per pool: the factors of its individual agents in the replication of ``seed`` (None for a
    headcount pool). The engine draws exactly these."""
    streams = seed if isinstance(seed, Streams) else Streams(seed)
    return [proficiency_factors(pl, streams) if pl.individual else None for pl in plan.pools]


class Agents:
    """The roster of one pool of individuals during a run.

    ``factor[k]``: agent k's handle-time factor; ``working[k]``: agent k holds a contact (on duty or
    finishing after going off); ``idle``: the idle agents on duty, longest idle first; ``since[k]``:
    when agent k became idle (or came on duty); ``serving``: visit in service -> its agent (kept
    here, not on the contact, so that headcount pools' contacts carry nothing more)."""

    __slots__ = ("factor", "working", "idle", "since", "serving")

    def __init__(self, factor: list[float]) -> None:
        self.factor = factor
        self.working = [False] * len(factor)
        self.idle: deque[int] = deque()
        self.since = [0.0] * len(factor)
        self.serving: dict[int, int] = {}

    def idle_since(self) -> float:
        """When the pool's longest-idle agent on duty became idle (∞ when none is idle)."""
        return self.since[self.idle[0]] if self.idle else math.inf

