"""The C-arm previews of a target in the report: bull's-eye and progression, side by side.

The previews are computed by the core (`blockplan.fluoro.preview.fluoro_preview`), on the
CT the paths were checked on (`blockplan.planning.paths.planning_ct`); the report only
places them and prints each view's name and C-arm angles as the core worded them.

Decision support, not a medical device.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Spacer

from blockplan.errors import PlanningError
from blockplan.fluoro.drr import DrrOptions, compute_drr
from blockplan.fluoro.geometry import (
    DEFAULT_DETECTOR_PX,
    DEFAULT_PIXEL_MM,
    CArmGeometry,
    DetectorSpec,
)
from blockplan.fluoro.preview import FluoroPreview, fluoro_preview, keep_drawn
from blockplan.fluoro.views import ViewKind, target_views
from blockplan.io.volume import ImageVolume
from blockplan.planning.paths import planning_ct
from blockplan.report.beside import Job, taken_beside
from blockplan.report.layout import Paragraph, esc, grid
from blockplan.report.memo import report_memo

if TYPE_CHECKING:
    from blockplan.case.model import Case, Target
    from blockplan.report.options import ReportOptions
    from blockplan.report.sections import Context

__all__ = [
    "REPORT_VIEWS",
    "fluoro_cell",
    "prepare_previews",
    "preview_jobs",
    "report_previews",
]

REPORT_VIEWS = (ViewKind.BULLSEYE, ViewKind.PROGRESSION)
"""The views the report shows for each planned target."""

_QUICK = DrrOptions(voxel_step=2)
"""Thumbnails: every second CT voxel along each axis (about 8 times faster)."""

_LABELS = False
"""Thumbnails carry no level names (the caption says the view)."""


def report_previews(
    ctx: Context, target: Target, volumes: Sequence[ImageVolume]
) -> tuple[FluoroPreview, ...]:
    """The report's previews of a target; none without a path or a CT in its frame."""
    ct = _preview_ct(ctx.case, target, volumes, ctx.options)
    if ct is None:
        return ()
    return report_memo.get(
        ctx.revision,
        [ct],
        _previews_part(target, ctx.options),
        lambda: _taken_or_computed(ctx.case, target, ct, ctx.options),
    )


def _previews_part(target: Target, options: ReportOptions) -> tuple[str, str, int]:
    return ("fluoro", target.id, options.fluoro_pixels)


def _taken_or_computed(
    case: Case, target: Target, ct: ImageVolume, options: ReportOptions
) -> tuple[FluoroPreview, ...]:
    """A target's previews from the build's helper process (`blockplan.report.beside`),
    their DRRs and drawings then kept as if computed here; else computed here."""
    taken: tuple[FluoroPreview, ...] | None = taken_beside(_job_key(target))
    if taken is None:
        return _compute_previews(case, target, ct, options)
    for preview in taken:
        _keep_drr(ct, preview)
        keep_drawn(preview, labels=_LABELS)
    return taken


def _keep_drr(ct: ImageVolume, preview: FluoroPreview) -> None:
    """Keep a preview's DRR as `_reused_drr` would have (`ReportMemo.lasting`)."""
    part = _drr_part(preview.view.geometry, _QUICK)
    report_memo.lasting([ct], part, lambda: preview.line_integral)


def _job_key(target: Target) -> str:
    return f"C-arm previews of {target.id}"


def preview_jobs(
    case: Case, volumes: Sequence[ImageVolume], options: ReportOptions, revision: str
) -> list[Job]:
    """The previews a build of a case revision has to compute, in the order the build
    needs them — of targets with a path, not kept for this revision nor their DRRs for
    these C-arm positions —, as jobs a helper process can share (`blockplan.report.beside`;
    the build takes them in `report_previews`)."""
    jobs: list[Job] = []
    for target in case.targets[: options.max_key_images]:
        ct = _preview_ct(case, target, volumes, options)
        if ct is None or report_memo.holds(revision, [ct], _previews_part(target, options)):
            continue
        if _drrs_kept(case, target, ct, options):
            continue  # drawing them again is quick: nothing worth sharing
        compute = functools.partial(_compute_previews, case, target, ct, options)
        jobs.append((_job_key(target), compute))
    return jobs


def _drrs_kept(case: Case, target: Target, ct: ImageVolume, options: ReportOptions) -> bool:
    """Whether every DRR of a target's report views is kept (`ReportMemo.lasting`)."""
    try:
        views = target_views(case, target.id, _detector(options), kinds=REPORT_VIEWS)
    except PlanningError:
        return True  # no views: no DRR to compute
    return all(report_memo.holds_lasting([ct], _drr_part(v.geometry, _QUICK)) for v in views)


