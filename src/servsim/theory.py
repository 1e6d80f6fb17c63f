"""Closed-form queueing theory used to sanity-check servsim's simulations.

The discrete-event engine is the source of truth for anything realistic (shifts, skills, non-stationary
arrivals, general patience). This module holds the textbook steady-state formulas against which the
engine is validated on the few configurations that have an exact or well-known answer:

* Erlang B (M/M/c/c loss), Erlang C (M/M/c delay) and its waiting-time distribution;
* Erlang A (M/M/c+M, exponential patience), computed exactly;
* the finite M/M/c/K queue (trunk lines, a finite waiting room), optionally with exponential
  patience (M/M/c/K+M), exactly from its birth-death chain;
* Pollaczek-Khinchine (M/G/1) and the Allen-Cunneen approximation for G/G/c;
* non-preemptive priority queues (Cobham's formula) for M/M/c and M/G/1;
* Jackson tandem networks of M/M/c stations;
* square-root and Erlang C staffing, Little's law and offered load.

Units
-----
Every function works in *any* consistent time unit: if rates are per second, times come back in
seconds; if rates are per minute, times come back in minutes. (servsim itself uses seconds
throughout, see :mod:`servsim.units`.) ``arrival_rate`` is lambda (arrivals per unit time),
``service_rate`` is mu (completions per unit time per server), ``abandon_rate`` is theta (1 / mean
patience) and the offered load ``a = lambda / mu`` is in Erlangs.

Numerical stability
-------------------
Nothing here evaluates ``c!`` or ``a**c``. Erlang B uses the recursion
``B(k) = a B(k-1) / (k + a B(k-1))`` (and its log-space twin where underflow matters); Erlang A works
with integrals whose integrand is scaled by its own maximum. All formulas stay finite and accurate
for thousands of servers.

Main references
---------------
* D. Gross, J. F. Shortle, J. M. Thompson, C. M. Harris, *Fundamentals of Queueing Theory*, 4th ed.,
  Wiley, 2008 (cited as "Gross & Harris").
* L. Kleinrock, *Queueing Systems, Vol. 1: Theory*, Wiley, 1975; *Vol. 2: Computer Applications*, 1976.
* O. Garnett, A. Mandelbaum, M. Reiman, "Designing a call center with impatient customers",
  *Manufacturing & Service Operations Management* 4(3), 208-227, 2002.
* A. Mandelbaum, S. Zeltyn, "Service engineering in action: the Palm/Erlang-A queue, with
  applications to call centers", in *Advances in Services Innovations*, Springer, 2007, 17-45.
* N. Gans, G. Koole, A. Mandelbaum, "Telephone call centers: tutorial, review, and research
  prospects", *Manufacturing & Service Operations Management* 5(2), 79-141, 2003.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from scipy import integrate, optimize, special

__all__ = [
    "ErlangAResult",
    "MMcKResult",
    "allen_cunneen_mean_wait",
    "erlang_a",
    "erlang_a_wait_exceeds",
    "erlang_b",
    "erlang_c",
    "erlang_c_asa",
    "erlang_c_service_level",
    "erlang_c_staffing",
    "erlang_c_wait_quantile",
    "jackson_tandem_mean_sojourn",
    "littles_law_gap",
    "mg1_mean_wait",
    "mgc_mean_wait_approx",
    "mmc_mean_wait",
    "mmck",
    "offered_load",
    "priority_mg1_mean_waits",
    "priority_mmc_mean_waits",
    "square_root_staffing",
]

#: Integrands are cut off where they fall below exp(-_LOG_CUTOFF) times their maximum.
_LOG_CUTOFF = 50.0
#: Denominator floor used by :func:`littles_law_gap`.
_TINY = 1e-300


# --------------------------------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------------------------------


def _check_nonneg(name: str, value: float) -> float:
    """Return ``value`` as a float after checking it is finite and >= 0."""
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return value


def _check_positive(name: str, value: float) -> float:
    """Return ``value`` as a float after checking it is finite and > 0."""
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return value


def _check_servers(servers: int, name: str = "servers") -> int:
    """Return ``servers`` as an int after checking it is an integer >= 1."""
    if isinstance(servers, bool):
        raise ValueError(f"{name} must be an integer >= 1, got {servers!r}")
    try:
        count = operator.index(servers)
    except TypeError:
        raise ValueError(f"{name} must be an integer >= 1, got {servers!r}") from None
    if count < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {count}")
    return count


def _check_probability(name: str, value: float, *, allow_one: bool = True) -> float:
    """Return ``value`` as a float after checking it lies in [0, 1] (or [0, 1) if not allow_one)."""
    value = float(value)
    upper_ok = value <= 1.0 if allow_one else value < 1.0
    if not (value >= 0.0 and upper_ok):
        bound = "[0, 1]" if allow_one else "[0, 1)"
        raise ValueError(f"{name} must lie in {bound}, got {value!r}")
    return value


def _check_threshold(value: float) -> float:
    """Return a waiting-time threshold after checking it is >= 0 (``inf`` is allowed)."""
    value = float(value)
    if math.isnan(value) or value < 0:
        raise ValueError(f"threshold must be a time >= 0, got {value!r}")
    return value


# --------------------------------------------------------------------------------------------------
# Basic relations
# --------------------------------------------------------------------------------------------------


def offered_load(arrival_rate: float, mean_service_time: float) -> float:
    """Offered load in Erlangs.

    Formula: ``a = lambda * E[S] = lambda / mu``.

    Reference: Gross & Harris, section 1.4 (traffic intensity).
    """
    lam = _check_nonneg("arrival_rate", arrival_rate)
    mean_s = _check_nonneg("mean_service_time", mean_service_time)
    return lam * mean_s


def littles_law_gap(mean_in_system: float, arrival_rate: float, mean_time_in_system: float) -> float:
    """Relative violation of Little's law, for checking simulation output.

    Formula: ``|L - lambda W| / max(L, tiny)``; 0 means the three estimates are consistent.

    Reference: J. D. C. Little, "A proof for the queuing formula L = lambda W", Operations Research
    9(3), 1961; Gross & Harris, section 1.5.
    """
    L = _check_nonneg("mean_in_system", mean_in_system)
    lam = _check_nonneg("arrival_rate", arrival_rate)
    W = _check_nonneg("mean_time_in_system", mean_time_in_system)
    return abs(L - lam * W) / max(L, _TINY)


# --------------------------------------------------------------------------------------------------
# Erlang B and C
# --------------------------------------------------------------------------------------------------


def _erlang_b_sequence(load: float) -> Iterator[tuple[int, float]]:
    """Yield ``(k, B(k, load))`` for k = 0, 1, 2, ... via the stable forward recursion."""
    b = 1.0
    k = 0
    yield k, b
    while True:
        k += 1
        b = load * b / (k + load * b)
        yield k, b


def _erlang_b_raw(servers: int, load: float) -> float:
    """Erlang B without validation (servers >= 1, load >= 0)."""
    b = 1.0
    for k in range(1, servers + 1):
        b = load * b / (k + load * b)
    return b


def _log_erlang_b(servers: int, load: float) -> float:
    """Natural log of Erlang B, immune to underflow when ``servers >> load``.

    Uses ``1/B(k) = 1 + (k/a) / B(k-1)`` in log space: ``log(1/B(k)) = log1p(exp(log(k/a) + log(1/B(k-1))))``.
    """
    if load == 0.0:
        return -math.inf
    log_inv = 0.0
    log_load = math.log(load)
    for k in range(1, servers + 1):
        x = math.log(k) - log_load + log_inv
        log_inv = x + math.log1p(math.exp(-x)) if x > 0 else math.log1p(math.exp(x))
    return -log_inv


def _erlang_c_from_b(servers: int, load: float, blocking: float) -> float:
    """Erlang C from Erlang B: ``C = c B / (c - a (1 - B))``; 1.0 when ``a >= c``."""
    if load >= servers:
        return 1.0
    return servers * blocking / (servers - load * (1.0 - blocking))


def erlang_b(servers: int, offered_load: float) -> float:
    """Blocking probability of the M/M/c/c loss system (Erlang B formula).

    Formula: ``B(c, a) = (a^c / c!) / sum_{k=0..c} a^k / k!`` with ``a = lambda / mu``, evaluated by the
    stable recursion ``B(0) = 1``, ``B(k) = a B(k-1) / (k + a B(k-1))`` (never forms ``c!`` or ``a^c``).
    Insensitive to the service-time distribution (M/G/c/c).

    Reference: Gross & Harris, section 2.5 (M/M/c/c); Kleinrock Vol. 1, section 3.6.
    """
    c = _check_servers(servers)
    a = _check_nonneg("offered_load", offered_load)
    return _erlang_b_raw(c, a)


def erlang_c(servers: int, offered_load: float) -> float:
    """Probability that an arrival must wait in the M/M/c queue (Erlang C formula).

    Formula: ``C(c, a) = c B(c, a) / (c - a (1 - B(c, a)))`` for ``a < c``, equivalently
    ``(a^c / c!) (c / (c - a)) / (sum_{k<c} a^k / k! + (a^c / c!) (c / (c - a)))``. When ``a >= c``
    the queue is unstable, every arrival waits, and 1.0 is returned.

    Reference: Gross & Harris, section 2.3 (M/M/c); Gans, Koole & Mandelbaum (2003), section 4.1.
    """
    c = _check_servers(servers)
    a = _check_nonneg("offered_load", offered_load)
    if a >= c:
        return 1.0
    return _erlang_c_from_b(c, a, _erlang_b_raw(c, a))


def _mmc_inputs(arrival_rate: float, service_rate: float, servers: int) -> tuple[float, float, int]:
    """Validate the usual (lambda, mu, c) triple."""
    lam = _check_nonneg("arrival_rate", arrival_rate)
    mu = _check_positive("service_rate", service_rate)
    c = _check_servers(servers)
    return lam, mu, c


def erlang_c_asa(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Mean waiting time in queue over *all* customers of M/M/c (average speed of answer).

    Formula: ``Wq = C(c, a) / (c mu - lambda)``; ``inf`` when ``lambda >= c mu``.

    Reference: Gross & Harris, section 2.3, eq. for ``Wq``; Gans, Koole & Mandelbaum (2003), eq. (4).
    """
    lam, mu, c = _mmc_inputs(arrival_rate, service_rate, servers)
    a = lam / mu
    if a >= c:
        return math.inf
    return erlang_c(c, a) / (c * mu - lam)


