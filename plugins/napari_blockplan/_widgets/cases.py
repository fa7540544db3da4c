"""Case panel: the open case and whose it is, the worklist, and the case's life cycle.

An adapter only: every operation is a thin `Workspace` method (open, new, rename, import,
export, close, clinician) and every rule is the core's — the worklist search
(`CaseStore.worklist`), the identity check that refuses another patient's images
(`check_same_patient`), the case to offer for reopening (`cases_for_study`).

What is shown here identifies the patient (name, ID, birth date…): it is for the
clinician's eyes and is never logged; messages name cases by id.

Layout, top to bottom: the clinician prompt (only until a clinician is configured); the
reopen offer when the loaded study has stored cases; a warning when images of another
patient or study were refused, with both identities side by side; the open case; the
worklist with its search fields and buttons; the undo bar.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qtpy.QtCore import QEvent, QModelIndex, QSize, Qt, QTimer
from qtpy.QtGui import QFont
from qtpy.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QStyle,
    QStyleOptionButton,
    QStylePainter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from blockplan.case._text import format_person_name, sex_text
from blockplan.errors import BlockplanError, CaseConflictError
from napari_blockplan._qt import present
from napari_blockplan._widgets._panel import Panel, UndoBar
from napari_blockplan._workspace import SaveRefused

if TYPE_CHECKING:
    import napari

    from blockplan.case import Case
    from blockplan.case.store import WorklistEntry
    from blockplan.errors import PatientMismatchError

__all__ = ["CASE_FIELDS", "OFFERED_CASES", "SEARCH_DELAY_MS", "WORKLIST_COLUMNS", "CasePanel"]

WORKLIST_COLUMNS = ("Patient", "Patient ID", "Title", "Changed", "Study date", "Birth date")
"""Who, then which of their cases (title, when changed) — in view in a narrow dock, so two
cases of one patient are told apart —, then the study date and the birth date."""
CASE_FIELDS = (
    "Patient",
    "Patient ID",
    "Birth date",
    "Sex",
    "Study date",
    "Accession",
    "Title",
    "Case id",
    "Profile",
)
OFFERED_CASES = 3
"""The reopen banner offers at most this many stored cases of the loaded study."""
SEARCH_DELAY_MS = 150
"""Typing pauses this long before the worklist is searched (in a worker thread)."""

_TITLE_WIDTH = 200  # px; the full title shows as a tooltip
_CASE_FILTER = "blockplan case files (*.blockplan.json *.json);;All files (*)"
_WARNING_STYLE = "QFrame#refused { border: 2px solid #d55e00; border-radius: 4px; }"
_OFFER_STYLE = "QFrame#offer { border: 2px solid #0072b2; border-radius: 4px; }"


def _day(value: dt.date | None) -> str:
    return value.isoformat() if value else ""


def _changed(value: dt.datetime) -> str:
    """A stored UTC time in the local time zone, to the minute."""
    return value.astimezone().strftime("%Y-%m-%d %H:%M")


class _Life:
    """Whether the panel still exists (a search may finish after it was closed)."""

    alive = True

    def end(self) -> None:
        self.alive = False


class CasePanel(Panel):
    """The open case, the worklist of stored cases, and opening, starting, closing cases."""

    def __init__(self, napari_viewer: napari.viewer.Viewer) -> None:
        super().__init__(napari_viewer)
        self.entries: list[WorklistEntry] = []
        self._generation = 0
        self._shown = 0
        self._life = _Life()
        self._select_after: str | None = None
        self._open_when_found = False
        self._import_path: str | None = None
        self._title_shown: tuple[str, str] | None = None  # (case id, title) in the field
        life = self._life
        self.destroyed.connect(lambda *_: life.end())

        content = QWidget()
        parts = QVBoxLayout(content)
        parts.setContentsMargins(0, 0, 0, 0)
        parts.addWidget(self._clinician_row())
        parts.addWidget(self._offer_banner())
        parts.addWidget(self._refused_warning())
        parts.addWidget(self._case_box())
        parts.addWidget(self._worklist_box(), 1)
        self.parts_scroll = _Scrolling(content)
        """The panel's parts scroll when the dock is short: with the refused-images
        warning shown, the open case's rows had been squeezed over each other (the name
        and the Rename button cut in half)."""
        layout = QVBoxLayout(self)
        layout.addWidget(self.parts_scroll, 1)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.undo_bar = UndoBar(self.ws)
        layout.addWidget(self.undo_bar)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SEARCH_DELAY_MS)
        self._timer.timeout.connect(self.search)

        self.listen(self.ws.case_changed, self._on_case_changed)
        # a title typed and not renamed is asked about whenever the case is left
        unguard = self.ws.add_leave_guard(self._title_settled)
        self.destroyed.connect(lambda *_: unguard())
        self.listen(self.ws.images_changed, self._refresh_offer)
        self.listen(self.ws.images_changed, self._images_came)
        self._waiting_images: tuple[str, str] | None = None
        """The case whose message asks for its study's images, and that message."""
        self.listen(self.ws.images_refused, self._show_refused)
        # the Report panel's Author saves the clinician too: the prompt goes at once
        self.listen(self.ws.clinician_changed, lambda *_: self._refresh_clinician())
        self._on_case_changed(self.ws.case)
        self._refresh_clinician()
        self.search()

    # ------------------------------------------------------------------ parts ---
    def _clinician_row(self) -> QWidget:
        self.clinician_row = QWidget()
        self.clinician_edit = QLineEdit()
        self.clinician_edit.setPlaceholderText("e.g. Dr A. Example")
        self.clinician_edit.returnPressed.connect(self.save_clinician)
        self.clinician_save = QPushButton("Save")
        self.clinician_save.clicked.connect(self.save_clinician)
        row = QHBoxLayout(self.clinician_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Clinician (operator):"))
        row.addWidget(self.clinician_edit, 1)
        row.addWidget(self.clinician_save)
        self.clinician_row.setToolTip(
            "recorded as the operator of every edit and as the report's author "
            "(never the computer login)"
        )
        return self.clinician_row

    def _offer_banner(self) -> QFrame:
        self.offer = QFrame()
        self.offer.setObjectName("offer")
        self.offer.setStyleSheet(_OFFER_STYLE)
        self.offer_label = QLabel("")
        self.offer_label.setWordWrap(True)
        # one button per stored case of the study (newest first); the first is reopen_button
        self.reopen_buttons: list[_ElidedButton] = []
        for n in range(OFFERED_CASES):
            button = _ElidedButton("Reopen")
            button.clicked.connect(lambda _checked=False, i=n: self.reopen(i))
            self.reopen_buttons.append(button)
        self.reopen_button = self.reopen_buttons[0]
        self.start_new_button = QPushButton("Start a new case")
        self.start_new_button.clicked.connect(self.new_case)
        box = QVBoxLayout(self.offer)
        box.addWidget(self.offer_label)
        for button in self.reopen_buttons:
            box.addWidget(button)
        box.addWidget(self.start_new_button)
        self.offer.setVisible(False)
        self._offered: list[WorklistEntry] = []
        return self.offer

    def _refused_warning(self) -> QFrame:
        self.refused = QFrame()
        self.refused.setObjectName("refused")
        self.refused.setStyleSheet(_WARNING_STYLE)
        self.refused_label = QLabel("")
        self.refused_label.setWordWrap(True)
        self.refused_table = QTableWidget(0, 3)
        present(self.refused_table.verticalHeader()).setVisible(False)
        self.refused_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        present(self.refused_table.horizontalHeader()).setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.refused_hint = QLabel("")
        self.refused_hint.setWordWrap(True)
        dismiss = QPushButton("Dismiss")
        dismiss.clicked.connect(lambda: self.refused.setVisible(False))
        self.refused_dismiss = dismiss
        box = QVBoxLayout(self.refused)
        box.addWidget(self.refused_label)
        box.addWidget(self.refused_table)
        box.addWidget(self.refused_hint)
        box.addWidget(dismiss, 0, Qt.AlignmentFlag.AlignRight)
        self.refused.setVisible(False)
        return self.refused

    def _case_box(self) -> QGroupBox:
        box = QGroupBox("Open case")
        self.no_case = QLabel("No case open.")
        self.fields: dict[str, QLabel] = {}
        form = QFormLayout()
        for name in CASE_FIELDS:
            if name == "Title":
                continue
            label = QLabel("")
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.fields[name] = label
            form.addRow(f"{name}:", label)
        bold = QFont()
        bold.setBold(True)
        self.fields["Patient"].setFont(bold)
        self.title_edit = QLineEdit()
        self.title_edit.setPlaceholderText("case title")
        self.title_edit.returnPressed.connect(self.rename)
        self.rename_button = QPushButton("Rename")
        self.rename_button.clicked.connect(self.rename)
        title_row = QHBoxLayout()
        title_row.addWidget(self.title_edit, 1)
        title_row.addWidget(self.rename_button)
        form.insertRow(CASE_FIELDS.index("Title"), "Title:", title_row)
        self.case_form = QWidget()
        self.case_form.setLayout(form)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("write the open case to a .blockplan.json case file")
        self.export_button.clicked.connect(self.export_case)
        self.close_button = QPushButton("Close")
        self.close_button.setToolTip("close the open case (every edit is already saved)")
        self.close_button.clicked.connect(self.close_case)
        buttons = QHBoxLayout()
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.close_button)
        column = QVBoxLayout(box)
        column.addWidget(self.no_case)
        column.addWidget(self.case_form)
        column.addLayout(buttons)
        return box

    def _worklist_box(self) -> QGroupBox:
        box = QGroupBox("Worklist")
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("name, patient ID or title")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.textChanged.connect(self._schedule_search)
        self.search_edit.returnPressed.connect(self._search_entered)
        self.date_edit = QLineEdit()
        self.date_edit.setPlaceholderText("2026-03-15, or a range 2026-03-01..2026-03-31")
        self.date_edit.setClearButtonEnabled(True)
        self.date_edit.textChanged.connect(self._schedule_search)
        self.date_edit.returnPressed.connect(self._search_entered)
        search = QFormLayout()
        search.addRow("Search:", self.search_edit)
        search.addRow("Study date:", self.date_edit)

        self.table = QTableWidget(0, len(WORKLIST_COLUMNS))
        self.table.setHorizontalHeaderLabels(WORKLIST_COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        present(self.table.verticalHeader()).setVisible(False)
        # double-click or Enter on a row opens it
        self.table.activated.connect(self._on_activated)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.worklist_status = QLabel("")
        self.worklist_status.setWordWrap(True)

        self.open_button = QPushButton("Open")
        self.open_button.clicked.connect(self.open_selected)
        self.new_title = QLineEdit()
        self.new_title.setPlaceholderText("title of a new case (optional)")
        self.new_title.returnPressed.connect(self.new_case)
        self.new_button = QPushButton("New case")
        self.new_button.setToolTip("start a case for the patient and study of the loaded images")
        self.new_button.clicked.connect(self.new_case)
        self.import_button = QPushButton("Import case file…")
        self.import_button.clicked.connect(self.import_case)
        self.import_copy_button = QPushButton("Import as a copy")
        self.import_copy_button.setToolTip("store the file's case under a new case id")
        self.import_copy_button.clicked.connect(self.import_copy)
        self.import_copy_button.setVisible(False)
        first = QHBoxLayout()
        first.addWidget(self.open_button)
        first.addWidget(self.import_button)
        first.addWidget(self.import_copy_button)
        second = QHBoxLayout()
        second.addWidget(self.new_title, 1)
        second.addWidget(self.new_button)

        column = QVBoxLayout(box)
        column.addLayout(search)
        column.addWidget(self.table, 1)
        column.addWidget(self.worklist_status)
        column.addLayout(first)
        column.addLayout(second)
        return box

    # ------------------------------------------------------------------ open case
    def _on_case_changed(self, case: Case) -> None:
        is_open = self.ws.is_open
        self.no_case.setVisible(not is_open)
        self.case_form.setVisible(is_open)
        if is_open:
            p, s = case.patient, case.study
            values = {
                "Patient": format_person_name(p.patient_name) or "not recorded",
                "Patient ID": p.patient_id or "not recorded",
                "Birth date": _day(p.birth_date) or "not recorded",
                "Sex": sex_text(p.sex) or "not recorded",
                "Study date": (_day(s.study_date) if s else "") or "not recorded",
                "Accession": (s.accession_number if s else "") or "not recorded",
                "Case id": case.case_id,
                "Profile": case.profile_name,
            }
            for name, value in values.items():
                self.fields[name].setText(value)
            self._show_title(case)
        else:
            for label in self.fields.values():
                label.setText("")
            self.title_edit.setText("")
            self._title_shown = None
        if is_open and case.case_id not in {e.case_id for e in self.entries}:
            # the rows shown predate this case: never let them say it does not exist
            self.worklist_status.setText("Updating the worklist…")
        self._update_buttons()
        self._refresh_offer()
        self._schedule_search()

    def _show_title(self, case: Case) -> None:
        """The case's title in the Title field — unless the physician is typing another
        for this case (an edit in another panel had replaced it without a word)."""
        shown = self._title_shown
        typing = (
            shown is not None and shown[0] == case.case_id and self.title_edit.text() != shown[1]
        )
        if not typing:
            self.title_edit.setText(case.title)
            self.title_edit.setCursorPosition(0)  # a long title reads from its start
        self._title_shown = (case.case_id, case.title)

    def _update_buttons(self) -> None:
        is_open = self.ws.is_open
        for button in (self.rename_button, self.export_button, self.close_button):
            button.setEnabled(is_open)
        self.title_edit.setEnabled(is_open)
        self.open_button.setEnabled(self.selected_case_id() is not None)

    # ------------------------------------------------------------------ worklist
    def _schedule_search(self, *_: Any) -> None:
        self._open_when_found = False
        self._timer.start()  # restarts: a search runs once typing pauses

    def _search_entered(self) -> None:
        """Enter in a search field: the one case found opens (once the search typed has
        run); with several, the worklist takes the focus on its first row."""
        if self.searching:
            self._open_when_found = True
            if self._timer.isActive():
                self.search()
            return
        self._open_found()

    def _open_found(self) -> None:
        self._open_when_found = False
        if len(self.entries) == 1:
            self.table.selectRow(0)
            self.open_selected()
        elif self.entries:
            if self.selected_case_id() is None:
                self.table.selectRow(0)
            self.table.setFocus()

    def search(self) -> Any:
        """Search the worklist now, in a worker thread; returns the worker (or None)."""
        from napari.qt.threading import create_worker

        self._timer.stop()
        text, dates = self.search_edit.text(), self.date_edit.text()
        if dates.strip():
            from blockplan.case.store import parse_study_date

            try:
                parse_study_date(dates)
            except ValueError as err:
                self.worklist_status.setText(f"Study date: {err}")
                return None
        self._generation += 1
        generation = self._generation
        ws = self.ws

        def find() -> Any:
            try:
                return ws.find_cases(text, dates)
            except (BlockplanError, ValueError) as err:
                return err

        worker = create_worker(find, _start_thread=False)
        worker.returned.connect(lambda result: self._show_rows(generation, result))
        worker.start()
        return worker

    def _show_rows(self, generation: int, result: Any) -> None:
        if not self._life.alive or generation != self._generation:
            return  # the panel is gone, or a newer search was started
        self._shown = generation
        if isinstance(result, Exception):
            self.worklist_status.setText(f"Worklist not searched: {result}")
            return
        selected = self._select_after or self.selected_case_id()
        self._select_after = None
        searched = self.search_edit.text().strip() or self.date_edit.text().strip()
        if searched and len(result) == 1:
            selected = result[0].case_id  # the one case found is selected: Open opens it
        self.entries = list(result)
        self.table.setRowCount(len(self.entries))
        rows = [_worklist_row(e) for e in self.entries]
        for row, (e, values) in enumerate(zip(self.entries, rows)):
            for col, value in enumerate(values):
                item = QTableWidgetItem(value)
                if col == 0:
                    item.setData(Qt.ItemDataRole.UserRole, e.case_id)
                if WORKLIST_COLUMNS[col] == "Title":
                    item.setToolTip(value)
                self.table.setItem(row, col, item)
            if e.case_id == selected:
                self.table.selectRow(row)
        _fit_columns(self.table, rows)
        n = len(self.entries)
        if n == 0:
            self.worklist_status.setText("No stored case matches." if searched else "No cases.")
        else:
            self.worklist_status.setText(
                f"{n} case{'s' if n != 1 else ''}{' found' if searched else ''}, newest first."
            )
        self._update_buttons()
        if self._open_when_found:
            self._open_found()

    @property
    def searching(self) -> bool:
        """True while a search is waiting for typing to pause or for its result."""
        return self._timer.isActive() or self._shown != self._generation

    def selected_case_id(self) -> str | None:
        """The case id of the selected worklist row."""
        rows = {index.row() for index in self.table.selectedIndexes()}
        if not rows:
            return None
        item = self.table.item(min(rows), 0)
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def _on_activated(self, index: QModelIndex) -> None:
        self.table.selectRow(index.row())
        self.open_selected()

    # ------------------------------------------------------------------ actions -
    def open_selected(self) -> None:
        """Open the case of the selected worklist row."""
        case_id = self.selected_case_id()
        if case_id is None:
            self._error("select a case in the worklist first, then Open")
            return
        self.open_case(case_id)

    def open_case(self, case_id: str) -> None:
        """Open a stored case (errors are shown, never raised); an edit of the open case
        that a panel holds unsaved is asked about first (`Workspace.may_leave`)."""
        if self.ws.is_open and not self.ws.may_leave():
            return
        try:
            case = self.ws.open_case(case_id)
        except BlockplanError as err:
            self._error(str(err))
            return
        hint = _images_hint(self.ws, case)
        self.message.setText(f"Opened {case.display_name}.{hint}")
        self._waiting_images = (case.case_id, self.message.text()) if hint else None

    def _images_came(self) -> None:
        """The study asked for is loaded: the message stops asking for it (it had kept
        saying "No image of its study is loaded yet" over the loaded images)."""
        waiting = self._waiting_images
        if waiting is None or _images_hint(self.ws, self.ws.case):
            return  # nothing asked, or still none of the study's images
        self._waiting_images = None
        case_id, asked = waiting
        if self.ws.is_open and self.ws.case.case_id == case_id and self.message.text() == asked:
            name = self.ws.case.display_name
            self.message.setText(f"Opened {name}; the images of its study are loaded.")

    def reopen(self, n: int = 0) -> None:
        """Reopen the ``n``-th case offered for the loaded study (0: the newest)."""
        if n < len(self._offered):
            self.open_case(self._offered[n].case_id)

    def new_case(self) -> None:
        """Start a case from the loaded images (with the optional title typed); an unsaved
        edit of the open case is asked about first."""
        if self.ws.is_open and not self.ws.may_leave():
            return
        try:
            case = self.ws.new_case(self.new_title.text())
        except BlockplanError as err:
            self._error(str(err))
            return
        self.new_title.clear()
        self.message.setText(f"Started {case.display_name} from the loaded images.")

    def rename(self) -> None:
        """Give the open case the title typed (undoable)."""
        try:
            self.ws.rename_case(self.title_edit.text())
        except SaveRefused as err:  # the title stays typed in its field
            self._error(err.words("case title"))
            return
        except BlockplanError as err:
            self._error(str(err))
            return
        self.message.setText("Case renamed.")

    def close_case(self) -> None:
        """Close the open case (every edit is already saved; a title typed and not yet
        renamed, and what other panels hold typed, are asked about first)."""
        if not self.ws.may_leave():
            return
        name = self.ws.case.display_name if self.ws.is_open else None
        self.ws.close_case()
        if name is not None:
            self.message.setText(f"Closed {name}; it stays in the worklist.")

    def _title_settled(self) -> bool:
        """Before the case is left (closed, another opened or started, napari's window
        closed; a leave guard): a title typed but not renamed is saved, dropped or kept open.

        False when the physician stays on the case (or the rename is refused).
        """
        typed = self.title_edit.text().strip()
        if not self.ws.is_open or typed == self.ws.case.title.strip():
            return True
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Title not saved")
        box.setText(f"The title typed, “{typed}”, is not saved (Rename was not pressed).")
        rename = box.addButton("Rename, then close", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Close without it", QMessageBox.ButtonRole.DestructiveRole)
        stay = box.addButton("Stay on the case", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(stay)
        box.exec()
        if box.clickedButton() is rename:
            before = self.ws.case
            self.rename()
            return self.ws.case is not before
        return box.clickedButton() is not stay

    def export_case(self) -> Path | None:
        """Ask for a file name, then write the open case there (mode 0600)."""
        if not self.ws.is_open:
            self._error("no case is open: open one from the worklist first, then export it")
            return None
        suggested = f"case-{self.ws.case.case_id[:8]}.blockplan.json"
        path, _filter = QFileDialog.getSaveFileName(self, "Export case", suggested, _CASE_FILTER)
        if not path:
            return None
        if not path.endswith(".json"):
            path += ".blockplan.json"
        try:
            written = self.ws.export_case(path)
        except BlockplanError as err:
            self._error(str(err))
            return None
        self.message.setText(f"Exported {self.ws.case.display_name} to {written} (mode 0600).")
        return written

    def import_case(self) -> None:
        """Ask for a case file and store its case (validated completely first)."""
        path, _filter = QFileDialog.getOpenFileName(self, "Import case file", "", _CASE_FILTER)
        if path:
            self._import(path, new_id=False)

    def import_copy(self) -> None:
        """Import the file refused as already stored, under a new case id."""
        if self._import_path is not None:
            self._import(self._import_path, new_id=True)

    def _import(self, path: str, *, new_id: bool) -> None:
        self.import_copy_button.setVisible(False)
        try:
            case = self.ws.import_case(path, new_id=new_id)
        except CaseConflictError as err:
            self._import_path = path
            self.import_copy_button.setVisible(True)
            self._error(f"{path}: {err}")
            return
        except BlockplanError as err:
            self._error(str(err))
            return
        self._import_path = None
        self._select_after = case.case_id
        self.search_edit.clear()
        self.date_edit.clear()
        self.search()
        copy = " as a copy" if new_id else ""
        self.message.setText(
            f"Imported {case.display_name}{copy}; it is selected in the worklist: Open it."
        )

    # ------------------------------------------------------------------ identity -
    def _refresh_offer(self, *_: Any) -> None:
        try:
            entries = self._offered_cases()
        except BlockplanError as err:
            self._error(str(err))
            entries = []
        self._offered = entries[:OFFERED_CASES]
        self.offer.setVisible(bool(entries))
        for button, entry in zip(self.reopen_buttons, self._offered + [None] * OFFERED_CASES):
            button.setVisible(entry is not None)
            if entry is not None:
                button.set_parts(*_reopen_parts(entry))
                button.setToolTip(button.text())
        if len(entries) == 1:
            self.offer_label.setText(
                "The loaded study has a stored case. Reopen it to go on where you left off, "
                "or start a new case for these images."
            )
        elif entries:
            more = len(entries) - len(self._offered)
            rest = f" ({more} more in the worklist)" if more > 0 else ""
            self.offer_label.setText(
                f"The loaded study has {len(entries)} stored cases{rest}, newest first. "
                "Reopen the one to go on with, or start a new case for these images."
            )

    def _offered_cases(self) -> list[WorklistEntry]:
        """The stored cases of the loaded study (newest first, one more than offered)."""
        newest = self.ws.reopen_candidate()  # None: a case is open, or none of this study
        if newest is None or not newest.study_instance_uid:
            return [] if newest is None else [newest]
        found = self.ws.store.cases_for_study(newest.study_instance_uid, limit=OFFERED_CASES + 1)
        return found or [newest]

    def _show_refused(self, err: PatientMismatchError) -> None:
        comparison = present(err.comparison, "identity comparison")
        against = "Open case" if self.ws.is_open else "Images already loaded"
        what = (
            "another patient's images"
            if not comparison.same_patient
            else "images of another study of this patient"
        )
        self.refused_label.setText(
            f"<b>Not loaded: {what}.</b> They were removed from the viewer; "
            "nothing was added to the case. Compare:"
        )
        rows = comparison.rows()
        self.refused_table.setRowCount(len(rows))
        self.refused_table.setHorizontalHeaderLabels(["", against, "Refused images"])
        bold = QFont()
        bold.setBold(True)
        for n, row in enumerate(rows):
            values = (row.label, row.case_value, row.images_value)
            for col, value in enumerate(values):
                if row.label.startswith("Patient name"):
                    value = format_person_name(value) if col else value
                item = QTableWidgetItem(value)
                if row.differs:
                    item.setFont(bold)
                    item.setForeground(Qt.GlobalColor.red)
                self.refused_table.setItem(n, col, item)
        self.refused_table.resizeColumnsToContents()
        self.refused_hint.setText(
            "To work on the refused images: Close the open case (or remove the loaded "
            "images), then load them again; their own stored case is offered for reopening."
            if self.ws.is_open
            else "To work on the refused images: remove the images already loaded (layer "
            "list), then load them again."
        )
        self.refused.setVisible(True)

    # ------------------------------------------------------------------ clinician
    def _refresh_clinician(self) -> None:
        from blockplan.settings import load_settings

        try:
            configured = load_settings().clinician_configured
        except BlockplanError as err:
            self.message.setText(str(err))
            configured = False
        self.clinician_row.setVisible(not configured)

    def save_clinician(self) -> None:
        """Save the clinician typed as the operator (settings); edits record them."""
        try:
            name = self.ws.set_clinician(self.clinician_edit.text())
        except BlockplanError as err:
            self._error(str(err))
            return
        self.clinician_row.setVisible(False)
        self.message.setText(f"Clinician saved: edits are recorded as {name}.")

    # ------------------------------------------------------------------ helpers -
    def _error(self, text: str) -> None:
        from napari.utils.notifications import show_error

        self.message.setText(text)
        show_error(f"blockplan: {text}")


def _images_hint(ws: Any, case: Case) -> str:
    """After opening a case with none of its study's images loaded: which study to load
    (its folder may have moved; the case keeps what it was planned on, not where)."""
    if ws.image_identity() is not None or case.study is None:
        return ""
    study = case.study
    what = ", ".join(x for x in (_day(study.study_date), study.description) if x)
    return (
        f" No image of its study is loaded yet: load the study{f' ({what})' if what else ''} "
        "with the Study browser; its points are shown meanwhile."
    )


def _worklist_row(entry: WorklistEntry) -> tuple[str, ...]:
    """A worklist row's texts, in `WORKLIST_COLUMNS` order."""
    texts = {
        "Patient": format_person_name(entry.patient_name),
        "Patient ID": entry.patient_id,
        "Title": entry.title,
        "Changed": _changed(entry.updated_at),
        "Study date": _day(entry.study_date),
        "Birth date": _day(entry.birth_date),
    }
    return tuple(texts[name] for name in WORKLIST_COLUMNS)


class _ElidedButton(QPushButton):
    """A push button whose long text is shortened in its middle to the room it has (the
    whole text is its ``text()`` and tooltip), so a long case title never widens the dock
    and takes the room of the images. A reopen button (`set_parts`) shows two lines."""

    _MIN_WIDTH = 120
    _parts: tuple[str, str, str, str] | None = None

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    def set_parts(self, head: str, name: str, end: str, detail: str) -> None:
        """Show ``head + name + end`` on a first line (the name shortened in its middle
        when the room is short) and ``detail`` whole on a second; ``text()`` is the whole,
        one line: ``head + name + end + ", " + detail``.

        On one line the middle had been cut, and with it the time changed ("Reopen case
        58cb5d9c, 2…5 — nothing planned yet"), which tells two cases of a study apart.
        """
        self._parts = (head, name, end, detail)
        self.setText(f"{head}{name}{end}, {detail}")
        self.updateGeometry()

    def _two_lines(self) -> bool:
        return self._parts is not None and self.text() == "{}{}{}, {}".format(*self._parts)

    def shown_text(self) -> str:
        """The text as drawn in the room the button has."""
        metrics = self.fontMetrics()
        room = max(self.width() - 2 * metrics.averageCharWidth() - 8, 0)
        middle, right = Qt.TextElideMode.ElideMiddle, Qt.TextElideMode.ElideRight
        if self._parts is None or not self._two_lines():
            return metrics.elidedText(self.text(), middle, room)
        head, name, end, detail = self._parts
        left = max(room - metrics.horizontalAdvance(head + end), 0)
        first = head + metrics.elidedText(name, middle, left) + end if name else head + end
        return (
            f"{metrics.elidedText(first, right, room)}\n{metrics.elidedText(detail, right, room)}"
        )

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        if self._parts is not None and self._two_lines():  # room for the second line
            hint.setHeight(hint.height() + self.fontMetrics().lineSpacing())
        return QSize(min(hint.width(), self._MIN_WIDTH), hint.height())

    def paintEvent(self, event: Any) -> None:
        option = QStyleOptionButton()
        self.initStyleOption(option)
        option.text = self.shown_text()
        QStylePainter(self).drawControl(QStyle.ControlElement.CE_PushButton, option)


class _Scrolling(QScrollArea):
    """``content`` in a vertical scroll area (no frame), never narrower than the content
    with its scroll bar: as a part appears (the offer banner, the refused-images warning)
    the dock widens to it rather than cutting its right edge under the scroll bar."""

    def __init__(self, content: QWidget) -> None:
        super().__init__()
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWidget(content)
        content.installEventFilter(self)

    def eventFilter(self, watched: Any, event: Any) -> bool:
        if event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()  # the content's minimum width may have changed
        return super().eventFilter(watched, event)

    def minimumSizeHint(self) -> QSize:
        content = self.widget()
        hint = super().minimumSizeHint()
        if content is None:
            return hint
        bar = present(self.verticalScrollBar()).sizeHint().width()
        return QSize(content.minimumSizeHint().width() + bar, hint.height())


def _reopen_parts(entry: WorklistEntry) -> tuple[str, str, str, str]:
    """A reopen button: which case (title, else the id's first eight characters), when it
    was changed and what it holds, so two cases of one study are told apart — as the
    parts of `_ElidedButton.set_parts`."""
    held = [
        f"{n} {word}{'s' if n != 1 else ''}"
        for n, word in ((entry.n_targets, "target"), (entry.n_procedures, "block"))
        if n
    ]
    detail = f"{_changed(entry.updated_at)} — {', '.join(held) or 'nothing planned yet'}"
    if entry.title:
        return "Reopen “", entry.title, "”", detail
    return f"Reopen case {entry.case_id[:8]}", "", "", detail


def _fit_columns(table: QTableWidget, rows: Sequence[Sequence[str]]) -> None:
    """Columns as wide as their widest text (header included); long titles are cut (the
    full title is the cell's tooltip).

    Measured from the texts with the table's font: Qt's ``resizeColumnsToContents`` lays
    out every cell and took half of a worklist search's time.
    """
    cells, header = table.fontMetrics(), present(table.horizontalHeader()).fontMetrics()
    pad = 2 * present(table.style()).pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin) + 12
    for col, name in enumerate(WORKLIST_COLUMNS):
        widest = max((cells.horizontalAdvance(r[col]) for r in rows), default=0)
        width = max(widest, header.horizontalAdvance(name) + 12) + pad
        table.setColumnWidth(col, min(width, _TITLE_WIDTH) if name == "Title" else width)
