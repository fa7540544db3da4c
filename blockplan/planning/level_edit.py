"""Levels you can trust: editing level markers, and what follows for every target.

Wrong-level and wrong-side procedures are the classic error of spine injections. The
rules here keep the level and side of every target true to the level markers:

* **marker edits** — `change_level_markers` (and `add_level_marker`, `move_level_marker`,
  `rename_level_marker`, `delete_level_marker`) checks the new markers (one frame of
  reference, cranio-caudal order, even spacing, L6 only where a lumbarised S1 is noted)
  and then recomputes the level and side of every target and marked structure and the
  scar volume per level;
* **flagging** — a target whose level or side the markers changed takes the new values and
  keeps what it had before (`Target.level_change`) until the physician confirms
  (`confirm_target_level`). A target placed before two markers existed has no level
  ("level unassigned") and its side from the patient midline; when the markers reach it,
  it gets its level and is flagged in the same way. A level or side the markers did not
  change stays as it is, even when the physician set it by hand;
* **hand edits** — `set_target_level` and `set_target_side` refuse a level more than
  `MAX_HAND_LEVEL_OFFSET` levels from where the markers place the target, and a side the
  target's position contradicts (a point 30 mm to the patient's left labelled "right");
  an accepted edit is the physician's confirmation;
* **wording** — `level_text` is how a target's level reads on the screen and in the
  report (``"L5"``, ``"level unassigned"``, ``"L5 — confirm (was L2 left)"``).

Decision support, not a medical device.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from blockplan.case.model import Case, Landmark, LevelChange, LevelMarker, PatientPoint, Target
from blockplan.case.vocab import (
    Laterality,
    Structure,
    TransitionalVertebra,
    level_sort_key,
    parse_level,
)
from blockplan.case.wording import unnamed_joint_text
from blockplan.errors import PlanningError
from blockplan.planning.levels import SpineAxis, level_for_structure, renumber_levels
from blockplan.planning.placement import landmark_level, locate_point, side_of
from blockplan.planning.scar_edit import refresh_scar_levels

__all__ = [
    "MAX_HAND_LEVEL_OFFSET",
    "UNASSIGNED_LEVEL_TEXT",
    "add_level_marker",
    "change_level_markers",
    "confirm_target_level",
    "delete_level_marker",
    "level_text",
    "markers_in_order",
    "move_level_marker",
    "rename_level_marker",
    "set_target_level",
    "set_target_side",
    "set_transitional_vertebra",
    "transitional_text",
    "unconfirmed_targets",
]

MAX_HAND_LEVEL_OFFSET = 1.25
"""How far (in levels, vertebra units) a level typed by hand may lie from where the markers
place the target: one level and a little, because medial branches are named by the vertebra
above the transverse process they cross (the L4 medial branch is blocked at L5)."""

UNASSIGNED_LEVEL_TEXT = "level unassigned"
"""How a target without a level reads (placed before the level markers reach it)."""

_TRANSITIONAL_TEXT = {
    TransitionalVertebra.SACRALISED_L5: "sacralised L5 (marked L5)",
    TransitionalVertebra.LUMBARISED_S1: "lumbarised S1 (marked L6)",
}


# --- wording --------------------------------------------------------------------------------
def level_text(target: Target) -> str:
    """A target's level as the physician reads it, on the screen and in the report.

    ``"L5"``; ``"level unassigned"`` (no level yet; a sacroiliac joint has no spinal level:
    ``"–"``); a level or side changed by the level markers and not yet confirmed:
    ``"L5 — confirm (was L2 left)"`` (``"was unassigned, left"`` for a target placed before
    the levels); a target flagged by the wrong-level guard (`level_guard`, nothing changed):
    ``"L5 — confirm (the automatic level count disagrees near it)"``; a facet joint or
    disc named by a vertebra (`blockplan.case.wording.unnamed_joint_text`):
    ``"L4 — name the facet joint (L3-L4 or L4-L5)"``.
    """
    if target.level is not None:
        now = target.level
    elif target.structure is Structure.SACROILIAC_JOINT:
        now = "–"
    else:
        now = UNASSIGNED_LEVEL_TEXT
    change = target.level_change
    if change is None:
        unnamed = unnamed_joint_text(target.level, target.structure)
        return now if unnamed is None else f"{now} — {unnamed.split(': ', 1)[1]}"
    if change.level == target.level and change.side == target.side:  # level_guard's flag
        return f"{now} — confirm (the automatic level count disagrees near it)"
    was = f"{change.level} " if change.level else "unassigned, "
    return f"{now} — confirm (was {was}{change.side.value})"


def transitional_text(value: TransitionalVertebra | None) -> str:
    """How the noted transitional vertebra reads (``"none noted"`` when there is none)."""
    return "none noted" if value is None else _TRANSITIONAL_TEXT[value]


def unconfirmed_targets(case: Case) -> tuple[Target, ...]:
    """The targets whose level or side changed and awaits the physician's confirmation."""
    return tuple(t for t in case.targets if t.level_change is not None)


