"""Meeting calendars: when each Council body meets, in days since the scenario's start.

Pure calendar arithmetic, no SimPy. A body's calendar combines weekly meetings (on given
weekdays, every n weeks), monthly meetings (the n-th weekday of a month, optionally only in some
months) and explicit dates, minus recess periods (no meetings in August; late December to early
January). Explicit dates are kept even inside a recess: they are the exceptions a scenario
writes on purpose (an extraordinary Council, a European Council summit).

Simulation time is a float in days; day 0 is ``start_date`` at 00:00, so a meeting at 10:00 on
the start date is at time ``10/24``. Presidency terms start on 1 January and 1 July (Art. 16(9)
TEU; Council Decision 2009/908/EU).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from enum import StrEnum
from typing import Annotated

import numpy as np
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

SimTime = float
"""Days since the scenario's ``start_date`` at 00:00."""


class Weekday(StrEnum):
    """Days of the week as written in scenario files."""

    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"

    @property
    def number(self) -> int:
        """Monday = 0, as in :meth:`datetime.date.weekday`."""
        return list(Weekday).index(self)


_MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")


def _month_day(value: str) -> str:
    m = _MONTH_DAY.match(value)
    if not m:
        raise ValueError(f"{value!r} is not a month-day like '08-01'")
    month, day = int(m.group(1)), int(m.group(2))
    try:
        dt.date(2024, month, day)  # a leap year admits 02-29
    except ValueError:
        raise ValueError(f"{value!r} is not a valid month-day") from None
    return value


MonthDay = Annotated[str, AfterValidator(_month_day)]
"""A recurring date written ``"MM-DD"``."""


def _md(value: str) -> tuple[int, int]:
    return int(value[:2]), int(value[3:])


class Recess(BaseModel):
    """A yearly period without meetings, ``start`` to ``end`` inclusive (may wrap the year)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    start: MonthDay
    end: MonthDay
    name: str | None = None

    def covers(self, day: dt.date) -> bool:
        """Whether ``day`` falls in this recess.

        >>> Recess(start="12-22", end="01-06").covers(dt.date(2026, 1, 2))
        True
        """
        md = (day.month, day.day)
        lo, hi = _md(self.start), _md(self.end)
        return lo <= md <= hi if lo <= hi else (md >= lo or md <= hi)


class MonthlyMeeting(BaseModel):
    """The ``nth`` (1-5, or -1 for the last) ``weekday`` of a month."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    weekday: Weekday
    nth: int = Field(ge=-1, le=5)

    @model_validator(mode="after")
    def _not_zero(self) -> MonthlyMeeting:
        if self.nth == 0:
            raise ValueError("nth must be 1..5 or -1 (last)")
        return self

    def matches(self, day: dt.date) -> bool:
        """Whether ``day`` is this monthly meeting day."""
        if day.weekday() != self.weekday.number:
            return False
        if self.nth > 0:
            return (day.day - 1) // 7 + 1 == self.nth
        return (day + dt.timedelta(days=7)).month != day.month


class CalendarSpec(BaseModel):
    """When a body meets. At least one of ``weekdays``, ``monthly`` or ``dates`` is needed."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    weekdays: list[Weekday] = Field(default_factory=list)
    every_weeks: int = Field(default=1, ge=1)
    monthly: list[MonthlyMeeting] = Field(default_factory=list)
    months: list[Annotated[int, Field(ge=1, le=12)]] | None = None
    dates: list[dt.date] = Field(default_factory=list)
    recesses: list[Recess] | None = None
    hour: float = Field(default=10.0, ge=0.0, lt=24.0)

    @model_validator(mode="after")
    def _something(self) -> CalendarSpec:
        if not (self.weekdays or self.monthly or self.dates):
            raise ValueError("empty calendar: give weekdays, monthly or dates")
        return self


def meeting_days(
    spec: CalendarSpec,
    default_recesses: list[Recess],
    start: dt.date,
    horizon_days: float,
) -> np.ndarray:
    """Times of all meetings in ``[0, horizon_days)`` as a sorted float array.

    ``every_weeks`` counts weeks from the week of ``start``. Recesses are the calendar's own
    when given, else ``default_recesses``.

    Examples
    --------
    >>> spec = CalendarSpec(weekdays=["wed"], hour=0)
    >>> meeting_days(spec, [], dt.date(2025, 1, 1), 15)
    array([ 0.,  7., 14.])
    """
    recesses = default_recesses if spec.recesses is None else spec.recesses
    key = spec.model_dump_json(), tuple(r.model_dump_json() for r in recesses)
    return _meeting_days(*key, start, float(horizon_days)).copy()


@functools.lru_cache(maxsize=256)
def _meeting_days(
    spec_json: str, recess_json: tuple[str, ...], start: dt.date, horizon_days: float
) -> np.ndarray:
    """:func:`meeting_days` of a calendar and recesses given as JSON, computed once (the
    many scenarios of a calibration or a sweep share their calendars)."""
    spec = CalendarSpec.model_validate_json(spec_json)
    recesses = [Recess.model_validate_json(r) for r in recess_json]
    weekday_idx = {w.number for w in spec.weekdays}
    explicit = set(spec.dates)
    months = set(spec.months) if spec.months is not None else None
    start_monday = start - dt.timedelta(days=start.weekday())
    out: list[float] = []
    for offset in range(int(np.ceil(horizon_days))):
        day = start + dt.timedelta(days=offset)
        regular = False
        if months is None or day.month in months:
            if day.weekday() in weekday_idx:
                week = (day - start_monday).days // 7
                regular = week % spec.every_weeks == 0
            regular = regular or any(m.matches(day) for m in spec.monthly)
        if regular and any(r.covers(day) for r in recesses):
            regular = False
        if regular or day in explicit:
            t = offset + spec.hour / 24.0
            if t < horizon_days:
                out.append(t)
    return np.asarray(out, dtype=float)


def recess_days(
    spec: CalendarSpec, default_recesses: list[Recess], start: dt.date, horizon_days: float
) -> np.ndarray:
    """Whether each day of ``[0, horizon_days)`` from ``start`` falls in one of the body's
    recesses (its calendar's own, else ``default_recesses``).

    >>> summer = Recess(start="08-01", end="08-31")
    >>> recess_days(CalendarSpec(weekdays=["mon"]), [summer], dt.date(2025, 7, 30), 4).tolist()
    [False, False, True, True]
    """
    recesses = default_recesses if spec.recesses is None else spec.recesses
    key = tuple(r.model_dump_json() for r in recesses)
    return _recess_days(key, start, float(horizon_days))


@functools.lru_cache(maxsize=256)
def _recess_days(recess_json: tuple[str, ...], start: dt.date, horizon_days: float) -> np.ndarray:
    """:func:`recess_days` of recesses given as JSON, computed once (read-only)."""
    recesses = [Recess.model_validate_json(r) for r in recess_json]
    days = (start + dt.timedelta(days=d) for d in range(int(np.ceil(horizon_days))))
    mask = np.array([any(r.covers(day) for r in recesses) for day in days], dtype=bool)
    mask.flags.writeable = False
    return mask


def presidency_term(day: dt.date) -> str:
    """The six-month presidency term of ``day``, e.g. ``"2025-H2"``.

    >>> presidency_term(dt.date(2025, 7, 1))
    '2025-H2'
    """
    return f"{day.year}-H{1 if day.month <= 6 else 2}"
