"""The Diary tab and the block list in a physician's trial, driven with real Qt events (Xvfb).

A diary typed on the Quick entry line and never entered was lost with the case (Close,
another case, napari's window closed) or carried over to the next block selected; Enter
on the empty line raised an error; the block list cut its rows before the verdict.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from qtpy.QtCore import Qt
from qtpy.QtGui import QCloseEvent
from qtpy.QtWidgets import QApplication

from blockplan.case import Agent, BlockType
from blockplan.demo import build_demo_case
from napari_blockplan._widgets.outcomes import TABS
from tests.plugin._gui import Physician, activate, settle
from tests.plugin.test_physician_trial import _answer, _click_block, _outcomes_on

pytestmark = pytest.mark.gui

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"
TYPED = "6: 1 1 1 1 2 3 5 6 6 6 6"  # the physician's diary (comparative: 11 times)
TIMES = (0, 15, 30, 60, 120, 180, 240, 300, 360, 480, 1440)
STAY, SAVE, DISCARD = "Stay on block #5", "Save the diary", "Discard it"


@pytest.fixture
def pending(make_napari_viewer: Any, tmp_path: Path) -> Any:
    """The demo case and a fifth block (MBB, lidocaine) whose diary is pending, on screen:
    ``(viewer, widget, ws, procedure id)``."""
    viewer, widget, ws = _outcomes_on(make_napari_viewer, tmp_path, build_demo_case(SAMPLE))
    target = next(t for t in ws.case.targets if t.block_type is BlockType.MEDIAL_BRANCH)
    proc = widget.record_procedure(
        performed_at=dt.datetime(2026, 5, 26, 9, 0, tzinfo=dt.UTC),
        block_type=BlockType.MEDIAL_BRANCH,
        target_ids=[target.id],
        agent=Agent.LIDOCAINE,
        volume_ml=0.5,
    )
    widget.select_block(None)
    settle()
    return viewer, widget, ws, proc.id


def _diary_typed(doc: Physician, widget: Any, row: int = 4, text: str = TYPED) -> str:
    """Select block ``row + 1``, open the Diary tab and type ``text`` on the Quick entry line
    (Enter not pressed)."""
    pid = _click_block(doc, widget, row)
    bar = widget.tabs.tabBar()
    doc.click(bar, "the Diary tab", bar.tabRect(TABS.index("Diary")).center())
    doc.click(widget.quick_diary, "Quick entry")
    doc.type(widget.quick_diary, text, "a diary")
    return pid


def _nrs(ws: Any, pid: str) -> tuple[int | None, dict[int, int | None]]:
    proc = next(p for p in ws.case.procedures if p.id == pid)
    if proc.diary is None:
        return None, {}
    return proc.diary.baseline_nrs, {e.minutes: e.nrs for e in proc.diary.entries}


def _stored_nrs(ws: Any, case_id: str, pid: str) -> tuple[int | None, dict[int, int | None]]:
    stored, _version = ws.store.load(case_id)
    proc = next(p for p in stored.procedures if p.id == pid)
    if proc.diary is None:
        return None, {}
    return proc.diary.baseline_nrs, {e.minutes: e.nrs for e in proc.diary.entries}


ENTERED = (6, dict(zip(TIMES, (1, 1, 1, 1, 2, 3, 5, 6, 6, 6, 6), strict=True)))
QUESTION = (
    f"Block #5's diary typed on the Quick entry line is not saved (Enter was not pressed): "
    f"“{TYPED}”."
)


def test_a_quick_entry_not_entered_is_asked_about_when_the_case_is_closed(pending: Any) -> None:
    """The physician's diary typed, Enter not pressed, then Case ▸ Close: it was lost
    without a word. Now Stay keeps the case open with the text; Save the diary enters it
    as Enter would (stored before the case closes)."""
    viewer, widget, ws, pid = pending
    _dock, cases = viewer.window.add_plugin_dock_widget("blockplan", "Cases")
    doc = Physician(viewer)
    activate(widget)
    assert _diary_typed(doc, widget) == pid
    case_id = ws.case.case_id

    seen: list[str] = []
    _answer(STAY, seen)
    activate(cases)
    doc.click(cases.close_button, "Close")
    assert seen == [QUESTION]
    assert ws.is_open and widget.quick_diary.text() == TYPED
    assert widget.selected_procedure_id() == pid and _nrs(ws, pid) == (None, {})

    _answer(SAVE, seen)
    doc.click(cases.close_button, "Close")
    assert len(seen) == 2 and not ws.is_open
    assert _stored_nrs(ws, case_id, pid) == ENTERED


def test_saving_a_refused_quick_entry_says_why_and_stays(pending: Any) -> None:
    """Save on a line the core refuses (NRS 12): the message names the value, the case
    stays open with the text to correct; Discard then closes it, the diary unchanged."""
    viewer, widget, ws, pid = pending
    _dock, cases = viewer.window.add_plugin_dock_widget("blockplan", "Cases")
    doc = Physician(viewer)
    activate(widget)
    _diary_typed(doc, widget, text="6: 1 1 12")
    case_id = ws.case.case_id

    seen: list[str] = []
    _answer(SAVE, seen)
    activate(cases)
    doc.click(cases.close_button, "Close")
    assert len(seen) == 1 and ws.is_open
    assert "value 3 (30 min): NRS must be a whole number 0–10" in widget.message.text()
    assert widget.quick_diary.text() == "6: 1 1 12" and widget.selected_procedure_id() == pid

    _answer(DISCARD, seen)
    doc.click(cases.close_button, "Close")
    assert len(seen) == 2 and not ws.is_open
    assert _stored_nrs(ws, case_id, pid) == (None, {})


def test_starting_another_case_asks_about_a_quick_entry_not_entered(pending: Any) -> None:
    """New case (as Open) in the Case panel leaves the case too: asked first; Save stores
    the diary in the case left, then the new case starts."""
    viewer, widget, ws, pid = pending
    viewer.open_sample("blockplan", "lumbar_postop")  # New case starts one from its images
    _dock, cases = viewer.window.add_plugin_dock_widget("blockplan", "Cases")
    doc = Physician(viewer)
    activate(widget)
    _diary_typed(doc, widget)
    case = ws.case
    seen: list[str] = []
    _answer(STAY, seen)
    activate(cases)
    doc.click(cases.new_button, "New case")
    assert seen == [QUESTION] and widget.quick_diary.text() == TYPED
    assert ws.case is case and widget.selected_procedure_id() == pid

    _answer(SAVE, seen)
    doc.click(cases.new_button, "New case")
    assert len(seen) == 2 and ws.case.case_id != case.case_id
    assert _stored_nrs(ws, case.case_id, pid) == ENTERED


def test_closing_napari_asks_about_a_quick_entry_not_entered(pending: Any) -> None:
    """napari's window closed (its title bar's button) with the diary typed: asked first."""
    viewer, widget, ws, pid = pending
    doc = Physician(viewer)
    _diary_typed(doc, widget)
    main = widget.window()

    seen: list[str] = []
    _answer(STAY, seen)
    closing = QCloseEvent()
    QApplication.sendEvent(main, closing)
    assert seen == [QUESTION] and not closing.isAccepted()
    assert main.isVisible() and widget.quick_diary.text() == TYPED

    _answer(SAVE, seen)
    closing = QCloseEvent()
    QApplication.sendEvent(main, closing)
    assert closing.isAccepted() and len(seen) == 2
    assert _stored_nrs(ws, ws.case.case_id, pid) == ENTERED


def test_a_quick_entry_not_entered_never_moves_to_another_block(pending: Any) -> None:
    """The diary typed for block #5, then a click on block #1: the text stayed on the line
    and Enter would have put block #5's diary into block #1. Now the physician is asked;
    Save enters it into block #5 (the block it was typed for), Discard empties the line."""
    viewer, widget, ws, pid = pending
    doc = Physician(viewer)
    _diary_typed(doc, widget)
    first = next(p for p in ws.case.procedures if p.id != pid)
    first_diary = _nrs(ws, first.id)
    lst = widget.block_list
    row_1 = lst.visualItemRect(lst.item(0)).center()

    seen: list[str] = []
    _answer(STAY, seen)
    doc.click(lst.viewport(), "block #1", row_1)
    assert seen == [QUESTION]
    assert widget.selected_procedure_id() == pid and widget.quick_diary.text() == TYPED

    _answer(SAVE, seen)
    doc.click(lst.viewport(), "block #1", row_1)
    assert len(seen) == 2 and widget.selected_procedure_id() == first.id
    assert _nrs(ws, pid) == ENTERED and _nrs(ws, first.id) == first_diary
    assert widget.quick_diary.text() == ""

    # typed again for block #1, discarded on the way to block #5: nothing saved anywhere
    doc.click(widget.quick_diary, "Quick entry")
    doc.type(widget.quick_diary, "9: 9 9", "a slip")
    _answer("Discard it", seen)
    doc.click(lst.viewport(), "block #5", lst.visualItemRect(lst.item(4)).center())
    assert len(seen) == 3 and seen[2].startswith("Block #1's diary typed on the Quick entry")
    assert widget.selected_procedure_id() == pid and widget.quick_diary.text() == ""
    assert _nrs(ws, first.id) == first_diary and _nrs(ws, pid) == ENTERED
    assert widget.message.text() == "the diary typed for block #1 was discarded"


