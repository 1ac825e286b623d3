"""The compiled engine's timeouts: what happens when a deadline, a run-up, a written
procedure, a hold-out, a linkage or a mediation runs out."""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.engine.kernel import holdouts, ladder, presidency
from sim.engine.kernel.desk import apply, off_agenda, ready_on
from sim.engine.kernel.draws import double
from sim.engine.kernel.logs import record, record_members, stage_row
from sim.engine.kernel.state import (
    A_CONCESSION,
    A_OBJECTION,
    C_CONCESSION,
    C_MEDIATION,
    ESCALATE,
    F_HEND,
    F_READY_MAX,
    I_OUTCOME,
    I_PARKED,
    I_POS,
    I_URGENT,
    I_VISITED_TOP,
    LAPSE,
    NO_OUTCOME,
    P_CONCESSION,
    P_MEDIATION,
    PR_A_ITEMS,
    PR_CONCESSION_MEETING,
    PR_COUNCIL_RANK,
    PR_RELEASE,
    PR_SETTLES,
    PR_TOP,
    V_BODY,
    V_OPEN,
    X_WRITTEN,
)


@njit(cache=True)
def lapse(s, r, q, p):
    """The deadline passed with the item still open (e.g. a sanctions regime expires)."""
    if q.pi[p, I_OUTCOME] == NO_OUTCOME:
        apply(s, r, q, p, LAPSE, -1, q.pi[p, I_POS], False, r.sc[0])


@njit(cache=True)
def pressure(s, r, q, p):
    """The deadline nears: the item turns urgent (:meth:`Proposal.turn_urgent`)."""
    if q.pi[p, I_OUTCOME] != NO_OUTCOME:
        return
    now, t = r.sc[0], q.ptype[p]
    before = s.scale_crisis[t] if q.pi[p, I_URGENT] else s.scale_normal[t]
    q.pi[p, I_URGENT] = 1
    factor = s.scale_crisis[t] / before
    if factor < 1.0 and q.pf[p, F_READY_MAX] > now:
        ready = q.ready[p]
        ready_on(q, p, np.where(ready > now, now + (ready - now) * factor, ready), now)
    presidency.convene_for(s, r, q, p)


@njit(cache=True)
def written_end(s, r, q, p):
    """The end of a written procedure's period (:meth:`WrittenProcedure._end`)."""
    if q.pi[p, I_OUTCOME] != NO_OUTCOME:
        return
    now, started, first = r.sc[0], q.wp[p, 0], q.wp[p, 1] != 0.0
    body = len(s.capacity)  # the written procedure's stage code
    stage_row(r, p, q.ptype[p], body, started, now, now - started, 0.0, 0.0, 0, X_WRITTEN)
    objecting = q.wp_objecting[p].copy()
    objected = objecting.any()
    if objected:
        record_members(s, r, now, p, A_OBJECTION, -1, objecting, q.until[p], False)
    step, target, pos, open_ = ladder.after_written_procedure(
        q.route[p], q.route_len[p], int(s.practice[PR_A_ITEMS]), q.pi[p, I_POS], objected, first
    )
    apply(s, r, q, p, step, target, pos, open_, now)


@njit(cache=True)
def concession(s, r, q, p, state, since):
    """A hold-out concedes (:meth:`Bargaining._concession`)."""
    if q.pi[p, I_OUTCOME] != NO_OUTCOME:
        return
    now, body, council = r.sc[0], q.pi[p, V_BODY], s.practice[PR_COUNCIL_RANK]
    record(s, r, now, p, A_CONCESSION, body, state, now - since)
    if double(r, r.pools.concession, C_CONCESSION, P_CONCESSION) < s.concession_abstain_p[state]:
        q.abstainers[p, state] = True
    last = q.until[p, state] >= q.pf[p, F_HEND] and body >= 0
    if last and s.practice[PR_RELEASE] != 0.0 and _release(s, r, q, p, now):
        return
    if q.pi[p, I_URGENT]:
        presidency.convene_for(s, r, q, p)
    elif last and s.practice[PR_CONCESSION_MEETING] != 0.0 and s.rank[body] < council:
        presidency.convene_at(s, r, q, p)  # below the Council: ministers do not meet for one


@njit(cache=True)
def _release(s, r, q, p, now):
    if not q.pi[p, V_OPEN]:
        return False
    t = q.ptype[p]
    step, target, pos, open_ = ladder.after_concession(
        q.route[p],
        q.route_len[p],
        int(s.practice[PR_TOP]),
        int(s.practice[PR_A_ITEMS]),
        s.written_route[t] != 0,
        q.pi[p, V_BODY],
        q.b_item[p] != 0,
    )
    if step < 0:
        return False
    apply(s, r, q, p, step, target, pos, open_, now)
    return True


@njit(cache=True)
def climb(s, r, q, p):
    """A linkage hold-out outlasts its rung (:meth:`Bargaining._climb`)."""
    now = r.sc[0]
    if q.pi[p, I_OUTCOME] != NO_OUTCOME or q.pi[p, V_BODY] < 0 or q.pf[p, F_HEND] <= now:
        return
    if not q.pi[p, I_PARKED]:
        holdouts.climb_later(s, r, q, p, now)
        return
    step, target, pos, open_ = ladder.after_exhaustion(
        q.route[p],
        q.route_len[p],
        int(s.practice[PR_TOP]),
        -1,
        q.pi[p, V_BODY],
        q.pi[p, I_POS],
        q.pi[p, I_VISITED_TOP] != 0,
        True,
        0,
        False,
        False,
    )
    if step != ESCALATE:
        return
    off_agenda(r, q, p)
    apply(s, r, q, p, step, target, pos, open_, now)
    q.pi[p, I_PARKED] = 0
    holdouts.climb_later(s, r, q, p, now)


@njit(cache=True)
def mediation_end(s, r, q, p):
    """The High Representative's mediation ends (:meth:`HighRepresentative._end`)."""
    if q.pi[p, I_OUTCOME] != NO_OUTCOME or q.pi[p, V_BODY] < 0:
        return
    now = r.sc[0]
    if double(r, r.pools.mediation, C_MEDIATION, P_MEDIATION) < s.practice[PR_SETTLES]:
        for i in range(q.med_declarers.shape[1]):
            if q.med_declarers[p, i]:
                record(s, r, now, p, A_CONCESSION, q.pi[p, V_BODY], i, now - q.med_since[p])
    else:
        off_agenda(r, q, p)
        m = q.med_move[p]
        apply(s, r, q, p, m[0], m[1], m[2], m[3] != 0, now)
