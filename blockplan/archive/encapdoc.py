"""The report as a DICOM Encapsulated PDF in the source study.

The object joins the study of the images (same StudyInstanceUID, patient and study
modules copied from a source image) as a new series of Modality ``DOC``. Its document
type is LOINC 11488-4 "Consult note" by default: the report is the pain physician's
consultation record — plan, blocks, adjudication and recommendation — not an
interpretation of the images. LOINC 18748-4 "Diagnostic imaging study" would make PACS
and report feeds treat it as *the* radiology report of the study, which it is not; it
can still be chosen with ``concept=DIAGNOSTIC_IMAGING_REPORT``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.sr.coding import Code
from pydicom.uid import UID, EncapsulatedPDFStorage, ExplicitVRLittleEndian

from blockplan.archive._common import (
    MANUFACTURER,
    PatientStudyInfo,
    dicom_date_time,
    new_uid,
    software_version,
)
from blockplan.errors import ArchiveError

__all__ = [
    "CONSULT_NOTE",
    "DIAGNOSTIC_IMAGING_REPORT",
    "encapsulate_pdf",
    "extract_pdf",
]

CONSULT_NOTE = Code("11488-4", "LN", "Consult note")
"""Default ConceptNameCodeSequence of the Encapsulated PDF (see the module docs)."""

DIAGNOSTIC_IMAGING_REPORT = Code("18748-4", "LN", "Diagnostic imaging study")
"""Alternative document type, for sites that file every study document as an imaging report."""

_MAX_PDF_BYTES = 0xFFFFFFFE  # OB value length limit (even)


def _code_item(code: Code) -> Dataset:
    item = Dataset()
    item.CodeValue = code.value
    item.CodingSchemeDesignator = code.scheme_designator
    item.CodeMeaning = code.meaning
    return item


def encapsulate_pdf(
    pdf_bytes: bytes,
    source: Dataset | PatientStudyInfo,
    title: str,
    *,
    source_images: Sequence[Dataset] = (),
    concept: Code = CONSULT_NOTE,
    series_instance_uid: str | None = None,
    sop_instance_uid: str | None = None,
    series_number: int = 9901,
    instance_number: int = 1,
    series_description: str = "blockplan report",
    content_datetime: dt.datetime | None = None,
    predecessors: Sequence[Dataset] = (),
) -> Dataset:
    """Wrap a PDF as an Encapsulated PDF instance in the study of ``source``.

    Parameters
    ----------
    pdf_bytes
        The complete PDF file (must start with ``%PDF-``).
    source
        One image of the source study (its Patient and General Study modules are
        copied), or a `PatientStudyInfo`.
    title
        DocumentTitle, e.g. ``"Diagnostic nerve block plan and record"``.
    source_images
        Images the report was made from; listed in SourceInstanceSequence.
    concept
        ConceptNameCodeSequence (document type); LOINC "Consult note" by default.
    series_instance_uid, sop_instance_uid
        UIDs of the new series and instance (fresh ``2.25`` UIDs by default).
    series_number, instance_number, series_description
        Shown by PACS viewers.
    content_datetime
        ContentDate/Time and AcquisitionDateTime (now, by default).
    predecessors
        Earlier versions of this document (StudyInstanceUID, SeriesInstanceUID,
        SOPInstanceUID, SOPClassUID each): PredecessorDocumentsSequence, so a PACS can
        show the new version as superseding them.

    Returns
    -------
    pydicom.dataset.Dataset
        The instance with file meta information, ready to save or send.

    Raises
    ------
    ArchiveError
        When ``pdf_bytes`` is not a PDF or is too large for one DICOM attribute.
    """
    _check_pdf(pdf_bytes)
    info = source if isinstance(source, PatientStudyInfo) else PatientStudyInfo.from_dataset(source)
    when = content_datetime or dt.datetime.now().astimezone()
    date, time = dicom_date_time(when)
    sop_uid = sop_instance_uid or new_uid()

    ds = _new_instance(sop_uid, date, time)
    # Patient, General Study (copied)
    info.apply_to(ds)
    ds.SpecificCharacterSet = "ISO_IR 192"
    # Encapsulated Document Series
    ds.Modality = "DOC"
    ds.SeriesInstanceUID = series_instance_uid or new_uid()
    ds.SeriesNumber = series_number
    ds.SeriesDescription = series_description
    _set_equipment(ds)
    # Encapsulated Document
    ds.InstanceNumber = instance_number
    ds.ContentDate, ds.ContentTime = date, time
    ds.AcquisitionDateTime = when.strftime("%Y%m%d%H%M%S")
    ds.BurnedInAnnotation = "YES"  # the PDF shows patient identity
    ds.RecognizableVisualFeatures = "NO"
    ds.DocumentTitle = title
    ds.ConceptNameCodeSequence = DicomSequence([_code_item(concept)])
    if source_images:
        ds.SourceInstanceSequence = _source_instances(source_images)
    if predecessors:
        ds.PredecessorDocumentsSequence = predecessor_sequence(predecessors)
    _set_document(ds, pdf_bytes)
    return ds


def _new_instance(sop_uid: str, date: str, time: str) -> Dataset:
    """An Encapsulated PDF instance with file meta and SOP Common (UTF-8), nothing else."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = EncapsulatedPDFStorage
    ds.file_meta.MediaStorageSOPInstanceUID = UID(sop_uid)
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SpecificCharacterSet = "ISO_IR 192"
    # SOP Common
    ds.SOPClassUID = EncapsulatedPDFStorage
    ds.SOPInstanceUID = sop_uid
    ds.InstanceCreationDate, ds.InstanceCreationTime = date, time
    return ds


