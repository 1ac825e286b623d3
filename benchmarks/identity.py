"""Digests of the model's output tables, to check that a change leaves every result bit-identical.

A performance change must not alter a single draw or table cell. This script runs a handful of
replications of several scenarios (bundled and test ones), with ``detail=True`` and
``detail=False``, hashes every table (values, dtypes, column names) into one digest per scenario,
and prints the digests. ``--save FILE`` writes them; ``--check FILE`` compares with a saved set
and exits non-zero on any difference.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import pandas as pd

from sim.engine.compile import Model
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = [
    ROOT / "scenarios" / f"{name}.toml"
    for name in (
        "eu27_baseline",
        "qmv_art31",
        "qmv_enlarged",
        "constructive_abstention",
        "crisis_surge",
        "holdout_state",
        "enlargement_eu35",
    )
] + [
    ROOT / "tests" / "data" / f"{name}.toml" for name in ("tiny", "deterministic", "analytic_veto")
]


def _hash_table(h: hashlib._Hash, table: pd.DataFrame) -> None:
    h.update(repr(list(zip(table.columns, map(str, table.dtypes), strict=True))).encode())
    h.update(pd.util.hash_pandas_object(table, index=True).to_numpy().tobytes())


def digest(path: Path, replications: int, seed: int) -> str:
    """One digest of all tables of ``replications`` runs of ``path``, with and without detail."""
    model = Model(load_scenario(path))
    h = hashlib.sha256()
    for detail in (True, False):
        for rep in range(replications):
            r = model.run(seed, rep, detail=detail)
            for table in (r.proposals, r.events, r.stages, r.meetings):
                _hash_table(h, table)
    return h.hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", "--replications", type=int, default=6)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--save", type=Path, help="write the digests to this JSON file")
    parser.add_argument("--check", type=Path, help="compare with digests saved by --save")
    args = parser.parse_args()
    digests = {p.stem: digest(p, args.replications, args.seed) for p in SCENARIOS}
    for name, d in digests.items():
        print(f"{name:28s} {d}")
    if args.save:
        args.save.write_text(json.dumps(digests, indent=1) + "\n")
    if args.check:
        expected = json.loads(args.check.read_text())
        differ = [k for k, d in digests.items() if expected.get(k) != d]
        print("identical" if not differ else f"DIFFERENT: {', '.join(differ)}")
        return 1 if differ else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
