"""The calibration fit of a results folder: its tables, pooled into simulated records of the
observed record's size and span, against the observed targets."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sim.analysis.calibration import fit_table, observed_size, observed_targets, record_targets
from sim.experiment.moments import body_levels
from sim.experiment.paths import write_output
from sim.experiment.results import Experiment, open_results


def fit_results(run: str | Path | Experiment) -> pd.DataFrame:
    """The fit table (:func:`sim.analysis.calibration.fit_table`) of a complete results folder
    (or of a run already opened): its replications, ``k`` at a time, make the simulated
    records (:mod:`sim.analysis.blocks`; the replications after the last whole record are not
    used, a run of fewer than ``k`` makes one record).

    Raises :class:`~sim.core.errors.UserError` for a missing, incomplete or corrupt folder.
    """
    exp = run if isinstance(run, Experiment) else open_results(run)
    levels = body_levels(exp.scenario)
    horizon = float(exp.manifest["horizon_days"])
    simulated = record_targets(exp.proposals, exp.stages, levels, observed_size(), horizon)
    return fit_table(observed_targets(), simulated)


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


def records_warning(run: Experiment) -> str | None:
    """A warning when the run has fewer replications than one simulated record spans: its one
    record is shorter than the observed record."""
    n = int(run.manifest["replications"])
    span = observed_size()
    k = span.replications(float(run.manifest["horizon_days"]))
    if n >= k:
        return None
    return (
        f"a simulated record spans {k} replications (the observed record's {span.span_days:g} "
        f"days); the run's {n} make one shorter record (run -n {k} or more)"
    )


def write_fit(table: pd.DataFrame, path: Path) -> Path:
    """Write the fit table as CSV, atomically (a failure to write is a :class:`UserError`
    naming the file)."""
    return write_output(path, table.to_csv(index=False))
