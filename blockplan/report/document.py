"""Build the report: a PDF/A-2b document of a case, its images and its evidence ledger.

The report is what the clinic archives and the next physician reads. It is built
headless (reportlab, numpy and Pillow; no Qt, no OpenGL), every page carries the report
id, "page x of y" and "decision support, not a medical device", and the file is
byte-reproducible for a fixed creation date.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import io
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reportlab.lib.pagesizes import A4, letter
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    NextPageTemplate,
    PageTemplate,
    Paragraph,
)

from blockplan import __version__
from blockplan.case.casefile import write_bytes_atomic
from blockplan.case.model import Case
from blockplan.errors import BlockplanError, ProfileError, ReportError
from blockplan.io.volume import ImageVolume
from blockplan.outcomes import Ledger, build_ledger
from blockplan.planning.level_guard import level_check_for_case
from blockplan.planning.level_proposal import LevelProposal, propose_levels
from blockplan.planning.paths import measure_paths
from blockplan.planning.wording import target_tag
from blockplan.report.beside import pictures_beside
from blockplan.report.findings import ReportFindings, findings_from_ledger
from blockplan.report.fluoro import preview_jobs
from blockplan.report.fonts import FontSet, register_fonts
from blockplan.report.identity import case_relations
from blockplan.report.layout import INK, MUTED, RULE, make_styles, person_name
from blockplan.report.memo import case_revision, image_streams, report_memo
from blockplan.report.options import ReportOptions, derive_report_id
from blockplan.report.payer import payer_checklists
from blockplan.report.pdfa import PdfaMetadata, make_pdfa
from blockplan.report.scripts import (
    check_glyphs,
    draw_text,
    fit_text,
    register_script_fonts,
    text_width,
)
from blockplan.report.sections import DISCLAIMER, Context, story

__all__ = ["DISCLAIMER", "build_report", "prepare_report", "resolve_findings", "write_report"]

_MARGIN = 16 * mm
_TOP_FIRST = 14 * mm
_TOP_LATER = 20 * mm
_BOTTOM = 18 * mm
_TOTAL_FORM = "blockplanPageTotal"


@dataclass(frozen=True, slots=True)
class _PageInfo:
    fonts: FontSet
    report_id: str
    running_left: str
    running_right: str
    page_width: float
    page_height: float


class _ReportCanvas(Canvas):
    """A canvas that writes the page total once, as a form every footer refers to."""

    def __init__(self, *args: Any, page_info: _PageInfo, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._page_info = page_info

    def save(self) -> None:
        total = self.getPageNumber() - 1  # the last showPage already counted on
        self.beginForm(_TOTAL_FORM)
        self.setFont(self._page_info.fonts.regular, 7)
        self.setFillColor(MUTED)
        self.drawString(0, 0, str(total))
        self.endForm()
        super().save()


def _draw_page_frame(canvas: Canvas, info: _PageInfo, *, running_header: bool) -> None:
    canvas.saveState()
    w, m, fonts = info.page_width, _MARGIN, info.fonts
    y = 10 * mm
    canvas.setStrokeColor(RULE)
    canvas.setLineWidth(0.5)
    canvas.line(m, y + 9, w - m, y + 9)
    canvas.setFillColor(MUTED)
    centre = canvas.stringWidth(DISCLAIMER, fonts.bold, 7)
    report = fit_text(
        canvas, f"Report {info.report_id}", fonts.regular, 7, (w - centre) / 2 - m - 6
    )
    draw_text(canvas, m, y, report, fonts.regular, 7, right=False)
    canvas.setFont(fonts.bold, 7)
    canvas.drawCentredString(w / 2, y, DISCLAIMER)
    canvas.setFont(fonts.regular, 7)
    slot = canvas.stringWidth("888", fonts.regular, 7)
    canvas.drawRightString(w - m - slot, y, f"Page {canvas.getPageNumber()} of ")
    canvas.saveState()
    canvas.translate(w - m - slot, y)
    canvas.doForm(_TOTAL_FORM)
    canvas.restoreState()
    if running_header:
        top = info.page_height - 11 * mm
        canvas.setFillColor(INK)
        # Each side on its line, shortened if need be: both are printed whole on page 1.
        line = w - 2 * m - 12
        right = fit_text(canvas, info.running_right, fonts.regular, 7.5, line / 2)
        used = text_width(canvas, right, fonts.regular, 7.5)
        left = fit_text(canvas, info.running_left, fonts.bold, 7.5, line - used)
        draw_text(canvas, m, top, left, fonts.bold, 7.5, right=False)
        draw_text(canvas, w - m, top, right, fonts.regular, 7.5, right=True)
        canvas.setStrokeColor(RULE)
        canvas.line(m, top - 4, w - m, top - 4)
    canvas.restoreState()


class _ReportDoc(BaseDocTemplate):
    """A document template that adds an outline entry (bookmark) per section heading."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._section = 0

    def afterFlowable(self, flowable: Flowable) -> None:
        # Let a picture's compressing worker (`_compressed_ahead`) take the GIL for the
        # moment it needs between two pictures: without this it waits for the
        # interpreter's 5 ms switch interval after each one, and the layout soon waits
        # for it.
        time.sleep(0)
        if isinstance(flowable, Paragraph) and flowable.style.name == "H1":
            self._section += 1
            key = f"section{self._section}"
            self.canv.bookmarkPage(key)
            self.canv.addOutlineEntry(flowable.getPlainText(), key, level=0)


