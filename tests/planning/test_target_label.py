"""A target's label typed by the physician: kept short and visible (`set_target_label`)."""

from __future__ import annotations

import pytest

from blockplan.case import BlockType, Case
from blockplan.errors import PlanningError
from blockplan.planning import MAX_TARGET_LABEL_CHARS, place_target, set_target_label
from tests.planning._factory import L4_TO_S1_MARKERS, point


def _case() -> Case:
    target = place_target(
        point(25.0, 10.0, -20.0), L4_TO_S1_MARKERS, block_type=BlockType.SELECTIVE_NERVE_ROOT
    )
    return Case(levels=L4_TO_S1_MARKERS, targets=(target,))


def test_a_label_is_set_trimmed_and_cleared() -> None:
    case = _case()
    tid = case.targets[0].id
    labelled = set_target_label(case, tid, "  worst on sitting ")
    assert labelled.targets[0].label == "worst on sitting"
    assert set_target_label(labelled, tid, "worst on sitting") is labelled  # nothing changed
    longest = "x" * MAX_TARGET_LABEL_CHARS
    assert set_target_label(case, tid, longest).targets[0].label == longest
    assert set_target_label(labelled, tid, "  ").targets[0].label == ""


def test_a_label_too_long_or_with_a_control_character_is_refused() -> None:
    case = _case()
    tid = case.targets[0].id
    too_long = "x" * (MAX_TARGET_LABEL_CHARS + 1)
    with pytest.raises(PlanningError, match=r"201 characters, at most 200: shorten it"):
        set_target_label(case, tid, too_long)
    with pytest.raises(PlanningError, match=r"control character \(U\+0009, at character 2\)"):
        set_target_label(case, tid, "a\tb")
    with pytest.raises(PlanningError, match=r"U\+0000"):
        set_target_label(case, tid, "a\x00")
