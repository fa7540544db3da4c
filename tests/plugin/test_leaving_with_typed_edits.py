"""Leaving a case with a value typed into a table cell, driven with real Qt events (Xvfb).

Found in a physician's trial: a level typed into the Planning panel's targets table and
refused ("L9"), then Case ▸ Close clicked without Enter — the click took the focus, the cell
was committed and refused (the message flashed), and the case closed anyway: what was typed
was gone without a word. The same with Enter pressed first, with the marker list, the
diary and the Outcome measures tables, and with napari's window closed while a cell was
still being typed (that cell was never committed at all). Now a cell being typed is
committed first, as Enter would; a refused value keeps the case open on its cell, the typed
text back in the editor and the reason on the message line, until the physician corrects
it or drops it with Escape. Also here: the diary's baseline field, ODI answers typed and
not recorded, and a title typed in the Case panel (asked about on New case too, and no
longer replaced by an edit made in another panel).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from qtpy.QtCore import Qt, QTimer
from qtpy.QtGui import QCloseEvent
from qtpy.QtWidgets import QApplication, QLineEdit

from blockplan.case.store import CaseStore
from blockplan.demo import build_demo_case
from napari_blockplan._widgets.outcomes import TABS
from napari_blockplan._workspace import workspace_for
from tests.plugin._gui import Physician, activate, settle
from tests.plugin.test_physician_trial import _answer

pytestmark = pytest.mark.gui

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"
LEVEL, MARKER = 1, 0  # the targets table's Level column; the marker list's Level column
STAYS = "the case stays open until then"
TYPED_ODI = "3 2 1 - 4 2 3 1 2 0"
SECOND = "f" * 32  # the other stored case's id
NEW_TITLE = "Right L4-L5 facet"


def _viewer(make_napari_viewer: Any, tmp_path: Path, panel: str) -> Any:
    """The demo case open, a second case of the sample study stored, the Cases panel and
    ``panel`` docked: ``(viewer, ws, cases panel, panel)``."""
    viewer = make_napari_viewer(show=True)
    if panel == "Planning":  # its tables need the images; the Outcomes panel does not
        viewer.open_sample("blockplan", "lumbar_postop")
    ws = workspace_for(viewer)
    store = CaseStore(tmp_path / "cases.sqlite3")
    store.create(build_demo_case(SAMPLE).evolve(case_id=SECOND, title="Second"), "dr-test")
    ws.use_store(store)
    _d, cases = viewer.window.add_plugin_dock_widget("blockplan", "Cases")
    _d, widget = viewer.window.add_plugin_dock_widget("blockplan", panel)
    ws.start_case(build_demo_case(SAMPLE))
    activate(widget)
    return viewer, ws, cases, widget


def _tab(doc: Physician, tabs: Any, name: str) -> None:
    bar = tabs.tabBar()
    index = next(i for i in range(tabs.count()) if tabs.tabText(i) == name)
    doc.click(bar, f"the {name} tab", bar.tabRect(index).center())


def _retype(doc: Physician, text: str) -> None:
    """Ctrl+A in the field that has the focus, then type ``text`` (Enter not pressed)."""
    field = QApplication.focusWidget()
    assert isinstance(field, QLineEdit)
    doc.key(field, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier, "Ctrl+A")
    doc.type_focused(text, "a value")


def _type_in_cell(
    doc: Physician, table: Any, row: int, col: int, text: str, *, f2: bool = False
) -> None:
    """Double-click a cell (or click it and press F2) and type ``text`` over what it holds
    (Enter not pressed)."""
    rect = table.visualItemRect(table.item(row, col))
    if f2:
        doc.click(table.viewport(), "a cell", rect.center())
        doc.key(table, Qt.Key.Key_F2, what="F2")
    else:
        doc.double_click(table.viewport(), "a cell", rect.center())
    assert table.state() == table.State.EditingState
    _retype(doc, text)


def _editor_text(table: Any) -> str | None:
    """The text of the cell editor open in ``table`` (None: no editor is open)."""
    if table.state() != table.State.EditingState:
        return None
    editor = table.indexWidget(table.currentIndex())
    return editor.text() if isinstance(editor, QLineEdit) else None


def _stored(ws: Any, case_id: str) -> Any:
    return ws.store.load(case_id)[0]


def _double_click_row(doc: Physician, cases: Any, title: str) -> None:
    """Double-click the worklist row of the case titled ``title`` (opens it)."""
    table = cases.table
    row = next(r for r in range(table.rowCount()) if table.item(r, 2).text() == title)
    doc.double_click(table.viewport(), title, table.visualItemRect(table.item(row, 0)).center())


def test_planning_values_refused_keep_the_case_open_until_corrected_or_dropped(
    make_napari_viewer: Any, tmp_path: Path, qtbot: Any
) -> None:
    """Targets table: "L9" typed into T2's Level cell, then Close (no Enter) — the case
    stays open on the cell with "L9" in its editor; Close again, the same; Escape drops it
    and Close closes. Marker list: "Q7" typed, Enter — refused; then Open another case from
    the worklist: the case stays open with "Q7" back in the marker's editor; corrected and
    Enter, the worklist's case opens. A valid level still being typed when New case is
    clicked is saved to the case left, and a title typed there is asked about."""
    viewer, ws, cases, planning = _viewer(make_napari_viewer, tmp_path, "Planning")
    doc = Physician(viewer)
    table, markers = planning.table, planning.marker_table
    case_id = ws.case.case_id
    before = ws.case.targets[1].level
    _tab(doc, planning.tabs, "Targets")
    _type_in_cell(doc, table, 1, LEVEL, "L9")
    doc.click(cases.close_button, "Close")
    assert ws.is_open and ws.case.case_id == case_id
    assert _editor_text(table) == "L9" and table.currentRow() == 1
    assert "target level 'L9' is not valid" in planning.message.text()
    assert STAYS in planning.message.text()
    assert _stored(ws, case_id).targets[1].level == before

    doc.click(cases.close_button, "Close")  # not corrected: still refused, still open
    assert ws.is_open and _editor_text(table) == "L9"

    doc.key_focused(Qt.Key.Key_Escape, "Escape")
    assert _editor_text(table) is None and table.item(1, LEVEL).text() == before
    doc.click(cases.close_button, "Close")
    assert not ws.is_open
    assert _stored(ws, case_id).targets[1].level == before

    # reopened from the offer; a marker renamed "Q7" (F2) with Enter: refused, the list
    # shows the stored level; the worklist's other case double-clicked: settled first
    doc.click(cases.reopen_button, "Reopen")
    assert ws.is_open and ws.case.case_id == case_id
    _tab(doc, planning.tabs, "Levels")
    level = markers.item(0, MARKER).text()
    _type_in_cell(doc, markers, 0, MARKER, "Q7", f2=True)
    doc.key_focused(Qt.Key.Key_Return, "Enter")
    assert _editor_text(markers) is None and markers.item(0, MARKER).text() == level
    refusal = planning.message.text()
    assert refusal and STAYS not in refusal
    qtbot.waitUntil(lambda: cases.table.rowCount() == 2, timeout=5000)
    _double_click_row(doc, cases, "Second")
    assert ws.case.case_id == case_id
    assert _editor_text(markers) == "Q7"
    assert planning.message.text().startswith(refusal) and STAYS in planning.message.text()

    _retype(doc, level)
    doc.key_focused(Qt.Key.Key_Return, "Enter")
    _double_click_row(doc, cases, "Second")
    assert ws.case.case_id == SECOND

    # a title typed in the Case panel (Rename not pressed), then "L4" typed into T2's Level
    # cell and New case clicked: the cell is saved on the way (its edit no longer wipes the
    # title typed), and the title is asked about on New case too (it was on Close only)
    doc.click(cases.title_edit, "Title")
    doc.key(cases.title_edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier, "Ctrl+A")
    doc.type(cases.title_edit, NEW_TITLE, "a new title")
    _tab(doc, planning.tabs, "Targets")
    _type_in_cell(doc, table, 1, LEVEL, "L4")
    assert _editor_text(table) == "L4"
    seen: list[str] = []
    _answer("Rename, then close", seen)
    doc.click(cases.new_button, "New case")
    assert len(seen) == 1 and seen[0].startswith(f"The title typed, “{NEW_TITLE}”")
    assert ws.is_open and ws.case.case_id not in (case_id, SECOND)
    second = _stored(ws, SECOND)
    assert second.targets[1].level == "L4" and second.title == NEW_TITLE


def test_outcome_cells_refused_keep_the_case_and_napari_open(
    make_napari_viewer: Any, tmp_path: Path
) -> None:
    """Outcomes: a diary NRS of 12 refused with Enter, then Close — the case stays open on
    the diary cell, "12" back in its editor; Escape drops it. The same for a baseline of 12
    typed in its field. An ODI's answers retyped "3 2 9" (an answer above 5) and napari's
    window closed while the cell is still being typed: the cell is committed first,
    refused, and the window stays open on it; Escape drops it. Valid answers still being
    typed when the window closes are saved first. ODI answers typed on the Answers line and
    not recorded are asked about (Stay / Record)."""
    viewer, ws, cases, outcomes = _viewer(make_napari_viewer, tmp_path, "Outcomes")
    doc = Physician(viewer)
    case_id = ws.case.case_id
    activate(outcomes)
    lst = outcomes.block_list
    doc.click(lst.viewport(), "block #1", lst.visualItemRect(lst.item(0)).center())
    pid = outcomes.selected_procedure_id()
    diary_before = next(p.diary for p in ws.case.procedures if p.id == pid)
    _tab(doc, outcomes.tabs, TABS[1])
    grid = outcomes.diary
    _type_in_cell(doc, grid, 2, 1, "12")
    doc.key_focused(Qt.Key.Key_Return, "Enter")
    assert "0–10" in outcomes.message.text()
    activate(cases)
    doc.click(cases.close_button, "Close")
    assert ws.is_open and _editor_text(grid) == "12" and grid.currentRow() == 2
    assert STAYS in outcomes.message.text()
    doc.key_focused(Qt.Key.Key_Escape, "Escape")
    assert _editor_text(grid) is None

    # a form field too: a baseline of 12 typed, then Close (no Enter) — refused as the click
    # took the focus, and the case stays open on the field with "12" in it; Escape drops it
    baseline = outcomes.diary_panel.baseline
    saved = baseline.text()
    doc.click(baseline, "Baseline NRS")
    _retype(doc, "12")
    doc.click(cases.close_button, "Close")
    assert ws.is_open and baseline.text() == "12" and baseline.hasFocus()
    assert "baseline NRS" in outcomes.message.text() and STAYS in outcomes.message.text()
    doc.key_focused(Qt.Key.Key_Escape, "Escape")
    assert baseline.text() == saved
    assert next(p.diary for p in _stored(ws, case_id).procedures if p.id == pid) == diary_before

    # ODI answers typed on the Answers line, Record ODI not pressed: asked, as the Quick
    # entry line is; Stay keeps the case open and the line as typed
    _tab(doc, outcomes.tabs, TABS[2])
    line = outcomes.scores.odi_entry
    doc.click(line, "Answers")
    doc.type(line, TYPED_ODI, "ODI answers")
    seen: list[str] = []
    _answer("Stay on the case", seen)
    doc.click(cases.close_button, "Close")
    assert len(seen) == 1 and seen[0].startswith("ODI answers typed on the Answers line")
    assert ws.is_open and line.text() == TYPED_ODI

    odi = outcomes.scores.odi_table
    answers = _stored(ws, case_id).odi
    assert answers
    _type_in_cell(doc, odi, 0, 1, "3 2 9")
    main = outcomes.window()
    closing = QCloseEvent()  # what the window manager's close button sends
    QApplication.sendEvent(main, closing)
    settle()
    assert not closing.isAccepted() and main.isVisible()
    assert _editor_text(odi) == "3 2 9"
    assert "ODI of" in outcomes.message.text() and STAYS in outcomes.message.text()
    assert _stored(ws, case_id).odi == answers

    # dropped; then answers the model takes, still being typed when the window closes:
    # saved first (before, a cell being typed was never committed and was lost)
    doc.key_focused(Qt.Key.Key_Escape, "Escape")
    assert _editor_text(odi) is None
    _type_in_cell(doc, odi, 0, 1, "1 1 1 1 1 1 1 1 1 1")
    _answer("Record the ODI", seen)  # the Answers line is asked about, and recorded
    closing = QCloseEvent()
    QApplication.sendEvent(main, closing)
    assert closing.isAccepted() and len(seen) == 2
    stored = [entry.items for entry in _stored(ws, case_id).odi]
    assert (1,) * 10 in stored and (1,) * 10 not in [entry.items for entry in answers]
    assert (3, 2, 1, None, 4, 2, 3, 1, 2, 0) in stored and len(stored) == len(answers) + 1


def test_a_change_from_elsewhere_leaves_the_cell_being_typed_as_typed(
    make_napari_viewer: Any, tmp_path: Path, qtbot: Any
) -> None:
    """ "L4" typed into T2's Level cell (no Enter yet) when the case changes from elsewhere
    (here the title, renamed as another panel or a worker's result would, delivered by the
    event loop): the targets table is redrawn, and Qt put the stored level into the open
    editor — the typed "L4" was gone and Enter saved nothing. Now the editor keeps "L4",
    and Enter saves it."""
    viewer, ws, _cases, planning = _viewer(make_napari_viewer, tmp_path, "Planning")
    doc = Physician(viewer)
    table = planning.table
    case_id = ws.case.case_id
    before = ws.case.targets[1].level
    assert before != "L4"
    _tab(doc, planning.tabs, "Targets")
    _type_in_cell(doc, table, 1, LEVEL, "L4")
    renamed: list[bool] = []
    QTimer.singleShot(0, lambda: renamed.append(bool(ws.rename_case("Renamed elsewhere"))))
    qtbot.waitUntil(lambda: renamed == [True], timeout=5000)
    settle()
    assert table.item(0, 0) is not None and ws.case.title == "Renamed elsewhere"
    assert _editor_text(table) == "L4"
    doc.key_focused(Qt.Key.Key_Return, "Enter")
    settle()
    assert _stored(ws, case_id).targets[1].level == "L4"
    assert table.item(1, LEVEL).text().startswith("L4")
