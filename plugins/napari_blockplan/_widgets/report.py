"""Report panel: build the report, preview it, save it, archive it, export it de-identified.

An adapter: the report is `blockplan.report.build_report`, archiving and export are the
core jobs `blockplan.archive.jobs.archive_case` / `export_deidentified` / `send_waiting`,
run in worker threads with their steps shown. The PDF that is archived is exactly the one
previewed: archiving is refused when the case changed after the report was built.

What the physician types once per installation — the clinic, the author and the archive
destination — is kept in the clinician settings (`blockplan.settings`) when the field is
left (editing finished), so a relaunched napari shows it again. The author is the
settings' clinician: the same name the audit trail records (`Workspace.set_clinician`).
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
from collections.abc import Callable, Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qtpy.QtCore import Qt, QTimer
from qtpy.QtGui import QPixmap
from qtpy.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
)

from blockplan.case import Case
from napari_blockplan._widgets._controls import may_narrow, scroll_only
from napari_blockplan._widgets._panel import Panel, UndoBar

if TYPE_CHECKING:
    import napari

__all__ = ["ReportWidget"]

DATE_CHOICES = (
    ("remove dates", "remove"),
    ("shift dates 365 days back", "shift:-365"),
    ("keep the real dates", "keep"),
)
"""Date handling offered for a de-identified export: the words shown, the `DatePolicy` text
(the list had shown "shift:-365"; keeping the real dates comes last)."""


def _run_with_steps(job: Callable[[Callable[[str], None]], Any]) -> Generator[str, None, Any]:
    """Run ``job(progress)`` in a thread; yield each step it reports, return its result."""
    steps: queue.Queue[str | None] = queue.Queue()
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = job(steps.put)
        except BaseException as err:  # handed to the worker's errored signal below
            outcome["error"] = err
        finally:
            steps.put(None)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    while (step := steps.get()) is not None:
        yield step
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


STALE_REPORT = (
    "the case changed after the report was built: build the report again, review it, then archive"
)
"""Why the previewed report can no longer be archived (said when the case changes)."""

NO_CASE = "no case is open: open or start one in the Case panel, then build its report"
"""Why Build and Export do nothing without a case (Build had made a report of no one, every
field "not recorded", that could be archived)."""

NO_CASE_EXPORT = "no case is open: open or start one in the Case panel, then export it"

PREPARE_AFTER_MS = 1500
"""How long the case stays unchanged before the report's pictures are computed ahead."""


