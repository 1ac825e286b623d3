"""Experiments: many seeded replications, in parallel, streamed into a results folder.

:func:`run_experiment` checks the size of the run and the output folder before anything starts,
runs the replications on an engine (:mod:`sim.experiment.engines`: serial, a process pool or
Dask — results are identical to the bit whatever the engine), streams their tables into a
locked staging folder and publishes it atomically (:mod:`sim.experiment.results`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from sim.analysis.stats import pooled_durations, summarise
from sim.core.rng import draw_seed
from sim.experiment.engines import Engine, chunks, open_engine
from sim.experiment.limits import check_run_size
from sim.experiment.posterior import open_posterior, replication_parameters
from sim.experiment.results import (
    Experiment,
    ResultsWriter,
    failure_status,
    frame_to_arrow,
    write_text_atomic,
)
from sim.scenario import ExperimentSpec, Scenario
from sim.scenario.loading import scenario_sources

__all__ = ["Experiment", "resolve_seed", "run_experiment", "versions"]

DEPENDENCIES = ("simpy", "numpy", "pandas", "pyarrow", "pydantic", "scipy", "matplotlib")


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


def resolve_seed(scenario: Scenario, seed: int | None) -> int:
    """The seed given, else the scenario's ``[experiment] seed``, else a fresh one (which the
    manifest and the resolved scenario record)."""
    if seed is not None:
        return seed
    return scenario.experiment.seed if scenario.experiment.seed is not None else draw_seed()


def _simulate(
    writer: ResultsWriter,
    engine: Engine,
    scenario: Scenario,
    n: int,
    progress: bool | None,
    parameters: tuple[Mapping[str, float], ...] | None = None,
) -> pd.DataFrame:
    """Run the replications, stream their tables, write ``summary.csv``; returns the summary."""
    seed = scenario.experiment.seed
    assert seed is not None
    metrics: list[pd.DataFrame] = []
    durations: list[pa.Table] = []  # three columns of the proposals, for pooled percentiles
    bar = _progress(n, progress)
    with contextlib.closing(engine.map(chunks(scenario, seed, n, parameters))) as results, bar:
        for done, tables, chunk_metrics in results:
            for name, table in tables.items():
                writer.append(name, table)
            durations.append(tables["proposals"].select(["type", "outcome", "duration_days"]))
            metrics.append(chunk_metrics)
            bar.update(done)
    all_metrics = pd.concat(metrics, ignore_index=True)
    metrics.clear()  # free the per-replication inputs before the figures are drawn
    writer.append("metrics", frame_to_arrow(all_metrics))
    writer.close_tables()
    pooled = pooled_durations(pa.concat_tables(durations).to_pandas())
    durations.clear()
    summary = pd.concat([summarise(all_metrics), pooled], ignore_index=True)
    write_text_atomic(writer.path("summary.csv"), summary.to_csv(index=False))
    return summary


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


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
    scenario_file: str | Path | None = None,
    on_done: Callable[[Experiment], None] | None = None,
    allow_large: bool = False,
    posterior: str | Path | None = None,
) -> Experiment:
    """Run ``replications`` seeded replications of ``scenario`` into the folder ``out``.

    ``scenario`` is validated (:func:`sim.load_scenario`); ``replications`` and ``seed`` default
    to its ``[experiment]`` table, and without any seed one is drawn and recorded. ``out`` must
    be missing or empty, or with ``force`` a results folder (see :mod:`sim.experiment.folder`);
    it may not be ``scenario_file``, a file it extends or a folder holding them. ``workers``
    processes run the replications (``None``: all cores; 1: this process), or ``dask``
    (``"local"`` or ``tcp://host:port``); results do not depend on either. ``on_done`` gets
    the run before publication (figures and report go into its folder). A run expected to
    simulate more than :data:`sim.experiment.limits.MAX_PROPOSALS` proposals is refused unless
    ``allow_large``. With ``posterior`` (a ``cfsp-sim calibrate`` folder) each replication
    runs one posterior draw (:mod:`sim.experiment.posterior`), listed in
    ``posterior_draws.csv``.

    Raises :class:`~sim.core.errors.UserError` (nothing written) for a run too large, a bad
    output folder or Dask address; a failed or interrupted run leaves a manifest saying so.
    """
    n = replications or scenario.experiment.replications
    check_run_size(scenario, n, allow_large)
    seed = resolve_seed(scenario, seed)
    scenario = scenario.model_copy(update={"experiment": ExperimentSpec(replications=n, seed=seed)})
    inputs = scenario_sources(scenario_file) if scenario_file is not None else []
    parameters, drawn = None, None
    if posterior is not None:
        source = open_posterior(posterior, scenario)
        parameters, kept = replication_parameters(source, scenario, seed, n)
        inputs.append(source.path)
        drawn = {"path": str(source.path), "sha256": source.sha256, "scenario_keeps": kept}
    with open_engine(dask, workers or os.cpu_count() or 1) as engine:
        writer = ResultsWriter(Path(out), force=force, inputs=inputs)
        started = time.time()
        try:
            writer.write_manifest(
                kind="run",
                scenario=scenario.name,
                scenario_file=None if scenario_file is None else str(scenario_file),
                scenario_sha256=scenario.sha256(),
                seed=seed,
                replications=n,
                horizon_days=scenario.horizon_days,
                start_date=scenario.start_date.isoformat(),
                engine=engine.label,
                versions=versions(),
                git_sha=_git_sha(),
                started=_now(),
                posterior=drawn,
            )
            if parameters is not None:
                draws = pd.DataFrame(parameters).rename_axis("replication").reset_index()
                write_text_atomic(writer.path("posterior_draws.csv"), draws.to_csv(index=False))
            summary = _simulate(writer, engine, scenario, n, progress, parameters)
            write_text_atomic(writer.path("scenario.toml"), scenario.to_toml())
            exp = Experiment(writer.staging, scenario, writer.manifest, summary)
            if on_done is not None:
                on_done(exp)
            writer.write_manifest(ended=_now(), wall_seconds=round(time.time() - started, 3))
            exp.path = writer.publish()
        except BaseException as exc:
            writer.abandon(*failure_status(exc))
            raise
    exp.manifest = dict(writer.manifest)
    return exp