def test_recording_a_new_block_asks_about_a_quick_entry_not_entered(pending: Any) -> None:
    """The diary typed for block #5, then Record as new block (the same block, another day):
    the new block is shown and the line was emptied without a word. Now asked first: Stay
    records nothing; Save the diary enters it into block #5, then records the new block."""
    viewer, widget, ws, pid = pending
    doc = Physician(viewer)
    _diary_typed(doc, widget)
    n = len(ws.case.procedures)
    bar = widget.tabs.tabBar()
    doc.click(bar, "the Block tab", bar.tabRect(TABS.index("Block")).center())

    seen: list[str] = []
    _answer(STAY, seen)
    doc.click(widget.record_button, "Record as new block")
    assert seen == [QUESTION] and len(ws.case.procedures) == n
    assert widget.selected_procedure_id() == pid and widget.quick_diary.text() == TYPED

    _answer(SAVE, seen)
    doc.click(widget.record_button, "Record as new block")
    assert len(seen) == 2 and len(ws.case.procedures) == n + 1
    assert _nrs(ws, pid) == ENTERED and widget.selected_procedure_id() != pid


def test_a_diary_cell_being_typed_is_saved_before_napari_closes(pending: Any) -> None:
    """A value typed into the grid (Enter not pressed), then napari's window closed: the
    cell is saved as Enter would save it (no question: every committed cell is saved at
    once, also when another block is selected)."""
    viewer, widget, ws, pid = pending
    doc = Physician(viewer)
    _diary_typed(doc, widget, text="6:")
    doc.key(widget.quick_diary, Qt.Key.Key_Return, what="Enter")
    assert _nrs(ws, pid) == (6, {})
    widget.diary.setFocus()
    widget.diary.setCurrentCell(2, 1)  # 30 min
    doc.type_focused("3", "an NRS")
    assert widget.diary.state() == widget.diary.State.EditingState
    closing = QCloseEvent()
    QApplication.sendEvent(widget.window(), closing)
    assert closing.isAccepted()
    assert _stored_nrs(ws, ws.case.case_id, pid) == (6, {30: 3})


