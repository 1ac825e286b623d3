"""Experiments: many seeded replications, in parallel, streamed into a results folder.

:func:`run_experiment` checks the size of the run and the output folder before anything starts,
runs the replications on an engine (:mod:`sim.experiment.engines`: serial, a process pool or
Dask — results are identical to the bit whatever the engine), streams their tables into a
locked staging folder and publishes it atomically (:mod:`sim.experiment.results`).
"""

from __future__ import annotations

import contextlib
import platform
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from sim.analysis.stats import pooled_durations, summarise
from sim.core.rng import draw_seed
from sim.experiment.engines import Engine, chunk_count, chunks, open_engine
from sim.experiment.limits import check_run_size
from sim.experiment.posterior import open_posterior, replication_parameters
from sim.experiment.results import Experiment, frame_to_arrow
from sim.experiment.source import Source, as_source
from sim.experiment.study import DEFAULTS, ExperimentOptions, Study, study
from sim.scenario import ExperimentSpec, Scenario

__all__ = [
    "Experiment",
    "ExperimentOptions",
    "Source",
    "resolve_seed",
    "run_experiment",
    "versions",
]

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


Sink = Callable[[str, pa.Table], None]
"""Takes a table's rows (``proposals``, ``events``, ``stages``, ``meetings``, ``metrics``)."""


def replicate(
    engine: Engine,
    scenario: Scenario,
    sink: Sink,
    progress: bool | None,
    parameters: tuple[Mapping[str, float], ...] | None = None,
) -> pd.DataFrame:
    """Run a resolved scenario's replications (its ``[experiment]`` seed and number), pass
    their tables to ``sink`` chunk by chunk in replication order, then the metrics; returns
    the summary (means and intervals, pooled duration percentiles)."""
    seed, n = scenario.experiment.seed, scenario.experiment.replications
    assert seed is not None
    metrics: list[pd.DataFrame] = []
    durations: list[pa.Table] = []  # three columns of the proposals, for pooled percentiles
    bar = _progress(n, progress)
    with contextlib.closing(engine.map(chunks(scenario, seed, n, parameters))) as results, bar:
        for done, tables, chunk_metrics in results:
            for name, table in tables.items():
                sink(name, table)
            durations.append(tables["proposals"].select(["type", "outcome", "duration_days"]))
            metrics.append(chunk_metrics)
            bar.update(done)
    all_metrics = pd.concat(metrics, ignore_index=True)
    metrics.clear()  # free the per-replication inputs before the figures are drawn
    sink("metrics", frame_to_arrow(all_metrics))
    pooled = pooled_durations(pa.concat_tables(durations).to_pandas())
    durations.clear()
    return pd.concat([summarise(all_metrics), pooled], ignore_index=True)


def prepare(
    scenario: Scenario | Source | str | Path,
    replications: int | None,
    seed: int | None,
    allow_large: bool,
) -> tuple[Scenario, Source | None]:
    """The scenario validated, its size checked, its replications and seed resolved (and
    recorded in its ``[experiment]`` table), and where it came from."""
    scenario, source = as_source(scenario)
    n = replications or scenario.experiment.replications
    check_run_size(scenario, n, allow_large)
    spec = ExperimentSpec(replications=n, seed=resolve_seed(scenario, seed))
    return scenario.model_copy(update={"experiment": spec}), source


def run_manifest(scenario: Scenario, source: Source | None, engine: str) -> dict[str, Any]:
    """The manifest of a run of a resolved scenario."""
    return {
        "kind": "run",
        "scenario": scenario.name,
        "scenario_file": None if source is None else str(source.scenario),
        "scenario_sha256": scenario.sha256(),
        "seed": scenario.experiment.seed,
        "replications": scenario.experiment.replications,
        "horizon_days": scenario.horizon_days,
        "start_date": scenario.start_date.isoformat(),
        "engine": engine,
        "versions": versions(),
        "git_sha": _git_sha(),
    }


def finish_run(s: Study, scenario: Scenario, summary: pd.DataFrame) -> None:
    """Close a run's tables, write its summary and resolved scenario, and make the staged
    :class:`Experiment` the study's result."""
    s.close_tables()
    s.write_text("summary.csv", summary.to_csv(index=False))
    s.write_text("scenario.toml", scenario.to_toml())
    s.result = Experiment(s.staging, scenario, s.manifest, summary)


def run_experiment(
    scenario: Scenario | Source | str | Path,
    out: str | Path,
    *,
    replications: int | None = None,
    seed: int | None = None,
    posterior: str | Path | None = None,
    options: ExperimentOptions = DEFAULTS,
) -> Experiment:
    """Run ``replications`` seeded replications of ``scenario`` into the folder ``out``.

    ``scenario`` is a :class:`Scenario`, a bundled name or file, or a :class:`Source` (a file
    with overrides); ``replications`` and ``seed`` default to its ``[experiment]`` table, and
    without any seed one is drawn and recorded. ``out`` must be missing or empty, or with
    ``options.force`` a results folder (see :mod:`sim.experiment.folder`); it may not be the
    scenario's file, a file it extends or a folder holding them. ``options`` say where the
    replications run (results do not depend on it), whether a run expected to simulate more
    than :data:`sim.experiment.limits.MAX_PROPOSALS` proposals may go ahead and whether figures
    and a report are drawn. With ``posterior`` (a ``cfsp-sim calibrate`` folder) each
    replication runs one posterior draw (:mod:`sim.experiment.posterior`), listed in
    ``posterior_draws.csv``.

    Raises :class:`~sim.core.errors.UserError` (nothing written) for a run too large, a bad
    output folder or Dask address; a failed or interrupted run leaves a manifest saying so.

    >>> options = sim.ExperimentOptions(workers=2, report=sim.attach_report)  # doctest: +SKIP
    >>> exp = sim.run_experiment("qmv_art31", "results/qmv", options=options)  # doctest: +SKIP
    >>> exp.headline()  # doctest: +SKIP
    """
    scenario, source = prepare(scenario, replications, seed, options.allow_large)
    inputs = [*options.inputs, *(source.files() if source is not None else [])]
    parameters, drawn = None, None
    if posterior is not None:
        seed, n = scenario.experiment.seed, scenario.experiment.replications
        assert seed is not None
        found = open_posterior(posterior, scenario)
        parameters, kept = replication_parameters(found, scenario, seed, n)
        inputs.append(found.path)
        drawn = {"path": str(found.path), "sha256": found.sha256, "scenario_keeps": kept}
    options = replace(options, inputs=tuple(inputs))
    with (
        open_engine(options.dask, options.workers, chunk_count(scenario)) as engine,
        study(
            out,
            {**run_manifest(scenario, source, engine.label), "posterior": drawn},
            options,
            helpers=engine.helpers(),
        ) as s,
    ):
        if parameters is not None:
            draws = pd.DataFrame(parameters).rename_axis("replication").reset_index()
            s.write_text("posterior_draws.csv", draws.to_csv(index=False))
        summary = replicate(engine, scenario, s.append, options.progress, parameters)
        finish_run(s, scenario, summary)
    assert s.published is not None
    return s.result.published(s.published, s.manifest)
