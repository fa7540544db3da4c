"""Pictures reused between builds of the same case revision (`blockplan.report.memo`):
the same bytes as a build that computes everything, never a stale picture after an edit,
and no volume kept alive."""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import weakref

import numpy as np
import pytest

from blockplan.case.model import Case
from blockplan.io.volume import ImageVolume
from blockplan.report import ReportOptions, build_report
from blockplan.report.memo import case_revision, image_streams, report_memo
from tests.report import _factory


def _build(case: Case, ct: ImageVolume, options: ReportOptions) -> bytes:
    return build_report(case, volumes=[ct], options=options)


def _cold(case: Case, ct: ImageVolume, options: ReportOptions) -> bytes:
    """The report built with nothing kept; the memo is empty again afterwards."""
    report_memo.clear()
    pdf = _build(case, ct, options)
    report_memo.clear()
    return pdf


def test_a_second_build_reuses_the_pictures_and_gives_the_same_bytes(
    ct: ImageVolume, options: ReportOptions
) -> None:
    case = _factory.make_case(2, 1, volume=ct)
    report_memo.clear()
    first = _build(case, ct, options)
    hits, lasting = report_memo.hits, report_memo.lasting_hits
    again = _build(case, ct, options)
    # previews of 2 targets and the level check (this revision's), 2 axial key images and
    # the sagittal overview (kept by what they are drawn from)
    assert report_memo.hits - hits == 2 + 1
    assert report_memo.lasting_hits - lasting == 2 + 1
    assert again == first


def test_an_edited_case_never_gets_the_previous_revisions_pictures(
    ct: ImageVolume, options: ReportOptions
) -> None:
    case = _factory.make_case(2, 1, volume=ct)
    moved = case.targets[0].model_copy(
        update={
            "position": case.targets[0].position.model_copy(
                update={
                    "lps": tuple(
                        c + d for c, d in zip(case.targets[0].position.lps, (4, 0, 6), strict=True)
                    )
                }
            )
        }
    )
    edited = case.evolve(targets=(moved, *case.targets[1:]))
    assert case_revision(edited) != case_revision(case)
    report_memo.clear()
    fresh = _build(edited, ct, options)
    _build(case, ct, options)  # the memo now holds the unedited case's pictures
    hits = report_memo.hits
    assert _build(edited, ct, options) == fresh
    assert report_memo.hits == hits  # nothing of the other revision was reused


def test_a_reloaded_volume_is_computed_anew_and_a_freed_one_is_not_kept(
    options: ReportOptions,
) -> None:
    ct = _factory.ct_volume()
    case = _factory.make_case(1, 1, volume=ct)
    report_memo.clear()
    first = _build(case, ct, options)
    reloaded = _factory.ct_volume()  # equal voxels, another array
    hits = report_memo.hits
    assert _build(case, reloaded, options) == first
    assert report_memo.hits == hits
    renamed = dataclasses.replace(ct, series_number=9)  # the same array, described otherwise
    _build(case, renamed, options)
    assert report_memo.hits == hits
    del renamed
    gone = weakref.ref(ct.array)
    del ct
    gc.collect()
    assert gone() is None


def test_compressed_images_are_reused_across_revisions_without_changing_a_byte(
    ct: ImageVolume, options: ReportOptions
) -> None:
    from reportlab.pdfbase import pdfdoc

    original = pdfdoc.PDFImageXObject
    case = _factory.make_case(2, 1, volume=ct)
    retitled = case.evolve(title="another title")  # another revision, the same pictures
    report_memo.clear()  # clears image_streams too
    _build(case, ct, options)
    hits = image_streams.hits
    reused = _build(retitled, ct, options)
    assert image_streams.hits - hits >= 5  # 2 axial, sagittal, 4 previews
    report_memo.clear()
    assert _build(retitled, ct, options) == reused  # every image compressed anew
    assert pdfdoc.PDFImageXObject is original  # reportlab's class is back after a build