def test_a_diary_cell_refused_when_napari_closes_keeps_the_window_open(pending: Any) -> None:
    """An NRS of 12 being typed when napari's window closes: not saved (as after Enter),
    the message names the row and the range, and the window stays open to retype it."""
    viewer, widget, ws, pid = pending
    doc = Physician(viewer)
    _diary_typed(doc, widget, text="6:")
    doc.key(widget.quick_diary, Qt.Key.Key_Return, what="Enter")
    widget.diary.setFocus()
    widget.diary.setCurrentCell(2, 1)  # 30 min
    doc.type_focused("12", "an NRS out of range")
    closing = QCloseEvent()
    QApplication.sendEvent(widget.window(), closing)
    assert not closing.isAccepted() and widget.window().isVisible()
    assert "diary 30 min (row 3)" in widget.message.text()
    assert "0–10" in widget.message.text() and _nrs(ws, pid) == (6, {})
    assert widget.selected_procedure_id() == pid


def test_enter_on_the_empty_quick_entry_line_does_nothing(pending: Any) -> None:
    """Enter pressed twice after a diary entered: the second Enter (the line empty) showed an
    error notification ("quick entry: no colon …"). Now it does nothing."""
    from napari.utils.notifications import notification_manager

    viewer, widget, ws, pid = pending
    doc = Physician(viewer)
    _diary_typed(doc, widget)
    doc.key(widget.quick_diary, Qt.Key.Key_Return, what="Enter")
    assert _nrs(ws, pid) == ENTERED
    assert widget.message.text() == "diary entered on one line"
    told, case = len(notification_manager.records), ws.case
    doc.key(widget.quick_diary, Qt.Key.Key_Return, what="Enter again")
    doc.type(widget.quick_diary, "   ", "spaces")
    doc.key(widget.quick_diary, Qt.Key.Key_Return, what="Enter on spaces")
    assert [str(n.message) for n in notification_manager.records[told:]] == []
    assert widget.message.text() == "diary entered on one line" and ws.case is case


