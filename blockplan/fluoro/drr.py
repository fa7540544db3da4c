"""Digitally reconstructed radiographs: line integrals of attenuation along the cone beam.

The attenuation of a voxel comes from its CT number, ``μ = μ_water · (1 + HU / 1000)``
(DOMAIN §10), with air clipped: a voxel below −1 000 HU (the padding outside the scan
field) counts as air, ``μ = 0``. The **bone-enhanced** option adds
``μ_water · bone_gain · max(HU − bone_hu, 0) / 1000`` so that cortex and pedicles stand out
from soft tissue. A pixel's value is the line integral ``L = ∫ μ ds`` (dimensionless) along
the ray from the source to that detector pixel (`CArmGeometry`); the transmitted intensity
is ``exp(−L)``. `to_display` windows ``L`` to 8-bit grey, dense = dark as fluoroscopy shows
it (or dense = bright).

How it is computed (Joseph's method with a shear–warp factorisation, Lacroute & Levoy
1994): the CT slices are taken along the voxel axis most parallel to the beam. Each ray
crosses every slice once; the attenuation there is interpolated bilinearly in that slice
and the sum of those samples, times the ray's length per slice, is the line integral
(trilinear sampling along the ray at one sample per slice). Because every slice is
parallel to one reference slice, the point where a ray meets slice ``n`` is the point where
it meets the reference slice, scaled about the source's foot point by a factor of that
slice: every slice is resampled onto the reference slice by two 1-D interpolations (rows,
then columns) and summed there. One 2-D warp, exact by the projection matrix, takes that
sum to the detector pixels. Slices are read in place (no copy of the volume), so memory is
the volume plus a few slice-sized buffers and the slice-to-grid maps (computed for every
slice at once: one row per slice and axis).

Decision support, not a medical device.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from blockplan.errors import PlanningError
from blockplan.fluoro.geometry import CArmGeometry
from blockplan.io.volume import ImageVolume

__all__ = [
    "BODY_LINE_INTEGRAL",
    "DEFAULT_BONE_GAIN",
    "DEFAULT_BONE_HU",
    "DEFAULT_MU_WATER_PER_MM",
    "DrrFunction",
    "DrrOptions",
    "compute_drr",
    "to_display",
]

DEFAULT_MU_WATER_PER_MM = 0.02
"""Linear attenuation of water at a fluoroscopic effective energy of about 60 keV
(0.0206 /mm at 60 keV, NIST XCOM; verify for the local beam quality)."""

DEFAULT_BONE_HU = 150.0
"""CT number above which the bone-enhanced option adds attenuation."""

DEFAULT_BONE_GAIN = 2.0
"""Extra attenuation per HU above `DEFAULT_BONE_HU`, in units of water's per HU."""

_AIR_HU = -1000.0

BODY_LINE_INTEGRAL = 0.5
"""Line integral above which a ray counts as passing through the body (≈ 25 mm of water)
when the display window is chosen."""


@dataclass(frozen=True, slots=True)
class DrrOptions:
    """How attenuation is taken from the CT.

    Parameters
    ----------
    mu_water_per_mm
        ``μ_water`` (1/mm).
    bone_enhanced
        Add the bone term (module docstring).
    bone_hu, bone_gain
        Threshold (HU) and gain of the bone term.
    oversample
        Samples per voxel of the intermediate (reference-slice) image, 1–4; 2 sharpens the
        image at four times the cost of that step.
    voxel_step
        Use every n-th voxel along each axis (1–4): a quick, coarser preview (about n³
        times faster; the report's thumbnails use 2).
    """

    mu_water_per_mm: float = DEFAULT_MU_WATER_PER_MM
    bone_enhanced: bool = False
    bone_hu: float = DEFAULT_BONE_HU
    bone_gain: float = DEFAULT_BONE_GAIN
    oversample: int = 1
    voxel_step: int = 1

    def __post_init__(self) -> None:
        if not 0 < self.mu_water_per_mm < 1:
            raise PlanningError(f"DRR: μ_water {self.mu_water_per_mm:g}/mm; expected 0–1/mm")
        if self.oversample not in (1, 2, 3, 4):
            raise PlanningError(f"DRR: oversample {self.oversample}; expected 1, 2, 3 or 4")
        if self.voxel_step not in (1, 2, 3, 4):
            raise PlanningError(f"DRR: voxel step {self.voxel_step}; expected 1, 2, 3 or 4")


