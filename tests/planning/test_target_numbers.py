"""A target keeps the number it was given at placement, and no number is given twice.

Found by a physician's trial: targets were numbered by their place in the list, so
deleting T2 renamed T3 "T2" — yesterday's signed report said T3 for the S1 target, today's
said T2 for the same target. Now the number is part of the target (`Target.number`),
given once by the case (`Case.last_target_number` counts the numbers given) and named by
one function (`blockplan.planning.wording.target_name`).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from blockplan.archive.roundtrip import case_from_archive
from blockplan.archive.sr import build_measurement_report, read_sr
from blockplan.case import BlockType, Case
from blockplan.case._codec import CaseBodyError, case_from_body, case_to_body
from blockplan.case.casefile import load_case_file, save_case_file
from blockplan.case.store import CaseStore
from blockplan.planning import place_target, set_target_level, set_target_side
from blockplan.planning.retype import change_block_type
from blockplan.planning.wording import target_name, target_names, target_tag
from blockplan.report import ReportOptions, build_report
from tests.archive._factory import make_case, write_study
from tests.planning._factory import L4_TO_S1_MARKERS, point

MARKERS = L4_TO_S1_MARKERS
WHEN = dt.datetime(2026, 5, 19, 12, 0, tzinfo=dt.UTC)


def _place(case: Case, block: BlockType, x: float, z: float) -> Case:
    """The Planning panel's placement: `place_target`, then the case adds it."""
    target = place_target(point(x, 10.0, z), case.levels, block_type=block)
    return case.replace_item("targets", target)


def _three() -> Case:
    """An L5 left TFESI (T1), an L4-L5 right MBB (T2) and an S1 left SNRB (T3)."""
    case = Case(levels=MARKERS)
    case = _place(case, BlockType.TRANSFORAMINAL_EPIDURAL, 25.0, -5.0)
    case = _place(case, BlockType.MEDIAL_BRANCH, -25.0, 25.0)
    return _place(case, BlockType.SELECTIVE_NERVE_ROOT, 25.0, -45.0)


def _names(case: Case) -> list[str]:
    return list(target_names(case.targets).values())


def test_deleting_t2_leaves_t3_named_t3_and_its_number_is_never_given_again() -> None:
    case = _three()
    t1, t2, t3 = case.targets
    assert _names(case) == [
        "T1 · L5 left TFESI",
        "T2 · L4-L5 right MBB",
        "T3 · S1 left SNRB",
    ]
    case = case.remove_item("targets", t2.id)
    assert _names(case) == ["T1 · L5 left TFESI", "T3 · S1 left SNRB"]
    assert case.last_target_number == 3
    # the next target is T4, not T2 (nor T3 after T3 is deleted too)
    case = case.remove_item("targets", t3.id)
    case = _place(case, BlockType.MEDIAL_BRANCH, -25.0, 25.0)
    assert [target_tag(t) for t in case.targets] == ["T1", "T4"]
    case = _place(case, BlockType.MEDIAL_BRANCH, 25.0, 25.0)
    assert [t.number for t in case.targets] == [1, 4, 5] and case.last_target_number == 5
    assert case.target(t1.id).number == 1


def test_edits_moves_and_retyping_keep_the_number() -> None:
    case = _three()
    _t1, t2, _t3 = case.targets
    case = case.remove_item("targets", case.targets[0].id)
    before = target_tag(case.target(t2.id))
    case, _summary = change_block_type(case, t2.id, BlockType.FACET_INTRAARTICULAR)
    moved = case.target(t2.id).model_copy(update={"position": point(20.0, 12.0, -18.0)})
    case = case.replace_item("targets", moved)
    case = set_target_side(case, t2.id, "left")
    case = set_target_level(case, t2.id, "L5-S1")
    labelled = case.target(t2.id).model_copy(update={"label": "the painful one"})
    case = case.replace_item("targets", labelled)
    case = case.evolve(title="renamed case")
    after = case.target(t2.id)
    assert target_tag(after) == before == "T2"
    assert target_name(after).startswith("T2 · L5-S1 left ")
    assert case.last_target_number == 3


