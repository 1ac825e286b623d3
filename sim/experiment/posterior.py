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
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from sim.core.errors import UserError
from sim.core.rng import Stream, stream
from sim.experiment.folder import MANIFEST, read_manifest, sha256_file, verify
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


POSTERIOR = "posterior.parquet"
BUNDLED_FILES = (MANIFEST, POSTERIOR, "priors.toml", "calibrated.toml")
"""What a bundled calibration ships (its figures, report and history stay in the docs)."""


def bundled_calibrations() -> dict[str, Path]:
    """The calibrations shipped with the package (``sim/calibrations/<name>/``), by name."""
    try:
        root = Path(str(resources.files("sim.calibrations")))
    except (ModuleNotFoundError, TypeError):  # pragma: no cover - a broken install
        return {}
    if not root.is_dir():  # pragma: no cover
        return {}
    return {p.name: p for p in sorted(root.iterdir()) if (p / MANIFEST).is_file()}


def _locate(spec: str | Path) -> tuple[Path, dict[str, Any]]:
    """A calibration folder (verified in full) or a bundled calibration by name (verified
    file by file against its manifest); its manifest."""
    path = Path(spec)
    bundled = bundled_calibrations()
    if not path.exists() and str(spec) in bundled:
        path = bundled[str(spec)]
        manifest = read_manifest(path)
        if manifest.get("kind") != "calibration" or manifest.get("status") != "complete":
            raise UserError(f"{path}: the bundled calibration is not a complete calibration")
        files = manifest.get("files") or {}
        listed = {rel: files[rel] for rel in BUNDLED_FILES[1:] if rel in files}
        verify(path, {"files": listed})
        return path, manifest
    return path, check_folder(path, "calibration")


def open_posterior(folder: str | Path, scenario: Scenario) -> PosteriorSource:
    """The posterior of a complete calibration folder, or of a bundled calibration by name
    (``"eu27_baseline"``: ``docs/calibration``, shipped with the package), checked against
    ``scenario``'s keys and checked itself before anything runs (:func:`check_draws`).

    Raises :class:`~sim.core.errors.UserError` for a folder that is missing, incomplete,
    corrupt or not a calibration, priors the scenario does not have, or draws that are not a
    usable posterior."""
    path, manifest = _locate(folder)
    priors = load_priors(path / "priors.toml", scenario)
    where = path / POSTERIOR
    digest = sha256_file(where)
    if manifest.get("posterior_sha256") != digest:
        raise UserError(
            f"{where}: its sha256 differs from the manifest's posterior_sha256 "
            f"({manifest.get('posterior_sha256')!r}): not the posterior this calibration wrote"
        )
    try:
        draws = pd.read_parquet(where)
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise UserError(f"{where}: not a readable Parquet table ({exc})") from None
    check_draws(where, draws, priors)
    return PosteriorSource(path, digest, Posterior(draws, priors), manifest.get("input_values", {}))


def check_draws(where: Path, draws: pd.DataFrame, priors: Sequence[Prior]) -> None:
    """Refuse a posterior table that is not usable: a parameter column or ``weight``
    missing, no rows, weights not finite, negative or summing to zero, a draw not finite or
    outside its prior's range."""
    missing = [c for c in [*(p.key for p in priors), "weight"] if c not in draws.columns]
    if missing:
        raise UserError(
            f"{where}: no column {', '.join(missing)} (a posterior has one column per "
            "parameter of priors.toml and a weight column)"
        )
    if len(draws) == 0:
        raise UserError(f"{where}: no draws (the table has no rows)")
    w = _numbers(where, draws, "weight")
    if (w < 0).any():
        raise UserError(f"{where}: weight: negative in row {int(np.argmax(w < 0))}")
    if not w.sum() > 0:
        raise UserError(f"{where}: weight: the weights sum to zero")
    for p in priors:
        x = _numbers(where, draws, p.key)
        slack = 0.5 if p.integer else 1e-9 * max(1.0, abs(p.low), abs(p.high))
        outside = (x < p.low - slack) | (x > p.high + slack)
        if outside.any():
            row = int(np.argmax(outside))
            raise UserError(
                f"{where}: {p.key}: {x[row]:g} in row {row} is outside the priors' range "
                f"[{p.low:g}, {p.high:g}]"
            )


def _numbers(where: Path, draws: pd.DataFrame, column: str) -> np.ndarray:
    """A column as finite floats, else :class:`UserError` naming the first bad row."""
    x = pd.to_numeric(draws[column], errors="coerce").to_numpy(float)
    bad = ~np.isfinite(x)
    if bad.any():
        row = int(np.argmax(bad))
        raise UserError(f"{where}: {column}: not a finite number in row {row}")
    return x


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
