"""A target's name on the canvas stands beside its marker, never over it, and never over
another target's name (Xvfb)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qtpy.QtCore import Qt

from blockplan.planning import target_names
from napari_blockplan._convert import lps_to_world, world_to_lps
from napari_blockplan._layers import layer_for
from napari_blockplan._workspace import workspace_for
from tests.plugin._gui import (
    Physician,
    canvas_widget,
    canvas_with_and_without,
    pixel_of,
    settle,
)
from tests.plugin.test_needle_on_slice import _select_target, demo_in_planning

pytestmark = pytest.mark.gui

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"
MARKER_MM = 5.0  # the targets layer's point size


def _text_pixels(viewer: Any, layer: Any) -> np.ndarray:
    """Canvas pixels that change when the layer's text is hidden: the text, (row, col)."""
    with_text = viewer.screenshot(canvas_only=True, flash=False)[..., :3].astype(int)
    layer.text.visible = False
    settle()
    without = viewer.screenshot(canvas_only=True, flash=False)[..., :3].astype(int)
    layer.text.visible = True
    settle()
    return np.argwhere(np.abs(with_text - without).sum(axis=2) > 60)


@pytest.mark.parametrize("plane", ["axial", "sagittal", "coronal"])
def test_a_targets_name_is_beside_its_marker(make_napari_viewer, tmp_path, plane: str) -> None:
    viewer, planning, case = demo_in_planning(make_napari_viewer, tmp_path)
    target = case.targets[0]
    Physician(viewer).click(planning.view_buttons[plane], plane.capitalize())
    world = lps_to_world(np.asarray(target.position.lps, dtype=float))
    viewer.dims.point = tuple(world)
    viewer.scene.camera.center = tuple(world[list(viewer.dims.order)])  # in the displayed order
    viewer.scene.camera.zoom = 6.0
    settle(10)
    layer = layer_for(viewer, "target names")
    for other in layer_for(viewer, "levels"), layer_for(viewer, "trajectories"):
        other.visible = False
    centre = pixel_of(viewer, target.position.lps)
    radius_px = MARKER_MM / 2 * viewer.scene.camera.zoom
    text = _text_pixels(viewer, layer)
    near = text[np.hypot(text[:, 0] - centre.y(), text[:, 1] - centre.x()) < 12 * radius_px]
    assert len(near) > 50, "the target's name is drawn near its marker"
    assert near[:, 1].min() >= centre.x() + radius_px - 1  # starts right of the marker's edge


def _each_names_pixels(viewer: Any, layer: Any) -> list[np.ndarray]:
    """For each name of the layer, the canvas pixels (row, col) it alone draws."""
    everything = np.ones(len(layer.data), dtype=bool)
    layer.shown = ~everything
    settle()
    bare = viewer.screenshot(canvas_only=True, flash=False)[..., :3].astype(int)
    pixels = []
    for n in range(len(layer.data)):
        layer.shown = np.arange(len(layer.data)) == n
        settle()
        alone = viewer.screenshot(canvas_only=True, flash=False)[..., :3].astype(int)
        pixels.append(np.argwhere(np.abs(alone - bare).sum(axis=2) > 60))
    layer.shown = everything
    settle()
    return pixels


def _box(pixels: np.ndarray) -> tuple[int, int, int, int]:
    return (*pixels.min(axis=0), *pixels.max(axis=0))  # row0, col0, row1, col1


def _apart(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1]


