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

from collections.abc import Sequence
from typing import Literal

from blockplan.case.model import Landmark, LevelMarker, PatientPoint, Target
from blockplan.case.vocab import Approach, BlockType, Laterality, Structure
from blockplan.planning.levels import assign_level, level_for_structure, propose_next_level

__all__ = [
    "LANDMARK_RADIUS_MM",
    "LandmarkKind",
    "level_and_side",
    "place_landmark",
    "place_level_marker",
    "place_target",
]

LandmarkKind = Literal["nerve_root", "thecal_sac", "artery", "other"]

LANDMARK_RADIUS_MM: dict[str, float] = {
    "nerve_root": 2.5,
    "thecal_sac": 7.0,
    "artery": 1.5,
    "other": 0.0,
}
"""Default sphere radius (mm) of a marked structure, by kind (typical sizes, verify)."""


def level_and_side(
    point: PatientPoint, levels: Sequence[LevelMarker]
) -> tuple[str | None, Laterality]:
    """Where a point lies: its level (None before two markers exist or beyond them) and side.

    Uses the level rule of `blockplan.planning.levels`; before two level markers exist the
    side cannot be told either and is midline.
    """
    if len(levels) < 2:
        return None, Laterality.MIDLINE
    found = assign_level(point, levels)
    return found.level, found.side


def place_level_marker(
    point: PatientPoint, levels: Sequence[LevelMarker], level: str | None = None
) -> LevelMarker:
    """A level marker at ``point``: ``level``, or the proposed next one (`propose_next_level`).

    The physician names the first marker on a study that does not start at T12 (a lumbar
    CT from L3 down starts at L3, never silently at T12).
    """
    return LevelMarker(level=level or propose_next_level(levels), position=point)


def place_landmark(
    kind: LandmarkKind, point: PatientPoint, levels: Sequence[LevelMarker]
) -> Landmark:
    """A marked structure at ``point``: level and side from the markers, default radius."""
    level, side = level_and_side(point, levels)
    return Landmark(
        kind=kind, level=level, side=side, position=point, radius_mm=LANDMARK_RADIUS_MM[kind]
    )


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
    """
    structure = structure or block_type.structure
    where, side = level_and_side(point, levels)
    return Target(
        level=level_for_structure(where, structure),
        side=side,
        structure=structure,
        block_type=block_type,
        approach=approach,
        position=point,
    )
