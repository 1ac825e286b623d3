"""Experiments: many seeded replications, in parallel, streamed into a results folder.

A task is pure, picklable data — the scenario, the seed and a chunk of replication numbers —
and the worker is a top-level function, so the same tasks run serially, in a process pool
(``spawn`` context chosen locally) or on a Dask cluster. Results are consumed in replication
order, never completion order, so the files are identical to the bit whatever the number of
workers or the engine.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from importlib import metadata
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from sim.analysis.metrics import HEADLINE
from sim.analysis.stats import pooled_durations, replication_metrics, summarise
from sim.core.rng import draw_seed
from sim.engine.compile import Model
from sim.experiment.results import (
    TABLES,
    ResultsWriter,
    frame_to_arrow,
    read_manifest,
    read_table,
    write_text_atomic,
)
from sim.scenario import ExperimentSpec, Scenario, load_scenario

Chunk = tuple[Scenario, int, tuple[int, ...]]
ChunkResult = tuple[int, dict[str, pa.Table], pd.DataFrame]
"""Replications done, their tables (Arrow, ``replication`` column first), their metrics."""

DEPENDENCIES = ("simpy", "numpy", "pandas", "pyarrow", "pydantic", "scipy", "matplotlib")


def run_chunk(task: Chunk) -> ChunkResult:
    """Worker: run a chunk of replications of one scenario (compiled once per chunk)."""
    scenario, seed, reps = task
    model = Model(scenario)
    tables: dict[str, list[pa.Table]] = {name: [] for name in TABLES}
    metrics = []
    for rep in reps:
        r = model.run(seed, rep)
        metrics.append(
            replication_metrics(r.proposals, r.stages, r.events, r.meetings, model.horizon, rep)
        )
        for name in TABLES:
            tables[name].append(frame_to_arrow(getattr(r, name), rep))
    joined = {name: pa.concat_tables(parts) for name, parts in tables.items()}
    return len(reps), joined, pd.concat(metrics, ignore_index=True)


CHUNK = 10
"""Replications per task. Fixed, not derived from the number of workers: each task becomes one
Parquet row group, so the files are the same to the byte whatever the workers or engine."""


def _chunks(scenario: Scenario, seed: int, n: int) -> list[Chunk]:
    return [(scenario, seed, tuple(range(i, min(n, i + CHUNK)))) for i in range(0, n, CHUNK)]


def _serial(chunks: list[Chunk]) -> Iterator[ChunkResult]:
    for c in chunks:
        yield run_chunk(c)


def _pool(chunks: list[Chunk], workers: int) -> Iterator[ChunkResult]:
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as ex:
        try:
            yield from ex.map(run_chunk, chunks)
        except BaseException:
            ex.shutdown(wait=False, cancel_futures=True)
            raise


def _dask(chunks: list[Chunk], address: str, local_workers: int) -> Iterator[ChunkResult]:
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - depends on the installed extra
        raise RuntimeError("--dask needs the dask extra: pip install 'cfsp-sim[dask]'") from exc
    cluster = None
    if address == "local":
        cluster = LocalCluster(
            n_workers=local_workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    else:
        client = Client(address)
    try:
        futures = client.map(run_chunk, chunks, pure=False, retries=3)
        for fut in futures:  # in submission (replication) order
            yield fut.result()
            fut.release()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _progress(total: int, enabled: bool | None) -> Any:
    from tqdm.auto import tqdm

    if enabled is None:
        enabled = sys.stderr.isatty() or "ipykernel" in sys.modules
    return tqdm(total=total, disable=not enabled, unit="rep", desc="replications", leave=False)


def versions() -> dict[str, str]:
    """Versions of Python, the package and its dependencies."""
    out = {"python": platform.python_version(), "cfsp-sim": metadata.version("cfsp-sim")}
    for dep in DEPENDENCIES:
        out[dep] = metadata.version(dep)
    return out


def _git_sha() -> str | None:
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return sha or None


@dataclass
class Experiment:
    """A finished run: its folder, resolved scenario, manifest and summary; tables on demand."""

    path: Path
    scenario: Scenario
    manifest: dict[str, Any]
    summary: pd.DataFrame

    @classmethod
    def open(cls, path: str | Path) -> Experiment:
        """Open a results folder written by :func:`run_experiment`."""
        folder = Path(path)
        manifest = read_manifest(folder)
        if manifest.get("status") != "complete":
            raise ValueError(f"{folder}: run is not complete (status {manifest.get('status')!r})")
        scenario = load_scenario(folder / "scenario.toml")
        return cls(folder, scenario, manifest, pd.read_csv(folder / "summary.csv"))

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
        keys = list(HEADLINE)
        s = self.summary[(self.summary["group"] == "all") & self.summary["metric"].isin(keys)]
        return s.set_index("metric").loc[[k for k in keys if k in set(s["metric"])]]


def resolve_seed(scenario: Scenario, seed: int | None) -> int:
    """The seed given, else the scenario's ``[experiment] seed``, else a fresh one (which the
    manifest and the resolved scenario record)."""
    if seed is not None:
        return seed
    return scenario.experiment.seed if scenario.experiment.seed is not None else draw_seed()


def _write_summary(
    writer: ResultsWriter, metrics: list[pd.DataFrame], durations: list[pa.Table]
) -> pd.DataFrame:
    """Finish the tables and write ``summary.csv``; frees the per-replication inputs (so the
    figures drawn next do not pile on top of them)."""
    all_metrics = pd.concat(metrics, ignore_index=True)
    metrics.clear()
    writer.append("metrics", frame_to_arrow(all_metrics))
    writer.close_tables()
    pooled = pooled_durations(pa.concat_tables(durations).to_pandas())
    durations.clear()
    summary = pd.concat([summarise(all_metrics), pooled], ignore_index=True)
    write_text_atomic(writer.path("summary.csv"), summary.to_csv(index=False))
    return summary


def run_experiment(
    scenario: Scenario,
    *,
    out: str | Path,
    replications: int | None = None,
    seed: int | None = None,
    workers: int | None = 1,
    dask: str | None = None,
    force: bool = False,
    progress: bool | None = None,
    scenario_file: str | None = None,
    on_done: Callable[[Path], None] | None = None,
) -> Experiment:
    """Run ``replications`` seeded replications of ``scenario`` into the folder ``out``.

    Parameters
    ----------
    scenario
        A validated scenario (see :func:`sim.load_scenario`).
    out
        Results folder; refused if it exists and is not empty, unless ``force``.
    replications, seed
        Default to the scenario's ``[experiment]`` table; without any seed one is drawn and
        recorded in the manifest and in the resolved ``scenario.toml``.
    workers
        Worker processes (``None``: all cores; 1: in this process). Results do not depend on it.
    dask
        ``"local"`` for a Dask LocalCluster (of ``workers`` processes), or the address of a
        running scheduler, ``tcp://host:port``. Results do not depend on it either.
    progress
        Show a progress bar (``None``: only on a terminal or in Jupyter).
    on_done
        Called with the staging folder before publication (figures and report go there).
    """
    exp = scenario.experiment
    n = replications or exp.replications
    seed = resolve_seed(scenario, seed)
    scenario = scenario.model_copy(update={"experiment": ExperimentSpec(replications=n, seed=seed)})
    workers = workers or os.cpu_count() or 1
    writer = ResultsWriter(Path(out), force=force)
    started = time.time()
    writer.write_manifest(
        scenario=scenario.name,
        scenario_file=scenario_file,
        scenario_sha256=scenario.sha256(),
        seed=seed,
        replications=n,
        horizon_days=scenario.horizon_days,
        start_date=scenario.start_date.isoformat(),
        engine=f"dask:{dask}" if dask else ("serial" if workers == 1 else f"processes:{workers}"),
        versions=versions(),
        git_sha=_git_sha(),
        started=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    chunks = _chunks(scenario, seed, n)
    if dask:
        results = _dask(chunks, dask, workers)
    elif workers == 1:
        results = _serial(chunks)
    else:
        results = _pool(chunks, workers)
    metrics: list[pd.DataFrame] = []
    bar = _progress(n, progress)
    try:
        durations: list[pa.Table] = []  # three columns of the proposals, for pooled percentiles
        for done, tables, chunk_metrics in results:
            for name, table in tables.items():
                writer.append(name, table)
            durations.append(tables["proposals"].select(["type", "outcome", "duration_days"]))
            metrics.append(chunk_metrics)
            bar.update(done)
        summary = _write_summary(writer, metrics, durations)
        write_text_atomic(writer.path("scenario.toml"), scenario.to_toml())
        if on_done is not None:
            on_done(writer.staging)
        ended = time.time()
        writer.write_manifest(
            ended=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            wall_seconds=round(ended - started, 3),
        )
        path = writer.publish()
    except KeyboardInterrupt:
        bar.close()
        writer.abandon("interrupted", "interrupted by the user (Ctrl-C)")
        raise
    except BaseException as exc:
        bar.close()
        writer.abandon("failed", f"{type(exc).__name__}: {exc}")
        raise
    bar.close()
    return Experiment(path, scenario, read_manifest(path), summary)
