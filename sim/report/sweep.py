"""Figures of a parameter sweep: sensitivity curves (grid) or a tornado (one at a time)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.analysis.metrics import HEADLINE, SWEEP_METRICS
from sim.experiment.sweep import Parameter, Sweep
from sim.report import plots
from sim.report.html import save_figure
from sim.scenario import parse_override


def sweep_figures(sweep: Sweep) -> None:
    """Draw ``sensitivity.png|svg`` (a tornado for a one-at-a-time sweep) into the sweep's
    folder."""
    params = list(sweep.grid.parameters)
    figure = (tornado if sweep.grid.oat else sensitivity)(sweep.table, params)
    save_figure(figure, sweep.path, "sensitivity")


def _value(v: str) -> Any:
    _, parsed = parse_override(f"x={v}")
    return parsed


def sensitivity(table: pd.DataFrame, params: list[Parameter]) -> Figure:
    """Each headline metric against each parameter, with 95% CI bands (other parameters'
    combinations as separate lines)."""
    metrics = [m for m in SWEEP_METRICS if m in set(table["metric"])][:4]
    with plots.style():
        fig = Figure(figsize=(4.2 * len(metrics), 3.4 * len(params)))
        axes = fig.subplots(len(params), len(metrics), squeeze=False)
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


def tornado(table: pd.DataFrame, params: list[Parameter]) -> Figure:
    """One-at-a-time sweep: for each metric, the range each parameter spans around the
    scenario as given (bars), with the as-given value as the centre line."""
    metrics = [m for m in SWEEP_METRICS if m in set(table["metric"])][:4]
    with plots.style():
        fig = Figure(figsize=(4.5 * len(metrics), 1.5 + 0.6 * len(params)))
        axes = fig.subplots(1, len(metrics), squeeze=False)
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
