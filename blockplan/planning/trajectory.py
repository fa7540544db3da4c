"""Straight needle trajectories: length, needle, C-arm angles, bone, scar and clearance.

All positions are DICOM patient coordinates (LPS, mm: +x patient left, +y posterior,
+z superior). A trajectory is the straight segment from the skin **entry** to the
**target**; *depth* is the distance along it from the entry (mm).

C-arm angles (coaxial, "down-the-beam" view)
--------------------------------------------
The angles are those that put the X-ray beam along the needle, the usual way a
fluoroscopic needle path is planned with the patient prone and the beam posterior-anterior
(tube under the table, image intensifier above the patient's back). With ``v = entry −
target`` (pointing from the target back to the entry, i.e. towards the image intensifier):

* **oblique** ``= atan2(|v_x|, v_y)`` — rotation of the C-arm about the patient's
  cranio-caudal axis away from the straight AP view (the beam in a sagittal plane, running
  posterior → anterior through the prone patient; called AP as the field calls it,
  `blockplan.planning.wording.STRAIGHT_AP`): the angle between the path projected on the
  axial plane and the sagittal plane. ``oblique_side`` names the side the image
  intensifier rotates towards, which is the side of the entry point relative to the target
  (`Laterality.LEFT` when the entry lies to the patient's left, +x), the usual *ipsilateral
  oblique*; ``MIDLINE`` for a path in a sagittal plane (0°).
* **tilt** ``= atan2(|v_z|, hypot(v_x, v_y))`` — cranio-caudal angulation of the C-arm: the
  angle between the path and the axial plane. ``tilt_direction`` names where the image
  intensifier tilts, which is where the entry lies relative to the target:
  `TiltDirection.CRANIAL` when the entry is cranial (superior, +z) to the target, so the
  needle advances caudally.

Rotating the C-arm first by the oblique angle about the patient's long axis and then by the
tilt (the primary/secondary angle convention of angiography) gives the beam direction
``(±sin(oblique)·cos(tilt), cos(oblique)·cos(tilt), ±sin(tilt))``, which is ``v / |v|``.
Example: entry (50, 80, 10), target (20, 10, 0) → path length √(30² + 70² + 10²) = 76.8 mm,
oblique atan2(30, 70) = 23.2° towards the patient's left, tilt atan2(10, √(30² + 70²)) =
7.5° cranial.

Needle length
-------------
The suggested needle is the shortest standard spinal needle at least ``path length +
needle_spare_mm`` long (default spare 10 mm: soft-tissue compression, hub and handling).
The default lengths are the common catalogue lengths of Quincke spinal needles, 3.5″, 5″,
6″ and 7″ (88.9, 127.0, 152.4 and 177.8 mm; verify against the local stock and pass
``needle_lengths_mm`` otherwise, e.g. 90/120/150 mm).

Bone, scar and landmarks
------------------------
* **Bone**: the CT is sampled (trilinear) every ``step_mm`` from the entry up to
  ``bone_exclusion_mm`` before the target (targets such as the medial branch on the
  transverse process legitimately lie on bone); a sample above ``bone_hu`` is bone.
* **Bone clearance** (`bone_clearance`): the shortest distance from the needle *shaft* —
  the part of the path from the entry up to ``bone_exclusion_mm`` (default 3 mm) before
  the target, the same exempt tip zone as the bone crossing check — to the centre of the
  nearest CT voxel above ``bone_hu``. Every such voxel of the CT counts, also beside or
  beyond the tip zone; voxel centres, so the distance to the bone surface may be up to half
  a voxel diagonal less. A shaft that crosses bone has a clearance of at most half a voxel
  diagonal. Without a CT it is not measured (None).
* **Scar**: the distance reported is the exact distance from the path segment to the
  nearest scar *voxel centre* (every scar voxel is considered); the distance to the scar's
  voxel surface is at most half a voxel diagonal less. The path *crosses* scar when a path
  sample's nearest voxel is scar. Crossing scar is a caution, not
  a hazard: it is listed in ``warnings`` but does not make the path unsafe.
* **Landmarks** (nerve roots, thecal sac, arteries, marked as spheres): the clearance is the
  exact distance from the path segment to the sphere's surface (negative inside it).

The verdict (`SafetyVerdict`, decided by `safety_verdict`) has three values:

* **unsafe** — a *hazard*: the path crosses bone, passes closer than ``margin_mm`` to a
  landmark that is not excluded (the root that *is* the target of an SNRB/TFESI is passed in
  ``exclude_landmark_ids``), enters from anterior to the target, or could not be checked for
  bone over its whole length although a CT was given (part of it outside the CT);
* **not assessed** — no hazard found, but the path was not checked against everything a
  verdict needs (`unchecked_structures`): at least one nerve root and the thecal sac marked
  *within reach of the path* (clearance at most ``ASSESSMENT_REACH_MM``, 40 mm) and taken
  into account (the spared target root does not count), and a CT for bone. A path straight
  through an unmarked root would otherwise pass;
* **safe** — no hazard, and checked against all of these; the words name what it was
  checked against and how far it stays from each (`nearest_structures`, bone, scar).

Assessment reach (decision support: a geometric rule of this tool, not a cited guideline).
A marked root or thecal sac vouches for a path only when it lies within
``ASSESSMENT_REACH_MM`` (40 mm) of it — the clearance `landmark_clearances` measures.
Lumbar roots exit about one vertebral height (≈ 30–35 mm; discs of 8–12 mm between bodies
of 25–28 mm, as the scar level rule assumes: 33–40 mm) apart, so a path at one level has
the roots of its own and the neighbouring foramen within that reach, while a root or sac
marked two levels away (≥ 60 mm) says nothing about it: with a root and the sac marked at L2
only, a path at L5 through the unmarked L5/L4 roots was called safe. 40 rather than 30 mm:
for a root block the own root is spared, so only the neighbouring roots vouch, and in the
sample study (``sample_dicom/truth.json``: root centres 31–35 mm apart from L1 to L5,
44 mm from L5 to S1) the left L5 block's nearest other root (L4) is 33.9 mm from its path.
Structures beyond reach are still listed with their clearances (a hazard when closer than
the margin, which they cannot be) but do not make a path *safe*; the words then name the
nearest marked one and its distance (`wording.unchecked_text`).

The steps
---------
`evaluate_trajectory` checks its inputs (parameters, modality, one frame of reference) and
then runs these steps, each a public function with its own tests:

1. `path_samples` — length, direction and a sample every ``step_mm``;
2. `c_arm_angles` and `posterior_approach_hazard` — the coaxial view, and the prone rule;
3. `needle_for_path` — the needle (a note when none is long enough);
4. `bone_along_path` — the CT along the path (hazards: bone, path outside the CT), and
   `bone_clearance` — the shaft's distance to the nearest bone;
5. `scar_near_path` — distance to scar and where the path enters it (a note);
6. `landmark_clearances`, `closest_active_landmark`, `nearest_structures` and
   `clearance_hazards` — spheres closer than the margin;
7. `unchecked_structures` and `safety_verdict` — the verdict.

``hazards`` lists the hazards in that order; ``warnings`` the hazards, then the notes.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from blockplan.case.model import Landmark
from blockplan.case.vocab import Laterality
from blockplan.errors import PlanningError
from blockplan.io.resample import sample_points
from blockplan.io.volume import ImageVolume
from blockplan.planning import wording
from blockplan.planning._common import (
    GridLike,
    PointLike,
    as_lps,
    check_mask,
    common_frame,
    fmt_lps,
    grid_affine,
    grid_shape,
)

needle_label = wording.needle_label

__all__ = [
    "ASSESSMENT_REACH_MM",
    "ASSESSMENT_STRUCTURES",
    "BONE_SEARCH_MM",
    "DEFAULT_BONE_EXCLUSION_MM",
    "DEFAULT_BONE_HU",
    "DEFAULT_MARGIN_MM",
    "DEFAULT_NEEDLE_SPARE_MM",
    "DEFAULT_STEP_MM",
    "STANDARD_NEEDLE_LENGTHS_MM",
    "BoneClearance",
    "BoneFinding",
    "CArmAngles",
    "LandmarkClearance",
    "PathSamples",
    "SafetyVerdict",
    "ScarFinding",
    "TiltDirection",
    "TrajectoryMetrics",
    "bone_along_path",
    "bone_clearance",
    "c_arm_angles",
    "clearance_hazards",
    "closest_active_landmark",
    "evaluate_trajectory",
    "landmark_clearances",
    "nearest_structures",
    "needle_for_path",
    "needle_label",
    "path_samples",
    "posterior_approach_hazard",
    "safety_verdict",
    "scar_near_path",
    "suggest_needle_mm",
    "unchecked_structures",
]

STANDARD_NEEDLE_LENGTHS_MM: tuple[float, ...] = (88.9, 127.0, 152.4, 177.8)
"""Common spinal needle lengths: 3.5″, 5″, 6″ and 7″ (catalogue lengths, verify locally)."""

DEFAULT_NEEDLE_SPARE_MM = 10.0
"""Needle length (mm) to keep outside the skin beyond the path length."""

DEFAULT_BONE_HU = 300.0
"""CT value (HU) above which a path sample counts as bone."""

DEFAULT_BONE_EXCLUSION_MM = 3.0
"""Length (mm) of path before the target not checked for bone (targets may lie on bone)."""

DEFAULT_MARGIN_MM = 2.0
"""Closest allowed distance (mm) from the path to a landmark sphere's surface."""

