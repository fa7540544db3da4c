"""Header values read straight from a DICOM file's bytes, for the common encodings.

Discovery reads ~36 values from every file. Parsing the whole header with pydicom and
reading them through `Dataset` accessors cost twice a bare ``dcmread`` loop; this
module reads them in one pass over the header bytes (read once, up to the Pixel Data
element), without importing pydicom at all.

pydicom stays the parser of record. `scan` reads only files it reads exactly as
pydicom does — a Part 10 file in explicit or implicit VR little endian or an
encapsulated syntax, known VRs, ascending tags, needed values of the expected VR and
length, text in ASCII, no enhanced functional groups, Pixel Data present — and
returns None for anything else, which `blockplan.io._headers` then reads with
pydicom. Each value is the one `_headers._get` gets from pydicom for the same file
(tests/io/test_raw_headers.py compares them on every sample file and a fuzz corpus).
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["KEYWORDS", "METADATA", "RawHeader", "metadata", "scan"]

CHUNK = 16 * 1024  # first read: the whole header of a typical CT or MR slice
MAX_HEADER = 4 * 1024 * 1024  # larger headers (enhanced, private blobs): pydicom reads them

IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
# Transfer syntaxes whose data set is explicit VR little endian (pixel data encapsulated).
_EXPLICIT_SYNTAXES = frozenset(
    {
        EXPLICIT_LE,
        "1.2.840.10008.1.2.5",  # RLE Lossless
        "1.2.840.10008.1.2.4.50",  # JPEG Baseline
        "1.2.840.10008.1.2.4.51",  # JPEG Extended
        "1.2.840.10008.1.2.4.57",  # JPEG Lossless
        "1.2.840.10008.1.2.4.70",  # JPEG Lossless SV1
        "1.2.840.10008.1.2.4.80",  # JPEG-LS Lossless
        "1.2.840.10008.1.2.4.81",  # JPEG-LS Near-lossless
        "1.2.840.10008.1.2.4.90",  # JPEG 2000 Lossless
        "1.2.840.10008.1.2.4.91",  # JPEG 2000
        "1.2.840.10008.1.2.4.201",  # HTJ2K Lossless
        "1.2.840.10008.1.2.4.202",  # HTJ2K Lossless RPCL
        "1.2.840.10008.1.2.4.203",  # HTJ2K
    }
)
_DICOMDIR_UID = b"1.2.840.10008.1.3.10"

_VR16 = frozenset(b"AE AS AT CS DA DS DT FL FD IS LO LT PN SH SL SS ST TM UI UL US".split())
_VR32 = frozenset(b"OB OD OF OL OV OW SQ SV UC UN UR UT UV".split())
# pydicom's raw value of an empty element: b"" for these VRs, None for the others
_EMPTY_TEXT = frozenset(b"AE AS CS DA DT TM UI UR LO LT PN SH ST UC UT SQ".split())
_ASCII_VRS = frozenset({"UI", "CS", "IS", "DS", "AS", "DA", "TM", "DT"})

_PIXEL_DATA = 0x7FE00010
_STOPS = frozenset({0x7FE00008, 0x7FE00009, _PIXEL_DATA})  # pydicom's stop_before_pixels
_ITEM, _ITEM_END, _SEQ_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_UNDEFINED = 0xFFFFFFFF
_MAX_DEPTH = 8
_TAG = struct.Struct("<HH")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")

# keyword: (tag, VR in the DICOM dictionary) — every value discovery reads from a file
# without functional groups (tests check the table against pydicom's dictionary).
KEYWORDS: dict[str, tuple[int, str]] = {
    "ImageType": (0x00080008, "CS"),
    "SOPClassUID": (0x00080016, "UI"),
    "SOPInstanceUID": (0x00080018, "UI"),
    "Modality": (0x00080060, "CS"),
    "SeriesDescription": (0x0008103E, "LO"),
    "SliceThickness": (0x00180050, "DS"),
    "EchoNumbers": (0x00180086, "IS"),
    "StudyInstanceUID": (0x0020000D, "UI"),
    "SeriesInstanceUID": (0x0020000E, "UI"),
    "SeriesNumber": (0x00200011, "IS"),
    "AcquisitionNumber": (0x00200012, "IS"),
    "InstanceNumber": (0x00200013, "IS"),
    "ImagePositionPatient": (0x00200032, "DS"),
    "ImageOrientationPatient": (0x00200037, "DS"),
    "FrameOfReferenceUID": (0x00200052, "UI"),
    "TemporalPositionIdentifier": (0x00200100, "IS"),
    "SamplesPerPixel": (0x00280002, "US"),
    "PhotometricInterpretation": (0x00280004, "CS"),
    "NumberOfFrames": (0x00280008, "IS"),
    "Rows": (0x00280010, "US"),
    "Columns": (0x00280011, "US"),
    "PixelSpacing": (0x00280030, "DS"),
    "BitsAllocated": (0x00280100, "US"),
    "BitsStored": (0x00280101, "US"),
    "PixelRepresentation": (0x00280103, "US"),
    "WindowCenter": (0x00281050, "DS"),
    "WindowWidth": (0x00281051, "DS"),
    "RescaleIntercept": (0x00281052, "DS"),
    "RescaleSlope": (0x00281053, "DS"),
    "WindowCenterWidthExplanation": (0x00281055, "LO"),
    "LossyImageCompression": (0x00282110, "CS"),
    "GridFrameOffsetVector": (0x3004000C, "DS"),
    "DoseGridScaling": (0x3004000E, "DS"),
}
# keyword: (tag, dictionary VR) of the values copied to ImageVolume.metadata
# (`_headers.METADATA_KEYWORDS`, same order).
METADATA: dict[str, tuple[int, str]] = {
    "SOPClassUID": (0x00080016, "UI"),
    "Manufacturer": (0x00080070, "LO"),
    "ManufacturerModelName": (0x00081090, "LO"),
    "SoftwareVersions": (0x00181020, "LO"),
    "KVP": (0x00180060, "DS"),
    "XRayTubeCurrent": (0x00181151, "IS"),
    "Exposure": (0x00181152, "IS"),
    "ConvolutionKernel": (0x00181210, "SH"),
    "ReconstructionDiameter": (0x00181100, "DS"),
    "SliceThickness": (0x00180050, "DS"),
    "SpacingBetweenSlices": (0x00180088, "DS"),
    "PhotometricInterpretation": (0x00280004, "CS"),
    "BitsAllocated": (0x00280100, "US"),
    "BitsStored": (0x00280101, "US"),
    "PixelRepresentation": (0x00280103, "US"),
    "RescaleType": (0x00281054, "LO"),
    "BodyPartExamined": (0x00180015, "CS"),
    "PatientPosition": (0x00185100, "CS"),
    "ContrastBolusAgent": (0x00180010, "LO"),
    "MagneticFieldStrength": (0x00180087, "DS"),
    "RepetitionTime": (0x00180080, "DS"),
    "EchoTime": (0x00180081, "DS"),
    "FlipAngle": (0x00181314, "DS"),
    "ScanningSequence": (0x00180020, "CS"),
    "SequenceName": (0x00180024, "SH"),
    "ImageType": (0x00080008, "CS"),
    "LossyImageCompression": (0x00282110, "CS"),
}
# Present in a file: pydicom reads it (DICOMDIR, enhanced functional groups, command set).
_FALLBACK_TAGS = frozenset({0x00041220, 0x52009229, 0x52009230})
_NEEDED = frozenset(tag for tag, _ in (*KEYWORDS.values(), *METADATA.values()))
_DS = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_IS = re.compile(r"[+-]?[0-9]{1,10}")


class _Unusual(Exception):
    """The file needs pydicom (an encoding or value this reader does not handle)."""


class _Short(Exception):
    """The header continues past the bytes read."""


@dataclass(frozen=True, slots=True)
class RawHeader:
    """What discovery needs from one file's header, read from its bytes.

    ``values`` holds, per keyword of `KEYWORDS` present in the file, the value
    ``_headers._get`` returns for it from a pydicom data set; ``pixel_offset`` and
    ``pixel_length`` locate the Pixel Data value (length None: encapsulated);
    ``data`` is the bytes read (the whole file when ``complete``).
    """

    transfer_syntax_uid: str
    elements: dict[int, tuple[bytes | None, int, int]]
    values: dict[str, Any]
    pixel_offset: int
    pixel_length: int | None
    data: bytes
    complete: bool

    def get(self, keyword: str) -> Any:
        """The value of ``keyword`` (None when absent); KeyError outside `KEYWORDS`."""
        if keyword not in KEYWORDS and keyword not in _SEQUENCE_KEYWORDS:
            raise KeyError(keyword)
        return self.values.get(keyword)


# Sequences whose presence sends the file to pydicom: absent whenever a RawHeader exists.
_SEQUENCE_KEYWORDS = frozenset(
    {"PerFrameFunctionalGroupsSequence", "SharedFunctionalGroupsSequence"}
)


def scan(fd_read: Callable[[int], bytes], size: int) -> RawHeader | None:
    """Read the header through ``fd_read(n)`` (a file of ``size`` bytes, at its start).

    Reads 16 KiB, then up to 256 KiB and 4 MiB while the header goes on. Returns None
    when pydicom must read the file instead (see the module notes).
    """
    data = b""
    for want in (CHUNK, 16 * CHUNK, MAX_HEADER):
        if len(data) >= min(size, want):
            continue
        data += fd_read(min(size, want) - len(data))
        try:
            return _parse(data, size)
        except _Short:
            continue
        except (_Unusual, struct.error, UnicodeDecodeError):
            return None
    return None


def _parse(data: bytes, size: int) -> RawHeader:
    if data[128:132] != b"DICM":
        raise _Unusual
    meta, pos = _elements(data, 132, implicit=False, size=size, meta=True)
    tsuid = _transfer_syntax(data, meta)
    implicit = tsuid == IMPLICIT_LE
    if _TAG.unpack_from(data, pos)[0] == 0:  # a command set: pydicom's own case
        raise _Unusual
    if implicit and all(0x40 < b < 0x5B for b in data[pos + 4 : pos + 6]):
        raise _Unusual  # pydicom would read it as explicit VR
    elements, pos = _elements(data, pos, implicit=implicit, size=size, meta=False)
    if _tag_at(data, pos) != _PIXEL_DATA or not _FALLBACK_TAGS.isdisjoint(elements):
        raise _Unusual
    sop_classes = _raw(data, elements.get(0x00080016)) + _raw(data, meta.get(0x00020002))
    if _DICOMDIR_UID in sop_classes:
        raise _Unusual
    offset, length = _pixel_element(data, pos, implicit)
    values = {
        kw: _value(data, elements[tag], vr) for kw, (tag, vr) in KEYWORDS.items() if tag in elements
    }
    return RawHeader(tsuid, elements, values, offset, length, data, len(data) >= size)


def _tag_at(data: bytes, pos: int) -> int:
    if pos + 8 > len(data):
        raise _Short
    group, elem = _TAG.unpack_from(data, pos)
    return int(group << 16 | elem)


def _raw(data: bytes, element: tuple[bytes | None, int, int] | None) -> bytes:
    return b"" if element is None else data[element[1] : element[1] + element[2]]


def _transfer_syntax(data: bytes, meta: dict[int, tuple[bytes | None, int, int]]) -> str:
    element = meta.get(0x00020010)
    if element is None or element[0] != b"UI":
        raise _Unusual
    tsuid = _raw(data, element).decode("latin-1").rstrip("\0 ")
    if tsuid != IMPLICIT_LE and tsuid not in _EXPLICIT_SYNTAXES:
        raise _Unusual  # big endian, deflated, private: pydicom
    return tsuid


_Elements = dict[int, tuple[bytes | None, int, int]]


def _header(data: bytes, pos: int, implicit: bool) -> tuple[int, bytes | None, int, int]:
    """(tag, VR or None, value offset, length) of the element at ``pos``."""
    tag = _tag_at(data, pos)
    if implicit:
        return tag, None, pos + 8, _U32.unpack_from(data, pos + 4)[0]
    vr = data[pos + 4 : pos + 6]
    if vr in _VR16:
        return tag, vr, pos + 8, _U16.unpack_from(data, pos + 6)[0]
    if vr not in _VR32:
        raise _Unusual  # pydicom guesses (implicit switch, 2-byte length)
    if pos + 12 > len(data):
        raise _Short
    return tag, vr, pos + 12, _U32.unpack_from(data, pos + 8)[0]


def _elements(
    data: bytes, pos: int, *, implicit: bool, size: int, meta: bool
) -> tuple[_Elements, int]:
    """Top-level elements from ``pos`` to the first tag of another group (``meta``) or
    to the Pixel Data tag; returns them and the position of that tag."""
    out: _Elements = {}
    last = -1
    while True:
        if pos >= size:
            raise _Unusual  # no pixel data (or an empty data set): pydicom says why
        tag = _tag_at(data, pos)
        if (meta and tag >> 16 != 2) or (not meta and tag in _STOPS):
            return out, pos
        if tag <= last or tag >> 16 == 0xFFFE:
            raise _Unusual
        last = tag
        tag, vr, start, length = _header(data, pos, implicit)
        if length == _UNDEFINED:
            if tag in _NEEDED or meta or (vr is not None and vr != b"SQ"):
                raise _Unusual
            pos = _skip_sequence(data, start, implicit, 0)
            if implicit and data.find(b"\xfe\xff\xdd\xe0", start) != pos - 8:
                raise _Unusual  # nested delimiters: pydicom may end it elsewhere
        else:
            pos = start + length
            if pos > size:
                raise _Unusual  # truncated header
            if tag in _NEEDED and pos > len(data):
                raise _Short
        out[tag] = (vr, start, length)


def _skip_sequence(data: bytes, pos: int, implicit: bool, depth: int) -> int:
    """Position after the delimiter of the undefined-length sequence whose items start
    at ``pos`` (items walked as pydicom's ``read_sequence`` walks them)."""
    if depth > _MAX_DEPTH:
        raise _Unusual
    while True:
        tag = _tag_at(data, pos)
        length = _U32.unpack_from(data, pos + 4)[0]
        if tag == _SEQ_END:
            return pos + 8
        if tag != _ITEM:
            raise _Unusual
        if length == _UNDEFINED:
            pos = _skip_item(data, pos + 8, implicit, depth)
        else:
            pos += 8 + length


def _skip_item(data: bytes, pos: int, implicit: bool, depth: int) -> int:
    """Position after the delimiter of an undefined-length item starting at ``pos``."""
    while True:
        if _tag_at(data, pos) == _ITEM_END:
            return pos + 8
        _, vr, start, length = _header(data, pos, implicit)
        if length == _UNDEFINED:
            if vr is not None and vr != b"SQ":
                raise _Unusual
            pos = _skip_sequence(data, start, implicit, depth + 1)
        else:
            pos = start + length


def _pixel_element(data: bytes, pos: int, implicit: bool) -> tuple[int, int | None]:
    """Value offset and length (None: undefined) of the Pixel Data element at ``pos``."""
    _, vr, start, length = _header(data, pos, implicit)
    if vr is not None and vr not in (b"OB", b"OW"):
        raise _Unusual
    return start, None if length == _UNDEFINED else length


def _value(data: bytes, element: tuple[bytes | None, int, int], dict_vr: str) -> Any:
    """The value ``_headers._get`` returns for this element (dictionary VR ``dict_vr``)."""
    vr, start, length = element
    raw = data[start : start + length]
    if dict_vr in _ASCII_VRS:  # _get reads these from pydicom's raw bytes
        if not raw:
            return "" if vr in _EMPTY_TEXT else None
        return raw.decode("latin-1").strip(" \x00")
    if dict_vr == "US":
        if vr not in (None, b"US") or length not in (0, 2):
            raise _Unusual
        return _U16.unpack(raw)[0] if raw else None
    if dict_vr == "LO":  # pydicom decodes text in the data set's character set
        if vr not in (None, b"LO") or not raw.isascii() or b"\x1b" in raw:
            raise _Unusual
        parts = [p.decode("ascii").rstrip("\0 ") for p in raw.split(b"\\")]
        return parts[0] if len(parts) == 1 else parts
    raise _Unusual


def metadata(header: RawHeader) -> dict[str, Any] | None:
    """`_headers.read_metadata` from the bytes: the `METADATA` values present, as pydicom
    converts them (DS float, IS and US int, text str; several values a list), or None
    where a value is not in the plain form this reads (pydicom reads the file then)."""
    out: dict[str, Any] = {}
    for keyword, (tag, dict_vr) in METADATA.items():
        element = header.elements.get(tag)
        if element is None or element[2] == 0:
            continue  # absent or empty: not copied
        if element[0] not in (None, dict_vr.encode()):
            return None
        value = _converted(_raw(header.data, element), dict_vr)
        if value is None:
            return None
        if value != "":
            out[keyword] = value
    return out


def _converted(raw: bytes, dict_vr: str) -> Any:
    """A value as pydicom's converter for ``dict_vr`` gives it, if plainly encoded."""
    if dict_vr == "US":
        return _U16.unpack(raw)[0] if len(raw) == 2 else None
    if not raw.isascii() or b"\x1b" in raw:
        return None
    text = raw.decode("ascii")
    if dict_vr in ("LO", "SH"):  # each value right-stripped
        items = [v.rstrip("\0 ") for v in text.split("\\")]
    else:  # CS, UI, DS, IS: the whole right-stripped, then split
        items = (text.strip() if dict_vr == "DS" else text).rstrip(" \x00").split("\\")
    if dict_vr in ("DS", "IS"):
        numbers = [_number(v.strip(), dict_vr) for v in items]
        if any(n is None for n in numbers):
            return None
        return numbers[0] if len(numbers) == 1 else numbers
    return items[0] if len(items) == 1 else items


def _number(text: str, vr: str) -> float | int | None:
    if vr == "IS":
        return int(text) if _IS.fullmatch(text) else None
    if len(text) > 16 or not _DS.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None
