"""The patient and study of a case, and the rule that images must belong to them.

A case started from images copies their identity (`new_case_from_images`,
`adopt_identity`). Images opened later into the case must be the same patient and the
same study: `check_same_patient` refuses others with `PatientMismatchError`, whose message
names only UIDs, the case id and the differing fields (safe to log), and whose
``comparison`` (`IdentityComparison`) holds both identities side by side for a dialog that
is shown to the clinician and never logged.

The rule, in order:

1. **Patient.** When the case and the images both have a PatientID, the IDs must be equal
   (surrounding spaces ignored). When either ID is empty and both have a name, the names
   must be equal after folding (case, accents, ``^`` separators, trailing empty
   components ignored). When neither can be compared, the patient is not checked.
2. **Study.** When the case has a study and the images a StudyInstanceUID, they must be
   equal: a case is planned on one study.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from blockplan.case._text import fold_person_name
from blockplan.case.model import Case, PatientInfo, SeriesRef, StudyRef
from blockplan.errors import PatientMismatchError

if TYPE_CHECKING:
    from blockplan.io.discovery import SeriesInfo
    from blockplan.io.identity import StudyIdentity
    from blockplan.io.volume import ImageVolume

__all__ = [
    "IdentityComparison",
    "IdentityRow",
    "adopt_identity",
    "check_same_patient",
    "compare_identity",
    "interpolated_series",
    "new_case_from_images",
    "patient_info",
    "series_ref",
    "study_ref",
    "volume_series_ref",
]

Field = Literal["PatientID", "PatientName", "StudyInstanceUID"]


# --- conversions ------------------------------------------------------------------------
def patient_info(identity: StudyIdentity) -> PatientInfo:
    """The case's `PatientInfo` from the images' identity."""
    return PatientInfo(
        patient_id=identity.patient_id,
        patient_name=identity.patient_name,
        birth_date=identity.birth_date,
        sex=identity.sex,
    )


def study_ref(identity: StudyIdentity, series: tuple[SeriesRef, ...] = ()) -> StudyRef | None:
    """The case's `StudyRef` from the images' identity (None without a StudyInstanceUID)."""
    if not identity.study_instance_uid:
        return None
    return StudyRef(
        study_instance_uid=identity.study_instance_uid,
        study_date=identity.study_date,
        study_time=identity.study_time,
        accession_number=identity.accession_number,
        referring_physician=identity.referring_physician,
        institution=identity.institution,
        description=identity.study_description,
        series=series,
    )


def series_ref(info: SeriesInfo) -> SeriesRef:
    """A `SeriesRef` of a discovered series (UIDs, modality, number, description)."""
    return SeriesRef(
        series_instance_uid=info.series_instance_uid,
        modality=info.modality,
        series_number=info.series_number,
        description=info.description,
        frame_of_reference_uid=info.frame_of_reference_uid or None,
    )


def interpolated_series(case: Case) -> frozenset[str]:
    """SeriesInstanceUIDs the case was planned on resampled onto regular spacing."""
    refs = case.study.series if case.study is not None else ()
    return frozenset(r.series_instance_uid for r in refs if r.interpolated)


def volume_series_ref(volume: ImageVolume) -> SeriesRef:
    """A `SeriesRef` of a loaded series, marked ``interpolated`` when it was resampled onto
    regular spacing (`ImageVolume.is_interpolated`)."""
    return SeriesRef(
        series_instance_uid=volume.series_instance_uid,
        modality=volume.modality,
        series_number=volume.series_number,
        description=volume.series_description,
        frame_of_reference_uid=volume.frame_of_reference_uid or None,
        interpolated=volume.is_interpolated,
    )


# --- comparison -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class IdentityRow:
    """One line of the side-by-side comparison: label, case value, images value (text)."""

    label: str
    case_value: str = field(repr=False)
    images_value: str = field(repr=False)
    differs: bool


@dataclass(frozen=True, slots=True)
class IdentityComparison:
    """The open case's identity beside the identity recorded in images.

    Identifying values are kept for a dialog and hidden from ``repr``; `message` is the
    safe text (UIDs, case id and field names only).

    Attributes
    ----------
    case_id
        The case.
    case_patient, case_study
        The case's patient and study (study None when the case has none yet).
    images
        What the images record.
    patient_compared_by
        ``"PatientID"``, ``"PatientName"`` or ``"nothing"`` (not comparable).
    differing
        DICOM keywords of the fields that differ: ``PatientID``, ``PatientName``,
        ``StudyInstanceUID``. Empty: the images belong to the case.
    """

    case_id: str
    case_patient: PatientInfo = field(repr=False)
    case_study: StudyRef | None = field(repr=False)
    images: StudyIdentity = field(repr=False)
    patient_compared_by: Literal["PatientID", "PatientName", "nothing"]
    differing: tuple[Field, ...]

    @property
    def same(self) -> bool:
        """True when the images may be opened into the case."""
        return not self.differing

    @property
    def same_patient(self) -> bool:
        """False when the patient differs (by ID, or by name when an ID is missing)."""
        return "PatientID" not in self.differing and "PatientName" not in self.differing

    @property
    def same_study(self) -> bool:
        """False when the StudyInstanceUID differs."""
        return "StudyInstanceUID" not in self.differing

    def rows(self) -> tuple[IdentityRow, ...]:
        """Both identities side by side, for a dialog (identifying: never log these)."""
        p, s, i = self.case_patient, self.case_study, self.images

        def day(value: dt.date | None) -> str:
            return value.isoformat() if value else ""

        def differs(kind: Field) -> bool:
            return kind in self.differing

        return (
            IdentityRow("Patient name", p.patient_name, i.patient_name, differs("PatientName")),
            IdentityRow("Patient ID", p.patient_id, i.patient_id, differs("PatientID")),
            IdentityRow("Birth date", day(p.birth_date), day(i.birth_date), False),
            IdentityRow("Sex", p.sex, i.sex, False),
            IdentityRow("Study date", day(s.study_date) if s else "", day(i.study_date), False),
            IdentityRow(
                "Study description", s.description if s else "", i.study_description, False
            ),
            IdentityRow(
                "Accession number", s.accession_number if s else "", i.accession_number, False
            ),
            IdentityRow(
                "StudyInstanceUID",
                s.study_instance_uid if s else "",
                i.study_instance_uid,
                differs("StudyInstanceUID"),
            ),
        )

    def message(self) -> str:
        """What differs and what to do — UIDs, case id and field names only (loggable)."""
        where = f"images of study {self.images.study_instance_uid or '(no StudyInstanceUID)'}"
        case = f"case {self.case_id}"
        if self.case_study is not None:
            case += f" (study {self.case_study.study_instance_uid})"
        if self.same:
            return f"{where} belong to {case}"
        fields = " and ".join(self.differing)
        verb = "differs" if len(self.differing) == 1 else "differ"
        if not self.same_patient:
            advice = (
                "they are another patient's images; nothing was added to the case. Open "
                "the case of the patient these images belong to (worklist, or `blockplan "
                "case list --search`), or start a new case from these images"
            )
        else:
            advice = (
                "a case is planned on one study; nothing was added to the case. Reopen the "
                "case of this study (worklist, or `blockplan case list`), or start a new "
                "case from these images"
            )
        return f"{where} do not belong to {case}: {fields} {verb}; {advice}"


def _patient_difference(
    case: PatientInfo, images: StudyIdentity
) -> tuple[Literal["PatientID", "PatientName", "nothing"], Field | None]:
    case_id, image_id = case.patient_id.strip(), images.patient_id.strip()
    if case_id and image_id:
        return "PatientID", None if case_id == image_id else "PatientID"
    case_name = fold_person_name(case.patient_name)
    image_name = fold_person_name(images.patient_name)
    if case_name and image_name:
        return "PatientName", None if case_name == image_name else "PatientName"
    return "nothing", None


def compare_identity(case: Case, identity: StudyIdentity) -> IdentityComparison:
    """Compare the case's patient and study with the images' (never raises).

    See the module docs for the rule; `check_same_patient` raises on a difference.
    """
    basis, patient_diff = _patient_difference(case.patient, identity)
    differing: list[Field] = [patient_diff] if patient_diff else []
    study = case.study
    if (
        study is not None
        and identity.study_instance_uid
        and study.study_instance_uid != identity.study_instance_uid
    ):
        differing.append("StudyInstanceUID")
    return IdentityComparison(
        case_id=case.case_id,
        case_patient=case.patient,
        case_study=study,
        images=identity,
        patient_compared_by=basis,
        differing=tuple(differing),
    )


def check_same_patient(case: Case, identity: StudyIdentity) -> IdentityComparison:
    """Refuse images of another patient or study than the open case.

    Parameters
    ----------
    case
        The open case.
    identity
        What the images record (`blockplan.io.study_identity`).

    Returns
    -------
    IdentityComparison
        The comparison (``same`` is True).

    Raises
    ------
    PatientMismatchError
        When the patient (PatientID; the name when an ID is missing) or the
        StudyInstanceUID differs. Its message names the study by UID, the case by id and
        the differing fields — no name or ID — and says what to do; its ``comparison``
        holds both identities for the clinician's dialog (never log it).
    """
    comparison = compare_identity(case, identity)
    if not comparison.same:
        raise PatientMismatchError(comparison.message(), comparison)
    return comparison


# --- starting and filling a case from images -------------------------------------------------
def new_case_from_images(
    identity: StudyIdentity,
    *,
    title: str = "",
    profile_name: str | None = None,
    series: tuple[SeriesRef, ...] = (),
) -> Case:
    """A new case carrying the patient and study of the images.

    Parameters
    ----------
    identity
        What the images record.
    title
        Case title (shown in the worklist; identity in it never reaches the audit trail).
    profile_name
        Adjudication profile; None: the clinician's ``default_profile`` setting.
    series
        Series of the study the case refers to.
    """
    if profile_name is None:
        from blockplan.settings import load_settings

        profile_name = load_settings().default_profile
    return Case(
        title=title,
        patient=patient_info(identity),
        study=study_ref(identity, series),
        profile_name=profile_name,
    )


def adopt_identity(case: Case, identity: StudyIdentity) -> Case:
    """The case with the images' identity filled in where the case has none yet.

    A case started before any image was opened takes the images' patient and study; a
    case that has them keeps its values and gains only fields it lacks (e.g. the
    referring physician). Returns ``case`` itself when nothing changes.

    Raises
    ------
    PatientMismatchError
        As `check_same_patient`: nothing is adopted from another patient or study.
    """
    check_same_patient(case, identity)
    from_images = patient_info(identity)
    patient = case.patient.model_copy(
        update={
            name: getattr(from_images, name)
            for name in ("patient_id", "patient_name", "birth_date", "sex")
            if not getattr(case.patient, name) and getattr(from_images, name)
        }
    )
    study = case.study
    new_study = study_ref(identity)
    if study is None:
        study = new_study
    elif new_study is not None:
        study = study.model_copy(
            update={
                name: getattr(new_study, name)
                for name in (
                    "study_date",
                    "study_time",
                    "accession_number",
                    "referring_physician",
                    "institution",
                    "description",
                )
                if not getattr(study, name) and getattr(new_study, name)
            }
        )
    if patient == case.patient and study == case.study:
        return case
    return case.evolve(patient=patient, study=study)
