"""Statistical acceptance tests: the engine against steady-state queueing theory.

Method (the same in every test)
-------------------------------
* Fixed seeds, so every run is reproducible.
* Each replication is one long run (several 24-hour days, open "00:00"-"24:00" so arrivals and
  staffing never pause) after a warm-up; its KPI is one batch-free estimate, and replications use
  independent random streams, so the replication means are i.i.d.
* The tolerance is the run's own confidence interval across replications: we assert
  ``|mean - theory| <= half_width`` of a Student-t interval at level 0.99. The 99% level (rather than
  the usual 95%) keeps the false-failure rate of this fixed-seed suite low, given it makes about
  thirty such comparisons; tolerances are never widened beyond that to make a test pass.
* Warm-up: the engine starts empty. The empty-start bias decays like exp(-t / T_relax); for M/M/c
  T_relax ~ 1 / (c mu (1 - sqrt(rho))^2) (Morse; Abate & Whitt). Each warm-up below is >= ~5
  relaxation times (the reasoning is written next to each scenario), leaving a bias well below the
  confidence half-widths. Utilisation is kept moderate (rho ~ 0.7-0.9) so that runs stay short.
* End-of-horizon censoring: contacts still waiting when the horizon ends are left out of the wait
  statistics (servsim.metrics), which biases waits slightly downwards; with runs of several days
  (tens of thousands of contacts per replication) only a handful of contacts are affected, which
  is negligible against the half-widths.
* Little's law is checked on every replication of every run (shared helper :func:`run`).

Times inside servsim are seconds; the theory functions take any consistent unit, and we always pass
rates per second.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import servsim
from conftest import scenario
from servsim import theory
from servsim.stats import t_interval

LEVEL = 0.99  # 99% t-intervals: low false-failure rate at fixed seeds (see module docstring)
REPS = 20  # replications per run (t_{0.995, 19} = 2.86)
WORKERS = max(1, min(2, os.cpu_count() or 1))  # same numbers whatever the number of workers
LITTLE_MAX_GAP = 0.01
MIN = 60.0  # seconds per minute


# --------------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------------


def horizon(days: int, warmup: str) -> str:
    """Steady-state horizon: whole days open round the clock, reported once a day."""
    return f'{{start: "00:00", end: "24:00", days: {days}, interval: 24h, warmup: {warmup}}}'


def assert_littles_law(res: servsim.Replications) -> None:
    """Little's law L = lambda W on every replication (window = warm-up end .. horizon end).

    The gap is a pure boundary effect (contacts already present at the end of the warm-up), so with
    windows of a day or more it must be small on *every* replication, not just on average.
    """
    assert not res.stopped, res.stopped
    overall = rows(res)
    assert len(overall) == len(res.runs)
    gaps = overall["littles_gap"].to_numpy(dtype=float)
    assert np.all(np.isfinite(gaps)), gaps
    assert np.all(gaps < LITTLE_MAX_GAP), f"Little's law gap per replication: {np.round(gaps, 5)}"


def run(s: servsim.Scenario, seed: int, replications: int = REPS) -> servsim.Replications:
    """Replicate ``s`` and check Little's law on every replication (used by every test)."""
    res = servsim.replicate(s, replications=replications, seed=seed, workers=WORKERS)
    assert_littles_law(res)
    return res


def rows(res: servsim.Replications, segment: str = "all") -> pd.DataFrame:
    """One summary row per replication: overall (segment 'all') or one segment, all channels."""
    sm = res.summary
    out = sm[(sm["channel"] == "all") & (sm["segment"] == segment)]
    assert len(out) == len(res.runs), f"expected one row per replication for segment {segment!r}"
    return out


def check_all(checks: list[tuple[str, np.ndarray | pd.Series, float]]) -> None:
    """Compare each (label, per-replication values, theory) with the 99% t-interval of the values.

    Every comparison is printed (``pytest -s``) before any is asserted, so a failure shows them all.
    """
    failures = []
    for label, values, expected in checks:
        ci = t_interval(np.asarray(values, dtype=float), LEVEL)
        assert ci.n >= 2 and math.isfinite(ci.half_width), f"{label}: no confidence interval ({ci})"
        ok = abs(ci.mean - expected) <= ci.half_width
        line = (f"{label}: sim {ci.mean:.5g} ± {ci.half_width:.3g} (99%, n={ci.n}) vs theory "
                f"{expected:.5g}; |diff|/hw = {abs(ci.mean - expected) / ci.half_width:.2f}")
        print(line)
        if not ok:
            failures.append(line)
    assert not failures, "outside the 99% confidence interval:\n" + "\n".join(failures)


