"""Distributions of delays and durations, as validated scenario values.

A scenario writes a distribution as an inline table with a ``dist`` key, e.g.
``{ dist = "lognormal", median = 3, sigma = 0.5 }``. Each family below is a pydantic model
(so bad parameters fail at load time) that can draw a block of values from an explicit numpy
``Generator`` and states its mean and variance. All values are in days and never negative.

| dist | parameters | mean | variance |
|---|---|---|---|
| fixed | value | value | 0 |
| exponential | mean | mean | mean² |
| lognormal | median, sigma | median·exp(σ²/2) | (exp(σ²)−1)·median²·exp(σ²) |
| gamma | shape, scale | shape·scale | shape·scale² |
| uniform | low, high | (low+high)/2 | (high−low)²/12 |
| triangular | low, mode, high | (low+mode+high)/3 | (l²+m²+h²−lm−lh−mh)/18 |
| empirical | values, weights (optional) | Σ wᵢvᵢ | Σ wᵢ(vᵢ−mean)² |
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, NonNegativeFloat, PositiveFloat, model_validator


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)  # "20" is not 20

    @property
    def mean(self) -> float:  # pragma: no cover - every family overrides
        raise NotImplementedError

    @property
    def variance(self) -> float:  # pragma: no cover - every family overrides
        raise NotImplementedError

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:  # pragma: no cover
        """Draw ``size`` values (days) from ``rng``."""
        raise NotImplementedError


class Fixed(_Dist):
    """Always ``value`` days.

    >>> Fixed(dist="fixed", value=2.0).sample(np.random.default_rng(0), 3)
    array([2., 2., 2.])
    """

    dist: Literal["fixed"]
    value: NonNegativeFloat

    @property
    def mean(self) -> float:
        return self.value

    @property
    def variance(self) -> float:
        return 0.0

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return np.full(size, self.value)


class Exponential(_Dist):
    """Exponential with the given ``mean`` (days)."""

    dist: Literal["exponential"]
    mean_days: PositiveFloat = Field(alias="mean")

    @property
    def mean(self) -> float:
        return self.mean_days

    @property
    def variance(self) -> float:
        return self.mean_days**2

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.exponential(self.mean_days, size)


class Lognormal(_Dist):
    """Lognormal with the given ``median`` (days) and log-scale ``sigma``."""

    dist: Literal["lognormal"]
    median: PositiveFloat
    sigma: NonNegativeFloat

    @property
    def mean(self) -> float:
        return self.median * math.exp(self.sigma**2 / 2)

    @property
    def variance(self) -> float:
        s2 = self.sigma**2
        return (math.exp(s2) - 1.0) * self.median**2 * math.exp(s2)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.lognormal(math.log(self.median), self.sigma, size)


class Gamma(_Dist):
    """Gamma with ``shape`` k and ``scale`` θ (days)."""

    dist: Literal["gamma"]
    shape: PositiveFloat
    scale: PositiveFloat

    @property
    def mean(self) -> float:
        return self.shape * self.scale

    @property
    def variance(self) -> float:
        return self.shape * self.scale**2

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.gamma(self.shape, self.scale, size)


class Uniform(_Dist):
    """Uniform on [``low``, ``high``] days."""

    dist: Literal["uniform"]
    low: NonNegativeFloat
    high: NonNegativeFloat

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError("high must be >= low")
        return self

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    @property
    def variance(self) -> float:
        return (self.high - self.low) ** 2 / 12

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, size)


class Triangular(_Dist):
    """Triangular on [``low``, ``high``] days with peak at ``mode``."""

    dist: Literal["triangular"]
    low: NonNegativeFloat
    mode: NonNegativeFloat
    high: NonNegativeFloat

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not (self.low <= self.mode <= self.high) or self.low == self.high:
            raise ValueError("need low <= mode <= high and low < high")
        return self

    @property
    def mean(self) -> float:
        return (self.low + self.mode + self.high) / 3

    @property
    def variance(self) -> float:
        lo, m, h = self.low, self.mode, self.high
        return (lo * lo + m * m + h * h - lo * m - lo * h - m * h) / 18

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.triangular(self.low, self.mode, self.high, size)


class Empirical(_Dist):
    """Observed ``values`` (days), drawn with replacement, optionally with ``weights``."""

    dist: Literal["empirical"]
    values: list[NonNegativeFloat] = Field(min_length=1)
    weights: list[NonNegativeFloat] | None = None

    @model_validator(mode="after")
    def _weights(self) -> Empirical:
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError("weights must have as many entries as values")
            if sum(self.weights) <= 0:
                raise ValueError("weights must not all be zero")
        return self

    def _p(self) -> np.ndarray:
        w = np.ones(len(self.values)) if self.weights is None else np.asarray(self.weights)
        return w / w.sum()

    @property
    def mean(self) -> float:
        return float(np.dot(self._p(), self.values))

    @property
    def variance(self) -> float:
        v = np.asarray(self.values)
        return float(np.dot(self._p(), (v - self.mean) ** 2))

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.choice(np.asarray(self.values, dtype=float), size=size, p=self._p())


Distribution = Annotated[
    Fixed | Exponential | Lognormal | Gamma | Uniform | Triangular | Empirical,
    Field(discriminator="dist"),
]
"""Any distribution family, chosen by its ``dist`` key."""
