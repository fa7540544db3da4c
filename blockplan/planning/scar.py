"""Epidural scar: region growing from a seed, volume, and volume per spinal level.

Masks are boolean arrays indexed ``[k, j, i]`` (slice, row, column) on a voxel grid whose
4×4 affine maps ``(i, j, k, 1)`` to DICOM patient coordinates (LPS, mm) — the conventions
of `blockplan.io.ImageVolume`. Volumes are in millilitres (1 mL = 1000 mm³).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
from pydantic import ValidationError

from blockplan.case.model import LevelMarker, MaskGrid
from blockplan.errors import PlanningError
from blockplan.extras import import_extra
from blockplan.io import resample
from blockplan.io.volume import ImageVolume
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
from blockplan.planning.levels import (
    DEFAULT_MAX_SPACING_RATIO,
    SpineAxis,
)

__all__ = [
    "AUTO_MULTIPLIERS",
    "DISC_SPACE_SHARE",
    "UNASSIGNED_LEVEL",
    "Progress",
    "grow_scar",
    "grow_scar_auto",
    "mask_grid_for",
    "resample_mask",
    "scar_volume_ml",
    "scar_volume_per_level",
]

UNASSIGNED_LEVEL = "unassigned"
"""Key of `scar_volume_per_level` for scar beyond the zones of the first and last marker."""

DISC_SPACE_SHARE = 0.3
"""Share of a vertebra-to-vertebra step that is disc space (endplate to endplate), centred
on the disc. Lumbar discs are about 8–12 mm high between vertebral bodies about 25–28 mm
high, so the disc space is about 0.25–0.3 of a level (verify; the sample phantom has 8 mm
discs between 26–27 mm bodies). `scar_volume_per_level` splits scar at the endplates this
places; targets use the wider motion-segment zone of `assign_level`."""

Progress = Callable[[int, int], None]
"""``progress(done, total)``, called after each step of a long computation. An exception
it raises stops the computation and propagates: that is how a caller cancels."""


def _series(volume: ImageVolume) -> str:
    if volume.series_number is not None:
        return f"series {volume.series_number}"
    return f"series {volume.series_instance_uid or '(no UID)'}"


def _sphere_box(
    volume: ImageVolume, ijk: npt.NDArray[np.float64], radius_mm: float
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Index box ``[lo, hi)`` (i, j, k) of the volume holding the sphere around ``ijk``."""
    size_ijk = np.array(volume.shape[::-1])
    inv = np.linalg.inv(volume.affine)[:3, :3]
    half = radius_mm * np.linalg.norm(inv, axis=1)  # sphere half-extent per index axis
    lo = np.clip(np.floor(ijk - half).astype(np.int64), 0, size_ijk - 1)
    hi = np.clip(np.ceil(ijk + half).astype(np.int64), 0, size_ijk - 1) + 1
    return lo, hi


def _in_sphere(
    affine: npt.NDArray[np.float64],
    ijk: npt.NDArray[np.float64],
    lo: npt.NDArray[np.int64],
    hi: npt.NDArray[np.int64],
    radius_mm: float,
) -> npt.NDArray[np.bool_]:
    """Voxels ``[k, j, i]`` of the box ``[lo, hi)`` within ``radius_mm`` of ``ijk`` (any affine)."""
    kk, jj, ii = np.ogrid[lo[2] : hi[2], lo[1] : hi[1], lo[0] : hi[0]]
    a = affine[:3, :3]
    off = (
        (ii - ijk[0])[..., None] * a[:, 0]
        + (jj - ijk[1])[..., None] * a[:, 1]
        + (kk - ijk[2])[..., None] * a[:, 2]
    )
    return np.asarray(np.einsum("...k,...k->...", off, off) <= radius_mm**2)


