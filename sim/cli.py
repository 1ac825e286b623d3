"""The ``cfsp-sim`` command line: parse, call the library, write files, set the exit status.

Exit status: 0 success, 2 bad input (any :class:`~sim.core.errors.UserError`: a scenario, an
option, an output folder that may not be replaced, a results folder that is missing, corrupt or
incomplete, a run too large without ``--allow-large``), 130 on Ctrl-C (SIGINT), 143 on SIGTERM,
1 anything else. Bad input is reported as one line naming the file, the key path and the
problem, with no traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import logging
import math
import os
import shutil
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from sim import __version__
from sim.core.errors import UserError
from sim.scenario import (
    PRIORS,
    ScenarioError,
    bundled_scenarios,
    bundled_scenarios_dir,
    did_you_mean,
    load_scenario,
)

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2
EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: the run stops and its manifest says interrupted."""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the example epilogs as written."""


def _shared_parents() -> dict[str, argparse.ArgumentParser]:
    """Options several subcommands share, declared once (argparse parent parsers)."""
    scenario = argparse.ArgumentParser(add_help=False)
    scenario.add_argument(
        "scenario",
        metavar="SCENARIO",
        help="a scenario file, or the name of a bundled one (see: cfsp-sim scenarios)",
    )
    overrides = argparse.ArgumentParser(add_help=False)
    overrides.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one scenario key before validation, e.g. bodies.PSC.capacity=8 "
        "(repeatable; default: none)",
    )
    execution = argparse.ArgumentParser(add_help=False)
    execution.add_argument(
        "-n",
        "--replications",
        type=_positive_int,
        metavar="N",
        help="replications (default: the scenario's [experiment] replications)",
    )
    execution.add_argument(
        "--seed",
        type=_non_negative_int,
        metavar="S",
        help="master seed (default: the scenario's [experiment] seed, else a drawn one, "
        "recorded in manifest.json)",
    )
    execution.add_argument(
        "--workers",
        type=_positive_int,
        metavar="N",
        help="worker processes; results do not depend on it (default: all cores)",
    )
    execution.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="run on Dask: 'local' or a scheduler tcp://host:port (needs the dask extra; "
        "default: no Dask)",
    )
    execution.add_argument(
        "--force", action="store_true", help="replace an existing results folder"
    )
    execution.add_argument("--quiet", action="store_true", help="no progress bar, no summary table")
    large = argparse.ArgumentParser(add_help=False)
    large.add_argument(
        "--allow-large",
        action="store_true",
        help="go beyond the size guards (replications, proposals, sweep points, members for "
        "power; default: refuse, naming the limit)",
    )
    return {"scenario": scenario, "overrides": overrides, "execution": execution, "large": large}


def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="cfsp-sim",
        description="Discrete-event model of EU foreign and security policy decision-making.",
        formatter_class=_Formatter,
        epilog=_examples(
            "cfsp-sim scenarios",
            "cfsp-sim run eu27_baseline -n 100 --seed 2025",
            "cfsp-sim COMMAND --help",
        ),
    )
    p.add_argument("--version", action="version", version=f"cfsp-sim {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    shared = _shared_parents()

    def command(name: str, help: str, parents: tuple[str, ...], *examples: str) -> Any:
        return sub.add_parser(
            name,
            help=help,
            description=help[0].upper() + help[1:] + ".",
            parents=[shared[k] for k in parents],
            formatter_class=_Formatter,
            epilog=_examples(*examples),
        )

    _scenario_commands(command)
    _run_commands(command)
    _results_commands(command)
    _fit_command(command)
    _inference_commands(command)
    _export_command(command)
    return p


def _scenario_commands(command: Any) -> None:
    v = command(
        "validate",
        "check scenario files: the first problem of each file, naming the file and key",
        ("overrides",),
        "cfsp-sim validate scenarios/mine.toml",
        "cfsp-sim validate qmv_art31 holdout_state --set bodies.PSC.capacity=8",
    )
    v.add_argument(
        "scenarios",
        nargs="+",
        metavar="SCENARIO",
        help="scenario files or bundled names (see: cfsp-sim scenarios)",
    )

    sc = command(
        "scenarios",
        "list the bundled scenarios, or copy them out for editing",
        (),
        "cfsp-sim scenarios",
        "cfsp-sim scenarios --copy my_scenarios",
    )
    sc.add_argument(
        "--copy",
        metavar="DIR",
        help="copy the bundled scenario files into DIR (created if missing; existing files "
        "are never overwritten; default: only list them)",
    )

    pw = command(
        "power",
        "exact voting power (Banzhaf, Shapley-Shubik) of members",
        ("scenario", "overrides", "large"),
        "cfsp-sim power eu27_baseline --rule qmv",
        "cfsp-sim power qmv_enlarged",
        "cfsp-sim power qmv_art31 --compare enlargement_eu30_qmv --compare qmv_enlarged",
    )
    pw.add_argument(
        "--rule", help="decision rule id (default: the rule of the scenario's first type)"
    )
    pw.add_argument(
        "--compare",
        action="append",
        default=[],
        metavar="SCENARIO",
        help="another scenario (e.g. an enlargement wave) to set side by side with SCENARIO, "
        "with each state's change of Banzhaf power from SCENARIO to the last one (repeatable; "
        "default: none)",
    )


def _run_commands(command: Any) -> None:
    r = command(
        "run",
        "run seeded replications into a results folder, with figures and report.html",
        ("scenario", "execution", "overrides", "large"),
        "cfsp-sim run eu27_baseline",
        "cfsp-sim run qmv_art31 -n 200 --seed 7 --out results/qmv",
        "cfsp-sim run scenarios/mine.toml --set horizon_days=730 --workers 2",
        "cfsp-sim run qmv_art31 -n 200 --posterior docs/calibration --out results/qmv_post",
    )
    r.add_argument(
        "--horizon",
        type=float,
        metavar="DAYS",
        help="override horizon_days (default: the scenario's)",
    )
    r.add_argument("--out", metavar="DIR", help="results folder (default: results/<scenario name>)")
    r.add_argument(
        "--posterior",
        metavar="DIR",
        help="a cfsp-sim calibrate folder: each replication runs one posterior parameter draw "
        "(the same draw for replication i in every scenario), so intervals include parameter "
        "uncertainty (default: the scenario's values only)",
    )

    sw = command(
        "sweep",
        "run a grid (or one-at-a-time) of parameter values",
        ("scenario", "execution", "overrides", "large"),
        "cfsp-sim sweep eu27_baseline --vary member_defaults.objection_probability=0,0.004 -n 50",
        "cfsp-sim sweep qmv_art31 --oat --vary bodies.PSC.capacity=4,8 "
        "--vary bodies.COREPER.capacity=6,12",
    )
    sw.add_argument(
        "--vary",
        action="append",
        required=True,
        metavar="KEY.PATH=V1,V2,...",
        help="a parameter and its values (repeatable; required)",
    )
    sw.add_argument(
        "--oat", action="store_true", help="one parameter at a time (default: the full grid)"
    )
    sw.add_argument("--out", metavar="DIR", help="sweep folder (default: results/sweep_<name>)")


def _results_commands(command: Any) -> None:
    pl = command(
        "plot",
        "redraw the figures and report of a results folder",
        (),
        "cfsp-sim plot results/eu27_baseline",
    )
    pl.add_argument("results", metavar="RESULTS_DIR", help="a complete results folder")

    c = command(
        "compare",
        "compare runs with paired confidence intervals",
        (),
        "cfsp-sim compare results/eu27_baseline results/qmv_art31",
    )
    c.add_argument(
        "results",
        nargs="+",
        metavar="RESULTS_DIR",
        help="results folders; the first is the reference",
    )
    c.add_argument(
        "--out", metavar="DIR", help="comparison folder (default: results/compare_<a>_vs_<b>)"
    )
    c.add_argument("--force", action="store_true", help="replace an existing comparison folder")


def _export_command(command: Any) -> None:
    ex = command(
        "export",
        "write a run's event log for process mining: XES, OCEL 2.0 or CSV",
        (),
        "cfsp-sim export results/eu27_baseline --format xes",
        "cfsp-sim export results/qmv_art31 --format ocel --replications 0-4 --out qmv.jsonocel",
        "cfsp-sim export results/eu27_baseline --format csv --member-events",
    )
    ex.add_argument("results", metavar="RESULTS_DIR", help="a complete results folder")
    ex.add_argument(
        "--format",
        choices=("xes", "ocel", "csv"),
        default="xes",
        help="XES (IEEE 1849), OCEL 2.0 JSON or a flat CSV (default: xes)",
    )
    ex.add_argument(
        "--out",
        metavar="FILE",
        help="output file (default: next to the folder, <folder>.xes|.jsonocel|.csv)",
    )
    ex.add_argument("--force", action="store_true", help="replace an existing --out file")
    ex.add_argument(
        "--replications",
        default="0",
        metavar="WHICH",
        help="replications to export: all, N, N-M or a list N,M,... (default: 0)",
    )
    ex.add_argument(
        "--member-events",
        action="store_true",
        help="one event per member state for reservations, objections, abstentions and "
        "brakes (default: one event per moment, listing the states)",
    )


def _fit_command(command: Any) -> None:
    ft = command(
        "fit",
        "compare a run with the observed calibration targets (writes a fit CSV)",
        (),
        "cfsp-sim fit results/eu27_baseline",
        "cfsp-sim fit results/eu27_baseline --out fit_baseline.csv",
    )
    ft.add_argument("results", metavar="RESULTS_DIR", help="a complete results folder")
    ft.add_argument(
        "--out", metavar="CSV", help="output file (default: RESULTS_DIR.fit.csv, beside the folder)"
    )
    ft.add_argument("--force", action="store_true", help="replace an existing --out file")


def _inference_commands(command: Any) -> None:
    se = command(
        "sensitivity",
        "global sensitivity of the headline statistics to the prior parameters (SALib)",
        ("scenario", "overrides"),
        "cfsp-sim sensitivity eu27_baseline --method morris --samples 10 -n 4 --out results/sa",
        "cfsp-sim sensitivity eu27_baseline --method sobol --samples 64 --out results/sobol",
    )
    se.add_argument(
        "--method",
        choices=("morris", "sobol"),
        default="morris",
        help="Morris elementary effects or Sobol' indices (default: morris)",
    )
    se.add_argument(
        "--samples",
        type=_positive_int,
        default=10,
        metavar="N",
        help="Morris trajectories, or Sobol' base samples (a power of two); the design has "
        "N*(d+1) or N*(d+2) points for d parameters (default: 10)",
    )
    ca = command(
        "calibrate",
        "fit the prior parameters to the observed CFSP record by ABC-SMC (pyabc)",
        ("scenario", "overrides"),
        "cfsp-sim calibrate eu27_baseline --budget quick --out results/calibration_quick",
        "cfsp-sim calibrate eu27_baseline --budget standard --seed 2025 --out docs/calibration",
    )
    ca.add_argument(
        "--budget",
        default="quick",
        metavar="NAME",
        help="quick (minutes), standard (the bundled calibration) or full; sizes in "
        "sim/data/calibration.toml (default: quick)",
    )
    ca.add_argument(
        "--observed",
        metavar="CSV",
        help="an observed record in the format of sim/data/observed_cfsp.csv (default: that file)",
    )
    ca.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="run the simulations on Dask: 'local' or tcp://host:port (needs the dask extra)",
    )
    for c in (se, ca):
        c.add_argument(
            "--priors",
            metavar="FILE",
            help="priors file (default: <scenario>.priors.toml beside the scenario)",
        )
        c.add_argument(
            "-n",
            "--replications",
            type=_positive_int,
            metavar="N",
            help="one-year replications per point (default: 4 for sensitivity, the budget's for "
            "calibrate)",
        )
        c.add_argument(
            "--seed",
            type=_non_negative_int,
            metavar="S",
            help="seed (default: the "
            "scenario's [experiment] seed, else a drawn one, recorded in the manifest)",
        )
        c.add_argument(
            "--workers",
            type=_positive_int,
            metavar="N",
            help="worker processes (default: all cores; calibrate: 1, which makes the posterior "
            "a function of the seed)",
        )
        c.add_argument("--out", metavar="DIR", required=True, help="output folder (required)")
        c.add_argument("--force", action="store_true", help="replace an existing output folder")


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def _positive_int(text: str) -> int:
    value = _whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    value = _whole_number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    try:
        with _notes(), _sigterm_as_interrupt():
            return _HANDLERS[args.command](args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Terminated:
        print("terminated (SIGTERM)", file=sys.stderr)
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # anything else: one line, status 1 (CFSP_SIM_DEBUG=1 re-raises)
        if os.environ.get("CFSP_SIM_DEBUG"):
            raise
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILURE


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into :class:`Terminated` while a command runs (in the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise Terminated("SIGTERM")

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


@contextmanager
def _notes() -> Iterator[None]:
    """Print the library's notes (a lock taken over, a folder recovered) as ``note:`` lines."""
    logger = logging.getLogger("sim")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("note: %(message)s"))
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def _validate(args: argparse.Namespace) -> int:
    status = EXIT_OK
    for path in args.scenarios:
        try:
            s = load_scenario(path, args.overrides)
        except ScenarioError as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = EXIT_BAD_INPUT
            continue
        n = len(s.resolved_members())
        print(
            f"ok: {path} ({s.name}: {n} member states, {len(s.bodies)} bodies, "
            f"{len(s.proposal_types)} proposal types)"
        )
    return status


