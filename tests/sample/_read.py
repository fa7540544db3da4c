"""A tiny independent reader of the sample series (pydicom only, no blockplan.io)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pydicom


@dataclass(frozen=True)
class Stack:
    """Pixel values ``[k, j, i]`` (rescaled) in InstanceNumber order and their affine."""

    array: npt.NDArray[np.float64]
    affine: npt.NDArray[np.float64]

    def sample(self, xyz: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Nearest-voxel values at LPS points ``(n, 3)`` (NaN outside)."""
        pts = np.atleast_2d(np.asarray(xyz, dtype=np.float64))
        inv = np.linalg.inv(self.affine)
        ijk = np.rint(pts @ inv[:3, :3].T + inv[:3, 3]).astype(int)
        out = np.full(len(pts), np.nan)
        shape = np.array(self.array.shape[::-1])
        ok = np.all((ijk >= 0) & (ijk < shape), axis=1)
        out[ok] = self.array[ijk[ok, 2], ijk[ok, 1], ijk[ok, 0]]
        return out


def read_stack(folder: Path) -> Stack:
    """Read a single-frame series folder (files sorted by InstanceNumber)."""
    dss = sorted((pydicom.dcmread(p) for p in folder.glob("*.dcm")), key=lambda d: d.InstanceNumber)
    arr = np.stack([d.pixel_array for d in dss]).astype(np.float64)
    slope = float(getattr(dss[0], "RescaleSlope", 1.0))
    intercept = float(getattr(dss[0], "RescaleIntercept", 0.0))
    iop = np.array(dss[0].ImageOrientationPatient, dtype=np.float64)
    row_mm, col_mm = (float(v) for v in dss[0].PixelSpacing)
    p0 = np.array(dss[0].ImagePositionPatient, dtype=np.float64)
    p1 = np.array(dss[1].ImagePositionPatient, dtype=np.float64)
    affine = np.eye(4)
    affine[:3, 0] = iop[:3] * col_mm
    affine[:3, 1] = iop[3:] * row_mm
    affine[:3, 2] = p1 - p0
    affine[:3, 3] = p0
    return Stack(arr * slope + intercept, affine)
