"""Exact a priori voting power: normalised Banzhaf and Shapley–Shubik indices.

A Council rule is a yes/no game: a coalition of ``k`` states with population ``P`` passes when
``P >= T[k]`` (see :meth:`sim.voting.VotingRule.passing_population`). State ``i`` is critical
for a coalition ``S`` of the others when ``S`` fails and ``S ∪ {i}`` passes, i.e. when
``T[k+1] - w_i <= P(S) < T[k]``. We count such coalitions exactly by size with a
meet-in-the-middle split: the players are cut into two halves, each half's subset sums are
enumerated and sorted by subset size (2^(n/2) each), and pairs are counted with binary search.
That is exact for any population weights (no rounding of populations) and costs
O(n · 2^(n/2) · n log) instead of O(n · 2^n): well under a second for 27 members and a few
seconds for 36. See Kirsch (2016) and Kóczy (2021) for the indices applied to the Council.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import factorial

import numpy as np
import pandas as pd

from sim.core.errors import UserError
from sim.core.voting import VotingRule

MAX_MEMBERS = 40
"""Members :func:`voting_power` takes by default: each half of the split enumerates 2^(n/2)
coalitions (a few seconds and ~200 MB at 40 members, doubling with every two more)."""


@dataclass(frozen=True, slots=True)
class _Half:
    sums_by_size: list[np.ndarray]  # sorted subset sums, by subset size
    masks_by_size: list[np.ndarray]  # bitmask of each subset, aligned with sums_by_size


def _half(weights: np.ndarray) -> _Half:
    m = len(weights)
    idx = np.arange(1 << m, dtype=np.int64)
    bits = (idx[:, None] >> np.arange(m)) & 1
    sums = bits @ weights.astype(np.int64)
    sizes = bits.sum(axis=1)
    by_sum, by_mask = [], []
    for k in range(m + 1):
        sel = sizes == k
        order = np.argsort(sums[sel], kind="stable")
        by_sum.append(sums[sel][order])
        by_mask.append(idx[sel][order])
    return _Half(by_sum, by_mask)


def _count_between(a: np.ndarray, b: np.ndarray, lo: float, hi: float) -> int:
    """Number of pairs (x in a, y in b, b sorted) with lo <= x + y < hi."""
    if len(a) == 0 or len(b) == 0 or not lo < hi:
        return 0
    upper = np.searchsorted(b, hi - a, side="left")
    lower = np.searchsorted(b, lo - a, side="left")
    return int((upper - lower).sum())


def _sizes_in_window(
    left: _Half,
    right: _Half,
    skip_left: int | None,
    skip_right: int | None,
    lo: np.ndarray,
    hi: np.ndarray,
    n_total: int,
) -> list[int]:
    """Count subsets by size k whose sum lies in [lo[k], hi[k]), excluding one player's bit."""
    counts = [0] * (n_total + 1)
    a_list = [
        a if skip_left is None else a[(am >> skip_left) & 1 == 0]
        for a, am in zip(left.sums_by_size, left.masks_by_size, strict=True)
    ]
    b_list = [
        b if skip_right is None else b[(bm >> skip_right) & 1 == 0]
        for b, bm in zip(right.sums_by_size, right.masks_by_size, strict=True)
    ]
    for k1, a in enumerate(a_list):
        for k2, b in enumerate(b_list):
            k = k1 + k2
            if k <= n_total:
                counts[k] += _count_between(a, b, lo[k], hi[k])
    return counts


