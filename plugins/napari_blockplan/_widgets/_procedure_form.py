"""The procedure form of the Outcomes panel: everything a block record holds (DOMAIN §6).

Adapters only. The form turns controls into a `Procedure` (`ProcedureForm.procedure`)
and a `Procedure` into controls (`ProcedureForm.load`); ranges come from the case model
(`field_limits`), typical volumes from `blockplan.case.limits.TYPICAL_VOLUME_ML`,
steroid, sedation and date/time parsing from `blockplan.case.entry`, names of block
types and structures from `blockplan.outcomes.adjudication`.

`FIELD_CONTROLS` maps every field of `Procedure` (and of its injections, contrast,
steroid, sedation and needle) to the control that edits it; a test walks the model and
fails when a field has no control.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from blockplan.case import (
    Agent,
    Approach,
    BlockType,
    Case,
    Complication,
    Contrast,
    ContrastPattern,
    Guidance,
    Injection,
    Needle,
    Procedure,
    new_id,
)
from blockplan.case.entry import (
    datetime_text,
    is_particulate,
    performed_at_from_text,
    sedation_from_text,
    steroid_from_text,
)
from blockplan.case.limits import TYPICAL_VOLUME_ML
from blockplan.case.wording import contrast_pattern_text
from blockplan.errors import BlockplanError
from blockplan.outcomes.adjudication import BLOCK_NAMES
from blockplan.planning.paths import planned_needle_mm
from blockplan.planning.wording import target_names
from napari_blockplan._widgets._controls import (
    ChoiceButtons,
    NumberField,
    SelectingLineEdit,
    compact_form,
    first_error,
    limit,
    scroll_only,
)

__all__ = ["FIELD_CONTROLS", "NOT_IN_FORM", "ProcedureForm"]

FIELD_CONTROLS: dict[str, str] = {
    "session_id": "session",
    "performed_at": "performed_at",
    "operator": "operator",
    "block_type": "block_type",
    "approach": "approach",
    "guidance": "guidance_buttons",
    "indication": "indication",
    "index_pain": "index_pain",
    "injections.target_id": "target_checks",
    "injections.level": "target_checks",
    "injections.side": "target_checks",
    "injections.structure": "target_checks",
    "injections.agent": "agent_buttons",
    "injections.concentration_pct": "concentration",
    "injections.volume_ml": "volume_spins",
    "injections.branches": "branch_spins",
    "contrast.agent": "contrast_agent",
    "contrast.volume_ml": "contrast_ml",
    "contrast.pattern": "contrast_pattern",
    "contrast.intravascular_uptake": "intravascular",
    "contrast.dsa_used": "dsa",
    "steroid.name": "steroid",
    "steroid.dose_mg": "steroid",
    "steroid.particulate": "particulate",
    "sedation.drug": "sedation",
    "sedation.dose": "sedation",
    "needle.gauge": "needle_gauge",
    "needle.length_mm": "needle_length",
    "needle.tip": "needle_tip",
    "needle.type": "needle_type",
    "complications": "complication_buttons",
    "complication_notes": "complication_notes",
    "images_saved": "images_saved",
    "interpretation": "interpretation",
    "next_step": "next_step",
    "notes": "notes",
}
"""Field path of `Procedure` → attribute of `ProcedureForm` holding its control.

