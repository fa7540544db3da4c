"""Fixtures of the report tests: the phantom volumes, cases, and built reports."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
from pathlib import Path

import pytest

from blockplan.case.model import Case
from blockplan.io.volume import ImageVolume
from blockplan.outcomes.ledger import Ledger
from blockplan.report import ReportOptions, build_report
from tests.report import _factory

FIXED = dt.datetime(2026, 3, 20, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="session")
def ct() -> ImageVolume:
    return _factory.ct_volume()


@pytest.fixture(scope="session")
def mr() -> ImageVolume:
    return _factory.mr_sagittal_volume()


@pytest.fixture(scope="session")
def small_case(ct: ImageVolume) -> Case:
    return _factory.make_case(3, 5, volume=ct)


@pytest.fixture(scope="session")
def options() -> ReportOptions:
    return ReportOptions(
        clinic_name="Synthetic Spine Clinic",
        clinic_address="1 Example Street\nSampletown",
        author="Dr. A. Example",
        created_at=FIXED,
    )


@pytest.fixture(scope="session")
def small_pdf(small_case: Case, ct: ImageVolume, mr: ImageVolume, options: ReportOptions) -> bytes:
    return build_report(small_case, volumes=[ct, mr], options=options)


@pytest.fixture(scope="session")
def long_pdf(ct: ImageVolume, mr: ImageVolume, options: ReportOptions) -> bytes:
    case = _factory.make_case(20, 15, volume=ct)
    return build_report(case, volumes=[ct, mr], options=options)


def render_pages(pdf: bytes, folder: Path, *, dpi: int = 60) -> list[Path]:
    """Render every page with pdftoppm; the PNG files in page order."""
    if shutil.which("pdftoppm") is None:
        pytest.fail("pdftoppm is missing: install the Debian package poppler-utils")
    src = folder / "report.pdf"
    src.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-png", str(src), str(folder / "page")],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return sorted(folder.glob("page-*.png"))


def pdf_difference(left: bytes, right: bytes, *, limit: int = 3) -> str:
    """What differs between two PDFs: the first objects whose content differs, decoded.

    A byte-for-byte mismatch of two reports says nothing by itself; this names the objects
    (type, subtype, page content or image) and the first differing text of each.
    """
    import pikepdf

    a, b = pikepdf.open(io.BytesIO(left)), pikepdf.open(io.BytesIO(right))
    notes: list[str] = [f"{len(left)} vs {len(right)} bytes"]
    for num in range(1, max(len(a.objects), len(b.objects)) + 1):
        try:
            oa, ob = a.get_object(num, 0), b.get_object(num, 0)
        except (ValueError, pikepdf.PdfError):
            continue
        da, db = _object_bytes(oa), _object_bytes(ob)
        if da == db:
            continue
        at = next((n for n, (x, y) in enumerate(zip(da, db)) if x != y), min(len(da), len(db)))
        kind = oa.get("/Subtype", oa.get("/Type", "")) if hasattr(oa, "get") else ""
        notes.append(
            f"object {num} {kind}: differs at byte {at}: "
            f"{da[max(0, at - 60) : at + 60]!r} vs {db[max(0, at - 60) : at + 60]!r}"
        )
        if len(notes) > limit:
            break
    return "; ".join(notes)


def _object_bytes(obj: object) -> bytes:
    import pikepdf

    if isinstance(obj, pikepdf.Stream):
        try:
            return obj.read_bytes() + repr(obj.stream_dict).encode()
        except pikepdf.PdfError:
            return obj.read_raw_bytes()
    return repr(obj).encode()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Case, list[str]]:
    """The demo case and its report's pages as text (`blockplan demo`)."""
    from click.testing import CliRunner
    from pypdf import PdfReader

    from blockplan.case.casefile import load_case_file
    from blockplan.cli import main

    out = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(main, ["demo", "-o", str(out)])
    assert result.exit_code == 0, result.output
    pages = [p.extract_text() or "" for p in PdfReader(out / "demo-report.pdf").pages]
    return load_case_file(out / "demo-case.blockplan.json"), pages


@pytest.fixture(scope="module")
def ledger(demo: tuple[Case, list[str]]) -> Ledger:
    """The demo case's ledger under the demo's profile."""
    from blockplan.demo import DEMO_PROFILE
    from blockplan.outcomes import build_ledger

    return build_ledger(demo[0], DEMO_PROFILE)
