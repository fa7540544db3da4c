"""A planned needle path tilted out of the displayed plane is drawn on it, projected (Xvfb).

The demo's right L5 TFESI is aimed 6 mm caudal: napari alone draws its 3-D line on no
axial slice. Its projection onto the slice shown (`blockplan.planning.path_on_plane`) must
be on screen, in the path's verdict colour, wherever the physician looks at its target;
a path the slice does not come near must not be.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qtpy.QtCore import Qt

from blockplan.planning import IN_PLANE_MM, path_legend, path_on_plane, path_parts_on_plane
from napari_blockplan._convert import lps_to_world, world_to_lps
from napari_blockplan._layers import layer_for
from tests.plugin._gui import (
    activate,
    canvas_widget,
    canvas_with_and_without,
    pixel_of,
    select_target,
    settle,
)

pytestmark = pytest.mark.gui

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"
NORMALS = {"axial": (0, 0, 1), "sagittal": (1, 0, 0), "coronal": (0, 1, 0)}


def _path(case: Any, target_id: str) -> tuple[np.ndarray, np.ndarray, int]:
    """Entry and target (LPS) of the target's path, and its index in the layer."""
    index = next(n for n, t in enumerate(case.trajectories) if t.target_id == target_id)
    traj = case.trajectories[index]
    entry = np.asarray(traj.entry.lps, dtype=float)
    return entry, np.asarray(case.target(target_id).position.lps, dtype=float), index


def _painted(
    shots: tuple[np.ndarray, np.ndarray], layer: Any, index: int, point: Any, radius: int = 3
) -> bool:
    """True when some pixel within ``radius`` of ``point`` (a QPoint) shows the path
    ``index``'s colour blended at the layer's opacity over the picture without it."""
    with_layer, without = shots
    colour = np.asarray(layer.edge_color[index][:3], dtype=float) * 255
    alpha = float(layer.opacity)
    rows = slice(point.y() - radius, point.y() + radius + 1)
    cols = slice(point.x() - radius, point.x() + radius + 1)
    expected = alpha * colour + (1 - alpha) * without[rows, cols]
    changed = np.abs(with_layer[rows, cols] - without[rows, cols]).max(axis=2) > 40
    close = np.abs(with_layer[rows, cols] - expected).max(axis=2) < 30
    return bool((changed & close).any())


def _along(entry: np.ndarray, target: np.ndarray, n: int = 15) -> list[np.ndarray]:
    """Patient positions evenly along a segment, its ends (markers) left out."""
    return [entry + f * (target - entry) for f in np.linspace(0.15, 0.85, n)]


def _plane_shown(viewer: Any) -> tuple[np.ndarray, np.ndarray, float]:
    """The slice on screen as a plane (a point and the normal, LPS) and its slab's half
    thickness (2 mm, or half the slice step when more), from napari's public dims."""
    axis = viewer.dims.not_displayed[0]
    point = world_to_lps(np.asarray(viewer.dims.point, dtype=float))
    normal = world_to_lps(np.eye(3)[axis])
    return point, normal, max(IN_PLANE_MM, float(viewer.dims.range[axis].step) / 2)


def _shape_of_colour(layer: Any, colour: Any) -> int:
    """Index of a shape of the layer drawn in ``colour``."""
    rgb = np.asarray(colour, dtype=float)[:3]
    return next(n for n, c in enumerate(layer.edge_color) if np.allclose(c[:3], rgb))


