"""``tools/adopt_calibration.py``: a calibration's posterior point written into the baseline."""

from __future__ import annotations

import importlib.util
import re
import tomllib

import pytest

from sim.scenario import load_scenario

from .conftest import BASELINE, ROOT

_spec = importlib.util.spec_from_file_location("adopt", ROOT / "tools" / "adopt_calibration.py")
assert _spec is not None
assert _spec.loader is not None
adopt_tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(adopt_tool)

BUNDLED = ROOT / "docs" / "calibration" / "calibrated.toml"


# The two values the baseline's header explains: the posterior leaves them unidentified and
# the point takes them inside its 90% interval, where the point fits every target.
POINT_DEPARTURES = [
    "proposal_types.listings_renewal.arrivals.lead_days: 8 -> 21.72",
    "proposal_types.epf_measure.holdout_duration_scale: 24.36 -> 9.594",
]


def test_the_baseline_carries_the_bundled_posterior_point_but_its_two_departures() -> None:
    text, changes = adopt_tool.adopt(BASELINE.read_text(), BUNDLED.read_text())
    assert changes == POINT_DEPARTURES
    lines = zip(text.splitlines(), BASELINE.read_text().splitlines(), strict=True)
    kept = [a for a, b in lines if a == b]
    assert len(kept) == len(BASELINE.read_text().splitlines()) - 2  # markers, sha256 and the rest


def test_a_value_in_an_inline_table_is_rewritten() -> None:
    scenario = (
        "[member_states.HU]\n"
        "demands = { a = { probability = 0.03 }, b = { probability = 0.1 } }  # CALIBRATED"
        " probability (hand-set 0.06)\n"
    )
    calibrated = "[member_states.HU.demands.b]\nprobability = 0.2\n"
    text, changes = adopt_tool.adopt(scenario, calibrated)
    assert changes == ["member_states.HU.demands.b.probability: 0.1 -> 0.2"]
    assert "a = { probability = 0.03 }, b = { probability = 0.2 } }" in text


def test_a_recalibration_rewrites_the_numbers_and_keeps_the_hand_set_values(tmp_path) -> None:
    bundled = BUNDLED.read_text()
    cal = tomllib.loads(bundled)
    hu = cal["member_states"]["HU"]["holdout_days"]["median"]
    urgent = cal["proposal_types"]["sanctions_package"]["crisis"]["share"]
    sha = re.search(r"sha256 ([0-9a-f]{64})", bundled)
    assert sha is not None
    new = bundled.replace(sha.group(1), "0" * 64)
    new = new.replace(f"share = {urgent}", "share = 0.5")
    new = new.replace(
        f"[member_states.HU.holdout_days]\nmedian = {hu}",
        "[member_states.HU.holdout_days]\nmedian = 9.5",
    )
    text, changes = adopt_tool.adopt(BASELINE.read_text(), new)
    assert sorted(set(changes) - set(POINT_DEPARTURES)) == [
        f"member_states.HU.holdout_days.median: {hu} -> 9.5",
        f"proposal_types.sanctions_package.crisis.share: {urgent} -> 0.5",
    ]
    assert f"sha256 {'0' * 64}" in text
    assert "median = 9.5, sigma = 1.0 }  # CALIBRATED median (hand-set 6)" in text
    assert "\nshare = 0.5  " in text
    assert "CALIBRATED (hand-set 0.3)" in text
    out = tmp_path / "eu27_baseline.toml"
    out.write_text(text)
    adopted = load_scenario(out)
    crisis = adopted.proposal_types["sanctions_package"].crisis
    assert crisis is not None
    assert crisis.share == 0.5
    assert adopted.member_states["HU"].holdout_days.median == 9.5


def test_a_value_the_scenario_does_not_state_is_refused() -> None:
    with pytest.raises(SystemExit, match=r"bodies\.PSC\.quorum: no line for it"):
        adopt_tool.adopt(BASELINE.read_text(), "[bodies.PSC]\nquorum = 3\n")
