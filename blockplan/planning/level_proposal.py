"""Automatic vertebral level proposal on CT: find the bodies and discs, count from two anchors.

The steps, each a named function a clinician-auditor can follow:

1. `working_grid` — the CT re-indexed along LPS +x (left), +y (posterior), +z
   (superior) and subsampled to about 2 mm (a strided view, then one small copy; the CT
   itself is never copied, so memory stays near the volume's own).
2. `track_spine` — in every axial slice the densest ~20 mm square (a vertebral body, or
   a disc between two) is a candidate; dynamic programming picks one per slice so that the
   path is continuous (the spine has no jumps) and stays near the midline.
3. `spine_profile` — along that path, smoothed, every 1 mm: the 70th percentile of HU on a
   9 mm disc perpendicular to the spine (robust to metal streaks crossing part of it).
4. `split_bodies_and_discs` — runs of the profile below the halfway level between bodies
   and discs, 2.5–18 mm long, are discs; what lies between two discs is a vertebral body.
5. `find_sacrum` — the bone below the lowest disc is the sacrum when it is wide (alae:
   ≥ 80 mm and ≥ 1.5× the bodies above) and continues ≥ 20 mm without a disc.
6. `find_lowest_ribs` — bone more than 30 mm lateral to the spine that reaches ≥ 62 mm
   lateral and is small (a rib, not an iliac wing) belongs to the vertebra its medial
   end lies on; the lowest such vertebra is counted as T12.
7. `count_levels` — count up from the sacrum (S1, L5, L4 …) and down from the lowest
   ribs (T12, L1 …) along an unbroken chain of normal bodies (15–38 mm) and discs. When
   both anchors are in view and disagree (transitional anatomy: L6, sacralised L5,
   11 or 13 rib pairs) nothing is labelled and both counts are stated; when unsure of a
   level (a body cut by the scan's edge, an unusually long body — a fusion — or a missing
   disc), that level is not proposed and the reason says why.

Positions are DICOM patient coordinates (LPS, mm). Decision support: the physician
accepts, shifts or edits every proposed marker.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from blockplan.errors import MissingExtraError
from blockplan.io.volume import ImageVolume

__all__ = [
    "AXIS_TOLERANCE_DEG",
    "LevelProposal",
    "ProposedLevel",
    "propose_levels",
]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

WORK_SPACING_MM = 2.0
#: The CT's axes may deviate this much from the patient axes (a reformat or gantry tilt).
AXIS_TOLERANCE_DEG = 25.0
BOX_MM = 20.0  # side of the square whose mean HU finds a body in an axial slice
HU_CLIP = (-100.0, 600.0)  # metal and cortex counted as dense bone, air as fat
DISC_RADIUS_MM = 9.0
DISC_RUN_MM = (2.5, 18.0)
BODY_MM = (15.0, 38.0)
MIN_CONTRAST_HU = 50.0
BONE_HU = 150.0
METAL_HU = 2000.0
SACRUM_WIDTH_MM = 80.0
SACRUM_MIN_MM = 20.0
RIB_MEDIAL_MM = 30.0
RIB_REACH_MM = 62.0
RIB_MAX_ML = 25.0
RIB_MIN_ML = 0.5
RIB_MAX_AREA_MM2 = 250.0  # mean cross-section along its lateral run (ribs ≈ 80–100)
CONFIDENCE = {"both": 0.95, "sacrum": 0.75, "ribs": 0.65}

_NAMES: tuple[str, ...] = tuple(
    [f"T{n}" for n in range(1, 13)] + [f"L{n}" for n in range(1, 6)] + ["S1"]
)


# --- results -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ProposedLevel:
    """One proposed vertebral body (``"L4"``) or disc (``"L4-L5"``) centre.

    ``centre_lps`` is in DICOM patient coordinates (mm); ``confidence`` in [0, 1] (0.95
    when the counts from the sacrum and from the lowest ribs agree, 0.75 from the sacrum
    alone, 0.65 from the ribs alone); ``reasons`` say how the level was counted.
    """

    label: str
    centre_lps: tuple[float, float, float]
    confidence: float
    reasons: tuple[str, ...]

    @property
    def is_disc(self) -> bool:
        """True for a disc (``"L4-L5"``)."""
        return "-" in self.label


@dataclass(frozen=True, slots=True)
class LevelProposal:
    """The proposal for one CT series: labelled levels (caudal last) and the reasons.

    ``levels`` is empty when no level could be named; ``reasons`` then says why.
    ``sacrum_count`` / ``rib_count`` name the lowest rib-bearing vertebra as counted from
    the sacrum and from the ribs (``"T12"``), or None when that anchor is not in view.
    """

    levels: tuple[ProposedLevel, ...]
    reasons: tuple[str, ...]
    series_instance_uid: str
    series_number: int | None
    frame_of_reference_uid: str
    sacrum_count: str | None = None
    rib_count: str | None = None
    withheld: tuple[str, ...] = ()
    modality: str = "CT"  # of the series counted on: "CT" or "MR"

    @property
    def counts_disagree(self) -> bool:
        """True when both anchors are in view and count differently."""
        return (
            self.sacrum_count is not None
            and self.rib_count is not None
            and self.sacrum_count != self.rib_count
        )

    def centre_of(self, label: str) -> tuple[float, float, float] | None:
        """The proposed centre of ``label`` (LPS mm), or None when not proposed."""
        return next((lv.centre_lps for lv in self.levels if lv.label == label), None)

    def on_midline(self) -> LevelProposal:
        """The proposal with every centre on one sagittal plane, x = the median x (LPS).

        How a physician places markers on the sagittal view; the spread of the centres'
        x (±3 mm on the sample) would otherwise tilt the markers' mid-sagittal plane.
        """
        if not self.levels:
            return self
        x = float(np.median([lv.centre_lps[0] for lv in self.levels]))
        levels = tuple(
            ProposedLevel(lv.label, (x, *lv.centre_lps[1:]), lv.confidence, lv.reasons)
            for lv in self.levels
        )
        return replace(self, levels=levels)

    def summary(self) -> str:
        """One line for the screen: what was proposed and how, or why nothing was."""
        if not self.levels:
            why = next((r for r in self.reasons if "disagree" in r), None)
            return f"no level proposed: {why or (self.reasons[-1] if self.reasons else '')}"
        how = self.levels[0].reasons[0].split(";")[0]
        first, last = self.levels[0].label, self.levels[-1].label
        # a shifted proposal was not counted so: say who moved the names (`shift_proposal`)
        shifted = [r for r in self.reasons if r.startswith("shifted ")]
        then = f"; {shifted[-1]}" if shifted else ""
        return f"{len(self.levels)} levels proposed ({first}–{last}), {how}{then}"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (format ``blockplan.levels``, version 1)."""
        return {
            "format": "blockplan.levels",
            "version": 1,
            "series_instance_uid": self.series_instance_uid,
            "series_number": self.series_number,
            "frame_of_reference_uid": self.frame_of_reference_uid,
            "levels": [
                {
                    "label": lv.label,
                    "centre_lps": [round(c, 2) for c in lv.centre_lps],
                    "confidence": lv.confidence,
                    "reasons": list(lv.reasons),
                }
                for lv in self.levels
            ],
            "reasons": list(self.reasons),
            "withheld": list(self.withheld),
            "sacrum_count": self.sacrum_count,
            "rib_count": self.rib_count,
            "modality": self.modality,
        }