def voting_power(
    rule: VotingRule, codes: list[str], populations: np.ndarray, limit: int | None = MAX_MEMBERS
) -> tuple[pd.DataFrame, float]:
    """Exact normalised Banzhaf and Shapley–Shubik indices of every member under ``rule``.

    More than ``limit`` members (``None``: no limit) is refused with a
    :class:`~sim.core.errors.UserError`: the enumeration's time and memory double with every
    two members.

    Returns
    -------
    table, passing_probability
        ``table`` has columns ``member_state``, ``population_share``, ``banzhaf``,
        ``shapley_shubik``, ``swings``, sorted by Banzhaf power (largest first);
        ``passing_probability`` is the share of all 2^n coalitions that pass.

    Examples
    --------
    >>> from sim.core.voting import UnanimityRule
    >>> t, p = voting_power(UnanimityRule("u"), ["A", "B"], np.array([1, 3]))
    >>> t["banzhaf"].tolist(), p
    ([0.5, 0.5], 0.25)
    """
    n = len(codes)
    if limit is not None and n > limit:
        raise UserError(
            f"power: {n} members is over the limit of {limit} for exact enumeration (memory "
            f"doubles with every two members); pass --allow-large (limit=None in Python) to "
            "try anyway"
        )
    w = np.asarray(populations, dtype=np.int64)
    total = int(w.sum())
    thresholds = rule.passing_population(n, total)
    half = n // 2
    left, right = _half(w[:half]), _half(w[half:])
    inf = np.inf
    pass_counts = _sizes_in_window(left, right, None, None, thresholds, np.full(n + 1, inf), n)
    swings, ss = [], []
    for i in range(n):
        lo = np.full(n, inf)
        hi = np.full(n, -inf)
        for k in range(n):  # coalitions of k others
            lo[k] = thresholds[k + 1] - w[i]
            hi[k] = thresholds[k]
        skip_l, skip_r = (i, None) if i < half else (None, i - half)
        crit = _sizes_in_window(left, right, skip_l, skip_r, lo, hi, n - 1)
        swings.append(sum(crit))
        ss.append(
            float(
                sum(
                    Fraction(c * factorial(k) * factorial(n - 1 - k), factorial(n))
                    for k, c in enumerate(crit)
                )
            )
        )
    total_swings = sum(swings)
    banzhaf = [s / total_swings if total_swings else 0.0 for s in swings]
    table = pd.DataFrame(
        {
            "member_state": codes,
            "population_share": w / total,
            "banzhaf": banzhaf,
            "shapley_shubik": ss,
            "swings": swings,
        }
    ).sort_values(["banzhaf", "population_share"], ascending=False, ignore_index=True)
    passing = sum(pass_counts) / 2**n
    return table, passing


def compare_power(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Members' power across several Councils (e.g. the EU27 and each enlargement wave), from
    :func:`voting_power` tables keyed by a label, the reference first.

    One row per state, the reference's members first (by their power there), then the states
    that join (by their power in the last Council); columns ``(measure, label)`` for
    ``population_share``, ``banzhaf`` and ``shapley_shubik`` (NaN where the state is not a
    member) and ``banzhaf_change``: the relative change of the Banzhaf index from the reference.

    >>> from sim.core.voting import UnanimityRule
    >>> u = UnanimityRule("u")
    >>> t = compare_power({"two": voting_power(u, ["A", "B"], np.array([1, 1]))[0],
    ...                    "three": voting_power(u, ["A", "B", "C"], np.array([1, 1, 1]))[0]})
    >>> t[("banzhaf_change", "three")].round(3).tolist()
    [-0.333, -0.333, nan]
    """
    labels = list(tables)
    ref, last = tables[labels[0]], tables[labels[-1]]
    order = list(ref["member_state"])
    order += [c for c in last["member_state"] if c not in order]
    order += [c for t in tables.values() for c in t["member_state"] if c not in order]
    measures = ("population_share", "banzhaf", "shapley_shubik")
    out = pd.DataFrame(
        {
            (m, label): t.set_index("member_state")[m].reindex(order)
            for m in measures
            for label, t in tables.items()
        }
    )
    for label in labels:
        out[("banzhaf_change", label)] = out[("banzhaf", label)] / out[("banzhaf", labels[0])] - 1.0
    out.index.name = "member_state"
    return out
