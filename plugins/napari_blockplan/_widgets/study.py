"""Study browser: find the series in a folder, see their status, load the ones you want.

Above the table, the patient and study recorded in the images (one header read), so the
physician sees whose study it is before loading it. Finding and loading run in a worker
thread with progress and Cancel; napari stays responsive throughout.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from qtpy.QtCore import Qt
from qtpy.QtGui import QColor
from qtpy.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QFormLayout,
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
from napari_blockplan._widgets._controls import scroll_only
from napari_blockplan._workspace import workspace_for

if TYPE_CHECKING:
    import napari

__all__ = ["StudyWidget"]

_STATUS_COLOURS = {"refused": "#d55e00", "warnings": "#e69f00"}
"""Text colour of a series row that will not load as it is (vermillion) or loads with
warnings (orange), as the report's palette."""
_COLUMNS = ("No.", "Modality", "Description", "Orientation", "Images", "Size", "Status")
_GAP_ITEMS = (
    ("refuse", "refuse the series"),
    ("resample", "resample (interpolated)"),
    ("split", "split at the gap"),
)
_TILT_ITEMS = (("shear", "keep (sheared)"), ("resample", "resample"))


class StudyWidget(QWidget):
    """List the series of a folder and load the selected ones as layers.

    Finding the series (headers only) and loading them run in a worker thread with a
    progress bar and Cancel (`_reader.StudyLoad`); each series shows as soon as its
    first slice is read and fills in as it loads, so napari stays responsive.
    """

    def __init__(self, napari_viewer: napari.viewer.Viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.series: list[Any] = []
        self.job: Any = None
        """The running `StudyLoad` (scan or load), if any."""
        self._load_when_found = False

        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText("DICOM folder, file or DICOMDIR")
        # Enter after typing or pasting a path finds its series (it had done nothing)
        self.path_edit.returnPressed.connect(lambda: self.scan(self.path_edit.text()))
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

        choices = self._choices_row()
        self._found: Any = None

        self.load_button = QPushButton("Load selected")
        self.load_button.clicked.connect(self.load_selected)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("stop finding or loading; series already loaded stay")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setVisible(False)
        busy = QHBoxLayout()
        busy.addWidget(self.progress)
        busy.addWidget(self.cancel_button)
        self.status = QLabel("")
        self.status.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.identity_label)
        layout.addWidget(self.table)
        layout.addLayout(choices)
        layout.addWidget(self.load_button)
        layout.addLayout(busy)
        layout.addWidget(self.status)
        self.destroyed.connect(lambda *_: self._stop_quietly())
        self._markers: tuple[Any, ...] = ()
        """The open case's level markers the listing used (angled stacks name their disc)."""
        ws = workspace_for(napari_viewer)
        ws.case_changed.connect(self._on_case)
        self.destroyed.connect(lambda *_: ws.case_changed.disconnect(self._on_case))
        # the wheel over Gaps or Gantry tilt had changed how the next series is loaded
        # (refuse → resample): it scrolls the panel instead
        scroll_only(self)

    def _choices_row(self) -> QFormLayout:
        """The 'Gaps' and 'Gantry tilt' choices (`blockplan.io.gaps.with_choices`)."""
        self.gaps_combo = QComboBox()
        for value, text in _GAP_ITEMS:
            self.gaps_combo.addItem(text, value)
        self.gaps_combo.setToolTip(
            "a series with a missing slice or irregular spacing: refuse it, resample it "
            "onto regular spacing (its layer is marked 'interpolated'), or split it at the "
            "gap into regular parts"
        )
        self.tilt_combo = QComboBox()
        for value, text in _TILT_ITEMS:
            self.tilt_combo.addItem(text, value)
        self.tilt_combo.setToolTip(
            "gantry-tilted CT: keep the acquired voxels (sheared grid) or resample them "
            "onto an orthogonal grid"
        )
        self.gaps_combo.currentIndexChanged.connect(lambda *_: self._relist())
        self.tilt_combo.currentIndexChanged.connect(lambda *_: self._relist())
        # one under the other: side by side they set every tabbed dock's width (505 px)
        choices = QFormLayout()
        choices.addRow("Gaps:", self.gaps_combo)
        choices.addRow("Gantry tilt:", self.tilt_combo)
        return choices

    # -- actions ------------------------------------------------------------------
    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "DICOM folder")
        if folder:
            self.path_edit.setText(folder)
            self.scan(folder)

    @property
    def busy(self) -> bool:
        """Whether a scan or a load is running."""
        return self.job is not None and self.job.running

    def scan(self, path: str | Path) -> Any:
        """Find the series under ``path`` (headers only) in a worker; the table fills in
        when done. Returns the `StudyLoad`."""
        from napari_blockplan._reader import StudyLoad

        if self.busy:
            self.job.cancel()
        self.path_edit.setText(str(path))
        if not str(path).strip() or not Path(path).exists():
            # the path is not repeated: folder names can name people
            self._show_error("no such file or folder: choose a DICOM folder (Browse…)")
            return None
        job = StudyLoad(self.viewer, path=path, source=path, scan_only=True)
        job.scanned.connect(self._show_series)
        return self._run(job, "Finding the series…")

    @property
    def choices(self) -> tuple[str, str]:
        """(gaps, tilt) as chosen: see `blockplan.io.gaps.with_choices`."""
        return self.gaps_combo.currentData(), self.tilt_combo.currentData()

    def set_choices(self, gaps: str, tilt: str) -> None:
        """Preset the choices (``blockplan view --gaps/--tilt``)."""
        self.gaps_combo.setCurrentIndex(max(0, self.gaps_combo.findData(gaps)))
        self.tilt_combo.setCurrentIndex(max(0, self.tilt_combo.findData(tilt)))

    def _relist(self) -> None:
        """The choices changed: list the found series again as they would load."""
        if self._found is not None and not self.busy:
            self._show_series(self._found)

    def _on_case(self, case: Any) -> None:
        """Levels marked or moved: list the angled stacks again with their discs."""
        if tuple(case.levels) != self._markers:
            self._relist()

    def _show_series(self, found: Any) -> None:
        from blockplan.io.gaps import with_choices
        from blockplan.planning.stacks import stack_listing

        self._markers = tuple(workspace_for(self.viewer).case.levels)
        self._found = found
        self.series = with_choices(list(found.series), *self.choices)  # type: ignore[arg-type]
        self.identity_label.setText(_identity_text(found))
        self.table.setRowCount(len(self.series))
        for row, info in enumerate(self.series):
            status = (
                info.status if info.status != "refused" else "refused: " + "; ".join(info.reasons)
            )
            stack = stack_listing(info, self._markers)
            values = (
                "" if info.series_number is None else str(info.series_number),
                info.modality,
                info.description + (f" — {stack}" if stack else ""),
                info.orientation,
                str(info.n_images),
                f"{info.columns}×{info.rows}",
                status,
            )
            colour = _STATUS_COLOURS.get(info.status)
            for col, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                if colour is not None:  # the Status column may lie beyond the dock's edge
                    item.setForeground(QColor(colour))
                    item.setToolTip(status)
                self.table.setItem(row, col, item)
        self.table.resizeColumnsToContents()
        skipped = f", {len(found.skipped)} other files skipped" if found.skipped else ""
        refused = [
            f" Series {info.series_number or '?'} refused: {_sentence(info.reasons)}"
            for info in self.series
            if info.status == "refused"
        ]
        if not self.series:  # "0 series found, 1 other files skipped." said nothing to do
            self._found_text = (
                f"No DICOM series found here{skipped}: choose the folder that holds the "
                "study's DICOM files (Browse…)."
            )
        else:
            self._found_text = f"{len(self.series)} series found{skipped}.{''.join(refused)}"

    def selected_series(self) -> list[Any]:
        """The series of the selected rows (all loadable ones when nothing is selected)."""
        rows = sorted({index.row() for index in self.table.selectedIndexes()})
        chosen = [self.series[r] for r in rows] if rows else list(self.series)
        return [s for s in chosen if s.status != "refused"]

    def load_selected(self) -> Any:
        """Load the selected series in a worker, each shown as soon as its first slice is
        read (while a scan runs: load all it finds when it is done). Returns the
        `StudyLoad`, or None."""
        from napari_blockplan._reader import StudyLoad

        if self.busy and self.job.scan_only:
            self._load_when_found = True
            self.status.setText("The series load as soon as they are found.")
            return None
        if self.busy:
            return self.job
        chosen = self.selected_series()
        if not chosen:
            rows = sorted({index.row() for index in self.table.selectedIndexes()})
            refused = [
                f"Series {info.series_number or '?'} refused: {_sentence(info.reasons)}"
                for info in ([self.series[r] for r in rows] if rows else self.series)
            ]
            self._show_error(  # the Status column may lie beyond the dock's edge
                " ".join(["no loadable series selected.", *refused])
                if refused
                else "no series to load: find the series of a DICOM folder first"
            )
            return None
        source = self.path_edit.text().strip()
        gaps, tilt = self.choices
        job = StudyLoad(self.viewer, infos=chosen, source=source, gaps=gaps, tilt=tilt)  # type: ignore[arg-type]
        return self._run(job, "Loading…")

    def cancel(self) -> None:
        """Stop the scan or load that is running (series already loaded stay)."""
        self._load_when_found = False
        if self.busy:
            self.job.cancel()
            self.status.setText("Cancelling…")

    def _run(self, job: Any, text: str) -> Any:
        self.job = job
        job.progressed.connect(self._on_progress)
        job.finished.connect(lambda summary, job=job: self._done(job, summary))
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.load_button.setEnabled(False)
        self.scan_button.setEnabled(False)
        self.status.setText(text)
        job.start()
        return job

    def _on_progress(self, text: str, fraction: float) -> None:
        self.progress.setValue(int(1000 * fraction))
        self.status.setText(text)

    def _done(self, job: Any, summary: str) -> None:
        if job is not self.job:
            return  # a job replaced by a newer one
        self.job = None
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        self.load_button.setEnabled(True)
        self.scan_button.setEnabled(True)
        if job.scan_only:
            found = getattr(self, "_found_text", "")
            self.status.setText("Cancelled." if job.cancelled else found)
            if self._load_when_found and not job.cancelled:
                self._load_when_found = False
                self.load_selected()
            return
        problems = f" {len(job.problems)} not loaded: {job.problems[0]}" if job.problems else ""
        self.status.setText(summary + problems)

    def _stop_quietly(self) -> None:
        """The panel is gone: stop its job and never call back into it."""
        job, self.job = self.job, None
        if job is not None:
            job.progressed.disconnect()
            job.finished.disconnect()
            job.scanned.disconnect()
            if job.running:
                job.cancel()

    def _show_error(self, message: str) -> None:
        from napari.utils.notifications import show_error

        self.status.setText(message)
        show_error(f"blockplan: {message}")


def _sentence(reasons: Any) -> str:
    """Reasons joined into one sentence ending in a single full stop (a reason ending in
    one had been shown as "…or pick another series..")."""
    return "; ".join(reasons).rstrip(". ") + "."


def _identity_text(found: Any) -> str:
    """The patient and study of a scanned folder, one line each (shown, never logged)."""
    from blockplan.case._text import format_person_name, sex_text
    from blockplan.errors import BlockplanError
    from blockplan.io import study_identity

    if not found.series:
        return ""
    try:
        i = study_identity(found)
    except BlockplanError as err:
        return f"Patient and study not identified: {err}"

    gap = "not recorded"  # the Case panel's and the report's word for an empty field

    def day(value: Any) -> str:
        return value.isoformat() if value else gap

    patient = (
        f"Patient: {format_person_name(i.patient_name) or gap} · ID {i.patient_id or gap}"
        f" · born {day(i.birth_date)} · sex {sex_text(i.sex) or gap}"
    )
    study = (
        f"Study: {day(i.study_date)} · accession {i.accession_number or gap}"
        f" · referring {format_person_name(i.referring_physician) or gap}"
    )
    if i.study_description:
        study += f" · {i.study_description}"
    return f"{patient}\n{study}"
