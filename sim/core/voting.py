"""Treaty decision rules as exact, deterministic functions on numpy vote arrays.

Votes are ``int8`` arrays, one entry per member state, holding :class:`Vote` codes; populations
are the states' populations in the same order. Each rule answers two questions: is the act
adopted, and who blocks it. Thresholds come from the scenario (so the same code serves an EU of
27 or 36), never from constants here. No SimPy, no randomness.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar, NamedTuple, Protocol, cast

import numpy as np

try:  # numpy's C function, without the Python wrapper of np.count_nonzero (3x cheaper)
    from numpy._core.multiarray import count_nonzero as _count_nonzero
except ImportError:  # pragma: no cover - numpy < 2
    _count_nonzero = np.count_nonzero


any_true = cast("Callable[[np.ndarray], int]", _count_nonzero)
"""The number of true entries of a boolean mask (one entry per state), truthy when some is:
``mask.any()`` in a condition, as numpy's C function called directly (no Python call of our own
or of numpy's reduction wrapper: several times faster on 27-element arrays)."""


def _count(mask: np.ndarray) -> int:
    return int(_count_nonzero(mask))


_EPS = 1e-9


class Vote(IntEnum):
    """A member state's vote. A formal abstention carries a declaration under Art. 31(1) TEU."""

    FOR = 0
    AGAINST = 1
    ABSTAIN = 2
    FORMAL_ABSTAIN = 3


_AGAINST, _FORMAL_ABSTAIN, _FOR = int(Vote.AGAINST), int(Vote.FORMAL_ABSTAIN), int(Vote.FOR)


class Decision(NamedTuple):
    """The result of applying a rule: adoption, and the states that block (if any)."""

    adopted: bool
    blocking: np.ndarray


def _at_least(share: float, n: int) -> int:
    """Smallest count reaching ``share`` of ``n`` (robust to float rounding).

    >>> _at_least(0.55, 27), _at_least(0.72, 27), _at_least(1 / 3, 27)
    (15, 20, 9)
    """
    return math.ceil(share * n - _EPS)


class VotingRule(Protocol):
    """A decision rule: ``decide`` one vote, and give the pass thresholds for power indices."""

    @property
    def name(self) -> str:
        """The rule's id in the scenario."""
        ...

    @property
    def emergency_brake(self) -> bool:
        """Whether an outvoted state may refer the item to the European Council."""
        ...

    @property
    def vote_as_a_item(self) -> bool:
        """Whether a text without consensus one rung below the vote is voted as an A item."""
        ...

    @property
    def by_majority(self) -> bool:
        """Whether a round may be a vote by majority rather than a search for unanimity (only
        then do :meth:`at` and :meth:`consensus_limit` say more than the rule itself)."""
        ...

    def at(self, rank: int, rounds: int | None) -> tuple[VotingRule, bool]:
        """The rule a round at a body of ``rank`` (the item's ``rounds``-th; None for a formal
        vote) is decided by, and whether it is a vote by this rule rather than consensus."""
        ...

    def consensus_limit(self, rank: int) -> int | None:
        """Failed rounds after which a body of ``rank``, below the voting level, sends the item
        up to be voted (None: the body is not below a vote)."""
        ...

    def decide(self, votes: np.ndarray, population: np.ndarray) -> Decision:
        """Whether ``votes`` adopt the act, and who blocks."""
        ...

    def passing_population(self, n: int, total: int) -> np.ndarray:
        """For a yes/no game: ``T[k]``, the least population a coalition of ``k`` states
        (k = 0..n) voting for needs to pass, ``inf`` where ``k`` states can never pass."""
        ...


class _Consensus:
    """The protocol's answers for a rule that never votes by majority: every round is decided
    by the rule itself, and no body sends an item up to be voted."""

    __slots__ = ()
    by_majority: ClassVar[bool] = False

    def at(self, rank: int, rounds: int | None) -> tuple[VotingRule, bool]:
        return cast("VotingRule", self), False

    def consensus_limit(self, rank: int) -> int | None:
        return None


@dataclass(frozen=True, slots=True)
class UnanimityRule(_Consensus):
    """Unanimity: any vote against blocks; abstention does not (Art. 238(4) TFEU).

    >>> pop = np.array([10, 20, 30])
    >>> UnanimityRule("u").decide(np.array([0, 2, 0], dtype=np.int8), pop).adopted
    True
    >>> UnanimityRule("u").decide(np.array([0, 1, 0], dtype=np.int8), pop).blocking
    array([False,  True, False])
    """

    name: str
    emergency_brake: bool = False
    vote_as_a_item: bool = False

    def decide(self, votes: np.ndarray, population: np.ndarray) -> Decision:
        against = votes == _AGAINST
        return Decision(not any_true(against), against)

    def passing_population(self, n: int, total: int) -> np.ndarray:
        t = np.full(n + 1, np.inf)
        t[n] = 0.0
        return t


@dataclass(frozen=True, slots=True)
class ConstructiveAbstentionRule(_Consensus):
    """Unanimity with constructive abstention (Art. 31(1) TEU, second subparagraph).

    A state abstaining with a formal declaration need not apply the decision and does not block,
    unless the declared abstainers are at least ``states_limit`` of the members *and* comprise
    at least ``population_limit`` of the population (one third each in the Treaty); then the
    decision is not adopted and the declared abstainers are the ones who block it. As a yes/no
    game (for power indices) it is unanimity.
    """

    name: str
    states_limit: float
    population_limit: float
    emergency_brake: bool = False
    vote_as_a_item: bool = False

    def decide(self, votes: np.ndarray, population: np.ndarray) -> Decision:
        against = votes == _AGAINST
        formal = votes == _FORMAL_ABSTAIN
        n = len(votes)
        too_many = bool(
            _count(formal) >= _at_least(self.states_limit, n)
            and population[formal].sum() >= self.population_limit * population.sum() * (1 - _EPS)
        )
        if too_many:
            return Decision(False, against | formal)
        return Decision(not any_true(against), against)

    def passing_population(self, n: int, total: int) -> np.ndarray:
        return UnanimityRule(self.name).passing_population(n, total)


@dataclass(frozen=True, slots=True)
class QualifiedMajorityRule:
    """Qualified majority (Art. 16(4) TEU; Art. 238(2)-(3) TFEU).

    Adopted when at least ``states_threshold`` of the members vote for *and* they comprise at
    least ``population_threshold`` of the population — or when the states criterion is met and
    fewer than ``min_blocking_states`` members do not vote for ("a blocking minority must
    include at least four Council members, failing which the qualified majority shall be deemed
    attained"; we read the clause as overriding only the population criterion). Abstention
    counts as not in favour. When blocked, every state not voting for is in the blocking
    minority. Reinforced QMV is the same rule with 72% of the members (Art. 238(2) TFEU).
    Practice (:meth:`votes_at`): below ``vote_rank`` and for the first ``consensus_rounds``
    rounds the chair seeks consensus (the caller decides by unanimity instead); with
    ``vote_as_a_item`` a text on which the last body below the vote failed to find consensus
    goes to the Council as an A item, to be voted without debate (Council Rules of Procedure,
    Art. 3(6)), instead of up the route to be discussed by ministers.

    >>> rule, pop = QualifiedMajorityRule("q", 0.5, 0.65, 0), np.array([40, 30, 20, 10])
    >>> rule.decide(np.array([0, 0, 1, 1], np.int8), pop).adopted
    True
    """

    name: str
    states_threshold: float
    population_threshold: float
    min_blocking_states: int
    emergency_brake: bool = False
    vote_rank: int = -1  # votes only at bodies of this rank or above (consensus below)
    consensus_rounds: int = 0  # rounds the chair seeks consensus before putting it to a vote
    vote_as_a_item: bool = False  # consensus failed below: voted without debate (an A item)
    by_majority: ClassVar[bool] = True

    def votes_at(self, rank: int, rounds: int) -> bool:
        """Whether a body of ``rank`` takes a QMV vote in its ``rounds``-th round on an item:
        in practice the chair seeks consensus first, and votes only at the Council."""
        return rank >= self.vote_rank and rounds > self.consensus_rounds

    def at(self, rank: int, rounds: int | None) -> tuple[VotingRule, bool]:
        """Under QMV the chair seeks consensus (unanimity) below the voting level and for the
        item's first consensus rounds; a formal vote counts as past them."""
        if self.votes_at(rank, self.consensus_rounds + 1 if rounds is None else rounds):
            return self, True
        return UnanimityRule(self.name), False

    def consensus_limit(self, rank: int) -> int | None:
        return self.consensus_rounds if rank < self.vote_rank else None

    def decide(self, votes: np.ndarray, population: np.ndarray) -> Decision:
        favour = votes == _FOR
        n = len(votes)
        k = _count(favour)
        states_ok = k >= _at_least(self.states_threshold, n)
        pop_ok = population[favour].sum() >= self.population_threshold * population.sum() * (
            1 - _EPS
        )
        adopted = states_ok and (bool(pop_ok) or n - k < self.min_blocking_states)
        return Decision(adopted, np.zeros(n, bool) if adopted else ~favour)

    def passing_population(self, n: int, total: int) -> np.ndarray:
        t = np.full(n + 1, np.inf)
        need = math.ceil(self.population_threshold * total * (1 - _EPS))
        for k in range(_at_least(self.states_threshold, n), n + 1):
            t[k] = 0.0 if n - k < self.min_blocking_states else need
        return t


def can_block(rule: VotingRule, population: np.ndarray, against: np.ndarray) -> bool:
    """Whether the states ``against`` (all others voting for) stop ``rule`` from adopting.

    >>> pop = np.array([1000, 2000, 3000])
    >>> q = QualifiedMajorityRule("q", 0.55, 0.65, 0)
    >>> alone, with_aa = np.array([False, True, False]), np.array([True, True, False])
    >>> can_block(q, pop, alone), can_block(q, pop, with_aa)
    (False, True)
    >>> can_block(UnanimityRule("u"), pop, np.array([False, True, False]))
    True
    """
    votes = np.where(against, _AGAINST, _FOR).astype(np.int8)
    return not rule.decide(votes, population).adopted