@pytest.mark.parametrize("plane", ["axial", "sagittal", "coronal"])
def test_a_tilted_path_is_drawn_projected_on_its_targets_slice(planning_demo, plane: str) -> None:
    """On its target's slice, the right L5 TFESI path is drawn whole, projected: solid
    within the slice's 2 mm slab, and beyond it thin (plus side: posterior in the coronal
    view) or dashed (minus side: caudal in the axial view, right in the sagittal view)."""
    viewer, _ws, planning, case, doc = planning_demo
    entry, target, index = _path(case, "t1")  # right L5 TFESI, entry 6 mm caudal
    assert abs(entry[2] - target[2]) > 5.0
    doc.click(planning.view_buttons[plane], plane.capitalize())
    select_target(doc, planning, "t1")
    layer = layer_for(viewer, "trajectories")
    beyond = layer_for(viewer, "paths beyond the slice")
    assert viewer.layers.selection.active not in (layer, beyond)  # never made active
    point, normal, near = _plane_shown(viewer)
    assert np.allclose(normal, NORMALS[plane])
    cut = path_parts_on_plane(entry, target, point, normal, near_mm=near)
    assert cut is not None
    expected_sides = {"axial": [-1, 0], "sagittal": [-1, 0], "coronal": [1, 0]}[plane]
    assert [p.side for p in cut.parts] == expected_sides
    shots = canvas_with_and_without(viewer, layer)
    inside = cut.parts[-1]
    missing = [
        p.round(1).tolist()
        for p in _along(inside.start_lps, inside.end_lps)
        if not _painted(shots, layer, index, pixel_of(viewer, p))
    ]
    assert not missing, f"the path in the slab is not drawn solid at {missing}"
    outside = cut.parts[0]
    shots = canvas_with_and_without(viewer, beyond)
    colour = _shape_of_colour(beyond, layer.edge_color[index])
    painted = [
        _painted(shots, beyond, colour, pixel_of(viewer, p), radius=1)
        for p in _along(outside.start_lps, outside.end_lps, 30)
    ]
    if outside.side == 1:  # thin, continuous
        assert all(painted), painted
    else:  # dashed: drawn along most of it, with gaps
        assert 0.4 < np.mean(painted) < 0.95, painted
    # the beyond layer holds exactly the core's stretch beyond the slab
    drawn = [world_to_lps(np.asarray(d)) for d in beyond.data]
    assert np.allclose(drawn[0][0], outside.start_lps, atol=1e-6)
    assert any(np.allclose(d[-1], outside.end_lps, atol=1e-6) for d in drawn)


def test_a_path_the_slice_does_not_come_near_is_not_drawn(planning_demo) -> None:
    viewer, _ws, planning, case, doc = planning_demo
    doc.click(planning.view_buttons["axial"], "Axial")
    select_target(doc, planning, "t1")  # the axial slice of the right L5 TFESI target
    layer = layer_for(viewer, "trajectories")
    far_entry, far_target, far = _path(case, "t3")  # a right MBB path 43 mm cranial
    assert abs(far_target[2] - case.target("t1").position.lps[2]) > 40.0
    # its projection where it does not run beside the paths the slice does show
    others = [_path(case, t)[:2] for t in ("t1", "t2")]
    lonely = [p for p in _along(far_entry, far_target) if _far_from(p, others, 6.0)]
    assert len(lonely) >= 5
    shots = canvas_with_and_without(viewer, layer)
    assert not any(_painted(shots, layer, far, pixel_of(viewer, p)) for p in lonely)
    # on its own slice, the same test sees it
    select_target(doc, planning, "t3")
    shots = canvas_with_and_without(viewer, layer)
    assert all(_painted(shots, layer, far, pixel_of(viewer, p)) for p in lonely)


def _far_from(point: np.ndarray, segments: list[tuple[Any, Any]], mm: float) -> bool:
    """True when ``point`` lies more than ``mm`` from every segment, in the axial plane."""
    for a, b in segments:
        a2, b2, p2 = np.asarray(a)[:2], np.asarray(b)[:2], point[:2]
        f = np.clip((p2 - a2) @ (b2 - a2) / ((b2 - a2) @ (b2 - a2)), 0.0, 1.0)
        if np.linalg.norm(p2 - (a2 + f * (b2 - a2))) <= mm:
            return False
    return True


