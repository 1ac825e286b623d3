"""cfsp-sim benchmark suite: prints its figures, measured in one run (``make bench``).

Not part of the timed test suite: timings depend on the machine. Ratios measured in the same
run (baseline replication-year vs a plain SimPy reference workload; 2 workers vs 1) mean the
same on any machine. Each target is printed beside its figure:

- issue 8: parallel efficiency >= 85% on 2 workers;
- issue 31: on all cores, a metrics-only study (no event log, no Parquet; the calibration
  targets of each replication) at >= 15 replication-years per the time of 100,000 plain SimPy
  timeouts; a whole ``cfsp-sim run`` of 1,000 replications (simulation, metrics, Parquet,
  summary, figures, report; the better of two runs, as the other timings take the best of
  several) at >= 6; the peak memory of those runs at most 1.2 times that of a 100-replication
  run.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import simpy

from sim import ExperimentOptions, load_scenario, run_experiment
from sim.analysis.calibration import simulated_targets
from sim.core.members import Holdouts, cast_votes, compromise, objections, proposal_stances
from sim.core.power import voting_power
from sim.engine.compile import Model, make_rule, member_arrays
from sim.engine.replication import Replication
from sim.experiment.moments import stacked

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "eu27_baseline.toml"
BASELINE_YEARS = load_scenario(BASELINE).horizon_days / 365.0
METRICS_ONLY_TARGET = 15.0  # replication-years per reference time, all cores (issue 31)
FULL_STUDY_TARGET = 6.0  # the same for a whole cfsp-sim run with figures and report (issue 31)
MEMORY_RATIO_TARGET = 1.2  # peak memory, 1,000 against 100 replications (issue 31)


def best_of(fn, repeat: int = 3) -> float:
    """Best wall time of ``repeat`` calls (seconds)."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def reference_simpy(n_events: int = 100_000) -> int:
    """A plain SimPy workload: one process yielding ``n_events`` timeouts."""
    env = simpy.Environment()

    def proc(env: simpy.Environment):
        for _ in range(n_events):
            yield env.timeout(1.0)

    env.process(proc(env))
    env.run()
    return n_events


def replication_years_per_second(n: int, workers: int) -> float:
    """A full ``run_experiment`` of the baseline (simulation, metrics, Parquet files, summary;
    no figures), in replication-years per wall-clock second."""
    scenario = load_scenario(BASELINE)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        options = ExperimentOptions(workers=workers, progress=False)
        run_experiment(scenario, Path(tmp) / "r", replications=n, seed=1, options=options)
        wall = time.perf_counter() - start
    return n * scenario.horizon_days / 365.0 / wall


def metrics_only_study(model: Model, levels: dict[str, str], reps: range) -> tuple[float, float]:
    """Wall seconds of a metrics-only study of ``reps`` on one worker: ``(simulation and
    tables, the same + calibration targets)``. Each replication runs without logs, its tables
    as Arrow; the targets (:func:`simulated_targets`) are computed once over all the
    replications' proposals and stages, made DataFrames once, as a calibration does
    (:mod:`sim.experiment.moments`)."""
    sim = 0.0
    runs = []
    start = time.perf_counter()
    for rep in reps:
        t = time.perf_counter()
        runs.append(model.run_tables(1, rep, detail=False))
        sim += time.perf_counter() - t
    proposals = stacked([r["proposals"] for r in runs])
    targets = simulated_targets(proposals, stacked([r["stages"] for r in runs]), levels)
    assert targets["replication"].nunique() == len(reps)
    return sim, time.perf_counter() - start


def metrics_only_per_reference(n: int, chunks: int = 5) -> tuple[float, float, float]:
    """Metrics-only replication-years per the time of the SimPy reference: ``(simulation and
    tables, with the targets, the targets' share of the time)``. The reference is timed before
    each of ``chunks`` studies of ``n / chunks`` replications; the best of each is used, so
    that a load that comes and goes on a shared machine weighs less (the share: the median of
    the studies')."""
    scenario = load_scenario(BASELINE)
    model, size = Model(scenario), n // chunks
    levels = {b: spec.level.value for b, spec in scenario.bodies.items()}
    years = size * scenario.horizon_days / 365.0
    refs, sims, totals = [], [], []
    for k in range(chunks):
        refs.append(best_of(reference_simpy, repeat=1))
        sim, total = metrics_only_study(model, levels, range(k * size, (k + 1) * size))
        sims.append(sim / years)
        totals.append(total / years)
    share = float(np.median([1.0 - s / t for s, t in zip(sims, totals, strict=True)]))
    return min(refs) / min(sims), min(refs) / min(totals), share