def _scenarios(args: argparse.Namespace) -> int:
    folder = bundled_scenarios_dir()
    bundled = bundled_scenarios()
    if not bundled:
        print(f"error: no bundled scenarios in {folder} (a broken installation?)", file=sys.stderr)
        return EXIT_FAILURE
    if args.copy is not None:
        return _copy_scenarios(bundled, Path(args.copy))
    rows = []
    for name, path in bundled.items():
        try:
            rows.append((name, load_scenario(path).description))
        except ScenarioError as exc:
            rows.append((name, f"INVALID: {exc.problem}"))
    width = max(len(r[0]) for r in rows)
    print("Bundled scenarios (cfsp-sim run NAME; cfsp-sim scenarios --copy DIR to edit them):")
    for name, desc in rows:
        print(f"  {name:<{width}}  {desc}")
    return EXIT_OK


def _copy_scenarios(bundled: dict[str, Path], target: Path) -> int:
    """Copy every bundled scenario (and its priors file, if any) into ``target``; refuses
    (writing nothing) if one exists."""
    if target.exists() and not target.is_dir():
        raise UserError(f"{target}: --copy: exists and is not a folder")
    files = [*bundled.values(), *sorted(bundled_scenarios_dir().glob(f"*{PRIORS}"))]
    clash = [p.name for p in files if (target / p.name).exists()]
    if clash:
        raise UserError(f"{target}: --copy: would overwrite {', '.join(clash)} (nothing copied)")
    target.mkdir(parents=True, exist_ok=True)
    for path in files:
        shutil.copyfile(path, target / path.name)
    print(
        f"copied {len(bundled)} scenarios (and {len(files) - len(bundled)} priors files) to "
        f"{target}; run one with: cfsp-sim run FILE"
    )
    return EXIT_OK


