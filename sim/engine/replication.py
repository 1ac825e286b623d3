"""The SimPy shell: arrivals, body meetings, written procedure and deadlines for one replication.

Processes only orchestrate: wait for the next meeting, ask the pure core what the states do,
record the result. A body's meetings are one process that sleeps until each meeting on its
calendar and takes up to ``capacity`` discussion items from its agenda (urgent first, then
oldest); items agreed lower down pass as I/A items without using discussion room. Deadlines
and written procedures are timeouts with callbacks, so a proposal costs no SimPy process.

Time accounting per body visit: each interval between two looks at an item is split into
*waiting for instructions* (while some capital has not sent instructions on the current text),
then *negotiating* (after the item's first round at this body) or *waiting for a meeting*
(before it). The written procedure's period counts as waiting for a meeting.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

from sim.core.members import (
    brake_invoked,
    cast_votes,
    compromise,
    instructions_ready,
    objections,
    proposal_stances,
    written_objections,
)
from sim.core.rng import Rows, Stream, name_key, stream
from sim.core.voting import ConstructiveAbstentionRule, Vote, any_true
from sim.engine.logs import Activity, EventLog
from sim.engine.proposal import Proposal

if TYPE_CHECKING:
    from sim.engine.compile import CompiledBody, Model

ProcessGen = Generator[simpy.Event, Any, None]

# activities bound once: looking up enum members is slow in the per-round loop
_ABSTENTION = int(Activity.abstention)
_ADOPTED = int(Activity.adopted)
_AGREED = int(Activity.agreed)
_BLOCKED = int(Activity.blocked)
_COMPROMISE = int(Activity.compromise)
_EMERGENCY_BRAKE = int(Activity.emergency_brake)
_ESCALATED = int(Activity.escalated)
_INSTRUCTIONS_RECEIVED = int(Activity.instructions_received)
_LAPSED = int(Activity.lapsed)
_OBJECTION = int(Activity.objection)
_PENDING = int(Activity.pending)
_REFERRED_BACK = int(Activity.referred_back)
_RESERVATION = int(Activity.reservation)
_SUBMITTED = int(Activity.submitted)
_TABLED = int(Activity.tabled)
_VOTE = int(Activity.vote)
_WITHDRAWN = int(Activity.withdrawn)
_WRITTEN_PROCEDURE = int(Activity.written_procedure)
_AGAINST, _ABSTAIN, _FORMAL_ABSTAIN = int(Vote.AGAINST), int(Vote.ABSTAIN), int(Vote.FORMAL_ABSTAIN)


class Replication:
    """One seeded run of the Council machinery over the horizon."""

    def __init__(self, model: Model, seed: int, replication: int) -> None:
        self.model = model
        self.env = simpy.Environment()
        self.log = EventLog(model.body_dtype, model.member_dtype)
        self.agendas: list[list[Proposal]] = [[] for _ in model.bodies]
        self.proposals: list[Proposal] = []
        self.stage_rows: list[tuple[Any, ...]] = []
        self.meeting_rows: list[tuple[Any, ...]] = []
        self._seed, self._rep = seed, replication
        s = lambda purpose: stream(seed, replication, purpose)  # noqa: E731
        n, delays = model.members.n, model.members.instruction_delay
        self.instruction_rows = Rows(s(Stream.INSTRUCTIONS), delays.draw)
        self.objection_rows = Rows(s(Stream.OBJECTIONS), lambda rng, k: rng.random((k, n)))
        self.abstention_rows = Rows(s(Stream.ABSTENTIONS), lambda rng, k: rng.random((k, n)))
        self.rng_written = s(Stream.WRITTEN)
        self.rng_brake = s(Stream.BRAKE)
        self.rng_outcome = s(Stream.OUTCOME)

    # --- processes ---------------------------------------------------------------------------

    def run(self) -> None:
        """Run to the horizon and close every open proposal as ``pending``."""
        m = self.model
        self.env.process(self._arrivals(m.arrivals(self._seed, self._rep)))
        for body in m.bodies:
            if len(body.times):
                self.env.process(self._meetings(body))
        self.env.run(until=m.horizon)
        for p in self.proposals:
            if p.outcome is None:
                self._finish(p, "pending", _PENDING, m.horizon)

    def _arrivals(self, arrivals: list[tuple[float, int, float | None]]) -> ProcessGen:
        m, env = self.model, self.env
        stances_by_type = {}  # each type's stances drawn in one block from its own stream
        for ptype in m.types:
            times = np.array([a[0] for a in arrivals if a[1] == ptype.idx])
            rng = stream(self._seed, self._rep, Stream.PROPOSAL, name_key(ptype.name))
            spec = ptype.spec
            drawn = proposal_stances(
                m.members, ptype.name, spec.contestation, spec.urgent, times, rng
            )
            stances_by_type[ptype.idx] = iter(drawn)
        for t, type_idx, deadline in arrivals:
            yield env.timeout(t - env.now)
            ptype = m.types[type_idx]
            stances = next(stances_by_type[type_idx])
            p = Proposal(
                len(self.proposals),
                type_idx,
                t,
                deadline,
                ptype.spec.urgent,
                ptype.spec.ambition,
                stances,
                m.members.n,
            )
            self.proposals.append(p)
            self.log.record(t, p.id, _SUBMITTED, value=p.text)
            scale = ptype.spec.instruction_scale
            p.ready = np.maximum(
                instructions_ready(t, scale, self.instruction_rows.next()),
                stances.scrutiny_until,
            )
            p.ready_max = float(p.ready.max())
            p.instr_logged = False
            if deadline is not None:
                env.timeout(deadline - t).callbacks.append(self._lapse_callback(p))
            self._enqueue(p, ptype.route[0], True, t)

    def _meetings(self, body: CompiledBody) -> ProcessGen:
        env = self.env
        for t in body.times:
            yield env.timeout(t - env.now)
            self._hold_meeting(body, t)

    # --- a meeting ---------------------------------------------------------------------------

    def _hold_meeting(self, body: CompiledBody, now: float) -> None:
        b = body.idx
        agenda = self.agendas[b]
        keep = [p for p in agenda if p.entered >= now]
        eligible = sorted(
            (p for p in agenda if p.entered < now), key=lambda p: (not p.urgent, p.entered, p.id)
        )
        used = ia = 0
        for p in eligible:
            if not p.open:
                ia += 1
                self._account(p, now)
                self._pass_closed(p, body, now)
            elif used < body.capacity:
                used += 1
                self._account(p, now)
                self._round(p, body, now)
            if p.outcome is None and p.body == b and not p.in_written:
                keep.append(p)
        self.agendas[b] = keep
        self.meeting_rows.append((b, now, used, ia, len(keep)))

    def _round(self, p: Proposal, body: CompiledBody, now: float) -> None:
        m, log, b = self.model, self.log, body.idx
        members = m.members
        if not p.tabled:
            p.tabled = True
            log.record(now, p.id, _TABLED, b)
        if p.ready_max > now:  # some capital has not sent instructions on this text yet
            if not p.held_logged:  # the reservations are entered once per text version
                p.held_logged = True
                holders = p.ready > now
                log.record_members(now, p.id, _RESERVATION, b, holders, p.ready - now)
            return
        if not p.instr_logged:
            p.instr_logged = True
            log.record(
                p.ready_max,
                p.id,
                _INSTRUCTIONS_RECEIVED,
                b,
                value=p.ready_max - p.text_time,
            )
        p.rounds += 1
        p.visit_rounds += 1
        rule = body.rule or m.types[p.type].rule
        objecting, on_text = objections(members, p.text, p.stances, now, self.objection_rows.next())
        if any_true(objecting):
            may_abstain = p.stances.holdout_until <= now
            formal = isinstance(rule, ConstructiveAbstentionRule)
            votes = cast_votes(
                objecting, members.abstain_p, may_abstain, formal, self.abstention_rows.next()
            )
            decision = rule.decide(votes, members.population)
            against = votes == _AGAINST
            abstaining = votes >= _ABSTAIN
            log.record_members(now, p.id, _OBJECTION, b, against, decision.blocking.astype(float))
            log.record_members(now, p.id, _ABSTENTION, b, abstaining)
            if not decision.adopted:
                self._failed_round(p, body, now, decision.blocking, on_text & objecting)
                return
            if rule.emergency_brake and any_true(against) and self._brake(p, body, now, against):
                return
            p.abstainers |= abstaining
        log.record(now, p.id, _AGREED, b, value=p.text)
        self._agreed(p, body, now)

    def _failed_round(
        self,
        p: Proposal,
        body: CompiledBody,
        now: float,
        blocking: np.ndarray,
        text_objectors: np.ndarray,
    ) -> None:
        m = self.model.members
        p.failed += 1
        p.blockers = blocking
        text = compromise(
            p.text,
            p.stances.positions,
            m.tolerance,
            m.salience,
            text_objectors,
            body.compromise_step,
        )
        if text < p.text:
            p.text = text
            self.log.record(now, p.id, _COMPROMISE, body.idx, value=text)
            self._new_instructions(p, now)
        if p.failed >= body.max_rounds:
            self._exhausted(p, body, now)

    def _brake(self, p: Proposal, body: CompiledBody, now: float, against: np.ndarray) -> bool:
        """Emergency brake (Art. 31(2) TEU): an outvoted state refers the item to the top."""
        top = self.model.escalation
        if p.braked or top is None or body.idx == top:
            return False
        invoked = brake_invoked(against, self.model.members.brake_p, self.rng_brake)
        if not any_true(invoked):
            return False
        p.braked = True
        self.log.record_members(now, p.id, _EMERGENCY_BRAKE, body.idx, invoked)
        self._escalate(p, body, top, now)
        return True

    def _exhausted(self, p: Proposal, body: CompiledBody, now: float) -> None:
        """Rounds exhausted: escalate, or at the top block, withdraw or wait for the deadline."""
        m = self.model
        route = m.types[p.type].route
        at_top = body.idx == m.escalation
        if not at_top and p.pos < len(route) - 1:
            p.pos += 1
            self._escalate(p, body, route[p.pos], now)
        elif not at_top and m.escalation is not None and not p.visited_top:
            self._escalate(p, body, m.escalation, now)
        elif p.deadline is not None:
            p.failed = 0  # keeps trying until the deadline lapses it
        elif self.rng_outcome.random() < m.types[p.type].spec.withdraw_probability:
            self._finish(p, "withdrawn", _WITHDRAWN, now, body.id)
        else:
            self._finish(p, "blocked", _BLOCKED, now, body.id)

    def _escalate(self, p: Proposal, body: CompiledBody, target: int, now: float) -> None:
        p.escalations += 1
        if target == self.model.escalation:
            p.visited_top = True
        self.log.record(now, p.id, _ESCALATED, body.idx)
        self._leave(p, now, "escalated")
        self._new_instructions(p, now)
        self._enqueue(p, target, True, now)

    def _agreed(self, p: Proposal, body: CompiledBody, now: float) -> None:
        """After agreement: refer back from the top, adopt at the end of the route, or move on."""
        m = self.model
        route = m.types[p.type].route
        if body.idx == m.escalation:
            self.log.record(now, p.id, _REFERRED_BACK, body.idx)
            self._leave(p, now, "referred_back")
            p.pos = len(route) - 1
            self._enqueue(p, route[-1], False, now)
        elif body.idx == route[-1]:
            self._adopt(p, now, body.id)
        else:
            self._leave(p, now, "agreed")
            self._move_on(p, now)

    def _move_on(self, p: Proposal, now: float) -> None:
        """Send an agreed text to the next body of its route as an I/A item (or to written
        procedure when the next body is the adopting one and the type allows it)."""
        ptype = self.model.types[p.type]
        p.pos += 1
        if p.pos == len(ptype.route) - 1 and ptype.spec.written_procedure:
            self._start_written(p, now)
        else:
            self._enqueue(p, ptype.route[p.pos], False, now)

    def _pass_closed(self, p: Proposal, body: CompiledBody, now: float) -> None:
        """An I/A item: noted without discussion below the Council; formally voted (A item) at
        the adopting body. States keep the stance they took when the text was agreed: those
        that abstained abstain again, others who still object vote against. If the rule then
        fails, the item becomes a B item, discussed from the next meeting on."""
        m = self.model
        route = m.types[p.type].route
        if body.idx != route[-1]:
            self.log.record(now, p.id, _AGREED, body.idx, value=p.text)
            self._leave(p, now, "agreed")
            self._move_on(p, now)
            return
        members = m.members
        objecting, _ = objections(members, p.text, p.stances, now, None)
        votes = np.zeros(members.n, dtype=np.int8)
        if any_true(objecting):
            rule = body.rule or m.types[p.type].rule
            abstain = _FORMAL_ABSTAIN if isinstance(rule, ConstructiveAbstentionRule) else _ABSTAIN
            votes[objecting] = _AGAINST
            votes[objecting & p.abstainers] = abstain
            adopted = rule.decide(votes, members.population).adopted
        else:
            adopted = True
        self.log.record(now, p.id, _VOTE, body.idx, value=float((votes == 0).sum()))
        if adopted:
            p.abstainers |= votes >= _ABSTAIN
            self._adopt(p, now, body.id)
        else:
            p.open = True

    def _adopt(self, p: Proposal, now: float, where: str) -> None:
        outcome = "adopted_with_abstentions" if any_true(p.abstainers) else "adopted"
        self._finish(p, outcome, _ADOPTED, now, where)

    # --- written procedure and deadlines -------------------------------------------------------

    def _start_written(self, p: Proposal, now: float) -> None:
        """Written / silence procedure (Council RoP Art. 12(2)): adopted at the end of the
        period unless a state objects, which sends the item back to the meeting route."""
        wp = self.model.written_days
        assert wp is not None  # validated: written_procedure types need the table
        days = float(wp.sample(self.rng_written, 1)[0])
        objecting = written_objections(self.model.members.written_p, self.rng_written)
        p.in_written = True
        p.body = -1
        self.log.record(now, p.id, _WRITTEN_PROCEDURE, value=days)
        self.env.timeout(days).callbacks.append(lambda _: self._end_written(p, now, objecting))

    def _end_written(self, p: Proposal, started: float, objecting: np.ndarray) -> None:
        if p.outcome is not None:
            return
        now = self.env.now
        p.in_written = False
        self.stage_rows.append(
            (p.id, p.type, -1, started, now, now - started, 0.0, 0.0, 0, "written_procedure")
        )
        if any_true(objecting):
            self.log.record_members(now, p.id, _OBJECTION, -1, objecting)
            route = self.model.types[p.type].route
            self._enqueue(p, route[-1], True, now)
        else:
            self._adopt(p, now, "written_procedure")

    def _lapse_callback(self, p: Proposal) -> Callable[[simpy.Event], None]:
        return lambda _: self._lapse(p)

    def _lapse(self, p: Proposal) -> None:
        if p.outcome is not None:
            return
        now = self.env.now
        if p.body >= 0:
            self.agendas[p.body].remove(p)
        where = self.model.bodies[p.body].id if p.body >= 0 else "written_procedure"
        self._finish(p, "lapsed", _LAPSED, now, where)

    # --- book-keeping ------------------------------------------------------------------------

    def _new_instructions(self, p: Proposal, now: float) -> None:
        scale = self.model.types[p.type].spec.instruction_scale
        p.ready = instructions_ready(now, scale, self.instruction_rows.next())
        p.ready_max = float(p.ready.max())
        p.text_time = now
        p.instr_logged = False
        p.held_logged = False

    def _enqueue(self, p: Proposal, body: int, open_: bool, now: float) -> None:
        p.body, p.open, p.entered, p.t_mark = body, open_, now, now
        p.failed = p.visit_rounds = 0
        p.tabled = False
        p.wait_meeting = p.wait_instructions = p.negotiating = 0.0
        self.agendas[body].append(p)

    def _account(self, p: Proposal, now: float) -> None:
        interval = now - p.t_mark
        if interval > 0:
            instr = min(max(p.ready_max - p.t_mark, 0.0), interval) if p.open else 0.0
            p.wait_instructions += instr
            if p.visit_rounds:
                p.negotiating += interval - instr
            else:
                p.wait_meeting += interval - instr
        p.t_mark = now

    def _leave(self, p: Proposal, now: float, how: str) -> None:
        self.stage_rows.append(
            (
                p.id,
                p.type,
                p.body,
                p.entered,
                now,
                p.wait_meeting,
                p.wait_instructions,
                p.negotiating,
                p.visit_rounds,
                how,
            )
        )
        p.body = -1

    def _finish(
        self, p: Proposal, outcome: str, activity: int, now: float, where: str = ""
    ) -> None:
        if p.body >= 0:
            self._account(p, now)
            body = p.body
            self._leave(p, now, outcome)
        else:
            body = -1
        p.outcome = outcome
        p.decided_day = now
        p.decided_at = where
        self.log.record(now, p.id, activity, body)
