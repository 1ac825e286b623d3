"""Proposal types in a scenario: how proposals arrive, where they go, how they are decided
and handled when urgent, and the written procedure (Council RoP Art. 12)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from sim.core.calendars import MonthDay
from sim.core.distributions import Distribution
from sim.scenario.fields import (
    MAX_COUNT,
    MAX_RATE_PER_YEAR,
    Days,
    Flag,
    HoldoutScale,
    PositiveDays,
    Probability,
    Scale,
)
from sim.scenario.fields import StrictModel as _Model
from sim.scenario.fields import count as _count
from sim.scenario.practice import CrisisSpec


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


class WorkaroundSpec(_Model):
    """``[proposal_types.<type>.workaround]``: a declaration that would end unadopted (blocked,
    withdrawn, or lapsed at its deadline) over the objection of at most ``max_objectors`` states
    is issued all the same, by the High Representative in her own name or by the other states
    ("at 26"), with ``probability``. Counted apart as the outcome ``issued_by_hr``, never as
    adoption: no Council adopted it (the record's ST01-ST03: Borrell issued the statement on
    the ICC's arrest warrant in his own name two days after Hungary blocked it; statements "at
    26" when Hungary declined to join)."""

    probability: Annotated[float, Field(gt=0.0, le=1.0, strict=True)] = Field(
        description="The chance that a declaration which would otherwise end unadopted "
        "(blocked, withdrawn, or lapsed at its deadline) is issued instead by the High "
        "Representative in her own name or by the other states (above 0: leave the table "
        "out to switch the workaround off)."
    )
    max_objectors: Annotated[int, _count(1, MAX_COUNT)] = Field(
        default=1,
        description="Only while at most this many states still object: those that blocked its "
        "last failed round, or, with no round failed, those objecting to its text or holding "
        "it hostage (1: a lone blocker, as on the record).",
    )


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
    workaround: WorkaroundSpec | None = Field(
        default=None,
        description="A declaration one state blocks is issued all the same by the High "
        "Representative (or by the others), counted apart as issued_by_hr (none: it ends "
        "blocked, withdrawn or lapsed).",
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
