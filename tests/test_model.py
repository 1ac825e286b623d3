"""The SimPy model: invariants of the event log and proposal table, determinism, extremes."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from sim.core.outcomes import Outcome
from sim.engine.compile import Model, ReplicationResult, run_replication
from sim.engine.logs import TERMINAL
from sim.engine.replication import Replication
from sim.scenario import Scenario, bundled_scenarios_dir, load_scenario

from .conftest import DATA

TERMINAL_NAMES = {a.name.lower() for a in TERMINAL}


@pytest.fixture(scope="module")
def baseline_run(baseline: Scenario) -> ReplicationResult:
    return run_replication(baseline, seed=11, replication=0)


@pytest.fixture(scope="module")
def tiny_runs(tiny: Scenario) -> list[ReplicationResult]:
    model = Model(tiny)
    warm = load_scenario(DATA / "tiny.toml", ["warmup_days=45"])  # the invariants hold after one
    return [model.run(5, rep) for rep in range(5)] + [run_replication(warm, 5, 0)]


def test_a_warm_up_convenes_extraordinary_meetings(baseline: Scenario) -> None:
    """Urgent items tabled during a warm-up (negative days) get their extraordinary meetings:
    the presidency's "none pending" day was -1, so one convened before day -1 looked pending
    and the run failed (KeyError)."""
    warm = load_scenario(bundled_scenarios_dir() / f"{baseline.name}.toml", ["warmup_days=120"])
    model = Model(warm)
    rep = Replication(model.compiled, model.dtypes, seed=1, replication=0)
    rep.run()
    days = rep.desk.meetings.to_frame(warm.start_date)
    extraordinary = days.loc[days["extraordinary"], "time_day"]
    assert (extraordinary < -1).any()  # convened during the warm-up, before day -1
    assert all(p.outcome is not None for p in rep.desk.proposals)


def all_runs(baseline_run, tiny_runs):
    return [baseline_run, *tiny_runs]


def test_every_proposal_ends_in_exactly_one_outcome(baseline_run, tiny_runs) -> None:
    for r in all_runs(baseline_run, tiny_runs):
        p, ev = r.proposals, r.events
        assert p["outcome"].notna().all()
        assert set(p["outcome"].astype(str)) <= {o.value for o in Outcome}
        terminal = ev[ev["activity"].isin(TERMINAL_NAMES)]
        counts = terminal.groupby("case_id").size()
        assert (counts == 1).all()
        assert set(counts.index) == set(p["proposal_id"])


def test_no_event_before_arrival_or_after_the_outcome(baseline_run, tiny_runs) -> None:
    for r in all_runs(baseline_run, tiny_runs):
        ev = r.events
        first = ev.groupby("case_id")["time_day"].min()
        submitted = ev[ev["activity"] == "submitted"].set_index("case_id")["time_day"]
        assert np.allclose(first.loc[submitted.index], submitted)
        last = ev.groupby("case_id")["time_day"].max()
        end = ev[ev["activity"].isin(TERMINAL_NAMES)].set_index("case_id")["time_day"]
        assert np.allclose(last.loc[end.index], end)


def test_event_times_never_decrease_within_a_case(baseline_run) -> None:
    ev = baseline_run.events
    assert (ev["time_day"].diff().fillna(0) >= 0).all()  # sorted globally, stable per case
    assert ev["timestamp"].is_monotonic_increasing


def test_durations_match_the_log(baseline_run) -> None:
    p = baseline_run.proposals.set_index("proposal_id")
    ev = baseline_run.events
    end = ev[ev["activity"].isin(TERMINAL_NAMES)].set_index("case_id")["time_day"]
    assert np.allclose(p.loc[end.index, "arrival_day"] + p.loc[end.index, "duration_days"], end)
    decided = p["outcome"] != "pending"
    assert p.loc[~decided, "decided_day"].isna().all()
    assert (p.loc[decided, "decided_day"] <= baseline_run.meetings["time_day"].max() + 30).all()


def test_an_item_skips_only_the_bodies_its_type_may_skip(baseline: Scenario, baseline_run) -> None:
    """Climbing, every body passed over is one the type may skip (an urgent item: by its crisis
    profile's ``skip`` too), and one an urgent item always skips is never visited."""
    types = baseline.proposal_types
    urgent = baseline_run.proposals.set_index("proposal_id")["urgent"]
    crisis_skips = 0
    for (pid, ptype), visits in baseline_run.stages.groupby(["proposal_id", "type"], observed=True):
        t = types[str(ptype)]
        crisis = (t.crisis.skip or {}) if t.crisis is not None and urgent[pid] else {}
        always = {b for b, pr in crisis.items() if pr == 1.0}
        skippable = {b for b, pr in t.skip.items() if pr > 0} | {
            b for b, pr in crisis.items() if pr > 0
        }
        bodies = [str(b) for b in visits["body"]]
        assert not always & set(bodies), (pid, bodies)
        crisis_skips += bool(always)
        steps = [-1] + [t.route.index(b) for b in bodies if b in t.route]
        for a, b in itertools.pairwise(steps):
            if b > a:
                assert set(t.route[a + 1 : b]) <= skippable, (ptype, bodies)
    assert crisis_skips > 0  # the baseline's crisis packages go straight to Coreper


def test_no_regular_meeting_in_august_or_in_a_recess(baseline: Scenario, baseline_run) -> None:
    m = baseline_run.meetings
    ts = m.loc[~m["extraordinary"], "timestamp"]
    assert not (ts.dt.month == 8).any()
    md = list(zip(ts.dt.month, ts.dt.day, strict=True))
    assert not any((m == 12 and d >= 20) or (m == 1 and d <= 6) for m, d in md)
    assert m["extraordinary"].any()  # crises do not wait for the end of a recess


def test_meetings_respect_agenda_capacity(baseline: Scenario, baseline_run) -> None:
    m = baseline_run.meetings
    assert (m["discussed"] <= m["capacity"]).all()
    assert set(m["presidency"]) == {"2025-H1", "2025-H2"}


def test_same_seed_same_result_and_different_seed_differs(tiny: Scenario) -> None:
    a, b = run_replication(tiny, 3, 1), run_replication(tiny, 3, 1)
    pd.testing.assert_frame_equal(a.events, b.events)
    pd.testing.assert_frame_equal(a.proposals, b.proposals)
    c = run_replication(tiny, 4, 1)
    assert not a.proposals["arrival_day"].equals(c.proposals["arrival_day"])


@pytest.mark.parametrize("name", ["eu27_baseline", "qmv_art31", "constructive_abstention"])
def test_metrics_only_run_has_the_same_proposals_and_stages(name: str) -> None:
    s = load_scenario(bundled_scenarios_dir() / f"{name}.toml")
    model = Model(s)
    for rep in range(2):
        full, quick = model.run(8, rep), model.run(8, rep, detail=False)
        pd.testing.assert_frame_equal(full.proposals, quick.proposals)
        pd.testing.assert_frame_equal(full.stages, quick.stages)
        for table in ("events", "meetings"):  # empty, with the full run's columns and dtypes
            got, want = getattr(quick, table), getattr(full, table)
            assert len(got) == 0
            assert len(want) > 0
            assert list(got.columns) == list(want.columns)
            assert got.dtypes.astype(str).tolist() == want.dtypes.astype(str).tolist()
    tiny = run_replication(s, 8, 0, detail=False)
    pd.testing.assert_frame_equal(tiny.proposals, model.run(8, 0).proposals)


def test_everyone_always_objecting_adopts_nothing(tmp_path) -> None:
    s = load_scenario(
        DATA / "tiny.toml",
        ["member_defaults.objection_probability=1.0", "member_defaults.abstain_probability=0"],
    )
    p = run_replication(s, 1, 0).proposals
    assert len(p) > 0
    assert not p["outcome"].isin(["adopted", "adopted_with_abstentions"]).any()


def test_horizon_before_first_meeting_leaves_everything_pending() -> None:
    s = load_scenario(
        DATA / "tiny.toml", ["horizon_days=0.3", "proposal_types.item.arrivals.rate_per_year=3000"]
    )
    p = run_replication(s, 2, 0).proposals
    assert len(p) > 0
    assert (p["outcome"] == "pending").all()
    assert p["decided_day"].isna().all()


def test_baseline_year_reads_as_a_story(baseline_run) -> None:
    p, ev = baseline_run.proposals, baseline_run.events
    assert 250 <= len(p) <= 450  # several hundred CFSP items a year
    adopted = p["outcome"].isin(["adopted", "adopted_with_abstentions"]).mean()
    assert adopted > 0.6
    acts = set(ev["activity"].astype(str))
    assert {"submitted", "tabled", "objection", "compromise", "agreed", "adopted"} <= acts
    assert {"written_procedure", "instructions_received", "reservation"} <= acts


def test_the_baselines_statement_workaround_only_changes_how_blocked_statements_end(
    baseline: Scenario, baseline_run: ReplicationResult
) -> None:
    """Switched on for ``eu_statement`` (the record's ST01-ST03): the same run, with some
    blocked or lapsed statements issued by the High Representative instead; nothing else moves,
    and adoption is what it was."""
    data = baseline.model_dump(by_alias=True, exclude_none=True)
    del data["proposal_types"]["eu_statement"]["workaround"]
    without = run_replication(Scenario.model_validate(data), seed=11, replication=0)
    a, b = without.proposals, baseline_run.proposals
    issued = (b["outcome"] == "issued_by_hr").to_numpy()
    assert issued.any()
    assert set(b.loc[issued, "type"].astype(str)) == {"eu_statement"}
    assert set(a.loc[issued, "outcome"].astype(str)) <= {"blocked", "lapsed", "withdrawn"}
    assert a[~issued].astype(str).equals(b[~issued].astype(str))
    kept = [c for c in a.columns if c not in ("outcome", "blocking_states")]
    assert a[kept].equals(b[kept])
    for name, ending in (("events", "activity"), ("stages", "exit")):
        x, y = getattr(without, name), getattr(baseline_run, name)
        assert x.drop(columns=ending).equals(y.drop(columns=ending)), name
        moved = x[ending] != y[ending]
        assert set(y.loc[moved, ending].astype(str)) == {"issued_by_hr"}, name
