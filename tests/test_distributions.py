"""Distribution families: sample moments match the documented mean and variance."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import TypeAdapter

from sim.core.distributions import Distribution

SPECS = [
    {"dist": "fixed", "value": 3.0},
    {"dist": "exponential", "mean": 4.0},
    {"dist": "lognormal", "median": 2.0, "sigma": 0.5},
    {"dist": "gamma", "shape": 2.0, "scale": 1.5},
    {"dist": "uniform", "low": 1.0, "high": 5.0},
    {"dist": "triangular", "low": 1.0, "mode": 2.0, "high": 6.0},
    {"dist": "empirical", "values": [1, 2, 10], "weights": [0.5, 0.3, 0.2]},
]
ADAPTER = TypeAdapter(Distribution)


@pytest.mark.parametrize("spec", SPECS, ids=[s["dist"] for s in SPECS])
def test_sample_moments_match(spec: dict) -> None:
    d = ADAPTER.validate_python(spec)
    x = d.sample(np.random.default_rng(12345), 400_000)
    assert (x >= 0).all()
    assert x.mean() == pytest.approx(d.mean, rel=0.01, abs=1e-9)
    assert x.var() == pytest.approx(d.variance, rel=0.03, abs=1e-9)


def test_documented_lognormal_mean() -> None:
    d = ADAPTER.validate_python({"dist": "lognormal", "median": 1.0, "sigma": 1.0})
    assert d.mean == pytest.approx(np.exp(0.5))
