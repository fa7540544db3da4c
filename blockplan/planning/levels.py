"""Vertebral levels: which level to mark next, and at which level and side a point lies.

The physician marks vertebral body centres (``"L4"``) and, optionally, disc centres
(``"L4-L5"``) on the images. Those markers define the **spine axis**: the polyline through
the marker centres in cranio-caudal level order. Every other position (a target, a scar
voxel) is given a level by projecting it onto that axis.

The level rule
--------------
Each marker has a *level coordinate* in vertebra units: the vertebra's position in the
chain C1, C2, …, L5, (L6,) S1, …, S5 (L6 counted only for a transitional spine), and a disc
halfway, ``+0.5``, between its two vertebrae. A point's level coordinate ``c`` is
interpolated linearly along the axis between the two markers it projects between (its
perpendicular foot on the nearest polyline segment). With ``n = floor(c)`` and
``f = c - n`` and the segment zone ``z`` (default 0.5):

* ``f < (1 - z) / 2``          → vertebra ``n``;
* ``(1 - z) / 2 <= f < (1 + z) / 2`` → the motion segment ``n``–``n + 1`` (disc, facet joint);
* ``f >= (1 + z) / 2``         → vertebra ``n + 1``.

With the default ``z = 0.5`` the boundary between a vertebra and its disc lies **halfway
between the vertebral body centre and the disc centre along the axis** — the marked disc
centre, or, where the disc was not marked, the midpoint of the two body centres. So a
point near the L4-L5 disc is ``"L4-L5"``, one nearer the L4 body centre ``"L4"``. For
facets and medial branches the segment is the clinically relevant unit: note that medial
branch *names* follow their own convention (the L4 medial branch runs over the L5
transverse process); this module reports the anatomical level a point lies at.

Between two markers of non-adjacent levels (``L1`` and ``L3``) the levels in between are
interpolated with equal spacing. Beyond the first and last marker the axis is extended
along its end segment only as far as that marker's own zone: a point further out gets
``level=None`` (mark the next level rather than guess).

The side
--------
The mid-sagittal plane at a point is the plane that contains the local spine axis (the
polyline segment the point projects onto) and the patient's antero-posterior axis (LPS y).
Its normal points to the patient's **left** (+x in LPS). The signed distance of the point
from that plane is ``lateral_mm`` (positive = patient left); within ± the midline tolerance
(default 3 mm, inclusive) the side is `Laterality.MIDLINE`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from blockplan.case.model import LevelMarker
from blockplan.case.vocab import Laterality, SpinalLevel, Structure, is_segment, parse_level
from blockplan.errors import PlanningError
from blockplan.planning._common import PointLike, as_lps, common_frame, fmt_lps

__all__ = [
    "DEFAULT_MAX_SPACING_RATIO",
    "DEFAULT_MIDLINE_TOLERANCE_MM",
    "DEFAULT_SEGMENT_ZONE",
    "AxisLocation",
    "LevelAssignment",
    "SpineAxis",
    "assign_level",
    "level_for_structure",
    "markable_levels",
    "nearest_disc",
    "propose_next_level",
    "renumber_levels",
]

DEFAULT_MIDLINE_TOLERANCE_MM = 3.0
"""Points within this distance (mm) of the mid-sagittal plane are `Laterality.MIDLINE`."""

DEFAULT_SEGMENT_ZONE = 0.5
"""Fraction of a vertebra-to-vertebra step, centred on the disc, assigned to the segment."""

DEFAULT_MAX_SPACING_RATIO = 1.6
"""Largest ratio between the widest and the narrowest gap (mm per level) of vertebral body
markers before they are refused as mislabelled (a skipped level doubles a gap; lumbar
levels differ by ~1.3× at most)."""

MIN_MARKER_DISTANCE_MM = 2.0
"""Two markers closer than this (mm) are treated as the same place clicked twice."""

MAX_AXIS_TILT_DEG = 75.0
"""Largest angle between a marker-to-marker step and the patient's z axis."""

_CHUNK = 65536  # points per vectorised block (bounds the (n, segments, 3) temporaries)


def _chain(transitional_l6: bool) -> tuple[str, ...]:
    return tuple(v.value for v in SpinalLevel if transitional_l6 or v is not SpinalLevel.L6)


def _mentions_l6(levels: Sequence[str]) -> bool:
    return any("L6" in level.split("-") for level in levels)


def _normalise(level: str, what: str) -> str:
    try:
        return parse_level(level)
    except ValueError as err:
        raise PlanningError(f"{what}: {err}") from err


