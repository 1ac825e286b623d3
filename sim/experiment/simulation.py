"""A run in memory: the same replications as :func:`~sim.experiment.runner.run_experiment`,
their tables as DataFrames, and no folder until :meth:`Simulation.save` writes one."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import pyarrow as pa

from sim.experiment.engines import open_engine
from sim.experiment.results import TABLES, Experiment, frame_to_arrow, headline
from sim.experiment.runner import finish_run, prepare, replicate, run_manifest
from sim.experiment.source import Source
from sim.experiment.study import DEFAULTS, ExperimentOptions, study
from sim.scenario import Scenario


def _frame(parts: list[pa.Table]) -> pd.DataFrame:
    """Chunks of one table as a DataFrame, as a results folder would read back."""
    schema = parts[0].schema
    return pa.concat_tables([t.cast(schema) for t in parts]).to_pandas()


@dataclass(frozen=True, repr=False)
class Simulation:
    """Seeded replications of a resolved scenario (its ``[experiment]`` seed and number): the
    tables of every replication (with a ``replication`` column), per-replication metrics and
    the summary across them."""

    scenario: Scenario
    proposals: pd.DataFrame
    events: pd.DataFrame
    stages: pd.DataFrame
    meetings: pd.DataFrame
    metrics: pd.DataFrame
    summary: pd.DataFrame
    source: Source | None = None

    def __repr__(self) -> str:
        e = self.scenario.experiment
        return f"Simulation({self.scenario.name}: {e.replications} replications, seed {e.seed})"

    def headline(self) -> pd.DataFrame:
        """The summary rows a reader looks at first (overall group)."""
        return headline(self.summary)

    def save(self, out: str | Path, options: ExperimentOptions = DEFAULTS) -> Experiment:
        """Write a results folder, as :func:`~sim.experiment.runner.run_experiment` would
        (the same study transaction; figures and report with ``options.report``)."""
        files = tuple(self.source.files()) if self.source is not None else ()
        options = replace(options, inputs=(*options.inputs, *files))
        with study(out, run_manifest(self.scenario, self.source, "memory"), options) as s:
            for name in (*TABLES, "metrics"):
                s.append(name, frame_to_arrow(getattr(self, name)))
            finish_run(s, self.scenario, self.summary)
        assert s.published is not None
        return replace(s.result, path=s.published, manifest=s.manifest)


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
    :func:`~sim.experiment.runner.run_experiment` with the same seed."""
    if overrides:
        if isinstance(scenario, Scenario):
            raise TypeError("overrides apply to a scenario file or name, not to a Scenario")
        base = scenario if isinstance(scenario, Source) else Source(scenario)
        scenario = replace(base, overrides=(*base.overrides, *overrides))
    resolved, source = prepare(scenario, replications, seed, options.allow_large)
    parts: defaultdict[str, list[pa.Table]] = defaultdict(list)
    with open_engine(options.dask, options.processes()) as engine:
        summary = replicate(
            engine, resolved, lambda name, t: parts[name].append(t), options.progress
        )
    tables = {name: _frame(p) for name, p in parts.items()}
    return Simulation(resolved, **tables, summary=summary, source=source)