def single_queue(lam_per_min: float, agents: int, handle: str, days: int, warmup: str,
                 patience: str | None = None, threshold: str = "20s") -> servsim.Scenario:
    """One channel, one step, one pool: the textbook single queue."""
    patience_line = f"patience: {patience}" if patience else ""
    return scenario(f"""
        name: single queue
        horizon: {horizon(days, warmup)}
        channels:
          calls:
            arrivals: {{rate: {lam_per_min}/min}}
            entry: answer
            {patience_line}
        pools:
          agents: {{agents: {agents}, skills: {{answer: 1.0}}}}
        steps:
          answer: {{handle_time: {handle}}}
        targets:
          service_level: {{threshold: {threshold}, goal: 0.8}}
    """)


# --------------------------------------------------------------------------------------------------
# 1. M/M/c against Erlang C
# --------------------------------------------------------------------------------------------------

# (lambda per min, mean handle in min, c, days, warm-up, seed). Relaxation times
# 1 / (c mu (1 - sqrt(rho))^2):
#   M/M/2,  rho 0.8: 1 / (2/min * 0.01115)  = 45 min -> warm-up 5 h (6.7 T_relax)
#   M/M/10, rho 0.9: 1 / (10/min * 0.00263) = 38 min -> warm-up 4 h (6.3 T_relax)
#   M/M/60, rho 0.9: 1 / (20/min * 0.00263) = 19 min -> warm-up 2 h (6.3 T_relax)
MMC_CASES = [
    pytest.param(1.6, 1.0, 2, 10, "5h", 101, id="M/M/2-rho0.8"),
    pytest.param(9.0, 1.0, 10, 5, "4h", 102, id="M/M/10-rho0.9"),
    pytest.param(18.0, 3.0, 60, 5, "2h", 103, id="M/M/60-rho0.9"),
]


@pytest.mark.parametrize(("lam_per_min", "handle_min", "c", "days", "warmup", "seed"), MMC_CASES)
def test_mmc_matches_erlang_c(lam_per_min, handle_min, c, days, warmup, seed):
    s = single_queue(lam_per_min, c, f"{{dist: exponential, mean: {handle_min}min}}", days, warmup)
    res = run(s, seed)
    lam, mu = lam_per_min / MIN, 1.0 / (handle_min * MIN)
    r = rows(res)
    assert (r["abandoned"] == 0).all()
    check_all([
        ("P(wait)", r["p_wait"], theory.erlang_c(c, lam / mu)),
        # no abandonment: ASA = mean wait of all customers = Wq
        ("ASA [s]", r["asa_s"], theory.erlang_c_asa(lam, mu, c)),
        ("service level 20 s", r["service_level"], theory.erlang_c_service_level(lam, mu, c, 20.0)),
        # time-average queue length: Lq = lambda Wq (Little's law on the queue)
        ("mean number waiting", r["mean_queue"], lam * theory.erlang_c_asa(lam, mu, c)),
    ])


# --------------------------------------------------------------------------------------------------
# 2. M/M/c+M against Erlang A
# --------------------------------------------------------------------------------------------------

# (lambda per min, mean handle in min, c, mean patience in min, days, warm-up, seed).
#   Overloaded (rho = 1.0): stable only thanks to abandonment. The queue relaxes at the patience
#   rate theta (fluid model q' = lambda - c mu - theta q) and the servers at rate mu: time constants
#   of 2 min and 1 min, so a 1 h warm-up is > 25 of them.
#   Moderate (rho = 0.9): abandonment only speeds up relaxation, so the M/M/20 bound
#   1 / (20/min * 0.00263) = 19 min applies -> warm-up 2 h.
ERLANG_A_CASES = [
    pytest.param(10.0, 1.0, 10, 2.0, 2, "1h", 201, id="M/M/10+M-rho1.0"),
    pytest.param(18.0, 1.0, 20, 3.0, 1, "2h", 202, id="M/M/20+M-rho0.9"),
]


