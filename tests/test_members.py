"""Member-state behaviour: stances, votes, compromise, delays."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.core.members import (
    Holdouts,
    MemberArrays,
    cast_votes,
    compromise,
    declaration_willingness,
    instructions_ready,
    objections,
    proposal_stances,
    raise_holdouts,
    text_objections,
)
from sim.core.voting import Vote
from sim.engine.compile import member_arrays
from sim.scenario import Scenario


@pytest.fixture(scope="module")
def arrays(baseline: Scenario) -> MemberArrays:
    types = {t: pt.position for t, pt in baseline.proposal_types.items()}
    return member_arrays(baseline.resolved_members(), types)


def test_member_arrays_follow_scenario(arrays: MemberArrays, baseline: Scenario) -> None:
    hu = arrays.codes.index("HU")
    assert arrays.n == 27
    assert arrays.holdout_p[hu] == baseline.member_states["HU"].holdout_probability
    assert arrays.positions["sanctions_package"][hu] == 0.85
    fr = arrays.codes.index("FR")
    assert (
        arrays.positions["sanctions_package"][fr]
        == baseline.proposal_types["sanctions_package"].position
    )


def test_instruction_delays_drawn_in_one_call(arrays: MemberArrays) -> None:
    assert len(arrays.instruction_delay.groups) == 1
    delays = arrays.instruction_delay.draw(np.random.default_rng(1), 5)
    assert delays.shape == (5, 27)
    ready = instructions_ready(10.0, 2.0, delays[0])
    assert ready.shape == (27,)
    assert np.allclose(ready, 10.0 + 2.0 * delays[0])


def test_block_rows_are_reproducible_and_refill() -> None:
    from sim.core.rng import Rows

    a = Rows(np.random.default_rng(3), lambda rng, k: rng.random((k, 4)), rows=2)
    b = Rows(np.random.default_rng(3), lambda rng, k: rng.random((k, 4)), rows=2)
    rows_a = [a.next() for _ in range(5)]
    rows_b = [b.next() for _ in range(5)]
    assert all(np.array_equal(x, y) for x, y in zip(rows_a, rows_b, strict=True))
    assert len({tuple(r) for r in rows_a}) == 5


def stance(arrays, ptype="listing", contestation=0.0, urgent=False, now=0.0, seed=0):
    return proposal_stances(
        arrays, ptype, contestation, urgent, np.array([now]), np.random.default_rng(seed)
    )[0]


def test_stances_are_clipped_and_deterministic_without_contestation(arrays) -> None:
    s = stance(arrays, now=5.0, seed=2)
    assert np.array_equal(s.positions, arrays.positions["listing"])
    assert np.allclose(s.accept, s.positions + arrays.tolerance)
    block = proposal_stances(
        arrays, "listing", 5.0, False, np.array([1.0, 2.0, 3.0]), np.random.default_rng(2)
    )
    assert len(block) == 3
    assert all(((b.positions >= 0) & (b.positions <= 1)).all() for b in block)


def test_urgent_texts_get_no_scrutiny_reservation(arrays) -> None:
    block = proposal_stances(
        arrays, "eu_statement", 0.1, True, np.zeros(50), np.random.default_rng(3)
    )
    assert all(np.isneginf(s.scrutiny_until).all() for s in block)


def test_holdouts_object_whatever_the_text_and_never_abstain(arrays) -> None:
    s = stance(arrays, seed=4)
    holders = np.zeros(27, bool)
    holders[3] = True
    s = s._replace(holders=holders, hold_days=np.full(27, 60.0))
    held = raise_holdouts(s, 40.0, None)  # raised on day 40, held for 60 days
    assert held.until[3] == 100.0
    assert held.end == 100.0
    objecting, on_text = objections(arrays, 0.0, s, held, 50.0, None)
    assert objecting[3]
    assert not on_text.any()
    votes = cast_votes(objecting, np.ones(27), held.until <= 50.0, np.zeros(27))
    assert votes[3] == Vote.AGAINST
    after, _ = objections(arrays, 0.0, s, held, 100.5, None)
    assert not after.any()
    before, _ = objections(arrays, 0.0, s, Holdouts.none(27), 50.0, None)
    assert not before.any()  # not raised yet: no objection
    assert raise_holdouts(s, 40.0, concede_by=70.0).until[3] == 70.0  # a deadline binds


def test_objectors_declare_under_constructive_abstention_and_abstain_simply_otherwise() -> None:
    objecting = np.array([True, True, False])
    u = np.array([0.1, 0.5, 0.0])
    declare = np.array([0.3, 0.3, 0.3])
    votes = cast_votes(objecting, np.full(3, 0.3), np.ones(3, bool), u, declare)
    assert list(votes) == [Vote.FORMAL_ABSTAIN, Vote.ABSTAIN, Vote.FOR]
    votes = cast_votes(objecting, np.full(3, 0.3), np.ones(3, bool), u)
    assert list(votes) == [Vote.ABSTAIN, Vote.AGAINST, Vote.FOR]
    votes = cast_votes(objecting, np.zeros(3), np.ones(3, bool), u, np.zeros(3))
    assert list(votes) == [Vote.AGAINST, Vote.AGAINST, Vote.FOR]


def test_willingness_to_declare_falls_with_salience_and_distance(arrays) -> None:
    accept = np.full(27, 0.5)
    near = declaration_willingness(arrays, 0.5, accept)
    far = declaration_willingness(arrays, 0.9, accept)
    assert (far <= near).all()
    assert near == pytest.approx(arrays.declaration_p * (1 - arrays.salience))


def test_text_objection_threshold() -> None:
    assert list(text_objections(1.0, np.array([0.8, 0.9]) + np.array([0.1, 0.1]))) == [
        True,
        False,
    ]


@settings(max_examples=200, deadline=None)
@given(
    st.floats(0.1, 1.0),
    st.lists(st.floats(0, 1), min_size=2, max_size=10),
    st.floats(0.0, 0.5),
    st.floats(0.01, 1.0),
)
def test_compromise_moves_towards_objectors_within_step(text, positions, tol, step) -> None:
    pos = np.array(positions)
    tolerance = np.full(len(pos), tol)
    obj = text_objections(text, pos + tolerance)
    new = compromise(text, pos + tolerance, np.ones(len(pos)), obj, step)
    assert new <= text
    assert text - new <= step + 1e-9
    if not obj.any():
        assert new == text
    else:
        assert new >= min(pos[obj] + tol) - 1e-9


def test_lone_objector_is_satisfied_after_finitely_many_rounds() -> None:
    pos, tol, sal = np.array([0.5, 0.9, 0.95]), np.full(3, 0.1), np.ones(3)
    text, rounds = 1.0, 0
    while (obj := text_objections(text, pos + tol)).any():
        text = compromise(text, pos + tol, sal, obj, 0.1)
        rounds += 1
    assert rounds == 4
    assert text == pytest.approx(0.6)
