"""One vocabulary for a planned needle path: the words the screen, the report and the SR use.

Every sentence blockplan shows or prints about a path comes from a function here, so the
planning table, the signed PDF and the archived SR (read back) cannot word the same path
differently. The functions take plain values (degrees, mm, side and direction words) so
that they render a path measured now (`TrajectoryMetrics`) and one read back from an SR
alike.

C-arm angles (patient prone, beam posterior-anterior: tube under the table, image
intensifier above the patient's back; the angles put the beam along the needle, the
"down-the-beam" view):

* **oblique** — the C-arm rotated about the patient's long axis away from the straight AP
  view, named by the side of the patient the image intensifier turns towards (the side of
  the skin entry relative to the target): ``"23.2° left oblique"``; ``"straight AP (0.0°
  oblique)"`` when the path lies in a sagittal plane. The view without oblique is called
  **AP** as the field calls it (`STRAIGHT_AP`), although the beam of a prone patient runs
  posterior → anterior: the screen, the report and the SR never call it "PA".
* **tilt** — the C-arm angled along the patient's long axis, named by where the image
  intensifier tilts: ``"cranial"`` towards the head (the skin entry lies cranial to the
  target, the needle advances caudally), ``"caudal"`` towards the feet:
  ``"7.5° cranial tilt"``; ``"no tilt"`` when the path lies in an axial plane.

Clearances and the verdict name what the path was checked against (the nearest marked
structure of each kind, bone on the CT, scar): ``"safe — clear of nerve root L4 left
4.1 mm, thecal sac L5 12.0 mm, bone 8.1 mm, scar 18.0 mm"``; ``"not assessed — mark the
roots and thecal sac"``; ``"UNSAFE — <hazards>"`` (the verdict itself is decided by
`blockplan.planning.trajectory.safety_verdict`).

Targets are named by `target_name`: ``"T1 · L5 left SNRB"`` (the target's own number,
given at placement and never changed or given again, then level, side, block type), used
wherever a target is named; `target_tag` is the number alone (``"T1"``, on key images).

Decision support, not a medical device.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from blockplan.case.vocab import (
    BLOCK_ABBREVIATIONS,
    BLOCK_NAMES,
    Approach,
    BlockType,
    Structure,
    level_sort_key,
)

if TYPE_CHECKING:
    from blockplan.case.model import LevelMarker, Target
    from blockplan.planning.trajectory import LandmarkClearance, TrajectoryMetrics

__all__ = [
    "BLOCK_ABBREVIATIONS",
    "STRAIGHT_AP",
    "VERDICT_COLOURS",
    "VERDICT_WORDS",
    "PathWords",
    "ap_not_squared_text",
    "approach_text",
    "block_type_from_text",
    "bone_clearance_text",
    "c_arm_text",
    "clearance_text",
    "clearances_text",
    "describe_path",
    "landmark_name",
    "needle_label",
    "oblique_text",
    "path_length_text",
    "path_words",
    "scar_distance_text",
    "scar_volume_text",
    "structure_clearance_text",
    "structure_from_text",
    "structure_text",
    "target_name",
    "target_names",
    "target_tag",
    "tilt_text",
    "unassigned_level_reason",
    "unchecked_text",
    "verdict_text",
]


def block_type_from_text(text: str) -> BlockType:
    """A block type as a physician types it: its abbreviation (``"SNRB"``, ``"facet IA"``),
    its full name or its stored value (``"snrb"``), in any case.

    Raises
    ------
    ValueError
        Naming the abbreviations that are understood.
    """
    wanted = " ".join(text.replace("_", " ").split()).casefold()
    for block in BlockType:
        spellings = (block.value.replace("_", " "), BLOCK_ABBREVIATIONS[block], BLOCK_NAMES[block])
        if wanted in (s.casefold() for s in spellings):
            return block
    known = ", ".join(BLOCK_ABBREVIATIONS[b] for b in BlockType)
    raise ValueError(f"{text.strip()!r} is not a block type: type one of {known}")


def approach_text(approach: Approach) -> str:
    """An approach as the screen and the report name it: ``"posterior oblique"``."""
    return approach.value.replace("_", " ")


def structure_text(structure: Structure) -> str:
    """A structure as the screen and the report name it: ``"nerve root"``."""
    return structure.value.replace("_", " ")


def structure_from_text(text: str) -> Structure:
    """A structure as typed: ``"nerve root"`` or ``"nerve_root"``, in any case.

    Raises
    ------
    ValueError
        Naming the structures that are understood.
    """
    wanted = "_".join(text.replace("_", " ").split()).casefold()
    try:
        return Structure(wanted)
    except ValueError:
        known = ", ".join(structure_text(s) for s in Structure)
        raise ValueError(f"{text.strip()!r} is not a structure: type one of {known}") from None


def unassigned_level_reason(target: Target, levels: Sequence[LevelMarker]) -> str | None:
    """Why a target has no level and what gives it one — the screen and the report alike.

    ``"below the lowest level marker (S1) — mark S1-S2, or type the level"``; ``"above
    the highest level marker (L3) — mark the level above it, or type the level"``;
    ``"fewer than two level markers — mark the levels, or type the level"``. Printed after
    the target's name, which says "level unassigned" (`target_name`). None for a target
    with a level, and for a sacroiliac joint (no spinal level). Where a point lies is
    decided by `blockplan.planning.levels.assign_level`; a target placed beyond the marked
    levels used to read only "level unassigned", with nothing saying why or what to do.
    """
    from blockplan.errors import PlanningError
    from blockplan.planning.levels import propose_next_level
    from blockplan.planning.placement import locate_point

    if target.level is not None or target.structure is Structure.SACROILIAC_JOINT:
        return None
    fix = "or type the level"
    if len(levels) < 2:
        return f"fewer than two level markers — mark the levels, {fix}"
    ordered = sorted(levels, key=lambda m: level_sort_key(m.level))
    try:
        where = locate_point(target.position, levels)
        below = propose_next_level(levels)
    except (PlanningError, ValueError):  # markers that do not make a spine: said elsewhere
        return f"the level markers cannot place it — check them, {fix}"
    if where.outside == "caudal":
        return f"below the lowest level marker ({ordered[-1].level}) — mark {below}, {fix}"
    if where.outside == "cranial":
        return (
            f"above the highest level marker ({ordered[0].level}) — mark the level above it, {fix}"
        )
    return f"not named yet — {fix}"


VERDICT_WORDS: dict[str, str] = {
    "safe": "safe",
    "unsafe": "UNSAFE",
    "not assessed": "not assessed",
}
"""`SafetyVerdict` value → the word shown for it."""

VERDICT_COLOURS: dict[str, str] = {
    "safe": "#2ca02c",
    "unsafe": "#d62728",
    "not assessed": "#ff7f0e",
}
"""`SafetyVerdict` value → the colour a planned path is drawn in, on the canvas and on the
report's key images (green, red, orange); a path without a verdict is *not assessed*."""


