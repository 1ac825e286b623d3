"""Shared fixtures: scenario paths and loaded scenarios."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

from sim.scenario import Scenario, load_scenario

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent
BASELINE = ROOT / "scenarios" / "eu27_baseline.toml"


@pytest.fixture(scope="session")
def tiny() -> Scenario:
    """The four-state test scenario."""
    return load_scenario(DATA / "tiny.toml")


@pytest.fixture(scope="session")
def baseline() -> Scenario:
    """The bundled EU27 baseline."""
    return load_scenario(BASELINE)
