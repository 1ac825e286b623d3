"""Scenario comparison: paired differences with confidence intervals, overlaid figures, report.

Runs made with the same seed and number of replications share their random streams
replication by replication (common random numbers), so the difference of a metric is taken per
replication and its 95% t-interval is much tighter than the unpaired one. When the runs are not
comparable that way, :func:`compare_runs` says so and falls back to unpaired (Welch) intervals.
The first run is the reference; every difference is ``other − reference``.
"""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from sim.analysis.metrics import HEADLINE, fmt_value
from sim.analysis.stats import (
    REFERENCE_MIX,
    few_replications,
    paired_differences,
    standardise,
    t_interval,
    type_mix,
    welch_interval,
)
from sim.core.errors import UserError
from sim.experiment.results import Experiment, open_results, read_table, write_text_atomic
from sim.experiment.study import DEFAULTS, ExperimentOptions, study
from sim.report import plots
from sim.report.answer import (
    answer_sentence,
    body_shift_figure,
    counted_events,
    extended_metrics,
    fmt_change,
    outcome_difference_figure,
    per_type_comparison,
    per_type_forest,
    report_spec,
)
from sim.report.html import Rendered, figures_html, glossary_html, html_table, page, save_figure
from sim.report.mechanisms import decomposition_figure, mechanisms_html
from sim.report.names import metric_name
from sim.scenario.report import ReportSpec


@dataclass(frozen=True)
class Comparison:
    """The result of comparing runs: where it was written, whether it was paired, the table."""

    path: Path
    paired: bool
    reason: str
    table: pd.DataFrame
    per_type: pd.DataFrame
    """Per comparison and type: adoption, median, p90, lapses and counts, differences."""
    uncertainty: str = ""
    warnings: tuple[str, ...] = ()
    question: str | None = None
    """The compared scenario's question (its ``[report]`` table), if it states one."""
    answers: tuple[str, ...] = ()
    """One sentence per compared scenario: the focus type's change with its interval."""
    decomposition: pd.DataFrame | None = None
    """The effect split into mechanisms (:func:`sim.report.decomposition.chain`), if asked."""


def uncertainty_note(manifests: list[dict]) -> tuple[str, bool]:
    """What the intervals cover, from the runs' manifests, and whether the runs drew their
    parameters alike (all from one posterior, or none did: pairing holds)."""
    drawn = [m.get("posterior") for m in manifests]
    if not any(drawn):
        return (
            "Monte Carlo only: the intervals cover the simulation's randomness at each "
            "scenario's fixed parameter values, not the uncertainty of those values",
            True,
        )
    shas = {d["sha256"] if d else None for d in drawn}
    if len(shas) == 1:
        sha = next(iter(shas))
        return (
            "Monte Carlo and parameter uncertainty: each replication ran one draw from the "
            f"same posterior (sha256 {str(sha)[:12]}), replication i the same draw in every run",
            True,
        )
    return (
        "NOT comparable replication by replication: the runs drew their parameters from "
        "different posteriors, or only some of them did (unpaired intervals)",
        False,
    )


def _load(exp: Experiment, counts: Sequence[str] = ()) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """A run's manifest, metrics (with the ``counts`` from its event log and the days per
    visit to each body) and proposals."""
    proposals = read_table(
        exp.path, "proposals", ["replication", "proposal_id", "type", "outcome", "duration_days"]
    )
    events = counted_events(exp.path, counts)
    return exp.manifest, extended_metrics(exp.metrics, events, proposals, counts), proposals


def _opened(
    folders: list[Path],
) -> tuple[ReportSpec, list[tuple[dict, pd.DataFrame, pd.DataFrame]]]:
    """The runs, loaded with the counts of the first ``[report]`` table among the compared
    scenarios (else the reference's, else brakes)."""
    runs = [open_results(f) for f in folders]
    spec = report_spec(*(r.scenario for r in runs[1:]), runs[0].scenario)
    return spec, [_load(r, spec.counts) for r in runs]


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


