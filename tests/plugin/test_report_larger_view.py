"""The Report panel's preview read by a physician before archiving: the page fitted to the
dock's width, and **Larger view…** — the same PDF readable, with page keys and zoom, saying
"stale" when the case changes after the build. One napari launch, real Qt events only.

The larger view's screenshot is saved as ``docs/report-larger-view.png`` when
``BLOCKPLAN_SAVE_SCREENSHOT_DIR`` is set (as `test_panel_screenshots.py` does).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qtpy.QtCore import Qt

from tests.plugin._gui import dock_of, select_target, settle

pytestmark = pytest.mark.gui


def _pixels(pixmap: Any) -> np.ndarray:
    """The RGB pixels of a pixmap (rows, cols, 3)."""
    from qtpy.QtGui import QImage

    image = pixmap.toImage().convertToFormat(QImage.Format.Format_RGBA8888)
    ptr = image.constBits()
    ptr.setsize(image.sizeInBytes())
    rows = np.frombuffer(ptr, np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : image.width() * 4].reshape(image.height(), image.width(), 4)[..., :3].copy()


def _fitted(view: Any) -> bool:
    """The page fills the view's width, without a sideways scroll bar."""
    shown = view.label.pixmap()
    return (
        shown is not None
        and abs(shown.width() - view.viewport().width()) <= 1
        and not view.horizontalScrollBar().isVisible()
    )


