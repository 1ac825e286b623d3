"""Calibration: approximate Bayesian computation (ABC-SMC, pyabc) of the prior parameters
against the observed CFSP record.

Why ABC-SMC and not simulated method of moments: the answer the project needs is a posterior
— parameter draws with weights that ``cfsp-sim run --posterior`` carries into policy answers —
not a point; the model has no likelihood; and pyabc runs its sequential populations on local
cores or on a Dask cluster without changes to the model.

Summary statistics are the calibration targets of :mod:`sim.analysis.calibration` (package
duration quantiles and shares, failed Coreper rounds, renewal margins and lapses, the EPF long
tail, the ministerial share), each a mean over ``replications`` one-year replications at a
fresh seed per simulation (drawn from the ABC's seeded generator). A target the record gives
as a soft range (``check = "range"``) enters as its distance outside the range (0 inside).
A statistic with no value in a simulation (no contested package, say) is set to its observed
value: it carries no information either way. Distances are adaptive (pyabc's
``AdaptivePNormDistance``: each statistic scaled by its root mean square deviation from the
observed value in the current population, which also weighs soft ranges that most simulations
meet).

The posterior and prior predictive checks (``fit.csv``, ``prior_fit.csv``) compare like with
like instead: each parameter draw simulates records of the observed record's size and span
(:mod:`sim.analysis.blocks`), and the 90% interval is taken across those records.

Reproducibility: the whole calibration is a function of the seed, the same on one worker as on
several or on a Dask cluster whose workers run one thread each (:mod:`sim.experiment.sampler`:
each particle has its own seed). The budget (``quick``, ``standard``, ``full``) is data in
``sim/data/calibration.toml``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import tomli_w

from sim.analysis.blocks import RecordSize
from sim.analysis.calibration import calibration_config, fit_table, observed_size, observed_targets
from sim.analysis.record import observed_record
from sim.core.errors import UserError
from sim.experiment.folder import read_regular, sha256_file
from sim.experiment.limits import check_run_size
from sim.experiment.moments import Simulator, theta_rows
from sim.experiment.posterior import Posterior
from sim.experiment.results import check_folder
from sim.experiment.runner import resolve_seed, versions
from sim.experiment.source import Source
from sim.experiment.study import DEFAULTS, ExperimentOptions, study
from sim.scenario import apply_override
from sim.scenario.priors import current_values, load_priors, priors_toml

log = logging.getLogger("sim")


TRANSITIONS = ("normal", "reflected")
"""ABC's perturbation kernels (:func:`_transition`)."""


@dataclass(frozen=True)
class Budget:
    """How much an ABC-SMC run may cost (``sim/data/calibration.toml`` ``[budgets]``)."""

    name: str
    population: int
    generations: int
    replications: int
    max_simulations: int
    max_minutes: float
    predictive_draws: int
    transition_scaling: float
    transition: str = "normal"  # or "reflected": sim.experiment.transition


def budget(name: str) -> Budget:
    """A named budget; :class:`UserError` for an unknown one."""
    budgets = calibration_config()["budgets"]
    if name not in budgets:
        raise UserError(f"--budget: unknown budget {name!r} (known: {', '.join(budgets)})")
    plan = Budget(name=name, **budgets[name])
    if plan.transition not in TRANSITIONS:
        raise UserError(
            f"sim/data/calibration.toml: budgets.{name}.transition: {plan.transition!r} is not "
            f"one of {', '.join(TRANSITIONS)}"
        )
    return plan


@dataclass(frozen=True)
class Statistics:
    """The summary statistics: names, observed values and each target's soft range."""

    names: tuple[str, ...]
    observed: dict[str, float]
    ranges: dict[str, tuple[float, float]]

    @classmethod
    def from_targets(cls, targets: pd.DataFrame) -> Statistics:
        """From :func:`~sim.analysis.calibration.observed_targets`."""
        observed, ranges = {}, {}
        for r in targets.itertuples():
            if r.check == "range":
                ranges[r.target] = (float(r.low), float(r.high))
                observed[r.target] = 0.0
            else:
                observed[r.target] = float(r.observed)
        return cls(tuple(observed), observed, ranges)

    def of(self, means: dict[str, float]) -> dict[str, float]:
        """A simulation's statistics from its target means."""
        out = {}
        for name in self.names:
            v = means.get(name, np.nan)
            if np.isnan(v):
                out[name] = self.observed[name]
            elif name in self.ranges:
                lo, hi = self.ranges[name]
                out[name] = max(0.0, lo - v, v - hi)
            else:
                out[name] = float(v)
        return out


