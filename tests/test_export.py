"""Process-mining exports read back by pm4py: XES, OCEL 2.0 and CSV of a real run."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.experiment.runner import ExperimentOptions, run_experiment
from sim.report.export import mining_log
from sim.scenario import load_scenario

from .conftest import ROOT

pytestmark = pytest.mark.slow

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    pm4py = pytest.importorskip("pm4py")

ROUTE = ["COEST", "RELEX", "PSC", "COREPER", "FAC"]  # the baseline's sanctions route


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("export") / "base"
    s = load_scenario("eu27_baseline")
    assert list(s.proposal_types["sanctions_package"].route) == ROUTE
    options = ExperimentOptions(progress=False)
    return run_experiment(s, folder, replications=3, seed=11, options=options).path


def _export(run: Path, fmt: str, out: Path, *extra: str) -> Path:
    assert main(["export", str(run), "--format", fmt, "--out", str(out), *extra]) == 0
    return out


def test_xes_reads_back_with_bodies_lifecycle_resources_and_case_attributes(
    run: Path, tmp_path: Path
) -> None:
    log = pm4py.read_xes(str(_export(run, "xes", tmp_path / "log.xes", "--replications", "all")))
    names = set(log["concept:name"])
    assert {"PSC:tabled", "COREPER:agreed", "PSC", "submitted", "adopted"} <= names
    assert not names & {"tabled", "agreed", "reservation", "objection"}  # always body-qualified
    assert set(log["lifecycle:transition"]) == {"start", "complete"}
    assert {"PSC", "COREPER", "FAC"} <= set(log["org:resource"].dropna())
    assert str(log["time:timestamp"].dt.tz) == "UTC"  # read as time-zone aware
    for col in ("case:type", "case:outcome", "case:urgent", "case:replication"):
        assert log[col].notna().all(), col
    assert set(log["case:replication"]) == {0, 1, 2}
    proposals = pd.read_parquet(run / "proposals.parquet")
    assert log["case:concept:name"].nunique() == len(proposals)


def test_sanctions_packages_follow_their_route_in_the_directly_follows_graph(
    run: Path, tmp_path: Path
) -> None:
    log = pm4py.read_xes(str(_export(run, "xes", tmp_path / "log.xes", "--replications", "all")))
    visits = log[
        (log["case:type"] == "sanctions_package")
        & (log["lifecycle:transition"] == "complete")
        & log["concept:name"].isin([*ROUTE, "written_procedure"])
    ]
    dfg, start, _ = pm4py.discover_dfg(visits)
    # the geographic working party may be skipped, and a crisis package goes straight to Coreper
    assert set(start) <= {"COEST", "RELEX", "COREPER"}
    for a, b in dfg:  # along the route, possibly skipping a body, never back
        if a in ROUTE and b in ROUTE:
            assert ROUTE.index(b) > ROUTE.index(a), (a, b)
    assert {("RELEX", "COREPER"), ("COREPER", "written_procedure")} <= set(dfg)


def test_same_moment_events_keep_their_order(run: Path) -> None:
    log, _ = mining_log(run, [0, 1, 2])  # every replication, by default
    for _, case in log.groupby("case", sort=False):
        names = case["activity"].tolist()
        assert names[0] == "submitted"
        started = [n for n, lc in zip(names, case["lifecycle"], strict=True) if lc == "start"]
        completed = [
            n
            for n, lc in zip(names, case["lifecycle"], strict=True)
            if lc == "complete" and n in started
        ]
        assert completed == started[: len(completed)]  # visits close in the order they open
        assert case["time_day"].is_monotonic_increasing


def test_member_events_fold_unless_asked(run: Path) -> None:
    folded, _ = mining_log(run, [0])
    per_state, _ = mining_log(run, [0], member_events=True)
    objections = folded[folded["activity"].str.endswith(":objection")]
    assert objections["count"].sum() == per_state["activity"].str.endswith(":objection").sum()
    assert (objections["count"] >= 1).all()
    one = per_state[per_state["activity"].str.endswith(":reservation")]
    assert (one["resource"] == one["states"]).all()  # the member state is the resource


def test_ocel_reads_back_with_proposals_bodies_and_member_states(run: Path, tmp_path: Path) -> None:
    ocel = pm4py.read_ocel2_json(str(_export(run, "ocel", tmp_path / "log.jsonocel")))
    types = ocel.objects["ocel:type"].value_counts()
    assert set(types.index) == {"proposal", "body", "member state"}
    assert types["member state"] == 27
    proposals = pd.read_parquet(run / "proposals.parquet")  # every replication, by default
    assert types["proposal"] == len(proposals)
    assert "PSC:start" in set(ocel.events["ocel:activity"])
    objections = ocel.relations[ocel.relations["ocel:activity"].str.endswith(":objection")]
    assert (objections["ocel:type"] == "member state").any()


def test_a_statement_issued_by_the_high_representative_ends_its_case(
    run: Path, tmp_path: Path
) -> None:
    """The baseline's blocked statements issued by the HR instead (ST01-ST03): their own
    outcome, ending the case without a body in XES and OCEL alike."""
    log = pm4py.read_xes(str(_export(run, "xes", tmp_path / "log.xes")))
    issued = log[log["case:outcome"] == "issued_by_hr"]
    assert issued["case:concept:name"].nunique() > 0
    assert set(issued["case:type"]) == {"eu_statement"}
    last = issued.groupby("case:concept:name", sort=False)["concept:name"].last()
    assert set(last) == {"issued_by_hr"}
    ocel = pm4py.read_ocel2_json(str(_export(run, "ocel", tmp_path / "log.jsonocel")))
    ends = ocel.events[ocel.events["ocel:activity"] == "issued_by_hr"]
    assert len(ends) == issued["case:concept:name"].nunique()


def test_csv_has_the_same_events(run: Path, tmp_path: Path) -> None:
    csv = pd.read_csv(_export(run, "csv", tmp_path / "log.csv"))
    log, _ = mining_log(run, [0, 1, 2])  # every replication, by default
    assert len(csv) == len(log)
    assert {"case:concept:name", "concept:name", "time:timestamp", "case:type"} <= set(csv)


def test_bad_replications_is_bad_input(run: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "x.xes"
    assert main(["export", str(run), "--replications", "7", "--out", str(out)]) == 2
    assert "replications 0-2" in capsys.readouterr().err
    assert not out.exists()


def test_export_takes_every_replication_by_default(run: Path, tmp_path: Path, capsys) -> None:
    log = pm4py.read_xes(str(_export(run, "xes", tmp_path / "all.xes")))
    assert set(log["case:replication"]) == {0, 1, 2}
    assert "(3 of 3 replications)" in capsys.readouterr().out


RECIPE = re.compile(r"```python\n(# recipe: (\w+)\n.*?)```", re.S)
HOW_TO = ROOT / "docs" / "how-to" / "process-mining.md"


@pytest.mark.parametrize("fmt", ["xes", "ocel"])
def test_the_how_tos_pm4py_recipe_gives_a_readable_ladder(
    run: Path, tmp_path: Path, fmt: str
) -> None:
    """The how-to's recipe, run as written on a fresh export: the inductive miner's model of
    the adopted sanctions packages is the ladder (working parties, PSC, Coreper, written
    procedure), in a handful of tasks."""
    recipes = {kind: code for code, kind in RECIPE.findall(HOW_TO.read_text(encoding="utf-8"))}
    suffix = {"xes": ".xes", "ocel": ".jsonocel"}[fmt]
    out = _export(run, fmt, tmp_path / f"log{suffix}")
    code = recipes[fmt].replace(f"results/eu27_baseline{suffix}", str(out))
    assert str(out) in code
    scope: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(code, f"{HOW_TO.name}:{fmt}", "exec"), scope)
    tasks = scope["tasks"]
    assert {"COREPER", "written_procedure"} <= set(tasks), tasks
    assert set(tasks) & {"COEST", "RELEX", "PSC"}, tasks
    assert len(tasks) <= 10, tasks  # readable: no spaghetti of every rare path
