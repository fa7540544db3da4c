"""Shared pieces of the archive objects: identity of the source study, equipment, I/O."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from blockplan.case.model import Case
from blockplan.errors import ArchiveError

__all__ = [
    "IDENTIFYING_KEYWORDS",
    "MANUFACTURER",
    "PatientStudyInfo",
    "dataset_bytes",
    "derived_uid",
    "new_uid",
    "normalise_dates",
    "read_headers",
    "redact",
    "software_version",
]

MANUFACTURER = "blockplan"
"""Manufacturer written into every object blockplan creates."""

# Patient, Patient Study, General Study and Clinical Trial attributes copied verbatim
# from the source images into the Encapsulated PDF (highdicom does the same for SR/SEG).
_PATIENT_STUDY_KEYWORDS: tuple[str, ...] = (
    # Patient module
    "PatientName",
    "PatientID",
    "IssuerOfPatientID",
    "IssuerOfPatientIDQualifiersSequence",
    "TypeOfPatientID",
    "PatientBirthDate",
    "PatientBirthTime",
    "PatientSex",
    "OtherPatientIDsSequence",
    "OtherPatientNames",
    "EthnicGroup",
    "PatientComments",
    "PatientSpeciesDescription",
    "PatientSpeciesCodeSequence",
    "PatientIdentityRemoved",
    "DeidentificationMethod",
    "DeidentificationMethodCodeSequence",
    "QualityControlSubject",
    # General Study module
    "StudyInstanceUID",
    "StudyDate",
    "StudyTime",
    "ReferringPhysicianName",
    "ReferringPhysicianIdentificationSequence",
    "StudyID",
    "AccessionNumber",
    "IssuerOfAccessionNumberSequence",
    "StudyDescription",
    "PhysiciansOfRecord",
    "ProcedureCodeSequence",
    # Patient Study module
    "AdmittingDiagnosesDescription",
    "PatientAge",
    "PatientSize",
    "PatientWeight",
    # Clinical Trial Subject / Study
    "ClinicalTrialSponsorName",
    "ClinicalTrialProtocolID",
    "ClinicalTrialProtocolName",
    "ClinicalTrialSiteID",
    "ClinicalTrialSiteName",
    "ClinicalTrialSubjectID",
    "ClinicalTrialSubjectReadingID",
    "ClinicalTrialTimePointID",
)


def new_uid() -> str:
    """A fresh UID under the UUID-derived root ``2.25`` (PS3.5 §B.2): no registered root needed."""
    return str(generate_uid(prefix=None))


_UID_NAMESPACE = uuid.UUID("0b6f3f0e-5a52-4b8e-9d1c-6c1b8f6a2d17")


def derived_uid(*parts: str) -> str:
    """A UID derived from ``parts``: ``2.25.<UUID as integer>`` (PS3.5 §B.2), the UUID a
    name-based (version 5) one — equal parts, equal UID, in every process.

    (pydicom's ``generate_uid(prefix=None, entropy_srcs=…)`` ignores the entropy and
    returns a random UUID-based UID.)
    """
    return f"2.25.{uuid.uuid5(_UID_NAMESPACE, chr(31).join(parts)).int}"


def software_version() -> str:
    """blockplan's version, for SoftwareVersions."""
    from blockplan import __version__

    return str(__version__)


