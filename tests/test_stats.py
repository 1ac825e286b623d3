"""Statistics on hand-made tables with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.analysis.metrics import replication_metrics
from sim.analysis.stats import (
    MIN_REPLICATIONS,
    _resample_weights,
    bootstrap_interval,
    few_replications,
    group_rows,
    kaplan_meier,
    km_median,
    paired_differences,
    per_group,
    percentile,
    summarise,
    t_interval,
    welch_interval,
)
from sim.engine.arrow import frame_to_arrow


def test_t_interval_known_values() -> None:
    mean, lo, hi = t_interval(np.array([2.0, 4.0, 6.0, 8.0]))
    # sd = 2.582, se = 1.291, t(0.975, 3) = 3.182
    assert mean == 5.0
    assert hi - mean == pytest.approx(3.182446 * 2.5819889 / 2, rel=1e-5)
    assert lo == pytest.approx(2 * mean - hi)
    assert np.isnan(t_interval(np.array([1.0]))[1])


def test_kaplan_meier_with_censoring() -> None:
    df = pd.DataFrame(
        {
            "duration_days": [2.0, 3.0, 3.0, 5.0, 8.0, 10.0],
            "outcome": ["adopted", "pending", "adopted", "adopted", "blocked", "pending"],
        }
    )
    km = kaplan_meier(df)
    # at t=2: 6 at risk, 1 event -> 5/6; t=3: 5 at risk (the pending at 3 still at risk), 1
    # event -> 5/6*4/5 = 2/3; t=5: 3 at risk (blocked stays forever, pending 10) -> 2/3*2/3
    assert km["time_days"].tolist() == [0.0, 2.0, 3.0, 5.0]
    assert km["survival"].tolist() == pytest.approx([1, 5 / 6, 2 / 3, 4 / 9])
    assert km["at_risk"].tolist() == [6, 6, 5, 3]
    assert km_median(df) == 5.0


def test_km_median_undefined_when_under_half_adopted() -> None:
    df = pd.DataFrame(
        {"duration_days": [1.0, 2.0, 3.0], "outcome": ["adopted", "blocked", "lapsed"]}
    )
    assert np.isnan(km_median(df))


def _tables():
    proposals = pd.DataFrame(
        {
            "proposal_id": [0, 1, 2, 3],
            "type": pd.Categorical(["a", "a", "b", "b"]),
            "outcome": ["adopted", "blocked", "adopted_with_abstentions", "pending"],
            "duration_days": [10.0, 20.0, 30.0, 40.0],
            "rounds": [1, 3, 2, 0],
            "escalations": [0, 2, 1, 0],
            "dilution": [0.0, 0.2, 0.1, 0.0],
            "blocking_states": ["", "HU,AT", "", ""],
        }
    )
    stages = pd.DataFrame(
        {
            "body": pd.Categorical(["WP", "WP", "PSC"]),
            "wait_meeting_days": [1.0, 3.0, 2.0],
            "wait_instructions_days": [2.0, 2.0, 0.0],
            "negotiating_days": [0.0, 4.0, 1.0],
        }
    )
    members = pd.CategoricalDtype(["AT", "HU", "FR"])
    events = pd.DataFrame(
        {
            "activity": ["objection", "objection", "abstention", "submitted"],
            "member_state": pd.Series(["HU", "HU", "FR", None], dtype=members),
            "value": [1.0, 0.0, np.nan, np.nan],
        }
    )
    meetings = pd.DataFrame(
        {"body": pd.Categorical(["WP", "PSC"]), "discussed": [2, 1], "capacity": [4, 4]}
    )
    return proposals, stages, events, meetings


def test_replication_metrics_known_answers() -> None:
    m = replication_metrics(*_tables(), horizon_days=365.0, replication=3)
    v = m.set_index(["metric", "group"])["value"]
    assert (m["replication"] == 3).all()
    assert v["adoption_rate", "all"] == 0.5
    assert v["adoption_rate", "a"] == 0.5
    assert v["block_rate", "a"] == 0.5
    assert v["pending_share", "b"] == 0.5
    assert v["time_to_adoption_mean", "all"] == 20.0
    assert v["rounds_mean", "all"] == 1.5
    assert v["wait_meeting_days", "WP"] == 2.0
    assert v["negotiating_days", "WP"] == 2.0
    assert v["agenda_use", "WP"] == 0.5
    assert v["objections", "HU"] == 2
    assert v["blocking_votes", "HU"] == 1
    assert v["abstentions", "FR"] == 1
    assert v["proposals_blocked", "AT"] == 1
    assert v["objections", "AT"] == 0


def test_replication_metrics_of_arrow_tables_are_those_of_the_frames() -> None:
    frames = _tables()
    tables = [frame_to_arrow(f) for f in frames]
    pd.testing.assert_frame_equal(
        replication_metrics(*tables, horizon_days=365.0, replication=3),
        replication_metrics(*frames, horizon_days=365.0, replication=3),
        check_exact=True,
    )


def test_percentile_is_numpys_to_the_bit() -> None:
    rng = np.random.default_rng(3)
    for i in range(3000):
        n = int(rng.integers(1, 40))
        v = [rng.exponential(30, n), np.round(rng.uniform(0, 9, n)), rng.normal(0, 1e6, n)][i % 3]
        for q in (50, 90):
            assert percentile(v, q) == np.percentile(v, q), (v, q)
    codes, values = np.array([0, 1, 0, 1, 0, 2]), np.array([1.0, 2.0, np.nan, 5.0, 3.0, np.nan])
    assert per_group(group_rows(codes, 3), values, "p90") == pytest.approx(
        [2.8, 4.7, np.nan], nan_ok=True
    )


def test_summarise_and_paired_differences() -> None:
    a = pd.DataFrame(
        {"replication": [0, 1, 2], "metric": "x", "group": "all", "value": [1.0, 2.0, 3.0]}
    )
    b = a.assign(value=a["value"] + [1.0, 2.0, 3.0])
    s = summarise(a).iloc[0]
    assert s["mean"] == 2.0
    assert s["n"] == 3
    d = paired_differences(a, b).iloc[0]
    assert d["difference"] == 2.0
    assert d["ci_low"] < 2.0 < d["ci_high"]
    same = paired_differences(a, a).iloc[0]
    assert same["difference"] == 0.0
    assert same["ci_low"] == 0.0
    assert same["ci_high"] == 0.0


def test_welch_interval() -> None:
    diff, lo, hi = welch_interval(np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0, 7.0]))
    assert diff == 3.5
    assert lo < 3.5 < hi


def test_kaplan_meier_matches_a_direct_product_limit_on_random_data() -> None:
    rng = np.random.default_rng(5)
    n = 400
    df = pd.DataFrame(
        {
            "duration_days": rng.integers(1, 40, n).astype(float),  # many ties
            "outcome": rng.choice(
                ["adopted", "pending", "blocked", "lapsed"], n, p=[0.6, 0.2, 0.1, 0.1]
            ),
        }
    )
    km = kaplan_meier(df)
    d = df["duration_days"].to_numpy()
    event = (df["outcome"] == "adopted").to_numpy()
    never = df["outcome"].isin(["blocked", "lapsed"]).to_numpy()
    s, expected = 1.0, [1.0]
    for t in np.unique(d[event]):
        at_risk = np.sum((d >= t) | never)
        s *= 1 - np.sum(event & (d == t)) / at_risk
        expected.append(s)
    assert km["survival"].to_numpy() == pytest.approx(expected)
    assert km_median(df) == km.loc[km["survival"] <= 0.5, "time_days"].iloc[0]


def test_rate_interval_stays_in_unit_range_for_a_rare_event() -> None:
    # a rare block: 2 replications in 100 have a small positive rate, the rest zero
    rates = np.zeros(100)
    rates[[7, 61]] = [0.004, 0.009]
    frame = pd.DataFrame({"replication": range(100), "metric": "block_rate", "group": "all"})
    s = summarise(frame.assign(value=rates)).iloc[0]
    assert s["ci_low"] >= 0.0
    assert s["ci_low"] <= s["mean"] <= s["ci_high"] <= 0.009
    _, t_low, _ = t_interval(rates)
    assert t_low < 0.0  # what the t-interval said before


def test_day_interval_stays_within_the_data_with_two_replications() -> None:
    days = np.array([2.1, 16.7])
    mean, lo, hi = bootstrap_interval(days)
    assert 2.1 <= lo <= mean <= hi <= 16.7
    _, t_low, _ = t_interval(days)
    assert t_low < 0.0


def test_bootstrap_interval_agrees_with_scipy() -> None:
    from scipy.stats import bootstrap

    values = np.random.default_rng(3).exponential(20.0, 60)
    _, lo, hi = bootstrap_interval(values)
    ref = bootstrap(
        (values,), np.mean, method="percentile", n_resamples=20000, random_state=1
    ).confidence_interval
    width = ref.high - ref.low
    assert lo == pytest.approx(ref.low, abs=0.08 * width)
    assert hi == pytest.approx(ref.high, abs=0.08 * width)


def test_few_replications_warning() -> None:
    assert "only 2 replications" in (few_replications(2) or "")
    assert few_replications(MIN_REPLICATIONS) is None


def test_standardise_weights_types_by_the_reference_mix() -> None:
    from sim.analysis.stats import REFERENCE_MIX, standardise, type_mix

    def run(n_fast: float, n_slow: float) -> pd.DataFrame:
        rows = [
            ("proposals", "fast", n_fast),
            ("proposals", "slow", n_slow),
            ("throughput_per_year", "fast", n_fast),
            ("throughput_per_year", "slow", n_slow),
            ("time_to_adoption_mean", "fast", 10.0),
            ("time_to_adoption_mean", "slow", 50.0),
            ("adoption_rate", "fast", 1.0),
            ("adoption_rate", "slow", 0.5),
        ]
        return pd.DataFrame(rows, columns=["metric", "group", "value"]).assign(replication=0)

    reference, other = run(30.0, 10.0), run(10.0, 30.0)  # same per-type results, other mix
    mix = type_mix(reference)
    assert mix["proposals"]["fast"] == pytest.approx(0.75)
    a, b = standardise(reference, mix), standardise(other, mix)
    assert set(a["group"]) == {REFERENCE_MIX}
    va = a.set_index("metric")["value"]
    vb = b.set_index("metric")["value"]
    assert va["time_to_adoption_mean"] == pytest.approx(0.75 * 10 + 0.25 * 50)
    assert vb["time_to_adoption_mean"] == pytest.approx(va["time_to_adoption_mean"])
    assert vb["adoption_rate"] == pytest.approx(0.875)


@pytest.mark.parametrize("n", [2, 7, 150, 1001])
def test_resample_weights_built_in_blocks_are_the_one_shot_draws(n: int) -> None:
    """The weights are drawn in blocks to keep memory small: the same draws as all at once."""
    idx = np.random.default_rng(n).integers(0, n, size=(2000, n))
    flat = (np.arange(2000)[:, None] * n + idx).ravel()
    whole = np.bincount(flat, minlength=2000 * n).reshape(2000, n) / n
    assert np.array_equal(_resample_weights(n, 2000), whole)
