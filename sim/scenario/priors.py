"""Priors: the calibrated parameters of a scenario, each a key path with a range and a reason.

A priors file (``<scenario>.priors.toml`` beside the scenario, or ``--priors FILE``) lists the
behavioural numbers that ``cfsp-sim sensitivity`` varies and ``cfsp-sim calibrate`` fits::

    [[parameters]]
    key = "member_defaults.instruction_delay.median"   # a --set key path of the scenario
    low = 0.3
    high = 3.0
    scale = "log"          # "linear" (uniform on [low, high]) or "log" (log-uniform)
    reason = "instructions within hours to a few working days (no measurement)"
    calibrate = true       # false: varied by sensitivity analysis only, held at the
                           # scenario's value by calibration (screened out; say why in reason)

Every key must name a number the scenario already has, and the scenario must validate with every
parameter at its ``low`` end and with every one at its ``high`` end; problems are a
:class:`ScenarioError` naming the priors file and the key. :func:`with_parameters` gives the
scenario with a parameter set applied.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.scenario.files import read_toml
from sim.scenario.loading import PRIORS, apply_override, resolve_scenario
from sim.scenario.schema import Scenario, ScenarioError


class Prior(BaseModel):
    """One calibrated parameter: a scenario key path and its prior range."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    key: str = Field(min_length=1)
    low: float
    high: float
    scale: Literal["linear", "log"] = "linear"
    integer: bool = False
    calibrate: bool = True
    reason: str = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> Prior:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.scale == "log" and self.low <= 0:
            raise ValueError("a log-scale prior needs low > 0")
        return self

    @property
    def name(self) -> str:
        """A short label: the key path without its top-level table."""
        return self.key.split(".", 1)[-1]

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """Map uniform draws in [0, 1] onto the prior (log-uniform for ``scale = "log"``)."""
        if self.scale == "log":
            lo, hi = math.log(self.low), math.log(self.high)
            x = np.exp(lo + u * (hi - lo))
        else:
            x = self.low + u * (self.high - self.low)
        return np.round(x) if self.integer else x

    def value(self, x: float) -> float | int:
        """``x`` as the scenario stores it (an int for integer parameters)."""
        return round(x) if self.integer else float(x)


class _PriorsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    parameters: list[Prior] = Field(min_length=1)


def default_priors_path(scenario_path: str | Path) -> Path:
    """``<scenario>.priors.toml`` beside the scenario file (bundled names resolved)."""
    path = resolve_scenario(scenario_path)
    return path.with_name(f"{path.stem}{PRIORS}")


def _raw(scenario: Scenario) -> dict[str, Any]:
    return tomllib.loads(scenario.to_toml())


def _lookup(raw: Mapping[str, Any], key: str) -> Any:
    node: Any = raw
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def with_parameters(
    scenario: Scenario, values: Mapping[str, float], raw: dict[str, Any] | None = None
) -> Scenario:
    """``scenario`` with each key path set to its value, validated again.

    ``raw`` is ``scenario`` as a dict (pass it when applying many parameter sets)."""
    data = _raw(scenario) if raw is None else _copy(raw)
    for key, value in values.items():
        apply_override(data, key.split("."), value, "priors")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise ScenarioError("priors", loc, err["msg"]) from None


def _copy(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _copy(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_copy(v) for v in node]
    return node


def load_priors(path: str | Path, scenario: Scenario | None) -> list[Prior]:
    """Read and check a priors file against ``scenario`` (``None``: read only, e.g. the copy
    a calibration folder keeps).

    Raises :class:`ScenarioError` naming ``path`` and the key for a missing or unreadable file,
    a bad entry, a key the scenario does not have as a number, or a range the scenario rejects.
    """
    path = Path(path)
    try:
        data = read_toml(path)
    except FileNotFoundError:
        problem = "priors file not found (write one or pass --priors FILE)"
        raise ScenarioError(path, "", problem) from None
    try:
        priors = _PriorsFile.model_validate(data).parameters
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise ScenarioError(path, loc, err["msg"].removeprefix("Value error, ")) from None
    if scenario is not None:
        _check_against(path, priors, scenario)
    return priors


def _check_against(path: Path, priors: Sequence[Prior], scenario: Scenario) -> None:
    raw = _raw(scenario)
    seen: set[str] = set()
    for p in priors:
        if p.key in seen:
            raise ScenarioError(path, p.key, "listed twice")
        seen.add(p.key)
        current = _lookup(raw, p.key)
        if isinstance(current, bool) or not isinstance(current, int | float):
            what = "is not in the scenario" if current is None else "is not a number there"
            raise ScenarioError(path, p.key, f"{what} (a prior must name a numeric scenario key)")
    for end in ("low", "high"):  # jointly: ranges of related keys (low/high of one law) fit
        values = {p.key: p.value(getattr(p, end)) for p in priors}
        try:
            with_parameters(scenario, values, raw)
        except ScenarioError as exc:
            raise ScenarioError(
                path,
                exc.key,
                f"with every parameter at its {end} end the scenario rejects it: {exc.problem}",
            ) from None


def priors_toml(priors: Sequence[Prior]) -> str:
    """The priors as a priors file (what :func:`load_priors` reads)."""
    return tomli_w.dumps({"parameters": [p.model_dump() for p in priors]})


def current_values(priors: Sequence[Prior], scenario: Scenario) -> dict[str, float]:
    """Each prior parameter's value in ``scenario``."""
    raw = _raw(scenario)
    return {p.key: float(_lookup(raw, p.key)) for p in priors}