def _label(j: int) -> str:
    return f"u{j:02d}"


class _Model:
    """The ABC model: unit-cube parameters -> summary statistics (picklable)."""

    def __init__(self, sim: Simulator, stats: Statistics, replications: int) -> None:
        self.sim, self.stats, self.replications = sim, stats, replications

    def theta(self, u: dict[str, float]) -> dict[str, float]:
        return {
            p.key: float(p.from_unit(np.array([u[_label(j)]]))[0])
            for j, p in enumerate(self.sim.priors)
        }

    def __call__(self, u: dict[str, float]) -> dict[str, float]:
        seed = int(np.random.randint(0, 2**31 - 1))  # noqa: NPY002 (pyabc's seeded generator)
        means = self.sim.means(self.theta(u), seed, range(self.replications))
        return self.stats.of(means)


def _sampler(workers: int, dask: str | None, seed: int, stack: contextlib.ExitStack) -> Any:
    """The sampler, each particle from its own seed
    (:class:`~sim.experiment.sampler.OrderedSampler`): on local processes (one: this one), or
    on a Dask cluster (``"local"``: one started here, a thread per worker; closed with
    ``stack``)."""
    from sim.experiment.sampler import OrderedSampler

    if dask is None:
        return OrderedSampler(workers, seed)
    from dask.distributed import Client

    try:
        client = (
            Client(dask, timeout=10)
            if dask != "local"
            else Client(n_workers=workers, threads_per_worker=1)
        )
    except (OSError, TimeoutError, ValueError) as exc:
        raise UserError(f"--dask: cannot reach a scheduler at {dask}: {exc}") from None
    stack.callback(client.close)
    if any(threads > 1 for threads in client.nthreads().values()):
        log.warning(
            "--dask: some workers run several threads; they share numpy's generator, so the "
            "posterior may depend on timing (start them with --nthreads 1)"
        )
    return OrderedSampler(workers, seed, client)


def _transition(plan: Budget) -> Any:
    """The budget's perturbation kernel: pyabc's multivariate normal, or one per parameter
    reflected into the unit cube (every proposal valid: :mod:`sim.experiment.transition`)."""
    import pyabc

    if plan.transition == "reflected":
        from sim.experiment.transition import ReflectedTransition

        return ReflectedTransition(scaling=plan.transition_scaling)
    return pyabc.MultivariateNormalTransition(scaling=plan.transition_scaling)


def run_abc(
    sim: Simulator,
    stats: Statistics,
    plan: Budget,
    seed: int,
    db: Path,
    options: ExperimentOptions = DEFAULTS,
) -> tuple[Posterior, pd.DataFrame]:
    """ABC-SMC over the unit cube of ``sim.priors`` (the simulations on ``options.workers``
    processes or ``options.dask``), its history in the SQLite file ``db``; returns the last
    population as a :class:`Posterior` and one row per generation (epsilon, acceptance,
    simulations)."""
    import pyabc

    np.random.seed(seed)  # noqa: NPY002 (pyabc draws from numpy's global generator)
    prior = pyabc.Distribution(
        **{_label(j): pyabc.RV("uniform", 0, 1) for j in range(len(sim.priors))}
    )
    model = _Model(sim, stats, plan.replications)
    with contextlib.ExitStack() as stack:
        abc = pyabc.ABCSMC(
            model,
            prior,
            pyabc.AdaptivePNormDistance(p=2, scale_function=pyabc.distance.rmsd),
            population_size=plan.population,
            transitions=_transition(plan),
            sampler=_sampler(options.processes(plan.population), options.dask, seed, stack),
        )
        abc.new(f"sqlite:///{db}", stats.of(stats.observed))
        history = abc.run(
            max_nr_populations=plan.generations,
            max_total_nr_simulations=plan.max_simulations,
            max_walltime=dt.timedelta(minutes=plan.max_minutes),
        )
    frame, weights = history.get_distribution(m=0, t=history.max_t)
    draws = pd.DataFrame([model.theta(row) for row in frame.to_dict("records")])
    for p in sim.priors:
        if p.integer:
            draws[p.key] = draws[p.key].round().astype(int)
    draws["weight"] = np.asarray(weights, float)
    pops = history.get_all_populations()
    generations = pops[pops["t"] >= 0].rename(columns={"t": "generation"})
    return Posterior(draws.reset_index(drop=True), sim.priors), generations.reset_index(drop=True)


