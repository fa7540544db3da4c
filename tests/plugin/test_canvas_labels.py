"""A target's name on the canvas stands beside its marker, never over it, and never over
another target's name (Xvfb)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qtpy.QtCore import QEvent, QPoint, QPointF, Qt
from qtpy.QtGui import QMouseEvent, QWheelEvent
from qtpy.QtWidgets import QApplication

from blockplan.planning import NAME_GAP_PX, target_names
from napari_blockplan import _layers
from napari_blockplan._convert import lps_to_world, world_to_lps
from napari_blockplan._layers import RELAYOUT_MS, _name_anchors, layer_for, name_sizes_px
from napari_blockplan._workspace import workspace_for
from tests.plugin._gui import (
    Physician,
    canvas_widget,
    canvas_with_and_without,
    demo_in_planning,
    pixel_of,
    select_target,
    settle,
)

pytestmark = pytest.mark.gui

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"
MARKER_MM = 5.0  # the targets layer's point size
ZOOM_NOTCHES = 5  # wheel notches of the zoom-in (× 1.23 each)


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


def _line_px(layer: Any) -> float:
    """A name's line height on the canvas (pixels), as the layout takes it."""
    return float(name_sizes_px(("T",), layer.text.size)[0, 1])


def _box(pixels: np.ndarray) -> tuple[int, int, int, int]:
    return (*pixels.min(axis=0), *pixels.max(axis=0))  # row0, col0, row1, col1


def _apart(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1]


def test_close_targets_names_stand_apart_at_the_default_zoom(demo_axial, qtbot) -> None:
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
    layer = layer_for(viewer, "target names")
    qtbot.waitUntil(lambda: _laid_out(viewer, layer), timeout=3000)  # after the table widened
    targets = workspace_for(viewer).case.targets
    assert len(targets) == len(case.targets) + 1
    # each name its own: whole, or its number alone where the canvas (narrowed by the
    # table, grown for T6's name) leaves its whole name no place near its marker that does
    # not begin nearer another's
    whole = list(target_names(targets).values())
    texts = [str(v) for v in layer.text.values]
    assert all(t in (w, w.split(" · ")[0]) for t, w in zip(texts, whole, strict=True)), texts
    assert texts[0] == whole[0]  # T1 has room on its right
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
    row_px = _line_px(layer) + NAME_GAP_PX  # the names' rows: a line and the names' gap
    for tid in on_slice:  # beside its own marker: starts at its right edge or ends at its
        # left edge (where the canvas, narrowed by the wider table, leaves no room on the
        # right), within 2 rows of it
        centre = pixel_of(viewer, next(t for t in targets if t.id == tid).position.lps)
        row0, col0, row1, col1 = boxes[tid]
        right = centre.x() + radius_px - 1 <= col0 <= centre.x() + 3 * radius_px
        left = centre.x() - 3 * radius_px <= col1 <= centre.x() - radius_px + 1
        assert right or left, (tid, col0, col1, centre.x())
        assert abs((row0 + row1) / 2 - centre.y()) < 2 * row_px + 4, tid


def test_names_keep_their_pixel_spacing_when_zooming(demo_axial, qtbot) -> None:
    """Zoomed in, T1 and T2 lie far apart on the screen: each name goes back to its
    first place, centred right of its marker; zoomed out again, they are apart again
    (once the camera rests: the names are placed again after `RELAYOUT_MS`)."""
    viewer, _planning, case, _doc = demo_axial
    layer = layer_for(viewer, "target names")
    t1 = [t.id for t in case.targets].index("t1")

    def name_row_offset() -> float:  # T1's name anchor below its marker, pixels
        anchor = pixel_of(viewer, world_to_lps(layer.data[t1]))
        return float(anchor.y() - pixel_of(viewer, case.target("t1").position.lps).y())

    line = _line_px(layer)
    moved = name_row_offset()
    assert moved < -line / 2 - 1  # at the default zoom T1's name stands above its row
    default_zoom = viewer.scene.camera.zoom
    viewer.scene.camera.zoom = 3 * default_zoom
    # its top half a line up
    qtbot.waitUntil(lambda: abs(name_row_offset() + line / 2) <= 1.0, timeout=3000)
    viewer.scene.camera.zoom = default_zoom
    qtbot.waitUntil(lambda: abs(name_row_offset() - moved) <= 1.0, timeout=3000)


