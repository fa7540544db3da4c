"""The report states the wrong-level guard's verdict with both counts (issue 19 point 4)."""

from __future__ import annotations

import io

from pypdf import PdfReader

from blockplan.case.model import Case, LevelMarker, PatientPoint
from blockplan.planning.level_guard import check_level_markers
from blockplan.planning.level_proposal import propose_levels
from blockplan.report import ReportOptions, build_report
from tests.planning._level_phantom import FRAME, Variant, build
from tests.report.conftest import FIXED


def test_markers_one_level_off_print_a_wrong_level_warning_with_both_counts() -> None:
    volume, truth = build(Variant(top=("L3", 10.0), seed=2))
    markers = tuple(
        LevelMarker(
            level=name,
            position=PatientPoint(lps=tuple(truth.centres[body]), frame_of_reference_uid=FRAME),  # type: ignore[arg-type]
        )
        for name, body in (("L3", "L4"), ("L4", "L5"))
    )
    case = Case(levels=markers)
    pdf = build_report(case, volumes=[volume], options=ReportOptions(created_at=FIXED))
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    expected = check_level_markers(markers, propose_levels(volume)).message
    assert expected.startswith("Level count: the markers and the automatic count disagree")
    assert f"Wrong-level warning. {expected}." in text
    assert "markers name these bodies L3–L4, the automatic count L4–L5" in text
