"""The rules of the report's larger view (`blockplan.report.preview`): its title, page
count and size, the order pages are rendered in, and the zoom steps."""

from __future__ import annotations

import io

import pytest

from blockplan.case.model import Case
from blockplan.errors import ReportError
from blockplan.report.preview import (
    LARGER_VIEW_DPI,
    ZOOM_STEPS,
    fit_width_zoom,
    larger_view_title,
    next_zoom,
    page_count,
    page_size_px,
    render_each_page,
    report_heading,
)


def _three_pages() -> bytes:
    from reportlab.pdfgen.canvas import Canvas

    buf = io.BytesIO()
    canvas = Canvas(buf, pagesize=(595.28, 841.89))  # A4
    for n in range(3):
        canvas.drawString(72, 720, f"page {n + 1}")
        canvas.showPage()
    canvas.save()
    return buf.getvalue()


def test_the_title_names_the_report_and_decision_support_never_the_patient(
    small_pdf: bytes, small_case: Case
) -> None:
    title = larger_view_title(small_pdf)
    assert title.startswith(f"{report_heading(small_pdf)} — larger view")
    assert report_heading(small_pdf).startswith("Diagnostic spine block report BPR-")
    assert title.endswith("(decision support, not a medical device)")
    patient = small_case.patient
    for value in (patient.patient_id, str(patient.patient_name).split("^")[0]):
        assert value and value not in title
    assert larger_view_title(small_pdf, stale=True) == f"STALE — {title}"
    assert report_heading(_untitled()) == "Report"


def _untitled() -> bytes:
    """A one-page PDF without a title."""
    import pikepdf

    doc = pikepdf.new()
    doc.add_blank_page()
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def test_page_count_and_size_at_the_larger_views_dpi() -> None:
    pdf = _three_pages()
    assert page_count(pdf) == 3
    assert page_size_px(pdf) == (909, 1286)  # A4 at 110 dpi
    assert page_size_px(pdf, dpi=72) == (595, 842)
    with pytest.raises(ReportError, match="could not be read as a PDF"):
        page_count(b"not a pdf")


def test_pages_are_rendered_from_the_one_asked_for() -> None:
    pdf = _three_pages()
    rendered = list(render_each_page(pdf, dpi=20, start=2))
    assert [number for number, _ in rendered] == [2, 3, 1]
    assert all(png.startswith(b"\x89PNG") for _, png in rendered)
    assert [n for n, _ in render_each_page(pdf, dpi=20, start=9)] == [3, 1, 2]
    assert LARGER_VIEW_DPI == 110


def test_zoom_steps_and_fit_width() -> None:
    assert next_zoom(1.0, 1) == 1.1 and next_zoom(1.0, -1) == 0.9
    assert next_zoom(1.0, 2) == 1.25 and next_zoom(1.0, -2) == 0.75
    assert next_zoom(0.83, 1) == 0.9 and next_zoom(0.83, -1) == 0.75  # from a fitted width
    assert next_zoom(ZOOM_STEPS[-1], 1) == ZOOM_STEPS[-1]
    assert next_zoom(ZOOM_STEPS[0], -1) == ZOOM_STEPS[0]
    assert fit_width_zoom(910, 455) == 0.5
    assert fit_width_zoom(910, 100) == ZOOM_STEPS[0]  # never smaller than the first step
    assert fit_width_zoom(0, 500) == 1.0