def test_stepping_slices_with_the_arrow_keys_follows_the_path(planning_demo) -> None:
    """Right/Left arrow on the canvas step one slice up/down: the path stays drawn on
    every slice between its entry and target and disappears beyond its slab — the same
    layer, updated, never made active."""
    viewer, _ws, planning, case, doc = planning_demo
    doc.click(planning.view_buttons["axial"], "Axial")
    select_target(doc, planning, "t1")
    layer = layer_for(viewer, "trajectories")
    layers = list(viewer.layers)
    entry, target, index = _path(case, "t1")
    canvas = canvas_widget(viewer)
    activate(canvas)
    canvas.setFocus()

    beyond = layer_for(viewer, "paths beyond the slice")

    def drawn_here() -> list[bool]:
        """Whether each point of the path's projection is drawn, solid or beyond the slab
        (a window wider than a dash's gap)."""
        solid = canvas_with_and_without(viewer, layer)
        rest = canvas_with_and_without(viewer, beyond)
        point, normal, near = _plane_shown(viewer)
        shown = path_on_plane(entry, target, point, normal, near_mm=near)
        if shown is None:
            return [False]
        colour = layer.edge_color[index]
        return [
            _painted(solid, layer, index, pixel_of(viewer, p))
            or (
                len(beyond.data) > 0
                and _painted(
                    rest, beyond, _shape_of_colour(beyond, colour), pixel_of(viewer, p), radius=4
                )
            )
            for p in _along(shown.entry_lps, shown.target_lps)
        ]

    step = float(viewer.dims.range[0].step)
    start = float(viewer.dims.point[0])
    for _ in range(3):  # down towards the entry (6 mm caudal): drawn on each slice
        doc.key(canvas, Qt.Key.Key_Left, what="previous slice")
        assert float(viewer.dims.point[0]) < start
        assert all(drawn_here()), viewer.dims.point[0]
    for _ in range(3 + int(3.0 / step) + 1):  # up beyond the target by more than 2 mm
        doc.key(canvas, Qt.Key.Key_Right, what="next slice")
    assert float(viewer.dims.point[0]) > target[2] + 2.0
    assert not any(drawn_here())
    assert list(viewer.layers) == layers and layer_for(viewer, "trajectories") is layer
    assert viewer.layers.selection.active is not layer


def _ring_centre(beyond: Any) -> list[np.ndarray]:
    """Centres (LPS) of the rings on the layer of what lies beyond the slice."""
    return [
        world_to_lps(np.asarray(d).mean(axis=0))
        for d, kind in zip(beyond.data, beyond.shape_type, strict=True)
        if kind == "ellipse"
    ]


def test_between_entry_and_target_the_slice_shows_where_the_needle_crosses_it(
    planning_demo,
) -> None:
    """Four slices (about 3 mm) caudal of the right L5 TFESI target, half way down its 6 mm
    descent: the path runs solid through the slab, thin on to the target (cranial), dashed
    back to the entry (caudal), with a ring where it passes through this slice — each
    where the core puts it; the legend under the view buttons says so, in this view's
    words."""
    viewer, _ws, planning, case, doc = planning_demo
    doc.click(planning.view_buttons["axial"], "Axial")
    select_target(doc, planning, "t1")
    canvas = canvas_widget(viewer)
    activate(canvas)
    canvas.setFocus()
    for _ in range(4):
        doc.key(canvas, Qt.Key.Key_Left, what="previous slice")
    entry, target, index = _path(case, "t1")
    point, normal, near = _plane_shown(viewer)
    assert 2.5 < target[2] - point[2] < 3.5  # the first step lands on the CT's 1 mm grid
    cut = path_parts_on_plane(entry, target, point, normal, near_mm=near)
    assert cut is not None and cut.crossing_lps is not None
    assert [p.side for p in cut.parts] == [-1, 0, 1]
    # what the layers hold is the core's cut
    layer = layer_for(viewer, "trajectories")
    solid = world_to_lps(np.asarray(layer.data[index]))
    assert np.allclose(solid, [cut.parts[1].start_lps, cut.parts[1].end_lps], atol=1e-6)
    beyond = layer_for(viewer, "paths beyond the slice")
    crossings = []  # every path's crossing of this slice, by the core (t1's and t2's)
    for n in range(len(case.trajectories)):
        e, t, _n = _path(case, case.trajectories[n].target_id)
        other = path_parts_on_plane(e, t, point, normal, near_mm=near)
        if other is not None and other.crossing_lps is not None:
            crossings.append(other.crossing_lps)
    rings = _ring_centre(beyond)
    assert len(rings) == len(crossings) == 2
    assert all(any(np.allclose(r, c, atol=1e-6) for r in rings) for c in crossings)
    assert any(np.allclose(r, cut.crossing_lps, atol=1e-6) for r in rings)
    assert cut.crossing_lps[2] == pytest.approx(point[2])
    # what the physician sees: the ring drawn around the crossing, off the solid line
    shots = canvas_with_and_without(viewer, beyond)
    along = (target - entry)[:2] / np.linalg.norm((target - entry)[:2])
    across = np.array([-along[1], along[0], 0.0])
    colour = _shape_of_colour(beyond, layer.edge_color[index])
    assert _painted(shots, beyond, colour, pixel_of(viewer, cut.crossing_lps + 1.5 * across), 1)
    assert _painted(shots, beyond, colour, pixel_of(viewer, cut.crossing_lps - 1.5 * across), 1)
    legend = planning.path_legend.text()
    assert legend == path_legend(normal, near)
    assert "thin where it runs cranial" in legend and "dashed where caudal" in legend
    doc.click(planning.view_buttons["sagittal"], "Sagittal")
    assert "thin where it runs left" in planning.path_legend.text()
    assert "dashed where right" in planning.path_legend.text()


