"""Key images of the report, rendered headless from the volumes (numpy and Pillow).

Every key image is a plane sampled in patient space (LPS, mm) at a fixed, isotropic pixel
size, so it is aspect-correct by construction, whatever the acquisition (gantry-tilted,
oblique or sagittal series alike). The raster holds only the grey values and the scar
overlay; target, trajectory, level labels, scale bar and orientation letters are kept as
geometry in pixel coordinates and drawn as vectors by the report.

Display convention is radiological: on an axial image the patient's right is on the
viewer's left and anterior is up; on a sagittal image anterior is on the left and
superior is up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from blockplan.case.model import LevelMarker, MaskGrid, ScarRegion, Target
from blockplan.io.resample import resample_image, resample_mask
from blockplan.io.volume import ImageVolume
from blockplan.planning.projection import path_legend, path_parts_on_plane, side_words

__all__ = [
    "KeyImage",
    "Plane",
    "PlaneLine",
    "PlaneMark",
    "ScarMask",
    "axial_key_image",
    "choose_volume",
    "orientation_letter",
    "sagittal_overview",
    "sample_plane",
]

_SCAR_RGB = np.array([255, 140, 0], dtype=np.float32)
_SCAR_FILL_ALPHA = 0.35
_BONE_WINDOW = (400.0, 1800.0)


@dataclass(frozen=True, slots=True)
class Plane:
    """A rectangular grid of points in patient space.

    Pixel ``(row, col)`` is centred at ``origin + col * u + row * v`` (LPS mm); ``u`` and
    ``v`` are orthogonal steps of length ``px_mm``.

    Attributes
    ----------
    origin
        LPS of the centre of pixel (0, 0), mm.
    u, v
        LPS step from one column / row to the next (length ``px_mm``), mm.
    rows, cols
        Image size in pixels.
    px_mm
        Pixel size in mm (isotropic).
    """

    origin: npt.NDArray[np.float64]
    u: npt.NDArray[np.float64]
    v: npt.NDArray[np.float64]
    rows: int
    cols: int
    px_mm: float

    @classmethod
    def centred(
        cls,
        centre: npt.ArrayLike,
        u_dir: npt.ArrayLike,
        v_dir: npt.ArrayLike,
        *,
        width_mm: float,
        height_mm: float,
        px_mm: float,
    ) -> Plane:
        """A plane of ``width_mm × height_mm`` centred on ``centre`` (LPS mm)."""
        u = np.asarray(u_dir, dtype=np.float64)
        v = np.asarray(v_dir, dtype=np.float64)
        u = u / np.linalg.norm(u) * px_mm
        v = v / np.linalg.norm(v) * px_mm
        cols = max(2, round(width_mm / px_mm))
        rows = max(2, round(height_mm / px_mm))
        c = np.asarray(centre, dtype=np.float64)
        origin = c - u * (cols - 1) / 2.0 - v * (rows - 1) / 2.0
        return cls(origin, u, v, rows, cols, float(px_mm))

    @property
    def normal(self) -> npt.NDArray[np.float64]:
        """Unit normal of the plane (``u × v``)."""
        (ux, uy, uz), (vx, vy, vz) = self.u.tolist(), self.v.tolist()
        # written out: `numpy.cross` costs more than the rest of a key image's geometry
        n = np.array([uy * vz - uz * vy, uz * vx - ux * vz, ux * vy - uy * vx])
        return np.asarray(n / np.linalg.norm(n), dtype=np.float64)

    @property
    def affine(self) -> npt.NDArray[np.float64]:
        """4×4 affine of the plane as a grid of shape ``(1, rows, cols)``.

        Maps ``(col, row, 0, 1)`` to LPS mm: columns ``u``, ``v``, the normal scaled to
        ``px_mm`` (any non-zero third axis would do) and ``origin``.
        """
        aff = np.eye(4)
        aff[:3, 0], aff[:3, 1], aff[:3, 2] = self.u, self.v, self.normal * self.px_mm
        aff[:3, 3] = self.origin
        return aff

    @property
    def grid_shape(self) -> tuple[int, int, int]:
        """``(1, rows, cols)``: the plane as a one-slice grid ``[k, j, i]``."""
        return 1, self.rows, self.cols

    def points(self) -> npt.NDArray[np.float64]:
        """LPS of every pixel centre, shape ``(rows * cols, 3)``, row-major."""
        r = np.arange(self.rows, dtype=np.float64)[:, None, None]
        c = np.arange(self.cols, dtype=np.float64)[None, :, None]
        pts = self.origin + c * self.u + r * self.v
        return pts.reshape(-1, 3)

    def to_pixel(self, lps: npt.ArrayLike) -> tuple[float, float, float]:
        """Project an LPS point onto the plane: ``(col, row, distance_mm)``.

        ``col``/``row`` are fractional pixel coordinates (pixel centres at integers);
        ``distance_mm`` is the signed distance of the point from the plane.
        """
        d = np.asarray(lps, dtype=np.float64) - self.origin
        col = float(d @ self.u) / self.px_mm**2
        row = float(d @ self.v) / self.px_mm**2
        return col, row, float(d @ self.normal)


@dataclass(frozen=True, slots=True)
class PlaneMark:
    """A labelled point on a key image (pixel coordinates, pixel centres at integers)."""

    col: float
    row: float
    label: str
    kind: Literal["target", "entry", "level", "target_tick"]


@dataclass(frozen=True, slots=True)
class PlaneLine:
    """A line on a key image from ``(col0, row0)`` to ``(col1, row1)`` (pixel coordinates).

    ``side`` is the stretch of the path it draws (`blockplan.planning.PathPart.side`): 0
    within the plane's slab (solid), +1 beyond it on the normal's side (thin), -1 on the
    other side (thin, dashed) — as the planning screen draws them.
    """

    col0: float
    row0: float
    col1: float
    row1: float
    kind: Literal["trajectory"] = "trajectory"
    side: int = 0


@dataclass(frozen=True, slots=True)
class KeyImage:
    """A rendered key image with its vector overlay geometry.

    Attributes
    ----------
    kind
        ``"axial"`` or ``"sagittal"``.
    pixels
        ``uint8`` array ``(rows, cols)`` (grey) or ``(rows, cols, 3)`` (RGB with scar).
    px_mm
        Size of one (square) pixel in mm.
    letters
        Orientation letters at the ``left``, ``right``, ``top`` and ``bottom`` edges.
    marks, lines
        Overlay geometry in pixel coordinates.
    source
        Which series and plane, e.g. ``"CT series 2, axial plane z = 35.0 mm"``.
    notes
        Remarks for the caption (e.g. "entry 6 mm out of plane, projected").
    scar_shown
        True when a scar overlay is drawn.
    """

    kind: Literal["axial", "sagittal"]
    pixels: npt.NDArray[np.uint8]
    px_mm: float
    letters: dict[str, str]
    marks: tuple[PlaneMark, ...] = ()
    lines: tuple[PlaneLine, ...] = ()
    source: str = ""
    notes: tuple[str, ...] = ()
    scar_shown: bool = False

    @property
    def rows(self) -> int:
        """Image height in pixels."""
        return int(self.pixels.shape[0])

    @property
    def cols(self) -> int:
        """Image width in pixels."""
        return int(self.pixels.shape[1])

    @property
    def width_mm(self) -> float:
        """Physical width of the image (mm)."""
        return self.cols * self.px_mm

    @property
    def height_mm(self) -> float:
        """Physical height of the image (mm)."""
        return self.rows * self.px_mm


@dataclass(frozen=True, slots=True)
class ScarMask:
    """A decoded scar mask, cropped to its bounding box (decode once, sample on many planes).

    Attributes
    ----------
    mask
        The voxels of the bounding box, ``[k, j, i]``.
    affine
        4×4 affine (i, j, k, 1) → LPS mm of the box (the region's grid moved to the box's
        first voxel).
    frame_of_reference_uid
        Frame of reference of the grid.
    """

    mask: npt.NDArray[np.bool_]
    affine: npt.NDArray[np.float64]
    frame_of_reference_uid: str

    @classmethod
    def from_region(cls, region: ScarRegion) -> ScarMask:
        """Decode a `~blockplan.case.model.ScarRegion`."""
        grid: MaskGrid = region.grid
        full = region.mask()
        affine = grid.affine_array()
        # the bounding box from the mask's projections (`numpy.nonzero` would list
        # every voxel of the region first)
        ks = np.flatnonzero(full.any(axis=(1, 2)))
        if not ks.size:
            return cls(np.zeros((0, 0, 0), dtype=bool), affine, grid.frame_of_reference_uid)
        face = np.asarray(full[ks[0] : ks[-1] + 1].any(axis=0), dtype=bool)
        js, is_ = np.flatnonzero(face.any(axis=1)), np.flatnonzero(face.any(axis=0))
        lo = [int(ks[0]), int(js[0]), int(is_[0])]
        hi = [int(ks[-1]) + 1, int(js[-1]) + 1, int(is_[-1]) + 1]
        crop = full[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
        box = affine.copy()
        box[:3, 3] = affine[:3, :3] @ np.array([lo[2], lo[1], lo[0]], dtype=np.float64)
        box[:3, 3] += affine[:3, 3]
        return cls(crop, box, grid.frame_of_reference_uid)

    def sample_plane(self, plane: Plane) -> npt.NDArray[np.bool_]:
        """Nearest-voxel mask value at every pixel of ``plane``: ``(rows, cols)``."""
        if not self.mask.size:
            return np.zeros((plane.rows, plane.cols), dtype=bool)
        result: npt.NDArray[np.bool_] = resample_mask(
            self.mask, self.affine, plane.affine, plane.grid_shape
        )[0]
        return result


# --- sampling ---------------------------------------------------------------------------
def sample_plane(volume: ImageVolume, plane: Plane) -> npt.NDArray[np.float32]:
    """Trilinear samples of ``volume`` on ``plane``: ``float32 (rows, cols)``, NaN outside.

    The values of ``volume.sample_lps(plane.points())`` (same rules, see
    `blockplan.io.resample`), computed as one grid resampling.
    """
    out = resample_image(volume, plane.affine, plane.grid_shape, order="linear")
    return np.asarray(out[0], dtype=np.float32)


def _display_window(volume: ImageVolume, values: npt.NDArray[np.float32]) -> tuple[float, float]:
    """``(low, high)`` display range: a bone window for CT, robust percentiles otherwise."""
    if volume.modality.upper() == "CT":
        for preset in volume.windows:
            if "bone" in preset.name.lower():
                return preset.center - preset.width / 2, preset.center + preset.width / 2
        c, w = _BONE_WINDOW
        return c - w / 2, c + w / 2
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0.0, 1.0
    low, high = np.percentile(finite, [0.5, 99.5])
    if high <= low:
        high = low + 1.0
    return float(low), float(high)


def _to_grey(volume: ImageVolume, values: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
    low, high = _display_window(volume, values)
    scaled = (np.nan_to_num(values, nan=low) - low) * (255.0 / (high - low))
    result: npt.NDArray[np.uint8] = np.clip(scaled, 0, 255).astype(np.uint8)
    return result


def _overlay_scar(
    grey: npt.NDArray[np.uint8], mask: npt.NDArray[np.bool_]
) -> npt.NDArray[np.uint8]:
    """RGB image with the scar filled translucently and outlined."""
    rgb = np.repeat(grey[:, :, None], 3, axis=2).astype(np.float32)
    inner = mask.copy()
    inner[1:, :] &= mask[:-1, :]
    inner[:-1, :] &= mask[1:, :]
    inner[:, 1:] &= mask[:, :-1]
    inner[:, :-1] &= mask[:, 1:]
    edge = mask & ~inner
    rgb[mask] = rgb[mask] * (1 - _SCAR_FILL_ALPHA) + _SCAR_RGB * _SCAR_FILL_ALPHA
    rgb[edge] = _SCAR_RGB
    return np.clip(rgb, 0, 255).astype(np.uint8)


def orientation_letter(direction: npt.ArrayLike) -> str:
    """Patient-direction letter(s) of a vector in LPS (``"L"``, ``"R"``, ``"P"``, ``"A"``, …).

    The dominant axis decides; a direction more than 20° off an axis gets two letters
    (e.g. ``"LP"``).
    """
    d = np.asarray(direction, dtype=np.float64)
    d = d / np.linalg.norm(d)
    names = (("L", "R"), ("P", "A"), ("S", "I"))
    order = np.argsort(-np.abs(d))
    letters = ""
    for n, axis in enumerate(order[:2]):
        if n == 1 and abs(d[axis]) < np.sin(np.radians(20)):
            break
        letters += names[axis][0] if d[axis] > 0 else names[axis][1]
    return letters


def _letters(plane: Plane) -> dict[str, str]:
    return {
        "right": orientation_letter(plane.u),
        "left": orientation_letter(-plane.u),
        "bottom": orientation_letter(plane.v),
        "top": orientation_letter(-plane.v),
    }


def _render(
    volume: ImageVolume, plane: Plane, scars: Sequence[ScarMask]
) -> tuple[npt.NDArray[np.uint8], bool]:
    grey = _to_grey(volume, sample_plane(volume, plane))
    relevant = [s for s in scars if s.frame_of_reference_uid == volume.frame_of_reference_uid]
    if not relevant:
        return grey, False
    mask = np.zeros((plane.rows, plane.cols), dtype=bool)
    for scar in relevant:
        mask |= scar.sample_plane(plane)
    if not mask.any():
        return grey, False
    return _overlay_scar(grey, mask), True


def _series_label(volume: ImageVolume) -> str:
    number = f" series {volume.series_number}" if volume.series_number is not None else ""
    desc = f" ({volume.series_description})" if volume.series_description else ""
    return f"{volume.modality}{number}{desc}{volume.interpolated_mark}"


# --- choosing a volume ------------------------------------------------------------------
def choose_volume(
    volumes: Sequence[ImageVolume],
    point: npt.ArrayLike,
    frame_of_reference_uid: str,
    *,
    modalities: Sequence[str],
    prefer_normal: npt.ArrayLike | None = None,
) -> ImageVolume | None:
    """The volume best suited to show ``point``, or None.

    Only volumes of the point's frame of reference that contain it qualify. They are
    ranked by ``modalities`` (earlier first; others last), then by how closely the
    acquisition's slice direction matches ``prefer_normal`` (a native axial series for an
    axial image), then by finer voxels.
    """
    best: tuple[tuple[float, float, float], ImageVolume] | None = None
    rank_of = {m.upper(): n for n, m in enumerate(modalities)}
    for vol in volumes:
        if vol.frame_of_reference_uid != frame_of_reference_uid:
            continue
        if not vol.contains_lps(point):
            continue
        modality_rank = float(rank_of.get(vol.modality.upper(), len(rank_of)))
        alignment = 0.0
        if prefer_normal is not None:
            n = np.asarray(prefer_normal, dtype=np.float64)
            normal = np.cross(vol.direction[:, 0], vol.direction[:, 1])
            alignment = -abs(float(normal @ n) / float(np.linalg.norm(n)))
        score = (modality_rank, round(alignment, 3), float(np.prod(vol.spacing)))
        if best is None or score < best[0]:
            best = (score, vol)
    return None if best is None else best[1]


# --- the two kinds of key image ---------------------------------------------------------
def _axial_field(
    t: npt.NDArray[np.float64],
    e: npt.NDArray[np.float64] | None,
    midline_x: float | None,
    anchors: Sequence[npt.ArrayLike],
    fov_bounds: tuple[float, float],
) -> tuple[npt.NDArray[np.float64], float]:
    """Centre (LPS x, y) and width (mm) of an axial key image's square field of view: the
    target ``t``, the entry ``e`` and the midline with 15 mm, each anchor with 30 mm, the
    width within ``fov_bounds``, and the target inside even when that is too narrow."""
    pts = [t[:2]]
    if e is not None:
        pts.append(e[:2])
    if midline_x is not None:
        pts.append(np.array([midline_x, t[1]]))
    xy = np.array(pts)
    lo, hi = xy.min(axis=0) - 15.0, xy.max(axis=0) + 15.0
    for anchor in anchors:
        a = np.asarray(anchor, dtype=np.float64)[:2]
        lo, hi = np.minimum(lo, a - 30.0), np.maximum(hi, a + 30.0)
    fov = float(np.clip(max(hi - lo), *fov_bounds))
    half = fov / 2.0 - 10.0
    centre: npt.NDArray[np.float64] = np.clip((lo + hi) / 2.0, t[:2] - half, t[:2] + half)
    return centre, fov


def _path_drawn(
    plane: Plane, e: npt.NDArray[np.float64] | None, t: npt.NDArray[np.float64]
) -> tuple[list[PlaneLine], list[PlaneMark], list[str]]:
    """The path from entry ``e`` to target ``t`` as ``plane`` shows it
    (`blockplan.planning.projection.path_parts_on_plane`): its stretches within the slab
    and beyond it, styled as on the planning screen, the entry's mark and, for an entry
    out of the plane, a note of how far and which way, and what the styles mean
    (`blockplan.planning.path_legend`)."""
    cut = None if e is None else path_parts_on_plane(e, t, plane.origin, plane.normal)
    if cut is None:
        return [], [], []
    shown = cut.shown
    lines = []
    for part in cut.parts:
        c0, r0, _ = plane.to_pixel(part.start_lps)
        c1, r1, _ = plane.to_pixel(part.end_lps)
        lines.append(PlaneLine(c0, r0, c1, r1, side=part.side))
    ec, er, _ = plane.to_pixel(shown.entry_lps)
    notes = []
    if shown.entry_out_of_plane:
        dist = shown.entry_offset_mm
        way = side_words(plane.normal)[0 if dist > 0 else 1]
        notes.append(f"entry {abs(dist):.0f} mm {way} to this plane (path projected)")
    if len(cut.parts) > 1:
        notes.append(path_legend(plane.normal))
    return lines, [PlaneMark(ec, er, "", "entry")], notes


def axial_key_image(
    volume: ImageVolume,
    target: Target,
    *,
    label: str,
    entry: npt.ArrayLike | None = None,
    scars: Sequence[ScarMask] = (),
    midline_x: float | None = None,
    anchors: Sequence[npt.ArrayLike] = (),
    min_fov_mm: float = 100.0,
    max_fov_mm: float = 200.0,
    pixels: int = 320,
) -> KeyImage:
    """An axial plane through a target, with its trajectory and scar.

    The plane is perpendicular to the patient's z axis at the target's z, whatever the
    orientation of ``volume``; the trajectory is drawn as the plane shows it
    (`blockplan.planning.projection.path_parts_on_plane`: projected, its entry's distance from
    the plane in the notes). Its field of view is square and covers the target, the
    skin entry (projected onto the plane) and the midline, within ``min_fov_mm`` and
    ``max_fov_mm``.

    Parameters
    ----------
    volume
        Image volume of the target's frame of reference.
    target
        The target; its position is in LPS mm.
    label
        Short label drawn beside the target (e.g. ``"T1"``).
    entry
        Skin entry of the trajectory (LPS mm), if planned.
    scars
        Decoded scar masks; those of other frames of reference are ignored.
    midline_x
        LPS x of the midline (from the level markers), kept in the field of view.
    anchors
        Further LPS points to keep in view with a 30 mm margin (e.g. the vertebral body
        centre of the target's level, so that the whole vertebra shows).
    min_fov_mm, max_fov_mm
        Bounds of the square field of view (mm).
    pixels
        Image width and height in pixels.

    Returns
    -------
    KeyImage
        Patient right on the viewer's left, anterior up.
    """
    t = target.position.as_array()
    e = None if entry is None else np.asarray(entry, dtype=np.float64)
    centre_xy, fov = _axial_field(t, e, midline_x, anchors, (min_fov_mm, max_fov_mm))
    plane = Plane.centred(
        [centre_xy[0], centre_xy[1], t[2]],
        [1.0, 0.0, 0.0],  # +x is patient left: viewer's right
        [0.0, 1.0, 0.0],  # +y is posterior: down
        width_mm=fov,
        height_mm=fov,
        px_mm=fov / pixels,
    )
    image, scar_shown = _render(volume, plane, scars)
    tc, tr, _ = plane.to_pixel(t)
    marks = [PlaneMark(tc, tr, label, "target")]
    lines, entry_marks, notes = _path_drawn(plane, e, t)
    marks += entry_marks
    return KeyImage(
        kind="axial",
        pixels=image,
        px_mm=plane.px_mm,
        letters=_letters(plane),
        marks=tuple(marks),
        lines=tuple(lines),
        source=f"{_series_label(volume)}, axial plane z = {t[2]:.1f} mm",
        notes=tuple(notes),
        scar_shown=scar_shown,
    )


def _overview_midline(
    marker_pts: npt.NDArray[np.float64],
    target_pts: npt.NDArray[np.float64],
    volume_x: tuple[float, float],
) -> float:
    """LPS x of the sagittal overview: the level markers' mean, else the targets', else the
    middle of the volume (``volume_x``: its lowest and highest x)."""
    if len(marker_pts):
        return float(marker_pts[:, 0].mean())
    if len(target_pts):
        return float(target_pts[:, 0].mean())
    return float((volume_x[0] + volume_x[1]) / 2)


def sagittal_overview(
    volume: ImageVolume,
    levels: Sequence[LevelMarker],
    targets: Sequence[tuple[str, Target]] = (),
    *,
    midline_x: float | None = None,
    scars: Sequence[ScarMask] = (),
    max_pixels: int = 420,
    margin_mm: float = 30.0,
) -> KeyImage:
    """A midline sagittal plane with the level markers labelled.

    Parameters
    ----------
    volume
        Image volume (any orientation).
    levels
        Level markers; their labels are drawn at their positions projected onto the plane.
    targets
        ``(label, target)`` pairs; each is shown as a tick at the right edge at its height.
    midline_x
        LPS x of the plane; default: mean x of the level markers, else of the targets,
        else the centre of the volume.
    scars
        Decoded scar masks.
    max_pixels
        Size of the longer image side in pixels.
    margin_mm
        Margin around the markers (mm).

    Returns
    -------
    KeyImage
        Anterior on the viewer's left, superior up.
    """
    marker_pts = np.array([m.position.lps for m in levels], dtype=np.float64).reshape(-1, 3)
    target_pts = np.array([t.position.lps for _, t in targets], dtype=np.float64).reshape(-1, 3)
    k_n, j_n, i_n = volume.shape
    corners = volume.index_to_lps(
        np.array([[i, j, k] for i in (0, i_n - 1) for j in (0, j_n - 1) for k in (0, k_n - 1)])
    )
    vol_lo, vol_hi = corners.min(axis=0), corners.max(axis=0)
    if midline_x is None:
        midline_x = _overview_midline(marker_pts, target_pts, (vol_lo[0], vol_hi[0]))
    anchor = np.vstack([marker_pts, target_pts]) if len(target_pts) else marker_pts
    if len(anchor):
        z_lo, z_hi = anchor[:, 2].min() - margin_mm, anchor[:, 2].max() + margin_mm
        y_mid = float(anchor[:, 1].mean()) + 15.0  # posterior elements lie behind the bodies
    else:
        z_lo, z_hi = vol_lo[2], vol_hi[2]
        y_mid = float((vol_lo[1] + vol_hi[1]) / 2)
    z_lo, z_hi = max(z_lo, vol_lo[2]), min(z_hi, vol_hi[2])
    height = max(float(z_hi - z_lo), 60.0)
    width = float(np.clip(height * 0.75, 120.0, 180.0))
    px_mm = max(height, width) / max_pixels
    plane = Plane.centred(
        [midline_x, y_mid, (z_lo + z_hi) / 2],
        [0.0, 1.0, 0.0],  # +y is posterior: viewer's right
        [0.0, 0.0, -1.0],  # +z is superior: up
        width_mm=width,
        height_mm=height,
        px_mm=px_mm,
    )
    image, scar_shown = _render(volume, plane, scars)
    marks: list[PlaneMark] = []
    for marker in levels:
        c, r, _ = plane.to_pixel(marker.position.lps)
        marks.append(PlaneMark(c, r, marker.level, "level"))
    for label, target in targets:
        _, r, _ = plane.to_pixel(target.position.lps)
        marks.append(PlaneMark(plane.cols - 1, r, label, "target_tick"))
    return KeyImage(
        kind="sagittal",
        pixels=image,
        px_mm=plane.px_mm,
        letters=_letters(plane),
        marks=tuple(marks),
        source=f"{_series_label(volume)}, sagittal plane x = {midline_x:.1f} mm",
        scar_shown=scar_shown,
    )