@dataclass(frozen=True, slots=True)
class _Slab:
    """The volume seen from the source: slices along ``axis`` (index space)."""

    axis: int  # voxel axis (0 = i, 1 = j, 2 = k) the slices are stacked along
    cols: int  # in-plane voxel axis of the slice's columns
    rows: int  # in-plane voxel axis of the slice's rows
    source: npt.NDArray[np.float64]  # the source in voxel index space (i, j, k)
    ref: float  # the reference slice (index along ``axis``)


def _choose_slab(volume: ImageVolume, geometry: CArmGeometry) -> _Slab:
    inv = np.linalg.inv(volume.affine)
    src = inv[:3, :3] @ geometry.source_lps + inv[:3, 3]
    iso = inv[:3, :3] @ geometry.isocentre_lps + inv[:3, 3]
    d = iso - src
    step = np.abs(d) / np.linalg.norm(volume.affine[:3, :3] @ d)  # index steps per mm
    axis = int(np.argmax(step * np.asarray(volume.spacing)))
    size = (volume.shape[2], volume.shape[1], volume.shape[0])[axis]
    if -0.5 <= src[axis] <= size - 0.5:
        raise PlanningError(
            f"DRR: the X-ray source lies inside series {volume.series_number}'s volume "
            f"(source–isocentre {geometry.detector.source_isocentre_mm:g} mm is too short "
            "for this CT): increase the source–isocentre distance"
        )
    others = sorted({0, 1, 2} - {axis})
    ref = float(np.clip(np.rint(iso[axis]), 0, size - 1))
    return _Slab(axis, others[0], others[1], src, ref)


def _every_nth_voxel(volume: ImageVolume, n: int) -> ImageVolume:
    """A view of every n-th voxel along each axis (no copy), on its own grid."""
    affine = volume.affine.copy()
    affine[:3, :3] *= n
    return volume.with_array(volume.array[::n, ::n, ::n], affine=affine)


def _attenuation(hu: npt.NDArray[Any], options: DrrOptions) -> npt.NDArray[np.float32]:
    """HU → ``(max(HU, −1000) + 1000)`` (+ the bone term), in units of ``μ_water / 1000``."""
    q = hu.astype(np.float32)
    if options.bone_enhanced:
        bone = np.maximum(q - np.float32(options.bone_hu), 0.0)
        bone *= np.float32(options.bone_gain)
    np.maximum(q, np.float32(_AIR_HU), out=q)
    q += np.float32(-_AIR_HU)
    if options.bone_enhanced:
        q += bone
    return q


@dataclass(frozen=True, slots=True)
class _AxisMaps:
    """Where every slice samples the reference grid along one axis. Slice ``n`` covers
    grid ``[lo[n], hi[n])`` (nothing where ``hi <= lo``: its shadow misses the grid) and
    reads there the slice's voxels ``first[n] + lower[n]`` and ``first[n] + upper[n]``
    (``upper = lower + 1`` but in a one-voxel slice), the upper weighted ``weight[n]``;
    ``last[n]`` is the last voxel it reads below. One row per slice: a slice's map is a
    few views of these rows, not arrays of its own."""

    lo: list[int]
    hi: list[int]
    first: list[int]
    last: list[int]
    lower: npt.NDArray[np.intp]
    upper: npt.NDArray[np.intp]
    weight: npt.NDArray[np.float32]


