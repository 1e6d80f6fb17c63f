"""Tests for servsim.theory.

Every formula is checked against something computed a different way: published table values,
exact rational arithmetic (``fractions.Fraction`` + ``math.factorial``), scipy's Poisson
distribution, a brute-force numpy solve of a truncated Markov chain, or a textbook identity
(conservation law, Little's law, Burke's theorem).
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest
from scipy import integrate, special, stats

from servsim import theory
from servsim.theory import (
    ErlangAResult,
    erlang_a,
    erlang_a_wait_exceeds,
    erlang_b,
    erlang_c,
    erlang_c_asa,
    erlang_c_service_level,
    erlang_c_staffing,
    erlang_c_wait_quantile,
    jackson_tandem_mean_sojourn,
    littles_law_gap,
    mg1_mean_wait,
    mgc_mean_wait_approx,
    mmc_mean_wait,
    offered_load,
    priority_mg1_mean_waits,
    priority_mmc_mean_waits,
    square_root_staffing,
)

# --------------------------------------------------------------------------------------------------
# Independent reference implementations (exact arithmetic, small c only)
# --------------------------------------------------------------------------------------------------


def exact_erlang_b(c: int, a: Fraction) -> Fraction:
    """B(c, a) = (a^c / c!) / sum_{k<=c} a^k / k!, in exact rational arithmetic."""
    terms = [a**k / math.factorial(k) for k in range(c + 1)]
    return terms[-1] / sum(terms)


def exact_erlang_c(c: int, a: Fraction) -> Fraction:
    """C(c, a) = (a^c/c!) c/(c-a) / (sum_{k<c} a^k/k! + (a^c/c!) c/(c-a)), exactly."""
    top = a**c / math.factorial(c) * Fraction(c) / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


@pytest.fixture(autouse=True)
def _warnings_are_errors():
    """Overflow, divide-by-zero and quad accuracy warnings would all mean a numerical problem."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# --------------------------------------------------------------------------------------------------
# Erlang B
# --------------------------------------------------------------------------------------------------


# Values as printed (to 6 decimals) in standard Erlang B loss tables, such as those in teletraffic
# engineering handbooks; the table source is not relied on alone: each value is also re-derived in
# exact rational arithmetic (B(5, 2) = 4/109, B(1, 1) = 1/2, B(2, 1) = 1/5).
@pytest.mark.parametrize(
    ("servers", "load", "published"),
    [
        (10, 5.0, 0.018385),
        (5, 2.0, 0.036697),  # = 4/109 exactly
        (1, 1.0, 0.5),
        (2, 1.0, 0.2),
    ],
)
def test_erlang_b_published_values(servers: int, load: float, published: float) -> None:
    assert erlang_b(servers, load) == pytest.approx(published, abs=5e-7)
    assert erlang_b(servers, load) == pytest.approx(float(exact_erlang_b(servers, Fraction(load))), rel=1e-13)


@pytest.mark.parametrize("servers", [1, 2, 3, 7, 15, 40])
@pytest.mark.parametrize("load", ["0.1", "1", "2.5", "9", "33.3"])
def test_erlang_b_matches_exact_fraction(servers: int, load: str) -> None:
    exact = exact_erlang_b(servers, Fraction(load))
    assert erlang_b(servers, float(load)) == pytest.approx(float(exact), rel=1e-12)


def test_erlang_b_large_system_matches_scipy_poisson() -> None:
    # B(c, a) = P(Poisson(a) = c) / P(Poisson(a) <= c), evaluated in log space by scipy.
    for c, a in [(1000, 950.0), (5000, 4900.0), (3000, 3300.0)]:
        expected = math.exp(stats.poisson.logpmf(c, a) - stats.poisson.logcdf(c, a))
        assert erlang_b(c, a) == pytest.approx(expected, rel=1e-9)


def test_erlang_b_edge_cases() -> None:
    assert erlang_b(3, 0.0) == 0.0
    assert 0.0 <= erlang_b(5000, 10.0) < 1e-300  # underflows gracefully, no warning
    assert erlang_b(1, 1e12) == pytest.approx(1.0)


# --------------------------------------------------------------------------------------------------
# Erlang C
# --------------------------------------------------------------------------------------------------


def test_erlang_c_classic_value() -> None:
    # Commonly quoted example: 10 Erlangs offered to 11 agents -> P(wait) ~ 0.6821.
    assert erlang_c(11, 10.0) == pytest.approx(0.6821, abs=5e-5)
    assert erlang_c(11, 10.0) == pytest.approx(float(exact_erlang_c(11, Fraction(10))), rel=1e-12)


