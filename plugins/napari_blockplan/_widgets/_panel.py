"""What every blockplan dock widget shares: keys stay in the panel, Escape, undo and redo.

Keystrokes typed in a panel never reach napari: a key press or release that no child
widget used (a digit on a table that is not being edited, a letter on a button) would
otherwise travel up to the main window and trigger a layer shortcut — "2" switches a
Labels layer to paint, and the next click on the canvas paints scar. `Panel` swallows
them. Escape always leaves the placement mode, wherever the focus is in the panel.

The undo bar shows what Undo and Redo would do and works from every panel, so every
autosaved edit can be taken back where it was made.

Nothing typed into a table cell is lost when the case is left (`TypedCells`): a cell still
being typed is committed first, as Enter would; a value the panel refused is held — the
case stays open on that cell, the typed text back in its editor and the refusal on the
message line — until the physician corrects it or drops it with Escape. A field of several
lines (`TextBox`) is settled the same way.

Every edit a panel makes goes through `Panel.save_edit`: a save the store refuses (another
session saved the case first, the store cannot be written) is said on the message line in
the physician's words, the panel shows what the case holds again, and a value typed is held
as a refused one is. Undo and redo refused are said the same way (`UndoBar`).
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from qtpy.QtCore import QEvent, QObject, Qt, QTimer, Signal  # type: ignore[attr-defined]
from qtpy.QtGui import (  # type: ignore[attr-defined]
    QFocusEvent,
    QKeyEvent,
    QKeySequence,
    QShortcut,
    QShowEvent,
)
from qtpy.QtWidgets import (
    QAbstractItemDelegate,
    QApplication,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTextEdit,
    QWidget,
)

from napari_blockplan._qt import present
from napari_blockplan._workspace import SaveRefused, Workspace, workspace_for

if TYPE_CHECKING:
    import napari

    from blockplan.case import Case

__all__ = [
    "Panel",
    "SaveEdit",
    "TextBox",
    "Typed",
    "TypedCells",
    "UndoBar",
    "keeping_typed",
    "refuse_typed",
    "step_case",
    "typed_cells_of",
]


class _EscapeFilter(QObject):
    """Escape anywhere in a viewer's window leaves that viewer's placement mode.

    Watches key presses application-wide without consuming them: napari's layers bind
    Escape themselves (a Shapes layer finishes a drawing with it), which would otherwise
    shadow the viewer's binding while such a layer is selected. One filter serves every
    panel (an application filter runs on every event of the application: five of them cost
    about 0.2 s of a relaunch).
    """

    def __init__(self, app: QObject) -> None:
        super().__init__(app)  # lives as long as the application it watches
        self.app = app
        self.panels: weakref.WeakSet[Panel] = weakref.WeakSet()

    def eventFilter(self, obj: QObject | None, event: QEvent | None) -> bool:
        if (
            event is None
            or event.type() != QEvent.Type.KeyPress
            or not isinstance(event, QKeyEvent)
            or event.key() != Qt.Key.Key_Escape
            or not isinstance(obj, QWidget)
        ):
            return False
        window = obj.window()
        for panel in list(self.panels):
            try:
                mine = panel.window() is window
            except RuntimeError:  # the panel's widget is gone; its Python side lingers
                self.panels.discard(panel)
                continue
            if mine and panel.ws.mode is not None:
                panel.ws.set_mode(None)
        return False


_ESCAPE: _EscapeFilter | None = None


def _watch_escape(panel: Panel) -> None:
    """Let Escape in the panel's window leave the placement mode (one application filter)."""
    global _ESCAPE
    app = QApplication.instance()
    if app is None:
        return
    if _ESCAPE is None or _ESCAPE.app is not app:
        _ESCAPE = _EscapeFilter(app)
        app.installEventFilter(_ESCAPE)
    _ESCAPE.panels.add(panel)


class _CloseGuard(QObject):
    """Closing napari's window first asks about what a panel holds unsaved (a block edit in
    the Outcomes panel: `Workspace.may_leave`), as leaving the case does; "Stay" keeps the
    window open.

    Watches the one main window a panel is docked in. napari's own teardown
    (``viewer.close()``: it closes the canvas, then the window) is never stopped: when the
    window's central widget holds no visible widget any more, the window is being taken
    down, not closed by the physician.
    """

    def __init__(self, window: QWidget, ws: Workspace) -> None:
        super().__init__(window)
        self.window, self.ws = window, ws

    def eventFilter(self, obj: QObject | None, event: QEvent | None) -> bool:
        if event is None or event.type() != QEvent.Type.Close or obj is not self.window:
            return False
        if _taken_down(self.window) or self.ws.may_leave():
            return False
        event.ignore()  # the physician stays: the window remains open
        return True


