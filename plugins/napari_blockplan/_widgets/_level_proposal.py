"""The Levels tab's "Propose levels": the automatic count shown as markers to decide on.

Adapters only: `blockplan.planning.propose_levels` runs in a worker on the planning CT
(without one, on the sagittal MR: `series_for_levels`);
the proposal, on its mid-sagittal plane (`LevelProposal.on_midline`), is drawn as the
points layer ``"blockplan: proposed levels"`` and the view centred on it (drag a point
in napari's select mode to edit it); "One level up/down" renames every marker
(`shift_proposal`); "Accept" makes them the case's level markers
(`accept_proposed_levels`, audited as proposed-then-accepted). When the case already has
level markers, the wrong-level guard (`check_level_markers`) is shown and the targets
near a disagreement are flagged for confirmation (`flag_targets_near_disagreement`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from qtpy.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from blockplan.errors import BlockplanError
from blockplan.planning import (
    LevelProposal,
    check_level_markers,
    flag_targets_near_disagreement,
    propose_levels,
)
from blockplan.planning.level_accept import accept_proposed_levels
from blockplan.planning.level_proposal import shift_proposal
from blockplan.planning.level_proposal_mr import series_for_levels
from napari_blockplan._convert import lps_to_world, world_to_lps
from napari_blockplan._views import centre_on

ROLE = "proposed levels"


class LevelProposalPanel(QWidget):
    """Propose, shift, edit, accept or discard the automatic level count."""

    def __init__(self, planning: Any) -> None:
        super().__init__()
        self.planning = planning
        self.ws = planning.ws
        self.viewer = planning.viewer
        self.worker: Any = None
        self._proposal: LevelProposal | None = None
        self._shift = 0
        self._counted: LevelProposal | None = None
        """The last count made (kept after Accept / Discard): markers are checked against it."""
        self._flagged_for: tuple[tuple[str, str], ...] = ()
        self.propose_button = QPushButton("Propose levels")
        self.propose_button.setToolTip(
            "count the vertebrae on the CT (from the sacrum, checked against the lowest ribs),"
            " or without a CT on the sagittal MR (from the sacrum alone)"
        )
        self.propose_button.clicked.connect(self.start)
        self.up_button = QPushButton("One level up")
        self.up_button.clicked.connect(lambda: self.shift(-1))
        self.down_button = QPushButton("One level down")
        self.down_button.clicked.connect(lambda: self.shift(1))
        self.accept_button = QPushButton("Accept proposed levels")
        self.accept_button.clicked.connect(self.accept)
        self.discard_button = QPushButton("Discard proposal")
        self.discard_button.clicked.connect(self.discard)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        row = QHBoxLayout()
        for button in (self.up_button, self.down_button):
            row.addWidget(button)
        decide = QHBoxLayout()
        decide.addWidget(self.accept_button)
        decide.addWidget(self.discard_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.propose_button)
        layout.addLayout(row)
        layout.addLayout(decide)
        layout.addWidget(self.status)
        self.guard = QLabel("")
        self.guard.setWordWrap(True)
        layout.addWidget(self.guard)
        self._enable(False)
        planning.listen(self.ws.case_changed, self._check)
        self.destroyed.connect(self._forget)

    def _forget(self, *_: Any) -> None:
        self.worker = None  # a result arriving after the panel closed is dropped

    @property
    def proposal(self) -> LevelProposal | None:
        """The proposal as it stands (shifted by the physician's clicks)."""
        if self._proposal is None:
            return None
        return shift_proposal(self._proposal, self._shift)

    def _enable(self, deciding: bool) -> None:
        has = deciding and self.proposal is not None and bool(self.proposal.levels)
        for button in (self.up_button, self.down_button, self.accept_button):
            button.setEnabled(has)
        self.discard_button.setEnabled(deciding)
        self.propose_button.setEnabled(self.worker is None)

    # -- proposing ----------------------------------------------------------------------
    def start(self) -> Any:
        """Propose levels on the planning CT in a worker thread."""
        from napari.qt.threading import create_worker

        volume = series_for_levels(self.ws.volumes(), self.ws.frame_of_reference_uid())
        if volume is None:
            self.planning._error(
                "load the CT or the sagittal MR of the study first: levels are proposed on those"
            )
            return None
        self.discard()
        self.worker = create_worker(propose_levels, volume, _start_thread=False)
        worker = self.worker
        worker.returned.connect(lambda result, w=worker: self._on_result(w, result))
        worker.errored.connect(lambda err, w=worker: self._on_error(w, err))
        self.status.setText(
            f"counting the levels on {volume.modality} series {volume.series_number} …"
        )
        self._enable(False)
        worker.start()
        return worker

    def _on_result(self, worker: Any, proposal: LevelProposal) -> None:
        if worker is not self.worker:
            return
        self.worker = None
        self._proposal, self._shift, self._counted = proposal.on_midline(), 0, proposal
        self._flagged_for = ()
        self._draw()
        self._enable(True)
        self._check(self.ws.case)

    def _on_error(self, worker: Any, err: Exception) -> None:
        if worker is not self.worker:
            return
        self.worker = None
        self._enable(False)
        self.planning._error(str(err) if isinstance(err, BlockplanError) else repr(err))

    def _check(self, case: Any) -> None:
        """The wrong-level guard: the case's markers against the last count, on every edit.

        Targets near a disagreement are flagged once per new set of disagreements.
        """
        if self._counted is None or not case.levels:
            self.guard.setText("")
            return
        check = check_level_markers(case.levels, self._counted)
        self.guard.setText(check.message)
        wrong = tuple((p.marker_label, p.proposed_label) for p in check.disagreements)
        if not wrong or wrong == self._flagged_for:
            return
        self._flagged_for = wrong
        flagged = flag_targets_near_disagreement(case, check)
        if flagged != case:
            self.planning._apply(
                flagged,
                "flag targets: levels disagree",
                check.message,
                what="flags on the targets near the levels that disagree",
            )

    # -- the markers on screen -------------------------------------------------------------
    def layer(self) -> Any:
        """The proposal's points layer, or None."""
        for layer in self.viewer.layers:
            if layer.metadata.get("blockplan", {}).get("role") == ROLE:
                return layer
        return None

    def _draw(self) -> None:
        proposal = self.proposal
        assert proposal is not None
        self.status.setText(proposal.summary())
        labels = [lv.label for lv in proposal.levels]
        layer = self.layer()
        if layer is not None:  # a shift: the names change, the (possibly moved) points stay
            layer.features = {"level": labels}
            layer.text = {"string": "{level}", "color": "#00e5ff", "size": 11}
            return
        if not labels:
            return
        data = lps_to_world([lv.centre_lps for lv in proposal.levels])
        active = self.viewer.layers.selection.active
        layer = self.viewer.add_points(
            data,
            ndim=3,
            name=f"blockplan: {ROLE}",
            size=6.0,
            symbol="cross",
            face_color="#00e5ff",
            features={"level": labels},
            text={"string": "{level}", "color": "#00e5ff", "size": 11, "anchor": "upper_right"},
            metadata={"blockplan": {"role": ROLE}},
        )
        if active is not None:
            self.viewer.layers.selection.active = active
        centre_on(self.viewer, proposal.levels[len(labels) // 2].centre_lps)

    # -- deciding ----------------------------------------------------------------------
    def shift(self, steps: int) -> None:
        """Rename every proposed marker ``steps`` levels caudally (negative: cranially)."""
        if self._proposal is None:
            return
        self._shift += steps
        self._draw()
        self._enable(True)

    def accept(self) -> None:
        """The proposed markers (as moved on screen) become the case's level markers."""
        proposal, layer = self.proposal, self.layer()
        if proposal is None or layer is None:
            return
        moved = {}
        for lv, world in zip(proposal.levels, np.asarray(layer.data), strict=True):
            x, y, z = (float(v) for v in world_to_lps(world))
            moved[lv.label] = (x, y, z)
        try:
            case, summary = accept_proposed_levels(self.ws.case, proposal, moved)
        except BlockplanError as err:
            self.planning._error(str(err))
            return
        # refused by the store (said), the proposal stays on screen as it was moved
        if self.planning._apply_levels(
            case, "accept proposed levels", summary, what="proposed level markers"
        ):
            self.discard()

    def discard(self) -> None:
        """Forget the proposal and remove its markers."""
        layer = self.layer()
        if layer is not None:
            self.viewer.layers.remove(layer)
        self._proposal, self._shift = None, 0
        self.status.setText("")  # the proposal's line went with it (it stayed after Accept)
        self._enable(False)
