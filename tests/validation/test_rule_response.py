"""What-if answers that respond to the rule, and only through its mechanisms (issue 27).

Paired runs of ``eu27_baseline`` and ``qmv_art31`` (same seed: common random numbers), compared
per proposal type on each replication's mean days to adoption. Three checks: with every
hold-out off the rule alone changes nothing beyond noise; the types whose rule does not change
(placebo) do not move; and QMV's gain with hold-outs off is at most a third of its gain with
them (the gain comes from the hold-outs' response to the vote, not from outvoting stray
objections). Fixed seeds: the verdicts are deterministic, their thresholds are Bonferroni-
corrected two-sided 1% tests.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

import sim

REPLICATIONS, SEED = 60, 2025
TYPES = (
    "sanctions_package",
    "sanctions_renewal",
    "listings_renewal",
    "listing",
    "csdp_mandate",
    "council_conclusions",
    "eu_statement",
    "epf_measure",
)
QMV_TYPES = ("sanctions_package", "sanctions_renewal", "listings_renewal", "listing")
HOLDOUTS_OFF = tuple(f"proposal_types.{t}.holdout_scale=0" for t in TYPES)


def _days(name: str, overrides: tuple[str, ...] = (), types: tuple[str, ...] = ()) -> pd.Series:
    """Each replication's mean days to adoption: per type, or pooled over ``types``."""
    p = sim.simulate(name, replications=REPLICATIONS, seed=SEED, overrides=overrides).proposals
    p = p[p["outcome"].astype(str).str.startswith("adopted")]
    if types:
        p = p[p["type"].astype(str).isin(types)]
        return p.groupby("replication")["duration_days"].mean()
    return p.groupby(["type", "replication"], observed=True)["duration_days"].mean()


def _differences(overrides: tuple[str, ...] = ()) -> pd.Series:
    return (_days("qmv_art31", overrides) - _days("eu27_baseline", overrides)).dropna()


def _beyond_noise(d: pd.Series, types: tuple[str, ...]) -> dict[str, float]:
    """The types whose paired difference is beyond noise, with their mean difference."""
    alpha = 0.01 / len(types)
    out = {}
    for t in types:
        x = d.xs(t).to_numpy(dtype=float)
        if np.ptp(x) > 0 and sps.ttest_1samp(x, 0.0).pvalue < alpha:
            out[t] = float(x.mean())
    return out


@pytest.mark.slow
def test_with_every_hold_out_off_qmv_and_unanimity_take_the_same_days() -> None:
    assert _beyond_noise(_differences(HOLDOUTS_OFF), TYPES) == {}


@pytest.mark.slow
def test_types_whose_rule_does_not_change_do_not_move_under_qmv() -> None:
    placebo = tuple(t for t in TYPES if t not in QMV_TYPES)
    assert _beyond_noise(_differences(), placebo) == {}


@pytest.mark.slow
def test_qmv_gains_mostly_through_the_hold_outs() -> None:
    """QMV's gain on its own types, with hold-outs off, is at most a third of the gain with
    them; and with them it is a gain beyond noise."""
    with_them = _days("qmv_art31", types=QMV_TYPES) - _days("eu27_baseline", types=QMV_TYPES)
    without = _days("qmv_art31", HOLDOUTS_OFF, QMV_TYPES) - _days(
        "eu27_baseline", HOLDOUTS_OFF, QMV_TYPES
    )
    gain = -float(with_them.mean())
    half_width = sps.t.ppf(0.995, len(with_them) - 1) * with_them.std(ddof=1)
    assert gain > half_width / np.sqrt(len(with_them))
    assert -float(without.mean()) <= gain / 3