def test_close_targets_names_stand_apart_at_the_default_zoom(demo_axial) -> None:
    """The left and right L5 TFESI targets share an axial slice 51 mm apart: at the
    default zoom, T1's name ran into T2's marker and name ("T1 · L5 right TFESIT2 · L5 …").
    A third target placed by a click 4 mm beside T2 (same level and side) gets a name of
    its own, clear of the others, and every name stays beside its own marker."""
    viewer, _planning, case, doc = demo_axial
    near_t2 = np.asarray(case.target("t2").position.lps, dtype=float) + np.array([4.0, 3.0, 0.0])
    doc.key(canvas_widget(viewer), Qt.Key.Key_T, Qt.KeyboardModifier.ShiftModifier, "Shift-T")
    doc.click_patient(near_t2, "a target beside T2")
    doc.key(canvas_widget(viewer), Qt.Key.Key_Escape, what="Esc")
    settle(10)
    targets = workspace_for(viewer).case.targets
    assert len(targets) == len(case.targets) + 1
    layer = layer_for(viewer, "target names")
    assert [str(v) for v in layer.text.values] == list(target_names(targets).values())
    on_slice = ["t1", "t2", targets[-1].id]
    index = [[t.id for t in targets].index(tid) for tid in on_slice]
    zoom = viewer.scene.camera.zoom
    assert zoom < 4.0  # the default zoom: the whole slice in view
    for other in "levels", "trajectories", "targets":
        layer_for(viewer, other).visible = False
    pixels = _each_names_pixels(viewer, layer)
    boxes = {tid: _box(pixels[n]) for tid, n in zip(on_slice, index, strict=True)}
    for tid in on_slice:
        assert len(pixels[index[on_slice.index(tid)]]) > 50, f"{tid}'s name is drawn"
    for i, a in enumerate(on_slice):
        for b in on_slice[i + 1 :]:
            assert _apart(boxes[a], boxes[b]), f"the names of {a} and {b} overlap"
    radius_px = MARKER_MM / 2 * zoom
    for tid in on_slice:  # beside its own marker: starts at its edge, within 3 lines of it
        centre = pixel_of(viewer, next(t for t in targets if t.id == tid).position.lps)
        row0, col0, row1, _col1 = boxes[tid]
        assert centre.x() + radius_px - 1 <= col0 <= centre.x() + 3 * radius_px, tid
        assert abs((row0 + row1) / 2 - centre.y()) < 3 * 16, tid


def test_names_keep_their_pixel_spacing_when_zooming(demo_axial) -> None:
    """Zoomed in, T1 and T2 lie far apart on the screen: each name goes back to its
    first place, centred right of its marker; zoomed out again, they are apart again."""
    viewer, _planning, case, _doc = demo_axial
    layer = layer_for(viewer, "target names")
    t1 = [t.id for t in case.targets].index("t1")

    def name_row_offset() -> float:  # T1's name anchor below its marker, pixels
        anchor = pixel_of(viewer, world_to_lps(layer.data[t1]))
        return float(anchor.y() - pixel_of(viewer, case.target("t1").position.lps).y())

    moved = name_row_offset()
    assert moved < -16 / 2 - 1  # at the default zoom T1's name stands above its row
    default_zoom = viewer.camera.zoom
    viewer.camera.zoom = 3 * default_zoom
    settle(5)
    assert name_row_offset() == pytest.approx(-16 / 2, abs=1.0)  # its top half a line up
    viewer.camera.zoom = default_zoom
    settle(5)
    assert name_row_offset() == pytest.approx(moved, abs=1.0)


@pytest.fixture
def demo_axial(make_napari_viewer, tmp_path: Path) -> tuple[Any, Any, Any, Physician]:
    """The demo case on the axial slice through the L5 TFESI targets (T1 selected in the
    table), at the zoom the view button leaves."""
    viewer, planning, case = demo_in_planning(make_napari_viewer, tmp_path)
    settle(10)
    doc = Physician(viewer)
    doc.click(planning.view_buttons["axial"], "Axial")
    _select_target(doc, planning, "t1")
    settle(10)
    return viewer, planning, case, doc


def test_names_keep_off_the_needle_paths_where_they_can(make_napari_viewer, tmp_path) -> None:
    """On the coronal slice through the L5 roots, the TFESI and SNRB paths leave their
    targets sideways, through the place right of each marker where a name first goes: every
    name shown moves beside its marker to a place no path is drawn through."""
    viewer, planning, case = demo_in_planning(make_napari_viewer, tmp_path)
    settle(10)
    doc = Physician(viewer)
    doc.click(planning.view_buttons["coronal"], "Coronal")
    _select_target(doc, planning, "t2")
    settle(10)
    layer = layer_for(viewer, "target names")
    paths = [layer_for(viewer, r) for r in ("trajectories", "paths beyond the slice")]
    drawn = np.zeros(viewer.screenshot(canvas_only=True, flash=False).shape[:2], dtype=bool)
    for lay in paths:
        with_it, without = canvas_with_and_without(viewer, lay)
        drawn |= np.abs(with_it - without).sum(axis=2) > 60
    for other in ("levels", "targets"):
        layer_for(viewer, other).visible = False
    for lay in paths:
        lay.visible = False
    pixels = _each_names_pixels(viewer, layer)
    shown = [n for n, p in enumerate(pixels) if len(p) > 50]
    ids = [t.id for t in case.targets]
    assert {"t1", "t2", "t5"} <= {ids[n] for n in shown}  # the L5 targets' names are shown
    for n in shown:
        row0, col0, row1, col1 = _box(pixels[n])
        crossed = int(drawn[row0 : row1 + 1, col0 : col1 + 1].sum())
        assert crossed == 0, f"{ids[n]}'s name lies across a path ({crossed} pixels)"