#: M/M/c mean wait in queue; the same thing as :func:`erlang_c_asa`.
mmc_mean_wait = erlang_c_asa


def erlang_c_service_level(
    arrival_rate: float, service_rate: float, servers: int, threshold: float
) -> float:
    """Fraction of M/M/c customers whose wait in queue is at most ``threshold``.

    Formula: ``P(Wq <= t) = 1 - C(c, a) exp(-(c mu - lambda) t)``; 0.0 when unstable.

    Reference: Gross & Harris, section 2.3 (waiting-time distribution of M/M/c);
    Gans, Koole & Mandelbaum (2003), eq. (5).
    """
    lam, mu, c = _mmc_inputs(arrival_rate, service_rate, servers)
    t = _check_threshold(threshold)
    a = lam / mu
    if a >= c:
        return 0.0
    prob_wait = erlang_c(c, a)
    if math.isinf(t):
        return 1.0
    return 1.0 - prob_wait * math.exp(-(c * mu - lam) * t)


def erlang_c_wait_quantile(arrival_rate: float, service_rate: float, servers: int, q: float) -> float:
    """The ``q``-quantile of the M/M/c waiting time in queue (all customers).

    Formula: with ``C = C(c, a)``, ``t_q = 0`` if ``q <= 1 - C`` and otherwise
    ``t_q = ln(C / (1 - q)) / (c mu - lambda)`` (inverting ``P(Wq > t) = C exp(-(c mu - lambda) t)``);
    ``inf`` when unstable (and ``q > 0``) or when ``q == 1``.

    Reference: Gross & Harris, section 2.3 (waiting-time distribution of M/M/c).
    """
    lam, mu, c = _mmc_inputs(arrival_rate, service_rate, servers)
    q = _check_probability("q", q)
    a = lam / mu
    prob_wait = erlang_c(c, a)
    if q <= 1.0 - prob_wait:
        return 0.0
    if a >= c or q >= 1.0:
        return math.inf
    return math.log(prob_wait / (1.0 - q)) / (c * mu - lam)


