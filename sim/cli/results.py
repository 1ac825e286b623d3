"""Commands that read results folders: ``plot`` (redraw), ``compare``, ``fit`` (against the
observed record) and ``export`` (event logs for process mining)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import sim
from sim.cli.arguments import EXIT_OK, Command, options, workers_int
from sim.core.errors import UserError
from sim.experiment.fit import fit_results, period_warning, records_warning, write_fit
from sim.experiment.folder import check_output_file
from sim.report.attach import redraw
from sim.report.console import comparison_lines, fit_lines
from sim.report.decomposition import chain, run_chain
from sim.report.export import export_log, parse_replications


def add_commands(command: Command) -> None:
    """``plot``, ``compare``, ``fit`` and ``export``."""
    _add_plot_and_compare(command)
    _add_fit_and_export(command)


def _add_plot_and_compare(command: Command) -> None:
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
        "cfsp-sim compare results/eu27_baseline results/qmv_art31 --decompose --workers 1",
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
    c.add_argument(
        "--force",
        action="store_true",
        help="replace an existing comparison folder (and, with --decompose, its step runs)",
    )
    c.add_argument(
        "--decompose",
        action="store_true",
        help="split the second run's effect into its mechanisms (qmv_art31: outvoting, "
        "anticipation, emergency brake): runs the chain's steps with its seed and replications "
        "into DIR_steps/, writes decomposition.csv and leads the report with the split",
    )
    c.add_argument(
        "--workers",
        type=workers_int,
        metavar="N",
        help="worker processes for the --decompose runs (default: all cores)",
    )


def _add_fit_and_export(command: Command) -> None:
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
        default="all",
        metavar="WHICH",
        help="replications to export: all, N, N-M or a list N,M,... (default: all, so that "
        "every type's path shows; 0 for one replication's year)",
    )
    ex.add_argument(
        "--member-events",
        action="store_true",
        help="one event per member state for reservations, objections, abstentions and "
        "brakes (default: one event per moment, listing the states)",
    )


def _plot(args: argparse.Namespace) -> int:
    folder = Path(args.results)
    report = redraw(folder)
    print(f"figures: {folder / 'figures'}")
    print(f"report: {report}")
    return EXIT_OK


def _compare(args: argparse.Namespace) -> int:
    folders = [Path(f) for f in args.results]
    names = "_vs_".join(Path(os.path.abspath(f)).name for f in folders)
    out = Path(args.out) if args.out else Path("results") / f"compare_{names}"
    parts = None
    if args.decompose:
        if len(folders) != 2:
            raise UserError("--decompose: give two results folders, the reference and the run")
        steps = out.parent / f"{out.name}_steps"
        runs = run_chain(folders[0], folders[1], steps, options(args))
        parts = chain(runs)
    c = sim.compare(folders, out, sim.ExperimentOptions(force=args.force), parts)
    print("\n".join(comparison_lines(c)))
    return EXIT_OK


def _fit(args: argparse.Namespace) -> int:
    folder = Path(args.results)
    # beside the folder, not in it: a results folder holds only what its manifest lists
    default = folder.parent / f"{folder.name}.fit.csv"
    out = Path(args.out) if args.out else default
    check_output_file(out, args.force, default)
    run = sim.open_results(folder)  # verified once, for the fit and the period check
    fit = fit_results(run)
    write_fit(fit, out)  # before printing: a failure to write prints no table
    print("\n".join(fit_lines(fit)))
    print(f"{int(fit['inside'].sum())} of {len(fit)} targets inside; fit: {out}")
    for warning in (period_warning(run), records_warning(run)):
        if warning:
            print(f"warning: {warning}")
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    folder = Path(args.results)
    run = sim.open_results(folder)  # a complete, verified run, else UserError
    manifest = run.manifest
    try:
        count = len(parse_replications(args.replications, int(manifest["replications"])))
    except ValueError as exc:
        raise UserError(f"--replications: {exc}") from None
    suffix = {"xes": ".xes", "ocel": ".jsonocel", "csv": ".csv"}[args.format]
    default = folder.parent / f"{folder.name}{suffix}"
    out = Path(args.out) if args.out else default
    check_output_file(out, args.force, default)
    path = export_log(run, args.format, out, args.replications, args.member_events)
    print(f"{args.format}: {path} ({count} of {manifest['replications']} replications)")
    return EXIT_OK


HANDLERS = {"plot": _plot, "compare": _compare, "fit": _fit, "export": _export}
