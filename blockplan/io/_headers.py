"""Header-only reading of DICOM files into per-frame records (no pixel decoding).

One `FrameHeader` is made per 2-D image: one per single-frame file, one per frame of an
(enhanced) multi-frame file. It carries everything grouping, geometry and the pixel
reader need, including where the pixel bytes start in the file, so loading a series
reads headers once (here) and pixel bytes once (`blockplan.io._pixels`).
"""

from __future__ import annotations

import functools
import math
import os
import warnings
from dataclasses import dataclass
from typing import Any, Literal

import pydicom
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID

__all__ = ["METADATA_KEYWORDS", "FileRead", "FrameHeader", "read_file", "read_metadata"]

DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"

# Non-identifying header values copied to ImageVolume.metadata. Names, IDs, dates,
# institution and operator names are deliberately absent.
METADATA_KEYWORDS: tuple[str, ...] = (
    "SOPClassUID",
    "Manufacturer",
    "ManufacturerModelName",
    "SoftwareVersions",
    "KVP",
    "XRayTubeCurrent",
    "Exposure",
    "ConvolutionKernel",
    "ReconstructionDiameter",
    "SliceThickness",
    "SpacingBetweenSlices",
    "PhotometricInterpretation",
    "BitsAllocated",
    "BitsStored",
    "PixelRepresentation",
    "RescaleType",
    "BodyPartExamined",
    "PatientPosition",
    "ContrastBolusAgent",
    "MagneticFieldStrength",
    "RepetitionTime",
    "EchoTime",
    "FlipAngle",
    "ScanningSequence",
    "SequenceName",
    "ImageType",
    "LossyImageCompression",
)

_PIXEL_TAGS_LE = (b"\xe0\x7f\x10\x00", b"\xe0\x7f\x08\x00", b"\xe0\x7f\x09\x00")
_PIXEL_TAGS_BE = (b"\x7f\xe0\x00\x10", b"\x7f\xe0\x00\x08", b"\x7f\xe0\x00\x09")
_LONG_VRS = {b"OB", b"OW", b"OF", b"OD", b"OL", b"OV", b"UN", b"SQ", b"UT", b"UC", b"UR"}


