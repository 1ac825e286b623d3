"""The compiled engine's random numbers: read from pools drawn beforehand.

Each named stream of a replication (:mod:`sim.core.rng`) is drawn before the run, in the
blocks the Python engine draws it in, and handed over as an array; here they are read in the
engine's order. A pool that runs out stops the run (``C_EXHAUSTED``): the caller draws a larger
one and runs the replication again. Streams that mix draws of several kinds (the written
procedure's periods and objections, the concessions, the mediation) are pools of doubles, read
one double a value: so only distributions that take one double a value (fixed, uniform,
triangular: numpy's formulas) are drawn here.
"""

from __future__ import annotations

import math

from numba import njit

from sim.engine.kernel.state import (
    C_DAYS_AT,
    C_DAYS_LEFT,
    C_EXHAUSTED,
    C_URGENT_AT,
    C_URGENT_LEFT,
    C_WRITTEN,
    D_FIXED,
    D_TRIANGULAR,
    D_UNIFORM,
    DIST_URGENT,
    DIST_WRITTEN,
)


@njit(cache=True)
def row(r, pool, cursor, which):
    """The next row of ``pool`` (its cursor at ``r.ic[cursor]``); a row of the last one if it
    ran out (the run is then void: ``C_EXHAUSTED``)."""
    i = r.ic[cursor]
    if i >= len(pool):
        if r.ic[C_EXHAUSTED] == 0:
            r.ic[C_EXHAUSTED] = 1 + which
        return pool[len(pool) - 1]
    r.ic[cursor] = i + 1
    return pool[i]


@njit(cache=True)
def double(r, pool, cursor, which):
    """The next double of a flat pool."""
    i = r.ic[cursor]
    if i >= len(pool):
        if r.ic[C_EXHAUSTED] == 0:
            r.ic[C_EXHAUSTED] = 1 + which
        return 0.5
    r.ic[cursor] = i + 1
    return pool[i]


@njit(cache=True)
def value(dist, u):
    """A value of ``dist`` (family and parameters) from the double ``u``, by numpy's formulas
    (``random_uniform``, ``random_triangular``)."""
    family = dist[0]
    if family == D_FIXED:
        return dist[1]
    if family == D_UNIFORM:
        return dist[1] + (dist[2] - dist[1]) * u
    if family == D_TRIANGULAR:
        left, mode, right = dist[1], dist[2], dist[3]
        base = right - left
        leftbase = mode - left
        ratio = leftbase / base
        leftprod = leftbase * base
        rightprod = (right - mode) * base
        if u <= ratio:
            return left + math.sqrt(u * leftprod)
        return right - math.sqrt((1.0 - u) * rightprod)
    return math.nan


@njit(cache=True)
def draws_one(dist):
    """Whether a value of ``dist`` takes a double (a fixed one takes none)."""
    return dist[0] != D_FIXED


@njit(cache=True)
def sample(s, r, pool, cursor, which, d):
    """One value of the flat pool's distribution ``s.dists[d]`` (numpy's ``sample(rng, 1)``)."""
    dist = s.dists[d]
    u = double(r, pool, cursor, which) if draws_one(dist) else 0.0
    return value(dist, u)


@njit(cache=True)
def written_period(s, r, pool, which, urgent):
    """The next written-procedure period: from the urgent rows if ``urgent`` and the scenario
    has them, else the ordinary ones (each a block of rows drawn when the last runs out, as
    :class:`sim.core.rng.Rows`: 64 ordinary, 16 urgent)."""
    d, at, left, rows = DIST_WRITTEN, C_DAYS_AT, C_DAYS_LEFT, 64
    if urgent and s.dists[DIST_URGENT, 0] != 0:
        d, at, left, rows = DIST_URGENT, C_URGENT_AT, C_URGENT_LEFT, 16
    dist = s.dists[d]
    if r.ic[left] == 0:  # the block ran out: the next one is drawn now
        r.ic[at] = r.ic[C_WRITTEN]
        r.ic[left] = rows
        if draws_one(dist):
            r.ic[C_WRITTEN] += rows
            if r.ic[C_WRITTEN] > len(pool) and r.ic[C_EXHAUSTED] == 0:
                r.ic[C_EXHAUSTED] = 1 + which
    i = r.ic[at] + rows - r.ic[left]
    r.ic[left] -= 1
    u = pool[min(i, len(pool) - 1)] if draws_one(dist) else 0.0
    return value(dist, u)
