"""Synthetic blocks and cases for the outcomes tests (no real patient data)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from functools import cache

from blockplan.case.model import (
    Case,
    Contrast,
    DiaryEntry,
    Injection,
    PainDiary,
    PatientPoint,
    Procedure,
    Sedation,
    Steroid,
    Target,
)
from blockplan.case.vocab import Agent, BlockType, Laterality, Structure
from blockplan.outcomes.diary import DEFAULT_DIARY_TIMES_MIN
from blockplan.outcomes.profiles import Profile, load_profile

FOR_UID = "1.2.826.0.1.3680043.8.498.7"
TZ = dt.timezone(dt.timedelta(hours=1))
DAY0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
SCHEDULE = DEFAULT_DIARY_TIMES_MIN

LIDO, BUPI, ROPI, SALINE = Agent.LIDOCAINE, Agent.BUPIVACAINE, Agent.ROPIVACAINE, Agent.SALINE
LEFT, RIGHT, BILATERAL = Laterality.LEFT, Laterality.RIGHT, Laterality.BILATERAL
MBB, FACET_IA, SNRB, SIJ, TFESI = (
    BlockType.MEDIAL_BRANCH,
    BlockType.FACET_INTRAARTICULAR,
    BlockType.SELECTIVE_NERVE_ROOT,
    BlockType.SACROILIAC_JOINT,
    BlockType.TRANSFORAMINAL_EPIDURAL,
)


@cache
def profile(name: str) -> Profile:
    """A shipped profile (cached)."""
    return load_profile(name)


def diary_from(
    nrs: Mapping[int, int | None], baseline: int = 10, movements: bool | None = None
) -> PainDiary:
    """A diary with the given NRS per minute."""
    return PainDiary(
        baseline_nrs=baseline,
        entries=tuple(DiaryEntry(minutes=m, nrs=v) for m, v in nrs.items()),
        movements_possible=movements,
    )


def relief_diary(
    until: int,
    relief_pct: float = 90,
    *,
    onset: int = 0,
    baseline: int = 10,
    movements: bool | None = None,
) -> PainDiary:
    """A full-schedule diary: ``relief_pct`` from ``onset`` to ``until`` min, none otherwise.

    ``until < onset`` gives a diary without relief.
    """
    nrs_relief = round(baseline * (1 - relief_pct / 100))
    return diary_from(
        {t: nrs_relief if onset <= t <= until else baseline for t in SCHEDULE},
        baseline=baseline,
        movements=movements,
    )


NO_RELIEF = -1
"""``until`` for a diary without relief."""


def block(
    *,
    day: int = 0,
    agent: Agent = LIDO,
    block_type: BlockType = MBB,
    level: str | None = "L4-L5",
    side: Laterality = RIGHT,
    volume_ml: float | None = None,
    branches: int = 1,
    diary: PainDiary | None = None,
    until: int | None = 60,
    relief_pct: float = 90,
    movements: bool | None = None,
    sedation: bool = False,
    steroid: bool = False,
    intravascular: bool = False,
    dsa: bool = False,
    target_id: str | None = None,
    injections: Sequence[Injection] | None = None,
    hour: int = 0,
) -> Procedure:
    """One block; by default a right L4-L5 lidocaine MBB with 90 % relief for 0–60 min."""
    if volume_ml is None:
        volume_ml = {MBB: 0.5 * branches, FACET_IA: 1.0, SNRB: 0.5, SIJ: 1.5}.get(block_type, 2.0)
    if diary is None and until is not None:
        diary = relief_diary(until, relief_pct, movements=movements)
    if injections is None:
        injections = (
            Injection(
                target_id=target_id,
                level=level,
                side=side,
                agent=agent,
                volume_ml=volume_ml,
                branches=branches,
            ),
        )
    return Procedure(
        performed_at=DAY0 + dt.timedelta(days=day, hours=hour),
        block_type=block_type,
        injections=tuple(injections),
        diary=diary,
        sedation=Sedation(drug="midazolam", dose="1 mg") if sedation else None,
        steroid=Steroid(name="dexamethasone", dose_mg=4) if steroid else None,
        contrast=Contrast(intravascular_uptake=intravascular, dsa_used=dsa),
    )


def target(
    level: str | None,
    side: Laterality,
    structure: Structure,
    block_type: BlockType,
    target_id: str = "t1",
) -> Target:
    """A planned target."""
    return Target(
        id=target_id,
        level=level,
        side=side,
        structure=structure,
        block_type=block_type,
        position=PatientPoint(lps=(0.0, 0.0, 0.0), frame_of_reference_uid=FOR_UID),
    )


def case_of(*procedures: Procedure, targets: Sequence[Target] = (), **kw: object) -> Case:
    """A case with these procedures and targets."""
    return Case(
        case_id="0" * 32,
        created_at=DAY0 - dt.timedelta(days=30),
        targets=tuple(targets),
        procedures=tuple(procedures),
        **kw,  # type: ignore[arg-type]
    )
