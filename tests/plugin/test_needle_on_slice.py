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

from blockplan.case.store import CaseStore
from blockplan.demo import build_demo_case
from blockplan.planning import path_on_plane
from napari_blockplan._layers import layer_for
from napari_blockplan._workspace import workspace_for
from tests.plugin._gui import (
    Physician,
    activate,
    canvas_widget,
    canvas_with_and_without,
    pixel_of,
    settle,
)

pytestmark = pytest.mark.gui

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"
NORMALS = {"axial": (0, 0, 1), "sagittal": (1, 0, 0), "coronal": (0, 1, 0)}


def demo_in_planning(make_napari_viewer: Any, tmp_path: Path) -> tuple[Any, Any, Any]:
    """The sample study in a 1400 × 900 window with the demo case open (its store in
    ``tmp_path``) and the Planning panel docked: viewer, panel, case."""
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1400, 900)
    viewer.open_sample("blockplan", "lumbar_postop")
    ws = workspace_for(viewer)
    ws.use_store(CaseStore(tmp_path / "cases.sqlite3"))
    _dock, planning = viewer.window.add_plugin_dock_widget("blockplan", "Planning")
    return viewer, planning, ws.start_case(build_demo_case(SAMPLE))


@pytest.fixture
def demo(make_napari_viewer, tmp_path: Path) -> tuple[Any, Any, Any, Physician]:
    """The sample study with the demo case open and the Planning panel docked."""
    viewer, planning, case = demo_in_planning(make_napari_viewer, tmp_path)
    settle(10)
    return viewer, planning, case, Physician(viewer)


def _select_target(doc: Physician, planning: Any, target_id: str) -> None:
    """Click the target's row in the Planning table (the view centres on the target)."""
    table = planning.table
    row = next(
        r
        for r in range(table.rowCount())
        if table.item(r, 0).data(Qt.ItemDataRole.UserRole) == target_id
    )
    rect = table.visualRect(table.model().index(row, 0))
    doc.click(table.viewport(), "a target row", rect.center())
    settle(10)


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


@pytest.mark.parametrize("plane", ["axial", "sagittal", "coronal"])
def test_a_tilted_path_is_drawn_projected_on_its_targets_slice(demo, plane: str) -> None:
    viewer, planning, case, doc = demo
    entry, target, index = _path(case, "t1")  # right L5 TFESI, entry 6 mm caudal
    assert abs(entry[2] - target[2]) > 5.0
    doc.click(planning.view_buttons[plane], plane.capitalize())
    _select_target(doc, planning, "t1")
    layer = layer_for(viewer, "trajectories")
    assert viewer.layers.selection.active is not layer  # never made the active layer
    shown = path_on_plane(entry, target, target, NORMALS[plane])
    assert shown is not None
    shots = canvas_with_and_without(viewer, layer)
    missing = [
        p.round(1).tolist()
        for p in _along(shown.entry_lps, shown.target_lps)
        if not _painted(shots, layer, index, pixel_of(viewer, p))
    ]
    assert not missing, f"the projected path is not drawn at {missing}"


def test_a_path_the_slice_does_not_come_near_is_not_drawn(demo) -> None:
    viewer, planning, case, doc = demo
    doc.click(planning.view_buttons["axial"], "Axial")
    _select_target(doc, planning, "t1")  # the axial slice of the right L5 TFESI target
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
    _select_target(doc, planning, "t3")
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


def test_stepping_slices_with_the_arrow_keys_follows_the_path(demo) -> None:
    """Right/Left arrow on the canvas step one slice up/down: the path stays drawn on
    every slice between its entry and target and disappears beyond its slab — the same
    layer, updated, never made active."""
    viewer, planning, case, doc = demo
    doc.click(planning.view_buttons["axial"], "Axial")
    _select_target(doc, planning, "t1")
    layer = layer_for(viewer, "trajectories")
    layers = list(viewer.layers)
    entry, target, index = _path(case, "t1")
    canvas = canvas_widget(viewer)
    activate(canvas)
    canvas.setFocus()

    def drawn_here() -> list[bool]:
        shots = canvas_with_and_without(viewer, layer)
        return [_painted(shots, layer, index, pixel_of(viewer, p)) for p in _along(entry, target)]

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
