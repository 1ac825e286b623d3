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


def _long(rep: int, table: pd.DataFrame) -> pd.DataFrame:
    """A wide table (groups x metrics) as long rows."""
    long = table.rename_axis(index="group", columns="metric").stack(future_stack=True)
    out = long.reset_index(name="value")
    out.insert(0, "replication", rep)
    out["group"] = out["group"].astype(str)
    return out[METRIC_COLUMNS]


def proposal_metrics(proposals: pd.DataFrame, horizon_days: float) -> pd.DataFrame:
    """Per-type and overall (``all``) proposal metrics of one replication, as a wide table."""
    outcome = proposals["outcome"]
    adopted = outcome.isin(ADOPTED).to_numpy()
    duration = proposals["duration_days"].to_numpy(dtype=float)
    frame = pd.DataFrame(
        {
            "type": proposals["type"],
            "proposals": 1.0,
            "adoption_rate": adopted.astype(float),
            "abstention_adoption_rate": (outcome == "adopted_with_abstentions").to_numpy(float),
            "block_rate": (outcome == "blocked").to_numpy(float),
            "lapse_rate": (outcome == "lapsed").to_numpy(float),
            "withdrawal_rate": (outcome == "withdrawn").to_numpy(float),
            "pending_share": (outcome == "pending").to_numpy(float),
            "adopted_days": np.where(adopted, duration, np.nan),
            "rounds_mean": proposals["rounds"].to_numpy(float),
            "escalations_mean": proposals["escalations"].to_numpy(float),
            "dilution_mean": np.where(adopted, proposals["dilution"].to_numpy(float), np.nan),
        }
    )
    rate_cols = ["adoption_rate", "abstention_adoption_rate", "block_rate", "lapse_rate",
                 "withdrawal_rate", "pending_share", "rounds_mean", "escalations_mean",
                 "dilution_mean"]  # fmt: skip
    groups = frame.groupby("type", observed=False)
    per_type = groups[rate_cols].mean()
    per_type["proposals"] = groups["proposals"].sum()
    days = groups["adopted_days"]
    per_type["time_to_adoption_mean"] = days.mean()
    per_type["time_to_adoption_median"] = days.median()
    per_type["time_to_adoption_p90"] = days.quantile(0.9)
    overall = frame[rate_cols].mean()
    overall["proposals"] = float(len(frame))
    overall["time_to_adoption_mean"] = frame["adopted_days"].mean()
    overall["time_to_adoption_median"] = frame["adopted_days"].median()
    overall["time_to_adoption_p90"] = frame["adopted_days"].quantile(0.9)
    table = pd.concat([overall.to_frame("all").T, per_type])
    table["throughput_per_year"] = (
        table["adoption_rate"] * table["proposals"] * 365.0 / horizon_days
    )
    table["backlog_at_horizon"] = table["pending_share"] * table["proposals"]
    km = {"all": km_median(proposals)}
    km.update({str(t): km_median(g) for t, g in proposals.groupby("type", observed=False)})
    table["time_to_adoption_km_median"] = pd.Series(km)
    return table


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
    out = [_long(replication, proposal_metrics(proposals, horizon_days))]
    visits = stages.groupby("body", observed=False)
    body_table = visits[["wait_meeting_days", "wait_instructions_days", "negotiating_days"]].mean()
    body_table["visits"] = visits.size().astype(float)
    held = meetings.groupby("body", observed=False)
    body_table = body_table.join(held.size().astype(float).rename("meetings_held"), how="outer")
    use = (meetings["discussed"] / meetings["capacity"]).groupby(meetings["body"], observed=False)
    body_table = body_table.join(use.mean().rename("agenda_use"), how="outer")
    out.append(_long(replication, body_table))

    members = events["member_state"].cat.categories
    ev = events[events["member_state"].notna()]
    act = ev["activity"].astype(str)
    counts = {}
    for metric, mask in (
        ("objections", act == "objection"),
        ("blocking_votes", (act == "objection") & (ev["value"] == 1.0)),
        ("abstentions", act == "abstention"),
        ("reservations", act == "reservation"),
    ):
        counts[metric] = (
            ev.loc[mask, "member_state"].value_counts().reindex(members, fill_value=0).astype(float)
        )
    blocked = proposals.loc[proposals["outcome"].isin(["blocked", "lapsed"]), "blocking_states"]
    codes = blocked[blocked != ""].str.split(",").explode().value_counts()
    counts["proposals_blocked"] = codes.reindex(members, fill_value=0).astype(float)
    out.append(_long(replication, pd.DataFrame(counts, index=members)))
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
    """Median time to adoption from the Kaplan–Meier estimate (same conventions as
    :func:`kaplan_meier`); NaN when the estimate never falls to one half.

    >>> df = pd.DataFrame({"duration_days": [1.0, 2.0, 3.0, 4.0],
    ...                    "outcome": ["adopted", "pending", "adopted", "blocked"]})
    >>> km_median(df)
    3.0
    """
    outcome = proposals["outcome"]
    event = outcome.isin(ADOPTED).to_numpy()
    if not event.any():
        return np.nan
    pending = (outcome == "pending").to_numpy()
    d = proposals["duration_days"].to_numpy(dtype=float)
    # risk set at t: everyone with d >= t, plus the never-adopted (blocked, lapsed, withdrawn)
    order = np.sort(np.where(event | pending, d, np.inf))
    times, n_events = np.unique(d[event], return_counts=True)
    at_risk = len(order) - np.searchsorted(order, times, side="left")
    survival = np.cumprod(1.0 - n_events / at_risk)
    below = np.flatnonzero(survival <= 0.5)
    return float(times[below[0]]) if len(below) else np.nan


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
