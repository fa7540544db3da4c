"""C-arm previews panel: what the C-arm will show for the selected target.

An adapter: the previews are `blockplan.fluoro.preview.fluoro_preview` (DRRs from the loaded
CT), computed in a napari ``thread_worker``; the GUI thread only shows the images. The panel
follows the target selected in the Planning panel (`Workspace.target_selected`) or its own
target list, and recomputes when that target or its skin entry moves (any case change that
alters them). A change while a preview is being computed is not lost: the newest one is
computed next, older results are dropped. A quick preview (every second CT voxel) shows
first, the full-quality one replaces it. A hidden panel (another tab in front) computes
nothing until it is shown.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import numpy as np
from qtpy.QtCore import QSize, Qt
from qtpy.QtGui import QImage, QPixmap
from qtpy.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGridLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
)

from blockplan.case import Case
from blockplan.fluoro.views import VIEW_TITLES, ViewKind, view_kinds
from blockplan.planning.wording import target_names
from napari_blockplan._widgets._controls import scroll_only
from napari_blockplan._widgets._panel import Panel

if TYPE_CHECKING:
    import napari

    from blockplan.fluoro.preview import FluoroPreview
    from blockplan.io.volume import ImageVolume

__all__ = ["FluoroWidget"]

VIEW_CHOICES: dict[ViewKind, str] = {**VIEW_TITLES, ViewKind.AP: "AP"}
"""The views' names in the panel's view lists (and where it names a view not yet computed):
the AP view is "AP" there — whether its endplates are squared depends on the target, and
the caption of the view computed says it. The list had read "AP, endplates squared" above
the caption "AP, endplates not squared" of a target without a level."""

DOCK_DETECTOR_PX = 384
"""Detector size of the panel's previews (pixels; the field stays 307 mm)."""

PICTURE_MIN_PX = 120
"""The smallest size a preview is shown at (pixels); larger when the panel is."""

QUICK_VOXEL_STEP = 2
"""The quick previews shown first use every second CT voxel (about 8 times faster); the
full-quality ones replace them when computed."""

_Result = tuple[tuple[Any, ...], tuple["FluoroPreview", ...]]


