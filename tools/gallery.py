"""Regenerate ``docs/gallery/``, the findings pages' and the README's numbers (``make gallery``).

Runs the bundled scenarios with the same seed (paired, common random numbers), compares each
with the baseline, copies the figures into ``docs/gallery/`` and rewrites the generated
passages — the text between ``<!-- gallery:NAME -->`` and ``<!-- /gallery:NAME -->`` — wherever
they occur in the README and the documentation site's findings pages (``docs/findings/*.md``
beside the README, or ``--findings``). Everything else in those files is left as written.

    python tools/gallery.py                  # 60 replications, seed 2025 (the README's)
    python tools/gallery.py -n 4 --horizon 90 --readme /tmp/README.md --gallery /tmp/g  # a try
    python tools/gallery.py --only enlargement --workers 1   # only the enlargement passages
    python tools/gallery.py --only uncertainty   # only QMV with and without parameter uncertainty
"""

from __future__ import annotations

import argparse
import functools
import itertools
import re
import shutil
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

import sim
from sim import Experiment, open_results
from sim.analysis.metrics import PERCENT, fmt_difference, fmt_interval
from sim.analysis.stats import REFERENCE_MIX
from sim.report import mechanisms, plots
from sim.report.comparison import comparison_table, decompose
from sim.report.decomposition import CHAINS, TOTAL, chain, type_contributions
from sim.report.export import CASE_ACTIVITIES, mining_log
from sim.report.names import plural

ROOT = Path(__file__).resolve().parents[1]
FORCE = sim.ExperimentOptions(force=True)
BASELINE = "eu27_baseline"
VARIANTS = {  # scenario: (what it is, the mechanism behind its effect: words, no numbers)
    "qmv_art31": (
        "QMV (Art. 31(2) TEU and the Art. 31(3) passerelle)",
        "hold-outs outvoted in the Council (without hold-outs: see above)",
    ),
    "qmv_art31_a_items": (
        "QMV, a text without consensus voted as an A item",
        "no wait for the ministers' monthly meeting: the next Council of any configuration "
        "votes the outvoted down without debate",
    ),
    "constructive_abstention": (
        "constructive abstention",
        "a declaration lets a text objector step aside, but hold-outs want their concession "
        "and do not declare; the one-third limits do not bind",
    ),
    "holdout_state": (
        "one hold-out state",
        "one state holding far more items hostage, longer",
    ),
    "enlargement_eu35": (
        "an EU of 35",
        "eight more veto players as their measured alignment says (Serbia 62%, Georgia 49%): "
        "more objections to tabled texts and more hold-outs; more capitals and agenda add "
        'little (see "Enlargement")',
    ),
    "qmv_enlarged": (
        "QMV in an EU of 35",
        "QMV helps only where it applies; statements and conclusions stay consensual among 35",
    ),
}
FIGURES = {  # gallery file: (run or comparison folder, figure in it)
    "baseline_time_split.png": (BASELINE, "time_split.png"),
    "unanimity_vs_qmv_adoption.png": ("compare_qmv_art31", "adoption_overlay.png"),
    "unanimity_vs_qmv_forest_days.png": ("compare_qmv_art31", "forest_days.png"),
}


DECOMPOSITION = {  # source of enlargement's cost: the variant that switches on only it
    "agenda load of 35 delegations": "enlargement_eu35_agenda_only",
    "eight more capitals to instruct": "enlargement_eu35_capitals_only",
    "eight more veto players, as aligned": "enlargement_eu35_vetoes_only",
}
WAVES = {"EU27": "eu27_baseline", "EU30": "enlargement_eu30", "EU33": "enlargement_eu33"}
WAVES["EU35"] = "enlargement_eu35"
ENLARGED = {  # wave: its scenario under unanimity, under QMV
    "EU30": ("enlargement_eu30", "enlargement_eu30_qmv"),
    "EU33": ("enlargement_eu33", "enlargement_eu33_qmv"),
    "EU35": ("enlargement_eu35", "qmv_enlarged"),
}
POWER_SHOWN = ("DE", "FR", "IT", "ES", "PL", "NL", "HU", "MT")