def _half_rank(level: str, chain: tuple[str, ...], transitional: bool) -> int:
    """Twice the level coordinate: vertebra ``n`` → ``2n``, its disc with ``n + 1`` → ``2n + 1``."""
    if is_segment(level):
        upper, lower = level.split("-")
        n = chain.index(upper) if upper in chain else -1
        if 0 <= n < len(chain) - 1 and chain[n + 1] == lower:
            return 2 * n + 1
    elif level in chain:
        return 2 * chain.index(level)
    spine = "with a transitional L6" if transitional else "without L6 (L5-S1 is the segment)"
    raise PlanningError(
        f"level {level} does not fit a spine {spine}: the markers mix L6 with L5-S1; "
        "rename the L5-S1 marker L5-L6 or L6-S1, or the L6 marker S1"
    )


def _name(half_rank: int, chain: tuple[str, ...]) -> str:
    n = half_rank // 2
    return chain[n] if half_rank % 2 == 0 else f"{chain[n]}-{chain[n + 1]}"


def markable_levels(
    markers: Sequence[LevelMarker] = (), *, transitional_l6: bool = False
) -> tuple[str, ...]:
    """Every level a marker can name, cranial to caudal: ``C1, C1-C2, C2, …, S5``.

    L6 and its segments appear for a transitional spine: ``transitional_l6`` (a lumbarised
    S1 noted), or a marker already naming L6.
    """
    chain = _chain(transitional_l6 or _mentions_l6([m.level for m in markers]))
    return tuple(_name(n, chain) for n in range(2 * len(chain) - 1))


def renumber_levels(
    levels: Sequence[str], old: str, new: str, *, transitional_l6: bool = False
) -> tuple[str, ...]:
    """Every level moved by the step that turns ``old`` into ``new`` (a recount).

    A physician who counted from the wrong vertebra renames one marker and every other
    marker moves with it (``T12, L1, L2`` renamed from ``T12`` to ``L3`` become
    ``L3, L4, L5``). A vertebra renames to a vertebra, a disc to a disc.

    Raises
    ------
    PlanningError
        When ``old`` and ``new`` are not both vertebrae or both discs, or a level would
        move beyond C1 or S5.
    """
    old, new = _normalise(old, "level"), _normalise(new, "new level")
    l6 = transitional_l6 or _mentions_l6([*levels, old, new])
    chain = _chain(l6)
    step = _half_rank(new, chain, l6) - _half_rank(old, chain, l6)
    if step % 2:
        raise PlanningError(
            f"renaming {old} to {new} turns a vertebra into a disc or back: "
            "rename a vertebra to a vertebra, a disc to a disc"
        )
    out = []
    for level in levels:
        moved = _half_rank(_normalise(level, "level"), chain, l6) + step
        if not 0 <= moved <= 2 * (len(chain) - 1):
            raise PlanningError(
                f"renumbering {old} as {new} moves {level} beyond C1 or S5: "
                "check the new name, or rename that marker alone"
            )
        out.append(_name(moved, chain))
    return tuple(out)