@pytest.mark.parametrize(("servers", "load"), [(1, "0.5"), (2, "1.5"), (5, "4"), (12, "7.25"), (30, "29.9")])
def test_erlang_c_matches_exact_fraction(servers: int, load: str) -> None:
    exact = exact_erlang_c(servers, Fraction(load))
    assert erlang_c(servers, float(load)) == pytest.approx(float(exact), rel=1e-11)


@pytest.mark.parametrize(("servers", "load"), [(3, 2.0), (20, 17.5), (100, 99.0), (1000, 950.0)])
def test_erlang_c_identity_with_erlang_b(servers: int, load: float) -> None:
    b = erlang_b(servers, load)
    assert erlang_c(servers, load) == pytest.approx(servers * b / (servers - load * (1 - b)), rel=1e-12)


def test_erlang_c_single_server_is_rho() -> None:
    for rho in (0.1, 0.5, 0.93):
        assert erlang_c(1, rho) == pytest.approx(rho, rel=1e-14)


@pytest.mark.parametrize(("servers", "load"), [(1000, 950.0), (5000, 4900.0), (5000, 4999.0), (5000, 100.0)])
def test_erlang_c_stable_for_many_servers(servers: int, load: float) -> None:
    value = erlang_c(servers, load)  # the fixture turns any overflow warning into an error
    assert math.isfinite(value)
    assert 0.0 <= value < 1.0
    if load > servers / 2:
        assert value > 0.0
    expected_b = math.exp(stats.poisson.logpmf(servers, load) - stats.poisson.logcdf(servers, load))
    expected = servers * expected_b / (servers - load * (1 - expected_b))
    assert value == pytest.approx(expected, rel=1e-8, abs=1e-300)


def test_erlang_c_unstable_is_one() -> None:
    assert erlang_c(10, 10.0) == 1.0
    assert erlang_c(10, 12.0) == 1.0
    assert erlang_c(4, 0.0) == 0.0


def test_erlang_c_asa_and_mm1() -> None:
    lam, mu = 0.8, 1.0
    assert erlang_c_asa(lam, mu, 1) == pytest.approx(lam / (mu * (mu - lam)), rel=1e-14)
    assert mmc_mean_wait(lam, mu, 1) == erlang_c_asa(lam, mu, 1)
    # units: rates per minute vs per second give the same wait expressed in different units
    per_min = erlang_c_asa(10.0, 1.0, 11)
    per_sec = erlang_c_asa(10.0 / 60, 1.0 / 60, 11)
    assert per_sec == pytest.approx(60 * per_min, rel=1e-12)
    assert erlang_c_asa(11.0, 1.0, 11) == math.inf


def test_erlang_c_service_level_and_quantile() -> None:
    lam, mu, c = 10.0, 1.0, 11
    prob_wait = erlang_c(c, lam / mu)
    assert erlang_c_service_level(lam, mu, c, 0.0) == pytest.approx(1 - prob_wait)
    assert erlang_c_service_level(lam, mu, c, 0.5) == pytest.approx(1 - prob_wait * math.exp(-0.5), rel=1e-14)
    assert erlang_c_service_level(lam, mu, c, math.inf) == 1.0
    assert erlang_c_service_level(12.0, 1.0, c, 5.0) == 0.0
    # the quantile inverts the service level
    for q in (0.5, 0.8, 0.95, 0.999):
        t = erlang_c_wait_quantile(lam, mu, c, q)
        assert erlang_c_service_level(lam, mu, c, t) == pytest.approx(q, rel=1e-12)
    assert erlang_c_wait_quantile(lam, mu, c, 0.2) == 0.0  # 0.2 < 1 - C
    assert erlang_c_wait_quantile(lam, mu, c, 1.0) == math.inf
    assert erlang_c_wait_quantile(12.0, mu, c, 0.5) == math.inf
    # the mean of the waiting-time distribution equals the ASA formula
    mean = integrate.quad(lambda t: 1 - erlang_c_service_level(lam, mu, c, t), 0, math.inf)[0]
    assert mean == pytest.approx(erlang_c_asa(lam, mu, c), rel=1e-8)


# --------------------------------------------------------------------------------------------------
# Erlang A
# --------------------------------------------------------------------------------------------------


