"""Runs that carry parameter uncertainty: one posterior draw per replication.

``cfsp-sim run SCENARIO --posterior DIR`` (``DIR``: a complete ``cfsp-sim calibrate`` folder)
draws for replication ``i`` one parameter set from the weighted posterior, with a generator
seeded by the run's seed and ``i`` alone — so replication ``i`` gets the same draw in every
scenario run with that seed, and comparisons stay paired. A key the scenario sets to a value
other than both the posterior's point estimate (as in ``calibrated.toml``) and the value it had in
the calibrated scenario is the scenario's own choice — a policy variant such as
``holdout_state`` — and keeps that value; the manifest lists such keys.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.core.rng import Stream, stream
from sim.experiment.folder import sha256_file
from sim.experiment.results import check_folder
from sim.scenario import Scenario
from sim.scenario.priors import Prior, current_values, load_priors


@dataclass
class Posterior:
    """Weighted parameter draws (``posterior.parquet``: one column per key, ``weight``)."""

    draws: pd.DataFrame
    priors: Sequence[Prior]

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.priors]

    def effective_size(self) -> float:
        """Kish's effective sample size of the weights, 1 / sum(w^2) for weights summing to 1:
        how many equally weighted draws the population is worth."""
        w = self.draws["weight"].to_numpy(float)
        w = w / w.sum()
        return float(1.0 / np.sum(w**2))

    def quantile(self, key: str, q: float) -> float:
        """The weighted ``q``-quantile of one parameter's draws."""
        w = self.draws["weight"].to_numpy(float)
        x = self.draws[key].to_numpy(float)
        order = np.argsort(x)
        cdf = np.cumsum(w[order]) / w.sum()
        return float(x[order][min(np.searchsorted(cdf, q), len(x) - 1)])

    def point(self) -> dict[str, float]:
        """The weighted median of each parameter (4 significant digits; integers rounded)."""
        return {p.key: p.value(float(f"{self.quantile(p.key, 0.5):.4g}")) for p in self.priors}

    def summary(self) -> pd.DataFrame:
        """Per parameter: prior range, weighted median and 90% credible interval."""
        return pd.DataFrame(
            [
                {
                    "parameter": p.key,
                    "prior_low": p.low,
                    "prior_high": p.high,
                    "median": self.quantile(p.key, 0.5),
                    "p5": self.quantile(p.key, 0.05),
                    "p95": self.quantile(p.key, 0.95),
                }
                for p in self.priors
            ]
        )

    def sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        """``n`` draws with replacement, by weight."""
        w = self.draws["weight"].to_numpy(float)
        idx = rng.choice(len(w), size=n, p=w / w.sum())
        return self.draws.iloc[idx][self.keys].reset_index(drop=True)


@dataclass(frozen=True)
class PosteriorSource:
    """A calibration folder's posterior, verified, and where it came from."""

    path: Path
    sha256: str
    posterior: Posterior
    input_values: Mapping[str, float]


def open_posterior(folder: str | Path, scenario: Scenario) -> PosteriorSource:
    """The posterior of a complete calibration folder (checked against ``scenario``'s keys).

    Raises :class:`~sim.core.errors.UserError` for a folder that is missing, incomplete,
    corrupt or not a calibration, or priors the scenario does not have."""
    path = Path(folder)
    manifest = check_folder(path, "calibration")
    priors = load_priors(path / "priors.toml", scenario)
    draws = pd.read_parquet(path / "posterior.parquet")
    digest = sha256_file(path / "posterior.parquet")
    return PosteriorSource(path, digest, Posterior(draws, priors), manifest.get("input_values", {}))


def own_keys(source: PosteriorSource, scenario: Scenario) -> list[str]:
    """Prior keys the scenario sets away from both the posterior's point estimate and the
    calibrated scenario's value: kept as set."""
    point, now = source.posterior.point(), current_values(source.posterior.priors, scenario)

    def same(a: float | None, b: float) -> bool:
        return a is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)

    return [
        k for k in point if not (same(point[k], now[k]) or same(source.input_values.get(k), now[k]))
    ]


def replication_parameters(
    source: PosteriorSource, scenario: Scenario, seed: int, n: int
) -> tuple[tuple[Mapping[str, float], ...], list[str]]:
    """One parameter set per replication ``0 .. n-1`` (less the scenario's own keys), and
    those own keys."""
    post = source.posterior
    kept = own_keys(source, scenario)
    keys = [p for p in post.priors if p.key not in kept]
    w = post.draws["weight"].to_numpy(float)
    w = w / w.sum()
    values = {p.key: post.draws[p.key].to_numpy() for p in keys}
    sets = []
    for i in range(n):
        row = int(stream(seed, i, Stream.POSTERIOR).choice(len(w), p=w))
        sets.append({p.key: p.value(values[p.key][row]) for p in keys})
    return tuple(sets), kept
