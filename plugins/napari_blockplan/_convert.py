"""The one place that maps between DICOM patient space and napari.

napari world coordinates are DICOM patient coordinates (LPS, mm) in the order
``(z, y, x)`` — superior, posterior, left — so that the default 2-D view of an axial
series shows the patient in radiological convention (patient left on screen right,
anterior at the top). Points are converted with `lps_to_world` / `world_to_lps`;
nothing else in the plugin knows the axis order.

A volume is shown with a diagonal (scale + translate) transform, because napari cannot
slice rotated or sheared layers in 2-D (napari 0.9 shows such a slice without its
out-of-slice rotation or shear: a gantry-tilted CT would show each tilted slice flat, up
to tens of mm from where the overlays are drawn). Volumes whose axes are world-aligned up
to a permutation and flips are reoriented exactly (transpose/flip, no interpolation);
oblique or gantry-tilted volumes are resampled onto a world-aligned grid covering them —
lazily, each plane when napari asks for it (`WorldAlignedView`), so the layer holds no
copy of the series — and the layer metadata says so.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from blockplan.io.resample import resample_image, sample_points
from blockplan.io.volume import ImageVolume

__all__ = [
    "DisplayAxes",
    "WorldAlignedView",
    "display_axes",
    "display_grid",
    "display_volume",
    "image_layer_data",
    "layer_kwargs",
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
    at its finest spacing — the grid `display_volume` resamples oblique series onto. (At
    each axis's own spacing the layer would be ~8× smaller for a 4 mm MR slab, but a scar
    painted on such a coarse grid maps to source voxels across two tilted slices and a
    stroke can vanish; painting needs the fine grid.)
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


@dataclass(frozen=True)
class DisplayAxes:
    """How an axis-aligned grid is shown exactly: array axes permuted, then flipped.

    ``perm``: the source array axes (``k, j, i`` order) that become display axes 0, 1, 2
    (world z, y, x); ``flips``: display axes flipped after the permutation; ``affine``
    and ``shape``: the display grid (`display_grid`).
    """

    perm: tuple[int, int, int]
    flips: tuple[int, ...]
    affine: npt.NDArray[np.float64]
    shape: tuple[int, int, int]

    @property
    def slices_stay_slices(self) -> bool:
        """Whether each display slice along world z is one acquired slice (axial stacks)."""
        return self.perm[0] == 0

    def acquired_slice(self, m: int) -> int:
        """The acquired slice ``k`` shown as display slice ``m`` (`slices_stay_slices`)."""
        return self.shape[0] - 1 - m if 0 in self.flips else m

    def show_slice(self, plane: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """An acquired slice ``[j, i]`` as its display slice ``[y, x]`` (a view)."""
        out = plane.T if self.perm[1:] == (2, 1) else plane
        in_plane = tuple(a - 1 for a in self.flips if a > 0)
        return np.flip(out, axis=in_plane) if in_plane else out


def display_axes(affine: npt.ArrayLike, shape: tuple[int, int, int]) -> DisplayAxes | None:
    """The exact display transform of a grid (`DisplayAxes`), or None when it is oblique
    or sheared (resampled for display instead, `display_volume`)."""
    aff = np.asarray(affine, dtype=np.float64)
    d = aff[:3, :3] / np.linalg.norm(aff[:3, :3], axis=0)
    if not np.all((np.abs(d) < _ALIGNED_TOL) | (np.abs(np.abs(d) - 1) < _ALIGNED_TOL)):
        return None
    # which ijk column (0..2) runs along LPS z, y, x; ijk index a is array axis 2 - a
    src_for_world = [int(np.argmax(np.abs(d[w]))) for w in (2, 1, 0)]
    perm = tuple(2 - a for a in src_for_world)
    new = np.eye(4)
    new[:3, :3] = aff[:3, src_for_world[::-1]]
    new[:3, 3] = aff[:3, 3]
    shape_ijk = [shape[p] for p in perm][::-1]
    flips = []
    for axis in range(3):
        if new[axis, axis] < 0:
            new[:3, 3] = new[:3, 3] + new[:3, axis] * (shape_ijk[axis] - 1)
            new[:3, axis] = -new[:3, axis]
            flips.append(2 - axis)
    shown = (shape[perm[0]], shape[perm[1]], shape[perm[2]])
    return DisplayAxes((perm[0], perm[1], perm[2]), tuple(sorted(flips)), new, shown)


def display_volume(volume: ImageVolume) -> tuple[ImageVolume, str]:
    """A volume whose i, j, k axes run along +x, +y, +z, and how it was obtained.

    Returns the reoriented (exact) or resampled volume and ``"reoriented"``,
    ``"identity"`` or ``"resampled"``. A resampled volume's ``array`` is a
    `WorldAlignedView` (array-like, resampled where indexed): napari layer data, not for
    computing on — compute on the source volume.
    """
    axes = display_axes(volume.affine, volume.shape)
    if axes is None:
        return _resample_world_aligned(volume), "resampled"
    arr = np.transpose(volume.array, axes.perm)
    if axes.flips:
        arr = np.flip(arr, axis=axes.flips)
    how = "identity" if axes.perm == (0, 1, 2) and not axes.flips else "reoriented"
    return volume.with_array(np.ascontiguousarray(arr), affine=axes.affine), how


def _resample_world_aligned(volume: ImageVolume) -> ImageVolume:
    """The volume trilinearly resampled onto an isotropic grid along +x, +y, +z covering it.

    The step is the smallest voxel spacing (`display_grid`); the array is a
    `WorldAlignedView`: each part napari shows (a plane) is resampled when asked for, in
    the stored type (integers rounded); outside the source the minimum value shows.
    """
    aff, shape = display_grid(volume.affine, volume.shape)
    steps = " × ".join(f"{float(aff[a, a]):.2f}" for a in range(3))
    view = WorldAlignedView(volume, aff, shape, fill=float(np.min(volume.array)))
    note = f"{volume.geometry_note}; resampled to a {steps} mm world-aligned grid for display"
    return volume.with_array(cast("npt.NDArray[Any]", view), affine=aff, geometry_note=note)


_Key = tuple[int | slice | npt.NDArray[np.intp], ...]

_BAND_VOXELS = 32768
"""Output voxels resampled per call: the source box a band of a tilted plane reaches is a
few slices deep, where the whole plane's box spans most of the series."""


