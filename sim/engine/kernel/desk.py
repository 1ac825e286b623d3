"""The compiled engine's secretariat: the one place a proposal moves
(:mod:`sim.engine.secretariat`), new texts to capitals, and the written procedure's start
(Council Rules of Procedure, Art. 12)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from sim.engine.kernel import holdouts, presidency
from sim.engine.kernel.draws import double, row, written_period
from sim.engine.kernel.logs import event, record, stage
from sim.engine.kernel.queue import schedule
from sim.engine.kernel.state import (
    A_ADOPTED,
    A_BLOCKED,
    A_ESCALATED,
    A_ISSUED,
    A_LAPSED,
    A_REFERRED_BACK,
    A_WITHDRAWN,
    A_WRITTEN,
    ADOPT,
    AT_NOWHERE,
    AT_WRITTEN,
    BLOCK,
    BRAKE,
    C_INSTR,
    C_SHOCK,
    C_WORKAROUND,
    C_WRITTEN,
    DEBATE,
    E_WRITTEN_END,
    ESCALATE,
    F_DECIDED,
    F_READY_MAX,
    F_TEXT,
    F_TEXT_TIME,
    I_BRAKED,
    I_DECIDED_AT,
    I_ESCALATIONS,
    I_HELD_LOGGED,
    I_HOLD_STARTED,
    I_INSTR_LOGGED,
    I_OUTCOME,
    I_POS,
    I_URGENT,
    I_VISITED_TOP,
    ISSUE_BY_HR,
    KEEP_TRYING,
    LAPSE,
    MOVE_ON,
    O_ADOPTED,
    O_ADOPTED_WITH,
    O_BLOCKED,
    O_ISSUED,
    O_LAPSED,
    O_PENDING,
    O_WITHDRAWN,
    P_INSTR,
    P_SHOCK,
    P_WORKAROUND,
    P_WRITTEN,
    PR_REINSTRUCT_ESCALATION,
    PR_SHOCK,
    PR_TOP,
    PR_WRITTEN_SHARE,
    REFER_BACK,
    RELEASE,
    REOPEN,
    SILENCE,
    TABLE,
    V_BODY,
    V_ENTERED,
    V_FAILED,
    V_FIRST_FAILED,
    V_NEGOTIATING,
    V_OPEN,
    V_ROUNDS,
    V_TABLED,
    V_TMARK,
    V_WAIT_INSTR,
    V_WAIT_MEETING,
    VOTE,
    WITHDRAW,
    WRITTEN,
    X_AGREED,
    X_ESCALATED,
    X_OF_OUTCOME,
    X_REFERRED_BACK,
)

_ENDS = {  # a step that ends an item: its outcome and the event logged
    WITHDRAW: (O_WITHDRAWN, A_WITHDRAWN),
    BLOCK: (O_BLOCKED, A_BLOCKED),
    LAPSE: (O_LAPSED, A_LAPSED),
    ISSUE_BY_HR: (O_ISSUED, A_ISSUED),
}
_OUTCOME_OF_END = np.zeros(ISSUE_BY_HR + 1, np.int64)  # by step (numba reads them as constants)
_ACTIVITY_OF_END = np.zeros(ISSUE_BY_HR + 1, np.int64)
for _step, (_outcome, _activity) in _ENDS.items():
    _OUTCOME_OF_END[_step], _ACTIVITY_OF_END[_step] = _outcome, _activity


@njit(cache=True)
def account(q, p, now):
    """Split the time since the visit's last look (:meth:`sim.core.visit.Visit.account`)."""
    vf, vi = q.pf[p], q.pi[p]
    interval = now - vf[V_TMARK]
    if interval > 0:
        instr = 0.0
        if vi[V_OPEN]:
            instr = min(max(vf[F_READY_MAX] - vf[V_TMARK], 0.0), interval)
        vf[V_WAIT_INSTR] += instr
        if vi[V_ROUNDS]:
            vf[V_NEGOTIATING] += interval - instr
        else:
            vf[V_WAIT_MEETING] += interval - instr
    vf[V_TMARK] = now