_A85_LOCK = threading.Lock()


@contextlib.contextmanager
def _plain_flate() -> Iterator[None]:
    """reportlab's global switches for a reproducible, compact report, restored afterwards.

    * ``useA85 = 0``: streams without the ASCII85 layer reportlab adds by default;
      pure-Python ASCII85 of the key images cost more than the rest of the layout, and the
      PDF only gets larger with it.
    * images: an image whose pixels were compressed for an earlier report reuses that
      Flate stream (`blockplan.report.memo.image_streams`, keyed by the pixels' digest);
    * ``invariant = 1``: the drawings (diary charts, spine map) write their graphics
      state in sorted order. Without it `reportlab.graphics.renderPDF` writes it in the
      order of a dictionary filled from a hash-ordered set, so the same case gave different
      bytes in another Python process (found by the cross-process reproducibility test).
    """
    from reportlab import rl_config
    from reportlab.pdfbase import pdfdoc

    with _A85_LOCK:
        previous = rl_config.useA85, rl_config.invariant, pdfdoc.PDFImageXObject
        rl_config.useA85, rl_config.invariant = 0, 1
        pdfdoc.PDFImageXObject = _reused_image_class(previous[2])
        try:
            yield
        finally:
            rl_config.useA85, rl_config.invariant, pdfdoc.PDFImageXObject = previous


_STREAM_FIELDS = ("width", "height", "streamContent", "_filters", "colorSpace", "bitsPerComponent")


def _stream_key(im: Any, mask: Any) -> str:
    """What a Flate stream is kept by: the pixels' digest with size, mode and mask — never
    the name reportlab gives an image (for a file that is its path). Kept on the reader,
    so its pixels are hashed once per build (`_compressed_ahead`, then the layout)."""
    known = getattr(im, "_blockplan_stream_key", None)
    if known is not None and known[0] == repr(mask):
        return str(known[1])
    raw = im.getRGBData()  # kept by the reader; sets its mode (e.g. P becomes RGB)
    pixels = hashlib.blake2b(raw, digest_size=20).hexdigest()
    key = f"{pixels} {im.getSize()} {im.mode} {mask!r}"
    im._blockplan_stream_key = (repr(mask), key)
    return key


