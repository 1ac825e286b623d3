"""Reading the files a scenario comes from, safely: a regular UTF-8 TOML file of bounded size,
nested no deeper than a scenario needs (so a FIFO, a device, a huge or a pathologically nested
file fails at once with one message instead of hanging, eating memory or overflowing the
stack). Scenario files, their ``extends`` chain and priors files all go through here.
"""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path
from typing import Any

from sim.scenario.schema import ScenarioError

MAX_FILE_BYTES = 1 << 20
"""The largest file read (1 MiB): a scenario is a few kilobytes of TOML."""
MAX_DEPTH = 32
"""The deepest nesting of tables and arrays accepted (a scenario needs about six)."""
MAX_KEY_PARTS = MAX_DEPTH
"""The most parts a ``--set`` key path may have."""


def read_toml(path: Path, where: str | Path | None = None, key: str = "") -> dict[str, Any]:
    """The TOML document at ``path``; problems are reported against ``where`` (default: the
    file itself) and ``key`` (e.g. the ``extends`` that named the file)."""
    blame = path if where is None else where
    try:
        st = path.stat()
        if stat.S_ISDIR(st.st_mode):
            raise ScenarioError(blame, key, f"is a directory, not a TOML file: {path}")
        if not stat.S_ISREG(st.st_mode):
            raise ScenarioError(blame, key, f"not a regular file: {path}")
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fd).st_mode):  # replaced since the stat above
                raise ScenarioError(blame, key, f"not a regular file: {path}")
            data = fh.read(MAX_FILE_BYTES + 1)
    except PermissionError:
        raise ScenarioError(blame, key, f"cannot read file: {path}") from None
    except (FileNotFoundError, ScenarioError):
        raise
    except OSError as exc:
        raise ScenarioError(blame, key, f"cannot read file: {path} ({exc.strerror})") from None
    if len(data) > MAX_FILE_BYTES:
        raise ScenarioError(blame, key, f"larger than {MAX_FILE_BYTES >> 20} MiB: {path}")
    try:
        parsed = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ScenarioError(path, "", f"not UTF-8 text: {exc.reason}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(path, "", f"invalid TOML: {exc}") from None
    except RecursionError:
        raise ScenarioError(path, "", f"nested deeper than {MAX_DEPTH} levels") from None
    check_depth(parsed, path, "")
    return parsed


def check_depth(value: Any, where: str | Path, key: str) -> None:
    """Refuse ``value`` if its tables and arrays nest deeper than :data:`MAX_DEPTH` (checked
    without recursion)."""
    level: list[Any] = [value] if isinstance(value, dict | list) else []
    for _ in range(MAX_DEPTH + 1):
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, dict | list)
        ]
        if not level:
            return
    raise ScenarioError(where, key, f"nested deeper than {MAX_DEPTH} levels")
