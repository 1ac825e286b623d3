"""The ``[report]`` table: the scenario's question, the proposal types it is about and the
events to count, so that its run report and every comparison with it lead with the answer.

    [report]
    question = "Would QMV speed up sanctions, and how often would the brake be pulled?"
    focus_types = ["sanctions_package", "sanctions_renewal"]
    counts = ["brakes", "votes"]
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, ValidationInfo

from sim.scenario.fields import StrictModel

Count = Literal["brakes", "votes", "concessions", "escalations", "written_procedures", "objections"]
"""Events a report may count per proposal type and year."""

COUNTED_ACTIVITY = {
    "brakes": "emergency_brake",
    "votes": "vote",
    "concessions": "concession",
    "escalations": "escalated",
    "written_procedures": "written_procedure",
    "objections": "objection",
}
"""Each count's activity in the event log."""


def _brakes() -> list[Count]:
    return ["brakes"]


class ReportSpec(StrictModel):
    """What the scenario's reports lead with."""

    question: str | None = Field(
        default=None,
        max_length=300,
        description="The scenario's question in one sentence, shown above its answer in the run "
        "report and in comparisons.",
    )
    focus_types: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="Proposal types (ids of [proposal_types]) the question is about: the "
        "one-sentence answer speaks of the first, and per-type tables list them first "
        "(default: none, the answer speaks of all types).",
    )
    counts: list[Count] = Field(
        default_factory=_brakes,
        max_length=len(COUNTED_ACTIVITY),
        description="Events counted per proposal type and year in the per-type tables and in "
        'comparison.csv: "brakes", "votes", "concessions", "escalations", "written_procedures", '
        '"objections" (default: ["brakes"]).',
    )


def _known_types(value: ReportSpec | None, info: ValidationInfo) -> ReportSpec | None:
    types = info.data.get("proposal_types")
    if value is None or types is None:
        return value
    unknown = [t for t in value.focus_types if t not in types]
    if unknown:
        raise ValueError(
            f"focus_types: {', '.join(map(repr, unknown))} not among the proposal types "
            f"({', '.join(types)})"
        )
    return value


ReportTable = Annotated[ReportSpec | None, AfterValidator(_known_types)]
"""The ``[report]`` field of a scenario, its focus types checked against ``proposal_types``."""