def _flate_stream(raw: bytes, size: tuple[int, int], mode: str) -> tuple[Any, ...]:
    """The `_STREAM_FIELDS` reportlab's image XObject sets for these pixels with
    ``useA85 = 0`` (`reportlab.pdfbase.pdfdoc.PDFImageXObject.loadImageFromSRC`): safe
    in a worker thread, as zlib lets go of the GIL."""
    import zlib

    from reportlab.pdfbase.pdfdoc import _mode2CS

    return (*size, zlib.compress(raw), ("FlateDecode",), _mode2CS[mode], 8)


@functools.cache
def _reused_image_class(base: type) -> type:
    """reportlab's image XObject, taking its Flate stream from `image_streams` when the
    same pixels were compressed before (or are being compressed ahead,
    `_compressed_ahead`), and keeping it there otherwise. The stream is the one zlib would
    make again: the bytes of the PDF do not change."""

    class ReusedImageXObject(base):
        def loadImageFromSRC(self, im: Any) -> None:
            if im.jpeg_fh() is not None:
                super().loadImageFromSRC(im)
                return
            key = _stream_key(im, self.mask)
            found = image_streams.get(key)
            if found is None:
                super().loadImageFromSRC(im)
                image_streams.put(key, tuple(getattr(self, f) for f in _STREAM_FIELDS))
                return
            for field, value in zip(_STREAM_FIELDS, found, strict=True):
                setattr(self, field, value)
            self._checkTransparency(im)

    return ReusedImageXObject


_COMPRESSORS = 2
"""Worker threads compressing a story's pictures while its layout runs."""


@contextlib.contextmanager
def _compressed_ahead(flowables: Iterable[Any]) -> Iterator[None]:
    """Compress the story's pictures in worker threads while the body of the ``with``
    lays it out: zlib lets go of the GIL, so on a second CPU the pictures are compressed
    beside the layout instead of inside it. The layout takes each stream from
    `image_streams`, waiting for it if it is not done yet — the very stream it would have
    made itself, so the PDF's bytes do not change. On leaving, every worker has ended."""
    from concurrent.futures import ThreadPoolExecutor

    jobs: dict[str, tuple[bytes, tuple[int, int], str]] = {}
    for reader in _image_readers(flowables):
        key = _stream_key(reader, None)  # our pictures are drawn without a mask
        if key not in jobs and not image_streams.has(key):
            jobs[key] = (reader.getRGBData(), reader.getSize(), reader.mode)
    if not jobs:
        yield
        return
    try:
        with ThreadPoolExecutor(_COMPRESSORS, thread_name_prefix="blockplan-flate") as pool:
            for key, (raw, size, mode) in jobs.items():
                image_streams.promise(key, pool.submit(_flate_stream, raw, size, mode))
            yield
    finally:
        image_streams.settle(jobs)


def resolve_findings(
    case: Case, ledger: Ledger | ReportFindings | None, options: ReportOptions
) -> ReportFindings:
    """Findings from a ledger, ready findings, or (None) a ledger built for the case.

    Parameters
    ----------
    case
        The case.
    ledger
        A `blockplan.outcomes.Ledger`, `ReportFindings`, or None.
    options
        ``options.profile`` (else the case's profile) is used when ``ledger`` is None.

    Raises
    ------
    ReportError
        When the profile cannot be loaded or ``ledger`` is of another type.
    """
    if isinstance(ledger, ReportFindings):
        return ledger
    if ledger is None:
        profile = options.profile or case.profile_name
        try:
            ledger = build_ledger(case, profile)
        except ProfileError as err:
            raise ReportError(f"report: profile {profile!r} cannot be used ({err})") from err
    if not isinstance(ledger, Ledger):
        raise ReportError(
            "report: ledger must be a blockplan.outcomes.Ledger, ReportFindings or None, "
            f"not {type(ledger).__name__}"
        )
    return findings_from_ledger(ledger)


def _block_numbers(case: Case, findings: ReportFindings) -> dict[str, int]:
    numbers = {b.procedure_id: b.number for b in findings.blocks}
    following = max(numbers.values(), default=0) + 1
    for proc in sorted(case.procedures, key=lambda p: p.performed_at):
        if proc.id not in numbers:
            numbers[proc.id] = following
            following += 1
    return numbers


