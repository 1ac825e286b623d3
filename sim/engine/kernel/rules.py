"""The compiled engine's round: objections, votes and the treaty's rules, state by state.

The same decisions as :mod:`sim.core.members`, :mod:`sim.core.voting` and
:func:`sim.core.negotiation.negotiate`, as loops over the states (numba compiles them; the
float operations are the same, in the same order, so the results agree to the bit).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from sim.engine.kernel.state import (
    R_ABSTENTION,
    R_QMV,
    RF_POPULATION,
    RF_STATES,
    RI_CONSENSUS,
    RI_MIN_BLOCKING,
    RI_VOTE_RANK,
)

FOR, AGAINST, ABSTAIN, FORMAL_ABSTAIN = 0, 1, 2, 3
_EPS = 1e-9


@njit(cache=True)
def at_least(share, n):
    """Smallest count reaching ``share`` of ``n`` (:func:`sim.core.voting._at_least`)."""
    return math.ceil(share * n - _EPS)


@njit(cache=True)
def objects_to_text(text, least_accept):
    """Whether some state objects to ``text`` itself (ProposalStances.objectors)."""
    return text - least_accept > 1e-12


@njit(cache=True)
def objections(s, text, accept, least, until, end, now, u, idiosyncratic):
    """Who objects in a round, and who to the text itself (:func:`sim.core.members.objections`;
    ``idiosyncratic``: with the row ``u`` of uniforms, else a formal vote's)."""
    n = len(accept)
    objecting = np.zeros(n, np.bool_)
    on_text = np.zeros(n, np.bool_)
    if objects_to_text(text, least):
        for i in range(n):
            on_text[i] = text - accept[i] > 1e-12
    held = now < end
    for i in range(n):
        o = on_text[i] or (held and until[i] > now)
        if idiosyncratic and u[i] < s.objection_p[i]:
            o = True
        objecting[i] = o
    return objecting, on_text


@njit(cache=True)
def declaration_willingness(s, text, accept):
    """:func:`sim.core.members.declaration_willingness`."""
    distance = np.maximum(text - accept, 0.0)
    return s.declaration_p * (1.0 - s.salience) * np.exp(-distance / np.maximum(s.tolerance, 1e-9))


@njit(cache=True)
def cast_votes(s, objecting, may_abstain, u, declare_p, declaring):
    """:func:`sim.core.members.cast_votes` (``may_abstain`` all true: everyone may)."""
    n = len(objecting)
    votes = np.zeros(n, np.int8)
    for i in range(n):
        if not objecting[i]:
            continue
        free = may_abstain[i]
        if not declaring:
            votes[i] = ABSTAIN if free and u[i] < s.abstain_p[i] else AGAINST
        elif free and u[i] < declare_p[i]:
            votes[i] = FORMAL_ABSTAIN
        elif free and u[i] < declare_p[i] + s.abstain_p[i]:
            votes[i] = ABSTAIN
        else:
            votes[i] = AGAINST
    return votes


@njit(cache=True)
def _population(s, mask):
    return s.population[mask].sum()


@njit(cache=True)
def decide(s, rule, votes):
    """Whether ``votes`` adopt the act under ``rule``, and who blocks (:mod:`sim.core.voting`:
    unanimity, Art. 238(4) TFEU; constructive abstention, Art. 31(1) TEU; QMV, Art. 16(4)
    TEU and Art. 238(2)-(3) TFEU)."""
    kind, n = s.rule_kind[rule], len(votes)
    against = votes == AGAINST
    if kind == R_QMV:
        favour = votes == FOR
        k = int(favour.sum())
        states_ok = k >= at_least(s.rule_f[rule, RF_STATES], n)
        pop_ok = _population(s, favour) >= s.rule_f[rule, RF_POPULATION] * s.population.sum() * (
            1 - _EPS
        )
        adopted = states_ok and (pop_ok or n - k < s.rule_i[rule, RI_MIN_BLOCKING])
        return adopted, (np.zeros(n, np.bool_) if adopted else ~favour)
    if kind == R_ABSTENTION:
        formal = votes == FORMAL_ABSTAIN
        too_many = int(formal.sum()) >= at_least(s.rule_f[rule, RF_STATES], n) and _population(
            s, formal
        ) >= s.rule_f[rule, RF_POPULATION] * s.population.sum() * (1 - _EPS)
        if too_many:
            return False, against | formal
    return not against.any(), against


@njit(cache=True)
def at(s, rule, rank, rounds):
    """The rule a round is decided by, and whether it is a vote (``VotingRule.at``; ``rounds``
    -1 for a formal vote): under QMV, unanimity below the voting level and for the first
    consensus rounds (coded -1 - rule: unanimity under that rule's name)."""
    if s.rule_kind[rule] != R_QMV:
        return rule, False
    consensus = s.rule_i[rule, RI_CONSENSUS]
    r = consensus + 1 if rounds < 0 else rounds
    if rank >= s.rule_i[rule, RI_VOTE_RANK] and r > consensus:
        return rule, True
    return -1, False


@njit(cache=True)
def consensus_limit(s, rule, rank):
    """Failed rounds after which a body below the vote sends the item up (-1: none)."""
    if s.rule_kind[rule] != R_QMV or rank >= s.rule_i[rule, RI_VOTE_RANK]:
        return -1
    return s.rule_i[rule, RI_CONSENSUS]


@njit(cache=True)
def decide_as(s, rule, votes):
    """:func:`decide`, where rule -1 is unanimity."""
    if rule < 0:
        against = votes == AGAINST
        return not against.any(), against
    return decide(s, rule, votes)


@njit(cache=True)
def can_block(s, rule, against):
    """Whether the states ``against`` stop ``rule`` (:func:`sim.core.voting.can_block`)."""
    votes = np.where(against, AGAINST, FOR).astype(np.int8)
    adopted, _ = decide(s, rule, votes)
    return not adopted


@njit(cache=True)
def compromise(s, text, accept, movers, step):
    """The chair's compromise (:func:`sim.core.members.compromise`)."""
    if step <= 0.0 or not movers.any():
        return text
    w = s.weight[movers]
    target = np.dot(w, accept[movers]) / add_reduce(w)  # BLAS's dot, as numpy's
    if target >= text:
        return text
    return round_12(max(target, text - step))


@njit(cache=True)
def _pairwise(a, lo, n):
    """numpy's pairwise summation of ``a[lo:lo + n]`` (``pairwise_sum_DOUBLE``) for up to 128
    terms (one per member state), where numpy sums in eight lanes without splitting."""
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    if True:  # n <= 128 (numpy splits longer arrays in halves)
        r = np.empty(8)
        for j in range(8):
            r[j] = a[lo + j]
        i = 8
        while i < n - n % 8:
            for j in range(8):
                r[j] += a[lo + i + j]
            i += 8
        res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        while i < n:
            res += a[lo + i]
            i += 1
        return res


@njit(cache=True)
def add_reduce(a):
    """``np.add.reduce(a)`` of a 1-d float array, in numpy's (pairwise) order."""
    return _pairwise(a, 0, len(a))


@njit(cache=True)
def _two_product(a, b):
    """``a * b`` rounded, and its exact error (Dekker's product, without a fused multiply)."""
    p = a * b
    c = 134217729.0 * a
    ah = c - (c - a)
    al = a - ah
    c = 134217729.0 * b
    bh = c - (c - b)
    bl = b - bh
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


@njit(cache=True)
def round_12(x):
    """Python's ``round(x, 12)``: the double nearest to ``x`` rounded half-even to 12
    decimals (as Python rounds through the exact decimal value of ``x``)."""
    y, err = _two_product(x, 1e12)  # x * 10**12 == y + err exactly
    r = np.rint(y)
    d = y - r  # exact
    if d == 0.5:
        r = r + 1.0 if err > 0.0 or (err == 0.0 and r % 2.0 != 0.0) else r
    elif d == -0.5:
        r = r - 1.0 if err < 0.0 or (err == 0.0 and r % 2.0 != 0.0) else r
    elif d == 0.0 and err != 0.0:
        pass
    return r / 1e12
