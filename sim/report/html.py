"""Figures and the self-contained HTML report of a run, drawn from its saved files alone.

:func:`write_run_figures` and :func:`write_run_report` read a run (an
:class:`~sim.experiment.results.Experiment`: its Parquet tables, summary, scenario and
manifest, as opened by :func:`~sim.experiment.results.open_results` or just written) and write
``figures/*.png|svg`` and ``report.html`` into its folder;
the report embeds its images as base64, so it opens anywhere with no network. The same holds for
a comparison (:mod:`sim.report.comparison`).
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from sim.analysis.stats import few_replications
from sim.experiment.engines import IN_PROCESS, Helpers
from sim.experiment.results import Experiment, read_table, write_text_atomic
from sim.report import plots
from sim.report.answer import per_type_run, report_spec, run_answer, run_metrics
from sim.report.names import body_name, chair_name, metric_name, outcome_name, type_name
from sim.scenario import PoissonArrivals, Scenario
from sim.scenario.proposals import WorkaroundSpec

FIGURE_METRICS = ("visits", *plots.SPLIT_COLOURS, *plots.MEMBER_METRICS)
"""The metrics the run's figures draw."""


@dataclass(frozen=True)
class FigureSpec:
    """A standard figure: file stem, drawing function and a one-line reading aid; with
    ``layout`` (keyword arguments of ``Figure.subplots``) ``draw`` gets the array of axes."""

    stem: str
    draw: Callable[[Any], Any]
    caption: str
    layout: dict[str, Any] | None = None


def save_figure(fig: Figure, folder: Path, stem: str) -> str:
    """Save ``fig`` as PNG and SVG in ``folder``; returns the SVG as a ``data:`` URI, for
    embedding in HTML (sharp at any zoom): drawn once for the file and the page."""
    folder.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with plots.style():  # includes a fixed svg.hashsalt: stable SVG element ids
        fig.savefig(folder / f"{stem}.png", dpi=110, bbox_inches="tight")
        # no creation date in the SVG, so the same run gives the same files
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    (folder / f"{stem}.svg").write_bytes(buf.getvalue())
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _draw(spec: FigureSpec, size: tuple[float, float]) -> Figure:
    with plots.style():
        fig = Figure(figsize=size)
        spec.draw(fig.subplots(**spec.layout) if spec.layout else fig.subplots())
        fig.tight_layout()
    return fig


def run_figure_specs(exp: Experiment) -> list[FigureSpec]:
    """The standard figures of the run ``exp``, reading only the tables each needs."""
    folder, scenario = exp.path, exp.scenario
    columns = ["replication", "proposal_id", "type", "outcome", "arrival_day", "decided_day"]
    proposals = read_table(folder, "proposals", [*columns, "duration_days"])
    metrics = read_table(folder, "metrics", where=("metric", FIGURE_METRICS))
    rep0 = [("replication", "==", 0)]
    stages = pd.read_parquet(folder / "stages.parquet", filters=rep0)
    meetings = pd.read_parquet(folder / "meetings.parquet", filters=rep0)
    start, horizon = scenario.start_date, scenario.horizon_days
    sample = _swimlane_sample(stages)
    first = proposals[proposals["replication"] == 0].set_index("proposal_id")
    lanes = {
        int(p): f"{plots.human(first.at[p, 'type'])} #{p}: {outcome_name(first.at[p, 'outcome'])}"
        for p in sample
        if p in first.index
    }
    visits = metrics[metrics["metric"] == "visits"].groupby("group", observed=True)["value"].sum()
    visited = set(visits[visits > 0].index.astype(str))
    top = scenario.escalation_body if scenario.escalation_body in visited else None
    ladder = [b for b in scenario.bodies if b != top and b in visited] + ["written_procedure"]
    names = _short_names(scenario)

    def time_split(axes: Any) -> None:
        plots.plot_time_split(metrics, axes[0] if top else axes, ladder, names)
        if top:
            plots.plot_time_split(metrics, axes[1], [top], names)
            axes[1].set_title(f"… and at the top ({top}), on its own scale: rarely reached")
            axes[1].get_legend().remove()
            axes[0].set_xlabel("")

    return [
        FigureSpec(
            "time_to_adoption",
            lambda ax: plots.plot_time_to_adoption(proposals, ax),
            "Read across: the share of each type adopted within a given number of days "
            "(Kaplan–Meier; log day axis). Blocked, lapsed and withdrawn proposals, and "
            "declarations the High Representative issued instead, are never adopted, so they "
            "keep a curve below 100%; proposals still pending at the horizon are censored (they "
            "count only while observed), so they do not pull a curve down.",
        ),
        FigureSpec(
            "time_split",
            time_split,
            "Each bar is an average visit to a body, with how many visits a run makes: blue is "
            "waiting for its next meeting, yellow for capitals' instructions, orange "
            "negotiating. The European Council, rarely reached, has its own panel and scale.",
            {"nrows": 2, "height_ratios": [max(3, len(ladder)), 1.4]} if top else None,
        ),
        FigureSpec(
            "outcomes",
            lambda ax: plots.plot_outcomes(proposals, ax),
            "How proposals of each type end; pending ones are still open at the horizon. A "
            "declaration one state blocked that the High Representative issued all the same is "
            "counted apart, not as adopted.",
        ),
        FigureSpec(
            "member_states",
            lambda ax: plots.plot_member_states(metrics, ax),
            "Who objects, who votes against a text in a round and who abstains instead, per "
            "replication. A vote against stops one round, not the proposal: most texts meet "
            "several before a compromise, so many votes against go with a block rate near "
            "zero (the block rate counts proposals that failed for good).",
        ),
        FigureSpec(
            "backlog",
            lambda ax: plots.plot_backlog(proposals, start, horizon, scenario.recesses, ax),
            "Open proposals on a given day; grey bands are recesses, when the backlog builds up.",
        ),
        FigureSpec(
            "swimlane",
            lambda ax: plots.plot_swimlane(stages, meetings, start, ax, sample, lanes),
            "A few proposals of replication 0 in real dates, with their type and how they "
            "ended: bars are the time spent at each body (one colour per body in every "
            "figure), ticks that body's meetings.",
        ),
    ]


