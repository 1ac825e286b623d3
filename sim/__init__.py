"""cfsp-sim: a discrete-event model of EU foreign and security policy decision-making."""

from sim.engine.compile import Model, ReplicationResult, run_replication
from sim.scenario import Scenario, ScenarioError, load_scenario

__version__ = "0.1.0"

__all__ = [
    "Model",
    "ReplicationResult",
    "Scenario",
    "ScenarioError",
    "__version__",
    "load_scenario",
    "run_replication",
]
