"""The physician's second day, driven with real Qt events (Xvfb).

Yesterday's case (the demo case, stored) is opened with its study as `blockplan view STUDY
--case ID` does; the physician looks at it again plane by plane. Each test sends the events
the physician sent and checks what the canvas shows and what the case store holds.
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
from napari_blockplan._convert import world_to_lps
from napari_blockplan._launch import launch_viewer
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
from tests.plugin.test_clinic_day import _open_dock

pytestmark = pytest.mark.gui

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"
CORONAL_NORMAL = (0.0, 1.0, 0.0)


@pytest.fixture
def day2(qtbot: Any, launch_app: Any) -> Any:
    """Yesterday's case stored; napari started on the study with that case, as the
    physician starts it; the Planning panel's tab clicked."""
    case = build_demo_case(SAMPLE)
    with CaseStore() as store:
        store.create(case, "dr-a")
    viewer = launch_viewer(SAMPLE, run=False, case_id=case.case_id)
    viewer.window._qt_window.resize(1400, 900)
    ws = workspace_for(viewer)
    qtbot.waitUntil(lambda: len(ws.volumes()) == 4, timeout=60000)
    browser = viewer.window.dock_widgets["Study browser (blockplan)"]
    qtbot.waitUntil(lambda: not browser.busy, timeout=60000)
    settle(10)
    doc = Physician(viewer)
    _open_dock(doc, "Planning")
    planning = viewer.window.dock_widgets["Planning (blockplan)"]
    try:
        yield viewer, planning, ws, case, doc
    finally:
        viewer.close()
        settle()


def _marker_drawn(viewer: Any, layer: Any, index: int, lps: Any) -> bool:
    """True when the canvas shows the target ``index``'s face colour at ``lps`` (compared
    with the same canvas with the targets layer hidden)."""
    with_layer, without = canvas_with_and_without(viewer, layer)
    at = pixel_of(viewer, lps)
    rows, cols = slice(at.y() - 2, at.y() + 3), slice(at.x() - 2, at.x() + 3)
    colour = np.asarray(layer.face_color[index][:3], dtype=float) * 255
    changed = np.abs(with_layer[rows, cols] - without[rows, cols]).max(axis=2) > 30
    close = np.abs(with_layer[rows, cols] - colour).max(axis=2) < 40
    return bool((changed & close).any())


def test_a_path_drawn_near_its_target_shows_the_target_too(day2: Any) -> None:
    """On the coronal view through yesterday's first target, the right L4-L5 MBB path was
    drawn (its target lies 1.5 mm behind the slice, within the paths' 2 mm) but its target
    was not: a green line ending nowhere, with no name to say whose path it was. The target
    is now drawn with its path, projected onto the slice, and the case is unchanged."""
    viewer, planning, ws, case, doc = day2
    doc.click(planning.view_buttons["coronal"], "Coronal")
    settle(10)
    point_lps = world_to_lps(np.asarray(viewer.dims.point, dtype=float))
    target = np.asarray(case.target("t3").position.lps, dtype=float)
    entry = np.asarray(next(t for t in case.trajectories if t.target_id == "t3").entry.lps)
    offset = abs(float(target[1] - point_lps[1]))
    assert 0.5 < offset < 2.0, offset  # napari alone draws no point that far from a slice
    shown = path_on_plane(entry, target, point_lps, CORONAL_NORMAL)
    assert shown is not None  # the path is drawn on this slice …
    layer = layer_for(viewer, "targets")
    index = [t.id for t in case.targets].index("t3")
    assert _marker_drawn(viewer, layer, index, shown.target_lps)  # … and its target, at its end
    assert layer.features["label"][index].startswith("T3 · L4-L5 right")
    # the target the slice passes through keeps its true place
    first = [t.id for t in case.targets].index("t1")
    assert np.allclose(world_to_lps(layer.data[first]), case.target("t1").position.lps)

    # one slice back with the keyboard, farther than 2 mm from the target: neither is drawn
    canvas = canvas_widget(viewer)
    activate(canvas)
    canvas.setFocus()
    step = float(viewer.dims.range[1].step)
    for _ in range(int(np.ceil((2.5 - offset) / step)) + 1):
        doc.key(canvas, Qt.Key.Key_Left, what="previous slice")
    point_lps = world_to_lps(np.asarray(viewer.dims.point, dtype=float))
    assert abs(float(target[1] - point_lps[1])) > 2.0
    assert not _marker_drawn(viewer, layer, index, shown.target_lps)

    # what is stored is yesterday's case, untouched by drawing
    stored, _version = ws.store.load(case.case_id)
    assert stored.targets == case.targets and ws.case.targets == case.targets


