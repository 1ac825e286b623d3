"""Hold-outs of one replication, as a policy: plain timers, or bargaining that ends with a
concession.

Without a ``[negotiation.bargaining]`` table hold-outs are :class:`HoldoutTimers` (the null
policy of the first model): a holder objects from the moment the item is on any agenda until its
hold-out ends, and nothing waits for it. With the table they are :class:`Bargaining`:

A state that holds a proposal hostage for a demand of its own (an exemption, a delisting, a
guarantee elsewhere) raises it where it can be traded: at Coreper or above, in the scenario's
practice (``[negotiation.bargaining] level``), either as soon as the item is on that body's
agenda or at closing, when the text is otherwise ripe for agreement (``moment``; in the record
the demand surfaces when the presidency seeks agreement: RU12, RU13, RU14). From then on it
objects whatever the text says, for the time it holds out (its ``holdout_days``; a
rising-hazard or heavy-tailed distribution, as data), and concedes a margin before the item's
deadline at the latest. The concession is an event of its own (``concession``: the state, days
held), apart from the text's dilution; the state may then abstain rather than vote for.

A linkage hold-out (``climb_after_days``) outlasts the rung where it was raised: the item climbs
to ministers, then to the European Council, each discussing it in vain, as the record's long
contested packages did (RU11, RU14: 49 days); the concession then frees it from wherever it
waits (``release``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import simpy

from sim.core.ladder import Step, after_concession, after_exhaustion
from sim.core.members import Holdouts, raise_holdouts
from sim.core.rng import Stream, stream
from sim.core.voting import any_true, can_block
from sim.engine.logs import Activity
from sim.engine.proposal import Proposal
from sim.engine.secretariat import Secretariat
from sim.scenario import Level

if TYPE_CHECKING:
    from sim.engine.compile import BargainingPractice, CompiledScenario
    from sim.engine.presidency import Presidency

_CONCESSION = int(Activity.CONCESSION)
_COUNCIL = Level.COUNCIL.rank  # ministers do not meet for one concession


class HoldoutTimers:
    """Hold-outs as plain timers: raised as soon as an item is on any body's agenda; a holder
    objects until its hold-out ends; nothing is bargained and no item waits for a concession."""

    def __init__(self, compiled: CompiledScenario) -> None:
        self.compiled = compiled

    def on_agenda(self, p: Proposal, rank: int, now: float) -> None:
        """``p`` was put on the agenda of a body of ``rank`` at ``now``."""
        if not p.hold_started:
            self._raise(p, now)

    def ripe(self, p: Proposal, rank: int, now: float) -> None:
        """``p``'s text is ripe for agreement at a body of ``rank`` at ``now``."""

    def holds(self, p: Proposal, now: float) -> bool:
        """Whether ``p`` waits for a hold-out's concession to come (rather than being voted,
        escalated or given up)."""
        return False

    def stays(self, p: Proposal) -> bool:
        """Whether ``p``, held and out of rounds, stays where it is until the concession."""
        return False

    def _raise(self, p: Proposal, now: float) -> None:
        """The holders of ``p`` (if any) raise their demands at ``now``, once."""
        p.hold_started = True
        if any_true(p.stances.holders):
            p.holdouts = raise_holdouts(p.stances, now, None)


