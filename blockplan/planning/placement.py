"""What a click on the images becomes: a level marker, a marked structure, a target.

The planning widget turns a click into a patient-space point and calls one of these; the
level, side, structure and size of what is placed are decided here, never in the widget.

Marked structures are spheres (`~blockplan.case.model.Landmark`): their default radii are
typical adult lumbar sizes — a nerve root in its foramen about 5 mm across, the thecal sac
about 14 mm across (antero-posterior), a radicular artery about 3 mm — meant as a safety
envelope for the clearance check (verify locally; the physician can edit a radius).

Decision support, not a medical device.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from blockplan.case.model import Case, Landmark, LevelMarker, PatientPoint, Target
from blockplan.case.vocab import Approach, BlockType, Laterality, Structure
from blockplan.errors import PlanningError
from blockplan.planning._common import as_lps, common_frame
from blockplan.planning.levels import (
    DEFAULT_MIDLINE_TOLERANCE_MM,
    LevelAssignment,
    assign_level,
    level_for_structure,
    propose_next_level,
)

__all__ = [
    "LANDMARK_RADIUS_MM",
    "LandmarkKind",
    "delete_landmark",
    "landmark_level",
    "landmark_level_and_side",
    "landmarks_in_order",
    "level_and_side",
    "locate_point",
    "place_landmark",
    "place_level_marker",
    "place_target",
    "side_of",
    "target_level_and_side",
]

LandmarkKind = Literal["nerve_root", "thecal_sac", "artery", "other"]

LANDMARK_RADIUS_MM: dict[str, float] = {
    "nerve_root": 2.5,
    "thecal_sac": 7.0,
    "artery": 1.5,
    "other": 0.0,
}
"""Default sphere radius (mm) of a marked structure, by kind (typical sizes, verify)."""


def side_of(lateral_mm: float) -> Laterality:
    """The patient's side of a signed distance from the midline (mm, + = patient left).

    Within `DEFAULT_MIDLINE_TOLERANCE_MM` (inclusive) the side is midline.
    """
    if abs(lateral_mm) <= DEFAULT_MIDLINE_TOLERANCE_MM:
        return Laterality.MIDLINE
    return Laterality.LEFT if lateral_mm > 0 else Laterality.RIGHT


def locate_point(point: PatientPoint, levels: Sequence[LevelMarker]) -> LevelAssignment:
    """Where a point lies: its level and side, and the signed distance from the midline.

    With two or more level markers this is `assign_level`. Before that the level is None
    and the side is read from the **patient midline** as far as it is known: the sagittal
    plane through the one level marker placed so far, or, with none, the sagittal plane
    x = 0 of patient coordinates (LPS: patient left is +x; the scanner's centre line,
    where the patient normally lies). The reason says which midline was used; the side is
    read again from the markers' mid-sagittal plane once two markers exist.
    """
    if len(levels) >= 2:
        return assign_level(point, levels)
    xyz, frame = as_lps(point, "point")
    if levels:
        common_frame(
            [("level marker", levels[0].position.frame_of_reference_uid), ("point", frame)]
        )
    midline_x = levels[0].position.lps[0] if levels else 0.0
    lateral = float(xyz[0] - midline_x)
    where = (
        f"the sagittal plane through level marker {levels[0].level}"
        if levels
        else "the sagittal plane x = 0 mm (no level markers yet)"
    )
    return LevelAssignment(
        level=None,
        side=side_of(lateral),
        lateral_mm=lateral,
        distance_mm=math.nan,
        level_coordinate=math.nan,
        axis_point_lps=(float(midline_x), float(xyz[1]), float(xyz[2])),
        reason=f"fewer than two level markers: the side is read from {where}",
    )


def level_and_side(
    point: PatientPoint, levels: Sequence[LevelMarker]
) -> tuple[str | None, Laterality]:
    """Where a point lies: its level (None before two markers exist or beyond them) and side.

    Uses the level rule of `blockplan.planning.levels`; before two level markers exist the
    level is None and the side comes from the patient midline (`locate_point`).
    """
    found = locate_point(point, levels)
    return found.level, found.side


def target_level_and_side(
    point: PatientPoint, structure: Structure, levels: Sequence[LevelMarker]
) -> tuple[str | None, Laterality]:
    """The level and side a target of ``structure`` at ``point`` is given.

    The level is named for the structure (`level_for_structure`: a root target in the
    L5-S1 foramen tests L5).
    """
    where, side = level_and_side(point, levels)
    return level_for_structure(where, structure), side


def landmark_level(kind: str, level: str | None) -> str | None:
    """The level name of a marked structure of ``kind`` lying at ``level``.

    A nerve root is named like a root target (by the vertebra it exits below), so the
    root a root block aims at has the target's level; other structures by where they lie.
    """
    return level_for_structure(level, Structure.NERVE_ROOT) if kind == "nerve_root" else level


def landmark_level_and_side(
    kind: str, point: PatientPoint, levels: Sequence[LevelMarker]
) -> tuple[str | None, Laterality]:
    """The level and side a marked structure at ``point`` is given (`landmark_level`)."""
    where, side = level_and_side(point, levels)
    return landmark_level(kind, where), side


def place_level_marker(
    point: PatientPoint, levels: Sequence[LevelMarker], level: str | None = None
) -> LevelMarker:
    """A level marker at ``point``: ``level``, or the proposed next one (`propose_next_level`).

    The physician names the first marker: images need not start at T12 (a lumbar CT from
    L3 down starts at L3), so no first level is assumed.

    Raises
    ------
    PlanningError
        When no marker exists yet and no ``level`` is given.
    """
    if level is None and not levels:
        raise PlanningError(
            "the first level marker has no level: choose the level of the vertebra or "
            "disc you will click (C1 … S5) — the images need not start at T12"
        )
    return LevelMarker(level=level or propose_next_level(levels), position=point)


def place_landmark(
    kind: LandmarkKind, point: PatientPoint, levels: Sequence[LevelMarker]
) -> Landmark:
    """A marked structure at ``point``: level and side from the markers, default radius."""
    level, side = landmark_level_and_side(kind, point, levels)
    return Landmark(
        kind=kind, level=level, side=side, position=point, radius_mm=LANDMARK_RADIUS_MM[kind]
    )


def landmarks_in_order(case: Case) -> tuple[Landmark, ...]:
    """The marked structures cranial to caudal (by height: LPS +z is superior), the
    patient's left to right at one height (+x is left), as the landmark list shows them."""
    return tuple(
        sorted(case.landmarks, key=lambda lm: (-lm.position.lps[2], -lm.position.lps[0], lm.id))
    )