def brute_force_erlang_a(lam: float, mu: float, c: int, theta: float, extra: int) -> dict[str, float]:
    """Erlang A via a numpy solve of the truncated generator matrix plus a tagged-customer recursion.

    Written independently of theory.erlang_a (which uses integrals of the offered-wait density).
    States n = 0 .. c + extra; an arrival finding n >= c customers is at queue position k = n - c + 1.
    From position k the next event happens at rate R_k = c mu + k theta: with rate c mu + (k-1) theta
    the customer moves up (or enters service when k = 1), with rate theta it abandons.
    """
    size = c + extra + 1
    gen = np.zeros((size, size))
    for n in range(size):
        if n + 1 < size:
            gen[n, n + 1] = lam
        if n > 0:
            gen[n, n - 1] = min(n, c) * mu + max(n - c, 0) * theta
        gen[n, n] = -gen[n].sum()
    lhs = gen.T.copy()
    lhs[-1, :] = 1.0
    rhs = np.zeros(size)
    rhs[-1] = 1.0
    pi = np.linalg.solve(lhs, rhs)

    queue = np.maximum(np.arange(size) - c, 0)
    served = np.ones(extra + 2)  # P(served | position k), k = 0 .. extra + 1
    served_wait = np.zeros(extra + 2)  # E[W 1{served} | position k]
    any_wait = np.zeros(extra + 2)  # E[min(V, patience) | position k]
    for k in range(1, extra + 2):
        rate = c * mu + k * theta
        move = (c * mu + (k - 1) * theta) / rate
        served[k] = move * served[k - 1]
        served_wait[k] = served[k] / rate + move * served_wait[k - 1]
        any_wait[k] = 1 / rate + move * any_wait[k - 1]
    arriving = pi[c:]  # PASTA
    positions = np.arange(1, extra + 2)
    p_wait = arriving.sum()
    p_served = (1 - p_wait) + float(arriving @ served[positions])
    return {
        "p_wait": float(p_wait),
        "p_abandon": 1 - p_served,
        "p_abandon_little": theta * float(pi @ queue) / lam,
        "asa": float(arriving @ served_wait[positions]) / p_served,
        "mean_wait": float(arriving @ any_wait[positions]),
        "mean_wait_little": float(pi @ queue) / lam,
    }


ERLANG_A_CASES = [
    # (lambda, mu, c, theta, truncation beyond c)
    (10.0, 1.0, 11, 0.5, 200),
    (12.0, 1.0, 10, 0.2, 300),  # overloaded: only abandonment keeps it stable
    (95.0, 1.0, 100, 0.1, 600),
    (4.0, 0.25, 14, 2.0, 100),
    (2.0, 1.0, 1, 0.05, 1500),
]


@pytest.mark.parametrize(("lam", "mu", "c", "theta", "extra"), ERLANG_A_CASES)
def test_erlang_a_matches_brute_force_chain(lam: float, mu: float, c: int, theta: float, extra: int) -> None:
    ref = brute_force_erlang_a(lam, mu, c, theta, extra)
    # the reference itself must be self-consistent (two derivations of P(Ab) and of E[W])
    assert ref["p_abandon"] == pytest.approx(ref["p_abandon_little"], rel=1e-9)
    assert ref["mean_wait"] == pytest.approx(ref["mean_wait_little"], rel=1e-9)
    got = erlang_a(lam, mu, c, theta)
    assert isinstance(got, ErlangAResult)
    assert got.p_wait == pytest.approx(ref["p_wait"], rel=1e-8)
    assert got.p_abandon == pytest.approx(ref["p_abandon"], rel=1e-8)
    assert got.asa == pytest.approx(ref["asa"], rel=1e-8)
    assert got.mean_wait == pytest.approx(ref["mean_wait"], rel=1e-8)


@pytest.mark.parametrize(("lam", "mu", "c", "theta"), [(10.0, 1.0, 11, 0.5), (12.0, 1.0, 10, 0.2), (50.0, 2.0, 30, 0.7)])
def test_erlang_a_matches_incomplete_gamma_closed_form(lam: float, mu: float, c: int, theta: float) -> None:
    # Mandelbaum & Zeltyn (2007): A = x e^y y^{-x} gamma(x, y), x = c mu/theta, y = lambda/theta;
    # P(W>0) = A B / (1 + (A-1) B); P(Ab | W>0) = 1/(rho A) + 1 - 1/rho.
    x, y = c * mu / theta, lam / theta
    big_a = x * math.exp(y - x * math.log(y) + special.gammaln(x)) * special.gammainc(x, y)
    b = erlang_b(c, lam / mu)
    rho = lam / (c * mu)
    p_wait = big_a * b / (1 + (big_a - 1) * b)
    p_abandon = p_wait * (1 / (rho * big_a) + 1 - 1 / rho)
    got = erlang_a(lam, mu, c, theta)
    assert got.p_wait == pytest.approx(p_wait, rel=1e-9)
    assert got.p_abandon == pytest.approx(p_abandon, rel=1e-8)


@pytest.mark.parametrize(("lam", "mu", "c"), [(10.0, 1.0, 11), (95.0, 1.0, 100), (950.0, 1.0, 1000)])
def test_erlang_a_tends_to_erlang_c_as_patience_grows(lam: float, mu: float, c: int) -> None:
    got = erlang_a(lam, mu, c, 1e-8)
    assert got.p_wait == pytest.approx(erlang_c(c, lam / mu), rel=1e-5)
    assert got.mean_wait == pytest.approx(erlang_c_asa(lam, mu, c), rel=1e-5)
    assert got.asa == pytest.approx(erlang_c_asa(lam, mu, c), rel=1e-5)
    assert got.p_abandon < 1e-6
    exact = erlang_a(lam, mu, c, 0.0)
    assert exact.p_wait == erlang_c(c, lam / mu)
    assert exact.p_abandon == 0.0


