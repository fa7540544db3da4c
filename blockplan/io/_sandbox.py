"""Decoders that can crash or hang, run in a worker process.

Some fallback decoders end the process on damaged input instead of raising (a C
``abort()`` in a JPEG-LS header parser, a Rust panic in an RLE decoder, C++ errors out
of GDCM) or loop for a long time. They run here, in one persistent worker process
(started on first use, with ``spawn``: safe beside GUI threads), one frame at a time
within `FRAME_TIME_BUDGET_S`. A worker that dies or overruns is killed and replaced;
the frame is refused with the reason (`FrameDecodeError`), and the application goes on.

Frames that validation has made safe decode in-process (`blockplan.io._pixels`); only
what those decoders cannot do comes here, so the usual load pays nothing for this.
"""

from __future__ import annotations

import threading
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from blockplan.io._headers import FrameHeader
from blockplan.io.limits import FRAME_TIME_BUDGET_S

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

__all__ = ["FrameDecodeError", "decode_in_worker", "shutdown"]


class FrameDecodeError(ValueError):
    """One frame could not be decoded (the message says why); never fatal to the caller."""


class _Worker:
    """One worker process and the parent's end of its pipe."""

    def __init__(self) -> None:
        import multiprocessing as mp  # only when a frame needs the worker

        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        self.conn: Connection = parent
        self.proc = ctx.Process(target=_serve, args=(child,), daemon=True, name="blockplan-decoder")
        self.proc.start()
        child.close()

    def stop(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(timeout=5)
        self.conn.close()


_lock = threading.Lock()
_worker: _Worker | None = None


def decode_in_worker(
    frame: FrameHeader, timeout_s: float = FRAME_TIME_BUDGET_S
) -> npt.NDArray[Any]:
    """Decode ``frame`` (stored values, raw) in the worker process.

    Raises
    ------
    FrameDecodeError
        No decoder could decode it, the worker died (it is replaced) or it took longer
        than ``timeout_s`` (it is killed and replaced).
    """
    global _worker
    with _lock:  # one frame at a time: the worker is single-threaded
        if _worker is None or not _worker.proc.is_alive():
            _worker = _Worker()
        worker = _worker
        try:
            worker.conn.send(frame)
            if not worker.conn.poll(timeout_s):
                _worker = None
                worker.stop()
                raise FrameDecodeError(f"no decoder finished within {timeout_s:g} s")
            status, value = worker.conn.recv()
        except (EOFError, OSError, BrokenPipeError) as err:
            _worker = None
            worker.proc.join(timeout=5)
            code = worker.proc.exitcode
            worker.stop()
            raise FrameDecodeError(
                f"the decoder process ended on this frame (exit code {code})"
            ) from err
    if status != "ok":
        raise FrameDecodeError(str(value))
    return np.asarray(value)


def shutdown() -> None:
    """Stop the worker process (it is started again when needed)."""
    global _worker
    with _lock:
        if _worker is not None:
            _worker.stop()
            _worker = None


def _serve(conn: Connection) -> None:  # pragma: no cover - runs in the worker process
    """Worker loop: decode each frame received, answer ("ok", array) or ("error", why)."""
    from blockplan.io._pixels import decode_fallback

    while True:
        try:
            frame = conn.recv()
        except (EOFError, OSError):
            return
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # a decoder warning means a damaged frame
                result: tuple[str, Any] = ("ok", decode_fallback(frame))
        except Exception as err:
            result = ("error", f"{type(err).__name__}: {str(err)[:200]}")
        conn.send(result)
