"""The theory beside each cell of a lesson: which textbook formula fits, and what it predicts.

:func:`servsim.report.theory_view.predictions` gives the steady-state answer of the three textbook
queues (Erlang C, Erlang A, Pollaczek–Khinchine); a lesson also shows the formulas a trainer
reaches for next, each only where its assumptions hold for the cell's scenario:

* **Erlang C, ignoring abandonment** beside Erlang A — what a planner who leaves patience out
  would predict (infinite waits when the agents are too few);
* **Allen–Cunneen** for M/G/c: Erlang C's wait times (1 + cs²)/2, an approximation;
* **Cobham** for non-preemptive priorities in M/M/c: each segment's mean wait;
* **SIPP** (stationary independent period by period) for a per-interval arrival rate and
  headcount: Erlang C in every interval after the warm-up as if it were in steady state, weighted
  by the interval's arrivals — the method whose lag the time-varying lesson shows.

Every model is a name and a mapping of KPI card keys (:attr:`servsim.teach.lesson.Kpi.key`) to
values in the registry's units; ``inf`` marks an overloaded queue (no steady state).
"""

from __future__ import annotations

import math

from servsim import theory
from servsim.report.theory_view import predictions
from servsim.scenario import Scenario
from servsim.scenario.distributions import Exponential

Model = tuple[str, dict[str, float]]


def _one_queue(s: Scenario):  # noqa: ANN202 - (channel, step, pool) or None
    if len(s.channels) != 1 or len(s.steps) != 1 or len(s.pools) != 1:
        return None
    (ch,) = s.channels.values()
    (step,) = s.steps.values()
    (name, pool), = s.pools.items()
    if step.routing() != {"exit": 1.0} or step.automation or step.outsource or pool.shifts or pool.concurrency != 1:
        return None
    if step.wrap_up is not None:  # agents busy longer than the customer's service: not these models
        return None
    if ch.arrivals.day_factors or ch.retrial or ch.balking or ch.repeats:
        return None
    return ch, step, name, pool


def models(s: Scenario) -> list[Model]:
    """The models that apply to ``s`` (module docstring), the closest first; [] when none does."""
    q = _one_queue(s)
    if q is None:
        return []
    ch, step, pool_name, pool = q
    mean = step.handle_time.mean_s * pool.skill(next(iter(pool.skills))).proficiency
    mu = 1.0 / mean
    thr = s.targets.service_level.threshold
    occ = f"occupancy.pool.{pool_name}"
    out: list[Model] = []
    sipp = _sipp(s, ch, step, pool, mu, thr, occ)
    if sipp is not None:
        return [sipp]
    if ch.arrivals.rate is None or pool.agents is None or pool.schedule:
        return []
    lam, c = ch.arrivals.rate, int(pool.agents)
    priorities = {seg.priority for seg in s.segments.values()}
    patience = ch.patience
    if any(seg.patience for seg in s.segments.values()):
        return []
    base = predictions(s)
    if len(priorities) > 1:
        if isinstance(step.handle_time, Exponential) and patience is None:
            out.append(_cobham(s, lam, mu, c, thr, occ))
        return out
    if base is not None:
        name, values = base
        values = dict(values)
        if name.startswith("M/M/c+M"):
            a = theory.erlang_a(lam, mu, c, 1 / patience.mean)
            values[occ] = lam * (1 - a.p_abandon) / (c * mu)
        else:
            values[occ] = min(1.0, lam / (c * mu))
        out.append((name, values))
        if name.startswith("M/M/c+M"):
            ignoring = _erlang_c(lam, mu, c, thr, occ)
            del ignoring["abandon_rate"]  # nobody abandons in Erlang C: a 0% line says nothing
            out.append(("Erlang C, ignoring abandonment", ignoring))
        return out
    if patience is None and not isinstance(step.handle_time, Exponential):
        scv = step.handle_time.scv
        w = theory.mgc_mean_wait_approx(lam, mean, c, scv)
        out.append(("M/G/c (Allen–Cunneen approximation)",
                    {"asa_s": w, "mean_wait_s": w, occ: min(1.0, lam / (c * mu)), "abandon_rate": 0.0}))
        out.append(("Erlang C, exponential handle time", _erlang_c(lam, mu, c, thr, occ)))
    return out


def _erlang_c(lam: float, mu: float, c: int, thr: float, occ: str) -> dict[str, float]:
    over = lam >= c * mu
    return {"asa_s": math.inf if over else theory.erlang_c_asa(lam, mu, c),
            "mean_wait_s": math.inf if over else theory.erlang_c_asa(lam, mu, c),
            "p_wait": 1.0 if over else theory.erlang_c(c, lam / mu),
            "service_level": 0.0 if over else theory.erlang_c_service_level(lam, mu, c, thr),
            "abandon_rate": 0.0, occ: min(1.0, lam / (c * mu))}


def _cobham(s: Scenario, lam: float, mu: float, c: int, thr: float, occ: str) -> Model:
    """Non-preemptive priority M/M/c: each segment's mean wait (Cobham), highest priority first."""
    order = sorted(s.segments.items(), key=lambda kv: -kv[1].priority)
    shares = [seg.share for _, seg in order]
    total = sum(shares) or 1.0
    waits = theory.priority_mmc_mean_waits([lam * x / total for x in shares], mu, c)
    values = _erlang_c(lam, mu, c, thr, occ)
    for (name, _), w in zip(order, waits):
        values[f"asa_s.segment.{name}"] = w
        values[f"mean_wait_s.segment.{name}"] = w
    return "M/M/c with priorities (Cobham)", values


def _sipp(s: Scenario, ch, step, pool, mu: float, thr: float, occ: str) -> Model | None:  # noqa: ANN001
    rates = ch.arrivals.rates
    schedule = pool.schedule
    if rates is None or schedule is None or pool.agents or not isinstance(step.handle_time, Exponential):
        return None
    if ch.patience is not None or any(seg.patience for seg in s.segments.values()):
        return None
    h = s.horizon
    n = int(round((h.end - h.start) / h.interval))
    if len(rates) != n or len(schedule) != n:
        return None
    first = int(math.ceil(h.warmup / h.interval - 1e-9))
    weight = sl = asa = busy = staffed = 0.0
    for lam, c in list(zip(rates, schedule))[first:]:
        if lam <= 0:
            continue
        if c == 0 or lam >= c * mu:
            return "SIPP (Erlang C per interval)", {"service_level": 0.0, "asa_s": math.inf, occ: 1.0}
        weight += lam
        sl += lam * theory.erlang_c_service_level(lam, mu, c, thr)
        asa += lam * theory.erlang_c_asa(lam, mu, c)
        busy += lam / mu
        staffed += c
    if weight == 0:
        return None
    return "SIPP (Erlang C per interval)", {"service_level": sl / weight, "asa_s": asa / weight,
                                            "mean_wait_s": asa / weight, occ: busy / staffed}
