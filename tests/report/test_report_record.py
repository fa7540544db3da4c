"""The report prints the whole procedure record, the patient and study, and every score.

Text is extracted with pypdf; nothing is printed as "none" that was not recorded as none.
"""

from __future__ import annotations

import datetime as dt
import getpass
import io
import re

import pytest
from pypdf import PdfReader

from blockplan.case.model import (
    Case,
    Needle,
    OdiEntry,
    PatientInfo,
    PgicEntry,
    StudyRef,
)
from blockplan.case.vocab import Complication
from blockplan.report import ReportOptions, build_report
from tests.report import _factory

FIXED = dt.datetime(2026, 3, 20, 10, 0, tzinfo=dt.UTC)


def _text(pdf: bytes) -> str:
    """All pages' text with whitespace runs made single spaces (lines wrap anywhere)."""
    pages = [p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf)).pages]
    return re.sub(r"\s+", " ", " ".join(pages))


def _record_case() -> Case:
    case = _factory.make_case(2, 3)
    first, second, third = sorted(case.procedures, key=lambda p: p.performed_at)
    procedures = (
        first.model_copy(  # everything recorded, complication "none"
            update={
                "operator": "Dr. Procedure (synthetic)",
                "indication": "right L5 radicular pain, level unclear",
                "index_pain": "right posterolateral thigh pain on standing",
                "needle": Needle(gauge=22, length_mm=89, tip="curved", type="Quincke spinal"),
                "complications": (Complication.NONE,),
                "images_saved": 4,
                "interpretation": "concordant spread along the root",
                "next_step": "confirmatory block with bupivacaine",
                "notes": "patient tolerated well",
            }
        ),
        second.model_copy(  # nothing entered: "not recorded", never "none"
            update={
                "operator": "",
                "indication": "",
                "index_pain": "",
                "needle": Needle(),
                "complications": (),
                "interpretation": "",
                "next_step": "",
                "notes": "",
            }
        ),
        third.model_copy(
            update={
                "complications": (Complication.VASOVAGAL, Complication.OTHER),
                "complication_notes": "transient hiccups, resolved",
            }
        ),
    )
    return case.evolve(
        procedures=procedures,
        patient=PatientInfo(
            patient_id="SYN-0042",
            patient_name="Testperson^Alexandra^Maria^Dr.",
            birth_date=dt.date(1961, 4, 12),
            sex="F",
        ),
        study=StudyRef(
            study_instance_uid=_factory.STUDY_UID,
            study_date=dt.date(2026, 2, 20),
            study_time=dt.time(14, 5),
            accession_number="ACC-42",
            referring_physician="Referrer^Rita",
            institution="Synthetic Spine Hospital",
            description="CT lumbar spine (synthetic)",
        ),
        odi=(
            OdiEntry(recorded_on=dt.date(2026, 2, 20), items=(3, 3, 3, 3, 3, 3, 3, 3, 3, 3)),
            OdiEntry(recorded_on=dt.date(2026, 3, 6), items=(3, 3, 3, 3, 2, 3, 3, 3, 3, 3)),
            OdiEntry(recorded_on=dt.date(2026, 3, 20), items=(2, 2, 2, 2, 2, 1, 2, 2, 2, None)),
            OdiEntry(recorded_on=dt.date(2026, 3, 27), items=(1,) + (None,) * 9),
        ),
        pgic=(
            PgicEntry(recorded_on=dt.date(2026, 3, 6), score=4),
            PgicEntry(recorded_on=dt.date(2026, 3, 20), score=2),
        ),
    )


@pytest.fixture(scope="module")
def record_text() -> str:
    options = ReportOptions(author="Dr. A. Example", created_at=FIXED)
    return _text(build_report(_record_case(), options=options))


def test_header_carries_patient_and_study_identity(record_text: str) -> None:
    for text in (
        "Testperson, Dr. Alexandra Maria",
        "SYN-0042",
        "1961-04-12",
        "female",
        "2026-02-20 14:05",  # study date and time
        "ACC-42",
        "Referrer, Rita",
        "Synthetic Spine Hospital",
        "CT lumbar spine (synthetic)",
    ):
        assert text in record_text, text
    assert _factory.STUDY_UID in record_text.replace(" ", "")  # a long UID may wrap


