"""The Council ladder as pure decisions: where a proposal goes after a round.

A proposal type's :class:`Route` lists the bodies it climbs (working party → PSC → Coreper →
Council); the escalation body at the top (the European Council) sits outside the route. After
agreement an item moves on as an I/A item, goes to written procedure, is referred back from the
top for formal adoption, or is adopted. When a body exhausts its rounds the item escalates to
the next body, then once to the top; at the top it keeps trying until its deadline lapses it, or
is withdrawn or blocked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple


class Step(Enum):
    """What happens to a proposal next."""

    MOVE_ON = "move_on"  # to the next body of the route, as an I/A item
    WRITTEN_PROCEDURE = "written_procedure"  # instead of the adopting body (Council RoP Art. 12)
    ESCALATE = "escalate"  # to a higher body, to be discussed there
    REFER_BACK = "refer_back"  # from the European Council to the adopting body (Art. 15 TEU)
    ADOPT = "adopt"
    KEEP_TRYING = "keep_trying"  # at the top with a deadline: until it lapses
    WITHDRAW = "withdraw"
    BLOCK = "block"


@dataclass(frozen=True, slots=True)
class Route:
    """The bodies a proposal type climbs (indices), the escalation body above them, whether
    the adopting body may be replaced by written procedure, and the body (any Council
    configuration) that adopts agreed texts as A items, if not the adopting one."""

    bodies: tuple[int, ...]
    top: int | None
    written_procedure: bool = False
    a_items: int | None = None

    def adopts(self, body: int) -> bool:
        """Whether ``body`` votes on the act (the adopting body, or the A-item Council)."""
        return body == self.bodies[-1] or body == self.a_items

    @property
    def reopens(self) -> int:
        """Where an act that failed its formal adoption (an A-item vote, or an objection in
        written procedure) is discussed: with A items adopted by any Council, back in the last
        preparatory body (Coreper), else in the adopting body itself."""
        if self.a_items is not None and len(self.bodies) > 1:
            return self.bodies[-2]
        return self.bodies[-1]

    def without(self, skipped: tuple[int, ...]) -> Route:
        """The route with the bodies ``skipped`` left out (e.g. the PSC when not required)."""
        if not skipped:
            return self
        kept = tuple(b for b in self.bodies if b not in skipped)
        return Route(kept, self.top, self.written_procedure, self.a_items)

    @property
    def adopting(self) -> int:
        """The body that adopts the act (the last of the route)."""
        return self.bodies[-1]


# steps bound once: looking up enum members is slow, and an agreement asks for several
_ADOPT, _MOVE_ON, _REFER_BACK = Step.ADOPT, Step.MOVE_ON, Step.REFER_BACK
_WRITTEN_PROCEDURE = Step.WRITTEN_PROCEDURE


class Move(NamedTuple):
    """A step, the body it leads to (if any) and the proposal's new position on the route (a
    named tuple: immutable and cheap to create, once per agreement)."""

    step: Step
    target: int | None
    pos: int


def after_agreement(route: Route, body: int, pos: int) -> Move:
    """Where an item goes once ``body`` (at route position ``pos``) has agreed on it.

    >>> r = Route((0, 1, 2), top=3, written_procedure=True)
    >>> after_agreement(r, 0, 0)
    Move(step=<Step.MOVE_ON: 'move_on'>, target=1, pos=1)
    >>> after_agreement(r, 1, 1).step, after_agreement(r, 3, 1), after_agreement(r, 2, 2).step
    (<Step.WRITTEN_PROCEDURE: 'written_procedure'>, Move(step=<Step.REFER_BACK: 'refer_back'>, \
target=2, pos=2), <Step.ADOPT: 'adopt'>)
    """
    last = len(route.bodies) - 1
    if body == route.top:
        return Move(_REFER_BACK, route.adopting, last)
    if route.adopts(body):
        return Move(_ADOPT, None, pos)
    nxt = pos + 1
    if nxt == last and route.written_procedure:
        return Move(_WRITTEN_PROCEDURE, None, nxt)
    if nxt == last and route.a_items is not None:
        return Move(_MOVE_ON, route.a_items, nxt)
    return Move(_MOVE_ON, route.bodies[nxt], nxt)


def after_exhaustion(
    route: Route,
    body: int,
    pos: int,
    visited_top: bool,
    keeps_trying: bool,
    withdraws: Callable[[], bool],
    stays: bool = False,
) -> Move:
    """Where an item goes when ``body`` has used up its rounds on it.

    Below the top it escalates to the next body of its route, then (once) to the escalation
    body. At the top, or with no way up, an item that ``keeps_trying`` (it has a deadline, or a
    hold-out is still to concede) stays on the agenda; otherwise it is withdrawn if
    ``withdraws()`` (a draw, asked only here) says so, else blocked. An item that ``stays``
    (its deadline will bring a concession) keeps trying where it is, at any level.
    """
    if stays:
        return Move(Step.KEEP_TRYING, None, pos)
    at_top = body == route.top
    if not at_top and pos < len(route.bodies) - 1:
        return Move(Step.ESCALATE, route.bodies[pos + 1], pos + 1)
    if not at_top and route.top is not None and not visited_top:
        return Move(Step.ESCALATE, route.top, pos)
    if keeps_trying:
        return Move(Step.KEEP_TRYING, None, pos)
    return Move(Step.WITHDRAW if withdraws() else Step.BLOCK, None, pos)


def brake_target(route: Route, body: int, braked: bool) -> int | None:
    """The body an emergency brake refers the item to (the European Council, Art. 31(2) TEU),
    or None where the brake is not available: already pulled once, no escalation body, or
    already at the top."""
    if braked or route.top is None or body == route.top:
        return None
    return route.top
