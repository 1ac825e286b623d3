"""Calibration targets: named quantities of the observed CFSP record beside the same quantities
computed from a run.

The observed record is ``sim/data/observed_cfsp.csv`` (its columns and caveats:
``observed_cfsp.md``); the type mapping, day thresholds and soft ranges are in
``sim/data/calibration.toml``. :func:`observed_targets` derives the targets from the record,
:func:`simulated_targets` computes them per replication from a run's tables and
:func:`fit_table` lines the two up (90% predictive interval across replications). Nothing here
tunes the model.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.stats import ADOPTED

USED_CONFIDENCE = ("verified", "secondary")
MINISTERIAL_LEVELS = ("council", "european_council")
POLITICAL_LEVELS = ("coreper", "council", "european_council")
NEVER_DONE = ("pending", "blocked", "lapsed")  # still or forever unadopted (withdrawn excluded)


def _data_text(name: str) -> str:
    return resources.files("sim").joinpath(f"data/{name}").read_text(encoding="utf-8")


def calibration_config() -> dict[str, Any]:
    """The type mapping, thresholds and soft ranges of ``sim/data/calibration.toml``."""
    return tomllib.loads(_data_text("calibration.toml"))


def type_map(config: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Observed category -> proposal type (and deadline dates, MM-DD, for renewals)."""
    cfg = config or calibration_config()
    return pd.DataFrame(cfg["types"]).set_index("category")


def observed_record(path: str | Path | None = None) -> pd.DataFrame:
    """The observed CFSP record (``sim/data/observed_cfsp.csv`` unless ``path``), dates parsed
    where they are full dates."""
    if path is None:
        with resources.files("sim").joinpath("data/observed_cfsp.csv").open("rb") as f:
            rec = pd.read_csv(f, dtype={"id": str})
    else:
        rec = pd.read_csv(path, dtype={"id": str})
    for col in [c for c in rec.columns if c.endswith("_date")]:
        rec[col] = pd.to_datetime(rec[col], format="%Y-%m-%d", errors="coerce")
    return rec


def _row(
    target: str,
    label: str,
    check: str,
    observed: float,
    rows: pd.DataFrame,
    note: str,
    low: float = np.nan,
    high: float = np.nan,
) -> dict[str, Any]:
    return {
        "target": target,
        "label": label,
        "check": check,
        "observed": float(observed),
        "low": low,
        "high": high,
        "n": len(rows),
        "source_ids": " ".join(rows["id"]),
        "note": note,
    }


def _confidence(rows: pd.DataFrame) -> str:
    kinds = sorted(set(rows["confidence"]))
    return "rows of confidence " + "+".join(kinds) if kinds else "no rows"


def _package_targets(rec: pd.DataFrame, th: Mapping[str, Any]) -> list[dict[str, Any]]:
    pk = rec[rec["category"] == "sanctions_package"].dropna(subset=["days_proposal_to_adoption"])
    d = pk["days_proposal_to_adoption"].to_numpy(float)
    fast, within, beyond = (
        th[k] for k in ("package_fast_days", "package_within_days", "package_beyond_days")
    )
    lo, hi = th["package_contested_low_days"], th["package_contested_high_days"]
    how = f"adopted Russia packages with a proposal date ({_confidence(pk)})"
    contested = pk.dropna(subset=["first_failed_date"])
    gap = contested.dropna(subset=["coreper_agreement_date"])
    gap_days = (gap["coreper_agreement_date"] - gap["first_failed_date"]).dt.days
    return [
        _row(
            "package_days_median",
            "sanctions packages: median days proposal to adoption",
            "interval",
            np.median(d),
            pk,
            f"median of days_proposal_to_adoption, {how}",
        ),
        _row(
            f"package_share_within_{within}d",
            f"packages adopted within {within} days",
            "interval",
            np.mean(d <= within),
            pk,
            f"share with days <= {within}, {how}",
        ),
        _row(
            f"package_share_within_{fast}d",
            f"packages adopted within {fast} days (fast mode)",
            "interval",
            np.mean(d <= fast),
            pk,
            f"share with days <= {fast}, {how}",
        ),
        _row(
            f"package_share_{lo}_{hi}d",
            f"packages taking {lo}-{hi} days (contested mode)",
            "interval",
            np.mean((d >= lo) & (d <= hi)),
            pk,
            f"share with {lo} <= days <= {hi}, {how}",
        ),
        _row(
            f"package_share_beyond_{beyond}d",
            f"packages taking more than {beyond} days",
            "range",
            np.mean(d > beyond),
            pk,
            f"share with days > {beyond}, {how}",
        ),
        _row(
            "package_share_failed_attempt",
            "packages with a failed attempt before agreement",
            "interval",
            len(contested) / len(pk),
            pk,
            f"share with a first_failed_date (a failed Coreper/FAC/EUCO attempt), {how}",
        ),
        _row(
            "package_failed_to_agreement_days_median",
            "contested packages: median days first failed attempt to Coreper agreement",
            "interval",
            np.median(gap_days),
            gap,
            f"coreper_agreement_date - first_failed_date, packages with both ({_confidence(gap)}); "
            "simulated: first failed round at Coreper or above to the last political agreement",
        ),
    ]


