"""Fixtures of the report tests: the phantom volumes, cases, and built reports."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest

from blockplan.case.model import Case
from blockplan.io.volume import ImageVolume
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
