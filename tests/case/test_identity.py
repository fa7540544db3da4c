"""A case carries its patient and study; images of another patient or study are refused."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

import pytest

from blockplan.case.identity import (
    IdentityComparison,
    adopt_identity,
    check_same_patient,
    compare_identity,
    new_case_from_images,
    patient_info,
    study_ref,
)
from blockplan.case.model import Case, PatientInfo, StudyRef
from blockplan.errors import CaseError, PatientMismatchError
from blockplan.io.identity import StudyIdentity
from tests.case._factory import PATIENT_ID, PATIENT_NAME, make_case

STUDY_UID = "1.2.826.0.1.3680043.8.498.100"
OTHER_STUDY_UID = "1.2.826.0.1.3680043.8.498.200"

IMAGES = StudyIdentity(
    patient_name=PATIENT_NAME,
    patient_id=PATIENT_ID,
    birth_date=dt.date(1970, 1, 2),
    sex="F",
    study_instance_uid=STUDY_UID,
    study_date=dt.date(2026, 3, 15),
    study_time=dt.time(10, 15),
    accession_number="ACC-77",
    referring_physician="REFERRER^Rita",
    study_description="LUMBAR SPINE",
    institution="Synthetic Hospital",
)


def _case_of(identity: StudyIdentity) -> Case:
    return make_case().evolve(patient=patient_info(identity), study=study_ref(identity))


def _identifying(identity: StudyIdentity) -> list[str]:
    return [
        identity.patient_name,
        identity.patient_id,
        *identity.patient_name.split("^"),
        identity.accession_number,
        "1970-01-02",
        "19700102",
    ]


# --- starting a case from images ------------------------------------------------------
def test_new_case_copies_patient_and_study() -> None:
    case = new_case_from_images(IMAGES, title="L5 radicular pain")
    assert case.patient == PatientInfo(
        patient_id=PATIENT_ID, patient_name=PATIENT_NAME, birth_date=dt.date(1970, 1, 2), sex="F"
    )
    assert case.study == StudyRef(
        study_instance_uid=STUDY_UID,
        study_date=dt.date(2026, 3, 15),
        study_time=dt.time(10, 15),
        accession_number="ACC-77",
        referring_physician="REFERRER^Rita",
        institution="Synthetic Hospital",
        description="LUMBAR SPINE",
    )
    assert case.title == "L5 radicular pain"
    assert case.profile_name == "asra-2020-single"  # the settings' default profile


def test_new_case_takes_the_configured_default_profile() -> None:
    from blockplan.settings import Settings, save_settings

    save_settings(Settings(default_profile="strict-dual-80"))
    assert new_case_from_images(IMAGES).profile_name == "strict-dual-80"
    assert new_case_from_images(IMAGES, profile_name="comparative").profile_name == "comparative"


def test_images_without_study_uid_start_a_case_without_study() -> None:
    case = new_case_from_images(dataclasses.replace(IMAGES, study_instance_uid=""))
    assert case.study is None and case.patient.patient_id == PATIENT_ID


def test_adopt_fills_an_empty_case_and_only_missing_fields() -> None:
    empty = make_case().evolve(patient=PatientInfo(), study=None)
    adopted = adopt_identity(empty, IMAGES)
    assert adopted.patient == patient_info(IMAGES) and adopted.study == study_ref(IMAGES)
    assert adopted.case_id == empty.case_id and adopted.targets == empty.targets
    partial = make_case().evolve(  # same patient by ID, name kept as the case has it
        patient=PatientInfo(patient_id=PATIENT_ID, patient_name="Testpatient^S."),
        study=StudyRef(study_instance_uid=STUDY_UID, description="kept"),
    )
    filled = adopt_identity(partial, IMAGES)
    assert filled.patient.patient_name == "Testpatient^S."
    assert filled.patient.birth_date == dt.date(1970, 1, 2)
    assert filled.study is not None and filled.study.description == "kept"
    assert filled.study.referring_physician == "REFERRER^Rita"
    assert adopt_identity(filled, IMAGES) is filled  # nothing new: the same object


# --- the rule -------------------------------------------------------------------------
def test_same_patient_and_study_pass() -> None:
    case = _case_of(IMAGES)
    comparison = check_same_patient(case, IMAGES)
    assert comparison.same and comparison.patient_compared_by == "PatientID"
    # padding and name spelling do not matter when both IDs are present
    respelled = dataclasses.replace(IMAGES, patient_id=f" {PATIENT_ID} ", patient_name="X^Y")
    assert check_same_patient(case, respelled).same


def test_other_patient_id_is_refused_without_identifying_values() -> None:
    case = _case_of(IMAGES)
    other = dataclasses.replace(IMAGES, patient_id="SYNTH-9999", patient_name="Other^Olga")
    with pytest.raises(PatientMismatchError) as info:
        check_same_patient(case, other)
    message = str(info.value)
    assert message.startswith(
        f"images of study {STUDY_UID} do not belong to case {case.case_id} "
        f"(study {STUDY_UID}): PatientID differs; they are another patient's images"
    )
    assert "start a new case from these images" in message
    assert isinstance(info.value, CaseError)
    for value in (*_identifying(IMAGES), *_identifying(other)):
        assert value not in message, value
    comparison = info.value.comparison
    assert isinstance(comparison, IdentityComparison)
    assert comparison.differing == ("PatientID",) and not comparison.same_patient
    rows = {r.label: r for r in comparison.rows()}
    assert rows["Patient name"].case_value == PATIENT_NAME  # for the dialog: both names
    assert rows["Patient name"].images_value == "Other^Olga"
    assert rows["Patient ID"].differs and not rows["Birth date"].differs
    for value in ("SYNTH-9999", "Olga", PATIENT_ID):
        assert value not in repr(comparison) and value not in repr(info.value)


@pytest.mark.parametrize(
    ("case_name", "images_name", "same"),
    [
        ("Müller^Hans", "MULLER^HANS^^^", True),  # accents, case, trailing components
        ("Müller^Hans", "  müller^hans", True),
        ("Yamada^Tarou=山田^太郎", "YAMADA^TAROU", True),
        ("Müller^Hans", "Müller^Hanna", False),
    ],
)
def test_name_decides_when_an_id_is_missing(case_name: str, images_name: str, same: bool) -> None:
    case = _case_of(dataclasses.replace(IMAGES, patient_id="", patient_name=case_name))
    images = dataclasses.replace(IMAGES, patient_name=images_name)  # the images have an ID
    comparison = compare_identity(case, images)
    assert comparison.patient_compared_by == "PatientName"
    assert comparison.same is same
    if not same:
        assert comparison.differing == ("PatientName",)
        with pytest.raises(PatientMismatchError, match="PatientName differs") as info:
            check_same_patient(case, images)
        assert "Hans" not in str(info.value) and "Hanna" not in str(info.value)


def test_other_study_of_the_same_patient_is_refused() -> None:
    case = _case_of(IMAGES)
    follow_up = dataclasses.replace(IMAGES, study_instance_uid=OTHER_STUDY_UID)
    with pytest.raises(PatientMismatchError) as info:
        check_same_patient(case, follow_up)
    assert str(info.value).startswith(
        f"images of study {OTHER_STUDY_UID} do not belong to case {case.case_id} "
        f"(study {STUDY_UID}): StudyInstanceUID differs; a case is planned on one study"
    )
    assert "Reopen the case of this study" in str(info.value)
    comparison = info.value.comparison
    assert comparison.same_patient and not comparison.same_study


def test_patient_and_study_both_differ() -> None:
    other = dataclasses.replace(IMAGES, patient_id="SYNTH-9", study_instance_uid=OTHER_STUDY_UID)
    with pytest.raises(PatientMismatchError, match="PatientID and StudyInstanceUID differ"):
        check_same_patient(_case_of(IMAGES), other)


def test_nothing_to_compare_is_not_a_refusal() -> None:
    anonymous = StudyIdentity(study_instance_uid=STUDY_UID)
    comparison = check_same_patient(_case_of(IMAGES), anonymous)
    assert comparison.same and comparison.patient_compared_by == "nothing"
    fresh = Case()  # a case not started from images yet takes any images
    assert check_same_patient(fresh, IMAGES).same
    assert adopt_identity(fresh, IMAGES).patient.patient_id == PATIENT_ID


def test_adopt_refuses_another_patient() -> None:
    other = dataclasses.replace(IMAGES, patient_id="SYNTH-9")
    case = _case_of(IMAGES)
    with pytest.raises(PatientMismatchError):
        adopt_identity(case, other)


def test_refusal_can_be_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    other = dataclasses.replace(IMAGES, patient_id="SYNTH-9", patient_name="Other^Olga")
    try:
        check_same_patient(_case_of(IMAGES), other)
    except PatientMismatchError as err:
        logging.getLogger("blockplan.test").exception("refused: %s (%r)", err, err)
    assert "PatientID differs" in caplog.text
    for value in ("SYNTH-9", "Olga", PATIENT_ID, "Synthia"):
        assert value not in caplog.text
