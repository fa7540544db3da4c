"""A target keeps its name after another is deleted; Delete on the targets table (Xvfb).

Found by a physician's trial: deleting T2 renamed T3 "T2" (targets were numbered by their
place in the list), so the report signed yesterday and today's named the same S1 target
differently; and the Delete key did nothing on the Planning panel's targets table. Real
key and mouse events only; what is checked is what the physician reads: the table, the
label drawn beside the target on the canvas, the message, the report PDF and the SR.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QApplication, QLineEdit

from blockplan.archive import read_sr
from blockplan.archive.sr import _groups, _tracking_text
from napari_blockplan._layers import layer_for
from napari_blockplan._workspace import workspace_for
from tests.plugin._gui import (
    Physician,
    activate,
    canvas_widget,
    demo_in_planning,
    quick_archive,
    settle,
)

pytestmark = pytest.mark.gui


def _names_in_table(table: Any) -> list[str]:
    return [table.item(r, 0).text() for r in range(table.rowCount())]


def _names_on_canvas(viewer: Any) -> list[str]:
    """The labels drawn beside the targets on the canvas (the layer's text)."""
    return [str(v) for v in layer_for(viewer, "target names").text.values]


def _click_row(doc: Physician, table: Any, name: str) -> None:
    row = _names_in_table(table).index(name)
    doc.click(table.viewport(), name, table.visualRect(table.model().index(row, 0)).center())


def test_names_stay_after_a_deletion_and_delete_keys_delete_the_selected_target(
    make_napari_viewer: Any, tmp_path: Path
) -> None:
    viewer, planning, case = demo_in_planning(make_napari_viewer, tmp_path)
    ws = workspace_for(viewer)
    doc = Physician(viewer)
    activate(planning)  # keys go where the focus is (Ctrl+Z is the panel's shortcut)
    bar = planning.tabs.tabBar()
    targets_tab = next(i for i in range(bar.count()) if bar.tabText(i) == "Targets")
    doc.click(bar, "the Targets tab", bar.tabRect(targets_tab).center())
    table = planning.table
    before = _names_in_table(table)
    assert [n.split(" · ")[0] for n in before] == ["T1", "T2", "T3", "T4", "T5"]
    assert _names_on_canvas(viewer) == before

    # Delete on the selected row deletes that target, with the button's words
    t2 = before[1]
    _click_row(doc, table, t2)
    doc.key(table, Qt.Key.Key_Delete, what="Delete")
    assert planning.message.text() == f"target {t2} deleted — Ctrl+Z to undo"
    after = [before[0], *before[2:]]
    assert _names_in_table(table) == after  # T3 is still T3
    assert _names_on_canvas(viewer) == after
    assert [t.number for t in ws.case.targets] == [1, 3, 4, 5]

    # Ctrl+Z brings it back under its own name; Backspace deletes it again
    doc.key(table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier, "Ctrl+Z")
    assert _names_in_table(table) == before
    _click_row(doc, table, t2)
    doc.key(table, Qt.Key.Key_Backspace, what="Backspace")
    assert planning.message.text() == f"target {t2} deleted — Ctrl+Z to undo"
    assert _names_in_table(table) == after

    # Delete while a cell is edited edits its text: the target stays
    row = after.index(before[2])
    block = table.visualRect(table.model().index(row, 4)).center()
    doc.double_click(table.viewport(), "the Block cell of T3", block)
    editor = QApplication.focusWidget()
    assert isinstance(editor, QLineEdit)
    typed = editor.text()
    assert len(typed) >= 3  # "MBB", "SNRB", "TFESI"
    doc.key(editor, Qt.Key.Key_End, what="End")
    doc.key(editor, Qt.Key.Key_Backspace, what="Backspace")
    doc.key(editor, Qt.Key.Key_Home, what="Home")
    doc.key(editor, Qt.Key.Key_Delete, what="Delete")
    assert editor.text() == typed[1:-1]  # one character each side went, nothing else
    assert len(ws.case.targets) == 4 and _names_in_table(table) == after
    doc.key(editor, Qt.Key.Key_Escape, what="Escape")  # the edit is abandoned
    assert len(ws.case.targets) == 4 and _names_in_table(table) == after

    # a new target is T6: neither T2's number nor a place in the list
    canvas = canvas_widget(viewer)
    x, y, z = ws.case.targets[0].position.lps
    doc.key(canvas, Qt.Key.Key_T, Qt.KeyboardModifier.ShiftModifier, "Shift-T")
    doc.click_patient((x, y + 8.0, z), "a new target")
    six = _names_in_table(table)[4]
    assert _names_in_table(table)[:4] == after and six.startswith("T6 · ")
    # its placement undone (Ctrl+Z on its row), the next target is T7: 6 was given once
    _click_row(doc, table, six)
    doc.key(table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier, "Ctrl+Z")
    assert _names_in_table(table) == after
    doc.key(canvas, Qt.Key.Key_T, Qt.KeyboardModifier.ShiftModifier, "Shift-T")
    doc.click_patient((x, y + 8.0, z), "the new target again")
    settle()
    shown = _names_in_table(table)
    assert shown[:4] == after and shown[4] == "T7" + six.removeprefix("T6")
    assert _names_on_canvas(viewer) == shown

    # the report PDF and the SR name every target as the table does, and none "T2"
    objects = quick_archive(ws)
    pdf = re.sub(
        r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(io.BytesIO(objects.pdf)).pages)
    )
    tracked = [_tracking_text(g) for g in _groups(objects.sr.ContentSequence)]
    for target, name in zip(ws.case.targets, shown, strict=True):
        assert name in pdf
        assert any(t.startswith(f"target:{target.id} {name}") for t in tracked)
    assert "T2 ·" not in pdf and not any(" T2 · " in t for t in tracked)
    assert [t.number for t in read_sr(objects.sr).targets] == [1, 3, 4, 5, 7]
    assert case.targets[1].id not in {t.id for t in ws.case.targets}
