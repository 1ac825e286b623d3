"""Process-mining exports of a run: XES (IEEE 1849), OCEL 2.0 (JSON) and a flat CSV.

``events.parquet`` is the simulation's own log; :func:`mining_log` turns it into a log a
process-mining tool reads as intended:

- every activity is named with its body (``PSC:tabled``, ``COREPER:agreed``), so the same step
  at different bodies stays apart; a visit to a body (from ``stages.parquet``) is the activity
  named by the body (``PSC``) with ``lifecycle:transition`` *start* (it enters the body's queue)
  and *complete* (it leaves);
- the per-member-state events (reservation, objection, abstention, emergency brake, concession)
  are folded into one event per proposal, body, moment and activity, listing the states and
  their count, unless ``member_events`` asks for one event per state;
- ``org:resource`` is the body (or the member state of an unfolded event); timestamps carry
  their time zone (Europe/Brussels, the Council's clock: day 0 is the start date at 00:00 there);
- events at the same moment keep the order in which they happened: the visit starts, what
  happens at the body, the visit completes, the next visit starts;
- each case (one proposal of one replication, ``r0-p12``) carries its type, outcome, urgency,
  replication, proposal id and days to decision.

The ``value`` column of ``events.parquet`` (and the ``value`` attribute here) means, by activity:
``submitted`` the text's position (its ambition); ``instructions_received`` days from the current
text to the last capital's instructions; ``reservation`` days until that state's instructions
arrive (folded: the longest); ``objection`` 1 if the state's vote blocks the round, 0 if it
objects without blocking (folded: how many block; empty after a written procedure);
``compromise`` and ``agreed`` the text's position after the step; ``vote`` the number of states
voting in favour; ``written_procedure`` its length in days (here the visit to
``written_procedure``); ``concession`` days the state held out before conceding (folded: the
longest). The other activities have no value.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import numpy as np
import pandas as pd

from sim.experiment.paths import write_output
from sim.experiment.results import Experiment, open_results
from sim.scenario import Scenario

FORMATS = ("xes", "ocel", "csv")
MEMBER_ACTIVITIES = ("reservation", "objection", "abstention", "emergency_brake", "concession")
CASE_ACTIVITIES = (
    "submitted",
    "adopted",
    "blocked",
    "lapsed",
    "withdrawn",
    "issued_by_hr",
    "pending",
)
"""Named without a body: they begin or end the case wherever it is (every outcome's activity,
:data:`sim.engine.logs.TERMINAL`)."""
TIME_ZONE = "Europe/Brussels"
WRITTEN = "written_procedure"
_LAST = 1_000_000  # the visit number of the events that end a case: after every visit


def parse_replications(text: str, available: int) -> list[int]:
    """``"all"``, ``"3"``, ``"0,2,5"`` or ``"0-9"`` as a list of replication numbers.

    >>> parse_replications("0-2,5", 10)
    [0, 1, 2, 5]
    >>> parse_replications("all", 3)
    [0, 1, 2]
    """
    if text.strip() == "all":
        return list(range(available))
    out: set[int] = set()
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        if not first.isdigit() or (last and not last.isdigit()):
            raise ValueError(f"expected 'all', N, N-M or a comma-separated list, got {text!r}")
        lo, hi = int(first), int(last or first)
        if hi < lo:
            raise ValueError(f"{part.strip()!r} is an empty range (write N-M with N <= M)")
        if hi >= available:  # checked before the range is built: no huge allocation
            raise ValueError(f"the run has replications 0-{available - 1}, not {hi}")
        out.update(range(lo, hi + 1))
    return sorted(out)


def _read(folder: Path, name: str, replications: list[int]) -> pd.DataFrame:
    return pd.read_parquet(
        folder / f"{name}.parquet", filters=[("replication", "in", replications)]
    )


def _text(column: pd.Series) -> pd.Series:
    """A categorical or string column as plain strings, ``""`` where missing."""
    return column.astype(object).where(column.notna(), "").astype(str)


def _visits(stages: pd.DataFrame) -> pd.DataFrame:
    """Stage rows with their order within the case (``visit``)."""
    v = stages.assign(body=_text(stages["body"]))
    v = v.sort_values(["replication", "proposal_id", "entered_day", "left_day"], kind="stable")
    v["visit"] = v.groupby(["replication", "proposal_id"]).cumcount()
    return v.rename(columns={"proposal_id": "case_id"})


def _fold(events: pd.DataFrame) -> pd.DataFrame:
    """One event per proposal, body, moment and member-state activity, listing the states."""
    member = events["activity"].isin(MEMBER_ACTIVITIES)
    m = events[member]
    keys = ["replication", "case_id", "time_day", "body", "activity", "seq"]
    first = m.groupby(keys[:-1], dropna=False, observed=True, sort=False)
    folded = first.agg(
        seq=("seq", "min"),
        states=("member_state", ",".join),
        count=("member_state", "size"),
        value=("value", lambda v: v.max() if v.notna().any() else np.nan),
        blocking=("value", lambda v: float((v == 1.0).sum()) if v.notna().any() else np.nan),
    ).reset_index()
    is_objection = folded["activity"] == "objection"
    folded.loc[is_objection, "value"] = folded.loc[is_objection, "blocking"]
    folded = folded.drop(columns="blocking")
    return pd.concat([events[~member], folded], ignore_index=True)


def _place(events: pd.DataFrame, visits: pd.DataFrame) -> pd.DataFrame:
    """The visit each event belongs to: the latest visit to its body that began by then; for
    an event without a body (a concession while the item moves on), the latest visit at all.
    An objection without a body is one raised during a written procedure."""
    e = events.copy()
    e["at"] = e["body"]
    e.loc[(e["at"] == "") & (e["activity"] == "objection"), "at"] = WRITTEN
    case_level = e["activity"].isin(CASE_ACTIVITIES)
    v = visits[["replication", "case_id", "body", "entered_day", "visit"]].sort_values(
        "entered_day", kind="stable"
    )
    keys = ["replication", "case_id"]
    at_body = e[~case_level & (e["at"] != "")].sort_values("time_day", kind="stable")
    placed = pd.merge_asof(
        at_body,
        v.rename(columns={"body": "at"}),
        left_on="time_day",
        right_on="entered_day",
        by=[*keys, "at"],
        direction="backward",
    )
    loose = e[~case_level & (e["at"] == "")].drop(columns="at").sort_values("time_day")
    loose = pd.merge_asof(
        loose,
        v.rename(columns={"body": "at"}),
        left_on="time_day",
        right_on="entered_day",
        by=keys,
        direction="backward",
    ).fillna({"at": ""})
    ends = e[case_level].assign(
        visit=np.where(e.loc[case_level, "activity"] == "submitted", -1, _LAST), at=""
    )
    frames = [placed.drop(columns="entered_day"), loose.drop(columns="entered_day"), ends]
    return pd.concat(frames, ignore_index=True)


def mining_log(
    folder: Path, replications: list[int], member_events: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The run's process-mining log and its cases (see the module docstring).

    Log columns: ``case, activity, lifecycle, time_day, resource, states, count, value``,
    in case order and, within a case, in the order things happened.
    """
    events = _read(folder, "events", replications)
    events = events.assign(
        activity=_text(events["activity"]),
        body=_text(events["body"]),
        member_state=_text(events["member_state"]),
        seq=np.arange(len(events)),
    )
    events = events[events["activity"] != WRITTEN]  # the visit to written_procedure shows it
    if member_events:
        events = events.assign(
            states=events["member_state"],
            count=np.where(events["member_state"] != "", 1, 0),
        )
    else:
        events = _fold(events).fillna({"states": "", "count": 0})
    visits = _visits(_read(folder, "stages", replications))
    placed = _place(events, visits)
    qualified = ~placed["activity"].isin(CASE_ACTIVITIES)
    placed["name"] = np.where(
        qualified, placed["at"] + ":" + placed["activity"], placed["activity"]
    )
    placed["lifecycle"], placed["order"] = "complete", 1
    per_state = member_events & placed["states"].ne("")
    body = placed["body"]
    placed["resource"] = np.where(per_state, placed["states"], placed["at"].fillna(""))
    placed.loc[placed["resource"] == "", "resource"] = body
    rows = [placed]
    for lifecycle, column, order in (("start", "entered_day", 0), ("complete", "left_day", 2)):
        edge = visits.dropna(subset=[column])
        rows.append(
            pd.DataFrame(
                {
                    "replication": edge["replication"],
                    "case_id": edge["case_id"],
                    "name": edge["body"],
                    "lifecycle": lifecycle,
                    "time_day": edge[column],
                    "resource": edge["body"],
                    "visit": edge["visit"],
                    "order": order,
                    "seq": 0,
                }
            )
        )
    log = pd.concat(rows, ignore_index=True).fillna({"states": "", "count": 0, "resource": ""})
    log = log.sort_values(
        ["replication", "case_id", "time_day", "visit", "order", "seq"], kind="stable"
    )
    out = pd.DataFrame(
        {
            "case": "r" + log["replication"].astype(str) + "-p" + log["case_id"].astype(str),
            "activity": log["name"],
            "lifecycle": log["lifecycle"],
            "time_day": log["time_day"],
            "resource": log["resource"],
            "states": log["states"],
            "count": log["count"].astype(int),
            "value": log["value"],
        }
    ).reset_index(drop=True)
    return out, _cases(folder, replications)