@pytest.mark.parametrize(("lam", "mu", "c"), [(10.0, 1.0, 11), (8.0, 2.0, 3), (300.0, 1.0, 280)])
def test_erlang_a_with_theta_equal_mu_is_infinite_server(lam: float, mu: float, c: int) -> None:
    # theta = mu: every customer leaves at rate mu whether served or waiting, so N ~ Poisson(a).
    a = lam / mu
    got = erlang_a(lam, mu, c, mu)
    assert got.p_wait == pytest.approx(stats.poisson.sf(c - 1, a), rel=1e-9)
    n = np.arange(c, c + 2000)
    expected_queue = float(np.sum((n - c) * stats.poisson.pmf(n, a)))
    assert got.mean_wait == pytest.approx(expected_queue / lam, rel=1e-8)


@pytest.mark.parametrize(
    ("lam", "mu", "c", "theta"),
    [(10.0, 1.0, 11, 0.5), (12.0, 1.0, 10, 0.2), (2000.0, 1.0, 1900, 1e-6), (1990.0, 1.0, 2000, 0.01)],
)
def test_erlang_a_littles_law(lam: float, mu: float, c: int, theta: float) -> None:
    got = erlang_a(lam, mu, c, theta)
    assert got.p_abandon == pytest.approx(theta * got.mean_wait, rel=1e-12)
    # all-customer mean wait mixes served waits with abandoners' (shorter) waits
    assert 0.0 < got.p_abandon < got.p_wait <= 1.0


def test_erlang_a_many_servers_and_extreme_patience() -> None:
    # 2000 agents; overload with very patient customers: fluid limit says the offered wait is
    # ln(lambda / (c mu)) / theta and the abandonment fraction is 1 - c mu / lambda.
    got = erlang_a(2000.0, 1.0, 1900, 1e-6)
    assert got.p_wait == pytest.approx(1.0)
    assert got.p_abandon == pytest.approx(0.05, rel=1e-6)
    assert got.asa == pytest.approx(math.log(2000 / 1900) / 1e-6, rel=1e-3)
    # thousands of agents, light load: nobody waits
    quiet = erlang_a(100.0, 1.0, 5000, 3.0)
    assert quiet.p_wait < 1e-300 and quiet.p_abandon < 1e-300
    assert math.isfinite(quiet.asa) and quiet.mean_wait < 1e-300


def test_erlang_a_monotone_in_patience() -> None:
    results = [erlang_a(10.0, 1.0, 10, theta) for theta in (0.05, 0.2, 1.0, 5.0)]
    p_wait = [r.p_wait for r in results]
    p_ab = [r.p_abandon for r in results]
    asa = [r.asa for r in results]
    assert p_wait == sorted(p_wait, reverse=True)
    assert p_ab == sorted(p_ab)
    assert asa == sorted(asa, reverse=True)


def test_erlang_a_zero_arrivals() -> None:
    assert erlang_a(0.0, 1.0, 3, 0.5) == ErlangAResult(0.0, 0.0, 0.0, 0.0)


def test_erlang_a_wait_tail() -> None:
    lam, mu, c, theta = 12.0, 1.0, 10, 0.2
    result = erlang_a(lam, mu, c, theta)
    assert erlang_a_wait_exceeds(lam, mu, c, theta, 0.0) == pytest.approx(result.p_wait, rel=1e-12)
    # E[W] = int_0^inf P(W > t) dt
    mean = integrate.quad(lambda t: erlang_a_wait_exceeds(lam, mu, c, theta, t), 0, 60, limit=200)[0]
    assert mean == pytest.approx(result.mean_wait, rel=1e-7)
    tail = [erlang_a_wait_exceeds(lam, mu, c, theta, t) for t in (0.0, 0.5, 1.0, 5.0)]
    assert tail == sorted(tail, reverse=True)
    # nearly infinite patience: Erlang C's tail C exp(-(c mu - lambda) t)
    for t in (0.1, 1.0, 3.0):
        expected = 1 - erlang_c_service_level(10.0, 1.0, 11, t)
        assert erlang_a_wait_exceeds(10.0, 1.0, 11, 1e-9, t) == pytest.approx(expected, rel=1e-6)