# --------------------------------------------------------------------------------------------------
# Erlang A (M/M/c+M)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErlangAResult:
    """Steady-state performance of the Erlang A (M/M/c+M) queue.

    Attributes:
        p_wait: probability an arrival finds all servers busy and has to queue, ``P(W > 0)``.
        p_abandon: probability an arrival abandons before service, ``P(Ab)``.
        asa: mean wait of the customers who are eventually *served*, ``E[W | Sr]``.
        mean_wait: mean time in queue over *all* arrivals (served and abandoning), ``E[W]``.
    """

    p_wait: float
    p_abandon: float
    asa: float
    mean_wait: float


def _argmax_concave(dlogf: Callable[[float], float], lower: float, scale: float) -> float:
    """Maximiser on ``[lower, inf)`` of a concave function given its (decreasing) derivative."""
    if dlogf(lower) <= 0.0:
        return lower
    step = scale
    right = lower + step
    while dlogf(right) > 0.0:
        lower, step = right, 2.0 * step
        right = lower + step
    return float(optimize.brentq(dlogf, lower, right, xtol=1e-14 * right, rtol=1e-14))


def _level_crossing(
    logf: Callable[[float], float], level: float, peak: float, lower: float, scale: float, side: int
) -> float:
    """Point on ``side`` (-1 left, +1 right) of ``peak`` where concave ``logf`` drops to ``level``."""
    def excess(t: float) -> float:
        return logf(t) - level

    if side < 0:
        if peak == lower or excess(lower) >= 0.0:
            return lower
        return float(optimize.brentq(excess, lower, peak))
    step = scale
    near, far = peak, peak + step
    while excess(far) >= 0.0:
        near, step = far, 2.0 * step
        far = near + step
    return float(optimize.brentq(excess, near, far))


def _log_integral(
    logf: Callable[[float], float], dlogf: Callable[[float], float], lower: float, scale: float
) -> float:
    """``log of int_lower^inf exp(logf(t)) dt`` for concave ``logf``, never overflowing.

    The integrand is divided by its maximum, and the range is cut where it falls below
    ``exp(-_LOG_CUTOFF)`` of that maximum, so quad sees an O(1) bump of known location and width.
    """
    peak = _argmax_concave(dlogf, lower, scale)
    top = logf(peak)
    level = top - _LOG_CUTOFF
    left = _level_crossing(logf, level, peak, lower, scale, -1)
    right = _level_crossing(logf, level, peak, lower, scale, +1)

    def scaled(t: float) -> float:
        return math.exp(logf(t) - top)

    total = 0.0
    for lo, hi in ((left, peak), (peak, right)):
        if hi > lo:
            total += integrate.quad(scaled, lo, hi, epsabs=0.0, epsrel=1e-11, limit=200)[0]
    return top + math.log(total)


