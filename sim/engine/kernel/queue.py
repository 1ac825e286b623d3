"""The compiled engine's event queue: SimPy's order, without SimPy.

SimPy processes events by time, then by the order they were scheduled (all of ours are
timeouts of one priority); :func:`schedule` and :func:`pop` keep that order with a binary heap
on ``(time, sequence number)``. A timeout due ``delay`` days from now is due at
``now + delay``, computed as SimPy computes it, so that the float times agree to the bit.
"""

from __future__ import annotations

from numba import njit

from sim.engine.kernel.state import C_EXHAUSTED, C_HEAP, C_SEQ, P_HEAP


@njit(cache=True, inline="always")
def _less(r, i, j):
    return r.heap_t[i] < r.heap_t[j] or (
        r.heap_t[i] == r.heap_t[j] and r.heap_seq[i] < r.heap_seq[j]
    )


@njit(cache=True, inline="always")
def _swap(r, i, j):
    for a in (r.heap_t, r.heap_f):
        a[i], a[j] = a[j], a[i]
    for b in (r.heap_seq, r.heap_kind, r.heap_a, r.heap_b):
        b[i], b[j] = b[j], b[i]


@njit(cache=True)
def schedule(r, delay, kind, a, b, f):
    """A timeout of ``delay`` days from now, of ``kind`` with its arguments ``a``, ``b``
    (integers) and ``f`` (a float)."""
    n = r.ic[C_HEAP]
    if n == len(r.heap_t):
        if r.ic[C_EXHAUSTED] == 0:
            r.ic[C_EXHAUSTED] = 1 + P_HEAP
        return
    r.heap_t[n] = r.sc[0] + delay
    r.heap_seq[n] = r.ic[C_SEQ]
    r.ic[C_SEQ] += 1
    r.heap_kind[n], r.heap_a[n], r.heap_b[n], r.heap_f[n] = kind, a, b, f
    r.ic[C_HEAP] = n + 1
    while n > 0:
        parent = (n - 1) // 2
        if not _less(r, n, parent):
            break
        _swap(r, n, parent)
        n = parent


@njit(cache=True)
def pop(r):
    """Remove the next event; its time, kind and arguments."""
    t, kind, a, b, f = r.heap_t[0], r.heap_kind[0], r.heap_a[0], r.heap_b[0], r.heap_f[0]
    n = r.ic[C_HEAP] - 1
    r.ic[C_HEAP] = n
    if n > 0:
        _swap(r, 0, n)
        i = 0
        while True:
            left, right, low = 2 * i + 1, 2 * i + 2, i
            if left < n and _less(r, left, low):
                low = left
            if right < n and _less(r, right, low):
                low = right
            if low == i:
                break
            _swap(r, i, low)
            i = low
    return t, kind, a, b, f
