"""What every blockplan dock widget shares: keys stay in the panel, Escape, undo and redo.

Keystrokes typed in a panel never reach napari: a key press or release that no child
widget used (a digit on a table that is not being edited, a letter on a button) would
otherwise travel up to the main window and trigger a layer shortcut — "2" switches a
Labels layer to paint, and the next click on the canvas paints scar. `Panel` swallows
them. Escape always leaves the placement mode, wherever the focus is in the panel.

The undo bar shows what Undo and Redo would do and works from every panel, so every
autosaved edit can be taken back where it was made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qtpy.QtCore import QEvent, QObject, Qt
from qtpy.QtGui import QKeyEvent
from qtpy.QtWidgets import QApplication, QHBoxLayout, QPushButton, QWidget

from napari_blockplan._workspace import Workspace, workspace_for

if TYPE_CHECKING:
    import napari

__all__ = ["Panel", "UndoBar"]


class _EscapeFilter(QObject):
    """Escape anywhere in the viewer's window leaves the placement mode.

    Watches key presses application-wide without consuming them: napari's layers bind
    Escape themselves (a Shapes layer finishes a drawing with it), which would otherwise
    shadow the viewer's binding while such a layer is selected.
    """

    def __init__(self, panel: Panel) -> None:
        super().__init__(panel)
        self.panel = panel

    def eventFilter(self, obj: QObject | None, event: QEvent | None) -> bool:
        if (
            event is not None
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Escape
            and isinstance(obj, QWidget)
            and obj.window() is self.panel.window()
            and self.panel.ws.mode is not None
        ):
            self.panel.ws.set_mode(None)
        return False


class Panel(QWidget):
    """A blockplan dock widget: its keys stay in it; Escape leaves the placement mode."""

    def __init__(self, napari_viewer: napari.viewer.Viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.ws: Workspace = workspace_for(napari_viewer)
        app = QApplication.instance()
        if app is not None:
            self._escape = _EscapeFilter(self)
            app.installEventFilter(self._escape)  # Qt drops it when the panel is deleted

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
    """Undo / Redo buttons naming the edit they take back or restore."""

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
        """Undo the last edit of the case (saved like any edit)."""
        return self.ws.undo()

    def redo(self) -> str | None:
        """Redo the last undone edit."""
        return self.ws.redo()