@dataclass(frozen=True)
class _ErlangAKernel:
    """The integrand ``h(t) = exp(-c mu t + (lambda/theta)(1 - e^{-theta t}))`` and relatives.

    Conditional on having to wait, the *offered* wait V (time until a server would take the
    customer if it never abandoned) has density ``c mu h(t) / A`` with ``A = c mu int_0^inf h``
    (Mandelbaum & Zeltyn 2007, section 3; it follows from PASTA and the pure-death structure of the
    queue ahead). The customer is served iff its patience exceeds V.

    ``log h`` can be in the millions when theta is tiny, so everything is measured relative to
    ``h(r)`` at the mode ``r = max(0, ln(lambda / (c mu)) / theta)`` of ``h``:
    ``phi(t) = log h(t) - log h(r) = -c mu (t - r) - (lambda_r / theta) expm1(-theta (t - r))`` with
    ``lambda_r = lambda e^{-theta r} = min(lambda, c mu)``, which is well conditioned. Ratios of the
    integrals below are therefore exact to rounding; only ``A`` itself needs ``log h(r)``.
    """

    lam: float
    cmu: float
    theta: float

    @property
    def ref(self) -> float:
        """The mode ``r`` of ``h``."""
        return max(0.0, math.log(self.lam / self.cmu) / self.theta)

    @property
    def lam_ref(self) -> float:
        """``lambda e^{-theta r}``."""
        return min(self.lam, self.cmu)

    @property
    def log_h_ref(self) -> float:
        """``log h(r) = -c mu r + (lambda - lambda_r) / theta``."""
        return -self.cmu * self.ref + (self.lam - self.lam_ref) / self.theta

    @property
    def scale(self) -> float:
        """A natural time scale to start bracketing searches."""
        return 1.0 / (self.cmu + self.theta + self.lam)

    def phi(self, t: float) -> float:
        """``log h(t) - log h(r)``."""
        s = t - self.ref
        return -self.cmu * s - (self.lam_ref / self.theta) * math.expm1(-self.theta * s)

    def dphi(self, t: float) -> float:
        """``d/dt log h(t) = -c mu + lambda e^{-theta t}``."""
        return -self.cmu + self.lam_ref * math.exp(-self.theta * (t - self.ref))

    def log_int(self, lower: float = 0.0) -> float:
        """``log (int_lower^inf h(t) dt / h(r))``."""
        return _log_integral(self.phi, self.dphi, lower, self.scale)

    def log_int_abandon(self) -> float:
        """``log (int_0^inf (1 - e^{-theta t}) h(t) dt / h(r))`` (patience runs out before V)."""

        def logf(t: float) -> float:
            g = -math.expm1(-self.theta * t)
            return math.log(g) + self.phi(t) if g > 0.0 else -1e300

        def dlogf(t: float) -> float:
            if t <= 0.0:
                return math.inf
            return self.theta / math.expm1(self.theta * t) + self.dphi(t)

        return _log_integral(logf, dlogf, 0.0, self.scale)

    def log_int_served_wait(self) -> float:
        """``log (int_0^inf t e^{-theta t} h(t) dt / h(r))`` (``E[V 1{served}]`` up to ``c mu / A``)."""

        def logf(t: float) -> float:
            return math.log(t) - self.theta * t + self.phi(t) if t > 0.0 else -1e300

        def dlogf(t: float) -> float:
            return 1.0 / t - self.theta + self.dphi(t) if t > 0.0 else math.inf

        return _log_integral(logf, dlogf, 0.0, self.scale)

    def log_a(self, log_int: float) -> float:
        """``log A = log(c mu) + log h(r) + log (int_0^inf h / h(r))``."""
        return math.log(self.cmu) + self.log_h_ref + log_int


def _erlang_a_inputs(
    arrival_rate: float, service_rate: float, servers: int, abandon_rate: float
) -> tuple[float, float, int, float]:
    lam, mu, c = _mmc_inputs(arrival_rate, service_rate, servers)
    theta = _check_nonneg("abandon_rate", abandon_rate)
    return lam, mu, c, theta


def _erlang_a_p_wait(c: int, load: float, log_a: float) -> float:
    """``P(W > 0) = A B / (1 + (A - 1) B)`` evaluated as ``1 / (1 + (1 - B) / (A B))`` in logs."""
    log_b = _log_erlang_b(c, load)
    log_ratio = math.log1p(-math.exp(log_b)) - log_a - log_b
    return float(special.expit(-log_ratio))


def erlang_a(arrival_rate: float, service_rate: float, servers: int, abandon_rate: float) -> ErlangAResult:
    """Exact steady state of the Erlang A queue M/M/c+M (Palm's queue with exponential patience).

    Model: Poisson(lambda) arrivals, c servers with Exp(mu) service, FCFS queue, each waiting customer
    abandons after an Exp(theta) patience. The number in system is a birth-death chain with birth
    rate lambda and death rate ``min(n, c) mu + max(n - c, 0) theta``; it is stable for any theta > 0.

    Formulas (Garnett, Mandelbaum & Reiman 2002; Mandelbaum & Zeltyn 2007), with ``B = B(c, a)``,
    ``h(t) = exp(-c mu t + (lambda/theta)(1 - e^{-theta t}))`` and
    ``A = c mu int_0^inf h(t) dt = 1 + sum_{j>=1} prod_{i=1..j} lambda / (c mu + i theta)``
    (``= (x e^y / y^x) gamma(x, y)`` with ``x = c mu/theta``, ``y = lambda/theta``):

    * ``P(W > 0) = A B / (1 + (A - 1) B)``
    * ``P(Ab | W > 0) = (c mu / A) int_0^inf (1 - e^{-theta t}) h(t) dt = 1 + 1/(rho A) - 1/rho``
      with ``rho = lambda / (c mu)``; ``P(Ab) = P(Ab | W > 0) P(W > 0)``
    * ``E[W] = P(Ab) / theta`` (all arrivals; Little's law on the queue, since abandonments leave
      at rate ``theta E[Q]``)
    * ``E[W | Sr] = P(W > 0) (c mu / A) int_0^inf t e^{-theta t} h(t) dt / (1 - P(Ab))``

    The integrals are evaluated with scipy ``quad`` on the integrand scaled by its maximum, and the
    probability combination is done in log space, so there is no overflow for thousands of agents
    or tiny theta. ``abandon_rate == 0`` falls back to Erlang C (infinite waits if ``lambda >= c mu``).
    """
    lam, mu, c, theta = _erlang_a_inputs(arrival_rate, service_rate, servers, abandon_rate)
    if lam == 0.0:
        return ErlangAResult(p_wait=0.0, p_abandon=0.0, asa=0.0, mean_wait=0.0)
    if theta == 0.0:
        wait = erlang_c_asa(lam, mu, c)
        return ErlangAResult(p_wait=erlang_c(c, lam / mu), p_abandon=0.0, asa=wait, mean_wait=wait)

    kernel = _ErlangAKernel(lam=lam, cmu=c * mu, theta=theta)
    log_i0 = kernel.log_int()
    p_wait = _erlang_a_p_wait(c, lam / mu, kernel.log_a(log_i0))
    p_ab_given_wait = min(1.0, math.exp(kernel.log_int_abandon() - log_i0))
    p_abandon = p_wait * p_ab_given_wait
    served_wait = p_wait * math.exp(kernel.log_int_served_wait() - log_i0)  # E[W 1{served}]
    return ErlangAResult(
        p_wait=p_wait,
        p_abandon=p_abandon,
        asa=served_wait / (1.0 - p_abandon),
        mean_wait=p_abandon / theta,
    )


