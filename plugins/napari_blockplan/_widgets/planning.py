"""Planning dock widget: levels, scar, targets and needle trajectories.

An adapter only: clicks become patient-space points (`_convert.world_to_lps`), points
become core calls (`blockplan.planning`), results become case edits
(`Workspace.apply`) and layers (`_layers.refresh_layers`).

Clicking on the canvas places whatever the active mode says (keyboard shortcuts in
brackets): a level marker [Shift-L], the new place of the marker selected in the marker
list, a root/thecal-sac landmark, a target [Shift-T], the skin entry of the selected target
[Shift-E], or the seed of a scar region-grow [Shift-G]. Escape leaves the mode. Undo/redo
[Control-Alt-Z / Control-Alt-Y]. Delete or Backspace on a selected row of the marker list or
the targets table deletes that marker or target (not while a cell is being edited).
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from qtpy.QtCore import QEvent, QObject, QSignalBlocker, Qt, QTimer
from qtpy.QtGui import QBrush, QColor, QKeyEvent, QKeySequence, QShortcut  # type: ignore[attr-defined]
from qtpy.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
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
    LevelMarker,
    PatientPoint,
    Structure,
    StudyRef,
    Target,
    Trajectory,
    TransitionalVertebra,
)
from blockplan.case.identity import volume_series_ref
from blockplan.case.vocab import BLOCK_NAMES
from blockplan.case.wording import unnamed_joint_text
from blockplan.errors import BlockplanError
from blockplan.outcomes.numbering import numbered_blocks
from blockplan.planning import (
    AUTO_MULTIPLIERS,
    DEFAULT_GROW_RADIUS_MM,
    GROW_RADIUS_RANGE_MM,
    LANDMARK_RADIUS_MM,
    PathPlanner,
    PathWords,
    SafetyVerdict,
    TrajectoryMetrics,
    case_frame,
    change_level_markers,
    confirm_target_level,
    delete_landmark,
    delete_level_marker,
    describe_path,
    landmarks_in_order,
    level_text,
    markable_levels,
    markers_in_order,
    mask_grid_for,
    move_level_marker,
    paint_voxels,
    place_landmark,
    place_level_marker,
    place_target,
    planning_ct,
    preferred_scar_series,
    propose_next_level,
    rename_level_marker,
    scar_region_from_mask,
    set_target_label,
    set_target_level,
    set_target_side,
    set_transitional_vertebra,
    target_names,
    transitional_text,
    unconfirmed_targets,
    with_scar,
)
from blockplan.planning.opening import opening_point
from blockplan.planning.paths import own_root_label
from blockplan.planning.retype import change_block_type
from blockplan.planning.target_label import set_target_notes
from blockplan.planning.wording import (
    BLOCK_ABBREVIATIONS,
    approach_text,
    block_type_from_text,
    landmark_name,
    scar_volume_text,
    structure_from_text,
    structure_text,
    unassigned_level_reason,
)
from napari_blockplan._convert import lps_to_world, world_to_lps
from napari_blockplan._layers import (
    is_the_cases,
    keep_overlays_on_top,
    layer_for,
    not_stepped_here,
    path_legend_shown,
    refresh_layers,
)
from napari_blockplan._qt import present
from napari_blockplan._views import (
    PLANES,
    centre_on,
    point_at,
    show_orientation_letters,
    show_plane,
)
from napari_blockplan._widgets._controls import may_narrow, scroll_only
from napari_blockplan._widgets._level_proposal import LevelProposalPanel
from napari_blockplan._widgets._panel import (
    Panel,
    TextBox,
    Typed,
    UndoBar,
    keeping_typed,
    refuse_typed,
)
from napari_blockplan._widgets._scar_proposal import ScarProposal

if TYPE_CHECKING:
    import napari

    from blockplan.io.volume import ImageVolume

__all__ = ["PlanningWidget"]

TARGET_COLUMNS = ("Target", "Level", "Side", "Structure", "Block", "Verdict")
_EDITABLE = {"Level": "level", "Side": "side", "Structure": "structure", "Block": "block_type"}
"""Editable column → the `Target` field it edits (the name follows from the target)."""

_VERDICT_INK: dict[SafetyVerdict, QColor] = {
    SafetyVerdict.UNSAFE: QColor(Qt.GlobalColor.red),
    SafetyVerdict.NOT_ASSESSED: QColor("#b35900"),
}

_MODES = ("level", "move_level", "landmark", "target", "entry", "seed")

_UNCONFIRMED = QColor("#ffd8a8")
"""Background of a level cell awaiting the physician's confirmation (light orange)."""


