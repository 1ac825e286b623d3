"""A run in memory: the same replications as :func:`~sim.experiment.runner.run_experiment`,
their tables as DataFrames, and no folder until :meth:`Simulation.save` writes one."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import pandas as pd
import pyarrow as pa

from sim.experiment.engines import chunk_count, open_engine
from sim.experiment.results import TABLES, Experiment, headline
from sim.experiment.runner import finish_run, prepare, replicate, run_manifest
from sim.experiment.source import Source
from sim.experiment.study import DEFAULTS, ExperimentOptions, study
from sim.scenario import Scenario


def _frame(parts: Sequence[pa.Table]) -> pd.DataFrame:
    """Chunks of one table as a DataFrame, as a results folder would read back."""
    schema = parts[0].schema
    return pa.concat_tables([t.cast(schema) for t in parts]).to_pandas()


@dataclass(frozen=True, repr=False)
class Simulation:
    """Seeded replications of a resolved scenario (its ``[experiment]`` seed and number): the
    tables of every replication as DataFrames with a ``replication`` column (``proposals``,
    ``events``, ``stages``, ``meetings``, built on first use from the Arrow chunks the
    replications returned), per-replication ``metrics`` and the ``summary`` across them."""

    scenario: Scenario
    summary: pd.DataFrame
    chunks: Mapping[str, tuple[pa.Table, ...]]
    engine: str
    source: Source | None = None

    def __repr__(self) -> str:
        e = self.scenario.experiment
        return f"Simulation({self.scenario.name}: {e.replications} replications, seed {e.seed})"

    @cached_property
    def proposals(self) -> pd.DataFrame:
        """One row per proposal per replication."""
        return _frame(self.chunks["proposals"])

    @cached_property
    def events(self) -> pd.DataFrame:
        """The event log of every replication."""
        return _frame(self.chunks["events"])

    @cached_property
    def stages(self) -> pd.DataFrame:
        """One row per proposal visit to a body, with its time split."""
        return _frame(self.chunks["stages"])

    @cached_property
    def meetings(self) -> pd.DataFrame:
        """One row per meeting held."""
        return _frame(self.chunks["meetings"])

    @cached_property
    def metrics(self) -> pd.DataFrame:
        """Per-replication metrics (the input of the confidence intervals)."""
        return _frame(self.chunks["metrics"])

    def headline(self) -> pd.DataFrame:
        """The summary rows a reader looks at first (overall group)."""
        return headline(self.summary)

    def save(self, out: str | Path, options: ExperimentOptions = DEFAULTS) -> Experiment:
        """Write the results folder :func:`~sim.experiment.runner.run_experiment` would have
        written (the same files, through the same study transaction; figures and report with
        ``options.report``).

        >>> run = sim.simulate("eu27_baseline", replications=10, seed=1)  # doctest: +SKIP
        >>> run.save("results/baseline")  # doctest: +SKIP
        """
        files = tuple(self.source.files()) if self.source is not None else ()
        options = replace(options, inputs=(*options.inputs, *files))
        with study(out, run_manifest(self.scenario, self.source, self.engine), options) as s:
            for name in (*TABLES, "metrics"):
                for table in self.chunks[name]:
                    s.append(name, table)
            finish_run(s, self.scenario, self.summary)
        assert s.published is not None
        return s.result.published(s.published, s.manifest)


def simulate(
    scenario: Scenario | Source | str | Path,
    *,
    overrides: Sequence[str] = (),
    replications: int | None = None,
    seed: int | None = None,
    options: ExperimentOptions = DEFAULTS,
) -> Simulation:
    """Run ``replications`` seeded replications of ``scenario`` (a :class:`Scenario`, a file
    or a bundled name, with ``--set``-style ``overrides``) in memory; the same tables as
    :func:`~sim.experiment.runner.run_experiment` with the same seed, whatever ``options``'
    workers or Dask.

    >>> run = sim.simulate("qmv_art31", overrides=["horizon_days=730"], seed=7)  # doctest: +SKIP
    >>> run.proposals.groupby("replication")["outcome"].value_counts()  # doctest: +SKIP
    """
    if overrides:
        if isinstance(scenario, Scenario):
            raise TypeError("overrides apply to a scenario file or name, not to a Scenario")
        base = scenario if isinstance(scenario, Source) else Source(scenario)
        scenario = replace(base, overrides=(*base.overrides, *overrides))
    resolved, source = prepare(scenario, replications, seed, options.allow_large)
    parts: defaultdict[str, list[pa.Table]] = defaultdict(list)
    with open_engine(options.dask, options.workers, chunk_count(resolved)) as engine:
        summary = replicate(
            engine, resolved, lambda name, t: parts[name].append(t), options.progress
        )
        label = engine.label
    chunks = {name: tuple(p) for name, p in parts.items()}
    return Simulation(resolved, summary, chunks, label, source)
