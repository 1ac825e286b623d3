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

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from sim.core.errors import UserError
from sim.experiment.engines import PoolEngine, pool_size
from sim.experiment.limits import OVERRIDE, check_run_size
from sim.experiment.moments import ADOPTION, Simulator, theta_rows
from sim.experiment.runner import resolve_seed, versions
from sim.experiment.source import Source
from sim.experiment.study import DEFAULTS, ExperimentOptions, study
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


@dataclass(frozen=True)
class Design:
    """SALib's design: ``morris`` trajectories or ``sobol`` base samples (a power of two)."""

    method: Method = "morris"
    samples: int = 10


@dataclass(frozen=True)
class Sensitivity:
    """A finished analysis: its folder, indices (``sensitivity.csv``) and points."""

    path: Path
    table: pd.DataFrame
    points: pd.DataFrame


SOBOL_BOOTSTRAP_SEED = 1
"""Seeds SALib's bootstrap of the Sobol' confidence intervals, so that the same points give the
same intervals. Not 0: ``SALib.analyze.sobol`` tests ``if seed:`` and leaves a seed of 0 unseeded
(a Sobol' study's intervals then changed from run to run)."""


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


MAX_POINTS = 100_000
"""The most points a design may have (SALib holds the design and its outputs in memory)."""


def design_points(design: Design, parameters: int) -> int:
    """The points of a design, known before it is built: ``samples * (d + 1)`` (Morris) or
    ``samples * (d + 2)`` (Sobol' without second-order indices)."""
    return design.samples * (parameters + (1 if design.method == "morris" else 2))


def check_design_size(
    scenario: Any, priors: Sequence[Prior], design: Design, replications: int, allow_large: bool
) -> None:
    """Refuse a design too large to build or to run, before it is built."""
    if design.samples < 1:
        raise UserError(f"--samples: must be at least 1, got {design.samples}")
    points = design_points(design, len(priors))
    if points > MAX_POINTS and not allow_large:
        raise UserError(
            f"--samples: the design has {points:,} points, over the limit of {MAX_POINTS:,}; "
            f"{OVERRIDE}"
        )
    check_run_size(scenario, replications, allow_large, points)


def _point(sim: Simulator, seed: int, reps: int, theta: dict[str, float]) -> dict[str, float]:
    return sim.means(theta, seed, range(reps))


def evaluate(
    sim: Simulator, thetas: list[dict[str, float]], seed: int, reps: int, workers: int | None
) -> list[dict[str, float]]:
    """Each parameter set's mean statistics, in order, on ``workers`` processes (1: this one;
    the pool of :mod:`sim.experiment.engines`, never larger than the cores or the points;
    its workers do not hold the folder's lock and die with this process)."""
    fn = partial(_point, sim, seed, reps)
    size = pool_size(workers, len(thetas))
    if size == 1:
        return [fn(t) for t in thetas]
    pool = PoolEngine(size)
    with pool:  # closed (its workers reaped) however the map ends
        return list(pool.imap(fn, thetas))


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

            res = sobol.analyze(problem, y, calc_second_order=False, seed=SOBOL_BOOTSTRAP_SEED)
            cols = {k: res[k] for k in ("S1", "S1_conf", "ST", "ST_conf")}
        for j, p in enumerate(priors):
            row: dict[str, Any] = {"parameter": p.key, "metric": stat, "method": method}
            row |= {k: float(v[j]) for k, v in cols.items()}
            rows.append(row | {"points_missing": missing})
    return pd.DataFrame(rows)


def run_sensitivity(
    source: Source,
    design: Design,
    out: str | Path,
    *,
    replications: int = 4,
    seed: int | None = None,
    options: ExperimentOptions = DEFAULTS,
) -> Sensitivity:
    """Run the analysis of ``source``'s scenario and priors into ``out`` (``sensitivity.csv``,
    ``points.csv``, a manifest; figures with ``options.report``). Each of the design's points
    runs ``replications`` one-year replications with the same ``seed``.

    Raises :class:`~sim.core.errors.UserError` (nothing written) for a bad design size or a
    study too large without ``options.allow_large``."""
    scenario = source.load()
    priors = source.load_priors(scenario)
    seed = resolve_seed(scenario, seed)
    check_design_size(scenario, priors, design, replications, options.allow_large)
    unit = sample_unit(priors, design.method, design.samples, seed)
    thetas = theta_rows(priors, unit)
    manifest = {
        "kind": "sensitivity",
        "scenario": scenario.name,
        "scenario_sha256": scenario.sha256(),
        "method": design.method,
        "samples": design.samples,
        "points": len(unit),
        "replications": replications,
        "seed": seed,
        "parameters": [p.key for p in priors],
        "versions": versions(),
    }
    inputs = (*options.inputs, *source.files(), source.priors_path())
    with study(out, manifest, replace(options, inputs=inputs)) as s:
        sim = Simulator(scenario, priors)
        stats = pd.DataFrame(evaluate(sim, thetas, seed, replications, options.workers))
        rest = sorted(c for c in stats.columns if c not in HEADLINE_STATISTICS)
        outputs = stats.reindex(columns=[*HEADLINE_STATISTICS, *rest])
        table = indices(priors, design.method, unit, outputs)
        points = pd.concat([pd.DataFrame(thetas), stats], axis=1)
        s.write_text("sensitivity.csv", table.to_csv(index=False))
        s.write_text("points.csv", points.to_csv(index=False))
        s.result = Sensitivity(s.staging, table, points)
    assert s.published is not None
    return replace(s.result, path=s.published)