def _taken_down(window: QWidget) -> bool:
    """True once napari has closed the canvas inside ``window`` (its teardown)."""
    centre = window.centralWidget() if isinstance(window, QMainWindow) else None
    if centre is None:
        return True
    inside = centre.findChildren(QWidget, "", Qt.FindChildOption.FindDirectChildrenOnly)
    return all(w.isHidden() for w in inside)


def _guard_closing(panel: Panel) -> None:
    """Let closing the panel's main window ask first (`_CloseGuard`), once per window."""
    window = panel.window()
    if window is panel or not isinstance(window, QMainWindow):
        return  # not docked (yet)
    if window.property("blockplan_close_guard"):
        return
    window.installEventFilter(_CloseGuard(window, panel.ws))
    window.setProperty("blockplan_close_guard", True)


class TextBox(QTextEdit):
    """A field of several lines, committed as a line edit is: `editingFinished` when the
    focus leaves it (Tab, a click elsewhere; not a context menu opening) or on Ctrl+Enter,
    where Enter starts a new line. ``text``, ``setText`` and ``isModified`` read as a line
    edit's, so a panel settles it as it settles one (`TypedCells.watch_field`).
    """

    editingFinished = Signal()

    def __init__(self, lines: int = 4) -> None:
        super().__init__()
        # a QTextEdit of plain text (what is pasted loses its formatting), not a
        # QPlainTextEdit: napari's theme gives QTextEdit the field colour of a line edit,
        # and a QPlainTextEdit none — the notes field read as text, not as a field
        self.setAcceptRichText(False)
        self.setTabChangesFocus(True)  # Tab leaves (and commits), as in every other field
        self.setLineWrapMode(QTextEdit.LineWrapMode.WidgetWidth)
        margins = self.contentsMargins()
        frame = 2 * self.frameWidth() + margins.top() + margins.bottom()
        self.setFixedHeight(lines * self.fontMetrics().lineSpacing() + frame + 8)

    def text(self) -> str:
        """The text shown (line breaks as ``\\n``)."""
        return self.toPlainText()

    def setText(self, text: str | None) -> None:
        """Show ``text`` as what is saved (not modified since): always as plain text, never
        as markup (QTextEdit's own setText guesses and would render "<b>" as bold)."""
        self.setPlainText(text or "")
        present(self.document()).setModified(False)

    def isModified(self) -> bool:
        """True when the text was typed into since `setText`."""
        return present(self.document()).isModified()

    def keyPressEvent(self, e: QKeyEvent | None) -> None:
        if (
            e is not None
            and e.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and e.modifiers() & Qt.KeyboardModifier.ControlModifier
        ):
            self.editingFinished.emit()
            e.accept()
            return
        super().keyPressEvent(e)

    def focusOutEvent(self, e: QFocusEvent | None) -> None:
        super().focusOutEvent(e)
        if e is not None and e.reason() != Qt.FocusReason.PopupFocusReason:
            self.editingFinished.emit()


_Field = QLineEdit | TextBox
"""A field a panel settles before the case is left (`TypedCells.watch_field`)."""
_FIELDS = (QLineEdit, TextBox)

Typed = QTableWidgetItem | _Field
"""Where a value was typed: a table's cell (its item) or a field."""


@dataclass(frozen=True, slots=True)
class _Held:
    """A value refused: where it was typed (a table's cell, or a field: row and column
    -1), what was typed, and why it was refused."""

    table: QTableWidget | _Field
    row: int
    col: int
    typed: str
    message: str


class _FieldEscape(QObject):
    """Escape in a field whose refused value is held: the value is dropped and the field
    shows what is saved again."""

    def __init__(self, cells: TypedCells) -> None:
        super().__init__(cells.panel)
        self.cells = cells

    def eventFilter(self, obj: QObject | None, event: QEvent | None) -> bool:
        held = self.cells.held
        if (
            held is not None
            and obj is held.table
            and isinstance(event, QKeyEvent)
            and event.type() == QEvent.Type.KeyPress
            and event.key() == Qt.Key.Key_Escape
        ):
            self.cells.drop_typed_field()
        return False


