"""Validity flags, block verdicts and comparative pair classes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from blockplan.case.model import Injection, Procedure
from blockplan.case.vocab import BlockType, Laterality, Structure
from blockplan.outcomes.adjudication import (
    BlockRole,
    PairClass,
    SourceKey,
    Verdict,
    adjudicate,
    adjudicate_block,
    comparative_pairs,
)
from blockplan.outcomes.profiles import (
    FlagCode,
    ReviewCode,
    Severity,
    load_profile,
    profile_path,
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
    ROPI,
    SALINE,
    SIJ,
    SNRB,
    TFESI,
    block,
    case_of,
    diary_from,
    profile,
    relief_diary,
    target,
)


def verdict(proc: Procedure, profile_name: str = "asra-2020-single", **case_kw: object):
    case = case_of(proc, **case_kw)  # type: ignore[arg-type]
    return adjudicate_block(case, proc, profile(profile_name))


# --- validity flags --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kw", "code", "severity", "expected"),
    [
        ({"sedation": True}, FlagCode.SEDATION, Severity.INVALID, Verdict.NOT_DIAGNOSTIC),
        ({"steroid": True}, FlagCode.STEROID, Severity.INVALID, Verdict.NOT_DIAGNOSTIC),
        (
            {"diary": diary_from({0: 0, 15: 0, 30: 0}, baseline=0)},
            FlagCode.BASELINE_NRS_ZERO,
            Severity.INVALID,
            Verdict.NOT_DIAGNOSTIC,
        ),
        (
            {"intravascular": True},
            FlagCode.INTRAVASCULAR_WITHOUT_DSA,
            Severity.WARNING,
            Verdict.POSITIVE,  # a warning only
        ),
    ],
    ids=["sedation", "steroid", "baseline-0", "intravascular-no-dsa"],
)
def test_validity_flags(
    kw: dict[str, object], code: FlagCode, severity: Severity, expected: Verdict
) -> None:
    for name in ("asra-2020-single", "strict-dual-80", "comparative", "placebo-controlled"):
        result = verdict(block(**kw), name)  # type: ignore[arg-type]
        assert [(f.code, f.severity) for f in result.flags] == [(code, severity)]
        assert result.verdict is expected
        assert result.is_valid is (expected is Verdict.POSITIVE)


def test_intravascular_with_dsa_is_not_flagged() -> None:
    assert verdict(block(intravascular=True, dsa=True)).flags == ()


def test_sedation_message_cites_the_false_positive_rise() -> None:
    result = verdict(block(sedation=True))
    assert "54 % to 70 %" in result.flags[0].message
    assert "counts as no evidence" in result.reasons[-1]


# (block type, volume mL, branches, over the cap?) — at and just above each §2 cap.
VOLUMES = [
    (MBB, 0.5, 1, False),
    (MBB, 0.51, 1, True),
    (MBB, 1.0, 2, False),
    (MBB, 1.02, 2, True),
    (FACET_IA, 1.49, 1, False),
    (FACET_IA, 1.5, 1, True),  # facet intra-articular must stay below 1.5 mL
    (SNRB, 0.75, 1, False),
    (SNRB, 0.76, 1, True),
    (SIJ, 2.0, 1, False),
    (SIJ, 2.01, 1, True),
]


@pytest.mark.parametrize(("block_type", "volume", "branches", "over"), VOLUMES)
def test_volume_caps(block_type: BlockType, volume: float, branches: int, over: bool) -> None:
    proc = block(block_type=block_type, volume_ml=volume, branches=branches, movements=True)
    result = verdict(proc)
    codes = [f.code for f in result.flags]
    assert codes == ([FlagCode.OVER_VOLUME] if over else [])
    assert result.verdict is (Verdict.NOT_DIAGNOSTIC if over else Verdict.POSITIVE)


def test_volume_summed_per_site() -> None:
    def inj(volume: float) -> Injection:
        return Injection(level=None, side=RIGHT, agent=LIDO, volume_ml=volume)

    ok = block(block_type=SIJ, injections=[inj(1.0), inj(1.0)])
    over = block(block_type=SIJ, injections=[inj(1.5), inj(1.0)])
    assert verdict(ok).flags == ()
    flags = verdict(over).flags
    assert [f.code for f in flags] == [FlagCode.OVER_VOLUME]
    assert "2.50 mL at –, right, sacroiliac joint" in flags[0].message


def _variant(tmp_path: Path, base: str, **changes: object):
    data = json.loads(profile_path(base).read_text())
    data.update(name=f"{base}-variant", **changes)
    path = tmp_path / "variant.json"
    path.write_text(json.dumps(data))
    return load_profile(path)


def test_a_profile_can_turn_a_flag_into_a_warning(tmp_path: Path) -> None:
    flags = dict.fromkeys(FlagCode, "invalid") | {"sedation": "warning"}
    variant = _variant(tmp_path, "asra-2020-single", flags=flags)
    proc = block(sedation=True)
    result = adjudicate_block(case_of(proc), proc, variant)
    assert result.flags[0].severity is Severity.WARNING
    assert result.verdict is Verdict.POSITIVE
    # …and the shipped profile still refuses it.
    assert verdict(proc).verdict is Verdict.NOT_DIAGNOSTIC


def test_baseline_zero_as_warning_is_still_not_diagnostic(tmp_path: Path) -> None:
    flags = dict.fromkeys(FlagCode, "invalid") | {"baseline_nrs_zero": "warning"}
    variant = _variant(tmp_path, "asra-2020-single", flags=flags)
    proc = block(diary=diary_from({0: 0, 15: 0}, baseline=0))
    result = adjudicate_block(case_of(proc), proc, variant)
    assert result.verdict is Verdict.NOT_DIAGNOSTIC
    assert "undefined" in result.reasons[-1]


# --- verdicts --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("relief", "asra", "strict"),
    [
        (40, Verdict.NEGATIVE, Verdict.NEGATIVE),
        (50, Verdict.POSITIVE, Verdict.NEGATIVE),
        (70, Verdict.POSITIVE, Verdict.NEGATIVE),
        (80, Verdict.POSITIVE, Verdict.POSITIVE),
        (100, Verdict.POSITIVE, Verdict.POSITIVE),
    ],
)
def test_thresholds_exactly_50_and_80(relief: float, asra: Verdict, strict: Verdict) -> None:
    proc = block(until=60, relief_pct=relief)
    assert verdict(proc, "asra-2020-single").verdict is asra
    assert verdict(proc, "strict-dual-80").verdict is strict


def test_failing_the_bar_says_so() -> None:
    result = verdict(block(relief_pct=70), "strict-dual-80")
    assert "peak relief 70 % stays below the 80 % threshold" in result.reasons


@pytest.mark.parametrize(
    ("agent", "until", "expected"),
    [
        (LIDO, 15, Verdict.NEGATIVE),  # 0–15 min: not sustained
        (LIDO, 30, Verdict.POSITIVE),  # window 30–120 includes 30
        (LIDO, 120, Verdict.POSITIVE),
        # longer than lidocaine's window: needs review (v1.1; it was negative in v1.0)
        (LIDO, 180, Verdict.NEEDS_REVIEW),
        (BUPI, 60, Verdict.NEGATIVE),  # shorter than bupivacaine's window
        (BUPI, 120, Verdict.POSITIVE),
        (BUPI, 240, Verdict.POSITIVE),
        (BUPI, 300, Verdict.NEEDS_REVIEW),
        (ROPI, 180, Verdict.POSITIVE),
    ],
)
def test_strict_duration_consistent_with_agent(agent, until: int, expected: Verdict) -> None:
    result = verdict(block(agent=agent, until=until), "strict-dual-80")
    assert result.verdict is expected
    if until >= 30:
        assert result.duration_consistent is (expected is Verdict.POSITIVE)
    # asra does not look at the agent's window
    assert verdict(block(agent=agent, until=until)).verdict is (
        Verdict.POSITIVE if until >= 30 else Verdict.NEGATIVE
    )


def test_dip_and_recovery_needs_review_with_reason() -> None:
    # v1.1: a dip that decides the block is put up for review (it was a silent negative)
    diary = diary_from({0: 1, 15: 1, 30: 8, 60: 1, 120: 1, 180: 1})
    result = verdict(block(diary=diary))
    assert result.verdict is Verdict.NEEDS_REVIEW and result.provisional is Verdict.NEGATIVE
    assert any("again at 60 min after a dip" in r for r in result.reasons)
    assert any(
        r.startswith("needs review: relief ≥ 50 % from 0 min dipped") for r in result.reasons
    )


def test_missing_point_that_decides_a_final_diary_needs_review() -> None:
    # final (an NRS at 120 min, the end of lidocaine's window); the missing 15-min point
    # decides: v1.1 puts it up for review (it was negative)
    result = verdict(block(diary=diary_from({0: 1, 30: 1, 60: 1, 120: 1})))
    assert result.diary_final is True
    assert result.verdict is Verdict.NEEDS_REVIEW and result.provisional is Verdict.NEGATIVE
    assert result.missing_min == (15,)
    assert any("missing diary point (15 min)" in r for r in result.reasons)
    assert [f.code for f in result.flags] == [ReviewCode.MISSING_POINT_DECIDES]


@pytest.mark.parametrize(
    ("profile_name", "movements", "expected"),
    [
        ("strict-dual-80", True, Verdict.POSITIVE),
        ("strict-dual-80", False, Verdict.NEGATIVE),
        ("strict-dual-80", None, Verdict.PENDING),
        ("sij", True, Verdict.POSITIVE),
        ("sij", False, Verdict.NEGATIVE),
        ("sij", None, Verdict.PENDING),
        ("asra-2020-single", None, Verdict.POSITIVE),
        ("asra-2020-single", False, Verdict.POSITIVE),
    ],
)
def test_sij_movement_requirement(profile_name: str, movements, expected: Verdict) -> None:
    proc = block(block_type=SIJ, level=None, until=60, movements=movements)
    assert verdict(proc, profile_name).verdict is expected


def test_sij_profile_does_not_adjudicate_other_structures() -> None:
    result = verdict(block(), "sij")
    assert result.verdict is Verdict.NOT_APPLICABLE
    assert "adjudicates only sacroiliac joint" in result.reasons[-1]


def test_therapeutic_block_type_not_applicable() -> None:
    result = verdict(block(block_type=TFESI, level="L5"))
    assert result.verdict is Verdict.NOT_APPLICABLE


def test_no_diary_is_pending() -> None:
    result = verdict(block(until=None))
    assert result.verdict is Verdict.PENDING and result.run is None


def test_no_nrs_recorded_is_pending() -> None:
    assert verdict(block(diary=diary_from({0: None}))).verdict is Verdict.PENDING


@pytest.mark.parametrize(
    ("profile_name", "until", "expected"),
    [
        ("asra-2020-single", 0, Verdict.PLACEBO_RESPONSE),  # reached 50 % once
        ("asra-2020-single", NO_RELIEF, Verdict.NO_PLACEBO_RESPONSE),
        ("placebo-controlled", 60, Verdict.PLACEBO_RESPONSE),
    ],
)
def test_saline_control(profile_name: str, until: int, expected: Verdict) -> None:
    result = verdict(block(agent=SALINE, until=until), profile_name)
    assert result.role is BlockRole.CONTROL
    assert result.verdict is expected


def test_saline_in_an_anaesthetic_session_is_ignored() -> None:
    injections = [
        Injection(level="L4-L5", side=RIGHT, agent=LIDO, volume_ml=0.5),
        Injection(level="L5-S1", side=RIGHT, agent=SALINE, volume_ml=0.5),
    ]
    result = verdict(block(injections=injections))
    assert result.role is BlockRole.ANAESTHETIC
    assert [k.level for k in result.sites] == ["L4-L5"]
    assert "saline injected in the same session is ignored" in result.reasons


# --- evidence keys ---------------------------------------------------------------------
def test_key_from_target_when_target_id_set() -> None:
    t = target("L5", LEFT, Structure.NERVE_ROOT, SNRB)
    proc = block(block_type=SNRB, level="L4", side=RIGHT, target_id="t1")
    result = verdict(proc, targets=[t])
    assert result.sites == (
        SourceKey(structure=Structure.NERVE_ROOT, level="L5", side=Laterality.LEFT),
    )


def test_key_from_injection_and_block_type() -> None:
    result = verdict(block(block_type=SIJ, level="S1", side=LEFT))
    # a sacroiliac joint has no level
    assert result.sites == (SourceKey(structure=Structure.SACROILIAC_JOINT, side=LEFT),)


def test_bilateral_injection_tests_both_sides() -> None:
    result = verdict(block(side=BILATERAL, branches=2, volume_ml=1.0))
    assert [k.side for k in result.sites] == [LEFT, RIGHT]


# --- comparative pairs -----------------------------------------------------------------
PAIRS = [
    # lidocaine until, bupivacaine until → class under `comparative`
    (60, 180, PairClass.CONCORDANT),
    (120, 240, PairClass.CONCORDANT),
    (180, 240, PairClass.CONCORDANT),  # bupivacaine not beyond its window
    (180, 300, PairClass.CONCORDANT_PROLONGED),
    (360, 1440, PairClass.CONCORDANT_PROLONGED),
    (120, 120, PairClass.DISCORDANT),  # as long
    (180, 120, PairClass.DISCORDANT),  # longer
    (NO_RELIEF, 180, PairClass.NEGATIVE),
    (60, NO_RELIEF, PairClass.NEGATIVE),
]


@pytest.mark.parametrize(("lido", "bupi", "expected"), PAIRS)
def test_pair_classes(lido: int, bupi: int, expected: PairClass) -> None:
    case = case_of(block(day=0, agent=LIDO, until=lido), block(day=7, agent=BUPI, until=bupi))
    pairs = comparative_pairs(adjudicate(case, profile("comparative")), profile("comparative"))
    assert [p.pair_class for p in pairs] == [expected]
    pair = pairs[0]
    assert pair.counts_positive is (expected is PairClass.CONCORDANT)
    assert pair.doubt is (expected in (PairClass.DISCORDANT, PairClass.CONCORDANT_PROLONGED))


def test_prolonged_counts_when_the_profile_says_so() -> None:
    case = case_of(block(day=0, agent=LIDO, until=180), block(day=7, agent=BUPI, until=300))
    p = profile("placebo-controlled")
    (pair,) = comparative_pairs(adjudicate(case, p), p)
    assert pair.pair_class is PairClass.CONCORDANT_PROLONGED
    assert pair.counts_positive and not pair.doubt


@pytest.mark.parametrize(
    "second",
    [
        block(day=0, hour=3, agent=BUPI, until=180),  # same day
        block(day=7, agent=BUPI, until=180, side=LEFT),  # other site
        block(day=7, agent=LIDO, until=180),  # same agent class
        block(day=7, agent=BUPI, until=180, sedation=True),  # not diagnostic
    ],
    ids=["same-day", "other-site", "same-class", "invalid"],
)
def test_no_pair(second: Procedure) -> None:
    case = case_of(block(day=0, agent=LIDO, until=60), second)
    p = profile("comparative")
    assert comparative_pairs(adjudicate(case, p), p) == ()


def test_blocks_are_numbered_chronologically() -> None:
    late, early = block(day=5), block(day=1)
    results = adjudicate(case_of(late, early), profile("asra-2020-single"))
    assert [r.procedure_id for r in results] == [early.id, late.id]
    assert [r.number for r in results] == [1, 2]
    assert results[0].label.startswith("block #1 (2026-03-03, medial branch block, lidocaine")


def test_relief_diary_helper_sanity() -> None:
    d = relief_diary(60, 80)
    assert [e.nrs for e in d.entries][:5] == [2, 2, 2, 2, 10]


def test_a_site_whose_level_is_not_known_yet_says_so() -> None:
    """A target placed before the level markers tests a root of unknown level: the ledger,
    the Outcomes panel and the report's pain-source table read "–, left, nerve root", which
    looked like a level-less structure (an SIJ); they now say the level is unassigned."""
    root = SourceKey(structure=Structure.NERVE_ROOT, level=None, side=Laterality.LEFT)
    assert root.label == "level unassigned, left, nerve root"
    sij = SourceKey(structure=Structure.SACROILIAC_JOINT, level=None, side=Laterality.RIGHT)
    assert sij.label == "–, right, sacroiliac joint"  # an SIJ has no level
    disc = SourceKey(structure=Structure.DISC, level="L4-L5", side=None)
    assert disc.label == "L4-L5, –, disc"  # a disc has no side