def _require(module: str, extra: str, option: str) -> None:
    """A missing optional dependency is bad input (exit 2) with the command that installs it."""
    if importlib.util.find_spec(module.split(".")[0]) is None:
        raise UserError(
            f"{option} needs the optional dependency {module.split('.')[0]}: "
            f"pip install 'cfsp-sim[{extra}]'"
        )


def _power_table(spec: str, args: argparse.Namespace) -> tuple[str, Any, float]:
    """Rule id, power table and passing probability of one scenario under ``--rule``."""
    from sim.core.power import MAX_MEMBERS, voting_power
    from sim.engine.compile import make_rule

    s = load_scenario(spec, args.overrides)
    rule_id = args.rule or next(iter(s.proposal_types.values())).rule
    if rule_id not in s.decision_rules:
        known = ", ".join(s.decision_rules)
        hint = did_you_mean(rule_id, s.decision_rules)
        raise UserError(f"{spec}: --rule: unknown decision rule {rule_id!r}{hint} (known: {known})")
    members = s.resolved_members()
    table, passing = voting_power(
        make_rule(rule_id, s.decision_rules[rule_id]),
        [m.code for m in members],
        np.array([m.population for m in members]),
        limit=None if args.allow_large else MAX_MEMBERS,
    )
    return rule_id, table, passing