class TypedCells:
    """What a panel's tables hold typed and not saved, settled before the case is left.

    A leave guard (`Workspace.add_leave_guard`): a cell still being typed is committed first,
    as Enter would commit it (the panel saves or refuses it as usual); a value the panel
    refused (`refused`) is held until the physician corrects it (a later commit of that table
    goes through), drops it (Escape in the cell's editor) or goes on to change the case
    (any edit, undo or another case: the refusal was read, and the cell it named may show
    something else now). While one is held the case is not left: the panel, its tab and the
    cell are brought forward, the typed text is back in the cell's editor, and the message
    line repeats why it was refused.
    """

    def __init__(self, panel: Panel) -> None:
        self.panel = panel
        self.tables: list[QTableWidget] = []
        self.fields: list[_Field] = []
        self.held: _Held | None = None
        self._saved_text: str | None = None  # a held field's text before the typed was put back
        self._refused_in_commit = False
        self._escape: _FieldEscape | None = None
        panel.listen(panel.ws.case_changed, self._case_changed)

    def _case_changed(self, *_: Any) -> None:
        self.held = None

    def drop(self, table: QTableWidget | _Field) -> None:
        """Forget a value refused in ``table`` (its rows now show something else)."""
        if self.held is not None and self.held.table is table:
            self.held = None

    def watch_field(self, field: _Field) -> None:
        """Settle ``field`` too: committed (as its ``editingFinished``, i.e. Enter or Tab)
        when it has the focus as the case is left; a value refused there (`refused_field`)
        held like a cell's, and dropped with Escape."""
        self.fields.append(field)
        # connected after the panel's own slot: runs once the panel has read the field
        field.editingFinished.connect(lambda f=field: self._committed(f))
        if self._escape is None:
            self._escape = _FieldEscape(self)
        field.installEventFilter(self._escape)

    def refused_field(self, field: _Field, typed: str, message: str) -> None:
        """The panel refused ``typed`` in ``field`` (``message`` said why): hold it."""
        self.held = _Held(field, -1, -1, typed, message)
        self._saved_text = None  # the field shows what is saved until the text is put back
        self._refused_in_commit = True

    def drop_typed_field(self) -> None:
        """Escape in the held field: what is saved is shown again, the value dropped."""
        held = self.held
        if held is not None and isinstance(held.table, _FIELDS):
            self.held = None
            if self._saved_text is not None:
                held.table.setText(self._saved_text)
            self.panel.say("the value typed was dropped; the field shows what is saved")

    def watch(self, table: QTableWidget) -> None:
        """Settle ``table``'s typed cells before the case is left."""
        self.tables.append(table)
        delegate = present(table.itemDelegate())
        # connected after the view's own slot: runs once the panel has read the commit
        delegate.commitData.connect(lambda _editor, t=table: self._committed(t))
        delegate.closeEditor.connect(lambda _editor, hint, t=table: self._closed(t, hint))

    def refused(
        self, table: QTableWidget, item: QTableWidgetItem, typed: str, message: str
    ) -> None:
        """The panel refused ``typed`` in ``item``'s cell (``message`` said why): hold it
        (a value typed; a tick refused is not held)."""
        if table.state() != table.State.EditingState:
            return
        self.held = _Held(table, item.row(), item.column(), typed, message)
        self._refused_in_commit = True

    def _committed(self, table: QTableWidget | _Field) -> None:
        refused, self._refused_in_commit = self._refused_in_commit, False
        if refused:
            return
        if isinstance(table, _FIELDS) and not table.isModified():
            # the field committed what the panel put there (the saved value, shown after
            # the refusal), as the focus left it: nothing was corrected
            return
        self.drop(table)  # corrected: this commit went through

    def _closed(self, table: QTableWidget, hint: QAbstractItemDelegate.EndEditHint) -> None:
        escaped = hint == QAbstractItemDelegate.EndEditHint.RevertModelCache
        if escaped and self.held is not None and self.held.table is table:
            self.drop(table)
            self.panel.say("the value typed was dropped; the cell shows what is saved")

    def commit_open(self) -> None:
        """Commit every cell being typed in the watched tables, as Enter would."""
        for table in self.tables:
            if table.state() != table.State.EditingState:
                continue
            editor = table.indexWidget(table.currentIndex())
            if editor is None:
                continue
            delegate = present(table.itemDelegate())
            self._refused_in_commit = False
            delegate.commitData.emit(editor)
            delegate.closeEditor.emit(editor, QAbstractItemDelegate.EndEditHint.NoHint)
        focus = QApplication.focusWidget()
        for field in self.fields:
            if field is focus:
                self._refused_in_commit = False
                field.editingFinished.emit()  # as Enter or Tab (Qt's own focus-out does too)

    def settled(self) -> bool:
        """The leave guard: True when nothing typed is held refused (after committing)."""
        self.commit_open()
        held = self.held
        if held is None:
            return True
        if _dock_closed(self.panel):
            self.held = None  # the physician closed the panel: nothing to correct there
            return True
        if isinstance(held.table, QTableWidget):
            item = held.table.item(held.row, held.col)
            if item is None or not item.flags() & Qt.ItemFlag.ItemIsEditable:
                self.held = None  # the cell is gone: nothing to correct there
                return True
        elif not held.table.isEnabled():
            self.held = None  # the field is not for typing now (no block shown)
            return True
        self.panel.say(
            f"{held.message} — correct it and press Enter, or press Escape to drop it; "
            "the case stays open until then"
        )
        # after the refusal's own redraw of the table (queued), which would overwrite an
        # editor opened now
        QTimer.singleShot(0, self._reopen)
        return False

    def _reopen(self) -> None:
        """Open the held cell's editor again with the text typed."""
        held = self.held
        if held is None:
            return
        table = held.table
        if isinstance(table, _FIELDS):
            _bring_forward(table)
            self._saved_text = table.text()
            table.setText(held.typed)
            if isinstance(table, TextBox):  # typed, not saved: a refill keeps it
                present(table.document()).setModified(True)
            table.selectAll()
            table.setFocus()
            return
        try:
            item = table.item(held.row, held.col)
        except RuntimeError:  # the panel is gone
            return
        if item is None:
            self.held = None
            return
        _bring_forward(table)
        table.setCurrentCell(held.row, held.col)
        table.setFocus()
        table.editItem(item)
        editor = table.indexWidget(table.currentIndex())
        if isinstance(editor, QLineEdit):
            editor.setText(held.typed)
            editor.selectAll()
            editor.setFocus()


