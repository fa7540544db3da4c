"""A realistic synthetic case (no real patient: the identifiers are made up)."""

from __future__ import annotations

import datetime as dt

import numpy as np

from blockplan.case.model import (
    Case,
    DiaryEntry,
    Injection,
    LevelMarker,
    MaskGrid,
    PainDiary,
    PatientInfo,
    PatientPoint,
    Procedure,
    ScarRegion,
    Target,
    Trajectory,
)
from blockplan.case.vocab import Agent, BlockType, Laterality, Structure

FOR_UID = "1.2.826.0.1.3680043.8.498.1"
SERIES_UID = "1.2.826.0.1.3680043.8.498.2"
PATIENT_ID = "SYNTH-0042"
PATIENT_NAME = "Testpatient^Synthia"
DIARY_MINUTES = (0, 15, 30, 60, 120, 180, 240, 300, 360, 480, 1440)


def point(x: float, y: float, z: float) -> PatientPoint:
    return PatientPoint(lps=(x, y, z), frame_of_reference_uid=FOR_UID)


def make_case(
    *,
    n_procedures: int = 2,
    patient_id: str = PATIENT_ID,
    title: str = "L5 radicular pain after L4-L5 discectomy",
    case_id: str | None = None,
) -> Case:
    """A case with levels, a scar region, two targets, a trajectory and procedures."""
    grid = MaskGrid(
        shape=(4, 8, 8),
        affine=((0.8, 0, 0, -30), (0, 0.8, 0, -20), (0, 0, 3.0, 100), (0, 0, 0, 1)),
        frame_of_reference_uid=FOR_UID,
        series_instance_uid=SERIES_UID,
    )
    mask = np.zeros(grid.shape, dtype=bool)
    mask[1:3, 2:6, 3:5] = True
    targets = (
        Target(
            id="t1",
            level="L5",
            side=Laterality.RIGHT,
            structure=Structure.NERVE_ROOT,
            block_type=BlockType.SELECTIVE_NERVE_ROOT,
            position=point(12.5, 40.0, 110.0),
        ),
        Target(
            id="t2",
            level="L4-L5",
            side=Laterality.LEFT,
            structure=Structure.FACET_JOINT,
            block_type=BlockType.MEDIAL_BRANCH,
            position=point(-18.0, 52.0, 140.0),
        ),
    )
    start = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    procedures = tuple(
        Procedure(
            id=f"p{k}",
            performed_at=start + dt.timedelta(days=7 * k),
            block_type=BlockType.SELECTIVE_NERVE_ROOT,
            injections=(
                Injection(
                    target_id="t1",
                    level="L5",
                    side=Laterality.RIGHT,
                    agent=Agent.LIDOCAINE if k % 2 == 0 else Agent.BUPIVACAINE,
                    volume_ml=0.5,
                ),
            ),
            diary=PainDiary(
                baseline_nrs=7,
                entries=tuple(
                    DiaryEntry(minutes=m, nrs=min(10, 2 + m // 120)) for m in DIARY_MINUTES
                ),
            ),
        )
        for k in range(n_procedures)
    )
    extra = {} if case_id is None else {"case_id": case_id}
    return Case(
        title=title,
        created_at=dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC),
        patient=PatientInfo(patient_id=patient_id, patient_name=PATIENT_NAME, sex="F"),
        levels=(LevelMarker(id="lv1", level="L5", position=point(0, 45, 115)),),
        scar_regions=(ScarRegion.from_mask(mask, grid, id="s1"),),
        targets=targets,
        trajectories=(Trajectory(id="tr1", target_id="t1", entry=point(70, 120, 112)),),
        procedures=procedures,
        **extra,  # type: ignore[arg-type]
    )
