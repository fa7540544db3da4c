"""The one resampler: images and masks onto any voxel grid, and values at points.

Conventions (those of `blockplan.io.ImageVolume`): arrays are indexed ``[k, j, i]``;
an affine is a 4×4 matrix mapping the voxel index ``(i, j, k, 1)`` to DICOM patient
coordinates (LPS, mm). Its columns need not be orthogonal: a gantry-tilted series keeps
its sheared affine. A target grid is ``(to_affine, to_shape)``; a 2-D plane is a grid of
shape ``(1, rows, cols)`` whose affine's columns are the LPS step from column to column,
from row to row, and any third vector (e.g. the plane normal).

Rules (the same for grids and for points)
-----------------------------------------
* **nearest**: the value of the voxel whose centre is nearest in index space, ties
  rounded up (``floor(x + 0.5)``, ITK's rule); outside when that voxel is not in the
  array (index outside ``[−0.5, n − 0.5)`` on an axis).
* **linear**: trilinear between the eight voxel centres around the point, defined on
  the hull of the voxel centres: index within ``[0, n − 1]`` on every axis (± 1e-6
  voxel); a point beyond it, even by less than half a voxel, is outside.
* Outside points get ``fill``: NaN by default for linear (float32 output) and for float
  images, 0 (False) for integer images and masks with nearest.

How
---
Grids are resampled with SimpleITK (``sitk.Resample``) with both images in *index*
space (origin 0, spacing 1, identity direction) and the mapping between them an
``sitk.AffineTransform`` from output index to source index, ``from_affine⁻¹ ·
to_affine``. A SimpleITK image's direction cannot hold a shear; the transform can, so
sheared source and target grids resample exactly. The source is first cropped to the
box the target reaches (one voxel of margin), so a plane through a large volume costs
what the plane costs. A target grid whose axes run along the source axes (an axial plane
of an axial CT: the index map is a scaled permutation) is resampled one axis at a time
with numpy instead, by the same rules and to the same values, several times faster.
highdicom's ``Volume`` was the alternative; it permutes, flips, pads and crops but does
not interpolate.

Points are sampled with numpy gathers (`sample_points`), by the same rules: a
trajectory check samples a few hundred points on every edit, which must not copy the
volume into SimpleITK.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from blockplan.extras import import_extra
from blockplan.io.volume import ImageVolume

__all__ = ["Order", "index_map", "resample_image", "resample_mask", "sample_points"]

Order = Literal["linear", "nearest"]
"""Interpolation: ``"linear"`` (trilinear) or ``"nearest"`` (nearest voxel centre)."""

_EDGE_TOL = 1e-6  # voxels: linear samples this close outside the centre hull count as inside
_SNAP = 1e-9  # index-map entries this close to an integer are made exact


def _affine(affine: npt.ArrayLike, name: str) -> npt.NDArray[np.float64]:
    aff = np.asarray(affine, dtype=np.float64)
    last = aff[3].tolist() if aff.shape == (4, 4) else [math.nan]
    if len(last) != 4 or max(abs(last[0]), abs(last[1]), abs(last[2]), abs(last[3] - 1)) > 1e-8:
        raise ValueError(
            f"{name}: expected a 4×4 affine (i, j, k, 1) → LPS mm with last row (0, 0, 0, 1); "
            f"got shape {aff.shape}"
        )
    if abs(np.linalg.det(aff[:3, :3])) < 1e-12:
        raise ValueError(f"{name}: the affine is singular (zero spacing or parallel axes)")
    return aff


def _source(
    image: ImageVolume | npt.ArrayLike, affine: npt.ArrayLike | None
) -> tuple[npt.NDArray[Any], npt.NDArray[np.float64]]:
    """The array ``[k, j, i]`` and affine of an `ImageVolume` or of an array + affine."""
    if isinstance(image, ImageVolume):
        if affine is not None:
            raise ValueError("pass either an ImageVolume or an array with its affine, not both")
        return image.array, image.affine
    if affine is None:
        raise ValueError("an array needs its affine (i, j, k, 1) → LPS mm")
    arr = np.asarray(image)
    if arr.ndim != 3:
        raise ValueError(f"expected a 3-D array [k, j, i]; got shape {arr.shape}")
    return arr, _affine(affine, "source affine")


def index_map(from_affine: npt.ArrayLike, to_affine: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """The 4×4 map from target voxel index to source voxel index, ``from⁻¹ · to``.

    Entries within 1e-9 of an integer are made exact, so grids related by an axis
    permutation, flips and an integer offset map voxel centres onto voxel centres exactly.
    """
    m = np.asarray(
        np.linalg.solve(_affine(from_affine, "from_affine"), _affine(to_affine, "to_affine")),
        dtype=np.float64,
    )
    near = np.abs(m - np.rint(m)) < _SNAP
    m[near] = np.rint(m[near])
    return m


def _shape(to_shape: tuple[int, ...]) -> tuple[int, int, int]:
    if len(to_shape) != 3 or min(to_shape) < 1:
        raise ValueError(f"to_shape must be (k, j, i) with each ≥ 1; got {tuple(to_shape)}")
    k, j, i = (int(n) for n in to_shape)
    return k, j, i


def _fill_for(dtype: np.dtype[Any], order: Order, fill: float | None) -> float:
    floating = np.issubdtype(dtype, np.floating)
    if fill is None:
        return math.nan if order == "linear" or floating else 0.0
    if order == "nearest" and not floating and math.isnan(fill):
        raise ValueError(f"fill NaN needs a float image with nearest; got dtype {dtype}")
    return float(fill)


def _crop_box(
    m: npt.NDArray[np.float64], to_shape: tuple[int, int, int], size_ijk: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Source index box ``[lo, hi)`` (i, j, k) the target grid reaches, one voxel of margin."""
    k, j, i = to_shape
    corners = np.array(
        [[a, b, c] for a in (0, i - 1) for b in (0, j - 1) for c in (0, k - 1)], dtype=np.float64
    )
    reach = corners @ m[:3, :3].T + m[:3, 3]
    lo = np.clip(np.floor(reach.min(axis=0)).astype(np.int64) - 1, 0, size_ijk)
    hi = np.clip(np.floor(reach.max(axis=0)).astype(np.int64) + 2, 0, size_ijk)
    return lo, hi


