"""Decision rules in a scenario: unanimity, constructive abstention (Art. 31(1) TEU) and
qualified majority (Art. 16(4) TEU; Art. 238 TFEU), with how QMV is practised."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from sim.scenario.fields import (
    Flag,
    Level,
    Share,
)
from sim.scenario.fields import StrictModel as _Model
from sim.scenario.fields import count as _count


class Unanimity(_Model):
    """Any vote against blocks; abstention does not (Art. 238(4) TFEU)."""

    kind: Literal["unanimity"] = Field(description='The rule\'s kind: "unanimity".')
    description: str | None = Field(
        default=None, description="A line describing the rule, for reports."
    )


class ConstructiveAbstention(_Model):
    """Unanimity where formal abstainers block only if at least ``states_limit`` of the states
    comprising at least ``population_limit`` of the population (Art. 31(1) TEU: one third each)."""

    kind: Literal["constructive_abstention"] = Field(
        description='The rule\'s kind: "constructive_abstention".'
    )
    states_limit: Share = Field(
        description=(
            "Share of the states formal abstainers must reach (with population_limit) to "
            "block (Art. 31(1) TEU: one third)."
        )
    )
    population_limit: Share = Field(
        description=(
            "Share of the population formal abstainers must reach (with states_limit) to "
            "block (Art. 31(1) TEU: one third)."
        )
    )
    description: str | None = Field(
        default=None, description="A line describing the rule, for reports."
    )


class QualifiedMajority(_Model):
    """QMV: ``states_threshold`` of the members comprising ``population_threshold`` of the
    population; a blocking minority needs ``min_blocking_states`` (Art. 16(4) TEU, Art. 238(2)-(3)
    TFEU). ``emergency_brake`` lets an outvoted state refer the item to the European Council
    (Art. 31(2) TEU). Below ``vote_level`` the chair seeks consensus for ``consensus_rounds``;
    with ``vote_as_a_item`` a text still without consensus is then voted as an A item."""

    kind: Literal["qmv"] = Field(description='The rule\'s kind: "qmv".')
    states_threshold: Share = Field(
        description=(
            "Share of the members needed in favour (Art. 16(4) TEU: 0.55; reinforced QMV 0.72)."
        )
    )
    population_threshold: Share = Field(
        description=(
            "Share of the population the members in favour must comprise (Art. 16(4) TEU: 0.65)."
        )
    )
    min_blocking_states: Annotated[int, _count(0, 1000)] = Field(
        description="Fewest states a blocking minority needs (Art. 16(4) TEU: 4)."
    )
    emergency_brake: Flag = Field(
        default=False,
        description=(
            "Whether an outvoted state may refer the item to the European Council for "
            "unanimity (Art. 31(2) TEU)."
        ),
    )
    vote_level: Level | None = Field(
        default=None,
        description=(
            "Votes are taken only from this level up; below it the chair seeks consensus "
            "(none: vote at every level)."
        ),
    )
    consensus_rounds: Annotated[int, _count(0, 1000)] = Field(
        default=0,
        description="Failed consensus rounds below vote_level before the item is sent up"
        " to be voted.",
    )
    vote_as_a_item: Flag = Field(
        default=False,
        description=(
            "A text still without consensus one rung below the vote is voted as an A item of "
            "the next Council of any configuration, not debated by its ministers (needs "
            "vote_level)."
        ),
    )
    description: str | None = Field(
        default=None, description="A line describing the rule, for reports."
    )

    @model_validator(mode="after")
    def _a_item_vote_needs_a_level(self) -> QualifiedMajority:
        if self.vote_as_a_item and self.vote_level is None:
            raise ValueError("vote_as_a_item needs a vote_level: below it consensus is sought")
        return self


DecisionRuleSpec = Annotated[
    Unanimity | ConstructiveAbstention | QualifiedMajority, Field(discriminator="kind")
]
