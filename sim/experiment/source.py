"""A scenario as the user named it: a bundled name or a file, its ``--set`` overrides and, for
sensitivity and calibration, its priors file. A study records where its scenario came from and
refuses to write over those files."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from sim.scenario import Scenario, bundled_scenarios, load_scenario
from sim.scenario.loading import scenario_sources
from sim.scenario.priors import Prior, default_priors_path, load_priors


@dataclass(frozen=True)
class Source:
    """``scenario``: a bundled name (``"eu27_baseline"``) or a TOML file; ``overrides``:
    ``"key.path=value"`` strings applied before validation; ``priors``: the priors file
    (``None``: ``<scenario>.priors.toml`` beside the scenario)."""

    scenario: str | Path
    overrides: tuple[str, ...] = ()
    priors: str | Path | None = None

    def load(self, varied: Sequence[str] = ()) -> Scenario:
        """The scenario validated (``varied``: a sweep point's further overrides)."""
        return load_scenario(self.scenario, self.overrides, varied)

    @cached_property
    def validated(self) -> Scenario:
        """The scenario validated, once."""
        return self.load()

    def files(self) -> list[Path]:
        """The scenario file and every file it extends."""
        return scenario_sources(self.scenario)

    def priors_path(self) -> Path:
        """The priors file."""
        return Path(self.priors) if self.priors else default_priors_path(self.scenario)

    def load_priors(self, scenario: Scenario) -> list[Prior]:
        """The priors, checked against ``scenario``."""
        return load_priors(self.priors_path(), scenario)

    def extends(self, out: Path) -> str:
        """How a scenario written into ``out`` names this one: the bundled name, else the
        file's path relative to ``out``."""
        if str(self.scenario) in bundled_scenarios():
            return str(self.scenario)
        return os.path.relpath(Path(self.scenario).resolve(), out.resolve())


def as_source(scenario: Scenario | Source | str | Path) -> tuple[Scenario, Source | None]:
    """The validated scenario and, unless it was given as a :class:`Scenario`, its source."""
    if isinstance(scenario, Scenario):
        return scenario, None
    source = scenario if isinstance(scenario, Source) else Source(scenario)
    return source.validated, source