def propose_next_level(
    markers: Sequence[LevelMarker],
    *,
    start: str = "T12",
    include_discs: bool = True,
    transitional_l6: bool | None = None,
) -> str:
    """The next level to mark, going caudally from the most caudal marker.

    Vertebral bodies and discs alternate (``L4`` → ``L4-L5`` → ``L5`` → ``L5-S1`` → ``S1``);
    with ``include_discs=False`` only vertebrae are proposed (``L4`` → ``L5``).

    Parameters
    ----------
    markers
        The level markers placed so far, in any order.
    start
        Level proposed when nothing is marked yet.
    include_discs
        Propose disc (motion-segment) markers between the vertebrae.
    transitional_l6
        Whether the spine has a sixth lumbar vertebra. ``None`` (default): yes when a marker
        names L6 (``"L6"``, ``"L5-L6"``, ``"L6-S1"``), so L5 is followed by S1 unless a
        marker says L6.

    Returns
    -------
    str
        A vertebra (``"L5"``) or motion segment (``"L4-L5"``).

    Raises
    ------
    PlanningError
        When ``start`` is not a level, the markers mix L6 with L5-S1, or the most caudal
        marker is S5 (nothing below it).
    """
    levels = [m.level for m in markers]
    if not levels:
        return _normalise(start, "start level")
    l6 = _mentions_l6(levels) if transitional_l6 is None else transitional_l6
    chain = _chain(l6)
    last = max(_half_rank(level, chain, l6) for level in levels)
    nxt = last + 1 if include_discs else (last // 2 + 1) * 2
    if nxt > 2 * (len(chain) - 1):
        raise PlanningError(
            f"{_name(last, chain)} is the most caudal level there is; nothing to mark below it"
        )
    return _name(nxt, chain)


def _check_steps(names: Sequence[str], centres: npt.NDArray[np.float64]) -> None:
    """Refuse markers (in cranio-caudal label order) that coincide, run cranially or tilt.

    Each step from one marker to the next must be at least `MIN_MARKER_DISTANCE_MM` long,
    go caudally (decreasing LPS z) and lie within `MAX_AXIS_TILT_DEG` of the z axis.
    """
    steps = np.diff(centres, axis=0)
    lengths = np.linalg.norm(steps, axis=1)
    for n, (step, length) in enumerate(zip(steps, lengths)):
        a, b = names[n], names[n + 1]
        if length < MIN_MARKER_DISTANCE_MM:
            raise PlanningError(
                f"markers {a} and {b} lie {length:.1f} mm apart (same place?): "
                "move one of them to its own centre"
            )
        if step[2] >= 0:
            raise PlanningError(
                f"marker {b} lies {step[2]:.1f} mm cranial to {a} (LPS z "
                f"{centres[n + 1][2]:.1f} vs {centres[n][2]:.1f} mm), but {b} is below "
                f"{a}: check the level labels"
            )
        tilt = math.degrees(math.acos(min(1.0, -step[2] / length)))
        if tilt > MAX_AXIS_TILT_DEG:
            raise PlanningError(
                f"the step from marker {a} to {b} is {tilt:.0f}° from the patient's "
                f"cranio-caudal axis (at most {MAX_AXIS_TILT_DEG:.0f}° expected): "
                "check the marker positions"
            )


def _check_spacing(
    names: tuple[str, ...],
    half: npt.NDArray[np.int64],
    centres: npt.NDArray[np.float64],
    max_ratio: float,
) -> None:
    """Refuse vertebral body markers whose gaps (mm per level) differ by more than a factor."""
    body = half % 2 == 0
    if np.count_nonzero(body) < 3:
        return
    h, c = half[body], centres[body]
    idx = np.flatnonzero(body)
    per_level = np.linalg.norm(np.diff(c, axis=0), axis=1) / (np.diff(h) / 2.0)
    big, small = int(np.argmax(per_level)), int(np.argmin(per_level))
    if per_level[big] > max_ratio * per_level[small]:
        raise PlanningError(
            f"vertebral markers {names[idx[big]]} and {names[idx[big + 1]]} are "
            f"{per_level[big]:.1f} mm per level apart, but {names[idx[small]]} and "
            f"{names[idx[small + 1]]} {per_level[small]:.1f} mm (more than {max_ratio:g}×): "
            "a level skipped or mislabelled? Check the labels, or move or rename a marker"
        )


@dataclass(frozen=True, slots=True)
class LevelAssignment:
    """Where a point lies relative to the marked spine.

    Attributes
    ----------
    level
        Vertebra (``"L5"``) or motion segment (``"L4-L5"``); None when the point lies beyond
        the zone of the first or last marker (see ``reason``).
    side
        `Laterality.LEFT` / ``RIGHT`` (patient's) or ``MIDLINE`` (within the tolerance).
    lateral_mm
        Signed distance (mm) from the local mid-sagittal plane; positive = patient left.
    distance_mm
        Distance (mm) from the point to the spine axis (its perpendicular foot).
    level_coordinate
        Position along the spine in vertebra units (see the module docstring).
    axis_point_lps
        The point's foot on the spine axis (LPS mm).
    outside
        ``"cranial"`` or ``"caudal"`` when ``level`` is None, else None.
    reason
        Why ``level`` is None (empty otherwise).
    """

    level: str | None
    side: Laterality
    lateral_mm: float
    distance_mm: float
    level_coordinate: float
    axis_point_lps: tuple[float, float, float]
    outside: Literal["cranial", "caudal"] | None = None
    reason: str = ""

    @property
    def is_segment(self) -> bool:
        """True when the point lies at a motion segment (disc / facet level)."""
        return self.level is not None and is_segment(self.level)


@dataclass(frozen=True, slots=True)
class AxisLocation:
    """Vectorised projection of ``n`` points onto a `SpineAxis` (arrays of length ``n``)."""

    level_coordinate: npt.NDArray[np.float64]
    half_rank: npt.NDArray[np.int64]
    """Twice the level coordinate rounded by the zone rule (vertebra ``2n``, segment ``2n+1``)."""
    inside: npt.NDArray[np.bool_]
    """False where the point lies beyond the first or last marker's zone."""
    lateral_mm: npt.NDArray[np.float64]
    distance_mm: npt.NDArray[np.float64]
    axis_point_lps: npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, eq=False)
