"""Hypothesis strategies that build valid cases (every collection, odd text and numbers)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from hypothesis import strategies as st

from blockplan.case.model import (
    Case,
    Contrast,
    DiaryEntry,
    Injection,
    Landmark,
    LevelMarker,
    MaskGrid,
    Needle,
    Note,
    OdiEntry,
    PainDiary,
    PatientInfo,
    PatientPoint,
    PgicEntry,
    Procedure,
    ScarRegion,
    Sedation,
    SeriesRef,
    Steroid,
    StudyRef,
    Target,
    Trajectory,
)
from blockplan.case.vocab import (
    Agent,
    Approach,
    BlockType,
    Complication,
    ContrastPattern,
    Guidance,
    Laterality,
    SpinalLevel,
    Structure,
    next_level,
)

# Any Unicode except lone surrogates (not encodable as UTF-8); NUL and controls included.
text = st.text(st.characters(exclude_categories=("Cs",)), max_size=24)
short_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=8)
finite = st.floats(allow_nan=False, allow_infinity=False)
item_ids = st.text("0123456789abcdef", min_size=1, max_size=12)

uids = st.lists(st.integers(0, 10**8), min_size=2, max_size=6).map(
    lambda parts: ".".join(str(p) for p in parts)
)

_vertebrae = [lv.value for lv in SpinalLevel]
_segments = [
    f"{lv}-{nxt}"
    for lv in SpinalLevel
    for nxt in [next_level(lv), next_level(lv, transitional_l6=True)]
    if nxt is not None
]
levels = st.sampled_from(sorted(set(_vertebrae + _segments)))

timezones = st.integers(-14 * 60, 14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))
aware_datetimes = st.datetimes(
    min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=timezones
)
dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 1, 1))
points = st.builds(PatientPoint, lps=st.tuples(finite, finite, finite), frame_of_reference_uid=uids)


@st.composite
def scar_regions(draw: st.DrawFn, region_id: str) -> ScarRegion:
    shape = draw(st.tuples(st.integers(1, 4), st.integers(1, 5), st.integers(1, 5)))
    spacing = draw(st.tuples(*[st.floats(0.1, 5.0)] * 3))
    origin = draw(st.tuples(*[st.floats(-500, 500)] * 3))
    affine = (
        (spacing[0], 0.0, 0.0, origin[0]),
        (0.0, spacing[1], 0.0, origin[1]),
        (0.0, 0.0, spacing[2], origin[2]),
        (0.0, 0.0, 0.0, 1.0),
    )
    grid = MaskGrid(
        shape=shape,
        affine=affine,
        frame_of_reference_uid=draw(uids),
        series_instance_uid=draw(uids),
    )
    bits = draw(st.lists(st.booleans(), min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
    mask = np.asarray(bits, dtype=bool).reshape(shape)
    per_level = draw(st.dictionaries(levels, st.floats(0, 100), max_size=3))
    return ScarRegion.from_mask(
        mask,
        grid,
        id=region_id,
        label=draw(text),
        method=draw(st.sampled_from(["manual", "region_grow", "imported"])),
        volume_ml_per_level=per_level,
    )


@st.composite
def targets(draw: st.DrawFn, target_id: str) -> Target:
    return Target(
        id=target_id,
        label=draw(text),
        level=draw(st.none() | levels),
        side=draw(st.sampled_from(Laterality)),
        structure=draw(st.sampled_from(Structure)),
        block_type=draw(st.sampled_from(BlockType)),
        approach=draw(st.none() | st.sampled_from(Approach)),
        position=draw(points),
        notes=draw(text),
    )


@st.composite
def diaries(draw: st.DrawFn) -> PainDiary:
    minutes = draw(st.lists(st.integers(0, 60 * 24 * 14), unique=True, max_size=12))
    entries = [
        DiaryEntry(
            minutes=m,
            nrs=draw(st.none() | st.integers(0, 10)),
            patient_relief_pct=draw(st.none() | st.floats(-100, 100)),
        )
        for m in minutes
    ]
    return PainDiary(
        baseline_nrs=draw(st.integers(0, 10)),
        baseline_provoked=draw(st.booleans()),
        entries=tuple(entries),
        movements_possible=draw(st.none() | st.booleans()),
    )


@st.composite
def procedures(draw: st.DrawFn, proc_id: str, target_ids: list[str]) -> Procedure:
    target_choice: Any = st.none()
    if target_ids:
        target_choice = st.none() | st.sampled_from(target_ids)
    injections = draw(
        st.lists(
            st.builds(
                Injection,
                target_id=target_choice,
                level=st.none() | levels,
                side=st.sampled_from(Laterality),
                structure=st.none() | st.sampled_from(Structure),
                agent=st.sampled_from(Agent),
                concentration_pct=st.none() | st.floats(0, 10),
                volume_ml=st.floats(0, 50),
                branches=st.integers(1, 4),
            ),
            min_size=1,
            max_size=3,
        )
    )
    return Procedure(
        id=proc_id,
        performed_at=draw(aware_datetimes),
        operator=draw(text),
        block_type=draw(st.sampled_from(BlockType)),
        approach=draw(st.none() | st.sampled_from(Approach)),
        guidance=draw(st.sampled_from(Guidance)),
        indication=draw(text),
        index_pain=draw(text),
        injections=tuple(injections),
        contrast=draw(
            st.builds(
                Contrast,
                agent=short_text,
                volume_ml=st.floats(0, 50),
                pattern=st.sampled_from(ContrastPattern),
                intravascular_uptake=st.booleans(),
                dsa_used=st.booleans(),
            )
        ),
        steroid=draw(
            st.none()
            | st.builds(
                Steroid, name=short_text, dose_mg=st.floats(0, 1e6), particulate=st.booleans()
            )
        ),
        sedation=draw(st.none() | st.builds(Sedation, drug=short_text, dose=short_text)),
        needle=draw(
            st.builds(
                Needle,
                gauge=st.none() | st.integers(10, 30),
                length_mm=st.none() | st.floats(0.5, 300),
                tip=short_text,
                type=short_text,
            )
        ),
        complications=draw(
            st.just(())
            | st.just((Complication.NONE,))
            | st.lists(
                st.sampled_from([c for c in Complication if c is not Complication.NONE]),
                unique=True,
                min_size=1,
                max_size=2,
            ).map(tuple)
        ),
        complication_notes=draw(text),
        images_saved=draw(st.integers(0, 1000)),
        diary=draw(st.none() | diaries()),
        interpretation=draw(text),
        next_step=draw(text),
        notes=draw(text),
    )


@st.composite
def cases(draw: st.DrawFn, max_items: int = 3) -> Case:
    """A valid case with every kind of content, references between items resolving."""
    n = st.integers(0, max_items)
    target_ids = draw(st.lists(item_ids, unique=True, max_size=max_items))
    tgts = [draw(targets(tid)) for tid in target_ids]
    trajs = (
        [
            Trajectory(id=f"tr{k}", target_id=tid, entry=draw(points))
            for k, tid in enumerate(draw(st.lists(st.sampled_from(target_ids), max_size=3)))
        ]
        if target_ids
        else []
    )
    procs = [draw(procedures(f"p{k}", target_ids)) for k in range(draw(n))]
    scars = [draw(scar_regions(f"s{k}")) for k in range(draw(st.integers(0, 2)))]
    level_markers = [
        LevelMarker(id=f"l{k}", level=draw(levels), position=draw(points)) for k in range(draw(n))
    ]
    landmarks = [
        Landmark(
            id=f"m{k}",
            kind=draw(st.sampled_from(["nerve_root", "thecal_sac", "artery", "other"])),
            level=draw(st.none() | levels),
            side=draw(st.none() | st.sampled_from(Laterality)),
            position=draw(points),
            radius_mm=draw(st.floats(0, 30)),
        )
        for k in range(draw(n))
    ]
    study = draw(
        st.none()
        | st.builds(
            StudyRef,
            study_instance_uid=uids,
            study_date=st.none() | dates,
            study_time=st.none() | st.times(),
            accession_number=short_text,
            referring_physician=short_text,
            institution=short_text,
            description=text,
            series=st.lists(
                st.builds(
                    SeriesRef,
                    series_instance_uid=uids,
                    modality=st.sampled_from(["CT", "MR", ""]),
                    series_number=st.none() | st.integers(0, 99999),
                    description=text,
                    frame_of_reference_uid=st.none() | uids,
                ),
                max_size=2,
            ).map(tuple),
        )
    )
    return Case(
        case_id=draw(st.uuids()).hex,
        title=draw(text),
        created_at=draw(aware_datetimes),
        patient=PatientInfo(
            patient_id=draw(st.text(st.characters(exclude_categories=("Cs",)), max_size=64)),
            patient_name=draw(text),
            birth_date=draw(st.none() | dates),
            sex=draw(st.sampled_from(["F", "M", "O", ""])),
        ),
        study=study,
        indication=draw(text),
        diagnosis_codes=tuple(draw(st.lists(st.sampled_from(["M96.1", "M54.16", "M47.816"])))),
        profile_name=draw(st.sampled_from(["asra-2020-single", "strict-dual-80"])),
        levels=tuple(level_markers),
        landmarks=tuple(landmarks),
        scar_regions=tuple(scars),
        targets=tuple(tgts),
        trajectories=tuple(trajs),
        procedures=tuple(procs),
        odi=tuple(
            draw(
                st.lists(
                    st.builds(
                        OdiEntry,
                        recorded_on=dates,
                        items=st.tuples(*[st.none() | st.integers(0, 5)] * 10),
                    ),
                    max_size=2,
                )
            )
        ),
        pgic=tuple(
            draw(
                st.lists(
                    st.builds(PgicEntry, recorded_on=dates, score=st.integers(1, 7)), max_size=2
                )
            )
        ),
        notes=tuple(
            draw(
                st.lists(
                    st.builds(Note, at=aware_datetimes, author=short_text, text=text), max_size=2
                )
            )
        ),
    )
