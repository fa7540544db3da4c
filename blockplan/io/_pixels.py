"""Pixel reading: stored values of many frames into one preallocated array.

Uncompressed little/big endian frames are read straight from their byte offset (found
during the header pass) into the output array with ``readinto``: no per-file dataset
parsing, no intermediate copies. Compressed frames are decoded by pydicom's decoders
with the plugin measured fastest on this project's machine for that transfer syntax
(falling back to any available plugin).
"""

from __future__ import annotations

import ctypes
import functools
import itertools
import mmap
import os
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import numpy.typing as npt

from blockplan.io import _uids as dcm_uid
from blockplan.io._codestream import frame_problem
from blockplan.io._headers import FrameHeader
from blockplan.io._sandbox import FrameDecodeError, decode_in_worker
from blockplan.io.limits import pixel_length_problem

__all__ = ["PREFERRED_PLUGINS", "alloc", "decoder_available", "read_stored"]

_NATIVE = {
    dcm_uid.ImplicitVRLittleEndian,
    dcm_uid.ExplicitVRLittleEndian,
    dcm_uid.ExplicitVRBigEndian,
}

# Preferred pydicom decoding plugin per transfer syntax, by speed measured on this
# project's machine (512² int16 frames; benchmarks/RESULTS.md, "load_series"): RLE
# pylibjpeg-rle 0.3 ms vs pydicom 2.1 ms; JPEG lossless gdcm 6.4 ms vs pylibjpeg 9.0 ms;
# JPEG-LS pyjpegls 5.8 ms vs gdcm 8.0 ms vs pylibjpeg 25 ms; JPEG 2000 gdcm 37 ms vs
# pillow 43 ms vs pylibjpeg 45 ms. JPEG lossless and JPEG-LS single-frame files first
# try the direct paths below (faster still); anything else: pydicom's own choice.
PREFERRED_PLUGINS: dict[str, tuple[str, ...]] = {
    dcm_uid.RLELossless: ("pylibjpeg", "pydicom"),
    dcm_uid.JPEGLossless: ("gdcm", "pylibjpeg"),
    dcm_uid.JPEGLosslessSV1: ("gdcm", "pylibjpeg"),
    dcm_uid.JPEGLSLossless: ("pyjpegls", "gdcm", "pylibjpeg"),
    dcm_uid.JPEGLSNearLossless: ("pyjpegls", "gdcm", "pylibjpeg"),
    dcm_uid.JPEG2000Lossless: ("gdcm", "pylibjpeg", "pillow"),
    dcm_uid.JPEG2000: ("gdcm", "pylibjpeg", "pillow"),
}

# Decoded in 2+ threads: only where that was measured faster (pylibjpeg-rle and
# imagecodecs release the GIL; gdcm, pyjpegls and pylibjpeg-libjpeg hold it, so threads
# only add overhead there).
_THREADED = {dcm_uid.RLELossless}
_AHEAD_PER_THREAD = 2
"""Frames handed to each decoding thread ahead of the progress callback (`_decode_coded`)."""


def alloc(shape: tuple[int, ...], dtype: np.dtype[Any] | type) -> npt.NDArray[Any]:
    """An uninitialised array whose pages are committed up front (Linux MAP_POPULATE).

    Filling a fresh ``np.empty`` volume frame by frame pays one page fault per 4 KiB
    in user space; populating the mapping in the kernel first was measured 3-4x faster
    for a 200 MiB volume. Elsewhere (or for small arrays) this is ``np.empty``.
    """
    dt = np.dtype(dtype)
    nbytes = int(np.prod(shape)) * dt.itemsize
    populate = getattr(mmap, "MAP_POPULATE", None)
    if populate is None or nbytes < (1 << 24):
        return np.empty(shape, dtype=dt)
    try:
        buf = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | populate)
    except OSError:
        return np.empty(shape, dtype=dt)
    return np.frombuffer(buf, dtype=dt).reshape(shape)


