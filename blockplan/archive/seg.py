"""Epidural scar as a DICOM Segmentation (SEG) of the source series, and back.

Where the frames go
-------------------
A `~blockplan.case.ScarRegion` is a mask on a `~blockplan.case.MaskGrid`, which may be
a transposed or flipped copy of the source series' grid (the napari plugin shows
volumes on world axes). The SEG is built so that a PACS viewer overlays it exactly:

1. **Exact index mapping** (the usual case). When every scar voxel centre coincides
   with a source voxel centre — the grids differ only by an axis permutation, flips
   and an integer offset, checked to 1e-3 voxel — the mask is carried onto the source
   image grid voxel by voxel. Frame ``n`` of the SEG then *is* source image ``n``
   (DerivationImageSequence names it), which every viewer handles.
2. **The mask's own grid** (exact, no resampling). When the grids are not so related
   (the volume was resampled, e.g. for irregular slice spacing) and the mask's grid is
   orthogonal, the mask is written on its own grid with explicit plane positions
   and orientation (highdicom `~highdicom.Volume`); the SEG still references the
   source series and frame of reference.
3. **Nearest neighbour** (last resort, for a sheared mask grid that does not match
   the source): each source voxel takes the mask value at its centre.

`read_seg_scar` does the reverse: the frames are stacked into a volume with its
affine (highdicom ``get_volume``), and when a ``reference_grid`` is given and related
exactly, the mask is carried back onto it, so a round trip returns the case's grid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import highdicom as hd
import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes

from blockplan.archive._common import (
    MANUFACTURER,
    derived_uid,
    new_uid,
    redact,
    software_version,
    with_type2,
)
from blockplan.case.model import MaskGrid, ScarRegion
from blockplan.errors import ArchiveError
from blockplan.io.resample import resample_mask

__all__ = [
    "SCAR_CATEGORY",
    "SCAR_TYPE",
    "SegBuild",
    "build_scar_seg",
    "map_mask_exact",
    "read_seg_scar",
    "read_seg_scars",
    "source_grid",
]

SCAR_CATEGORY = codes.SCT.MorphologicallyAbnormalStructure
"""SegmentedPropertyCategory: scar is a morphologic abnormality in SNOMED CT (12402003)."""

SCAR_TYPE = codes.SCT.ScarTissue
"""SegmentedPropertyType: SNOMED CT 12402003 "Scar tissue"."""

SCAR_REGION = codes.SCT.VertebralCanal
"""AnatomicRegionSequence: epidural scar lies in the vertebral canal."""

_INDEX_TOL = 1e-3  # voxels
_ALGORITHM = {"manual": "MANUAL", "region_grow": "SEMIAUTOMATIC", "imported": "MANUAL"}


@dataclass(frozen=True, slots=True)
class SegBuild:
    """A built SEG and how its frames relate to the source images.

    Attributes
    ----------
    dataset
        The Segmentation instance.
    placement
        ``"source-grid"`` (exact index mapping), ``"own-grid"`` (mask grid with explicit
        plane positions) or ``"resampled"`` (nearest neighbour onto the source grid).
    segment_numbers
        Region id → segment number.
    """

    dataset: Dataset
    placement: str
    segment_numbers: dict[str, int]


# --- geometry ---------------------------------------------------------------------------
def _frame_geometry(
    images: Sequence[Dataset],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], tuple[float, float], int, int]:
    """Per-frame positions, 3×2 row/column directions, (row, col) spacing, rows, columns."""
    if len(images) == 1 and "PerFrameFunctionalGroupsSequence" in images[0]:
        ds = images[0]
        shared = ds.SharedFunctionalGroupsSequence[0]
        per = ds.PerFrameFunctionalGroupsSequence

        def pick(frame: Dataset, seq: str) -> Dataset:
            source = frame if seq in frame else shared
            item: Dataset = source[seq].value[0]
            return item

        positions = np.array(
            [[float(v) for v in pick(f, "PlanePositionSequence").ImagePositionPatient] for f in per]
        )
        orientation = [
            float(v)
            for v in pick(per[0], "PlaneOrientationSequence")["ImageOrientationPatient"].value
        ]
        spacing = [float(v) for v in pick(per[0], "PixelMeasuresSequence").PixelSpacing]
    else:
        try:
            positions = np.array([[float(v) for v in im.ImagePositionPatient] for im in images])
            orientation = [float(v) for v in images[0].ImageOrientationPatient]
            spacing = [float(v) for v in images[0].PixelSpacing]
        except AttributeError as err:
            raise ArchiveError(
                f"source series {images[0].get('SeriesInstanceUID', '?')}: an image lacks "
                f"position, orientation or pixel spacing ({err}); a SEG cannot be placed on it"
            ) from err
    dirs = np.array([orientation[:3], orientation[3:]], dtype=np.float64).T
    rows, cols = int(images[0].Rows), int(images[0].Columns)
    return positions, dirs, (spacing[0], spacing[1]), rows, cols


def source_grid(images: Sequence[Dataset]) -> tuple[npt.NDArray[np.float64], tuple[int, int, int]]:
    """Affine ((i, j, k, 1) → LPS) and shape ``(k, j, i)`` of ordered source images.

    ``images`` are single-frame images in slice order (or one multi-frame image). The
    affine's slice column is the mean step between consecutive positions.

    Raises
    ------
    ArchiveError
        When the positions do not lie on one affine grid within 1e-3 mm (a missing
        slice or irregular spacing): such images have no single index grid.
    """
    positions, dirs, (drow, dcol), rows, cols = _frame_geometry(images)
    n = len(positions)
    affine = np.eye(4)
    affine[:3, 0] = dirs[:, 0] * dcol
    affine[:3, 1] = dirs[:, 1] * drow
    if n > 1:
        step = (positions[-1] - positions[0]) / (n - 1)
    else:
        normal = np.cross(dirs[:, 0], dirs[:, 1])
        step = normal * float(images[0].get("SliceThickness", 1.0) or 1.0)
    affine[:3, 2] = step
    affine[:3, 3] = positions[0]
    fitted = positions[0] + np.arange(n)[:, None] * step
    if np.abs(fitted - positions).max(initial=0.0) > 1e-3:
        raise ArchiveError(
            f"source series {images[0].get('SeriesInstanceUID', '?')}: slice positions "
            "are not evenly spaced (a missing slice?); the SEG is written on the mask's "
            "own grid instead"
        )
    return affine, (n, rows, cols)


def _index_map(
    from_affine: npt.NDArray[np.float64], to_affine: npt.NDArray[np.float64]
) -> npt.NDArray[np.int64] | None:
    """Integer 4×4 matrix taking (i, j, k, 1) of one grid to the other's, when exact."""
    m = np.linalg.solve(to_affine, from_affine)
    rounded = np.round(m)
    if np.abs(m - rounded).max() > _INDEX_TOL:
        return None
    lin = rounded[:3, :3]
    # a signed permutation: one ±1 per row and column
    if not (np.abs(lin).sum(axis=0) == 1).all() or not (np.abs(lin).sum(axis=1) == 1).all():
        return None
    return rounded.astype(np.int64)


