"""Nothing changes the case silently: keys, Escape, stray keystrokes, undo (Xvfb, real events)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from qtpy.QtCore import Qt

from blockplan.case.store import CaseStore
from blockplan.demo import build_demo_case
from napari_blockplan._layers import layer_for
from napari_blockplan._workspace import workspace_for
from tests.plugin._gui import Physician, activate, canvas_widget, settle

pytestmark = pytest.mark.gui

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"
TRUTH: dict[str, Any] = json.loads((SAMPLE / "truth.json").read_text())


@pytest.fixture
def demo(make_napari_viewer: Any, tmp_path: Path) -> Any:
    viewer = make_napari_viewer(show=True)
    viewer.open_sample("blockplan", "lumbar_postop")
    ws = workspace_for(viewer)
    ws.use_store(CaseStore(tmp_path / "cases.sqlite3"))
    _d, planning = viewer.window.add_plugin_dock_widget("blockplan", "Planning")
    _d, outcomes = viewer.window.add_plugin_dock_widget("blockplan", "Outcomes")
    ws.start_case(build_demo_case(SAMPLE))
    settle()
    return viewer, ws, planning, outcomes


def test_digits_typed_on_a_table_never_reach_the_scar_layer(demo: Any) -> None:
    viewer, ws, planning, _outcomes = demo
    doc = Physician(viewer)
    scar = layer_for(viewer, "scar")
    viewer.layers.selection.active = scar
    assert scar.mode == "pan_zoom"
    planning.tabs.setCurrentIndex(2)  # Targets
    table = planning.table
    doc.click(
        table.viewport(), "a target row", table.visualRect(table.model().index(0, 3)).center()
    )
    for digit in "123456":
        doc.key(table, digit)
    assert scar.mode == "pan_zoom"  # napari's Labels shortcuts never saw the digits
    before = ws.case
    snrb = next(t for t in TRUTH["targets"] if t["block_type"] == "snrb")
    viewer.dims.set_point(0, snrb["target_lps"][2])
    doc.click_patient(snrb["target_lps"], "a click on the canvas afterwards")
    assert ws.case == before  # nothing painted, nothing placed


def test_a_stray_key_on_the_targets_table_never_renames_a_target(demo: Any) -> None:
    viewer, ws, planning, _outcomes = demo
    doc = Physician(viewer)
    planning.tabs.setCurrentIndex(2)
    table = planning.table
    labels = [t.label for t in ws.case.targets]
    doc.click(
        table.viewport(), "the label cell", table.visualRect(table.model().index(0, 0)).center()
    )
    doc.key(table, "T", Qt.KeyboardModifier.ShiftModifier, "Shift-T meant for the canvas")
    doc.key(table, Qt.Key.Key_Return)
    doc.click(canvas_widget(viewer), "focus elsewhere")
    assert [t.label for t in ws.case.targets] == labels


def test_escape_leaves_placement_from_the_panel_and_the_canvas(demo: Any) -> None:
    viewer, ws, planning, _outcomes = demo
    doc = Physician(viewer)
    planning.tabs.setCurrentIndex(2)
    place = next(
        b
        for b in planning.findChildren(type(planning.undo_bar.undo_button))
        if b.text().startswith("Place target")
    )
    doc.click(place, "Place target")
    assert ws.mode == "target"
    assert "click the target" in viewer.help and "Esc" in viewer.help  # in the status bar
    assert "click the target" in planning.mode_label.text()
    doc.key(planning.table, Qt.Key.Key_Escape)
    assert ws.mode is None and viewer.help == ""
    doc.click(place, "Place target")
    doc.key(canvas_widget(viewer), Qt.Key.Key_Escape)
    assert ws.mode is None


def test_entering_a_placement_mode_stops_painting(demo: Any) -> None:
    viewer, _ws, planning, _outcomes = demo
    planning.start_painting()
    scar = layer_for(viewer, "scar")
    assert scar.mode == "paint"
    planning.set_mode("target")
    assert scar.mode == "pan_zoom"


def test_every_edit_is_undoable_from_the_panel(demo: Any) -> None:
    viewer, ws, planning, outcomes = demo
    doc = Physician(viewer)
    before = ws.case
    outcomes.profile.setCurrentText("strict-dual-80")  # an Outcomes edit, autosaved
    assert ws.case.profile_name == "strict-dual-80"
    undo = planning.undo_bar.undo_button
    assert undo.isEnabled() and undo.text() == "Undo set profile"
    doc.click(undo, "Undo")
    assert ws.case == before
    assert outcomes.profile.currentText() == before.profile_name
    redo = planning.undo_bar.redo_button
    assert redo.text() == "Redo set profile"
    doc.click(redo, "Redo")
    assert ws.case.profile_name == "strict-dual-80"


def _diary_nrs(ws: Any, procedure_id: str) -> dict[int, int | None]:
    proc = next(p for p in ws.case.procedures if p.id == procedure_id)
    return {e.minutes: e.nrs for e in proc.diary.entries} if proc.diary else {}


def _click_block(doc: Physician, outcomes: Any, procedure_id: str) -> None:
    lst = outcomes.block_list
    item = next(
        lst.item(r)
        for r in range(lst.count())
        if lst.item(r).data(Qt.ItemDataRole.UserRole) == procedure_id
    )
    doc.click(lst.viewport(), "a block in the list", lst.visualItemRect(item).center())


def test_diary_values_are_kept_per_cell(demo: Any) -> None:
    """A typed diary value is saved to its block when committed, even when the physician
    selects another block or the case changes while the cell is still being typed."""
    viewer, ws, _planning, outcomes = demo
    activate(outcomes)
    doc = Physician(viewer)
    _click_block(doc, outcomes, "b2")
    outcomes.tabs.setCurrentIndex(1)
    other = _diary_nrs(ws, "b1")
    grid = outcomes.diary
    doc.click(grid.viewport(), "30 min NRS", grid.visualItemRect(grid.item(2, 1)).center())
    doc.type_focused("2")  # still typing: the cell editor is open
    _click_block(doc, outcomes, "b1")  # another block: the typed value goes to b2
    assert _diary_nrs(ws, "b2")[30] == 2
    assert _diary_nrs(ws, "b1") == other
    assert grid.item(2, 1).text() == str(other[30])  # b1's diary is shown now
    _click_block(doc, outcomes, "b2")  # coming back shows it
    assert grid.item(2, 1).text() == "2"

    doc.click(grid.viewport(), "60 min NRS", grid.visualItemRect(grid.item(3, 1)).center())
    doc.type_focused("5")
    doc.click(outcomes.profile, "the profile")  # a case change while typing
    doc.key(outcomes.profile.view(), Qt.Key.Key_Escape, what="close the list")
    doc.type(outcomes.profile, "strict", "profile by keyboard")
    assert ws.case.profile_name == "strict-dual-80"
    assert _diary_nrs(ws, "b2")[30] == 2 and _diary_nrs(ws, "b2")[60] == 5
    assert outcomes.selected_procedure_id() == "b2"
    assert [grid.item(r, 1).text() for r in (2, 3)] == ["2", "5"]


def test_ctrl_z_undoes_the_last_edit_wherever_the_focus_is_in_a_panel(demo: Any) -> None:
    viewer, ws, planning, outcomes = demo
    doc = Physician(viewer)
    activate(planning)
    before = ws.case
    outcomes.profile.setCurrentText("strict-dual-80")  # an edit made on the Outcomes panel
    assert ws.case.profile_name == "strict-dual-80"
    planning.tabs.setCurrentIndex(2)
    table = planning.table
    doc.click(
        table.viewport(), "a target row", table.visualRect(table.model().index(0, 3)).center()
    )
    doc.key(table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier, "Ctrl+Z on the table")
    assert ws.case == before
    doc.key(table, Qt.Key.Key_Z, ctrl_shift, "Ctrl+Shift+Z")
    assert ws.case.profile_name == "strict-dual-80"
    # a text field being typed in keeps its own undo: the case is not touched
    activate(outcomes)
    outcomes.tabs.setCurrentIndex(1)
    field = outcomes.quick_diary
    doc.click(field, "Quick entry")
    doc.type(field, "8: 1")
    doc.key(field, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier, "Ctrl+Z in the field")
    assert ws.case.profile_name == "strict-dual-80"


ctrl_shift = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
