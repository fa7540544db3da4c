"""Screenshots of the Study browser, Planning and Report panels on the demo case (Xvfb).

Each test checks what the panel shows a physician (text in its widgets, a drawn image),
then saves the panel as ``docs/<name>.png`` when ``BLOCKPLAN_SAVE_SCREENSHOT_DIR`` is set
(``BLOCKPLAN_SAVE_SCREENSHOT_DIR=docs pytest tests/plugin/test_panel_screenshots.py``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qtpy.QtCore import QPoint

from blockplan.case.store import CaseStore
from blockplan.demo import build_demo_case
from napari_blockplan._workspace import workspace_for
from tests.plugin._gui import dock_of, settle

pytestmark = pytest.mark.gui

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"


def _save(widget: Any, name: str) -> np.ndarray:
    """Grab the panel's dock; save it when asked; its pixels (rows, cols, 4)."""
    from qtpy.QtGui import QImage

    settle()
    pixmap = dock_of(widget).grab()
    folder = os.environ.get("BLOCKPLAN_SAVE_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        assert pixmap.save(str(Path(folder) / f"{name}.png"))
    image = pixmap.toImage().convertToFormat(QImage.Format.Format_RGBA8888)
    ptr = image.constBits()
    ptr.setsize(image.sizeInBytes())
    rows = np.frombuffer(ptr, np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : image.width() * 4].reshape(image.height(), image.width(), 4).copy()


@pytest.fixture
def demo(make_napari_viewer: Any, tmp_path: Path) -> Any:
    viewer = make_napari_viewer(show=True)
    viewer.window.resize(1400, 1000)
    ws = workspace_for(viewer)
    ws.use_store(CaseStore(tmp_path / "cases.sqlite3"))
    return viewer, ws


def test_study_browser_panel(demo: Any, qtbot: Any) -> None:
    viewer, _ws = demo
    _dock, browser = viewer.window.add_plugin_dock_widget("blockplan", "Study browser")
    browser.scan(SAMPLE)  # in a worker: the panel fills in when the scan is done
    qtbot.waitUntil(lambda: browser.table.rowCount() == 4, timeout=60000)
    qtbot.waitUntil(lambda: "PHANTOM" in browser.identity_label.text(), timeout=60000)
    assert "PHANTOM, LUMBAR" in browser.identity_label.text()
    assert browser.table.rowCount() == 4
    descriptions = " ".join(
        browser.table.item(r, c).text()
        for r in range(browser.table.rowCount())
        for c in range(browser.table.columnCount())
        if browser.table.item(r, c) is not None
    )
    assert "CT" in descriptions and "MR" in descriptions
    pixels = _save(browser, "study-browser")
    assert pixels.shape[0] > 200 and pixels[..., :3].std() > 10


def test_planning_panel(demo: Any) -> None:
    viewer, ws = demo
    viewer.open_sample("blockplan", "lumbar_postop")
    ws.start_case(build_demo_case(SAMPLE))
    _dock, planning = viewer.window.add_plugin_dock_widget("blockplan", "Planning")
    planning.tabs.setCurrentIndex(
        next(i for i in range(planning.tabs.count()) if planning.tabs.tabText(i) == "Targets")
    )
    planning.table.selectRow(0)
    settle()
    assert planning.table.rowCount() == len(ws.case.targets) > 0
    pixels = _save(planning, "planning-panel")
    assert pixels.shape[0] > 300 and pixels[..., :3].std() > 10
    # the notes field is seen as a field (a box of its own colour), as the label above it:
    # a multi-line field napari's theme does not style read as plain text on the panel
    dock = dock_of(planning)
    for field in (planning.target_notes, planning.target_label):
        box = field.rect()
        inside = field.mapTo(dock, box.bottomRight() - QPoint(4, 4))
        outside = field.mapTo(dock, QPoint(box.right() + 4, box.center().y()))
        assert (
            np.abs(
                pixels[inside.y(), inside.x(), :3].astype(int)
                - pixels[outside.y(), outside.x(), :3].astype(int)
            ).sum()
            > 20
        ), field


def test_report_panel(demo: Any, qtbot: Any) -> None:
    viewer, ws = demo
    viewer.open_sample("blockplan", "lumbar_postop")
    ws.start_case(build_demo_case(SAMPLE))
    _dock, report = viewer.window.add_plugin_dock_widget("blockplan", "Report")
    report.clinic.setText("Synthetic Spine Clinic")
    report.build()
    qtbot.waitUntil(lambda: report.pdf is not None, timeout=120000)
    settle()
    assert report.preview.pixmap() is not None and not report.preview.pixmap().isNull()
    assert "report built" in report.status.text()
    pixels = _save(report, "report-panel")
    assert pixels.shape[0] > 300 and pixels[..., :3].std() > 10
