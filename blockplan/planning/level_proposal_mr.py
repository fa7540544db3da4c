"""Automatic vertebral level proposal on a sagittal MR (T1- or T2-weighted).

The MR counterpart of `blockplan.planning.level_proposal` (same output, same principle:
when unsure, nothing is proposed for that level). The steps:

1. `sagittal_grid` — only a sagittal stack shows the column: axial, coronal and oblique
   stacks are refused with a reason. The series is re-indexed along LPS +x, +y, +z at
   about 1.5 mm in-plane and its signal divided by its 99th percentile; a series whose
   noise is more than 15 % of that signal is refused as too noisy.
2. `track_canal` — the spinal canal is a continuous band brighter (CSF on T2) or darker
   (CSF on T1) than the tissue 11 mm in front of and behind it; dynamic programming over
   the rows of every sagittal slice finds it, the clarity-weighted centre of the slices
   showing it best is the mid-sagittal position (`mid_sagittal_x`), dips ≤ 20 mm (the
   conus) are bridged. Both contrasts, and for each up to three paths, are tried
   (`find_column`); the one showing the most whole bodies wins.
3. `column_profile` — along the canal (smoothed, every 1 mm), the median signal 10–24 mm
   in front of it: the posterior half of the vertebral bodies and the discs.
4. `split_column` — the bodies' signal is the profile's running median (`deviation`);
   discs are runs 2.5–18 mm long that differ from it by ≥ 30 % either way (bright T2
   discs, dark T1 or degenerated discs; the dark endplates join them); the bone between
   two is a body.
5. `find_sacrum_mr` — the lowest segment under a whole body (L5) is the sacrum when it
   runs ≥ 32 mm without a full disc (S1 and S2 fused) and leans ≥ 20° from the
   cranio-caudal axis, its upper end forward (the promontory). A faint disc-like band
   12–40 mm below its top (`faint_disc_below`: a sacralised L5's thin disc, or a
   rudimentary S1-S2 disc) makes the count ambiguous, and so does another reading of the
   column that sees one or puts the sacrum's top elsewhere (`readings_disagree`).
6. Count up from the sacrum through whole bodies and discs (`level_proposal._chain`).
   The lowest ribs are not on a lumbar sagittal MR: the count rests on the sacrum alone,
   and every reason says so.

Positions are DICOM patient coordinates (LPS, mm); centres lie on the bodies' centre
line (the canal's curve moved forward by the bodies' measured mid-depth and re-measured
by its own length, `on_the_bodies_line`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from blockplan.io.volume import ImageVolume
from blockplan.planning.level_proposal import (
    F32,
    F64,
    Column,
    Count,
    LevelProposal,
    Segment,
    SpineCurve,
    WorkGrid,
    _box_mean,
    _chain,
    _drop_short,
    _gaussian_1d,
    _levels,
    _lps,
    _runs,
    _sample,
    column_from_disc_mask,
    patient_axes_view,
    spine_curve,
)

__all__ = ["MR_CONFIDENCE", "propose_levels_mr", "series_for_levels"]

MR_SPACING_MM = 1.5
#: A stack whose slice normal lies within this angle of patient left-right is sagittal.
SAGITTAL_TOLERANCE_DEG = 25.0
MAX_NOISE = 0.15  # noise / tissue signal (99th percentile)
CANAL_BOX_MM = (15.0, 5.0)  # cranio-caudal, antero-posterior
CANAL_FLANK_MM = 11.0
MIN_CANAL_MM = 60.0
PATHS_TRIED = 3
CANAL_GAP_MM = 20.0
CANAL_TRIM = 0.25  # the canal shows where its score is ≥ this × its 75th percentile
STRIP_MM = (10.0, 24.0)  # in front of the canal's centre: the bodies' posterior half
DISC_CONTRAST = 0.30
FAINT_DISC = 0.15
DISC_RUN_MM = (2.5, 18.0)
MAX_BODY_NOISE = 0.10
SACRUM_MIN_MM = 32.0
SACRUM_TILT_DEG = 20.0
#: Confidence of a level counted from the sacrum alone on MR (CT: 0.75, both anchors 0.95).
MR_CONFIDENCE = 0.6

FROM_SACRUM_MR = (
    "counted up from the sacrum on the sagittal MR (the lowest ribs are not visible on "
    "it: the count rests on the sacrum alone)"
)
SACRUM_ALONE = (
    "the lowest ribs are not visible on a sagittal lumbar MR: the count rests on the "
    "sacrum alone — a transitional vertebra (L6, sacralised L5) would shift every name by "
    "one; check the count on a CT or an image that shows the lowest ribs"
)


# --- 1. the sagittal grid --------------------------------------------------------------
def stack_orientation(volume: ImageVolume) -> str:
    """``"sagittal"``, ``"axial"``, ``"coronal"`` or ``"oblique"``: the slice normal's axis."""
    normal = volume.direction[:, 2]
    axis = int(np.argmax(np.abs(normal)))
    if abs(normal[axis]) < math.cos(math.radians(SAGITTAL_TOLERANCE_DEG)):
        return "oblique"
    return ("sagittal", "coronal", "axial")[axis]