def _as_volumes(
    volumes: Iterable[ImageVolume] | Mapping[str, ImageVolume] | None,
) -> list[ImageVolume]:
    if volumes is None:
        return []
    items = list(volumes.values()) if isinstance(volumes, Mapping) else list(volumes)
    for v in items:
        if not isinstance(v, ImageVolume):
            raise ReportError(
                f"report: volumes must be ImageVolume objects, not {type(v).__name__}"
            )
    return items


def build_report(
    case: Case,
    *,
    volumes: Iterable[ImageVolume] | Mapping[str, ImageVolume] | None = None,
    ledger: Ledger | ReportFindings | None = None,
    options: ReportOptions | None = None,
) -> bytes:
    """Build the report of a case as PDF/A-2b bytes.

    Parameters
    ----------
    case
        The case: patient, study, levels, scar, targets, trajectories, procedures.
    volumes
        Image volumes of the study (LPS affine, any orientation). Key images are sampled
        from those whose frame of reference matches the targets; None or empty: the
        report says that no images were given.
    ledger
        A `blockplan.outcomes.Ledger`, ready `ReportFindings`, or None to build the ledger
        under ``options.profile`` (default: the case's profile).
    options
        Clinic, author, date, report id and sizes; see `ReportOptions`. None: clinic and
        author from the clinician settings (`ReportOptions.from_settings`).

    Returns
    -------
    bytes
        The PDF/A-2b file. With ``options.created_at`` fixed, equal input gives equal bytes.

    Raises
    ------
    ReportError
        When a font or the ICC profile is missing, the profile cannot be loaded, the logo
        cannot be read, or the layout fails.
    """
    opts = options or ReportOptions.from_settings()
    vols = _as_volumes(volumes)
    page = A4 if opts.page_size == "A4" else letter
    with _collector_held(), _pictures_shared(case, vols, opts):
        ctx = _context(case, vols, ledger, opts, page)
        info = _page_info(ctx, page)
        flow = story(ctx, vols)
        with _compressed_ahead(flow):
            pdf = _layout(ctx, info, flow)
        return make_pdfa(pdf, _pdfa_metadata(ctx))


class _HeldCollector:
    """How many reports are being built, and whether the collector ran before the first."""

    lock = threading.Lock()
    builds = 0
    was_enabled = False


@contextlib.contextmanager
def _collector_held() -> Iterator[None]:
    """Python's cyclic garbage collector held off while a report is built: a build makes
    and drops some 10⁵ objects (reportlab's fragments, lines, tables), so one build in three
    ran a full collection of the whole process' heap (≈ 35 ms in the report benchmark;
    `benchmarks/report_build.py`). Reference counting still frees what the build drops; the
    collector runs again as before once the last of concurrent builds ends."""
    import gc

    with _HeldCollector.lock:
        if _HeldCollector.builds == 0:
            _HeldCollector.was_enabled = gc.isenabled()
            gc.disable()
        _HeldCollector.builds += 1
    try:
        yield
    finally:
        with _HeldCollector.lock:
            _HeldCollector.builds -= 1
            if _HeldCollector.builds == 0 and _HeldCollector.was_enabled:
                gc.enable()


def _context(
    case: Case,
    vols: list[ImageVolume],
    ledger: Ledger | ReportFindings | None,
    opts: ReportOptions,
    page: tuple[float, float],
) -> Context:
    """Everything the sections print from, checked (text glyphs, time zone, profile)."""
    created = opts.created_at or dt.datetime.now(dt.UTC).replace(microsecond=0)
    if created.tzinfo is None:
        raise ReportError(
            "report: created_at must carry a time zone (e.g. 2026-03-15T09:30:00+01:00)"
        )
    fonts = register_fonts()
    _check_text(case, opts)
    findings = resolve_findings(case, ledger, opts)
    report_id = opts.report_id or derive_report_id(case, findings.profile_label, created)
    revision = case_revision(case)
    return Context(
        case=case,
        findings=findings,
        options=opts,
        fonts=fonts,
        st=make_styles(fonts),
        report_id=report_id,
        created_at=created,
        width=page[0] - 2 * _MARGIN,
        target_labels={t.id: target_tag(t) for t in case.targets},
        block_numbers=_block_numbers(case, findings),
        paths=measure_paths(case, vols, skip_unmeasurable=True),
        payer=payer_checklists(case, opts.payer_profiles),
        level_check=report_memo.get(
            revision, vols, "level check", lambda: level_check_for_case(case, vols, _proposal)
        ),
        revision=revision,
    )


