"""Report dock widget: build the report of the open case, preview it, save it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qtpy.QtCore import Qt
from qtpy.QtGui import QPixmap
from qtpy.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from napari_blockplan._workspace import workspace_for

if TYPE_CHECKING:
    import napari

__all__ = ["ReportWidget"]


class ReportWidget(QWidget):
    """Build (in the background), preview and save the PDF/A report of the open case."""

    def __init__(self, napari_viewer: napari.viewer.Viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.ws = workspace_for(napari_viewer)
        self.pdf: bytes | None = None
        self.pages: list[bytes] = []
        self._worker: Any = None

        self.clinic = QLineEdit()
        self.clinic.setPlaceholderText("clinic name (printed in the header)")
        self.author = QLineEdit(self.ws.user)
        self.build_button = QPushButton("Build report")
        self.build_button.clicked.connect(self.build)
        self.save_button = QPushButton("Save PDF…")
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(self._save_dialog)
        self.page = QSpinBox()
        self.page.setMinimum(1)
        self.page.valueChanged.connect(self._show_page)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.preview = QLabel("no report built yet")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        scroll = QScrollArea()
        scroll.setWidget(self.preview)
        scroll.setWidgetResizable(True)
        scroll.setMinimumHeight(360)

        form = QFormLayout()
        form.addRow("Clinic:", self.clinic)
        form.addRow("Author:", self.author)
        buttons = QHBoxLayout()
        buttons.addWidget(self.build_button)
        buttons.addWidget(self.save_button)
        buttons.addWidget(QLabel("Page:"))
        buttons.addWidget(self.page)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(scroll)
        note = QLabel("Decision support, not a medical device.")
        note.setStyleSheet("color: gray; font-style: italic")
        layout.addWidget(note)

    def build(self) -> Any:
        """Build the report of the open case in a background thread."""
        from napari.qt.threading import thread_worker

        case = self.ws.case
        volumes = self.ws.volumes()
        clinic, author = self.clinic.text().strip(), self.author.text().strip()

        @thread_worker(connect={"returned": self._built, "errored": self._failed})
        def _build() -> tuple[bytes, list[bytes]]:
            from blockplan.report import ReportOptions, build_report
            from blockplan.report.preview import render_pages

            options = ReportOptions(
                clinic_name=clinic,
                author=author,
                created_at=dt.datetime.now(dt.UTC).astimezone(),
            )
            pdf = build_report(case, volumes=volumes, options=options)
            try:
                pages = render_pages(pdf, dpi=60)
            except Exception:
                pages = []
            return pdf, pages

        self.build_button.setEnabled(False)
        self.status.setText("building the report…")
        self._worker = _build()
        return self._worker

    def _built(self, result: tuple[bytes, list[bytes]]) -> None:
        self.pdf, self.pages = result
        self.build_button.setEnabled(True)
        self.save_button.setEnabled(True)
        self.page.setMaximum(max(len(self.pages), 1))
        self.status.setText(
            f"report built: {len(self.pages)} pages, {len(self.pdf) / 1024:.0f} kB"
            if self.pages
            else "report built (no preview: install poppler-utils for pdftoppm)"
        )
        self._show_page(self.page.value())

    def _failed(self, err: Exception) -> None:
        from napari.utils.notifications import show_error

        self.build_button.setEnabled(True)
        self.status.setText(f"the report could not be built: {err}")
        show_error(f"blockplan: the report could not be built: {err}")

    def _show_page(self, number: int) -> None:
        if not self.pages or not 1 <= number <= len(self.pages):
            return
        pixmap = QPixmap()
        pixmap.loadFromData(self.pages[number - 1], "PNG")
        self.preview.setPixmap(pixmap)

    def save(self, path: str | Path) -> Path:
        """Write the built report atomically (mode 0600)."""
        from blockplan.case.casefile import write_bytes_atomic
        from blockplan.errors import ReportError

        if self.pdf is None:
            raise ReportError("build the report first")
        written = write_bytes_atomic(Path(path), self.pdf)
        self.status.setText(f"saved {written}")
        return written

    def _save_dialog(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Save report", "report.pdf", "PDF (*.pdf)")
        if name:
            self.save(name)