def markers_in_order(case: Case) -> tuple[LevelMarker, ...]:
    """The level markers cranial to caudal (by level name), as the marker list shows them."""
    return tuple(sorted(case.levels, key=lambda m: level_sort_key(m.level)))


# --- marker edits ---------------------------------------------------------------------------
def _check_markers(
    markers: Sequence[LevelMarker], transitional: TransitionalVertebra | None
) -> None:
    """Refuse markers that do not make a spine (see `SpineAxis.from_markers`), that name
    L6 without a lumbarised S1 noted, or that go below L5 past a noted L6 left unmarked."""
    l6 = [m.level for m in markers if "L6" in m.level.split("-")]
    lumbarised = transitional is TransitionalVertebra.LUMBARISED_S1
    if l6 and not lumbarised:
        raise PlanningError(
            f"marker {l6[0]} names a sixth lumbar vertebra: note the transitional vertebra "
            "as a lumbarised S1 first (Levels tab), or name the marker S1"
        )
    below_l5 = [m.level for m in markers if level_sort_key(m.level) > level_sort_key("L5")]
    if lumbarised and below_l5 and not l6:
        raise PlanningError(
            f"a lumbarised S1 is noted, so the vertebra below L5 is L6, but marker "
            f"{below_l5[0]} skips it: mark L6 first, rename the marker, or change the note"
        )
    if len(markers) >= 2:
        SpineAxis.from_markers(markers)


def change_level_markers(case: Case, markers: Sequence[LevelMarker]) -> Case:
    """The case with new level markers and everything that depends on them recomputed.

    Every target and marked structure is given the level and side the new markers give
    it where they differ from what the old markers gave (a target is flagged, see the
    module docstring); the scar volume per level is recomputed (`refresh_scar_levels`).

    Raises
    ------
    PlanningError
        When the markers do not make a spine: frames of reference differ, a level is
        marked twice, markers coincide or run cranially against their names, spacing is
        uneven (a level skipped), or L6 is named without a lumbarised S1 noted.
    """
    markers = tuple(markers)
    _check_markers(markers, case.transitional_vertebra)
    old = case.levels
    targets = tuple(_relevel_target(t, old, markers) for t in case.targets)
    landmarks = tuple(_relevel_landmark(lm, old, markers) for lm in case.landmarks)
    return refresh_scar_levels(case.evolve(levels=markers, targets=targets, landmarks=landmarks))


def add_level_marker(case: Case, point: PatientPoint, level: str) -> Case:
    """The case with a marker of ``level`` at ``point`` added (`change_level_markers`)."""
    marker = LevelMarker(level=_level(level, "marker level"), position=point)
    return change_level_markers(case, (*case.levels, marker))


def move_level_marker(case: Case, marker_id: str, point: PatientPoint) -> Case:
    """The case with a marker moved to ``point`` (`change_level_markers`)."""
    marker = _marker(case, marker_id)
    moved = marker.model_copy(update={"position": point})
    return change_level_markers(case, _replaced(case.levels, moved))


