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

Pure numpy, in screen pixels (x to the right, y down): the caller turns the offsets into
world or page positions for its zoom.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["LABEL_GAP_PX", "NAME_GAP_PX", "label_offsets"]

LABEL_GAP_PX = 3.0
"""Clear space (pixels) between a name and its own marker."""

NAME_GAP_PX = 8.0
"""Least clear space (pixels) between two names, in every view: about one and a half word
spaces of the canvas font (close names once stood a single space apart and read as one)."""

_MAX_STEPS = 4
"""How many name heights a name may move up or down beside its marker."""


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
    markers = np.asarray(markers_px, dtype=np.float64).reshape(-1, 2)
    sizes = np.asarray(sizes_px, dtype=np.float64).reshape(-1, 2)
    lines = np.zeros((0, 2, 2)) if lines_px is None else np.asarray(lines_px, dtype=np.float64)
    if len(sizes) != len(markers):
        raise ValueError("one name size per marker is needed")
    view = None if view_px is None else np.asarray(view_px, dtype=np.float64).reshape(4)
    if view is not None and not (view[0] < view[2] and view[1] < view[3]):
        raise ValueError(f"the visible box must be (x0, y0, x1, y1) with x0 < x1, y0 < y1: {view}")
    r = float(marker_radius_px)
    marker_boxes = np.hstack([markers - r, markers + r])  # x0, y0, x1, y1
    placed: list[npt.NDArray[np.float64]] = []
    offsets = np.full((len(markers), 2), np.nan)
    for n, (marker, (w, h)) in enumerate(zip(markers, sizes, strict=True)):
        if view is not None and not _within(marker, view):
            continue  # off screen: no name (see the module docstring)
        others = list(np.delete(marker_boxes, n, axis=0))
        best, best_cost = None, (np.inf, np.inf)
        for offset in _places(w, h, r, gap_px, name_gap_px):
            box = _box(marker + offset, w, h)
            cost = (
                _overlap(box, placed, name_gap_px)
                + _overlap(box, others, 0.0)
                + _outside(box, view),
                sum(_inside(box, line) for line in lines),
            )
            if cost < best_cost:
                best, best_cost = offset, cost
            if cost == (0.0, 0.0):
                break
        assert best is not None
        offsets[n] = best
        placed.append(_box(marker + best, w, h))
    return offsets


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
