"""``make gallery``: the comparisons rerun, the figures copied, the README's numbers rewritten
(a short try on copies, so the real README and gallery stay as committed)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.slow


def test_gallery_rewrites_only_the_marked_passages(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    original = (ROOT / "README.md").read_text(encoding="utf-8")
    readme.write_text(original, encoding="utf-8")
    gallery = tmp_path / "gallery"
    options = ["-n", "2", "--posterior-replications", "2", "--horizon", "60", "--workers", "1"]
    paths = ["--results", str(tmp_path / "results"), "--gallery", str(gallery)]
    res = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "gallery.py"),
            *options,
            *paths,
            "--readme",
            str(readme),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert res.returncode == 0, res.stderr
    for name in (
        "baseline_time_split",
        "unanimity_vs_qmv_adoption",
        "unanimity_vs_qmv_forest_days",
    ):
        assert (gallery / f"{name}.png").stat().st_size > 1000
    text = readme.read_text(encoding="utf-8")
    assert "QMV makes sanctions packages <!-- gallery:qmv -->**" in text
    assert "95% CI of the\npaired difference" in text
    assert "With 2 replications (seed 2025)" in text  # the scenarios table
    assert "| `holdout_state`: one hold-out state |" in text
    assert " pp [" in text
    # the QMV paragraph: without hold-outs (every state's propensity set to 0), over all
    # types, the brakes
    assert "(4 `--set ...holdout_probability=0`, 2 replications, seed 2025)" in text
    assert re.search(r"gallery:qmv_overall -->\S+ days \(\S+ to \S+\) across all types", text)
    assert re.search(
        r"gallery:qmv_brakes -->(no|\d+) emergency brakes? in 0.329 simulated years", text
    )
    assert re.search(r"gallery:qmv_types -->sanctions packages \S+ days \(", text)
    # QMV with and without parameter uncertainty
    assert "2 replications, seed 2025, posterior `calibration`:" in text
    assert "| adoption rate of packages |" in text
    assert "2 replications of a year, seed 2025, each row paired" in text  # decomposition
    assert "| **all together** (`enlargement_eu35`) |" in text
    assert "| random coalition passes |" in text  # the power table
    assert (gallery / "enlargement_decomposition.png").stat().st_size > 1000
    before = original.split("<!-- gallery:qmv -->")[0]
    assert text.startswith(before)  # the hand-written text before the first passage is kept
    generated = re.compile(r"<!-- gallery:(\w+) -->.*?<!-- /gallery:\1 -->", re.S)
    for written in generated.split(original)[::2]:  # every hand-written stretch is kept
        assert written in text
