"""Keep native libraries' chatter off the terminal while a command runs.

Decoders written in C, C++ and Rust (GDCM, OpenJPEG, CharLS, pylibjpeg's Rust RLE decoder)
write warnings, and Rust its panic notes, straight to file descriptor 2, past Python. A
clinician should see blockplan's one line, not "Warning: … bogus value" or "note: run with
`RUST_BACKTRACE=1`". While a command runs, descriptor 2 points at the null device and
Python's ``sys.stderr`` (every message blockplan prints, warnings, click's errors) at a copy
of the real one. ``BLOCKPLAN_DEBUG=1`` leaves everything as it is.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator
from typing import TextIO

__all__ = ["native_stderr_quiet"]


@contextlib.contextmanager
def native_stderr_quiet() -> Iterator[None]:
    """Within the block, writes to descriptor 2 from native code are discarded; writes to
    ``sys.stderr`` still reach the real standard error."""
    if os.environ.get("BLOCKPLAN_DEBUG"):
        yield
        return
    python_err = sys.stderr
    try:
        python_err.flush()
        real = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no descriptor 2 to protect
        yield
        return
    on_fd2 = _is_fd2(python_err)
    replacement = (
        io.TextIOWrapper(
            os.fdopen(os.dup(real), "wb", buffering=0),
            encoding="utf-8",
            errors="replace",
            write_through=True,
        )
        if on_fd2
        else None
    )
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    os.close(null)
    if replacement is not None:
        sys.stderr = replacement
    try:
        yield
    finally:
        if replacement is not None:
            sys.stderr = python_err
            replacement.close()
        os.dup2(real, 2)
        os.close(real)


def _is_fd2(stream: TextIO) -> bool:
    try:
        return stream.fileno() == 2
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return False
