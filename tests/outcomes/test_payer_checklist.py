"""The payer-documentation checklist engine: table-driven cases per check (no real data)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from blockplan.case.casefile import save_case_file
from blockplan.case.model import Case, Injection, OdiEntry, Procedure
from blockplan.case.vocab import BlockType, Guidance, Laterality
from blockplan.cli import main
from blockplan.outcomes.payer import (
    CHECKLIST_HEADING,
    ChecklistItem,
    ItemStatus,
    checklist_to_text,
    evaluate_checklist,
)
from tests.outcomes._factory import (
    BILATERAL,
    BUPI,
    FACET_IA,
    LEFT,
    LIDO,
    MBB,
    NO_RELIEF,
    RIGHT,
    SNRB,
    TFESI,
    block,
    case_of,
    diary_from,
)

FACET = "cms-lcd-l38773-facet"
ESI = "cms-lcd-l39242-esi"
MET, NOT_MET, NOT_RECORDED = ItemStatus.MET, ItemStatus.NOT_MET, ItemStatus.NOT_RECORDED
ILESI = BlockType.INTERLAMINAR_EPIDURAL


def items(case: Case, profile: str, check_id: str) -> list[ChecklistItem]:
    found = [i for i in evaluate_checklist(case, profile).items if i.check_id == check_id]
    assert found, f"no item for {check_id}"
    return found


def only(case: Case, profile: str, check_id: str) -> ChecklistItem:
    (item,) = items(case, profile, check_id)
    return item


def with_images(
    proc: Procedure, n: int = 2, guidance: Guidance = Guidance.FLUOROSCOPY
) -> Procedure:
    return proc.model_copy(update={"images_saved": n, "guidance": guidance})


def epidural(day: int, block_type: BlockType = TFESI, level: str = "L5", **kw: object) -> Procedure:
    return block(day=day, block_type=block_type, level=level, until=NO_RELIEF, **kw)  # type: ignore[arg-type]


# --- two MBBs before RFA ---------------------------------------------------------------
RFA_CASES = {
    "two lidocaine MBBs, 90 % for 0-60 min": (
        [block(day=0), block(day=14)],
        MET,
        "2 positive on separate dates",
    ),
    "lidocaine then bupivacaine, each inside its window": (
        [block(day=0), block(day=14, agent=BUPI, until=180)],
        MET,
        "2 positive on separate dates",
    ),
    "one MBB only": ([block(day=0)], NOT_MET, "Only 1 positive on separate dates (2 needed)"),
    "second MBB 60 % relief": (
        [block(day=0), block(day=14, relief_pct=60)],
        NOT_MET,
        "Only 1 positive",
    ),
    "second MBB lasts beyond lidocaine's window": (
        [block(day=0), block(day=14, until=480)],
        NOT_MET,
        "needs review",
    ),
    "two MBBs on one date count once": (
        [block(day=0), block(day=0, hour=5, agent=BUPI, until=180)],
        NOT_MET,
        "Only 1 positive",
    ),
    "second MBB diary incomplete": (
        [block(day=0), block(day=14, diary=diary_from({0: 1}))],
        NOT_RECORDED,
        "1 with an incomplete diary",
    ),
}


@pytest.mark.parametrize("name", list(RFA_CASES))
def test_two_mbbs_before_rfa(name: str) -> None:
    procs, status, words = RFA_CASES[name]
    item = only(case_of(*procs), FACET, "two-mbb-before-rfa")
    assert item.status is status, item.text
    assert words in item.reason
    assert item.subject == "L4-L5, right, facet joint"
    assert "strict-dual-80 v1.1.0" in item.reason
    assert item.citation.endswith("(verify)")


def test_rfa_check_is_per_site_and_bilateral_counts_for_each_side() -> None:
    case = case_of(block(day=0, side=BILATERAL), block(day=14, side=LEFT))
    found = {i.subject: i.status for i in items(case, FACET, "two-mbb-before-rfa")}
    assert found == {"L4-L5, left, facet joint": MET, "L4-L5, right, facet joint": NOT_MET}


def test_rfa_check_without_mbb_is_not_recorded() -> None:
    item = only(case_of(epidural(0)), FACET, "two-mbb-before-rfa")
    assert item.status is NOT_RECORDED
    assert item.reason == "No medial branch block is recorded in this case."


# --- sessions per rolling 12 months ------------------------------------------------------
SESSION_CASES = {
    "4 sessions in 12 months": ([0, 30, 60, 90], MET, "at most 4 in any rolling 12 months"),
    "5 sessions in 12 months": (
        [0, 30, 60, 90, 364],
        NOT_MET,
        "5 sessions from 2026-03-02 to 2027-03-01 (limit 4 per rolling 12 months)",
    ),
    "5 sessions over 13 months, at most 4 in a window": (
        [0, 60, 120, 180, 370],
        MET,
        "5 session(s); at most 4 in any rolling 12 months",
    ),
    "two blocks on one date are one session": ([0, 0, 30, 60, 90], MET, "4 session(s)"),
}


@pytest.mark.parametrize("name", list(SESSION_CASES))
def test_esi_sessions_per_rolling_12_months(name: str) -> None:
    days, status, words = SESSION_CASES[name]
    procs = [epidural(d, hour=n) for n, d in enumerate(days)]
    item = only(case_of(*procs), ESI, "sessions-12-months")
    assert item.status is status, item.text
    assert words in item.reason
    assert item.subject == "lumbar/sacral"


def test_sessions_are_counted_per_region() -> None:
    procs = [epidural(d, level="L5") for d in (0, 30, 60)] + [
        epidural(d, level="C6") for d in (10, 40)
    ]
    found = {i.subject: i.status for i in items(case_of(*procs), ESI, "sessions-12-months")}
    assert found == {"cervical/thoracic": MET, "lumbar/sacral": MET}


def test_selective_nerve_root_blocks_count_as_epidural_sessions() -> None:
    procs = [epidural(d, block_type=SNRB) for d in (0, 20, 40)] + [epidural(d) for d in (60, 80)]
    assert only(case_of(*procs), ESI, "sessions-12-months").status is NOT_MET


def test_facet_sessions_per_rolling_12_months() -> None:
    procs = [block(day=d) for d in (0, 14, 28, 42, 56)]
    item = only(case_of(*procs), FACET, "diagnostic-sessions-12-months")
    assert item.status is NOT_MET
    assert "5 sessions" in item.reason


# --- levels per session -------------------------------------------------------------------
def levels_block(block_type: BlockType, levels: list[str], side: Laterality = RIGHT) -> Procedure:
    injections = [Injection(level=lv, side=side, agent=LIDO, volume_ml=1.0) for lv in levels]
    return block(block_type=block_type, injections=injections, until=NO_RELIEF)


LEVEL_CASES = {
    "TFESI two levels": (ESI, levels_block(TFESI, ["L4", "L5"]), MET),
    "TFESI three levels": (ESI, levels_block(TFESI, ["L4", "L5", "S1"]), NOT_MET),
    "interlaminar two levels": (ESI, levels_block(ILESI, ["L3-L4", "L4-L5"]), NOT_MET),
    "MBB two levels bilateral": (FACET, levels_block(MBB, ["L4-L5", "L5-S1"], BILATERAL), MET),
    "MBB three levels": (FACET, levels_block(MBB, ["L3-L4", "L4-L5", "L5-S1"]), NOT_MET),
}


def test_block_types_of_one_code_family_share_the_level_limit() -> None:
    facet = case_of(levels_block(MBB, ["L4-L5", "L5-S1"]), levels_block(FACET_IA, ["L3-L4"]))
    assert only(facet, FACET, "levels-per-session").status is NOT_MET
    esi = case_of(levels_block(TFESI, ["L4", "L5"]), levels_block(SNRB, ["S1"]))
    item = only(esi, ESI, "levels-per-session")
    assert item.status is NOT_MET
    assert "3 levels of transforaminal epidural injection or selective nerve root block" in (
        item.reason
    )
    separate = case_of(levels_block(TFESI, ["L4", "L5"]), levels_block(ILESI, ["L3-L4"]))
    assert only(separate, ESI, "levels-per-session").status is MET


@pytest.mark.parametrize("name", list(LEVEL_CASES))
def test_levels_per_session(name: str) -> None:
    profile, proc, status = LEVEL_CASES[name]
    item = only(case_of(proc), profile, "levels-per-session")
    assert item.status is status, item.text


def test_levels_per_session_names_the_session_and_levels() -> None:
    item = only(case_of(levels_block(TFESI, ["L4", "L5", "S1"])), ESI, "levels-per-session")
    assert item.reason == (
        "2026-03-02 lumbar/sacral: 3 levels of transforaminal epidural injection or "
        "selective nerve root block (L4, L5, S1; limit 2)."
    )


def test_missing_level_is_not_recorded() -> None:
    proc = block(block_type=TFESI, level=None, until=NO_RELIEF)
    assert only(case_of(proc), ESI, "levels-per-session").status is NOT_RECORDED
    found = items(case_of(proc), ESI, "sessions-12-months")
    assert [(i.subject, i.status) for i in found] == [("region unknown", NOT_RECORDED)]


# --- imaging guidance ---------------------------------------------------------------------
GUIDANCE_CASES = {
    "no saved image: guidance not documented": (FACET, block(), NOT_RECORDED, "no saved image"),
    "fluoroscopy with an image": (
        FACET,
        with_images(block(), 1),
        MET,
        "All 1 procedure(s) under fluoroscopy or CT",
    ),
    "CT with images": (FACET, with_images(block(), 2, Guidance.CT), MET, "fluoroscopy or CT"),
    "ultrasound": (FACET, with_images(block(), 2, Guidance.ULTRASOUND), NOT_MET, "ultrasound"),
    "ESI with one image (two needed)": (ESI, with_images(epidural(0), 1), NOT_MET, "2 needed"),
    "ESI with two images": (ESI, with_images(epidural(0), 2), MET, "≥ 2 saved image(s)"),
}


@pytest.mark.parametrize("name", list(GUIDANCE_CASES))
def test_imaging_guidance(name: str) -> None:
    profile, proc, status, words = GUIDANCE_CASES[name]
    item = only(case_of(proc), profile, "imaging-guidance")
    assert item.status is status, item.text
    assert words in item.reason


def test_worst_procedure_decides_imaging_guidance() -> None:
    case = case_of(with_images(block(day=0), 1), block(day=14))
    item = only(case, FACET, "imaging-guidance")
    assert item.status is NOT_RECORDED
    assert item.reason.startswith("2026-03-16 medial branch block: fluoroscopy, but no saved image")


# --- scales and elements the case cannot hold -------------------------------------------
def test_pain_scores_need_a_diary() -> None:
    assert only(case_of(block()), FACET, "pain-scores").status is MET
    item = only(case_of(block(until=None)), FACET, "pain-scores")
    assert item.status is NOT_RECORDED
    assert "2026-03-02 medial branch block" in item.reason


@pytest.mark.parametrize(
    ("odi_day", "status"), [(-10, MET), (0, MET), (5, NOT_RECORDED), (None, NOT_RECORDED)]
)
def test_disability_scale_at_baseline(odi_day: int | None, status: ItemStatus) -> None:
    odi = ()
    if odi_day is not None:
        day = dt.date(2026, 3, 2) + dt.timedelta(days=odi_day)
        odi = (OdiEntry(recorded_on=day, items=(2,) * 10),)
    item = only(case_of(block(), odi=odi), FACET, "functional-deficit")
    assert item.status is status, item.text


@pytest.mark.parametrize(
    ("profile", "check_id"),
    [
        (FACET, "pain-three-months"),
        (FACET, "axial-pain"),
        (FACET, "rfa-sessions-12-months"),
        (ESI, "symptoms-four-weeks"),
        (ESI, "repeat-benefit"),
    ],
)
def test_elements_the_case_cannot_hold_are_not_recorded(profile: str, check_id: str) -> None:
    assert only(case_of(block(), epidural(3)), profile, check_id).status is NOT_RECORDED


def test_case_without_procedures_in_scope() -> None:
    checklist = evaluate_checklist(case_of(block()), ESI)
    assert checklist.sessions_in_scope == 0
    assert {i.status for i in checklist.items} == {NOT_RECORDED}


# --- wording, text, CLI ------------------------------------------------------------------
def test_checklist_names_profile_version_and_is_not_a_coverage_decision() -> None:
    checklist = evaluate_checklist(case_of(block(), block(day=14)), FACET)
    assert checklist.profile_label == "cms-lcd-l38773-facet v1.0.0"
    assert "not a coverage decision" in checklist.intro
    assert "L38773 Facet Joint Interventions for Pain Management (verify)" in checklist.intro
    text = checklist_to_text(checklist)
    assert text.startswith(CHECKLIST_HEADING + "\n")
    for item in checklist.items:
        assert f"- {item.text}\n  Source: {item.citation}\n" in text


def test_cli_prints_the_engine_checklist(tmp_path: Path) -> None:
    case = case_of(block(), block(day=14), *(epidural(d) for d in (30, 40, 50, 60, 70)))
    path = save_case_file(case, tmp_path / "case.blockplan.json")
    runner = CliRunner()
    text = runner.invoke(main, ["outcomes", str(path), "--payer", FACET, "--payer", ESI])
    assert text.exit_code == 0, text.output
    expected = [evaluate_checklist(case, FACET), evaluate_checklist(case, ESI)]
    assert text.output == "\n".join(checklist_to_text(c) for c in expected)
    assert "NOT MET: At most four epidural sessions" in text.output
    as_json = runner.invoke(main, ["outcomes", str(path), "--payer", ESI, "--json"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output) == [expected[1].model_dump(mode="json")]


def test_cli_unknown_payer_profile_is_one_line(tmp_path: Path) -> None:
    path = save_case_file(case_of(block()), tmp_path / "case.blockplan.json")
    result = CliRunner().invoke(main, ["outcomes", str(path), "--payer", "no-such"])
    assert result.exit_code == 2
    assert "no shipped payer profile named 'no-such'" in result.output
    assert "Traceback" not in result.output