# --------------------------------------------------------------------------------------------------
# M/G/1 and Allen-Cunneen
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("lam", "mu"), [(0.5, 1.0), (0.9, 1.0), (3.0, 4.0)])
def test_pollaczek_khinchine_special_cases(lam: float, mu: float) -> None:
    rho = lam / mu
    mm1 = mg1_mean_wait(lam, 1 / mu, 1.0)
    assert mm1 == pytest.approx(rho / (mu - lam), rel=1e-13)
    assert mg1_mean_wait(lam, 1 / mu, 0.0) == pytest.approx(mm1 / 2, rel=1e-13)  # M/D/1
    assert mg1_mean_wait(lam, 1 / mu, 1.0) == pytest.approx(erlang_c_asa(lam, mu, 1), rel=1e-13)
    assert mg1_mean_wait(1.0, 1.0, 1.0) == math.inf


def test_allen_cunneen() -> None:
    # exact for M/M/c and reduces to P-K for M/G/1
    assert mgc_mean_wait_approx(10.0, 1.0, 11, 1.0) == pytest.approx(erlang_c_asa(10.0, 1.0, 11))
    assert mgc_mean_wait_approx(0.7, 1.0, 1, 0.3) == pytest.approx(mg1_mean_wait(0.7, 1.0, 0.3))
    assert mgc_mean_wait_approx(10.0, 1.0, 11, 0.5, scv_arrival=0.5) == pytest.approx(
        0.5 * erlang_c_asa(10.0, 1.0, 11)
    )
    assert mgc_mean_wait_approx(10.0, 1.0, 11, 0.0, scv_arrival=0.0) == 0.0
    assert mgc_mean_wait_approx(12.0, 1.0, 11, 0.0, scv_arrival=0.0) == math.inf


# --------------------------------------------------------------------------------------------------
# Priorities
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("servers", [1, 3, 20])
def test_priority_mmc_conservation_law(servers: int) -> None:
    mu = 0.5
    rates = [0.1 * servers, 0.15 * servers, 0.2 * servers]  # rho = 0.9 overall
    waits = priority_mmc_mean_waits(rates, mu, servers)
    assert waits == sorted(waits)  # lower priority waits longer
    weighted = sum(r * w for r, w in zip(rates, waits)) / sum(rates)
    assert weighted == pytest.approx(erlang_c_asa(sum(rates), mu, servers), rel=1e-12)


def test_priority_mmc_single_class_and_mm1() -> None:
    assert priority_mmc_mean_waits([9.0], 1.0, 11) == [pytest.approx(erlang_c_asa(9.0, 1.0, 11), rel=1e-13)]
    # c = 1 with two classes: W_k = (rho / mu) / ((1 - s_{k-1})(1 - s_k))
    lam1, lam2, mu = 0.3, 0.4, 1.0
    w1, w2 = priority_mmc_mean_waits([lam1, lam2], mu, 1)
    w0 = (lam1 + lam2) / mu / mu
    assert w1 == pytest.approx(w0 / (1 - lam1), rel=1e-13)
    assert w2 == pytest.approx(w0 / ((1 - lam1) * (1 - lam1 - lam2)), rel=1e-13)


def test_priority_overload_only_hits_low_classes() -> None:
    waits = priority_mmc_mean_waits([2.0, 10.0], 1.0, 5)
    assert math.isfinite(waits[0]) and waits[1] == math.inf
    # server always busy: W0 = 1/(c mu), class 0 sees sigma_0 = 0.4
    assert waits[0] == pytest.approx((1 / 5) / (1 - 0.4))
    assert priority_mg1_mean_waits([0.4, 2.0], [1.0, 1.0], [1.0, 1.0]) == pytest.approx(
        priority_mmc_mean_waits([0.4, 2.0], 1.0, 1)
    )


def test_priority_mg1() -> None:
    rates, means, scvs = [0.2, 0.3, 0.1], [1.0, 0.5, 2.0], [0.0, 1.0, 4.0]
    waits = priority_mg1_mean_waits(rates, means, scvs)
    loads = [r * m for r, m in zip(rates, means)]
    rho = sum(loads)
    w0 = sum(r * m * m * (1 + s) / 2 for r, m, s in zip(rates, means, scvs))
    # Kleinrock's conservation law for work-conserving non-preemptive M/G/1:
    # sum_k rho_k W_k = rho W0 / (1 - rho)
    assert sum(l * w for l, w in zip(loads, waits)) == pytest.approx(rho * w0 / (1 - rho), rel=1e-12)
    assert waits[0] == pytest.approx(w0 / (1 - loads[0]), rel=1e-13)
    # exponential services, one class: P-K
    assert priority_mg1_mean_waits([0.6], [1.0], [1.0]) == [pytest.approx(mg1_mean_wait(0.6, 1.0, 1.0))]
    # exponential services, equal means: same as priority M/M/1
    assert priority_mg1_mean_waits([0.3, 0.5], [1.0, 1.0], [1.0, 1.0]) == pytest.approx(
        priority_mmc_mean_waits([0.3, 0.5], 1.0, 1), rel=1e-13
    )


