"""The chair of a meeting: holds a round on an item and applies what the core decides.

:meth:`Chair.round` asks :func:`sim.core.negotiation.negotiate` for the round's result and
:mod:`sim.core.ladder` where the item goes next, and records both through the
:class:`~sim.engine.secretariat.Secretariat`. I/A items are passed by :meth:`Chair.pass_closed`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from sim.core.ladder import (
    Move,
    Step,
    after_agreement,
    after_exhaustion,
    after_formal_vote,
    emergency_brake,
)
from sim.core.members import brake_invoked
from sim.core.negotiation import Draws, RoundResult, formal_vote, negotiate
from sim.core.rng import Rows, Stream, stream
from sim.core.voting import Vote, any_true
from sim.engine.logs import Activity
from sim.engine.proposal import Proposal
from sim.engine.secretariat import Secretariat

if TYPE_CHECKING:
    from sim.core.visit import Visit
    from sim.engine.bargaining import HoldoutTimers
    from sim.engine.compile import CompiledBody, CompiledScenario
    from sim.engine.mediation import Referral

# activities bound once: looking up enum members is slow in the per-round loop
_ABSTENTION = int(Activity.ABSTENTION)
_AGREED = int(Activity.AGREED)
_COMPROMISE = int(Activity.COMPROMISE)
_EMERGENCY_BRAKE = int(Activity.EMERGENCY_BRAKE)
_OBJECTION = int(Activity.OBJECTION)
_INSTRUCTIONS_RECEIVED = int(Activity.INSTRUCTIONS_RECEIVED)
_RESERVATION = int(Activity.RESERVATION)
_TABLED = int(Activity.TABLED)
_VOTE = int(Activity.VOTE)
_ABSTAIN = int(Vote.ABSTAIN)
_AGAINST = int(Vote.AGAINST)


class StreamDraws:
    """The round's draws from the replication's named streams (see :class:`sim.core.rng.Rows`)."""

    __slots__ = ("_brake", "_n", "abstentions", "objections")

    def __init__(self, seed: int, replication: int, n: int) -> None:
        """``objections`` and ``abstentions`` are the rows' own ``next`` (no call of ours)."""
        uniforms = lambda rng, k: rng.random((k, n))  # noqa: E731
        self.objections = Rows(stream(seed, replication, Stream.OBJECTIONS), uniforms).next
        self.abstentions = Rows(stream(seed, replication, Stream.ABSTENTIONS), uniforms).next
        self._brake = stream(seed, replication, Stream.BRAKE)
        self._n = n

    def brake(self) -> np.ndarray:
        return self._brake.random(self._n)


