"""The C-arm previews dock follows the target selected in Planning and its moving entry."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qtpy.QtCore import Qt

from blockplan.case.store import CaseStore
from blockplan.demo import build_demo_case
from blockplan.fluoro.views import ViewKind, target_views
from blockplan.planning.wording import target_names
from napari_blockplan._convert import lps_to_world
from napari_blockplan._workspace import workspace_for
from tests.plugin._gui import Physician, settle

pytestmark = pytest.mark.gui

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"


@pytest.fixture
def docked(make_napari_viewer: Any, tmp_path: Path, qtbot: Any) -> Any:
    viewer = make_napari_viewer(show=True)
    viewer.open_sample("blockplan", "lumbar_postop")
    ws = workspace_for(viewer)
    ws.use_store(CaseStore(tmp_path / "cases.sqlite3"))
    _d, planning = viewer.window.add_plugin_dock_widget("blockplan", "Planning")
    _d, previews = viewer.window.add_plugin_dock_widget("blockplan", "C-arm previews")
    qtbot.waitUntil(lambda: ws.ct() is not None, timeout=60000)
    ws.start_case(build_demo_case(SAMPLE))
    return viewer, ws, planning, previews


def _shows(previews: Any, target_id: str) -> bool:
    return bool(previews.shown) and previews.shown[0].target_id == target_id


def test_previews_follow_the_selected_target_and_its_entry(docked: Any, qtbot: Any) -> None:
    viewer, ws, planning, previews = docked
    case = ws.case
    first = case.targets[0].id
    qtbot.waitUntil(lambda: _shows(previews, first) and previews.final, timeout=60000)
    eye, side = target_views(case, first, kinds=[ViewKind.BULLSEYE, ViewKind.PROGRESSION])
    assert [c.text() for c in previews.captions] == [eye.title, side.title]
    assert previews.shown[0].image_rgb.shape[:2] == (384, 384)  # shown scaled to the panel

    # the physician selects T5 in the Planning table: the previews follow
    doc = Physician(viewer)
    tabs = planning.tabs
    bar = tabs.tabBar()
    index = next(i for i in range(bar.count()) if bar.tabText(i) == "Targets")
    doc.click(bar, "the Targets tab", bar.tabRect(index).center())
    fifth = case.targets[4].id
    name = target_names(case.targets)[fifth]
    table = planning.table
    row = next(r for r in range(table.rowCount()) if table.item(r, 0).text() == name)
    table.scrollToItem(table.item(row, 0))
    doc.click(table.viewport(), name, table.visualItemRect(table.item(row, 0)).center())
    qtbot.waitUntil(lambda: _shows(previews, fifth), timeout=60000)
    assert previews.target.currentText() == name
    assert previews.captions[0].text() == "bull's-eye: 40.0° left oblique, no tilt"

    # its skin entry moves 20 mm cranially: the bull's-eye gains a cranial tilt
    entry = np.add(ws.case.trajectory_for(fifth).entry.lps, [0.0, 0.0, 20.0])
    planning.set_entry_at(lps_to_world(entry), target_id=fifth)
    moved = target_views(ws.case, fifth, kinds=[ViewKind.BULLSEYE])[0]
    assert "cranial tilt" in moved.c_arm
    qtbot.waitUntil(
        lambda: previews.captions[0].text() == moved.title and previews.final, timeout=60000
    )
    assert "refining" not in previews.status.text()
    shown = previews.shown[0]
    np.testing.assert_allclose(shown.view.geometry.beam, moved.geometry.beam)
    assert np.linalg.norm(np.subtract(shown.overlay.entry_px, shown.overlay.target_px)) < 1.0

    # an SNRB has no Scotty-dog view: the panel says what it can show instead of failing
    oblique = previews.views[1].findData(ViewKind.OBLIQUE.value)
    previews.views[1].setCurrentIndex(oblique)
    assert previews.shown == () and previews.status.text() == (
        f"{name}: bull's-eye, progression, AP, true lateral can be shown"
    )

    # the physician picks the AP view with the keyboard: its angles name it "straight AP",
    # the words of the Planning panel, the report and the SR (never "true PA")
    combo = previews.views[1]
    wanted = combo.findData(ViewKind.AP.value)
    while combo.currentIndex() != wanted:
        up = combo.currentIndex() > wanted
        doc.key(combo, Qt.Key.Key_Up if up else Qt.Key.Key_Down, what="the view list")
    ap = target_views(ws.case, fifth, kinds=[ViewKind.AP])[0]
    qtbot.waitUntil(
        lambda: previews.captions[1].text() == ap.title and previews.final, timeout=60000
    )
    assert re.fullmatch(
        r"AP, endplates squared: straight AP \(0\.0° oblique\), \d+\.\d° cranial tilt",
        previews.captions[1].text(),
    ), previews.captions[1].text()
    assert combo.currentText() == "AP"

    # T5 without a level (its level cleared): the AP view cannot be tilted to it; the
    # caption says "not squared", and the list above it says "AP" — it had said "AP,
    # endplates squared" above "AP, endplates not squared"
    unlevelled = ws.case.target(fifth).model_copy(update={"level": None})
    targets = tuple(unlevelled if t.id == fifth else t for t in ws.case.targets)
    ws.apply(ws.case.model_copy(update={"targets": targets}), "T5's level cleared")
    flat = target_views(ws.case, fifth, kinds=[ViewKind.AP])[0]
    assert not flat.endplates_squared
    qtbot.waitUntil(
        lambda: previews.captions[1].text().startswith(flat.title) and previews.final,
        timeout=60000,
    )
    # and why, under it (in the picture only, the words were a few pixels high)
    assert previews.captions[1].text() == (
        "AP, endplates not squared: straight AP (0.0° oblique), no tilt\n"
        "the AP view is not tilted (endplates not squared): the target has no level"
    )
    assert combo.currentText() == "AP"
    # side by side (a wide dock), the one-line caption starts at the top of its row as the
    # three-line one does: it had stood in the middle of the row
    dock = previews.parentWidget()
    while not dock.inherits("QDockWidget"):
        dock = dock.parentWidget()
    viewer.window._qt_window.resizeDocks([dock], [900], Qt.Orientation.Horizontal)
    qtbot.waitUntil(lambda: not previews.stacked, timeout=5000)
    settle(5)
    one_line, three = previews.captions[0], previews.captions[1]
    assert one_line.y() == three.y() and one_line.height() == three.height()
    shot = one_line.grab().toImage()
    rows = [
        y
        for y in range(shot.height())
        if any(shot.pixelColor(x, y).lightness() > 150 for x in range(shot.width()))
    ]
    assert rows and rows[0] < one_line.height() / 4, (rows[:1], one_line.height())
    assert all("squared" not in c.itemText(i) for c in previews.views for i in range(c.count()))