def _cases(folder: Path, replications: list[int]) -> pd.DataFrame:
    p = _read(folder, "proposals", replications)
    return pd.DataFrame(
        {
            "case": "r" + p["replication"].astype(str) + "-p" + p["proposal_id"].astype(str),
            "type": p["type"].astype(str),
            "outcome": p["outcome"].astype(str),
            "urgent": p["urgent"].astype(bool),
            "replication": p["replication"].astype(int),
            "proposal": p["proposal_id"].astype(int),
            "duration_days": p["duration_days"].astype(float),
        }
    ).sort_values(["replication", "proposal"], kind="stable")


def iso_times(start: Any, days: pd.Series) -> pd.Series:
    """ISO 8601 timestamps with their UTC offset in Brussels, to the millisecond.

    >>> import datetime as dt
    >>> iso_times(dt.date(2025, 7, 1), pd.Series([0.5])).tolist()
    ['2025-07-01T12:00:00.000+02:00']
    """
    naive = pd.Timestamp(start) + pd.to_timedelta(days.to_numpy(float), unit="D")
    local = pd.Series(naive.round("ms")).dt.tz_localize(
        TIME_ZONE, nonexistent="shift_forward", ambiguous=np.zeros(len(days), dtype=bool)
    )
    text = local.dt.strftime("%Y-%m-%dT%H:%M:%S.%f%z")
    return text.str.replace(r"(\.\d{3})\d{3}([+-]\d{2})(\d{2})$", r"\1\2:\3", regex=True).set_axis(
        days.index
    )


