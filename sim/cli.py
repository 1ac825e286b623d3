"""The ``cfsp-sim`` command line: parse, call the library, write files, set the exit status.

Exit status: 0 success, 2 bad input (scenario, option, missing file), 1 anything else. Bad input
is reported as one line naming the file, the key path and the problem, with no traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np

from sim import __version__
from sim.scenario import ScenarioError, bundled_scenarios_dir, load_scenario

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2


class BadInput(Exception):
    """A problem with what the user gave (not a scenario key): exit status 2."""


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

    pw = sub.add_parser("power", help="exact voting power (Banzhaf, Shapley-Shubik) of members")
    pw.add_argument("scenario", metavar="SCENARIO")
    pw.add_argument("--rule", help="decision rule id (default: the FAC's / first type's rule)")
    pw.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    try:
        handler = _HANDLERS[args.command]
        return handler(args)
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BadInput as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


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
    from sim.power import voting_power
    from sim.voting import make_rule

    s = load_scenario(args.scenario, args.overrides)
    rule_id = args.rule or next(iter(s.proposal_types.values())).rule
    if rule_id not in s.decision_rules:
        known = ", ".join(s.decision_rules)
        raise BadInput(
            f"{args.scenario}: --rule: unknown decision rule {rule_id!r} (known: {known})"
        )
    rule = make_rule(rule_id, s.decision_rules[rule_id])
    members = s.resolved_members()
    table, passing = voting_power(
        rule, [m.code for m in members], np.array([m.population for m in members])
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


_HANDLERS = {"validate": _validate, "scenarios": _scenarios, "power": _power}


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    entry()