def _seed_component(
    region: npt.NDArray[np.bool_], seed_ijk: list[int], *, fill_holes: bool
) -> npt.NDArray[np.bool_]:
    """The part of ``region`` ``[k, j, i]`` face-connected to the seed, holes filled."""
    sitk = import_extra("SimpleITK", "imaging", "growing the scar region")

    component = sitk.ConnectedThreshold(
        sitk.GetImageFromArray(region.astype(np.uint8)),
        seedList=[seed_ijk],
        lower=1,
        upper=1,
        replaceValue=1,
    )
    if fill_holes:
        component = sitk.BinaryFillhole(component, fullyConnected=False, foregroundValue=1)
    return np.asarray(sitk.GetArrayFromImage(component).astype(bool))


def grow_scar(
    volume: ImageVolume,
    seed_lps: PointLike,
    *,
    multiplier: float = 2.5,
    iterations: int = 3,
    radius_vox: int = 1,
    max_radius_mm: float = 40.0,
    fill_holes: bool = True,
) -> npt.NDArray[np.bool_]:
    """Grow an enhancing scar region from a seed point (SimpleITK ConfidenceConnected).

    ConfidenceConnected starts from the mean and standard deviation of the voxels within
    ``radius_vox`` of the seed, takes every voxel connected to the seed (face neighbours)
    whose value lies within ``mean ± multiplier × std``, recomputes mean and std over that
    region and repeats ``iterations`` times. Growth is confined to the sphere of radius
    ``max_radius_mm`` around the seed, so a low-contrast boundary cannot leak through the
    whole volume; only the part connected to the seed inside the sphere is kept.

    Use a contrast-enhanced T1 MR (scar enhances homogeneously) or a CT.

    Parameters
    ----------
    volume
        The image to grow on.
    seed_lps
        Seed inside the scar: a `PatientPoint` (frame of reference checked) or
        ``(x, y, z)`` in LPS mm.
    multiplier
        Width of the intensity window in standard deviations (the "sensitivity"). Lower
        it when the region leaks into neighbouring enhancing tissue (the region then
        fills its confinement sphere); on thick-slice MR, grow on an isotropic
        resampling (as the napari plugin does) rather than the native slices.
    iterations
        Times the statistics are re-estimated from the grown region.
    radius_vox
        Radius (voxels) of the seed neighbourhood for the first statistics.
    max_radius_mm
        Radius (mm) of the sphere around the seed that confines the region.
    fill_holes
        Fill cavities fully enclosed by the region (noise holes).

    Returns
    -------
    numpy.ndarray
        Boolean mask of ``volume.shape`` (``[k, j, i]``).

    Raises
    ------
    PlanningError
        Seed outside the volume or in another frame of reference, invalid parameters, or
        nothing grown (the seed is not inside a homogeneous region).
    MissingExtraError
        SimpleITK (the ``imaging`` extra) is not installed.
    """
    sitk = import_extra("SimpleITK", "imaging", "growing the scar region")

    xyz, frame = as_lps(seed_lps, "scar seed")
    common_frame([(_series(volume), volume.frame_of_reference_uid), ("scar seed", frame)])
    if multiplier <= 0 or iterations < 0 or radius_vox < 0 or max_radius_mm <= 0:
        raise PlanningError(
            "grow_scar: multiplier and max_radius_mm must be > 0, iterations and radius_vox "
            f"≥ 0; got multiplier={multiplier}, iterations={iterations}, "
            f"radius_vox={radius_vox}, max_radius_mm={max_radius_mm}"
        )
    if not volume.contains_lps(xyz, margin=0.5):
        raise PlanningError(
            f"scar seed {fmt_lps(xyz)} mm lies outside {_series(volume)}: "
            "place the seed inside the image"
        )
    ijk = volume.lps_to_index(xyz)
    lo, hi = _sphere_box(volume, ijk, max_radius_mm)
    box = (slice(lo[2], hi[2]), slice(lo[1], hi[1]), slice(lo[0], hi[0]))
    crop = np.ascontiguousarray(volume.array[box], dtype=np.float32)
    seed_idx = np.clip(np.rint(ijk).astype(np.int64), 0, np.array(volume.shape[::-1]) - 1)
    seed_local = [int(v) for v in seed_idx - lo]

    image = sitk.GetImageFromArray(crop)
    grown = sitk.ConfidenceConnected(
        image,
        seedList=[seed_local],
        numberOfIterations=int(iterations),
        multiplier=float(multiplier),
        initialNeighborhoodRadius=int(radius_vox),
        replaceValue=1,
    )
    region = sitk.GetArrayFromImage(grown).astype(bool)

    region &= _in_sphere(volume.affine, ijk, lo, hi, max_radius_mm)
    if not region[seed_local[2], seed_local[1], seed_local[0]]:
        raise PlanningError(
            f"region growing from {fmt_lps(xyz)} mm on {_series(volume)} found no region: "
            "the seed value lies outside the statistics of its neighbourhood; move the seed "
            "into the middle of the enhancing scar or raise the multiplier"
        )
    out = np.zeros(volume.shape, dtype=bool)
    out[box] = _seed_component(region, seed_local, fill_holes=fill_holes)
    return out


