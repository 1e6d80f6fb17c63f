"""Distribution specs: analytic moments agree with their samplers; mean/cv and native forms agree."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from servsim.scenario.distributions import Distribution

ADAPTER = TypeAdapter(Distribution)

SPECS = [
    {"dist": "exponential", "mean": "3min"},
    {"dist": "deterministic", "value": "45s"},
    {"dist": "uniform", "low": "1min", "high": "4min"},
    {"dist": "triangular", "low": "1min", "mode": "2min", "high": "6min"},
    {"dist": "lognormal", "mean": "3min", "cv": 1.5},
    {"dist": "lognormal", "median": "2min", "sigma": 0.5},
    {"dist": "gamma", "mean": "3min", "cv": 0.5},
    {"dist": "gamma", "shape": 2.0, "scale": "90s"},
    {"dist": "weibull", "mean": "3min", "cv": 0.7},
    {"dist": "weibull", "shape": 1.5, "scale": "2min"},
    {"dist": "erlang", "k": 3, "mean": "3min"},
    {"dist": "empirical", "values": ["30s", "45s", "2min", "10min"]},
]


@pytest.mark.parametrize("spec", SPECS, ids=[f"{s['dist']}-{i}" for i, s in enumerate(SPECS)])
def test_sample_mean_and_variance_match_the_analytic_moments(spec):
    d = ADAPTER.validate_python(spec)
    n = 200_000
    x = d.draw(np.random.default_rng(12345), n)
    assert (x >= 0).all()
    mean, var = d.mean_s, d.variance_s2
    if var == 0:
        assert np.all(x == mean)
        return
    # 99.9% normal interval for the sample mean (n large): z * sd / sqrt(n)
    assert abs(x.mean() - mean) <= 3.29 * math.sqrt(var / n)
    # the sample variance within 10% (heavy tails make its own CI wide; 200k draws keep this honest)
    assert x.var() == pytest.approx(var, rel=0.1 if d.scv < 1.5 else 0.35)


@pytest.mark.parametrize("spec,cv", [
    ({"dist": "lognormal", "mean": "3min", "cv": 1.5}, 1.5),
    ({"dist": "gamma", "mean": "3min", "cv": 0.5}, 0.5),
    ({"dist": "weibull", "mean": "3min", "cv": 0.7}, 0.7),
    ({"dist": "erlang", "k": 4, "mean": "3min"}, 0.5),
    ({"dist": "exponential", "mean": "3min"}, 1.0),
])
def test_mean_and_cv_parameterisation_is_exact(spec, cv):
    d = ADAPTER.validate_python(spec)
    assert d.mean_s == pytest.approx(180.0, rel=1e-9)
    assert math.sqrt(d.scv) == pytest.approx(cv, rel=1e-7)


@pytest.mark.parametrize("spec,words", [
    ({"dist": "lognormal", "mean": "3min"}, "exactly one parameter set"),
    ({"dist": "lognormal", "mean": "3min", "cv": 1, "sigma": 1}, "exactly one parameter set"),
    ({"dist": "gamma", "mean": "3min", "cv": -1}, "greater than 0"),
    ({"dist": "uniform", "low": "4min", "high": "1min"}, "high must be at least low"),
    ({"dist": "triangular", "low": "1min", "mode": "9min", "high": "6min"}, "low <= mode <= high"),
    ({"dist": "exponential", "mean": 3}, "unit"),
    ({"dist": "exponential", "mean": "0s"}, "greater than 0"),
    ({"dist": "weibull", "mean": "3min", "cv": 5000}, "outside"),
    ({"dist": "empirical"}, "exactly one of 'values'"),
    ({"dist": "poisson", "mean": "3min"}, "does not match any of the expected tags"),
])
def test_bad_parameters_are_refused(spec, words):
    with pytest.raises(ValidationError) as exc:
        ADAPTER.validate_python(spec)
    assert words in str(exc.value)


def test_empirical_from_csv(tmp_path):
    (tmp_path / "aht.csv").write_text("call,handle\n1,2\n2,4\n3,6\n")
    d = ADAPTER.validate_python({"dist": "empirical", "file": "aht.csv", "column": "handle", "unit": "min"},
                                context={"base_dir": str(tmp_path)})
    assert d.data == (120.0, 240.0, 360.0)
    assert d.mean_s == 240.0
    with pytest.raises(ValidationError, match="column 'nope' not in"):
        ADAPTER.validate_python({"dist": "empirical", "file": "aht.csv", "column": "nope"},
                                context={"base_dir": str(tmp_path)})
