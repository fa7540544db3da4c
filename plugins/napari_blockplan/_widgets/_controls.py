"""Small form controls the Outcomes panel is built from: fewer clicks, model ranges.

- `ChoiceButtons`: a row (or grid) of toggle buttons choosing one value — one click,
  where a combo box needs two — optionally none (nothing chosen is "not recorded").
- `NumberField`: an optional number typed in a line edit, refused outside the range the
  case model accepts (`blockplan.case.limits.field_limits`); empty is None.
- `SelectingLineEdit`: a line edit that selects its text when clicked into, so typing
  replaces the value shown (a date) in one go.
- `compact_form`: a form layout that puts a label above its field when the dock is narrow.
- `limit`: give a spin box the range the case model accepts for a field.
- `first_error`: the first message of a pydantic validation error, with its field.
- `scroll_only`: the mouse wheel over a spin box or drop-down scrolls the panel and never
  changes the value (a dose or block type changed by scrolling the form was then saved
  with the next *Save changes*).
- `may_narrow`: a drop-down narrower than its longest choice, so that it does not set the
  width of every tabbed dock.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, Generic, TypeVar

from qtpy.QtCore import QEvent, QObject, Qt, Signal  # type: ignore[attr-defined]
from qtpy.QtGui import QFocusEvent, QMouseEvent
from qtpy.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from blockplan.case.limits import field_limits

__all__ = [
    "ChoiceButtons",
    "NumberField",
    "SelectingLineEdit",
    "compact_form",
    "first_error",
    "limit",
    "may_narrow",
    "scroll_only",
]

V = TypeVar("V", bound=Hashable)


class ChoiceButtons(QWidget, Generic[V]):
    """Toggle buttons for one value of a small vocabulary (agent, guidance, PGIC …).

    Parameters
    ----------
    options
        ``(value, label)`` pairs, in the order shown.
    columns
        Buttons per row.
    allow_none
        Clicking the chosen button again un-chooses it (`value` is then None).
    exclusive
        False: several buttons may be on at once (`values`).
    """

    changed = Signal()
    """Emitted when the physician changes the choice (not when set programmatically)."""

    def __init__(
        self,
        options: Sequence[tuple[V, str]],
        *,
        columns: int = 4,
        allow_none: bool = True,
        exclusive: bool = True,
    ) -> None:
        super().__init__()
        self.allow_none = allow_none
        self.exclusive = exclusive
        self.buttons: dict[V, QPushButton] = {}
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(2)
        for n, (value, label) in enumerate(options):
            button = QPushButton(label)
            button.setCheckable(True)
            button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
            button.clicked.connect(lambda checked, v=value: self._clicked(v, checked))
            grid.addWidget(button, n // columns, n % columns)
            self.buttons[value] = button

    def _clicked(self, value: V, checked: bool) -> None:
        if self.exclusive:
            if checked:
                self._only(value)
            elif not self.allow_none:
                self.buttons[value].setChecked(True)
                return
        self.changed.emit()

    def _only(self, value: V | None) -> None:
        for v, button in self.buttons.items():
            button.setChecked(v == value)

    def value(self) -> V | None:
        """The chosen value (None: nothing chosen)."""
        return next((v for v, b in self.buttons.items() if b.isChecked()), None)

    def values(self) -> tuple[V, ...]:
        """Every value switched on, in the order shown."""
        return tuple(v for v, b in self.buttons.items() if b.isChecked())

    def set_value(self, value: V | None) -> None:
        """Choose ``value`` (None: nothing), without emitting `changed`."""
        self._only(value)

    def set_values(self, values: Sequence[V]) -> None:
        """Switch on exactly ``values``, without emitting `changed`."""
        for v, button in self.buttons.items():
            button.setChecked(v in values)


class NumberField(QLineEdit):
    """An optional number in the range the case model accepts for ``model.field``."""

    def __init__(self, model: Any, field: str, label: str, *, integer: bool = False) -> None:
        super().__init__()
        self.model, self.field, self.label, self.integer = model, field, label, integer
        self.setPlaceholderText("not recorded")
        self.setMaximumWidth(110)

    def value(self) -> float | int | None:
        """The number typed (None when empty).

        Raises
        ------
        ValueError
            Naming the field, the expected range and what was typed.
        """
        text = self.text().strip().replace(",", ".")
        if not text:
            return None
        lo, hi = field_limits(self.model, self.field)
        kind = "a whole number" if self.integer else "a number"
        span = f"{_num(lo, 'from')}–{_num(hi, 'up')}"
        expected = f"{self.label}: expected {kind} {span}; got {text!r}"
        try:
            number: float | int = int(text) if self.integer else float(text)
        except ValueError as err:
            raise ValueError(expected) from err
        if (lo is not None and number < lo) or (hi is not None and number > hi):
            raise ValueError(expected)
        return number

    def set_value(self, value: float | None) -> None:
        """Show ``value`` (empty for None)."""
        self.setText("" if value is None else f"{value:g}")


def _num(bound: float | None, open_end: str) -> str:
    return open_end if bound is None else f"{bound:g}"


class SelectingLineEdit(QLineEdit):
    """A line edit whose text is selected when it is clicked into: typing replaces it."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._select_on_release = False

    def focusInEvent(self, event: QFocusEvent | None) -> None:
        super().focusInEvent(event)
        if event is not None and event.reason() == Qt.FocusReason.MouseFocusReason:
            self._select_on_release = True

    def mouseReleaseEvent(self, event: QMouseEvent | None) -> None:
        super().mouseReleaseEvent(event)
        if self._select_on_release:
            self._select_on_release = False
            self.selectAll()