class Chair:
    """Holds the rounds of one replication's meetings."""

    def __init__(
        self,
        compiled: CompiledScenario,
        desk: Secretariat,
        draws: Draws,
        rng_outcome: np.random.Generator,
        bargaining: HoldoutTimers,
        mediation: Referral,
    ) -> None:
        """``bargaining``: the hold-out policy, told when a text is ripe for agreement (demands
        may be raised at closing) and asked whether an item waits for a concession;
        ``mediation``: the brake policy, told of each emergency brake."""
        self.members = compiled.members
        self.practice = compiled.practice
        self.desk = desk
        self.draws = draws
        self._rng_outcome = rng_outcome
        self._bargaining = bargaining
        self._mediation = mediation

    def round(self, p: Proposal, v: Visit, body: CompiledBody, now: float) -> None:
        """A round on ``p`` (a discussion item, on its visit ``v``) at a meeting of ``body``."""
        desk, b = self.desk, body.idx
        log = desk.events
        if not v.tabled:
            v.tabled = True
            log.record(now, p.id, _TABLED, b)
        reserved = p.ready_max > now  # some capital has not sent instructions on this text yet
        if reserved:
            if not p.held_logged:  # the reservations are entered once per text version
                p.held_logged = True
                if log.detail:
                    log.record_members(now, p.id, _RESERVATION, b, p.ready > now, p.ready - now)
            if not self.practice.discuss_under_reservation:
                return
            if not p.stances.objectors(p.text):
                return  # nothing to discuss until the capitals have spoken
        elif not p.instr_logged:
            p.instr_logged = True
            log.record(
                p.ready_max, p.id, _INSTRUCTIONS_RECEIVED, b, value=p.ready_max - p.text_time
            )
        if not (p.hold_started or reserved or p.stances.objectors(p.text)):
            self._bargaining.ripe(p, body.rank, now)
        p.rounds += 1
        v.rounds += 1
        rule, voting = body.rule or p.type.rule, False
        if rule.by_majority:
            rule, voting = rule.at(body.rank, p.rounds)
        brake = emergency_brake(p.route, b, p.pos, p.braked) if voting else None
        result = negotiate(
            self.members,
            p.text,
            p.stances,
            p.holdouts,
            rule,
            now,
            self.draws,
            compromise_step=body.compromise_step,
            brake_possible=brake is not None,
            reserved=reserved,
        )
        if result.votes is not None and log.detail:
            assert result.decision is not None
            if voting and not reserved:  # past consensus, the objections are put to the vote
                log.record(now, p.id, _VOTE, b, value=float((result.votes == 0).sum()))
            against, blocking = result.votes == _AGAINST, result.decision.blocking
            log.record_members(now, p.id, _OBJECTION, b, against, blocking.astype(float))
            log.record_members(now, p.id, _ABSTENTION, b, result.votes >= _ABSTAIN)
        if result.brake is not None:
            assert brake is not None
            self._brake(p, b, brake, result.brake, now)
        elif result.failed:
            self.failed_round(p, body, now, result)
        elif result.agreed:
            if result.votes is not None:
                p.abstainers |= result.votes >= _ABSTAIN
            log.record(now, p.id, _AGREED, b, value=p.text)
            self.agreed(p, body, now)

    def _brake(self, p: Proposal, body: int, move: Move, invoked: np.ndarray, now: float) -> None:
        """Emergency brake (Art. 31(2) TEU): the outvoted state declares its opposition; the
        brake policy refers the item or has it mediated first."""
        self.desk.events.record_members(now, p.id, _EMERGENCY_BRAKE, body, invoked)
        self._mediation.declared(p, move, invoked, now)

    def failed_round(self, p: Proposal, body: CompiledBody, now: float, r: RoundResult) -> None:
        """The rule was not met: the chair's compromise, and escalation when rounds run out."""
        desk, v = self.desk, p.on_agenda()
        assert r.decision is not None
        if math.isnan(v.first_failed):
            v.first_failed = now
        v.failed += 1
        p.blockers = r.decision.blocking
        if r.text < p.text:
            p.text = r.text
            desk.events.record(now, p.id, _COMPROMISE, body.idx, value=r.text)
            desk.new_text(p, now, who=r.movers if self.practice.reinstruct_objectors_only else None)
        rule = body.rule or p.type.rule
        limit = body.max_rounds
        consensus = rule.consensus_limit(body.rank) if rule.by_majority else None
        vote_above = consensus is not None
        if consensus is not None:
            limit = min(limit, consensus)
        # a concession to come, and no QMV vote higher up to override the holder
        waiting = self._bargaining.holds(p, now) and not vote_above
        if waiting:  # blocked by hold-outs only: parked until they concede
            p.parked = not any_true(p.blockers & ~(p.holdouts.until > now))
        if v.failed < max(limit, 1):
            return
        withdraw_p = p.type.withdraw_probability
        move = after_exhaustion(
            p.route,
            body.idx,
            p.pos,
            p.visited_top,
            p.deadline is not None or waiting,
            lambda: bool(self._rng_outcome.random() < withdraw_p),
            stays=waiting and self._bargaining.stays(p),
            vote=vote_above and rule.vote_as_a_item,
        )
        desk.apply(p, move, now)

    def agreed(self, p: Proposal, body: CompiledBody, now: float) -> None:
        """After agreement: refer back from the top, adopt at the end of the route, or move on
        (as a B item to ministers, if they discuss it)."""
        self.desk.apply(p, after_agreement(p.route, body.idx, p.pos, p.b_item), now)

    def pass_closed(self, p: Proposal, body: CompiledBody, now: float) -> None:
        """An I/A item: noted without discussion below the Council; formally voted (A item) by
        the Council. If the vote fails, the item becomes a B item: discussed from the next
        meeting on, or sent to the adopting configuration from the A-item Council. A state
        holding the item hostage has it discussed (when hold-outs bargain), unless it is a QMV
        vote: the majority votes (Council Rules of Procedure, Art. 3(8))."""
        desk, route = self.desk, p.route
        if not p.hold_started:
            self._bargaining.ripe(p, body.rank, now)
        adopts = route.adopts(body.idx)
        rule, voting = (
            (body.rule or p.type.rule).at(body.rank, None) if adopts else (p.type.rule, False)
        )
        if self._bargaining.holds(p, now) and not voting:
            # the holder asks for the item to be discussed
            desk.apply(p, Move(Step.DEBATE, body.idx, p.pos, True), now)
            return
        if not adopts:
            desk.events.record(now, p.id, _AGREED, body.idx, value=p.text)
            desk.apply(p, after_agreement(route, body.idx, p.pos, p.b_item), now)
            return
        votes, adopted = formal_vote(
            self.members, p.text, p.stances, p.holdouts, rule, now, p.abstainers
        )
        if desk.events.detail:  # the votes for, counted only for the log
            desk.events.record(now, p.id, _VOTE, body.idx, value=float((votes == 0).sum()))
        brake = (
            emergency_brake(route, body.idx, p.pos, p.braked)
            if voting and rule.emergency_brake
            else None
        )
        against = votes == _AGAINST
        if adopted and brake is not None and any_true(against):
            invoked = brake_invoked(against, self.members.brake_p, self.draws.brake())
            if any_true(invoked):
                self._brake(p, body.idx, brake, invoked, now)
                return
        if adopted:
            p.abstainers |= votes >= _ABSTAIN
        desk.apply(p, after_formal_vote(route, body.idx, p.pos, adopted), now)
