"""Cross-references between a scenario's tables, and member states resolved against the
reference data (``sim/data/eu27.toml``).

Each problem is a :class:`KeyedError` carrying the key path, which the loader turns into a
:class:`~sim.scenario.schema.ScenarioError` naming the file.
"""

from __future__ import annotations

import datetime as dt
import math
import tomllib
import typing
from collections.abc import Iterator
from importlib import resources
from typing import Any

import numpy as np
from pydantic import BaseModel

from sim.core.calendars import meeting_days
from sim.core.distributions import Distribution
from sim.scenario.alignment import (
    SANCTIONS_WEIGHT,
    AlignmentError,
    AlignmentMapping,
    aligned_behaviour,
    reference_entry,
    russia_sanctions,
)
from sim.scenario.fields import MAX_DAYS, Level
from sim.scenario.fields import StrictModel as _Model
from sim.scenario.members import MemberBehaviour, MemberStateSpec
from sim.scenario.proposals import ProposalTypeSpec, ScheduledArrivals
from sim.scenario.rules import QualifiedMajority
from sim.scenario.schema import Scenario


class KeyedError(ValueError):
    """A problem at a known key path: a cross-reference (``cross``: its cause may lie in any
    file of the scenario) or a bound on a value (blamed on whoever wrote the key)."""

    def __init__(self, key: str, problem: str, cross: bool = True) -> None:
        super().__init__(problem)
        self.key, self.cross = key, cross


FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(2200, 12, 31)
_DIST_TYPES = typing.get_args(typing.get_args(Distribution)[0])


def _distributions(node: Any, key: str) -> Iterator[tuple[str, Any]]:
    """Every distribution in the scenario, with its key path as written."""
    if isinstance(node, _DIST_TYPES):
        yield key, node
    elif isinstance(node, BaseModel):
        for name, f in type(node).model_fields.items():
            yield from _distributions(getattr(node, name), f"{key}.{f.alias or name}".lstrip("."))
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from _distributions(v, f"{key}.{k}")


def check_bounds(s: Scenario) -> None:
    """Bounds that involve more than one value: the run ends by 2200, and every distribution
    has a mean and spread of at most :data:`MAX_DAYS` (with every stated day count in range)."""
    end = s.start_date + dt.timedelta(days=math.ceil(s.horizon_days))
    if end > LAST_DAY:
        raise KeyedError("horizon_days", f"the run would end on {end}, after {LAST_DAY}", False)
    first = s.start_date - dt.timedelta(days=s.warmup_days)
    if first < FIRST_DAY:
        raise KeyedError(
            "warmup_days", f"the warm-up would start on {first}, before {FIRST_DAY}", False
        )
    for key, d in _distributions(s, ""):
        days = [v for k, v in d if k not in ("dist", "sigma", "shape", "weights")]
        worst = max(x for v in days for x in (v if isinstance(v, list) else [v]))
        if worst <= MAX_DAYS:
            with np.errstate(all="ignore"):
                try:
                    worst = max(d.mean, math.sqrt(d.variance))
                except OverflowError:
                    worst = math.inf
        if not worst <= MAX_DAYS:
            raise KeyedError(
                key,
                f"a distribution of days with a mean, spread or value of {worst:.3g} days, over "
                f"the limit of {MAX_DAYS:g} (100 years)",
                False,
            )


def _unknown_rule(rule: str, s: Scenario) -> str:
    from sim.scenario.loading import did_you_mean  # loading imports this module

    known = ", ".join(repr(r) for r in s.decision_rules)
    return f"unknown decision rule {rule!r} (known: {known}){did_you_mean(rule, s.decision_rules)}"


