"""The compiled engine's event loop: one replication from its first day to the horizon
(:meth:`sim.engine.replication.Replication.run`)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from sim.engine.kernel import chair, timers
from sim.engine.kernel.desk import apply, finish, new_text
from sim.engine.kernel.draws import draws_one
from sim.engine.kernel.logs import record
from sim.engine.kernel.queue import pop, schedule
from sim.engine.kernel.state import (
    A_PENDING,
    A_SUBMITTED,
    C_ARRIVED,
    C_DAYS_AT,
    C_DAYS_LEFT,
    C_EXHAUSTED,
    C_HEAP,
    C_URGENT_AT,
    C_URGENT_LEFT,
    C_WRITTEN,
    DIST_URGENT,
    DIST_WRITTEN,
    E_ARRIVAL,
    E_CLIMB,
    E_CONCESSION,
    E_EXTRA_MEETING,
    E_LAPSE,
    E_MEDIATION_END,
    E_MEETING,
    E_PRESSURE,
    E_WRITTEN_END,
    F_HEND,
    F_TEXT,
    I_OUTCOME,
    NO_OUTCOME,
    O_PENDING,
    PR_HORIZON,
    PR_WARMUP,
    SILENCE,
    TABLE,
    V_BODY,
    PoolsRef,
    ProposalsRef,
    RunRef,
    ScenarioRef,
)


@njit(cache=True)
def run(s, r, q):
    """Run the replication to the horizon and close every open proposal as pending; 0, or the
    pool that ran out (1 + its index: the run is void, see :mod:`sim.engine.kernel.draws`)."""
    warmup, horizon = s.practice[PR_WARMUP], s.practice[PR_HORIZON]
    r.sc[0] = -warmup if warmup else 0.0
    _written_blocks(s, r)
    if len(q.arrival):
        schedule(r, max(q.arrival[0] - r.sc[0], 0.0), E_ARRIVAL, 0, 0, 0.0)
    for b in range(len(s.capacity)):
        lo, hi = s.times_at[b], s.times_at[b + 1]
        if hi > lo:
            schedule(r, s.times[lo] - r.sc[0], E_MEETING, b, lo, s.times[lo])
    stop = r.sc[0] + (horizon - r.sc[0])
    while r.ic[C_HEAP] > 0 and r.ic[C_EXHAUSTED] == 0:
        if r.heap_t[0] >= stop:
            break
        t, kind, a, b, f = pop(r)
        r.sc[0] = t
        _dispatch(s, r, q, kind, a, b, f)
    for p in range(r.ic[C_ARRIVED]):
        if q.pi[p, I_OUTCOME] == NO_OUTCOME:
            finish(s, r, q, p, O_PENDING, A_PENDING, horizon)
    return r.ic[C_EXHAUSTED]


@njit(cache=True)
def run_records(s, r, pools, q):
    """:func:`run` on the records themselves (``r`` without its pools): the structures are
    built here, in compiled code that numba caches (their constructors called from Python are
    compiled again in every process, about a second)."""
    return run(ScenarioRef(*s), RunRef(*r, PoolsRef(*pools)), ProposalsRef(*q))


@njit(cache=True)
def _written_blocks(s, r):
    """The written procedure's first blocks of periods, drawn when the Python engine builds
    its rows (ordinary, then urgent)."""
    for d, at, left, rows in (
        (DIST_WRITTEN, C_DAYS_AT, C_DAYS_LEFT, 64),
        (DIST_URGENT, C_URGENT_AT, C_URGENT_LEFT, 16),
    ):
        if s.dists[d, 0] != 0:
            r.ic[at], r.ic[left] = r.ic[C_WRITTEN], rows
            if draws_one(s.dists[d]):
                r.ic[C_WRITTEN] += rows


@njit(cache=True)
def _dispatch(s, r, q, kind, a, b, f):
    if kind == E_MEETING:
        chair.hold_meeting(s, r, q, a, f, -1)
        nxt = b + 1
        if nxt < s.times_at[a + 1]:
            schedule(r, s.times[nxt] - r.sc[0], E_MEETING, a, nxt, s.times[nxt])
    elif kind == E_ARRIVAL:
        _arrive(s, r, q, a)
        if a + 1 < len(q.arrival):
            schedule(r, max(q.arrival[a + 1] - r.sc[0], 0.0), E_ARRIVAL, a + 1, 0, 0.0)
    elif kind == E_WRITTEN_END:
        timers.written_end(s, r, q, a)
    elif kind == E_LAPSE:
        timers.lapse(s, r, q, a)
    elif kind == E_PRESSURE:
        timers.pressure(s, r, q, a)
    elif kind == E_EXTRA_MEETING:
        chair.hold_meeting(s, r, q, a, f, b)
    elif kind == E_CONCESSION:
        timers.concession(s, r, q, a, b, f)
    elif kind == E_CLIMB:
        timers.climb(s, r, q, a)
    elif kind == E_MEDIATION_END:
        timers.mediation_end(s, r, q, a)


@njit(cache=True)
def _arrive(s, r, q, p):
    """Proposal ``p`` is tabled (:meth:`Replication._arrivals`)."""
    day, deadline, t = q.arrival[p], q.deadline[p], q.ptype[p]
    r.ic[C_ARRIVED] = p + 1
    q.pf[p, F_TEXT] = s.ambition[t]
    q.pf[p, F_HEND] = -np.inf
    q.until[p, :] = -np.inf
    q.pi[p, I_OUTCOME] = NO_OUTCOME
    q.pi[p, V_BODY] = -1
    record(s, r, day, p, A_SUBMITTED, -1, -1, q.pf[p, F_TEXT])
    new_text(s, r, q, p, day, q.scrutiny_until[p], True, q.ready[p], False)
    if not math.isnan(deadline):
        schedule(r, deadline - day, E_LAPSE, p, 0, 0.0)
        run_up = s.run_up[t]
        if not math.isnan(run_up) and deadline - run_up > day:
            schedule(r, deadline - run_up - day, E_PRESSURE, p, 0, 0.0)
    if s.silence_first[t]:
        apply(s, r, q, p, SILENCE, -1, 0, False, day)
    else:
        apply(s, r, q, p, TABLE, q.route[p, 0], 0, True, day)
