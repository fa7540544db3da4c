"""The demo case's builders: the ground-truth refusal and the target choice of each block."""

from __future__ import annotations

from pathlib import Path

import pytest

from blockplan.case import BlockType
from blockplan.demo import _find, _read_truth, _targets_and_trajectories, build_demo_case
from blockplan.errors import BlockplanError
from blockplan.sample.locate import sample_study_path


def test_read_truth_refuses_a_folder_without_truth(tmp_path: Path) -> None:
    with pytest.raises(BlockplanError, match=r"truth\.json: cannot read .*\(FileNotFoundError\)"):
        _read_truth(tmp_path)


def test_read_truth_refuses_damaged_json_and_says_how_to_regenerate(tmp_path: Path) -> None:
    (tmp_path / "truth.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(BlockplanError, match=r"\(JSONDecodeError\).*python -m blockplan\.sample"):
        _read_truth(tmp_path)


def test_find_picks_targets_by_block_type_and_side() -> None:
    truth = _read_truth(sample_study_path())
    targets, _ = _targets_and_trajectories(truth, truth["frame_of_reference_uid"])
    right_mbb = _find(targets, BlockType.MEDIAL_BRANCH, "right")
    assert len(right_mbb) == 2
    assert all(
        t.block_type is BlockType.MEDIAL_BRANCH and t.side.value == "right" for t in right_mbb
    )
    assert _find(targets, BlockType.MEDIAL_BRANCH, "left") == []


def test_each_block_is_done_at_its_planned_target() -> None:
    case = build_demo_case(sample_study_path())
    sites = {p.id: {i.target_id for i in p.injections} for p in case.procedures}
    by_id = {t.id: t for t in case.targets}
    assert {by_id[t].side.value for t in sites["b1"] | sites["b3"]} == {"left"}
    assert {by_id[t].block_type for t in sites["b2"]} == {BlockType.MEDIAL_BRANCH}
    assert {by_id[t].block_type for t in sites["b4"]} == {BlockType.TRANSFORAMINAL_EPIDURAL}
