"""Key images, PDF/A conversion, fonts, findings and the CLI of the report."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from blockplan.case.casefile import save_case_file
from blockplan.case.model import Case
from blockplan.case.vocab import Laterality, Structure
from blockplan.cli import main
from blockplan.errors import ReportError
from blockplan.io.volume import ImageVolume
from blockplan.outcomes import SourceKey, Status
from blockplan.report import (
    ReportFindings,
    ReportOptions,
    SourceFinding,
    build_report,
)
from blockplan.report import fonts as report_fonts
from blockplan.report import keyimages as ki
from blockplan.report.pdfa import PdfaMetadata, make_pdfa, srgb_icc_profile
from tests.report import _factory
from tests.report.conftest import FIXED

FOR = _factory.FOR_UID


def volume(affine: np.ndarray, shape: tuple[int, int, int], seed: int = 1) -> ImageVolume:
    rng = np.random.default_rng(seed)
    return ImageVolume(
        array=rng.normal(0, 100, shape).astype(np.float32),
        affine=affine,
        frame_of_reference_uid=FOR,
        modality="CT",
        series_instance_uid="1.2.3",
    )


# --- sampling: exact and aspect-correct ------------------------------------------------
@pytest.mark.parametrize(
    ("u", "v"),
    [((1, 0, 0), (0, 1, 0)), ((0, 1, 0), (0, 0, -1)), ((1, 0.3, 0), (0, 1, 0.2))],
)
def test_sample_plane_equals_trilinear_sample_lps(u: tuple, v: tuple) -> None:
    # Anisotropic voxels (0.7 × 0.9 × 2.5 mm) on an axis-aligned grid.
    aff = np.diag([0.7, 0.9, 2.5, 1.0])
    aff[:3, 3] = (-30, -40, -50)
    vol = volume(aff, (40, 80, 90))
    plane = ki.Plane.centred([0, 0, 3.3], u, v, width_mm=50, height_mm=40, px_mm=0.5)
    fast = ki.sample_plane(vol, plane)
    ref = vol.sample_lps(plane.points()).reshape(plane.rows, plane.cols)
    assert np.array_equal(np.isfinite(fast), np.isfinite(ref))
    both = np.isfinite(ref)
    assert both.any()
    np.testing.assert_allclose(fast[both], ref[both], atol=0.05, rtol=1e-4)


def test_sample_plane_on_a_sheared_volume_matches_sample_lps() -> None:
    # Gantry tilt: the slice axis has a y component.
    aff = np.array([[0.8, 0, 0, -30], [0, 0.8, 0.9, -30], [0, 0, 2.0, -40], [0, 0, 0, 1.0]])
    vol = volume(aff, (30, 70, 70), seed=2)
    plane = ki.Plane.centred(
        [0, 0, -10], (1, 0, 0), (0, 1, 0), width_mm=40, height_mm=40, px_mm=0.5
    )
    fast = ki.sample_plane(vol, plane)
    ref = vol.sample_lps(plane.points()).reshape(plane.rows, plane.cols)
    both = np.isfinite(ref) & np.isfinite(fast)
    assert both.mean() > 0.5
    np.testing.assert_allclose(fast[both], ref[both], atol=0.05, rtol=1e-4)


def test_axial_key_image_is_radiological_and_aspect_correct() -> None:
    # Anisotropic CT; a bright block on the patient's right (x < 0), anterior (y < 0).
    aff = np.diag([0.5, 1.0, 3.0, 1.0])
    aff[:3, 3] = (-60, -60, -30)
    arr = np.zeros((20, 120, 240), dtype=np.int16)
    ijk_lo = np.rint(np.linalg.solve(aff, [-40, -40, -30, 1])[:3]).astype(int)
    ijk_hi = np.rint(np.linalg.solve(aff, [-20, -20, 30, 1])[:3]).astype(int)
    arr[:, ijk_lo[1] : ijk_hi[1], ijk_lo[0] : ijk_hi[0]] = 1500
    vol = ImageVolume(arr, aff, FOR, "CT", "1.2.3")
    case = _factory.make_case(1, 0)
    target = case.targets[0].model_copy(
        update={"position": case.targets[0].position.model_copy(update={"lps": (10.0, 10.0, 0.0)})}
    )
    img = ki.axial_key_image(vol, target, label="T1", min_fov_mm=110, pixels=220)
    assert img.letters == {"left": "R", "right": "L", "top": "A", "bottom": "P"}
    assert img.pixels.shape == (220, 220)
    assert img.width_mm == pytest.approx(img.height_mm)
    bright = np.argwhere(img.pixels > 200)
    assert bright.size
    rows, cols = bright[:, 0], bright[:, 1]
    assert cols.mean() < img.cols / 2  # patient right on the viewer's left
    assert rows.mean() < img.rows / 2  # anterior up
    # The block is 20 × 20 mm: square on the image although voxels are 0.5 × 1.0 mm.
    height = (rows.max() - rows.min() + 1) * img.px_mm
    width = (cols.max() - cols.min() + 1) * img.px_mm
    assert height == pytest.approx(20, abs=1.5) and width == pytest.approx(20, abs=1.5)
    mark = img.marks[0]
    assert mark.kind == "target"
    assert 0 <= mark.col < img.cols and 0 <= mark.row < img.rows


def test_target_and_trajectory_land_where_they_are(ct: ImageVolume) -> None:
    case = _factory.make_case(1, 0)
    target = case.targets[0]
    entry = case.trajectories[0].entry.lps
    img = ki.axial_key_image(ct, target, label="T1", entry=entry)
    plane_x0 = target.position.lps[0]
    t_mark = next(m for m in img.marks if m.kind == "target")
    e_mark = next(m for m in img.marks if m.kind == "entry")
    # Entry is lateral (patient right: −x, viewer's left) and posterior (down) of the target.
    assert e_mark.col < t_mark.col and e_mark.row > t_mark.row
    dx = (e_mark.col - t_mark.col) * img.px_mm
    assert dx == pytest.approx(entry[0] - plane_x0, abs=0.01)
    assert img.lines[-1].col1 == pytest.approx(t_mark.col)  # the path's last stretch ends there
    assert [line.side for line in img.lines] == [1, 0]  # the entry's stretch cranial: thin
    assert "cranial" in img.notes[0]


def test_a_key_image_of_an_interpolated_series_says_so(ct: ImageVolume) -> None:
    target = _factory.make_case(1, 0).targets[0]
    assert "(interpolated)" not in ki.axial_key_image(ct, target, label="T1").source
    note = f"{ct.geometry_note}; slices resampled to regular spacing 2.50 mm (a gap)"
    gappy = ct.with_array(ct.array, geometry_note=note)
    assert gappy.is_interpolated
    img = ki.axial_key_image(gappy, target, label="T1")
    assert "(interpolated)" in img.source  # the caption names it, as the napari layer does


def test_sagittal_overview_labels_levels(mr: ImageVolume, small_case: Case) -> None:
    img = ki.sagittal_overview(mr, small_case.levels, [("T1", small_case.targets[0])])
    assert img.letters == {"left": "A", "right": "P", "top": "S", "bottom": "I"}
    labels = [m.label for m in img.marks if m.kind == "level"]
    assert labels == [m.level for m in small_case.levels]
    rows = [m.row for m in img.marks if m.kind == "level"]
    assert rows == sorted(rows)  # cranial levels higher on the image


def test_scar_overlay_is_drawn_where_the_scar_is(ct: ImageVolume) -> None:
    scar = ki.ScarMask.from_region(_factory.scar_region(ct))
    case = _factory.make_case(1, 0)
    img = ki.axial_key_image(ct, case.targets[0], label="T1", scars=[scar])
    assert img.scar_shown and img.pixels.ndim == 3
    orange = (img.pixels[..., 0] == 255) & (img.pixels[..., 1] == 140)
    assert orange.any()


def test_choose_volume_prefers_modality_and_frame(ct: ImageVolume, mr: ImageVolume) -> None:
    p = (0.0, 0.0, 0.0)
    assert ki.choose_volume([mr, ct], p, FOR, modalities=("CT", "MR")) is ct
    assert ki.choose_volume([ct, mr], p, FOR, modalities=("MR", "CT")) is mr
    assert ki.choose_volume([ct, mr], p, "9.9.9", modalities=("CT",)) is None
    assert ki.choose_volume([ct], (500.0, 0.0, 0.0), FOR, modalities=("CT",)) is None


@pytest.mark.parametrize(
    ("direction", "letter"),
    [
        ((1, 0, 0), "L"),
        ((-1, 0, 0), "R"),
        ((0, 1, 0), "P"),
        ((0, -1, 0), "A"),
        ((0, 0, 1), "S"),
        ((0, 0, -1), "I"),
        ((1, 1, 0), "LP"),
    ],
)
def test_orientation_letters(direction: tuple, letter: str) -> None:
    assert ki.orientation_letter(direction) == letter


# --- PDF/A conversion -------------------------------------------------------------------
def _meta() -> PdfaMetadata:
    return PdfaMetadata(
        title="t",
        author="a",
        subject="s",
        keywords="k",
        report_id="R-1",
        created_at=FIXED,
        creator="c",
        producer="p",
    )


def _reportlab_pdf(font: str = "Helvetica", **kwargs: object) -> bytes:
    from reportlab.pdfgen.canvas import Canvas

    buf = io.BytesIO()
    c = Canvas(buf, invariant=1, **kwargs)
    c.setFont(font, 10)
    c.drawString(72, 72, "x")
    c.showPage()
    c.save()
    return buf.getvalue()


def test_pdfa_refuses_a_font_that_is_not_embedded() -> None:
    with pytest.raises(ReportError, match="font /Helvetica is not embedded"):
        make_pdfa(_reportlab_pdf(), _meta())


def test_pdfa_refuses_encrypted_input() -> None:
    from reportlab.lib.pdfencrypt import StandardEncryption

    data = _reportlab_pdf(encrypt=StandardEncryption("", canPrint=1))
    with pytest.raises(ReportError, match=r"(encrypted|cannot be read back)"):
        make_pdfa(data, _meta())


def test_pdfa_refuses_javascript() -> None:
    report_fonts.register_fonts()
    pdf = pikepdf.open(
        io.BytesIO(_reportlab_pdf(report_fonts.REGULAR, initialFontName=report_fonts.REGULAR))
    )
    pdf.Root.OpenAction = pikepdf.Dictionary(
        S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)")
    )
    out = io.BytesIO()
    pdf.save(out)
    with pytest.raises(ReportError, match="JavaScript"):
        make_pdfa(out.getvalue(), _meta())


def test_pdfa_refuses_a_naive_date() -> None:
    naive = PdfaMetadata(
        title="t",
        author="a",
        subject="s",
        keywords="k",
        report_id="R-1",
        created_at=dt.datetime(2026, 1, 1),
        creator="c",
        producer="p",
    )
    with pytest.raises(ReportError, match="time zone"):
        make_pdfa(b"%PDF-1.4", naive)


def test_srgb_profile_is_an_rgb_icc_profile() -> None:
    data = srgb_icc_profile()
    assert data[36:40] == b"acsp" and data[16:20] == b"RGB "


def test_pillow_srgb_fallback_is_reproducible(monkeypatch: pytest.MonkeyPatch) -> None:
    import blockplan.report.pdfa as pdfa

    monkeypatch.setattr(pdfa, "ICC_SEARCH_PATHS", ())
    monkeypatch.setattr(pdfa, "bundled_icc_path", lambda: None)
    first, second = pdfa.srgb_icc_profile(), pdfa.srgb_icc_profile()
    assert first == second and first[36:40] == b"acsp"


def test_without_system_profiles_highdicoms_bundled_srgb_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import blockplan.report.pdfa as pdfa

    monkeypatch.setattr(pdfa, "ICC_SEARCH_PATHS", ("/nonexistent/sRGB.icc",))
    bundled = pdfa.bundled_icc_path()
    assert bundled is not None and "highdicom" in bundled.parts
    data = pdfa.srgb_icc_profile()
    assert data == bundled.read_bytes()
    assert data[36:40] == b"acsp" and data[16:20] == b"RGB "


# --- fonts ------------------------------------------------------------------------------
def test_missing_font_names_the_debian_package(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(report_fonts, "_SEARCH_DIRS", ())
    monkeypatch.setattr(report_fonts, "_bundled_font_dirs", list)
    monkeypatch.setenv(report_fonts.FONT_DIR_ENV, str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(ReportError, match=r"DejaVuSans\.ttf .*fonts-dejavu-core"):
        report_fonts.find_font("DejaVuSans.ttf")


def test_without_system_fonts_matplotlibs_dejavu_is_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(report_fonts, "_SEARCH_DIRS", ())
    monkeypatch.delenv(report_fonts.FONT_DIR_ENV, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"):
        found = report_fonts.find_font(name)
        assert found.parts[-5:-1] == ("matplotlib", "mpl-data", "fonts", "ttf"), found
        assert found.read_bytes()[:4] == b"\x00\x01\x00\x00"  # TrueType outlines


def test_font_dir_env_is_searched_first(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real = report_fonts.find_font("DejaVuSans.ttf")
    (tmp_path / "DejaVuSans.ttf").write_bytes(real.read_bytes())
    monkeypatch.setenv(report_fonts.FONT_DIR_ENV, str(tmp_path))
    assert report_fonts.find_font("DejaVuSans.ttf") == tmp_path / "DejaVuSans.ttf"


# --- findings built directly ------------------------------------------------------------
def test_report_from_findings_with_a_group_source(options: ReportOptions) -> None:
    case = _factory.make_case(2, 0)
    left = SourceKey(structure=Structure.FACET_JOINT, level="L4-L5", side=Laterality.LEFT)
    right = SourceKey(structure=Structure.FACET_JOINT, level="L4-L5", side=Laterality.RIGHT)
    findings = ReportFindings(
        profile_name="custom-profile",
        profile_version="2.1",
        profile_title="A test profile",
        sources=(
            SourceFinding(
                sites=(left, right),
                status=Status.PROBABLE,
                blocks=(1,),
                settle=("a block of each side",),
            ),
            SourceFinding(sites=(left,), status=Status.INDETERMINATE, reasons=("shared relief",)),
        ),
    )
    pdf = build_report(case, ledger=findings, options=options)
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "custom-profile v2.1" in text
    assert "L4-L5 left + right facet joint" in " ".join(text.split())
    assert "a block of each side" in text


def test_findings_share_the_ledger_vocabulary() -> None:
    from blockplan.outcomes import STATUS_ORDER, build_ledger
    from blockplan.report import findings as report_findings
    from blockplan.report import findings_from_ledger

    ledger = build_ledger(_factory.make_case(5, 7), "asra-2020-single")
    findings = findings_from_ledger(ledger)
    assert report_findings.SourceKey is SourceKey  # one SourceKey, not a copy
    assert [s.sites for s in findings.sources] == [s.sites for s in ledger.sources]
    assert [s.status for s in findings.sources] == [s.status for s in ledger.sources]
    assert all(type(s.status) is Status for s in findings.sources)
    assert [b.sites for b in findings.blocks] == [b.sites for b in ledger.blocks]
    ranks = [STATUS_ORDER.index(s.status) for s in findings.ranked_sources()]
    assert ranks == sorted(ranks) and len(set(ranks)) > 1


def test_source_finding_status_and_display_label() -> None:
    right = SourceKey(structure=Structure.FACET_JOINT, level="L4-L5", side=Laterality.RIGHT)
    left = right.model_copy(update={"side": Laterality.LEFT})
    root = SourceKey(structure=Structure.NERVE_ROOT, level="L5", side=Laterality.RIGHT)
    finding = SourceFinding(sites=(right,), status="probable")  # type: ignore[arg-type]
    assert finding.status is Status.PROBABLE
    with pytest.raises(ValueError, match="ruled out"):
        SourceFinding(sites=(right,), status="ruled out")  # type: ignore[arg-type]
    assert finding.display_label == "L4-L5 right facet joint"
    both = SourceFinding(sites=(left, right), status=Status.CONFIRMED)
    assert both.display_label == "L4-L5 left + right facet joint"
    mixed = SourceFinding(sites=(right, root), status=Status.CONFIRMED)
    assert mixed.display_label == "L4-L5 right facet joint + L5 right nerve root"
    named = SourceFinding(sites=(right,), status=Status.EXCLUDED, label="L4-L5, right, facet")
    assert named.display_label == "L4-L5, right, facet"


def test_report_colours_come_from_the_one_table() -> None:
    from reportlab.lib.colors import HexColor

    from blockplan.outcomes import STATUS_COLOURS
    from blockplan.report.layout import status_tint
    from blockplan.report.spinemap import status_colour

    for status in Status:
        assert status_colour(status) == HexColor(STATUS_COLOURS[status])
        tint = status_tint(status, amount=1.0)
        assert tint.rgb() == pytest.approx(HexColor(STATUS_COLOURS[status]).rgb())


# --- the command line -------------------------------------------------------------------
def test_cli_writes_the_report(tmp_path: Path) -> None:
    case = _factory.make_case(2, 2)
    case_path = tmp_path / "case.json"
    save_case_file(case, case_path)
    out = tmp_path / "report.pdf"
    result = CliRunner().invoke(
        main,
        [
            "report",
            str(case_path),
            "-o",
            str(out),
            "--profile",
            "strict-dual-80",
            "--author",
            "Dr. B",
            "--date",
            "2026-03-20T10:00:00+01:00",
        ],
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF-")
    text = " ".join(p.extract_text() for p in PdfReader(out).pages)
    assert "strict-dual-80" in text and "Dr. B" in text
    again = tmp_path / "again.pdf"
    CliRunner().invoke(
        main,
        [
            "report",
            str(case_path),
            "-o",
            str(again),
            "--profile",
            "strict-dual-80",
            "--author",
            "Dr. B",
            "--date",
            "2026-03-20T10:00:00+01:00",
        ],
    )
    assert again.read_bytes() == out.read_bytes()


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    case_path = tmp_path / "case.json"
    save_case_file(_factory.make_case(1, 0), case_path)
    result = CliRunner().invoke(
        main, ["report", str(case_path), "-o", str(tmp_path / "r.pdf"), "--profile", "nope"]
    )
    assert result.exit_code == 2
    assert "profile 'nope' cannot be used" in result.output
    assert "Traceback" not in result.output
    bad_date = CliRunner().invoke(
        main, ["report", str(case_path), "-o", str(tmp_path / "r.pdf"), "--date", "2026-03-20"]
    )
    assert bad_date.exit_code != 0 and "time zone" in bad_date.output


def test_render_pages_gives_one_png_per_page() -> None:
    import io

    from reportlab.pdfgen.canvas import Canvas

    from blockplan.report.preview import render_pages

    buf = io.BytesIO()
    canvas = Canvas(buf)
    for n in range(3):
        canvas.drawString(72, 720, f"page {n + 1}")
        canvas.showPage()
    canvas.save()
    pages = render_pages(buf.getvalue(), dpi=30)
    assert len(pages) == 3
    assert all(p.startswith(b"\x89PNG") for p in pages)
    assert len(render_pages(buf.getvalue(), dpi=30, first=2, last=2)) == 1


def test_render_pages_refuses_what_is_not_a_pdf() -> None:
    from blockplan.errors import ReportError
    from blockplan.report.preview import render_pages

    with pytest.raises(ReportError, match="pdftoppm could not render"):
        render_pages(b"not a pdf")


def _stroke_colours(pdf: bytes) -> set[tuple[float, float, float]]:
    """Every RGB stroke colour (``r g b RG``) set on the report's pages."""
    found: set[tuple[float, float, float]] = set()
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        for page in doc.pages:
            for operands, operator in pikepdf.parse_content_stream(page):
                if str(operator) == "RG":
                    found.add(tuple(round(float(v), 3) for v in operands))  # type: ignore[arg-type]
    return found


