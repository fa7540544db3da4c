"""Accepting a level proposal: the proposed markers become the case's level markers.

`accept_proposed_levels` turns a `LevelProposal` — possibly shifted by the physician
(`shift_proposal`) and with markers moved by hand — into the case's level markers through
`change_level_markers` (so every target's level and side is recomputed and flagged where
it changed) and words the audit entry: proposed automatically, then accepted.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from blockplan.case.model import Case, LevelMarker, PatientPoint
from blockplan.planning.level_edit import change_level_markers
from blockplan.planning.level_proposal import LevelProposal

__all__ = ["accept_proposed_levels"]

#: A proposed marker moved less than this (mm) counts as not moved.
MOVED_MM = 0.5


def accept_proposed_levels(
    case: Case,
    proposal: LevelProposal,
    moved: Mapping[str, tuple[float, float, float]] | None = None,
) -> tuple[Case, str]:
    """The case with the proposal's levels as its level markers, and the audit summary.

    Parameters
    ----------
    case
        The open case; its level markers are replaced.
    proposal
        The proposal as the physician accepts it (after any `shift_proposal`).
    moved
        Label → LPS mm of markers the physician moved before accepting.

    Raises
    ------
    PlanningError
        When the proposal is empty or the markers do not make a spine with the case
        (`change_level_markers`).
    """
    from blockplan.errors import PlanningError

    if not proposal.levels:
        raise PlanningError("there is no proposed level to accept: place the level markers by hand")
    moved = moved or {}
    markers = []
    hand = []
    for lv in proposal.levels:
        lps = moved.get(lv.label, lv.centre_lps)
        if np.linalg.norm(np.subtract(lps, lv.centre_lps)) > MOVED_MM:
            hand.append(lv.label)
        point = PatientPoint(lps=lps, frame_of_reference_uid=proposal.frame_of_reference_uid)
        markers.append(LevelMarker(level=lv.label, position=point))
    new_case = change_level_markers(case, tuple(markers))
    how = proposal.levels[0].reasons[0].split(";")[0]
    summary = (
        f"level markers proposed automatically on {proposal.modality} series "
        f"{proposal.series_number} ({how}) "
        f"and accepted: {proposal.levels[0].label}–{proposal.levels[-1].label}, "
        f"{len(markers)} markers"
    )
    shifted = [r for r in proposal.reasons if r.startswith("shifted ")]
    if shifted:
        summary += f"; {shifted[-1]}"
    if hand:
        summary += f"; moved by the physician before accepting: {', '.join(hand)}"
    return new_case, summary
