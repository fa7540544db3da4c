"""The report shows each planned target's bull's-eye and progression previews beside its
axial key image, with the C-arm angles the planning table states."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pikepdf
import pytest
from pypdf import PdfReader

from blockplan.case.model import Case
from blockplan.demo import build_demo_case
from blockplan.fluoro.views import ViewKind, target_views
from blockplan.io import ImageVolume
from blockplan.planning import describe_path, measure_paths
from blockplan.report import ReportOptions, build_report

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"

pytestmark = pytest.mark.skipif(
    not (SAMPLE / "truth.json").is_file(), reason="sample_dicom/ has no truth.json"
)


@pytest.fixture(scope="module")
def one_target() -> tuple[Case, list[ImageVolume]]:
    from blockplan.io import discover, load_series

    case = build_demo_case(SAMPLE)
    first = case.targets[0]
    case = case.evolve(
        targets=(first,),
        trajectories=(case.trajectory_for(first.id),),
        procedures=(),
    )
    volumes = [load_series(s) for s in discover(SAMPLE).series if s.series_number in (2, 3)]
    return case, volumes


def _images(pdf: bytes) -> int:
    doc = pikepdf.open(io.BytesIO(pdf))
    return sum(len(page.get_images()) for page in doc.pages)


def test_report_puts_the_previews_beside_the_axial_image(
    one_target: tuple[Case, list[ImageVolume]],
) -> None:
    case, volumes = one_target
    pdf = build_report(case, volumes=volumes)
    assert _images(pdf) == 4  # sagittal overview, axial plane, bull's-eye, progression
    text = re.sub(r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))
    eye, side = target_views(
        case, case.targets[0].id, kinds=[ViewKind.BULLSEYE, ViewKind.PROGRESSION]
    )
    assert f"{eye.title}; {side.title}" in text
    assert eye.title == "bull's-eye: 40.0° right oblique, 5.0° caudal tilt"
    # the bull's-eye angles in the PDF's previews are the planning table's C-arm line
    table = describe_path(measure_paths(case, volumes)[case.targets[0].id]).c_arm
    assert f"C-arm: {table}" in text and eye.c_arm == table
    without = build_report(case, volumes=volumes, options=ReportOptions(fluoro_previews=False))
    plain = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(without)).pages)
    assert _images(without) == 2 and "C-arm previews" in text
    assert "C-arm previews" not in plain
