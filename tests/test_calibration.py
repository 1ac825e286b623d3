"""Calibration targets: observed values by hand, simulated values on a hand-made run, the fit
table's ``inside`` logic, and ``cfsp-sim fit`` on a real run."""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis import targets as registry
from sim.analysis.blocks import RecordSize, record_of, simulated_records, spread
from sim.analysis.calibration import (
    calibration_config,
    fit_table,
    observed_record,
    observed_size,
    observed_targets,
    record_targets,
    simulated_targets,
)
from sim.analysis.replications import NEVER_DONE, Groups, failed_political
from sim.analysis.stats import ADOPTED
from sim.analysis.targets import CHECKS, Measured, Target
from sim.engine.compile import Model
from sim.experiment.moments import body_levels
from tests.conftest import DATA, ROOT

# Days proposal -> adoption of the 16 Russia packages RU01..RU16 (verified + secondary rows),
# read off observed_cfsp.csv by eye.
PACKAGE_DAYS = [1, 1, 1, 3, 4, 3, 6, 8, 9, 10, 49, 33, 16, 49, 19, 27]
SECTORAL_MARGINS = [18, 5, 4, 11, 2, 9]  # RS2201..RS2407
LISTINGS_MARGINS = [5, 1, 2, 2, 3, 3]  # RL2109, RL2209..RL2409 (RL2203 is unverified)


@pytest.fixture(scope="module")
def targets() -> pd.DataFrame:
    return observed_targets().set_index("target")


def test_bundled_record_is_the_shared_file_with_sources() -> None:
    rec = observed_record()
    assert len(rec) == 53
    assert {"sources", "confidence", "event", "blocker", "concession"} <= set(rec.columns)
    assert rec["sources"].str.startswith("http").all()
    shared = Path("/work/shared/data/observed_cfsp.csv")
    if shared.exists():  # on the project machine: an unchanged copy
        bundled = ROOT / "sim" / "data" / "observed_cfsp.csv"
        assert bundled.read_bytes() == shared.read_bytes()


def test_package_targets_by_hand(targets: pd.DataFrame) -> None:
    d = np.array(PACKAGE_DAYS)
    assert targets.loc["package_days_median", "observed"] == 8.5 == np.median(d)
    assert targets.loc["package_share_within_21d", "observed"] == 12 / 16
    assert targets.loc["package_share_within_10d", "observed"] == 10 / 16
    assert targets.loc["package_share_28_56d", "observed"] == 3 / 16  # RU11, RU12, RU14
    assert targets.loc["package_share_30d_or_more", "observed"] == 3 / 16  # the same three
    assert targets.loc["package_share_beyond_90d", "observed"] == 0
    assert targets.loc["package_days_median", "n"] == 16
    # RU05 1, RU09 3, RU10 1, RU11 36, RU12 0, RU13 7, RU14 8, RU15 5 days: median 4
    assert targets.loc["package_share_failed_attempt", "observed"] == 8 / 16
    assert targets.loc["package_failed_to_agreement_days_median", "observed"] == 4
    assert targets.loc["package_failed_to_agreement_days_median", "source_ids"].split() == [
        "RU05",
        "RU09",
        "RU10",
        "RU11",
        "RU12",
        "RU13",
        "RU14",
        "RU15",
    ]


def test_renewal_targets_by_hand(targets: pd.DataFrame) -> None:
    both = SECTORAL_MARGINS + LISTINGS_MARGINS
    assert targets.loc["renewal_margin_median", "observed"] == 3.5 == np.median(both)
    assert targets.loc["renewal_margin_sectoral_median", "observed"] == 7
    assert targets.loc["renewal_margin_listings_median", "observed"] == 2.5
    assert targets.loc["renewal_share_margin_1_18d", "observed"] == 1.0
    assert "1-18 days" in targets.loc["renewal_share_margin_1_18d", "note"]
    assert targets.loc["renewal_lapse_share", "high"] == 0.01
    assert targets.loc["renewal_lapse_share", "statistic"] == "mean"  # pooled, not the median's
    for kind in ("sectoral", "listings"):
        lapses = targets.loc[f"renewal_lapse_share_{kind}"]
        assert (lapses["observed"], lapses["n"], lapses["check"]) == (0, 6, "range")
        assert (lapses["low"], lapses["high"], lapses["statistic"]) == (0, 0.01, "mean")
    held = targets.loc["renewal_share_held_sectoral"], targets.loc["renewal_share_held_listings"]
    assert [h["observed"] for h in held] == [0.0, pytest.approx(4 / 6)]
    assert "RL2209, RL2303, RL2309, RL2403 of 6" in held[1]["note"]
    assert targets.loc["package_share_within_4d", "observed"] == 6 / 16
    assert targets.loc["epf_share_within_60d", "observed"] == 3 / 5  # EP01, EP07, EP08; EP09, EP10
    assert targets.loc["renewal_margin_median", "n"] == 12
    assert "RL2203" not in targets.loc["renewal_margin_median", "source_ids"]


