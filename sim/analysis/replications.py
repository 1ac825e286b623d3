"""A run's proposal and stage tables by replication: what the calibration targets
(:mod:`sim.analysis.targets`) measure on the simulated side.

:class:`Run` holds the tables, their rows grouped by replication (:class:`Groups`: counts,
shares and medians of every replication at once) and the masks the targets share, each
computed once.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.stats import ADOPTED

MINISTERIAL_LEVELS = ("council", "european_council")
POLITICAL_LEVELS = ("coreper", "council", "european_council")
NEVER_DONE = ("pending", "blocked", "lapsed", "issued_by_hr")  # unadopted, withdrawn aside


def deadline_dates(p: pd.DataFrame) -> pd.Series:
    """Each proposal's deadline as MM-DD (the run's day 0 recovered from ``arrival_time``)."""
    origin = (p["arrival_time"] - pd.to_timedelta(p["arrival_day"], unit="D")).dt.round("D")
    when = origin + pd.to_timedelta(p["deadline_day"].round(), unit="D")
    return when.dt.strftime("%m-%d")


def failed_political(stages: pd.DataFrame, levels: Mapping[str, str]) -> pd.DataFrame:
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


def is_one_of(column: pd.Series, *values: str) -> np.ndarray:
    """Which rows of ``column`` hold one of ``values`` (a categorical column by its codes)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        cat = column.array
        assert isinstance(cat, pd.Categorical)
        return np.append(cat.categories.isin(values), False)[cat.codes]  # code -1: NaN
    return column.isin(values).to_numpy()


def at_levels(body: pd.Series, levels: Mapping[str, str], wanted: tuple[str, ...]) -> np.ndarray:
    """Which rows' ``body`` is at one of the ``wanted`` levels."""
    codes, bodies = pd.factorize(body)
    flags = [levels.get(str(b)) in wanted for b in bodies]
    return np.array([*flags, False], dtype=bool)[codes]  # code -1 (no body): False