class WorldAlignedView:
    """A volume on a world-aligned display grid, resampled part by part when indexed.

    Behaves as a read-only ``[k, j, i]`` array of ``shape`` and the source's dtype (the
    napari layer-data protocol: ``shape``, ``dtype``, ``ndim``, ``size``, indexing,
    ``__array__``): ``view[m]`` resamples one plane of the grid (what napari asks for in
    2-D), ``view[:, j]`` a coronal one, and integer arrays sample single voxels — each by
    the rules of `blockplan.io.resample` (trilinear, ``fill`` outside), to the values a
    whole-grid `resample_image` gives. Only the source and the last part asked for are held,
    so the display costs no more memory than the series — until napari's 3-D view asks for
    the whole grid, which is then kept (as the layer held it before).

    Resampling the whole grid takes seconds (≈ 5 s for a 58-slice 512² CT tilted 20°). Once
    `build_whole_apart` has been called (the workspace does it for every layer it sees),
    napari's request for it is answered at once with a small block of ``fill`` (drawn as
    nothing) while a thread of its own
    resamples it; ``ready`` then lets the layer draw it. ``np.asarray(view)`` always gives
    the real grid.
    """

    def __init__(
        self,
        volume: ImageVolume,
        affine: npt.NDArray[np.float64],
        shape: tuple[int, int, int],
        *,
        fill: float,
    ) -> None:
        self.volume = volume
        self.affine = np.asarray(affine, dtype=np.float64)
        self.shape = shape
        self.dtype = volume.array.dtype
        self.fill = fill
        self.ndim = 3
        self._lock = threading.Lock()
        self._last: tuple[tuple[Any, ...], npt.NDArray[Any]] | None = None
        self._whole: npt.NDArray[Any] | None = None
        self._apart: tuple[Callable[[], object], Callable[[], object]] | None = None
        self._building: threading.Thread | None = None
        self.whole_built_in: str | None = None
        """Name of the thread that resampled the whole grid (None: not done)."""

    def build_whole_apart(
        self, ready: Callable[[], object], started: Callable[[], object] = lambda: None
    ) -> None:
        """Answer a request for the whole grid (napari's 3-D view) at once, with ``fill``,
        and resample it in a thread of its own: ``started()`` is called then (on the
        caller's thread), ``ready()`` from that thread once the grid is kept."""
        self._apart = (ready, started)

    @property
    def whole_ready(self) -> bool:
        """True once the whole grid is resampled and kept."""
        return self._whole is not None

    def _whole_later(self) -> npt.NDArray[Any]:
        """A 2 × 2 × 2 block of ``fill`` while a thread builds the grid: napari takes a
        smaller 3-D answer for a downsampled one (its value lookup scales to the layer's
        shape). ``fill`` in the grid's shape, as it was, made napari copy and upload a
        volume of nothing (1.6 s frozen for the sample's oblique MR, 237 × 290 × 256)."""
        assert self._apart is not None
        ready, started = self._apart
        with self._lock:
            start = self._building is None
            if start:
                self._building = threading.Thread(
                    target=self._build_whole, args=(ready,), name="blockplan-3d-grid", daemon=True
                )
        if start:
            assert self._building is not None
            self._building.start()
            started()
        return np.full((2, 2, 2), self.fill, dtype=self.dtype)

    def _build_whole(self, ready: Callable[[], object]) -> None:
        whole = self._block([0, 0, 0], [1, 1, 1], list(self.shape), [True, True, True])
        whole.flags.writeable = False
        with self._lock:
            self._whole = whole
            self.whole_built_in = threading.current_thread().name
        ready()

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def nbytes(self) -> int:
        """Bytes of the grid if it were an array (none are held)."""
        return self.size * self.dtype.itemsize

    def __len__(self) -> int:
        return self.shape[0]

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> npt.NDArray[Any]:
        out = self._get((slice(None),) * 3, later=False)  # the real grid, never ``fill``
        if dtype is not None:
            return out.astype(dtype)
        return out.copy() if copy else out

    def __getitem__(self, key: Any) -> npt.NDArray[Any]:
        return self._get(key, later=self._apart is not None)

    def _get(self, key: Any, *, later: bool) -> npt.NDArray[Any]:
        """The part ``key`` asks for; the whole grid answered with ``fill`` (and built in
        a thread) when ``later``."""
        full = _full_key(key)
        if any(isinstance(k, np.ndarray) for k in full):
            return self._voxels(full)
        if self._whole is not None:  # napari's 3-D view asked for it once: keep serving it
            return self._whole[full]
        starts, steps, counts, kept = _ranges(full, self.shape)
        whole = tuple(counts) == self.shape and set(steps) == {1}
        if whole and later:
            return self._whole_later()
        ask = (tuple(starts), tuple(steps), tuple(counts), tuple(kept))
        with self._lock:
            if self._last is not None and self._last[0] == ask:
                return self._last[1]  # napari redraws (refresh, thumbnail) ask again
        if 0 in counts:
            return np.empty([c for c, k in zip(counts, kept, strict=True) if k], self.dtype)
        out = self._block(starts, steps, counts, kept)
        if not any(kept):
            return out[0, 0, 0]  # type: ignore[no-any-return]  # one voxel: a scalar
        shown = out[tuple(slice(None) if k else 0 for k in kept)]
        shown.flags.writeable = False  # shared with the next caller asking the same
        with self._lock:
            self._last = (ask, shown)
            if whole:
                self._whole = shown
        return shown

    def _block(
        self, starts: list[int], steps: list[int], counts: list[int], kept: list[bool]
    ) -> npt.NDArray[Any]:
        """The sub-grid asked for, resampled in bands along its first kept axis (a whole
        block, napari's 3-D view, in one multi-threaded call)."""
        axis = kept.index(True) if any(kept) else 0
        band = max(1, _BAND_VOXELS // max(1, int(np.prod(counts)) // counts[axis]))
        if all(kept):
            band = counts[axis]
        out = np.empty(counts, dtype=self.dtype)
        for first in range(0, counts[axis], band):
            part = list(starts)
            part[axis] = starts[axis] + first * steps[axis]
            grid = list(counts)
            grid[axis] = min(band, counts[axis] - first)
            at = tuple(
                slice(first, first + grid[axis]) if a == axis else slice(None) for a in range(3)
            )
            out[at] = self._resample(part, steps, (grid[0], grid[1], grid[2]))
        return out

    def _resample(
        self, starts: list[int], steps: list[int], counts: tuple[int, int, int]
    ) -> npt.NDArray[Any]:
        """The sub-grid from ``starts`` by ``steps`` (``k, j, i``), in the stored type."""
        sub = self.affine.copy()
        sub[:3, 3] = self.affine[:3, :3] @ np.array(starts[::-1], float) + self.affine[:3, 3]
        sub[:3, :3] = self.affine[:3, :3] * np.array(steps[::-1], float)
        arr = resample_image(self.volume, sub, counts, order="linear", fill=self.fill)
        return _as_stored_type(arr, self.dtype)

    def _voxels(self, key: _Key) -> npt.NDArray[Any]:
        """Integer-array indexing: the voxels named, sampled at their patient positions."""
        kji = np.broadcast_arrays(*(np.asarray(k) for k in key))
        shape = kji[0].shape
        ijk1 = np.column_stack(
            [*(a.ravel().astype(float) for a in kji[::-1]), np.ones(kji[0].size)]
        )
        lps = (ijk1 @ self.affine.T)[:, :3]
        values = sample_points(self.volume, lps, "linear")
        values[np.isnan(values)] = self.fill
        return _as_stored_type(values.astype(np.float32), self.dtype).reshape(shape)


def _full_key(key: Any) -> _Key:
    """``key`` as one entry per axis (Ellipsis and missing axes as full slices)."""
    parts = list(key) if isinstance(key, tuple) else [key]
    if any(p is Ellipsis for p in parts):
        at = next(n for n, p in enumerate(parts) if p is Ellipsis)
        parts[at : at + 1] = [slice(None)] * (3 - len(parts) + 1)
    parts += [slice(None)] * (3 - len(parts))
    if len(parts) != 3:
        raise IndexError(f"too many indices for a 3-D display grid: {len(parts)}")
    return tuple(
        p if isinstance(p, slice) else np.asarray(p) if np.ndim(p) else int(p) for p in parts
    )


def _ranges(
    key: _Key, shape: tuple[int, int, int]
) -> tuple[list[int], list[int], list[int], list[bool]]:
    """Start, step and count per axis of a key of ints and slices, and which axes stay."""
    starts, steps, counts, kept = [], [], [], []
    for n, k in zip(shape, key, strict=True):
        if isinstance(k, slice):
            r = range(*k.indices(n))
            starts.append(r.start)
            steps.append(r.step)
            counts.append(len(r))
            kept.append(True)
            continue
        i = int(k) + n if int(k) < 0 else int(k)
        if not 0 <= i < n:
            raise IndexError(f"index {int(k)} is out of bounds for an axis of size {n}")
        starts.append(i)
        steps.append(1)
        counts.append(1)
        kept.append(False)
    return starts, steps, counts, kept


def _as_stored_type(arr: npt.NDArray[Any], dtype: np.dtype[Any]) -> npt.NDArray[Any]:
    """``arr`` (float, interpolated) in the source's type: integers rounded and clipped."""
    if arr.dtype == dtype:
        return arr
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        np.rint(arr, out=arr)
        np.clip(arr, info.min, info.max, out=arr)
    return arr.astype(dtype)


def image_layer_data(
    volume: ImageVolume, *, name: str | None = None
) -> tuple[Any, dict[str, Any], str]:
    """napari ``LayerDataTuple`` of a volume, placed in world = LPS ``(z, y, x)`` mm."""
    shown, how = display_volume(volume)
    kwargs = layer_kwargs(shown, shown.affine, how, name=name)
    kwargs["metadata"]["blockplan_volume"] = volume
    return shown.array, kwargs, "image"


def layer_kwargs(
    volume: ImageVolume,
    display_affine: npt.NDArray[np.float64],
    how: str,
    *,
    name: str | None = None,
) -> dict[str, Any]:
    """napari image-layer keyword arguments of a series shown on ``display_affine``.

    ``volume`` gives the windows (contrast limits: its first window, else the 1st–99th
    percentile of its array), the name and the tags; a one-slice volume (`load_slice`)
    serves for a series still loading.
    """
    aff = np.asarray(display_affine, dtype=np.float64)
    sx, sy, sz = (float(v) for v in np.linalg.norm(aff[:3, :3], axis=0))
    origin = aff[:3, 3]
    window = volume.windows[0] if volume.windows else None
    if window is not None:
        clim = (window.center - window.width / 2, window.center + window.width / 2)
    else:
        arr = volume.array
        if isinstance(arr, WorldAlignedView):
            arr = arr.volume.array  # its source: resampling the whole grid is what it saves
        lo, hi = np.percentile(arr, [1, 99]) if arr.size else (0, 1)
        clim = (float(lo), float(hi) if hi > lo else float(lo) + 1)
    label = name or (
        f"{volume.modality} {volume.series_number or ''} {volume.series_description}".strip()
        + volume.interpolated_mark
    )
    return {
        "name": label,
        "scale": (sz, sy, sx),
        "translate": (float(origin[2]), float(origin[1]), float(origin[0])),
        "contrast_limits": clim,
        "colormap": "gray",
        "blending": "translucent" if volume.modality == "CT" else "additive",
        "metadata": {
            "blockplan": {
                "role": "image",
                "series_instance_uid": volume.series_instance_uid,
                "frame_of_reference_uid": volume.frame_of_reference_uid,
                "modality": volume.modality,
                "display_transform": how,
                "geometry_note": volume.geometry_note,
                "windows": [(w.name, w.center, w.width) for w in volume.windows],
            },
        },
    }