@pytest.mark.parametrize(("lam_per_min", "handle_min", "c", "patience_min", "days", "warmup", "seed"),
                         ERLANG_A_CASES)
def test_mmc_with_exponential_patience_matches_erlang_a(lam_per_min, handle_min, c, patience_min, days,
                                                        warmup, seed):
    s = single_queue(lam_per_min, c, f"{{dist: exponential, mean: {handle_min}min}}", days, warmup,
                     patience=f"{{dist: exponential, mean: {patience_min}min}}")
    res = run(s, seed)
    ea = theory.erlang_a(lam_per_min / MIN, 1.0 / (handle_min * MIN), c, 1.0 / (patience_min * MIN))
    r = rows(res)
    check_all([
        ("P(abandon)", r["abandon_rate"], ea.p_abandon),
        ("ASA of served [s]", r["asa_s"], ea.asa),
        ("P(wait)", r["p_wait"], ea.p_wait),
        # mean_wait_s covers answered and abandoned contacts = E[W] over all arrivals
        ("mean wait, all [s]", r["mean_wait_s"], ea.mean_wait),
        # delayed customers who abandoned: P(Ab | W > 0) = P(Ab) / P(W > 0)
        ("P(abandon | wait > 0)", r["abandon_rate_waited"], ea.p_abandon / ea.p_wait),
        # Lq = lambda E[W] over all arrivals (abandoners wait too)
        ("mean number waiting", r["mean_queue"], lam_per_min / MIN * ea.mean_wait),
    ])


# --------------------------------------------------------------------------------------------------
# 3. M/D/1 and M/G/1 against Pollaczek-Khinchine
# --------------------------------------------------------------------------------------------------

# (handle spec, mean handle s, scv, rho, days, warm-up, seed). In heavy traffic the M/G/1 relaxation
# time is about (1 + scv)/2 times the M/M/1 one, 1 / (mu (1 - sqrt(rho))^2):
#   M/D/1,  rho 0.8, E[S] = 20 s: M/M/1 value 20 s / 0.01115 = 30 min, halved -> 15 min; warm-up 2 h.
#   M/G/1 lognormal cv 1.5 (scv 2.25), rho 0.7, E[S] = 20 s: 20 s / 0.0267 = 12.5 min x 1.6 = 20 min;
#   warm-up 2 h (6 T_relax). The lognormal with cv 1.5 is heavy-tailed (E[S^4] = 1178 E[S]^4) and the
#   variance of the mean wait grows with E[S^3] and E[S^4], so that run is longer (16 days per
#   replication) to keep its interval reasonably tight; it is still judged by its own interval.
MG1_CASES = [
    pytest.param("{dist: deterministic, value: 20s}", 20.0, 0.0, 0.8, 8, "2h", 301, id="M/D/1-rho0.8"),
    pytest.param("{dist: lognormal, mean: 20s, cv: 1.5}", 20.0, 1.5**2, 0.7, 16, "2h", 302,
                 id="M/G/1-lognormal-cv1.5-rho0.7"),
]


@pytest.mark.parametrize(("handle", "mean_s", "scv", "rho", "days", "warmup", "seed"), MG1_CASES)
def test_mg1_matches_pollaczek_khinchine(handle, mean_s, scv, rho, days, warmup, seed):
    lam = rho / mean_s
    s = single_queue(round(lam * MIN, 9), 1, handle, days, warmup)
    res = run(s, seed)
    r = rows(res)
    checks = [("mean wait [s]", r["asa_s"], theory.mg1_mean_wait(lam, mean_s, scv))]
    if scv > 0:
        # the service distribution itself: mean handle of completed visits
        checks.append(("mean handle [s]", r["mean_handle_s"], mean_s))
    else:
        assert np.allclose(r["mean_handle_s"], mean_s)  # deterministic: exact, no interval needed
    check_all(checks)


# --------------------------------------------------------------------------------------------------
# 4. Two non-preemptive priority classes against Cobham
# --------------------------------------------------------------------------------------------------


