"""The wheel as a user gets it: built, installed into a fresh venv, run from another folder.

The fresh venv gets the wheel (``pip install --no-deps``) and borrows the already-installed
third-party dependencies of the running environment through a ``.pth`` line, so the test needs
no network and stays quick; ``sim`` itself is imported from the wheel, never from the checkout.
The borrowed folder leaves out the ``calibrate`` extra (pyabc, SALib): the wheel must run,
compare and export without it, and name the extra when a command needs it.
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

EXTRAS = ("pyabc", "salib")
"""The ``calibrate`` extra's packages (import names and dist-info folders, lower case)."""


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
    borrowed = tmp / "borrowed"  # the running environment's packages, less the extras
    borrowed.mkdir()
    for folder in (Path(p) for p in site.getsitepackages() if "site-packages" in p):
        for entry in folder.iterdir():
            if entry.name.lower().startswith(EXTRAS) or (borrowed / entry.name).exists():
                continue
            (borrowed / entry.name).symlink_to(entry)
    (target / "_borrowed_dependencies.pth").write_text(f"{borrowed}\n")
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


def test_runs_compares_and_exports_without_the_extras(installed: Path, tmp_path: Path) -> None:
    for module in ("pyabc", "SALib"):
        probe = subprocess.run(
            [str(installed / "python"), "-c", f"import {module}"], capture_output=True, text=True
        )
        assert probe.returncode != 0, f"{module} is importable: the test would prove nothing"
    short = ("-n", "3", "--seed", "5", "--workers", "1", "--horizon", "120", "--quiet")
    for name in ("eu27_baseline", "qmv_art31"):
        run = _run(installed, tmp_path, "run", name, *short)
        assert run.returncode == 0, run.stderr
    compared = _run(installed, tmp_path, "compare", "results/eu27_baseline", "results/qmv_art31")
    assert compared.returncode == 0, compared.stderr
    assert (
        tmp_path / "results" / "compare_eu27_baseline_vs_qmv_art31" / "comparison.csv"
    ).is_file()
    _piped(installed, tmp_path, "compare results/eu27_baseline results/qmv_art31 --out again")
    assert (tmp_path / "again" / "comparison.csv").is_file()
    exported = _run(installed, tmp_path, "export", "results/qmv_art31", "--format", "ocel")
    assert exported.returncode == 0, exported.stderr
    assert (tmp_path / "results" / "qmv_art31.jsonocel").stat().st_size > 1000


@pytest.mark.parametrize("command", ["calibrate", "sensitivity"])
def test_inference_names_the_missing_extra(installed: Path, tmp_path: Path, command: str) -> None:
    res = _run(installed, tmp_path, command, "eu27_baseline", "--out", "fit", "--quiet")
    assert res.returncode == 2, res.stderr
    assert res.stderr.count("\n") == 1, res.stderr  # one line, no traceback
    assert "pip install 'cfsp-sim[calibrate]'" in res.stderr
    assert not (tmp_path / "fit").exists()


def test_the_wheel_declares_the_calibrate_extra(installed: Path) -> None:
    (metadata,) = installed.parent.glob("lib/python*/site-packages/cfsp_sim-*.dist-info/METADATA")
    requires = [line for line in metadata.read_text().splitlines() if line.startswith("Requires")]
    extras = [line for line in requires if line.lower().split()[1].startswith(EXTRAS)]
    assert all("extra ==" in line for line in extras), extras  # never a plain dependency
    calibrate = {line.split()[1].split(">")[0] for line in extras if '"calibrate"' in line}
    assert calibrate == {"pyabc", "SALib"}, extras


def _piped(bin_dir: Path, cwd: Path, command: str) -> None:
    """``cfsp-sim COMMAND | true``: the reader exits at once, so every write meets a closed
    pipe; cfsp-sim must exit 0 or 141 and say nothing."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    res = subprocess.run(
        f'{bin_dir / "cfsp-sim"} {command} | true; echo "status=${{PIPESTATUS[0]}}"',
        shell=True,
        executable="/bin/bash",
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
    )
    assert res.stdout.strip() in ("status=0", "status=141"), (command, res.stdout)
    assert res.stderr == "", (command, res.stderr)


def test_a_closed_pipe_exits_quietly(installed: Path, tmp_path: Path) -> None:
    _piped(installed, tmp_path, "power eu27_baseline --rule qmv")
    _piped(installed, tmp_path, "scenarios")


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
