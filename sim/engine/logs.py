"""The logs of a replication: cheap columnar buffers during a run, tidy DataFrames at the end.

:class:`EventLog` (what happened to each proposal), :class:`StageLog` (body visits and where
their time went), :class:`MeetingLog` (agenda use per meeting) and :func:`proposal_frame` (one
row per proposal).

Appending an event costs five list appends of plain ints and floats; strings (activities,
bodies, member states) are stored as small integer codes and become categoricals only in
:meth:`EventLog.to_frame`. The log is a valid process-mining event log: ``case_id`` (the
proposal), ``activity`` and ``timestamp``.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from enum import IntEnum
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.core.calendars import presidency_term
from sim.core.outcomes import Outcome, StageExit
from sim.core.visit import Visit
from sim.engine.arrow import Coded, categories, frame

if TYPE_CHECKING:
    from sim.engine.proposal import Proposal


class Activity(IntEnum):
    """What happened to a proposal. Append only; the lower-case names are the log's vocabulary."""

    SUBMITTED = 0
    TABLED = 1
    INSTRUCTIONS_RECEIVED = 2
    RESERVATION = 3
    OBJECTION = 4
    ABSTENTION = 5
    COMPROMISE = 6
    AGREED = 7
    ESCALATED = 8
    REFERRED_BACK = 9
    WRITTEN_PROCEDURE = 10
    VOTE = 11
    EMERGENCY_BRAKE = 12
    ADOPTED = 13
    BLOCKED = 14
    LAPSED = 15
    WITHDRAWN = 16
    PENDING = 17
    CONCESSION = 18
    ISSUED_BY_HR = 19


ACTIVITIES = pd.CategoricalDtype([a.name.lower() for a in Activity])
"""The ``activity`` column's categories."""

TERMINAL = frozenset(
    {
        Activity.ADOPTED,
        Activity.BLOCKED,
        Activity.LAPSED,
        Activity.WITHDRAWN,
        Activity.ISSUED_BY_HR,
        Activity.PENDING,
    }
)
"""Activities that end a proposal: exactly one per proposal."""

_NAN = math.nan


_NS_PER_DAY = 86_400 * 10**9


def timestamps(start: dt.date, days: np.ndarray | pd.Series) -> np.ndarray:
    """Calendar timestamps (``datetime64[ns]``) of simulation times (days since ``start`` at
    00:00); NaN days give NaT.

    >>> str(timestamps(dt.date(2025, 1, 1), np.array([1.5]))[0])
    '2025-01-02T12:00:00.000000000'
    """
    d = np.asarray(days, dtype=float)
    ns = np.where(np.isnan(d), 0, np.round(d * _NS_PER_DAY)).astype("timedelta64[ns]")
    out = np.datetime64(start, "ns") + ns
    out[np.isnan(d)] = np.datetime64("NaT")
    return out


class EventLog:
    """Columnar event buffers for one replication."""

    __slots__ = ("_act", "_body", "_case", "_member", "_time", "_value", "bodies", "members")
    detail = True  # records events (callers skip costly arguments when not)

    def __init__(self, bodies: pd.CategoricalDtype, members: pd.CategoricalDtype) -> None:
        self.bodies = bodies
        self.members = members
        self._case: list[int] = []
        self._act: list[int] = []
        self._body: list[int] = []
        self._time: list[float] = []
        self._member: list[int] = []
        self._value: list[float] = []

    def record(
        self,
        time: float,
        case: int,
        activity: int,
        body: int = -1,
        member: int = -1,
        value: float = _NAN,
    ) -> None:
        """Append one event (``body`` and ``member`` are indices, -1 for none)."""
        self._time.append(time)
        self._case.append(case)
        self._act.append(activity)
        self._body.append(body)
        self._member.append(member)
        self._value.append(value)

    def record_members(
        self,
        time: float,
        case: int,
        activity: int,
        body: int,
        mask: np.ndarray,
        values: np.ndarray | None = None,
    ) -> None:
        """Append one event per state selected by ``mask`` (one entry per state)."""
        idx = mask.nonzero()[0]  # the method: no Python wrapper (np.flatnonzero has two)
        k = len(idx)
        if not k:
            return
        self._time.extend([time] * k)
        self._case.extend([case] * k)
        self._act.extend([activity] * k)
        self._body.extend([body] * k)
        self._member.extend(idx.tolist())
        self._value.extend(values[idx].tolist() if values is not None else [_NAN] * k)

    def to_frame(self, start: dt.date) -> pd.DataFrame:
        """The log as a DataFrame sorted by time (stable, so same-time events keep their order)."""
        time = np.asarray(self._time, dtype=float)
        order = np.argsort(time, kind="stable")
        act = np.asarray(self._act, dtype=np.int16)[order]
        body = np.asarray(self._body, dtype=np.int16)[order]
        member = np.asarray(self._member, dtype=np.int16)[order]
        time = time[order]
        return pd.DataFrame(
            {
                "case_id": np.asarray(self._case, dtype=np.int64)[order],
                "activity": pd.Categorical.from_codes(act, dtype=ACTIVITIES),
                "body": pd.Categorical.from_codes(body, dtype=self.bodies),
                "time_day": time,
                "timestamp": timestamps(start, time),
                "member_state": pd.Categorical.from_codes(member, dtype=self.members),
                "value": np.asarray(self._value, dtype=float)[order],
            }
        )