def _args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-n", "--replications", type=int, default=60, help="default: 60")
    p.add_argument("--seed", type=int, default=2025, help="default: 2025")
    p.add_argument("--horizon", type=float, help="override horizon_days (default: scenario's)")
    p.add_argument("--workers", type=int, help="default: all cores")
    p.add_argument("--results", type=Path, default=ROOT / "results" / "gallery")
    p.add_argument("--gallery", type=Path, default=ROOT / "docs" / "gallery")
    p.add_argument("--readme", type=Path, default=ROOT / "README.md")
    p.add_argument(
        "--findings",
        type=Path,
        help="the findings pages' folder (default: docs/findings beside --readme; skipped if "
        "missing)",
    )
    p.add_argument(
        "--posterior-replications",
        type=int,
        default=200,
        help="replications of each run of the parameter-uncertainty table (default: 200)",
    )
    p.add_argument(
        "--posterior",
        type=Path,
        default=ROOT / "docs" / "calibration",
        help="the calibration folder whose posterior that table draws from",
    )
    p.add_argument(
        "--only",
        choices=["enlargement", "uncertainty"],
        help="rerun only this part (enlargement: its waves, decomposition and power tables; "
        "uncertainty: QMV with and without parameter uncertainty)",
    )
    return p.parse_args(argv, argparse.Namespace(done={}))


def _run(
    name: str,
    args: argparse.Namespace,
    report: bool = False,
    *,
    replications: int | None = None,
    sets: Sequence[str] = (),
    tag: str = "",
    posterior: Path | None = None,
) -> Experiment:
    """Run a bundled scenario into ``args.results`` (under ``tag`` when it is run otherwise
    than as bundled), once per invocation of the tool."""
    key = f"{tag}/{name}" if tag else name
    if key in args.done:
        return args.done[key]
    sets = [*sets, f"horizon_days={args.horizon}"] if args.horizon else list(sets)
    options = sim.ExperimentOptions(
        workers=args.workers,
        force=True,
        progress=False,
        report=sim.attach_report if report else None,
    )
    args.done[key] = sim.run_experiment(
        sim.Source(name, tuple(sets)),
        args.results / key,
        replications=replications or args.replications,
        seed=args.seed,
        posterior=posterior,
        options=options,
    )
    return args.done[key]


def _row(table: pd.DataFrame, metric: str, group: str = REFERENCE_MIX) -> pd.Series:
    return table[(table["metric"] == metric) & (table["group"] == group)].iloc[0]


def qmv_passage(table: pd.DataFrame) -> str:
    """The README's QMV headline: sanctions packages' paired difference in mean days."""
    pkg = _row(table, "time_to_adoption_mean", "sanctions_package")
    d = pkg["difference"]

    def num(x: float, digits: int = 1) -> str:
        return f"{x:.{digits}f}".replace("-", "−")

    return (
        f"**{abs(d):.1f} days {'faster' if d < 0 else 'slower'}** on average "
        f"({num(pkg['mean_a'])} → {num(pkg['mean_b'])} days; 95% CI of the\npaired difference "
        f"{num(pkg['ci_low'])} to {num(pkg['ci_high'])})"
    )


def _effect(table: pd.DataFrame, metric: str, group: str = REFERENCE_MIX, unit: str = "") -> str:
    """A paired difference and its 95% CI: ``+1.23 days (+0.45 to +2.01)``; shares in
    percentage points."""
    r = _row(table, metric, group)
    scale, unit = (100, " points") if metric in PERCENT else (1, unit)
    d, lo, hi = (scale * r[k] for k in ("difference", "ci_low", "ci_high"))
    return f"{d:+.2f}{unit} ({lo:+.2f} to {hi:+.2f})".replace("-", "−")


def brakes(run: Experiment) -> tuple[int, Counter[str], Counter[str]]:
    """Emergency brakes pulled in a run (one per item and meeting, however many states
    declare), and how many in each body and on each proposal type."""
    events = run.events
    pulled = events[events["activity"] == "emergency_brake"]
    pulled = pulled.drop_duplicates(["replication", "case_id", "time_day"])
    types = run.proposals.set_index(["replication", "proposal_id"])["type"].astype(str)
    on = types.reindex(pd.MultiIndex.from_frame(pulled[["replication", "case_id"]]))
    return len(pulled), Counter(pulled["body"].astype(str)), Counter(on)