class SaveEdit(Protocol):
    """A panel's save of an edit (`Panel.save_edit` with its words), as a part of the
    panel (a tab's table) is given it: True when saved; a value ``typed`` into a cell or
    a field that the store refused is held."""

    def __call__(
        self,
        case: Case,
        action: str,
        summary: str,
        *,
        typed: Typed | None = None,
        show_saved: Callable[[], None] | None = None,
    ) -> bool: ...


def refuse_typed(
    where: QTableWidgetItem | _Field,
    message: str,
    say: Callable[[str], None],
    show_saved: Callable[[], None] | None = None,
) -> None:
    """A value typed into a cell (``where`` is its item) or a field was refused.

    It is held (`TypedCells.refused`, `TypedCells.refused_field`: the case is not left
    until it is corrected or dropped with Escape), ``show_saved`` puts what is saved back
    on screen (when the panel does so at once), and ``say`` tells why (``message``).
    """
    typed = where.text().strip()
    if isinstance(where, _FIELDS):
        cells = typed_cells_of(where)
        if cells is not None:
            cells.refused_field(where, typed, message)
    else:
        table = present(where.tableWidget())
        cells = typed_cells_of(table)
        if cells is not None:
            cells.refused(table, where, typed, message)
    if show_saved is not None:
        show_saved()
    say(message)


def _row_id(table: QTableWidget, row: int) -> Any:
    """What a table row shows: its first cell's id (``UserRole``), else its text."""
    item = table.item(row, 0) if 0 <= row < table.rowCount() else None
    if item is None:
        return None
    found = item.data(Qt.ItemDataRole.UserRole)
    return found if found is not None else item.text()


def _typing_in(table: QTableWidget) -> tuple[int, int, Any, str] | None:
    """``(row, column, row id, text)`` of the cell being typed in ``table``, or None."""
    if table.state() != table.State.EditingState:
        return None
    editor = table.indexWidget(table.currentIndex())
    if not isinstance(editor, QLineEdit):
        return None
    row, col = table.currentRow(), table.currentColumn()
    return row, col, _row_id(table, row), editor.text()


