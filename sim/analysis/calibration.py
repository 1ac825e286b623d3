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

import functools
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


@functools.cache
def _bundled() -> tuple[pd.DataFrame, dict[str, Any]]:
    """The bundled type map and configuration, read once (not to be changed by the caller)."""
    cfg = calibration_config()
    return type_map(cfg), cfg


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
    crisis = th["package_crisis_days"]
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
            f"package_share_within_{crisis}d",
            f"packages adopted within {crisis} days (crisis mode)",
            "interval",
            np.mean(d <= crisis),
            pk,
            f"share with days <= {crisis}, {how}",
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
        if len(part) >= 3:  # enough for a separate median and share
            kind = cat.removeprefix("renewal_")
            held = _held(part)
            rows += [
                _row(
                    f"renewal_margin_{kind}_median",
                    f"{kind} renewals: median days before expiry",
                    "interval",
                    part["days_before_deadline"].median(),
                    part,
                    f"median days_before_deadline, {cat} ({_confidence(part)})",
                ),
                _row(
                    f"renewal_share_held_{kind}",
                    f"{kind} renewals held by a state's demand",
                    "interval",
                    held.mean(),
                    part,
                    f"share with a blocker or a concession recorded ({', '.join(part['id'][held])}"
                    f" of {len(part)}; {_confidence(part)}); simulated: a state raised a hold-out",
                ),
            ]
    return rows


def _held(rows: pd.DataFrame) -> np.ndarray:
    """Which observed rows record a state's demand: a ``blocker`` or a ``concession`` that does
    not say there was none ("none reported", "none visible")."""

    def named(col: str) -> np.ndarray:
        text = rows[col].fillna("").astype(str).str.strip().str.lower()
        return ((text != "") & ~text.str.startswith("none")).to_numpy()

    return named("blocker") | named("concession")


