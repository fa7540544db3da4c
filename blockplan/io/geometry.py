"""Header-only slice geometry: where every voxel of a series lies in LPS millimetres.

This is the one place geometry is computed. Discovery (and ``blockplan series``) uses it
to report shape, spacing and affine without decoding a pixel; `load_series` uses the
same `plan_grid` result to place, blend or resample the decoded slices.

Conventions: voxel index ``(i, j, k)`` is (column, row, slice); the affine maps
``(i, j, k, 1)`` to DICOM patient coordinates (LPS, mm). Column 0 is
``ImageOrientationPatient[:3] * PixelSpacing[1]``, column 1 is
``ImageOrientationPatient[3:] * PixelSpacing[0]``, column 2 the step from slice to
slice (sorted by increasing projection on the slice normal ``row × column``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from blockplan._io_choices import TiltMode
from blockplan.errors import SeriesRefusedError
from blockplan.io._headers import FrameHeader

__all__ = [
    "INTERPOLATED_NOTE",
    "BlendPlan",
    "SliceGrid",
    "TiltMode",
    "TiltPlan",
    "coinciding_images",
    "orientation_label",
    "orientation_problem",
    "plan_grid",
    "refusal_reason",
]

# Tolerances (mm). The loader promises every voxel within 0.5 mm of its header position.
POSITION_TOLERANCE_MM = 0.25  # largest allowed distance of a slice from the fitted grid
DUPLICATE_TOLERANCE_MM = 0.01  # two slices closer than this along the normal coincide
SHEAR_SNAP_MM = 0.1  # in-plane drift over the whole stack below this: treated as orthogonal
ORTHONORMAL_TOLERANCE = 2e-3  # |length - 1| and |row · column| of ImageOrientationPatient
AXIS_TOLERANCE_DEG = 30.0
# geometry_note of a stack resampled along the slice axis: its slices are interpolated
INTERPOLATED_NOTE = (
    "resampled to regular spacing"  # a plane within this of a patient plane gets that plane's name
)


def orientation_label(orientation: Sequence[float] | None) -> str:
    """Name of the image plane: ``"axial"``, ``"sagittal"``, ``"coronal"`` or ``"oblique"``.

    The slice normal (row × column direction) within 30° of the patient z, x or y axis
    gives axial, sagittal or coronal, so disc-angled spine axials and gantry-tilted CT
    are ``"axial"``; a plane further than 30° from all three is ``"oblique"``. Without
    ImageOrientationPatient the label is ``"unknown"``.
    """
    if orientation is None:
        return "unknown"
    n = np.cross(np.asarray(orientation[:3], float), np.asarray(orientation[3:], float))
    norm = float(np.linalg.norm(n))
    if norm < 1e-6:
        return "unknown"
    n = np.abs(n / norm)
    axis = int(np.argmax(n))
    if math.degrees(math.acos(min(1.0, float(n[axis])))) > AXIS_TOLERANCE_DEG:
        return "oblique"
    return ("sagittal", "coronal", "axial")[axis]


@dataclass(frozen=True, slots=True)
class BlendPlan:
    """Linear resampling along the slice axis onto regular spacing.

    Output slice ``m`` is ``(1 - w[m]) * source[k0[m]] + w[m] * source[k0[m] + 1]``
    (source indices in sorted slice order).
    """

    k0: tuple[int, ...]
    w: tuple[float, ...]
    spacing_mm: float


@dataclass(frozen=True, slots=True)
class TiltPlan:
    """Resampling of a sheared (gantry-tilted) stack onto an orthogonal grid.

    Output slice ``k`` at output pixel ``(i', j')`` takes the source slice ``k`` at
    ``(i' + origin_offset[0] - k * shift[0], j' + origin_offset[1] - k * shift[1])``
    (bilinear). Both are in voxels of (column, row).
    """

    shift: tuple[float, float]
    origin_offset: tuple[float, float]
    source_shape: tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class SliceGrid:
    """The output voxel grid of a series and how to fill it from the sorted slices.

    Attributes
    ----------
    order
        Indices into the frames given to `plan_grid`, in slice order (increasing
        projection on the slice normal).
    affine
        4×4 matrix mapping output ``(i, j, k, 1)`` to LPS mm.
    shape
        Output ``(slices, rows, columns)``.
    note
        ``ImageVolume.geometry_note``: ``"regular"``, ``"sheared (gantry tilt 12.0°)"``, ….
    spacings_mm
        Distances between consecutive sorted slices along the normal, as found.
    tilt_deg
        Angle between the slice step and the slice normal (0 for orthogonal stacks).
    blend, tilt
        Resampling steps the loader applies, in this order (None: not needed).
    warnings
        GeometryWarning messages the loader emits.
    """

    order: tuple[int, ...]
    affine: npt.NDArray[np.float64]
    shape: tuple[int, int, int]
    note: str
    spacings_mm: tuple[float, ...]
    tilt_deg: float = 0.0
    blend: BlendPlan | None = None
    tilt: TiltPlan | None = None
    warnings: tuple[str, ...] = ()

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Length in mm of one output step along i (column), j (row) and k (slice)."""
        n = np.linalg.norm(self.affine[:3, :3], axis=0)
        return float(n[0]), float(n[1]), float(n[2])