@njit(cache=True)
def apply(s, r, q, p, step, target, pos, open_, now):
    """Carry out a move (:meth:`sim.engine.secretariat.Secretariat.apply`)."""
    if step == RELEASE:
        off_agenda(r, q, p)
        step = WRITTEN if target < 0 else MOVE_ON
    if step == MOVE_ON:
        leave(r, q, p, now, X_AGREED)
    elif step == ADOPT:
        adopt(s, r, q, p, now)
        return
    elif step == TABLE:
        pass
    elif step == WRITTEN:
        leave(r, q, p, now, X_AGREED)
        q.pi[p, I_POS] = pos
        start_written(s, r, q, p, now, False)
        return
    elif step == SILENCE:
        start_written(s, r, q, p, now, True)
        return
    elif step in (ESCALATE, VOTE, BRAKE):
        _send_up(s, r, q, p, now, step, target, open_)
    elif step in (REFER_BACK, REOPEN):
        if q.pi[p, V_BODY] >= 0:
            event(s, r, now, p, A_REFERRED_BACK, q.pi[p, V_BODY])
            leave(r, q, p, now, X_REFERRED_BACK)
    elif step == DEBATE:
        q.pi[p, V_OPEN] = 1
        return
    elif step == KEEP_TRYING:
        q.pi[p, V_FAILED] = 0
        return
    else:
        _end(s, r, q, p, step, pos, now)
        return
    q.pi[p, I_POS] = pos
    enqueue(s, r, q, p, target, open_, now)


@njit(cache=True)
def off_agenda(r, q, p):
    """Take ``p`` off the agenda it waits on (its first entry there, as ``list.remove``)."""
    b = q.pi[p, V_BODY]
    n = r.agenda_len[b]
    for i in range(n):
        if r.agenda[b, i] == p:
            r.agenda[b, i : n - 1] = r.agenda[b, i + 1 : n].copy()
            r.agenda_len[b] = n - 1
            return


@njit(cache=True)
def enqueue(s, r, q, p, b, open_, now):
    """Put ``p`` on body ``b``'s agenda (a new visit); its hold-outs may be raised there, and
    an urgent one may need an extraordinary meeting."""
    vf, vi = q.pf[p], q.pi[p]
    vi[V_BODY], vi[V_OPEN], vi[V_TABLED], vi[V_ROUNDS], vi[V_FAILED] = b, open_, 0, 0, 0
    vf[V_ENTERED], vf[V_TMARK], vf[V_FIRST_FAILED] = now, now, math.nan
    vf[V_WAIT_MEETING], vf[V_WAIT_INSTR], vf[V_NEGOTIATING] = 0.0, 0.0, 0.0
    n = r.agenda_len[b]
    r.agenda[b, n] = p
    r.agenda_len[b] = n + 1
    if not q.pi[p, I_HOLD_STARTED]:
        holdouts.on_agenda(s, r, q, p, s.rank[b], now)
    if q.pi[p, I_URGENT]:
        presidency.convene_for(s, r, q, p)


@njit(cache=True)
def leave(r, q, p, now, how):
    """Close ``p``'s current visit."""
    stage(r, p, q.ptype[p], q.pi[p, V_BODY], q.pf[p], q.pi[p], now, how)
    q.pi[p, V_BODY] = -1


@njit(cache=True)
def new_text(s, r, q, p, now, not_before, has_not_before, who, has_who):
    """Capitals instruct on ``p``'s text from ``now`` (:meth:`Secretariat.new_text`)."""
    t = q.ptype[p]
    scale = s.scale_crisis[t] if q.pi[p, I_URGENT] else s.scale_normal[t]
    if s.practice[PR_SHOCK] != 0.0:
        scale *= row(r, r.pools.shocks, C_SHOCK, P_SHOCK)
    ready = row(r, r.pools.instructions, C_INSTR, P_INSTR) * scale
    ready += now
    if has_not_before:
        ready = np.maximum(ready, not_before)
    if has_who:
        ready = np.where(who, ready, q.ready[p])
    instruct(q, p, ready, now)


@njit(cache=True)
def ready_on(q, p, ready, now):
    """Capitals' instructions arrive on the days ``ready``."""
    q.ready[p, :] = ready
    latest = -np.inf
    for x in ready:
        latest = max(latest, x)
    q.pf[p, F_READY_MAX] = latest if latest > now else now