def delete_landmark(case: Case, landmark_id: str) -> Case:
    """The case without the marked structure ``landmark_id``: the paths it vouched for
    are measured again without it (`blockplan.planning.paths.measure_paths`).

    Raises
    ------
    PlanningError
        No landmark of the case has that id (deleted already, or by an undo).
    """
    if all(lm.id != landmark_id for lm in case.landmarks):
        raise PlanningError(
            "that landmark is no longer in the case (deleted already, or undone): "
            "choose one in the landmark list"
        )
    return case.remove_item("landmarks", landmark_id)


def place_target(
    point: PatientPoint,
    levels: Sequence[LevelMarker],
    *,
    block_type: BlockType,
    structure: Structure | None = None,
    approach: Approach | None = None,
) -> Target:
    """A target at ``point`` for ``block_type``.

    The structure defaults to the block's (`BlockType.structure`); the level is named for
    the structure (`level_for_structure`: a root target in the L5-S1 foramen tests L5).
    Before two level markers exist the level is None ("level unassigned") and the side
    comes from the patient midline; both are filled in and flagged for confirmation when
    the markers are placed (`blockplan.planning.level_edit.change_level_markers`).
    """
    structure = structure or block_type.structure
    level, side = target_level_and_side(point, structure, levels)
    return Target(
        level=level,
        side=side,
        structure=structure,
        block_type=block_type,
        approach=approach,
        position=point,
    )