def test_two_priority_classes_match_cobham():
    # M/M/4, lambda = 3.4/min, mu = 1/min: rho = 0.85; 30% high priority, 70% low.
    # The number in system is that of the FCFS M/M/4 (work-conserving, equal service rates), so the
    # relaxation time is 1 / (4/min * (1 - sqrt(0.85))^2) = 41 min -> warm-up 4 h (5.9 T_relax).
    lam_per_min, c, shares = 3.4, 4, (0.3, 0.7)
    s = scenario(f"""
        name: two priority classes
        horizon: {horizon(8, "4h")}
        segments:
          high: {{share: {shares[0]}, priority: 1}}
          low: {{share: {shares[1]}, priority: 0}}
        channels:
          calls: {{arrivals: {{rate: {lam_per_min}/min}}, entry: answer}}
        pools:
          agents: {{agents: {c}, skills: {{answer: 1.0}}}}
        steps:
          answer: {{handle_time: {{dist: exponential, mean: 1min}}}}
    """)
    res = run(s, seed=401)
    lam, mu = lam_per_min / MIN, 1.0 / MIN
    w_high, w_low = theory.priority_mmc_mean_waits([shares[0] * lam, shares[1] * lam], mu, c)
    check_all([
        ("high priority mean wait [s]", rows(res, "high")["mean_wait_s"], w_high),
        ("low priority mean wait [s]", rows(res, "low")["mean_wait_s"], w_low),
        # conservation law: the mix of the two equals the FCFS M/M/c wait
        ("overall mean wait [s]", rows(res)["mean_wait_s"], theory.erlang_c_asa(lam, mu, c)),
    ])


# --------------------------------------------------------------------------------------------------
# 5. Tandem of two M/M/c stations against Jackson
# --------------------------------------------------------------------------------------------------


def test_tandem_of_two_mmc_stations_matches_jackson():
    # lambda = 2.4/min; station 1: 3 agents, E[S] = 1 min (rho 0.8); station 2: 2 agents, E[S] = 40 s
    # (rho 0.8). Relaxation time of each: 1 / (c mu (1 - sqrt(0.8))^2) = 1 / (3/min * 0.01115) = 30 min;
    # station 2 follows station 1, so warm up 4 h (8 T_relax of either).
    lam_per_min = 2.4
    stations = {"first": (1.0 / MIN, 3), "second": (1.0 / 40.0, 2)}
    s = scenario(f"""
        name: tandem
        horizon: {horizon(8, "4h")}
        channels:
          calls: {{arrivals: {{rate: {lam_per_min}/min}}, entry: first}}
        pools:
          desk1: {{agents: 3, skills: {{first: 1.0}}}}
          desk2: {{agents: 2, skills: {{second: 1.0}}}}
        steps:
          first: {{handle_time: {{dist: exponential, mean: 1min}}, next: second}}
          second: {{handle_time: {{dist: exponential, mean: 40s}}}}
    """)
    res = run(s, seed=501)
    lam = lam_per_min / MIN
    # per-station waits: visits of contacts that arrived after the warm-up and whose service started
    contacts = res.contacts[["replication", "contact", "warmup"]]
    visits = res.visits.merge(contacts, on=["replication", "contact"], validate="many_to_one")
    visits = visits[~visits["warmup"] & visits["start_s"].notna()]
    per_station = visits.groupby(["replication", "step"], observed=True)["wait_s"].mean().unstack()
    assert len(per_station) == REPS
    check_all([
        ("mean sojourn [s]", rows(res)["mean_lead_time_s"],
         theory.jackson_tandem_mean_sojourn(lam, list(stations.values()))),
        *[(f"wait at {step} [s]", per_station[step], theory.erlang_c_asa(lam, mu, c))
          for step, (mu, c) in stations.items()],
    ])


# --------------------------------------------------------------------------------------------------
# 7. Routing probabilities
# --------------------------------------------------------------------------------------------------


