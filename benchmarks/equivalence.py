"""Same model, shown statistically: every metric of two runs of one scenario agrees within
Monte Carlo noise.

A refactor (or a faster engine) must keep the model; when it moves draws, digests cannot show
that, so this compares the per-replication metrics (``metrics.parquet``) of a run before and a
run after, metric by metric and type by type: a Welch two-sample t-test on the replication
means (independent samples, so it holds whether or not the draws moved), flagged when
p < 0.01 / (number of tests) (Bonferroni), together with the paired difference when both runs
share their seed and replication count (zero everywhere when the draws did not move).

    python benchmarks/equivalence.py BEFORE_FOLDER AFTER_FOLDER [--all]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats


def compare(before: Path, after: Path) -> pd.DataFrame:
    """One row per (metric, group) present in both runs: means, Welch's p and the largest
    paired difference."""
    a = pd.read_parquet(before / "metrics.parquet")
    b = pd.read_parquet(after / "metrics.parquet")
    rows = []
    for (metric, group), x in a.groupby(["metric", "group"], observed=True):
        y = b[(b["metric"] == metric) & (b["group"] == group)]
        xs, ys = x["value"].dropna().to_numpy(), y["value"].dropna().to_numpy()
        if len(xs) < 2 or len(ys) < 2:
            continue
        same = np.array_equal(xs, ys)
        p = 1.0 if same or (xs.std() == 0 and ys.std() == 0) else stats.ttest_ind(xs, ys).pvalue
        paired = x.set_index("replication")["value"] - y.set_index("replication")["value"]
        rows.append(
            {
                "metric": metric,
                "group": group,
                "before": xs.mean(),
                "after": ys.mean(),
                "difference": ys.mean() - xs.mean(),
                "p_welch": float(p),
                "max_paired_difference": float(paired.abs().max()),
            }
        )
    table = pd.DataFrame(rows)
    table["differs"] = table["p_welch"] < 0.01 / max(len(table), 1)
    return table


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("before", type=Path)
    p.add_argument("after", type=Path)
    p.add_argument("--all", action="store_true", help="print every row, not only a summary")
    args = p.parse_args()
    table = compare(args.before, args.after)
    shown = table if args.all else table[table["group"].isin(["all", "sanctions_package"])]
    with pd.option_context("display.width", 160, "display.max_rows", 500):
        print(shown.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(
        f"{len(table)} metric x type tests; {int(table['differs'].sum())} differ beyond noise "
        f"(Welch, Bonferroni 1%); largest paired difference "
        f"{table['max_paired_difference'].max():.3g}"
    )
    return 1 if table["differs"].any() else 0


if __name__ == "__main__":
    sys.exit(main())
