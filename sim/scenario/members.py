"""Member states in a scenario: how each behaves in negotiations, and the mapping from a
candidate's measured CFSP alignment to behaviour."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from sim.core.distributions import Distribution
from sim.scenario.fields import (
    MAX_POPULATION,
    Probability,
    Share,
)
from sim.scenario.fields import StrictModel as _Model
from sim.scenario.fields import count as _count


class DemandSpec(_Model):
    """A state's hold-out on one kind of file: the demand it links to it (an exemption on a
    sanctions package, a reimbursement on an EPF measure, a delisting on a listings renewal),
    with its own propensity and, optionally, duration."""

    probability: Probability = Field(
        description="The chance the state holds a proposal of this type hostage (times the "
        "type's holdout_scale, as every propensity), in place of its holdout_probability."
    )
    days: Distribution | None = Field(
        default=None,
        description="How long it holds out on this type, in place of its holdout_days.",
    )


class MemberBehaviour(_Model):
    """How a member state behaves in negotiations (all fields required in ``member_defaults``).

    Positions are on each proposal type's issue dimension in [0, 1]: the original text stands at
    the type's ``ambition``; a state objects to a text ``x`` when ``x - position > tolerance``.
    """

    salience: Probability = Field(
        description=(
            "How much the issue matters to the state (0-1): weights its pull on a compromise "
            "and makes it less ready to abstain."
        )
    )
    tolerance: Share = Field(
        description=(
            "How far a text may lie beyond the state's position on the issue dimension before"
            " it objects (a state objects to a text x when x - position > tolerance)."
        )
    )
    instruction_delay: Distribution = Field(
        description=(
            "Days the permanent representation waits for instructions from its capital after "
            "a new text (a distribution); until then it holds a study reservation."
        )
    )
    objection_probability: Probability = Field(
        description="Probability per round of an idiosyncratic objection, whatever the text says."
    )
    scrutiny_probability: Probability = Field(
        description=(
            "Probability that a national parliament imposes a scrutiny reservation on an item."
        )
    )
    scrutiny_days: Distribution = Field(
        description="Length of a scrutiny reservation in days (a distribution)."
    )
    holdout_probability: Probability = Field(
        description=(
            "Probability per proposal that the state holds the item hostage for a demand of "
            "its own (objecting whatever the text says until it concedes)."
        )
    )
    holdout_days: Distribution = Field(
        description=(
            "How long a hold-out lasts before the state concedes, in days (a distribution; "
            "times the type's holdout_duration_scale)."
        )
    )
    abstain_probability: Probability = Field(
        description=(
            "Probability that an objector abstains instead of voting against (under "
            "constructive abstention: declares a formal abstention)."
        )
    )
    brake_probability: Probability = Field(
        description=(
            "Probability that an outvoted state pulls the emergency brake under QMV (Art. "
            "31(2) TEU), sending the item to the European Council."
        )
    )
    written_objection_probability: Probability = Field(
        description=(
            "Probability that the state objects to a text under the written or silence "
            "procedure (breaking silence)."
        )
    )
    declaration_probability: Probability = Field(
        default=0.0,
        description=(
            "Probability that an abstention comes with a formal declaration (Art. 31(1) TEU: "
            "the state need not apply the decision)."
        ),
    )
    abstain_after_concession: Probability = Field(
        default=0.0,
        description="Probability that a hold-out abstains rather than agrees once it has conceded.",
    )
    positions: dict[str, Probability] = Field(
        default_factory=dict,
        description=(
            "The state's position on each proposal type's issue dimension, keyed by proposal "
            "type id (default: the type's position, spread by its contestation)."
        ),
    )
    demands: dict[str, DemandSpec] = Field(
        default_factory=dict,
        description="Hold-outs per kind of file, keyed by proposal type id: each type listed "
        "takes its own propensity (and duration) in place of holdout_probability (and "
        "holdout_days).",
    )


class MemberStateSpec(_Model):
    """One member state: reference data (name, population) and behaviour overrides."""

    name: str | None = Field(
        default=None,
        description="The state's name (needed for a state not in the membership's reference data).",
    )
    population: Annotated[int, _count(1, MAX_POPULATION)] | None = Field(
        default=None,
        description=(
            "Population, for the QMV population criterion (needed for a new state unless "
            "alignment_from gives it)."
        ),
    )
    population_source: str | None = Field(
        default=None, description="Where the population figure comes from."
    )
    salience: Probability | None = Field(
        default=None, description="Overrides member_defaults.salience for this state."
    )
    tolerance: Share | None = Field(
        default=None, description="Overrides member_defaults.tolerance for this state."
    )
    instruction_delay: Distribution | None = Field(
        default=None, description="Overrides member_defaults.instruction_delay for this state."
    )
    objection_probability: Probability | None = Field(
        default=None, description="Overrides member_defaults.objection_probability for this state."
    )
    scrutiny_probability: Probability | None = Field(
        default=None, description="Overrides member_defaults.scrutiny_probability for this state."
    )
    scrutiny_days: Distribution | None = Field(
        default=None, description="Overrides member_defaults.scrutiny_days for this state."
    )
    holdout_probability: Probability | None = Field(
        default=None, description="Overrides member_defaults.holdout_probability for this state."
    )
    holdout_days: Distribution | None = Field(
        default=None, description="Overrides member_defaults.holdout_days for this state."
    )
    abstain_probability: Probability | None = Field(
        default=None, description="Overrides member_defaults.abstain_probability for this state."
    )
    brake_probability: Probability | None = Field(
        default=None, description="Overrides member_defaults.brake_probability for this state."
    )
    written_objection_probability: Probability | None = Field(
        default=None,
        description="Overrides member_defaults.written_objection_probability for this state.",
    )
    declaration_probability: Probability | None = Field(
        default=None,
        description="Overrides member_defaults.declaration_probability for this state.",
    )
    abstain_after_concession: Probability | None = Field(
        default=None,
        description="Overrides member_defaults.abstain_after_concession for this state.",
    )
    positions: dict[str, Probability] = Field(
        default_factory=dict, description="Overrides of the state's positions per proposal type id."
    )
    demands: dict[str, DemandSpec] = Field(
        default_factory=dict,
        description="The state's hold-outs per kind of file, over member_defaults.demands.",
    )
    alignment_from: str | None = Field(
        default=None,
        description=(
            'A candidate code in sim/data/candidates.toml (e.g. "RS"): name, population and '
            "measured CFSP alignment from there, turned into behaviour by its [mapping]; keys"
            " written in the entry win over the mapping."
        ),
    )
    alignment: Share | None = Field(
        default=None,
        description=(
            "The state's CFSP alignment share stated directly (any state, EU27 or not); 1 "
            "behaves as the defaults."
        ),
    )
    population_estimate: Literal["low", "central", "high"] | None = Field(
        default=None,
        description=(
            "Which end of the candidate's population range to use where the data gives one "
            "(needs alignment_from; default: the central estimate)."
        ),
    )


class AlignmentMappingSpec(_Model):
    """Overrides of the coefficients that turn measured CFSP non-alignment into behaviour (their
    values, ranges and reasons: ``[mapping]`` in ``sim/data/candidates.toml``)."""

    text_objection_share: Share | None = Field(
        default=None,
        description=(
            "Share of non-alignment d that becomes objections to the tabled text of measured "
            "types (a state objects to d times this share of them)."
        ),
    )
    unmeasured_type_weight: Share | None = Field(
        default=None,
        description="Weight of that share for proposal types the alignment measure does not cover.",
    )
    holdout_per_nonalignment: Probability | None = Field(
        default=None,
        description="Extra hold-out propensity per unit of non-alignment, on top of the default.",
    )
    objection_per_nonalignment: Probability | None = Field(
        default=None,
        description="Extra idiosyncratic objection probability per round per unit of"
        " non-alignment.",
    )
    measured_types: list[str] | None = Field(
        default=None,
        description=(
            "Proposal type ids the alignment measure covers (declarations and restrictive "
            "measures)."
        ),
    )
    sanctions_concentration: Share | None = Field(
        default=None,
        description="Share c of the aligned remainder (1 - d) a non-applier of the Russia "
        "sanctions rejects on the sanctions types on top of d (0: the even spread; half for "
        "a partial applier), taken back from its other measured types.",
    )
    sanctions_types: list[str] | None = Field(
        default=None,
        description="Proposal type ids of the Russia sanctions (among measured_types), on which "
        "a non-applier's non-alignment concentrates.",
    )
