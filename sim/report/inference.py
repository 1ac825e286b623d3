"""Figures and report of a sensitivity analysis and of a calibration.

Sensitivity: a heat map of each parameter's importance for each headline statistic (Morris
``mu_star`` or Sobol' ``ST``, scaled to the statistic's most important parameter). Calibration:
the posterior marginals over each prior range, a pair plot of the parameters the data informed
most, and the predictive check (each target's observed value against the prior and the
posterior predictive 90% intervals), gathered in a self-contained ``report.html``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from sim.experiment.calibrate import Calibration
from sim.experiment.folder import write_text_atomic
from sim.experiment.sensitivity import Sensitivity
from sim.report import plots
from sim.report.html import figures_html, html_table, page, save_figure
from sim.scenario.priors import Prior

CAPTIONS = {
    "marginals": "Posterior marginals: where the record put each parameter; a histogram as flat "
    "as the prior (dashed) means the record says little about it.",
    "pairs": "Pairs of the parameters the record informed most: ridges are trade-offs the data "
    "cannot separate.",
    "predictive": "Predictive check: each target's observed value or soft range (green) against "
    "the prior (grey) and posterior (blue) predictive medians and 90% intervals across "
    "simulated records the size and span of the observed one.",
}

PAIR_PARAMETERS = 4
"""Parameters in the pair plot: those whose posterior shrank most against the prior."""


def _short(key: str) -> str:
    """A parameter's label: the key within its member state or proposal type (two types'
    ``arrivals.lead_days`` stay apart), else its last two parts.

    >>> _short("proposal_types.listings_renewal.arrivals.lead_days")
    'listings_renewal.arrivals.lead_days'
    >>> _short("member_states.HU.holdout_probability"), _short("member_defaults.holdout_days.scale")
    ('HU.holdout_probability', 'holdout_days.scale')
    """
    parts = key.split(".")
    if parts[0] in ("member_states", "proposal_types"):
        return ".".join(parts[1:])
    return ".".join(parts[-2:])


def importance_figure(table: pd.DataFrame) -> Figure:
    """Parameters x statistics, shaded by importance relative to each statistic's largest."""
    index = "mu_star" if "mu_star" in table else "ST"
    wide = table.pivot(index="parameter", columns="metric", values=index).fillna(0.0)
    wide = wide.clip(lower=0.0)
    scaled = wide / wide.max().replace(0.0, 1.0)
    scaled = scaled.loc[scaled.mean(axis=1).sort_values(ascending=False).index]
    fig = plots.new_figure((0.75 * len(scaled.columns) + 5.0, 0.36 * len(scaled) + 1.6))
    with plots.style():
        ax = fig.subplots()
        im = ax.imshow(scaled.to_numpy(), cmap="viridis", vmin=0, vmax=1, aspect="auto")
        ax.set_yticks(range(len(scaled)), [_short(k) for k in scaled.index])
        ax.set_xticks(
            range(len(scaled.columns)),
            [plots.human(c) for c in scaled.columns],
            rotation=30,
            ha="right",
        )
        name = "Morris mu*" if index == "mu_star" else "Sobol' total index"
        fig.colorbar(im, ax=ax, label=f"{name}, relative to the statistic's largest")
        ax.grid(False)
        ax.set_title("Which parameters move which statistic")
    return fig


def sensitivity_figures(result: Sensitivity) -> None:
    """The figure of a sensitivity analysis (``importance.png|svg``) into its folder."""
    save_figure(importance_figure(result.table), result.path, "importance")


def _marginal(ax: Axes, prior: Prior, x: np.ndarray, w: np.ndarray) -> None:
    log = prior.scale == "log"
    edges = (
        np.geomspace(prior.low, prior.high, 16) if log else np.linspace(prior.low, prior.high, 16)
    )
    ax.hist(
        x, bins=list(edges), weights=w, density=True, color=plots.SCENARIO_COLOURS[0], alpha=0.8
    )
    width = (np.log(prior.high) - np.log(prior.low)) if log else prior.high - prior.low
    ax.axhline(0 if log else 1 / width, color="0.4", lw=1, ls="--")
    if log:
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_title(_short(prior.key), fontsize=8)
    ax.set_yticks([])


