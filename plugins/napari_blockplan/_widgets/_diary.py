"""The pain diary of one block: a grid of the profile's times, typed row by row, saved per cell.

Adapters only: the rows are the block's diary points as the core defines them
(`blockplan.outcomes.relief_curve`: the profile's schedule plus any recorded time), the
computed relief comes from the same function, typed values are read by
`blockplan.case.entry` (ranges from the case model), and the verdict and chart come from
the ledger (`blockplan.outcomes`).

Every committed cell is saved at once through `Workspace.apply` (undoable), to the block
the grid was showing when the cell was typed, so a value is never lost when another block
is selected or the case changes. A value the model refuses is not saved; the cell shows
the stored value again and the message names the row and the expected range.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from qtpy.QtCore import QModelIndex, Qt
from qtpy.QtGui import QKeyEvent
from qtpy.QtWidgets import (
    QAbstractItemDelegate,
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from blockplan.case import Case, PainDiary, Procedure
from blockplan.case.entry import (
    diary_with_point,
    nrs_from_text,
    patient_relief_from_text,
    quick_diary_from_text,
)
from blockplan.case.limits import NRS_LIMITS
from napari_blockplan._qt import present
from napari_blockplan._widgets._controls import ChoiceButtons, SelectingLineEdit
from napari_blockplan._widgets._panel import (
    SaveEdit,
    keeping_typed,
    refuse_typed,
    typed_cells_of,
)

__all__ = ["DIARY_COLUMNS", "DiaryPanel", "DiaryTable"]

DIARY_COLUMNS = ("Minutes", f"NRS {NRS_LIMITS[0]}–{NRS_LIMITS[1]}", "Patient relief %", "Relief %")
"""Minutes after the block, the NRS typed, the patient's own relief (typed), the relief
the core computes from the NRS (read only)."""

NRS_COL, PATIENT_COL, RELIEF_COL = 1, 2, 3


class DiaryTable(QTableWidget):
    """A grid typed row by row: Enter and Tab move down to the next time point.

    Typing in a cell starts editing it; Shift-Tab moves up.
    """

    def __init__(self) -> None:
        super().__init__(0, len(DIARY_COLUMNS))
        self.setHorizontalHeaderLabels(DIARY_COLUMNS)
        present(self.verticalHeader()).setVisible(False)
        self.setEditTriggers(
            QAbstractItemView.EditTrigger.AnyKeyPressed
            | QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self._hold = False

    def moveCursor(
        self, action: QAbstractItemView.CursorAction, modifiers: Qt.KeyboardModifier
    ) -> QModelIndex:
        current = self.currentIndex()
        step = {
            QAbstractItemView.CursorAction.MoveNext: 1,
            QAbstractItemView.CursorAction.MovePrevious: -1,
        }.get(action)
        if step is None or not current.isValid():
            return super().moveCursor(action, modifiers)
        row = min(max(current.row() + step, 0), self.rowCount() - 1)
        return present(self.model()).index(row, current.column())

    def hold(self) -> None:
        """Stay on the current cell when its editor closes (a refused value is retyped)."""
        self._hold = True

    def closeEditor(self, editor: QWidget | None, hint: QAbstractItemDelegate.EndEditHint) -> None:
        editing = self.state() == QAbstractItemView.State.EditingState
        hold, self._hold = self._hold, False
        if hold and hint == QAbstractItemDelegate.EndEditHint.EditNextItem:
            hint = QAbstractItemDelegate.EndEditHint.NoHint
        super().closeEditor(editor, hint)
        if editing and not hold and hint == QAbstractItemDelegate.EndEditHint.SubmitModelCache:
            self._next_row()  # Enter committed the cell

    def keyPressEvent(self, event: QKeyEvent | None) -> None:
        if event is not None and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            # while editing, the editor's Enter commits (closeEditor moves on); otherwise
            # Enter moves to the next time point
            if self.state() != QAbstractItemView.State.EditingState:
                self._next_row()
            event.accept()
            return
        super().keyPressEvent(event)

    def _next_row(self) -> None:
        row, col = self.currentRow(), self.currentColumn()
        if 0 <= row < self.rowCount() - 1:
            self.setCurrentCell(row + 1, col)

    def commit_editing(self) -> None:
        """Commit a cell being typed (its value is saved before anything else changes)."""
        if self.state() != QAbstractItemView.State.EditingState:
            return
        focus = QApplication.focusWidget()
        if focus is not None and self.isAncestorOf(focus):
            self.setFocus()  # the editor loses focus: the delegate commits and closes it


class DiaryPanel(QWidget):
    """Baseline, flags, the grid, the quick-entry line, the verdict and the chart.

    ``apply(case, action, summary)`` saves a changed case (False when refused, the
    message said why); ``on_error`` receives messages
    for the physician; ``chart`` is the canvas the panel shows under the verdict.
    """

    def __init__(
        self,
        apply: SaveEdit,
        on_error: Callable[[str], None],
        chart: QWidget,
    ) -> None:
        super().__init__()
        self._apply = apply
        self._on_error = on_error
        self._case = Case()
        self._pid: str | None = None
        self._filling = False
        self._refused = False  # the last cell committed was refused
        self._schedule: tuple[int, ...] = ()

        self.block_label = QLabel("no block selected")
        self.block_label.setWordWrap(True)
        self.baseline = SelectingLineEdit()
        self.baseline.setPlaceholderText("not entered")
        self.baseline.setMaximumWidth(90)
        self.baseline.setToolTip("pain before the block, NRS 0–10; never assumed")
        self.baseline.editingFinished.connect(self._baseline_committed)
        self.baseline.returnPressed.connect(self._to_first_cell)
        self.baseline_provoked = QCheckBox("provoked")
        self.baseline_provoked.clicked.connect(self._flags_changed)
        self.movements: ChoiceButtons[bool] = ChoiceButtons(
            [(True, "yes"), (False, "no")], columns=2
        )
        self.movements.changed.connect(self._flags_changed)
        self.closed_as_final = QCheckBox("diary closed as final (no more points will come)")
        self.closed_as_final.setToolTip(
            "missing points then stay missing: the block is no longer pending on them"
        )
        self.closed_as_final.clicked.connect(self._flags_changed)
        self.quick_diary = QLineEdit()
        self.quick_diary.setPlaceholderText(
            "8: 1 1 0 1 3 6 7 8 8 8 8   (baseline: one NRS per time)"
        )
        self.quick_diary.returnPressed.connect(self._quick_return)
        self.quick_times = QLabel("")
        self.quick_times.setWordWrap(True)
        self.quick_times.setStyleSheet("color: gray")
        self.grid = DiaryTable()
        self.grid.setMinimumHeight(200)
        self.grid.itemChanged.connect(self._cell_committed)
        self.verdict = QLabel("")
        self.verdict.setWordWrap(True)
        self.verdict.setTextFormat(Qt.TextFormat.PlainText)  # reasons are shown as written

        baseline = QHBoxLayout()
        baseline.addWidget(self.baseline)
        baseline.addWidget(self.baseline_provoked)
        baseline.addStretch(1)
        form = QFormLayout()
        form.addRow(self.block_label)
        form.addRow("Baseline NRS:", baseline)
        form.addRow("Quick entry:", self.quick_diary)
        form.addRow(self.quick_times)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.grid)
        movements = QFormLayout()
        movements.addRow("Previously painful movements possible:", self.movements)
        layout.addLayout(movements)
        layout.addWidget(self.closed_as_final)
        layout.addWidget(self.verdict)
        layout.addWidget(chart)

    # ------------------------------------------------------------------ show ----
    @property
    def procedure_id(self) -> str | None:
        """The block whose diary is shown (and which typed cells are saved to)."""
        return self._pid

    def show_block(self, case: Case, proc: Procedure | None, title: str) -> None:
        """Show the diary of ``proc`` (None: no block) under the case's profile."""
        from blockplan.outcomes import load_profile, relief_curve

        if proc is None or proc.id != self._pid:
            self.grid.commit_editing()
            typed = typed_cells_of(self)
            if typed is not None:  # a value refused for the block shown before
                typed.drop(self.grid)
                typed.drop(self.baseline)
            # a line typed for another block is never entered into this one (the panel
            # asked about it before another block or no block is shown)
            self.quick_diary.clear()
        self._case = case
        self._pid = None if proc is None else proc.id
        self._schedule = tuple(load_profile(case.profile_name).diary_times_min)
        diary = None if proc is None else proc.diary
        points = relief_curve(diary, self._schedule) if diary is not None else ()
        rows: list[tuple[int, str, str, str]] = [
            (
                p.minutes,
                _text(p.nrs),
                _text(p.patient_relief_pct),
                "" if p.relief_pct is None else f"{p.relief_pct:.0f}",
            )
            for p in points
        ] or [(m, "", "", "") for m in self._schedule]
        self._filling = True
        try:
            self.block_label.setText(title)
            # nothing is typed for no block: a baseline typed there stayed shown, unsaved
            for control in (
                self.grid,
                self.baseline,
                self.baseline_provoked,
                self.quick_diary,
                self.movements,
                self.closed_as_final,
            ):
                control.setEnabled(proc is not None)
            self._fill_rows(rows)
            self.baseline.setText("" if diary is None else str(diary.baseline_nrs))
            self.baseline_provoked.setChecked(diary is not None and diary.baseline_provoked)
            self.closed_as_final.setChecked(diary is not None and diary.closed_as_final)
            self.movements.set_value(None if diary is None else diary.movements_possible)
            self.quick_times.setText(
                "times (min): " + " ".join(str(m) for m in self._schedule) + "; '-' missing"
            )
        finally:
            self._filling = False

    def _fill_rows(self, rows: list[tuple[int, str, str, str]]) -> None:
        with keeping_typed(self.grid):  # a cell being typed keeps its text
            self._fill_rows_now(rows)

    def _fill_rows_now(self, rows: list[tuple[int, str, str, str]]) -> None:
        if self.grid.rowCount() != len(rows):
            self.grid.setRowCount(len(rows))
        for r, values in enumerate(rows):
            for c, value in enumerate(values):
                text = str(value)
                item = self.grid.item(r, c)
                if item is None:
                    item = QTableWidgetItem(text)
                    if c not in (NRS_COL, PATIENT_COL):
                        item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                    self.grid.setItem(r, c, item)
                elif item.text() != text:  # an unchanged cell is left alone (an open editor)
                    item.setText(text)

    # ------------------------------------------------------------------ edits ---
    def _procedure(self) -> Procedure | None:
        return next((p for p in self._case.procedures if p.id == self._pid), None)

    def _save(
        self,
        proc: Procedure,
        diary: PainDiary | None,
        action: str,
        summary: str,
        *,
        typed: QTableWidgetItem | QLineEdit | None = None,
        show_saved: Callable[[], None] | None = None,
    ) -> bool:
        """Save the diary (a value ``typed`` the store refused is held, ``show_saved``
        shows what is stored)."""
        # one sitting, one diary: the blocks of the session that shared it get it too
        case = self._case.with_session_diary(proc.id, diary)
        return self._apply(case, action, summary, typed=typed, show_saved=show_saved)

    def _cell_committed(self, item: QTableWidgetItem) -> None:
        """A typed cell: read it, save it to the shown block, or refuse it in place."""
        if self._filling or item.column() not in (NRS_COL, PATIENT_COL):
            return
        row = item.row()
        minutes = int(present(self.grid.item(row, 0)).text())
        where = f"diary {minutes} min (row {row + 1})"
        proc = self._procedure()
        stored = self._stored(proc, minutes)
        try:
            if proc is None:
                raise ValueError("record or select a block first")
            if proc.diary is None:
                raise ValueError(
                    "enter the baseline NRS first (pain before the block; never assumed)"
                )
            if item.column() == NRS_COL:
                nrs, relief = nrs_from_text(item.text()), stored[1]
            else:
                nrs, relief = stored[0], patient_relief_from_text(item.text())
        except ValueError as err:
            # held until corrected or dropped (not left with the case)
            message = f"{where}: {err}; not saved"
            refuse_typed(item, message, self._on_error, lambda: self._revert(item, stored))
            return
        diary = diary_with_point(proc.diary, minutes, nrs, relief)
        if diary != proc.diary:
            self._save(
                proc,
                diary,
                f"diary {minutes} min",
                f"{where} entered",
                typed=item,
                show_saved=lambda: self._revert(item, stored),
            )

    @staticmethod
    def _stored(proc: Procedure | None, minutes: int) -> tuple[int | None, float | None]:
        entries = proc.diary.entries if proc is not None and proc.diary is not None else ()
        entry = next((e for e in entries if e.minutes == minutes), None)
        return (None, None) if entry is None else (entry.nrs, entry.patient_relief_pct)

    def _revert(self, item: QTableWidgetItem, stored: tuple[int | None, float | None]) -> None:
        self._refused = True
        self._filling = True
        try:
            item.setText(_text(stored[0] if item.column() == NRS_COL else stored[1]))
        finally:
            self._filling = False
        self.grid.setCurrentCell(item.row(), item.column())
        self.grid.hold()

    def _baseline_committed(self) -> None:
        """The baseline typed: start the diary, change it, or (empty) remove an empty one."""
        proc = self._procedure()
        if self._filling or proc is None:
            return
        diary = proc.diary
        try:
            value = nrs_from_text(self.baseline.text())
            if value is None and diary is not None and diary.entries:
                raise ValueError(
                    "the diary has points, which need their baseline; clear the points to "
                    "remove the diary"
                )
        except ValueError as err:
            # held until corrected or dropped (not left with the case)
            saved = "" if diary is None else str(diary.baseline_nrs)
            message = f"baseline NRS: {err}; not saved"
            refuse_typed(
                self.baseline, message, self._on_error, lambda: self.baseline.setText(saved)
            )
            return
        if value is None:
            new = None
        elif diary is None:
            new = PainDiary(baseline_nrs=value)
        else:
            new = PainDiary.model_validate({**diary.model_dump(), "baseline_nrs": value})
        if new != diary:
            saved = "" if diary is None else str(diary.baseline_nrs)
            self._save(
                proc,
                new,
                "diary baseline",
                "baseline NRS entered",
                typed=self.baseline,
                show_saved=lambda: self.baseline.setText(saved),
            )

    def _to_first_cell(self) -> None:
        if self._procedure() is not None and self.grid.rowCount():
            self.grid.setFocus()
            self.grid.setCurrentCell(0, NRS_COL)

    def _flags_changed(self) -> None:
        """Baseline provoked, movements possible, closed as final: saved with the diary."""
        proc = self._procedure()
        if self._filling or proc is None:
            return
        if proc.diary is None:
            self.show_block(self._case, proc, self.block_label.text())
            self._on_error("enter the baseline NRS first (pain before the block; never assumed)")
            return
        diary = PainDiary.model_validate(
            {
                **proc.diary.model_dump(),
                "baseline_provoked": self.baseline_provoked.isChecked(),
                "movements_possible": self.movements.value(),
                "closed_as_final": self.closed_as_final.isChecked(),
            }
        )
        if diary != proc.diary:
            self._save(
                proc, diary, "diary flags", "baseline provoked / movements / closed recorded"
            )

    # ------------------------------------------------------------------ leaving -
    def typed_not_entered(self) -> str:
        """The Quick entry line typed for the shown block and not entered ("" when none)."""
        return self.quick_diary.text().strip() if self._pid is not None else ""

    def commit_cell(self) -> bool:
        """Commit a cell being typed, as Enter would; False when its value was refused
        (the message says why and the cell shows the stored value)."""
        self._refused = False
        self.grid.commit_editing()
        return not self._refused

    def discard_typed(self) -> None:
        """Forget the Quick entry line typed and not entered."""
        self.quick_diary.clear()

    def _quick_return(self) -> None:
        """Enter on the Quick entry line; on an empty line (Enter pressed twice) nothing."""
        if self.quick_diary.text().strip():
            self.enter_quick()

    def enter_quick(self) -> bool:
        """Enter the Quick entry line (a whole diary: baseline, colon, one NRS per scheduled
        time) into the shown block; False when refused (the message says why, the line
        stays to be corrected)."""
        proc = self._procedure()
        if proc is None:
            self._on_error("quick entry: record or select a block first")
            return False
        self.grid.commit_editing()
        proc = self._procedure() or proc
        try:
            diary = quick_diary_from_text(self.quick_diary.text(), self._schedule, proc.diary)
        except ValueError as err:
            self._on_error(f"quick entry: {err}; nothing saved")
            return False
        if diary != proc.diary and not self._save(
            proc, diary, "quick diary", "diary entered on one line"
        ):
            return False
        self.quick_diary.clear()
        return True


def _text(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)
