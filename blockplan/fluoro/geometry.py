"""C-arm geometry: one 3×4 projection matrix from LPS mm to detector pixels.

A view is a cone beam from a point **source** (the X-ray tube) through the patient onto a
flat **detector** (image intensifier or flat panel) perpendicular to the central ray.
Every position is in DICOM patient coordinates (LPS, mm: +x patient left, +y posterior,
+z superior).

* ``beam`` — the unit vector of the central ray, from the source towards the detector.
  With the patient prone and the tube under the table (the convention of
  `blockplan.planning.trajectory`), the straight AP view has ``beam = (0, 1, 0)``
  (posterior → anterior; called AP as the field calls it).
* the **isocentre** — the point the C-arm turns about; blockplan puts it at the target.
  The source lies ``source_isocentre_mm`` before it on the central ray, the detector
  ``source_detector_mm`` from the source.
* detector pixels ``(column, row)``; the principal point (foot of the central ray) is the
  centre of the detector, ``((columns − 1) / 2, (rows − 1) / 2)``; rows run down the image.
  Image **up** is the patient's head (+z) projected on the detector (the patient's
  posterior, +y, for a beam along the long axis); image **right** is ``beam × up``: on the
  AP view (beam posterior → anterior) the patient's left is on the image's right, as
  radiographs are read.

The projection matrix ``P = K [R | −R·source]`` maps a homogeneous LPS point ``(x, y, z, 1)``
to ``(w·column, w·row, w)``, with ``R`` the rows ``(right, down, beam)`` and ``K`` the
pinhole ``[[f, 0, c0], [0, f, r0], [0, 0, 1]]``, ``f = source_detector_mm / pixel_mm``.
A point at depth ``w`` (mm from the source along the beam) is magnified ``SDD / w``; the
isocentre plane by ``source_detector_mm / source_isocentre_mm``.

Defaults: source–detector 1 000 mm (mobile C-arms, DOMAIN §10), source–isocentre 600 mm
(verify against the local C-arm; configurable), a 512 × 512 detector of 0.6 mm pixels
(307 mm square, the field of a 12-inch intensifier).

Decision support, not a medical device.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from blockplan.errors import PlanningError

__all__ = [
    "DEFAULT_DETECTOR_PX",
    "DEFAULT_PIXEL_MM",
    "DEFAULT_SOURCE_DETECTOR_MM",
    "DEFAULT_SOURCE_ISOCENTRE_MM",
    "CArmGeometry",
    "DetectorSpec",
]

DEFAULT_SOURCE_DETECTOR_MM = 1000.0
"""Source–detector distance of a mobile C-arm (mm; DOMAIN §10)."""

DEFAULT_SOURCE_ISOCENTRE_MM = 600.0
"""Source–isocentre distance (mm; verify against the local C-arm)."""

DEFAULT_DETECTOR_PX = 512
"""Detector columns and rows."""

DEFAULT_PIXEL_MM = 0.6
"""Detector pixel pitch (mm)."""


@dataclass(frozen=True, slots=True)
class DetectorSpec:
    """The source–detector set-up and the detector's size and pixel pitch.

    Parameters
    ----------
    source_detector_mm
        Source–detector distance (SDD, mm).
    source_isocentre_mm
        Source–isocentre distance (mm); less than ``source_detector_mm``.
    columns, rows
        Detector size in pixels.
    pixel_mm
        Pixel pitch (mm, square pixels).
    """

    source_detector_mm: float = DEFAULT_SOURCE_DETECTOR_MM
    source_isocentre_mm: float = DEFAULT_SOURCE_ISOCENTRE_MM
    columns: int = DEFAULT_DETECTOR_PX
    rows: int = DEFAULT_DETECTOR_PX
    pixel_mm: float = DEFAULT_PIXEL_MM

    def __post_init__(self) -> None:
        if not 0 < self.source_isocentre_mm < self.source_detector_mm:
            raise PlanningError(
                f"C-arm: source–isocentre {self.source_isocentre_mm:g} mm must lie between 0 "
                f"and the source–detector distance {self.source_detector_mm:g} mm: "
                "correct --sid-mm or --sdd-mm"
            )
        if not (0 < self.columns <= 4096 and 0 < self.rows <= 4096):
            raise PlanningError(
                f"C-arm: detector {self.columns} × {self.rows} px; expected 1–4096 per side"
            )
        if not 0 < self.pixel_mm <= 10:
            raise PlanningError(f"C-arm: pixel pitch {self.pixel_mm:g} mm; expected 0–10 mm")

    @property
    def magnification(self) -> float:
        """Magnification of the isocentre plane, ``SDD / source–isocentre``."""
        return self.source_detector_mm / self.source_isocentre_mm


def _unit(v: npt.ArrayLike, name: str) -> npt.NDArray[np.float64]:
    a = np.asarray(v, dtype=np.float64).reshape(3)
    n = float(np.linalg.norm(a))
    if not np.isfinite(n) or n < 1e-9:
        raise PlanningError(f"C-arm: {name} {a.tolist()} has no direction")
    return a / n


def image_axes(beam: npt.ArrayLike) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The detector's ``(right, down)`` unit vectors (LPS) for a beam direction.

    Up is the patient's head (+z) made perpendicular to the beam; for a beam within 0.5°
    of the long axis, the patient's back (+y). Right is ``beam × up``, down ``−up``.
    """
    b = _unit(beam, "beam")
    ref = np.array([0.0, 0.0, 1.0]) if abs(b[2]) < 0.99996 else np.array([0.0, 1.0, 0.0])
    up = ref - float(ref @ b) * b
    up /= np.linalg.norm(up)
    return np.cross(b, up), -up


