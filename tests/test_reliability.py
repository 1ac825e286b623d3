"""Reliability: output folders that never destroy data, one run per folder, crash-safe
publishing, integrity checks, worker crashes and size guards — with real processes, real
signals, a full disk and damaged files."""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import signal
import stat
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest

import sim
from sim.cli import main
from sim.core.errors import UserError
from sim.experiment.engines import PoolEngine, WorkerDied
from sim.experiment.folder import signals_deferred
from sim.experiment.results import open_results
from sim.experiment.runner import ExperimentOptions, run_experiment
from sim.scenario import load_scenario

from .conftest import BASELINE, DATA, ROOT, assert_same_results

TINY = DATA / "tiny.toml"


# --- helpers ----------------------------------------------------------------------------------


def _start(args: list[str], env: dict[str, str] | None = None, **kw) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "sim", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        # a shell running us in the background ignores SIGINT; give the child the default
        preexec_fn=kw.pop("preexec_fn", lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)),
        **kw,
    )


LIBRARY_RUN = (
    "import sys, sim; "
    "sim.run_experiment(sys.argv[1], sys.argv[2], replications=int(sys.argv[3]), "
    "seed=int(sys.argv[4]), options=sim.ExperimentOptions(force=True, progress=False))"
)


def _start_library_run(
    out: Path, n: int, seed: int, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """``run_experiment`` in a child process (no figures: quicker than the CLI)."""
    return subprocess.Popen(
        [sys.executable, "-c", LIBRARY_RUN, str(TINY), str(out), str(n), str(seed)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def _cli(args: list[str], **kw) -> subprocess.CompletedProcess[str]:
    proc = _start(args, **kw)
    out, err = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _wait(predicate: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while not predicate():
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


def _staged_data(out: Path) -> bool:
    return bool(list(out.parent.glob(f".{out.name}.partial-*/*.parquet")))


def _children(pid: int) -> list[int]:
    out = []
    for proc in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = proc.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(proc.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _paused(proc: subprocess.Popen[str], step: str) -> None:
    """Read the child's stderr until it says it paused at ``step``."""
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.strip() == f"paused at {step}":
            return
    raise AssertionError(f"never paused at {step}")


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def _cli_run(out: Path, *extra: str, scenario: Path = TINY) -> int:
    """``cfsp-sim run`` in this process (used where it refuses, before any figure is drawn)."""
    return main(["run", str(scenario), "-n", "3", "--out", str(out), "--quiet", *extra])


def _run(out: Path, seed: int = 1, force: bool = False, n: int = 3) -> Path:
    """A quick run without figures."""
    options = ExperimentOptions(force=force, progress=False)
    exp = run_experiment(load_scenario(TINY), out, replications=n, seed=seed, options=options)
    return exp.path


@pytest.fixture(scope="module")
def good_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _run(tmp_path_factory.mktemp("good") / "run", seed=3)


# --- what --force may replace, and where a command may write ------------------------------------


def test_force_refuses_a_folder_cfsp_sim_did_not_write(tmp_path: Path, capsys) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("precious")
    assert _cli_run(mine, "--force") == 2
    assert "not a cfsp-sim results folder" in capsys.readouterr().err
    assert (mine / "notes.txt").read_text() == "precious"
    assert _hidden(tmp_path) == []


def test_force_refuses_a_results_folder_holding_a_file_of_the_user(tmp_path: Path, capsys) -> None:
    out = _run(tmp_path / "r")
    (out / "notes.txt").write_text("mine")
    assert _cli_run(out, "--force") == 2
    assert "holds notes.txt, which no cfsp-sim run wrote" in capsys.readouterr().err
    assert (out / "notes.txt").exists()


def test_force_replaces_an_empty_folder_and_a_results_folder(tmp_path: Path) -> None:
    out = tmp_path / "r"
    out.mkdir()
    _run(out, seed=1)
    _run(out, seed=2, force=True)
    assert open_results(out).manifest["seed"] == 2
    assert _hidden(tmp_path) == []


def test_outputs_may_not_be_inputs_nor_hold_them(tmp_path: Path, monkeypatch, capsys) -> None:
    sc = tmp_path / "sc"
    sc.mkdir()
    scenario = sc / "tiny.toml"
    shutil.copy(TINY, scenario)
    for out in (sc, scenario, tmp_path):
        assert _cli_run(out, "--force", scenario=scenario) == 2
        assert "an input of this command" in capsys.readouterr().err
    monkeypatch.chdir(sc)
    assert _cli_run(Path("."), "--force", scenario=scenario) == 2
    assert "current folder" in capsys.readouterr().err
    assert sorted(p.name for p in sc.iterdir()) == ["tiny.toml"]

    a, b = _run(tmp_path / "a"), _run(tmp_path / "b")
    before = (a / "proposals.parquet").read_bytes()
    for out in (a, a / "inside"):
        assert main(["compare", str(a), str(b), "--out", str(out), "--force"]) == 2
        assert "an input of this command" in capsys.readouterr().err
    assert (a / "proposals.parquet").read_bytes() == before
    open_results(a)


def test_fit_and_export_write_no_file_over_results_or_a_users_file(tmp_path: Path, capsys) -> None:
    """``--out`` of ``fit`` and ``export`` may not land in a results folder (it would no longer
    verify) and replaces an existing file only with ``--force``; the default name beside the
    folder is the command's own and is rewritten."""
    run = _run(tmp_path / "r")
    mine = tmp_path / "mine.toml"
    mine.write_text("precious")
    summary = (run / "summary.csv").read_bytes()
    for command in (["fit"], ["export", "--format", "csv"]):
        for out, message in (
            (run / "summary.csv", "lies inside the results folder"),
            (run / "figures" / "x.csv", "lies inside the results folder"),
            (mine, "exists (use --force to replace it)"),
            (tmp_path, "is a folder"),
        ):
            assert main([*command, str(run), "--out", str(out)]) == 2
            assert message in capsys.readouterr().err
    assert mine.read_text() == "precious"
    assert (run / "summary.csv").read_bytes() == summary
    open_results(run)  # still verifies
    for _ in range(2):  # the default file beside the folder is rewritten
        assert main(["export", str(run), "--format", "csv"]) == 0
    assert main(["export", str(run), "--format", "csv", "--out", str(mine), "--force"]) == 0
    assert mine.read_text().startswith("case")


# --- one run per folder -----------------------------------------------------------------------


def test_a_second_run_into_the_same_folder_is_refused(tmp_path: Path, caplog) -> None:
    out = tmp_path / "r"
    first = _start_library_run(out, 20, 10, env={"CFSP_SIM_TEST_PAUSE": "complete"})
    try:
        _paused(first, "complete")  # holding the lock, its results written and checksummed
        second = _cli(["run", str(TINY), "-n", "30", "--seed", "11", "--out", str(out)])
        assert second.returncode == 2, second.stderr
        assert f"in use by another run (pid {first.pid} on" in second.stderr
    finally:
        first.kill()
        first.wait()
    # the killed run had complete results: the next command publishes them, consistent
    exp = open_results(out)
    assert (exp.manifest["seed"], exp.manifest["replications"]) == (10, 20)
    assert "finished publishing" in caplog.text
    assert_same_results(out, _run(tmp_path / "ref", seed=10, n=20))
    assert _hidden(tmp_path) == []


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path: Path, caplog) -> None:
    lock = tmp_path / ".r.lock"
    lock.write_text(json.dumps({"pid": 999999, "host": "gone", "started": "2020-01-01"}))
    _run(tmp_path / "r")
    assert "took over the lock left by pid 999999 on gone" in caplog.text
    assert _hidden(tmp_path) == []


# --- kills, signals and recovery --------------------------------------------------------------


def test_sigkill_mid_run_stops_workers_and_the_next_run_cleans_up(tmp_path: Path, caplog) -> None:
    out = tmp_path / "r"
    args = ["run", str(BASELINE), "-n", "400", "--seed", "1", "--workers", "2", "--out", str(out)]
    proc = _start(args)
    _wait(lambda: _staged_data(out))
    workers = _children(proc.pid)
    assert workers
    proc.kill()
    proc.wait()
    _wait(lambda: not any(_alive(w) for w in workers), timeout=10)
    (staging,) = tmp_path.glob(".r.partial-*")
    manifest = json.loads((staging / "manifest.json").read_text())
    assert (manifest["status"], manifest["process"]["pid"]) == ("running", proc.pid)
    _run(out)
    assert (
        f"removed {staging.name}, left by a run that did not finish (pid {proc.pid}" in caplog.text
    )
    assert "took over the lock" in caplog.text
    assert _hidden(tmp_path) == []


@pytest.mark.parametrize("step", ["complete", "moved-aside", "swapped"])
def test_sigkill_while_publishing_loses_nothing(step: str, tmp_path: Path, capsys) -> None:
    out = _run(tmp_path / "r", seed=1)
    proc = _start_library_run(out, 3, 2, env={"CFSP_SIM_TEST_PAUSE": step})
    _paused(proc, step)
    proc.kill()
    proc.wait()
    if step == "moved-aside":  # the results are nowhere in place: the next command recovers
        assert not out.exists()
        capsys.readouterr()
        assert main(["plot", str(out)]) == 0
        assert "finished publishing" in capsys.readouterr().err
    else:
        assert open_results(out).manifest["seed"] == 2
    assert_same_results(out, _run(tmp_path / "ref", seed=2))
    assert open_results(out).manifest["seed"] == 2
    assert _hidden(tmp_path) == []


def test_sigterm_is_handled_like_ctrl_c(tmp_path: Path) -> None:
    out = tmp_path / "r"
    args = ["run", str(BASELINE), "-n", "400", "--seed", "1", "--workers", "2", "--out", str(out)]
    proc = _start(args)
    _wait(lambda: _staged_data(out))
    workers = _children(proc.pid)
    proc.terminate()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "Traceback" not in err
    assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json"]
    _wait(lambda: not any(_alive(w) for w in workers), timeout=10)
    assert _hidden(tmp_path) == []


def _send_half_a_result(marker: str) -> None:
    """In a pool worker: write the start of a result message, then wait to be killed (a worker
    caught halfway through sending its result; ``results`` is the worker loop's pipe)."""
    frame = sys._getframe()
    while "results" not in frame.f_locals:
        frame = frame.f_back
    pipe = frame.f_locals["results"]
    os.write(pipe.fileno(), struct.pack("!i", 1 << 20) + b"half")
    Path(marker).touch()
    time.sleep(3600)


def _stop_mid_send(marker: str) -> None:
    """A worker killed halfway through sending a result is seen as dead, not waited for; the
    pool then stops and reaps every worker."""
    engine = PoolEngine(1)
    worker = engine._start()
    worker.send(_send_half_a_result, marker)
    _wait(lambda: Path(marker).exists())
    worker.process.kill()
    with pytest.raises(WorkerDied):
        worker.receive()
    engine.close()
    assert not worker.process.is_alive()


def test_stopping_a_worker_halfway_through_sending_a_result_does_not_hang(tmp_path: Path) -> None:
    """SIGTERM stops the workers wherever they are: one killed while sending a result must not
    leave the pool waiting for the rest of it."""
    code = "import sys, tests.test_reliability as t; t._stop_mid_send(sys.argv[1])"
    res = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "sent")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr


def test_a_signal_handled_as_publishing_starts_leaves_ctrl_c_unblocked(monkeypatch) -> None:
    """A Ctrl-C that arrived just before publishing is handled the moment SIGINT is blocked:
    the mask must still be restored (else Ctrl-C stays blocked in a notebook's kernel)."""
    real = signal.pthread_sigmask

    def interrupted(how: int, mask: set[signal.Signals]) -> set[signal.Signals]:
        old = real(how, mask)
        if how == signal.SIG_BLOCK and signal.SIGINT in mask:
            raise KeyboardInterrupt  # the handler of the pending signal, run right now
        return old

    before = real(signal.SIG_BLOCK, set())
    monkeypatch.setattr(signal, "pthread_sigmask", interrupted)
    try:
        with pytest.raises(KeyboardInterrupt), signals_deferred():
            pass
    finally:
        monkeypatch.undo()
        after = real(signal.SIG_SETMASK, before)
    assert signal.SIGINT not in after  # the mask signals_deferred left behind
    assert signal.SIGTERM not in after


# --- a full disk ------------------------------------------------------------------------------


def _fails_cleanly(res: subprocess.CompletedProcess[str]) -> None:
    assert res.returncode == 1, res.stderr
    assert "Traceback" not in res.stderr
    lines = [x for x in res.stderr.splitlines() if x.startswith("error:")]
    assert len(lines) == 1, res.stderr


def test_a_full_disk_fails_cleanly_and_keeps_old_results(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (the file-size limit test covers a full disk)")
    try:
        out = _run(disk / "r")
        old = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
        big = [
            "run",
            str(BASELINE),
            "-n",
            "20",
            "--seed",
            "1",
            "--workers",
            "1",
            "--out",
            str(out),
            "--force",
        ]
        _fails_cleanly(_cli([*big, "--quiet"]))
        assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == old
        open_results(out)
        shutil.rmtree(out)
        _fails_cleanly(_cli([*big[:-1], "--quiet"]))
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["status"] == "failed"
        assert sorted(p.name for p in out.iterdir()) == ["manifest.json"]
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def _limit_file_size() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))


def test_a_file_size_limit_fails_cleanly_and_keeps_old_results(tmp_path: Path) -> None:
    out = _run(tmp_path / "r")
    old = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    args = [
        "run",
        str(BASELINE),
        "-n",
        "20",
        "--seed",
        "1",
        "--workers",
        "1",
        "--out",
        str(out),
        "--force",
    ]
    _fails_cleanly(_cli([*args, "--quiet"], preexec_fn=_limit_file_size))
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == old
    open_results(out)
    _run(out, seed=4, force=True)  # and the next run clears what was left
    assert _hidden(tmp_path) == []


# --- integrity --------------------------------------------------------------------------------


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 8] = bytes(b ^ 0xFF for b in data[mid : mid + 8])
    path.write_bytes(bytes(data))


def _edit_manifest(folder: Path, **changes: object) -> None:
    m = json.loads((folder / "manifest.json").read_text())
    m.update(changes)
    (folder / "manifest.json").write_text(json.dumps(m))


DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "flipped_bytes": (lambda f: _flip(f / "proposals.parquet"), "proposals.parquet: corrupted"),
    "truncated": (
        lambda f: os.truncate(f / "events.parquet", 100),
        "events.parquet: 100 bytes where the manifest records",
    ),
    "missing_table": (lambda f: (f / "metrics.parquet").unlink(), "metrics.parquet: missing"),
    "missing_summary": (lambda f: (f / "summary.csv").unlink(), "summary.csv: missing"),
    "missing_manifest": (lambda f: (f / "manifest.json").unlink(), "no manifest.json"),
    "garbage_manifest": (
        lambda f: (f / "manifest.json").write_bytes(b"\x00\xff garbage"),
        "manifest.json: corrupt",
    ),
    "truncated_manifest": (
        lambda f: os.truncate(f / "manifest.json", 40),
        "manifest.json: corrupt",
    ),
    "edited_manifest": (
        lambda f: (f / "manifest.json").write_text(
            (f / "manifest.json").read_text().replace('"seed": 3', '"seed": 4')
        ),
        "manifest.json: corrupt (its content does not match its checksum)",
    ),
    "foreign_manifest": (
        lambda f: (f / "manifest.json").write_text('{"status": "complete"}'),
        "not written by cfsp-sim",
    ),
    "failed_run": (
        lambda f: _edit_manifest(f, status="failed", checksum=None),
        "run is not complete (status 'failed')",
    ),
    "no_checksums": (
        lambda f: _edit_manifest(f, files=None, checksum=None),
        "lists no checksums",
    ),
}


