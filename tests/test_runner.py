"""Experiments: reproducibility, parallel = serial, CRN, the results folder contract."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.experiment.runner import Experiment, ExperimentOptions, run_experiment
from sim.scenario import Scenario, load_scenario

from .conftest import BASELINE, DATA, RESULT_TABLES, ROOT, assert_same_results


def run(scenario: Scenario, out: Path, workers: int = 1, **kw) -> Experiment:
    options = ExperimentOptions(workers=workers, progress=False)
    return run_experiment(scenario, out, options=options, **kw)


def test_results_folder_contract(tiny: Scenario, tmp_path: Path) -> None:
    exp = run(tiny, tmp_path / "r", replications=3, seed=5)
    names = {p.name for p in exp.path.iterdir()}
    assert {"manifest.json", "scenario.toml", "summary.csv"} <= names
    assert {f"{t}.parquet" for t in RESULT_TABLES} <= names
    m = json.loads((exp.path / "manifest.json").read_text())
    assert m["status"] == "complete"
    assert m["seed"] == 5
    assert m["replications"] == 3
    assert m["scenario_sha256"] == load_scenario(exp.path / "scenario.toml").sha256()
    assert {"simpy", "numpy", "pandas", "cfsp-sim"} <= set(m["versions"])
    assert m["wall_seconds"] > 0
    p = exp.proposals
    needed = {
        "replication",
        "proposal_id",
        "type",
        "arrival_day",
        "arrival_time",
        "outcome",
        "decided_day",
        "duration_days",
        "rounds",
        "decided_at",
        "escalations",
        "blocking_states",
        "holding_states",
        "abstaining_states",
        "dilution",
        "deadline_day",
    }
    assert needed <= set(p.columns)
    e = exp.events
    assert {
        "replication",
        "case_id",
        "activity",
        "body",
        "time_day",
        "timestamp",
        "member_state",
        "value",
    } <= set(e.columns)
    assert sorted(p["replication"].unique()) == [0, 1, 2]
    assert not list(tmp_path.glob(".*partial*"))


def test_resolved_scenario_reproduces_the_run(tiny: Scenario, tmp_path: Path) -> None:
    first = run(tiny, tmp_path / "a", replications=2, seed=9)
    again = load_scenario(first.path / "scenario.toml")
    second = run(again, tmp_path / "b")  # seed and replications come from the file
    assert_same_results(first.path, second.path)


def test_same_seed_identical_files_and_workers_do_not_matter(baseline: Scenario, tmp_path) -> None:
    a = run(baseline, tmp_path / "a", replications=4, seed=3, workers=1)
    b = run(baseline, tmp_path / "b", replications=4, seed=3, workers=2)
    assert_same_results(a.path, b.path)


def test_different_seeds_differ(tiny: Scenario, tmp_path: Path) -> None:
    a = run(tiny, tmp_path / "a", replications=2, seed=1)
    b = run(tiny, tmp_path / "b", replications=2, seed=2)
    assert not a.proposals["arrival_day"].equals(b.proposals["arrival_day"])


def test_common_random_numbers_across_rules(tmp_path: Path) -> None:
    base = load_scenario(BASELINE)
    qmv = load_scenario(BASELINE, [f'proposal_types.{t}.rule="qmv"' for t in base.proposal_types])
    a = run(base, tmp_path / "a", replications=2, seed=4)
    b = run(qmv, tmp_path / "b", replications=2, seed=4)
    cols = ["replication", "proposal_id", "type", "arrival_day", "deadline_day"]
    pd.testing.assert_frame_equal(a.proposals[cols], b.proposals[cols])
    assert not a.proposals["outcome"].equals(b.proposals["outcome"]) or not a.proposals[
        "duration_days"
    ].equals(b.proposals["duration_days"])


def test_refuses_to_overwrite_without_force(tiny_path: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "r"
    args = ["run", str(tiny_path), "-n", "2", "--seed", "1", "--out", str(out), "--quiet"]
    assert main(args) == 0
    before = (out / "proposals.parquet").read_bytes()
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "not empty" in err
    assert "--force" in err
    assert main([*args[:-1], "--seed", "2", "--force", "--quiet"]) == 0
    assert (out / "proposals.parquet").read_bytes() != before
    assert not list(tmp_path.glob(".*"))


@pytest.fixture
def tiny_path() -> Path:
    return DATA / "tiny.toml"


def _interrupt(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a shell running us in the background ignores SIGINT, and Python then keeps it
        # ignored; restore the default so the child gets its KeyboardInterrupt like a user's
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + 60
    out = Path(args[args.index("--out") + 1])
    while time.time() < deadline and not list(out.parent.glob(f".{out.name}.partial-*/*.parquet")):
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


@pytest.mark.slow
def test_interrupted_run_leaves_a_manifest_saying_so(tmp_path: Path) -> None:
    out = tmp_path / "r"
    args = ["run", str(BASELINE), "-n", "400", "--seed", "1", "--workers", "1", "--out", str(out)]
    res = _interrupt(args, ROOT)
    assert res.returncode == 130, (res.returncode, res.stderr)
    assert "Traceback" not in res.stderr
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json"]
    assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"


@pytest.mark.slow
def test_interrupted_forced_run_keeps_previous_results(tmp_path: Path) -> None:
    out = tmp_path / "r"
    assert main(["run", str(DATA / "tiny.toml"), "-n", "2", "--out", str(out), "--quiet"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    args = [
        "run",
        str(BASELINE),
        "-n",
        "400",
        "--seed",
        "1",
        "--workers",
        "1",
        "--out",
        str(out),
        "--force",
    ]
    res = _interrupt(args, ROOT)
    assert res.returncode == 130, (res.returncode, res.stderr)
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert after == before
    (staging,) = tmp_path.glob(".r.partial-*")
    assert json.loads((staging / "manifest.json").read_text())["status"] == "interrupted"


def test_experiment_reopens_from_files(tiny: Scenario, tmp_path: Path) -> None:
    exp = run(tiny, tmp_path / "r", replications=2, seed=1)
    again = Experiment.open(exp.path)
    assert again.scenario == exp.scenario
    pd.testing.assert_frame_equal(again.summary, pd.read_csv(exp.path / "summary.csv"))
    assert "adoption_rate" in set(again.headline().index)
    # a notebook shows one line and the headline table, not the whole scenario
    assert repr(again) == f"Experiment({str(exp.path)!r}: tiny, 2 replications of 120 days, seed 1)"
    assert "adoption_rate" in again._repr_html_()


def test_the_scenario_is_validated_once_per_run(tmp_path: Path, monkeypatch) -> None:
    """``run`` loads and validates its scenario once; the runner, the figures and the report
    use that object (the resolved ``scenario.toml`` is written, not read back)."""
    calls = []
    validate = Scenario.model_validate.__func__

    def counting(cls, *args, **kwargs):
        calls.append(cls)
        return validate(cls, *args, **kwargs)

    monkeypatch.setattr(Scenario, "model_validate", classmethod(counting))
    args = ["run", str(DATA / "tiny.toml"), "-n", "2", "--seed", "1", "--quiet"]
    assert main([*args, "--out", str(tmp_path / "r")]) == 0
    assert calls == [Scenario]


def test_simulate_gives_the_tables_of_a_run_and_saves_the_same_folder(tmp_path: Path) -> None:
    import dataclasses

    import sim

    tiny_path = DATA / "tiny.toml"
    run = sim.simulate(tiny_path, overrides=["horizon_days=90"], replications=12, seed=4)
    exp = sim.run_experiment(
        sim.Source(tiny_path, ("horizon_days=90",)),
        tmp_path / "run",
        replications=12,
        seed=4,
        options=sim.ExperimentOptions(workers=2, progress=False),
    )
    for name in (*RESULT_TABLES, "metrics"):
        pd.testing.assert_frame_equal(getattr(run, name), getattr(exp, name), obj=name)
    assert sorted(run.proposals["replication"].unique()) == list(range(12))
    pd.testing.assert_frame_equal(run.summary, exp.summary)
    pd.testing.assert_frame_equal(run.headline(), exp.headline())
    saved = run.save(tmp_path / "saved")
    assert saved.manifest["status"] == "complete"
    assert saved.manifest["scenario_file"] == str(tiny_path)
    assert_same_results(saved.path, exp.path)
    with pytest.raises(dataclasses.FrozenInstanceError):
        exp.path = tmp_path  # type: ignore[misc]  # a published run does not change


def test_a_process_compiles_a_scenario_once_for_all_its_chunks(tiny, baseline) -> None:
    from sim.experiment.engines import _model_of

    model = _model_of(tiny)
    assert _model_of(tiny.model_copy(deep=True)) is model  # the same scenario, unpickled anew
    assert _model_of(baseline) is not model
    assert _model_of(tiny.model_copy(update={"horizon_days": 100})).horizon == 100
