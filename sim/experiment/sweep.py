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
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from sim.analysis.metrics import SWEEP_METRICS
from sim.experiment.limits import check_run_size, check_sweep_points
from sim.experiment.results import Experiment
from sim.experiment.runner import resolve_seed, run_experiment
from sim.experiment.source import Source
from sim.experiment.study import DEFAULTS, ExperimentOptions, study
from sim.scenario import Scenario, ScenarioError


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


@dataclass(frozen=True)
class Grid:
    """The varied parameters, as a full grid or one at a time (``oat``)."""

    parameters: tuple[Parameter, ...]
    oat: bool = False

    @classmethod
    def parse(cls, vary: Sequence[str], oat: bool = False) -> Grid:
        """From ``--vary`` texts (``key.path=v1,v2,...``); a key given twice is refused (the
        first would be dropped)."""
        parameters = tuple(parse_vary(v) for v in vary)
        seen: set[str] = set()
        for p in parameters:
            if p.key in seen:
                raise ScenarioError(
                    "--vary", p.key, "given twice; list all its values in one --vary K=V1,V2"
                )
            seen.add(p.key)
        return cls(parameters, oat)

    def points(self) -> list[dict[str, str]]:
        """The sweep's points: the full grid, or one-at-a-time (the scenario as given first,
        then each parameter's values with the others left as they are)."""
        if not self.oat:
            return [
                dict(zip([p.key for p in self.parameters], combo, strict=True))
                for combo in itertools.product(*[p.values for p in self.parameters])
            ]
        out: list[dict[str, str]] = [{}]
        for p in self.parameters:
            out.extend({p.key: v} for v in p.values)
        return out


def _label(point: dict[str, str]) -> str:
    if not point:
        return "as_given"
    text = "_".join(f"{k.split('.')[-1]}={v}" for k, v in point.items())
    return "".join(c if c.isalnum() or c in "=._-" else "-" for c in text)[:80]


@dataclass(frozen=True)
class Sweep:
    """A finished sweep: its folder, grid, table and per-point experiments."""

    path: Path
    grid: Grid
    table: pd.DataFrame
    experiments: tuple[Experiment, ...]


def run_sweep(
    scenario: Source | str | Path,
    grid: Grid,
    out: str | Path | None = None,
    *,
    replications: int | None = None,
    seed: int | None = None,
    options: ExperimentOptions = DEFAULTS,
) -> Sweep:
    """Run every point of ``grid`` into ``out/<point>/`` and summarise them.

    Every point is validated (once) and the size of the whole sweep checked before anything
    runs; ``out`` defaults to ``results/sweep_<name>``. Every point runs with the same seed
    and replications (common random numbers). ``options.report`` draws each point's report
    and the sweep's figures into the unpublished folder, so the sweep and its figures appear
    together.
    """
    source = scenario if isinstance(scenario, Source) else Source(scenario)
    grid_points = grid.points()
    check_sweep_points(len(grid_points), options.allow_large)
    scenarios = [source.load([f"{k}={v}" for k, v in p.items()]) for p in grid_points]
    base = scenarios[0]
    n = replications or base.experiment.replications
    biggest = max(scenarios, key=Scenario.expected_proposals)
    check_run_size(biggest, n, options.allow_large, len(grid_points))
    seed = resolve_seed(base, seed)  # one seed for every point: common random numbers
    out = Path(out) if out is not None else Path("results") / f"sweep_{base.name}"
    manifest = {
        "kind": "sweep",
        "scenario": base.name,
        "scenario_file": str(source.scenario),
        "seed": seed,
        "oat": grid.oat,
        "parameters": {p.key: list(p.values) for p in grid.parameters},
        "points": len(grid_points),
    }
    each = replace(options, allow_large=True, inputs=(), force=False)  # checked above
    with study(out, manifest, replace(options, inputs=(*options.inputs, *source.files()))) as s:
        experiments = tuple(
            run_experiment(
                sc, s.staging / f"p{i:02d}_{_label(point)}", replications=n, seed=seed, options=each
            )
            for i, (point, sc) in enumerate(zip(grid_points, scenarios, strict=True))
        )
        table = sweep_table(grid_points, experiments, grid.parameters)
        s.write_text("sweep.csv", table.to_csv(index=False))
        s.result = Sweep(s.staging, grid, table, experiments)
    assert s.published is not None
    moved = tuple(replace(e, path=s.published / e.path.name) for e in experiments)
    return Sweep(s.published, grid, table, moved)


def sweep_table(
    grid: list[dict[str, str]], experiments: Sequence[Experiment], params: Sequence[Parameter]
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
