"""Planning geometry on `ImageVolume`: spinal levels, epidural scar, needle trajectories.

Pure functions over numpy arrays, `blockplan.io.ImageVolume` and the case models; every
position is in DICOM patient coordinates (LPS, mm: +x patient left, +y posterior,
+z superior). Results are frozen dataclasses. See the module docstrings of
`blockplan.planning.levels` (the level and side rule) and
`blockplan.planning.trajectory` (C-arm angle conventions, needle choice, safety checks).
"""

from blockplan.planning.levels import (
    DEFAULT_MAX_SPACING_RATIO,
    DEFAULT_MIDLINE_TOLERANCE_MM,
    DEFAULT_SEGMENT_ZONE,
    AxisLocation,
    LevelAssignment,
    SpineAxis,
    assign_level,
    level_for_structure,
    propose_next_level,
)
from blockplan.planning.scar import (
    AUTO_MULTIPLIERS,
    UNASSIGNED_LEVEL,
    grow_scar,
    grow_scar_auto,
    mask_grid_for,
    resample_mask,
    scar_volume_ml,
    scar_volume_per_level,
)
from blockplan.planning.trajectory import (
    DEFAULT_BONE_EXCLUSION_MM,
    DEFAULT_BONE_HU,
    DEFAULT_MARGIN_MM,
    DEFAULT_NEEDLE_SPARE_MM,
    DEFAULT_STEP_MM,
    STANDARD_NEEDLE_LENGTHS_MM,
    LandmarkClearance,
    TiltDirection,
    TrajectoryMetrics,
    evaluate_trajectory,
    needle_label,
    suggest_needle_mm,
)

__all__ = [
    "AUTO_MULTIPLIERS",
    "DEFAULT_BONE_EXCLUSION_MM",
    "DEFAULT_BONE_HU",
    "DEFAULT_MARGIN_MM",
    "DEFAULT_MAX_SPACING_RATIO",
    "DEFAULT_MIDLINE_TOLERANCE_MM",
    "DEFAULT_NEEDLE_SPARE_MM",
    "DEFAULT_SEGMENT_ZONE",
    "DEFAULT_STEP_MM",
    "STANDARD_NEEDLE_LENGTHS_MM",
    "UNASSIGNED_LEVEL",
    "AxisLocation",
    "LandmarkClearance",
    "LevelAssignment",
    "SpineAxis",
    "TiltDirection",
    "TrajectoryMetrics",
    "assign_level",
    "evaluate_trajectory",
    "grow_scar",
    "grow_scar_auto",
    "level_for_structure",
    "mask_grid_for",
    "needle_label",
    "propose_next_level",
    "resample_mask",
    "scar_volume_ml",
    "scar_volume_per_level",
    "suggest_needle_mm",
]
