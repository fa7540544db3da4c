"""One vocabulary for a planned needle path: the words the screen, the report and the SR use.

Every sentence blockplan shows or prints about a path comes from a function here, so the
planning table, the signed PDF and the archived SR (read back) cannot word the same path
differently. The functions take plain values (degrees, mm, side and direction words) so
that they render a path measured now (`TrajectoryMetrics`) and one read back from an SR
alike.

C-arm angles (patient prone, beam posterior-anterior: tube under the table, image
intensifier above the patient's back; the angles put the beam along the needle, the
"down-the-beam" view):

* **oblique** — the C-arm rotated about the patient's long axis away from true PA, named by
  the side of the patient the image intensifier turns towards (the side of the skin entry
  relative to the target): ``"23.2° left oblique"``; ``"true PA (0.0° oblique)"`` when the
  path lies in a sagittal plane.
* **tilt** — the C-arm angled along the patient's long axis, named by where the image
  intensifier tilts: ``"cranial"`` towards the head (the skin entry lies cranial to the
  target, the needle advances caudally), ``"caudal"`` towards the feet:
  ``"7.5° cranial tilt"``; ``"no tilt"`` when the path lies in an axial plane.

Decision support, not a medical device.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from blockplan.case.vocab import level_sort_key

if TYPE_CHECKING:
    from blockplan.planning.trajectory import TrajectoryMetrics

__all__ = [
    "PathWords",
    "c_arm_text",
    "clearance_text",
    "describe_path",
    "landmark_name",
    "needle_label",
    "oblique_text",
    "path_length_text",
    "path_words",
    "safety_text",
    "scar_distance_text",
    "scar_volume_text",
    "tilt_text",
]


def oblique_text(oblique_deg: float, oblique_side: str) -> str:
    """The C-arm oblique: ``"23.2° left oblique"`` or ``"true PA (0.0° oblique)"``.

    ``oblique_side`` is ``"left"``, ``"right"`` or ``"midline"`` (true PA).
    """
    if oblique_side == "midline":
        return "true PA (0.0° oblique)"
    return f"{oblique_deg:.1f}° {oblique_side} oblique"


def tilt_text(tilt_deg: float, tilt_direction: str) -> str:
    """The C-arm tilt: ``"7.5° cranial tilt"`` or ``"no tilt"``.

    ``tilt_direction`` is ``"cranial"``, ``"caudal"`` or ``"none"``: where the image
    intensifier tilts (the side of the skin entry along the patient's long axis).
    """
    if tilt_direction == "none":
        return "no tilt"
    return f"{tilt_deg:.1f}° {tilt_direction} tilt"


def c_arm_text(oblique_deg: float, oblique_side: str, tilt_deg: float, tilt_direction: str) -> str:
    """The C-arm set-up: ``"23.2° left oblique, 7.5° cranial tilt"``."""
    return f"{oblique_text(oblique_deg, oblique_side)}, {tilt_text(tilt_deg, tilt_direction)}"


def path_length_text(path_length_mm: float) -> str:
    """``"76.8 mm"``."""
    return f"{path_length_mm:.1f} mm"


def landmark_name(kind: str, level: str | None, side: str | None) -> str:
    """A marked structure in words: ``"nerve root L5 left"``, ``"thecal sac L4"``."""
    parts = [kind.replace("_", " ")]
    if level:
        parts.append(level)
    if side and side != "midline":
        parts.append(side)
    return " ".join(parts)


def clearance_text(distance_mm: float, kind: str, level: str | None, side: str | None) -> str:
    """Clearance of the path to a marked structure, the structure named.

    ``"3.1 mm from nerve root L5 left"``; ``"1.2 mm inside nerve root L5 left"`` when the
    path passes through the structure (negative distance).
    """
    name = landmark_name(kind, level, side)
    if distance_mm < 0:
        return f"{-distance_mm:.1f} mm inside {name}"
    return f"{distance_mm:.1f} mm from {name}"


def scar_distance_text(scar_distance_mm: float | None) -> str:
    """Distance to the marked scar: ``"4.0 mm from scar"``, ``"no scar marked"``."""
    if scar_distance_mm is None or scar_distance_mm == float("inf"):
        return "no scar marked"
    return f"{scar_distance_mm:.1f} mm from scar"


def safety_text(safe: bool, findings: Sequence[str] = ()) -> str:
    """The safety verdict: ``"yes"``, or ``"NO: <findings>"`` (``"NO"`` without them)."""
    if safe:
        return "yes"
    return "NO" + (": " + "; ".join(findings) if findings else "")


def needle_label(length_mm: float | None) -> str:
    """``"3.5 in (89 mm)"`` for a whole or half-inch length, else ``"90 mm"``; None:
    ``"none long enough"``."""
    if length_mm is None:
        return "none long enough"
    inches = length_mm / 25.4
    if abs(inches * 2 - round(inches * 2)) < 1e-3:
        return f"{inches:g} in ({length_mm:.0f} mm)"
    return f"{length_mm:.0f} mm"


def scar_volume_text(total_ml: float, per_level_ml: Mapping[str, float]) -> str:
    """``"1.73 mL in total; L4-L5: 0.98 mL; L5: 0.75 mL"``, levels cranial to caudal."""
    parts = [f"{total_ml:.2f} mL in total"]
    for level in sorted(per_level_ml, key=level_sort_key):
        parts.append(f"{level}: {per_level_ml[level]:.2f} mL")
    return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class PathWords:
    """A planned path in words, as the screen, the report and the SR read-back show it."""

    length: str
    """``"76.8 mm"``."""
    needle: str
    """``"3.5 in (89 mm)"``."""
    oblique: str
    """``"23.2° left oblique"``."""
    tilt: str
    """``"7.5° cranial tilt"``."""
    c_arm: str
    """``"23.2° left oblique, 7.5° cranial tilt"``."""
    clearance: str
    """Closest marked structure: ``"3.1 mm from nerve root L5 left"`` (or ``"no marked
    structure"``)."""
    scar: str
    """``"4.0 mm from scar"`` or ``"no scar marked"``."""
    safety: str
    """``"yes"`` or ``"NO: <findings>"``."""

    @property
    def verdict(self) -> str:
        """``"yes"`` or ``"NO"`` (the safety verdict without its findings)."""
        return self.safety.split(":", 1)[0]


ClosestStructure = tuple[float, str, str | None, str | None]
"""(clearance mm, kind, level, side) of the closest marked structure."""


def path_words(
    *,
    path_length_mm: float,
    needle_mm: float | None,
    oblique_deg: float,
    oblique_side: str,
    tilt_deg: float,
    tilt_direction: str,
    closest: ClosestStructure | None,
    scar_distance_mm: float | None,
    safe: bool,
    findings: Sequence[str] = (),
) -> PathWords:
    """Every phrase of a path from its values (mm, degrees, side and direction words)."""
    clearance = "no marked structure"
    if closest is not None:
        clearance = clearance_text(*closest)
    scar = None if scar_distance_mm is None or math.isinf(scar_distance_mm) else scar_distance_mm
    return PathWords(
        length=path_length_text(path_length_mm),
        needle=needle_label(needle_mm),
        oblique=oblique_text(oblique_deg, oblique_side),
        tilt=tilt_text(tilt_deg, tilt_direction),
        c_arm=c_arm_text(oblique_deg, oblique_side, tilt_deg, tilt_direction),
        clearance=clearance,
        scar=scar_distance_text(scar),
        safety=safety_text(safe, findings),
    )


def describe_path(metrics: TrajectoryMetrics) -> PathWords:
    """A measured path (`evaluate_trajectory`) in words."""
    c = metrics.closest_landmark
    closest = None
    if c is not None:
        closest = (c.distance_mm, c.kind, c.level, None if c.side is None else c.side.value)
    return path_words(
        path_length_mm=metrics.path_length_mm,
        needle_mm=metrics.suggested_needle_mm,
        oblique_deg=metrics.oblique_deg,
        oblique_side=metrics.oblique_side.value,
        tilt_deg=metrics.tilt_deg,
        tilt_direction=metrics.tilt_direction.value,
        closest=closest,
        scar_distance_mm=metrics.scar_distance_mm,
        safe=metrics.safe,
        findings=metrics.warnings,
    )
