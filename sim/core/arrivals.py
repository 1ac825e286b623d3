"""When proposals arrive: a Poisson process with monthly weights, or dates fixed by deadlines.

Pure functions: an explicit generator in, sorted days since the scenario start out.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from sim.core.calendars import Recess


@dataclass(frozen=True, slots=True)
class PoissonSpec:
    """``rate_per_year`` arrivals a year, optionally weighted by calendar month (12 weights)."""

    rate_per_year: float
    month_weights: tuple[float, ...] | None = None


@dataclass(frozen=True, slots=True)
class ScheduledSpec:
    """``count`` proposals tabled ``lead_days`` before each yearly deadline ``MM-DD``."""

    deadlines: tuple[str, ...]
    lead_days: float
    count: int
    recesses: tuple[Recess, ...] = ()  # lead days are counted outside these, and not across one


def poisson_arrivals(
    spec: PoissonSpec, start: dt.date, horizon_days: float, rng: np.random.Generator
) -> np.ndarray:
    """Arrival times (days) of a Poisson process with optional monthly weights, by thinning.

    The rate in a calendar month is ``rate_per_year / 365.25 * w[month] / mean(w)``, so a year
    holds ``rate_per_year`` arrivals on average whatever the weights' scale.
    """
    w = np.ones(12) if spec.month_weights is None else np.asarray(spec.month_weights, float)
    w = w / w.mean()
    lam_max = spec.rate_per_year / 365.25 * w.max()
    n = rng.poisson(lam_max * horizon_days)
    times = np.sort(rng.uniform(0.0, horizon_days, n))
    keep = rng.random(n)
    if spec.month_weights is None:
        return times
    days = np.datetime64(start, "D") + np.floor(times).astype("timedelta64[D]")
    month = days.astype("datetime64[M]").astype(int) % 12
    return times[keep < w[month] / w.max()]


def scheduled_arrivals(
    spec: ScheduledSpec, start: dt.date, horizon_days: float
) -> list[tuple[float, float]]:
    """``(arrival_day, deadline_day)`` of every scheduled proposal tabled within the horizon.

    Each deadline ``MM-DD`` recurs yearly; its proposals are tabled ``lead_days`` before it,
    counting only days outside the spec's recesses (the Council does not prepare a renewal in
    August), and not before a recess that ends before the deadline: a renewal due in September
    is tabled when work resumes, not in July. Those that would have been tabled before day 0
    are not simulated.

    >>> scheduled_arrivals(ScheduledSpec(("03-15",), 30, 1), dt.date(2025, 1, 1), 365)
    [(43.0, 73.0)]
    """
    out: list[tuple[float, float]] = []
    for year in range(start.year, start.year + math.ceil(horizon_days / 365) + 2):
        for md in spec.deadlines:
            month, day = int(md[:2]), int(md[3:])
            if month == 2 and day == 29 and not _leap(year):
                day = 28
            deadline = (dt.date(year, month, day) - start).days
            arrival = _tabling_day(spec, start, deadline)
            if 0 <= arrival < horizon_days:
                out.extend([(float(arrival), float(deadline))] * spec.count)
    return sorted(out)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _tabling_day(spec: ScheduledSpec, start: dt.date, deadline: int) -> float:
    """Day ``lead_days`` working days before ``deadline``, recess days not counted; if the
    count runs into a recess after the first working day, the first day after that recess."""
    if not spec.recesses:
        return float(deadline - spec.lead_days)
    extra, working, day = 0, 0, deadline
    while working < spec.lead_days:
        day -= 1
        if any(r.covers(start + dt.timedelta(days=day)) for r in spec.recesses):
            if working > 0:
                return float(day + 1)
            extra += 1
        else:
            working += 1
    return float(deadline - spec.lead_days - extra)
