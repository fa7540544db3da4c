"""Reading DICOM studies: discovery of series and loading them as `ImageVolume`.

>>> from blockplan.io import discover, load_series
>>> found = discover("study/")                         # doctest: +SKIP
>>> volume = load_series(found.series[0])              # doctest: +SKIP
"""

from blockplan.io.discovery import Discovery, SeriesInfo, SkippedFile, discover
from blockplan.io.identity import StudyIdentity, study_identity
from blockplan.io.loader import load_path, load_series, load_slice
from blockplan.io.resample import resample_image, resample_mask, sample_points
from blockplan.io.volume import ImageVolume, WindowPreset

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
