"""The ``cfsp-sim`` command line: parse, call the library, write files, set the exit status.

Exit status: 0 success, 2 bad input (any :class:`~sim.core.errors.UserError`: a scenario, an
option, an output folder that may not be replaced, a results folder that is missing, corrupt or
incomplete, a run too large without ``--allow-large``), 130 on Ctrl-C (SIGINT), 143 on SIGTERM,
1 anything else. Bad input is reported as one line naming the file, the key path and the
problem, with no traceback.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
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
from sim.scenario import ScenarioError, bundled_scenarios_dir, load_scenario

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2
EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: the run stops and its manifest says interrupted."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="cfsp-sim",
        description="Discrete-event model of EU foreign and security policy decision-making.",
    )
    p.add_argument("--version", action="version", version=f"cfsp-sim {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    v = sub.add_parser("validate", help="check scenario files and report every problem")
    v.add_argument("scenarios", nargs="+", metavar="SCENARIO")
    v.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")

    sub.add_parser("scenarios", help="list the bundled scenarios")

    r = sub.add_parser("run", help="run seeded replications into a results folder")
    r.add_argument("scenario", metavar="SCENARIO")
    r.add_argument("-n", "--replications", type=_positive_int, metavar="N")
    r.add_argument("--seed", type=_non_negative_int, metavar="S")
    r.add_argument("--horizon", type=float, metavar="DAYS", help="override horizon_days")
    r.add_argument("--out", metavar="DIR", help="results folder (default results/<name>)")
    r.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    r.add_argument("--workers", type=_positive_int, metavar="N", help="default: all cores")
    r.add_argument("--dask", metavar="ADDRESS", help="'local' or tcp://host:port")
    r.add_argument("--force", action="store_true", help="replace an existing results folder")
    r.add_argument("--quiet", action="store_true", help="no progress bar, no summary table")
    r.add_argument("--allow-large", action="store_true", help="lift the size limits")

    pl = sub.add_parser("plot", help="redraw the figures and report of a results folder")
    pl.add_argument("results", metavar="RESULTS_DIR")

    c = sub.add_parser("compare", help="compare runs with paired confidence intervals")
    c.add_argument("results", nargs="+", metavar="RESULTS_DIR", help="the first is the reference")
    c.add_argument("--out", metavar="DIR", help="default results/compare_<a>_vs_<b>")
    c.add_argument("--force", action="store_true", help="replace an existing comparison folder")

    sw = sub.add_parser("sweep", help="run a grid (or one-at-a-time) of parameter values")
    sw.add_argument("scenario", metavar="SCENARIO")
    sw.add_argument("--vary", action="append", required=True, metavar="KEY.PATH=V1,V2,...")
    sw.add_argument("--oat", action="store_true", help="one parameter at a time, not the grid")
    sw.add_argument("-n", "--replications", type=_positive_int, metavar="N")
    sw.add_argument("--seed", type=_non_negative_int, metavar="S")
    sw.add_argument("--out", metavar="DIR", help="default results/sweep_<name>")
    sw.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    sw.add_argument("--workers", type=_positive_int, metavar="N")
    sw.add_argument("--dask", metavar="ADDRESS")
    sw.add_argument("--force", action="store_true")
    sw.add_argument("--quiet", action="store_true")
    sw.add_argument("--allow-large", action="store_true", help="lift the size limits")

    ft = sub.add_parser("fit", help="a run against the observed calibration targets")
    ft.add_argument("results", metavar="RESULTS_DIR")
    ft.add_argument("--out", metavar="CSV", help="default RESULTS_DIR.fit.csv, beside the folder")

    pw = sub.add_parser("power", help="exact voting power (Banzhaf, Shapley-Shubik) of members")
    pw.add_argument("scenario", metavar="SCENARIO")
    pw.add_argument("--rule", help="decision rule id (default: the FAC's / first type's rule)")
    pw.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    pw.add_argument("--allow-large", action="store_true", help="lift the member limit")
    return p


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
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
    rows = []
    for path in sorted(folder.glob("*.toml")):
        try:
            s = load_scenario(path)
            rows.append((path.name, s.description))
        except ScenarioError as exc:
            rows.append((path.name, f"INVALID: {exc.problem}"))
    width = max((len(r[0]) for r in rows), default=0)
    print(f"Bundled scenarios in {folder}:")
    for name, desc in rows:
        print(f"  {name:<{width}}  {desc}")
    return EXIT_OK


def _power(args: argparse.Namespace) -> int:
    from sim.core.power import MAX_MEMBERS, voting_power
    from sim.engine.compile import make_rule

    s = load_scenario(args.scenario, args.overrides)
    rule_id = args.rule or next(iter(s.proposal_types.values())).rule
    if rule_id not in s.decision_rules:
        known = ", ".join(s.decision_rules)
        raise UserError(
            f"{args.scenario}: --rule: unknown decision rule {rule_id!r} (known: {known})"
        )
    rule = make_rule(rule_id, s.decision_rules[rule_id])
    members = s.resolved_members()
    table, passing = voting_power(
        rule,
        [m.code for m in members],
        np.array([m.population for m in members]),
        limit=None if args.allow_large else MAX_MEMBERS,
    )
    print(f"Voting power under '{rule_id}' ({len(members)} members), exact:")
    print(f"  {'state':<6}{'population %':>13}{'Banzhaf %':>11}{'Shapley-Shubik %':>18}")
    for row in table.itertuples():
        print(
            f"  {row.member_state:<6}{100 * row.population_share:>13.2f}"
            f"{100 * row.banzhaf:>11.2f}{100 * row.shapley_shubik:>18.2f}"
        )
    print(f"Probability that a random coalition passes: {passing:.6g}")
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    from sim.analysis.metrics import HEADLINE
    from sim.experiment.runner import run_experiment

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
    )
    if not args.quiet:
        m = exp.manifest
        print(
            f"{scenario.name}: {m['replications']} replications, seed {m['seed']}, "
            f"horizon {scenario.horizon_days:g} days, {m['wall_seconds']:.1f} s"
        )
        print(f"  {'metric':<34}{'mean':>10}  {'95% CI':<22}")
        for metric, row in exp.headline().iterrows():
            ci = f"[{row['ci_low']:.3g}, {row['ci_high']:.3g}]"
            print(f"  {HEADLINE[str(metric)]:<34}{row['mean']:>10.3g}  {ci:<22}")
    print(f"results: {exp.path} (seed {exp.manifest['seed']})")
    return EXIT_OK


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
    from sim.report.comparison import compare_runs

    folders = [Path(f) for f in args.results]
    names = "_vs_".join(Path(os.path.abspath(f)).name for f in folders)
    out = Path(args.out) if args.out else Path("results") / f"compare_{names}"
    c = compare_runs(folders, out, force=args.force)
    print(c.reason)
    head = c.table[
        (c.table["group"] == "all")
        & c.table["metric"].isin(
            ["adoption_rate", "time_to_adoption_mean", "time_to_adoption_median", "block_rate"]
        )
    ]
    for r in head.itertuples():
        print(
            f"  {r.comparison}: {r.metric:<26} {r.difference:+.3g} "
            f"[{r.ci_low:.3g}, {r.ci_high:.3g}]"
        )
    print(f"comparison: {c.path}")
    return EXIT_OK


def _sweep(args: argparse.Namespace) -> int:
    from sim.experiment.sweep import parse_vary, run_sweep
    from sim.report.sweep import sweep_figures

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
            print(
                f"  [{values or 'as given'}] {r['metric']:<24} {r['mean']:.3g} "
                f"[{r['ci_low']:.3g}, {r['ci_high']:.3g}]"
            )
    print(f"sweep: {sweep.path}")
    return EXIT_OK


def _fit(args: argparse.Namespace) -> int:
    from sim.experiment.fit import fit_results, write_fit

    folder = Path(args.results)
    fit = fit_results(folder)
    print(f"{'target':<40}{'observed':>9}{'sim median':>11}  {'90% interval':<19}{'inside':<6}")
    for r in fit.itertuples():
        interval = f"[{r.p5:.3g}, {r.p95:.3g}]"
        soft = {"range": f" (soft {r.low:.3g}-{r.high:.3g})", "above": f" (above {r.low:.3g})"}
        print(
            f"{r.target:<40}{r.observed:>9.3g}{r.simulated_median:>11.3g}  {interval:<19}"
            f"{'yes' if r.inside else 'NO':<6}{soft.get(r.check, '')}"
        )
    # beside the folder, not in it: a results folder holds only what its manifest lists
    default = folder.parent / f"{folder.name}.fit.csv"
    out = write_fit(fit, Path(args.out) if args.out else default)
    print(f"{int(fit['inside'].sum())} of {len(fit)} targets inside; fit: {out}")
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
}


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    entry()
