"""The SR and the report PDF say the same C-arm directions (issue 17 point 9).

Both come from one core rule, `blockplan.planning.wording.path_words`: the report words the
planning core's measurements, the SR holds them as codes (SNOMED Left/Right, Cranial/Caudal)
and `TrajectoryMeasurements.words` words them back.
"""

from __future__ import annotations

import datetime as dt
import io
import re

import pydicom
import pytest
from pypdf import PdfReader

from blockplan.archive import read_sr
from blockplan.archive.bundle import ArchiveObjects, build_archive
from blockplan.archive.coding import code_value_and_scheme
from blockplan.archive.sr import _groups, _qualitative, _tracking_text
from blockplan.case.model import Case
from tests.archive._factory import Study

WHEN = dt.datetime(2026, 3, 2, 15, 30, 5, tzinfo=dt.timezone(dt.timedelta(hours=1)))


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _items(ds: pydicom.Dataset) -> list[pydicom.Dataset]:
    """Every item of every sequence in ``ds``, nested ones too."""
    return [item for el in ds.iterall() if el.VR == "SQ" for item in el.value]


@pytest.fixture(scope="module")
def measured(study: Study, case: Case) -> ArchiveObjects:
    """The archive with paths measured by the planning core (as `blockplan archive` does)."""
    return build_archive(case, study.headers, volume=study.volume, content_datetime=WHEN)


def test_sr_c_arm_words_are_the_pdfs(measured: ArchiveObjects) -> None:
    pdf = _flat(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(measured.pdf)).pages))
    plan = read_sr(measured.sr)
    assert plan.trajectories
    sides = set()
    for traj in plan.trajectories:
        words = plan.measurements[traj.id].words()
        assert words is not None
        assert f"C-arm: {words.c_arm}" in pdf, words.c_arm
        for line in words.lines():
            assert _flat(line) in pdf, line
        sides.add(words.oblique.split()[-2])
    assert sides == {"left", "right"}  # both directions met: a swap would show


def test_sr_direction_codes_are_snomed(measured: ArchiveObjects) -> None:
    seen = {}
    for group in _groups(measured.sr.ContentSequence):
        if _tracking_text(group).startswith("trajectory:"):
            values = _qualitative(group)
            seen[_tracking_text(group).split()[0]] = (
                code_value_and_scheme(values["OBLIQUE-SIDE"]),
                code_value_and_scheme(values["TILT-DIR"]),
            )
    # SNOMED Right (24028007) / Left (7771000); Caudal (3583002) / Cranial (66787007)
    assert seen == {
        "trajectory:r1": (("24028007", "SCT"), ("3583002", "SCT")),
        "trajectory:r2": (("7771000", "SCT"), ("3583002", "SCT")),
    }


def test_sr_content_date_time_is_the_reports(measured: ArchiveObjects) -> None:
    for ds in (measured.sr, measured.encapsulated_pdf, measured.seg):
        assert ds is not None
        assert (str(ds.ContentDate), str(ds.ContentTime)) == ("20260302", "153005")
    pdf = _flat(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(measured.pdf)).pages))
    assert "2026-03-02" in pdf


def test_a_path_with_no_bone_on_the_ct_says_so_in_the_sr_too(study: Study, case: Case) -> None:
    """+∞ bone clearance ("no bone on the CT") is kept: a NUM item with no value, qualified
    Positive Infinity — not dropped, which read back as "bone not checked (no CT)" and made
    the path "not assessed" in the SR while the screen and the PDF said "safe"."""
    import dataclasses
    import math

    from blockplan.archive import build_measurement_report
    from blockplan.archive.validate import dciodvfy_path, validate_dataset
    from tests.archive._factory import metrics_for

    checked = metrics_for(case)
    first = next(iter(checked))
    checked[first] = dataclasses.replace(checked[first], bone_clearance_mm=math.inf)
    sr = build_measurement_report(case, study.headers, metrics=checked)
    traj = case.trajectory_for(first)
    assert traj is not None
    back = read_sr(sr).measurements[traj.id]
    assert back.bone_clearance_mm == math.inf
    words, read = checked[first].words(), back.words()
    assert words is not None and read is not None
    assert "no bone on the CT" in read.safety and read.verdict == "safe"
    assert read == words  # the same words as the screen and the PDF
    qualifiers = [
        code_value_and_scheme(q)
        for group in _groups(sr.ContentSequence)
        for item in group.get("ContentSequence", [])
        for q in item.get("NumericValueQualifierCodeSequence", [])
    ]
    assert qualifiers == [("114002", "DCM")]  # Positive Infinity, on the bone clearance only
    if dciodvfy_path() is not None:
        result = validate_dataset(sr)
        assert result.errors == (), result.errors


def test_a_path_in_a_sagittal_plane_is_straight_ap_in_the_pdf_and_the_sr(
    study: Study, case: Case
) -> None:
    """No oblique: "straight AP (0.0° oblique)" in the PDF and in the SR read back — also an
    SR archived before, whose code ``TRUE-PA`` meant "True PA (no oblique)". The code value
    stays (archived SRs read back); its meaning names the view as the screen does."""
    import copy

    from blockplan.archive.coding import PRIVATE_SCHEME
    from blockplan.case.model import PatientPoint, Trajectory

    t3 = case.target("t3")
    x, y, z = t3.position.lps
    entry = PatientPoint(
        lps=(x, y + 40.0, z), frame_of_reference_uid=t3.position.frame_of_reference_uid
    )
    sagittal = case.evolve(
        trajectories=(*case.trajectories, Trajectory(id="r3", target_id="t3", entry=entry))
    )
    objects = build_archive(sagittal, study.headers, volume=study.volume, content_datetime=WHEN)
    pdf = _flat(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(objects.pdf)).pages))
    words = read_sr(objects.sr).measurements["r3"].words()
    assert words is not None
    assert words.c_arm == "straight AP (0.0° oblique), no tilt"
    assert f"C-arm: {words.c_arm}" in pdf
    assert not re.search(r"\bPA\b", pdf)

    group = next(
        g
        for g in _groups(objects.sr.ContentSequence)
        if _tracking_text(g).startswith("trajectory:r3")
    )
    side = _qualitative(group)["OBLIQUE-SIDE"]
    assert code_value_and_scheme(side) == ("TRUE-PA", PRIVATE_SCHEME)
    assert side.CodeMeaning == "Straight AP (no oblique)"
    meanings = {str(i.CodeMeaning) for i in _items(objects.sr) if "CodeMeaning" in i}
    assert "C-arm oblique angle from straight AP" in meanings
    assert not any(re.search(r"\bPA\b", m) for m in meanings)

    old = copy.deepcopy(objects.sr)  # as archived before: the old meanings
    for item in _items(old):
        if code_value_and_scheme(item) == ("TRUE-PA", PRIVATE_SCHEME):
            item.CodeMeaning = "True PA (no oblique)"
        elif code_value_and_scheme(item) == ("OBLIQUE", PRIVATE_SCHEME):
            item.CodeMeaning = "C-arm oblique angle from true PA"
    assert "True PA (no oblique)" in {str(i.CodeMeaning) for i in _items(old) if "CodeMeaning" in i}
    assert read_sr(old).measurements["r3"].words() == words
