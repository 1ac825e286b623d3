"""A negotiating round and the formal vote on an agreed text, as pure functions.

A round takes the text on the table, the states' stances, the decision rule and the random
draws, and returns what happened: who objects and on what grounds, the votes, whether the rule
is met, the chair's new text after a failed round, and any emergency brake. It touches no clock
and no log; the SimPy shell (:mod:`sim.engine.replication`) records the result.

Draws come through a :class:`Draws` object so that a stream is consumed only when the treaty
flow needs it (abstentions only when someone objects, the brake only when someone is outvoted):
runs stay reproducible to the bit, and tests can script every draw.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

import numpy as np

from sim.core.members import (
    Holdouts,
    MemberArrays,
    ProposalStances,
    brake_invoked,
    cast_votes,
    compromise,
    declaration_willingness,
    objections,
)
from sim.core.voting import ConstructiveAbstentionRule, Decision, Vote, VotingRule, any_true

_AGAINST, _ABSTAIN, _FORMAL_ABSTAIN = int(Vote.AGAINST), int(Vote.ABSTAIN), int(Vote.FORMAL_ABSTAIN)


class Draws(Protocol):
    """Uniform draws for one round, one row per call (one entry per member state)."""

    def objections(self) -> np.ndarray:
        """For idiosyncratic objections (compared with each state's ``objection_p``)."""
        ...

    def abstentions(self) -> np.ndarray:
        """For objectors choosing to abstain (compared with ``abstain_p``)."""
        ...

    def brake(self) -> np.ndarray:
        """For outvoted states invoking the emergency brake (compared with ``brake_p``)."""
        ...


class RoundResult(NamedTuple):
    """What one round produced. ``votes`` is None when nobody objected. ``failed``: the rule
    was not met (a failed round, counted towards escalation); a round that is neither agreed
    nor failed was held under a reservation, or ended with an emergency brake (``brake``)."""

    agreed: bool
    votes: np.ndarray | None
    decision: Decision | None
    text: float
    brake: np.ndarray | None = None
    failed: bool = False
    movers: np.ndarray | None = None  # the states a compromise was aimed at


def negotiate(
    members: MemberArrays,
    text: float,
    stances: ProposalStances,
    holdouts: Holdouts,
    rule: VotingRule,
    now: float,
    draws: Draws,
    *,
    compromise_step: float,
    brake_possible: bool,
    reserved: bool = False,
) -> RoundResult:
    """One round on ``text`` at day ``now``.

    States object to a text beyond their tolerance, while they hold the item hostage, or at
    random; objectors may abstain once their hold-out is over (with a declaration under
    Art. 31(1) TEU when the rule provides for one) and otherwise vote against. If the rule is
    not met, the chair's compromise moves the text towards the text-objectors
    (:func:`sim.core.members.compromise`). If it is met over the votes of some states and
    ``brake_possible`` (a QMV vote with the brake, not at the top), an outvoted state may invoke
    the emergency brake (Art. 31(2) TEU): the round then ends without agreement. While some
    capital has not instructed (``reserved``), the round is discussion only: the text may move,
    but nothing can be agreed.
    """
    objecting, on_text = objections(members, text, stances, holdouts, now, draws.objections())
    if not any_true(objecting):
        return RoundResult(not reserved, None, None, text)
    may_abstain = holdouts.until <= now if now < holdouts.end else None  # None: all may
    declare_p = (
        declaration_willingness(members, text, stances.accept)
        if isinstance(rule, ConstructiveAbstentionRule)
        else None
    )
    votes = cast_votes(objecting, members.abstain_p, may_abstain, draws.abstentions(), declare_p)
    decision = rule.decide(votes, members.population)
    if not decision.adopted:
        movers = on_text & objecting
        new = compromise(text, stances.accept, members.weight, movers, compromise_step)
        return RoundResult(False, votes, decision, new, failed=True, movers=movers)
    if reserved:
        return RoundResult(False, votes, decision, text)
    against = votes == _AGAINST
    if rule.emergency_brake and brake_possible and any_true(against):
        invoked = brake_invoked(against, members.brake_p, draws.brake())
        if any_true(invoked):
            return RoundResult(False, votes, decision, text, invoked)
    return RoundResult(True, votes, decision, text)


def formal_vote(
    members: MemberArrays,
    text: float,
    stances: ProposalStances,
    holdouts: Holdouts,
    rule: VotingRule,
    now: float,
    abstainers: np.ndarray,
) -> tuple[np.ndarray, bool]:
    """The vote on an A item at the adopting Council: ``(votes, adopted)``.

    States keep the stance they took when the text was agreed: those that abstained abstain
    again (formally under a constructive-abstention rule), others who still object vote against;
    no idiosyncratic objections at this stage.
    """
    objecting, _ = objections(members, text, stances, holdouts, now, None)
    votes = np.zeros(members.n, dtype=np.int8)
    if not any_true(objecting):
        return votes, True
    formal = isinstance(rule, ConstructiveAbstentionRule)
    votes[objecting] = _AGAINST
    votes[objecting & abstainers] = _FORMAL_ABSTAIN if formal else _ABSTAIN
    return votes, rule.decide(votes, members.population).adopted
