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
  cranio-caudal axis away from the true PA projection: the angle between the path projected
  on the axial plane and the sagittal plane. ``oblique_side`` names the side the image
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
* **Scar**: the distance reported is the exact distance from the path segment to the
  nearest scar *voxel centre* (every scar voxel is considered); the distance to the scar's
  voxel surface is at most half a voxel diagonal less. The path *crosses* scar when a path
  sample's nearest voxel is scar. Crossing scar is a caution, not
  a hazard: it is listed in ``warnings`` but does not make the path unsafe.
* **Landmarks** (nerve roots, thecal sac, arteries, marked as spheres): the clearance is the
  exact distance from the path segment to the sphere's surface (negative inside it).

``safe`` is False when the path crosses bone, passes closer than ``margin_mm`` to a
landmark that is not excluded (the root that *is* the target of an SNRB/TFESI is passed in
``exclude_landmark_ids``), enters from anterior to the target, or could not be checked for
bone over its whole length although a CT was given (part of it outside the CT).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from blockplan.case.model import Landmark
from blockplan.case.vocab import Laterality
from blockplan.errors import PlanningError
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
    "DEFAULT_BONE_EXCLUSION_MM",
    "DEFAULT_BONE_HU",
    "DEFAULT_MARGIN_MM",
    "DEFAULT_NEEDLE_SPARE_MM",
    "DEFAULT_STEP_MM",
    "STANDARD_NEEDLE_LENGTHS_MM",
    "LandmarkClearance",
    "TiltDirection",
    "TrajectoryMetrics",
    "evaluate_trajectory",
    "needle_label",
    "suggest_needle_mm",
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


_EPS_MM = 1e-9
_MIN_PATH_MM = 1.0


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
        C-arm rotation about the cranio-caudal axis from true PA, and the side the image
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
    landmarks
        Clearance to every landmark, in input order.
    closest_landmark
        The non-excluded landmark with the smallest clearance (None when there is none).
    safe
        No hazard found (see the module docstring for what counts).
    warnings
        One message per finding (hazards first), each saying what and where in mm.
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
    landmarks: tuple[LandmarkClearance, ...]
    closest_landmark: LandmarkClearance | None
    safe: bool
    warnings: tuple[str, ...]

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


