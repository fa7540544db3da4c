"""Checks of compressed pixel data before any decoder sees it.

A codestream cut short by an interrupted copy decodes, in several codecs, to an image
whose lower rows are garbage — with no error. A header lying about the image size makes
a decoder allocate what the codestream claims. So before decoding:

* the encapsulated item structure must be whole (every item inside the file, ended by
  the sequence delimiter) and hold at least one fragment per frame (`walk_fragments`);
* each frame's codestream must end where its format ends — JPEG, JPEG-LS and JPEG
  lossless with the EOI marker ``FFD9``, JPEG 2000 with EOC ``FFD9`` (a trailing zero
  byte pads to even length), RLE with segment offsets inside the frame
  (`frame_problem`);
* the size the codestream declares (JPEG SOF, JPEG-LS SOF55, JPEG 2000 SIZ) must be
  the DICOM Rows × Columns (`frame_problem`).

Messages are sentence fragments naming the field, expected vs found.
"""

from __future__ import annotations

import itertools
import struct
from typing import BinaryIO

from blockplan.io import _uids as dcm_uid

__all__ = [
    "ENDS_WITH_EOI",
    "frame_problem",
    "head_tail_problem",
    "rle_problem",
    "walk_fragments",
]

_ITEM = b"\xfe\xff\x00\xe0"
_SEQ_END = b"\xfe\xff\xdd\xe0"
_MAX_ITEMS = 200_000

ENDS_WITH_EOI = frozenset(
    {
        dcm_uid.JPEGBaseline8Bit,
        dcm_uid.JPEGExtended12Bit,
        dcm_uid.JPEGLossless,
        dcm_uid.JPEGLosslessSV1,
        dcm_uid.JPEGLSLossless,
        dcm_uid.JPEGLSNearLossless,
        dcm_uid.JPEG2000Lossless,
        dcm_uid.JPEG2000,
    }
)
_JPEG_2000 = {dcm_uid.JPEG2000Lossless, dcm_uid.JPEG2000}


def walk_fragments(
    fp: BinaryIO, offset: int, size: int
) -> tuple[list[tuple[int, int]], str | None]:
    """The (start, length) of every fragment after the Basic Offset Table, or a problem.

    ``offset`` is where the encapsulated Pixel Data value starts, ``size`` the file
    size. Reads 8 bytes per item (no pixel bytes).
    """
    pos = offset
    items: list[tuple[int, int]] = []
    while len(items) <= _MAX_ITEMS:
        fp.seek(pos)
        head = fp.read(8)
        if len(head) < 8:
            return items[1:], (
                f"file truncated: encapsulated pixel data ends after {len(items)} item(s) "
                "without its sequence delimiter"
            )
        tag, length = head[:4], struct.unpack("<I", head[4:])[0]
        if tag == _SEQ_END:
            if not items:
                return [], "encapsulated pixel data has no Basic Offset Table item"
            return items[1:], None
        if tag != _ITEM or length == 0xFFFFFFFF:
            return items[1:], (
                f"encapsulated pixel data item {len(items)} at byte {pos}: expected an item "
                f"tag (FFFE,E000), found {tag.hex()}"
            )
        if pos + 8 + length > size:
            return items[1:], (
                f"file truncated: pixel data fragment {len(items)} claims {length} bytes, "
                f"{max(0, size - pos - 8)} present"
            )
        items.append((pos + 8, length))
        pos += 8 + length
    return items[1:], f"more than {_MAX_ITEMS} encapsulated items (damaged pixel data)"