def test_routing_probabilities_are_honoured():
    # Light load (rho ~ 0.5) so the run is cheap; every served 'triage' visit makes one routing draw.
    s = scenario(f"""
        name: routing
        horizon: {horizon(1, "1h")}
        channels:
          calls: {{arrivals: {{rate: 6/min}}, entry: triage}}
        pools:
          staff: {{agents: 10, skills: {{triage: 1.0, a: 1.0}}}}
        steps:
          triage: {{handle_time: {{dist: exponential, mean: 30s}}, next: {{a: 0.3, exit: 0.7}}}}
          a: {{handle_time: {{dist: exponential, mean: 1min}}}}
    """)
    res = run(s, seed=701, replications=3)
    v = res.visits
    draws = int(((v["step"] == "triage") & (v["outcome"] == "served")).sum())
    to_a = int((v["step"] == "a").sum())
    ci = stats.binomtest(to_a, draws, 0.3).proportion_ci(confidence_level=LEVEL)  # Clopper-Pearson
    print(f"share routed to a: {to_a / draws:.4f} of {draws}, 99% CI [{ci.low:.4f}, {ci.high:.4f}] vs 0.3")
    assert ci.low <= 0.3 <= ci.high
    # the other branch exits right after triage: one visit, handled
    c = res.contacts
    assert int(((c["visits"] == 1) & (c["outcome"] == "handled")).sum()) == draws - to_a


# --------------------------------------------------------------------------------------------------
# 8. Wrap-up and preemptive priority
# --------------------------------------------------------------------------------------------------

def test_occupancy_includes_wrap_up():
    """M/M/10 with exponential wrap-up w after each call: an agent is busy S + w per call, so
    occupancy = λ (E[S] + w) / c (the utilisation of any stable multi-server queue), and the mean
    wrap-up is w. ρ = 9/min × 60 s / 10 = 0.9; warm-up 4 h as for M/M/10 at ρ 0.9 (> 6 T_relax)."""
    lam_per_min, handle_s, wrap_s, c = 9.0, 48.0, 12.0, 10
    s = scenario(f"""
        name: M/M/10 with wrap-up
        horizon: {horizon(3, "4h")}
        channels:
          calls: {{arrivals: {{rate: {lam_per_min}/min}}, entry: answer}}
        pools:
          agents: {{agents: {c}, skills: {{answer: 1.0}}}}
        steps:
          answer:
            handle_time: {{dist: exponential, mean: {handle_s}s}}
            wrap_up: {{dist: exponential, mean: {wrap_s}s}}
    """)
    res = run(s, 301)
    occupancy = res.pool_summary["occupancy"].to_numpy(float)
    lam = lam_per_min / MIN
    check_all([
        ("occupancy with wrap-up", occupancy, theory.offered_load(lam, handle_s + wrap_s) / c),
        ("mean wrap-up [s]", rows(res)["mean_wrap_s"], wrap_s),
        ("mean handle [s]", rows(res)["mean_handle_s"], handle_s),
    ])


def test_preempted_back_office_work_leaves_calls_an_mmc_queue():
    """Blended agents: calls (M/M/8, ρ 0.75) preempt interruptible email replies (resume), and a
    freed agent takes calls first (skill priority). Under preemptive priority the calls see only
    their own load, so their waits are those of M/M/8 for calls alone, whatever the emails' load
    (1 more erlang here, which without preemption would hold agents the calls need).
    The calls' M/M/8 at ρ 0.75 relaxes in 1 / (8/min × 0.018) ≈ 7 min; the total load
    7 / 8 relaxes the email backlog more slowly, about 1 / (8/min × (1 − √0.875)²) ≈ 30 min by the
    same rule: the 4 h warm-up is 8 of those, for the occupancy over all the work."""
    lam_calls, mean_call, c = 6.0, 60.0, 8
    s = scenario(f"""
        name: blended M/M/8
        horizon: {horizon(4, "4h")}
        channels:
          calls: {{arrivals: {{rate: {lam_calls}/min}}, entry: answer}}
          emails: {{kind: email, arrivals: {{rate: 0.5/min}}, entry: reply}}
        pools:
          agents: {{agents: {c}, skills: {{answer: {{priority: 1}}, reply: {{interruptible: resume}}}}}}
        steps:
          answer: {{handle_time: {{dist: exponential, mean: {mean_call}s}}}}
          reply: {{stage: back, handle_time: {{dist: exponential, mean: 2min}}}}
    """)
    res = run(s, 302)
    sm = res.summary
    calls = sm[(sm["channel"] == "calls") & (sm["segment"] == "all")]
    emails = sm[(sm["channel"] == "emails") & (sm["segment"] == "all")]
    assert len(calls) == REPS and (emails["preempted"] > 0).all()
    lam, mu = lam_calls / MIN, 1.0 / mean_call
    check_all([
        ("calls P(wait)", calls["p_wait"], theory.erlang_c(c, lam / mu)),
        ("calls ASA [s]", calls["asa_s"], theory.erlang_c_asa(lam, mu, c)),
        ("calls service level 20 s", calls["service_level"], theory.erlang_c_service_level(lam, mu, c, 20.0)),
        # resume loses no work and does none twice: the agents' occupancy is the whole offered load
        ("occupancy", res.pool_summary["occupancy"], theory.offered_load(lam, mean_call) / c
         + theory.offered_load(0.5 / MIN, 2 * MIN) / c),
    ])