def _power(args: argparse.Namespace) -> int:
    if args.compare:
        return _power_compare(args)
    rule_id, table, passing = _power_table(args.scenario, args)
    print(f"Voting power under '{rule_id}' ({len(table)} members), exact:")
    print(f"  {'state':<6}{'population %':>13}{'Banzhaf %':>11}{'Shapley-Shubik %':>18}")
    for row in table.itertuples():
        print(
            f"  {row.member_state:<6}{100 * row.population_share:>13.2f}"
            f"{100 * row.banzhaf:>11.2f}{100 * row.shapley_shubik:>18.2f}"
        )
    print(f"Probability that a random coalition passes: {passing:.6g}")
    return EXIT_OK


def _power_cell(banzhaf: float, shapley: float) -> str:
    return "-" if np.isnan(banzhaf) else f"{100 * banzhaf:.2f}; {100 * shapley:.2f}"


def _power_compare(args: argparse.Namespace) -> int:
    """``power A --compare B --compare C``: every state's power in each Council, side by side."""
    from sim.core.power import compare_power

    tables, passing, rules = {}, {}, set()
    for spec in [args.scenario, *args.compare]:
        rule_id, table, p = _power_table(spec, args)
        label = Path(spec).name.removesuffix(".toml")
        tables[label], passing[label] = table, p
        rules.add(rule_id)
    wide = compare_power(tables)
    labels = list(tables)
    w = max(12, *(len(x) + 2 for x in labels))
    print(f"Voting power under {' / '.join(sorted(rules))}, exact, in % (Banzhaf; Shapley-Shubik):")
    print(f"  {'state':<6}" + "".join(f"{x:>{w}}" for x in labels) + f"{'Banzhaf change':>16}")
    for code, row in wide.iterrows():
        cells = "".join(
            f"{_power_cell(row['banzhaf'][x], row['shapley_shubik'][x]):>{w}}" for x in labels
        )
        change = row[("banzhaf_change", labels[-1])]
        print(f"  {code:<6}{cells}{'' if np.isnan(change) else f'{100 * change:+.1f}%':>16}")
    ref = passing[labels[0]]
    print("Probability that a random coalition passes:")
    for x in labels:
        print(f"  {x:<{w}} {passing[x]:.6g} ({passing[x] / ref:.2f} x {labels[0]})")
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    from sim.experiment.runner import run_experiment

    if args.dask:
        _require("dask.distributed", "dask", "--dask")
    overrides = list(args.overrides)
    if args.horizon is not None:
        if not (math.isfinite(args.horizon) and args.horizon > 0):
            raise UserError(f"--horizon: must be a positive number of days, got {args.horizon}")
        overrides.append(f"horizon_days={args.horizon}")
    scenario = load_scenario(args.scenario, overrides)
    out = Path(args.out) if args.out else Path("results") / scenario.name
    if args.seed is None and scenario.experiment.seed is None and not args.quiet:
        print("no --seed given: drawing one (recorded in manifest.json and scenario.toml)")
    exp = run_experiment(
        scenario,
        out=out,
        replications=args.replications,
        seed=args.seed,
        workers=args.workers,
        dask=args.dask,
        force=args.force,
        progress=False if args.quiet else None,
        scenario_file=args.scenario,
        on_done=_figures_and_report,
        allow_large=args.allow_large,
        posterior=args.posterior,
    )
    if not args.quiet:
        _print_headline(exp)
    print(f"results: {exp.path} (seed {exp.manifest['seed']})")
    print(f"report: {exp.path / 'report.html'}")
    return EXIT_OK


