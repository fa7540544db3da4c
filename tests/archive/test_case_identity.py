"""DICOM objects built without a source image take the patient and study from the case."""

from __future__ import annotations

import datetime as dt

from pydicom.dataset import Dataset

from blockplan.archive._common import PatientStudyInfo
from blockplan.case.model import Case, PatientInfo, StudyRef


def test_patient_and_study_modules_from_the_case() -> None:
    case = Case(
        patient=PatientInfo(
            patient_id="SYN-7", patient_name="SYNTH^Zoe", birth_date=dt.date(1970, 1, 2), sex="F"
        ),
        study=StudyRef(
            study_instance_uid="1.2.826.0.1.3680043.8.498.5",
            study_date=dt.date(2026, 3, 15),
            study_time=dt.time(10, 15, 30),
            accession_number="ACC-7",
            referring_physician="REFERRER^Rita",
            description="LUMBAR SPINE",
        ),
    )
    ds = Dataset()
    PatientStudyInfo.from_case(case).apply_to(ds)
    assert (ds.PatientID, str(ds.PatientName), ds.PatientBirthDate, ds.PatientSex) == (
        "SYN-7",
        "SYNTH^Zoe",
        "19700102",
        "F",
    )
    assert (ds.StudyDate, ds.StudyTime, ds.AccessionNumber) == ("20260315", "101530", "ACC-7")
    assert str(ds.ReferringPhysicianName) == "REFERRER^Rita"
    assert ds.StudyInstanceUID == "1.2.826.0.1.3680043.8.498.5"