def test_enter_in_the_worklist_search_opens_the_one_case_found(qtbot: Any, launch_app: Any) -> None:
    """Started with no study, the physician typed the patient's name in the worklist's
    Search and pressed Enter: nothing happened, and Open stayed greyed out until the one
    row found was clicked. Now the one case found is selected, and Enter opens it."""
    case = build_demo_case(SAMPLE)
    with CaseStore() as store:
        store.create(case, "dr-a")
        other = case.evolve(case_id="other-case-0002", title="Right SIJ pain (synthetic)")
        store.create(other, "dr-a")
    viewer = launch_viewer(None, run=False)
    try:
        panel = viewer.window.dock_widgets["Cases (blockplan)"]
        ws = workspace_for(viewer)
        qtbot.waitUntil(lambda: panel.table.rowCount() == 2, timeout=10000)
        doc = Physician(viewer)
        activate(panel)
        doc.click(panel.search_edit, "Search")
        doc.type(panel.search_edit, "lumbar phantom", "words of the name")
        qtbot.waitUntil(lambda: not panel.searching, timeout=5000)
        assert panel.table.rowCount() == 2 and not ws.is_open  # two cases: Enter chooses none
        doc.key(panel.search_edit, Qt.Key.Key_Return, what="Enter")
        assert not ws.is_open and panel.table.hasFocus()  # … the list takes the focus
        assert panel.selected_case_id() == panel.entries[0].case_id

        doc.click(panel.search_edit, "Search")
        doc.key(panel.search_edit, Qt.Key.Key_End, what="End")
        doc.type(panel.search_edit, " radicular", "a word of the title")
        doc.key(panel.search_edit, Qt.Key.Key_Return, what="Enter")  # before the search ran
        qtbot.waitUntil(lambda: ws.is_open, timeout=5000)
        assert ws.case.case_id == case.case_id
        assert panel.message.text().startswith(f"Opened {case.display_name}.")
        assert doc.actions == 7
    finally:
        viewer.close()
        settle()


def test_a_long_case_title_in_the_reopen_offer_leaves_the_images_their_room(
    qtbot: Any, launch_app: Any
) -> None:
    """Started with no study, the physician loaded yesterday's study with the Study
    browser: the Case panel offered "Reopen “<long title>”, <date> — 5 targets, 4 blocks"
    on one button as wide as its text, which widened the dock by half and shrank the
    canvas from about 690 to 480 pixels, for good. The button now shortens its text in the
    middle (the whole text in its tooltip) and the canvas keeps its width."""
    case = build_demo_case(SAMPLE)
    assert len(case.title) > 60
    with CaseStore() as store:
        store.create(case, "dr-a")
    viewer = launch_viewer(None, run=False)
    viewer.window._qt_window.resize(1400, 900)
    try:
        ws = workspace_for(viewer)
        panel = viewer.window.dock_widgets["Cases (blockplan)"]
        browser = viewer.window.dock_widgets["Study browser (blockplan)"]
        canvas = canvas_widget(viewer)
        qtbot.wait(800)  # the spares are made while the window is idle
        doc = Physician(viewer)
        _open_dock(doc, "Study browser")
        doc.click(browser.path_edit, "the folder field")
        doc.type(browser.path_edit, str(SAMPLE), "the study folder")
        doc.click(browser.scan_button, "Find series")
        qtbot.waitUntil(lambda: not browser.busy and browser.table.rowCount() == 4, timeout=30000)
        _open_dock(doc, "Cases")
        width = canvas.width()
        _open_dock(doc, "Study browser")
        doc.click(browser.load_button, "Load selected")
        qtbot.waitUntil(lambda: len(ws.volumes()) == 4 and not browser.busy, timeout=60000)
        _open_dock(doc, "Cases")
        qtbot.waitUntil(panel.reopen_button.isVisible, timeout=5000)
        settle(10)
        button = panel.reopen_button
        assert button.text().startswith("Reopen “Demo: persistent left L5")
        assert button.text().endswith("— 5 targets, 4 blocks")
        assert canvas.width() >= width - 4, (width, canvas.width())
        assert button.toolTip() == button.text()
        assert button.width() <= panel.width()
        doc.click(button, "Reopen")
        assert ws.is_open and ws.case.case_id == case.case_id
        settle(10)
        assert canvas.width() >= width - 4
    finally:
        viewer.close()
        settle()


def test_the_docks_leave_the_images_most_of_the_window(launch_app: Any) -> None:
    """In a 1400 × 900 window the tabbed docks took the width of their widest panel: the
    Planning panel's row of three target buttons (573 px) and the Study browser's Gaps and
    Gantry tilt side by side (505 px) left the canvas 530 px. With no case every panel now
    fits in under 380 px (long drop-down choices may narrow; rows of wide buttons are two
    rows) and the canvas gets more than half of the window; with targets, the Planning
    panel is as wide as its six columns need (test_consistency), no wider."""
    viewer = launch_viewer(None, run=False)
    try:
        panels = dict(viewer.window.dock_widgets.items())
        next(iter(panels.values())).window().resize(1400, 900)
        settle(20)
        widths = {title: w.minimumSizeHint().width() for title, w in panels.items()}
        assert max(widths.values()) < 380, widths
        assert canvas_widget(viewer).width() > 700
    finally:
        viewer.close()