# --------------------------------------------------------------------------------------------------
# Networks and staffing
# --------------------------------------------------------------------------------------------------


def test_jackson_tandem() -> None:
    lam = 0.6
    # M/M/1 stations: mean sojourn 1/(mu - lambda) each (Burke)
    stations = [(1.0, 1), (0.8, 1), (2.0, 1)]
    expected = sum(1 / (mu - lam) for mu, _ in stations)
    assert jackson_tandem_mean_sojourn(lam, stations) == pytest.approx(expected, rel=1e-13)
    multi = [(1.0, 11), (0.25, 3)]
    lam = 0.7
    expected = sum(erlang_c_asa(lam, mu, c) + 1 / mu for mu, c in multi)
    assert jackson_tandem_mean_sojourn(lam, multi) == pytest.approx(expected, rel=1e-13)
    assert jackson_tandem_mean_sojourn(1.0, [(2.0, 1), (0.5, 2)]) == math.inf


def test_square_root_staffing() -> None:
    assert square_root_staffing(100.0, 1.0, 1.0) == 110
    assert square_root_staffing(100.0, 1.0, 0.5) == 105
    assert square_root_staffing(9.2, 1.0, 0.0) == 10
    assert square_root_staffing(0.0, 1.0, 2.0) == 1
    assert square_root_staffing(6.0, 1 / 60, 0.0) == 360  # 6/s at 60 s each = 360 Erlangs
    # Halfin-Whitt: P(W>0) -> (1 + beta Phi(beta) / phi(beta))^-1 as the load grows
    beta, load = 1.0, 10_000.0
    limit = 1 / (1 + beta * stats.norm.cdf(beta) / stats.norm.pdf(beta))
    assert erlang_c(square_root_staffing(load, 1.0, beta), load) == pytest.approx(limit, abs=0.01)


@pytest.mark.parametrize(("lam", "mu"), [(10.0, 1.0), (2.5, 1 / 180), (4900.0, 1.0)])
def test_erlang_c_staffing_is_minimal(lam: float, mu: float) -> None:
    target, threshold = 0.8, 0.2 / mu  # answer 80% within a fifth of the mean handling time
    c = erlang_c_staffing(lam, mu, target, threshold)
    assert c > lam / mu
    assert erlang_c_service_level(lam, mu, c, threshold) >= target
    if c - 1 > lam / mu:
        assert erlang_c_service_level(lam, mu, c - 1, threshold) < target


def test_erlang_c_staffing_monotone() -> None:
    by_target = [erlang_c_staffing(10.0, 1.0, sl, 0.2) for sl in (0.5, 0.7, 0.8, 0.9, 0.95, 0.99)]
    assert by_target == sorted(by_target)
    by_load = [erlang_c_staffing(lam, 1.0, 0.8, 0.2) for lam in (1.0, 5.0, 10.0, 50.0, 200.0)]
    assert by_load == sorted(by_load)
    by_threshold = [erlang_c_staffing(10.0, 1.0, 0.8, t) for t in (0.0, 0.1, 0.5, 2.0)]
    assert by_threshold == sorted(by_threshold, reverse=True)
    assert erlang_c_staffing(10.0, 1.0, 0.0, 0.0) == 11  # first stable staffing
    assert erlang_c_staffing(0.0, 1.0, 0.9, 1.0) == 1


# --------------------------------------------------------------------------------------------------
# Little's law, offered load, validation
# --------------------------------------------------------------------------------------------------


def test_littles_law_gap_and_offered_load() -> None:
    assert littles_law_gap(5.0, 2.0, 2.5) == 0.0
    assert littles_law_gap(5.0, 2.0, 2.0) == pytest.approx(0.2)
    assert littles_law_gap(0.0, 0.0, 3.0) == 0.0
    assert offered_load(120 / 3600, 300.0) == pytest.approx(10.0)