DEFAULT_STEP_MM = 0.5
"""Sampling step (mm) along the path; keep it at most half the smallest voxel spacing."""

BONE_SEARCH_MM = 15.0
"""`bone_clearance` looks for bone this far (mm) around the shaft first, then in the whole
CT (a speed-up only: the result is the same)."""

ASSESSMENT_STRUCTURES: tuple[str, ...] = ("nerve_root", "thecal_sac")
"""Kinds of marked structure a path must have been checked against for a verdict."""

ASSESSMENT_REACH_MM = 40.0
"""Largest clearance (mm) at which a marked nerve root or thecal sac counts towards a
verdict (module docstring, *Assessment reach*): a lumbar vertebral height (≈ 30–35 mm) with
some room, so the roots of the path's own and the neighbouring foramen count and those two
levels away (≥ 60 mm) do not. A geometric rule of this tool (decision support), not a cited
guideline."""

_KIND_ORDER = ("nerve_root", "thecal_sac", "artery", "other")


_EPS_MM = 1e-9
_MIN_PATH_MM = 1.0


class SafetyVerdict(StrEnum):
    """The safety verdict of a path (module docstring): what the screen, the report and the
    SR state."""

    SAFE = "safe"
    UNSAFE = "unsafe"
    NOT_ASSESSED = "not assessed"


class TiltDirection(StrEnum):
    """Where the image intensifier tilts for a coaxial view: towards the entry side."""

    CRANIAL = "cranial"
    CAUDAL = "caudal"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class LandmarkClearance:
    """Closest approach of the path to one landmark sphere.

    Attributes
    ----------
    landmark_id, kind, level, side
        The landmark (see `blockplan.case.model.Landmark`).
    radius_mm
        The sphere's radius.
    distance_mm
        Distance from the path segment to the sphere's surface (mm); negative when the path
        passes through the sphere.
    depth_mm
        Depth along the path (from the entry) of the closest approach.
    closest_point_lps
        The path point of closest approach (LPS mm).
    excluded
        True when the caller excluded it (the root that is the target).
    """

    landmark_id: str
    kind: str
    level: str | None
    side: Laterality | None
    radius_mm: float
    distance_mm: float
    depth_mm: float
    closest_point_lps: tuple[float, float, float]
    excluded: bool = False

    @property
    def label(self) -> str:
        """E.g. ``"nerve root L5 left"``."""
        parts = [self.kind.replace("_", " ")]
        if self.level:
            parts.append(self.level)
        if self.side is not None:
            parts.append(self.side.value)
        return " ".join(parts)