def _differences(
    loaded: list[tuple[dict, pd.DataFrame, pd.DataFrame]], labels: list[str]
) -> tuple[bool, str, pd.DataFrame]:
    """Whether the runs pair, why, and every metric's difference from the first run."""
    manifests = [m for m, _, _ in loaded]
    seeds = {m["seed"] for m in manifests}
    reps = {m["replications"] for m in manifests}
    periods = {(m.get("start_date"), m.get("horizon_days")) for m in manifests}
    _, alike = uncertainty_note(manifests)
    paired = len(seeds) == 1 and len(reps) == 1 and len(periods) == 1 and alike
    if paired:
        reason = (
            "paired: same seed and replications, so replication r of each run shares its "
            "random streams (common random numbers)"
        )
    elif len(periods) > 1:
        spans = ", ".join(f"{h:g} days from {d}" for d, h in sorted(periods, key=str))
        reason = (
            f"NOT paired, and hardly comparable: the runs cover different periods ({spans}); "
            "durations and counts depend on the horizon. Unpaired (Welch) intervals"
        )
    else:
        reason = (
            f"NOT paired: seeds {sorted(seeds)}, replications {sorted(reps)} or parameter "
            "draws differ, so the runs are compared with unpaired (Welch) intervals"
        )
    mix = type_mix(loaded[0][1])
    ref_metrics = _with_reference_mix(loaded[0][1], mix)
    tables = []
    for label, (_, metrics, _) in zip(labels[1:], loaded[1:], strict=True):
        metrics = _with_reference_mix(metrics, mix)
        d = paired_differences(ref_metrics, metrics) if paired else _unpaired(ref_metrics, metrics)
        d.insert(0, "comparison", f"{label} − {labels[0]}")
        tables.append(d)
    return paired, reason, pd.concat(tables, ignore_index=True)


def comparison_table(folders: list[Path]) -> pd.DataFrame:
    """The differences :func:`compare_runs` tabulates (each run against the first), without
    writing its figures and report."""
    loaded = _opened([Path(f) for f in folders])[1]
    return _differences(loaded, _labels(folders, [m for m, _, _ in loaded]))[2]


def compare_runs(
    folders: Sequence[str | Path],
    out: str | Path,
    options: ExperimentOptions = DEFAULTS,
    decomposition: pd.DataFrame | None = None,
) -> Comparison:
    """Compare the runs in ``folders`` (the first is the reference) into the folder ``out``
    (``options.force`` replaces an earlier comparison there); with ``decomposition`` (a
    :func:`sim.report.decomposition.chain` of the first two), its report leads with the
    mechanisms and the folder holds ``decomposition.csv``.

    Each run is opened (and verified) with :func:`~sim.experiment.results.open_results`;
    ``out`` may not be one of them, hold one or lie inside one.

    >>> c = sim.compare(["results/eu27_baseline", "results/qmv"], "results/cmp")  # doctest: +SKIP
    >>> c.paired, c.table.head()  # doctest: +SKIP
    """
    if len(folders) < 2:
        raise UserError("compare needs at least two results folders")
    paths = [Path(f) for f in folders]
    seen: dict[str, Path] = {}
    for f in paths:
        key = os.path.realpath(f)
        if key in seen:
            raise UserError(f"compare: {f} given twice (as {seen[key]}); give each run once")
        seen[key] = f
    spec, loaded = _opened(paths)
    manifests = [m for m, _, _ in loaded]
    labels = _labels(paths, manifests)
    paired, reason, table = _differences(loaded, labels)
    uncertainty = uncertainty_note(manifests)[0]
    counts = " and ".join(dict.fromkeys(str(m["replications"]) for m in manifests))
    years = (
        f"from {counts} paired replications" if paired else f"from {counts} replications, unpaired"
    )
    answers = tuple(answer_sentence(table, spec, c, years) for c in table["comparison"].unique())
    per_type = per_type_comparison(table, spec)
    manifest = {
        "kind": "comparison",
        "runs": [str(f) for f in paths],
        "labels": labels,
        "reference": labels[0],
        "paired": paired,
        "reason": reason,
        "uncertainty": uncertainty,
    }
    warnings = [w for m in manifests if (w := few_replications(int(m["replications"])))][:1]
    with study(out, manifest, replace(options, inputs=(*options.inputs, *paths))) as s:
        s.write_text("comparison.csv", table.to_csv(index=False))
        runs = {label: p for label, (_, _, p) in zip(labels, loaded, strict=True)}
        figures = _comparison_figures(runs, table, s.staging / "figures", spec)
        if decomposition is not None:
            s.write_text("decomposition.csv", decomposition.to_csv(index=False))
            figures.insert(0, decomposition_figure(decomposition, s.staging / "figures"))
        notes = f"{reason}. Intervals: {uncertainty}"
        lead = Lead(spec.question, answers, per_type, decomposition)
        _write_report(s.path("report.html"), labels, notes, table, figures, warnings, lead)
    assert s.published is not None
    return Comparison(
        s.published,
        paired,
        reason,
        table,
        per_type,
        uncertainty,
        tuple(warnings),
        spec.question,
        answers,
        decomposition,
    )