@pytest.mark.parametrize("damage", list(DAMAGE), ids=list(DAMAGE))
def test_damaged_folders_are_refused_naming_the_file(
    damage: str, good_run: Path, tmp_path: Path, capsys
) -> None:
    folder = tmp_path / "run"
    shutil.copytree(good_run, folder)
    harm, message = DAMAGE[damage]
    harm(folder)
    capsys.readouterr()
    assert main(["plot", str(folder)]) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert str(folder) in err
    assert main(["compare", str(good_run), str(folder), "--out", str(tmp_path / "c")]) == 2
    assert message in capsys.readouterr().err
    with pytest.raises(UserError, match=re.escape(message)):
        open_results(folder)
    assert not (tmp_path / "c").exists()


def test_the_manifest_checksums_every_file_and_plot_keeps_them(tmp_path: Path) -> None:
    out = tmp_path / "r"
    assert _cli_run(out, "--seed", "1") == 0
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["files"]) == files - {"manifest.json"}
    assert {"report.html", "figures/swimlane.svg", "proposals.parquet"} <= set(manifest["files"])
    assert main(["plot", str(out)]) == 0
    after = open_results(out).manifest
    assert after["started"] == manifest["started"]  # the run's own record is kept
    assert after["files"]["proposals.parquet"] == manifest["files"]["proposals.parquet"]
    assert _hidden(tmp_path) == []