def _rgb(hex_colour: str) -> tuple[float, float, float]:
    return tuple(round(int(hex_colour[i : i + 2], 16) / 255, 3) for i in (1, 3, 5))  # type: ignore[return-value]


def test_key_image_paths_are_drawn_in_their_verdicts_colour_as_on_screen(
    small_case: Case, ct: ImageVolume, small_pdf: bytes
) -> None:
    from blockplan.planning import measure_paths
    from blockplan.planning.wording import VERDICT_COLOURS

    verdicts = {m.verdict.value for m in measure_paths(small_case, [ct]).values()}
    assert verdicts  # the case has measured paths
    colours = _stroke_colours(small_pdf)
    for verdict in verdicts:
        assert _rgb(VERDICT_COLOURS[verdict]) in colours, verdict
    assert _rgb("#00D5FF") not in colours  # no path drawn in the old verdict-less cyan


def test_a_paragraph_wrapped_again_at_its_width_keeps_its_lines() -> None:
    from reportlab.lib.styles import ParagraphStyle

    from blockplan.report.fonts import register_fonts
    from blockplan.report.layout import Paragraph

    fonts = register_fonts()
    style = ParagraphStyle("t", fontName=fonts.regular, fontSize=8, leading=10)
    para = Paragraph("<b>Indication</b>: right L5 radicular pain " * 6, style)
    broken = []
    original = para.breakLines
    para.breakLines = lambda widths: broken.append(widths) or original(widths)
    first = para.wrap(200, 1000)
    assert para.wrap(200, 1000) == first
    assert len(broken) == 1  # the second wrap at 200 pt broke no lines
    narrower = para.wrap(120, 1000)
    assert len(broken) == 2 and narrower[1] > first[1]  # another width: broken anew
    assert para.wrap(200, 1000) == first and len(broken) == 3


def test_paragraph_lines_kept_between_wraps_change_no_byte_of_the_report(
    ct: ImageVolume, mr: ImageVolume, options: ReportOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    from blockplan.report import build_report, layout

    case = _factory.make_case(4, 3, volume=ct)
    kept = build_report(case, volumes=[ct, mr], options=options)
    monkeypatch.setattr(layout.Paragraph, "wrap", layout._RLParagraph.wrap)
    assert build_report(case, volumes=[ct, mr], options=options) == kept
