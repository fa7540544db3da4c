"""Header-only reading of DICOM files into per-frame records (no pixel decoding).

One `FrameHeader` is made per 2-D image: one per single-frame file, one per frame of an
(enhanced) multi-frame file. It carries everything grouping, geometry and the pixel
reader need, including where the pixel bytes start in the file, so loading a series
reads headers once (here) and pixel bytes once (`blockplan.io._pixels`).
"""

from __future__ import annotations

import functools
import io
import math
import os
import warnings
from collections.abc import Callable, MutableSequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from blockplan.io._codestream import head_tail_problem, walk_fragments
from blockplan.io._rawheader import RawHeader, metadata, scan
from blockplan.io.limits import (
    claimed_size_problem,
    inflated_size_problem,
    mode_reason,
    pixel_length_problem,
)

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

__all__ = ["METADATA_KEYWORDS", "FileRead", "FrameHeader", "read_file", "read_metadata"]

DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"
_DEFLATED_UID = b"1.2.840.10008.1.2.1.99"

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

# Pixel Data only: Float / Double Float Pixel Data (parametric maps) would be read as
# integers, so such files count as having no pixel data (skipped with the reason).
_PIXEL_TAGS_LE = (b"\xe0\x7f\x10\x00",)
_PIXEL_TAGS_BE = (b"\x7f\xe0\x00\x10",)
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
    from pydicom.datadict import dictionary_VR, tag_for_keyword

    tag = tag_for_keyword(keyword)
    if tag is None:
        return None
    try:
        return int(tag), str(dictionary_VR(tag))
    except KeyError:
        return None


def _is_multi(value: Any) -> bool:
    """A multi-valued element's value (list, tuple or pydicom's MultiValue / Sequence)."""
    return isinstance(value, list | tuple | MutableSequence) and not isinstance(value, bytearray)


def _get(ds: Dataset | RawHeader | None, keyword: str, *, fast: bool = True) -> Any:
    """Value of ``keyword`` or None; ASCII VRs come back as text (multi-values joined by \\)."""
    if ds is None:
        return None
    if isinstance(ds, RawHeader):
        return ds.get(keyword)
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
            if _is_multi(raw):
                return "\\".join(str(v) for v in raw)
            return str(raw)
        return ds.get(keyword)
    except Exception:  # a malformed value must not stop the read; it reads as missing
        return None


def _str(ds: Dataset | RawHeader | None, keyword: str) -> str:
    value = _get(ds, keyword)
    if value is None:
        return ""
    if _is_multi(value):
        return "\\".join(str(v) for v in value)
    return str(value).strip()


def _int(ds: Dataset | RawHeader | None, keyword: str) -> int | None:
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
    if _is_multi(value):
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


def _first_item(ds: Dataset | RawHeader | None, keyword: str) -> Dataset | None:
    if ds is None:
        return None
    seq = _get(ds, keyword)
    if not seq:
        return None
    try:
        item = seq[0]
    except (IndexError, TypeError):
        return None
    from pydicom.dataset import Dataset

    return item if isinstance(item, Dataset) else None


def _metadata(ds: Dataset) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    for kw in METADATA_KEYWORDS:
        value = _get(ds, kw, fast=False)
        if value is None or value == "":
            continue
        if _is_multi(value):
            meta[kw] = [_plain(v) for v in value]
        else:
            meta[kw] = _plain(value)
    return meta