def marginals_figure(cal: Calibration) -> Figure:
    """Each parameter's weighted posterior histogram over its prior range (dashed: the flat
    prior density of linear-scale parameters)."""
    priors = cal.posterior.priors
    cols = 4
    rows = -(-len(priors) // cols)
    w = cal.posterior.draws["weight"].to_numpy(float)
    fig = plots.new_figure((3.2 * cols, 2.2 * rows))
    with plots.style():
        axes = fig.subplots(rows, cols, squeeze=False).ravel()
        for ax, prior in zip(axes, priors, strict=False):
            _marginal(ax, prior, cal.posterior.draws[prior.key].to_numpy(float), w)
        for ax in axes[len(priors) :]:
            ax.set_visible(False)
        fig.suptitle("Posterior marginals over the prior ranges")
        fig.tight_layout()
    return fig


def _shrinkage(cal: Calibration) -> pd.Series:
    """Posterior sd / prior sd per parameter (on the unit scale of each prior)."""
    d, w = cal.posterior.draws, cal.posterior.draws["weight"].to_numpy(float)
    out = {}
    for p in cal.posterior.priors:
        x = d[p.key].to_numpy(float)
        u = (
            (np.log(x) - np.log(p.low)) / (np.log(p.high) - np.log(p.low))
            if p.scale == "log"
            else (x - p.low) / (p.high - p.low)
        )
        mean = np.average(u, weights=w)
        out[p.key] = float(np.sqrt(np.average((u - mean) ** 2, weights=w)) / np.sqrt(1 / 12))
    return pd.Series(out).sort_values()


def pair_figure(cal: Calibration) -> Figure:
    """Pairs of the parameters the record informed most (smallest posterior/prior spread)."""
    keys = list(_shrinkage(cal).index[:PAIR_PARAMETERS])
    d = cal.posterior.draws
    w = d["weight"].to_numpy(float)
    size = 12 + 60 * w / w.max()
    fig = plots.new_figure((2.4 * len(keys), 2.4 * len(keys)))
    with plots.style():
        axes = fig.subplots(len(keys), len(keys), squeeze=False)
        for i, ky in enumerate(keys):
            for j, kx in enumerate(keys):
                ax = axes[i, j]
                if i == j:
                    ax.hist(d[kx], bins=12, weights=w, color=plots.SCENARIO_COLOURS[0], alpha=0.8)
                else:
                    ax.scatter(
                        d[kx], d[ky], s=size, alpha=0.4, color=plots.SCENARIO_COLOURS[0], lw=0
                    )
                if i == len(keys) - 1:
                    ax.set_xlabel(_short(kx), fontsize=8)
                if j == 0:
                    ax.set_ylabel(_short(ky), fontsize=8)
        fig.suptitle("Posterior pairs (the most informed parameters)")
        fig.tight_layout()
    return fig


def predictive_figure(fit: pd.DataFrame, prior_fit: pd.DataFrame) -> Figure:
    """Each target: observed value (or soft range) against the prior and posterior predictive
    medians and 90% intervals, each target on its own row, scaled to its own range."""
    n = len(fit)
    fig = plots.new_figure((8.5, 0.42 * n + 1.4))
    with plots.style():
        axes = fig.subplots(n, 1, squeeze=False).ravel()
        for ax, (_, post), (_, pri) in zip(axes, fit.iterrows(), prior_fit.iterrows(), strict=True):
            for y, r, colour, label in (
                (1, pri, "0.6", "prior"),
                (0, post, plots.SCENARIO_COLOURS[0], "posterior"),
            ):
                ax.plot([r["p5"], r["p95"]], [y, y], color=colour, lw=3, label=label)
                ax.plot([r["simulated_median"]], [y], "o", color=colour, ms=4)
            if post["check"] == "range":
                ax.axvspan(post["low"], post["high"], color="#2b8a3e", alpha=0.2)
            else:
                ax.axvline(post["observed"], color="#2b8a3e", lw=2)
            ax.set_yticks([])
            ax.set_ylim(-0.8, 1.8)
            ax.set_ylabel(
                plots.human(post["target"]), rotation=0, ha="right", va="center", fontsize=8
            )
            ax.tick_params(axis="x", labelsize=7)
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="upper right", fontsize=8, ncol=2)
        fig.suptitle("Predictive check: observed (green) vs prior (grey) and posterior (blue)")
        fig.tight_layout()
    return fig


def calibration_figures(cal: Calibration) -> None:
    """The figures and ``report.html`` of a calibration, into its folder."""
    folder, prior_fit = cal.path, cal.prior_fit
    figs = {
        "marginals": (marginals_figure(cal), CAPTIONS["marginals"]),
        "pairs": (pair_figure(cal), CAPTIONS["pairs"]),
        "predictive": (predictive_figure(cal.fit, prior_fit), CAPTIONS["predictive"]),
    }
    rendered = []
    for stem, (fig, caption) in figs.items():
        rendered.append((stem, caption, save_figure(fig, folder / "figures", stem)))
    write_text_atomic(folder / "report.html", _report(cal, prior_fit, rendered))


def _report(cal: Calibration, prior_fit: pd.DataFrame, rendered: list[Any]) -> str:
    shrink = _shrinkage(cal)
    params = cal.posterior.summary().assign(
        scale=[p.scale for p in cal.posterior.priors],
        shrinkage=[round(float(shrink[p.key]), 2) for p in cal.posterior.priors],
        reason=[p.reason for p in cal.posterior.priors],
    )
    cols = ["target", "check", "observed", "low", "high", "simulated_median", "p5", "p95", "inside"]
    inside, prior_inside = int(cal.fit["inside"].sum()), int(prior_fit["inside"].sum())
    body = (
        "<h1>Calibration (ABC-SMC)</h1>"
        f"<p class='meta'>{len(cal.generations)} generations; {len(cal.posterior.draws)} "
        f"particles worth {cal.posterior.effective_size():.0f} equally weighted draws (effective "
        "sample size); posterior predictive: "
        f"{inside} of {len(cal.fit)} targets inside (prior predictive: {prior_inside}).</p>"
        "<h2>Parameters</h2><p>Posterior median and 90% credible interval (p5-p95) within each "
        "prior range; shrinkage is the posterior spread over the prior's (1: the record says "
        "nothing about it).</p>"
        + html_table(params)
        + "<h2>Posterior predictive fit</h2>"
        + html_table(cal.fit[cols])
        + "<h2>Figures</h2>"
        + figures_html(rendered)
    )
    return page("cfsp-sim calibration", body)