def _other_targets(rec: pd.DataFrame, th: Mapping[str, Any]) -> list[dict[str, Any]]:
    counts = rec[(rec["category"] == "count") & rec["event"].str.contains("A items")]
    pct = [float(x) for x in re.findall(r"(\d+(?:\.\d+)?)%", " ".join(counts["event"]))]
    ep = rec[rec["category"] == "epf"]
    long_days = th["epf_long_days"]
    held = ep[
        (ep["days_proposal_to_adoption"] > long_days)
        | (ep["adoption_date"].isna() & ep["first_failed_date"].notna())
    ]
    quick_days = th["epf_within_days"]
    dated = ep.dropna(subset=["days_proposal_to_adoption"])
    quick = dated[dated["days_proposal_to_adoption"] <= quick_days]
    measured = pd.concat([dated, held[~held["id"].isin(dated["id"])]])
    return [
        _row(
            "ministerial_share",
            "adopted Council decisions discussed by ministers (B items)",
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
        _row(
            f"epf_share_within_{quick_days}d",
            f"EPF measures adopted within {quick_days} days",
            "interval",
            len(quick) / len(measured) if len(measured) else np.nan,
            measured,
            f"EPF rows with a proposal date adopted within {quick_days} days "
            f"({', '.join(quick['id'])}) of those with a proposal date or held "
            f"({_confidence(measured)}); simulated: of the EPF measures not withdrawn",
        ),
    ]


def observed_targets(
    path: str | Path | None = None, config: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """The named calibration targets derived from the observed record.

    Only rows of confidence ``verified`` or ``secondary`` are used. Columns: ``target``,
    ``label``, ``check`` (``interval``: observed inside the simulated 90% interval; ``range``:
    the simulated ``statistic`` in [low, high]; ``above``: it is above ``low``), ``observed``,
    ``statistic`` (over replications: ``median``, or ``mean`` for a share pooled over them),
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
    out.insert(out.columns.get_loc("low"), "statistic", "median")
    for target, soft in cfg.get("soft", {}).items():
        hit = out["target"] == target
        out.loc[hit, "statistic"] = soft.get("statistic", "median")
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
    by = s.groupby(["replication", "proposal_id"])  # three reductions: 5x faster than .agg
    return pd.DataFrame(
        {
            "failed": by["failed"].sum(),
            "first_failed": by["first_failed_day"].min(),
            "agreed": by["agreed_day"].max(),
        }
    )


def _is(column: pd.Series, *values: str) -> np.ndarray:
    """Which rows of ``column`` hold one of ``values`` (a categorical column by its codes)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        cat = column.array
        assert isinstance(cat, pd.Categorical)
        return np.append(cat.categories.isin(values), False)[cat.codes]  # code -1: NaN
    return column.isin(values).to_numpy()


def _at_levels(body: pd.Series, levels: Mapping[str, str], wanted: tuple[str, ...]) -> np.ndarray:
    """Which rows' ``body`` is at one of the ``wanted`` levels."""
    codes, bodies = pd.factorize(body)
    flags = [levels.get(str(b)) in wanted for b in bodies]
    return np.array([*flags, False], dtype=bool)[codes]  # code -1 (no body): False


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den``, NaN where ``den`` is 0."""
    out = np.full(len(den), np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


class _Groups:
    """The rows of a run's proposal table by replication (sorted): counts, shares and medians
    of every replication at once."""

    def __init__(self, replication: pd.Series) -> None:
        codes, reps = pd.factorize(replication, sort=True)
        self.reps, self.n = np.asarray(reps), len(reps)
        self.code = codes  # -1 for a row without a replication (left out, as by groupby)
        self.rows = codes >= 0

    def keys(self, replication: pd.Series, proposal_id: pd.Series) -> np.ndarray:
        """One integer per (replication, proposal) pair, to match the rows of two tables
        (negative for a replication not grouped here)."""
        code = pd.Index(self.reps).get_indexer(replication)
        return code.astype(np.int64) * 2**32 + proposal_id.to_numpy(np.int64)

    def count(self, mask: np.ndarray) -> np.ndarray:
        """How many rows of each replication ``mask`` selects."""
        return np.bincount(self.code[mask & self.rows], minlength=self.n)

    def share(self, among: np.ndarray, hit: np.ndarray) -> np.ndarray:
        """The share of the rows ``among`` selects that ``hit`` selects too (NaN if none)."""
        return _ratio(self.count(among & hit), self.count(among))

    def median(self, mask: np.ndarray, values: np.ndarray) -> np.ndarray:
        """The median of ``values[mask]`` as :func:`numpy.median` computes it (NaN where there
        is none or one is NaN); ``values`` has a value for each row ``mask`` selects."""
        keep = self.rows[mask]
        g, v = self.code[mask][keep], np.asarray(values, dtype=float)[keep]
        order = np.lexsort((v, g))
        g, v = g[order], v[order]
        counts = np.bincount(g, minlength=self.n)
        start = np.cumsum(counts) - counts
        out = np.full(self.n, np.nan)
        has = counts > 0
        lo, hi = start[has] + (counts[has] - 1) // 2, start[has] + counts[has] // 2
        out[has] = (v[lo] + v[hi]) / 2  # the middle value, or the mean of the two
        out[np.bincount(g, weights=np.isnan(v), minlength=self.n) > 0] = np.nan
        return out


def _package_values(
    p: pd.DataFrame,
    groups: _Groups,
    package: np.ndarray,
    th: Mapping[str, Any],
    fails: pd.DataFrame,
) -> dict[str, np.ndarray]:
    """The package targets of every replication (``package``: the rows that are packages)."""
    dur = p["duration_days"].to_numpy(float)
    fast, within, beyond = (
        th[k] for k in ("package_fast_days", "package_within_days", "package_beyond_days")
    )
    lo, hi = th["package_contested_low_days"], th["package_contested_high_days"]
    crisis = th["package_crisis_days"]
    adopted = package & _is(p["outcome"], *ADOPTED)
    stuck = package & _is(p["outcome"], *NEVER_DONE) & (dur > beyond)
    n_long = groups.count(adopted & (dur > beyond)) + groups.count(stuck)
    where = np.flatnonzero(adopted)
    f = fails.reindex(
        pd.MultiIndex.from_arrays(
            [p["replication"].to_numpy()[where], p["proposal_id"].to_numpy()[where]]
        )
    )
    contested = f["failed"].to_numpy(float) > 0
    gap = (f["agreed"] - f["first_failed"]).to_numpy(float)
    failed, in_gap = np.zeros(len(p), dtype=bool), np.zeros(len(p), dtype=bool)
    failed[where] = contested
    in_gap[where] = contested & ~np.isnan(gap)
    return {
        "package_days_median": groups.median(adopted, dur[where]),
        f"package_share_within_{within}d": groups.share(adopted, dur <= within),
        f"package_share_within_{fast}d": groups.share(adopted, dur <= fast),
        f"package_share_within_{crisis}d": groups.share(adopted, dur <= crisis),
        f"package_share_{lo}_{hi}d": groups.share(adopted, (dur >= lo) & (dur <= hi)),
        f"package_share_beyond_{beyond}d": _ratio(n_long, groups.count(adopted | stuck)),
        "package_share_failed_attempt": groups.share(adopted, failed),
        "package_failed_to_agreement_days_median": groups.median(
            in_gap, gap[contested & ~np.isnan(gap)]
        ),
    }


def _renewal_values(
    p: pd.DataFrame,
    groups: _Groups,
    renewal: np.ndarray,
    th: Mapping[str, Any],
    types: pd.DataFrame,
) -> dict[str, np.ndarray]:
    """The renewal targets of every replication (``renewal``: the rows that are renewals)."""
    adopted = renewal & _is(p["outcome"], *ADOPTED)
    lapsed = renewal & _is(p["outcome"], "lapsed")
    margin = p["deadline_day"].to_numpy(float) - p["decided_day"].to_numpy(float)
    lo, hi = th["renewal_margin_low_days"], th["renewal_margin_high_days"]
    out = {
        "renewal_margin_median": groups.median(adopted, margin[adopted]),
        f"renewal_share_margin_{lo}_{hi}d": groups.share(adopted, (margin >= lo) & (margin <= hi)),
        "renewal_lapse_share": groups.share(adopted | lapsed, lapsed),
    }
    done = adopted | lapsed
    dates = pd.Series("", index=p.index[done], dtype=object)
    if len(dates):
        dates = _deadline_dates(p[["arrival_time", "arrival_day", "deadline_day"]][done])
    # runs written before the column existed have no hold-outs recorded: NaN, not 0
    held = p["holding_states"].to_numpy(dtype=object) != "" if "holding_states" in p else None
    for cat, deadlines in types["deadlines"].items():
        if str(cat).startswith("renewal_") and len(deadlines):
            due = np.zeros(len(p), dtype=bool)
            due[done] = dates.isin(deadlines).to_numpy()
            part = due & adopted
            kind = str(cat).removeprefix("renewal_")
            out[f"renewal_margin_{kind}_median"] = groups.median(part, margin[part])
            out[f"renewal_share_held_{kind}"] = (
                groups.share(due, held) if held is not None else np.full(groups.n, np.nan)
            )
    return out


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
    ``target``, ``value`` (NaN where a replication has nothing to measure), replications in
    order. Every target is computed for all the replications at once.
    """
    types, cfg = _bundled() if not config else (type_map(config), config)
    th = cfg["thresholds"]
    groups = _Groups(proposals["replication"])
    if not groups.n:
        return pd.DataFrame([], columns=["replication", "target", "value"])
    kind, outcome = proposals["type"], proposals["outcome"]
    type_of = types["proposal_type"]
    renewal = _is(kind, *[type_of[c] for c in types.index if str(c).startswith("renewal_")])
    package = _is(kind, type_of["sanctions_package"])
    adopted = _is(outcome, *ADOPTED)
    keys = groups.keys(proposals["replication"], proposals["proposal_id"])
    stage_keys = groups.keys(stages["replication"], stages["proposal_id"])
    # the stages of the packages measured only: a proposal's figures come from its own stages
    fails = _failed_political(stages[np.isin(stage_keys, keys[package & adopted])], body_levels)
    values = _package_values(proposals, groups, package, th, fails)
    values |= _renewal_values(proposals, groups, renewal, th, types)
    talked = _at_levels(stages["body"], body_levels, MINISTERIAL_LEVELS)
    talked &= stages["rounds"].to_numpy() > 0
    not_decisions = (
        cfg.get("soft", {}).get("ministerial_share", {}).get("not_council_decisions", [])
    )
    decisions = adopted & ~_is(kind, *not_decisions)  # CN01 counts Council decisions
    values["ministerial_share"] = groups.share(decisions, np.isin(keys, stage_keys[talked]))
    long_days = th["epf_long_days"]
    epf = _is(kind, type_of["epf"]) & ~_is(outcome, "withdrawn")
    duration = proposals["duration_days"].to_numpy()
    values[f"epf_share_beyond_{long_days}d"] = groups.share(epf, duration > long_days)
    quick_days = th["epf_within_days"]
    values[f"epf_share_within_{quick_days}d"] = groups.share(
        epf, adopted & (duration <= quick_days)
    )
    return pd.DataFrame(
        {
            "replication": np.repeat(groups.reps, len(values)),
            "target": np.tile(list(values), groups.n),
            "value": np.column_stack(list(values.values())).ravel(),
        }
    )


def fit_table(observed: pd.DataFrame, simulated: pd.DataFrame) -> pd.DataFrame:
    """Each observed target beside its simulated distribution across replications: median,
    mean, 5% and 95% (the 90% predictive interval), the number of replications with a value,
    and ``inside`` (by the target's ``check``: ``interval``, ``range`` or ``above``, on its
    ``statistic``)."""
    vals = simulated.dropna(subset=["value"]).groupby("target")["value"]
    sim = pd.DataFrame(
        {
            "simulated_median": vals.median(),
            "simulated_mean": vals.mean(),
            "p5": vals.quantile(0.05),
            "p95": vals.quantile(0.95),
            "replications": vals.size(),
        }
    )
    fit = observed.merge(sim, left_on="target", right_index=True, how="left")
    fit["replications"] = fit["replications"].fillna(0).astype(int)
    obs = fit["observed"]
    if "statistic" not in fit:
        fit["statistic"] = "median"
    value = fit["simulated_mean"].where(fit["statistic"] == "mean", fit["simulated_median"])
    fit["inside"] = np.select(
        [fit["check"] == "interval", fit["check"] == "range", fit["check"] == "above"],
        [
            (fit["p5"] <= obs) & (obs <= fit["p95"]),
            (fit["low"] <= value) & (value <= fit["high"]),
            value > fit["low"],
        ],
        default=False,
    ).astype(bool)
    cols = [
        "target",
        "label",
        "check",
        "observed",
        "statistic",
        "low",
        "high",
        "simulated_median",
        "simulated_mean",
        "p5",
        "p95",
        "inside",
        "n",
        "replications",
        "source_ids",
        "note",
    ]
    return fit[cols].reset_index(drop=True)