# --- worker crashes ---------------------------------------------------------------------------


def test_a_crashed_worker_is_retried_and_changes_nothing(tmp_path: Path, monkeypatch) -> None:
    marker = tmp_path / "crashed"
    out, ref = tmp_path / "r", tmp_path / "ref"
    monkeypatch.setenv("CFSP_SIM_TEST_FAULT", f"crash:13:{marker}")  # workers inherit it
    options = ExperimentOptions(workers=2, progress=False)
    run_experiment(load_scenario(TINY), out, replications=30, seed=5, options=options)
    assert marker.exists()
    monkeypatch.delenv("CFSP_SIM_TEST_FAULT")
    assert_same_results(out, _run(ref, seed=5, n=30))


@pytest.mark.parametrize(("fault", "workers"), [("crash:13", "2"), ("raise:13", "1")])
def test_a_replication_that_keeps_failing_is_named(fault: str, workers: str, tmp_path) -> None:
    out = tmp_path / "r"
    args = ["run", str(TINY), "-n", "30", "--seed", "5", "--quiet", "--workers", workers]
    res = _cli([*args, "--out", str(out)], env={"CFSP_SIM_TEST_FAULT": fault})
    assert res.returncode == 1, res.stderr
    assert "replication 13 failed" in res.stderr
    assert "Traceback" not in res.stderr
    assert json.loads((out / "manifest.json").read_text())["status"] == "failed"