DECOMPOSED = ("time_to_adoption_mean", "adoption_rate", "lapse_rate", "rounds_mean")
"""Metrics :func:`decompose` splits (all types, at the reference's mix of types)."""


def decompose(
    reference: Path,
    sources: dict[str, Path],
    together: Path,
    metrics: tuple[str, ...] = DECOMPOSED,
) -> pd.DataFrame:
    """Split the effect of a change (``together``: e.g. the EU35) into ``sources`` switched on
    one at a time from ``reference`` (e.g. the EU27): runs made with the same seed and
    replications, so every effect is a paired per-replication difference.

    Returns one row per metric and component: each source alone, ``sum of sources``, ``all
    together`` and ``interaction`` (all together minus the sum: what the sources add only in
    combination), each with its mean difference and 95% t-interval over replications.
    """
    runs = {"reference": reference, **sources, "all together": together}
    loaded = {k: open_results(p) for k, p in runs.items()}
    stamps = {(e.manifest["seed"], e.manifest["replications"]) for e in loaded.values()}
    if len(stamps) != 1:
        raise UserError(f"decompose: the runs need one seed and replication count, not {stamps}")
    mix = type_mix(loaded["reference"].metrics)
    values = {}
    for key, exp in loaded.items():
        m = _with_reference_mix(exp.metrics, mix)
        m = m[(m["group"].astype(str) == REFERENCE_MIX) & m["metric"].isin(metrics)]
        values[key] = m.assign(metric=m["metric"].astype(str)).set_index(["metric", "replication"])[
            "value"
        ]
    effects = {k: values[k] - values["reference"] for k in [*sources, "all together"]}
    effects["sum of sources"] = sum((effects[k] for k in sources), 0.0 * values["reference"])
    effects["interaction"] = effects["all together"] - effects["sum of sources"]
    rows = []
    for metric in metrics:
        for component in [*sources, "sum of sources", "all together", "interaction"]:
            mean, lo, hi = t_interval(effects[component].xs(metric).to_numpy(dtype=float))
            rows.append(
                {
                    "metric": metric,
                    "component": component,
                    "difference": mean,
                    "ci_low": lo,
                    "ci_high": hi,
                }
            )
    return pd.DataFrame(rows)


def _with_reference_mix(metrics: pd.DataFrame, mix: dict[str, pd.Series]) -> pd.DataFrame:
    plain = metrics.assign(metric=metrics["metric"].astype(str), group=metrics["group"].astype(str))
    return pd.concat([plain, standardise(metrics, mix)], ignore_index=True)


def headline_differences(table: pd.DataFrame) -> pd.DataFrame:
    """The headline metrics' differences, for people: "all types" at the reference's mix of
    types where that applies, shares in percentage points, with 95% intervals."""
    rows = []
    for comparison, t in table.groupby("comparison", sort=False):
        for metric in HEADLINE:
            if metric in ("proposals", "dilution_mean"):  # dilution: in comparison.csv
                continue
            label = metric_name(metric)
            r = t[(t["metric"] == metric) & (t["group"] == REFERENCE_MIX)]
            mixed = not r.empty
            r = r if mixed else t[(t["metric"] == metric) & (t["group"] == "all")]
            if r.empty:
                continue
            x = r.iloc[0]
            diff, interval = fmt_change(metric, x["difference"], x["ci_low"], x["ci_high"])
            rows.append(
                {
                    "comparison": comparison,
                    "metric": label + (" *" if mixed else ""),
                    "reference": fmt_value(metric, x["mean_a"]),
                    "scenario": fmt_value(metric, x["mean_b"]),
                    "difference": diff,
                    "95% CI": interval,
                }
            )
    out = pd.DataFrame(rows)
    return out.drop(columns="comparison") if out["comparison"].nunique() == 1 else out


def _headline_rows(table: pd.DataFrame) -> pd.DataFrame:
    """One row per comparison and headline metric: at the reference's type mix where that
    applies, else all types as they came."""
    rows = []
    for _, t in table.groupby("comparison", sort=False):
        for metric in HEADLINE:
            r = t[(t["metric"] == metric) & (t["group"] == REFERENCE_MIX)]
            rows.append(r if len(r) else t[(t["metric"] == metric) & (t["group"] == "all")])
    head = pd.concat(rows)
    return head[head["metric"] != "proposals"]


