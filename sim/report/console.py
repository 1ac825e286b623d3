"""What the command line prints, as lines of text: a run's headline, a sweep's, a fit's,
a sensitivity analysis's, a calibration's and a comparison's tables, the bundled scenarios."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from sim.analysis.metrics import fmt_interval, fmt_value
from sim.analysis.stats import few_replications
from sim.experiment.calibrate import Calibration
from sim.experiment.results import Experiment
from sim.experiment.sensitivity import Sensitivity
from sim.experiment.sweep import Sweep
from sim.report.answer import report_spec, run_answer, run_metrics
from sim.report.comparison import Comparison, headline_differences
from sim.report.decomposition import mechanism_sentence, mechanism_table, type_table
from sim.report.names import metric_name
from sim.scenario import Scenario, ScenarioError, load_scenario


def scenario_line(spec: str, s: Scenario) -> str:
    """``cfsp-sim validate``'s line for a valid scenario."""
    return (
        f"ok: {spec} ({s.name}: {len(s.resolved_members())} member states, {len(s.bodies)} "
        f"bodies, {len(s.proposal_types)} proposal types)"
    )


def scenario_list(bundled: Mapping[str, Path]) -> list[str]:
    """The bundled scenarios and their descriptions (an invalid one says why)."""
    rows = []
    for name, path in bundled.items():
        try:
            rows.append((name, load_scenario(path).description))
        except ScenarioError as exc:
            rows.append((name, f"INVALID: {exc.problem}"))
    width = max(len(r[0]) for r in rows)
    head = "Bundled scenarios (cfsp-sim run NAME; cfsp-sim scenarios --copy DIR to edit them):"
    return [head, *(f"  {name:<{width}}  {desc}" for name, desc in rows)]


def headline_lines(exp: Experiment) -> list[str]:
    """A run's size and its headline metrics with 95% intervals."""
    m, scenario = exp.manifest, exp.scenario
    spec = report_spec(scenario)
    metrics = run_metrics(exp.path, spec)
    lines = [
        *([spec.question] if spec.question else []),
        run_answer(metrics, spec, int(m["replications"])),
        f"{scenario.name}: {m['replications']} replications, seed {m['seed']}, "
        f"horizon {scenario.horizon_days:g} days, {m['wall_seconds']:.1f} s",
    ]
    headline = exp.headline()
    width = max([44, *(len(metric_name(str(m))) for m in headline.index)])  # the labels align
    lines.append(f"  {'metric':<{width}}{'mean':>10}  95% CI")
    for metric, row in headline.iterrows():
        name = str(metric)
        ci = fmt_interval(name, row["ci_low"], row["ci_high"])
        lines.append(f"  {metric_name(name):<{width}}{fmt_value(name, row['mean']):>10}  {ci}")
    return lines


def run_warning(exp: Experiment) -> str | None:
    """A warning when a run has too few replications for its intervals."""
    return few_replications(int(exp.manifest["replications"]))


def sweep_lines(sweep: Sweep) -> list[str]:
    """Each point's adoption rate and mean days to adoption."""
    t = sweep.table[sweep.table["metric"].isin(["adoption_rate", "time_to_adoption_mean"])]
    lines = []
    for _, r in t.iterrows():
        values = ", ".join(f"{p.key}={r[p.key]}" for p in sweep.grid.parameters if r[p.key] != "")
        metric = str(r["metric"])
        lines.append(
            f"  [{values or 'as given'}] {metric:<24} {fmt_value(metric, r['mean'])} "
            f"{fmt_interval(metric, r['ci_low'], r['ci_high'])}"
        )
    return lines


def fit_lines(fit: pd.DataFrame) -> list[str]:
    """Each calibration target: observed, simulated median, 90% interval, inside or not."""
    lines = [f"{'target':<40}{'observed':>9}{'sim median':>11}  {'90% interval':<19}{'inside':<6}"]
    for r in fit.itertuples():
        interval = f"[{r.p5:.3g}, {r.p95:.3g}]"
        soft = {"range": f" (soft {r.low:.3g}-{r.high:.3g})", "above": f" (above {r.low:.3g})"}
        if r.statistic == "mean":  # the check is on the share pooled over simulated records
            soft = {k: f"{v[:-1]}, on the mean {r.simulated_mean:.3g})" for k, v in soft.items()}
        lines.append(
            f"{r.target:<40}{r.observed:>9.3g}{r.simulated_median:>11.3g}  {interval:<19}"
            f"{'yes' if r.inside else 'NO':<6}{soft.get(r.check, '')}"
        )
    return lines


def sensitivity_lines(result: Sensitivity, method: str) -> list[str]:
    """Each statistic's most influential parameter."""
    index = "mu_star" if method == "morris" else "ST"
    top = result.table.sort_values(index, ascending=False).groupby("metric").head(1)
    return [
        f"  {r.metric:<28} most sensitive to {r.parameter} ({index} {getattr(r, index):.3g})"
        for r in top.itertuples()
    ]


def calibration_lines(cal: Calibration) -> list[str]:
    """How many targets the posterior predictive covers, and where the results are."""
    return [
        f"{int(cal.fit['inside'].sum())} of {len(cal.fit)} targets inside the posterior "
        f"predictive 90% interval",
        f"calibration: {cal.path} (calibrated scenario: {cal.path / 'calibrated.toml'})",
    ]


def decomposition_lines(table: pd.DataFrame) -> list[str]:
    """A decomposition's split of days to adoption, then every metric's, then by type."""
    return [
        mechanism_sentence(table),
        "",
        "Mechanisms, each switched on after the ones above it (difference [95% CI]; all types "
        "at the reference's mix; shares in pp):",
        mechanism_table(table).to_string(index=False),
        "",
        "Days to adoption by proposal type, per mechanism:",
        type_table(table).to_string(index=False),
        "",
    ]


def comparison_lines(c: Comparison) -> list[str]:
    """A comparison's pairing, warnings, headline and per-type differences (led by the
    mechanisms, when it was decomposed)."""
    return [
        *([c.question] if c.question else []),
        *([] if c.decomposition is None else decomposition_lines(c.decomposition)),
        *c.answers,
        "",
        "By proposal type (difference [95% CI]; shares in pp, times in days, counts per "
        "replication):",
        c.per_type.to_string(index=False),
        "",
        c.reason,
        *(f"warning: {w}" for w in c.warnings),
        f"intervals: {c.uncertainty}",
        headline_differences(c.table).to_string(index=False),
        "  * all types at the reference's mix of proposal types",
        f"comparison: {c.path}",
    ]