def _axis_maps(
    grid: npt.NDArray[np.float64], scales: npt.NDArray[np.float64], src: float, size: int
) -> _AxisMaps:
    """Reference-slice coordinates ``grid`` → coordinates in each slice (scaled about
    ``src`` by that slice's scale, one per slice). Computed for every slice at once."""
    # the map is increasing (scale > 0): the valid range is found by bisection on ``grid``
    los = np.searchsorted(grid, src - src / scales, "left")
    his = np.searchsorted(grid, src + (size - 1.0 - src) / scales, "right")
    xs = np.clip(src + (grid[None, :] - src) * scales[:, None], 0.0, size - 1.0)
    i0 = np.minimum(xs.astype(np.intp), size - 2) if size > 1 else np.zeros(xs.shape, np.intp)
    weights = (xs - i0).astype(np.float32)
    # increasing along the grid: the first and last voxels bound the slice's part
    rows = np.arange(len(scales))
    first = i0[rows, np.minimum(los, grid.size - 1)]
    last = i0[rows, np.clip(his - 1, 0, grid.size - 1)]
    lower = i0 - first[:, None]
    upper = lower + 1 if size > 1 else lower
    return _AxisMaps(
        los.tolist(), his.tolist(), first.tolist(), last.tolist(), lower, upper, weights
    )


_BLOCK = 16


def _slices(array: npt.NDArray[Any], axis: int) -> Iterator[tuple[int, npt.NDArray[Any]]]:
    """Every slice along voxel axis ``axis`` as ``[rows, cols]`` (array order is k, j, i).

    Slices along k and j are views. Slices along i (a lateral beam) would read one cache
    line per voxel across the whole volume: ``_BLOCK`` of them are copied at a time, in
    memory order, into a buffer of ``_BLOCK`` slices (2 MB for the sample CT, never the
    whole volume) that the slices then read from the cache.
    """
    count = array.shape[2 - axis]
    if axis != 0:
        for n in range(count):
            index: tuple[slice | int, ...] = (slice(None),) * (2 - axis) + (n,)
            yield n, array[index]
        return
    for start in range(0, count, _BLOCK):
        block = np.ascontiguousarray(array[:, :, start : start + _BLOCK])  # read in order
        for offset in range(block.shape[2]):
            yield start + offset, block[:, :, offset]


def _accumulate_slice(
    acc: npt.NDArray[np.float32],
    hu: npt.NDArray[Any],
    n: int,
    cmaps: _AxisMaps,
    rmaps: _AxisMaps,
    options: DrrOptions | None,
) -> None:
    """Add slice ``n``, resampled onto the reference grid, to ``acc`` (in place);
    ``options`` None: the slice holds attenuation already (`_attenuation_kept`), not HU."""
    c0, c1, r0, r1 = cmaps.lo[n], cmaps.hi[n], rmaps.lo[n], rmaps.hi[n]
    part = hu[rmaps.first[n] : rmaps.last[n] + 2, cmaps.first[n] : cmaps.last[n] + 2]
    q = part if options is None else _attenuation(part, options)
    t = q[:, cmaps.lower[n, c0:c1]]
    t += (q[:, cmaps.upper[n, c0:c1]] - t) * cmaps.weight[n, c0:c1]
    lo = t[rmaps.lower[n, r0:r1]]
    lo += (t[rmaps.upper[n, r0:r1]] - lo) * rmaps.weight[n, r0:r1, None]
    acc[r0:r1, c0:c1] += lo


