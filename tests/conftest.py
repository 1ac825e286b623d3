"""Shared fixtures: scenario paths and loaded scenarios."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

from sim.scenario import Scenario, load_scenario

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent
BASELINE = ROOT / "scenarios" / "eu27_baseline.toml"


RESULT_TABLES = ("proposals", "events", "stages", "meetings", "metrics")


def assert_same_results(a: Path, b: Path) -> None:
    """Two results folders hold the same tables (to the byte), summary and resolved scenario."""
    for t in RESULT_TABLES:
        pd.testing.assert_frame_equal(
            pd.read_parquet(a / f"{t}.parquet"), pd.read_parquet(b / f"{t}.parquet")
        )
        assert (a / f"{t}.parquet").read_bytes() == (b / f"{t}.parquet").read_bytes(), t
    assert (a / "summary.csv").read_bytes() == (b / "summary.csv").read_bytes()
    assert (a / "scenario.toml").read_bytes() == (b / "scenario.toml").read_bytes()


@pytest.fixture(scope="session")
def tiny() -> Scenario:
    """The four-state test scenario."""
    return load_scenario(DATA / "tiny.toml")


@pytest.fixture(scope="session")
def baseline() -> Scenario:
    """The bundled EU27 baseline."""
    return load_scenario(BASELINE)
