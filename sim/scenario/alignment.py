"""Measured CFSP alignment turned into member-state behaviour (``sim/data/candidates.toml``).

A member entry with ``alignment_from = "RS"`` takes its name, population and measured
alignment from the candidates' data; ``alignment = 0.5`` states a share directly. The state's
non-alignment ``d = 1 - alignment`` then shifts its behaviour from the scenario's defaults
through the coefficients of ``[mapping]`` in the data file (each an ASSUMPTION with a
sensitivity range; a scenario's ``[alignment_mapping]`` overrides them): its position on each
proposal type (so that it objects to the tabled text of a share of the proposals proportional to
its non-alignment on that type), its hold-out propensity and its per-round objection
probability. A candidate that does not apply the EU's Russia sanctions (the data's
``russia_sanctions`` in the year of its rate) has its non-alignment concentrated on the
sanctions types (:func:`per_type_nonalignment`). ``d = 0`` leaves the defaults exactly as they
are, for EU members and fully aligned candidates alike.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from importlib import resources
from statistics import NormalDist
from typing import Any

from sim.scenario.members import MemberStateSpec
from sim.scenario.proposals import PoissonArrivals, ProposalTypeSpec
from sim.scenario.schema import Scenario

DATA_FILE = "sim/data/candidates.toml"
COEFFICIENTS = (
    "text_objection_share",
    "unmeasured_type_weight",
    "holdout_per_nonalignment",
    "objection_per_nonalignment",
    "sanctions_concentration",
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
    sanctions_concentration: float
    measured_types: tuple[str, ...]
    sanctions_types: tuple[str, ...] = ()

    @classmethod
    def of(cls, s: Scenario) -> AlignmentMapping:
        """The data file's values, overridden by the scenario's ``[alignment_mapping]``."""
        table = candidates_data()["mapping"]
        values: dict[str, Any] = {k: table[k]["value"] for k in COEFFICIENTS}
        values["measured_types"] = table["measured_types"]
        values["sanctions_types"] = table["sanctions_types"]
        if s.alignment_mapping is not None:
            values.update(s.alignment_mapping.model_dump(exclude_none=True))
        values["measured_types"] = tuple(values["measured_types"])
        values["sanctions_types"] = tuple(values["sanctions_types"])
        return cls(**values)


SANCTIONS_WEIGHT = {"yes": 0.0, "unknown": 0.0, "partial": 0.5, "no": 1.0}
"""How far ``sanctions_concentration`` applies, by the data's ``russia_sanctions``."""


def russia_sanctions(spec: MemberStateSpec) -> str:
    """Whether the candidate an entry cites applied the EU's Russia sanctions (``yes``, ``no``,
    ``partial`` or ``unknown``) in the year of its measured rate (``alignment_year``; without
    one, the latest year in its history): the rows of that year that say, ``unknown`` when
    none does or they disagree, and for an entry without ``alignment_from``."""
    if spec.alignment_from is None:
        return "unknown"
    entry = candidates_data()["candidates"].get(spec.alignment_from, {})
    history = entry.get("alignment_history", [])
    if not history:
        return "unknown"
    year = entry.get("alignment_year", max(row["year"] for row in history))
    said = {row.get("russia_sanctions", "unknown") for row in history if row["year"] == year}
    said.discard("unknown")
    return said.pop() if len(said) == 1 else "unknown"


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


def _per_year(pt: ProposalTypeSpec) -> float:
    """Expected proposals of a type a year."""
    a = pt.arrivals
    return a.rate_per_year if isinstance(a, PoissonArrivals) else len(a.deadlines) * a.count