def erlang_a_zero_atom_abandonment(arrival_rate: float, service_rate: float, servers: int, abandon_rate: float,
                                   zero: float) -> float:
    """P(abandon) of M/M/c+M whose patience has an atom at zero: a customer who finds every server busy
    hangs up at once with probability ``zero`` = z, else waits with an Exp(theta) patience.

    The number in system N is a birth-death chain with birth rate lambda for n < c and lambda (1 − z)
    for n ≥ c, death rate min(n, c) mu + max(n − c, 0) theta. With a = lambda / mu,
    pi_n ∝ a^n / n! (n ≤ c) and pi_{c+j} = pi_c prod_{i=1..j} lambda (1 − z) / (c mu + i theta). By
    PASTA a share P(N ≥ c) of arrivals must wait, and abandonments happen at rate
    z lambda P(N ≥ c) + theta E[(N − c)+], so

        P(Ab) = z P(N ≥ c) + theta E[(N − c)+] / lambda.

    z = 0 is Erlang A (:func:`erlang_a`); z = 1 is the Erlang B loss system. Summed in log space, the
    tail until its terms fall below 1e-17 of the total."""
    lam, mu, c, theta = _erlang_a_inputs(arrival_rate, service_rate, servers, abandon_rate)
    z = _check_probability("zero", zero)
    if lam == 0.0:
        return 0.0
    if theta == 0.0 and lam * (1 - z) >= c * mu:
        raise ValueError("no steady state: without abandonment the joining rate lambda (1 - zero) must be "
                         "below c mu")
    a = lam / mu
    # log pi_n for n = 0..c (unnormalised)
    log_head = [n * math.log(a) - math.lgamma(n + 1) for n in range(c + 1)]
    log_c = log_head[-1]
    # tail ratios r_j = pi_{c+j} / pi_c
    tail, queue, r, j = 0.0, 0.0, 1.0, 0
    while True:
        j += 1
        r *= lam * (1 - z) / (c * mu + j * theta)
        tail += r
        queue += j * r
        if r < 1e-17 * (1 + tail) or j > 10_000_000:
            break
    top = max(log_head)
    head = sum(math.exp(x - top) for x in log_head)  # Σ_{n ≤ c} pi_n / e^top
    pc = math.exp(log_c - top)
    total = head + pc * tail
    p_busy = pc * (1 + tail) / total  # P(N ≥ c)
    mean_queue = pc * queue / total  # E[(N − c)+]
    return z * p_busy + theta * mean_queue / lam


def erlang_a_wait_exceeds(
    arrival_rate: float, service_rate: float, servers: int, abandon_rate: float, threshold: float
) -> float:
    """Probability that an Erlang A arrival is still waiting ``threshold`` after arriving.

    Formula: ``P(W > t) = P(V > t) P(tau > t) = P(W > 0) (c mu / A) int_t^inf h(s) ds * e^{-theta t}``
    where W is the time spent in queue (ending in service or abandonment), V the offered wait, tau
    the Exp(theta) patience, and ``h``, ``A`` as in :func:`erlang_a`. ``1 - P(W > t)`` counts as
    "within t" both customers answered and customers who abandoned within t; other service-level
    conventions can be built from :func:`erlang_a` and this function.

    Reference: Mandelbaum & Zeltyn (2007), section 3 (distribution of the offered wait V).
    """
    lam, mu, c, theta = _erlang_a_inputs(arrival_rate, service_rate, servers, abandon_rate)
    t = _check_threshold(threshold)
    if lam == 0.0 or math.isinf(t):
        return 0.0
    if theta == 0.0:
        return 1.0 - erlang_c_service_level(lam, mu, c, t)
    kernel = _ErlangAKernel(lam=lam, cmu=c * mu, theta=theta)
    log_i0 = kernel.log_int()
    p_wait = _erlang_a_p_wait(c, lam / mu, kernel.log_a(log_i0))
    if t == 0.0:
        return p_wait
    return p_wait * math.exp(kernel.log_int(t) - log_i0 - theta * t)


