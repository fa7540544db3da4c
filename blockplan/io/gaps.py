"""A series with a missing slice or irregular spacing: what a physician may choose.

``"refuse"`` (the default of `load_series`): the series is refused with the reason.
``"resample"``: loaded resampled linearly onto regular spacing (``allow_gaps=True``);
the volume says it is interpolated (`ImageVolume.is_interpolated`, its
``geometry_note``). ``"split"``: the series is cut where the spacing jumps into regular
runs, each a series of its own (`split_at_gaps`), so no voxel is invented.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Collection
from typing import TypedDict

import numpy as np

from blockplan.io._headers import FrameHeader
from blockplan.io.discovery import SeriesInfo, _label, assess
from blockplan.io.geometry import TiltMode, refusal_reason

__all__ = [
    "GAP_CHOICES",
    "GapChoice",
    "LoadOptions",
    "as_planned",
    "load_options",
    "planned_gaps",
    "split_at_gaps",
    "with_choices",
]

from blockplan._io_choices import GAP_CHOICES, GapChoice


def _runs(frames: list[FrameHeader]) -> list[list[FrameHeader]]:
    """Frames in slice order, cut where the spacing leaves the run's own spacing by more
    than max(0.05 mm, 2 %) — the regularity rule of `plan_grid`."""
    f0 = frames[0]
    assert f0.orientation is not None
    normal = np.cross(np.asarray(f0.orientation[:3]), np.asarray(f0.orientation[3:]))
    normal = normal / np.linalg.norm(normal)
    d = np.array([f.position for f in frames], dtype=np.float64) @ normal
    order = np.argsort(d, kind="stable")
    runs: list[list[FrameHeader]] = [[frames[order[0]]]]
    step: float | None = None
    for a, b in itertools.pairwise(order):
        s = float(d[b] - d[a])
        if step is not None and abs(s - step) > max(0.05, 0.02 * step):
            runs.append([])
            step = None
        elif step is None:
            step = s
        runs[-1].append(frames[b])
    return runs


def split_at_gaps(series: SeriesInfo) -> list[SeriesInfo]:
    """The regular runs of ``series`` as series of their own (``[series]`` when it has
    no gap or cannot be placed at all).

    Each part's key is the series key with ``part=N`` added; its reasons start with
    "part N of M (split at a gap)". Parts are assessed like any discovered series (a
    one-image part needs SliceThickness).
    """
    good = [f for f in series.frames if f.pixel_problem is None]
    if len(good) < 3 or refusal_reason(good) is not None:
        return [series]
    runs = _runs(good)
    if len(runs) == 1:
        return [series]
    parts: list[SeriesInfo] = []
    sep = "," if "|" in series.key else "|"
    for n, run in enumerate(runs, 1):
        key = f"{series.key}{sep}part={n}"
        status, reasons, grid = assess(run, _label(series.series_number, key))
        ordered = [run[i] for i in grid.order] if grid is not None else run
        parts.append(
            dataclasses.replace(
                series,
                key=key,
                n_images=len(run),
                files=list(dict.fromkeys(f.path for f in ordered)),
                status="warnings" if status == "ok" else status,  # a part: say so
                reasons=[f"part {n} of {len(runs)} (split at a gap)", *reasons],
                frames=tuple(run),
                grid=grid,
            )
        )
    return parts


def with_choices(
    series: list[SeriesInfo], gaps: GapChoice = "refuse", tilt: TiltMode = "shear"
) -> list[SeriesInfo]:
    """The series as they list and load under a physician's choices.

    ``gaps="split"``: each series with gaps is replaced by its regular parts.
    ``gaps="resample"`` or ``tilt="resample"``: each series is assessed again with
    those options (status, reasons and grid as `load_series` with ``allow_gaps=True`` /
    ``tilt="resample"`` would give); load it with `load_options`.
    """
    if gaps not in GAP_CHOICES or tilt not in ("shear", "resample"):
        raise ValueError(f"gaps must be one of {GAP_CHOICES} and tilt 'shear' or 'resample'")
    listed = [p for s in series for p in split_at_gaps(s)] if gaps == "split" else list(series)
    if gaps != "resample" and tilt == "shear":
        return listed
    out: list[SeriesInfo] = []
    for s in listed:
        if s.status == "refused" and not _gap_refusal(s):
            out.append(s)  # refused for another reason: no option helps
            continue
        notes = [r for r in s.reasons if r.startswith("part ") or "duplicate copies" in r]
        status, reasons, grid = assess(
            s.frames, s.label, notes, allow_gaps=gaps == "resample", tilt=tilt
        )
        out.append(dataclasses.replace(s, status=status, reasons=reasons, grid=grid))
    return out


def as_planned(series: list[SeriesInfo], resampled: Collection[str]) -> list[SeriesInfo]:
    """The series as a case was planned on them: those whose SeriesInstanceUID is in
    ``resampled`` (the case records them interpolated, `blockplan.case.SeriesRef`) listed
    as ``gaps="resample"`` lists them, the others unchanged. Load each with
    ``load_options(planned_gaps(info, resampled))``."""
    return [
        with_choices([s], gaps="resample")[0] if s.series_instance_uid in resampled else s
        for s in series
    ]


def planned_gaps(series: SeriesInfo, resampled: Collection[str]) -> GapChoice:
    """``"resample"`` for a series the case was planned on resampled, else ``"refuse"``."""
    return "resample" if series.series_instance_uid in resampled else "refuse"


def _gap_refusal(series: SeriesInfo) -> bool:
    """Whether the series was refused for its slice spacing (or a gap left by unreadable
    images) — what ``gaps="resample"`` can fix."""
    return any("spacing varies" in r or "leave a gap" in r for r in series.reasons)


class LoadOptions(TypedDict):
    """Keyword arguments of `load_series` (see `load_options`)."""

    allow_gaps: bool
    tilt: TiltMode


def load_options(gaps: GapChoice = "refuse", tilt: TiltMode = "shear") -> LoadOptions:
    """Keyword arguments of `load_series` for these choices."""
    return {"allow_gaps": gaps == "resample", "tilt": tilt}
