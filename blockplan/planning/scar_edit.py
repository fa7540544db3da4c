"""How epidural scar is proposed, painted and kept in a case.

The rules the planning widget applies when the physician marks scar live here:

* **which series** to grow on — `preferred_scar_series`: a fat-suppressed post-contrast
  T1 when there is one (scar enhances; without fat suppression it touches equally bright
  epidural fat), else the last MR, else the first series;
* **the proposal** — `propose_scar`: leak-guarded region growing (`grow_scar_auto`, or a
  fixed sensitivity) on an isotropic working grid at the series' finest spacing (thick MR
  slices would make face-connected growth blocky), confined to a sphere around the click;
  a region that fills more than `LEAK_FRACTION` of that sphere has leaked and is refused
  with advice;
* **where a scar is stored** — on the grid of its source series (`mask_grid_for`), never
  on a display grid, so the SEG, the report and the SR use the acquired geometry;
* **painting** — `paint_voxels`: strokes drawn on any other grid (napari's) set the source
  voxels whose centres they cover, or the nearest source voxel of each painted point;
* **volume per level** — `scar_region_from_mask` computes it with the level rule, and
  `refresh_scar_levels` recomputes it when the level markers change.

Decision support, not a medical device.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from blockplan.case.model import Case, LevelMarker, MaskGrid, ScarRegion
from blockplan.errors import PlanningError
from blockplan.io.resample import resample_image
from blockplan.io.volume import ImageVolume
from blockplan.planning._common import PointLike, as_lps, fmt_lps
from blockplan.planning.scar import (
    AUTO_MULTIPLIERS,
    Progress,
    grow_scar,
    grow_scar_auto,
    mask_grid_for,
    resample_mask,
    scar_volume_per_level,
)

__all__ = [
    "DEFAULT_GROW_RADIUS_MM",
    "FAT_SUPPRESSION_WORDS",
    "GROW_RADIUS_RANGE_MM",
    "LEAK_FRACTION",
    "paint_voxels",
    "preferred_scar_series",
    "propose_scar",
    "refresh_scar_levels",
    "scar_region_from_mask",
    "with_scar",
]

DEFAULT_GROW_RADIUS_MM = 40.0
"""Radius (mm) of the sphere around the click that confines a scar proposal."""

GROW_RADIUS_RANGE_MM = (5.0, 80.0)
"""Smallest and largest confinement radius (mm) offered for a scar proposal."""

LEAK_FRACTION = 0.6
"""A proposal filling more than this fraction of its confinement sphere has leaked."""

FAT_SUPPRESSION_WORDS: tuple[str, ...] = (" FS", "FATSAT", "FAT SAT", "SPAIR", "SPIR", "FS ")
"""Words in a series description that mark a fat-suppressed acquisition."""


def _fat_suppressed(volume: ImageVolume) -> bool:
    text = f" {volume.series_description.upper()} "
    options = str(volume.metadata.get("ScanOptions", "")).upper()
    return any(word in text for word in FAT_SUPPRESSION_WORDS) or "FS" in options.split("\\")


def preferred_scar_series(volumes: Sequence[ImageVolume]) -> ImageVolume | None:
    """The series to grow scar on: the last fat-suppressed MR, else the last MR, else the first."""
    mr = [v for v in volumes if v.modality.upper() == "MR"]
    fat_suppressed = [v for v in mr if _fat_suppressed(v)]
    chosen = fat_suppressed or mr or list(volumes[:1])
    return chosen[-1] if chosen else None


def _working_volume(
    volume: ImageVolume, seed: npt.NDArray[np.float64], radius_mm: float
) -> ImageVolume:
    """An isotropic grid at the finest spacing, along the series' axes, around the seed."""
    step = min(volume.spacing)
    d = volume.direction
    u = d[:, 0]
    w = np.cross(u, d[:, 1])
    w /= np.linalg.norm(w)
    v = np.cross(w, u)
    n = int(np.ceil(2 * radius_mm / step)) + 1
    affine = np.eye(4)
    affine[:3, :3] = np.stack([u, v, w], axis=1) * step
    affine[:3, 3] = seed - affine[:3, :3] @ np.full(3, (n - 1) / 2)
    floor = float(np.min(volume.array))
    array = resample_image(volume, affine, (n, n, n), order="linear", fill=floor)
    array = array.astype(np.float32, copy=False)
    return volume.with_array(array, affine=affine, sop_instance_uids=())


