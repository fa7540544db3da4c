"""Reading DICOM studies: discovery of series and loading them as `ImageVolume`.

>>> from blockplan.io import discover, load_series
>>> found = discover("study/")                         # doctest: +SKIP
>>> volume = load_series(found.series[0])              # doctest: +SKIP

Names are imported when first used (PEP 562), so a command imports only the modules
it needs: ``blockplan series`` never imports the loader, resampling or pydicom.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from blockplan.io.discovery import Discovery, SeriesInfo, SkippedFile, discover
    from blockplan.io.identity import StudyIdentity, study_identity
    from blockplan.io.loader import load_path, load_series, load_slice
    from blockplan.io.resample import resample_image, resample_mask, sample_points
    from blockplan.io.volume import ImageVolume, WindowPreset

_WHERE = {
    "Discovery": "discovery",
    "SeriesInfo": "discovery",
    "SkippedFile": "discovery",
    "discover": "discovery",
    "StudyIdentity": "identity",
    "study_identity": "identity",
    "load_path": "loader",
    "load_series": "loader",
    "load_slice": "loader",
    "resample_image": "resample",
    "resample_mask": "resample",
    "sample_points": "resample",
    "ImageVolume": "volume",
    "WindowPreset": "volume",
}

__all__ = [
    "Discovery",
    "ImageVolume",
    "SeriesInfo",
    "SkippedFile",
    "StudyIdentity",
    "WindowPreset",
    "discover",
    "load_path",
    "load_series",
    "load_slice",
    "resample_image",
    "resample_mask",
    "sample_points",
    "study_identity",
]


def __getattr__(attr: str) -> Any:
    """A public name (imported from its module on first use) or a submodule."""
    module = _WHERE.get(attr)
    if module is not None:
        value = getattr(importlib.import_module(f"blockplan.io.{module}"), attr)
    else:
        try:
            value = importlib.import_module(f"blockplan.io.{attr}")
        except ModuleNotFoundError as err:
            if err.name != f"blockplan.io.{attr}":
                raise
            raise AttributeError(f"module 'blockplan.io' has no attribute {attr!r}") from None
    globals()[attr] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