@dataclass(frozen=True, slots=True, eq=False)
class CArmGeometry:
    """One C-arm position: source, detector and the 3×4 projection matrix.

    Build with `CArmGeometry.from_beam`. Attributes are LPS mm unless named otherwise.
    """

    isocentre_lps: npt.NDArray[np.float64]
    beam: npt.NDArray[np.float64]
    right: npt.NDArray[np.float64]
    down: npt.NDArray[np.float64]
    detector: DetectorSpec

    @classmethod
    def from_beam(
        cls, isocentre_lps: npt.ArrayLike, beam: npt.ArrayLike, detector: DetectorSpec
    ) -> CArmGeometry:
        """The C-arm turned so that its central ray runs along ``beam`` through the
        isocentre (source towards detector)."""
        b = _unit(beam, "beam")
        right, down = image_axes(b)
        iso = np.asarray(isocentre_lps, dtype=np.float64).reshape(3)
        return cls(iso, b, right, down, detector)

    @property
    def source_lps(self) -> npt.NDArray[np.float64]:
        """The focal spot: ``source_isocentre_mm`` before the isocentre on the central ray."""
        src: npt.NDArray[np.float64] = (
            self.isocentre_lps - self.detector.source_isocentre_mm * self.beam
        )
        return src

    @property
    def principal_point(self) -> tuple[float, float]:
        """``(column, row)`` of the central ray on the detector."""
        return (self.detector.columns - 1) / 2.0, (self.detector.rows - 1) / 2.0

    @property
    def focal_px(self) -> float:
        """Source–detector distance in pixels (the pinhole's focal length)."""
        return self.detector.source_detector_mm / self.detector.pixel_mm

    @property
    def projection_matrix(self) -> npt.NDArray[np.float64]:
        """The 3×4 matrix ``K [R | −R·source]`` from homogeneous LPS mm to detector pixels."""
        c0, r0 = self.principal_point
        f = self.focal_px
        k = np.array([[f, 0.0, c0], [0.0, f, r0], [0.0, 0.0, 1.0]])
        rot = np.vstack([self.right, self.down, self.beam])
        rt = np.hstack([rot, (-rot @ self.source_lps)[:, None]])
        result: npt.NDArray[np.float64] = k @ rt
        return result

    def project(self, points_lps: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Detector ``(column, row)`` of LPS points (``(3,)`` or ``(n, 3)``), by the
        projection matrix. Points at or behind the source give NaN."""
        pts = np.asarray(points_lps, dtype=np.float64)
        one = pts.ndim == 1
        pts = np.atleast_2d(pts)
        h = np.hstack([pts, np.ones((len(pts), 1))]) @ self.projection_matrix.T
        w = h[:, 2:3]
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(w > 1e-9, h[:, :2] / np.where(w > 1e-9, w, 1.0), np.nan)
        return out[0] if one else out

    def magnification_at(self, point_lps: npt.ArrayLike) -> float:
        """Magnification of a point: SDD over its depth from the source along the beam."""
        depth = float((np.asarray(point_lps, dtype=np.float64) - self.source_lps) @ self.beam)
        return self.detector.source_detector_mm / depth

    def ray_directions(
        self, columns: npt.ArrayLike, rows: npt.ArrayLike
    ) -> npt.NDArray[np.float64]:
        """Unit LPS directions from the source through detector pixels (broadcast
        ``columns`` against ``rows``); shape ``(..., 3)``."""
        c0, r0 = self.principal_point
        p = self.detector.pixel_mm
        cols = (np.asarray(columns, dtype=np.float64) - c0) * p
        rws = (np.asarray(rows, dtype=np.float64) - r0) * p
        cols, rws = np.broadcast_arrays(cols, rws)
        d = (
            cols[..., None] * self.right
            + rws[..., None] * self.down
            + self.detector.source_detector_mm * self.beam
        )
        result: npt.NDArray[np.float64] = d / np.linalg.norm(d, axis=-1, keepdims=True)
        return result