_XES_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1849-2016" xes.features="nested-attributes" xmlns="http://www.xes-standard.org/">
<extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
<extension name="Lifecycle" prefix="lifecycle" uri="http://www.xes-standard.org/lifecycle.xesext"/>
<extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>
<extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>
<global scope="trace"><string key="concept:name" value="__INVALID__"/></global>
<global scope="event"><string key="concept:name" value="__INVALID__"/>\
<string key="lifecycle:transition" value="complete"/>\
<date key="time:timestamp" value="1970-01-01T00:00:00.000+00:00"/></global>
<classifier name="Activity" keys="concept:name"/>
<classifier name="Activity and transition" keys="concept:name lifecycle:transition"/>
"""


def _attr(kind: str, key: str, value: Any) -> str:
    return f"<{kind} key={quoteattr(key)} value={quoteattr(str(value))}/>"


def _case_attrs(c: Any) -> str:
    return (
        _attr("string", "concept:name", c.case)
        + _attr("string", "type", c.type)
        + _attr("string", "outcome", c.outcome)
        + _attr("boolean", "urgent", str(bool(c.urgent)).lower())
        + _attr("int", "replication", c.replication)
        + _attr("int", "proposal", c.proposal)
        + (
            _attr("float", "duration_days", c.duration_days)
            if c.duration_days == c.duration_days
            else ""
        )
    )


def to_xes(log: pd.DataFrame, cases: pd.DataFrame, scenario: Scenario, name: str) -> str:
    """The log as an XES document (IEEE 1849-2016)."""
    times = iso_times(scenario.start_date, log["time_day"])
    by_case = {case: g for case, g in log.assign(iso=times).groupby("case", sort=False)}
    parts = [_XES_HEAD, _attr("string", "concept:name", name), "\n"]
    for c in cases.itertuples(index=False):
        parts.append("<trace>" + _case_attrs(c) + "\n")
        events = by_case.get(c.case)
        for e in events.itertuples(index=False) if events is not None else ():
            parts.append(
                "<event>"
                + _attr("string", "concept:name", e.activity)
                + _attr("string", "lifecycle:transition", e.lifecycle)
                + (_attr("string", "org:resource", e.resource) if e.resource else "")
                + _attr("date", "time:timestamp", e.iso)
                + (_attr("float", "value", e.value) if e.value == e.value else "")
                + (_attr("string", "member_states", e.states) if e.states else "")
                + (_attr("int", "count", int(e.count)) if e.count else "")
                + "</event>\n"
            )
        parts.append("</trace>\n")
    parts.append("</log>\n")
    return "".join(parts)


def to_ocel(log: pd.DataFrame, cases: pd.DataFrame, scenario: Scenario) -> dict[str, Any]:
    """The log as an OCEL 2.0 document (JSON): objects are proposals, bodies and member
    states; each event relates to its proposal, its body and the member states it names."""
    kinds = sorted(
        {_ocel_type(a, lc) for a, lc in zip(log["activity"], log["lifecycle"], strict=True)}
    )
    proposal = (("type", "string"), ("outcome", "string"), ("urgent", "boolean"))
    return {
        "objectTypes": [
            {"name": "proposal", "attributes": _types(*proposal, ("replication", "integer"))},
            {"name": "body", "attributes": _types(("name", "string"), ("level", "string"))},
            {"name": "member state", "attributes": _types(("name", "string"))},
        ],
        "eventTypes": [{"name": k, "attributes": _types(("value", "float"))} for k in kinds],
        "objects": _ocel_objects(log, cases, scenario),
        "events": _ocel_events(log, scenario),
    }


_ORIGIN = "1970-01-01T00:00:00.000+00:00"


def _ocel_objects(
    log: pd.DataFrame, cases: pd.DataFrame, scenario: Scenario
) -> list[dict[str, Any]]:
    objects = [
        _ocel_object(
            c.case,
            "proposal",
            {
                "type": c.type,
                "outcome": c.outcome,
                "urgent": bool(c.urgent),
                "replication": int(c.replication),
            },
        )
        for c in cases.itertuples(index=False)
    ]
    for bid, b in scenario.bodies.items():
        objects.append(_ocel_object(bid, "body", {"name": b.name, "level": b.level.value}))
    objects.append(_ocel_object(WRITTEN, "body", {"name": "written procedure", "level": ""}))
    names = {m.code: m.name or m.code for m in scenario.resolved_members()}
    states = sorted({s for text in log["states"] if text for s in text.split(",")})
    objects += [_ocel_object(s, "member state", {"name": names.get(s, s)}) for s in states]
    return objects


def _ocel_events(log: pd.DataFrame, scenario: Scenario) -> list[dict[str, Any]]:
    times = iso_times(scenario.start_date, log["time_day"])
    events = []
    for i, e in enumerate(log.assign(iso=times).itertuples(index=False)):
        rel = [{"objectId": e.case, "qualifier": "proposal"}]
        if e.resource in scenario.bodies or e.resource == WRITTEN:
            rel.append({"objectId": e.resource, "qualifier": "at body"})
        rel += [{"objectId": s, "qualifier": "member state"} for s in e.states.split(",") if s]
        events.append(
            {
                "id": f"e{i}",
                "type": _ocel_type(e.activity, e.lifecycle),
                "time": e.iso,
                "attributes": [{"name": "value", "value": float(e.value)}]
                if e.value == e.value
                else [],
                "relationships": rel,
            }
        )
    return events


def _ocel_type(activity: str, lifecycle: str) -> str:
    """A visit's two ends become ``PSC:start`` and ``PSC:complete`` (OCEL has no lifecycle)."""
    is_visit = ":" not in activity and activity not in CASE_ACTIVITIES
    return f"{activity}:{lifecycle}" if is_visit else activity