class PlanningWidget(Panel):
    """Levels, scar, targets and trajectories of the open case."""

    def __init__(self, napari_viewer: napari.viewer.Viewer) -> None:
        super().__init__(napari_viewer)
        self.metrics: dict[str, TrajectoryMetrics] = {}
        self._measured_on: weakref.ref[Any] | None = None  # the CT the paths were measured on
        self._planner = PathPlanner()
        self._filling = False

        tabs = QTabWidget()
        # the Levels and Scar tabs scroll rather than squeeze: a long wrong-level warning had
        # shrunk the marker list to one row and clipped its own first and last lines
        tabs.addTab(_scrolling(self._levels_tab()), "Levels")
        tabs.addTab(_scrolling(self._scar_tab()), "Scar")
        tabs.addTab(self._targets_tab(), "Targets")
        self.tabs = tabs
        tabs.currentChanged.connect(self._leave_seed_mode_off_the_scar_tab)

        self.mode_label = QLabel("")
        self.mode_label.setWordWrap(True)
        self.undo_bar = UndoBar(self.ws)
        bottom = QVBoxLayout()
        bottom.addWidget(self.mode_label)
        bottom.addWidget(self.undo_bar)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.undo_bar.stepped.connect(self.message.setText)

        views = QHBoxLayout()
        self.view_buttons: dict[str, QPushButton] = {}
        for plane in PLANES:
            button = QPushButton(plane.capitalize())
            button.setToolTip(f"show the {plane} plane, upright")
            button.clicked.connect(lambda _=False, p=plane: self.show_plane(p))
            views.addWidget(button)
            self.view_buttons[plane] = button

        self.path_legend = QLabel("")  # what the needle paths' styles mean on this view
        self.path_legend.setWordWrap(True)
        self.path_legend.setObjectName("blockplan_path_legend")

        layout = QVBoxLayout(self)
        layout.addLayout(views)
        layout.addWidget(self.path_legend)
        layout.addWidget(tabs)
        layout.addLayout(bottom)
        layout.addWidget(self.message)

        self.listen(self.ws.case_changed, self._on_case_changed)
        self.listen(self.ws.mode_changed, self._on_mode_changed)
        self.listen(self.ws.images_changed, self._fill_series)  # a series completed loading
        self.viewer.layers.events.inserted.connect(self._fill_series)
        self.viewer.layers.events.removed.connect(self._fill_series)
        self.destroyed.connect(lambda *_: _disconnect_layer_events(self.viewer, self._fill_series))
        keep_overlays_on_top(self.viewer)
        remove_letters = show_orientation_letters(self.viewer)
        self.destroyed.connect(lambda *_: remove_letters())
        self._show_path_legend()
        for event in (self.viewer.dims.events.order, self.viewer.dims.events.ndisplay):
            event.connect(self._show_path_legend)
        self.destroyed.connect(
            lambda *_: _disconnect_dims_events(self.viewer, self._show_path_legend)
        )
        self.viewer.mouse_drag_callbacks.append(self._on_mouse)
        self.destroyed.connect(lambda *_: _remove(self.viewer.mouse_drag_callbacks, self._on_mouse))
        self._bind_keys()
        self._centred_on: str | None = None
        """The case whose planned targets the view was last centred on (once per opening)."""
        self.listen(self.ws.images_changed, self._centre_on_targets)
        self.listen(self.ws.images_changed, self._measure_again)
        self._on_case_changed(self.ws.case)
        scroll_only(self)  # the wheel over a target's approach had edited the case

    # ------------------------------------------------------------------ tabs ----
    def _levels_tab(self) -> QWidget:
        w = QWidget()
        self.transitional = QComboBox()
        for value in (None, *TransitionalVertebra):
            self.transitional.addItem(transitional_text(value), value.value if value else "")
        self.transitional.setToolTip(
            "lumbosacral transitional anatomy: a sacralised L5 is marked L5; a lumbarised "
            "S1 is marked L6 (then offered in Next level)"
        )
        self.transitional.activated.connect(self._transitional_chosen)
        self.next_level = QComboBox()
        self.next_level.setPlaceholderText("choose the first level")
        self.next_level.setToolTip(
            "the level the next click marks: choose the first one (the images need not "
            "start at T12); then the level after the last marker is proposed"
        )
        self.propose_discs = QCheckBox("Propose disc centres too")
        self.propose_discs.setChecked(True)
        self.propose_discs.toggled.connect(lambda _on: self._fill_next_level(self.ws.case))
        place = QPushButton("Place level marker [Shift-L]")
        place.clicked.connect(lambda: self.set_mode("level"))
        self.landmark_kind = QComboBox()
        for kind in LANDMARK_RADIUS_MM:
            if kind != "other":
                self.landmark_kind.addItem(kind.replace("_", " "), kind)
        place_lm = QPushButton("Place landmark")
        place_lm.clicked.connect(lambda: self.set_mode("landmark"))
        remove = QPushButton("Remove last level marker")
        remove.clicked.connect(self.remove_last_level)
        form = QFormLayout(w)
        form.addRow("Transitional vertebra:", self.transitional)
        form.addRow("Next level:", self.next_level)
        form.addRow(self.propose_discs)
        form.addRow(place)
        form.addRow(self._marker_list())
        form.addRow(remove)
        self.level_proposal = LevelProposalPanel(self)
        form.addRow(self.level_proposal)
        form.addRow("Landmark:", self.landmark_kind)
        form.addRow(place_lm)
        form.addRow(self._landmark_list())
        return w

    def _landmark_list(self) -> QWidget:
        """The marked structures (roots, thecal sac …), cranial to caudal: delete one."""
        box = QWidget()
        self.landmark_table = QTableWidget(0, 2)
        self.landmark_table.setHorizontalHeaderLabels(("Landmark", "Centre (LPS mm)"))
        self.landmark_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.landmark_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.landmark_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.landmark_table.setToolTip(
            "the structures the needle paths are checked against; select one and press "
            "Delete to remove a structure marked in the wrong place"
        )
        self.landmark_table.setWordWrap(False)
        header = present(self.landmark_table.horizontalHeader())
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        rows = present(self.landmark_table.verticalHeader()).defaultSectionSize()
        self.landmark_table.setMinimumHeight(header.sizeHint().height() + 4 * rows + 4)
        self.landmark_table.installEventFilter(
            _DeleteKey(self.landmark_table, self.delete_selected_landmark)
        )
        delete = QPushButton("Delete selected landmark")
        delete.clicked.connect(self.delete_selected_landmark)
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.landmark_table)
        layout.addWidget(delete)
        return box

    def _marker_list(self) -> QWidget:
        """The level markers, cranial to caudal: rename (F2 / double-click), move, delete."""
        box = QWidget()
        self.marker_table = QTableWidget(0, 2)
        self.marker_table.setHorizontalHeaderLabels(("Level", "Centre (LPS mm)"))
        self.marker_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.marker_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.marker_table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        self.marker_table.setToolTip("double-click or F2 on a level to rename the marker")
        # the header and the coordinates read whole: no clipped title, no wrapped numbers
        self.marker_table.setWordWrap(False)
        marker_header = present(self.marker_table.horizontalHeader())
        marker_header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        marker_header.setStretchLastSection(True)
        rows = present(self.marker_table.verticalHeader()).defaultSectionSize()
        self.marker_table.setMinimumHeight(marker_header.sizeHint().height() + 5 * rows + 4)
        self.marker_table.itemChanged.connect(self._on_marker_renamed)
        self.typed_cells.watch(self.marker_table)
        self.marker_table.installEventFilter(
            _DeleteKey(self.marker_table, self.delete_selected_level)
        )
        self.recount = QCheckBox("Renaming renumbers every marker (recount)")
        self.recount.setToolTip(
            "for a spine counted from the wrong vertebra: rename one marker and every "
            "other marker moves by the same number of levels"
        )
        move = QPushButton("Move selected marker")
        move.clicked.connect(lambda: self.set_mode("move_level"))
        delete = QPushButton("Delete selected marker")
        delete.clicked.connect(self.delete_selected_level)
        buttons = QHBoxLayout()
        buttons.addWidget(move)
        buttons.addWidget(delete)
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.marker_table)
        layout.addWidget(self.recount)
        layout.addLayout(buttons)
        return box

    def _scar_tab(self) -> QWidget:
        w = QWidget()
        self.scar_series = QComboBox()
        self._chosen_series: str | None = None
        self.scar_series.activated.connect(self._series_chosen)
        grow = QPushButton("Grow scar from a click [Shift-G]")
        grow.clicked.connect(lambda: self.set_mode("seed"))
        paint = QPushButton("Paint / erase on the scar layer")
        paint.clicked.connect(self.start_painting)
        clear = QPushButton("Clear scar")
        clear.clicked.connect(self.clear_scar)
        self.scar_volume = QLabel("no scar marked")
        self.scar_volume.setWordWrap(True)
        self.sensitivity = QDoubleSpinBox()
        # one step below the narrowest window means "auto"
        step = AUTO_MULTIPLIERS[1] - AUTO_MULTIPLIERS[0]
        self.sensitivity.setRange(AUTO_MULTIPLIERS[0] - step, AUTO_MULTIPLIERS[-1])
        self.sensitivity.setSingleStep(step)
        self.sensitivity.setSpecialValueText("auto")  # the minimum: leak-guarded choice
        self.sensitivity.setValue(self.sensitivity.minimum())
        self.sensitivity.setToolTip(
            "intensity window in standard deviations ('auto': the widest that does not "
            "leak); lower it if the region leaks"
        )
        self.grow_radius = QDoubleSpinBox()
        self.grow_radius.setRange(*GROW_RADIUS_RANGE_MM)
        self.grow_radius.setValue(DEFAULT_GROW_RADIUS_MM)
        self.grow_radius.setSuffix(" mm")
        form = QFormLayout(w)
        self.proposal = ScarProposal(self)
        form.addRow("Series:", self.scar_series)
        form.addRow("Sensitivity:", self.sensitivity)
        form.addRow("Grow within:", self.grow_radius)
        form.addRow(grow)
        form.addRow(self.proposal)
        form.addRow(paint)
        form.addRow(clear)
        form.addRow("Volume:", self.scar_volume)
        return w

    def _targets_tab(self) -> QWidget:
        w = QWidget()
        # the physician's words shown, the stored value as each item's data
        self.structure = QComboBox()
        for structure in Structure:
            self.structure.addItem(structure_text(structure), structure.value)
        self.block_type = QComboBox()
        for block in BlockType:
            label = f"{BLOCK_ABBREVIATIONS[block]} — {BLOCK_NAMES[block]}"
            self.block_type.addItem(label, block.value)
        self.block_type.currentIndexChanged.connect(lambda _i: self._defaults_from_block())
        self.approach = QComboBox()
        self.approach.addItem("not recorded", "")
        for approach in Approach:
            self.approach.addItem(approach_text(approach), approach.value)
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
        present(self.table.verticalHeader()).setVisible(False)
        # a cell is edited on purpose only (double-click or F2): a stray key never renames
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        header = present(self.table.horizontalHeader())
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemChanged.connect(self._on_item_changed)
        self.typed_cells.watch(self.table)
        self.table.itemSelectionChanged.connect(self._on_selection)
        # Delete / Backspace on a selected row deletes its target, as the button does; a
        # cell being edited keeps the keys for its text
        self.table.installEventFilter(_DeleteKey(self.table, self.delete_selected_target))
        for combo in (self.block_type, self.structure, self.approach):
            may_narrow(combo)
        form = QFormLayout()
        form.addRow("New target — block:", self.block_type)
        form.addRow("New target — structure:", self.structure)
        form.addRow("New target — approach:", self.approach)
        # two rows, not one: one row of three set the docks' width (573 px) and left the
        # canvas 481 px of a 1400 px window (found by the second-day trial)
        row = QGridLayout()
        row.addWidget(add, 0, 0)
        row.addWidget(delete, 0, 1)
        row.addWidget(entry, 1, 0, 1, 2)
        layout = QVBoxLayout(w)
        layout.addLayout(form)
        layout.addLayout(row)
        rows = present(self.table.verticalHeader()).defaultSectionSize()
        self.table.setMinimumHeight(header.sizeHint().height() + 5 * rows + 4)  # five targets
        layout.addWidget(self.table, 1)
        layout.addWidget(self._details_pane())
        self._defaults_from_block()
        return w

    def _details_pane(self) -> QWidget:
        """The selected target: its name, approach, label and notes (editable), and its
        path."""
        pane = QWidget()
        self.details_title = QLabel("")
        self.details_title.setStyleSheet("font-weight: bold")
        self.details_title.setWordWrap(True)
        self.target_approach = QComboBox()
        self.target_approach.addItem("not recorded", None)
        for a in Approach:
            self.target_approach.addItem(approach_text(a), a)
        self.target_approach.activated.connect(self._approach_chosen)
        self.target_label = QLineEdit()
        self.target_label.setPlaceholderText("a label of your own (optional)")
        self.target_label.editingFinished.connect(self._label_edited)
        self._label_refused_for: str | None = None  # the target whose label was refused
        self.typed_cells.watch_field(self.target_label)
        # notes of several lines: Enter starts a line; leaving the field or Ctrl+Enter saves
        self.target_notes = TextBox(lines=4)
        self.target_notes.setPlaceholderText(
            "notes on this target (optional; printed in the report): Enter for a new line, "
            "Ctrl+Enter or leave the field to save"
        )
        self.target_notes.editingFinished.connect(self._notes_edited)
        self._notes_of: str | None = None  # the target whose notes the field shows
        self._notes_refused_for: str | None = None  # the target whose notes were refused
        self.typed_cells.watch_field(self.target_notes)
        self.details = QLabel("")
        self.details.setWordWrap(True)
        self.details.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # wrapped lines need room a tab page does not negotiate: scroll rather than clip
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.details)
        scroll.setMinimumHeight(9 * self.details.fontMetrics().lineSpacing() + 8)
        # a word-wrapped label tells the scroll area a height for some other width: the
        # last lines were cut off with no scroll bar (a physician's trial); its height for
        # the width it has is set whenever the text or the width changes
        self.details_scroll = scroll
        present(scroll.viewport()).installEventFilter(_WrappedHeight(self.details, scroll))
        form = QFormLayout(pane)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(self.details_title)
        form.addRow("Approach:", self.target_approach)
        form.addRow("Label:", self.target_label)
        form.addRow("Notes:", self.target_notes)
        form.addRow(scroll)
        return pane

    def _defaults_from_block(self) -> None:
        block = BlockType(self.block_type.currentData())
        self.structure.setCurrentIndex(self.structure.findData(block.structure.value))
        self.approach.setCurrentIndex(self.approach.findData(block.usual_approach.value))

    # ------------------------------------------------------------------ modes ---
    def _bind_keys(self) -> None:
        bindings = {
            "Shift-L": lambda _v: self.set_mode("level"),
            "Shift-T": lambda _v: self.set_mode("target"),
            "Shift-E": lambda _v: self.set_mode("entry"),
            "Shift-G": lambda _v: self.set_mode("seed"),
            "Escape": lambda _v: self.ws.set_mode(None),
            "Control-Alt-Z": lambda _v: self.undo(),
            "Control-Alt-Y": lambda _v: self.redo(),
            # the canvas keeps the focus after a click places something: Ctrl+Z there undid
            # nothing (a physician's trial). Ctrl+Y stays napari's 3-D view.
            "Control-Z": lambda _v: self._step_on_canvas("undo"),
            "Control-Shift-Z": lambda _v: self._step_on_canvas("redo"),
        }
        previous = {
            key: self.viewer.bind_key(key, func, overwrite=True) for key, func in bindings.items()
        }

        def unbind(*_: object) -> None:  # the viewer's own bindings come back
            for key, func in previous.items():
                self.viewer.bind_key(key, func, overwrite=True)

        self.destroyed.connect(unbind)
        # the same keys with the focus in this panel (the block type just chosen, a table
        # row): napari's bindings only hear the canvas, and Shift-T pressed after choosing
        # SNRB did nothing, silently. A text field keeps its capital letters.
        for key, mode in (
            ("Shift+L", "level"),
            ("Shift+T", "target"),
            ("Shift+E", "entry"),
            ("Shift+G", "seed"),
        ):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda m=mode: self.set_mode(m))

    def _step_on_canvas(self, step: str) -> None:
        """Ctrl+Z (``step`` "undo") or Ctrl+Shift+Z ("redo") on the canvas: the case's
        last edit, unless a layer of the physician's own is selected — they mean that
        layer. napari's own undo of a layer (a labels layer's) is bound on the layer and
        runs before this; for the others (points, shapes) nothing changes, and the status
        line and the message line say how to undo the case."""
        active = self.viewer.layers.selection.active
        if active is not None and not is_the_cases(active):
            said = not_stepped_here(step)
            self.viewer.status = said
            self.message.setText(said.removeprefix("blockplan: "))
            return
        if step == "undo":
            self.undo()
        else:
            self.redo()

    def _show_path_legend(self, *_: object) -> None:
        self.path_legend.setText(path_legend_shown(self.viewer))

    def show_plane(self, plane: str) -> None:
        """Show a plane upright through the last place clicked (any plane)."""
        show_plane(self.viewer, plane)

    @property
    def mode(self) -> str | None:
        """What the next canvas click places (the workspace's placement mode)."""
        return self.ws.mode

    def set_mode(self, mode: str | None) -> None:
        """Make the next canvas click place a ``mode`` item (None: clicks do nothing).

        Entering a mode stops painting on the scar layer, so a click places one thing.
        """
        if mode is not None and mode not in _MODES:
            raise ValueError(f"unknown mode {mode!r}")
        hint = {
            "level": self._level_hint(),
            "move_level": f"click the new centre of {self._selected_marker_level()}",
            "landmark": f"click a {self.landmark_kind.currentText()}",
            "target": "click the target",
            "entry": "click the skin entry point of the selected target",
            "seed": "click inside the scar",
        }
        scar = layer_for(self.viewer, "scar")
        if mode is not None and scar is not None and scar.mode != "pan_zoom":
            scar.mode = "pan_zoom"
        self.ws.set_mode(mode, hint.get(mode or "", ""))

    def _on_mode_changed(self, mode: str | None) -> None:
        self.mode_label.setText(f"{self.viewer.help}" if mode else "")
        if mode == "seed":  # the proposal's layer is made now, not when it is shown
            QTimer.singleShot(0, self._prepare_proposal)

    def _prepare_proposal(self) -> None:
        with contextlib.suppress(RuntimeError):  # the panel closed meanwhile
            self.proposal.prepare()

    def _on_mouse(self, viewer: Any, event: Any) -> Any:
        if event.button != 1:
            return
        press = np.asarray(event.position, dtype=float)
        yield
        dragged = False
        while event.type == "mouse_move":
            dragged = True
            yield
        if dragged:
            return
        if self.mode is None:
            point_at(
                self.viewer, [float(v) for v in press[-3:]]
            )  # a plain click links the planes there
        else:
            self.click(press[-3:])

    def click(self, world: Any) -> None:
        """Handle a canvas click at napari world position ``(z, y, x)`` for the mode."""
        handlers: dict[str, Callable[[Any], object]] = {
            "level": self.add_level_at,
            "move_level": self.move_level_to,
            "landmark": self.add_landmark_at,
            "target": self.add_target_at,
            "entry": self.set_entry_at,
            "seed": self.grow_scar_at,
        }
        mode = self.mode
        if mode is None:
            return
        case = self.ws.case
        before = {m.level for m in case.levels}
        try:
            handlers[mode](world)
        except BlockplanError as err:
            self._error(str(err))
            return
        if self.ws.case is case and mode != "seed":
            return  # not saved (the message says why): nothing placed, the mode stays
        placed = {m.level for m in self.ws.case.levels} - before
        self._after_placement(mode, placed)

    def _leave_seed_mode_off_the_scar_tab(self, index: int) -> None:
        """Leaving the Scar tab ends a scar seed mode: nothing on the other tabs shows it,
        and an ordinary click there grew another scar (a physician's trial)."""
        if self.ws.mode == "seed" and self.tabs.tabText(index) != "Scar":
            self.ws.set_mode(None)

    def _after_placement(self, mode: str, levels_placed: set[str]) -> None:
        """One click places one item: the mode ends, so a later click to look around moves
        nothing. Levels are marked in a row (the hint names the next one) until S1; a scar
        seed stays armed until its proposal is accepted (a proposal can be cancelled or
        rejected and grown again), or the Scar tab is left."""
        if mode == "seed":
            return
        if mode != "level" or "S1" in levels_placed:
            self.ws.set_mode(None)
        else:
            self.set_mode("level")  # the hint follows: "click the centre of L5-S1"

    # ------------------------------------------------------------------ helpers -
    def _point(self, world: Any) -> PatientPoint:
        frame = self.ws.frame_of_reference_uid()
        if frame is None:
            raise BlockplanError("load a study first: there is no image to place points on")
        lps = world_to_lps(np.asarray(world, dtype=float))
        x, y, z = (float(v) for v in lps)
        return PatientPoint(lps=(x, y, z), frame_of_reference_uid=frame)

    def _with_study(self, case: Case) -> Case:
        vols = self.ws.volumes()
        if case.study is not None or not vols:
            return case
        series = tuple(volume_series_ref(v) for v in vols)
        return case.evolve(
            study=StudyRef(study_instance_uid=vols[0].study_instance_uid, series=series)
        )

    def _apply(
        self,
        case: Case,
        action: str,
        summary: str,
        *,
        what: str | None = None,
        typed: Typed | None = None,
        show_saved: Callable[[], None] | None = None,
    ) -> bool:
        """Save an edit (`Panel.save_edit`); the message line says ``summary``. Refused
        by the store: ``what`` (else ``action``) was not saved, said, a value ``typed``
        held, and the panel shows what the case holds (`show_saved_case`)."""
        return self.save_edit(
            self._with_study(case),
            action,
            summary,
            what=what or action,
            typed=typed,
            show_saved=show_saved,
        )

    def show_saved_case(self) -> None:
        """After a refused save: the tables, lists and details show what the case holds
        again — once Qt is done with a cell being committed (its item cannot be replaced
        while it signals its own change). The overlays show the case already: they are
        drawn from it, and nothing was drawn for the refused edit."""
        QTimer.singleShot(0, self._show_saved_now)

    def _show_saved_now(self) -> None:
        with contextlib.suppress(RuntimeError):  # the panel was closed meanwhile
            case = self.ws.case
            self._fill_table(case)
            self._fill_scar(case)
            self._fill_markers(case)
            self._fill_landmarks(case)

    def _error(self, text: str) -> None:
        self.say_error(text)

    def _proposed_level(self) -> str:
        """The level the next level-marker click places ("" before the first is chosen)."""
        return self.next_level.currentText()

    def _level_hint(self) -> str:
        level = self._proposed_level()
        if level:
            return f"click the centre of {level}"
        return "choose the level of the first marker in Next level, then click its centre"

    def _fill_next_level(self, case: Case) -> None:
        """List every markable level; the proposal after the last marker selected, and
        nothing selected (the physician chooses) before the first marker."""
        lumbarised = case.transitional_vertebra is TransitionalVertebra.LUMBARISED_S1
        names = markable_levels(case.levels, transitional_l6=lumbarised)
        chosen = self.next_level.currentText()
        with QSignalBlocker(self.next_level):
            if [self.next_level.itemText(i) for i in range(self.next_level.count())] != list(names):
                self.next_level.clear()
                self.next_level.addItems(names)
            if not case.levels:
                self.next_level.setCurrentIndex(names.index(chosen) if chosen in names else -1)
                return
            try:
                proposal = propose_next_level(
                    case.levels,
                    include_discs=self.propose_discs.isChecked(),
                    transitional_l6=True if lumbarised else None,
                )
            except BlockplanError:  # the last level there is: nothing below it
                proposal = names[-1]
            self.next_level.setCurrentText(proposal)

    def _fill_markers(self, case: Case) -> None:
        with keeping_typed(self.marker_table) as typing:  # a cell being typed keeps its text
            self._fill_markers_now(case, reselect=not typing)

    def _fill_markers_now(self, case: Case, *, reselect: bool = True) -> None:
        """The marker list, cranial to caudal, keeping the selected marker selected."""
        selected = self.selected_marker_id()
        markers = markers_in_order(case)
        with QSignalBlocker(self.marker_table):
            _forget_gone_selection(self.marker_table, {m.id for m in markers})
            self.marker_table.setRowCount(len(markers))
            for row, m in enumerate(markers):
                level = QTableWidgetItem(m.level)
                level.setData(Qt.ItemDataRole.UserRole, m.id)
                where = QTableWidgetItem(", ".join(f"{v:.1f}" for v in m.position.lps))
                where.setFlags(where.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.marker_table.setItem(row, 0, level)
                self.marker_table.setItem(row, 1, where)
                if m.id == selected and reselect:
                    self.marker_table.selectRow(row)
        with QSignalBlocker(self.transitional):
            noted = case.transitional_vertebra
            self.transitional.setCurrentIndex(
                self.transitional.findData(noted.value if noted else "")
            )

    def _fill_landmarks(self, case: Case) -> None:
        """The landmark list, cranial to caudal, keeping the selected landmark selected."""
        selected = self.selected_landmark_id()
        landmarks = landmarks_in_order(case)
        with QSignalBlocker(self.landmark_table):
            _forget_gone_selection(self.landmark_table, {lm.id for lm in landmarks})
            self.landmark_table.setRowCount(len(landmarks))
            for row, lm in enumerate(landmarks):
                side = lm.side.value if lm.side else None
                name = QTableWidgetItem(landmark_name(lm.kind, lm.level, side))
                name.setData(Qt.ItemDataRole.UserRole, lm.id)
                where = QTableWidgetItem(", ".join(f"{v:.1f}" for v in lm.position.lps))
                self.landmark_table.setItem(row, 0, name)
                self.landmark_table.setItem(row, 1, where)
                if lm.id == selected:
                    self.landmark_table.selectRow(row)

    def selected_landmark_id(self) -> str | None:
        """Id of the landmark selected in the landmark list."""
        return _selected_id(self.landmark_table)

    def delete_selected_landmark(self) -> None:
        """Delete the landmark selected in the landmark list (Undo brings it back)."""
        lid = self.selected_landmark_id()
        if lid is None:
            self._error("select a landmark in the list first, then delete it")
            return
        name = next(
            (
                landmark_name(lm.kind, lm.level, lm.side.value if lm.side else None)
                for lm in self.ws.case.landmarks
                if lm.id == lid
            ),
            "",
        )
        try:
            case = delete_landmark(self.ws.case, lid)
        except BlockplanError as err:
            self._error(str(err))
            return
        self._apply(
            case, "delete landmark", f"deleted landmark {name}", what=f"deletion of landmark {name}"
        )

    def selected_marker_id(self) -> str | None:
        """Id of the level marker selected in the marker list."""
        return _selected_id(self.marker_table)

    def _selected_marker_level(self) -> str:
        mid = self.selected_marker_id()
        found = [m.level for m in self.ws.case.levels if m.id == mid]
        return found[0] if found else "the marker selected in the list"

    # ------------------------------------------------------------------ levels --
    def _apply_levels(
        self,
        case: Case,
        action: str,
        summary: str,
        *,
        what: str,
        typed: QTableWidgetItem | None = None,
    ) -> bool:
        """Apply a marker edit, saying which targets now await confirmation; False when
        the store did not save it (``what`` was not saved: said)."""
        before = {t.id for t in unconfirmed_targets(self.ws.case)}
        flagged = [t for t in unconfirmed_targets(case) if t.id not in before]
        if flagged:
            names = ", ".join(t.label or t.id[:6] for t in flagged)
            summary += (
                f"; level or side changed for {names}: confirm in the Targets table "
                "(tick the level)"
            )
        return self._apply(case, action, summary, what=what, typed=typed)

    def add_level_at(self, world: Any) -> LevelMarker:
        """Place the level chosen in "Next level" (the proposal by default) at ``world``.

        Every target's level and side are recomputed (`change_level_markers`).
        """
        chosen = self.next_level.currentText() or None
        marker = place_level_marker(self._point(world), self.ws.case.levels, chosen)
        case = change_level_markers(self.ws.case, (*self.ws.case.levels, marker))
        self._apply_levels(
            case, "add level", f"level marker {marker.level}", what=f"level marker {marker.level}"
        )
        return marker

    def remove_last_level(self) -> None:
        """Remove the most recently placed level marker."""
        if self.ws.case.levels:
            last = self.ws.case.levels[-1]
            case = change_level_markers(self.ws.case, self.ws.case.levels[:-1])
            self._apply_levels(
                case,
                "remove level",
                f"removed level marker {last.level}",
                what=f"removal of level marker {last.level}",
            )

    def delete_selected_level(self) -> None:
        """Delete the marker selected in the marker list."""
        mid = self.selected_marker_id()
        if mid is None:
            self._error("select a level marker in the list first, then delete it")
            return
        level = self._selected_marker_level()
        try:
            case = delete_level_marker(self.ws.case, mid)
        except BlockplanError as err:
            self._error(str(err))
            return
        self._apply_levels(
            case,
            "delete level",
            f"deleted level marker {level}",
            what=f"deletion of level marker {level}",
        )

    def move_level_to(self, world: Any) -> None:
        """Move the marker selected in the marker list to ``world`` (one click)."""
        mid = self.selected_marker_id()
        if mid is None:
            raise BlockplanError("select a level marker in the list first, then click its centre")
        level = self._selected_marker_level()
        case = move_level_marker(self.ws.case, mid, self._point(world))
        self.ws.set_mode(None)
        self._apply_levels(
            case, "move level", f"moved level marker {level}", what=f"new place of {level}"
        )

    def _on_marker_renamed(self, item: QTableWidgetItem) -> None:
        mid = str(item.data(Qt.ItemDataRole.UserRole))
        old = next((m.level for m in self.ws.case.levels if m.id == mid), "")
        text = item.text().strip()
        if text == old:
            return
        try:
            case = rename_level_marker(self.ws.case, mid, text, recount=self.recount.isChecked())
        except BlockplanError as err:
            refuse_typed(item, str(err), self._error)
            self._fill_markers(self.ws.case)
            return
        what = "renumbered level markers" if self.recount.isChecked() else "renamed level marker"
        self._apply_levels(
            case,
            "rename level",
            f"{what}: {old} → {text.upper()}",
            what=f"level marker name {text.upper()}",
            typed=item,
        )

    def _transitional_chosen(self, index: int) -> None:
        value = str(self.transitional.itemData(index) or "") or None
        if value == (self.ws.case.transitional_vertebra or None):
            return
        try:
            case = set_transitional_vertebra(self.ws.case, value)
        except BlockplanError as err:
            self._error(str(err))
            self._fill_markers(self.ws.case)
            return
        self._apply(
            case,
            "note transitional vertebra",
            f"transitional vertebra: {self.transitional.itemText(index)}",
            what="transitional vertebra",
        )

    def add_landmark_at(self, world: Any) -> Landmark:
        """Mark a nerve root / thecal sac / artery at ``world`` (level, side, size automatic)."""
        kind = str(self.landmark_kind.currentData())
        lm = place_landmark(kind, self._point(world), self.ws.case.levels)  # type: ignore[arg-type]
        self._apply(
            self.ws.case.replace_item("landmarks", lm),
            "add landmark",
            f"{kind.replace('_', ' ')} {lm.level or ''} {lm.side.value if lm.side else ''}",
            what=f"new {kind.replace('_', ' ')} landmark",
        )
        return lm

    # ------------------------------------------------------------------ scar ----
    def _scar_volume(self) -> ImageVolume:
        uid = self.scar_series.currentData()
        vol = self.ws.volume(uid) if uid else None
        if vol is None:
            vol = preferred_scar_series(self.ws.volumes())
        if vol is None:
            raise BlockplanError("load a study first: the scar is drawn on a series")
        return vol

    def grow_scar_at(self, world: Any) -> Any:
        """Grow a scar proposal from ``world`` on the chosen series, in a worker.

        The proposal shows as its own layer, not yet in the case, with its volume per
        level; Accept adds it (one undoable edit), Reject or Cancel leave the case as it
        is (`ScarProposal`). Returns the worker.
        """
        volume = self._scar_volume()
        sensitivity = self.sensitivity.value()
        return self.proposal.start(
            volume,
            self._point(world),
            None if sensitivity == self.sensitivity.minimum() else sensitivity,
            self.grow_radius.value(),
        )

    def start_painting(self) -> None:
        """Select the scar layer in paint mode (created empty on the chosen series)."""
        layer = layer_for(self.viewer, "scar")
        if layer is None:
            volume = self._scar_volume()
            region = scar_region_from_mask(
                np.zeros(volume.shape, bool), mask_grid_for(volume), (), method="manual"
            )
            case = with_scar(self.ws.case, region)
            if not self._apply(case, "start scar", "empty scar layer created", what="scar layer"):
                return
            layer = layer_for(self.viewer, "scar")
        self.ws.set_mode(None)  # a paint stroke is not a placement click
        self.viewer.layers.selection.active = layer
        layer.selected_label = 1
        layer.mode = "paint"
        self._connect_paint(layer)

    def _connect_paint(self, layer: Any) -> None:
        if not layer.metadata["blockplan"].get("paint_connected"):
            layer.events.paint.connect(lambda _e: self.commit_painting())
            layer.metadata["blockplan"]["paint_connected"] = True

    def commit_painting(self) -> None:
        """Store what was painted on the scar layer (called after each stroke).

        The layer shows the scar on napari's display grid; the painted and erased voxels
        are written into the region on its source series' grid (`paint_voxels`).
        """
        layer = layer_for(self.viewer, "scar")
        if layer is None or not self.ws.case.scar_regions:
            return
        meta = layer.metadata["blockplan"]
        painted = np.asarray(layer.data) > 0
        changed = np.argwhere(painted != (meta["shown"] > 0))
        if not len(changed):
            return
        old = self.ws.case.scar_regions[0]
        shown = meta["shown_grid"].affine_array()
        centres = changed[:, ::-1] @ shown[:3, :3].T + shown[:3, 3]
        values = painted[changed[:, 0], changed[:, 1], changed[:, 2]]
        mask = paint_voxels(old.mask(), old.grid, centres, values)
        region = scar_region_from_mask(
            mask, old.grid, self.ws.case.levels, method="manual", previous=old
        )
        self._apply(
            with_scar(self.ws.case, region),
            "paint scar",
            f"scar edited: {region.volume_ml:.2f} mL",
            what="scar painted",
            show_saved=lambda: _unpaint(layer),
        )

    def clear_scar(self) -> None:
        """Remove the scar region."""
        if self.ws.case.scar_regions:
            self._apply(
                with_scar(self.ws.case, None),
                "clear scar",
                "scar cleared",
                what="clearing of the scar",
            )

    # ------------------------------------------------------------------ targets -
    def add_target_at(self, world: Any) -> Target:
        """Add a target at ``world`` with the chosen block type; level and side automatic."""
        target = place_target(
            self._point(world),
            self.ws.case.levels,
            block_type=BlockType(self.block_type.currentData()),
            structure=Structure(self.structure.currentData()),
            approach=Approach(self.approach.currentData()) if self.approach.currentData() else None,
        )
        case = self.ws.case.replace_item("targets", target)
        placed = f"target {target_names(case.targets)[target.id]} placed"
        reason = unassigned_level_reason(target, case.levels) or _joint_to_name(target)
        summary = placed if reason is None else f"{placed} — {reason}"
        if self._apply(case, "add target", summary, what="new target"):
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
        """Delete the selected target and its trajectory (the button, Delete, Backspace)."""
        tid = self.selected_target_id()
        if tid is not None:
            name = target_names(self.ws.case.targets)[tid]  # "target deleted" named none
            injected = set(self.ws.case.procedures_injecting(tid))  # the record needs it
            blocks = [
                b.number
                for b in (self.ws.ledger.blocks if self.ws.ledger is not None else ())
                if b.procedure_id in injected
            ]
            if injected:  # a block the ledger leaves out (not applicable) has no number
                which = numbered_blocks(blocks) if blocks else "a recorded block"
                self._error(
                    f"target {name} not deleted: {which} injected it "
                    "(delete the block in Outcomes first)"
                )
                return
            case = self.ws.case.remove_item("targets", tid)
            self._apply(
                case,
                "delete target",
                f"target {name} deleted — Ctrl+Z to undo",
                what=f"deletion of target {name}",
            )

    def set_entry_at(self, world: Any, target_id: str | None = None) -> Trajectory:
        """Set the skin entry of a target (default: the selected one) at ``world``."""
        tid = target_id or self.selected_target_id()
        if tid is None:
            raise BlockplanError("select a target in the table first, then place its entry")
        old = self.ws.case.trajectory_for(tid)
        kw = {"id": old.id} if old else {}
        traj = Trajectory(target_id=tid, entry=self._point(world), **kw)
        name = target_names(self.ws.case.targets)[tid]
        self._apply(
            self.ws.case.replace_item("trajectories", traj),
            "set entry",
            f"skin entry of {name} placed",
            what=f"skin entry of {name}",
        )
        return traj

    def _on_selection(self) -> None:
        tid = self.selected_target_id()
        if self._notes_of not in (None, tid) and self.target_notes.isModified():
            # typed for the target shown before and not yet saved (the focus stayed in
            # the field): saved to that target, never carried to the one selected now
            self._notes_edited()
        if tid != self._label_refused_for:  # the label field shows another target now
            self.typed_cells.drop(self.target_label)
        if tid != self._notes_refused_for:  # the notes field shows another target now
            self.typed_cells.drop(self.target_notes)
        self.ws.select_target(tid)
        self._fill_details()
        if tid is None or self._filling:
            return
        world = lps_to_world(self.ws.case.target(tid).position.lps)
        shown = list(self.viewer.dims.displayed)
        self.viewer.scene.camera.center = tuple(float(world[a]) for a in shown)
        self.viewer.dims.set_point(range(3), tuple(world))

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if self._filling:
            return
        column = TARGET_COLUMNS[item.column()]
        tid = present(self.table.item(item.row(), 0)).data(Qt.ItemDataRole.UserRole)
        text = item.text().strip()
        if column in ("Level", "Side"):
            self._edit_level_or_side(item, self.ws.case.target(tid), column, text)
            return
        what = f"target {column.lower()}"
        parse = {"Block": block_type_from_text, "Structure": structure_from_text}[column]
        try:
            value = parse(text)
        except ValueError as err:
            refuse_typed(item, f"{what}: {err}", self._error)
        else:
            if isinstance(value, BlockType):  # structure, approach and level follow it
                case, summary = change_block_type(self.ws.case, tid, value)
                if summary:
                    self._apply(
                        case,
                        "edit target",
                        summary,
                        what=f"target block type {BLOCK_ABBREVIATIONS[value]}",
                        typed=item,
                    )
            else:
                self._edit_target(tid, _EDITABLE[column], value, what, item)
        # the cell then shows the stored value in the physician's words ("tfesi" → "TFESI");
        # refilled once Qt is done with the item being edited (it cannot be replaced while
        # it signals its own change)
        QTimer.singleShot(0, self._refill_table)

    def _refill_table(self) -> None:
        # RuntimeError: the panel was closed before the event loop came back
        with contextlib.suppress(RuntimeError):
            self._fill_table(self.ws.case)

    def _edit_target(
        self, tid: str, field: str, value: Any, what: str, cell: QTableWidgetItem | None = None
    ) -> None:
        """Set one field of a target (validated by the case model; refused with a message;
        a refused ``cell`` is held until corrected or dropped). Refused — by the model, or
        by the store when it cannot save (another session saved the case first) — the
        table and the details show what the case holds again."""
        target = self.ws.case.target(tid)
        try:
            data = target.model_dump()
            data[field] = value
            updated = Target.model_validate(data)
        except ValueError as err:
            self._refuse_edit(f"{what}: {value!r} is not valid ({_first_error(err)})", cell)
            return
        if updated != target:
            case = self.ws.case.replace_item("targets", updated)
            said = f"{what} {_value_text(value)}"
            self._apply(case, "edit target", f"{what} set", what=said, typed=cell)

    def _refuse_edit(self, message: str, cell: QTableWidgetItem | None) -> None:
        """An edit of a target refused: said (a typed ``cell`` held), the case shown."""
        if cell is None:
            self._error(message)
        else:
            refuse_typed(cell, message, self._error)
        self._fill_table(self.ws.case)

    def _approach_chosen(self, index: int) -> None:
        """An approach chosen (a click or the arrow keys) is saved at once. One that cannot
        be saved is not held, as a typed value is (a drop-down holds nothing half-typed
        to correct): the list shows what the case holds again, and the message line says
        what was not saved and why."""
        tid = self.selected_target_id()
        if tid is not None:
            self._edit_target(tid, "approach", self.target_approach.itemData(index), "approach")

    def _label_edited(self) -> None:
        """The label typed (Enter, Tab or a click elsewhere): checked by the core; refused,
        held like a refused cell until corrected or dropped with Escape."""
        tid = self.selected_target_id()
        if tid is None:
            return
        saved = self.ws.case.target(tid).label
        if self.target_label.text() == saved:
            return

        def show_saved() -> None:
            self.target_label.setText(saved)

        try:
            case = set_target_label(self.ws.case, tid, self.target_label.text())
        except BlockplanError as err:
            self._label_refused_for = tid
            refuse_typed(self.target_label, str(err), self._error, show_saved)
            return
        if case is self.ws.case:
            return
        if not self._apply(
            case,
            "edit target",
            "target label set",
            what="target label",
            typed=self.target_label,
            show_saved=show_saved,
        ):
            self._label_refused_for = tid  # held, as a label the core refused

    def _notes_edited(self) -> None:
        """The notes typed (a click elsewhere, Tab or Ctrl+Enter): checked by the core
        (`set_target_notes`) and saved to the target they were typed for; refused, held
        like a refused label until corrected or dropped with Escape."""
        tid = self._notes_of
        if tid is None or tid not in {t.id for t in self.ws.case.targets}:
            return
        saved = self.ws.case.target(tid).notes
        typed = self.target_notes.text()
        if typed == saved:
            return

        def show_saved() -> None:
            self.target_notes.setText(saved)

        try:
            case = set_target_notes(self.ws.case, tid, typed)
        except BlockplanError as err:  # the core's check
            self._notes_refused_for = tid
            refuse_typed(self.target_notes, str(err), self._error, show_saved)
            return
        if case is not self.ws.case:
            name = target_names(case.targets)[tid]
            if not self._apply(
                case,
                "edit target",
                f"notes of {name} saved",
                what="target notes",
                typed=self.target_notes,
                show_saved=show_saved,
            ):
                self._notes_refused_for = tid  # held, as notes the core refused
                return
        if self._notes_of == tid:  # still shown: as saved (a tab as a space), not typed
            self._show_notes(self.ws.case.target(tid).notes)

    def _show_notes(self, notes: str) -> None:
        """Show ``notes`` as what is saved (the cursor stays where it is if they are shown)."""
        if self.target_notes.text() != notes:
            self.target_notes.setText(notes)
        present(self.target_notes.document()).setModified(False)

    def _fill_notes(self, target: Target | None) -> None:
        """Show ``target``'s notes, unless the field holds notes typed for it and not
        saved yet; another target's are never kept (nor a target's gone from the case)."""
        tid = None if target is None else target.id
        if tid != self._notes_of or not self.target_notes.isModified():
            self._show_notes("" if target is None else target.notes)
        self._notes_of = tid

    def _fill_details(self) -> None:
        """The selected target's name, approach, label, notes and planned path (core
        words)."""
        tid = self.selected_target_id()
        target = None if tid is None else self.ws.case.target(tid)
        self._fill_notes(target)
        for control in (self.target_approach, self.target_label, self.target_notes):
            control.setEnabled(target is not None)
        if target is None:
            self.details_title.setText("Select a target to see its path and verdict.")
            self.details.setText("")
            return
        self.details_title.setText(target_names(self.ws.case.targets)[target.id])
        with QSignalBlocker(self.target_approach):
            self.target_approach.setCurrentIndex(self.target_approach.findData(target.approach))
        if not self.target_label.hasFocus():
            self.target_label.setText(target.label)
        reason = unassigned_level_reason(target, self.ws.case.levels)
        joint = _joint_to_name(target)
        level = [] if reason is None else [f"Level: unassigned — {reason}"]
        level += [] if joint is None else [f"Level: {joint}"]
        self.details.setText("\n".join((*level, *self._path_lines(target))))
        _fit_wrapped(self.details, self.details_scroll)

    def _path_lines(self, target: Target) -> tuple[str, ...]:
        if self.ws.case.trajectory_for(target.id) is None:
            return ("Needle path: not planned — place the skin entry [Shift-E]",)
        metrics = self.metrics.get(target.id)
        if metrics is None:
            return ("Needle path: not measured (entry and target cannot be measured as a path)",)
        return describe_path(metrics, own_root_label(target)).lines()

    def _edit_level_or_side(
        self, item: QTableWidgetItem, target: Target, column: str, text: str
    ) -> None:
        """A level cell ticked (confirmed) or typed, or a side typed: checked by the core."""
        try:
            typed: QTableWidgetItem | None = item
            if column == "Side":
                case = set_target_side(self.ws.case, target.id, text)
                action, summary, what = "edit target", "target side set", "target side"
            elif item.checkState() == Qt.CheckState.Checked and target.level_change:
                case = confirm_target_level(self.ws.case, target.id)
                level = target.level or "level unassigned"
                action, summary = "confirm level", f"level and side confirmed: {level}"
                what, typed = f"confirmation of {level}", None  # a tick: nothing typed to hold
            elif text == level_text(target):
                return
            else:
                case = set_target_level(self.ws.case, target.id, text or None)
                action, summary, what = "edit target", "target level set", "target level"
        except BlockplanError as err:
            refuse_typed(item, str(err), self._error)
            self._fill_table(self.ws.case)
            return
        self._apply(case, action, summary, what=what, typed=typed)

    # ------------------------------------------------------------------ refresh -
    def compute_metrics(self, case: Case) -> dict[str, TrajectoryMetrics]:
        """Every planned path measured by the core (`PathPlanner`: cached by its inputs)."""
        ct = planning_ct(self.ws.volumes(), case_frame(case))
        self._measured_on = None if ct is None else weakref.ref(ct.array)  # never kept alive
        return self._planner.measure(case, ct, skip_unmeasurable=True)

    def _measure_again(self, *_: Any) -> None:
        """A series finished loading: paths measured without their planning CT (a case
        opened before its study) are measured on it now — the verdicts had kept saying
        "not assessed — load the CT" with the CT on screen."""
        case = self.ws.case
        if not case.trajectories:
            return
        ct = planning_ct(self.ws.volumes(), case_frame(case))
        measured_on = None if self._measured_on is None else self._measured_on()
        if (None if ct is None else ct.array) is not measured_on:
            self._on_case_changed(case)

    def _on_case_changed(self, case: Case) -> None:
        self.metrics = self.compute_metrics(case) if case.trajectories else {}
        refresh_layers(
            self.viewer,
            case,
            statuses=self.ws.target_statuses,
            verdicts={tid: m.verdict for tid, m in self.metrics.items()},
        )
        scar = layer_for(self.viewer, "scar")
        if scar is not None:
            self._connect_paint(scar)
        self._fill_table(case)
        self._fill_scar(case)
        self._fill_series()
        self._fill_next_level(case)
        self._fill_markers(case)
        self._fill_landmarks(case)
        self._centre_on_targets()

    def _centre_on_targets(self, *_: Any) -> None:
        """Once per opened case, centre the view on its planned targets (on the midline).

        A reopened case shows where the work is, not the whole volume; later edits never
        move the view. Waits until images are loaded (the camera has nothing to show before).
        """
        case = self.ws.case
        if not self.ws.is_open or self._centred_on == case.case_id or not self.ws.volumes():
            return
        self._centred_on = case.case_id
        centre = opening_point(case)
        if centre is not None:
            # fit the images first: a case opened before its study has its points layers
            # drawn first, and napari zooms onto their small extent (22× here, not 3.8×)
            self.viewer.reset_view()
            centre_on(self.viewer, centre)

    def _fill_series(self, *_: Any) -> None:
        """List the loaded series; keep the physician's choice, else the preferred one."""
        chosen = self._chosen_series
        uids = [v.series_instance_uid for v in self.ws.volumes()]
        if uids != [self.scar_series.itemData(i) for i in range(self.scar_series.count())]:
            with QSignalBlocker(self.scar_series):
                self.scar_series.clear()
                for v in self.ws.volumes():
                    label = f"{v.modality} {v.series_number or ''} {v.series_description}".strip()
                    self.scar_series.addItem(label, v.series_instance_uid)
        preferred = preferred_scar_series(self.ws.volumes())
        uid = chosen if chosen in uids else (preferred.series_instance_uid if preferred else None)
        if uid is not None:
            with QSignalBlocker(self.scar_series):
                self.scar_series.setCurrentIndex(uids.index(uid))

    def _series_chosen(self, index: int) -> None:
        """The physician picked a series: keep it while it is loaded."""
        self._chosen_series = self.scar_series.itemData(index)

    def _fill_scar(self, case: Case) -> None:
        if not case.scar_regions:
            self.scar_volume.setText("no scar marked")
            return
        region = case.scar_regions[0]
        self.scar_volume.setText(scar_volume_text(region.volume_ml, region.volume_ml_per_level))

    def _fill_table(self, case: Case) -> None:
        with keeping_typed(self.table) as typing:  # a cell being typed keeps its text
            self._fill_table_now(case, reselect=not typing)

    def _fill_table_now(self, case: Case, *, reselect: bool = True) -> None:
        self._filling = True
        selected = self.selected_target_id()
        names = target_names(case.targets)
        try:
            _forget_gone_selection(self.table, {t.id for t in case.targets})
            self.table.setRowCount(len(case.targets))
            for row, t in enumerate(case.targets):
                m = self.metrics.get(t.id)
                w = None if m is None else describe_path(m, own_root_label(t))
                values = [
                    names[t.id],
                    level_text(t),
                    t.side.value,
                    structure_text(t.structure),
                    BLOCK_ABBREVIATIONS[t.block_type],
                    _verdict_word(case, t.id, w),
                ]
                for col, value in enumerate(values):
                    item = QTableWidgetItem(value)
                    if TARGET_COLUMNS[col] not in _EDITABLE:
                        item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                    if col == 0:
                        item.setData(Qt.ItemDataRole.UserRole, t.id)
                        item.setToolTip(t.label)
                    if m is not None and m.verdict is SafetyVerdict.UNSAFE:
                        item.setForeground(Qt.GlobalColor.red)
                    if TARGET_COLUMNS[col] == "Level":
                        _show_level(item, t)
                    if TARGET_COLUMNS[col] == "Verdict" and m is not None and w is not None:
                        item.setToolTip(w.safety)
                        if m.verdict in _VERDICT_INK:
                            item.setForeground(_VERDICT_INK[m.verdict])
                    self.table.setItem(row, col, item)
            if selected is not None and reselect:
                self.select_target(selected)
        finally:
            self._filling = False
        # the panel is as wide as the six columns need (no sideways scrolling), not wider
        self.table.setMinimumWidth(_columns_width(self.table))
        self._fill_details()

    # ------------------------------------------------------------------ undo ----
    def undo(self) -> None:
        """Undo the last edit."""
        self.undo_bar.undo()  # its message says what was undone

    def redo(self) -> None:
        """Redo the last undone edit."""
        self.undo_bar.redo()


def _unpaint(layer: Any) -> None:
    """A paint stroke on the scar layer not saved: the layer shows the case's scar again
    (what it showed before the stroke)."""
    shown = layer.metadata["blockplan"]["shown"]
    with layer.events.blocker_all():
        layer.data = shown.copy()
    layer.refresh()


def _columns_width(table: QTableWidget) -> int:
    """The width that shows every column of ``table`` whole (header and cells), with room
    for its vertical scroll bar."""
    header = present(table.horizontalHeader())
    header.resizeSections(QHeaderView.ResizeMode.ResizeToContents)  # sized to what they hold
    scroll = present(table.verticalScrollBar()).sizeHint().width()
    return header.length() + 2 * table.frameWidth() + scroll


def _scrolling(content: QWidget) -> QScrollArea:
    """``content`` in a vertical scroll area as wide as the tab (no frame)."""
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setWidget(content)
    return scroll


def _selected_id(table: QTableWidget) -> str | None:
    """The id (first column's user data) of the row selected in a list table."""
    rows = {i.row() for i in table.selectedIndexes()}
    item = table.item(min(rows), 0) if rows else None
    return None if item is None else str(item.data(Qt.ItemDataRole.UserRole))


def _forget_gone_selection(table: QTableWidget, ids: set[str]) -> None:
    """Clear the selection of a list whose selected item is no longer in ``ids``: the row
    it leaves would hold its neighbour, selected without being chosen (a second Delete
    deleted it)."""
    selected = _selected_id(table)
    if selected is not None and selected not in ids:
        present(table.selectionModel()).clear()  # the current row too: Qt would select the
        # row that takes its place when the last row goes


def _fit_wrapped(label: QLabel, scroll: QScrollArea) -> None:
    """Give a word-wrapped label in a scroll area its height for the viewport's width, so
    the area scrolls to its last line."""
    width = present(scroll.viewport()).width()
    if width > 0 and label.minimumHeight() != (height := max(label.heightForWidth(width), 0)):
        label.setMinimumHeight(height)
        scroll.setWidgetResizable(True)  # the scroll range follows the new height


class _WrappedHeight(QObject):
    """The viewport of a scroll area holding a word-wrapped label was resized: fit it."""

    def __init__(self, label: QLabel, scroll: QScrollArea) -> None:
        super().__init__(scroll)
        self.label, self.scroll = label, scroll

    def eventFilter(self, obj: QObject | None, event: QEvent | None) -> bool:
        if event is not None and event.type() == QEvent.Type.Resize:
            _fit_wrapped(self.label, self.scroll)
        return False


class _DeleteKey(QObject):
    """Delete (or Backspace) on a list that is not being edited deletes its selected row."""

    def __init__(self, parent: QObject, action: Callable[[], None]) -> None:
        super().__init__(parent)
        self.action = action

    def eventFilter(self, obj: QObject | None, event: QEvent | None) -> bool:
        if (
            isinstance(event, QKeyEvent)
            and event.type() == QEvent.Type.KeyPress
            and event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace)
        ):
            self.action()
            return True
        return False