def target_tag(target: Target) -> str:
    """A target's number as drawn beside it: ``"T3"`` (`Target.number`).

    The number is the target's own, given when it was placed (one more than the highest
    the case had given): deleting T2 leaves T3 named T3 on today's report as on
    yesterday's, and a deleted target's number is never given to another.

    Raises
    ------
    ValueError
        For a target not yet in a case (no number given).
    """
    if target.number is None:
        raise ValueError("a target is numbered when it joins a case; this one has no number")
    return f"T{target.number}"


def target_name(target: Target) -> str:
    """A target as the physician names it: ``"T1 · L5 left SNRB"``.

    Its own number (`target_tag`), then the level, the side and the block type
    (`BLOCK_ABBREVIATIONS`). A target without a level: ``"T2 · left MBB, level
    unassigned"``.
    """
    what = f"{target.side.value} {BLOCK_ABBREVIATIONS[target.block_type]}"
    if target.level:
        return f"{target_tag(target)} · {target.level} {what}"
    return f"{target_tag(target)} · {what}, level unassigned"


def target_names(targets: Sequence[Target]) -> dict[str, str]:
    """Target id → `target_name` (each by its own number)."""
    return {t.id: target_name(t) for t in targets}


STRAIGHT_AP = "straight AP"
"""The C-arm view without oblique, as every text names it: the beam in a sagittal plane,
running posterior → anterior through the prone patient (tube under the table). The field
calls it AP (DOMAIN §10) whatever the beam's direction; a report once said "AP" in a view's
title and "true PA" in its angles, for the same view."""


