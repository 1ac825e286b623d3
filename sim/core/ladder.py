"""The Council ladder as pure decisions: every way a proposal can move, as a :class:`Move`.

A proposal type's :class:`Route` lists the bodies it climbs (working party → PSC → Coreper →
Council); the escalation body at the top (the European Council) sits outside the route. Each
function here answers one exit a proposal can take: after agreement an item moves on as an I/A
item (or as a B item ministers discuss), goes to written procedure, is referred back from the
top for formal adoption, or is adopted; when a body exhausts its rounds the item escalates (or,
under a QMV rule that votes higher up, is put to the vote), then once to the top, where it keeps
trying until its deadline lapses it, or is withdrawn or blocked; a failed formal vote or an
objection in written procedure reopens it; the emergency brake refers it to the top. A
declaration that would end unadopted may be issued all the same by the High Representative
(:func:`workaround`). The SimPy shell applies a move in one place
(:meth:`sim.engine.secretariat.Secretariat.apply`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple


class Step(Enum):
    """What happens to a proposal next."""

    TABLE = "table"  # a new proposal on the first body's agenda
    SILENCE = "silence"  # a new text circulated under silence procedure before any meeting
    MOVE_ON = "move_on"  # to the next body of the route, as an I/A item (or a B item)
    WRITTEN_PROCEDURE = "written_procedure"  # instead of the adopting body (Council RoP Art. 12)
    ESCALATE = "escalate"  # to a higher body, to be discussed there
    VOTE = "vote"  # consensus failed below a QMV vote: up to be voted as an A item (RoP Art. 3(6))
    BRAKE = "brake"  # an outvoted state refers it to the European Council (Art. 31(2) TEU)
    RELEASE = "release"  # a concession frees a held item waiting for ministers: on, as if agreed
    REFER_BACK = "refer_back"  # from the European Council to the adopting body (Art. 15 TEU)
    REOPEN = "reopen"  # formal adoption failed (a vote, an objection): discussed again lower down
    DEBATE = "debate"  # stays on this body's agenda, to be discussed
    ADOPT = "adopt"
    KEEP_TRYING = "keep_trying"  # rounds used up, yet stays where it is (a deadline, a holder)
    WITHDRAW = "withdraw"
    BLOCK = "block"
    LAPSE = "lapse"  # its deadline passed with the item still open
    ISSUE_BY_HR = "issue_by_hr"  # a declaration blocked, issued by the HR (or "at 26") instead


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
UNADOPTED = frozenset({Step.WITHDRAW, Step.BLOCK, Step.LAPSE})
"""The steps that end an item without adopting it (where :func:`workaround` may step in)."""


class Move(NamedTuple):
    """A step, the body it leads to (if any), the proposal's new position on the route, and
    whether it is to be discussed there (``open``) or passed as an I/A item (a named tuple:
    immutable and cheap to create, once per agreement)."""

    step: Step
    target: int | None
    pos: int
    open: bool = False


def on_tabling(route: Route, silence_first: bool) -> Move:
    """Where a new proposal starts: on the first body's agenda, to be discussed, or circulated
    under the silence procedure before any meeting (Council RoP Art. 12(2))."""
    if silence_first:
        return Move(Step.SILENCE, None, 0)
    return Move(Step.TABLE, route.bodies[0], 0, True)


def after_agreement(route: Route, body: int, pos: int, b_item: bool = False) -> Move:
    """Where an item goes once ``body`` (at route position ``pos``) has agreed on it; a
    ``b_item`` reaching the last rung goes to the adopting body to be discussed by ministers.

    >>> r = Route((0, 1, 2), top=3, written_procedure=True)
    >>> after_agreement(r, 0, 0)
    Move(step=<Step.MOVE_ON: 'move_on'>, target=1, pos=1, open=False)
    >>> after_agreement(r, 1, 1).step, after_agreement(r, 3, 1), after_agreement(r, 2, 2).step
    (<Step.WRITTEN_PROCEDURE: 'written_procedure'>, Move(step=<Step.REFER_BACK: 'refer_back'>, \
target=2, pos=2, open=False), <Step.ADOPT: 'adopt'>)
    >>> after_agreement(r, 1, 1, b_item=True)
    Move(step=<Step.MOVE_ON: 'move_on'>, target=2, pos=2, open=True)
    """
    last = len(route.bodies) - 1
    if body == route.top:
        return Move(_REFER_BACK, route.adopting, last, b_item)
    if route.adopts(body):
        return Move(_ADOPT, None, pos)
    nxt = pos + 1
    if nxt == last and b_item:
        return Move(_MOVE_ON, route.adopting, nxt, True)
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
    vote: bool = False,
) -> Move:
    """Where an item goes when ``body`` has used up its rounds on it.

    Below the top it escalates to the next body of its route, then (once) to the escalation
    body; with ``vote`` (consensus failed one rung below a QMV vote taken as an A item) it goes
    up to the adopting body's vote instead (to the A-item Council, if any). At the top, or with
    no way up, an item that ``keeps_trying`` (it has a deadline, or a hold-out is still to
    concede) stays on the agenda; otherwise it is withdrawn if ``withdraws()`` (a draw, asked
    only here) says so, else blocked. An item that ``stays`` (its deadline will bring a
    concession) keeps trying where it is, at any level.

    >>> r = Route((0, 1, 2), top=3, a_items=4)
    >>> after_exhaustion(r, 1, 1, False, False, lambda: False, vote=True)
    Move(step=<Step.VOTE: 'vote'>, target=4, pos=2, open=False)
    >>> after_exhaustion(r, 2, 2, False, False, lambda: False).target
    3
    """
    if stays:
        return Move(Step.KEEP_TRYING, None, pos)
    at_top = body == route.top
    if not at_top and pos < len(route.bodies) - 1:
        target = route.bodies[pos + 1]
        if vote and target == route.adopting:
            return Move(Step.VOTE, target if route.a_items is None else route.a_items, pos + 1)
        return Move(Step.ESCALATE, target, pos + 1, True)
    if not at_top and route.top is not None and not visited_top:
        return Move(Step.ESCALATE, route.top, pos, True)
    if keeps_trying:
        return Move(Step.KEEP_TRYING, None, pos)
    return Move(Step.WITHDRAW if withdraws() else Step.BLOCK, None, pos)


def after_concession(route: Route, body: int, b_item: bool) -> Move | None:
    """Where the last concession sends an item waiting for ministers, at its adopting ``body``
    or at the European Council above it: on at once, as if the last preparatory body had
    agreed (an A item of the next Council of any configuration, or written procedure; target
    None), instead of waiting for the next ministers' meeting or summit. None where it is not
    waiting there, or ministers are to discuss it anyway (a B item at the adopting body).

    >>> after_concession(Route((0, 1, 2), top=3, a_items=4), 2, b_item=False)
    Move(step=<Step.RELEASE: 'release'>, target=4, pos=2, open=False)
    >>> after_concession(Route((0, 1, 2), top=3, written_procedure=True), 2, False).target
    >>> after_concession(Route((0, 1, 2), top=3, a_items=4), 3, b_item=True).target
    4
    """
    at_top = body == route.top
    if len(route.bodies) < 2 or not (at_top or (body == route.adopting and not b_item)):
        return None
    last = len(route.bodies) - 1
    agreed = after_agreement(route, route.bodies[last - 1], last - 1)
    return Move(Step.RELEASE, agreed.target, last)


def after_formal_vote(route: Route, body: int, pos: int, adopted: bool) -> Move:
    """After the formal vote on an A item at ``body``: adopted, or (failed) back to the body
    that reopens it (:attr:`Route.reopens`), or discussed where it is if that is ``body``.

    >>> r = Route((0, 1, 2), top=3, a_items=4)
    >>> after_formal_vote(r, 4, 2, adopted=False)
    Move(step=<Step.REOPEN: 'reopen'>, target=1, pos=1, open=True)
    >>> after_formal_vote(r, 1, 1, adopted=False).step
    <Step.DEBATE: 'debate'>
    """
    if adopted:
        return Move(_ADOPT, None, pos)
    if body != route.reopens:
        return Move(Step.REOPEN, route.reopens, route.bodies.index(route.reopens), True)
    return Move(Step.DEBATE, body, pos, True)


def after_written_procedure(route: Route, pos: int, objected: bool, first: bool) -> Move:
    """After a written (silence) procedure: adopted, or, when a state broke silence, to be
    discussed from the route's first body (a text circulated ``first``) or where it reopens.

    >>> after_written_procedure(Route((0, 1, 2), top=None), 2, objected=True, first=True)
    Move(step=<Step.REOPEN: 'reopen'>, target=0, pos=0, open=True)
    """
    if not objected:
        return Move(_ADOPT, None, pos)
    body = route.bodies[0] if first else route.reopens
    return Move(Step.REOPEN, body, route.bodies.index(body), True)


def emergency_brake(route: Route, body: int, pos: int, braked: bool) -> Move | None:
    """The move an emergency brake makes (Art. 31(2) TEU): the unchanged text referred to the
    European Council, to be discussed there; None where the brake is not available (already
    pulled once, no escalation body, or already at the top).

    >>> emergency_brake(Route((0, 1, 2), top=3), 2, 2, braked=False)
    Move(step=<Step.BRAKE: 'brake'>, target=3, pos=2, open=True)
    """
    if braked or route.top is None or body == route.top:
        return None
    return Move(Step.BRAKE, route.top, pos, True)


def workaround(move: Move, objectors: int, max_objectors: int, issues: Callable[[], bool]) -> Move:
    """A declaration about to end unadopted (``move`` withdraws, blocks or lapses it) issued
    instead by the High Representative in her own name, or by the other states ("at 26"), when
    at most ``max_objectors`` states still object (``objectors``) and ``issues()`` (a draw,
    asked only then) says so; any other move is returned unchanged. The result is counted
    apart, never as adoption: no Council adopted the text (Borrell issued the statement on the
    ICC's arrest warrant in his own name two days after Hungary blocked it; the record's
    ST01-ST03).

    >>> workaround(Move(Step.BLOCK, None, 1), 1, 1, lambda: True)
    Move(step=<Step.ISSUE_BY_HR: 'issue_by_hr'>, target=None, pos=1, open=False)
    >>> workaround(Move(Step.LAPSE, None, 1), 2, 1, lambda: True).step
    <Step.LAPSE: 'lapse'>
    >>> workaround(Move(Step.WITHDRAW, None, 0), 1, 1, lambda: False).step
    <Step.WITHDRAW: 'withdraw'>
    """
    if move.step not in UNADOPTED or objectors > max_objectors or not issues():
        return move
    return Move(Step.ISSUE_BY_HR, None, move.pos)
