"""The lock of a target folder: ``.<name>.lock`` beside it, held with ``flock`` (released by
the system if the process dies) and naming its holder.

The lock file is opened without following a link and must be a regular file with one name
(no hard link to someone's file); an existing file is taken over only if it is a lock (empty, or
the JSON a lock holds) — a file cfsp-sim did not create is never truncated. The descriptor is
not inherited: a spawned worker never gets it, and a process forked while a lock is held (a
worker of the calibration's sampler, say) closes its copy at once and is killed when its parent
dies, so no orphan keeps a dead run's folder locked.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import errno
import fcntl
import json
import os
import signal
import socket
import stat
from pathlib import Path
from typing import Any

from sim.core.errors import UserError
from sim.experiment.paths import create_new, not_regular

LOCK_BYTES = 4096
"""A lock file holds a short JSON object; anything larger is not one."""

_HELD: set[int] = set()
"""Descriptors of the locks this process holds (closed in a forked child)."""
_PR_SET_PDEATHSIG = 1


def _prctl() -> Any:
    """Linux's ``prctl``, looked up now (not in a forked child, where loading a library could
    wait on a lock another thread of the parent held at the fork)."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        return None


_PRCTL = _prctl()


def _after_fork_in_child() -> None:
    """In a child forked while a lock is held: drop the lock's descriptor (the parent keeps
    the lock) and die with the parent (Linux)."""
    if not _HELD:
        return
    for fd in list(_HELD):
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD.clear()
    parent = os.getppid()
    if _PRCTL is None:  # pragma: no cover - not Linux
        return
    _PRCTL(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl: too late to be told
        os._exit(1)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def whoami() -> dict[str, Any]:
    """This process: pid, host and the time now (for locks and manifests)."""
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def describe(info: dict[str, Any] | None) -> str:
    """``pid 12 on host, started …`` from a lock's or a manifest's ``process``."""
    if info and isinstance(info.get("process"), dict):
        info = info["process"]
    if not info or "pid" not in info:
        return "an unknown process"
    return f"pid {info.get('pid')} on {info.get('host')}, started {info.get('started')}"


def _open_lock(path: Path) -> tuple[int, bool]:
    """The lock file's descriptor, and whether it was created now (else: an existing regular
    file with one link, opened without following a link)."""
    try:
        return create_new(path), True
    except FileExistsError:
        pass
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return _open_lock(path)  # its holder removed it: create it
    if not stat.S_ISREG(mode):
        raise not_regular(path, mode)
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return _open_lock(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # replaced by a link since the lstat
            raise not_regular(path, stat.S_IFLNK) from None
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1 or st.st_size > LOCK_BYTES:
        os.close(fd)
        raise UserError(
            f"{path}: not a cfsp-sim lock file (a hard link, or too large), so it will not be "
            "overwritten; remove it"
        )
    return fd, False


def _read_fd(fd: int) -> dict[str, Any] | None:
    """The lock's JSON object (``None``: empty; ``{}``: not a lock's content)."""
    try:
        data = json.loads(os.pread(fd, LOCK_BYTES, 0) or b"null")
    except (OSError, ValueError):
        return {}
    if data is None:
        return None
    return data if isinstance(data, dict) else {}


class FolderLock:
    """An exclusive lock on a target folder (see the module's docstring)."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.path = target.parent / f".{target.name}.lock"
        self._fd: int | None = None

    def _open(self) -> tuple[int, bool]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return _open_lock(self.path)
        except OSError as exc:
            raise UserError(
                f"{self.target}: cannot write there ({exc.strerror}); choose another output folder"
            ) from None

    def acquire(self, what: str = "run") -> list[str]:
        """Take the lock or raise :class:`UserError` naming the live holder (or a lock path
        that is not a lock file); returns notes (a lock taken over from a dead process)."""
        while True:
            fd, created = self._open()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_fd(fd)
                os.close(fd)
                raise UserError(
                    f"{self.target}: in use by another {what} ({describe(holder)}); wait for it "
                    "to finish or stop it"
                ) from None
            try:
                same = os.path.samestat(os.fstat(fd), os.lstat(self.path))
            except FileNotFoundError:
                same = False
            if same:  # else the holder removed the file as we opened it: try again
                break
            os.close(fd)
        stale = _read_fd(fd)
        if not created and stale is not None and "pid" not in stale:
            os.close(fd)
            raise UserError(
                f"{self.path}: exists and is not a cfsp-sim lock file, so it will not be "
                "overwritten; move it away"
            )
        notes = []
        if stale is not None:
            notes.append(f"{self.target}: took over the lock left by {describe(stale)}, gone")
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(whoami()).encode(), 0)
        self._fd = fd
        _HELD.add(fd)
        return notes

    def try_acquire(self) -> bool:
        """Take the lock if it is free (for readers that only recover); never raises for a
        lock held by someone else."""
        try:
            self.acquire()
        except (UserError, OSError):
            return False
        return True

    def release(self) -> None:
        """Drop the lock and its file."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        _HELD.discard(self._fd)
        os.close(self._fd)
        self._fd = None
