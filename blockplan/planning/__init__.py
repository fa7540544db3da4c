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
from blockplan.planning.paths import (
    PathPlanner,
    case_frame,
    measure_paths,
    planning_ct,
    spared_landmark_ids,
)
from blockplan.planning.placement import (
    LANDMARK_RADIUS_MM,
    level_and_side,
    place_landmark,
    place_level_marker,
    place_target,
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
from blockplan.planning.scar_edit import (
    DEFAULT_GROW_RADIUS_MM,
    GROW_RADIUS_RANGE_MM,
    LEAK_FRACTION,
    paint_voxels,
    preferred_scar_series,
    propose_scar,
    refresh_scar_levels,
    scar_region_from_mask,
    with_scar,
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
    suggest_needle_mm,
)
from blockplan.planning.wording import PathWords, describe_path, needle_label

__all__ = [
    "AUTO_MULTIPLIERS",
    "DEFAULT_BONE_EXCLUSION_MM",
    "DEFAULT_BONE_HU",
    "DEFAULT_GROW_RADIUS_MM",
    "DEFAULT_MARGIN_MM",
    "DEFAULT_MAX_SPACING_RATIO",
    "DEFAULT_MIDLINE_TOLERANCE_MM",
    "DEFAULT_NEEDLE_SPARE_MM",
    "DEFAULT_SEGMENT_ZONE",
    "DEFAULT_STEP_MM",
    "GROW_RADIUS_RANGE_MM",
    "LANDMARK_RADIUS_MM",
    "LEAK_FRACTION",
    "STANDARD_NEEDLE_LENGTHS_MM",
    "UNASSIGNED_LEVEL",
    "AxisLocation",
    "LandmarkClearance",
    "LevelAssignment",
    "PathPlanner",
    "PathWords",
    "SpineAxis",
    "TiltDirection",
    "TrajectoryMetrics",
    "assign_level",
    "case_frame",
    "describe_path",
    "evaluate_trajectory",
    "grow_scar",
    "grow_scar_auto",
    "level_and_side",
    "level_for_structure",
    "mask_grid_for",
    "measure_paths",
    "needle_label",
    "paint_voxels",
    "place_landmark",
    "place_level_marker",
    "place_target",
    "planning_ct",
    "preferred_scar_series",
    "propose_next_level",
    "propose_scar",
    "refresh_scar_levels",
    "resample_mask",
    "scar_region_from_mask",
    "scar_volume_ml",
    "scar_volume_per_level",
    "spared_landmark_ids",
    "suggest_needle_mm",
    "with_scar",
]