def refusal_reason(frames: Sequence[FrameHeader]) -> str | None:
    """Why these frames can never form a volume (whatever the options), or None.

    The reason is a sentence fragment without the series label.
    """
    if not frames:
        return "no readable images"
    f0 = frames[0]
    if any(f.is_mosaic for f in frames):
        return (
            "Siemens MOSAIC images (several slices tiled in one image) cannot be placed "
            "in 3-D; ask for the series to be exported from the scanner or PACS as "
            "single slices, or pick another series"
        )
    if any(f.bits_allocated not in (8, 16, 32) for f in frames):
        return (
            f"BitsAllocated {f0.bits_allocated} is not supported (1 is a binary "
            "segmentation, not an image); pick a CT or MR series"
        )
    odd_bits = next((f for f in frames if not 1 <= f.bits_stored <= f.bits_allocated), None)
    if odd_bits is not None:
        return (
            f"BitsStored {odd_bits.bits_stored} with BitsAllocated {odd_bits.bits_allocated} "
            f"in {os.path.basename(odd_bits.path)} (stored bits must fit the allocated "
            "ones: damaged header); pick another series"
        )
    if any(f.samples_per_pixel != 1 for f in frames):
        return (
            f"colour images (SamplesPerPixel {f0.samples_per_pixel}, "
            f"{f0.photometric_interpretation}) are not volumes; pick a CT or MR series"
        )
    if any(f.position is None for f in frames):
        if f0.n_frames_in_file > 1 and not f0.enhanced:
            return (
                "multi-frame image without per-frame positions "
                "(no PerFrameFunctionalGroupsSequence); pick another series"
            )
        return (
            "images without ImagePositionPatient cannot be placed in 3-D (a screenshot, "
            "a secondary capture or a vendor's grid of several slices in one image); "
            "pick another series"
        )
    if any(f.orientation is None for f in frames):
        return "images without ImageOrientationPatient; pick another series"
    for ori in {f.orientation for f in frames}:
        bad = orientation_problem(ori)
        if bad is not None:
            return bad
    if any(f.pixel_spacing is None or min(f.pixel_spacing) <= 0 for f in frames):
        return "images without a valid PixelSpacing; pick another series"
    odd = _implausible_geometry(frames)
    if odd is not None:
        return odd
    o0 = np.asarray(f0.orientation, float)
    if any(np.max(np.abs(np.asarray(f.orientation, float) - o0)) > 1e-3 for f in frames):
        return "images of different orientations in one stack; pick another series"
    if any(f.pixel_spacing != f0.pixel_spacing for f in frames):
        sp = sorted({f.pixel_spacing for f in frames if f.pixel_spacing})
        return f"PixelSpacing differs between images ({sp[0]} vs {sp[-1]} mm)"
    return None


def _implausible_geometry(frames: Sequence[FrameHeader]) -> str | None:
    """PixelSpacing outside 0.001–1000 mm or a position beyond 100 m: a damaged header
    (such values make the voxel grid degenerate or overflow)."""
    for f in frames:
        assert f.pixel_spacing is not None and f.position is not None
        if not all(1e-3 <= v <= 1e3 for v in f.pixel_spacing):
            return (
                f"PixelSpacing {f.pixel_spacing[0]:g}\\{f.pixel_spacing[1]:g} mm is outside "
                "0.001–1000 mm (damaged header); pick another series"
            )
        if max(abs(v) for v in f.position) > 1e5:
            return (
                f"ImagePositionPatient {max(abs(v) for v in f.position):g} mm from the origin "
                "(beyond 100 m: damaged header); pick another series"
            )
    return None


