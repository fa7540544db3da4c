"""The one place that maps between DICOM patient space and napari.

napari world coordinates are DICOM patient coordinates (LPS, mm) in the order
``(z, y, x)`` — superior, posterior, left — so that the default 2-D view of an axial
series shows the patient in radiological convention (patient left on screen right,
anterior at the top). Points are converted with `lps_to_world` / `world_to_lps`;
nothing else in the plugin knows the axis order.

A volume is shown with a diagonal (scale + translate) transform, because napari cannot
slice rotated or sheared layers in 2-D. Volumes whose axes are world-aligned up to a
permutation and flips are reoriented exactly (transpose/flip, no interpolation); oblique
or gantry-tilted volumes are resampled onto a world-aligned grid covering them, and the
layer metadata says so.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from blockplan.io.resample import resample_image
from blockplan.io.volume import ImageVolume

__all__ = [
    "display_grid",
    "display_volume",
    "image_layer_data",
    "lps_to_world",
    "world_to_lps",
]

_ALIGNED_TOL = 1e-4  # direction cosines closer than this to 0/±1 count as axis-aligned


def lps_to_world(lps: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """LPS points ``(..., 3)`` as ``(x, y, z)`` → napari world ``(z, y, x)``."""
    return np.asarray(lps, dtype=np.float64)[..., ::-1].copy()


def world_to_lps(world: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """napari world points ``(..., 3)`` as ``(z, y, x)`` → LPS ``(x, y, z)``."""
    return np.asarray(world, dtype=np.float64)[..., ::-1].copy()


def _axis_aligned(volume: ImageVolume) -> bool:
    d = volume.direction
    return bool(np.all((np.abs(d) < _ALIGNED_TOL) | (np.abs(np.abs(d) - 1) < _ALIGNED_TOL)))


def display_grid(
    affine: npt.NDArray[np.float64], shape: tuple[int, int, int]
) -> tuple[npt.NDArray[np.float64], tuple[int, int, int]]:
    """The world-aligned grid (affine, shape ``(k, j, i)``) napari shows a grid on.

    Its i, j, k axes run along +x, +y, +z. An axis-aligned grid keeps its voxels (the same
    centres, permuted and flipped); any other grid gets the bounding box of its corners
    at its finest spacing — the grid `display_volume` resamples oblique series onto.
    """
    aff = np.asarray(affine, dtype=np.float64)
    k, j, i = shape
    corners = np.array(
        [[a, b, c] for a in (0, i - 1) for b in (0, j - 1) for c in (0, k - 1)], dtype=float
    )
    lps = corners @ aff[:3, :3].T + aff[:3, 3]
    lo, hi = lps.min(axis=0), lps.max(axis=0)
    spacing = np.linalg.norm(aff[:3, :3], axis=0)
    d = aff[:3, :3] / spacing
    if np.all((np.abs(d) < _ALIGNED_TOL) | (np.abs(np.abs(d) - 1) < _ALIGNED_TOL)):
        steps = np.array([spacing[int(np.argmax(np.abs(d[w])))] for w in range(3)])
        size = np.rint((hi - lo) / steps).astype(int) + 1
    else:
        steps = np.full(3, float(spacing.min()))
        size = np.maximum(np.ceil((hi - lo) / steps).astype(int) + 1, 1)
    out = np.eye(4)
    out[:3, :3] = np.diag(steps)
    out[:3, 3] = lo
    return out, (int(size[2]), int(size[1]), int(size[0]))


def display_volume(volume: ImageVolume) -> tuple[ImageVolume, str]:
    """A volume whose i, j, k axes run along +x, +y, +z, and how it was obtained.

    Returns the reoriented (exact) or resampled volume and ``"reoriented"``,
    ``"identity"`` or ``"resampled"``.
    """
    if _axis_aligned(volume):
        d = volume.direction
        # which array axis (k, j, i order → 0, 1, 2) runs along LPS z, y, x
        src_for_world = [int(np.argmax(np.abs(d[w]))) for w in (2, 1, 0)]  # ijk index 0..2
        # ijk index a -> array axis (2 - a)
        perm = [2 - a for a in src_for_world]
        arr = np.transpose(volume.array, perm)
        aff = volume.affine.copy()
        ijk_cols = [a for a in src_for_world[::-1]]  # new i, j, k from old ijk indices
        new = np.eye(4)
        new[:3, :3] = aff[:3, ijk_cols]
        new[:3, 3] = aff[:3, 3]
        shape_ijk = arr.shape[::-1]
        flips = []
        for axis in range(3):
            if new[axis, axis] < 0:
                new[:3, 3] = new[:3, 3] + new[:3, axis] * (shape_ijk[axis] - 1)
                new[:3, axis] = -new[:3, axis]
                flips.append(2 - axis)
        if flips:
            arr = np.flip(arr, axis=tuple(flips))
        how = "identity" if perm == [0, 1, 2] and not flips else "reoriented"
        return volume.with_array(np.ascontiguousarray(arr), affine=new), how
    return _resample_world_aligned(volume), "resampled"


def _resample_world_aligned(volume: ImageVolume) -> ImageVolume:
    """The volume trilinearly resampled onto an isotropic grid along +x, +y, +z covering it.

    The step is the smallest voxel spacing (`display_grid`); outside the source the minimum
    value shows.
    """
    aff, shape = display_grid(volume.affine, volume.shape)
    step = float(aff[0, 0])
    arr = resample_image(volume, aff, shape, order="linear", fill=float(np.min(volume.array)))
    note = f"{volume.geometry_note}; resampled to a {step:.2f} mm world-aligned grid for display"
    return volume.with_array(arr, affine=aff, geometry_note=note)


def image_layer_data(
    volume: ImageVolume, *, name: str | None = None
) -> tuple[Any, dict[str, Any], str]:
    """napari ``LayerDataTuple`` of a volume, placed in world = LPS ``(z, y, x)`` mm."""
    shown, how = display_volume(volume)
    sx, sy, sz = shown.spacing
    origin = shown.affine[:3, 3]
    window = shown.windows[0] if shown.windows else None
    if window is not None:
        clim = (window.center - window.width / 2, window.center + window.width / 2)
    else:
        lo, hi = np.percentile(shown.array, [1, 99]) if shown.array.size else (0, 1)
        clim = (float(lo), float(hi) if hi > lo else float(lo) + 1)
    label = name or (
        f"{shown.modality} {shown.series_number or ''} {shown.series_description}".strip()
    )
    kwargs: dict[str, Any] = {
        "name": label,
        "scale": (sz, sy, sx),
        "translate": (float(origin[2]), float(origin[1]), float(origin[0])),
        "contrast_limits": clim,
        "colormap": "gray",
        "blending": "translucent" if shown.modality == "CT" else "additive",
        "metadata": {
            "blockplan": {
                "role": "image",
                "series_instance_uid": shown.series_instance_uid,
                "frame_of_reference_uid": shown.frame_of_reference_uid,
                "modality": shown.modality,
                "display_transform": how,
                "geometry_note": shown.geometry_note,
                "windows": [(w.name, w.center, w.width) for w in shown.windows],
            },
            "blockplan_volume": volume,
        },
    }
    return shown.array, kwargs, "image"