def propose_scar(
    volume: ImageVolume,
    seed_lps: PointLike,
    *,
    sensitivity: float | None = None,
    radius_mm: float = DEFAULT_GROW_RADIUS_MM,
    progress: Progress | None = None,
) -> npt.NDArray[np.bool_]:
    """A scar proposal grown from a click, as a mask on ``volume``'s own grid.

    Seconds of work on a large series: callers with a user waiting run it in a worker
    thread and pass ``progress``.

    Parameters
    ----------
    volume
        The series to grow on (`preferred_scar_series`).
    seed_lps
        The click inside the scar (LPS mm, or a `PatientPoint`: frame checked).
    sensitivity
        Intensity window in standard deviations; None: the widest that does not leak
        (`grow_scar_auto`).
    radius_mm
        Radius of the sphere around the click that confines the region.
    progress
        Called as ``progress(done, total)`` after each step (resampling, each window
        tried, the mask moved back); an exception it raises cancels the proposal and
        propagates (`blockplan.planning.scar.Progress`).

    Raises
    ------
    PlanningError
        Seed outside the series, nothing grown, or the region leaked (the message says
        what to do: lower the sensitivity, use a fat-suppressed series, or paint). A
        region that leaks is refused here, whoever calls.
    """
    seed, _frame = as_lps(seed_lps, "scar seed")
    if not volume.contains_lps(seed, margin=0.5):
        raise PlanningError(
            f"scar seed {fmt_lps(seed)} mm lies outside series "
            f"{volume.series_number or volume.series_instance_uid}: click inside the image"
        )
    total = 2 + (len(AUTO_MULTIPLIERS) if sensitivity is None else 1)
    report = progress or (lambda _done, _total: None)
    report(0, total)
    work = _working_volume(volume, seed, radius_mm)
    report(1, total)
    if sensitivity is None:
        mask, _multiplier = grow_scar_auto(
            work, seed_lps, max_radius_mm=radius_mm, progress=lambda n, _t: report(1 + n, total)
        )
    else:
        mask = grow_scar(work, seed_lps, multiplier=sensitivity, max_radius_mm=radius_mm)
        report(2, total)
    grown_ml = float(mask.sum()) * work.voxel_volume_ml()
    sphere_ml = 4 / 3 * np.pi * radius_mm**3 / 1000
    if grown_ml > LEAK_FRACTION * sphere_ml:
        raise PlanningError(
            f"the region leaked ({grown_ml:.0f} mL fills the {radius_mm:.0f} mm sphere around "
            "the click): lower the sensitivity, use a fat-suppressed post-contrast series, "
            "or paint the scar"
        )
    proposal = resample_mask(mask, work.affine, mask_grid_for(volume))
    report(total, total)
    return proposal


def scar_region_from_mask(
    mask: npt.NDArray[np.bool_],
    grid: MaskGrid,
    levels: Sequence[LevelMarker],
    *,
    method: str,
    previous: ScarRegion | None = None,
) -> ScarRegion:
    """A scar region with its volume per level (when two level markers exist).

    Keeps the id and label of ``previous`` (the region it replaces), if given.
    """
    per_level = scar_volume_per_level(mask, grid.affine_array(), levels) if len(levels) >= 2 else {}
    kept: dict[str, str] = {}
    if previous is not None:
        kept = {"id": previous.id, "label": previous.label}
    return ScarRegion.from_mask(
        mask.astype(bool), grid, method=method, volume_ml_per_level=per_level, **kept
    )


def with_scar(case: Case, region: ScarRegion | None) -> Case:
    """The case with ``region`` as its one scar region (None: no scar)."""
    for old in case.scar_regions:
        case = case.remove_item("scar_regions", old.id)
    return case.replace_item("scar_regions", region) if region is not None else case


def refresh_scar_levels(case: Case) -> Case:
    """The case with each scar region's volume per level recomputed from its level markers."""
    updated = case
    for region in case.scar_regions:
        per_level = (
            scar_volume_per_level(region.mask(), region.grid.affine_array(), case.levels)
            if len(case.levels) >= 2
            else {}
        )
        if per_level != region.volume_ml_per_level:
            fresh = region.model_copy(update={"volume_ml_per_level": per_level})
            updated = updated.replace_item("scar_regions", fresh)
    return updated


def paint_voxels(
    mask: npt.NDArray[np.bool_],
    grid: MaskGrid,
    points_lps: npt.ArrayLike,
    values: npt.ArrayLike,
) -> npt.NDArray[np.bool_]:
    """A copy of ``mask`` with the voxel nearest each painted point set to its value.

    ``points_lps`` are the centres of voxels painted (True) or erased (False) on another
    grid (``(n, 3)`` LPS mm); points outside the grid are ignored. A source voxel that
    several painted points fall into takes the value of the last of them.
    """
    out = np.array(mask, dtype=bool, copy=True)
    pts = np.atleast_2d(np.asarray(points_lps, dtype=np.float64))
    vals = np.broadcast_to(np.asarray(values, dtype=bool), (len(pts),))
    if not len(pts):
        return out
    inv = np.linalg.inv(grid.affine_array())
    idx = np.rint(pts @ inv[:3, :3].T + inv[:3, 3]).astype(np.int64)
    ok = np.all((idx >= 0) & (idx < np.array(out.shape[::-1])), axis=1)
    out[idx[ok, 2], idx[ok, 1], idx[ok, 0]] = vals[ok]
    return out