def rename_level_marker(case: Case, marker_id: str, level: str, *, recount: bool = False) -> Case:
    """The case with a marker renamed; with ``recount`` every marker moves with it.

    A recount fixes a spine counted from the wrong vertebra in one edit
    (`renumber_levels`: ``T12, L1, L2, L3`` renamed from ``T12`` to ``L3`` become
    ``L3, L4, L5, S1``); renaming one marker alone refuses a name that leaves a gap.
    """
    marker = _marker(case, marker_id)
    new = _level(level, "marker level")
    if not recount:
        renamed = _replaced(case.levels, marker.model_copy(update={"level": new}))
        try:
            return change_level_markers(case, renamed)
        except PlanningError as err:
            raise PlanningError(
                f"{err} (to renumber every marker from this one, rename with a recount)"
            ) from err
    lumbarised = case.transitional_vertebra is TransitionalVertebra.LUMBARISED_S1
    names = renumber_levels(
        [m.level for m in case.levels], marker.level, new, transitional_l6=lumbarised
    )
    moved = tuple(m.model_copy(update={"level": n}) for m, n in zip(case.levels, names))
    return change_level_markers(case, moved)


def delete_level_marker(case: Case, marker_id: str) -> Case:
    """The case without one marker (`change_level_markers`)."""
    _marker(case, marker_id)
    return change_level_markers(case, tuple(m for m in case.levels if m.id != marker_id))


def set_transitional_vertebra(case: Case, value: TransitionalVertebra | str | None) -> Case:
    """The case with its transitional vertebra noted (None: none noted).

    Refused while a marker names L6 and the note is not a lumbarised S1 (rename or
    delete that marker first).
    """
    noted = TransitionalVertebra(value) if value else None
    _check_markers(case.levels, noted)
    return case.evolve(transitional_vertebra=noted)


# --- recomputing and confirming -------------------------------------------------------------
class _Where(NamedTuple):
    level: str | None
    side: Laterality
    lateral_mm: float


def _where(
    kind: Structure | str, point: PatientPoint, markers: Sequence[LevelMarker]
) -> _Where | None:
    """Level (named for the structure or landmark kind) and side; None when unknowable."""
    try:
        found = locate_point(point, markers)
    except PlanningError:  # markers of another frame, or markers of an older release
        return None
    if isinstance(kind, Structure):
        level = level_for_structure(found.level, kind)
    else:
        level = landmark_level(kind, found.level)
    return _Where(level, found.side, found.lateral_mm)


def _contradicts(side: Laterality, lateral_mm: float) -> bool:
    """True when a side is not the side a point at ``lateral_mm`` lies on (beyond the
    midline band): a point 30 mm to the patient's left labelled right, midline or both."""
    geometric = side_of(lateral_mm)
    return geometric is not Laterality.MIDLINE and side is not geometric


def _follow(
    level: str | None,
    side: Laterality,
    before: _Where | None,
    after: _Where | None,
) -> tuple[str | None, Laterality]:
    """The level and side after a marker edit: the markers' new answer where it changed
    (or the old one is unknown), the kept value elsewhere; a contradicted side never stays."""
    if after is None:
        return level, side
    if before is None or before.level != after.level:
        level = after.level
    if before is None or before.side is not after.side or _contradicts(side, after.lateral_mm):
        side = after.side
    return level, side


def _relevel_target(t: Target, old: Sequence[LevelMarker], new: Sequence[LevelMarker]) -> Target:
    before = _where(t.structure, t.position, old)
    after = _where(t.structure, t.position, new)
    level, side = _follow(t.level, t.side, before, after)
    return _flagged(t, level, side)


