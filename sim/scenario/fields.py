"""The value types every scenario table uses: strict numbers with bounds, flags, the ladder's
levels, and the base model that forbids unknown keys.

Numbers are strict: ``true`` is not 1, ``"3"`` is not 3 (a whole number is a valid float).
Every bound keeps a run feasible: no overflow in timestamps, arrival counts or memory.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

MAX_DAYS = 36_525.0
"""The longest duration a scenario may state, in days (100 years)."""
MAX_POPULATION = 2_000_000_000
MAX_RATE_PER_YEAR = 100_000.0
MAX_COUNT = 10_000
MAX_CAPACITY = 1_000_000
MAX_ROUNDS = 10_000
MAX_REPLICATIONS = 1_000_000_000
MAX_SEED = 2**128

Probability = Annotated[float, Field(ge=0.0, le=1.0, strict=True)]
Share = Annotated[float, Field(ge=0.0, le=1.0, strict=True)]
Days = Annotated[float, Field(ge=0.0, le=MAX_DAYS, strict=True)]
PositiveDays = Annotated[float, Field(gt=0.0, le=MAX_DAYS, strict=True)]
WholeDays = Annotated[int, Field(ge=0, le=int(MAX_DAYS), strict=True)]
Flag = Annotated[bool, Field(strict=True)]
Scale = Annotated[float, Field(gt=0.0, le=1000.0, strict=True)]
HoldoutScale = Annotated[float, Field(ge=0.0, le=1000.0, strict=True)]


def count(low: int, high: int) -> Any:
    """A whole number from ``low`` to ``high`` (strict)."""
    return Field(ge=low, le=high, strict=True)


class StrictModel(BaseModel):
    """A scenario table: unknown keys refused, values frozen, no infinities or NaN."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False
    )


class Level(StrEnum):
    """Rungs of the Council ladder, lowest first."""

    WORKING_PARTY = "working_party"
    COMMITTEE = "committee"
    COREPER = "coreper"
    COUNCIL = "council"
    EUROPEAN_COUNCIL = "european_council"

    @property
    def rank(self) -> int:
        """The rung's place on the ladder, lowest first (a working party is 0)."""
        return list(Level).index(self)