def read_metadata(path: str) -> dict[str, Any]:
    """The non-identifying `METADATA_KEYWORDS` of one file (header only; {} if unreadable)."""
    try:
        st = os.stat(path)
    except OSError:
        return {}
    if mode_reason(st.st_mode) is not None:  # never open a FIFO
        return {}
    raw = _read_raw(path, st.st_size)
    found = metadata(raw) if raw is not None else None
    if found is not None:
        return found
    import pydicom

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
    if isinstance(value, Decimal):  # pydicom's DSdecimal
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
    with ``skip_reason`` set. The header is read from its bytes
    (`blockplan.io._rawheader`) when the file is encoded as most are, else by pydicom.
    """
    try:
        st = os.stat(path)
    except OSError as err:
        return FileRead(skip_reason=f"cannot be read ({type(err).__name__})")
    not_regular = mode_reason(st.st_mode)  # a FIFO must never be opened: it blocks
    if not_regular is not None:
        return FileRead(skip_reason=not_regular)
    raw = _read_raw(path, st.st_size)
    if raw is None:
        return _read_pydicom(path, st.st_size)
    whole = raw.data if raw.complete else None
    return _image_read(
        raw, path, raw.transfer_syntax_uid, st.st_size, raw.pixel_offset, raw.pixel_length, whole
    )


def _read_raw(path: str, size: int) -> RawHeader | None:
    """The header read from the file's bytes, or None (pydicom must read it)."""
    try:
        with open(path, "rb", buffering=0) as fp:
            return scan(fp.read, size)
    except OSError:  # the pydicom path reports it
        return None


def _read_pydicom(path: str, size: int) -> FileRead:
    """`read_file` by pydicom: any encoding, damaged files, DICOMDIR, non-images."""
    import pydicom
    from pydicom.errors import InvalidDicomError
    from pydicom.uid import UID

    try:
        with open(path, "rb") as fp:
            first = fp.read(1024)
            if _DEFLATED_UID in first:
                too_big = inflated_size_problem(fp)
                if too_big is not None:
                    return FileRead(skip_reason=too_big)
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
        return FileRead(skip_reason=_no_pixels_reason(ds, sop_class))
    return _image_read(ds, path, str(tsuid), size, offset, length, None)


def _image_read(
    ds: Dataset | RawHeader,
    path: str,
    tsuid: str,
    size: int,
    offset: int | None,
    length: int | None,
    whole: bytes | None,
) -> FileRead:
    """Frame records of an image file whose header is read (``whole``: the file's bytes
    when they are in memory already)."""
    if _get(ds, "Rows") is None or _get(ds, "Columns") is None:
        return FileRead(skip_reason="image without Rows/Columns (unreadable DICOM)")
    try:
        skip, problem = _pixel_checks(ds, path, tsuid, size, offset, length, whole)
        if skip is not None:
            return FileRead(skip_reason=skip)
        frames = _frames_of(ds, path, tsuid, offset, length)
    except Exception as err:  # damaged attribute values: report the file, never crash
        return FileRead(skip_reason=f"unreadable DICOM header ({type(err).__name__})")
    if problem is not None:
        frames = [_with_problem(f, problem) for f in frames]
    return FileRead(frames=tuple(frames))


def _no_pixels_reason(ds: Dataset, sop_class: str) -> str:
    """Why a file without Pixel Data is skipped: not DICOM, an image without pixels, or
    a non-image object (SR, PDF, presentation state, …)."""
    from pydicom.uid import UID

    name = UID(sop_class).name if sop_class else "unknown SOP class"
    if _get(ds, "SOPClassUID") is None and _get(ds, "Modality") is None:
        return "not a DICOM file"
    if "Image Storage" in name:
        return f"image without pixel data ({name})"
    return f"non-image object ({name})"


def _pixel_checks(
    ds: Dataset | RawHeader,
    path: str,
    tsuid: str,
    size: int,
    offset: int | None,
    length: int | None,
    whole: bytes | None = None,
) -> tuple[str | None, str | None]:
    """(reason to skip the file, problem of its pixels) from the sizes its header claims.

    Before a frame record is made (a header may claim 10⁸ frames): the claimed size is
    checked against the ceiling (`claimed_size_problem`), native pixel bytes against
    the bytes present, encapsulated data for its item structure, one fragment per frame
    and (single frame) the codestream's end marker and declared size. A multi-frame
    file that fails is skipped whole; a single image is kept with its problem, so the
    series names it.
    """
    rows, cols = int(_get(ds, "Rows")), int(_get(ds, "Columns"))
    n_frames = max(1, _int(ds, "NumberOfFrames") or 1)
    samples = _int(ds, "SamplesPerPixel") or 1
    bytes_per_sample = (_int(ds, "BitsAllocated") or 16) // 8
    too_big = claimed_size_problem(
        rows, cols, n_frames, samples * max(1, bytes_per_sample), what="its images"
    )
    if too_big is not None:
        return f"refused: {too_big}", None
    if offset is None:  # deflated: checked when inflated
        return None, None
    if length is not None:
        expected = rows * cols * samples * bytes_per_sample * n_frames
        available = max(0, size - offset)
        problem = pixel_length_problem(length, rows, cols, n_frames, samples * bytes_per_sample)
        if problem is None and available < expected:
            problem = f"file truncated ({available} of {expected} pixel bytes present)"
    else:
        shape = (rows, cols, samples, bytes_per_sample)
        problem = _encapsulated_problem(path, tsuid, size, offset, n_frames, shape, whole)
    if problem is not None and n_frames > 1:
        return f"{problem}; NumberOfFrames {n_frames}: none of its frames can be trusted", None
    return None, problem


