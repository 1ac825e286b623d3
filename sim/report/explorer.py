"""The what-if explorer: widgets (ipywidgets) over paired in-memory runs.

Choose a bundled scenario as the reference, then change the rule of each proposal type, one
state's hold-out propensity, the enlargement wave, how fast capitals instruct and how much room
meetings' agendas have. "Run" simulates the reference and the variant with the same seed (paired
replications, :func:`sim.simulate`) in a background thread, with a progress bar, and redraws
per-type time-to-adoption curves and a paired forest plot against the reference. "Save this
scenario" writes the variant as a TOML file that ``cfsp-sim run`` accepts.

The logic (choices -> overrides -> paired runs -> figures) is plain functions, so tests and
scripts can use it without widgets; :class:`Explorer` only wires widgets to it.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import tomli_w
from matplotlib.figure import Figure

from sim.analysis.stats import paired_differences
from sim.core.distributions import Lognormal
from sim.core.errors import UserError
from sim.experiment.simulation import Simulation, simulate
from sim.report import plots
from sim.report.answer import extended_metrics, per_type_forest, report_spec
from sim.report.names import type_name
from sim.scenario import Scenario, bundled_scenarios, load_scenario, parse_override

WAVES = {
    "none (the reference's members)": None,
    "EU30: Montenegro, Albania, Ukraine": "enlargement_eu30",
    "EU33: + Moldova, North Macedonia, Serbia": "enlargement_eu33",
    "EU35: + Bosnia and Herzegovina, Georgia": "enlargement_eu35",
}
"""The enlargement waves the explorer offers (bundled scenarios that extend the baseline)."""


@dataclass(frozen=True)
class Choices:
    """What the user changed, relative to the reference scenario (empty: nothing)."""

    reference: str = "eu27_baseline"
    wave: str | None = None
    rules: dict[str, str] = field(default_factory=dict)
    holdout: dict[str, float] = field(default_factory=dict)
    instruction_median: float | None = None
    agenda_factor: float = 1.0
    replications: int = 20
    seed: int = 2025


def overrides(choices: Choices, reference: Scenario) -> list[str]:
    """The ``--set`` overrides of the variant: ``proposal_types.X.rule=...``,
    ``member_states.XX.holdout_probability=...``, the capitals' instruction delay and every
    body's agenda capacity scaled by the agenda factor."""
    out = [f'proposal_types.{t}.rule="{r}"' for t, r in sorted(choices.rules.items())]
    out += [
        f"member_states.{s}.holdout_probability={p:g}" for s, p in sorted(choices.holdout.items())
    ]
    delay = reference.member_defaults.instruction_delay
    if choices.instruction_median is not None and isinstance(delay, Lognormal):
        out.append(
            "member_defaults.instruction_delay="
            f'{{dist="lognormal", median={choices.instruction_median:g}, sigma={delay.sigma:g}}}'
        )
    if choices.agenda_factor != 1.0:
        for body, spec in reference.bodies.items():
            if spec.capacity > 1:  # bodies with one item (A items only) keep it
                capacity = max(1, round(spec.capacity * choices.agenda_factor))
                out.append(f"bodies.{body}.capacity={capacity}")
    return out


def variant_base(choices: Choices) -> str:
    """The bundled scenario the variant extends: the wave's, else the reference."""
    return choices.wave or choices.reference


def variant(choices: Choices) -> Scenario:
    """The variant scenario, validated."""
    reference = load_scenario(choices.reference)
    return load_scenario(variant_base(choices), overrides(choices, reference))


def scenario_toml(choices: Choices, name: str = "explored") -> str:
    """The variant as a scenario file: ``extends`` its bundled base, with the overrides as
    tables; ``cfsp-sim run FILE`` runs it."""
    reference = load_scenario(choices.reference)
    data: dict[str, Any] = {"extends": variant_base(choices), "name": name}
    for text in overrides(choices, reference):
        parts, value = parse_override(text)
        node = data
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    data["experiment"] = {"replications": choices.replications, "seed": choices.seed}
    header = "# Written by the cfsp-sim explorer (sim.explore): run it with cfsp-sim run FILE\n"
    return header + tomli_w.dumps(data)


@dataclass(frozen=True)
class Pair:
    """A reference run and a variant run with the same seed and replications."""

    choices: Choices
    reference: Simulation
    variant: Simulation
    table: pd.DataFrame
    """Paired differences (variant − reference) of every metric, counts included."""
    label: str