# --- 1. working grid -----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class WorkGrid:
    """The CT as ``hu[z, y, x]`` (axes along LPS +z, +y, +x), clipped, about 2 mm apart.

    ``spacing`` is (x, y, z) in mm; ``affine`` maps a working index (i=x, j=y, k=z) to LPS.
    Positions inside the algorithm are "working mm": index × spacing.
    """

    hu: F32
    spacing: tuple[float, float, float]
    affine: F64
    metal_voxels: npt.NDArray[np.bool_]  # [z, y, x] voxels above 2000 HU (screws, rods)

    @property
    def metal(self) -> npt.NDArray[np.bool_]:
        """``(nz,)``: the slices holding metal."""
        return np.asarray(self.metal_voxels.any(axis=(1, 2)), dtype=np.bool_)

    def to_lps(self, mm: F64) -> F64:
        """Working-mm points ``(n, 3)`` (x, y, z order) to LPS."""
        idx = np.atleast_2d(mm) / np.asarray(self.spacing)
        out: F64 = idx @ self.affine[:3, :3].T + self.affine[:3, 3]
        return out


def patient_axes_view(volume: ImageVolume, spacing_mm: float) -> tuple[Any, F64] | str:
    """The array as ``[z, y, x]`` along LPS +z, +y, +x, strided to about ``spacing_mm``.

    Returns the view (no copy) and the affine mapping its index (i=x, j=y, k=z) to LPS,
    or the reason it cannot be made (an axis more than 25° from every patient axis).
    """
    direction = volume.direction
    array_axis_of_voxel = {0: 2, 1: 1, 2: 0}  # voxel axis i, j, k -> array axis
    order: list[int] = []  # array axis for LPS z, y, x
    voxel_axes: list[int] = []
    for lps_axis in (2, 1, 0):
        c = int(np.argmax(np.abs(direction[lps_axis])))
        if abs(direction[lps_axis, c]) < math.cos(math.radians(AXIS_TOLERANCE_DEG)):
            return (
                f"the series is oblique (more than {AXIS_TOLERANCE_DEG:.0f}° from the patient "
                "axes): reformat it axially or sagittally and propose again"
            )
        voxel_axes.append(c)
        order.append(array_axis_of_voxel[c])
    if len(set(order)) != 3:
        return "the series' axes could not be matched to the patient axes"
    sp = volume.spacing
    view = np.transpose(volume.array, order)
    m = np.zeros((4, 4))
    m[3, 3] = 1.0
    steps = []
    for n, (lps_axis, c) in enumerate(zip((2, 1, 0), voxel_axes)):
        stride = max(1, round(spacing_mm / sp[c]))
        sign = 1 if direction[lps_axis, c] > 0 else -1
        size = view.shape[n]
        col = 2 - n  # working index column: x=0, y=1, z=2
        m[c, col] = sign * stride
        if sign < 0:
            m[c, 3] = size - 1
        steps.append(slice(None, None, stride) if sign > 0 else slice(size - 1, None, -stride))
    affine: F64 = volume.affine @ m
    return view[tuple(steps)], affine


def working_grid(volume: ImageVolume) -> WorkGrid | str:
    """The CT on a ~2 mm grid along the patient axes, or the reason it cannot be made."""
    got = patient_axes_view(volume, WORK_SPACING_MM)
    if isinstance(got, str):
        return got
    view, affine = got
    hu = np.array(view, dtype=np.float32)  # a copy: the caller's volume is never clipped
    sx, sy, sz = (float(v) for v in np.linalg.norm(affine[:3, :3], axis=0))
    metal = hu > METAL_HU
    np.clip(hu, *HU_CLIP, out=hu)
    return WorkGrid(hu, (sx, sy, sz), affine, metal)


# --- 2. the spine's path through the axial slices --------------------------------------
def _box_mean(a: F32, size: tuple[int, int], axes: tuple[int, int] = (1, 2)) -> F32:
    """Mean over a ``size`` box along ``axes`` (default: rows, columns of every axial
    slice), edges repeated."""
    out = a
    for axis, n in zip(axes, size):
        r = n // 2
        pad = [(0, 0)] * 3
        pad[axis] = (r + 1, r)
        c = np.cumsum(np.pad(out, pad, mode="edge"), axis=axis, dtype=np.float32)
        length = out.shape[axis]
        hi = c[_along(axis, 2 * r + 1, 2 * r + 1 + length)]
        lo = c[_along(axis, 0, length)]
        out = (hi - lo) / np.float32(2 * r + 1)
    return out.astype(np.float32)