def _reference_grid(
    volume: ImageVolume, slab: _Slab, oversample: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Column and row coordinates (voxel index) of the reference grid: the union of every
    slice's shadow on the reference slice."""
    sizes = (volume.shape[2], volume.shape[1], volume.shape[0])
    s = slab.source
    last = sizes[slab.axis] - 1
    scales = [(slab.ref - s[slab.axis]) / (n - s[slab.axis]) for n in (0, last)]
    out = []
    for ax in (slab.cols, slab.rows):
        ends = [s[ax] + (e - s[ax]) * f for e in (0.0, sizes[ax] - 1.0) for f in scales]
        lo, hi = min(ends), max(ends)
        n = int(np.ceil((hi - lo) * oversample)) + 1
        out.append(lo + np.arange(n) / oversample)
    return out[0], out[1]


def _seen_part(grid: npt.NDArray[np.float64], low: float, high: float) -> npt.NDArray[np.float64]:
    """The grid coordinates from the last one at or below ``low`` to the first one at or
    above ``high`` (the whole grid where they lie beyond it): the same coordinates, fewer."""
    first = max(int(np.searchsorted(grid, low, "right")) - 1, 0)
    last = min(int(np.searchsorted(grid, high, "left")) + 1, grid.size)
    return grid[first:last] if last > first else grid[:1]


def _detector_footprint(
    volume: ImageVolume, slab: _Slab, geometry: CArmGeometry
) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """Where the rays to the detector's four corner pixels meet the reference slice:
    ``((col_min, col_max), (row_min, row_max))`` in voxel index units (the footprint of a
    flat detector seen from a point is a convex quadrilateral: its corners bound it).
    None when a corner ray does not reach the slice (then nothing is cropped)."""
    det = geometry.detector
    c0, r0 = geometry.principal_point
    inv = np.linalg.inv(volume.affine[:3, :3])
    right, down, beam = inv @ geometry.right, inv @ geometry.down, inv @ geometry.beam
    cols, rows = [], []
    for column in (0.0, det.columns - 1.0):
        for row in (0.0, det.rows - 1.0):
            u, v = (column - c0) * det.pixel_mm, (row - r0) * det.pixel_mm
            ray = u * right + v * down + det.source_detector_mm * beam
            if abs(ray[slab.axis]) < 1e-12:
                return None
            t = (slab.ref - slab.source[slab.axis]) / ray[slab.axis]
            if not np.isfinite(t) or t <= 0.0:
                return None
            cols.append(slab.source[slab.cols] + t * ray[slab.cols])
            rows.append(slab.source[slab.rows] + t * ray[slab.rows])
    return (min(cols), max(cols)), (min(rows), max(rows))


def _sum_slices(
    volume: ImageVolume, slab: _Slab, options: DrrOptions, geometry: CArmGeometry
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The sum, on the reference grid, of every slice's attenuation along the rays —
    only where rays to the detector cross the reference slice: a CT wider or longer than
    the C-arm's field of view is summed over the part the detector sees."""
    cols, rows = _reference_grid(volume, slab, options.oversample)
    seen = _detector_footprint(volume, slab, geometry)
    if seen is not None:
        cols, rows = _seen_part(cols, *seen[0]), _seen_part(rows, *seen[1])
    acc = np.zeros((rows.size, cols.size), dtype=np.float32)
    sizes = (volume.shape[2], volume.shape[1], volume.shape[0])
    s = slab.source
    count = sizes[slab.axis]
    scales = (np.arange(count) - s[slab.axis]) / (slab.ref - s[slab.axis])
    cmaps = _axis_maps(cols, scales, s[slab.cols], sizes[slab.cols])
    rmaps = _axis_maps(rows, scales, s[slab.rows], sizes[slab.rows])
    kept = _attenuation_kept(volume, options)
    per_slice = options if kept is None else None
    for n, plane in _slices(volume.array if kept is None else kept, slab.axis):
        if cmaps.hi[n] <= cmaps.lo[n] or rmaps.hi[n] <= rmaps.lo[n]:
            continue  # the slice's shadow misses the grid
        _accumulate_slice(acc, plane, n, cmaps, rmaps, per_slice)
    return acc, cols, rows


_KEPT_VOXELS = 1 << 24
"""The largest volume whose attenuation `_attenuation_kept` keeps (64 MiB of float32): a
CT at every second voxel (a 512² × 400 CT is 13 million voxels then), not a whole one."""

_kept_lock = threading.Lock()
_kept: dict[str, Any] = {}


def _attenuation_kept(volume: ImageVolume, options: DrrOptions) -> npt.NDArray[np.float32] | None:
    """The attenuation of a whole coarse volume (``voxel_step`` > 1), computed once for
    the latest CT and kept while its array lives: the report's 22 thumbnails of one CT
    convert each voxel once instead of 22 times. None for a full-resolution or larger
    volume (each slice is converted as it is read)."""
    if options.voxel_step == 1 or volume.array.size > _KEPT_VOXELS:
        return None
    base = volume.array.base if volume.array.base is not None else volume.array
    key = (
        id(base),
        volume.array.shape,
        volume.array.strides,
        options.voxel_step,
        options.bone_enhanced,
        options.bone_hu,
        options.bone_gain,
    )
    with _kept_lock:
        ref = _kept.get("ref")
        if _kept.get("key") == key and ref is not None and ref() is base:
            found: npt.NDArray[np.float32] = _kept["q"]
            return found
    q = _attenuation(volume.array, options)  # a contiguous float32 copy
    q.flags.writeable = False
    with _kept_lock:
        _kept.update(key=key, ref=weakref.ref(base), q=q)
    weakref.finalize(base, _forget_kept, key)  # a closed CT's attenuation goes with it
    return q


def _forget_kept(key: tuple[Any, ...]) -> None:
    with _kept_lock:
        if _kept.get("key") == key:
            _kept.clear()


DrrFunction = Callable[[ImageVolume, CArmGeometry, "DrrOptions | None"], npt.NDArray[np.float32]]
"""What computes a DRR: `compute_drr`, or a function that reuses its results."""


def compute_drr(
    volume: ImageVolume, geometry: CArmGeometry, options: DrrOptions | None = None
) -> npt.NDArray[np.float32]:
    """The line integral of attenuation for every detector pixel.

    Parameters
    ----------
    volume
        A CT (`ImageVolume` in HU); the rays run through its voxel grid (LPS mm).
    geometry
        The C-arm position (`CArmGeometry`); pixels follow its projection matrix.
    options
        Attenuation options (`DrrOptions`).

    Returns
    -------
    numpy.ndarray
        ``float32 [rows, columns]``: ``∫ μ ds`` along each ray (0 for a ray that misses the
        CT); the transmitted fraction is ``exp(−value)``.

    Raises
    ------
    PlanningError
        The volume is not a CT, or the source lies inside it.
    """
    options = options or DrrOptions()
    if volume.modality.upper() != "CT":
        raise PlanningError(
            f"DRR: series {volume.series_number} is {volume.modality}, expected CT: "
            "open the study's CT series"
        )
    if options.voxel_step > 1:
        volume = _every_nth_voxel(volume, options.voxel_step)
    slab = _choose_slab(volume, geometry)
    acc, cols, rows = _sum_slices(volume, slab, options, geometry)
    result = np.empty((geometry.detector.rows, geometry.detector.columns), np.float32)
    chunk = max(1, _PIXELS_PER_CHUNK // result.shape[1])  # detector rows at a time
    for start in range(0, result.shape[0], chunk):
        rows_done = slice(start, min(start + chunk, result.shape[0]))
        result[rows_done] = _warp_rows(acc, cols, rows, slab, volume, geometry, rows_done)
    result *= np.float32(options.mu_water_per_mm / 1000.0)
    return result


_PIXELS_PER_CHUNK = 1 << 16
"""Detector pixels warped at a time (a 256² thumbnail in one go; the temporaries of a
chunk take a few megabytes)."""


def _warp_rows(
    acc: npt.NDArray[np.float32],
    cols: npt.NDArray[np.float64],
    rows: npt.NDArray[np.float64],
    slab: _Slab,
    volume: ImageVolume,
    geometry: CArmGeometry,
    detector_rows: slice,
) -> npt.NDArray[np.float32]:
    """Detector rows from the reference-grid sum: where each pixel's ray meets the
    reference slice, bilinear, times the ray's length per slice."""
    det = geometry.detector
    c0, r0 = geometry.principal_point
    u = (np.arange(det.columns) - c0) * det.pixel_mm  # mm on the detector, per column
    v = (np.arange(det.rows)[detector_rows] - r0) * det.pixel_mm  # per row
    inv = np.linalg.inv(volume.affine[:3, :3])
    right, down, beam = inv @ geometry.right, inv @ geometry.down, inv @ geometry.beam
    # ray from the source to pixel (row, col), in voxel index units, per component:
    # u·right + v·down + SDD·beam (not normalised); its length in mm is |(u, v, SDD)|
    ray = [
        v[:, None] * down[k] + (u * right[k] + det.source_detector_mm * beam[k])[None, :]
        for k in range(3)
    ]
    length_mm = np.sqrt(v[:, None] ** 2 + (u**2 + det.source_detector_mm**2)[None, :])
    t = (slab.ref - slab.source[slab.axis]) / ray[slab.axis]
    over = (cols[1] - cols[0]) if cols.size > 1 else 1.0
    at_c = (slab.source[slab.cols] + t * ray[slab.cols] - cols[0]) / over
    at_r = (slab.source[slab.rows] + t * ray[slab.rows] - rows[0]) / over
    summed = _bilinear(acc, at_r, at_c)
    step_mm = length_mm / np.abs(ray[slab.axis])  # ray length per slice
    out: npt.NDArray[np.float32] = (summed * step_mm).astype(np.float32)
    return out


def _bilinear(
    grid: npt.NDArray[np.float32], at_r: npt.NDArray[np.float64], at_c: npt.NDArray[np.float64]
) -> npt.NDArray[np.float32]:
    """``grid`` interpolated bilinearly at (row, column) index coordinates; 0 where a
    point lies outside ``[0, rows − 1] × [0, columns − 1]`` (a ray that misses the CT)."""
    rows, cols = grid.shape
    inside = (at_r >= 0.0) & (at_r <= rows - 1.0) & (at_c >= 0.0) & (at_c <= cols - 1.0)
    r = np.clip(at_r, 0.0, rows - 1.0)
    c = np.clip(at_c, 0.0, cols - 1.0)
    r0 = np.minimum(r.astype(np.intp), max(rows - 2, 0))
    c0 = np.minimum(c.astype(np.intp), max(cols - 2, 0))
    fr, fc = (r - r0).astype(np.float32), (c - c0).astype(np.float32)
    flat = grid.ravel()
    at = r0 * cols + c0
    right = 1 if cols > 1 else 0
    down = cols if rows > 1 else 0
    top: npt.NDArray[np.float32] = flat.take(at)
    top += (flat.take(at + right) - top) * fc
    bottom = flat.take(at + down)
    bottom += (flat.take(at + down + right) - bottom) * fc
    top += (bottom - top) * fr
    top *= inside
    return top


def to_display(
    line_integral: npt.ArrayLike,
    *,
    dense_dark: bool = True,
    window: tuple[float, float] | None = None,
) -> npt.NDArray[np.uint8]:
    """8-bit grey of a DRR (`compute_drr`) as the C-arm monitor shows it.

    ``window`` ``(low, high)`` of the line integral maps to white..black (dense = dark) or
    black..white. By default it spans the body: the 2nd to the 99.8th percentile of the
    pixels whose line integral exceeds `BODY_LINE_INTEGRAL` (rays through the patient,
    not only air), so the soft tissue does not take all the grey levels.
    """
    li = np.asarray(line_integral, dtype=np.float32)
    if window is None:
        body = li[li > BODY_LINE_INTEGRAL]
        if body.size:
            low, high = (float(p) for p in np.percentile(body, [2.0, 99.8]))
            window = (low, high) if high > low else (0.0, max(high, 1.0))
        else:
            window = (0.0, 1.0)
    low, high = window
    frac = np.clip((li - low) / max(high - low, 1e-6), 0.0, 1.0)
    if dense_dark:
        frac = 1.0 - frac
    out: npt.NDArray[np.uint8] = np.rint(frac * 255.0).astype(np.uint8)
    return out