def _types(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"name": n, "type": t} for n, t in pairs]


def _ocel_object(oid: str, kind: str, attrs: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": oid,
        "type": kind,
        "attributes": [{"name": k, "time": _ORIGIN, "value": v} for k, v in attrs.items()],
        "relationships": [],
    }


def to_csv(log: pd.DataFrame, cases: pd.DataFrame, scenario: Scenario) -> str:
    """The log as one CSV table in pm4py's column names (case attributes as ``case:...``)."""
    flat = log.assign(timestamp=iso_times(scenario.start_date, log["time_day"]))
    flat = flat.rename(
        columns={
            "case": "case:concept:name",
            "activity": "concept:name",
            "lifecycle": "lifecycle:transition",
            "resource": "org:resource",
            "timestamp": "time:timestamp",
            "states": "member_states",
        }
    )
    attrs = cases.rename(columns=lambda c: "case:concept:name" if c == "case" else f"case:{c}")
    return flat.merge(attrs, on="case:concept:name", how="left").to_csv(index=False)


def export_log(
    run: Path | Experiment,
    fmt: str,
    out: Path,
    replications: str = "all",
    member_events: bool = False,
) -> Path:
    """Write the run (a folder, or a run already opened) as ``fmt`` (xes, ocel, csv) to
    ``out``; returns ``out``."""
    exp = run if isinstance(run, Experiment) else open_results(run)  # complete, verified
    reps = parse_replications(replications, int(exp.manifest["replications"]))
    scenario = exp.scenario
    log, cases = mining_log(exp.path, reps, member_events)
    if fmt == "xes":
        text = to_xes(log, cases, scenario, f"cfsp-sim {scenario.name}")
    elif fmt == "ocel":
        text = json.dumps(to_ocel(log, cases, scenario), indent=None)
    elif fmt == "csv":
        text = to_csv(log, cases, scenario)
    else:
        raise ValueError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    return write_output(out, text)  # a regular file only; a failure names it