def oblique_text(oblique_deg: float, oblique_side: str) -> str:
    """The C-arm oblique: ``"23.2° left oblique"`` or ``"straight AP (0.0° oblique)"``.

    ``oblique_side`` is ``"left"``, ``"right"`` or ``"midline"`` (no oblique: `STRAIGHT_AP`;
    an SR's ``TRUE-PA`` code reads back as ``"midline"``).
    """
    if oblique_side == "midline":
        return f"{STRAIGHT_AP} (0.0° oblique)"
    return f"{oblique_deg:.1f}° {oblique_side} oblique"


def ap_not_squared_text(reason: str) -> str:
    """Why the AP view is not tilted to square the target level's endplates:
    ``"the AP view is not tilted (endplates not squared): the target has no level"``."""
    return f"the AP view is not tilted (endplates not squared): {reason}"


def tilt_text(tilt_deg: float, tilt_direction: str) -> str:
    """The C-arm tilt: ``"7.5° cranial tilt"`` or ``"no tilt"``.

    ``tilt_direction`` is ``"cranial"``, ``"caudal"`` or ``"none"``: where the image
    intensifier tilts (the side of the skin entry along the patient's long axis).
    """
    if tilt_direction == "none":
        return "no tilt"
    return f"{tilt_deg:.1f}° {tilt_direction} tilt"


def c_arm_text(oblique_deg: float, oblique_side: str, tilt_deg: float, tilt_direction: str) -> str:
    """The C-arm set-up: ``"23.2° left oblique, 7.5° cranial tilt"``."""
    return f"{oblique_text(oblique_deg, oblique_side)}, {tilt_text(tilt_deg, tilt_direction)}"


def path_length_text(path_length_mm: float) -> str:
    """``"76.8 mm"``."""
    return f"{path_length_mm:.1f} mm"


def landmark_name(kind: str, level: str | None, side: str | None) -> str:
    """A marked structure in words: ``"nerve root L5 left"``, ``"thecal sac L4"``."""
    parts = [kind.replace("_", " ")]
    if level:
        parts.append(level)
    if side and side != "midline":
        parts.append(side)
    return " ".join(parts)


def clearance_text(distance_mm: float, kind: str, level: str | None, side: str | None) -> str:
    """Clearance of the path to a marked structure, the structure named.

    ``"3.1 mm from nerve root L5 left"``; ``"1.2 mm inside nerve root L5 left"`` when the
    path passes through the structure (negative distance).
    """
    name = landmark_name(kind, level, side)
    if distance_mm < 0:
        return f"{-distance_mm:.1f} mm inside {name}"
    return f"{distance_mm:.1f} mm from {name}"


def scar_distance_text(scar_distance_mm: float | None) -> str:
    """Distance to the marked scar: ``"4.0 mm from scar"``, ``"no scar marked"``."""
    if scar_distance_mm is None or scar_distance_mm == float("inf"):
        return "no scar marked"
    return f"{scar_distance_mm:.1f} mm from scar"


ClosestStructure = tuple[float, str, str | None, str | None]
"""(clearance mm, kind, level, side) of a marked structure."""


def structure_clearance_text(
    distance_mm: float, kind: str, level: str | None, side: str | None
) -> str:
    """One clearance with its structure: ``"nerve root L4 left 4.1 mm"``,
    ``"thecal sac L5 1.2 mm inside"`` (negative distance: the path enters it)."""
    name = landmark_name(kind, level, side)
    if distance_mm < 0:
        return f"{name} {-distance_mm:.1f} mm inside"
    return f"{name} {distance_mm:.1f} mm"


def bone_clearance_text(bone_clearance_mm: float | None) -> str:
    """``"bone 8.1 mm"``; ``"bone not checked (no CT)"``; ``"no bone on the CT"``."""
    if bone_clearance_mm is None:
        return "bone not checked (no CT)"
    if math.isinf(bone_clearance_mm):
        return "no bone on the CT"
    return f"bone {bone_clearance_mm:.1f} mm"


def clearances_text(
    structures: Sequence[ClosestStructure],
    bone_clearance_mm: float | None,
    scar_distance_mm: float | None,
) -> str:
    """Every clearance with what it is measured to, nearest structure of each kind first:
    ``"nerve root L4 left 4.1 mm, thecal sac L5 12.0 mm, bone 8.1 mm, scar 18.0 mm"``."""
    parts = [structure_clearance_text(*c) for c in structures] or ["no marked structure"]
    parts.append(bone_clearance_text(bone_clearance_mm))
    if scar_distance_mm is None or math.isinf(scar_distance_mm):
        parts.append("no scar marked")
    else:
        parts.append(f"scar {scar_distance_mm:.1f} mm")
    return ", ".join(parts)