def _renewal_targets(
    rec: pd.DataFrame, th: Mapping[str, Any], types: pd.DataFrame
) -> list[dict[str, Any]]:
    cats = [c for c in types.index if c.startswith("renewal_")]
    rn = rec[rec["category"].isin(cats)]
    done = rn.dropna(subset=["days_before_deadline"])
    lo, hi = th["renewal_margin_low_days"], th["renewal_margin_high_days"]
    m = done["days_before_deadline"].to_numpy(float)
    rows = [
        _row(
            "renewal_margin_median",
            "renewals: median days adopted before expiry",
            "interval",
            np.median(m),
            done,
            f"median days_before_deadline, all renewals ({_confidence(done)})",
        ),
        _row(
            f"renewal_share_margin_{lo}_{hi}d",
            f"renewals adopted {lo}-{hi} days before expiry",
            "range",
            np.mean((m >= lo) & (m <= hi)),
            done,
            f"observed margins span {m.min():g}-{m.max():g} days ({_confidence(done)})",
        ),
        _row(
            "renewal_lapse_share",
            "renewals that lapsed",
            "range",
            0.0,
            done,
            f"no renewal lapsed: every dated renewal adopted before expiry ({_confidence(done)})",
        ),
    ]
    for cat in cats:
        part = done[done["category"] == cat]
        if len(part) >= 3:  # enough for a separate median
            kind = cat.removeprefix("renewal_")
            rows.append(
                _row(
                    f"renewal_margin_{kind}_median",
                    f"{kind} renewals: median days before expiry",
                    "interval",
                    part["days_before_deadline"].median(),
                    part,
                    f"median days_before_deadline, {cat} ({_confidence(part)})",
                )
            )
    return rows


def _other_targets(rec: pd.DataFrame, th: Mapping[str, Any]) -> list[dict[str, Any]]:
    counts = rec[(rec["category"] == "count") & rec["event"].str.contains("A items")]
    pct = [float(x) for x in re.findall(r"(\d+(?:\.\d+)?)%", " ".join(counts["event"]))]
    ep = rec[rec["category"] == "epf"]
    long_days = th["epf_long_days"]
    held = ep[
        (ep["days_proposal_to_adoption"] > long_days)
        | (ep["adoption_date"].isna() & ep["first_failed_date"].notna())
    ]
    return [
        _row(
            "ministerial_share",
            "adopted items discussed by ministers (B items)",
            "range",
            1 - pct[0] / 100 if pct else np.nan,
            counts,
            f"1 - the A-item share in the count row's event text ({_confidence(counts)})",
        ),
        _row(
            f"epf_share_beyond_{long_days}d",
            f"EPF measures held more than {long_days} days",
            "above",
            len(held) / len(ep) if len(ep) else np.nan,
            held,
            f"EPF rows adopted after > {long_days} days or never adopted after a failed attempt "
            f"({', '.join(held['id'])}), of {len(ep)} EPF rows ({_confidence(held)})",
        ),
    ]