_REFUSED = {
    "axial": "an axial MR stack does not show the column; choose the sagittal series",
    "coronal": "a coronal MR stack does not show the column's discs; choose the sagittal series",
    "oblique": (
        f"an oblique MR stack (more than {SAGITTAL_TOLERANCE_DEG:.0f}° from sagittal) does not "
        "show the column; choose the sagittal series"
    ),
}


def noise_fraction(image: F32) -> float:
    """Noise relative to the tissue signal: the robust spread of differences between
    neighbouring pixels along the rows (edges are few), over the 99th percentile."""
    d = np.diff(image[:, :, :: max(1, image.shape[2] // 8)], axis=1)
    mad = float(np.median(np.abs(d - np.median(d))))
    return 1.4826 * mad / math.sqrt(2.0)


def sagittal_grid(volume: ImageVolume) -> WorkGrid | str:
    """The MR as a `WorkGrid` (``hu`` holds signal / 99th percentile) or why it cannot be."""
    orientation = stack_orientation(volume)
    if orientation != "sagittal":
        return _REFUSED[orientation]
    got = patient_axes_view(volume, MR_SPACING_MM)
    if isinstance(got, str):
        return got.replace("axially or sagittally", "sagittally")
    view, affine = got
    image = np.array(view, dtype=np.float32)
    scale = float(np.percentile(image[:: max(1, image.shape[0] // 64)], 99))
    if not scale > 0:
        return "the series holds no signal"
    image /= np.float32(scale)
    noise = noise_fraction(image)
    if noise > MAX_NOISE:
        return (
            f"too noisy to tell bodies from discs (noise ≈ {100 * noise:.0f} % of the tissue "
            f"signal, expected ≤ {100 * MAX_NOISE:.0f} %): choose a less noisy sagittal series"
        )
    spacing = tuple(float(v) for v in np.linalg.norm(affine[:3, :3], axis=0))
    return WorkGrid(image, (spacing[0], spacing[1], spacing[2]), affine, np.zeros((1, 1, 1), bool))


# --- 2. the canal ------------------------------------------------------------------------
def canal_score(grid: WorkGrid, bright: bool, chunk: int = 4) -> F32:
    """``[z, y, x]``: how much a 15 × 5 mm box is brighter (``bright``) or darker than the
    same box 11 mm in front of it and 11 mm behind it, whichever differs less. Slices are
    taken ``chunk`` at a time, so the temporaries stay small."""
    _sx, sy, sz = grid.spacing
    size = (max(3, round(CANAL_BOX_MM[0] / sz)) | 1, max(3, round(CANAL_BOX_MM[1] / sy)) | 1)
    off = max(1, round(CANAL_FLANK_MM / sy))
    out = np.empty(grid.hu.shape, dtype=np.float32)
    for x0 in range(0, grid.hu.shape[2], chunk):
        box = _box_mean(grid.hu[:, :, x0 : x0 + chunk], size, axes=(0, 1))
        padded = np.pad(box, ((0, 0), (off, off), (0, 0)), mode="edge")
        front, back = padded[:, : -2 * off], padded[:, 2 * off :]
        score = box - np.maximum(front, back) if bright else np.minimum(front, back) - box
        out[:, :, x0 : x0 + chunk] = np.clip(score, -0.3, 1.0)
    return out


def _best_paths(score: F32, max_step: int) -> tuple[npt.NDArray[np.int64], F64]:
    """Every sagittal slice of ``score [z, y, x]`` at once: per row the column ``y``
    maximising the summed score, moving at most ``max_step`` columns per row (a small
    penalty per column moved). Returns the paths and the score along them, ``(nz, nx)``."""
    nz, ny, nx = score.shape
    total = score[0].astype(np.float64)
    back = np.zeros((nz, ny, nx), dtype=np.int8)  # where each row's best came from: y + back
    for z in range(1, nz):
        best, arg = total.copy(), np.zeros((ny, nx), dtype=np.int8)
        for d in range(1, max_step + 1):
            for offset in (-d, d):
                cand = np.full_like(total, -np.inf)
                if offset < 0:
                    cand[d:] = total[:-d]
                else:
                    cand[:-d] = total[d:]
                cand -= 0.02 * d
                better = cand > best
                best[better], arg[better] = cand[better], offset
        back[z] = arg
        total = best + score[z]
    cols = np.arange(nx)
    path = np.zeros((nz, nx), dtype=np.int64)
    path[-1] = np.argmax(total, axis=0)
    for z in range(nz - 1, 0, -1):
        path[z - 1] = path[z] + back[z, path[z], cols]
    along: F64 = np.take_along_axis(score, path[:, None, :], axis=1)[:, 0, :].astype(np.float64)
    return path, along


@dataclass(frozen=True, slots=True)
class Canal:
    """The canal on the mid-sagittal slice: rows ``z0…z1`` (working index) and per row
    ``(y, x)`` in working mm; ``clarity`` is the mean score along it."""

    yx: F64
    z0: int
    clarity: float
    bright: bool
    rows_y: F64  # (nz,) the whole path, y in working mm per row (what a next try avoids)


def mid_sagittal_x(clarity: F64, best: int) -> float:
    """The slice index (fractional) of the canal's middle: the clarity-weighted centre of
    the slices beside the clearest one that show it at ≥ 80 % of its clarity."""
    lo, hi = best, best
    while lo > 0 and clarity[lo - 1] >= 0.8 * clarity[best]:
        lo -= 1
    while hi < len(clarity) - 1 and clarity[hi + 1] >= 0.8 * clarity[best]:
        hi += 1
    w = clarity[lo : hi + 1]
    return float(np.sum(w * np.arange(lo, hi + 1)) / np.sum(w))


def track_canal(grid: WorkGrid, bright: bool, avoid: tuple[F64, ...] = ()) -> Canal | str:
    """The clearest continuous canal over every sagittal slice, trimmed to where it shows.

    ``avoid``: paths found before (y mm per row); nothing within 12 mm of them is tried.
    """
    sx, sy, sz = grid.spacing
    score = canal_score(grid, bright)
    ys = np.arange(score.shape[1]) * sy
    for rows_y in avoid:
        score[np.abs(ys[None, :] - rows_y[:, None]) <= 12.0] = -0.3
    max_step = max(1, math.ceil(1.5 * sz / sy))
    paths, alongs = _best_paths(score, max_step)
    means: F64 = alongs.mean(axis=0)
    i = int(np.argmax(means))
    path, along = paths[:, i], alongs[:, i]
    x_mm = mid_sagittal_x(means, i) * sx
    smooth = _gaussian_1d(along, 4.5 / sz)
    strong = smooth > max(0.05, CANAL_TRIM * float(np.percentile(smooth, 75)))
    _drop_short(strong, False, CANAL_GAP_MM / sz)  # the conus, a narrow level: bridged
    runs = _runs(strong)
    if not runs:
        return "no spinal canal found on any sagittal slice"
    a, b = max(runs, key=lambda r: r[1] - r[0])
    if (b - a) * sz < MIN_CANAL_MM:
        return (
            f"the spinal canal could be followed over only {(b - a) * sz:.0f} mm "
            f"(expected ≥ {MIN_CANAL_MM:.0f} mm): no column found"
        )
    yx = np.stack([path[a:b] * sy, np.full(b - a, x_mm)], axis=1).astype(np.float64)
    return Canal(yx, a, float(along[a:b].mean()), bright, path.astype(np.float64) * sy)


def canal_curve(grid: WorkGrid, canal: Canal) -> SpineCurve:
    """The canal's centre line, smoothed, every 1 mm from caudal to cranial (working mm)."""
    curve = spine_curve(grid, canal.yx, (5.0, 5.0))
    shift = np.array([0.0, 0.0, canal.z0 * grid.spacing[2]])
    return SpineCurve(curve.points + shift, curve.tangents, curve.laterals)


def anterior(curve: SpineCurve) -> F64:
    """Unit vectors in the sagittal plane, perpendicular to the curve, towards anterior."""
    t = curve.tangents
    a = np.stack([np.zeros(len(t)), -t[:, 2], t[:, 1]], axis=1)
    out: F64 = a / np.linalg.norm(a, axis=1, keepdims=True)
    return out


# --- 3. the profile in front of the canal --------------------------------------------------
def column_profile(grid: WorkGrid, curve: SpineCurve) -> F64:
    """Median signal 10–24 mm in front of the canal (±1 mm along it), every 1 mm."""
    depths = np.arange(STRIP_MM[0], STRIP_MM[1] + 0.5, 1.0)
    along = np.array([-1.0, 0.0, 1.0])
    a = anterior(curve)
    pts = (
        curve.points[:, None, None, :]
        + depths[None, :, None, None] * a[:, None, None, :]
        + along[None, None, :, None] * curve.tangents[:, None, None, :]
    ).reshape(len(curve.points), -1, 3)
    vals = _sample(grid, pts)
    inside = np.isfinite(vals).mean(axis=1) >= 0.5
    prof = np.full(len(vals), np.nan)
    if inside.any():
        prof[inside] = np.nanmedian(vals[inside], axis=1)
    return prof


# --- 4. bodies and discs ------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Deviation:
    """The profile relative to the bodies' signal (its running median over 61 mm), from
    ``s = first`` (mm along the curve) every 1 mm: 0 in a body, ±0.3 or more in a disc."""

    first: int
    values: F64

    def between(self, lo: float, hi: float) -> F64:
        """The values from ``s = lo`` to ``hi``."""
        out: F64 = self.values[max(0, int(lo) - self.first) : max(0, int(hi) - self.first)]
        return out


def deviation(profile: F64) -> Deviation | str:
    """The profile's `Deviation`, or why there is too little of it."""
    valid = np.flatnonzero(np.isfinite(profile))
    if len(valid) < MIN_CANAL_MM:
        return f"less than {MIN_CANAL_MM:.0f} mm of the column could be followed"
    first, last = int(valid[0]), int(valid[-1])
    s = np.arange(first, last + 1, dtype=np.float64)
    p = _gaussian_1d(np.interp(s, valid, profile[valid]), 1.0)
    window = np.lib.stride_tricks.sliding_window_view(np.pad(p, 30, mode="edge"), 61)
    level = np.maximum(np.median(window, axis=1), 1e-6)
    return Deviation(first, p / level - 1.0)


def split_column(dev_or_why: Deviation | str) -> Column | str:
    """Discs: runs 2.5–18 mm differing ≥ 30 % from the running median; bodies between."""
    if isinstance(dev_or_why, str):
        return dev_or_why
    first, dev = dev_or_why.first, dev_or_why.values
    odd = np.abs(dev) >= DISC_CONTRAST
    _drop_short(odd, False, 3.0)
    _drop_short(odd, True, DISC_RUN_MM[0])
    body_noise = 1.4826 * float(np.median(np.abs(dev[~odd]))) if (~odd).any() else 1.0
    if body_noise > MAX_BODY_NOISE or odd.all():
        return (
            f"the signal inside the bodies varies by ±{100 * body_noise:.0f} % (expected "
            f"≤ {100 * MAX_BODY_NOISE:.0f} %): too noisy to tell the bodies from the discs"
        )
    return column_from_disc_mask(odd, first)


def _whole(column: Column | str) -> int:
    return 0 if isinstance(column, str) else sum(b.is_whole_body for b in column.bodies)


# --- 5. the sacrum -------------------------------------------------------------------------
def tilt_deg(curve: SpineCurve, lo: float, hi: float) -> float:
    """Signed angle (°) of the curve between ``lo`` and ``hi`` from the cranio-caudal axis:
    positive when its upper end lies forward (anterior) of its lower end."""
    i0 = int(np.clip(round(lo), 0, len(curve.points) - 1))
    i1 = int(np.clip(round(hi), 0, len(curve.points) - 1))
    d = curve.points[i1] - curve.points[i0]
    return math.degrees(math.atan2(-d[1], d[2]))


def faint_disc_below(dev: Deviation, seg: Segment) -> float | None:
    """How far below the top of ``seg`` (mm) a thin disc-like band lies, or None.

    A band ≥ 2 mm long of ≥ 15 % deviation (gaps ≤ 2 mm bridged) that reaches a disc's
    30 % somewhere, 12–40 mm below the top (where a sacralised L5's thin L5-S1 disc, or a
    rudimentary S1-S2 disc, lies): a disc too thin to be counted as one (the cortex where
    two bones fused reaches less).
    """
    part = dev.between(max(seg.lo, seg.hi - 40.0), seg.hi - 12.0)
    odd = np.abs(part) >= FAINT_DISC
    _drop_short(odd, False, 3.0)
    runs = [
        (a, b)
        for a, b in _runs(odd)
        if b - a >= 2 and float(np.max(np.abs(part[a:b]))) >= DISC_CONTRAST
    ]
    if not runs:
        return None
    a, b = runs[-1]
    return float(12.0 + len(part) - (a + b) / 2)


def find_sacrum_mr(curve: SpineCurve, column: Column, dev: Deviation) -> tuple[Column | None, str]:
    """The column from the sacrum up (the sacrum as body 0), and why; None when not found.

    The sacrum is the lowest segment with a disc above it that runs ≥ 32 mm without a disc
    and leans forward ≥ 20° (the promontory), under a whole body (L5); segments below it
    are not the spine's. A
    faint disc-like band inside it (a thin L5-S1 disc of a sacralised L5, or a rudimentary
    S1-S2 disc) makes the count ambiguous: no sacrum is named.
    """
    for n, seg in enumerate(column.bodies):
        if seg.above != "disc" or seg.length < SACRUM_MIN_MM:
            continue
        if n + 1 >= len(column.bodies) or not column.bodies[n + 1].is_whole_body:
            continue  # an L5 above it, whole: not bone below the sacrum followed by mistake
        tilt = tilt_deg(curve, seg.hi - SACRUM_MIN_MM + 4.0, seg.hi - 2.0)
        if tilt < SACRUM_TILT_DEG:
            continue
        faint = faint_disc_below(dev, seg)
        if faint is not None:
            return None, (
                f"a faint disc-like band {faint:.0f} mm below the top of the sacrum (the thin "
                "L5-S1 disc of a sacralised L5, or a rudimentary S1-S2 disc?): the count from "
                "the sacrum is ambiguous — count on a CT or an image that shows the lowest ribs"
            )
        bodies = (replace(seg, below="edge"), *column.bodies[n + 1 :])
        discs = tuple(d for d in column.discs if d[0] >= seg.hi)
        return Column(bodies, discs), (
            f"{seg.length:.0f} mm of bone without a disc (S1 and S2 fused), leaning "
            f"{tilt:.0f}° forward (the promontory)"
        )
    return None, (
        "no sacrum found (bone ≥ 32 mm long without a disc, leaning ≥ 20° forward, below "
        "the lowest disc): the scan seems to end above the sacrum, and without it no level "
        "can be counted on MR"
    )


def series_for_levels(
    volumes: Iterable[ImageVolume], frame_of_reference_uid: str | None
) -> ImageVolume | None:
    """The series levels are proposed on: the planning CT (`planning_ct`), else the first
    sagittal MR in the frame (any frame when None); None when there is neither."""
    from blockplan.planning.paths import planning_ct

    volumes = list(volumes)
    ct = planning_ct(volumes, frame_of_reference_uid)
    if ct is not None:
        return ct
    sagittal_mrs = (
        v for v in volumes if v.modality.upper() == "MR" and stack_orientation(v) == "sagittal"
    )
    return next(
        (v for v in sagittal_mrs if frame_of_reference_uid in (None, v.frame_of_reference_uid)),
        None,
    )


# --- the proposal -----------------------------------------------------------------------
def body_mid_depth(grid: WorkGrid, curve: SpineCurve, column: Column) -> float:
    """How far in front of the canal's centre (mm) the bodies' centres lie: the middle of
    the run of body-like signal through the strip, median over the whole bodies."""
    a = anterior(curve)
    d = np.arange(0.0, 61.0, 1.0)
    mids = []
    for body in column.bodies:
        if not body.is_whole_body:
            continue
        i = round((body.lo + body.hi) / 2)
        vals = _sample(grid, curve.points[i] + d[:, None] * a[i])
        level = float(np.nanmedian(vals[int(STRIP_MM[0]) : int(STRIP_MM[1]) + 1]))
        like = np.abs(np.nan_to_num(vals, nan=0.0) / max(level, 1e-6) - 1.0) < 0.35
        k = int(sum(STRIP_MM) / 2)
        lo = k
        while lo > 0 and like[lo - 1]:
            lo -= 1
        hi = k
        while hi < len(d) - 1 and like[hi + 1]:
            hi += 1
        mids.append((d[lo] + d[hi]) / 2)
    if not mids:
        return float(sum(STRIP_MM) / 2)
    return float(np.clip(np.median(mids), 14.0, 34.0))


@dataclass(frozen=True, slots=True)
class Found:
    """One tried canal: its curve, the column in front of it, and the sacrum on it."""

    canal: Canal
    curve: SpineCurve
    column: Column
    sacral: Column | None
    sacrum_why: str

    @property
    def rank(self) -> tuple[int, float]:
        """Better first: more whole bodies, a clearer canal (never whether a sacrum was
        found: a path that misses a faint disc must not win over one that sees it)."""
        return (_whole(self.column), self.canal.clarity)


def on_the_bodies_line(
    curve: SpineCurve, column: Column, depth_mm: float
) -> tuple[SpineCurve, Column]:
    """The bodies' centre line (the canal's curve moved ``depth_mm`` forward), resampled
    every 1 mm of its own length, and the column's boundaries moved onto it.

    Where the canal bends, 1 mm along it is more or less than 1 mm along a line 25 mm in
    front of it: a body's centre is the middle of its ends on its own line.
    """
    pts = curve.points + depth_mm * anterior(curve)
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
    s = np.arange(0.0, arc[-1], 1.0)
    res = np.stack([np.interp(s, arc, pts[:, n]) for n in range(3)], axis=1)
    idx = np.arange(len(pts), dtype=np.float64)

    def moved(v: float) -> float:
        return float(np.interp(v, idx, arc))

    bodies = tuple(replace(b, lo=moved(b.lo), hi=moved(b.hi)) for b in column.bodies)
    discs = tuple((moved(lo), moved(hi)) for lo, hi in column.discs)
    tangents = np.stack([np.interp(s, arc, curve.tangents[:, n]) for n in range(3)], axis=1)
    laterals = np.stack([np.interp(s, arc, curve.laterals[:, n]) for n in range(3)], axis=1)
    return SpineCurve(res, tangents, laterals), Column(bodies, discs)


def find_column(grid: WorkGrid) -> Found | str:
    """The canal, its curve, the column in front of it and the sacrum, or why none.

    For either contrast (CSF bright, CSF dark) up to three paths are tried, each away
    from those before (bright fat under the skin, a dark ligament also run the length of
    the spine); the best (`Found.rank`) of those showing ≥ 2 whole bodies wins.
    """
    found: list[Found] = []
    why = ""
    for bright in (True, False):
        tried: list[F64] = []
        for _ in range(PATHS_TRIED):
            canal = track_canal(grid, bright, tuple(tried))
            if isinstance(canal, str):
                why = why or canal
                break
            tried.append(canal.rows_y)
            curve = canal_curve(grid, canal)
            dev = deviation(column_profile(grid, curve))
            column = split_column(dev)
            if isinstance(column, str) or isinstance(dev, str):
                why = why or str(column)
                continue
            if _whole(column) >= 2:
                found.append(Found(canal, curve, column, *find_sacrum_mr(curve, column, dev)))
    if not found:
        return why or "no column of vertebral bodies and discs found in front of the canal"
    best = max(found, key=lambda f: f.rank)
    doubt = readings_disagree(grid, best, found)
    return doubt or best


def readings_disagree(grid: WorkGrid, best: Found, found: list[Found]) -> str | None:
    """Why the other readings of the column (≥ 3 whole bodies) cast doubt on the best one's
    count, or None: one of them sees a faint disc inside the sacrum, or puts the top of
    the sacrum more than 12 mm along the best one's curve from where the best one puts it
    (a level is 25–40 mm)."""
    if best.sacral is None:
        return None
    top_s = best.sacral.bodies[0].hi
    yz = best.curve.points[:, 1:]
    for other in found:
        if other is best or _whole(other.column) < 3:
            continue
        if other.sacral is None and other.sacrum_why.startswith("a faint disc-like band"):
            return f"another reading of the column found {other.sacrum_why}"
        if other.sacral is None:
            continue
        i = min(int(other.sacral.bodies[0].hi), len(other.curve.points) - 1)
        s = float(np.argmin(np.linalg.norm(yz - other.curve.points[i, 1:], axis=1)))
        if abs(s - top_s) > 12.0:
            return (
                f"two readings of the column put the top of the sacrum {abs(s - top_s):.0f} mm "
                "apart along the spine (a sacralised L5 or a fused level read as the sacrum?): "
                "the count from the sacrum is ambiguous — count on a CT or an image that shows "
                "the lowest ribs"
            )
    return None


def propose_levels_mr(volume: ImageVolume) -> LevelProposal:
    """Propose vertebral body and disc centres on a sagittal MR of the lumbar spine.

    Parameters
    ----------
    volume
        A sagittal MR (T1- or T2-weighted), slices 3–5 mm, any in-plane orientation
        within 25° of the patient axes.

    Returns
    -------
    LevelProposal
        The levels counted up from the sacrum (LPS mm, confidence 0.6, reasons), or an
        empty proposal with the reason (an axial stack, no canal or sacrum, too noisy).
    """

    def empty(*reasons: str) -> LevelProposal:
        return LevelProposal(
            (), tuple(reasons), volume.series_instance_uid, volume.series_number,
            volume.frame_of_reference_uid, modality="MR",
        )  # fmt: skip

    series = f"series {volume.series_number}"
    grid = sagittal_grid(volume)
    if isinstance(grid, str):
        return empty(f"{series}: {grid}")
    found = find_column(grid)
    if isinstance(found, str):
        return empty(f"{series}: {found}", *([SACRUM_ALONE] if "sacrum" in found else []))
    curve, sacral = found.curve, found.sacral
    x = round(float(grid.to_lps(curve.points[:1])[0, 0]))
    band = "bright (as CSF on T2)" if found.canal.bright else "dark (as CSF on T1)"
    seen = f"MR: the column followed along the canal, a {band} band behind it, at x = {x} mm"
    if sacral is None:
        return empty(seen, found.sacrum_why, SACRUM_ALONE)
    bodies_line, sacral = on_the_bodies_line(curve, sacral, body_mid_depth(grid, curve, sacral))
    top = ", ".join(str(round(c)) for c in _lps(grid, bodies_line, sacral.bodies[0].hi))
    names = {
        n: (name, FROM_SACRUM_MR, MR_CONFIDENCE) for n, name in _chain(sacral, 0, "S1").items()
    }
    count = Count(names, (), None, None)
    levels, withheld = _levels(grid, bodies_line, sacral, count)
    reasons = [seen, f"sacrum found below the disc at ({top}) mm: {found.sacrum_why}", SACRUM_ALONE]
    lumbar = [v for v in names.values() if v[0][0] == "L"]
    if lumbar:
        reasons.append(f"{len(lumbar)} free lumbar vertebrae named above the sacrum")
    if not levels:
        reasons.append("no vertebra could be named with confidence")
    return LevelProposal(
        tuple(levels), tuple(reasons), volume.series_instance_uid, volume.series_number,
        volume.frame_of_reference_uid, None, None, tuple(withheld), "MR",
    )  # fmt: skip
