"""Patient and study identity of a DICOM study, read from one header.

`study_identity` reads PatientName, PatientID, PatientBirthDate, PatientSex,
StudyInstanceUID, StudyDate, StudyTime, AccessionNumber, ReferringPhysicianName,
StudyDescription and InstitutionName from **one** file of a series (header only,
``stop_before_pixels``). It is tolerant: a missing or malformed value is recorded as empty
and named in ``problems`` (by attribute keyword, never by value); only a file that is not
DICOM at all, or a folder holding several studies, is refused.

The values identify a patient: they are shown to the clinician (worklist, report) and never
logged. ``repr`` of a `StudyIdentity` shows only the StudyInstanceUID.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from pydicom import dcmread
from pydicom.charset import convert_encodings, decode_bytes
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue
from pydicom.valuerep import PN_DELIMS, TEXT_VR_DELIMS

from blockplan.errors import DicomInputError
from blockplan.io.discovery import Discovery, SeriesInfo, discover

__all__ = ["IDENTITY_KEYWORDS", "StudyIdentity", "study_identity"]

Sex = Literal["F", "M", "O", ""]

IDENTITY_KEYWORDS: tuple[str, ...] = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyInstanceUID",
    "StudyDate",
    "StudyTime",
    "AccessionNumber",
    "ReferringPhysicianName",
    "StudyDescription",
    "InstitutionName",
)
"""The attributes `study_identity` reads."""

_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Longest value kept per field (the case model's limits; DICOM allows less).
_LIMITS = {
    "PatientID": 64,
    "PatientName": 324,
    "AccessionNumber": 64,
    "ReferringPhysicianName": 324,
    "StudyDescription": 324,
    "InstitutionName": 324,
}


@dataclass(frozen=True, slots=True)
class StudyIdentity:
    """Who and which study a set of images belongs to, as recorded in the images.

    Attributes
    ----------
    patient_name
        DICOM person name as recorded (``"FAMILY^GIVEN^MIDDLE^PREFIX^SUFFIX"``).
    patient_id
        PatientID, surrounding spaces removed.
    birth_date
        PatientBirthDate, None when missing or not a valid date.
    sex
        ``"F"``, ``"M"``, ``"O"`` or ``""`` (missing or another value).
    study_instance_uid
        StudyInstanceUID (``""`` when missing or not a UID).
    study_date, study_time
        StudyDate and StudyTime: the scanner's local time, without time zone.
    accession_number, referring_physician, study_description, institution
        AccessionNumber, ReferringPhysicianName (DICOM person name), StudyDescription,
        InstitutionName.
    problems
        One line per value that was missing where required or malformed, naming the
        attribute keyword (never the value).
    """

    patient_name: str = field(default="", repr=False)
    patient_id: str = field(default="", repr=False)
    birth_date: dt.date | None = field(default=None, repr=False)
    sex: Sex = field(default="", repr=False)
    study_instance_uid: str = ""
    study_date: dt.date | None = field(default=None, repr=False)
    study_time: dt.time | None = field(default=None, repr=False)
    accession_number: str = field(default="", repr=False)
    referring_physician: str = field(default="", repr=False)
    study_description: str = field(default="", repr=False)
    institution: str = field(default="", repr=False)
    problems: tuple[str, ...] = field(default=(), repr=False)

    @property
    def has_patient(self) -> bool:
        """True when the images name the patient (an id or a name)."""
        return bool(self.patient_id or self.patient_name)

    @classmethod
    def from_dataset(cls, ds: Dataset) -> StudyIdentity:
        """The identity recorded in one dataset (tolerant: see the module docs)."""
        problems: list[str] = []
        text = _texts(ds, problems)
        return cls(
            patient_name=text("PatientName"),
            patient_id=text("PatientID"),
            birth_date=_date(text("PatientBirthDate"), "PatientBirthDate", problems),
            sex=_sex(text("PatientSex"), problems),
            study_instance_uid=_uid(text("StudyInstanceUID"), problems),
            study_date=_date(text("StudyDate"), "StudyDate", problems),
            study_time=_time(text("StudyTime"), problems),
            accession_number=text("AccessionNumber"),
            referring_physician=text("ReferringPhysicianName"),
            study_description=text("StudyDescription"),
            institution=text("InstitutionName"),
            problems=tuple(problems),
        )


_ASCII_KEYWORDS = frozenset(
    {"PatientBirthDate", "PatientSex", "StudyInstanceUID", "StudyDate", "StudyTime"}
)
_PERSON_KEYWORDS = frozenset({"PatientName", "ReferringPhysicianName"})
_DECODE_ERRORS = (ValueError, TypeError, LookupError, UnicodeError, AttributeError, KeyError)


def _raw_values(ds: Dataset, keyword: str, encodings: list[str]) -> list[str]:
    """The values of one attribute, decoded here without pydicom's value validation.

    pydicom validates values when it converts them and logs the offending value; this
    reads the raw bytes instead, so an odd birth date or ID never reaches a log.
    """
    tag = tag_for_keyword(keyword)
    elem = ds.get_item(tag) if tag is not None else None
    if elem is None or elem.value is None:
        return []
    raw = elem.value
    if isinstance(raw, bytes | bytearray):
        data = bytes(raw)
        if keyword in _ASCII_KEYWORDS:
            text = data.decode("latin-1")
        elif keyword in _PERSON_KEYWORDS:
            text = "=".join(decode_bytes(g, encodings, PN_DELIMS) for g in data.split(b"="))
        else:
            text = decode_bytes(data, encodings, TEXT_VR_DELIMS)
        return text.split("\\")
    if isinstance(raw, MultiValue | list | tuple):
        return [str(v) for v in raw]
    return [str(raw)]


def _texts(ds: Dataset, problems: list[str]) -> Callable[[str], str]:
    try:
        charset = _raw_values(ds, "SpecificCharacterSet", ["latin_1"])
        encodings = convert_encodings([c.strip() for c in charset if c.strip()] or None)
    except _DECODE_ERRORS:
        problems.append("SpecificCharacterSet: not understood; text read as ISO_IR 6")
        encodings = convert_encodings(None)

    def text(keyword: str) -> str:
        try:
            values = _raw_values(ds, keyword, encodings)
        except _DECODE_ERRORS as err:
            problems.append(
                f"{keyword}: cannot be decoded ({type(err).__name__}); recorded as empty"
            )
            return ""
        values = [v for v in values if v.strip(" \x00")] if len(values) > 1 else values
        if len(values) > 1:
            problems.append(f"{keyword}: holds {len(values)} values; the first is used")
        value = values[0] if values else ""
        cleaned = _CONTROL.sub(" ", value).strip(" \x00")
        limit = _LIMITS.get(keyword)
        if limit is not None and len(cleaned) > limit:
            problems.append(
                f"{keyword}: {len(cleaned)} characters, more than {limit}; recorded as empty"
            )
            return ""
        return cleaned

    return text


def _date(value: str, keyword: str, problems: list[str]) -> dt.date | None:
    if not value:
        return None
    digits = value.replace(".", "").replace("-", "")  # ACR-NEMA "YYYY.MM.DD" in old files
    if len(digits) != 8 or not digits.isdigit():
        problems.append(f"{keyword}: not a DICOM date (YYYYMMDD); recorded as empty")
        return None
    try:
        return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        problems.append(f"{keyword}: not a valid calendar date; recorded as empty")
        return None


def _time(value: str, problems: list[str]) -> dt.time | None:
    if not value:
        return None
    text = value.replace(":", "")
    whole, _, fraction = text.partition(".")
    if not whole.isdigit() or len(whole) not in (2, 4, 6) or (fraction and not fraction.isdigit()):
        problems.append("StudyTime: not a DICOM time (HHMMSS.FFFFFF); recorded as empty")
        return None
    parts = [int(whole[i : i + 2]) for i in range(0, len(whole), 2)] + [0, 0]
    hour, minute, second = parts[0], parts[1], min(parts[2], 59)  # leap second 60 → 59
    micro = int((fraction + "000000")[:6]) if fraction else 0
    try:
        return dt.time(hour, minute, second, micro)
    except ValueError:
        problems.append("StudyTime: not a valid time of day; recorded as empty")
        return None


def _sex(value: str, problems: list[str]) -> Sex:
    upper = value.upper()
    if upper in ("F", "M", "O"):
        return upper  # type: ignore[return-value]
    if upper:
        problems.append("PatientSex: expected F, M or O; recorded as empty")
    return ""


def _uid(value: str, problems: list[str]) -> str:
    value = value.rstrip("\x00 ")
    if not value:
        problems.append("StudyInstanceUID: missing; the study cannot be identified")
        return ""
    if len(value) > 64 or not _UID.match(value):
        problems.append("StudyInstanceUID: not a valid UID; recorded as empty")
        return ""
    return value


def _read(path: str) -> StudyIdentity:
    try:
        ds = dcmread(
            path,
            stop_before_pixels=True,
            specific_tags=["SpecificCharacterSet", *IDENTITY_KEYWORDS],
        )
    except (InvalidDicomError, OSError, ValueError, TypeError, EOFError) as err:
        raise DicomInputError(
            f"{path}: cannot be read as DICOM ({type(err).__name__}); the patient and study "
            "cannot be identified — pick a file or folder of the study's images"
        ) from err
    return StudyIdentity.from_dataset(ds)


def _first_file(series: SeriesInfo) -> str:
    if not series.files:
        raise DicomInputError(f"{series.label}: holds no files; the study cannot be identified")
    return series.files[0]


def study_identity(source: SeriesInfo | Discovery | str | os.PathLike[str]) -> StudyIdentity:
    """The patient and study identity recorded in a study's images (header only).

    Parameters
    ----------
    source
        A `SeriesInfo` (its first file is read), a `Discovery` or a folder (every series
        must belong to one study; the first file of the first series is read), or one
        DICOM file.

    Returns
    -------
    StudyIdentity
        Missing or malformed values are empty and listed in ``problems``.

    Raises
    ------
    DicomInputError
        When the file is not DICOM, a folder holds no image series, or the images belong to
        several studies (the message gives their StudyInstanceUIDs: open one study).
    """
    if isinstance(source, SeriesInfo):
        return _read(_first_file(source))
    if not isinstance(source, Discovery):
        path = os.fspath(source)
        if os.path.isfile(path) and os.path.basename(path).upper() != "DICOMDIR":
            return _read(path)
        source = discover(path)
    series = [s for s in source.series if s.files]
    if not series:
        raise DicomInputError(
            f"{source.path}: no image series found, so the patient and study cannot be "
            "identified; pick the folder of the study's images"
        )
    studies = sorted({s.study_instance_uid for s in series})
    if len(studies) > 1:
        raise DicomInputError(
            f"{source.path}: holds {len(studies)} studies ({', '.join(studies[:4])}"
            f"{', …' if len(studies) > 4 else ''}); a case belongs to one study — open "
            "the folder of one study or pick one of its series"
        )
    return _read(_first_file(series[0]))
