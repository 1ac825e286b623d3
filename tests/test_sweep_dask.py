"""Parameter sweeps and the Dask backend (a real LocalCluster of two workers)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.experiment.runner import run_experiment
from sim.experiment.sweep import parse_vary, points, run_sweep, split_values
from sim.report.sweep import sweep_figures
from sim.scenario import Scenario, ScenarioError

from .conftest import DATA, assert_same_results


def test_grid_and_one_at_a_time_points() -> None:
    a, b = parse_vary("x.y=1,2"), parse_vary("z=a,b,c")
    assert len(points([a, b], oat=False)) == 6
    oat = points([a, b], oat=True)
    assert oat[0] == {}
    assert len(oat) == 1 + 2 + 3
    assert split_values("[1, 2],3") == ["[1, 2]", "3"]
    with pytest.raises(ScenarioError):
        parse_vary("novalues")


def test_sweep_of_three_values_shares_arrivals_and_matches_single_runs(tmp_path: Path) -> None:
    tiny = DATA / "tiny.toml"
    params = [parse_vary("bodies.WP.capacity=1,2,5")]
    sweep = run_sweep(
        tiny,
        params,
        out=tmp_path / "sw",
        replications=3,
        seed=4,
        progress=False,
        figures=sweep_figures(params, oat=False),
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
        out=tmp_path / "one",
        replications=3,
        seed=4,
        progress=False,
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
    params = [parse_vary("bodies.WP.capacity=1,5"), parse_vary("member_defaults.salience=0.2,0.9")]
    sweep = run_sweep(
        DATA / "tiny.toml",
        params,
        out=tmp_path / "oat",
        oat=True,
        replications=2,
        seed=1,
        progress=False,
        figures=sweep_figures(params, oat=True),
    )
    assert len(sweep.experiments) == 5
    assert (tmp_path / "oat" / "sensitivity.svg").exists()


@pytest.mark.slow
def test_dask_local_cluster_matches_serial(baseline: Scenario, tmp_path: Path) -> None:
    serial = run_experiment(
        baseline, out=tmp_path / "serial", replications=6, seed=2, workers=1, progress=False
    )
    dask = run_experiment(
        baseline,
        out=tmp_path / "dask",
        replications=6,
        seed=2,
        workers=2,
        dask="local",
        progress=False,
    )
    assert dask.manifest["engine"] == "dask:local"
    assert_same_results(serial.path, dask.path)


@pytest.mark.slow
def test_dask_survives_losing_a_worker(baseline: Scenario, tmp_path: Path) -> None:
    from dask.distributed import Client, LocalCluster

    serial = run_experiment(
        baseline, out=tmp_path / "serial", replications=40, seed=6, workers=1, progress=False
    )

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
            out=tmp_path / "dask",
            replications=40,
            seed=6,
            workers=2,
            dask=address,
            progress=False,
        )
        finished = time.time()
        killer.join()
        assert killed_at
        assert killed_at[0] < finished  # the worker died while the run was going on
        assert pids[0] not in set(client.run(os.getpid).values())  # the worker really died
    assert_same_results(serial.path, dask.path)
