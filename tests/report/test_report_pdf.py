"""The report PDF: contents, pages, images, PDF/A structure, reproducibility."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import Image
from pypdf import PdfReader

from blockplan.case.model import Case
from blockplan.errors import ReportError
from blockplan.io.volume import ImageVolume
from blockplan.outcomes import build_ledger
from blockplan.report import ReportOptions, build_report, write_report
from tests.report import _factory
from tests.report.conftest import FIXED, pdf_difference, render_pages

REPO = Path(__file__).resolve().parents[2]


def page_texts(pdf: bytes) -> list[str]:
    return [p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf)).pages]


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


# --- contents ---------------------------------------------------------------------------
def test_text_names_every_target_level_side_agent_volume_and_status(
    small_pdf: bytes, small_case: Case
) -> None:
    text = flat(" ".join(page_texts(small_pdf)))
    for target in small_case.targets:
        assert target.level is not None
        assert target.level in text
        assert target.side.value in text
    for proc in small_case.procedures:
        for inj in proc.injections:
            assert inj.agent.value in text
            assert f"{inj.volume_ml:g} mL" in text
    ledger = build_ledger(small_case, small_case.profile_name)
    for source in ledger.sources:
        assert source.status.value in text
        assert source.label in text
    assert "asra-2020-single" in text and ledger.profile_version in text
    for word in ("Key images", "Targets and trajectories", "Procedures", "Pain diaries"):
        assert word in text
    for word in ("Adjudication", "Reevaluation suggestions", "Signature"):
        assert word in text


def test_first_page_carries_the_summary(small_pdf: bytes, tmp_path: Path) -> None:
    first = flat(page_texts(small_pdf)[0])
    assert "Pain-source findings" in first
    assert "Confirmed: L5, right, nerve root" in first
    assert "Not supported as a pain source: L4, left, nerve root" in first
    assert "Pain-source map" in first
    pages = render_pages(small_pdf, tmp_path)
    top = np.asarray(Image.open(pages[0]).convert("L"))
    assert top.shape[0] > 600 and (top < 128).mean() > 0.01  # ink on the rendered page


def test_every_page_has_footer_with_page_x_of_y(small_pdf: bytes) -> None:
    texts = page_texts(small_pdf)
    n = len(texts)
    assert n >= 4
    for number, text in enumerate(texts, start=1):
        t = flat(text)
        assert f"Page {number} of {n}" in t
        assert "Decision support, not a medical device" in t
        assert re.search(r"Report BPR-20260320-[0-9A-F]{8}", t)


def test_key_images_are_page_image_xobjects(small_pdf: bytes, small_case: Case) -> None:
    pdf = pikepdf.open(io.BytesIO(small_pdf))
    images = 0
    for page in pdf.pages:
        for _, xobj in page.get_images().items():
            images += 1
            assert int(xobj.Width) >= 200
    # one axial plane per target and the sagittal overview
    assert images >= len(small_case.targets) + 1


def test_every_page_renders(small_pdf: bytes, tmp_path: Path) -> None:
    pages = render_pages(small_pdf, tmp_path)
    assert len(pages) == len(PdfReader(io.BytesIO(small_pdf)).pages)
    for png in pages:
        img = Image.open(png)
        assert img.size[0] > 400


# --- PDF/A-2b ---------------------------------------------------------------------------
def test_pdfa_output_intent_and_xmp(small_pdf: bytes) -> None:
    pdf = pikepdf.open(io.BytesIO(small_pdf))
    intents = pdf.Root.OutputIntents
    assert len(intents) == 1
    intent = intents[0]
    assert intent.S == pikepdf.Name.GTS_PDFA1
    assert int(intent.DestOutputProfile.N) == 3
    assert len(intent.DestOutputProfile.read_bytes()) > 128
    meta = pdf.open_metadata()
    assert meta["pdfaid:part"] == "2"
    assert meta["pdfaid:conformance"] == "B"
    assert meta["dc:title"].startswith("Diagnostic spine block report BPR-")
    assert meta["dc:creator"] == ["Dr. A. Example"]
    assert meta["dc:identifier"].startswith("BPR-20260320-")
    assert meta["xmp:CreateDate"] == "2026-03-20T10:00:00+00:00"
    info = pdf.docinfo
    assert str(info.Title) == meta["dc:title"]
    assert str(info.Author) == "Dr. A. Example"
    assert str(info.Producer) == meta["pdf:Producer"]
    assert str(info.CreationDate) == "D:20260320100000+00'00'"
    assert "/Filter" not in pdf.Root.Metadata  # XMP stays readable


def test_no_encryption_and_no_javascript(small_pdf: bytes) -> None:
    pdf = pikepdf.open(io.BytesIO(small_pdf))
    assert "/Encrypt" not in pdf.trailer
    assert not pdf.is_encrypted
    for obj in pdf.objects:
        if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
            assert "/JavaScript" not in obj and "/JS" not in obj
    assert "/Names" not in pdf.Root or "/JavaScript" not in pdf.Root.Names


def test_every_font_is_embedded(small_pdf: bytes, tmp_path: Path) -> None:
    pdf = pikepdf.open(io.BytesIO(small_pdf))
    fonts = [
        o for o in pdf.objects if isinstance(o, pikepdf.Dictionary) and o.get("/Type") == "/Font"
    ]
    assert fonts
    for font in fonts:
        d = font.FontDescriptor
        assert any(k in d for k in ("/FontFile", "/FontFile2", "/FontFile3")), font.BaseFont
        assert "DejaVuSans" in str(font.BaseFont)
    if shutil.which("pdffonts") is None:
        pytest.fail("pdffonts is missing: install the Debian package poppler-utils")
    path = tmp_path / "r.pdf"
    path.write_bytes(small_pdf)
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True)
    rows = out.stdout.splitlines()[2:]
    assert rows
    for row in rows:
        # name, type (two words), encoding, emb, sub, uni, object, id
        assert row.split()[-5] == "yes", row


def test_document_id_comes_from_the_report_id(small_pdf: bytes) -> None:
    import hashlib

    pdf = pikepdf.open(io.BytesIO(small_pdf))
    report_id = pdf.open_metadata()["dc:identifier"]
    assert bytes(pdf.trailer.ID[0]) == hashlib.md5(report_id.encode()).digest()


# --- reproducibility --------------------------------------------------------------------
def test_same_case_and_date_give_identical_bytes(
    small_case: Case, ct: ImageVolume, mr: ImageVolume, options: ReportOptions, small_pdf: bytes
) -> None:
    again = build_report(small_case, volumes=[ct, mr], options=options)
    assert again == small_pdf, pdf_difference(again, small_pdf)
    later = dataclasses.replace(options, created_at=FIXED + dt.timedelta(minutes=1))
    assert build_report(small_case, volumes=[ct, mr], options=later) != small_pdf


def test_identical_bytes_across_processes(small_pdf: bytes, tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from tests.report import _factory\n"
        "from tests.report.conftest import FIXED\n"
        "from blockplan.report import ReportOptions, build_report\n"
        "ct = _factory.ct_volume(); mr = _factory.mr_sagittal_volume()\n"
        "case = _factory.make_case(3, 5, volume=ct)\n"
        "opts = ReportOptions(clinic_name='Synthetic Spine Clinic',\n"
        "    clinic_address='1 Example Street\\nSampletown', author='Dr. A. Example',\n"
        "    created_at=FIXED)\n"
        "sys.stdout.buffer.write(build_report(case, volumes=[ct, mr], options=opts))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, check=True, timeout=120
    )
    assert out.stdout == small_pdf, pdf_difference(out.stdout, small_pdf)


# --- pagination of a long case ----------------------------------------------------------
def test_long_case_splits_tables_with_repeated_headers(long_pdf: bytes) -> None:
    texts = [flat(t) for t in page_texts(long_pdf)]
    assert len(texts) >= 8
    # Rows of the targets table carry a needle path, rows of the procedures table the
    # operator: every page holding such rows repeats the table's header row.
    for row_pattern, header, min_pages in (
        (r"Path length: \d+\.\d mm", "Target / entry (LPS mm)", 2),  # 20 rows: splits
        (r"Dr\. Synthetic Operator", "Date, operator", 1),
    ):
        pages = [t for t in texts if re.search(row_pattern, t)]
        assert len(pages) >= min_pages, header
        for t in pages:
            assert header in t
    joined = " ".join(texts)
    for n in range(1, 21):
        assert f"T{n} " in joined
    for n in range(1, 16):
        assert f"Block #{n} " in joined


def test_long_case_has_no_text_outside_the_page_frame(long_pdf: bytes, tmp_path: Path) -> None:
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is missing: install the Debian package poppler-utils")
    src = tmp_path / "long.pdf"
    src.write_bytes(long_pdf)
    html = tmp_path / "long.html"
    subprocess.run(["pdftotext", "-bbox", str(src), str(html)], check=True, timeout=120)
    boxes = re.findall(
        r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)"', html.read_text()
    )
    assert boxes
    margin = 16 * 72 / 25.4
    width, height = 595.28, 841.89
    for x0, y0, x1, y1 in ((float(a), float(b), float(c), float(d)) for a, b, c, d in boxes):
        assert x0 >= margin - 1.5 and x1 <= width - margin + 1.5, (x0, x1)
        assert y0 >= 0 and y1 <= height


def test_long_case_pages_render(long_pdf: bytes, tmp_path: Path) -> None:
    pages = render_pages(long_pdf, tmp_path)
    assert len(pages) == len(PdfReader(io.BytesIO(long_pdf)).pages)


# --- names, options, errors -------------------------------------------------------------
@pytest.mark.parametrize(
    "name", ["Παπαδοπούλου^Ελένη", "Иванова^Мария", "Øyvindsdóttir^Žofia Łucja"]
)
def test_non_latin_patient_names_render_with_embedded_font(
    name: str, ct: ImageVolume, options: ReportOptions
) -> None:
    case = _factory.make_case(1, 1, patient_name=name)
    pdf = build_report(case, options=options)
    family, given = name.split("^")
    text = flat(page_texts(pdf)[0])
    assert f"{family}, {given}" in text
    for font in (
        o for o in pikepdf.open(io.BytesIO(pdf)).objects if isinstance(o, pikepdf.Dictionary)
    ):
        if font.get("/Type") == "/Font":
            assert "/FontFile2" in font.FontDescriptor


def test_report_without_volumes_says_so(small_case: Case, options: ReportOptions) -> None:
    text = flat(" ".join(page_texts(build_report(small_case, options=options))))
    assert "No image volumes were given" in text


def test_logo_with_alpha_is_flattened(small_case: Case, options: ReportOptions) -> None:
    buf = io.BytesIO()
    Image.new("RGBA", (120, 40), (200, 30, 30, 128)).save(buf, format="PNG")
    pdf = build_report(small_case, options=dataclasses.replace(options, clinic_logo=buf.getvalue()))
    doc = pikepdf.open(io.BytesIO(pdf))
    logos = [x for x in doc.pages[0].get_images().values() if int(x.Width) == 120]
    assert logos and "/SMask" not in logos[0]


def test_unreadable_logo_raises(small_case: Case, options: ReportOptions) -> None:
    bad = dataclasses.replace(options, clinic_logo=b"not an image")
    with pytest.raises(ReportError, match=r"clinic logo .* cannot be read as an image"):
        build_report(small_case, options=bad)


def test_naive_date_raises(small_case: Case) -> None:
    with pytest.raises(ReportError, match="time zone"):
        build_report(small_case, options=ReportOptions(created_at=dt.datetime(2026, 3, 1)))


def test_unknown_profile_raises(small_case: Case, options: ReportOptions) -> None:
    with pytest.raises(ReportError, match="profile 'no-such-profile' cannot be used"):
        build_report(small_case, options=dataclasses.replace(options, profile="no-such-profile"))


def test_wrong_ledger_type_raises(small_case: Case, options: ReportOptions) -> None:
    with pytest.raises(ReportError, match="ledger must be"):
        build_report(small_case, ledger="asra", options=options)


def test_other_profile_changes_statuses(small_case: Case, options: ReportOptions) -> None:
    pdf = build_report(small_case, options=dataclasses.replace(options, profile="strict-dual-80"))
    text = flat(" ".join(page_texts(pdf)))
    assert "strict-dual-80" in text
    assert "asra-2020-single" not in text


def test_write_report_is_atomic_with_mode_0600(
    small_case: Case, options: ReportOptions, tmp_path: Path
) -> None:
    target = tmp_path / "report.pdf"
    target.write_bytes(b"old")
    path = write_report(small_case, target, options=options)
    assert path == target.absolute()
    assert target.read_bytes().startswith(b"%PDF-")
    assert target.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["report.pdf"]


def test_write_report_into_missing_folder_raises(
    small_case: Case, options: ReportOptions, tmp_path: Path
) -> None:
    with pytest.raises(ReportError, match=r"cannot write .* check that the folder exists"):
        write_report(small_case, tmp_path / "missing" / "r.pdf", options=options)


def test_reportlab_switches_are_restored_after_a_report(
    small_case: Case, options: ReportOptions
) -> None:
    from reportlab import rl_config

    before = rl_config.useA85, rl_config.invariant
    build_report(small_case, options=options)
    assert (rl_config.useA85, rl_config.invariant) == before


def test_the_report_does_not_depend_on_reportlabs_global_switches(
    small_case: Case, ct: ImageVolume, mr: ImageVolume, options: ReportOptions, small_pdf: bytes
) -> None:
    """A test once left ``rl_config.invariant`` set; reports built after it differed from
    reports built in a fresh process (the drawings' graphics-state order)."""
    from reportlab import rl_config

    previous = rl_config.invariant
    try:
        for value in (0, 1):
            rl_config.invariant = value
            again = build_report(small_case, volumes=[ct, mr], options=options)
            assert again == small_pdf, pdf_difference(again, small_pdf)
    finally:
        rl_config.invariant = previous
