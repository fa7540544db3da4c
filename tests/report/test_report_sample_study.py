"""The report of a case planned on the synthetic sample study (sample_dicom/), end to end.

DICOM files are discovered and loaded with blockplan.io; levels, targets, trajectories and
scar come from the study's ground truth (truth.json), so the key images must show each
target where the phantom has it.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from pypdf import PdfReader

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
    StudyRef,
    Target,
    Trajectory,
)
from blockplan.case.vocab import Agent, Approach, BlockType, Laterality, Structure
from blockplan.io.volume import ImageVolume
from blockplan.report import ReportOptions, build_report
from tests.report.conftest import FIXED, render_pages

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"

pytestmark = pytest.mark.skipif(
    not (SAMPLE / "truth.json").is_file(), reason="sample_dicom/ not generated (make sample)"
)

_STRUCTURES = {"nerve_root": Structure.NERVE_ROOT, "medial_branch": Structure.FACET_JOINT}
_APPROACHES = {"subpedicular": Approach.SUBPEDICULAR, "posterior": Approach.POSTERIOR_OBLIQUE}


def _case(truth: dict) -> Case:
    frame = truth["frame_of_reference_uid"]

    def pt(p: list[float]) -> PatientPoint:
        return PatientPoint(lps=tuple(p), frame_of_reference_uid=frame)

    levels = tuple(
        LevelMarker(level=name, position=pt(v["center_lps"]))
        for name, v in truth["vertebrae"].items()
    )
    targets, trajectories = [], []
    for n, t in enumerate(truth["targets"]):
        structure = _STRUCTURES[t["structure"]]
        level = t["level"]
        if structure is Structure.FACET_JOINT:
            level = "L4-L5"
        target = Target(
            id=f"t{n}",
            label=t["name"],
            level=level,
            side=Laterality(t["side"]),
            structure=structure,
            block_type=BlockType(t["block_type"]),
            approach=_APPROACHES.get(t["approach"].split()[0]),
            position=pt(t["target_lps"]),
        )
        targets.append(target)
        trajectories.append(Trajectory(target_id=target.id, entry=pt(t["entry_lps"])))
    npz = np.load(SAMPLE / "truth_scar_mask.npz")
    grid = MaskGrid(
        shape=tuple(int(x) for x in npz["mask"].shape),
        affine=tuple(tuple(float(v) for v in row) for row in npz["affine"]),
        frame_of_reference_uid=frame,
        series_instance_uid=str(npz["series_instance_uid"]),
    )
    scar = ScarRegion.from_mask(npz["mask"].astype(bool), grid)
    t0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    diary = PainDiary(
        baseline_nrs=8,
        entries=tuple(
            DiaryEntry(minutes=m, nrs=v)
            for m, v in zip((0, 15, 30, 60, 120, 240, 480), (6, 2, 1, 1, 2, 6, 8))
        ),
    )
    procedures = tuple(
        Procedure(
            performed_at=t0 + dt.timedelta(days=7 * k),
            block_type=targets[0].block_type,
            injections=(
                Injection(
                    target_id=targets[0].id, side=targets[0].side, agent=agent, volume_ml=1.5
                ),
            ),
            diary=diary,
        )
        for k, agent in enumerate((Agent.LIDOCAINE, Agent.BUPIVACAINE))
    )
    return Case(
        patient=PatientInfo(
            patient_id=truth["patient"]["id"], patient_name=truth["patient"]["name"]
        ),
        study=StudyRef(study_instance_uid=truth["study_instance_uid"]),
        levels=levels,
        scar_regions=(scar,),
        targets=tuple(targets),
        trajectories=tuple(trajectories),
        procedures=procedures,
    )


@pytest.fixture(scope="module")
def sample() -> tuple[Case, list[ImageVolume]]:
    from blockplan.io import discover, load_series

    truth = json.loads((SAMPLE / "truth.json").read_text())
    missing = [s["folder"] for s in truth["series"] if not (SAMPLE / s["folder"]).is_dir()]
    if missing:
        pytest.skip(f"sample_dicom/ is incomplete (no {', '.join(missing)}): run make sample")
    found = discover(SAMPLE)
    volumes = [load_series(s) for s in found.series if s.status != "refused"]
    return _case(truth), volumes


def test_sample_study_report(sample: tuple[Case, list[ImageVolume]], tmp_path: Path) -> None:
    case, volumes = sample
    assert {v.modality for v in volumes} >= {"CT", "MR"}
    pdf = build_report(case, volumes=volumes, options=ReportOptions(created_at=FIXED))
    doc = pikepdf.open(io.BytesIO(pdf))
    images = [x for page in doc.pages for x in page.get_images().values()]
    # an axial plane per target, the sagittal overview, and (issue 20) the bull's-eye and
    # progression C-arm previews of every planned target
    assert len(images) == len(case.targets) + 1 + 2 * len(case.trajectories)
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "CT series 2" in text and "Scar overlay shown" in text
    assert "Level count: the markers agree with the automatic count" in " ".join(text.split())
    assert len(render_pages(pdf, tmp_path)) == len(doc.pages)
