"""Reading DICOM studies: discovery of series and loading them as `ImageVolume`."""

from blockplan.io.volume import ImageVolume, WindowPreset

__all__ = ["ImageVolume", "WindowPreset"]
