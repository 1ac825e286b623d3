"""The documentation site (issue 29): generated reference pages, a strict build, and the built
pages opened in headless Chromium (``make browser`` installs it from Debian's packages)."""

from __future__ import annotations

import html.parser
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))

import docs_notebooks
import docs_reference

pytestmark = pytest.mark.slow

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
BUILD_TIMEOUT = 900


def _build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config)]
    return subprocess.run(
        [*cmd, "--site-dir", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built from this checkout's sources, in strict mode (as ``make docs``)."""
    out = tmp_path_factory.mktemp("site")
    res = _build(ROOT / "mkdocs.yml", out)
    assert res.returncode == 0, res.stdout + res.stderr
    return out


# --- generated reference ----------------------------------------------------------------------


def test_every_schema_field_has_a_description() -> None:
    """The scenario-key reference takes each key's meaning from its ``description=``."""
    missing = docs_reference.missing_descriptions()
    assert missing == [], "schema fields without description=:\n  " + "\n  ".join(missing)


def test_missing_descriptions_finds_a_field_without_one() -> None:
    from pydantic import BaseModel, Field

    from sim.scenario import schema

    class Inner(BaseModel):
        bare: int = 0

    class Probe(BaseModel):
        described: int = Field(default=0, description="has one")
        inner: Inner = Field(default_factory=Inner, description="a nested table")
        blank: int = Field(default=0, description="  ")

    for model in (Inner, Probe):
        model.__module__ = schema.__name__  # as if defined in the schema
    assert docs_reference.missing_descriptions(Probe) == ["Probe.blank", "Inner.bare"]


def test_scenario_keys_page_lists_every_key_with_its_range() -> None:
    from sim.scenario.schema import BodySpec, Scenario

    page = docs_reference.scenario_keys_page()
    for name in Scenario.model_fields:
        assert f"| `{name}` |" in page, name
    for name in BodySpec.model_fields:
        assert f"| `{name}` |" in page, name
    # ranges come from the annotated metadata: a Probability is 0 <= x <= 1
    row = next(line for line in page.splitlines() if line.startswith("| `compromise_step` |"))
    assert "0 ≤ x ≤ 1" in row
    row = next(line for line in page.splitlines() if line.startswith("| `horizon_days` |"))
    assert "0 < x ≤ 36 525" in row
    assert "**required**" in row


def test_cli_page_has_every_command_and_option() -> None:
    parser = docs_reference.build_parser()
    page = docs_reference.cli_page()
    commands = docs_reference._subcommands(parser)
    assert {"run", "compare", "validate", "export"} <= set(commands)
    for name, sub in commands.items():
        assert f"## {name} {{#{name}}}" in page
        for action in sub._actions:
            for flag in action.option_strings:
                assert flag in page, (name, flag)


def test_results_page_describes_every_column(tmp_path: Path) -> None:
    page = docs_reference.results_page()  # runs a tiny run; fails on an undescribed column
    for column in ("proposal_id", "duration_days", "wait_meeting_days", "case_id", "ci_low"):
        assert f"| `{column}` |" in page


def test_assumptions_page_carries_the_scenario_comments() -> None:
    page = docs_reference.assumptions_page()
    row = next(line for line in page.splitlines() if line.startswith("| `moment` |"))
    assert "MEASURED" in row
    assert "RU12" in row
    assert "## qmv_art31" in page


def test_notebook_copies_are_current() -> None:
    """The site renders docs/notebooks/ as stored: each copy must hold its notebook's code
    (after editing a notebook: ``make docs-notebooks``), with outputs."""
    assert docs_notebooks.stale() == [], "run: make docs-notebooks"
    import nbformat

    for path in sorted(docs_notebooks.TARGET.glob("*.ipynb")):
        nb = nbformat.read(path, 4)
        outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
        assert any("image/png" in o.get("data", {}) for o in outputs), path.name


# --- the build --------------------------------------------------------------------------------


def test_strict_build_fails_on_a_broken_link(tmp_path: Path) -> None:
    """Strict mode is real: one broken link in one page fails the whole build."""
    docs = tmp_path / "docs"
    shutil.copytree(ROOT / "docs", docs, ignore=shutil.ignore_patterns("*.db", "*.parquet"))
    page = docs / "tutorial.md"
    page.write_text(
        page.read_text(encoding="utf-8") + "\nSee [nowhere](no-such-page.md).\n", "utf-8"
    )
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    config["docs_dir"] = str(docs)
    config["hooks"] = [str(ROOT / h) for h in config["hooks"]]
    mkdocstrings = next(p for p in config["plugins"] if isinstance(p, dict) and "mkdocstrings" in p)
    mkdocstrings["mkdocstrings"]["handlers"]["python"]["paths"] = [str(ROOT)]
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    res = _build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert res.returncode != 0
    assert "no-such-page.md" in res.stdout + res.stderr
    assert "strict mode" in res.stdout + res.stderr


# --- in a browser -----------------------------------------------------------------------------


class _Page(html.parser.HTMLParser):
    """The headings, images and tables of a rendered page."""

    def __init__(self) -> None:
        super().__init__()
        self.h1: list[str] = []
        self.images: list[str] = []
        self.tables = 0
        self._in_h1 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "h1":
            self._in_h1 = True
            self.h1.append("")
        elif tag == "img":
            src = dict(attrs).get("src") or ""
            self.images.append(src)
        elif tag == "table":
            self.tables += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "h1":
            self._in_h1 = False

    def handle_data(self, data: str) -> None:
        if self._in_h1:
            self.h1[-1] += data


def _chromium(*args: str) -> subprocess.CompletedProcess[str]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} missing: run `make browser` (Debian's chromium package)")
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    cmd += ["--disable-dev-shm-usage", "--no-first-run", "--allow-file-access-from-files"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=180)


PAGES = {  # built page: (its title, images it must show at least, tables at least)
    "tutorial.html": ("Tutorial", 2, 0),
    "reference/scenario-keys.html": ("Scenario keys", 0, 20),
    "reference/cli.html": ("Command line", 0, 1),
    "reference/results-folder.html": ("Results folder", 0, 8),
    "findings/unanimity-vs-qmv.html": ("Unanimity or QMV", 2, 2),
    "findings/enlargement.html": ("Enlargement", 1, 3),
}


@pytest.mark.parametrize("name", list(PAGES))
def test_page_renders_with_its_figures_in_chromium(site: Path, name: str, tmp_path: Path) -> None:
    title, images, tables = PAGES[name]
    page = site / name
    res = _chromium("--virtual-time-budget=10000", "--dump-dom", page.as_uri())
    assert res.returncode == 0, res.stderr
    dom = _Page()
    dom.feed(res.stdout)
    assert any(title in h for h in dom.h1), dom.h1
    assert dom.tables >= tables
    figures = [src for src in dom.images if src.endswith(".png")]
    assert len(figures) >= images, dom.images
    for src in figures:  # every figure the browser was asked to show is there, and a PNG
        path = (page.parent / src).resolve()
        assert path.is_file(), src
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", src
        assert path.stat().st_size > 5000, src
    shot = tmp_path / "shot.png"
    res = _chromium("--window-size=1280,1600", f"--screenshot={shot}", page.as_uri())
    assert res.returncode == 0, res.stderr
    assert shot.is_file(), res.stderr
    from PIL import Image

    with Image.open(shot) as img:
        colours = img.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None, "more than a million colours"
    assert len(colours) > 50, "a blank page"


def test_the_sites_figure_decodes_in_chromium(site: Path, tmp_path: Path) -> None:
    """The built site's copy of the findings' first figure, drawn by Chromium on a magenta
    page: an image that failed to load or decode would leave the magenta background."""
    page = site / "findings" / "unanimity-vs-qmv.html"
    probe = tmp_path / "probe.html"
    src = (page.parent / "../gallery/unanimity_vs_qmv_adoption.png").resolve()
    assert src.is_file()
    probe.write_text(
        f'<html><body style="margin:0;background:#f0f"><img src="{src.as_uri()}" '
        'style="display:block;width:600px"></body></html>',
        encoding="utf-8",
    )
    shot = tmp_path / "shot.png"
    res = _chromium("--window-size=600,400", f"--screenshot={shot}", probe.as_uri())
    assert res.returncode == 0, res.stderr
    import numpy as np
    from PIL import Image

    with Image.open(shot) as img:
        rgb = np.asarray(img.convert("RGB"))
    magenta = np.all(rgb == (255, 0, 255), axis=-1).mean()
    assert magenta < 0.05, f"the figure did not load: {magenta:.0%} of the page is background"


# --- make gallery's findings pages ------------------------------------------------------------


def test_gallery_writes_each_passage_into_the_readme_and_the_findings_pages(
    tmp_path: Path,
) -> None:
    """``tools/gallery.py`` rewrites a marked passage wherever it occurs (README, the site's
    home and findings pages) and leaves every other byte of those files as it was."""
    import argparse

    import gallery

    (tmp_path / "docs" / "findings").mkdir(parents=True)
    names = ["README.md", "docs/index.md"]
    names += [f"docs/findings/{p.name}" for p in sorted((ROOT / "docs/findings").glob("*.md"))]
    for name in names:
        shutil.copyfile(ROOT / name, tmp_path / name)
    args = argparse.Namespace(readme=tmp_path / "README.md", findings=None)
    assert gallery.target_files(args) == [tmp_path / n for n in names]
    text = gallery.replace_passage(gallery.read_targets(args), "qmv", "NEW-QMV")
    text = gallery.replace_passage(text, "power", "\nNEW-POWER\n")
    assert sorted(gallery.write_targets(text)) == sorted(tmp_path / n for n in names)
    for name in names:
        before = (ROOT / name).read_text(encoding="utf-8")
        after = (tmp_path / name).read_text(encoding="utf-8")
        if "<!-- gallery:qmv -->" in before:
            assert "<!-- gallery:qmv -->NEW-QMV<!-- /gallery:qmv -->" in after
        if "<!-- gallery:power -->" in before:
            assert "<!-- gallery:power -->\nNEW-POWER\n<!-- /gallery:power -->" in after
        generated = re.compile(r"<!-- gallery:(\w+) -->.*?<!-- /gallery:\1 -->", re.S)
        assert generated.split(before)[::2] == generated.split(after)[::2], name
    assert "NEW-QMV" in (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "NEW-POWER" in (tmp_path / "docs/findings/enlargement.md").read_text(encoding="utf-8")