def orientation_problem(orientation: Sequence[float] | None) -> str | None:
    """Why ImageOrientationPatient does not give two perpendicular unit vectors, or None.

    Each direction's length may differ from 1, and their dot product from 0, by
    `ORTHONORMAL_TOLERANCE` (values written with 3-4 decimals pass); beyond that the
    image axes are not trusted.
    """
    if orientation is None:
        return None
    r = np.asarray(orientation[:3], dtype=np.float64)
    c = np.asarray(orientation[3:], dtype=np.float64)
    lr, lc = float(np.linalg.norm(r)), float(np.linalg.norm(c))
    dot = float(r @ c)
    tol = ORTHONORMAL_TOLERANCE
    if abs(lr - 1.0) <= tol and abs(lc - 1.0) <= tol and abs(dot) <= tol:
        return None
    angle = math.degrees(math.acos(max(-1.0, min(1.0, dot / (lr * lc))))) if lr * lc else 0.0
    values = "\\".join(f"{v:g}" for v in orientation)
    return (
        f"ImageOrientationPatient {values} is not two perpendicular unit vectors (row "
        f"length {lr:.4f}, column length {lc:.4f}, angle {angle:.2f}°; tolerance {tol:g}): "
        "the image axes cannot be trusted; pick another series"
    )


