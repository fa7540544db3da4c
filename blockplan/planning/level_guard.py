"""The wrong-level guard: the physician's level markers against the automatic count.

`check_level_markers` pairs every marker with the proposed level of the same kind
(vertebral body or disc) nearest to it (within `MATCH_MM`) and compares the names. When
any pair differs, the check *disagrees* and states both counts ("markers name these
bodies L1–L5, the automatic count L2–S1"); the workspace, ``blockplan levels --case``
and the report print its `LevelCheck.message`. `targets_near_disagreement` names the
targets within one level (`NEAR_LEVELS`) of a disagreeing marker, and
`flag_targets_near_disagreement` sets them awaiting the physician's confirmation
(`Target.level_change`, cleared by `blockplan.planning.confirm_target_level`). Positions
are LPS mm.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from blockplan.case.model import Case, LevelChange, LevelMarker, Target
from blockplan.case.vocab import level_index
from blockplan.io.volume import ImageVolume
from blockplan.planning.level_proposal import LevelProposal, ProposedLevel, propose_levels

__all__ = [
    "MATCH_MM",
    "NEAR_LEVELS",
    "NEAR_MM",
    "LevelCheck",
    "LevelPair",
    "check_level_markers",
    "flag_targets_near_disagreement",
    "level_check_for_case",
    "targets_near_disagreement",
]

#: A marker and a proposed level this close (mm) mark the same body or disc.
MATCH_MM = 12.0
#: Targets within this many levels of a disagreeing marker are flagged.
NEAR_LEVELS = 1.0
#: … or, where the markers make no spine axis, this close (mm).
NEAR_MM = 35.0

_WORDS = {1: "one level", 2: "two levels", 3: "three levels"}


@dataclass(frozen=True, slots=True)
class LevelPair:
    """A marker and the proposed level at the same body or disc."""

    marker_id: str
    marker_label: str
    proposed_label: str
    marker_lps: tuple[float, float, float]

    @property
    def offset(self) -> int:
        """Levels the proposal's name lies below (+) or above (−) the marker's."""
        return _rank(self.proposed_label, self.marker_label) - _rank(
            self.marker_label, self.proposed_label
        )


@dataclass(frozen=True, slots=True)
class LevelCheck:
    """The outcome: ``status`` agree / disagree / not_compared, the pairs and a message."""

    status: Literal["agree", "disagree", "not_compared"]
    pairs: tuple[LevelPair, ...]
    message: str

    @property
    def disagreements(self) -> tuple[LevelPair, ...]:
        """The pairs whose names differ."""
        return tuple(p for p in self.pairs if p.marker_label != p.proposed_label)


def _rank(label: str, other: str) -> int:
    """Cranio-caudal rank of a level's upper vertebra; L6 counts only when either names it."""
    upper = label.split("-")[0]
    rank = level_index(upper)
    with_l6 = "L6" in label or "L6" in other
    return rank - 1 if not with_l6 and rank > level_index("L6") else rank


def _nearest(marker: LevelMarker, levels: Sequence[ProposedLevel]) -> ProposedLevel | None:
    same_kind = [lv for lv in levels if lv.is_disc == (marker.kind == "disc")]
    if not same_kind:
        return None
    pos = marker.position.as_array()
    dist = [float(np.linalg.norm(pos - np.asarray(lv.centre_lps))) for lv in same_kind]
    best = int(np.argmin(dist))
    return same_kind[best] if dist[best] <= MATCH_MM else None


def _span(labels: Iterable[str]) -> str:
    given = list(labels)
    l6 = "L6" if any("L6" in lv for lv in given) else ""
    names = sorted(set(given), key=lambda lv: _rank(lv, l6))
    return names[0] if len(names) == 1 else f"{names[0]}–{names[-1]}"


