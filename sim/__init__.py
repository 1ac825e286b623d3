"""cfsp-sim: a discrete-event model of EU foreign and security policy decision-making.

The public API: :func:`load_scenario`, :func:`run_experiment` (many replications into a results
folder), :class:`Model` / :func:`run_replication` (one replication's tables), and the modules
:mod:`sim.analysis.stats` and :mod:`sim.report.plots`. ``docs/architecture.md`` maps the package.
For Python users and notebooks, ``run_experiment("eu27_baseline", out=..., report=True)`` also
draws the figures and ``report.html``, like ``cfsp-sim run``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.core.errors import UserError
from sim.engine.compile import Model, ReplicationResult, run_replication
from sim.scenario import Scenario, ScenarioError, load_scenario

if TYPE_CHECKING:
    from sim.experiment.runner import Experiment

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


def run_experiment(
    scenario: Scenario | str | Path, *, out: str | Path, report: bool = False, **options: Any
) -> Experiment:
    """Run a scenario (a :class:`Scenario`, a file or a bundled name) into the folder ``out``;
    with ``report`` also draw ``figures/`` and ``report.html`` there, as ``cfsp-sim run`` does.

    ``options`` are those of :func:`sim.experiment.runner.run_experiment` (``replications``,
    ``seed``, ``workers``, ``dask``, ``force``, ``progress``).
    """
    from sim.experiment.runner import run_experiment as run

    if not isinstance(scenario, Scenario):
        options.setdefault("scenario_file", str(scenario))
        scenario = load_scenario(scenario)
    if report:
        from sim.report.html import figures_and_report

        then = options.pop("on_done", None)

        def on_done(exp: Experiment) -> None:
            figures_and_report(exp)
            if then is not None:
                then(exp)

        options["on_done"] = on_done
    return run(scenario, out=out, **options)
