"""A C-arm preview of a target: the DRR of one view with the plan drawn on it.

`fluoro_preview` computes the DRR of one view (`blockplan.fluoro.views`), windows it as the
C-arm monitor shows it and draws, each point projected by the view's projection matrix:
the target (red cross), the skin entry (green ring), the path (yellow), the level markers
(their names), the marked nerve roots (orange rings of their projected radius), the view's
name with its C-arm angles, and the edge letters of the patient's directions (L/R, A/P,
H/F). `preview_record` is what ``blockplan fluoro`` writes beside the image.

Decision support, not a medical device.
"""

from __future__ import annotations

import functools
import os
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from blockplan.case.model import Case
from blockplan.fluoro.drr import DrrFunction, DrrOptions, compute_drr, to_display
from blockplan.fluoro.geometry import CArmGeometry, DetectorSpec
from blockplan.fluoro.views import FluoroView, ViewKind, target_views
from blockplan.io.volume import ImageVolume
from blockplan.planning import wording

__all__ = [
    "FluoroPreview",
    "PlanOverlay",
    "direction_letter",
    "draw_preview",
    "fluoro_preview",
    "keep_drawn",
    "plan_overlay",
    "preview_record",
]

_TARGET = (230, 40, 40)
_ENTRY = (40, 200, 60)
_PATH = (250, 210, 40)
_ROOT = (255, 140, 0)
_TEXT = (255, 255, 255)
_SHADOW = (0, 0, 0)


@dataclass(frozen=True, slots=True)
class PlanOverlay:
    """Detector pixel positions ``(column, row)`` of what the preview draws."""

    target_px: tuple[float, float]
    entry_px: tuple[float, float] | None
    levels: tuple[tuple[str, tuple[float, float]], ...]
    roots: tuple[tuple[str, tuple[float, float], float], ...]
    """(name, centre, projected radius in pixels)."""


@dataclass(frozen=True, slots=True, eq=False)
class FluoroPreview:
    """One view of one target: geometry, angles, DRR and the drawn image."""

    target_id: str
    target_name: str
    view: FluoroView
    line_integral: npt.NDArray[np.float32]
    image_rgb: npt.NDArray[np.uint8]
    overlay: PlanOverlay


def _px(geometry: CArmGeometry, point: npt.ArrayLike) -> tuple[float, float]:
    c, r = geometry.project(point)
    return float(c), float(r)


def plan_overlay(case: Case, target_id: str, geometry: CArmGeometry) -> PlanOverlay:
    """Project the target, its entry, the level markers and the marked roots."""
    target = case.target(target_id)
    traj = case.trajectory_for(target_id)
    entry = None if traj is None else _px(geometry, traj.entry.as_array())
    levels = tuple((m.level, _px(geometry, m.position.as_array())) for m in case.levels)
    roots = []
    for lm in case.landmarks:
        if lm.kind != "nerve_root":
            continue
        centre = lm.position.as_array()
        name = wording.landmark_name(lm.kind, lm.level, None if lm.side is None else lm.side.value)
        radius_px = lm.radius_mm * geometry.magnification_at(centre) / geometry.detector.pixel_mm
        roots.append((name, _px(geometry, centre), float(radius_px)))
    return PlanOverlay(_px(geometry, target.position.as_array()), entry, levels, tuple(roots))


def direction_letter(vector: npt.ArrayLike) -> str:
    """The patient direction a vector mostly points to: L/R (±x), P/A (±y), H/F (±z)."""
    v = np.asarray(vector, dtype=np.float64)
    axis = int(np.argmax(np.abs(v)))
    return ("LR", "PA", "HF")[axis][0 if v[axis] > 0 else 1]


def _font(size: int) -> Any:
    """DejaVu Sans at ``size`` px (PIL's own font without it)."""
    from blockplan.report.fonts import FONT_DIR_ENV

    return _font_found(size, os.environ.get(FONT_DIR_ENV))


@functools.lru_cache(maxsize=8)
def _font_found(size: int, font_dir: str | None) -> Any:
    """`_font`, looked up once per size and font folder setting (the search reads several
    folders)."""
    from PIL import ImageFont

    from blockplan.errors import ReportError
    from blockplan.report.fonts import find_font

    try:
        return ImageFont.truetype(str(find_font("DejaVuSans.ttf")), size)
    except (ReportError, OSError):
        return ImageFont.load_default()


def _ring(draw: Any, centre: tuple[float, float], radius: float, colour: Any, width: int) -> None:
    c, r = centre
    draw.ellipse((c - radius, r - radius, c + radius, r + radius), outline=colour, width=width)


def _text(draw: Any, xy: tuple[float, float], text: str, font: Any) -> None:
    draw.text(xy, text, fill=_TEXT, font=font, stroke_width=2, stroke_fill=_SHADOW)


