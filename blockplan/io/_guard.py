"""Every failure out of `discover` and `load_series` is a `BlockplanError`.

Known failures raise named errors where they happen. This is the net under them: any
other exception (a decoder's own error type, ``MemoryError``, a Rust ``PanicException``
that derives from ``BaseException``) becomes the caller's error class with a one-line
message naming the file or series and the exception type — never its text, which may
quote a header value. An exception raised by the caller's progress callback (how a GUI
cancels) passes through unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from blockplan.errors import BlockplanError

__all__ = ["pass_callback", "unexpected_errors"]


class _CallbackRaised(Exception):
    """Carries an exception raised by the caller's progress callback through the net."""

    def __init__(self, inner: BaseException) -> None:
        super().__init__(type(inner).__name__)
        self.inner = inner


def pass_callback(
    progress: Callable[[int, int], None] | None,
) -> Callable[[int, int], None] | None:
    """``progress`` wrapped so what it raises is re-raised unchanged by `unexpected_errors`."""
    if progress is None:
        return None
    callback = progress

    def wrapped(done: int, total: int) -> None:
        try:
            callback(done, total)
        except BaseException as err:
            raise _CallbackRaised(err) from err

    return wrapped


_PASS = (KeyboardInterrupt, SystemExit, GeneratorExit)


@contextmanager
def unexpected_errors(
    make: Callable[[str], BlockplanError], passing: tuple[type[Exception], ...] = ()
) -> Iterator[None]:
    """Turn any non-blockplan exception into ``make(reason)`` (see module docstring);
    ``passing``: documented exception types that pass unchanged."""
    kept: tuple[type[BaseException], ...] = (BlockplanError, *passing)
    try:
        yield
    except _CallbackRaised as carried:
        raise carried.inner from None
    except kept:
        raise
    except _PASS:
        raise
    except MemoryError as err:
        raise make(
            "not enough memory (MemoryError); close other series, or lower "
            "BLOCKPLAN_MAX_SERIES_GIB so oversized series are refused up front"
        ) from err
    except BaseException as err:
        raise make(
            f"failed unexpectedly ({type(err).__name__}); the file(s) may be damaged: "
            "run `blockplan series PATH` to see which, or pick another series"
        ) from err