def test_undo_brings_targets_back_with_their_numbers_but_never_lowers_the_count() -> None:
    """The Workspace's undo: the earlier case, keeping the count of the later one."""
    earlier = _three()
    placed = _place(earlier, BlockType.SELECTIVE_NERVE_ROOT, 25.0, -5.0)  # T4
    undone = earlier.keeping_target_numbers_of(placed)
    assert [t.number for t in undone.targets] == [1, 2, 3]
    assert undone.last_target_number == 4
    again = _place(undone, BlockType.SELECTIVE_NERVE_ROOT, 25.0, -5.0)
    assert target_tag(again.targets[-1]) == "T5"  # T4 was given (then undone): not again
    # undoing a deletion brings the target back under its own number
    deleted = earlier.remove_item("targets", earlier.targets[1].id)
    restored = earlier.keeping_target_numbers_of(deleted)
    assert restored == earlier and _names(restored)[1] == "T2 · L4-L5 right MBB"


def test_the_numbers_survive_the_case_file_and_the_store(tmp_path: Path) -> None:
    case = _three()
    case = case.remove_item("targets", case.targets[1].id)  # T1, T3; count 3
    read = load_case_file(save_case_file(case, tmp_path / "case.blockplan.json"))
    assert _names(read) == _names(case) and read.last_target_number == 3
    with CaseStore(tmp_path / "cases.sqlite3") as store:
        store.create(case, "tester")
        stored, _version = store.load(case.case_id)
        imported, _v = store.import_file(tmp_path / "case.blockplan.json", "tester", new_id=True)
    for other in (stored, imported):
        assert [t.number for t in other.targets] == [1, 3] and other.last_target_number == 3
        assert target_tag(_place(other, BlockType.MEDIAL_BRANCH, 0.0, 0.0).targets[-1]) == "T4"


def test_a_case_stored_before_numbers_gets_its_list_positions(tmp_path: Path) -> None:
    """A v5 case (no numbers, no count) reads with the names it was last shown with."""
    body = case_to_body(_three())
    for target in body["targets"]:
        del target["number"]
    del body["last_target_number"]
    body["schema_version"] = 5
    case = case_from_body(json.loads(json.dumps(body)))
    assert [t.number for t in case.targets] == [1, 2, 3] and case.last_target_number == 3
    # a file written by blockplan 0.1.0 (schema 1), committed unchanged
    old = load_case_file(Path(__file__).parents[1] / "case" / "data" / "case-v1.blockplan.json")
    assert [t.number for t in old.targets] == [1, 2] and old.last_target_number == 2
    # the store's older rows too (its column says 5)
    with CaseStore(tmp_path / "cases.sqlite3") as store:
        store.create(case, "tester")
        assert store._case_of(case.case_id, json.dumps(body), _sha(json.dumps(body)), 5) == case


def _sha(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


def test_two_targets_with_one_number_are_refused() -> None:
    case = _three()
    twin = case.targets[0].model_copy(update={"id": "twin"})
    with pytest.raises(ValueError, match="targets: numbers must be unique"):
        case.evolve(targets=(*case.targets, twin))
    body = case_to_body(case)
    body["targets"][2]["number"] = 1
    with pytest.raises(CaseBodyError, match="numbers must be unique"):
        case_from_body(body)


def test_a_target_outside_a_case_has_no_name() -> None:
    target = place_target(point(25.0, 10.0, -5.0), MARKERS, block_type=BlockType.MEDIAL_BRANCH)
    assert target.number is None
    with pytest.raises(ValueError, match="numbered when it joins a case"):
        target_name(target)


def test_the_report_and_the_sr_name_targets_by_their_own_numbers(tmp_path: Path) -> None:
    """After T2 is deleted, the SR (read back, and a plan rebuilt from it) and the report
    PDF say T3 for the third target, as the screen does."""
    study = write_study(tmp_path / "ct")
    case = make_case(study)
    assert _names(case)[1].startswith("T2 ")
    case = case.remove_item("targets", case.targets[1].id)
    names = _names(case)
    assert [n.split(" · ")[0] for n in names] == ["T1", "T3"]

    sr = build_measurement_report(case, study.headers, content_datetime=WHEN)
    plan = read_sr(sr)
    assert [t.number for t in plan.targets] == [1, 3]
    rebuilt = case_from_archive(sr, None, case)
    assert _names(rebuilt) == names and rebuilt.last_target_number == 3

    pdf = build_report(case, volumes=[study.volume], options=ReportOptions(created_at=WHEN))
    text = re.sub(r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))
    for name in names:
        assert name in text
    assert "T2 ·" not in text


def test_the_cli_picks_a_target_by_its_own_number() -> None:
    from blockplan._cli_fluoro import pick_target
    from blockplan.errors import PlanningError

    case = _three()
    case = case.remove_item("targets", case.targets[1].id)
    assert pick_target(case, "T3") == case.targets[1].id
    with pytest.raises(PlanningError, match="expected an id or one of T1, T3"):
        pick_target(case, "T2")