class QuietEventLog(EventLog):
    """An event log that records nothing (a metrics-only run): its frame is empty."""

    __slots__ = ()
    detail = False

    def record(
        self,
        time: float,
        case: int,
        activity: int,
        body: int = -1,
        member: int = -1,
        value: float = _NAN,
    ) -> None:
        """Nothing is recorded (the full signature: cheaper to call than ``*args``)."""

    def record_members(
        self,
        time: float,
        case: int,
        activity: int,
        body: int,
        mask: np.ndarray,
        values: np.ndarray | None = None,
    ) -> None:
        """Nothing is recorded."""

    def to_frame(self, start: dt.date) -> pd.DataFrame:
        """The empty log, with the columns and dtypes of a full one (a copy of a frame built
        once per pair of category dtypes)."""
        return _empty_events(self.bodies, self.members).copy()


@functools.lru_cache(maxsize=16)
def _empty_events(bodies: pd.CategoricalDtype, members: pd.CategoricalDtype) -> pd.DataFrame:
    return EventLog(bodies, members).to_frame(dt.date(2000, 1, 1))


STAGE_EXITS = pd.CategoricalDtype([x.value for x in StageExit])
"""The ``exit`` column's categories: how a visit to a body ends."""

OUTCOMES = pd.CategoricalDtype([o.value for o in Outcome])
"""The ``outcome`` column's categories."""

_EXIT_CODE = {x: i for i, x in enumerate(StageExit)}
_OUTCOME_CODE = {o: i for i, o in enumerate(Outcome)}


