"""Duration distributions as written in scenario files, with their analytic moments and samplers.

Every distribution is a mapping with a ``dist`` name and explicit parameters, never a bare
positional number. Most can be given by ``mean`` and ``cv`` (coefficient of variation, standard
deviation over mean), which is how planners think, or by their native parameters::

    handle_time: {dist: lognormal, mean: 3min, cv: 1.5}
    handle_time: {dist: gamma, shape: 2, scale: 90s}
    patience:    {dist: exponential, mean: 4min}

All values are seconds once loaded. ``mean_s`` and ``variance_s2`` give the analytic moments (used by
theory comparisons and load checks); ``draw(rng, n)`` returns ``n`` samples as a numpy array.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Literal, Union

import numpy as np
from pydantic import Field, PrivateAttr, ValidationInfo, model_validator
from pydantic import Strict as StrictMode

from servsim.scenario.base import Duration, Share, Strict
from servsim.scenario.csvfiles import number, read_rows
from servsim.scenario.errors import quoted
from servsim.scenario.files import referenced_file
from servsim.units import TIME_UNITS

#: Largest mean duration a distribution may have (seconds): 1000 days.
MAX_MEAN_S = 1000 * 86400.0

Cv = Annotated[float, Field(ge=0.0, description="coefficient of variation (std / mean)")]


class _Dist(Strict):
    """Common interface of the distribution specs."""

    def moments_problem(self) -> str:
        """Why this distribution cannot be simulated ('' when it can): its mean or variance overflows."""
        try:
            moments = (self.mean_s, self.variance_s2, self.scv)
        except (OverflowError, ZeroDivisionError, ValueError, FloatingPointError):
            moments = (math.inf,)
        if not all(math.isfinite(m) for m in moments) or self.mean_s > MAX_MEAN_S:
            return ("these parameters give a mean or variance too large to simulate "
                    f"(the mean must be below {MAX_MEAN_S / 86400:g} days and the variance finite)")
        return ""

    @property
    def mean_s(self) -> float:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    @property
    def variance_s2(self) -> float:  # pragma: no cover
        raise NotImplementedError

    @property
    def scv(self) -> float:
        """Squared coefficient of variation, Var/mean² (0 when the mean is 0).

        Computed so that it does not depend on the scale: a mean of 1e-200 s squares to 0 in
        floating point, but its scv is as well defined as that of a mean of 1 s.
        """
        mean = self.mean_s
        if not mean > 0:
            return 0.0
        if mean > 1e-100:  # mean² is a normal float
            return self.variance_s2 / (mean * mean)
        return self._scaled_scv()

    def _scaled_scv(self) -> float:
        """scv for means so small that mean² underflows; subclasses without a scale-free
        formula rescale their parameters."""
        return 0.0

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError


def _mean_cv_or_native(model: Strict, pairs: tuple[tuple[str, ...], ...]) -> None:
    """Require exactly one complete parameter set among ``pairs`` (e.g. (mean, cv) or (shape, scale))."""
    given = [all(getattr(model, f) is not None for f in p) for p in pairs]
    partial = [any(getattr(model, f) is not None for f in p) for p in pairs]
    options = " or ".join("(" + ", ".join(p) + ")" for p in pairs)
    if sum(given) != 1 or sum(partial) != 1:
        raise ValueError(f"give exactly one parameter set: {options}")


class Exponential(_Dist):
    """Exponential with the given mean: f(x) = exp(-x/m)/m; cv = 1."""

    dist: Literal["exponential"]
    mean: Duration = Field(gt=0)

    @property
    def mean_s(self) -> float:
        return self.mean

    @property
    def variance_s2(self) -> float:
        return self.mean**2

    def _scaled_scv(self) -> float:
        return 1.0

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.exponential(self.mean, n)


class Deterministic(_Dist):
    """Always the same value; cv = 0."""

    dist: Literal["deterministic"]
    value: Duration

    @property
    def mean_s(self) -> float:
        return self.value

    @property
    def variance_s2(self) -> float:
        return 0.0

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, self.value)


class Uniform(_Dist):
    """Uniform on [low, high]: mean (a+b)/2, variance (b-a)²/12."""

    dist: Literal["uniform"]
    low: Duration
    high: Duration

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError("high must be at least low")
        return self

    @property
    def mean_s(self) -> float:
        return (self.low + self.high) / 2

    @property
    def variance_s2(self) -> float:
        return (self.high - self.low) ** 2 / 12

    def _scaled_scv(self) -> float:
        a = self.low / self.high
        return (1 - a) ** 2 / 3 / (1 + a) ** 2

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, n)


class Triangular(_Dist):
    """Triangular on [low, high] with peak at mode: mean (a+b+c)/3, var (a²+b²+c²-ab-ac-bc)/18."""

    dist: Literal["triangular"]
    low: Duration
    mode: Duration
    high: Duration

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not self.low <= self.mode <= self.high or self.low == self.high:
            raise ValueError("need low <= mode <= high and low < high")
        return self

    @property
    def mean_s(self) -> float:
        return (self.low + self.mode + self.high) / 3

    @property
    def variance_s2(self) -> float:
        a, c, b = self.low, self.mode, self.high
        return (a * a + b * b + c * c - a * b - a * c - b * c) / 18

    def _scaled_scv(self) -> float:
        a, c = self.low / self.high, self.mode / self.high
        mean = (a + c + 1) / 3
        return (a * a + 1 + c * c - a - a * c - c) / 18 / mean**2

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.triangular(self.low, self.mode, self.high, n)


class Lognormal(_Dist):
    """Lognormal by (mean, cv) or by (median, sigma) of the underlying normal.

    sigma² = ln(1 + cv²), mu = ln(mean) - sigma²/2; median = exp(mu).
    """

    dist: Literal["lognormal"]
    mean: Duration | None = Field(default=None, gt=0)
    cv: Cv | None = None
    median: Duration | None = Field(default=None, gt=0)
    sigma: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _params(self) -> Lognormal:
        _mean_cv_or_native(self, (("mean", "cv"), ("median", "sigma")))
        return self

    def _mu_sigma(self) -> tuple[float, float]:
        if self.mean is not None and self.cv is not None:
            s2 = math.log1p(self.cv**2)
            return math.log(self.mean) - s2 / 2, math.sqrt(s2)
        assert self.median is not None and self.sigma is not None
        return math.log(self.median), self.sigma

    @property
    def mean_s(self) -> float:
        mu, s = self._mu_sigma()
        return math.exp(mu + s * s / 2)

    @property
    def variance_s2(self) -> float:
        mu, s = self._mu_sigma()
        return math.expm1(s * s) * math.exp(2 * mu + s * s)

    def _scaled_scv(self) -> float:
        return math.expm1(self._mu_sigma()[1] ** 2)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        mu, s = self._mu_sigma()
        return rng.lognormal(mu, s, n)


class Gamma(_Dist):
    """Gamma by (mean, cv) or (shape, scale): shape = 1/cv², scale = mean·cv²."""

    dist: Literal["gamma"]
    mean: Duration | None = Field(default=None, gt=0)
    cv: float | None = Field(default=None, gt=0)
    shape: float | None = Field(default=None, gt=0)
    scale: Duration | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _params(self) -> Gamma:
        _mean_cv_or_native(self, (("mean", "cv"), ("shape", "scale")))
        return self

    def _shape_scale(self) -> tuple[float, float]:
        if self.shape is not None and self.scale is not None:
            return self.shape, self.scale
        assert self.mean is not None and self.cv is not None
        return 1 / self.cv**2, self.mean * self.cv**2

    @property
    def mean_s(self) -> float:
        k, theta = self._shape_scale()
        return k * theta

    @property
    def variance_s2(self) -> float:
        k, theta = self._shape_scale()
        return k * theta * theta

    def _scaled_scv(self) -> float:
        return 1 / self._shape_scale()[0]

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        k, theta = self._shape_scale()
        return rng.gamma(k, theta, n)


def gammaln(x: float) -> float:
    """log Γ(x), by scipy (imported here: only Weibull parameters need it, and ``import servsim``
    stays free of scipy)."""
    from scipy.special import gammaln as _gammaln

    return float(_gammaln(x))


def _weibull_cv(shape: float) -> float:
    """cv of a Weibull with the given shape: sqrt(Γ(1+2/k)/Γ(1+1/k)² - 1)."""
    return math.sqrt(math.expm1(gammaln(1 + 2 / shape) - 2 * gammaln(1 + 1 / shape)))


class Weibull(_Dist):
    """Weibull by (shape, scale) or (mean, cv); mean = scale·Γ(1+1/k).

    From (mean, cv) the shape k solves cv(k) = cv numerically, for shapes 0.1 <= k <= 100.
    """

    dist: Literal["weibull"]
    shape: float | None = Field(default=None, gt=0)
    scale: Duration | None = Field(default=None, gt=0)
    mean: Duration | None = Field(default=None, gt=0)
    cv: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _params(self) -> Weibull:
        _mean_cv_or_native(self, (("mean", "cv"), ("shape", "scale")))
        if self.cv is not None and not _weibull_cv(100.0) < self.cv < _weibull_cv(0.1):
            raise ValueError(
                f"cv {self.cv} is outside what a Weibull can have here "
                f"({_weibull_cv(100.0):.4f} < cv < {_weibull_cv(0.1):.1f})"
            )
        return self

    def _shape_scale(self) -> tuple[float, float]:
        if self.shape is not None and self.scale is not None:
            return self.shape, self.scale
        assert self.mean is not None and self.cv is not None
        from scipy.optimize import brentq

        cv = self.cv
        k = brentq(lambda s: _weibull_cv(s) - cv, 0.1, 100.0, xtol=1e-12)
        return k, self.mean / math.exp(gammaln(1 + 1 / k))

    @property
    def mean_s(self) -> float:
        k, lam = self._shape_scale()
        return lam * math.exp(gammaln(1 + 1 / k))

    @property
    def variance_s2(self) -> float:
        k, lam = self._shape_scale()
        return lam * lam * math.expm1(gammaln(1 + 2 / k) - 2 * gammaln(1 + 1 / k)) * math.exp(
            2 * gammaln(1 + 1 / k)
        )

    def _scaled_scv(self) -> float:
        return _weibull_cv(self._shape_scale()[0]) ** 2

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        k, lam = self._shape_scale()
        return lam * rng.weibull(k, n)


class Erlang(_Dist):
    """Erlang-k with the given mean: sum of k exponentials of mean/k; cv = 1/sqrt(k)."""

    dist: Literal["erlang"]
    #: strict: ``true`` or ``2.0`` is not a number of phases
    k: Annotated[int, StrictMode()] = Field(ge=1, le=10_000)
    mean: Duration = Field(gt=0)

    @property
    def mean_s(self) -> float:
        return self.mean

    @property
    def variance_s2(self) -> float:
        return self.mean**2 / self.k

    def _scaled_scv(self) -> float:
        return 1 / self.k

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.gamma(self.k, self.mean / self.k, n)


class Empirical(_Dist):
    """Resampling (with replacement) of observed values, inline or from a CSV column.

    ``values: [30s, 45s, 2min]`` or ``file: handle_times.csv, column: handle, unit: s``; the file path is
    relative to the scenario file. Its values are read once, at load time.
    """

    dist: Literal["empirical"]
    values: list[Duration] | None = Field(default=None, min_length=1, max_length=1_000_000)
    file: str | None = None
    column: str | None = None
    unit: str = "s"
    _data: tuple[float, ...] = PrivateAttr(default=())

    @model_validator(mode="after")
    def _load(self, info: ValidationInfo) -> Empirical:
        if (self.values is None) == (self.file is None):
            raise ValueError("give exactly one of 'values' (a list of durations) or 'file' (a CSV path)")
        if self.unit not in TIME_UNITS:
            raise ValueError(f"unknown unit {quoted(self.unit)}; use one of s, min, h")
        if self.values is not None:
            self._data = tuple(self.values)
        else:
            path = referenced_file(info.context, str(self.file), "CSV file")
            self._data = tuple(v * TIME_UNITS[self.unit] for v in read_csv_column(path, self.column))
        if any(v < 0 or not math.isfinite(v) for v in self._data):
            raise ValueError("empirical values must be finite and non-negative")
        return self

    @property
    def data(self) -> tuple[float, ...]:
        return self._data

    @property
    def mean_s(self) -> float:
        return float(np.mean(self._data))

    @property
    def variance_s2(self) -> float:
        return float(np.var(self._data))

    def _scaled_scv(self) -> float:
        data = np.asarray(self._data) / max(self._data)
        return float(np.var(data) / np.mean(data) ** 2)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.choice(np.asarray(self._data), n)


def read_csv_column(path: Path, column: str | None) -> list[float]:
    """Read one numeric column of a CSV file (the first column when ``column`` is None)."""
    return read_rows(path, [column], _number)


def _number(cells: list[str | None]) -> float:
    return number(cells[0])


Distribution = Annotated[
    Union[Exponential, Deterministic, Uniform, Triangular, Lognormal, Gamma, Weibull, Erlang, Empirical],
    Field(discriminator="dist"),
]

DISTRIBUTION_NAMES = ("exponential", "deterministic", "uniform", "triangular", "lognormal", "gamma",
                      "weibull", "erlang", "empirical")


class _ZeroAtom(_Dist):
    """A patience with an atom at zero: with probability ``zero`` the customer will not wait at
    all (hangs up the moment they would have to queue; who is served at once is unaffected), else
    the patience is drawn from the distribution. Moments are the mixture's: mean (1 − z)·m,
    E[X²] = (1 − z)·(σ² + m²).

    ``draw`` gives the continuous part only; the engine mixes the atom in with a uniform of its own
    stream (``patience-zero/<channel>/<segment>``), so that the continuous draws are the same with
    and without an atom (common random numbers)."""

    zero: Share = 0.0

    @property
    def mean_s(self) -> float:
        return (1.0 - self.zero) * super().mean_s

    @property
    def variance_s2(self) -> float:
        m, v, z = super().mean_s, super().variance_s2, self.zero
        return (1.0 - z) * (v + m * m) - ((1.0 - z) * m) ** 2

    def _scaled_scv(self) -> float:
        # scv of the mixture: (scv₀ + 1) / (1 − z) − 1
        return (super()._scaled_scv() + 1.0) / (1.0 - self.zero) - 1.0 if self.zero < 1 else 0.0


def _patience_kind(cls: type[_Dist]) -> type[_Dist]:
    """``cls`` as a patience distribution, ``<cls>Patience``: the same parameters and an optional
    ``zero`` atom. A module global under its own name, so that it pickles (runs in worker processes)."""
    name = f"{cls.__name__}Patience"
    kind = type(name, (_ZeroAtom, cls), {"__module__": __name__, "__qualname__": name, "__doc__": cls.__doc__})
    globals()[name] = kind
    return kind


_PATIENCE_KINDS = tuple(_patience_kind(c) for c in (Exponential, Deterministic, Uniform, Triangular, Lognormal, Gamma,
                                                     Weibull, Erlang, Empirical))

#: A patience: any distribution, with an optional atom at zero (``zero``: the share who hang up at once).
PatienceDistribution = Annotated[Union[_PATIENCE_KINDS], Field(discriminator="dist")]  # type: ignore[valid-type]