@dataclass(frozen=True, slots=True)
class TrajectoryMetrics:
    """Everything `evaluate_trajectory` measured (mm, degrees, LPS).

    Attributes
    ----------
    entry_lps, target_lps
        The path's ends.
    direction_lps
        Unit vector from entry to target.
    path_length_mm
        Entry-to-target distance.
    suggested_needle_mm
        Shortest listed needle ≥ path length + spare; None when none is long enough.
    oblique_deg, oblique_side
        C-arm rotation about the cranio-caudal axis from straight AP, and the side the image
        intensifier rotates towards (module docstring).
    tilt_deg, tilt_direction
        C-arm cranio-caudal angulation and where the image intensifier tilts.
    bone_checked
        True when a CT was given and every sample up to the exclusion zone lay inside it.
    crosses_bone
        None without a CT, else whether any checked sample exceeded the bone threshold.
    first_bone_depth_mm, first_bone_lps, first_bone_hu
        Where the first bone sample lies (None when no bone).
    scar_distance_mm
        Distance from the path to the nearest scar voxel centre; None when no scar mask was
        given, ``math.inf`` when the masks are empty.
    scar_closest_depth_mm
        Depth of the path point closest to the scar (None when ``scar_distance_mm`` is not
        finite).
    crosses_scar, scar_entry_depth_mm, scar_entry_lps
        Whether a path sample lies in scar, and the first such sample.
    bone_clearance_mm, bone_clearance_depth_mm
        `bone_clearance`: distance from the shaft to the nearest bone voxel centre and the
        depth of the shaft point closest to it; None without a CT, ``math.inf`` (depth
        None) when the CT holds no bone.
    landmarks
        Clearance to every landmark, in input order.
    closest_landmark
        The non-excluded landmark with the smallest clearance (None when there is none).
    nearest_structures
        The nearest non-excluded landmark of each kind (`nearest_structures`).
    unchecked
        What the path was not checked against although a verdict needs it
        (`unchecked_structures`): ``"nerve_root"``, ``"thecal_sac"``, ``"bone"``.
    verdict
        `SafetyVerdict` (`safety_verdict`).
    hazards
        One message per hazard, each saying what and where in mm.
    warnings
        The hazards, then the notes (needle, no CT, crosses scar).
    """

    entry_lps: tuple[float, float, float]
    target_lps: tuple[float, float, float]
    direction_lps: tuple[float, float, float]
    path_length_mm: float
    suggested_needle_mm: float | None
    oblique_deg: float
    oblique_side: Laterality
    tilt_deg: float
    tilt_direction: TiltDirection
    bone_checked: bool
    crosses_bone: bool | None
    first_bone_depth_mm: float | None
    first_bone_lps: tuple[float, float, float] | None
    first_bone_hu: float | None
    scar_distance_mm: float | None
    scar_closest_depth_mm: float | None
    crosses_scar: bool
    scar_entry_depth_mm: float | None
    scar_entry_lps: tuple[float, float, float] | None
    bone_clearance_mm: float | None
    bone_clearance_depth_mm: float | None
    landmarks: tuple[LandmarkClearance, ...]
    closest_landmark: LandmarkClearance | None
    nearest_structures: tuple[LandmarkClearance, ...]
    unchecked: tuple[str, ...]
    verdict: SafetyVerdict
    hazards: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def safe(self) -> bool:
        """True only for the verdict `SafetyVerdict.SAFE` (not for *not assessed*)."""
        return self.verdict is SafetyVerdict.SAFE

    @property
    def needle_label(self) -> str:
        """The suggested needle as text, e.g. ``"3.5 in (89 mm)"``, or ``"none long enough"``."""
        return wording.needle_label(self.suggested_needle_mm)

    @property
    def oblique_label(self) -> str:
        """The C-arm oblique, e.g. ``"23.2° left oblique"`` (`wording.oblique_text`)."""
        return wording.oblique_text(self.oblique_deg, self.oblique_side.value)

    @property
    def tilt_label(self) -> str:
        """The C-arm tilt, e.g. ``"7.5° cranial tilt"`` (`wording.tilt_text`)."""
        return wording.tilt_text(self.tilt_deg, self.tilt_direction.value)

    @property
    def clearance_label(self) -> str:
        """Closest marked structure, e.g. ``"3.1 mm from nerve root L5 left"``."""
        return wording.describe_path(self).clearance

    @property
    def c_arm_text(self) -> str:
        """The C-arm set-up, e.g. ``"23.2° left oblique, 7.5° cranial tilt"``."""
        return wording.c_arm_text(
            self.oblique_deg, self.oblique_side.value, self.tilt_deg, self.tilt_direction.value
        )


def suggest_needle_mm(
    path_length_mm: float,
    *,
    needle_lengths_mm: Sequence[float] = STANDARD_NEEDLE_LENGTHS_MM,
    spare_mm: float = DEFAULT_NEEDLE_SPARE_MM,
) -> float | None:
    """The shortest needle (mm) with at least ``spare_mm`` to spare; None when none fits."""
    for length in sorted(needle_lengths_mm):
        if length >= path_length_mm + spare_mm:
            return float(length)
    return None


def _tup(p: npt.ArrayLike) -> tuple[float, float, float]:
    a = np.asarray(p, dtype=np.float64)
    return float(a[0]), float(a[1]), float(a[2])


# --- the steps of evaluate_trajectory, in the order it runs them ---------------------------
class CArmAngles(NamedTuple):
    """C-arm angles of the coaxial (down-the-beam) view of a path; see the module docstring."""

    oblique_deg: float
    oblique_side: Laterality
    tilt_deg: float
    tilt_direction: TiltDirection