@dataclass(frozen=True, slots=True)
class FrameHeader:
    """Everything about one 2-D image that is known without decoding pixels.

    Positions and orientations are in DICOM patient coordinates (LPS, mm).
    """

    path: str
    frame_index: int
    n_frames_in_file: int
    sop_instance_uid: str
    series_instance_uid: str
    study_instance_uid: str
    frame_of_reference_uid: str
    modality: str
    series_number: int | None
    series_description: str
    instance_number: int | None
    acquisition_number: str
    echo_numbers: str
    image_type: tuple[str, ...]
    temporal_position: str
    rows: int
    columns: int
    samples_per_pixel: int
    bits_allocated: int
    bits_stored: int
    pixel_representation: int
    photometric_interpretation: str
    transfer_syntax_uid: str
    position: tuple[float, ...] | None  # ImagePositionPatient (3 values)
    orientation: tuple[float, ...] | None  # ImageOrientationPatient (6 values)
    pixel_spacing: tuple[float, ...] | None  # PixelSpacing (row spacing, column spacing)
    slice_thickness: float | None
    rescale_slope: float
    rescale_intercept: float
    window_centers: tuple[float, ...] = ()
    window_widths: tuple[float, ...] = ()
    window_explanations: tuple[str, ...] = ()
    # Byte offset of the pixel data *value* in the file and its length (None: undefined
    # length, i.e. encapsulated). pixel_offset None: the bytes cannot be located
    # directly (deflated transfer syntax); the generic pydicom path is used.
    pixel_offset: int | None = None
    pixel_length: int | None = None
    pixel_problem: str | None = None
    enhanced: bool = False
    lossy: bool = False  # LossyImageCompression "01"

    @property
    def folder(self) -> str:
        """The folder holding the file."""
        return os.path.dirname(self.path)

    @property
    def is_localizer(self) -> bool:
        """ImageType says LOCALIZER (scout / topogram / survey)."""
        return "LOCALIZER" in self.image_type

    @property
    def is_mosaic(self) -> bool:
        """Siemens mosaic: several slices tiled in one image."""
        return "MOSAIC" in self.image_type

    @property
    def frame_bytes(self) -> int:
        """Bytes of one uncompressed frame."""
        return self.rows * self.columns * self.samples_per_pixel * (self.bits_allocated // 8)


@dataclass(frozen=True, slots=True)
class FileRead:
    """Result of reading one file's header: frames, or the reason it was skipped."""

    frames: tuple[FrameHeader, ...] = ()
    skip_reason: str | None = None
    is_dicomdir: bool = False


# --- tolerant value access -------------------------------------------------------------
# Value representations that are plain ASCII text: read straight from the raw bytes,
# which is several times faster than pydicom's conversion (discovery reads ~30 values
# per file). Other VRs (person names, descriptions, sequences, binary) go through pydicom.
_ASCII_VRS = frozenset({"UI", "CS", "IS", "DS", "AS", "DA", "TM", "DT"})


@functools.lru_cache(maxsize=512)
def _tag_vr(keyword: str) -> tuple[int, str] | None:
    tag = tag_for_keyword(keyword)
    if tag is None:
        return None
    try:
        return int(tag), str(dictionary_VR(tag))
    except KeyError:
        return None


def _get(ds: Dataset | None, keyword: str, *, fast: bool = True) -> Any:
    """Value of ``keyword`` or None; ASCII VRs come back as text (multi-values joined by \\)."""
    if ds is None:
        return None
    try:
        tag_vr = _tag_vr(keyword) if fast else None
        if tag_vr is not None and tag_vr[1] in _ASCII_VRS:
            elem = ds.get_item(tag_vr[0])
            if elem is None:
                return None
            raw = elem.value
            if raw is None:
                return None
            if isinstance(raw, bytes | bytearray):
                return raw.decode("latin-1").strip(" \x00")
            if isinstance(raw, list | tuple | pydicom.multival.MultiValue):
                return "\\".join(str(v) for v in raw)
            return str(raw)
        return ds.get(keyword)
    except Exception:  # a malformed value must not stop the read; it reads as missing
        return None


def _str(ds: Dataset | None, keyword: str) -> str:
    value = _get(ds, keyword)
    if value is None:
        return ""
    if isinstance(value, list | tuple | pydicom.multival.MultiValue):
        return "\\".join(str(v) for v in value)
    return str(value).strip()


def _int(ds: Dataset | None, keyword: str) -> int | None:
    value = _get(ds, keyword)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return None


def _values(value: Any) -> list[Any]:
    if isinstance(value, str):
        return value.split("\\")
    if isinstance(value, list | tuple | pydicom.multival.MultiValue):
        return list(value)
    return [value]


def _floats(value: Any, n: int) -> tuple[float, ...] | None:
    if value is None:
        return None
    try:
        out = tuple(float(v) for v in _values(value))
    except (TypeError, ValueError):
        return None
    if len(out) != n or not all(math.isfinite(v) for v in out):
        return None
    return out


def _float_list(value: Any) -> tuple[float, ...]:
    if value is None:
        return ()
    out: list[float] = []
    for v in _values(value):
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(f):
            out.append(f)
    return tuple(out)


def _float(value: Any, default: float | None) -> float | None:
    vals = _floats(value, 1)
    return vals[0] if vals else default


def _first_item(ds: Dataset | None, keyword: str) -> Dataset | None:
    if ds is None:
        return None
    seq = _get(ds, keyword)
    if not seq:
        return None
    try:
        item = seq[0]
    except (IndexError, TypeError):
        return None
    return item if isinstance(item, Dataset) else None


def _metadata(ds: Dataset) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    for kw in METADATA_KEYWORDS:
        value = _get(ds, kw, fast=False)
        if value is None or value == "":
            continue
        if isinstance(value, pydicom.multival.MultiValue | list | tuple):
            meta[kw] = [_plain(v) for v in value]
        else:
            meta[kw] = _plain(value)
    return meta


def read_metadata(path: str) -> dict[str, Any]:
    """The non-identifying `METADATA_KEYWORDS` of one file (header only; {} if unreadable)."""
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
    except Exception:  # metadata is informative only; a damaged header gives none
        return {}
    return _metadata(ds)


def _plain(value: Any) -> Any:
    """JSON-friendly copy of a header value (DS -> float, IS -> int, others -> str)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, pydicom.valuerep.DSdecimal):
        return float(value)
    return str(value)


# --- pixel data location ---------------------------------------------------------------
def _locate_pixels(
    fp: Any, pos: int, size: int, little: bool, implicit: bool
) -> tuple[int | None, int | None, bool]:
    """Return (value offset, value length or None if undefined, present)."""
    fp.seek(pos)
    head = fp.read(12)
    tags = _PIXEL_TAGS_LE if little else _PIXEL_TAGS_BE
    if len(head) < 8 or head[:4] not in tags:
        return None, None, False
    order: Literal["little", "big"] = "little" if little else "big"
    if implicit:
        length = int.from_bytes(head[4:8], order)
        offset = pos + 8
    elif head[4:6] in _LONG_VRS:
        length = int.from_bytes(head[8:12], order)
        offset = pos + 12
    else:
        length = int.from_bytes(head[6:8], order)
        offset = pos + 8
    if length == 0xFFFFFFFF:
        return offset, None, True
    return offset, length, True


# --- reading ---------------------------------------------------------------------------
def _looks_like_raw_dicom(first: bytes) -> bool:
    """A file without preamble usually starts with a group 0002 or 0008 element."""
    return len(first) >= 4 and first[:2] in (b"\x02\x00", b"\x08\x00", b"\x00\x02", b"\x00\x08")


def read_file(path: str) -> FileRead:
    """Read one file's header (stop before pixels) into frame records.

    Never raises for bad input: a non-DICOM, non-image or unreadable file comes back
    with ``skip_reason`` set.
    """
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as fp:
            first = fp.read(132)
            fp.seek(0)
            # pydicom warns about many harmless deviations of real files; what matters
            # for loading is reported through SeriesInfo.status/reasons instead.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    ds = pydicom.dcmread(fp, stop_before_pixels=True)
                except InvalidDicomError:
                    if first[128:132] == b"DICM" or not _looks_like_raw_dicom(first):
                        return FileRead(skip_reason="not a DICOM file")
                    fp.seek(0)
                    ds = pydicom.dcmread(fp, stop_before_pixels=True, force=True)
            pos = fp.tell()
            tsuid = UID(str(getattr(ds.file_meta, "TransferSyntaxUID", "") or ""))
            sop_class = _str(ds.file_meta, "MediaStorageSOPClassUID") or _str(ds, "SOPClassUID")
            if sop_class == DICOMDIR_SOP_CLASS or "DirectoryRecordSequence" in ds:
                return FileRead(skip_reason="DICOMDIR (directory index)", is_dicomdir=True)
            if not tsuid:
                tsuid = UID("1.2.840.10008.1.2.1" if not ds.is_implicit_VR else "1.2.840.10008.1.2")
            little = ds.is_little_endian if ds.is_little_endian is not None else True
            implicit = bool(ds.is_implicit_VR)
            if tsuid == "1.2.840.10008.1.2.1.99":  # deflated: offsets are in the inflated stream
                offset, length, present = None, None, "Rows" in ds
            else:
                offset, length, present = _locate_pixels(fp, pos, size, little, implicit)
    except (OSError, EOFError, ValueError, KeyError, TypeError, IndexError) as err:
        return FileRead(skip_reason=f"unreadable DICOM ({type(err).__name__})")
    except Exception as err:  # pydicom raises many types on damaged files; report, never crash
        return FileRead(skip_reason=f"unreadable DICOM ({type(err).__name__})")

    if not present:
        name = UID(sop_class).name if sop_class else "unknown SOP class"
        if _get(ds, "SOPClassUID") is None and _get(ds, "Modality") is None:
            return FileRead(skip_reason="not a DICOM file")
        if "Image Storage" in name:
            return FileRead(skip_reason=f"image without pixel data ({name})")
        return FileRead(skip_reason=f"non-image object ({name})")
    if _get(ds, "Rows") is None or _get(ds, "Columns") is None:
        return FileRead(skip_reason="image without Rows/Columns (unreadable DICOM)")

    problem: str | None = None
    try:
        frames = _frames_of(ds, path, str(tsuid), offset, length)
    except Exception as err:  # damaged attribute values: report the file, never crash
        return FileRead(skip_reason=f"unreadable DICOM header ({type(err).__name__})")
    if offset is not None and length is not None and frames:
        expected = frames[0].frame_bytes * frames[0].n_frames_in_file
        available = max(0, size - offset)
        if length < expected:
            problem = f"pixel data too short ({length} of {expected} bytes)"
        elif available < expected:
            problem = f"file truncated ({available} of {expected} pixel bytes present)"
    elif offset is not None and length is None and size - offset < 16:
        problem = "file truncated (no compressed pixel data)"
    if problem is not None:
        frames = [_with_problem(f, problem) for f in frames]
    return FileRead(frames=tuple(frames))


def _with_problem(frame: FrameHeader, problem: str) -> FrameHeader:
    from dataclasses import replace

    return replace(frame, pixel_problem=problem)


def _frames_of(
    ds: Dataset, path: str, tsuid: str, offset: int | None, length: int | None
) -> list[FrameHeader]:
    n_frames = _int(ds, "NumberOfFrames") or 1
    image_type = tuple(s.strip().upper() for s in _str(ds, "ImageType").split("\\") if s.strip())
    common: dict[str, Any] = dict(
        path=path,
        n_frames_in_file=n_frames,
        series_instance_uid=_str(ds, "SeriesInstanceUID"),
        study_instance_uid=_str(ds, "StudyInstanceUID"),
        frame_of_reference_uid=_str(ds, "FrameOfReferenceUID"),
        modality=_str(ds, "Modality"),
        series_number=_int(ds, "SeriesNumber"),
        series_description=_str(ds, "SeriesDescription"),
        instance_number=_int(ds, "InstanceNumber"),
        rows=int(ds.Rows),
        columns=int(ds.Columns),
        samples_per_pixel=_int(ds, "SamplesPerPixel") or 1,
        bits_allocated=_int(ds, "BitsAllocated") or 16,
        bits_stored=_int(ds, "BitsStored") or (_int(ds, "BitsAllocated") or 16),
        pixel_representation=_int(ds, "PixelRepresentation") or 0,
        photometric_interpretation=_str(ds, "PhotometricInterpretation") or "MONOCHROME2",
        transfer_syntax_uid=tsuid,
        pixel_offset=offset,
        pixel_length=length,
    )
    lossy = _str(ds, "LossyImageCompression") == "01"
    sop = _str(ds, "SOPInstanceUID")
    base_pos = _floats(_get(ds, "ImagePositionPatient"), 3)
    base_ori = _floats(_get(ds, "ImageOrientationPatient"), 6)
    base_spacing = _floats(_get(ds, "PixelSpacing"), 2)
    base_thick = _float(_get(ds, "SliceThickness"), None)
    base_slope = _float(_get(ds, "RescaleSlope"), 1.0) or 1.0
    base_icpt = _float(_get(ds, "RescaleIntercept"), 0.0) or 0.0
    if _get(ds, "DoseGridScaling") is not None:
        base_slope = _float(_get(ds, "DoseGridScaling"), 1.0) or 1.0
    base_wc = _float_list(_get(ds, "WindowCenter"))
    base_ww = _float_list(_get(ds, "WindowWidth"))
    base_we = tuple(s for s in _str(ds, "WindowCenterWidthExplanation").split("\\") if s)
    acq = _str(ds, "AcquisitionNumber")
    echo = _str(ds, "EchoNumbers")
    temporal = _str(ds, "TemporalPositionIdentifier")

    per_frame = _get(ds, "PerFrameFunctionalGroupsSequence")
    if per_frame is not None or _get(ds, "SharedFunctionalGroupsSequence") is not None:
        shared = _first_item(ds, "SharedFunctionalGroupsSequence")
        frames: list[FrameHeader] = []
        for f in range(n_frames):
            pf = per_frame[f] if per_frame is not None and f < len(per_frame) else None

            def grp(keyword: str, pf: Dataset | None = pf) -> Dataset | None:
                return _first_item(pf, keyword) or _first_item(shared, keyword)

            pos_item = grp("PlanePositionSequence")
            ori_item = grp("PlaneOrientationSequence")
            meas = grp("PixelMeasuresSequence")
            pvt = grp("PixelValueTransformationSequence")
            voi = grp("FrameVOILUTSequence")
            content = grp("FrameContentSequence")
            ftype_item = (
                grp("CTImageFrameTypeSequence")
                or grp("MRImageFrameTypeSequence")
                or grp("PETFrameTypeSequence")
            )
            echo_item = grp("MREchoSequence")
            ftype = image_type
            if ftype_item is not None and _str(ftype_item, "FrameType"):
                ftype = tuple(
                    s.strip().upper() for s in _str(ftype_item, "FrameType").split("\\") if s
                )
            frames.append(
                FrameHeader(
                    frame_index=f,
                    sop_instance_uid=sop,
                    acquisition_number=acq,
                    echo_numbers=_str(echo_item, "EffectiveEchoTime") if echo_item else echo,
                    image_type=ftype,
                    temporal_position=(
                        _str(content, "TemporalPositionIndex") if content else temporal
                    ),
                    position=_floats(_get(pos_item, "ImagePositionPatient"), 3)
                    if pos_item is not None
                    else None,
                    orientation=_floats(_get(ori_item, "ImageOrientationPatient"), 6)
                    if ori_item is not None
                    else base_ori,
                    pixel_spacing=_floats(_get(meas, "PixelSpacing"), 2)
                    if meas is not None
                    else base_spacing,
                    slice_thickness=_float(_get(meas, "SliceThickness"), base_thick)
                    if meas is not None
                    else base_thick,
                    rescale_slope=(_float(_get(pvt, "RescaleSlope"), 1.0) or 1.0)
                    if pvt is not None
                    else base_slope,
                    rescale_intercept=(_float(_get(pvt, "RescaleIntercept"), 0.0) or 0.0)
                    if pvt is not None
                    else base_icpt,
                    window_centers=_float_list(_get(voi, "WindowCenter")) if voi else base_wc,
                    window_widths=_float_list(_get(voi, "WindowWidth")) if voi else base_ww,
                    window_explanations=tuple(
                        s for s in _str(voi, "WindowCenterWidthExplanation").split("\\") if s
                    )
                    if voi
                    else base_we,
                    enhanced=True,
                    lossy=lossy,
                    **common,
                )
            )
        return frames

    positions: list[tuple[float, ...] | None] = [base_pos] * n_frames
    offsets = _float_list(_get(ds, "GridFrameOffsetVector"))
    if n_frames > 1:
        positions = [None] * n_frames
        if base_pos is not None and base_ori is not None and len(offsets) == n_frames:
            # RT Dose style: offsets along the normal of the image plane
            r, c = base_ori[:3], base_ori[3:]
            n = (
                r[1] * c[2] - r[2] * c[1],
                r[2] * c[0] - r[0] * c[2],
                r[0] * c[1] - r[1] * c[0],
            )
            positions = [
                (base_pos[0] + g * n[0], base_pos[1] + g * n[1], base_pos[2] + g * n[2])
                for g in offsets
            ]
    return [
        FrameHeader(
            frame_index=f,
            sop_instance_uid=sop,
            acquisition_number=acq,
            echo_numbers=echo,
            image_type=image_type,
            temporal_position=temporal,
            position=positions[f],
            orientation=base_ori,
            pixel_spacing=base_spacing,
            slice_thickness=base_thick,
            rescale_slope=base_slope,
            rescale_intercept=base_icpt,
            window_centers=base_wc,
            window_widths=base_ww,
            window_explanations=base_we,
            lossy=lossy,
            **common,
        )
        for f in range(n_frames)
    ]
