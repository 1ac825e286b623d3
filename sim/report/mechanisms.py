"""The mechanisms of an effect drawn and reported: :func:`sim.report.decomposition.chain`'s
steps (QMV's outvoting, anticipation and brake) and :func:`sim.report.comparison.decompose`'s
sources (the EU35's agenda, capitals and vetoes), as figures and the report's section."""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.analysis.metrics import HEADLINE, PERCENT
from sim.report.decomposition import mechanism_sentence, mechanism_table, type_table
from sim.report.html import Rendered, html_table, save_figure
from sim.report.names import type_name
from sim.report.plots import axes_or_new, human, style


def _scale(metric: str) -> tuple[float, str]:
    """A metric's display scale and unit (shares in percentage points)."""
    if metric in PERCENT:
        return 100.0, "percentage points"
    return 1.0, "days" if "days" in HEADLINE.get(metric, "days") else "difference"


def _bars(rows: pd.DataFrame, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Scaled differences and their error bars from ``difference``, ``ci_low``, ``ci_high``."""
    d = scale * rows["difference"].to_numpy(float)
    lo, hi = scale * rows["ci_low"].to_numpy(float), scale * rows["ci_high"].to_numpy(float)
    return d, np.vstack([np.nan_to_num(d - lo), np.nan_to_num(hi - d)])


def plot_decomposition(table: pd.DataFrame, metric: str, ax: Axes | None = None) -> Axes:
    """One metric of :func:`sim.report.comparison.decompose`: each component's paired
    difference from the reference with its 95% CI (shares in percentage points), the sources
    first, then their sum, the change all together and the interaction."""
    rows = table[table["metric"] == metric]
    scale, unit = _scale(metric)
    ax = axes_or_new(ax, (7.0, 0.8 + 0.45 * len(rows)))
    y = np.arange(len(rows))
    d, err = _bars(rows, scale)
    summary = rows["component"].isin(["sum of sources", "all together", "interaction"])
    ax.barh(y, d, color=np.where(summary, "#868e96", "#1c7ed6"), xerr=err, capsize=3)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, [human(c) for c in rows["component"]])
    ax.invert_yaxis()
    name = HEADLINE.get(metric, human(metric)).split(" (")[0]
    ax.set_title(name)
    ax.set_xlabel(f"difference from the reference, {unit} (paired, 95% CI)")
    return ax


def plot_chain(table: pd.DataFrame, metric: str, ax: Axes | None = None) -> Axes:
    """One metric of :func:`sim.report.decomposition.chain`: per group (all types first, then
    each proposal type) each mechanism's paired difference with its 95% CI, and the total as a
    black diamond (shares in percentage points)."""
    rows = table[table["metric"] == metric]
    groups = list(dict.fromkeys(rows["group"]))
    parts = [c for c in dict.fromkeys(rows["component"]) if c != "total"]
    scale, unit = _scale(metric)
    ax = axes_or_new(ax, (8.0, 1.0 + 0.28 * len(groups) * (len(parts) + 1)))
    height = 0.8 / len(parts)
    colours = mpl.colormaps["tab10"]
    for i, part in enumerate(parts):
        r = rows[rows["component"] == part].set_index("group").reindex(groups)
        d, err = _bars(r, scale)
        y = np.arange(len(groups)) - 0.4 + (i + 0.5) * height
        ax.barh(y, d, height, xerr=err, capsize=2, color=colours(i % 10), label=human(part))
    total = rows[rows["component"] == "total"].set_index("group").reindex(groups)
    ax.scatter(
        scale * total["difference"],
        np.arange(len(groups)),
        marker="D",
        color="black",
        zorder=3,
        label="total",
    )
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(
        range(len(groups)), ["all types" if g.startswith("all") else type_name(g) for g in groups]
    )
    ax.invert_yaxis()
    ax.set_title(HEADLINE.get(metric, human(metric)).split(" (")[0])
    ax.set_xlabel(f"difference from the reference, {unit} (paired, 95% CI)")
    ax.legend(loc="best", fontsize=8)
    return ax


def days_and_rate(
    table: pd.DataFrame, plot: Callable[[pd.DataFrame, str, Axes], Axes], title: str = ""
) -> Figure:
    """Days to adoption and adoption rate side by side, each drawn by ``plot``
    (:func:`plot_chain`, sized for its per-type rows, or :func:`plot_decomposition`)."""
    chained = plot is plot_chain
    size = (14.0, 1.5 + 0.9 * table["group"].nunique()) if chained else (13.0, 4.2)
    with style():
        fig = Figure(figsize=size)
        left, right = fig.subplots(1, 2)
        plot(table, "time_to_adoption_mean", left)
        plot(table, "adoption_rate", right)
        right.set_yticklabels([])
        if title:
            fig.suptitle(title)
        fig.tight_layout()
    return fig


def decomposition_figure(table: pd.DataFrame, folder: Path) -> Rendered:
    """Days to adoption and adoption rate split into the mechanisms, per type."""
    fig = days_and_rate(table, plot_chain)
    caption = (
        "The effect split into its mechanisms, switched on one after another from the "
        "reference: each bar is the paired difference a mechanism adds (95% CI), the diamond "
        "their total; all types at the reference's mix of types, then per proposal type."
    )
    return ("decomposition", caption, save_figure(fig, folder, "decomposition"))


def mechanisms_html(table: pd.DataFrame) -> str:
    """The report's section on the mechanisms: the split in a sentence, all types, per type."""
    return (
        f'<h2>Mechanisms</h2><p class="answer">{html.escape(mechanism_sentence(table))}.</p>'
        "<p>Each mechanism is switched on after the ones above it (each step a run with the "
        "same seed and replications); a component is the paired difference between consecutive "
        "steps, so the components add up to the total. Shares in percentage points; 95% "
        "t-intervals over replications (decomposition.csv has every metric and type).</p>"
        f"{html_table(mechanism_table(table))}"
        "<h3>Days to adoption by proposal type</h3>"
        f"{html_table(type_table(table))}"
    )
