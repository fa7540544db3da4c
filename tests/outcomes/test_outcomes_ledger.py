"""Ledger statuses per profile (shared/DOMAIN.md §5), attribution, ranking, suggestions."""

from __future__ import annotations

import pytest

from blockplan.case.model import MaskGrid, ScarRegion
from blockplan.case.vocab import Laterality, Structure
from blockplan.outcomes.adjudication import SourceKey
from blockplan.outcomes.evidence import Status
from blockplan.outcomes.ledger import build_ledger
from blockplan.outcomes.profiles import list_profiles
from blockplan.outcomes.text import ledger_to_text
from tests.outcomes._factory import (
    BILATERAL,
    BUPI,
    FOR_UID,
    LEFT,
    LIDO,
    MBB,
    NO_RELIEF,
    RIGHT,
    SALINE,
    SIJ,
    SNRB,
    block,
    case_of,
    profile,
    target,
)

C, P, IND, X = Status.CONFIRMED, Status.PROBABLE, Status.INDETERMINATE, Status.EXCLUDED
R, W = Status.NEEDS_REVIEW, Status.PENDING
FACET_R = SourceKey(structure=Structure.FACET_JOINT, level="L4-L5", side=RIGHT)
FACET_L = SourceKey(structure=Structure.FACET_JOINT, level="L4-L5", side=LEFT)
ROOT_L5_L = SourceKey(structure=Structure.NERVE_ROOT, level="L5", side=LEFT)
SIJ_R = SourceKey(structure=Structure.SACROILIAC_JOINT, side=RIGHT)


def status(case, profile_name: str, *sites: SourceKey) -> Status:
    return build_ledger(case, profile(profile_name)).source(*(sites or (FACET_R,))).status


# --- one table: the same blocks under every profile ------------------------------------
pos_lido = block(day=0, agent=LIDO, until=60)  # 90 % for 0–60 min
pos_lido_2 = block(day=3, agent=LIDO, until=60)
pos_lido_same_day = block(day=0, hour=4, agent=LIDO, until=60)
pos_bupi = block(day=7, agent=BUPI, until=180)
neg_lido = block(day=3, agent=LIDO, until=NO_RELIEF)
neg_bupi = block(day=7, agent=BUPI, until=NO_RELIEF)
lido_70 = block(day=0, agent=LIDO, until=60, relief_pct=70)  # fails 80, passes 50
disc_lido = block(day=0, agent=LIDO, until=180)
disc_bupi = block(day=7, agent=BUPI, until=120)
prol_lido = block(day=0, agent=LIDO, until=180)
prol_bupi = block(day=7, agent=BUPI, until=360)
saline_clean = block(day=14, agent=SALINE, until=NO_RELIEF)
saline_resp = block(day=14, agent=SALINE, until=60)
sedated = block(day=0, sedation=True)

PROFILES = ("asra-2020-single", "strict-dual-80", "comparative", "placebo-controlled")
STATUS_TABLE = [
    # blocks, (asra, strict, comparative, placebo)
    pytest.param([pos_lido], (C, P, P, P), id="one-positive"),
    pytest.param([pos_lido, pos_lido_2], (C, C, P, P), id="two-days-same-agent"),
    pytest.param([pos_lido, pos_lido_same_day], (C, P, P, P), id="same-day-twice"),
    pytest.param([neg_lido], (X, X, X, X), id="one-negative"),
    pytest.param([pos_lido, neg_bupi], (IND, IND, X, X), id="positive-then-negative-pair"),
    pytest.param([pos_lido, neg_lido], (IND, IND, IND, IND), id="mixed-same-agent"),
    pytest.param([pos_lido, pos_bupi], (C, C, C, P), id="concordant"),
    pytest.param([pos_lido, pos_bupi, saline_clean], (C, C, C, C), id="placebo-controlled"),
    pytest.param([pos_lido, pos_bupi, saline_resp], (IND, IND, IND, IND), id="placebo-response"),
    pytest.param([disc_lido, disc_bupi], (C, IND, IND, IND), id="discordant"),
    # strict-dual-80 v1.1: both blocks relieved beyond their windows → needs review (it was
    # "excluded" in v1.0, from verdicts that had already failed the duration test)
    pytest.param([prol_lido, prol_bupi], (C, R, IND, P), id="concordant-prolonged"),
    pytest.param([prol_lido, prol_bupi, saline_clean], (C, R, IND, C), id="prolonged+saline"),
    pytest.param([lido_70], (C, X, X, X), id="70-percent"),
    pytest.param([sedated], (IND, IND, IND, IND), id="sedated-only"),
    pytest.param([], (IND, IND, IND, IND), id="target-only"),
]


