"""Synthetic cases and image volumes for the report tests and the report benchmark.

A small analytic lumbar phantom (vertebral bodies, discs, canal, posterior elements,
paraspinal muscles) is sampled into an axial CT volume and a sagittal T2-like MR volume in
one frame of reference. Cases put targets, trajectories, scar and blocks on it. Nothing
here is patient data; names are invented.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from blockplan.case.model import (
    Case,
    Contrast,
    DiaryEntry,
    Injection,
    LevelMarker,
    MaskGrid,
    Needle,
    OdiEntry,
    PainDiary,
    PatientInfo,
    PatientPoint,
    PgicEntry,
    Procedure,
    ScarRegion,
    Sedation,
    SeriesRef,
    StudyRef,
    Target,
    Trajectory,
)
from blockplan.case.vocab import (
    Agent,
    Approach,
    BlockType,
    ContrastPattern,
    Laterality,
    Structure,
)
from blockplan.io.volume import ImageVolume, WindowPreset

FOR_UID = "1.2.826.0.1.3680043.8.498.1"
STUDY_UID = "1.2.826.0.1.3680043.8.498.2"
CT_UID = "1.2.826.0.1.3680043.8.498.3"
MR_UID = "1.2.826.0.1.3680043.8.498.4"

LEVEL_Z = {"L2": 95.0, "L3": 60.0, "L4": 25.0, "L5": -10.0, "S1": -45.0}
"""Centre (LPS z, mm) of each vertebral body of the phantom."""

BODY_Y = -5.0  # vertebral body centre (anterior is −y)
CANAL_Y = 22.0
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))


# --- phantom ------------------------------------------------------------------------------
def _labels(x: npt.NDArray[np.float32], y: npt.NDArray[np.float32], z: npt.NDArray[np.float32]):
    """Tissue label per point: 0 fat, 1 soft tissue, 2 muscle, 3 bone, 4 disc, 5 CSF."""
    lab = np.zeros(np.broadcast(x, y, z).shape, dtype=np.uint8)
    body = (x / 140.0) ** 2 + ((y - 10.0) / 105.0) ** 2 <= 1.0
    lab[body] = 1
    for sx in (-1, 1):
        muscle = ((x - sx * 32.0) / 20.0) ** 2 + ((y - 58.0) / 20.0) ** 2 <= 1.0
        lab[muscle & body] = 2
    zc = np.array(sorted(LEVEL_Z.values()))
    nearest = zc[np.abs(z[..., None] - zc).argmin(axis=-1)] if z.ndim else zc[0]
    dz = z - nearest
    in_body_z = np.abs(dz) <= 12.5
    in_disc_z = ~in_body_z & (np.abs(dz) <= 17.5 + 1e-3)
    vb = (x / 24.0) ** 2 + ((y - BODY_Y) / 17.0) ** 2 <= 1.0
    lab[vb & in_body_z] = 3
    lab[vb & ~in_body_z] = 4
    # Posterior arch: pedicles, laminae, spinous and transverse processes.
    ped = (np.abs(np.abs(x) - 14.0) <= 4.5) & (y > 8) & (y < 28) & (np.abs(dz) <= 7)
    lam = (np.abs(x) <= 18.0) & (y >= 30) & (y <= 36) & (np.abs(dz) <= 10)
    spin = (np.abs(x) <= 3.5) & (y > 34) & (y <= 62) & (np.abs(dz) <= 9)
    trans = (np.abs(x) <= 42.0) & (np.abs(y - 22.0) <= 3.5) & (np.abs(dz) <= 5)
    facet = (np.abs(np.abs(x) - 19.0) <= 4.0) & (np.abs(y - 30.0) <= 4.0) & (np.abs(dz) >= 9)
    lab[(ped | lam | spin | trans | facet) & in_body_z | facet & in_disc_z] = 3
    canal = (x / 11.0) ** 2 + ((y - CANAL_Y) / 8.0) ** 2 <= 1.0
    lab[canal] = 5
    del in_disc_z
    return lab


_CT_HU = np.array([-100, 40, 55, 700, 85, 10], dtype=np.float32)
_T2 = np.array([1000, 450, 300, 420, 900, 1500], dtype=np.float32)


def _grid_points(affine: npt.NDArray[np.float64], shape: tuple[int, int, int]):
    k, j, i = np.meshgrid(*(np.arange(n, dtype=np.float32) for n in shape), indexing="ij")
    a = affine.astype(np.float32)
    x = a[0, 0] * i + a[0, 1] * j + a[0, 2] * k + a[0, 3]
    y = a[1, 0] * i + a[1, 1] * j + a[1, 2] * k + a[1, 3]
    z = a[2, 0] * i + a[2, 1] * j + a[2, 2] * k + a[2, 3]
    return x, y, z


def ct_volume(spacing_mm: float = 0.9, slice_mm: float = 2.5) -> ImageVolume:
    """Axial CT of the phantom: x −90…90, y −70…110, z −70…115 (LPS mm)."""
    cols = round(180 / spacing_mm)
    rows = round(180 / spacing_mm)
    slices = round(185 / slice_mm)
    affine = np.array(
        [
            [spacing_mm, 0, 0, -90.0],
            [0, spacing_mm, 0, -70.0],
            [0, 0, slice_mm, -70.0],
            [0, 0, 0, 1],
        ]
    )
    x, y, z = _grid_points(affine, (slices, rows, cols))
    hu = _CT_HU[_labels(x, y, z)]
    rng = np.random.default_rng(7)
    hu = hu + rng.normal(0, 12, hu.shape).astype(np.float32)
    return ImageVolume(
        array=hu.astype(np.int16),
        affine=affine,
        frame_of_reference_uid=FOR_UID,
        modality="CT",
        series_instance_uid=CT_UID,
        study_instance_uid=STUDY_UID,
        series_number=2,
        series_description="synthetic lumbar CT",
        windows=(WindowPreset("bone", 400, 1800), WindowPreset("soft tissue", 40, 400)),
    )


def mr_sagittal_volume() -> ImageVolume:
    """Sagittal T2-like MR of the phantom: 13 slices 4 mm apart around the midline."""
    px = 0.8
    cols, rows, slices = round(180 / px), round(200 / px), 13
    # i → +y (posterior), j → −z (down), k → +x (left).
    affine = np.array(
        [
            [0, 0, 4.0, -24.0],
            [px, 0, 0, -70.0],
            [0, -px, 0, 120.0],
            [0, 0, 0, 1],
        ]
    )
    x, y, z = _grid_points(affine, (slices, rows, cols))
    return ImageVolume(
        array=_T2[_labels(x, y, z)].astype(np.uint16),
        affine=affine,
        frame_of_reference_uid=FOR_UID,
        modality="MR",
        series_instance_uid=MR_UID,
        study_instance_uid=STUDY_UID,
        series_number=3,
        series_description="synthetic T2 sagittal",
    )


def scar_region(volume: ImageVolume) -> ScarRegion:
    """Epidural scar around the right L5 root (an ellipsoid) on the grid of ``volume``."""
    grid = MaskGrid(
        shape=volume.shape,
        affine=tuple(tuple(float(v) for v in row) for row in volume.affine),
        frame_of_reference_uid=volume.frame_of_reference_uid,
        series_instance_uid=volume.series_instance_uid,
    )
    x, y, z = _grid_points(volume.affine, volume.shape)
    mask = ((x + 17.0) / 7.0) ** 2 + ((y - 18.0) / 6.0) ** 2 + ((z + 18.0) / 10.0) ** 2 <= 1.0
    return ScarRegion.from_mask(mask, grid, volume_ml_per_level={"L5": 0.4})


# --- case -------------------------------------------------------------------------------
def _pt(x: float, y: float, z: float) -> PatientPoint:
    return PatientPoint(lps=(x, y, z), frame_of_reference_uid=FOR_UID)


_TARGET_KINDS: tuple[tuple[str, Laterality, Structure, BlockType, Approach], ...] = (
    (
        "L5",
        Laterality.RIGHT,
        Structure.NERVE_ROOT,
        BlockType.SELECTIVE_NERVE_ROOT,
        Approach.SUBPEDICULAR,
    ),
    (
        "L4-L5",
        Laterality.LEFT,
        Structure.FACET_JOINT,
        BlockType.MEDIAL_BRANCH,
        Approach.POSTERIOR_OBLIQUE,
    ),
    (
        "L4",
        Laterality.LEFT,
        Structure.NERVE_ROOT,
        BlockType.SELECTIVE_NERVE_ROOT,
        Approach.SUBPEDICULAR,
    ),
    (
        "L5-S1",
        Laterality.RIGHT,
        Structure.FACET_JOINT,
        BlockType.MEDIAL_BRANCH,
        Approach.POSTERIOR_OBLIQUE,
    ),
    (
        "L3",
        Laterality.RIGHT,
        Structure.NERVE_ROOT,
        BlockType.SELECTIVE_NERVE_ROOT,
        Approach.RETRODISCAL,
    ),
)


def _target_position(
    level: str, side: Laterality, structure: Structure
) -> tuple[float, float, float]:
    sx = -1.0 if side is Laterality.RIGHT else 1.0  # patient right is −x
    if structure is Structure.FACET_JOINT:
        upper, lower = level.split("-")
        z = (LEVEL_Z[upper] + LEVEL_Z[lower]) / 2
        return (sx * 19.0, 30.0, z)
    return (sx * 24.0, 14.0, LEVEL_Z[level] - 10.0)


def make_targets(n: int) -> tuple[tuple[Target, ...], tuple[Trajectory, ...]]:
    """``n`` targets cycling through the kinds above, each with a posterolateral trajectory."""
    targets: list[Target] = []
    trajectories: list[Trajectory] = []
    for k in range(n):
        level, side, structure, block, approach = _TARGET_KINDS[k % len(_TARGET_KINDS)]
        x, y, z = _target_position(level, side, structure)
        z += 2.0 * (k // len(_TARGET_KINDS))  # repeated kinds sit a little apart
        t = Target(
            id=f"t{k + 1:02d}",
            label=f"{level} {side.value}",
            level=level,
            side=side,
            structure=structure,
            block_type=block,
            approach=approach,
            position=_pt(x, y, z),
        )
        sx = -1.0 if side is Laterality.RIGHT else 1.0
        entry = _pt(x + sx * 45.0, y + 75.0, z + 6.0)
        targets.append(t)
        trajectories.append(Trajectory(id=f"j{k + 1:02d}", target_id=t.id, entry=entry))
    return tuple(targets), tuple(trajectories)


def _diary(
    baseline: int, nrs: Sequence[int | None], times: Sequence[int] | None = None
) -> PainDiary:
    times = times or (0, 15, 30, 60, 120, 180, 240, 300, 360, 480, 1440)
    entries = tuple(
        DiaryEntry(
            minutes=t,
            nrs=v,
            patient_relief_pct=None
            if v is None
            else round(100 * (baseline - v) / baseline / 10) * 10,
        )
        for t, v in zip(times, nrs)
    )
    return PainDiary(baseline_nrs=baseline, entries=entries)


_DIARIES: tuple[tuple[int, tuple[int | None, ...]], ...] = (
    (8, (6, 2, 1, 1, 2, 3, 5, 7, 8, 8, 8)),  # lidocaine, positive ~ 15–120 min
    (8, (7, 3, 2, 1, 1, 1, 2, 2, 3, 6, 8)),  # bupivacaine, positive, longer
    (7, (6, 5, 5, 5, 6, 6, 7, 7, 7, 7, 7)),  # negative
    (6, (5, 1, 1, 1, 1, 2, 4, 6, 6, 6, 6)),  # positive
    (7, (7, 6, None, 5, 6, 7, 7, 7, 7, 7, 7)),  # negative with a missing point
)


def make_procedures(targets: Sequence[Target], n: int) -> tuple[Procedure, ...]:
    """``n`` blocks on the targets, one per day, with diaries; a few flagged."""
    procs: list[Procedure] = []
    for k in range(n):
        t = targets[k % len(targets)] if k < 4 else targets[(k // 2) % len(targets)]
        agent = (Agent.LIDOCAINE, Agent.BUPIVACAINE)[k % 2]
        if k == 6:
            agent = Agent.SALINE
        conc = {Agent.LIDOCAINE: 2.0, Agent.BUPIVACAINE: 0.5, Agent.SALINE: None}.get(agent)
        volume = 0.5 if t.block_type is BlockType.MEDIAL_BRANCH else 0.6
        baseline, nrs = _DIARIES[k % len(_DIARIES)]
        procs.append(
            Procedure(
                id=f"p{k + 1:02d}",
                performed_at=T0 + dt.timedelta(days=2 * k, hours=k % 3),
                operator="Dr. Synthetic Operator",
                block_type=t.block_type,
                approach=t.approach,
                injections=(
                    Injection(
                        target_id=t.id,
                        side=t.side,
                        agent=agent,
                        concentration_pct=conc,
                        volume_ml=volume if k != 5 else 1.2,
                    ),
                ),
                contrast=Contrast(
                    agent="iohexol 300", volume_ml=0.3, pattern=ContrastPattern.ALONG_ROOT
                )
                if t.structure is Structure.NERVE_ROOT
                else Contrast(),
                sedation=Sedation(drug="midazolam", dose="2 mg") if k == 3 else None,
                needle=Needle(gauge=22, length_mm=90, tip="Quincke"),
                diary=_diary(baseline, nrs),
            )
        )
    return tuple(procs)


def make_case(
    n_targets: int = 3,
    n_procedures: int = 4,
    *,
    patient_name: str = "Testperson^Alexandra",
    volume: ImageVolume | None = None,
    profile_name: str = "asra-2020-single",
) -> Case:
    """A complete case on the phantom (levels, scar on ``volume``'s grid, targets, blocks)."""
    targets, trajectories = make_targets(n_targets)
    levels = tuple(
        LevelMarker(id=f"lv-{name}", level=name, position=_pt(0.0, BODY_Y, z))
        for name, z in LEVEL_Z.items()
        if name != "L2"
    )
    scars = (scar_region(volume),) if volume is not None else ()
    return Case(
        case_id="0123456789abcdef0123456789abcdef",
        title="synthetic case",
        created_at=T0,
        patient=PatientInfo(
            patient_id="SYN-0001",
            patient_name=patient_name,
            birth_date=dt.date(1961, 4, 12),
            sex="F",
        ),
        study=StudyRef(
            study_instance_uid=STUDY_UID,
            study_date=dt.date(2026, 2, 20),
            accession_number="ACC-42",
            description="CT lumbar spine (synthetic)",
            series=(
                SeriesRef(series_instance_uid=CT_UID, modality="CT", series_number=2),
                SeriesRef(series_instance_uid=MR_UID, modality="MR", series_number=3),
            ),
        ),
        indication="Right L5 radicular pain after L4-L5 microdiscectomy (PSPS-2)",
        diagnosis_codes=("M96.1", "M54.16"),
        profile_name=profile_name,
        levels=levels,
        scar_regions=scars,
        targets=targets,
        trajectories=trajectories,
        procedures=make_procedures(targets, n_procedures) if targets else (),
        odi=(OdiEntry(recorded_on=dt.date(2026, 2, 20), items=(3, 2, 3, 2, 3, 2, 2, 1, 2, None)),),
        pgic=(PgicEntry(recorded_on=dt.date(2026, 3, 20), score=3),),
    )