@functools.cache
def brakes_phrase(folder: Path) -> str:
    """The brakes of the run in ``folder``, in words (the README's QMV paragraph and the
    scenario table both quote it)."""
    run = open_results(folder)
    n, bodies, types = brakes(run)
    years = int(run.manifest["replications"]) * float(run.manifest["horizon_days"]) / 365.0
    span = f"{years:.3g} simulated years"
    if not n:
        return f"no emergency brake in {span}"
    where = ", ".join(f"{k} in the {b}" for b, k in bodies.most_common())
    on = ", ".join(f"{k} on {plots.human(t)}s" for t, k in types.most_common())
    return f"{n} emergency brakes in {span} ({where}; {on})"


QMV_TYPES = ("sanctions_package", "sanctions_renewal", "listings_renewal", "listing")
"""The types ``qmv_art31`` puts under QMV."""


def _extra(name: str, table: pd.DataFrame, folder: Path) -> str:
    """What else a scenario changes, beyond the three columns every row has."""
    if name in ("qmv_art31", "qmv_art31_a_items"):
        return brakes_phrase(folder)
    if name == "constructive_abstention":
        return "adoptions carrying a declared abstention " + _effect(
            table, "abstention_adoption_rate", "all"
        )
    if name == "enlargement_eu35":
        rounds = _row(table, "rounds_mean", "sanctions_package")
        lapses = _row(table, "lapse_rate", "eu_statement")
        issued = _row(table, "hr_declaration_rate", "eu_statement")
        return (
            f"package rounds {rounds['mean_a']:.1f} → {rounds['mean_b']:.1f}; statements lapsing "
            f"{_pct(lapses['mean_a'])}% → {_pct(lapses['mean_b'])}%, issued by the High "
            f"Representative instead {_pct(issued['mean_a'])}% → {_pct(issued['mean_b'])}%"
        )
    return ""


def scenarios_passage(
    tables: dict[str, pd.DataFrame], folders: dict[str, Path], args: argparse.Namespace
) -> str:
    """A table of every variant's paired differences from the baseline, with the mechanism
    that produces them."""
    lines = [
        f"With {args.replications} replications (seed {args.seed}), paired against the "
        "baseline (mean days to adoption, all types at the baseline's mix of types; 95% CIs "
        "of the paired differences):",
        "",
        "| scenario | days to adopt a sanctions package | days to adoption, all types | "
        "adoption rate, all types | also | the mechanism that produces it |",
        "|---|---|---|---|---|---|",
    ]
    for name, table in tables.items():
        label, mechanism = VARIANTS[name]
        cells = [
            _effect(table, "time_to_adoption_mean", "sanctions_package"),
            _effect(table, "time_to_adoption_mean"),
            _effect(table, "adoption_rate"),
            _extra(name, table, folders[name]),
        ]
        lines.append(f"| `{name}`: {label} | {' | '.join(cells)} | {mechanism} |")
    return "\n".join(lines)


def holdouts_off(name: str) -> list[str]:
    """``--set`` assignments that switch every hold-out of a bundled scenario off: each
    proposal type's ``holdout_scale`` (it scales every state's propensity, demands per file
    included)."""
    scenario = sim.load_scenario(name)
    return [f"proposal_types.{t}.holdout_scale=0" for t in scenario.proposal_types]


def qmv_passages(table: pd.DataFrame, args: argparse.Namespace) -> dict[str, str]:
    """The README's QMV paragraph: the headline, the same without hold-outs (both scenarios
    rerun with every hold-out off), the effect over all types and the brakes pulled."""
    sets = holdouts_off(BASELINE)
    off = {
        name: _run(name, args, sets=sets, tag="without_holdouts")
        for name in (BASELINE, "qmv_art31")
    }
    without = comparison_table([off[BASELINE].path, off["qmv_art31"].path])
    return {
        "qmv": qmv_passage(table),
        "qmv_without_holdouts": (
            f"({len(sets)} `--set proposal_types.<type>.holdout_scale=0`, {args.replications} "
            f"replications, seed {args.seed}), QMV changes the days to adopt a package by "
            f"{_effect(without, 'time_to_adoption_mean', 'sanctions_package', ' days')}"
        ),
        "qmv_overall": (
            f"{_effect(table, 'time_to_adoption_mean', unit=' days')} across all types; adoption "
            f"rate {_effect(table, 'adoption_rate')}"
        ),
        "qmv_brakes": brakes_phrase(_run("qmv_art31", args).path),
        "qmv_types": "; ".join(_type_effect(table, t) for t in QMV_TYPES),
    }


