"""blockplan — plan, record and adjudicate diagnostic nerve blocks after spine surgery.

Decision support, not a medical device. The core library never imports napari or Qt;
the napari plugin lives in the separate ``napari_blockplan`` package.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from blockplan.errors import BlockplanError, BlockplanWarning

if TYPE_CHECKING:
    from blockplan.io.volume import ImageVolume

try:
    __version__ = version("blockplan")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"


def __getattr__(name: str) -> Any:
    """``blockplan.ImageVolume`` on first use: ``import blockplan`` (every CLI command,
    ``blockplan --help``) stays free of pydicom and numpy."""
    if name == "ImageVolume":
        from blockplan.io.volume import ImageVolume

        return ImageVolume
    raise AttributeError(f"module 'blockplan' has no attribute {name!r}")


__all__ = ["BlockplanError", "BlockplanWarning", "ImageVolume", "__version__"]