def check_cross_references(s: Scenario) -> None:
    check_bounds(s)
    for rule_id, rule in s.decision_rules.items():
        if isinstance(rule, QualifiedMajority) and rule.emergency_brake and not s.escalation_body:
            raise KeyedError(
                f"decision_rules.{rule_id}.emergency_brake",
                "the emergency brake needs an escalation_body (the European Council)",
            )
    for body_id, body in s.bodies.items():
        if body.rule is not None and body.rule not in s.decision_rules:
            raise KeyedError(f"bodies.{body_id}.rule", _unknown_rule(body.rule, s))
        recesses = s.recesses if body.calendar.recesses is None else body.calendar.recesses
        if len(meeting_days(body.calendar, recesses, s.start_date, max(s.horizon_days, 366))) == 0:
            raise KeyedError(
                f"bodies.{body_id}.calendar", "no meeting day in a year (recesses cover them all?)"
            )
    if s.escalation_body is not None and s.escalation_body not in s.bodies:
        raise KeyedError("escalation_body", f"unknown body {s.escalation_body!r}")
    for ids in ("bodies", "decision_rules", "proposal_types"):
        for name in getattr(s, ids):
            if not name.strip() or not name.isprintable():
                raise KeyedError(f"{ids}.{name}", "an id must be printable and not blank")
    a_items = s.negotiation.agenda.a_item_body
    if a_items is not None and a_items not in s.bodies:
        raise KeyedError("negotiation.agenda.a_item_body", f"unknown body {a_items!r}")
    check_practice_used(s)
    for type_id, pt in s.proposal_types.items():
        for i, body_id in enumerate(pt.route):
            if body_id not in s.bodies:
                known = ", ".join(sorted(s.bodies))
                raise KeyedError(
                    f"proposal_types.{type_id}.route[{i}]",
                    f"unknown body {body_id!r} (known: {known})",
                )
        crisis_skip = pt.crisis.skip if pt.crisis is not None and pt.crisis.skip else {}
        for key, skips in (("skip", pt.skip), ("crisis.skip", crisis_skip)):
            for body_id in skips:
                if body_id not in pt.route[:-1]:
                    raise KeyedError(
                        f"proposal_types.{type_id}.{key}.{body_id}",
                        "only a body of the route, before the adopting one, can be skipped",
                    )
        if len(set(pt.route)) != len(pt.route):
            raise KeyedError(f"proposal_types.{type_id}.route", "a body appears twice")
        _check_climbs(s, type_id, pt)
        if pt.rule not in s.decision_rules:
            raise KeyedError(f"proposal_types.{type_id}.rule", _unknown_rule(pt.rule, s))
        for key in ("written_procedure", "silence_first"):
            if getattr(pt, key) and s.written_procedure is None:
                raise KeyedError(
                    f"proposal_types.{type_id}.{key}",
                    "needs a [written_procedure] table in the scenario",
                )
        if isinstance(pt.arrivals, ScheduledArrivals) and pt.deadline_days is not None:
            raise KeyedError(
                f"proposal_types.{type_id}.deadline_days",
                "scheduled arrivals take their deadlines from arrivals.deadlines",
            )
        if pt.crisis is not None and pt.crisis.run_up_days is not None and not _has_deadline(pt):
            raise KeyedError(
                f"proposal_types.{type_id}.crisis.run_up_days",
                "the type has no deadline to run up to (deadline_days or scheduled arrivals)",
            )
    per_type = [("member_defaults", s.member_defaults)] + [
        (f"member_states.{c}", m) for c, m in s.member_states.items()
    ]
    for where, spec in per_type:
        for key in ("positions", "demands"):
            for type_id in getattr(spec, key):
                if type_id not in s.proposal_types:
                    raise KeyedError(f"{where}.{key}.{type_id}", "unknown proposal type")
    _check_counts_of_states(s, len(resolve_members(s)))


def _check_counts_of_states(s: Scenario, members: int) -> None:
    """Counts of states a scenario's ``members`` could never reach: a blocking minority
    larger than the Council, a workaround's limit on objectors that never binds."""
    for type_id, pt in s.proposal_types.items():
        w = pt.workaround
        if w is not None and "max_objectors" in w.model_fields_set and w.max_objectors >= members:
            raise KeyedError(
                f"proposal_types.{type_id}.workaround.max_objectors",
                f"{w.max_objectors} is not below the {members} member states: the limit could "
                f"never bind (set it below {members})",
            )
    for rule_id, rule in s.decision_rules.items():
        if isinstance(rule, QualifiedMajority) and rule.min_blocking_states > members:
            raise KeyedError(
                f"decision_rules.{rule_id}.min_blocking_states",
                f"above the {members} member states: no minority could ever block",
            )


def _check_climbs(s: Scenario, type_id: str, pt: ProposalTypeSpec) -> None:
    """A route climbs the ladder: no level below the one before it, and the escalation body
    (the European Council, Art. 15 TEU) above every rung, not on the route."""
    ranks = [s.bodies[b].level.rank for b in pt.route]
    for i in range(1, len(ranks)):
        if ranks[i] < ranks[i - 1]:
            raise KeyedError(
                f"proposal_types.{type_id}.route[{i}]",
                f"{pt.route[i]!r} is on a lower level than {pt.route[i - 1]!r} before it",
            )
    top = s.escalation_body
    if top is None:
        return
    if top in pt.route:
        raise KeyedError(
            f"proposal_types.{type_id}.route",
            f"goes through the escalation body {top!r} (items escalate there, off the route)",
        )
    if s.bodies[top].level.rank <= max(ranks):
        raise KeyedError(
            "escalation_body",
            f"{top!r} is not above the route of {type_id!r} (it should be the European Council)",
        )


def _has_deadline(pt: ProposalTypeSpec) -> bool:
    return pt.deadline_days is not None or isinstance(pt.arrivals, ScheduledArrivals)


