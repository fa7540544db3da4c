"""Outcome measures: ODI questionnaires and PGIC answers, entered, listed, edited, deleted.

Adapters only: answers are read by `blockplan.case.entry` (`odi_from_text`,
`date_from_text`) and validated by the case model; every score, band and change —
the ODI %, its band, the change from the first ODI with the 10-point flag (the core's
wording, in bold when it reaches the minimal important change), the PGIC
words — comes from `blockplan.outcomes.scores` (`odi_course`, `pgic_label`).

A new ODI is one typed line (``3 2 1 - 4 2 3 1 2 0``, ``-`` unanswered) and Enter; a PGIC
is one click on its score and one on *Record PGIC*. Listed entries are edited in place
(double-click or F2 on the date or the answers; saved when committed) and deleted with
*Delete*; every change goes through `Workspace.apply` and can be undone.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable

from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from blockplan.case import Case, OdiEntry, PgicEntry
from blockplan.case.entry import answered_on_from_text, odi_from_text
from blockplan.case.limits import field_limits
from blockplan.outcomes.scores import OdiCourseEntry, odi_course, odi_number, pgic_label
from napari_blockplan._qt import present
from napari_blockplan._widgets._controls import ChoiceButtons, SelectingLineEdit, first_error
from napari_blockplan._widgets._panel import SaveEdit, keeping_typed, refuse_typed

__all__ = ["ODI_COLUMNS", "PGIC_COLUMNS", "ScoresPanel"]

ODI_COLUMNS = ("Date", "Answers", "ODI")
PGIC_COLUMNS = ("Date", "PGIC", "Meaning")

_EDIT = QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed


def _odi_text(entry: OdiCourseEntry) -> str:
    score = entry.score
    if score.percent is None:
        return f"not scored: {score.reason}"
    return f"{odi_number(score.percent)} % ({score.band})"


def _answers(entry: OdiEntry) -> str:
    return " ".join("-" if i is None else str(i) for i in entry.items)


def _table(columns: tuple[str, ...]) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(columns)
    present(table.verticalHeader()).setVisible(False)
    table.setEditTriggers(_EDIT)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setMinimumHeight(110)
    present(table.horizontalHeader()).setStretchLastSection(True)
    return table


def _cell(table: QTableWidget, row: int, col: int, text: str, editable: bool) -> None:
    """Set a cell's text, reusing its item (the item being edited stays alive)."""
    item = table.item(row, col)
    if item is None:
        item = QTableWidgetItem(text)
        if not editable:
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
        table.setItem(row, col, item)
    elif item.text() != text:
        item.setText(text)


def _by_date(entries: tuple[OdiEntry, ...] | tuple[PgicEntry, ...]) -> list[int]:
    """Indices of ``entries`` in date order (stable: as `odi_course` sorts them)."""
    return sorted(range(len(entries)), key=lambda i: entries[i].recorded_on)


