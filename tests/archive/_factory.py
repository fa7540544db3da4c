"""A small synthetic CT study and a case planned on it, for the archive tests.

Everything is made up. The identifying values are deliberately unusual strings so a
byte scan for them cannot match anything by chance.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pydicom
from pydicom.dataset import Dataset

from blockplan.archive.sr import TrajectoryMeasurements
from blockplan.case.model import (
    Case,
    Injection,
    Landmark,
    MaskGrid,
    Note,
    PatientInfo,
    PatientPoint,
    Procedure,
    ScarRegion,
    SeriesRef,
    StudyRef,
    Target,
    Trajectory,
)
from blockplan.case.vocab import Agent, Approach, BlockType, Laterality, Structure
from blockplan.io import ImageVolume, discover, load_series
from blockplan.planning import SafetyVerdict
from tests.io._dicom_factory import SeriesSpec, write_series

PATIENT_NAME = "Qzxwvtest^Jovanka^Ilse"
PATIENT_ID = "PID-7319-XQ"
BIRTH_DATE = "19630417"
ACCESSION = "ACC-55821-ZK"
OTHER_NAME = "Drplumbly^Hortensia"  # referring physician


@dataclass
class Study:
    """The synthetic study on disk and what was loaded from it."""

    folder: Path
    files: list[Path]
    volume: ImageVolume
    headers: list[Dataset]  # in slice order (volume.sop_instance_uids)


def write_study(
    folder: Path,
    shape: tuple[int, int, int] = (12, 20, 16),
    overrides: dict[str, str] | None = None,
) -> Study:
    """A CT series of ``shape`` (slices, rows, columns) with our identifying values.

    ``overrides``: keyword → raw value written into every image (e.g. a non-conformant
    ``PatientBirthDate``).
    """
    rng = np.random.default_rng(7)
    vol = rng.integers(0, 1500, size=shape).astype(np.int16)
    spec = SeriesSpec(volume=vol, origin=(-40.0, -30.0, 80.0), pixel_spacing=(2.0, 2.0))

    def edit(ds: Dataset, k: int) -> None:
        ds.PatientName = PATIENT_NAME
        ds.PatientID = PATIENT_ID
        ds.PatientBirthDate = BIRTH_DATE
        ds.PatientSex = "F"
        ds.AccessionNumber = ACCESSION
        ds.ReferringPhysicianName = OTHER_NAME
        ds.StudyDate = "20260302"
        ds.StudyDescription = "CT LWS"
        ds.InstitutionName = "Synthetic Hospital Qzxwv"
        for keyword, value in (overrides or {}).items():
            setattr(ds, keyword, value)

    files = write_series(folder, spec, edit=edit)
    found = discover(folder)
    volume = load_series(found.series[0])
    by_uid = {}
    for f in files:
        h = pydicom.dcmread(f, stop_before_pixels=True)
        by_uid[str(h.SOPInstanceUID)] = h
    headers = [by_uid[u] for u in volume.sop_instance_uids]
    return Study(folder=folder, files=files, volume=volume, headers=headers)


def reoriented_grid(volume: ImageVolume) -> tuple[MaskGrid, npt.NDArray[np.float64]]:
    """The volume's grid with i and k swapped and the new i flipped (as the plugin may)."""
    k_n, _, i_n = volume.shape
    # new (i', j', k') -> old (i, j, k) = (i_n - 1 - k', j', i')
    perm = np.array(
        [[0, 0, -1, i_n - 1], [0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]], dtype=np.float64
    )
    affine = volume.affine @ perm
    shape = (i_n, volume.shape[1], k_n)
    grid = MaskGrid(
        shape=shape,
        affine=tuple(tuple(float(v) for v in row) for row in affine),
        frame_of_reference_uid=volume.frame_of_reference_uid,
        series_instance_uid=volume.series_instance_uid,
    )
    return grid, perm


