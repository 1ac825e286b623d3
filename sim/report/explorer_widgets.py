"""The explorer's widgets (ipywidgets): controls over :class:`~sim.report.explorer.Choices`,
a background run with a progress bar, two figures and "save this scenario". The logic is in
:mod:`sim.report.explorer`."""

from __future__ import annotations

import threading
import traceback
from dataclasses import replace
from typing import Any

import ipywidgets as w
from matplotlib.figure import Figure

from sim.core.distributions import Lognormal
from sim.experiment.simulation import Simulation
from sim.report.explorer import (
    WAVES,
    Choices,
    Pair,
    curves_figure,
    forest_figure,
    png,
    run_in_thread,
    save_scenario,
    simulate_pair,
)
from sim.report.names import type_name
from sim.scenario import bundled_scenarios, load_scenario

WIDE = w.Layout(width="420px")
LABEL = {"description_width": "190px"}


class Explorer:
    """The explorer: ``widget`` is what a notebook shows; ``run()`` runs and redraws;
    ``pair``, ``curves`` and ``forest`` hold the last run and its figures."""

    def __init__(self, choices: Choices) -> None:
        self.choices = choices
        self.pair: Pair | None = None
        self.curves: Figure | None = None
        self.forest: Figure | None = None
        self.thread: threading.Thread | None = None
        self._cache: dict[tuple, Simulation] = {}
        bundled = [n for n in bundled_scenarios() if not n.startswith("enlargement_eu35_")]
        self.reference = w.Dropdown(
            options=bundled,
            value=choices.reference,
            description="reference",
            style=LABEL,
            layout=WIDE,
        )
        self.wave = w.Dropdown(
            options=list(WAVES.items()),
            value=choices.wave,
            description="enlargement wave",
            style=LABEL,
            layout=WIDE,
        )
        self.replications = w.IntSlider(
            value=choices.replications,
            min=5,
            max=100,
            step=5,
            description="paired replications",
            style=LABEL,
        )
        self.run_button = w.Button(description="Run", button_style="primary", icon="play")
        self.progress = w.IntProgress(value=0, min=0, max=3, description="idle", style=LABEL)
        self.status = w.HTML()
        self.save_name = w.Text(value="explored.toml", description="file", style=LABEL)
        self.save_button = w.Button(description="Save this scenario", icon="save")
        self.curves_image = w.Image(format="png")
        self.forest_image = w.Image(format="png")
        self.controls = w.VBox()
        self.reference.observe(lambda change: self._build_controls(), names="value")
        self.run_button.on_click(lambda _: self.run())
        self.save_button.on_click(lambda _: self.save())
        self._build_controls()
        self.widget = w.VBox(
            [
                w.HTML("<h3>What if? A scenario against its reference, paired</h3>"),
                w.HBox([w.VBox([self.reference, self.wave, self.replications]), self.controls]),
                w.HBox([self.run_button, self.progress]),
                self.status,
                self.curves_image,
                self.forest_image,
                w.HBox([self.save_name, self.save_button]),
            ]
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def _build_controls(self) -> None:
        """The controls that depend on the reference: rules per type, a state's hold-out
        propensity, capitals' instruction delay, agenda room."""
        s = load_scenario(self.reference.value)
        rules = list(s.decision_rules)
        self.rules = {
            t: w.Dropdown(
                options=rules, value=spec.rule, description=type_name(t), style=LABEL, layout=WIDE
            )
            for t, spec in s.proposal_types.items()
        }
        self._members = {m.code: m.behaviour.holdout_probability for m in s.resolved_members()}
        self.state = w.Dropdown(options=list(self._members), description="state", style=LABEL)
        self.holdout = w.FloatSlider(
            min=0.0, max=1.0, step=0.01, style=LABEL, description="its hold-out propensity"
        )
        self.state.observe(lambda change: self._state_default(), names="value")
        self._state_default()
        delay = s.member_defaults.instruction_delay
        median = delay.median if isinstance(delay, Lognormal) else 1.0
        self._median = median
        self.capitals = w.FloatLogSlider(
            value=median,
            base=10,
            min=-1,
            max=1.3,
            step=0.05,
            description="capitals: median days to instruct",
            style=LABEL,
            disabled=not isinstance(delay, Lognormal),
        )
        self.agenda = w.FloatSlider(
            value=1.0,
            min=0.5,
            max=2.0,
            step=0.25,
            style=LABEL,
            description="agenda room (x capacity)",
        )
        self.controls.children = [
            w.HTML("<b>Rule per proposal type</b>"),
            *self.rules.values(),
            w.HTML("<b>A state's hold-outs</b>"),
            self.state,
            self.holdout,
            w.HTML("<b>Practice</b>"),
            self.capitals,
            self.agenda,
        ]

    def _state_default(self) -> None:
        self.holdout.value = self._members.get(self.state.value, 0.0)

    def current_choices(self) -> Choices:
        """The choices the widgets show (only what differs from the reference)."""
        s = load_scenario(self.reference.value)
        rules = {t: d.value for t, d in self.rules.items() if d.value != s.proposal_types[t].rule}
        state, p = self.state.value, self.holdout.value
        holdout = {state: p} if abs(p - self._members.get(state, 0.0)) > 1e-9 else {}
        median = self.capitals.value if abs(self.capitals.value - self._median) > 1e-9 else None
        return replace(
            self.choices,
            reference=self.reference.value,
            wave=self.wave.value,
            rules=rules,
            holdout=holdout,
            instruction_median=median,
            agenda_factor=float(self.agenda.value),
            replications=int(self.replications.value),
        )

    def run(self, wait: bool = False) -> None:
        """Run the paired replications in a background thread and redraw (``wait``: block
        until done)."""
        if self.thread is not None and self.thread.is_alive():
            self.status.value = "a run is under way"
            return
        self.choices = self.current_choices()
        self.run_button.disabled = True
        self.progress.value, self.progress.description = 0, "running"
        self.thread = run_in_thread(self._work)
        if wait:
            self.thread.join()

    def _step(self, name: str) -> None:
        self.progress.value += 1
        self.progress.description = f"{name} done"

    def _work(self) -> None:
        try:
            pair = simulate_pair(self.choices, self._step, self._cache)
            self.curves, self.forest = curves_figure(pair), forest_figure(pair)
            self.curves_image.value = png(self.curves)
            self.forest_image.value = png(self.forest)
            self.pair = pair
            self._step("figures")
            n = self.choices.replications
            self.status.value = f"{pair.label}: {n} paired replications, seed {self.choices.seed}"
        except Exception as exc:  # shown in the page: the user can change a choice and rerun
            self.status.value = f"<pre>{type(exc).__name__}: {exc}</pre>"
            self.progress.description = "failed"
            traceback.print_exc()
        finally:
            self.run_button.disabled = False

    def save(self) -> None:
        """Write the current choices as a scenario file (the name in the file box)."""
        path = save_scenario(self.current_choices(), self.save_name.value)
        self.status.value = f"saved {path}: run it with <code>cfsp-sim run {path}</code>"