class StageLog:
    """Columnar buffers of body visits: one row per visit, written when the visit ends.

    ``bodies`` are the stage-body categories: the scenario's bodies, then the written procedure.
    """

    __slots__ = ("_rows", "bodies", "types")

    def __init__(self, types: pd.CategoricalDtype, bodies: pd.CategoricalDtype) -> None:
        self.types, self.bodies = types, bodies
        self._rows: list[tuple[Any, ...]] = []

    def record(
        self, pid: int, type_idx: int, body: int, visit: Visit, now: float, how: StageExit
    ) -> None:
        """The end of ``visit`` (at stage-body index ``body``) at day ``now``."""
        v = visit
        self._rows.append(
            (
                pid,
                type_idx,
                body,
                v.entered,
                now,
                v.wait_meeting,
                v.wait_instructions,
                v.negotiating,
                v.rounds,
                _EXIT_CODE[how],
                v.first_failed,
            )
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per visit, in the order the visits ended."""
        c = list(zip(*self._rows, strict=True)) if self._rows else [()] * 11
        floats = [np.asarray(x, dtype=float) for x in c[3:8]]
        return pd.DataFrame(
            {
                "proposal_id": np.asarray(c[0], dtype=np.int64),
                "type": pd.Categorical.from_codes(
                    np.asarray(c[1], dtype=np.int64), dtype=self.types
                ),
                "body": pd.Categorical.from_codes(
                    np.asarray(c[2], dtype=np.int64), dtype=self.bodies
                ),
                "entered_day": floats[0],
                "left_day": floats[1],
                "wait_meeting_days": floats[2],
                "wait_instructions_days": floats[3],
                "negotiating_days": floats[4],
                "rounds": np.asarray(c[8], dtype=np.int64),
                "exit": pd.Categorical.from_codes(
                    np.asarray(c[9], dtype=np.int64), dtype=STAGE_EXITS
                ),
                "first_failed_day": np.asarray(c[10], dtype=float),
            }
        )


class MeetingLog:
    """Columnar buffers of meetings: one row per meeting held."""

    __slots__ = (
        "_backlog",
        "_body",
        "_discussed",
        "_extra",
        "_ia",
        "_time",
        "bodies",
        "capacity",
    )

    def __init__(self, bodies: pd.CategoricalDtype, capacity: np.ndarray) -> None:
        self.bodies, self.capacity = bodies, capacity
        self._body: list[int] = []
        self._time: list[float] = []
        self._discussed: list[int] = []
        self._ia: list[int] = []
        self._backlog: list[int] = []
        self._extra: list[bool] = []

    def record(
        self,
        body: int,
        now: float,
        discussed: int,
        ia_items: int,
        backlog: int,
        extraordinary: bool = False,
    ) -> None:
        """A meeting of ``body`` at ``now``: items discussed, I/A items passed, items left,
        and whether it was an extraordinary meeting called at short notice."""
        self._extra.append(extraordinary)
        self._body.append(body)
        self._time.append(now)
        self._discussed.append(discussed)
        self._ia.append(ia_items)
        self._backlog.append(backlog)

    def to_frame(self, start: dt.date) -> pd.DataFrame:
        """One row per meeting, with its calendar timestamp and presidency term."""
        body = np.asarray(self._body, dtype=np.int64)
        time = np.asarray(self._time, dtype=float)
        ts = timestamps(start, time)
        return frame(
            {
                "body": Coded(body, self.bodies),
                "time_day": time,
                "timestamp": ts,
                "presidency": presidency_terms(ts),
                "discussed": np.asarray(self._discussed, dtype=np.int64),
                "ia_items": np.asarray(self._ia, dtype=np.int64),
                "backlog": np.asarray(self._backlog, dtype=np.int64),
                "capacity": self.capacity[body],
                "extraordinary": np.asarray(self._extra, dtype=bool),
            }
        )


class QuietMeetingLog(MeetingLog):
    """A meeting log that records nothing (a metrics-only run): its frame is empty."""

    __slots__ = ()

    def record(
        self,
        body: int,
        now: float,
        discussed: int,
        ia_items: int,
        backlog: int,
        extraordinary: bool = False,
    ) -> None:
        """Nothing is recorded."""

    def to_frame(self, start: dt.date) -> pd.DataFrame:
        """The empty log, with the columns and dtypes of a full one (a copy of a frame built
        once per body dtype and capacity dtype)."""
        return _empty_meetings(self.bodies, self.capacity.dtype).copy()


@functools.lru_cache(maxsize=16)
def _empty_meetings(bodies: pd.CategoricalDtype, capacity: np.dtype) -> pd.DataFrame:
    return MeetingLog(bodies, np.zeros(0, dtype=capacity)).to_frame(dt.date(2000, 1, 1))


def presidency_terms(ts: np.ndarray) -> Coded:
    """The presidency term of each timestamp, e.g. ``2025-H2`` (see
    :func:`sim.core.calendars.presidency_term`), computed on the array at once."""
    months = np.asarray(ts).astype("datetime64[M]").astype(np.int64)  # months since 1970-01
    term = (months // 12) * 2 + (months % 12 >= 6)  # half-years since 1970-H1
    unique, codes = np.unique(term, return_inverse=True)
    labels = [presidency_term(dt.date(1970 + int(u) // 2, 1 + 6 * (int(u) % 2), 1)) for u in unique]
    return Coded(codes, categories(tuple(labels)))


def _outcome_code(p: Proposal) -> int:
    if p.outcome is None:
        raise ValueError(f"proposal {p.id} has no outcome: the replication was not closed")
    return _OUTCOME_CODE[p.outcome]


def proposal_frame(
    proposals: list[Proposal], types: pd.CategoricalDtype, members: tuple[str, ...], start: dt.date
) -> pd.DataFrame:
    """One row per proposal: what it was, how and when it ended, who blocked (a declaration
    issued by the High Representative instead: who still objected), held it hostage (raised a
    hold-out on it, whether or not it ended the item) or abstained."""
    codes = np.array(members)
    ps = proposals
    rows = [
        (
            p.id,
            p.type.idx,
            p.arrival,
            _outcome_code(p),
            p.decided_day,
            p.rounds,
            p.escalations,
            p.type.ambition - p.text,
            _NAN if p.deadline is None else p.deadline,
            p.urgent,
        )
        for p in ps
    ]
    c = list(zip(*rows, strict=True)) if rows else [()] * 10
    arrival, outcome = np.array(c[2], dtype=float), np.array(c[3], dtype=np.int64)
    decided = np.array(c[4], dtype=float)
    abstained = np.array([p.abstainers for p in ps], dtype=bool).reshape(len(ps), len(codes))
    abstaining = [""] * len(ps)
    for i in np.flatnonzero(abstained.any(axis=1)):
        abstaining[i] = ",".join(codes[abstained[i]])
    ended_by_block = (Outcome.BLOCKED, Outcome.LAPSED, Outcome.ISSUED_BY_HR)
    return pd.DataFrame(
        {
            "proposal_id": np.array(c[0], dtype=np.int64),
            "type": pd.Categorical.from_codes(np.array(c[1], dtype=np.int64), dtype=types),
            "arrival_day": arrival,
            "arrival_time": timestamps(start, arrival),
            "outcome": pd.Categorical.from_codes(outcome, dtype=OUTCOMES),
            "decided_day": np.where(outcome == _OUTCOME_CODE[Outcome.PENDING], np.nan, decided),
            "duration_days": decided - arrival,
            "rounds": np.array(c[5], dtype=np.int64),
            "decided_at": [p.decided_at for p in ps],
            "escalations": np.array(c[6], dtype=np.int64),
            "blocking_states": [
                ",".join(codes[p.blockers]) if p.outcome in ended_by_block else "" for p in ps
            ],
            "holding_states": [
                ",".join(codes[p.stances.holders]) if p.hold_started else "" for p in ps
            ],
            "abstaining_states": abstaining,
            "dilution": np.array(c[7], dtype=float),
            "deadline_day": np.array(c[8], dtype=float),
            "urgent": np.array(c[9], dtype=bool),
        }
    )