def c_arm_angles(entry_lps: npt.ArrayLike, target_lps: npt.ArrayLike) -> CArmAngles:
    """C-arm oblique and cranio-caudal tilt that put the X-ray beam along the path.

    With ``v = entry − target`` (LPS mm, from the target towards the image intensifier):
    oblique ``= atan2(|v_x|, v_y)`` towards the side of the entry (`Laterality.LEFT` when
    ``v_x > 0``, i.e. the entry lies to the patient's left), tilt ``= atan2(|v_z|,
    hypot(v_x, v_y))`` towards the entry (`TiltDirection.CRANIAL` when ``v_z > 0``).
    A component within 1e-9 mm of zero gives ``MIDLINE`` / ``NONE``.

    Parameters
    ----------
    entry_lps, target_lps
        Skin entry and target, ``(x, y, z)`` LPS mm.

    Returns
    -------
    CArmAngles
        ``(oblique_deg, oblique_side, tilt_deg, tilt_direction)``; degrees in [0, 180] and
        [0, 90].
    """
    v = np.asarray(entry_lps, dtype=np.float64) - np.asarray(target_lps, dtype=np.float64)
    oblique = math.degrees(math.atan2(abs(v[0]), v[1]))
    if v[0] > _EPS_MM:
        side = Laterality.LEFT
    elif v[0] < -_EPS_MM:
        side = Laterality.RIGHT
    else:
        side = Laterality.MIDLINE
    tilt = math.degrees(math.atan2(abs(v[2]), math.hypot(v[0], v[1])))
    if v[2] > _EPS_MM:
        direction = TiltDirection.CRANIAL
    elif v[2] < -_EPS_MM:
        direction = TiltDirection.CAUDAL
    else:
        direction = TiltDirection.NONE
    return CArmAngles(oblique, side, tilt, direction)


def posterior_approach_hazard(entry_lps: npt.ArrayLike, target_lps: npt.ArrayLike) -> str | None:
    """The hazard message when the entry is not posterior to the target, else None.

    The patient lies prone and the needle comes from the back: the entry must lie
    posterior (greater LPS y, mm) to the target.
    """
    entry = np.asarray(entry_lps, dtype=np.float64)
    target = np.asarray(target_lps, dtype=np.float64)
    anterior_mm = float(target[1] - entry[1])
    if anterior_mm < 0:
        return None
    return (
        f"entry {fmt_lps(entry)} lies {anterior_mm:.1f} mm anterior to the target "
        f"{fmt_lps(target)} mm (LPS y): not a posterior approach; check entry and target"
    )


def needle_for_path(
    length_mm: float,
    *,
    needle_lengths_mm: Sequence[float] = STANDARD_NEEDLE_LENGTHS_MM,
    spare_mm: float = DEFAULT_NEEDLE_SPARE_MM,
) -> tuple[float | None, str | None]:
    """The suggested needle (mm) for a path, and a planning note when none is long enough.

    The needle is `suggest_needle_mm` (shortest with ``spare_mm`` to spare). The note is not
    a hazard: a longer needle may be in stock.
    """
    needle = suggest_needle_mm(length_mm, needle_lengths_mm=needle_lengths_mm, spare_mm=spare_mm)
    if needle is not None:
        return needle, None
    longest = max(needle_lengths_mm) if len(needle_lengths_mm) else 0.0
    return None, (
        f"path {length_mm:.1f} mm + {spare_mm:.0f} mm spare is longer than the longest "
        f"needle listed ({longest:.1f} mm)"
    )


@dataclass(frozen=True, slots=True, eq=False)
class PathSamples:
    """Points every ``step_mm`` along a straight path, both ends included (LPS mm).

    Attributes
    ----------
    entry_lps, target_lps
        The path's ends, shape ``(3,)``.
    unit_lps
        Unit vector from the entry to the target.
    length_mm
        Entry-to-target distance.
    depths_mm
        Depth of each sample from the entry, ``0 … length_mm``, shape ``(n,)``.
    points_lps
        The samples, shape ``(n, 3)``: ``entry + depth × unit``.
    """

    entry_lps: npt.NDArray[np.float64]
    target_lps: npt.NDArray[np.float64]
    unit_lps: npt.NDArray[np.float64]
    length_mm: float
    depths_mm: npt.NDArray[np.float64]
    points_lps: npt.NDArray[np.float64]


def path_samples(
    entry_lps: npt.ArrayLike, target_lps: npt.ArrayLike, step_mm: float = DEFAULT_STEP_MM
) -> PathSamples:
    """Sample the straight path from entry to target every ``step_mm`` (or a little less).

    The path is cut into ``ceil(length / step_mm)`` equal steps (at least one).

    Raises
    ------
    PlanningError
        When ``step_mm`` ≤ 0, or entry and target lie less than 1 mm apart.
    """
    if step_mm <= 0:
        raise PlanningError(f"step_mm must be > 0; got {step_mm}")
    entry = np.asarray(entry_lps, dtype=np.float64)
    target = np.asarray(target_lps, dtype=np.float64)
    vec = target - entry
    length = float(np.linalg.norm(vec))
    if length < _MIN_PATH_MM:
        raise PlanningError(
            f"entry {fmt_lps(entry)} and target {fmt_lps(target)} mm are {length:.2f} mm "
            f"apart (at least {_MIN_PATH_MM:.0f} mm needed): move the entry point to the skin"
        )
    unit = vec / length
    depths = np.linspace(0.0, length, max(2, math.ceil(length / step_mm) + 1))
    return PathSamples(entry, target, unit, length, depths, entry + depths[:, None] * unit)


