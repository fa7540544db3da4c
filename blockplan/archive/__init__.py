"""DICOM objects out, PACS, de-identification.

>>> from blockplan.archive import build_archive, write_archive       # doctest: +SKIP
>>> objects = build_archive(case, headers, volume=ct)                 # doctest: +SKIP
>>> write_archive(objects, "archive/")                                # doctest: +SKIP

* `encapsulate_pdf` — the report as an Encapsulated PDF in the study of the images.
* `build_measurement_report` / `read_sr` — targets, trajectories, measurements and scar
  volumes as a Comprehensive 3D SR (TID 1500), and back.
* `build_scar_seg` / `read_seg_scar` — scar regions as a DICOM SEG on the source images.
* `send`, `retry_outbox` — C-STORE or STOW-RS through a local outbox.
* `Deidentifier`, `build_export` — PS3.15 Basic Profile export.
* `validate_dataset` — dciodvfy.
"""

from blockplan.archive._common import PatientStudyInfo
from blockplan.archive.bundle import (
    ArchiveObjects,
    build_archive,
    build_export,
    plan_metrics,
    verify_archive,
    write_archive,
)
from blockplan.archive.coding import PRIVATE_CODES, PRIVATE_SCHEME
from blockplan.archive.deid import DatePolicy, Deidentifier
from blockplan.archive.encapdoc import CONSULT_NOTE, encapsulate_pdf, extract_pdf
from blockplan.archive.pacs import (
    DicomDestination,
    DicomWebDestination,
    Outbox,
    SendResult,
    parse_destination,
    retry_outbox,
    send,
    send_cstore,
    send_stow,
)
from blockplan.archive.roundtrip import case_from_archive
from blockplan.archive.seg import SegBuild, build_scar_seg, read_seg_scar, read_seg_scars
from blockplan.archive.sr import (
    ArchivedPlan,
    TrajectoryMeasurements,
    build_measurement_report,
    read_sr,
    read_sr_targets,
)
from blockplan.archive.validate import Validation, validate_dataset, validate_file

__all__ = [
    "CONSULT_NOTE",
    "PRIVATE_CODES",
    "PRIVATE_SCHEME",
    "ArchiveObjects",
    "ArchivedPlan",
    "DatePolicy",
    "Deidentifier",
    "DicomDestination",
    "DicomWebDestination",
    "Outbox",
    "PatientStudyInfo",
    "SegBuild",
    "SendResult",
    "TrajectoryMeasurements",
    "Validation",
    "build_archive",
    "build_export",
    "build_measurement_report",
    "build_scar_seg",
    "case_from_archive",
    "encapsulate_pdf",
    "extract_pdf",
    "parse_destination",
    "plan_metrics",
    "read_seg_scar",
    "read_seg_scars",
    "read_sr",
    "read_sr_targets",
    "retry_outbox",
    "send",
    "send_cstore",
    "send_stow",
    "validate_dataset",
    "validate_file",
    "verify_archive",
    "write_archive",
]
