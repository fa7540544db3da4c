"""Outcomes dock widget: document blocks, type their diaries, enter ODI/PGIC, see the ledger.

Adapters only: the procedure form (`_procedure_form`) builds a `Procedure`, the diary
grid (`_diary`) a `PainDiary`, the outcome-measures tab (`_scores`) ODI and PGIC entries;
every verdict, score, status and the diary chart (`blockplan.outcomes.chart`, the one
the report draws) comes from `blockplan.outcomes` and is shown live. Target colours in
the viewer follow their ledger status. Every change is saved at once through the
workspace and can be undone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from qtpy.QtCore import QSize, Qt, QTimer
from qtpy.QtGui import QColor
from qtpy.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from blockplan.case import (
    Agent,
    BlockType,
    Case,
    Complication,
    Contrast,
    DiaryEntry,
    Guidance,
    Injection,
    PainDiary,
    Procedure,
    Sedation,
    Steroid,
)
from blockplan.case.entry import datetime_text
from blockplan.case.vocab import BLOCK_ABBREVIATIONS, BLOCK_NAMES
from blockplan.errors import BlockplanError
from blockplan.outcomes.evidence import (
    STATUS_COLOURS,
    STATUS_TEXT_COLOURS,
    shown_status_key,
    shown_status_text,
    why_and_blocks,
)
from blockplan.outcomes.numbering import numbered_block
from napari_blockplan._qt import present
from napari_blockplan._widgets._controls import scroll_only
from napari_blockplan._widgets._diary import DiaryPanel
from napari_blockplan._widgets._panel import Panel, Typed, UndoBar
from napari_blockplan._widgets._procedure_form import ProcedureForm
from napari_blockplan._widgets._scores import ScoresPanel

if TYPE_CHECKING:
    import napari

__all__ = ["LEDGER_COLUMNS", "TABS", "OutcomesWidget"]

_ID = Qt.ItemDataRole.UserRole
"""Where a block-list item keeps its procedure id."""

LEDGER_COLUMNS = ("Source", "Status", "Why", "Blocks", "What would settle it")
_LEDGER_TEXT_WIDTH = 280
"""Widest a ledger text column (reason, what would settle it) grows, in pixels; it wraps."""
TABS = ("Block", "Diary", "Outcome measures", "Ledger")
"""The tabs, in order."""


def _scrolling(content: QWidget) -> QScrollArea:
    """``content`` in a vertical scroll area as wide as the dock."""
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setWidget(content)
    return scroll


_FIELD_WORDS = {
    "performed_at": "date, time",
    "block_type": "block type",
    "injections": "targets, agent, concentration or volumes",
    "session_id": "session",
    "complication_notes": "complication notes",
    "index_pain": "index pain",
    "images_saved": "images saved",
    "next_step": "next step",
}
"""A `Procedure` field in the physician's words (the others: the field name in words)."""


def _record_only(proc: Procedure) -> Procedure:
    """The block's record without its diary (what the form edits)."""
    return proc.model_copy(update={"diary": None})


