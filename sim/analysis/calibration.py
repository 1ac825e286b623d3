"""Calibration: observed CFSP durations and shares next to what a run simulates.

The observations live in ``sim/data/observed.toml`` with their sources. These functions only
line them up against simulated tables; they never tune anything.
"""

from __future__ import annotations

import tomllib
from importlib import resources

import numpy as np
import pandas as pd

from sim.analysis.stats import ADOPTED


def observed() -> dict[str, pd.DataFrame]:
    """The observed durations and shares, as DataFrames."""
    text = resources.files("sim").joinpath("data/observed.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    return {"durations": pd.DataFrame(data["durations"]), "shares": pd.DataFrame(data["shares"])}


def duration_fit(proposals: pd.DataFrame) -> pd.DataFrame:
    """Each observed duration beside the simulated distribution of its proposal type: the
    simulated median, 10th-90th percentile range, and the percentile the observation falls at."""
    obs = observed()["durations"]
    adopted = proposals[proposals["outcome"].isin(ADOPTED)]
    rows = []
    for r in obs.itertuples():
        sim = adopted.loc[adopted["type"].astype(str) == r.proposal_type, "duration_days"]
        d = sim.to_numpy(dtype=float)
        rows.append(
            {
                "observation": r.label,
                "observed_days": r.days,
                "simulated_median": float(np.median(d)) if len(d) else np.nan,
                "simulated_p10": float(np.percentile(d, 10)) if len(d) else np.nan,
                "simulated_p90": float(np.percentile(d, 90)) if len(d) else np.nan,
                "percentile_of_observation": float((d < r.days).mean() * 100) if len(d) else np.nan,
                "n_simulated": len(d),
            }
        )
    return pd.DataFrame(rows)


def ministerial_share(stages: pd.DataFrame, council_bodies: list[str]) -> float:
    """Share of proposals discussed (at least one round) in a Council-level body: the model's
    counterpart of B items at ministerial level."""
    discussed = stages[stages["body"].astype(str).isin(council_bodies) & (stages["rounds"] > 0)]
    keys = ["replication", "proposal_id"] if "replication" in stages else ["proposal_id"]
    n_all = len(stages[keys].drop_duplicates())
    return len(discussed[keys].drop_duplicates()) / n_all if n_all else np.nan