@dataclass(frozen=True, slots=True)
class BoneFinding:
    """What `bone_along_path` found (depths in mm from the entry, LPS mm, HU).

    Attributes
    ----------
    checked
        True when a CT was given and every sample up to the exclusion zone lay inside it.
    crosses
        None without a CT, else whether a checked sample exceeded the bone threshold.
    first_depth_mm, first_lps, first_hu
        The first bone sample (None when there is none).
    hazards, notes
        Messages: bone crossed or path outside the CT (hazards); no CT given (note).
    """

    checked: bool
    crosses: bool | None
    first_depth_mm: float | None = None
    first_lps: tuple[float, float, float] | None = None
    first_hu: float | None = None
    hazards: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def _require_ct(ct: ImageVolume) -> None:
    if ct.modality.upper() != "CT":
        raise PlanningError(
            f"the bone check needs a CT in Hounsfield units; series "
            f"{ct.series_number if ct.series_number is not None else ct.series_instance_uid}"
            f" is {ct.modality or 'of unknown modality'}: pass the CT, or ct=None"
        )


def bone_along_path(
    ct: ImageVolume | None,
    path: PathSamples,
    *,
    bone_hu: float = DEFAULT_BONE_HU,
    bone_exclusion_mm: float = DEFAULT_BONE_EXCLUSION_MM,
) -> BoneFinding:
    """Whether the path crosses bone before the last ``bone_exclusion_mm`` mm.

    The CT (same frame of reference as the path) is sampled trilinearly at the path samples
    up to ``length − bone_exclusion_mm``; a sample above ``bone_hu`` (HU) is bone. Samples
    outside the CT are not checked, which is a hazard of its own.

    Raises
    ------
    PlanningError
        When ``ct`` is not a CT.
    """
    if ct is None:
        return BoneFinding(False, None, notes=("no CT given: bone crossing not checked",))
    _require_ct(ct)
    length = path.length_mm
    check = path.depths_mm <= length - bone_exclusion_mm
    depths, points = path.depths_mm[check], path.points_lps[check]
    hu = ct.sample_lps(points, order=1)
    outside = np.isnan(hu)
    bone = np.zeros(len(hu), dtype=bool)
    bone[~outside] = hu[~outside] > bone_hu
    hazards = []
    if outside.any():
        hazards.append(
            f"the path lies outside the CT from depth {depths[outside].min():.1f} to "
            f"{depths[outside].max():.1f} mm (of {length:.1f} mm): bone not checked there"
        )
    if not bone.any():
        return BoneFinding(not outside.any(), False, hazards=tuple(hazards))
    n = int(np.argmax(bone))
    depth, value = float(depths[n]), float(hu[n])
    hazards.append(
        f"crosses bone (CT {value:.0f} HU > {bone_hu:.0f} HU) at depth {depth:.1f} mm from "
        f"the entry, {length - depth:.1f} mm before the target, LPS {fmt_lps(points[n])} mm"
    )
    return BoneFinding(not outside.any(), True, depth, _tup(points[n]), value, tuple(hazards))


class BoneClearance(NamedTuple):
    """What `bone_clearance` measured (mm)."""

    distance_mm: float | None
    """Shaft to the nearest bone voxel centre; None without a CT, ``math.inf`` without bone."""
    depth_mm: float | None
    """Depth (from the entry) of the shaft point closest to that bone."""


def _crop_around(
    ct: ImageVolume, start: npt.NDArray[np.float64], end: npt.NDArray[np.float64], margin_mm: float
) -> tuple[tuple[slice, slice, slice], npt.NDArray[np.float64]] | None:
    """The CT index box holding every point within ``margin_mm`` of the segment, and the
    affine of that box (None when the box misses the CT)."""
    lo, hi = np.minimum(start, end) - margin_mm, np.maximum(start, end) + margin_mm
    corners = np.array(
        [[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])]
    )
    ijk = ct.lps_to_index(corners)
    k, j, i = ct.shape
    first = np.maximum(np.floor(ijk.min(axis=0)), 0).astype(int)
    last = np.minimum(np.ceil(ijk.max(axis=0)), np.array([i, j, k]) - 1).astype(int)
    if np.any(first > last):
        return None
    box = (slice(first[2], last[2] + 1), slice(first[1], last[1] + 1), slice(first[0], last[0] + 1))
    aff = ct.affine.copy()
    aff[:3, 3] = ct.affine[:3, :3] @ first + ct.affine[:3, 3]
    return box, aff


def bone_clearance(
    ct: ImageVolume | None,
    path: PathSamples,
    *,
    bone_hu: float = DEFAULT_BONE_HU,
    bone_exclusion_mm: float = DEFAULT_BONE_EXCLUSION_MM,
    search_mm: float = BONE_SEARCH_MM,
) -> BoneClearance:
    """Distance from the needle shaft to the nearest bone on the CT.

    The *shaft* is the path from the entry up to ``bone_exclusion_mm`` before the target
    (the tip zone exempt from the bone check; the entry point alone when the path is
    shorter). The clearance is the exact distance from that segment to the centre of the
    nearest CT voxel above ``bone_hu`` (HU), anywhere in the CT. Bone within
    ``search_mm`` of the shaft is looked for first (a speed-up; the answer is the same).

    Returns
    -------
    BoneClearance
        ``(distance_mm, depth_mm)``; ``(None, None)`` without a CT, ``(inf, None)`` when no
        CT voxel exceeds ``bone_hu``.

    Raises
    ------
    PlanningError
        When ``ct`` is not a CT.
    """
    if ct is None:
        return BoneClearance(None, None)
    _require_ct(ct)
    shaft_mm = max(path.length_mm - bone_exclusion_mm, 0.0)
    end = path.entry_lps + shaft_mm * path.unit_lps
    crop = _crop_around(ct, path.entry_lps, end, search_mm)
    if crop is not None:
        box, aff = crop
        near = _distance_to_voxels(np.asarray(ct.array[box]) > bone_hu, aff, path, shaft_mm)
        if near[0] <= search_mm:
            return BoneClearance(*near)
    found = _distance_to_voxels(np.asarray(ct.array) > bone_hu, ct.affine, path, shaft_mm)
    return BoneClearance(*found) if math.isfinite(found[0]) else BoneClearance(math.inf, None)


