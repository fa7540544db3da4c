"""Study browser: find the series in a folder, see their status, load the ones you want.

Above the table, the patient and study recorded in the images (one header read), so the
physician sees whose study it is before loading it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from napari_blockplan._qt import present

if TYPE_CHECKING:
    import napari

__all__ = ["StudyWidget"]

_COLUMNS = ("No.", "Modality", "Description", "Orientation", "Images", "Size", "Status")


class StudyWidget(QWidget):
    """List the series of a folder and load the selected ones as layers."""

    def __init__(self, napari_viewer: napari.viewer.Viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.series: list[Any] = []
        self._worker: Any = None
        self._loaded = 0

        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText("DICOM folder, file or DICOMDIR")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.scan_button = QPushButton("Find series")
        self.scan_button.clicked.connect(lambda: self.scan(self.path_edit.text()))
        row = QHBoxLayout()
        row.addWidget(self.path_edit)
        row.addWidget(browse)
        row.addWidget(self.scan_button)

        self.identity_label = QLabel("")
        self.identity_label.setWordWrap(True)
        self.identity_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.table = QTableWidget(0, len(_COLUMNS))
        self.table.setHorizontalHeaderLabels(_COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        present(self.table.verticalHeader()).setVisible(False)

        self.load_button = QPushButton("Load selected")
        self.load_button.clicked.connect(self.load_selected)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.status = QLabel("")
        self.status.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.identity_label)
        layout.addWidget(self.table)
        layout.addWidget(self.load_button)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)

    # -- actions ------------------------------------------------------------------
    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "DICOM folder")
        if folder:
            self.path_edit.setText(folder)
            self.scan(folder)

    def scan(self, path: str | Path) -> None:
        """Discover the series under ``path`` (header-only) and list them."""
        from blockplan.errors import BlockplanError
        from blockplan.io import discover

        self.path_edit.setText(str(path))
        try:
            found = discover(Path(path))
        except BlockplanError as err:
            self._show_error(str(err))
            return
        self.series = list(found.series)
        self.identity_label.setText(_identity_text(found))
        self.table.setRowCount(len(self.series))
        for row, info in enumerate(self.series):
            status = (
                info.status if info.status != "refused" else "refused: " + "; ".join(info.reasons)
            )
            values = (
                "" if info.series_number is None else str(info.series_number),
                info.modality,
                info.description,
                info.orientation,
                str(info.n_images),
                f"{info.columns}×{info.rows}",
                status,
            )
            for col, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.table.setItem(row, col, item)
        self.table.resizeColumnsToContents()
        skipped = f", {len(found.skipped)} other files skipped" if found.skipped else ""
        self.status.setText(f"{len(self.series)} series found{skipped}.")

    def selected_series(self) -> list[Any]:
        """The series of the selected rows (all loadable ones when nothing is selected)."""
        rows = sorted({index.row() for index in self.table.selectedIndexes()})
        chosen = [self.series[r] for r in rows] if rows else list(self.series)
        return [s for s in chosen if s.status != "refused"]

    def load_selected(self) -> Any:
        """Load the selected series in a background thread, with progress."""
        from napari.qt.threading import thread_worker

        chosen = self.selected_series()
        if not chosen:
            self._show_error("no loadable series selected")
            return None
        source = self.path_edit.text().strip()

        @thread_worker(  # type: ignore[untyped-decorator]
            connect={"yielded": self._add_layer, "finished": self._done}
        )
        def _load() -> Any:
            from blockplan.errors import BlockplanError
            from blockplan.io import load_series
            from napari_blockplan._convert import image_layer_data
            from napari_blockplan._reader import with_identity

            for info in chosen:
                try:
                    yield with_identity(image_layer_data(load_series(info)), info, source)
                except BlockplanError as err:
                    yield err

        self.progress.setRange(0, len(chosen))
        self.progress.setValue(0)
        self._loaded = 0
        self.progress.setVisible(True)
        self.load_button.setEnabled(False)
        self._worker = _load()
        return self._worker

    def _add_layer(self, result: Any) -> None:
        self.progress.setValue(self.progress.value() + 1)
        if isinstance(result, Exception):
            self._show_error(str(result))
            return
        data, kwargs, _ = result
        first = self._loaded == 0
        # like the reader: the first series shows, the others start hidden
        self.viewer.add_image(data, **{**kwargs, "visible": first})
        self._loaded += 1
        if first:
            self.viewer.reset_view()

    def _done(self) -> None:
        self.progress.setVisible(False)
        self.load_button.setEnabled(True)
        self.status.setText(f"{self._loaded} series loaded.")
        self.viewer.reset_view()

    def _show_error(self, message: str) -> None:
        from napari.utils.notifications import show_error

        self.status.setText(message)
        show_error(f"blockplan: {message}")


def _identity_text(found: Any) -> str:
    """The patient and study of a scanned folder, one line each (shown, never logged)."""
    from blockplan.case._text import format_person_name
    from blockplan.errors import BlockplanError
    from blockplan.io import study_identity

    if not found.series:
        return ""
    try:
        i = study_identity(found)
    except BlockplanError as err:
        return f"Patient and study not identified: {err}"

    def day(value: Any) -> str:
        return value.isoformat() if value else "–"

    patient = (
        f"Patient: {format_person_name(i.patient_name) or '–'} · ID {i.patient_id or '–'}"
        f" · born {day(i.birth_date)} · sex {i.sex or '–'}"
    )
    study = (
        f"Study: {day(i.study_date)} · accession {i.accession_number or '–'}"
        f" · referring {format_person_name(i.referring_physician) or '–'}"
    )
    if i.study_description:
        study += f" · {i.study_description}"
    return f"{patient}\n{study}"
