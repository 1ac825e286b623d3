"""Priors, global sensitivity analysis and ABC calibration (issue 13)."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis.calibration import observed_targets
from sim.cli import main
from sim.experiment.calibrate import (
    Budget,
    Posterior,
    Statistics,
    open_calibration,
    run_abc,
    run_calibration,
)
from sim.experiment.moments import Simulator
from sim.experiment.posterior import open_posterior
from sim.experiment.sampler import OrderedSampler
from sim.experiment.sensitivity import Design, indices, run_sensitivity, sample_unit
from sim.experiment.source import Source
from sim.experiment.study import ExperimentOptions
from sim.report.attach import with_reports
from sim.scenario import Scenario, load_scenario
from sim.scenario.priors import (
    Prior,
    current_values,
    default_priors_path,
    load_priors,
    with_parameters,
)
from tests.conftest import BASELINE, DATA, ROOT

PRIORS = default_priors_path(BASELINE)


def _write(tmp: Path, text: str) -> Path:
    path = tmp / "p.priors.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_baseline_carries_the_bundled_posterior_point(baseline: Scenario) -> None:
    """eu27_baseline is the calibrated model: its fitted numbers are docs/calibration's
    posterior point, so every variant that extends it is calibrated too."""
    source = open_posterior(ROOT / "docs" / "calibration", baseline)
    point = source.posterior.point()
    # but the two the baseline's header explains (unidentified; set inside the posterior)
    departures = {
        "proposal_types.listings_renewal.arrivals.lead_days": 8.0,
        "proposal_types.epf_measure.holdout_duration_scale": 24.36,
    }
    q = source.posterior.quantile
    for key, value in departures.items():
        assert q(key, 0.05) < value < q(key, 0.95)
    assert current_values(source.posterior.priors, baseline) == {**point, **departures}
    calibrated = [p.key for p in load_priors(PRIORS, baseline) if p.calibrate]
    assert sorted(point) == sorted(calibrated)


def test_bundled_priors_name_numbers_of_the_baseline(baseline: Scenario) -> None:
    priors = load_priors(PRIORS, baseline)
    assert len(priors) >= 10
    assert all(p.reason for p in priors)
    assert PRIORS.name == "eu27_baseline.priors.toml"


@pytest.mark.parametrize(
    ("entry", "key", "problem"),
    [
        ('key = "member_defaults.nope"\nlow = 0\nhigh = 1', "member_defaults.nope", "not in the"),
        ('key = "name"\nlow = 0\nhigh = 1', "name", "not a number"),
        ('key = "member_defaults.salience"\nlow = 1\nhigh = 0', "parameters.0", "below high"),
        (
            'key = "member_defaults.salience"\nlow = 0\nhigh = 1\nscale = "log"',
            "parameters.0",
            "low > 0",
        ),
        ('key = "member_defaults.salience"\nlow = 0.2\nhigh = 7', "member_defaults", "high end"),
        ('key = "member_defaults.salience"\nlow = 0\nhigh = 1\nwhat = 1', "parameters.0", "what"),
    ],
)
def test_bad_priors_name_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], entry: str, key: str, problem: str
) -> None:
    path = _write(tmp_path, f'[[parameters]]\n{entry}\nreason = "r"\n')
    out = tmp_path / "out"
    status = main(["sensitivity", str(BASELINE), "--priors", str(path), "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 2
    for part in (str(path), key, problem):
        assert part in err, err
    assert "Traceback" not in err
    assert not out.exists()


def test_missing_and_duplicate_priors(tmp_path: Path, baseline: Scenario) -> None:
    with pytest.raises(Exception, match="not found"):
        load_priors(tmp_path / "none.toml", baseline)
    entry = '[[parameters]]\nkey = "member_defaults.salience"\nlow = 0\nhigh = 1\nreason = "r"\n'
    with pytest.raises(Exception, match="listed twice"):
        load_priors(_write(tmp_path, entry * 2), baseline)


def test_prior_scales() -> None:
    log = Prior(key="a.b", low=0.1, high=10.0, scale="log", reason="r")
    assert log.from_unit(np.array([0.0, 0.5, 1.0])) == pytest.approx([0.1, 1.0, 10.0])
    whole = Prior(key="a.b", low=3, high=8, integer=True, reason="r")
    assert whole.from_unit(np.array([0.0, 0.49, 1.0])).tolist() == [3.0, 5.0, 8.0]
    assert isinstance(whole.value(5.2), int)


def test_parameters_apply_inside_a_distribution(baseline: Scenario) -> None:
    s = with_parameters(baseline, {"member_states.HU.holdout_days.median": 40.0})
    hu = next(m for m in s.resolved_members() if m.code == "HU")
    assert hu.behaviour.holdout_days.dist == "lognormal"
    assert hu.behaviour.holdout_days.median == 40.0


def test_statistics_score_soft_ranges_by_distance_outside() -> None:
    targets = pd.DataFrame(
        {
            "target": ["a", "b"],
            "check": ["interval", "range"],
            "observed": [8.5, 0.3],
            "low": [np.nan, 0.1],
            "high": [np.nan, 0.35],
        }
    )
    stats = Statistics.from_targets(targets)
    assert stats.of({"a": 10.0, "b": 0.2}) == {"a": 10.0, "b": 0.0}
    assert stats.of({"a": np.nan, "b": 0.5}) == pytest.approx({"a": 8.5, "b": 0.15})


def test_posterior_point_is_the_weighted_median() -> None:
    prior = Prior(key="x.y", low=0, high=10, reason="r")
    draws = pd.DataFrame({"x.y": [1.0, 2.0, 9.0], "weight": [0.2, 0.2, 0.6]})
    assert Posterior(draws, [prior]).point() == {"x.y": 9.0}
    draws["weight"] = [0.4, 0.4, 0.2]
    assert Posterior(draws, [prior]).point() == {"x.y": 2.0}
    assert Posterior(draws, [prior]).effective_size() == pytest.approx(1 / 0.36)


@pytest.mark.slow
def test_sensitivity_uses_common_random_numbers(tmp_path: Path, baseline: Scenario) -> None:
    """Under unanimity the brake propensity changes nothing: with common random numbers its
    elementary effects are exactly zero, while the hold-out propensity moves package times."""
    path = _write(
        tmp_path,
        '[[parameters]]\nkey = "member_defaults.brake_probability"\nlow = 0\nhigh = 0.5\n'
        'reason = "r"\n[[parameters]]\nkey = "member_states.HU.holdout_probability"\n'
        'low = 0\nhigh = 0.9\nreason = "r"\n',
    )
    result = run_sensitivity(
        Source(BASELINE, priors=path),
        Design("morris", samples=3),
        tmp_path / "sa",
        replications=1,
        seed=3,
        options=with_reports(),
    )
    t = result.table.set_index(["parameter", "metric"])
    brake = t.loc["member_defaults.brake_probability"]
    assert (brake["mu_star"].dropna() == 0).all()
    assert len(brake["mu_star"].dropna()) > 0
    assert t.loc[("member_states.HU.holdout_probability", "package_days_median"), "mu_star"] > 0
    assert (result.path / "sensitivity.csv").is_file()
    assert (result.path / "importance.png").is_file()
    manifest = json.loads((result.path / "manifest.json").read_text())
    assert manifest["kind"] == "sensitivity"
    assert manifest["points"] == 9


MEDIAN_ONLY = Statistics.from_targets(
    pd.DataFrame(
        {"target": ["package_days_median"], "check": ["interval"], "observed": [8.5]}
    ).assign(low=np.nan, high=np.nan)
)


def _plan(population: int, generations: int) -> Budget:
    """A tiny ABC budget for tests."""
    return Budget(
        "test",
        population=population,
        generations=generations,
        replications=1,
        max_simulations=30,
        max_minutes=5,
        predictive_draws=2,
        transition_scaling=2.5,
    )


@pytest.mark.slow
def test_abc_is_a_function_of_the_seed(tmp_path: Path, baseline: Scenario) -> None:
    priors = load_priors(PRIORS, baseline)[:3]
    sim = Simulator(baseline, priors)
    a, gens = run_abc(sim, MEDIAN_ONLY, _plan(5, 2), 11, tmp_path / "a.db")
    b, _ = run_abc(sim, MEDIAN_ONLY, _plan(5, 2), 11, tmp_path / "b.db")
    pd.testing.assert_frame_equal(a.draws, b.draws)
    assert len(a.draws) == 5
    assert a.draws["weight"].sum() > 0
    assert gens["epsilon"].is_monotonic_decreasing or len(gens) == 1
    for p in priors:
        assert a.draws[p.key].between(p.low, p.high).all()


@pytest.mark.slow
def test_abc_on_two_workers_is_the_serial_calibration(tmp_path: Path, baseline: Scenario) -> None:
    """Serial = parallel: each particle has its own seed, and the population is the first
    accepted in index order, so two worker processes give the one-worker posterior to the bit,
    and count the same simulations."""
    sim = Simulator(baseline, load_priors(PRIORS, baseline)[:3])
    one, gens_one = run_abc(sim, MEDIAN_ONLY, _plan(6, 2), 7, tmp_path / "one.db")
    two_workers = ExperimentOptions(workers=2)
    two, gens_two = run_abc(sim, MEDIAN_ONLY, _plan(6, 2), 7, tmp_path / "two.db", two_workers)
    pd.testing.assert_frame_equal(one.draws, two.draws)
    columns = ["epsilon", "samples"]
    pd.testing.assert_frame_equal(gens_one[columns], gens_two[columns])
    assert len(gens_one) == 2
    assert (gens_one["samples"] >= 6).all()


@pytest.mark.slow
def test_abc_on_a_local_dask_cluster_is_the_serial_calibration(
    tmp_path: Path, baseline: Scenario
) -> None:
    """The simulations of a calibration run on a real Dask cluster started for it, and give
    the posterior of one process to the bit."""
    sim = Simulator(baseline, load_priors(PRIORS, baseline)[:2])
    options = ExperimentOptions(workers=2, dask="local")
    post, gens = run_abc(sim, MEDIAN_ONLY, _plan(4, 2), 5, tmp_path / "d.db", options)
    serial, serial_gens = run_abc(sim, MEDIAN_ONLY, _plan(4, 2), 5, tmp_path / "s.db")
    assert len(post.draws) == 4
    pd.testing.assert_frame_equal(post.draws, serial.draws)
    assert gens["samples"].tolist() == serial_gens["samples"].tolist()


@pytest.fixture(scope="module")
def calibration(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``cfsp-sim calibrate --budget quick`` on the baseline, once for this module."""
    out = tmp_path_factory.mktemp("calibration") / "cal"
    assert main(["calibrate", "eu27_baseline", "--budget", "quick", "--out", str(out)]) == 0
    return out