# --------------------------------------------------------------------------------------------------
# M/G/1 and G/G/c
# --------------------------------------------------------------------------------------------------


def _second_moment(mean: float, scv: float) -> float:
    """``E[S^2] = E[S]^2 (1 + scv)``."""
    return mean * mean * (1.0 + scv)


def mg1_mean_wait(arrival_rate: float, mean_service: float, scv_service: float) -> float:
    """Mean wait in queue of M/G/1 (Pollaczek-Khinchine mean-value formula).

    Formula: ``Wq = lambda E[S^2] / (2 (1 - rho))`` with ``rho = lambda E[S]`` and
    ``E[S^2] = E[S]^2 (1 + scv)``; ``inf`` when ``rho >= 1``.

    Reference: Gross & Harris, section 5.1.1 (P-K formula); Kleinrock Vol. 1, eq. (5.72).
    """
    lam = _check_nonneg("arrival_rate", arrival_rate)
    mean_s = _check_positive("mean_service", mean_service)
    scv = _check_nonneg("scv_service", scv_service)
    rho = lam * mean_s
    if rho >= 1.0:
        return math.inf
    return lam * _second_moment(mean_s, scv) / (2.0 * (1.0 - rho))


def mgc_mean_wait_approx(
    arrival_rate: float,
    mean_service: float,
    servers: int,
    scv_service: float,
    scv_arrival: float = 1.0,
) -> float:
    """**Approximate** mean wait in queue of G/G/c (Allen-Cunneen approximation).

    Formula: ``Wq ~= Wq(M/M/c) (ca^2 + cs^2) / 2`` where ``Wq(M/M/c) = C(c, a) / (c mu - lambda)``,
    ``mu = 1 / E[S]``, ``ca^2`` and ``cs^2`` the squared coefficients of variation of inter-arrival
    and service times. Exact for M/M/c and for M/G/1 (where it is P-K); otherwise an approximation
    whose error grows with ``cs^2`` far from 1 and with light load. ``inf`` when unstable.

    Reference: A. O. Allen, *Probability, Statistics, and Queueing Theory*, 2nd ed., Academic Press,
    1990, section 6.4; W. Whitt, "Approximations for the GI/G/m queue", Production and Operations
    Management 2(2), 1993.
    """
    mean_s = _check_positive("mean_service", mean_service)
    scv_s = _check_nonneg("scv_service", scv_service)
    scv_a = _check_nonneg("scv_arrival", scv_arrival)
    mmc_wait = erlang_c_asa(arrival_rate, 1.0 / mean_s, servers)
    if math.isinf(mmc_wait):
        return math.inf
    return mmc_wait * (scv_a + scv_s) / 2.0


#: Alias naming the approximation explicitly.
allen_cunneen_mean_wait = mgc_mean_wait_approx


# --------------------------------------------------------------------------------------------------
# Non-preemptive priority (Cobham)
# --------------------------------------------------------------------------------------------------


def _cobham(residual: float, loads: Sequence[float]) -> list[float]:
    """``W_k = W0 / ((1 - sigma_{k-1})(1 - sigma_k))``, ``inf`` for classes with ``sigma_k >= 1``."""
    waits: list[float] = []
    sigma_prev = 0.0
    for load in loads:
        sigma = sigma_prev + load
        waits.append(math.inf if sigma >= 1.0 else residual / ((1.0 - sigma_prev) * (1.0 - sigma)))
        sigma_prev = sigma
    return waits


def priority_mmc_mean_waits(
    arrival_rates: Sequence[float], service_rate: float, servers: int
) -> list[float]:
    """Mean queue waits per class in a non-preemptive priority M/M/c, equal service rates.

    Class 0 is the highest priority. Formula (Cobham 1954):
    ``W_k = W0 / ((1 - sigma_{k-1}) (1 - sigma_k))`` with ``sigma_k = sum_{i<=k} lambda_i / (c mu)``,
    ``sigma_{-1} = 0`` and ``W0 = C(c, a) / (c mu)`` (probability all servers are busy times the mean
    time to the next completion), ``a = sum lambda_i / mu``. For ``c = 1``, ``W0 = rho / mu``.
    Classes with ``sigma_k >= 1`` get ``inf``; higher classes stay finite (then ``W0 = 1 / (c mu)``).
    The arrival-weighted mean of the ``W_k`` equals the FCFS M/M/c wait (Kleinrock's conservation law).

    Reference: A. Cobham, "Priority assignment in waiting line problems", Operations Research 2(1),
    1954; Gross & Harris, section 3.4.1 (non-preemptive priorities, many servers).
    """
    rates = [_check_nonneg(f"arrival_rates[{i}]", r) for i, r in enumerate(arrival_rates)]
    mu = _check_positive("service_rate", service_rate)
    c = _check_servers(servers)
    if not rates:
        raise ValueError("arrival_rates must contain at least one class")
    capacity = c * mu
    residual = erlang_c(c, sum(rates) / mu) / capacity
    return _cobham(residual, [r / capacity for r in rates])


