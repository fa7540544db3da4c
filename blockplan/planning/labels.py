"""Where each target's name goes on a picture, so that no two names overlap.

Targets close together in a slice (the left and right L5 roots' targets and an MBB target at
the same level, two targets at one level and side) drew their names on top of each other.
The rule, `label_offsets`, places every name beside its own marker — never joined with
another's, so each marker keeps its own name:

* a name's first place is to the right of its marker, centred on it (where a lone name
  always stands);
* when that place overlaps a name already placed or another marker, the name moves up or
  down beside its marker by whole rows (a name height and `NAME_GAP_PX`; nearest first,
  up before down), then to
  the marker's left in the same order;
* a place free of names and markers but lying across a line drawn (a needle path) is
  taken only when no place is free of lines too;
* names keep at least `NAME_GAP_PX` of clear space between them (one rule for every view:
  the axial, sagittal and coronal slices alike), and `LABEL_GAP_PX` from their own marker;
* given the visible box (the canvas, ``view_px``), a place lying partly outside it counts
  the area outside as overlap, so a name stays inside the view whenever a place inside is
  free (zoomed in, a marker near the right edge gets its name on its left); a marker
  outside the box gets no name at all (its offset is NaN): a name pinned to the edge for a
  marker one cannot see would be read as the name of a marker one can;
* names are placed in the order given (the target numbers), so the same picture always
  gets the same layout; when no place is free, the name takes the place that overlaps
  least (the first such).

Where targets crowd a small picture (a narrow canvas with five targets at one level), a
whole name may find no place near its marker: `label_places` then draws the short form (the
target's number, ``"T1"``) in the first free place. There, a place also counts as taken when
the name would begin (its left end, where reading starts) nearer another marker than its
own: a long name on the left of the left L5 root's dot had reached over to the right-sided
dots and began beside one, and read as its. The whole name is kept where it
has a free place within `_NEAR_ROWS` rows of its
marker.

Pure numpy, in screen pixels (x to the right, y down): the caller turns the offsets into
world or page positions for its zoom.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = ["LABEL_GAP_PX", "NAME_GAP_PX", "LabelPlaces", "label_offsets", "label_places"]

LABEL_GAP_PX = 3.0
"""Clear space (pixels) between a name and its own marker."""

NAME_GAP_PX = 8.0
"""Least clear space (pixels) between two names, in every view: about one and a half word
spaces of the canvas font (close names once stood a single space apart and read as one)."""

_MAX_STEPS = 4
"""How many name heights a name may move up or down beside its marker."""

_NEAR_ROWS = 2
"""How many rows from its marker a whole name may stand when a short form is offered
(`label_places`); beyond, the short form stands nearer."""


def label_offsets(
    markers_px: npt.ArrayLike,
    sizes_px: npt.ArrayLike,
    *,
    marker_radius_px: float,
    gap_px: float = LABEL_GAP_PX,
    name_gap_px: float = NAME_GAP_PX,
    lines_px: npt.ArrayLike | None = None,
    view_px: npt.ArrayLike | None = None,
) -> npt.NDArray[np.float64]:
    """Offsets (``(n, 2)`` pixels, x right, y down) from each marker to the middle of its
    name's left edge, so that no two names and no name and marker overlap where avoidable,
    names stay inside the visible box where they can, and no name lies across a line (a
    needle path) where a place without one is free.

    ``markers_px`` holds the markers' centres (``(n, 2)`` pixels, x, y), ``sizes_px`` each
    name's width and height (``(n, 2)`` pixels, as drawn: measured with the font that draws
    it), ``marker_radius_px`` the markers' radius, ``gap_px`` the clear space between a
    name and its marker, ``name_gap_px`` the least clear space between two names,
    ``lines_px`` the lines drawn (``(m, 2, 2)``: each one's two ends, x, y) and
    ``view_px`` the visible box ``(x0, y0, x1, y1)`` in the same pixels (None: unbounded).
    A marker whose centre lies outside ``view_px`` gets no name: its row is NaN. See the
    module docstring for the order places are tried in.
    """
    places = _layout(
        markers_px, sizes_px, None, marker_radius_px, gap_px, name_gap_px, lines_px, view_px
    )
    return places.offsets


class LabelPlaces(NamedTuple):
    """Where each name goes (`label_places`)."""

    offsets: npt.NDArray[np.float64]
    """``(n, 2)`` pixels from each marker to the middle of its name's left edge (NaN: no
    name, the marker is outside the view)."""
    short: npt.NDArray[np.bool_]
    """``(n,)``: the short form is drawn (the target's number alone) instead of its name."""


def label_places(
    markers_px: npt.ArrayLike,
    sizes_px: npt.ArrayLike,
    short_sizes_px: npt.ArrayLike,
    *,
    marker_radius_px: float,
    gap_px: float = LABEL_GAP_PX,
    name_gap_px: float = NAME_GAP_PX,
    lines_px: npt.ArrayLike | None = None,
    view_px: npt.ArrayLike | None = None,
) -> LabelPlaces:
    """`label_offsets`, with a short form for each name (``short_sizes_px``: the target's
    number alone, ``"T1"``) drawn where the whole name has no place near its own marker
    that is clear and unambiguous (see the module docstring): where targets crowd a small
    canvas, "T1" beside its dot, not "T1 · L5 left SNRB" reaching over to another's."""
    return _layout(
        markers_px,
        sizes_px,
        short_sizes_px,
        marker_radius_px,
        gap_px,
        name_gap_px,
        lines_px,
        view_px,
    )


_Cost = tuple[float, float]


def _layout(
    markers_px: npt.ArrayLike,
    sizes_px: npt.ArrayLike,
    short_sizes_px: npt.ArrayLike | None,
    marker_radius_px: float,
    gap_px: float,
    name_gap_px: float,
    lines_px: npt.ArrayLike | None,
    view_px: npt.ArrayLike | None,
) -> LabelPlaces:
    """`label_places` (no short forms when ``short_sizes_px`` is None: `label_offsets`)."""
    markers = np.asarray(markers_px, dtype=np.float64).reshape(-1, 2)
    sizes = np.asarray(sizes_px, dtype=np.float64).reshape(-1, 2)
    if len(sizes) != len(markers):
        raise ValueError("one name size per marker is needed")
    short = None
    if short_sizes_px is not None:
        short = np.asarray(short_sizes_px, dtype=np.float64).reshape(-1, 2)
        if len(short) != len(markers):
            raise ValueError("one short name size per marker is needed")
    lines = np.zeros((0, 2, 2)) if lines_px is None else np.asarray(lines_px, dtype=np.float64)
    view = None if view_px is None else np.asarray(view_px, dtype=np.float64).reshape(4)
    if view is not None and not (view[0] < view[2] and view[1] < view[3]):
        raise ValueError(f"the visible box must be (x0, y0, x1, y1) with x0 < x1, y0 < y1: {view}")
    r = float(marker_radius_px)
    marker_boxes = np.hstack([markers - r, markers + r])  # x0, y0, x1, y1
    placed: list[npt.NDArray[np.float64]] = []
    offsets = np.full((len(markers), 2), np.nan)
    shortened = np.zeros(len(markers), dtype=bool)
    for n, marker in enumerate(markers):
        if view is not None and not _within(marker, view):
            continue  # off screen: no name (see the module docstring)
        room = _Room(
            marker,
            others=list(np.delete(marker_boxes, n, axis=0)),
            rivals=np.delete(markers, n, axis=0) if short is not None else np.zeros((0, 2)),
            placed=placed,
            lines=lines,
            view=view,
            name_gap=name_gap_px,
        )
        w, h = sizes[n]
        best, best_cost = room.best(_places(w, h, r, gap_px, name_gap_px), w, h)
        near = abs(best[1]) <= _NEAR_ROWS * (h + name_gap_px) + 1e-9
        if short is not None and not (best_cost[0] == 0.0 and near):
            sw, sh = short[n]
            tag, tag_cost = room.best(_places(sw, sh, r, gap_px, name_gap_px), sw, sh)
            if tag_cost[0] == 0.0 or tag_cost < best_cost:
                best, w, h = tag, sw, sh
                shortened[n] = True
        offsets[n] = best
        placed.append(_box(marker + best, w, h))
    return LabelPlaces(offsets, shortened)


class _Room(NamedTuple):
    """What a marker's name must keep clear of."""

    marker: npt.NDArray[np.float64]
    others: list[npt.NDArray[np.float64]]  # the other markers' boxes
    rivals: npt.NDArray[np.float64]  # the other markers' centres (none: not weighed)
    placed: list[npt.NDArray[np.float64]]  # the names placed so far
    lines: npt.NDArray[np.float64]
    view: npt.NDArray[np.float64] | None
    name_gap: float

    def cost(self, offset: npt.NDArray[np.float64], w: float, h: float) -> _Cost:
        """(overlap with names and markers, area outside the view and read as another
        marker's; length of lines crossed) of a name of ``w`` × ``h`` at ``offset``."""
        box = _box(self.marker + offset, w, h)
        return (
            _overlap(box, self.placed, self.name_gap)
            + _overlap(box, self.others, 0.0)
            + _outside(box, self.view)
            + _begins_at_another(box, self.marker, self.rivals),
            sum(_inside(box, line) for line in self.lines),
        )

    def best(
        self, places: list[npt.NDArray[np.float64]], w: float, h: float
    ) -> tuple[npt.NDArray[np.float64], _Cost]:
        """The first place of least cost (the first free one)."""
        best, best_cost = places[0], (np.inf, np.inf)
        for offset in places:
            c = self.cost(offset, w, h)
            if c < best_cost:
                best, best_cost = offset, c
            if c == (0.0, 0.0):
                break
        return best, best_cost


def _begins_at_another(
    box: npt.NDArray[np.float64], own: npt.NDArray[np.float64], others: npt.NDArray[np.float64]
) -> float:
    """A name's area when it begins (its left end, the middle of its first letter: where
    reading starts) nearer another marker than its own — it would read as that one's —
    else 0 (so that such a place counts as taken). The name of the left L5 root's target,
    on its left across a narrow canvas, began beside a right-sided dot and read as
    that target's."""
    if not len(others):
        return 0.0
    x0, y0, x1, y1 = box
    start = np.array([x0 + (y1 - y0) / 2, (y0 + y1) / 2])
    mine = float(np.hypot(*(start - own)))
    theirs = float(np.hypot(*(others - start).T).min())
    return float((x1 - x0) * (y1 - y0)) if theirs < mine else 0.0


def _places(
    w: float, h: float, r: float, gap: float, name_gap: float
) -> list[npt.NDArray[np.float64]]:
    """Candidate offsets of a name's left-middle point, in the order they are tried: rows
    a name height and the names' gap apart, so that names in adjacent rows keep it."""
    steps = [0.0]
    for k in range(1, _MAX_STEPS + 1):
        steps += [-k * (h + name_gap), k * (h + name_gap)]  # up before down
    right = [np.array([r + gap, dy]) for dy in steps]
    left = [np.array([-(r + gap) - w, dy]) for dy in steps]
    return right + left


def _box(left_middle: npt.NDArray[np.float64], w: float, h: float) -> npt.NDArray[np.float64]:
    x, y = left_middle
    return np.array([x, y - h / 2.0, x + w, y + h / 2.0])


def _within(point: npt.NDArray[np.float64], view: npt.NDArray[np.float64]) -> bool:
    return bool(view[0] <= point[0] <= view[2] and view[1] <= point[1] <= view[3])


def _outside(box: npt.NDArray[np.float64], view: npt.NDArray[np.float64] | None) -> float:
    """Area (pixels²) of ``box`` outside the visible box ``view`` (none without one)."""
    if view is None:
        return 0.0
    w = max(min(box[2], view[2]) - max(box[0], view[0]), 0.0)
    h = max(min(box[3], view[3]) - max(box[1], view[1]), 0.0)
    return float((box[2] - box[0]) * (box[3] - box[1]) - w * h)


def _overlap(
    box: npt.NDArray[np.float64], boxes: list[npt.NDArray[np.float64]], gap: float
) -> float:
    """Total area (pixels²) by which ``box`` overlaps ``boxes``, each grown by half the
    gap on every side (names keep the gap between them; a name may touch a marker)."""
    total = 0.0
    for other in boxes:
        w = min(box[2], other[2]) - max(box[0], other[0]) + gap
        h = min(box[3], other[3]) - max(box[1], other[1]) + gap
        if w > 0 and h > 0:
            total += w * h
    return total


def _inside(box: npt.NDArray[np.float64], line: npt.NDArray[np.float64]) -> float:
    """Length (pixels) of the line ``(2, 2)`` within ``box`` (Liang–Barsky clipping)."""
    (x0, y0), (x1, y1) = line
    dx, dy = x1 - x0, y1 - y0
    lo, hi = 0.0, 1.0
    for p, q in ((-dx, x0 - box[0]), (dx, box[2] - x0), (-dy, y0 - box[1]), (dy, box[3] - y0)):
        if p == 0.0:
            if q < 0.0:
                return 0.0  # parallel to this edge and outside it
            continue
        f = q / p
        if p < 0.0:
            lo = max(lo, f)
        else:
            hi = min(hi, f)
    return float(max(hi - lo, 0.0) * np.hypot(dx, dy))
