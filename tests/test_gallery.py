"""``make gallery``: the comparisons rerun, the figures copied, the numbers of the README, the
site's home page and its findings pages rewritten (a short try on copies, so the real files and
gallery stay as committed)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.slow


def test_gallery_rewrites_only_the_marked_passages(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text((ROOT / "README.md").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "docs").mkdir()
    shutil.copy(ROOT / "docs" / "index.md", tmp_path / "docs" / "index.md")
    shutil.copytree(ROOT / "docs" / "findings", tmp_path / "docs" / "findings")
    pages = [
        readme,
        tmp_path / "docs" / "index.md",
        *sorted((tmp_path / "docs" / "findings").glob("*.md")),
    ]
    originals = {p: p.read_text(encoding="utf-8") for p in pages}
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
        "enlargement_decomposition",
    ):
        assert (gallery / f"{name}.png").stat().st_size > 1000
    text = readme.read_text(encoding="utf-8")
    assert "sanctions packages <!-- gallery:qmv -->**" in text
    assert "95% CI of the\npaired difference" in text
    qmv = (tmp_path / "docs" / "findings" / "unanimity-vs-qmv.md").read_text(encoding="utf-8")
    assert "With 2 replications (seed 2025)" in qmv  # the scenarios table
    assert "| `holdout_state`: one hold-out state |" in qmv
    # the QMV paragraph: without hold-outs (every type's holdout_scale set to 0), over all
    # types, the brakes
    assert "(8 `--set proposal_types.<type>.holdout_scale=0`, 2 replications, seed 2025)" in qmv
    assert re.search(r"gallery:qmv_overall -->\S+ days \(\S+ to \S+\) across all types", qmv)
    assert re.search(
        r"gallery:qmv_brakes -->(no|\d+) emergency brakes? in 0.329 simulated years", qmv
    )
    assert re.search(r"gallery:qmv_types -->sanctions packages \S+ days \(", qmv)
    # QMV with and without parameter uncertainty
    assert "2 replications, seed 2025, posterior `calibration`:" in qmv
    assert "| adoption rate of packages |" in qmv
    eu35 = (tmp_path / "docs" / "findings" / "enlargement.md").read_text(encoding="utf-8")
    assert "2 replications of a year, seed 2025, each row paired" in eu35  # decomposition
    assert "| **all together** (`enlargement_eu35`) |" in eu35
    assert "| random coalition passes |" in eu35  # the power table
    assert " pp [" in eu35  # the waves table
    generated = re.compile(r"<!-- gallery:(\w+) -->.*?<!-- /gallery:\1 -->", re.S)
    for page, original in originals.items():
        new = page.read_text(encoding="utf-8")
        for written in generated.split(original)[::2]:  # every hand-written stretch is kept
            assert written in new, page.name
