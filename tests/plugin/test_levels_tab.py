"""Levels you can trust, driven by real Qt events on the sample study (Xvfb).

The physician names the first level marker (a CT that starts at L3 is marked from L3), edits
markers in the marker list (rename with a recount, move, delete), and sees every target whose
level or side the markers changed flagged in the Planning table's level cell until one tick
confirms it; the flag is stored and is still there when the case is reopened.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qtpy.QtCore import QPoint, Qt
from qtpy.QtWidgets import QPushButton, QStyle, QStyleOptionViewItem

from blockplan.case import BlockType, Case, PatientPoint
from blockplan.case.store import CaseStore
from blockplan.planning import add_level_marker, place_target
from napari_blockplan._workspace import workspace_for
from tests.plugin._gui import Physician, activate, canvas_widget, settle
from tests.plugin.test_clinic_day import _choose, _mark_landmark, _open_tab

pytestmark = pytest.mark.gui

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"
TRUTH: dict[str, Any] = json.loads((SAMPLE / "truth.json").read_text())
CENTRES = {**TRUTH["vertebrae"], **TRUTH["discs"]}
SNRB = next(t for t in TRUTH["targets"] if t["block_type"] == "snrb")  # left L5 (x = +33 mm)


@pytest.fixture
def store(tmp_path: Path) -> CaseStore:
    return CaseStore(tmp_path / "cases.sqlite3")


def _viewer(make_napari_viewer: Any, store: CaseStore, *, cases: bool = False) -> Any:
    viewer = make_napari_viewer(show=True)
    viewer.open_sample("blockplan", "lumbar_postop")
    ws = workspace_for(viewer)
    ws.use_store(store)
    if cases:
        viewer.window.add_plugin_dock_widget("blockplan", "Cases")
    _d, planning = viewer.window.add_plugin_dock_widget("blockplan", "Planning")
    activate(planning)
    return viewer, ws, planning


def _button(widget: Any, starts: str) -> QPushButton:
    return next(b for b in widget.findChildren(QPushButton) if b.text().startswith(starts))


def _tick(doc: Physician, box: Any, what: str) -> None:
    doc.click(box, what, QPoint(8, box.height() // 2))


def _rows(table: Any) -> list[dict[str, str]]:
    heads = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    return [
        {h: table.item(r, c).text() for c, h in enumerate(heads)} for r in range(table.rowCount())
    ]


def _cell(table: Any, row: int, head: str) -> Any:
    heads = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    return table.item(row, heads.index(head))


def _centre_of(table: Any, item: Any) -> QPoint:
    return table.visualItemRect(item).center()


def _check_indicator(table: Any, item: Any) -> QPoint:
    """The pixel of a cell's tick box, as the table's style draws it."""
    option = QStyleOptionViewItem()
    option.rect = table.visualItemRect(item)
    option.features |= QStyleOptionViewItem.ViewItemFeature.HasCheckIndicator
    option.state |= QStyle.StateFlag.State_Enabled
    rect = table.style().subElementRect(
        QStyle.SubElement.SE_ItemViewItemCheckIndicator, option, table
    )
    return rect.center()


def _edit_cell(doc: Physician, table: Any, item: Any, text: str, what: str) -> None:
    """Double-click a cell (its text is selected in the editor), type over it, Enter."""
    doc.double_click(table.viewport(), f"the {what} cell", _centre_of(table, item))
    doc.type_focused(text, f"{text!r}")
    doc.key_focused(Qt.Key.Key_Return, "Enter")


def _mark_on_sagittal(doc: Physician, planning: Any, names: list[str]) -> None:
    for name in names:
        doc.click_patient(CENTRES[name]["center_lps"], f"the {name} centre")


def _target_on_axial(doc: Physician, planning: Any) -> None:
    """Plan the left L5 SNRB on the axial CT at its truth position (real events)."""
    doc.key(canvas_widget(doc.viewer), Qt.Key.Key_Escape, what="Esc")
    doc.click(planning.view_buttons["sagittal"], "Sagittal")
    doc.click_patient(SNRB["target_lps"], "the target's height on the sagittal view")
    _open_tab(doc, planning.tabs, "Targets")
    _choose(doc, planning.block_type, "SNRB")
    doc.click(planning.view_buttons["axial"], "Axial")
    doc.key(canvas_widget(doc.viewer), Qt.Key.Key_T, Qt.KeyboardModifier.ShiftModifier, "Shift-T")
    doc.click_patient(SNRB["target_lps"], "the target")
    doc.key(canvas_widget(doc.viewer), Qt.Key.Key_Escape, what="Esc")


def test_a_ct_starting_at_l3_is_marked_from_l3_and_names_the_l5_target_l5(
    make_napari_viewer: Any, store: CaseStore
) -> None:
    viewer, ws, planning = _viewer(make_napari_viewer, store)
    doc = Physician(viewer)
    doc.click(planning.view_buttons["sagittal"], "Sagittal")
    _open_tab(doc, planning.tabs, "Levels")
    _tick(doc, planning.propose_discs, "Propose disc centres too (off)")
    assert not planning.propose_discs.isChecked()

    # nothing is assumed: a click before the first level is chosen marks nothing
    assert planning.next_level.currentText() == ""
    doc.click(_button(planning, "Place level marker"), "Place level marker")
    assert "choose the level of the first marker" in planning.mode_label.text()
    doc.click_patient(CENTRES["L3"]["center_lps"], "the L3 centre")
    assert ws.case.levels == ()
    assert "choose the level of the vertebra or disc you will click" in planning.message.text()

    # the physician names the first marker L3; L4, L5, S1 follow as proposals
    _choose(doc, planning.next_level, "L3")
    _mark_on_sagittal(doc, planning, ["L3", "L4", "L5", "S1"])
    assert [m.level for m in ws.case.levels] == ["L3", "L4", "L5", "S1"]
    assert [r["Level"] for r in _rows(planning.marker_table)] == ["L3", "L4", "L5", "S1"]
    for marker in ws.case.levels:  # placed where clicked: the truth centre (in plane)
        truth = CENTRES[marker.level]["center_lps"]
        assert np.allclose(marker.position.lps[1:], truth[1:], atol=1.0)

    _target_on_axial(doc, planning)
    (target,) = ws.case.targets
    (row,) = _rows(planning.table)
    assert (row["Level"], row["Side"]) == ("L5", "left")
    assert (target.level, target.side.value, target.level_change) == ("L5", "left", None)


def test_recount_move_and_delete_in_the_marker_list_flag_the_target_until_ticked(
    make_napari_viewer: Any, store: CaseStore
) -> None:
    viewer, ws, planning = _viewer(make_napari_viewer, store)
    doc = Physician(viewer)
    frame = ws.frame_of_reference_uid()
    # the case: L3 … S1 marked counting from T12, so the left L5 SNRB reads "L2"
    case = Case()
    for name, where in zip(["T12", "L1", "L2", "L3"], ["L3", "L4", "L5", "S1"]):
        case = add_level_marker(
            case, PatientPoint(lps=CENTRES[where]["center_lps"], frame_of_reference_uid=frame), name
        )
    target = place_target(
        PatientPoint(lps=SNRB["target_lps"], frame_of_reference_uid=frame),
        case.levels,
        block_type=BlockType.SELECTIVE_NERVE_ROOT,
    )
    ws.start_case(case.replace_item("targets", target))
    settle()
    assert _rows(planning.table)[0]["Level"] == "L2"

    _open_tab(doc, planning.tabs, "Levels")
    markers = planning.marker_table
    assert [r["Level"] for r in _rows(markers)] == ["T12", "L1", "L2", "L3"]
    # renaming T12 alone to L3 makes two L3s: refused, with the recount suggested
    _edit_cell(doc, markers, markers.item(0, 0), "L3", "T12")
    assert [m.level for m in ws.case.levels] == ["T12", "L1", "L2", "L3"]
    assert "rename with a recount" in planning.message.text()
    assert [r["Level"] for r in _rows(markers)] == ["T12", "L1", "L2", "L3"]
    # with the recount every marker moves by the same number of levels
    _tick(doc, planning.recount, "Renaming renumbers every marker")
    _edit_cell(doc, markers, markers.item(0, 0), "L3", "T12")
    assert [m.level for m in ws.case.levels] == ["L3", "L4", "L5", "S1"]
    assert [r["Level"] for r in _rows(markers)] == ["L3", "L4", "L5", "S1"]
    assert "confirm in the Targets table" in planning.message.text()

    # the target now reads L5, flagged with what it was, on an orange cell with a tick box
    _open_tab(doc, planning.tabs, "Targets")
    level = _cell(planning.table, 0, "Level")
    assert level.text() == "L5 — confirm (was L2 left)"
    assert level.checkState() == Qt.CheckState.Unchecked
    assert ws.case.targets[0].level_change is not None
    doc.click(planning.table.viewport(), "the tick box", _check_indicator(planning.table, level))
    assert ws.case.targets[0].level_change is None
    assert _cell(planning.table, 0, "Level").text() == "L5"
    assert _cell(planning.table, 0, "Level").data(Qt.ItemDataRole.CheckStateRole) is None

    # delete S1 (select it, Delete key): the target lies below the marked levels now
    _open_tab(doc, planning.tabs, "Levels")
    s1 = markers.item(3, 0)
    doc.click(markers.viewport(), "the S1 row", _centre_of(markers, s1))
    doc.key(markers, Qt.Key.Key_Delete, what="Delete")
    assert [m.level for m in ws.case.levels] == ["L3", "L4", "L5"]
    assert _rows(planning.table)[0]["Level"] == "level unassigned — confirm (was L5 left)"

    # move: select L5, "Move selected marker", one click on the sagittal view 6 mm lower
    doc.click(planning.view_buttons["sagittal"], "Sagittal")
    l5 = next(m for m in ws.case.levels if m.level == "L5")
    doc.click(markers.viewport(), "the L5 row", _centre_of(markers, markers.item(2, 0)))
    doc.click(_button(planning, "Move selected marker"), "Move selected marker")
    assert "click the new centre of L5" in planning.mode_label.text()
    x, y, z = CENTRES["L5"]["center_lps"]
    doc.click_patient([x, y, z - 6.0], "6 mm below the L5 centre")
    moved = next(m for m in ws.case.levels if m.id == l5.id)
    assert moved.position.lps[2] == pytest.approx(z - 6.0, abs=1.0)
    assert moved.position.lps[2] < l5.position.lps[2] - 4.0
    assert ws.mode is None  # one click moves one marker
    assert _rows(markers)[2]["Centre (LPS mm)"].endswith(f"{moved.position.lps[2]:.1f}")


def test_a_target_before_levels_gets_its_side_then_its_level_flagged_and_reopens_flagged(
    make_napari_viewer: Any, store: CaseStore
) -> None:
    viewer, ws, planning = _viewer(make_napari_viewer, store)
    doc = Physician(viewer)
    _target_on_axial(doc, planning)
    (row,) = _rows(planning.table)
    assert (row["Level"], row["Side"]) == ("level unassigned", "left")  # x = +33 mm

    # an inconsistent side typed by hand is refused with the distance and what to do
    side = _cell(planning.table, 0, "Side")
    _edit_cell(doc, planning.table, side, "right", "Side")
    assert ws.case.targets[0].side.value == "left"
    assert "lies 33." in planning.message.text() and "keep left" in planning.message.text()
    assert _rows(planning.table)[0]["Side"] == "left"

    # the levels, named from L4 on the sagittal view: the target gets L5, flagged
    doc.click(planning.view_buttons["sagittal"], "Sagittal")
    _open_tab(doc, planning.tabs, "Levels")
    _choose(doc, planning.next_level, "L4")
    doc.click(_button(planning, "Place level marker"), "Place level marker")
    _mark_on_sagittal(doc, planning, ["L4", "L4-L5", "L5", "L5-S1", "S1"])
    assert [m.level for m in ws.case.levels] == ["L4", "L4-L5", "L5", "L5-S1", "S1"]
    doc.key(canvas_widget(viewer), Qt.Key.Key_Escape, what="Esc")
    assert _rows(planning.table)[0]["Level"] == "L5 — confirm (was unassigned, left)"
    case_id = ws.case.case_id

    # closed and reopened (a relaunch): the flag is stored and shown again
    viewer.close()
    settle()
    viewer2 = make_napari_viewer(show=True)
    ws2 = workspace_for(viewer2)
    ws2.use_store(store)
    _d, cases = viewer2.window.add_plugin_dock_widget("blockplan", "Cases")
    _d, planning2 = viewer2.window.add_plugin_dock_widget("blockplan", "Planning")
    viewer2.open_sample("blockplan", "lumbar_postop")
    settle()
    doc2 = Physician(viewer2)
    assert cases.offer.isVisible()
    doc2.click(cases.reopen_button, "Reopen")
    assert ws2.case.case_id == case_id
    assert _rows(planning2.table)[0]["Level"] == "L5 — confirm (was unassigned, left)"
    # one action confirms: select the level cell, Space
    _open_tab(doc2, planning2.tabs, "Targets")
    level = _cell(planning2.table, 0, "Level")
    doc2.click(planning2.table.viewport(), "the level cell", _centre_of(planning2.table, level))
    doc2.key(planning2.table, Qt.Key.Key_Space, what="Space")
    assert ws2.case.targets[0].level_change is None
    assert _rows(planning2.table)[0]["Level"] == "L5"
    assert store.load(case_id)[0].targets[0].level_change is None


def test_a_landmark_marked_in_the_wrong_place_is_deleted_from_the_landmark_list(
    make_napari_viewer: Any, store: CaseStore
) -> None:
    """A root marked at the wrong foramen could only go with Undo, taking every later edit
    with it. The Levels tab lists the marked structures; Delete on a row (or the button)
    removes that one, and the paths are checked again without it."""
    from blockplan.case import Trajectory
    from blockplan.planning.wording import landmark_name
    from napari_blockplan._layers import layer_for

    viewer, ws, planning = _viewer(make_napari_viewer, store)
    doc = Physician(viewer)
    frame = ws.frame_of_reference_uid()

    def at(lps: Any) -> PatientPoint:
        return PatientPoint(lps=lps, frame_of_reference_uid=frame)

    case = Case()
    for name in ("L3", "L4", "L5", "S1"):
        case = add_level_marker(case, at(CENTRES[name]["center_lps"]), name)
    target = place_target(
        at(SNRB["target_lps"]), case.levels, block_type=BlockType.SELECTIVE_NERVE_ROOT
    )
    path = Trajectory(target_id=target.id, entry=at(SNRB["entry_lps"]))
    ws.start_case(case.replace_item("targets", target).replace_item("trajectories", path))
    settle()

    roots = {(r["root"], r["side"]): r["foramen_lps"] for r in TRUTH["nerve_roots"]}
    _open_tab(doc, planning.tabs, "Levels")
    for kind, lps in (
        ("nerve root", roots[("L4", "left")]),  # the neighbouring root, rightly marked
        ("thecal sac", TRUTH["thecal_sac_centerline"]["L5"]),
        ("nerve root", roots[("L4", "right")]),  # meant for the left: the wrong side
    ):
        _mark_landmark(doc, planning, kind, lps)
    sac = next(lm for lm in ws.case.landmarks if lm.kind == "thecal_sac")
    sac_name = landmark_name("thecal_sac", sac.level, None)  # at the L5 body's height
    listed = [r["Landmark"] for r in _rows(planning.landmark_table)]
    assert listed == ["nerve root L4 left", "nerve root L4 right", sac_name]  # head to foot
    layer = layer_for(viewer, "landmarks")
    assert len(layer.data) == 3

    # the wrong root: select its row, press Delete
    wrong = planning.landmark_table.item(1, 0)
    doc.click(
        planning.landmark_table.viewport(),
        "the wrong root",
        _centre_of(planning.landmark_table, wrong),
    )
    doc.key(planning.landmark_table, Qt.Key.Key_Delete, what="Delete")
    assert sorted((lm.kind, lm.level, lm.side) for lm in ws.case.landmarks) == [
        ("nerve_root", "L4", "left"),
        ("thecal_sac", sac.level, sac.side),
    ]
    assert [r["Landmark"] for r in _rows(planning.landmark_table)] == [
        "nerve root L4 left",
        sac_name,
    ]
    assert len(layer.data) == 2
    assert ws.last_action == "delete landmark"  # Undo brings it back
    assert planning.message.text() == "deleted landmark nerve root L4 right"

    # the thecal sac too, with the button: the path is checked again without it
    _open_tab(doc, planning.tabs, "Targets")
    doc.click(
        planning.table.viewport(), "T1", _centre_of(planning.table, planning.table.item(0, 0))
    )
    before = planning.details.text()
    _open_tab(doc, planning.tabs, "Levels")
    sac = planning.landmark_table.item(1, 0)
    doc.click(
        planning.landmark_table.viewport(),
        "the thecal sac",
        _centre_of(planning.landmark_table, sac),
    )
    doc.click(_button(planning, "Delete selected landmark"), "Delete selected landmark")
    assert [lm.kind for lm in ws.case.landmarks] == ["nerve_root"]
    _open_tab(doc, planning.tabs, "Targets")
    # safe while the sac was marked within reach; without it, not assessed, and it says why
    assert before.splitlines()[-1].startswith("Verdict: safe — clear of nerve root L4 left")
    after = planning.details.text().splitlines()[-1]
    assert after == "Verdict: not assessed — mark the thecal sac"
    last = planning.table.columnCount() - 1
    assert planning.table.item(0, last).text() == "not assessed"
