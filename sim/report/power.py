"""A scenario's voting power (exact Banzhaf and Shapley-Shubik indices of its members under one
decision rule), and its tables side by side across scenarios (enlargement waves)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.core.errors import UserError
from sim.core.power import MAX_MEMBERS, compare_power
from sim.core.power import voting_power as power_indices
from sim.engine.compile import make_rule
from sim.scenario import Scenario, did_you_mean, load_scenario


@dataclass(frozen=True)
class VotingPower:
    """One scenario's power table (``member_state``, ``population_share``, ``banzhaf``,
    ``shapley_shubik``) under ``rule``, and the probability that a random coalition passes."""

    scenario: str
    rule: str
    table: pd.DataFrame
    passing: float


def voting_power(
    scenario: Scenario | str | Path,
    rule: str | None = None,
    *,
    overrides: Sequence[str] = (),
    allow_large: bool = False,
) -> VotingPower:
    """The exact voting power of ``scenario``'s members (a :class:`Scenario`, a file or a
    bundled name, with ``overrides``) under the decision rule ``rule`` (default: the rule of
    its first proposal type). Beyond :data:`sim.core.power.MAX_MEMBERS` members the
    computation is refused unless ``allow_large``.

    Examples
    --------
    >>> p = voting_power("eu27_baseline", "qmv")
    >>> len(p.table), p.table.iloc[0]["member_state"], f"{p.passing:.4f}"
    (27, 'DE', '0.1321')
    """
    label = scenario.name if isinstance(scenario, Scenario) else str(scenario)
    s = scenario if isinstance(scenario, Scenario) else load_scenario(scenario, overrides)
    rule_id = rule or next(iter(s.proposal_types.values())).rule
    if rule_id not in s.decision_rules:
        known = ", ".join(s.decision_rules)
        hint = did_you_mean(rule_id, s.decision_rules)
        raise UserError(
            f"{label}: --rule: unknown decision rule {rule_id!r}{hint} (known: {known})"
        )
    members = s.resolved_members()
    table, passing = power_indices(
        make_rule(rule_id, s.decision_rules[rule_id]),
        [m.code for m in members],
        np.array([m.population for m in members]),
        limit=None if allow_large else MAX_MEMBERS,
    )
    return VotingPower(Path(label).name.removesuffix(".toml"), rule_id, table, passing)


def power_comparison(powers: Mapping[str, VotingPower]) -> pd.DataFrame:
    """Every state's Banzhaf and Shapley-Shubik power in each labelled scenario, side by side,
    with each state's change of Banzhaf power from the first to each other
    (:func:`sim.core.power.compare_power`)."""
    return compare_power({label: p.table for label, p in powers.items()})


def power_lines(p: VotingPower) -> list[str]:
    """The power table as ``cfsp-sim power`` prints it."""
    lines = [
        f"Voting power under '{p.rule}' ({len(p.table)} members), exact:",
        f"  {'state':<6}{'population %':>13}{'Banzhaf %':>11}{'Shapley-Shubik %':>18}",
    ]
    for row in p.table.itertuples():
        lines.append(
            f"  {row.member_state:<6}{100 * row.population_share:>13.2f}"
            f"{100 * row.banzhaf:>11.2f}{100 * row.shapley_shubik:>18.2f}"
        )
    lines.append(f"Probability that a random coalition passes: {p.passing:.6g}")
    return lines


def _cell(banzhaf: float, shapley: float) -> str:
    return "-" if np.isnan(banzhaf) else f"{100 * banzhaf:.2f}; {100 * shapley:.2f}"


def power_comparison_lines(powers: Mapping[str, VotingPower]) -> list[str]:
    """Several scenarios' power side by side, as ``cfsp-sim power --compare`` prints it."""
    wide = power_comparison(powers)
    labels = list(powers)
    rules = sorted({p.rule for p in powers.values()})
    w = max(12, *(len(x) + 2 for x in labels))
    lines = [
        f"Voting power under {' / '.join(rules)}, exact, in % (Banzhaf; Shapley-Shubik):",
        f"  {'state':<6}" + "".join(f"{x:>{w}}" for x in labels) + f"{'Banzhaf change':>16}",
    ]
    for code, row in wide.iterrows():
        cells = "".join(
            f"{_cell(row['banzhaf'][x], row['shapley_shubik'][x]):>{w}}" for x in labels
        )
        change = row[("banzhaf_change", labels[-1])]
        lines.append(f"  {code:<6}{cells}{'' if np.isnan(change) else f'{100 * change:+.1f}%':>16}")
    ref = powers[labels[0]].passing
    lines.append("Probability that a random coalition passes:")
    for x in labels:
        passing = powers[x].passing
        lines.append(f"  {x:<{w}} {passing:.6g} ({passing / ref:.2f} x {labels[0]})")
    return lines
