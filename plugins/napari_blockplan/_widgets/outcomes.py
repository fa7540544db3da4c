"""Outcomes dock widget: record a block against planned targets, enter its pain diary.

Adapters only: the form builds a `Procedure`, the diary grid a `PainDiary`; the
adjudication, ledger, every status and the diary chart (`blockplan.outcomes.chart`, the
one the report draws) come from `blockplan.outcomes` and are shown live. Target colours
in the viewer follow their ledger status.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from qtpy.QtCore import QDateTime, Qt
from qtpy.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from blockplan.case import (
    Agent,
    BlockType,
    Case,
    Contrast,
    ContrastPattern,
    DiaryEntry,
    Guidance,
    Injection,
    PainDiary,
    Procedure,
    Sedation,
    Steroid,
)
from blockplan.case.entry import sedation_from_text, steroid_from_text
from blockplan.case.limits import NRS_LIMITS, TYPICAL_VOLUME_ML, field_limits
from blockplan.errors import BlockplanError
from napari_blockplan._workspace import workspace_for

if TYPE_CHECKING:
    import napari

__all__ = ["OutcomesWidget"]

LEDGER_COLUMNS = ("Source", "Status", "Blocks", "What would settle it")


class OutcomesWidget(QWidget):
    """Procedures, diaries and the live evidence ledger of the open case."""

    def __init__(self, napari_viewer: napari.viewer.Viewer) -> None:
        super().__init__()
        from blockplan.outcomes import list_profiles

        self.viewer = napari_viewer
        self.ws = workspace_for(napari_viewer)
        self.ledger: Any = None
        self._filling = False

        self.profile = QComboBox()
        self.profile.addItems(list(list_profiles()))
        self.profile.currentTextChanged.connect(self.set_profile)
        self.profile_label = QLabel("")
        self.profile_label.setWordWrap(True)

        layout = QVBoxLayout(self)
        top = QFormLayout()
        top.addRow("Profile:", self.profile)
        top.addRow(self.profile_label)
        layout.addLayout(top)
        self.tabs = QTabWidget()
        self.tabs.addTab(self._procedure_box(), "Record")
        self.tabs.addTab(self._diary_box(), "Diary")
        self.tabs.addTab(self._ledger_box(), "Ledger")
        layout.addWidget(self.tabs)
        disclaimer = QLabel("Decision support, not a medical device.")
        disclaimer.setStyleSheet("color: gray; font-style: italic")
        layout.addWidget(disclaimer)

        self.ws.case_changed.connect(self._on_case_changed)
        self._on_case_changed(self.ws.case)

    # ------------------------------------------------------------------ form ----
    def _procedure_box(self) -> QGroupBox:
        box = QGroupBox("Record a block")
        self.performed_at = QDateTimeEdit(QDateTime.currentDateTime())
        self.performed_at.setCalendarPopup(True)
        self.block_type = QComboBox()
        self.block_type.addItems([b.value for b in BlockType])
        self.targets = QListWidget()
        self.targets.setMaximumHeight(90)
        self.agent = QComboBox()
        self.agent.addItems([a.value for a in Agent])
        self.concentration = QDoubleSpinBox()
        _limit(self.concentration, Injection, "concentration_pct")
        self.concentration.setSingleStep(0.25)
        self.concentration.setSuffix(" %")
        self.volume = QDoubleSpinBox()
        _limit(self.volume, Injection, "volume_ml")
        self.volume.setSingleStep(0.1)
        self.volume.setDecimals(2)
        self.volume.setSuffix(" mL per target")
        self.block_type.currentTextChanged.connect(self._typical_volume)
        self._typical_volume(self.block_type.currentText())
        self.branches = QSpinBox()
        _limit(self.branches, Injection, "branches")
        self.contrast_ml = QDoubleSpinBox()
        _limit(self.contrast_ml, Contrast, "volume_ml")
        self.contrast_ml.setSingleStep(0.1)
        self.contrast_ml.setSuffix(" mL")
        self.contrast_pattern = QComboBox()
        self.contrast_pattern.addItems([p.value for p in ContrastPattern])
        self.intravascular = QCheckBox("intravascular uptake")
        self.dsa = QCheckBox("DSA used")
        self.steroid = QLineEdit()
        self.steroid.setPlaceholderText("none (or e.g. dexamethasone 4 mg)")
        self.sedation = QLineEdit()
        self.sedation.setPlaceholderText("none (or e.g. midazolam 2 mg)")
        self.guidance = QComboBox()
        self.guidance.addItems([g.value for g in Guidance])
        record = QPushButton("Record block")
        record.clicked.connect(self.record_from_form)
        form = QFormLayout(box)
        form.addRow("Date/time:", self.performed_at)
        form.addRow("Block:", self.block_type)
        form.addRow("Targets:", self.targets)
        form.addRow("Agent:", self.agent)
        form.addRow("Concentration:", self.concentration)
        form.addRow("Volume:", self.volume)
        form.addRow("Medial branches:", self.branches)
        contrast = QHBoxLayout()
        contrast.addWidget(self.contrast_ml)
        contrast.addWidget(self.contrast_pattern)
        form.addRow("Contrast:", contrast)
        flags = QHBoxLayout()
        flags.addWidget(self.intravascular)
        flags.addWidget(self.dsa)
        form.addRow(flags)
        form.addRow("Steroid:", self.steroid)
        form.addRow("Sedation:", self.sedation)
        form.addRow("Guidance:", self.guidance)
        form.addRow(record)
        return box

    def _diary_box(self) -> QGroupBox:
        box = QGroupBox("Pain diary")
        self.procedure_list = QComboBox()
        self.procedure_list.currentIndexChanged.connect(lambda _i: self._show_diary())
        self.baseline = QSpinBox()
        # one below the scale means "not entered": a baseline is never made up
        self.baseline.setRange(NRS_LIMITS[0] - 1, NRS_LIMITS[1])
        self.baseline.setSpecialValueText("not entered")
        self.baseline.setValue(self.baseline.minimum())
        self.movements = QCheckBox("previously painful movements became possible")
        self.diary = QTableWidget(0, 3)
        self.diary.setHorizontalHeaderLabels(("Minutes", "NRS 0–10", "Patient relief %"))
        self.diary.verticalHeader().setVisible(False)
        save = QPushButton("Save diary")
        save.clicked.connect(self.save_diary_from_grid)
        self.verdict = QLabel("")
        self.verdict.setWordWrap(True)
        from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
        from matplotlib.figure import Figure

        self.figure = Figure(figsize=(3.2, 1.6), dpi=90, tight_layout=True)
        self.chart = FigureCanvasQTAgg(self.figure)
        self.chart.setMinimumHeight(150)
        self.diary.setMinimumHeight(220)
        form = QFormLayout(box)
        form.addRow("Block:", self.procedure_list)
        form.addRow("Baseline NRS:", self.baseline)
        form.addRow(self.movements)
        form.addRow(self.diary)
        form.addRow(save)
        form.addRow(self.verdict)
        form.addRow(self.chart)
        return box

    def _ledger_box(self) -> QGroupBox:
        box = QGroupBox("Pain-source ledger")
        self.ledger_table = QTableWidget(0, len(LEDGER_COLUMNS))
        self.ledger_table.setHorizontalHeaderLabels(LEDGER_COLUMNS)
        self.ledger_table.verticalHeader().setVisible(False)
        self.ledger_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        QVBoxLayout(box).addWidget(self.ledger_table)
        return box

    def _typical_volume(self, block: str) -> None:
        self.volume.setValue(TYPICAL_VOLUME_ML[BlockType(block)])

    # ------------------------------------------------------------------ actions -
    def set_profile(self, name: str) -> None:
        """Adjudicate under another profile (stored with the case)."""
        if self._filling or not name or name == self.ws.case.profile_name:
            return
        self.ws.apply(self.ws.case.evolve(profile_name=name), "set profile", f"profile {name}")

    def selected_target_ids(self) -> list[str]:
        """Ids of the checked targets."""
        out = []
        for row in range(self.targets.count()):
            item = self.targets.item(row)
            if item.checkState() == Qt.CheckState.Checked:
                out.append(item.data(Qt.ItemDataRole.UserRole))
        return out

    def record_from_form(self) -> Procedure | None:
        """Build a procedure from the form and record it (one injection per target)."""
        try:
            return self.record_procedure(
                performed_at=self.performed_at.dateTime().toPyDateTime().astimezone(),
                block_type=BlockType(self.block_type.currentText()),
                target_ids=self.selected_target_ids(),
                agent=Agent(self.agent.currentText()),
                concentration_pct=self.concentration.value() or None,
                volume_ml=self.volume.value(),
                branches=self.branches.value(),
                contrast=Contrast(
                    volume_ml=self.contrast_ml.value(),
                    pattern=ContrastPattern(self.contrast_pattern.currentText()),
                    intravascular_uptake=self.intravascular.isChecked(),
                    dsa_used=self.dsa.isChecked(),
                ),
                steroid=steroid_from_text(self.steroid.text()),
                sedation=sedation_from_text(self.sedation.text()),
                guidance=Guidance(self.guidance.currentText()),
            )
        except (BlockplanError, ValueError) as err:
            self._error(str(err))
            return None

    def record_procedure(
        self,
        *,
        performed_at: dt.datetime,
        block_type: BlockType,
        target_ids: list[str],
        agent: Agent,
        volume_ml: float,
        concentration_pct: float | None = None,
        branches: int = 1,
        contrast: Contrast | None = None,
        steroid: Steroid | None = None,
        sedation: Sedation | None = None,
        guidance: Guidance = Guidance.FLUOROSCOPY,
    ) -> Procedure:
        """Record a block at planned targets (level, side, structure from each target)."""
        if not target_ids:
            raise BlockplanError("tick at least one planned target for the block")
        case = self.ws.case
        injections = [
            Injection.at_target(
                case.target(tid),
                agent=agent,
                concentration_pct=concentration_pct,
                volume_ml=volume_ml,
                branches=branches,
            )
            for tid in target_ids
        ]
        procedure = Procedure(
            performed_at=performed_at,
            operator=self.ws.user,
            block_type=block_type,
            guidance=guidance,
            injections=tuple(injections),
            contrast=contrast or Contrast(),
            steroid=steroid,
            sedation=sedation,
        )
        self.ws.apply(
            case.replace_item("procedures", procedure),
            "record block",
            f"{block_type.value} with {agent.value}",
        )
        self.procedure_list.setCurrentIndex(self.procedure_list.count() - 1)
        return procedure

    def selected_procedure_id(self) -> str | None:
        """Id of the block whose diary is shown."""
        data = self.procedure_list.currentData()
        return None if data is None else str(data)

    def save_diary_from_grid(self) -> None:
        """Store the diary grid (empty NRS cells are missing points)."""
        pid = self.selected_procedure_id()
        if pid is None:
            self._error("record a block first")
            return
        if self.baseline.value() == self.baseline.minimum():
            self._error("enter the baseline NRS (pain before the block) first")
            return
        entries: list[tuple[int, int | None, float | None]] = []
        try:
            for row in range(self.diary.rowCount()):
                minutes = int(_cell(self.diary, row, 0) or "")
                nrs_text = _cell(self.diary, row, 1)
                rel_text = _cell(self.diary, row, 2)
                entries.append(
                    (
                        minutes,
                        int(nrs_text) if nrs_text else None,
                        float(rel_text) if rel_text else None,
                    )
                )
            self.set_diary(
                pid,
                self.baseline.value(),
                entries,
                movements_possible=self.movements.isChecked() or None,
            )
        except (ValueError, BlockplanError) as err:
            self._error(f"diary row {row + 1}: {err}")

    def set_diary(
        self,
        procedure_id: str,
        baseline_nrs: int,
        entries: list[tuple[int, int | None, float | None]],
        *,
        movements_possible: bool | None = None,
    ) -> None:
        """Store a diary: ``entries`` are ``(minutes, nrs, patient_relief_pct)``."""
        diary = PainDiary(
            baseline_nrs=baseline_nrs,
            entries=tuple(
                DiaryEntry(minutes=m, nrs=n, patient_relief_pct=r)
                for m, n, r in entries
                if n is not None or r is not None
            ),
            movements_possible=movements_possible,
        )
        case = self.ws.case
        proc = next(p for p in case.procedures if p.id == procedure_id)
        updated = proc.model_copy(update={"diary": diary})
        self.ws.apply(case.replace_item("procedures", updated), "diary", "pain diary saved")

    # ------------------------------------------------------------------ refresh -
    def _on_case_changed(self, case: Case) -> None:
        from blockplan.outcomes import build_ledger

        if self.ws.ledger is None:  # the workspace has not announced a case yet
            self.ws.ledger = build_ledger(case, case.profile_name)
        self.ledger = self.ws.ledger
        self._filling = True
        try:
            self.profile.setCurrentText(case.profile_name)
            self.profile_label.setText(f"{self.ledger.profile_title} — {self.ledger.profile_label}")
            self._fill_targets(case)
            self._fill_procedures(case)
            self._fill_ledger()
        finally:
            self._filling = False
        self._show_diary()

    def _fill_targets(self, case: Case) -> None:
        checked = set(self.selected_target_ids())
        self.targets.clear()
        for t in case.targets:
            label = f"{t.label or t.id[:6]}: {t.level or '?'} {t.side.value} {t.block_type.value}"
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, t.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(
                Qt.CheckState.Checked if t.id in checked else Qt.CheckState.Unchecked
            )
            self.targets.addItem(item)

    def _fill_procedures(self, case: Case) -> None:
        current = self.selected_procedure_id()
        self.procedure_list.clear()
        for n, p in enumerate(case.procedures, start=1):
            agents = "/".join(sorted(a.value for a in p.agents))
            when = p.performed_at.strftime("%Y-%m-%d %H:%M")
            self.procedure_list.addItem(f"#{n} {when} {p.block_type.value} {agents}", p.id)
        ids = [p.id for p in case.procedures]
        if current in ids:
            self.procedure_list.setCurrentIndex(ids.index(current))
        elif ids:
            self.procedure_list.setCurrentIndex(len(ids) - 1)

    def _fill_ledger(self) -> None:
        sources = self.ledger.sources
        self.ledger_table.setRowCount(len(sources))
        for row, s in enumerate(sources):
            values = (
                s.label,
                s.status.value,
                ", ".join(f"#{n}" for n in s.blocks),
                "; ".join(s.settle),
            )
            for col, value in enumerate(values):
                self.ledger_table.setItem(row, col, QTableWidgetItem(value))
        self.ledger_table.resizeColumnsToContents()

    def _show_diary(self) -> None:
        from blockplan.outcomes import load_profile

        if self._filling:
            return
        pid = self.selected_procedure_id()
        case = self.ws.case
        proc = next((p for p in case.procedures if p.id == pid), None)
        times = list(load_profile(case.profile_name).diary_times_min)
        recorded = {e.minutes: e for e in (proc.diary.entries if proc and proc.diary else ())}
        times = sorted(set(times) | set(recorded))
        self.diary.setRowCount(len(times))
        for row, minutes in enumerate(times):
            entry = recorded.get(minutes)
            values = (
                str(minutes),
                "" if entry is None or entry.nrs is None else str(entry.nrs),
                ""
                if entry is None or entry.patient_relief_pct is None
                else f"{entry.patient_relief_pct:g}",
            )
            for col, value in enumerate(values):
                self.diary.setItem(row, col, QTableWidgetItem(value))
        self.baseline.setValue(self.baseline.minimum())
        if proc is not None and proc.diary is not None:
            self.baseline.setValue(proc.diary.baseline_nrs)
            self.movements.setChecked(bool(proc.diary.movements_possible))
        block = next(
            (b for b in (self.ledger.blocks if self.ledger else ()) if b.procedure_id == pid),
            None,
        )
        self._draw_chart(block)
        if block is None:
            self.verdict.setText("")
            return
        reasons = "; ".join(block.reasons)
        self.verdict.setText(f"Block #{block.number}: {block.verdict.text}. {reasons}")

    def _draw_chart(self, block: Any) -> None:
        """The core's diary chart of the block (the report draws the same spec)."""
        from blockplan.outcomes.chart import diary_chart_spec
        from napari_blockplan._widgets._diary_chart import draw_diary_chart

        self.figure.clear()
        ax = self.figure.add_subplot(111)
        spec = None if block is None else diary_chart_spec(block, self.ledger.threshold_pct)
        draw_diary_chart(ax, spec)
        self.chart.draw_idle()

    def _error(self, text: str) -> None:
        from napari.utils.notifications import show_error

        self.verdict.setText(text)
        show_error(f"blockplan: {text}")


def _cell(table: QTableWidget, row: int, col: int) -> str:
    item = table.item(row, col)
    return "" if item is None else item.text().strip()


def _limit(box: QSpinBox | QDoubleSpinBox, model: Any, field: str) -> None:
    """Give a spin box the range the case model accepts for ``field``."""
    lo, hi = field_limits(model, field)
    low, high = (lo if lo is not None else 0.0), (hi if hi is not None else 1e6)
    if isinstance(box, QSpinBox):
        box.setRange(int(low), int(high))
    else:
        box.setRange(low, high)