def _check_pdf(pdf_bytes: bytes) -> None:
    """Refuse what is not a PDF, or is too long for one OB value (with its padding byte)."""
    if not pdf_bytes.startswith(b"%PDF-"):
        raise ArchiveError(
            f"the report is not a PDF (starts with {pdf_bytes[:8]!r}, expected b'%PDF-'); "
            "build it with blockplan.report.build_report"
        )
    if len(pdf_bytes) > _MAX_PDF_BYTES - 1:
        raise ArchiveError(
            f"the report is {len(pdf_bytes)} bytes; DICOM allows at most {_MAX_PDF_BYTES - 1} "
            "in one Encapsulated Document: reduce the key images"
        )


def _set_equipment(ds: Dataset) -> None:
    """General Equipment and SC Equipment: blockplan, a workstation conversion."""
    ds.Manufacturer = MANUFACTURER
    ds.ManufacturerModelName = MANUFACTURER
    ds.SoftwareVersions = software_version()
    ds.ConversionType = "WSD"  # workstation


def _source_instances(source_images: Sequence[Dataset]) -> DicomSequence:
    """SourceInstanceSequence: SOP class and instance UID of each source image."""
    refs = []
    for img in source_images:
        ref = Dataset()
        ref.ReferencedSOPClassUID = img.SOPClassUID
        ref.ReferencedSOPInstanceUID = img.SOPInstanceUID
        refs.append(ref)
    return DicomSequence(refs)


def predecessor_sequence(documents: Sequence[Dataset]) -> DicomSequence:
    """PredecessorDocumentsSequence (study → series → instance) of earlier versions."""
    studies: dict[str, dict[str, list[Dataset]]] = {}
    for doc in documents:
        series = studies.setdefault(str(doc.StudyInstanceUID), {})
        series.setdefault(str(doc.SeriesInstanceUID), []).append(doc)
    items = []
    for study_uid, by_series in studies.items():
        study = Dataset()
        study.StudyInstanceUID = study_uid
        study.ReferencedSeriesSequence = DicomSequence(
            [_series_item(uid, docs) for uid, docs in by_series.items()]
        )
        items.append(study)
    return DicomSequence(items)


def _series_item(series_uid: str, docs: Sequence[Dataset]) -> Dataset:
    item = Dataset()
    item.SeriesInstanceUID = series_uid
    refs = []
    for doc in docs:
        ref = Dataset()
        ref.ReferencedSOPClassUID = doc.SOPClassUID
        ref.ReferencedSOPInstanceUID = doc.SOPInstanceUID
        refs.append(ref)
    item.ReferencedSOPSequence = DicomSequence(refs)
    return item


def _set_document(ds: Dataset, pdf_bytes: bytes) -> None:
    """The PDF itself: MIME type, true length, and the bytes padded to an even length."""
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.EncapsulatedDocumentLength = len(pdf_bytes)
    ds.EncapsulatedDocument = pdf_bytes + (b"\0" if len(pdf_bytes) % 2 else b"")


def extract_pdf(ds: Dataset) -> bytes:
    """The PDF of an Encapsulated PDF instance, without its padding byte.

    Uses EncapsulatedDocumentLength when present; otherwise strips one trailing NUL
    after ``%%EOF`` (what writers pad with).

    Raises
    ------
    ArchiveError
        When ``ds`` is not an Encapsulated PDF.
    """
    if ds.get("SOPClassUID") != EncapsulatedPDFStorage or "EncapsulatedDocument" not in ds:
        raise ArchiveError(
            f"SOPInstanceUID {ds.get('SOPInstanceUID', '?')}: not an Encapsulated PDF "
            f"(SOP class {ds.get('SOPClassUID', 'missing')})"
        )
    data = bytes(ds.EncapsulatedDocument)
    length = ds.get("EncapsulatedDocumentLength")
    if length is not None and 0 < int(length) <= len(data):
        return data[: int(length)]
    if data.endswith(b"\0"):
        data = data[:-1]
    return data
