"""Regenerate ``docs/gallery/`` and the README's numbers (``make gallery``).

Runs the bundled scenarios with the same seed (paired, common random numbers), compares each
with the baseline, copies the README's figures into ``docs/gallery/`` and rewrites the README's
generated passages: the text between ``<!-- gallery:NAME -->`` and ``<!-- /gallery:NAME -->``.
Everything else in the README is left as written.

    python tools/gallery.py                  # 60 replications, seed 2025 (the README's)
    python tools/gallery.py -n 4 --horizon 90 --readme /tmp/README.md --gallery /tmp/g  # a try
"""

from __future__ import annotations

import argparse
import itertools
import re
import shutil
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.analysis.metrics import fmt_difference, fmt_interval
from sim.analysis.stats import REFERENCE_MIX
from sim.experiment.results import open_results
from sim.experiment.runner import Experiment, run_experiment
from sim.report import plots
from sim.report.comparison import compare_runs
from sim.report.export import CASE_ACTIVITIES, mining_log
from sim.report.html import figures_and_report
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "eu27_baseline"
VARIANTS = {
    "qmv_art31": "QMV under Art. 31(2) TEU",
    "constructive_abstention": "constructive abstention",
    "holdout_state": "one hold-out state",
    "enlargement_eu35": "an EU of 35",
    "qmv_enlarged": "QMV in an EU of 35",
}
FIGURES = {  # gallery file: (run or comparison folder, figure in it)
    "baseline_time_split.png": (BASELINE, "time_split.png"),
    "unanimity_vs_qmv_adoption.png": ("compare_qmv_art31", "adoption_overlay.png"),
    "unanimity_vs_qmv_forest_days.png": ("compare_qmv_art31", "forest_days.png"),
}


def _args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-n", "--replications", type=int, default=60, help="default: 60")
    p.add_argument("--seed", type=int, default=2025, help="default: 2025")
    p.add_argument("--horizon", type=float, help="override horizon_days (default: scenario's)")
    p.add_argument("--workers", type=int, help="default: all cores")
    p.add_argument("--results", type=Path, default=ROOT / "results" / "gallery")
    p.add_argument("--gallery", type=Path, default=ROOT / "docs" / "gallery")
    p.add_argument("--readme", type=Path, default=ROOT / "README.md")
    return p.parse_args(argv)


def _run(name: str, args: argparse.Namespace, report: bool = False) -> Experiment:
    sets = [f"horizon_days={args.horizon}"] if args.horizon else []
    on_done: Callable[[Experiment], object] | None = figures_and_report if report else None
    return run_experiment(
        load_scenario(name, sets),
        out=args.results / name,
        replications=args.replications,
        seed=args.seed,
        workers=args.workers,
        force=True,
        progress=False,
        on_done=on_done,  # type: ignore[arg-type]
    )


def _row(table: pd.DataFrame, metric: str, group: str = REFERENCE_MIX) -> pd.Series:
    return table[(table["metric"] == metric) & (table["group"] == group)].iloc[0]


def qmv_passage(table: pd.DataFrame) -> str:
    """The README's QMV headline: sanctions packages' paired difference in mean days."""
    pkg = _row(table, "time_to_adoption_mean", "sanctions_package")
    d = pkg["difference"]

    def num(x: float, digits: int = 1) -> str:
        return f"{x:.{digits}f}".replace("-", "−")

    return (
        f"**{abs(d):.1f} days {'faster' if d < 0 else 'slower'}** on average "
        f"({num(pkg['mean_a'])} → {num(pkg['mean_b'])} days; 95% CI of the\npaired difference "
        f"{num(pkg['ci_low'])} to {num(pkg['ci_high'])})"
    )


