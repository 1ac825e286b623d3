"""Enlargement from measured behaviour: candidates' data, the alignment mapping, the waves."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest

from sim.engine.compile import run_replication
from sim.scenario import ResolvedMember, Scenario, ScenarioError, bundled_scenarios, load_scenario
from sim.scenario.alignment import (
    COEFFICIENTS,
    SANCTIONS_WEIGHT,
    AlignmentMapping,
    candidates_data,
    per_type_nonalignment,
    russia_sanctions,
)
from sim.scenario.members import MemberStateSpec

from .conftest import DATA, ROOT

EU27 = set(tomllib.loads((ROOT / "sim" / "data" / "eu27.toml").read_text())["states"])
WAVES = {"enlargement_eu30": 30, "enlargement_eu33": 33, "enlargement_eu35": 35}


def test_every_coefficient_has_a_value_in_its_range_and_a_reason() -> None:
    mapping = candidates_data()["mapping"]
    for name in COEFFICIENTS:
        c = mapping[name]
        lo, hi = c["range"]
        assert lo <= c["value"] <= hi, name
        assert c["reason"].startswith("ASSUMPTION"), name


def test_every_candidate_cites_its_sources() -> None:
    for code, entry in candidates_data()["candidates"].items():
        assert entry["population_source"].startswith("http"), code
        if "alignment_percent" in entry:
            assert entry["alignment_source"].startswith("http"), code
            assert entry["alignment_confidence"] in ("official", "press", "inferred"), code
        for row in entry.get("alignment_history", []):
            assert row["source"].startswith("http"), code
            assert row["russia_sanctions"] in SANCTIONS_WEIGHT, code
    ua = candidates_data()["candidates"]["UA"]
    assert ua["population_low"] < ua["population"] < ua["population_high"]


def test_every_new_member_of_a_bundled_scenario_cites_the_candidates_data() -> None:
    for name in bundled_scenarios():
        s = load_scenario(name)
        for code, spec in s.member_states.items():
            if code not in EU27:
                assert spec.alignment_from == code, (name, code)
                assert spec.population is None, (name, code)  # taken from the data
    for name, n in WAVES.items():
        assert len(load_scenario(name).resolved_members()) == n
        assert (
            len(load_scenario(f"{name}_qmv" if n < 35 else "qmv_enlarged").resolved_members()) == n
        )


def test_ukraine_population_at_either_end_of_its_range() -> None:
    ua = candidates_data()["candidates"]["UA"]
    for end in ("low", "high"):
        members = load_scenario(f"qmv_enlarged_ukraine_{end}").resolved_members()
        assert {m.code: m.population for m in members}["UA"] == ua[f"population_{end}"]


def _with_candidates() -> tuple[dict[str, ResolvedMember], Scenario]:
    s = load_scenario(
        "eu27_baseline",
        [
            'member_states.XA.alignment_from="ME"',  # 100% aligned
            'member_states.XA.name="fully aligned"',
            "member_states.XB.alignment=0.5",
            'member_states.XB.name="half aligned"',
            "member_states.XB.population=2000000",
            "horizon_days=180",
        ],
    )
    return {m.code: m for m in s.resolved_members()}, s


def test_a_fully_aligned_candidate_behaves_as_an_eu27_default_member() -> None:
    members, _s = _with_candidates()
    defaults = members["FR"].behaviour  # FR has no overrides: the EU27 default
    assert members["XA"].behaviour == defaults
    assert members["XB"].behaviour.holdout_probability > 5 * defaults.holdout_probability
    assert members["XB"].behaviour.objection_probability > defaults.objection_probability


def test_a_half_aligned_candidate_objects_materially_more_often() -> None:
    _, s = _with_candidates()
    counts = {"XA": 0, "XB": 0, "FR": 0}
    holds = {"XA": 0, "XB": 0, "FR": 0}
    for rep in range(3):
        ev = run_replication(s, seed=2025, replication=rep).events
        for code in counts:
            mine = ev[ev["member_state"] == code]
            counts[code] += int((mine["activity"] == "objection").sum())
            holds[code] += int((mine["activity"] == "concession").sum())
    assert counts["XB"] >= 4 * max(counts["XA"], 1)
    # a default member's hold-outs are rare; the half-aligned candidate's are not
    assert holds["XB"] >= 4 * max(holds["XA"], holds["FR"], 1)


def test_explicit_keys_win_over_the_mapping() -> None:
    s = load_scenario(
        "enlargement_eu35",
        [
            "member_states.RS.holdout_probability=0.0",
            "member_states.RS.positions.eu_statement=0.99",
            "alignment_mapping.objection_per_nonalignment=0.0",
        ],
    )
    rs = {m.code: m for m in s.resolved_members()}["RS"].behaviour
    assert rs.holdout_probability == 0.0
    assert rs.positions["eu_statement"] == 0.99
    assert rs.objection_probability == s.member_defaults.objection_probability
    assert rs.positions["sanctions_package"] < s.proposal_types["sanctions_package"].position


def test_meetings_take_fewer_items_with_more_delegations() -> None:
    base = load_scenario("eu27_baseline")
    agenda = load_scenario("enlargement_eu35_agenda_only")
    eu35 = load_scenario("enlargement_eu35")
    psc = base.bodies["PSC"]
    assert base.meeting_capacity(psc, 27) == psc.capacity == 10
    assert agenda.meeting_capacity(psc, 27) == eu35.meeting_capacity(psc, 35) == 9
    caps = [base.meeting_capacity(b, 27) for b in base.bodies.values()]
    caps35 = [eu35.meeting_capacity(b, 35) for b in eu35.bodies.values()]
    assert all(np.less_equal(caps35, caps))
    assert sum(caps35) < sum(caps)
    off = load_scenario(
        "enlargement_eu35", ["negotiation.agenda.tour_de_table.delegations=27"]
    )  # as many delegations as the capacities are stated for: room unchanged
    assert off.meeting_capacity(psc, 35) == 10


@pytest.mark.parametrize("variant", ["capitals_only", "vetoes_only"])
def test_decomposition_variants_switch_on_one_source(variant: str) -> None:
    s = load_scenario(f"enlargement_eu35_{variant}")
    new = [m for m in s.resolved_members() if m.code not in EU27]
    assert len(new) == 8
    for m in new:
        b = m.behaviour
        if variant == "capitals_only":
            assert b.holdout_probability == b.objection_probability == 0.0
            assert b.instruction_delay == s.member_defaults.instruction_delay
        else:
            assert b.instruction_delay.mean == 0.0
            assert b.scrutiny_probability == 0.0
    table = s.negotiation.agenda.tour_de_table
    assert table is not None
    assert table.delegations == 27


def test_the_mapping_applies_to_any_scenario_and_its_coefficients_can_be_overridden() -> None:
    s = load_scenario(
        DATA / "tiny.toml",
        ["member_states.AA.alignment=0.5", "alignment_mapping.holdout_per_nonalignment=0.2"],
    )
    aa = {m.code: m for m in s.resolved_members()}["AA"].behaviour
    assert aa.holdout_probability == pytest.approx(s.member_defaults.holdout_probability + 0.1)


SANCTIONS = ("sanctions_package", "sanctions_renewal", "listings_renewal", "listing")


def _members(*overrides: str) -> tuple[dict[str, ResolvedMember], Scenario]:
    s = load_scenario("enlargement_eu35", list(overrides))
    return {m.code: m for m in s.resolved_members()}, s


def test_a_non_applier_holds_out_on_the_sanctions_types_only() -> None:
    assert russia_sanctions(MemberStateSpec(alignment_from="RS")) == "no"
    members, s = _members()
    rs, default = members["RS"].behaviour, s.member_defaults
    assert set(rs.demands) == set(SANCTIONS)
    d = 1 - candidates_data()["candidates"]["RS"]["alignment_percent"] / 100
    k = candidates_data()["mapping"]["holdout_per_nonalignment"]["value"]
    for t in SANCTIONS:  # more than the even spread's on the sanctions files, less elsewhere
        assert rs.demands[t].probability > default.holdout_probability + k * d
    assert (
        default.holdout_probability < rs.holdout_probability < default.holdout_probability + k * d
    )
    even = _members("alignment_mapping.sanctions_concentration=0.0")[0]
    assert rs.positions["eu_statement"] > even["RS"].behaviour.positions["eu_statement"]
    assert rs.positions["listing"] < even["RS"].behaviour.positions["listing"]
    for code in EU27:  # EU members untouched (Hungary's own demands included)
        assert members[code].behaviour == even[code].behaviour, code


@pytest.mark.parametrize(
    "entry", [MemberStateSpec(alignment_from="MD"), MemberStateSpec(alignment=0.5)]
)
def test_an_applier_or_an_unknown_keeps_the_even_spread(entry: MemberStateSpec) -> None:
    _, s = _members()
    mapping = AlignmentMapping.of(s)
    weight = SANCTIONS_WEIGHT[russia_sanctions(entry)]
    assert weight == 0.0
    spread = per_type_nonalignment(
        0.3, mapping.sanctions_concentration * weight, mapping, s.proposal_types
    )
    assert set(spread.values()) == {0.3}
    assert russia_sanctions(MemberStateSpec(alignment_from="MK")) == "unknown"  # 2025 says nothing
    assert russia_sanctions(MemberStateSpec(alignment_from="BA")) == "partial"
    assert SANCTIONS_WEIGHT["yes"] == 0.0


@pytest.mark.parametrize("d", [0.05, 0.38, 0.51, 0.96])
@pytest.mark.parametrize("c", [0.4, 0.8, 1.0])
def test_concentration_keeps_the_expected_share_of_rejected_acts(d: float, c: float) -> None:
    """Counted in expected proposals a year over the measured types, a concentrated state
    rejects as many acts as the even spread: the measured rate."""
    _, s = _members()
    mapping = AlignmentMapping.of(s)
    spread = per_type_nonalignment(d, c, mapping, s.proposal_types)
    pts = s.proposal_types
    n = {
        t: pts[t].arrivals.rate_per_year
        if pts[t].arrivals.kind == "poisson"
        else len(pts[t].arrivals.deadlines) * pts[t].arrivals.count
        for t in mapping.measured_types
    }
    rejected = sum(n[t] * spread[t] for t in n) / sum(n.values())
    assert rejected == pytest.approx(d)
    assert all(0.0 <= v <= 1.0 for v in spread.values())
    assert spread["listing"] > spread["eu_statement"]
    assert spread["council_conclusions"] == spread["eu_statement"]


def test_the_concentration_can_be_overridden_and_is_validated() -> None:
    off = _members("alignment_mapping.sanctions_concentration=0.0")[0]["GE"].behaviour
    assert not off.demands  # the even spread of before
    members, s = _members("alignment_mapping.sanctions_concentration=1.0")
    full = members["GE"].behaviour
    d = 1 - candidates_data()["candidates"]["GE"]["alignment_percent"] / 100
    k = candidates_data()["mapping"]["holdout_per_nonalignment"]["value"]
    base = s.member_defaults.holdout_probability
    assert full.demands["listing"].probability == pytest.approx(base + k * 1.0)
    assert full.holdout_probability == pytest.approx(base + k * (d * 228 - 78) / 150)
    only = _members('alignment_mapping.sanctions_types=["sanctions_package"]')[0]["GE"].behaviour
    assert set(only.demands) == {"sanctions_package"}
    # a stated holdout_probability replaces the mapped hold-outs, demands included
    held = _members("member_states.RS.holdout_probability=0.0")[0]["RS"].behaviour
    assert held.holdout_probability == 0.0
    assert not held.demands


@pytest.mark.parametrize(
    ("override", "problem"),
    [
        ("alignment_mapping.sanctions_concentration=1.5", "less than or equal to 1"),
        ("alignment_mapping.sanctions_concentration=-0.1", "greater than or equal to 0"),
        ('alignment_mapping.sanctions_types=["nonsense"]', "unknown proposal type 'nonsense'"),
        ('alignment_mapping.sanctions_types=["epf_measure"]', "not among measured_types"),
    ],
)
def test_a_bad_concentration_is_refused_clearly(override: str, problem: str) -> None:
    with pytest.raises(ScenarioError) as err:
        _members(override)
    message = str(err.value)
    assert "alignment_mapping.sanctions_" in message
    assert problem in message