def _relevel_landmark(
    lm: Landmark, old: Sequence[LevelMarker], new: Sequence[LevelMarker]
) -> Landmark:
    before = _where(lm.kind, lm.position, old)
    after = _where(lm.kind, lm.position, new)
    level, side = _follow(lm.level, lm.side or Laterality.MIDLINE, before, after)
    if (level, side) == (lm.level, lm.side):
        return lm
    return lm.model_copy(update={"level": level, "side": side})


def _flagged(t: Target, level: str | None, side: Laterality) -> Target:
    """``t`` with a new level and side, flagged with what was last accepted (the flag
    clears when the values return to it)."""
    if (level, side) == (t.level, t.side):
        return t
    accepted = t.level_change or LevelChange(level=t.level, side=t.side)
    unchanged = (level, side) == (accepted.level, accepted.side)
    return t.model_copy(
        update={"level": level, "side": side, "level_change": None if unchanged else accepted}
    )


def confirm_target_level(case: Case, target_id: str) -> Case:
    """The case with a target's level and side confirmed by the physician (flag cleared)."""
    target = case.target(target_id)
    return case.replace_item("targets", target.model_copy(update={"level_change": None}))


def set_target_level(case: Case, target_id: str, level: str | None) -> Case:
    """The case with a target's level set by the physician (which confirms it).

    Raises
    ------
    PlanningError
        When ``level`` is not a level, or lies more than `MAX_HAND_LEVEL_OFFSET` levels
        from where the level markers place the target.
    """
    target = case.target(target_id)
    new = _level(level, "target level") if level else None
    if new is not None and len(case.levels) >= 2:
        axis = SpineAxis.from_markers(case.levels)
        found = axis.assign(target.position)
        offset = abs(axis.coordinate_of(new) - found.level_coordinate)
        if offset > MAX_HAND_LEVEL_OFFSET:
            named = level_for_structure(found.level, target.structure) or "beyond the markers"
            raise PlanningError(
                f"target level {new}: the level markers place this target at {named}, "
                f"{offset:.1f} levels away (at most {MAX_HAND_LEVEL_OFFSET:g} is accepted): "
                f"type {named}, or move the target or the markers"
            )
    update = {"level": new, "level_change": None}
    return case.replace_item("targets", target.model_copy(update=update))


def set_target_side(case: Case, target_id: str, side: Laterality | str) -> Case:
    """The case with a target's side set by the physician (which confirms it).

    Raises
    ------
    PlanningError
        When ``side`` is not a side, or the target's position contradicts it: it lies
        beyond the midline band (± 3 mm) on the other side (`locate_point`).
    """
    target = case.target(target_id)
    try:
        new = Laterality(str(side).strip().lower())
    except ValueError as err:
        choices = ", ".join(s.value for s in Laterality)
        raise PlanningError(
            f"target side {str(side)!r} is not valid: expected one of {choices}"
        ) from err
    found = locate_point(target.position, case.levels)
    if _contradicts(new, found.lateral_mm):
        geometric = side_of(found.lateral_mm)
        raise PlanningError(
            f"target side {new.value}: the target lies {abs(found.lateral_mm):.1f} mm to the "
            f"patient's {geometric.value} of the midline ({_midline(found.reason)}): keep "
            f"{geometric.value}, or move the target"
        )
    update = {"side": new, "level_change": None}
    return case.replace_item("targets", target.model_copy(update=update))


# --- small helpers --------------------------------------------------------------------------
def _midline(reason: str) -> str:
    return reason.split("read from ", 1)[1] if "read from " in reason else "the level markers"


def _level(text: str, what: str) -> str:
    try:
        return parse_level(text)
    except ValueError as err:
        raise PlanningError(f"{what} {text.strip()!r} is not valid: {err}") from err


def _marker(case: Case, marker_id: str) -> LevelMarker:
    for marker in case.levels:
        if marker.id == marker_id:
            return marker
    raise PlanningError(f"level marker {marker_id} is not in the case: reload the case")


def _replaced(markers: Sequence[LevelMarker], new: LevelMarker) -> tuple[LevelMarker, ...]:
    return tuple(new if m.id == new.id else m for m in markers)