def _short_names(scenario: Scenario) -> dict[str, str]:
    """Body labels: the same human names as in every other figure."""
    return {b: body_name(b) for b in [*scenario.bodies, "written_procedure"]}


def _swimlane_sample(stages: pd.DataFrame, n: int = 6) -> list[int]:
    """The proposals with the most body visits, one of each type first, for variety."""
    visits = stages.groupby(["proposal_id", "type"], observed=True).size().reset_index(name="n")
    visits = visits.sort_values(["n", "proposal_id"], ascending=[False, True])
    first = visits.drop_duplicates("type")["proposal_id"].tolist()
    rest = [p for p in visits["proposal_id"] if p not in first]
    return sorted((first + rest)[:n])


SIZES = {"member_states": (10.0, 4.8), "swimlane": (10.0, 4.8), "time_split": (9.0, 7.0)}


Rendered = tuple[str, str, str]
"""A drawn figure: file stem, one-line reading aid, the image as a ``data:`` URI (SVG)."""


RUN_FIGURES = ("time_to_adoption", "time_split", "outcomes", "member_states", "backlog", "swimlane")
"""The run's figures (:func:`run_figure_specs`), in the report's order."""

_COSTLIEST_FIRST = ("swimlane", "time_to_adoption", "time_split", "outcomes", "member_states")
"""The run's figures by the time they take to draw (measured; the rest after them)."""


def _draw_run_figures(task: tuple[Experiment, tuple[str, ...]]) -> list[Rendered]:
    """Draw the figures ``stems`` of a run into its folder (a task for a worker process)."""
    exp, stems = task
    out = []
    for spec in run_figure_specs(exp):
        if spec.stem in stems:
            fig = _draw(spec, SIZES.get(spec.stem, plots.STYLE["figure.figsize"]))
            out.append((spec.stem, spec.caption, save_figure(fig, exp.path / "figures", spec.stem)))
    return out


def _drawing(exp: Experiment, helpers: Helpers) -> Iterator[list[Rendered]]:
    """The run's standard figures shared out among the ``helpers`` processes (costliest first,
    dealt to and fro), each share's figures as they come; a pool starts drawing at once."""
    order = [*_COSTLIEST_FIRST, *(f for f in RUN_FIGURES if f not in _COSTLIEST_FIRST)]
    shares: list[list[str]] = [[] for _ in range(min(helpers.processes, len(order)))]
    for i, stem in enumerate(order):
        turn, k = divmod(i, len(shares))
        shares[k if turn % 2 == 0 else len(shares) - 1 - k].append(stem)
    return iter(helpers.map(_draw_run_figures, [(exp, tuple(s)) for s in shares]))


def _in_order(shares: Iterable[list[Rendered]]) -> list[Rendered]:
    drawn = {figure[0]: figure for share in shares for figure in share}
    return [drawn[stem] for stem in RUN_FIGURES]