def _encapsulated_problem(
    path: str,
    tsuid: str,
    size: int,
    offset: int,
    n_frames: int,
    shape: tuple[int, int, int, int],
    whole: bytes | None = None,
) -> str | None:
    """Item structure, fragments per frame and (single frame) the codestream's ends
    (read from ``whole``, the file's bytes, when given)."""
    # a few 8-byte reads: no 8 KiB buffer fills
    with io.BytesIO(whole) if whole is not None else open(path, "rb", buffering=0) as fp:
        fragments, problem = walk_fragments(fp, offset, size)
        if problem is not None:
            return problem
        if len(fragments) < n_frames:
            return (
                f"NumberOfFrames {n_frames} but only {len(fragments)} fragment(s) of "
                "compressed pixel data present"
            )
        if n_frames > 1 or not fragments:
            return None
        total = sum(n for _, n in fragments)
        start, first = fragments[0]
        fp.seek(start)
        head = fp.read(min(first, 4096))
        last_start, last = fragments[-1]
        tail = b""
        if total > len(head):
            fp.seek(last_start + max(0, last - 16))
            tail = fp.read(min(last, 16))
    return head_tail_problem(tsuid, head, tail, total, shape)


def _with_problem(frame: FrameHeader, problem: str) -> FrameHeader:
    from dataclasses import replace

    return replace(frame, pixel_problem=problem)


def _frames_of(
    ds: Dataset | RawHeader, path: str, tsuid: str, offset: int | None, length: int | None
) -> list[FrameHeader]:
    """One `FrameHeader` per frame of the file.

    An enhanced file (functional groups present) takes each frame's values from its
    groups; any other file gives every frame its own attributes (`_classic_positions`
    places the frames of a multi-frame one).
    """
    n_frames = max(1, _int(ds, "NumberOfFrames") or 1)
    image_type = _image_type(_str(ds, "ImageType"))
    common = _file_fields(ds, path, tsuid, offset, length, n_frames)
    base = _frame_defaults(ds, image_type)
    base_pos = _floats(_get(ds, "ImagePositionPatient"), 3)
    per_frame = _get(ds, "PerFrameFunctionalGroupsSequence")
    if per_frame is not None or _get(ds, "SharedFunctionalGroupsSequence") is not None:
        shared = _first_item(ds, "SharedFunctionalGroupsSequence")
        frames: list[FrameHeader] = []
        for f in range(n_frames):
            pf = per_frame[f] if per_frame is not None and f < len(per_frame) else None
            frames.append(_enhanced_frame(f, pf, shared, base, common))
        return frames
    offsets = _float_list(_get(ds, "GridFrameOffsetVector"))
    positions = _classic_positions(base_pos, base["orientation"], offsets, n_frames)
    return [
        FrameHeader(frame_index=f, position=positions[f], **base, **common) for f in range(n_frames)
    ]


def _image_type(text: str) -> tuple[str, ...]:
    """ImageType values, upper case, blank values dropped."""
    return tuple(s.strip().upper() for s in text.split("\\") if s.strip())