def _shown(lst: Any, row: int) -> str:
    """The text of a block-list row as seen: elided to the row's width as Qt draws it, and
    cut at the list's visible edge."""
    item = lst.item(row)
    rect = lst.visualItemRect(item)
    margin = lst.style().pixelMetric(lst.style().PixelMetric.PM_FocusFrameHMargin) + 1
    metrics = lst.fontMetrics()
    text = metrics.elidedText(item.text(), lst.textElideMode(), rect.width() - 2 * margin)
    visible = min(rect.right() + 1, lst.viewport().width()) - rect.left() - margin
    while text and metrics.horizontalAdvance(text) > visible:
        text = text[:-1]  # beyond the edge (a horizontal scroll bar's hidden part)
    return text


@pytest.mark.parametrize("width", [None, 300])
def test_the_block_list_shows_each_verdict_whatever_the_width(
    pending: Any, width: int | None
) -> None:
    """At the dock's default width the rows were cut before the verdict ("… + L5 right
    facet j…"), the one word wanted from the list. Now each row shows its block's verdict
    (the default width, and a narrow dock), and its whole line as tooltip."""
    _viewer, widget, _ws, _pid = pending
    if width is not None:
        widget.setFixedWidth(width)
        settle()
    lst = widget.block_list
    blocks = sorted(widget.ledger.blocks, key=lambda b: b.number)
    assert lst.count() == len(blocks) == 5
    shown = [_shown(lst, row) for row in range(lst.count())]
    for row, block in enumerate(blocks):
        assert block.short_verdict in shown[row], shown[row]
    for row, block in enumerate(blocks):
        assert shown[row].startswith(f"Block #{block.number} — {block.short_verdict} · ")
        item = lst.item(row)
        assert item.toolTip() == item.text() == block.list_line
    # a row cut at the list's edge says so ("…"); no scroll bar takes a row's height
    assert not lst.horizontalScrollBar().isVisible()
    if width is not None:
        assert all(text.endswith("…") for text in shown), shown
