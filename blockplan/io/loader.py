"""Loading a discovered series as an `ImageVolume` (pixels, exact affine, windows)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from blockplan.errors import DicomInputError, DicomReadWarning, GeometryWarning, SeriesRefusedError
from blockplan.io._guard import pass_callback, unexpected_errors
from blockplan.io._headers import FrameHeader, read_metadata
from blockplan.io._pixels import alloc, read_stored
from blockplan.io.discovery import Progress, SeriesInfo, discover, hard_refusal
from blockplan.io.geometry import (
    BlendPlan,
    SliceGrid,
    TiltMode,
    apply_blend,
    apply_tilt,
    plan_grid,
)
from blockplan.io.limits import claimed_size_problem
from blockplan.io.volume import ImageVolume, WindowPreset

__all__ = ["MODALITY_WINDOWS", "load_path", "load_series", "load_slice"]

# Default display windows (output units: HU for CT) when the headers carry none.
MODALITY_WINDOWS: dict[str, tuple[WindowPreset, ...]] = {
    "CT": (
        WindowPreset("bone", 400.0, 1800.0),
        WindowPreset("soft tissue", 40.0, 400.0),
        WindowPreset("spine soft tissue", 50.0, 350.0),
    ),
}

_INT_TYPES: tuple[np.dtype[Any], ...] = (np.dtype(np.int16), np.dtype(np.int32))


def _is_int(x: float) -> bool:
    return float(x).is_integer()


def _rescale(
    stored: npt.NDArray[Any], slopes: npt.NDArray[np.float64], icpts: npt.NDArray[np.float64]
) -> npt.NDArray[Any]:
    """Apply per-slice RescaleSlope/Intercept, choosing the smallest fitting dtype.

    Identity rescale keeps the stored integer type; integer slope and intercept give
    int16 (or int32 when the values need it; in place when possible); anything else
    gives float32.
    """
    if np.all(slopes == 1.0) and np.all(icpts == 0.0):
        return stored
    k = len(stored)
    mins = stored.reshape(k, -1).min(axis=1).astype(np.float64)
    maxs = stored.reshape(k, -1).max(axis=1).astype(np.float64)
    if np.all([_is_int(s) for s in slopes]) and np.all([_is_int(i) for i in icpts]):
        ends = np.concatenate(
            [mins, maxs, mins * slopes, maxs * slopes, mins * slopes + icpts, maxs * slopes + icpts]
        )
        lo, hi = float(ends.min()), float(ends.max())
        for dt in _INT_TYPES:
            info = np.iinfo(dt)
            if info.min <= lo and hi <= info.max:
                break
        else:
            dt = np.dtype(np.float64)
            _refuse_beyond(mins, maxs, slopes, icpts, float(np.finfo(np.float32).max))
        if dt.itemsize == stored.dtype.itemsize and dt.kind == "i":
            # same size: reinterpret in place (values fit, so the bits are the same)
            out = stored.view(dt)
        else:
            out = alloc(stored.shape, dt)
            for z in range(k):
                out[z] = stored[z]
        for z in range(k):
            if slopes[z] != 1.0:
                out[z] *= dt.type(slopes[z])
            if icpts[z] != 0.0:
                out[z] += dt.type(icpts[z])
        return out
    _refuse_beyond(mins, maxs, slopes, icpts, float(np.finfo(np.float32).max))
    out32 = alloc(stored.shape, np.float32)
    for z in range(k):
        np.multiply(stored[z], np.float32(slopes[z]), out=out32[z], casting="unsafe")
        out32[z] += np.float32(icpts[z])
    return out32


class NonFiniteValues(ValueError):
    """Rescaled values of some slices would not be finite numbers (``slices``: indices)."""

    def __init__(self, slices: list[int]) -> None:
        super().__init__(f"non-finite values in slices {slices}")
        self.slices = slices


def _refuse_beyond(
    mins: npt.NDArray[np.float64],
    maxs: npt.NDArray[np.float64],
    slopes: npt.NDArray[np.float64],
    icpts: npt.NDArray[np.float64],
    limit: float,
) -> None:
    """Raise `NonFiniteValues` when a slice's rescaled values leave ±``limit`` (the output
    type's range) or are NaN — before anything is computed (a 1e308 slope gives inf)."""
    with np.errstate(over="ignore", invalid="ignore"):
        ends = np.stack([mins * slopes + icpts, maxs * slopes + icpts])
        bad = ~np.all(np.isfinite(ends) & (np.abs(ends) <= limit), axis=0)
    if np.any(bad):
        raise NonFiniteValues([int(i) for i in np.flatnonzero(bad)])