def _type_effect(table: pd.DataFrame, proposal_type: str) -> str:
    """QMV's effect on one type's days to adoption (and, for a type with deadlines, on how
    often it lapses)."""
    days = _effect(table, "time_to_adoption_mean", proposal_type, " days")
    text = f"{plots.human(proposal_type)}s {days}"
    lapses = _row(table, "lapse_rate", proposal_type)
    if lapses["mean_a"] > 0 or lapses["mean_b"] > 0:
        text += f", lapsing {_pct(lapses['mean_a'])}% → {_pct(lapses['mean_b'])}%"
    return text


def uncertainty_passage(args: argparse.Namespace) -> str:
    """QMV against unanimity once at the posterior point (the bundled scenarios as they are)
    and once with each replication drawing its parameters from the bundled posterior."""
    n = args.posterior_replications
    runs = {
        (name, how): _run(
            name,
            args,
            replications=n,
            tag=f"uncertainty_{how}",
            posterior=args.posterior if how == "posterior" else None,
        )
        for name in (BASELINE, "qmv_art31")
        for how in ("point", "posterior")
    }
    tables = {
        how: comparison_table([runs[BASELINE, how].path, runs["qmv_art31", how].path])
        for how in ("point", "posterior")
    }
    rows = (
        ("days to adopt a sanctions package", "time_to_adoption_mean", "sanctions_package"),
        ("days to adoption, all types (reference mix)", "time_to_adoption_mean", REFERENCE_MIX),
        ("adoption rate of packages", "adoption_rate", "sanctions_package"),
    )
    lines = [
        f"{n} replications, seed {args.seed}, posterior `{args.posterior.name}`:",
        "",
        "| QMV − unanimity | at the posterior point (Monte Carlo only) | posterior draws "
        "(Monte Carlo and parameters) | width of the interval, posterior / point |",
        "|---|---|---|---|",
    ]
    for label, metric, group in rows:
        point, post = (_row(tables[how], metric, group) for how in ("point", "posterior"))
        width = point["ci_high"] - point["ci_low"]
        ratio = f"{(post['ci_high'] - post['ci_low']) / width:.2f}" if width > 0 else "–"
        lines.append(
            f"| {label} | {_effect(tables['point'], metric, group)} | "
            f"{_effect(tables['posterior'], metric, group)} | {ratio} |"
        )
    return "\n".join(lines)


def _pct(x: float, sign: bool = False) -> str:
    return f"{100 * x:{'+' if sign else ''}.1f}".replace("-", "−")


def decomposition_passage(base: Experiment, args: argparse.Namespace) -> tuple[str, pd.DataFrame]:
    """Enlargement's cost split into its sources (each switched on alone from the EU27, paired
    by seed): the README's table, and the decomposition for the figure."""
    folders = {label: _run(name, args).path for label, name in DECOMPOSITION.items()}
    table = decompose(base.path, folders, _run("enlargement_eu35", args).path)
    lines = [
        f"{args.replications} replications of a year, seed {args.seed}, each row paired with the "
        "EU27 baseline (all types, at the baseline's mix of types; 95% CIs):",
        "",
        "| source of the EU35's cost | days to adoption (mean) | adoption rate, points | "
        "negotiating rounds per proposal |",
        "|---|---|---|---|",
    ]
    for component in [*DECOMPOSITION, "sum of sources", "all together", "interaction"]:
        cells = []
        for metric, scale in (("time_to_adoption_mean", 1), ("adoption_rate", 100)):
            r = table[(table["metric"] == metric) & (table["component"] == component)].iloc[0]
            d, lo, hi = (scale * r[k] for k in ("difference", "ci_low", "ci_high"))
            cells.append(f"{d:+.2f} ({lo:+.2f} to {hi:+.2f})".replace("-", "−"))
        r = table[(table["metric"] == "rounds_mean") & (table["component"] == component)]
        cells.append(f"{r.iloc[0]['difference']:+.2f}".replace("-", "−"))
        name = f"**{component}** (`enlargement_eu35`)" if component == "all together" else component
        lines.append(f"| {name} | {' | '.join(cells)} |")
    return "\n".join(lines), table


