"""The results folder (SPEC §5): one API to write it and one to open it.

:class:`ResultsWriter` writes a run, sweep or comparison: it locks the target, streams each
replication's tables to Parquet in a staging folder of its own (memory stays flat however many
replications run) and publishes the folder atomically with the sha256 of every file in the
manifest; an interrupted or failed run leaves a manifest saying so and no data file that could
be mistaken for a complete one. :func:`open_results` is the one way to read a folder back —
used by ``plot``, ``compare``, the report and the Python API — and refuses a corrupt,
incomplete or foreign folder naming the file. The on-disk guarantees are in
:mod:`sim.experiment.folder`.
"""

from __future__ import annotations

import contextlib
import html
import logging
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sim.analysis.metrics import HEADLINE
from sim.core.errors import UserError
from sim.engine.arrow import TABLES, frame_to_arrow
from sim.experiment.folder import (
    MANIFEST,
    PRODUCER,
    FolderLock,
    _pause,
    check_output,
    check_replaceable,
    checksums,
    describe,
    fsync,
    is_ours,
    open_regular,
    read_manifest,
    recover,
    sibling,
    signals_deferred,
    swap_in,
    verify,
    whoami,
    write_manifest,
    write_text_atomic,
)
from sim.scenario import Scenario, load_scenario

__all__ = [
    "TABLES",
    "Experiment",
    "ResultsWriter",
    "failure_status",
    "frame_to_arrow",
    "open_results",
    "read_manifest",
    "read_table",
    "write_text_atomic",
]

REDRAWN = ("figures/", "report.html")
"""What ``plot`` redraws; everything else in a run folder is kept as it is."""
BATCH = 16_384
"""Rows :func:`read_table` reads at a time."""

log = logging.getLogger("sim")


@dataclass
class ResultsWriter:
    """Writes one results folder: lock, staging folder, Parquet streams, atomic publication.

    ``inputs`` are the files or folders the command reads: the target may not be one of them,
    hold one or lie inside one. With ``update`` the staging folder starts as a copy (hard
    links) of the complete folder at ``target`` less what ``plot`` redraws.
    """

    target: Path
    force: bool = False
    inputs: Iterable[Path] = ()
    update: bool = False
    manifest: dict[str, Any] = field(default_factory=dict)
    _writers: dict[str, pq.ParquetWriter] = field(default_factory=dict)
    _schemas: dict[str, pa.Schema] = field(default_factory=dict)
    _done: bool = False

    def __post_init__(self) -> None:
        self.target = Path(self.target)
        self.abs = Path(os.path.abspath(self.target))
        if not self.update:
            check_output(self.target, self.inputs)
        self.lock = FolderLock(self.abs)
        for note in self.lock.acquire("run" if not self.update else "command"):
            log.warning(note)
        try:
            for note in recover(self.abs):
                log.warning(note)
            self.staging = sibling(self.abs, "partial")
            if self.update:
                self.manifest = _copy_for_update(self.abs, self.staging)
            else:
                check_replaceable(self.target, self.force)
                self.staging.mkdir()
                self.manifest = {"producer": PRODUCER}
            self.write_manifest(status="running", process=whoami())
        except BaseException:
            self.lock.release()
            raise

    def write_manifest(self, **updates: Any) -> None:
        """Update and rewrite the staging manifest."""
        self.manifest.update(updates)
        write_manifest(self.staging, self.manifest)

    def append(self, name: str, table: pa.Table) -> None:
        """Append rows (one or more replications) to the Parquet table ``name``."""
        if name not in self._writers:
            self._schemas[name] = table.schema
            self._writers[name] = pq.ParquetWriter(
                self.staging / f"{name}.parquet",
                table.schema,
                compression="zstd",
                use_dictionary=_repetitive(table.schema),
            )
        if table.schema != self._schemas[name]:
            table = table.cast(self._schemas[name])
        self._writers[name].write_table(table)

    def path(self, name: str) -> Path:
        """Where a file goes in the staging folder."""
        return self.staging / name

    def close_tables(self) -> None:
        """Finish the Parquet files."""
        for w in self._writers.values():
            w.close()
        self._writers.clear()

    def publish(self) -> Path:
        """Record every file's sha256, mark complete and move the staging folder into place
        (replacing old results); SIGINT/SIGTERM wait until it is done."""
        self.close_tables()
        try:
            with signals_deferred():
                files, parts = checksums(self.staging)
                self.write_manifest(status="complete", files=files, parts=parts)
                fsync(self.staging)
                _pause("complete")
                swap_in(self.abs, self.staging)
                self._done = True
        finally:
            if self._done:
                self.lock.release()
        return self.target

    def abandon(self, status: str, error: str) -> Path:
        """Record a failed or interrupted run: drop data files, keep a manifest saying so.

        The manifest lands in the target folder when that held no results; otherwise (a
        forced run over old results, or a redraw) the old results stay as they are and the
        staging folder is left for the next command to report and remove.
        """
        if self._done:
            return self.target
        self._done = True
        try:
            for w in self._writers.values():
                with contextlib.suppress(Exception):  # already failing; deleted below
                    w.close()
            self._writers.clear()
            for p in self.staging.iterdir():  # first, to free space on a full disk
                if p.name != MANIFEST:
                    shutil.rmtree(p) if p.is_dir() else p.unlink()
            self.write_manifest(status=status, error=error)
            if not self.update and (
                not self.abs.exists() or (self.abs.is_dir() and not any(self.abs.iterdir()))
            ):
                if self.abs.exists():
                    self.abs.rmdir()
                os.replace(self.staging, self.abs)
                return self.target
        except OSError:  # a full disk, say: the next command cleans the staging folder up
            pass
        finally:
            self.lock.release()
        return self.staging


