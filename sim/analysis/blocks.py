"""Simulated records: a run's replications pooled into records of the observed record's size
and span, so that a statistic varies across them as much as the record's own sampling noise
lets it vary, and no more.

The observed record dates 16 sanctions packages over about three years; a one-year replication
holds about six. A statistic computed per replication is a share of six packages of one year:
its spread across replications is wider than that of a share of sixteen, and the record is not
compared with what it measures. :func:`simulated_records` therefore pools ``k`` consecutive
replications into one simulated record (``k``: the record's span in replication lengths,
:meth:`RecordSize.replications`; 3 one-year replications for the bundled record) and keeps,
of each proposal type the record counts, as many items as the record has of it (16 packages,
6 rollovers, 6 listings renewals, 9 EPF measures), spread evenly over the block in order of
arrival, as the record's items spread over its span. Withdrawn items of those types are left
out (the record lists none); items of the types it does not count are all kept. The tables come
back with ``replication`` numbering the simulated records, so every target of
:mod:`sim.analysis.targets` is computed per simulated record unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class RecordSize:
    """What the observed record holds: ``span_days``, the longest time its items of one type
    span (first to last date), and ``counts``, how many items of each proposal type it has."""

    span_days: float
    counts: Mapping[str, int]

    def replications(self, horizon_days: float) -> int:
        """How many consecutive replications of ``horizon_days`` make one simulated record (the
        span in replication lengths, rounded; at least one)."""
        return max(1, round(self.span_days / horizon_days))


def record_of(n: int, k: int) -> np.ndarray:
    """The simulated record of each of ``n`` replications in order, ``k`` to a record; -1 for
    those after the last whole record. Fewer than ``k`` replications make one record."""
    if n < k:
        return np.zeros(n, dtype=np.int64)
    out = np.arange(n, dtype=np.int64) // k
    out[out >= n // k] = -1
    return out


def spread(m: int, n: int) -> np.ndarray:
    """``n`` positions of ``0 .. m-1`` spread evenly from the first to the last (all ``m`` if
    ``n >= m``)."""
    if n >= m:
        return np.arange(m)
    return np.floor(np.linspace(0, m - 1, n) + 0.5).astype(np.int64)


def simulated_records(
    proposals: pd.DataFrame, stages: pd.DataFrame, size: RecordSize, horizon_days: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The proposals and stages of a run's replications pooled into simulated records of
    ``size`` (module docstring): ``replication`` is the record's number and ``proposal_id`` a
    number within it; the stages of the proposals left out are left out."""
    reps = np.sort(proposals["replication"].unique())
    k = size.replications(horizon_days)
    record = pd.Series(record_of(len(reps), k), index=reps)
    p = proposals.assign(
        _rep=proposals["replication"], replication=proposals["replication"].map(record)
    )
    p = p[p["replication"] >= 0].sort_values(
        ["replication", "_rep", "arrival_day", "proposal_id"], kind="stable"
    )
    p = p[_kept(p, size.counts)]
    ids = pd.MultiIndex.from_arrays([p["_rep"], p["proposal_id"]])
    p = p.assign(proposal_id=p.groupby("replication").cumcount().to_numpy(np.int64))
    at = ids.get_indexer(pd.MultiIndex.from_arrays([stages["replication"], stages["proposal_id"]]))
    s = stages[at >= 0].assign(
        replication=p["replication"].to_numpy()[at[at >= 0]],
        proposal_id=p["proposal_id"].to_numpy()[at[at >= 0]],
    )
    return p.drop(columns="_rep").reset_index(drop=True), s.reset_index(drop=True)


def _kept(p: pd.DataFrame, counts: Mapping[str, int]) -> np.ndarray:
    """Which rows of ``p`` (sorted by record, then arrival) a simulated record keeps."""
    kind = p["type"].astype(str).to_numpy()
    keep = ~np.isin(kind, list(counts))
    counted = ~keep & (p["outcome"].astype(str).to_numpy() != "withdrawn")
    where = np.flatnonzero(counted)
    groups = pd.DataFrame({"record": p["replication"].to_numpy()[where], "type": kind[where]})
    for (_, name), rows in groups.groupby(["record", "type"]).indices.items():
        keep[where[rows[spread(len(rows), counts[name])]]] = True
    return keep
