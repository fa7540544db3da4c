"""A target's label, typed by the physician: checked before it enters the case.

The label is the physician's own words for a target ("the painful one", "ask about
the 2019 op"), printed under the target's name in the report and written into the SR's
tracking identifier. A label of thousands of characters (text pasted by mistake) made
the report fail to build (one table cell taller than a page), and a control character
(a tab or line break pasted in) is invisible on screen and in the report, so the label
would read differently from what is stored. Both are refused where the label is typed.
Reading stays tolerant: a case file holding such a label still opens.

A target's notes (`set_target_notes`) are the physician's longer words for it ("prior
laminectomy at L4 left: approach from lateral"), printed under the target's row in the
report and written as a TEXT Comment of the target's group in the SR. They may run over
several lines; the same care applies otherwise.
"""

from __future__ import annotations

import re

from blockplan.case.model import Case
from blockplan.errors import PlanningError

__all__ = [
    "MAX_TARGET_LABEL_CHARS",
    "MAX_TARGET_NOTES_CHARS",
    "clean_target_notes",
    "set_target_label",
    "set_target_notes",
]

MAX_TARGET_LABEL_CHARS = 200
"""The longest target label accepted (characters, after outer spaces are removed)."""

MAX_TARGET_NOTES_CHARS = 2_000
"""The longest target notes accepted (characters, line breaks counted, after outer
whitespace is removed): about a third of a report page at body size, several times the
longest note a physician writes about one target, well short of a pasted letter or
document (which belongs in the clinical record, not under one target)."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_LINE_BREAKS = re.compile(r"\r\n|\r|\u2028|\u2029")
"""Line breaks as other systems write them (Windows, old Mac, Unicode separators)."""


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


def clean_target_notes(text: str) -> str:
    """``text`` as target notes are stored: line breaks as ``\\n`` (``\\r\\n``, ``\\r``
    and the Unicode line and paragraph separators are line breaks too), each tab as one
    space (a tab pasted from a document only lays words out, and no report or screen shows
    it as a tab), outer whitespace and blank outer lines removed.

    Raises
    ------
    PlanningError
        When the notes are longer than `MAX_TARGET_NOTES_CHARS` or hold another control
        character; the message says which, where, and what to do.
    """
    notes = _LINE_BREAKS.sub("\n", text).replace("\t", " ").strip()
    if len(notes) > MAX_TARGET_NOTES_CHARS:
        raise PlanningError(
            f"target notes: {len(notes)} characters, at most {MAX_TARGET_NOTES_CHARS}: "
            "shorten them (notes are a few lines about this target; a longer text belongs "
            "in the clinical record)"
        )
    found = _CONTROL.search(notes.replace("\n", " "))
    if found is not None:
        line = notes.count("\n", 0, found.start()) + 1
        column = found.start() - (notes.rfind("\n", 0, found.start()) + 1) + 1
        raise PlanningError(
            f"target notes: hold a control character (U+{ord(found.group()):04X}, line "
            f"{line}, character {column}), which no one can see: type that part again "
            "without it (line breaks are fine)"
        )
    return notes


def set_target_notes(case: Case, target_id: str, text: str) -> Case:
    """The case with a target's notes set to ``text``, cleaned as `clean_target_notes`
    says ("" clears them). Returns ``case`` itself when the notes do not change.

    Raises
    ------
    PlanningError
        From `clean_target_notes`: too long, or a control character other than a line
        break or tab.
    KeyError
        When the case has no target ``target_id``.
    """
    target = case.target(target_id)
    notes = clean_target_notes(text)
    if notes == target.notes:
        return case
    return case.replace_item("targets", target.model_copy(update={"notes": notes}))
