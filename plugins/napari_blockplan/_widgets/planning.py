"""Planning dock widget: levels, scar, targets and needle trajectories.

An adapter only: clicks become patient-space points (`_convert.world_to_lps`), points
become core calls (`blockplan.planning`), results become case edits
(`Workspace.apply`) and layers (`_layers.refresh_layers`).

Clicking on the canvas places whatever the active mode says (keyboard shortcuts in
brackets): a level marker [Shift-L], a root/thecal-sac landmark, a target [Shift-T], the
skin entry of the selected target [Shift-E], or the seed of a scar region-grow [Shift-G].
Escape leaves the mode. Undo/redo [Control-Alt-Z / Control-Alt-Y].
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from blockplan.case import (
    Approach,
    BlockType,
    Case,
    Landmark,
    Laterality,
    LevelMarker,
    PatientPoint,
    ScarRegion,
    SeriesRef,
    Structure,
    StudyRef,
    Target,
    Trajectory,
)
from blockplan.errors import BlockplanError
from napari_blockplan._convert import lps_to_world, world_to_lps
from napari_blockplan._layers import keep_overlays_on_top, layer_for, refresh_layers
from napari_blockplan._workspace import workspace_for

if TYPE_CHECKING:
    import napari

    from blockplan.io.volume import ImageVolume

__all__ = ["PlanningWidget"]

TARGET_COLUMNS = (
    "Target",
    "Level",
    "Side",
    "Structure",
    "Block",
    "Approach",
    "Path mm",
    "Needle",
    "Oblique",
    "Tilt",
    "Clearance mm",
    "Safe",
)
_EDITABLE = {"Target", "Level", "Side", "Structure", "Block", "Approach"}

_MODES = ("level", "landmark", "target", "entry", "seed")

GROW_RADIUS_MM = 40.0
_LEAK_FRACTION = 0.6  # a region filling this much of its confinement sphere has leaked


class PlanningWidget(QWidget):
    """Levels, scar, targets and trajectories of the open case."""

    def __init__(self, napari_viewer: napari.viewer.Viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.ws = workspace_for(napari_viewer)
        self.mode: str | None = None
        self.metrics: dict[str, Any] = {}
        self._metrics_cache: dict[Any, Any] = {}
        self._masks: list[tuple[np.ndarray, np.ndarray]] = []
        self._masks_key: Any = None
        self._filling = False

        tabs = QTabWidget()
        tabs.addTab(self._levels_tab(), "Levels")
        tabs.addTab(self._scar_tab(), "Scar")
        tabs.addTab(self._targets_tab(), "Targets")
        self.tabs = tabs

        self.mode_label = QLabel("")
        undo = QPushButton("Undo")
        undo.clicked.connect(self.undo)
        redo = QPushButton("Redo")
        redo.clicked.connect(self.redo)
        bottom = QHBoxLayout()
        bottom.addWidget(self.mode_label, 1)
        bottom.addWidget(undo)
        bottom.addWidget(redo)
        self.message = QLabel("")
        self.message.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.addWidget(tabs)
        layout.addLayout(bottom)
        layout.addWidget(self.message)

        self.ws.case_changed.connect(self._on_case_changed)
        keep_overlays_on_top(self.viewer)
        self.viewer.mouse_drag_callbacks.append(self._on_mouse)
        self._bind_keys()
        self._on_case_changed(self.ws.case)

    # ------------------------------------------------------------------ tabs ----
    def _levels_tab(self) -> QWidget:
        w = QWidget()
        self.next_level = QLabel("")
        place = QPushButton("Place level marker [Shift-L]")
        place.clicked.connect(lambda: self.set_mode("level"))
        self.landmark_kind = QComboBox()
        self.landmark_kind.addItems(["nerve_root", "thecal_sac", "artery"])
        place_lm = QPushButton("Place landmark")
        place_lm.clicked.connect(lambda: self.set_mode("landmark"))
        remove = QPushButton("Remove last level marker")
        remove.clicked.connect(self.remove_last_level)
        form = QFormLayout(w)
        form.addRow("Next level:", self.next_level)
        form.addRow(place)
        form.addRow(remove)
        form.addRow("Landmark:", self.landmark_kind)
        form.addRow(place_lm)
        return w

    def _scar_tab(self) -> QWidget:
        w = QWidget()
        self.scar_series = QComboBox()
        grow = QPushButton("Grow scar from a click [Shift-G]")
        grow.clicked.connect(lambda: self.set_mode("seed"))
        paint = QPushButton("Paint / erase on the scar layer")
        paint.clicked.connect(self.start_painting)
        clear = QPushButton("Clear scar")
        clear.clicked.connect(self.clear_scar)
        self.scar_volume = QLabel("no scar marked")
        self.scar_volume.setWordWrap(True)
        self.sensitivity = QDoubleSpinBox()
        self.sensitivity.setRange(0.75, 4.0)
        self.sensitivity.setSingleStep(0.25)
        self.sensitivity.setSpecialValueText("auto")  # the minimum: leak-guarded choice
        self.sensitivity.setValue(self.sensitivity.minimum())
        self.sensitivity.setToolTip(
            "intensity window in standard deviations ('auto': the widest that does not "
            "leak); lower it if the region leaks"
        )
        self.grow_radius = QDoubleSpinBox()
        self.grow_radius.setRange(5, 80)
        self.grow_radius.setValue(GROW_RADIUS_MM)
        self.grow_radius.setSuffix(" mm")
        form = QFormLayout(w)
        form.addRow("Series:", self.scar_series)
        form.addRow("Sensitivity:", self.sensitivity)
        form.addRow("Grow within:", self.grow_radius)
        form.addRow(grow)
        form.addRow(paint)
        form.addRow(clear)
        form.addRow("Volume:", self.scar_volume)
        return w

    def _targets_tab(self) -> QWidget:
        w = QWidget()
        self.structure = QComboBox()
        self.structure.addItems([s.value for s in Structure])
        self.block_type = QComboBox()
        self.block_type.addItems([b.value for b in BlockType])
        self.block_type.currentTextChanged.connect(self._default_structure)
        self.approach = QComboBox()
        self.approach.addItems(["", *[a.value for a in Approach]])
        add = QPushButton("Place target [Shift-T]")
        add.clicked.connect(lambda: self.set_mode("target"))
        entry = QPushButton("Place skin entry of selected [Shift-E]")
        entry.clicked.connect(lambda: self.set_mode("entry"))
        delete = QPushButton("Delete selected target")
        delete.clicked.connect(self.delete_selected_target)
        self.table = QTableWidget(0, len(TARGET_COLUMNS))
        self.table.setHorizontalHeaderLabels(TARGET_COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.itemChanged.connect(self._on_item_changed)
        self.table.itemSelectionChanged.connect(self._on_selection)
        form = QFormLayout()
        form.addRow("Block type:", self.block_type)
        form.addRow("Structure:", self.structure)
        form.addRow("Approach:", self.approach)
        row = QHBoxLayout()
        row.addWidget(add)
        row.addWidget(entry)
        row.addWidget(delete)
        layout = QVBoxLayout(w)
        layout.addLayout(form)
        layout.addLayout(row)
        layout.addWidget(self.table)
        self._default_structure(self.block_type.currentText())
        return w

    def _default_structure(self, block: str) -> None:
        self.structure.setCurrentText(BlockType(block).structure.value)

    # ------------------------------------------------------------------ modes ---
    def _bind_keys(self) -> None:
        bindings = {
            "Shift-L": lambda _v: self.set_mode("level"),
            "Shift-T": lambda _v: self.set_mode("target"),
            "Shift-E": lambda _v: self.set_mode("entry"),
            "Shift-G": lambda _v: self.set_mode("seed"),
            "Escape": lambda _v: self.set_mode(None),
            "Control-Alt-Z": lambda _v: self.undo(),
            "Control-Alt-Y": lambda _v: self.redo(),
        }
        for key, func in bindings.items():
            self.viewer.bind_key(key, func, overwrite=True)

    def set_mode(self, mode: str | None) -> None:
        """Make the next canvas click place a ``mode`` item (None: clicks do nothing)."""
        if mode is not None and mode not in _MODES:
            raise ValueError(f"unknown mode {mode!r}")
        self.mode = mode
        hint = {
            "level": f"click the centre of {self._proposed_level()}",
            "landmark": f"click a {self.landmark_kind.currentText().replace('_', ' ')}",
            "target": "click the target",
            "entry": "click the skin entry point of the selected target",
            "seed": "click inside the scar",
        }
        self.mode_label.setText(hint.get(mode or "", "") + (" (Esc to stop)" if mode else ""))

    def _on_mouse(self, viewer: Any, event: Any) -> Any:
        if self.mode is None or event.button != 1:
            return
        press = np.asarray(event.position, dtype=float)
        yield
        dragged = False
        while event.type == "mouse_move":
            dragged = True
            yield
        if not dragged:
            self.click(press[-3:])

    def click(self, world: Any) -> None:
        """Handle a canvas click at napari world position ``(z, y, x)`` for the mode."""
        handlers = {
            "level": self.add_level_at,
            "landmark": self.add_landmark_at,
            "target": self.add_target_at,
            "entry": self.set_entry_at,
            "seed": self.grow_scar_at,
        }
        if self.mode is None:
            return
        try:
            handlers[self.mode](world)
        except BlockplanError as err:
            self._error(str(err))

    # ------------------------------------------------------------------ helpers -
    def _point(self, world: Any) -> PatientPoint:
        frame = self.ws.frame_of_reference_uid()
        if frame is None:
            raise BlockplanError("load a study first: there is no image to place points on")
        lps = world_to_lps(np.asarray(world, dtype=float))
        return PatientPoint(lps=tuple(float(v) for v in lps), frame_of_reference_uid=frame)

    def _with_study(self, case: Case) -> Case:
        vols = self.ws.volumes()
        if case.study is not None or not vols:
            return case
        series = tuple(
            SeriesRef(
                series_instance_uid=v.series_instance_uid,
                modality=v.modality,
                series_number=v.series_number,
                description=v.series_description,
                frame_of_reference_uid=v.frame_of_reference_uid,
            )
            for v in vols
        )
        return case.evolve(
            study=StudyRef(study_instance_uid=vols[0].study_instance_uid, series=series)
        )

    def _apply(self, case: Case, action: str, summary: str) -> None:
        self.ws.apply(self._with_study(case), action, summary)
        self.message.setText(summary)

    def _error(self, text: str) -> None:
        from napari.utils.notifications import show_error

        self.message.setText(text)
        show_error(f"blockplan: {text}")

    def _proposed_level(self) -> str:
        from blockplan.planning import propose_next_level

        return propose_next_level(self.ws.case.levels)

    def _assign(self, point: PatientPoint) -> tuple[str | None, Laterality]:
        from blockplan.planning import assign_level

        if len(self.ws.case.levels) < 2:
            return None, Laterality.MIDLINE
        found = assign_level(point.lps, self.ws.case.levels)
        return found.level, found.side

    # ------------------------------------------------------------------ levels --
    def add_level_at(self, world: Any) -> LevelMarker:
        """Place the proposed next level marker at ``world``."""
        marker = LevelMarker(level=self._proposed_level(), position=self._point(world))
        self._apply(
            self.ws.case.replace_item("levels", marker), "add level", f"level marker {marker.level}"
        )
        return marker

    def remove_last_level(self) -> None:
        """Remove the most recently placed level marker."""
        if self.ws.case.levels:
            last = self.ws.case.levels[-1]
            self._apply(
                self.ws.case.remove_item("levels", last.id),
                "remove level",
                f"removed level marker {last.level}",
            )

    def add_landmark_at(self, world: Any) -> Landmark:
        """Mark a nerve root / thecal sac / artery at ``world`` (level and side automatic)."""
        point = self._point(world)
        level, side = self._assign(point)
        kind = self.landmark_kind.currentText()
        radius = {"nerve_root": 2.5, "thecal_sac": 7.0, "artery": 1.5}.get(kind, 0.0)
        lm = Landmark(kind=kind, level=level, side=side, position=point, radius_mm=radius)
        self._apply(
            self.ws.case.replace_item("landmarks", lm),
            "add landmark",
            f"{kind.replace('_', ' ')} {level or ''} {side.value}",
        )
        return lm

    # ------------------------------------------------------------------ scar ----
    def _scar_volume(self) -> ImageVolume:
        uid = self.scar_series.currentData()
        vol = self.ws.volume(uid) if uid else None
        if vol is None:
            vols = self.ws.volumes()
            if not vols:
                raise BlockplanError("load a study first: the scar is drawn on a series")
            vol = next((v for v in vols if v.modality == "MR"), vols[0])
        return vol

    def grow_scar_at(self, world: Any) -> ScarRegion:
        """Propose a scar region by region-growing from ``world`` on the chosen series."""
        from blockplan.planning import grow_scar, grow_scar_auto
        from napari_blockplan._convert import display_volume

        shown, _how = display_volume(self._scar_volume())
        seed = self._point(world)
        radius = self.grow_radius.value()
        if self.sensitivity.value() == self.sensitivity.minimum():
            mask, _multiplier = grow_scar_auto(shown, seed.lps, max_radius_mm=radius)
        else:
            mask = grow_scar(
                shown, seed.lps, multiplier=self.sensitivity.value(), max_radius_mm=radius
            )
        sphere_ml = 4 / 3 * np.pi * radius**3 / 1000
        grown_ml = float(mask.sum()) * shown.voxel_volume_ml()
        if grown_ml > _LEAK_FRACTION * sphere_ml:
            raise BlockplanError(
                f"the region leaked ({grown_ml:.0f} mL fills the {radius:.0f} mm sphere around "
                "the click): lower the sensitivity, use a fat-suppressed post-contrast series, "
                "or paint the scar"
            )
        existing = self.ws.case.scar_regions
        if existing and existing[0].grid == self._grid(shown):
            mask = mask | existing[0].mask()
        region = self._scar_region(mask, shown, method="region_grow")
        self._apply(
            self._set_scar(region), "grow scar", f"scar region grown: {region.volume_ml:.2f} mL"
        )
        return region

    def _grid(self, shown: ImageVolume) -> Any:
        from blockplan.planning import mask_grid_for

        return mask_grid_for(shown)

    def _scar_region(self, mask: np.ndarray, shown: ImageVolume, method: str) -> ScarRegion:
        from blockplan.planning import scar_volume_per_level

        grid = self._grid(shown)
        per_level = (
            scar_volume_per_level(mask, grid.affine_array(), self.ws.case.levels)
            if len(self.ws.case.levels) >= 2
            else {}
        )
        old = self.ws.case.scar_regions
        kw = {"id": old[0].id} if old else {}
        return ScarRegion.from_mask(
            mask.astype(bool), grid, method=method, volume_ml_per_level=per_level, **kw
        )

    def _set_scar(self, region: ScarRegion | None) -> Case:
        case = self.ws.case
        for old in case.scar_regions:
            case = case.remove_item("scar_regions", old.id)
        return case.replace_item("scar_regions", region) if region is not None else case

    def start_painting(self) -> None:
        """Select the scar layer in paint mode (created empty on the chosen series)."""
        layer = layer_for(self.viewer, "scar")
        if layer is None:
            from napari_blockplan._convert import display_volume

            shown, _ = display_volume(self._scar_volume())
            region = self._scar_region(np.zeros(shown.shape, bool), shown, method="manual")
            self._apply(self._set_scar(region), "start scar", "empty scar layer created")
            layer = layer_for(self.viewer, "scar")
        self.viewer.layers.selection.active = layer
        layer.selected_label = 1
        layer.mode = "paint"
        self._connect_paint(layer)

    def _connect_paint(self, layer: Any) -> None:
        if not getattr(layer, "_blockplan_paint_connected", False):
            layer.events.paint.connect(lambda _e: self.commit_painting())
            layer._blockplan_paint_connected = True

    def commit_painting(self) -> None:
        """Store what was painted on the scar layer (called after each stroke)."""
        layer = layer_for(self.viewer, "scar")
        if layer is None or not self.ws.case.scar_regions:
            return
        old = self.ws.case.scar_regions[0]
        mask = np.asarray(layer.data) > 0
        if np.array_equal(mask, old.mask()):
            return
        from blockplan.planning import scar_volume_per_level

        per_level = (
            scar_volume_per_level(mask, old.grid.affine_array(), self.ws.case.levels)
            if len(self.ws.case.levels) >= 2
            else {}
        )
        region = ScarRegion.from_mask(
            mask, old.grid, id=old.id, method="manual", volume_ml_per_level=per_level
        )
        self._apply(self._set_scar(region), "paint scar", f"scar edited: {region.volume_ml:.2f} mL")

    def clear_scar(self) -> None:
        """Remove the scar region."""
        if self.ws.case.scar_regions:
            self._apply(self._set_scar(None), "clear scar", "scar cleared")

    # ------------------------------------------------------------------ targets -
    def add_target_at(self, world: Any) -> Target:
        """Add a target at ``world`` with the chosen block type; level and side automatic."""
        from blockplan.planning import level_for_structure

        point = self._point(world)
        where, side = self._assign(point)
        level = level_for_structure(where, self.structure.currentText())
        block = BlockType(self.block_type.currentText())
        approach = self.approach.currentText() or None
        target = Target(
            level=level,
            side=side,
            structure=Structure(self.structure.currentText()),
            block_type=block,
            approach=approach,
            position=point,
        )
        self._apply(
            self.ws.case.replace_item("targets", target),
            "add target",
            f"target {level or '?'} {side.value} {block.value}",
        )
        self.select_target(target.id, centre=False)  # the view is already there
        return target

    def selected_target_id(self) -> str | None:
        """Id of the target selected in the table."""
        rows = {i.row() for i in self.table.selectedIndexes()}
        if not rows:
            return None
        item = self.table.item(min(rows), 0)
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def select_target(self, target_id: str, *, centre: bool = True) -> None:
        """Select a target's row, centring the view on it unless ``centre`` is False."""
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == target_id:
                filling, self._filling = self._filling, self._filling or not centre
                try:
                    self.table.selectRow(row)
                finally:
                    self._filling = filling
                return

    def delete_selected_target(self) -> None:
        """Delete the selected target and its trajectory."""
        tid = self.selected_target_id()
        if tid is not None:
            self._apply(self.ws.case.remove_item("targets", tid), "delete target", "target deleted")

    def set_entry_at(self, world: Any, target_id: str | None = None) -> Trajectory:
        """Set the skin entry of a target (default: the selected one) at ``world``."""
        tid = target_id or self.selected_target_id()
        if tid is None:
            raise BlockplanError("select a target in the table first, then place its entry")
        old = self.ws.case.trajectory_for(tid)
        kw = {"id": old.id} if old else {}
        traj = Trajectory(target_id=tid, entry=self._point(world), **kw)
        self._apply(
            self.ws.case.replace_item("trajectories", traj), "set entry", "skin entry placed"
        )
        return traj

    def _on_selection(self) -> None:
        tid = self.selected_target_id()
        if tid is None or self._filling:
            return
        world = lps_to_world(self.ws.case.target(tid).position.lps)
        self.viewer.scene.camera.center = (
            tuple(world[-2:]) if self.viewer.dims.ndisplay == 2 else tuple(world)
        )
        self.viewer.dims.set_point(range(3), tuple(world))

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if self._filling:
            return
        column = TARGET_COLUMNS[item.column()]
        tid = self.table.item(item.row(), 0).data(Qt.ItemDataRole.UserRole)
        target = self.ws.case.target(tid)
        text = item.text().strip()
        field = {
            "Target": "label",
            "Level": "level",
            "Side": "side",
            "Structure": "structure",
            "Block": "block_type",
            "Approach": "approach",
        }[column]
        value: Any = text or None if field in ("level", "approach") else text
        try:
            data = target.model_dump()
            data[field] = value
            updated = Target.model_validate(data)
        except ValueError as err:
            self._error(f"target {column.lower()}: {text!r} is not valid ({_first_error(err)})")
            self._fill_table(self.ws.case)
            return
        self._apply(
            self.ws.case.replace_item("targets", updated),
            "edit target",
            f"target {column.lower()} set",
        )

    # ------------------------------------------------------------------ refresh -
    def compute_metrics(self, case: Case) -> dict[str, Any]:
        """Trajectory metrics per target id (core `evaluate_trajectory`).

        Results are cached by their inputs (entry, target, scar, landmarks, CT), so an
        edit that does not touch a path does not recompute it.
        """
        from blockplan.planning import evaluate_trajectory

        ct = self.ws.ct()
        scar_key = tuple((r.id, hash(r.rle), r.grid) for r in case.scar_regions)
        out: dict[str, Any] = {}
        cache: dict[Any, Any] = {}
        for traj in case.trajectories:
            target = case.target(traj.target_id)
            exclude = tuple(
                lm.id
                for lm in case.landmarks
                if lm.kind == "nerve_root"
                and target.structure is Structure.NERVE_ROOT
                and lm.level == target.level
                and lm.side == target.side
            )
            key = (
                traj.entry.lps,
                target.position.lps,
                exclude,
                scar_key,
                case.landmarks,
                None if ct is None else ct.series_instance_uid,
            )
            metrics = self._metrics_cache.get(key)
            if metrics is None:
                metrics = evaluate_trajectory(
                    traj.entry.lps,
                    target.position.lps,
                    ct=ct,
                    scar_masks=self._scar_masks(case),
                    landmarks=case.landmarks,
                    exclude_landmark_ids=exclude,
                )
            cache[key] = metrics
            out[traj.target_id] = metrics
        self._metrics_cache = cache  # keep only what the current case uses
        return out

    def _scar_masks(self, case: Case) -> list[tuple[np.ndarray, np.ndarray]]:
        key = tuple((r.id, hash(r.rle)) for r in case.scar_regions)
        if self._masks_key != key:
            self._masks = [(r.mask(), r.grid.affine_array()) for r in case.scar_regions]
            self._masks_key = key
        return self._masks

    def _on_case_changed(self, case: Case) -> None:
        self.metrics = self.compute_metrics(case) if case.trajectories else {}
        refresh_layers(
            self.viewer,
            case,
            statuses=self.ws.target_statuses,
            safety={tid: m.safe for tid, m in self.metrics.items()},
        )
        scar = layer_for(self.viewer, "scar")
        if scar is not None:
            self._connect_paint(scar)
        self._fill_table(case)
        self._fill_scar(case)
        self._fill_series()
        self.next_level.setText(self._proposed_level())

    def _fill_series(self) -> None:
        current = self.scar_series.currentData()
        uids = [v.series_instance_uid for v in self.ws.volumes()]
        if uids == [self.scar_series.itemData(i) for i in range(self.scar_series.count())]:
            return
        self.scar_series.clear()
        for v in self.ws.volumes():
            label = f"{v.modality} {v.series_number or ''} {v.series_description}".strip()
            self.scar_series.addItem(label, v.series_instance_uid)
        if current in uids:
            self.scar_series.setCurrentIndex(uids.index(current))
        else:
            self.scar_series.setCurrentIndex(_preferred_scar_series(self.ws.volumes()))

    def _fill_scar(self, case: Case) -> None:
        if not case.scar_regions:
            self.scar_volume.setText("no scar marked")
            return
        region = case.scar_regions[0]
        parts = [f"{region.volume_ml:.2f} mL in total"]
        parts += [f"{lv}: {ml:.2f} mL" for lv, ml in sorted(region.volume_ml_per_level.items())]
        self.scar_volume.setText("; ".join(parts))

    def _fill_table(self, case: Case) -> None:
        self._filling = True
        selected = self.selected_target_id()
        try:
            self.table.setRowCount(len(case.targets))
            for row, t in enumerate(case.targets):
                m = self.metrics.get(t.id)
                values = [
                    t.label or t.id[:6],
                    t.level or "",
                    t.side.value,
                    t.structure.value,
                    t.block_type.value,
                    t.approach.value if t.approach else "",
                    "" if m is None else f"{m.path_length_mm:.1f}",
                    "" if m is None else m.needle_label,
                    "" if m is None else m.oblique_label,
                    "" if m is None else m.tilt_label,
                    "" if m is None else m.clearance_label,
                    "" if m is None else ("yes" if m.safe else "NO: " + "; ".join(m.warnings)),
                ]
                for col, value in enumerate(values):
                    item = QTableWidgetItem(value)
                    if TARGET_COLUMNS[col] not in _EDITABLE:
                        item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                    if col == 0:
                        item.setData(Qt.ItemDataRole.UserRole, t.id)
                    if m is not None and not m.safe:
                        item.setForeground(Qt.GlobalColor.red)
                    self.table.setItem(row, col, item)
            if selected is not None:
                self.select_target(selected)
        finally:
            self._filling = False

    # ------------------------------------------------------------------ undo ----
    def undo(self) -> None:
        """Undo the last planning edit."""
        action = self.ws.undo()
        self.message.setText(f"undone: {action}" if action else "nothing to undo")

    def redo(self) -> None:
        """Redo the last undone edit."""
        action = self.ws.redo()
        self.message.setText(f"redone: {action}" if action else "nothing to redo")


def _preferred_scar_series(volumes: list[ImageVolume]) -> int:
    """Index of the series to grow scar on: a fat-suppressed MR, else the last MR, else 0."""
    mr = [n for n, v in enumerate(volumes) if v.modality == "MR"]
    fat_suppressed = [
        n
        for n in mr
        if any(tag in volumes[n].series_description.upper() for tag in (" FS", "FATSAT", "FAT SAT"))
    ]
    return (fat_suppressed or mr or [0])[-1]


def _first_error(err: ValueError) -> str:
    errors = getattr(err, "errors", None)
    if callable(errors):
        first = errors()[0]
        return str(first.get("msg", err))
    return str(err)