@pytest.mark.parametrize(("blocks", "expected"), STATUS_TABLE)
def test_status_table(blocks, expected: tuple[Status, ...]) -> None:
    case = case_of(*blocks, targets=[target("L4-L5", RIGHT, Structure.FACET_JOINT, MBB)])
    got = tuple(status(case, name) for name in PROFILES)
    assert got == expected


def test_strict_discordant_inside_windows_is_indeterminate() -> None:
    # both exactly 120 min: inside both windows, lidocaine as long → discordant
    case = case_of(block(day=0, agent=LIDO, until=120), block(day=7, agent=BUPI, until=120))
    assert status(case, "strict-dual-80") is IND
    assert status(case, "asra-2020-single") is C
    note = build_ledger(case, profile("asra-2020-single")).source(FACET_R).reasons
    assert any(r.startswith("discordant pair noted; each block stands alone") for r in note)


def test_excluded_wording() -> None:
    ledger = build_ledger(case_of(lido_70), profile("strict-dual-80"))
    source = ledger.source(FACET_R)
    assert source.status is X
    assert source.status_text == "not supported as a pain source under strict-dual-80 v1.1.0"
    assert any("peak relief 70 % stays below the 80 % threshold" in r for r in source.reasons)
    text = ledger_to_text(ledger)
    assert "ruled out" not in text.lower()


# --- switching the profile recomputes everything ---------------------------------------
def mixed_case():
    return case_of(
        # L4-L5 right facet: concordant lidocaine/bupivacaine pair
        block(day=0, agent=LIDO, until=60),
        block(day=14, agent=BUPI, until=180),
        # L5 left root: 70 % relief, sustained (passes 50, fails 80)
        block(day=3, agent=LIDO, block_type=SNRB, level="L5", side=LEFT, relief_pct=70, until=120),
        # right SIJ: 90 % relief, movements possible
        block(day=7, agent=LIDO, block_type=SIJ, level=None, until=120, movements=True),
    )


@pytest.mark.parametrize(
    ("profile_name", "facet", "root", "sij"),
    [
        ("asra-2020-single", C, C, C),
        ("strict-dual-80", C, X, P),
        ("comparative", C, X, P),
        ("placebo-controlled", P, X, P),
        ("sij", IND, IND, P),
    ],
)
def test_switching_profile_recomputes(profile_name: str, facet, root, sij) -> None:
    ledger = build_ledger(mixed_case(), profile(profile_name))
    assert ledger.profile_name == profile_name and ledger.profile_version == "1.1.0"
    assert (
        ledger.source(FACET_R).status,
        ledger.source(ROOT_L5_L).status,
        ledger.source(SIJ_R).status,
    ) == (facet, root, sij)
    for source in ledger.sources:
        assert profile_name in source.status_text


def test_every_shipped_profile_builds_a_ledger() -> None:
    for name in list_profiles():
        ledger = build_ledger(mixed_case(), name)
        assert ledger.profile_label == f"{name} v1.1.0"
        assert ledger.disclaimer.startswith("Decision support, not a medical device")


def test_ranking() -> None:
    ledger = build_ledger(mixed_case(), profile("strict-dual-80"))
    ranks = [s.status.rank for s in ledger.sources]
    assert ranks == sorted(ranks, reverse=True)
    assert ledger.sources[0].sites == (FACET_R,)
    assert ledger.sources[-1].sites == (ROOT_L5_L,)


def test_ranking_by_strength_within_status() -> None:
    case = case_of(
        block(day=0, side=LEFT, relief_pct=60),
        block(day=0, side=RIGHT, relief_pct=90),
        block(day=3, side=RIGHT, relief_pct=90),
    )
    ledger = build_ledger(case, profile("asra-2020-single"))
    assert [s.sites for s in ledger.sources] == [(FACET_R,), (FACET_L,)]