def _print_headline(exp: Any) -> None:
    from sim.analysis.metrics import HEADLINE, fmt_interval, fmt_value
    from sim.analysis.stats import few_replications

    m, scenario = exp.manifest, exp.scenario
    print(
        f"{scenario.name}: {m['replications']} replications, seed {m['seed']}, "
        f"horizon {scenario.horizon_days:g} days, {m['wall_seconds']:.1f} s"
    )
    print(f"  {'metric':<34}{'mean':>10}  {'95% CI':<22}")
    for metric, row in exp.headline().iterrows():
        name = str(metric)
        ci = fmt_interval(name, row["ci_low"], row["ci_high"])
        print(f"  {HEADLINE[name]:<34}{fmt_value(name, row['mean']):>10}  {ci:<22}")
    warning = few_replications(int(m["replications"]))
    if warning:
        print(f"warning: {warning}", file=sys.stderr)


def _figures_and_report(exp: Any) -> None:
    """Figures and report, drawn from the files just written."""
    from sim.report.html import figures_and_report

    figures_and_report(exp)


def _plot(args: argparse.Namespace) -> int:
    from sim.experiment.results import Experiment, ResultsWriter, failure_status, open_results
    from sim.report.html import figures_and_report

    folder = Path(args.results)
    exp = open_results(folder)  # verified, and recovered if a run died publishing it
    writer = ResultsWriter(folder, update=True)  # locked; redrawn beside it, then swapped in
    try:
        report = figures_and_report(
            Experiment(writer.staging, exp.scenario, exp.manifest, exp.summary)
        )
        writer.publish()
    except BaseException as exc:
        writer.abandon(*failure_status(exc))
        raise
    print(f"figures: {folder / 'figures'}")
    print(f"report: {folder / report.name}")
    return EXIT_OK


