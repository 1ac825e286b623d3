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
from scipy import stats as sps

ADOPTED = ("adopted", "adopted_with_abstentions")
METRIC_COLUMNS = ["replication", "metric", "group", "value"]


def _rows(rep: int, metric: str, values: pd.Series) -> pd.DataFrame:
    return pd.DataFrame(
        {"replication": rep, "metric": metric, "group": values.index.astype(str), "value": values}
    )


def _by_type_and_all(proposals: pd.DataFrame, fn: object) -> pd.Series:
    """Apply ``fn`` (a Series -> float function of a proposals frame) per type and overall."""
    assert callable(fn)
    per_type = {str(t): fn(g) for t, g in proposals.groupby("type", observed=False)}
    return pd.Series({"all": fn(proposals), **per_type}, dtype=float)


def replication_metrics(
    proposals: pd.DataFrame,
    stages: pd.DataFrame,
    events: pd.DataFrame,
    meetings: pd.DataFrame,
    horizon_days: float,
    replication: int = 0,
) -> pd.DataFrame:
    """Long table ``replication, metric, group, value`` for one replication (SPEC §6).

    Groups: ``all`` and each proposal type for proposal metrics; each body for time splits
    and meetings; each member state for objections, blocks and abstentions.
    """
    out: list[pd.DataFrame] = []
    adopted = proposals["outcome"].isin(ADOPTED)

    def share(outcomes: tuple[str, ...]) -> object:
        return lambda g: g["outcome"].isin(outcomes).mean() if len(g) else np.nan

    def adopted_stat(column: str, how: str) -> object:
        def f(g: pd.DataFrame) -> float:
            v = g.loc[g["outcome"].isin(ADOPTED), column]
            if not len(v):
                return np.nan
            return float(v.quantile(0.9) if how == "p90" else getattr(v, how)())

        return f

    specs: list[tuple[str, object]] = [
        ("proposals", lambda g: float(len(g))),
        ("adoption_rate", share(ADOPTED)),
        ("abstention_adoption_rate", share(("adopted_with_abstentions",))),
        ("block_rate", share(("blocked",))),
        ("lapse_rate", share(("lapsed",))),
        ("withdrawal_rate", share(("withdrawn",))),
        ("pending_share", share(("pending",))),
        ("time_to_adoption_mean", adopted_stat("duration_days", "mean")),
        ("time_to_adoption_median", adopted_stat("duration_days", "median")),
        ("time_to_adoption_p90", adopted_stat("duration_days", "p90")),
        ("time_to_adoption_km_median", lambda g: km_median(g, horizon_days)),
        ("rounds_mean", lambda g: g["rounds"].mean() if len(g) else np.nan),
        ("escalations_mean", lambda g: g["escalations"].mean() if len(g) else np.nan),
        ("dilution_mean", adopted_stat("dilution", "mean")),
        ("throughput_per_year", lambda g: g["outcome"].isin(ADOPTED).sum() * 365.0 / horizon_days),
        ("backlog_at_horizon", lambda g: float((g["outcome"] == "pending").sum())),
    ]
    for name, fn in specs:
        out.append(_rows(replication, name, _by_type_and_all(proposals, fn)))
    del adopted

    visits = stages.groupby("body", observed=False)
    for col in ("wait_meeting_days", "wait_instructions_days", "negotiating_days"):
        out.append(_rows(replication, col, visits[col].mean()))
    out.append(_rows(replication, "visits", visits.size().astype(float)))
    held = meetings.groupby("body", observed=False)
    out.append(_rows(replication, "meetings_held", held.size().astype(float)))
    use = (meetings["discussed"] / meetings["capacity"]).groupby(meetings["body"], observed=False)
    out.append(_rows(replication, "agenda_use", use.mean()))

    ev = events[events["member_state"].notna()]
    members = events["member_state"].cat.categories
    for metric, mask in (
        ("objections", ev["activity"] == "objection"),
        ("blocking_votes", (ev["activity"] == "objection") & (ev["value"] == 1.0)),
        ("abstentions", ev["activity"] == "abstention"),
        ("reservations", ev["activity"] == "reservation"),
    ):
        counts = ev.loc[mask, "member_state"].value_counts().reindex(members, fill_value=0)
        out.append(_rows(replication, metric, counts.astype(float)))
    blocked = proposals.loc[proposals["outcome"].isin(["blocked", "lapsed"]), "blocking_states"]
    codes = blocked[blocked != ""].str.split(",").explode().value_counts()
    out.append(
        _rows(replication, "proposals_blocked", codes.reindex(members, fill_value=0).astype(float))
    )
    return pd.concat(out, ignore_index=True)


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
    half = float(sps.t.ppf(0.5 + level / 2, n - 1) * v.std(ddof=1) / np.sqrt(n))
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
    d = proposals["duration_days"].to_numpy(dtype=float)
    outcome = proposals["outcome"].astype(str).to_numpy()
    event = np.isin(outcome, ADOPTED)
    never = ~event & (outcome != "pending")
    d = np.where(never, np.inf, d)
    times = np.unique(d[event])
    surv, s = [1.0], 1.0
    at_risk_list, events_list = [len(d)], [0]
    order = np.sort(d)
    for t in times:
        at_risk = len(order) - np.searchsorted(order, t, side="left")
        n_event = int(np.sum(event & (d == t)))
        s *= 1.0 - n_event / at_risk
        surv.append(s)
        at_risk_list.append(int(at_risk))
        events_list.append(n_event)
    return pd.DataFrame(
        {
            "time_days": np.concatenate([[0.0], times]),
            "survival": surv,
            "at_risk": at_risk_list,
            "adopted": events_list,
        }
    )


def km_median(proposals: pd.DataFrame, horizon_days: float | None = None) -> float:
    """Median time to adoption from :func:`kaplan_meier`; NaN when under half are adopted."""
    if not len(proposals):
        return np.nan
    km = kaplan_meier(proposals)
    below = km[km["survival"] <= 0.5]
    return float(below["time_days"].iloc[0]) if len(below) else np.nan


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
    half = float(sps.t.ppf(0.5 + level / 2, dof) * se)
    return diff, diff - half, diff + half
