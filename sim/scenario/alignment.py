"""Measured CFSP alignment turned into member-state behaviour (``sim/data/candidates.toml``).

A member entry with ``alignment_from = "RS"`` takes its name, population and measured
alignment from the candidates' data; ``alignment = 0.5`` states a share directly. The state's
non-alignment ``d = 1 - alignment`` then shifts its behaviour from the scenario's defaults
through the coefficients of ``[mapping]`` in the data file (each an ASSUMPTION with a
sensitivity range; a scenario's ``[alignment_mapping]`` overrides them): its position on each
proposal type (so that it objects to the tabled text of a share of the proposals proportional to
``d``), its hold-out propensity and its per-round objection probability. ``d = 0`` leaves the
defaults exactly as they are, for EU members and fully aligned candidates alike.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from importlib import resources
from statistics import NormalDist
from typing import Any

from sim.scenario.members import MemberStateSpec
from sim.scenario.proposals import ProposalTypeSpec
from sim.scenario.schema import Scenario

DATA_FILE = "sim/data/candidates.toml"
COEFFICIENTS = (
    "text_objection_share",
    "unmeasured_type_weight",
    "holdout_per_nonalignment",
    "objection_per_nonalignment",
)
"""The mapping's coefficients, by the names ``[mapping]`` and ``[alignment_mapping]`` use."""


class AlignmentError(ValueError):
    """A member entry's alignment keys that the data cannot answer (the key, the problem)."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(problem)
        self.key = key


@functools.cache
def candidates_data() -> dict[str, Any]:
    """The parsed ``sim/data/candidates.toml`` (``candidates`` and ``mapping`` tables)."""
    text = resources.files("sim").joinpath("data/candidates.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


@dataclass(frozen=True)
class AlignmentMapping:
    """The mapping's coefficients in force for one scenario."""

    text_objection_share: float
    unmeasured_type_weight: float
    holdout_per_nonalignment: float
    objection_per_nonalignment: float
    measured_types: tuple[str, ...]

    @classmethod
    def of(cls, s: Scenario) -> AlignmentMapping:
        """The data file's values, overridden by the scenario's ``[alignment_mapping]``."""
        table = candidates_data()["mapping"]
        values: dict[str, Any] = {k: table[k]["value"] for k in COEFFICIENTS}
        values["measured_types"] = table["measured_types"]
        if s.alignment_mapping is not None:
            values.update(s.alignment_mapping.model_dump(exclude_none=True))
        values["measured_types"] = tuple(values["measured_types"])
        return cls(**values)


def reference_entry(code: str, spec: MemberStateSpec) -> tuple[str | None, int | None, float]:
    """Name, population and alignment share (1.0 when neither the entry nor the data gives one)
    that a member entry takes from the candidates' data.

    Raises
    ------
    AlignmentError
        An unknown candidate code, a population range the data does not have, or a candidate
        without a measured rate and no ``alignment`` in the entry.
    """
    key = f"member_states.{code}"
    if spec.alignment_from is None:
        if spec.population_estimate is not None:
            raise AlignmentError(
                f"{key}.population_estimate", "needs alignment_from (the candidate's data)"
            )
        return None, None, 1.0 if spec.alignment is None else spec.alignment
    known = candidates_data()["candidates"]
    entry = known.get(spec.alignment_from)
    if entry is None:
        raise AlignmentError(
            f"{key}.alignment_from",
            f"unknown candidate {spec.alignment_from!r} in {DATA_FILE} (known: "
            f"{', '.join(sorted(known))})",
        )
    which = spec.population_estimate or "central"
    pop_key = "population" if which == "central" else f"population_{which}"
    if pop_key not in entry:
        raise AlignmentError(
            f"{key}.population_estimate",
            f"{DATA_FILE} gives no {which} population estimate for {spec.alignment_from!r}",
        )
    alignment = spec.alignment
    if alignment is None:
        if "alignment_percent" not in entry:
            raise AlignmentError(
                f"{key}.alignment_from",
                f"{DATA_FILE} has no measured alignment rate for {spec.alignment_from!r}: "
                "state one with alignment = SHARE (an ASSUMPTION)",
            )
        alignment = entry["alignment_percent"] / 100.0
    return entry["name"], entry[pop_key], alignment


def _objecting_position(share: float, pt: ProposalTypeSpec, tolerance: float) -> float:
    """The position at which a state objects to the tabled text (at the type's ``ambition``)
    of ``share`` of the type's proposals, given their spread ``contestation``."""
    q = min(share, 1.0 - 1e-9)
    spread = max(pt.contestation, 1e-9)
    return pt.ambition - tolerance - spread * NormalDist().inv_cdf(q)


def aligned_behaviour(
    behaviour: dict[str, Any],
    nonalignment: float,
    mapping: AlignmentMapping,
    proposal_types: dict[str, ProposalTypeSpec],
) -> dict[str, Any]:
    """``behaviour`` (a member's defaults, as a dict) shifted for ``nonalignment`` ``d``: hold-out
    and per-round objection propensities raised by their coefficient times ``d``, and each
    type's position lowered (never raised) so that the state objects to the tabled text of
    ``text_objection_share * w * d`` of the type's proposals (``w`` = 1 for the measured types,
    ``unmeasured_type_weight`` otherwise).

    >>> from sim.scenario.proposals import ProposalTypeSpec
    >>> pt = ProposalTypeSpec(description="", arrivals={"kind": "poisson", "rate_per_year": 1},
    ...                       route=["A"], rule="u", position=0.97, contestation=0.025)
    >>> m = AlignmentMapping(0.5, 0.5, 0.1, 0.02, ("eu_statement",))
    >>> b = {"holdout_probability": 0.004, "objection_probability": 0.004, "tolerance": 0.1,
    ...      "positions": {}}
    >>> aligned_behaviour(b, 0.0, m, {"eu_statement": pt}) == b
    True
    >>> out = aligned_behaviour(b, 1.0, m, {"eu_statement": pt})
    >>> round(out["holdout_probability"], 3), round(out["positions"]["eu_statement"], 3)
    (0.104, 0.9)
    """
    if nonalignment <= 0.0:
        return behaviour
    positions = dict(behaviour["positions"])
    for type_id, pt in proposal_types.items():
        weight = 1.0 if type_id in mapping.measured_types else mapping.unmeasured_type_weight
        share = mapping.text_objection_share * weight * nonalignment
        if share <= 0.0:
            continue
        default = positions.get(type_id, pt.position)
        objecting = _objecting_position(share, pt, behaviour["tolerance"])
        positions[type_id] = min(1.0, max(0.0, min(default, objecting)))
    return {
        **behaviour,
        "holdout_probability": min(
            1.0, behaviour["holdout_probability"] + mapping.holdout_per_nonalignment * nonalignment
        ),
        "objection_probability": min(
            1.0,
            behaviour["objection_probability"] + mapping.objection_per_nonalignment * nonalignment,
        ),
        "positions": positions,
    }
