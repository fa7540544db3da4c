"""Resource limits of the loader: what may be opened, allocated and decoded.

One bad file must never take the workstation down or hang it. Before a byte is
allocated or decoded, the size a header claims (Rows × Columns × frames × bytes) is
checked against the bytes actually present and against a ceiling sized for the largest
real spine CT (default 2 GiB of stored values per series; ``BLOCKPLAN_MAX_SERIES_GIB``
overrides it, e.g. ``4`` or ``0.5``). Only regular files are opened: a FIFO, device or
socket in a study folder would block the scan forever.
"""

from __future__ import annotations

import os
import stat
import zlib
from typing import BinaryIO

from blockplan.errors import DicomInputError

__all__ = [
    "DEFAULT_MAX_SERIES_GIB",
    "FRAME_TIME_BUDGET_S",
    "MAX_SERIES_ENV",
    "claimed_size_problem",
    "inflated_size_problem",
    "max_series_bytes",
    "mode_reason",
    "not_regular_reason",
    "pixel_length_problem",
]

DEFAULT_MAX_SERIES_GIB = 2.0
MAX_SERIES_ENV = "BLOCKPLAN_MAX_SERIES_GIB"
# A decoder that can crash or hang runs in a worker process; one frame that takes longer
# than this is abandoned (the worker is restarted) and the frame refused.
FRAME_TIME_BUDGET_S = 10.0

_GIB = float(1 << 30)

_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a folder"),
)


def max_series_bytes() -> int:
    """The ceiling on one series' stored pixel bytes (``BLOCKPLAN_MAX_SERIES_GIB``, GiB).

    Raises
    ------
    DicomInputError
        The environment variable is set but not a positive number.
    """
    text = os.environ.get(MAX_SERIES_ENV, "").strip()
    if not text:
        return int(DEFAULT_MAX_SERIES_GIB * _GIB)
    try:
        gib = float(text)
    except ValueError:
        gib = -1.0
    if not gib > 0 or gib == float("inf"):
        raise DicomInputError(
            f"environment variable {MAX_SERIES_ENV}: expected a positive number of GiB "
            f"(e.g. 2), found {text[:20]!r}; unset it or set a number."
        )
    return int(gib * _GIB)


def not_regular_reason(path: str) -> str | None:
    """Why ``path`` must not be opened (not a regular file), or None.

    Uses ``os.stat`` (symbolic links to regular files are fine) before any ``open``,
    so a FIFO is never opened (opening one blocks until a writer appears).
    """
    try:
        mode = os.stat(path).st_mode
    except OSError as err:
        return f"cannot be read ({type(err).__name__})"
    return mode_reason(mode)


def mode_reason(mode: int) -> str | None:
    """`not_regular_reason` from an ``st_mode`` already at hand."""
    if stat.S_ISREG(mode):
        return None
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    return f"{kind}, not a regular file: never opened"


def _mib(n: float) -> str:
    return f"{n / (1 << 20):,.1f} MiB"


def claimed_size_problem(
    rows: int, columns: int, frames: int, bytes_per_pixel: int, *, what: str = "images"
) -> str | None:
    """Why a header's claimed pixel size cannot be allocated, or None.

    ``rows × columns × frames × bytes_per_pixel`` (samples included) is compared with
    `max_series_bytes`; the message names the numbers, the limit and how to raise it.
    """
    if rows <= 0 or columns <= 0 or frames <= 0 or bytes_per_pixel <= 0:
        return (
            f"Rows {rows} × Columns {columns} × {frames} frame(s) × {bytes_per_pixel} "
            "byte(s): an image needs positive sizes"
        )
    need = rows * columns * frames * bytes_per_pixel
    limit = max_series_bytes()
    if need <= limit:
        return None
    return (
        f"{what} claim Rows {rows} × Columns {columns} × {frames} frame(s) × "
        f"{bytes_per_pixel} byte(s) = {_mib(need)}, above the limit of {_mib(limit)} "
        f"(set {MAX_SERIES_ENV} to raise it if this is a real series)"
    )


def inflated_size_problem(fp: BinaryIO) -> str | None:
    """Why a deflated file must not be parsed: its data set inflates beyond the ceiling
    (a deflate bomb: a few MiB that inflate to gigabytes), or None.

    Inflates in 64 KiB steps, keeping nothing, before pydicom would inflate it whole.
    The data set starts after the file meta group (its (0002,0000) group length).
    """
    fp.seek(132)
    head = fp.read(12)
    if len(head) < 12 or head[:4] != b"\x02\x00\x00\x00":
        return None  # no standard file meta group: pydicom decides
    fp.seek(144 + int.from_bytes(head[8:12], "little"))
    limit = max_series_bytes()
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    total = 0
    try:
        while not inflater.eof and (chunk := fp.read(1 << 16)):
            while chunk and total <= limit and not inflater.eof:
                out = inflater.decompress(chunk, 1 << 20)
                if not out and len(inflater.unconsumed_tail) >= len(chunk):
                    break  # no progress (e.g. data after the stream's end): stop
                total += len(out)
                chunk = inflater.unconsumed_tail
            if total > limit:
                return (
                    f"refused: the deflated data set inflates beyond {_mib(limit)} (the "
                    f"limit; set {MAX_SERIES_ENV} to raise it if this is a real series)"
                )
    except zlib.error:
        return None  # damaged stream: pydicom reports it as unreadable
    return None


def pixel_length_problem(
    length: int, rows: int, columns: int, frames: int, bytes_per_pixel: int
) -> str | None:
    """Why uncompressed Pixel Data of ``length`` bytes does not fit the header, or None.

    Shorter than Rows × Columns × frames × bytes: truncated. Longer by a row or more: the
    header does not describe the data (e.g. a wrong Rows) — a pad byte or a few bytes of
    padding are fine.
    """
    expected = rows * columns * frames * bytes_per_pixel
    if length < expected:
        return f"pixel data too short ({length} of {expected} bytes)"
    if length - expected >= max(2, columns * bytes_per_pixel):
        return (
            f"pixel data holds {length} bytes, Rows {rows} × Columns {columns} × "
            f"{frames} frame(s) need {expected}: the header does not describe the data "
            "(padding is less than a row)"
        )
    return None