AUTO_MULTIPLIERS: tuple[float, ...] = tuple(1.0 + 0.25 * n for n in range(13))
"""Multipliers tried by `grow_scar_auto`, from narrow (1.0) to wide (4.0)."""


def grow_scar_auto(
    volume: ImageVolume,
    seed_lps: PointLike,
    *,
    radius_vox: int = 2,
    leak_ratio: float = 3.0,
    min_ml: float = 0.1,
    mean_shift: float = 0.5,
    min_contrast: float = 0.7,
    max_radius_mm: float = 40.0,
    iterations: int = 3,
    progress: Progress | None = None,
) -> tuple[npt.NDArray[np.bool_], float]:
    """Grow scar with the widest window that does not leak; returns the mask and multiplier.

    `grow_scar` is run with each of `AUTO_MULTIPLIERS` in turn. The region grows smoothly
    while the window widens across the scar's own partial-volume boundary, and then leaks
    into what surrounds it. The result is the last region before the first leak (if no step
    leaks, the widest). Two signs of a leak (`_leaked`):

    * **a jump into a neighbour**: a step that grows the region more than ``leak_ratio``
      times (once it holds ``min_ml``) *and* moves its mean by more than ``mean_shift``
      standard deviations of the previous region (growth within one tissue keeps the mean);
    * **creep into the surroundings**: the region keeps less than ``min_contrast`` of the
      contrast between the narrowest region (the enhancing core at the click) and the
      surroundings (the median within the confinement sphere's box) — partial-volume and
      background voxels dilute the enhancing scar.

    The result does not hinge on the exact voxel clicked: a click a voxel away gives a
    region of about the same size. The physician corrects the proposal by painting.

    ``progress(done, len(AUTO_MULTIPLIERS))`` is called after each multiplier tried (see
    `Progress`: raising from it cancels).

    Raises
    ------
    PlanningError
        When no multiplier grows a region from the seed.
    """
    background = _surroundings(volume, seed_lps, max_radius_mm)
    core: float | None = None
    last: tuple[npt.NDArray[np.bool_], float, float, float, float] | None = None
    failure: PlanningError | None = None
    for n, multiplier in enumerate(AUTO_MULTIPLIERS, start=1):
        if progress is not None and n > 1:
            progress(n - 1, len(AUTO_MULTIPLIERS))
        try:
            mask = grow_scar(
                volume,
                seed_lps,
                multiplier=multiplier,
                iterations=iterations,
                radius_vox=radius_vox,
                max_radius_mm=max_radius_mm,
            )
        except PlanningError as err:
            failure = err
            continue
        ml = scar_volume_ml(mask, volume)
        values = np.asarray(volume.array[mask], dtype=np.float64)
        mean, std = float(values.mean()), float(values.std())
        core = mean if core is None else core
        step = (ml, mean)
        if last is not None and _leaked(
            last, step, core, background, leak_ratio, min_ml, mean_shift, min_contrast
        ):
            break
        last = (mask, multiplier, ml, mean, std)
    if progress is not None:
        progress(len(AUTO_MULTIPLIERS), len(AUTO_MULTIPLIERS))
    if last is None:
        assert failure is not None
        raise failure
    return last[0], last[1]