def test_soft_targets_by_hand(targets: pd.DataFrame) -> None:
    m = targets.loc["ministerial_share"]
    assert m["observed"] == pytest.approx(0.30)  # CN01: around 70% A items
    assert (m["low"], m["high"], m["check"], m["source_ids"]) == (0.10, 0.35, "range", "CN01")
    e = targets.loc["epf_share_beyond_180d"]
    assert (e["check"], e["low"], e["source_ids"]) == ("above", 0.0, "EP09 EP10")
    assert e["observed"] == pytest.approx(2 / 9)
    assert targets["note"].str.contains("rows of confidence (?:secondary|verified)").all()


def _altered(tmp_path: Path, **rows: dict[str, str]) -> Path:
    """A copy of the bundled record with some cells of the rows named (by id) changed."""
    rec = pd.read_csv(ROOT / "sim" / "data" / "observed_cfsp.csv", dtype=str)
    for row_id, cells in rows.items():
        for column, value in cells.items():
            rec.loc[rec["id"] == row_id, column] = value
    path = tmp_path / "altered.csv"
    rec.to_csv(path, index=False)
    return path


def test_the_tail_is_measured_on_the_record_file(tmp_path: Path) -> None:
    """The share of packages taking 30 days or more comes from the record it is given: one
    more package past 30 days (RU15: 19 -> 30) makes it 4 of 16."""
    bundled = observed_targets().set_index("target")
    assert bundled.loc["package_share_30d_or_more", "observed"] == np.mean(
        np.array(PACKAGE_DAYS) >= 30
    )
    path = _altered(tmp_path, RU15={"days_proposal_to_adoption": "30"})
    t = observed_targets(path).set_index("target")
    assert t.loc["package_share_30d_or_more", "observed"] == 4 / 16
    assert t.loc["package_share_28_56d", "observed"] == 4 / 16
    assert (
        t.loc["package_share_30d_or_more", "label"] == "packages taking 30 days or more (the tail)"
    )


def test_a_lapse_in_the_record_counts_for_its_kind(tmp_path: Path) -> None:
    """A listings renewal not adopted by its deadline (RL2409 adopted a day late): 1 of 6
    listings renewals lapsed, none of the rollovers, 1 of 12 in all."""
    path = _altered(tmp_path, RL2409={"adoption_date": "2024-09-16", "days_before_deadline": "-1"})
    t = observed_targets(path).set_index("target")
    assert t.loc["renewal_lapse_share_listings", "observed"] == pytest.approx(1 / 6)
    assert "RL2409 of 6" in t.loc["renewal_lapse_share_listings", "note"]
    assert t.loc["renewal_lapse_share_sectoral", "observed"] == 0
    assert t.loc["renewal_lapse_share", "observed"] == pytest.approx(1 / 12)


def test_the_record_size_is_measured_on_the_record_file(tmp_path: Path) -> None:
    """16 packages, 6 renewals of each kind, 9 EPF measures; the longest span, RL2109 (adopted
    2021-09-10) to RL2409 (deadline 2024-09-15), is three one-year replications."""
    size = observed_size()
    assert size.counts == {
        "sanctions_package": 16,
        "sanctions_renewal": 6,
        "listings_renewal": 6,
        "epf_measure": 9,
    }
    assert size.span_days == (pd.Timestamp("2024-09-15") - pd.Timestamp("2021-09-10")).days
    assert (size.replications(365), size.replications(120)) == (3, 9)
    fewer = _altered(tmp_path, RU16={"confidence": "unverified"}, RL2109={"confidence": "x"})
    smaller = observed_size(fewer)
    assert (smaller.counts["sanctions_package"], smaller.counts["listings_renewal"]) == (15, 5)
    assert smaller.span_days == (pd.Timestamp("2024-12-16") - pd.Timestamp("2022-02-22")).days


def test_unverified_rows_are_ignored(tmp_path: Path) -> None:
    rec = pd.read_csv(ROOT / "sim" / "data" / "observed_cfsp.csv", dtype=str)
    fake = rec[rec["id"] == "RU11"].assign(id="RU99", days_proposal_to_adoption="500")
    rec = pd.concat([rec, fake.assign(confidence="unverified")])
    rec.to_csv(tmp_path / "obs.csv", index=False)
    t = observed_targets(tmp_path / "obs.csv").set_index("target")
    assert t.loc["package_days_median", "observed"] == 8.5
    assert "RU99" not in t.loc["package_days_median", "source_ids"]


# --- simulated side on hand-made tables -----------------------------------------------------