def scenarios_passage(tables: dict[str, pd.DataFrame], args: argparse.Namespace) -> str:
    """A table of every variant's paired differences from the baseline."""
    lines = [
        f"With {args.replications} replications (seed {args.seed}), paired against the "
        "baseline (all types together, at the baseline's mix of types):",
        "",
        "| scenario | days to adoption (mean), difference [95% CI] | adoption rate, difference "
        "[95% CI] |",
        "|---|---|---|",
    ]
    for name, table in tables.items():
        cells = []
        for metric in ("time_to_adoption_mean", "adoption_rate"):
            r = _row(table, metric)
            ci = fmt_interval(metric, r["ci_low"], r["ci_high"], difference=True)
            cells.append(f"{fmt_difference(metric, r['difference'])} {ci}")
        lines.append(f"| `{name}`: {VARIANTS[name]} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


def dfg_figure(folder: Path, out: Path, proposal_type: str = "sanctions_package") -> None:
    """The directly-follows graph of one proposal type's body visits (what pm4py discovers from
    ``cfsp-sim export``), as a matrix of counts: row = from, column = to."""
    manifest = open_results(folder).manifest
    log, cases = mining_log(folder, list(range(int(manifest["replications"]))))
    chosen = set(cases.loc[cases["type"] == proposal_type, "case"])
    steps = log[
        log["case"].isin(chosen)
        & (log["lifecycle"] == "complete")
        & ~log["activity"].str.contains(":", regex=False)
    ]
    pairs = Counter(
        (a, b)
        for _, g in steps.groupby("case", sort=False)
        for a, b in itertools.pairwise(g["activity"])
    )
    order = list(dict.fromkeys(steps["activity"]))  # first appearance: roughly the route
    first = [n for n in order if n == "submitted"]
    ends = [n for n in order if n in CASE_ACTIVITIES and n != "submitted"]
    order = first + [n for n in order if n not in first + ends] + ends
    matrix = np.array([[pairs.get((a, b), 0) for b in order] for a in order], dtype=float)
    with plots.style():
        fig = Figure(figsize=(8.5, 6.5))
        ax = fig.subplots()
        if not order:  # a very short try run may have no such proposal
            ax.text(0.5, 0.5, f"no {plots.human(proposal_type)} in this run", ha="center")
            fig.savefig(out, dpi=110)
            return
        ax.imshow(np.where(matrix > 0, matrix, np.nan), cmap="Blues")
        for (i, j), n in np.ndenumerate(matrix):
            if n:
                ax.text(j, i, f"{n:.0f}", ha="center", va="center", fontsize=8)
        labels = [plots.human(n) for n in order]
        ax.set_xticks(range(len(order)), labels, rotation=45, ha="right")
        ax.set_yticks(range(len(order)), labels)
        ax.grid(False)
        ax.set_title(f"Directly-follows graph: {plots.human(proposal_type)}s, body to body")
        ax.set_xlabel("next step")
        ax.set_ylabel("step")
        fig.tight_layout()
        fig.savefig(out, dpi=110)


def replace_passage(text: str, name: str, new: str) -> str:
    """``text`` with the passage between the markers of ``name`` replaced by ``new`` (the
    text unchanged, with a note, when it has no such markers)."""
    pattern = re.compile(rf"(<!-- gallery:{name} -->)(.*?)(<!-- /gallery:{name} -->)", re.S)
    if not pattern.search(text):
        print(f"note: no <!-- gallery:{name} --> ... <!-- /gallery:{name} --> markers: skipped")
        return text
    return pattern.sub(lambda m: m.group(1) + new + m.group(3), text, count=1)


def main(argv: Sequence[str] | None = None) -> int:
    args = _args(argv)
    base = _run(BASELINE, args, report=True)
    tables = {}
    for name in VARIANTS:
        variant = _run(name, args)
        out = args.results / f"compare_{name}"
        tables[name] = compare_runs([base.path, variant.path], out, force=True).table
        print(f"{name}: compared with {BASELINE} in {out}")
    args.gallery.mkdir(parents=True, exist_ok=True)
    for target, (folder, figure) in FIGURES.items():
        shutil.copyfile(args.results / folder / "figures" / figure, args.gallery / target)
    dfg_figure(base.path, args.gallery / "process_mining_dfg.png")
    text = args.readme.read_text(encoding="utf-8")
    text = replace_passage(text, "qmv", qmv_passage(tables["qmv_art31"]))
    text = replace_passage(text, "scenarios", "\n" + scenarios_passage(tables, args) + "\n")
    args.readme.write_text(text, encoding="utf-8")
    print(f"gallery: {args.gallery}; numbers: {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
