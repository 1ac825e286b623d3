"""The ``cfsp-sim`` command line: parse, call the library, print, set the exit status. One
module per group of commands (:mod:`~sim.cli.scenarios`, :mod:`~sim.cli.runs`,
:mod:`~sim.cli.results`, :mod:`~sim.cli.inference`); what they print is formatted by
:mod:`sim.report.console` and :mod:`sim.report.power`.

Exit status: 0 success, 2 bad input (any :class:`~sim.core.errors.UserError`: a scenario, an
option, an output folder that may not be replaced, a results folder that is missing, corrupt or
incomplete, a run too large without ``--allow-large``), 130 on Ctrl-C (SIGINT), 143 on SIGTERM,
141 without a message when the reader of its output went away (``cfsp-sim scenarios | head``),
1 anything else. Bad input is reported as one line naming the file, the key path and the
problem, with no traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import select
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sim import __version__
from sim.cli import inference, results, runs, scenarios
from sim.cli.arguments import (
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    Formatter,
    examples,
    shared_parents,
)
from sim.core.errors import UserError

EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143
EXIT_CLOSED_PIPE = 141
"""128 + SIGPIPE: what a C program reports when ``| head`` closes its output early."""

GROUPS = (scenarios, runs, results, inference)
HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    name: handler for group in GROUPS for name, handler in group.HANDLERS.items()
}


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: the run stops and its manifest says interrupted."""


def build_parser() -> argparse.ArgumentParser:
    """The full ``cfsp-sim`` parser: every command, option, help text and example."""
    p = argparse.ArgumentParser(
        prog="cfsp-sim",
        description="Discrete-event model of EU foreign and security policy decision-making.",
        formatter_class=Formatter,
        epilog=examples(
            "cfsp-sim scenarios",
            "cfsp-sim run eu27_baseline -n 100 --seed 2025",
            "cfsp-sim COMMAND --help",
        ),
    )
    p.add_argument("--version", action="version", version=f"cfsp-sim {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    shared = shared_parents()

    def command(name: str, help: str, parents: tuple[str, ...], *lines: str) -> Any:
        return sub.add_parser(
            name,
            help=help,
            description=help[0].upper() + help[1:] + ".",
            parents=[shared[k] for k in parents],
            formatter_class=Formatter,
            epilog=examples(*lines),
        )

    for group in GROUPS:
        group.add_commands(command)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    try:
        with _notes(), _sigterm_as_interrupt():
            return HANDLERS[args.command](args)
    except BrokenPipeError as exc:  # `cfsp-sim ... | head`: the reader has what it wanted
        if not _stdout_closed():  # a worker's pipe, not ours: a failure like any other
            print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
            return EXIT_FAILURE
        return _closed_pipe()
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


def _stdout_closed() -> bool:
    """Whether stdout is a pipe whose reader has closed it (poll reports an error)."""
    try:
        poll = select.poll()
        poll.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poll.poll(0))
    except (OSError, ValueError, AttributeError):
        return False


def _closed_pipe() -> int:
    """Quiet exit when stdout's reader has gone: point stdout at the null device, so that
    the interpreter's last flush does not fail again, and exit 141 without a message."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout without a file descriptor (captured in a test)
        pass
    return EXIT_CLOSED_PIPE


def entry() -> None:
    """Console-script entry point."""
    status = main()
    try:
        sys.stdout.flush()  # output still buffered: a closed pipe shows here
    except BrokenPipeError:
        status = _closed_pipe()
    sys.exit(status)
