"""Meeting calendars: weekdays, cadence, monthly rules, recesses, presidency terms."""

from __future__ import annotations

import datetime as dt

import numpy as np

from sim.core.calendars import (
    CalendarSpec,
    MonthlyMeeting,
    Recess,
    meeting_days,
    presidency_term,
)
from sim.scenario import Scenario

START = dt.date(2025, 1, 1)


def dates(times: np.ndarray) -> list[dt.date]:
    return [START + dt.timedelta(days=int(t)) for t in times]


def test_weekdays_and_every_n_weeks() -> None:
    weekly = dates(meeting_days(CalendarSpec(weekdays=["tue", "fri"]), [], START, 365))
    assert {d.weekday() for d in weekly} == {1, 4}
    assert len(weekly) == 104
    fortnightly = meeting_days(CalendarSpec(weekdays=["wed"], every_weeks=2), [], START, 365)
    assert np.allclose(np.diff(fortnightly), 14.0)


def test_nth_and_last_weekday_of_month() -> None:
    third_monday = CalendarSpec(monthly=[MonthlyMeeting(weekday="mon", nth=3)])
    ds = dates(meeting_days(third_monday, [], START, 365))
    assert len(ds) == 12
    assert all(d.weekday() == 0 and 15 <= d.day <= 21 for d in ds)
    last_friday = CalendarSpec(monthly=[MonthlyMeeting(weekday="fri", nth=-1)], months=[3, 6])
    assert dates(meeting_days(last_friday, [], START, 365)) == [
        dt.date(2025, 3, 28),
        dt.date(2025, 6, 27),
    ]


def test_recesses_remove_meetings_but_not_explicit_dates() -> None:
    summer = Recess(start="08-01", end="08-31")
    spec = CalendarSpec(weekdays=["mon"], dates=[dt.date(2025, 8, 14)])
    ds = dates(meeting_days(spec, [summer], START, 365))
    assert [d for d in ds if d.month == 8] == [dt.date(2025, 8, 14)]


def test_recess_wrapping_the_new_year() -> None:
    winter = Recess(start="12-20", end="01-06")
    ds = dates(meeting_days(CalendarSpec(weekdays=["mon", "wed"]), [winter], START, 730))
    assert not any(winter.covers(d) for d in ds)
    assert ds[0] == dt.date(2025, 1, 8)


def test_baseline_bodies_do_not_meet_in_august_or_at_new_year(baseline: Scenario) -> None:
    for body_id, body in baseline.bodies.items():
        times = meeting_days(body.calendar, baseline.recesses, baseline.start_date, 365)
        ds = [baseline.start_date + dt.timedelta(days=int(t)) for t in times]
        explicit = set(body.calendar.dates)
        assert not [d for d in ds if d.month == 8 and d not in explicit], body_id
        assert not [d for d in ds if d.month == 1 and d.day <= 2], body_id


def test_meeting_hour_is_part_of_the_time() -> None:
    t = meeting_days(CalendarSpec(weekdays=["wed"], hour=10), [], START, 10)
    assert t[0] == 10 / 24


def test_presidency_terms() -> None:
    assert presidency_term(dt.date(2025, 6, 30)) == "2025-H1"
    assert presidency_term(dt.date(2025, 7, 1)) == "2025-H2"
