"""Several blocks in one sitting (issue 15 point 3, shared/DOMAIN.md §9).

An SNRB and an MBB in one session are two procedure records of one session; relief after
it supports only the set of their sites, exactly as a bilateral block supports only the
pair of sides. Neither source is confirmed on its own (nor suggested for RFA or imaging)
until separate blocks separate them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from blockplan.case.model import Case, Procedure
from blockplan.case.vocab import Agent, Structure
from blockplan.outcomes import build_ledger
from blockplan.outcomes.adjudication import SourceKey, Verdict, adjudicate
from blockplan.outcomes.evidence import Status
from blockplan.outcomes.payer import group_sessions
from blockplan.outcomes.profiles import list_profiles
from tests.outcomes._factory import (
    BUPI,
    LEFT,
    LIDO,
    MBB,
    NO_RELIEF,
    SNRB,
    block,
    case_of,
    diary_from,
    profile,
)
from tests.outcomes.test_outcomes_properties import FAST, _compare, _without
from tests.outcomes.test_outcomes_properties import cases as property_cases

ROOT = SourceKey(structure=Structure.NERVE_ROOT, level="L5", side=LEFT)
FACET = SourceKey(structure=Structure.FACET_JOINT, level="L4-L5", side=LEFT)
RULES_ON_ONE_SOURCE = {"facet_rfa", "radicular_imaging", "radicular_scar"}


def _sitting(
    *, day: int = 0, until: int = 60, agent: Agent = LIDO, session: str = "s1"
) -> list[Procedure]:
    """The issue's example: an L5 left SNRB and an L4-L5 left MBB in one sitting."""
    snrb = block(day=day, block_type=SNRB, level="L5", side=LEFT, agent=agent, until=until)
    mbb = block(day=day, block_type=MBB, level="L4-L5", side=LEFT, agent=agent, until=until)
    return [
        snrb.model_copy(update={"session_id": f"{session}-{day}"}),
        mbb.model_copy(
            update={
                "session_id": f"{session}-{day}",
                "performed_at": mbb.performed_at + dt.timedelta(minutes=10),
            }
        ),
    ]


@dataclass(frozen=True)
class Row:
    name: str
    procedures: tuple[Procedure, ...]
    profile: str
    root: Status
    facet: Status
    both: Status | None
    rules: frozenset[str]