def test_pure_function() -> None:
    case = mixed_case()
    before = case.model_dump()
    assert build_ledger(case, "comparative") == build_ledger(case, profile("comparative"))
    assert case.model_dump() == before


# --- attribution: bilateral and multi-site blocks -------------------------------------
def test_positive_bilateral_block_is_not_attributed_to_one_side() -> None:
    ledger = build_ledger(
        case_of(block(side=BILATERAL, branches=2, volume_ml=1.0)), profile("asra-2020-single")
    )
    group = ledger.source(FACET_L, FACET_R)
    assert group.status is C and group.label == "L4-L5, left + right, facet joint"
    for side in (FACET_L, FACET_R):
        single = ledger.source(side)
        assert single.status is IND and single.shared == (1,)
        assert any("alone" in s for s in single.settle)


def test_negative_bilateral_block_counts_against_each_side() -> None:
    ledger = build_ledger(
        case_of(block(side=BILATERAL, branches=2, volume_ml=1.0, until=NO_RELIEF)),
        profile("asra-2020-single"),
    )
    assert [ledger.source(*s).status for s in [(FACET_L,), (FACET_R,), (FACET_L, FACET_R)]] == [
        X,
        X,
        X,
    ]


def test_bilateral_positive_then_unilateral_negative() -> None:
    case = case_of(
        block(day=0, side=BILATERAL, branches=2, volume_ml=1.0),
        block(day=3, side=LEFT, until=NO_RELIEF),
    )
    ledger = build_ledger(case, profile("asra-2020-single"))
    assert ledger.source(FACET_L, FACET_R).status is C
    assert ledger.source(FACET_L).status is X
    assert ledger.source(FACET_R).status is IND


def test_multi_level_block() -> None:
    from blockplan.case.model import Injection

    injections = [
        Injection(level="L4-L5", side=RIGHT, agent=LIDO, volume_ml=0.5),
        Injection(level="L5-S1", side=RIGHT, agent=LIDO, volume_ml=0.5),
    ]
    ledger = build_ledger(case_of(block(injections=injections)), profile("asra-2020-single"))
    lower = SourceKey(structure=Structure.FACET_JOINT, level="L5-S1", side=RIGHT)
    assert ledger.source(FACET_R, lower).status is C
    assert ledger.source(FACET_R).status is IND
    assert any("group" in n or "several sites" in n for n in ledger.notes)


def test_unilateral_positive_supports_a_bilateral_target_set() -> None:
    # a bilateral target makes the set a candidate; a right-only positive supports it
    t = target("L4-L5", BILATERAL, Structure.FACET_JOINT, MBB)
    ledger = build_ledger(case_of(block(), targets=[t]), profile("asra-2020-single"))
    assert ledger.source(FACET_L, FACET_R).status is C
    assert ledger.source(FACET_R).status is C
    assert ledger.source(FACET_L).status is IND


# --- what would settle it --------------------------------------------------------------
@pytest.mark.parametrize(
    ("blocks", "profile_name", "expected"),
    [
        ([pos_lido], "strict-dual-80", "a second block of the same site on another day"),
        ([pos_lido], "comparative", "a bupivacaine block of the same site on another day"),
        ([pos_bupi], "comparative", "a lidocaine block of the same site on another day"),
        ([pos_lido, pos_bupi], "placebo-controlled", "a saline control block"),
        ([disc_lido, disc_bupi], "comparative", "add a saline control"),
        ([prol_lido, prol_bupi], "comparative", "a saline control block"),
        ([sedated], "asra-2020-single", "repeat block #1 without what made it not diagnostic"),
        ([block(until=None)], "asra-2020-single", "complete the record of block #1"),
        ([], "asra-2020-single", "a diagnostic medial branch block with a local anaesthetic"),
        ([pos_lido, neg_lido], "asra-2020-single", "a further valid block on another day"),
    ],
)
def test_settle(blocks, profile_name: str, expected: str) -> None:
    case = case_of(*blocks, targets=[target("L4-L5", RIGHT, Structure.FACET_JOINT, MBB)])
    source = build_ledger(case, profile(profile_name)).source(FACET_R)
    assert source.is_open
    assert any(expected in s for s in source.settle), source.settle