def _comparison_figures(
    runs: dict[str, pd.DataFrame], table: pd.DataFrame, folder: Path, spec: ReportSpec
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
        uri = save_figure(fig, folder, "adoption_overlay")
        caption = (
            "Share adopted by days since tabling, one panel per proposal type: a curve "
            "to the left is faster; a higher plateau means more proposals adopted at all."
        )
        out.append(("adoption_overlay", caption, uri))

        head = _headline_rows(table)
        for stem, metrics, caption in (
            (
                "forest_rates",
                [m for m in HEADLINE if "rate" in m or m == "pending_share"],
                "Differences in percentage points, all types at the reference's mix of types; "
                "a bar that does not cross zero is a difference beyond chance.",
            ),
            (
                "forest_days",
                [m for m in HEADLINE if m.startswith("time_to")],
                "Differences in days to adoption (negative = faster than the reference); the "
                "mean at the reference's mix of types.",
            ),
        ):
            sel = head[head["metric"].isin(metrics)]
            if stem == "forest_rates":  # shares drawn in percentage points
                sel = sel.assign(**{c: 100 * sel[c] for c in ("difference", "ci_low", "ci_high")})
            fig = Figure(figsize=(9, 0.8 + 0.4 * max(3, len(sel))))
            ax = fig.subplots()
            plots.plot_forest(sel, HEADLINE, ax)
            unit = "percentage points" if stem == "forest_rates" else "days"
            ax.set_xlabel(f"difference (scenario − reference), {unit}")
            fig.tight_layout()
            out.append((stem, caption, save_figure(fig, folder, stem)))

    for i, comparison in enumerate(table["comparison"].unique()):
        tag = "" if i == 0 else f"_{i + 1}"
        for stem, fig, caption in (
            (
                "forest_by_type",
                per_type_forest(table, spec, comparison),
                "Per proposal type, paired differences with 95% intervals: mean days to adopt, "
                "share adopted (percentage points) and the counted events per replication; red "
                "where the interval excludes zero.",
            ),
            (
                "time_shift_by_body",
                body_shift_figure(table, comparison),
                "Per body, the difference in days per visit (waiting for a meeting, for "
                "instructions and negotiating together).",
            ),
            (
                "outcome_differences",
                outcome_difference_figure(table, comparison),
                "How proposals end, as differences in percentage points (all types at the "
                "reference's mix of types).",
            ),
        ):
            out.append((stem + tag, caption, save_figure(fig, folder, stem + tag)))
    return out


@dataclass(frozen=True)
class Lead:
    """What a comparison's report opens with: the question, its answers, the per-type table."""

    question: str | None
    answers: tuple[str, ...]
    per_type: pd.DataFrame
    decomposition: pd.DataFrame | None = None


def _write_report(
    path: Path,
    labels: list[str],
    reason: str,
    table: pd.DataFrame,
    figures: list[Rendered],
    warnings: list[str],
    lead: Lead,
) -> None:
    warn = "".join(f'<p class="warning">Warning: {html.escape(w)}.</p>' for w in warnings)
    question = f"<p><i>{html.escape(lead.question)}</i></p>" if lead.question else ""
    answers = "".join(f'<p class="answer"><b>{html.escape(a)}</b></p>' for a in lead.answers)
    if lead.decomposition is not None:
        answers += mechanisms_html(lead.decomposition)
    body = (
        f"<h1>Comparison: {html.escape(' vs '.join(labels))}</h1>{question}{answers}"
        f"<p>Reference: <b>{html.escape(labels[0])}</b>. Every difference is scenario − "
        "reference, computed per replication and summarised with a 95% t-interval; shares "
        "are in percent, their differences in percentage points (pp).</p>"
        f"<p>{html.escape(reason)}.</p>{warn}"
        "<h2>By proposal type</h2><p>Differences (scenario − reference) with 95% intervals; "
        "shares in percentage points, times in days, counts per replication.</p>"
        f"{html_table(lead.per_type)}"
        f"<h2>Headline differences</h2>{html_table(headline_differences(table))}"
        "<p>* all types together, with the scenario's per-type results weighted by the "
        "reference's mix of proposal types, so a different mix of types does not pass for a "
        "faster or slower process (the unweighted values are the group 'all' of "
        "comparison.csv).</p>"
        f"<h2>Figures</h2>{figures_html(figures)}"
        "<p>All metrics (with the counted events and each body's days per visit), groups "
        "(proposal types, bodies, member states) and the unpaired intervals are in "
        f"comparison.csv.</p>{glossary_html()}"
    )
    write_text_atomic(path, page("cfsp-sim comparison: " + " vs ".join(labels), body))
