"""One experiment transaction: the options every study shares and the :func:`study` context
that locks, stages, reports and publishes a results folder (or abandons it).

Run, sweep, sensitivity, calibration, comparison and the redraw of a run's figures all write
their folder through :func:`study`; the lock / publish / abandon sequence lives only here. A
study's figures and report are drawn by ``options.report`` (the report layer's
:func:`sim.report.attach.attach_report`) on the finished result, in its staging folder, just
before publication, so figures and data appear together.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from sim.experiment.engines import IN_PROCESS, MAX_WORKERS, Helpers, check_workers, pool_size
from sim.experiment.results import ResultsWriter, failure_status, write_text_atomic

Reporter = Callable[[Any, Helpers], None]
"""Draws a finished result's figures and report into its (staging) folder, on the helpers."""


@dataclass(frozen=True)
class ExperimentOptions:
    """How a study runs and what it may do; the same for every entry point.

    ``workers``: processes running replications (1: this process; ``None``: all cores);
    ``dask``: ``"local"`` or a scheduler address (``tcp://host:8786``) instead of processes;
    ``force``: replace an existing results folder; ``allow_large``: go beyond the size guards
    of :mod:`sim.experiment.limits`; ``progress``: a progress bar (``None``: when a terminal
    or a notebook shows it); ``report``: draws figures and ``report.html`` before publishing
    (``None``: data only); ``inputs``: files the study reads, which its output may not
    replace, hold or lie inside.
    """

    workers: int | None = 1
    dask: str | None = None
    force: bool = False
    allow_large: bool = False
    progress: bool | None = None
    report: Reporter | None = None
    inputs: tuple[Path, ...] = ()

    def __post_init__(self) -> None:
        check_workers(self.workers)  # an absurd number is refused before anything starts

    def processes(self, work: int | None = None) -> int:
        """The number of worker processes to start (``None``: all cores), bounded by the
        cores and by ``work``, the pieces of work there are (:func:`engines.pool_size`)."""
        return pool_size(self.workers, work if work is not None else MAX_WORKERS)


DEFAULTS = ExperimentOptions()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Study:
    """A study being written: its staging folder, manifest and result (see :func:`study`)."""

    def __init__(self, writer: ResultsWriter) -> None:
        self._writer = writer
        self.result: Any = None
        self.published: Path | None = None

    @property
    def staging(self) -> Path:
        """The folder being written (moved into place on publication)."""
        return self._writer.staging

    @property
    def manifest(self) -> dict[str, Any]:
        """The manifest as written so far (after publication: as published)."""
        return dict(self._writer.manifest)

    def path(self, name: str) -> Path:
        """Where a file goes in the staging folder."""
        return self._writer.path(name)

    def write_text(self, name: str, text: str) -> Path:
        """Write a text file into the staging folder, atomically."""
        write_text_atomic(self.path(name), text)
        return self.path(name)

    def append(self, name: str, table: pa.Table) -> None:
        """Append rows to the Parquet table ``name``."""
        self._writer.append(name, table)

    def close_tables(self) -> None:
        """Finish the Parquet files."""
        self._writer.close_tables()

    def record(self, **entries: Any) -> None:
        """Add entries to the manifest."""
        self._writer.write_manifest(**entries)


@contextlib.contextmanager
def study(
    target: str | Path,
    manifest: dict[str, Any],
    options: ExperimentOptions = DEFAULTS,
    update: bool = False,
    helpers: Helpers = IN_PROCESS,
) -> Iterator[Study]:
    """Write one results folder as a transaction.

    Locks ``target`` (refusing what may not be replaced, see :mod:`sim.experiment.folder`),
    opens a staging folder whose manifest holds ``manifest`` (with ``update``: a copy of the
    complete run at ``target`` less its figures), and yields the :class:`Study`. When the block
    ends normally, ``options.report`` draws ``study.result`` (if both are set) on ``helpers``
    (a run's worker processes, while they are open), the manifest gets the end time, and the
    folder is published atomically (``study.published``). On an error or an interrupt the
    folder is abandoned with a manifest saying so, and the exception goes on.
    """
    writer = ResultsWriter(Path(target), force=options.force, inputs=options.inputs, update=update)
    started = time.time()
    try:
        s = Study(writer)
        if not update:
            writer.write_manifest(**manifest, started=_now())
        yield s
        if options.report is not None and s.result is not None:
            options.report(s.result, helpers)
        if not update:
            writer.write_manifest(ended=_now(), wall_seconds=round(time.time() - started, 3))
        s.published = writer.publish()
    except BaseException as exc:
        writer.abandon(*failure_status(exc))
        raise