def _linear_inside(
    m: npt.NDArray[np.float64], to_shape: tuple[int, int, int], size_ijk: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """Target voxels ``[k, j, i]`` whose source index lies in the hull of the voxel centres.

    Along a target row the source index is affine in ``i``, so each row's valid ``i`` form
    one interval, found per row from the six bounding half-spaces.
    """
    k_n, j_n, i_n = to_shape
    kk, jj = np.meshgrid(np.arange(k_n), np.arange(j_n), indexing="ij")
    lower = np.full((k_n, j_n), -np.inf)
    upper = np.full((k_n, j_n), np.inf)
    for a in range(3):
        base = m[a, 1] * jj + m[a, 2] * kk + m[a, 3]
        lo_a, hi_a = -_EDGE_TOL, size_ijk[a] - 1 + _EDGE_TOL
        step = m[a, 0]
        if step == 0:
            ok = (base >= lo_a) & (base <= hi_a)
            upper = np.where(ok, upper, -np.inf)
            continue
        b0, b1 = (lo_a - base) / step, (hi_a - base) / step
        lower = np.maximum(lower, np.minimum(b0, b1))
        upper = np.minimum(upper, np.maximum(b0, b1))
    ii = np.arange(i_n)
    result: npt.NDArray[np.bool_] = (ii >= np.ceil(lower)[..., None]) & (
        ii <= np.floor(upper)[..., None]
    )
    return result


def _separable_axes(m: npt.NDArray[np.float64]) -> list[int] | None:
    """For target axes i, j, k the one source axis each moves along; None when oblique."""
    moves = m[:3, :3] != 0  # index_map made near-zero entries exact
    if not (moves.sum(axis=0) == 1).all() or not (moves.sum(axis=1) == 1).all():
        return None
    return [int(np.argmax(moves[:, t])) for t in range(3)]


def _resample_separable(
    arr: npt.NDArray[Any],
    m: npt.NDArray[np.float64],
    axes: list[int],
    to_shape: tuple[int, int, int],
    order: Order,
) -> tuple[npt.NDArray[Any], npt.NDArray[np.bool_]]:
    """Resampling one axis at a time, for grids along the source axes; (values, inside).

    Same rules and values as the general path (float32 arithmetic for linear); the axis
    that shrinks most goes first, so an axial plane of an axial CT blends two slices once.
    """
    sizes = arr.shape[::-1]  # along i, j, k
    counts = to_shape[::-1]
    out = arr
    inside: list[npt.NDArray[np.bool_]] = [np.ones(0, dtype=bool)] * 3
    for t in sorted(range(3), key=lambda t: counts[t] / sizes[axes[t]]):
        a, n = 2 - axes[t], sizes[axes[t]]  # array axis and size along the source axis
        p = m[axes[t], t] * np.arange(counts[t]) + m[axes[t], 3]
        if order == "nearest":
            idx = np.floor(p + 0.5).astype(np.int64)
            inside[t] = (idx >= 0) & (idx < n)
            out = np.take(out, np.clip(idx, 0, n - 1), axis=a)
            continue
        inside[t] = (p >= -_EDGE_TOL) & (p <= n - 1 + _EDGE_TOL)
        q = np.clip(p, 0, n - 1)
        lo = np.minimum(np.floor(q), max(n - 2, 0)).astype(np.int64)
        f = (q - lo).astype(np.float32).reshape([-1 if d == a else 1 for d in range(3)])
        below = np.take(out, lo, axis=a).astype(np.float32, copy=False)  # float after taking
        above = np.take(out, np.minimum(lo + 1, n - 1), axis=a).astype(np.float32, copy=False)
        out = below * (1 - f) + above * f
    out = np.transpose(out, [2 - axes[2], 2 - axes[1], 2 - axes[0]])  # to target [k, j, i]
    ok = inside[2][:, None, None] & inside[1][None, :, None] & inside[0][None, None, :]
    return out, ok


def _sitk_resample(
    crop: npt.NDArray[Any],
    m: npt.NDArray[np.float64],
    to_shape: tuple[int, int, int],
    order: Order,
    fill: float,
) -> npt.NDArray[Any]:
    """SimpleITK resampling of ``crop`` onto the target index grid through ``m``."""
    sitk = import_extra("SimpleITK", "imaging", "resampling onto an oblique or tilted grid")

    source = sitk.GetImageFromArray(crop)  # index space: origin 0, spacing 1, identity
    transform = sitk.AffineTransform(3)  # target index (as physical point) → source index
    transform.SetMatrix(m[:3, :3].ravel().tolist())
    transform.SetTranslation(m[:3, 3].tolist())
    k, j, i = to_shape
    out = sitk.Resample(
        source,
        [i, j, k],
        transform,
        sitk.sitkLinear if order == "linear" else sitk.sitkNearestNeighbor,
        (0.0, 0.0, 0.0),
        (1.0, 1.0, 1.0),
        (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0),
        fill,
        source.GetPixelID(),
    )
    return np.asarray(sitk.GetArrayFromImage(out))


def resample_image(
    image: ImageVolume | npt.ArrayLike,
    to_affine: npt.ArrayLike,
    to_shape: tuple[int, int, int],
    *,
    from_affine: npt.ArrayLike | None = None,
    order: Order = "linear",
    fill: float | None = None,
) -> npt.NDArray[Any]:
    """An image resampled onto another grid of the same frame of reference.

    Parameters
    ----------
    image
        An `ImageVolume`, or an array ``[k, j, i]`` with ``from_affine``.
    to_affine
        4×4 affine (i, j, k, 1) → LPS mm of the target grid (any: oblique, sheared, or a
        plane of shape ``(1, rows, cols)``).
    to_shape
        ``(k, j, i)`` of the target grid.
    from_affine
        The array's affine (only with a bare array).
    order
        ``"linear"`` (trilinear; float32 out) or ``"nearest"`` (the source dtype).
    fill
        Value outside the source (module docstring for the default and what is outside).

    Returns
    -------
    numpy.ndarray
        Array of ``to_shape``.
    """
    arr, src_aff = _source(image, from_affine)
    shape = _shape(to_shape)
    if order not in ("linear", "nearest"):
        raise ValueError(f"order must be 'linear' or 'nearest'; got {order!r}")
    out_dtype = np.dtype(np.float32) if order == "linear" else arr.dtype
    value = _fill_for(out_dtype, order, fill)
    m = index_map(src_aff, _affine(to_affine, "to_affine"))
    axes = _separable_axes(m)
    if axes is not None:
        values, inside = _resample_separable(arr, m, axes, shape, order)
        out = np.where(inside, values, value).astype(out_dtype, copy=False)
        return np.ascontiguousarray(out)
    size = np.array(arr.shape[::-1], dtype=np.int64)
    lo, hi = _crop_box(m, shape, size)
    if np.any(hi <= lo):
        return np.full(shape, value, dtype=out_dtype)
    crop = arr[lo[2] : hi[2], lo[1] : hi[1], lo[0] : hi[0]]
    crop = np.ascontiguousarray(crop, dtype=np.uint8 if arr.dtype == np.bool_ else out_dtype)
    shifted = m.copy()
    shifted[:3, 3] -= lo
    out = _sitk_resample(crop, shifted, shape, order, value).astype(out_dtype, copy=False)
    if order == "linear":
        out[~_linear_inside(m, shape, size)] = value
    return out


def _bounding_box(mask: npt.NDArray[np.bool_]) -> tuple[npt.NDArray[np.int64], ...] | None:
    """``(lo, hi)`` inclusive index bounds ``(i, j, k)`` of the set voxels, None when empty."""
    bounds = []
    for axis in (2, 1, 0):  # i, j, k
        hit = np.flatnonzero(mask.any(axis=tuple(a for a in range(3) if a != axis)))
        if not hit.size:
            return None
        bounds.append((hit[0], hit[-1]))
    lo, hi = zip(*bounds)
    return np.array(lo, dtype=np.int64), np.array(hi, dtype=np.int64)


def resample_mask(
    mask: npt.ArrayLike,
    from_affine: npt.ArrayLike,
    to_affine: npt.ArrayLike,
    to_shape: tuple[int, int, int],
) -> npt.NDArray[np.bool_]:
    """A boolean mask moved onto another grid by nearest neighbour (module docstring).

    Each target voxel takes the value of the source voxel whose centre is nearest to its
    own centre in index space: exact for grids related by permutations, flips and integer
    offsets; otherwise the volume changes by partial voxels at the boundary. Only the
    target box around the set voxels is resampled.

    Parameters
    ----------
    mask
        Boolean array ``[k, j, i]``.
    from_affine, to_affine
        4×4 affines (i, j, k, 1) → LPS mm of the mask's grid and of the target grid.
    to_shape
        ``(k, j, i)`` of the target grid.

    Returns
    -------
    numpy.ndarray
        Boolean array of ``to_shape``.
    """
    m = np.asarray(mask, dtype=bool)
    shape = _shape(to_shape)
    src_aff, dst_aff = _affine(from_affine, "from_affine"), _affine(to_affine, "to_affine")
    if m.ndim != 3:
        raise ValueError(f"expected a 3-D mask [k, j, i]; got shape {m.shape}")
    out = np.zeros(shape, dtype=bool)
    box = _bounding_box(m)
    if box is None:
        return out
    edges = [(box[0][a] - 0.5, box[1][a] + 0.5) for a in range(3)]  # voxel faces, i j k
    corners = np.array(list(itertools.product(*edges)), dtype=np.float64)
    back = np.linalg.inv(index_map(src_aff, dst_aff))  # source index → target index
    reach = corners @ back[:3, :3].T + back[:3, 3]
    size = np.array(shape[::-1], dtype=np.int64)
    lo = np.clip(np.floor(reach.min(axis=0)).astype(np.int64) - 1, 0, size)
    hi = np.clip(np.ceil(reach.max(axis=0)).astype(np.int64) + 2, 0, size)
    if np.any(hi <= lo):
        return out
    sub = dst_aff.copy()
    sub[:3, 3] = dst_aff[:3, :3] @ lo + dst_aff[:3, 3]
    sub_shape = (int(hi[2] - lo[2]), int(hi[1] - lo[1]), int(hi[0] - lo[0]))
    part = resample_image(m, sub, sub_shape, from_affine=src_aff, order="nearest", fill=0)
    out[lo[2] : hi[2], lo[1] : hi[1], lo[0] : hi[0]] = part
    return out


def sample_points(
    image: ImageVolume | npt.ArrayLike,
    lps_points: npt.ArrayLike,
    order: Order = "linear",
    *,
    affine: npt.ArrayLike | None = None,
) -> npt.NDArray[np.float64]:
    """Values at LPS points (mm), by the rules of the module docstring; NaN outside.

    Parameters
    ----------
    image
        An `ImageVolume`, or an array ``[k, j, i]`` with ``affine``.
    lps_points
        Points ``(n, 3)`` (or one ``(3,)``), LPS mm.
    order
        ``"linear"`` (trilinear) or ``"nearest"``.
    affine
        The array's affine (only with a bare array).

    Returns
    -------
    numpy.ndarray
        float64 ``(n,)``.
    """
    arr, aff = _source(image, affine)
    pts = np.atleast_2d(np.asarray(lps_points, dtype=np.float64))
    inv = np.linalg.inv(aff)
    ijk = pts @ inv[:3, :3].T + inv[:3, 3]
    size = np.array(arr.shape[::-1], dtype=np.int64)
    out = np.full(len(pts), np.nan)
    if order == "nearest":
        idx = np.floor(ijk + 0.5).astype(np.int64)
        ok = np.all((idx >= 0) & (idx < size), axis=1)
        out[ok] = arr[idx[ok, 2], idx[ok, 1], idx[ok, 0]]
        return out
    if order != "linear":
        raise ValueError(f"order must be 'linear' or 'nearest'; got {order!r}")
    ok = np.all((ijk >= -_EDGE_TOL) & (ijk <= size - 1 + _EDGE_TOL), axis=1)
    p = np.clip(ijk[ok], 0, size - 1)
    lo = np.minimum(np.floor(p), size - 2).clip(min=0).astype(np.int64)
    f = p - lo
    hi = np.minimum(lo + 1, size - 1)
    acc = np.zeros(len(p))
    for di in (0, 1):
        wi = f[:, 0] if di else 1 - f[:, 0]
        ii = hi[:, 0] if di else lo[:, 0]
        for dj in (0, 1):
            wij = wi * (f[:, 1] if dj else 1 - f[:, 1])
            jj = hi[:, 1] if dj else lo[:, 1]
            for dk in (0, 1):
                w = wij * (f[:, 2] if dk else 1 - f[:, 2])
                acc += w * arr[hi[:, 2] if dk else lo[:, 2], jj, ii]
    out[ok] = acc
    return out
