"""Found by a physician's trial of the napari panels, driven with real Qt events (Xvfb).

- The Report panel's Clinic and Author (and the archive destination) were typed again
  after every napari restart: they are kept in the clinician settings when left.
- The mouse wheel over the C-arm panel's target or view drop-downs switched the previews
  shown; over the Study browser's Gaps / Gantry tilt it changed how the next series loads.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest
from qtpy.QtCore import QPoint, QPointF, Qt
from qtpy.QtGui import QWheelEvent
from qtpy.QtWidgets import QAbstractSpinBox, QApplication, QComboBox

from blockplan.case.store import CaseStore
from blockplan.demo import build_demo_case
from blockplan.settings import Settings, load_settings, save_settings, settings_path
from napari_blockplan._workspace import workspace_for
from tests.plugin._gui import Physician, activate, settle
from tests.plugin.test_physician_trial import SAMPLE, _wheel
from tests.plugin.test_physician_trial_planning import _pdf_text, _squash

pytestmark = pytest.mark.gui

CLINIC = "Synthetic Spine Clinic"
AUTHOR = "Dr. Synthetic Tester"


def _report_panel(make_napari_viewer: Any) -> tuple[Any, Any]:
    viewer = make_napari_viewer(show=True)
    _dock, report = viewer.window.add_plugin_dock_widget("blockplan", "Report")
    activate(report)
    return viewer, report


def test_clinic_author_and_destination_typed_in_the_report_panel_survive_a_relaunch(
    make_napari_viewer: Any, qtbot: Any, tmp_path: Path
) -> None:
    """Clinic and Author typed in the Report panel were empty again after a restart of
    napari; the physician typed them before every report."""
    viewer, report = _report_panel(make_napari_viewer)
    _dock, cases = viewer.window.add_plugin_dock_widget("blockplan", "Cases")
    activate(report)
    doc = Physician(viewer)
    assert (report.clinic.text(), report.author.text()) == ("", "")  # nothing configured
    assert not cases.clinician_row.isHidden()  # the Cases panel asks for the clinician

    doc.click(report.clinic, "Clinic")
    doc.type(report.clinic, CLINIC, "the clinic")
    assert not settings_path().exists()  # not saved at each key: only when left
    doc.key(report.clinic, Qt.Key.Key_Tab, what="Tab")  # on to Author: Clinic is left
    assert report.author.hasFocus()
    assert load_settings().clinic_name == CLINIC
    doc.type(report.author, AUTHOR, "the author")
    assert load_settings().clinician_name == ""
    doc.key(report.author, Qt.Key.Key_Return, what="Enter")
    destination = str(tmp_path / "archive")
    doc.click(report.destination, "Archive to")
    doc.type(report.destination, destination, "the archive folder")
    doc.key(report.destination, Qt.Key.Key_Return, what="Enter")

    saved = load_settings()
    assert (saved.clinic_name, saved.clinician_name) == (CLINIC, AUTHOR)
    assert saved.archive_destination == destination
    assert stat.S_IMODE(os.stat(settings_path()).st_mode) == 0o600  # the owner's only
    assert workspace_for(viewer).user == AUTHOR  # one clinician: author and operator
    assert cases.clinician_row.isHidden()  # answered in the Report panel: no longer asked
    assert report.status.text().startswith("Archive destination saved")
    viewer.close()
    settle()

    again, report = _report_panel(make_napari_viewer)  # napari started again
    assert (report.clinic.text(), report.author.text()) == (CLINIC, AUTHOR)
    assert report.destination.text() == destination
    assert workspace_for(again).user == AUTHOR
    # a report is of a case (Build without one is refused): the case reopened
    workspace_for(again).use_store(CaseStore(tmp_path / "cases.sqlite3"))
    workspace_for(again).start_case(build_demo_case(SAMPLE))
    doc = Physician(again)
    doc.click(report.build_button, "Build report")
    qtbot.waitUntil(
        lambda: report.pdf is not None and report.build_button.isEnabled(), timeout=60000
    )
    text = _squash(_pdf_text(report.pdf))
    assert _squash(CLINIC) in text and _squash(AUTHOR) in text


def test_an_invalid_destination_or_an_emptied_author_is_not_saved(
    make_napari_viewer: Any,
) -> None:
    """A destination the archive cannot use is refused with its reason, and clearing the
    Author keeps the configured clinician; the saved settings stay as they were."""
    save_settings(Settings(clinician_name=AUTHOR, archive_destination="pacs://PACS@10.0.0.5:104"))
    viewer, report = _report_panel(make_napari_viewer)
    doc = Physician(viewer)
    doc.click(report.destination, "Archive to")
    report.destination.selectAll()
    doc.type(report.destination, "ftp://somewhere", "a destination")
    doc.key(report.destination, Qt.Key.Key_Return, what="Enter")
    assert report.status.text().startswith("Archive destination not saved: setting ")
    doc.click(report.author, "Author")
    report.author.selectAll()
    doc.key(report.author, Qt.Key.Key_Delete, what="Delete")
    doc.key(report.author, Qt.Key.Key_Return, what="Enter")
    assert report.author.text() == AUTHOR  # shown again, not saved empty
    saved = load_settings()
    assert (saved.clinician_name, saved.archive_destination) == (
        AUTHOR,
        "pacs://PACS@10.0.0.5:104",
    )


def test_the_wheel_over_the_c_arm_and_study_choices_changes_nothing(
    make_napari_viewer: Any, tmp_path: Path
) -> None:
    """The wheel over the C-arm panel's target switched the previews to another target
    (a second notch: a third), over a view drop-down to another view; over the Study
    browser's Gaps it turned "refuse" into "resample" for the next series loaded."""
    save_settings(Settings(clinician_name=AUTHOR))
    viewer = make_napari_viewer(show=True)
    ws = workspace_for(viewer)
    ws.use_store(CaseStore(tmp_path / "cases.sqlite3"))
    _dock, study = viewer.window.add_plugin_dock_widget("blockplan", "Study browser")
    _dock, fluoro = viewer.window.add_plugin_dock_widget("blockplan", "C-arm previews")
    ws.start_case(build_demo_case(SAMPLE))
    activate(fluoro)
    combos = (fluoro.target, *fluoro.views, study.gaps_combo, study.tilt_combo)
    # each shows a choice with another below it, where the wheel (towards the user) goes
    assert all(c.currentIndex() < c.count() - 1 for c in combos)
    case, selected = ws.case, ws.selected_target_id
    shown = [c.currentText() for c in combos]
    status = fluoro.status.text()

    for combo in combos:
        _wheel(combo, notches=2)

    assert [c.currentText() for c in combos] == shown
    assert fluoro.status.text() == status
    assert ws.case == case and ws.selected_target_id == selected