def _windows(
    frame: FrameHeader, modality: str, array: npt.NDArray[Any]
) -> tuple[WindowPreset, ...]:
    n = min(len(frame.window_centers), len(frame.window_widths))
    presets = []
    for w in range(n):
        if frame.window_widths[w] <= 0:
            continue
        name = (
            frame.window_explanations[w]
            if w < len(frame.window_explanations)
            else f"header window {w + 1}"
        )
        presets.append(WindowPreset(name, frame.window_centers[w], frame.window_widths[w]))
    if presets:
        return tuple(presets)
    if modality in MODALITY_WINDOWS:
        return MODALITY_WINDOWS[modality]
    sample = array[:: max(1, array.shape[0] // 16), ::4, ::4]
    lo, hi = (float(v) for v in np.percentile(sample, [1.0, 99.0]))
    if hi <= lo:
        hi = lo + 1.0
    return (WindowPreset("auto (1st–99th percentile)", (lo + hi) / 2.0, hi - lo),)


def _to_dtype(array: npt.NDArray[np.float32], like: np.dtype[Any]) -> npt.NDArray[Any]:
    if like.kind in "iu":
        info = np.iinfo(like)
        return np.clip(np.rint(array), info.min, info.max).astype(like)
    return array


def _warn(message: str, category: type[Warning]) -> None:
    warnings.warn(category(message), stacklevel=3)


def load_series(
    series: SeriesInfo,
    allow_gaps: bool = False,
    tilt: TiltMode = "shear",
    *,
    progress: Progress | None = None,
) -> ImageVolume:
    """Load one discovered series as an `ImageVolume` in LPS millimetres.

    Parameters
    ----------
    series
        A `SeriesInfo` from `discover`.
    allow_gaps
        Irregular slice spacing or a missing slice is refused by default; True
        resamples linearly along the slice axis to the median spacing (and emits a
        `GeometryWarning`).
    tilt
        Gantry-tilted stacks: ``"shear"`` (default) keeps the acquired voxels with a
        sheared affine (column 2 = actual slice step, ``geometry_note``
        ``"sheared (gantry tilt X°)"``); ``"resample"`` resamples them bilinearly
        onto an orthogonal grid that covers the acquired extent (outside: the
        volume's minimum value).
    progress
        Called as ``progress(images_read, images)`` after each image is read (from the
        calling thread); an exception it raises cancels the load and propagates
        (`blockplan.io.discovery.Progress`). A 400-slice CT takes seconds: a GUI loads
        in a worker thread. Counting starts over if an unreadable image forces the
        stack to be planned again.

    Returns
    -------
    ImageVolume
        ``array[k, j, i]`` in output units (HU for CT): the stored integer type when
        no rescale applies, int16/int32 for integer slope and intercept, float32
        otherwise; resampled volumes keep that type (rounded). ``affine`` maps
        ``(i, j, k, 1)`` (column, row, slice) to LPS mm; every voxel lies within
        0.5 mm of where its header puts it.

    Raises
    ------
    SeriesRefusedError
        The series cannot be loaded without risking wrong geometry (mosaic, repeated
        positions, missing positions, irregular spacing without ``allow_gaps``, …).
        The message names the series (number and UID), what was found and what to do.

    Warns
    -----
    DicomReadWarning
        Files whose pixel data could not be read were skipped (the stack stays
        complete without them).
    GeometryWarning
        The slices were resampled to regular spacing (``allow_gaps=True``).
    """
    if tilt not in ("shear", "resample"):
        raise ValueError(f"tilt must be 'shear' or 'resample', not {tilt!r}")
    label = series.label
    with unexpected_errors(lambda why: SeriesRefusedError(f"{label}: loading {why}.")):
        return _load(series, allow_gaps, tilt, pass_callback(progress))


def _load(
    series: SeriesInfo, allow_gaps: bool, tilt: TiltMode, progress: Progress | None
) -> ImageVolume:
    """`load_series` without its safety net: refusals, pixels, values, the volume."""
    label = series.label
    frames = list(series.frames)
    hard = hard_refusal(frames)
    if hard is not None:
        raise SeriesRefusedError(f"{label}: {hard}.")

    bad: dict[str, str] = {f.path: f.pixel_problem for f in frames if f.pixel_problem}
    good = [f for f in frames if f.pixel_problem is None]
    grid, ordered, stored = _read_readable(good, label, bad, allow_gaps, tilt, progress)
    messages = _skipped_messages(label, bad, grid)
    for msg in messages:
        _warn(msg, DicomReadWarning)
    held = [stored]  # handed over, so the stored values are freed before resampling
    del stored
    array, sop_uids = _output_values(held, ordered, grid, label)
    for msg in grid.warnings:
        messages.append(msg)
        _warn(msg, GeometryWarning)

    f0 = ordered[0]
    try:
        return ImageVolume(
            array=array,
            affine=grid.affine,
            frame_of_reference_uid=f0.frame_of_reference_uid,
            modality=f0.modality,
            series_instance_uid=f0.series_instance_uid,
            study_instance_uid=f0.study_instance_uid,
            series_number=f0.series_number,
            series_description=f0.series_description,
            sop_instance_uids=sop_uids,
            windows=_windows(f0, f0.modality, array),
            geometry_note=grid.note,
            warnings=tuple(messages),
            metadata=_volume_metadata(series.key, ordered, grid),
        )
    except ValueError as err:  # ImageVolume validates its affine and array
        raise SeriesRefusedError(
            f"{label}: the headers give no usable voxel grid ({err}; PixelSpacing "
            f"{f0.pixel_spacing}, slice step from ImagePositionPatient); pick another series."
        ) from err


def _output_values(
    held: list[npt.NDArray[Any]], ordered: Sequence[FrameHeader], grid: SliceGrid, label: str
) -> tuple[npt.NDArray[Any], tuple[str, ...]]:
    """Rescaled values on the output grid (blended, tilt-resampled) and each output
    slice's SOPInstanceUID. Refuses non-finite values and grids above the ceiling.
    ``held`` holds the stored values (emptied here, so they are freed early)."""
    stored = held.pop()
    slopes = np.array([f.rescale_slope for f in ordered], dtype=np.float64)
    icpts = np.array([f.rescale_intercept for f in ordered], dtype=np.float64)
    try:
        array = _rescale(stored, slopes, icpts)
    except NonFiniteValues as err:
        raise SeriesRefusedError(_non_finite_message(label, ordered, err.slices)) from err
    del stored  # no longer needed: free it before resampling
    out_dtype = array.dtype
    sop_uids = tuple(f.sop_instance_uid for f in ordered)
    if grid.blend is not None or grid.tilt is not None:
        too_big = claimed_size_problem(*grid.shape, 4, what="the resampled slices")
        if too_big is not None:
            raise SeriesRefusedError(f"{label}: {too_big}.")
    if grid.blend is not None:
        array = _to_dtype(apply_blend(array, grid.blend), out_dtype)
        sop_uids = _blended_sop_uids(sop_uids, grid.blend)
    if grid.tilt is not None:
        fill = float(array.min())
        array = _to_dtype(
            apply_tilt(array.astype(np.float32, copy=False), grid.tilt, grid.shape, fill), out_dtype
        )
    return array, sop_uids


def _read_readable(
    good: list[FrameHeader],
    label: str,
    bad: dict[str, str],
    allow_gaps: bool,
    tilt: TiltMode,
    progress: Progress | None = None,
) -> tuple[SliceGrid, list[FrameHeader], npt.NDArray[Any]]:
    """Plan the grid and read the stored pixels, dropping images whose pixels fail.

    An image that cannot be decoded joins ``bad`` (path → why, updated in place) and
    the grid is planned again without it, so the stack is checked again (a gap is
    refused unless ``allow_gaps``). Returns the grid, the frames in slice order and
    their stored values.
    """
    while True:
        grid = _plan(good, label, bad, allow_gaps, tilt)
        ordered = [good[i] for i in grid.order]
        stored, errors = read_stored(ordered, progress=progress)
        if not errors:
            return grid, ordered, stored
        for slot, why in errors.items():
            bad[ordered[slot].path] = why
        keep = {id(f) for k, f in enumerate(ordered) if k not in errors}
        good = [f for f in good if id(f) in keep]
        if not good:
            raise SeriesRefusedError(
                f"{label}: no image could be read ({next(iter(errors.values()))})."
            )


def load_slice(series: SeriesInfo, k: int) -> ImageVolume:
    """Slice ``k`` of a series, read alone, as a one-slice `ImageVolume` at its place.

    For showing a series at once while `load_series` reads the rest: one image is
    decoded (milliseconds), and the result is what `load_series` gives for that slice —
    same values (output units, as float32), same position (``affine`` of the one-slice
    grid), same display windows from the headers (or the modality's; an MR without
    header windows gets the 1st–99th percentile of this slice).

    Raises
    ------
    SeriesRefusedError
        The series is refused, or its slices are resampled (irregular spacing, gantry
        tilt resampling) so no file holds slice ``k``: load the whole series.
    IndexError
        ``k`` is outside ``0 .. slices - 1``.
    """
    with unexpected_errors(
        lambda why: SeriesRefusedError(f"{series.label}: slice {k}: {why}."), (IndexError,)
    ):
        return _load_slice(series, k)


def _load_slice(series: SeriesInfo, k: int) -> ImageVolume:
    """`load_slice` without its safety net."""
    grid = series.grid
    if grid is None or series.status == "refused":
        raise SeriesRefusedError(f"{series.label}: {'; '.join(series.reasons) or 'refused'}.")
    if grid.blend is not None or grid.tilt is not None:
        raise SeriesRefusedError(
            f"{series.label}: its slices are resampled, so no image holds one slice; "
            "load the whole series (load_series)."
        )
    good = [f for f in series.frames if f.pixel_problem is None]
    ordered = [good[i] for i in grid.order]
    if not 0 <= k < len(ordered):
        raise IndexError(f"{series.label}: slice {k} outside 0..{len(ordered) - 1}")
    frame = ordered[k]
    stored, errors = read_stored([frame])
    if errors:
        raise SeriesRefusedError(f"{series.label}: slice {k}: {errors[0]}.")
    values = stored[0].astype(np.float32) * np.float32(frame.rescale_slope)
    values += np.float32(frame.rescale_intercept)
    affine = grid.affine.copy()
    affine[:3, 3] = grid.affine[:3, :3] @ np.array([0.0, 0.0, float(k)]) + grid.affine[:3, 3]
    f0 = ordered[0]
    return ImageVolume(
        array=values[None],
        affine=affine,
        frame_of_reference_uid=f0.frame_of_reference_uid,
        modality=f0.modality,
        series_instance_uid=f0.series_instance_uid,
        study_instance_uid=f0.study_instance_uid,
        series_number=f0.series_number,
        series_description=f0.series_description,
        sop_instance_uids=(frame.sop_instance_uid,),
        windows=_windows(f0, f0.modality, values[None]),
        geometry_note=grid.note,
    )


def _skipped_messages(label: str, bad: dict[str, str], grid: SliceGrid) -> list[str]:
    """One DicomReadWarning message per skipped file (by path), saying what became of it."""
    messages: list[str] = []
    for path, why in sorted(bad.items()):
        outcome = (
            "its slice was interpolated from the neighbours (allow_gaps=True)"
            if grid.blend is not None
            else "the remaining slices form a complete stack"
        )
        messages.append(f"{label}: skipped {os.path.basename(path)} ({why}); {outcome}.")
    return messages


def _non_finite_message(label: str, ordered: Sequence[FrameHeader], slices: list[int]) -> str:
    """Why rescaled values that are not finite numbers refuse the series."""
    f = ordered[slices[0]]
    names = ", ".join(os.path.basename(ordered[k].path) for k in slices[:3])
    more = f" and {len(slices) - 3} more" if len(slices) > 3 else ""
    return (
        f"{label}: RescaleSlope {f.rescale_slope:g} / RescaleIntercept "
        f"{f.rescale_intercept:g} of {names}{more} give values that are not finite "
        "numbers (beyond the output type's range); the header is damaged: pick another "
        "series or export it again."
    )


def _blended_sop_uids(sop_uids: tuple[str, ...], blend: BlendPlan) -> tuple[str, ...]:
    """SOPInstanceUID of each resampled slice: that of the nearer source slice (w ≥ 0.5:
    the next one)."""
    return tuple(sop_uids[k0 + (1 if w >= 0.5 else 0)] for k0, w in zip(blend.k0, blend.w))


def _volume_metadata(
    series_key: str, ordered: Sequence[FrameHeader], grid: SliceGrid
) -> dict[str, Any]:
    """ImageVolume.metadata: the first image's non-identifying header values, what the
    loader used (transfer syntaxes, spacing, rescale, image count) and the geometry found."""
    f0 = ordered[0]
    metadata: dict[str, Any] = read_metadata(f0.path)
    metadata.update(
        TransferSyntaxUID=f0.transfer_syntax_uid,
        TransferSyntaxUIDs=sorted({f.transfer_syntax_uid for f in ordered}),
        PixelSpacing=list(f0.pixel_spacing or ()),
        ImageOrientationPatient=list(f0.orientation or ()),
        SliceThickness=f0.slice_thickness,
        RescaleSlope=float(f0.rescale_slope),
        RescaleIntercept=float(f0.rescale_intercept),
        SourceImages=len(ordered),
        SeriesKey=series_key,
    )
    if grid.spacings_mm:
        metadata["SliceSpacingsFound"] = [round(x, 4) for x in grid.spacings_mm]
    if grid.tilt_deg:
        metadata["GantryTiltDegrees"] = round(grid.tilt_deg, 3)
    return metadata


def _plan(
    good: Sequence[FrameHeader],
    label: str,
    bad: dict[str, str],
    allow_gaps: bool,
    tilt: TiltMode,
) -> SliceGrid:
    try:
        return plan_grid(good, label, allow_gaps=allow_gaps, tilt=tilt)
    except SeriesRefusedError as err:
        if not bad:
            raise
        files = ", ".join(sorted(os.path.basename(p) for p in bad))
        raise SeriesRefusedError(
            f"{label}: unreadable file(s) {files} leave a gap in the stack; "
            f"{str(err).removeprefix(label + ': ')}"
        ) from err


def load_path(
    path: str | os.PathLike[str], allow_gaps: bool = False, tilt: TiltMode = "shear"
) -> list[ImageVolume]:
    """Load every loadable series under a file, folder or DICOMDIR.

    Parameters
    ----------
    path
        As for `discover`.
    allow_gaps, tilt
        Passed to `load_series` for every series.

    Returns
    -------
    list of ImageVolume
        In discovery order. Refused series are skipped with a `DicomReadWarning`
        naming the series and the reason.

    Raises
    ------
    DicomInputError
        No series could be loaded (the message counts refused series and skipped files).
    """
    found = discover(path)
    volumes: list[ImageVolume] = []
    refused: list[str] = []
    for s in found.series:
        try:
            volumes.append(load_series(s, allow_gaps=allow_gaps, tilt=tilt))
        except SeriesRefusedError as err:
            refused.append(str(err))
            _warn(f"{err} (series skipped)", DicomReadWarning)
    if not volumes:
        raise DicomInputError(
            f"{os.fspath(path)}: no loadable image series "
            f"({len(refused)} refused, {len(found.skipped)} files skipped as non-image or "
            "unreadable); run `blockplan series PATH` to see why."
        )
    return volumes
