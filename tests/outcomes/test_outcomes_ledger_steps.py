"""Each decision step of the ledger on its own (blockplan.outcomes.decisions)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest

from blockplan.case.model import Procedure
from blockplan.case.vocab import Structure
from blockplan.outcomes.adjudication import SourceKey, adjudicate, comparative_pairs
from blockplan.outcomes.decisions import (
    CONFIRMATION_STEPS,
    Decision,
    SourceBlocks,
    awaiting_complementary_agent,
    block_notes,
    decide_comparative,
    decide_dual,
    decide_pairs,
    decide_placebo_controlled,
    decide_single,
    doubtful_pair,
    gather_evidence,
    mixed_results,
    negative_mixed_or_none,
    negative_only,
    no_valid_evidence,
    out_of_profile_scope,
    placebo_response,
    positive_days,
    saline_control,
)
from blockplan.outcomes.evidence import Status
from blockplan.outcomes.profiles import ConfirmationRule, Profile
from tests.outcomes._factory import (
    BILATERAL,
    BUPI,
    LEFT,
    LIDO,
    NO_RELIEF,
    RIGHT,
    SALINE,
    TFESI,
    block,
    case_of,
    profile,
)

C, P, IND, X = Status.CONFIRMED, Status.PROBABLE, Status.INDETERMINATE, Status.EXCLUDED
FACET_R = SourceKey(structure=Structure.FACET_JOINT, level="L4-L5", side=RIGHT)
FACET_L = SourceKey(structure=Structure.FACET_JOINT, level="L4-L5", side=LEFT)
BOTH = (FACET_L, FACET_R)


def gather(
    *procedures: Procedure,
    profile_name: str = "asra-2020-single",
    sites: Sequence[SourceKey] = (FACET_R,),
) -> tuple[SourceBlocks, Profile]:
    """The evidence on ``sites`` from these blocks under a shipped profile."""
    p = profile(profile_name)
    blocks = adjudicate(case_of(*procedures), p)
    return gather_evidence(frozenset(sites), blocks, comparative_pairs(blocks, p), p), p


def numbers(blocks: Sequence) -> list[int]:
    return [b.number for b in blocks]


pos_lido = block(day=0, agent=LIDO, until=60)
pos_lido_2 = block(day=3, agent=LIDO, until=60)
neg_lido = block(day=3, agent=LIDO, until=NO_RELIEF)
pos_bupi = block(day=7, agent=BUPI, until=180)
neg_bupi = block(day=7, agent=BUPI, until=NO_RELIEF)
saline_clean = block(day=14, agent=SALINE, until=NO_RELIEF)
saline_resp = block(day=15, agent=SALINE, until=60)
bilateral_pos = block(day=1, side=BILATERAL, branches=2, volume_ml=1.0)
bilateral_neg = block(day=1, side=BILATERAL, branches=2, volume_ml=1.0, until=NO_RELIEF)
sedated = block(day=2, sedation=True)
no_diary = block(day=4, until=None)


# --- gathering the evidence -----------------------------------------------------------
def test_gather_sorts_blocks_by_what_they_say() -> None:
    ev, _ = gather(pos_lido, neg_lido, saline_clean, saline_resp, sedated, no_diary)
    assert ev.sites == (FACET_R,) and ev.label == "L4-L5, right, facet joint"
    assert ev.in_scope
    # chronological numbers: pos 1, sedated 2, neg 3, no diary 4, saline 5 and 6
    assert numbers(ev.positives) == [1] and numbers(ev.negatives) == [3]
    assert numbers(ev.controls) == [5, 6] and numbers(ev.placebo) == [6]
    assert numbers(ev.not_diagnostic) == [2] and numbers(ev.pending) == [4]
    assert ev.shared == () and ev.pairs == ()
    assert not ev.positive_only


def test_gather_a_bilateral_positive_is_shared_by_each_side_and_supports_the_pair() -> None:
    single, _ = gather(bilateral_pos)
    assert single.positives == () and numbers(single.shared) == [1]
    group, _ = gather(bilateral_pos, sites=BOTH)
    assert numbers(group.positives) == [1] and group.shared == ()
    assert group.sites == BOTH and group.label == "L4-L5, left + right, facet joint"


def test_gather_a_bilateral_negative_counts_against_each_side() -> None:
    single, _ = gather(bilateral_neg)
    assert numbers(single.negatives) == [1]
    group, _ = gather(bilateral_neg, sites=BOTH)
    assert numbers(group.negatives) == [1]


def test_gather_leaves_out_blocks_not_applicable_under_the_profile() -> None:
    tfesi = block(block_type=TFESI, level="L4-L5", until=60)
    ev, _ = gather(tfesi)
    assert (ev.positives, ev.negatives, ev.shared, ev.pending, ev.not_diagnostic) == (
        (),
        (),
        (),
        (),
        (),
    )


def test_gather_keeps_only_pairs_on_exactly_this_source() -> None:
    on_right, _ = gather(pos_lido, pos_bupi, profile_name="comparative")
    assert [p.blocks for p in on_right.pairs] == [(1, 2)]
    on_left, _ = gather(pos_lido, pos_bupi, profile_name="comparative", sites=(FACET_L,))
    assert on_left.pairs == ()


def test_gather_marks_structures_outside_the_profile() -> None:
    ev, _ = gather(pos_lido, profile_name="sij")
    assert not ev.in_scope


def test_positive_days_counts_days_on_one_set_of_sites() -> None:
    assert gather(pos_lido, pos_lido_2)[0].positive_days == 2
    same_day = block(day=0, hour=4, agent=LIDO, until=60)
    assert gather(pos_lido, same_day)[0].positive_days == 1
    # left on day 0 and right on day 3 are two sets: one day each, for the pair of sides
    left, right = block(day=0, side=LEFT), block(day=3, side=RIGHT)
    group, _ = gather(left, right, sites=BOTH)
    assert numbers(group.positives) == [1, 2] and group.positive_days == 1
    assert positive_days(()) == 0


# --- steps common to every profile ----------------------------------------------------
def test_out_of_profile_scope() -> None:
    ev, p = gather(pos_lido, profile_name="sij")
    decision = out_of_profile_scope(ev, p)
    assert decision == Decision(
        IND,
        ("sij v1.1.0 adjudicates only sacroiliac joint",),
        ("adjudicate under a profile that covers this structure",),
    )
    assert out_of_profile_scope(*gather(pos_lido)) is None


def test_placebo_response() -> None:
    ev, _ = gather(pos_lido, pos_bupi, saline_resp)
    decision = placebo_response(ev)
    assert decision is not None and decision.status is IND
    assert decision.reasons == (
        "saline control reached the threshold (placebo response): block #3",
    )
    assert "psychosocial" in decision.settle[0]
    assert placebo_response(gather(pos_lido, saline_clean)[0]) is None


def test_doubtful_pair_discordant_under_strict() -> None:
    lido, bupi = block(day=0, agent=LIDO, until=120), block(day=7, agent=BUPI, until=120)
    ev, _ = gather(lido, bupi, profile_name="strict-dual-80")
    decision = doubtful_pair(ev)
    assert decision is not None and decision.status is IND
    assert decision.reasons == (ev.pairs[0].reason,) and "discordant" in decision.reasons[0]
    assert decision.settle[0].startswith("repeat the lidocaine and bupivacaine blocks blinded")
    # under asra-2020-single each block stands alone: the pair casts no doubt
    assert doubtful_pair(gather(lido, bupi)[0]) is None


def test_doubtful_pair_prolonged_under_comparative() -> None:
    lido, bupi = block(day=0, agent=LIDO, until=180), block(day=7, agent=BUPI, until=360)
    ev, _ = gather(lido, bupi, profile_name="comparative")
    decision = doubtful_pair(ev)
    assert decision is not None and decision.status is IND
    assert decision.settle == (
        "a saline control block of the same site on another day (placebo-controlled profile)",
    )
    assert doubtful_pair(gather(pos_lido, pos_bupi, profile_name="comparative")[0]) is None


# --- when positives alone do not decide -----------------------------------------------
def test_negative_only() -> None:
    ev, _ = gather(neg_lido)
    assert negative_only(ev) == Decision(
        X, ("valid negative block #1 and no valid positive block",)
    )


def test_mixed_results() -> None:
    ev, _ = gather(pos_lido, neg_lido)
    decision = mixed_results(ev)
    assert decision.status is IND
    assert decision.reasons == ("positive (block #1) and negative (block #2) blocks disagree",)
    assert decision.settle[0].startswith("a further valid block on another day")


def test_no_valid_evidence_says_what_was_tried() -> None:
    ev, p = gather(sedated, no_diary)
    decision = no_valid_evidence(ev, p)
    assert decision.status is IND
    assert decision.reasons == ("no valid diagnostic block tested this source",)
    assert decision.settle == (
        "complete the record of block #2 (pain diary, movements)",
        "repeat block #1 without what made it not diagnostic (sedation)",
    )


def test_no_valid_evidence_after_a_shared_block() -> None:
    ev, p = gather(bilateral_pos)
    decision = no_valid_evidence(ev, p)
    assert decision.reasons[0].startswith("tested only together with other sites (block #1)")
    assert decision.settle[0].startswith("a block of L4-L5, right, facet joint alone")


@pytest.mark.parametrize(
    ("profile_name", "expected"),
    [
        ("asra-2020-single", "a diagnostic medial branch block with a local anaesthetic"),
        ("comparative", "a diagnostic medial branch block with lidocaine or bupivacaine"),
    ],
)
def test_no_valid_evidence_when_nothing_was_tried(profile_name: str, expected: str) -> None:
    ev, p = gather(profile_name=profile_name)
    (settle,) = no_valid_evidence(ev, p).settle
    assert settle.startswith(expected) and "no sedation, no steroid" in settle


def test_negative_mixed_or_none_picks_the_step() -> None:
    only_negative, p = gather(neg_lido)
    assert negative_mixed_or_none(only_negative, p) == negative_only(only_negative)
    mixed, p = gather(pos_lido, neg_lido)
    assert negative_mixed_or_none(mixed, p) == mixed_results(mixed)
    nothing, p = gather(sedated)
    assert negative_mixed_or_none(nothing, p) == no_valid_evidence(nothing, p)


# --- one step per confirmation rule ---------------------------------------------------
def test_confirmation_steps_cover_every_rule() -> None:
    assert set(CONFIRMATION_STEPS) == set(ConfirmationRule)


def test_decide_single() -> None:
    ev, p = gather(pos_lido)
    assert decide_single(ev, p) == Decision(
        C, ("valid positive block #1 and no valid negative block",)
    )
    assert decide_single(*gather(neg_lido)).status is X
    assert decide_single(*gather(pos_lido, neg_lido)).status is IND


def test_decide_dual_two_days_confirm() -> None:
    ev, p = gather(pos_lido, pos_lido_2, profile_name="strict-dual-80")
    decision = decide_dual(ev, p)
    assert decision.status is C and decision.settle == ()
    assert decision.reasons[0].startswith("valid positive blocks on 2 separate days")


def test_decide_dual_one_day_is_probable() -> None:
    ev, p = gather(pos_lido, profile_name="strict-dual-80")
    decision = decide_dual(ev, p)
    assert decision.status is P
    (settle,) = decision.settle
    assert "≥ 80 % sustained" in settle and settle.endswith("as expected for its agent")
    assert decide_dual(*gather(neg_lido, profile_name="strict-dual-80")).status is X


@pytest.mark.parametrize(
    ("procedure", "profile_name", "expected"),
    [
        (pos_lido, "comparative", ("a bupivacaine block of the same site on another day",)),
        (pos_bupi, "comparative", ("a lidocaine block of the same site on another day",)),
        (
            pos_lido,
            "placebo-controlled",
            (
                "a bupivacaine block of the same site on another day",
                "then a saline control block of the same site on another day",
            ),
        ),
    ],
)
def test_awaiting_complementary_agent(
    procedure: Procedure, profile_name: str, expected: tuple[str, ...]
) -> None:
    ev, p = gather(procedure, profile_name=profile_name)
    decision = awaiting_complementary_agent(ev, p)
    assert decision.status is P and decision.settle == expected
    assert "the comparative block with the other agent is missing" in decision.reasons[0]


def test_decide_pairs() -> None:
    concordant, _ = gather(pos_lido, pos_bupi, profile_name="comparative")
    decision = decide_pairs(concordant)
    assert decision.status is C and decision.reasons == (concordant.pairs[0].reason,)
    negative, _ = gather(pos_lido, neg_bupi, profile_name="comparative")
    assert decide_pairs(negative).status is X


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param(block(day=9, agent=BUPI, until=180), id="a-concordant-pair-too"),
        pytest.param(block(day=7, hour=3, agent=LIDO, until=60), id="an-unpaired-positive"),
    ],
)
def test_decide_pairs_negative_pair_with_other_positive_evidence_is_open(
    extra: Procedure,
) -> None:
    ev, _ = gather(pos_lido, neg_bupi, extra, profile_name="comparative")
    decision = decide_pairs(ev)
    assert decision.status is IND
    assert decision.reasons == tuple(p.reason for p in ev.pairs)
    assert decision.settle == (
        "a further comparative pair (lidocaine, bupivacaine) on separate days",
    )


def test_saline_control_on_a_separate_day_confirms() -> None:
    ev, _ = gather(pos_lido, pos_bupi, saline_clean, profile_name="placebo-controlled")
    by_pairs = decide_pairs(ev)
    decision = saline_control(ev, by_pairs)
    assert decision.status is C
    assert decision.reasons == (
        *by_pairs.reasons,
        "no placebo response to saline (block #3) on a separate day",
    )


@pytest.mark.parametrize(
    ("saline", "why"),
    [
        pytest.param(None, "relief with both anaesthetics; no saline control yet", id="no-saline"),
        # v1.1: a saline control that was given is named with why it does not count (it
        # used to read "no saline control yet")
        pytest.param(
            block(day=0, hour=3, agent=SALINE, until=NO_RELIEF),
            "relief with both anaesthetics; saline control block #2 was on the day of an "
            "anaesthetic block of the pair (a saline control counts on this source alone, on "
            "a day of its own)",
            id="same-day",
        ),
        pytest.param(
            block(day=14, side=BILATERAL, branches=2, volume_ml=1.0, agent=SALINE, until=NO_RELIEF),
            "relief with both anaesthetics; saline control block #3 also covered other sites "
            "(a saline control counts on this source alone, on a day of its own)",
            id="saline-on-more-sites",
        ),
    ],
)
def test_saline_control_missing_or_not_separate_is_probable(
    saline: Procedure | None, why: str
) -> None:
    procedures = [pos_lido, pos_bupi] + ([saline] if saline is not None else [])
    ev, _ = gather(*procedures, profile_name="placebo-controlled")
    decision = saline_control(ev, decide_pairs(ev))
    assert decision.status is P
    assert decision.reasons[-1] == why
    assert "no saline control yet" not in why or saline is None
    assert decision.settle == ("a saline control block of the same site on another day",)


def test_decide_comparative_and_placebo_controlled() -> None:
    pair = (pos_lido, pos_bupi)
    assert decide_comparative(*gather(*pair, profile_name="comparative")).status is C
    assert decide_placebo_controlled(*gather(*pair, profile_name="placebo-controlled")).status is P
    controlled = gather(*pair, saline_clean, profile_name="placebo-controlled")
    assert decide_placebo_controlled(*controlled).status is C
    # without a pair: awaiting the other agent, or the common fallbacks
    assert decide_comparative(*gather(pos_lido, profile_name="comparative")).status is P
    assert decide_comparative(*gather(neg_lido, profile_name="comparative")).status is X
    negative_pair = gather(pos_lido, neg_bupi, profile_name="placebo-controlled")
    assert decide_placebo_controlled(*negative_pair).status is X


# --- what every status carries after its own reasons ----------------------------------
def test_block_notes_summarise_positive_and_negative_blocks() -> None:
    ev, _ = gather(pos_lido, neg_lido)
    notes = block_notes(ev, IND)
    assert len(notes) == 2
    assert notes[0].startswith("block #1 (2026-03-02, medial branch block, lidocaine): positive")
    assert notes[1].startswith("block #2 (2026-03-05, medial branch block, lidocaine): negative")


def test_block_notes_discordant_pair_that_did_not_decide() -> None:
    lido, bupi = block(day=0, agent=LIDO, until=120), block(day=7, agent=BUPI, until=120)
    asra, _ = gather(lido, bupi)
    assert any(n.startswith("discordant pair noted") for n in block_notes(asra, C))
    strict, _ = gather(lido, bupi, profile_name="strict-dual-80")
    assert not any(n.startswith("discordant pair noted") for n in block_notes(strict, IND))


def test_block_notes_shared_blocks_unless_indeterminate() -> None:
    ev, _ = gather(pos_lido, bilateral_pos)
    shared = "block #2 also covered other sites (not attributed here)"
    assert shared in block_notes(ev, C)
    assert shared not in block_notes(ev, IND)


def test_results_are_frozen() -> None:
    ev, _ = gather(pos_lido)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ev.label = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        Decision(C).status = X  # type: ignore[misc]
