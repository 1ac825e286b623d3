"""The compiled engine's tables: the same frames as the Python engine's
(:mod:`sim.engine.logs`, :meth:`sim.engine.replication.Replication.result`), or the Arrow
tables a results folder stores, built from the same columns (:mod:`sim.engine.arrow`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from sim.core.outcomes import WRITTEN_PROCEDURE
from sim.engine.arrow import TABLES, Coded, Columns, arrow_table, frame
from sim.engine.kernel import state as S
from sim.engine.logs import (
    ACTIVITIES,
    OUTCOMES,
    STAGE_EXITS,
    _empty_events,
    _empty_meetings,
    presidency_terms,
    timestamps,
)
from sim.engine.replication import tables

if TYPE_CHECKING:
    from sim.engine.arrow import ReplicationResult
    from sim.engine.compile import CompiledScenario

Dtypes = dict[str, pd.CategoricalDtype]

_ENDED_BY_BLOCK = (S.O_BLOCKED, S.O_LAPSED, S.O_ISSUED)


def _joined(codes: np.ndarray, mask: np.ndarray, rows: np.ndarray) -> list[str]:
    out = [""] * len(mask)
    for i in np.flatnonzero(rows & mask.any(axis=1)):
        out[i] = ",".join(codes[mask[i]])
    return out


def proposals(c: CompiledScenario, dtypes: Dtypes, q: S.Proposals, n: int) -> Columns:
    """One row per proposal tabled (:func:`sim.engine.logs.proposal_frame`)."""
    codes = np.array(c.members.codes)
    pi, pf = q.pi[:n], q.pf[:n]
    outcome = pi[:, S.I_OUTCOME]
    arrival, decided = q.arrival[:n], pf[:, S.F_DECIDED]
    ambition = np.array([t.ambition for t in c.types])[q.ptype[:n]]
    where = pi[:, S.I_DECIDED_AT]
    names = [b.id for b in c.bodies]
    decided_at = [
        names[w] if w >= 0 else (WRITTEN_PROCEDURE if w == S.AT_WRITTEN else "") for w in where
    ]
    return {
        "proposal_id": np.arange(n, dtype=np.int64),
        "type": Coded(q.ptype[:n], dtypes["type"]),
        "arrival_day": arrival,
        "arrival_time": timestamps(c.start_date, arrival),
        "outcome": Coded(outcome, OUTCOMES),
        "decided_day": np.where(outcome == S.O_PENDING, np.nan, decided),
        "duration_days": decided - arrival,
        "rounds": pi[:, S.I_ROUNDS].copy(),
        "decided_at": decided_at,
        "escalations": pi[:, S.I_ESCALATIONS].copy(),
        "blocking_states": _joined(codes, q.blockers[:n], np.isin(outcome, _ENDED_BY_BLOCK)),
        "holding_states": _joined(codes, q.holders[:n], pi[:, S.I_HOLD_STARTED] != 0),
        "abstaining_states": _joined(codes, q.abstainers[:n], np.ones(n, bool)),
        "dilution": ambition - pf[:, S.F_TEXT],
        "deadline_day": q.deadline[:n].copy(),
        "urgent": pi[:, S.I_URGENT] != 0,
    }


def stages(dtypes: Dtypes, r: S.Run) -> Columns:
    """One row per visit, in the order the visits ended (:meth:`StageLog.to_frame`)."""
    k = r.ic[S.C_STAGES]
    i, f = r.stages_i[:k], r.stages_f[:k]
    return {
        "proposal_id": i[:, 0].copy(),
        "type": Coded(i[:, 1], dtypes["type"]),
        "body": Coded(i[:, 2], dtypes["stage_body"]),
        "entered_day": f[:, 0].copy(),
        "left_day": f[:, 1].copy(),
        "wait_meeting_days": f[:, 2].copy(),
        "wait_instructions_days": f[:, 3].copy(),
        "negotiating_days": f[:, 4].copy(),
        "rounds": i[:, 3].copy(),
        "exit": Coded(i[:, 4], STAGE_EXITS),
        "first_failed_day": f[:, 5].copy(),
    }


def events(c: CompiledScenario, dtypes: Dtypes, r: S.Run) -> Columns:
    """The event log sorted by time, stably (:meth:`EventLog.to_frame`)."""
    k = r.ic[S.C_EVENTS]
    time = r.events_f[:k, 0]
    order = np.argsort(time, kind="stable")
    i = r.events_i[:k][order]
    time = time[order]
    return {
        "case_id": i[:, 0].astype(np.int64),
        "activity": Coded(i[:, 1], ACTIVITIES),
        "body": Coded(i[:, 2], dtypes["body"]),
        "time_day": time,
        "timestamp": timestamps(c.start_date, time),
        "member_state": Coded(i[:, 3], dtypes["member"]),
        "value": r.events_f[:k, 1][order],
    }


def meetings(c: CompiledScenario, dtypes: Dtypes, r: S.Run) -> Columns:
    """One row per meeting (:meth:`MeetingLog.to_frame`)."""
    k = r.ic[S.C_MEETINGS]
    i, time = r.meetings_i[:k], r.meetings_f[:k].copy()
    body = i[:, 0].copy()
    ts = timestamps(c.start_date, time)
    capacity = np.array([b.capacity for b in c.bodies], dtype=np.int64)
    return {
        "body": Coded(body, dtypes["body"]),
        "time_day": time,
        "timestamp": ts,
        "presidency": presidency_terms(ts),
        "discussed": i[:, 1].copy(),
        "ia_items": i[:, 2].copy(),
        "backlog": i[:, 3].copy(),
        "capacity": capacity[body],
        "extraordinary": i[:, 4] != 0,
    }


def result(
    c: CompiledScenario, dtypes: Dtypes, q: S.Proposals, r: S.Run, detail: bool
) -> ReplicationResult:
    """A replication's tables (without ``detail``: empty event and meeting tables, as the
    Python engine's quiet logs give)."""
    n = int(r.ic[S.C_ARRIVED])
    if detail:
        ev, mt = frame(events(c, dtypes, r)), frame(meetings(c, dtypes, r))
    else:
        capacity = np.zeros(0, dtype=np.int64).dtype
        ev = _empty_events(dtypes["body"], dtypes["member"]).copy()
        mt = _empty_meetings(dtypes["body"], capacity).copy()
    return tables(c, frame(proposals(c, dtypes, q, n)), ev, frame(stages(dtypes, r)), mt)


def arrow_result(
    c: CompiledScenario, dtypes: Dtypes, q: S.Proposals, r: S.Run, replication: int
) -> dict[str, pa.Table]:
    """A replication's tables as Arrow tables with a leading ``replication`` column:
    :func:`sim.engine.arrow.frame_to_arrow` of :func:`result`'s, without the frames (a run
    without a warm-up; without logs, the run logged no events and no meetings)."""
    assert not c.warmup, "the warm-up filters DataFrames: use result()"
    columns = {
        "proposals": proposals(c, dtypes, q, int(r.ic[S.C_ARRIVED])),
        "events": events(c, dtypes, r),
        "stages": stages(dtypes, r),
        "meetings": meetings(c, dtypes, r),
    }
    return {name: arrow_table(columns[name], replication) for name in TABLES}