def stored_dtype(frame: FrameHeader) -> np.dtype[Any]:
    """Numpy dtype of the stored values (BitsAllocated, PixelRepresentation)."""
    kind = "i" if frame.pixel_representation == 1 else "u"
    size = max(1, frame.bits_allocated // 8)
    return np.dtype(f"{kind}{size}")


def decoder_available(transfer_syntax_uid: str) -> bool:
    """True when a pixel decoder for this transfer syntax is installed."""
    if transfer_syntax_uid in dcm_uid.NATIVE:
        return True
    try:
        from pydicom.pixels.decoders.base import get_decoder
        from pydicom.uid import UID

        return bool(get_decoder(UID(transfer_syntax_uid)).is_available)
    except (NotImplementedError, ValueError):
        return False


@functools.lru_cache(maxsize=64)
def _plugins_for(tsuid: str) -> tuple[str, ...]:
    from pydicom.pixels.decoders.base import get_decoder
    from pydicom.uid import UID

    available = set(get_decoder(UID(tsuid)).available_plugins)
    ordered = [p for p in PREFERRED_PLUGINS.get(tsuid, ()) if p in available]
    return (*ordered, "")  # "" = let pydicom choose


def _fix_bits(arr: npt.NDArray[Any], frame: FrameHeader) -> None:
    """Mask unused high bits (unsigned) or sign-extend from BitsStored (signed), in place."""
    bits = arr.dtype.itemsize * 8
    stored = frame.bits_stored
    if stored <= 0 or stored >= bits:
        return
    if frame.pixel_representation == 1:
        shift = bits - stored
        np.left_shift(arr, shift, out=arr)
        np.right_shift(arr, shift, out=arr)
    else:
        np.bitwise_and(arr, (1 << stored) - 1, out=arr)


def _read_native(
    frames: Sequence[tuple[int, FrameHeader]],
    out: npt.NDArray[Any],
    tick: Callable[[], None],
) -> dict[int, str]:
    """readinto for uncompressed frames grouped by file; returns {slot: error}.

    ``tick()`` after each frame (an exception it raises propagates)."""
    errors: dict[int, str] = {}
    by_file: dict[str, list[tuple[int, FrameHeader]]] = {}
    for slot, fr in frames:
        by_file.setdefault(fr.path, []).append((slot, fr))
    for path, items in by_file.items():
        try:
            with open(path, "rb", buffering=0) as fp:
                for slot, fr in items:
                    assert fr.pixel_offset is not None
                    fp.seek(fr.pixel_offset + fr.frame_index * fr.frame_bytes)
                    view = memoryview(out[slot]).cast("B")
                    got = fp.readinto(view)
                    if got != fr.frame_bytes:
                        errors[slot] = (
                            f"file truncated ({got or 0} of {fr.frame_bytes} pixel bytes)"
                        )
                    tick()
        except OSError as err:
            for slot, _ in items:
                errors[slot] = f"cannot read pixel data ({type(err).__name__})"
    return errors


_JPEG_LOSSLESS = {dcm_uid.JPEGLossless, dcm_uid.JPEGLosslessSV1}
_JPEG_LS = {dcm_uid.JPEGLSLossless, dcm_uid.JPEGLSNearLossless}
_JPEG_2000 = {dcm_uid.JPEG2000Lossless, dcm_uid.JPEG2000}
_JPEG_DCT = {dcm_uid.JPEGBaseline8Bit, dcm_uid.JPEGExtended12Bit}
_IMAGECODECS = _JPEG_LOSSLESS | _JPEG_LS | _JPEG_2000 | _JPEG_DCT


def _gdcm_into(fr: FrameHeader, dest: npt.NDArray[Any]) -> bool:
    """JPEG lossless: let GDCM read and decode the file, copy its buffer into ``dest``.

    Measured on this project's machine (512² int16): ~3.4 ms per frame, against
    6.4 ms through pydicom's gdcm plugin (mostly a str round trip of the decoded
    buffer) and 9 ms through pylibjpeg. The decoded buffer is copied straight from
    GDCM's memory. (Handing GDCM a hand-built fragment instead, as pydicom's plugin
    does, saved 0.3 ms but intermittently aborted in GDCM's reference counting.)
    Returns False when GDCM is missing or its result does not match the header (the
    caller falls back to pydicom's decoders).
    """
    try:
        import gdcm
    except ImportError:
        return False
    reader = gdcm.ImageReader()
    reader.SetFileName(fr.path)
    if not reader.Read():
        return False
    change = gdcm.ImageChangeTransferSyntax()
    change.SetTransferSyntax(gdcm.TransferSyntax(gdcm.TransferSyntax.ExplicitVRLittleEndian))
    change.SetInput(reader.GetImage())
    if not change.Change():
        return False
    decoded = change.GetOutput()
    element = decoded.GetDataElement()
    value = element.GetByteValue()
    if value is None or int(str(value.GetLength())) < dest.nbytes:
        return False
    if int(decoded.GetPixelFormat().GetBitsAllocated()) != dest.dtype.itemsize * 8:
        return False
    # reader/change/decoded/element/value stay referenced while we copy
    src = (ctypes.c_char * dest.nbytes).from_address(int(value.GetVoidPointer()))
    dest[...] = np.frombuffer(memoryview(src), dtype=dest.dtype.newbyteorder("<")).reshape(
        dest.shape
    )
    return True


def _frame_bytes(fr: FrameHeader) -> bytes:
    """The encoded bytes of a single-frame file's one frame."""
    from pydicom.encaps import generate_frames

    assert fr.pixel_offset is not None
    with open(fr.path, "rb") as fp:
        fp.seek(fr.pixel_offset)
        data = fp.read()
    return next(generate_frames(data, number_of_frames=1))


def _file_frames(fr: FrameHeader) -> list[bytes]:
    """The encoded bytes of every frame of a multi-frame file (read once per file)."""
    from pydicom.encaps import generate_frames

    assert fr.pixel_offset is not None
    with open(fr.path, "rb") as fp:
        fp.seek(fr.pixel_offset)
        data = fp.read()
    try:
        frames = list(generate_frames(data, number_of_frames=fr.n_frames_in_file))
    except Exception as err:  # damaged item structure: every frame of the file is refused
        raise FrameDecodeError(f"encapsulated frames cannot be split ({err})") from err
    if len(frames) < fr.n_frames_in_file:
        raise FrameDecodeError(
            f"NumberOfFrames {fr.n_frames_in_file}, {len(frames)} frame(s) of pixel data"
        )
    return frames


def _as_stored(decoded: npt.NDArray[Any], fr: FrameHeader) -> npt.NDArray[Any] | None:
    dtype = stored_dtype(fr)
    if decoded.dtype.itemsize != dtype.itemsize or decoded.size != fr.rows * fr.columns:
        return None
    return decoded.view(dtype).reshape(fr.rows, fr.columns)


def _rle_decode(data: bytes, fr: FrameHeader) -> npt.NDArray[Any]:
    """DICOM RLE (PackBits byte planes, most significant first), strictly: every segment
    must expand to exactly Rows × Columns bytes (one pad byte allowed)."""
    import imagecodecs

    n = fr.rows * fr.columns
    n_seg = fr.samples_per_pixel * max(1, fr.bits_allocated // 8)
    header = np.frombuffer(data[:64], dtype="<u4")
    offsets = [*(int(x) for x in header[1 : 1 + n_seg]), len(data)]
    planes = np.empty((n, n_seg), dtype=np.uint8)
    for s in range(n_seg):
        try:
            seg = imagecodecs.packbits_decode(data[offsets[s] : offsets[s + 1]])
        except Exception as err:  # imagecodecs raises its own error types
            raise FrameDecodeError(f"RLE segment {s + 1} is corrupt ({err})") from err
        if len(seg) not in (n, n + 1):
            raise FrameDecodeError(
                f"RLE segment {s + 1} expands to {len(seg)} bytes, Rows × Columns is {n}"
            )
        planes[:, n_seg - 1 - s] = np.frombuffer(seg, dtype=np.uint8, count=n)
    return planes.view(stored_dtype(fr).newbyteorder("<")).reshape(fr.rows, fr.columns)


def _decode_in_process(data: bytes, fr: FrameHeader) -> npt.NDArray[Any] | None:
    """Decode a frame that `frame_problem` found whole, with decoders that raise on
    damaged input instead of crashing: imagecodecs' PackBits (RLE), libjpeg-turbo 3
    (JPEG lossless and DCT), CharLS (JPEG-LS), OpenJPEG (JPEG 2000).

    Measured on this project's machine (512² int16): JPEG lossless ~1 ms per frame
    against 3.4 ms for GDCM; JPEG 2000 27 ms against 29 ms. These codecs release the
    GIL, so frames decode in threads. None when imagecodecs is missing, cannot decode
    this stream or its result does not fit the header (the worker process tries then).
    """
    try:
        import imagecodecs
    except ImportError:
        return None
    tsuid = fr.transfer_syntax_uid
    if tsuid == dcm_uid.RLELossless:
        return _rle_decode(data, fr)
    try:
        if tsuid in _JPEG_LOSSLESS or tsuid in _JPEG_DCT:
            decoded = imagecodecs.jpeg8_decode(data)
        elif tsuid in _JPEG_LS:
            decoded = imagecodecs.jpegls_decode(data)
        elif tsuid in _JPEG_2000:
            decoded = imagecodecs.jpeg2k_decode(data)
        else:
            return None
    except Exception:  # imagecodecs raises its own error types: let the worker try
        return None
    return _as_stored(np.asarray(decoded), fr)


def _jpeg_ls_direct(fr: FrameHeader) -> npt.NDArray[Any] | None:
    """JPEG-LS: CharLS (pyjpegls) on the frame bytes, 3.8 ms vs 5.8 ms per 512² frame
    through pydicom's plugin. None when not applicable (caller falls back)."""
    try:
        import jpeg_ls
    except ImportError:
        return None
    frame = _frame_bytes(fr)
    return _as_stored(np.asarray(jpeg_ls.decode(np.frombuffer(frame, dtype=np.uint8))), fr)


def decode_fallback(fr: FrameHeader) -> npt.NDArray[Any]:
    """Decode one frame with the decoders that may crash or hang on damaged input
    (GDCM, pyjpegls, pydicom's plugins: pylibjpeg-libjpeg, -openjpeg, -rle). Runs in the
    worker process of `blockplan.io._sandbox`, never in the application's."""
    tsuid = fr.transfer_syntax_uid
    if fr.n_frames_in_file == 1 and fr.pixel_offset is not None:
        if tsuid in _JPEG_LOSSLESS:
            dest = np.empty((fr.rows, fr.columns), dtype=stored_dtype(fr))
            if _try(_gdcm_into, fr, dest):
                return dest
        if tsuid in _JPEG_LS:
            res = _try(_jpeg_ls_direct, fr)
            if res is not None:
                return np.asarray(res)
    return _decode_one(fr)


def _decode_into(fr: FrameHeader, dest: npt.NDArray[Any], data: bytes | None) -> None:
    """Decode one compressed frame into ``dest`` (raises when it cannot be trusted).

    ``data`` is the frame's codestream (None: read here). It is checked first
    (`frame_problem`: end marker, declared size, RLE segments), decoded in-process when
    a safe decoder can (`_decode_in_process`), otherwise in the worker process.
    Deflated files (no codestream) decode in-process through pydicom.
    """
    res = _decode_one(fr) if fr.pixel_offset is None else _decode_codestream(fr, data)
    if res.shape != dest.shape:
        raise FrameDecodeError(f"decoded frame has shape {res.shape}, expected {dest.shape}")
    if not res.dtype.isnative:
        res = res.astype(res.dtype.newbyteorder("="))
    if res.dtype.itemsize == dest.dtype.itemsize and res.dtype.kind in "iu":
        dest[...] = res.view(dest.dtype)
    else:
        dest[...] = res


def _decode_codestream(fr: FrameHeader, data: bytes | None) -> npt.NDArray[Any]:
    """Check a frame's codestream (`frame_problem`), then decode it in-process when a
    safe decoder can, otherwise in the worker process."""
    data = _frame_bytes(fr) if data is None else data
    problem = frame_problem(
        fr.transfer_syntax_uid,
        data,
        fr.rows,
        fr.columns,
        fr.samples_per_pixel,
        max(1, fr.bits_allocated // 8),
    )
    if problem is not None:
        raise FrameDecodeError(problem)
    res = _decode_in_process(data, fr)
    return res if res is not None else decode_in_worker(fr)


def _try(func: Any, *args: Any) -> Any:
    """``func(*args)``, or None when it raises (a fast path failing falls back)."""
    try:
        return func(*args)
    except Exception:
        return None


def _decode_one(fr: FrameHeader) -> npt.NDArray[Any]:
    """Decode one compressed (or deflated) frame to stored values."""
    from pydicom.pixels.decoders.base import get_decoder
    from pydicom.pixels.utils import pixel_array
    from pydicom.uid import UID

    if fr.pixel_offset is None:  # deflated or otherwise not locatable: generic path
        import pydicom

        ds = pydicom.dcmread(fr.path)
        if not UID(fr.transfer_syntax_uid).is_compressed:
            bpp = fr.samples_per_pixel * max(1, fr.bits_allocated // 8)
            length = len(ds.PixelData) if "PixelData" in ds else 0
            args = (fr.rows, fr.columns, fr.n_frames_in_file, bpp)
            problem = pixel_length_problem(length, *args)
            if problem is not None:
                raise FrameDecodeError(problem)
        return pixel_array(ds, index=fr.frame_index, raw=True)
    decoder = get_decoder(UID(fr.transfer_syntax_uid))
    last: Exception | None = None
    opts: dict[str, Any] = dict(
        rows=fr.rows,
        columns=fr.columns,
        samples_per_pixel=fr.samples_per_pixel,
        bits_allocated=fr.bits_allocated,
        bits_stored=fr.bits_stored,
        pixel_representation=fr.pixel_representation,
        photometric_interpretation=fr.photometric_interpretation,
        number_of_frames=fr.n_frames_in_file,
        pixel_keyword="PixelData",
    )
    with open(fr.path, "rb") as fp:
        for plugin in _plugins_for(fr.transfer_syntax_uid):
            fp.seek(fr.pixel_offset)
            try:
                arr, _ = decoder.as_array(
                    fp,
                    index=fr.frame_index,
                    raw=True,
                    decoding_plugin=plugin,
                    validate=False,
                    **opts,
                )
                return arr
            except Exception as err:  # plugin failed: try the next one
                last = err
    raise ValueError(f"no decoder could decode the frame ({type(last).__name__}: {last})")


def _imagecodecs_available() -> bool:
    try:
        import imagecodecs  # noqa: F401
    except ImportError:
        return False
    return True


def _multi_frame_data(coded: Sequence[tuple[int, FrameHeader]]) -> dict[int, bytes | str]:
    """{slot: codestream, or why not} for the frames of multi-frame files (each file
    read and split once; single-frame files are read by the decoding thread)."""
    by_file: dict[str, list[tuple[int, FrameHeader]]] = {}
    for slot, fr in coded:
        if fr.n_frames_in_file > 1 and fr.pixel_offset is not None:
            by_file.setdefault(fr.path, []).append((slot, fr))
    data: dict[int, bytes | str] = {}
    for items in by_file.values():
        try:
            frames = _file_frames(items[0][1])
        except (OSError, FrameDecodeError) as err:
            data.update((slot, str(err)) for slot, _ in items)
            continue
        data.update((slot, frames[fr.frame_index]) for slot, fr in items)
    return data


def _read_coded(
    coded: Sequence[tuple[int, FrameHeader]],
    out: npt.NDArray[Any],
    tick: Callable[[], None],
    threads: int | None,
) -> dict[int, str]:
    """Decode compressed (or deflated) frames into ``out``; returns {slot: error}."""
    errors: dict[int, str] = {}
    tsuids = {fr.transfer_syntax_uid for _, fr in coded}
    threaded = _THREADED | (_IMAGECODECS if _imagecodecs_available() else set())
    parallel = tsuids <= threaded
    n_threads = threads or (min(4, os.cpu_count() or 1) if parallel else 1)
    pre = _multi_frame_data(coded)

    def work(item: tuple[int, FrameHeader]) -> None:
        slot, fr = item
        data = pre.get(slot)
        try:
            if isinstance(data, str):
                raise FrameDecodeError(data)
            _decode_into(fr, out[slot], data)
        except FrameDecodeError as err:
            errors[slot] = f"cannot decode pixel data ({err})"
        except Exception as err:  # corrupt data: reported per frame, never fatal here
            errors[slot] = f"cannot decode pixel data ({type(err).__name__}: {err})"

    if n_threads > 1 and len(coded) > 1:
        pool = ThreadPoolExecutor(n_threads)
        try:
            # A few frames ahead of ``tick``, never the whole series: when ``tick`` waits
            # (a GUI thread busy: the napari plugin's `give_way`), the decoding threads
            # run dry within `_AHEAD_PER_THREAD` frames each and leave it the GIL.
            items = iter(coded)
            ahead: deque[Future[None]] = deque(
                pool.submit(work, item)
                for item in itertools.islice(items, _AHEAD_PER_THREAD * n_threads)
            )
            while ahead:
                ahead.popleft().result()
                tick()
                following = next(items, None)
                if following is not None:
                    ahead.append(pool.submit(work, following))
        finally:  # on cancel: drop the queued frames, wait for the running ones
            pool.shutdown(wait=True, cancel_futures=True)
    else:
        for item in coded:
            work(item)
            tick()
    return errors


def read_stored(
    frames: Sequence[FrameHeader],
    *,
    threads: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[npt.NDArray[Any], dict[int, str]]:
    """Read the stored values of `frames` (one series, same size) into ``array[k, j, i]``.

    Returns the array (stored dtype, native byte order, BitsStored applied) and
    ``{k: reason}`` for frames that could not be read (their slot is left undefined).
    ``progress(done, total)`` is called in the calling thread after each frame; an
    exception it raises stops the reading (decoder threads are stopped first) and
    propagates.
    """
    f0 = frames[0]
    dtype = stored_dtype(f0)
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, len(frames))

    native: list[tuple[int, FrameHeader]] = []
    coded: list[tuple[int, FrameHeader]] = []
    errors: dict[int, str] = {}
    for slot, fr in enumerate(frames):
        if fr.pixel_problem is not None:
            errors[slot] = fr.pixel_problem
            tick()
        elif fr.transfer_syntax_uid in _NATIVE and fr.pixel_offset is not None:
            native.append((slot, fr))
        else:
            coded.append((slot, fr))
    # Pages committed up front (`alloc`): faster for decoders, which copy in user space,
    # and steadier for readinto, whose faults on a fresh np.empty (numpy asks for huge
    # pages) stalled on memory compaction in about 4 of 10 runs (0.3 s against 0.1 s for
    # 200 MiB; benchmarks/RESULTS.md, "whole-process load").
    shape = (len(frames), f0.rows, f0.columns)
    out = alloc(shape, dtype)
    if native:
        errors.update(_read_native(native, out, tick))
        big = [s for s, fr in native if fr.transfer_syntax_uid == dcm_uid.ExplicitVRBigEndian]
        for slot in big:
            out[slot].byteswap(inplace=True)
    if coded:
        errors.update(_read_coded(coded, out, tick, threads))
    # BitsStored: masking / sign extension. Idempotent, so decoded frames (already
    # processed by their decoder) may go through it again.
    if len({fr.bits_stored for fr in frames}) == 1:
        _fix_bits(out, f0)
    else:
        for slot, fr in enumerate(frames):
            _fix_bits(out[slot], fr)
    return out, errors