def predictive(
    sim: Simulator, draws: pd.DataFrame, seed: int, replications: int, size: RecordSize
) -> pd.DataFrame:
    """Calibration targets per simulated record of ``size`` at each parameter draw: the
    posterior (or prior) predictive. A draw's records are made of its own replications, ``k``
    to a record (``k``: the record's span in the scenario's replications), as many whole
    records as ``replications`` holds and at least one; draw ``i`` runs the replications of
    ``seed`` after those of draw ``i - 1``. ``replication`` numbers the records in order."""
    k = size.replications(sim.scenario.horizon_days)
    per_draw = k * max(1, replications // k)
    parts = []
    for i, theta in enumerate(draws.to_dict("records")):
        part = sim.records(theta, seed, range(i * per_draw, (i + 1) * per_draw), size)
        parts.append(part.assign(replication=part["replication"] + i * (per_draw // k)))
    return pd.concat(parts, ignore_index=True)


def predictive_fit(
    sim: Simulator,
    draws: pd.DataFrame,
    seed: int,
    replications: int,
    observed: pd.DataFrame,
    size: RecordSize,
) -> pd.DataFrame:
    """:func:`fit_table` of the predictive at ``draws`` against ``observed`` (the targets of
    the record that gave ``size``): each target's observed value beside its simulated median
    and 90% predictive interval across simulated records."""
    return fit_table(observed, predictive(sim, draws, seed, replications, size))


def calibrated_toml(
    extends: str, name: str, point: dict[str, float], posterior: str, sha256: str
) -> str:
    """A scenario that extends ``extends`` with the posterior point estimate."""
    data: dict[str, Any] = {
        "extends": extends,
        "name": name,
        "description": f"{extends} with the ABC posterior's point estimate (weighted medians)",
    }
    for key, value in point.items():
        apply_override(data, key.split("."), value, "posterior")
    head = (
        f"# Calibrated by cfsp-sim calibrate: each value below is the weighted posterior median\n"
        f"# of {posterior} (sha256 {sha256}).\n"
    )
    return head + tomli_w.dumps(data)


@dataclass(frozen=True)
class Calibration:
    """A finished calibration: its folder, posterior, posterior and prior predictive fits and
    generations."""

    path: Path
    posterior: Posterior
    fit: pd.DataFrame
    prior_fit: pd.DataFrame
    generations: pd.DataFrame


MAX_RECORD_BYTES = 16 << 20
"""The largest observed record read (the bundled one is 40 kB)."""


def observed_statistics(observed: str | Path | None) -> tuple[pd.DataFrame, RecordSize]:
    """The calibration targets of the observed record ``observed`` (``None``: the bundled
    one) and its size, checked before anything runs: a regular CSV file of bounded size with
    every column of ``sim/data/observed_cfsp.csv``; :class:`UserError` naming the file
    otherwise."""
    if observed is None:
        return observed_targets(), observed_size()
    path = Path(observed)
    try:
        data = read_regular(path, MAX_RECORD_BYTES)
        header = pd.read_csv(io.BytesIO(data), nrows=0).columns
    except FileNotFoundError:
        raise UserError(f"{path}: --observed: file not found") from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: --observed: not a CSV record ({exc})") from None
    missing = [c for c in observed_record().columns if c not in header]
    if missing:
        raise UserError(
            f"{path}: --observed: no column {', '.join(missing)} (the record needs the columns "
            "of sim/data/observed_cfsp.csv)"
        )
    try:
        return observed_targets(path), observed_size(path)
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        raise UserError(f"{path}: --observed: cannot derive the targets ({exc})") from None


def _calibrated(source: Source) -> Simulator:
    """The scenario and the priors it calibrates (those not marked ``calibrate = false``)."""
    scenario = source.load()
    priors = [p for p in source.load_priors(scenario) if p.calibrate]
    if not priors:
        raise UserError(
            f"{source.priors_path()}: every parameter has calibrate = false: nothing to fit"
        )
    return Simulator(scenario, priors)


def run_calibration(
    source: Source,
    out: str | Path,
    *,
    plan: Budget,
    seed: int | None = None,
    observed: str | Path | None = None,
    options: ExperimentOptions = DEFAULTS,
) -> Calibration:
    """Calibrate ``source``'s scenario (its priors marked ``calibrate``) against ``observed``
    (default: the bundled record) into ``out``: ``posterior.parquet``, ``priors.toml`` (a
    copy), ``generations.csv``, ``calibrated.toml`` (extending the scenario with the
    posterior point), ``fit.csv`` (posterior predictive), ``prior_fit.csv`` (prior predictive),
    the pyabc history ``abc.db``, a manifest, and with ``options.report`` figures and a report.
    The folder's results are a function of the seed whatever ``options.workers``, and on Dask
    (``options.dask``) too where each worker runs one thread."""
    targets, size = observed_statistics(observed)
    sim = _calibrated(source)
    simulations = plan.max_simulations + 2 * plan.predictive_draws
    check_run_size(sim.scenario, plan.replications, options.allow_large, simulations)
    seed = resolve_seed(sim.scenario, seed)
    stats = Statistics.from_targets(targets)
    manifest = {
        "kind": "calibration",
        "scenario": sim.scenario.name,
        "scenario_sha256": sim.scenario.sha256(),
        "method": "ABC-SMC (pyabc)",
        "budget": plan.__dict__,
        "seed": seed,
        "parameters": [p.key for p in sim.priors],
        "input_values": current_values(sim.priors, sim.scenario),
        "statistics": list(stats.names),
        "simulated_record": {
            "replications": size.replications(sim.scenario.horizon_days),
            "items": dict(size.counts),
        },
        "versions": versions(),
    }
    inputs = (*options.inputs, *source.files(), source.priors_path())
    with study(out, manifest, replace(options, inputs=inputs)) as s:
        posterior, generations = run_abc(sim, stats, plan, seed, s.path("abc.db"), options)
        posterior.draws.to_parquet(s.path("posterior.parquet"), index=False)
        s.write_text("priors.toml", priors_toml(sim.priors))
        s.write_text("generations.csv", generations.to_csv(index=False))
        fit, prior_fit = _predictive_fits(sim, posterior, plan, seed, targets, size)
        s.write_text("fit.csv", fit.to_csv(index=False))
        s.write_text("prior_fit.csv", prior_fit.to_csv(index=False))
        digest = sha256_file(s.path("posterior.parquet"))
        name = f"{sim.scenario.name}_calibrated"
        extends = source.extends(Path(out))
        text = calibrated_toml(extends, name, posterior.point(), "posterior.parquet", digest)
        s.write_text("calibrated.toml", text)
        s.record(
            posterior_sha256=digest,
            effective_sample_size=round(posterior.effective_size(), 1),
            generations=len(generations),
            simulations=int(generations["samples"].sum()) if "samples" in generations else None,
            targets_inside=int(fit["inside"].sum()),
            targets=len(fit),
        )
        s.result = Calibration(s.staging, posterior, fit, prior_fit, generations)
    assert s.published is not None
    return replace(s.result, path=s.published)


def _predictive_fits(
    sim: Simulator,
    posterior: Posterior,
    plan: Budget,
    seed: int,
    observed: pd.DataFrame,
    size: RecordSize,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The posterior and the prior predictive fits (``plan.predictive_draws`` draws each)
    against the ``observed`` targets of the record of ``size``."""
    rng = np.random.default_rng(seed)
    post = posterior.sample(plan.predictive_draws, rng)
    fit = predictive_fit(sim, post, seed, plan.replications, observed, size)
    unit = rng.random((plan.predictive_draws, len(sim.priors)))
    prior = pd.DataFrame(theta_rows(sim.priors, unit))
    return fit, predictive_fit(sim, prior, seed, plan.replications, observed, size)


def open_calibration(folder: str | Path) -> Calibration:
    """A complete calibration folder, verified."""
    path = Path(folder)
    check_folder(path, "calibration")
    priors = load_priors(path / "priors.toml", None)
    posterior = Posterior(pd.read_parquet(path / "posterior.parquet"), priors)
    return Calibration(
        path,
        posterior,
        pd.read_csv(path / "fit.csv"),
        pd.read_csv(path / "prior_fit.csv"),
        pd.read_csv(path / "generations.csv"),
    )
