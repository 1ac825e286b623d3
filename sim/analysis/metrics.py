"""Per-replication metrics (the rows of ``metrics.parquet``), the headline metrics and their
plain-language labels."""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa

from sim.analysis.stats import (
    ADOPTED,
    Rows,
    codes_of,
    group_rows,
    km_median_of,
    label_mask,
    per_group,
)
from sim.engine.arrow import frame_to_arrow

Table: TypeAlias = pd.DataFrame | pa.Table

HEADLINE = {
    "proposals": "proposals per replication",
    "adoption_rate": "adoption rate",
    "block_rate": "block rate",
    "lapse_rate": "lapse rate",
    "hr_declaration_rate": "issued by the HR instead",
    "pending_share": "pending at horizon",
    "time_to_adoption_mean": "time to adoption, mean (days)",
    "time_to_adoption_median": "time to adoption, median (days)",
    "time_to_adoption_p90": "time to adoption, p90 (days)",
    "rounds_mean": "rounds per proposal",
    "dilution_mean": "dilution of adopted texts",
}
"""Headline metrics and their plain-language labels."""

SWEEP_METRICS = (
    "adoption_rate",
    "time_to_adoption_mean",
    "time_to_adoption_median",
    "block_rate",
    "lapse_rate",
    "dilution_mean",
)
"""The metrics a sweep tabulates and plots."""


PERCENT = frozenset(
    {
        "adoption_rate",
        "abstention_adoption_rate",
        "block_rate",
        "lapse_rate",
        "withdrawal_rate",
        "hr_declaration_rate",
        "pending_share",
        "agenda_use",
    }
)
"""Shares of a whole: shown as percentages, their differences in percentage points."""


def _pct(share: float, sign: str = "") -> str:
    x = 100 * share
    return f"{x:{sign}.1f}" if abs(x) >= 1 or x == 0 else f"{x:{sign}.2g}"


def fmt_value(metric: str, value: float) -> str:
    """A metric's value for people: shares as percentages.

    >>> fmt_value("adoption_rate", 0.8125), fmt_value("rounds_mean", 2.3456)
    ('81.2%', '2.35')
    """
    if value != value:
        return "–"
    return f"{_pct(value)}%" if metric in PERCENT else f"{value:.3g}"


def fmt_difference(metric: str, value: float) -> str:
    """A difference for people: shares in percentage points, with its sign.

    >>> fmt_difference("adoption_rate", 0.0518), fmt_difference("time_to_adoption_mean", -3.71)
    ('+5.2 pp', '-3.71')
    """
    if value != value:
        return "–"
    return f"{_pct(value, '+')} pp" if metric in PERCENT else f"{value:+.3g}"


def fmt_interval(metric: str, low: float, high: float, difference: bool = False) -> str:
    """``[low, high]`` in the units of :func:`fmt_value` (or :func:`fmt_difference`).

    >>> fmt_interval("block_rate", 0.0, 0.00031), fmt_interval("block_rate", -0.01, 0.02, True)
    ('[0.0%, 0.031%]', '[-1.0, +2.0] pp')
    """
    if low != low or high != high:
        return "–"
    if difference:
        if metric in PERCENT:
            return f"[{_pct(low, '+')}, {_pct(high, '+')}] pp"
        return f"[{low:+.3g}, {high:+.3g}]"
    return f"[{fmt_value(metric, low)}, {fmt_value(metric, high)}]"


def replication_metrics(
    proposals: Table,
    stages: Table,
    events: Table,
    meetings: Table,
    horizon_days: float,
    replication: int = 0,
) -> pd.DataFrame:
    """Long table ``replication, metric, group, value`` for one replication (SPEC §6), from
    its tables (DataFrames, or the Arrow tables a results folder stores).

    Groups: ``all`` and each proposal type for proposal metrics (rates are shares of all
    proposals tabled, pending included; times are of adopted proposals; a declaration the High
    Representative issued instead counts in ``hr_declaration_rate``, never as adopted, so
    ``adoption_rate`` keeps its meaning); each body for time
    splits, visits and meetings; each member state for objections, blocking votes,
    abstentions, reservations and blocked proposals.
    """
    tables = (proposals, stages, events, meetings)
    p, s, e, m = (t if isinstance(t, pa.Table) else frame_to_arrow(t) for t in tables)
    rows = Rows()
    _proposal_metrics(rows, p, horizon_days)
    _body_metrics(rows, s, m)
    _member_metrics(rows, p, e)
    return rows.frame(replication)


def _codes(table: pa.Table, name: str) -> tuple[np.ndarray, list[str]]:
    """A column's integer codes (-1: missing) and labels (a plain column's, sorted)."""
    column = table.column(name)
    array = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
    if not pa.types.is_dictionary(array.type):
        return codes_of(array.to_pandas())
    indices = array.indices.fill_null(-1) if array.null_count else array.indices
    return indices.to_numpy(), array.dictionary.to_pylist()