def test_closed_sources_have_nothing_to_settle() -> None:
    ledger = build_ledger(mixed_case(), profile("strict-dual-80"))
    assert ledger.source(FACET_R).settle == ()
    assert ledger.source(ROOT_L5_L).settle == ()


def test_sij_profile_settles_out_of_scope_sources_by_another_profile() -> None:
    source = build_ledger(mixed_case(), profile("sij")).source(FACET_R)
    assert source.status is IND and not source.in_scope
    assert source.settle == ("adjudicate under a profile that covers this structure",)


# --- reevaluation suggestions ---------------------------------------------------------
def _scar(level: str) -> ScarRegion:
    import numpy as np

    grid = MaskGrid(
        shape=(1, 2, 2),
        affine=((1, 0, 0, 0), (0, 1, 0, 0), (0, 0, 1, 0), (0, 0, 0, 1)),
        frame_of_reference_uid=FOR_UID,
        series_instance_uid=FOR_UID + ".1",
    )
    return ScarRegion.from_mask(
        np.ones((1, 2, 2), dtype=bool), grid, volume_ml_per_level={level: 0.4}
    )


def _root_case(**kw: object):
    return case_of(block(block_type=SNRB, level="L5", side=LEFT, until=120), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("case", "rules"),
    [
        pytest.param(case_of(pos_lido), ["facet_rfa"], id="facet"),
        pytest.param(_root_case(scar_regions=(_scar("L4-L5"),)), ["radicular_scar"], id="scar"),
        pytest.param(_root_case(), ["radicular_imaging"], id="root-no-scar"),
        # one negative block is not an adequate work-up (v1.1: it used to suggest re-imaging)
        pytest.param(case_of(neg_lido), [], id="one-negative-waits"),
        pytest.param(case_of(neg_lido, neg_bupi), ["nothing_confirmed"], id="nothing"),
        pytest.param(case_of(sedated), [], id="no-valid-block"),
    ],
)
def test_suggestions(case, rules: list[str]) -> None:
    ledger = build_ledger(case, profile("asra-2020-single"))
    assert [s.rule for s in ledger.suggestions] == rules
    for s in ledger.suggestions:
        assert s.citation and s.condition


def test_probable_source_does_not_trigger_reimaging() -> None:
    ledger = build_ledger(case_of(pos_lido), profile("strict-dual-80"))
    assert ledger.suggestions == ()


def test_every_block_is_reported_with_details() -> None:
    ledger = build_ledger(mixed_case(), profile("strict-dual-80"))
    assert len(ledger.blocks) == 4
    root = ledger.block(2)
    assert root.block_type.value == "snrb" and root.verdict.value == "negative"
    assert root.curve and root.peak_relief_pct == 70.0 and root.reasons
    assert ledger.source(ROOT_L5_L).against == (2,)
    assert ledger.pairs and ledger.pairs[0].blocks == (1, 4)


def test_laterality_enum_is_shared() -> None:
    assert Laterality("left") is LEFT


def test_dual_rule_counts_days_on_the_same_sites() -> None:
    # left on day 0, right on day 3: each side probable, the pair of sides not confirmed
    case = case_of(block(day=0, side=LEFT), block(day=3, side=RIGHT))
    ledger = build_ledger(case, profile("strict-dual-80"))
    assert ledger.source(FACET_L).status is P and ledger.source(FACET_R).status is P
    # …and with a bilateral target, the set is only probable too
    t = target("L4-L5", BILATERAL, Structure.FACET_JOINT, MBB)
    ledger = build_ledger(case.evolve(targets=(t,)), profile("strict-dual-80"))
    assert ledger.source(FACET_L, FACET_R).status is P
    assert ledger.source(FACET_L, FACET_R).positive_days == 1


def test_shared_only_reason() -> None:
    ledger = build_ledger(
        case_of(block(side=BILATERAL, branches=2, volume_ml=1.0)), profile("asra-2020-single")
    )
    assert ledger.source(FACET_R).reasons[0].startswith("tested only together with other sites")