ORIGIN = pd.Timestamp("2025-01-01")
LEVELS = {"WP": "working_party", "COREPER": "coreper", "FAC": "council"}


def _proposals() -> pd.DataFrame:
    rows = [  # replication, id, type, outcome, arrival, decided, duration, deadline
        (0, 0, "sanctions_package", "adopted", 1, 6, 5, np.nan),
        (0, 1, "sanctions_package", "adopted", 1, 31, 30, np.nan),
        (0, 2, "sanctions_package", "adopted_with_abstentions", 1, 101, 100, np.nan),
        (0, 3, "sanctions_package", "pending", 245, np.nan, 120, np.nan),  # stuck > 90 days
        (0, 4, "sanctions_package", "withdrawn", 1, 11, 10, np.nan),
        (0, 5, "sanctions_renewal", "adopted", 0, 25, 25, 30),  # 31 Jan: sectoral, 5 days
        (0, 6, "sanctions_renewal", "adopted", 40, 71, 31, 73),  # 15 Mar: listings, 2 days
        (0, 7, "sanctions_renewal", "adopted", 40, 53, 13, 73),  # listings, 20 days
        (0, 8, "sanctions_renewal", "lapsed", 0, 30, 30, 30),
        (0, 9, "epf_measure", "adopted", 10, 210, 200, np.nan),
        (0, 10, "epf_measure", "pending", 315, np.nan, 50, np.nan),
        (0, 11, "epf_measure", "withdrawn", 1, 301, 300, np.nan),
        (0, 12, "eu_statement", "adopted", 5, 6, 1, np.nan),  # not a Council decision
        (0, 13, "epf_measure", "adopted", 20, 50, 30, np.nan),
        (1, 0, "sanctions_package", "adopted", 3, 6, 3, np.nan),  # a crisis package
    ]
    cols = ["replication", "proposal_id", "type", "outcome", "arrival_day", "decided_day"]
    p = pd.DataFrame(rows, columns=[*cols, "duration_days", "deadline_day"])
    p["arrival_time"] = ORIGIN + pd.to_timedelta(p["arrival_day"] + 0.3, unit="D")
    p["arrival_day"] += 0.3  # proposals arrive during the day
    p["type"] = p["type"].astype("category")
    p["holding_states"] = ""
    p.loc[[6, 8], "holding_states"] = ["HU", "HU,SK"]  # a listings and a sectoral renewal held
    return p


def _stages() -> pd.DataFrame:
    nan = np.nan
    rows = [  # replication, id, body, entered, left, rounds, exit, first failed round
        (0, 0, "WP", 1, 2, 3, "agreed", 1.5),  # failed rounds below Coreper do not count
        (0, 0, "COREPER", 2, 5, 1, "agreed", nan),
        (0, 1, "WP", 1, 10, 4, "agreed", 3),
        (0, 1, "COREPER", 10, 20, 3, "agreed", 13),  # failed on day 13, agreed 7 days later
        (0, 2, "COREPER", 40, 50, 1, "escalated", 47),
        (0, 2, "FAC", 50, 90, 2, "adopted_with_abstentions", 60),  # discussed by ministers
        (0, 9, "FAC", 200, 210, 0, "adopted", nan),  # an A item: no round at the Council
    ]
    columns = ["replication", "proposal_id", "body", "entered_day", "left_day", "rounds", "exit"]
    s = pd.DataFrame(rows, columns=[*columns, "first_failed_day"])
    s["body"] = s["body"].astype("category")
    return s


def test_simulated_targets_on_hand_made_tables() -> None:
    sim = simulated_targets(_proposals(), _stages(), LEVELS)
    v = sim.set_index(["replication", "target"])["value"]
    assert v[0, "package_days_median"] == 30
    assert v[0, "package_share_within_21d"] == pytest.approx(1 / 3)
    assert v[0, "package_share_within_10d"] == pytest.approx(1 / 3)
    assert v[0, "package_share_within_4d"] == 0
    assert v[0, "package_share_28_56d"] == pytest.approx(1 / 3)
    assert v[0, "package_share_30d_or_more"] == 0.75  # adopted after 30 and 100, one stuck, of 4
    assert v[0, "package_share_beyond_90d"] == 0.5  # one adopted late, one stuck, of 4
    assert v[0, "package_share_failed_attempt"] == pytest.approx(2 / 3)
    # package 1: failed on day 13, agreed at Coreper day 20; package 2: failed at Coreper
    # on day 47, agreed (adopted) at the Council on day 90
    assert v[0, "package_failed_to_agreement_days_median"] == 25
    assert v[0, "renewal_margin_median"] == pytest.approx(5)
    assert v[0, "renewal_margin_sectoral_median"] == pytest.approx(5)
    assert v[0, "renewal_margin_listings_median"] == pytest.approx(11)
    assert v[0, "renewal_share_margin_1_18d"] == pytest.approx(2 / 3)
    assert v[0, "renewal_lapse_share"] == 0.25
    # held: the lapsed sectoral renewal of two due on 31 Jan, one listings renewal of two
    assert v[0, "renewal_share_held_sectoral"] == 0.5
    assert v[0, "renewal_share_held_listings"] == 0.5
    assert v[0, "renewal_lapse_share_sectoral"] == 0.5  # one of the two due on 31 Jan lapsed
    assert v[0, "renewal_lapse_share_listings"] == 0
    assert v[0, "ministerial_share"] == pytest.approx(1 / 8)  # of 8 decisions, not 9 items
    assert v[0, "epf_share_beyond_180d"] == pytest.approx(1 / 3)
    assert v[0, "epf_share_within_60d"] == pytest.approx(1 / 3)  # not the pending one
    assert v[1, "package_days_median"] == 3
    assert v[1, "package_share_within_4d"] == 1
    assert v[1, "package_share_30d_or_more"] == 0
    assert v[1, "ministerial_share"] == 0
    assert np.isnan(v[1, "renewal_margin_median"])
    assert np.isnan(v[1, "epf_share_beyond_180d"])
    assert set(sim["target"]) == set(observed_targets()["target"])


