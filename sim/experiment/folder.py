"""A results folder on disk: one run at a time, crash-safe publishing, recovery, integrity.

The guarantees (README, "The results folder"):

* **What may be replaced.** A run writes to a target folder that is missing, empty, or — with
  ``--force`` — a folder cfsp-sim wrote (its ``manifest.json`` says so and it holds no file the
  manifest does not list). Anything else is refused. The target may not be an input of the
  command, hold one, lie inside one, nor be the current folder or one of its parents.
* **One run per folder.** A run holds an exclusive lock (``.<name>.lock`` beside the target,
  an ``flock`` the system drops when the process dies) for its whole life, and writes into a
  staging folder of its own, ``.<name>.partial-<time>-<pid>-<random>``, whose manifest names
  the process, host and start time. A second run is refused; a lock left by a dead process is
  taken over.
* **Crash-safe publishing.** Every file is written and fsynced, their sha256 recorded in the
  manifest, the manifest marked ``complete``; only then are the old results moved aside
  (``.<name>.old-…``), the staging folder renamed into place and the old results deleted. No
  kill at any instant loses complete results: the next command that touches the folder
  finishes an interrupted publish (or restores the old results) and removes what dead runs
  left behind, saying so.
* **Integrity.** Opening a folder checks the manifest's own checksum and every file's size and
  sha256; a corrupt, incomplete or foreign folder is refused naming the file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
import hashlib
import json
import logging
import os
import secrets
import shutil
import signal
import stat
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from sim.core.errors import UserError
from sim.experiment.lock import FolderLock, describe, whoami
from sim.experiment.paths import (
    check_name_length,
    check_replaceable_file,
    open_regular,
    read_regular,
    write_text_atomic,
)

__all__ = [
    "FolderLock",
    "check_name_length",
    "describe",
    "open_regular",
    "read_regular",
    "whoami",
    "write_text_atomic",
]

PRODUCER = "cfsp-sim"
MANIFEST = "manifest.json"
STATUSES = ("running", "complete", "failed", "interrupted")
MAX_MANIFEST_BYTES = 64 << 20
"""The largest manifest read (a sweep's lists every file of every point)."""
LEGACY_NAMES = ("scenario.toml", "summary.csv", "report.html", "sweep.csv", "comparison.csv")
"""Files a folder written before checksums may hold (with ``*.parquet`` and ``figures/``)."""

log = logging.getLogger("sim")


# --- writing files ----------------------------------------------------------------------------


def fsync(path: Path) -> None:
    """Flush a file or folder to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _canonical(data: dict[str, Any]) -> str:
    body = {k: v for k, v in data.items() if k != "checksum"}
    return json.dumps(body, sort_keys=True, default=str)


def write_manifest(folder: Path, data: dict[str, Any]) -> None:
    """Write ``manifest.json`` with a checksum of its own content."""
    stored: dict[str, Any] = json.loads(json.dumps(data, default=str))
    stored["checksum"] = hashlib.sha256(_canonical(stored).encode()).hexdigest()
    write_text_atomic(folder / MANIFEST, json.dumps(stored, indent=2) + "\n")


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of a results folder; :class:`UserError` naming the file when it is
    missing, not JSON, or does not match its own checksum."""
    path = folder / MANIFEST
    try:
        data = json.loads(read_regular(path, MAX_MANIFEST_BYTES))
    except FileNotFoundError:
        raise UserError(f"{folder}: no {MANIFEST} (not a results folder)") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a folder (not a results folder)") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read it ({exc.strerror})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: corrupt (not valid JSON: {exc})") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: corrupt (not a JSON object)")
    check = data.get("checksum")
    if check is not None and check != hashlib.sha256(_canonical(data).encode()).hexdigest():
        raise UserError(f"{path}: corrupt (its content does not match its checksum)")
    return data


def _try_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        return read_manifest(folder)
    except (UserError, OSError):
        return None


def is_ours(manifest: dict[str, Any]) -> bool:
    """Whether a manifest was written by cfsp-sim (this version or an older one)."""
    versions = manifest.get("versions")
    return (
        manifest.get("producer") == PRODUCER
        or (isinstance(versions, dict) and PRODUCER in versions)
        or manifest.get("kind") in ("sweep", "comparison")
    )