def write_run_figures(exp: Experiment, helpers: Helpers = IN_PROCESS) -> list[Rendered]:
    """Draw the run's standard figures into its folder's ``figures/`` (on the ``helpers``
    processes); in the report's order."""
    return _in_order(_drawing(exp, helpers))


# --- HTML -------------------------------------------------------------------------------------

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:980px;margin:2em auto;
padding:0 1em;color:#212529;line-height:1.45}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #dee2e6}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #dee2e6;padding:.25em .6em;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:1.2em 0}figure img{max-width:100%}figcaption{color:#495057;font-size:.9em}
.meta{color:#495057;font-size:.9em}
.warning{background:#fff3bf;border-left:4px solid #f08c00;padding:.4em .8em}
"""


def html_table(frame: pd.DataFrame) -> str:
    """A DataFrame as a plain HTML table (numbers right-aligned)."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for _, r in frame.iterrows():
        cells = []
        for v in r:
            cls = ' class="num"' if isinstance(v, int | float) else ""
            cells.append(f"<td{cls}>{html.escape(_fmt(v))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return "–" if v != v else f"{v:.3g}"
    return str(v)


def figures_html(figures: Iterable[Rendered]) -> str:
    """Embedded figures with their captions."""
    return "".join(
        f'<figure><img alt="{html.escape(stem)}" src="{uri}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        for stem, caption, uri in figures
    )


def glossary_html() -> str:
    """The reports' glossary: every term in one sentence."""
    from sim.report.names import GLOSSARY

    items = "".join(
        f"<dt>{html.escape(term)}</dt><dd>{html.escape(text)}</dd>"
        for term, text in GLOSSARY.items()
    )
    return f"<h2>Glossary</h2><dl>{items}</dl>"


def page(title: str, body: str) -> str:
    """A complete, self-contained HTML page."""
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head>"
        f"<body>{body}</body></html>\n"
    )


def scenario_tables(s: Scenario) -> str:
    """The scenario as readable tables: bodies and proposal types."""
    n = len(s.resolved_members())
    bodies = pd.DataFrame(
        [
            {
                "body": body_name(bid),
                "name in the scenario": b.name,
                "level": b.level.value.replace("_", " "),
                "chair": chair_name(b.chair.value),
                "meets": _calendar_text(b.calendar),
                "items per meeting": s.meeting_capacity(b, n),
                "rounds before escalation": b.max_rounds,
            }
            for bid, b in s.bodies.items()
        ]
    )
    types = pd.DataFrame(
        [
            {
                "type": type_name(tid),
                "arrivals": (
                    f"{t.arrivals.rate_per_year:g} a year"
                    if isinstance(t.arrivals, PoissonArrivals)
                    else f"{t.arrivals.count} due on {', '.join(t.arrivals.deadlines)}"
                ),
                "route": " → ".join(body_name(b) for b in t.route),
                "rule": t.rule.replace("_", " "),
                "written procedure": "yes" if t.written_procedure else "no",
            }
            for tid, t in s.proposal_types.items()
        ]
    )
    if any(t.workaround is not None for t in s.proposal_types.values()):
        types["if blocked"] = [_workaround_text(t.workaround) for t in s.proposal_types.values()]
    return f"<h3>Bodies</h3>{html_table(bodies)}<h3>Proposal types</h3>{html_table(types)}"


def _workaround_text(w: WorkaroundSpec | None) -> str:
    """A type's workaround in words (an empty cell for a type without one)."""
    if w is None:
        return ""
    who = "one state" if w.max_objectors == 1 else f"up to {w.max_objectors} states"
    return f"over {who}, issued by the High Representative {100 * w.probability:g}% of the time"


def _calendar_text(c: object) -> str:
    from sim.core.calendars import CalendarSpec

    assert isinstance(c, CalendarSpec)
    parts = []
    if c.weekdays:
        every = "" if c.every_weeks == 1 else f" every {c.every_weeks} weeks"
        parts.append(", ".join(w.value for w in c.weekdays) + every)
    parts += [f"{m.nth if m.nth > 0 else 'last'} {m.weekday.value} of the month" for m in c.monthly]
    if c.months:
        parts.append("in months " + ", ".join(map(str, c.months)))
    if c.dates:
        parts.append(f"{len(c.dates)} set dates")
    return "; ".join(parts)


def headline_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Headline metrics with 95% intervals, in plain language (shares in percent)."""
    from sim.analysis.metrics import HEADLINE, fmt_interval, fmt_value

    s = summary[(summary["group"] == "all") & summary["metric"].isin(list(HEADLINE))]
    s = s.set_index("metric").reindex([m for m in HEADLINE if m in set(s["metric"])])
    return pd.DataFrame(
        {
            "metric": [metric_name(m) for m in s.index],
            "mean": [fmt_value(m, v) for m, v in s["mean"].items()],
            "95% interval": [
                fmt_interval(m, lo, hi)
                for m, lo, hi in zip(s.index, s["ci_low"], s["ci_high"], strict=True)
            ],
            "replications": s["n"].astype(int).to_numpy(),
        }
    )


def _warmup(s: Scenario) -> str:
    """The warm-up, if any, as the report's run line words it."""
    return f" after a warm-up of {s.warmup_days} days (not counted)" if s.warmup_days else ""


def reproduce_command(manifest: dict[str, Any]) -> str:
    """The command line, run in the results folder, that reproduces the run from its resolved
    scenario and seed.

    >>> reproduce_command({"replications": 50, "seed": 7})
    'cfsp-sim run scenario.toml -n 50 --seed 7 --out reproduced'
    """
    return (
        f"cfsp-sim run scenario.toml -n {manifest['replications']} --seed {manifest['seed']} "
        "--out reproduced"
    )


def write_run_report(
    exp: Experiment, figures: list[Rendered] | Callable[[], list[Rendered]] | None = None
) -> Path:
    """Write ``report.html`` for the run ``exp`` (figures drawn if not given; a function giving
    them is called once the rest of the report is ready)."""
    manifest, scenario, summary = exp.manifest, exp.scenario, exp.summary
    few = few_replications(int(manifest["replications"]))
    warning = f'<p class="warning">Warning: {html.escape(few)}.</p>' if few else ""
    spec = report_spec(scenario)
    metrics = run_metrics(exp.path, spec)
    question = spec.question or (
        "How long do CFSP proposals take from tabling to adoption, where does the time go, how "
        "often are they blocked and by whom — in this scenario?"
    )
    answer = run_answer(metrics, spec, int(manifest["replications"]))
    by_type = html_table(per_type_run(metrics, spec))
    if figures is None:
        figures = write_run_figures(exp)
    elif callable(figures):
        figures = figures()
    body = (
        "<h1>How EU foreign-policy decisions move</h1>"
        f"<p><b>Scenario:</b> {html.escape(scenario.description)} "
        f"(<code>{html.escape(scenario.name)}</code>)</p>"
        f"<p>The question: <i>{html.escape(question)}</i></p>"
        f'<p class="answer"><b>{html.escape(answer)}</b></p>'
        f'<p class="meta">{manifest["replications"]} replications of '
        f"{scenario.horizon_days:g} days from {scenario.start_date}{_warmup(scenario)}, "
        f"seed {manifest['seed']}; "
        f"{len(scenario.resolved_members())} member states; cfsp-sim "
        f"{manifest['versions']['cfsp-sim']}; scenario sha256 "
        f"{manifest['scenario_sha256'][:12]}…</p>"
        f'<p class="meta">Reproduce it from this folder: '
        f"<code>{html.escape(reproduce_command(manifest))}</code></p>"
        f"{warning}"
        f"<h2>Headline results</h2>{html_table(headline_table(summary))}"
        "<p>Means across replications with 95% percentile-bootstrap intervals of the mean; "
        "each replication is one independent run of the whole period. Shares are in percent "
        "of all proposals tabled.</p>"
        "<h2>By proposal type</h2><p>Means across replications [95% interval]: the share "
        "adopted and lapsed (%; where the High Representative issued blocked declarations, "
        "those too), days to adopt (median, 90th percentile), events counted per "
        f"replication.</p>{by_type}"
        f"<h2>Figures</h2>{figures_html(figures)}"
        f"<h2>The scenario</h2>{scenario_tables(scenario)}{glossary_html()}"
    )
    path = exp.path / "report.html"
    write_text_atomic(path, page(f"cfsp-sim report: {scenario.name}", body))
    return path


def figures_and_report(exp: Experiment, helpers: Helpers = IN_PROCESS) -> Path:
    """Everything ``cfsp-sim plot`` regenerates for a run: figures and report (on a pool of
    ``helpers``, the figures are drawn while this process writes the rest of the report)."""
    drawing = _drawing(exp, helpers)
    return write_run_report(exp, lambda: _in_order(drawing))
