"""Member-state behaviour as vector operations over all states at once.

Every function takes the states' parameters as numpy arrays (one entry per state, in the
scenario's member order) and an explicit generator, so one round of 27 or 35 states costs a few
vector operations. The negotiation model follows the spatial bargaining tradition of Council
studies (Thomson et al., *The European Union Decides*; Bueno de Mesquita): each state has an
ideal point on a proposal type's issue dimension in [0, 1], a tolerance and a salience; the
chair's compromise moves the text towards the salience-weighted centre of the objectors.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from sim.core.distributions import Distribution
from sim.core.voting import Vote, any_true

_AGAINST, _ABSTAIN, _FORMAL_ABSTAIN = int(Vote.AGAINST), int(Vote.ABSTAIN), int(Vote.FORMAL_ABSTAIN)
assert _ABSTAIN == _AGAINST + 1  # cast_votes counts an abstention as one more than against


@dataclass(frozen=True)
class DelayGroups:
    """A per-state distribution, grouped so that states sharing one are drawn in one call."""

    groups: tuple[tuple[Distribution, np.ndarray], ...]
    n: int

    @classmethod
    def of(cls, dists: list[Distribution]) -> DelayGroups:
        """Group ``dists`` (one per state) by equal specification."""
        index: dict[str, list[int]] = {}
        spec: dict[str, Distribution] = {}
        for i, d in enumerate(dists):
            key = d.model_dump_json()
            index.setdefault(key, []).append(i)
            spec[key] = d
        return cls(tuple((spec[k], np.asarray(v)) for k, v in index.items()), len(dists))

    def draw(self, rng: np.random.Generator, rows: int) -> np.ndarray:
        """``rows`` values (days) per state, as a ``(rows, n)`` array."""
        if len(self.groups) == 1:
            return self.groups[0][0].sample(rng, rows * self.n).reshape(rows, self.n)
        out = np.empty((rows, self.n))
        for dist, idx in self.groups:
            out[:, idx] = dist.sample(rng, rows * len(idx)).reshape(rows, len(idx))
        return out


@dataclass(frozen=True)
class MemberArrays:
    """The member states' parameters as aligned arrays."""

    codes: tuple[str, ...]
    population: np.ndarray
    salience: np.ndarray
    tolerance: np.ndarray
    objection_p: np.ndarray
    scrutiny_p: np.ndarray
    holdout_p: np.ndarray
    abstain_p: np.ndarray
    brake_p: np.ndarray
    written_p: np.ndarray
    declaration_p: np.ndarray
    concession_abstain_p: np.ndarray
    instruction_delay: DelayGroups
    scrutiny_days: DelayGroups
    holdout_days: DelayGroups
    positions: dict[str, np.ndarray] = field(default_factory=dict)
    demands: dict[str, tuple[np.ndarray, DelayGroups]] = field(default_factory=dict)
    """Per proposal type with a demand of some state: each state's hold-out propensity and
    durations on it (in place of ``holdout_p`` and ``holdout_days``)."""

    @functools.cached_property
    def n(self) -> int:
        """Number of member states."""
        return len(self.codes)

    @functools.cached_property
    def weight(self) -> np.ndarray:
        """Each state's weight in the chair's compromise (:func:`compromise`): its salience,
        plus 1e-9 so that the objectors' weights never sum to zero."""
        return self.salience + 1e-9

    @functools.cached_property
    def nobody(self) -> np.ndarray:
        """No state: a shared read-only mask."""
        none = np.zeros(self.n, bool)
        none.flags.writeable = False
        return none


