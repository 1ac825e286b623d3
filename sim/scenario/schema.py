"""The scenario schema: pydantic models that forbid unknown keys and check every value.

The tables live in modules named after what they describe (:mod:`~sim.scenario.members`,
:mod:`~sim.scenario.rules`, :mod:`~sim.scenario.bodies`, :mod:`~sim.scenario.proposals`,
:mod:`~sim.scenario.practice`); this module assembles them into a :class:`Scenario`.
Cross-references between tables (routes, rules, member codes) are checked by
:mod:`sim.scenario.references`; reading files, ``extends`` and ``--set`` by
:mod:`sim.scenario.loading`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import tomli_w
from pydantic import (
    AfterValidator,
    Field,
    model_validator,
)

from sim.core.calendars import Recess
from sim.core.errors import UserError
from sim.scenario.bodies import BodySpec, Chair, ChairSpec
from sim.scenario.fields import (
    MAX_REPLICATIONS,
    MAX_SEED,
    PositiveDays,
    WholeDays,
)
from sim.scenario.fields import StrictModel as _Model
from sim.scenario.fields import count as _count
from sim.scenario.members import AlignmentMappingSpec, MemberBehaviour, MemberStateSpec
from sim.scenario.practice import NegotiationSpec, moved_key
from sim.scenario.proposals import PoissonArrivals, ProposalTypeSpec, WrittenProcedureSpec
from sim.scenario.report import ReportTable
from sim.scenario.rules import DecisionRuleSpec

if TYPE_CHECKING:
    from sim.scenario.references import ResolvedMember


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
    report: ReportTable = Field(
        default=None,
        description="The scenario's question: what its reports and comparisons lead with.",
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