def _compare(args: argparse.Namespace) -> int:
    from sim.report.comparison import (
        compare_runs,
        headline_differences,
        per_type_differences,
    )

    folders = [Path(f) for f in args.results]
    names = "_vs_".join(Path(os.path.abspath(f)).name for f in folders)
    out = Path(args.out) if args.out else Path("results") / f"compare_{names}"
    c = compare_runs(folders, out, force=args.force)
    print(c.reason)
    for warning in c.warnings:
        print(f"warning: {warning}")
    print(f"intervals: {c.uncertainty}")
    print(headline_differences(c.table).to_string(index=False))
    print("  * all types at the reference's mix of proposal types")
    print(per_type_differences(c.table).to_string(index=False))
    print(f"comparison: {c.path}")
    return EXIT_OK


def _sweep(args: argparse.Namespace) -> int:
    from sim.analysis.metrics import fmt_interval, fmt_value
    from sim.experiment.sweep import parse_vary, run_sweep
    from sim.report.sweep import sweep_figures

    if args.dask:
        _require("dask.distributed", "dask", "--dask")
    params = [parse_vary(v) for v in args.vary]
    sweep = run_sweep(
        args.scenario,
        params,
        out=Path(args.out) if args.out else None,
        oat=args.oat,
        overrides=args.overrides,
        replications=args.replications,
        seed=args.seed,
        workers=args.workers,
        dask=args.dask,
        force=args.force,
        progress=False if args.quiet else None,
        on_point=_figures_and_report,
        figures=sweep_figures(params, args.oat),
        allow_large=args.allow_large,
    )
    if not args.quiet:
        t = sweep.table[sweep.table["metric"].isin(["adoption_rate", "time_to_adoption_mean"])]
        for _, r in t.iterrows():
            values = ", ".join(f"{p.key}={r[p.key]}" for p in params if r[p.key] != "")
            metric = str(r["metric"])
            print(
                f"  [{values or 'as given'}] {metric:<24} {fmt_value(metric, r['mean'])} "
                f"{fmt_interval(metric, r['ci_low'], r['ci_high'])}"
            )
    print(f"sweep: {sweep.path}")
    return EXIT_OK


def _fit(args: argparse.Namespace) -> int:
    from sim.experiment.fit import fit_results, period_warning, write_fit
    from sim.experiment.folder import check_output_file
    from sim.experiment.results import open_results

    folder = Path(args.results)
    # beside the folder, not in it: a results folder holds only what its manifest lists
    default = folder.parent / f"{folder.name}.fit.csv"
    out = Path(args.out) if args.out else default
    check_output_file(out, args.force, default)
    run = open_results(folder)  # verified once, for the fit and the period check
    fit = fit_results(run)
    print(f"{'target':<40}{'observed':>9}{'sim median':>11}  {'90% interval':<19}{'inside':<6}")
    for r in fit.itertuples():
        interval = f"[{r.p5:.3g}, {r.p95:.3g}]"
        soft = {"range": f" (soft {r.low:.3g}-{r.high:.3g})", "above": f" (above {r.low:.3g})"}
        if r.statistic == "mean":  # the check is on the share pooled over replications
            soft = {k: f"{v[:-1]}, on the mean {r.simulated_mean:.3g})" for k, v in soft.items()}
        print(
            f"{r.target:<40}{r.observed:>9.3g}{r.simulated_median:>11.3g}  {interval:<19}"
            f"{'yes' if r.inside else 'NO':<6}{soft.get(r.check, '')}"
        )
    write_fit(fit, out)
    print(f"{int(fit['inside'].sum())} of {len(fit)} targets inside; fit: {out}")
    if warning := period_warning(run):
        print(f"warning: {warning}")
    return EXIT_OK


