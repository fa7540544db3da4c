"""Deleting a row of a Planning list deletes that one item, and only what was chosen
(real Qt clicks and keys on the demo case, Xvfb).

After a landmark, level marker or target was deleted, the row it left selected used to hold
its neighbour, selected without being chosen: a second Delete deleted the next structure
(the thecal sac below a wrong root) or target. And Undo by Ctrl+Z or the Undo button left
the message line saying "deleted landmark …" for a landmark that was back.
"""

from __future__ import annotations

from typing import Any

import pytest
from qtpy.QtCore import Qt

from napari_blockplan._workspace import workspace_for
from tests.plugin._gui import Physician, activate, demo_in_planning, settle
from tests.plugin.test_clinic_day import _open_tab

pytestmark = pytest.mark.gui


def _demo(make_napari_viewer: Any, tmp_path: Any) -> tuple[Any, Any, Any, Physician]:
    """The demo case in Planning: the panel, the workspace, the case as opened, the doctor."""
    viewer, planning, case = demo_in_planning(make_napari_viewer, tmp_path)
    activate(planning)
    return planning, workspace_for(viewer), case, Physician(viewer)


def _click_row(doc: Physician, table: Any, row: int, what: str) -> None:
    item = table.item(row, 0)
    table.scrollToItem(item)
    settle()
    doc.click(table.viewport(), what, table.visualItemRect(item).center())


def test_a_second_delete_in_the_landmark_list_deletes_nothing_more(
    make_napari_viewer: Any, tmp_path: Any
) -> None:
    planning, ws, _case, doc = _demo(make_napari_viewer, tmp_path)
    _open_tab(doc, planning.tabs, "Levels")
    table = planning.landmark_table
    before = {lm.id for lm in ws.case.landmarks}
    chosen = table.item(3, 0)
    chosen_id, chosen_name = chosen.data(Qt.ItemDataRole.UserRole), chosen.text()
    _click_row(doc, table, 3, chosen_name)
    doc.key(table, Qt.Key.Key_Delete, what="Delete")
    assert {lm.id for lm in ws.case.landmarks} == before - {chosen_id}
    assert planning.selected_landmark_id() is None  # its neighbour is not chosen for us
    doc.key(table, Qt.Key.Key_Delete, what="Delete again")
    assert {lm.id for lm in ws.case.landmarks} == before - {chosen_id}
    assert planning.message.text() == "select a landmark in the list first, then delete it"


def test_undo_by_key_or_button_says_what_it_undid(make_napari_viewer: Any, tmp_path: Any) -> None:
    planning, ws, case, doc = _demo(make_napari_viewer, tmp_path)
    _open_tab(doc, planning.tabs, "Levels")
    table = planning.landmark_table
    name = table.item(0, 0).text()
    _click_row(doc, table, 0, name)
    doc.key(table, Qt.Key.Key_Delete, what="Delete")
    assert planning.message.text() == f"deleted landmark {name}"
    doc.key(table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier, "Ctrl+Z")
    assert len(ws.case.landmarks) == len(case.landmarks)
    assert planning.message.text() == "undone: delete landmark"
    doc.click(planning.undo_bar.redo_button, "Redo delete landmark")
    assert len(ws.case.landmarks) == len(case.landmarks) - 1
    assert planning.message.text() == "redone: delete landmark"
    doc.click(planning.undo_bar.undo_button, "Undo delete landmark")
    assert planning.message.text() == "undone: delete landmark"


def test_a_second_delete_in_the_targets_table_deletes_nothing_more(
    make_napari_viewer: Any, tmp_path: Any
) -> None:
    planning, ws, _case, doc = _demo(make_napari_viewer, tmp_path)
    _open_tab(doc, planning.tabs, "Targets")
    _click_row(doc, planning.table, 1, "T2")  # no block injected it
    doc.key(planning.table, Qt.Key.Key_Delete, what="Delete")
    assert [t.id for t in ws.case.targets] == ["t1", "t3", "t4", "t5"]
    assert planning.selected_target_id() is None
    doc.key(planning.table, Qt.Key.Key_Delete, what="Delete again")
    assert [t.id for t in ws.case.targets] == ["t1", "t3", "t4", "t5"]


def test_a_second_delete_in_the_marker_list_deletes_nothing_more(
    make_napari_viewer: Any, tmp_path: Any
) -> None:
    planning, ws, _case, doc = _demo(make_napari_viewer, tmp_path)
    _open_tab(doc, planning.tabs, "Levels")
    table = planning.marker_table
    last = table.rowCount() - 1  # S1, the end of the chain: deleting it keeps it valid
    _click_row(doc, table, last, "S1")
    doc.key(table, Qt.Key.Key_Delete, what="Delete")
    levels = [m.level for m in ws.case.levels]
    assert "S1" not in levels
    assert planning.selected_marker_id() is None
    doc.key(table, Qt.Key.Key_Delete, what="Delete again")
    assert [m.level for m in ws.case.levels] == levels


def test_a_target_a_recorded_block_injected_is_not_deleted_and_it_says_why(
    make_napari_viewer: Any, tmp_path: Any
) -> None:
    """Delete on T3 (injected by the medial branch block #2) raised a validation error in
    the terminal and did nothing the physician could see."""
    planning, ws, _case, doc = _demo(make_napari_viewer, tmp_path)
    _open_tab(doc, planning.tabs, "Targets")
    _click_row(doc, planning.table, 2, "T3")
    doc.key(planning.table, Qt.Key.Key_Delete, what="Delete")
    assert [t.id for t in ws.case.targets] == ["t1", "t2", "t3", "t4", "t5"]
    assert planning.message.text() == (
        "target T3 · L4-L5 right MBB not deleted: block #2 injected it "
        "(delete the block in Outcomes first)"
    )
