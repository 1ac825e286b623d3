"""Statistics on result tables: per-replication metrics, confidence intervals, survival.

Pure functions on DataFrames (no SimPy, no files, no plotting), usable from notebooks. The
independent unit is the replication: every metric is first computed per replication
(:func:`replication_metrics`), then summarised across replications with a 95% t-interval
(:func:`summarise`). Time to adoption treats ``pending`` proposals as censored at the horizon and
never-adopted ones (blocked, lapsed, withdrawn) as never reaching adoption
(:func:`kaplan_meier`), never as if they were adopted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ADOPTED = ("adopted", "adopted_with_abstentions")


def _codes(series: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Integer codes (-1 for missing) and labels of a categorical or plain column."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.cat.codes.to_numpy(), [str(c) for c in series.cat.categories]
    codes, uniques = pd.factorize(series, sort=True)
    return codes, [str(u) for u in uniques]


def _label_mask(codes: np.ndarray, labels: list[str], values: tuple[str, ...]) -> np.ndarray:
    return np.isin(codes, [i for i, label in enumerate(labels) if label in values])


def _mask(series: pd.Series, values: tuple[str, ...]) -> np.ndarray:
    return _label_mask(*_codes(series), values)


class _Rows:
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
                "metric": pd.Categorical(self.metric),
                "group": pd.Categorical(self.group),
                "value": np.asarray(self.value, dtype=float),
            }
        )


def _per_group(codes: np.ndarray, k: int, values: np.ndarray, how: str) -> np.ndarray:
    """``how`` (mean, median, p90) of ``values`` per group code 0..k-1 (NaNs ignored)."""
    out = np.full(k, np.nan)
    for g in range(k):
        v = values[(codes == g) & ~np.isnan(values)]
        if len(v):
            out[g] = v.mean() if how == "mean" else np.percentile(v, 50 if how == "median" else 90)
    return out


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


def _km_median(duration: np.ndarray, adopted: np.ndarray, pending: np.ndarray) -> float:
    times, _, _, survival = _product_limit(duration, adopted, pending)
    below = np.flatnonzero(survival <= 0.5)
    return float(times[below[0]]) if len(below) else np.nan


def replication_metrics(
    proposals: pd.DataFrame,
    stages: pd.DataFrame,
    events: pd.DataFrame,
    meetings: pd.DataFrame,
    horizon_days: float,
    replication: int = 0,
) -> pd.DataFrame:
    """Long table ``replication, metric, group, value`` for one replication (SPEC §6).

    Groups: ``all`` and each proposal type for proposal metrics (rates are shares of all
    proposals tabled, pending included; times are of adopted proposals); each body for time
    splits, visits and meetings; each member state for objections, blocking votes,
    abstentions, reservations and blocked proposals.
    """
    rows = _Rows()
    tcode, types = _codes(proposals["type"])
    k = len(types)
    groups = ["all", *types]
    outcome = proposals["outcome"]
    ocode, olabels = _codes(outcome)

    def is_outcome(values: tuple[str, ...]) -> np.ndarray:
        return _label_mask(ocode, olabels, values)

    adopted = is_outcome(ADOPTED)
    pending = is_outcome(("pending",))
    duration = proposals["duration_days"].to_numpy(dtype=float)
    counts = np.bincount(tcode[tcode >= 0], minlength=k).astype(float)
    n = float(len(proposals))

    def share(flag: np.ndarray) -> np.ndarray:
        per_type = np.bincount(tcode, weights=flag.astype(float), minlength=k)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.concatenate([[flag.mean() if n else np.nan], per_type / counts])

    def stat(values: np.ndarray, how: str) -> np.ndarray:
        overall = _per_group(np.zeros(len(values), int), 1, values, how)
        return np.concatenate([overall, _per_group(tcode, k, values, how)])

    adopted_days = np.where(adopted, duration, np.nan)
    rows.add("proposals", groups, np.concatenate([[n], counts]))
    rows.add("adoption_rate", groups, share(adopted))
    for metric, outcomes in (
        ("abstention_adoption_rate", ("adopted_with_abstentions",)),
        ("block_rate", ("blocked",)),
        ("lapse_rate", ("lapsed",)),
        ("withdrawal_rate", ("withdrawn",)),
    ):
        rows.add(metric, groups, share(is_outcome(outcomes)))
    rows.add("pending_share", groups, share(pending))
    rows.add("time_to_adoption_mean", groups, stat(adopted_days, "mean"))
    rows.add("time_to_adoption_median", groups, stat(adopted_days, "median"))
    rows.add("time_to_adoption_p90", groups, stat(adopted_days, "p90"))
    km = [_km_median(duration, adopted, pending)] + [
        _km_median(duration[tcode == g], adopted[tcode == g], pending[tcode == g]) for g in range(k)
    ]
    rows.add("time_to_adoption_km_median", groups, km)
    rows.add("rounds_mean", groups, stat(proposals["rounds"].to_numpy(float), "mean"))
    rows.add("escalations_mean", groups, stat(proposals["escalations"].to_numpy(float), "mean"))
    dilution = np.where(adopted, proposals["dilution"].to_numpy(float), np.nan)
    rows.add("dilution_mean", groups, stat(dilution, "mean"))
    adopted_count = np.concatenate([[adopted.sum()], np.bincount(tcode, adopted, minlength=k)])
    rows.add("throughput_per_year", groups, adopted_count * 365.0 / horizon_days)
    pending_count = np.concatenate([[pending.sum()], np.bincount(tcode, pending, minlength=k)])
    rows.add("backlog_at_horizon", groups, pending_count)

    bcode, bodies = _codes(stages["body"])
    nb = len(bodies)
    for col in ("wait_meeting_days", "wait_instructions_days", "negotiating_days"):
        rows.add(col, bodies, _per_group(bcode, nb, stages[col].to_numpy(float), "mean"))
    rows.add("visits", bodies, np.bincount(bcode[bcode >= 0], minlength=nb))
    mcode, mbodies = _codes(meetings["body"])
    rows.add("meetings_held", mbodies, np.bincount(mcode[mcode >= 0], minlength=len(mbodies)))
    use = meetings["discussed"].to_numpy(float) / meetings["capacity"].to_numpy(float)
    rows.add("agenda_use", mbodies, _per_group(mcode, len(mbodies), use, "mean"))

    scode, states = _codes(events["member_state"])
    acode, activities = _codes(events["activity"])
    value = events["value"].to_numpy(float)
    ns = len(states)

    def per_state(mask: np.ndarray) -> np.ndarray:
        sel = mask & (scode >= 0)
        return np.bincount(scode[sel], minlength=ns)

    def is_activity(name: str) -> np.ndarray:
        return acode == (activities.index(name) if name in activities else -2)

    objection = is_activity("objection")
    rows.add("objections", states, per_state(objection))
    rows.add("blocking_votes", states, per_state(objection & (value == 1.0)))
    rows.add("abstentions", states, per_state(is_activity("abstention")))
    rows.add("reservations", states, per_state(is_activity("reservation")))
    blocked = is_outcome(("blocked", "lapsed"))
    tally = dict.fromkeys(states, 0.0)
    for text in proposals.loc[blocked, "blocking_states"]:
        for code in filter(None, str(text).split(",")):
            if code in tally:
                tally[code] += 1.0
    rows.add("proposals_blocked", states, list(tally.values()))
    return rows.frame(replication)


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


def summarise(metrics: pd.DataFrame) -> pd.DataFrame:
    """Across replications: ``n, mean, ci_low, ci_high, sd, p10, p50, p90`` per metric and group.

    Percentiles are of the per-replication values (the spread between replications).
    """
    rows = []
    for (metric, group), g in metrics.groupby(["metric", "group"], sort=False):
        v = g["value"].to_numpy(dtype=float)
        valid = v[~np.isnan(v)]
        mean, lo, hi = t_interval(valid)
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
    blocked, lapsed and withdrawn proposals never reach adoption, so they stay in the risk set
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
    return _km_median(
        proposals["duration_days"].to_numpy(dtype=float),
        _mask(outcome, ADOPTED),
        _mask(outcome, ("pending",)),
    )


def paired_differences(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Per-replication differences ``b - a`` of every metric, paired by replication, with a
    95% t-interval; also the unpaired (Welch) interval, so the gain from common random numbers
    is visible. ``a`` and ``b`` are :func:`replication_metrics` tables."""
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
