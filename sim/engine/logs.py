"""The event log: cheap columnar buffers during a run, one tidy DataFrame at the end.

Appending an event costs five list appends of plain ints and floats; strings (activities,
bodies, member states) are stored as small integer codes and become categoricals only in
:meth:`EventLog.to_frame`. The log is a valid process-mining event log: ``case_id`` (the
proposal), ``activity`` and ``timestamp``.
"""

from __future__ import annotations

import datetime as dt
import math
from enum import IntEnum

import numpy as np
import pandas as pd


class Activity(IntEnum):
    """What happened to a proposal. Append only; the names are the log's vocabulary."""

    submitted = 0
    tabled = 1
    instructions_received = 2
    reservation = 3
    objection = 4
    abstention = 5
    compromise = 6
    agreed = 7
    escalated = 8
    referred_back = 9
    written_procedure = 10
    vote = 11
    emergency_brake = 12
    adopted = 13
    blocked = 14
    lapsed = 15
    withdrawn = 16
    pending = 17


ACTIVITIES = pd.CategoricalDtype([a.name for a in Activity])
"""The ``activity`` column's categories."""

TERMINAL = frozenset(
    {Activity.adopted, Activity.blocked, Activity.lapsed, Activity.withdrawn, Activity.pending}
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
        """Append one event per state selected by ``mask``."""
        if not np.count_nonzero(mask):
            return
        idx = np.flatnonzero(mask)
        k = len(idx)
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
