"""File ▸ Open Sample ▸ blockplan: the synthetic post-operative lumbar spine study."""

from __future__ import annotations

from typing import Any

__all__ = ["open_sample_study"]


def open_sample_study() -> list[Any]:
    """Layers of the synthetic study (CT, T2 sagittal, T1 post-gadolinium axial)."""
    from blockplan.sample.locate import sample_study_path
    from napari_blockplan._reader import read_study

    return read_study(str(sample_study_path()))
