"""Write synthetic DICOM series (and their header truth) with pydicom for the io tests.

Every file is synthetic: no patient values, PatientName "SYNTHETIC^PHANTOM".
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import (
    CTImageStorage,
    EnhancedCTImageStorage,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    RLELossless,
    generate_uid,
)

ROOT = "1.2.826.0.1.3680043.10.1081."  # synthetic test UIDs


def uid() -> str:
    return generate_uid(prefix=ROOT)


@dataclass
class SeriesSpec:
    """Geometry and identity of a synthetic series (LPS mm)."""

    volume: npt.NDArray[Any]  # stored values [k, j, i]
    origin: tuple[float, float, float] = (-100.0, -120.0, 50.0)
    row_dir: tuple[float, float, float] = (1.0, 0.0, 0.0)  # direction along a row (i)
    col_dir: tuple[float, float, float] = (0.0, 1.0, 0.0)  # direction down a column (j)
    pixel_spacing: tuple[float, float] = (0.8, 0.7)  # (row spacing, column spacing)
    slice_step: tuple[float, float, float] | None = None  # default: normal * 2.5
    positions: Sequence[Sequence[float]] | None = None  # explicit positions override
    modality: str = "CT"
    series_uid: str = field(default_factory=uid)
    study_uid: str = field(default_factory=uid)
    for_uid: str = field(default_factory=uid)
    series_number: int = 3
    description: str = "synthetic phantom"
    slope: float | Sequence[float] = 1.0
    intercept: float | Sequence[float] = -1024.0
    image_type: Sequence[str] = ("ORIGINAL", "PRIMARY", "AXIAL")
    acquisition_number: int | Sequence[int] | None = 1
    echo_number: int | None = None
    slice_thickness: float | None = 2.5
    windows: Sequence[tuple[float, float, str]] = ()
    bits_stored: int | None = None

    def slice_positions(self) -> npt.NDArray[np.float64]:
        if self.positions is not None:
            return np.asarray(self.positions, dtype=np.float64)
        step = np.asarray(self.slice_step, float) if self.slice_step else self.normal * 2.5
        k = np.arange(self.volume.shape[0])[:, None]
        return np.asarray(self.origin, float) + k * step

    @property
    def normal(self) -> npt.NDArray[np.float64]:
        return np.cross(np.asarray(self.row_dir, float), np.asarray(self.col_dir, float))

    def truth_lps(self, i: float, j: float, k: int) -> npt.NDArray[np.float64]:
        """Where the headers put voxel (i, j) of slice k (file order)."""
        p = self.slice_positions()[k]
        return (
            p
            + i * np.asarray(self.row_dir) * self.pixel_spacing[1]
            + j * np.asarray(self.col_dir) * self.pixel_spacing[0]
        )


def _per(value: Any, k: int) -> Any:
    if isinstance(value, list | tuple | np.ndarray):
        return value[k]
    return value


def base_dataset(
    spec: SeriesSpec, sop_class: str = CTImageStorage, tsuid: str = ExplicitVRLittleEndian
) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.TransferSyntaxUID = tsuid
    meta.ImplementationClassUID = ROOT + "1"
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.PatientName = "SYNTHETIC^PHANTOM"
    ds.PatientID = "SYNTH-0001"
    ds.PatientBirthDate = "19000101"
    ds.StudyInstanceUID = spec.study_uid
    ds.StudyDate, ds.StudyTime, ds.StudyID, ds.AccessionNumber = "20000101", "120000", "1", ""
    ds.SeriesInstanceUID = spec.series_uid
    ds.FrameOfReferenceUID = spec.for_uid
    ds.Modality = spec.modality
    ds.SeriesNumber = spec.series_number
    ds.SeriesDescription = spec.description
    ds.Manufacturer = "blockplan synthetic"
    ds.KVP = 120
    ds.ImageType = list(spec.image_type)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = spec.volume.shape[1:]
    ds.BitsAllocated = spec.volume.dtype.itemsize * 8
    ds.BitsStored = spec.bits_stored or ds.BitsAllocated
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 1 if spec.volume.dtype.kind == "i" else 0
    ds.PixelSpacing = [f"{v:g}" for v in spec.pixel_spacing]
    ds.ImageOrientationPatient = [f"{v:.6f}" for v in (*spec.row_dir, *spec.col_dir)]
    if spec.slice_thickness is not None:
        ds.SliceThickness = spec.slice_thickness
    if spec.windows:
        ds.WindowCenter = [w[0] for w in spec.windows]
        ds.WindowWidth = [w[1] for w in spec.windows]
        ds.WindowCenterWidthExplanation = [w[2] for w in spec.windows]
    return ds


def write_series(
    folder: Path,
    spec: SeriesSpec,
    *,
    tsuid: str = ExplicitVRLittleEndian,
    prefix: str = "IM",
    indices: Sequence[int] | None = None,
    edit: Callable[[Dataset, int], None] | None = None,
) -> list[Path]:
    """Write one single-frame file per slice; returns the paths in slice order."""
    folder.mkdir(parents=True, exist_ok=True)
    positions = spec.slice_positions()
    paths: list[Path] = []
    for k in indices if indices is not None else range(spec.volume.shape[0]):
        ds = base_dataset(spec)
        ds.SOPInstanceUID = uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.InstanceNumber = k + 1
        acq = _per(spec.acquisition_number, k)
        if acq is not None:
            ds.AcquisitionNumber = acq
        if spec.echo_number is not None:
            ds.EchoNumbers = spec.echo_number
        ds.ImagePositionPatient = [f"{v:.4f}" for v in positions[k]]
        ds.RescaleSlope = f"{_per(spec.slope, k):g}"
        ds.RescaleIntercept = f"{_per(spec.intercept, k):g}"
        ds.PixelData = np.ascontiguousarray(spec.volume[k]).tobytes()
        if edit is not None:
            edit(ds, k)
        path = folder / f"{prefix}{k:04d}.dcm"
        save(ds, path, tsuid)
        paths.append(path)
    return paths


def save(ds: Dataset, path: Path, tsuid: str = ExplicitVRLittleEndian) -> None:
    """Write ``ds`` in the requested transfer syntax (uncompressed ones natively)."""
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    if tsuid == ExplicitVRBigEndian:
        arr = np.frombuffer(ds.PixelData, dtype=_dtype(ds)).reshape(-1)
        ds.PixelData = arr.astype(arr.dtype.newbyteorder(">")).tobytes()
        ds["PixelData"].VR = "OW"
        ds.file_meta.TransferSyntaxUID = ExplicitVRBigEndian
        ds.save_as(path, implicit_vr=False, little_endian=False, enforce_file_format=True)
        return
    if tsuid == ImplicitVRLittleEndian:
        ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
        ds.save_as(path, implicit_vr=True, little_endian=True, enforce_file_format=True)
        return
    ds.save_as(path, implicit_vr=False, little_endian=True, enforce_file_format=True)
    if tsuid != ExplicitVRLittleEndian:
        compress_file(path, tsuid)


def _dtype(ds: Dataset) -> np.dtype[Any]:
    return np.dtype(f"{'i' if ds.PixelRepresentation else 'u'}{ds.BitsAllocated // 8}")


class EncoderUnavailable(RuntimeError):
    """No encoder for this transfer syntax here (the test is skipped with the reason)."""


def compress_file(path: Path, tsuid: str) -> None:
    """Re-encode a file in place into a lossless compressed transfer syntax."""
    ds = pydicom.dcmread(path)
    if tsuid in (RLELossless, JPEGLSLossless, JPEG2000Lossless):
        try:
            ds.compress(tsuid, generate_instance_uid=False)
        except (RuntimeError, NotImplementedError) as err:
            raise EncoderUnavailable(f"pydicom cannot encode {tsuid}: {err}") from err
        ds.save_as(path, enforce_file_format=True)
        return
    if tsuid == JPEGLosslessSV1:
        _gdcm_convert(path, tsuid)
        return
    raise EncoderUnavailable(f"no encoder wired for {tsuid}")


def _gdcm_convert(path: Path, tsuid: str) -> None:
    try:
        import gdcm
    except ImportError:
        gdcm = None
    if gdcm is not None:
        reader = gdcm.ImageReader()
        reader.SetFileName(str(path))
        if not reader.Read():
            raise EncoderUnavailable("gdcm cannot read the source file")
        change = gdcm.ImageChangeTransferSyntax()
        change.SetTransferSyntax(gdcm.TransferSyntax(gdcm.TransferSyntax.JPEGLosslessProcess14_1))
        change.SetInput(reader.GetImage())
        if not change.Change():
            raise EncoderUnavailable("gdcm could not encode JPEG lossless")
        writer = gdcm.ImageWriter()
        writer.SetFileName(str(path))
        writer.SetFile(reader.GetFile())
        writer.SetImage(change.GetOutput())
        if not writer.Write():
            raise EncoderUnavailable("gdcm could not write JPEG lossless")
        return
    exe = shutil.which("dcmcjpeg")
    if exe is None:
        raise EncoderUnavailable("neither python-gdcm nor dcmtk's dcmcjpeg is installed")
    tmp = path.with_suffix(".jpg.dcm")
    subprocess.run([exe, "+e1", str(path), str(tmp)], check=True, capture_output=True)
    tmp.replace(path)


def write_enhanced(
    path: Path,
    spec: SeriesSpec,
    *,
    per_frame_slopes: Sequence[float] | None = None,
    per_frame_intercepts: Sequence[float] | None = None,
) -> Path:
    """One Enhanced CT file: per-frame PlanePosition and PixelValueTransformation."""
    ds = base_dataset(spec, sop_class=EnhancedCTImageStorage)
    for kw in ("PixelSpacing", "ImageOrientationPatient", "SliceThickness", "ImageType"):
        if kw in ds:
            del ds[kw]
    ds.ImageType = ["ORIGINAL", "PRIMARY", "VOLUME", "NONE"]
    ds.SOPInstanceUID = uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.InstanceNumber = 1
    n = spec.volume.shape[0]
    ds.NumberOfFrames = n
    shared = Dataset()
    meas = Dataset()
    meas.PixelSpacing = [f"{v:g}" for v in spec.pixel_spacing]
    meas.SliceThickness = spec.slice_thickness or 2.5
    shared.PixelMeasuresSequence = DicomSequence([meas])
    ori = Dataset()
    ori.ImageOrientationPatient = [f"{v:.6f}" for v in (*spec.row_dir, *spec.col_dir)]
    shared.PlaneOrientationSequence = DicomSequence([ori])
    ds.SharedFunctionalGroupsSequence = DicomSequence([shared])
    positions = spec.slice_positions()
    per = []
    for k in range(n):
        item = Dataset()
        pos = Dataset()
        pos.ImagePositionPatient = [f"{v:.4f}" for v in positions[k]]
        item.PlanePositionSequence = DicomSequence([pos])
        pvt = Dataset()
        pvt.RescaleSlope = f"{(per_frame_slopes or [1.0] * n)[k]:g}"
        pvt.RescaleIntercept = f"{(per_frame_intercepts or [-1024.0] * n)[k]:g}"
        pvt.RescaleType = "HU"
        item.PixelValueTransformationSequence = DicomSequence([pvt])
        content = Dataset()
        content.InStackPositionNumber = k + 1
        item.FrameContentSequence = DicomSequence([content])
        per.append(item)
    ds.PerFrameFunctionalGroupsSequence = DicomSequence(per)
    ds.PixelData = np.ascontiguousarray(spec.volume).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    save(ds, path)
    return path


def phantom(
    shape: tuple[int, int, int] = (8, 24, 20), dtype: str = "int16", seed: int = 0
) -> npt.NDArray[Any]:
    """A deterministic volume with structure in every axis (stored values)."""
    rng = np.random.default_rng(seed)
    k, j, i = np.meshgrid(*(np.arange(n) for n in shape), indexing="ij")
    base = 1000 + 7 * i + 13 * j + 101 * k
    noise = rng.integers(0, 5, size=shape)
    return (base + noise).astype(dtype)


def linear_phantom(shape: tuple[int, int, int], dtype: str = "int16") -> npt.NDArray[Any]:
    """Values linear in (i, j, k): trilinear interpolation reproduces them exactly."""
    k, j, i = np.meshgrid(*(np.arange(n) for n in shape), indexing="ij")
    return (1000 + 10 * i + 20 * j + 50 * k).astype(dtype)
