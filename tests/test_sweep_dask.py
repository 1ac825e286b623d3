"""Parameter sweeps and the Dask backend (a real LocalCluster of two workers)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.experiment.runner import ExperimentOptions, run_experiment
from sim.experiment.sweep import Grid, parse_vary, run_sweep, split_values
from sim.report.attach import with_reports
from sim.report.sweep import sweep_figures
from sim.scenario import Scenario, ScenarioError

from .conftest import DATA, assert_same_results

QUIET = ExperimentOptions(progress=False)


def test_grid_and_one_at_a_time_points() -> None:
    assert len(Grid.parse(["x.y=1,2", "z=a,b,c"]).points()) == 6
    oat = Grid.parse(["x.y=1,2", "z=a,b,c"], oat=True).points()
    assert oat[0] == {}
    assert len(oat) == 1 + 2 + 3
    assert split_values("[1, 2],3") == ["[1, 2]", "3"]
    with pytest.raises(ScenarioError):
        parse_vary("novalues")


def test_sweep_of_three_values_shares_arrivals_and_matches_single_runs(tmp_path: Path) -> None:
    tiny = DATA / "tiny.toml"
    sweep = run_sweep(
        tiny,
        Grid.parse(["bodies.WP.capacity=1,2,5"]),
        tmp_path / "sw",
        replications=3,
        seed=4,
        options=with_reports(QUIET),
    )
    assert (tmp_path / "sw" / "sweep.csv").exists()
    assert (tmp_path / "sw" / "sensitivity.png").exists()
    table = pd.read_csv(tmp_path / "sw" / "sweep.csv")
    assert sorted(table["bodies.WP.capacity"].unique()) == [1, 2, 5]
    arrivals = [e.proposals[["replication", "arrival_day"]] for e in sweep.experiments]
    for other in arrivals[1:]:
        pd.testing.assert_frame_equal(arrivals[0], other)  # common random numbers
    from sim.scenario import load_scenario

    alone = run_experiment(
        load_scenario(tiny, ["bodies.WP.capacity=2"]),
        tmp_path / "one",
        replications=3,
        seed=4,
        options=QUIET,
    )
    assert_same_results(sweep.experiments[1].path, alone.path)


def test_sweep_rejects_a_bad_point_before_running_anything(tmp_path: Path, capsys) -> None:
    out = tmp_path / "sw"
    args = [
        "sweep",
        str(DATA / "tiny.toml"),
        "--vary",
        "bodies.WP.capacity=2,0",
        "--out",
        str(out),
        "-n",
        "1",
        "--quiet",
    ]
    assert main(args) == 2
    assert "bodies.WP.capacity" in capsys.readouterr().err
    assert not out.exists()


def test_oat_sweep_draws_a_tornado(tmp_path: Path) -> None:
    grid = Grid.parse(["bodies.WP.capacity=1,5", "member_defaults.salience=0.2,0.9"], oat=True)
    sweep = run_sweep(
        DATA / "tiny.toml", grid, tmp_path / "oat", replications=2, seed=1, options=QUIET
    )
    sweep_figures(sweep)  # the library draws on request
    assert len(sweep.experiments) == 5
    assert (tmp_path / "oat" / "sensitivity.svg").exists()


@pytest.mark.slow
def test_dask_local_cluster_matches_serial(baseline: Scenario, tmp_path: Path) -> None:
    serial = run_experiment(baseline, tmp_path / "serial", replications=6, seed=2, options=QUIET)
    dask = run_experiment(
        baseline,
        tmp_path / "dask",
        replications=6,
        seed=2,
        options=ExperimentOptions(workers=2, dask="local", progress=False),
    )
    assert dask.manifest["engine"] == "dask:local"
    assert_same_results(serial.path, dask.path)


@pytest.mark.slow
def test_dask_survives_losing_a_worker(baseline: Scenario, tmp_path: Path) -> None:
    from dask.distributed import Client, LocalCluster

    serial = run_experiment(baseline, tmp_path / "serial", replications=40, seed=6, options=QUIET)

    def first_result() -> bool:
        return bool(list(tmp_path.glob(".dask.partial-*/proposals.parquet")))

    killed_at: list[float] = []
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        pids = list(client.run(os.getpid).values())
        import threading

        def kill_one() -> None:
            deadline = time.time() + 120
            while not first_result() and time.time() < deadline:
                time.sleep(0.01)
            os.kill(pids[0], signal.SIGKILL)  # mid-run: its tasks are retried elsewhere
            killed_at.append(time.time())

        killer = threading.Thread(target=kill_one)
        killer.start()
        address = cluster.scheduler_address
        dask = run_experiment(
            baseline,
            tmp_path / "dask",
            replications=40,
            seed=6,
            options=ExperimentOptions(workers=2, dask=address, progress=False),
        )
        finished = time.time()
        killer.join()
        assert killed_at
        assert killed_at[0] < finished  # the worker died while the run was going on
        assert pids[0] not in set(client.run(os.getpid).values())  # the worker really died
    assert_same_results(serial.path, dask.path)