def _repetitive(schema: pa.Schema) -> list[str]:
    """The columns worth Parquet's dictionary encoding: categories, strings and integers (ids,
    counts), whose values repeat; not times and measures, which rarely do (a quarter less
    time to write a run's tables, and smaller files)."""
    kinds = (pa.types.is_dictionary, pa.types.is_string, pa.types.is_integer)
    return [f.name for f in schema if any(kind(f.type) for kind in kinds)]


def failure_status(exc: BaseException) -> tuple[str, str]:
    """The manifest's status and error for work stopped by ``exc``."""
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted", f"interrupted ({exc or 'Ctrl-C'})"
    return "failed", f"{type(exc).__name__}: {exc}"


def _copy_for_update(target: Path, staging: Path) -> dict[str, Any]:
    """Stage a copy (hard links where possible) of the complete run at ``target``, less what
    ``plot`` redraws; returns its manifest."""
    manifest = check_folder(target, "run")
    staging.mkdir()
    for rel in manifest["files"]:
        if rel.startswith(REDRAWN):
            continue
        src, dst = target / rel, staging / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)
    return {k: v for k, v in manifest.items() if k not in ("files", "parts", "checksum")}


def read_table(
    folder: Path,
    name: str,
    columns: list[str] | None = None,
    where: tuple[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """One of the folder's Parquet tables as a DataFrame: its ``columns``, with ``where =
    (column, values)`` only the rows whose ``column`` holds one of ``values``; :class:`UserError`
    naming the file when it is not a Parquet table (or lacks a column asked for). Read in
    batches of :data:`BATCH` rows on one thread, each filtered as it comes: memory grows with
    the rows kept, not with the rows read."""
    path = folder / f"{name}.parquet"
    try:
        with pq.ParquetFile(path, pre_buffer=False) as file:
            schema = file.schema_arrow
            if missing := set(columns or ()) - set(schema.names):
                raise KeyError(f"no column {', '.join(sorted(missing))}")
            values = None if where is None else pa.array(where[1], pa.string())
            parts = []
            for batch in file.iter_batches(BATCH, columns=columns, use_threads=False):
                if where is not None:
                    batch = batch.filter(pc.is_in(batch[where[0]], value_set=values))
                parts.append(batch)
        kept = pa.schema([schema.field(c) for c in columns or schema.names])
        return pa.Table.from_batches(parts, kept).to_pandas()
    except (pa.ArrowException, ValueError, KeyError) as exc:
        raise UserError(f"{path}: not a readable Parquet table of cfsp-sim ({exc})") from None


# --- reading ----------------------------------------------------------------------------------


def check_folder(folder: Path, kind: str | None = "run") -> dict[str, Any]:
    """The manifest of a complete results folder of ``kind`` (``run``, ``sweep``,
    ``comparison``; ``None``: any) whose files all match it; :class:`UserError` otherwise."""
    if not folder.is_dir():
        raise UserError(f"{folder}: no such {'results' if kind in (None, 'run') else kind} folder")
    manifest = read_manifest(folder)
    if not is_ours(manifest):
        raise UserError(f"{folder / MANIFEST}: not written by cfsp-sim (not a results folder)")
    status = manifest.get("status")
    if status != "complete":
        who = f" ({describe(manifest)})" if status == "running" else ""
        raise UserError(f"{folder}: run is not complete (status {status!r}){who}")
    found = manifest.get("kind", "run")
    if kind is not None and found != kind:
        raise UserError(f"{folder}: a {found} folder, not a {kind}")
    verify(folder, manifest)
    _check_parquet(folder, manifest)
    return manifest


def _check_parquet(folder: Path, manifest: dict[str, Any]) -> None:
    """Refuse a listed ``.parquet`` file that is not Parquet (its checksum may match: a
    manifest rewritten to fit), before any command reads it."""
    for rel in manifest.get("files") or {}:
        if not rel.endswith(".parquet"):
            continue
        path = folder / rel
        with os.fdopen(open_regular(path), "rb") as fh:
            head = fh.read(4)
            fh.seek(max(0, path.stat().st_size - 4))
            tail = fh.read(4)
        if head != b"PAR1" or tail != b"PAR1" or path.stat().st_size < 12:
            raise UserError(f"{path}: not a Parquet file (the run did not write it)")


def headline(summary: pd.DataFrame) -> pd.DataFrame:
    """The rows of a summary a reader looks at first (overall group), in their usual order."""
    keys = list(HEADLINE)
    s = summary[(summary["group"] == "all") & summary["metric"].isin(keys)]
    return s.set_index("metric").loc[[k for k in keys if k in set(s["metric"])]]


def open_results(path: str | Path, kind: str = "run") -> Experiment:
    """Open a complete run's results folder, verified.

    First finishes or undoes what a run killed while publishing left behind (when no live
    run holds the folder), then checks the manifest and every file's size and sha256.

    Raises
    ------
    UserError
        Naming the file, when the folder is missing, incomplete, corrupt or not a cfsp-sim
        results folder.
    """
    folder = Path(path)
    lock = FolderLock(Path(os.path.abspath(folder)))
    if folder.parent.is_dir() and lock.try_acquire():
        try:
            for note in recover(lock.target):
                log.warning(note)
        finally:
            lock.release()
    manifest = check_folder(folder, kind)
    scenario = load_scenario(folder / "scenario.toml")
    return Experiment(folder, scenario, manifest, pd.read_csv(folder / "summary.csv"))


@dataclass(frozen=True, repr=False)
class Experiment:
    """A finished run: its folder, resolved scenario, manifest and summary; tables on demand.
    Immutable: a published run is what its folder holds."""

    path: Path
    scenario: Scenario
    manifest: dict[str, Any]
    summary: pd.DataFrame

    def __repr__(self) -> str:
        m = self.manifest
        drawn = ", parameters drawn from a posterior" if m.get("posterior") else ""
        return (
            f"Experiment({str(self.path)!r}: {self.scenario.name}, {m.get('replications')} "
            f"replications of {m.get('horizon_days', self.scenario.horizon_days):g} days, seed "
            f"{m.get('seed')}{drawn})"
        )

    def _repr_html_(self) -> str:
        """In Jupyter: what it is, and the headline statistics."""
        return f"<p><code>{html.escape(repr(self))}</code></p>" + self.headline().to_html()

    @classmethod
    def open(cls, path: str | Path) -> Experiment:
        """Open a results folder written by :func:`~sim.experiment.runner.run_experiment`
        (see :func:`open_results`)."""
        return open_results(path)

    def published(self, path: Path, manifest: dict[str, Any]) -> Experiment:
        """This result where its study published it: the tables already read (by the report,
        from the staging folder) come along rather than being read again."""
        moved = replace(self, path=path, manifest=manifest)
        moved.__dict__.update({k: v for k, v in vars(self).items() if k in (*TABLES, "metrics")})
        return moved

    @cached_property
    def proposals(self) -> pd.DataFrame:
        """One row per proposal per replication."""
        return read_table(self.path, "proposals")

    @cached_property
    def events(self) -> pd.DataFrame:
        """The event log of every replication."""
        return read_table(self.path, "events")

    @cached_property
    def stages(self) -> pd.DataFrame:
        """One row per proposal visit to a body, with its time split."""
        return read_table(self.path, "stages")

    @cached_property
    def meetings(self) -> pd.DataFrame:
        """One row per meeting held."""
        return read_table(self.path, "meetings")

    @cached_property
    def metrics(self) -> pd.DataFrame:
        """Per-replication metrics (the input of the confidence intervals)."""
        return read_table(self.path, "metrics")

    def headline(self) -> pd.DataFrame:
        """The summary rows a reader looks at first (overall group)."""
        return headline(self.summary)