def test_the_report_key_image_states_what_the_canvas_draws(planning_demo) -> None:
    """The report's axial key image of the right L5 TFESI and the canvas on the same
    plane (the target's) draw the same stretches, in the same styles, and say the same
    legend."""
    from blockplan.io import load_path
    from blockplan.report.keyimages import axial_key_image

    viewer, _ws, planning, case, doc = planning_demo
    doc.click(planning.view_buttons["axial"], "Axial")
    select_target(doc, planning, "t1")
    entry, target, index = _path(case, "t1")
    point = list(viewer.dims.point)
    point[viewer.dims.not_displayed[0]] = float(lps_to_world(target)[0])  # the report's plane
    viewer.dims.point = tuple(point)
    settle(5)
    plane_point, normal, near = _plane_shown(viewer)
    assert plane_point[2] == pytest.approx(target[2])
    (ct,) = load_path(SAMPLE / "S0002_CT")
    image = axial_key_image(ct, case.target("t1"), label="T1", entry=entry)
    t_mark = next(m for m in image.marks if m.kind == "target")

    def lps_of(col: float, row: float) -> np.ndarray:  # columns +x, rows +y (report's rule)
        return target + np.array([(col - t_mark.col), (row - t_mark.row), 0.0]) * image.px_mm

    report = [(ln.side, lps_of(ln.col0, ln.row0), lps_of(ln.col1, ln.row1)) for ln in image.lines]
    layer = layer_for(viewer, "trajectories")
    beyond = layer_for(viewer, "paths beyond the slice")
    solid = world_to_lps(np.asarray(layer.data[index]))
    shown = path_on_plane(entry, target, plane_point, normal)
    assert shown is not None
    dashes = [  # t1's: on its projected line
        d
        for d in (world_to_lps(np.asarray(d)) for d in beyond.data)
        if _on_line(d, shown.entry_lps, shown.target_lps)
    ]
    canvas = [(-1, dashes[0][0], dashes[-1][1]), (0, solid[0], solid[1])]
    assert [side for side, *_ in report] == [side for side, *_ in canvas] == [-1, 0]
    for (_s, a0, a1), (_c, b0, b1) in zip(report, canvas, strict=True):
        assert np.allclose(a0, b0, atol=image.px_mm) and np.allclose(a1, b1, atol=image.px_mm)
    assert near == IN_PLANE_MM  # the report's slab
    assert planning.path_legend.text() in image.notes


def _on_line(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> bool:
    """Whether every point lies on the segment a–b (within 0.01 mm)."""
    d = (b - a) / np.linalg.norm(b - a)
    for p in points:
        f = (p - a) @ d
        if not -0.01 <= f <= np.linalg.norm(b - a) + 0.01 or np.linalg.norm(a + f * d - p) > 0.01:
            return False
    return True
