"""The Council secretariat of one replication: agendas, proposals and the logs.

Book-keeping, and the one place a proposal moves: :meth:`Secretariat.apply` carries out a
:class:`~sim.core.ladder.Move` the pure core decided (put the item on an agenda, close its
visit, send it up, circulate it in written procedure, close it with its outcome). Every move
that would end an item unadopted (withdrawn, blocked or lapsed, wherever it was decided) passes
through the type's workaround here (:func:`sim.core.ladder.workaround`): a declaration the High
Representative issues instead. It also sends new texts to capitals. What happens in a meeting
is decided by :mod:`sim.engine.chair`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.core.ladder import Move, Step, workaround
from sim.core.members import instructions_ready, still_objecting
from sim.core.outcomes import WRITTEN_PROCEDURE, Outcome, StageExit
from sim.core.rng import Rows, Stream, stream
from sim.core.visit import Visit
from sim.core.voting import any_true
from sim.engine.logs import (
    Activity,
    EventLog,
    MeetingLog,
    QuietEventLog,
    QuietMeetingLog,
    StageLog,
)
from sim.engine.proposal import Proposal
from sim.engine.written import WrittenProcedure

if TYPE_CHECKING:
    import simpy

    from sim.engine.compile import CompiledScenario

_ADOPTED, _ESCALATED = int(Activity.ADOPTED), int(Activity.ESCALATED)
_REFERRED_BACK = int(Activity.REFERRED_BACK)
_ADOPTED_AS, _ADOPTED_WITH = Outcome.ADOPTED, Outcome.ADOPTED_WITH_ABSTENTIONS  # bound once
_EXIT_OF = {o: StageExit(o.value) for o in Outcome}  # how a visit ends with the outcome
_EXIT_AGREED, _EXIT_REFERRED_BACK = StageExit.AGREED, StageExit.REFERRED_BACK
# steps bound once: looking up enum members is slow, and every agreement applies a move
_MOVE_ON, _ADOPT, _TABLE, _WRITTEN = Step.MOVE_ON, Step.ADOPT, Step.TABLE, Step.WRITTEN_PROCEDURE
_SILENCE, _ESCALATE, _VOTE, _BRAKE = Step.SILENCE, Step.ESCALATE, Step.VOTE, Step.BRAKE
_REFER_BACK, _REOPEN, _DEBATE = Step.REFER_BACK, Step.REOPEN, Step.DEBATE
_KEEP_TRYING, _RELEASE = Step.KEEP_TRYING, Step.RELEASE
_ENDS = {
    Step.WITHDRAW: (Outcome.WITHDRAWN, int(Activity.WITHDRAWN)),
    Step.BLOCK: (Outcome.BLOCKED, int(Activity.BLOCKED)),
    Step.LAPSE: (Outcome.LAPSED, int(Activity.LAPSED)),
    Step.ISSUE_BY_HR: (Outcome.ISSUED_BY_HR, int(Activity.ISSUED_BY_HR)),
}


class Secretariat:
    """Agendas, proposals and logs of one replication."""

    def __init__(
        self,
        compiled: CompiledScenario,
        dtypes: dict[str, pd.CategoricalDtype],
        env: simpy.Environment,
        seed: int,
        replication: int,
        on_enqueue: Callable[[Proposal, int, float], None] | None = None,
        detail: bool = True,
    ) -> None:
        """``on_enqueue(p, body, now)``: called when an item is put on an agenda (hold-outs,
        extraordinary meetings); ``detail``: keep the event and meeting logs (else they stay
        empty)."""
        self.compiled = compiled
        self.agendas: list[list[Proposal]] = [[] for _ in compiled.bodies]
        self.proposals: list[Proposal] = []
        self.events = (EventLog if detail else QuietEventLog)(dtypes["body"], dtypes["member"])
        self.stages = StageLog(dtypes["type"], dtypes["stage_body"])
        capacity = np.array([b.capacity for b in compiled.bodies], dtype=np.int64)
        self.meetings = (MeetingLog if detail else QuietMeetingLog)(dtypes["body"], capacity)
        delays = compiled.members.instruction_delay.draw
        self._instruction_rows = Rows(stream(seed, replication, Stream.INSTRUCTIONS), delays)
        shock, shocks = compiled.practice.instruction_shock, stream(seed, replication, Stream.SHOCK)
        self._shocks = None if shock is None else Rows(shocks, shock.sample, rows=64)
        self._on_enqueue = on_enqueue
        self.written = WrittenProcedure(compiled, env, self, seed, replication)
        workarounds = any(t.workaround is not None for t in compiled.types)
        self._workaround_rng = stream(seed, replication, Stream.WORKAROUND) if workarounds else None

    def apply(self, p: Proposal, move: Move, now: float) -> None:
        """Carry out ``move`` for ``p`` at ``now``: the one place a proposal's position on its
        route, its visit and its outcome change (steps tested by identity, the most frequent
        first: this runs a thousand times a replication-year)."""
        step = move.step
        if step is _RELEASE:  # between meetings: off the agenda it waited on, then on its way
            self.off_agenda(p)
            step = _WRITTEN if move.target is None else _MOVE_ON
        if step is _MOVE_ON:
            self.leave(p, now, _EXIT_AGREED)
        elif step is _ADOPT:
            self.adopt(p, now)
            return
        elif step is _TABLE:
            pass
        elif step is _WRITTEN:
            self.leave(p, now, _EXIT_AGREED)
            p.pos = move.pos
            self.written.start(p, now)
            return
        elif step is _SILENCE:
            self.written.start(p, now, first=True)
            return
        elif step is _ESCALATE or step is _VOTE or step is _BRAKE:
            self._send_up(p, now, move)
        elif step is _REFER_BACK or step is _REOPEN:
            if p.visit is not None:  # not after written procedure, which has no visit
                self.events.record(now, p.id, _REFERRED_BACK, p.visit.body)
                self.leave(p, now, _EXIT_REFERRED_BACK)
        elif step is _DEBATE:
            p.on_agenda().open = True
            return
        elif step is _KEEP_TRYING:
            p.on_agenda().failed = 0  # keeps trying until a concession, or a deadline lapses it
            return
        else:
            self._end(p, move, now)
            return
        assert move.target is not None
        p.pos = move.pos
        self.enqueue(p, move.target, move.open, now)

    def off_agenda(self, p: Proposal) -> None:
        """Take ``p`` off the agenda it waits on, before a move between that body's meetings
        (a meeting rebuilds its own agenda after its rounds)."""
        self.agendas[p.on_agenda().body].remove(p)

    def enqueue(self, p: Proposal, body: int, open_: bool, now: float) -> None:
        """Put ``p`` on ``body``'s agenda: to be discussed (``open_``) or as an I/A item."""
        p.visit = Visit(body, now, open_)
        self.agendas[body].append(p)
        if self._on_enqueue is not None:
            self._on_enqueue(p, body, now)

    def leave(self, p: Proposal, now: float, how: StageExit) -> None:
        """Close ``p``'s current visit."""
        assert p.visit is not None
        self.stages.record(p.id, p.type.idx, p.visit.body, p.visit, now, how)
        p.visit = None

    def new_text(
        self,
        p: Proposal,
        now: float,
        not_before: np.ndarray | None = None,
        who: np.ndarray | None = None,
    ) -> None:
        """Capitals instruct on ``p``'s text from ``now``, each with its own delay times the
        text's shared factor (a shock common to all capitals, if the scenario has one), and
        not before ``not_before`` (e.g. the end of a parliamentary scrutiny reservation). With
        ``who``, only those capitals re-instruct; the others keep their instructions."""
        scale = p.profile.instruction_scale
        if self._shocks is not None:
            scale *= float(self._shocks.next())
        ready = instructions_ready(now, scale, self._instruction_rows.next())
        if not_before is not None:
            ready = np.maximum(ready, not_before)
        if who is not None:
            ready = np.where(who, ready, p.ready)
        p.instruct(ready, now)

    def _send_up(self, p: Proposal, now: float, move: Move) -> None:
        """``p`` leaves its body upwards (an escalation, counted and logged): to be discussed
        (on new instructions, where the scenario's practice asks for them for an unchanged
        text), or, put to the vote, as an A item, not by written procedure, which a state
        outvoted could refuse (Council Rules of Procedure, Art. 12(1))."""
        p.escalations += 1
        self.events.record(now, p.id, _ESCALATED, p.on_agenda().body)
        self.leave(p, now, StageExit.ESCALATED)
        if move.step is _BRAKE:
            p.braked = True
        if move.target == self.compiled.escalation:
            p.visited_top = True
        if move.open and self.compiled.practice.reinstruct_on_escalation:
            self.new_text(p, now)

    def _end(self, p: Proposal, move: Move, now: float) -> None:
        """Close ``p`` as the move says: withdrawn, blocked or lapsed where it is, or issued by
        the High Representative instead where its type's workaround says so."""
        if move.step is Step.LAPSE and p.visit is not None:
            self.off_agenda(p)
        w = p.type.workaround
        if w is not None and move.step is not Step.ISSUE_BY_HR:
            objecting = still_objecting(p.blockers, p.text, p.stances.accept, p.holdouts.until, now)
            rng = self._workaround_rng
            assert rng is not None  # drawn from whenever some type has a workaround
            move = workaround(
                move,
                int(np.count_nonzero(objecting)),
                w.max_objectors,
                lambda: bool(rng.random() < w.probability),
            )
            if move.step is Step.ISSUE_BY_HR:
                p.blockers = objecting  # who the declaration went over
        outcome, activity = _ENDS[move.step]
        self.finish(p, outcome, activity, now)

    def adopt(self, p: Proposal, now: float) -> None:
        """Adopt ``p`` (with abstentions, if any state abstained on the way)."""
        outcome = _ADOPTED_WITH if any_true(p.abstainers) else _ADOPTED_AS
        self.finish(p, outcome, _ADOPTED, now)

    def finish(self, p: Proposal, outcome: Outcome, activity: int, now: float) -> None:
        """Close ``p`` with ``outcome`` at ``now``, where it is (a body, or written procedure)."""
        if p.visit is not None:
            p.visit.account(now, p.ready_max)
            body = p.visit.body
            where = self.compiled.bodies[body].id
            self.leave(p, now, _EXIT_OF[outcome])
        else:
            body, where = -1, WRITTEN_PROCEDURE
        if outcome is Outcome.PENDING:
            where = ""  # still open at the horizon: decided nowhere
        p.outcome = outcome
        p.decided_day = now
        p.decided_at = where
        self.events.record(now, p.id, activity, body)