def _mg1_residual(rates: Sequence[float], means: Sequence[float], scvs: Sequence[float]) -> float:
    """Mean residual work seen by an arrival, ``W0 = sum_i x_i E[S_i^2] / 2``.

    ``x_i`` is the throughput of class i: ``lambda_i`` while the cumulative load stays below 1; the
    first class that saturates the server gets the left-over capacity and lower classes get none.
    """
    residual = 0.0
    spare = 1.0
    for lam, mean, scv in zip(rates, means, scvs):
        throughput = min(lam, spare / mean)
        residual += throughput * _second_moment(mean, scv) / 2.0
        spare = max(0.0, spare - throughput * mean)
    return residual


def priority_mg1_mean_waits(
    arrival_rates: Sequence[float], mean_services: Sequence[float], scvs: Sequence[float]
) -> list[float]:
    """Mean queue waits per class in a non-preemptive priority M/G/1 queue.

    Class 0 is the highest priority. Formula (Cobham 1954):
    ``W_k = W0 / ((1 - sigma_{k-1}) (1 - sigma_k))`` with ``sigma_k = sum_{i<=k} lambda_i E[S_i]`` and
    ``W0 = sum_i lambda_i E[S_i^2] / 2``, ``E[S_i^2] = E[S_i]^2 (1 + scv_i)``. Classes with
    ``sigma_k >= 1`` get ``inf``; for the stable higher classes W0 uses the classes' actual
    throughputs (the server is then always busy).

    Reference: Cobham (1954); Kleinrock Vol. 2, section 3.6, eq. (3.31); Gross & Harris, section 3.4.1.
    """
    n = len(arrival_rates)
    if n == 0:
        raise ValueError("arrival_rates must contain at least one class")
    if len(mean_services) != n or len(scvs) != n:
        raise ValueError(
            f"arrival_rates, mean_services and scvs must have equal lengths, got {n}, "
            f"{len(mean_services)} and {len(scvs)}"
        )
    rates = [_check_nonneg(f"arrival_rates[{i}]", r) for i, r in enumerate(arrival_rates)]
    means = [_check_positive(f"mean_services[{i}]", m) for i, m in enumerate(mean_services)]
    cvs = [_check_nonneg(f"scvs[{i}]", s) for i, s in enumerate(scvs)]
    residual = _mg1_residual(rates, means, cvs)
    return _cobham(residual, [lam * m for lam, m in zip(rates, means)])


# --------------------------------------------------------------------------------------------------
# Networks and staffing
# --------------------------------------------------------------------------------------------------


def jackson_tandem_mean_sojourn(arrival_rate: float, stations: Sequence[tuple[float, int]]) -> float:
    """Mean end-to-end time through a tandem line of M/M/c stations with Poisson input.

    Each station is ``(service_rate, servers)``. By Burke's theorem the departures of a stable M/M/c
    queue are Poisson(lambda), so each station behaves as an independent M/M/c (Jackson network):
    ``E[T] = sum_i (Wq_i + 1 / mu_i)`` with ``Wq_i`` from :func:`erlang_c_asa`; ``inf`` if any station
    has ``lambda >= c_i mu_i``.

    Reference: P. J. Burke, "The output of a queuing system", Operations Research 4(6), 1956;
    J. R. Jackson, "Networks of waiting lines", Operations Research 5(4), 1957; Gross & Harris,
    sections 4.1-4.2.
    """
    lam = _check_nonneg("arrival_rate", arrival_rate)
    if len(stations) == 0:
        raise ValueError("stations must contain at least one (service_rate, servers) pair")
    total = 0.0
    for i, (mu, c) in enumerate(stations):
        mu = _check_positive(f"stations[{i}] service_rate", mu)
        c = _check_servers(c, f"stations[{i}] servers")
        total += erlang_c_asa(lam, mu, c) + 1.0 / mu
    return total


def square_root_staffing(arrival_rate: float, service_rate: float, beta: float) -> int:
    """Square-root staffing rule (Halfin-Whitt / QED regime).

    Formula: ``c = ceil(a + beta sqrt(a))`` with ``a = lambda / mu``, at least 1. A value that is an
    integer up to rounding noise (1e-9 relative) is not rounded up. ``beta > 0`` is needed for a
    stable M/M/c; ``P(W > 0) -> (1 + beta Phi(beta) / phi(beta))^{-1}`` as ``a`` grows.

    Reference: S. Halfin, W. Whitt, "Heavy-traffic limits for queues with many exponential servers",
    Operations Research 29(3), 1981; Gans, Koole & Mandelbaum (2003), section 4.1.
    """
    lam = _check_nonneg("arrival_rate", arrival_rate)
    mu = _check_positive("service_rate", service_rate)
    beta = float(beta)
    if not math.isfinite(beta):
        raise ValueError(f"beta must be finite, got {beta!r}")
    a = lam / mu
    target = a + beta * math.sqrt(a)
    return max(1, math.ceil(target - 1e-9 * max(1.0, abs(target))))