def limit(box: QSpinBox | QDoubleSpinBox, model: Any, field: str, top: float = 999.0) -> None:
    """Give a spin box the range the case model accepts for ``field`` (``top`` if unbounded)."""
    lo, hi = field_limits(model, field)
    low, high = (lo if lo is not None else 0.0), (hi if hi is not None else top)
    if isinstance(box, QSpinBox):
        box.setRange(int(low), int(high))
    else:
        box.setRange(low, high)


def first_error(err: ValueError) -> str:
    """The first message of a (pydantic) validation error, with the field it names."""
    errors = getattr(err, "errors", None)
    if not callable(errors):
        return str(err)
    first = errors(include_url=False)[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    msg = str(first.get("msg", err)).removeprefix("Value error, ")
    return f"{where}: {msg}" if where else msg


def compact_form(parent: QWidget | None = None) -> QFormLayout:
    """A form layout for a narrow dock: a label goes above a field that does not fit beside it."""
    form = QFormLayout(parent) if parent is not None else QFormLayout()
    form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    return form


class _ScrollOnly(QObject):
    """Sends a wheel turned over a value control to the scroll area around it instead."""

    def eventFilter(self, obj: QObject | None, event: QEvent | None) -> bool:
        if event is None or event.type() != QEvent.Type.Wheel or not isinstance(obj, QWidget):
            return False
        parent = obj.parentWidget()
        while parent is not None and not isinstance(parent, QAbstractScrollArea):
            parent = parent.parentWidget()
        if parent is not None:
            QApplication.sendEvent(parent.viewport(), event)  # the form scrolls on
        return True  # the value never changes by the wheel


def scroll_only(root: QWidget) -> None:
    """The mouse wheel over any spin box or drop-down under ``root`` scrolls, never sets.

    A physician scrolls a long form with the wheel; Qt's spin boxes and combo boxes take
    the wheel as "change the value" even without focus, so a dose, a block type or the
    profile changed under the pointer. Values are typed, stepped with the arrows or chosen
    from the opened list instead. Call again after adding controls (already guarded ones
    are skipped).
    """
    guard = root.findChild(_ScrollOnly, "scroll_only")
    if guard is None:
        guard = _ScrollOnly(root)
        guard.setObjectName("scroll_only")
    controls: list[QWidget] = [*root.findChildren(QAbstractSpinBox), *root.findChildren(QComboBox)]
    for control in controls:
        if not control.property("scroll_only"):
            control.setProperty("scroll_only", True)
            control.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # the wheel gives no focus
            control.installEventFilter(guard)


def may_narrow(combo: QComboBox, characters: int = 14) -> None:
    """Let ``combo`` be narrower than its longest choice (its list still shows every choice
    whole), so that one long choice does not set the width of every tabbed dock."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(characters)
