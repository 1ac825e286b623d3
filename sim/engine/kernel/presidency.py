"""The compiled engine's presidency: extraordinary meetings for urgent items and concessions
(:mod:`sim.engine.presidency`)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from sim.engine.kernel.queue import schedule
from sim.engine.kernel.state import (
    C_EXHAUSTED,
    C_NODES,
    C_SLOTS,
    E_EXTRA_MEETING,
    I_URGENT,
    P_NODES,
    PR_CLOSES,
    PR_OPENS,
    PR_WARMUP,
    PR_WEEKDAY0,
    V_BODY,
)


@njit(cache=True)
def convene_for(s, r, q, p):
    """An extraordinary meeting of the body an urgent item ``p`` is at, if it holds them."""
    b = q.pi[p, V_BODY]
    if q.pi[p, I_URGENT] and b >= 0 and not math.isnan(s.extra_days[b]):
        _convene(s, r, q, b, r.sc[0], p, True)


@njit(cache=True)
def convene_at(s, r, q, p):
    """An extraordinary meeting of the body ``p`` is at, urgent or not (a concession)."""
    b = q.pi[p, V_BODY]
    if not math.isnan(s.extra_days[b]):
        pressing = q.pi[p, I_URGENT] != 0 or not math.isnan(q.deadline[p])
        _convene(s, r, q, b, r.sc[0], p, pressing)


@njit(cache=True)
def _in_hours(s, at):
    day = math.floor(at)
    hour = at - day
    opens = s.practice[PR_OPENS]
    if hour < opens:
        return day + opens
    if hour >= s.practice[PR_CLOSES]:
        return day + 1 + opens
    return at


@njit(cache=True)
def _in_recess(s, b, at):
    day = math.floor(at + s.practice[PR_WARMUP])
    return 0 <= day < s.recess.shape[1] and s.recess[b, day] != 0


@njit(cache=True)
def _add(r, slot, p):
    k = r.ic[C_NODES]
    if k == len(r.node_pid):
        if r.ic[C_EXHAUSTED] == 0:
            r.ic[C_EXHAUSTED] = 1 + P_NODES
        return
    r.node_pid[k], r.node_next[k] = p, r.slot_head[slot]
    r.slot_head[slot] = k
    r.ic[C_NODES] = k + 1


@njit(cache=True)
def convened_for(r, slot, p):
    """Whether the extraordinary meeting of set ``slot`` was convened for ``p``."""
    k = r.slot_head[slot]
    while k >= 0:
        if r.node_pid[k] == p:
            return True
        k = r.node_next[k]
    return False


@njit(cache=True)
def _convene(s, r, q, b, now, p, pressing):
    """:meth:`sim.engine.presidency.Presidency._convene`."""
    deadline = q.deadline[p]
    has_deadline = not math.isnan(deadline)
    due = now + s.extra_days[b]
    at = _in_hours(s, due)
    if has_deadline and due < deadline <= at:
        at = due
    weekday = (int(s.practice[PR_WEEKDAY0]) + math.floor(at)) % 7
    if weekday >= 5 and not s.extra_weekends[b]:
        monday = at + 7 - weekday
        if not has_deadline or monday < deadline:
            at = monday
    if not pressing and s.recess.shape[1] > 0 and _in_recess(s, b, at):
        return
    lo, hi = s.times_at[b], s.times_at[b + 1]
    i = lo + int(np.searchsorted(s.times[lo:hi], now, side="right"))
    if i < hi and s.times[i] <= at:
        return
    if r.extra_at[b] > now:
        _add(r, r.extra_slot[b], p)
        return
    slot = r.ic[C_SLOTS]
    if slot == len(r.slot_head):
        if r.ic[C_EXHAUSTED] == 0:
            r.ic[C_EXHAUSTED] = 1 + P_NODES
        return
    r.ic[C_SLOTS] = slot + 1
    r.slot_head[slot] = -1
    _add(r, slot, p)
    r.extra_at[b], r.extra_slot[b] = at, slot
    schedule(r, at - now, E_EXTRA_MEETING, b, slot, at)
