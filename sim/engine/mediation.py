"""The emergency brake by the treaty path (Art. 31(2) TEU), as a policy.

"If a member of the Council declares that, for vital and stated reasons of national policy, it
intends to oppose the adoption of a decision to be taken by qualified majority, a vote shall not
be taken. The High Representative will, in close consultation with the Member State involved,
search for a solution acceptable to it. If he does not succeed, the Council may, acting by a
qualified majority, request that the matter be referred to the European Council for a decision
by unanimity." Without a ``[negotiation.brake]`` table the declaration refers the item at once
(:class:`Referral`, the first model); with it, :class:`HighRepresentative` mediates first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import simpy

from sim.core.ladder import Move
from sim.core.members import Holdouts
from sim.core.rng import Stream, stream
from sim.engine.logs import Activity
from sim.engine.proposal import Proposal
from sim.engine.secretariat import Secretariat

if TYPE_CHECKING:
    from sim.engine.compile import BrakePractice

_CONCESSION = int(Activity.CONCESSION)


class Referral:
    """The null policy: a declaration refers the unchanged text to the European Council at
    once (``move``: the brake's)."""

    def __init__(self, desk: Secretariat) -> None:
        self.desk = desk

    def declared(self, p: Proposal, move: Move, declarers: np.ndarray, now: float) -> None:
        """``declarers`` pulled the emergency brake on ``p`` at ``now``."""
        self.desk.apply(p, move, now)


class HighRepresentative(Referral):
    """The treaty path: no vote while the High Representative mediates (the declarers hold
    the item, which waits where it is); she settles it with the practice's probability (the
    declarers concede, and the next meeting votes without a second brake), else the Council
    refers it to the European Council by the qualified majority that outvoted them."""

    def __init__(
        self,
        desk: Secretariat,
        practice: BrakePractice,
        env: simpy.Environment,
        seed: int,
        replication: int,
    ) -> None:
        super().__init__(desk)
        self.practice, self.env = practice, env
        self.rng = stream(seed, replication, Stream.MEDIATION)

    def declared(self, p: Proposal, move: Move, declarers: np.ndarray, now: float) -> None:
        days = float(self.practice.mediation_days.sample(self.rng, 1)[0])
        until = np.where(declarers, np.maximum(p.holdouts.until, now + days), p.holdouts.until)
        p.holdouts = Holdouts(until, float(until.max()))
        p.braked = p.parked = True
        self.env.timeout(days).callbacks.append(self._end(p, move, declarers, now))

    def _end(
        self, p: Proposal, move: Move, declarers: np.ndarray, since: float
    ) -> Callable[[simpy.Event], None]:
        def end(_: simpy.Event) -> None:
            if p.outcome is not None or p.visit is None:
                return
            now = self.env.now
            if self.rng.random() < self.practice.settles:
                for state in np.flatnonzero(declarers):
                    self.desk.events.record(
                        now, p.id, _CONCESSION, p.visit.body, int(state), value=now - since
                    )
            else:  # the Council refers it, between meetings: off the agenda it waited on
                self.desk.off_agenda(p)
                self.desk.apply(p, move, now)

        return end
