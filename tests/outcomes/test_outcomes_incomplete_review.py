"""Evidence that is not complete yet (shared/DOMAIN.md §9), issue 15 points 1, 2 and 6.

Each situation of the issue is a row: an incomplete diary is *pending* (with the missing
times), readings that must not be scored silently *need review* (with the reason), pair
classes come from the relief runs, suggestions wait for complete evidence, and every
decision names the profile and version once (its status text), its reasons not again.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from blockplan.case.model import PainDiary, Procedure
from blockplan.case.vocab import Structure
from blockplan.outcomes import (
    PairClass,
    SourceKey,
    Status,
    Verdict,
    adjudicate_block,
    build_ledger,
    list_profiles,
    load_profile,
)
from blockplan.outcomes.adjudication import diary_is_final
from blockplan.outcomes.profiles import PairEffect, ReviewCode, Severity, profile_path
from blockplan.outcomes.reevaluation import REEVALUATION_RULES
from blockplan.outcomes.text import ledger_to_text
from tests.outcomes._factory import (
    BILATERAL,
    BUPI,
    LEFT,
    LIDO,
    MBB,
    NO_RELIEF,
    RIGHT,
    SALINE,
    SCHEDULE,
    SIJ,
    SNRB,
    block,
    case_of,
    diary_from,
    profile,
    target,
)

PROFILES = ("asra-2020-single", "strict-dual-80", "comparative", "placebo-controlled")
FACET_R = SourceKey(structure=Structure.FACET_JOINT, level="L4-L5", side=RIGHT)
FACET_L = SourceKey(structure=Structure.FACET_JOINT, level="L4-L5", side=LEFT)
ROOT = SourceKey(structure=Structure.NERVE_ROOT, level="L5", side=RIGHT)
C, P, IND, X = Status.CONFIRMED, Status.PROBABLE, Status.INDETERMINATE, Status.EXCLUDED
R, W = Status.NEEDS_REVIEW, Status.PENDING
POS, NEG, PEND, REV = Verdict.POSITIVE, Verdict.NEGATIVE, Verdict.PENDING, Verdict.NEEDS_REVIEW


def full(values: dict[int, int], rest: int = 8) -> dict[int, int]:
    """Every scheduled point: ``values`` where given, ``rest`` (no relief) elsewhere."""
    return {t: values.get(t, rest) for t in SCHEDULE}


def verdicts(proc: Procedure) -> tuple[Verdict, ...]:
    case = case_of(proc)
    return tuple(adjudicate_block(case, proc, profile(n)).verdict for n in PROFILES)


# --- 1. incomplete diaries are pending, with the missing times -------------------------
INCOMPLETE = [
    # diary, agent, (asra, strict, comparative, placebo), missing times
    pytest.param(
        diary_from({0: 1}, baseline=8), LIDO, (PEND,) * 4, (15, 30, 60, 120), id="0-min-only"
    ),
    pytest.param(
        diary_from({0: 1, 30: 1, 60: 1}, baseline=8),
        LIDO,
        (PEND,) * 4,
        (15, 120),
        id="clinic-diary-without-15-min",
    ),
    pytest.param(
        diary_from({0: 7, 15: 6, 30: 5, 60: 4, 180: 1}, baseline=8),
        BUPI,
        (PEND,) * 4,
        (120, 240),
        id="bupivacaine-without-120-min",
    ),
    # relief 0–60 min already decides the 50 % profiles; the 80 % profile with agent
    # durations needs the bupivacaine window (120–240 min) to decide
    pytest.param(
        diary_from({0: 1, 15: 1, 30: 1, 60: 1}, baseline=8),
        BUPI,
        (POS, PEND, POS, POS),
        (120, 180, 240),
        id="bupivacaine-stops-at-60-min",
    ),
    # final (an NRS at the end of lidocaine's window): scored, nothing decisive missing
    pytest.param(
        diary_from({0: 1, 15: 1, 30: 1, 60: 1, 120: 8}, baseline=8),
        LIDO,
        (POS,) * 4,
        (),
        id="final-at-window-end",
    ),
]


@pytest.mark.parametrize(("diary", "agent", "expected", "missing"), INCOMPLETE)
def test_incomplete_diary_is_pending_with_missing_times(
    diary: PainDiary, agent, expected: tuple[Verdict, ...], missing: tuple[int, ...]
) -> None:
    proc = block(agent=agent, diary=diary)
    assert verdicts(proc) == expected
    case = case_of(proc, targets=[target("L4-L5", RIGHT, Structure.FACET_JOINT, MBB)])
    for name, want in zip(PROFILES, expected, strict=True):
        ledger = build_ledger(case, profile(name))
        result = ledger.block(1)
        if want is PEND:
            assert result.missing_min == missing
            assert result.provisional is NEG  # what the old engine silently reported
            assert result.awaiting == "NRS at " + ", ".join(map(str, missing)) + " min"
            source = ledger.source(FACET_R)
            assert source.status is W and source.pending == (1,)
            assert source.status_text.startswith(f"pending under {name} v1.1.0")
            assert any(
                s.startswith("complete the record of block #1 (NRS at") for s in source.settle
            )
            # never "not supported", and no re-imaging / psychosocial screening
            assert ledger.suggestions == ()
            text = ledger_to_text(ledger)
            assert f"missing: {', '.join(map(str, missing))} min" in text
            assert "not supported as a pain source" not in text


def test_the_diary_counts_as_final_at_the_window_end_or_the_last_scheduled_point() -> None:
    strict = profile("strict-dual-80")
    assert not diary_is_final(diary_from({0: 1, 60: 1}), strict, (LIDO,))
    assert diary_is_final(diary_from({0: 1, 120: 1}), strict, (LIDO,))
    assert not diary_is_final(diary_from({0: 1, 120: 1}), strict, (BUPI,))
    assert diary_is_final(diary_from({0: 1, 240: 1}), strict, (BUPI,))
    # saline has no window: the longest of the profile's agents (240 min)
    assert not diary_is_final(diary_from({0: 1, 120: 1}), strict, (SALINE,))
    # a recorded time without an NRS does not close the diary
    assert not diary_is_final(diary_from({0: 1, 1440: None}), strict, (BUPI,))


def test_a_missing_point_that_decides_a_final_diary_needs_review() -> None:
    # bupivacaine, relief 0–60 and 180–240 min, the 120-min point missing, NRS to 1440 min
    diary = diary_from({**full({0: 1, 15: 1, 30: 1, 60: 1, 180: 1, 240: 1}), 120: None})
    proc = block(agent=BUPI, diary=diary)
    result = adjudicate_block(case_of(proc), proc, profile("strict-dual-80"))
    assert result.diary_final and result.verdict is REV and result.missing_min == (120,)
    assert [f.code for f in result.flags] == [ReviewCode.MISSING_POINT_DECIDES]
    assert "no NRS at 120 min in a diary that counts as final" in result.flags[0].message


# --- 1. readings to review --------------------------------------------------------------
DIP_AND_RECOVER = diary_from(full({0: 1, 15: 6, 30: 1, 60: 1, 120: 1, 180: 6}), baseline=8)
REVIEW = [
    # procedure, (asra, strict, comparative, placebo), review code, words in the reason
    pytest.param(
        block(agent=BUPI, until=480),
        (POS, REV, POS, POS),
        ReviewCode.PROLONGED_RELIEF,
        "lasted to 480 min, beyond the 120–240 min expected for bupivacaine",
        id="bupivacaine-beyond-its-window",
    ),
    pytest.param(
        block(diary=DIP_AND_RECOVER),
        (REV,) * 4,
        ReviewCode.DIP_AND_RECOVER,
        "dipped below it at 15 min and recovered at 30 min",
        id="soreness-at-15-then-88-percent-30-to-120",
    ),
    pytest.param(
        block(diary=diary_from(full({0: 1, 15: 1, 30: 1, 60: 1}, rest=2), baseline=2)),
        (REV,) * 4,
        ReviewCode.LOW_BASELINE,
        "baseline NRS 2/10 is below 4/10: 50 % relief is a change of only 1 NRS point",
        id="baseline-2-to-1",
    ),
    pytest.param(
        block(block_type=SNRB, level="L5", volume_ml=0.1),
        (REV,) * 4,
        ReviewCode.VOLUME_OUTSIDE_USUAL_RANGE,
        "0.10 mL at L5, right, nerve root is below the usual 0.3–0.75 mL",
        id="snrb-0.1-ml",
    ),
]


@pytest.mark.parametrize(("proc", "expected", "code", "words"), REVIEW)
def test_readings_to_review_are_flagged_with_the_reason(
    proc: Procedure, expected: tuple[Verdict, ...], code: ReviewCode, words: str
) -> None:
    assert verdicts(proc) == expected
    case = case_of(proc)
    for name, want in zip(PROFILES, expected, strict=True):
        ledger = build_ledger(case, profile(name))
        result = ledger.block(1)
        flag = next(f for f in result.flags if f.code is code)
        assert words in flag.message
        if want is REV:
            assert flag.severity is Severity.REVIEW
            assert any(r == f"needs review: {flag.message}" for r in result.reasons)
            assert result.short_verdict.startswith("needs review: ")
            (source,) = [s for s in ledger.sources if s.sites == result.sites]
            # shown for review, never silently excluded
            assert source.status is R and source.review == (1,)
            assert any(r.startswith("the other blocks alone:") for r in source.reasons)
            assert source.settle and ledger.suggestions == ()
        else:
            assert flag.severity is Severity.WARNING  # shown, still counted


def test_strict_prolonged_relief_is_no_longer_a_negative() -> None:
    # v1.0 read relief beyond bupivacaine's window as a negative: the source was excluded
    ledger = build_ledger(case_of(block(agent=BUPI, until=480)), profile("strict-dual-80"))
    assert ledger.block(1).provisional is NEG
    assert ledger.source(FACET_R).status is R


def test_a_profile_can_turn_a_review_into_a_warning(tmp_path: Path) -> None:
    data = json.loads(profile_path("strict-dual-80").read_text())
    data.update(name="strict-local")
    data["review"]["prolonged_relief"] = "warning"
    path = tmp_path / "strict-local.json"
    path.write_text(json.dumps(data))
    proc = block(agent=BUPI, until=480)
    result = adjudicate_block(case_of(proc), proc, load_profile(path))
    assert result.verdict is NEG  # the profile's own choice: still scored, flag shown
    assert [f.severity for f in result.flags] == [Severity.WARNING]


def test_volume_ranges_hold_the_typical_volumes() -> None:
    from blockplan.case.limits import TYPICAL_VOLUME_ML

    for name in list_profiles():
        p = profile(name)
        for block_type, usual in p.usual_volume_ml.items():
            assert usual.contains(TYPICAL_VOLUME_ML[block_type]), (name, block_type)
            cap = p.volume_caps[block_type]
            assert usual.max_ml == cap.max_ml and usual.per_branch == cap.per_branch


# --- 2. pair classes from the relief runs -----------------------------------------------
PAIRS = [
    # lidocaine until, bupivacaine until, class, (asra, strict, comparative, placebo)
    pytest.param(180, 60, PairClass.DISCORDANT, (C, IND, IND, IND), id="discordant-lido-longer"),
    pytest.param(180, 360, PairClass.CONCORDANT_PROLONGED, (C, R, IND, P), id="both-prolonged"),
    pytest.param(60, 180, PairClass.CONCORDANT, (C, C, C, P), id="concordant"),
    pytest.param(NO_RELIEF, 180, PairClass.NEGATIVE, (IND, IND, X, X), id="negative"),
]


@pytest.mark.parametrize(("lido", "bupi", "cls", "expected"), PAIRS)
def test_pair_class_comes_from_the_runs_and_each_profile_says_what_it_does(
    lido: int, bupi: int, cls: PairClass, expected: tuple[Status, ...]
) -> None:
    case = case_of(block(day=0, agent=LIDO, until=lido), block(day=7, agent=BUPI, until=bupi))
    for name, want in zip(PROFILES, expected, strict=True):
        ledger = build_ledger(case, profile(name))
        (pair,) = ledger.pairs
        assert pair.pair_class is cls
        effect = profile(name).pair_effect(cls)
        assert pair.effect is effect
        assert pair.profile == f"{name} v1.1.0"
        assert f": {cls.text}" in pair.reason, pair.reason
        assert pair.reason.endswith(f" — {effect.text}"), pair.reason
        assert ledger.source(FACET_R).status is want, (name, ledger.source(FACET_R).reasons)


def test_strict_discordant_pair_from_failed_durations_is_indeterminate_not_excluded() -> None:
    # ≥ 80 % relief with both agents; lidocaine (to 180 min) outlasts bupivacaine (to 60):
    # both fail the agent-duration test, which made v1.0 class the pair "negative" and
    # exclude the source
    case = case_of(block(day=0, agent=LIDO, until=180), block(day=7, agent=BUPI, until=60))
    ledger = build_ledger(case, profile("strict-dual-80"))
    assert [b.verdict for b in ledger.blocks] == [REV, NEG]
    assert ledger.pairs[0].pair_class is PairClass.DISCORDANT
    assert ledger.source(FACET_R).status is IND


def test_every_profile_states_an_effect_for_every_pair_class() -> None:
    expected = {
        "asra-2020-single": ("noted", "noted", "noted", "noted"),
        "strict-dual-80": ("noted", "needs_review", "indeterminate", "noted"),
        "comparative": ("counts_positive", "indeterminate", "indeterminate", "counts_negative"),
        "placebo-controlled": (
            "counts_positive",
            "counts_positive",
            "indeterminate",
            "counts_negative",
        ),
        "sij": ("noted", "noted", "indeterminate", "noted"),
    }
    for name in list_profiles():
        data = json.loads(profile_path(name).read_text())
        assert set(data["pair_classes"]) == {c.value for c in PairClass}
        got = tuple(profile(name).pair_effect(c).value for c in PairClass)
        assert got == expected[name]


def test_former_pair_switches_still_load(tmp_path: Path) -> None:
    data = json.loads(profile_path("comparative").read_text())
    del data["pair_classes"]
    data.update(name="old-comparative", concordant_prolonged_counts_positive=True)
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data))
    old = load_profile(path)
    assert old.pair_effect(PairClass.CONCORDANT_PROLONGED) is PairEffect.COUNTS_POSITIVE
    assert old.pair_effect(PairClass.DISCORDANT) is PairEffect.INDETERMINATE
    assert old.pair_effect(PairClass.NEGATIVE) is PairEffect.COUNTS_NEGATIVE


def test_a_pending_block_makes_no_pair() -> None:
    pending = block(day=7, agent=BUPI, diary=diary_from({0: 1}))
    ledger = build_ledger(case_of(block(day=0, agent=LIDO), pending), profile("comparative"))
    assert ledger.pairs == () and ledger.source(FACET_R).status is W


# --- suggestions wait for complete evidence ----------------------------------------------
def test_a_single_negative_block_does_not_suggest_reimaging() -> None:
    ledger = build_ledger(case_of(block(until=NO_RELIEF)), profile("asra-2020-single"))
    assert ledger.suggestions == ()
    # worded as the work-up threshold, not as the profile's confirmation rule (one block)
    assert any("1 of the 2 valid diagnostic blocks this profile wants" in n for n in ledger.notes)


def test_a_pending_block_holds_back_reimaging() -> None:
    negatives = (block(day=0, until=NO_RELIEF), block(day=3, agent=BUPI, until=NO_RELIEF))
    pending = block(day=5, side=LEFT, diary=diary_from({0: 1}))
    ledger = build_ledger(case_of(*negatives, pending), profile("asra-2020-single"))
    assert ledger.source(FACET_R).status is X and ledger.source(FACET_L).status is W
    assert ledger.suggestions == ()
    assert any("block #3 pending" in n for n in ledger.notes)
    complete = build_ledger(case_of(*negatives), profile("asra-2020-single"))
    assert [s.rule for s in complete.suggestions] == ["nothing_confirmed"]


def test_an_untested_planned_target_holds_back_reimaging() -> None:
    negatives = (block(day=0, until=NO_RELIEF), block(day=3, agent=BUPI, until=NO_RELIEF))
    sij = target(None, LEFT, Structure.SACROILIAC_JOINT, SIJ)
    ledger = build_ledger(case_of(*negatives, targets=[sij]), profile("asra-2020-single"))
    assert ledger.suggestions == ()


def test_rfa_is_not_suggested_for_an_excluded_side() -> None:
    both = block(day=0, side=BILATERAL, branches=2, volume_ml=1.0)
    right_negative = block(day=3, side=RIGHT, until=NO_RELIEF)
    ledger = build_ledger(case_of(both, right_negative), profile("asra-2020-single"))
    assert ledger.source(FACET_L, FACET_R).status is C and ledger.source(FACET_R).status is X
    (rfa,) = [s for s in ledger.suggestions if s.rule == "facet_rfa"]
    assert rfa.sources == (
        "L4-L5, left, facet joint (of the confirmed L4-L5, left + right, facet joint; "
        "L4-L5 right facet joint not supported)",
    )


def test_confirmed_sij_source_gets_a_cited_suggestion() -> None:
    sij = block(block_type=SIJ, level=None, until=120, movements=True)
    ledger = build_ledger(case_of(sij), profile("asra-2020-single"))
    (suggestion,) = ledger.suggestions
    assert suggestion.rule == "sij_rfa" and suggestion.sources == ("–, right, sacroiliac joint",)
    assert "Anesthesiology 2008;109:279-288" in suggestion.citation
    assert "no treatment of sacroiliac joint pain after spine surgery is established" in (
        suggestion.text
    )


def test_a_given_saline_control_is_never_reported_as_missing() -> None:
    lido, bupi = block(day=0, agent=LIDO), block(day=7, agent=BUPI, until=180)
    same_day = block(day=7, hour=3, agent=SALINE, until=NO_RELIEF)
    ledger = build_ledger(case_of(lido, bupi, same_day), profile("placebo-controlled"))
    source = ledger.source(FACET_R)
    assert source.status is P
    assert not any("no saline control yet" in r for r in source.reasons)
    assert any(
        "saline control block #3 was on the day of an anaesthetic block" in r
        for r in source.reasons
    )


# --- 6. every decision names the profile and version ------------------------------------
CASES = [
    case_of(
        block(day=0),
        block(day=7, agent=BUPI, until=180),
        block(day=9, agent=SALINE, until=NO_RELIEF),
    ),
    case_of(block(day=0, agent=LIDO, until=180), block(day=7, agent=BUPI, until=60)),
    case_of(
        block(day=0, diary=diary_from({0: 1})),
        block(day=2, block_type=SNRB, level="L5", volume_ml=0.1),
    ),
    case_of(block(day=0, until=NO_RELIEF), block(day=4, agent=BUPI, until=NO_RELIEF)),
    case_of(
        block(block_type=SIJ, level=None, until=120, movements=True),
        block(day=3, side=BILATERAL, branches=2, volume_ml=1.0),
    ),
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("name", list_profiles())
def test_every_decision_names_the_profile_and_version(case, name: str) -> None:
    """Once per source (its status text), not in every reason (a physician's complaint:
    the report's "Sources in detail" named the profile in every line)."""
    label = f"{name} v1.1.0"
    ledger = build_ledger(case, profile(name))
    for source in ledger.sources:
        assert label in source.status_text, source.status_text
        assert not any(r.startswith(f"{label}: ") for r in source.reasons), source.reasons
    for pair in ledger.pairs:
        assert pair.profile == label and label not in pair.reason, pair.reason
    for suggestion in ledger.suggestions:
        assert suggestion.profile == label, suggestion.profile
        # named once (the profile field, printed above the suggestions), not in the words
        assert suggestion.condition == REEVALUATION_RULES[suggestion.rule][0], suggestion
        assert label not in suggestion.condition and label not in suggestion.text
    for note in ledger.notes:
        if note.startswith("re-imaging and psychosocial screening are not suggested yet"):
            assert label not in note and "the work-up is still open (" in note, note
    for result in ledger.blocks:
        assert result.profile == label and result.verdict_text.endswith(f"under {label}")
    text = ledger_to_text(ledger)
    assert all(f"— {b.verdict.text.upper()} under {label}" in text for b in ledger.blocks)
