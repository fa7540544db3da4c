"""Mistakes a physician makes in a clinic day, driven with real Qt events (Xvfb).

Found by a physician's trial of the whole day in napari (wt-o): each test sends the events
the physician sent and checks what the panel shows and what the case store holds.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest
from qtpy.QtCore import QPoint, QPointF, Qt, QTimer
from qtpy.QtGui import QCloseEvent, QWheelEvent
from qtpy.QtTest import QTest
from qtpy.QtWidgets import (
    QApplication,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QWidget,
)

from blockplan.case import Case
from blockplan.case.store import CaseStore
from blockplan.demo import build_demo_case
from blockplan.outcomes import UNTESTED_TEXT
from blockplan.settings import Settings, save_settings
from napari_blockplan._workspace import workspace_for
from tests.plugin._gui import Physician, activate, settle
from tests.plugin.test_outcomes_entry import _record_snrb, _report_text, _squash

pytestmark = pytest.mark.gui

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"


def _outcomes_on(make_napari_viewer: Any, tmp_path: Path, case: Case) -> Any:
    """The Outcomes panel on ``case``, its store on disk, the clinician configured."""
    save_settings(Settings(clinician_name="Dr A. Example"))
    viewer = make_napari_viewer(show=True)
    ws = workspace_for(viewer)
    ws.use_store(CaseStore(tmp_path / "cases.sqlite3"))
    _dock, widget = viewer.window.add_plugin_dock_widget("blockplan", "Outcomes")
    ws.start_case(case)
    activate(widget)
    return viewer, widget, ws


@pytest.fixture
def demo(make_napari_viewer: Any, tmp_path: Path) -> Any:
    """The Outcomes panel on the demo case (four blocks with diaries), its store on disk."""
    return _outcomes_on(make_napari_viewer, tmp_path, build_demo_case(SAMPLE))


@pytest.fixture
def panel(make_napari_viewer: Any, tmp_path: Path) -> Any:
    """The Outcomes panel on the demo case without its blocks."""
    case = build_demo_case(SAMPLE).evolve(procedures=(), odi=(), pgic=())
    return _outcomes_on(make_napari_viewer, tmp_path, case)


def _click_block(doc: Physician, widget: Any, row: int) -> str:
    lst = widget.block_list
    doc.click(lst.viewport(), f"block #{row + 1}", lst.visualItemRect(lst.item(row)).center())
    pid = widget.selected_procedure_id()
    assert pid is not None
    return str(pid)


def _wheel(widget: QWidget, notches: int = 3) -> None:
    """Turn the mouse wheel towards the user over ``widget`` (scrolling a page down)."""
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    for _ in range(notches):
        event = QWheelEvent(
            pos,
            widget.mapToGlobal(pos),
            QPoint(0, 0),
            QPoint(0, -120),
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        QApplication.sendEvent(widget, event)
    settle()


def _scroll_area(widget: QWidget) -> QScrollArea:
    parent = widget.parentWidget()
    while not isinstance(parent, QScrollArea):
        parent = parent.parentWidget()
    return parent


def test_the_wheel_scrolls_the_form_and_never_changes_a_dose(demo: Any) -> None:
    """Scrolling the Block form with the wheel over a dose, the block type or the profile
    changed them (0.5 → 0.2 mL, SNRB → TFESI); the next Save changes stored both."""
    viewer, widget, ws = demo
    doc = Physician(viewer)
    pid = _click_block(doc, widget, 0)
    before = next(p for p in ws.case.procedures if p.id == pid)
    tid = before.injections[0].target_id
    spin, kind, profile = widget.volume_spins[tid], widget.block_type, widget.profile
    shown = (spin.value(), kind.currentText(), profile.currentText())
    scroll = _scroll_area(spin).verticalScrollBar()
    top = scroll.value()

    for control in (spin, kind, profile, widget.form.contrast_ml, widget.form.images_saved):
        _wheel(control)

    assert (spin.value(), kind.currentText(), profile.currentText()) == shown
    assert scroll.value() > top  # the wheel scrolled the form, as the physician meant
    assert ws.case.profile_name == profile.currentText()
    doc.click(widget.form.notes, "Notes")
    doc.type(widget.form.notes, "tolerated well", "a note")
    doc.click(widget.save_button, "Save changes")
    after = next(p for p in ws.case.procedures if p.id == pid)
    assert after.notes == "tolerated well"
    assert after.injections == before.injections and after.block_type is before.block_type
    stored, _version = ws.store.load(ws.case.case_id)
    assert next(p for p in stored.procedures if p.id == pid).injections == before.injections


def _interpretation_typed_into_block_1(doc: Physician, widget: Any) -> tuple[str, Any, str]:
    """Block #1 selected and ", concordant relief" typed at the end of its interpretation
    (not saved): the block's id, the field and the text it now shows."""
    first = _click_block(doc, widget, 0)
    field = widget.form.interpretation
    doc.click(field, "Interpretation")
    doc.key(field, Qt.Key.Key_End, what="End")
    doc.type(field, ", concordant relief", "an interpretation")
    return first, field, field.text()