def test_an_edit_that_moves_no_needle_reuses_every_picture_and_the_level_count(
    ct: ImageVolume, options: ReportOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    from blockplan.fluoro import preview

    case = _factory.make_case(2, 2, volume=ct)
    block = case.procedures[-1]
    edited = case.replace_item(  # a note on the block: a new revision, no needle moved
        "procedures", block.model_copy(update={"notes": "diary checked by phone"})
    )
    assert case_revision(edited) != case_revision(case)
    report_memo.clear()
    fresh = _build(edited, ct, options)  # everything computed for the edited case
    report_memo.clear()
    _build(case, ct, options)
    hits, lasting = report_memo.hits, report_memo.lasting_hits
    drawn = []
    original = preview.draw_preview
    monkeypatch.setattr(
        preview, "draw_preview", lambda *a, **k: drawn.append(a[3]) or original(*a, **k)
    )
    assert _build(edited, ct, options) == fresh
    assert report_memo.hits == hits  # nothing of the other revision's own results
    # 2 targets × 2 DRRs, the level count, 2 axial key images and the sagittal overview
    assert report_memo.lasting_hits - lasting == 2 * 2 + 1 + 2 + 1
    assert drawn == []  # the previews drawn on those DRRs are reused too


def test_a_moved_needle_gets_new_pictures_and_the_others_are_reused(
    ct: ImageVolume, options: ReportOptions
) -> None:
    case = _factory.make_case(2, 1, volume=ct)
    first = case.targets[0]
    lps = tuple(c + d for c, d in zip(first.position.lps, (4, 0, 6), strict=True))
    moved = first.model_copy(update={"position": first.position.model_copy(update={"lps": lps})})
    edited = case.evolve(targets=(moved, *case.targets[1:]))
    report_memo.clear()
    fresh = _build(edited, ct, options)
    report_memo.clear()
    _build(case, ct, options)
    lasting = report_memo.lasting_hits
    assert _build(edited, ct, options) == fresh
    # the unmoved target's 2 DRRs and axial key image, the level count (the sagittal
    # overview marks the moved target: drawn again)
    assert report_memo.lasting_hits - lasting == 2 + 1 + 1


def test_prepared_pictures_make_the_first_build_compute_none(
    ct: ImageVolume, options: ReportOptions
) -> None:
    from blockplan.report import prepare_report

    case = _factory.make_case(2, 1, volume=ct)
    cold = _cold(case, ct, options)
    asked: list[int] = []

    def cancelled() -> bool:  # the physician leaves after the first target's previews
        asked.append(1)
        return len(asked) > 1

    prepare_report(case, [ct], options, cancelled=cancelled)
    lasting = report_memo.lasting_hits
    assert _build(case, ct, options) == cold
    assert report_memo.lasting_hits - lasting == 2  # the first target's 2 DRRs only
    report_memo.clear()
    prepare_report(case, [ct], options)
    hits, lasting = report_memo.hits, report_memo.lasting_hits
    assert _build(case, ct, options) == cold  # the same bytes as computing everything
    # nothing computed: both targets' previews and the level check, 2 axial key images
    # and the sagittal overview were ready
    assert report_memo.hits - hits == 2 + 1
    assert report_memo.lasting_hits - lasting == 2 + 1


def test_prepared_pictures_are_compressed_ahead_too(
    ct: ImageVolume, options: ReportOptions
) -> None:
    from blockplan.report import prepare_report

    case = _factory.make_case(2, 1, volume=ct)
    cold = _cold(case, ct, options)
    prepare_report(case, [ct], options)
    streams = image_streams.hits
    assert _build(case, ct, options) == cold
    # every picture's Flate stream was ready: 2 axial, the sagittal overview, 4 previews
    assert image_streams.hits - streams == 2 + 1 + 2 * 2


def test_pictures_compressed_beside_the_layout_give_reportlabs_very_streams(
    ct: ImageVolume, options: ReportOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    import contextlib

    from blockplan.report import document

    case = _factory.make_case(2, 1, volume=ct)
    report_memo.clear()
    awaited = image_streams.awaited
    ahead = _build(case, ct, options)
    # the layout took every picture's stream from the workers: 2 axial, the sagittal
    # overview, 2 previews for each of the 2 targets — none compressed in the layout
    assert image_streams.awaited - awaited == 2 + 1 + 2 * 2
    monkeypatch.setattr(document, "_compressed_ahead", lambda flow: contextlib.nullcontext())
    assert _cold(case, ct, options) == ahead  # reportlab compressing in the layout


def test_a_failed_compressing_worker_leaves_the_picture_to_the_layout(
    ct: ImageVolume, options: ReportOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    from blockplan.report import document

    case = _factory.make_case(2, 1, volume=ct)
    expected = _cold(case, ct, options)

    def failing(raw: bytes, size: tuple[int, int], mode: str) -> tuple[object, ...]:
        raise MemoryError("no room for the stream")

    monkeypatch.setattr(document, "_flate_stream", failing)
    awaited = image_streams.awaited
    assert _cold(case, ct, options) == expected
    assert image_streams.awaited == awaited  # no stream came from a worker


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_the_stream_made_ahead_is_the_one_reportlab_makes(mode: str) -> None:
    import numpy as np
    from PIL import Image as PILImage
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfbase import pdfdoc

    from blockplan.report.document import _STREAM_FIELDS, _flate_stream, _plain_flate

    rng = np.random.default_rng(7)
    shape = (40, 56, 3) if mode == "RGB" else (40, 56)
    pixels = PILImage.fromarray(rng.integers(0, 255, shape, dtype=np.uint8))
    reader = ImageReader(pixels)
    with _plain_flate():
        image_streams.clear()  # reportlab's own compression, not a kept stream
        made = pdfdoc.PDFImageXObject("x", ImageReader(pixels), mask=None)
    raw = reader.getRGBData()
    ours = _flate_stream(raw, reader.getSize(), reader.mode)
    assert ours == tuple(getattr(made, f) for f in _STREAM_FIELDS)


def test_a_drawn_preview_is_kept_for_its_very_drr_only(ct: ImageVolume) -> None:
    from blockplan.fluoro.drr import DrrOptions
    from blockplan.fluoro.preview import fluoro_preview
    from blockplan.fluoro.views import ViewKind

    case = _factory.make_case(1, 0, volume=ct)
    tid = case.targets[0].id
    kept: dict[str, object] = {}

    def drr(volume: ImageVolume, geometry: object, options: object) -> object:
        from blockplan.fluoro.drr import compute_drr

        if "li" not in kept:
            kept["li"] = compute_drr(volume, geometry, options)  # type: ignore[arg-type]
        return kept["li"]

    quick = DrrOptions(voxel_step=2)
    first = fluoro_preview(case, ct, tid, ViewKind.BULLSEYE, options=quick, drr=drr)
    again = fluoro_preview(case, ct, tid, ViewKind.BULLSEYE, options=quick, drr=drr)
    assert again.image_rgb is first.image_rgb  # the same DRR array: drawn once
    assert not first.image_rgb.flags.writeable  # shared, so nobody draws on it
    other = fluoro_preview(case, ct, tid, ViewKind.BULLSEYE, options=quick)  # a new DRR
    assert other.image_rgb is not first.image_rgb
    assert np.array_equal(other.image_rgb, first.image_rgb)


def test_the_garbage_collector_is_held_off_during_a_build_and_restored_after(
    ct: ImageVolume, options: ReportOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build runs without the cyclic collector (one build in three ran a full collection
    of the process' heap); afterwards it is on again — or still off, if it was off before —
    and the bytes are those of a build with it on."""
    from blockplan.report import document

    case = _factory.make_case(2, 1, volume=ct)
    seen: list[bool] = []
    layout = document._layout

    def watched(*args: object) -> bytes:
        seen.append(gc.isenabled())
        return layout(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(document, "_layout", watched)
    assert gc.isenabled()
    held = _cold(case, ct, options)
    assert seen == [False] and gc.isenabled()
    gc.disable()
    try:
        _cold(case, ct, options)
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()
    monkeypatch.setattr(document, "_collector_held", contextlib.nullcontext)
    assert _cold(case, ct, options) == held