class SpineAxis:
    """The spine axis through level markers, and the level rule on it.

    Build with `SpineAxis.from_markers`; reuse it for many points (`locate`,
    `assign`).

    Attributes
    ----------
    levels
        Marker levels in cranio-caudal order.
    centres_lps
        ``(m, 3)`` marker centres in that order (LPS mm).
    half_ranks
        ``(m,)`` twice each marker's level coordinate.
    chain
        The vertebra names the level coordinate counts (with or without L6).
    frame_of_reference_uid
        The markers' frame of reference.
    segment_zone
        Fraction of each vertebra-to-vertebra step, centred on the disc, that belongs to
        the motion segment.
    """

    levels: tuple[str, ...]
    centres_lps: npt.NDArray[np.float64]
    half_ranks: npt.NDArray[np.int64]
    chain: tuple[str, ...]
    frame_of_reference_uid: str
    segment_zone: float = DEFAULT_SEGMENT_ZONE

    @classmethod
    def from_markers(
        cls,
        markers: Sequence[LevelMarker],
        *,
        transitional_l6: bool | None = None,
        segment_zone: float = DEFAULT_SEGMENT_ZONE,
        max_spacing_ratio: float | None = DEFAULT_MAX_SPACING_RATIO,
    ) -> SpineAxis:
        """Build the axis from at least two level markers of one frame of reference.

        Parameters
        ----------
        markers
            Vertebral body and/or disc centre markers, any order.
        transitional_l6
            Whether the spine has an L6; None infers it from the marker names.
        segment_zone
            See the module docstring; must lie strictly between 0 and 1.
        max_spacing_ratio
            With three or more vertebral body markers, refuse when the widest gap between
            consecutive body markers (mm per level) exceeds the narrowest by more than this
            factor (a skipped or mislabelled level); None disables the check. Disc markers
            are not part of this check (the cranio-caudal order check covers them).

        Raises
        ------
        PlanningError
            Fewer than two markers; frames of reference differ; a level is marked twice; two
            markers coincide; the levels do not run caudally (decreasing LPS z) in label
            order; a step is nearly horizontal; gaps are inconsistent; L6 mixed with L5-S1.
        """
        markers = list(markers)
        if len(markers) < 2:
            raise PlanningError(
                f"at least 2 level markers are needed to define the spine axis; got "
                f"{len(markers)}: mark two or more vertebral body or disc centres first"
            )
        frame = common_frame(
            (f"level marker {m.level}", m.position.frame_of_reference_uid) for m in markers
        )
        assert frame is not None  # every LevelMarker carries one
        if not 0.0 < segment_zone < 1.0:
            raise PlanningError(f"segment_zone must lie between 0 and 1; got {segment_zone}")
        levels = [m.level for m in markers]
        dupes = sorted({lv for lv in levels if levels.count(lv) > 1})
        if dupes:
            raise PlanningError(
                f"level(s) {', '.join(dupes)} marked more than once: delete the extra marker"
            )
        l6 = _mentions_l6(levels) if transitional_l6 is None else transitional_l6
        chain = _chain(l6)
        ranked = sorted(((_half_rank(m.level, chain, l6), m) for m in markers), key=lambda x: x[0])
        half = np.array([h for h, _ in ranked], dtype=np.int64)
        centres = np.array([m.position.lps for _, m in ranked], dtype=np.float64)
        names = tuple(m.level for _, m in ranked)
        half.setflags(write=False)  # the axis is immutable, its arrays too
        centres.setflags(write=False)

        _check_steps(names, centres)
        if max_spacing_ratio is not None:
            _check_spacing(names, half, centres, max_spacing_ratio)
        return cls(
            levels=names,
            centres_lps=centres,
            half_ranks=half,
            chain=chain,
            frame_of_reference_uid=frame,
            segment_zone=float(segment_zone),
        )

    # -- the level rule ------------------------------------------------------------------
    def level_name(self, half_rank: int) -> str:
        """Name of a half rank: ``2n`` → vertebra ``n``, ``2n + 1`` → segment ``n``–``n + 1``."""
        return _name(int(half_rank), self.chain)

    def coordinate_of(self, level: str) -> float:
        """The level coordinate of a level name on this spine (vertebra units)."""
        return _half_rank(_normalise(level, "level"), self.chain, "L6" in self.chain) / 2.0

    def _zone_half_rank(self, coord: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
        n = np.floor(coord)
        f = coord - n
        lo = (1.0 - self.segment_zone) / 2.0
        hi = (1.0 + self.segment_zone) / 2.0
        step = np.where(f < lo, 0, np.where(f < hi, 1, 2))
        return (2 * n.astype(np.int64) + step).astype(np.int64)

    def locate(self, points: npt.ArrayLike) -> AxisLocation:
        """Project LPS points ``(n, 3)`` (mm) onto the axis and apply the level rule."""
        pts = np.atleast_2d(np.asarray(points, dtype=np.float64))
        if pts.ndim != 2 or pts.shape[1] != 3:
            raise PlanningError(f"expected LPS points of shape (n, 3); got {pts.shape}")
        a = self.centres_lps[:-1]
        d = np.diff(self.centres_lps, axis=0)
        len2 = np.einsum("ij,ij->i", d, d)
        ranks = self.half_ranks.astype(np.float64) / 2.0
        t_lo = np.zeros(len(d))
        t_hi = np.ones(len(d))
        t_lo[0] = -np.inf  # the axis continues beyond the end markers
        t_hi[-1] = np.inf
        tangent = d / np.sqrt(len2)[:, None]
        normal = np.cross(tangent, np.array([0.0, 1.0, 0.0]))
        normal /= np.linalg.norm(normal, axis=1)[:, None]
        normal *= np.sign(normal[:, 0])[:, None]  # towards the patient's left (+x)

        n = len(pts)
        coord = np.empty(n)
        lateral = np.empty(n)
        dist = np.empty(n)
        foot = np.empty((n, 3))
        for s in range(0, n, _CHUNK):
            p = pts[s : s + _CHUNK]
            rel = p[:, None, :] - a[None, :, :]
            t = np.clip(np.einsum("nsk,sk->ns", rel, d) / len2, t_lo, t_hi)
            closest = a[None, :, :] + t[:, :, None] * d[None, :, :]
            d2 = np.einsum("nsk,nsk->ns", p[:, None, :] - closest, p[:, None, :] - closest)
            k = np.argmin(d2, axis=1)
            rows = np.arange(len(p))
            tk = t[rows, k]
            coord[s : s + _CHUNK] = ranks[k] + tk * (ranks[k + 1] - ranks[k])
            f = closest[rows, k]
            foot[s : s + _CHUNK] = f
            dist[s : s + _CHUNK] = np.sqrt(d2[rows, k])
            lateral[s : s + _CHUNK] = np.einsum("nk,nk->n", p - f, normal[k])
        half = self._zone_half_rank(coord)
        inside = (half >= self.half_ranks[0]) & (half <= self.half_ranks[-1])
        return AxisLocation(
            level_coordinate=coord,
            half_rank=half,
            inside=inside,
            lateral_mm=lateral,
            distance_mm=dist,
            axis_point_lps=foot,
        )

    def assign(
        self,
        point: PointLike,
        *,
        midline_tolerance_mm: float = DEFAULT_MIDLINE_TOLERANCE_MM,
    ) -> LevelAssignment:
        """Level and side of one point (see `assign_level`)."""
        xyz, frame = as_lps(point, "point")
        common_frame(
            [("level markers", self.frame_of_reference_uid), ("point", frame)],
        )
        if midline_tolerance_mm < 0:
            raise PlanningError(f"midline_tolerance_mm must be ≥ 0 mm; got {midline_tolerance_mm}")
        loc = self.locate(xyz[None, :])
        lateral = float(loc.lateral_mm[0])
        if abs(lateral) <= midline_tolerance_mm:
            side = Laterality.MIDLINE
        else:
            side = Laterality.LEFT if lateral > 0 else Laterality.RIGHT
        half = int(loc.half_rank[0])
        level: str | None = None
        outside: Literal["cranial", "caudal"] | None = None
        reason = ""
        if half < self.half_ranks[0]:
            outside = "cranial"
            reason = (
                f"point {fmt_lps(xyz)} lies cranial to the zone of the highest marker "
                f"{self.levels[0]}: mark the level above it first"
            )
        elif half > self.half_ranks[-1]:
            outside = "caudal"
            reason = (
                f"point {fmt_lps(xyz)} lies caudal to the zone of the lowest marker "
                f"{self.levels[-1]}: mark the level below it first"
            )
        else:
            level = self.level_name(half)
        return LevelAssignment(
            level=level,
            side=side,
            lateral_mm=lateral,
            distance_mm=float(loc.distance_mm[0]),
            level_coordinate=float(loc.level_coordinate[0]),
            axis_point_lps=(
                float(loc.axis_point_lps[0, 0]),
                float(loc.axis_point_lps[0, 1]),
                float(loc.axis_point_lps[0, 2]),
            ),
            outside=outside,
            reason=reason,
        )


def assign_level(
    point_lps: PointLike,
    markers: Sequence[LevelMarker] | SpineAxis,
    *,
    midline_tolerance_mm: float = DEFAULT_MIDLINE_TOLERANCE_MM,
    segment_zone: float = DEFAULT_SEGMENT_ZONE,
    transitional_l6: bool | None = None,
    max_spacing_ratio: float | None = DEFAULT_MAX_SPACING_RATIO,
) -> LevelAssignment:
    """The vertebra or motion segment, and the side, at which a point lies.

    Parameters
    ----------
    point_lps
        The point: a `PatientPoint` (its frame of reference must match the markers') or
        ``(x, y, z)`` in LPS mm (+x patient left, +y posterior, +z superior).
    markers
        Level markers (at least two, one frame of reference), or a prebuilt `SpineAxis`
        (then the remaining keyword arguments except ``midline_tolerance_mm`` are ignored).
    midline_tolerance_mm
        Half-width (mm) of the midline band; ``|lateral_mm| <= tolerance`` → MIDLINE.
    segment_zone, transitional_l6, max_spacing_ratio
        See `SpineAxis.from_markers` and the module docstring.

    Returns
    -------
    LevelAssignment
        ``level`` None (with ``reason``) when the point lies beyond the marked levels.

    Raises
    ------
    PlanningError
        Fewer than two markers, frames of reference that differ, inconsistent markers (see
        `SpineAxis.from_markers`), or a point that is not three finite numbers.
    """
    axis = (
        markers
        if isinstance(markers, SpineAxis)
        else SpineAxis.from_markers(
            markers,
            transitional_l6=transitional_l6,
            segment_zone=segment_zone,
            max_spacing_ratio=max_spacing_ratio,
        )
    )
    return axis.assign(point_lps, midline_tolerance_mm=midline_tolerance_mm)


def nearest_disc(point_lps: npt.ArrayLike, axis: SpineAxis) -> str | None:
    """The disc (motion segment, ``"L4-L5"``) nearest a point along the spine axis.

    ``point_lps`` is ``(x, y, z)`` in LPS mm in the axis's frame of reference. The point's
    level coordinate ``c`` (see the module docstring) lies within half a level of the disc
    ``floor(c) + 0.5``; None when the point lies beyond the zone of the first or last
    marker (mark the next level rather than guess).
    """
    loc = axis.locate(np.asarray(point_lps, dtype=np.float64).reshape(1, 3))
    if not bool(loc.inside[0]):
        return None
    disc = 2 * int(np.floor(loc.level_coordinate[0])) + 1
    if disc >= 2 * (len(axis.chain) - 1):
        return None  # below the last vertebra of the chain: no disc
    return axis.level_name(disc)


def level_for_structure(level: str | None, structure: Structure | str) -> str | None:
    """The level name a target of ``structure`` gets from where it lies.

    ``level`` is where the point is (`assign_level`): a vertebra or a motion segment.

    * A nerve root is named by its vertebra. Thoracic, lumbar and sacral roots leave
      the canal below the pedicle of the vertebra of the same number, so a target in the
      L5-S1 foramen tests the L5 root; cervical roots leave above theirs, so a target in
      the C4-C5 foramen tests C5 (C7-T1 carries C8, which has no vertebra: kept as the
      segment). A point level with a vertebral body keeps that vertebra.
    * A facet joint and a disc are motion segments; a point level with a vertebral body
      keeps its vertebra (the physician names the joint).
    * A sacroiliac joint has no spinal level (None).
    """
    structure = Structure(structure)
    if level is None or structure is Structure.SACROILIAC_JOINT:
        return None
    if structure is not Structure.NERVE_ROOT or not is_segment(level):
        return level
    upper, lower = level.split("-")
    if upper.startswith("C"):
        return lower if lower.startswith("C") else level
    return upper