def _test_running() -> str:
    """The node id of the test running now (pytest's ``PYTEST_CURRENT_TEST``)."""
    return os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]


def _answer(button: str, seen: list[str]) -> None:
    """When a dialog opens, note its text and click its button ``button`` (a real click).

    The wait ends with its test: one waiting for a dialog that never opened would
    otherwise answer the next test's dialog (and fail it, not having its button)."""
    test = _test_running()

    def click() -> None:
        if _test_running() != test:
            return
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, click)
            return
        seen.append(box.text())
        target = next(b for b in box.findChildren(QPushButton) if b.text() == button)
        QTest.mouseClick(target, Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, click)


def test_a_block_edit_not_saved_is_never_lost_silently(demo: Any) -> None:
    """An interpretation typed into block #1 and then a click on block #2 lost the text
    without a word; now the physician is asked: stay, save or discard."""
    viewer, widget, ws = demo
    doc = Physician(viewer)
    first = _click_block(doc, widget, 0)
    stored = next(p for p in ws.case.procedures if p.id == first).interpretation
    field = widget.form.interpretation
    doc.click(field, "Interpretation")
    doc.key(field, Qt.Key.Key_End, what="End")
    doc.type(field, ", concordant relief", "an interpretation")
    typed = field.text()
    lst = widget.block_list
    second = lst.visualItemRect(lst.item(1)).center()

    seen: list[str] = []
    _answer("Stay on block #1", seen)
    doc.click(lst.viewport(), "block #2", second)
    assert seen == ["Block #1 has changes that are not saved: interpretation."]
    assert widget.selected_procedure_id() == first and field.text() == typed
    assert next(p for p in ws.case.procedures if p.id == first).interpretation == stored

    _answer("Save changes", seen)
    doc.click(lst.viewport(), "block #2", second)
    assert widget.selected_procedure_id() != first
    assert next(p for p in ws.case.procedures if p.id == first).interpretation == typed
    saved, _version = ws.store.load(ws.case.case_id)
    assert next(p for p in saved.procedures if p.id == first).interpretation == typed

    # block #2: a volume typed, then New block; Discard keeps block #2 as it was
    pid = str(widget.selected_procedure_id())
    before = next(p for p in ws.case.procedures if p.id == pid)
    spin = widget.volume_spins[before.injections[0].target_id]
    doc.double_click(spin, "the volume")
    doc.key(spin, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier, "select all")
    doc.type(spin, "1.5", "1.5 mL")
    _answer("Discard changes", seen)
    doc.click(widget.new_block_button, "New block")
    assert seen[-1].startswith("Block #2 has changes that are not saved: targets, agent,")
    assert widget.selected_procedure_id() is None
    assert next(p for p in ws.case.procedures if p.id == pid) == before
    assert widget.message.text() == "changes to block #2 discarded"


