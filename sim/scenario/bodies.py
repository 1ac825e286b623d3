"""Council bodies in a scenario: their level, chair, calendar, agenda room and negotiating
style, and how effective each kind of chair is."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field

from sim.core.calendars import CalendarSpec
from sim.scenario.fields import (
    MAX_CAPACITY,
    MAX_ROUNDS,
    Flag,
    Level,
    PositiveDays,
    Scale,
    Share,
)
from sim.scenario.fields import StrictModel as _Model
from sim.scenario.fields import count as _count


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


class ChairSpec(_Model):
    """How effective a kind of chair is: ``compromise_factor`` scales the compromise step of
    every body it chairs (a permanent EEAS chair that knows the file, a presidency with less
    time)."""

    compromise_factor: Scale = Field(
        default=1.0,
        description="Scales the compromise step of every body this kind of chair chairs.",
    )
