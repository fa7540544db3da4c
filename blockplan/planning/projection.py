"""Which planned needle paths a plane shows, and how: one rule for the screen and the report.

A needle path (skin entry → target) is rarely parallel to the plane the physician looks
at: a TFESI aimed 6 mm caudal crosses its target's axial plane only at the target. The
rule, `path_on_plane`, applied by the napari plugin to the slice on screen (axial,
sagittal or coronal) and by the report to its axial key image:

* a plane **shows** a path when the path comes within ``near_mm`` of it — it crosses the
  plane, or runs beside it no farther than ``near_mm`` (`IN_PLANE_MM` by default);
* it then shows the **whole path projected** orthogonally onto the plane, from the
  projected entry to the projected target, as one solid line;
* the signed distances of the true entry and target from the plane are kept, so that a
  caption can say how far out of the plane the path runs (`PathOnPlane.entry_out_of_plane`).

A plane the path stays farther from shows nothing of it.

`path_parts_on_plane` cuts the shown path where it leaves the slab ``|distance| ≤ near_mm``,
so that a picture can draw which part lies in the slice and which beyond it, on which side,
and where the needle crosses the plane:

* the part **in the slab** (``side == 0``), drawn solid;
* up to two parts **beyond** it, projected: ``side == +1`` on the side the plane's normal
  points to (for the planes the canvas shows, with normals +z, +x and +y in LPS: cranial
  of an axial slice, left of a sagittal one, posterior of a coronal one), ``side == -1`` on
  the other (caudal, right, anterior);
* the **crossing**: where the path passes through the plane itself (distance 0), when it
  does.

The planning screen and the report draw the stretch in the slab solid, the +1 stretch as a
thin line, the -1 stretch as a thin dashed line and the crossing as a ring (none at the
target, whose marker is there); `path_legend` says so in words.

Pure numpy, LPS mm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "IN_PLANE_MM",
    "PathOnPlane",
    "PathPart",
    "PathParts",
    "path_legend",
    "path_on_plane",
    "path_parts_on_plane",
    "side_words",
]

IN_PLANE_MM = 2.0
"""A path end closer to a plane than this (mm) counts as lying in it; a path that comes this
close to a plane is shown on it."""


@dataclass(frozen=True, slots=True)
class PathOnPlane:
    """A needle path as a plane shows it.

    Attributes
    ----------
    entry_lps, target_lps
        The skin entry and the target projected onto the plane (LPS mm): the ends of the
        line drawn.
    entry_offset_mm, target_offset_mm
        Signed distance of the true entry and target from the plane along its normal (mm):
        positive on the side the normal points to (for an axial plane with normal +z,
        cranial).
    """

    entry_lps: npt.NDArray[np.float64]
    target_lps: npt.NDArray[np.float64]
    entry_offset_mm: float
    target_offset_mm: float

    @property
    def entry_out_of_plane(self) -> bool:
        """True when the true entry lies `IN_PLANE_MM` or more off the plane (the line
        drawn is a projection a caption should name)."""
        return abs(self.entry_offset_mm) >= IN_PLANE_MM


def path_on_plane(
    entry_lps: npt.ArrayLike,
    target_lps: npt.ArrayLike,
    plane_point_lps: npt.ArrayLike,
    plane_normal_lps: npt.ArrayLike,
    *,
    near_mm: float = IN_PLANE_MM,
) -> PathOnPlane | None:
    """The path from ``entry_lps`` to ``target_lps`` as the plane shows it, or None.

    The plane passes through ``plane_point_lps`` with normal ``plane_normal_lps`` (any
    length). It shows the path when some point of the segment lies within ``near_mm`` of
    the plane (the segment meets the slab ``|distance| ≤ near_mm``); then the whole path,
    projected orthogonally onto the plane. See the module docstring.
    """
    normal = _unit(plane_normal_lps)
    point = np.asarray(plane_point_lps, dtype=np.float64)
    entry = np.asarray(entry_lps, dtype=np.float64)
    target = np.asarray(target_lps, dtype=np.float64)
    entry_off = float((entry - point) @ normal)
    target_off = float((target - point) @ normal)
    if min(entry_off, target_off) > near_mm or max(entry_off, target_off) < -near_mm:
        return None  # the whole path lies beyond the slab, on one side
    return PathOnPlane(
        entry_lps=entry - entry_off * normal,
        target_lps=target - target_off * normal,
        entry_offset_mm=entry_off,
        target_offset_mm=target_off,
    )


@dataclass(frozen=True, slots=True)
class PathPart:
    """One stretch of a path as a plane shows it, projected onto the plane (LPS mm).

    ``side`` is 0 for the stretch within the slab, +1 beyond it on the side the plane's
    normal points to, -1 beyond it on the other side. ``start_lps`` is the end nearer the
    skin entry.
    """

    side: int
    start_lps: npt.NDArray[np.float64]
    end_lps: npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class PathParts:
    """A path cut where it leaves a plane's slab (`path_parts_on_plane`).

    Attributes
    ----------
    shown
        The path as the plane shows it (`path_on_plane`).
    parts
        The stretches from the entry to the target: at most one beyond the slab on each
        side and the one within it, each projected onto the plane.
    crossing_lps
        Where the path passes through the plane (LPS mm), or None when it stays on one
        side of it (it only comes within the slab).
    """

    shown: PathOnPlane
    parts: tuple[PathPart, ...]
    crossing_lps: npt.NDArray[np.float64] | None


def path_parts_on_plane(
    entry_lps: npt.ArrayLike,
    target_lps: npt.ArrayLike,
    plane_point_lps: npt.ArrayLike,
    plane_normal_lps: npt.ArrayLike,
    *,
    near_mm: float = IN_PLANE_MM,
) -> PathParts | None:
    """The path as `path_on_plane` shows it, cut into the stretch within the slab
    ``|distance| ≤ near_mm`` and the stretches beyond it on either side, and where it
    crosses the plane; None when the plane does not show the path. See the module
    docstring."""
    shown = path_on_plane(entry_lps, target_lps, plane_point_lps, plane_normal_lps, near_mm=near_mm)
    if shown is None:
        return None
    de, dt = shown.entry_offset_mm, shown.target_offset_mm
    ends = np.array([shown.entry_lps, shown.target_lps])

    def at(f: float) -> npt.NDArray[np.float64]:  # projected point a fraction f along
        return np.asarray(ends[0] + f * (ends[1] - ends[0]), dtype=np.float64)

    if de == dt:
        return PathParts(shown, (PathPart(0, at(0.0), at(1.0)),), None)
    # fractions along the path where it meets the slab's faces, clipped to the path
    f_near, f_far = sorted(((near_mm - de) / (dt - de), (-near_mm - de) / (dt - de)))
    f_in, f_out = max(f_near, 0.0), min(f_far, 1.0)
    parts = []
    if f_in > 0.0:
        parts.append(PathPart(1 if de > 0 else -1, at(0.0), at(f_in)))
    parts.append(PathPart(0, at(f_in), at(f_out)))
    if f_out < 1.0:
        parts.append(PathPart(1 if dt > 0 else -1, at(f_out), at(1.0)))
    f_cross = -de / (dt - de)
    crossing = at(f_cross) if 0.0 <= f_cross <= 1.0 else None
    return PathParts(shown, tuple(parts), crossing)


_SIDE_WORDS = (("left", "right"), ("posterior", "anterior"), ("cranial", "caudal"))
"""LPS axis → the words for its plus and minus sides."""


def side_words(plane_normal_lps: npt.ArrayLike) -> tuple[str, str]:
    """How a physician names the plus side (``side == +1``) and the minus side of a plane
    whose normal runs mostly along one patient axis: ``("cranial", "caudal")`` for an
    axial plane with normal +z, ``("left", "right")`` for a sagittal one with normal +x,
    ``("posterior", "anterior")`` for a coronal one with normal +y (swapped for a normal
    pointing the other way)."""
    normal = _unit(plane_normal_lps)
    axis = int(np.argmax(np.abs(normal)))
    plus, minus = _SIDE_WORDS[axis]
    return (plus, minus) if normal[axis] > 0 else (minus, plus)


def path_legend(plane_normal_lps: npt.ArrayLike, near_mm: float = IN_PLANE_MM) -> str:
    """What the styles of a path drawn on a plane mean (`path_parts_on_plane`), in the
    words of the plane's sides (`side_words`); the planning screen and the report print
    it alike: ``"needle path: solid within 2 mm of this plane; thin where it runs cranial
    of it, dashed where caudal (projected); ring where it passes through the plane"``."""
    plus, minus = side_words(plane_normal_lps)
    return (
        f"needle path: solid within {near_mm:g} mm of this plane; thin where it runs {plus}"
        f" of it, dashed where {minus} (projected); ring where it passes through the plane"
    )


def _unit(vector: npt.ArrayLike) -> npt.NDArray[np.float64]:
    v = np.asarray(vector, dtype=np.float64)
    length = float(np.linalg.norm(v))
    if length == 0.0:
        raise ValueError("a plane's normal must not be the zero vector")
    return v / length