def test_a_new_block_filled_in_is_not_lost_by_selecting_another(demo: Any) -> None:
    """A new block filled in (target, agent, notes) and then a click on a recorded block to
    look something up replaced the form without a word; now the physician is asked."""
    viewer, widget, ws = demo
    doc = Physician(viewer)
    doc.click(widget.new_block_button, "New block")
    tid = ws.case.targets[0].id
    box = widget.target_checks[tid]
    doc.click(box, "a target", QPoint(8, box.height() // 2))
    agent = next(iter(widget.agent_buttons))
    doc.click(widget.agent_buttons[agent], agent.value)
    doc.click(widget.form.notes, "Notes")
    doc.type(widget.form.notes, "left leg pain reproduced", "a note")
    n = len(ws.case.procedures)
    lst = widget.block_list
    first = lst.visualItemRect(lst.item(0)).center()

    seen: list[str] = []
    _answer("Stay on the new block", seen)
    doc.click(lst.viewport(), "block #1", first)
    assert seen[0].startswith("The new block is not recorded yet")
    assert widget.selected_procedure_id() is None
    assert widget.form.notes.toPlainText() == "left leg pain reproduced" and box.isChecked()

    _answer("Record as new block", seen)
    doc.click(lst.viewport(), "block #1", first)
    assert len(ws.case.procedures) == n + 1
    recorded = next(p for p in ws.case.procedures if p.id == widget.selected_procedure_id())
    assert recorded.notes == "left leg pain reproduced"

    # an untouched new form asks nothing
    doc.click(widget.new_block_button, "New block")
    doc.click(lst.viewport(), "block #1", first)
    assert QApplication.activeModalWidget() is None and len(seen) == 2
    assert widget.selected_procedure_id() is not None

    # New block on a new block filled in asks too; Discard empties the form
    doc.click(widget.new_block_button, "New block")
    doc.click(widget.form.notes, "Notes")
    doc.type(widget.form.notes, "second thoughts", "a note")
    _answer("Discard it", seen)
    doc.click(widget.new_block_button, "New block")
    assert len(seen) == 3 and widget.form.notes.toPlainText() == ""
    assert len(ws.case.procedures) == n + 1


def test_recording_an_edited_block_as_new_asks_nothing(demo: Any) -> None:
    """Record as new block from a loaded block (same block, another agent) is not a lost
    edit: the new block is recorded, the loaded one stays unchanged, no dialog."""
    viewer, widget, ws = demo
    doc = Physician(viewer)
    first = _click_block(doc, widget, 0)
    before = next(p for p in ws.case.procedures if p.id == first)
    other = next(a for a, b in widget.agent_buttons.items() if not b.isChecked())
    doc.click(widget.agent_buttons[other], other.value)
    n = len(ws.case.procedures)
    doc.click(widget.record_button, "Record as new block")
    assert QApplication.activeModalWidget() is None
    assert len(ws.case.procedures) == n + 1
    assert next(p for p in ws.case.procedures if p.id == first) == before


def test_a_missing_diary_point_is_named_on_screen_as_in_the_report(panel: Any) -> None:
    """A diary without its 60-min point: the report listed "missing diary points: 60 min"
    under the block's verdict, the panel's verdict did not mention the gap."""
    viewer, widget, ws = panel
    doc = Physician(viewer)
    pid = _record_snrb(doc, widget, ws)
    doc.type(widget.quick_diary, "8: 1 1 0 - 3 6 7 8 8 8 8", "a diary without 60 min")
    doc.key(widget.quick_diary, Qt.Key.Key_Return, what="Enter")
    block = next(b for b in widget.ledger.blocks if b.procedure_id == pid)
    assert block.missing_min == (60,)
    shown = widget.verdict.text().splitlines()
    assert shown[0].startswith("Block #1: positive")
    assert shown[-1] == "• missing diary points: 60 min (diary final)"
    assert _squash("missing diary points: 60 min (diary final)") in _squash(_report_text(ws.case))


def test_no_diary_is_typed_when_no_block_is_selected(demo: Any) -> None:
    """With no block selected the Diary tab took a baseline of 11 and kept showing it,
    saved nowhere and without a word; now nothing can be typed there until a block is."""
    viewer, widget, ws = demo
    doc = Physician(viewer)
    doc.click(widget.new_block_button, "New block")
    bar = widget.tabs.tabBar()
    doc.click(bar, "the Diary tab", bar.tabRect(1).center())
    before = ws.case
    doc.click(widget.baseline, "Baseline NRS")
    doc.type(widget.baseline, "11", "a baseline")
    doc.key(widget.baseline, Qt.Key.Key_Return, what="Enter")
    assert widget.diary_panel.block_label.text().startswith("no block selected")
    assert widget.baseline.text() == "" and not widget.baseline.isEnabled()
    assert not widget.quick_diary.isEnabled() and not widget.diary.isEnabled()
    assert ws.case is before
    # selecting a block makes its diary typeable again
    _click_block(doc, widget, 0)
    assert widget.baseline.isEnabled() and widget.quick_diary.isEnabled()


def test_an_odi_or_pgic_dated_in_the_future_is_refused(demo: Any) -> None:
    """A block dated tomorrow was refused, an ODI or PGIC dated next year was recorded (and
    sorted after every block in the report's course of scores)."""
    viewer, widget, ws = demo
    doc = Physician(viewer)
    bar = widget.tabs.tabBar()
    doc.click(bar, "Outcome measures", bar.tabRect(2).center())
    before = ws.case
    next_year = f"{dt.date.today().year + 1}-05-01"
    doc.click(widget.odi_date, "ODI date")
    doc.type(widget.odi_date, next_year, "next year")
    doc.click(widget.odi_entry, "ODI answers")
    doc.type(widget.odi_entry, "1 1 1 1 1 1 1 1 1 1", "ten answers")
    doc.key(widget.odi_entry, Qt.Key.Key_Return, what="Enter")
    assert ws.case is before
    assert widget.message.text().startswith(f"ODI: {next_year} is in the future (today is ")
    assert widget.odi_entry.text() == "1 1 1 1 1 1 1 1 1 1"  # kept, to be corrected
    doc.click(widget.pgic_date, "PGIC date")
    doc.type(widget.pgic_date, next_year, "next year")
    doc.click(widget.pgic_buttons[2], "2 much improved")
    doc.click(widget.pgic_record_button, "Record PGIC")
    assert ws.case is before
    assert widget.message.text().startswith(f"PGIC: {next_year} is in the future")
    # today's date is taken
    doc.click(widget.odi_date, "ODI date")
    doc.type(widget.odi_date, dt.date.today().isoformat(), "today")
    doc.click(widget.odi_record_button, "Record ODI")
    assert len(ws.case.odi) == len(before.odi) + 1


def test_the_needle_fields_keep_their_units_in_view(demo: Any) -> None:
    """The needle length filled from the plan read "88.9" with no unit (gauge? inches?)."""
    viewer, widget, _ws = demo
    doc = Physician(viewer)
    _click_block(doc, widget, 0)
    form = widget.form
    for field, unit in ((form.needle_gauge, "G"), (form.needle_length, "mm")):
        field_box = field.geometry()
        beside = [
            label
            for label in form.findChildren(QLabel)
            if label.text() == unit and label.parentWidget() is field.parentWidget()
        ]
        assert len(beside) == 1, unit
        box = beside[0].geometry()
        assert beside[0].isVisible() and box.left() >= field_box.right()
        assert (
            box.left() - field_box.right() < 20
            and abs(box.center().y() - field_box.center().y()) < 4
        )


def test_what_would_settle_a_source_is_read_without_scrolling(demo: Any) -> None:
    """The ledger's last column (what would settle an open source) lay beyond the dock's
    edge; the selected source's reasons and advice now show whole under the table."""
    viewer, widget, _ws = demo
    doc = Physician(viewer)
    bar = widget.tabs.tabBar()
    doc.click(bar, "the Ledger tab", bar.tabRect(3).center())
    table = widget.ledger_table
    # the demo's open source: the right L5 root, reached only by a therapeutic block
    row = next(r for r in range(table.rowCount()) if table.item(r, 1).text() == UNTESTED_TEXT)
    doc.click(
        table.viewport(), "the open source", table.visualItemRect(table.item(row, 0)).center()
    )
    source = widget.ledger.sources[row]
    settle_text = table.item(row, 4).text()
    assert settle_text and settle_text == "; ".join(source.settle)
    details = widget.ledger_details
    assert details.isVisible()
    lines = details.text().splitlines()
    assert lines[0] == f"{source.label}: {source.status_text}"
    assert lines[1] == f"Why: {'; '.join(source.reasons)}"
    assert lines[1].startswith(f"Why: {table.item(row, 2).text()}")  # as the table says
    assert lines[2:] == [f"What would settle it: {settle_text}"]
    # inside the dock, not beyond its edge
    right = details.mapTo(widget, details.rect().topRight()).x()
    assert right <= widget.width()
    # a long reason wraps to the panel: its one-paragraph width never sets the dock's width
    # (it had widened the Outcomes dock from 526 to 602 px)
    details.hide()
    settle()
    without = widget.sizeHint().width()
    details.show()
    settle()
    assert widget.sizeHint().width() == without


# --- the Case panel --------------------------------------------------------------------
@pytest.fixture
def two_cases(make_napari_viewer: Any, tmp_path: Path) -> Any:
    """The Case panel over a store with two cases of the sample study: the planned demo
    case, then an empty case started later by mistake (the newest)."""
    store = CaseStore(tmp_path / "cases.sqlite3")
    demo = build_demo_case(SAMPLE)
    store.create(demo, "dr-test")
    empty = Case(patient=demo.patient, study=demo.study)
    store.create(empty, "dr-test")
    viewer = make_napari_viewer(show=True)
    ws = workspace_for(viewer)
    ws.use_store(store)
    _dock, panel = viewer.window.add_plugin_dock_widget("blockplan", "Cases")
    settle()
    return viewer, ws, panel, demo, empty


def test_two_cases_of_the_loaded_study_are_both_offered(two_cases: Any) -> None:
    """The reopen banner offered only the newest case of the study — the empty one started
    by mistake — and one click reopened it instead of the planned case."""
    viewer, ws, panel, demo, empty = two_cases
    doc = Physician(viewer)
    viewer.open_sample("blockplan", "lumbar_postop")
    settle()
    assert panel.offer.isVisible() and not ws.is_open
    assert "has 2 stored cases" in panel.offer_label.text()
    shown = [b.text() for b in panel.reopen_buttons if b.isVisible()]
    n_targets, n_blocks = len(demo.targets), len(demo.procedures)
    assert shown[0].startswith(f"Reopen case {empty.case_id[:8]}, ")
    assert shown[0].endswith(" — nothing planned yet")
    assert shown[1].startswith(f"Reopen “{demo.title}”, ")
    assert shown[1].endswith(f" — {n_targets} targets, {n_blocks} blocks")
    doc.click(panel.reopen_buttons[1], "Reopen the planned case")
    assert ws.is_open and ws.case.case_id == demo.case_id
    assert not panel.offer.isVisible()


def test_the_worklist_shows_which_case_before_the_dock_edge(two_cases: Any, qtbot: Any) -> None:
    """Two cases of one patient looked identical: the title and the time changed were the
    fifth and sixth columns, beyond the dock's edge. Now they follow the patient ID."""
    viewer, ws, panel, demo, _empty = two_cases
    doc = Physician(viewer)
    qtbot.waitUntil(lambda: not panel.searching, timeout=5000)
    table = panel.table
    heads = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert heads[:4] == ["Patient", "Patient ID", "Title", "Changed"]
    assert [table.item(r, 2).text() for r in range(2)] == ["", demo.title]
    title = heads.index("Title")
    seen = table.viewport().width() - table.columnViewportPosition(title)
    assert seen >= 50, seen  # before: the title began beyond the dock's edge

    # a case opened with none of its images loaded says which study to load
    rect = table.visualRect(table.model().index(1, 0))
    doc.double_click(table.viewport(), "the planned case", rect.center())
    assert ws.is_open and ws.case.case_id == demo.case_id
    study = demo.study
    assert panel.message.text() == (
        f"Opened {demo.display_name}. No image of its study is loaded yet: load the study "
        f"({study.study_date.isoformat()}, {study.description}) with the Study browser; its "
        "points are shown meanwhile."
    )


def test_a_title_typed_and_not_renamed_is_not_lost_on_close(two_cases: Any) -> None:
    """A new title typed and then Close (Rename never pressed) dropped the title silently."""
    viewer, ws, panel, demo, _empty = two_cases
    doc = Physician(viewer)
    viewer.open_sample("blockplan", "lumbar_postop")
    settle()
    doc.click(panel.reopen_buttons[1], "Reopen the planned case")
    assert ws.case.case_id == demo.case_id
    field = panel.title_edit
    doc.click(field, "Title")
    doc.key(field, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier, "select all")
    doc.type(field, "Left L5 root, after two blocks", "a new title")

    seen: list[str] = []
    _answer("Stay on the case", seen)
    doc.click(panel.close_button, "Close")
    assert seen == [
        "The title typed, “Left L5 root, after two blocks”, is not saved (Rename was not pressed)."
    ]
    assert ws.is_open and field.text() == "Left L5 root, after two blocks"

    _answer("Rename, then close", seen)
    doc.click(panel.close_button, "Close")
    assert not ws.is_open
    stored, _version = ws.store.load(demo.case_id)
    assert stored.title == "Left L5 root, after two blocks"

    doc.click(panel.reopen_buttons[0], "Reopen it")
    doc.click(field, "Title")
    doc.key(field, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier, "select all")
    doc.type(field, "a slip", "another title")
    _answer("Close without it", seen)
    doc.click(panel.close_button, "Close")
    assert not ws.is_open
    assert ws.store.load(demo.case_id)[0].title == "Left L5 root, after two blocks"


def test_the_study_browser_writes_an_empty_field_as_the_report_does(
    make_napari_viewer: Any, qtbot: Any
) -> None:
    """The browser wrote "referring –" where the Case panel and the report write "not
    recorded" for the sample's empty ReferringPhysicianName."""
    viewer = make_napari_viewer(show=True)
    _d, browser = viewer.window.add_plugin_dock_widget("blockplan", "Study browser")
    doc = Physician(viewer)
    doc.click(browser.path_edit, "the folder field")
    doc.key(browser.path_edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier, "select all")
    doc.type(browser.path_edit, str(SAMPLE), "the sample study's folder")
    doc.click(browser.scan_button, "Find series")
    qtbot.waitUntil(lambda: not browser.busy and bool(browser.identity_label.text()), timeout=60000)
    text = browser.identity_label.text()
    assert "referring not recorded" in text and "–" not in text


def test_a_refused_series_is_seen_without_scrolling(
    make_napari_viewer: Any, qtbot: Any, tmp_path: Path
) -> None:
    """The Status column ("refused: slice spacing varies …") lay beyond the dock's edge:
    a refused series looked like the others. Now its row is vermillion, every cell tells
    why, and the status line under the table names it."""
    from tests.io._dicom_factory import SeriesSpec, phantom, write_series

    spec = SeriesSpec(phantom((7, 24, 20)), series_number=5, description="gapped")
    write_series(tmp_path, spec, indices=[0, 1, 2, 4, 5, 6])  # slice 3 missing
    viewer = make_napari_viewer(show=True)
    _d, browser = viewer.window.add_plugin_dock_widget("blockplan", "Study browser")
    doc = Physician(viewer)
    doc.click(browser.path_edit, "the folder field")
    doc.type(browser.path_edit, str(tmp_path), "the folder")
    doc.click(browser.scan_button, "Find series")
    qtbot.waitUntil(lambda: not browser.busy and browser.table.rowCount() == 1, timeout=60000)
    status = browser.table.item(0, 6).text()
    assert status.startswith("refused: slice spacing varies")
    description = browser.table.item(0, 2)
    assert description.foreground().color().name() == "#d55e00"
    assert description.toolTip() == status
    assert browser.status.text().startswith("1 series found")
    assert f"Series 5 {status}" in browser.status.text()  # one full stop, not ".."
    assert ".." not in browser.status.text()


def test_the_wheel_over_the_planning_panel_never_edits_a_target(
    make_napari_viewer: Any, tmp_path: Path
) -> None:
    """The wheel over the selected target's Approach (subpedicular → retrodiscal) or the
    new target's block type edited them; the case was saved as "edit target"."""
    viewer = make_napari_viewer(show=True)
    ws = workspace_for(viewer)
    ws.use_store(CaseStore(tmp_path / "cases.sqlite3"))
    _dock, widget = viewer.window.add_plugin_dock_widget("blockplan", "Planning")
    ws.start_case(build_demo_case(SAMPLE))
    activate(widget)
    doc = Physician(viewer)
    widget.tabs.setCurrentIndex(2)  # Targets
    settle()
    row = widget.table.visualRect(widget.table.model().index(0, 0)).center()
    doc.click(widget.table.viewport(), "the first target", row)
    before, shown = ws.case, widget.target_approach.currentText()
    assert shown != "not recorded"
    kind = widget.block_type.currentText()
    for control in (widget.target_approach, widget.block_type):
        _wheel(control)
    assert widget.target_approach.currentText() == shown
    assert widget.block_type.currentText() == kind
    assert ws.case == before  # nothing edited, nothing saved


def test_closing_the_case_asks_about_a_block_edit_not_saved(demo: Any) -> None:
    """An interpretation typed into block #1, then Close in the Case panel: the edit was
    dropped with the case; now Close asks first (Stay keeps the case open with the text)."""
    viewer, widget, ws = demo
    _dock, cases = viewer.window.add_plugin_dock_widget("blockplan", "Cases")
    doc = Physician(viewer)
    first, field, typed = _interpretation_typed_into_block_1(doc, widget)

    seen: list[str] = []
    _answer("Stay on block #1", seen)
    activate(cases)
    doc.click(cases.close_button, "Close")
    assert seen == ["Block #1 has changes that are not saved: interpretation."]
    assert ws.is_open and field.text() == typed

    _answer("Save changes", seen)
    doc.click(cases.close_button, "Close")
    assert not ws.is_open
    stored, _version = ws.store.load(
        next(e.case_id for e in ws.store.worklist() if e.title.startswith("Demo"))
    )
    assert next(p for p in stored.procedures if p.id == first).interpretation == typed


def test_closing_napari_asks_about_a_block_edit_not_saved(demo: Any) -> None:
    """An interpretation typed into block #1, then napari's window closed (its title bar's
    close button): the edit was lost without a word; now the window asks first — Stay keeps
    it open with the text, Save changes stores it and lets the window close. napari's own
    teardown (``viewer.close()``) is never stopped."""
    viewer, widget, ws = demo
    doc = Physician(viewer)
    first, field, typed = _interpretation_typed_into_block_1(doc, widget)
    main = widget.window()

    seen: list[str] = []
    _answer("Stay on block #1", seen)
    closing = QCloseEvent()  # what the window manager's close button sends
    QApplication.sendEvent(main, closing)
    assert seen == ["Block #1 has changes that are not saved: interpretation."]
    assert not closing.isAccepted()
    assert main.isVisible() and field.text() == typed

    _answer("Save changes", seen)
    closing = QCloseEvent()
    QApplication.sendEvent(main, closing)
    assert closing.isAccepted() and len(seen) == 2
    stored, _version = ws.store.load(ws.case.case_id)
    assert next(p for p in stored.procedures if p.id == first).interpretation == typed

    doc.type(field, " (again)", "more text")
    unexpected: list[str] = []
    _answer("Stay on block #1", unexpected)  # would answer a dialog, were one to open
    viewer.close()
    settle()
    assert unexpected == []  # napari's teardown asked nothing