class ReportWidget(Panel):
    """Build (in the background), preview, save, archive and export the open case's report."""

    def __init__(self, napari_viewer: napari.viewer.Viewer) -> None:
        super().__init__(napari_viewer)
        from blockplan.settings import load_settings

        settings = load_settings()
        self.pdf: bytes | None = None
        self.pdf_case: Case | None = None
        """The case the built report shows (archiving needs it to be the open case)."""
        self.pages: list[bytes] = []
        self._worker: Any = None
        self.preparing: Any = None
        """The worker computing the report's pictures ahead (`prepare`), if any."""
        self.prepared_edit = -1
        """The case edit (`edits`) whose pictures were last computed ahead."""
        self.edits = [0]
        """How many times the case changed since the panel opened (-1: panel closed)."""
        self.destroyed.connect(lambda *_, e=self.edits: e.__setitem__(0, -1))
        self._prepare_timer = QTimer(self)
        self._prepare_timer.setSingleShot(True)
        self._prepare_timer.setInterval(PREPARE_AFTER_MS)
        self._prepare_timer.timeout.connect(self.prepare)
        self.listen(self.ws.case_changed, self._case_edited)

        self.clinic = QLineEdit(settings.clinic_name)
        self.clinic.setPlaceholderText("clinic name (printed in the header)")
        self.author = QLineEdit(settings.clinician_name)
        self.author.setPlaceholderText("the responsible physician (blockplan config)")
        # kept in the settings when left (not at each key): a relaunch had emptied them
        self.clinic.editingFinished.connect(lambda: self._keep("clinic_name", self.clinic))
        self.author.editingFinished.connect(lambda: self._keep("clinician_name", self.author))
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
        scroll.setMinimumHeight(300)

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
        layout.addWidget(self._archive_box(settings.archive_destination))
        layout.addWidget(UndoBar(self.ws))
        note = QLabel("Decision support, not a medical device.")
        note.setStyleSheet("color: gray; font-style: italic")
        layout.addWidget(note)
        self._show_outbox()
        # the wheel over "Dates" had turned "remove" into "shift:-365" (or "keep") for the
        # next de-identified export: it scrolls the panel instead
        scroll_only(self)

    def _archive_box(self, destination: str) -> QGroupBox:
        box = QGroupBox("Archive and export")
        self.destination = QLineEdit(destination)
        self.destination.setPlaceholderText("new folder, pacs://AE@host:port or https://…")
        self.destination.editingFinished.connect(
            lambda: self._keep("archive_destination", self.destination)
        )
        self.archive_button = QPushButton("Archive the previewed report")
        self.archive_button.setEnabled(False)
        self.archive_button.clicked.connect(lambda: self.archive())
        self.deid_dates = QComboBox()
        for words, policy in DATE_CHOICES:
            self.deid_dates.addItem(words, policy)
        self.export_button = QPushButton("Export de-identified…")
        self.export_button.clicked.connect(self._export_dialog)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)  # busy indicator while a job runs
        self.progress.setVisible(False)
        self.outbox = QLabel("")
        self.send_waiting_button = QPushButton("Send waiting objects")
        self.send_waiting_button.clicked.connect(lambda: self.send_waiting())
        form = QFormLayout(box)
        form.addRow("Archive to:", self.destination)
        form.addRow(self.archive_button)
        # the export's dates and its button one under the other: side by side (with the
        # longest date choice) they set every tabbed dock's width
        may_narrow(self.deid_dates)
        form.addRow("Dates:", self.deid_dates)
        form.addRow(self.export_button)
        form.addRow(self.progress)
        outbox = QHBoxLayout()
        outbox.addWidget(self.outbox, 1)
        outbox.addWidget(self.send_waiting_button)
        form.addRow(outbox)
        return box

    # -- the settings typed here ------------------------------------------------------
    def _keep(self, key: str, field: QLineEdit) -> None:
        """Save ``field``'s text as setting ``key`` when it differs from the saved one.

        The author is the configured clinician (operator and report author are one
        setting), saved as the Cases panel's clinician prompt saves it; an emptied author is
        not saved (the field shows the saved one again). An invalid value is refused with
        its reason and the saved one stays.
        """
        from blockplan.errors import BlockplanError
        from blockplan.settings import load_settings, save_settings, set_value

        words = {
            "clinic_name": "Clinic",
            "clinician_name": "Author",
            "archive_destination": "Archive destination",
        }
        text = field.text().strip()
        try:
            saved = str(getattr(load_settings(), key))
            if text == saved:
                return
            if key == "clinician_name":
                if not text:
                    field.setText(saved)
                    self.status.setText(f"the author stays {saved!r}: give a name to change it")
                    return
                self.ws.set_clinician(text)  # the audit trail's operator too
            else:
                save_settings(set_value(load_settings(), key, text))
        except BlockplanError as err:
            self._refuse(f"{words[key]} not saved: {err}")
            return
        self.status.setText(
            f"{words[key]} saved: {'cleared' if not text else repr(text)}, kept after a relaunch"
            + (" (edits are recorded with this name too)" if key == "clinician_name" else "")
        )

    # -- the report -----------------------------------------------------------------
    def _case_edited(self, *_: Any) -> None:
        self.edits[0] += 1  # a running preparation stops before its next target
        self._prepare_timer.start()
        if self.build_button.isEnabled():  # not while a report is being built
            self._say_if_stale()

    def _say_if_stale(self, done: str = "") -> None:
        """The preview no longer shows the case: say so at once and disable Archive and
        Save PDF… — the physician used to learn it only from Archive's refusal, and could
        save the outdated PDF. ``done``: what a job just finished, said before it."""
        if self.pdf_case is None:
            return
        stale = self.pdf_case != self.ws.case
        self.archive_button.setEnabled(not stale)
        self.save_button.setEnabled(not stale)  # an outdated PDF is not saved either
        if stale:
            self.status.setText(f"{done}; {STALE_REPORT}" if done else STALE_REPORT)

    def _job_ended(self, done: str) -> None:
        """An archive, export or send ended (``done`` says how): Archive is enabled again
        only for a report that still shows the case — an export finished or refused had
        enabled it under "the case changed after the report was built", and its click was
        then refused."""
        self.progress.setVisible(False)
        self.export_button.setEnabled(True)
        self.archive_button.setEnabled(self.pdf is not None)
        self.status.setText(done)
        self._say_if_stale(done)

    def prepare(self) -> Any:
        """Compute the report's pictures and level count ahead, in a worker
        (`blockplan.report.prepare_report`), so that Build finds them ready.

        Runs when the case has been left unchanged for `PREPARE_AFTER_MS`; an edit stops
        it before its next target. Nothing is shown and nothing is written.
        """
        from napari.qt.threading import thread_worker

        case, volumes = self.ws.case, self.ws.volumes()
        if not volumes or not (case.trajectories or case.levels):
            return None
        edits, edit = self.edits, self.edits[0]  # the worker never touches the widget

        @thread_worker  # type: ignore[untyped-decorator]
        def _prepare() -> int:
            from blockplan.report import ReportOptions, prepare_report

            # at the GUI thread's priority: this work holds the GIL most of the time, and a
            # low-priority thread holding it would stall the GUI thread (see _reader)
            options = ReportOptions.from_settings(created_at=dt.datetime.now().astimezone())
            prepare_report(case, volumes, options, cancelled=lambda: edits[0] != edit)
            return edit

        self.preparing = _prepare()
        self.preparing.returned.connect(self._prepared)
        self.preparing.start()
        return self.preparing

    def _prepared(self, edit: int) -> None:
        if edit == self.edits[0]:
            self.prepared_edit = edit

    def build(self) -> Any:
        """Build the report of the open case in a background thread."""
        from napari.qt.threading import thread_worker

        if not self.ws.is_open:
            return self._refuse(NO_CASE)
        case = self.ws.case
        volumes = self.ws.volumes()
        clinic, author = self.clinic.text().strip(), self.author.text().strip()

        @thread_worker(  # type: ignore[untyped-decorator]
            connect={"returned": self._built, "errored": self._failed}
        )
        def _build() -> tuple[Case, bytes, list[bytes]]:
            from blockplan.report import ReportOptions, build_report
            from blockplan.report.preview import render_pages

            options = ReportOptions.from_settings(
                clinic_name=clinic, author=author, created_at=dt.datetime.now().astimezone()
            )
            pdf = build_report(case, volumes=volumes, options=options)
            try:
                pages = render_pages(pdf, dpi=60)
            except Exception:  # no pdftoppm: the report stands, without a preview
                pages = []
            return case, pdf, pages

        self.build_button.setEnabled(False)
        self.status.setText("building the report…")
        self._worker = _build()
        return self._worker

    def _built(self, result: tuple[Case, bytes, list[bytes]]) -> None:
        self.pdf_case, self.pdf, self.pages = result
        self.build_button.setEnabled(True)
        self.save_button.setEnabled(True)
        self.archive_button.setEnabled(True)
        self.page.setMaximum(max(len(self.pages), 1))
        self.page.setSuffix(f" of {len(self.pages)}" if self.pages else "")
        # wide enough for "9 of 9": the row had squeezed it to "1 of '"
        self.page.setMinimumWidth(self.page.sizeHint().width())
        self.status.setText(
            f"report built: {len(self.pages)} pages, {len(self.pdf) / 1024:.0f} kB"
            if self.pages
            else "report built (no preview: install poppler-utils for pdftoppm)"
        )
        self._show_page(self.page.value())
        self._say_if_stale()  # edited while it was being built

    def _failed(self, err: Exception) -> None:
        from napari.utils.notifications import show_error

        self.build_button.setEnabled(True)
        self._job_ended(f"failed: {err}")
        show_error(f"blockplan: {err}")

    def _show_page(self, number: int) -> None:
        if not self.pages or not 1 <= number <= len(self.pages):
            return
        pixmap = QPixmap()
        pixmap.loadFromData(self.pages[number - 1], "PNG")
        self.preview.setPixmap(pixmap)

    def save(self, path: str | Path) -> Path:
        """Write the built report atomically (mode 0600) and keep it with its case, so a
        later archive (here or `blockplan archive`) sends these very bytes."""
        from blockplan.case.casefile import write_bytes_atomic
        from blockplan.errors import ReportError
        from blockplan.report.kept import keep_report

        if self.pdf is None or self.pdf_case is None:
            raise ReportError("build the report first")
        written = write_bytes_atomic(Path(path), self.pdf)
        kept = keep_report(self.pdf_case, self.pdf)
        self.status.setText(f"saved {written} (report {kept.report_id}, kept with the case)")
        return written

    def _save_dialog(self) -> None:
        from blockplan.errors import BlockplanError

        name, _ = QFileDialog.getSaveFileName(self, "Save report", "report.pdf", "PDF (*.pdf)")
        if not name:
            return
        try:
            self.save(name)
        except OSError as err:  # had reached napari as a traceback
            why = err.strerror or type(err).__name__
            self._refuse(f"report not saved: {why} ({Path(name).name}); choose another folder")
        except BlockplanError as err:  # written, but not kept with the case
            self._refuse(f"report not kept with the case: {err}")

    # -- archive and export --------------------------------------------------------------
    def _images(self) -> Path | None:
        folder = self.ws.images_folder()
        if folder is None:
            self._refuse("the images the plan was made on are not known: load the study first")
        return folder

    def _refuse(self, text: str) -> None:
        from napari.utils.notifications import show_error

        self.status.setText(text)
        show_error(f"blockplan: {text}")

    def _start(self, job: Callable[[Callable[[str], None]], Any], done: Callable[..., None]) -> Any:
        from napari.qt.threading import thread_worker

        worker = thread_worker(
            _run_with_steps,
            connect={"yielded": self.status.setText, "returned": done, "errored": self._failed},
        )(job)
        self.progress.setVisible(True)
        self.archive_button.setEnabled(False)
        self.export_button.setEnabled(False)  # one job at a time
        self._worker = worker
        return worker

    def archive(self) -> Any:
        """Archive the previewed report with the SR and SEG to the destination given."""
        from blockplan.archive.jobs import archive_case
        from blockplan.settings import load_settings

        destination = self.destination.text().strip()
        if self.pdf is None or self.pdf_case is None:
            return self._refuse("build and review the report first; then archive it")
        if self.pdf_case != self.ws.case:
            return self._refuse(STALE_REPORT)
        if not destination:
            return self._refuse("give a destination: a new folder, pacs://… or https://…")
        images = self._images()
        if images is None:
            return None
        case, pdf, ae = self.pdf_case, self.pdf, load_settings().calling_ae_title
        return self._start(
            lambda progress: archive_case(
                case, images, destination, pdf=pdf, calling_ae=ae, progress=progress
            ),
            self._archived,
        )

    def _archived(self, outcome: Any) -> None:
        where = outcome.folder if outcome.folder is not None else outcome.destination
        sent = f"{len(outcome.sent)} objects confirmed; " if outcome.folder is None else ""
        self._job_ended(f"archived to {where}: {sent}the report exactly as previewed")
        self._show_outbox()

    def export_deidentified(self, folder: str | Path) -> Any:
        """Export a de-identified copy of the case's archive objects into a new folder."""
        from blockplan.archive.jobs import export_deidentified

        if not self.ws.is_open:
            return self._refuse(NO_CASE_EXPORT)
        images = self._images()
        if images is None:
            return None
        case, dates = self.ws.case, str(self.deid_dates.currentData())
        return self._start(
            lambda progress: export_deidentified(
                case, images, folder, dates=dates, progress=progress
            ),
            self._exported,
        )

    def _exported(self, folder: Path) -> None:
        self._job_ended(f"de-identified export written to {folder}")

    def _export_dialog(self) -> None:
        # refused before a folder is asked for, not after it was chosen
        if not self.ws.is_open:
            self._refuse(NO_CASE_EXPORT)
            return
        if self._images() is None:
            return
        name, _ = QFileDialog.getSaveFileName(self, "Export de-identified to a new folder")
        if name:
            self.export_deidentified(name)

    def send_waiting(self) -> Any:
        """Send the objects waiting in the outbox to the PACS destination given."""
        from blockplan.archive.jobs import send_waiting
        from blockplan.settings import load_settings

        destination = self.destination.text().strip()
        if "://" not in destination:
            return self._refuse("give the PACS to send to: pacs://AE@host:port or https://…")
        ae = load_settings().calling_ae_title
        return self._start(
            lambda progress: send_waiting(destination, calling_ae=ae, progress=progress),
            self._archived,
        )

    def _show_outbox(self) -> None:
        from blockplan.archive.jobs import waiting_in_outbox

        waiting = waiting_in_outbox()
        self.outbox.setText(
            f"outbox: {waiting} object(s) waiting to be sent" if waiting else "outbox: empty"
        )
        self.send_waiting_button.setEnabled(waiting > 0)