def qmv_decomposition_passage(
    base: Experiment, args: argparse.Namespace
) -> tuple[str, pd.DataFrame]:
    """QMV's effect split into its mechanisms, switched on one after another from the
    baseline (``qmv_art31_outvoting_only``, ``qmv_art31_no_brake``, ``qmv_art31``; paired by
    seed): the findings' table, and the decomposition for the figure."""
    runs = {"reference": base.path}
    runs |= {mechanism: _run(name, args).path for mechanism, name in CHAINS["qmv_art31"]}
    table = chain(runs)
    lines = [
        f"{args.replications} replications of a year, seed {args.seed}; each mechanism switched "
        "on after the ones above it, paired with the step before (95% CIs; the mechanisms add up "
        "to the total):",
        "",
        "| mechanism | days to adopt a sanctions package | days to renew the listings | "
        "days to adoption, all types | adoption rate, points |",
        "|---|---|---|---|---|",
    ]
    for component in table["component"].unique():
        cells = []
        for metric, group in (
            ("time_to_adoption_mean", "sanctions_package"),
            ("time_to_adoption_mean", "listings_renewal"),
            ("time_to_adoption_mean", REFERENCE_MIX),
            ("adoption_rate", REFERENCE_MIX),
        ):
            r = table[
                (table["metric"] == metric)
                & (table["group"] == group)
                & (table["component"] == component)
            ]
            if r.empty:  # no item adopted in some step of every replication (a short try)
                cells.append("–")
                continue
            scale = 100 if metric in PERCENT else 1
            d, lo, hi = (scale * r.iloc[0][k] for k in ("difference", "ci_low", "ci_high"))
            cells.append(f"{d:+.2f} ({lo:+.2f} to {hi:+.2f})".replace("-", "−"))
        name = f"**{component}** (`qmv_art31`)" if component == TOTAL else component
        lines.append(f"| {name} | {' | '.join(cells)} |")
    lines += [
        "",
        "![QMV's effect split into outvoting, anticipation and the emergency brake, all types "
        f"and per type ({args.replications} replications, seed {args.seed})]"
        "(../gallery/qmv_decomposition.png)",
    ]
    return "\n".join(lines), table


def mechanisms_phrase(table: pd.DataFrame) -> str:
    """The README's split of QMV's days into its mechanisms, in words: for the sanctions
    packages (the README's question) and for the listings renewals."""
    days = table[table["metric"] == "time_to_adoption_mean"]
    phrases = []
    for group in ("sanctions_package", "listings_renewal"):
        cells = {
            r["component"]: f"{r['difference']:+.2f} ({r['ci_low']:+.2f} to {r['ci_high']:+.2f})"
            for _, r in days[days["group"] == group].iterrows()
        }
        total = cells.pop(TOTAL)
        parts = "; ".join(f"{c} {v}" for c, v in cells.items())
        phrases.append(f"{plots.human(group)}s {total} days ({parts})")
    return " and ".join(phrases).replace("-", "−")


def qmv_decomposition_figure(table: pd.DataFrame, out: Path) -> None:
    """QMV's decomposition, days to adoption and adoption rate, all types and per type."""
    title = "Where QMV's effect comes from: outvoting, anticipation, the emergency brake"
    mechanisms.days_and_rate(table, mechanisms.plot_chain, title).savefig(out, dpi=110)