def _priors(args: argparse.Namespace) -> tuple[Any, list[Any], list[Path]]:
    """The scenario, its priors and the files both came from."""
    from sim.scenario.loading import scenario_sources
    from sim.scenario.priors import default_priors_path, load_priors

    scenario = load_scenario(args.scenario, args.overrides)
    path = Path(args.priors) if args.priors else default_priors_path(args.scenario)
    return scenario, load_priors(path, scenario), [*scenario_sources(args.scenario), path]


def _sensitivity(args: argparse.Namespace) -> int:
    from sim.experiment.sensitivity import run_sensitivity
    from sim.report.inference import sensitivity_figures

    scenario, priors, inputs = _priors(args)
    result = run_sensitivity(
        scenario,
        priors,
        out=Path(args.out),
        method=args.method,
        samples=args.samples,
        replications=args.replications or 4,
        seed=args.seed,
        workers=args.workers,
        force=args.force,
        inputs=inputs,
        figures=sensitivity_figures,
    )
    index = "mu_star" if args.method == "morris" else "ST"
    top = result.table.sort_values(index, ascending=False).groupby("metric").head(1)
    for r in top.itertuples():
        print(f"  {r.metric:<28} most sensitive to {r.parameter} ({index} {getattr(r, index):.3g})")
    print(f"sensitivity: {result.path} ({len(result.points)} points)")
    return EXIT_OK


def _calibrate(args: argparse.Namespace) -> int:
    from sim.experiment.calibrate import budget, run_calibration
    from sim.experiment.moments import Simulator
    from sim.experiment.runner import resolve_seed
    from sim.report.inference import calibration_figures

    if args.dask:
        _require("dask.distributed", "dask", "--dask")
    plan = budget(args.budget)
    if args.replications:
        plan = dataclasses.replace(plan, replications=args.replications)
    scenario, priors, inputs = _priors(args)
    priors = [p for p in priors if p.calibrate]
    if not priors:
        raise UserError(f"{inputs[-1]}: every parameter has calibrate = false: nothing to fit")
    if args.observed and not Path(args.observed).is_file():
        raise UserError(f"{args.observed}: --observed: file not found")
    out = Path(args.out)
    extends = (
        args.scenario
        if args.scenario in bundled_scenarios()
        else os.path.relpath(Path(args.scenario).resolve(), out.resolve())
    )
    cal = run_calibration(
        Simulator(scenario, priors),
        out=out,
        plan=plan,
        seed=resolve_seed(scenario, args.seed),
        extends=extends,
        workers=args.workers or 1,
        dask=args.dask,
        force=args.force,
        inputs=inputs,
        observed=args.observed,
        figures=calibration_figures,
    )
    print(
        f"{int(cal.fit['inside'].sum())} of {len(cal.fit)} targets inside the posterior "
        f"predictive 90% interval"
    )
    print(f"calibration: {cal.path} (calibrated scenario: {cal.path / 'calibrated.toml'})")
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    from sim.experiment.folder import check_output_file
    from sim.experiment.results import open_results
    from sim.report.export import export_log, parse_replications

    folder = Path(args.results)
    manifest = open_results(folder).manifest  # a complete, verified run, else UserError
    try:
        parse_replications(args.replications, int(manifest["replications"]))
    except ValueError as exc:
        raise UserError(f"--replications: {exc}") from None
    suffix = {"xes": ".xes", "ocel": ".jsonocel", "csv": ".csv"}[args.format]
    default = folder.parent / f"{folder.name}{suffix}"
    out = Path(args.out) if args.out else default
    check_output_file(out, args.force, default)
    path = export_log(folder, args.format, out, args.replications, args.member_events)
    print(f"{args.format}: {path}")
    return EXIT_OK


_HANDLERS = {
    "validate": _validate,
    "scenarios": _scenarios,
    "power": _power,
    "run": _run,
    "plot": _plot,
    "compare": _compare,
    "sweep": _sweep,
    "fit": _fit,
    "sensitivity": _sensitivity,
    "calibrate": _calibrate,
    "export": _export,
}


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    entry()
