"""The compiled engine (:mod:`sim.engine.kernel`) against the Python engine: the same tables, to
the bit, on every bundled scenario and on the paths no bundled scenario takes."""

from __future__ import annotations

import io

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sim.engine.arrays import Sizes
from sim.engine.compile import Model
from sim.engine.kernel import state as S
from sim.scenario import Scenario, bundled_scenarios_dir, load_scenario

SCENARIOS = sorted(
    p.stem for p in bundled_scenarios_dir().glob("*.toml") if not p.stem.endswith(".priors")
)
TABLES = ("proposals", "events", "stages", "meetings")


def parquet_bytes(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out, compression="zstd")
    return out.getvalue()


def assert_same_tables(scenario: Scenario, reps: range, detail: bool, sizes: Sizes | None = None):
    """Both engines' tables of ``reps`` (seed 7) are equal, exactly, and so are the Arrow
    tables the compiled engine builds without DataFrames (what results folders store and
    calibrations read: the same Parquet bytes); the compiled model."""
    compiled, python = Model(scenario), Model(scenario, engine="python")
    assert (compiled.engine, python.engine) == ("compiled", "python")
    if sizes is not None:
        compiled._kernel.sizes = sizes  # type: ignore[union-attr]
    for rep in reps:
        a, b = compiled.run(7, rep, detail), python.run(7, rep, detail)
        for table in TABLES:
            pd.testing.assert_frame_equal(getattr(a, table), getattr(b, table), check_exact=True)
        arrow, expected = compiled.run_tables(7, rep, detail), b.arrow(rep)
        for table in TABLES:
            assert arrow[table].schema == expected[table].schema
            assert parquet_bytes(arrow[table]) == parquet_bytes(expected[table]), table
    return compiled


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_bundled_scenario_gives_the_python_engines_tables(name: str) -> None:
    scenario = load_scenario(name)
    assert_same_tables(scenario, range(2), detail=True)
    assert_same_tables(scenario, range(2, 4), detail=False)


def test_pools_and_buffers_that_run_out_are_grown_and_the_replication_rerun() -> None:
    tiny = Sizes(pools=[1] * 10, heap=4, events=8, nodes=1, floor=False)
    model = assert_same_tables(load_scenario("eu27_baseline"), range(2), True, tiny)
    grown = model._kernel.sizes  # type: ignore[union-attr]
    for pool in (S.P_OBJ, S.P_INSTR, S.P_SHOCK, S.P_WRITTEN, S.P_CONCESSION):
        assert grown.pools[pool] > 1
    assert grown.heap > 4
    assert grown.events > 8
    assert grown.nodes > 1


def test_a_warm_up_is_simulated_and_left_out_of_the_tables_alike() -> None:
    assert_same_tables(load_scenario("eu27_baseline", ["warmup_days=120"]), range(2), True)


def test_the_flat_pools_other_families() -> None:
    """Triangular and fixed periods, read from the doubles of mixed streams."""
    scenario = load_scenario(
        "qmv_art31",
        [
            'written_procedure.days={dist="triangular", low=1, mode=1.5, high=4}',
            'written_procedure.urgent_days={dist="fixed", value=0.5}',
            'negotiation.brake.mediation_days={dist="triangular", low=5, mode=9, high=30}',
        ],
    )
    assert_same_tables(scenario, range(3), detail=True)


def test_practices_no_bundled_scenario_has() -> None:
    """Hold-outs as plain timers (no bargaining), a brake that refers at once, no shared
    shock, every capital re-instructing, also on escalation, and no discussion while a capital
    has not instructed."""
    s = load_scenario("qmv_art31")
    capitals = s.negotiation.capitals.model_copy(
        update={
            "shock": None,
            "reinstruct": "all",
            "reinstruct_on_escalation": True,
            "discuss_under_reservation": False,
        }
    )
    negotiation = s.negotiation.model_copy(
        update={"bargaining": None, "brake": None, "capitals": capitals}
    )
    assert_same_tables(s.model_copy(update={"negotiation": negotiation}), range(3), True)


def test_a_scenario_drawing_other_families_from_mixed_streams_runs_on_python() -> None:
    """The written procedure's periods share a stream with its objections: the compiled engine
    reads such streams one double a value, so a lognormal period runs on the Python engine."""
    days = 'written_procedure.days={dist="lognormal", median=2, sigma=0.5}'
    assert Model(load_scenario("eu27_baseline", [days])).engine == "python"


def test_an_unknown_engine_is_refused() -> None:
    with pytest.raises(ValueError, match="engine must be one of"):
        Model(load_scenario("eu27_baseline"), engine="fortran")
