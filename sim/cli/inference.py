"""Commands that fit the model's parameters: ``sensitivity`` (SALib) and ``calibrate``
(ABC-SMC against the observed record)."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import sim
from sim.cli.arguments import (
    EXIT_OK,
    Command,
    non_negative_int,
    options,
    positive_int,
    require,
    workers_int,
)
from sim.experiment.calibrate import budget, run_calibration
from sim.experiment.sensitivity import Design, run_sensitivity
from sim.report.console import calibration_lines, sensitivity_lines


def add_commands(command: Command) -> None:
    """``sensitivity`` and ``calibrate``."""
    se = command(
        "sensitivity",
        "global sensitivity of the headline statistics to the prior parameters (SALib)",
        ("scenario", "overrides", "large"),
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
        type=positive_int,
        default=10,
        metavar="N",
        help="Morris trajectories, or Sobol' base samples (a power of two); the design has "
        "N*(d+1) or N*(d+2) points for d parameters (default: 10)",
    )
    ca = command(
        "calibrate",
        "fit the prior parameters to the observed CFSP record by ABC-SMC (pyabc)",
        ("scenario", "overrides", "large"),
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
        _common(c)


def _common(c: argparse.ArgumentParser) -> None:
    """The options sensitivity and calibrate share."""
    c.add_argument(
        "--priors",
        metavar="FILE",
        help="priors file (default: <scenario>.priors.toml beside the scenario)",
    )
    c.add_argument(
        "-n",
        "--replications",
        type=positive_int,
        metavar="N",
        help="one-year replications per point (default: 4 for sensitivity, the budget's for "
        "calibrate)",
    )
    c.add_argument(
        "--seed",
        type=non_negative_int,
        metavar="S",
        help="seed (default: the "
        "scenario's [experiment] seed, else a drawn one, recorded in the manifest)",
    )
    c.add_argument(
        "--workers",
        type=workers_int,
        metavar="N",
        help="worker processes (default: all cores; the results are the same whatever the number)",
    )
    c.add_argument("--out", metavar="DIR", required=True, help="output folder (required)")
    c.add_argument("--force", action="store_true", help="replace an existing output folder")
    c.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bar, no table (the folder's line only)",
    )


def _source(args: argparse.Namespace) -> sim.Source:
    return sim.Source(args.scenario, tuple(args.overrides), args.priors)


def _sensitivity(args: argparse.Namespace) -> int:
    require("SALib", "calibrate", "sensitivity")
    result = run_sensitivity(
        _source(args),
        Design(args.method, args.samples),
        Path(args.out),
        replications=args.replications or 4,
        seed=args.seed,
        options=options(args),
    )
    if not args.quiet:
        print("\n".join(sensitivity_lines(result, args.method)))
    print(f"sensitivity: {result.path} ({len(result.points)} points)")
    return EXIT_OK


def _calibrate(args: argparse.Namespace) -> int:
    require("pyabc", "calibrate", "calibrate")
    plan = budget(args.budget)
    if args.replications:
        plan = dataclasses.replace(plan, replications=args.replications)
    cal = run_calibration(
        _source(args),
        Path(args.out),
        plan=plan,
        seed=args.seed,
        observed=args.observed,
        options=options(args),
    )
    lines = calibration_lines(cal)
    print("\n".join(lines[-1:] if args.quiet else lines))
    return EXIT_OK


HANDLERS = {"sensitivity": _sensitivity, "calibrate": _calibrate}