def per_type_nonalignment(
    nonalignment: float,
    concentration: float,
    mapping: AlignmentMapping,
    proposal_types: dict[str, ProposalTypeSpec],
) -> dict[str, float]:
    """The non-alignment ``d_t`` a state shows on each proposal type.

    Without concentration (``concentration = 0``) every type takes ``d``. Otherwise the
    sanctions types (``sanctions_types``, all measured) take ``d_S = d + c * (1 - d)``, and the
    other measured types ``d_O`` such that the measured types' rejections, counted in expected
    proposals a year ``n_t``, stay what the rate says::

        sum_M n_t * d_t = d * sum_M n_t,   so   d_O = (d * N_M - d_S * N_S) / N_O,

    with ``d_S`` capped at ``d * N_M / N_S`` (then ``d_O = 0``). The unmeasured types, on which
    the rate says nothing, follow the other measured types (``d_O``); the unmeasured weight
    applies on top, in :func:`aligned_behaviour`.
    """
    types = list(proposal_types)
    sanctions = [t for t in types if t in mapping.sanctions_types]
    measured = [t for t in types if t in mapping.measured_types]
    others = [t for t in measured if t not in sanctions]
    if concentration <= 0.0 or not sanctions or not others:
        return dict.fromkeys(types, nonalignment)
    n = {t: _per_year(proposal_types[t]) for t in measured}
    n_s = sum(n[t] for t in sanctions)
    n_m = sum(n.values())
    d_s = min(nonalignment + concentration * (1.0 - nonalignment), nonalignment * n_m / n_s)
    d_o = max(0.0, (nonalignment * n_m - d_s * n_s) / (n_m - n_s))
    return {t: d_s if t in sanctions else d_o for t in types}


def aligned_behaviour(
    behaviour: dict[str, Any],
    nonalignment: float,
    mapping: AlignmentMapping,
    proposal_types: dict[str, ProposalTypeSpec],
    concentration: float = 0.0,
) -> dict[str, Any]:
    """``behaviour`` (a member's defaults, as a dict) shifted for ``nonalignment`` ``d``, spread
    over the types as :func:`per_type_nonalignment` says (``d_t``; ``concentration`` = the
    mapping's ``sanctions_concentration`` times the state's :data:`SANCTIONS_WEIGHT`).

    Each type's position is lowered (never raised) so that the state objects to the tabled text
    of ``text_objection_share * w * d_t`` of the type's proposals (``w`` = 1 for the measured
    types, ``unmeasured_type_weight`` otherwise); the per-round objection propensity rises by its
    coefficient times ``d``; the hold-out propensity by ``holdout_per_nonalignment * d_t``, as
    ``holdout_probability`` when every ``d_t`` is ``d`` and otherwise with ``d_O`` there and a
    demand on each sanctions type (over the default's demand on it, if any) with ``d_S``. The
    accounting counts proposals, not hold-outs: each type's ``holdout_scale`` applies on top.

    >>> from sim.scenario.proposals import ProposalTypeSpec
    >>> pt = ProposalTypeSpec(description="", arrivals={"kind": "poisson", "rate_per_year": 1},
    ...                       route=["A"], rule="u", position=0.97, contestation=0.025)
    >>> m = AlignmentMapping(0.5, 0.5, 0.1, 0.02, 0.8, ("eu_statement",))
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
    per_type = per_type_nonalignment(nonalignment, concentration, mapping, proposal_types)
    positions = dict(behaviour["positions"])
    for type_id, pt in proposal_types.items():
        weight = 1.0 if type_id in mapping.measured_types else mapping.unmeasured_type_weight
        share = mapping.text_objection_share * weight * per_type[type_id]
        if share <= 0.0:
            continue
        default = positions.get(type_id, pt.position)
        objecting = _objecting_position(share, pt, behaviour["tolerance"])
        positions[type_id] = min(1.0, max(0.0, min(default, objecting)))
    base = behaviour["holdout_probability"]
    k = mapping.holdout_per_nonalignment
    others = [d for t, d in per_type.items() if t not in mapping.sanctions_types]
    d_o = others[0] if others else nonalignment
    demands = dict(behaviour.get("demands", {}))
    if any(d != nonalignment for d in per_type.values()):
        for type_id in mapping.sanctions_types:
            if type_id in per_type:
                default = demands.get(type_id, {"probability": base})
                extra = k * per_type[type_id]
                demands[type_id] = {
                    **default,
                    "probability": min(1.0, default["probability"] + extra),
                }
    return {
        **behaviour,
        "holdout_probability": min(1.0, base + k * d_o),
        "demands": demands,
        "objection_probability": min(
            1.0,
            behaviour["objection_probability"] + mapping.objection_per_nonalignment * nonalignment,
        ),
        "positions": positions,
    }
