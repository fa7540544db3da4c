"""Driving napari as a person does: real Qt clicks and keys, counted.

`Physician` sends only real Qt events (QTest) to widgets and to the canvas, and counts the
user actions it performs: a mouse click, a key press (Tab, Enter, Escape, a shortcut), or
typing one field's text (one value typed in one go counts once, as a person types it).
Canvas clicks land on the screen pixel of a patient position (LPS mm) in the current 2-D
view, computed from napari's public camera (centre, zoom, orientation).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
from qtpy.QtCore import QPoint, Qt
from qtpy.QtTest import QTest
from qtpy.QtWidgets import QApplication, QWidget

from napari_blockplan._convert import lps_to_world


def settle(n: int = 5) -> None:
    """Let Qt deliver pending events (layer redraws, signals)."""
    app = QApplication.instance()
    for _ in range(n):
        app.processEvents()


def activate(widget: QWidget) -> None:
    """Make the window holding ``widget`` the active one: keys then go where the focus is."""
    window = widget.window()
    window.activateWindow()
    QTest.qWaitForWindowActive(window, 3000)
    settle()


def dock_of(widget: QWidget) -> Any:
    """The dock (QDockWidget) a panel sits in."""
    dock = widget.parentWidget()
    while dock is not None and not dock.inherits("QDockWidget"):
        dock = dock.parentWidget()
    assert dock is not None
    return dock


def canvas_widget(viewer: Any) -> QWidget:
    """The Qt widget of napari's canvas (the only private attribute the tests use)."""
    return viewer.window._qt_viewer.canvas.native


def pixel_of(viewer: Any, lps: Any) -> QPoint:
    """Screen pixel of a patient position in the current 2-D view."""
    world = lps_to_world(np.asarray(lps, dtype=float))
    canvas = canvas_widget(viewer)
    shown = list(viewer.dims.displayed)
    centre = np.asarray(viewer.scene.camera.center)[-2:]
    zoom = float(viewer.scene.camera.zoom)
    down, right = viewer.scene.camera.orientation2d
    offset = (world[shown] - centre) * zoom
    if down == "up":
        offset[0] = -offset[0]
    if right == "left":
        offset[1] = -offset[1]
    x = canvas.width() / 2 + offset[1]
    y = canvas.height() / 2 + offset[0]
    return QPoint(round(x), round(y))


class Physician:
    """Sends real Qt events and counts user actions."""

    def __init__(self, viewer: Any) -> None:
        self.viewer = viewer
        self.actions = 0
        self.log: list[str] = []

    def _count(self, what: str) -> None:
        self.actions += 1
        self.log.append(what)

    def click(self, widget: QWidget, what: str = "", pos: QPoint | None = None) -> None:
        """Left-click a widget (its centre, or ``pos``)."""
        self._count(f"click {what or type(widget).__name__}")
        QTest.mouseClick(
            widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos or QPoint()
        )
        settle()

    def double_click(self, widget: QWidget, what: str = "", pos: QPoint | None = None) -> None:
        """Double-click a widget (counted once): press and release, then the second click."""
        self._count(f"double-click {what or type(widget).__name__}")
        args = (Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos or QPoint())
        QTest.mouseClick(widget, *args)
        QTest.mouseDClick(widget, *args)  # Qt 6 sends only the double-click event itself
        settle()

    def key(self, widget: QWidget, key: Any, modifier: Any = None, what: str = "") -> None:
        """Press one key (a shortcut, Tab, Enter, Escape) on a widget."""
        self._count(f"key {what or key}")
        QTest.keyClick(widget, key, modifier or Qt.KeyboardModifier.NoModifier)
        settle()

    def type(self, widget: QWidget, text: str, what: str = "") -> None:
        """Type a value into the focused field of ``widget`` (counted once)."""
        self._count(f"type {what or text!r}")
        QTest.keyClicks(widget, text)
        settle()

    def type_focused(self, text: str, what: str = "") -> None:
        """Type ``text`` where the keyboard focus is, key by key (counted once).

        Each key goes to the widget that has the focus at that moment, as on a keyboard:
        the first digit typed on a table cell opens its editor and the next ones go there.
        """
        self._count(f"type {what or text!r}")
        for char in text:
            target = QApplication.focusWidget()
            assert target is not None, "no widget has the keyboard focus"
            QTest.keyClick(target, char)
        settle()

    def key_focused(self, key: Any, what: str = "") -> None:
        """Press one key (Enter, Tab) where the keyboard focus is."""
        target = QApplication.focusWidget()
        assert target is not None, "no widget has the keyboard focus"
        self.key(target, key, what=what)

    def click_patient(self, lps: Any, what: str = "") -> None:
        """Click the canvas where the patient position ``lps`` is shown."""
        canvas = canvas_widget(self.viewer)
        self.click(canvas, what or f"canvas at {lps}", pixel_of(self.viewer, lps))