@pytest.fixture
def demo_axial(make_napari_viewer, tmp_path: Path) -> tuple[Any, Any, Any, Physician]:
    """The demo case on the axial slice through the L5 TFESI targets (T1 selected in the
    table), at the zoom the view button leaves."""
    viewer, planning, case = demo_in_planning(make_napari_viewer, tmp_path)
    settle(10)
    doc = Physician(viewer)
    doc.click(planning.view_buttons["axial"], "Axial")
    select_target(doc, planning, "t1")
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
    select_target(doc, planning, "t2")
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


def _wheel_in(canvas: Any, pos: QPointF) -> None:
    """One notch of the mouse wheel away from the user over the canvas at ``pos``: napari
    zooms in, about the cursor."""
    event = QWheelEvent(
        pos,
        canvas.mapToGlobal(pos),
        QPoint(0, 0),
        QPoint(0, 120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(canvas, event)


def _laid_out(viewer: Any, layer: Any) -> bool:
    """Whether the names stand where the layout for the camera now puts them (the debounced
    relayout has run since the last zoom or pan)."""
    meta = layer.metadata["blockplan"]
    anchors, shown, texts = _name_anchors(
        viewer,
        meta["positions"],
        meta["names"],
        meta["paths"],
        float(layer.text.size),
        meta["tags"],
    )
    return bool(
        np.allclose(anchors, layer.data)
        and np.array_equal(shown, layer.shown)
        and texts == list(layer.features["label"])
    )


@pytest.mark.parametrize("plane", ["axial", "coronal"])
def test_zoomed_in_names_stay_inside_the_canvas_and_apart(
    make_napari_viewer, tmp_path, qtbot, plane: str
) -> None:
    """The physician zooms in with the wheel, the cursor above and between the L5 roots'
    targets (nearer T1): T2 (and T5, coronally) move towards the right edge, T1 to the left
    one; then zooms in further with the cursor on T2, and T1 (and T3) leave the canvas.
    Each time the camera rests, every name drawn lies whole inside the canvas (its pixels
    clear of the edges, as wide as the name measured), a name whose first place ran off the
    right edge stands left of its marker, a marker off the canvas has no name drawn, and
    every two names drawn stand at least `NAME_GAP_PX` apart — in the axial and the coronal
    view (where close names once stood a single space apart)."""
    viewer, planning, case = demo_in_planning(make_napari_viewer, tmp_path)
    settle(10)
    doc = Physician(viewer)
    doc.click(planning.view_buttons[plane], plane.capitalize())
    select_target(doc, planning, "t2")
    layer = layer_for(viewer, "target names")
    qtbot.waitUntil(lambda: _laid_out(viewer, layer), timeout=3000)
    canvas = canvas_widget(viewer)
    t1, t2 = (pixel_of(viewer, case.target(t).position.lps) for t in ("t1", "t2"))
    on_slice = {"axial": {"t1", "t2"}, "coronal": {"t1", "t2", "t3", "t5"}}[plane]
    # before zooming: the whole slice in view, the close names apart by the gap
    _names_inside_and_apart(viewer, layer, case, on_slice, on_slice, flipped=False)
    stages = [  # cursor, notches, the names then drawn
        (QPointF(t1.x() + 0.4 * (t2.x() - t1.x()), t2.y() - 54), 5, on_slice),
        (None, 3, on_slice - {"t1", "t3"}),
    ]
    for cursor, notches, expected in stages:
        zoom = viewer.scene.camera.zoom
        at = cursor or QPointF(pixel_of(viewer, case.target("t2").position.lps))
        for _ in range(notches):
            _wheel_in(canvas, at)
        settle()
        assert viewer.scene.camera.zoom > 1.8 * zoom  # the wheel zoomed in
        qtbot.waitUntil(lambda: _laid_out(viewer, layer), timeout=3000)
        _names_inside_and_apart(viewer, layer, case, on_slice, expected, flipped=True)


def _names_inside_and_apart(
    viewer: Any, layer: Any, case: Any, on_slice: set[str], expected: set[str], *, flipped: bool
) -> None:
    """The checks of `test_zoomed_in_names_stay_inside_the_canvas_and_apart` on the canvas
    as it is: ``on_slice`` are the ids of the targets the slice shows, ``expected`` those
    whose names are drawn (the others' markers are off the canvas); ``flipped``: some name
    stands left of its marker, its place on the right having run off the canvas."""
    overlays = [layer_for(viewer, r) for r in ("levels", "trajectories", "targets")]
    overlays.append(layer_for(viewer, "paths beyond the slice"))
    for other in overlays:
        other.visible = False
    shown = layer.shown.copy()
    with_names, without = canvas_with_and_without(viewer, layer)
    all_text = np.abs(with_names - without).sum(axis=2) > 60
    pixels = _each_names_pixels(viewer, layer)  # each name alone, hidden ones too
    layer.shown = shown
    for other in overlays:
        other.visible = True
    settle()
    height, width = all_text.shape
    ids = [t.id for t in case.targets]
    drawn = [n for n, p in enumerate(pixels) if shown[n] and len(p) > 50]
    assert {ids[n] for n in drawn} == expected
    union = np.zeros_like(all_text)
    for n in drawn:
        union[tuple(pixels[n].T)] = True
    assert not (all_text & ~union).any(), "only the names expected are drawn"
    sizes = name_sizes_px(tuple(str(v) for v in layer.text.values), layer.text.size)
    markers = {tid: pixel_of(viewer, case.target(tid).position.lps) for tid in ids}
    lefts = shorts = 0
    texts = [str(v) for v in layer.text.values]
    for n in drawn:
        row0, col0, row1, col1 = _box(pixels[n])
        assert row0 > 0 and col0 > 0 and row1 < height - 1 and col1 < width - 1, ids[n]
        assert col1 - col0 + 1 >= sizes[n, 0] - 8, f"{ids[n]}'s name is cut"
        marker = markers[ids[n]]
        assert 0 <= marker.x() < width and 0 <= marker.y() < height, ids[n]
        lefts += col1 < marker.x()
        shorts += texts[n] == ids[n].upper()  # its number alone ("T2")
        first = pixels[n][pixels[n][:, 1] <= col0 + 6].mean(axis=0)  # where it begins
        seen = [t for t in ids if t in on_slice and markers[t].x() in range(width)]
        nearest = min(
            seen, key=lambda t: np.hypot(markers[t].y() - first[0], markers[t].x() - first[1])
        )
        assert nearest == ids[n], f"{texts[n]} begins nearer {nearest}'s marker"
    if flipped:  # whole on the left, or its number alone where it would begin at another's
        assert lefts or shorts, "a name whose first place ran off the canvas went left"
    for tid in on_slice - expected:
        marker = markers[tid]
        assert not (0 <= marker.x() < width and 0 <= marker.y() < height), tid
        assert not shown[ids.index(tid)], f"{tid}'s marker is off the canvas: no name"
    for i, a in enumerate(drawn):
        for b in drawn[i + 1 :]:
            box_a, box_b = _box(pixels[a]), _box(pixels[b])
            apart = max(
                box_b[0] - box_a[2], box_a[0] - box_b[2], box_b[1] - box_a[3], box_a[1] - box_b[3]
            )
            assert apart >= NAME_GAP_PX, f"the names of {ids[a]} and {ids[b]}: {apart} px apart"


def test_names_are_placed_again_when_the_window_narrows(demo_axial, qtbot) -> None:
    """The physician narrows the window: the canvas loses 300 pixels, the view keeps its
    centre, and T2's name, right of its marker, would end beyond the new right edge; once
    the canvas has its new size, the names are placed again, whole inside it."""
    viewer, _planning, case, _doc = demo_axial
    layer = layer_for(viewer, "target names")
    canvas = canvas_widget(viewer)
    before = canvas.width()
    window = viewer.window._qt_window
    window.resize(window.width() - 300, window.height())
    qtbot.waitUntil(lambda: canvas.width() <= before - 250, timeout=3000)
    assert viewer.canvas.size[1] == canvas.width()  # napari knows the new size
    qtbot.waitUntil(lambda: _laid_out(viewer, layer), timeout=3000)
    _names_inside_and_apart(viewer, layer, case, {"t1", "t2"}, {"t1", "t2"}, flipped=True)


def _mouse(canvas: Any, kind: Any, pos: QPointF, buttons: Any) -> None:
    button = Qt.MouseButton.LeftButton if kind != QEvent.Type.MouseMove else Qt.MouseButton.NoButton
    event = QMouseEvent(
        kind, pos, canvas.mapToGlobal(pos), button, buttons, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(canvas, event)


def test_a_pan_places_the_names_again_once_not_on_every_move(
    demo_axial, qtbot, monkeypatch
) -> None:
    """The physician drags the view 100 pixels to the right in 20 moves: the names are not
    placed again on every move (each move restarts the `RELAYOUT_MS` wait: at most one
    layout per such wait elapsed), and once the drag rests they are placed for where the
    view stopped, whole inside the canvas (T2's name now against the right edge)."""
    viewer, _planning, case, _doc = demo_axial
    layer = layer_for(viewer, "target names")
    canvas = canvas_widget(viewer)
    calls = []
    real = _layers._name_anchors
    monkeypatch.setattr(_layers, "_name_anchors", lambda *a, **k: calls.append(1) or real(*a, **k))
    centre = viewer.scene.camera.center
    start = QPointF(canvas.width() / 2, canvas.height() / 2)
    began = time.perf_counter()
    _mouse(canvas, QEvent.Type.MouseButtonPress, start, Qt.MouseButton.LeftButton)
    for step in range(1, 21):
        at = start + QPointF(5 * step, 0)
        _mouse(canvas, QEvent.Type.MouseMove, at, Qt.MouseButton.LeftButton)
        settle(1)
    _mouse(canvas, QEvent.Type.MouseButtonRelease, at, Qt.MouseButton.NoButton)
    elapsed_ms = (time.perf_counter() - began) * 1000
    during = len(calls)
    assert viewer.scene.camera.center != centre  # the drag panned the view
    assert during <= elapsed_ms / RELAYOUT_MS + 1, (during, elapsed_ms)
    qtbot.waitUntil(lambda: len(calls) > during, timeout=3000)
    qtbot.waitUntil(lambda: _laid_out(viewer, layer), timeout=3000)
    _names_inside_and_apart(viewer, layer, case, {"t1", "t2"}, {"t1", "t2"}, flipped=True)


def test_on_a_narrow_canvas_every_name_begins_beside_its_own_marker(
    make_napari_viewer, tmp_path, qtbot
) -> None:
    """A physician's trial: with the window narrowed until the canvas is ~250 px wide, the
    left L5 target's whole name was put on its left, reaching over to the right L5 target
    and beginning just beside that dot — "L5 left SNRB" read beside the right-sided needle.
    Now, wherever a name is drawn, the marker nearest to where it begins (its left end, the
    middle of its first letter) is its own; a name with no such place is drawn short (the
    target's number)."""
    viewer, planning, case = demo_in_planning(make_napari_viewer, tmp_path)
    settle(10)
    doc = Physician(viewer)
    doc.click(planning.view_buttons["axial"], "Axial")
    select_target(doc, planning, "t1")
    window = viewer.window._qt_window
    canvas = canvas_widget(viewer)
    for width in range(1400, 700, -50):  # narrower until the canvas is small
        window.resize(width, 900)
        settle()
        if canvas.width() <= 280:
            break
    assert canvas.width() <= 280
    layer = layer_for(viewer, "target names")
    qtbot.waitUntil(lambda: _laid_out(viewer, layer), timeout=3000)
    settle(10)
    shown_ids = [t.id for t in case.targets]
    on_slice = [n for n, t in enumerate(case.targets) if t.id in ("t1", "t2")]
    assert layer.shown[on_slice].all()
    texts = list(layer.features["label"])
    assert any(texts[n] == case.targets[n].id.upper() for n in on_slice), texts  # "T1"/"T2"
    for other in "levels", "trajectories", "targets":
        layer_for(viewer, other).visible = False
    pixels = _each_names_pixels(viewer, layer)
    centres = {tid: pixel_of(viewer, case.target(tid).position.lps) for tid in ("t1", "t2")}
    for n in on_slice:
        mine = shown_ids[n]
        drawn = pixels[n]
        assert len(drawn) > 20, texts[n]
        first = drawn[drawn[:, 1] <= drawn[:, 1].min() + 6]  # its first letter
        start = first.mean(axis=0)  # row, column
        nearest = min(
            centres,
            key=lambda tid: np.hypot(centres[tid].y() - start[0], centres[tid].x() - start[1]),
        )
        assert nearest == mine, (texts[n], start, {k: (v.x(), v.y()) for k, v in centres.items()})
        assert drawn[:, 1].min() > 0 and drawn[:, 1].max() < canvas.width() - 1