def map_mask_exact(
    mask: npt.NDArray[np.bool_],
    from_affine: npt.NDArray[np.float64],
    to_affine: npt.NDArray[np.float64],
    to_shape: tuple[int, int, int],
) -> npt.NDArray[np.bool_] | None:
    """Carry a ``[k, j, i]`` mask onto another grid voxel by voxel, or None if not exact.

    Exact means the grids differ by an axis permutation, flips and an integer offset
    (to 1e-3 voxel). Raises `ArchiveError` when a set voxel falls outside the target grid.
    """
    m = _index_map(from_affine, to_affine)
    if m is None:
        return None
    k, j, i = np.nonzero(mask)
    src = np.stack([i, j, k, np.ones_like(i)])
    dst = m @ src
    ti, tj, tk = dst[0], dst[1], dst[2]
    inside = (
        (ti >= 0)
        & (ti < to_shape[2])
        & (tj >= 0)
        & (tj < to_shape[1])
        & (tk >= 0)
        & (tk < to_shape[0])
    )
    if not inside.all():
        raise ArchiveError(
            f"{int((~inside).sum())} scar voxel(s) lie outside the source images; the scar "
            "was drawn beyond the scanned volume. Erase it there and archive again."
        )
    out = np.zeros(to_shape, dtype=bool)
    out[tk, tj, ti] = True
    return out


def _is_orthogonal(affine: npt.NDArray[np.float64]) -> bool:
    d = affine[:3, :3] / np.linalg.norm(affine[:3, :3], axis=0)
    return bool(np.allclose(d.T @ d, np.eye(3), atol=1e-6))


