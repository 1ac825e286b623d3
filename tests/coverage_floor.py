"""Fail unless every module of the engine and the core has at least 90% branch coverage.

Run by ``make test`` after pytest (which writes ``.coverage`` and fails under 90% overall).
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import coverage

FLOOR = 90.0
PACKAGES = ("sim/core", "sim/engine")


def main() -> int:
    root = Path(__file__).resolve().parents[1]
    cov = coverage.Coverage(data_file=str(root / ".coverage"))
    cov.load()
    low = []
    for package in PACKAGES:
        for path in sorted((root / package).glob("*.py")):
            pct = cov.report(include=[str(path)], file=io.StringIO())
            if pct < FLOOR:
                low.append(f"{path.relative_to(root)}: {pct:.1f}%")
    print(f"engine and core modules: every one at least {FLOOR:.0f}% branch coverage", end="")
    print(" -- FAILED:\n  " + "\n  ".join(low) if low else ": yes")
    return 1 if low else 0


if __name__ == "__main__":
    sys.exit(main())
