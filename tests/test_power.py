"""Exact voting power: sums, symmetry, dummies, and agreement with brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from sim.core.power import voting_power
from sim.core.voting import QualifiedMajorityRule, UnanimityRule
from sim.engine.compile import make_rule
from sim.scenario import Scenario


def passing_probability_bruteforce(rule, w: np.ndarray) -> float:
    """Share of coalitions that pass, by enumerating all 2^n."""
    n = len(w)
    t = rule.passing_population(n, int(w.sum()))
    masks = np.array(list(itertools.product([0, 1], repeat=n)), bool)
    return float(np.mean(masks @ w >= t[masks.sum(axis=1)]))


def brute_banzhaf_swings(rule, w: np.ndarray) -> list[int]:
    n, total = len(w), int(w.sum())
    t = rule.passing_population(n, total)
    swings = [0] * n
    for mask in itertools.product([0, 1], repeat=n):
        m = np.array(mask, bool)
        if w[m].sum() < t[m.sum()]:
            continue
        for i in np.flatnonzero(m):
            m2 = m.copy()
            m2[i] = False
            if w[m2].sum() < t[m2.sum()]:
                swings[i] += 1
    return swings


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_matches_brute_force_on_small_games(seed: int) -> None:
    rng = np.random.default_rng(seed)
    w = rng.integers(1, 1000, 9)
    rule = QualifiedMajorityRule("q", 0.55, 0.65, 3)
    table, passing = voting_power(rule, [f"S{i}" for i in range(9)], w)
    swings = dict(zip(table["member_state"], table["swings"], strict=True))
    assert [swings[f"S{i}"] for i in range(9)] == brute_banzhaf_swings(rule, w)
    assert passing == pytest.approx(passing_probability_bruteforce(rule, w), abs=0)


def test_eu27_indices_sum_to_one(baseline: Scenario) -> None:
    members = baseline.resolved_members()
    w = np.array([m.population for m in members])
    rule = make_rule("qmv", baseline.decision_rules["qmv"])
    table, passing = voting_power(rule, [m.code for m in members], w)
    assert table["banzhaf"].sum() == pytest.approx(1.0, abs=1e-12)
    assert table["shapley_shubik"].sum() == pytest.approx(1.0, abs=1e-12)
    assert table.iloc[0]["member_state"] == "DE"
    assert table.iloc[-1]["member_state"] == "MT"
    assert 0.12 < passing < 0.14  # known: about 13% of coalitions pass under EU27 QMV


def test_equal_weights_give_equal_power() -> None:
    rule = QualifiedMajorityRule("q", 0.55, 0.65, 4)
    table, _ = voting_power(rule, [f"S{i}" for i in range(12)], np.full(12, 5))
    assert np.allclose(table["banzhaf"], 1 / 12)
    assert np.allclose(table["shapley_shubik"], 1 / 12)


def test_dummy_player_has_no_power() -> None:
    # passes only with 80% of weight: {A, B} pass, C is never pivotal
    rule = QualifiedMajorityRule("q", 0.0, 0.8, 0)
    table, _ = voting_power(rule, ["A", "B", "C"], np.array([2, 2, 1]))
    power = table.set_index("member_state")
    assert power.loc["C", "banzhaf"] == 0
    assert power.loc["C", "shapley_shubik"] == 0
    assert power.loc["A", "banzhaf"] == pytest.approx(0.5)


def test_unanimity_gives_everyone_a_veto() -> None:
    table, passing = voting_power(UnanimityRule("u"), list("ABCDE"), np.array([5, 4, 3, 2, 1]))
    assert np.allclose(table["banzhaf"], 0.2)
    assert np.allclose(table["shapley_shubik"], 0.2)
    assert passing == 2**-5


def test_thirty_six_members_is_exact_and_fast_enough() -> None:
    w = np.random.default_rng(0).integers(10**5, 10**8, 36)
    rule = QualifiedMajorityRule("q", 0.55, 0.65, 4)
    table, passing = voting_power(rule, [f"S{i:02d}" for i in range(36)], w)
    assert table["banzhaf"].sum() == pytest.approx(1.0)
    assert (np.diff(table["banzhaf"].to_numpy()) <= 1e-15).all()
    assert 0 < passing < 1


def test_power_compares_the_eu27_with_an_enlargement_wave(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from sim.cli import main

    assert main(["power", "eu27_baseline", "--rule", "qmv", "--compare", "enlargement_eu30"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    assert lines["UA"].split()[1] == "-"  # not a member of the EU27
    assert lines["DE"].rstrip().endswith("%")  # Germany's change of power
    assert "(1.00 x eu27_baseline)" in out
    assert main(["power", "eu27_baseline", "--compare", "enlargement_eu30", "--rule", "qvm"]) == 2