def eu35_types_passage(base: Experiment, args: argparse.Namespace) -> tuple[str, str]:
    """Which proposal types carry the EU35's extra days (all types, at the baseline's mix),
    all together and from each source alone: the findings' table, and the README's phrase on
    the type that carries most."""
    together = type_contributions(base.path, _run("enlargement_eu35", args).path)
    sources = {
        label: type_contributions(base.path, _run(name, args).path).set_index("group")
        for label, name in DECOMPOSITION.items()
    }
    lines = [
        f"{args.replications} replications of a year, seed {args.seed}, paired with the EU27 "
        "baseline: each type's change in days to adoption (95% CI) and its contribution to the "
        "all-types change (its weight in the baseline's mix of adopted types × its change), in "
        "days, all together and from each source alone:",
        "",
        "| proposal type | days to adoption, `enlargement_eu35` | contribution | share | "
        + " | ".join(DECOMPOSITION)
        + " |",
        "|---|---|---|---|" + "---|" * len(DECOMPOSITION),
    ]
    for _, r in together.iterrows():
        d, lo, hi = (r[k] for k in ("difference", "ci_low", "ci_high"))
        cells = [
            f"{d:+.2f} ({lo:+.2f} to {hi:+.2f})",
            f"{r['contribution']:+.2f}",
            f"{_pct(r['share'])}%",
            *(f"{t.loc[r['group'], 'contribution']:+.2f}" for t in sources.values()),
        ]
        lines.append(f"| {plural(r['group'])} | {' | '.join(cells).replace('-', '−')} |")
    top = together.iloc[0]
    lead = f"{_pct(top['share'])}% of it on {plural(top['group'])}"
    return "\n".join(lines), lead


def waves_passage(base: Experiment, args: argparse.Namespace) -> str:
    """Each wave under unanimity and under QMV, paired against the EU27 baseline."""
    lines = [
        f"{args.replications} replications of a year, seed {args.seed}, paired with the EU27 "
        "baseline (95% CIs; all types at the baseline's mix of types):",
        "",
        "| wave | rule | days to adoption (mean), all types | adoption rate, points | "
        "days to adoption, sanctions packages |",
        "|---|---|---|---|---|",
    ]
    for wave, (unanimity, qmv) in ENLARGED.items():
        for rule, name in (("unanimity", unanimity), ("QMV", qmv)):
            t = comparison_table([base.path, _run(name, args).path])
            cells = []
            for metric, group in (
                ("time_to_adoption_mean", REFERENCE_MIX),
                ("adoption_rate", REFERENCE_MIX),
                ("time_to_adoption_mean", "sanctions_package"),
            ):
                r = _row(t, metric, group)
                ci = fmt_interval(metric, r["ci_low"], r["ci_high"], difference=True)
                cells.append(f"{fmt_difference(metric, r['difference'])} {ci}")
            lines.append(f"| {wave} (`{name}`) | {rule} | {' | '.join(cells)} |")
    return "\n".join(lines)


def decomposition_figure(table: pd.DataFrame, out: Path) -> None:
    """The decomposition's days to adoption and adoption rate, side by side."""
    title = "Where the EU35's cost comes from: each source alone against the EU27"
    mechanisms.days_and_rate(table, mechanisms.plot_decomposition, title).savefig(out, dpi=110)


