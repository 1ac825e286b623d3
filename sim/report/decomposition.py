"""A scenario's effect split into mechanisms, as a chain: from the reference, each step switches
one more mechanism on (``qmv_art31_outvoting_only``, then ``qmv_art31_no_brake``, then
``qmv_art31``), and each mechanism's effect is the paired per-replication difference between
consecutive steps, so the components add up to the total exactly. Per metric, for all types (at
the reference's mix of types) and per proposal type, with 95% t-intervals over replications.

The steps are run from the compared run itself (:func:`chain_sources`): its scenario as it ran,
``--set`` overrides included, with each step's own keys written over it, and the same seed and
replications. (The one-at-a-time decomposition of the EU35 is
:func:`sim.report.comparison.decompose`.)
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.metrics import fmt_difference, fmt_interval
from sim.analysis.stats import REFERENCE_MIX, standardise, t_interval, type_mix
from sim.core.errors import UserError
from sim.experiment.results import Experiment, open_results
from sim.experiment.runner import run_experiment
from sim.experiment.source import Source
from sim.experiment.study import ExperimentOptions
from sim.report.names import metric_name, type_name
from sim.scenario.files import read_toml
from sim.scenario.loading import resolve_scenario

CHAINS: dict[str, tuple[tuple[str, str], ...]] = {
    "qmv_art31": (
        ("outvoting", "qmv_art31_outvoting_only"),
        ("anticipation", "qmv_art31_no_brake"),
        ("emergency brake", "qmv_art31"),
    ),
}
"""Per scenario, its chain: each mechanism and the bundled scenario that switches it on on top
of the step before (the first step on top of the reference; the last is the scenario)."""

CHAINED = ("time_to_adoption_mean", "adoption_rate", "lapse_rate", "rounds_mean")
"""Metrics :func:`chain` splits."""

TOTAL = "total"
"""The component that is the whole effect (the last step against the reference)."""


def _paired(runs: Mapping[str, Experiment]) -> None:
    stamps = {label: (e.manifest["seed"], e.manifest["replications"]) for label, e in runs.items()}
    if len(set(stamps.values())) != 1:
        each = "; ".join(f"{k}: seed {s}, {n} replications" for k, (s, n) in stamps.items())
        raise UserError(
            f"decomposition: the runs need one seed and one number of replications to be "
            f"paired ({each}); rerun them with the same --seed and -n"
        )


def _values(exp: Experiment, mix: dict[str, pd.Series], metrics: tuple[str, ...]) -> pd.Series:
    """Per metric, group (:data:`REFERENCE_MIX` and each type) and replication, the value."""
    m = exp.metrics.assign(
        metric=exp.metrics["metric"].astype(str), group=exp.metrics["group"].astype(str)
    )
    m = m[m["metric"].isin(metrics) & (m["group"] != "all")]
    mixed = standardise(exp.metrics, mix)
    both = pd.concat([mixed[mixed["metric"].isin(metrics)], m], ignore_index=True)
    return both.set_index(["metric", "group", "replication"])["value"].astype(float)


def chain(runs: Mapping[str, str | Path], metrics: tuple[str, ...] = CHAINED) -> pd.DataFrame:
    """The chained decomposition of ``runs``: the first is the reference, each next one
    (keyed by the mechanism it adds) switches one more mechanism on, the last is the full
    scenario. All must share one seed and number of replications (else :class:`UserError`).

    One row per metric, group (:data:`REFERENCE_MIX`, then each proposal type) and component
    (each mechanism, then :data:`TOTAL`): ``difference`` (mean over the replications where every
    step has a value, so that the mechanisms add up to the total), ``ci_low``, ``ci_high``
    (95% t-interval), ``n_pairs`` and ``share`` (of the total).
    """
    loaded = {k: open_results(p) for k, p in runs.items()}
    if len(loaded) < 2:
        raise UserError("decomposition: needs a reference and at least one step")
    _paired(loaded)
    mix = type_mix(next(iter(loaded.values())).metrics)
    wide = pd.concat({k: _values(e, mix, metrics) for k, e in loaded.items()}, axis=1, join="outer")
    steps = list(loaded)[1:]
    groups = [REFERENCE_MIX, *sorted(set(wide.index.get_level_values("group")) - {REFERENCE_MIX})]
    rows = []
    for metric in metrics:
        for group in groups:
            try:
                values = wide.xs((metric, group), level=("metric", "group")).to_numpy(float)
            except KeyError:
                continue
            values = values[np.isfinite(values).all(axis=1)]
            effects = np.diff(values, axis=1) if len(values) else np.empty((0, len(steps)))
            total = values[:, -1] - values[:, 0] if len(values) else np.empty(0)
            whole = float(total.mean()) if len(total) else float("nan")
            for component, d in [*zip(steps, effects.T, strict=True), (TOTAL, total)]:
                mean, lo, hi = t_interval(d) if len(d) else (np.nan,) * 3
                rows.append(
                    {
                        "metric": metric,
                        "group": group,
                        "component": component,
                        "difference": mean,
                        "ci_low": lo,
                        "ci_high": hi,
                        "n_pairs": len(d),
                        "share": mean / whole if whole else float("nan"),
                    }
                )
    return pd.DataFrame(rows)


def type_contributions(
    reference: str | Path, other: str | Path, metric: str = "time_to_adoption_mean"
) -> pd.DataFrame:
    """Which proposal types carry ``other``'s difference from ``reference`` in the all-types
    ``metric`` at the reference's mix: per type, its paired difference (95% CI), its weight in
    that mix and its contribution (weight × difference) with its ``share`` of the types'
    summed contributions (the all-types difference, up to replications where a type has no
    value)."""
    runs = {"reference": open_results(reference), "other": open_results(other)}
    _paired(runs)
    mix = type_mix(runs["reference"].metrics)
    weights = mix[
        "adopted" if metric in ("time_to_adoption_mean", "dilution_mean") else "proposals"
    ]
    a, b = (_values(e, mix, (metric,)).xs(metric) for e in runs.values())
    rows = []
    for group in weights.index:
        d = (b.xs(group) - a.xs(group)).dropna().to_numpy(float)
        mean, lo, hi = t_interval(d) if len(d) else (np.nan,) * 3
        w = float(weights[group])
        rows.append(
            {
                "group": group,
                "difference": mean,
                "ci_low": lo,
                "ci_high": hi,
                "weight": w,
                "contribution": w * mean,
            }
        )
    out = pd.DataFrame(rows)
    out["share"] = out["contribution"] / out["contribution"].sum()
    return out.sort_values("contribution", key=abs, ascending=False, ignore_index=True)


def _toml(value: Any) -> str:
    """``value`` written as TOML, for a ``--set`` override."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    return json.dumps(str(value))