def _unit(v: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    n = float(np.linalg.norm(v))
    if n < 1e-9:
        raise SeriesRefusedError("zero-length direction in ImageOrientationPatient")
    return v / n


def plan_grid(
    frames: Sequence[FrameHeader],
    label: str,
    *,
    allow_gaps: bool = False,
    tilt: TiltMode = "shear",
) -> SliceGrid:
    """Compute the output grid of a stack of frames from their headers alone.

    Parameters
    ----------
    frames
        The frames of one series (one orientation and image size), in any order.
    label
        How messages name the series, e.g. ``"Series 4 (UID 1.2.3)"``.
    allow_gaps
        Irregular spacing or a missing slice: False refuses, True plans linear
        resampling along the slice axis to the median spacing.
    tilt
        Gantry tilt (slice positions not along the normal): ``"shear"`` keeps the
        sheared affine (column 2 = actual slice step), ``"resample"`` plans bilinear
        resampling onto an orthogonal grid covering the acquired extent.

    Returns
    -------
    SliceGrid

    Raises
    ------
    SeriesRefusedError
        The frames cannot form a volume with these options; the message names the
        series, what was found and what to do.
    """
    reason = refusal_reason(frames)
    if reason is not None:
        raise SeriesRefusedError(f"{label}: {reason}.")
    f0 = frames[0]
    c0, c1, normal = _in_plane_steps(f0)
    order, p, d = _slice_order(frames, normal)
    order_t = tuple(int(i) for i in order)
    if len(frames) == 1:
        return _single_slice_grid(f0, label, order_t, p[0], c0, c1, normal)
    spacings = np.diff(d)
    _refuse_repeated_positions(frames, label)
    med = float(np.median(spacings))
    step, origin, regular = _fit_slice_line(p, spacings, med)
    blend: BlendPlan | None = None
    warnings: list[str] = []
    notes: list[str] = []
    if not regular:
        if not allow_gaps:
            raise SeriesRefusedError(_irregular_spacing_message(label, spacings, med))
        blend, step, origin = _plan_blend(label, p, d, med)
        notes.append(f"{INTERPOLATED_NOTE} {blend.spacing_mm:.2f} mm")
        warnings.append(_blend_warning(label, spacings, len(frames), blend))
    out_k = len(frames) if blend is None else len(blend.k0)
    tilted = _plan_tilt(step, origin, normal, c0, c1, (out_k, f0.rows, f0.columns), tilt)
    if tilted.note:
        notes.append(tilted.note)
    return SliceGrid(
        order=order_t,
        affine=_affine(c0, c1, tilted.step, tilted.origin),
        shape=tilted.shape,
        note="; ".join(notes) if notes else "regular",
        spacings_mm=tuple(float(x) for x in spacings),
        tilt_deg=tilted.tilt_deg,
        blend=blend,
        tilt=tilted.plan,
        warnings=tuple(warnings),
    )


_Vec = npt.NDArray[np.float64]


def _in_plane_steps(f0: FrameHeader) -> tuple[_Vec, _Vec, _Vec]:
    """Affine columns 0 and 1 (one column, one row step in mm) and the unit slice normal."""
    assert f0.orientation is not None and f0.pixel_spacing is not None
    row_dir = _unit(np.asarray(f0.orientation[:3], float))
    col_dir = _unit(np.asarray(f0.orientation[3:], float))
    normal = _unit(np.cross(row_dir, col_dir))
    return row_dir * f0.pixel_spacing[1], col_dir * f0.pixel_spacing[0], normal


def _slice_order(
    frames: Sequence[FrameHeader], normal: _Vec
) -> tuple[npt.NDArray[np.intp], _Vec, _Vec]:
    """Slice order (stable sort by projection on the normal), sorted positions, projections."""
    positions = np.array([f.position for f in frames], dtype=np.float64)
    proj = positions @ normal
    order = np.argsort(proj, kind="stable")
    return order, positions[order], proj[order]


def _single_slice_grid(
    f0: FrameHeader,
    label: str,
    order: tuple[int, ...],
    position: _Vec,
    c0: _Vec,
    c1: _Vec,
    normal: _Vec,
) -> SliceGrid:
    """A one-image series: the slice step is SliceThickness along the normal (refused without)."""
    thick = f0.slice_thickness
    if thick is None or thick <= 0:
        raise SeriesRefusedError(
            f"{label}: a single image without SliceThickness has no slice step; "
            "pick a series with several slices."
        )
    return SliceGrid(
        order=order,
        affine=_affine(c0, c1, normal * thick, position),
        shape=(1, f0.rows, f0.columns),
        note=f"single slice; slice step from SliceThickness {thick:.2f} mm",
        spacings_mm=(),
    )


def coinciding_images(frames: Sequence[FrameHeader]) -> str | None:
    """One phrase for all images that coincide (closer than `DUPLICATE_TOLERANCE_MM` along
    the slice normal), or None: how many positions occur more than once, how many images
    lie there, where along the normal and in which files, e.g. ``"2 slice position(s)
    occur more than once (4 images at 5.0–7.5 mm along the slice normal; files
    IM0003.dcm … IM0006.dcm)"``."""
    if not frames or frames[0].orientation is None or frames[0].pixel_spacing is None:
        return None
    if any(f.position is None for f in frames):
        return None
    order, _, d = _slice_order(frames, _in_plane_steps(frames[0])[2])
    close = np.diff(d) < DUPLICATE_TOLERANCE_MM
    if not np.any(close):
        return None
    at = np.zeros(len(d), dtype=bool)
    at[:-1] |= close
    at[1:] |= close
    n_positions = int(np.sum(close & ~np.concatenate(([False], close[:-1]))))
    lo, hi = float(np.min(d[at])), float(np.max(d[at]))
    where = f"{lo:.1f} mm" if hi - lo < 0.05 else f"{lo:.1f}–{hi:.1f} mm"
    names = sorted({os.path.basename(frames[int(i)].path) for i in order[at]})
    files = names[0] if len(names) == 1 else f"{names[0]} … {names[-1]}"
    return (
        f"{n_positions} slice position(s) occur more than once ({int(np.sum(at))} images at "
        f"{where} along the slice normal; file{'s' if len(names) > 1 else ''} {files})"
    )


def _refuse_repeated_positions(frames: Sequence[FrameHeader], label: str) -> None:
    """Refuse slices closer than `DUPLICATE_TOLERANCE_MM` along the normal (same position)."""
    coinciding = coinciding_images(frames)
    if coinciding is not None:
        raise SeriesRefusedError(
            f"{label}: {coinciding} and no AcquisitionNumber, EchoNumbers, ImageType or "
            "folder tells the volumes apart; refusing to stack them. Split the series "
            "(e.g. by export folder) or pick another."
        )


def _fit_slice_line(p: _Vec, spacings: _Vec, med: float) -> tuple[_Vec, _Vec, bool]:
    """Least-squares line through the sorted positions by index: ``p_k ≈ origin + k step``.

    The stack is regular when every spacing is within max(0.05 mm, 2 % of the median) of
    the median and every position within `POSITION_TOLERANCE_MM` of the line.
    Returns (step, origin, regular).
    """
    k = np.arange(len(p), dtype=np.float64)
    design = np.stack([np.ones_like(k), k], axis=1)
    coef, *_ = np.linalg.lstsq(design, p, rcond=None)
    b, s = coef[0], coef[1]
    resid_idx = float(np.max(np.linalg.norm(p - (b + k[:, None] * s), axis=1)))
    step_tol = max(0.05, 0.02 * med)
    regular = bool(np.max(np.abs(spacings - med)) <= step_tol) and (
        resid_idx <= POSITION_TOLERANCE_MM
    )
    return s, b, regular


def _irregular_spacing_message(label: str, spacings: _Vec, med: float) -> str:
    """Why an irregular stack is refused without ``allow_gaps``, and what to do."""
    lo, hi = float(np.min(spacings)), float(np.max(spacings))
    return (
        f"{label}: slice spacing varies {lo:.2f}–{hi:.2f} mm along the normal "
        f"(median {med:.2f} mm; a slice is missing or the spacing is irregular); "
        "open it resampled to regular spacing (marked as interpolated) or split at the "
        "gap — Study browser 'Gaps', `blockplan view --gaps resample|split`, "
        "load_series(allow_gaps=True) — or pick another series."
    )


def _plan_blend(label: str, p: _Vec, d: _Vec, med: float) -> tuple[BlendPlan, _Vec, _Vec]:
    """Linear resampling of an irregular stack to (about) the median spacing.

    Refused when the positions lie more than `POSITION_TOLERANCE_MM` off a straight line.
    Returns the plan and the output slice step and origin.
    """
    # Positions as a line in the projection: p ≈ a + d u (u · normal = 1).
    design_d = np.stack([np.ones_like(d), d], axis=1)
    coef_d, *_ = np.linalg.lstsq(design_d, p, rcond=None)
    a, u = coef_d[0], coef_d[1]
    resid_d = float(np.max(np.linalg.norm(p - (a + d[:, None] * u), axis=1)))
    if resid_d > POSITION_TOLERANCE_MM:
        raise SeriesRefusedError(
            f"{label}: slice positions lie up to {resid_d:.2f} mm off a straight line; "
            "they cannot be resampled onto one grid. Pick another series."
        )
    n_slices = len(d)
    extent = float(d[-1] - d[0])
    out_k = max(2, round(extent / med) + 1)
    spacing = extent / (out_k - 1)
    targets = d[0] + spacing * np.arange(out_k)
    k0 = np.clip(np.searchsorted(d, targets, side="right") - 1, 0, n_slices - 2)
    w = np.clip((targets - d[k0]) / (d[k0 + 1] - d[k0]), 0.0, 1.0)
    blend = BlendPlan(
        k0=tuple(int(x) for x in k0), w=tuple(float(x) for x in w), spacing_mm=spacing
    )
    return blend, u * spacing, a + d[0] * u


def _blend_warning(label: str, spacings: _Vec, n_slices: int, blend: BlendPlan) -> str:
    """The GeometryWarning of a resampled irregular stack."""
    lo, hi = float(np.min(spacings)), float(np.max(spacings))
    return (
        f"{label}: slice spacing varies {lo:.2f}–{hi:.2f} mm; resampled {n_slices} "
        f"slices to {len(blend.k0)} at regular spacing {blend.spacing_mm:.2f} mm "
        "(linear along the slice axis)."
    )


@dataclass(frozen=True, slots=True)
class _Tilted:
    """Outcome of `_plan_tilt`: the final slice step, origin, shape and tilt handling."""

    step: _Vec
    origin: _Vec
    shape: tuple[int, int, int]
    tilt_deg: float = 0.0
    plan: TiltPlan | None = None
    note: str = ""


def _plan_tilt(
    step: _Vec,
    origin: _Vec,
    normal: _Vec,
    c0: _Vec,
    c1: _Vec,
    shape: tuple[int, int, int],
    tilt: TiltMode,
) -> _Tilted:
    """Gantry tilt: a slice step off the normal.

    In-plane drift over the whole stack up to `SHEAR_SNAP_MM` is snapped to the normal
    (orthogonal). Beyond it, ``"shear"`` keeps the sheared step and ``"resample"`` plans
    `_resample_tilt`.
    """
    along = float(step @ normal)
    in_plane = step - along * normal
    drift = float(np.linalg.norm(in_plane)) * (shape[0] - 1)
    if drift <= SHEAR_SNAP_MM:
        return _Tilted(step=along * normal, origin=origin, shape=shape)
    tilt_deg = math.degrees(math.atan2(float(np.linalg.norm(in_plane)), along))
    if tilt == "resample":
        return _resample_tilt(along, in_plane, origin, normal, c0, c1, shape, tilt_deg)
    if tilt == "shear":
        return _Tilted(step, origin, shape, tilt_deg, note=f"sheared (gantry tilt {tilt_deg:.1f}°)")
    raise ValueError(f"tilt must be 'shear' or 'resample', not {tilt!r}")


def _resample_tilt(
    along: float,
    in_plane: _Vec,
    origin: _Vec,
    normal: _Vec,
    c0: _Vec,
    c1: _Vec,
    shape: tuple[int, int, int],
    tilt_deg: float,
) -> _Tilted:
    """Bilinear resampling of a sheared stack onto an orthogonal grid covering its extent."""
    out_k, rows, cols = shape
    plane = np.stack([c0, c1], axis=1)
    sol, *_ = np.linalg.lstsq(plane, in_plane, rcond=None)
    si, sj = float(sol[0]), float(sol[1])
    off_i = min(0.0, (out_k - 1) * si)
    off_j = min(0.0, (out_k - 1) * sj)
    new_cols = math.ceil(cols - 1 + (out_k - 1) * abs(si) - 1e-6) + 1
    new_rows = math.ceil(rows - 1 + (out_k - 1) * abs(sj) - 1e-6) + 1
    return _Tilted(
        step=along * normal,
        origin=origin + off_i * c0 + off_j * c1,
        shape=(out_k, new_rows, new_cols),
        tilt_deg=tilt_deg,
        plan=TiltPlan(shift=(si, sj), origin_offset=(off_i, off_j), source_shape=shape),
        note=(
            f"resampled to an orthogonal grid (gantry tilt {tilt_deg:.1f}°, "
            f"{cols}×{rows} → {new_cols}×{new_rows} pixels)"
        ),
    )


def _affine(
    c0: npt.NDArray[np.float64],
    c1: npt.NDArray[np.float64],
    c2: npt.NDArray[np.float64],
    origin: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    aff = np.eye(4)
    aff[:3, 0], aff[:3, 1], aff[:3, 2], aff[:3, 3] = c0, c1, c2, origin
    return aff


def apply_blend(
    array: npt.NDArray[np.float32 | np.float64], plan: BlendPlan
) -> npt.NDArray[np.float32]:
    """Linear interpolation along axis 0 following `plan` (float32 out)."""
    out = np.empty((len(plan.k0), *array.shape[1:]), dtype=np.float32)
    for m, (k0, w) in enumerate(zip(plan.k0, plan.w)):
        if w <= 1e-9:
            out[m] = array[k0]
        elif w >= 1 - 1e-9:
            out[m] = array[k0 + 1]
        else:
            np.multiply(array[k0], 1.0 - w, out=out[m], casting="unsafe")
            out[m] += w * array[k0 + 1].astype(np.float32)
    return out


def _shift_axis(
    src: npt.NDArray[np.float32], t: float, n_out: int, axis: int, fill: float
) -> npt.NDArray[np.float32]:
    """Sample ``src`` along ``axis`` at ``arange(n_out) + t`` (linear; outside -> fill)."""
    n_in = src.shape[axis]
    base = math.floor(t)
    frac = t - base
    idx = np.arange(n_out) + base
    lo = np.clip(idx, 0, n_in - 1)
    hi = np.clip(idx + 1, 0, n_in - 1)
    a = np.take(src, lo, axis=axis)
    if frac > 1e-9:
        out = a * np.float32(1.0 - frac) + np.take(src, hi, axis=axis) * np.float32(frac)
    else:
        out = a.astype(np.float32, copy=True)
    coord = idx + frac
    bad = (coord < -1e-6) | (coord > n_in - 1 + 1e-6)
    if np.any(bad):
        sl: list[slice | npt.NDArray[np.bool_]] = [slice(None)] * src.ndim
        sl[axis] = bad
        out[tuple(sl)] = fill
    return out


def apply_tilt(
    array: npt.NDArray[np.float32], plan: TiltPlan, out_shape: tuple[int, int, int], fill: float
) -> npt.NDArray[np.float32]:
    """Resample a sheared stack onto the orthogonal grid of `plan` (bilinear per slice)."""
    out = np.empty(out_shape, dtype=np.float32)
    si, sj = plan.shift
    oi, oj = plan.origin_offset
    for k in range(out_shape[0]):
        ti = oi - k * si
        tj = oj - k * sj
        tmp = _shift_axis(array[k].astype(np.float32, copy=False), ti, out_shape[2], 1, fill)
        out[k] = _shift_axis(tmp, tj, out_shape[1], 0, fill)
    return out
