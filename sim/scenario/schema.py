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

    salience: Probability
    tolerance: Share
    instruction_delay: Distribution
    objection_probability: Probability
    scrutiny_probability: Probability
    scrutiny_days: Distribution
    holdout_probability: Probability
    holdout_days: Distribution
    abstain_probability: Probability
    brake_probability: Probability
    written_objection_probability: Probability
    declaration_probability: Probability = 0.0
    abstain_after_concession: Probability = 0.0
    positions: dict[str, Probability] = Field(default_factory=dict)


class MemberStateSpec(_Model):
    """One member state: reference data (name, population) and behaviour overrides."""

    name: str | None = None
    population: Annotated[int, _count(1, MAX_POPULATION)] | None = None
    population_source: str | None = None
    salience: Probability | None = None
    tolerance: Share | None = None
    instruction_delay: Distribution | None = None
    objection_probability: Probability | None = None
    scrutiny_probability: Probability | None = None
    scrutiny_days: Distribution | None = None
    holdout_probability: Probability | None = None
    holdout_days: Distribution | None = None
    abstain_probability: Probability | None = None
    brake_probability: Probability | None = None
    written_objection_probability: Probability | None = None
    declaration_probability: Probability | None = None
    abstain_after_concession: Probability | None = None
    positions: dict[str, Probability] = Field(default_factory=dict)
    alignment_from: str | None = None
    alignment: Share | None = None
    population_estimate: Literal["low", "central", "high"] | None = None


class AlignmentMappingSpec(_Model):
    """Overrides of the coefficients that turn measured CFSP non-alignment into behaviour (their
    values, ranges and reasons: ``[mapping]`` in ``sim/data/candidates.toml``)."""

    text_objection_share: Share | None = None
    unmeasured_type_weight: Share | None = None
    holdout_per_nonalignment: Probability | None = None
    objection_per_nonalignment: Probability | None = None
    measured_types: list[str] | None = None


# --- decision rules ------------------------------------------------------------------------


class Unanimity(_Model):
    """Any vote against blocks; abstention does not (Art. 238(4) TFEU)."""

    kind: Literal["unanimity"]
    description: str | None = None


class ConstructiveAbstention(_Model):
    """Unanimity where formal abstainers block only if at least ``states_limit`` of the states
    comprising at least ``population_limit`` of the population (Art. 31(1) TEU: one third each)."""

    kind: Literal["constructive_abstention"]
    states_limit: Share
    population_limit: Share
    description: str | None = None


class QualifiedMajority(_Model):
    """QMV: ``states_threshold`` of the members comprising ``population_threshold`` of the
    population; a blocking minority needs ``min_blocking_states`` (Art. 16(4) TEU, Art. 238(2)-(3)
    TFEU). ``emergency_brake`` lets an outvoted state refer the item to the European Council
    (Art. 31(2) TEU). Below ``vote_level`` the chair seeks consensus for ``consensus_rounds``;
    with ``vote_as_a_item`` a text still without consensus is then voted as an A item."""

    kind: Literal["qmv"]
    states_threshold: Share
    population_threshold: Share
    min_blocking_states: Annotated[int, _count(0, 1000)]
    emergency_brake: Flag = False
    vote_level: Level | None = None
    consensus_rounds: Annotated[int, _count(0, 1000)] = 0
    vote_as_a_item: Flag = False
    description: str | None = None

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

    name: str
    level: Level
    chair: Chair
    calendar: CalendarSpec
    capacity: Annotated[int, _count(1, MAX_CAPACITY)]
    max_rounds: Annotated[int, _count(1, MAX_ROUNDS)]
    compromise_step: Share
    rule: str | None = None
    extraordinary_days: PositiveDays | None = None
    extraordinary_weekends: Flag = False


# --- proposal types ------------------------------------------------------------------------


class PoissonArrivals(_Model):
    """Poisson arrivals at ``rate_per_year``, optionally shaped by twelve ``month_weights``."""

    kind: Literal["poisson"]
    rate_per_year: Annotated[float, Field(gt=0.0, le=MAX_RATE_PER_YEAR, strict=True)]
    month_weights: list[Annotated[float, Field(ge=0.0, le=1e6, strict=True)]] | None = None

    @model_validator(mode="after")
    def _twelve(self) -> PoissonArrivals:
        w = self.month_weights
        if w is not None and (len(w) != 12 or sum(w) <= 0):
            raise ValueError("month_weights needs 12 non-negative values, not all zero")
        return self


class ScheduledArrivals(_Model):
    """``count`` proposals due every year on each of ``deadlines`` (``"MM-DD"``), each tabled
    ``lead_days`` before its deadline — e.g. six-monthly sanctions renewals."""

    kind: Literal["scheduled"]
    deadlines: list[MonthDay] = Field(min_length=1)
    lead_days: Days
    count: Annotated[int, _count(1, MAX_COUNT)] = 1
    lead_skips_recesses: Flag = True


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

    compromise_factor: Scale = 1.0


class ExperimentSpec(_Model):
    """Defaults for a run of this scenario (the command line may override them)."""

    replications: Annotated[int, _count(1, MAX_REPLICATIONS)] = 20
    seed: Annotated[int, _count(0, MAX_SEED)] | None = None


class Scenario(_Model):
    """A complete, validated scenario."""

    name: FolderName
    description: str
    start_date: Annotated[dt.date, AfterValidator(_in_range)]
    horizon_days: PositiveDays
    warmup_days: WholeDays = 0  # simulated before start_date, not counted (Replication.result)
    membership: Literal["eu27", "none"]
    recesses: list[Recess] = Field(default_factory=list)
    member_defaults: MemberBehaviour
    member_states: dict[str, MemberStateSpec] = Field(default_factory=dict)
    decision_rules: dict[str, DecisionRuleSpec]
    bodies: dict[str, BodySpec] = Field(min_length=1)
    proposal_types: dict[str, ProposalTypeSpec] = Field(min_length=1)
    escalation_body: str | None = None
    written_procedure: WrittenProcedureSpec | None = None
    negotiation: NegotiationSpec = Field(default_factory=NegotiationSpec)
    alignment_mapping: AlignmentMappingSpec | None = None
    chairs: dict[Chair, ChairSpec] = Field(default_factory=dict)
    experiment: ExperimentSpec = Field(default_factory=ExperimentSpec)

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
