"""Parameter sweeps: a grid (or one-at-a-time) of scenario variants run with the same seeds.

Every point is the scenario with ``--set``-style overrides, validated before anything runs, and
run with the same seed and replications, so the points share their random streams (common
random numbers) and differences between points are not noise from different draws. Each point
gets its own results folder; ``sweep.csv`` holds parameter values × headline metrics with 95%
CIs, and ``sensitivity.png|svg`` shows each metric against each parameter (a tornado chart for
one-at-a-time sweeps).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim.analysis.metrics import SWEEP_METRICS
from sim.experiment.limits import check_run_size, check_sweep_points
from sim.experiment.results import (
    Experiment,
    ResultsWriter,
    failure_status,
    write_text_atomic,
)
from sim.experiment.runner import resolve_seed, run_experiment
from sim.scenario import Scenario, ScenarioError, load_scenario
from sim.scenario.loading import scenario_sources


def split_values(text: str) -> list[str]:
    """Split ``v1,v2,...`` on commas outside brackets, braces and quotes.

    >>> split_values('1,2,{dist="fixed", value=3}')
    ['1', '2', '{dist="fixed", value=3}']
    """
    out, depth, quote, cur = [], 0, "", ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
            continue
        cur += ch
    out.append(cur.strip())
    return [v for v in out if v]


@dataclass(frozen=True)
class Parameter:
    """One varied key and its values (as written on the command line)."""

    key: str
    values: tuple[str, ...]


def parse_vary(text: str) -> Parameter:
    """``key.path=v1,v2,...`` into a :class:`Parameter`."""
    key, sep, values = text.partition("=")
    parts = split_values(values)
    if not sep or not key.strip() or not parts:
        raise ScenarioError("--vary", text, "expected KEY.PATH=V1,V2,...")
    return Parameter(key.strip(), tuple(parts))


def points(params: list[Parameter], oat: bool) -> list[dict[str, str]]:
    """The sweep's points: the full grid, or one-at-a-time (the scenario as given first, then
    each parameter's values with the others left as they are)."""
    if not oat:
        return [
            dict(zip([p.key for p in params], combo, strict=True))
            for combo in itertools.product(*[p.values for p in params])
        ]
    out: list[dict[str, str]] = [{}]
    for p in params:
        out.extend({p.key: v} for v in p.values)
    return out


def _label(point: dict[str, str]) -> str:
    if not point:
        return "as_given"
    text = "_".join(f"{k.split('.')[-1]}={v}" for k, v in point.items())
    return "".join(c if c.isalnum() or c in "=._-" else "-" for c in text)[:80]


@dataclass
class Sweep:
    """A finished sweep: its folder, table and per-point experiments."""

    path: Path
    table: pd.DataFrame
    experiments: list[Experiment]


def run_sweep(
    scenario_path: str | Path,
    params: list[Parameter],
    *,
    out: Path | None = None,
    oat: bool = False,
    overrides: list[str] | None = None,
    replications: int | None = None,
    seed: int | None = None,
    workers: int | None = 1,
    dask: str | None = None,
    force: bool = False,
    progress: bool | None = None,
    on_point: Callable[[Experiment], None] | None = None,
    figures: Callable[[Path, pd.DataFrame], None] | None = None,
    allow_large: bool = False,
) -> Sweep:
    """Run every point of the sweep into ``out/<point>/`` and summarise them.

    Every point is validated (once) and the size of the whole sweep checked before anything
    runs; ``out`` defaults to ``results/sweep_<name>``. ``figures(folder, table)`` draws into
    the unpublished folder, so the sweep and its figures appear together
    (:func:`sim.report.sweep.sweep_figures` is the standard one).
    """
    grid = points(params, oat)
    check_sweep_points(len(grid), allow_large)
    scenarios: list[Scenario] = []
    for point in grid:  # validate every point before running anything
        varied = [f"{k}={v}" for k, v in point.items()]
        scenarios.append(load_scenario(scenario_path, overrides, varied))
    base = scenarios[0]
    n = replications or base.experiment.replications
    check_run_size(max(scenarios, key=Scenario.expected_proposals), n, allow_large, len(grid))
    seed = resolve_seed(base, seed)  # one seed for every point: common random numbers
    out = out if out is not None else Path("results") / f"sweep_{base.name}"
    writer = ResultsWriter(out, force=force, inputs=scenario_sources(scenario_path))
    try:
        writer.write_manifest(
            kind="sweep",
            scenario=base.name,
            scenario_file=str(scenario_path),
            seed=seed,
            oat=oat,
            parameters={p.key: list(p.values) for p in params},
            points=len(grid),
        )
        experiments = []
        for i, (point, s) in enumerate(zip(grid, scenarios, strict=True)):
            exp = run_experiment(
                s,
                out=writer.staging / f"p{i:02d}_{_label(point)}",
                replications=n,
                seed=seed,
                workers=workers,
                dask=dask,
                progress=progress,
                on_done=on_point,
                allow_large=True,  # checked above for the whole sweep
            )
            experiments.append(exp)
        table = sweep_table(grid, experiments, params)
        write_text_atomic(writer.path("sweep.csv"), table.to_csv(index=False))
        if figures is not None:
            figures(writer.staging, table)
        path = writer.publish()
    except BaseException as exc:
        writer.abandon(*failure_status(exc))
        raise
    for exp in experiments:
        exp.path = path / exp.path.name
    return Sweep(path, table, experiments)


def sweep_table(
    grid: list[dict[str, str]], experiments: list[Experiment], params: list[Parameter]
) -> pd.DataFrame:
    """One row per point and headline metric: parameter values, mean and 95% CI."""
    rows = []
    for i, (point, exp) in enumerate(zip(grid, experiments, strict=True)):
        s = exp.summary
        s = s[(s["group"] == "all") & s["metric"].isin(SWEEP_METRICS)]
        for r in s.itertuples():
            row: dict[str, Any] = {"point": i, "folder": exp.path.name}
            row.update({p.key: point.get(p.key, "") for p in params})
            row.update(
                {
                    "metric": r.metric,
                    "mean": r.mean,
                    "ci_low": r.ci_low,
                    "ci_high": r.ci_high,
                    "n": r.n,
                }
            )
            rows.append(row)
    return pd.DataFrame(rows)
