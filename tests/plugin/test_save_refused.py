"""Saves the case store refuses, met in the Planning panel with real Qt events.

Every edit is saved at once; the store refuses a save when another session saved the case
after this one opened it. Before, only the approach list and the notes field caught that:
a level typed, a target placed on the canvas, a target deleted or Undo pressed let the
error escape as a traceback, and Undo lost the edit from the history. Now each says on the
message line what was not saved and what to do, the screen shows what the case holds, a
value typed is held (the case stays open on it until dropped), and the undo history is as
it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qtpy.QtCore import Qt

from blockplan.case.refusal import KEPT_TYPED
from blockplan.case.store import CaseSession
from napari_blockplan._layers import layer_for
from napari_blockplan._widgets.outcomes import TABS
from tests.plugin._gui import (
    Physician,
    activate,
    canvas_widget,
    click_layer_row,
    select_target,
    settle,
)
from tests.plugin.test_leaving_with_typed_edits import (
    LEVEL,
    STAYS,
    TYPED_ODI,
    _editor_text,
    _stored,
    _tab,
    _type_in_cell,
    _viewer,
)

pytestmark = pytest.mark.gui

CONFLICT = "not saved: another session saved this case after you opened it — close and reopen"
GONE = "not saved: the case is no longer in the case store (deleted in another session?)"


def test_edits_refused_by_the_store_are_said_and_nothing_is_lost(
    make_napari_viewer: Any, tmp_path: Path
) -> None:
    """A target placed on the canvas (Shift-T, a click): saved. Another session then saves
    the case. "L4" typed into T2's Level cell with Enter: not saved — said, the cell shows
    the stored level, "L4" held. Another target clicked on the canvas: nothing placed (the
    layer and the table as before), said. The new target deleted (Delete key): still there,
    said. Undo clicked: said, the history as it was. Close: the case stays open on the cell
    with "L4" in its editor; Escape, Close, Reopen: the other session's version is shown,
    and "L4" typed again is saved. Saved elsewhere again, a label typed in T2's Label
    field: not saved, said, held."""
    viewer, ws, cases, planning = _viewer(make_napari_viewer, tmp_path, "Planning")
    doc = Physician(viewer)
    case_id = ws.case.case_id
    table, message = planning.table, planning.message
    canvas = canvas_widget(viewer)
    _tab(doc, planning.tabs, "Targets")
    t2 = ws.case.targets[1]
    assert t2.level != "L4"
    x, y, z = t2.position.lps
    select_target(doc, planning, t2.id)  # the view centres on T2

    doc.key(canvas, Qt.Key.Key_T, Qt.KeyboardModifier.ShiftModifier, "Shift-T")
    doc.click_patient((x, y + 8.0, z), "a new target")
    placed = ws.case.targets[-1]
    count = len(ws.case.targets)
    assert _stored(ws, case_id).targets[-1].id == placed.id
    assert planning.undo_bar.undo_button.text() == "Undo add target"

    # another session (another window, another workstation) saves the case first
    other = CaseSession(ws.store, case_id, "dr-other")
    other.apply(other.case.evolve(title="edited elsewhere"), "edit title")
    shown, history = ws.case, list(ws._undo)
    targets = layer_for(viewer, "targets")
    dots = np.asarray(targets.data).copy()

    # a typed cell: refused, said, the cell shows the stored level, "L4" held
    _type_in_cell(doc, table, 1, LEVEL, "L4")
    doc.key_focused(Qt.Key.Key_Return, "Enter")
    settle()
    assert message.text().startswith(f"target level {CONFLICT}")
    assert message.text().endswith(KEPT_TYPED)
    assert table.item(1, LEVEL).text() == (t2.level or "")
    assert planning.typed_cells.held is not None and planning.typed_cells.held.typed == "L4"

    # a canvas placement: nothing placed on screen nor in the case, said
    doc.key(canvas, Qt.Key.Key_T, Qt.KeyboardModifier.ShiftModifier, "Shift-T")
    doc.click_patient((x, y - 8.0, z), "another target")
    settle()
    assert message.text().startswith(f"new target {CONFLICT}")
    assert table.rowCount() == count and np.array_equal(np.asarray(targets.data), dots)
    doc.key(canvas, Qt.Key.Key_Escape, what="Escape")

    # a delete: the target stays, said
    select_target(doc, planning, placed.id)
    doc.key(table, Qt.Key.Key_Delete, what="Delete")
    settle()
    name = table.item(count - 1, 0).text()
    assert message.text().startswith(f"deletion of target {name} {CONFLICT}")
    assert table.rowCount() == count and len(np.asarray(targets.data)) == count

    # Undo: said, nothing undone, the history as it was
    doc.click(planning.undo_bar.undo_button, "Undo add target")
    assert message.text().startswith(f"undo of add target {CONFLICT}")
    assert planning.undo_bar.undo_button.text() == "Undo add target"
    assert ws.case is shown and ws._undo == history
    stored = _stored(ws, case_id)
    assert stored.title == "edited elsewhere" and stored.targets == shown.targets

    # Ctrl+Z on the canvas with the scar layer selected (the case's undo there): said on
    # the status line, nothing undone
    click_layer_row(doc, "blockplan: scar")
    activate(canvas)
    canvas.setFocus()
    doc.key(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier, "Ctrl+Z")
    settle(5)
    assert f"undo of add target {CONFLICT}" in viewer.status
    assert ws.case is shown and ws._undo == history

    # leaving: the case stays open on the held cell, "L4" back in its editor
    doc.click(cases.close_button, "Close")
    assert ws.is_open and _editor_text(table) == "L4"
    assert message.text().endswith(STAYS)
    doc.key_focused(Qt.Key.Key_Escape, "Escape")
    doc.click(cases.close_button, "Close")
    assert not ws.is_open
    doc.click(cases.reopen_button, "Reopen")
    assert ws.is_open and ws.case.title == "edited elsewhere"
    _tab(doc, planning.tabs, "Targets")
    _type_in_cell(doc, table, 1, LEVEL, "L4")
    doc.key_focused(Qt.Key.Key_Return, "Enter")
    assert _stored(ws, case_id).target(t2.id).level == "L4"
    assert message.text() == "target level set"

    # another save elsewhere; T2's label typed in its field with Enter: refused, said (no
    # value typed in the message), the field shows the saved label, the text held
    other = CaseSession(ws.store, case_id, "dr-other")
    other.apply(other.case.evolve(title="edited again"), "edit title")
    select_target(doc, planning, t2.id)
    field = planning.target_label
    doc.click(field, "Label")
    doc.key(field, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier, "Ctrl+A")
    doc.type(field, "checked twice", "a label")
    doc.key(field, Qt.Key.Key_Return, what="Enter")
    assert message.text() == (
        "target label not saved: another session saved this case after you opened it — "
        "close and reopen the case to see its latest version, then make the change again; "
        "what you typed is kept and shown again when you close the case"
    )
    assert field.text() == t2.label and _stored(ws, case_id).target(t2.id).label == t2.label
    assert planning.typed_cells.held is not None
    assert planning.typed_cells.held.typed == "checked twice"

    # the Case panel's Rename: said in the same words, the title typed stays in its field
    doc.click(cases.title_edit, "Title")
    doc.key(cases.title_edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier, "Ctrl+A")
    doc.type(cases.title_edit, "a title", "a title")
    doc.click(cases.rename_button, "Rename")
    assert cases.message.text().startswith(f"case title {CONFLICT}")
    assert cases.title_edit.text() == "a title"
    assert _stored(ws, case_id).title == "edited again"


def test_outcomes_refused_by_the_store_are_said_and_nothing_is_lost(
    make_napari_viewer: Any, tmp_path: Path
) -> None:
    """Outcomes: block #1's 15-min NRS typed, saved. Another session then deletes the case
    from the store. The 30-min NRS typed with Enter: not saved — said, the cell shows the
    stored value, the value held. ODI answers typed and Record ODI clicked: said, the line
    keeps them (they were cleared before the save). Delete block: the block stays. Ctrl+Z:
    said, the 15-min NRS still there and Undo still offers it. Close: the case stays open on
    the diary cell with the value typed in its editor."""
    viewer, ws, cases, outcomes = _viewer(make_napari_viewer, tmp_path, "Outcomes")
    doc = Physician(viewer)
    case_id = ws.case.case_id
    message, grid, blocks = outcomes.message, outcomes.diary, outcomes.block_list
    activate(outcomes)
    doc.click(blocks.viewport(), "block #1", blocks.visualItemRect(blocks.item(0)).center())
    pid = outcomes.selected_procedure_id()
    _tab(doc, outcomes.tabs, TABS[1])
    assert grid.item(1, 0).text() == "15" and grid.item(2, 0).text() == "30"
    _type_in_cell(doc, grid, 1, 1, "5")
    doc.key_focused(Qt.Key.Key_Return, "Enter")
    doc.key_focused(Qt.Key.Key_Escape, "Escape")  # the next row's editor, opened by Enter
    assert message.text() == "diary 15 min (row 2) entered"
    shown, history = ws.case, list(ws._undo)
    stored_30 = grid.item(2, 1).text()
    assert stored_30 != "4"

    # another session deletes the case from the store
    ws.store.delete(case_id, ws.session.version, "dr-other")

    # a diary cell typed: refused, said, the stored value shown, the value held
    _type_in_cell(doc, grid, 2, 1, "4")
    doc.key_focused(Qt.Key.Key_Return, "Enter")
    settle()
    assert message.text().startswith(f"diary 30 min {GONE}")
    assert "close the case and look for it in the worklist" in message.text()
    assert message.text().endswith(KEPT_TYPED)
    assert grid.item(2, 1).text() == stored_30
    assert outcomes.typed_cells.held is not None and outcomes.typed_cells.held.typed == "4"
    doc.key_focused(Qt.Key.Key_Escape, "Escape")  # the cell's editor (held: kept open)

    # ODI answers typed, Record ODI clicked: refused, the line keeps them
    _tab(doc, outcomes.tabs, TABS[2])
    line, odi = outcomes.scores.odi_entry, outcomes.scores.odi_table
    rows = odi.rowCount()
    doc.click(line, "Answers")
    doc.type(line, TYPED_ODI, "ODI answers")
    doc.click(outcomes.scores.odi_record_button, "Record ODI")
    assert message.text().startswith(f"record ODI {GONE}")
    assert line.text() == TYPED_ODI and odi.rowCount() == rows

    # Delete block: the block stays
    _tab(doc, outcomes.tabs, TABS[0])
    count = blocks.count()
    doc.click(outcomes.delete_button, "Delete block")
    settle()
    assert message.text().startswith(f"delete block {GONE}")
    assert blocks.count() == count and outcomes.selected_procedure_id() == pid

    # Ctrl+Z in the panel: said, nothing undone, the history as it was
    doc.key(blocks, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier, "Ctrl+Z")
    assert message.text().startswith(f"undo of diary 15 min {GONE}")
    assert outcomes.undo_bar.undo_button.text() == "Undo diary 15 min"
    assert ws.case is shown and ws._undo == history

    # leaving: the case stays open on the diary cell, the value typed back in its editor
    doc.click(cases.close_button, "Close")
    assert ws.is_open and _editor_text(grid) == "4"
    assert message.text().startswith(f"diary 30 min {GONE}") and message.text().endswith(STAYS)