def observed_targets(
    path: str | Path | None = None, config: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """The named calibration targets derived from the observed record.

    Only rows of confidence ``verified`` or ``secondary`` are used. Columns: ``target``,
    ``label``, ``check`` (``interval``: observed inside the simulated 90% interval; ``range``:
    simulated median in [low, high]; ``above``: simulated median above ``low``), ``observed``,
    ``low``, ``high``, ``n``, ``source_ids``, ``note``.
    """
    cfg = config or calibration_config()
    rec = observed_record(path)
    rec = rec[rec["confidence"].isin(USED_CONFIDENCE)]
    th = cfg["thresholds"]
    rows = (
        _package_targets(rec, th)
        + _renewal_targets(rec, th, type_map(cfg))
        + _other_targets(rec, th)
    )
    out = pd.DataFrame(rows)
    for target, soft in cfg.get("soft", {}).items():
        hit = out["target"] == target
        out.loc[hit, "low"] = soft.get("low", np.nan)
        out.loc[hit, "high"] = soft.get("high", np.nan)
        out.loc[hit, "note"] += "; " + soft["note"]
    return out


# --- simulated side -------------------------------------------------------------------------


def _deadline_dates(p: pd.DataFrame) -> pd.Series:
    """Each proposal's deadline as MM-DD (the run's day 0 recovered from ``arrival_time``)."""
    origin = (p["arrival_time"] - pd.to_timedelta(p["arrival_day"], unit="D")).dt.round("D")
    when = origin + pd.to_timedelta(p["deadline_day"].round(), unit="D")
    return when.dt.strftime("%m-%d")


def _failed_political(stages: pd.DataFrame, levels: Mapping[str, str]) -> pd.DataFrame:
    """Per (replication, proposal): whether a round failed at Coreper level or above, the day
    of the first such failed round, and the day the last political-level stage that passed
    ended (agreement; at the Council this is adoption itself)."""
    lvl = stages["body"].astype(str).map(levels)
    s = stages[lvl.isin(POLITICAL_LEVELS)].copy()
    passed = s["exit"].astype(str).isin(("agreed", *ADOPTED))
    s["failed"] = s["first_failed_day"].notna().astype(int)
    s["agreed_day"] = s["left_day"].where(passed)
    keys = ["replication", "proposal_id"]
    return s.groupby(keys).agg(
        failed=("failed", "sum"),
        first_failed=("first_failed_day", "min"),
        agreed=("agreed_day", "max"),
    )


def _share(mask: np.ndarray) -> float:
    return float(np.mean(mask)) if len(mask) else np.nan


def _median(values: np.ndarray) -> float:
    return float(np.median(values)) if len(values) else np.nan


def _package_values(
    pk: pd.DataFrame, th: Mapping[str, Any], fails: pd.DataFrame
) -> dict[str, float]:
    """The package targets of one replication's packages."""
    adopted = pk[pk["outcome"].astype(str).isin(ADOPTED)]
    d = adopted["duration_days"].to_numpy(float)
    fast, within, beyond = (
        th[k] for k in ("package_fast_days", "package_within_days", "package_beyond_days")
    )
    lo, hi = th["package_contested_low_days"], th["package_contested_high_days"]
    stuck = pk[pk["outcome"].astype(str).isin(NEVER_DONE) & (pk["duration_days"] > beyond)]
    n_long = int((d > beyond).sum()) + len(stuck)
    f = fails.reindex(list(zip(adopted["replication"], adopted["proposal_id"], strict=True)))
    contested = f[f["failed"] > 0]
    gap = (contested["agreed"] - contested["first_failed"]).dropna().to_numpy(float)
    return {
        "package_days_median": _median(d),
        f"package_share_within_{within}d": _share(d <= within),
        f"package_share_within_{fast}d": _share(d <= fast),
        f"package_share_{lo}_{hi}d": _share((d >= lo) & (d <= hi)),
        f"package_share_beyond_{beyond}d": n_long / (len(d) + len(stuck))
        if n_long or len(d)
        else np.nan,
        "package_share_failed_attempt": _share(f["failed"].fillna(0).to_numpy() > 0),
        "package_failed_to_agreement_days_median": _median(gap),
    }


def _renewal_values(
    rn: pd.DataFrame, th: Mapping[str, Any], types: pd.DataFrame
) -> dict[str, float]:
    """The renewal targets of one replication's renewals."""
    outcome = rn["outcome"].astype(str)
    adopted = rn[outcome.isin(ADOPTED)]
    m = (adopted["deadline_day"] - adopted["decided_day"]).to_numpy(float)
    lo, hi = th["renewal_margin_low_days"], th["renewal_margin_high_days"]
    decided = int(outcome.isin(ADOPTED).sum() + (outcome == "lapsed").sum())
    out = {
        "renewal_margin_median": _median(m),
        f"renewal_share_margin_{lo}_{hi}d": _share((m >= lo) & (m <= hi)),
        "renewal_lapse_share": float((outcome == "lapsed").sum() / decided) if decided else np.nan,
    }
    dates = _deadline_dates(adopted) if len(adopted) else pd.Series(dtype=str)
    for cat, row in types.iterrows():
        if str(cat).startswith("renewal_") and len(row["deadlines"]):
            part = m[dates.isin(row["deadlines"]).to_numpy()]
            out[f"renewal_margin_{str(cat).removeprefix('renewal_')}_median"] = _median(part)
    return out


def _ministerial_values(
    p: pd.DataFrame, stages: pd.DataFrame, levels: Mapping[str, str]
) -> pd.Series:
    """Per replication: share of adopted items with a round at Council or European Council."""
    adopted = p[p["outcome"].astype(str).isin(ADOPTED)]
    lvl = stages["body"].astype(str).map(levels)
    talked = stages[lvl.isin(MINISTERIAL_LEVELS) & (stages["rounds"] > 0)]
    keys = ["replication", "proposal_id"]
    hit = adopted.set_index(keys).index.isin(talked.set_index(keys).index)
    return pd.Series(hit, index=adopted["replication"].to_numpy()).groupby(level=0).mean()


def simulated_targets(
    proposals: pd.DataFrame,
    stages: pd.DataFrame,
    body_levels: Mapping[str, str],
    config: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """The calibration targets computed from a run's tables, one value per replication.

    ``body_levels`` maps each body id to its level (``working_party`` ... ``european_council``,
    from the scenario); ``config`` defaults to ``sim/data/calibration.toml`` (its ``types``
    table maps observed categories to proposal types). Returns columns ``replication``,
    ``target``, ``value`` (NaN where a replication has nothing to measure).
    """
    cfg = config or calibration_config()
    types, th = type_map(cfg), cfg["thresholds"]
    ptype = proposals["type"].astype(str)
    fails = _failed_political(stages, body_levels)
    ministers = _ministerial_values(proposals, stages, body_levels)
    epf_type, long_days = types.loc["epf", "proposal_type"], th["epf_long_days"]
    renewal_types = {types.loc[c, "proposal_type"] for c in types.index if c.startswith("renewal_")}
    rows = []
    for rep, p in proposals.groupby("replication", sort=True):
        kind = ptype.loc[p.index]
        values = _package_values(
            p[kind == types.loc["sanctions_package", "proposal_type"]], th, fails
        )
        values |= _renewal_values(p[kind.isin(renewal_types)], th, types)
        values["ministerial_share"] = float(ministers.get(rep, np.nan))
        ep = p[(kind == epf_type) & (p["outcome"].astype(str) != "withdrawn")]
        values[f"epf_share_beyond_{long_days}d"] = _share(
            ep["duration_days"].to_numpy() > long_days
        )
        rows += [{"replication": rep, "target": t, "value": v} for t, v in values.items()]
    return pd.DataFrame(rows, columns=["replication", "target", "value"])


def fit_table(observed: pd.DataFrame, simulated: pd.DataFrame) -> pd.DataFrame:
    """Each observed target beside its simulated distribution across replications: median, 5%
    and 95% (the 90% predictive interval), the number of replications with a value, and
    ``inside`` (by the target's ``check``: ``interval``, ``range`` or ``above``)."""
    vals = simulated.dropna(subset=["value"]).groupby("target")["value"]
    sim = pd.DataFrame(
        {
            "simulated_median": vals.median(),
            "p5": vals.quantile(0.05),
            "p95": vals.quantile(0.95),
            "replications": vals.size(),
        }
    )
    fit = observed.merge(sim, left_on="target", right_index=True, how="left")
    fit["replications"] = fit["replications"].fillna(0).astype(int)
    med, obs = fit["simulated_median"], fit["observed"]
    fit["inside"] = np.select(
        [fit["check"] == "interval", fit["check"] == "range", fit["check"] == "above"],
        [
            (fit["p5"] <= obs) & (obs <= fit["p95"]),
            (fit["low"] <= med) & (med <= fit["high"]),
            med > fit["low"],
        ],
        default=False,
    ).astype(bool)
    cols = [
        "target",
        "label",
        "check",
        "observed",
        "low",
        "high",
        "simulated_median",
        "p5",
        "p95",
        "inside",
        "n",
        "replications",
        "source_ids",
        "note",
    ]
    return fit[cols].reset_index(drop=True)