def _file_fields(
    ds: Dataset | RawHeader,
    path: str,
    tsuid: str,
    offset: int | None,
    length: int | None,
    n_frames: int,
) -> dict[str, Any]:
    """The `FrameHeader` fields every frame of one file shares (identity, pixel format)."""
    return dict(
        path=path,
        n_frames_in_file=n_frames,
        series_instance_uid=_str(ds, "SeriesInstanceUID"),
        study_instance_uid=_str(ds, "StudyInstanceUID"),
        frame_of_reference_uid=_str(ds, "FrameOfReferenceUID"),
        modality=_str(ds, "Modality"),
        series_number=_int(ds, "SeriesNumber"),
        series_description=_str(ds, "SeriesDescription"),
        instance_number=_int(ds, "InstanceNumber"),
        rows=int(_get(ds, "Rows")),
        columns=int(_get(ds, "Columns")),
        samples_per_pixel=_int(ds, "SamplesPerPixel") or 1,
        bits_allocated=_int(ds, "BitsAllocated") or 16,
        bits_stored=_int(ds, "BitsStored") or (_int(ds, "BitsAllocated") or 16),
        pixel_representation=_int(ds, "PixelRepresentation") or 0,
        photometric_interpretation=_str(ds, "PhotometricInterpretation") or "MONOCHROME2",
        transfer_syntax_uid=tsuid,
        pixel_offset=offset,
        pixel_length=length,
    )


def _rescale_slope(ds: Dataset | RawHeader) -> float:
    """RescaleSlope (1.0 when absent or 0); an RT Dose's DoseGridScaling takes its place."""
    if _get(ds, "DoseGridScaling") is not None:
        return _float(_get(ds, "DoseGridScaling"), 1.0) or 1.0
    return _float(_get(ds, "RescaleSlope"), 1.0) or 1.0


def _rescale_problem(item: Dataset | RawHeader | None, inherited: str | None = None) -> str | None:
    """Why this item's rescale values cannot be used (present but not a finite number),
    else ``inherited``. A NaN or infinite slope must never read as 1.0."""
    for kw in ("RescaleSlope", "RescaleIntercept", "DoseGridScaling"):
        raw = _get(item, kw)
        if raw is None or str(raw).strip() == "":
            continue
        if _floats(raw, 1) is None:
            return (
                f"{kw} is {str(raw).strip()[:24]!r}, not a finite number: the image's "
                "values cannot be computed"
            )
    return inherited


def _frame_defaults(ds: Dataset | RawHeader, image_type: tuple[str, ...]) -> dict[str, Any]:
    """Per-frame `FrameHeader` fields as the file's own attributes give them (no position).

    They hold for every frame of a classic file and for each frame of an enhanced file
    whose functional groups do not say otherwise.
    """
    return dict(
        sop_instance_uid=_str(ds, "SOPInstanceUID"),
        acquisition_number=_str(ds, "AcquisitionNumber"),
        echo_numbers=_str(ds, "EchoNumbers"),
        image_type=image_type,
        temporal_position=_str(ds, "TemporalPositionIdentifier"),
        orientation=_floats(_get(ds, "ImageOrientationPatient"), 6),
        pixel_spacing=_floats(_get(ds, "PixelSpacing"), 2),
        slice_thickness=_float(_get(ds, "SliceThickness"), None),
        rescale_slope=_rescale_slope(ds),
        rescale_intercept=_float(_get(ds, "RescaleIntercept"), 0.0) or 0.0,
        window_centers=_float_list(_get(ds, "WindowCenter")),
        window_widths=_float_list(_get(ds, "WindowWidth")),
        window_explanations=_explanations(ds),
        lossy=_str(ds, "LossyImageCompression") == "01",
        pixel_problem=_rescale_problem(ds),
    )


def _explanations(ds: Dataset | RawHeader | None) -> tuple[str, ...]:
    """WindowCenterWidthExplanation values, blank values dropped."""
    return tuple(s for s in _str(ds, "WindowCenterWidthExplanation").split("\\") if s)