def _segment_foot(
    points: npt.NDArray[np.float64],
    entry: npt.NDArray[np.float64],
    unit: npt.NDArray[np.float64],
    length: float,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Depth of each point's closest path point (clamped to the segment) and the distance."""
    depth = np.clip((points - entry) @ unit, 0.0, length)
    foot = entry + depth[:, None] * unit
    return depth, np.linalg.norm(points - foot, axis=1)


def _scar_search(
    mask: npt.NDArray[np.bool_],
    affine: npt.NDArray[np.float64],
    entry: npt.NDArray[np.float64],
    unit: npt.NDArray[np.float64],
    length: float,
    samples: npt.NDArray[np.float64],
) -> tuple[float, float | None, int | None]:
    """(distance to the nearest scar voxel centre or inf, its depth, first sample in scar)."""
    flat = np.flatnonzero(mask)  # 1-D scan: far faster than np.nonzero on a 3-D array
    distance, depth = math.inf, None
    if flat.size:
        k, j, i = np.unravel_index(flat, mask.shape)
        ijk = np.stack([i, j, k], axis=1).astype(np.float64)
        rel = ijk @ affine[:3, :3].T + (affine[:3, 3] - entry)  # voxel centre − entry
        along = rel @ unit
        c = np.clip(along, 0.0, length)
        # |rel − c·unit|² without the (n, 3) foot array; the minimum is recomputed exactly
        d2 = np.einsum("ij,ij->i", rel, rel) - 2.0 * c * along + c * c
        n = int(np.argmin(d2))
        distance = float(np.linalg.norm(rel[n] - c[n] * unit))
        depth = float(c[n])
    inv = np.linalg.inv(affine)
    idx = np.rint(samples @ inv[:3, :3].T + inv[:3, 3]).astype(np.int64)
    ok = np.all((idx >= 0) & (idx < np.array(mask.shape[::-1])), axis=1)
    hit = np.zeros(len(samples), dtype=bool)
    hit[ok] = mask[idx[ok, 2], idx[ok, 1], idx[ok, 0]]
    first = int(np.argmax(hit)) if hit.any() else None
    return distance, depth, first


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
    landmarks, what makes a path unsafe).

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
        if ct.modality.upper() != "CT":
            raise PlanningError(
                f"the bone check needs a CT in Hounsfield units; series "
                f"{ct.series_number if ct.series_number is not None else ct.series_instance_uid}"
                f" is {ct.modality or 'of unknown modality'}: pass the CT, or ct=None"
            )
        frames.append(("CT", ct.frame_of_reference_uid))
    masks: list[tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]]] = []
    for n, (mask, grid) in enumerate(scar_masks):
        m = check_mask(mask, f"scar mask {n}")
        shape = grid_shape(grid)
        if shape is not None and tuple(m.shape) != tuple(shape):
            raise PlanningError(
                f"scar mask {n}: shape {tuple(m.shape)} differs from its grid {tuple(shape)}"
            )
        aff, frame = grid_affine(grid, f"scar mask {n} grid")
        frames.append((f"scar mask {n}", frame))
        masks.append((m, aff))
    frames.extend((f"landmark {lm.id}", lm.position.frame_of_reference_uid) for lm in landmarks)
    common_frame(frames)

    vec = target - entry
    length = float(np.linalg.norm(vec))
    if length < _MIN_PATH_MM:
        raise PlanningError(
            f"entry {fmt_lps(entry)} and target {fmt_lps(target)} mm are {length:.2f} mm "
            f"apart (at least {_MIN_PATH_MM:.0f} mm needed): move the entry point to the skin"
        )
    unit = vec / length
    hazards: list[str] = []
    notes: list[str] = []

    # --- C-arm angles (v points from the target to the entry) -----------------------------
    v = -vec
    oblique = math.degrees(math.atan2(abs(v[0]), v[1]))
    if v[0] > _EPS_MM:
        oblique_side = Laterality.LEFT
    elif v[0] < -_EPS_MM:
        oblique_side = Laterality.RIGHT
    else:
        oblique_side = Laterality.MIDLINE
    tilt = math.degrees(math.atan2(abs(v[2]), math.hypot(v[0], v[1])))
    if v[2] > _EPS_MM:
        tilt_dir = TiltDirection.CRANIAL
    elif v[2] < -_EPS_MM:
        tilt_dir = TiltDirection.CAUDAL
    else:
        tilt_dir = TiltDirection.NONE
    if v[1] <= 0:
        hazards.append(
            f"entry {fmt_lps(entry)} lies {-v[1]:.1f} mm anterior to the target "
            f"{fmt_lps(target)} mm (LPS y): not a posterior approach; check entry and target"
        )

    # --- needle ---------------------------------------------------------------------------
    needle = suggest_needle_mm(
        length, needle_lengths_mm=needle_lengths_mm, spare_mm=needle_spare_mm
    )
    if needle is None:
        longest = max(needle_lengths_mm) if len(needle_lengths_mm) else 0.0
        notes.append(
            f"path {length:.1f} mm + {needle_spare_mm:.0f} mm spare is longer than the longest "
            f"needle listed ({longest:.1f} mm)"
        )

    # --- samples --------------------------------------------------------------------------
    n_samples = max(2, math.ceil(length / step_mm) + 1)
    depths = np.linspace(0.0, length, n_samples)
    samples = entry + depths[:, None] * unit

    # --- bone -----------------------------------------------------------------------------
    crosses_bone: bool | None = None
    bone_checked = False
    first_bone_depth = first_bone_hu = None
    first_bone_lps = None
    if ct is None:
        notes.append("no CT given: bone crossing not checked")
    else:
        check = depths <= length - bone_exclusion_mm
        hu = ct.sample_lps(samples[check], order=1)
        outside = np.isnan(hu)
        bone = np.zeros(len(hu), dtype=bool)
        bone[~outside] = hu[~outside] > bone_hu
        crosses_bone = bool(bone.any())
        bone_checked = not outside.any()
        if outside.any():
            d_out = depths[check][outside]
            hazards.append(
                f"the path lies outside the CT from depth {d_out.min():.1f} to "
                f"{d_out.max():.1f} mm (of {length:.1f} mm): bone not checked there"
            )
        if crosses_bone:
            n = int(np.argmax(bone))
            first_bone_depth = float(depths[n])
            first_bone_hu = float(hu[n])
            first_bone_lps = _tup(samples[n])
            hazards.append(
                f"crosses bone (CT {first_bone_hu:.0f} HU > {bone_hu:.0f} HU) at depth "
                f"{first_bone_depth:.1f} mm from the entry, {length - first_bone_depth:.1f} mm "
                f"before the target, LPS {fmt_lps(samples[n])} mm"
            )

    # --- scar -----------------------------------------------------------------------------
    scar_distance: float | None = None
    scar_depth: float | None = None
    scar_first: int | None = None
    for mask, aff in masks:
        dist, depth, first = _scar_search(mask, aff, entry, unit, length, samples)
        if scar_distance is None or dist < scar_distance:
            scar_distance, scar_depth = dist, depth
        if first is not None and (scar_first is None or first < scar_first):
            scar_first = first
    crosses_scar = scar_first is not None
    scar_entry_depth = float(depths[scar_first]) if scar_first is not None else None
    scar_entry_lps = _tup(samples[scar_first]) if scar_first is not None else None
    if scar_first is not None:
        notes.append(
            f"crosses scar from depth {depths[scar_first]:.1f} mm "
            f"({length - depths[scar_first]:.1f} mm before the target), "
            f"LPS {fmt_lps(samples[scar_first])} mm"
        )

    # --- landmarks ------------------------------------------------------------------------
    excluded = set(exclude_landmark_ids)
    clearances: list[LandmarkClearance] = []
    if landmarks:
        centres = np.array([lm.position.lps for lm in landmarks], dtype=np.float64)
        radii = np.array([lm.radius_mm for lm in landmarks], dtype=np.float64)
        l_depth, l_dist = _segment_foot(centres, entry, unit, length)
        for lm, depth, dist, radius in zip(landmarks, l_depth, l_dist, radii):
            clearances.append(
                LandmarkClearance(
                    landmark_id=lm.id,
                    kind=lm.kind,
                    level=lm.level,
                    side=lm.side,
                    radius_mm=float(radius),
                    distance_mm=float(dist - radius),
                    depth_mm=float(depth),
                    closest_point_lps=_tup(entry + depth * unit),
                    excluded=lm.id in excluded,
                )
            )
    active = [c for c in clearances if not c.excluded]
    closest = min(active, key=lambda c: c.distance_mm) if active else None
    for c in sorted(active, key=lambda c: c.distance_mm):
        if c.distance_mm >= margin_mm:
            break
        where = (
            f"at depth {c.depth_mm:.1f} mm ({length - c.depth_mm:.1f} mm before the target), "
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

    return TrajectoryMetrics(
        entry_lps=_tup(entry),
        target_lps=_tup(target),
        direction_lps=_tup(unit),
        path_length_mm=length,
        suggested_needle_mm=needle,
        oblique_deg=oblique,
        oblique_side=oblique_side,
        tilt_deg=tilt,
        tilt_direction=tilt_dir,
        bone_checked=bone_checked,
        crosses_bone=crosses_bone,
        first_bone_depth_mm=first_bone_depth,
        first_bone_lps=first_bone_lps,
        first_bone_hu=first_bone_hu,
        scar_distance_mm=scar_distance,
        scar_closest_depth_mm=scar_depth if scar_distance not in (None, math.inf) else None,
        crosses_scar=crosses_scar,
        scar_entry_depth_mm=scar_entry_depth,
        scar_entry_lps=scar_entry_lps,
        landmarks=tuple(clearances),
        closest_landmark=closest,
        safe=not hazards,
        warnings=tuple(hazards + notes),
    )