def draw_preview(
    gray: npt.NDArray[np.uint8],
    overlay: PlanOverlay,
    view: FluoroView,
    caption: str,
    *,
    labels: bool = True,
) -> npt.NDArray[np.uint8]:
    """The windowed DRR as RGB with the plan drawn on it (`plan_overlay`); without
    ``labels`` no text but the edge letters (a document prints the words beside it)."""
    from PIL import Image, ImageDraw

    img = Image.fromarray(gray).convert("RGB")
    draw = ImageDraw.Draw(img)
    size = max(10, gray.shape[1] // 40)
    font = _font(size)
    # the edge letters first: the plan drawn after them stays whole where they meet (an
    # entry far from the target can lie at the right edge's middle)
    w, h = img.size
    letters = _font(max(16, w // 24))  # ≥ 2 mm high in the report's 41 mm thumbnails
    _edge_letter(draw, direction_letter(view.geometry.right), letters, (w - 2, h / 2), "right")
    _edge_letter(draw, direction_letter(view.geometry.down), letters, (w / 2, h - 2), "bottom")
    for _name, centre, radius in overlay.roots:
        _ring(draw, centre, max(radius, 2.0), _ROOT, 1)
    if overlay.entry_px is not None:
        draw.line([overlay.entry_px, overlay.target_px], fill=_PATH, width=2)
        _ring(draw, overlay.entry_px, 6.0, _ENTRY, 2)
    c, r = overlay.target_px
    draw.line([(c - 8, r), (c + 8, r)], fill=_TARGET, width=2)
    draw.line([(c, r - 8), (c, r + 8)], fill=_TARGET, width=2)
    if labels:
        lines = [
            ((4.0, 4.0 + row * (size + 2)), line)
            for row, line in enumerate((caption, view.title, *view.notes))
        ]
        taken = [_box(draw, xy, line, font) for xy, line in lines]
        for name, (lc, lr) in overlay.levels:
            xy = (lc + 4, lr - size / 2)
            if not any(_overlap(_box(draw, xy, name, font), other) for other in taken):
                _text(draw, xy, name, font)  # a name under the caption is left out
        # the words over a darkened band: a ring or the path crossing them (a root marked
        # near the top of the field) had run through the letters; what runs under them is
        # still seen, dimmed
        _darken(img, taken)
        for xy, line in lines:
            _text(draw, xy, line, font)
    return np.asarray(img, dtype=np.uint8)


CAPTION_DIM = 0.4
"""What is left of the picture's brightness under the preview's written caption."""


def _darken(img: Any, boxes: list[tuple[float, ...]]) -> None:
    """Dim ``img`` under each box (left, top, right, bottom) to `CAPTION_DIM`."""
    from PIL import Image

    for left, top, right, bottom in boxes:
        box = (max(0, int(left) - 1), max(0, int(top) - 1), int(right) + 2, int(bottom) + 1)
        region = img.crop(box)
        img.paste(Image.eval(region, lambda v: int(v * CAPTION_DIM)), box)


def _box(draw: Any, xy: tuple[float, float], text: str, font: Any) -> tuple[float, ...]:
    """Where `_text` draws ``text`` at ``xy``, its outline included."""
    left, top, right, bottom = draw.textbbox(xy, text, font=font, stroke_width=2)
    return (left, top, right, bottom)


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _edge_letter(draw: Any, letter: str, font: Any, at: tuple[float, float], edge: str) -> None:
    """A patient-direction letter in a black box against an edge of the image (``at``: the
    middle of that edge), white on black as on the report's key images and the canvas:
    where the DRR is air (white, dense = dark) a white letter with a thin outline read as
    a smudge in the report's thumbnails."""
    left, top, right, bottom = draw.textbbox((0, 0), letter, font=font)
    pad = 2
    bw, bh = right - left + 2 * pad, bottom - top + 2 * pad
    x, y = at
    x0, y0 = (x - bw, y - bh / 2) if edge == "right" else (x - bw / 2, y - bh)
    x0, y0 = round(x0), round(y0)
    draw.rectangle((x0, y0, x0 + bw - 1, y0 + bh - 1), fill=_SHADOW)
    draw.text((x0 + pad - left, y0 + pad - top), letter, fill=_TEXT, font=font)


def fluoro_preview(
    case: Case,
    ct: ImageVolume,
    target_id: str,
    kind: ViewKind,
    *,
    detector: DetectorSpec | None = None,
    options: DrrOptions | None = None,
    dense_dark: bool = True,
    oblique_deg: float | None = None,
    labels: bool = True,
    drr: DrrFunction = compute_drr,
) -> FluoroPreview:
    """The preview of one view of one target on the case's CT.

    ``drr`` computes the line integrals (`compute_drr`, or one that reuses them: the
    report keeps them per C-arm position, `blockplan.report.memo`).

    Raises
    ------
    PlanningError
        As `target_views` and `compute_drr`.
    """
    extra = {} if oblique_deg is None else {"oblique_deg": oblique_deg}
    (view,) = target_views(case, target_id, detector, kinds=(kind,), **extra)
    names = wording.target_names(case.targets)
    name = names[target_id]
    li = drr(ct, view.geometry, options)
    overlay = plan_overlay(case, target_id, view.geometry)
    rgb = _drawn(li, overlay, view, name, labels=labels, dense_dark=dense_dark)
    return FluoroPreview(target_id, name, view, li, rgb, overlay)


_DRAWN_LIMIT = 48
"""How many drawn previews `_drawn` keeps (a 256² preview is 192 KiB: ≤ 9 MiB)."""
_drawn_lock = threading.Lock()
_drawn_kept: OrderedDict[tuple[Any, ...], tuple[weakref.ref[Any], npt.NDArray[np.uint8]]] = (
    OrderedDict()
)


def _drawn(
    li: npt.NDArray[np.float32],
    overlay: PlanOverlay,
    view: FluoroView,
    caption: str,
    *,
    labels: bool,
    dense_dark: bool,
) -> npt.NDArray[np.uint8]:
    """`to_display` then `draw_preview`, kept for the very same DRR array (a DRR reused by
    the report's memo, `blockplan.report.memo`) and the same drawing: a report rebuilt
    after an edit that moves no needle draws none of its previews again. The kept image is
    read-only (it is shared)."""
    key = _drawn_key(li, overlay, view, caption, labels=labels, dense_dark=dense_dark)
    with _drawn_lock:
        found = _drawn_kept.get(key)
        if found is not None and found[0]() is li:
            _drawn_kept.move_to_end(key)
            return found[1]
    rgb = draw_preview(to_display(li, dense_dark=dense_dark), overlay, view, caption, labels=labels)
    _keep_drawn(key, li, rgb)
    return rgb


def keep_drawn(preview: FluoroPreview, *, labels: bool, dense_dark: bool = True) -> None:
    """Keep a preview computed elsewhere (`blockplan.report.beside`: in a helper process)
    as `fluoro_preview` keeps the previews it draws: a later preview of the very same DRR
    array and drawing takes it instead of drawing it again."""
    key = _drawn_key(
        preview.line_integral,
        preview.overlay,
        preview.view,
        preview.target_name,
        labels=labels,
        dense_dark=dense_dark,
    )
    _keep_drawn(key, preview.line_integral, preview.image_rgb)


def _drawn_key(
    li: npt.NDArray[np.float32],
    overlay: PlanOverlay,
    view: FluoroView,
    caption: str,
    *,
    labels: bool,
    dense_dark: bool,
) -> tuple[Any, ...]:
    g = view.geometry
    return (
        id(li),
        dense_dark,
        overlay,
        view.title,
        view.notes,
        direction_letter(g.right),
        direction_letter(g.down),
        caption,
        labels,
    )


def _keep_drawn(
    key: tuple[Any, ...], li: npt.NDArray[np.float32], rgb: npt.NDArray[np.uint8]
) -> None:
    rgb.setflags(write=False)
    with _drawn_lock:
        for old in [k for k, (ref, _) in _drawn_kept.items() if ref() is None]:
            del _drawn_kept[old]  # their DRRs are gone: nothing can ask for them again
        _drawn_kept[key] = (weakref.ref(li), rgb)
        while len(_drawn_kept) > _DRAWN_LIMIT:
            _drawn_kept.popitem(last=False)


def preview_record(preview: FluoroPreview) -> dict[str, Any]:
    """What ``blockplan fluoro`` writes beside the image (JSON-ready; no patient data)."""
    v = preview.view
    g = v.geometry
    a = v.angles
    det = g.detector
    return {
        "target_id": preview.target_id,
        "target": preview.target_name,
        "view": v.kind.value,
        "view_title": v.name,
        "c_arm": v.c_arm,
        "c_arm_angles": {
            "oblique_deg": round(a.oblique_deg, 3),
            "oblique_side": a.oblique_side.value,
            "tilt_deg": round(a.tilt_deg, 3),
            "tilt_direction": a.tilt_direction.value,
        },
        "projection_matrix": g.projection_matrix.tolist(),
        "projection_maps": "homogeneous LPS mm (x, y, z, 1) to (w*column, w*row, w)",
        "source_isocentre_mm": det.source_isocentre_mm,
        "source_detector_mm": det.source_detector_mm,
        "detector": {"columns": det.columns, "rows": det.rows, "pixel_mm": det.pixel_mm},
        "isocentre_lps": g.isocentre_lps.tolist(),
        "source_lps": g.source_lps.tolist(),
        "beam_lps": g.beam.tolist(),
        "target_px": list(preview.overlay.target_px),
        "entry_px": None if preview.overlay.entry_px is None else list(preview.overlay.entry_px),
        "notes": list(v.notes),
    }
