"""`ImageVolume`: a voxel array with its exact place in DICOM patient space.

Conventions (used everywhere in blockplan):

* ``array`` is indexed ``array[k, j, i]``: slice ``k``, row ``j``, column ``i``.
* ``affine`` is a 4×4 matrix mapping the homogeneous voxel index ``(i, j, k, 1)``
  (column, row, slice) to DICOM patient coordinates ``(x, y, z, 1)`` in LPS, millimetres.
  Column 0 is the step along a row (``ImageOrientationPatient[:3] × PixelSpacing[1]``),
  column 1 the step down a column (``ImageOrientationPatient[3:] × PixelSpacing[0]``),
  column 2 the step from slice to slice (which is not necessarily orthogonal to the
  other two: a gantry-tilted series keeps its sheared affine unless it was resampled),
  column 3 the position of voxel (0, 0, 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["INTERPOLATED_MARK", "ImageVolume", "WindowPreset", "interpolated_statement"]

INTERPOLATED_MARK = " (interpolated)"
"""Follows the name of a series resampled onto regular spacing wherever it is shown: the
napari layer, the report's key-image captions and the SR (`interpolated_statement`)."""


def interpolated_statement(series_label: str) -> str:
    """The sentence the archive states about a series resampled onto regular spacing,
    e.g. ``"CT series 4 (interpolated): resampled onto a regular grid …"``."""
    return (
        f"{series_label}{INTERPOLATED_MARK}: resampled onto a regular grid (a missing "
        "slice or irregular spacing); voxels between the acquired slices are interpolated"
    )


@dataclass(frozen=True, slots=True)
class WindowPreset:
    """A display window in output units (HU for CT)."""

    name: str
    center: float
    width: float


