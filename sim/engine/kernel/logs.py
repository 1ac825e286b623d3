"""The compiled engine's logs: rows appended to preallocated arrays (as
:mod:`sim.engine.logs` appends to lists); a full buffer voids the run (``C_EXHAUSTED``)."""

from __future__ import annotations

import math

from numba import njit

from sim.engine.kernel.state import (
    C_EVENTS,
    C_EXHAUSTED,
    C_MEETINGS,
    C_STAGES,
    P_EVENTS,
    PR_DETAIL,
    V_ENTERED,
    V_FIRST_FAILED,
    V_NEGOTIATING,
    V_ROUNDS,
    V_WAIT_INSTR,
    V_WAIT_MEETING,
)


@njit(cache=True)
def _full(r, which):
    if r.ic[C_EXHAUSTED] == 0:
        r.ic[C_EXHAUSTED] = 1 + which


@njit(cache=True)
def record(s, r, time, case, activity, body, member, value):
    """One event (``body`` and ``member`` indices, -1 for none), if the run keeps its log."""
    if s.practice[PR_DETAIL] == 0.0:
        return
    k = r.ic[C_EVENTS]
    if k == len(r.events_f):
        _full(r, P_EVENTS)
        return
    r.events_i[k, 0], r.events_i[k, 1], r.events_i[k, 2], r.events_i[k, 3] = (
        case,
        activity,
        body,
        member,
    )
    r.events_f[k, 0], r.events_f[k, 1] = time, value
    r.ic[C_EVENTS] = k + 1


@njit(cache=True)
def event(s, r, time, case, activity, body):
    """One event without a state or a value."""
    record(s, r, time, case, activity, body, -1, math.nan)


@njit(cache=True)
def record_members(s, r, time, case, activity, body, mask, values, has_values):
    """One event per state selected by ``mask`` (with its entry of ``values`` if given)."""
    if s.practice[PR_DETAIL] == 0.0:
        return
    for i in range(len(mask)):
        if mask[i]:
            record(s, r, time, case, activity, body, i, values[i] if has_values else math.nan)


@njit(cache=True)
def stage_row(
    r,
    p,
    ptype,
    body,
    entered,
    left,
    meeting,
    instructions,
    negotiating,
    rounds,
    how,
    first_failed=math.nan,
):
    """One row of the stage table: a visit (or a written procedure's period) that ended."""
    k = r.ic[C_STAGES]
    if k == len(r.stages_f):
        _full(r, P_EVENTS)
        return
    r.stages_i[k, 0], r.stages_i[k, 1], r.stages_i[k, 2] = p, ptype, body
    r.stages_i[k, 3], r.stages_i[k, 4] = rounds, how
    r.stages_f[k, 0], r.stages_f[k, 1], r.stages_f[k, 2] = entered, left, meeting
    r.stages_f[k, 3], r.stages_f[k, 4], r.stages_f[k, 5] = instructions, negotiating, first_failed
    r.ic[C_STAGES] = k + 1


@njit(cache=True)
def stage(r, p, ptype, body, vf, vi, now, how):
    """The end of a visit (``vf``, ``vi``: the proposal's float and integer row) at ``now``."""
    stage_row(
        r,
        p,
        ptype,
        body,
        vf[V_ENTERED],
        now,
        vf[V_WAIT_MEETING],
        vf[V_WAIT_INSTR],
        vf[V_NEGOTIATING],
        vi[V_ROUNDS],
        how,
        vf[V_FIRST_FAILED],
    )


@njit(cache=True)
def meeting(s, r, body, now, discussed, ia, backlog, extraordinary):
    """A meeting held, if the run keeps its log."""
    if s.practice[PR_DETAIL] == 0.0:
        return
    k = r.ic[C_MEETINGS]
    if k == len(r.meetings_f):
        _full(r, P_EVENTS)
        return
    r.meetings_i[k, 0], r.meetings_i[k, 1], r.meetings_i[k, 2] = body, discussed, ia
    r.meetings_i[k, 3], r.meetings_i[k, 4] = backlog, extraordinary
    r.meetings_f[k] = now
    r.ic[C_MEETINGS] = k + 1