@pytest.mark.slow
def test_quick_calibration_end_to_end(calibration: Path, tmp_path: Path) -> None:
    """Every output of a quick calibration, and a calibrated scenario that runs."""
    out = calibration
    post = pd.read_parquet(out / "posterior.parquet")
    priors = [p for p in load_priors(PRIORS, load_scenario(BASELINE)) if p.calibrate]
    assert list(post.columns) == [p.key for p in priors] + ["weight"]
    assert load_priors(out / "priors.toml", load_scenario(BASELINE)) == priors
    fit = pd.read_csv(out / "fit.csv")
    assert fit["target"].tolist() == observed_targets()["target"].tolist()  # every target
    assert {"observed", "simulated_median", "p5", "p95"} <= set(fit.columns)
    calibrated = load_scenario(out / "calibrated.toml")
    raw = tomllib.loads((out / "calibrated.toml").read_text())
    assert raw["extends"] == "eu27_baseline"
    hu = next(m for m in calibrated.resolved_members() if m.code == "HU")
    assert hu.behaviour.holdout_probability == raw["member_states"]["HU"]["holdout_probability"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "calibration"
    assert manifest["status"] == "complete"
    report = (out / "report.html").read_text()
    assert report.count("data:image/svg+xml;base64,") == 3
    run = tmp_path / "run"
    assert main(["run", str(out / "calibrated.toml"), "-n", "1", "--out", str(run), "--quiet"]) == 0


SHORT = ["--horizon", "150", "--workers", "1"]  # enough to compare; a pool would cost more


@pytest.mark.slow
def test_posterior_runs_stay_paired_and_honest(
    calibration: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Replication i draws the same parameters in every scenario; a variant keeps the keys it
    sets itself; compare says its intervals include parameter uncertainty."""
    runs = {}
    for name in ("eu27_baseline", "qmv_art31", "holdout_state"):
        runs[name] = tmp_path / name
        args = ["run", name, "-n", "3", "--posterior", str(calibration), "--quiet", *SHORT]
        assert main([*args, "--out", str(runs[name])]) == 0
    draws = {k: pd.read_csv(v / "posterior_draws.csv") for k, v in runs.items()}
    pd.testing.assert_frame_equal(draws["eu27_baseline"], draws["qmv_art31"])
    assert len(draws["eu27_baseline"]) == 3
    kept = json.loads((runs["holdout_state"] / "manifest.json").read_text())["posterior"]
    assert "member_states.HU.holdout_probability" in kept["scenario_keeps"]
    assert "member_states.HU.holdout_probability" not in draws["holdout_state"]
    hu = load_scenario("holdout_state").resolved_members()
    assert (
        kept["sha256"]
        == json.loads((calibration / "manifest.json").read_text())["posterior_sha256"]
    )
    assert any(m.code == "HU" for m in hu)
    capsys.readouterr()
    cmp = ["compare", str(runs["eu27_baseline"]), str(runs["qmv_art31"])]
    assert main([*cmp, "--out", str(tmp_path / "cmp")]) == 0
    out = capsys.readouterr().out
    assert "Monte Carlo and parameter uncertainty" in out
    # after the scenario's question and its answer, how the runs were compared
    assert any(line.startswith("paired") for line in out.splitlines()), out
    plain = tmp_path / "plain"
    assert main(["run", "qmv_art31", "-n", "3", "--quiet", *SHORT, "--out", str(plain)]) == 0
    capsys.readouterr()
    assert (
        main(["compare", str(runs["eu27_baseline"]), str(plain), "--out", str(tmp_path / "c2")])
        == 0
    )
    out = capsys.readouterr().out
    assert any(line.startswith("NOT paired") for line in out.splitlines()), out


def test_a_run_folder_is_not_a_posterior(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    assert main(["run", "eu27_baseline", "-n", "1", "--quiet", "--out", str(run)]) == 0
    out = tmp_path / "again"
    assert (
        main(["run", "eu27_baseline", "-n", "1", "--posterior", str(run), "--out", str(out)]) == 2
    )
    assert "not a calibration" in capsys.readouterr().err
    assert not out.exists()


def test_nothing_to_calibrate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(
        tmp_path,
        '[[parameters]]\nkey = "member_defaults.salience"\nlow = 0.1\nhigh = 0.9\n'
        'calibrate = false\nreason = "r"\n',
    )
    out = tmp_path / "cal"
    assert main(["calibrate", str(BASELINE), "--priors", str(path), "--out", str(out)]) == 2
    assert "nothing to fit" in capsys.readouterr().err
    assert not out.exists()


def test_a_tiny_calibration_is_one_study(tmp_path: Path) -> None:
    """``run_calibration`` writes its folder through the study transaction: every file listed,
    ``calibrated.toml`` extending the bundled scenario, the result immutable and complete."""
    path = _write(
        tmp_path,
        '[[parameters]]\nkey = "member_defaults.salience"\nlow = 0.1\nhigh = 0.9\nreason = "r"\n',
    )
    cal = run_calibration(
        Source("eu27_baseline", priors=path),
        tmp_path / "cal",
        plan=_plan(4, 1),
        seed=3,
        options=with_reports(),
    )
    manifest = json.loads((cal.path / "manifest.json").read_text())
    assert (manifest["kind"], manifest["status"], manifest["seed"]) == (
        "calibration",
        "complete",
        3,
    )
    assert {"posterior.parquet", "calibrated.toml", "prior_fit.csv", "report.html"} <= set(
        manifest["files"]
    )
    assert tomllib.loads((cal.path / "calibrated.toml").read_text())["extends"] == "eu27_baseline"
    assert len(cal.prior_fit) == len(cal.fit)
    again = open_calibration(cal.path)
    pd.testing.assert_frame_equal(again.prior_fit, pd.read_csv(cal.path / "prior_fit.csv"))


def test_calibrate_fits_against_the_record_it_is_given(tmp_path: Path) -> None:
    """``--observed FILE``: the posterior and prior predictive fits hold that record's targets,
    not the bundled record's (here every package took 100 days), and its simulated records
    have that record's size."""
    rec = pd.read_csv(ROOT / "sim" / "data" / "observed_cfsp.csv", dtype=str)
    packages = rec["category"] == "sanctions_package"
    rec.loc[packages, "days_proposal_to_adoption"] = "100"
    rec = rec[~(packages & (rec["id"] == "RU16"))]  # 15 packages
    record = tmp_path / "observed.csv"
    rec.to_csv(record, index=False)
    priors = _write(
        tmp_path,
        '[[parameters]]\nkey = "member_defaults.salience"\nlow = 0.1\nhigh = 0.9\nreason = "r"\n',
    )
    cal = run_calibration(
        Source(DATA / "tiny.toml", priors=priors),
        tmp_path / "cal",
        plan=_plan(4, 1),
        seed=3,
        observed=record,
    )
    for name in ("fit.csv", "prior_fit.csv"):
        fit = pd.read_csv(cal.path / name).set_index("target")
        assert fit.loc["package_days_median", "observed"] == 100, name
        assert fit.loc["package_share_30d_or_more", "observed"] == 1, name
        assert fit.loc["package_days_median", "n"] == 15, name
    manifest = json.loads((cal.path / "manifest.json").read_text())
    # tiny's replications are 120 days: nine make a record of the record's 1,101 days
    assert manifest["simulated_record"]["replications"] == 9
    assert manifest["simulated_record"]["items"]["sanctions_package"] == 15


def test_the_full_calibration_frees_every_parameter_and_is_bundled_by_name(
    baseline: Scenario,
) -> None:
    """``eu27_baseline_full`` (docs/calibration-full, shipped with the package): the `full`
    budget with every parameter of the priors file free, the held ones included."""
    source = open_posterior("eu27_baseline_full", baseline)
    every = [p.key for p in load_priors(PRIORS, baseline)]
    assert sorted(source.posterior.keys) == sorted(every)
    assert source.posterior.effective_size() > 50


def test_sobol_indices_and_their_intervals_are_a_function_of_the_points(
    baseline: Scenario,
) -> None:
    """The same points give the same Sobol' table, confidence intervals included (SALib
    ignores a bootstrap seed of 0: the intervals changed from one call to the next)."""
    priors = load_priors(PRIORS, baseline)[:3]
    unit = sample_unit(priors, "sobol", 16, seed=4)
    rng = np.random.default_rng(5)
    outputs = pd.DataFrame(
        {"y": unit[:, 0] + 0.5 * unit[:, 1] ** 2 + rng.normal(0, 0.1, len(unit))}
    )
    first, second = indices(priors, "sobol", unit, outputs), indices(priors, "sobol", unit, outputs)
    pd.testing.assert_frame_equal(first, second)
    assert first["ST_conf"].gt(0).all()
    assert first.set_index("parameter")["ST"].idxmax() == priors[0].key


def _raises() -> None:
    raise ValueError("boom")


def _dies() -> None:
    os._exit(9)


@pytest.mark.parametrize(("simulate", "message"), [(_raises, "boom"), (_dies, "exit code 9")])
def test_a_failing_abc_worker_fails_the_calibration_naming_why(simulate, message: str) -> None:
    """A particle that raises, or a worker that dies, stops the generation with its cause,
    not a hang."""
    sampler = OrderedSampler(2, seed=1)
    with pytest.raises(RuntimeError, match=message):
        sampler.sample_until_n_accepted(3, simulate, 0)