def check_level_markers(markers: Sequence[LevelMarker], proposal: LevelProposal) -> LevelCheck:
    """Compare the physician's level markers with the automatic count.

    Parameters
    ----------
    markers
        The case's level markers (LPS mm, with their frame of reference).
    proposal
        `blockplan.planning.level_proposal.propose_levels` on the case's CT.

    Returns
    -------
    LevelCheck
        ``disagree`` when any marker sits on a body or disc the proposal names otherwise,
        with both counts in the message; ``not_compared`` (and why) when there is nothing
        to compare.
    """
    if not markers:
        return LevelCheck("not_compared", (), "Level count: not compared — no level markers yet")
    if not proposal.levels:
        why = proposal.reasons[-1] if proposal.reasons else "no proposal"
        return LevelCheck("not_compared", (), f"Level count: not compared — {why}")
    frames = {m.position.frame_of_reference_uid for m in markers}
    if frames != {proposal.frame_of_reference_uid}:
        return LevelCheck(
            "not_compared",
            (),
            "Level count: not compared — the markers lie in another frame of reference than "
            f"the {proposal.modality} (series {proposal.series_number}) the count was made on",
        )
    pairs = []
    for m in markers:
        lv = _nearest(m, proposal.levels)
        if lv is not None:
            pairs.append(LevelPair(m.id, m.level, lv.label, m.position.lps))
    if not pairs:
        return LevelCheck(
            "not_compared",
            (),
            f"Level count: not compared — no marker lies within {MATCH_MM:g} mm of a proposed "
            "level",
        )
    return _verdict(tuple(pairs), proposal)


def _verdict(pairs: tuple[LevelPair, ...], proposal: LevelProposal) -> LevelCheck:
    bodies = [p for p in pairs if "-" not in p.marker_label] or list(pairs)
    manual = _span(p.marker_label for p in bodies)
    auto = _span(p.proposed_label for p in bodies)
    how = proposal.levels[0].reasons[0].split(";")[0]
    wrong = [p for p in pairs if p.marker_label != p.proposed_label]
    if not wrong:
        return LevelCheck(
            "agree",
            pairs,
            f"Level count: the markers agree with the automatic count ({how}) at "
            f"{len(pairs)} bodies and discs ({manual})",
        )
    first = wrong[0]
    size = _WORDS.get(abs(first.offset), f"{abs(first.offset)} levels")
    direction = "lower" if first.offset > 0 else "higher"
    return LevelCheck(
        "disagree",
        pairs,
        f"Level count: the markers and the automatic count disagree by {size} — the level "
        f"marked {first.marker_label} is {first.proposed_label} by the automatic count "
        f"({size} {direction}; {how}); markers name these bodies {manual}, the automatic "
        f"count {auto}. Count again on the images; targets near it stay flagged until you "
        "confirm them",
    )


def targets_near_disagreement(case: Case, check: LevelCheck) -> tuple[Target, ...]:
    """The case's targets within one level of a marker the automatic count names otherwise.

    Measured along the spine of the case's markers (`SpineAxis`, level units); where the
    markers make no axis, within `NEAR_MM` of the marker.
    """
    from blockplan.errors import PlanningError
    from blockplan.planning.levels import SpineAxis

    wrong = check.disagreements
    if not wrong or not case.targets:
        return ()
    points = np.array([t.position.as_array() for t in case.targets])
    try:
        axis = SpineAxis.from_markers(case.levels)
        coords = axis.locate(points).level_coordinate
        spots = [axis.coordinate_of(p.marker_label) for p in wrong]
        near = [min(abs(c - s) for s in spots) <= NEAR_LEVELS for c in coords]
    except PlanningError:
        mm = [np.linalg.norm(points - np.asarray(p.marker_lps), axis=1) for p in wrong]
        near = list(np.min(mm, axis=0) <= NEAR_MM)
    return tuple(t for t, hit in zip(case.targets, near, strict=True) if hit)


def flag_targets_near_disagreement(case: Case, check: LevelCheck) -> Case:
    """The case with every target near a disagreement awaiting confirmation.

    The flag is `Target.level_change` holding the target's own level and side (nothing
    was changed: the count is in doubt); `confirm_target_level` clears it. Targets
    already awaiting confirmation keep their flag.
    """
    for target in targets_near_disagreement(case, check):
        if target.level_change is None:
            flag = LevelChange(level=target.level, side=target.side)
            case = case.replace_item("targets", target.model_copy(update={"level_change": flag}))
    return case


def level_check_for_case(
    case: Case,
    volumes: Iterable[ImageVolume],
    propose: Callable[[ImageVolume], LevelProposal] | None = None,
) -> LevelCheck | None:
    """The check of the case's markers against a proposal on the first CT in their frame
    (without one, the first sagittal MR in it: `series_for_levels`).

    ``propose`` makes the proposal (`propose_levels`, or one that reuses it: the report
    keeps it per series, `blockplan.report.memo`). None when the case has no level
    markers or no such series of their frame is given.
    """
    from blockplan.planning.level_proposal_mr import series_for_levels

    if not case.levels:
        return None
    frame = case.levels[0].position.frame_of_reference_uid
    volume = series_for_levels(volumes, frame)
    if volume is None:
        return None
    return check_level_markers(case.levels, (propose or propose_levels)(volume))
