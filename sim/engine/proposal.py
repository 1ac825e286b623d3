"""Proposals: when they arrive, and the state one carries through the Council ladder.

Arrival generation is pure (explicit generator in, sorted times out). :class:`Proposal` is the
mutable record the SimPy shell (:mod:`sim.engine.replication`) updates as the item moves; it
is a slotted class because the model creates hundreds per replication-year.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

from sim.core.members import ProposalStances
from sim.scenario import PoissonArrivals, ScheduledArrivals


def poisson_arrivals(
    spec: PoissonArrivals, start: dt.date, horizon_days: float, rng: np.random.Generator
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
    spec: ScheduledArrivals, start: dt.date, horizon_days: float
) -> list[tuple[float, float]]:
    """``(arrival_day, deadline_day)`` of every scheduled proposal tabled within the horizon.

    Each deadline ``MM-DD`` recurs yearly; its proposals are tabled ``lead_days`` before it.
    Those that would have been tabled before day 0 are not simulated.

    >>> from sim.scenario import ScheduledArrivals
    >>> s = ScheduledArrivals(kind="scheduled", deadlines=["03-15"], lead_days=30)
    >>> scheduled_arrivals(s, dt.date(2025, 1, 1), 365)
    [(43.0, 73.0)]
    """
    out: list[tuple[float, float]] = []
    for year in range(start.year, start.year + math.ceil(horizon_days / 365) + 2):
        for md in spec.deadlines:
            month, day = int(md[:2]), int(md[3:])
            if month == 2 and day == 29 and not _leap(year):
                day = 28
            deadline = (dt.date(year, month, day) - start).days
            arrival = deadline - spec.lead_days
            if 0 <= arrival < horizon_days:
                out.extend([(float(arrival), float(deadline))] * spec.count)
    return sorted(out)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


class Proposal:
    """One proposal in flight. Times are days since the scenario start."""

    __slots__ = (
        "abstainers",
        "ambition",
        "arrival",
        "blockers",
        "body",
        "braked",
        "deadline",
        "decided_at",
        "decided_day",
        "entered",
        "escalations",
        "failed",
        "held_logged",
        "id",
        "in_written",
        "instr_logged",
        "negotiating",
        "open",
        "outcome",
        "pos",
        "ready",
        "ready_max",
        "rounds",
        "stances",
        "t_mark",
        "tabled",
        "text",
        "text_time",
        "type",
        "urgent",
        "visit_rounds",
        "visited_top",
        "wait_instructions",
        "wait_meeting",
    )

    def __init__(
        self,
        pid: int,
        type_idx: int,
        arrival: float,
        deadline: float | None,
        urgent: bool,
        ambition: float,
        stances: ProposalStances,
        n_members: int,
    ) -> None:
        self.id = pid
        self.type = type_idx
        self.arrival = arrival
        self.deadline = deadline
        self.urgent = urgent
        self.ambition = ambition
        self.text = ambition
        self.text_time = arrival
        self.stances = stances
        self.ready = np.full(n_members, arrival)
        self.ready_max = arrival
        self.instr_logged = True
        self.held_logged = False
        self.abstainers = np.zeros(n_members, bool)
        self.blockers = np.zeros(n_members, bool)
        self.outcome: str | None = None
        self.decided_day = math.nan
        self.decided_at = ""
        self.rounds = 0
        self.escalations = 0
        self.braked = False
        self.visited_top = False
        self.in_written = False
        self.pos = 0
        self.body = -1
        self.open = True
        self.entered = arrival
        self.t_mark = arrival
        self.failed = 0
        self.visit_rounds = 0
        self.tabled = False
        self.wait_meeting = 0.0
        self.wait_instructions = 0.0
        self.negotiating = 0.0