def test_the_report_read_in_the_dock_and_in_the_larger_view(
    planning_demo: Any, qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from blockplan.report.preview import LARGER_VIEW_DPI, page_size_px

    viewer, ws, planning, doc = (
        planning_demo.viewer,
        planning_demo.ws,
        planning_demo.planning,
        planning_demo.doc,
    )
    _dock, report = viewer.window.add_plugin_dock_widget("blockplan", "Report")
    settle()
    # no preview yet: nothing to enlarge
    assert not report.larger_button.isEnabled()
    doc.click(report.larger_button, "Larger view… (disabled)")
    assert report.larger is None

    doc.click(report.build_button, "Build report")
    qtbot.waitUntil(
        lambda: report.pdf is not None and report.build_button.isEnabled(), timeout=180000
    )
    settle()
    pages = len(report.pages)
    assert pages > 2 and report.page.text() == f"1 of {pages}"

    # the dock's page fits its width (it had needed sideways scrolling), and again when
    # the dock is made wider
    view = report.page_view
    assert _fitted(view), (view.label.pixmap().width(), view.viewport().width())
    dock_width = view.label.pixmap().width()
    assert dock_width < 496  # narrower than the 60-dpi page: it had been cut
    window = viewer.window._qt_window
    window.resizeDocks([dock_of(report)], [dock_of(report).width() + 120], Qt.Horizontal)
    settle()
    assert _fitted(view) and view.label.pixmap().width() > dock_width + 60

    # Larger view…: the same PDF, page 1 at 110 dpi (about twice the dock's page)
    assert report.larger_button.isEnabled()
    doc.click(report.larger_button, "Larger view…")
    larger = report.larger
    assert larger is not None and larger.isVisible() and not larger.isModal()
    assert larger.pdf is report.pdf  # the bytes Archive sends
    qtbot.waitUntil(lambda: 1 in larger.pages, timeout=60000)
    settle()
    width_100, height_100 = page_size_px(report.pdf, dpi=LARGER_VIEW_DPI)
    page_1 = larger.view.label.pixmap()
    assert abs(page_1.width() - width_100) <= 1 and abs(page_1.height() - height_100) <= 1
    assert page_1.width() > 1.8 * dock_width
    assert larger.page_label.text() == f"page 1 of {pages}"
    assert larger.zoom_label.text() == "100 %"
    title = larger.windowTitle()
    assert title.startswith("Diagnostic spine block report BPR-")
    assert "decision support, not a medical device" in title
    patient = ws.case.patient
    assert patient.patient_name and str(patient.patient_name).split("^")[0] not in title
    assert patient.patient_id not in title

    # Page Down: page 2; Previous (button) back; Page Up on page 1 stays there
    doc.key(larger.view, Qt.Key.Key_PageDown, what="Page Down")
    assert larger.page_label.text() == f"page 2 of {pages}"
    qtbot.waitUntil(lambda: 2 in larger.pages, timeout=60000)
    settle()
    page_2 = larger.view.label.pixmap()
    assert not np.array_equal(_pixels(page_2), _pixels(page_1))
    doc.click(larger.previous_button, "◀ Previous")
    assert larger.page_label.text() == f"page 1 of {pages}"
    doc.key(larger.view, Qt.Key.Key_PageUp, what="Page Up")
    assert larger.page_label.text() == f"page 1 of {pages}"
    assert not larger.previous_button.isEnabled()
    doc.key(larger.view, Qt.Key.Key_PageDown, what="Page Down")
    assert larger.page_label.text() == f"page 2 of {pages}"

    # zoom: Ctrl+= and Ctrl+- step it, the buttons too; Fit width fills the window's width
    doc.key(larger.view, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier, "Ctrl+=")
    assert larger.zoom_label.text() == "110 %"
    assert abs(larger.view.label.pixmap().width() - round(width_100 * 1.1)) <= 1
    doc.key(larger.view, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier, "Ctrl+-")
    doc.click(larger.zoom_out_button, "−")
    assert larger.zoom_label.text() == "90 %"
    assert abs(larger.view.label.pixmap().width() - round(width_100 * 0.9)) <= 1
    doc.click(larger.fit_button, "Fit width")
    assert _fitted(larger.view) and larger.zoom_label.text().startswith("fit (")

    # what the physician sees is drawn: a white page with dark print, not a black window
    qtbot.waitUntil(lambda: len(larger.pages) == pages, timeout=60000)  # all rendered
    # all rendered: the bar says nothing more ("9 pages" had repeated "page 1 of 9")
    assert larger.status.text() == "" and larger.page_label.text() == f"page 2 of {pages}"
    larger.set_zoom(1.0)  # the screenshot at 100 %, on page 1
    doc.click(larger.previous_button, "◀ Previous")
    settle()
    shot = larger.grab()
    folder = os.environ.get("BLOCKPLAN_SAVE_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        assert shot.save(str(Path(folder) / "report-larger-view.png"))
    pixels = _pixels(shot)
    assert pixels.mean() > 60 and pixels.std() > 20
    assert (pixels.min(axis=2) > 230).mean() > 0.2  # the page's white

    # a case edit after the build (a target's label typed in the Planning panel): the
    # larger view says stale, as the panel does; Undo brings the previewed case back
    select_target(doc, planning, ws.case.targets[0].id)
    doc.click(planning.target_label, "Label")
    doc.key(planning.target_label, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier, "Ctrl+A")
    doc.type(planning.target_label, "index pain", "a label")
    doc.key(planning.target_label, Qt.Key.Key_Return, what="Enter")
    assert ws.case.targets[0].label == "index pain"
    assert larger.stale_line.isVisible()
    assert larger.stale_line.text().startswith("stale: the case changed after the report")
    assert larger.windowTitle().startswith("STALE — Diagnostic spine block report")
    assert not report.archive_button.isEnabled()
    undo = next(
        b for b in report.findChildren(type(report.build_button)) if b.text().startswith("Undo")
    )
    doc.click(undo, "Undo")
    assert report.archive_button.isEnabled()
    assert not larger.stale_line.isVisible()
    assert not larger.windowTitle().startswith("STALE")

    # Escape closes it; rendering stops with it
    doc.key(larger.view, Qt.Key.Key_Escape, what="Escape")
    assert not larger.isVisible()

    # Archive to a new folder, then Archive clicked again: the second click says the report
    # is already there, not "failed: …" (with an error) as it did
    folder = tmp_path / "archive-1"
    doc.click(report.destination, "Archive to")
    doc.type(report.destination, str(folder), "a new folder")
    doc.key(report.destination, Qt.Key.Key_Return, what="Enter")
    doc.click(report.archive_button, "Archive the previewed report")
    qtbot.waitUntil(lambda: not report.progress.isVisible(), timeout=120000)
    assert report.status.text() == f"archived to {folder}: the report exactly as previewed"
    assert (folder / "manifest.json").is_file()
    doc.click(report.archive_button, "Archive the previewed report (again)")
    assert not report.progress.isVisible()  # nothing started
    assert report.status.text() == (
        f"this report is already archived in {folder}; nothing was written again"
    )

    # Archive into a folder holding part of an archive (a copy to a USB stick stopped
    # mid-way): a refusal protecting it, said as one — "not archived: …" with a warning, not
    # "failed: …" with an error as it was; nothing written there
    import napari.utils.notifications as notifications

    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(notifications, "show_error", lambda m: shown.append(("error", m)))
    monkeypatch.setattr(notifications, "show_warning", lambda m: shown.append(("warning", m)))
    half = tmp_path / "usb-copy"
    half.mkdir()
    (half / "plan-sr.dcm").write_bytes(b"half")
    doc.click(report.destination, "Archive to")
    doc.key(report.destination, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier, "Ctrl+A")
    doc.type(report.destination, str(half), "a folder holding part of an archive")
    doc.key(report.destination, Qt.Key.Key_Return, what="Enter")
    doc.click(report.archive_button, "Archive the previewed report")
    qtbot.waitUntil(lambda: not report.progress.isVisible(), timeout=120000)
    said = f"not archived: {half}: holds an incomplete or damaged archive (manifest.json: missing)"
    assert report.status.text().startswith(said)
    assert shown == [("warning", f"blockplan: {report.status.text()}")]
    assert [p.name for p in half.iterdir()] == ["plan-sr.dcm"]
    assert report.archive_button.isEnabled()
