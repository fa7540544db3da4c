"""Leaving a case with a value typed into a table cell, driven with real Qt events (Xvfb).

Found in a physician's trial: a level typed into the Planning panel's targets table and
refused ("L9"), then Case ▸ Close clicked without Enter — the click took the focus, the cell
was committed and refused (the message flashed), and the case closed anyway: what was typed
was gone without a word. The same with Enter pressed first, with the marker list, the
diary and the Outcome measures tables, and with napari's window closed while a cell was
still being typed (that cell was never committed at all). Now a cell being typed is
committed first, as Enter would; a refused value keeps the case open on its cell, the typed
text back in the editor and the reason on the message line, until the physician corrects
it or drops it with Escape.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from qtpy.QtCore import Qt
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


@pytest.fixture
def day(make_napari_viewer: Any, tmp_path: Path) -> Any:
    """The sample study, the demo case open and a second case of the study stored; the
    Cases, Planning and Outcomes panels docked: ``(viewer, ws, cases, planning, outcomes)``."""
    viewer = make_napari_viewer(show=True)
    viewer.open_sample("blockplan", "lumbar_postop")
    ws = workspace_for(viewer)
    store = CaseStore(tmp_path / "cases.sqlite3")
    store.create(build_demo_case(SAMPLE).evolve(case_id="f" * 32, title="Second"), "dr-test")
    ws.use_store(store)
    _d, cases = viewer.window.add_plugin_dock_widget("blockplan", "Cases")
    _d, planning = viewer.window.add_plugin_dock_widget("blockplan", "Planning")
    _d, outcomes = viewer.window.add_plugin_dock_widget("blockplan", "Outcomes")
    ws.start_case(build_demo_case(SAMPLE))
    activate(planning)
    return viewer, ws, cases, planning, outcomes


def _tab(doc: Physician, tabs: Any, name: str) -> None:
    bar = tabs.tabBar()
    index = next(i for i in range(tabs.count()) if tabs.tabText(i) == name)
    doc.click(bar, f"the {name} tab", bar.tabRect(index).center())


def _type_in_cell(doc: Physician, table: Any, row: int, col: int, text: str) -> None:
    """Double-click a cell, select what it holds and type ``text`` (Enter not pressed)."""
    doc.double_click(
        table.viewport(), "a cell", table.visualItemRect(table.item(row, col)).center()
    )
    assert table.state() == table.State.EditingState
    editor = QApplication.focusWidget()
    assert isinstance(editor, QLineEdit)
    editor.selectAll()
    doc.type_focused(text, "a value")


def _editor_text(table: Any) -> str | None:
    """The text of the cell editor open in ``table`` (None: no editor is open)."""
    if table.state() != table.State.EditingState:
        return None
    editor = table.indexWidget(table.currentIndex())
    return editor.text() if isinstance(editor, QLineEdit) else None


def _stored(ws: Any, case_id: str) -> Any:
    return ws.store.load(case_id)[0]


def test_a_refused_target_level_keeps_the_case_open_until_corrected_or_dropped(
    day: Any,
) -> None:
    """Targets table: "L9" typed and refused, then Close (no Enter) — the case stays open
    on the cell with "L9" in its editor; Close again, the same; Escape drops it and Close
    closes. A valid level still being typed when New case is clicked is saved first."""
    viewer, ws, cases, planning, _outcomes = day
    doc = Physician(viewer)
    table = planning.table
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

    # reopened from the offer; "L4" typed and New case clicked: saved, then the new case
    doc.click(cases.reopen_button, "Reopen")
    assert ws.is_open and ws.case.case_id == case_id
    _type_in_cell(doc, table, 1, LEVEL, "L4")
    doc.click(cases.new_button, "New case")
    assert ws.is_open and ws.case.case_id != case_id
    assert _stored(ws, case_id).targets[1].level == "L4"


def test_a_refusal_seen_after_enter_still_keeps_the_case_open(day: Any, qtbot: Any) -> None:
    """Marker list: "Q7" typed, Enter — refused, the list shows the stored level; then Open
    another case from the worklist: the case stays open with "Q7" back in the marker's
    editor. Corrected to its own level and Enter, the worklist's case opens."""
    viewer, ws, cases, planning, _outcomes = day
    doc = Physician(viewer)
    markers = planning.marker_table
    case_id = ws.case.case_id
    level = markers.item(0, MARKER).text()
    _tab(doc, planning.tabs, "Levels")
    _type_in_cell(doc, markers, 0, MARKER, "Q7")
    doc.key_focused(Qt.Key.Key_Return, "Enter")
    assert _editor_text(markers) is None and markers.item(0, MARKER).text() == level
    refusal = planning.message.text()
    assert refusal and STAYS not in refusal

    qtbot.waitUntil(lambda: cases.table.rowCount() == 2, timeout=5000)
    row = next(
        r for r in range(cases.table.rowCount()) if cases.table.item(r, 2).text() == "Second"
    )
    doc.double_click(
        cases.table.viewport(),
        "Second",
        cases.table.visualItemRect(cases.table.item(row, 0)).center(),
    )
    assert ws.case.case_id == case_id
    assert _editor_text(markers) == "Q7"
    assert planning.message.text().startswith(refusal) and STAYS in planning.message.text()

    QApplication.focusWidget().selectAll()
    doc.type_focused(level, "its own level")
    doc.key_focused(Qt.Key.Key_Return, "Enter")
    doc.double_click(
        cases.table.viewport(),
        "Second",
        cases.table.visualItemRect(cases.table.item(row, 0)).center(),
    )
    assert ws.case.case_id == "f" * 32


def test_outcome_cells_refused_keep_the_case_and_napari_open(day: Any) -> None:
    """Outcomes: a diary NRS of 12 refused with Enter, then Close — the case stays open on
    the diary cell, "12" back in its editor; Escape drops it. An ODI's answers retyped
    "3 2 9" (an answer above 5) and napari's window closed while the cell is still being
    typed: the cell is committed first, refused, and the window stays open on it; Escape
    drops it. Valid answers still being typed when the window closes are saved first. ODI
    answers typed on the Answers line and not recorded are asked about (Stay / Record)."""
    viewer, ws, cases, _planning, outcomes = day
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