ROWS = [
    # the issue's exact example: one positive sitting → neither source on its own
    Row(
        "snrb+mbb one sitting, asra",
        tuple(_sitting()),
        "asra-2020-single",
        Status.INDETERMINATE,
        Status.INDETERMINATE,
        Status.CONFIRMED,
        frozenset(),
    ),
    Row(
        "snrb+mbb one sitting, strict",
        tuple(_sitting()),
        "strict-dual-80",
        Status.INDETERMINATE,
        Status.INDETERMINATE,
        Status.PROBABLE,
        frozenset(),
    ),
    # two positive sittings on separate days confirm the set under the dual rule, still
    # neither site alone
    Row(
        "two such sittings, strict",
        (*_sitting(), *_sitting(day=7)),
        "strict-dual-80",
        Status.INDETERMINATE,
        Status.INDETERMINATE,
        Status.CONFIRMED,
        frozenset(),
    ),
    # a comparative pair of two sittings is a pair on the set only
    Row(
        "lido sitting + bupi sitting, comparative",
        (*_sitting(), *_sitting(day=7, agent=BUPI, until=240)),
        "comparative",
        Status.INDETERMINATE,
        Status.INDETERMINATE,
        Status.CONFIRMED,
        frozenset(),
    ),
    # no relief after the sitting counts against each site and the set
    Row(
        "negative sitting, asra",
        tuple(_sitting(until=NO_RELIEF)),
        "asra-2020-single",
        Status.EXCLUDED,
        Status.EXCLUDED,
        Status.EXCLUDED,
        frozenset(),
    ),
    # a separate MBB on another day separates them: the facet is confirmed (RFA suggested),
    # the root stays open
    Row(
        "sitting + separate mbb, asra",
        (*_sitting(), block(day=7, block_type=MBB, level="L4-L5", side=LEFT)),
        "asra-2020-single",
        Status.INDETERMINATE,
        Status.CONFIRMED,
        Status.CONFIRMED,
        frozenset({"facet_rfa"}),
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_relief_after_a_sitting_supports_only_the_set(row: Row) -> None:
    ledger = build_ledger(case_of(*row.procedures), profile(row.profile))
    assert ledger.source(ROOT).status is row.root
    assert ledger.source(FACET).status is row.facet
    if row.both is not None:
        assert ledger.source(ROOT, FACET).status is row.both
    rules = {s.rule for s in ledger.suggestions}
    assert rules & RULES_ON_ONE_SOURCE == row.rules
    if row.root is not Status.EXCLUDED:
        assert "nothing_confirmed" not in rules


def test_the_issue_example_blocks_and_ledger_say_why() -> None:
    ledger = build_ledger(case_of(*_sitting()), profile("asra-2020-single"))
    snrb, mbb = ledger.blocks
    # each block is still adjudicated on its own record …
    assert snrb.verdict is mbb.verdict is Verdict.POSITIVE
    assert snrb.sites == (ROOT,) and mbb.sites == (FACET,)
    # … but its evidence is the sitting's set of sites
    assert snrb.session_id == mbb.session_id == "s1-0"
    assert snrb.evidence_set == mbb.evidence_set == {ROOT, FACET}
    assert "done in one session with another block (medial branch block)" in snrb.reasons[0]
    root = ledger.source(ROOT)
    assert root.supporting == () and root.shared == (1, 2)
    assert any("one session" in n and "neither is confirmed" in n for n in ledger.notes)


def test_the_ledger_text_names_the_sitting_sites() -> None:
    from blockplan.outcomes.text import ledger_to_text

    text = ledger_to_text(build_ledger(case_of(*_sitting()), profile("asra-2020-single")))
    assert (
        text.count(
            "session sites (relief supports only these together): L5, left, nerve root; "
            "L4-L5, left, facet joint"
        )
        == 2
    )


def test_separate_sessions_on_separate_days_are_attributed_to_each_site() -> None:
    snrb, mbb = _sitting()
    apart = (
        snrb.model_copy(update={"session_id": "a"}),
        mbb.model_copy(update={"session_id": "b", "performed_at": DAY7}),
    )
    ledger = build_ledger(case_of(*apart), profile("asra-2020-single"))
    assert ledger.source(ROOT).status is ledger.source(FACET).status is Status.CONFIRMED


DAY7 = _sitting(day=7)[0].performed_at


def test_one_diary_for_the_sitting() -> None:
    case = case_of(*[p.model_copy(update={"diary": None}) for p in _sitting()])
    first, second = sorted(case.procedures, key=lambda p: p.performed_at)
    diary = diary_from({0: 1, 15: 1, 30: 1, 60: 1, 120: 10})
    case = case.with_session_diary(first.id, diary)
    assert [p.diary for p in case.procedures] == [diary, diary]
    # a block of the sitting whose diary differs (another index pain) keeps its own
    own = diary_from({0: 5, 120: 5})
    case = case.evolve(procedures=(case.procedures[0], second.model_copy(update={"diary": own})))
    case = case.with_session_diary(first.id, None)
    assert case.procedures[0].diary is None and case.procedures[1].diary == own


def test_a_session_is_one_date() -> None:
    snrb, mbb = _sitting()
    with pytest.raises(ValidationError, match=r"session s1-0: its blocks are on 2 dates"):
        case_of(snrb, mbb.model_copy(update={"performed_at": DAY7}))


def test_sessions_group_records_and_payer_sessions_are_their_dates() -> None:
    later = block(day=0, hour=3, block_type=MBB, level="L4-L5", side=LEFT)
    case = case_of(*_sitting(), later, block(day=7))
    sittings = case.sessions
    assert [len(s.procedures) for s in sittings] == [2, 1, 1]
    assert sittings[0].is_multi_block and sittings[0].session_id == "s1-0"
    payer = group_sessions(case)
    assert [(s.date, len(s.procedures), len(s.sittings)) for s in payer] == [
        (sittings[0].date, 3, 2),
        (sittings[2].date, 1, 1),
    ]


def test_a_diary_closed_as_final_is_no_longer_pending() -> None:
    only_15 = diary_from({0: 10, 15: 1})
    case = case_of(block(diary=only_15))
    strict = profile("strict-dual-80")
    (open_block,) = adjudicate(case, strict)
    assert open_block.verdict is Verdict.PENDING and open_block.missing_min == (30, 60, 120)
    closed = only_15.model_copy(update={"closed_as_final": True})
    (closed_block,) = adjudicate(case_of(block(diary=closed)), strict)
    assert closed_block.diary_final is True
    assert closed_block.verdict is Verdict.NEGATIVE and closed_block.missing_min == ()


def test_case_model_round_trips_sessions() -> None:
    case = case_of(*_sitting())
    again = Case.model_validate_json(case.model_dump_json())
    assert again == case and again.sessions[0].session_id == "s1-0"


# --- properties: every block of a date in one sitting ----------------------------------
def _one_sitting_per_date(case: Case) -> Case:
    day = {p.id: p.performed_at.date().isoformat() for p in case.procedures}
    return case.evolve(
        procedures=tuple(p.model_copy(update={"session_id": day[p.id]}) for p in case.procedures)
    )


@FAST
@given(property_cases, st.sampled_from(list_profiles()))
def test_a_sitting_supports_only_sets_holding_all_its_sites(case: Case, profile_name: str) -> None:
    ledger = build_ledger(_one_sitting_per_date(case), profile(profile_name))
    blocks = {b.number: b for b in ledger.blocks}
    for source in ledger.sources:
        for number in source.supporting:
            assert blocks[number].evidence_set <= set(source.sites), source.label
        if source.status in (Status.CONFIRMED, Status.PROBABLE) and not source.pairs:
            assert source.supporting, source.label


@FAST
@given(property_cases, st.sampled_from(list_profiles()))
def test_with_sittings_removing_a_positive_block_never_upgrades(
    case: Case, profile_name: str
) -> None:
    """The property of `test_outcomes_properties`, for blocks alone in their sitting.

    Taking one block out of a multi-block sitting is not removing evidence: it changes what
    the rest of the sitting supports (its relief becomes attributable to fewer sites), so
    such a removal may legitimately raise a single site's status.
    """
    case = _one_sitting_per_date(case)
    p = profile(profile_name)
    full = build_ledger(case, p)
    for result in full.blocks:
        alone = result.evidence_set == result.site_set
        if result.verdict is Verdict.POSITIVE and alone:
            reduced = build_ledger(_without(case, result.procedure_id), p)
            _compare(full, reduced, result.number, positive=True)