@dataclass(frozen=True, slots=True)
class ScarFinding:
    """What `scar_near_path` found (mm, LPS mm).

    Attributes
    ----------
    distance_mm
        Distance from the path segment to the nearest scar voxel centre; None without
        masks, ``math.inf`` when they are empty.
    closest_depth_mm
        Depth of the path point closest to the scar (None unless the distance is finite).
    crosses, entry_depth_mm, entry_lps
        Whether a path sample's nearest voxel is scar, and the first such sample.
    notes
        The "crosses scar" caution (scar is not a hazard).
    """

    distance_mm: float | None = None
    closest_depth_mm: float | None = None
    crosses: bool = False
    entry_depth_mm: float | None = None
    entry_lps: tuple[float, float, float] | None = None
    notes: tuple[str, ...] = ()


def _scar_mask(
    n: int, mask: npt.NDArray[np.bool_], grid: GridLike
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64], str | None]:
    """Scar mask ``n`` checked against its grid: (mask, 4×4 affine, frame of reference)."""
    m = check_mask(mask, f"scar mask {n}")
    shape = grid_shape(grid)
    if shape is not None and tuple(m.shape) != tuple(shape):
        raise PlanningError(
            f"scar mask {n}: shape {tuple(m.shape)} differs from its grid {tuple(shape)}"
        )
    aff, frame = grid_affine(grid, f"scar mask {n} grid")
    return m, aff, frame


def _distance_to_voxels(
    mask: npt.NDArray[np.bool_],
    affine: npt.NDArray[np.float64],
    path: PathSamples,
    length_mm: float | None = None,
) -> tuple[float, float | None]:
    """(distance from the path segment to the nearest voxel centre of ``mask``, its depth).

    ``length_mm`` shortens the segment (entry to that depth; default the whole path).
    """
    flat = np.flatnonzero(mask)  # 1-D scan: far faster than np.nonzero on a 3-D array
    if not flat.size:
        return math.inf, None
    k, j, i = np.unravel_index(flat, mask.shape)
    ijk = np.stack([i, j, k], axis=1).astype(np.float64)
    rel = ijk @ affine[:3, :3].T + (affine[:3, 3] - path.entry_lps)  # voxel centre − entry
    along = rel @ path.unit_lps
    c = np.clip(along, 0.0, path.length_mm if length_mm is None else length_mm)
    # |rel − c·unit|² without the (n, 3) foot array; the minimum is recomputed exactly
    d2 = np.einsum("ij,ij->i", rel, rel) - 2.0 * c * along + c * c
    n = int(np.argmin(d2))
    return float(np.linalg.norm(rel[n] - c[n] * path.unit_lps)), float(c[n])


def _first_sample_in(
    mask: npt.NDArray[np.bool_], affine: npt.NDArray[np.float64], path: PathSamples
) -> int | None:
    """Index of the first path sample whose nearest voxel of ``mask`` is set, or None."""
    hit = sample_points(mask, path.points_lps, "nearest", affine=affine) == 1.0
    return int(np.argmax(hit)) if hit.any() else None


def scar_near_path(
    scar_masks: Sequence[tuple[npt.NDArray[np.bool_], GridLike]], path: PathSamples
) -> ScarFinding:
    """Closest approach of the path to scar, and where it first enters scar.

    Every scar voxel centre of every mask counts (exact segment distance); the path crosses
    scar when a path sample's nearest voxel is scar. Crossing scar is a caution (a note),
    not a hazard.

    Parameters
    ----------
    scar_masks
        ``(mask, grid)`` pairs: boolean ``[k, j, i]`` masks and their grid (4×4 affine
        (i, j, k, 1) → LPS mm, `MaskGrid` or `ImageVolume`), in the path's frame.
    path
        The sampled path (`path_samples`).
    """
    if not scar_masks:
        return ScarFinding()
    distance, depth, first = math.inf, None, None
    for n, (mask, grid) in enumerate(scar_masks):
        m, aff, _ = _scar_mask(n, mask, grid)
        dist, dist_depth = _distance_to_voxels(m, aff, path)
        if dist < distance:
            distance, depth = dist, dist_depth
        hit = _first_sample_in(m, aff, path)
        if hit is not None and (first is None or hit < first):
            first = hit
    if first is None:
        return ScarFinding(distance, depth)
    entry_depth = float(path.depths_mm[first])
    note = (
        f"crosses scar from depth {entry_depth:.1f} mm "
        f"({path.length_mm - entry_depth:.1f} mm before the target), "
        f"LPS {fmt_lps(path.points_lps[first])} mm"
    )
    return ScarFinding(distance, depth, True, entry_depth, _tup(path.points_lps[first]), (note,))


def landmark_clearances(
    landmarks: Sequence[Landmark], path: PathSamples, *, exclude_ids: Collection[str] = ()
) -> tuple[LandmarkClearance, ...]:
    """Clearance from the path segment to each landmark sphere's surface, in input order.

    The clearance is the exact distance from the segment (entry to target, not beyond) to
    the sphere's centre minus its radius (mm; negative inside). Landmarks whose id is in
    ``exclude_ids`` are reported with ``excluded=True``.
    """
    if not landmarks:
        return ()
    excluded = set(exclude_ids)
    centres = np.array([lm.position.lps for lm in landmarks], dtype=np.float64)
    depth = np.clip((centres - path.entry_lps) @ path.unit_lps, 0.0, path.length_mm)
    foot = path.entry_lps + depth[:, None] * path.unit_lps
    dist = np.linalg.norm(centres - foot, axis=1)
    return tuple(
        LandmarkClearance(
            landmark_id=lm.id,
            kind=lm.kind,
            level=lm.level,
            side=lm.side,
            radius_mm=float(lm.radius_mm),
            distance_mm=float(d - float(lm.radius_mm)),
            depth_mm=float(t),
            closest_point_lps=_tup(f),
            excluded=lm.id in excluded,
        )
        for lm, t, d, f in zip(landmarks, depth, dist, foot)
    )


