"""A target's notes, typed in the Planning panel's details pane, driven with real Qt events.

`Target.notes` was a field only files and scripts filled: no panel edited it and neither the
report nor the SR printed it. The physician now types them under the target's label (Enter
starts a line; leaving the field or Ctrl+Enter saves them, one undoable edit), the report
prints them under the target's row and the SR holds them whole. Notes the core refuses (a
control character pasted in) are held as a refused label is: the case stays open on them
until corrected or dropped with Escape. Also here: an approach chosen with the arrow keys
that the store cannot save is not held, the list shows what the case holds again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QApplication

from blockplan.case import Approach
from blockplan.case.store import CaseSession
from tests.archive.test_target_notes import notes_in_report, sr_notes
from tests.plugin._gui import Physician, canvas_widget, quick_archive
from tests.plugin.test_leaving_with_typed_edits import STAYS, _stored, _tab, _viewer

pytestmark = pytest.mark.gui

LINES = ("prior laminectomy at L4 left:", "approach from lateral")
NOTES = "\n".join(LINES)


def _click_row(doc: Physician, planning: Any, row: int) -> None:
    table = planning.table
    doc.click(table.viewport(), f"T{row + 1}", table.visualItemRect(table.item(row, 0)).center())


def _type_notes(doc: Physician, planning: Any, lines: tuple[str, ...]) -> None:
    """Click into the notes field, select what it holds (Ctrl+A) and type ``lines`` over
    it, Enter between them (nothing saved yet)."""
    field = planning.target_notes
    doc.click(field.viewport(), "Notes")
    doc.key(field, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier, "Ctrl+A")
    for n, line in enumerate(lines):
        if n:
            doc.key(field, Qt.Key.Key_Return, what="Enter")
        doc.type(field, line, "a line of notes")


def test_notes_typed_are_saved_undone_and_printed_as_typed(
    make_napari_viewer: Any, tmp_path: Path
) -> None:
    """T2 selected, two lines typed into its notes, T1's row clicked: the notes are saved
    to T2 (not carried to T1: the field shows T1's own). T2 again: its notes as typed;
    Ctrl+Z on the table takes them back, Redo restores them. The report and the SR say
    them line for line as the field does. A line added and a new target placed on the
    canvas: the line is saved to T2, the field shows the new target's (none). Then T2's
    approach chosen with the arrow key:
    saved; another session saves the case and the next choice cannot be saved — not held:
    the list shows what the case holds and the message line says why. Notes typed then
    cannot be saved either: said, and held."""
    viewer, ws, _cases, planning = _viewer(make_napari_viewer, tmp_path, "Planning")
    doc = Physician(viewer)
    case_id = ws.case.case_id
    field, table = planning.target_notes, planning.table
    t1, t2 = ws.case.targets[0], ws.case.targets[1]
    _tab(doc, planning.tabs, "Targets")
    _click_row(doc, planning, 1)
    assert field.isEnabled() and field.toPlainText() == t2.notes

    _type_notes(doc, planning, LINES)
    assert _stored(ws, case_id).target(t2.id).notes == t2.notes  # typed, not saved yet
    _click_row(doc, planning, 0)  # the click leaves the field: saved, to T2
    assert _stored(ws, case_id).target(t2.id).notes == NOTES
    assert _stored(ws, case_id).target(t1.id).notes == t1.notes
    assert planning.selected_target_id() == t1.id and field.toPlainText() == t1.notes
    assert planning.message.text().startswith("notes of T2 · ")
    assert planning.message.text().endswith(" saved")
    _click_row(doc, planning, 1)
    assert field.toPlainText() == NOTES

    doc.key(table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier, "Ctrl+Z")
    assert ws.case.target(t2.id).notes == t2.notes and field.toPlainText() == t2.notes
    assert planning.message.text() == "undone: edit target"
    doc.click(planning.undo_bar.redo_button, "Redo")
    assert _stored(ws, case_id).target(t2.id).notes == NOTES and field.toPlainText() == NOTES

    # the report and the SR say the notes as the field shows them, line for line
    objects = quick_archive(ws)
    assert notes_in_report(objects.pdf, ws.case, t2.id)
    objects_targets = ws.case.targets
    assert ws.case.target(t2.id).notes == field.toPlainText() == sr_notes(objects.sr)[t2.id]

    # a line typed for T2, then a new target placed on the canvas (it is selected): the
    # line is saved to T2, and the field shows the new target's notes (none)
    _type_notes(doc, planning, (*LINES, "no sedation"))
    canvas = canvas_widget(viewer)
    x, y, z = t2.position.lps
    doc.key(canvas, Qt.Key.Key_T, Qt.KeyboardModifier.ShiftModifier, "Shift-T")
    doc.click_patient((x, y + 8.0, z), "a new target")
    new = ws.case.targets[-1]
    assert len(ws.case.targets) == len(objects_targets) + 1
    assert planning.selected_target_id() == new.id and new.notes == ""
    assert field.toPlainText() == ""
    assert _stored(ws, case_id).target(t2.id).notes == f"{NOTES}\nno sedation"
    _click_row(doc, planning, 1)

    # T2's approach: the arrow key on the focused list chooses the next one, saved
    combo = planning.target_approach
    assert combo.currentData() is Approach.SUBPEDICULAR
    combo.setFocus()
    doc.key(combo, Qt.Key.Key_Down, what="Down")
    assert _stored(ws, case_id).target(t2.id).approach is Approach.RETRODISCAL
    assert combo.currentData() is Approach.RETRODISCAL
    # another session saves the case first: the next choice cannot be saved
    other = CaseSession(ws.store, case_id, "dr-other")
    other.apply(other.case.evolve(title="edited elsewhere"), "edit title")
    doc.key(combo, Qt.Key.Key_Down, what="Down")
    assert combo.currentData() is Approach.RETRODISCAL  # what the case holds
    message = planning.message.text()
    assert message.startswith("approach infraneural not saved: ")
    assert "another session saved" in message and "close and reopen the case" in message
    assert ws.case.target(t2.id).approach is Approach.RETRODISCAL
    assert _stored(ws, case_id).target(t2.id).approach is Approach.RETRODISCAL
    # notes typed now cannot be saved either: said, and held as refused notes are
    saved = ws.case.target(t2.id).notes
    _type_notes(doc, planning, ("checked again",))
    doc.key(field, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier, "Ctrl+Enter")
    assert planning.message.text().startswith(
        "target notes not saved: another session saved this case after you opened it"
    )
    assert planning.message.text().endswith("shown again when you close the case")
    assert _stored(ws, case_id).target(t2.id).notes == saved == field.toPlainText()
    assert planning.typed_cells.held is not None
    assert planning.typed_cells.held.typed == "checked again"


def test_notes_refused_keep_the_case_open_until_corrected_or_dropped(
    make_napari_viewer: Any, tmp_path: Path
) -> None:
    """Notes with a control character pasted in (Ctrl+V), Ctrl+Enter: refused, the message
    says which character and where; the field shows what is saved. Close: the case stays
    open, the field comes forward with the text pasted and the message ends "the case stays
    open until then"; Escape shows the saved notes again and Close closes. Reopened, notes
    typed and Close clicked at once (no Ctrl+Enter): saved, not lost."""
    viewer, ws, cases, planning = _viewer(make_napari_viewer, tmp_path, "Planning")
    doc = Physician(viewer)
    case_id = ws.case.case_id
    field = planning.target_notes
    t2 = ws.case.targets[1]
    _tab(doc, planning.tabs, "Targets")
    _click_row(doc, planning, 1)
    pasted = "see the letter\x07 of May"
    QApplication.clipboard().setText(pasted)
    doc.click(field.viewport(), "Notes")
    doc.key(field, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier, "Ctrl+A")
    doc.key(field, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier, "Ctrl+V")
    assert field.toPlainText() == pasted
    doc.key(field, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier, "Ctrl+Enter")
    refusal = planning.message.text()
    assert "target notes: hold a control character (U+0007, line 1, character 15)" in refusal
    assert STAYS not in refusal
    assert field.toPlainText() == t2.notes  # what is saved

    doc.click(cases.close_button, "Close")
    assert ws.is_open and ws.case.case_id == case_id
    assert field.toPlainText() == pasted and field.hasFocus()
    assert planning.message.text().startswith(refusal) and STAYS in planning.message.text()
    assert _stored(ws, case_id).target(t2.id).notes == t2.notes

    doc.key(field, Qt.Key.Key_Escape, what="Escape")
    assert field.toPlainText() == t2.notes
    doc.click(cases.close_button, "Close")
    assert not ws.is_open

    # reopened; notes typed and Close clicked without saving them first: saved on the way
    doc.click(cases.reopen_button, "Reopen")
    assert ws.is_open and ws.case.case_id == case_id
    _tab(doc, planning.tabs, "Targets")
    _click_row(doc, planning, 1)
    _type_notes(doc, planning, LINES)
    doc.click(cases.close_button, "Close")
    assert not ws.is_open
    assert _stored(ws, case_id).target(t2.id).notes == NOTES
