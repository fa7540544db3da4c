"""De-identification for export: PS3.15 Basic Application Level Confidentiality Profile.

Neither pydicom nor highdicom implements the profile, so this module applies PS3.15
Table E.1-1 itself:

* **Attributes**: `E1_1_ACTIONS` holds the Basic Profile action of the Table E.1-1
  attributes that occur in CT/MR headers and in what blockplan writes (patient, study,
  series, equipment, SR and SEG attributes; about 170 entries). ``X`` removes, ``Z``
  empties, ``D`` puts a dummy value, ``U`` replaces a UID, ``K*`` keeps a sequence and
  cleans inside it. Where the table gives a choice (``X/Z``, ``Z/D``) the action that
  keeps the object valid is used. Beyond the table, conservatively: every private
  attribute and overlay/curve group is removed, every person name not listed is
  emptied, and **every UID** that is not a registered DICOM UID (SOP classes, transfer
  syntaxes, coding schemes) is replaced — the table's ``U`` rows and more.
* **UIDs** are replaced by ``2.25.<HMAC-SHA256(key, uid)>``: the same source UID gives
  the same new UID in every object and in the case file, reproducibly for the same key.
* **Dates** (`DatePolicy`): ``shift:<days>`` moves every DA/DT by the same number of
  days, keeping intervals (option 113107); ``keep`` leaves them (option 113106);
  ``remove`` applies the table (empty or dummy ``19000101``). The case model needs its
  dates and the adjudication needs their intervals, so under ``remove`` the case file's
  dates are re-based so the earliest is 2000-01-01.
* **The case file** (`Deidentifier.case`): patient name and id become a keyed pseudonym,
  birth date and sex are removed, accession number, institution and descriptions
  emptied, person names of staff (operator, note author, referring physician) emptied,
  the study time removed with ``remove`` dates, and free-text fields are scrubbed of
  the patient's name parts, id, accession number and birth date (several formats);
  ``free_text="remove"`` empties them instead. Names of *other* people in free text
  cannot be recognised: use ``remove`` when unsure.

The DICOM outputs of an export are **rebuilt** from the de-identified case and
de-identified source headers (the SR's content therefore holds only cleaned text:
option 113104, Clean Structured Content), and then passed through the attribute rules
once more; the PDF is rebuilt from the de-identified case. Pixel data of the source
images is never exported; the key images in the PDF are rendered from the pixels, so
text burned into source pixels would show (the profile's Clean Pixel Data option is
not applied).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.sr.codedict import codes
from pydicom.uid import UID

from blockplan.case.model import Case
from blockplan.errors import ArchiveError

__all__ = [
    "CONSENT_NOTE",
    "E1_1_ACTIONS",
    "BurnedIn",
    "DatePolicy",
    "Deidentifier",
    "burned_in_reason",
    "check_burned_in",
    "deidentification_method_text",
    "identifying_strings",
]

# Table E.1-1, Basic Profile column (keyword → action), for the attributes handled.
_TABLE = """
AccessionNumber Z
AcquisitionComments X
AcquisitionContextSequence X
AcquisitionDate Z
AcquisitionDateTime D
AcquisitionDeviceProcessingDescription X
AcquisitionProtocolDescription X
AcquisitionTime Z
ActualHumanPerformersSequence X
AdditionalPatientHistory X
AdmissionID X
AdmittingDate X
AdmittingDiagnosesCodeSequence X
AdmittingDiagnosesDescription X
AdmittingTime X
AffectedSOPInstanceUID X
Allergies X
AuthorObserverSequence X
BranchOfService X
CassetteID X
CommentsOnThePerformedProcedureStep X
ConcatenationUID U
ConfidentialityConstraintOnPatientDataDescription X
ContentCreatorIdentificationCodeSequence X
ContentCreatorName Z
ContentDate D
ContentSequence X
ContentTime D
ContributionDescription X
CountryOfResidence X
CurrentPatientLocation X
CustodialOrganizationSequence X
DataSetTrailingPadding X
DerivationDescription X
DetectorID X
DeviceSerialNumber D
DeviceUID U
DigitalSignaturesSequence X
DimensionOrganizationUID U
DischargeDiagnosisDescription X
DistributionAddress X
DistributionName X
DoseReferenceUID U
EthnicGroup X
FailedSOPInstanceUIDList U
FiducialUID U
FillerOrderNumberImagingServiceRequest Z
FrameComments X
FrameOfReferenceUID U
GantryID X
GeneratorID X
HumanPerformerName X
HumanPerformerOrganization X
IconImageSequence X
IdentifyingComments X
ImageComments X
ImagePresentationComments X
ImagingServiceRequestComments X
Impressions X
InstanceCreationDate X
InstanceCreationTime X
InstanceCreatorUID U
InstitutionAddress X
InstitutionCodeSequence X
InstitutionName X
InstitutionalDepartmentName X
InsurancePlanIdentification X
IntendedRecipientsOfResultsIdentificationSequence X
InterpretationApproverSequence X
InterpretationAuthor X
InterpretationDiagnosisDescription X
InterpretationIDIssuer X
InterpretationRecorder X
InterpretationText X
InterpretationTranscriber X
IrradiationEventUID U
IssuerOfAdmissionID X
IssuerOfPatientID X
IssuerOfServiceEpisodeID X
LargePaletteColorLookupTableUID U
MAC X
MediaStorageSOPInstanceUID U
MedicalAlerts X
MedicalRecordLocator X
MilitaryRank X
ModifiedAttributesSequence X
ModifiedImageDescription X
ModifyingDeviceID X
ModifyingDeviceManufacturer X
NameOfPhysiciansReadingStudy X
NamesOfIntendedRecipientsOfResults X
Occupation X
OperatorIdentificationSequence X
OperatorsName X
OrderCallbackPhoneNumber X
OrderEnteredBy X
OrderEntererLocation X
OriginalAttributesSequence X
OtherPatientIDs X
OtherPatientIDsSequence X
OtherPatientNames X
ParticipantSequence X
PatientAddress X
PatientAge X
PatientBirthDate Z
PatientBirthName X
PatientBirthTime X
PatientComments X
PatientID Z
PatientInstitutionResidence X
PatientInsurancePlanCodeSequence X
PatientMotherBirthName X
PatientName Z
PatientPrimaryLanguageCodeSequence X
PatientPrimaryLanguageModifierCodeSequence X
PatientReligiousPreference X
PatientSex Z
PatientSexNeutered X
PatientSize X
PatientState X
PatientTelephoneNumbers X
PatientTransportArrangements X
PatientWeight X
PerformedLocation X
PerformedProcedureStepDescription X
PerformedProcedureStepEndDate X
PerformedProcedureStepID X
PerformedProcedureStepStartDate X
PerformedProcedureStepStartTime X
PerformedStationAETitle X
PerformedStationGeographicLocationCodeSequence X
PerformedStationName X
PerformedStationNameCodeSequence X
PerformingPhysicianIdentificationSequence X
PerformingPhysicianName X
PersonAddress X
PersonIdentificationCodeSequence D
PersonName D
PersonTelephoneNumbers X
PhysicianApprovingInterpretation X
PhysiciansOfRecord X
PhysiciansOfRecordIdentificationSequence X
PhysiciansReadingStudyIdentificationSequence X
PlateID X
PreMedication X
PregnancyStatus X
ProtocolName X
ReasonForStudy X
ReasonForTheImagingServiceRequest X
ReasonForTheRequestedProcedure X
ReferencedDigitalSignatureSequence X
ReferencedFrameOfReferenceUID U
ReferencedImageSequence K*
ReferencedPatientAliasSequence X
ReferencedPatientSequence X
ReferencedPerformedProcedureStepSequence Z
ReferencedSOPInstanceMACSequence X
ReferencedSOPInstanceUID U
ReferencedSOPInstanceUIDInFile U
ReferencedStudySequence X
ReferringPhysicianAddress X
ReferringPhysicianIdentificationSequence X
ReferringPhysicianName Z
ReferringPhysicianTelephoneNumbers X
RegionOfResidence X
RelatedFrameOfReferenceUID U
RequestAttributesSequence X
RequestedContrastAgent X
RequestedProcedureComments X
RequestedProcedureDescription X
RequestedProcedureID X
RequestedProcedureLocation X
RequestedSOPInstanceUID U
RequestingPhysician X
RequestingService X
ResponsibleOrganization X
ResponsiblePerson X
ResultsComments X
ResultsDistributionListSequence X
ResultsIDIssuer X
ReviewerName X
ScheduledHumanPerformersSequence X
ScheduledPatientInstitutionResidence X
ScheduledPerformingPhysicianIdentificationSequence X
ScheduledPerformingPhysicianName X
ScheduledProcedureStepDescription X
ScheduledProcedureStepEndDate X
ScheduledProcedureStepLocation X
ScheduledProcedureStepStartDate X
ScheduledStationAETitle X
ScheduledStationGeographicLocationCodeSequence X
ScheduledStationName X
ScheduledStationNameCodeSequence X
ScheduledStudyLocation X
ScheduledStudyLocationAETitle X
SeriesDate X
SeriesDescription X
SeriesInstanceUID U
SeriesTime X
ServiceEpisodeDescription X
ServiceEpisodeID X
SmokingStatus X
SOPInstanceUID U
SourceImageSequence K*
SpecialNeeds X
StationName X
StorageMediaFileSetUID U
StudyComments X
StudyDate Z
StudyDescription X
StudyID Z
StudyIDIssuer X
StudyInstanceUID U
StudyTime Z
SynchronizationFrameOfReferenceUID U
TextComments X
TextString X
TimezoneOffsetFromUTC X
TopicAuthor X
TopicKeywords X
TopicSubject X
TopicTitle X
TrackingUID U
TransactionUID U
UID U
VerifyingObserverIdentificationCodeSequence Z
VerifyingObserverName D
VerifyingObserverSequence K*
VerifyingOrganization X
VisitComments X
"""

E1_1_ACTIONS: dict[str, str] = {
    line.split()[0]: line.split()[1] for line in _TABLE.strip().splitlines()
}
"""PS3.15 Table E.1-1 Basic Profile actions applied (keyword → X, Z, D, U or K*)."""

# Attributes whose dates are handled by the date policy even when the table says X/Z.
_DATE_KEEPERS = frozenset(
    {
        "StudyDate",
        "StudyTime",
        "SeriesDate",
        "SeriesTime",
        "ContentDate",
        "ContentTime",
        "AcquisitionDate",
        "AcquisitionTime",
        "AcquisitionDateTime",
        "InstanceCreationDate",
        "InstanceCreationTime",
    }
)
# Never remapped although VR UI: identify kinds of things, not instances.
_KEEP_UIDS = frozenset(
    {
        "SOPClassUID",
        "ReferencedSOPClassUID",
        "MediaStorageSOPClassUID",
        "TransferSyntaxUID",
        "ImplementationClassUID",
        "CodingSchemeUID",
        "ContextUID",
        "MappingResourceUID",
        "ReferencedSOPClassUIDInFile",
        "PrivateInformationCreatorUID",
    }
)
_DUMMY = {"DA": "19000101", "TM": "000000", "DT": "19000101000000", "PN": "ANONYMOUS"}


@dataclass(frozen=True, slots=True)
class DatePolicy:
    """What happens to dates: ``shift`` by ``days``, ``remove`` or ``keep``.

    ``days`` None (the default, ``shift:key``): each patient's dates move by a number of
    days derived from the de-identification key and the patient id (between one and ten
    years back, never 0), so real dates never leave by default and exports made with the
    same key stay consistent. ``shift:0`` keeps the real dates and is declared so.
    """

    mode: Literal["shift", "remove", "keep"] = "shift"
    days: int | None = None

    @classmethod
    def parse(cls, text: str) -> DatePolicy:
        """``"shift:key"`` (default), ``"shift:-30"``, ``"remove"`` or ``"keep"``."""
        text = text.strip().lower()
        if text in ("remove", "keep"):
            return cls(mode=text)  # type: ignore[arg-type]
        if text in ("shift", "shift:key"):
            return cls(mode="shift", days=None)
        m = re.fullmatch(r"shift:([+-]?\d{1,6})", text)
        if m is None:
            raise ArchiveError(
                f"dates option {text!r} is not understood; use shift:key (a per-patient "
                "shift from the key), shift:<days> (e.g. shift:-365), remove or keep"
            )
        return cls(mode="shift", days=int(m.group(1)))

    @property
    def keeps_real_dates(self) -> bool:
        """True when dates leave unchanged (``keep`` or ``shift:0``)."""
        return self.mode == "keep" or (self.mode == "shift" and self.days == 0)

    def method_codes(self) -> list[Any]:
        """The CID 7050 option codes this policy applies — exactly those."""
        if self.keeps_real_dates:
            return [codes.DCM.RetainLongitudinalTemporalInformationFullDatesOption]
        if self.mode == "shift":
            return [codes.DCM.RetainLongitudinalTemporalInformationModifiedDatesOption]
        return []

    def description(self) -> str:
        """What happened to dates, in words (no shift amount: it would undo the shift)."""
        if self.keeps_real_dates:
            return "dates kept"
        if self.mode == "remove":
            return "dates removed"
        return "dates shifted per patient (keyed)" if self.days is None else "dates shifted"


BurnedIn = Literal["refuse", "masked", "consent"]
"""What to do with source images that carry burned-in text (see `check_burned_in`)."""

CONSENT_NOTE = "burned-in annotation kept with patient consent"
"""DeidentificationMethod value of an export made with ``--burned-in consent``."""

_SCREEN_CAPTURE_CLASSES = frozenset(
    {
        "1.2.840.10008.5.1.4.1.1.7",  # Secondary Capture Image
        "1.2.840.10008.5.1.4.1.1.7.1",  # Multi-frame Single Bit SC
        "1.2.840.10008.5.1.4.1.1.7.2",  # Multi-frame Grayscale Byte SC
        "1.2.840.10008.5.1.4.1.1.7.3",  # Multi-frame Grayscale Word SC
        "1.2.840.10008.5.1.4.1.1.7.4",  # Multi-frame True Color SC
    }
)


def burned_in_reason(headers: Sequence[Dataset]) -> str | None:
    """Why the pixels of a series may show text (e.g. the patient's name), or None.

    BurnedInAnnotation YES, a Secondary Capture SOP class, a ConversionType (screen or
    film capture) or ``SCREEN`` in ImageType.
    """
    for ds in headers:
        if str(ds.get("BurnedInAnnotation", "")).strip().upper() == "YES":
            return "BurnedInAnnotation is YES"
        if str(ds.get("SOPClassUID", "")) in _SCREEN_CAPTURE_CLASSES:
            return "it is a secondary (screen) capture"
        if ds.get("ConversionType"):
            return f"it is a capture (ConversionType {ds.ConversionType})"
        if "SCREEN" in [str(v).upper() for v in (ds.get("ImageType") or [])]:
            return "its ImageType says SCREEN (a screen capture)"
    return None


def check_burned_in(headers: Sequence[Dataset], policy: BurnedIn) -> None:
    """Refuse, under ``policy`` ``"refuse"``, a series whose pixels may show text.

    ``"masked"`` (the text was masked, e.g. by the PACS's pixel de-identification) and
    ``"consent"`` (the patient agreed to share the images as they are) admit it.

    Raises
    ------
    ArchiveError
        Naming the series by number and UID, the reason and the options.
    """
    reason = burned_in_reason(headers)
    if reason is None or policy != "refuse":
        return
    first = headers[0]
    raise ArchiveError(
        f"series {first.get('SeriesNumber', '?')} ({first.get('SeriesInstanceUID', '?')}): "
        f"{reason}, so text burned into the pixels (e.g. the patient's name) would show in "
        "the de-identified key images. Export another series, or pass --burned-in masked "
        "once the text is masked, or --burned-in consent with the patient's consent"
    )


def deidentification_method_text(method: Sequence[Any], dates: DatePolicy) -> list[str]:
    """DeidentificationMethod values: the tool, each option applied, and the date handling.

    Each value fits LO (64 characters) whole; nothing is truncated.
    """
    from blockplan import __version__

    values = [f"blockplan {__version__}", *(str(code.meaning) for code in method)]
    values.append(dates.description())
    too_long = [v for v in values if len(v) > 64]
    if too_long:
        raise ArchiveError(
            f"DeidentificationMethod value {too_long[0]!r} is longer than 64 characters "
            "(LO); report a bug"
        )
    return values


def _name_tokens(name: str) -> list[str]:
    parts = re.split(r"[\^=,\s]+", name)
    return [p for p in parts if len(p) >= 2]


def identifying_strings(
    patient_name: str = "",
    patient_id: str = "",
    birth_date: dt.date | str | None = None,
    accession_number: str = "",
) -> list[str]:
    """The values whose occurrence in free text is scrubbed (and tests search for)."""
    out: list[str] = []
    out += _name_tokens(patient_name)
    if patient_id:
        out.append(patient_id)
    if accession_number:
        out.append(accession_number)
    day: dt.date | None = None
    if isinstance(birth_date, dt.date):
        day = birth_date
    elif birth_date:
        try:
            day = dt.datetime.strptime(str(birth_date)[:8], "%Y%m%d").date()
        except ValueError:
            day = None
    if day is not None:
        out += [
            day.strftime("%Y%m%d"),
            day.isoformat(),
            day.strftime("%d.%m.%Y"),
            day.strftime("%m/%d/%Y"),
            day.strftime("%d/%m/%Y"),
            f"{day.day}.{day.month}.{day.year}",
        ]
    return out


@dataclass
class Deidentifier:
    """Applies one de-identification consistently to DICOM datasets and a case.

    Parameters
    ----------
    key
        Secret for the keyed hashes of UIDs and pseudonyms; the same key gives the same
        results (keep it to re-export consistently; a random key by default).
    dates
        Date policy.
    identifiers
        Values to scrub from free text (`identifying_strings`); `case` adds the case's own.
    free_text
        ``"scrub"`` (remove identifiers from free text) or ``"remove"`` (empty it).
    burned_in
        How source images with burned-in text were admitted (`check_burned_in`):
        ``"refuse"`` (none were), ``"masked"`` (declared as Clean Pixel Data, 113101) or
        ``"consent"`` (recorded in DeidentificationMethod).
    """

    key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    dates: DatePolicy = field(default_factory=DatePolicy)
    identifiers: list[str] = field(default_factory=list)
    free_text: Literal["scrub", "remove"] = "scrub"
    burned_in: BurnedIn = "refuse"
    uid_map: dict[str, str] = field(default_factory=dict)
    _rebase_days: int | None = None
    _patient_id: str | None = None

    # -- building blocks -----------------------------------------------------------------
    def _mac(self, purpose: str, value: str) -> bytes:
        return hmac.new(self.key, f"{purpose}:{value}".encode(), hashlib.sha256).digest()

    def uid(self, old: str) -> str:
        """The replacement of a UID (registered DICOM UIDs are kept)."""
        old = str(old).strip()
        if not old:
            return old
        if UID(old).is_valid and UID(old).name != old:  # registered: SOP class, syntax, …
            return old
        new = self.uid_map.get(old)
        if new is None:
            new = "2.25." + str(int.from_bytes(self._mac("uid", old)[:16], "big"))
            self.uid_map[old] = new
        return new

    def pseudonym(self, patient_id: str) -> str:
        """``ANON-<12 hex>`` from the patient id (keyed, reproducible): the new PatientID."""
        return "ANON-" + self._mac("patient", patient_id).hex()[:12].upper()

    def pseudonym_name(self, patient_id: str) -> str:
        """``ANON^<12 hex>``: the new PatientName (family ``ANON``, given the hash)."""
        return self.pseudonym(patient_id).replace("-", "^", 1)

    def shift_days(self, patient_id: str | None = None) -> int:
        """Days the dates move under a ``shift`` policy: the policy's, else derived from the
        key and ``patient_id`` (default: the patient being de-identified), -3650…-365."""
        if self.dates.days is not None:
            return self.dates.days
        patient = patient_id if patient_id is not None else (self._patient_id or "")
        digest = int.from_bytes(self._mac("date-shift", patient)[:8], "big")
        return -(365 + digest % (10 * 365 - 365 + 1))

    def _shift_days(self) -> int:
        if self.dates.mode == "shift":
            return self.shift_days()
        if self.dates.mode == "remove" and self._rebase_days is not None:
            return self._rebase_days
        return 0

    def shift_date(self, day: dt.date) -> dt.date:
        """A date under the policy (``remove``: re-based, for the case file)."""
        return day + dt.timedelta(days=self._shift_days())

    def shift_datetime(self, when: dt.datetime) -> dt.datetime:
        """A date-time under the policy (times of day are kept)."""
        return when + dt.timedelta(days=self._shift_days())

    def content_datetime(self, now: dt.datetime | None = None) -> dt.datetime:
        """ContentDate/Time for objects created by the export."""
        now = now or dt.datetime.now().astimezone()
        if self.dates.mode == "remove":
            return dt.datetime(1900, 1, 1, tzinfo=now.tzinfo)
        if self.dates.mode == "shift":
            return now + dt.timedelta(days=self.shift_days())
        return now

    def scrub(self, text: str) -> str:
        """Free text with the patient's identifiers removed (or emptied, per policy)."""
        if not text or self.free_text == "remove":
            return ""
        out = text
        for value in sorted(set(self.identifiers), key=len, reverse=True):
            if len(value) < 2:
                continue
            out = re.sub(re.escape(value), "[removed]", out, flags=re.IGNORECASE)
        return out

    # -- DICOM ---------------------------------------------------------------------------
    def _date_value(self, vr: str, value: str) -> str | None:
        """New DA/DT/TM text, or None to apply the table action."""
        if self.dates.mode == "keep":
            return value
        if self.dates.mode == "remove":
            return None
        if vr == "TM":
            return value
        if len(value) < 8:
            return ""
        try:
            day = dt.datetime.strptime(value[:8], "%Y%m%d").date()
        except ValueError:
            return ""
        return (day + dt.timedelta(days=self.shift_days())).strftime("%Y%m%d") + value[8:]

    def dataset(
        self, ds: Dataset, *, uids: bool = True, dates: bool = True, keep_content: bool = False
    ) -> Dataset:
        """A de-identified copy of ``ds`` (file meta included).

        Parameters
        ----------
        ds
            The dataset; not changed.
        uids
            Replace UIDs (off for objects already built from replaced UIDs).
        dates
            Apply the date policy (off for objects already built with policy dates).
        keep_content
            Keep ContentSequence (an SR built from the de-identified case; option 113104).
        """
        if self._patient_id is None:
            self._patient_id = str(ds.get("PatientID", ""))
        out = Dataset()
        for elem in ds:
            new = self._element(elem, uids=uids, dates=dates, keep_content=keep_content)
            if new is not None:
                out.add(new)
        meta = getattr(ds, "file_meta", None)
        if meta is not None:
            from pydicom.dataset import FileMetaDataset

            out.file_meta = FileMetaDataset(meta)
            if uids and "MediaStorageSOPInstanceUID" in meta:
                out.file_meta.MediaStorageSOPInstanceUID = UID(
                    self.uid(meta.MediaStorageSOPInstanceUID)
                )
        return out

    def _element(
        self, elem: DataElement, *, uids: bool, dates: bool, keep_content: bool
    ) -> DataElement | None:
        tag = elem.tag
        if (
            tag.is_private
            or tag.group in range(0x5000, 0x5100)
            or (0x6000 <= tag.group <= 0x60FF and tag.element in (0x3000, 0x4000))
        ):
            return None
        keyword = elem.keyword
        action = E1_1_ACTIONS.get(keyword, "")
        vr = elem.VR
        if keyword == "ContentSequence" and keep_content:
            action = "K*"
        if vr in ("DA", "DT", "TM"):
            if not dates:
                return elem
            if self.dates.mode != "remove" and (action in ("", "D") or keyword in _DATE_KEEPERS):
                values = elem.value if elem.VM > 1 else [elem.value]
                shifted = [self._date_value(vr, str(v)) or "" for v in values if v is not None]
                return DataElement(tag, vr, shifted if len(shifted) > 1 else (shifted or [""])[0])
            if action == "D":
                return DataElement(tag, vr, _DUMMY[vr])
            if action == "Z":
                return DataElement(tag, vr, "")
            return None  # X, or a date the table does not list: removed
        if action == "X":
            return None
        if action == "Z":
            return DataElement(tag, vr, None if vr == "SQ" else "")
        if action == "D":
            if vr == "SQ":
                return DataElement(tag, vr, DicomSequence([]))
            return DataElement(tag, vr, _DUMMY.get(vr, "ANONYMOUS" if vr != "UI" else "2.25.0"))
        if vr == "SQ":
            items = [
                self.dataset(item, uids=uids, dates=dates, keep_content=keep_content)
                for item in elem.value
            ]
            return DataElement(tag, vr, DicomSequence(items))
        if vr == "UI":
            if not uids or keyword in _KEEP_UIDS or elem.value in (None, ""):
                return elem
            values = elem.value if elem.VM > 1 else [elem.value]
            new = [self.uid(str(v)) for v in values]
            return DataElement(tag, vr, new if len(new) > 1 else new[0])
        if vr == "PN" and not action:
            return DataElement(tag, vr, "")
        if vr in ("LO", "LT", "ST", "UT", "SH") and keyword in ("TextValue",) and not keep_content:
            return DataElement(tag, vr, self.scrub(str(elem.value)))
        if action in ("", "K*", "U", "K"):
            return elem
        return elem  # pragma: no cover - all actions handled above

    def mark(self, ds: Dataset, *, structured_content: bool = False) -> None:
        """Add PatientIdentityRemoved and the de-identification method attributes."""
        ds.PatientIdentityRemoved = "YES"
        method = [codes.DCM.BasicApplicationConfidentialityProfile, *self.dates.method_codes()]
        if self.burned_in == "masked":
            method.append(codes.DCM.CleanPixelDataOption)
        if structured_content:
            method.append(codes.DCM.CleanStructuredContentOption)
        # one LO value (≤ 64 characters) per step, never cut: DeidentificationMethod is 1-n
        values = deidentification_method_text(method, self.dates)
        if self.burned_in == "consent":
            values.append(CONSENT_NOTE)
        ds.DeidentificationMethod = values
        items = []
        for code in method:
            item = Dataset()
            item.CodeValue = code.value
            item.CodingSchemeDesignator = code.scheme_designator
            item.CodeMeaning = code.meaning
            items.append(item)
        ds.DeidentificationMethodCodeSequence = DicomSequence(items)

    def source_headers(self, headers: Iterable[Dataset]) -> list[Dataset]:
        """De-identified copies of source image headers, with the patient pseudonym.

        PatientName/PatientID become the pseudonym (the table's ``Z`` would empty
        them; a pseudonym keeps the export's objects of one patient together).
        """
        out = []
        for ds in headers:
            pid = str(ds.get("PatientID", ""))
            new = self.dataset(ds)
            new.PatientID = self.pseudonym(pid)
            new.PatientName = self.pseudonym_name(pid)
            self.mark(new)
            out.append(new)
        return out

    # -- the case ------------------------------------------------------------------------
    def case(self, case: Case) -> Case:
        """The de-identified case (see the module docs for what changes)."""
        p = case.patient
        self._patient_id = p.patient_id
        self.identifiers += identifying_strings(
            p.patient_name,
            p.patient_id,
            p.birth_date,
            case.study.accession_number if case.study else "",
        )
        if self.dates.mode == "remove":
            earliest = _earliest_date(case)
            if earliest is not None:
                self._rebase_days = (dt.date(2000, 1, 1) - earliest).days
        body = case.model_dump(mode="python")
        body["case_id"] = self._mac("case", case.case_id).hex()[:32]
        pseudonym = self.pseudonym(p.patient_id)
        body["patient"] = {
            "patient_id": pseudonym,
            "patient_name": self.pseudonym_name(p.patient_id),
            "birth_date": None,
            "sex": "",
        }
        if body.get("study"):
            body["study"]["accession_number"] = ""
            body["study"]["description"] = ""
            body["study"]["referring_physician"] = ""  # PS3.15: ReferringPhysicianName Z
            body["study"]["institution"] = ""  # InstitutionName X
            if self.dates.mode == "remove":
                body["study"]["study_time"] = None
            for s in body["study"].get("series", []):
                s["description"] = ""
        for proc in body.get("procedures", []):
            proc["operator"] = ""
        for note in body.get("notes", []):
            note["author"] = ""
        cleaned = _walk(body, self._leaf)
        try:
            return Case.model_validate(cleaned)
        except ValueError as err:  # pragma: no cover - a bug, not a user error
            raise ArchiveError(
                f"case {case.case_id}: de-identified case is invalid ({err})"
            ) from err

    def _leaf(self, key: str, value: Any) -> Any:
        if isinstance(value, Enum):  # controlled vocabulary, never free text
            return value
        if isinstance(value, dt.datetime):
            return self.shift_datetime(value)
        if isinstance(value, dt.date):
            return self.shift_date(value)
        if isinstance(value, str):
            if key.endswith("_uid") or key == "frame_of_reference_uid":
                return self.uid(value) if value else value
            if key in _FREE_TEXT_KEYS:
                return self.scrub(value)
        return value


_FREE_TEXT_KEYS = frozenset(
    {
        "title",
        "indication",
        "label",
        "notes",
        "text",
        "interpretation",
        "next_step",
        "description",
        "index_pain",
        "complication_notes",
        "dose",
        "tip",
        "type",
        "agent",
        "name",
        "drug",
    }
)


def _walk(value: Any, leaf: Callable[[str, Any], Any], key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _walk(v, leaf, k) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_walk(v, leaf, key) for v in value]
    return leaf(key, value)


def _earliest_date(case: Case) -> dt.date | None:
    found: list[dt.date] = []

    def collect(_: str, value: Any) -> Any:
        if isinstance(value, dt.datetime):
            found.append(value.date())
        elif isinstance(value, dt.date):
            found.append(value)
        return value

    body = case.model_dump(mode="python")
    body.pop("patient", None)  # the birth date is removed, not re-based
    _walk(body, collect)
    return min(found) if found else None