def _numbers(table: pa.Table, name: str) -> np.ndarray:
    return table.column(name).to_numpy().astype(float, copy=False)


def _proposal_metrics(rows: Rows, proposals: pa.Table, horizon_days: float) -> None:
    """Counts, outcome rates, times, rounds, dilution: overall and per proposal type."""
    tcode, types = _codes(proposals, "type")
    k = len(types)
    groups = ["all", *types]
    ocode, olabels = _codes(proposals, "outcome")

    def is_outcome(values: tuple[str, ...]) -> np.ndarray:
        return label_mask(ocode, olabels, values)

    adopted = is_outcome(ADOPTED)
    pending = is_outcome(("pending",))
    duration = _numbers(proposals, "duration_days")
    counts = np.bincount(tcode[tcode >= 0], minlength=k).astype(float)
    n = float(proposals.num_rows)

    def share(flag: np.ndarray) -> np.ndarray:
        per_type = np.bincount(tcode, weights=flag.astype(float), minlength=k)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.concatenate([[flag.mean() if n else np.nan], per_type / counts])

    everyone, by_type = [np.arange(len(tcode))], group_rows(tcode, k)

    def stat(values: np.ndarray, how: str) -> np.ndarray:
        return np.concatenate([per_group(everyone, values, how), per_group(by_type, values, how)])

    def total(flag: np.ndarray) -> np.ndarray:
        return np.concatenate([[flag.sum()], np.bincount(tcode, flag, minlength=k)])

    adopted_days = np.where(adopted, duration, np.nan)
    rows.add("proposals", groups, np.concatenate([[n], counts]))
    rows.add("adoption_rate", groups, share(adopted))
    for metric, outcomes in (
        ("abstention_adoption_rate", ("adopted_with_abstentions",)),
        ("block_rate", ("blocked",)),
        ("lapse_rate", ("lapsed",)),
        ("withdrawal_rate", ("withdrawn",)),
        ("hr_declaration_rate", ("issued_by_hr",)),
    ):
        rows.add(metric, groups, share(is_outcome(outcomes)))
    rows.add("pending_share", groups, share(pending))
    rows.add("time_to_adoption_mean", groups, stat(adopted_days, "mean"))
    rows.add("time_to_adoption_median", groups, stat(adopted_days, "median"))
    rows.add("time_to_adoption_p90", groups, stat(adopted_days, "p90"))
    km = [km_median_of(duration, adopted, pending)] + [
        km_median_of(duration[rows_g], adopted[rows_g], pending[rows_g]) for rows_g in by_type
    ]
    rows.add("time_to_adoption_km_median", groups, km)
    rows.add("rounds_mean", groups, stat(_numbers(proposals, "rounds"), "mean"))
    rows.add("escalations_mean", groups, stat(_numbers(proposals, "escalations"), "mean"))
    dilution = np.where(adopted, _numbers(proposals, "dilution"), np.nan)
    rows.add("dilution_mean", groups, stat(dilution, "mean"))
    rows.add("throughput_per_year", groups, total(adopted) * 365.0 / horizon_days)
    rows.add("backlog_at_horizon", groups, total(pending))


def _body_metrics(rows: Rows, stages: pa.Table, meetings: pa.Table) -> None:
    """Time split and visits per body; meetings held and agenda use per body."""
    bcode, bodies = _codes(stages, "body")
    nb = len(bodies)
    visits = group_rows(bcode, nb)
    for col in ("wait_meeting_days", "wait_instructions_days", "negotiating_days"):
        rows.add(col, bodies, per_group(visits, _numbers(stages, col), "mean"))
    rows.add("visits", bodies, np.bincount(bcode[bcode >= 0], minlength=nb))
    mcode, mbodies = _codes(meetings, "body")
    rows.add("meetings_held", mbodies, np.bincount(mcode[mcode >= 0], minlength=len(mbodies)))
    use = _numbers(meetings, "discussed") / _numbers(meetings, "capacity")
    rows.add("agenda_use", mbodies, per_group(group_rows(mcode, len(mbodies)), use, "mean"))


def _member_metrics(rows: Rows, proposals: pa.Table, events: pa.Table) -> None:
    """Objections, blocking votes, abstentions, reservations and blocked proposals per state
    (blocked or lapsed, or a declaration the High Representative issued over its objection)."""
    scode, states = _codes(events, "member_state")
    acode, activities = _codes(events, "activity")
    value = _numbers(events, "value")
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
    ocode, olabels = _codes(proposals, "outcome")
    blocked = label_mask(ocode, olabels, ("blocked", "lapsed", "issued_by_hr"))
    tally = dict.fromkeys(states, 0.0)
    for text in proposals.column("blocking_states").filter(blocked).to_pylist():
        for code in filter(None, str(text).split(",")):
            if code in tally:
                tally[code] += 1.0
    rows.add("proposals_blocked", states, list(tally.values()))