class ProposalStances(NamedTuple):
    """What each state brings to one proposal: its ideal point, hold-out and scrutiny (a named
    tuple: cheap to create, one per proposal)."""

    positions: np.ndarray
    accept: np.ndarray  # the most ambitious text each state accepts: position + tolerance
    holders: np.ndarray  # states that hold the item hostage for a demand of their own
    hold_days: np.ndarray  # how long each would hold out, once its demand is raised
    scrutiny_until: np.ndarray  # day until which a scrutiny reservation stands (or -inf)
    least_accept: float  # the least of ``accept``: no state objects to a text up to it

    def objectors(self, text: float) -> bool:
        """Whether some state objects to ``text`` itself (:func:`text_objections`; a scalar
        test, exact because float subtraction is monotone).

        >>> s = ProposalStances(np.zeros(2), np.array([0.5, 0.8]), np.zeros(2, bool),
        ...                     np.zeros(2), np.full(2, -np.inf), 0.5)
        >>> s.objectors(0.5), s.objectors(0.6)
        (False, True)
        """
        return text - self.least_accept > 1e-12


@dataclass(frozen=True, slots=True)
class Holdouts:
    """When each hold-out ends (``-inf``: none, or not raised yet) and the last of them."""

    until: np.ndarray
    end: float

    @classmethod
    def none(cls, n: int) -> Holdouts:
        """No hold-out raised (one shared, read-only instance per number of states)."""
        if n not in _NO_HOLDOUTS:
            until = np.full(n, -np.inf)
            until.flags.writeable = False
            _NO_HOLDOUTS[n] = cls(until, -np.inf)
        return _NO_HOLDOUTS[n]


_NO_HOLDOUTS: dict[int, Holdouts] = {}


def raise_holdouts(
    stances: ProposalStances,
    now: float,
    concede_by: float | None,
    holders: np.ndarray | None = None,
) -> Holdouts:
    """The ``holders`` (default: the stances') raise their demands at ``now``: each holds out
    for its ``hold_days``, but concedes by ``concede_by`` (a deadline less a margin), if given,
    at the latest.

    >>> s = ProposalStances(np.zeros(2), np.ones(2), np.array([True, False]),
    ...                     np.array([30.0, 5.0]), np.full(2, -np.inf), 1.0)
    >>> raise_holdouts(s, 10.0, None).until.tolist(), raise_holdouts(s, 10.0, 25.0).end
    ([40.0, -inf], 25.0)
    """
    until = now + stances.hold_days
    if concede_by is not None:
        until = np.minimum(until, max(concede_by, now))
    until = np.where(stances.holders if holders is None else holders, until, -np.inf)
    return Holdouts(until, float(until.max(initial=-np.inf)))


class StanceBlock(NamedTuple):
    """The stances of several proposals of one type: :class:`ProposalStances`' fields with a
    row per proposal."""

    positions: np.ndarray
    accept: np.ndarray
    holders: np.ndarray
    hold_days: np.ndarray
    scrutiny_until: np.ndarray
    least_accept: np.ndarray

    def rows(self) -> list[ProposalStances]:
        """One :class:`ProposalStances` a proposal (the arrays' rows: views, not copies)."""
        cols = (self.positions, self.accept, self.holders, self.hold_days, self.scrutiny_until)
        return [
            ProposalStances(*row) for row in zip(*cols, self.least_accept.tolist(), strict=True)
        ]


