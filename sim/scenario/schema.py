"""The scenario schema: pydantic models that forbid unknown keys and check every value.

Cross-references between tables (routes, rules, member codes) are checked by
:mod:`sim.scenario.references`; reading files, ``extends`` and ``--set`` by
:mod:`sim.scenario.loading`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import tomli_w
from pydantic import (
    AfterValidator,
    Field,
    model_validator,
)

from sim.core.calendars import CalendarSpec, MonthDay, Recess
from sim.core.distributions import Distribution
from sim.core.errors import UserError

if TYPE_CHECKING:
    from sim.scenario.references import ResolvedMember

from sim.scenario.fields import (
    MAX_CAPACITY,
    MAX_COUNT,
    MAX_POPULATION,
    MAX_RATE_PER_YEAR,
    MAX_REPLICATIONS,
    MAX_ROUNDS,
    MAX_SEED,
    Days,
    Flag,
    HoldoutScale,
    Level,
    PositiveDays,
    Probability,
    Scale,
    Share,
    WholeDays,
)
from sim.scenario.fields import StrictModel as _Model
from sim.scenario.fields import count as _count
from sim.scenario.practice import CrisisSpec, NegotiationSpec, moved_key


def _folder_name(value: str) -> str:
    """A scenario name names its default results folder: it must be a safe folder name."""
    if not value.strip():
        raise ValueError("must not be empty (it names the results folder)")
    if not value.isprintable():
        raise ValueError("must not contain control or other non-printing characters")
    if "/" in value or "\\" in value:
        raise ValueError("must not contain '/' or '\\' (it names the results folder)")
    if value.startswith(".") or value != value.strip():
        raise ValueError("must not start with '.' nor start or end with spaces")
    if len(value) > 100:
        raise ValueError("must be at most 100 characters")
    return value


FolderName = Annotated[str, AfterValidator(_folder_name)]


def _in_range(value: dt.date) -> dt.date:
    if not dt.date(1900, 1, 1) <= value <= dt.date(2200, 12, 31):
        raise ValueError(f"dates must fall between 1900-01-01 and 2200-12-31, not {value}")
    return value


class ScenarioError(UserError):
    """A scenario that cannot be used: names the file, the key path and the problem."""

    def __init__(self, file: str | Path, key: str, problem: str) -> None:
        self.file, self.key, self.problem = str(file), key, problem
        where = f"{self.file}: {key}" if key else self.file
        super().__init__(f"{where}: {problem}")

    def __reduce__(self) -> tuple[Any, ...]:  # picklable, e.g. out of a worker process
        return (type(self), (self.file, self.key, self.problem))


# --- member states -------------------------------------------------------------------------


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


# --- decision rules ------------------------------------------------------------------------


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


# --- bodies --------------------------------------------------------------------------------


class Chair(StrEnum):
    """Who chairs a body (and tables compromises)."""

    PRESIDENCY = "presidency"
    EEAS = "eeas"
    HR_VP = "hr_vp"
    EUCO_PRESIDENT = "euco_president"


class BodySpec(_Model):
    """A Council body: its calendar, agenda room and how it negotiates.

    ``capacity`` is the number of discussion (B) items a meeting takes; ``max_rounds`` the
    failed rounds before the item escalates; ``compromise_step`` the largest move of the text
    on the issue dimension the chair tables in one round. ``extraordinary_days``: an urgent
    item gets a meeting at short notice within that many days (on a working day unless
    ``extraordinary_weekends``)."""

    name: str = Field(description="The body's full name.")
    level: Level = Field(description="Its rung of the Council ladder.")
    chair: Chair = Field(description="Who chairs it and tables compromises.")
    calendar: CalendarSpec = Field(description="When it meets.")
    capacity: Annotated[int, _count(1, MAX_CAPACITY)] = Field(
        description=(
            "Discussion (B) items a meeting takes (for capacity_delegations delegations, if set)."
        )
    )
    max_rounds: Annotated[int, _count(1, MAX_ROUNDS)] = Field(
        description="Failed rounds before the item escalates."
    )
    compromise_step: Share = Field(
        description=(
            "The largest move of the text on the issue dimension the chair tables in one round."
        )
    )
    rule: str | None = Field(
        default=None,
        description="A decision rule id overriding the proposal type's rule at this body.",
    )
    extraordinary_days: PositiveDays | None = Field(
        default=None,
        description=(
            "An urgent item gets a meeting at short notice within this many days (none: no "
            "extraordinary meetings)."
        ),
    )
    extraordinary_weekends: Flag = Field(
        default=False,
        description=(
            "Whether such a meeting may fall on a Saturday or Sunday (else it moves to the "
            "next working day unless the item would lapse first)."
        ),
    )


# --- proposal types ------------------------------------------------------------------------


class PoissonArrivals(_Model):
    """Poisson arrivals at ``rate_per_year``, optionally shaped by twelve ``month_weights``."""

    kind: Literal["poisson"] = Field(description='The arrival process: "poisson".')
    rate_per_year: Annotated[float, Field(gt=0.0, le=MAX_RATE_PER_YEAR, strict=True)] = Field(
        description="Expected proposals per year."
    )
    month_weights: list[Annotated[float, Field(ge=0.0, le=1e6, strict=True)]] | None = Field(
        default=None,
        description="Twelve relative weights shaping the rate over the months (none: uniform).",
    )

    @model_validator(mode="after")
    def _twelve(self) -> PoissonArrivals:
        w = self.month_weights
        if w is not None and (len(w) != 12 or sum(w) <= 0):
            raise ValueError("month_weights needs 12 non-negative values, not all zero")
        return self


class ScheduledArrivals(_Model):
    """``count`` proposals due every year on each of ``deadlines`` (``"MM-DD"``), each tabled
    ``lead_days`` before its deadline — e.g. six-monthly sanctions renewals."""

    kind: Literal["scheduled"] = Field(description='The arrival process: "scheduled".')
    deadlines: list[MonthDay] = Field(
        min_length=1,
        description='Yearly deadlines, "MM-DD" (e.g. the expiry dates of six-monthly renewals).',
    )
    lead_days: Days = Field(description="Days before its deadline a proposal is tabled.")
    count: Annotated[int, _count(1, MAX_COUNT)] = Field(
        default=1, description="Proposals due on each deadline."
    )
    lead_skips_recesses: Flag = Field(
        default=True,
        description=(
            "Whether recess days are left out when counting lead_days back (and a proposal is"
            " never tabled before a recess that ends ahead of its deadline)."
        ),
    )


ArrivalSpec = Annotated[PoissonArrivals | ScheduledArrivals, Field(discriminator="kind")]


class ProposalTypeSpec(_Model):
    """A kind of CFSP proposal: how it arrives, where it goes, how it is decided, and how its
    urgent items are handled (its ``crisis`` profile)."""

    description: str = Field(description="What the proposal type is, in words.")
    arrivals: ArrivalSpec = Field(description="How proposals arrive (Poisson or scheduled).")
    route: list[str] = Field(
        min_length=1, description="The bodies it climbs, lowest first; the last adopts it."
    )
    rule: str = Field(description="The decision rule (a key of decision_rules).")
    position: Probability = Field(
        description="Member states' default position on the issue dimension (0-1)."
    )
    contestation: Annotated[float, Field(ge=0.0, le=10.0, strict=True)] = Field(
        description="Spread of the states' positions around it (0: all agree)."
    )
    ambition: Annotated[float, Field(gt=0.0, le=1.0, strict=True)] = Field(
        default=1.0, description="Where the first text stands on the issue dimension."
    )
    written_procedure: Flag = Field(
        default=False, description="Adopted by written procedure instead of at the adopting body."
    )
    instruction_scale: Scale = Field(
        default=1.0, description="Scales capitals' instruction delays."
    )
    deadline_days: PositiveDays | None = Field(
        default=None,
        description="Days from tabling after which an open item lapses (Poisson types).",
    )
    withdraw_probability: Probability = Field(
        default=0.0, description="Chance an item that runs out of rounds at the top is withdrawn."
    )
    skip: dict[str, Probability] = Field(
        default_factory=dict,
        description="Bodies of the route (before the adopting one) skipped, with a probability.",
    )
    crisis: CrisisSpec | None = Field(
        default=None, description="How its urgent items are handled (none: no item is ever urgent)."
    )
    scrutiny: Flag = Field(
        default=True, description="Whether national parliaments may hold a scrutiny reservation."
    )
    holdout_scale: HoldoutScale = Field(
        default=1.0, description="Scales the states' hold-out propensities on this type."
    )
    holdout_duration_scale: Scale = Field(
        default=1.0, description="Scales their hold-out durations."
    )
    ministers_discuss: Probability = Field(
        default=0.0, description="Share of agreed texts ministers discuss (B items), not A items."
    )
    silence_first: Flag = Field(
        default=False,
        description="First circulated under the silence procedure (COREU; Council RoP "
        "Art. 12(2)), adopted unless a state breaks silence, which sends it up its route.",
    )


class WrittenProcedureSpec(_Model):
    """Written / silence procedure (Council Rules of Procedure, Art. 12(2))."""

    days: Distribution = Field(description="The silence period, in days.")
    urgent_days: Distribution | None = Field(
        default=None, description="The period for an urgent item (none: as any other)."
    )
    deadline_share: Annotated[float, Field(gt=0.0, le=1.0, strict=True)] | None = Field(
        default=None,
        description="With a legal deadline ahead, the period ends by this share of the time "
        "left at the latest (none: no limit).",
    )


class ChairSpec(_Model):
    """How effective a kind of chair is: ``compromise_factor`` scales the compromise step of
    every body it chairs (a permanent EEAS chair that knows the file, a presidency with less
    time)."""

    compromise_factor: Scale = Field(
        default=1.0,
        description="Scales the compromise step of every body this kind of chair chairs.",
    )


class ExperimentSpec(_Model):
    """Defaults for a run of this scenario (the command line may override them)."""

    replications: Annotated[int, _count(1, MAX_REPLICATIONS)] = Field(
        default=20,
        description=(
            "Default number of replications for cfsp-sim run (the command line may override it)."
        ),
    )
    seed: Annotated[int, _count(0, MAX_SEED)] | None = Field(
        default=None, description="Default seed (none: a seed is drawn, printed and recorded)."
    )


class Scenario(_Model):
    """A complete, validated scenario."""

    name: FolderName = Field(
        description=(
            "The scenario's name; it names the default results folder, so it must be a safe "
            "folder name."
        )
    )
    description: str = Field(description="One line shown by cfsp-sim scenarios and in reports.")
    start_date: Annotated[dt.date, AfterValidator(_in_range)] = Field(
        description="Day 0 of the run (00:00), between 1900 and 2200."
    )
    horizon_days: PositiveDays = Field(description="Length of the run in days.")
    warmup_days: WholeDays = Field(
        default=0,
        description=(
            "Days simulated before start_date and not counted, so the horizon describes a "
            "running Council rather than one with empty agendas."
        ),
    )  # simulated before start_date, not counted (Replication.result)
    membership: Literal["eu27", "none"] = Field(
        description=(
            '"eu27" loads the 27 states and their Council populations from '
            'sim/data/eu27.toml; "none" means every state is listed in member_states.'
        )
    )
    recesses: list[Recess] = Field(
        default_factory=list,
        description="Yearly periods without meetings (bodies' calendars may override them).",
    )
    member_defaults: MemberBehaviour = Field(
        description="The behaviour of every member state, unless overridden in member_states."
    )
    member_states: dict[str, MemberStateSpec] = Field(
        default_factory=dict, description="Per-state overrides and new states, keyed by state code."
    )
    decision_rules: dict[str, DecisionRuleSpec] = Field(
        description="Decision rules keyed by id; proposal types and bodies name them."
    )
    bodies: dict[str, BodySpec] = Field(
        min_length=1, description="The Council bodies keyed by id; routes name them."
    )
    proposal_types: dict[str, ProposalTypeSpec] = Field(
        min_length=1, description="The kinds of proposal keyed by id."
    )
    escalation_body: str | None = Field(
        default=None,
        description=(
            "The body an item escalates to from the top of its route (e.g. the European Council)."
        ),
    )
    written_procedure: WrittenProcedureSpec | None = Field(
        default=None, description="The written/silence procedure (none: not available)."
    )
    negotiation: NegotiationSpec = Field(
        default_factory=NegotiationSpec,
        description="How negotiations are conducted (the practice).",
    )
    alignment_mapping: AlignmentMappingSpec | None = Field(
        default=None,
        description=(
            "Overrides of the coefficients turning measured CFSP non-alignment into behaviour."
        ),
    )
    chairs: dict[Chair, ChairSpec] = Field(
        default_factory=dict,
        description="How effective each kind of chair is, keyed by chair kind.",
    )
    experiment: ExperimentSpec = Field(
        default_factory=ExperimentSpec, description="Defaults for a run of this scenario."
    )

    @model_validator(mode="before")
    @classmethod
    def _no_moved_keys(cls, data: Any) -> Any:
        from sim.scenario.references import KeyedError

        moved = moved_key(data) if isinstance(data, dict) else None
        if moved is not None:
            raise KeyedError(*moved, cross=False)
        return data

    @model_validator(mode="after")
    def _cross_references(self) -> Scenario:
        from sim.scenario.references import check_cross_references

        check_cross_references(self)
        return self

    def resolved_members(self) -> list[ResolvedMember]:
        """Every member state with reference data and behaviour filled in, in a stable order
        (reference order, then additions in file order)."""
        from sim.scenario.references import resolve_members

        return resolve_members(self)

    def meeting_capacity(self, body: BodySpec, members: int) -> int:
        """Discussion items a meeting of ``body`` takes with ``members`` member states: its
        ``capacity`` scaled for the delegations at the table (see
        :class:`~sim.scenario.practice.TourDeTableSpec`)."""
        table = self.negotiation.agenda.tour_de_table
        if table is None:
            return body.capacity
        n, share = table.delegations or members, table.speaking_share
        factor = 1.0 - share + share * n / table.capacity_delegations
        return max(1, math.floor(body.capacity / factor + 0.5))

    def expected_proposals(self) -> float:
        """Proposals one replication is expected to table (a size estimate for guards)."""
        years = (self.warmup_days + self.horizon_days) / 365.25
        total = 0.0
        for pt in self.proposal_types.values():
            a = pt.arrivals
            if isinstance(a, PoissonArrivals):
                total += a.rate_per_year * years
            else:
                total += a.count * len(a.deadlines) * (years + 1)
        return total

    def to_toml(self) -> str:
        """The fully resolved scenario as TOML; loading it gives an equal scenario."""
        data = self.model_dump(mode="python", by_alias=True, exclude_none=True)
        return tomli_w.dumps(data)

    def sha256(self) -> str:
        """Content hash of the resolved scenario."""
        return hashlib.sha256(self.to_toml().encode()).hexdigest()