# --- checksums --------------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    """The sha256 of a file's content."""
    h = hashlib.sha256()
    with os.fdopen(open_regular(path), "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _walk(folder: Path) -> tuple[list[str], list[str]]:
    """Files under ``folder`` (POSIX relative paths, the top manifest excluded) and nested
    results folders (sub-folders with a manifest of their own: a sweep's points)."""
    files: list[str] = []
    parts: list[str] = []
    for root, dirs, names in os.walk(folder):
        here = Path(root)
        rel = here.relative_to(folder)
        nested = {d for d in dirs if (here / d / MANIFEST).is_file()}
        parts.extend((rel / d).as_posix() for d in sorted(nested))
        dirs[:] = sorted(d for d in dirs if d not in nested)
        files.extend(
            (rel / n).as_posix() for n in sorted(names) if not (rel == Path(".") and n == MANIFEST)
        )
    return files, parts


def checksums(folder: Path) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """sha256 and size of every file in ``folder`` (each fsynced), and its nested folders."""
    files, parts = _walk(folder)
    out = {}
    for rel in files:
        path = folder / rel
        fsync(path)
        out[rel] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
    return out, parts


def verify(folder: Path, manifest: dict[str, Any]) -> None:
    """Check every file the manifest lists (size, then sha256) and every nested results
    folder; :class:`UserError` naming the first file that is missing or differs."""
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise UserError(
            f"{folder / MANIFEST}: lists no checksums (written by an older cfsp-sim, or "
            "corrupt): run it again to get a results folder that can be verified"
        )
    for rel, info in files.items():
        path = folder / rel
        if Path(rel).is_absolute() or ".." in Path(rel).parts or not isinstance(info, dict):
            raise UserError(f"{folder / MANIFEST}: corrupt (bad file entry {rel!r})")
        if not path.is_file():
            raise UserError(f"{path}: missing (the results folder is incomplete)")
        size = path.stat().st_size
        if size != info.get("bytes"):
            raise UserError(
                f"{path}: {size} bytes where the manifest records {info.get('bytes')} "
                "(truncated or changed since the run)"
            )
        if sha256_file(path) != info.get("sha256"):
            raise UserError(f"{path}: corrupted (its sha256 differs from the manifest's)")
    for rel in manifest.get("parts", []):
        part = folder / rel
        sub = read_manifest(part)
        if sub.get("status") != "complete":
            raise UserError(f"{part}: run is not complete (status {sub.get('status')!r})")
        verify(part, sub)


# --- staging, publishing and recovery ---------------------------------------------------------


def sibling(target: Path, kind: str) -> Path:
    """A fresh hidden folder name beside ``target``: ``.<name>.<kind>-<time>-<pid>-<random>``."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    token = f"{stamp}-{os.getpid()}-{secrets.token_hex(3)}"
    return target.parent / f".{target.name}.{kind}-{token}"


def siblings(target: Path, kind: str) -> list[Path]:
    """Existing hidden folders of one kind (``partial``, ``old``, ``trash``) beside ``target``."""
    pattern = f".{glob.escape(target.name)}.{kind}-*"
    return sorted(p for p in target.parent.glob(pattern) if p.is_dir() and not p.is_symlink())


def discard(folder: Path, target: Path) -> None:
    """Delete a folder of ours beside ``target``: renamed to ``.<name>.trash-…`` first, so a
    kill midway leaves something recognisable that the next recovery removes."""
    trash = sibling(target, "trash")
    try:
        os.replace(folder, trash)
    except OSError:
        trash = folder
    if trash.is_symlink():  # a target that was a link: drop the link, not what it points to
        trash.unlink()
    else:
        shutil.rmtree(trash, ignore_errors=True)


def _pause(step: str) -> None:
    """Test hook: with ``CFSP_SIM_TEST_PAUSE=<step>`` the process stops at that step of
    publishing (for tests that kill it there)."""
    if os.environ.get("CFSP_SIM_TEST_PAUSE") == step:
        sys.stderr.write(f"paused at {step}\n")
        sys.stderr.flush()
        time.sleep(3600)


def _empty(target: Path) -> bool:
    return not os.path.lexists(target) or (target.is_dir() and not any(target.iterdir()))


def swap_in(target: Path, staging: Path) -> None:
    """Move the complete ``staging`` folder to ``target``; old results are moved aside first
    and deleted last (every step is a rename, recoverable by :func:`recover`)."""
    old = None
    if not _empty(target):
        old = sibling(target, "old")
        os.replace(target, old)
        _pause("moved-aside")
    elif os.path.lexists(target):
        target.rmdir()
    os.replace(staging, target)
    fsync(target.parent)
    _pause("swapped")
    if old is not None:
        discard(old, target)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends (publishing is not interrupted midway).

    The mask is restored whatever happens, even if a signal that arrived just before is
    handled (raising KeyboardInterrupt) the moment the blocking call returns: else Ctrl-C
    would stay blocked in the user's Python session."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, set())  # the mask as it is
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def recover(target: Path) -> list[str]:
    """Repair what dead runs left beside ``target`` (call with its lock held): finish an
    interrupted publish or restore the old results, and remove unfinished staging folders.
    Returns notes saying what was done."""
    for trash in siblings(target, "trash"):
        shutil.rmtree(trash, ignore_errors=True)
    notes: list[str] = []
    complete, dead = [], []
    for staging in siblings(target, "partial"):
        m = _try_manifest(staging)
        if m is not None and m.get("status") == "complete" and _verifies(staging, m):
            complete.append((str(m.get("ended", "")), staging, m))
        else:
            dead.append((staging, m))
    if complete:
        complete.sort()
        *older, (_, newest, m) = complete
        dead.extend((s, mm) for _, s, mm in older)
        swap_in(target, newest)
        notes.append(
            f"{target}: finished publishing the complete results of the run that stopped "
            f"while publishing them ({describe(m)})"
        )
    olds = siblings(target, "old")
    if olds and _empty(target):
        *rest, last = olds
        if os.path.lexists(target):
            target.rmdir()
        os.replace(last, target)
        notes.append(f"{target}: restored the previous results, moved aside by a run that died")
        olds = rest
    for old in olds:
        discard(old, target)
    for staging, m in dead:
        discard(staging, target)
        status = m.get("status") if m else "unknown"
        notes.append(
            f"{target}: removed {staging.name}, left by a run that did not finish "
            f"({describe(m)}; status {status})"
        )
    return notes


def _verifies(folder: Path, manifest: dict[str, Any]) -> bool:
    try:
        verify(folder, manifest)
    except (UserError, OSError):
        return False
    return True


# --- what a command may write to --------------------------------------------------------------


def check_output(target: Path, inputs: Iterable[Path] = ()) -> None:
    """Refuse an output that is the current folder or a parent of it, or that is an input of
    the command, holds one or lies inside one, or whose name is too long for the hidden
    names derived from it."""
    check_name_length(target, "folder")
    t = target.resolve()
    cwd = Path.cwd().resolve()
    if t == cwd or t in cwd.parents:
        raise UserError(
            f"{target}: is the current folder or one of its parents; give the results a "
            "folder of their own"
        )
    for path in inputs:
        p = Path(path).resolve()
        if t == p or t in p.parents:
            raise UserError(f"{target}: would replace {path}, an input of this command")
        if p in t.parents:
            raise UserError(f"{target}: lies inside {path}, an input of this command")


def check_output_file(target: Path, force: bool, default: Path) -> None:
    """Refuse an output file (``fit``, ``export``) that lies inside a results folder (it
    holds only what its manifest lists), that is a folder, a link, a device or a FIFO, that
    exists and is neither ``default`` (the name the command writes beside the folder) nor
    replaced with ``force``, or whose folder cannot be written (checked before any work)."""
    t = target.resolve()
    for parent in t.parents:
        manifest = _try_manifest(parent) if (parent / MANIFEST).is_file() else None
        if manifest is not None and is_ours(manifest):
            raise UserError(
                f"{target}: lies inside the results folder {parent}, which holds only what "
                "its manifest lists; write it beside the folder"
            )
    if target.is_dir() and not target.is_symlink():
        raise UserError(f"{target}: is a folder; give a file name")
    check_replaceable_file(target)
    if os.path.lexists(target) and not force and t != default.resolve():
        raise UserError(f"{target}: exists (use --force to replace it)")
    check_name_length(target, "file")
    _check_writable_folder(target)


def _check_writable_folder(target: Path) -> None:
    """Refuse an output whose folder (or its first existing ancestor, for a folder still to
    be made) is a file or may not be written."""
    here = Path(os.path.abspath(target)).parent
    while not os.path.lexists(here) and here != here.parent:
        here = here.parent
    try:
        mode = os.stat(here).st_mode
    except OSError as exc:
        raise UserError(f"{target}: cannot write there ({exc.strerror})") from None
    if not stat.S_ISDIR(mode):
        raise UserError(f"{target}: cannot write there ({here} is not a folder)")
    if not os.access(here, os.W_OK | os.X_OK):
        raise UserError(f"{target}: cannot write there ({here} is not writable)")


def check_replaceable(target: Path, force: bool) -> None:
    """Refuse a target that is not missing, empty or (with ``force``) a results folder."""
    if os.path.lexists(target) and not target.is_dir():
        raise UserError(f"{target}: exists and is not a folder")
    if _empty(target):
        return
    if not force:
        raise UserError(f"{target}: folder exists and is not empty (use --force to replace it)")
    manifest = _try_manifest(target)
    if manifest is None or not is_ours(manifest):
        raise UserError(
            f"{target}: not a cfsp-sim results folder (no valid {MANIFEST}), so --force will "
            "not replace it; choose another output folder or empty it yourself"
        )
    files, parts = _walk(target)
    written = manifest.get("files")
    listed = manifest.get("parts", [])
    for rel in files + parts:
        if isinstance(written, dict):
            known = rel in written or rel in listed
        else:
            known = rel in parts or _legacy_name(rel)
        if not known:
            raise UserError(
                f"{target}: holds {rel}, which no cfsp-sim run wrote, so --force will not "
                "replace it; move it away or choose another output folder"
            )


def _legacy_name(rel: str) -> bool:
    return rel in LEGACY_NAMES or rel.endswith(".parquet") or rel.startswith("figures/")
