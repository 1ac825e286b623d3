"""Calibration targets: named quantities of the observed CFSP record beside the same quantities
computed from a run.

The targets are declared once, in :mod:`sim.analysis.targets`; the observed record and its
configuration (``sim/data/calibration.toml``) are read by :mod:`sim.analysis.record`.
:func:`observed_targets` measures the targets on the record, :func:`simulated_targets` on each
replication of a run (or on each simulated record, :func:`record_targets`), and
:func:`fit_table` lines the two up.

The predictive check compares like with like: :func:`record_targets` pools a run's replications
into simulated records of the observed record's size and span (:mod:`sim.analysis.blocks`:
three one-year replications, and of each type the record counts as many items as it has), so
the 90% interval across simulated records is as wide as the record's own sampling noise. The
ABC distance (:mod:`sim.experiment.calibrate`) is unchanged: it compares each target's mean over
a simulation's one-year replications (:func:`simulated_targets`) with the observed value.
Nothing here tunes the model.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.blocks import RecordSize, simulated_records
from sim.analysis.record import Record, bundled, calibration_config, observed_record, type_map
from sim.analysis.replications import Run
from sim.analysis.targets import CHECKS, targets

__all__ = [
    "calibration_config",
    "fit_table",
    "observed_record",
    "observed_size",
    "observed_targets",
    "record_targets",
    "simulated_targets",
    "type_map",
]


def observed_targets(
    path: str | Path | None = None, config: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """The named calibration targets derived from the observed record.

    Only rows of confidence ``verified`` or ``secondary`` are used. Columns: ``target``,
    ``label``, ``check`` (``interval``: observed inside the simulated 90% interval; ``range``:
    the simulated ``statistic`` in [low, high]; ``above``: it is above ``low``), ``observed``,
    ``statistic`` (over simulated records: ``median``, or ``mean`` for a share pooled over
    them), ``low``, ``high``, ``n``, ``source_ids``, ``note``.
    """
    cfg = config or calibration_config()
    record = Record(observed_record(path), cfg)
    rows = []
    for target in targets(record.th, record.kinds):
        measured = target.observed(record)
        rows.append(
            {
                "target": target.name,
                "label": target.label,
                "check": target.check,
                "observed": float(measured.value),
                "low": np.nan,
                "high": np.nan,
                "n": len(measured.rows),
                "source_ids": " ".join(measured.rows["id"]),
                "note": measured.note,
            }
        )
    out = pd.DataFrame(rows)
    out.insert(out.columns.get_loc("low"), "statistic", "median")
    for target, soft in cfg.get("soft", {}).items():
        hit = out["target"] == target
        out.loc[hit, "statistic"] = soft.get("statistic", "median")
        out.loc[hit, "low"] = soft.get("low", np.nan)
        out.loc[hit, "high"] = soft.get("high", np.nan)
        out.loc[hit, "note"] += "; " + soft["note"]
    return out


def observed_size(
    path: str | Path | None = None, config: Mapping[str, Any] | None = None
) -> RecordSize:
    """The size and span of the observed record (``path``, default the bundled one): what a
    simulated record holds (:attr:`sim.analysis.record.Record.size`)."""
    return Record(observed_record(path), config or calibration_config()).size


def record_targets(
    proposals: pd.DataFrame,
    stages: pd.DataFrame,
    body_levels: Mapping[str, str],
    size: RecordSize,
    horizon_days: float,
    config: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """:func:`simulated_targets` on simulated records of ``size``, pooled from replications of
    ``horizon_days`` (:func:`sim.analysis.blocks.simulated_records`): ``replication`` numbers
    the simulated records."""
    p, s = simulated_records(proposals, stages, size, horizon_days)
    return simulated_targets(p, s, body_levels, config)


def simulated_targets(
    proposals: pd.DataFrame,
    stages: pd.DataFrame,
    body_levels: Mapping[str, str],
    config: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """The calibration targets computed from a run's tables, one value per replication.

    ``body_levels`` maps each body id to its level (``working_party`` ... ``european_council``,
    from the scenario); ``config`` defaults to ``sim/data/calibration.toml`` (its ``types``
    table maps observed categories to proposal types). Returns columns ``replication``,
    ``target``, ``value`` (NaN where a replication has nothing to measure), replications in
    order. Every target is computed for all the replications at once.
    """
    types, cfg = bundled() if not config else (type_map(config), config)
    run = Run(proposals, stages, body_levels, types, cfg)
    groups = run.groups
    if not groups.n:
        return pd.DataFrame([], columns=["replication", "target", "value"])
    values = {t.name: t.simulated(run) for t in targets(run.th, run.kinds)}
    return pd.DataFrame(
        {
            "replication": np.repeat(groups.reps, len(values)),
            "target": np.tile(list(values), groups.n),
            "value": np.column_stack(list(values.values())).ravel(),
        }
    )


def fit_table(observed: pd.DataFrame, simulated: pd.DataFrame) -> pd.DataFrame:
    """Each observed target beside its simulated distribution across simulated records
    (``simulated``'s ``replication`` column, :func:`record_targets`): median, mean, 5% and 95%
    (the 90% predictive interval), ``records``, the number of records with a value, and
    ``inside`` (by the target's ``check``: ``interval``, ``range`` or ``above``, on its
    ``statistic``)."""
    vals = simulated.dropna(subset=["value"]).groupby("target")["value"]
    sim = pd.DataFrame(
        {
            "simulated_median": vals.median(),
            "simulated_mean": vals.mean(),
            "p5": vals.quantile(0.05),
            "p95": vals.quantile(0.95),
            "records": vals.size(),
        }
    )
    fit = observed.merge(sim, left_on="target", right_index=True, how="left")
    fit["records"] = fit["records"].fillna(0).astype(int)
    if "statistic" not in fit:
        fit["statistic"] = "median"
    value = fit["simulated_mean"].where(fit["statistic"] == "mean", fit["simulated_median"])
    fit["inside"] = np.select(
        [fit["check"] == check for check in CHECKS],
        [inside(fit, value) for inside in CHECKS.values()],
        default=False,
    ).astype(bool)
    cols = [
        "target",
        "label",
        "check",
        "observed",
        "statistic",
        "low",
        "high",
        "simulated_median",
        "simulated_mean",
        "p5",
        "p95",
        "inside",
        "n",
        "records",
        "source_ids",
        "note",
    ]
    return fit[cols].reset_index(drop=True)