_WORKER_MODEL: list[tuple[Model, dict[str, str]]] = []


def _build_worker_model() -> None:
    """A worker's model, built once when the worker starts."""
    scenario = load_scenario(BASELINE)
    levels = {b: spec.level.value for b, spec in scenario.bodies.items()}
    _WORKER_MODEL.append((Model(scenario), levels))


def _metrics_only_chunk(reps: range) -> float:
    """A worker's share of a parallel metrics-only study; returns its wall seconds."""
    model, levels = _WORKER_MODEL[0]
    return metrics_only_study(model, levels, reps)[1]


def metrics_only_all_cores(n: int, workers: int) -> float:
    """Metrics-only replication-years per wall-clock second on ``workers`` processes, each
    simulating its share of ``n`` replications and their targets (as a calibration's workers
    do); the workers are started and their models built before the clock starts."""
    scenario = load_scenario(BASELINE)
    with ProcessPoolExecutor(workers, initializer=_build_worker_model) as pool:
        list(pool.map(time.sleep, [0.5] * workers))  # every worker started and initialised
        shares = [range(k, n, workers) for k in range(workers)]
        start = time.perf_counter()
        list(pool.map(_metrics_only_chunk, shares))
        wall = time.perf_counter() - start
    return n * scenario.horizon_days / 365.0 / wall


def engine_ms(engine: str, n: int) -> float:
    """Mean wall milliseconds of a metrics-only baseline replication-year (simulation and
    tables) on ``engine``, over ``n`` replications after one to warm up."""
    scenario = load_scenario(BASELINE)
    model = Model(scenario, engine=engine)
    assert model.engine == engine
    model.run(1, n, detail=False)
    start = time.perf_counter()
    for rep in range(n):
        model.run(1, rep, detail=False)
    return (time.perf_counter() - start) / n * 1e3 / BASELINE_YEARS


def simpy_events_per_replication_year() -> float:
    scenario = load_scenario(BASELINE)
    model = Model(scenario)
    counts = []
    for rep in range(5):
        r = Replication(model.compiled, model.dtypes, 1, rep)
        r.run()
        counts.append(next(r.env._eid))  # SimPy's scheduled-event counter
    return float(np.mean(counts)) * 365.0 / scenario.horizon_days


def round_cost_us() -> float:
    scenario = load_scenario(BASELINE)
    types = {t: pt.position for t, pt in scenario.proposal_types.items()}
    m = member_arrays(scenario.resolved_members(), types)
    rng = np.random.default_rng(0)
    st = proposal_stances(m, "sanctions_package", 0.05, False, np.zeros(1), rng)[0]
    rule = make_rule("unanimity", scenario.decision_rules["unanimity"])
    may = np.ones(m.n, bool)
    held = Holdouts.none(m.n)

    def one_round() -> None:
        obj, on_text = objections(m, 1.0, st, held, 1.0, rng.random(m.n))
        votes = cast_votes(obj, m.abstain_p, may, rng.random(m.n))
        rule.decide(votes, m.population)
        compromise(1.0, st.accept, m.weight, on_text, 0.05)

    n = 20_000
    t = best_of(lambda: [one_round() for _ in range(n)])
    return t / n * 1e6


def banzhaf_ms() -> float:
    scenario = load_scenario(BASELINE)
    members = scenario.resolved_members()
    rule = make_rule("qmv", scenario.decision_rules["qmv"])
    pops = np.array([x.population for x in members])
    codes = [x.code for x in members]
    return best_of(lambda: voting_power(rule, codes, pops)) * 1e3