def test_a_run_without_the_holding_column_has_no_held_shares() -> None:
    """Results written before ``holding_states`` existed: the held shares are unknown (NaN),
    every other target as before."""
    old = _proposals().drop(columns="holding_states")
    v = simulated_targets(old, _stages(), LEVELS).set_index(["replication", "target"])["value"]
    assert np.isnan(v[0, "renewal_share_held_sectoral"])
    assert v[0, "renewal_lapse_share"] == 0.25


def test_type_mapping_is_an_argument() -> None:
    cfg = copy.deepcopy(calibration_config())
    cfg["types"][0]["proposal_type"] = "epf_measure"  # treat EPF measures as the packages
    v = simulated_targets(_proposals(), _stages(), LEVELS, cfg).set_index(
        ["replication", "target"]
    )["value"]
    assert v[0, "package_days_median"] == 115  # the EPF measures adopted after 200 and 30 days


# --- simulated records: replications pooled to the record's size and span -----------------

YEAR = RecordSize(3 * 365, {"sanctions_package": 4})  # three one-year replications, 4 packages


def _seven_years() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seven one-year replications, each with two adopted packages (days 1 and 3 + 10r, in
    replication r) a statement, and in replication 1 a withdrawn package; a stage per item."""
    rows = []
    for r in range(7):
        rows += [
            (r, 0, "sanctions_package", "adopted", 10.0, 1.0 + 10 * r),
            (r, 1, "eu_statement", "adopted", 20.0, 2.0),
            (r, 2, "sanctions_package", "adopted", 200.0, 3.0 + 10 * r),
        ]
    rows.append((1, 3, "sanctions_package", "withdrawn", 5.0, 1.0))
    p = pd.DataFrame(
        rows, columns=["replication", "proposal_id", "type", "outcome", "arrival_day", "days"]
    )
    p = p.assign(
        duration_days=p["days"], decided_day=p["arrival_day"] + p["days"], deadline_day=np.nan
    )
    p["type"] = p["type"].astype("category")
    s = p[["replication", "proposal_id"]].assign(
        body="FAC", entered_day=0.0, left_day=1.0, rounds=p["proposal_id"], exit="adopted"
    )
    return p.drop(columns="days"), s.assign(first_failed_day=np.nan)


def test_replications_pool_into_records_of_the_records_size() -> None:
    """Replications 0-2 and 3-5 make two records, 6 is left over; of each record's six
    adopted packages, in order of arrival, four spread evenly from the first to the last are
    kept (positions 0, 2, 3, 5); the withdrawn one and nothing of the statements is dropped;
    the stages follow their proposals."""
    p, s = _seven_years()
    rp, rs = simulated_records(p, s, YEAR, horizon_days=365)
    assert sorted(rp["replication"].unique()) == [0, 1]
    packages = rp[rp["type"] == "sanctions_package"]
    # record 0 in arrival order: 1, 3 (rep 0), 11, 13 (rep 1), 21, 23 (rep 2) days
    assert packages.groupby("replication")["duration_days"].apply(list).tolist() == [
        [1, 11, 13, 23],
        [31, 41, 43, 53],
    ]
    assert "withdrawn" not in set(packages["outcome"])
    assert (rp["type"] == "eu_statement").sum() == 6  # a type the record does not count
    assert not rp.duplicated(["replication", "proposal_id"]).any()
    # each stage carries its proposal's new key (rounds held the old proposal id)
    merged = rs.merge(rp, on=["replication", "proposal_id"], validate="one_to_one")
    assert len(merged) == len(rp)
    old_id = {"sanctions_package": {0, 2}, "eu_statement": {1}}
    assert all(r.rounds in old_id[r.type] for r in merged.itertuples())
    v = record_targets(p, s, LEVELS, YEAR, 365).set_index(["replication", "target"])["value"]
    assert (v[0, "package_days_median"], v[1, "package_days_median"]) == (12, 42)
    assert v[0, "package_share_within_21d"] == 0.75


def test_fewer_replications_than_a_record_make_one_record() -> None:
    p, s = _seven_years()
    short = p[p["replication"] < 2]
    rp, _ = simulated_records(short, s, YEAR, horizon_days=365)
    assert set(rp["replication"]) == {0}
    assert sorted(rp.loc[rp["type"] == "sanctions_package", "duration_days"]) == [1, 3, 11, 13]
    assert record_of(7, 3).tolist() == [0, 0, 0, 1, 1, 1, -1]
    assert spread(6, 4).tolist() == [0, 2, 3, 5]
    assert spread(3, 5).tolist() == [0, 1, 2]
    assert spread(9, 1).tolist() == [0]


def test_a_record_share_varies_as_the_records_own_sampling_noise() -> None:
    """Packages fast with probability 1/2, eight a year: the share across one-year replications
    spreads as a share of eight (sd 0.18); across simulated records of three years, as a share
    of the record's sixteen (sd 0.125, the record's own sampling noise), not of 24 (0.10)."""
    rng = np.random.default_rng(1)
    reps = 3000
    p = pd.DataFrame(
        {
            "replication": np.repeat(np.arange(reps), 8),
            "proposal_id": np.tile(np.arange(8), reps),
            "type": pd.Categorical(["sanctions_package"] * (8 * reps)),
            "outcome": "adopted",
            "arrival_day": np.tile(np.arange(8) * 45.0, reps),
        }
    )
    p["duration_days"] = np.where(rng.random(len(p)) < 0.5, 5.0, 40.0)
    p["decided_day"] = p["arrival_day"] + p["duration_days"]
    p["deadline_day"] = np.nan
    s = _seven_years()[1].iloc[:0]  # no stages
    size = RecordSize(3 * 365, {"sanctions_package": 16})
    target = "package_share_within_21d"
    per_rep = simulated_targets(p, s, LEVELS)
    per_record = record_targets(p, s, LEVELS, size, 365)
    sd_rep = per_rep.loc[per_rep["target"] == target, "value"].std()
    sd_record = per_record.loc[per_record["target"] == target, "value"].std()
    assert sd_rep == pytest.approx(np.sqrt(0.25 / 8), rel=0.05)
    assert sd_record == pytest.approx(np.sqrt(0.25 / 16), rel=0.06)


# --- simulated side on real runs: the vectorised computation against a plain one ------------


def _median(x: np.ndarray) -> float:
    return float(np.median(x)) if len(x) else np.nan


def _mean(mask: np.ndarray) -> float:
    return float(np.mean(mask)) if len(mask) else np.nan


def _reference_one(
    p: pd.DataFrame, s: pd.DataFrame, levels: dict[str, str], start: pd.Timestamp
) -> dict[str, float]:
    """One replication's targets, straight from their definitions (a loop over its rows).
    The political stages' figures per proposal come from ``failed_political``, called on this
    replication alone."""
    cfg = calibration_config()
    th, types = cfg["thresholds"], {t["category"]: t for t in cfg["types"]}
    kind, outcome = p["type"].astype(str), p["outcome"].astype(str)
    adopted = outcome.isin(ADOPTED)
    pk = kind == types["sanctions_package"]["proposal_type"]
    d = p.loc[pk & adopted, "duration_days"].to_numpy(float)
    fast, within, beyond = (
        th[k] for k in ("package_fast_days", "package_within_days", "package_beyond_days")
    )
    lo, hi = th["package_contested_low_days"], th["package_contested_high_days"]
    stuck = (pk & outcome.isin(NEVER_DONE) & (p["duration_days"] > beyond)).sum()
    fails = failed_political(s, levels)
    failed, gaps = [], []
    for pid in p.loc[pk & adopted, "proposal_id"]:
        key = (p["replication"].iloc[0], pid)
        row = fails.loc[key] if key in fails.index else None
        failed.append(row is not None and row["failed"] > 0)
        if failed[-1] and not np.isnan(row["agreed"] - row["first_failed"]):
            gaps.append(row["agreed"] - row["first_failed"])
    long_ = (d > beyond).sum() + stuck
    tail_days = th["package_tail_days"]
    tail_stuck = (pk & outcome.isin(NEVER_DONE) & (p["duration_days"] >= tail_days)).sum()
    tail = (d >= tail_days).sum() + tail_stuck
    out = {
        "package_days_median": _median(d),
        f"package_share_within_{within}d": _mean(d <= within),
        f"package_share_within_{fast}d": _mean(d <= fast),
        f"package_share_within_{th['package_crisis_days']}d": _mean(d <= th["package_crisis_days"]),
        f"package_share_{lo}_{hi}d": _mean((d >= lo) & (d <= hi)),
        f"package_share_{tail_days}d_or_more": (
            tail / (len(d) + tail_stuck) if len(d) + tail_stuck else np.nan
        ),
        f"package_share_beyond_{beyond}d": long_ / (len(d) + stuck) if len(d) + stuck else np.nan,
        "package_share_failed_attempt": _mean(np.array(failed)),
        "package_failed_to_agreement_days_median": _median(np.array(gaps)),
    }
    renewal = kind.isin([t["proposal_type"] for c, t in types.items() if c.startswith("renewal_")])
    rn = p[renewal & adopted]
    m = (rn["deadline_day"] - rn["decided_day"]).to_numpy(float)
    lapsed = (renewal & (outcome == "lapsed")).sum()
    out["renewal_margin_median"] = _median(m)
    lo, hi = th["renewal_margin_low_days"], th["renewal_margin_high_days"]
    out[f"renewal_share_margin_{lo}_{hi}d"] = _mean((m >= lo) & (m <= hi))
    out["renewal_lapse_share"] = lapsed / (len(rn) + lapsed) if len(rn) + lapsed else np.nan
    due = [(start + pd.Timedelta(days=round(x))).strftime("%m-%d") for x in rn["deadline_day"]]
    ended = p[renewal & (adopted | (outcome == "lapsed"))]
    held = (ended["holding_states"] != "").to_numpy()
    ended_lapsed = (ended["outcome"].astype(str) == "lapsed").to_numpy()
    ended_due = [
        (start + pd.Timedelta(days=round(x))).strftime("%m-%d") for x in ended["deadline_day"]
    ]
    for cat in ("renewal_sectoral", "renewal_listings"):
        hit = np.isin(due, types[cat]["deadlines"])
        out[f"renewal_margin_{cat.removeprefix('renewal_')}_median"] = _median(m[hit])
        of = np.isin(ended_due, types[cat]["deadlines"])
        out[f"renewal_share_held_{cat.removeprefix('renewal_')}"] = _mean(held[of])
        out[f"renewal_lapse_share_{cat.removeprefix('renewal_')}"] = _mean(ended_lapsed[of])
    ministers = s[s["body"].astype(str).map(levels).isin(("council", "european_council"))]
    talked = set(ministers.loc[ministers["rounds"] > 0, "proposal_id"])
    decisions = adopted & ~kind.isin(cfg["soft"]["ministerial_share"]["not_council_decisions"])
    out["ministerial_share"] = _mean(p.loc[decisions, "proposal_id"].isin(talked).to_numpy())
    ep = p[(kind == "epf_measure") & (outcome != "withdrawn")]
    long_days = th["epf_long_days"]
    out[f"epf_share_beyond_{long_days}d"] = _mean(ep["duration_days"].to_numpy() > long_days)
    quick = th["epf_within_days"]
    ep_done = ep["outcome"].astype(str).isin(ADOPTED).to_numpy()
    out[f"epf_share_within_{quick}d"] = _mean(ep_done & (ep["duration_days"].to_numpy() <= quick))
    return out


def _reference_targets(p: pd.DataFrame, s: pd.DataFrame, levels: dict[str, str]) -> pd.DataFrame:
    rows = []
    for rep in sorted(p["replication"].unique()):
        one = _reference_one(p[p["replication"] == rep], s[s["replication"] == rep], levels, ORIGIN)
        rows += [{"replication": rep, "target": t, "value": v} for t, v in one.items()]
    return pd.DataFrame(rows, columns=["replication", "target", "value"])


@pytest.fixture(scope="module")
def baseline_tables(baseline) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """Proposals and stages of six metrics-only replications of the baseline (seed 3)."""
    model = Model(baseline)
    runs = {rep: model.run(3, rep, detail=False) for rep in range(6)}
    p = pd.concat([r.proposals.assign(replication=k) for k, r in runs.items()], ignore_index=True)
    s = pd.concat([r.stages.assign(replication=k) for k, r in runs.items()], ignore_index=True)
    assert pd.Timestamp(baseline.start_date) == ORIGIN
    return p, s, body_levels(baseline)


def test_simulated_targets_equal_a_plain_computation_on_real_runs(baseline_tables) -> None:
    p, s, levels = baseline_tables
    got = simulated_targets(p, s, levels)
    pd.testing.assert_frame_equal(got, _reference_targets(p, s, levels), check_exact=True)
    assert got["value"].notna().sum() > 0.9 * len(got)


def test_simulated_targets_equal_a_plain_computation_where_there_is_nothing_to_measure(
    baseline_tables,
) -> None:
    """Replications without packages, renewals, EPF measures or stages: the same NaN."""
    p, s, levels = baseline_tables
    kind = p["type"].astype(str)
    drop = (
        ((p["replication"] == 1) & (kind == "sanctions_package"))
        | ((p["replication"] == 2) & kind.isin(["sanctions_renewal", "epf_measure"]))
        | ((p["replication"] == 3) & (p["outcome"].astype(str) != "pending"))
    )
    p = p[~drop].reset_index(drop=True)
    s = s[(s["replication"] != 4) & ((s["replication"] != 5) | (s["rounds"] == 0))]
    got = simulated_targets(p, s, levels)
    pd.testing.assert_frame_equal(got, _reference_targets(p, s, levels), check_exact=True)
    nan = got[got["value"].isna()]
    assert set(nan["replication"]) >= {1, 2, 3}
    assert got.groupby("replication").size().eq(got["target"].nunique()).all()


def test_grouped_medians_are_numpys_medians() -> None:
    """Per-replication medians and shares at once: as np.median / np.mean group by group,
    NaN for an empty group or a group holding a NaN."""
    rng = np.random.default_rng(5)
    rep = pd.Series(rng.integers(0, 7, 400))
    values = rng.integers(0, 30, 400).astype(float)  # ties, even and odd counts
    values[rng.random(400) < 0.01] = np.nan
    mask = rng.random(400) < 0.5
    mask[rep.to_numpy() == 3] = False  # a replication with nothing to measure
    groups = Groups(rep)
    medians = groups.median(mask, values[mask])
    shares = groups.share(mask, values > 15)
    parts = [values[mask & (rep.to_numpy() == r)] for r in groups.reps]
    np.testing.assert_array_equal(medians, [np.median(x) if len(x) else np.nan for x in parts])
    np.testing.assert_array_equal(shares, [np.mean(x > 15) if len(x) else np.nan for x in parts])
    assert np.isnan(shares[3])
    assert np.isnan(medians).sum() > 1  # a NaN among a group's values gives NaN


# --- fit_table ------------------------------------------------------------------------------


def _observed() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "target": ["a", "b", "c", "d", "e", "f"],
            "label": list("abcdef"),
            "check": ["interval", "interval", "range", "range", "above", "interval"],
            "observed": [5.0, 30.0, 0.3, 0.3, 0.2, 1.0],
            "low": [np.nan, np.nan, 0.1, 0.1, 0.0, np.nan],
            "high": [np.nan, np.nan, 0.35, 0.35, np.nan, np.nan],
            "n": 1,
            "source_ids": "X",
            "note": "",
        }
    )


def test_fit_table_inside_logic() -> None:
    reps = np.arange(101)
    sim = pd.concat(
        [
            pd.DataFrame({"replication": reps, "target": "a", "value": reps / 10}),  # 0..10
            pd.DataFrame({"replication": reps, "target": "b", "value": reps / 10}),
            pd.DataFrame({"replication": reps, "target": "c", "value": 0.2}),
            pd.DataFrame({"replication": reps, "target": "d", "value": 0.05}),
            pd.DataFrame({"replication": reps, "target": "e", "value": reps % 2 * 0.1}),
            pd.DataFrame({"replication": reps, "target": "f", "value": np.nan}),
        ]
    )
    fit = fit_table(_observed(), sim).set_index("target")
    assert fit.loc["a", ["simulated_median", "p5", "p95"]].tolist() == pytest.approx([5, 0.5, 9.5])
    assert fit["inside"].to_dict() == {
        "a": True,  # 5 in [0.5, 9.5]
        "b": False,  # 30 outside
        "c": True,  # median 0.2 in the soft range although 0.3 is not simulated
        "d": False,  # median 0.05 below the soft range
        "e": False,  # median 0 (51 of 101 replications have none): not above 0
        "f": False,  # nothing simulated
    }
    assert fit.loc["f", "records"] == 0
    assert fit.loc["a", "records"] == 101


def test_a_pooled_share_is_checked_on_the_mean_over_replications() -> None:
    """Lapses in 30 of 100 replications: the median replication has none, the pooled share
    (0.3 x 0.1 = 0.03) is above a 1% ceiling."""
    reps = np.arange(100)
    sim = pd.DataFrame({"replication": reps, "target": "lapses", "value": (reps < 30) * 0.1})
    obs = pd.DataFrame(
        {"target": ["lapses"] * 2, "check": "range", "observed": 0.0, "low": 0.0, "high": 0.01}
    )
    obs["label"], obs["n"], obs["source_ids"], obs["note"] = "", 1, "X", ""
    obs["statistic"] = ["median", "mean"]
    fit = fit_table(obs, sim)
    assert fit["simulated_median"].tolist() == [0.0, 0.0]
    assert fit["simulated_mean"].tolist() == pytest.approx([0.03, 0.03])
    assert fit["inside"].tolist() == [True, False]


def test_fit_table_above_when_most_replications_have_one() -> None:
    reps = np.arange(10)
    sim = pd.DataFrame({"replication": reps, "target": "e", "value": (reps > 2) * 0.1})
    fit = fit_table(_observed(), sim).set_index("target")
    assert bool(fit.loc["e", "inside"])


# --- the registry: each target declared once -----------------------------------------------


def test_both_sides_measure_the_declared_targets_in_the_same_order() -> None:
    cfg = calibration_config()
    declared = [t.name for t in registry.targets(cfg["thresholds"], ["sectoral", "listings"])]
    assert len(set(declared)) == len(declared) == 21
    assert observed_targets()["target"].tolist() == declared
    sim = simulated_targets(_proposals(), _stages(), LEVELS)
    assert sim[sim["replication"] == 0]["target"].tolist() == declared
    assert set(cfg["soft"]) <= set(declared)  # every soft range belongs to a target
    assert {t.check for t in registry.targets(cfg["thresholds"], [])} <= set(CHECKS)


def test_a_new_target_is_one_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    """One more entry in the registry: measured on the record, on each replication, and
    checked by the fit table, with no other change."""
    entry = Target(
        "epf_count_above_{epf_within_days}",
        "EPF rows",
        "interval",
        lambda r: Measured(float(len(r.epf)), r.epf, "EPF rows"),
        lambda s: s.groups.count(s.epf).astype(float),
    )
    monkeypatch.setattr(registry, "TARGETS", (*registry.TARGETS, entry))
    obs = observed_targets().set_index("target")
    row = obs.loc["epf_count_above_60"]  # the name's template filled from the thresholds
    assert (row["label"], row["check"], row["observed"], row["n"]) == ("EPF rows", "interval", 9, 9)
    sim = simulated_targets(_proposals(), _stages(), LEVELS)
    v = sim.set_index(["replication", "target"])["value"]
    assert (v[0, "epf_count_above_60"], v[1, "epf_count_above_60"]) == (3, 0)
    fit = fit_table(obs.reset_index(), sim).set_index("target")
    assert fit.loc["epf_count_above_60", "records"] == 2
    assert not fit.loc["epf_count_above_60", "inside"]  # 9 EPF rows observed, 0-3 simulated


# --- the command line on a real run ---------------------------------------------------------


def _cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sim", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


def test_cli_fit_on_a_real_run(tmp_path: Path) -> None:
    out = tmp_path / "run"
    run = _cli("run", DATA / "tiny.toml", "-n", "3", "--seed", "1", "--out", out, "--quiet")
    assert run.returncode == 0, run.stderr
    res = _cli("fit", out)
    assert res.returncode == 0, res.stderr
    written = tmp_path / "run.fit.csv"  # beside the folder: the folder holds what it lists
    fit = pd.read_csv(written)
    expected = observed_targets()
    assert fit["target"].tolist() == expected["target"].tolist()
    assert {"observed", "simulated_median", "p5", "p95", "inside"} <= set(fit.columns)
    # tiny has one type, "item", so only the ministerial share is measured; its three
    # replications of 120 days are shorter than one simulated record (nine), so they make one
    measured = fit[fit["records"] > 0]
    assert measured["target"].tolist() == ["ministerial_share"]
    assert measured["records"].tolist() == [1]
    assert "the run's 3 make one shorter record (run -n 9 or more)" in res.stdout
    assert "ministerial_share" in res.stdout
    assert f"of {len(expected)} targets inside" in res.stdout
    # tiny's replications are 120 days long; the targets describe one-year replications
    assert "warning: the run's replications cover 120 days" in res.stdout
    other = tmp_path / "elsewhere.csv"
    assert _cli("fit", out, "--out", other).returncode == 0
    assert other.read_text(encoding="utf-8") == written.read_text(encoding="utf-8")
    assert _cli("plot", out).returncode == 0  # the results folder is still intact


def test_cli_fit_refuses_a_folder_that_is_not_a_results_folder(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("not results", encoding="utf-8")
    res = _cli("fit", tmp_path)
    assert res.returncode == 2
    assert "results folder" in res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "fit.csv").exists()


@pytest.mark.slow
def test_a_built_wheel_ships_every_subpackage_and_the_record(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(ROOT / "sim", src / "sim", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-q", "-w", tmp_path],
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for sub in ("core", "scenario", "engine", "analysis", "experiment", "report"):
        assert f"sim/{sub}/__init__.py" in names
    for data in ("observed_cfsp.csv", "observed_cfsp.md", "calibration.toml", "eu27.toml"):
        assert f"sim/data/{data}" in names
