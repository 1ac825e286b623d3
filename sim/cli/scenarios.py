"""Commands about scenarios: ``validate``, ``scenarios`` (list or copy the bundled ones) and
``power`` (exact voting power)."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

import sim
from sim.cli.arguments import EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK, Command
from sim.core.errors import UserError
from sim.report.console import scenario_line, scenario_list
from sim.report.power import power_comparison_lines, power_lines
from sim.scenario import PRIORS, ScenarioError, bundled_scenarios, bundled_scenarios_dir


def add_commands(command: Command) -> None:
    """``validate``, ``scenarios`` and ``power``."""
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


def _validate(args: argparse.Namespace) -> int:
    status = EXIT_OK
    for path in args.scenarios:
        try:
            s = sim.load_scenario(path, args.overrides)
        except ScenarioError as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = EXIT_BAD_INPUT
            continue
        print(scenario_line(path, s))
    return status


def _scenarios(args: argparse.Namespace) -> int:
    bundled = bundled_scenarios()
    if not bundled:
        folder = bundled_scenarios_dir()
        print(f"error: no bundled scenarios in {folder} (a broken installation?)", file=sys.stderr)
        return EXIT_FAILURE
    if args.copy is not None:
        return _copy_scenarios(bundled, Path(args.copy))
    print("\n".join(scenario_list(bundled)))
    return EXIT_OK


def _copy_scenarios(bundled: dict[str, Path], target: Path) -> int:
    """Copy every bundled scenario (and its priors file, if any) into ``target``; refuses
    (writing nothing) if one exists."""
    if target.exists() and not target.is_dir():
        raise UserError(f"{target}: --copy: exists and is not a folder")
    files = [*bundled.values(), *sorted(bundled_scenarios_dir().glob(f"*{PRIORS}"))]
    clash = [p.name for p in files if os.path.lexists(target / p.name)]  # a link too
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


def _power(args: argparse.Namespace) -> int:
    specs = [args.scenario, *args.compare]
    if len(set(specs)) < len(specs):
        twice = next(s for s in specs if specs.count(s) > 1)
        raise UserError(f"--compare: {twice} given twice")
    powers = [
        sim.voting_power(spec, args.rule, overrides=args.overrides, allow_large=args.allow_large)
        for spec in specs
    ]
    if args.compare:
        print("\n".join(power_comparison_lines(_labelled(specs, powers))))
    else:
        print("\n".join(power_lines(powers[0])))
    return EXIT_OK


def _labelled(specs: list[str], powers: list[sim.VotingPower]) -> dict[str, sim.VotingPower]:
    """Each scenario's power under its name, or under the file given when two scenarios share
    a name (they would collapse into one column)."""
    names = [p.scenario for p in powers]
    labels = names if len(set(names)) == len(names) else specs
    return dict(zip(labels, powers, strict=True))


HANDLERS = {"validate": _validate, "scenarios": _scenarios, "power": _power}