def _metrics(run: Simulation, counts: Sequence[str]) -> pd.DataFrame:
    return extended_metrics(run.metrics, run.events, run.proposals, counts)


def simulate_pair(
    choices: Choices,
    progress: Callable[[str], None] = lambda step: None,
    cache: dict[tuple, Simulation] | None = None,
) -> Pair:
    """Run the reference (reused from ``cache`` when its name, replications and seed match)
    and the variant, and pair them; ``progress`` is told each finished step."""
    key = (choices.reference, choices.replications, choices.seed)
    cache = {} if cache is None else cache
    if key not in cache:
        cache.clear()
        cache[key] = simulate(
            load_scenario(choices.reference), replications=choices.replications, seed=choices.seed
        )
    progress("reference")
    reference = cache[key]
    run = simulate(variant(choices), replications=choices.replications, seed=choices.seed)
    progress("variant")
    counts = list(report_spec(run.scenario, reference.scenario).counts)
    table = paired_differences(_metrics(reference, counts), _metrics(run, counts))
    wave = f" ({choices.wave})" if choices.wave else ""
    label = f"what-if{wave} − {choices.reference}"
    return Pair(choices, reference, run, table.assign(comparison=label), label)


def adoption_curves(proposals: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per proposal type, the Kaplan–Meier share adopted by day (the curves drawn)."""
    return {
        str(t): plots._adoption_curve(g)
        for t, g in proposals.groupby("type", observed=True)
        if len(g)
    }


def curves_figure(pair: Pair) -> Figure:
    """Per-type time-to-adoption curves, small multiples on a log day axis: the reference
    dashed grey, the variant in the type's colour."""
    ref, var = adoption_curves(pair.reference.proposals), adoption_curves(pair.variant.proposals)
    types = list(var)
    cols = 4
    rows = -(-len(types) // cols)
    fig = plots.new_figure((3.4 * cols, 2.6 * rows + 0.6))
    with plots.style():
        axes = fig.subplots(rows, cols, squeeze=False, sharey=True).ravel()
        for ax, t in zip(axes, types, strict=False):
            if t in ref:
                ax.step(*_positive(ref[t]), where="post", color="0.5", ls="--", label="reference")
            ax.step(*_positive(var[t]), where="post", color=plots.type_colour(t), label="variant")
            ax.set_xscale("log")
            ax.set_ylim(0, 1.02)
            ax.set_title(type_name(t), fontsize=10)
        for ax in axes[len(types) :]:
            ax.set_visible(False)
        axes[0].legend(loc="upper left")
        fig.supxlabel("days since tabling (log scale)")
        fig.supylabel("share adopted")
        fig.tight_layout()
    return fig


def _positive(curve: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """A curve from day 0.1 on (a log axis has no day 0)."""
    x, y = curve
    return np.maximum(x, 0.1), y


def png(fig: Figure) -> bytes:
    """A figure as PNG bytes (for an image widget)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return buf.getvalue()


def forest_figure(pair: Pair) -> Figure:
    """The paired per-type forest plot against the reference."""
    spec = report_spec(pair.variant.scenario, pair.reference.scenario)
    return per_type_forest(pair.table, spec, pair.label)


def explore(
    reference: str = "eu27_baseline", replications: int = 20, seed: int = 2025, run: bool = True
) -> Any:
    """The explorer's widgets (needs ipywidgets: ``pip install 'cfsp-sim[notebooks]'``); with
    ``run`` the first paired run is drawn before it returns."""
    from sim.report.explorer_widgets import Explorer

    names = bundled_scenarios()
    if reference not in names:
        raise UserError(f"explore: {reference!r} is not a bundled scenario ({', '.join(names)})")
    app = Explorer(Choices(reference=reference, replications=replications, seed=seed))
    if run:
        app.run(wait=True)
    return app


def save_scenario(choices: Choices, path: str | Path) -> Path:
    """Write the variant's scenario file (see :func:`scenario_toml`); its name is the file's
    stem."""
    path = Path(path)
    path.write_text(scenario_toml(choices, path.stem), encoding="utf-8")
    return path


def run_in_thread(work: Callable[[], None]) -> threading.Thread:
    """Start ``work`` in a daemon thread."""
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread
