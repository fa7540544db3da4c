"""Documenting blocks in the Outcomes panel with real Qt events (Xvfb).

Every field of a procedure record has a control and round-trips through the form; blocks
are edited and deleted (undoably); diaries are typed row by row or on one line and saved
per cell; ODI and PGIC are entered and scored by the core; the action counts of the
physician's common paths stay small.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import os
import re
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from qtpy.QtCore import QPoint, Qt
from qtpy.QtWidgets import QWidget

from blockplan.case import (
    Agent,
    Approach,
    BlockType,
    Complication,
    Contrast,
    ContrastPattern,
    Guidance,
    Injection,
    Needle,
    Procedure,
    Sedation,
    Steroid,
)
from blockplan.case.limits import TYPICAL_VOLUME_ML
from blockplan.case.store import CaseStore
from blockplan.demo import build_demo_case
from blockplan.outcomes.scores import odi_course, odi_number, pgic_label
from blockplan.settings import Settings, save_settings
from napari_blockplan._widgets._procedure_form import FIELD_CONTROLS, NOT_IN_FORM
from napari_blockplan._workspace import workspace_for
from tests.plugin._gui import Physician, activate, settle

pytestmark = pytest.mark.gui

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"
TZ = dt.timezone(dt.timedelta(hours=1))
CLINICIAN = "Dr A. Example"
TIMES = (0, 15, 30, 60, 120, 180, 240, 300, 360, 480, 1440)  # asra/comparative schedule


@pytest.fixture
def panel(make_napari_viewer: Any, tmp_path: Path) -> Any:
    """The Outcomes panel on the demo case without its blocks; a clinician configured."""
    save_settings(Settings(clinician_name=CLINICIAN))
    viewer = make_napari_viewer(show=True)
    ws = workspace_for(viewer)
    ws.use_store(CaseStore(tmp_path / "cases.sqlite3"))
    _dock, widget = viewer.window.add_plugin_dock_widget("blockplan", "Outcomes")
    ws.start_case(build_demo_case(SAMPLE).evolve(procedures=(), odi=(), pgic=()))
    activate(widget)
    return viewer, widget, ws


@pytest.fixture
def demo(make_napari_viewer: Any, tmp_path: Path) -> Any:
    """The Outcomes panel on the full demo case (four blocks with diaries, ODI, PGIC)."""
    viewer = make_napari_viewer(show=True)
    ws = workspace_for(viewer)
    ws.use_store(CaseStore(tmp_path / "cases.sqlite3"))
    _dock, widget = viewer.window.add_plugin_dock_widget("blockplan", "Outcomes")
    ws.start_case(build_demo_case(SAMPLE))
    activate(widget)
    return viewer, widget, ws


# --- helpers -------------------------------------------------------------------------
def _target(ws: Any, block: BlockType, side: str = "") -> str:
    return next(
        t.id for t in ws.case.targets if t.block_type is block and t.side.value.startswith(side)
    )


def _tick(doc: Physician, box: QWidget, what: str) -> None:
    """Click a check box on its indicator (the left end), as a person aims at it."""
    doc.click(box, what, QPoint(8, box.height() // 2))


def _replace(doc: Physician, field: QWidget, text: str, what: str) -> None:
    """Select a field's text (Ctrl-A) and type over it."""
    doc.key(field, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier, f"select {what}")
    doc.type(field, text, what)


def _tab(widget: Any, name: str) -> int:
    return [widget.tabs.tabText(i) for i in range(widget.tabs.count())].index(name)


def _open_tab(doc: Physician, widget: Any, name: str) -> None:
    bar = widget.tabs.tabBar()
    doc.click(bar, f"tab {name}", bar.tabRect(_tab(widget, name)).center())
    assert widget.tabs.currentIndex() == _tab(widget, name)