def unchecked_text(
    unchecked: Sequence[str],
    own_root: str | None = None,
    structures: Sequence[ClosestStructure] = (),
) -> str:
    """What to do so a path can be assessed: ``"mark the roots and thecal sac"``,
    ``"mark the nerve roots"``, ``"mark the thecal sac"``, ``"load the CT to check bone"``.

    ``own_root``: the root a root block aims at (`blockplan.planning.own_root_label`),
    which never counts — so the physician is told to mark the others: ``"mark the nerve
    roots near the path other than the target's own (nerve root L5 left)"``.

    ``structures``: the nearest marked structure of each kind the path was checked against
    (as in `clearances_text`). A kind still unchecked although one is marked lies beyond the
    assessment reach (`blockplan.planning.ASSESSMENT_REACH_MM`: marked at another level), and
    the words say which is the nearest and how far: ``"mark the nerve roots near the path
    (the nearest marked, nerve root L2 left, is 61.0 mm away)"``, ``"mark the thecal sac
    near the path (the nearest marked, thecal sac L2, is 58.0 mm away)"``.
    """
    nearest = {c[1]: c for c in structures}

    def far(kind: str, other: str = "") -> str:
        d, _, level, side = nearest[kind]
        return f"the nearest {other}marked, {landmark_name(kind, level, side)}, is {d:.1f} mm away"

    roots_missing = "nerve_root" in unchecked
    sac_missing = "thecal_sac" in unchecked
    parts = []
    marked = {"nerve_root", "thecal_sac"} & nearest.keys()
    if roots_missing and sac_missing and not own_root and not marked:
        parts.append("mark the roots and thecal sac")
    elif roots_missing or sac_missing:
        phrases = []
        if roots_missing:
            roots = "the nerve roots"
            if own_root:
                also = f"; {far('nerve_root', 'other ')}" if "nerve_root" in nearest else ""
                roots = (
                    f"the nerve roots near the path other than the target's own ({own_root}{also})"
                )
            elif "nerve_root" in nearest:
                roots = f"the nerve roots near the path ({far('nerve_root')})"
            phrases.append(roots)
        if sac_missing:
            sac = "the thecal sac"
            if "thecal_sac" in nearest:
                sac = f"the thecal sac near the path ({far('thecal_sac')})"
            phrases.append(sac)
        parts.append("mark " + " and ".join(phrases))
    if "bone" in unchecked:
        parts.append("load the CT to check bone")
    return "; ".join(parts)


def verdict_text(
    verdict: str,
    clearances: str,
    findings: Sequence[str] = (),
    unchecked: Sequence[str] = (),
    own_root: str | None = None,
    structures: Sequence[ClosestStructure] = (),
) -> str:
    """The verdict in words (``verdict`` is a `SafetyVerdict` value).

    ``"safe — clear of <clearances>"``; ``"UNSAFE — <findings>"`` (``"UNSAFE"`` without
    them); ``"not assessed — <what to do>"`` (`unchecked_text`, with ``own_root`` and the
    nearest marked ``structures``).
    """
    word = VERDICT_WORDS[str(verdict)]
    if verdict == "safe":
        return f"{word} — clear of {clearances}"
    if verdict == "unsafe":
        return word + (" — " + "; ".join(findings) if findings else "")
    return f"{word} — {unchecked_text(unchecked, own_root, structures)}"


def needle_label(length_mm: float | None) -> str:
    """``"3.5 in (89 mm)"`` for a whole or half-inch length, else ``"90 mm"``; None:
    ``"none long enough"``."""
    if length_mm is None:
        return "none long enough"
    inches = length_mm / 25.4
    if abs(inches * 2 - round(inches * 2)) < 1e-3:
        return f"{inches:g} in ({length_mm:.0f} mm)"
    return f"{length_mm:.0f} mm"


