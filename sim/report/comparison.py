"""Scenario comparison: paired differences with confidence intervals, overlaid figures, report.

Runs made with the same seed and number of replications share their random streams
replication by replication (common random numbers), so the difference of a metric is taken per
replication and its 95% t-interval is much tighter than the unpaired one. When the runs are not
comparable that way, :func:`compare_runs` says so and falls back to unpaired (Welch) intervals.
The first run is the reference; every difference is ``other − reference``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from sim.analysis.metrics import HEADLINE
from sim.analysis.stats import paired_differences, welch_interval
from sim.core.errors import UserError
from sim.experiment.results import (
    Experiment,
    ResultsWriter,
    failure_status,
    open_results,
    read_table,
    write_text_atomic,
)
from sim.report import plots
from sim.report.html import Rendered, figures_html, html_table, page, png_base64, save_figure


@dataclass
class Comparison:
    """The result of comparing runs: where it was written, whether it was paired, the table."""

    path: Path
    paired: bool
    reason: str
    table: pd.DataFrame


def _load(exp: Experiment) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    proposals = read_table(
        exp.path, "proposals", ["replication", "type", "outcome", "duration_days"]
    )
    return exp.manifest, exp.metrics, proposals


def _labels(folders: list[Path], manifests: list[dict]) -> list[str]:
    names = [m["scenario"] for m in manifests]
    if len(set(names)) == len(names):
        return names
    return [f.name for f in folders]


def _unpaired(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (metric, group), ga in a.groupby(["metric", "group"], sort=False):
        gb = b[(b["metric"] == metric) & (b["group"] == group)]
        va, vb = ga["value"].dropna().to_numpy(), gb["value"].dropna().to_numpy()
        diff, lo, hi = welch_interval(va, vb)
        rows.append(
            {
                "metric": metric,
                "group": group,
                "n_pairs": 0,
                "mean_a": va.mean() if len(va) else float("nan"),
                "mean_b": vb.mean() if len(vb) else float("nan"),
                "difference": diff,
                "ci_low": lo,
                "ci_high": hi,
                "unpaired_ci_low": lo,
                "unpaired_ci_high": hi,
            }
        )
    return pd.DataFrame(rows)


def compare_runs(folders: list[Path], out: Path, force: bool = False) -> Comparison:
    """Compare the runs in ``folders`` (the first is the reference) into the folder ``out``.

    Each run is opened (and verified) with :func:`~sim.experiment.results.open_results`;
    ``out`` may not be one of them, hold one or lie inside one."""
    if len(folders) < 2:
        raise UserError("compare needs at least two results folders")
    loaded = [_load(open_results(f)) for f in folders]
    manifests = [m for m, _, _ in loaded]
    labels = _labels(folders, manifests)
    seeds = {m["seed"] for m in manifests}
    reps = {m["replications"] for m in manifests}
    paired = len(seeds) == 1 and len(reps) == 1
    reason = (
        "paired: same seed and replications, so replication r of each run shares its random "
        "streams (common random numbers)"
        if paired
        else f"NOT paired: seeds {sorted(seeds)} and replications {sorted(reps)} differ, so the "
        "runs are compared with unpaired (Welch) intervals"
    )
    ref_metrics = loaded[0][1]
    tables = []
    for label, (_, metrics, _) in zip(labels[1:], loaded[1:], strict=True):
        d = paired_differences(ref_metrics, metrics) if paired else _unpaired(ref_metrics, metrics)
        d.insert(0, "comparison", f"{label} − {labels[0]}")
        tables.append(d)
    table = pd.concat(tables, ignore_index=True)

    writer = ResultsWriter(out, force=force, inputs=folders)
    try:
        writer.write_manifest(
            kind="comparison",
            runs=[str(f) for f in folders],
            labels=labels,
            reference=labels[0],
            paired=paired,
            reason=reason,
        )
        write_text_atomic(writer.path("comparison.csv"), table.to_csv(index=False))
        runs = {label: p for label, (_, _, p) in zip(labels, loaded, strict=True)}
        figures = _comparison_figures(runs, table, writer.staging / "figures")
        _write_report(writer.path("report.html"), labels, reason, table, figures)
        path = writer.publish()
    except BaseException as exc:
        writer.abandon(*failure_status(exc))
        raise
    return Comparison(path, paired, reason, table)


def _comparison_figures(
    runs: dict[str, pd.DataFrame], table: pd.DataFrame, folder: Path
) -> list[Rendered]:
    types = sorted({str(t) for p in runs.values() for t in p["type"].unique()})
    out: list[Rendered] = []

    with plots.style():
        n = len(types) + 1
        cols = 3
        rows = -(-n // cols)
        fig = Figure(figsize=(12, 3.4 * rows))
        axes = fig.subplots(rows, cols, squeeze=False)
        for ax, t in zip(axes.flat, [None, *types], strict=False):
            plots.plot_adoption_overlay(runs, t, ax)
        for ax in list(axes.flat)[n:]:
            ax.set_visible(False)
        fig.tight_layout()
        save_figure(fig, folder, "adoption_overlay")
        caption = (
            "Share adopted by days since tabling, one panel per proposal type: a curve "
            "to the left is faster; a higher plateau means more proposals adopted at all."
        )
        out.append(("adoption_overlay", caption, png_base64(fig)))

        head = table[(table["group"] == "all") & table["metric"].isin(list(HEADLINE))]
        head = head[head["metric"] != "proposals"]
        for stem, metrics, caption in (
            (
                "forest_rates",
                [m for m in HEADLINE if "rate" in m or m == "pending_share"],
                "Differences in shares (0.1 = ten percentage points); a bar that does not cross "
                "zero is a difference beyond chance.",
            ),
            (
                "forest_days",
                [m for m in HEADLINE if m.startswith("time_to")],
                "Differences in days to adoption (negative = faster than the reference).",
            ),
        ):
            sel = head[head["metric"].isin(metrics)]
            fig = Figure(figsize=(9, 0.8 + 0.4 * max(3, len(sel))))
            ax = fig.subplots()
            plots.plot_forest(sel, HEADLINE, ax)
            fig.tight_layout()
            save_figure(fig, folder, stem)
            out.append((stem, caption, png_base64(fig)))

        fig = Figure(figsize=(8, 4.8))
        ax = fig.subplots()
        plots.plot_outcome_shares(runs, ax)
        fig.tight_layout()
        save_figure(fig, folder, "outcome_shares")
        caption = "How proposals end in each scenario, all types pooled."
        out.append(("outcome_shares", caption, png_base64(fig)))
    return out


def _write_report(
    path: Path,
    labels: list[str],
    reason: str,
    table: pd.DataFrame,
    figures: list[Rendered],
) -> None:
    head = table[(table["group"] == "all") & table["metric"].isin(list(HEADLINE))].copy()
    head["metric"] = head["metric"].map(HEADLINE)
    head = head[["comparison", "metric", "mean_a", "mean_b", "difference", "ci_low", "ci_high"]]
    head = head.rename(
        columns={
            "mean_a": "reference",
            "mean_b": "scenario",
            "ci_low": "95% CI low",
            "ci_high": "95% CI high",
        }
    )
    body = (
        f"<h1>Comparison: {html.escape(' vs '.join(labels))}</h1>"
        f"<p>Reference: <b>{html.escape(labels[0])}</b>. Every difference is scenario − "
        "reference, computed per replication and summarised with a 95% t-interval.</p>"
        f"<p>{html.escape(reason)}.</p>"
        f"<h2>Headline differences</h2>{html_table(head)}"
        f"<h2>Figures</h2>{figures_html(figures)}"
        "<p>All metrics, groups (proposal types, bodies, member states) and the unpaired "
        "intervals are in comparison.csv.</p>"
    )
    write_text_atomic(path, page("cfsp-sim comparison: " + " vs ".join(labels), body))