def erlang_c_staffing(
    arrival_rate: float, service_rate: float, target_service_level: float, threshold: float
) -> int:
    """Smallest number of M/M/c servers whose service level meets a target.

    Returns the least ``c >= floor(a) + 1`` (the first stable staffing) such that
    ``1 - C(c, a) exp(-(c mu - lambda) t) >= target_service_level``. The service level is
    increasing in ``c``, so this is the least such ``c`` overall. Erlang B is advanced incrementally,
    so the search costs O(c) in total.

    Reference: Gans, Koole & Mandelbaum (2003), section 4.1; Gross & Harris, section 2.3.
    """
    lam = _check_nonneg("arrival_rate", arrival_rate)
    mu = _check_positive("service_rate", service_rate)
    target = _check_probability("target_service_level", target_service_level, allow_one=False)
    t = _check_threshold(threshold)
    a = lam / mu
    start = math.floor(a) + 1
    for c, blocking in _erlang_b_sequence(a):
        if c < start:
            continue
        prob_wait = _erlang_c_from_b(c, a, blocking)
        tail = 0.0 if math.isinf(t) else prob_wait * math.exp(-(c * mu - lam) * t)
        if 1.0 - tail >= target:
            return c
    raise AssertionError("unreachable: the Erlang B sequence is infinite")  # pragma: no cover


def poisson_gamma_variance(means: Sequence[float], cv: float, shared: bool = True) -> float:
    """Variance of a Poisson count whose rate is scaled by a random busyness multiplier.

    Given multipliers, the counts of periods i (means ``m_i``) are Poisson; the multiplier B has mean
    1 and coefficient of variation ``cv`` (servsim draws a gamma, but only these two moments matter).
    With one B for every period (``shared``: busyness per day, N = Σ N_i):

        Var N = Σ m_i + cv² (Σ m_i)²

    and with an independent B_i per period (busyness per interval):

        Var N = Σ m_i + cv² Σ m_i²

    (law of total variance: Var N = E[Var(N | B)] + Var E[N | B]). For cv = 0 both are the Poisson
    variance Σ m_i. Reference: the Poisson–gamma (negative binomial) mixture, e.g. Jongbloed & Koole,
    "Managing uncertainty in call centres using Poisson mixtures", Applied Stochastic Models in
    Business and Industry 17, 307–318, 2001.
    """
    ms = [_check_nonneg("mean", m) for m in means]
    c = _check_nonneg("cv", cv)
    total = math.fsum(ms)
    spread = total * total if shared else math.fsum(m * m for m in ms)
    return total + c * c * spread
# --------------------------------------------------------------------------------------------------
# Finite capacity: M/M/c/K (+M)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MMcKResult:
    """Steady-state performance of the M/M/c/K queue (K places in all: c servers, K − c waiting).

    Attributes:
        blocking: probability an arrival finds K present and is turned away, ``p_K`` (PASTA).
        p_wait: probability an *admitted* arrival has to queue, ``sum_{n=c}^{K-1} p_n / (1 - p_K)``.
        mean_wait: mean time in queue of the admitted arrivals (served and abandoning),
            ``E[Lq] / (lambda (1 - p_K))`` (Little's law on the queue).
        mean_queue: time-average number waiting, ``E[Lq] = sum_n max(n - c, 0) p_n``.
        p_abandon: probability an arrival (of all offered) abandons, ``theta E[Lq] / lambda``.
    """

    blocking: float
    p_wait: float
    mean_wait: float
    mean_queue: float
    p_abandon: float


def mmck(arrival_rate: float, service_rate: float, servers: int, capacity: int,
         abandon_rate: float = 0.0) -> MMcKResult:
    """Exact steady state of the M/M/c/K queue, or M/M/c/K+M with exponential patience.

    Model: Poisson(lambda) arrivals; at most K = ``capacity`` (≥ c) present, an arrival finding K
    is blocked; c servers with Exp(mu) service, FCFS; each waiting customer abandons after an
    Exp(theta) patience (``abandon_rate`` theta, 0: never). The number present is a birth-death chain
    on 0..K with birth rate lambda (n < K) and death rate ``d_n = min(n, c) mu + max(n - c, 0) theta``:

    ``p_n = p_0 prod_{i=1..n} lambda / d_i``, normalised; ``blocking = p_K``;
    ``E[Lq] = sum_n max(n - c, 0) p_n``; ``P(wait | admitted) = sum_{n=c}^{K-1} p_n / (1 - p_K)``;
    ``E[W | admitted] = E[Lq] / (lambda (1 - p_K))``; ``P(Ab) = theta E[Lq] / lambda``.

    K = c is Erlang B (M/M/c/c); K → ∞ with theta = 0 is Erlang C. The products are formed in log
    space and normalised by their maximum, so large c and K do not overflow.

    Reference: Gross & Harris, section 2.6 (M/M/c/K); Whitt, "Engineering solution of a basic
    call-center model", Management Science 51(2), 2005 (M/M/c/K+M).
    """
    lam = _check_positive("arrival_rate", arrival_rate)
    mu = _check_positive("service_rate", service_rate)
    c = _check_servers(servers)
    theta = _check_nonneg("abandon_rate", abandon_rate)
    k = operator.index(capacity)
    if k < c:
        raise ValueError(f"capacity must be at least servers ({c}), got {k}")
    log_p = [0.0]
    for n in range(1, k + 1):
        log_p.append(log_p[-1] + math.log(lam) - math.log(min(n, c) * mu + max(n - c, 0) * theta))
    top = max(log_p)
    w = [math.exp(x - top) for x in log_p]
    total = math.fsum(w)
    p = [x / total for x in w]
    blocking = p[k]
    lq = math.fsum(max(n - c, 0) * pn for n, pn in enumerate(p))
    admitted = 1.0 - blocking
    return MMcKResult(
        blocking=blocking,
        p_wait=math.fsum(p[c:k]) / admitted,
        mean_wait=lq / (lam * admitted),
        mean_queue=lq,
        p_abandon=theta * lq / lam,
    )
