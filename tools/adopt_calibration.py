"""Write a calibration's posterior point into the baseline scenario, keeping its comments.

``cfsp-sim calibrate`` writes ``calibrated.toml`` (a scenario that extends the input with the
posterior's weighted medians). The bundled baseline carries those values itself, each marked
``CALIBRATED (hand-set X)`` with the value set by hand before any calibration, so every variant
that extends it is calibrated too. This tool rewrites only the numbers: each calibrated key's
value in its line, the marker added the first time (a recalibration keeps the hand-set value
named), and the posterior's sha256 in the header.

    python tools/adopt_calibration.py docs/calibration/calibrated.toml            # in place
    python tools/adopt_calibration.py CAL.toml --scenario scenarios/eu27_baseline.toml --out X
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHA = re.compile(r"sha256 [0-9a-f]{64}")
NUMBER = r"-?[0-9][0-9.e+-]*"


def calibrated_values(calibrated: str) -> Iterator[tuple[list[str], Any]]:
    """Each value of a ``calibrated.toml``: its key path and the value."""

    def walk(table: dict[str, Any], prefix: list[str]) -> Iterator[tuple[list[str], Any]]:
        for key, value in table.items():
            if isinstance(value, dict):
                yield from walk(value, [*prefix, key])
            elif prefix or key not in ("extends", "name", "description"):
                yield [*prefix, key], value

    return walk(tomllib.loads(calibrated), [])


def _fmt(value: Any) -> str:
    return str(value) if isinstance(value, int) else f"{value:.4g}"


def adopt(scenario: str, calibrated: str) -> tuple[str, list[str]]:
    """``scenario``'s text with ``calibrated``'s values written in, and one line per change."""
    lines = scenario.splitlines()
    headers = {
        m.group(1): i for i, line in enumerate(lines) if (m := re.match(r"^\[([\w.]+)\]\s*$", line))
    }
    changes = []
    for path, value in calibrated_values(calibrated):
        n = next((n for n in range(len(path) - 1, 0, -1) if ".".join(path[:n]) in headers), None)
        if n is None:
            raise SystemExit(f"{'.'.join(path)}: no table for it in the scenario")
        section, rest = ".".join(path[:n]), path[n:]
        start = headers[section] + 1
        end = min([i for i in headers.values() if i > headers[section]] + [len(lines)])
        j = next((i for i in range(start, end) if re.match(rf"^{rest[0]}\s*=", lines[i])), None)
        if j is None:
            raise SystemExit(f"{'.'.join(path)}: no line for it in [{section}]")
        code, hashmark, comment = lines[j].partition("#")
        # the key, then each inline table's key inside the one before: a = { b = { c = 1 } }
        inline = r"\s*=\s*\{[^#]*?\b".join(rest[1:])
        pattern = (
            rf"^({rest[0]}\s*=\s*)({NUMBER})"
            if len(rest) == 1
            else rf"(\b{inline}\s*=\s*)({NUMBER})"
        )
        found = re.search(pattern, code)
        if found is None:
            raise SystemExit(f"{'.'.join(path)}: no number to replace in {lines[j].strip()!r}")
        old = found.group(2)
        code = code[: found.start(2)] + _fmt(value) + code[found.end(2) :]
        marker = f"CALIBRATED {rest[-1]} (" if len(rest) > 1 else "CALIBRATED ("
        if marker in comment:  # a recalibration: the hand-set value stays named
            lines[j] = code + hashmark + comment
        elif hashmark:
            lines[j] = f"{code}# {marker}hand-set {old}); {comment.lstrip()}"
        else:
            lines[j] = f"{code.rstrip()}  # {marker}hand-set {old})"
        if old != _fmt(value):
            changes.append(f"{'.'.join(path)}: {old} -> {_fmt(value)}")
    text = "\n".join(lines) + "\n"
    sha = SHA.search(calibrated)
    if sha is not None:
        text = SHA.sub(sha.group(0), text, count=1)
    return text, changes


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("calibrated", type=Path, help="a calibrated.toml written by cfsp-sim calibrate")
    p.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "eu27_baseline.toml")
    p.add_argument("--out", type=Path, help="default: rewrite --scenario in place")
    args = p.parse_args(argv)
    text, changes = adopt(
        args.scenario.read_text(encoding="utf-8"), args.calibrated.read_text(encoding="utf-8")
    )
    (args.out or args.scenario).write_text(text, encoding="utf-8")
    print("\n".join(changes) or "no value changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