def stance_arrays(
    m: MemberArrays,
    proposal_type: str,
    contestation: float,
    urgent: bool | np.ndarray,
    times: np.ndarray,
    rng: np.random.Generator,
    holdout_scale: float | np.ndarray = 1.0,
    holdout_duration_scale: float = 1.0,
) -> StanceBlock:
    """Draw each state's position, hold-out and scrutiny reservation for new proposals of one
    type tabled at ``times`` (one block of draws for all of them), as arrays with a row per
    proposal (``least_accept`` an array too).

    Positions are the state's position for the type plus ``contestation`` times a standard
    normal, clipped to [0, 1]. A state takes the proposal hostage (objects whatever the text
    says, e.g. to extract a concession elsewhere) with its ``holdout_p`` (or its demand's on
    this type; times the type's ``holdout_scale``, or one per proposal), for a duration drawn
    (times ``holdout_duration_scale``) from its ``holdout_days`` (or its demand's; counted from
    when it raises its demand, see
    :func:`raise_holdouts`); likewise a parliamentary scrutiny reservation, except on the
    ``urgent`` texts (which national parliaments cannot hold up in practice). All draws are made
    for every state so the stream stays aligned across scenarios (common random numbers).
    """
    k = len(times)
    now = np.asarray(times, dtype=float)[:, None]
    u = rng.random((2, k, m.n))
    noise = rng.standard_normal((k, m.n))
    positions = np.clip(m.positions[proposal_type] + contestation * noise, 0.0, 1.0)
    holdout_p, holdout_days = m.demands.get(proposal_type, (m.holdout_p, m.holdout_days))
    hold = holdout_days.draw(rng, k) * holdout_duration_scale
    scrut = m.scrutiny_days.draw(rng, k)
    holders = u[0] < holdout_p * np.reshape(holdout_scale, (-1, 1))  # x * 1.0 is exact
    exempt = np.zeros(k, bool) | urgent  # one per proposal (cheaper than np.broadcast_to)
    scrutiny = (u[1] < m.scrutiny_p) & ~exempt[:, None]
    scrutiny_until = np.where(scrutiny, now + scrut, -np.inf)
    accept = positions + m.tolerance
    least = accept.min(axis=1, initial=np.inf)
    return StanceBlock(positions, accept, holders, hold, scrutiny_until, least)


def proposal_stances(
    m: MemberArrays,
    proposal_type: str,
    contestation: float,
    urgent: bool | np.ndarray,
    times: np.ndarray,
    rng: np.random.Generator,
    holdout_scale: float | np.ndarray = 1.0,
    holdout_duration_scale: float = 1.0,
) -> list[ProposalStances]:
    """Each new proposal's stances (:func:`stance_arrays`, one row a proposal)."""
    return stance_arrays(
        m, proposal_type, contestation, urgent, times, rng, holdout_scale, holdout_duration_scale
    ).rows()


def instructions_ready(now: float, scale: float, delays: np.ndarray) -> np.ndarray:
    """Day each state's instructions on a new text arrive: ``now`` plus its instruction delay
    (a row drawn from :attr:`MemberArrays.instruction_delay`) times ``scale``, the proposal
    type's: urgent texts are instructed faster, long ones slower."""
    ready = delays * scale
    ready += now  # in place: one array fewer, the same sums
    return ready


def text_objections(text: float, accept: np.ndarray) -> np.ndarray:
    """States for which the text goes too far: ``text > accept``, where ``accept`` is each
    state's ``position + tolerance`` (:attr:`ProposalStances.accept`).

    >>> text_objections(0.9, np.array([0.9, 0.6, 0.7]) + np.array([0.1, 0.1, 0.2]))
    array([False,  True, False])
    """
    return text - accept > 1e-12


def still_objecting(
    blockers: np.ndarray, text: float, accept: np.ndarray, holdouts_until: np.ndarray, now: float
) -> np.ndarray:
    """The states still objecting to an item about to end unadopted at ``now``: those whose
    votes blocked its last failed round (``blockers``), or, where no round failed (silence
    broken and no meeting held since), those to which its ``text`` goes too far or that hold
    it hostage.

    >>> accept, none = np.array([0.5, 1.0, 1.0]), np.full(3, -np.inf)
    >>> still_objecting(np.array([False, True, False]), 0.8, accept, none, 1.0)
    array([False,  True, False])
    >>> still_objecting(np.zeros(3, bool), 0.8, accept, np.array([-np.inf, 5.0, 0.5]), 1.0)
    array([ True,  True, False])
    """
    if any_true(blockers):
        return blockers
    return text_objections(text, accept) | (holdouts_until > now)


