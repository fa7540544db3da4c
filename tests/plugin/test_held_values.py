"""A value the physician typed or chose is never half-kept when the case is left (Xvfb).

A target's label refused by the core (longer than `MAX_TARGET_LABEL_CHARS`: such a label
made the report fail to build) was said once and the case closed anyway, the label lost
without the case staying open on it, as a refused level or NRS does. A PGIC answer chosen
and not recorded was lost in silence when the case was left, while ODI answers typed and
not recorded were asked about. Both now behave as their neighbours do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from qtpy.QtCore import Qt

from blockplan.planning import MAX_TARGET_LABEL_CHARS
from napari_blockplan._widgets.outcomes import TABS
from tests.plugin._gui import Physician, activate
from tests.plugin.test_leaving_with_typed_edits import (
    STAYS,
    _double_click_row,
    _retype,
    _stored,
    _tab,
    _viewer,
)
from tests.plugin.test_physician_trial import _answer

pytestmark = pytest.mark.gui

TOO_LONG = ("left L5 dermatome " * 12).strip()  # 215 characters
CORRECTED = "left L5 dermatome"


def _reopen_and_retype_t2_label(
    doc: Physician, ws: Any, cases: Any, planning: Any, case_id: str
) -> None:
    """Reopen the case just closed (the Cases panel's offer), select T2 on the Targets tab
    and type `TOO_LONG` over its label (Enter not pressed)."""
    doc.click(cases.reopen_button, "Reopen")
    assert ws.is_open and ws.case.case_id == case_id
    table = planning.table
    _tab(doc, planning.tabs, "Targets")
    doc.click(table.viewport(), "T2", table.visualItemRect(table.item(1, 0)).center())
    doc.click(planning.target_label, "Label")
    _retype(doc, TOO_LONG)


def test_a_label_refused_keeps_the_case_open_on_the_label_until_corrected_or_dropped(
    make_napari_viewer: Any, tmp_path: Path
) -> None:
    """A label of 215 characters typed for T2 and Enter: refused, the message says why.
    Close: the case stays open, the label field comes forward with the text typed and the
    message ends "the case stays open until then"; Escape shows the saved label again and
    Close closes. Refused again and T1 selected: no longer held, Close closes. The long
    label typed and Close clicked at once (no Enter: the click commits it): held the same
    way; corrected and Enter, the case closes with the corrected label saved."""
    assert len(TOO_LONG) > MAX_TARGET_LABEL_CHARS
    viewer, ws, cases, planning = _viewer(make_napari_viewer, tmp_path, "Planning")
    doc = Physician(viewer)
    case_id = ws.case.case_id
    table, field = planning.table, planning.target_label
    _tab(doc, planning.tabs, "Targets")
    doc.click(table.viewport(), "T2", table.visualItemRect(table.item(1, 0)).center())
    tid = planning.selected_target_id()
    saved = ws.case.target(tid).label
    assert tid == ws.case.targets[1].id and field.isEnabled() and field.text() == saved

    doc.click(field, "Label")
    _retype(doc, TOO_LONG)
    doc.key(field, Qt.Key.Key_Return, what="Enter")
    refusal = planning.message.text()
    assert f"{len(TOO_LONG)} characters, at most {MAX_TARGET_LABEL_CHARS}" in refusal
    assert STAYS not in refusal

    doc.click(cases.close_button, "Close")
    assert ws.is_open and ws.case.case_id == case_id
    assert field.text() == TOO_LONG and field.hasFocus()
    assert planning.message.text().startswith(refusal) and STAYS in planning.message.text()
    assert _stored(ws, case_id).target(tid).label == saved

    doc.key(field, Qt.Key.Key_Escape, what="Escape")
    assert field.text() == saved
    doc.click(cases.close_button, "Close")
    assert not ws.is_open

    # reopened; refused again, then T1 selected: the field shows T1's label, so the
    # refusal for T2 is no longer held (it would be put back into T1's label)
    _reopen_and_retype_t2_label(doc, ws, cases, planning, case_id)
    doc.key(field, Qt.Key.Key_Return, what="Enter")
    doc.click(table.viewport(), "T1", table.visualItemRect(table.item(0, 0)).center())
    assert planning.selected_target_id() == ws.case.targets[0].id
    doc.click(cases.close_button, "Close")
    assert not ws.is_open

    # reopened; the long label typed and Close clicked without Enter
    _reopen_and_retype_t2_label(doc, ws, cases, planning, case_id)
    doc.click(cases.close_button, "Close")
    assert ws.is_open and field.text() == TOO_LONG and STAYS in planning.message.text()
    _retype(doc, CORRECTED)
    doc.key(field, Qt.Key.Key_Return, what="Enter")
    doc.click(cases.close_button, "Close")
    assert not ws.is_open
    assert _stored(ws, case_id).target(tid).label == CORRECTED


def test_a_pgic_chosen_and_not_recorded_is_asked_about_on_leaving(
    make_napari_viewer: Any, tmp_path: Path, qtbot: Any
) -> None:
    """PGIC 3 clicked, Record PGIC not clicked, then Close: asked as ODI answers are —
    Stay keeps the case open with 3 chosen; Record the PGIC stores it and closes. Reopened,
    PGIC 5 clicked, Close, Discard it: the case closes and 5 is not stored."""
    viewer, ws, cases, outcomes = _viewer(make_napari_viewer, tmp_path, "Outcomes")
    doc = Physician(viewer)
    case_id = ws.case.case_id
    before = [entry.score for entry in _stored(ws, case_id).pgic]
    _tab(doc, outcomes.tabs, TABS[2])
    choice = outcomes.scores.pgic_buttons
    doc.click(choice.buttons[3], "PGIC 3")
    assert choice.value() == 3
    seen: list[str] = []
    _answer("Stay on the case", seen)
    activate(cases)
    doc.click(cases.close_button, "Close")
    assert len(seen) == 1 and seen[0].startswith("A PGIC answer chosen is not recorded")
    assert "3 minimally improved" in seen[0]
    assert ws.is_open and choice.value() == 3
    assert outcomes.tabs.currentIndex() == TABS.index("Outcome measures")

    _answer("Record the PGIC", seen)
    doc.click(cases.close_button, "Close")
    assert len(seen) == 2 and not ws.is_open
    recorded = [entry.score for entry in _stored(ws, case_id).pgic]
    assert sorted(recorded) == sorted([*before, 3])

    qtbot.waitUntil(lambda: cases.table.rowCount() == 2, timeout=5000)
    _double_click_row(doc, cases, ws.store.load(case_id)[0].title)
    assert ws.is_open and ws.case.case_id == case_id
    activate(outcomes)
    _tab(doc, outcomes.tabs, TABS[2])
    doc.click(choice.buttons[5], "PGIC 5")
    _answer("Discard it", seen)
    activate(cases)
    doc.click(cases.close_button, "Close")
    assert len(seen) == 3 and not ws.is_open
    assert [entry.score for entry in _stored(ws, case_id).pgic] == recorded
    assert choice.value() is None
