"""Properties of the diary arithmetic and the ledger (hypothesis).

The ledger property, precisely: order statuses by `Status.rank` (``confirmed > probable >
needs review > pending > indeterminate > excluded``). For every shipped profile, every
case, every block whose verdict is *positive* under that profile, and every source present
in both ledgers, removing that block from the case never raises the source's status —
**unless** the block belongs to a comparative pair on that source whose class the profile
says makes the source indeterminate (``pair.doubt``: discordant, or concordant-prolonged
under comparative).
Such a positive is evidence *against* a reliable response, so removing it may legitimately
lift the source (e.g. discordant → indeterminate; without the lidocaine block the
bupivacaine block alone is probable under strict-dual-80). Removing a positive may lower a
status (indeterminate (mixed) → excluded is a downgrade, allowed).

Dually: removing a valid *negative* block never lowers a source's status.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blockplan.case.model import Case, DiaryEntry, Injection, PainDiary, Procedure
from blockplan.outcomes.adjudication import Verdict
from blockplan.outcomes.diary import DEFAULT_DIARY_TIMES_MIN, relief_curve, relief_pct, relief_run
from blockplan.outcomes.evidence import Status
from blockplan.outcomes.ledger import Ledger, build_ledger
from blockplan.outcomes.profiles import list_profiles
from tests.outcomes._factory import (
    BILATERAL,
    BUPI,
    DAY0,
    LEFT,
    LIDO,
    MBB,
    RIGHT,
    ROPI,
    SALINE,
    SIJ,
    case_of,
    profile,
)

FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- diary ----------------------------------------------------------------------------
@given(st.integers(0, 10), st.one_of(st.none(), st.integers(0, 10)))
def test_relief_never_above_100(baseline: int, nrs: int | None) -> None:
    value = relief_pct(baseline, nrs)
    if baseline == 0 or nrs is None:
        assert value is None
    else:
        assert value is not None and -900.0 <= value <= 100.0
        assert (value < 0) == (nrs > baseline)


nrs_values = st.one_of(st.none(), st.integers(0, 10))


@st.composite
def diaries(draw: st.DrawFn) -> PainDiary:
    baseline = draw(st.integers(0, 10))
    times = draw(
        st.lists(
            st.one_of(st.sampled_from(DEFAULT_DIARY_TIMES_MIN), st.integers(0, 1500)),
            unique=True,
            max_size=14,
        )
    )
    return PainDiary(
        baseline_nrs=baseline,
        entries=tuple(DiaryEntry(minutes=t, nrs=draw(nrs_values)) for t in times),
    )


@FAST
@given(diaries(), st.sampled_from([50.0, 75.0, 80.0]), st.sampled_from([0, 30, 60]))
def test_run_definition(diary: PainDiary, threshold: float, minimum: int) -> None:
    curve = relief_curve(diary)
    assert all(p.relief_pct is None or p.relief_pct <= 100 for p in curve)
    run = relief_run(curve, threshold, minimum)
    above = [p for p in curve if p.relief_pct is not None and p.relief_pct >= threshold]
    if not above:
        assert not run.reached and not run.sustained
        return
    assert run.onset_min == above[0].minutes
    assert run.duration_min is not None and run.duration_min >= run.onset_min
    assert run.sustained == (run.duration_min - run.onset_min >= minimum)
    inside = [p for p in curve if run.onset_min <= p.minutes <= run.duration_min]
    assert all(p.relief_pct is not None and p.relief_pct >= threshold for p in inside)
    after = [p for p in curve if p.minutes > run.duration_min]
    if after:  # the next point ends the run: missing or below the threshold
        nxt = after[0]
        assert nxt.relief_pct is None or nxt.relief_pct < threshold


# --- cases ----------------------------------------------------------------------------
SITES = [("L4-L5", RIGHT), ("L4-L5", RIGHT), ("L4-L5", LEFT), ("L4-L5", BILATERAL)]


@st.composite
def block_diaries(draw: st.DrawFn) -> PainDiary | None:
    if draw(st.integers(0, 15)) == 0:
        return None
    last = len(DEFAULT_DIARY_TIMES_MIN) - 1
    if draw(st.booleans()):  # strong relief from the start, ending at 30–480 min
        baseline = draw(st.integers(5, 10))
        low = draw(st.integers(0, 1))
        start = draw(st.integers(0, 1))
        end = draw(st.integers(2, last - 1))
    else:
        baseline = draw(st.integers(1, 10))
        low = draw(st.integers(0, baseline))
        start = draw(st.integers(0, last))
        end = draw(st.integers(start, last))
    gap = draw(st.one_of(st.none(), st.none(), st.integers(0, last)))
    entries = []
    for n, t in enumerate(DEFAULT_DIARY_TIMES_MIN):
        if n == gap:
            continue
        entries.append(DiaryEntry(minutes=t, nrs=low if start <= n <= end else baseline))
    return PainDiary(
        baseline_nrs=baseline,
        entries=tuple(entries),
        movements_possible=draw(st.sampled_from([True, True, False, None])),
    )


@st.composite
def procedures(draw: st.DrawFn, one_site: bool = False) -> Procedure:
    block_type = MBB if one_site else draw(st.sampled_from([MBB, MBB, MBB, MBB, SIJ]))
    level, side = SITES[0] if one_site else draw(st.sampled_from(SITES))
    agent = draw(st.sampled_from([LIDO, LIDO, LIDO, BUPI, BUPI, BUPI, ROPI, SALINE]))
    branches = 2 if side is BILATERAL else 1
    volume = 0.5 * branches if block_type is MBB else 1.5
    from blockplan.case.model import Sedation

    return Procedure(
        performed_at=DAY0
        + dt.timedelta(days=draw(st.integers(0, 4)), hours=draw(st.integers(0, 3))),
        block_type=block_type,
        injections=(
            Injection(
                level=level if block_type is MBB else None,
                side=side,
                agent=agent,
                volume_ml=volume,
                branches=branches,
            ),
        ),
        diary=draw(block_diaries()),
        sedation=Sedation(drug="midazolam") if draw(st.integers(0, 20)) == 0 else None,
    )


cases = st.one_of(
    st.lists(procedures(), min_size=1, max_size=5),
    st.lists(procedures(one_site=True), min_size=1, max_size=4),  # many comparative pairs
).map(lambda ps: case_of(*ps))


def _without(case: Case, procedure_id: str) -> Case:
    return case.evolve(procedures=tuple(p for p in case.procedures if p.id != procedure_id))


def _compare(full: Ledger, reduced: Ledger, removed: int, *, positive: bool) -> None:
    for source in full.sources:
        try:
            after = reduced.source(*source.sites)
        except KeyError:
            continue
        if positive:
            doubt = any(p.doubt and removed in p.blocks for p in source.pairs)
            if doubt:
                continue
            assert after.status.rank <= source.status.rank, (source.label, source.reasons)
        else:
            assert after.status.rank >= source.status.rank, (source.label, source.reasons)


@FAST
@given(cases, st.sampled_from(list_profiles()))
def test_removing_a_positive_block_never_upgrades(case: Case, profile_name: str) -> None:
    p = profile(profile_name)
    full = build_ledger(case, p)
    for block in full.blocks:
        if block.verdict is Verdict.POSITIVE:
            reduced = build_ledger(_without(case, block.procedure_id), p)
            _compare(full, reduced, block.number, positive=True)


@FAST
@given(cases, st.sampled_from(list_profiles()))
def test_removing_a_negative_block_never_downgrades(case: Case, profile_name: str) -> None:
    p = profile(profile_name)
    full = build_ledger(case, p)
    for block in full.blocks:
        if block.verdict is Verdict.NEGATIVE:
            reduced = build_ledger(_without(case, block.procedure_id), p)
            _compare(full, reduced, block.number, positive=False)


@FAST
@given(cases, st.sampled_from(list_profiles()))
def test_ledger_invariants(case: Case, profile_name: str) -> None:
    ledger = build_ledger(case, profile(profile_name))
    ranks = [s.status.rank for s in ledger.sources]
    assert ranks == sorted(ranks, reverse=True)
    numbers = {b.number for b in ledger.blocks}
    for source in ledger.sources:
        assert set(source.blocks) <= numbers
        assert profile_name in source.status_text
        if source.status is Status.EXCLUDED:
            assert source.status_text.startswith("not supported as a pain source under")
            assert source.against and not source.settle
        if source.status is Status.CONFIRMED:
            assert source.supporting and not source.against and not source.placebo_responses
        if source.is_open:
            assert source.settle
    assert ledger == build_ledger(case, profile(profile_name))


def test_doubt_exception_is_real() -> None:
    """The carve-out in the property is needed: a discordant positive's removal lifts."""
    from tests.outcomes._factory import block

    lido, bupi = block(day=0, agent=LIDO, until=120), block(day=7, agent=BUPI, until=120)
    p = profile("strict-dual-80")
    full = build_ledger(case_of(lido, bupi), p)
    (source,) = [s for s in full.sources if s.pairs]
    assert source.status is Status.INDETERMINATE and source.pairs[0].doubt
    reduced = build_ledger(case_of(bupi), p).source(*source.sites)
    assert reduced.status is Status.PROBABLE
