"""Patient and study identity from one DICOM header: complete, tolerant, never a crash."""

from __future__ import annotations

import datetime as dt
import logging
import warnings
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset

from blockplan.errors import DicomInputError
from blockplan.io import discover, study_identity
from blockplan.io.identity import StudyIdentity
from tests.io._dicom_factory import SeriesSpec, phantom, write_series

NAME = "SYNTHÉTIQUE^Zoë^^Dr.^"  # non-ASCII on purpose: UTF-8 character set


def _identity_tags(ds: Dataset, _k: int) -> None:
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = NAME
    ds.PatientID = " SYNTH-7 "
    ds.PatientBirthDate = "19700102"
    ds.PatientSex = "F"
    ds.StudyDate = "20260315"
    ds.StudyTime = "101500.25"
    ds.AccessionNumber = "ACC-77"
    ds.ReferringPhysicianName = "REFERRER^Rita"
    ds.StudyDescription = "LUMBAR SPINE (SYNTHETIC)"
    ds.InstitutionName = "Synthetic Hospital"


@pytest.fixture
def study(tmp_path: Path) -> tuple[Path, SeriesSpec]:
    spec = SeriesSpec(volume=phantom((3, 8, 8)))
    write_series(tmp_path / "study" / "ct", spec, edit=_identity_tags)
    return tmp_path / "study", spec


def test_every_field_is_read(study: tuple[Path, SeriesSpec]) -> None:
    folder, spec = study
    identity = study_identity(folder)
    assert identity == StudyIdentity(
        patient_name=NAME,
        patient_id="SYNTH-7",
        birth_date=dt.date(1970, 1, 2),
        sex="F",
        study_instance_uid=spec.study_uid,
        study_date=dt.date(2026, 3, 15),
        study_time=dt.time(10, 15, 0, 250000),
        accession_number="ACC-77",
        referring_physician="REFERRER^Rita",
        study_description="LUMBAR SPINE (SYNTHETIC)",
        institution="Synthetic Hospital",
    )
    assert identity.has_patient and identity.problems == ()


def test_series_file_and_folder_give_the_same_identity(study: tuple[Path, SeriesSpec]) -> None:
    folder, _ = study
    found = discover(folder)
    by_series = study_identity(found.series[0])
    assert study_identity(found) == by_series == study_identity(found.series[0].files[0])
    assert study_identity(folder) == by_series


def test_repr_shows_only_the_study_uid(study: tuple[Path, SeriesSpec]) -> None:
    identity = study_identity(study[0])
    text = repr(identity)
    assert identity.study_instance_uid in text
    for value in ("SYNTH", "Zo", "1970", "ACC-77", "REFERRER", "Synthetic Hospital"):
        assert value not in text


def test_header_only(study: tuple[Path, SeriesSpec], monkeypatch: pytest.MonkeyPatch) -> None:
    import blockplan.io.identity as module

    calls: list[dict[str, object]] = []
    real = pydicom.dcmread

    def spy(*args: object, **kwargs: object) -> Dataset:
        calls.append(kwargs)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(module, "dcmread", spy)
    identity = study_identity(study[0])
    assert identity.patient_id == "SYNTH-7"
    assert len(calls) == 1 and calls[0]["stop_before_pixels"] is True


