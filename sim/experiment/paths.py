"""Opening the files a command reads, writes or replaces — the one place that does it, safely.

* **Reading** (:func:`read_regular`, :func:`open_regular`): only regular files, opened without
  blocking (a FIFO or a device named where a manifest or a table should be fails at once
  instead of hanging or filling memory), of bounded size.
* **Creating** (:func:`create_new`): a new file only — never an existing one, never through a
  symbolic link (``O_EXCL | O_NOFOLLOW``), so no file the program did not create is truncated.
* **Replacing** (:func:`write_text_atomic`): written to a new temporary file, fsynced, then
  renamed over the target — which must be missing or a regular file: a link, a device, a FIFO
  or a socket at an output path is refused (:func:`check_replaceable_file`), never replaced.
* **Names**: a path whose last part, or a hidden sibling name the program derives from it
  (``.<name>.partial-…``, ``.<name>.lock``), would exceed the file system's limit is refused
  up front (:func:`check_name_length`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from pathlib import Path

from sim.core.errors import UserError

NAME_MAX = 255
"""The longest file name (bytes) of the usual file systems."""
DERIVED_SUFFIX = len(".partial-20260101T000000-4194304-abcdef") + 1
"""The most a hidden sibling name adds to the target's name (the leading dot included)."""

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def not_regular(path: Path, mode: int) -> UserError:
    """The refusal of a path that is not a regular file, saying what it is."""
    return UserError(f"{path}: is {_kind(mode)}, not a regular file; cfsp-sim will not use it")


def open_regular(path: Path) -> int:
    """A descriptor of the existing regular file ``path``, for reading (links followed, no
    blocking on a FIFO); :class:`UserError` if it is anything else, ``FileNotFoundError`` if
    it is missing."""
    fd = os.open(path, os.O_RDONLY | _NONBLOCK | _CLOEXEC)
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise not_regular(path, mode)
    return fd


def read_regular(path: Path, limit: int) -> bytes:
    """The content of the regular file ``path`` (see :func:`open_regular`); :class:`UserError`
    when it is larger than ``limit`` bytes."""
    fd = open_regular(path)
    with os.fdopen(fd, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise UserError(f"{path}: larger than {limit:,} bytes (not a file cfsp-sim wrote)")
    return data


def create_new(path: Path, mode: int = 0o644) -> int:
    """A descriptor of a file created now at ``path`` (read-write): fails if anything — a
    file, a link, a FIFO — is there already (``FileExistsError``)."""
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, mode)


def check_replaceable_file(path: Path) -> None:
    """Refuse an output path that exists and is not a regular file (a link, a folder, a
    device, a FIFO, a socket): cfsp-sim replaces only regular files."""
    try:
        mode = os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):  # nothing there (to replace)
        return
    if not stat.S_ISREG(mode):
        raise not_regular(path, mode)


def check_name_length(path: Path, what: str = "output") -> None:
    """Refuse an output whose name, or the hidden names derived from it, are too long."""
    name = Path(os.path.abspath(path)).name
    size = len(os.fsencode(name))
    if size + DERIVED_SUFFIX > NAME_MAX:
        raise UserError(
            f"{path}: the {what} name is {size} bytes long; cfsp-sim needs at most "
            f"{NAME_MAX - DERIVED_SUFFIX} (its staging and lock files add to the name)"
        )


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a new temporary file, fsync and an atomic rename.

    The target must be missing or a regular file (:func:`check_replaceable_file`); the
    temporary file is created new, beside it (a leftover one is removed first, never
    followed)."""
    check_replaceable_file(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = create_new(tmp)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        check_replaceable_file(path)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_output(path: Path, text: str) -> Path:
    """Write a command's output file (``fit``, ``export``): :func:`write_text_atomic`, its
    folder made if missing, and any failure to write there one :class:`UserError` naming
    the file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, text)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if exc.errno in (errno.ENOTDIR, errno.EEXIST):
            reason = "a part of its folder is a file"
        raise UserError(f"{path}: cannot write it ({reason})") from None
    return path