def _running_max(a: F32, n: int, axis: int) -> F32:
    """Maximum over a window of ``n`` samples along ``axis`` (edges repeated)."""
    pad = [(0, 0)] * a.ndim
    pad[axis] = (n // 2, n // 2)
    padded = np.pad(a, pad, mode="edge")
    length = a.shape[axis]
    out = padded[_along(axis, 0, length)].copy()
    for shift in range(1, n):
        np.maximum(out, padded[_along(axis, shift, shift + length)], out=out)
    return out


def _along(axis: int, start: int, stop: int) -> tuple[slice, ...]:
    """The index of ``start:stop`` along ``axis`` (a view, where `numpy.take` copies)."""
    return (slice(None),) * axis + (slice(start, stop),)


def _slice_candidates(
    grid: WorkGrid, k: int = 8, chunk: int = 16, avoid: F64 | None = None
) -> tuple[F64, F64]:
    """Up to ``k`` local maxima of the box mean per slice within 40 mm of the midline.

    Returns scores ``(nz, k)`` (−inf where a slice has fewer) and positions ``(nz, k, 2)``
    (y, x in working mm). The midline is the median column of every slice's maximum.
    Slices are taken ``chunk`` at a time, so the temporaries stay small. ``avoid``: a path
    ``(nz, 2)`` (y, x mm) tried before; nothing within 20 mm of it is a candidate.
    """
    sx, sy, _ = grid.spacing
    size = (max(3, round(BOX_MM / sy)) | 1, max(3, round(BOX_MM / sx)) | 1)
    nz, ny, nx = grid.hu.shape
    b = np.empty(grid.hu.shape, dtype=np.float32)
    for z0 in range(0, nz, chunk):
        b[z0 : z0 + chunk] = _box_mean(grid.hu[z0 : z0 + chunk], size)
    x_ref = float(np.median(np.argmax(b.max(axis=1), axis=1))) * sx
    b[:, :, np.abs(np.arange(nx) * sx - x_ref) > 40.0] = -np.inf
    if avoid is not None:
        ys, xs = np.arange(ny) * sy, np.arange(nx) * sx
        for z in range(nz):
            near = (ys[:, None] - avoid[z, 0]) ** 2 + (xs[None, :] - avoid[z, 1]) ** 2 <= 400.0
            b[z][near] = -np.inf
    k = min(k, b[0].size)
    scores = np.empty((nz, k))
    top = np.empty((nz, k), dtype=np.int64)
    for z0 in range(0, nz, chunk):
        part = b[z0 : z0 + chunk]
        peak = part
        for axis in (1, 2):  # running maximum over ~10 mm: a local maximum equals it
            peak = _running_max(peak, max(3, round(10.0 / grid.spacing[2 - axis]) | 1), axis)
        flat = np.where(part >= peak, part, -np.inf).reshape(len(part), -1)
        top[z0 : z0 + chunk], scores[z0 : z0 + chunk] = _highest(flat, k)
    yx = np.stack([(top // nx) * sy, (top % nx) * sx], axis=-1).astype(np.float64)
    return scores, yx


def _highest(flat: F32, k: int) -> tuple[npt.NDArray[np.int64], F64]:
    """Per row of ``flat``, the indexes and values of its ``k`` highest finite values,
    highest first (a tie: the lower index first); where a row has fewer, index 0 and −inf.

    The finite values are the few local maxima of a slice (the rest is −inf): they are
    ranked alone, not the whole row (`numpy.argpartition` over every row took half of the
    level count, and left the order of ties to its algorithm)."""
    rows, cols = np.nonzero(np.isfinite(flat))
    values = flat[rows, cols]
    order = np.lexsort((cols, -values, rows))
    rows, cols, values = rows[order], cols[order], values[order]
    starts = np.searchsorted(rows, np.arange(flat.shape[0]))
    rank = np.arange(rows.size) - starts[rows]
    keep = rank < k
    top = np.zeros((flat.shape[0], k), dtype=np.int64)
    scores = np.full((flat.shape[0], k), -np.inf)
    top[rows[keep], rank[keep]] = cols[keep]
    scores[rows[keep], rank[keep]] = values[keep]
    return top, scores


def track_spine(grid: WorkGrid, avoid: F64 | None = None) -> tuple[F64, F64]:
    """One body-or-disc position per axial slice by dynamic programming.

    Returns ``(yx_mm (nz, 2), score (nz,))``: the path maximises the summed box-mean HU
    minus a penalty for moving faster than 1.5 mm per mm along z (the sacrum's slope) and
    for leaving a 15 mm band around the median midline.
    """
    scores, yx = _slice_candidates(grid, avoid=avoid)
    nz, k = scores.shape
    dz = grid.spacing[2]
    finite = np.isfinite(scores)
    best = np.argmax(np.where(finite, scores, -np.inf), axis=1)
    x_ref = float(np.median(yx[np.arange(nz), best, 1]))
    gain = (
        np.where(finite, scores, -1e6) - 2.0 * np.maximum(np.abs(yx[..., 1] - x_ref) - 15, 0) ** 2
    )
    total = gain[0].copy()
    back = np.zeros((nz, k), dtype=np.int64)
    for z in range(1, nz):
        d = np.linalg.norm(yx[z - 1][:, None, :] - yx[z][None, :, :], axis=-1)
        cost = 4.0 * np.maximum(d - 1.5 * dz, 0.0) ** 2
        cand = total[:, None] - cost
        back[z] = np.argmax(cand, axis=0)
        total = cand[back[z], np.arange(k)] + gain[z]
    path = np.zeros(nz, dtype=np.int64)
    path[-1] = int(np.argmax(total))
    for z in range(nz - 1, 0, -1):
        path[z - 1] = back[z, path[z]]
    rows = np.arange(nz)
    return yx[rows, path], scores[rows, path]


# --- 3. a profile along the spine -------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SpineCurve:
    """The smoothed path, resampled every 1 mm from caudal (s = 0) to cranial: working mm."""

    points: F64  # (n, 3) x, y, z
    tangents: F64  # (n, 3) unit, pointing cranially
    laterals: F64  # (n, 3) unit, towards patient left, perpendicular to the tangent

    def nearest_s(self, mm: F64) -> int:
        """Index (= s in mm) of the curve point nearest a working-mm point."""
        return int(np.argmin(np.linalg.norm(self.points - mm, axis=1)))


def _gaussian_1d(values: F64, sigma: float) -> F64:
    """Gaussian smoothing of a 1-D array, ``sigma`` in samples, edges repeated."""
    if sigma <= 0:
        return values
    r = max(1, math.ceil(3 * sigma))
    w = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    out: F64 = np.convolve(np.pad(values, r, mode="edge"), w / w.sum(), mode="valid")
    return out


def spine_curve(
    grid: WorkGrid, yx: F64, sigma_mm: tuple[float, float] = (20.0, 10.0)
) -> SpineCurve:
    """The tracked positions smoothed (σ 20 mm left-right, 10 mm front-back unless
    ``sigma_mm`` says otherwise) and resampled every 1 mm of arc length."""
    dz = grid.spacing[2]
    z = np.arange(len(yx)) * dz
    sx, sy = sigma_mm
    pts = np.stack([_gaussian_1d(yx[:, 1], sx / dz), _gaussian_1d(yx[:, 0], sy / dz), z], axis=1)
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    s = np.arange(0.0, arc[-1], 1.0)
    res = np.stack([np.interp(s, arc, pts[:, n]) for n in range(3)], axis=1)
    tan = np.gradient(res, axis=0)
    tan = np.stack([_gaussian_1d(tan[:, n], 4.0) for n in range(3)], axis=1)
    tan /= np.linalg.norm(tan, axis=1, keepdims=True)
    lat = np.array([1.0, 0.0, 0.0]) - tan[:, :1] * tan
    lat /= np.linalg.norm(lat, axis=1, keepdims=True)
    return SpineCurve(res, tan, lat)


def _sample(grid: WorkGrid, mm: F64) -> F64:
    """Trilinear HU at working-mm points (NaN outside the grid)."""
    from blockplan.io.resample import sample_points

    aff = np.diag([*grid.spacing, 1.0])
    return sample_points(grid.hu, mm.reshape(-1, 3), "linear", affine=aff).reshape(mm.shape[:-1])


def spine_profile(grid: WorkGrid, curve: SpineCurve) -> F64:
    """70th-percentile HU on a 9 mm disc perpendicular to the spine, every 1 mm (NaN outside)."""
    rings = [(0.0, 1), (3.0, 6), (6.0, 12), (DISC_RADIUS_MM, 18)]
    offs = np.array(
        [
            (r * math.cos(2 * math.pi * n / m), r * math.sin(2 * math.pi * n / m))
            for r, m in rings
            for n in range(m)
        ]
    )
    normal = np.cross(curve.tangents, curve.laterals)
    pts = (
        curve.points[:, None, :]
        + offs[None, :, :1] * curve.laterals[:, None, :]
        + offs[None, :, 1:] * normal[:, None, :]
    )
    vals = _sample(grid, pts)
    inside = np.isfinite(vals).mean(axis=1) >= 0.5
    prof = np.full(len(vals), np.nan)
    if inside.any():
        prof[inside] = _row_percentile(vals[inside], 70)
    return prof


def _row_percentile(rows: F64, q: int) -> F64:
    """The ``q``-th percentile of each row, NaNs left out — `numpy.nanpercentile` with
    ``axis=1`` to the bit (its linear method: the same indexes and the same interpolation),
    without its row-by-row loop (``apply_along_axis``), which took a third of the level
    count. Every row holds at least one finite value."""
    ordered = np.sort(rows, axis=1)  # NaNs last
    n = np.isfinite(rows).sum(axis=1)
    virtual = (n - 1) * np.true_divide(q, 100)
    below = np.floor(virtual)
    at_end = virtual >= n - 1
    lower = np.where(at_end, n - 1, below).astype(np.intp)
    upper = np.where(at_end, n - 1, below + 1).astype(np.intp)
    gamma = virtual - np.where(at_end, -1.0, below)
    a = np.take_along_axis(ordered, lower[:, None], axis=1)[:, 0]
    b = np.take_along_axis(ordered, upper[:, None], axis=1)[:, 0]
    diff = b - a
    out: F64 = a + diff * gamma
    high = gamma >= 0.5
    out[high] = (b - diff * (1 - gamma))[high]
    return out


# --- 4. bodies and discs ----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Segment:
    """Bone between two boundaries along the curve (s in mm, caudal ``lo`` < cranial ``hi``).

    ``below`` / ``above`` is ``"disc"`` or ``"edge"`` (the scan's end or a gap without bone).
    """

    lo: float
    hi: float
    below: str
    above: str
    metal: bool = False  # metal in its slices: its ends are uncertain, counting stops here

    @property
    def length(self) -> float:
        """Height along the spine (mm)."""
        return self.hi - self.lo

    @property
    def is_whole_body(self) -> bool:
        """A complete vertebral body of plausible height, with a disc on either side."""
        return (
            self.below == "disc"
            and self.above == "disc"
            and BODY_MM[0] <= self.length <= BODY_MM[1]
            and not self.metal
        )


@dataclass(frozen=True, slots=True)
class Column:
    """The bodies (caudal first) and discs found along the spine."""

    bodies: tuple[Segment, ...]
    discs: tuple[tuple[float, float], ...]


def _runs(flags: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """``[start, end)`` index ranges where ``flags`` is True."""
    edges = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


def _drop_short(flags: npt.NDArray[np.bool_], value: bool, shorter_mm: float) -> None:
    """Flip runs of ``value`` shorter than ``shorter_mm`` samples (1 mm each), in place."""
    for a, b in _runs(flags == value):
        if b - a < shorter_mm and a > 0 and b < len(flags):
            flags[a:b] = not value


def split_bodies_and_discs(profile: F64) -> Column | str:
    """Discs are the low runs of the profile (2.5–18 mm); bone between them is a body."""
    valid = np.flatnonzero(np.isfinite(profile))
    if len(valid) < 40:
        return "less than 40 mm of the spine could be followed in the series"
    first, last = int(valid[0]), int(valid[-1])
    s = np.arange(first, last + 1, dtype=np.float64)
    p = _gaussian_1d(np.interp(s, valid, profile[valid]), 1.0)
    body_ref, disc_ref = np.percentile(p, 75), np.percentile(p, 8)
    if body_ref - disc_ref < MIN_CONTRAST_HU:
        return (
            f"vertebral bodies and discs differ by only {body_ref - disc_ref:.0f} HU along the "
            f"spine (expected ≥ {MIN_CONTRAST_HU:.0f}): is this a CT of the spine?"
        )
    low = p < (body_ref + disc_ref) / 2
    _drop_short(low, False, 3.0)
    _drop_short(low, True, DISC_RUN_MM[0])
    return column_from_disc_mask(low, first)


def column_from_disc_mask(disc: npt.NDArray[np.bool_], first: int) -> Column:
    """Bodies and discs from a disc-like mask along the spine (1 mm samples from ``first``):
    a disc-like run inside the profile and at most `DISC_RUN_MM` long is a disc, one that
    touches an end of the profile is an edge; the runs between them are bodies.

    The one rule for CT (`split_bodies_and_discs`) and MR (`level_proposal_mr.split_column`).
    """
    bounds: list[tuple[float, float, str]] = []
    for a, b in _runs(disc):
        touches_end = a == 0 or b == len(disc)
        kind = "disc" if not touches_end and b - a <= DISC_RUN_MM[1] else "edge"
        bounds.append((float(a + first), float(b + first), kind))
    bodies: list[Segment] = []
    for a, b in _runs(~disc):
        below = next((k for lo, hi, k in bounds if hi == a + first), "edge")
        above = next((k for lo, hi, k in bounds if lo == b + first), "edge")
        bodies.append(Segment(float(a + first), float(b + first), below, above))
    discs = tuple((lo, hi) for lo, hi, k in bounds if k == "disc")
    return Column(tuple(bodies), discs)


# --- 5. the sacrum -------------------------------------------------------------------
def bone_width_mm(grid: WorkGrid, curve: SpineCurve, s: float) -> float:
    """Width (mm) of the bone crossing the spine's centre left-right at ``s`` (gaps ≤ 4 mm)."""
    i = int(np.clip(round(s), 0, len(curve.points) - 1))
    t = np.arange(-100.0, 101.0, 1.0)
    vals = _sample(grid, curve.points[i] + t[:, None] * curve.laterals[i])
    bone = np.nan_to_num(vals, nan=-1000.0) > BONE_HU
    extent = []
    for step in (1, -1):
        last, gap, n = 0, 0, 100
        while 0 <= n + step < len(t) and gap <= 4:
            n += step
            gap = 0 if bone[n] else gap + 1
            last = n if bone[n] else last
        extent.append(abs(t[last]) if last else 0.0)
    return float(sum(extent))


def find_sacrum(grid: WorkGrid, curve: SpineCurve, column: Column) -> tuple[bool, str]:
    """Is the bone below the lowest disc the sacrum? ``(found, reason)``."""
    if not column.discs or not column.bodies or column.bodies[0].above != "disc":
        return False, "no disc found above the lowest bone: the sacrum was not identified"
    bottom = column.bodies[0]
    if bottom.length < SACRUM_MIN_MM:
        return False, (
            f"only {bottom.length:.0f} mm of bone in view below the lowest disc (expected "
            f"≥ {SACRUM_MIN_MM:.0f} mm of sacrum): the sacrum was not identified"
        )
    probes = [bottom.hi - d for d in (8.0, 12.0, 16.0, 20.0)]
    width = max(bone_width_mm(grid, curve, s) for s in probes)
    above = [bone_width_mm(grid, curve, (b.lo + b.hi) / 2) for b in column.bodies[1:3]]
    need = max(SACRUM_WIDTH_MM, 1.5 * min(above)) if above else SACRUM_WIDTH_MM
    if width < need:
        return False, (
            f"the bone below the lowest disc is {width:.0f} mm wide (a sacrum with its alae "
            f"is ≥ {need:.0f} mm): the scan seems to end above the sacrum"
        )
    x, y, z = _lps(grid, curve, bottom.hi)
    return True, (
        f"sacrum found below the disc at ({x:.0f}, {y:.0f}, {z:.0f}) mm: {width:.0f} mm wide "
        f"with its alae, no disc in the {bottom.length:.0f} mm of it in view"
    )


# --- 6. the lowest ribs --------------------------------------------------------------
def _components(mask: npt.NDArray[np.bool_], min_voxels: int) -> list[npt.NDArray[np.int64]]:
    """26-connected components of at least ``min_voxels``: flat voxel indices of each.

    Raises
    ------
    MissingExtraError
        SimpleITK (the ``imaging`` extra) is not installed.
    """
    from blockplan.extras import import_extra

    sitk = import_extra("SimpleITK", "imaging", "the lowest-rib search of the level proposal")
    image = sitk.GetImageFromArray(mask.astype(np.uint8))
    connected = sitk.ConnectedComponent(image, True)
    labelled = sitk.RelabelComponent(connected, min_voxels)
    labels = sitk.GetArrayViewFromImage(labelled).ravel()
    idx = np.flatnonzero(labels)
    order = np.argsort(labels[idx], kind="stable")
    idx = idx[order]
    cuts = np.flatnonzero(np.diff(labels[idx])) + 1
    return [np.asarray(part, dtype=np.int64) for part in np.split(idx, cuts)] if len(idx) else []


def _body_at(column: Column, s: float) -> int | None:
    """Index of the body whose zone (the body and half of each disc beside it) holds ``s``."""
    for n, b in enumerate(column.bodies):
        lo = b.lo - (_disc_half(column, b.lo) if b.below == "disc" else 0.0)
        hi = b.hi + (_disc_half(column, b.hi) if b.above == "disc" else 0.0)
        if lo <= s <= hi:
            return n
    return None


def _disc_half(column: Column, edge: float) -> float:
    return next(((hi - lo) / 2 for lo, hi in column.discs if edge in (lo, hi)), 0.0)


def _lateral_mm(grid: WorkGrid, curve: SpineCurve) -> F64:
    """Distance from the spine's centre along x for every (slice, column): ``(nz, nx)``."""
    nz, _ny, nx = grid.hu.shape
    sx, _sy, sz = grid.spacing
    order = np.argsort(curve.points[:, 2])
    xc = np.interp(np.arange(nz) * sz, curve.points[order, 2], curve.points[order, 0])
    out: F64 = np.abs(np.arange(nx)[None, :] * sx - xc[:, None])
    return out


def find_lowest_ribs(
    grid: WorkGrid, curve: SpineCurve, column: Column, lowest_allowed: int
) -> tuple[int | None, str]:
    """Index of the lowest body carrying a rib (at or above ``lowest_allowed``), and why.

    A rib is bone beyond 30 mm from the spine's centre that reaches ≥ 62 mm lateral, holds
    ≤ 25 mL and is thin (≤ 250 mm² of cross-section on average along its lateral run; an
    iliac wing is larger and lies at the sacrum); it belongs to the body
    its medial end lies on. The lowest rib-bearing body counts only with a whole rib-free
    body below it (a chest CT ending in the ribs shows no lowest ribs).
    """
    lateral = _lateral_mm(grid, curve)
    mask = (grid.hu > 200.0) & (lateral >= RIB_MEDIAL_MM)[:, None, :]
    sx, sy, sz = grid.spacing
    near_metal = np.convolve(grid.metal, np.ones(2 * round(15 / sz) + 1), "same") > 0
    mask[near_metal] = False  # streaks from screws and rods look like thin lateral bone
    voxel_ml = sx * sy * sz / 1000.0
    found: dict[int, set[str]] = {}
    try:
        pieces = _components(mask, max(1, round(RIB_MIN_ML / voxel_ml)))
    except MissingExtraError as err:
        return None, f"the lowest ribs were not searched: {err}"
    for flat in pieces:
        z, y, x = np.unravel_index(flat, mask.shape)
        if len(z) * voxel_ml > RIB_MAX_ML:
            continue
        lat = lateral[z, x]
        if lat.max() < RIB_REACH_MM or lat.min() > RIB_MEDIAL_MM + 10.0:
            continue
        if len(z) * voxel_ml * 1000.0 / (lat.max() - lat.min()) > RIB_MAX_AREA_MM2:
            continue  # thick, not a rib (an iliac wing, a contrast-filled kidney or bowel)
        head = lat <= lat.min() + 6.0
        mm = np.array([x[head].mean() * sx, y[head].mean() * sy, z[head].mean() * sz])
        body = _body_at(column, float(curve.nearest_s(mm)))
        if body is None or body < lowest_allowed:
            continue
        side = "left" if mm[0] > curve.points[curve.nearest_s(mm), 0] else "right"
        found.setdefault(body, set()).add(side)
    if not found:
        return None, "no ribs in view: the count was not checked against the lowest ribs"
    lowest = min(found)
    anchor = column.bodies[lowest]
    if not (anchor.is_whole_body or (anchor.below == "disc" and anchor.above == "edge")):
        return None, (
            f"rib-like bone on a body {anchor.length:.0f} mm tall (not a single vertebra): "
            "the lowest ribs were not used"
        )
    if lowest == 0 or not column.bodies[lowest - 1].is_whole_body:
        return None, (
            "ribs reach the lower end of what could be followed (no whole rib-free vertebra "
            "below them): the lowest ribs may lie beyond the scan and were not used"
        )
    sides = " and ".join(sorted(found[lowest]))
    return lowest, f"lowest ribs ({sides}) on the vertebra counted as T12"


# --- 7. counting ---------------------------------------------------------------------
def _chain(column: Column, anchor: int, anchor_name: str) -> dict[int, str]:
    """Names of the bodies reachable from the anchor through whole bodies and discs."""
    names = {anchor: anchor_name}
    pos = _NAMES.index(anchor_name)
    bodies = column.bodies
    i = anchor
    while i + 1 < len(bodies) and bodies[i].above == "disc" and pos - 1 >= 0:
        if i != anchor and not bodies[i].is_whole_body:
            break
        i, pos = i + 1, pos - 1
        names[i] = _NAMES[pos]
    i, pos = anchor, _NAMES.index(anchor_name)
    while i - 1 >= 0 and bodies[i].below == "disc" and pos + 1 < len(_NAMES):
        if i != anchor and not bodies[i].is_whole_body:
            break
        i, pos = i - 1, pos + 1
        names[i] = _NAMES[pos]
    return names


@dataclass(frozen=True, slots=True)
class Count:
    """Names per body index (caudal first) with how each was counted and its confidence."""

    names: dict[int, tuple[str, str, float]]
    reasons: tuple[str, ...]
    sacrum_count: str | None
    rib_count: str | None

    def name(self, body: int) -> str | None:
        """The name of body ``body``, or None."""
        entry = self.names.get(body)
        return entry[0] if entry else None


# no parentheses: these are quoted inside parentheses ("… (counted from the sacrum and the
# lowest ribs (they agree)) at 13 bodies" read as a typo on screen and in the report)
_FROM_SACRUM = "counted up from the sacrum — the lowest ribs not in view or not reachable"
_FROM_RIBS = "counted from the lowest ribs — the sacrum not in view or not reachable"
_FROM_BOTH = "counted from the sacrum and the lowest ribs, which agree"


def _disagreement(sacrum_says: str) -> str:
    free = _NAMES.index("S1") - _NAMES.index(sacrum_says) - 1
    return (
        f"the two counts disagree: from the sacrum the lowest rib-bearing vertebra is "
        f"{sacrum_says}, from the ribs it is T12 ({free} free vertebrae between the lowest "
        "ribs and the sacrum instead of 5: transitional anatomy — L6, sacralised L5, or 11 "
        "or 13 rib pairs); nothing is labelled: count on an image of the whole spine and "
        "place the markers by hand"
    )


def count_levels(column: Column, sacrum: bool, rib_body: int | None) -> Count:
    """Names per body from the anchors in view; none where the anchors disagree.

    With both anchors on one unbroken chain, the count from the sacrum must name the
    lowest rib-bearing vertebra T12; otherwise nothing is named and both counts are
    given. On separate stretches (a fusion between them) each anchor names its own
    stretch, and a body the two would name differently is not named.
    """
    from_sacrum = _chain(column, 0, "S1") if sacrum else {}
    from_ribs = _chain(column, rib_body, "T12") if rib_body is not None else {}
    if not from_sacrum and not from_ribs:
        why = "neither the sacrum nor the lowest ribs are in view: no level can be counted"
        return Count({}, (why,), None, None)
    rib_count = "T12" if from_ribs else None
    sacrum_says = from_sacrum.get(rib_body) if rib_body is not None else None
    if sacrum_says is not None and sacrum_says != "T12":
        return Count({}, (_disagreement(sacrum_says),), sacrum_says, rib_count)
    if sacrum_says == "T12":
        both = {n: (name, _FROM_BOTH, CONFIDENCE["both"]) for n, name in from_sacrum.items()}
        agree = "the counts from the sacrum and from the lowest ribs agree"
        return Count(both, (agree,), "T12", "T12")
    if from_sacrum and from_ribs:
        mismatch = _joined_counts_mismatch(column, from_sacrum, from_ribs)
        if mismatch:
            return Count({}, (mismatch,), None, rib_count)
    names = {n: (name, _FROM_RIBS, CONFIDENCE["ribs"]) for n, name in from_ribs.items()}
    for n, name in from_sacrum.items():
        if n in names and names[n][0] != name:
            del names[n]
        else:
            names[n] = (name, _FROM_SACRUM, CONFIDENCE["sacrum"])
    return Count(names, (), None, rib_count)


def _joined_counts_mismatch(
    column: Column, from_sacrum: dict[int, str], from_ribs: dict[int, str]
) -> str | None:
    """Why two counts that do not meet cannot both stand (None when they can).

    Between the highest body named from the sacrum and the lowest named from the ribs
    lies bone the chain could not pass (a fusion, a split); the distance along the spine
    between them, in levels of the spine's own spacing, must match their names' distance.
    """

    def solid(n: int) -> bool:
        return n == 0 or column.bodies[n].is_whole_body

    top = max((n for n in from_sacrum if solid(n)), default=0)
    anchor = next(n for n, name in from_ribs.items() if name == "T12")
    bottom = min((n for n in from_ribs if solid(n) or n == anchor), default=anchor)
    if top >= bottom:
        return None
    mids = [(b.lo + b.hi) / 2 for b in column.bodies]
    mids[0] = _s1_centre_s(column)  # the sacrum's stretch in view is longer than S1
    steps = [mids[n + 1] - mids[n] for n in range(len(mids) - 1)
             if column.bodies[n].is_whole_body and column.bodies[n + 1].is_whole_body]  # fmt: skip
    if not steps:
        return "the counts from the sacrum and from the ribs do not meet and cannot be joined"
    levels = (mids[bottom] - mids[top]) / float(np.median(steps))
    named = _NAMES.index(from_sacrum[top]) - _NAMES.index(from_ribs[bottom])
    if abs(levels - named) <= 0.4:
        return None
    return (
        f"the counts from the sacrum (up to {from_sacrum[top]}) and from the lowest ribs (down "
        f"to {from_ribs[bottom]}) do not meet; the bone between them spans {levels:.1f} levels "
        f"where their names leave {named}: nothing is labelled — count on the images"
    )


def mark_metal(grid: WorkGrid, curve: SpineCurve, column: Column) -> Column:
    """The column with every body that holds metal within 12 mm of the spine's centre line
    (its ends' 3 mm excepted) flagged (`Segment.metal`): screws and their streaks move its
    apparent ends."""
    if not grid.metal_voxels.any():
        return column
    sx, sy, sz = grid.spacing
    k, j, i = np.nonzero(grid.metal_voxels)
    metal_mm = np.stack([i * sx, j * sy, k * sz], axis=1)
    near = np.zeros(len(curve.points), dtype=bool)
    for n, p in enumerate(curve.points):  # a few hundred points, metal voxels few
        d = metal_mm - p
        near[n] = bool(np.any(np.einsum("ij,ij->i", d, d) <= 144.0))
    bodies = tuple(
        replace(b, metal=bool(near[int(b.lo) + 3 : int(b.hi) - 2].any())) for b in column.bodies
    )
    return Column(bodies, column.discs)


def _whole_bodies(column: Column | str) -> int:
    return 0 if isinstance(column, str) else sum(b.is_whole_body for b in column.bodies)


def find_spine(grid: WorkGrid) -> tuple[SpineCurve, Column | str]:
    """The spine's curve and its bodies and discs along it.

    The densest continuous path first; when it shows fewer than two whole bodies between
    discs (it may follow a contrast-filled aorta or bowel), the next path at least 20 mm
    from it too, and the one with more whole bodies is kept (the first on a tie).
    """
    yx, _score = track_spine(grid)
    curve = spine_curve(grid, yx)
    column = split_bodies_and_discs(spine_profile(grid, curve))
    if _whole_bodies(column) >= 2:
        return curve, column
    yx2, _score = track_spine(grid, avoid=yx)
    curve2 = spine_curve(grid, yx2)
    column2 = split_bodies_and_discs(spine_profile(grid, curve2))
    if _whole_bodies(column2) > _whole_bodies(column):
        return curve2, column2
    return curve, column


# --- the proposal --------------------------------------------------------------------
def _lps(grid: WorkGrid, curve: SpineCurve, s: float) -> tuple[float, float, float]:
    i = int(np.clip(round(s), 0, len(curve.points) - 1))
    x, y, z = grid.to_lps(curve.points[i])[0]
    return (float(x), float(y), float(z))


def _s1_centre_s(column: Column) -> float:
    """S1's centre: below the L5-S1 disc by about half the L5 body's height (12–16 mm)."""
    above = column.bodies[1] if len(column.bodies) > 1 else None
    half = 0.55 * above.length if above is not None and above.is_whole_body else 14.0
    return column.bodies[0].hi - float(np.clip(half, 12.0, 16.0))


def _levels(
    grid: WorkGrid, curve: SpineCurve, column: Column, count: Count
) -> tuple[list[ProposedLevel], list[str]]:
    """The named bodies and discs, and the reasons for bodies found but not named."""
    levels: list[ProposedLevel] = []
    withheld: list[str] = []
    centres: dict[int, tuple[float, float, float]] = {}
    for n, body in enumerate(column.bodies):
        name = count.name(n)
        if name is None:
            upper, lower = count.name(n + 1), count.name(n - 1)
            if upper and lower and not body.is_whole_body:
                withheld.append(_withheld_reason(f"the bone between {upper} and {lower}", body))
            continue
        _, how, confidence = count.names[n]
        if name == "S1":
            s = _s1_centre_s(column)
        elif body.is_whole_body:
            s = (body.lo + body.hi) / 2
        else:
            withheld.append(_withheld_reason(name, body))
            continue
        why = f"{how}; body {body.length:.0f} mm along the spine"
        if name == "S1":
            why = f"{how}; the first sacral segment, {body.hi - s:.0f} mm below the L5-S1 disc"
        centres[n] = _lps(grid, curve, s)
        levels.append(ProposedLevel(name, centres[n], confidence, (why,)))
        disc = _disc_below(column, count, n)
        if disc is not None and n - 1 in centres:  # halfway between the two body centres
            lo, hi = disc
            why = f"{how}; disc {hi - lo:.0f} mm between {name} and {count.name(n - 1)}"
            x, y, z = (np.asarray(centres[n]) + np.asarray(centres[n - 1])) / 2
            label = f"{name}-{count.name(n - 1)}"
            levels.append(ProposedLevel(label, (float(x), float(y), float(z)), confidence, (why,)))
    order = {name: i for i, name in enumerate(_NAMES)}
    levels.sort(key=lambda lv: order[lv.label.split("-")[0]] + (0.5 if lv.is_disc else 0.0))
    return levels, withheld


def _disc_below(column: Column, count: Count, n: int) -> tuple[float, float] | None:
    """The disc between body ``n`` and the body below when both are proposed and adjacent."""
    name, lower = count.name(n), count.name(n - 1)
    if name is None or lower is None or column.bodies[n].below != "disc":
        return None
    if _NAMES.index(lower) != _NAMES.index(name) + 1:
        return None
    if not (lower == "S1" or column.bodies[n - 1].is_whole_body):
        return None
    return next(d for d in column.discs if d[1] == column.bodies[n].lo)


def _withheld_reason(name: str, body: Segment) -> str:
    if body.above == "edge" or body.below == "edge":
        return f"{name}: not proposed — the body is cut by the end of the scan"
    if body.metal:
        return (
            f"{name}: not proposed — metal (screws or rods) in it: its streaks make the "
            "body's ends uncertain, and the levels beyond it are not counted through it"
        )
    return (
        f"{name}: not proposed — {body.length:.0f} mm of bone along the spine between two "
        f"discs (a body is {BODY_MM[0]:.0f}–{BODY_MM[1]:.0f} mm): a fusion, or a disc hidden "
        "by metal artefact? The levels beyond it are not counted through it"
    )


def propose_levels(volume: ImageVolume) -> LevelProposal:
    """Propose vertebral body and disc centres on a CT (or a sagittal MR) of the lumbar spine.

    Parameters
    ----------
    volume
        A CT (HU) in any orientation within 25° of the patient axes (axial, sagittal or
        coronal reformats, feet first or prone), slices 0.5–3 mm; or an MR, counted by
        `blockplan.planning.level_proposal_mr.propose_levels_mr` (sagittal stacks only).

    Returns
    -------
    LevelProposal
        The named levels (LPS mm) with confidence and reasons; empty, with the reason,
        when no level can be named. Never raises for an image it cannot read: it says why.
    """

    def empty(*reasons: str, **extra: Any) -> LevelProposal:
        return LevelProposal(
            (), tuple(reasons), volume.series_instance_uid, volume.series_number,
            volume.frame_of_reference_uid, **extra,
        )  # fmt: skip

    if volume.modality == "MR":
        from blockplan.planning.level_proposal_mr import propose_levels_mr

        return propose_levels_mr(volume)
    if volume.modality != "CT":
        return empty(
            f"series {volume.series_number}: modality {volume.modality}, expected CT or MR — "
            "levels are proposed on CT (the anchors, the sacrum's alae and the lowest ribs, "
            "are measured on bone) or on a sagittal MR (from the sacrum alone); open one of "
            "those or mark the levels by hand"
        )
    grid = working_grid(volume)
    if isinstance(grid, str):
        return empty(f"series {volume.series_number}: {grid}")
    curve, column = find_spine(grid)
    if isinstance(column, str):
        return empty(f"series {volume.series_number}: {column}")
    column = mark_metal(grid, curve, column)
    sacrum, sacrum_why = find_sacrum(grid, curve, column)
    rib_body, rib_why = find_lowest_ribs(grid, curve, column, 2 if sacrum else 0)
    count = count_levels(column, sacrum, rib_body)
    levels, withheld = _levels(grid, curve, column, count)
    reasons = [sacrum_why, rib_why, *count.reasons]
    lumbar = [v for v in count.names.values() if v[0][0] == "L" and v[1] != _FROM_RIBS]
    if lumbar:
        reasons.append(f"{len(lumbar)} free lumbar vertebrae named above the sacrum")
    if grid.metal.any():
        reasons.append(
            "metal (screws or rods) in view: its streaks can hide a disc; a level is proposed "
            "only where both of its discs were seen"
        )
    if not levels and not count.reasons:
        reasons.append("no vertebra could be named with confidence")
    return LevelProposal(
        tuple(levels), tuple(reasons), volume.series_instance_uid, volume.series_number,
        volume.frame_of_reference_uid, count.sacrum_count, count.rib_count, tuple(withheld),
    )  # fmt: skip


# --- the physician's corrections -----------------------------------------------------
_SHIFT_ORDER: tuple[str, ...] = (*_NAMES, "S2", "S3", "S4", "S5")


def _shifted(label: str, steps: int) -> str | None:
    parts = []
    for part in label.split("-"):
        i = _SHIFT_ORDER.index(part) + steps
        if not 0 <= i < len(_SHIFT_ORDER):
            return None
        parts.append(_SHIFT_ORDER[i])
    return "-".join(parts)


def shift_proposal(proposal: LevelProposal, steps: int) -> LevelProposal:
    """The proposal with every name moved ``steps`` levels caudally (negative: cranially).

    The physician's "shift by one level": the positions stay, the names move (L4 → L5,
    L4-L5 → L5-S1); a name that would leave T1…S5 is dropped.
    """
    if steps == 0:
        return proposal
    word = "caudally" if steps > 0 else "cranially"
    note = f"shifted {abs(steps)} level{'s' if abs(steps) > 1 else ''} {word} by the physician"
    levels = []
    for lv in proposal.levels:
        label = _shifted(lv.label, steps)
        if label is not None:
            levels.append(ProposedLevel(label, lv.centre_lps, lv.confidence, (*lv.reasons, note)))
    return replace(proposal, levels=tuple(levels), reasons=(*proposal.reasons, note))