def closest_active_landmark(
    clearances: Sequence[LandmarkClearance],
) -> LandmarkClearance | None:
    """The landmark not excluded with the smallest clearance (None when there is none)."""
    active = [c for c in clearances if not c.excluded]
    return min(active, key=lambda c: c.distance_mm) if active else None


def clearance_hazards(
    clearances: Sequence[LandmarkClearance], *, margin_mm: float, length_mm: float
) -> tuple[str, ...]:
    """One hazard per landmark not excluded that the path passes closer than ``margin_mm``.

    Closest first; "passes through" when the path enters the sphere (negative clearance).
    ``length_mm`` (the path length) words where it happens: mm before the target.
    """
    hazards = []
    for c in sorted((c for c in clearances if not c.excluded), key=lambda c: c.distance_mm):
        if c.distance_mm >= margin_mm:
            break
        where = (
            f"at depth {c.depth_mm:.1f} mm ({length_mm - c.depth_mm:.1f} mm before the target), "
            f"LPS {fmt_lps(c.closest_point_lps)} mm"
        )
        if c.distance_mm < 0:
            hazards.append(
                f"passes through {c.label} (id {c.landmark_id}): {-c.distance_mm:.1f} mm inside "
                f"its {c.radius_mm:.1f} mm radius {where}"
            )
        else:
            hazards.append(
                f"passes {c.distance_mm:.1f} mm from {c.label} (id {c.landmark_id}), closer than "
                f"the {margin_mm:.1f} mm margin, {where}"
            )
    return tuple(hazards)


def nearest_structures(
    clearances: Sequence[LandmarkClearance],
) -> tuple[LandmarkClearance, ...]:
    """The nearest landmark of each kind that is not excluded: nerve root, thecal sac,
    artery, other (in that order; kinds not marked are left out)."""
    nearest: dict[str, LandmarkClearance] = {}
    for c in clearances:
        if not c.excluded and (
            c.kind not in nearest or c.distance_mm < nearest[c.kind].distance_mm
        ):
            nearest[c.kind] = c
    order = {kind: n for n, kind in enumerate(_KIND_ORDER)}
    return tuple(sorted(nearest.values(), key=lambda c: order.get(c.kind, len(order))))


def unchecked_structures(
    checked: Iterable[tuple[float, str] | tuple[float, str, str | None, str | None]],
    *,
    ct_given: bool,
    reach_mm: float = ASSESSMENT_REACH_MM,
) -> tuple[str, ...]:
    """What a path was not checked against although its verdict needs it.

    A verdict needs, of each kind in `ASSESSMENT_STRUCTURES` (``"nerve_root"``,
    ``"thecal_sac"``), at least one marked structure the path was checked against that lies
    within ``reach_mm`` of the path (clearance ≤ ``ASSESSMENT_REACH_MM``, module docstring:
    a root or sac marked at another level says nothing about this path), and a CT for bone
    (``"bone"``). The root a root block aims at is spared, so it is not passed and does not
    count.

    Parameters
    ----------
    checked
        The marked structures the path was checked against, each ``(clearance mm, kind,
        ...)`` — e.g. the nearest of each kind (`nearest_structures` as `ClosestStructure`
        values, as the SR holds them): the nearest one decides whether any is within reach.
    ct_given
        Whether bone was checked on a CT.
    reach_mm
        The assessment reach (mm).
    """
    kinds = {c[1] for c in checked if c[0] <= reach_mm}
    missing = [kind for kind in ASSESSMENT_STRUCTURES if kind not in kinds]
    if not ct_given:
        missing.append("bone")
    return tuple(missing)


def safety_verdict(hazards: Sequence[str], unchecked: Sequence[str]) -> SafetyVerdict:
    """*Unsafe* when any hazard was found; else *not assessed* while something the verdict
    needs was not checked (`unchecked_structures`); else *safe*."""
    if hazards:
        return SafetyVerdict.UNSAFE
    if unchecked:
        return SafetyVerdict.NOT_ASSESSED
    return SafetyVerdict.SAFE


