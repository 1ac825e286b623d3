"""The written / silence procedure of one replication (Council Rules of Procedure, Art. 12(2)).

A text is adopted at the end of a period the presidency sets according to urgency, unless a
state objects (breaks silence), which sends it back to the meeting route. The period is a
timeout with a callback, so a procedure costs no SimPy process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import simpy

from sim.core.ladder import after_written_procedure
from sim.core.members import text_objections, written_objections
from sim.core.outcomes import StageExit
from sim.core.rng import Rows, Stream, stream
from sim.core.visit import Visit
from sim.core.voting import any_true
from sim.engine.logs import Activity
from sim.engine.proposal import Proposal

if TYPE_CHECKING:
    from sim.engine.compile import CompiledScenario
    from sim.engine.secretariat import Secretariat

_OBJECTION = int(Activity.OBJECTION)
_WRITTEN_PROCEDURE = int(Activity.WRITTEN_PROCEDURE)


class WrittenProcedure:
    """Starts written procedures and settles them when their period ends."""

    def __init__(
        self,
        compiled: CompiledScenario,
        env: simpy.Environment,
        desk: Secretariat,
        seed: int,
        replication: int,
    ) -> None:
        self.c, self.env, self.desk = compiled, env, desk
        self.rng = stream(seed, replication, Stream.WRITTEN)
        wp, wu = compiled.written_days, compiled.written_urgent_days
        self._days = None if wp is None else Rows(self.rng, wp.sample, rows=64)
        self._urgent_days = None if wu is None else Rows(self.rng, wu.sample, rows=16)

    def start(self, p: Proposal, now: float, first: bool = False) -> None:
        """Circulate ``p``'s text at ``now``. The presidency sets the period by urgency: shorter
        for an urgent item (if the scenario says how long), and with a deadline ahead it ends by
        the scenario's share of the time left. ``first``: a text circulated before any meeting,
        on which the states that object to it break silence (and it goes up its route from the
        first body)."""
        assert self._days is not None  # validated: such types need the table
        rows = self._urgent_days if p.urgent and self._urgent_days is not None else self._days
        days = float(rows.next())
        share = self.c.written_deadline_share
        if share is not None and p.deadline is not None and p.deadline > now:
            days = min(days, share * (p.deadline - now))
        members = self.c.members
        objecting = written_objections(members.written_p, self.rng.random(members.n))
        if first:
            objecting |= text_objections(p.text, p.stances.accept)
        self.desk.events.record(now, p.id, _WRITTEN_PROCEDURE, value=days)
        self.env.timeout(days).callbacks.append(lambda _: self._end(p, now, objecting, first))

    def _end(self, p: Proposal, started: float, objecting: np.ndarray, first: bool) -> None:
        if p.outcome is not None:
            return
        desk, now = self.desk, self.env.now
        period = Visit(self.c.written_stage, started, False)
        period.wait_meeting = now - started
        desk.stages.record(p.id, p.type.idx, period.body, period, now, StageExit.WRITTEN_PROCEDURE)
        objected = bool(any_true(objecting))
        if objected:
            desk.events.record_members(now, p.id, _OBJECTION, -1, objecting)
        desk.apply(p, after_written_procedure(p.route, p.pos, objected, first), now)