An injection's level, side and structure are those of its ticked target
(`Injection.at_target`)."""

NOT_IN_FORM: dict[str, str] = {
    "id": "the block's identity: kept when saving changes, new for a new block",
    "diary": "edited on the Diary tab, saved per cell",
}
"""Fields of `Procedure` the form does not edit, and why."""


def _shown(control: Any) -> Any:
    """The value a control shows, as the physician sees it."""
    if isinstance(control, ChoiceButtons):
        return control.values()
    if isinstance(control, QComboBox):
        return control.currentIndex()
    if isinstance(control, QCheckBox):
        return control.isChecked()
    if isinstance(control, QTextEdit):
        return control.toPlainText()
    return control.text()  # line edits, spin boxes (their text)


def _words(value: str) -> str:
    return value.replace("_", " ")


class ProcedureForm(QWidget):
    """Every field of one block; `procedure` reads it, `load` and `reset` fill it.

    ``on_error`` receives messages for the physician (a target of another block type
    ticked).
    """

    def __init__(self, on_error: Callable[[str], None]) -> None:
        super().__init__()
        self._on_error = on_error
        self._case = Case()
        self._loading = False
        self._kept: tuple[Injection, ...] = ()
        self._row_targets: tuple[tuple[str, str], ...] = ()
        self.target_checks: dict[str, QCheckBox] = {}
        self.volume_spins: dict[str, QDoubleSpinBox] = {}
        self.branch_spins: dict[str, QSpinBox] = {}

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        # what is typed or chosen for every block first, what has a default further down
        layout.addWidget(self._session_box())
        layout.addWidget(self._complications_box())
        layout.addWidget(self._contrast_box())
        layout.addWidget(self._additives_box())
        layout.addWidget(self._documentation_box())
        layout.addStretch(1)

    # ------------------------------------------------------------------ boxes ---
    def _session_box(self) -> QGroupBox:
        box = QGroupBox("Block")
        self.targets_box = QWidget()
        self._targets_grid = QGridLayout(self.targets_box)
        self._targets_grid.setContentsMargins(0, 0, 0, 0)
        self._targets_grid.setVerticalSpacing(1)
        self.no_targets = QLabel("no planned target yet: place one on the Planning panel")
        self.performed_at = SelectingLineEdit()
        self.performed_at.setPlaceholderText("2026-04-07 09:00 +01:00")
        self.performed_at.setToolTip("date and time with time zone, ISO: 2026-04-07 09:00 +01:00")
        self.operator = QLineEdit()
        self.operator.setPlaceholderText("not recorded (no clinician in the settings)")
        self.operator.setToolTip(
            "the configured clinician (blockplan config set clinician_name …); editable"
        )
        self.block_type = QComboBox()
        for b in BlockType:
            self.block_type.addItem(BLOCK_NAMES[b], b)
        self.block_type.currentIndexChanged.connect(self._block_type_changed)
        self._shown_block_type = self.current_block_type()
        self.approach = QComboBox()
        self.approach.addItem("not recorded", None)
        for a in Approach:
            self.approach.addItem(_words(a.value), a)
        self.guidance_buttons: ChoiceButtons[Guidance] = ChoiceButtons(
            [(g, g.value if g is not Guidance.CT else "CT") for g in Guidance],
            columns=3,
            allow_none=False,
        )
        self.agent_buttons: ChoiceButtons[Agent] = ChoiceButtons(
            [(a, a.value) for a in Agent], columns=4
        )
        self.concentration = NumberField(Injection, "concentration_pct", "concentration")
        self.concentration.setPlaceholderText("not recorded")
        self.mixed_note = QLabel("")
        self.mixed_note.setWordWrap(True)
        self.mixed_note.setStyleSheet("color: #D55E00")
        self.session = QComboBox()
        self.session.setToolTip(
            "blocks done in one sitting (e.g. a nerve root block and a medial branch block) "
            "share a session: the relief after it supports only the set of their sites"
        )
        self.session.currentIndexChanged.connect(self._session_chosen)
        kind = QHBoxLayout()
        kind.addWidget(self.block_type, 3)
        kind.addWidget(self.approach, 2)
        form = compact_form(box)
        form.addRow("Targets:", self.targets_box)
        form.addRow(self.no_targets)
        form.addRow("Session:", self.session)
        form.addRow("Date, time:", self.performed_at)
        form.addRow("Block, approach:", kind)
        form.addRow("Agent:", self.agent_buttons)
        form.addRow("Concentration %:", self.concentration)
        form.addRow(self.mixed_note)
        return box

    def _contrast_box(self) -> QGroupBox:
        box = QGroupBox("Guidance, contrast and needle")
        self.contrast_agent = QLineEdit()
        self.contrast_agent.setPlaceholderText("agent, e.g. iohexol 300")
        self.contrast_ml = QDoubleSpinBox()
        limit(self.contrast_ml, Contrast, "volume_ml")
        self.contrast_ml.setSingleStep(0.1)
        self.contrast_ml.setSuffix(" mL")
        self.contrast_pattern = QComboBox()
        for p in ContrastPattern:  # the core's words (the report prints the same)
            self.contrast_pattern.addItem(contrast_pattern_text(p), p)
        self._word_patterns()
        self.intravascular = QCheckBox("intravascular uptake")
        self.dsa = QCheckBox("DSA used")
        self.needle_gauge = NumberField(Needle, "gauge", "needle gauge", integer=True)
        self.needle_gauge.setPlaceholderText("gauge")
        self.needle_length = NumberField(Needle, "length_mm", "needle length (mm)")
        self.needle_length.setPlaceholderText("length mm")
        self.needle_tip = QLineEdit()
        self.needle_tip.setPlaceholderText("tip, e.g. curved")
        self.needle_type = QLineEdit()
        self.needle_type.setPlaceholderText("type, e.g. Quincke spinal")
        contrast = QHBoxLayout()
        contrast.addWidget(self.contrast_agent, 2)
        contrast.addWidget(self.contrast_ml, 1)
        flags = QHBoxLayout()
        flags.addWidget(self.contrast_pattern)
        flags.addWidget(self.intravascular)
        flags.addWidget(self.dsa)
        needle = QGridLayout()
        # the unit stays in view once a value replaces the placeholder ("88.9" alone read
        # as inches or gauge in the trial)
        for col, (field, unit) in enumerate(((self.needle_gauge, "G"), (self.needle_length, "mm"))):
            with_unit = QHBoxLayout()
            with_unit.addWidget(field)
            with_unit.addWidget(QLabel(unit))
            with_unit.addStretch(1)
            needle.addLayout(with_unit, 0, col)
        needle.addWidget(self.needle_tip, 1, 0)
        needle.addWidget(self.needle_type, 1, 1)
        form = compact_form(box)
        form.addRow("Guidance:", self.guidance_buttons)
        form.addRow("Contrast:", contrast)
        form.addRow("Pattern:", flags)
        form.addRow("Needle:", needle)
        return box

    def _additives_box(self) -> QGroupBox:
        box = QGroupBox("Steroid and sedation")
        self.steroid = QLineEdit()
        self.steroid.setPlaceholderText("none (or e.g. dexamethasone 4 mg)")
        self.steroid.textEdited.connect(self._steroid_typed)
        self.particulate = QCheckBox("particulate")
        self.particulate.setEnabled(False)
        self.sedation = QLineEdit()
        self.sedation.setPlaceholderText("none (or e.g. midazolam 2 mg IV)")
        steroid = QHBoxLayout()
        steroid.addWidget(self.steroid, 1)
        steroid.addWidget(self.particulate)
        form = compact_form(box)
        form.addRow("Steroid:", steroid)
        form.addRow("Sedation:", self.sedation)
        return box

    def _complications_box(self) -> QGroupBox:
        box = QGroupBox("Complications (none chosen: not recorded)")
        self.complication_buttons: ChoiceButtons[Complication] = ChoiceButtons(
            [(c, _words(c.value)) for c in Complication], columns=3, exclusive=False
        )
        self.complication_buttons.buttons[Complication.NONE].setText("no complications")
        self.complication_buttons.changed.connect(self._complications_clicked)
        self._complications_shown: tuple[Complication, ...] = ()
        self.complication_notes = QLineEdit()
        self.complication_notes.setPlaceholderText("what 'other' was, treatment, outcome")
        form = compact_form(box)
        form.addRow(self.complication_buttons)
        form.addRow("Notes:", self.complication_notes)
        return box

    def _documentation_box(self) -> QGroupBox:
        box = QGroupBox("Documentation")
        self.indication = QLineEdit()
        self.index_pain = QLineEdit()
        self.index_pain.setPlaceholderText("the pain the diary rates: site, what provokes it")
        self.images_saved = QSpinBox()
        limit(self.images_saved, Procedure, "images_saved")
        self.interpretation = QLineEdit()
        self.next_step = QLineEdit()
        self.notes = QTextEdit()  # plain text; napari's theme shows a QTextEdit as a field
        self.notes.setAcceptRichText(False)
        self.notes.setTabChangesFocus(True)
        self.notes.setMaximumHeight(48)
        form = compact_form(box)
        form.addRow("Operator:", self.operator)
        form.addRow("Indication:", self.indication)
        form.addRow("Index pain:", self.index_pain)
        form.addRow("Images saved:", self.images_saved)
        form.addRow("Interpretation:", self.interpretation)
        form.addRow("Next step:", self.next_step)
        form.addRow("Notes:", self.notes)
        return box

    # ------------------------------------------------------------------ targets --
    def _fill_sessions(self, case: Case) -> None:
        """The session choice: a session of its own, or one of the case's sittings."""
        current = self.session.currentData()
        self.session.blockSignals(True)
        try:
            self.session.clear()
            self.session.addItem("a session of its own", None)
            for sitting in case.sessions:
                names = " + ".join(BLOCK_NAMES[p.block_type] for p in sitting.procedures)
                self.session.addItem(
                    f"with {datetime_text(sitting.performed_at)}: {names}", sitting.session_id
                )
            self._set_combo(self.session, current)
        finally:
            self.session.blockSignals(False)

    def _session_chosen(self, _index: int) -> None:
        """Joining a sitting takes its date and time (a session is one sitting)."""
        chosen = self.session.currentData()
        sitting = next((s for s in self._case.sessions if s.session_id == chosen), None)
        if not self._loading and sitting is not None:
            self.performed_at.setText(datetime_text(sitting.performed_at))

    def set_case(self, case: Case) -> None:
        """Show the case's targets (ticks and volumes of kept targets stay) and sittings."""
        self._case = case
        self._fill_sessions(case)
        rows = tuple(target_names(case.targets).items())  # the core's names, as everywhere
        if rows == self._row_targets:
            return
        state = {
            tid: (box.isChecked(), self.volume_spins[tid].value(), self.branch_spins[tid].value())
            for tid, box in self.target_checks.items()
        }
        while self._targets_grid.count():
            item = self._targets_grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.target_checks.clear()
        self.volume_spins.clear()
        self.branch_spins.clear()
        if rows:
            self._targets_grid.addWidget(QLabel("mL"), 0, 1)
            self._targets_grid.addWidget(QLabel("br."), 0, 2)
        for row, (tid, label) in enumerate(rows, start=1):
            check = QCheckBox(label)
            target = case.target(tid)
            check.setToolTip(f"{target.label or label} ({BLOCK_NAMES[target.block_type]})")
            check.clicked.connect(lambda checked, t=tid: self._ticked(t, checked))
            volume = QDoubleSpinBox()
            limit(volume, Injection, "volume_ml")
            volume.setDecimals(2)
            volume.setSingleStep(0.1)
            volume.setMaximumWidth(72)
            branches = QSpinBox()
            limit(branches, Injection, "branches")
            branches.setMaximumWidth(52)
            branches.setToolTip("medial branches this volume covers")
            checked, ml, n = state.get(tid, (False, self._typical_volume(), 1))
            check.setChecked(checked)
            volume.setValue(ml)
            branches.setValue(n)
            self._targets_grid.addWidget(check, row, 0, Qt.AlignmentFlag.AlignLeft)
            self._targets_grid.addWidget(volume, row, 1)
            self._targets_grid.addWidget(branches, row, 2)
            self.target_checks[tid] = check
            self.volume_spins[tid] = volume
            self.branch_spins[tid] = branches
        self._targets_grid.setColumnStretch(0, 1)
        self._show_branches()
        self.no_targets.setVisible(not rows)
        self._row_targets = rows
        scroll_only(self)  # the new volume and branch boxes too

    def ticked_target_ids(self) -> list[str]:
        """Ids of the ticked targets, in case order."""
        return [tid for tid, box in self.target_checks.items() if box.isChecked()]

    def _ticked(self, target_id: str, checked: bool) -> None:
        """Ticking a target sets the block type and approach from it (one block type)."""
        if not checked:
            return
        target = self._case.target(target_id)
        others = [self._case.target(t) for t in self.ticked_target_ids() if t != target_id]
        clash = [t for t in others if t.block_type is not target.block_type]
        if clash:
            self.target_checks[target_id].setChecked(False)
            self._on_error(
                f"one block type per block: this target is planned for a "
                f"{BLOCK_NAMES[target.block_type]}, the ticked ones for a "
                f"{BLOCK_NAMES[clash[0].block_type]}; untick them first or record another block"
            )
            return
        if not others:
            self._set_combo(self.block_type, target.block_type)
            self._set_combo(self.approach, target.approach)
        self.volume_spins[target_id].setValue(self._typical_volume())
        planned = planned_needle_mm(self._case, target_id)
        if planned is not None and self.needle_length.value() is None:
            self.needle_length.set_value(planned)  # the plan's needle, until one is typed

    def current_block_type(self) -> BlockType:
        """The block type chosen."""
        return BlockType(self.block_type.currentData())

    def _typical_volume(self) -> float:
        return TYPICAL_VOLUME_ML[self.current_block_type()]

    def _show_branches(self) -> None:
        """The medial-branch count is a medial branch block's: shown for it only."""
        mbb = self.current_block_type() is BlockType.MEDIAL_BRANCH
        for spin in self.branch_spins.values():
            spin.setVisible(mbb)

    def _word_patterns(self) -> None:
        """The contrast choices in the report's words for this block type: "neither" is
        the root-block answer ("neither along the root nor foraminal"); for any other
        block it reads "pattern not applicable", as the report prints it."""
        block = self.current_block_type()
        for row in range(self.contrast_pattern.count()):
            pattern = self.contrast_pattern.itemData(row)
            self.contrast_pattern.setItemText(row, contrast_pattern_text(pattern, block))

    def _block_type_changed(self, _index: int) -> None:
        """Volumes still at the old block type's typical value take the new one's."""
        old = TYPICAL_VOLUME_ML[self._shown_block_type]
        self._shown_block_type = self.current_block_type()
        self._show_branches()
        self._word_patterns()
        if self._loading:
            return
        for spin in self.volume_spins.values():
            if abs(spin.value() - old) < 1e-9:
                spin.setValue(self._typical_volume())

    # ------------------------------------------------------------------ helpers --
    def _complications_clicked(self) -> None:
        """'No complications' stands alone: choosing it clears the others and back."""
        chosen = self.complication_buttons.values()
        none = Complication.NONE
        if none in chosen and len(chosen) > 1:
            keep = (none,) if none not in self._complications_shown else chosen[1:]
            self.complication_buttons.set_values(keep)
        self._complications_shown = self.complication_buttons.values()

    def _steroid_typed(self, text: str) -> None:
        try:
            steroid = steroid_from_text(text)
        except ValueError:
            return
        self.particulate.setEnabled(steroid is not None)
        self.particulate.setChecked(steroid is not None and is_particulate(steroid.name))

    @staticmethod
    def _set_combo(combo: QComboBox, value: Any) -> None:
        combo.setCurrentIndex(max(combo.findData(value), 0))

    # ------------------------------------------------------------------ fill ----
    def reset(self, case: Case, operator: str) -> None:
        """A new block: now, the configured clinician, model defaults, nothing ticked.

        Complications are not chosen ("not recorded") and no agent is chosen: the form
        never records what the physician did not say.
        """
        self.set_case(case)
        self._loading = True
        try:
            now = dt.datetime.now().astimezone().replace(second=0, microsecond=0)
            self.performed_at.setText(datetime_text(now))
            self.operator.setText(operator)
            for box in self.target_checks.values():
                box.setChecked(False)
            fields = Procedure.model_fields
            self._set_combo(self.approach, fields["approach"].default)
            self.guidance_buttons.set_value(fields["guidance"].default)
            self.agent_buttons.set_value(None)
            self.concentration.set_value(None)
            self._fill_contrast(Contrast())
            self._fill_needle(Needle())
            self._fill_additives(None, None)
            self.complication_buttons.set_values(())
            self._complications_shown = ()
            for line in (
                self.complication_notes,
                self.indication,
                self.index_pain,
                self.interpretation,
                self.next_step,
            ):
                line.clear()
            self.notes.clear()
            self.images_saved.setValue(fields["images_saved"].default)
            self.session.setCurrentIndex(0)
            self._kept = ()
            self.mixed_note.setText("")
            self.mixed_note.setVisible(False)
        finally:
            self._loading = False

    def load(self, proc: Procedure, case: Case) -> None:
        """Show a recorded block, every field."""
        self.set_case(case)
        self._loading = True
        try:
            self.performed_at.setText(datetime_text(proc.performed_at))
            self.operator.setText(proc.operator)
            # a block alone in its sitting shows "of its own", so "Record as new block" from
            # it starts a new sitting; a block of a multi-block sitting shows that sitting
            sitting = next((x for x in case.sessions if x.session_id == proc.session_id), None)
            joined = sitting is not None and sitting.is_multi_block
            self._set_combo(self.session, proc.session_id if joined else None)
            self._set_combo(self.block_type, proc.block_type)
            self._set_combo(self.approach, proc.approach)
            self.guidance_buttons.set_value(proc.guidance)
            self._fill_injections(proc)
            self._fill_contrast(proc.contrast)
            self._fill_needle(proc.needle)
            self._fill_additives(proc.steroid, proc.sedation)
            self.complication_buttons.set_values(proc.complications)
            self._complications_shown = proc.complications
            self.complication_notes.setText(proc.complication_notes)
            self.indication.setText(proc.indication)
            self.index_pain.setText(proc.index_pain)
            self.images_saved.setValue(proc.images_saved)
            self.interpretation.setText(proc.interpretation)
            self.next_step.setText(proc.next_step)
            self.notes.setPlainText(proc.notes)
        finally:
            self._loading = False

    def _fill_injections(self, proc: Procedure) -> None:
        at_target = {i.target_id: i for i in proc.injections if i.target_id in self.target_checks}
        self._kept = tuple(i for i in proc.injections if i.target_id not in self.target_checks)
        for tid, box in self.target_checks.items():
            inj = at_target.get(tid)
            box.setChecked(inj is not None)
            if inj is not None:
                self.volume_spins[tid].setValue(inj.volume_ml)
                self.branch_spins[tid].setValue(inj.branches)
        first = proc.injections[0]
        self.agent_buttons.set_value(first.agent)
        self.concentration.set_value(first.concentration_pct)
        notes = []
        if len({(i.agent, i.concentration_pct) for i in proc.injections}) > 1:
            notes.append(
                "the injections of this block differ in agent or concentration; saving "
                "changes records the agent and concentration shown for every ticked target"
            )
        if self._kept:
            notes.append(
                f"{len(self._kept)} injection(s) without a planned target are kept as recorded"
            )
        self.mixed_note.setText(". ".join(notes))
        self.mixed_note.setVisible(bool(notes))

    def _fill_contrast(self, contrast: Contrast) -> None:
        self.contrast_agent.setText(contrast.agent)
        self.contrast_ml.setValue(contrast.volume_ml)
        self._set_combo(self.contrast_pattern, contrast.pattern)
        self.intravascular.setChecked(contrast.intravascular_uptake)
        self.dsa.setChecked(contrast.dsa_used)

    def _fill_needle(self, needle: Needle) -> None:
        self.needle_gauge.set_value(needle.gauge)
        self.needle_length.set_value(needle.length_mm)
        self.needle_tip.setText(needle.tip)
        self.needle_type.setText(needle.type)

    def _fill_additives(self, steroid: Any, sedation: Any) -> None:
        self.steroid.setText("" if steroid is None else f"{steroid.name} {steroid.dose_mg:g} mg")
        self.particulate.setEnabled(steroid is not None)
        self.particulate.setChecked(steroid is not None and steroid.particulate)
        self.sedation.setText(
            "" if sedation is None else f"{sedation.drug} {sedation.dose}".strip()
        )

    # ------------------------------------------------------------------ read ----
    def snapshot(self) -> tuple[Any, ...]:
        """What the form shows (every control of `FIELD_CONTROLS`; volumes and branches of
        ticked targets only), to tell whether anything was typed or chosen since."""
        ticked = self.ticked_target_ids()
        shown: list[Any] = []
        for name in dict.fromkeys(FIELD_CONTROLS.values()):
            control = getattr(self, name)
            if name == "target_checks":
                shown.append(tuple(ticked))
            elif isinstance(control, dict):  # volume_spins, branch_spins
                shown.append(tuple(control[t].value() for t in ticked))
            else:
                shown.append(_shown(control))
        return tuple(shown)

    def procedure(self, case: Case, *, base: Procedure | None = None) -> Procedure:
        """The block the form shows (``base``: the recorded block it edits, else a new one).

        Raises
        ------
        BlockplanError, ValueError
            Saying what to fix: no target ticked, no agent chosen, a date, a number or a
            steroid dose that cannot be read, a value the model refuses.
        """
        ticked = self.ticked_target_ids()
        if not ticked and not self._kept:
            raise BlockplanError("tick at least one planned target for the block")
        agent = self.agent_buttons.value()
        if agent is None:
            raise BlockplanError("choose the agent (" + ", ".join(a.value for a in Agent) + ")")
        try:
            performed_at = performed_at_from_text(self.performed_at.text())
        except ValueError as err:
            raise ValueError(f"date, time: {err}") from err
        try:
            values = self._values(case, agent, ticked)
        except ValueError as err:
            raise ValueError(first_error(err)) from err
        values["performed_at"] = performed_at
        values["session_id"] = self._session_id(case, base, performed_at)
        if base is not None:
            values |= {"id": base.id, "diary": base.diary}
        try:
            return Procedure.model_validate(values)
        except ValueError as err:
            raise ValueError(first_error(err)) from err

    def _session_id(self, case: Case, base: Procedure | None, performed_at: Any) -> str:
        """The chosen sitting; "of its own": the edited block's own session when it was
        alone in it, else a new one. A sitting is one date: a block dated on another day
        than the chosen sitting (the form still showing the last block's sitting) is a
        sitting of its own."""
        chosen = self.session.currentData()
        sitting = next((s for s in case.sessions if s.session_id == chosen), None)
        if chosen is not None and (
            sitting is None or sitting.performed_at.date() == performed_at.date()
        ):
            return str(chosen)
        sitting = next((s for s in case.sessions if base and s.session_id == base.session_id), None)
        if base is not None and sitting is not None and not sitting.is_multi_block:
            return base.session_id
        return new_id()

    def _values(self, case: Case, agent: Agent, ticked: list[str]) -> dict[str, Any]:
        """The form's values as `Procedure` fields (numbers refused outside the model's range)."""
        concentration = self.concentration.value()
        injections = [
            Injection.at_target(
                case.target(tid),
                agent=agent,
                concentration_pct=concentration,
                volume_ml=self.volume_spins[tid].value(),
                branches=self.branch_spins[tid].value(),
            )
            for tid in ticked
        ]
        gauge = self.needle_gauge.value()
        steroid = steroid_from_text(self.steroid.text())
        if steroid is not None:
            steroid = steroid.model_copy(update={"particulate": self.particulate.isChecked()})
        values: dict[str, Any] = {
            "operator": self.operator.text().strip(),
            "block_type": self.current_block_type(),
            "approach": self.approach.currentData(),
            "guidance": self.guidance_buttons.value(),
            "indication": self.indication.text().strip(),
            "index_pain": self.index_pain.text().strip(),
            "injections": (*injections, *self._kept),
            "contrast": Contrast(
                agent=self.contrast_agent.text().strip(),
                volume_ml=self.contrast_ml.value(),
                pattern=self.contrast_pattern.currentData(),
                intravascular_uptake=self.intravascular.isChecked(),
                dsa_used=self.dsa.isChecked(),
            ),
            "steroid": steroid,
            "sedation": sedation_from_text(self.sedation.text()),
            "needle": Needle(
                gauge=None if gauge is None else int(gauge),
                length_mm=self.needle_length.value(),
                tip=self.needle_tip.text().strip(),
                type=self.needle_type.text().strip(),
            ),
            "complications": self.complication_buttons.values(),
            "complication_notes": self.complication_notes.text().strip(),
            "images_saved": self.images_saved.value(),
            "interpretation": self.interpretation.text().strip(),
            "next_step": self.next_step.text().strip(),
            "notes": self.notes.toPlainText().strip(),
        }
        return values