@pytest.mark.parametrize(
    "call",
    [
        lambda: erlang_b(0, 1.0),
        lambda: erlang_b(2, -1.0),
        lambda: erlang_b(2.5, 1.0),  # type: ignore[arg-type]
        lambda: erlang_b(True, 1.0),
        lambda: erlang_c(3, math.nan),
        lambda: erlang_c_asa(-1.0, 1.0, 2),
        lambda: erlang_c_asa(1.0, 0.0, 2),
        lambda: erlang_c_service_level(1.0, 1.0, 2, -1.0),
        lambda: erlang_c_wait_quantile(1.0, 1.0, 2, 1.5),
        lambda: erlang_a(1.0, 1.0, 2, -0.1),
        lambda: erlang_a(1.0, 1.0, 0, 0.1),
        lambda: mg1_mean_wait(0.5, 1.0, -1.0),
        lambda: mg1_mean_wait(0.5, 0.0, 1.0),
        lambda: priority_mmc_mean_waits([], 1.0, 1),
        lambda: priority_mmc_mean_waits([0.1, -0.1], 1.0, 1),
        lambda: priority_mg1_mean_waits([0.1, 0.1], [1.0], [1.0, 1.0]),
        lambda: jackson_tandem_mean_sojourn(1.0, []),
        lambda: jackson_tandem_mean_sojourn(1.0, [(2.0, 0)]),
        lambda: square_root_staffing(1.0, 1.0, math.inf),
        lambda: erlang_c_staffing(1.0, 1.0, 1.0, 1.0),
        lambda: littles_law_gap(-1.0, 1.0, 1.0),
        lambda: offered_load(1.0, -2.0),
    ],
)
def test_invalid_inputs_raise_value_error(call) -> None:
    with pytest.raises(ValueError):
        call()


def test_public_api_is_exported() -> None:
    for name in theory.__all__:
        assert hasattr(theory, name)


def test_erlang_c_matches_a_published_worked_example() -> None:
    # Source: the worked example in the pyworkforce 0.1.0 package description
    # (https://pypi.org/project/pyworkforce/0.1.0/): 100 contacts per 30 minutes, AHT 3 min,
    # target answer time 20 s, 14 agents -> waiting_probability 0.1741319335950498 and
    # service_level 0.8883500191794669 (an independent Erlang C implementation, published).
    arrival_rate = 100 / 30  # per minute
    assert erlang_c(14, arrival_rate * 3) == pytest.approx(0.1741319335950498, rel=1e-9)
    assert erlang_c_service_level(arrival_rate, 1 / 3, 14, 20 / 60) == pytest.approx(0.8883500191794669, rel=1e-9)


def test_poisson_gamma_variance_is_the_law_of_total_variance():
    # shared multiplier: a negative binomial with mean m and shape 1/cv² has variance m + cv² m²
    m, cv = 480.0, 0.2
    shape = 1 / cv**2
    p = shape / (shape + m)
    assert theory.poisson_gamma_variance([m], cv) == pytest.approx(stats.nbinom(shape, p).var(), rel=1e-12)
    assert theory.poisson_gamma_variance([200.0, 280.0], cv) == pytest.approx(480 + 0.04 * 480**2, rel=1e-12)
    # independent multipliers: the variances of the periods add
    per = [stats.nbinom(shape, shape / (shape + x)).var() for x in (200.0, 280.0)]
    assert theory.poisson_gamma_variance([200.0, 280.0], cv, shared=False) == pytest.approx(sum(per), rel=1e-12)
    assert theory.poisson_gamma_variance([3.0, 4.0], 0.0) == 7.0
    with pytest.raises(ValueError):
        theory.poisson_gamma_variance([1.0], -0.1)
# --------------------------------------------------------------------------------------------------
# M/M/c/K (+M): finite capacity
# --------------------------------------------------------------------------------------------------


def _mmck_by_generator(lam: float, mu: float, c: int, k: int, theta: float) -> np.ndarray:
    """Stationary distribution of the M/M/c/K+M chain by solving pi Q = 0 (a different route than
    the product formula)."""
    q = np.zeros((k + 1, k + 1))
    for n in range(k + 1):
        if n < k:
            q[n, n + 1] = lam
        if n > 0:
            q[n, n - 1] = min(n, c) * mu + max(n - c, 0) * theta
        q[n, n] = -q[n].sum()
    a = np.vstack([q.T, np.ones(k + 1)])
    b = np.zeros(k + 2)
    b[-1] = 1.0
    return np.linalg.lstsq(a, b, rcond=None)[0]


def test_mmck_m_m_1_k_closed_form() -> None:
    """M/M/1/K: p_K = (1 - rho) rho^K / (1 - rho^(K+1)); L = rho/(1-rho) - (K+1) rho^(K+1)/(1-rho^(K+1))."""
    lam, mu, k = 0.8, 1.0, 5
    rho = lam / mu
    r = theory.mmck(lam, mu, 1, k)
    p0 = (1 - rho) / (1 - rho ** (k + 1))
    pk = p0 * rho**k
    big_l = rho / (1 - rho) - (k + 1) * rho ** (k + 1) / (1 - rho ** (k + 1))
    lq = big_l - (1 - p0)
    assert r.blocking == pytest.approx(pk, rel=1e-12)
    assert r.mean_queue == pytest.approx(lq, rel=1e-12)
    assert r.mean_wait == pytest.approx(lq / (lam * (1 - pk)), rel=1e-12)
    assert r.p_wait == pytest.approx((1 - p0 - pk) / (1 - pk), rel=1e-12)
    assert r.p_abandon == 0.0


