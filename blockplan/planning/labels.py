"""Where each target's name goes on a picture, so that no two names overlap.

Targets close together in a slice (the left and right L5 roots' targets and an MBB target at
the same level, two targets at one level and side) drew their names on top of each other.
The rule, `label_offsets`, places every name beside its own marker — never joined with
another's, so each marker keeps its own name:

* a name's first place is to the right of its marker, centred on it (where a lone name
  always stands);
* when that place overlaps a name already placed or another marker, the name moves up or
  down beside its marker by whole name heights (nearest first, up before down), then to
  the marker's left in the same order;
* names are placed in the order given (the target numbers), so the same picture always
  gets the same layout; when no place is free, the name takes the place that overlaps
  least (the first such).

Pure numpy, in screen pixels (x to the right, y down): the caller turns the offsets into
world or page positions for its zoom.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["LABEL_GAP_PX", "label_offsets"]

LABEL_GAP_PX = 3.0
"""Clear space (pixels) kept between a name and its marker and between two names."""

_MAX_STEPS = 4
"""How many name heights a name may move up or down beside its marker."""


def label_offsets(
    markers_px: npt.ArrayLike,
    sizes_px: npt.ArrayLike,
    *,
    marker_radius_px: float,
    gap_px: float = LABEL_GAP_PX,
) -> npt.NDArray[np.float64]:
    """Offsets (``(n, 2)`` pixels, x right, y down) from each marker to the middle of its
    name's left edge, so that no two names and no name and marker overlap where avoidable.

    ``markers_px`` holds the markers' centres (``(n, 2)`` pixels, x, y), ``sizes_px`` each
    name's width and height (``(n, 2)`` pixels) and ``marker_radius_px`` the markers'
    radius. See the module docstring for the order places are tried in.
    """
    markers = np.asarray(markers_px, dtype=np.float64).reshape(-1, 2)
    sizes = np.asarray(sizes_px, dtype=np.float64).reshape(-1, 2)
    if len(sizes) != len(markers):
        raise ValueError("one name size per marker is needed")
    r = float(marker_radius_px)
    marker_boxes = np.hstack([markers - r, markers + r])  # x0, y0, x1, y1
    placed: list[npt.NDArray[np.float64]] = []
    offsets = np.zeros((len(markers), 2))
    for n, (marker, (w, h)) in enumerate(zip(markers, sizes, strict=True)):
        others = np.delete(marker_boxes, n, axis=0)
        best, best_overlap = None, np.inf
        for offset in _places(w, h, r, gap_px):
            box = _box(marker + offset, w, h)
            overlap = _overlap(box, placed, gap_px) + _overlap(box, list(others), 0.0)
            if overlap < best_overlap:
                best, best_overlap = offset, overlap
            if overlap == 0.0:
                break
        assert best is not None
        offsets[n] = best
        placed.append(_box(marker + best, w, h))
    return offsets


def _places(w: float, h: float, r: float, gap: float) -> list[npt.NDArray[np.float64]]:
    """Candidate offsets of a name's left-middle point, in the order they are tried."""
    steps = [0.0]
    for k in range(1, _MAX_STEPS + 1):
        steps += [-k * (h + gap), k * (h + gap)]  # up before down
    right = [np.array([r + gap, dy]) for dy in steps]
    left = [np.array([-(r + gap) - w, dy]) for dy in steps]
    return right + left


def _box(left_middle: npt.NDArray[np.float64], w: float, h: float) -> npt.NDArray[np.float64]:
    x, y = left_middle
    return np.array([x, y - h / 2.0, x + w, y + h / 2.0])


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
