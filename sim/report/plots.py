"""Standard figures: each takes DataFrames and an optional matplotlib ``Axes`` and returns it.

Functions here draw; they do not compute statistics beyond a mean (that is
:mod:`sim.analysis.stats`), never call ``show()`` and never save (the caller does, see
:mod:`sim.report.html`). Every figure has a title, axes labelled with units, and a legend
where needed, in one consistent look.
"""

from __future__ import annotations

import datetime as dt
import math
import sys
import zlib
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any

import matplotlib as mpl
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.analysis.stats import kaplan_meier
from sim.core.calendars import Recess
from sim.report.names import body_name, outcome_name, type_name

OUTCOME_COLOURS = {
    "adopted": "#2b8a3e",
    "adopted_with_abstentions": "#8ce99a",
    "blocked": "#c92a2a",
    "lapsed": "#f08c00",
    "withdrawn": "#868e96",
    "issued_by_hr": "#7048e8",
    "pending": "#d0ebff",
}
SPLIT_COLOURS = {
    "wait_meeting_days": ("waiting for a meeting", "#74c0fc"),
    "wait_instructions_days": ("waiting for instructions", "#ffd43b"),
    "negotiating_days": ("negotiating", "#e8590c"),
}
MEMBER_METRICS = ("objections", "blocking_votes", "abstentions")
"""The per-member-state metrics :func:`plot_member_states` draws."""
BODY_COLOURS = {
    "WP": "#adb5bd",
    "COEST": "#74c0fc",
    "COAFR": "#63e6be",
    "COHOM": "#b197fc",
    "RELEX": "#f783ac",
    "PSC": "#1c7ed6",
    "COREPER": "#f08c00",
    "FAC": "#2b8a3e",
    "EUCO": "#c92a2a",
    "COUNCIL": "#862e9c",
    "written_procedure": "#868e96",
}
"""Fixed colours of the bodies: the same body has the same colour in every figure and run."""
TYPE_COLOURS = {
    "sanctions_package": "#c92a2a",
    "sanctions_renewal": "#f08c00",
    "listings_renewal": "#e8590c",
    "listing": "#e64980",
    "csdp_mandate": "#2b8a3e",
    "council_conclusions": "#1c7ed6",
    "eu_statement": "#7048e8",
    "epf_measure": "#495057",
}
"""Fixed colours of the baseline's proposal types."""
_SPARE = [mpl.colormaps["tab20"](i) for i in range(20)]


def _fixed(mapping: Mapping[str, Any], key: object) -> Any:
    """The colour of ``key``: from ``mapping``, else one chosen by a stable hash of its name."""
    name = str(key)
    return mapping.get(name) or _SPARE[zlib.crc32(name.encode()) % len(_SPARE)]


def body_colour(body: object) -> Any:
    """A body's colour, the same in every figure and run."""
    return _fixed(BODY_COLOURS, body)


def type_colour(proposal_type: object) -> Any:
    """A proposal type's colour, the same in every figure and run."""
    return _fixed(TYPE_COLOURS, proposal_type)


SCENARIO_COLOURS = ["#1c7ed6", "#e8590c", "#2b8a3e", "#862e9c", "#c92a2a", "#495057"]
FIGSIZE = (8.0, 4.8)
STYLE: dict[str, Any] = {
    "figure.figsize": FIGSIZE,
    "figure.dpi": 100,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "svg.hashsalt": "cfsp-sim",  # stable SVG ids: the same run draws the same files
}


def style() -> AbstractContextManager[None]:
    """The project's figure style, as a context manager."""
    return mpl.rc_context(STYLE)  # type: ignore[arg-type]