def make_case(study: Study) -> Case:
    """Targets, trajectories, a landmark, a scar on a reoriented grid, a procedure."""
    vol = study.volume
    for_uid = vol.frame_of_reference_uid

    def at(i: float, j: float, k: float) -> PatientPoint:
        lps = vol.affine @ np.array([i, j, k, 1.0])
        return PatientPoint(
            lps=(float(lps[0]), float(lps[1]), float(lps[2])), frame_of_reference_uid=for_uid
        )

    grid, _ = reoriented_grid(vol)
    mask = np.zeros(grid.shape, dtype=bool)
    mask[3:7, 8:12, 4:8] = True  # k' = i (columns), j, i' = flipped k
    mask[9, 2, 1] = True
    scar = ScarRegion.from_mask(
        mask,
        grid,
        id="scar1",
        label="epidural scar L4-L5",
        method="region_grow",
        volume_ml_per_level={"L4-L5": 0.2, "L5": 0.05},
    )
    targets = (
        Target(
            id="t1",
            label="L5 right root",
            level="L5",
            side=Laterality.RIGHT,
            structure=Structure.NERVE_ROOT,
            block_type=BlockType.TRANSFORAMINAL_EPIDURAL,
            approach=Approach.SUBPEDICULAR,
            position=at(4.3, 10.7, 6.2),
        ),
        Target(
            id="t2",
            level="L4-L5",
            side=Laterality.LEFT,
            structure=Structure.FACET_JOINT,
            block_type=BlockType.MEDIAL_BRANCH,
            position=at(11.0, 9.0, 3.0),
        ),
        Target(
            id="t3",
            level="S1",
            side=Laterality.MIDLINE,
            structure=Structure.EPIDURAL_SPACE,
            block_type=BlockType.CAUDAL_EPIDURAL,
            position=at(8.0, 15.0, 10.0),
        ),
    )
    trajectories = (
        Trajectory(id="r1", target_id="t1", entry=at(0.5, 19.0, 6.0)),
        Trajectory(id="r2", target_id="t2", entry=at(15.0, 19.0, 2.0)),
    )
    landmark = Landmark(
        id="lm1",
        kind="nerve_root",
        level="L5",
        side=Laterality.RIGHT,
        position=at(5.0, 11.0, 6.0),
        radius_mm=2.0,
    )
    tz = dt.timezone(dt.timedelta(hours=1))
    procedure = Procedure(
        id="p1",
        performed_at=dt.datetime(2026, 3, 9, 9, 30, tzinfo=tz),
        operator="Dr Hortensia Drplumbly",
        block_type=BlockType.TRANSFORAMINAL_EPIDURAL,
        injections=(
            Injection(
                target_id="t1",
                level="L5",
                side=Laterality.RIGHT,
                agent=Agent.LIDOCAINE,
                volume_ml=0.5,
            ),
        ),
        notes="Mrs Qzxwvtest tolerated the block well",
    )
    return Case(
        case_id="c0ffee00c0ffee00c0ffee00c0ffee00",
        title="Qzxwvtest J. — L5 radicular pain",
        created_at=dt.datetime(2026, 3, 2, 10, 0, tzinfo=tz),
        patient=PatientInfo(
            patient_id=PATIENT_ID,
            patient_name=PATIENT_NAME,
            birth_date=dt.date(1963, 4, 17),
            sex="F",
        ),
        study=StudyRef(
            study_instance_uid=str(study.headers[0].StudyInstanceUID),
            study_date=dt.date(2026, 3, 2),
            accession_number=ACCESSION,
            description="CT LWS",
            series=(
                SeriesRef(
                    series_instance_uid=vol.series_instance_uid,
                    modality="CT",
                    series_number=3,
                    frame_of_reference_uid=for_uid,
                ),
            ),
        ),
        indication="Pain after surgery; patient PID-7319-XQ born 17.04.1963",
        landmarks=(landmark,),
        scar_regions=(scar,),
        targets=targets,
        trajectories=trajectories,
        procedures=(procedure,),
        notes=(
            Note(
                at=dt.datetime(2026, 3, 9, 12, 0, tzinfo=tz),
                author="H. Drplumbly",
                text="Called Jovanka Qzxwvtest: relief 80 %",
            ),
        ),
    )


def metrics_for(case: Case) -> dict[str, TrajectoryMeasurements]:
    """What the SR holds per target id, as a caller without a CT would pass it.

    The first path was checked against a root, the thecal sac and bone (safe); the others
    against nothing (not assessed), so the SR holds both verdict codes.
    """
    out: dict[str, TrajectoryMeasurements] = {}
    for n, traj in enumerate(case.trajectories):
        tip = np.asarray(case.target(traj.target_id).position.lps)
        length = float(np.linalg.norm(tip - np.asarray(traj.entry.lps)))
        checked = n == 0
        out[traj.target_id] = TrajectoryMeasurements(
            path_length_mm=length,
            needle_length_mm=89.0,
            oblique_deg=23.25,
            oblique_side="right",
            tilt_deg=7.5,
            tilt_direction="cranial",
            landmark_clearance_mm=3.25,
            clearance_kind="nerve_root",
            clearance_level="L5",
            clearance_side="right",
            scar_distance_mm=None,  # no scar near
            structures=(
                ((3.25, "nerve_root", "L5", "right"), (9.0, "thecal_sac", "L5", None))
                if checked
                else ()
            ),
            bone_clearance_mm=4.5 if checked else None,
            verdict=SafetyVerdict.SAFE if checked else SafetyVerdict.NOT_ASSESSED,
        )
    return out
