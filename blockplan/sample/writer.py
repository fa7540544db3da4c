"""Writing the synthetic series as standard single-frame CT and MR Image Storage files.

Everything that lands in a file is fixed by the seed: UIDs are ``2.25.<UUID>`` with a
name-based (version 5) UUID of the seed and the object's role (pydicom's
``generate_uid(prefix=None, ...)`` ignores its entropy sources and returns a random
UUID, so it cannot be used here), dates and times are constants, and the file meta
carries blockplan's own implementation UID, so the same seed writes byte-identical files.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    UID,
    CTImageStorage,
    ExplicitVRLittleEndian,
    JPEGLSLossless,
    MRImageStorage,
    RLELossless,
)

from blockplan.sample.imaging import Grid

__all__ = [
    "IMPLEMENTATION_CLASS_UID",
    "PATIENT",
    "PHANTOM_VERSION",
    "SYNTHETIC_NOTE",
    "SeriesSpec",
    "StudyUIDs",
    "make_uid",
    "name_uid",
    "write_series",
]

#: Bump when the phantom or the files change on purpose (it feeds every UID).
PHANTOM_VERSION = "1"
SYNTHETIC_NOTE = "SYNTHETIC PHANTOM — not patient data"
STUDY_DATE = "20260315"
STUDY_TIME = "101500"
_UID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_DNS, "sample.blockplan.invalid")


def name_uid(*parts: object) -> str:
    """``2.25.`` + the integer of a version-5 UUID of ``parts`` (deterministic, PS3.5 B.2)."""
    name = "/".join(str(p) for p in parts)
    return f"2.25.{uuid.uuid5(_UID_NAMESPACE, name).int}"


IMPLEMENTATION_CLASS_UID = name_uid("blockplan", "implementation")
IMPLEMENTATION_VERSION_NAME = f"BLOCKPLAN_PH{PHANTOM_VERSION}"

#: The one synthetic patient (no real person; the tags say so).
PATIENT: dict[str, Any] = {
    "PatientName": "PHANTOM^LUMBAR",
    "PatientID": "SYNTH-0001",
    "IssuerOfPatientID": "BLOCKPLAN-SYNTHETIC",
    "PatientBirthDate": "19680704",
    "PatientSex": "O",
    "PatientAge": "057Y",
    "PatientSize": 1.75,
    "PatientWeight": 78.0,
    "PatientComments": SYNTHETIC_NOTE,
}


def make_uid(seed: int, *parts: object) -> str:
    """A deterministic ``2.25.…`` UID from the seed and a path of names."""
    return name_uid("blockplan.sample", PHANTOM_VERSION, seed, *parts)


@dataclass(frozen=True, slots=True)
class StudyUIDs:
    """UIDs shared by every series of the study."""

    study_instance_uid: str
    frame_of_reference_uid: str

    @classmethod
    def from_seed(cls, seed: int) -> StudyUIDs:
        return cls(make_uid(seed, "study"), make_uid(seed, "frame-of-reference"))


@dataclass(frozen=True, slots=True)
class SeriesSpec:
    """What to write for one series (geometry, identity, modality attributes)."""

    number: int
    description: str
    modality: str  # "CT" | "MR"
    grid: Grid
    transfer_syntax: UID
    series_time: str
    folder: str
    windows: tuple[tuple[float, float, str], ...]  # (centre, width, explanation)
    image_type: tuple[str, ...]
    attributes: Mapping[str, Any] = field(default_factory=dict)
    rescale: tuple[float, float] | None = None  # (intercept, slope) for CT


def _ds(value: float, digits: int = 6) -> str:
    """A DS string of at most 16 characters (fixed decimals, no ``-0``)."""
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    text = "0" if text in ("-0", "") else text
    return text[:16]


def _dataset(
    spec: SeriesSpec, uids: StudyUIDs, seed: int, k: int, pixels: npt.NDArray[np.uint16]
) -> Dataset:
    """Image ``k`` (0-based) of a series as a CT or MR Image Storage dataset."""
    sop_class = CTImageStorage if spec.modality == "CT" else MRImageStorage
    sop_uid = make_uid(seed, "series", spec.number, "instance", k + 1)
    ds = Dataset()
    ds.file_meta = _file_meta(sop_class, sop_uid)
    _set_study_and_series(ds, spec, sop_class, sop_uid)
    ds.StudyInstanceUID = uids.study_instance_uid
    ds.SeriesInstanceUID = make_uid(seed, "series", spec.number)
    ds.StudyID = "1"
    ds.SeriesNumber = spec.number
    ds.AcquisitionNumber = 1
    ds.InstanceNumber = k + 1
    ds.FrameOfReferenceUID = uids.frame_of_reference_uid
    ds.PositionReferenceIndicator = ""
    _set_image_plane(ds, spec.grid, k)
    # general image
    ds.ImageComments = SYNTHETIC_NOTE
    ds.BurnedInAnnotation = "NO"
    ds.LossyImageCompression = "00"
    # modality-specific
    for key, value in spec.attributes.items():
        setattr(ds, key, value)
    _set_image_pixel(ds, spec, pixels)
    _set_pixel_data(ds, spec, pixels)
    return ds


def _file_meta(sop_class: UID, sop_uid: str) -> FileMetaDataset:
    """File meta information: explicit VR little endian, blockplan's implementation UID."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = UID(sop_uid)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = UID(IMPLEMENTATION_CLASS_UID)
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME
    return meta


