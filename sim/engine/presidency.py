"""The presidency's calendar management: extraordinary meetings and items under time pressure.

An urgent item (a crisis package, or any item whose deadline is near) is first on agendas, and
a body that holds extraordinary meetings (``extraordinary_days`` in the scenario: PSC or
Coreper at short notice, a special European Council) meets for it within that many days when
its next regular meeting is later: on a working day, unless the body also meets at weekends
(``extraordinary_weekends``: the Foreign Affairs Council met by videoconference on Sunday
27 February 2022) or the item would lapse by the Monday. With ``[negotiation.bargaining]
concession_meeting`` the last hold-out's concession convenes the body too, below the Council:
the presidency seizes the moment (observed_cfsp.csv: Coreper agreed 0-1 days after a failed
attempt, RU05, RU10, RU12).

An extraordinary meeting takes the items it was convened for and pressing ones (urgent, or bound
by a deadline), not the rest of the body's agenda. Extraordinary meetings keep meeting hours
(``[negotiation.agenda] meeting_hours``, 07:00-21:00 by default): one due at night is held at
the next opening hour, unless the item's deadline falls before it. During a recess the
presidency convenes none for an item that is neither urgent nor bound by a deadline.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import simpy

from sim.engine.proposal import Proposal

if TYPE_CHECKING:
    from sim.engine.compile import CompiledBody, CompiledScenario


class Presidency:
    """Convenes extraordinary meetings for urgent items."""

    def __init__(
        self,
        compiled: CompiledScenario,
        env: simpy.Environment,
        hold_meeting: Callable[[CompiledBody, float, set[int] | None], None],
    ) -> None:
        """``hold_meeting(body, day, convened_for)`` holds a meeting of ``body``: an
        extraordinary one for the proposals ``convened_for`` (and pressing items)."""
        self.bodies = compiled.bodies
        self._opens, self._closes = compiled.practice.meeting_hours
        self._warmup = compiled.warmup
        self._weekday0 = compiled.start_date.weekday()  # day 0's weekday (Monday = 0)
        self.env = env
        self._hold_meeting = hold_meeting
        self._extra: dict[int, float] = {}  # body: day of its pending extraordinary meeting
        self._for: dict[int, set[int]] = {}  # body: the proposals that meeting is convened for

    def convene_for(self, p: Proposal) -> None:
        """An extraordinary meeting of the body an urgent item ``p`` is at, if it holds them."""
        if p.urgent and p.visit is not None:
            body = self.bodies[p.visit.body]
            if body.extraordinary_days is not None:
                self._convene(body, self.env.now, p, pressing=True)

    def convene_at(self, p: Proposal) -> None:
        """An extraordinary meeting of the body ``p`` is at, if it holds them, whether or not
        ``p`` is urgent (e.g. to seize a concession)."""
        assert p.visit is not None
        body = self.bodies[p.visit.body]
        if body.extraordinary_days is not None:
            pressing = p.urgent or p.deadline is not None
            self._convene(body, self.env.now, p, pressing)

    def pressure(self, p: Proposal) -> Callable[[simpy.Event], None]:
        """A callback for when ``p``'s deadline nears: if still open, it becomes urgent."""

        def urgent(_: simpy.Event) -> None:
            if p.outcome is None:
                p.turn_urgent(self.env.now)
                self.convene_for(p)

        return urgent

    def _convene(self, body: CompiledBody, now: float, p: Proposal, pressing: bool) -> None:
        """A meeting of ``body`` for ``p`` within its ``extraordinary_days`` of ``now``, in
        meeting hours (else at the next opening hour, unless ``p``'s deadline falls before it);
        one due at a weekend is held on the Monday after, unless the body meets at weekends or
        ``p``'s deadline falls before then. None in a recess unless ``p`` is ``pressing``
        (urgent, or bound by a deadline)."""
        deadline = p.deadline
        due = now + float(body.extraordinary_days or 0.0)
        at = self._in_hours(due)
        if deadline is not None and due < deadline <= at:
            at = due  # a night meeting rather than a lapse
        weekday = (self._weekday0 + math.floor(at)) % 7
        if weekday >= 5 and not body.extraordinary_weekends:
            monday = at + 7 - weekday
            if deadline is None or monday < deadline:
                at = monday
        if not pressing and self._in_recess(body, at):
            return
        i = int(body.times.searchsorted(now, side="right"))
        if i < len(body.times) and body.times[i] <= at:
            return  # a regular meeting is due by then anyway
        if self._extra.get(body.idx, -math.inf) > now:  # none pending: earlier than any day,
            # a warm-up's negative days included
            self._for[body.idx].add(p.id)  # the extraordinary meeting convened takes it too
            return
        convened_for = {p.id}
        self._extra[body.idx], self._for[body.idx] = at, convened_for
        self.env.timeout(at - now).callbacks.append(
            lambda _: self._hold_meeting(body, at, convened_for)
        )

    def _in_hours(self, at: float) -> float:
        """``at``, or the next opening hour if it falls outside meeting hours."""
        day = math.floor(at)
        hour = at - day
        if hour < self._opens:
            return day + self._opens
        if hour >= self._closes:
            return day + 1 + self._opens
        return at

    def _in_recess(self, body: CompiledBody, at: float) -> bool:
        """Whether ``at`` falls in one of ``body``'s recesses."""
        recess = body.recess
        day = math.floor(at + self._warmup)
        return recess is not None and 0 <= day < len(recess) and bool(recess[day])
