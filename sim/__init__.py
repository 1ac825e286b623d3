"""cfsp-sim: a discrete-event model of EU foreign and security policy decision-making.

The public API (what notebooks, ``tools/`` and the command line use)::

    import sim

    s = sim.load_scenario("qmv_art31", ["bodies.PSC.capacity=8"])   # validated Scenario
    run = sim.simulate(s, replications=20, seed=2025)               # in memory: tables, metrics
    run.headline()                                                  # means and 95% intervals
    exp = run.save("results/qmv")                                   # a results folder
    exp = sim.run_experiment("eu27_baseline", "results/base", replications=20, seed=2025,
                             options=sim.ExperimentOptions(workers=2, report=sim.attach_report))
    c = sim.compare(["results/base", "results/qmv"], "results/base_vs_qmv")
    sim.voting_power("enlargement_eu35", "qmv").table                # exact Banzhaf, Shapley
    sim.explore()                   # in Jupyter: what-if widgets over paired in-memory runs

:func:`simulate` and :func:`run_experiment` run the same replications (same seed: same
tables); the first keeps them in memory, the second streams them into a results folder. Every
function that writes a folder takes an :class:`ExperimentOptions` (workers, Dask, force, size
limits, progress bar, report). ``docs/architecture.md`` maps the package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from sim.core.errors import UserError
from sim.engine.compile import Model, ReplicationResult, run_replication
from sim.experiment.calibrate import Calibration, open_calibration
from sim.experiment.results import Experiment, open_results
from sim.experiment.runner import run_experiment
from sim.experiment.simulation import Simulation, simulate
from sim.experiment.source import Source
from sim.experiment.study import ExperimentOptions
from sim.scenario import Scenario, ScenarioError, load_scenario

if TYPE_CHECKING:
    from sim.report.attach import attach_report
    from sim.report.comparison import Comparison
    from sim.report.comparison import compare_runs as compare
    from sim.report.explorer import explore
    from sim.report.power import VotingPower, power_comparison, voting_power

__version__ = "0.1.0"

_REPORT = {
    "attach_report": ("sim.report.attach", "attach_report"),
    "Comparison": ("sim.report.comparison", "Comparison"),
    "compare": ("sim.report.comparison", "compare_runs"),
    "explore": ("sim.report.explorer", "explore"),
    "VotingPower": ("sim.report.power", "VotingPower"),
    "power_comparison": ("sim.report.power", "power_comparison"),
    "voting_power": ("sim.report.power", "voting_power"),
}
"""Names from the report layer, imported when first used (``import sim`` stays free of
matplotlib, which worker processes never need)."""


def __getattr__(name: str) -> Any:
    if name not in _REPORT:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    module, attr = _REPORT[name]
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


__all__ = [
    "Calibration",
    "Comparison",
    "Experiment",
    "ExperimentOptions",
    "Model",
    "ReplicationResult",
    "Scenario",
    "ScenarioError",
    "Simulation",
    "Source",
    "UserError",
    "VotingPower",
    "__version__",
    "attach_report",
    "compare",
    "explore",
    "load_scenario",
    "open_calibration",
    "open_results",
    "power_comparison",
    "run_experiment",
    "run_replication",
    "simulate",
    "voting_power",
]
