"""PDF/A-2b on every build (issue 17 point 7), checked with a real validator (``page``).

Every report the suite builds is validated (tests/conftest.py wraps the PDF/A step);
these tests add the cause of the old 1-in-20 failure and a sweep over case variants.
"""

from __future__ import annotations

import datetime as dt
import io

import pikepdf
import pytest

from blockplan.case.model import Case
from blockplan.io.volume import ImageVolume
from blockplan.report import ReportOptions, build_report
from blockplan.report.pdfa import PdfaMetadata, make_pdfa
from tests.report import _factory
from tests.report._pdfa_check import pdfa_failures

META = PdfaMetadata(
    "t", "a", "s", "k", "BPR-TEST-1", dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "c", "p"
)


def _one_page(i: int) -> bytes:
    from reportlab import rl_config
    from reportlab.pdfgen.canvas import Canvas

    from blockplan.report.fonts import register_fonts

    fonts = register_fonts()
    previous = rl_config.useA85, rl_config.invariant
    rl_config.useA85, rl_config.invariant = 0, 1
    try:
        buf = io.BytesIO()
        c = Canvas(buf, invariant=1, pageCompression=1, initialFontName=fonts.regular)
        c.drawString(72, 720, f"variant {i}" * (1 + i % 7))
        c.rect(10, 10, i % 100 + 3, (i * 7) % 90 + 1)
        c.showPage()
        c.save()
    finally:
        rl_config.useA85, rl_config.invariant = previous
    return buf.getvalue()


def _streams(pdf: bytes) -> list[tuple[bytes, bytes]]:
    """(raw, decoded) bytes of every stream."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        return [
            (o.read_raw_bytes(), o.read_bytes())
            for o in doc.objects
            if isinstance(o, pikepdf.Stream)
        ]


def test_a_stream_ending_in_cr_no_longer_breaks_pdfa() -> None:
    # The cause of the 1-in-20 failure: a Flate stream whose last byte (of its Adler-32)
    # is 0x0D, so "CR LF endstream" hid one byte from /Length (rule 6.1.7.1).
    variant = next(
        i for i in range(400) if any(raw.endswith(b"\r") for raw, _ in _streams(_one_page(i)))
    )
    source = _one_page(variant)
    decoded_before = sorted(d for _, d in _streams(source))
    pdf = make_pdfa(source, META)
    assert pdfa_failures(pdf) == []
    after = _streams(pdf)
    assert not [raw for raw, _ in after if raw.endswith(b"\r")]
    # same content once decoded (the output adds only the XMP and ICC streams)
    decoded_after = [d for _, d in after]
    assert all(d in decoded_after for d in decoded_before)


@pytest.mark.parametrize("seed", range(16))
def test_reports_of_many_case_variants_are_pdfa(seed: int, ct: ImageVolume) -> None:
    case = _factory.make_case(
        1 + seed % 5,
        seed % 6,
        patient_name=f"Variant{seed}^Test",
        profile_name=("asra-2020-single", "strict-dual-80", "comparative")[seed % 3],
    )
    if seed % 4 == 0:
        case = case.model_copy(update={"scar_regions": (_factory.scar_region(ct),)})
    case = _with_case_id(case, seed)
    options = ReportOptions(
        author=f"Dr. Variant {seed}",
        created_at=dt.datetime(2026, 3, 1 + seed, 9, seed, tzinfo=dt.UTC),
        page_size="letter" if seed % 2 else "A4",
        include_sagittal=False,
    )
    pdf = build_report(case, volumes=[ct] if seed % 4 == 0 else [], options=options)
    assert pdfa_failures(pdf) == []


def _with_case_id(case: Case, seed: int) -> Case:
    return case.model_copy(update={"case_id": f"{seed:032x}"})


def test_the_validator_catches_a_broken_file(small_pdf: bytes) -> None:
    broken = small_pdf.replace(b"/GTS_PDFA1", b"/GTS_PDFX1", 1)
    assert pdfa_failures(broken)  # the check can fail
