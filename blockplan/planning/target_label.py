"""A target's label, typed by the physician: checked before it enters the case.

The label is the physician's own words for a target ("the painful one", "ask about
the 2019 op"), printed under the target's name in the report and written into the SR's
tracking identifier. A label of thousands of characters (text pasted by mistake) made
the report fail to build (one table cell taller than a page), and a control character
(a tab or line break pasted in) is invisible on screen and in the report, so the label
would read differently from what is stored. Both are refused where the label is typed.
Reading stays tolerant: a case file holding such a label still opens.
"""

from __future__ import annotations

import re

from blockplan.case.model import Case
from blockplan.errors import PlanningError

__all__ = ["MAX_TARGET_LABEL_CHARS", "set_target_label"]

MAX_TARGET_LABEL_CHARS = 200
"""The longest target label accepted (characters, after outer spaces are removed)."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def set_target_label(case: Case, target_id: str, text: str) -> Case:
    """The case with a target's label set to ``text`` (outer spaces removed; "" clears it).

    Raises
    ------
    PlanningError
        When the label is longer than `MAX_TARGET_LABEL_CHARS` or holds a control
        character; the message says which and what to do.
    """
    target = case.target(target_id)
    label = text.strip()
    if len(label) > MAX_TARGET_LABEL_CHARS:
        raise PlanningError(
            f"target label: {len(label)} characters, at most {MAX_TARGET_LABEL_CHARS}: "
            "shorten it (the label is a short note under the target's name)"
        )
    found = _CONTROL.search(label)
    if found is not None:
        raise PlanningError(
            f"target label: holds a control character (U+{ord(found.group()):04X}, "
            f"at character {found.start() + 1}), which no one can see: type it again "
            "without it"
        )
    if label == target.label:
        return case
    return case.replace_item("targets", target.model_copy(update={"label": label}))