def power_passage() -> str:
    """Voting power under QMV, the EU27 against each wave (exact, deterministic)."""
    results = {label: sim.voting_power(name, "qmv") for label, name in WAVES.items()}
    wide = sim.power_comparison(results)
    newcomers = [c for c in wide.index if np.isnan(wide.loc[c, ("banzhaf", "EU27")])]
    head = " | ".join(WAVES)
    lines = [
        "Normalised Banzhaf index under QMV, % (Shapley–Shubik in brackets for the EU27 and "
        "the EU35); change of Banzhaf power from the EU27 to the EU35:",
        "",
        f"| state | population % EU27 | {head} | change |",
        "|---|---|" + "---|" * (len(WAVES) + 1),
    ]
    for code in [*POWER_SHOWN, *newcomers]:
        row = wide.loc[code]
        cells = []
        for label in WAVES:
            b = row[("banzhaf", label)]
            text = "–" if np.isnan(b) else f"{100 * b:.2f}"
            if label in ("EU27", "EU35") and not np.isnan(b):
                text += f" ({100 * row[('shapley_shubik', label)]:.2f})"
            cells.append(text)
        share = row[("population_share", "EU27")]
        change = row[("banzhaf_change", "EU35")]
        lines.append(
            f"| {code} | {'–' if np.isnan(share) else f'{100 * share:.2f}'} | "
            f"{' | '.join(cells)} | {'' if np.isnan(change) else _pct(change, True) + '%'} |"
        )
    ref = results["EU27"].passing
    passing = " | ".join(
        f"{100 * p.passing:.2f}% ({p.passing / ref:.2f}×)" for p in results.values()
    )
    lines += [f"| random coalition passes | | {passing} | |"]
    ua = {end: sim.voting_power(f"qmv_enlarged_ukraine_{end}", "qmv") for end in ("low", "high")}
    ua_b = {end: p.table.set_index("member_state").loc["UA", "banzhaf"] for end, p in ua.items()}
    lines += [
        "",
        f"With Ukraine's population at the low or high end of its range (28.0 or 41.1 million "
        f"against 31.5; `qmv_enlarged_ukraine_low`, `_high`) its Banzhaf power in the EU35 is "
        f"{100 * ua_b['low']:.2f}% or {100 * ua_b['high']:.2f}% (central "
        f"{100 * wide.loc['UA', ('banzhaf', 'EU35')]:.2f}%), and a random coalition passes "
        f"with probability {100 * ua['low'].passing:.2f}% or {100 * ua['high'].passing:.2f}%.",
    ]
    return "\n".join(lines)


def enlargement(base: Experiment, args: argparse.Namespace, text: str) -> str:
    """Rerun the enlargement waves, decomposition and power tables into ``text`` (the
    README)."""
    text = replace_passage(text, "waves", "\n" + waves_passage(base, args) + "\n")
    passage, table = decomposition_passage(base, args)
    decomposition_figure(table, args.gallery / "enlargement_decomposition.png")
    text = replace_passage(text, "decomposition", "\n" + passage + "\n")
    types, top = eu35_types_passage(base, args)
    text = replace_passage(text, "eu35_types", "\n" + types + "\n")
    text = replace_passage(text, "eu35_top_type", top)
    return replace_passage(text, "power", "\n" + power_passage() + "\n")


def dfg_figure(folder: Path, out: Path, proposal_type: str = "sanctions_package") -> None:
    """The directly-follows graph of one proposal type's body visits (what pm4py discovers from
    ``cfsp-sim export``), as a matrix of counts: row = from, column = to."""
    manifest = open_results(folder).manifest
    log, cases = mining_log(folder, list(range(int(manifest["replications"]))))
    chosen = set(cases.loc[cases["type"] == proposal_type, "case"])
    steps = log[
        log["case"].isin(chosen)
        & (log["lifecycle"] == "complete")
        & ~log["activity"].str.contains(":", regex=False)
    ]
    pairs = Counter(
        (a, b)
        for _, g in steps.groupby("case", sort=False)
        for a, b in itertools.pairwise(g["activity"])
    )
    order = list(dict.fromkeys(steps["activity"]))  # first appearance: roughly the route
    first = [n for n in order if n == "submitted"]
    ends = [n for n in order if n in CASE_ACTIVITIES and n != "submitted"]
    order = first + [n for n in order if n not in first + ends] + ends
    matrix = np.array([[pairs.get((a, b), 0) for b in order] for a in order], dtype=float)
    with plots.style():
        fig = Figure(figsize=(8.5, 6.5))
        ax = fig.subplots()
        if not order:  # a very short try run may have no such proposal
            ax.text(0.5, 0.5, f"no {plots.human(proposal_type)} in this run", ha="center")
            fig.savefig(out, dpi=110)
            return
        ax.imshow(np.where(matrix > 0, matrix, np.nan), cmap="Blues")
        for (i, j), n in np.ndenumerate(matrix):
            if n:
                ax.text(j, i, f"{n:.0f}", ha="center", va="center", fontsize=8)
        labels = [plots.human(n) for n in order]
        ax.set_xticks(range(len(order)), labels, rotation=45, ha="right")
        ax.set_yticks(range(len(order)), labels)
        ax.grid(False)
        ax.set_title(f"Directly-follows graph: {plots.human(proposal_type)}s, body to body")
        ax.set_xlabel("next step")
        ax.set_ylabel("step")
        fig.tight_layout()
        fig.savefig(out, dpi=110)