class ScoresPanel(QWidget):
    """ODI and PGIC of the case. ``apply(case, action, summary)`` saves a change."""

    def __init__(self, apply: SaveEdit, on_error: Callable[[str], None]) -> None:
        super().__init__()
        self._apply = apply
        self._on_error = on_error
        self._case = Case()
        self._filling = False
        self._odi_rows: list[int] = []
        self._pgic_rows: list[int] = []
        layout = QVBoxLayout(self)
        layout.addWidget(self._odi_box())
        layout.addWidget(self._pgic_box())
        layout.addStretch(1)

    def _odi_box(self) -> QGroupBox:
        box = QGroupBox("Oswestry Disability Index")
        self.odi_date = SelectingLineEdit()
        self.odi_date.setMaximumWidth(110)
        self.odi_entry = SelectingLineEdit()
        self.odi_entry.setPlaceholderText("10 answers 0–5, '-' unanswered: 3 2 1 - 4 2 3 1 2 0")
        self.odi_entry.returnPressed.connect(self.record_odi)
        self.odi_record_button = QPushButton("Record ODI")
        self.odi_record_button.clicked.connect(self.record_odi)
        self.odi_table = _table(ODI_COLUMNS)
        self.odi_table.itemChanged.connect(self._odi_edited)
        self.odi_changes = QLabel("")
        self.odi_changes.setWordWrap(True)
        self.odi_changes.setTextFormat(Qt.TextFormat.RichText)
        self.odi_delete_button = QPushButton("Delete selected ODI")
        self.odi_delete_button.clicked.connect(self.delete_odi)
        entry = QHBoxLayout()
        entry.addWidget(self.odi_entry, 1)
        entry.addWidget(self.odi_record_button)
        form = QFormLayout(box)
        form.addRow("Date:", self.odi_date)
        form.addRow("Answers:", entry)
        form.addRow(self.odi_table)
        form.addRow(self.odi_changes)
        form.addRow(self.odi_delete_button)
        return box

    def _pgic_box(self) -> QGroupBox:
        box = QGroupBox("Patient Global Impression of Change")
        lo, hi = field_limits(PgicEntry, "score")
        scores = range(int(lo or 1), int(hi or 7) + 1)
        self.pgic_buttons: ChoiceButtons[int] = ChoiceButtons(
            [(s, f"{s} {pgic_label(s)}") for s in scores], columns=2
        )
        self.pgic_date = SelectingLineEdit()
        self.pgic_date.setMaximumWidth(110)
        self.pgic_record_button = QPushButton("Record PGIC")
        self.pgic_record_button.clicked.connect(self.record_pgic)
        self.pgic_table = _table(PGIC_COLUMNS)
        self.pgic_table.itemChanged.connect(self._pgic_edited)
        self.pgic_delete_button = QPushButton("Delete selected PGIC")
        self.pgic_delete_button.clicked.connect(self.delete_pgic)
        form = QFormLayout(box)
        form.addRow("Date:", self.pgic_date)
        form.addRow(self.pgic_buttons)
        form.addRow(self.pgic_record_button)
        form.addRow(self.pgic_table)
        form.addRow(self.pgic_delete_button)
        return box

    # ------------------------------------------------------------------ show ----
    def show_case(self, case: Case) -> None:
        """List the case's ODI (scored by the core) and PGIC entries, by date."""
        self._case = case
        self._filling = True
        try:
            today = dt.date.today().isoformat()
            for field in (self.odi_date, self.pgic_date):
                if not field.text():
                    field.setText(today)
            self._fill_odi(case)
            self._fill_pgic(case)
        finally:
            self._filling = False

    def _fill_odi(self, case: Case) -> None:
        with keeping_typed(self.odi_table):  # a cell being typed keeps its text
            self._fill_odi_now(case)

    def _fill_odi_now(self, case: Case) -> None:
        """The ODI list (date, answers, % and band) and the changes from the first ODI."""
        self._odi_rows = _by_date(case.odi)
        course = odi_course(case.odi)
        table = self.odi_table
        table.setRowCount(len(course))
        changes = []
        for row, (index, scored) in enumerate(zip(self._odi_rows, course, strict=True)):
            _cell(table, row, 0, scored.recorded_on.isoformat(), True)
            _cell(table, row, 1, _answers(case.odi[index]), True)
            _cell(table, row, 2, _odi_text(scored), False)
            change = scored.change_from_first
            if change is not None:
                text = html.escape(f"{change.to_date.isoformat()}: {change.text}")
                changes.append(f"<b>{text}</b>" if change.meaningful else text)
        for col in range(len(ODI_COLUMNS) - 1):
            table.resizeColumnToContents(col)
        self.odi_changes.setText(
            "Change from the first ODI:<br>" + "<br>".join(changes) if changes else ""
        )

    def _fill_pgic(self, case: Case) -> None:
        with keeping_typed(self.pgic_table):  # a cell being typed keeps its text
            self._fill_pgic_now(case)

    def _fill_pgic_now(self, case: Case) -> None:
        self._pgic_rows = _by_date(case.pgic)
        table = self.pgic_table
        table.setRowCount(len(self._pgic_rows))
        for row, index in enumerate(self._pgic_rows):
            entry = case.pgic[index]
            _cell(table, row, 0, entry.recorded_on.isoformat(), True)
            _cell(table, row, 1, str(entry.score), True)
            _cell(table, row, 2, pgic_label(entry.score), False)
        table.resizeColumnsToContents()

    # ------------------------------------------------------------------ ODI -----
    def record_odi(self) -> bool:
        """Record the ODI typed on the answers line, on the date shown; False when refused
        (the message says why and the line keeps what was typed)."""
        try:
            answered_on = answered_on_from_text(self.odi_date.text())
            entry = odi_from_text(self.odi_entry.text(), answered_on)
        except ValueError as err:
            self._on_error(f"ODI: {err}; not recorded")
            return False
        case = self._case.evolve(odi=(*self._case.odi, entry))
        if not self._apply(case, "record ODI", "ODI recorded"):
            return False  # not saved (said): the line keeps what was typed
        self.odi_entry.clear()
        return True

    def _odi_edited(self, item: QTableWidgetItem) -> None:
        if self._filling:
            return
        index = self._odi_rows[item.row()]
        old = self._case.odi[index]
        date_text = present(self.odi_table.item(item.row(), 0)).text()
        answers = present(self.odi_table.item(item.row(), 1)).text()
        try:
            entry = odi_from_text(answers, answered_on_from_text(date_text))
        except ValueError as err:
            self._refuse(item, f"ODI of {old.recorded_on.isoformat()}: {err}")
            return
        if entry != old:
            odi = list(self._case.odi)
            odi[index] = entry
            self._apply(
                self._case.evolve(odi=tuple(odi)),
                "edit ODI",
                "ODI edited",
                typed=item,
                show_saved=lambda: self.show_case(self._case),
            )

    def delete_odi(self) -> None:
        """Delete the selected ODI (undoable)."""
        row = self.odi_table.currentRow()
        if not 0 <= row < len(self._odi_rows):
            self._on_error("select the ODI to delete in the list")
            return
        index = self._odi_rows[row]
        odi = tuple(e for i, e in enumerate(self._case.odi) if i != index)
        self._apply(self._case.evolve(odi=odi), "delete ODI", "ODI deleted")

    # ------------------------------------------------------------------ PGIC ----
    def record_pgic(self) -> bool:
        """Record the PGIC chosen, on the date shown; False when refused (the message says
        why and the choice stays)."""
        score = self.pgic_buttons.value()
        try:
            if score is None:
                raise ValueError("choose the patient's answer (1 very much improved … 7)")
            entry = PgicEntry(recorded_on=answered_on_from_text(self.pgic_date.text()), score=score)
        except ValueError as err:
            self._on_error(f"PGIC: {first_error(err)}; not recorded")
            return False
        case = self._case.evolve(pgic=(*self._case.pgic, entry))
        if not self._apply(case, "record PGIC", "PGIC recorded"):
            return False  # not saved (said): the choice stays
        self.pgic_buttons.set_value(None)
        return True

    def _pgic_edited(self, item: QTableWidgetItem) -> None:
        if self._filling:
            return
        index = self._pgic_rows[item.row()]
        old = self._case.pgic[index]
        try:
            day = answered_on_from_text(present(self.pgic_table.item(item.row(), 0)).text())
            score_text = present(self.pgic_table.item(item.row(), 1)).text().strip()
            lo, hi = field_limits(PgicEntry, "score")
            if not score_text.isdigit():
                raise ValueError(f"expected a whole number {lo:g}–{hi:g}; got {score_text!r}")
            entry = PgicEntry(recorded_on=day, score=int(score_text))
        except ValueError as err:
            when = old.recorded_on.isoformat()
            self._refuse(item, f"PGIC of {when}: {first_error(err)}")
            return
        if entry != old:
            pgic = list(self._case.pgic)
            pgic[index] = entry
            self._apply(
                self._case.evolve(pgic=tuple(pgic)),
                "edit PGIC",
                "PGIC edited",
                typed=item,
                show_saved=lambda: self.show_case(self._case),
            )

    def _refuse(self, item: QTableWidgetItem, why: str) -> None:
        """A cell typed and refused: held, the stored values shown again, why said."""
        refuse_typed(item, f"{why}; not saved", self._on_error, lambda: self.show_case(self._case))

    def delete_pgic(self) -> None:
        """Delete the selected PGIC (undoable)."""
        row = self.pgic_table.currentRow()
        if not 0 <= row < len(self._pgic_rows):
            self._on_error("select the PGIC to delete in the list")
            return
        index = self._pgic_rows[row]
        pgic = tuple(e for i, e in enumerate(self._case.pgic) if i != index)
        self._apply(self._case.evolve(pgic=pgic), "delete PGIC", "PGIC deleted")