def prepare_report(
    case: Case,
    volumes: Iterable[ImageVolume] | Mapping[str, ImageVolume] | None,
    options: ReportOptions | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> None:
    """Compute ahead the report's pictures — the C-arm previews' DRRs, the key images
    and the automatic level count (`blockplan.report.memo`) — so that the next
    `build_report` of this case, or of any later revision of it that moves no needle,
    finds them ready. Meant for a worker while the physician plans: stops early when
    ``cancelled()`` says so (checked between targets), and leaves any error in the case
    (a missing font, an unreadable logo) to the build, which reports it. Writes nothing.
    """
    from blockplan.report.fluoro import prepare_previews

    opts = options or ReportOptions()
    vols = _as_volumes(volumes)
    prepare_previews(case, vols, opts, cancelled)  # the slow part, target by target
    if cancelled():
        return
    with contextlib.suppress(BlockplanError):
        flow = story(_context(case, vols, None, opts, A4), vols)  # key images, level count
        if not cancelled():
            _precompress(flow)


def _precompress(flowables: Iterable[Any]) -> None:
    """Compress the pictures of a story as its layout will (`memo.image_streams`)."""
    with _compressed_ahead(flowables):
        pass  # leaving waits for every worker


def _image_readers(flowables: Iterable[Any]) -> Iterator[Any]:
    """The image readers of our picture flowables (`KeyImageFlowable`, the C-arm
    previews), in tables and kept-together groups too."""
    for f in flowables:
        reader = getattr(f, "_reader", None)
        if reader is not None:
            yield reader
        yield from _image_readers(getattr(f, "_content", None) or ())  # KeepTogether
        for row in getattr(f, "_cellvalues", None) or ():  # Table
            for cell in row:
                yield from _image_readers(cell if isinstance(cell, list | tuple) else [cell])


def _proposal(volume: ImageVolume) -> LevelProposal:
    """The automatic level count of a series, kept across case revisions (it depends on
    the images alone)."""
    return report_memo.lasting([volume], "level proposal", lambda: propose_levels(volume))


def _pictures_shared(
    case: Case, vols: list[ImageVolume], opts: ReportOptions
) -> contextlib.AbstractContextManager[None]:
    """The C-arm previews a first build computes, shared with a helper process where one
    can run (`blockplan.report.beside`: it takes them from the last target backwards) when
    there are at least two targets' previews to compute (less is not worth a process).
    Only the previews: the level count, measured in a helper, took it four times as long
    as the build takes (the helper's first writes copy the pages they touch), and the
    build needs it early."""
    jobs = preview_jobs(case, vols, opts, case_revision(case))
    return pictures_beside(jobs, worth=len(jobs) >= 2)


def _check_text(case: Case, opts: ReportOptions) -> None:
    """Every text the report prints has a glyph in an embedded font (else ReportError)."""
    register_script_fonts()
    options = {
        "author": opts.author,
        "clinic_name": opts.clinic_name,
        "clinic_address": opts.clinic_address,
        "title": opts.title,
    }
    check_glyphs({"case": case.model_dump(mode="json"), "options": options})


def _page_info(ctx: Context, page: tuple[float, float]) -> _PageInfo:
    """What every page frame shows: report id, clinic and title, patient."""
    opts, p = ctx.options, ctx.case.patient
    patient = (
        person_name(p.patient_name),
        f"ID {p.patient_id}" if p.patient_id else "",
        f"born {p.birth_date.isoformat()}" if p.birth_date else "",
    )
    return _PageInfo(
        fonts=ctx.fonts,
        report_id=ctx.report_id,
        running_left=" · ".join(x for x in (opts.clinic_name, opts.title) if x),
        running_right=" · ".join(x for x in patient if x),
        page_width=page[0],
        page_height=page[1],
    )


def _page_template(name: str, top: float, info: _PageInfo, running_header: bool) -> PageTemplate:
    frame = Frame(
        _MARGIN,
        _BOTTOM,
        info.page_width - 2 * _MARGIN,
        info.page_height - top - _BOTTOM,
        id=name,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )
    return PageTemplate(
        id=name,
        frames=[frame],
        onPage=lambda c, d: _draw_page_frame(c, info, running_header=running_header),
    )


def _layout(ctx: Context, info: _PageInfo, flowables: list[Flowable]) -> bytes:
    """Lay the story out on pages (the first without the running header): PDF bytes."""
    opts = ctx.options
    buffer = io.BytesIO()
    doc = _ReportDoc(
        buffer,
        pagesize=(info.page_width, info.page_height),
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=_TOP_FIRST,
        bottomMargin=_BOTTOM,
        title=opts.title,
        author=opts.author,
        invariant=1,
        pageCompression=1,
        initialFontName=ctx.fonts.regular,
        initialFontSize=9,
        enforceColorSpace="rgb",
        lang=opts.language,
    )
    doc.addPageTemplates(
        [
            _page_template("first", _TOP_FIRST, info, False),
            _page_template("later", _TOP_LATER, info, True),
        ]
    )

    def canvasmaker(*args: Any, **kwargs: Any) -> _ReportCanvas:
        return _ReportCanvas(*args, page_info=info, **kwargs)

    try:
        with _plain_flate():
            doc.build([NextPageTemplate("later"), *flowables], canvasmaker=canvasmaker)
    except ReportError:
        raise
    except Exception as err:  # reportlab raises LayoutError and plain exceptions alike
        raise ReportError(
            f"report {ctx.report_id}: layout failed ({type(err).__name__}: {err})"
        ) from err
    return buffer.getvalue()


def _pdfa_metadata(ctx: Context) -> PdfaMetadata:
    opts, report_id = ctx.options, ctx.report_id
    return PdfaMetadata(
        title=f"{opts.title} {report_id}",
        author=opts.author or opts.clinic_name or "blockplan",
        subject=f"Diagnostic block report {report_id} ({DISCLAIMER.lower()})",
        keywords=f"blockplan; {ctx.findings.profile_label}; {report_id}",
        report_id=report_id,
        created_at=ctx.created_at,
        creator=f"blockplan {__version__}",
        producer=f"blockplan {__version__} (ReportLab, pikepdf)",
        language=opts.language,
        relations=case_relations(ctx.case),
    )


def write_report(
    case: Case,
    path: str | Path,
    *,
    volumes: Iterable[ImageVolume] | Mapping[str, ImageVolume] | None = None,
    ledger: Ledger | ReportFindings | None = None,
    options: ReportOptions | None = None,
) -> Path:
    """Build the report and write it atomically with mode 0600.

    Parameters
    ----------
    case, volumes, ledger, options
        As for `build_report`.
    path
        Destination ``.pdf`` file; its folder must exist. An existing file is replaced
        only once the new report is complete.

    Returns
    -------
    Path
        The absolute path written.

    Raises
    ------
    ReportError
        When the report cannot be built or the file cannot be written.
    """
    data = build_report(case, volumes=volumes, ledger=ledger, options=options)
    try:
        return write_bytes_atomic(path, data, mode=0o600)
    except OSError as err:
        raise ReportError(
            f"report: cannot write {path} ({err.strerror or err}); check that the folder "
            "exists and is writable"
        ) from err