def _leaves(node: dict[str, Any], prefix: str = "") -> list[str]:
    out = []
    for key, value in node.items():
        if isinstance(value, dict) and "dist" not in value:
            out += _leaves(value, f"{prefix}{key}.")
        else:
            out.append(f"{prefix}{key}={_toml(value)}")
    return out


def step_overrides(scenario: str) -> tuple[str, ...]:
    """The keys a step's scenario file writes itself (not those it ``extends``), as ``--set``
    overrides."""
    raw = read_toml(resolve_scenario(scenario))
    raw.pop("extends", None)
    return tuple(_leaves(raw))


def chain_sources(run: Experiment) -> list[tuple[str, str, Source | None]]:
    """The steps of ``run``'s chain (:data:`CHAINS`): each mechanism, the step's scenario
    name, and how to run it from ``run`` (its scenario as it ran, with the step's own keys
    written over it); ``None`` for the last step, ``run`` itself."""
    name = str(run.manifest["scenario"])
    steps = CHAINS.get(name)
    if steps is None:
        raise UserError(
            f"--decompose: no chain of mechanisms for the scenario {name!r} (there is one for: "
            f"{', '.join(CHAINS)})"
        )
    if run.manifest.get("posterior"):
        raise UserError(
            f"--decompose: {run.path} drew its parameters from a posterior; decompose runs at "
            "the scenario's own values"
        )
    as_run = run.path / "scenario.toml"
    return [
        (mechanism, step, None if step == name else Source(as_run, step_overrides(step)))
        for mechanism, step in steps
    ]


def run_chain(
    reference: str | Path, scenario: str | Path, folder: str | Path, options: ExperimentOptions
) -> dict[str, Path]:
    """Run the chain of the run in ``scenario`` into ``folder`` (one run per step, named after
    its scenario; ``options.force`` replaces earlier ones) with the seed and replications of
    ``reference`` and ``scenario``, which must agree; the runs by mechanism, the reference first
    (as ``"reference"``), for :func:`chain`."""
    ref, run = open_results(reference), open_results(scenario)
    _paired({str(reference): ref, str(scenario): run})
    runs = {"reference": ref.path}
    for mechanism, name, source in chain_sources(run):
        if source is None:
            runs[mechanism] = run.path
            continue
        runs[mechanism] = run_experiment(
            source,
            Path(folder) / name,
            replications=int(run.manifest["replications"]),
            seed=int(run.manifest["seed"]),
            options=options,
        ).path
    return runs


def _cell(metric: str, r: pd.Series) -> str:
    interval = fmt_interval(metric, r["ci_low"], r["ci_high"], difference=True)
    return f"{fmt_difference(metric, r['difference'])} {interval}"


def mechanism_sentence(table: pd.DataFrame, metric: str = "time_to_adoption_mean") -> str:
    """The split of one metric's total (all types, reference mix) into its mechanisms, in a
    sentence: ``Mechanisms: ... -3.10 [-4.0, -2.2] = outvoting -2.73 [...] + ...``."""
    t = table[(table["metric"] == metric) & (table["group"] == REFERENCE_MIX)]
    rows = {r["component"]: r for _, r in t.iterrows()}
    parts = " + ".join(f"{c} {_cell(metric, r)}" for c, r in rows.items() if c != TOTAL)
    return (
        f"Mechanisms: {metric_name(metric)}, all types at the reference's mix, "
        f"{_cell(metric, rows[TOTAL])} = {parts}"
    )


def mechanism_table(table: pd.DataFrame, group: str = REFERENCE_MIX) -> pd.DataFrame:
    """One group's decomposition for people: a row per component, a column per metric
    (difference [95% CI]; shares in percentage points)."""
    t = table[table["group"] == group]
    wide = {
        metric_name(m): [_cell(m, r) for _, r in g.iterrows()]
        for m, g in t.groupby("metric", sort=False)
    }
    return pd.DataFrame({"component": t["component"].unique(), **wide})


def type_table(table: pd.DataFrame, metric: str = "time_to_adoption_mean") -> pd.DataFrame:
    """One metric's decomposition per proposal type for people: a row per type, a column per
    component."""
    t = table[(table["metric"] == metric) & (table["group"] != REFERENCE_MIX)]
    wide = t.pivot(index="group", columns="component", values="difference")
    wide = wide[list(t["component"].unique())]
    out = wide.map(lambda v: fmt_difference(metric, v))
    out.index = [type_name(g) for g in out.index]
    return out.rename_axis("type").reset_index()
