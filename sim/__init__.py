"""cfsp-sim: a discrete-event model of EU foreign and security policy decision-making.

The public API: :func:`load_scenario`, :func:`run_experiment` (many replications into a results
folder), :class:`Model` / :func:`run_replication` (one replication's tables), and the modules
:mod:`sim.analysis.stats` and :mod:`sim.report.plots`. ``docs/architecture.md`` maps the package.
"""

from typing import Any

from sim.core.errors import UserError
from sim.engine.compile import Model, ReplicationResult, run_replication
from sim.scenario import Scenario, ScenarioError, load_scenario

__version__ = "0.1.0"

__all__ = [
    "Model",
    "ReplicationResult",
    "Scenario",
    "ScenarioError",
    "UserError",
    "__version__",
    "load_scenario",
    "run_experiment",
    "run_replication",
]


def __getattr__(name: str) -> Any:
    """``sim.run_experiment``, imported on first use (it brings in pyarrow and the pool)."""
    if name == "run_experiment":
        from sim.experiment.runner import run_experiment

        return run_experiment
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
