"""The scar proposal of the Planning widget's Scar tab: grown in a worker, shown, decided.

A click in seed mode starts the core's leak-guarded region growing
(`blockplan.planning.propose_scar`) in a worker thread, with a progress bar and Cancel.
The result is shown as its own layer, ``"blockplan: scar proposal"``, which is not part of
the case: **Accept** adds it to the case's scar (one undoable edit, volumes per level by
the core), **Reject** discards it. A region that leaks is refused by the core and the
advice is shown; Cancel and Reject leave the case as it was.

napari builds a labels layer in one call on the GUI thread (its controls, its vispy
visual and overlays: ≈ 0.3 s in software GL). So the layer is made once, hidden and empty
— a *spare*, tagged ``metadata["blockplan_spare"]`` and without a blockplan role —
before the window is shown (`blockplan view`, `_launch.launch_viewer`), else when seed
mode is entered (`prepare`), and each proposal is shown in it by assigning its data and
placement; Reject and Cancel empty and hide it again for the next proposal.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from napari_blockplan._layers import SPARE_KEY

if TYPE_CHECKING:
    from blockplan.case import Case, LevelMarker, MaskGrid, PatientPoint, ScarRegion
    from blockplan.io.volume import ImageVolume

__all__ = ["PROPOSAL_ROLE", "SPARE_KEY", "ScarProposal", "make_proposal_spare"]

PROPOSAL_ROLE = "scar proposal"
"""``metadata["blockplan"]["role"]`` of the proposal layer (not one of the case's roles)."""

_PROPOSAL_COLOUR = "#00e5ff"  # cyan: apart from the scar layer's label colour
_POLL_MS = 100


class _Cancelled(Exception):
    """The physician pressed Cancel while the proposal grew."""


class _GrowState:
    """Progress shared with the worker; Cancel makes its callback raise."""

    def __init__(self) -> None:
        self.done = 0
        self.total = 1
        self.cancelled = False

    def progress(self, done: int, total: int) -> None:
        if self.cancelled:
            raise _Cancelled
        self.done, self.total = done, total


@dataclass(frozen=True)
class Proposal:
    """A grown region waiting for Accept or Reject (on its source series' grid)."""

    mask: npt.NDArray[np.bool_]
    grid: MaskGrid
    text: str
    """Its volume in total and per level, in the core's words."""
    shown: tuple[npt.NDArray[np.uint8], dict[str, Any]]
    """Labels data on the display grid and its placement (`_layers.scar_layer_data`)."""


def _grow(
    volume: ImageVolume,
    seed: PatientPoint,
    sensitivity: float | None,
    radius_mm: float,
    levels: tuple[LevelMarker, ...],
    state: _GrowState,
) -> Proposal:
    """The worker: the core's proposal, its volumes per level and its display data."""
    from blockplan.planning import mask_grid_for, propose_scar, scar_region_from_mask
    from blockplan.planning.wording import scar_volume_text
    from napari_blockplan._layers import scar_layer_data

    mask = propose_scar(
        volume, seed, sensitivity=sensitivity, radius_mm=radius_mm, progress=state.progress
    )
    grid = mask_grid_for(volume)
    region = scar_region_from_mask(mask, grid, levels, method="region_grow")
    text = scar_volume_text(region.volume_ml, region.volume_ml_per_level)
    return Proposal(mask, grid, text, scar_layer_data(region))


class ScarProposal(QWidget):
    """Progress, Cancel, and Accept / Reject of a scar proposal (a part of the Scar tab).

    ``panel`` is the Planning widget: its viewer, workspace, ``_apply`` (an undoable,
    saved edit) and ``_error`` are used.
    """

    def __init__(self, panel: Any) -> None:
        super().__init__()
        self.panel = panel
        self.viewer = panel.viewer
        self.proposal: Proposal | None = None
        self.worker: Any = None
        self._state = _GrowState()
        self._timer = QTimer(self)
        self._timer.setInterval(_POLL_MS)
        self._timer.timeout.connect(self._poll)

        self.label = QLabel("")
        self.label.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("stop growing; the case stays as it is")
        self.cancel_button.clicked.connect(self.cancel)
        self.accept_button = QPushButton("Accept proposal")
        self.accept_button.setToolTip("add the proposal to the case's scar (undoable)")
        self.accept_button.clicked.connect(self.accept)
        self.reject_button = QPushButton("Reject")
        self.reject_button.setToolTip("discard the proposal; the case stays as it is")
        self.reject_button.clicked.connect(self.reject)
        busy = QHBoxLayout()
        busy.addWidget(self.progress)
        busy.addWidget(self.cancel_button)
        decide = QHBoxLayout()
        decide.addWidget(self.accept_button)
        decide.addWidget(self.reject_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addLayout(busy)
        layout.addLayout(decide)
        self._show_state()
        self.destroyed.connect(lambda *_: self._forget())

    def _forget(self) -> None:
        """The panel is gone: stop growing; a late result is ignored (`_on_result`)."""
        self._state.cancelled = True
        self.worker = None

    @property
    def growing(self) -> bool:
        """Whether a proposal is being grown."""
        return self.worker is not None

    # -- actions ------------------------------------------------------------------
    def start(
        self,
        volume: ImageVolume,
        seed: PatientPoint,
        sensitivity: float | None,
        radius_mm: float,
    ) -> Any:
        """Grow a proposal in a worker (a pending one is discarded first)."""
        from napari.qt.threading import create_worker

        self.cancel()
        self._discard()
        self._state = _GrowState()
        worker = create_worker(
            _grow,
            volume,
            seed,
            sensitivity,
            radius_mm,
            self.panel.ws.case.levels,
            self._state,
            _start_thread=False,
            _ignore_errors=True,
        )
        worker.returned.connect(lambda result, w=worker: self._on_result(w, result))
        worker.errored.connect(lambda err, w=worker: self._on_error(w, err))
        self.worker = worker
        self.label.setText("Growing the scar proposal…")
        self._timer.start()
        self._show_state()
        worker.start()
        return worker

    def cancel(self) -> None:
        """Stop growing (the case is unchanged)."""
        if self.worker is not None:
            self._state.cancelled = True
            self._finish_worker()
            self.label.setText("Scar proposal cancelled; the case is unchanged.")
            self.panel.message.setText("scar proposal cancelled")

    def accept(self) -> ScarRegion | None:
        """Add the proposal to the case's scar: one undoable edit."""
        from blockplan.planning import scar_region_from_mask, with_scar

        proposal = self.proposal
        if proposal is None:
            return None
        case: Case = self.panel.ws.case
        previous = case.scar_regions[0] if case.scar_regions else None
        mask = proposal.mask
        if previous is not None and previous.grid == proposal.grid:
            mask = mask | previous.mask()
        region = scar_region_from_mask(
            mask, proposal.grid, case.levels, method="region_grow", previous=previous
        )
        adopted = previous is None and self._becomes_scar_layer(proposal, region)
        if not self.panel._apply(
            with_scar(case, region),
            "grow scar",
            f"scar region grown: {region.volume_ml:.2f} mL",
            what="scar region grown",
        ):
            # not saved (said): the proposal stays to accept again — unless its layer
            # became the scar layer, which then shows the case's scar again (none)
            if adopted:
                self.proposal = None
                self.label.setText("")
                self._show_state()
                self.panel._on_case_changed(self.panel.ws.case)
            return None
        if not adopted:
            self._discard()
        self.proposal = None
        self._show_state()
        self.label.setText("")
        if self.panel.ws.mode == "seed":  # the scar is grown: a later click grows nothing
            self.panel.ws.set_mode(None)
        return region

    def reject(self) -> None:
        """Discard the proposal (the case is unchanged)."""
        if self.proposal is not None:
            self._discard()
            self.label.setText("Proposal rejected; the case is unchanged.")
            self.panel.message.setText("scar proposal rejected")

    # -- worker results -----------------------------------------------------------
    def _on_result(self, worker: Any, proposal: Proposal) -> None:
        if worker is not self.worker:
            return  # cancelled meanwhile
        self._finish_worker()
        self.proposal = proposal
        self._show_layer(proposal)
        self.label.setText(f"Proposal: {proposal.text}. Accept adds it to the scar; Reject.")
        self._show_state()

    def _on_error(self, worker: Any, err: Exception) -> None:
        from blockplan.errors import BlockplanError

        if worker is not self.worker:
            return
        self._finish_worker()
        if isinstance(err, _Cancelled):
            return
        if isinstance(err, BlockplanError):
            self.label.setText("")
            self.panel._error(str(err))
        else:
            self.panel._error(f"scar growing stopped by an unexpected {type(err).__name__}")

    def _finish_worker(self) -> None:
        self.worker = None
        self._timer.stop()
        self._show_state()

    def _poll(self) -> None:
        self.progress.setRange(0, max(1, self._state.total))
        self.progress.setValue(self._state.done)

    # -- the layer ----------------------------------------------------------------
    def layer(self) -> Any:
        """The proposal layer, if shown."""
        from napari_blockplan._layers import layer_for

        return layer_for(self.viewer, PROPOSAL_ROLE)

    def spare(self) -> Any:
        """The hidden, empty layer the next proposal will be shown in, if made."""
        from napari_blockplan._layers import spare_for

        return spare_for(self.viewer, PROPOSAL_ROLE)

    def prepare(self) -> Any:
        """Make the spare proposal layer now (hidden, empty), unless there is one, a
        proposal is shown or no series is loaded; returns it (or None)."""
        from blockplan.errors import BlockplanError

        if self.spare() is not None or self.layer() is not None:
            return self.spare()
        try:
            volume = self.panel._scar_volume()
        except BlockplanError:
            return None
        return self._make_layer(_empty_placement(volume))

    def _make_layer(self, placement: dict[str, Any]) -> Any:
        """A hidden, empty proposal layer (a spare), inserted below the overlays."""
        return make_proposal_spare(self.viewer, placement)

    def _show_layer(self, proposal: Proposal) -> None:
        """Show the proposal in the spare layer (made now when there is none)."""
        data, placement = proposal.shown
        layer = self.spare()
        if layer is None:
            layer = self._make_layer(placement)
        del layer.metadata[SPARE_KEY]
        layer.metadata["blockplan"] = {"role": PROPOSAL_ROLE}
        layer.data = data  # hidden: napari uploads it when shown
        layer.scale = placement["scale"]
        layer.translate = placement["translate"]
        layer.visible = True

    def _becomes_scar_layer(self, proposal: Proposal, region: ScarRegion) -> bool:
        """With no scar layer yet, the accepted proposal's layer becomes it: no second
        layer made, none removed — each costs napari a few hundred milliseconds. It shows
        the accepted region already (no scar before: the region is the proposal), so the
        case's redraw leaves it as it is."""
        from napari_blockplan._layers import adopt_as_scar_layer, layer_for

        layer = self.layer()
        if layer is None or layer_for(self.viewer, "scar") is not None:
            return False
        if layer.data.shape != proposal.shown[0].shape:
            return False
        layer.colormap = layer.metadata.get("blockplan_default_colours", layer.colormap)
        layer.opacity = 0.45
        adopt_as_scar_layer(layer, region)
        return True

    def _discard(self) -> None:
        """Hide and empty the proposal layer: it is the spare for the next proposal (or,
        when a spare exists already, removed on the next turn of the event loop: napari
        collects garbage on every removal, not in the same turn as an edit)."""
        self.proposal = None
        layer = self.layer()
        if layer is not None:
            layer.visible = False
            del layer.metadata["blockplan"]
            if self.spare() is None:
                layer.data = np.zeros((1, 1, 1), np.uint8)
                layer.metadata[SPARE_KEY] = PROPOSAL_ROLE
            else:
                QTimer.singleShot(0, lambda: self._remove(layer))
        self._show_state()

    def _remove(self, layer: Any) -> None:
        with contextlib.suppress(ValueError, RuntimeError):
            if layer in self.viewer.layers:
                self.viewer.layers.remove(layer)

    def _show_state(self) -> None:
        growing = self.worker is not None
        self.progress.setVisible(growing)
        self.cancel_button.setVisible(growing)
        if growing:
            self.progress.setRange(0, 0)  # busy until the first step is reported
        pending = self.proposal is not None
        self.accept_button.setEnabled(pending)
        self.reject_button.setEnabled(pending)


def _empty_placement(volume: ImageVolume) -> dict[str, Any]:
    """Scale and translate of a one-voxel layer at the first voxel of ``volume``'s display
    grid: inside the images, on their spacing (the spare changes no slider's range or
    step)."""
    from napari_blockplan._convert import display_grid

    aff, _shape = display_grid(np.asarray(volume.affine, dtype=float), volume.shape)
    origin = aff[:3, 3]
    return {
        "scale": (aff[2, 2], aff[1, 1], aff[0, 0]),
        "translate": (origin[2], origin[1], origin[0]),
    }


def make_proposal_spare(viewer: Any, placement: dict[str, Any] | None = None) -> Any:
    """Make the hidden, empty labels layer the next scar proposal is shown in (a spare),
    inserted below the overlays; ``placement`` (scale, translate) defaults to napari's
    (`_layers` moves spares onto the first image shown). `_launch` makes it before the
    window is shown, so that neither seed mode nor the proposal builds a layer."""
    from napari.layers import Labels
    from napari.utils.colormaps import DirectLabelColormap

    from napari_blockplan._layers import follow_first_layer, insert_layer

    layer = Labels(
        np.zeros((1, 1, 1), np.uint8),
        name=f"blockplan: {PROPOSAL_ROLE}",
        opacity=0.6,
        visible=False,
        metadata={SPARE_KEY: PROPOSAL_ROLE},
        **(placement or {}),
    )
    # napari's own label colours, for when the layer becomes the scar layer
    layer.metadata["blockplan_default_colours"] = layer.colormap
    layer.colormap = DirectLabelColormap(color_dict={None: "transparent", 1: _PROPOSAL_COLOUR})
    follow_first_layer(viewer)
    return insert_layer(viewer, layer)
