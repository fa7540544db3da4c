"""blockplan — plan, record and adjudicate diagnostic nerve blocks after spine surgery.

Decision support, not a medical device. The core library never imports napari or Qt;
the napari plugin lives in the separate ``napari_blockplan`` package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from blockplan.errors import BlockplanError, BlockplanWarning

if TYPE_CHECKING:
    from blockplan.io.volume import ImageVolume

    __version__: str


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("blockplan")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0.0.0+unknown"


def __getattr__(name: str) -> Any:
    """``blockplan.ImageVolume`` and ``blockplan.__version__`` on first use: ``import
    blockplan`` (every CLI command, ``blockplan --help``) loads neither pydicom, numpy nor
    importlib.metadata (0.1 s)."""
    if name == "ImageVolume":
        from blockplan.io.volume import ImageVolume

        return ImageVolume
    if name == "__version__":
        globals()["__version__"] = value = _version()
        return value
    raise AttributeError(f"module 'blockplan' has no attribute {name!r}")


__all__ = ["BlockplanError", "BlockplanWarning", "ImageVolume", "__version__"]
