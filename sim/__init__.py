"""cfsp-sim: a discrete-event model of EU foreign and security policy decision-making."""

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
    "run_replication",
]
