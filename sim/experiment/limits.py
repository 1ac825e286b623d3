"""Size guards: a run, sweep or power computation too large to finish is refused before
anything starts, stating the estimate, the limit and how to go ahead anyway."""

from __future__ import annotations

from sim.core.errors import UserError
from sim.scenario import Scenario

MAX_REPLICATIONS = 1_000_000
MAX_PROPOSALS_PER_REPLICATION = 1_000_000
"""Proposals one replication may be expected to table (its tables are held in memory)."""
MAX_PROPOSALS = 50_000_000
"""Proposals a whole run or sweep may be expected to simulate (hours of work, gigabytes)."""
MAX_SWEEP_POINTS = 200

OVERRIDE = "pass --allow-large (allow_large=True in Python) to go ahead anyway"


def check_sweep_points(points: int, allow_large: bool = False) -> None:
    """Refuse a sweep of more than :data:`MAX_SWEEP_POINTS` points (before validating them)."""
    if points > MAX_SWEEP_POINTS and not allow_large:
        raise UserError(
            f"the sweep has {points:,} points, over the limit of {MAX_SWEEP_POINTS:,}; {OVERRIDE}"
        )


def check_run_size(
    scenario: Scenario, replications: int, allow_large: bool = False, points: int = 1
) -> None:
    """Refuse a run (or ``points`` runs of a sweep) expected to simulate more proposals than
    the limits allow."""
    if allow_large:
        return
    if replications > MAX_REPLICATIONS:
        raise UserError(
            f"{replications:,} replications is over the limit of {MAX_REPLICATIONS:,}; {OVERRIDE}"
        )
    each = scenario.expected_proposals()
    if each > MAX_PROPOSALS_PER_REPLICATION:
        raise UserError(
            f"{scenario.name}: about {each:,.0f} proposals expected per replication, over the "
            f"limit of {MAX_PROPOSALS_PER_REPLICATION:,}; {OVERRIDE}"
        )
    total = each * replications * points
    if total > MAX_PROPOSALS:
        runs = f"{points:,} points × " if points > 1 else ""
        raise UserError(
            f"about {total:,.0f} proposals to simulate ({runs}{replications:,} replications × "
            f"{each:,.0f} expected each), over the limit of {MAX_PROPOSALS:,}; {OVERRIDE}"
        )