def whole_run(replications: int) -> tuple[float, float]:
    """``(wall seconds, peak RSS in MB)`` of a ``cfsp-sim run`` of the baseline on all cores
    (figures and report included), in a fresh process tree: the wall time is the command's
    own, from ``main`` called to returned (the interpreter's start and imports left out); the
    peak is the main process's or its largest worker's."""
    with tempfile.TemporaryDirectory() as tmp:
        code = (
            "import resource, sys, time; from sim.cli import main; t = time.perf_counter(); "
            f"rc = main(['run', {str(BASELINE)!r}, '-n', '{replications}', '--seed', '1', "
            f"'--out', {tmp + '/r'!r}, '--quiet']); wall = time.perf_counter() - t; "
            "own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; "
            "kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss; "
            "print(wall, own, kids); sys.exit(rc)"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.split()
    return float(out[-3]), max(int(out[-2]), int(out[-1])) / 1024.0


def verdict(value: float, target: float, at_most: bool = False) -> str:
    """``target >= 15: met`` (or ``<=``, and NOT met)."""
    met = value <= target if at_most else value >= target
    return f"target {'<=' if at_most else '>='} {target:g}: {'met' if met else 'NOT met'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller workloads")
    args = parser.parse_args()
    n1 = n2 = 80 if args.quick else 1000  # the same study on 1 worker and on all cores
    cores = os.cpu_count() or 1
    print(
        f"cfsp-sim benchmarks on {platform.machine()}, {cores} cores, "
        f"Python {platform.python_version()}, {platform.platform()}"
    )

    Model(load_scenario(BASELINE)).run(1, 0)  # numba compiles (or loads) the kernel untimed
    ref_s = best_of(reference_simpy)
    print(f"plain SimPy reference: {100_000 / ref_s:,.0f} timeouts/s")
    one = replication_years_per_second(n1, 1)
    print(f"baseline replication-years per second, 1 worker ({n1} replications): {one:.1f}")
    alln = replication_years_per_second(n2, cores)
    print(
        f"baseline replication-years per second, {cores} workers ({n2} replications): {alln:.1f} "
        f"(parallel efficiency {alln / one / cores:.0%})"
    )
    per_ref = (1.0 / one) / ref_s
    print(
        f"full run (simulation, metrics, Parquet; 1 worker): {1.0 / per_ref:.2f} "
        "replication-years per the time of 100,000 SimPy timeouts"
    )
    sim_only, metrics_only, targets_share = metrics_only_per_reference(50 if args.quick else 200)
    print(
        f"metrics-only run (detail=False, no Parquet; simulation + calibration targets; 1 worker): "
        f"{metrics_only:.2f} replication-years per the time of 100,000 SimPy timeouts. "
        f"Simulation and tables alone {sim_only:.2f}; the targets take {targets_share:.0%} "
        "of the time"
    )
    n_par = 100 if args.quick else 400
    par = metrics_only_all_cores(n_par, cores) * ref_s
    print(
        f"metrics-only run on {cores} workers ({n_par} replications): {par:.2f} replication-years "
        f"per the time of 100,000 SimPy timeouts; {verdict(par, METRICS_ONLY_TARGET)}"
    )
    k = 20 if args.quick else 100
    compiled_ms, python_ms = engine_ms("compiled", k), engine_ms("python", k)
    print(
        f"metrics-only replication-year on one core: compiled engine {compiled_ms:.1f} ms, Python "
        f"engine {python_ms:.1f} ms ({python_ms / compiled_ms:.1f}x; the same tables, "
        "tests/test_kernel.py)"
    )
    events = simpy_events_per_replication_year()
    print(f"SimPy events per replication-year (the Python engine's): {events:,.0f}")
    print(
        f"one baseline replication-year costs {per_ref:.2f}x the 100k-timeout SimPy reference "
        f"in a full run ({(1.0 / one) * 1e3:.1f} ms vs {ref_s * 1e3:.1f} ms)"
    )
    print(f"one 27-member round (stances, votes, rule, compromise): {round_cost_us():.1f} us")
    print(f"exact Banzhaf + Shapley-Shubik, 27 members under QMV: {banzhaf_ms():.0f} ms")
    small, big = (20, 100) if args.quick else (100, 1000)
    (_, m_small), *runs = whole_run(small), whole_run(big), whole_run(big)
    wall, m_big = min(w for w, _ in runs), max(m for _, m in runs)
    study = big * BASELINE_YEARS / wall * ref_s
    print(
        f"whole cfsp-sim run on {cores} workers ({big} replications; simulation, metrics, "
        f"Parquet, summary, figures, report; the better of two runs, "
        f"{' and '.join(f'{w:.1f}' for w, _ in runs)} s): {wall:.1f} s, {study:.2f} "
        f"replication-years per the time of 100,000 SimPy timeouts; "
        f"{verdict(study, FULL_STUDY_TARGET)}"
    )
    ratio = m_big / m_small
    print(
        f"peak memory of a run: {m_small:.0f} MB for {small} replications, {m_big:.0f} MB for "
        f"{big} (ratio {ratio:.2f}; {verdict(ratio, MEMORY_RATIO_TARGET, at_most=True)}; max RSS "
        f"of the main process or of its largest worker, {resource.getpagesize()} B pages)"
    )


if __name__ == "__main__":
    main()
