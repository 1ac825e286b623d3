"""The project's Kaplan-Meier and Welch intervals against scipy as the oracle."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.analysis.stats import kaplan_meier, km_median, welch_interval


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kaplan_meier_matches_scipy_ecdf_on_censored_data(seed: int) -> None:
    """Time to adoption: adopted items are events, pending ones are right-censored at their
    duration, and blocked or lapsed ones are never adopted (censored beyond every time)."""
    rng = np.random.default_rng(seed)
    n = 300
    df = pd.DataFrame(
        {
            "duration_days": rng.integers(1, 60, n).astype(float),  # many ties
            "outcome": rng.choice(
                ["adopted", "adopted_with_abstentions", "pending", "blocked", "lapsed"],
                n,
                p=[0.5, 0.1, 0.2, 0.1, 0.1],
            ),
        }
    )
    d = df["duration_days"].to_numpy()
    event = df["outcome"].str.startswith("adopted").to_numpy()
    never = df["outcome"].isin(["blocked", "lapsed"]).to_numpy()
    right = np.concatenate([d[~event & ~never], np.full(int(never.sum()), 1e9)])
    sf = stats.ecdf(stats.CensoredData(uncensored=d[event], right=right)).sf

    km = kaplan_meier(df)
    times = km["time_days"].to_numpy()[1:]
    assert times == pytest.approx(np.unique(d[event]))
    assert km["survival"].to_numpy()[1:] == pytest.approx(sf.evaluate(times), rel=1e-12)
    median = times[np.argmax(sf.evaluate(times) <= 0.5)]
    assert km_median(df) == median


@pytest.mark.parametrize("seed", [1, 2])
def test_welch_interval_matches_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.normal(10, 2, 12)
    b = rng.normal(12, 5, 20)
    diff, lo, hi = welch_interval(a, b)
    ci = stats.ttest_ind(b, a, equal_var=False).confidence_interval(0.95)
    assert diff == pytest.approx(b.mean() - a.mean())
    assert (lo, hi) == pytest.approx((ci.low, ci.high), rel=1e-10)
