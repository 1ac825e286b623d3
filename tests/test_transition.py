"""The calibration's reflected perturbation kernel (``sim.experiment.transition``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyabc")

from sim.experiment.transition import ReflectedTransition


def _fitted(seed: int = 0) -> ReflectedTransition:
    rng = np.random.default_rng(seed)
    # a population crowding two faces of the square, where reflection matters most
    X = pd.DataFrame({"a": rng.beta(0.5, 2.0, 60), "b": rng.beta(2.0, 0.5, 60)})
    t = ReflectedTransition(scaling=2.5)
    t.fit(X, np.full(60, 1 / 60))
    return t


def test_every_proposal_lies_in_the_unit_cube() -> None:
    np.random.seed(1)  # noqa: NPY002 (pyabc draws from numpy's global generator)
    t = _fitted()
    draws = np.array([[p["a"], p["b"]] for p in (t.rvs_single() for _ in range(2000))])
    assert ((draws >= 0.0) & (draws <= 1.0)).all()


def test_its_density_integrates_to_one_on_the_cube_and_matches_its_draws() -> None:
    t = _fitted()
    grid = (np.arange(100) + 0.5) / 100
    a, b = np.meshgrid(grid, grid)
    points = pd.DataFrame({"a": a.ravel(), "b": b.ravel()})
    density = t.pdf(points)
    assert density.mean() == pytest.approx(1.0, abs=0.01)  # midpoint rule over the square
    np.random.seed(2)  # noqa: NPY002
    draws = np.array([[p["a"], p["b"]] for p in (t.rvs_single() for _ in range(4000))])
    near_face = (draws[:, 0] < 0.1).mean()  # the mass the density gives the strip a < 0.1
    strip = density.reshape(100, 100)[:, :10].mean() * 0.1
    assert near_face == pytest.approx(strip, abs=0.03)


def test_a_budget_names_a_known_transition(monkeypatch: pytest.MonkeyPatch) -> None:
    from sim.core.errors import UserError
    from sim.experiment import calibrate

    assert calibrate.budget("standard").transition == "reflected"
    config = calibrate.calibration_config()
    bad = {**config, "budgets": {"x": {**config["budgets"]["quick"], "transition": "reflect"}}}
    monkeypatch.setattr(calibrate, "calibration_config", lambda: bad)
    with pytest.raises(UserError, match=r"budgets\.x\.transition: 'reflect' is not one of"):
        calibrate.budget("x")
