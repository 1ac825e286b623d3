"""How a proposal ends, and how a visit to a body ends: the vocabulary of results."""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """Every proposal ends in exactly one of these (``pending``: still open at the horizon;
    ``issued_by_hr``: a declaration one state blocked, issued all the same by the High
    Representative in her own name or by the other states, counted apart: not adopted)."""

    ADOPTED = "adopted"
    ADOPTED_WITH_ABSTENTIONS = "adopted_with_abstentions"
    BLOCKED = "blocked"
    LAPSED = "lapsed"
    WITHDRAWN = "withdrawn"
    ISSUED_BY_HR = "issued_by_hr"
    PENDING = "pending"


class StageExit(StrEnum):
    """How a visit to a body ends: moving on, or the proposal's outcome."""

    AGREED = "agreed"
    ESCALATED = "escalated"
    REFERRED_BACK = "referred_back"
    WRITTEN_PROCEDURE = "written_procedure"
    ADOPTED = "adopted"
    ADOPTED_WITH_ABSTENTIONS = "adopted_with_abstentions"
    BLOCKED = "blocked"
    LAPSED = "lapsed"
    WITHDRAWN = "withdrawn"
    ISSUED_BY_HR = "issued_by_hr"
    PENDING = "pending"


ADOPTED = (Outcome.ADOPTED, Outcome.ADOPTED_WITH_ABSTENTIONS)
"""Outcomes that count as adoption (``issued_by_hr`` does not: no Council adopted it)."""

WRITTEN_PROCEDURE = "written_procedure"
"""Where an item is while in written procedure (Council RoP Art. 12): not at any body."""