def _checked_inputs(
    entry_lps: PointLike,
    target_lps: PointLike,
    *,
    ct: ImageVolume | None,
    scar_masks: Sequence[tuple[npt.NDArray[np.bool_], GridLike]],
    landmarks: Sequence[Landmark],
    step_mm: float,
    margin_mm: float,
    bone_exclusion_mm: float,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Entry and target as LPS arrays, after checking parameters, inputs and frames."""
    entry, entry_frame = as_lps(entry_lps, "entry")
    target, target_frame = as_lps(target_lps, "target")
    if step_mm <= 0 or margin_mm < 0 or bone_exclusion_mm < 0:
        raise PlanningError(
            "evaluate_trajectory: step_mm must be > 0 and margin_mm, bone_exclusion_mm ≥ 0; "
            f"got step_mm={step_mm}, margin_mm={margin_mm}, "
            f"bone_exclusion_mm={bone_exclusion_mm}"
        )
    frames: list[tuple[str, str | None]] = [("entry", entry_frame), ("target", target_frame)]
    if ct is not None:
        _require_ct(ct)
        frames.append(("CT", ct.frame_of_reference_uid))
    for n, (mask, grid) in enumerate(scar_masks):
        frames.append((f"scar mask {n}", _scar_mask(n, mask, grid)[2]))
    frames.extend((f"landmark {lm.id}", lm.position.frame_of_reference_uid) for lm in landmarks)
    common_frame(frames)
    return entry, target


def evaluate_trajectory(
    entry_lps: PointLike,
    target_lps: PointLike,
    *,
    ct: ImageVolume | None = None,
    scar_masks: Sequence[tuple[npt.NDArray[np.bool_], GridLike]] = (),
    landmarks: Sequence[Landmark] = (),
    exclude_landmark_ids: Collection[str] = (),
    bone_hu: float = DEFAULT_BONE_HU,
    step_mm: float = DEFAULT_STEP_MM,
    bone_exclusion_mm: float = DEFAULT_BONE_EXCLUSION_MM,
    margin_mm: float = DEFAULT_MARGIN_MM,
    needle_lengths_mm: Sequence[float] = STANDARD_NEEDLE_LENGTHS_MM,
    needle_spare_mm: float = DEFAULT_NEEDLE_SPARE_MM,
) -> TrajectoryMetrics:
    """Measure a straight needle path from ``entry_lps`` to ``target_lps``.

    Conventions and rules are in the module docstring (angles, needle, bone, scar,
    landmarks, what makes a path unsafe); each rule is one of the steps listed there.

    Parameters
    ----------
    entry_lps, target_lps
        Skin entry and target: `PatientPoint` (frames checked) or ``(x, y, z)`` LPS mm.
    ct
        CT in Hounsfield units for the bone check; None skips it (with a warning).
    scar_masks
        ``(mask, grid)`` pairs: boolean ``[k, j, i]`` masks and their grid (4×4 affine
        (i, j, k, 1) → LPS mm, `MaskGrid` or `ImageVolume`), each on its own grid.
    landmarks
        Spheres to keep away from (nerve roots, thecal sac, arteries).
    exclude_landmark_ids
        Landmarks not to warn about (the root that is the target of an SNRB/TFESI); their
        clearance is still reported.
    bone_hu
        Bone threshold (HU).
    step_mm
        Sampling step along the path (mm).
    bone_exclusion_mm
        Path length before the target not checked for bone (mm).
    margin_mm
        Safety margin: smallest allowed distance from the path to a landmark's sphere
        surface (mm).
    needle_lengths_mm, needle_spare_mm
        Needle lengths to choose from and the length to keep spare (mm).

    Returns
    -------
    TrajectoryMetrics

    Raises
    ------
    PlanningError
        Entry and target closer than 1 mm, inputs from different frames of reference, a
        ``ct`` that is not a CT, a malformed mask, or invalid parameters.
    """
    entry, target = _checked_inputs(
        entry_lps,
        target_lps,
        ct=ct,
        scar_masks=scar_masks,
        landmarks=landmarks,
        step_mm=step_mm,
        margin_mm=margin_mm,
        bone_exclusion_mm=bone_exclusion_mm,
    )
    path = path_samples(entry, target, step_mm)
    needle, needle_note = needle_for_path(
        path.length_mm, needle_lengths_mm=needle_lengths_mm, spare_mm=needle_spare_mm
    )
    bone = bone_along_path(ct, path, bone_hu=bone_hu, bone_exclusion_mm=bone_exclusion_mm)
    clear = bone_clearance(ct, path, bone_hu=bone_hu, bone_exclusion_mm=bone_exclusion_mm)
    scar = scar_near_path(scar_masks, path)
    clearances = landmark_clearances(landmarks, path, exclude_ids=exclude_landmark_ids)
    hazards = _path_hazards(entry, target, bone, clearances, margin_mm, path.length_mm)
    notes = ([needle_note] if needle_note else []) + list(bone.notes) + list(scar.notes)
    return _metrics(path, needle, bone, clear, scar, clearances, hazards, tuple(notes))


def _path_hazards(
    entry: npt.NDArray[np.float64],
    target: npt.NDArray[np.float64],
    bone: BoneFinding,
    clearances: Sequence[LandmarkClearance],
    margin_mm: float,
    length_mm: float,
) -> tuple[str, ...]:
    """What makes the path unsafe, in the module docstring's order: a posterior approach,
    bone crossed, a landmark within the margin."""
    posterior = posterior_approach_hazard(entry, target)
    return (
        *([posterior] if posterior else []),
        *bone.hazards,
        *clearance_hazards(clearances, margin_mm=margin_mm, length_mm=length_mm),
    )


def _metrics(
    path: PathSamples,
    needle_mm: float | None,
    bone: BoneFinding,
    clear: BoneClearance,
    scar: ScarFinding,
    clearances: tuple[LandmarkClearance, ...],
    hazards: tuple[str, ...],
    notes: tuple[str, ...],
) -> TrajectoryMetrics:
    """The findings of the steps as `TrajectoryMetrics`, with the verdict."""
    angles = c_arm_angles(path.entry_lps, path.target_lps)
    nearest = nearest_structures(clearances)
    unchecked = unchecked_structures(
        [(c.distance_mm, c.kind) for c in nearest], ct_given=clear.distance_mm is not None
    )
    return TrajectoryMetrics(
        entry_lps=_tup(path.entry_lps),
        target_lps=_tup(path.target_lps),
        direction_lps=_tup(path.unit_lps),
        path_length_mm=path.length_mm,
        suggested_needle_mm=needle_mm,
        oblique_deg=angles.oblique_deg,
        oblique_side=angles.oblique_side,
        tilt_deg=angles.tilt_deg,
        tilt_direction=angles.tilt_direction,
        bone_checked=bone.checked,
        crosses_bone=bone.crosses,
        first_bone_depth_mm=bone.first_depth_mm,
        first_bone_lps=bone.first_lps,
        first_bone_hu=bone.first_hu,
        scar_distance_mm=scar.distance_mm,
        scar_closest_depth_mm=scar.closest_depth_mm,
        crosses_scar=scar.crosses,
        scar_entry_depth_mm=scar.entry_depth_mm,
        scar_entry_lps=scar.entry_lps,
        bone_clearance_mm=clear.distance_mm,
        bone_clearance_depth_mm=clear.depth_mm,
        landmarks=clearances,
        closest_landmark=closest_active_landmark(clearances),
        nearest_structures=nearest,
        unchecked=unchecked,
        verdict=safety_verdict(hazards, unchecked),
        hazards=hazards,
        warnings=hazards + notes,
    )
