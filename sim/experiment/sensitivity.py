"""Global sensitivity analysis of the headline statistics to every prior parameter (SALib).

Points are drawn by SALib in the unit cube and mapped onto each prior's scale (log-uniform
where the prior says so). Every point runs the same replications with the same seed — common
random numbers — so differences between points are the parameters' effect, not different draws.
Each point's statistic is the mean over its replications. Methods: ``morris`` (elementary
effects: ``mu_star`` ranks the parameters, ``sigma`` flags interactions and non-linearity;
cheap, ``samples`` trajectories cost ``samples * (d + 1)`` points) and ``sobol`` (variance
shares ``S1`` and total ``ST``; ``samples * (d + 2)`` points, ``samples`` a power of two).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from sim.core.errors import UserError
from sim.experiment.limits import check_run_size
from sim.experiment.moments import ADOPTION, Simulator, theta_rows
from sim.experiment.results import ResultsWriter, failure_status, write_text_atomic
from sim.experiment.runner import resolve_seed, versions
from sim.scenario import Scenario
from sim.scenario.priors import Prior

HEADLINE_STATISTICS = (
    "package_days_median",
    "package_share_within_10d",
    "renewal_margin_median",
    "renewal_lapse_share",
    "ministerial_share",
    ADOPTION,
)
"""What a sensitivity analysis explains first: package speed, renewal margins and lapses, the
share discussed by ministers, the adoption rate (then every other calibration target)."""

Method = Literal["morris", "sobol"]
MORRIS_LEVELS = 4


@dataclass
class Sensitivity:
    """A finished analysis: its folder, indices (``sensitivity.csv``) and points."""

    path: Path
    table: pd.DataFrame
    points: pd.DataFrame


def _problem(priors: Sequence[Prior]) -> dict[str, Any]:
    names = [p.key for p in priors]
    return {"num_vars": len(names), "names": names, "bounds": [[0, 1]] * len(names)}


def sample_unit(priors: Sequence[Prior], method: Method, samples: int, seed: int) -> np.ndarray:
    """SALib's design in the unit cube: rows of points."""
    problem = _problem(priors)
    if method == "morris":
        from SALib.sample import morris

        return morris.sample(problem, samples, num_levels=MORRIS_LEVELS, seed=seed)
    if samples & (samples - 1):
        raise UserError(f"--samples: Sobol' designs need a power of two, not {samples}")
    from SALib.sample import sobol

    return sobol.sample(problem, samples, calc_second_order=False, seed=seed)


def _point(sim: Simulator, seed: int, reps: int, theta: dict[str, float]) -> dict[str, float]:
    return sim.means(theta, seed, range(reps))


def evaluate(
    sim: Simulator, thetas: list[dict[str, float]], seed: int, reps: int, workers: int
) -> list[dict[str, float]]:
    """Each parameter set's mean statistics, in order (``workers`` processes; 1: this one)."""
    fn = partial(_point, sim, seed, reps)
    if workers <= 1:
        return [fn(t) for t in thetas]
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(fn, thetas, chunksize=max(1, len(thetas) // (4 * workers))))


def indices(
    priors: Sequence[Prior], method: Method, unit: np.ndarray, outputs: pd.DataFrame
) -> pd.DataFrame:
    """One row per parameter and statistic: the method's indices (SALib) and how many points
    had no value (filled with the statistic's mean over the points). A statistic that no
    point moved gets NaN indices: there is nothing to explain."""
    problem = _problem(priors)
    rows = []
    for stat in outputs.columns:
        y = outputs[stat].to_numpy(float)
        missing = int(np.isnan(y).sum())
        if missing == len(y) or np.nanstd(y) == 0:
            rows += [
                {"parameter": p.key, "metric": stat, "method": method, "points_missing": missing}
                for p in priors
            ]
            continue
        y = np.where(np.isnan(y), np.nanmean(y), y)
        if method == "morris":
            from SALib.analyze import morris

            res = morris.analyze(problem, unit, y, num_levels=MORRIS_LEVELS, seed=0)
            cols = {k: res[k] for k in ("mu", "mu_star", "sigma", "mu_star_conf")}
        else:
            from SALib.analyze import sobol

            res = sobol.analyze(problem, y, calc_second_order=False, seed=0)
            cols = {k: res[k] for k in ("S1", "S1_conf", "ST", "ST_conf")}
        for j, p in enumerate(priors):
            row: dict[str, Any] = {"parameter": p.key, "metric": stat, "method": method}
            row |= {k: float(v[j]) for k, v in cols.items()}
            rows.append(row | {"points_missing": missing})
    return pd.DataFrame(rows)


def run_sensitivity(
    scenario: Scenario,
    priors: Sequence[Prior],
    *,
    out: Path,
    method: Method = "morris",
    samples: int = 10,
    replications: int = 4,
    seed: int | None = None,
    workers: int | None = None,
    force: bool = False,
    inputs: Sequence[Path] = (),
    figures: Callable[[Path, pd.DataFrame], None] | None = None,
    allow_large: bool = False,
) -> Sensitivity:
    """Run the analysis into ``out`` (``sensitivity.csv``, ``points.csv``, figures, manifest).

    Raises :class:`~sim.core.errors.UserError` (nothing written) for a bad design size or a
    study too large without ``allow_large``."""
    seed = resolve_seed(scenario, seed)
    unit = sample_unit(priors, method, samples, seed)
    check_run_size(scenario, replications, allow_large, len(unit))
    thetas = theta_rows(priors, unit)
    writer = ResultsWriter(out, force=force, inputs=inputs)
    try:
        writer.write_manifest(
            kind="sensitivity",
            scenario=scenario.name,
            scenario_sha256=scenario.sha256(),
            method=method,
            samples=samples,
            points=len(unit),
            replications=replications,
            seed=seed,
            parameters=[p.key for p in priors],
            versions=versions(),
        )
        n_workers = workers or os.cpu_count() or 1
        sim = Simulator(scenario, priors)
        stats = pd.DataFrame(evaluate(sim, thetas, seed, replications, n_workers))
        rest = sorted(c for c in stats.columns if c not in HEADLINE_STATISTICS)
        outputs = stats.reindex(columns=[*HEADLINE_STATISTICS, *rest])
        table = indices(priors, method, unit, outputs)
        points = pd.concat([pd.DataFrame(thetas), stats], axis=1)
        write_text_atomic(writer.path("sensitivity.csv"), table.to_csv(index=False))
        write_text_atomic(writer.path("points.csv"), points.to_csv(index=False))
        if figures is not None:
            figures(writer.staging, table)
        path = writer.publish()
    except BaseException as exc:
        writer.abandon(*failure_status(exc))
        raise
    return Sensitivity(path, table, points)
