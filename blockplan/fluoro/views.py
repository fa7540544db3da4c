"""The C-arm views of a planned target, and the C-arm angles of each in words.

Every view has its isocentre at the target. The beam (source → detector, LPS) of each:

* **bull's-eye** (down-the-beam) — along the planned path, ``entry − target``: the needle
  projects to a dot (`bullseye_beam`);
* **progression** — perpendicular to the path, in the plane the path spans with the
  patient's left–right axis, the image intensifier posterior (the contralateral oblique of
  a transforaminal path; the true lateral of a path in a sagittal plane): the needle's
  depth shows as its length times the magnification (`progression_beam`);
* **AP** — in the mid-sagittal plane, perpendicular to the spine axis at the target's
  level, so the beam runs along that level's endplates and they are seen as lines
  ("squared", `endplate_beam`); the spine axis is the one the level markers define
  (`blockplan.planning.levels.SpineAxis`), its direction at a level the chord from half a
  vertebra above to half a vertebra below. Without two level markers: the straight AP view
  (beam posterior → anterior, not tilted), with a note (`wording.ap_not_squared_text`);
* **ipsilateral oblique** ("Scotty dog") for facet, medial-branch and transforaminal
  targets — the AP beam turned about the spine axis towards the target's side by
  ``oblique_deg`` (default 25°, DOMAIN §10: typically 20–35°; `oblique_beam`);
* **true lateral** — along the patient's left–right axis, the image intensifier on the
  target's side (left for a midline target).

The C-arm angles of every view are `blockplan.planning.trajectory.c_arm_angles` of its beam
and are worded by `blockplan.planning.wording.c_arm_text`, the functions that word a path's
oblique and tilt everywhere else; the bull's-eye view's angles are the path's own.

Decision support, not a medical device.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from blockplan.case.model import Case, Target
from blockplan.case.vocab import BlockType, Laterality
from blockplan.errors import PlanningError
from blockplan.fluoro.geometry import CArmGeometry, DetectorSpec
from blockplan.planning import wording
from blockplan.planning.levels import SpineAxis
from blockplan.planning.trajectory import CArmAngles, c_arm_angles

__all__ = [
    "AP_NOT_SQUARED_TITLE",
    "DEFAULT_OBLIQUE_DEG",
    "OBLIQUE_BLOCKS",
    "VIEW_TITLES",
    "FluoroView",
    "ViewKind",
    "bullseye_beam",
    "endplate_beam",
    "lateral_beam",
    "oblique_beam",
    "progression_beam",
    "spine_direction",
    "target_views",
    "view_kinds",
]

DEFAULT_OBLIQUE_DEG = 25.0
"""Ipsilateral oblique of the "Scotty dog" view (degrees; DOMAIN §10: typically 20–35°)."""

OBLIQUE_BLOCKS: frozenset[BlockType] = frozenset(
    {BlockType.MEDIAL_BRANCH, BlockType.FACET_INTRAARTICULAR, BlockType.TRANSFORAMINAL_EPIDURAL}
)
"""Block types whose targets get the ipsilateral oblique view (DOMAIN §10)."""


class ViewKind(StrEnum):
    """The C-arm views of a target."""

    BULLSEYE = "bullseye"
    PROGRESSION = "progression"
    AP = "ap"
    OBLIQUE = "oblique"
    LATERAL = "lateral"


VIEW_TITLES: dict[ViewKind, str] = {
    ViewKind.BULLSEYE: "bull's-eye",
    ViewKind.PROGRESSION: "progression",
    ViewKind.AP: "AP, endplates squared",
    ViewKind.OBLIQUE: "ipsilateral oblique",
    ViewKind.LATERAL: "true lateral",
}
"""A view's name as the screen, the report and the CLI print it (the AP view whose endplates
could not be squared is named `AP_NOT_SQUARED_TITLE` once computed)."""

AP_NOT_SQUARED_TITLE = "AP, endplates not squared"
"""The AP view's name when it could not be tilted to the target level (no level, or fewer
than two level markers): its note says why."""


@dataclass(frozen=True, slots=True, eq=False)
class FluoroView:
    """One C-arm view of a target: its geometry and its angles in words."""

    kind: ViewKind
    geometry: CArmGeometry
    angles: CArmAngles
    c_arm: str
    """``"23.2° left oblique, 7.5° cranial tilt"`` (`blockplan.planning.wording.c_arm_text`)."""
    notes: tuple[str, ...] = ()
    endplates_squared: bool = True
    """False for an AP view that could not be tilted to the target level."""

    @property
    def name(self) -> str:
        """The view's name: `VIEW_TITLES`, or `AP_NOT_SQUARED_TITLE`."""
        if self.kind == ViewKind.AP and not self.endplates_squared:
            return AP_NOT_SQUARED_TITLE
        return VIEW_TITLES[self.kind]

    @property
    def title(self) -> str:
        """``"bull's-eye: 23.2° left oblique, 7.5° cranial tilt"``."""
        return f"{self.name}: {self.c_arm}"


