"""Negotiating practice as policy tables, and a proposal type's crisis profile.

``[negotiation]`` holds one nested table per practice: the presence of an optional table is its
switch (``[negotiation.bargaining]``: hold-outs bargain; ``[negotiation.capitals.shock]``:
capitals' delays move together; ``[negotiation.agenda.tour_de_table]``: agenda room shrinks with
the delegations at the table), and each key's default is the practice measured for today's
calibrated baseline (``scenarios/eu27_baseline.toml`` says where each was measured). A key that
can have no effect has no place to be written. The flat keys of earlier versions are refused by
:func:`moved_key`, with where each moved.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from sim.core.distributions import Distribution
from sim.scenario.fields import (
    Flag,
    HoldoutScale,
    Level,
    PositiveDays,
    Probability,
    Scale,
    Share,
    StrictModel,
    count,
)


class ShadowSpec(StrictModel):
    """``[negotiation.bargaining.shadow]``: hold-outs in the shadow of the vote. A would-be
    holder raises its demand only where it can expect to block the decision rule: with the
    states whose positions on the file lie within ``ally_distance`` of its own voting against
    with it, or by pulling the emergency brake where the rule has one (with its
    brake_probability). Under unanimity every holder can block, so nothing changes; under QMV a
    lone holder without a blocking minority does not hold out (consensus built in the shadow of
    the vote: Golub 1999, 2007; Schulz and König 2000; König 2007; Häge 2013; Novak 2013)."""

    ally_distance: Share = Field(
        description="States whose position lies within this distance of the holder's on the "
        "issue dimension (0-1) are counted on to vote against with it."
    )


class TandemSpec(StrictModel):
    """``[negotiation.bargaining.tandem]``: hold-outs in tandem. When a state raises a demand,
    a second one may join it on the same file (as Hungary and Slovakia did on the record's
    OS03): chosen among the others by their hold-out propensity, it concedes a staggered time
    after the first."""

    join_probability: Probability = Field(
        description="The chance that a second state joins a hold-out when it is raised."
    )
    stagger: Distribution = Field(
        description="Days after the first holder's concession that the second one concedes."
    )


class BargainingSpec(StrictModel):
    """``[negotiation.bargaining]``: hold-outs bargain for a demand of their own and end with a
    concession (without the table a hold-out is a plain timer: it objects until it ends, raised
    as soon as the item is on any body's agenda)."""

    level: Level = Field(
        default=Level.COREPER,
        description="The lowest rung where a holder raises its demand (where it can be traded).",
    )
    moment: Literal["agenda", "closing"] = Field(
        default="closing",
        description="When the demand is raised there: as soon as the item is on the body's "
        "agenda, or at closing, the first time the text is otherwise ripe for agreement.",
    )
    concession_margin: Distribution | None = Field(
        default=None,
        description="Days before an item's deadline by which a holder concedes at the latest "
        "(none: hold-outs ignore deadlines).",
    )
    escalate: Flag = Field(
        default=False,
        description="Whether an item held by a hold-out climbs to ministers when a body's "
        "rounds run out (else it is bargained where it is until the concession).",
    )
    concession_meeting: Flag = Field(
        default=True,
        description="Whether the last hold-out's concession convenes the body the item waits "
        "at (below the Council) within its extraordinary_days, as an urgent item does.",
    )
    climb_after_days: PositiveDays | None = Field(
        default=None,
        description="Linkage hold-outs: days an item without a deadline may stay held at one "
        "rung before ministers, then the European Council, take it up (each discusses it, "
        "fails and waits for the concession; none: it is bargained where it is).",
    )
    shadow: ShadowSpec | None = Field(
        default=None,
        description="Holders anticipate the vote (none: they hold out whatever the rule).",
    )
    tandem: TandemSpec | None = Field(
        default=None, description="Hold-outs in tandem (none: each state holds out alone)."
    )
    release: Flag = Field(
        default=False,
        description="Whether the last hold-out's concession frees an item waiting for "
        "ministers at its adopting body at once, as if Coreper had agreed: an A item of the next "
        "Council of any configuration, or written procedure (off: it waits for the ministers' "
        "meeting). Off in the bundled scenarios until their next calibration (issue 27).",
    )


class CapitalsSpec(StrictModel):
    """``[negotiation.capitals]``: how capitals instruct their delegations."""

    reinstruct: Literal["all", "objectors"] = Field(
        default="objectors",
        description="Who re-instructs after a compromise: all capitals, or only the objectors "
        "the change is aimed at.",
    )
    reinstruct_on_escalation: Flag = Field(
        default=False, description="Whether an unchanged text escalated needs new instructions."
    )
    discuss_under_reservation: Flag = Field(
        default=True,
        description="Whether a body discusses a text some capital has not instructed on yet "
        "(a pending instruction blocks agreement, not discussion).",
    )
    shock: Distribution | None = Field(
        default=None,
        description="A factor shared by all capitals' instruction delays on one text "
        "(correlated instructions; none: independent delays).",
    )


Hour = Annotated[float, Field(ge=0.0, le=24.0)]
"""An hour of the day, 0-24."""


class TourDeTableSpec(StrictModel):
    """``[negotiation.agenda.tour_de_table]``: a meeting's time per item grows with the
    delegations at the table, so a meeting holds ``capacity / (1 - s + s * n /
    capacity_delegations)`` items (rounded, at least one), ``s`` the speaking share and ``n``
    the delegations."""

    speaking_share: Annotated[float, Field(gt=0.0, le=1.0, strict=True)] = Field(
        description="The share of a meeting's time per item that grows with the delegations."
    )
    capacity_delegations: Annotated[int, count(1, 1000)] = Field(
        description="The number of delegations the bodies' capacities are stated for."
    )
    delegations: Annotated[int, count(1, 1000)] | None = Field(
        default=None, description="Delegations at the table (default: the member states)."
    )


class AgendaSpec(StrictModel):
    """``[negotiation.agenda]``: where agreed texts are adopted, and agenda room."""

    a_item_body: str | None = Field(
        default=None,
        description="The body (any Council configuration) that adopts agreed texts as A items "
        "(none: the adopting body of each route).",
    )
    tour_de_table: TourDeTableSpec | None = Field(
        default=None,
        description="Agenda room that shrinks with the delegations (none: fixed room).",
    )
    meeting_hours: tuple[Hour, Hour] = Field(
        default=(7.0, 21.0),
        description="The hours (Brussels time, 0-24) between which an extraordinary meeting "
        "may start; one due outside them is held at the next opening hour.",
    )

    @model_validator(mode="after")
    def _hours_ordered(self) -> AgendaSpec:
        opens, closes = self.meeting_hours
        if not opens < closes:
            raise ValueError(f"meeting_hours: opens at {opens} after it closes at {closes}")
        return self


class BrakeSpec(StrictModel):
    """``[negotiation.brake]``: the emergency brake by the treaty path (Art. 31(2) TEU): a
    declaration stops the vote, the High Representative mediates, and if she does not succeed
    the Council refers the matter to the European Council by qualified majority (without the
    table: the declaration refers it at once)."""

    mediation_days: Distribution = Field(
        description="How long the High Representative's mediation takes, in days."
    )
    settles: Probability = Field(
        description="The chance that the mediation succeeds: the declaring state withdraws "
        "its opposition and the next meeting votes (else the Council refers the item)."
    )


class NegotiationSpec(StrictModel):
    """``[negotiation]``: how negotiations are conducted, one table per practice."""

    bargaining: BargainingSpec | None = Field(
        default=None,
        description="Hold-outs bargain and concede (none: hold-outs are plain timers).",
    )
    capitals: CapitalsSpec = Field(
        default_factory=CapitalsSpec, description="How capitals instruct their delegations."
    )
    agenda: AgendaSpec = Field(
        default_factory=AgendaSpec, description="A-item adoption and agenda room."
    )
    brake: BrakeSpec | None = Field(
        default=None,
        description="The emergency brake by the treaty path (none: a declaration refers the "
        "item at once).",
    )


class CrisisSpec(StrictModel):
    """``[proposal_types.<type>.crisis]``: how the type's urgent items are handled. An item is
    urgent from tabling (with probability ``share``) or once its deadline is within
    ``run_up_days``; urgent items are first on agendas, get extraordinary meetings and the
    shorter silence period (``written_procedure.urgent_days``), and use this profile."""

    share: Probability = Field(
        default=0.0,
        description="The share of the type's proposals tabled as urgent (crisis) items.",
    )
    run_up_days: PositiveDays | None = Field(
        default=None,
        description="Days before its deadline from which an open item is treated as urgent "
        "(the presidency's run-up; none: never by deadline pressure).",
    )
    instruction_scale: Scale | None = Field(
        default=None,
        description="Scales capitals' instruction delays on urgent items (none: as the "
        "type's instruction_scale); capitals still to instruct when an item turns urgent are "
        "pressed by the ratio of the two.",
    )
    holdout_scale: HoldoutScale = Field(
        default=1.0,
        description="Scales hold-out propensities on urgent items, on top of the type's.",
    )
    skip: dict[str, Probability] | None = Field(
        default=None,
        description="Skip probabilities of urgent items, body by body, in place of the type's "
        "skip for the bodies given (in a crisis the working parties examine the text the day "
        "Coreper does).",
    )

    @model_validator(mode="after")
    def _used(self) -> CrisisSpec:
        if self.share == 0.0 and self.run_up_days is None:
            raise ValueError("a crisis profile no item ever uses: give share > 0 or run_up_days")
        return self


_NEGOTIATION_MOVED = {
    "holdout_level": "negotiation.bargaining.level",
    "holdout_moment": "negotiation.bargaining.moment",
    "concession_margin": "negotiation.bargaining.concession_margin",
    "escalate_holdouts": "negotiation.bargaining.escalate",
    "concession_meeting": "negotiation.bargaining.concession_meeting",
    "instruction_shock": "negotiation.capitals.shock",
    "reinstruct": "negotiation.capitals.reinstruct",
    "reinstruct_on_escalation": "negotiation.capitals.reinstruct_on_escalation",
    "discuss_under_reservation": "negotiation.capitals.discuss_under_reservation",
    "a_item_body": "negotiation.agenda.a_item_body",
    "speaking_share": "negotiation.agenda.tour_de_table.speaking_share",
    "capacity_delegations": "negotiation.agenda.tour_de_table.capacity_delegations",
    "delegations": "negotiation.agenda.tour_de_table.delegations",
}
_TYPE_MOVED = {
    "urgent": "crisis.share = 1.0",
    "urgent_share": "crisis.share",
    "urgent_instruction_scale": "crisis.instruction_scale",
    "urgent_holdout_scale": "crisis.holdout_scale",
    "urgent_skip": "crisis.skip",
    "deadline_escalation_days": "crisis.run_up_days",
}


def moved_key(raw: Mapping[str, Any]) -> tuple[str, str] | None:
    """The first key of an earlier version's flat practice in the raw scenario ``raw``, and
    where it moved; None when there is none."""
    negotiation = raw.get("negotiation")
    if isinstance(negotiation, Mapping):
        if isinstance(negotiation.get("bargaining"), bool):
            return "negotiation.bargaining", (
                "moved: write a [negotiation.bargaining] table (its presence turns bargaining "
                "on; leave it out for hold-outs as plain timers)"
            )
        for key, to in _NEGOTIATION_MOVED.items():
            if key in negotiation:
                return f"negotiation.{key}", f"moved to {to}"
    types = raw.get("proposal_types")
    if isinstance(types, Mapping):
        for name, spec in types.items():
            for key, to in _TYPE_MOVED.items():
                if isinstance(spec, Mapping) and key in spec:
                    return f"proposal_types.{name}.{key}", f"moved to proposal_types.{name}.{to}"
    return None
