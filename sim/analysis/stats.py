"""Statistics on result tables: per-replication metrics, confidence intervals, survival.

Pure functions on DataFrames (no SimPy, no files, no plotting), usable from notebooks. The
independent unit is the replication: every metric is first computed per replication
(:func:`sim.analysis.metrics.replication_metrics`), then summarised across replications
(:func:`summarise`) with a 95% percentile-bootstrap interval of the mean, which stays inside the
range of the values (a rate within [0, 1], days within the observed days); differences between
paired runs use a t-interval. Time to adoption treats ``pending`` proposals as censored at the
horizon and never-adopted ones (blocked, lapsed, withdrawn, issued by the High Representative
instead) as never reaching adoption (:func:`kaplan_meier`), never as if they were adopted.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import pandas as pd

ADOPTED = ("adopted", "adopted_with_abstentions")

MIN_REPLICATIONS = 30
"""Below this many replications the intervals are too rough to lean on (a warning says so)."""

RESAMPLES = 2000
"""Bootstrap resamples per interval (a fixed seed: the same values give the same interval)."""


def few_replications(n: int) -> str | None:
    """The warning for a run of ``n`` replications, or None when there are enough.

    >>> few_replications(12)
    'only 12 replications: the 95% intervals are rough; use 30 or more (-n 30)'
    >>> few_replications(30) is None
    True
    """
    if n >= MIN_REPLICATIONS:
        return None
    return (
        f"only {n} replications: the 95% intervals are rough; "
        f"use {MIN_REPLICATIONS} or more (-n {MIN_REPLICATIONS})"
    )


def codes_of(series: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Integer codes (-1 for missing) and labels of a categorical or plain column."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.cat.codes.to_numpy(), [str(c) for c in series.cat.categories]
    codes, uniques = pd.factorize(series, sort=True)
    return codes, [str(u) for u in uniques]


def label_mask(codes: np.ndarray, labels: list[str], values: tuple[str, ...]) -> np.ndarray:
    mask = np.zeros(len(codes), dtype=bool)
    for i, label in enumerate(labels):
        if label in values:
            mask |= codes == i
    return mask


def _mask(series: pd.Series, values: tuple[str, ...]) -> np.ndarray:
    return label_mask(*codes_of(series), values)


class Rows:
    """Accumulates ``metric, group, value`` rows cheaply."""

    def __init__(self) -> None:
        self.metric: list[str] = []
        self.group: list[str] = []
        self.value: list[float] = []

    def add(self, metric: str, groups: list[str], values: np.ndarray | list[float]) -> None:
        self.metric.extend([metric] * len(groups))
        self.group.extend(groups)
        self.value.extend(float(v) for v in values)

    def frame(self, replication: int) -> pd.DataFrame:
        # categoricals: the same metrics and groups repeat in every replication, so a study of
        # thousands of replications keeps them as small integer codes
        return pd.DataFrame(
            {
                "replication": replication,
                "metric": _categorical(tuple(self.metric)),
                "group": _categorical(tuple(self.group)),
                "value": np.asarray(self.value, dtype=float),
            }
        )


@lru_cache(maxsize=16)
def _coded(labels: tuple[str, ...]) -> tuple[np.ndarray, pd.CategoricalDtype]:
    c = pd.Categorical(labels)
    return c.codes, c.dtype


def _categorical(labels: tuple[str, ...]) -> pd.Categorical:
    """``pd.Categorical(labels)``, factorised once for the labels every replication repeats."""
    codes, dtype = _coded(labels)
    return pd.Categorical.from_codes(codes, dtype=dtype)


def group_rows(codes: np.ndarray, k: int) -> list[np.ndarray]:
    """The rows of each group code 0..k-1, in table order (found once for several metrics).

    >>> rows = group_rows(np.array([1, 0, 1, -1]), 2)
    >>> rows[0].tolist(), rows[1].tolist()
    ([1], [0, 2])
    """
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(k + 1))
    return [order[bounds[g] : bounds[g + 1]] for g in range(k)]


_Q = {"median": 50, "p90": 90}
"""The percentile each of :func:`per_group`'s ``how`` takes."""


def per_group(rows: list[np.ndarray], values: np.ndarray, how: str) -> np.ndarray:
    """``how`` (mean, median, p90) of ``values`` in each group of ``rows`` (NaNs ignored);
    the mean is numpy's (``np.add.reduce`` over the group in table order, divided by its size).
    """
    out = np.full(len(rows), np.nan)
    for g, idx in enumerate(rows):
        v = values[idx]
        v = v[~np.isnan(v)]
        if len(v):
            out[g] = np.add.reduce(v) / len(v) if how == "mean" else percentile(v, _Q[how])
    return out