def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den``, NaN where ``den`` is 0."""
    out = np.full(len(den), np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


class Groups:
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
        return ratio(self.count(among & hit), self.count(among))

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


class Run:
    """A run's proposals and stages (``replication`` columns), the levels of its bodies, and
    the calibration configuration (``th``: its thresholds; ``types``: the type map)."""

    def __init__(
        self,
        proposals: pd.DataFrame,
        stages: pd.DataFrame,
        body_levels: Mapping[str, str],
        types: pd.DataFrame,
        config: Mapping[str, Any],
    ) -> None:
        self.p, self.stages, self.levels = proposals, stages, body_levels
        self.types, self.config = types, config
        self.th: Mapping[str, Any] = config["thresholds"]
        self.groups = Groups(proposals["replication"])
        self._due: dict[str, np.ndarray] = {}

    def of_type(self, category: str) -> np.ndarray:
        """The proposals of the type an observed category maps to."""
        return is_one_of(self.p["type"], self.types["proposal_type"][category])

    def outcome(self, *values: str) -> np.ndarray:
        """The proposals whose outcome is one of ``values``."""
        return is_one_of(self.p["outcome"], *values)

    @functools.cached_property
    def adopted(self) -> np.ndarray:
        """The adopted proposals."""
        return self.outcome(*ADOPTED)

    @functools.cached_property
    def duration(self) -> np.ndarray:
        """Each proposal's days from arrival to its decision (or the run's end)."""
        return self.p["duration_days"].to_numpy(float)

    @functools.cached_property
    def keys(self) -> np.ndarray:
        """The proposals' (replication, proposal) keys (:meth:`Groups.keys`)."""
        return self.groups.keys(self.p["replication"], self.p["proposal_id"])

    @functools.cached_property
    def stage_keys(self) -> np.ndarray:
        """The stages' (replication, proposal) keys."""
        return self.groups.keys(self.stages["replication"], self.stages["proposal_id"])

    @functools.cached_property
    def package(self) -> np.ndarray:
        """The sanctions packages."""
        return self.of_type("sanctions_package")

    @functools.cached_property
    def package_adopted(self) -> np.ndarray:
        """The adopted sanctions packages."""
        return self.package & self.adopted

    @functools.cached_property
    def package_stuck(self) -> np.ndarray:
        """The packages never adopted (withdrawn ones aside) after ``package_beyond_days``."""
        beyond = self.th["package_beyond_days"]
        return self.package & self.outcome(*NEVER_DONE) & (self.duration > beyond)

    def package_unadopted_after(self, days: float) -> np.ndarray:
        """The packages still or never adopted (withdrawn ones aside) after ``days`` or more."""
        return self.package & self.outcome(*NEVER_DONE) & (self.duration >= days)

    @functools.cached_property
    def contested(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The adopted packages with a failed round at Coreper or above; those of them with an
        agreement after it; and those days from the first failure to the agreement (one value
        for each package of the second mask)."""
        where = np.flatnonzero(self.package_adopted)
        measured = self.stages[np.isin(self.stage_keys, self.keys[self.package_adopted])]
        fails = failed_political(measured, self.levels)
        f = fails.reindex(
            pd.MultiIndex.from_arrays(
                [self.p["replication"].to_numpy()[where], self.p["proposal_id"].to_numpy()[where]]
            )
        )
        contested = f["failed"].to_numpy(float) > 0
        gap = (f["agreed"] - f["first_failed"]).to_numpy(float)
        failed, in_gap = np.zeros(len(self.p), dtype=bool), np.zeros(len(self.p), dtype=bool)
        failed[where] = contested
        in_gap[where] = contested & ~np.isnan(gap)
        return failed, in_gap, gap[contested & ~np.isnan(gap)]

    @functools.cached_property
    def renewal(self) -> np.ndarray:
        """The renewals (of every renewal category's type)."""
        type_of = self.types["proposal_type"]
        cats = [c for c in self.types.index if str(c).startswith("renewal_")]
        return is_one_of(self.p["type"], *[type_of[c] for c in cats])

    @functools.cached_property
    def renewal_adopted(self) -> np.ndarray:
        """The adopted renewals."""
        return self.renewal & self.adopted

    @functools.cached_property
    def renewal_lapsed(self) -> np.ndarray:
        """The renewals that lapsed."""
        return self.renewal & self.outcome("lapsed")

    @functools.cached_property
    def margin(self) -> np.ndarray:
        """Each proposal's days from its decision to its deadline."""
        return self.p["deadline_day"].to_numpy(float) - self.p["decided_day"].to_numpy(float)

    @functools.cached_property
    def kinds(self) -> list[str]:
        """The renewal kinds (category ``renewal_<kind>``) with deadline dates."""
        deadlines = self.types["deadlines"]
        return [
            str(c).removeprefix("renewal_")
            for c, dates in deadlines.items()
            if str(c).startswith("renewal_") and len(dates)
        ]

    @functools.cached_property
    def _due_dates(self) -> pd.Series:
        """The deadline dates (MM-DD) of the renewals adopted or lapsed."""
        done = self.renewal_adopted | self.renewal_lapsed
        dates = pd.Series("", index=self.p.index[done], dtype=object)
        if len(dates):
            dates = deadline_dates(self.p[["arrival_time", "arrival_day", "deadline_day"]][done])
        return dates

    def due(self, kind: str) -> np.ndarray:
        """The renewals adopted or lapsed whose deadline falls on a date of ``kind``."""
        if kind not in self._due:
            due = np.zeros(len(self.p), dtype=bool)
            due[self.renewal_adopted | self.renewal_lapsed] = self._due_dates.isin(
                self.types["deadlines"][f"renewal_{kind}"]
            ).to_numpy()
            self._due[kind] = due
        return self._due[kind]

    @functools.cached_property
    def held(self) -> np.ndarray | None:
        """The proposals on which a state raised a hold-out (None for runs written before the
        ``holding_states`` column existed)."""
        if "holding_states" not in self.p:
            return None
        return self.p["holding_states"].to_numpy(dtype=object) != ""

    @functools.cached_property
    def talked(self) -> np.ndarray:
        """The proposals with a round of talks at a ministerial level."""
        stages = self.stages
        at = at_levels(stages["body"], self.levels, MINISTERIAL_LEVELS)
        at &= stages["rounds"].to_numpy() > 0
        return np.isin(self.keys, self.stage_keys[at])

    @functools.cached_property
    def epf(self) -> np.ndarray:
        """The EPF measures not withdrawn."""
        return self.of_type("epf") & ~self.outcome("withdrawn")