def _unit(v: npt.ArrayLike) -> npt.NDArray[np.float64]:
    a = np.asarray(v, dtype=np.float64)
    n = float(np.linalg.norm(a))
    if n < 1e-9:
        raise PlanningError("C-arm view: the beam has no direction (entry on the target?)")
    return a / n


def bullseye_beam(entry_lps: npt.ArrayLike, target_lps: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """The down-the-beam view: along the path, from the target towards the entry."""
    return _unit(np.asarray(entry_lps, dtype=np.float64) - np.asarray(target_lps, dtype=float))


def progression_beam(
    entry_lps: npt.ArrayLike, target_lps: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Perpendicular to the path, in its plane with the left–right axis, intensifier
    posterior (``beam_y ≥ 0``); a path along the left–right axis: the AP direction."""
    p = bullseye_beam(entry_lps, target_lps)
    x = np.array([1.0, 0.0, 0.0])
    b = x - float(x @ p) * p
    if np.linalg.norm(b) < 1e-6:
        b = np.array([0.0, 1.0, 0.0]) - p[1] * p
    b = _unit(b)
    if b[1] < 0 or (b[1] == 0 and b[0] < 0):
        b = -b
    return b


def _axis_point(axis: SpineAxis, coordinate: float) -> npt.NDArray[np.float64]:
    """The spine axis point at a level coordinate (linear between markers, extended along
    the end segments)."""
    ranks = axis.half_ranks.astype(np.float64) / 2.0
    k = int(np.clip(np.searchsorted(ranks, coordinate) - 1, 0, len(ranks) - 2))
    f = (coordinate - ranks[k]) / (ranks[k + 1] - ranks[k])
    point: npt.NDArray[np.float64] = axis.centres_lps[k] + f * (
        axis.centres_lps[k + 1] - axis.centres_lps[k]
    )
    return point


def spine_direction(axis: SpineAxis, level: str) -> npt.NDArray[np.float64]:
    """Unit direction of the spine axis at a level, pointing cranially: the chord from half
    a vertebra below the level to half a vertebra above it."""
    c = axis.coordinate_of(level)
    return _unit(_axis_point(axis, c - 0.5) - _axis_point(axis, c + 0.5))


def endplate_beam(spine_dir: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """The AP beam that squares the endplates: in the mid-sagittal plane, perpendicular to
    the spine axis (``spine_dir``, its sagittal part), intensifier posterior."""
    t = np.asarray(spine_dir, dtype=np.float64) * np.array([0.0, 1.0, 1.0])
    t = _unit(t)
    y = np.array([0.0, 1.0, 0.0])
    return _unit(y - float(y @ t) * t)


def _turn(
    v: npt.NDArray[np.float64], axis: npt.NDArray[np.float64], radians: float
) -> npt.NDArray[np.float64]:
    """``v`` turned about the unit ``axis`` by ``radians`` (Rodrigues)."""
    c, s = math.cos(radians), math.sin(radians)
    turned: npt.NDArray[np.float64] = v * c + np.cross(axis, v) * s + axis * (axis @ v) * (1 - c)
    return turned


def oblique_beam(
    ap_beam: npt.ArrayLike, spine_dir: npt.ArrayLike, side: Laterality, oblique_deg: float
) -> npt.NDArray[np.float64]:
    """The AP beam turned about the spine axis by ``oblique_deg`` towards ``side`` (the
    image intensifier moves to that side of the patient)."""
    b = _unit(ap_beam)
    t = _unit(np.asarray(spine_dir, dtype=np.float64) * np.array([0.0, 1.0, 1.0]))
    sign = -1.0 if side == Laterality.RIGHT else 1.0
    turned = _turn(b, t, math.radians(oblique_deg))
    if turned[0] * sign < 0:
        turned = _turn(b, t, -math.radians(oblique_deg))
    return _unit(turned)


def lateral_beam(side: Laterality) -> npt.NDArray[np.float64]:
    """True lateral, the image intensifier on ``side`` (left for midline)."""
    return np.array([-1.0 if side == Laterality.RIGHT else 1.0, 0.0, 0.0])


def view_kinds(target: Target, has_path: bool) -> tuple[ViewKind, ...]:
    """The views a target gets: bull's-eye and progression need a planned path, the
    oblique a facet, medial-branch or transforaminal target (`OBLIQUE_BLOCKS`)."""
    kinds = [ViewKind.BULLSEYE, ViewKind.PROGRESSION] if has_path else []
    kinds.append(ViewKind.AP)
    if target.block_type in OBLIQUE_BLOCKS:
        kinds.append(ViewKind.OBLIQUE)
    kinds.append(ViewKind.LATERAL)
    return tuple(kinds)


def _spine_at_target(case: Case, target: Target) -> tuple[npt.NDArray[np.float64] | None, str]:
    """The spine direction at the target's level, or None and why not."""
    if not target.level:
        return None, wording.ap_not_squared_text("the target has no level")
    try:
        axis = SpineAxis.from_markers(case.levels)
        return spine_direction(axis, target.level), ""
    except PlanningError as err:
        return None, wording.ap_not_squared_text(str(err))


def _beams(
    case: Case, target: Target, kinds: Sequence[ViewKind], oblique_deg: float
) -> dict[ViewKind, tuple[npt.NDArray[np.float64], tuple[str, ...]]]:
    """Beam and notes of each requested view."""
    traj = case.trajectory_for(target.id)
    t = target.position.as_array()
    spine, why = _spine_at_target(case, target)
    ap = np.array([0.0, 1.0, 0.0]) if spine is None else endplate_beam(spine)
    notes = (why,) if why else ()
    out: dict[ViewKind, tuple[npt.NDArray[np.float64], tuple[str, ...]]] = {}
    for kind in kinds:
        if kind in (ViewKind.BULLSEYE, ViewKind.PROGRESSION):
            if traj is None:
                raise PlanningError(
                    f"C-arm view {kind.value}: {_named(case, target)} has no planned path: "
                    "place its needle entry first, or ask for the ap or lateral view"
                )
            e = traj.entry.as_array()
            beam = bullseye_beam(e, t) if kind == ViewKind.BULLSEYE else progression_beam(e, t)
            out[kind] = (beam, ())
        elif kind == ViewKind.AP:
            out[kind] = (ap, notes)
        elif kind == ViewKind.OBLIQUE:
            axis_dir = np.array([0.0, 0.0, 1.0]) if spine is None else spine
            out[kind] = (oblique_beam(ap, axis_dir, target.side, oblique_deg), notes)
        else:
            out[kind] = (lateral_beam(target.side), ())
    return out


def _named(case: Case, target: Target) -> str:
    """The target as the physician knows it (``"T5 · L5 left SNRB"``), not its id."""
    return wording.target_names(case.targets)[target.id]


def target_views(
    case: Case,
    target_id: str,
    detector: DetectorSpec | None = None,
    *,
    kinds: Sequence[ViewKind] | None = None,
    oblique_deg: float = DEFAULT_OBLIQUE_DEG,
) -> tuple[FluoroView, ...]:
    """The C-arm views of one target, isocentre at the target.

    Parameters
    ----------
    case
        The case (targets, trajectories, level markers).
    target_id
        The target.
    detector
        Source–detector set-up (`DetectorSpec`; default 1 000 mm SDD).
    kinds
        Views wanted; default `view_kinds` of the target.
    oblique_deg
        The ipsilateral oblique of the oblique view (degrees, 0–60).

    Raises
    ------
    PlanningError
        Unknown target; a bull's-eye or progression view of a target without a path; an
        oblique view of a block type that has none; an oblique out of range.
    """
    try:
        target = case.target(target_id)
    except KeyError as err:
        raise PlanningError(
            f"C-arm views: no target {target_id!r} in case {case.case_id}: "
            "pick one of its target ids"
        ) from err
    if not 0.0 <= oblique_deg <= 60.0:
        raise PlanningError(f"C-arm views: oblique {oblique_deg:g}°; expected 0–60°")
    has_path = case.trajectory_for(target.id) is not None
    wanted = tuple(kinds) if kinds is not None else view_kinds(target, has_path)
    if ViewKind.OBLIQUE in wanted and target.block_type not in OBLIQUE_BLOCKS:
        raise PlanningError(
            f"C-arm view oblique: {_named(case, target)} is not a facet, medial-branch or "
            "transforaminal target, for which the ipsilateral oblique is planned: "
            "ask for bullseye, progression, ap or lateral"
        )
    detector = detector or DetectorSpec()
    iso = target.position.as_array()
    views = []
    for kind, (beam, notes) in _beams(case, target, wanted, oblique_deg).items():
        angles = c_arm_angles(iso + beam, iso)
        words = wording.c_arm_text(
            angles.oblique_deg,
            angles.oblique_side.value,
            angles.tilt_deg,
            angles.tilt_direction.value,
        )
        geometry = CArmGeometry.from_beam(iso, beam, detector)
        # the AP view carries a note only when it could not be tilted to the level
        squared = not (kind == ViewKind.AP and notes)
        views.append(FluoroView(kind, geometry, angles, words, notes, squared))
    return tuple(views)