def _set_study_and_series(ds: Dataset, spec: SeriesSpec, sop_class: UID, sop_uid: str) -> None:
    """SOP common, study, series, equipment and patient attributes (fixed dates and times)."""
    # SOP common
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.ImageType = list(spec.image_type)
    ds.InstanceCreationDate = STUDY_DATE
    ds.InstanceCreationTime = spec.series_time
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    # general study
    ds.StudyDate = STUDY_DATE
    ds.SeriesDate = STUDY_DATE
    ds.AcquisitionDate = STUDY_DATE
    ds.ContentDate = STUDY_DATE
    ds.StudyTime = STUDY_TIME
    ds.SeriesTime = spec.series_time
    ds.AcquisitionTime = spec.series_time
    ds.ContentTime = spec.series_time
    ds.AccessionNumber = "SYNTH0001"
    ds.Modality = spec.modality
    ds.Manufacturer = "blockplan"
    ds.InstitutionName = "SYNTHETIC"
    ds.ReferringPhysicianName = ""
    ds.StationName = "PHANTOM"
    ds.StudyDescription = "LUMBAR SPINE POSTOP (SYNTHETIC)"
    ds.SeriesDescription = spec.description
    ds.ManufacturerModelName = "blockplan synthetic phantom"
    for key, value in PATIENT.items():
        setattr(ds, key, value)
    ds.BodyPartExamined = "LSPINE"
    ds.DeviceSerialNumber = "0001"
    ds.SoftwareVersions = f"blockplan.sample phantom {PHANTOM_VERSION}"
    ds.ProtocolName = spec.description
    ds.PatientPosition = "HFS"


def _set_image_plane(ds: Dataset, grid: Grid, k: int) -> None:
    """Image plane module of slice ``k``: position, orientation, thickness, spacing."""
    pos = grid.position(k)
    ds.ImagePositionPatient = [_ds(v) for v in pos]
    ds.ImageOrientationPatient = [_ds(v, 10) for v in (*grid.row_direction, *grid.column_direction)]
    ds.SliceThickness = _ds(grid.slice_thickness)
    ds.SliceLocation = _ds(float(np.dot(pos, grid.normal)))
    ds.PixelSpacing = [_ds(grid.pixel_spacing[0]), _ds(grid.pixel_spacing[1])]


def _set_image_pixel(ds: Dataset, spec: SeriesSpec, pixels: npt.NDArray[np.uint16]) -> None:
    """Image pixel description (12 of 16 bits, unsigned), CT rescale and VOI windows."""
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = int(pixels.shape[0]), int(pixels.shape[1])
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    if spec.rescale is not None:
        ds.RescaleIntercept = _ds(spec.rescale[0])
        ds.RescaleSlope = _ds(spec.rescale[1])
        ds.RescaleType = "HU"
    # VOI LUT
    ds.WindowCenter = [_ds(w[0]) for w in spec.windows]
    ds.WindowWidth = [_ds(w[1]) for w in spec.windows]
    ds.WindowCenterWidthExplanation = [w[2] for w in spec.windows]


def _set_pixel_data(ds: Dataset, spec: SeriesSpec, pixels: npt.NDArray[np.uint16]) -> None:
    """PixelData in the series' transfer syntax (compressed with a fixed encoder)."""
    frame = np.ascontiguousarray(pixels, dtype=np.uint16)
    if spec.transfer_syntax == ExplicitVRLittleEndian:
        ds.PixelData = frame.tobytes()
    else:
        plugin = {JPEGLSLossless: "pyjpegls", RLELossless: "pydicom"}[spec.transfer_syntax]
        ds.compress(
            spec.transfer_syntax, frame, encoding_plugin=plugin, generate_instance_uid=False
        )


def write_series(
    out_dir: Path, spec: SeriesSpec, pixels: npt.NDArray[np.uint16], uids: StudyUIDs, seed: int
) -> list[Path]:
    """Write one file per slice of ``pixels[k, j, i]`` into ``out_dir / spec.folder``."""
    folder = out_dir / spec.folder
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(pixels.shape[0]):
        ds = _dataset(spec, uids, seed, k, pixels[k])
        path = folder / f"IM{k + 1:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths
