"""Treaty decision rules: exact table-driven cases and Hypothesis properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.core.voting import (
    ConstructiveAbstentionRule,
    QualifiedMajorityRule,
    UnanimityRule,
    Vote,
)
from sim.engine.compile import make_rule
from sim.scenario import Scenario

F, A, X, D = Vote.FOR, Vote.AGAINST, Vote.ABSTAIN, Vote.FORMAL_ABSTAIN


@pytest.fixture(scope="module")
def eu27(baseline: Scenario) -> tuple[list[str], np.ndarray]:
    members = baseline.resolved_members()
    return [m.code for m in members], np.array([m.population for m in members], float)


@pytest.fixture(scope="module")
def rules(baseline: Scenario) -> dict[str, object]:
    return {k: make_rule(k, v) for k, v in baseline.decision_rules.items()}


def votes_with(codes: list[str], vote: Vote, who: list[str]) -> np.ndarray:
    v = np.zeros(len(codes), np.int8)
    v[[codes.index(c) for c in who]] = vote
    return v


def by_size(codes: list[str], pop: np.ndarray, largest: bool, k: int) -> list[str]:
    order = np.argsort(pop)[::-1] if largest else np.argsort(pop)
    return [codes[i] for i in order[:k]]


def test_three_largest_cannot_block_qmv(eu27, rules) -> None:
    codes, pop = eu27
    big3 = by_size(codes, pop, True, 3)
    assert set(big3) == {"DE", "FR", "IT"}
    d = rules["qmv"].decide(votes_with(codes, A, big3), pop)
    assert d.adopted  # population criterion fails (53%) but fewer than four block


def test_four_largest_block_qmv(eu27, rules) -> None:
    codes, pop = eu27
    big4 = by_size(codes, pop, True, 4)
    d = rules["qmv"].decide(votes_with(codes, A, big4), pop)
    assert not d.adopted
    assert sorted(np.array(codes)[d.blocking]) == sorted(big4)


def test_fifteen_smallest_are_not_a_qualified_majority(eu27, rules) -> None:
    codes, pop = eu27
    small12 = by_size(codes, pop, False, 15)
    others = [c for c in codes if c not in small12]
    assert not rules["qmv"].decide(votes_with(codes, A, others), pop).adopted


def test_abstention_counts_as_not_in_favour_under_qmv(eu27, rules) -> None:
    codes, pop = eu27
    big4 = by_size(codes, pop, True, 4)
    assert not rules["qmv"].decide(votes_with(codes, X, big4), pop).adopted


def test_reinforced_qmv_needs_twenty(eu27, rules) -> None:
    codes, pop = eu27
    rq = rules["reinforced_qmv"]
    small8 = by_size(codes, pop, False, 8)  # 19 largest for: 72% of 27 is 19.44 -> 20 needed
    assert not rq.decide(votes_with(codes, A, small8), pop).adopted
    small7 = by_size(codes, pop, False, 7)
    assert rq.decide(votes_with(codes, A, small7), pop).adopted


def test_constructive_abstention_by_nine_smallest_does_not_block(eu27, rules) -> None:
    codes, pop = eu27
    ca = rules["constructive_abstention"]
    nine_small = by_size(codes, pop, False, 9)
    assert ca.decide(votes_with(codes, D, nine_small), pop).adopted


def test_constructive_abstention_by_nine_largest_blocks(eu27, rules) -> None:
    codes, pop = eu27
    ca = rules["constructive_abstention"]
    nine_big = by_size(codes, pop, True, 9)
    d = ca.decide(votes_with(codes, D, nine_big), pop)
    assert not d.adopted
    assert set(np.array(codes)[d.blocking]) == set(nine_big)
    eight_big = by_size(codes, pop, True, 8)  # 8 < one third of 27 states
    assert ca.decide(votes_with(codes, D, eight_big), pop).adopted


def test_plain_abstention_never_counts_against_constructive_limit(eu27, rules) -> None:
    codes, pop = eu27
    nine_big = by_size(codes, pop, True, 9)
    assert rules["constructive_abstention"].decide(votes_with(codes, X, nine_big), pop).adopted


def test_unanimity_abstention_does_not_block(eu27, rules) -> None:
    codes, pop = eu27
    u = rules["unanimity"]
    assert u.decide(votes_with(codes, X, codes[:26]), pop).adopted
    d = u.decide(votes_with(codes, A, ["MT"]), pop)
    assert not d.adopted
    assert list(np.array(codes)[d.blocking]) == ["MT"]


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_any_24_states_pass_qmv(eu27, rules, data) -> None:
    codes, pop = eu27
    against = data.draw(st.lists(st.sampled_from(codes), min_size=3, max_size=3, unique=True))
    assert rules["qmv"].decide(votes_with(codes, A, against), pop).adopted


RULES = [
    UnanimityRule("u"),
    ConstructiveAbstentionRule("ca", 1 / 3, 1 / 3),
    QualifiedMajorityRule("q", 0.55, 0.65, 4),
    QualifiedMajorityRule("rq", 0.72, 0.65, 4),
]
votes_st = st.integers(5, 30).flatmap(
    lambda n: st.tuples(
        st.lists(st.sampled_from(list(Vote)), min_size=n, max_size=n),
        st.lists(st.integers(1, 10**8), min_size=n, max_size=n),
    )
)


@settings(max_examples=300, deadline=None)
@given(votes_st, st.randoms(use_true_random=False))
@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_order_invariance(rule, case, rnd) -> None:
    votes, pops = np.array(case[0], np.int8), np.array(case[1], float)
    perm = list(range(len(votes)))
    rnd.shuffle(perm)
    a, b = rule.decide(votes, pops), rule.decide(votes[perm], pops[perm])
    assert a.adopted == b.adopted
    assert (a.blocking[perm] == b.blocking).all()


@settings(max_examples=300, deadline=None)
@given(votes_st, st.integers(0, 10**6))
@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_monotone_turning_a_vote_to_for(rule, case, pick) -> None:
    votes, pops = np.array(case[0], np.int8), np.array(case[1], float)
    i = pick % len(votes)
    better = votes.copy()
    better[i] = Vote.FOR
    if rule.decide(votes, pops).adopted:
        assert rule.decide(better, pops).adopted


@settings(max_examples=100, deadline=None)
@given(votes_st)
@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_all_for_adopts(rule, case) -> None:
    pops = np.array(case[1], float)
    d = rule.decide(np.zeros(len(pops), np.int8), pops)
    assert d.adopted
    assert not d.blocking.any()


@settings(max_examples=300, deadline=None)
@given(votes_st)
def test_unanimity_blocks_iff_someone_votes_against(case) -> None:
    votes, pops = np.array(case[0], np.int8), np.array(case[1], float)
    assert UnanimityRule("u").decide(votes, pops).adopted == (not (votes == A).any())


@settings(max_examples=300, deadline=None)
@given(votes_st)
@pytest.mark.parametrize("rule", RULES[2:], ids=lambda r: r.name)
def test_decide_agrees_with_pass_thresholds(rule, case) -> None:
    """The yes/no game used for power indices is the same rule as the one that decides."""
    votes, pops = np.array(case[0], np.int8), np.array(case[1], np.int64)
    favour = votes == F
    t = rule.passing_population(len(votes), int(pops.sum()))
    expected = pops[favour].sum() >= t[favour.sum()]
    assert rule.decide(votes, pops.astype(float)).adopted == expected