def objections(
    m: MemberArrays,
    text: float,
    stances: ProposalStances,
    holdouts: Holdouts,
    now: float,
    uniforms: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Who objects in a round, and who of them objects to the text itself.

    A state objects when the text is beyond its tolerance, when it holds the item hostage, or —
    given a row of ``uniforms`` — at random with its ``objection_p`` (an idiosyncratic
    objection, e.g. a late instruction to raise a point). Formal adoption of an agreed text
    passes ``uniforms=None``.
    """
    if stances.objectors(text):
        on_text = text_objections(text, stances.accept)
    elif now >= holdouts.end and uniforms is not None:  # the common round: idiosyncratic only
        return uniforms < m.objection_p, m.nobody
    else:
        on_text = m.nobody
    objecting = on_text | (holdouts.until > now) if now < holdouts.end else on_text
    if uniforms is not None:
        objecting = objecting | (uniforms < m.objection_p)
    return objecting, on_text


def cast_votes(
    objecting: np.ndarray,
    abstain_p: np.ndarray,
    may_abstain: np.ndarray | None,
    uniforms: np.ndarray,
    declare_p: np.ndarray | None = None,
) -> np.ndarray:
    """Votes from objections. An objector allowed to abstain (``may_abstain``; None: all are)
    declares a constructive abstention (Art. 31(1) TEU) with its ``declare_p`` where the rule
    provides for one (``declare_p`` given), else abstains simply with its ``abstain_p``, else
    votes against (one uniform draw per state decides). Everyone else votes for.

    >>> u = np.array([0.05, 0.15, 0.5])
    >>> cast_votes(np.ones(3, bool), np.full(3, 0.1), np.ones(3, bool), u, np.full(3, 0.1))
    array([3, 2, 1], dtype=int8)
    """
    free = objecting if may_abstain is None else objecting & may_abstain
    if declare_p is None:  # against (1), plus one where the objector abstains (2)
        return np.add(objecting, free & (uniforms < abstain_p), dtype=np.int8)
    votes = np.zeros(len(objecting), dtype=np.int8)
    votes[objecting] = _AGAINST
    declares = free & (uniforms < declare_p)
    votes[free & ~declares & (uniforms < declare_p + abstain_p)] = _ABSTAIN
    votes[declares] = _FORMAL_ABSTAIN
    return votes


def declaration_willingness(m: MemberArrays, text: float, accept: np.ndarray) -> np.ndarray:
    """Each state's willingness to declare a constructive abstention on ``text``: its
    ``declaration_p``, lower the more salient the issue is to it, and falling with how far the
    text goes beyond what it accepts (``exp(-distance / tolerance)``): a state just beyond its
    tolerance steps aside readily, one far beyond would rather block."""
    distance = np.maximum(text - accept, 0.0)
    return m.declaration_p * (1.0 - m.salience) * np.exp(-distance / np.maximum(m.tolerance, 1e-9))


def compromise(
    text: float,
    accept: np.ndarray,
    weight: np.ndarray,
    text_objectors: np.ndarray,
    step: float,
) -> float:
    """The chair's compromise: move the text towards the salience-weighted centre of what the
    objectors would accept (``accept``: position + tolerance; ``weight``: each state's,
    :attr:`MemberArrays.weight`), by at most ``step`` on the issue dimension in one round. A
    lone objector is therefore satisfied after finitely many rounds; with several, the text
    settles where the most salient can live with it. The text never moves away from the
    objectors and stays put when nobody objects to the text itself.

    >>> compromise(1.0, np.array([0.6, 1.0]), np.array([1.0, 1.0]), np.array([True, False]), 0.25)
    0.75
    >>> compromise(1.0, np.array([0.9, 1.0]), np.array([1.0, 1.0]), np.array([True, False]), 0.25)
    0.9
    """
    if step <= 0.0 or not any_true(text_objectors):
        return text
    w = weight.compress(text_objectors)  # compress: boolean indexing without its overhead
    target = float(w.dot(accept.compress(text_objectors)) / np.add.reduce(w))
    if target >= text:
        return text
    return round(max(target, text - step), 12)


def brake_invoked(against: np.ndarray, brake_p: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """Outvoted states that invoke vital national interests (emergency brake, Art. 31(2) TEU),
    given one uniform draw per state."""
    return against & (uniforms < brake_p)


def written_objections(written_p: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """States that object in a written or silence procedure (Council RoP Art. 12(2)), given one
    uniform draw per state."""
    return uniforms < written_p
