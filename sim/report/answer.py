"""What a run or a comparison answers: the scenario's question (its ``[report]`` table), a
one-sentence answer with its interval, the per-type table (adoption, median, p90, lapses and
the counted events such as brakes), and the figures drawn as differences: per-type forest
plots, the per-body time shift, outcome shares in percentage points.

Counts (``brakes``, ``votes``...) are per replication (one simulated period, a year for the
bundled scenarios), computed from the event log and added to the metrics with the same shape
(``replication, metric, group, value``), so a comparison pairs them like any other metric.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.analysis.stats import REFERENCE_MIX, bootstrap_interval
from sim.experiment.results import read_table
from sim.report import plots
from sim.report.names import body_name, plural, type_name
from sim.report.prose import effect_sentence
from sim.scenario import Scenario
from sim.scenario.report import COUNTED_ACTIVITY, ReportSpec

SPLIT = ("wait_meeting_days", "wait_instructions_days", "negotiating_days")
PER_TYPE = {
    "adoption_rate": ("adopted", "%"),
    "time_to_adoption_median": ("median days", "days"),
    "time_to_adoption_p90": ("p90 days", "days"),
    "lapse_rate": ("lapsed", "%"),
}
"""The per-type table's metrics (then the scenario's counts): column name and unit."""
WHERE_USED = {"hr_declaration_rate": ("issued by the HR", "%")}
"""Per-type columns shown after those of :data:`PER_TYPE` only where some value is not zero:
declarations issued by the High Representative, in a scenario some type of which has the
workaround (elsewhere a column of zeros)."""
PERCENT_METRICS = (
    "adoption_rate",
    "block_rate",
    "lapse_rate",
    "hr_declaration_rate",
    "pending_share",
)


def report_spec(*scenarios: Scenario) -> ReportSpec:
    """The first ``[report]`` table among ``scenarios`` (the compared scenario's before the
    reference's), else the defaults (no question, all types, brakes counted)."""
    for s in scenarios:
        if s.report is not None:
            return s.report
    return ReportSpec()


def count_metrics(
    events: pd.DataFrame, proposals: pd.DataFrame, counts: Sequence[str]
) -> pd.DataFrame:
    """Per replication and proposal type (and ``all``): how many of each counted event
    (``brakes``...) the event log holds; zero where none."""
    reps = sorted(proposals["replication"].unique())
    types = proposals["type"].unique().astype(str).tolist()  # on the categories, not each row
    kinds = proposals[["replication", "proposal_id", "type"]].rename(
        columns={"proposal_id": "case_id"}
    )
    rows = []
    for name in counts:
        ev = events[events["activity"] == COUNTED_ACTIVITY[name]]  # on the categories
        typed = ev[["replication", "case_id"]].merge(kinds, on=["replication", "case_id"])
        n = typed.groupby(["replication", typed["type"].astype(str)]).size()
        grid = pd.MultiIndex.from_product([reps, types], names=["replication", "group"])
        per = n.reindex(grid, fill_value=0).rename("value").reset_index()
        total = per.groupby("replication")["value"].sum().reset_index().assign(group="all")
        rows.append(pd.concat([per, total], ignore_index=True).assign(metric=name))
    if not rows:
        return pd.DataFrame(columns=["replication", "metric", "group", "value"])
    out = pd.concat(rows, ignore_index=True)
    return out[["replication", "metric", "group", "value"]].astype({"value": float})


def counted_events(folder: Path, counts: Sequence[str]) -> pd.DataFrame:
    """The events :func:`count_metrics` counts, and no more: three columns of the counted
    activities alone (reading the whole event log made memory grow with the replications)."""
    activities = [COUNTED_ACTIVITY[name] for name in counts]
    return read_table(
        folder, "events", ["replication", "case_id", "activity"], ("activity", activities)
    )


def counted_tables(folder: Path, counts: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What :func:`count_metrics` needs of a run's folder: the counted events and each
    proposal's type."""
    proposals = read_table(folder, "proposals", ["replication", "proposal_id", "type"])
    return counted_events(folder, counts), proposals


def visit_days(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per replication and body: mean days per visit (waiting for a meeting, for instructions
    and negotiating together), as metric ``days_per_visit``."""
    m = metrics[metrics["metric"].astype(str).isin(SPLIT)]
    m = m.assign(group=m["group"].astype(str))
    total = m.groupby(["replication", "group"])["value"].sum().reset_index()
    return total.assign(metric="days_per_visit")[["replication", "metric", "group", "value"]]


def extended_metrics(
    metrics: pd.DataFrame, events: pd.DataFrame, proposals: pd.DataFrame, counts: Sequence[str]
) -> pd.DataFrame:
    """A run's metrics with its counts and per-body days per visit added."""
    plain = metrics.assign(metric=metrics["metric"].astype(str), group=metrics["group"].astype(str))
    extra = [count_metrics(events, proposals, counts), visit_days(metrics)]
    return pd.concat([plain, *extra], ignore_index=True)


RUN_METRICS = ("time_to_adoption_mean", *PER_TYPE, *WHERE_USED)
"""The metrics a run's answer and per-type table read (with the counts)."""


def run_metrics(folder: Path, spec: ReportSpec) -> pd.DataFrame:
    """What :func:`run_answer` and :func:`per_type_run` read of a run's folder: the metrics of
    :data:`RUN_METRICS` and the counts, with plain-string names (only these rows are read and
    turned into strings: converting every row made memory grow with the replications)."""
    used = read_table(folder, "metrics", where=("metric", RUN_METRICS))
    plain = used.assign(metric=used["metric"].astype(str), group=used["group"].astype(str))
    counted = count_metrics(*counted_tables(folder, spec.counts), spec.counts)
    return pd.concat([plain, counted], ignore_index=True)


def _focus(spec: ReportSpec, groups: Sequence[str]) -> str:
    return next((t for t in spec.focus_types if t in groups), "all")


def answer_sentence(
    table: pd.DataFrame, spec: ReportSpec, comparison: str | None = None, basis: str = ""
) -> str:
    """The one-sentence answer of a comparison: the mean days to adopt the first focus type
    (else all types), with its interval."""
    t = table if comparison is None else table[table["comparison"] == comparison]
    days = t[t["metric"] == "time_to_adoption_mean"]
    group = _focus(spec, days["group"].tolist())
    row = days[days["group"] == (REFERENCE_MIX if group == "all" else group)]
    row = row if len(row) else days[days["group"] == group]
    if row.empty:
        return "No proposal was adopted in these runs: there is no time to adoption to compare."
    r = row.iloc[0]
    name, reference = str(r["comparison"]).split(" − ", 1)
    what = "a proposal (all types)" if group == "all" else f"a {type_name(group)}"
    return effect_sentence(
        f"Against {reference}, {name} changes the mean days to adopt {what}",
        r["difference"],
        r["ci_low"],
        r["ci_high"],
        basis=basis,
    )


def run_answer(metrics: pd.DataFrame, spec: ReportSpec, replications: int) -> str:
    """The one-sentence answer of a run: the mean days to adopt the first focus type (else all
    types) and the first count, each with its 95% interval."""
    group = _focus(spec, _types(metrics))
    what = "a proposal (all types)" if group == "all" else f"a {type_name(group)}"

    def mean(metric: str) -> tuple[float, float, float]:
        m = metrics[(metrics["metric"] == metric) & (metrics["group"] == group)]
        return bootstrap_interval(m["value"].to_numpy(float))  # as summary.csv's

    days, lo, hi = mean("time_to_adoption_mean")
    if days != days:
        return f"No {what[2:]} was adopted in this run."
    text = (
        f"Adopting {what} takes {days:.1f} days on average (95% CI {lo:.1f} to {hi:.1f}), "
        f"from {replications} replications"
    )
    for count in spec.counts[:1]:
        n, clo, chi = mean(count)
        on = "" if group == "all" else f" of {plural(group)}"
        text += f"; {count}{on} per replication: {n:.2f} (95% CI {clo:.2f} to {chi:.2f})"
    return text + "."


def _cell(metric: str, diff: float, lo: float, hi: float, signed: bool) -> str:
    scale, unit = (100.0, " pp" if signed else "%") if metric in PERCENT_METRICS else (1.0, "")
    if diff != diff:
        return "–"
    value = f"{scale * diff:+.1f}" if signed else f"{scale * diff:.1f}"
    if lo != lo:
        return value + unit
    return (
        f"{value}{unit} [{scale * lo:+.1f}, {scale * hi:+.1f}]"
        if signed
        else (f"{value}{unit} [{scale * lo:.1f}, {scale * hi:.1f}]")
    )


def _type_order(groups: Sequence[str], spec: ReportSpec) -> list[str]:
    rest = [g for g in groups if g not in spec.focus_types and g not in ("all", REFERENCE_MIX)]
    return [t for t in spec.focus_types if t in groups] + rest


def _types(table: pd.DataFrame) -> list[str]:
    """The proposal types of a metrics or differences table (the groups with an adoption
    rate), in order of appearance."""
    return table[table["metric"] == "adoption_rate"]["group"].astype(str).unique().tolist()


def fmt_change(metric: str, diff: float, low: float, high: float) -> tuple[str, str]:
    """A difference and its interval at a sensible precision: shares in pp with one decimal,
    days and counts with one (two below one), in their units."""
    if diff != diff:
        return "–", "–"
    if metric in PERCENT_METRICS:
        return f"{100 * diff:+.1f} pp", f"[{100 * low:+.1f}, {100 * high:+.1f}] pp"
    digits = 2 if max(abs(low), abs(high)) < 1 else 1
    return f"{diff:+.{digits}f}", f"[{low:+.{digits}f}, {high:+.{digits}f}]"


def _per_type_columns(table: pd.DataFrame, *values: str) -> dict[str, tuple[str, str]]:
    """The per-type table's metrics: :data:`PER_TYPE`, then those of :data:`WHERE_USED` with
    a value other than zero in one of the columns ``values`` of ``table``."""
    columns = dict(PER_TYPE)
    for metric, name in WHERE_USED.items():
        rows = table[table["metric"] == metric]
        if any(bool((rows[v].fillna(0.0) != 0.0).any()) for v in values):
            columns[metric] = name
    return columns


def per_type_comparison(table: pd.DataFrame, spec: ReportSpec) -> pd.DataFrame:
    """One row per comparison and proposal type (focus types first): the difference of each
    per-type metric and count with its 95% interval, in pp for shares."""
    columns = _per_type_columns(table, "mean_a", "mean_b")
    metrics = [*columns, *spec.counts]
    rows = []
    several = table["comparison"].nunique() > 1
    for comparison, t in table.groupby("comparison", sort=False):
        groups = _type_order(_types(t), spec)
        t = t.set_index(["metric", "group"])
        for group in groups:
            row = {"comparison": comparison} if several else {}
            row["type"] = type_name(group)
            for m in metrics:
                name = columns.get(m, (m, ""))[0]
                if (m, group) in t.index:
                    r = t.loc[(m, group)]
                    row[name] = _cell(m, r["difference"], r["ci_low"], r["ci_high"], True)
                else:
                    row[name] = "–"
            rows.append(row)
    return pd.DataFrame(rows)


def per_type_run(metrics: pd.DataFrame, spec: ReportSpec) -> pd.DataFrame:
    """One row per proposal type (focus types first): the mean of each per-type metric and
    count across replications with its 95% interval."""
    columns = _per_type_columns(metrics, "value")
    names = [*columns, *spec.counts]
    m = metrics[metrics["metric"].isin(names)]
    rows = []
    for group in _type_order(_types(metrics), spec):
        row = {"type": type_name(group)}
        for metric in names:
            v = m[(m["metric"] == metric) & (m["group"] == group)]["value"].to_numpy(float)
            mean, lo, hi = bootstrap_interval(v)  # as summary.csv's
            row[columns.get(metric, (metric, ""))[0]] = _cell(metric, mean, lo, hi, False)
        rows.append(row)
    return pd.DataFrame(rows)


def _forest(ax: Axes, rows: pd.DataFrame, labels: list[str], scale: float) -> None:
    y = np.arange(len(rows))
    d = scale * rows["difference"].to_numpy(float)
    lo, hi = scale * rows["ci_low"].to_numpy(float), scale * rows["ci_high"].to_numpy(float)
    err = np.vstack([np.nan_to_num(d - lo), np.nan_to_num(hi - d)])
    colours = ["#c92a2a" if (a > 0 or b < 0) else "#1c7ed6" for a, b in zip(lo, hi, strict=True)]
    ax.errorbar(d, y, xerr=err, fmt="none", ecolor="#495057", capsize=3)
    ax.scatter(d, y, color=colours, zorder=3)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, labels)
    if not ax.yaxis_inverted():  # first row on top (axes sharing y invert once)
        ax.invert_yaxis()


def per_type_forest(table: pd.DataFrame, spec: ReportSpec, comparison: str) -> Figure:
    """Per-type paired differences, one panel per metric (mean days, adoption in pp, then the
    counts), types named in words; red where the interval excludes zero."""
    t = table[table["comparison"] == comparison]
    panels = [
        ("time_to_adoption_mean", "mean days to adopt", 1.0),
        ("adoption_rate", "adopted (pp)", 100.0),
        *((c, f"{c} per replication", 1.0) for c in spec.counts),
    ]
    groups = _type_order(_types(t), spec)
    fig = plots.new_figure((4.2 * len(panels), 1.2 + 0.42 * len(groups)))
    with plots.style():
        axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)[0]
        for ax, (metric, label, scale) in zip(axes, panels, strict=True):
            rows = t[t["metric"] == metric].set_index("group").reindex(groups).reset_index()
            _forest(ax, rows, [type_name(g) for g in groups], scale)
            ax.set_xlabel(f"difference, {label}")
        fig.suptitle(f"{comparison}, by proposal type (paired, 95% CI)")
        fig.tight_layout()
    return fig


def body_shift_figure(table: pd.DataFrame, comparison: str) -> Figure:
    """The per-body time shift: the paired difference in days per visit to each body."""
    t = table[(table["comparison"] == comparison) & (table["metric"] == "days_per_visit")]
    t = t.dropna(subset=["difference"])
    fig = plots.new_figure((8.0, 1.2 + 0.42 * max(3, len(t))))
    with plots.style():
        ax = fig.subplots()
        _forest(ax, t, [body_name(b) for b in t["group"]], 1.0)
        ax.set_xlabel("difference in days per visit (waiting and negotiating)")
        ax.set_title(f"Time shift by body: {comparison}")
        fig.tight_layout()
    return fig


def outcome_difference_figure(table: pd.DataFrame, comparison: str) -> Figure:
    """How proposals end, as differences in percentage points (all types at the reference's
    mix), not as shares on a 0-100% axis where a 0.2-point change is invisible."""
    t = table[(table["comparison"] == comparison) & (table["metric"].isin(PERCENT_METRICS))]
    mixed = t[t["group"] == REFERENCE_MIX]
    t = (mixed if len(mixed) else t[t["group"] == "all"]).set_index("metric")
    unused = [m for m in WHERE_USED if m in t.index and not t.loc[m, ["mean_a", "mean_b"]].any()]
    t = t.reindex([m for m in PERCENT_METRICS if m in t.index and m not in unused]).reset_index()
    labels = {
        "adoption_rate": "adopted",
        "block_rate": "blocked",
        "lapse_rate": "lapsed",
        "hr_declaration_rate": "issued by the HR",
        "pending_share": "pending at the horizon",
    }
    fig = plots.new_figure((8.0, 3.2))
    with plots.style():
        ax = fig.subplots()
        _forest(ax, t, [labels[m] for m in t["metric"]], 100.0)
        ax.set_xlabel("difference in the share of proposals (percentage points)")
        ax.set_title(f"How proposals end: {comparison}")
        fig.tight_layout()
    return fig
