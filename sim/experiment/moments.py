"""Summary statistics of a scenario under a parameter set: what sensitivity analysis and
calibration compare, computed without writing any files.

:func:`simulate_targets` runs seeded replications of a scenario (with a priors parameter set
applied) and returns the calibration targets of :mod:`sim.analysis.calibration` per replication,
plus the adoption rate. :class:`Simulator` binds a scenario and its priors once, so that the many
parameter sets of a sensitivity analysis or an ABC run cost one validation and one compilation
each; it pickles, so it runs in worker processes.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from sim.analysis.blocks import RecordSize
from sim.analysis.calibration import record_targets, simulated_targets
from sim.analysis.stats import ADOPTED
from sim.engine.compile import Model
from sim.scenario import Scenario
from sim.scenario.priors import Prior, with_parameters

ADOPTION = "adoption_rate"


def body_levels(scenario: Scenario) -> dict[str, str]:
    """Each body's level (``working_party`` ... ``european_council``)."""
    return {b: spec.level.value for b, spec in scenario.bodies.items()}


def _tables(
    scenario: Scenario, seed: int, replications: Sequence[int]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The proposals and stages of an in-memory run (no event log, no files), each with a last
    column ``replication``: every replication's as Arrow, made DataFrames once."""
    model = Model(scenario)
    runs = [model.run_tables(seed, rep, detail=False) for rep in replications]
    return stacked([r["proposals"] for r in runs]), stacked([r["stages"] for r in runs])


def simulate_targets(scenario: Scenario, seed: int, replications: Sequence[int]) -> pd.DataFrame:
    """The calibration targets and the adoption rate of each replication (long table
    ``replication, target, value``), from an in-memory run: no event log, no files."""
    p, s = _tables(scenario, seed, replications)
    targets = simulated_targets(p, s, body_levels(scenario))
    adopted = p["outcome"].astype(str).isin(ADOPTED)
    rate = adopted.groupby(p["replication"]).mean()
    extra = pd.DataFrame({"replication": rate.index, "target": ADOPTION, "value": rate.to_numpy()})
    return pd.concat([targets, extra], ignore_index=True)


def stacked(tables: list[pa.Table]) -> pd.DataFrame:
    """The replications' tables one below the other, ``replication`` last."""
    t = pa.concat_tables(tables)
    return (
        t.drop_columns("replication")
        .append_column(t.field("replication"), t["replication"])
        .to_pandas()
    )


@dataclass
class Simulator:
    """A scenario and its priors, ready to be run at many parameter sets."""

    scenario: Scenario
    priors: Sequence[Prior]
    _raw: dict[str, Any] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._raw = tomllib.loads(self.scenario.to_toml())

    def at(self, theta: Mapping[str, float]) -> Scenario:
        """The scenario with parameter set ``theta`` (key path -> value) applied."""
        by_key = {p.key: p for p in self.priors}
        values = {k: by_key[k].value(v) if k in by_key else v for k, v in theta.items()}
        return with_parameters(self.scenario, values, self._raw)

    def targets(
        self, theta: Mapping[str, float], seed: int, replications: Sequence[int]
    ) -> pd.DataFrame:
        """:func:`simulate_targets` at ``theta``."""
        return simulate_targets(self.at(theta), seed, replications)

    def records(
        self, theta: Mapping[str, float], seed: int, replications: Sequence[int], size: RecordSize
    ) -> pd.DataFrame:
        """The calibration targets at ``theta`` of each simulated record of ``size`` the
        ``replications`` make (:func:`~sim.analysis.calibration.record_targets`)."""
        scenario = self.at(theta)
        p, s = _tables(scenario, seed, replications)
        return record_targets(p, s, body_levels(scenario), size, scenario.horizon_days)

    def means(
        self, theta: Mapping[str, float], seed: int, replications: Sequence[int]
    ) -> dict[str, float]:
        """Each target's mean over the replications (NaN where none has a value)."""
        t = self.targets(theta, seed, replications)
        means = t.groupby("target", sort=True)["value"].mean()
        return {str(k): float(v) for k, v in means.items()}


def theta_rows(priors: Sequence[Prior], unit: np.ndarray) -> list[dict[str, float]]:
    """Rows of uniform draws in [0, 1]^d as parameter sets on the priors' scales."""
    cols = [p.from_unit(unit[:, j]) for j, p in enumerate(priors)]
    return [{p.key: float(cols[j][i]) for j, p in enumerate(priors)} for i in range(unit.shape[0])]
