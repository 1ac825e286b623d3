"""Every study's figures and report, attached in one place.

:func:`attach_report` is the ``report`` of :class:`~sim.experiment.study.ExperimentOptions`
that the command line and :mod:`sim` use: the study transaction calls it on the finished
result, in its staging folder, just before publishing.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sim.experiment.calibrate import Calibration
from sim.experiment.engines import IN_PROCESS, Helpers
from sim.experiment.results import Experiment, open_results
from sim.experiment.sensitivity import Sensitivity
from sim.experiment.study import DEFAULTS, ExperimentOptions, study
from sim.experiment.sweep import Sweep
from sim.report.html import figures_and_report
from sim.report.inference import calibration_figures, sensitivity_figures
from sim.report.sweep import sweep_figures


def attach_report(result: object, helpers: Helpers = IN_PROCESS) -> None:
    """Draw a finished run's figures and ``report.html`` (the figures on ``helpers``: a run's
    worker processes), a sweep's sensitivity figure, a sensitivity analysis's importance figure
    or a calibration's figures and report into the result's folder."""
    if isinstance(result, Experiment):
        figures_and_report(result, helpers)
    elif isinstance(result, Sweep):
        sweep_figures(result)
    elif isinstance(result, Sensitivity):
        sensitivity_figures(result)
    elif isinstance(result, Calibration):
        calibration_figures(result)
    else:
        raise TypeError(f"no report for {type(result).__name__}")


def with_reports(options: ExperimentOptions = DEFAULTS) -> ExperimentOptions:
    """``options`` that draw every study's figures and report."""
    return replace(options, report=attach_report)


def redraw(folder: str | Path) -> Path:
    """Redraw a complete run's figures and report in place (``cfsp-sim plot``): drawn beside
    the folder, under its lock, then swapped in; returns the report."""
    exp = open_results(folder)  # verified, and recovered if a run died publishing it
    with study(folder, {}, with_reports(), update=True) as s:
        s.result = Experiment(s.staging, exp.scenario, exp.manifest, exp.summary)
    return Path(folder) / "report.html"