def replace_passage(text: str, name: str, new: str) -> str:
    """``text`` with every passage between the markers of ``name`` replaced by ``new`` (the
    text unchanged, with a note, when it has no such markers)."""
    pattern = re.compile(rf"(<!-- gallery:{name} -->)(.*?)(<!-- /gallery:{name} -->)", re.S)
    if not pattern.search(text):
        print(f"note: no <!-- gallery:{name} --> ... <!-- /gallery:{name} --> markers: skipped")
        return text
    return pattern.sub(lambda m: m.group(1) + new + m.group(3), text)


FILE_MARK = "\n<!-- gallery-file: {} -->\n"
"""Separates the files :func:`read_targets` joins, so that each passage is written once into
all of them."""


def target_files(args: argparse.Namespace) -> list[Path]:
    """The files whose marked passages are rewritten: the README, then the site's home page
    and findings pages (those that exist)."""
    findings = args.findings or args.readme.parent / "docs" / "findings"
    home = findings.parent / "index.md"
    return [args.readme, *([home] if home.is_file() else []), *sorted(findings.glob("*.md"))]


def read_targets(args: argparse.Namespace) -> str:
    """Every target file's text, joined with :data:`FILE_MARK` lines naming the file."""
    return "".join(FILE_MARK.format(p) + p.read_text(encoding="utf-8") for p in target_files(args))


def write_targets(text: str) -> list[Path]:
    """Split what :func:`read_targets` joined and write each file back."""
    parts = re.split(r"\n<!-- gallery-file: (.+?) -->\n", text)
    written = []
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        Path(name).write_text(body, encoding="utf-8")
        written.append(Path(name))
    return written


def headline_passages(tables: dict[str, pd.DataFrame]) -> dict[str, str]:
    """The short passages the README's landing page quotes from the scenario table."""
    return {
        "a_items": _effect(
            tables["qmv_art31_a_items"], "time_to_adoption_mean", "sanctions_package", " days"
        ),
        "eu35_days": _effect(tables["enlargement_eu35"], "time_to_adoption_mean", unit=" days"),
        "eu35_rate": _effect(tables["enlargement_eu35"], "adoption_rate"),
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = _args(argv)
    args.gallery.mkdir(parents=True, exist_ok=True)
    text = read_targets(args)
    if args.only == "enlargement":
        text = enlargement(_run(BASELINE, args), args, text)
    if args.only in (None, "uncertainty"):
        text = replace_passage(text, "uncertainty", "\n" + uncertainty_passage(args) + "\n")
    if args.only is None:
        text = bundled(args, text)
    written = write_targets(text)
    print(f"gallery: {args.gallery}; numbers: {', '.join(map(str, written))}")
    return 0


def bundled(args: argparse.Namespace, text: str) -> str:
    """Every bundled comparison, the figures and the passages that report them."""
    base = _run(BASELINE, args, report=True)
    tables, folders = {}, {}
    for name in VARIANTS:
        folders[name] = _run(name, args).path
        out = args.results / f"compare_{name}"
        tables[name] = sim.compare([base.path, folders[name]], out, FORCE).table
        print(f"{name}: compared with {BASELINE} in {out}")
    for target, (folder, figure) in FIGURES.items():
        shutil.copyfile(args.results / folder / "figures" / figure, args.gallery / target)
    dfg_figure(base.path, args.gallery / "process_mining_dfg.png")
    for name, passage in qmv_passages(tables["qmv_art31"], args).items():
        text = replace_passage(text, name, passage)
    text = replace_passage(
        text, "scenarios", "\n" + scenarios_passage(tables, folders, args) + "\n"
    )
    for name, passage in headline_passages(tables).items():
        text = replace_passage(text, name, passage)
    passage, parts = qmv_decomposition_passage(base, args)
    qmv_decomposition_figure(parts, args.gallery / "qmv_decomposition.png")
    text = replace_passage(text, "qmv_decomposition", "\n" + passage + "\n")
    text = replace_passage(text, "qmv_mechanisms", mechanisms_phrase(parts))
    return enlargement(base, args, text)


if __name__ == "__main__":
    sys.exit(main())
