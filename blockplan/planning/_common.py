"""Small helpers shared by the planning modules: points, frames of reference, grids."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from blockplan.case.model import MaskGrid, PatientPoint
from blockplan.errors import PlanningError
from blockplan.io.volume import ImageVolume

PointLike = PatientPoint | npt.ArrayLike
"""An LPS point in mm: a `PatientPoint` (frame checked) or three numbers (frame unknown)."""

GridLike = MaskGrid | ImageVolume | npt.ArrayLike
"""A voxel grid: a `MaskGrid`, an `ImageVolume`, or a bare 4×4 (i, j, k, 1) → LPS affine."""


def as_lps(point: PointLike, name: str) -> tuple[npt.NDArray[np.float64], str | None]:
    """A point as a float64 array ``[x, y, z]`` (LPS mm) and its frame of reference (or None)."""
    if isinstance(point, PatientPoint):
        return point.as_array(), point.frame_of_reference_uid
    arr = np.asarray(point, dtype=np.float64)
    if arr.shape != (3,):
        raise PlanningError(
            f"{name}: expected one LPS point (x, y, z) in mm; got an array of shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise PlanningError(f"{name}: coordinates must be finite numbers (mm); got {arr.tolist()}")
    return arr, None


def common_frame(frames: Iterable[tuple[str, str | None]]) -> str | None:
    """The one frame of reference of named inputs (None when no input names one).

    Raises
    ------
    PlanningError
        When two inputs name different FrameOfReferenceUIDs.
    """
    seen: dict[str, str] = {}
    for source, uid in frames:
        if uid is None or uid == "":
            continue
        seen.setdefault(uid, source)
    if len(seen) > 1:
        listing = "; ".join(f"{src}: {uid}" for uid, src in seen.items())
        raise PlanningError(
            "inputs lie in different frames of reference (" + listing + "); positions of "
            "different frames cannot be combined: use series of one frame of reference or "
            "register them first"
        )
    return next(iter(seen), None)


def grid_affine(grid: GridLike, name: str) -> tuple[npt.NDArray[np.float64], str | None]:
    """The 4×4 affine and frame of reference of a grid given in any of the `GridLike` forms."""
    if isinstance(grid, ImageVolume):
        return grid.affine, grid.frame_of_reference_uid
    if isinstance(grid, MaskGrid):
        return grid.affine_array(), grid.frame_of_reference_uid
    aff = np.asarray(grid, dtype=np.float64)
    # plain float comparisons: np.allclose costs more than the rest of a trajectory check
    if aff.shape != (4, 4) or np.abs(aff[3] - (0.0, 0.0, 0.0, 1.0)).max() > 1e-8:
        raise PlanningError(
            f"{name}: expected a 4×4 affine (i, j, k, 1) → LPS mm with last row (0, 0, 0, 1); "
            f"got shape {aff.shape}"
        )
    if abs(np.linalg.det(aff[:3, :3])) < 1e-9:
        raise PlanningError(f"{name}: the affine is singular (zero spacing or parallel axes)")
    return aff, None


def grid_shape(grid: GridLike) -> tuple[int, int, int] | None:
    """Shape ``(k, j, i)`` of a `MaskGrid` or `ImageVolume`; None for a bare affine."""
    if isinstance(grid, ImageVolume):
        return grid.shape
    if isinstance(grid, MaskGrid):
        return grid.shape
    return None


def check_mask(mask: Any, name: str) -> npt.NDArray[np.bool_]:
    """A 3-D boolean array ``[k, j, i]`` (refuses anything else)."""
    arr = np.asarray(mask)
    if arr.ndim != 3:
        raise PlanningError(f"{name}: expected a 3-D mask [k, j, i]; got shape {arr.shape}")
    if arr.dtype != np.bool_:
        raise PlanningError(
            f"{name}: expected a boolean mask; got dtype {arr.dtype} "
            "(use mask > 0 or mask == label)"
        )
    return arr


def fmt_lps(p: npt.ArrayLike) -> str:
    """``"(x, y, z)"`` with one decimal, for messages."""
    x, y, z = (float(v) for v in np.asarray(p, dtype=np.float64))
    return f"({x:.1f}, {y:.1f}, {z:.1f})"
