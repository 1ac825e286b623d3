"""Commands that run replications: ``run`` (one scenario into a results folder) and ``sweep``
(a grid of parameter values)."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import sim
from sim.cli.arguments import EXIT_OK, Command, options
from sim.core.errors import UserError
from sim.engine import kernel
from sim.experiment.sweep import Grid, run_sweep
from sim.report.console import headline_lines, run_warning, sweep_lines


def add_commands(command: Command) -> None:
    """``run`` and ``sweep``."""
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


def _run(args: argparse.Namespace) -> int:
    opts = options(args)
    overrides = list(args.overrides)
    if args.horizon is not None:
        if not (math.isfinite(args.horizon) and args.horizon > 0):
            raise UserError(f"--horizon: must be a positive number of days, got {args.horizon}")
        overrides.append(f"horizon_days={args.horizon}")
    source = sim.Source(args.scenario, tuple(overrides))
    scenario = source.validated
    out = Path(args.out) if args.out else Path("results") / scenario.name
    if args.seed is None and scenario.experiment.seed is None and not args.quiet:
        print("no --seed given: drawing one (recorded in manifest.json and scenario.toml)")
    if not (args.quiet or kernel.cached()):
        print("compiling the engine first (numba; once per checkout, about a minute)")
    exp = sim.run_experiment(
        source,
        out,
        replications=args.replications,
        seed=args.seed,
        posterior=args.posterior,
        options=opts,
    )
    if not args.quiet:
        print("\n".join(headline_lines(exp)))
        if warning := run_warning(exp):
            print(f"warning: {warning}", file=sys.stderr)
    print(f"results: {exp.path} (seed {exp.manifest['seed']})")
    print(f"report: {exp.path / 'report.html'}")
    return EXIT_OK


def _sweep(args: argparse.Namespace) -> int:
    opts = options(args)
    sweep = run_sweep(
        sim.Source(args.scenario, tuple(args.overrides)),
        Grid.parse(args.vary, args.oat),
        Path(args.out) if args.out else None,
        replications=args.replications,
        seed=args.seed,
        options=opts,
    )
    if not args.quiet:
        print("\n".join(sweep_lines(sweep)))
    print(f"sweep: {sweep.path}")
    return EXIT_OK


HANDLERS = {"run": _run, "sweep": _sweep}
