"""The calibration fit of a results folder: its tables against the observed targets."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sim.analysis.calibration import fit_table, observed_targets, simulated_targets
from sim.experiment.moments import body_levels
from sim.experiment.paths import write_output
from sim.experiment.results import Experiment, open_results


def fit_results(run: str | Path | Experiment) -> pd.DataFrame:
    """The fit table (:func:`sim.analysis.calibration.fit_table`) of a complete results folder
    (or of a run already opened).

    Raises :class:`~sim.core.errors.UserError` for a missing, incomplete or corrupt folder.
    """
    exp = run if isinstance(run, Experiment) else open_results(run)
    levels = body_levels(exp.scenario)
    stages = exp.stages
    proposals = exp.proposals
    return fit_table(observed_targets(), simulated_targets(proposals, stages, levels))


def period_warning(run: Experiment) -> str | None:
    """A warning when the run's replications are not one year long: the targets (counts,
    shares, the EPF tail of 180 days) describe one-year replications."""
    horizon = float(run.manifest["horizon_days"])
    if horizon == 365.0:
        return None
    return (
        f"the run's replications cover {horizon:g} days; the targets describe one-year "
        "replications (run with the scenario's 365 days to compare)"
    )


def write_fit(table: pd.DataFrame, path: Path) -> Path:
    """Write the fit table as CSV, atomically (a failure to write is a :class:`UserError`
    naming the file)."""
    return write_output(path, table.to_csv(index=False))