def test_header_says_not_recorded_for_a_case_without_identity() -> None:
    case = _factory.make_case(1, 1).evolve(patient=PatientInfo(), study=None)
    text = _text(build_report(case, options=ReportOptions(created_at=FIXED)))
    head = text[text.index("Patient Name") : text.index("Report ID")]
    for fact in ("Name", "Patient ID", "Birth date", "Sex", "Date", "Accession", "Referring"):
        assert f"{fact} not recorded" in head, fact
    assert "–" not in head


def test_every_procedure_field_is_printed(record_text: str) -> None:
    for text in (
        "Dr. Procedure (synthetic)",
        "Indication: right L5 radicular pain, level unclear",
        "Index pain: right posterolateral thigh pain on standing",
        "22 G 89 mm",  # gauge, length
        "curved",  # tip
        "Quincke spinal",  # type
        "Images saved: 4",
        "Interpretation: concordant spread along the root",
        "Next step: confirmatory block with bupivacaine",
        "Notes: patient tolerated well",
        "fluoroscopy guidance",
    ):
        assert text in record_text, text


def test_complications_none_not_recorded_and_other_with_notes(record_text: str) -> None:
    assert "no complications" not in record_text
    details = record_text[record_text.index("Procedure details") :]
    blocks = re.split(r"Block #\d \(", details)[1:4]
    assert "Complications: none;" in blocks[0]
    assert "Complications: not recorded;" in blocks[1]
    assert "Indication: not recorded" in blocks[1] and "Next step: not recorded" in blocks[1]
    assert "Complications: vasovagal, other (transient hiccups, resolved)" in blocks[2]
    assert "complications: not recorded" in record_text  # the table, too
    assert "operator not recorded" in record_text


def test_each_odi_and_pgic_entry_with_change_from_first(record_text: str) -> None:
    outcome = record_text[record_text.index("Outcome measures") :]
    assert "60.0 % , severe" in outcome or "60.0 %, severe" in outcome
    assert "58.0 %, severe" in outcome
    assert "-2.0 points, worse" not in outcome
    assert "-2.0 points, improved; below the 10-point MIC" in outcome
    # ODI figures print with one decimal (v1.1: 17/45 = 37.8 %, was rounded to "38 %"),
    # and the printed change is the one compared with the 10-point MIC
    assert "37.8 %, moderate (9 of 10 items answered)" in outcome
    assert "-22.2 points, improved; meaningful (≥ 10 points)" in outcome
    assert "not scored: only 1 of 10 items answered" in outcome
    assert "4: no change" in outcome and "2: much improved" in outcome
    assert "minimal important change" in outcome


def test_author_defaults_to_the_configured_clinician(monkeypatch: pytest.MonkeyPatch) -> None:
    from blockplan.settings import Settings, save_settings

    monkeypatch.setattr(getpass, "getuser", lambda: pytest.fail("the OS login was used"))
    save_settings(
        Settings(
            clinician_name="Dr. Configured Clinician",
            clinic_name="Configured Spine Clinic",
            clinic_address="1 Example Street\nSampletown",
        )
    )
    case = _factory.make_case(1, 1)
    text = _text(build_report(case, options=ReportOptions.from_settings(created_at=FIXED)))
    assert "Dr. Configured Clinician" in text and "Configured Spine Clinic" in text
    assert "Sampletown" in text
    assert "Dr. Configured Clinician" in _text(build_report(case))  # no options: settings
    given = ReportOptions.from_settings(author="Dr. Given", created_at=FIXED)
    assert given.author == "Dr. Given" and given.clinic_name == "Configured Spine Clinic"


def test_report_cli_author_from_settings(tmp_path) -> None:
    from click.testing import CliRunner

    from blockplan.case.casefile import save_case_file
    from blockplan.cli import main
    from blockplan.settings import Settings, save_settings

    save_settings(Settings(clinician_name="Dr. Cli Configured"))
    case_file = save_case_file(_factory.make_case(1, 1), tmp_path / "c.blockplan.json")
    out = tmp_path / "r.pdf"
    result = CliRunner().invoke(
        main, ["report", str(case_file), "-o", str(out), "--date", "2026-03-20T10:00:00Z"]
    )
    assert result.exit_code == 0, result.output
    assert "Dr. Cli Configured" in _text(out.read_bytes())