@njit(cache=True)
def instruct(q, p, ready, now):
    """A new text at ``now`` (:meth:`sim.engine.proposal.Proposal.instruct`)."""
    ready_on(q, p, ready, now)
    q.pf[p, F_TEXT_TIME] = now
    q.pi[p, I_INSTR_LOGGED] = 0
    q.pi[p, I_HELD_LOGGED] = 0


@njit(cache=True)
def _send_up(s, r, q, p, now, step, target, open_):
    q.pi[p, I_ESCALATIONS] += 1
    event(s, r, now, p, A_ESCALATED, q.pi[p, V_BODY])
    leave(r, q, p, now, X_ESCALATED)
    if step == BRAKE:
        q.pi[p, I_BRAKED] = 1
    if target == s.practice[PR_TOP]:
        q.pi[p, I_VISITED_TOP] = 1
    if open_ and s.practice[PR_REINSTRUCT_ESCALATION] != 0.0:
        new_text(s, r, q, p, now, q.ready[p], False, q.ready[p], False)


@njit(cache=True)
def still_objecting(q, p, now):
    """:func:`sim.core.members.still_objecting`."""
    if q.blockers[p].any():
        return q.blockers[p].copy()
    text = q.pf[p, F_TEXT]
    return (text - q.accept[p] > 1e-12) | (q.until[p] > now)


@njit(cache=True)
def _end(s, r, q, p, step, pos, now):
    """Close ``p`` unadopted, or issued by the High Representative (the type's workaround)."""
    if step == LAPSE and q.pi[p, V_BODY] >= 0:
        off_agenda(r, q, p)
    t = q.ptype[p]
    if not math.isnan(s.workaround_p[t]) and step != ISSUE_BY_HR:
        objecting = still_objecting(q, p, now)
        few = int(objecting.sum()) <= s.workaround_max[t]
        if step in (WITHDRAW, BLOCK, LAPSE) and few:  # drawn only then (ladder.workaround)
            u = double(r, r.pools.workaround, C_WORKAROUND, P_WORKAROUND)
            if u < s.workaround_p[t]:
                step = ISSUE_BY_HR
                q.blockers[p, :] = objecting
    finish(s, r, q, p, _OUTCOME_OF_END[step], _ACTIVITY_OF_END[step], now)


@njit(cache=True)
def adopt(s, r, q, p, now):
    """Adopt ``p`` (with abstentions, if any state abstained on the way)."""
    outcome = O_ADOPTED_WITH if q.abstainers[p].any() else O_ADOPTED
    finish(s, r, q, p, outcome, A_ADOPTED, now)


@njit(cache=True)
def finish(s, r, q, p, outcome, activity, now):
    """Close ``p`` with ``outcome`` at ``now``, where it is (a body, or written procedure)."""
    body = q.pi[p, V_BODY]
    where = AT_WRITTEN
    if body >= 0:
        account(q, p, now)
        where = body
        leave(r, q, p, now, X_OF_OUTCOME + outcome)
    if outcome == O_PENDING:
        where = AT_NOWHERE
    q.pi[p, I_OUTCOME] = outcome
    q.pf[p, F_DECIDED] = now
    q.pi[p, I_DECIDED_AT] = where
    event(s, r, now, p, activity, body)


@njit(cache=True)
def start_written(s, r, q, p, now, first):
    """Circulate ``p``'s text at ``now`` (:meth:`sim.engine.written.WrittenProcedure.start`)."""
    pool = r.pools.written
    days = written_period(s, r, pool, P_WRITTEN, q.pi[p, I_URGENT] != 0)
    share, deadline = s.practice[PR_WRITTEN_SHARE], q.deadline[p]
    if not math.isnan(share) and not math.isnan(deadline) and deadline > now:
        days = min(days, share * (deadline - now))
    objecting = np.zeros(len(s.written_p), np.bool_)
    for i in range(len(objecting)):
        objecting[i] = double(r, pool, C_WRITTEN, P_WRITTEN) < s.written_p[i]
    if first:
        objecting |= q.pf[p, F_TEXT] - q.accept[p] > 1e-12
    record(s, r, now, p, A_WRITTEN, -1, -1, days)
    q.wp_objecting[p, :] = objecting
    q.wp[p, 0], q.wp[p, 1] = now, first
    schedule(r, days, E_WRITTEN_END, p, 0, now)