def _surroundings(volume: ImageVolume, seed_lps: PointLike, radius_mm: float) -> float:
    """Median value of the box around the confinement sphere (what scar must stand out from)."""
    xyz, _frame = as_lps(seed_lps, "scar seed")
    ijk = volume.lps_to_index(xyz)
    half = radius_mm * np.linalg.norm(np.linalg.inv(volume.affine)[:3, :3], axis=1)
    size = np.array(volume.shape[::-1])
    lo = np.clip(np.floor(ijk - half).astype(np.int64), 0, size - 1)
    hi = np.clip(np.ceil(ijk + half).astype(np.int64), 0, size - 1) + 1
    box = volume.array[lo[2] : hi[2], lo[1] : hi[1], lo[0] : hi[0]]
    return float(np.median(box))


def _leaked(
    last: tuple[npt.NDArray[np.bool_], float, float, float, float],
    step: tuple[float, float],
    core: float,
    background: float,
    leak_ratio: float,
    min_ml: float,
    mean_shift: float,
    min_contrast: float,
) -> bool:
    """Whether the region grown at this step (``step``: mL, mean) has leaked (see above)."""
    _mask, _multiplier, last_ml, last_mean, last_std = last
    ml, mean = step
    jumped = (
        last_ml >= min_ml
        and ml > leak_ratio * last_ml
        and abs(mean - last_mean) > mean_shift * max(last_std, 1e-6)
    )
    contrast = core - background
    crept = abs(contrast) > 1e-6 and (mean - background) / contrast < min_contrast
    return jumped or crept


def _voxel_ml(affine: npt.NDArray[np.float64]) -> float:
    return float(abs(np.linalg.det(affine[:3, :3])) / 1000.0)


def _check_shape(mask: npt.NDArray[np.bool_], grid: GridLike, name: str) -> None:
    shape = grid_shape(grid)
    if shape is not None and tuple(mask.shape) != tuple(shape):
        raise PlanningError(
            f"{name}: mask shape {tuple(mask.shape)} differs from its grid {tuple(shape)} "
            "(a mask from another series?): resample it with resample_mask first"
        )


def scar_volume_ml(mask: npt.NDArray[np.bool_], grid_or_volume: GridLike) -> float:
    """Volume (mL) of a boolean mask ``[k, j, i]``: voxel count × voxel volume.

    Parameters
    ----------
    mask
        Boolean array on the grid.
    grid_or_volume
        `MaskGrid`, `ImageVolume` (shape checked) or a 4×4 affine (i, j, k, 1) → LPS mm.
    """
    m = check_mask(mask, "scar mask")
    _check_shape(m, grid_or_volume, "scar mask")
    affine, _ = grid_affine(grid_or_volume, "scar mask grid")
    return int(np.count_nonzero(m)) * _voxel_ml(affine)


