"""Report panel: build the report, preview it, save it, archive it, export it de-identified.

An adapter: the report is `blockplan.report.build_report`, archiving and export are the
core jobs `blockplan.archive.jobs.archive_case` / `export_deidentified` / `send_waiting`,
run in worker threads with their steps shown. The PDF that is archived is exactly the one
previewed: archiving is refused when the case changed after the report was built.

The preview fits the dock's width (`PageView`); **Larger view…** opens a window
(`LargerView`, not modal) with the same PDF rendered readable, page by page in a worker,
with page keys and zoom. It says "stale" when the case changes after the build, as the
panel does.

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

from qtpy.QtCore import QSize, Qt, QTimer
from qtpy.QtGui import QKeySequence, QPixmap, QResizeEvent, QShortcut  # type: ignore[attr-defined]
from qtpy.QtWidgets import (
    QComboBox,
    QDialog,
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
    QWidget,
)

from blockplan.case import Case
from napari_blockplan._widgets._controls import may_narrow, scroll_only
from napari_blockplan._widgets._panel import Panel, UndoBar

if TYPE_CHECKING:
    import napari

__all__ = ["LargerView", "PageView", "ReportWidget"]

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


class PageView(QScrollArea):
    """A page image in a scroll area, fitted to the width it has (no sideways scrolling;
    re-fitted when resized) or shown at a zoom (1.0: as rendered).

    ``label`` holds the image shown (or a text, before there is a page).
    """

    def __init__(self, placeholder: str) -> None:
        super().__init__()
        self.label = QLabel(placeholder)
        # a page shorter than the view starts at its top, as on paper
        self.label.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.setWidget(self.label)
        self.setWidgetResizable(True)
        self.page = QPixmap()
        """The page as rendered (empty: none yet)."""
        self.zoom: float | None = None
        """The zoom shown; None: fitted to the width."""
        self.set_zoom(None)

    def sizeHint(self) -> QSize:
        # about the dock's former width (its rows had set it); never the page shown
        # (a fitted page's width would set the dock's width, which sets the page's …)
        return QSize(360, 400)

    def set_page(self, png: bytes) -> None:
        """Show the page image ``png`` at the view's zoom."""
        self.page = QPixmap()
        self.page.loadFromData(png, "PNG")
        self._show()

    def set_text(self, text: str) -> None:
        """Show ``text`` instead of a page."""
        self.page = QPixmap()
        self.label.clear()
        self.label.setText(text)

    def set_zoom(self, zoom: float | None) -> None:
        """Show the page at ``zoom`` (None: fitted to the width, re-fitted when resized)."""
        self.zoom = zoom
        fit = zoom is None
        # fitted: the vertical bar always there, so that its coming and going never
        # changes the width the page is fitted to
        self.setHorizontalScrollBarPolicy(
            Qt.ScrollBarPolicy.ScrollBarAlwaysOff if fit else Qt.ScrollBarPolicy.ScrollBarAsNeeded
        )
        self.setVerticalScrollBarPolicy(
            Qt.ScrollBarPolicy.ScrollBarAlwaysOn if fit else Qt.ScrollBarPolicy.ScrollBarAsNeeded
        )
        self._show()

    def shown_zoom(self) -> float:
        """The zoom the page is shown at (a fitted width's too)."""
        from blockplan.report.preview import fit_width_zoom

        if self.zoom is not None:
            return self.zoom
        return fit_width_zoom(self.page.width(), self.viewport_width())

    def viewport_width(self) -> int:
        """The width a fitted page gets."""
        viewport = self.viewport()
        return viewport.width() if viewport is not None else self.width()

    def _show(self) -> None:
        if self.page.isNull():
            return
        width = max(1, round(self.page.width() * self.shown_zoom()))
        self.label.setPixmap(
            self.page.scaledToWidth(width, Qt.TransformationMode.SmoothTransformation)
        )

    def resizeEvent(self, event: QResizeEvent | None) -> None:
        super().resizeEvent(event)
        if self.zoom is None:
            self._show()


STALE_VIEW = f"stale: {STALE_REPORT}"
"""What the larger view says above the pages when the case changed after the build."""