def _pixmap(rgb: np.ndarray[Any, Any]) -> QPixmap:
    data = np.ascontiguousarray(rgb)
    h, w = data.shape[:2]
    image = QImage(data.tobytes(), w, h, 3 * w, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(image.copy())  # copy: the array may go away


class _Picture(QLabel):
    """A preview scaled to the width the panel gives it, keeping its square aspect.

    The 384-pixel DRR had been shown at full size in a label about 200 pixels wide: the
    label showed its middle, so the angles printed along its top edge ("ight oblique, 5.0°
    caudal tilt"), the side marker and the level names at its edges were cut off.
    """

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._full: QPixmap | None = None
        # the picture follows the panel's width (square), never sets it
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    def sizeHint(self) -> QSize:
        return QSize(PICTURE_MIN_PX, PICTURE_MIN_PX)

    def minimumSizeHint(self) -> QSize:
        return QSize(PICTURE_MIN_PX, PICTURE_MIN_PX)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return max(width, PICTURE_MIN_PX)

    def show_picture(self, pixmap: QPixmap) -> None:
        self._full = pixmap
        self._fit()

    def clear(self) -> None:
        self._full = None
        super().clear()

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        if self._full is None:
            return
        size = self.contentsRect().size()
        self.setPixmap(
            self._full.scaled(
                size,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )


class FluoroWidget(Panel):
    """Bull's-eye and progression previews (or any two views) of one target."""

    def __init__(self, napari_viewer: napari.viewer.Viewer) -> None:
        super().__init__(napari_viewer)
        self.target = QComboBox()
        self.target.currentIndexChanged.connect(lambda *_: self.refresh())
        self.views = [QComboBox(), QComboBox()]
        for combo, kind in zip(self.views, (ViewKind.BULLSEYE, ViewKind.PROGRESSION), strict=True):
            for k in ViewKind:
                combo.addItem(VIEW_CHOICES[k], k.value)
            combo.setCurrentIndex(list(ViewKind).index(kind))
            combo.currentIndexChanged.connect(lambda *_: self.refresh())
        self.images = [_Picture("no preview"), _Picture("no preview")]
        self.captions = [QLabel(""), QLabel("")]
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.shown: tuple[FluoroPreview, ...] = ()
        """The previews on screen."""
        self.final = False
        """Whether they are the full-quality previews (a quick one shows first)."""
        self._wanted: Any = None
        self._running: Any = None
        self._worker: Any = None
        self._stale = True
        self._layout()
        self.listen(self.ws.case_changed, self._on_case)
        self.listen(self.ws.target_selected, self._on_selected)
        self.listen(self.ws.images_changed, self.refresh)
        self._fill_targets(self.ws.case)
        # the wheel over the target or a view had switched the previews shown (and with
        # the target, which target the panel followed): it scrolls the panel instead
        scroll_only(self)

    def _layout(self) -> None:
        self._form = QFormLayout()
        self._form.addRow("Target:", self.target)
        self._grid = QGridLayout()
        for image, caption in zip(self.images, self.captions, strict=True):
            image.setAlignment(Qt.AlignmentFlag.AlignCenter)
            caption.setWordWrap(True)
            # side by side, a caption of one line beside one of three (an AP view's note)
            # had stood in the middle of its row: each starts under its picture
            caption.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.stacked = True
        """Whether the two previews are one above the other (else side by side)."""
        self._arrange(stacked=False)
        self._note = QLabel("DRRs from the CT; decision support, not a medical device.")
        layout = QVBoxLayout(self)
        layout.addLayout(self._form)
        layout.addLayout(self._grid, 1)
        layout.addWidget(self.status)
        layout.addWidget(self._note)

    def _arrange(self, *, stacked: bool) -> None:
        """The two previews side by side, or one above the other (each: its view, its
        picture, its caption); the pictures take the room left."""
        if stacked == self.stacked:
            return
        self.stacked = stacked
        grid = self._grid
        for n, parts in enumerate(zip(self.views, self.images, self.captions, strict=True)):
            row, col = (3 * n, 0) if stacked else (0, n)
            for k, part in enumerate(parts):
                grid.addWidget(part, row + k, col)  # moves it when already in the grid
        for r in range(6):
            grid.setRowStretch(r, 1 if r in ((1, 4) if stacked else (1,)) else 0)

    def resizeEvent(self, event: Any) -> None:
        """Side by side, the previews of a tall narrow panel were 200 px wide with room to
        spare below them (their level names unreadable): whichever arrangement shows the
        larger pictures is used."""
        super().resizeEvent(event)
        room = self.contentsRect()
        layout = self.layout()
        if layout is None:
            return
        gap = max(layout.spacing(), 0)
        m = layout.contentsMargins()
        width = room.width() - m.left() - m.right()
        height = room.height() - m.top() - m.bottom() - 3 * gap
        height -= sum(w.sizeHint().height() for w in (self.target, self.status, self._note))
        each = self.views[0].sizeHint().height() + self.captions[0].sizeHint().height() + 2 * gap
        side_by_side = min((width - gap) / 2, height - each)
        stacked = min(width, (height - 2 * each - gap) / 2)
        self._arrange(stacked=stacked > 1.1 * side_by_side)  # 10 %: no flapping

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if self._stale:
            self.refresh()

    # -- what to show ---------------------------------------------------------------
    def _fill_targets(self, case: Case) -> None:
        names = target_names(case.targets)
        keep = self.target.currentData() or self.ws.selected_target_id
        self.target.blockSignals(True)
        try:
            self.target.clear()
            for tid, name in names.items():
                self.target.addItem(name, tid)
            index = self.target.findData(keep) if keep else -1
            with_path = [i for i, t in enumerate(case.targets) if case.trajectory_for(t.id)]
            self.target.setCurrentIndex(index if index >= 0 else (with_path or [0])[0])
        finally:
            self.target.blockSignals(False)
        self.refresh()

    def _on_case(self, case: Case) -> None:
        self._fill_targets(case)

    def _on_selected(self, target_id: str | None) -> None:
        index = self.target.findData(target_id) if target_id else -1
        if index >= 0:
            self.target.setCurrentIndex(index)

    def _request(self) -> tuple[tuple[Any, ...] | None, str]:
        """What the previews depend on; or None and what to do to see them."""
        tid = self.target.currentData()
        ct = self.ws.ct()
        # one sentence had asked for both ("select a target and load the case's CT") with
        # a target chosen above it, or with no CT missing
        if tid is None:
            return None, "plan a target in the Planning panel to see its C-arm previews"
        if ct is None:
            return None, (
                f"{self.target.currentText()}: no CT loaded — load the case's CT (Study "
                "browser) to see its C-arm previews"
            )
        case = self.ws.case
        target = case.target(tid)
        traj = case.trajectory_for(tid)
        kinds = tuple(ViewKind(c.currentData()) for c in self.views)
        offered = view_kinds(target, traj is not None)  # the core says which views exist
        if any(k not in offered for k in kinds):
            name = self.target.currentText()
            return None, (
                f"{name}: "
                + ", ".join(VIEW_CHOICES[k] for k in offered)
                + " can be shown"
                + ("" if traj is not None else "; place its skin entry for the others")
            )
        entry = None if traj is None else traj.entry
        # its level too: the AP view is tilted to it (a level cleared had left "AP,
        # endplates squared" with the former level's tilt on screen)
        request = (tid, target.position, entry, case.levels, case.landmarks, kinds, target.level)
        return (*request, ct.series_instance_uid), ""

    # -- computing ------------------------------------------------------------------
    def refresh(self, *_: Any) -> None:
        """Recompute the previews when what they show changed (in a worker thread)."""
        if not self.isVisible():
            self._stale = True  # computed when the panel is shown (`showEvent`)
            return
        self._stale = False
        request, why = self._request()
        if request is None:
            self._clear(why)
            return
        if request == self._wanted:
            return
        self._wanted = request
        self.final = False  # what is on screen is not the full-quality view of the request
        self._mark_outdated(request)
        if self._running is None:
            self._start(request)

    def _mark_outdated(self, request: tuple[Any, ...]) -> None:
        """Previews of another target or view are taken off the screen at once; the same
        view of the same target, moved, stays (marked as updating) until its new one comes.

        T1's bull's-eye ("40.1° left oblique") had stayed under "Target: T2 · L4-L5 right
        MBB" while T2's was computed — the other side's angles under the new target's name.
        """
        tid, kinds = request[0], request[5]
        for n, (image, caption) in enumerate(zip(self.images, self.captions, strict=True)):
            shown = self.shown[n] if n < len(self.shown) else None
            if shown is not None and (shown.target_id, shown.view.kind) == (tid, kinds[n]):
                caption.setText(f"{shown.view.title} (updating…)")
                continue
            image.clear()
            image.setText(f"computing the {VIEW_CHOICES[kinds[n]]} view…")
            caption.setText("")
        if any(caption.text() == "" for caption in self.captions):
            self.shown = ()  # a view was taken off: what is left is not a pair to keep

    def _clear(self, message: str) -> None:
        self._wanted = None
        self.shown = ()
        for image, caption in zip(self.images, self.captions, strict=True):
            image.clear()
            image.setText("no preview")
            caption.setText("")
        self.status.setText(message)

    def _start(self, request: tuple[Any, ...]) -> Any:
        from napari.qt.threading import thread_worker

        case, ct = self.ws.case, self.ws.ct()
        assert ct is not None
        tid, kinds = request[0], request[5]

        @thread_worker(  # type: ignore[untyped-decorator]
            connect={"yielded": self._quick, "returned": self._computed, "errored": self._failed}
        )
        def _compute() -> Generator[_Result, None, _Result]:
            yield request, _previews(case, ct, tid, kinds, QUICK_VOXEL_STEP)
            return request, _previews(case, ct, tid, kinds, 1)

        self._running = request
        self.status.setText(f"computing the C-arm previews of {self.target.currentText()}…")
        self._worker = _compute()
        return self._worker

    def _quick(self, result: _Result) -> None:
        request, previews = result
        if request == self._wanted:
            self._show(previews, final=False)

    def _computed(self, result: _Result) -> None:
        request, previews = result
        self._running = None
        if request == self._wanted:
            self._show(previews, final=True)
        elif self._wanted is not None:
            self._start(self._wanted)  # the target moved meanwhile: the newest wins

    def _failed(self, err: Exception) -> None:
        from napari.utils.notifications import show_error

        self._running = None
        self._wanted = None
        self.status.setText(f"no preview: {err}")
        show_error(f"blockplan: {err}")

    def _show(self, previews: tuple[FluoroPreview, ...], *, final: bool) -> None:
        self.shown = previews
        self.final = final
        for preview, image, caption in zip(previews, self.images, self.captions, strict=True):
            image.show_picture(_pixmap(preview.image_rgb))
            # its notes too (why the AP view is not tilted): drawn in the picture only, they
            # were unreadable at the dock's size
            caption.setText("\n".join((preview.view.title, *preview.view.notes)))
        quality = "" if final else " (quick preview; refining…)"
        self.status.setText(f"{previews[0].target_name}: isocentre at the target{quality}")


def _previews(
    case: Case, ct: ImageVolume, target_id: str, kinds: tuple[ViewKind, ...], voxel_step: int
) -> tuple[FluoroPreview, ...]:
    """The previews of ``target_id`` (core call; runs in the worker thread)."""
    from blockplan.fluoro.drr import DrrOptions
    from blockplan.fluoro.geometry import DEFAULT_DETECTOR_PX, DEFAULT_PIXEL_MM, DetectorSpec
    from blockplan.fluoro.preview import fluoro_preview

    px = DOCK_DETECTOR_PX
    detector = DetectorSpec(
        columns=px, rows=px, pixel_mm=DEFAULT_PIXEL_MM * DEFAULT_DETECTOR_PX / px
    )
    options = DrrOptions(voxel_step=voxel_step)
    return tuple(
        fluoro_preview(case, ct, target_id, k, detector=detector, options=options) for k in kinds
    )