def _click_block(doc: Physician, widget: Any, procedure_id: str) -> None:
    lst = widget.block_list
    row = next(
        r for r in range(lst.count()) if lst.item(r).data(Qt.ItemDataRole.UserRole) == procedure_id
    )
    doc.click(lst.viewport(), "a block in the list", lst.visualItemRect(lst.item(row)).center())
    assert widget.selected_procedure_id() == procedure_id


def _proc(ws: Any, procedure_id: str) -> Procedure:
    return next(p for p in ws.case.procedures if p.id == procedure_id)


def _nrs(ws: Any, procedure_id: str) -> dict[int, int | None]:
    diary = _proc(ws, procedure_id).diary
    return {} if diary is None else {e.minutes: e.nrs for e in diary.entries}


def _report_text(case: Any) -> str:
    from pypdf import PdfReader

    from blockplan.report import build_report

    pdf = build_report(case)
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _fields(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every field path of a model, into nested models (also in tuples and optionals)."""
    paths = []
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        nested = [
            t
            for t in (info.annotation, *typing.get_args(info.annotation))
            if isinstance(t, type) and issubclass(t, BaseModel)
        ]
        if nested and path not in NOT_IN_FORM:
            paths += _fields(nested[0], f"{path}.")
        else:
            paths.append(path)
    return paths


# --- every field has a control and round-trips ---------------------------------------
def test_every_procedure_field_has_a_form_control(panel: Any) -> None:
    _viewer, widget, _ws = panel
    paths = _fields(Procedure)
    # the walk reaches into the nested records
    for nested in ("injections.volume_ml", "needle.tip", "contrast.dsa_used", "steroid.name"):
        assert nested in paths
    assert "sedation.dose" in paths and "complication_notes" in paths
    missing = [p for p in paths if p not in FIELD_CONTROLS and p not in NOT_IN_FORM]
    assert missing == []
    assert sorted(set(FIELD_CONTROLS) - set(paths)) == []  # no control for a field gone
    for path, attr in FIELD_CONTROLS.items():
        assert isinstance(getattr(widget.form, attr), QWidget | dict), path


def test_ticking_a_planned_target_takes_the_plans_needle(panel: Any) -> None:
    from blockplan.planning import measure_paths

    viewer, widget, ws = panel
    doc = Physician(viewer)
    planned = [t.id for t in ws.case.targets if ws.case.trajectory_for(t.id) is not None]
    assert planned  # the fixture plans paths
    _tick(doc, widget.target_checks[planned[0]], "a planned target")
    needle = measure_paths(ws.case)[planned[0]].suggested_needle_mm
    assert needle is not None and widget.form.needle_length.value() == pytest.approx(needle)
    # the medial-branch count belongs to a medial branch block only
    mbb = ws.case.target(planned[0]).block_type is BlockType.MEDIAL_BRANCH
    assert widget.branch_spins[planned[0]].isVisibleTo(widget) == mbb
    other = next(
        (t for t in ws.case.targets if (t.block_type is BlockType.MEDIAL_BRANCH) != mbb), None
    )
    if other is not None:
        _tick(doc, widget.target_checks[planned[0]], "untick it")
        _tick(doc, widget.target_checks[other.id], "a target of the other kind")
        assert widget.branch_spins[other.id].isVisibleTo(widget) == (not mbb)


def test_a_block_recorded_through_the_form_round_trips_every_value(panel: Any) -> None:
    viewer, widget, ws = panel
    doc = Physician(viewer)
    form = widget.form
    mbb = [t.id for t in ws.case.targets if t.block_type is BlockType.MEDIAL_BRANCH]
    assert widget.operator.text() == CLINICIAN  # the configured clinician, never the login
    assert widget.block_list.count() == 0 and not widget.save_button.isEnabled()

    for tid in mbb:  # two targets of one block type
        _tick(doc, widget.target_checks[tid], "an MBB target")
    assert form.current_block_type() is BlockType.MEDIAL_BRANCH  # from the ticked target
    assert widget.approach.currentData() is Approach.POSTERIOR_OBLIQUE
    assert widget.volume_spins[mbb[0]].value() == TYPICAL_VOLUME_ML[BlockType.MEDIAL_BRANCH]
    _replace(doc, widget.volume_spins[mbb[0]], "0.4", "volume")
    _replace(doc, widget.branch_spins[mbb[1]], "2", "branches")
    doc.click(widget.performed_at, "date")
    doc.type(widget.performed_at, "2026-04-07 09:00 +01:00")
    _replace(doc, widget.operator, "Dr B. Other", "operator")
    doc.click(form.guidance_buttons.buttons[Guidance.CT], "CT")
    doc.click(widget.agent_buttons[Agent.BUPIVACAINE], "bupivacaine")
    doc.click(widget.concentration, "concentration")
    doc.type(widget.concentration, "0.5")
    doc.click(widget.complication_buttons[Complication.VASOVAGAL], "vasovagal")
    doc.click(widget.complication_buttons[Complication.OTHER], "other")
    doc.click(form.complication_notes, "notes")
    doc.type(form.complication_notes, "brief, resolved lying flat")
    doc.type(form.contrast_agent, "iohexol 300")
    _replace(doc, form.contrast_ml, "0.3", "contrast volume")
    doc.type(form.contrast_pattern, "intra")  # keyboard search in the combo box
    _tick(doc, form.intravascular, "intravascular uptake")
    _tick(doc, form.dsa, "DSA")
    doc.type(form.needle_gauge, "22")
    _replace(doc, form.needle_length, "89", "needle length")
    doc.type(form.needle_tip, "straight")
    doc.type(form.needle_type, "Quincke spinal")
    doc.type(form.steroid, "triamcinolone acetonide 40 mg")
    assert form.particulate.isChecked()  # decided by the core's entry rule
    doc.type(form.sedation, "midazolam 1 mg IV")
    doc.type(form.indication, "right axial low back pain")
    doc.type(form.index_pain, "right low back pain on extension")
    _replace(doc, form.images_saved, "3", "images saved")
    doc.type(form.interpretation, "concordant")
    doc.type(form.next_step, "second block with lidocaine")
    doc.click(form.notes, "notes")
    doc.type(form.notes, "synthetic test block")
    doc.click(widget.record_button, "Record as new block")

    (stored,) = ws.case.procedures
    targets = {t.id: t for t in ws.case.targets}
    expected = Procedure(
        id=stored.id,
        session_id=stored.session_id,  # a session of its own (schema 4)
        performed_at=dt.datetime(2026, 4, 7, 9, 0, tzinfo=TZ),
        operator="Dr B. Other",
        block_type=BlockType.MEDIAL_BRANCH,
        approach=Approach.POSTERIOR_OBLIQUE,
        guidance=Guidance.CT,
        indication="right axial low back pain",
        index_pain="right low back pain on extension",
        injections=(
            Injection.at_target(
                targets[mbb[0]], agent=Agent.BUPIVACAINE, concentration_pct=0.5, volume_ml=0.4
            ),
            Injection.at_target(
                targets[mbb[1]],
                agent=Agent.BUPIVACAINE,
                concentration_pct=0.5,
                volume_ml=TYPICAL_VOLUME_ML[BlockType.MEDIAL_BRANCH],
                branches=2,
            ),
        ),
        contrast=Contrast(
            agent="iohexol 300",
            volume_ml=0.3,
            pattern=ContrastPattern.INTRA_ARTICULAR,
            intravascular_uptake=True,
            dsa_used=True,
        ),
        steroid=Steroid(name="triamcinolone acetonide", dose_mg=40.0, particulate=True),
        sedation=Sedation(drug="midazolam", dose="1 mg IV"),
        needle=Needle(gauge=22, length_mm=89.0, tip="straight", type="Quincke spinal"),
        complications=(Complication.VASOVAGAL, Complication.OTHER),
        complication_notes="brief, resolved lying flat",
        images_saved=3,
        diary=None,
        interpretation="concordant",
        next_step="second block with lidocaine",
        notes="synthetic test block",
    )
    assert stored == expected
    # the new block is selected and the Diary tab opens with the cursor in Quick entry
    assert widget.selected_procedure_id() == stored.id
    assert widget.tabs.currentIndex() == _tab(widget, "Diary")
    assert widget.quick_diary.hasFocus()

    # loading it back into the form and saving changes nothing: every value round-trips
    widget.new_block()
    assert not widget.target_checks[mbb[0]].isChecked()
    _click_block(doc, widget, stored.id)
    assert widget.performed_at.text() == "2026-04-07 09:00 +01:00"
    before = ws.case
    doc.click(widget.save_button, "Save changes")
    assert ws.case is before and widget.message.text() == "no change to save"

    # the report prints every one of them
    text = _squash(_report_text(ws.case))
    for part in (
        "Dr B. Other",
        "medial branch block, posterior oblique",
        "ct guidance",
        "L4-L5 right: bupivacaine 0.5 % 0.4 mL",
        "L4-L5 right: bupivacaine 0.5 % 0.5 mL (2 branches)",
        "iohexol 300 0.3 mL; intra-articular; intravascular uptake (DSA)",
        "triamcinolone acetonide 40 mg (particulate)",
        "midazolam 1 mg IV",
        "22 G 89 mm, straight, Quincke spinal",
        "complications: vasovagal, other (brief, resolved lying flat)",
        "Indication: right axial low back pain",
        "Index pain: right low back pain on extension",
        "Images saved: 3",
        "Interpretation: concordant",
        "Next step: second block with lidocaine",
        "Notes: synthetic test block",
    ):
        assert _squash(part) in text, part


def test_ticking_a_target_of_another_block_type_is_refused(panel: Any) -> None:
    viewer, widget, ws = panel
    doc = Physician(viewer)
    snrb = _target(ws, BlockType.SELECTIVE_NERVE_ROOT)
    mbb = _target(ws, BlockType.MEDIAL_BRANCH)
    _tick(doc, widget.target_checks[snrb], "SNRB target")
    assert widget.form.current_block_type() is BlockType.SELECTIVE_NERVE_ROOT
    _tick(doc, widget.target_checks[mbb], "MBB target")
    assert not widget.target_checks[mbb].isChecked()
    assert "one block type per block" in widget.message.text()
    assert widget.form.current_block_type() is BlockType.SELECTIVE_NERVE_ROOT


def test_the_contrast_choices_read_as_the_report_prints_them_for_the_block(
    panel: Any,
) -> None:
    """ "Neither along the root nor foraminal" was offered for a medial branch block, whose
    report reads "pattern not applicable": the form words its choices for the block."""
    from blockplan.case.wording import contrast_pattern_text

    viewer, widget, ws = panel
    doc = Physician(viewer)
    form = widget.form

    def choices() -> list[str]:
        combo = form.contrast_pattern
        return [combo.itemText(i) for i in range(combo.count())]

    snrb = _target(ws, BlockType.SELECTIVE_NERVE_ROOT)
    _tick(doc, widget.target_checks[snrb], "SNRB target")
    assert "neither along the root nor foraminal" in choices()
    _tick(doc, widget.target_checks[snrb], "SNRB target again (untick)")
    mbb = _target(ws, BlockType.MEDIAL_BRANCH)
    _tick(doc, widget.target_checks[mbb], "MBB target")
    assert form.current_block_type() is BlockType.MEDIAL_BRANCH
    assert "pattern not applicable" in choices()
    assert "neither along the root nor foraminal" not in choices()
    assert choices() == [contrast_pattern_text(p, BlockType.MEDIAL_BRANCH) for p in ContrastPattern]


def test_recording_refuses_what_it_cannot_read_and_changes_nothing(panel: Any) -> None:
    viewer, widget, ws = panel
    doc = Physician(viewer)
    before = ws.case
    _tick(doc, widget.target_checks[_target(ws, BlockType.SELECTIVE_NERVE_ROOT)], "target")
    doc.click(widget.record_button, "Record")
    assert "choose the agent" in widget.message.text()
    doc.click(widget.agent_buttons[Agent.LIDOCAINE], "lidocaine")
    doc.click(widget.performed_at, "date")
    doc.type(widget.performed_at, "07.04.2026 9 Uhr")
    doc.click(widget.record_button, "Record")
    assert "date, time: expected a date and time like '2026-04-07 09:00 +01:00'" in (
        widget.message.text()
    )
    doc.click(widget.performed_at, "date")
    doc.type(widget.performed_at, "2026-04-07 09:00")
    doc.type(widget.form.needle_gauge, "40")
    doc.click(widget.record_button, "Record")
    assert "needle gauge: expected a whole number 10–30; got '40'" in widget.message.text()
    assert ws.case is before


# --- editing and deleting ----------------------------------------------------------
def test_edit_and_delete_a_block_both_undoable(demo: Any) -> None:
    viewer, widget, ws = demo
    doc = Physician(viewer)
    original = ws.case
    _click_block(doc, widget, "b1")
    assert widget.agent_buttons[Agent.LIDOCAINE].isChecked()
    assert widget.no_complications.isChecked()
    doc.click(widget.agent_buttons[Agent.BUPIVACAINE], "bupivacaine")
    doc.click(widget.complication_buttons[Complication.PARAESTHESIA], "paraesthesia")
    assert not widget.no_complications.isChecked()  # "none" stands alone
    doc.click(widget.performed_at, "date")
    doc.type(widget.performed_at, "2026-04-08 10:30 +02:00")
    doc.click(widget.save_button, "Save changes")
    edited = _proc(ws, "b1")
    assert edited.agents == {Agent.BUPIVACAINE}
    assert edited.complications == (Complication.PARAESTHESIA,)
    assert edited.performed_at == dt.datetime(2026, 4, 8, 8, 30, tzinfo=dt.UTC)
    assert (
        edited.diary == next(p for p in original.procedures if p.id == "b1").diary
    )  # the diary is not the form's
    assert len(ws.case.procedures) == len(original.procedures)
    assert widget.undo_bar.undo_button.text() == "Undo edit block"
    doc.click(widget.undo_bar.undo_button, "Undo")
    assert ws.case == original
    assert widget.agent_buttons[Agent.LIDOCAINE].isChecked()  # the form shows the undo

    _click_block(doc, widget, "b2")
    doc.click(widget.delete_button, "Delete block")
    assert [p.id for p in ws.case.procedures] == ["b1", "b3", "b4"]
    assert "deleted" in widget.message.text()
    assert widget.selected_procedure_id() is None and not widget.delete_button.isEnabled()
    doc.click(widget.undo_bar.undo_button, "Undo delete block")
    assert ws.case == original


# --- complications in the report ----------------------------------------------------
def test_no_complications_and_not_recorded_read_differently_in_the_report(panel: Any) -> None:
    viewer, widget, ws = panel
    doc = Physician(viewer)
    snrb = _target(ws, BlockType.SELECTIVE_NERVE_ROOT)
    _tick(doc, widget.target_checks[snrb], "target")
    doc.click(widget.agent_buttons[Agent.LIDOCAINE], "lidocaine")
    doc.click(widget.no_complications, "no complications")
    doc.click(widget.record_button, "Record")
    doc.click(widget.new_block_button, "New block")
    _tick(doc, widget.target_checks[snrb], "target")
    doc.click(widget.agent_buttons[Agent.BUPIVACAINE], "bupivacaine")
    doc.click(widget.record_button, "Record")  # nothing chosen: not recorded
    first, second = ws.case.procedures
    assert first.complications == (Complication.NONE,) and second.complications == ()
    text = _squash(_report_text(ws.case))
    assert _squash("complications: none") in text
    assert _squash("complications: not recorded") in text


# --- diary ---------------------------------------------------------------------------
def _record_snrb(doc: Physician, widget: Any, ws: Any) -> str:
    """Record a lidocaine SNRB at the left L5 target, no complications (6 actions)."""
    _tick(doc, widget.target_checks[_target(ws, BlockType.SELECTIVE_NERVE_ROOT)], "target")
    doc.click(widget.agent_buttons[Agent.LIDOCAINE], "lidocaine")
    doc.click(widget.performed_at, "date")
    doc.type(widget.performed_at, "2026-04-07 09:00 +01:00")
    doc.click(widget.no_complications, "no complications")
    doc.click(widget.record_button, "Record as new block")
    return ws.case.procedures[-1].id


def test_recording_a_block_with_its_diary_takes_at_most_nine_actions(panel: Any) -> None:
    viewer, widget, ws = panel
    doc = Physician(viewer)
    pid = _record_snrb(doc, widget, ws)
    assert doc.actions <= 6, doc.log
    recorded = doc.actions
    doc.type(widget.quick_diary, "8: 1 1 0 1 3 6 7 8 8 8 8", "quick diary")
    doc.key(widget.quick_diary, Qt.Key.Key_Return, what="Enter")
    assert doc.actions - recorded <= 3, doc.log
    assert doc.actions <= 9, doc.log
    proc = _proc(ws, pid)
    assert proc.complications == (Complication.NONE,) and proc.operator == CLINICIAN
    assert proc.diary is not None and proc.diary.baseline_nrs == 8
    assert _nrs(ws, pid) == dict(zip(TIMES, (1, 1, 0, 1, 3, 6, 7, 8, 8, 8, 8), strict=True))
    # the verdict and the chart follow at once (from the ledger)
    block = next(b for b in widget.ledger.blocks if b.procedure_id == pid)
    assert block.verdict.text in widget.verdict.text()
    assert widget.figure.axes[0].lines  # the diary is drawn
    print(f"actions: {doc.actions}: {doc.log}")


def test_diary_typed_row_by_row_with_enter_and_tab(panel: Any) -> None:
    viewer, widget, ws = panel
    doc = Physician(viewer)
    pid = _record_snrb(doc, widget, ws)
    assert widget.baseline.text() == "" and widget.baseline.placeholderText() == "not entered"
    doc.click(widget.baseline, "baseline")
    doc.type(widget.baseline, "8")
    doc.key(widget.baseline, Qt.Key.Key_Return)  # saved; the cursor moves to the grid
    assert _proc(ws, pid).diary is not None and _proc(ws, pid).diary.baseline_nrs == 8
    assert (widget.diary.currentRow(), widget.diary.currentColumn()) == (0, 1)
    for n, value in enumerate(("2", "1", "0")):
        doc.type_focused(value)
        doc.key_focused(Qt.Key.Key_Tab if n % 2 else Qt.Key.Key_Return)
    doc.key_focused(Qt.Key.Key_Return)  # 60 min left empty: a missing point
    doc.type_focused("10")
    doc.key_focused(Qt.Key.Key_Return)
    assert _nrs(ws, pid) == {0: 2, 15: 1, 30: 0, 120: 10}
    # every cell was saved when committed: one undoable edit per cell
    assert widget.undo_bar.undo_button.text() == "Undo diary 120 min"
    # the core's relief shows beside the typed NRS
    assert widget.diary.item(0, 3).text() == "75"
    assert widget.diary.item(3, 3).text() == ""
    # the patient's own relief: click the cell, type
    cell = widget.diary.visualItemRect(widget.diary.item(1, 2)).center()
    doc.click(widget.diary.viewport(), "patient relief 15 min", cell)
    doc.type_focused("90")
    doc.key_focused(Qt.Key.Key_Return)
    entry = next(e for e in _proc(ws, pid).diary.entries if e.minutes == 15)
    assert (entry.nrs, entry.patient_relief_pct) == (1, 90.0)
    # flags saved with the diary
    _tick(doc, widget.baseline_provoked, "provoked")
    doc.click(widget.movements_buttons[True], "movements possible: yes")
    diary = _proc(ws, pid).diary
    assert diary.baseline_provoked is True and diary.movements_possible is True
    doc.click(widget.movements_buttons[True], "again: not recorded")
    assert _proc(ws, pid).diary.movements_possible is None


@pytest.mark.parametrize("typed", ["11", "x"])
def test_an_invalid_cell_is_refused_in_place_and_nothing_else_changes(
    panel: Any, typed: str
) -> None:
    viewer, widget, ws = panel
    doc = Physician(viewer)
    pid = _record_snrb(doc, widget, ws)
    doc.type(widget.quick_diary, "8: 1 1 0")
    doc.key(widget.quick_diary, Qt.Key.Key_Return)
    before = ws.case
    widget.diary.setFocus()
    widget.diary.setCurrentCell(2, 1)  # 30 min
    doc.type_focused(typed)
    doc.key_focused(Qt.Key.Key_Return)
    assert ws.case is before
    message = widget.message.text()
    assert "diary 30 min (row 3)" in message and "0–10" in message and "not saved" in message
    assert widget.diary.item(2, 1).text() == "0"  # the stored value again
    assert widget.diary.currentRow() == 2  # the cursor stays: retype
    doc.type_focused("4")
    doc.key_focused(Qt.Key.Key_Return)
    assert _nrs(ws, pid)[30] == 4
    # the same on the quick-entry line: the message names the value and its time
    before = ws.case
    doc.type(widget.quick_diary, "8: 1 1 12")
    doc.key(widget.quick_diary, Qt.Key.Key_Return)
    assert ws.case is before
    assert "value 3 (30 min): NRS must be a whole number 0–10" in widget.message.text()
    assert widget.quick_diary.text() == "8: 1 1 12"  # kept to be corrected


def test_the_baseline_is_never_made_up(panel: Any) -> None:
    viewer, widget, ws = panel
    doc = Physician(viewer)
    pid = _record_snrb(doc, widget, ws)
    widget.diary.setFocus()
    widget.diary.setCurrentCell(0, 1)
    doc.type_focused("3")
    doc.key_focused(Qt.Key.Key_Return)
    assert _proc(ws, pid).diary is None
    assert "enter the baseline NRS first" in widget.message.text()
    doc.type(widget.quick_diary, "1 1 0")  # values only, no baseline
    doc.key(widget.quick_diary, Qt.Key.Key_Return)
    assert _proc(ws, pid).diary is None
    assert "no baseline NRS" in widget.message.text()


# --- ODI and PGIC --------------------------------------------------------------------
def test_odi_and_pgic_entered_and_scored_by_the_core(panel: Any) -> None:
    viewer, widget, ws = panel
    doc = Physician(viewer)
    _open_tab(doc, widget, "Outcome measures")
    _replace(doc, widget.odi_date, "2026-03-30", "ODI date")
    start = doc.actions
    doc.type(widget.odi_entry, "3 2 2 - 3 2 3 2 2 1", "ODI answers")
    doc.key(widget.odi_entry, Qt.Key.Key_Return)
    assert doc.actions - start <= 3
    _replace(doc, widget.odi_date, "2026-05-26", "ODI date")
    doc.type(widget.odi_entry, "1111111111", "ODI answers")
    doc.key(widget.odi_entry, Qt.Key.Key_Return)
    assert [e.items for e in ws.case.odi] == [
        (3, 2, 2, None, 3, 2, 3, 2, 2, 1),
        (1,) * 10,
    ]
    course = odi_course(ws.case.odi)
    table = widget.odi_table
    assert table.rowCount() == 2
    for row, entry in enumerate(course):
        assert table.item(row, 0).text() == entry.recorded_on.isoformat()
        # one ODI number format everywhere (v1.1: one decimal, 20/45 = 44.4 %; was "44 %")
        percent = odi_number(entry.score.percent)
        assert table.item(row, 2).text() == f"{percent} % ({entry.score.band})"
    change = course[1].change_from_first
    assert change is not None and change.meaningful
    assert "≥ 10 points" in change.text
    shown = widget.odi_changes.text()
    assert f"<b>2026-05-26: {html.escape(change.text)}</b>" in shown  # bold: meaningful

    start = doc.actions
    doc.click(widget.pgic_buttons[2], "PGIC 2")
    doc.click(widget.pgic_record_button, "Record PGIC")
    assert doc.actions - start <= 2
    (pgic,) = ws.case.pgic
    assert pgic.score == 2 and pgic.recorded_on == dt.date.today()
    assert widget.pgic_table.item(0, 2).text() == pgic_label(2) == "much improved"

    # edit an ODI in place (F2, type, Enter): saved; a wrong answer is refused
    table.setFocus()
    table.setCurrentCell(0, 1)
    doc.key_focused(Qt.Key.Key_F2, "F2")
    _select_in_editor(doc)
    doc.type_focused("3 2 2 9 3 2 3 2 2 1")
    doc.key_focused(Qt.Key.Key_Return)
    assert ws.case.odi[0].items[3] is None
    assert "ODI item 4 must be 0–5 or empty; got 9" in widget.message.text()
    table.setCurrentCell(0, 1)
    doc.key_focused(Qt.Key.Key_F2, "F2")
    _select_in_editor(doc)
    doc.type_focused("3 2 2 4 3 2 3 2 2 1")
    doc.key_focused(Qt.Key.Key_Return)
    assert ws.case.odi[0].items == (3, 2, 2, 4, 3, 2, 3, 2, 2, 1)

    # delete, undo
    before = ws.case
    table.setCurrentCell(1, 0)
    doc.click(widget.odi_delete_button, "Delete ODI")
    assert len(ws.case.odi) == 1
    doc.click(widget.undo_bar.undo_button, "Undo")
    assert ws.case == before
    widget.pgic_table.setCurrentCell(0, 0)
    doc.click(widget.pgic_delete_button, "Delete PGIC")
    assert ws.case.pgic == ()


def _select_in_editor(doc: Physician) -> None:
    """Ctrl-A in the cell editor that has the focus."""
    from qtpy.QtWidgets import QApplication, QLineEdit

    editor = QApplication.focusWidget()
    assert isinstance(editor, QLineEdit)
    doc.key(editor, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier, "select the answers")


# --- screenshot ------------------------------------------------------------------------
def test_screenshot_of_the_panel(demo: Any) -> None:
    """The Block and Diary tabs of the dock side by side, with a block selected; saved as
    $BLOCKPLAN_SAVE_SCREENSHOT_DIR/outcomes-panel.png when the variable is set."""
    from qtpy.QtGui import QPainter, QPixmap

    _viewer, widget, _ws = demo
    widget.window().resize(1280, 1000)  # a dock of a usual height
    dock = widget.parentWidget()
    while dock is not None and not dock.inherits("QDockWidget"):
        dock = dock.parentWidget()
    assert dock is not None
    widget.select_block("b1")
    shots = []
    for name in ("Block", "Diary"):
        widget.tabs.setCurrentIndex(_tab(widget, name))
        settle()
        shots.append(dock.grab())
    width = sum(s.width() for s in shots) + 8
    height = max(s.height() for s in shots)
    image = QPixmap(width, height)
    image.fill(Qt.GlobalColor.white)
    painter = QPainter(image)
    painter.drawPixmap(0, 0, shots[0])
    painter.drawPixmap(shots[0].width() + 8, 0, shots[1])
    painter.end()
    assert min(s.width() for s in shots) > 200 and height > 300
    folder = os.environ.get("BLOCKPLAN_SAVE_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        assert image.save(str(Path(folder) / "outcomes-panel.png"))
