"""Hold-outs of one replication: raised when an item reaches the political level, ended by a
concession.

A state that holds a proposal hostage for a demand of its own (an exemption, a delisting, a
guarantee elsewhere) raises it where it can be traded: at Coreper or above, in the scenario's
practice (``[negotiation.bargaining] level``), either as soon as the item is on that body's
agenda or at closing, when the text is otherwise ripe for agreement (``moment``; in the record
the demand surfaces when the presidency seeks agreement: RU12, RU13, RU14). From then on it
objects whatever the text says, for the time it holds out (its ``holdout_days``; a
rising-hazard or heavy-tailed distribution, as data), and concedes a margin before the item's
deadline at the latest. The concession is an event of its own (``concession``: the state, days
held), apart from the text's dilution; the state may then abstain rather than vote for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import simpy

from sim.core.members import raise_holdouts
from sim.core.rng import Stream, stream
from sim.core.voting import any_true
from sim.engine.logs import Activity
from sim.engine.proposal import Proposal
from sim.engine.secretariat import Secretariat

if TYPE_CHECKING:
    from sim.engine.compile import CompiledScenario
    from sim.engine.presidency import Presidency

_CONCESSION = int(Activity.CONCESSION)


class Bargaining:
    """Raises each proposal's hold-outs and schedules their concessions."""

    def __init__(
        self,
        compiled: CompiledScenario,
        env: simpy.Environment,
        desk: Secretariat,
        seed: int,
        replication: int,
        presidency: Presidency,
    ) -> None:
        """``presidency``: told of each concession, the last hold-out's or not (the item may
        get a meeting, :meth:`sim.engine.presidency.Presidency.conceded`)."""
        practice = compiled.practice
        self.enabled = practice.bargaining
        self.rank = practice.holdout_rank if practice.bargaining else 0
        self.at_closing = practice.holdouts_at_closing
        self.margin = practice.concession_margin
        self.abstain_p = compiled.members.concession_abstain_p
        self.env, self.desk = env, desk
        self.rng = stream(seed, replication, Stream.CONCESSION)
        self._presidency = presidency

    def on_agenda(self, p: Proposal, rank: int, now: float) -> None:
        """``p`` was put on the agenda of a body of ``rank`` at ``now``."""
        if not (self.at_closing or p.hold_started or rank < self.rank):
            self._raise(p, now)

    def ripe(self, p: Proposal, rank: int, now: float) -> None:
        """``p``'s text is ripe for agreement at a body of ``rank`` at ``now``."""
        if self.at_closing and not p.hold_started and rank >= self.rank:
            self._raise(p, now)

    def _raise(self, p: Proposal, now: float) -> None:
        """The holders of ``p`` (if any) raise their demands at ``now``, once."""
        p.hold_started = True
        holders = p.stances.holders
        if not any_true(holders):
            return
        concede_by = None
        if self.enabled and p.deadline is not None and self.margin is not None:
            concede_by = p.deadline - float(self.margin.sample(self.rng, 1)[0])
        p.holdouts = raise_holdouts(p.stances, now, concede_by)
        if not self.enabled:
            return
        for i in np.flatnonzero(holders):
            wait = float(p.holdouts.until[i]) - now
            self.env.timeout(wait).callbacks.append(self._concession(p, int(i), now))

    def _concession(self, p: Proposal, state: int, since: float) -> Callable[[simpy.Event], None]:
        def concede(_: simpy.Event) -> None:
            if p.outcome is not None:
                return
            now, body = self.env.now, -1 if p.visit is None else p.visit.body
            self.desk.events.record(now, p.id, _CONCESSION, body, state, value=now - since)
            if self.rng.random() < self.abstain_p[state]:
                p.abstainers[state] = True
            self._presidency.conceded(p, bool(p.holdouts.until[state] >= p.holdouts.end))

        return concede