PANELS = ("Cases", "Study browser", "Planning", "Outcomes", "C-arm previews", "Report")


def _turn(widget: Any, delta: int) -> None:
    """One notch of the wheel over ``widget`` (120: away from the user, -120: towards)."""
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(
        pos,
        widget.mapToGlobal(pos),
        QPoint(0, 0),
        QPoint(0, delta),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)


def _shown(control: Any) -> Any:
    return control.currentText() if isinstance(control, QComboBox) else control.text()


def test_the_wheel_changes_no_drop_down_or_number_in_any_panel(
    make_napari_viewer: Any, tmp_path: Path
) -> None:
    """Every drop-down and spin box of every blockplan panel, on the demo case: a notch of
    the wheel each way leaves what it shows, and the case, as they were (a panel added
    later without `scroll_only` fails here)."""
    save_settings(Settings(clinician_name=AUTHOR))
    viewer = make_napari_viewer(show=True)
    ws = workspace_for(viewer)
    ws.use_store(CaseStore(tmp_path / "cases.sqlite3"))
    panels = [viewer.window.add_plugin_dock_widget("blockplan", p)[1] for p in PANELS]
    ws.start_case(build_demo_case(SAMPLE))
    settle()
    case = ws.case
    controls = [
        (name, c)
        for name, panel in zip(PANELS, panels, strict=True)
        for c in (*panel.findChildren(QComboBox), *panel.findChildren(QAbstractSpinBox))
        if c.isEnabled() and (not isinstance(c, QComboBox) or c.count() > 1)
    ]
    assert len(controls) >= 15  # the panels' choices and numbers are all there

    moved = []
    for name, control in controls:
        before = _shown(control)
        for delta in (-120, 120):  # one way, then the other (a box at its end moves back)
            _turn(control, delta)
            if _shown(control) != before:
                moved.append(f"{name}: {type(control).__name__} showing {before!r}")
    settle()
    assert moved == []
    assert ws.case == case