class OutcomesWidget(Panel):
    """Blocks, their diaries, ODI/PGIC and the live evidence ledger of the open case.

    Public attributes (for tests that drive the panel with real events)
    --------------------------------------------------------------------
    profile, profile_label
        Adjudication profile (combo box) and its title and version.
    block_list, new_block_button
        The recorded blocks (selecting one loads it into the form and the diary tab);
        *New block* empties the selection and starts a new record.
    tabs
        Tabs in `TABS` order: Block, Diary, Outcome measures, Ledger.
    form
        The `ProcedureForm`; its controls are also attributes here:
        ``target_checks`` (target id → QCheckBox; ticking sets block type and approach),
        ``volume_spins`` and ``branch_spins`` (target id → spin box),
        ``performed_at`` (ISO date, time and zone; clicking selects it), ``operator``,
        ``block_type``, ``approach``, ``agent_buttons`` (Agent → toggle button),
        ``concentration``, ``complication_buttons`` (Complication → toggle button) and
        ``no_complications`` (the *no complications* button).
    record_button, save_button, delete_button
        *Record as new block* (then the Diary tab opens with the cursor in Quick entry),
        *Save changes* to the selected block, *Delete block* (both undoable).
    diary, baseline, baseline_provoked, movements_buttons, quick_diary, verdict, figure
        The diary grid (QTableWidget: minutes, NRS, patient's relief %, computed relief %;
        typing starts editing, Enter/Tab move down, each committed cell is saved), the
        baseline NRS line ("not entered" until typed; Enter moves to the grid), the
        provoked flag, the movements-possible buttons (True/False → button), the Quick
        entry line (``8: 1 1 0 1 3 6 7 8 8 8 8`` + Enter), the verdict and the chart.
    odi_date, odi_entry, odi_record_button, odi_table, odi_changes, odi_delete_button
        ODI: date, the ten answers on one line (+ Enter records), the scored list, the
        changes from the first ODI (the core's text).
    pgic_date, pgic_buttons, pgic_record_button, pgic_table, pgic_delete_button
        PGIC: date, score → toggle button (1–7), *Record PGIC*, the list.
    ledger_table, message, undo_bar
        The pain-source ledger, the last message (errors included), Undo/Redo.
    """

    def __init__(self, napari_viewer: napari.viewer.Viewer) -> None:
        super().__init__(napari_viewer)
        from blockplan.outcomes import list_profiles

        self.ledger: Any = None
        self._filling = False
        self._loaded: Procedure | None = None
        self._fresh: tuple[Any, ...] | None = None  # a new block's form as it was reset
        self._asking = False  # the physician answers about the block shown: keep it shown

        self.profile = QComboBox()
        self.profile.addItems(list(list_profiles()))
        self.profile.currentTextChanged.connect(self.set_profile)
        self.profile_label = QLabel("")
        self.profile_label.setWordWrap(True)
        self.block_list = QListWidget()
        self.block_list.setMaximumHeight(84)
        # a row wider than the list ends in "…" at the list's edge (the verdict comes first
        # in the line), never behind a scroll bar; the whole line is the row's tooltip
        self.block_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.block_list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.block_list.currentRowChanged.connect(self._block_selected)
        self.new_block_button = QPushButton("New block")
        self.new_block_button.clicked.connect(self.new_block)

        self.tabs = QTabWidget()
        self.tabs.addTab(self._block_tab(), TABS[0])
        self.tabs.addTab(self._diary_tab(), TABS[1])
        self.scores = ScoresPanel(self._apply, self._error)
        self.tabs.addTab(_scrolling(self.scores), TABS[2])
        self.tabs.addTab(self._ledger_box(), TABS[3])
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.undo_bar = UndoBar(self.ws)
        self.undo_bar.stepped.connect(self.message.setText)

        top = QFormLayout()
        top.addRow("Profile:", self.profile)
        top.addRow(self.profile_label)
        # the list the dock's whole width (its lines are long), its button on the title row
        blocks = QHBoxLayout()
        blocks.addWidget(QLabel("Blocks, in time order:"))
        blocks.addStretch(1)
        blocks.addWidget(self.new_block_button)
        top.addRow(blocks)
        top.addRow(self.block_list)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.undo_bar)
        disclaimer = QLabel("Decision support, not a medical device.")
        disclaimer.setStyleSheet("color: gray; font-style: italic")
        layout.addWidget(disclaimer)
        self._expose()
        scroll_only(self)  # the wheel scrolls the panel; it never changes a dose or profile

        for table in (self.diary, self.scores.odi_table, self.scores.pgic_table):
            self.typed_cells.watch(table)  # a cell refused keeps the case open
        self.typed_cells.watch_field(self.diary_panel.baseline)
        self.listen(self.ws.case_changed, self._on_case_changed)
        unguard = self.ws.add_leave_guard(self._leave_case)
        self.destroyed.connect(lambda *_: unguard())
        self.form.reset(self.ws.case, self._operator())
        self._on_case_changed(self.ws.case)
        self._fresh = self.form.snapshot()

    # ------------------------------------------------------------------ tabs ----
    def _block_tab(self) -> QWidget:
        self.form = ProcedureForm(self._error)
        scroll = _scrolling(self.form)
        self.record_button = QPushButton("Record as new block")
        self.record_button.clicked.connect(self.record_from_form)
        self.save_button = QPushButton("Save changes")
        self.save_button.clicked.connect(self.save_changes)
        self.delete_button = QPushButton("Delete block")
        self.delete_button.clicked.connect(self.delete_block)
        buttons = QHBoxLayout()
        buttons.addWidget(self.record_button)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.delete_button)
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(scroll, 1)
        layout.addLayout(buttons)
        return tab

    def _diary_tab(self) -> QWidget:
        from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
        from matplotlib.figure import Figure

        self.figure = Figure(figsize=(3.2, 1.6), dpi=90, tight_layout=True)
        self.chart = FigureCanvasQTAgg(self.figure)  # type: ignore[no-untyped-call]
        self._chart_spec: Any = None  # what the chart shows (drawn again only when it changes)
        self.chart.setMinimumHeight(150)
        self.diary_panel = DiaryPanel(self._apply, self._error, self.chart)
        return _scrolling(self.diary_panel)

    def _ledger_box(self) -> QGroupBox:
        box = QGroupBox("Pain-source ledger")
        self.ledger_table = QTableWidget(0, len(LEDGER_COLUMNS))
        self.ledger_table.setHorizontalHeaderLabels(LEDGER_COLUMNS)
        present(self.ledger_table.verticalHeader()).setVisible(False)
        self.ledger_table.setWordWrap(True)
        self.ledger_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.ledger_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.ledger_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.ledger_table.itemSelectionChanged.connect(self._show_source)
        # the selected source's reasons and what would settle it, whole: in a narrow dock
        # the table's last columns lie beyond its edge
        self.ledger_details = QLabel("")
        self.ledger_details.setWordWrap(True)
        self.ledger_details.setTextFormat(Qt.TextFormat.PlainText)
        # wraps to the dock's width; a long reason never widens the dock
        self.ledger_details.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        column = QVBoxLayout(box)
        column.addWidget(self.ledger_table, 3)
        column.addWidget(self.ledger_details, 1)
        return box

    def _show_source(self) -> None:
        """The selected source (else the first) in the ledger's words, under the table."""
        sources = self.ledger.sources if self.ledger is not None else ()
        rows = {index.row() for index in self.ledger_table.selectedIndexes()}
        row = min(rows) if rows else 0
        if row >= len(sources):
            self.ledger_details.setText("")
            return
        s = sources[row]
        lines = [f"{s.label}: {s.status_text}", f"{LEDGER_COLUMNS[2]}: {why_and_blocks(s).why}"]
        if s.settle:
            lines.append(f"{LEDGER_COLUMNS[4]}: {'; '.join(s.settle)}")
        self.ledger_details.setText("\n".join(lines))

    def _expose(self) -> None:
        """The controls a physician uses most, as attributes of the panel (see the docs)."""
        form, diary, scores = self.form, self.diary_panel, self.scores
        self.target_checks = form.target_checks
        self.volume_spins = form.volume_spins
        self.branch_spins = form.branch_spins
        self.performed_at = form.performed_at
        self.operator = form.operator
        self.block_type = form.block_type
        self.approach = form.approach
        self.agent_buttons = form.agent_buttons.buttons
        self.concentration = form.concentration
        self.complication_buttons = form.complication_buttons.buttons
        self.no_complications = self.complication_buttons[Complication.NONE]
        self.diary = diary.grid
        self.baseline = diary.baseline
        self.baseline_provoked = diary.baseline_provoked
        self.movements_buttons = diary.movements.buttons
        self.quick_diary = diary.quick_diary
        self.verdict = diary.verdict
        self.odi_date = scores.odi_date
        self.odi_entry = scores.odi_entry
        self.odi_record_button = scores.odi_record_button
        self.odi_table = scores.odi_table
        self.odi_changes = scores.odi_changes
        self.odi_delete_button = scores.odi_delete_button
        self.pgic_date = scores.pgic_date
        self.pgic_buttons = scores.pgic_buttons.buttons
        self.pgic_record_button = scores.pgic_record_button
        self.pgic_table = scores.pgic_table
        self.pgic_delete_button = scores.pgic_delete_button

    # ------------------------------------------------------------------ helpers --
    def _apply(
        self,
        case: Case,
        action: str,
        summary: str,
        *,
        typed: Typed | None = None,
        show_saved: Callable[[], None] | None = None,
    ) -> bool:
        """Save ``case`` (undoable, `Panel.save_edit`); False when refused (the message
        says why; a value ``typed`` the store refused is held)."""
        try:
            return self.save_edit(
                case, action, summary, what=action, typed=typed, show_saved=show_saved
            )
        except (BlockplanError, ValueError) as err:
            self._error(f"{action}: {err}")
            return False

    def show_saved_case(self) -> None:
        """After a refused save: the profile, the shown block's diary and the scores show
        what the case holds (the block form keeps what it holds: it is saved with a
        button, and asked about before it is left)."""
        QTimer.singleShot(0, self._show_saved_now)

    def _show_saved_now(self) -> None:
        with contextlib.suppress(RuntimeError):  # the panel was closed meanwhile
            case = self.ws.case
            self._filling = True
            try:
                self.profile.setCurrentText(case.profile_name)
            finally:
                self._filling = False
            proc = self._procedure(self.diary_panel.procedure_id)
            if proc is not None:
                self.diary_panel.show_block(case, proc, self._block_title(proc))
            self.scores.show_case(case)

    def _error(self, text: str) -> None:
        self.say_error(text)

    @staticmethod
    def _operator() -> str:
        """The configured clinician (never the computer login); empty when not set."""
        from blockplan.settings import UNCONFIGURED_OPERATOR, operator_name

        name = operator_name()
        return "" if name == UNCONFIGURED_OPERATOR else name

    def _procedure(self, procedure_id: str | None) -> Procedure | None:
        return next((p for p in self.ws.case.procedures if p.id == procedure_id), None)

    def _block_number(self, procedure_id: str) -> int | None:
        blocks = self.ledger.blocks if self.ledger is not None else ()
        return next((b.number for b in blocks if b.procedure_id == procedure_id), None)

    def _block_title(self, proc: Procedure) -> str:
        number = self._block_number(proc.id)
        agents = "/".join(sorted(a.value for a in proc.agents))
        return (
            f"{numbered_block(number, capitalised=True)}: {datetime_text(proc.performed_at)}, "
            f"{BLOCK_NAMES[proc.block_type]}, {agents}"
        )

    # ------------------------------------------------------------------ actions -
    def set_profile(self, name: str) -> None:
        """Adjudicate under another profile (stored with the case)."""
        if self._filling or not name or name == self.ws.case.profile_name:
            return
        self._apply(self.ws.case.evolve(profile_name=name), "set profile", f"profile {name}")

    def selected_target_ids(self) -> list[str]:
        """Ids of the ticked targets."""
        return self.form.ticked_target_ids()

    def selected_procedure_id(self) -> str | None:
        """Id of the selected block (shown in the form and on the Diary tab)."""
        item = self.block_list.currentItem()
        return None if item is None else str(item.data(_ID))

    def select_block(self, procedure_id: str | None) -> None:
        """Select a block (None: no block, a new record)."""
        for row in range(self.block_list.count()):
            if present(self.block_list.item(row)).data(_ID) == procedure_id:
                self.block_list.setCurrentRow(row)
                return
        self.block_list.setCurrentRow(-1)

    def new_block(self) -> None:
        """Start a new block record: no block selected, the form at its defaults."""
        if self.selected_procedure_id() is None and not self._leave_new_block():
            return  # a new block filled in: recorded, or the physician stays on it
        self.block_list.setCurrentRow(-1)
        if self.selected_procedure_id() is not None:
            return  # the physician stayed on a block with unsaved changes
        self.form.reset(self.ws.case, self._operator())
        self._loaded = None
        self._fresh = self.form.snapshot()
        self.tabs.setCurrentIndex(0)

    def record_from_form(self) -> Procedure | None:
        """Record the form as a new block; the Diary tab opens for its diary (a diary typed
        for the block shown and not entered is asked about first)."""
        if self.selected_procedure_id() is not None and not self._leave_typed_diary():
            return None
        try:
            proc = self.form.procedure(self.ws.case)
        except (BlockplanError, ValueError) as err:
            self._error(str(err))
            return None
        if not self._record(proc):
            return None
        self.tabs.setCurrentIndex(1)
        self.quick_diary.setFocus()
        return proc

    def _record(self, proc: Procedure) -> bool:
        case = self.ws.case
        joined = next((s for s in case.sessions if s.session_id == proc.session_id), None)
        if joined is not None and proc.diary is None:  # a block added to a sitting: its diary
            proc = proc.model_copy(update={"diary": joined.diary})
        agents = "/".join(sorted(a.value for a in proc.agents))
        self._apply(
            case.replace_item("procedures", proc),
            "record block",
            f"{BLOCK_NAMES[proc.block_type]} with {agents} recorded",
        )
        if self.ws.case is case:
            return False
        self._loaded = None  # what the form shows went into the new block, not the loaded one
        self._fresh = None
        self.select_block(proc.id)
        return True

    def record_procedure(
        self,
        *,
        performed_at: dt.datetime,
        block_type: BlockType,
        target_ids: list[str],
        agent: Agent,
        volume_ml: float,
        concentration_pct: float | None = None,
        branches: int = 1,
        contrast: Contrast | None = None,
        steroid: Steroid | None = None,
        sedation: Sedation | None = None,
        guidance: Guidance = Guidance.FLUOROSCOPY,
    ) -> Procedure:
        """Record a block at planned targets (level, side, structure from each target).

        For scripts and tests; raises what `Workspace.apply` raises. The physician uses
        the form (`record_from_form`).
        """
        if not target_ids:
            raise BlockplanError("tick at least one planned target for the block")
        case = self.ws.case
        injections = tuple(
            Injection.at_target(
                case.target(tid),
                agent=agent,
                concentration_pct=concentration_pct,
                volume_ml=volume_ml,
                branches=branches,
            )
            for tid in target_ids
        )
        procedure = Procedure(
            performed_at=performed_at,
            operator=self._operator(),
            block_type=block_type,
            guidance=guidance,
            injections=injections,
            contrast=contrast or Contrast(),
            steroid=steroid,
            sedation=sedation,
        )
        self.ws.apply(
            case.replace_item("procedures", procedure),
            "record block",
            f"{BLOCK_NAMES[block_type]} with {agent.value} recorded",
        )
        self.select_block(procedure.id)
        return procedure

    def save_changes(self) -> Procedure | None:
        """Save the form to the selected block (undoable)."""
        return self._save_block(self.selected_procedure_id())

    def _save_block(self, procedure_id: str | None) -> Procedure | None:
        """Save the form to the block ``procedure_id`` (undoable); None when refused."""
        base = self._procedure(procedure_id)
        if base is None:
            self._error("select the block to change in the list (or record a new block)")
            return None
        try:
            proc = self.form.procedure(self.ws.case, base=base)
        except (BlockplanError, ValueError) as err:
            self._error(str(err))
            return None
        if proc == base:
            self.message.setText("no change to save")
            return base
        number = self._block_number(base.id)
        case = self.ws.case
        self._apply(
            case.replace_item("procedures", proc), "edit block", f"{numbered_block(number)} changed"
        )
        return None if self.ws.case is case else proc

    def delete_block(self) -> None:
        """Delete the selected block and its diary (undoable)."""
        pid = self.selected_procedure_id()
        if pid is None:
            self._error("select the block to delete in the list")
            return
        number = self._block_number(pid)
        self._apply(
            self.ws.case.remove_item("procedures", pid),
            "delete block",
            f"{numbered_block(number)} deleted (Undo restores it)",
        )

    def set_diary(
        self,
        procedure_id: str,
        baseline_nrs: int,
        entries: list[tuple[int, int | None, float | None]],
        *,
        movements_possible: bool | None = None,
    ) -> None:
        """Store a diary: ``entries`` are ``(minutes, nrs, patient_relief_pct)``."""
        diary = PainDiary(
            baseline_nrs=baseline_nrs,
            entries=tuple(
                DiaryEntry(minutes=m, nrs=n, patient_relief_pct=r)
                for m, n, r in entries
                if n is not None or r is not None
            ),
            movements_possible=movements_possible,
        )
        case = self.ws.case
        self._apply(case.with_session_diary(procedure_id, diary), "diary", "pain diary saved")

    # ------------------------------------------------------------------ refresh -
    def _on_case_changed(self, case: Case) -> None:
        from blockplan.outcomes import build_ledger

        if self.ws.ledger is None:  # the workspace has not announced a case yet
            self.ws.ledger = build_ledger(case, case.profile_name)
        self.ledger = self.ws.ledger
        self._filling = True
        try:
            self.profile.setCurrentText(case.profile_name)
            self.profile_label.setText(f"{self.ledger.profile_title} — {self.ledger.profile_label}")
            self.form.set_case(case)
            self._fill_blocks(case)
            self._fill_ledger()
        finally:
            self._filling = False
        if not self._asking:
            self._show_selected(case)
        else:  # an answer saved: the block asked about stays shown, its diary up to date
            proc = self._procedure(self.diary_panel.procedure_id)
            if proc is not None:
                self.diary_panel.show_block(case, proc, self._block_title(proc))
        self.scores.show_case(case)

    def _fill_blocks(self, case: Case) -> None:
        """The blocks in time order (the ledger's numbers) with their verdicts."""
        current = self.selected_procedure_id()
        results = {b.procedure_id: b for b in self.ledger.blocks}
        ordered = sorted(
            case.procedures,
            key=lambda p: results[p.id].number if p.id in results else len(results) + 1,
        )
        rows = []
        for proc in ordered:
            result = results.get(proc.id)
            if result is not None:
                rows.append((proc.id, result.list_line))  # the ledger's words for the block
                continue
            agents = "/".join(sorted(a.value for a in proc.agents))
            when = proc.performed_at.strftime("%Y-%m-%d %H:%M")
            rows.append((proc.id, f"#? {when} · {BLOCK_ABBREVIATIONS[proc.block_type]} · {agents}"))
        lst = self.block_list
        lst.blockSignals(True)
        try:
            if lst.count() != len(rows):
                lst.clear()
                for _pid, _text in rows:
                    lst.addItem(QListWidgetItem())
            for row, (pid, text) in enumerate(rows):
                item = present(lst.item(row))
                item.setText(text)
                item.setToolTip(text)  # whole, however narrow the dock
                if item.sizeHint().width() != 1:
                    # as wide as the list, not as its text (the style's height): Qt then
                    # elides the text at the list's edge
                    item.setSizeHint(QSize(1, lst.sizeHintForRow(row)))
                item.setData(_ID, pid)
            ids = [pid for pid, _text in rows]
            lst.setCurrentRow(ids.index(current) if current in ids else -1)
        finally:
            lst.blockSignals(False)

    def _fill_ledger(self) -> None:
        sources = self.ledger.sources
        self.ledger_table.setRowCount(len(sources))
        for row, s in enumerate(sources):
            words = why_and_blocks(s)  # the report's ranked table says the same
            values = (
                s.label,
                shown_status_text(s),  # the report's tables and map show the same
                words.why,
                words.blocks,
                "; ".join(s.settle),
            )
            for col, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setToolTip(value)  # whole, however narrow the column
                self.ledger_table.setItem(row, col, item)
            status = present(self.ledger_table.item(row, 1))
            key = shown_status_key(s)
            status.setBackground(QColor(STATUS_COLOURS[key]))
            status.setForeground(QColor(STATUS_TEXT_COLOURS[key]))
            status.setToolTip(s.status_text)
        table = self.ledger_table
        table.resizeColumnsToContents()
        # long reasons wrap inside a readable width instead of running off to the right
        for col in (2, 4):
            table.setColumnWidth(col, min(table.columnWidth(col), _LEDGER_TEXT_WIDTH))
        table.resizeRowsToContents()
        self._show_source()

    def _block_selected(self, _row: int) -> None:
        if not self._filling:
            self._leave_shown_block()  # the physician may stay: the list goes back

    def unsaved_changes(self) -> list[str]:
        """What the form changed in the block it shows and that is not saved (field words).

        A value that cannot be read (letters in a number) counts as a change.
        """
        loaded = self._procedure(self._loaded.id) if self._loaded is not None else None
        if loaded is None:
            return []
        try:
            shown = _record_only(self.form.procedure(self.ws.case, base=loaded))
        except (BlockplanError, ValueError):
            return ["a value that cannot be read"]
        old, new = _record_only(loaded).model_dump(), shown.model_dump()
        return [_FIELD_WORDS.get(k, k.replace("_", " ")) for k in old if old[k] != new[k]]

    def _leave_case(self) -> bool:
        """Before the case is left (closed, another opened or started, napari's window
        closed): what the form and the diary hold unsaved is saved, discarded or kept, as
        before another block is shown; then ODI answers typed and a PGIC chosen and not
        recorded."""
        return (
            self._leave_shown_block(leaving_case=True)
            and self._leave_typed_odi()
            and self._leave_chosen_pgic()
        )

    def _leave_typed_odi(self) -> bool:
        """ODI answers typed and not recorded: recorded (as Record ODI), discarded or kept."""
        line = self.scores.odi_entry
        typed = line.text().strip()
        return not typed or self._leave_unrecorded(
            f"ODI answers typed on the Answers line are not recorded (Record ODI was not "
            f"pressed): “{typed}”.",
            "Record the ODI, discard the answers, or stay on the case?",
            ("Record the ODI", "Discard them"),
            self.scores.record_odi,
            line.clear,
            line,
            "the ODI answers typed were discarded",
        )

    def _leave_chosen_pgic(self) -> bool:
        """A PGIC answer chosen and not recorded: recorded (as Record PGIC), discarded or
        kept, as ODI answers typed are."""
        choice = self.scores.pgic_buttons
        score = choice.value()
        return score is None or self._leave_unrecorded(
            f"A PGIC answer chosen is not recorded (Record PGIC was not pressed): "
            f"“{choice.buttons[score].text()}”.",
            "Record the PGIC, discard the answer, or stay on the case?",
            ("Record the PGIC", "Discard it"),
            self.scores.record_pgic,
            lambda: choice.set_value(None),
            choice.buttons[score],
            "the PGIC answer chosen was discarded",
        )

    def _leave_unrecorded(
        self,
        text: str,
        question: str,
        answers: tuple[str, str],
        record: Callable[[], bool],
        discard: Callable[[], None],
        where: QWidget,
        discarded: str,
    ) -> bool:
        """An outcome measure entered and not recorded, asked about before the case is
        left: recorded as its button would (refused: it says why, and the case stays),
        discarded, or kept with the case open on ``where``."""
        clicked = self._ask(text, question, (*answers, "Stay on the case"))
        if clicked == 0 and record():
            return True
        if clicked != 1:
            self.tabs.setCurrentIndex(TABS.index("Outcome measures"))
            where.setFocus()
            return False
        discard()
        self.message.setText(discarded)
        return True

    def _leave_shown_block(self, *, leaving_case: bool = False) -> bool:
        """`_leave_loaded_block`, the block asked about kept in the form and the diary
        while the physician answers (a saved answer redraws nothing); then the block
        selected is shown."""
        asking, self._asking = self._asking, True
        try:
            return self._leave_loaded_block(leaving_case=leaving_case)
        finally:
            self._asking = asking
            if not asking:
                self._show_selected(self.ws.case)

    def _leave_loaded_block(self, *, leaving_case: bool = False) -> bool:
        """Before another block is shown: save, discard or keep what is typed and not saved
        — the diary (a cell being typed, the Quick entry line), then the form's changes (of
        the loaded block, or of a new block not recorded yet).

        False (the list goes back to where it was) when the physician stays or what was
        typed cannot be saved.
        """
        loaded = self._loaded
        if loaded is None:
            return self._leave_new_block()
        if loaded.id == self.selected_procedure_id() and not leaving_case:
            return True
        return self._leave_typed_diary() and self._leave_form_changes(loaded)

    def _leave_typed_diary(self) -> bool:
        """A diary cell being typed is saved as Enter would (every committed cell is); a
        Quick entry line typed and not entered is saved, discarded or kept."""
        diary = self.diary_panel
        pid = diary.procedure_id
        if pid is None:
            return True
        if not diary.commit_cell():  # refused: the message names the row and the range
            self._reselect(pid)
            return False
        typed = diary.typed_not_entered()
        if not typed:
            return True
        number = self._block_number(pid)
        name = numbered_block(number)
        clicked = self._ask(
            f"{numbered_block(number, capitalised=True)}'s diary typed on the Quick entry "
            f"line is not saved (Enter was not pressed): “{typed}”.",
            f"Save it to {name}'s diary, discard it, or stay on {name}?",
            ("Save the diary", "Discard it", f"Stay on {name}"),
        )
        if clicked == 0 and diary.enter_quick():  # as Enter; refused: says why and stays
            return True
        if clicked != 1:
            self._reselect(pid)
            return False
        diary.discard_typed()
        self.message.setText(f"the diary typed for {name} was discarded")
        return True

    def _leave_form_changes(self, loaded: Procedure) -> bool:
        """The loaded block's changes in the form: saved, discarded or kept."""
        changed = self.unsaved_changes()
        if not changed:
            return True
        number = self._block_number(loaded.id)
        clicked = self._ask(
            f"{numbered_block(number, capitalised=True)} has changes that are not saved: "
            f"{', '.join(changed)}.",
            f"Save them to {numbered_block(number)}, discard them, or stay on it?",
            ("Save changes", "Discard changes", f"Stay on {numbered_block(number)}"),
        )
        if clicked == 0 and self._save_block(loaded.id) is not None:
            return True
        if clicked != 1:
            self._reselect(loaded.id)
            return False
        self.message.setText(f"changes to {numbered_block(number)} discarded")
        return True

    def _leave_new_block(self) -> bool:
        """Before a recorded block or an empty form replaces a new block filled in."""
        if self._fresh is None or self.form.snapshot() == self._fresh:
            return True
        clicked = self._ask(
            "The new block is not recorded yet: what was typed or chosen in the form would "
            "be lost.",
            "Record it as a new block, discard it, or stay on it?",
            ("Record as new block", "Discard it", "Stay on the new block"),
        )
        if clicked == 1:
            self.message.setText("the new block's form was discarded")
            return True
        self._reselect(None)
        if clicked == 0:
            self.record_from_form()  # shows the new block when recorded, else says why
        return False

    def _ask(self, text: str, question: str, answers: tuple[str, str, str]) -> int:
        """A warning with three answers (go ahead, discard, stay); the index clicked."""
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Unsaved changes")
        box.setText(text)
        box.setInformativeText(question)
        roles = (
            QMessageBox.ButtonRole.AcceptRole,
            QMessageBox.ButtonRole.DestructiveRole,
            QMessageBox.ButtonRole.RejectRole,
        )
        buttons = [box.addButton(a, r) for a, r in zip(answers, roles, strict=True)]
        box.setDefaultButton(buttons[2])
        box.exec()
        clicked = box.clickedButton()
        return next((n for n, b in enumerate(buttons) if b is clicked), 2)

    def _reselect(self, procedure_id: str | None) -> None:
        self.block_list.blockSignals(True)
        try:
            self.select_block(procedure_id)
        finally:
            self.block_list.blockSignals(False)

    def _show_selected(self, case: Case) -> None:
        """The selected block in the form (reloaded when its record changed), its diary."""
        proc = self._procedure(self.selected_procedure_id())
        if proc is None:
            self._loaded = None
        elif _record_only(proc) != self._loaded:
            self.form.load(proc, case)
            self._loaded = _record_only(proc)
            self._fresh = None  # the form shows a recorded block now
        self.save_button.setEnabled(proc is not None)
        self.delete_button.setEnabled(proc is not None)
        block = None
        if proc is None:
            self.diary_panel.show_block(case, None, "no block selected: record or select one")
        else:
            self.diary_panel.show_block(case, proc, self._block_title(proc))
            blocks = self.ledger.blocks if self.ledger is not None else ()
            block = next((b for b in blocks if b.procedure_id == proc.id), None)
        self._draw_chart(block)
        if block is None:
            self.verdict.setText("")
        else:
            # the verdict on its own line, then one line per reason: read at a glance
            name = numbered_block(block.number, capitalised=True)
            lines = [f"{name}: {block.short_verdict} (under {block.profile})"]
            lines += [f"• {reason}" for reason in block.reasons]
            if block.missing_points_text:  # as the report lists it, also when it decides nothing
                lines.append(f"• {block.missing_points_text}")
            self.verdict.setText("\n".join(lines))

    def _draw_chart(self, block: Any) -> None:
        """The core's diary chart of the block (the report draws the same spec)."""
        from blockplan.outcomes.chart import diary_chart_spec
        from napari_blockplan._widgets._diary_chart import draw_diary_chart

        spec = None if block is None else diary_chart_spec(block, self.ledger.threshold_pct)
        if self.figure.axes and spec == self._chart_spec:
            return  # the chart shows this already: an edit elsewhere (a scar) redraws nothing
        self._chart_spec = spec
        self.figure.clear()
        draw_diary_chart(self.figure.add_subplot(111), spec)
        self.chart.draw_idle()  # type: ignore[no-untyped-call]