def _to_hd_affine(affine: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    # ours: (i, j, k) = (column, row, slice); highdicom: (slice, row, column)
    return np.asarray(affine, dtype=np.float64)[:, [2, 1, 0, 3]]


def _from_hd_affine(affine: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.asarray(affine, dtype=np.float64)[:, [2, 1, 0, 3]]


# --- building ---------------------------------------------------------------------------
def _tracking_uid(region: ScarRegion) -> str:
    return derived_uid("blockplan-scar", region.grid.series_instance_uid, region.id)


def _segment(region: ScarRegion, number: int) -> hd.seg.SegmentDescription:
    algorithm = _ALGORITHM[region.method]
    algorithm_id = None
    if algorithm == "SEMIAUTOMATIC":
        algorithm_id = hd.AlgorithmIdentificationSequence(
            name="blockplan region grow",
            family=codes.cid7162.NeighborhoodAnalysis,
            version=software_version(),
            source=MANUFACTURER,
        )
    return hd.seg.SegmentDescription(
        segment_number=number,
        segment_label=(region.label or "epidural scar")[:64],
        segmented_property_category=SCAR_CATEGORY,
        segmented_property_type=SCAR_TYPE,
        algorithm_type=algorithm,
        algorithm_identification=algorithm_id,
        tracking_uid=_tracking_uid(region),
        tracking_id=f"scar:{region.id}",
        anatomic_regions=[SCAR_REGION],
    )


def build_scar_seg(
    regions: Sequence[ScarRegion],
    source_images: Sequence[Dataset],
    *,
    series_instance_uid: str | None = None,
    sop_instance_uid: str | None = None,
    series_number: int = 9903,
    instance_number: int = 1,
    series_description: str = "blockplan scar",
) -> SegBuild:
    """A BINARY SEG of scar regions, one segment each, on the source images.

    Parameters
    ----------
    regions
        Scar regions drawn on the series of ``source_images`` (same frame of reference).
    source_images
        Headers (pixel data not needed) of the source series in slice order — the order
        of `~blockplan.io.ImageVolume.sop_instance_uids` — or one multi-frame image.
    series_instance_uid, sop_instance_uid, series_number, instance_number, series_description
        Identity of the new SEG series and instance.

    Returns
    -------
    SegBuild
        The dataset and where its frames lie (see the module docs).

    Raises
    ------
    ArchiveError
        When there is no region, a region is empty, belongs to another frame of
        reference, or lies outside the images.
    """
    if not regions:
        raise ArchiveError("no scar region to archive; draw the scar first")
    if not source_images:
        raise ArchiveError("no source image headers given; the SEG must reference its images")
    source_images = with_type2(source_images)
    for_uid = str(source_images[0].get("FrameOfReferenceUID", ""))
    masks = _region_masks(regions, for_uid)
    placement, pixel_array = _place_masks(masks, regions, source_images, for_uid)
    seg = _segmentation(
        regions,
        source_images,
        pixel_array,
        series_instance_uid=series_instance_uid or new_uid(),
        sop_instance_uid=sop_instance_uid or new_uid(),
        series_number=series_number,
        instance_number=instance_number,
        series_description=series_description,
    )
    return SegBuild(
        dataset=seg,
        placement=placement,
        segment_numbers={r.id: n for n, r in enumerate(regions, start=1)},
    )


def _segmentation(
    regions: Sequence[ScarRegion],
    source_images: Sequence[Dataset],
    pixel_array: npt.NDArray[np.uint8] | hd.Volume,
    *,
    series_instance_uid: str,
    sop_instance_uid: str,
    series_number: int,
    instance_number: int,
    series_description: str,
) -> Dataset:
    """The highdicom BINARY Segmentation, one segment per region (empty frames omitted);
    highdicom's refusal becomes an `ArchiveError` naming the source series."""
    try:
        return hd.seg.Segmentation(
            source_images=list(source_images),
            pixel_array=pixel_array,
            segment_descriptions=[_segment(r, n) for n, r in enumerate(regions, start=1)],
            series_instance_uid=series_instance_uid,
            series_number=series_number,
            sop_instance_uid=sop_instance_uid,
            instance_number=instance_number,
            manufacturer=MANUFACTURER,
            manufacturer_model_name=MANUFACTURER,
            software_versions=software_version(),
            device_serial_number="none",
            content_label="SCAR",
            content_description="epidural scar",
            series_description=series_description,
            omit_empty_frames=True,
            **_BINARY,  # type: ignore[arg-type]
        )
    except (ValueError, TypeError) as err:
        raise ArchiveError(
            f"source series {source_images[0].get('SeriesInstanceUID', '?')}: highdicom "
            f"refused the scar SEG ({redact(str(err), source_images)})"
        ) from err


_BINARY = {"segmentation_type": "BINARY"}


def _region_masks(regions: Sequence[ScarRegion], for_uid: str) -> list[npt.NDArray[np.bool_]]:
    """Each region's mask; refused when a region is in another frame of reference or empty."""
    masks: list[npt.NDArray[np.bool_]] = []
    for region in regions:
        if region.grid.frame_of_reference_uid != for_uid:
            raise ArchiveError(
                f"scar region {region.id}: frame of reference {region.grid.frame_of_reference_uid}"
                f" differs from the source series' {for_uid or '(none)'}; draw the scar on "
                "the series it is archived with"
            )
        mask = region.mask()
        if not mask.any():
            raise ArchiveError(f"scar region {region.id} is empty; remove it or draw the scar")
        masks.append(mask)
    return masks


def _place_masks(
    masks: list[npt.NDArray[np.bool_]],
    regions: Sequence[ScarRegion],
    source_images: Sequence[Dataset],
    for_uid: str,
) -> tuple[str, npt.NDArray[np.uint8] | hd.Volume]:
    """Where the SEG frames go (see the module docs) and the pixel array for highdicom.

    In order of preference: ``"source-grid"`` when every mask maps exactly onto the
    source images, ``"own-grid"`` when all regions share one orthogonal grid,
    ``"resampled"`` (nearest neighbour) when the source images form a regular grid;
    refused otherwise. One segment gives a 3-D array, several a 4-D one (one per segment).
    """
    try:
        src_affine: npt.NDArray[np.float64] | None
        src_affine, src_shape = source_grid(source_images)
    except ArchiveError:
        src_affine, src_shape = None, (0, 0, 0)
    placed = None if src_affine is None else _exact_on_source(masks, regions, src_affine, src_shape)
    placement = "source-grid"
    pixel_array: npt.NDArray[np.uint8] | hd.Volume
    if placed is not None:
        pixel_array = np.stack(placed, axis=-1).astype(np.uint8)
    elif _share_one_orthogonal_grid(regions):
        placement = "own-grid"
        pixel_array = _own_grid_volume(masks, regions[0].grid, for_uid)
    elif src_affine is not None:
        placement = "resampled"
        pixel_array = np.stack(
            [
                resample_mask(m, r.grid.affine_array(), src_affine, src_shape)
                for m, r in zip(masks, regions)
            ],
            axis=-1,
        ).astype(np.uint8)
    else:
        raise ArchiveError(
            f"source series {source_images[0].get('SeriesInstanceUID', '?')}: irregular "
            "slice spacing and a sheared scar grid; the scar cannot be placed exactly. "
            "Draw the scar on a regularly spaced series."
        )
    if isinstance(pixel_array, np.ndarray) and pixel_array.shape[-1] == 1:
        pixel_array = pixel_array[..., 0]
    return placement, pixel_array


def _exact_on_source(
    masks: list[npt.NDArray[np.bool_]],
    regions: Sequence[ScarRegion],
    src_affine: npt.NDArray[np.float64],
    src_shape: tuple[int, int, int],
) -> list[npt.NDArray[np.bool_]] | None:
    """Every mask carried voxel by voxel onto the source grid, or None if any is not exact."""
    exact = [
        map_mask_exact(m, r.grid.affine_array(), src_affine, src_shape)
        for m, r in zip(masks, regions)
    ]
    if all(e is not None for e in exact):
        return [e for e in exact if e is not None]
    return None


def _share_one_orthogonal_grid(regions: Sequence[ScarRegion]) -> bool:
    """All regions on the same mask grid, and that grid orthogonal (not sheared)."""
    return len({r.grid.model_dump_json() for r in regions}) == 1 and _is_orthogonal(
        regions[0].grid.affine_array()
    )


def _own_grid_volume(masks: list[npt.NDArray[np.bool_]], grid: MaskGrid, for_uid: str) -> hd.Volume:
    """The masks on their own grid as a highdicom Volume, one channel per segment."""
    return hd.Volume(
        array=np.stack(masks, axis=-1).astype(np.uint8),
        affine=_to_hd_affine(grid.affine_array()),
        coordinate_system="PATIENT",
        frame_of_reference_uid=for_uid,
        channels={hd.ChannelDescriptor("SegmentNumber"): list(range(1, len(masks) + 1))},
    )


# --- reading ----------------------------------------------------------------------------
def _referenced_series(seg: Dataset) -> str:
    for item in seg.get("ReferencedSeriesSequence", []):
        uid = item.get("SeriesInstanceUID")
        if uid:
            return str(uid)
    return str(seg.SeriesInstanceUID)


def read_seg_scars(seg: Dataset, reference_grid: MaskGrid | None = None) -> tuple[ScarRegion, ...]:
    """Every segment of a scar SEG as a `~blockplan.case.ScarRegion`.

    Parameters
    ----------
    seg
        A Segmentation instance (written by blockplan or another tool).
    reference_grid
        Grid to carry the masks onto when it is exactly related to the SEG's frames
        (e.g. the case's grid before archiving); otherwise the SEG's own grid is used.

    Returns
    -------
    tuple of ScarRegion
        In segment-number order. Region ids come from ``TrackingID`` ``scar:<id>`` when
        present; ``volume_ml_per_level`` is empty (it lives in the SR).

    Raises
    ------
    ArchiveError
        When ``seg`` is not a Segmentation or its frames do not form a regular volume.
    """
    try:
        hseg = hd.seg.Segmentation.from_dataset(seg, copy=True)
    except (AttributeError, ValueError, TypeError, KeyError) as err:
        raise ArchiveError(
            f"SOPInstanceUID {seg.get('SOPInstanceUID', '?')}: not a readable Segmentation ({err})"
        ) from err
    series_uid = _referenced_series(seg)
    for_uid = str(seg.FrameOfReferenceUID)
    out: list[ScarRegion] = []
    for desc in seg.SegmentSequence:
        number = int(desc.SegmentNumber)
        try:
            vol = hseg.get_volume(segment_numbers=[number], combine_segments=True, relabel=True)
        except (ValueError, RuntimeError) as err:
            raise ArchiveError(
                f"SEG {seg.SOPInstanceUID}, segment {number}: frames do not form a regularly "
                f"spaced volume ({err})"
            ) from err
        mask = np.asarray(vol.array) > 0
        affine = _from_hd_affine(vol.affine)
        shape = (int(mask.shape[0]), int(mask.shape[1]), int(mask.shape[2]))
        grid = MaskGrid(
            shape=shape,
            affine=tuple(
                (float(row[0]), float(row[1]), float(row[2]), float(row[3])) for row in affine
            ),
            frame_of_reference_uid=for_uid,
            series_instance_uid=series_uid,
        )
        if reference_grid is not None and reference_grid.frame_of_reference_uid == for_uid:
            moved = map_mask_exact(
                mask, affine, reference_grid.affine_array(), reference_grid.shape
            )
            if moved is not None:
                mask, grid = moved, reference_grid
        tracking = str(desc.get("TrackingID", ""))
        algorithm = str(desc.get("SegmentAlgorithmType", "MANUAL"))
        method = {"MANUAL": "manual", "SEMIAUTOMATIC": "region_grow"}.get(algorithm, "imported")
        kwargs: dict[str, object] = {
            "label": str(desc.get("SegmentLabel", "epidural scar")),
            "method": method,
        }
        if tracking.startswith("scar:") and tracking[5:]:
            kwargs["id"] = tracking[5:]
        out.append(ScarRegion.from_mask(mask, grid, **kwargs))
    return tuple(out)


def read_seg_scar(
    seg: Dataset, reference_grid: MaskGrid | None = None, segment_number: int = 1
) -> ScarRegion:
    """One segment of a scar SEG (the first by default); see `read_seg_scars`."""
    regions = read_seg_scars(seg, reference_grid)
    numbers = [int(d.SegmentNumber) for d in seg.SegmentSequence]
    if segment_number not in numbers:
        raise ArchiveError(
            f"SEG {seg.get('SOPInstanceUID', '?')} has segments {numbers}; "
            f"segment {segment_number} does not exist"
        )
    return regions[numbers.index(segment_number)]