@dataclass(frozen=True, slots=True)
class PatientStudyInfo:
    """Patient and study identity of the source study (identifying: never logged).

    Use `from_dataset` with one image of the source study, or fill it from a case
    (`from_case`) when no image is at hand. ``extra`` carries further Patient/Study
    attributes copied verbatim from a source image.
    """

    study_instance_uid: str
    patient_name: str = ""
    patient_id: str = ""
    patient_birth_date: str = ""
    patient_sex: str = ""
    study_date: str = ""
    study_time: str = ""
    study_id: str = ""
    accession_number: str = ""
    referring_physician_name: str = ""
    study_description: str = ""
    specific_character_set: str = ""
    extra: Dataset | None = None

    @classmethod
    def from_dataset(cls, ds: Dataset) -> PatientStudyInfo:
        """Take the patient and study modules of one source image."""
        if "StudyInstanceUID" not in ds or not str(ds.StudyInstanceUID):
            raise ArchiveError(
                "source image has no StudyInstanceUID; the archive objects cannot be placed "
                "in its study. Pass an image of the study the plan was made on."
            )
        extra = Dataset()
        for keyword in _PATIENT_STUDY_KEYWORDS:
            if keyword in ds:
                extra[keyword] = ds[keyword]

        def text(keyword: str) -> str:
            value = ds.get(keyword)
            return "" if value is None else str(value)

        charset = ds.get("SpecificCharacterSet", "")
        if not isinstance(charset, str):
            charset = "\\".join(str(c) for c in charset)
        return cls(
            study_instance_uid=str(ds.StudyInstanceUID),
            patient_name=text("PatientName"),
            patient_id=text("PatientID"),
            patient_birth_date=text("PatientBirthDate"),
            patient_sex=text("PatientSex"),
            study_date=text("StudyDate"),
            study_time=text("StudyTime"),
            study_id=text("StudyID"),
            accession_number=text("AccessionNumber"),
            referring_physician_name=text("ReferringPhysicianName"),
            study_description=text("StudyDescription"),
            specific_character_set=charset,
            extra=extra,
        )

    @classmethod
    def from_case(cls, case: Case) -> PatientStudyInfo:
        """Patient and study identity as recorded in a `~blockplan.case.Case`."""
        study, patient = case.study, case.patient
        if study is None:
            raise ArchiveError(
                f"case {case.case_id}: no study is recorded, so the archive "
                "objects cannot be placed in a study; load the images the plan was made on"
            )
        birth = patient.birth_date
        return cls(
            study_instance_uid=study.study_instance_uid,
            patient_name=patient.patient_name,
            patient_id=patient.patient_id,
            patient_birth_date=birth.strftime("%Y%m%d") if birth else "",
            patient_sex=patient.sex,
            study_date=study.study_date.strftime("%Y%m%d") if study.study_date else "",
            study_time=study.study_time.strftime("%H%M%S") if study.study_time else "",
            accession_number=study.accession_number,
            referring_physician_name=study.referring_physician,
            study_description=study.description,
        )

    def apply_to(self, ds: Dataset) -> None:
        """Write the Patient and General Study modules into ``ds``.

        Type 2 attributes are present (empty when unknown). Values are set as text, so
        the dataset is encoded in its own SpecificCharacterSet (UTF-8 for blockplan's).
        """
        if self.extra is not None:
            for elem in self.extra:
                ds[elem.tag] = elem
        for f in fields(self):
            if f.name in ("extra", "specific_character_set"):
                continue
            keyword = "".join(part.capitalize() for part in f.name.split("_"))
            keyword = keyword.replace("Uid", "UID").replace("Id", "ID")
            setattr(ds, keyword, getattr(self, f.name))


_TYPE2_DEFAULTS: tuple[str, ...] = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyDate",
    "StudyTime",
    "ReferringPhysicianName",
    "StudyID",
    "AccessionNumber",
)


def with_type2(headers: Sequence[Dataset]) -> list[Dataset]:
    """Copies of source headers with missing type 2 patient/study attributes set empty.

    Real images omit some (e.g. PatientSex); highdicom copies them and needs them present.
    """
    out = []
    for ds in headers:
        if all(k in ds for k in _TYPE2_DEFAULTS):
            out.append(ds)
            continue
        copy = Dataset(ds)
        if hasattr(ds, "file_meta"):
            copy.file_meta = ds.file_meta
        for keyword in _TYPE2_DEFAULTS:
            if keyword not in copy:
                setattr(copy, keyword, "")
        out.append(copy)
    return out


def read_headers(files: Iterable[str | os.PathLike[str]]) -> list[Dataset]:
    """Read the headers (no pixel data) of DICOM files, refusing what is not DICOM."""
    out: list[Dataset] = []
    for path in files:
        try:
            out.append(pydicom.dcmread(path, stop_before_pixels=True))
        except (InvalidDicomError, OSError) as err:
            raise ArchiveError(
                f"{os.fspath(path)}: cannot read the source image header ({err}); "
                "check the study folder"
            ) from err
    return out


_DATE_FORMATS = ("%Y%m%d", "%Y-%m-%d", "%Y.%m.%d", "%Y/%m/%d", "%d.%m.%Y")
_TIME = re.compile(r"^\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?$")
_DATETIME = re.compile(r"^\d{4}(\d{2}(\d{2}(\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?)?)?)?([+-]\d{4})?$")