def prepare_previews(
    case: Case,
    volumes: Sequence[ImageVolume],
    options: ReportOptions,
    cancelled: Callable[[], bool] = lambda: False,
) -> int:
    """Compute ahead the DRRs of the report's previews (kept by `ReportMemo.lasting`), so
    that the next build of the case takes them ready: e.g. in a worker while the physician
    plans. Stops early when ``cancelled()`` says so; returns the number of targets done."""
    done = 0
    for target in case.targets:
        if cancelled():
            break
        ct = _preview_ct(case, target, volumes, options)
        if ct is not None:
            _compute_previews(case, target, ct, options)
            done += 1
    return done


def _preview_ct(
    case: Case, target: Target, volumes: Sequence[ImageVolume], options: ReportOptions
) -> ImageVolume | None:
    """The CT a target's previews are computed on; None without previews, a path, or a CT
    in the target's frame."""
    if not options.fluoro_previews or case.trajectory_for(target.id) is None:
        return None
    return planning_ct(volumes, target.position.frame_of_reference_uid)


def _compute_previews(
    case: Case, target: Target, ct: ImageVolume, options: ReportOptions
) -> tuple[FluoroPreview, ...]:
    detector = _detector(options)
    try:
        return tuple(
            fluoro_preview(
                case,
                ct,
                target.id,
                kind,
                detector=detector,
                options=_QUICK,
                labels=_LABELS,
                drr=_reused_drr,
            )
            for kind in REPORT_VIEWS
        )
    except PlanningError:
        return ()  # e.g. the source inside a very large CT: the previews are left out


def _detector(options: ReportOptions) -> DetectorSpec:
    """The thumbnails' detector: the default field of view at ``fluoro_pixels``."""
    px = options.fluoro_pixels
    return DetectorSpec(columns=px, rows=px, pixel_mm=DEFAULT_PIXEL_MM * DEFAULT_DETECTOR_PX / px)


def _drr_part(geometry: CArmGeometry, options: DrrOptions | None) -> tuple[object, ...]:
    """What a DRR is kept by besides its CT: the C-arm position, detector and options."""
    g = geometry
    position = tuple(a.tobytes() for a in (g.isocentre_lps, g.beam, g.right, g.down))
    return ("drr", position, g.detector, options)


def _reused_drr(
    ct: ImageVolume, geometry: CArmGeometry, options: DrrOptions | None
) -> npt.NDArray[np.float32]:
    """`compute_drr`, kept per CT and C-arm position across case revisions: a rebuild
    after an edit that moves no needle reuses every DRR (`ReportMemo.lasting`)."""
    part = _drr_part(geometry, options)
    return report_memo.lasting([ct], part, lambda: compute_drr(ct, geometry, options))


class _Picture(Flowable):  # type: ignore[misc]
    """A preview's pixels at a given width (no PNG round trip)."""

    def __init__(self, preview: FluoroPreview, width: float) -> None:
        from PIL import Image as PILImage
        from reportlab.lib.utils import ImageReader

        super().__init__()
        rows, cols = preview.image_rgb.shape[:2]
        self.width, self.height = width, width * rows / cols
        self._reader = ImageReader(PILImage.fromarray(preview.image_rgb))

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        self.canv.drawImage(self._reader, 0, 0, self.width, self.height)


def fluoro_cell(
    ctx: Context, target: Target, volumes: Sequence[ImageVolume], cell_w: float
) -> list[Flowable] | None:
    """The bull's-eye and progression previews of a target with their C-arm angles."""
    previews = report_previews(ctx, target, volumes)
    if not previews:
        return None
    gap = 3 * mm
    half = (cell_w - gap) / 2
    images = grid(
        [[_Picture(p, half) for p in previews]],
        [half + gap, half],
        [("RIGHTPADDING", (0, 0), (0, 0), gap)],
    )
    first = previews[0]
    det = first.view.geometry.detector
    views = "; ".join(f"<b>{esc(p.view.title)}</b>" for p in previews)
    caption = Paragraph(
        f"<b>{esc(first.target_name)}</b> · C-arm previews (DRR from the CT, dense = dark; "
        f"source–detector {det.source_detector_mm:g} mm, isocentre at the target): {views}. "
        "Red: target; green ring: skin entry; yellow: path; orange rings: marked roots.",
        ctx.st.caption,
    )
    return [images, Spacer(1, 1.5 * mm), caption]