class Bargaining(HoldoutTimers):
    """Hold-outs that bargain (``[negotiation.bargaining]``): raised at the practice's level,
    on the agenda or at closing; each ends with a concession, by the concession margin before a
    deadline at the latest, and the presidency may convene a meeting for it."""

    def __init__(
        self,
        compiled: CompiledScenario,
        practice: BargainingPractice,
        env: simpy.Environment,
        desk: Secretariat,
        seed: int,
        replication: int,
        presidency: Presidency,
    ) -> None:
        """``presidency``: told of each concession (the item may get a meeting)."""
        super().__init__(compiled)
        self.practice = practice
        self.abstain_p = compiled.members.concession_abstain_p
        self.env, self.desk = env, desk
        self.rng = stream(seed, replication, Stream.CONCESSION)
        self._presidency = presidency

    def on_agenda(self, p: Proposal, rank: int, now: float) -> None:
        if not (self.practice.at_closing or p.hold_started or rank < self.practice.rank):
            self._raise(p, now)

    def ripe(self, p: Proposal, rank: int, now: float) -> None:
        if self.practice.at_closing and not p.hold_started and rank >= self.practice.rank:
            self._raise(p, now)

    def holds(self, p: Proposal, now: float) -> bool:
        return p.holdouts.end > now

    def stays(self, p: Proposal) -> bool:
        """A held item with a deadline is bargained where it is (the deadline will bring the
        concession); without one, where the practice does not escalate hold-outs."""
        return p.deadline is not None or not self.practice.escalate

    def _raise(self, p: Proposal, now: float) -> None:
        p.hold_started = True
        holders = p.stances.holders
        if not any_true(holders):
            return
        if self.practice.ally_distance is not None:
            holders = self._in_the_shadow_of_the_vote(p, holders)
            if not any_true(holders):
                return
        concede_by, margin = None, self.practice.concession_margin
        if p.deadline is not None and margin is not None:
            concede_by = p.deadline - float(margin.sample(self.rng, 1)[0])
        p.holdouts = raise_holdouts(p.stances, now, concede_by, holders)
        if self.practice.tandem is not None:
            holders = self._tandem(p, holders, concede_by)
        for i in np.flatnonzero(holders):
            wait = float(p.holdouts.until[i]) - now
            self.env.timeout(wait).callbacks.append(self._concession(p, int(i), now))
        if self.practice.climb_after is not None and p.deadline is None:
            self._climb_later(p, now)

    def _climb_later(self, p: Proposal, now: float) -> None:
        """If ``p`` will still be held ``climb_after`` days from ``now``, it climbs a rung then."""
        after = self.practice.climb_after
        assert after is not None
        if p.holdouts.end - now > after:
            self.env.timeout(after).callbacks.append(lambda _: self._climb(p))

    def _climb(self, p: Proposal) -> None:
        """A linkage hold-out outlasts the rung ``p`` is held at: up to the next body (the
        European Council above the route), to be discussed there, unless it already moved."""
        now = self.env.now
        if p.outcome is not None or p.visit is None or p.holdouts.end <= now:
            return
        if not p.parked:  # still discussed where it is (or on its way): look again later
            self._climb_later(p, now)
            return
        move = after_exhaustion(p.route, p.visit.body, p.pos, p.visited_top, True, lambda: False)
        if move.step is not Step.ESCALATE:
            return  # at the top: it waits there for the concession
        self.desk.off_agenda(p)
        self.desk.apply(p, move, now)
        p.parked = False  # discussed up there, in vain, before it waits again
        self._climb_later(p, now)

    def _in_the_shadow_of_the_vote(self, p: Proposal, holders: np.ndarray) -> np.ndarray:
        """The would-be ``holders`` that still hold out on ``p``: those that can expect to
        block its rule with the states close to them, or would pull its emergency brake."""
        rule, members = p.type.rule, self.compiled.members
        distance = self.practice.ally_distance
        assert distance is not None
        keep = holders.copy()
        for i in np.flatnonzero(holders):
            allies = np.abs(p.stances.positions - p.stances.positions[i]) <= distance
            if can_block(rule, members.population, allies):
                continue
            brakes = rule.emergency_brake and self.rng.random() < members.brake_p[i]
            keep[i] = brakes
        return keep

    def _tandem(self, p: Proposal, holders: np.ndarray, concede_by: float | None) -> np.ndarray:
        """Perhaps a second state joins the hold-out on ``p``: drawn among the others by their
        propensity, it concedes a stagger after the first holders (by ``concede_by`` at the
        latest); the holders, with it."""
        assert self.practice.tandem is not None
        join, stagger = self.practice.tandem
        weights = np.where(holders, 0.0, self.compiled.members.holdout_p)
        if self.rng.random() >= join or weights.sum() <= 0.0:
            return holders
        second = int(self.rng.choice(len(weights), p=weights / weights.sum()))
        until = p.holdouts.until.copy()
        until[second] = p.holdouts.end + float(stagger.sample(self.rng, 1)[0])
        if concede_by is not None:
            until[second] = min(until[second], max(concede_by, p.holdouts.end))
        p.holdouts = Holdouts(until, float(until.max()))
        joined = holders.copy()
        joined[second] = True
        return joined

    def _release(self, p: Proposal, now: float) -> bool:
        """The last concession frees ``p`` if it waits for ministers to discuss it at its
        adopting body (:func:`sim.core.ladder.after_concession`); whether it did."""
        visit = p.on_agenda()
        move = after_concession(p.route, visit.body, p.b_item) if visit.open else None
        if move is not None:
            self.desk.apply(p, move, now)
        return move is not None

    def _concession(self, p: Proposal, state: int, since: float) -> Callable[[simpy.Event], None]:
        def concede(_: simpy.Event) -> None:
            if p.outcome is not None:
                return
            now, body = self.env.now, -1 if p.visit is None else p.visit.body
            self.desk.events.record(now, p.id, _CONCESSION, body, state, value=now - since)
            if self.rng.random() < self.abstain_p[state]:
                p.abstainers[state] = True
            last = p.holdouts.until[state] >= p.holdouts.end and p.visit is not None
            if last and self.practice.release and self._release(p, now):
                return  # freed: on its way as if agreed
            if p.urgent:
                self._presidency.convene_for(p)
            elif last:
                # the last one: the presidency seizes it, below the Council (ministers do not
                # meet for one concession)
                rank = self.compiled.bodies[p.on_agenda().body].rank
                if self.practice.concession_meeting and rank < _COUNCIL:
                    self._presidency.convene_at(p)

        return concede