# --- sizes and blame --------------------------------------------------------------------------


def test_sizes_are_refused_before_anything_starts(tmp_path: Path, capsys) -> None:
    out = tmp_path / "r"
    assert main(["run", str(TINY), "-n", str(10**12), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "over the limit" in err
    assert "--allow-large" in err
    heavy = ["--set", 'proposal_types.item.arrivals={kind="poisson", rate_per_year=100000}']
    assert main(["run", str(TINY), "-n", "100000", "--out", str(out), *heavy]) == 2
    assert "proposals to simulate" in capsys.readouterr().err
    values = ",".join(str(i / 1000) for i in range(1000))
    started = time.time()
    sweep = ["sweep", str(TINY), "--vary", f"member_defaults.salience={values}", "--out", str(out)]
    assert main(sweep) == 2
    assert time.time() - started < 5
    assert "the sweep has 1,000 points" in capsys.readouterr().err
    members = tmp_path / "m50.toml"
    lines = [f'extends = "{TINY.as_posix()}"', 'membership = "none"']
    for i in range(50):
        code = chr(65 + i // 26) + chr(65 + i % 26)
        lines += [f"[member_states.{code}]", f'name = "{code}"', "population = 1000"]
    members.write_text("\n".join(lines) + "\n")
    assert main(["power", str(members)]) == 2
    assert "members is over the limit of 40" in capsys.readouterr().err
    assert not out.exists()
    assert _hidden(tmp_path) == []


def test_every_message_names_the_option_that_wrote_the_key(capsys) -> None:
    cases = [
        (["validate", str(TINY), "--set", "bodiez.x=1"], "error: --set: bodiez: unknown key"),
        (["validate", str(TINY), "--set", "bodies.NEW.capacity=3"], "error: --set: bodies.NEW"),
        (
            ["sweep", str(TINY), "--vary", "bodies.WP.capacityy=1,2", "--out", "/nonexistent/x"],
            "error: --vary: bodies.WP.capacityy: unknown key",
        ),
        (
            ["sweep", str(TINY), "--vary", "bodies.WP.capacity=1,inf", "--out", "/nonexistent/x"],
            "error: --vary: bodies.WP.capacity",
        ),
        (["run", str(TINY), "--dask", "foo", "--out", "/nonexistent/x"], "error: --dask:"),
        (["run", str(TINY), "--horizon", "inf", "--out", "/nonexistent/x"], "error: --horizon:"),
    ]
    for args, message in cases:
        assert main(args) == 2, args
        assert capsys.readouterr().err.startswith(message), args
    assert not Path("/nonexistent").exists()


def test_extends_reads_only_small_regular_files(tmp_path: Path, capsys) -> None:
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    (tmp_path / "huge.toml").write_bytes(b"#" * (2 << 20))
    for target, problem in (("fifo.toml", "not a regular file"), ("huge.toml", "larger than")):
        child = tmp_path / f"uses_{target}"
        child.write_text(f'extends = "{target}"\n')
        started = time.time()
        assert main(["validate", str(child)]) == 2
        assert time.time() - started < 5
        assert f"uses_{target}: extends: {problem}" in capsys.readouterr().err


# --- links, special files and long names at the paths a command writes (issue 30) ------------


def test_the_lock_follows_no_link_and_truncates_no_file(tmp_path: Path, capsys) -> None:
    """A planted ``.<name>.lock`` — a link to the user's file, a file of the user's, a hard
    link, a FIFO — is refused (a writer) or left alone (a reader); no file is overwritten."""
    run = _run(tmp_path / "R")
    notes = tmp_path / "notes.txt"
    notes.write_text("precious")
    lock = tmp_path / ".R.lock"
    lock.symlink_to(notes)
    assert main(["fit", str(run), "--out", str(tmp_path / "f.csv")]) == 0
    out = tmp_path / "out"
    (tmp_path / ".out.lock").symlink_to(notes)
    assert _cli_run(out) == 2
    assert "is a symbolic link, not a regular file" in capsys.readouterr().err
    assert main(["plot", str(run)]) == 2
    assert ".R.lock: is a symbolic link" in capsys.readouterr().err
    assert notes.read_text() == "precious"
    for planted in (lambda p: p.write_text("mine"), lambda p: os.link(notes, p), os.mkfifo):
        (tmp_path / ".out.lock").unlink()
        planted(tmp_path / ".out.lock")
        started = time.time()
        assert _cli_run(out) == 2
        assert time.time() - started < 10
        err = capsys.readouterr().err
        assert "will not be overwritten" in err or "is a FIFO" in err, err
    assert notes.read_text() == "precious"
    assert (tmp_path / ".out.lock").is_fifo()
    (tmp_path / ".out.lock").unlink()
    (tmp_path / ".out.lock").write_text("mine")
    assert _cli_run(out) == 2
    assert "is not a cfsp-sim lock file" in capsys.readouterr().err
    assert (tmp_path / ".out.lock").read_text() == "mine"
    assert not out.exists()


def _special_outputs(folder: Path) -> dict[str, Path]:
    fifo, link, device = folder / "fifo.csv", folder / "link.csv", folder / "null.csv"
    os.mkfifo(fifo)
    (folder / "target.txt").write_text("precious")
    link.symlink_to(folder / "target.txt")
    out = {"FIFO": fifo, "symbolic link": link}
    if os.geteuid() == 0:  # a device node of our own (never the system's /dev/null)
        os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        out["device"] = device
    return out


def test_outputs_that_are_not_regular_files_are_never_replaced(tmp_path: Path, capsys) -> None:
    run = _run(tmp_path / "R")
    for what, path in _special_outputs(tmp_path).items():
        mode = os.lstat(path).st_mode
        for command in (["fit"], ["export", "--format", "csv"]):
            assert main([*command, str(run), "--out", str(path), "--force"]) == 2, what
            out, err = capsys.readouterr()
            assert f"{path}: is a {what}, not a regular file" in err, err
            assert out == ""
        assert os.lstat(path).st_mode == mode
    assert (tmp_path / "target.txt").read_text() == "precious"


def test_a_name_too_long_for_the_staging_names_is_refused(tmp_path: Path, capsys) -> None:
    long = tmp_path / ("r" * 240)  # within the 255-byte limit, its staging name is not
    assert _cli_run(long) == 2
    assert "name is 240 bytes long" in capsys.readouterr().err
    run = _run(tmp_path / "R")
    assert main(["fit", str(run), "--out", str(tmp_path / ("f" * 240))]) == 2
    assert "name is 240 bytes long" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["R"]


def test_output_errors_are_named_before_any_work(tmp_path: Path, capsys) -> None:
    run = _run(tmp_path / "R")
    (tmp_path / "file").write_text("")
    for command in (["fit"], ["export", "--format", "csv"]):
        assert main([*command, str(run), "--out", str(tmp_path / "file" / "x.csv")]) == 2
        out, err = capsys.readouterr()
        assert "cannot write there" in err, err
        assert out == ""  # fit prints no table it cannot write


# --- worker pools: bounded, refused when absurd, reaped with their parent ----------------------

PRIORS_TINY = (
    '[[parameters]]\nkey = "member_defaults.salience"\nlow = 0.1\nhigh = 0.9\nreason = "r"\n'
    '[[parameters]]\nkey = "member_defaults.tolerance"\nlow = 0.05\nhigh = 0.5\nreason = "r"\n'
)


def _tiny_priors(folder: Path) -> Path:
    path = folder / "tiny.priors.toml"
    path.write_text(PRIORS_TINY)
    return path


def test_absurd_worker_counts_are_refused_before_any_process_starts(tmp_path: Path) -> None:
    priors = _tiny_priors(tmp_path)
    out = tmp_path / "o"
    for command in (
        ["run", str(TINY), "-n", "3"],
        ["sweep", str(TINY), "--vary", "bodies.WP.capacity=2,3"],
        ["sensitivity", str(TINY), "--priors", str(priors)],
        ["calibrate", str(TINY), "--priors", str(priors)],
    ):
        res = _cli([*command, "--workers", "100000", "--out", str(out)])
        assert res.returncode == 2, (command, res.stderr)
        assert "--workers" in res.stderr
        assert "over the limit" in res.stderr
        assert "Traceback" not in res.stderr
    assert not out.exists()
    with pytest.raises(UserError, match="over the limit"):
        ExperimentOptions(workers=10**6)


def _workers(pid: int) -> list[int]:
    """The child processes of ``pid`` that run work (not multiprocessing's resource tracker)."""
    out = []
    for child in _children(pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"resource_tracker" not in cmdline:
            out.append(child)
    return out


def _most_children(proc: subprocess.Popen[str]) -> int:
    most = 0
    while proc.poll() is None:
        most = max(most, len(_workers(proc.pid)))
        time.sleep(0.05)
    return most


def test_a_pool_is_never_larger_than_the_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--workers 40`` for a design of 3 points (Morris, one trajectory of two parameters)
    starts at most 3 workers (and never more than the cores)."""
    priors = _tiny_priors(tmp_path)
    args = ["sensitivity", str(TINY), "--priors", str(priors), "--samples", "1", "-n", "1"]
    proc = _start([*args, "--workers", "40", "--out", str(tmp_path / "sa")])
    most = _most_children(proc)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert 1 <= most <= min(3, len(os.sched_getaffinity(0))), most
    # the bound itself, on a machine with more cores than work: the work decides
    from sim.experiment import engines

    monkeypatch.setattr(engines, "cores", lambda: 64)
    assert [engines.pool_size(40, 3), engines.pool_size(40, 1), engines.pool_size(2, 3)] == [
        3,
        1,
        2,
    ]


def test_sensitivity_points_are_the_same_on_the_pool(tmp_path: Path) -> None:
    """The sensitivity points run on the same pool as runs (``PoolEngine.imap``), in order:
    the same statistics as in this process."""
    import pandas as pd

    from sim.experiment.moments import Simulator, theta_rows
    from sim.experiment.sensitivity import _point, evaluate, sample_unit
    from sim.scenario.priors import load_priors

    scenario = load_scenario(TINY)
    priors = load_priors(_tiny_priors(tmp_path), scenario)
    thetas = theta_rows(priors, sample_unit(priors, "morris", 1, 3))
    sim = Simulator(scenario, priors)
    serial = pd.DataFrame(evaluate(sim, thetas, 3, 1, 1))
    pool = PoolEngine(2)  # two processes whatever the cores: the pooled path, not the serial
    with pool:
        pooled = pd.DataFrame(pool.imap(partial(_point, sim, 3, 1), thetas))
    assert len(serial) == 3
    pd.testing.assert_frame_equal(serial, pooled)


def _pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def test_a_pool_keeps_its_workers_for_the_next_map_and_drops_those_left_busy() -> None:
    """A run's figures are drawn on the processes that ran its replications (no new ones
    started); a map stopped early stops the workers still busy, whose results would come late."""
    with PoolEngine(2) as pool:
        first = set(pool.imap(_pid_after, [0.0] * 4))
        assert len(first) == 2
        assert set(pool.imap(_pid_after, [0.0] * 4)) == first
        early = pool.imap(_pid_after, [0.0, 2.0])
        assert next(early) in first
        early.close()  # the second worker is still sleeping: stopped, not reused
        later = list(pool.imap(_pid_after, [0.0] * 4))
        assert len(set(later) - first) == 1
        assert len(pool._live) == 2


def _lock_is_free(target: Path) -> bool:
    import fcntl

    lock = target.parent / f".{target.name}.lock"
    if not lock.exists():
        return True
    fd = os.open(lock, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def test_sigkill_of_sensitivity_leaves_no_worker_and_no_lock(tmp_path: Path) -> None:
    priors = _tiny_priors(tmp_path)
    out = tmp_path / "sa"
    args = ["sensitivity", str(TINY), "--priors", str(priors), "--samples", "40", "-n", "8"]
    proc = _start([*args, "--workers", "2", "--out", str(out)])
    _wait(lambda: len(_children(proc.pid)) >= 2, timeout=120)
    workers = _children(proc.pid)
    proc.kill()
    proc.wait()
    _wait(lambda: not any(_alive(w) for w in workers), timeout=15)
    assert _lock_is_free(out)
    again = _cli([*args[:-4], "--samples", "1", "-n", "1", "--out", str(out), "--workers", "1"])
    assert again.returncode == 0, again.stderr
    assert "in use by" not in again.stderr


def test_sigkill_of_calibrate_leaves_no_worker_and_no_lock(tmp_path: Path) -> None:
    """pyabc's multicore sampler forks its workers while the folder is locked: they drop the
    lock's descriptor and die with the killed parent."""
    priors = _tiny_priors(tmp_path)
    out = tmp_path / "cal"
    args = ["calibrate", str(TINY), "--priors", str(priors), "--budget", "quick", "-n", "40"]
    proc = _start([*args, "--workers", "2", "--out", str(out)])
    try:
        _wait(lambda: len(_workers(proc.pid)) >= 2, timeout=120)
        time.sleep(1)
        workers = _workers(proc.pid)
    finally:
        proc.kill()
        proc.wait()
    _wait(lambda: not any(_alive(w) for w in workers), timeout=15)
    assert _lock_is_free(out)


def test_a_calibration_on_two_workers_stops_its_workers_quietly(tmp_path: Path) -> None:
    """The sampler ends each generation by terminating its forked workers, which no longer
    keep the command line's SIGTERM handler: no traceback reaches the user (one a worker a
    generation did)."""
    priors = _tiny_priors(tmp_path)
    args = ["calibrate", str(TINY), "--priors", str(priors), "--budget", "quick", "-n", "2"]
    res = _cli([*args, "--workers", "2", "--out", str(tmp_path / "cal")])
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr


FORK_UNDER_LOCK = """
import os, sys, time
from pathlib import Path
from sim.experiment.folder import FolderLock
FolderLock(Path(sys.argv[1])).acquire()
child = os.fork()  # as pyabc's multicore sampler forks its workers
if child == 0:
    Path(sys.argv[2]).touch()
    time.sleep(3600)
    os._exit(0)
print(child, flush=True)
time.sleep(3600)
"""


def test_a_process_forked_under_the_lock_drops_it_and_dies_with_its_parent(tmp_path) -> None:
    target, marker = tmp_path / "cal", tmp_path / "forked"
    proc = subprocess.Popen(
        [sys.executable, "-c", FORK_UNDER_LOCK, str(target), str(marker)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    child = int(proc.stdout.readline())
    try:
        _wait(marker.exists, timeout=30)
        assert not _lock_is_free(target)  # the parent holds it
        proc.kill()
        proc.wait()
        _wait(lambda: not _alive(child), timeout=15)
        assert _lock_is_free(target)
    finally:
        if _alive(child):
            os.kill(child, signal.SIGKILL)


# --- inputs checked before anything is written ------------------------------------------------


def test_power_keeps_two_scenarios_of_the_same_file_name_apart(tmp_path: Path, capsys) -> None:
    specs = []
    for folder, more in (
        ("A", ""),
        ("B", '[member_states.EE]\nname = "E"\npopulation = 5000000\n'),
    ):
        (tmp_path / folder).mkdir()
        path = tmp_path / folder / "x.toml"
        path.write_text(f'extends = "{TINY.as_posix()}"\nname = "x"\n{more}')
        specs.append(str(path))
    assert main(["power", specs[0], "--compare", specs[1], "--rule", "qmv"]) == 0
    out = capsys.readouterr().out
    assert specs[0] in out
    assert specs[1] in out
    assert re.search(r"[+-][1-9]\d*\.\d%", out), out  # a change, not "+0.0%" everywhere
    assert main(["power", specs[0], "--compare", specs[0]]) == 2
    assert "given twice" in capsys.readouterr().err


def _calibration_copy(folder: Path, edit: Callable[[Any], Any] | None, sha: bool = True) -> Path:
    """A calibration folder with the bundled posterior edited by ``edit`` and a manifest
    consistent with its files (its ``posterior_sha256`` too unless ``sha`` is false)."""
    import pandas as pd

    from sim.experiment.folder import checksums, read_manifest, sha256_file, write_manifest

    cal = folder / "cal"
    cal.mkdir()
    source = ROOT / "docs" / "calibration"
    for name in ("posterior.parquet", "priors.toml", "calibrated.toml", "fit.csv"):
        shutil.copy(source / name, cal / name)
    if edit is not None:
        draws = edit(pd.read_parquet(cal / "posterior.parquet"))
        draws.to_parquet(cal / "posterior.parquet", index=False)
    manifest = read_manifest(source)
    files, parts = checksums(cal)
    manifest.update(files=files, parts=parts)
    if sha:
        manifest["posterior_sha256"] = sha256_file(cal / "posterior.parquet")
    write_manifest(cal, manifest)
    return cal


def _set(column: str, value: float, row: int = 0) -> Callable[[Any], Any]:
    def edit(draws: Any) -> Any:
        draws[column] = draws[column].astype(float)
        draws.loc[row, column] = value
        return draws

    return edit


HOLDOUT = "member_defaults.holdout_probability"
BAD_POSTERIORS: dict[str, tuple[Callable[[Any], Any] | None, bool, str]] = {
    "missing_parameter": (lambda d: d.drop(columns=[HOLDOUT]), True, f"no column {HOLDOUT}"),
    "missing_weight": (lambda d: d.drop(columns=["weight"]), True, "no column weight"),
    "zero_weights": (lambda d: d.assign(weight=0.0), True, "the weights sum to zero"),
    "negative_weight": (_set("weight", -1.0), True, "weight: negative in row 0"),
    "nan_weight": (_set("weight", float("nan")), True, "weight: not a finite number"),
    "no_rows": (lambda d: d.iloc[:0], True, "no draws"),
    "nan_draw": (_set(HOLDOUT, float("nan"), 3), True, f"{HOLDOUT}: not a finite number in row 3"),
    "out_of_range": (_set(HOLDOUT, 7.0), True, f"{HOLDOUT}: 7 in row 0 is outside the priors'"),
    "checksum": (_set("weight", 2.0), False, "differs from the manifest's posterior_sha256"),
}


@pytest.mark.parametrize("case", list(BAD_POSTERIORS), ids=list(BAD_POSTERIORS))
def test_a_bad_posterior_is_refused_before_anything_is_written(
    case: str, tmp_path: Path, capsys
) -> None:
    edit, sha, message = BAD_POSTERIORS[case]
    cal = _calibration_copy(tmp_path, edit, sha)
    out = tmp_path / "out"
    args = ["run", "eu27_baseline", "-n", "2", "--horizon", "20", "--quiet", "--workers", "1"]
    assert main([*args, "--posterior", str(cal), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert "posterior.parquet" in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()
    assert _hidden(tmp_path) == []


def test_the_bundled_calibration_is_found_by_name(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["run", "qmv_art31", "-n", "2", "--horizon", "20", "--quiet", "--workers", "1"]
    assert main([*args, "--posterior", "eu27_baseline", "--out", "r"]) == 0, capsys.readouterr()
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    bundled = json.loads((ROOT / "docs" / "calibration" / "manifest.json").read_text())
    assert manifest["posterior"]["sha256"] == bundled["posterior_sha256"]


COMMAND_LINE_CASES: dict[str, tuple[list[str], str]] = {
    "empty_range": (["export", "{run}", "--replications", "1-0"], "empty range"),
    "huge_range": (
        ["export", "{run}", "--replications", "0-100000000000"],
        "the run has replications 0-2, not 100000000000",
    ),
    "vary_twice": (
        ["sweep", "{tiny}", "--vary", "bodies.WP.capacity=4", "--vary", "bodies.WP.capacity=5"],
        "--vary: bodies.WP.capacity: given twice",
    ),
    "huge_design": (
        ["sensitivity", "{tiny}", "--priors", "{priors}", "--samples", "100000000"],
        "--samples: the design has 300,000,000 points, over the limit",
    ),
    "huge_calibration": (
        ["calibrate", "{tiny}", "--priors", "{priors}", "-n", "5000000"],
        "5,000,000 replications is over the limit",
    ),
    "compare_twice": (["compare", "{run}", "{run}", "{run}"], "given twice"),
}


@pytest.mark.parametrize("case", list(COMMAND_LINE_CASES), ids=list(COMMAND_LINE_CASES))
def test_command_line_ranges_and_sizes_are_refused_before_any_work(
    case: str, good_run: Path, tmp_path: Path, capsys
) -> None:
    """Each refused at once (no design built, no range allocated), one line, nothing written."""
    template, message = COMMAND_LINE_CASES[case]
    names = {"run": str(good_run), "tiny": str(TINY), "priors": str(_tiny_priors(tmp_path))}
    out = tmp_path / "o"
    argv = [a.format(**names) for a in template]
    started = time.time()
    assert main([*argv, "--out", str(out)]) == 2
    assert time.time() - started < 10
    err = capsys.readouterr().err
    assert message in err, err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()
    if case == "huge_design":  # the option its message names exists
        assert main([*argv, "--allow-large", "--help"]) == 0


def test_compare_from_python_refuses_a_run_given_twice(good_run: Path, tmp_path: Path) -> None:
    """The check lives in ``sim.compare`` itself, not only in the command line."""
    out = tmp_path / "cmp"
    with pytest.raises(UserError, match="given twice"):
        sim.compare([good_run, good_run], out)
    assert not out.exists()


def test_an_observed_record_without_its_columns_is_named(tmp_path: Path, capsys) -> None:
    record = tmp_path / "observed.csv"
    record.write_text("id,foo\n1,2\n")
    priors = _tiny_priors(tmp_path)
    args = ["calibrate", str(TINY), "--priors", str(priors), "--observed", str(record)]
    assert main([*args, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert f"{record}: --observed: no column category" in err
    assert not (tmp_path / "o").exists()


def test_a_fifo_where_a_manifest_should_be_fails_at_once(good_run: Path, tmp_path: Path) -> None:
    folder = tmp_path / "run"
    shutil.copytree(good_run, folder)
    (folder / "manifest.json").unlink()
    os.mkfifo(folder / "manifest.json")
    proc = _start(["plot", str(folder)])
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 2, err
    assert "manifest.json: is a FIFO, not a regular file" in err


def test_a_table_that_is_not_parquet_is_named_even_with_a_consistent_manifest(
    good_run: Path, tmp_path: Path, capsys
) -> None:
    from sim.experiment.folder import checksums, write_manifest

    folder = tmp_path / "run"
    shutil.copytree(good_run, folder)
    (folder / "events.parquet").write_bytes(b"not parquet at all" * 10)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"], manifest["parts"] = checksums(folder)
    write_manifest(folder, manifest)
    for command in (["export", str(folder)], ["fit", str(folder)], ["plot", str(folder)]):
        assert (
            main([*command, "--out", str(tmp_path / "x")] if command[0] != "plot" else command) == 2
        )
        err = capsys.readouterr().err
        assert "events.parquet: not a Parquet file" in err, err
