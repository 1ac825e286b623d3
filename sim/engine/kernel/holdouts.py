"""The compiled engine's hold-outs: raised as plain timers, or bargained until a concession
(:mod:`sim.engine.bargaining`)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from sim.engine.kernel.draws import double, sample
from sim.engine.kernel.queue import schedule
from sim.engine.kernel.rules import add_reduce, can_block
from sim.engine.kernel.state import (
    C_CONCESSION,
    DIST_MARGIN,
    DIST_STAGGER,
    E_CLIMB,
    E_CONCESSION,
    F_HEND,
    I_HOLD_STARTED,
    P_CONCESSION,
    PR_ALLY_DISTANCE,
    PR_AT_CLOSING,
    PR_BARGAINING,
    PR_CLIMB_AFTER,
    PR_LEVEL,
    PR_TANDEM,
    RI_BRAKE,
)


@njit(cache=True)
def set_until(q, p, until):
    """``p``'s hold-outs end on the days ``until`` (-inf: none), the last of them at ``F_HEND``."""
    q.until[p, :] = until
    end = -np.inf
    for x in until:
        end = max(end, x)
    q.pf[p, F_HEND] = end


@njit(cache=True)
def on_agenda(s, r, q, p, rank, now):
    """``p`` put on the agenda of a body of ``rank`` at ``now``: timers raise at once; a
    bargaining practice on the agenda (not at closing) at its level or above."""
    if q.pi[p, I_HOLD_STARTED]:
        return
    if s.practice[PR_BARGAINING] == 0.0:
        _raise_timers(q, p, now)
    elif not (s.practice[PR_AT_CLOSING] != 0.0 or rank < s.practice[PR_LEVEL]):
        _raise(s, r, q, p, now)


@njit(cache=True)
def ripe(s, r, q, p, rank, now):
    """``p``'s text ripe for agreement at a body of ``rank``: demands raised at closing."""
    pr = s.practice
    at_closing = pr[PR_BARGAINING] != 0.0 and pr[PR_AT_CLOSING] != 0.0
    if at_closing and not q.pi[p, I_HOLD_STARTED] and rank >= pr[PR_LEVEL]:
        _raise(s, r, q, p, now)


@njit(cache=True)
def holds(s, q, p, now):
    """Whether ``p`` waits for a concession (bargaining only)."""
    return s.practice[PR_BARGAINING] != 0.0 and q.pf[p, F_HEND] > now


@njit(cache=True)
def _raise_timers(q, p, now):
    q.pi[p, I_HOLD_STARTED] = 1
    if q.holders[p].any():
        until = np.where(q.holders[p], now + q.hold_days[p], -np.inf)
        set_until(q, p, until)


@njit(cache=True)
def _raise(s, r, q, p, now):
    """:meth:`sim.engine.bargaining.Bargaining._raise`."""
    q.pi[p, I_HOLD_STARTED] = 1
    holders = q.holders[p].copy()
    if not holders.any():
        return
    if not math.isnan(s.practice[PR_ALLY_DISTANCE]):
        holders = _in_the_shadow_of_the_vote(s, r, q, p, holders)
        if not holders.any():
            return
    concede_by = math.nan
    if not math.isnan(q.deadline[p]) and s.dists[DIST_MARGIN, 0] != 0:
        concede_by = q.deadline[p] - sample(
            s, r, r.pools.concession, C_CONCESSION, P_CONCESSION, DIST_MARGIN
        )
    until = now + q.hold_days[p]
    if not math.isnan(concede_by):
        until = np.minimum(until, max(concede_by, now))
    set_until(q, p, np.where(holders, until, -np.inf))
    if not math.isnan(s.practice[PR_TANDEM]):
        holders = _tandem(s, r, q, p, holders, concede_by)
    for i in range(len(holders)):
        if holders[i]:
            schedule(r, q.until[p, i] - now, E_CONCESSION, p, i, now)
    if not math.isnan(s.practice[PR_CLIMB_AFTER]) and math.isnan(q.deadline[p]):
        climb_later(s, r, q, p, now)


@njit(cache=True)
def climb_later(s, r, q, p, now):
    """If ``p`` will still be held ``climb_after`` days from ``now``, it climbs a rung then."""
    after = s.practice[PR_CLIMB_AFTER]
    if q.pf[p, F_HEND] - now > after:
        schedule(r, after, E_CLIMB, p, 0, 0.0)


@njit(cache=True)
def _in_the_shadow_of_the_vote(s, r, q, p, holders):
    rule = s.type_rule[q.ptype[p]]
    distance = s.practice[PR_ALLY_DISTANCE]
    keep = holders.copy()
    pos = q.positions[p]
    for i in range(len(holders)):
        if not holders[i]:
            continue
        allies = np.abs(pos - pos[i]) <= distance
        if can_block(s, rule, allies):
            continue
        brakes = False
        if s.rule_i[rule, RI_BRAKE]:
            brakes = double(r, r.pools.concession, C_CONCESSION, P_CONCESSION) < s.brake_p[i]
        keep[i] = brakes
    return keep


@njit(cache=True)
def _tandem(s, r, q, p, holders, concede_by):
    """:meth:`sim.engine.bargaining.Bargaining._tandem`."""
    join = s.practice[PR_TANDEM]
    weights = np.where(holders, 0.0, s.holdout_p)
    total = add_reduce(weights)
    if double(r, r.pools.concession, C_CONCESSION, P_CONCESSION) >= join or total <= 0.0:
        return holders
    cdf = np.cumsum(weights / total)
    cdf /= cdf[-1]
    u = double(r, r.pools.concession, C_CONCESSION, P_CONCESSION)
    second = int(np.searchsorted(cdf, u, side="right"))
    until = q.until[p].copy()
    until[second] = q.pf[p, F_HEND] + sample(
        s, r, r.pools.concession, C_CONCESSION, P_CONCESSION, DIST_STAGGER
    )
    if not math.isnan(concede_by):
        until[second] = min(until[second], max(concede_by, q.pf[p, F_HEND]))
    set_until(q, p, until)
    joined = holders.copy()
    joined[second] = True
    return joined
