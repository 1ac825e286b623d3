"""The Council secretariat of one replication: agendas, proposals and the logs.

Book-keeping only: putting an item on a body's agenda, closing a visit (with its time split),
sending new texts to capitals, and closing a proposal with its outcome. What happens in a
meeting is decided by the pure core and applied by :mod:`sim.engine.replication`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.core.members import instructions_ready
from sim.core.outcomes import Outcome, StageExit
from sim.core.rng import Rows
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

if TYPE_CHECKING:
    from sim.engine.compile import CompiledScenario

_ADOPTED, _ESCALATED = int(Activity.ADOPTED), int(Activity.ESCALATED)
_ADOPTED_AS, _ADOPTED_WITH = Outcome.ADOPTED, Outcome.ADOPTED_WITH_ABSTENTIONS  # bound once
_EXIT_OF = {o: StageExit(o.value) for o in Outcome}  # how a visit ends with the outcome


class Secretariat:
    """Agendas, proposals and logs of one replication."""

    def __init__(
        self,
        compiled: CompiledScenario,
        dtypes: dict[str, pd.CategoricalDtype],
        instruction_rows: Rows,
        shocks: np.random.Generator,
        on_enqueue: Callable[[Proposal, int, float], None] | None = None,
        detail: bool = True,
    ) -> None:
        """``shocks``: the stream of shared instruction-delay factors; ``on_enqueue(p, body,
        now)``: called when an item is put on an agenda (hold-outs, extraordinary meetings);
        ``detail``: keep the event and meeting logs (else they stay empty)."""
        self.compiled = compiled
        self.agendas: list[list[Proposal]] = [[] for _ in compiled.bodies]
        self.proposals: list[Proposal] = []
        self.events = (EventLog if detail else QuietEventLog)(dtypes["body"], dtypes["member"])
        self.stages = StageLog(dtypes["type"], dtypes["stage_body"])
        capacity = np.array([b.capacity for b in compiled.bodies], dtype=np.int64)
        self.meetings = (MeetingLog if detail else QuietMeetingLog)(dtypes["body"], capacity)
        self._instruction_rows = instruction_rows
        shock = compiled.practice.instruction_shock
        self._shocks = None if shock is None else Rows(shocks, shock.sample, rows=64)
        self._on_enqueue = on_enqueue

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
        t = p.type
        scale = t.urgent_instruction_scale if p.urgent else t.instruction_scale
        if self._shocks is not None:
            scale *= float(self._shocks.next())
        ready = instructions_ready(now, scale, self._instruction_rows.next())
        if not_before is not None:
            ready = np.maximum(ready, not_before)
        if who is not None:
            ready = np.where(who, ready, p.ready)
        p.instruct(ready, now)

    def escalate(self, p: Proposal, body: int, target: int, now: float) -> None:
        """Send ``p`` up from ``body`` to ``target``, to be discussed there (on new
        instructions, where the scenario's practice asks for them for an unchanged text)."""
        self._send_up(p, body, now)
        if target == self.compiled.escalation:
            p.visited_top = True
        if self.compiled.practice.reinstruct_on_escalation:
            self.new_text(p, now)
        self.enqueue(p, target, True, now)

    def put_to_vote(self, p: Proposal, body: int, now: float) -> None:
        """Send ``p`` up from ``body``, where consensus failed, to be voted without debate: an
        A item of the A-item Council (or of the adopting body), not by written procedure,
        which a state outvoted could refuse (Council Rules of Procedure, Art. 12(1))."""
        self._send_up(p, body, now)
        route = p.route
        self.enqueue(p, route.adopting if route.a_items is None else route.a_items, False, now)

    def _send_up(self, p: Proposal, body: int, now: float) -> None:
        """``p`` leaves ``body`` upwards (an escalation, counted and logged)."""
        p.escalations += 1
        self.events.record(now, p.id, _ESCALATED, body)
        self.leave(p, now, StageExit.ESCALATED)

    def adopt(self, p: Proposal, now: float, where: str) -> None:
        """Adopt ``p`` (with abstentions, if any state abstained on the way)."""
        outcome = _ADOPTED_WITH if any_true(p.abstainers) else _ADOPTED_AS
        self.finish(p, outcome, _ADOPTED, now, where)

    def finish(
        self, p: Proposal, outcome: Outcome, activity: int, now: float, where: str = ""
    ) -> None:
        """Close ``p`` with ``outcome`` at ``now`` (``where``: the deciding body's id)."""
        if p.visit is not None:
            p.visit.account(now, p.ready_max)
            body = p.visit.body
            self.leave(p, now, _EXIT_OF[outcome])
        else:
            body = -1
        p.outcome = outcome
        p.decided_day = now
        p.decided_at = where
        self.events.record(now, p.id, activity, body)