def _classic_positions(
    base_pos: tuple[float, ...] | None,
    base_ori: tuple[float, ...] | None,
    offsets: tuple[float, ...],
    n_frames: int,
) -> list[tuple[float, ...] | None]:
    """ImagePositionPatient of each frame of a file without functional groups.

    A single frame is at the file's ImagePositionPatient. Several frames have positions
    only when GridFrameOffsetVector gives one offset per frame (RT Dose style: offsets
    along the normal of the image plane from ImagePositionPatient); otherwise none.
    """
    if n_frames <= 1:
        return [base_pos] * n_frames
    if base_pos is None or base_ori is None or len(offsets) != n_frames:
        return [None] * n_frames
    r, c = base_ori[:3], base_ori[3:]
    n = (
        r[1] * c[2] - r[2] * c[1],
        r[2] * c[0] - r[0] * c[2],
        r[0] * c[1] - r[1] * c[0],
    )
    return [
        (base_pos[0] + g * n[0], base_pos[1] + g * n[1], base_pos[2] + g * n[2]) for g in offsets
    ]


_Group = Callable[[str], "Dataset | None"]


def _enhanced_frame(
    f: int,
    pf: Dataset | None,
    shared: Dataset | None,
    base: dict[str, Any],
    common: dict[str, Any],
) -> FrameHeader:
    """Frame ``f`` of an enhanced file: its functional groups (per-frame item ``pf``
    first, then the shared one) override the file's own values ``base``."""

    def grp(keyword: str) -> Dataset | None:
        return _first_item(pf, keyword) or _first_item(shared, keyword)

    fields = {
        **base,
        **_frame_plane(grp, base),
        **_frame_kind(grp, base),
        **_frame_pixel_values(grp, base),
    }
    return FrameHeader(frame_index=f, enhanced=True, **fields, **common)


def _frame_plane(grp: _Group, base: dict[str, Any]) -> dict[str, Any]:
    """Position (None without a PlanePositionSequence), orientation, spacing, thickness."""
    pos_item = grp("PlanePositionSequence")
    ori_item = grp("PlaneOrientationSequence")
    meas = grp("PixelMeasuresSequence")
    return dict(
        position=_floats(_get(pos_item, "ImagePositionPatient"), 3)
        if pos_item is not None
        else None,
        orientation=_floats(_get(ori_item, "ImageOrientationPatient"), 6)
        if ori_item is not None
        else base["orientation"],
        pixel_spacing=_floats(_get(meas, "PixelSpacing"), 2)
        if meas is not None
        else base["pixel_spacing"],
        slice_thickness=_float(_get(meas, "SliceThickness"), base["slice_thickness"])
        if meas is not None
        else base["slice_thickness"],
    )


def _frame_kind(grp: _Group, base: dict[str, Any]) -> dict[str, Any]:
    """FrameType (replacing ImageType), effective echo time and temporal position index."""
    content = grp("FrameContentSequence")
    ftype_item = (
        grp("CTImageFrameTypeSequence")
        or grp("MRImageFrameTypeSequence")
        or grp("PETFrameTypeSequence")
    )
    echo_item = grp("MREchoSequence")
    ftype = base["image_type"]
    if ftype_item is not None and _str(ftype_item, "FrameType"):
        # unlike ImageType, a blank FrameType value is kept (as an empty string)
        ftype = tuple(s.strip().upper() for s in _str(ftype_item, "FrameType").split("\\") if s)
    return dict(
        image_type=ftype,
        echo_numbers=_str(echo_item, "EffectiveEchoTime") if echo_item else base["echo_numbers"],
        temporal_position=(
            _str(content, "TemporalPositionIndex") if content else base["temporal_position"]
        ),
    )


def _frame_pixel_values(grp: _Group, base: dict[str, Any]) -> dict[str, Any]:
    """Rescale slope/intercept and display windows of one enhanced frame."""
    pvt = grp("PixelValueTransformationSequence")
    voi = grp("FrameVOILUTSequence")
    return dict(
        rescale_slope=(_float(_get(pvt, "RescaleSlope"), 1.0) or 1.0)
        if pvt is not None
        else base["rescale_slope"],
        rescale_intercept=(_float(_get(pvt, "RescaleIntercept"), 0.0) or 0.0)
        if pvt is not None
        else base["rescale_intercept"],
        window_centers=_float_list(_get(voi, "WindowCenter")) if voi else base["window_centers"],
        window_widths=_float_list(_get(voi, "WindowWidth")) if voi else base["window_widths"],
        window_explanations=_explanations(voi) if voi else base["window_explanations"],
        pixel_problem=_rescale_problem(pvt, base.get("pixel_problem")),
    )