def axes_or_new(ax: Axes | None, size: tuple[float, float] | None = None) -> Axes:
    """``ax``, or a new figure's axes (of ``size``) when the caller gives none."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt  # only when the caller gives no Axes, e.g. in a notebook

    # The figure is made outside the style's rc_context: pyplot's first figure activates the
    # backend (Jupyter's inline one sets `interactive`), which the context would revert on exit,
    # and no later pyplot figure of the session would show.
    fig = plt.figure(figsize=size or FIGSIZE, dpi=STYLE["figure.dpi"])
    with style():
        return fig.add_subplot()


def new_figure(size: tuple[float, float]) -> Figure:
    """A figure a function returns: in IPython (Jupyter) made through pyplot, which activates
    the inline backend that displays a returned Figure as an image, then closed in pyplot (it
    shows once, as the cell's value, and never accumulates); elsewhere a plain ``Figure``.
    Call it outside :func:`style` (see :func:`_ax`), then draw inside."""
    ipython = sys.modules.get("IPython")
    if ipython is not None and getattr(ipython, "get_ipython", lambda: None)() is not None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=size, dpi=STYLE["figure.dpi"])
        plt.close(fig)
        return fig
    return Figure(figsize=size)


def _one_replication(
    stages: pd.DataFrame, meetings: pd.DataFrame, replication: int | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``stages`` and ``meetings`` of one replication: ``replication``, or the only one."""
    present = sorted(stages["replication"].unique()) if "replication" in stages else []
    if replication is None:
        if len(present) > 1:
            raise ValueError(
                f"the tables hold {len(present)} replications ({present[0]}-{present[-1]}): "
                "pass replication=N (proposal ids restart in each replication)"
            )
        return stages, meetings
    pick = [
        t[t["replication"] == replication] if "replication" in t else t for t in (stages, meetings)
    ]
    if pick[0].empty:
        raise ValueError(f"replication {replication} is not in the tables ({present})")
    return pick[0], pick[1]


def human(name: object) -> str:
    """A raw id as a label: ``sanctions_package`` -> ``sanctions package``."""
    return str(name).replace("_", " ")


_label = human


def _adoption_curve(proposals: pd.DataFrame, points: int = 600) -> tuple[np.ndarray, np.ndarray]:
    """1 − S(t) of :func:`~sim.stats.kaplan_meier`, on at most ``points`` times (the step
    function sampled exactly at grid points, so thousands of replications draw quickly)."""
    km = kaplan_meier(proposals)
    t, adopted = km["time_days"].to_numpy(), 1.0 - km["survival"].to_numpy()
    if len(t) <= points:
        return t, adopted
    grid = np.linspace(0.0, t[-1], points)
    return grid, adopted[np.searchsorted(t, grid, side="right") - 1]


def plot_time_to_adoption(
    proposals: pd.DataFrame, ax: Axes | None = None, log: bool = True
) -> Axes:
    """Share of proposals adopted by each day after arrival, by type (Kaplan–Meier, with
    pending proposals censored and blocked/lapsed/withdrawn ones, and declarations the High
    Representative issued instead, never adopted). ``log``: a
    log day axis (from 0.1 days), which separates types adopted within a day from those that
    take months."""
    ax = axes_or_new(ax)
    for t, g in proposals.groupby("type", observed=True)[["outcome", "duration_days"]]:
        x, y = _adoption_curve(g)
        x = np.maximum(x, 0.1) if log else x
        ax.step(x, y, where="post", label=type_name(t), color=type_colour(t))
    ax.set_title("Time to adoption by proposal type")
    if log:
        ax.set_xscale("log")
        ax.set_xlim(left=0.1)
    else:
        ax.set_xlim(left=0)
    ax.set_xlabel("days since the proposal was tabled" + (" (log scale)" if log else ""))
    ax.set_ylabel("share adopted (Kaplan–Meier)")
    ax.set_ylim(0, 1.02)
    ax.legend(loc="upper left", ncols=2)
    return ax


def plot_time_split(
    metrics: pd.DataFrame,
    ax: Axes | None = None,
    bodies: list[str] | None = None,
    names: Mapping[str, str] | None = None,
) -> Axes:
    """Where the time goes: mean days per visit to each body (of ``bodies``, default all),
    split into waiting for a meeting, waiting for instructions and negotiating (means of
    per-replication means); each label says how many visits a run makes."""
    ax = axes_or_new(ax)
    parts = metrics[metrics["metric"].isin(list(SPLIT_COLOURS))]
    table = parts.groupby(["group", "metric"], observed=True)["value"].mean().unstack("metric")
    visits = metrics[metrics["metric"] == "visits"].groupby("group", observed=True)["value"].mean()
    visits.index = visits.index.astype(str)
    table.index = table.index.astype(str)
    ladder = list(BODY_COLOURS)  # the bundled ladder's order, new bodies after it
    order = sorted(visits.index, key=lambda b: (ladder.index(b) if b in ladder else len(ladder), b))
    wanted = order if bodies is None else bodies
    names = names if names is not None else {b: body_name(b) for b in order}
    order = [b for b in wanted if b in table.index and visits.get(b, 0) > 0]
    table = table.reindex(index=order, columns=list(SPLIT_COLOURS)).fillna(0.0)
    labels = [f"{(names or {}).get(b, b)}\n{visits[b]:.3g} visits a run" for b in order]
    left = np.zeros(len(table))
    for col, (label, colour) in SPLIT_COLOURS.items():
        ax.barh(labels, table[col].to_numpy(), left=left, color=colour, label=label)
        left += table[col].to_numpy()
    ax.invert_yaxis()
    ax.set_title("Where the time goes, by body")
    ax.set_xlabel("mean days per visit")
    ax.set_ylabel("body")
    ax.legend(loc="lower right")
    return ax


def plot_outcomes(proposals: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Outcome shares by proposal type (all replications pooled)."""
    ax = axes_or_new(ax)
    shares = pd.crosstab(proposals["type"], proposals["outcome"], normalize="index")
    shares = shares.reindex(columns=[o for o in OUTCOME_COLOURS if o in shares.columns])
    left = np.zeros(len(shares))
    for o in shares.columns:
        ax.barh(
            [type_name(t) for t in shares.index],
            shares[o],
            left=left,
            color=OUTCOME_COLOURS[o],
            label=outcome_name(o),
        )
        left += shares[o].to_numpy()
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_title("Outcomes by proposal type")
    ax.set_xlabel("share of proposals")
    ax.set_ylabel("proposal type")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncols=3)
    return ax


def plot_member_states(metrics: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Objections, blocking votes and abstentions per member state (mean per replication)."""
    ax = axes_or_new(ax, (9.0, 4.8))
    wanted = list(MEMBER_METRICS)
    m = metrics[metrics["metric"].isin(wanted)]
    table = (
        m.groupby(["group", "metric"])["value"]
        .mean()
        .unstack("metric")
        .reindex(columns=wanted)
        .fillna(0.0)
    )
    table = table.sort_values("objections", ascending=False)
    x = np.arange(len(table))
    width = 0.28
    colours = ["#1c7ed6", "#c92a2a", "#adb5bd"]
    names = {
        "objections": "objections",
        "blocking_votes": "votes against (one round)",
        "abstentions": "abstentions",
    }
    for i, (col, colour) in enumerate(zip(wanted, colours, strict=True)):
        ax.bar(x + (i - 1) * width, table[col], width, color=colour, label=names[col])
    ax.set_xticks(x, table.index, rotation=90)
    ax.set_title("Objections and blocks by member state")
    ax.set_xlabel("member state")
    ax.set_ylabel("count per replication (mean)")
    ax.legend(loc="upper right")
    return ax


def _recess_spans(recesses: list[Recess], start: dt.date, horizon: float) -> list[tuple]:
    spans = []
    for year in range(start.year - 1, start.year + int(horizon // 365) + 2):
        for r in recesses:
            s = dt.date(year, int(r.start[:2]), int(r.start[3:]))
            e_year = year if r.end >= r.start else year + 1
            e = dt.date(e_year, int(r.end[:2]), int(r.end[3:])) + dt.timedelta(days=1)
            spans.append((s, e))
    end = start + dt.timedelta(days=horizon)
    return [(max(s, start), min(e, end)) for s, e in spans if e > start and s < end]


def plot_backlog(
    proposals: pd.DataFrame,
    start: dt.date,
    horizon_days: float,
    recesses: list[Recess],
    ax: Axes | None = None,
) -> Axes:
    """Proposals open (tabled, not yet decided) over time, mean across replications, with the
    recesses shaded."""
    ax = axes_or_new(ax)
    grid = np.arange(0.0, horizon_days, 1.0)
    arrival = proposals["arrival_day"].to_numpy()
    end = proposals["decided_day"].fillna(np.inf).to_numpy()
    n_reps = max(1, proposals["replication"].nunique()) if "replication" in proposals else 1
    opened = np.searchsorted(np.sort(arrival), grid, side="right")
    closed = np.searchsorted(np.sort(end), grid, side="right")
    dates = mdates.date2num([start + dt.timedelta(days=float(d)) for d in grid])
    ax.plot(dates, (opened - closed) / n_reps, color="#1c7ed6", label="open proposals")
    for i, (s, e) in enumerate(_recess_spans(recesses, start, horizon_days)):
        ax.axvspan(s, e, color="#adb5bd", alpha=0.3, lw=0, label="recess" if i == 0 else None)
    # whole months, at most about eight labels (a short run would repeat a month's name)
    ax.xaxis.set_major_locator(mdates.MonthLocator(interval=max(1, math.ceil(horizon_days / 240))))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
    ax.set_title("Backlog over time")
    ax.set_xlabel("date")
    ax.set_ylabel("open proposals (mean over replications)")
    ax.legend(loc="upper left")
    return ax


def plot_swimlane(
    stages: pd.DataFrame,
    meetings: pd.DataFrame,
    start: dt.date,
    ax: Axes | None = None,
    proposals: list[int] | None = None,
    labels: Mapping[int, str] | None = None,
    replication: int | None = None,
) -> Axes:
    """A few proposals of one replication through the bodies, in real dates: one lane each
    (labelled by ``labels``, e.g. type and outcome), one bar per body visit in the body's fixed
    colour, with that body's meetings marked as ticks. ``replication`` is required when the
    tables hold several (a proposal id names a different proposal in each)."""
    stages, meetings = _one_replication(stages, meetings, replication)
    ax = axes_or_new(ax, (10.0, 4.8))
    if proposals is None:
        counts = stages.groupby("proposal_id").size()
        proposals = list(counts.sort_values(ascending=False).index[:6])
    meet = {str(b): g["time_day"].to_numpy() for b, g in meetings.groupby("body", observed=True)}
    origin = dt.datetime.combine(start, dt.time())

    def to_date(day: float) -> float:
        return float(mdates.date2num(origin + dt.timedelta(days=day)))

    used: set[str] = set()
    for lane, pid in enumerate(proposals):
        visits = stages[stages["proposal_id"] == pid]
        for v in visits.itertuples():
            b = str(v.body)
            x0, x1 = to_date(v.entered_day), to_date(v.left_day)
            ax.broken_barh(
                [(x0, max(x1 - x0, 0.3))],
                (lane - 0.3, 0.6),
                color=body_colour(b),
                label=None if b in used else body_name(b),
            )
            used.add(b)
            ticks = meet.get(b, np.array([]))
            ticks = ticks[(ticks >= v.entered_day) & (ticks <= v.left_day)]
            ax.vlines([to_date(t) for t in ticks], lane - 0.38, lane + 0.38, color="black", lw=0.8)
    names = [(labels or {}).get(p, f"proposal {p}") for p in proposals]
    ax.set_yticks(range(len(proposals)), names, fontsize=9)
    ax.invert_yaxis()
    ax.xaxis_date()
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
    ax.set_title("Sample proposals through the bodies (ticks: meetings)")
    ax.set_xlabel("date")
    ax.set_ylabel("proposal")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncols=min(5, len(used)), fontsize=9)
    return ax


# --- comparison figures ------------------------------------------------------------------------


def plot_adoption_overlay(
    runs: Mapping[str, pd.DataFrame], proposal_type: str | None, ax: Axes | None = None
) -> Axes:
    """Share adopted by day since tabling for several scenarios (Kaplan–Meier), one type or
    all."""
    ax = axes_or_new(ax)
    for i, (name, p) in enumerate(runs.items()):
        sel = p if proposal_type is None else p[p["type"].astype(str) == proposal_type]
        if not len(sel):
            continue
        x, y = _adoption_curve(sel)
        ax.step(
            x,
            y,
            where="post",
            label=name,
            color=SCENARIO_COLOURS[i % len(SCENARIO_COLOURS)],
        )
    what = type_name(proposal_type) if proposal_type else "all proposals"
    ax.set_title(f"Time to adoption: {what}")
    ax.set_xlabel("days since tabled")
    ax.set_ylabel("share adopted")
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    ax.legend(loc="lower right")
    return ax


def plot_forest(
    differences: pd.DataFrame, labels: Mapping[str, str], ax: Axes | None = None
) -> Axes:
    """Paired differences (scenario − reference) with 95% CIs, one row per metric/comparison."""
    ax = axes_or_new(ax, (8.0, 0.5 + 0.35 * max(3, len(differences))))
    y = np.arange(len(differences))
    d = differences["difference"].to_numpy(float)
    lo = differences["ci_low"].to_numpy(float)
    hi = differences["ci_high"].to_numpy(float)
    err = np.vstack([np.nan_to_num(d - lo), np.nan_to_num(hi - d)])
    ax.errorbar(d, y, xerr=err, fmt="o", color="#1c7ed6", ecolor="#495057", capsize=3)
    ax.axvline(0, color="black", lw=0.8)
    several = differences["comparison"].nunique() > 1
    names = [
        f"{labels.get(m, _label(m))} — {c}" if several else labels.get(m, _label(m))
        for m, c in zip(differences["metric"], differences["comparison"], strict=True)
    ]
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    title = "Differences from the reference (paired, 95% CI)"
    if not several and len(differences):
        title += f"\n{differences['comparison'].iloc[0]}"
    ax.set_title(title)
    ax.set_xlabel("difference (scenario − reference), in the metric's units")
    return ax


def plot_outcome_shares(runs: Mapping[str, pd.DataFrame], ax: Axes | None = None) -> Axes:
    """Outcome shares of all proposals, scenarios side by side."""
    ax = axes_or_new(ax)
    rows = {name: p["outcome"].astype(str).value_counts(normalize=True) for name, p in runs.items()}
    table = pd.DataFrame(rows).T.reindex(columns=list(OUTCOME_COLOURS)).fillna(0.0)
    bottom = np.zeros(len(table))
    for o in table.columns:
        if table[o].sum() == 0:
            continue
        ax.bar(
            table.index, table[o], bottom=bottom, color=OUTCOME_COLOURS[o], label=outcome_name(o)
        )
        bottom += table[o].to_numpy()
    ax.set_ylim(0, 1)
    ax.set_title("Outcomes by scenario")
    ax.set_xlabel("scenario")
    ax.set_ylabel("share of proposals")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return ax
