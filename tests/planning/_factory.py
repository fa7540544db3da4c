"""Builders for planning tests: level markers, landmarks and small synthetic volumes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from blockplan.case.model import Landmark, LevelMarker, PatientPoint
from blockplan.io.volume import ImageVolume

FRAME = "1.2.826.0.1.3680043.8.498.1"
OTHER_FRAME = "1.2.826.0.1.3680043.8.498.2"
SERIES = "1.2.826.0.1.3680043.8.498.10"


def point(x: float, y: float, z: float, frame: str = FRAME) -> PatientPoint:
    return PatientPoint(lps=(x, y, z), frame_of_reference_uid=frame)


def marker(level: str, x: float, y: float, z: float, frame: str = FRAME) -> LevelMarker:
    return LevelMarker(level=level, position=point(x, y, z, frame))


L4_TO_S1_MARKERS = (
    marker("L4", 0.0, 0.0, 40.0),
    marker("L4-L5", 0.0, 0.0, 20.0),
    marker("L5", 0.0, 0.0, 0.0),
    marker("L5-S1", 0.0, 0.0, -20.0),
    marker("S1", 0.0, 0.0, -40.0),
)
"""Markers L4 … S1 on the z axis, 20 mm apart (bodies and discs), L5 at the origin."""


def straight_spine(
    levels: Sequence[str] = ("L1", "L2", "L3", "L4", "L5", "S1"),
    top_z: float = 160.0,
    step_mm: float = 40.0,
) -> list[LevelMarker]:
    """Vertebral body markers on the LPS z axis (x = y = 0), one every ``step_mm`` caudally."""
    return [marker(lv, 0.0, 0.0, top_z - n * step_mm) for n, lv in enumerate(levels)]


def landmark(
    kind: str,
    x: float,
    y: float,
    z: float,
    radius_mm: float,
    *,
    level: str | None = None,
    side: str | None = None,
    id: str | None = None,
    frame: str = FRAME,
) -> Landmark:
    kw: dict[str, object] = {}
    if id is not None:
        kw["id"] = id
    return Landmark(
        kind=kind,  # type: ignore[arg-type]
        level=level,
        side=side,  # type: ignore[arg-type]
        position=point(x, y, z, frame),
        radius_mm=radius_mm,
        **kw,  # type: ignore[arg-type]
    )


def affine(
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0),
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> npt.NDArray[np.float64]:
    """Axis-aligned affine: i → +x, j → +y, k → +z (LPS), voxel (0, 0, 0) at ``origin``."""
    a = np.eye(4)
    a[0, 0], a[1, 1], a[2, 2] = spacing
    a[:3, 3] = origin
    return a


def volume(
    array: npt.NDArray[np.generic],
    aff: npt.NDArray[np.float64],
    *,
    modality: str = "CT",
    frame: str = FRAME,
) -> ImageVolume:
    return ImageVolume(
        array=array,
        affine=aff,
        frame_of_reference_uid=frame,
        modality=modality,
        series_instance_uid=SERIES,
        series_number=3,
    )
