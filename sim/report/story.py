"""One proposal's story: its path through the bodies over time, with the meetings that
discussed it, the objections and reservations raised, hold-outs and their concessions,
compromises, votes, brakes and the written procedure."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from sim.report.names import body_name, outcome_name, type_name
from sim.report.plots import axes_or_new, body_colour

MARKS = {
    "reservation": ("o", "#adb5bd", "reservation"),
    "objection": ("x", "#c92a2a", "objection"),
    "compromise": ("D", "#1c7ed6", "compromise tabled"),
    "concession": ("^", "#2b8a3e", "concession (end of a hold-out)"),
    "vote": ("v", "#862e9c", "vote"),
    "emergency_brake": ("*", "#c92a2a", "emergency brake"),
    "written_procedure": ("s", "#868e96", "written procedure"),
    "adopted": ("P", "#2b8a3e", "adopted"),
    "lapsed": ("X", "#f08c00", "lapsed"),
    "blocked": ("X", "#c92a2a", "blocked"),
    "withdrawn": ("X", "#868e96", "withdrawn"),
    "issued_by_hr": ("P", "#7048e8", "issued by the High Representative instead"),
}
"""How each kind of event is marked."""


def plot_story(
    events: pd.DataFrame,
    stages: pd.DataFrame,
    proposal: int,
    replication: int | None = None,
    ax: Axes | None = None,
) -> Axes:
    """The story of ``proposal`` (its id in ``replication``, required when the tables hold
    several): one row per body it visited, a bar per visit (days since tabling), each event
    marked where and when it happened, hold-outs as hatched spans ending at their concession,
    the states concerned named beside objections, hold-outs and brakes."""
    for name, table in (("events", events), ("stages", stages)):
        reps = table["replication"].unique() if "replication" in table else [None]
        if replication is None and len(reps) > 1:
            raise ValueError(f"{name} hold {len(reps)} replications: pass replication=N")
    if replication is not None:
        events = events[events["replication"] == replication]
        stages = stages[stages["replication"] == replication]
    ev = events[events["case_id"] == proposal].sort_values("time_day", kind="stable")
    visits = stages[stages["proposal_id"] == proposal].sort_values("entered_day", kind="stable")
    if ev.empty:
        raise ValueError(f"no proposal {proposal} in replication {replication}")
    ax = axes_or_new(ax, (10.0, 4.8))
    t0 = float(ev["time_day"].min())
    bodies = list(dict.fromkeys([*visits["body"].astype(str), *ev["body"].dropna().astype(str)]))
    row = {b: i for i, b in enumerate(bodies)}
    for v in visits.itertuples():
        b = str(v.body)
        ax.broken_barh(
            [(v.entered_day - t0, max(v.left_day - v.entered_day, 0.05))],
            (row[b] - 0.3, 0.6),
            color=body_colour(b),
            alpha=0.35,
        )
    for kind, (marker, colour, label) in MARKS.items():
        sel = ev[(ev["activity"].astype(str) == kind) & ev["body"].notna()]
        if sel.empty:
            continue
        x = sel["time_day"].to_numpy(float) - t0
        y = [row[str(b)] for b in sel["body"]]
        ax.scatter(x, y, marker=marker, color=colour, s=60, label=label, zorder=3)
        if kind in ("objection", "concession", "emergency_brake"):
            _name_states(ax, sel, x, y)
        if kind == "concession":  # value: the days the state held out
            held = sel["value"].to_numpy(float)
            for xi, yi, d in zip(x, y, np.nan_to_num(held), strict=True):
                ax.broken_barh(
                    [(xi - d, d)],
                    (yi - 0.12, 0.24),
                    facecolor="none",
                    edgecolor="#2b8a3e",
                    hatch="///",
                )
    ax.set_yticks(range(len(bodies)), [body_name(b) for b in bodies])
    ax.invert_yaxis()
    ax.set_xlim(left=-0.5)
    ax.set_xlabel("days since the proposal was submitted")
    ax.set_ylabel("body")
    ptype = visits["type"].iloc[0] if "type" in visits and len(visits) else None
    ax.set_title(_title(ev, proposal, replication, ptype))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncols=4, fontsize=8)
    return ax


def _name_states(ax: Axes, sel: pd.DataFrame, x: np.ndarray, y: list[int]) -> None:
    for xi, yi, state in zip(x, y, sel["member_state"], strict=True):
        if isinstance(state, str) and state:
            ax.annotate(state, (xi, yi), xytext=(4, 6), textcoords="offset points", fontsize=7)


def _title(ev: pd.DataFrame, proposal: int, replication: int | None, ptype: object) -> str:
    end = ev.iloc[-1]
    days = float(end["time_day"] - ev["time_day"].min())
    what = f"{type_name(ptype)} #{proposal}" if ptype is not None else f"proposal {proposal}"
    rep = f" (replication {replication})" if replication is not None else ""
    outcome = outcome_name(end["activity"])
    return f"The story of {what}{rep}: {outcome} after {days:.1f} days"