@contextlib.contextmanager
def keeping_typed(table: QTableWidget) -> Iterator[bool]:
    """Refill ``table`` within this without losing a cell being typed.

    Qt puts a cell's stored value into its open editor whenever the cell's item is set
    again, so a refill while the physician typed (the table redrawn for a change made
    elsewhere, a queued redraw) replaced what they had typed with what was saved, and
    Enter then saved nothing new. The typed text is put back into the editor when the
    row still shows the same item (its first cell's id, or text). When the row shows
    another item now, the editor keeps that item's stored value, as Qt left it (Enter
    then changes nothing). Yields whether a cell is being typed: the refill must then
    not select a row again (Qt would move the current cell, committing and closing the
    editor).
    """
    typing = _typing_in(table)
    try:
        yield typing is not None
    finally:
        if typing is not None:
            row, col, row_id, typed = typing
            now = _typing_in(table)
            if now is not None and now[:3] == (row, col, row_id) and now[3] != typed:
                editor = table.indexWidget(table.currentIndex())
                if isinstance(editor, QLineEdit):
                    editor.setText(typed)


def typed_cells_of(widget: QWidget) -> TypedCells | None:
    """The `TypedCells` of the panel ``widget`` is in (None outside a panel)."""
    parent: QWidget | None = widget
    while parent is not None:
        if isinstance(parent, Panel):
            return parent.typed_cells
        parent = parent.parentWidget()
    return None


def _dock_closed(widget: QWidget) -> bool:
    """True when the dock holding ``widget`` was closed (not merely behind another dock)."""
    parent = widget.parentWidget()
    while parent is not None and not isinstance(parent, QDockWidget):
        parent = parent.parentWidget()
    return parent is not None and not present(parent.toggleViewAction()).isChecked()


def _bring_forward(widget: QWidget) -> None:
    """Show ``widget``: its dock raised above docks tabbed with it, its tab page chosen."""
    child: QWidget = widget
    parent = widget.parentWidget()
    while parent is not None:
        tabs = parent.parentWidget()
        if isinstance(parent, QStackedWidget) and isinstance(tabs, QTabWidget):
            tabs.setCurrentWidget(child)
        if isinstance(parent, QDockWidget):
            parent.raise_()
        child, parent = parent, parent.parentWidget()