class LargerView(QDialog):
    """The built report readable: its pages rendered at `LARGER_VIEW_DPI` in a worker, page
    by page (the one asked for first), with page buttons and keys (Page Up / Page Down),
    zoom (buttons, Ctrl+= / Ctrl+-) and Fit width. Not modal: the panel and napari stay
    usable.

    It shows exactly the PDF it is given — the panel's previewed report, the bytes Archive
    sends — and says "stale" (title and a line above the pages) while the case differs from
    the one the report was built from.
    """

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setModal(False)
        self.setWindowFlags(
            Qt.WindowType.Window
            | Qt.WindowType.WindowMinMaxButtonsHint
            | Qt.WindowType.WindowCloseButtonHint
        )
        self.pdf: bytes | None = None
        self.stale = False
        self.pages: dict[int, bytes] = {}
        """The rendered pages by number (1-based)."""
        self.count = 0
        self.number = 1
        """The page shown (1-based)."""
        self._rendering: Any = None
        self._generation = 0

        self.stale_line = QLabel(STALE_VIEW)
        self.stale_line.setWordWrap(True)
        self.stale_line.setStyleSheet("color: black; background: #f0c000; padding: 4px")
        self.stale_line.setVisible(False)
        self.previous_button = QPushButton("◀ Previous")
        self.previous_button.setToolTip("previous page (Page Up)")
        self.previous_button.clicked.connect(lambda: self.go_to(self.number - 1))
        self.next_button = QPushButton("Next ▶")
        self.next_button.setToolTip("next page (Page Down)")
        self.next_button.clicked.connect(lambda: self.go_to(self.number + 1))
        self.page_label = QLabel("")
        self.zoom_out_button = QPushButton("−")
        self.zoom_out_button.setToolTip("zoom out (Ctrl+-)")
        self.zoom_out_button.clicked.connect(lambda: self.zoom_by(-1))
        self.zoom_label = QLabel("")
        self.zoom_in_button = QPushButton("+")
        self.zoom_in_button.setToolTip("zoom in (Ctrl+=)")
        self.zoom_in_button.clicked.connect(lambda: self.zoom_by(1))
        self.fit_button = QPushButton("Fit width")
        self.fit_button.clicked.connect(lambda: self.set_zoom(None))
        self.status = QLabel("")
        self.status.setStyleSheet("color: gray")
        self.status.setWordWrap(True)
        self.view = PageView("")
        self.view.set_zoom(1.0)

        bar = QHBoxLayout()
        for widget in (self.previous_button, self.page_label, self.next_button):
            bar.addWidget(widget)
        # in the bar, not a line of its own: the pages do not move when it empties
        bar.addWidget(self.status, 1)
        for widget in (self.zoom_out_button, self.zoom_label, self.zoom_in_button):
            bar.addWidget(widget)
        bar.addWidget(self.fit_button)
        note = QLabel("Decision support, not a medical device.")
        note.setStyleSheet("color: gray; font-style: italic")
        layout = QVBoxLayout(self)
        layout.addWidget(self.stale_line)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        layout.addWidget(note)
        self._keys()
        # closed (its button, Escape): rendering stops; opened again, it goes on
        self.finished.connect(lambda *_: self._stop())

    def _keys(self) -> None:
        actions: list[tuple[list[QKeySequence], Callable[[], Any]]] = [
            ([QKeySequence(Qt.Key.Key_PageDown)], lambda: self.go_to(self.number + 1)),
            ([QKeySequence(Qt.Key.Key_PageUp)], lambda: self.go_to(self.number - 1)),
            (
                [
                    QKeySequence("Ctrl+="),
                    QKeySequence("Ctrl++"),
                    *QKeySequence.keyBindings(QKeySequence.StandardKey.ZoomIn),
                ],
                lambda: self.zoom_by(1),
            ),
            (
                [
                    QKeySequence("Ctrl+-"),
                    *QKeySequence.keyBindings(QKeySequence.StandardKey.ZoomOut),
                ],
                lambda: self.zoom_by(-1),
            ),
        ]
        taken: set[str] = set()
        for sequences, action in actions:
            for sequence in sequences:
                if sequence.isEmpty() or sequence.toString() in taken:
                    continue  # one shortcut per key: two would be ambiguous, and do nothing
                taken.add(sequence.toString())
                shortcut = QShortcut(sequence, self)
                shortcut.activated.connect(action)

    def show_report(self, pdf: bytes, *, page: int = 1, stale: bool = False) -> None:
        """Show the report ``pdf`` from ``page`` on, its pages rendered in a worker (those
        of the same PDF are kept: nothing is rendered again)."""
        from blockplan.errors import ReportError
        from blockplan.report.preview import larger_view_title, page_count

        if pdf is not self.pdf:
            self._stop()
            self.pdf, self.pages = pdf, {}
            try:
                self.count = page_count(pdf)
            except ReportError as err:
                self.count = 0
                self._say(f"the report cannot be shown: {err}")
            self.setWindowTitle(larger_view_title(pdf))
        self.number = min(max(page, 1), max(self.count, 1))
        self.set_stale(stale)
        if self.count and len(self.pages) < self.count and self._rendering is None:
            self._render(self.number)
        self._show()

    def set_stale(self, stale: bool) -> None:
        """Say (or stop saying) that the case changed after the report was built."""
        from blockplan.report.preview import larger_view_title

        self.stale = stale
        self.stale_line.setVisible(stale)
        if self.pdf is not None:
            self.setWindowTitle(larger_view_title(self.pdf, stale=stale))

    def go_to(self, number: int) -> None:
        """Show page ``number`` (nothing beyond the first and last)."""
        if 1 <= number <= self.count and number != self.number:
            self.number = number
            self._show()

    def zoom_by(self, steps: int) -> None:
        """Zoom ``steps`` steps in (positive) or out (negative), from the zoom shown."""
        from blockplan.report.preview import next_zoom

        self.set_zoom(next_zoom(self.view.shown_zoom(), steps))

    def set_zoom(self, zoom: float | None) -> None:
        """Show the pages at ``zoom`` (1.0: as rendered; None: fitted to the width)."""
        self.view.set_zoom(zoom)
        self._say_zoom()

    def _say_zoom(self) -> None:
        percent = f"{round(self.view.shown_zoom() * 100)} %"
        self.zoom_label.setText(percent if self.view.zoom is not None else f"fit ({percent})")

    def _show(self) -> None:
        self.page_label.setText(f"page {self.number} of {self.count}" if self.count else "")
        self.previous_button.setEnabled(self.number > 1)
        self.next_button.setEnabled(self.number < self.count)
        png = self.pages.get(self.number)
        if png is not None:
            self.view.set_page(png)
        elif self.count:
            self.view.set_text(f"rendering page {self.number}…")
        self._say_zoom()

    def _render(self, start: int) -> None:
        from napari.qt.threading import thread_worker

        from blockplan.report.preview import LARGER_VIEW_DPI, render_each_page

        self._generation += 1
        pdf, generation = self.pdf, self._generation
        assert pdf is not None

        @thread_worker  # type: ignore[untyped-decorator]
        def _pages() -> Generator[tuple[int, int, bytes], None, None]:
            for number, png in render_each_page(pdf, dpi=LARGER_VIEW_DPI, start=start):
                yield generation, number, png

        self._rendering = _pages()
        self._rendering.yielded.connect(self._rendered)
        self._rendering.errored.connect(self._render_failed)
        self._rendering.finished.connect(lambda: self._render_ended(generation))
        self._say(f"rendering {self.count} pages…")
        self._rendering.start()

    def _rendered(self, item: tuple[int, int, bytes]) -> None:
        generation, number, png = item
        if generation != self._generation:
            return  # an earlier report's page
        self.pages[number] = png
        if number == self.number:
            self._show()
        done = len(self.pages)
        self._say(f"rendered {done} of {self.count}…" if done < self.count else "")

    def _say(self, text: str) -> None:
        """Say ``text`` beside the page buttons (the rendering's progress, or why nothing
        can be shown); all rendered, nothing: "9 pages" had repeated "page 1 of 9"."""
        self.status.setText(text)

    def _render_failed(self, err: Exception) -> None:
        self._say(f"the report cannot be shown: {err}")

    def _render_ended(self, generation: int) -> None:
        if generation == self._generation:
            self._rendering = None

    def _stop(self) -> None:
        """Stop rendering (the pages not yet rendered are rendered when shown again)."""
        self._generation += 1
        if self._rendering is not None:
            self._rendering.quit()
            self._rendering = None


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
        # the page fitted to the dock's width: at 60 dpi it had needed sideways scrolling
        self.page_view = PageView("no report built yet")
        self.page_view.setMinimumHeight(300)
        self.preview = self.page_view.label
        self.larger_button = QPushButton("Larger view…")
        self.larger_button.setToolTip("the report's pages readable, in a window of their own")
        self.larger_button.setEnabled(False)
        self.larger_button.clicked.connect(self.show_larger)
        self.larger: LargerView | None = None
        """The larger view, once opened."""
        self.archived_to: tuple[bytes, str, Path] | None = None
        """The report last archived into a folder here: its PDF, the destination typed, the
        folder written. Archive clicked again for them says so: the archive's refusal ("already
        archived there") had been shown as "failed: …" with an error notification."""

        form = QFormLayout()
        form.addRow("Clinic:", self.clinic)
        form.addRow("Author:", self.author)
        buttons = QHBoxLayout()
        buttons.addWidget(self.build_button)
        buttons.addWidget(self.save_button)
        pages = QHBoxLayout()
        pages.addWidget(QLabel("Page:"))
        pages.addWidget(self.page)
        pages.addWidget(self.larger_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addLayout(pages)
        layout.addWidget(self.status)
        layout.addWidget(self.page_view)
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
        if self.larger is not None:
            self.larger.set_stale(stale)
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
            from blockplan.report.preview import PANEL_DPI, render_pages

            options = ReportOptions.from_settings(
                clinic_name=clinic, author=author, created_at=dt.datetime.now().astimezone()
            )
            pdf = build_report(case, volumes=volumes, options=options)
            try:
                pages = render_pages(pdf, dpi=PANEL_DPI)
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
        self.larger_button.setEnabled(bool(self.pages))
        if self.larger is not None and self.larger.isVisible():
            self.larger.show_report(self.pdf, page=self.larger.number)  # the new one
        self._say_if_stale()  # edited while it was being built

    def _failed(self, err: Exception) -> None:
        from napari.utils.notifications import show_error, show_warning

        from blockplan.errors import ArchiveRefusedError

        self.build_button.setEnabled(True)
        if isinstance(err, ArchiveRefusedError):  # protects what is there; nothing failed
            self._job_ended(f"not {err.verb}: {err}")
            show_warning(f"blockplan: not {err.verb}: {err}")
            return
        self._job_ended(f"failed: {err}")
        show_error(f"blockplan: {err}")

    def _show_page(self, number: int) -> None:
        if not self.pages or not 1 <= number <= len(self.pages):
            return
        self.page_view.set_page(self.pages[number - 1])

    def show_larger(self) -> LargerView | None:
        """Open the larger view of the previewed report at the page shown here (the same
        PDF, the bytes Archive sends); None when no preview exists."""
        if self.pdf is None or not self.pages:
            return None
        if self.larger is None:
            self.larger = LargerView(self)
            self._size_larger(self.larger, self.pdf)
        stale = self.pdf_case is not None and self.pdf_case != self.ws.case
        self.larger.show_report(self.pdf, page=self.page.value(), stale=stale)
        self.larger.show()
        self.larger.raise_()
        self.larger.activateWindow()
        return self.larger

    @staticmethod
    def _size_larger(view: LargerView, pdf: bytes) -> None:
        """A page's width at 100 % and most of the screen's height, within the screen."""
        from blockplan.errors import ReportError
        from blockplan.report.preview import page_size_px

        try:
            page_width, page_height = page_size_px(pdf)
        except ReportError:  # the view says why it shows nothing
            page_width, page_height = 900, 1200
        width, height = page_width + 80, page_height + 160
        screen = view.screen()
        if screen is not None:
            room = screen.availableGeometry()
            width, height = min(width, room.width()), min(height, room.height() * 9 // 10)
        view.resize(width, height)

    def save(self, path: str | Path) -> Path:
        """Keep the built report with its case, then write it atomically (mode 0600)
        (`write_signed_report`, as `blockplan report`): a later archive (here or
        `blockplan archive`) sends these very bytes."""
        from blockplan.errors import ReportError
        from blockplan.report.kept import write_signed_report

        if self.pdf is None or self.pdf_case is None:
            raise ReportError("build the report first")
        written, kept = write_signed_report(self.pdf_case, self.pdf, Path(path))
        self.status.setText(f"saved {written} (report {kept.report_id}, kept with the case)")
        return written

    def _save_dialog(self) -> None:
        from blockplan.errors import BlockplanError
        from blockplan.report.kept import report_file_name

        # the previewed report's id, not "report.pdf" for every report
        suggested = report_file_name(self.pdf) if self.pdf is not None else "report.pdf"
        name, _ = QFileDialog.getSaveFileName(self, "Save report", suggested, "PDF (*.pdf)")
        if not name:
            return
        try:
            self.save(name)
        except BlockplanError as err:  # not kept, or kept but not written (it says which)
            # "PDF not written", true of both: "report not saved: … the report is kept with
            # the case all the same" contradicted itself
            self._refuse(f"PDF not written: {err}")

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
        done = self.archived_to
        # the same click again: said, not refused as a failure
        if done is not None and (done[0], done[1]) == (self.pdf, destination) and done[2].is_dir():
            self.status.setText(
                f"this report is already archived in {done[2]}; nothing was written again"
            )
            return None
        images = self._images()
        if images is None:
            return None
        case, pdf, ae = self.pdf_case, self.pdf, load_settings().calling_ae_title
        return self._start(
            lambda progress: archive_case(
                case, images, destination, pdf=pdf, calling_ae=ae, progress=progress
            ),
            lambda outcome: self._archived(outcome, pdf, destination),
        )

    def _archived(self, outcome: Any, pdf: bytes | None = None, destination: str = "") -> None:
        where = outcome.folder if outcome.folder is not None else outcome.destination
        sent = f"{len(outcome.sent)} objects confirmed; " if outcome.folder is None else ""
        if pdf is not None and outcome.folder is not None:
            self.archived_to = (pdf, destination, Path(outcome.folder))
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