def check_practice_used(s: Scenario) -> None:
    """Refuse a practice setting written where it can have no effect in ``s`` (each would be
    silently inert): a concession margin with no deadline to concede by, concessions convening
    meetings where no body below the Council meets at short notice, a silence period for urgent
    items where no type has a crisis profile."""
    bargaining = s.negotiation.bargaining
    written = bargaining.model_fields_set if bargaining is not None else set()
    if "concession_margin" in written and not any(
        _has_deadline(pt) for pt in s.proposal_types.values()
    ):
        raise KeyedError(
            "negotiation.bargaining.concession_margin",
            "no proposal type has a deadline for a holder to concede by",
        )
    if (
        bargaining is not None
        and "concession_meeting" in written
        and bargaining.concession_meeting
        and not any(
            b.extraordinary_days is not None and b.level.rank < Level.COUNCIL.rank
            for b in s.bodies.values()
        )
    ):
        raise KeyedError(
            "negotiation.bargaining.concession_meeting",
            "no body below the Council holds extraordinary meetings (extraordinary_days)",
        )
    if s.negotiation.brake is not None and not any(
        isinstance(rule, QualifiedMajority) and rule.emergency_brake
        for rule in s.decision_rules.values()
    ):
        raise KeyedError("negotiation.brake", "no decision rule has an emergency_brake")
    wp = s.written_procedure
    if (
        wp is not None
        and wp.urgent_days is not None
        and all(pt.crisis is None for pt in s.proposal_types.values())
    ):
        raise KeyedError(
            "written_procedure.urgent_days",
            "no proposal type has a crisis profile, so no item is ever urgent",
        )


class ResolvedMember(_Model):
    """A member state with every parameter known."""

    code: str
    name: str
    population: int
    behaviour: MemberBehaviour


def _reference_states() -> dict[str, dict[str, Any]]:
    text = resources.files("sim").joinpath("data/eu27.toml").read_text(encoding="utf-8")
    states: dict[str, dict[str, Any]] = tomllib.loads(text)["states"]
    return states


def resolve_members(s: Scenario) -> list[ResolvedMember]:
    """Every member with reference data (``eu27.toml``, or ``candidates.toml`` for an entry with
    ``alignment_from``) and behaviour: the defaults, shifted for the state's measured
    non-alignment (:mod:`sim.scenario.alignment`), then the keys the entry states."""
    reference = _reference_states() if s.membership == "eu27" else {}
    seen: dict[str, str] = {}
    for code in s.member_states:
        if code.upper() in seen:
            first = seen[code.upper()]
            raise KeyedError(
                f"member_states.{code}",
                f"duplicate member code (also {first!r}; codes are 2-3 capital letters)",
            )
        seen[code.upper()] = code
        if not (2 <= len(code) <= 3 and code.isalpha() and code.isupper()):
            raise KeyedError(f"member_states.{code}", "a member code is 2-3 capital letters")
    codes = list(reference) + [c for c in s.member_states if c not in reference]
    if not codes:
        raise KeyedError("member_states", "no member states (membership = 'none' and none given)")
    defaults = s.member_defaults.model_dump(by_alias=True)
    mapping = AlignmentMapping.of(s)
    for key in ("measured_types", "sanctions_types"):
        stated = getattr(s.alignment_mapping, key) if s.alignment_mapping else None
        for type_id in stated or ():
            if type_id not in s.proposal_types:
                raise KeyedError(f"alignment_mapping.{key}", f"unknown proposal type {type_id!r}")
    for type_id in mapping.sanctions_types:
        if type_id not in mapping.measured_types:
            raise KeyedError(
                "alignment_mapping.sanctions_types",
                f"{type_id!r} is not among measured_types (the rate counts it to concentrate on)",
            )
    out = []
    for code in codes:
        spec = s.member_states.get(code, MemberStateSpec())
        try:
            data_name, data_population, alignment = reference_entry(code, spec)
        except AlignmentError as exc:
            raise KeyedError(exc.key, str(exc), False) from None
        ref = reference.get(code, {})
        name = spec.name or data_name or ref.get("name")
        population = spec.population or data_population or ref.get("population")
        if name is None or population is None:
            raise KeyedError(
                f"member_states.{code}",
                "a state outside the reference data needs a name and a population "
                "(or alignment_from = a candidate in sim/data/candidates.toml)",
            )
        overrides = spec.model_dump(by_alias=True, exclude_none=True, exclude=_REFERENCE_KEYS)
        explicit = overrides.pop("positions", {})
        mapped = aligned_behaviour(
            {**defaults, "tolerance": overrides.get("tolerance", defaults["tolerance"])},
            1.0 - alignment,
            mapping,
            s.proposal_types,
            mapping.sanctions_concentration * SANCTIONS_WEIGHT[russia_sanctions(spec)],
        )
        # a stated holdout_probability replaces the mapped hold-outs, demands included
        base = defaults if "holdout_probability" in overrides else mapped
        demands = {**base.get("demands", {}), **overrides.pop("demands", {})}
        positions = {**mapped["positions"], **explicit}
        behaviour = MemberBehaviour.model_validate(
            {**mapped, **overrides, "positions": positions, "demands": demands}
        )
        out.append(ResolvedMember(code=code, name=name, population=population, behaviour=behaviour))
    return out


_REFERENCE_KEYS = {
    "name",
    "population",
    "population_source",
    "alignment_from",
    "alignment",
    "population_estimate",
}
"""Member-entry keys that are reference data, not behaviour."""