class Panel(QWidget):
    """A blockplan dock widget: its keys stay in it; Escape leaves the placement mode;
    closing its window asks about unsaved edits first; what its tables hold typed is
    settled before the case is left (`TypedCells`)."""

    def __init__(self, napari_viewer: napari.viewer.Viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.ws: Workspace = workspace_for(napari_viewer)
        _watch_escape(self)
        self._undo_keys()
        self.typed_cells = TypedCells(self)
        unguard = self.ws.add_leave_guard(self.typed_cells.settled)
        self.destroyed.connect(lambda *_: unguard())

    def say(self, text: str) -> None:
        """Show ``text`` on the panel's message line (panels without one show nothing)."""
        message = getattr(self, "message", None)
        if isinstance(message, QLabel):
            message.setText(text)

    def say_error(self, text: str) -> None:
        """Show ``text`` on the message line and as a napari error notification."""
        from napari.utils.notifications import show_error

        self.say(text)
        show_error(f"blockplan: {text}")

    def save_edit(
        self,
        case: Case,
        action: str,
        summary: str,
        *,
        what: str,
        typed: Typed | None = None,
        show_saved: Callable[[], None] | None = None,
    ) -> bool:
        """Save ``case`` as the open case (an undoable edit) and say ``summary``; the one
        place every edit of a panel goes through.

        Refused by the store (`SaveRefused`): nothing changes in the case nor in the undo
        history; the message line says that ``what`` was not saved, why and what to do;
        a value ``typed`` into a cell or a field is held (`refuse_typed`); ``show_saved``
        (else `show_saved_case`) puts what the case holds back on screen. Returns whether
        it was saved.
        """
        try:
            self.ws.apply(case, action, summary)
        except SaveRefused as err:
            self.save_refused(err, what, typed=typed, show_saved=show_saved)
            return False
        self.say(summary)
        return True

    def save_refused(
        self,
        err: SaveRefused,
        what: str,
        *,
        typed: Typed | None = None,
        show_saved: Callable[[], None] | None = None,
    ) -> None:
        """Say that ``what`` was not saved (``err``), hold what was ``typed`` and show what
        the case holds (``show_saved``, else `show_saved_case`)."""
        message = err.words(what, typed=typed is not None)
        shown = show_saved or self.show_saved_case
        if typed is not None:
            refuse_typed(typed, message, self.say_error, shown)
        else:
            shown()
            self.say_error(message)

    def show_saved_case(self) -> None:
        """Show what the open case holds again, after a save was refused (a panel whose
        controls keep what was typed or chosen redraws them from ``ws.case``)."""

    def _undo_keys(self) -> None:
        """Ctrl+Z undoes the last edit of the case wherever the focus is in the panel
        (Ctrl+Shift+Z / Ctrl+Y redo); a text field being typed in keeps its own undo."""
        for keys, action in (
            (QKeySequence.StandardKey.Undo, lambda: self._step("undo")),
            (QKeySequence.StandardKey.Redo, lambda: self._step("redo")),
        ):
            for sequence in QKeySequence.keyBindings(keys):
                shortcut = QShortcut(sequence, self)
                shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
                shortcut.activated.connect(action)

    def _step(self, step: str) -> None:
        """Undo or redo through the panel's undo bar, which says what it did."""
        bar = self.findChild(UndoBar)
        if bar is not None:
            bar.undo() if step == "undo" else bar.redo()
            return
        said, refused = step_case(self.ws, step)
        if refused:
            self.say_error(said)

    def showEvent(self, event: QShowEvent | None) -> None:
        super().showEvent(event)
        _guard_closing(self)

    def listen(self, signal: Any, slot: Any) -> None:
        """Connect ``slot`` to a workspace signal until this panel is destroyed."""
        signal.connect(slot)
        self.destroyed.connect(lambda *_: signal.disconnect(slot))

    def keyPressEvent(self, event: QKeyEvent | None) -> None:
        if event is None:
            return
        if event.key() == Qt.Key.Key_Escape:
            self.ws.set_mode(None)
        event.accept()  # never forwarded to napari's layer shortcuts

    def keyReleaseEvent(self, event: QKeyEvent | None) -> None:
        if event is not None:
            event.accept()


class UndoBar(QWidget):
    """Undo / Redo buttons naming the edit they take back or restore. `stepped` says what
    an undo or redo did ("undone: delete landmark"), for the panel's message line, by button
    or key alike."""

    stepped = Signal(str)

    def __init__(self, ws: Workspace) -> None:
        super().__init__()
        self.ws = ws
        self.undo_button = QPushButton("Undo")
        self.undo_button.clicked.connect(self.undo)
        self.redo_button = QPushButton("Redo")
        self.redo_button.clicked.connect(self.redo)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.undo_button)
        row.addWidget(self.redo_button)
        ws.case_changed.connect(self._refresh)
        self.destroyed.connect(lambda *_: ws.case_changed.disconnect(self._refresh))
        self._refresh()

    def _refresh(self, *_: Any) -> None:
        last, following = self.ws.last_action, self.ws.next_redo
        self.undo_button.setEnabled(last is not None)
        self.undo_button.setText(f"Undo {last}" if last else "Undo")
        self.redo_button.setEnabled(following is not None)
        self.redo_button.setText(f"Redo {following}" if following else "Redo")

    def undo(self) -> str | None:
        """Undo the last edit of the case (saved like any edit); None when there was
        nothing to undo or the store refused it (said)."""
        return self._step("undo")

    def redo(self) -> str | None:
        """Redo the last undone edit (None: nothing to redo, or refused: said)."""
        return self._step("redo")

    def _step(self, step: str) -> str | None:
        pending = self.ws.last_action if step == "undo" else self.ws.next_redo
        said, refused = step_case(self.ws, step)
        self.stepped.emit(said)
        if refused:
            from napari.utils.notifications import show_error

            show_error(f"blockplan: {said}")
        return None if refused else pending


def step_case(ws: Workspace, step: str) -> tuple[str, bool]:
    """Undo or redo the last edit of ``ws``'s case (``step``): what to say, and whether the
    store refused it (then nothing was undone or redone, and the history is as it was)."""
    pending = ws.last_action if step == "undo" else ws.next_redo
    try:
        action = ws.undo() if step == "undo" else ws.redo()
    except SaveRefused as err:
        return err.words(f"{step} of {pending}"), True
    done = "undone" if step == "undo" else "redone"
    return (f"{done}: {action}" if action else f"nothing to {step}"), False