@pytest.mark.parametrize(
    ("keyword", "value", "problem"),
    [
        ("PatientBirthDate", "1970-13-45", "PatientBirthDate: not a valid calendar date"),
        ("PatientBirthDate", "unknown", "PatientBirthDate: not a DICOM date"),
        ("StudyDate", "2026", "StudyDate: not a DICOM date"),
        ("StudyTime", "25", "StudyTime: not a valid time"),
        ("StudyTime", "ab:cd", "StudyTime: not a DICOM time"),
        ("PatientSex", "X", "PatientSex: expected F, M or O"),
        ("PatientID", "P" * 80, "PatientID: 80 characters, more than 64"),
    ],
)
def test_odd_values_are_recorded_as_empty_and_named(
    tmp_path: Path, keyword: str, value: str, problem: str, caplog: pytest.LogCaptureFixture
) -> None:
    def edit(ds: Dataset, k: int) -> None:
        _identity_tags(ds, k)
        # write the raw text, bypassing pydicom's validation of the VR
        ds[keyword].value = value

    spec = SeriesSpec(volume=phantom((2, 8, 8)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns while writing the odd value
        paths = write_series(tmp_path / "s", spec, edit=edit)
    caplog.clear()
    caplog.set_level(logging.DEBUG)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        identity = study_identity(paths[0])
    assert any(p.startswith(problem) for p in identity.problems), identity.problems
    # the value itself is never echoed: not in the problems, a log or a warning
    said = " ".join(identity.problems) + caplog.text + " ".join(str(w.message) for w in caught)
    assert value not in said
    field = {
        "PatientBirthDate": "birth_date",
        "StudyDate": "study_date",
        "StudyTime": "study_time",
        "PatientSex": "sex",
        "PatientID": "patient_id",
    }[keyword]
    assert getattr(identity, field) in (None, "")
    assert identity.patient_name == NAME  # the rest is still read


def test_latin1_character_set_is_decoded(tmp_path: Path) -> None:
    def edit(ds: Dataset, k: int) -> None:
        ds.SpecificCharacterSet = "ISO_IR 100"
        ds.PatientName = "MÜLLER^Jürgen"

    paths = write_series(tmp_path / "s", SeriesSpec(volume=phantom((2, 8, 8))), edit=edit)
    assert b"M\xdcLLER" in paths[0].read_bytes()  # stored as Latin-1
    assert study_identity(paths[0]).patient_name == "MÜLLER^Jürgen"


def test_missing_attributes_are_empty(tmp_path: Path) -> None:
    def strip(ds: Dataset, _k: int) -> None:
        for keyword in ("PatientName", "PatientID", "PatientBirthDate", "StudyDate", "StudyTime"):
            del ds[keyword]
        del ds.AccessionNumber

    spec = SeriesSpec(volume=phantom((2, 8, 8)))
    paths = write_series(tmp_path / "s", spec, edit=strip)
    identity = study_identity(paths[0])
    assert identity.patient_name == identity.patient_id == identity.accession_number == ""
    assert identity.birth_date is None and identity.study_date is None
    assert identity.study_time is None and not identity.has_patient
    assert identity.study_instance_uid == spec.study_uid
    assert identity.problems == ()  # missing optional values are not problems


def test_missing_study_uid_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    spec = SeriesSpec(volume=phantom((2, 8, 8)))
    paths = write_series(tmp_path / "s", spec)
    ds = pydicom.dcmread(paths[0])
    del ds.StudyInstanceUID
    ds.save_as(paths[0])
    identity = study_identity(paths[0])
    assert identity.study_instance_uid == ""
    assert identity.problems == ("StudyInstanceUID: missing; the study cannot be identified",)


def test_multi_valued_name_takes_the_first(tmp_path: Path) -> None:
    def edit(ds: Dataset, k: int) -> None:
        ds.PatientName = ["FIRST^ONE", "SECOND^TWO"]

    paths = write_series(tmp_path / "s", SeriesSpec(volume=phantom((2, 8, 8))), edit=edit)
    identity = study_identity(paths[0])
    assert identity.patient_name == "FIRST^ONE"
    assert identity.problems == ("PatientName: holds 2 values; the first is used",)


def test_refusals_name_the_path_and_what_to_do(tmp_path: Path) -> None:
    not_dicom = tmp_path / "notes.txt"
    not_dicom.write_text("not an image")
    with pytest.raises(DicomInputError, match=r"notes\.txt: cannot be read as DICOM"):
        study_identity(not_dicom)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DicomInputError, match=r"no image series found.*pick the folder"):
        study_identity(empty)
    two = tmp_path / "two"
    a = SeriesSpec(volume=phantom((2, 8, 8)))
    b = SeriesSpec(volume=phantom((2, 8, 8)), series_number=4)
    write_series(two / "a", a)
    write_series(two / "b", b)
    with pytest.raises(DicomInputError, match=r"holds 2 studies .*open the folder of one study"):
        study_identity(two)


def test_sample_study_identity() -> None:
    from tests.conftest import SAMPLE_DIR

    identity = study_identity(SAMPLE_DIR / "S0002_CT")
    assert identity.patient_name == "PHANTOM^LUMBAR"
    assert identity.patient_id == "SYNTH-0001"
    assert identity.study_date == dt.date(2026, 3, 15)
    assert identity.problems == ()
