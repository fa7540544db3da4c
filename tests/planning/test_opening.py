"""Where a reopened case opens: at its first target, on the spine's midline."""

from __future__ import annotations

from pathlib import Path

import pytest

from blockplan.demo import build_demo_case
from blockplan.planning.opening import opening_point

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"


def test_a_case_opens_at_its_first_target_on_the_midline_of_its_levels() -> None:
    case = build_demo_case(SAMPLE)
    left_right = sorted(m.position.lps[0] for m in case.levels)
    x, y, z = opening_point(case) or (None, None, None)
    assert x == pytest.approx(left_right[len(left_right) // 2])
    first = case.targets[0].position.lps
    assert (y, z) == pytest.approx((first[1], first[2]))
    # the first target lies off the midline: the rule is what puts the sagittal plane on it
    assert abs(first[0] - x) > 1.0


def test_without_levels_the_first_target_and_without_targets_nothing() -> None:
    case = build_demo_case(SAMPLE)
    bare = case.model_copy(update={"levels": ()})
    assert opening_point(bare) == pytest.approx(case.targets[0].position.lps)
    assert opening_point(case.model_copy(update={"targets": ()})) is None
