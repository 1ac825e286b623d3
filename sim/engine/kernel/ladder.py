"""The compiled engine's ladder: where a proposal goes next (:mod:`sim.core.ladder`), as
``(step, target, pos, open)`` with target -1 for none. A route is a row of body indices
(``route[:n]``); the escalation body (``top``) and the A-item Council (``a_items``) are the
scenario's, -1 if none."""

from __future__ import annotations

from numba import njit

from sim.engine.kernel.state import (
    ADOPT,
    BLOCK,
    DEBATE,
    ESCALATE,
    KEEP_TRYING,
    MOVE_ON,
    REFER_BACK,
    RELEASE,
    REOPEN,
    VOTE,
    WITHDRAW,
    WRITTEN,
)


@njit(cache=True)
def adopts(route, n, a_items, body):
    """Whether ``body`` votes on the act (the adopting body, or the A-item Council)."""
    return body == route[n - 1] or body == a_items


@njit(cache=True)
def reopens(route, n, a_items):
    """Where an act that failed its formal adoption is discussed (``Route.reopens``)."""
    if a_items >= 0 and n > 1:
        return route[n - 2]
    return route[n - 1]


@njit(cache=True)
def index(route, n, body):
    for i in range(n):
        if route[i] == body:
            return i
    return -1


@njit(cache=True)
def after_agreement(route, n, top, a_items, written, body, pos, b_item):
    """:func:`sim.core.ladder.after_agreement`."""
    last = n - 1
    if body == top:
        return REFER_BACK, route[last], last, b_item
    if adopts(route, n, a_items, body):
        return ADOPT, -1, pos, False
    nxt = pos + 1
    if nxt == last and b_item:
        return MOVE_ON, route[last], nxt, True
    if nxt == last and written:
        return WRITTEN, -1, nxt, False
    if nxt == last and a_items >= 0:
        return MOVE_ON, a_items, nxt, False
    return MOVE_ON, route[nxt], nxt, False


@njit(cache=True)
def after_exhaustion(
    route, n, top, a_items, body, pos, visited_top, keeps_trying, withdraws, stays, vote
):
    """:func:`sim.core.ladder.after_exhaustion` (``withdraws``: -1 not asked yet, so the
    caller draws only where it is asked: see :func:`exhaustion_needs_draw`)."""
    if stays:
        return KEEP_TRYING, -1, pos, False
    at_top = body == top
    if not at_top and pos < n - 1:
        target = route[pos + 1]
        if vote and target == route[n - 1]:
            return VOTE, (target if a_items < 0 else a_items), pos + 1, False
        return ESCALATE, target, pos + 1, True
    if not at_top and top >= 0 and not visited_top:
        return ESCALATE, top, pos, True
    if keeps_trying:
        return KEEP_TRYING, -1, pos, False
    return (WITHDRAW if withdraws == 1 else BLOCK), -1, pos, False


@njit(cache=True)
def exhaustion_needs_draw(route, n, top, body, pos, visited_top, keeps_trying, stays):
    """Whether :func:`after_exhaustion` would ask whether the item is withdrawn."""
    if stays:
        return False
    at_top = body == top
    if not at_top and pos < n - 1:
        return False
    if not at_top and top >= 0 and not visited_top:
        return False
    return not keeps_trying


@njit(cache=True)
def after_concession(route, n, top, a_items, written, body, b_item):
    """:func:`sim.core.ladder.after_concession` (step -1: none)."""
    at_top = body == top
    if n < 2 or not (at_top or (body == route[n - 1] and not b_item)):
        return -1, -1, 0, False
    last = n - 1
    _, target, _, _ = after_agreement(
        route, n, top, a_items, written, route[last - 1], last - 1, False
    )
    return RELEASE, target, last, False


@njit(cache=True)
def after_formal_vote(route, n, a_items, body, pos, adopted):
    """:func:`sim.core.ladder.after_formal_vote`."""
    if adopted:
        return ADOPT, -1, pos, False
    back = reopens(route, n, a_items)
    if body != back:
        return REOPEN, back, index(route, n, back), True
    return DEBATE, body, pos, True


@njit(cache=True)
def after_written_procedure(route, n, a_items, pos, objected, first):
    """:func:`sim.core.ladder.after_written_procedure`."""
    if not objected:
        return ADOPT, -1, pos, False
    body = route[0] if first else reopens(route, n, a_items)
    return REOPEN, body, index(route, n, body), True


@njit(cache=True)
def emergency_brake(top, body, braked):
    """Whether the brake is available (:func:`sim.core.ladder.emergency_brake`)."""
    return not (braked or top < 0 or body == top)