def scar_volume_text(total_ml: float, per_level_ml: Mapping[str, float]) -> str:
    """``"1.73 mL in total; L4-L5: 0.98 mL; L5: 0.75 mL"``, levels cranial to caudal."""
    parts = [f"{total_ml:.2f} mL in total"]
    for level in sorted(per_level_ml, key=level_sort_key):
        parts.append(f"{level}: {per_level_ml[level]:.2f} mL")
    return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class PathWords:
    """A planned path in words, as the screen, the report and the SR read-back show it."""

    length: str
    """``"76.8 mm"``."""
    needle: str
    """``"3.5 in (89 mm)"``."""
    oblique: str
    """``"23.2° left oblique"``."""
    tilt: str
    """``"7.5° cranial tilt"``."""
    c_arm: str
    """``"23.2° left oblique, 7.5° cranial tilt"``."""
    clearance: str
    """Closest marked structure: ``"3.1 mm from nerve root L5 left"`` (or ``"no marked
    structure"``)."""
    scar: str
    """``"4.0 mm from scar"`` or ``"no scar marked"``."""
    clearances: str
    """Every clearance with its structure (`clearances_text`)."""
    verdict: str
    """``"safe"``, ``"UNSAFE"`` or ``"not assessed"`` (`VERDICT_WORDS`)."""
    safety: str
    """The verdict with what it rests on (`verdict_text`)."""

    def lines(self) -> tuple[str, ...]:
        """The path's details, one line each, as the planning details pane and the report
        print them."""
        return (
            f"Path length: {self.length}",
            f"Needle: {self.needle}",
            f"C-arm: {self.c_arm}",
            f"Clearances: {self.clearances}",
            f"Verdict: {self.safety}",
        )


def path_words(
    *,
    path_length_mm: float,
    needle_mm: float | None,
    oblique_deg: float,
    oblique_side: str,
    tilt_deg: float,
    tilt_direction: str,
    closest: ClosestStructure | None,
    structures: Sequence[ClosestStructure] = (),
    bone_clearance_mm: float | None = None,
    scar_distance_mm: float | None,
    verdict: str,
    unchecked: Sequence[str] = (),
    findings: Sequence[str] = (),
    own_root: str | None = None,
) -> PathWords:
    """Every phrase of a path from its values (mm, degrees, side and direction words).

    ``structures`` are the nearest marked structure of each kind, ``verdict`` a
    `SafetyVerdict` value, ``unchecked`` what the path was not checked against and
    ``findings`` the hazards (printed with an unsafe verdict), ``own_root`` the root a root
    block aims at (`unchecked_text`).
    """
    clearance = "no marked structure"
    if closest is not None:
        clearance = clearance_text(*closest)
    scar = None if scar_distance_mm is None or math.isinf(scar_distance_mm) else scar_distance_mm
    clearances = clearances_text(structures, bone_clearance_mm, scar)
    return PathWords(
        length=path_length_text(path_length_mm),
        needle=needle_label(needle_mm),
        oblique=oblique_text(oblique_deg, oblique_side),
        tilt=tilt_text(tilt_deg, tilt_direction),
        c_arm=c_arm_text(oblique_deg, oblique_side, tilt_deg, tilt_direction),
        clearance=clearance,
        scar=scar_distance_text(scar),
        clearances=clearances,
        verdict=VERDICT_WORDS[str(verdict)],
        safety=verdict_text(verdict, clearances, findings, unchecked, own_root, structures),
    )


def _values(c: LandmarkClearance) -> ClosestStructure:
    """(distance, kind, level, side word) of a landmark clearance."""
    return (c.distance_mm, c.kind, c.level, None if c.side is None else c.side.value)


def describe_path(metrics: TrajectoryMetrics, own_root: str | None = None) -> PathWords:
    """A measured path (`evaluate_trajectory`) in words; ``own_root`` the root its block
    aims at (`blockplan.planning.own_root_label` of the target)."""
    c = metrics.closest_landmark
    return path_words(
        path_length_mm=metrics.path_length_mm,
        needle_mm=metrics.suggested_needle_mm,
        oblique_deg=metrics.oblique_deg,
        oblique_side=metrics.oblique_side.value,
        tilt_deg=metrics.tilt_deg,
        tilt_direction=metrics.tilt_direction.value,
        closest=None if c is None else _values(c),
        structures=[_values(n) for n in metrics.nearest_structures],
        bone_clearance_mm=metrics.bone_clearance_mm,
        scar_distance_mm=metrics.scar_distance_mm,
        verdict=metrics.verdict.value,
        unchecked=metrics.unchecked,
        findings=metrics.hazards,
        own_root=own_root,
    )