# --------------------------------------------------------------------------------------------------
# 9. Callbacks and a patience atom at zero
# --------------------------------------------------------------------------------------------------

# M/M/10+M as in section 2 (lambda 10/min, mu 1/min, patience 2 min, rho = 1.0): a 1 h warm-up is
# > 25 relaxation times of its queue and servers.


def test_callbacks_offered_to_everyone_who_waits_make_the_queue_an_mmc():
    # Every caller who must wait takes a callback at once (wait_over 0 s, accept 1) and keeps their
    # place: nobody abandons, service order and times are those of M/M/10 without patience, and
    # the callback wait is the Erlang C wait of those who wait, W | W > 0 ~ Exp(c mu - lambda).
    # Relaxation of M/M/10 at rho 0.9: 38 min (section 1) -> warm-up 4 h.
    s = single_queue(9.0, 10, "{dist: exponential, mean: 1min}", 5, "4h",
                     patience="{dist: exponential, mean: 2min}\n            "
                              "callback: {offer_when: {wait_over: 0s}, accept: 1.0}")
    res = run(s, seed=801)
    lam, mu, c = 9.0 / MIN, 1.0 / MIN, 10
    r = rows(res)
    assert (r["abandoned"] == 0).all()
    check_all([
        ("share offered a callback", r["callbacks_offered"] / r["offered"], theory.erlang_c(c, lam / mu)),
        ("callback wait [s]", r["callback_wait_s"], 1.0 / (c * mu - lam)),
    ])


def test_callbacks_reduce_abandonment():
    # The same M/M/10+M with and without callbacks after 30 s on hold (60% accept), common random
    # numbers: the paired difference of abandonment rates is negative, its 99% interval below 0.
    pat = "{dist: exponential, mean: 2min}"
    base = single_queue(10.0, 10, "{dist: exponential, mean: 1min}", 1, "1h", patience=pat)
    cb = single_queue(10.0, 10, "{dist: exponential, mean: 1min}", 1, "1h",
                      patience=pat + "\n            callback: {offer_when: {wait_over: 30s}, accept: 0.6}")
    a, b = rows(run(base, seed=802)), rows(run(cb, seed=802))
    diff = b["abandon_rate"].to_numpy() - a["abandon_rate"].to_numpy()
    ci = t_interval(diff, LEVEL)
    print(f"abandonment {a['abandon_rate'].mean():.4f} -> {b['abandon_rate'].mean():.4f}; paired difference "
          f"{ci.mean:.4f} ± {ci.half_width:.4f} (99%)")
    assert ci.mean + ci.half_width < 0
    assert (b["callbacks_accepted"] > 0).all()


def test_patience_with_an_atom_at_zero_matches_the_birth_death_chain():
    # 20% of callers who find every agent busy hang up at once; the rest wait Exp(2 min).
    s = single_queue(10.0, 10, "{dist: exponential, mean: 1min}", 1, "1h",
                     patience="{dist: exponential, mean: 2min, zero: 0.2}")
    res = run(s, seed=803)
    r = rows(res)
    check_all([("P(abandon)", r["abandon_rate"],
                theory.erlang_a_zero_atom_abandonment(10.0 / MIN, 1.0 / MIN, 10, 1.0 / (2 * MIN), 0.2))])
    # direct count: among contacts that had to queue, the share hanging up at a wait of exactly 0
    c = res.contacts
    c = c[~c["warmup"]]
    queued = (c["wait_s"] > 0) | (c["outcome"] == "abandoned")
    at_once = (c["outcome"] == "abandoned") & (c["wait_s"] == 0)
    share = (at_once & queued).groupby(c["replication"]).sum() / queued.groupby(c["replication"]).sum()
    check_all([("share of queued callers hanging up at once", share, 0.2)])
