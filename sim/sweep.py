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

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sim import plots
from sim.report import save_figure
from sim.results import ResultsWriter, write_text_atomic
from sim.runner import HEADLINE, Experiment, resolve_seed, run_experiment
from sim.scenario import Scenario, ScenarioError, load_scenario, parse_override

SWEEP_METRICS = (
    "adoption_rate",
    "time_to_adoption_mean",
    "time_to_adoption_median",
    "block_rate",
    "lapse_rate",
    "dilution_mean",
)


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
    out: Path,
    oat: bool = False,
    overrides: list[str] | None = None,
    replications: int | None = None,
    seed: int | None = None,
    workers: int | None = 1,
    dask: str | None = None,
    force: bool = False,
    progress: bool | None = None,
    on_point: Callable[[Path], None] | None = None,
) -> Sweep:
    """Run every point of the sweep into ``out/<point>/`` and summarise them."""
    grid = points(params, oat)
    scenarios: list[Scenario] = []
    for point in grid:  # validate every point before running anything
        sets = [*(overrides or []), *(f"{k}={v}" for k, v in point.items())]
        scenarios.append(load_scenario(scenario_path, sets))
    base = scenarios[0]
    seed = resolve_seed(base, seed)  # one seed for every point: common random numbers
    writer = ResultsWriter(out, force=force)
    writer.write_manifest(
        kind="sweep",
        scenario=base.name,
        scenario_file=str(scenario_path),
        seed=seed,
        oat=oat,
        parameters={p.key: list(p.values) for p in params},
        points=len(grid),
    )
    try:
        experiments = []
        for i, (point, s) in enumerate(zip(grid, scenarios, strict=True)):
            exp = run_experiment(
                s,
                out=writer.staging / f"p{i:02d}_{_label(point)}",
                replications=replications,
                seed=seed,
                workers=workers,
                dask=dask,
                progress=progress,
                on_done=on_point,
            )
            experiments.append(exp)
        table = sweep_table(grid, experiments, params)
        write_text_atomic(writer.path("sweep.csv"), table.to_csv(index=False))
        fig = (tornado if oat else sensitivity)(table, params)
        save_figure(fig, writer.staging, "sensitivity")
        plt.close(fig)
    except BaseException as exc:
        writer.abandon(
            "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed",
            f"{type(exc).__name__}: {exc}",
        )
        raise
    path = writer.publish()
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


def _value(v: str) -> Any:
    _, parsed = parse_override(f"x={v}")
    return parsed


def sensitivity(table: pd.DataFrame, params: list[Parameter]) -> plt.Figure:
    """Each headline metric against each parameter, with 95% CI bands (other parameters'
    combinations as separate lines)."""
    metrics = [m for m in SWEEP_METRICS if m in set(table["metric"])][:4]
    with plots.style():
        fig, axes = plt.subplots(
            len(params),
            len(metrics),
            figsize=(4.2 * len(metrics), 3.4 * len(params)),
            squeeze=False,
        )
        for row, p in enumerate(params):
            others = [q.key for q in params if q.key != p.key]
            for col, metric in enumerate(metrics):
                ax = axes[row][col]
                sel = table[table["metric"] == metric]
                groups = sel.groupby(others, sort=False) if others else [("", sel)]
                for name, g in groups:
                    x_raw = [_value(v) for v in g[p.key]]
                    numeric = all(isinstance(v, int | float) for v in x_raw)
                    x = np.asarray(x_raw, float) if numeric else np.arange(len(x_raw))
                    label = ", ".join(
                        f"{k.split('.')[-1]}={v}"
                        for k, v in zip(
                            others, name if isinstance(name, tuple) else [name], strict=False
                        )
                    )
                    ax.plot(x, g["mean"], marker="o", label=label or None)
                    ax.fill_between(x, g["ci_low"], g["ci_high"], alpha=0.2)
                    if not numeric:
                        ax.set_xticks(x, [str(v) for v in x_raw])
                ax.set_title(HEADLINE.get(metric, metric), fontsize=10)
                ax.set_xlabel(p.key)
                ax.set_ylabel(metric.replace("_", " "))
                if others:
                    ax.legend(fontsize=7)
        fig.suptitle("Sensitivity of headline metrics (mean, 95% CI band)")
        fig.tight_layout()
    return fig


def tornado(table: pd.DataFrame, params: list[Parameter]) -> plt.Figure:
    """One-at-a-time sweep: for each metric, the range each parameter spans around the
    scenario as given (bars), with the as-given value as the centre line."""
    metrics = [m for m in SWEEP_METRICS if m in set(table["metric"])][:4]
    with plots.style():
        fig, axes = plt.subplots(
            1, len(metrics), figsize=(4.5 * len(metrics), 1.5 + 0.6 * len(params)), squeeze=False
        )
        for ax, metric in zip(axes[0], metrics, strict=True):
            sel = table[table["metric"] == metric]
            centre = float(sel[sel["point"] == 0]["mean"].iloc[0])
            spans = []
            for p in params:
                vals = sel[sel[p.key] != ""]["mean"]
                spans.append((p.key, float(vals.min()) - centre, float(vals.max()) - centre))
            spans.sort(key=lambda s: s[2] - s[1])
            y = np.arange(len(spans))
            ax.barh(
                y,
                [s[2] - s[1] for s in spans],
                left=[centre + s[1] for s in spans],
                color="#74c0fc",
            )
            ax.axvline(centre, color="black", lw=1)
            ax.set_yticks(y, [s[0] for s in spans])
            ax.set_title(HEADLINE.get(metric, metric), fontsize=10)
            ax.set_xlabel(metric.replace("_", " "))
            ax.set_ylabel("parameter")
        fig.suptitle("One-at-a-time sensitivity (bar: range over the parameter's values)")
        fig.tight_layout()
    return fig