def _joint_to_name(target: Target) -> str | None:
    """A facet joint or disc named by a vertebra: what to do (`unnamed_joint_text`)."""
    unnamed = unnamed_joint_text(target.level, target.structure)
    if unnamed is None:
        return None
    return (
        f"{unnamed}: double-click its level and type the joint it tests (both medial "
        "branches blocked for one joint take that joint's name)"
    )


def _show_level(item: QTableWidgetItem, target: Target) -> None:
    """A level awaiting confirmation: a tick box (tick to confirm) on a light orange cell;
    a facet joint or disc named by a vertebra: a light orange cell saying what to type."""
    joint = _joint_to_name(target)
    if target.level_change is None and joint is not None:
        item.setBackground(QBrush(_UNCONFIRMED))
        item.setToolTip(joint)
        return
    if target.level_change is None:
        return
    item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
    item.setCheckState(Qt.CheckState.Unchecked)
    item.setBackground(QBrush(_UNCONFIRMED))
    item.setToolTip(
        "the level markers changed this target's level or side: check them on the images "
        "and tick to confirm (or type the level)"
    )


def _verdict_word(case: Case, target_id: str, words: PathWords | None) -> str:
    """The verdict column: the core's verdict word, or why a target has none."""
    if words is not None:
        return words.verdict
    return "no path" if case.trajectory_for(target_id) is None else "not measured"


def _value_text(value: Any) -> str:
    """A target's field value in the panel's words (an approach as its list shows it)."""
    if value is None:
        return "not recorded"
    if isinstance(value, Approach):
        return approach_text(value)
    if isinstance(value, Structure):
        return structure_text(value)
    return str(getattr(value, "value", value))


def _first_error(err: ValueError) -> str:
    errors = getattr(err, "errors", None)
    if callable(errors):
        first = errors()[0]
        return str(first.get("msg", err))
    return str(err)


def _remove(callbacks: list[Any], callback: Any) -> None:
    if callback in callbacks:
        callbacks.remove(callback)


def _disconnect_layer_events(viewer: Any, callback: Any) -> None:
    viewer.layers.events.inserted.disconnect(callback)
    viewer.layers.events.removed.disconnect(callback)


def _disconnect_dims_events(viewer: Any, callback: Any) -> None:
    viewer.dims.events.order.disconnect(callback)
    viewer.dims.events.ndisplay.disconnect(callback)
