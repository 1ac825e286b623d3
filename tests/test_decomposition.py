"""QMV's effect split into mechanisms: the chain's scenarios, the chained decomposition (its
components add up to the total), ``compare --decompose`` and the gallery's passages."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis.stats import REFERENCE_MIX
from sim.cli import main
from sim.core.errors import UserError
from sim.experiment.results import open_results
from sim.experiment.runner import run_experiment
from sim.experiment.source import Source
from sim.experiment.study import ExperimentOptions
from sim.report.decomposition import CHAINS, TOTAL, chain, step_overrides, type_contributions
from sim.scenario import load_scenario

from .conftest import ROOT

QUIET = ExperimentOptions(progress=False)
SETS = (  # the practice the chain decomposes, switched on as the baseline will have it
    "negotiation.bargaining.shadow.ally_distance=0.05",
    "negotiation.bargaining.release=true",
    "horizon_days=150",
)
STEPS = [name for _, name in CHAINS["qmv_art31"]][:-1]


@pytest.fixture(scope="module")
def decomposed(tmp_path_factory) -> dict[str, Path]:
    """The baseline and qmv_art31 (3 paired replications), and ``compare --decompose``."""
    root = tmp_path_factory.mktemp("decomposed")
    out = {
        name: run_experiment(
            Source(name, SETS), root / name, replications=3, seed=11, options=QUIET
        ).path
        for name in ("eu27_baseline", "qmv_art31")
    }
    out["other_seed"] = run_experiment(
        Source("eu27_baseline", SETS), root / "other_seed", replications=3, seed=12, options=QUIET
    ).path
    out["cmp"] = root / "cmp"
    status = main(
        [
            "compare",
            str(out["eu27_baseline"]),
            str(out["qmv_art31"]),
            "--decompose",
            "--workers",
            "1",
            "--out",
            str(out["cmp"]),
        ]
    )
    assert status == 0
    return out


def test_the_variants_switch_off_what_their_headers_say() -> None:
    for name in STEPS:
        s = load_scenario(name)
        assert s.name == name
        assert s.member_defaults.brake_probability == 0
        assert all(not m.brake_probability for m in s.member_states.values()), name
        assert s.decision_rules["qmv"].emergency_brake  # the rule stays as in qmv_art31
        assert s.proposal_types["sanctions_package"].rule == "qmv"
    outvoting = load_scenario("qmv_art31_outvoting_only")
    assert outvoting.negotiation.bargaining.shadow.ally_distance == 1.0
    # the next step keeps whatever anticipation qmv_art31 has, with or without a shadow table
    for sets in ([], list(SETS)):
        no_brake, full = (load_scenario(n, sets) for n in ("qmv_art31_no_brake", "qmv_art31"))
        assert no_brake.negotiation == full.negotiation
        assert no_brake.decision_rules == full.decision_rules
    assert load_scenario("qmv_art31").member_defaults.brake_probability > 0


def test_ally_distance_one_switches_the_shadow_off_exactly(tmp_path) -> None:
    """Every state an ally: every would-be holder can block, as without the shadow table."""
    s = load_scenario("qmv_art31_outvoting_only", ["horizon_days=150"])
    bargaining = s.negotiation.bargaining.model_copy(update={"shadow": None})
    without = s.model_copy(
        update={"negotiation": s.negotiation.model_copy(update={"bargaining": bargaining})}
    )
    a, b = (
        run_experiment(x, tmp_path / k, replications=2, seed=5, options=QUIET)
        for k, x in (("one", s), ("none", without))
    )
    pd.testing.assert_frame_equal(a.events, b.events)
    pd.testing.assert_frame_equal(a.metrics, b.metrics)


def test_compare_decompose_runs_the_steps_and_writes_the_split(decomposed) -> None:
    cmp = decomposed["cmp"]
    table = pd.read_csv(cmp / "decomposition.csv")
    assert "decomposition.csv" in open_results(decomposed["qmv_art31"]).path.parent.joinpath(
        "cmp", "manifest.json"
    ).read_text(encoding="utf-8")
    report = (cmp / "report.html").read_text(encoding="utf-8")
    assert "<h2>Mechanisms</h2>" in report
    assert report.index("Mechanisms") < report.index("By proposal type")
    steps = cmp.parent / "cmp_steps"
    for name in STEPS:
        run = open_results(steps / name)
        assert run.manifest["scenario"] == name
        assert (run.manifest["seed"], run.manifest["replications"]) == (11, 3)
        assert not (run.events["activity"] == "emergency_brake").any(), name
    # the steps run from the compared run (its --set overrides), their own keys written over it
    text = (steps / "qmv_art31_outvoting_only" / "scenario.toml").read_text(encoding="utf-8")
    assert "ally_distance = 1.0" in text
    assert "horizon_days = 150.0" in text
    no_brake = (steps / "qmv_art31_no_brake" / "scenario.toml").read_text(encoding="utf-8")
    assert "ally_distance = 0.05" in no_brake
    assert set(table["component"]) == {"outvoting", "anticipation", "emergency brake", TOTAL}


def test_chain_components_add_up_to_the_total_per_metric_and_type(decomposed) -> None:
    runs = {"reference": decomposed["eu27_baseline"]}
    steps = decomposed["cmp"].parent / "cmp_steps"
    runs |= {"outvoting": steps / STEPS[0], "anticipation": steps / STEPS[1]}
    runs["emergency brake"] = decomposed["qmv_art31"]
    table = chain(runs)
    written = pd.read_csv(decomposed["cmp"] / "decomposition.csv")
    np.testing.assert_allclose(written["difference"], table["difference"], rtol=1e-12)
    types = set(open_results(decomposed["eu27_baseline"]).proposals["type"].astype(str))
    for metric, t in table.groupby("metric"):
        assert set(t["group"]) == {REFERENCE_MIX, *types}, metric
        for group, g in t.groupby("group"):
            parts = g.set_index("component")["difference"]
            if parts.isna().all():
                continue
            total = parts.pop(TOTAL)
            assert parts.sum() == pytest.approx(total, abs=1e-9), (metric, group)
    days = table[(table["metric"] == "time_to_adoption_mean") & (table["group"] == REFERENCE_MIX)]
    assert (days["n_pairs"] == 3).all()
    assert days["share"].iloc[-1] == pytest.approx(1.0)
    # a mechanism that changes nothing adds nothing: the same run twice in the chain
    same = chain({"reference": runs["reference"], "nothing": runs["reference"]})
    assert (same["difference"].dropna() == 0).all()


def test_decompositions_refuse_runs_that_are_not_paired(decomposed, tmp_path, capsys) -> None:
    with pytest.raises(UserError, match="one seed"):
        chain({"reference": decomposed["other_seed"], "qmv": decomposed["qmv_art31"]})
    with pytest.raises(UserError, match="seed 12"):
        type_contributions(decomposed["other_seed"], decomposed["qmv_art31"])
    args = ["compare", str(decomposed["other_seed"]), str(decomposed["qmv_art31"])]
    assert main([*args, "--decompose", "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert "same --seed" in err
    assert err.count("\n") == 1
    assert not (tmp_path / "c_steps").exists()
    # a scenario without a chain, and three runs
    base = str(decomposed["eu27_baseline"])
    assert main(["compare", base, base + "/", "--decompose", "--out", str(tmp_path / "d")]) == 2
    assert "no chain of mechanisms for the scenario 'eu27_baseline'" in capsys.readouterr().err
    three = ["compare", base, str(decomposed["qmv_art31"]), str(decomposed["other_seed"])]
    assert main([*three, "--decompose", "--out", str(tmp_path / "e")]) == 2
    assert "two results folders" in capsys.readouterr().err


def test_step_overrides_are_the_keys_a_step_writes_itself() -> None:
    sets = step_overrides("qmv_art31_outvoting_only")
    assert 'name="qmv_art31_outvoting_only"' in sets
    assert "negotiation.bargaining.shadow.ally_distance=1.0" in sets
    assert not any(s.startswith(("extends", "proposal_types")) for s in sets)


def test_type_contributions_add_up_to_the_types_total(decomposed) -> None:
    t = type_contributions(decomposed["eu27_baseline"], decomposed["qmv_art31"])
    assert t["weight"].sum() == pytest.approx(1.0)
    assert t["share"].sum() == pytest.approx(1.0)
    assert (t["contribution"] == t["weight"] * t["difference"]).all()


@pytest.mark.slow
def test_gallery_passages_run_on_a_short_try(tmp_path) -> None:
    sys.path.insert(0, str(ROOT / "tools"))
    import gallery

    args = argparse.Namespace(
        replications=2, seed=3, horizon=90.0, workers=1, results=tmp_path, done={}
    )
    base = gallery._run(gallery.BASELINE, args)
    passage, table = gallery.qmv_decomposition_passage(base, args)
    assert "| **total** (`qmv_art31`) |" in passage
    assert "| outvoting |" in passage
    assert "| emergency brake |" in passage
    assert "../gallery/qmv_decomposition.png" in passage
    gallery.qmv_decomposition_figure(table, tmp_path / "q.png")
    assert (tmp_path / "q.png").stat().st_size > 1000
    phrase = gallery.mechanisms_phrase(table)
    assert phrase.startswith("sanctions packages ")
    assert " and listings renewals " in phrase
    assert "(outvoting " in phrase
    assert "; anticipation " in phrase
    types, top = gallery.eu35_types_passage(base, args)
    assert "| EU statements |" in types
    assert "% of it on " in top
