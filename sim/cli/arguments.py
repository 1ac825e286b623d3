"""What the commands share: argument types, parent parsers, the examples epilog, the options
object built from the parsed arguments, optional dependencies."""

from __future__ import annotations

import argparse
import importlib.util
from typing import Any, Protocol

import sim
from sim.core.errors import UserError
from sim.experiment.engines import MAX_WORKERS, cores

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the example epilogs as written."""


class Command(Protocol):
    """Adds a subcommand: name, help, parent parsers and example lines."""

    def __call__(self, name: str, help: str, parents: tuple[str, ...], *examples: str) -> Any: ...


def shared_parents() -> dict[str, argparse.ArgumentParser]:
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
        type=positive_int,
        metavar="N",
        help="replications (default: the scenario's [experiment] replications)",
    )
    execution.add_argument(
        "--seed",
        type=non_negative_int,
        metavar="S",
        help="master seed (default: the scenario's [experiment] seed, else a drawn one, "
        "recorded in manifest.json)",
    )
    execution.add_argument(
        "--workers",
        type=workers_int,
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


def examples(*lines: str) -> str:
    """The ``examples:`` epilog of a command."""
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def positive_int(text: str) -> int:
    value = whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    value = whole_number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def workers_int(text: str) -> int:
    """``--workers``: 1 to :data:`~sim.experiment.engines.MAX_WORKERS` (a pool never starts
    more processes than the cores or the work; an absurd number is refused, not tried)."""
    value = positive_int(text)
    if value > MAX_WORKERS:
        raise argparse.ArgumentTypeError(
            f"{value:,} worker processes is over the limit of {MAX_WORKERS} (this machine "
            f"has {cores()} cores)"
        )
    return value


def require(module: str, extra: str, option: str) -> None:
    """A missing optional dependency is bad input (exit 2) with the command that installs it."""
    if importlib.util.find_spec(module.split(".")[0]) is None:
        raise UserError(
            f"{option} needs the optional dependency {module.split('.')[0]}: "
            f"pip install 'cfsp-sim[{extra}]' (in a checkout: .venv/bin/pip install -e "
            f"'.[{extra}]')"
        )


def options(args: argparse.Namespace) -> sim.ExperimentOptions:
    """The options of a command that writes a study, with figures and report: ``--workers``
    (default: all cores), ``--dask``, ``--force``, ``--allow-large``,
    ``--quiet`` (no progress bar)."""
    dask = getattr(args, "dask", None)
    if dask:
        require("dask.distributed", "dask", "--dask")
    return sim.ExperimentOptions(
        workers=args.workers,
        dask=dask,
        force=args.force,
        allow_large=getattr(args, "allow_large", False),
        progress=False if getattr(args, "quiet", False) else None,
        report=sim.attach_report,
    )
