"""The observed CFSP record and the calibration data that says how it is measured.

The record is ``sim/data/observed_cfsp.csv`` (its columns and caveats: ``observed_cfsp.md``);
the type mapping, day thresholds and soft ranges are in ``sim/data/calibration.toml``.
:class:`Record` holds the record's rows that the calibration targets measure
(:mod:`sim.analysis.targets`), each subset computed once.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections import Counter
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.blocks import RecordSize

USED_CONFIDENCE = ("verified", "secondary")


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
def bundled() -> tuple[pd.DataFrame, dict[str, Any]]:
    """The bundled type map and configuration, read once (not to be changed by the caller)."""
    cfg = calibration_config()
    return type_map(cfg), cfg


def renewal_categories(types: pd.DataFrame) -> list[str]:
    """The observed categories that are renewals (``renewal_<kind>``), in the type map's order."""
    return [str(c) for c in types.index if str(c).startswith("renewal_")]


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


def confidence(rows: pd.DataFrame) -> str:
    """Which confidence levels ``rows`` are of, for a target's note."""
    kinds = sorted(set(rows["confidence"]))
    return "rows of confidence " + "+".join(kinds) if kinds else "no rows"


def held(rows: pd.DataFrame) -> np.ndarray:
    """Which observed rows record a state's demand: a ``blocker`` or a ``concession`` that does
    not say there was none ("none reported", "none visible")."""

    def named(col: str) -> np.ndarray:
        text = rows[col].fillna("").astype(str).str.strip().str.lower()
        return ((text != "") & ~text.str.startswith("none")).to_numpy()

    return named("blocker") | named("concession")


def lapsed(rows: pd.DataFrame) -> np.ndarray:
    """Which observed renewals were not adopted by their ``deadline_date`` (no adoption date,
    or a later one)."""
    adopted = rows["adoption_date"]
    return (adopted.isna() | (adopted > rows["deadline_date"])).to_numpy()


class Record:
    """The rows of the observed record the targets measure (confidence ``verified`` or
    ``secondary`` only), with the calibration thresholds (``th``)."""

    def __init__(self, rec: pd.DataFrame, config: Mapping[str, Any]) -> None:
        self.rows = rec[rec["confidence"].isin(USED_CONFIDENCE)]
        self.th: Mapping[str, Any] = config["thresholds"]
        self.types = type_map(config)
        self.categories = renewal_categories(self.types)

    def category(self, name: str) -> pd.DataFrame:
        """The rows of one observed category."""
        return self.rows[self.rows["category"] == name]

    @functools.cached_property
    def packages(self) -> pd.DataFrame:
        """The adopted Russia packages with a proposal date."""
        return self.category("sanctions_package").dropna(subset=["days_proposal_to_adoption"])

    @functools.cached_property
    def package_days(self) -> np.ndarray:
        """Their days from proposal to adoption."""
        return self.packages["days_proposal_to_adoption"].to_numpy(float)

    @functools.cached_property
    def contested(self) -> pd.DataFrame:
        """The packages with a failed attempt before agreement."""
        return self.packages.dropna(subset=["first_failed_date"])

    @functools.cached_property
    def gap(self) -> pd.DataFrame:
        """The contested packages with a Coreper agreement date."""
        return self.contested.dropna(subset=["coreper_agreement_date"])

    @functools.cached_property
    def renewals(self) -> pd.DataFrame:
        """The renewals adopted before expiry (those with ``days_before_deadline``)."""
        rn = self.rows[self.rows["category"].isin(self.categories)]
        return rn.dropna(subset=["days_before_deadline"])

    @functools.cached_property
    def margins(self) -> np.ndarray:
        """Their days before expiry."""
        return self.renewals["days_before_deadline"].to_numpy(float)

    def renewal(self, kind: str) -> pd.DataFrame:
        """The adopted renewals of one kind (category ``renewal_<kind>``)."""
        return self.renewals[self.renewals["category"] == f"renewal_{kind}"]

    @functools.cached_property
    def due(self) -> pd.DataFrame:
        """The renewals with a deadline, adopted by it or not (those the lapse shares count)."""
        rn = self.rows[self.rows["category"].isin(self.categories)]
        return rn.dropna(subset=["deadline_date"])

    def due_of(self, kind: str) -> pd.DataFrame:
        """The renewals of one kind with a deadline."""
        return self.due[self.due["category"] == f"renewal_{kind}"]

    @functools.cached_property
    def kinds(self) -> list[str]:
        """The renewal kinds with enough rows (3) for a separate median and share."""
        kinds = [c.removeprefix("renewal_") for c in self.categories]
        return [k for k in kinds if len(self.renewal(k)) >= 3]

    @functools.cached_property
    def counts(self) -> pd.DataFrame:
        """The count rows about A items."""
        rows = self.rows
        return rows[(rows["category"] == "count") & rows["event"].str.contains("A items")]

    @functools.cached_property
    def a_item_percents(self) -> list[float]:
        """The percentages quoted in the count rows' event text."""
        return [float(x) for x in re.findall(r"(\d+(?:\.\d+)?)%", " ".join(self.counts["event"]))]

    @functools.cached_property
    def epf(self) -> pd.DataFrame:
        """The EPF rows."""
        return self.category("epf")

    @functools.cached_property
    def epf_held(self) -> pd.DataFrame:
        """The EPF rows adopted after more than ``epf_long_days`` or never adopted after a
        failed attempt."""
        ep = self.epf
        return ep[
            (ep["days_proposal_to_adoption"] > self.th["epf_long_days"])
            | (ep["adoption_date"].isna() & ep["first_failed_date"].notna())
        ]

    @functools.cached_property
    def epf_dated(self) -> pd.DataFrame:
        """The EPF rows with a proposal date."""
        return self.epf.dropna(subset=["days_proposal_to_adoption"])

    @functools.cached_property
    def epf_measured(self) -> pd.DataFrame:
        """The EPF rows with a proposal date or held."""
        held_rows = self.epf_held
        return pd.concat([self.epf_dated, held_rows[~held_rows["id"].isin(self.epf_dated["id"])]])

    @functools.cached_property
    def items(self) -> dict[str, pd.DataFrame]:
        """The items the targets count, by category: the dated packages, each renewal
        category's renewals with a deadline, the EPF rows."""
        due = {c: self.due[self.due["category"] == c] for c in self.categories}
        return {"sanctions_package": self.packages, **due, "epf": self.epf}

    @functools.cached_property
    def size(self) -> RecordSize:
        """How many items of each proposal type the record has (:attr:`items`, by the type
        map), and the longest time the items of one category span, first date to last: the
        size and span of a simulated record (:mod:`sim.analysis.blocks`)."""
        counts: Counter[str] = Counter()
        span = 0.0
        for category, rows in self.items.items():
            if category not in self.types.index or rows.empty:
                continue
            counts[str(self.types.loc[category, "proposal_type"])] += len(rows)
            dates = rows[[c for c in rows.columns if c.endswith("_date")]]
            span = max(span, float((dates.max().max() - dates.min().min()).days))
        return RecordSize(span, dict(counts))
