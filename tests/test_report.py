"""Figures, report and comparison: labelled axes, self-contained HTML, known differences."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import pytest

import sim
from sim.analysis.stats import REFERENCE_MIX
from sim.cli import main
from sim.core.errors import UserError
from sim.experiment.results import Experiment, open_results
from sim.experiment.runner import run_experiment
from sim.experiment.study import ExperimentOptions
from sim.report import mechanisms, plots
from sim.report.answer import count_metrics, counted_tables
from sim.report.attach import with_reports
from sim.report.comparison import compare_runs, comparison_table, decompose
from sim.report.html import RUN_FIGURES, run_figure_specs
from sim.report.prose import signed
from sim.scenario import load_scenario

from .conftest import BASELINE, DATA

HOLDERS = ("states.HU", "states.AT", "states.EL")
QUIET = ExperimentOptions(progress=False)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("runs")
    base = load_scenario(BASELINE)
    # a known difference: no state holds anything hostage, and capitals instruct at once
    fast = load_scenario(
        BASELINE,
        [
            'member_defaults.instruction_delay={dist="fixed", value=0}',
            *(f"member_{w}.holdout_probability=0" for w in ("defaults", *HOLDERS)),
        ],
    )
    out = {}
    for name, s in (("base", base), ("base_again", base), ("fast", fast)):
        out[name] = run_experiment(s, root / name, replications=4, seed=8, options=QUIET).path
    out["other_seed"] = run_experiment(
        base, root / "other_seed", replications=4, seed=9, options=QUIET
    ).path
    return out


def test_each_figure_has_title_labels_and_legend(runs) -> None:
    for spec in run_figure_specs(open_results(runs["base"])):
        fig = plt.figure()
        axes = fig.subplots(**spec.layout) if spec.layout else fig.subplots()
        spec.draw(axes)
        panels = list(axes) if spec.layout else [axes]
        for ax in panels:
            assert ax.get_title(), spec.stem
            assert ax.get_ylabel(), spec.stem
        assert panels[-1].get_xlabel(), spec.stem
        assert panels[0].get_legend() is not None, spec.stem
        assert spec.caption
        plt.close(fig)


def test_plot_functions_create_axes_when_none_given(runs) -> None:
    p = Experiment.open(runs["base"]).proposals
    ax = plots.plot_outcomes(p)
    assert ax.get_title() == "Outcomes by proposal type"
    plt.close("all")


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append(tag)
        for k, v in attrs:
            if k in ("src", "href") and v:
                self.refs.append(v)


def _check_self_contained(path: Path) -> _Refs:
    text = path.read_text()
    assert text.startswith("<!DOCTYPE html>")
    parser = _Refs()
    parser.feed(text)
    parser.close()
    assert parser.refs
    assert all(r.startswith("data:image/svg+xml;base64,") for r in parser.refs)
    assert not re.search(r"https?://", text)
    return parser


def test_plot_rebuilds_figures_and_report_from_files_in_a_fresh_process(runs) -> None:
    folder = runs["base"]
    assert not (folder / "report.html").exists()
    res = subprocess.run(
        [sys.executable, "-m", "sim", "plot", str(folder)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    for spec in run_figure_specs(open_results(folder)):
        assert (folder / "figures" / f"{spec.stem}.png").stat().st_size > 1000
        assert (folder / "figures" / f"{spec.stem}.svg").exists()
    parser = _check_self_contained(folder / "report.html")
    assert parser.tags.count("img") == 6
    assert "table" in parser.tags
    text = (folder / "report.html").read_text()
    assert "cfsp-sim run scenario.toml -n 4 --seed 8 --out reproduced" in text
    assert "Warning: only 4 replications" in text
    assert re.search(r"<td>adopted \(%\)</td><td[^>]*>\d+\.\d%</td>", text)  # a percentage


def test_plot_refuses_a_folder_that_is_not_results(tmp_path, capsys) -> None:
    assert main(["plot", str(tmp_path)]) == 2
    assert "not a results folder" in capsys.readouterr().err


def test_compare_finds_a_known_difference(runs, tmp_path) -> None:
    c = compare_runs([runs["base"], runs["fast"]], tmp_path / "cmp")
    assert c.paired
    row = c.table[(c.table["metric"] == "time_to_adoption_mean") & (c.table["group"] == "all")]
    r = row.iloc[0]
    assert r["difference"] < 0
    assert r["ci_high"] < 0  # faster instructions: a real difference, CI excludes zero
    assert (tmp_path / "cmp" / "comparison.csv").exists()
    for stem in (
        "adoption_overlay",
        "forest_rates",
        "forest_days",
        "forest_by_type",
        "time_shift_by_body",
        "outcome_differences",
    ):
        assert (tmp_path / "cmp" / "figures" / f"{stem}.png").exists()
    _check_self_contained(tmp_path / "cmp" / "report.html")
    text = (tmp_path / "cmp" / "report.html").read_text()
    assert "<h2>By proposal type</h2>" in text
    assert "<td>sanctions package</td>" in text
    assert "] pp</td>" in text  # adoption differences in percentage points
    assert "Warning: only 4 replications" in text
    std = c.table[
        (c.table["metric"] == "time_to_adoption_mean") & (c.table["group"] == REFERENCE_MIX)
    ]
    assert std.iloc[0]["ci_high"] < 0


def test_compare_identical_runs_gives_exactly_zero(runs, tmp_path) -> None:
    c = compare_runs([runs["base"], runs["base_again"]], tmp_path / "same")
    t = c.table.dropna(subset=["difference"])
    assert (t["difference"] == 0).all()
    assert (t["ci_low"].fillna(0) == 0).all()
    assert (t["ci_high"].fillna(0) == 0).all()


def test_compare_says_when_runs_are_not_paired(runs, tmp_path, capsys) -> None:
    out = tmp_path / "unpaired"
    assert main(["compare", str(runs["base"]), str(runs["other_seed"]), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "NOT paired" in printed
    assert "from 4 replications, unpaired" in printed  # the answer does not claim pairs
    assert "warning: only 4 replications" in printed
    table = pd.read_csv(out / "comparison.csv")
    assert (table["n_pairs"] == 0).all()


def test_compare_does_not_pair_runs_over_different_periods(runs, tmp_path) -> None:
    short = run_experiment(
        load_scenario(BASELINE, ["horizon_days=120"]),
        tmp_path / "short",
        replications=4,
        seed=8,
        options=QUIET,
    ).path
    c = compare_runs([runs["base"], short], tmp_path / "periods")
    assert not c.paired
    assert "different periods (120 days from 2025-01-01, 365 days from 2025-01-01)" in c.reason
    assert (c.table["n_pairs"] == 0).all()


def test_compare_rejects_incomplete_input(runs, tmp_path, capsys) -> None:
    assert main(["compare", str(runs["base"]), str(tmp_path), "--out", str(tmp_path / "x")]) == 2
    assert "not a results folder" in capsys.readouterr().err


def test_same_seed_gives_the_same_files_byte_for_byte(tmp_path) -> None:
    """Every file of a run but the manifest (timings, engine) is identical for the same seed,
    whether one process or two ran the replications — figures and report included."""
    tiny = load_scenario(DATA / "tiny.toml")
    folders = []
    for workers in (1, 2):
        exp = run_experiment(
            tiny,
            tmp_path / f"w{workers}",
            replications=3,
            seed=4,
            options=with_reports(ExperimentOptions(workers=workers, progress=False)),
        )
        folders.append(exp.path)
    a, b = folders
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert len([f for f in files if f.suffix == ".svg"]) == 6
    for f in files:
        if f.name != "manifest.json":
            assert (a / f).read_bytes() == (b / f).read_bytes(), f


def test_a_body_keeps_its_colour_whatever_else_is_drawn(runs) -> None:
    from matplotlib.colors import to_hex

    stages = pd.read_parquet(runs["base"] / "stages.parquet", filters=[("replication", "==", 0)])
    meetings = pd.read_parquet(runs["base"] / "meetings.parquet")
    with_psc = stages[stages["body"] == "PSC"]["proposal_id"].unique()
    colours = []
    for sample in ([int(with_psc[0])], [int(p) for p in with_psc[1:4]]):
        fig, ax = plt.subplots()
        plots.plot_swimlane(stages, meetings, dt.date(2025, 1, 1), ax, sample)
        handles = dict(zip(*reversed(ax.get_legend_handles_labels()), strict=True))
        colours.append(to_hex(handles["Political and Security Committee"].get_facecolor()[0]))
        plt.close(fig)
    assert colours[0] == colours[1] == plots.BODY_COLOURS["PSC"]
    assert plots.body_colour("NEWBODY") == plots.body_colour("NEWBODY")  # a stable hash


def test_run_experiment_with_report_draws_figures_and_report(tmp_path) -> None:
    import sim

    exp = sim.run_experiment(
        DATA / "tiny.toml",
        tmp_path / "tiny",
        replications=2,
        seed=1,
        options=sim.ExperimentOptions(progress=False, report=sim.attach_report),
    )
    assert (exp.path / "report.html").is_file()
    assert (exp.path / "figures" / "time_split.svg").is_file()
    assert exp.manifest["scenario_file"] == str(DATA / "tiny.toml")


def test_figures_drawn_on_the_workers_are_those_drawn_in_this_process(tmp_path) -> None:
    """A run's figures are shared out among its worker processes once the replications are
    done: the same files, to the byte, as one process draws."""
    folders = []
    for workers in (1, 2):
        options = ExperimentOptions(workers=workers, progress=False, report=sim.attach_report)
        exp = run_experiment(
            DATA / "tiny.toml", tmp_path / str(workers), replications=20, seed=1, options=options
        )
        assert exp.manifest["engine"] == ("serial" if workers == 1 else "processes:2")
        folders.append(exp.path / "figures")
    assert [s.stem for s in run_figure_specs(open_results(tmp_path / "1"))] == list(RUN_FIGURES)
    names = sorted(p.name for p in folders[0].iterdir())
    assert names == sorted(f"{stem}.{ext}" for stem in RUN_FIGURES for ext in ("png", "svg"))
    for name in names:
        assert (folders[0] / name).read_bytes() == (folders[1] / name).read_bytes(), name


def test_the_console_headline_aligns_its_means_whatever_the_labels(runs) -> None:
    from sim.report.console import headline_lines

    lines = headline_lines(open_results(runs["base"]))
    table = lines[lines.index(next(x for x in lines if x.lstrip().startswith("metric"))) :]
    ends = {len(x.split("  [")[0]) for x in table[1:]}  # where each mean ends
    assert len(table) > 5
    assert ends == {len(table[0].split("  95% CI")[0])}


def test_decompose_splits_a_change_into_its_sources(runs) -> None:
    # two sources: an identical rerun (no effect) and the known difference; together = that
    t = decompose(runs["base"], {"nothing": runs["base_again"], "fast": runs["fast"]}, runs["fast"])
    days = t[t["metric"] == "time_to_adoption_mean"].set_index("component")
    assert days.loc["nothing", "difference"] == 0
    assert days.loc["fast", "difference"] == days.loc["all together", "difference"] < 0
    assert days.loc["interaction", "difference"] == pytest.approx(0, abs=1e-9)
    ax = mechanisms.plot_decomposition(t, "adoption_rate")
    assert "percentage points" in ax.get_xlabel()
    assert ax.get_title()
    plt.close(ax.figure)
    with pytest.raises(UserError, match="one seed"):
        decompose(runs["base"], {"other": runs["other_seed"]}, runs["fast"])


def test_comparison_table_is_what_compare_tabulates(runs, tmp_path) -> None:
    written = compare_runs([runs["base"], runs["fast"]], tmp_path / "cmp").table
    pd.testing.assert_frame_equal(comparison_table([runs["base"], runs["fast"]]), written)


def test_fit_takes_a_one_year_run_without_warning(runs) -> None:
    from sim.experiment.fit import period_warning

    assert period_warning(open_results(runs["base"])) is None  # one-year replications


@pytest.fixture(scope="module")
def qmv_runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("qmv")
    return {
        name: run_experiment(
            load_scenario(name), root / name, replications=6, seed=11, options=QUIET
        ).path
        for name in ("eu27_baseline", "qmv_art31")
    }


def test_compare_leads_with_the_scenarios_answer(qmv_runs, tmp_path, capsys) -> None:
    """`compare eu27_baseline qmv_art31`: the question, a one-sentence answer for sanctions
    packages with its interval, the per-type table with brakes; the CSV has the brake rows."""
    out = tmp_path / "cmp"
    assert main(["compare", str(qmv_runs["eu27_baseline"]), str(qmv_runs["qmv_art31"]),
                 "--out", str(out)]) == 0  # fmt: skip
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("Would QMV speed up sanctions decisions")
    answer = printed[1]
    assert answer.startswith("Against eu27_baseline, qmv_art31 changes the mean days to adopt a "
                             "sanctions package by ")  # fmt: skip
    assert "(95% CI " in answer
    assert "from 6 paired replications" in answer
    table = pd.read_csv(out / "comparison.csv")
    row = table[(table["metric"] == "time_to_adoption_mean")
                & (table["group"] == "sanctions_package")].iloc[0]  # fmt: skip
    assert f"package by {signed(row['difference'])} days (95% CI " in answer  # with its sign
    header = next(line for line in printed if line.strip().startswith("type"))
    for column in ("adopted", "median days", "p90 days", "lapsed", "brakes", "votes"):
        assert column in header
    first = printed[printed.index(header) + 1]
    assert first.strip().startswith("sanctions package")  # focus types first
    brakes = table[table["metric"] == "brakes"]
    types = set(table[table["metric"] == "adoption_rate"]["group"]) - {"all", REFERENCE_MIX}
    assert types <= set(brakes["group"])
    events = Experiment.open(qmv_runs["qmv_art31"]).events
    pulled = (events["activity"] == "emergency_brake").sum()
    assert brakes[brakes["group"] == "all"]["mean_b"].iloc[0] == pytest.approx(pulled / 6)
    html_text = (out / "report.html").read_text()
    assert "Would QMV speed up sanctions decisions" in html_text
    assert "<h2>Glossary</h2>" in html_text
    assert "<th>brakes</th>" in html_text
    assert (out / "figures" / "forest_by_type.png").stat().st_size > 1000


def test_forest_by_type_uses_human_labels_and_focus_order(qmv_runs) -> None:
    from sim.report.answer import per_type_forest, report_spec

    table = comparison_table([qmv_runs["eu27_baseline"], qmv_runs["qmv_art31"]])
    spec = report_spec(load_scenario("qmv_art31"))
    fig = per_type_forest(table, spec, table["comparison"].iloc[0])
    first = fig.axes[0]
    labels = [t.get_text() for t in first.get_yticklabels()]
    assert labels[:2] == ["sanctions package", "sanctions renewal"]
    assert "EPF measure" in labels
    assert first.yaxis_inverted()  # the first focus type on top
    assert [ax.get_xlabel() for ax in fig.axes][-1] == "difference, votes per replication"


def test_run_report_answers_its_question(qmv_runs) -> None:
    from sim.report.html import write_run_report

    exp = open_results(qmv_runs["qmv_art31"])
    text = write_run_report(exp, figures=[]).read_text()
    assert "Would QMV speed up sanctions decisions" in text
    assert "Adopting a sanctions package takes " in text
    assert "brakes of sanctions packages per replication: " in text
    assert "<th>brakes</th>" in text
    assert "<h2>Glossary</h2>" in text


def test_report_table_refuses_an_unknown_focus_type() -> None:
    with pytest.raises(UserError, match="report: focus_types: 'sanction' not among"):
        load_scenario("qmv_art31", ['report.focus_types=["sanction"]'])


def test_swimlane_needs_a_replication_when_the_tables_hold_several(runs) -> None:
    exp = Experiment.open(runs["base"])
    stages, meetings = exp.stages, exp.meetings
    assert stages["replication"].nunique() > 1
    with pytest.raises(ValueError, match="pass replication=N"):
        plots.plot_swimlane(stages, meetings, dt.date(2025, 1, 1), proposals=[3])
    fig, ax = plt.subplots()
    plots.plot_swimlane(stages, meetings, dt.date(2025, 1, 1), ax, [3], replication=1)
    one = stages[(stages["replication"] == 1) & (stages["proposal_id"] == 3)]
    assert sum(len(c.get_paths()) for c in ax.collections if c.get_label() != "") >= 1
    bars = len([p for c in ax.collections for p in c.get_paths()])
    plt.close(fig)
    fig, ax = plt.subplots()
    plots.plot_swimlane(stages, meetings, dt.date(2025, 1, 1), ax, [3], replication=0)
    other = len([p for c in ax.collections for p in c.get_paths()])
    plt.close(fig)
    zero = stages[(stages["replication"] == 0) & (stages["proposal_id"] == 3)]
    assert bars >= len(one)
    if len(zero) != len(one):  # the replication chosen is the one drawn
        assert bars != other


def test_story_of_one_proposal_marks_its_path_and_events(qmv_runs) -> None:
    from sim.report.story import plot_story

    exp = Experiment.open(qmv_runs["qmv_art31"])
    ev = exp.events
    conc = ev[ev["activity"] == "concession"].iloc[0]
    rep, pid = int(conc["replication"]), int(conc["case_id"])
    with pytest.raises(ValueError, match="pass replication=N"):
        plot_story(ev, exp.stages, pid)
    ax = plot_story(ev, exp.stages, pid, rep)
    visited = exp.stages[(exp.stages["replication"] == rep) & (exp.stages["proposal_id"] == pid)]
    from sim.report.names import body_name

    rows = [t.get_text() for t in ax.get_yticklabels()]
    assert [body_name(b) for b in dict.fromkeys(visited["body"].astype(str))] == rows[: len(set(
        visited["body"].astype(str)))]  # fmt: skip
    labels = ax.get_legend_handles_labels()[1]
    assert "concession (end of a hold-out)" in labels
    assert conc["member_state"] in [t.get_text() for t in ax.texts]
    assert f"#{pid} (replication {rep})" in ax.get_title()
    plt.close(ax.figure)


def test_time_to_adoption_has_a_log_day_axis_and_time_split_human_names(runs) -> None:
    exp = Experiment.open(runs["base"])
    ax = plots.plot_time_to_adoption(exp.proposals)
    assert ax.get_xscale() == "log"
    assert "sanctions package" in ax.get_legend_handles_labels()[1]
    ax2 = plots.plot_time_split(exp.metrics)
    labels = [t.get_text().split("\n")[0] for t in ax2.get_yticklabels()]
    assert "Coreper II" in labels
    assert labels.index("Political and Security Committee") < labels.index("Coreper II")
    plt.close("all")


def test_every_outcome_has_a_colour_a_name_a_share_and_a_case_ending() -> None:
    """Each consumer that enumerates outcomes knows every one (``issued_by_hr`` too)."""
    from sim.analysis.metrics import PERCENT, replication_metrics
    from sim.core.outcomes import Outcome
    from sim.engine.logs import TERMINAL
    from sim.report.export import CASE_ACTIVITIES
    from sim.report.names import METRIC_NAMES, OUTCOME_NAMES
    from sim.report.story import MARKS

    outcomes = {o.value for o in Outcome}
    assert set(plots.OUTCOME_COLOURS) == outcomes
    assert set(OUTCOME_NAMES) == outcomes
    ends = {a.name.lower() for a in TERMINAL}
    assert set(CASE_ACTIVITIES) == {"submitted", *ends}
    assert ends - {"pending"} <= set(MARKS)
    proposals = pd.DataFrame(
        {
            "type": pd.Categorical(["t"] * len(outcomes)),
            "outcome": sorted(outcomes),
            "duration_days": 1.0,
            "rounds": 1,
            "escalations": 0,
            "dilution": 0.0,
            "blocking_states": "",
        }
    )
    empty = pd.DataFrame({"body": pd.Categorical([]), "member_state": pd.Categorical([])})
    stages = empty.assign(**{c: [] for c in plots.SPLIT_COLOURS})
    events = empty.assign(activity=pd.Categorical([]), value=[])
    meetings = pd.DataFrame({"body": pd.Categorical([]), "discussed": [], "capacity": []})
    m = replication_metrics(proposals, stages, events, meetings, 365.0)
    shares = m[(m["group"] == "all") & m["metric"].isin(PERCENT)].set_index("metric")["value"]
    rates = ["adoption_rate", "block_rate", "lapse_rate", "withdrawal_rate"]
    rates += ["hr_declaration_rate", "pending_share"]
    assert shares[rates].sum() == pytest.approx(1.0)  # every outcome counted once
    assert shares["hr_declaration_rate"] == pytest.approx(1 / len(outcomes))
    assert "hr_declaration_rate" in METRIC_NAMES


def test_the_scenario_table_says_which_types_the_high_representative_issues_when_blocked() -> None:
    from sim.report.html import scenario_tables

    assert "over one state, issued by the High Representative 67% of the time" in (
        scenario_tables(load_scenario(BASELINE))
    )
    assert "if blocked" not in scenario_tables(load_scenario(DATA / "tiny.toml"))


def test_a_report_reads_only_the_counted_events(runs) -> None:
    """The report counts events (brakes, votes...) from the counted activities alone, not the
    whole log (whose size grows with the replications), and gets the same counts."""
    exp = open_results(runs["base"])
    counts = ["votes", "concessions"]
    events, proposals = counted_tables(exp.path, counts)
    assert list(events.columns) == ["replication", "case_id", "activity"]
    assert set(events["activity"].astype(str)) <= {"vote", "concession"}
    assert 0 < len(events) < len(exp.events)
    assert list(proposals.columns) == ["replication", "proposal_id", "type"]
    whole = count_metrics(exp.events, exp.proposals, counts)
    pd.testing.assert_frame_equal(count_metrics(events, proposals, counts), whole)
    none, _ = counted_tables(exp.path, [])
    assert none.empty
