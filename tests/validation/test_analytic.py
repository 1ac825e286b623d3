"""Checks against results computable by hand (SPEC §2; STYLE B12 analytic checks)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from sim.engine.compile import Model, run_replication
from sim.scenario import load_scenario

from ..conftest import DATA


@pytest.mark.slow
def test_mean_wait_for_a_weekly_meeting_is_half_a_week() -> None:
    s = load_scenario(DATA / "analytic_wait.toml")
    model = Model(s)
    durations = np.concatenate(
        [model.run(9, rep).proposals["duration_days"].to_numpy() for rep in range(4)]
    )
    meetings = model.bodies[0].times
    arrivals = np.concatenate([model.run(9, rep).proposals["arrival_day"] for rep in range(4)])
    decided = arrivals + durations
    # exact: each item is adopted at the first meeting strictly after it arrives
    done = ~np.isnan(durations) & (arrivals < meetings[-1])
    nxt = meetings[np.searchsorted(meetings, arrivals[done], side="right")]
    assert np.allclose(decided[done], nxt)
    # statistical: Poisson arrivals see a mean wait of T/2 = 3.5 days
    w = durations[done]
    half = sps.t.ppf(0.999, len(w) - 1) * w.std(ddof=1) / np.sqrt(len(w))
    assert abs(w.mean() - 3.5) < half
    assert abs(w.mean() - 3.5) < 0.1


@pytest.mark.slow
def test_round_success_probability_is_one_minus_p_to_the_n() -> None:
    s = load_scenario(DATA / "analytic_veto.toml")
    model = Model(s)
    first_ok = []
    for rep in range(3):
        ev = model.run(21, rep).events
        rounds = ev[ev["activity"].isin(["agreed", "objection"])]
        first_time = rounds.groupby("case_id")["time_day"].transform("min")
        first = rounds[rounds["time_day"] == first_time]
        first_ok.extend(
            first.groupby("case_id")["activity"].apply(lambda a: "objection" not in set(a))
        )
    share = np.mean(first_ok)
    expected = 0.9**5
    se = np.sqrt(expected * (1 - expected) / len(first_ok))
    assert len(first_ok) > 3000
    assert abs(share - expected) < 4 * se


def test_deterministic_durations_by_hand() -> None:
    s = load_scenario(DATA / "deterministic.toml")
    p = run_replication(s, 1, 0).proposals
    assert len(p) == 1
    assert p.loc[0, "arrival_day"] == 4.0
    assert p.loc[0, "outcome"] == "adopted"
    assert p.loc[0, "duration_days"] == pytest.approx(5 + 10 / 24)
    # four-day instructions miss Monday 13 Jan: WP on 20 Jan, council on 22 Jan
    s4 = load_scenario(
        DATA / "deterministic.toml", ['member_defaults.instruction_delay={dist="fixed", value=4}']
    )
    p4 = run_replication(s4, 1, 0).proposals
    assert p4.loc[0, "duration_days"] == pytest.approx(12 + 10 / 24)


def test_deterministic_time_split_by_body() -> None:
    s = load_scenario(
        DATA / "deterministic.toml", ['member_defaults.instruction_delay={dist="fixed", value=4}']
    )
    st = run_replication(s, 1, 0).stages.set_index("body")
    wp = st.loc["WP"]
    assert wp["wait_instructions_days"] == pytest.approx(4.0)  # day 4 to day 8
    assert wp["wait_meeting_days"] == pytest.approx(14 + 10 / 24 - 8)
    assert wp["negotiating_days"] == 0
    assert st.loc["COUNCIL", "wait_meeting_days"] == pytest.approx(2.0)