@pytest.mark.parametrize(("lam", "mu", "c", "k", "theta"), [(9.0, 1.0, 10, 14, 0.0), (12.0, 1.0, 10, 25, 0.5),
                                                            (3.0, 0.5, 4, 4, 0.0), (95.0, 1.0, 100, 200, 0.2)])
def test_mmck_matches_the_generator_solve(lam: float, mu: float, c: int, k: int, theta: float) -> None:
    p = _mmck_by_generator(lam, mu, c, k, theta)
    r = theory.mmck(lam, mu, c, k, theta)
    lq = float(sum(max(n - c, 0) * pn for n, pn in enumerate(p)))
    assert r.blocking == pytest.approx(p[k], rel=1e-9)
    assert r.mean_queue == pytest.approx(lq, rel=1e-9)
    assert r.p_wait == pytest.approx(p[c:k].sum() / (1 - p[k]), rel=1e-9)
    # flow balance: offered = served + abandoned + blocked, served = mu E[busy servers]
    busy = float(sum(min(n, c) * pn for n, pn in enumerate(p)))
    assert lam == pytest.approx(mu * busy + theta * lq + lam * r.blocking, rel=1e-9)
    assert r.p_abandon == pytest.approx(theta * lq / lam, rel=1e-12)


def test_mmck_limits_are_erlang_b_c_and_a() -> None:
    for c, a in [(1, 0.5), (10, 8.0), (50, 60.0)]:
        assert theory.mmck(a, 1.0, c, c).blocking == pytest.approx(erlang_b(c, a), rel=1e-12)
        assert theory.mmck(a, 1.0, c, c).p_wait == 0.0
    r = theory.mmck(9.0, 1.0, 10, 2000)
    assert r.blocking < 1e-12
    assert r.p_wait == pytest.approx(erlang_c(10, 9.0), rel=1e-9)
    assert r.mean_wait == pytest.approx(erlang_c_asa(9.0, 1.0, 10), rel=1e-9)
    ea = erlang_a(10.0, 1.0, 10, 0.5)
    r = theory.mmck(10.0, 1.0, 10, 2000, abandon_rate=0.5)
    assert r.p_abandon == pytest.approx(ea.p_abandon, rel=1e-6)
    assert r.mean_wait == pytest.approx(ea.mean_wait, rel=1e-6)
    assert r.p_wait == pytest.approx(ea.p_wait, rel=1e-6)


def test_mmck_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="capacity"):
        theory.mmck(1.0, 1.0, 3, 2)
    with pytest.raises(ValueError):
        theory.mmck(1.0, 1.0, 0, 2)
    with pytest.raises(ValueError):
        theory.mmck(1.0, 1.0, 1, 2, abandon_rate=-1.0)


# ----------------------------------------------------------------- patience with an atom at zero
@pytest.mark.parametrize(("lam", "mu", "c", "theta"), [(10 / 60, 1 / 60, 10, 1 / 120), (0.5, 0.1, 3, 0.2)])
def test_zero_atom_abandonment_ends_at_erlang_a_and_erlang_b(lam: float, mu: float, c: int, theta: float) -> None:
    # no atom: Erlang A; everyone who finds the servers busy hangs up: the Erlang B loss system
    assert theory.erlang_a_zero_atom_abandonment(lam, mu, c, theta, 0.0) == pytest.approx(
        theory.erlang_a(lam, mu, c, theta).p_abandon, rel=1e-9)
    assert theory.erlang_a_zero_atom_abandonment(lam, mu, c, theta, 1.0) == pytest.approx(
        theory.erlang_b(c, lam / mu), rel=1e-9)


def test_zero_atom_abandonment_matches_a_truncated_markov_chain() -> None:
    # birth-death generator solved by numpy: birth lambda below c, lambda (1 - z) from c on
    lam, mu, c, theta, z, n_max = 0.5, 0.1, 4, 0.05, 0.3, 400
    q = np.zeros((n_max + 1, n_max + 1))
    for n in range(n_max + 1):
        if n < n_max:
            q[n, n + 1] = lam if n < c else lam * (1 - z)
        if n > 0:
            q[n, n - 1] = min(n, c) * mu + max(n - c, 0) * theta
        q[n, n] = -q[n].sum()
    a = np.vstack([q.T, np.ones(n_max + 1)])
    pi = np.linalg.lstsq(a, np.r_[np.zeros(n_max + 1), 1.0], rcond=None)[0]
    n = np.arange(n_max + 1)
    expected = z * pi[c:].sum() + theta * (pi * np.maximum(n - c, 0)).sum() / lam
    assert theory.erlang_a_zero_atom_abandonment(lam, mu, c, theta, z) == pytest.approx(expected, rel=1e-9)