def frame_problem(
    tsuid: str, data: bytes, rows: int, columns: int, samples: int, bytes_per_sample: int
) -> str | None:
    """Why this frame's codestream must not be decoded, or None.

    Checks the end marker and the image size the codestream declares against the DICOM
    Rows × Columns (and SamplesPerPixel); RLE: the segment table (`rle_problem`).
    """
    if tsuid == dcm_uid.RLELossless:
        return rle_problem(data, rows, columns, samples * bytes_per_sample, len(data))
    if tsuid not in ENDS_WITH_EOI:
        return None
    if len(data) < 4:
        return f"codestream of {len(data)} bytes (empty frame)"
    if not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        marker = "EOC" if tsuid in _JPEG_2000 else "EOI"
        return (
            f"codestream ends without its end marker ({marker} FFD9; last bytes "
            f"{data[-4:].hex()}): the frame is truncated or damaged"
        )
    found = _j2k_size(data) if tsuid in _JPEG_2000 else _jpeg_size(data)
    if found is None:
        return "codestream declares no image size (no SOF/SIZ marker): damaged frame"
    dims, precision = found[:3], found[3]
    if precision > 8 * bytes_per_sample:
        return (
            f"codestream holds {precision}-bit samples, BitsAllocated is "
            f"{8 * bytes_per_sample}: damaged or lying header"
        )
    if dims != (rows, columns, samples):
        return (
            f"codestream declares {dims[1]}×{dims[0]} pixels × {dims[2]} sample(s), "
            f"the header Columns×Rows {columns}×{rows} × {samples}: damaged or lying header"
        )
    return None


def rle_problem(
    data: bytes, rows: int, columns: int, n_segments: int, frame_length: int
) -> str | None:
    """Why an RLE frame must not be decoded: its 64-byte header lists ``n_segments``
    segments (SamplesPerPixel × bytes per sample) at increasing offsets inside the
    frame of ``frame_length`` bytes (``data`` may be only its head), each long enough
    to expand to Rows × Columns bytes (a run of 2 bytes expands to at most 128)."""
    if len(data) < 64:
        return f"RLE frame of {len(data)} bytes has no 64-byte segment header"
    header = struct.unpack("<16I", data[:64])
    if header[0] != n_segments:
        return f"RLE header lists {header[0]} segment(s), the pixel format needs {n_segments}"
    offsets = [*header[1 : 1 + n_segments], frame_length]
    if offsets[0] != 64 or any(b <= a for a, b in itertools.pairwise(offsets)):
        return f"RLE segment offsets {offsets[:-1]} are not increasing inside the frame"
    shortest = min(b - a for a, b in itertools.pairwise(offsets))
    if shortest * 64 < rows * columns:
        return (
            f"RLE segment of {shortest} bytes cannot expand to Rows × Columns "
            f"{rows}×{columns}: truncated frame or lying header"
        )
    return None


def _jpeg_size(data: bytes) -> tuple[int, int, int, int] | None:
    """(rows, columns, components, bits) from the first SOF marker (JPEG, JPEG-LS SOF55)."""
    if data[:2] != b"\xff\xd8":
        return None
    pos = 2
    limit = min(len(data), 1 << 16)
    while pos + 4 <= limit:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        is_sof = 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC)
        if (is_sof or marker == 0xF7) and pos + 10 <= len(data):
            rows, cols = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return rows, cols, data[pos + 9], data[pos + 4]
        if marker == 0xDA or length < 2:
            return None
        pos += 2 + length
    return None


def _j2k_size(data: bytes) -> tuple[int, int, int, int] | None:
    """(rows, columns, components, bits of the first component) from the SIZ marker of
    a J2K codestream (or JP2 file)."""
    start = data.find(b"\xff\x4f\xff\x51", 0, 1 << 16)
    if start < 0 or start + 43 > len(data):
        return None
    xsiz, ysiz, xo, yo = struct.unpack(">IIII", data[start + 8 : start + 24])
    comps = struct.unpack(">H", data[start + 40 : start + 42])[0]
    return ysiz - yo, xsiz - xo, comps, (data[start + 42] & 0x7F) + 1


def head_tail_problem(
    tsuid: str,
    head: bytes,
    tail: bytes,
    length: int,
    shape: tuple[int, int, int, int],
) -> str | None:
    """`frame_problem` from a frame's first bytes and last bytes only (no full read).

    ``shape`` is (rows, columns, samples, bytes per sample); ``length`` the frame's
    full length.
    """
    rows, columns, samples, bps = shape
    if tsuid == dcm_uid.RLELossless:
        return rle_problem(head, rows, columns, samples * bps, length)
    return frame_problem(tsuid, head + tail, rows, columns, samples, bps)
