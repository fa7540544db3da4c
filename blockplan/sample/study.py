"""Generating the whole synthetic study: four series, ground truth and provenance.

The anatomy is fixed; the seed drives the image noise, the bone texture and the UIDs.
Series (all in one study and one frame of reference, patient supine head first):

* 2 ``CT LUMBAR SPINE BONE 1.0`` — axial, 0.7 mm pixels, 1.0 mm slices, T12 to S1,
  JPEG-LS lossless.
* 3 ``T2 SAG`` — 17 sagittal slices, 3.5 mm thick every 4.0 mm, 0.7 mm pixels, RLE lossless.
* 4 ``T1 AX POST GD`` — 36 slices, 3.5 mm every 4.0 mm, angled parallel to the L4–L5 disc,
  covering L3 to S1, 0.75 mm pixels, no fat suppression (fat bright, scar enhancing),
  uncompressed explicit VR little endian.
* 5 ``T1 AX POST GD FS`` — the same block with fat suppression (scar bright against dark
  fat, for segmenting it), RLE lossless.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from pydicom.uid import UID, ExplicitVRLittleEndian, JPEGLSLossless, RLELossless

from blockplan.sample.anatomy import CT_LEVELS
from blockplan.sample.imaging import Grid, label_grid, synthesize_ct, synthesize_mr
from blockplan.sample.phantom import Phantom
from blockplan.sample.targets import EntryLimits, plan_targets
from blockplan.sample.tissues import MR_T1_POST_GD, MR_T1_POST_GD_FS, MR_T2
from blockplan.sample.truth import write_provenance, write_truth
from blockplan.sample.writer import SeriesSpec, StudyUIDs, write_series

__all__ = ["DEFAULT_SEED", "SERIES_FOLDERS", "generate_sample_study", "series_specs"]

DEFAULT_SEED = 0
CT_PIXEL_MM = 0.7
CT_MATRIX = 256
CT_SLICE_MM = 1.0
#: FOV centre of the axial series in LPS (x, y): on the midline, so that the whole spine
#: and the posterior skin are inside (a spine-targeted reconstruction).
AXIAL_FOV_CENTER_XY = (0.0, 60.5)
T1_TILT_DEG = 12.0

SERIES_FOLDERS = ("S0002_CT", "S0003_MR_T2_SAG", "S0004_MR_T1_AX_GD", "S0005_MR_T1_AX_GD_FS")


@dataclass(frozen=True, slots=True)
class _Plan:
    ct: SeriesSpec
    t2: SeriesSpec
    t1: SeriesSpec


def _ct_grid(phantom: Phantom) -> Grid:
    """Axial CT grid from just above T12 to just below S1, instance 1 superior."""
    tops, bottoms = [], []
    for name in (CT_LEVELS[0], CT_LEVELS[-1]):
        v = phantom.spec[name]
        corners = np.array(
            [
                (x, a, u)
                for x in (-v.body_width / 2, v.body_width / 2)
                for a in (-v.body_depth / 2, v.body_depth / 2)
                for u in (-v.body_height / 2, v.body_height / 2)
            ]
        )
        z = phantom.vf[name].to_lps(corners)[:, 2]
        tops.append(z.max())
        bottoms.append(z.min())
    z_top = math.ceil(max(tops) + 4.0)
    z_bottom = math.floor(min(bottoms) - 2.0)
    n = round((z_top - z_bottom) / CT_SLICE_MM) + 1
    half = (CT_MATRIX - 1) / 2 * CT_PIXEL_MM
    cx, cy = AXIAL_FOV_CENTER_XY
    return Grid(
        shape=(n, CT_MATRIX, CT_MATRIX),
        row_direction=(1.0, 0.0, 0.0),
        column_direction=(0.0, 1.0, 0.0),
        first_position=(cx - half, cy - half, float(z_top)),
        pixel_spacing=(CT_PIXEL_MM, CT_PIXEL_MM),
        slice_step=-CT_SLICE_MM,
        slice_thickness=CT_SLICE_MM,
    )


def _t2_grid() -> Grid:
    """Sagittal T2: columns run anterior→posterior, rows superior→inferior, right→left."""
    n_slices, matrix, pixel = 17, 384, 0.7
    return Grid(
        shape=(n_slices, matrix, matrix),
        row_direction=(0.0, 1.0, 0.0),
        column_direction=(0.0, 0.0, -1.0),
        first_position=(-32.0, -118.8, 39.4),
        pixel_spacing=(pixel, pixel),
        slice_step=-4.0,  # the normal is −x: a negative step walks right → left (+x)
        slice_thickness=3.5,
    )


def _t1_grid(phantom: Phantom) -> Grid:
    """Axial T1 angled parallel to the L4–L5 disc, 36 slices from L3 down to S1."""
    t = math.radians(T1_TILT_DEG)
    row = (1.0, 0.0, 0.0)
    col = (0.0, math.cos(t), math.sin(t))
    normal = np.array([0.0, -math.sin(t), math.cos(t)])
    disc = phantom.df["L4-L5"].origin
    centre = np.array([0.0, disc[1], disc[2]]) + np.asarray(col) * 25.0
    n, matrix, pixel = 36, 256, 0.75
    half = (matrix - 1) / 2 * pixel
    first = centre + normal * 62.0 - np.asarray(row) * half - np.asarray(col) * half
    return Grid(
        shape=(n, matrix, matrix),
        row_direction=row,
        column_direction=col,
        first_position=(float(first[0]), float(first[1]), float(first[2])),
        pixel_spacing=(pixel, pixel),
        slice_step=-4.0,
        slice_thickness=3.5,
    )


def series_specs(phantom: Phantom) -> tuple[SeriesSpec, SeriesSpec, SeriesSpec, SeriesSpec]:
    """The four series: geometry, names, transfer syntaxes and modality attributes."""
    t1 = _t1_spec(phantom)
    return _ct_spec(phantom), _t2_spec(), t1, _t1fs_spec(t1)


def _ct_spec(phantom: Phantom) -> SeriesSpec:
    """Series 2: the axial bone-kernel CT, JPEG-LS lossless."""
    return SeriesSpec(
        number=2,
        description="CT LUMBAR SPINE BONE 1.0",
        modality="CT",
        grid=_ct_grid(phantom),
        transfer_syntax=UID(JPEGLSLossless),
        series_time="101812",
        folder=SERIES_FOLDERS[0],
        windows=((500.0, 2000.0, "BONE"), (40.0, 400.0, "SOFT TISSUE")),
        image_type=("ORIGINAL", "PRIMARY", "AXIAL"),
        rescale=(-1024.0, 1.0),
        attributes={
            "KVP": "120",
            "DataCollectionDiameter": "500",
            "ReconstructionDiameter": f"{CT_MATRIX * CT_PIXEL_MM:.1f}",
            "GantryDetectorTilt": "0",
            "TableHeight": "160",
            "RotationDirection": "CW",
            "ExposureTime": 1000,
            "XRayTubeCurrent": 250,
            "Exposure": 250,
            "FilterType": "BODY",
            "ConvolutionKernel": "BONE",
            "FocalSpots": "0.7",
        },
    )


def _mr_common() -> dict[str, Any]:
    """MR attributes shared by the three MR series (1.5 T spin echo, spine coil)."""
    return {
        "ScanningSequence": "SE",
        "MRAcquisitionType": "2D",
        "AngioFlag": "N",
        "ImagedNucleus": "1H",
        "ImagingFrequency": "63.87",
        "MagneticFieldStrength": "1.5",
        "NumberOfAverages": "2",
        "SpacingBetweenSlices": "4",
        "PercentSampling": "100",
        "PercentPhaseFieldOfView": "100",
        "ReceiveCoilName": "SPINE",
        "TransmitCoilName": "BODY",
    }


def _t2_spec() -> SeriesSpec:
    """Series 3: sagittal T2 turbo spin echo, RLE lossless."""
    return SeriesSpec(
        number=3,
        description="T2 SAG",
        modality="MR",
        grid=_t2_grid(),
        transfer_syntax=UID(RLELossless),
        series_time="103000",
        folder=SERIES_FOLDERS[1],
        windows=((430.0, 900.0, "T2"),),
        image_type=("ORIGINAL", "PRIMARY", "OTHER"),
        attributes={
            **_mr_common(),
            "SequenceVariant": ["SK", "SP", "OSP"],
            "ScanOptions": "",
            "SequenceName": "tse2d1_17",
            "RepetitionTime": "3500",
            "EchoTime": "96",
            "EchoTrainLength": 17,
            "FlipAngle": "150",
            "PixelBandwidth": "190",
            "AcquisitionMatrix": [384, 0, 0, 288],
            "InPlanePhaseEncodingDirection": "ROW",
        },
    )


def _t1_spec(phantom: Phantom) -> SeriesSpec:
    """Series 4: disc-angled axial T1 after gadolinium, uncompressed."""
    return SeriesSpec(
        number=4,
        description="T1 AX POST GD",
        modality="MR",
        grid=_t1_grid(phantom),
        transfer_syntax=UID(ExplicitVRLittleEndian),
        series_time="104500",
        folder=SERIES_FOLDERS[2],
        windows=((450.0, 900.0, "T1"),),
        image_type=("ORIGINAL", "PRIMARY", "OTHER"),
        attributes={
            **_mr_common(),
            "SequenceVariant": ["SK", "SP"],
            "ScanOptions": "",
            "SequenceName": "tse2d1_3",
            "RepetitionTime": "600",
            "EchoTime": "10",
            "EchoTrainLength": 3,
            "FlipAngle": "90",
            "PixelBandwidth": "150",
            "AcquisitionMatrix": [256, 0, 0, 205],
            "InPlanePhaseEncodingDirection": "ROW",
            "ContrastBolusAgent": "GADOBUTROL 1.0 MMOL/ML",
            "ContrastBolusRoute": "IV",
            "ContrastBolusVolume": "7.5",
            "ContrastBolusStartTime": "104000",
            "ContrastBolusIngredient": "GADOLINIUM",
        },
    )


def _t1fs_spec(t1: SeriesSpec) -> SeriesSpec:
    """Series 5: the T1 block repeated with fat suppression (scar bright against dark fat)."""
    return replace(
        t1,
        number=5,
        description="T1 AX POST GD FS",
        transfer_syntax=UID(RLELossless),
        series_time="104800",
        folder=SERIES_FOLDERS[3],
        windows=((400.0, 800.0, "T1 FS"),),
        attributes={**t1.attributes, "ScanOptions": "FS", "SequenceName": "tse2d1_3fs"},
    )


def _mr_labels(phantom: Phantom, grid: Grid) -> list[npt.NDArray[np.uint8]]:
    """Labels at two depths within each slice (±¼ thickness): through-slice partial volume."""
    q = grid.slice_thickness / 4
    return [label_grid(phantom, grid, offset_mm=-q), label_grid(phantom, grid, offset_mm=q)]


def generate_sample_study(
    out_dir: Path,
    seed: int = DEFAULT_SEED,
    progress: Callable[[int, int, str], None] | None = None,
) -> Path:
    """Write the synthetic post-operative lumbar spine study into ``out_dir``.

    Parameters
    ----------
    out_dir
        Target folder (created). Its series folders and truth files are replaced;
        other files are left alone.
    seed
        Drives the image noise, bone texture and UIDs (the anatomy is fixed). The same
        seed writes byte-identical files.
    progress
        Called as ``progress(done, total, what)`` before each of the steps and once at
        the end (``done == total``); None for none.

    Returns
    -------
    Path
        ``out_dir``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for folder in SERIES_FOLDERS:
        if (out_dir / folder).is_dir():
            shutil.rmtree(out_dir / folder)
    step = _stepper(progress, total=9)
    phantom = Phantom()
    uids = StudyUIDs.from_seed(seed)
    rng = np.random.default_rng(seed)
    specs = series_specs(phantom)
    ct_spec, t2_spec, t1_spec, t1fs_spec = specs

    step("CT: tissues")
    ct_labels = label_grid(phantom, ct_spec.grid)
    step("CT: pixels")
    ct_pixels = synthesize_ct(ct_labels, ct_spec.grid, rng)
    skin_l4 = _posterior_skin(phantom, float(phantom.vf["L4"].origin[2]))
    step("T2 sagittal")
    t2_pixels = synthesize_mr(_mr_labels(phantom, t2_spec.grid), MR_T2, t2_spec.grid, rng, skin_l4)
    step("T1 axial post-Gd")
    t1_labels = _mr_labels(phantom, t1_spec.grid)
    t1_pixels = synthesize_mr(t1_labels, MR_T1_POST_GD, t1_spec.grid, rng, skin_l4)
    step("T1 axial post-Gd, fat suppressed")
    t1fs_pixels = synthesize_mr(t1_labels, MR_T1_POST_GD_FS, t1fs_spec.grid, rng, skin_l4)

    files = {}
    pixels = (ct_pixels, t2_pixels, t1_pixels, t1fs_pixels)
    for spec, series_pixels in zip(specs, pixels, strict=True):
        step(f"writing {spec.folder}")
        files[spec.number] = write_series(out_dir, spec, series_pixels, uids, seed)

    grid = ct_spec.grid
    corner_z = [float(grid.position(0)[2]), float(grid.position(grid.shape[0] - 1)[2])]
    x_half = (grid.shape[2] - 1) / 2 * grid.pixel_spacing[1]
    limits = EntryLimits(x_max=x_half - 3.0, z_min=min(corner_z) + 3, z_max=max(corner_z) - 3)
    targets = plan_targets(phantom, limits)
    write_truth(out_dir, phantom, seed, uids, specs, files, ct_labels, targets)
    write_provenance(out_dir, seed, specs, files)
    step("done")
    return out_dir


def _stepper(progress: Callable[[int, int, str], None] | None, total: int) -> Callable[[str], None]:
    """``step(what)`` reports step n of ``total`` (n counted from 0) to ``progress``."""
    done = [0]

    def step(what: str) -> None:
        if progress is not None:
            progress(min(done[0], total), total, what)
        done[0] += 1

    return step


def _posterior_skin(phantom: Phantom, z: float) -> tuple[float, float, float]:
    """The skin point on the midline of the back at height ``z`` (LPS mm)."""
    y = np.arange(0.0, 250.0, 0.5)
    pts = np.stack([np.zeros_like(y), y, np.full_like(y, z)], axis=1)
    inside = np.nonzero(phantom.labels(pts) != 0)[0]
    return 0.0, float(y[inside[-1]]), z
