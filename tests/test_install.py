"""The wheel as a user gets it: built, installed into a fresh venv, run from another folder.

The fresh venv gets the wheel (``pip install --no-deps``) and borrows the already-installed
third-party dependencies of the running environment through a ``.pth`` line, so the test needs
no network and stays quick; ``sim`` itself is imported from the wheel, never from the checkout.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``bin`` folder of a fresh venv holding the cfsp-sim wheel."""
    tmp = tmp_path_factory.mktemp("wheel")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    build = subprocess.run(  # not --quiet: setuptools' warning boxes would show in stderr
        [*pip, "wheel", "--no-deps", "-w", str(tmp / "dist"), str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr
    assert "*****" not in build.stdout + build.stderr, build.stdout  # no setuptools warning box
    (wheel,) = (tmp / "dist").glob("cfsp_sim-*.whl")
    env_dir = tmp / "venv"
    venv.create(env_dir, with_pip=False)
    target = Path(
        sysconfig.get_path("purelib", vars={"base": str(env_dir), "platbase": str(env_dir)})
    )
    (target / "_borrowed_dependencies.pth").write_text(
        "\n".join(p for p in site.getsitepackages() if "site-packages" in p) + "\n"
    )
    python = str(env_dir / "bin" / "python")
    install = subprocess.run(
        [*pip, "--quiet", "--python", python, "install", "--no-deps", str(wheel)],
        capture_output=True,
        text=True,
    )
    assert install.returncode == 0, install.stderr
    return env_dir / "bin"


def _run(bin_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        [str(bin_dir / "cfsp-sim"), *args], cwd=cwd, capture_output=True, text=True, env=env
    )


def test_sim_comes_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    out = subprocess.run(
        [str(installed / "python"), "-c", "import sim; print(sim.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip()).is_relative_to(installed.parent), out.stdout


def test_sources_are_installed_with_the_data(installed: Path, tmp_path: Path) -> None:
    code = (
        "from importlib import resources; "
        "print((resources.files('sim.data') / 'SOURCES.md').read_text()[:40])"
    )
    out = subprocess.run(
        [str(installed / "python"), "-c", code], cwd=tmp_path, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert "Sources of the bundled data" in out.stdout


def test_bundled_scenarios_by_name_from_any_folder(installed: Path, tmp_path: Path) -> None:
    listing = _run(installed, tmp_path, "scenarios")
    assert listing.returncode == 0, listing.stderr
    assert "qmv_art31" in listing.stdout
    assert "eu27_baseline" in listing.stdout
    ok = _run(installed, tmp_path, "validate", "qmv_art31", "eu27_baseline.toml")
    assert ok.returncode == 0, ok.stderr
    typo = _run(installed, tmp_path, "validate", "qmv_art13")
    assert typo.returncode == 2
    assert "did you mean 'qmv_art31'" in typo.stderr


def test_a_users_file_extends_a_bundled_scenario(installed: Path, tmp_path: Path) -> None:
    mine = tmp_path / "mine.toml"
    mine.write_text('extends = "eu27_baseline"\nname = "mine"\n[bodies.PSC]\ncapacity = 9\n')
    ok = _run(installed, tmp_path, "validate", "mine.toml")
    assert ok.returncode == 0, ok.stderr
    assert "mine: 27 member states" in ok.stdout


def test_copy_then_run_a_copied_variant(installed: Path, tmp_path: Path) -> None:
    copied = _run(installed, tmp_path, "scenarios", "--copy", "mine")
    assert copied.returncode == 0, copied.stderr
    assert (tmp_path / "mine" / "qmv_art31.toml").read_bytes() == (
        ROOT / "scenarios" / "qmv_art31.toml"
    ).read_bytes()
    priors = "eu27_baseline.priors.toml"  # installed with the wheel, copied beside its scenario
    assert (tmp_path / "mine" / priors).read_bytes() == (ROOT / "scenarios" / priors).read_bytes()
    listed = _run(installed, tmp_path, "scenarios")
    assert "priors" not in listed.stdout
    again = _run(installed, tmp_path, "scenarios", "--copy", "mine")
    assert again.returncode == 2
    assert "nothing copied" in again.stderr
    run = _run(
        installed,
        tmp_path,
        *("run", "mine/qmv_art31.toml", "-n", "2", "--seed", "1", "--workers", "1"),
        *("--horizon", "120", "--quiet"),
    )
    assert run.returncode == 0, run.stderr
    report = tmp_path / "results" / "qmv_art31" / "report.html"
    assert report.is_file()
    assert f"report: {Path('results') / 'qmv_art31' / 'report.html'}" in run.stdout


def test_the_bundled_calibration_by_name_from_an_empty_folder(
    installed: Path, tmp_path: Path
) -> None:
    """``--posterior eu27_baseline`` finds the calibration shipped in the wheel (its
    posterior, priors and manifest, checked against the manifest's sha256)."""
    run = _run(
        installed,
        tmp_path,
        *("run", "qmv_art31", "-n", "2", "--seed", "1", "--workers", "1", "--horizon", "20"),
        *("--posterior", "eu27_baseline", "--quiet", "--out", "r"),
    )
    assert run.returncode == 0, run.stderr
    draws = (tmp_path / "r" / "posterior_draws.csv").read_text().splitlines()
    assert len(draws) == 3
    manifest = (tmp_path / "r" / "manifest.json").read_text()
    bundled = (ROOT / "docs" / "calibration" / "manifest.json").read_text()
    sha = next(line for line in bundled.splitlines() if '"posterior_sha256"' in line)
    assert sha.split(":")[1].strip().strip('",') in manifest
    assert installed.parent.as_posix() in manifest  # read from the wheel, not the checkout


def test_scenarios_fails_loudly_without_bundled_files(installed: Path, tmp_path: Path) -> None:
    # last in this module: it breaks the fresh venv on purpose
    where = subprocess.run(
        [
            str(installed / "python"),
            "-c",
            "import sim, pathlib; print(pathlib.Path(sim.__file__).parent)",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    ).stdout.strip()
    assert Path(where).is_relative_to(installed.parent), where
    shutil.rmtree(Path(where) / "scenarios")
    res = _run(installed, tmp_path, "scenarios")
    assert res.returncode == 1
    assert "no bundled scenarios" in res.stderr