def _conformant(vr: str, text: str) -> str | None:
    """``text`` as a conformant DA, TM or DT value, or None when it cannot be read."""
    text = text.strip()
    if vr == "DA":
        for fmt in _DATE_FORMATS:
            try:
                return dt.datetime.strptime(text, fmt).strftime("%Y%m%d")
            except ValueError:
                continue
        return None
    if vr == "TM":
        squeezed = text.replace(":", "")
    else:  # DT: 1951-03-23T10:30:00+0100 -> 19510323103000+0100
        squeezed = re.sub(r"^(\d{4})-(\d{2})-(\d{2})", r"\1\2\3", text)
        squeezed = re.sub(r"[:T ]", "", squeezed)
    pattern = _TIME if vr == "TM" else _DATETIME
    return squeezed if pattern.match(squeezed) else None


def normalise_dates(headers: Sequence[Dataset]) -> tuple[list[Dataset], list[str]]:
    """Copies of ``headers`` whose DA, TM and DT values are made conformant, and notes.

    Real images carry e.g. ``1951-03-23`` in a DA element (highdicom refuses it). Such a
    value is rewritten (``19510323``); one that cannot be read is left empty. Each note
    names the attribute and what was done — never the value, which may identify the
    patient (a birth date). Only top-level attributes are changed, and only on copies.
    """
    out: list[Dataset] = []
    notes: dict[str, str] = {}
    for ds in headers:
        copy: Dataset | None = None
        for elem in ds:
            if elem.VR not in ("DA", "TM", "DT") or elem.VM != 1 or not str(elem.value or ""):
                continue
            text = str(elem.value)
            fixed = _conformant(elem.VR, text)
            if fixed == text:
                continue
            if copy is None:
                copy = _shallow_copy(ds)
            copy[elem.tag] = pydicom.DataElement(elem.tag, elem.VR, fixed or "")
            what = f"normalised to {elem.VR} format" if fixed else "unreadable, left empty"
            notes.setdefault(elem.keyword or str(elem.tag), what)
        out.append(copy if copy is not None else ds)
    return out, [
        f"source images: {kw} was not a conformant DICOM date/time ({what})"
        for kw, what in sorted(notes.items())
    ]


def _shallow_copy(ds: Dataset) -> Dataset:
    """A new dataset holding the same elements (``Dataset(ds)`` would share its storage)."""
    copy = Dataset()
    for elem in ds:
        copy.add(elem)
    if hasattr(ds, "file_meta"):
        copy.file_meta = ds.file_meta
    return copy


IDENTIFYING_KEYWORDS: tuple[str, ...] = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "OtherPatientIDs",
    "OtherPatientNames",
    "AccessionNumber",
    "ReferringPhysicianName",
    "PatientAddress",
    "PatientTelephoneNumbers",
    "InstitutionName",
)
"""Attributes whose values never appear in a message (`redact`)."""


def redact(message: str, headers: Sequence[Dataset]) -> str:
    """``message`` with every value of an identifying attribute of ``headers`` replaced by
    the attribute's name in angle brackets (e.g. ``<PatientBirthDate>``)."""
    for keyword in IDENTIFYING_KEYWORDS:
        values = {str(h.get(keyword, "") or "") for h in headers}
        for value in sorted(values, key=len, reverse=True):
            if len(value) >= 3 and value in message:
                message = message.replace(value, f"<{keyword}>")
    return message


def dataset_bytes(ds: Dataset) -> bytes:
    """The DICOM Part 10 file bytes of ``ds`` (Explicit VR Little Endian unless set)."""
    if not hasattr(ds, "file_meta") or ds.file_meta is None:
        ds.file_meta = FileMetaDataset()
    meta = ds.file_meta
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    if "TransferSyntaxUID" not in meta:
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def dicom_date_time(when: dt.datetime) -> tuple[str, str]:
    """``(YYYYMMDD, HHMMSS)`` of an aware or naive date-time, as written."""
    return when.strftime("%Y%m%d"), when.strftime("%H%M%S")


def sort_by_uid(headers: Sequence[Dataset], order: Sequence[str]) -> list[Dataset]:
    """``headers`` in the order of SOPInstanceUIDs ``order`` (each must be present)."""
    by_uid = {str(h.SOPInstanceUID): h for h in headers}
    missing = [uid for uid in order if uid not in by_uid]
    if missing:
        raise ArchiveError(
            f"{len(missing)} image(s) of the volume are missing among the source headers "
            f"(first: SOPInstanceUID {missing[0]}); pass every file of the series"
        )
    return [by_uid[uid] for uid in order]


def write_private_file(path: Path, data: bytes) -> Path:
    """Atomic write with mode 0600 (the case file's writer, reused)."""
    from blockplan.case.casefile import write_bytes_atomic

    return write_bytes_atomic(path, data, mode=0o600)
