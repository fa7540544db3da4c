"""Where a reopened case opens: at its targets' level, on the spine's midline."""

from __future__ import annotations

from pathlib import Path

import pytest

from blockplan.demo import build_demo_case
from blockplan.planning.opening import opening_point

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"


def test_a_case_opens_at_its_targets_on_the_midline_of_its_levels() -> None:
    case = build_demo_case(SAMPLE)
    left_right = sorted(m.position.lps[0] for m in case.levels)
    x, y, z = opening_point(case) or (None, None, None)
    assert x == pytest.approx(left_right[len(left_right) // 2])
    targets = [t.position.lps for t in case.targets]
    assert y == pytest.approx(sum(t[1] for t in targets) / len(targets))
    assert z == pytest.approx(sum(t[2] for t in targets) / len(targets))
    # the targets alone average off the midline: the rule is what puts the plane on it
    assert abs(sum(t[0] for t in targets) / len(targets) - x) > 1.0


def test_without_levels_the_targets_centre_and_without_targets_nothing() -> None:
    case = build_demo_case(SAMPLE)
    bare = case.model_copy(update={"levels": ()})
    targets = [t.position.lps for t in case.targets]
    assert opening_point(bare) == pytest.approx(
        tuple(sum(t[i] for t in targets) / len(targets) for i in range(3))
    )
    assert opening_point(case.model_copy(update={"targets": ()})) is None