@dataclass(frozen=True, slots=True, eq=False)
class ImageVolume:
    """A 3-D image in DICOM patient space (LPS, mm).

    Parameters
    ----------
    array
        Voxel values indexed ``[k, j, i]`` (slice, row, column), already rescaled
        (Hounsfield units for CT).
    affine
        4×4 float64 matrix mapping ``(i, j, k, 1)`` to LPS millimetres.
    frame_of_reference_uid
        FrameOfReferenceUID shared by all images of the volume.
    modality
        DICOM Modality (``"CT"``, ``"MR"``, …).
    series_instance_uid, series_number, series_description
        Identify the source series (never patient-identifying).
    study_instance_uid
        StudyInstanceUID of the source study.
    sop_instance_uids
        SOPInstanceUID of each slice ``k`` (for multi-frame: the one instance, repeated).
    windows
        Display windows from the headers (or modality defaults).
    geometry_note
        How the geometry was obtained, e.g. ``"regular"``, ``"sheared (gantry tilt 15.0°)"``,
        ``"resampled to regular spacing 1.25 mm"``.
    warnings
        Messages of every deviation met while loading (also emitted as warnings).
    metadata
        Other non-identifying header values later stages use (e.g. ``"Manufacturer"``,
        ``"KVP"``, ``"TransferSyntaxUID"``).
    """

    array: npt.NDArray[Any]
    affine: npt.NDArray[np.float64]
    frame_of_reference_uid: str
    modality: str
    series_instance_uid: str
    study_instance_uid: str = ""
    series_number: int | None = None
    series_description: str = ""
    sop_instance_uids: tuple[str, ...] = ()
    windows: tuple[WindowPreset, ...] = ()
    geometry_note: str = "regular"
    warnings: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.array.ndim != 3:
            raise ValueError(
                f"ImageVolume array must be 3-D [k, j, i]; got shape {self.array.shape}"
            )
        aff = np.asarray(self.affine, dtype=np.float64)
        if aff.shape != (4, 4) or not np.allclose(aff[3], [0, 0, 0, 1]):
            raise ValueError("ImageVolume affine must be 4×4 with last row (0, 0, 0, 1)")
        if abs(np.linalg.det(aff[:3, :3])) < 1e-9:
            raise ValueError("ImageVolume affine is singular (zero spacing or parallel axes)")
        object.__setattr__(self, "affine", aff)

    @property
    def is_interpolated(self) -> bool:
        """Whether slices were interpolated onto regular spacing (a gap or irregular
        spacing loaded with ``allow_gaps=True``): say so wherever the volume is shown."""
        return "resampled to regular spacing" in self.geometry_note

    @property
    def interpolated_mark(self) -> str:
        """``" (interpolated)"`` for an interpolated volume, else ``""``: appended to its name
        wherever it is shown (napari layer, report key-image captions)."""
        return INTERPOLATED_MARK if self.is_interpolated else ""

    # -- shape and spacing -----------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int, int]:
        """``(slices, rows, columns)``."""
        k, j, i = self.array.shape
        return int(k), int(j), int(i)

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Length in mm of one step along i (column), j (row) and k (slice)."""
        n = np.linalg.norm(self.affine[:3, :3], axis=0)
        return float(n[0]), float(n[1]), float(n[2])

    @property
    def direction(self) -> npt.NDArray[np.float64]:
        """3×3 matrix whose columns are the unit vectors of i, j and k in LPS."""
        result: npt.NDArray[np.float64] = self.affine[:3, :3] / np.linalg.norm(
            self.affine[:3, :3], axis=0
        )
        return result

    @property
    def is_orthogonal(self) -> bool:
        """True when the slice axis is perpendicular to the image plane (no shear)."""
        d = self.direction
        return bool(abs(float(np.dot(np.cross(d[:, 0], d[:, 1]), d[:, 2]))) > 1 - 1e-6)

    # -- coordinate conversion -------------------------------------------------------
    def index_to_lps(self, ijk: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Map voxel indices ``(i, j, k)`` (shape ``(3,)`` or ``(n, 3)``) to LPS mm."""
        pts = np.asarray(ijk, dtype=np.float64)
        one = pts.ndim == 1
        pts = np.atleast_2d(pts)
        out = pts @ self.affine[:3, :3].T + self.affine[:3, 3]
        return out[0] if one else out

    def lps_to_index(self, xyz: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Map LPS mm points (``(3,)`` or ``(n, 3)``) to fractional voxel indices ``(i, j, k)``."""
        pts = np.asarray(xyz, dtype=np.float64)
        one = pts.ndim == 1
        pts = np.atleast_2d(pts)
        inv = np.linalg.inv(self.affine)
        out = pts @ inv[:3, :3].T + inv[:3, 3]
        result: npt.NDArray[np.float64] = out[0] if one else out
        return result

    def contains_lps(self, xyz: npt.ArrayLike, margin: float = 0.5) -> bool:
        """True when the LPS point lies inside the voxel grid (± ``margin`` voxels)."""
        ijk = self.lps_to_index(xyz)
        k, j, i = self.shape
        upper = np.array([i, j, k], dtype=np.float64) - 1 + margin
        return bool(np.all(ijk >= -margin) and np.all(ijk <= upper))

    def sample_lps(self, xyz: npt.ArrayLike, order: int = 1) -> npt.NDArray[np.float64]:
        """Values at LPS points (``(n, 3)``, mm), nearest (order 0) or trilinear (order 1).

        Points outside the grid give NaN (for trilinear: outside the hull of the voxel
        centres). A thin wrapper of `blockplan.io.resample.sample_points`, whose docstring
        states the rules.
        """
        from blockplan.io.resample import sample_points

        if order not in (0, 1):
            raise ValueError(f"order must be 0 (nearest) or 1 (trilinear); got {order}")
        return sample_points(self, xyz, "nearest" if order == 0 else "linear")

    def voxel_volume_ml(self) -> float:
        """Volume of one voxel in millilitres (1 mL = 1000 mm³)."""
        return float(abs(np.linalg.det(self.affine[:3, :3])) / 1000.0)

    def with_array(self, array: npt.NDArray[Any], **changes: Any) -> ImageVolume:
        """A copy with another array (same grid) and optional field changes."""
        fields = {f: getattr(self, f) for f in self.__dataclass_fields__}
        fields.update(array=array, **changes)
        return ImageVolume(**fields)
