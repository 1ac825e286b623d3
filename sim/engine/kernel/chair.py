"""The compiled engine's chair: rounds, I/A items and a body's meeting
(:mod:`sim.engine.chair`, :meth:`sim.engine.replication.Replication._hold_meeting`)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from sim.engine.kernel import holdouts, ladder, presidency
from sim.engine.kernel.desk import account, apply, new_text
from sim.engine.kernel.draws import double, row, sample
from sim.engine.kernel.logs import event, meeting, record, record_members
from sim.engine.kernel.queue import schedule
from sim.engine.kernel.rules import (
    ABSTAIN,
    AGAINST,
    FORMAL_ABSTAIN,
    at,
    cast_votes,
    compromise,
    consensus_limit,
    decide_as,
    declaration_willingness,
    objections,
    objects_to_text,
)
from sim.engine.kernel.state import (
    A_ABSTENTION,
    A_AGREED,
    A_BRAKE,
    A_COMPROMISE,
    A_INSTRUCTIONS,
    A_OBJECTION,
    A_RESERVATION,
    A_TABLED,
    A_VOTE,
    BRAKE,
    C_ABS,
    C_BRAKE,
    C_MEDIATION,
    C_OBJ,
    C_OUTCOME,
    DEBATE,
    DIST_MEDIATION,
    E_MEDIATION_END,
    F_HEND,
    F_READY_MAX,
    F_TEXT,
    F_TEXT_TIME,
    I_BRAKED,
    I_HELD_LOGGED,
    I_HOLD_STARTED,
    I_INSTR_LOGGED,
    I_OUTCOME,
    I_PARKED,
    I_POS,
    I_ROUNDS,
    I_URGENT,
    I_VISITED_TOP,
    NO_OUTCOME,
    P_ABS,
    P_BRAKE,
    P_MEDIATION,
    P_OBJ,
    P_OUTCOME,
    PR_A_ITEMS,
    PR_DETAIL,
    PR_DISCUSS_RESERVED,
    PR_ESCALATE,
    PR_MEDIATION,
    PR_REINSTRUCT_OBJECTORS,
    PR_TOP,
    R_ABSTENTION,
    RI_A_ITEM,
    RI_BRAKE,
    V_BODY,
    V_ENTERED,
    V_FAILED,
    V_FIRST_FAILED,
    V_OPEN,
    V_ROUNDS,
    V_TABLED,
)


@njit(cache=True)
def _route(s, q, p):
    t = q.ptype[p]
    return (
        q.route[p],
        q.route_len[p],
        int(s.practice[PR_TOP]),
        int(s.practice[PR_A_ITEMS]),
        s.written_route[t] != 0,
    )


@njit(cache=True)
def _rule(s, q, p, b):
    """The body's rule, else the type's."""
    return s.body_rule[b] if s.body_rule[b] >= 0 else s.type_rule[q.ptype[p]]


@njit(cache=True)
def round_(s, r, q, p, b, now):
    """A round on ``p`` at a meeting of body ``b`` (:meth:`sim.engine.chair.Chair.round`)."""
    pf, pi = q.pf[p], q.pi[p]
    if not pi[V_TABLED]:
        pi[V_TABLED] = 1
        event(s, r, now, p, A_TABLED, b)
    text = pf[F_TEXT]
    reserved = pf[F_READY_MAX] > now
    if reserved:
        if not pi[I_HELD_LOGGED]:
            pi[I_HELD_LOGGED] = 1
            record_members(s, r, now, p, A_RESERVATION, b, q.ready[p] > now, q.ready[p] - now, True)
        if s.practice[PR_DISCUSS_RESERVED] == 0.0:
            return
        if not objects_to_text(text, q.least_accept[p]):
            return
    elif not pi[I_INSTR_LOGGED]:
        pi[I_INSTR_LOGGED] = 1
        record(s, r, pf[F_READY_MAX], p, A_INSTRUCTIONS, b, -1, pf[F_READY_MAX] - pf[F_TEXT_TIME])
    if not (pi[I_HOLD_STARTED] or reserved or objects_to_text(text, q.least_accept[p])):
        holdouts.ripe(s, r, q, p, s.rank[b], now)
    pi[I_ROUNDS] += 1
    pi[V_ROUNDS] += 1
    rule, voting = at(s, _rule(s, q, p, b), s.rank[b], pi[I_ROUNDS])
    top = int(s.practice[PR_TOP])
    brake_possible = voting and ladder.emergency_brake(top, b, pi[I_BRAKED] != 0)
    # negotiate (sim.core.negotiation.negotiate)
    until, end = q.until[p], pf[F_HEND]
    u = row(r, r.pools.objections, C_OBJ, P_OBJ)
    objecting, on_text = objections(
        s, text, q.accept[p], q.least_accept[p], until, end, now, u, True
    )
    if not objecting.any():
        if not reserved:
            event_agreed(s, r, q, p, b, now)
        return
    may_abstain = until <= now if now < end else np.ones(len(until), np.bool_)
    declaring = rule >= 0 and s.rule_kind[rule] == R_ABSTENTION
    declare_p = declaration_willingness(s, text, q.accept[p]) if declaring else s.abstain_p
    votes = cast_votes(
        s, objecting, may_abstain, row(r, r.pools.abstentions, C_ABS, P_ABS), declare_p, declaring
    )
    adopted, blocking = decide_as(s, rule, votes)
    if s.practice[PR_DETAIL] != 0.0:
        if voting and not reserved:
            record(s, r, now, p, A_VOTE, b, -1, float((votes == 0).sum()))
        against = votes == AGAINST
        record_members(s, r, now, p, A_OBJECTION, b, against, blocking.astype(np.float64), True)
        record_members(s, r, now, p, A_ABSTENTION, b, votes >= ABSTAIN, until, False)
    if not adopted:
        movers = on_text & objecting
        new = compromise(s, text, q.accept[p], movers, s.step[b])
        failed_round(s, r, q, p, b, now, blocking, new, movers)
        return
    if reserved:
        return
    against = votes == AGAINST
    if rule >= 0 and s.rule_i[rule, RI_BRAKE] and brake_possible and against.any():
        invoked = against & (row(r, r.pools.brake, C_BRAKE, P_BRAKE) < s.brake_p)
        if invoked.any():
            _brake(s, r, q, p, b, invoked, now)
            return
    q.abstainers[p] |= votes >= ABSTAIN
    event_agreed(s, r, q, p, b, now)


@njit(cache=True)
def event_agreed(s, r, q, p, b, now):
    """Agreement: logged, and the item moves on (:meth:`Chair.agreed`)."""
    record(s, r, now, p, A_AGREED, b, -1, q.pf[p, F_TEXT])
    route, n, top, a_items, written = _route(s, q, p)
    step, target, pos, open_ = ladder.after_agreement(
        route, n, top, a_items, written, b, q.pi[p, I_POS], q.b_item[p] != 0
    )
    apply(s, r, q, p, step, target, pos, open_, now)


@njit(cache=True)
def _brake(s, r, q, p, b, invoked, now):
    """Emergency brake (Art. 31(2) TEU): referred at once, or mediated by the High
    Representative first (:mod:`sim.engine.mediation`)."""
    record_members(s, r, now, p, A_BRAKE, b, invoked, q.until[p], False)
    top, pos = int(s.practice[PR_TOP]), q.pi[p, I_POS]
    if s.practice[PR_MEDIATION] == 0.0:
        apply(s, r, q, p, BRAKE, top, pos, True, now)
        return
    days = sample(s, r, r.pools.mediation, C_MEDIATION, P_MEDIATION, DIST_MEDIATION)
    holdouts.set_until(q, p, np.where(invoked, np.maximum(q.until[p], now + days), q.until[p]))
    q.pi[p, I_BRAKED] = 1
    q.pi[p, I_PARKED] = 1
    q.med_declarers[p, :] = invoked
    q.med_move[p, 0], q.med_move[p, 1], q.med_move[p, 2], q.med_move[p, 3] = BRAKE, top, pos, 1
    q.med_since[p] = now
    schedule(r, days, E_MEDIATION_END, p, 0, now)


@njit(cache=True)
def failed_round(s, r, q, p, b, now, blocking, new, movers):
    """The rule was not met (:meth:`sim.engine.chair.Chair.failed_round`)."""
    pf, pi = q.pf[p], q.pi[p]
    if math.isnan(pf[V_FIRST_FAILED]):
        pf[V_FIRST_FAILED] = now
    pi[V_FAILED] += 1
    q.blockers[p, :] = blocking
    if new < pf[F_TEXT]:
        pf[F_TEXT] = new
        record(s, r, now, p, A_COMPROMISE, b, -1, new)
        objectors_only = s.practice[PR_REINSTRUCT_OBJECTORS] != 0.0
        new_text(s, r, q, p, now, q.ready[p], False, movers, objectors_only)
    rule = _rule(s, q, p, b)
    limit = s.max_rounds[b]
    consensus = consensus_limit(s, rule, s.rank[b])
    vote_above = consensus >= 0
    if vote_above:
        limit = min(limit, consensus)
    waiting = holdouts.holds(s, q, p, now) and not vote_above
    if waiting:
        pi[I_PARKED] = not (q.blockers[p] & ~(q.until[p] > now)).any()
    if pi[V_FAILED] < max(limit, 1):
        return
    route, n, top, a_items, _ = _route(s, q, p)
    keeps = not math.isnan(q.deadline[p]) or waiting
    stays = waiting and (not math.isnan(q.deadline[p]) or s.practice[PR_ESCALATE] == 0.0)
    vote = vote_above and s.rule_i[rule, RI_A_ITEM] != 0
    visited = pi[I_VISITED_TOP] != 0
    withdraws = -1
    if ladder.exhaustion_needs_draw(route, n, top, b, pi[I_POS], visited, keeps, stays):
        u = double(r, r.pools.outcome, C_OUTCOME, P_OUTCOME)
        withdraws = 1 if u < s.withdraw_p[q.ptype[p]] else 0
    step, target, pos, open_ = ladder.after_exhaustion(
        route, n, top, a_items, b, pi[I_POS], visited, keeps, withdraws, stays, vote
    )
    apply(s, r, q, p, step, target, pos, open_, now)


@njit(cache=True)
def pass_closed(s, r, q, p, b, now):
    """An I/A item (:meth:`sim.engine.chair.Chair.pass_closed`; Council RoP Art. 3(8))."""
    pf, pi = q.pf[p], q.pi[p]
    if not pi[I_HOLD_STARTED]:
        holdouts.ripe(s, r, q, p, s.rank[b], now)
    route, n, top, a_items, _ = _route(s, q, p)
    adopts = ladder.adopts(route, n, a_items, b)
    rule, voting = s.type_rule[q.ptype[p]], False
    if adopts:
        rule, voting = at(s, _rule(s, q, p, b), s.rank[b], -1)
    if holdouts.holds(s, q, p, now) and not voting:
        apply(s, r, q, p, DEBATE, b, pi[I_POS], True, now)
        return
    if not adopts:
        event_agreed(s, r, q, p, b, now)
        return
    until, end, text = q.until[p], pf[F_HEND], pf[F_TEXT]
    objecting, _ = objections(
        s, text, q.accept[p], q.least_accept[p], until, end, now, until, False
    )
    votes = np.zeros(len(objecting), np.int8)
    adopted = True
    if objecting.any():
        formal = rule >= 0 and s.rule_kind[rule] == R_ABSTENTION
        for i in range(len(votes)):
            if objecting[i]:
                if q.abstainers[p, i]:
                    votes[i] = FORMAL_ABSTAIN if formal else ABSTAIN
                else:
                    votes[i] = AGAINST
        adopted, _ = decide_as(s, rule, votes)
    if s.practice[PR_DETAIL] != 0.0:
        record(s, r, now, p, A_VOTE, b, -1, float((votes == 0).sum()))
    against = votes == AGAINST
    brake = voting and rule >= 0 and s.rule_i[rule, RI_BRAKE] != 0
    if brake and adopted and ladder.emergency_brake(top, b, pi[I_BRAKED] != 0) and against.any():
        invoked = against & (row(r, r.pools.brake, C_BRAKE, P_BRAKE) < s.brake_p)
        if invoked.any():
            _brake(s, r, q, p, b, invoked, now)
            return
    if adopted:
        q.abstainers[p] |= votes >= ABSTAIN
    step, target, pos, open_ = ladder.after_formal_vote(route, n, a_items, b, pi[I_POS], adopted)
    apply(s, r, q, p, step, target, pos, open_, now)


@njit(cache=True)
def hold_meeting(s, r, q, b, now, slot):
    """A meeting of ``b`` at ``now``: regular (``slot`` -1) or extraordinary, convened for the
    set ``slot`` (:meth:`sim.engine.replication.Replication._hold_meeting`)."""
    n = r.agenda_len[b]
    extraordinary = slot >= 0
    if n == 0:
        meeting(s, r, b, now, 0, 0, 0, extraordinary)
        return
    items = r.agenda[b, :n].copy()
    keep = r.keep
    nk = 0
    order = np.empty(n, np.int64)
    no = 0
    for p in items:
        pressing = q.pi[p, I_URGENT] != 0 or not math.isnan(q.deadline[p])
        if extraordinary and not (pressing or presidency.convened_for(r, slot, p)):
            keep[nk] = p
            nk += 1
        elif q.pf[p, V_ENTERED] < now:
            order[no] = p
            no += 1
        else:
            keep[nk] = p
            nk += 1
    _sort(q, order, no)
    used = ia = 0
    for k in range(no):
        p = order[k]
        if q.pi[p, I_PARKED] and q.pf[p, F_HEND] > now:
            pass
        elif not q.pi[p, V_OPEN]:
            ia += 1
            account(q, p, now)
            pass_closed(s, r, q, p, b, now)
        elif used < s.capacity[b]:
            used += 1
            account(q, p, now)
            round_(s, r, q, p, b, now)
        if q.pi[p, V_BODY] == b and q.pi[p, I_OUTCOME] == NO_OUTCOME:
            keep[nk] = p
            nk += 1
    r.agenda[b, :nk] = keep[:nk]
    r.agenda_len[b] = nk
    for k in range(nk):
        p = keep[k]
        if (
            q.pi[p, I_URGENT]
            and q.pi[p, V_OPEN]
            and not (q.pi[p, I_PARKED] and q.pf[p, F_HEND] > now)
        ):
            presidency.convene_for(s, r, q, p)
    meeting(s, r, b, now, used, ia, nk, extraordinary)


@njit(cache=True)
def _sort(q, order, n):
    """Urgent first, then oldest, then by id (an insertion sort: agendas are short)."""
    for i in range(1, n):
        p = order[i]
        j = i - 1
        while j >= 0 and _before(q, p, order[j]):
            order[j + 1] = order[j]
            j -= 1
        order[j + 1] = p


@njit(cache=True)
def _before(q, a, b):
    ua, ub = q.pi[a, I_URGENT] == 0, q.pi[b, I_URGENT] == 0
    if ua != ub:
        return ub > ua  # not urgent sorts after urgent
    ea, eb = q.pf[a, V_ENTERED], q.pf[b, V_ENTERED]
    if ea != eb:
        return ea < eb
    return a < b