def choose(combo: Any, value: str) -> None:
    """Select the item of ``combo`` whose stored value is ``value`` (the item's text is the
    physician's word for it, e.g. "SNRB — selective nerve root block" for ``"snrb"``)."""
    index = combo.findData(value)
    assert index >= 0, f"{value!r} is not an item of the list"
    combo.setCurrentIndex(index)


def canvas_with_and_without(viewer: Any, layer: Any) -> tuple[np.ndarray, np.ndarray]:
    """The canvas (RGB, float) with ``layer`` shown, and the same canvas with it hidden:
    where they differ is what the layer draws."""
    with_layer = viewer.screenshot(canvas_only=True, flash=False)[..., :3].astype(float)
    layer.visible = False
    settle()
    without = viewer.screenshot(canvas_only=True, flash=False)[..., :3].astype(float)
    layer.visible = True
    settle()
    return with_layer, without


SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"

WHEN = dt.datetime(2026, 5, 19, 12, 0, tzinfo=dt.UTC)
"""When the archives of the plugin tests are made (their report date and SR content time)."""


def sample_archive(ws: Any, case: Any = None, *, report_options: Any = None) -> Any:
    """The archive objects (report PDF, SR, SEG) of ``case`` (default: the workspace's
    case) on the sample study's series the case was planned on, made at `WHEN`, as
    `blockplan archive` makes them; ``report_options`` as `build_archive` takes them."""
    from blockplan.archive import build_archive
    from blockplan.archive._common import read_headers
    from blockplan.archive.jobs import select_series
    from blockplan.io import discover

    case = ws.case if case is None else case
    info = select_series(discover(SAMPLE).series, case)
    return build_archive(
        case,
        read_headers(info.files),
        volume=ws.volume(info.series_instance_uid),
        report_options=report_options,
        content_datetime=WHEN,
    )


def quick_archive(ws: Any) -> Any:
    """`sample_archive` of the workspace's case with a quick report: small key images,
    no C-arm previews and no sagittal overview (the texts the tests read are all there)."""
    from blockplan.report import ReportOptions

    options = ReportOptions(
        created_at=WHEN, fluoro_previews=False, include_sagittal=False, key_image_pixels=160
    )
    return sample_archive(ws, report_options=options)


def demo_in_planning(make_napari_viewer: Any, tmp_path: Path) -> tuple[Any, Any, Any]:
    """The sample study in a 1400 × 900 window with the demo case open (its store in
    ``tmp_path``) and the Planning panel docked: viewer, panel, case."""
    from blockplan.case.store import CaseStore
    from blockplan.demo import build_demo_case
    from napari_blockplan._workspace import workspace_for

    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1400, 900)
    viewer.open_sample("blockplan", "lumbar_postop")
    ws = workspace_for(viewer)
    ws.use_store(CaseStore(tmp_path / "cases.sqlite3"))
    _dock, planning = viewer.window.add_plugin_dock_widget("blockplan", "Planning")
    return viewer, planning, ws.start_case(build_demo_case(SAMPLE))


def layer_rows(viewer: Any) -> list[str]:
    """The names napari's layer list shows, top to bottom."""
    model = viewer.window._qt_viewer.layers.model()
    role = Qt.ItemDataRole.DisplayRole
    return [model.data(model.index(r, 0), role) for r in range(model.rowCount())]


def layer_row_centre(viewer: Any, name: str) -> QPoint:
    """The centre of a layer's row in napari's layer list (viewport coordinates)."""
    view = viewer.window._qt_viewer.layers
    return view.visualRect(view.model().index(layer_rows(viewer).index(name), 0)).center()


def click_layer_row(doc: Physician, name: str, modifier: Any = None) -> None:
    """A click on a layer's row in napari's layer list (with Ctrl: added to the
    selection)."""
    doc._count(f"click the {name!r} row")
    QTest.mouseClick(
        doc.viewer.window._qt_viewer.layers.viewport(),
        Qt.MouseButton.LeftButton,
        modifier or Qt.KeyboardModifier.NoModifier,
        layer_row_centre(doc.viewer, name),
    )
    settle()


def select_target(doc: Physician, planning: Any, target_id: str) -> None:
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