def scar_volume_per_level(
    mask: npt.NDArray[np.bool_],
    affine: GridLike,
    markers: Sequence[LevelMarker] | SpineAxis,
    *,
    segment_zone: float = DISC_SPACE_SHARE,
    transitional_l6: bool | None = None,
    max_spacing_ratio: float | None = DEFAULT_MAX_SPACING_RATIO,
) -> dict[str, float]:
    """Scar volume (mL) at each vertebra and disc level, split at the endplates.

    Every scar voxel centre is given the level of the slab it lies in — a vertebral body
    between its endplates, or a disc space between two endplates — by the rule of
    `assign_level` (see `blockplan.planning.levels`) with the disc space taking
    `DISC_SPACE_SHARE` of each vertebra-to-vertebra step, centred on the disc (its marked
    centre, or halfway between the two body centres). Vectorised over all voxels.

    Parameters
    ----------
    mask
        Boolean scar mask ``[k, j, i]``.
    affine
        The mask's grid: a 4×4 affine (i, j, k, 1) → LPS mm, a `MaskGrid` or an
        `ImageVolume` (the latter two also check the frame of reference and shape).
    markers
        Level markers (at least two) or a prebuilt `SpineAxis` (its own segment zone).
    segment_zone
        Share of a level that is disc space (default `DISC_SPACE_SHARE`).
    transitional_l6, max_spacing_ratio
        See `SpineAxis.from_markers`.

    Returns
    -------
    dict[str, float]
        Level → volume (mL), levels ordered cranial to caudal, only levels with scar;
        scar beyond the first or last marker's zone under `UNASSIGNED_LEVEL`, last.
    """
    m = check_mask(mask, "scar mask")
    _check_shape(m, affine, "scar mask")
    aff, frame = grid_affine(affine, "scar mask grid")
    axis = (
        markers
        if isinstance(markers, SpineAxis)
        else SpineAxis.from_markers(
            markers,
            transitional_l6=transitional_l6,
            segment_zone=segment_zone,
            max_spacing_ratio=max_spacing_ratio,
        )
    )
    common_frame([("scar mask grid", frame), ("level markers", axis.frame_of_reference_uid)])
    k, j, i = np.nonzero(m)
    if len(k) == 0:
        return {}
    ijk = np.stack([i, j, k], axis=1).astype(np.float64)
    loc = axis.locate(ijk @ aff[:3, :3].T + aff[:3, 3])
    voxel_ml = _voxel_ml(aff)
    codes, counts = np.unique(loc.half_rank[loc.inside], return_counts=True)
    out = {axis.level_name(int(c)): int(n) * voxel_ml for c, n in zip(codes, counts)}
    outside = int(np.count_nonzero(~loc.inside))
    if outside:
        out[UNASSIGNED_LEVEL] = outside * voxel_ml
    return out


def mask_grid_for(volume: ImageVolume) -> MaskGrid:
    """The `MaskGrid` of a volume (shape, affine, frame of reference, series UID).

    Raises
    ------
    PlanningError
        When the volume lacks a valid FrameOfReferenceUID or SeriesInstanceUID.
    """
    try:
        return MaskGrid(
            shape=volume.shape,
            affine=tuple(
                (float(r[0]), float(r[1]), float(r[2]), float(r[3])) for r in volume.affine
            ),
            frame_of_reference_uid=volume.frame_of_reference_uid,
            series_instance_uid=volume.series_instance_uid,
        )
    except ValidationError as err:
        raise PlanningError(
            f"{_series(volume)} cannot hold a scar mask: its FrameOfReferenceUID "
            f"{volume.frame_of_reference_uid!r} or SeriesInstanceUID "
            f"{volume.series_instance_uid!r} is not a valid DICOM UID"
        ) from err


def resample_mask(
    mask: npt.NDArray[np.bool_],
    source: GridLike,
    target: MaskGrid | ImageVolume,
) -> npt.NDArray[np.bool_]:
    """A mask moved onto another grid of the same frame of reference (nearest voxel).

    Each target voxel takes the value of the source voxel whose centre is nearest to its
    own centre in index space (exact for the voxel centres; the volume changes by partial
    voxels at the boundary). The grids and frames are checked here; the resampling is
    `blockplan.io.resample.resample_mask`.

    Parameters
    ----------
    mask
        Boolean mask ``[k, j, i]`` on ``source``.
    source
        Its grid (`MaskGrid`, `ImageVolume` or 4×4 affine).
    target
        The grid to resample onto.

    Returns
    -------
    numpy.ndarray
        Boolean mask of ``target.shape``.
    """
    m = check_mask(mask, "mask")
    _check_shape(m, source, "mask")
    src_aff, src_frame = grid_affine(source, "source grid")
    dst_aff, dst_frame = grid_affine(target, "target grid")
    common_frame([("source grid", src_frame), ("target grid", dst_frame)])
    return resample.resample_mask(m, src_aff, dst_aff, target.shape)
