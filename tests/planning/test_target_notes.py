"""A target's notes typed by the physician: several lines, kept visible (`set_target_notes`)."""

from __future__ import annotations

import pytest

from blockplan.case import BlockType, Case
from blockplan.case.casefile import dumps_case_file, loads_case_file
from blockplan.errors import PlanningError
from blockplan.planning import place_target
from blockplan.planning.target_label import MAX_TARGET_NOTES_CHARS, set_target_notes
from tests.planning._factory import L4_TO_S1_MARKERS, point

NOTES = "prior laminectomy at L4 left:\napproach from lateral\n\npatient prefers no sedation"


def _case() -> Case:
    target = place_target(
        point(25.0, 10.0, -20.0), L4_TO_S1_MARKERS, block_type=BlockType.SELECTIVE_NERVE_ROOT
    )
    return Case(levels=L4_TO_S1_MARKERS, targets=(target,))


def test_notes_keep_their_lines_and_lose_outer_whitespace() -> None:
    case = _case()
    tid = case.targets[0].id
    noted = set_target_notes(case, tid, f"\n  {NOTES}  \n\n")
    assert noted.targets[0].notes == NOTES
    assert noted.targets[0].label == case.targets[0].label  # nothing else changes
    assert set_target_notes(noted, tid, NOTES) is noted  # nothing changed
    assert set_target_notes(noted, tid, " \n ").targets[0].notes == ""  # cleared
    longest = "x" * MAX_TARGET_NOTES_CHARS
    assert set_target_notes(case, tid, longest).targets[0].notes == longest


def test_line_breaks_of_other_systems_and_tabs_are_stored_plainly() -> None:
    """Windows and old Mac line breaks and the Unicode separators become ``\\n``; a tab
    (pasted from a document) becomes one space, as every screen and the report show it."""
    case = _case()
    tid = case.targets[0].id
    pasted = "one\r\ntwo\rthree\u2028four\u2029five\tsix"
    assert set_target_notes(case, tid, pasted).targets[0].notes == (
        "one\ntwo\nthree\nfour\nfive six"
    )


def test_notes_too_long_or_with_a_control_character_are_refused() -> None:
    case = _case()
    tid = case.targets[0].id
    too_long = "x" * (MAX_TARGET_NOTES_CHARS - 5) + "\n" * 3 + "y" * 3
    with pytest.raises(
        PlanningError, match=r"^target notes: 2001 characters, at most 2000: shorten them"
    ):
        set_target_notes(case, tid, too_long)
    with pytest.raises(
        PlanningError,
        match=r"^target notes: hold a control character \(U\+0007, line 2, character 3\).*"
        r"type that part again without it",
    ):
        set_target_notes(case, tid, "first line\nse\x07cond")
    for char in ("\x00", "\x0b", "\x0c", "\x1b", "\x7f", "\x85"):
        with pytest.raises(PlanningError, match=f"U\\+{ord(char):04X}"):
            set_target_notes(case, tid, f"a{char}b")
    with pytest.raises(KeyError):
        set_target_notes(case, "no-such-target", "x")


def test_a_case_file_with_odd_notes_still_opens() -> None:
    """Strict when typed, tolerant when read: a file written elsewhere opens as it is."""
    case = _case()
    odd = "\tpasted\x07 " + "z" * (MAX_TARGET_NOTES_CHARS + 10)
    written = case.evolve(targets=(case.targets[0].model_copy(update={"notes": odd}),))
    assert loads_case_file(dumps_case_file(written)).targets[0].notes == odd