def percentile(values: np.ndarray, q: int) -> float:
    """``np.percentile(values, q)`` to the bit (numpy's default "linear" method, its
    arithmetic step for step), without its overhead: a replication's metrics take dozens.

    >>> v = np.array([3.0, 1.0, 4.0, 1.5])
    >>> percentile(v, 90), float(np.percentile(v, 90))
    (3.7, 3.7)
    """
    ordered = np.sort(values)
    n = len(ordered)
    virtual = (n - 1) * (q / 100)
    low = math.floor(virtual)
    if virtual >= n - 1:  # numpy takes the last value twice, at index -1
        low, high = -1, -1
    else:
        high = low + 1
    a, b, t = float(ordered[low]), float(ordered[high]), virtual - low
    d = b - a
    return b - d * (1 - t) if t >= 0.5 else a + d * t


def _product_limit(
    duration: np.ndarray, adopted: np.ndarray, pending: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Kaplan–Meier at each adoption time: ``times, adoptions, at_risk, survival``.

    The risk set at t is everyone with duration >= t, plus the never-adopted (blocked, lapsed,
    withdrawn), who stay at risk throughout; pending proposals are censored at their duration.
    """
    order = np.sort(np.where(adopted | pending, duration, np.inf))
    times, n_events = np.unique(duration[adopted], return_counts=True)
    at_risk = len(order) - np.searchsorted(order, times, side="left")
    survival = np.cumprod(1.0 - n_events / at_risk) if len(times) else np.array([])
    return times, n_events, at_risk, survival


def km_median_of(duration: np.ndarray, adopted: np.ndarray, pending: np.ndarray) -> float:
    times, _, _, survival = _product_limit(duration, adopted, pending)
    below = np.flatnonzero(survival <= 0.5)
    return float(times[below[0]]) if len(below) else np.nan


def _t_quantile(q: float, dof: float) -> float:
    """Student-t quantile. ``scipy.special`` is imported here, not at module level, and not
    ``scipy.stats`` (twice as slow to import): worker processes need only the metrics."""
    from scipy.special import stdtrit

    return float(stdtrit(dof, q))


def t_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided t confidence interval of independent ``values`` (NaNs dropped).

    >>> t_interval(np.array([1.0, 2.0, 3.0]))[0]
    2.0
    """
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    n = len(v)
    if n == 0:
        return np.nan, np.nan, np.nan
    mean = float(v.mean())
    if n == 1:
        return mean, np.nan, np.nan
    half = float(_t_quantile(0.5 + level / 2, n - 1) * v.std(ddof=1) / np.sqrt(n))
    return mean, mean - half, mean + half


_BLOCK = 100
"""Resamples drawn at a time by :func:`_resample_weights`."""


@lru_cache(maxsize=4)
def _resample_weights(n: int, resamples: int = RESAMPLES) -> np.ndarray:
    """Each row: how often each of ``n`` values is drawn in one resample, divided by ``n``
    (so ``weights @ values`` are the resampled means: one matrix product for all of them)."""
    rng, weights = np.random.default_rng(n), np.empty((resamples, n))
    for start in range(0, resamples, _BLOCK):  # in blocks: the draws are the same, the peak small
        rows = min(_BLOCK, resamples - start)
        idx = rng.integers(0, n, size=(rows, n))
        flat = (np.arange(rows)[:, None] * n + idx).ravel()
        weights[start : start + rows] = np.bincount(flat, minlength=rows * n).reshape(rows, n) / n
    return weights


@lru_cache(maxsize=4)
def _resample_sizes(n: int) -> np.ndarray:
    """``weights @ defined`` when every value is defined (the same product, computed once)."""
    return _resample_weights(n) @ np.ones(n, dtype=bool)


def bootstrap_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and percentile-bootstrap interval of the mean of independent ``values``, one per
    replication. The interval lies within the range of the values: a rate stays in [0, 1].

    A NaN is a replication where the metric is undefined (no proposal of that type adopted):
    replications are resampled all the same, and each resample averages its defined values.

    >>> mean, lo, hi = bootstrap_interval(np.array([0.0, 0.0, 0.0, np.nan, 1.0]))
    >>> mean, lo >= 0.0, hi <= 1.0
    (0.25, True, True)
    """
    v = np.asarray(values, dtype=float)
    defined = ~np.isnan(v)
    valid = v[defined]
    if len(valid) == 0:
        return np.nan, np.nan, np.nan
    mean = float(valid.mean())
    if len(valid) == 1:
        return mean, np.nan, np.nan
    if valid.min() == valid.max():
        return mean, mean, mean
    weights = _resample_weights(len(v))
    counted = _resample_sizes(len(v)) if len(valid) == len(v) else weights @ defined
    with np.errstate(invalid="ignore", divide="ignore"):
        means = (weights @ np.where(defined, v, 0.0)) / counted
    lo, hi = np.nanpercentile(means, [50 * (1 - level), 50 * (1 + level)])
    return mean, float(lo), float(hi)


def summarise(metrics: pd.DataFrame) -> pd.DataFrame:
    """Across replications: ``n, mean, ci_low, ci_high, sd, p10, p50, p90`` per metric and group.

    The interval is a 95% percentile bootstrap of the mean over replications
    (:func:`bootstrap_interval`); percentiles are of the per-replication values (the spread
    between replications).
    """
    rows = []
    for (metric, group), g in metrics.groupby(["metric", "group"], sort=False):
        v = g["value"].to_numpy(dtype=float)
        valid = v[~np.isnan(v)]
        mean, lo, hi = bootstrap_interval(v)
        pct = np.percentile(valid, [10, 50, 90]) if len(valid) else [np.nan] * 3
        rows.append(
            {
                "metric": metric,
                "group": group,
                "n": len(valid),
                "mean": mean,
                "ci_low": lo,
                "ci_high": hi,
                "sd": float(valid.std(ddof=1)) if len(valid) > 1 else np.nan,
                "p10": pct[0],
                "p50": pct[1],
                "p90": pct[2],
            }
        )
    return pd.DataFrame(rows)


def pooled_durations(proposals: pd.DataFrame) -> pd.DataFrame:
    """Pooled percentiles of time to adoption (adopted proposals of all replications), by type."""
    adopted = proposals[proposals["outcome"].isin(ADOPTED)]
    rows = []
    for group, g in [("all", adopted), *adopted.groupby("type", observed=False)]:
        d = g["duration_days"].to_numpy(dtype=float)
        pct = np.percentile(d, [10, 50, 90]) if len(d) else [np.nan] * 3
        rows.append(
            {
                "metric": "time_to_adoption_pooled",
                "group": str(group),
                "n": len(d),
                "mean": float(d.mean()) if len(d) else np.nan,
                "p10": pct[0],
                "p50": pct[1],
                "p90": pct[2],
            }
        )
    return pd.DataFrame(rows)


def kaplan_meier(proposals: pd.DataFrame, horizon_days: float | None = None) -> pd.DataFrame:
    """Kaplan–Meier estimate of the share not yet adopted, ``S(t)``.

    Adoption is the event. ``pending`` proposals are censored at their observed duration;
    blocked, lapsed and withdrawn proposals (and declarations the High Representative issued
    instead) never reach adoption, so they stay in the risk set
    throughout (censored at infinity). Returns columns ``time_days``, ``survival``,
    ``at_risk``, ``adopted`` at each adoption time, starting from ``(0, 1.0)``.

    Examples
    --------
    >>> df = pd.DataFrame({"duration_days": [1.0, 2.0, 3.0, 4.0],
    ...                    "outcome": ["adopted", "pending", "adopted", "blocked"]})
    >>> kaplan_meier(df)["survival"].round(3).tolist()
    [1.0, 0.75, 0.375]
    """
    outcome = proposals["outcome"]
    d = proposals["duration_days"].to_numpy(dtype=float)
    times, n_events, at_risk, survival = _product_limit(
        d, _mask(outcome, ADOPTED), _mask(outcome, ("pending",))
    )
    return pd.DataFrame(
        {
            "time_days": np.concatenate([[0.0], times]),
            "survival": np.concatenate([[1.0], survival]),
            "at_risk": np.concatenate([[len(d)], at_risk]).astype(np.int64),
            "adopted": np.concatenate([[0], n_events]).astype(np.int64),
        }
    )


def km_median(proposals: pd.DataFrame, horizon_days: float | None = None) -> float:
    """Median time to adoption from the Kaplan–Meier estimate (same conventions as
    :func:`kaplan_meier`); NaN when the estimate never falls to one half.

    >>> df = pd.DataFrame({"duration_days": [1.0, 2.0, 3.0, 4.0],
    ...                    "outcome": ["adopted", "pending", "adopted", "blocked"]})
    >>> km_median(df)
    3.0
    """
    outcome = proposals["outcome"]
    return km_median_of(
        proposals["duration_days"].to_numpy(dtype=float),
        _mask(outcome, ADOPTED),
        _mask(outcome, ("pending",)),
    )


def paired_differences(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Per-replication differences ``b - a`` of every metric, paired by replication, with a
    95% t-interval; also the unpaired (Welch) interval, so the gain from common random numbers
    is visible. ``a`` and ``b`` are :func:`sim.analysis.metrics.replication_metrics` tables."""
    keys = ["metric", "group", "replication"]
    merged = a[[*keys, "value"]].merge(b[[*keys, "value"]], on=keys, suffixes=("_a", "_b"))
    rows = []
    for (metric, group), g in merged.groupby(["metric", "group"], sort=False):
        diff = (g["value_b"] - g["value_a"]).to_numpy(dtype=float)
        mean, lo, hi = t_interval(diff)
        va, vb = g["value_a"].dropna().to_numpy(), g["value_b"].dropna().to_numpy()
        _, u_lo, u_hi = welch_interval(va, vb)
        rows.append(
            {
                "metric": metric,
                "group": group,
                "n_pairs": int((~np.isnan(diff)).sum()),
                "mean_a": float(np.nanmean(g["value_a"])) if len(va) else np.nan,
                "mean_b": float(np.nanmean(g["value_b"])) if len(vb) else np.nan,
                "difference": mean,
                "ci_low": lo,
                "ci_high": hi,
                "unpaired_ci_low": u_lo,
                "unpaired_ci_high": u_hi,
            }
        )
    return pd.DataFrame(rows)


def welch_interval(a: np.ndarray, b: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Difference of means ``b - a`` with a Welch t-interval (unpaired)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2 or len(b) < 2:
        return (float(b.mean() - a.mean()) if len(a) and len(b) else np.nan), np.nan, np.nan
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    diff = float(b.mean() - a.mean())
    se = np.sqrt(va + vb)
    if se == 0:
        return diff, diff, diff
    dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = float(_t_quantile(0.5 + level / 2, dof) * se)
    return diff, diff - half, diff + half


REFERENCE_MIX = "all, reference mix"
"""Group of the "all types" values standardised to the reference scenario's mix of types."""

_PER_PROPOSAL = (
    "adoption_rate",
    "abstention_adoption_rate",
    "block_rate",
    "lapse_rate",
    "withdrawal_rate",
    "hr_declaration_rate",
    "pending_share",
    "rounds_mean",
    "escalations_mean",
)
_PER_ADOPTED = ("time_to_adoption_mean", "dilution_mean")


def type_mix(metrics: pd.DataFrame) -> dict[str, pd.Series]:
    """A run's mix of proposal types, as weights summing to 1: of all proposals
    (``"proposals"``) and of adopted ones (``"adopted"``), averaged over replications."""
    per_type = metrics[metrics["group"].astype(str) != "all"]
    out = {}
    for key, metric in (("proposals", "proposals"), ("adopted", "throughput_per_year")):
        m = per_type[per_type["metric"] == metric]
        w = m.groupby(m["group"].astype(str))["value"].mean()
        out[key] = w / w.sum()
    return out


def standardise(metrics: pd.DataFrame, mix: dict[str, pd.Series]) -> pd.DataFrame:
    """Per replication, the "all types" value of each per-proposal metric recomputed with the
    type weights ``mix`` (see :func:`type_mix`): group :data:`REFERENCE_MIX`. A scenario with
    another mix of types (more sanctions packages, say) is then compared type for type.

    Types without a value in a replication (none adopted) are left out and the weights of the
    others rescaled.
    """
    frames = []
    for metrics_of, weights in ((_PER_PROPOSAL, mix["proposals"]), (_PER_ADOPTED, mix["adopted"])):
        m = metrics[metrics["metric"].isin(metrics_of)].assign(
            metric=lambda d: d["metric"].astype(str), group=lambda d: d["group"].astype(str)
        )
        m = m[m["group"].isin(weights.index)]
        wide = m.pivot_table(
            index=["metric", "replication"], columns="group", values="value", dropna=False
        )
        w = weights.reindex(wide.columns).fillna(0.0).to_numpy()
        values = wide.to_numpy()
        has = ~np.isnan(values)
        with np.errstate(invalid="ignore", divide="ignore"):
            std = np.where(has, values, 0.0) @ w / (has @ w)
        frames.append(wide.index.to_frame(index=False).assign(group=REFERENCE_MIX, value=std))
    return pd.concat(frames, ignore_index=True)[["replication", "metric", "group", "value"]]
